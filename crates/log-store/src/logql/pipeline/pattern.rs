//! Loki patterns (`<ip> - <_> [<ts>] "<method> <path> <_>"`): the `| pattern` parser and the
//! `|>`/`!>` line filters.

use super::{LabelsBuilder, Step, set_parsed};

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    Literal(String),
    /// A capture; `None` for `<_>`.
    Capture(Option<String>),
}

/// A parsed pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pattern {
    nodes: Vec<Node>,
}

fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl Pattern {
    /// Splits a pattern into literals and captures (no validation).
    fn lex(p: &str) -> Vec<Node> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut lit = String::new();
        let mut rest = p;
        while !rest.is_empty() {
            if rest.starts_with('<')
                && let Some(end) = rest.find('>')
                && is_ident(&rest[1..end])
            {
                let name = &rest[1..end];
                if !lit.is_empty() {
                    nodes.push(Node::Literal(std::mem::take(&mut lit)));
                }
                nodes.push(Node::Capture(if name == "_" {
                    None
                } else {
                    Some(name.to_owned())
                }));
                rest = &rest[end + 1..];
                continue;
            }
            let c = rest.chars().next().unwrap_or('<');
            lit.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !lit.is_empty() {
            nodes.push(Node::Literal(lit));
        }
        nodes
    }

    /// A pattern for the `| pattern` parser, validated as Loki does.
    pub(crate) fn new(p: &str) -> Result<Self, String> {
        let nodes = Self::lex(p);
        if !nodes.iter().any(|n| matches!(n, Node::Capture(Some(_)))) {
            return Err("at least one capture is required".to_owned());
        }
        Self::validate(&nodes)?;
        Ok(Self { nodes })
    }

    /// A pattern for the `|>`/`!>` line filters.
    pub(crate) fn line_filter(p: &str) -> Result<Self, String> {
        let nodes = Self::lex(p);
        Self::validate(&nodes)?;
        Ok(Self { nodes })
    }

    fn validate(nodes: &[Node]) -> Result<(), String> {
        let show = |n: &Node| match n {
            Node::Capture(Some(c)) => format!("<{c}>"),
            Node::Capture(None) => "<_>".to_owned(),
            Node::Literal(l) => l.clone(),
        };
        for w in nodes.windows(2) {
            if matches!(w[0], Node::Capture(_)) && matches!(w[1], Node::Capture(_)) {
                return Err(format!(
                    "found consecutive capture '{}{}': invalid expression",
                    show(&w[0]),
                    show(&w[1])
                ));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for n in nodes {
            if let Node::Capture(Some(c)) = n {
                if seen.contains(&c.as_str()) {
                    return Err(format!("duplicate capture name ({c}): invalid expression"));
                }
                seen.push(c);
            }
        }
        Ok(())
    }

    /// Names of the named captures in order.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                Node::Capture(Some(c)) => Some(c.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Values of the named captures, in order; a partial match yields the captures up to
    /// the first literal that is missing (that capture takes the rest of the line).
    pub(crate) fn matches<'a>(&self, input: &'a str) -> Vec<&'a str> {
        let mut caps = Vec::new();
        if input.is_empty() || self.nodes.is_empty() {
            return caps;
        }
        let mut inp = input;
        let mut nodes = &self.nodes[..];
        if let Node::Literal(l) = &nodes[0] {
            if !inp.starts_with(l.as_str()) {
                return caps;
            }
            inp = &inp[l.len()..];
            nodes = &nodes[1..];
        }
        while !nodes.is_empty() {
            let Node::Capture(name) = &nodes[0] else {
                return caps;
            };
            if nodes.len() == 1 {
                if name.is_some() {
                    caps.push(inp);
                }
                return caps;
            }
            let Node::Literal(lit) = &nodes[1] else {
                return caps;
            };
            nodes = &nodes[2..];
            match inp.find(lit.as_str()) {
                None => {
                    if name.is_some() {
                        caps.push(inp);
                    }
                    return caps;
                }
                Some(i) => {
                    if name.is_some() {
                        caps.push(&inp[..i]);
                    }
                    inp = &inp[i + lit.len()..];
                }
            }
        }
        caps
    }

    /// Whole-line test used by `|>`: literals in order, no empty capture, and the line
    /// ends where the pattern does.
    pub(crate) fn test(&self, input: &str) -> bool {
        if input.is_empty() || self.nodes.is_empty() {
            return input.is_empty() && self.nodes.is_empty();
        }
        let mut off = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            let Node::Literal(lit) = n else { continue };
            let Some(j) = input[off..].find(lit.as_str()) else {
                return false;
            };
            if i == 0 && j != 0 {
                return false;
            }
            if i != 0 && j == 0 {
                return false;
            }
            off += j + lit.len();
        }
        let ends_on_capture = matches!(self.nodes.last(), Some(Node::Capture(_)));
        let has_rest = off != input.len();
        ends_on_capture == has_rest
    }
}

/// `| pattern "..."`.
#[derive(Debug)]
pub(crate) struct PatternParser {
    pattern: Pattern,
    names: Vec<String>,
}

impl PatternParser {
    pub(crate) fn new(p: &str) -> Result<Self, String> {
        let pattern = Pattern::new(p)?;
        let names = pattern.names().into_iter().map(str::to_owned).collect();
        Ok(Self { pattern, names })
    }
}

impl Step for PatternParser {
    fn process(&self, _ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        if lbs.extract_nothing() {
            return true;
        }
        let caps: Vec<String> = self
            .pattern
            .matches(line)
            .into_iter()
            .map(str::to_owned)
            .collect();
        for (name, value) in self.names.iter().zip(caps) {
            let _ = set_parsed(lbs, name, &value);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors() {
        assert_eq!(
            Pattern::new("<a> <a>").unwrap_err(),
            "duplicate capture name (a): invalid expression"
        );
        assert_eq!(
            Pattern::new("<a><b>").unwrap_err(),
            "found consecutive capture '<a><b>': invalid expression"
        );
        assert_eq!(
            Pattern::new("foo").unwrap_err(),
            "at least one capture is required"
        );
    }

    #[test]
    fn matching() {
        let p = Pattern::new(r#"<ip> - <_> [<ts>] "<method> <path> <_>" <status>"#).unwrap();
        let line = r#"10.0.0.1 - - [28/Feb/2026:23:00:00 +0000] "GET /health HTTP/1.1" 200"#;
        assert_eq!(
            p.matches(line),
            vec![
                "10.0.0.1",
                "28/Feb/2026:23:00:00 +0000",
                "GET",
                "/health",
                "200"
            ]
        );
        let f = Pattern::line_filter("<_> \"POST <_>").unwrap();
        assert!(f.test("1.2.3.4 - - \"POST /x HTTP/1.1\""));
        assert!(!f.test("1.2.3.4 - - \"GET /x HTTP/1.1\""));
        let f = Pattern::line_filter("[INFO] <_>").unwrap();
        assert!(f.test("[INFO] 10.0.0.1:53"));
        assert!(!f.test("x [INFO] 10.0.0.1:53"));
    }
}
