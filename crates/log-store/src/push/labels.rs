//! The stream label string of a push (`{app="api", env="prod"}`), parsed as Loki does
//! (Prometheus `ParseMetric`, then empty values dropped), keeping duplicates so the
//! validator can report them. Errors read like Prometheus' parser
//! (`1:5: parse error: unexpected "}" in label matching, expected string`).

/// Parses a label string into `(name, value)` pairs, sorted by name (stable), empty values
/// removed, duplicates kept.
pub(crate) fn parse_labels(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut p = P {
        s: input.as_bytes(),
        text: input,
        i: 0,
    };
    let mut out = Vec::new();
    p.ws();
    // Optional metric name before the braces.
    if p.peek()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
    {
        let start = p.i;
        while p
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        {
            p.i += 1;
        }
        out.push(("__name__".to_owned(), input[start..p.i].to_owned()));
        p.ws();
        if p.peek().is_none() {
            return Ok(finish(out));
        }
    }
    if p.peek() != Some(b'{') {
        return Err(p.unexpected("", "\"{\""));
    }
    p.i += 1;
    loop {
        p.ws();
        match p.peek() {
            Some(b'}') => {
                p.i += 1;
                break;
            }
            None => return Err(p.err("unexpected end of input inside braces")),
            _ => {}
        }
        let name = if p.peek() == Some(b'"') || p.peek() == Some(b'\'') || p.peek() == Some(b'`') {
            p.string()?
        } else {
            let start = p.i;
            while p
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                p.i += 1;
            }
            if start == p.i || input.as_bytes()[start].is_ascii_digit() {
                return Err(p.unexpected(" in label matching", "label matching"));
            }
            input[start..p.i].to_owned()
        };
        p.ws();
        if p.peek() != Some(b'=') {
            return Err(p.unexpected(" in label matching", "label matching operator \"=\""));
        }
        p.i += 1;
        p.ws();
        let value = match p.peek() {
            Some(b'"' | b'\'' | b'`') => p.string()?,
            _ => return Err(p.unexpected(" in label matching", "string")),
        };
        out.push((name, value));
        p.ws();
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {}
            None => return Err(p.err("unexpected end of input inside braces")),
            _ => return Err(p.unexpected(" in label matching", "\",\" or \"}\"")),
        }
    }
    p.ws();
    if p.peek().is_some() {
        return Err(p.unexpected("", "end of input"));
    }
    Ok(finish(out))
}

fn finish(mut out: Vec<(String, String)>) -> Vec<(String, String)> {
    out.retain(|(_, v)| !v.is_empty());
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

struct P<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn err(&self, msg: &str) -> String {
        format!("1:{}: parse error: {msg}", self.i + 1)
    }

    fn unexpected(&self, context: &str, expected: &str) -> String {
        let tok: String = match self.peek() {
            None => "end of input".to_owned(),
            Some(_) => {
                let rest = &self.text[self.i..];
                let end = rest
                    .char_indices()
                    .find(|(i, c)| *i > 0 && (c.is_whitespace() || "{}=,\"".contains(*c)))
                    .map_or(rest.len(), |(i, _)| i);
                format!("{:?}", &rest[..end])
            }
        };
        format!(
            "1:{}: parse error: unexpected {tok}{context}, expected {expected}",
            self.i + 1
        )
    }

    /// A quoted string with Go escapes (double or single quotes) or a raw backtick string.
    fn string(&mut self) -> Result<String, String> {
        let q = self.s[self.i];
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                self.i = start;
                return Err(self.err("unterminated quoted string"));
            };
            if c == q {
                self.i += 1;
                return Ok(out);
            }
            if c == b'\\' && q != b'`' {
                self.i += 1;
                let Some(e) = self.peek() else {
                    return Err(self.err("unterminated quoted string"));
                };
                self.i += 1;
                match e {
                    b'n' => out.push('\n'),
                    b't' => out.push('\t'),
                    b'r' => out.push('\r'),
                    b'\\' => out.push('\\'),
                    b'"' => out.push('"'),
                    b'\'' => out.push('\''),
                    b'a' => out.push('\u{7}'),
                    b'b' => out.push('\u{8}'),
                    b'f' => out.push('\u{c}'),
                    b'v' => out.push('\u{b}'),
                    b'x' | b'u' | b'U' => {
                        let n = match e {
                            b'x' => 2,
                            b'u' => 4,
                            _ => 8,
                        };
                        let hex = self.text.get(self.i..self.i + n).unwrap_or("");
                        let cp = u32::from_str_radix(hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| self.err("invalid escape sequence"))?;
                        out.push(cp);
                        self.i += n;
                    }
                    _ => return Err(self.err("unknown escape sequence")),
                }
                continue;
            }
            // Copy one UTF-8 character.
            let rest = &self.text[self.i..];
            let ch = rest.chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            self.i += ch.len_utf8();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_sorts_and_drops_empty_values() {
        assert_eq!(
            parse_labels(r#"{job="x", app = "a\"b", empty="", }"#).unwrap(),
            pairs(&[("app", "a\"b"), ("job", "x")])
        );
        assert_eq!(parse_labels("{}").unwrap(), pairs(&[]));
        assert_eq!(
            parse_labels(r#"{a="1", a="2"}"#).unwrap(),
            pairs(&[("a", "1"), ("a", "2")])
        );
        assert_eq!(
            parse_labels(r#"up{a='x'}"#).unwrap(),
            pairs(&[("__name__", "up"), ("a", "x")])
        );
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(
            parse_labels("{a=b}").unwrap_err(),
            "1:4: parse error: unexpected \"b\" in label matching, expected string"
        );
        assert!(
            parse_labels(r#"{a="b""#)
                .unwrap_err()
                .starts_with("1:7: parse error")
        );
        assert!(parse_labels("{1a=\"b\"}").is_err());
        assert!(parse_labels("").is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn rendered_label_sets_parse_back(
            pairs in prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", ".{1,12}", 0..5)
        ) {
            let text = lgtm_common::labels::Labels::from_pairs(pairs.clone()).to_string();
            let got = parse_labels(&text).unwrap();
            let want: Vec<(String, String)> = pairs.into_iter().collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn arbitrary_input_never_panics(s in ".{0,40}") {
            let _ = parse_labels(&s);
        }
    }
}
