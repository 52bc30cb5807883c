//! String helpers shared by the function sets, each matching one Go function.

use super::compile_regex;

/// Go's deprecated `strings.Title` (used by Prometheus and sprig's `title`): upper-case the
/// first letter of each word, leave the rest untouched.
pub(crate) fn go_strings_title(s: &str) -> String {
    fn is_separator(r: char) -> bool {
        if r.is_ascii() {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        if r.is_alphanumeric() {
            return false;
        }
        r.is_whitespace()
    }
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for r in s.chars() {
        if is_separator(prev) {
            out.extend(r.to_uppercase());
        } else {
            out.push(r);
        }
        prev = r;
    }
    out
}

/// `cases.Title(language.AmericanEnglish)` as Alertmanager uses it: each word gets an
/// upper-case first letter and the rest lower-cased (`customAlert` → `Customalert`).
pub(crate) fn cases_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for r in s.chars() {
        // Letters, digits and in-word apostrophes continue a word, as Unicode word breaking
        // does for the common cases.
        let word_char = r.is_alphanumeric() || (in_word && (r == '\'' || r == '’'));
        if word_char {
            if in_word {
                out.extend(r.to_lowercase());
            } else {
                out.extend(r.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(r);
            in_word = false;
        }
    }
    out
}

/// Go's `regexp.ReplaceAllString` (`$1`, `${name}` expansion; Rust's syntax is the same).
pub(crate) fn re_replace_all(pattern: &str, repl: &str, text: &str) -> Result<String, String> {
    let re = compile_regex(pattern)?;
    Ok(re.replace_all(text, repl).into_owned())
}

/// Go's `regexp.ReplaceAllLiteralString`.
pub(crate) fn re_replace_all_literal(
    pattern: &str,
    repl: &str,
    text: &str,
) -> Result<String, String> {
    let re = compile_regex(pattern)?;
    Ok(re.replace_all(text, regex::NoExpand(repl)).into_owned())
}

/// Go's `regexp.MatchString` (unanchored).
pub(crate) fn re_match(pattern: &str, text: &str) -> Result<bool, String> {
    Ok(compile_regex(pattern)?.is_match(text))
}

/// Go's `strings.Trim(s, cutset)`.
pub(crate) fn trim_cutset<'s>(s: &'s str, cutset: &str) -> &'s str {
    s.trim_matches(|c| cutset.contains(c))
}

/// Go's `net.SplitHostPort`, returning `None` where Go returns an error.
pub(crate) fn split_host_port(hp: &str) -> Option<(String, String)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = after.strip_prefix(':')?;
        if port.contains(':') {
            return None;
        }
        return Some((host.to_string(), port.to_string()));
    }
    let idx = hp.rfind(':')?;
    let host = &hp[..idx];
    if host.contains(':') {
        return None; // too many colons
    }
    Some((host.to_string(), hp[idx + 1..].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(
            go_strings_title("hello wORLD-foo_bar"),
            "Hello WORLD-Foo_bar"
        );
        assert_eq!(cases_title("customAlert"), "Customalert");
        assert_eq!(cases_title("hello wORLD-foo"), "Hello World-Foo");
    }

    #[test]
    fn host_port() {
        assert_eq!(
            split_host_port("a.b:9090"),
            Some(("a.b".into(), "9090".into()))
        );
        assert_eq!(
            split_host_port("[::1]:80"),
            Some(("::1".into(), "80".into()))
        );
        assert_eq!(split_host_port("nohost"), None);
        assert_eq!(split_host_port("::1"), None);
    }
}
