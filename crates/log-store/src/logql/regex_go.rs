//! Go (RE2) regular expressions on top of the `regex` crate: Go's error texts for the usual
//! mistakes, and Go's ASCII-only meaning of `\d`, `\w`, `\s` and `\b`.

use regex::Regex;

/// Compiles a Go regular expression; the error text is Go's
/// (`error parsing regexp: missing closing ]: `[``).
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    compile_with_names(pattern).map(|(r, _)| r)
}

/// Like [`compile`], also returning the Go name of each capture group (Go allows names
/// such as `1a` that the `regex` crate does not, so those are renamed internally).
pub(crate) fn compile_with_names(pattern: &str) -> Result<(Regex, Vec<Option<String>>), String> {
    if let Some(e) = compile_error(pattern) {
        return Err(e);
    }
    let re = Regex::new(&translate(pattern)).map_err(|e| format!("error parsing regexp: {e}"))?;
    let names = re
        .capture_names()
        .map(|n| {
            n.map(|n| match n.strip_prefix("__go") {
                Some(rest) => rest.split_once('_').map_or(rest, |(_, r)| r).to_owned(),
                None => n.to_owned(),
            })
        })
        .collect();
    Ok((re, names))
}

/// Go's compile error for `pattern`, if it has one.
pub(crate) fn compile_error(pattern: &str) -> Option<String> {
    if let Some((code, expr)) = go_syntax_error(pattern) {
        return Some(format!("error parsing regexp: {code}: `{expr}`"));
    }
    Regex::new(&translate(pattern))
        .err()
        .map(|e| format!("error parsing regexp: {e}"))
}

/// Rewrites Perl classes to their ASCII meaning, as in Go.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut renamed = 0;
    while let Some(c) = chars.next() {
        if c == '(' && !in_class {
            out.push('(');
            // `(?P<name>` / `(?<name>`: rename names the `regex` crate rejects.
            let ahead: String = chars.clone().take(3).collect();
            let prefix = if ahead.starts_with("?P<") {
                "?P<"
            } else if ahead.starts_with("?<")
                && !ahead.starts_with("?<=")
                && !ahead.starts_with("?<!")
            {
                "?<"
            } else {
                continue;
            };
            for _ in 0..prefix.chars().count() {
                chars.next();
            }
            let mut name = String::new();
            for d in chars.by_ref() {
                if d == '>' {
                    break;
                }
                name.push(d);
            }
            let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && !name.starts_with("__go");
            out.push_str(prefix);
            if ok {
                out.push_str(&name);
            } else {
                renamed += 1;
                out.push_str(&format!("__go{renamed}_{name}"));
            }
            out.push('>');
            continue;
        }
        if c == '\\' {
            let Some(n) = chars.next() else {
                out.push('\\');
                break;
            };
            let repl = match (n, in_class) {
                ('d', false) => Some("[0-9]"),
                ('D', false) => Some("[^0-9]"),
                ('w', false) => Some("[0-9A-Za-z_]"),
                ('W', false) => Some("[^0-9A-Za-z_]"),
                ('s', false) => Some("[\\t\\n\\f\\r ]"),
                ('S', false) => Some("[^\\t\\n\\f\\r ]"),
                ('b', false) => Some("(?-u:\\b)"),
                ('B', false) => Some("(?-u:\\B)"),
                ('d', true) => Some("0-9"),
                ('w', true) => Some("0-9A-Za-z_"),
                ('s', true) => Some("\\t\\n\\f\\r "),
                _ => None,
            };
            match repl {
                Some(r) => out.push_str(r),
                None => {
                    out.push('\\');
                    out.push(n);
                }
            }
            continue;
        }
        if c == '[' && !in_class {
            in_class = true;
            out.push(c);
            if chars.peek() == Some(&'^') {
                out.push('^');
                chars.next();
            }
            if chars.peek() == Some(&']') {
                out.push_str("\\]");
                chars.next();
            }
            continue;
        }
        if c == '[' && in_class {
            // POSIX class `[:alpha:]` or a literal `[` inside a class.
            if chars.peek() == Some(&':') {
                out.push('[');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            } else {
                out.push_str("\\[");
            }
            continue;
        }
        if c == ']' && in_class {
            in_class = false;
        }
        out.push(c);
    }
    out
}

/// Finds the errors Go's `regexp/syntax` reports for common mistakes: `(code, expr)`.
fn go_syntax_error(p: &str) -> Option<(&'static str, String)> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut depth = 0i32;
    // Whether the previous item can take a repetition operator, and whether it already is one.
    let mut can_repeat = false;
    let mut was_repeat = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                if i + 1 >= chars.len() {
                    return Some(("trailing backslash at end of expression", String::new()));
                }
                let n = chars[i + 1];
                if n.is_ascii_alphanumeric() && !"afnrtvxpPdDsSwWbBAzQE01234567".contains(n) {
                    return Some(("invalid escape sequence", format!("\\{n}")));
                }
                i += 2;
                can_repeat = true;
                was_repeat = false;
                continue;
            }
            '[' => {
                let start = i;
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' => i += 2,
                        '[' if chars.get(i + 1) == Some(&':') => {
                            let rest: String = chars[i..].iter().collect();
                            match rest.find(":]") {
                                Some(end) => i += rest[..end + 2].chars().count(),
                                None => i += 1,
                            }
                        }
                        ']' => {
                            closed = true;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if !closed {
                    return Some(("missing closing ]", chars[start..].iter().collect()));
                }
                // Character ranges in the wrong order.
                let body: Vec<char> = chars[start + 1..i].to_vec();
                let mut k = 0;
                while k + 2 < body.len() {
                    if body[k] != '\\'
                        && body[k + 1] == '-'
                        && body[k + 2] != ']'
                        && body[k + 2] != '\\'
                        && body[k] > body[k + 2]
                    {
                        return Some((
                            "invalid character class range",
                            body[k..k + 3].iter().collect(),
                        ));
                    }
                    k += 1;
                }
                i += 1;
                can_repeat = true;
                was_repeat = false;
                continue;
            }
            '(' => {
                can_repeat = false;
                was_repeat = false;
                if chars.get(i + 1) == Some(&'?') {
                    let rest: String = chars[i..].iter().collect();
                    if rest.starts_with("(?=")
                        || rest.starts_with("(?!")
                        || rest.starts_with("(?<=")
                        || rest.starts_with("(?<!")
                    {
                        let shown: String = rest.chars().take(3).collect();
                        return Some(("invalid or unsupported Perl syntax", shown));
                    }
                    let mut j = i + 2;
                    if matches!(chars.get(j), Some('P' | '<')) {
                        // Named group: skip to the closing `>`.
                        while j < chars.len() && chars[j] != '>' {
                            j += 1;
                        }
                        depth += 1;
                        i = j + 1;
                        continue;
                    }
                    while j < chars.len() && (chars[j].is_ascii_alphabetic() || chars[j] == '-') {
                        j += 1;
                    }
                    match chars.get(j) {
                        Some(':') => depth += 1,
                        Some(')') => {}
                        _ => return Some(("missing closing )", p.to_owned())),
                    }
                    i = j + 1;
                    continue;
                }
                depth += 1;
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Some(("unexpected )", p.to_owned()));
                }
                can_repeat = true;
                was_repeat = false;
            }
            '|' => {
                can_repeat = false;
                was_repeat = false;
            }
            '*' | '+' | '?' => {
                if was_repeat && c == '?' && chars.get(i.wrapping_sub(1)) != Some(&'?') {
                    // non-greedy modifier
                    was_repeat = false;
                    can_repeat = false;
                    i += 1;
                    continue;
                }
                if was_repeat {
                    let prev = chars[i - 1];
                    return Some(("invalid nested repetition operator", format!("{prev}{c}")));
                }
                if !can_repeat {
                    return Some(("missing argument to repetition operator", c.to_string()));
                }
                was_repeat = true;
            }
            _ => {
                can_repeat = true;
                was_repeat = false;
            }
        }
        i += 1;
    }
    if depth > 0 {
        return Some(("missing closing )", p.to_owned()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_error_texts() {
        assert_eq!(
            compile_error("([").unwrap(),
            "error parsing regexp: missing closing ]: `[`"
        );
        assert_eq!(
            compile_error("(a").unwrap(),
            "error parsing regexp: missing closing ): `(a`"
        );
        assert_eq!(
            compile_error("a)").unwrap(),
            "error parsing regexp: unexpected ): `a)`"
        );
        assert_eq!(
            compile_error("*a").unwrap(),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            compile_error("a**").unwrap(),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert!(compile_error("a*?b").is_none());
        assert!(compile_error(r"\d+[\w.]*(?i)x|[[:alpha:]]").is_none());
    }

    #[test]
    fn perl_classes_are_ascii() {
        let re = compile(r"^\d+$").unwrap();
        assert!(re.is_match("123"));
        assert!(!re.is_match("١٢٣"));
        assert!(compile(r"[\d]").unwrap().is_match("5"));
    }
}
