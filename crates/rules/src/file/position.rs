//! `line:column` of the YAML nodes rulefmt's messages point at (each group's mapping and each
//! rule's `record`, `alert` and `expr` values), found by a small scanner over block-style
//! YAML (block style, with flow collections `[..]`/`{..}` inside), because `serde_yaml_ng`
//! keeps no positions. What the scanner cannot follow (anchors, multi-line plain scalars in
//! flow collections) leaves positions out, and messages omit them.

/// A 1-based `line:column`, as yaml.v3 reports node positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line, from 1 (0 = the node does not exist, as Go prints an empty node).
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Positions of one rule's value nodes; `None` = key absent (Go's zero node, `0:0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulePositions {
    /// `record:` value.
    pub record: Option<Pos>,
    /// `alert:` value.
    pub alert: Option<Pos>,
    /// `expr:` value.
    pub expr: Option<Pos>,
}

/// Positions within one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupPositions {
    /// The group's mapping node (its first key).
    pub node: Pos,
    /// Per rule, in order; `None` when the rules are in flow style.
    pub rules: Option<Vec<RulePositions>>,
}

#[derive(Debug)]
enum Node {
    Map(Pos, Vec<(String, Node)>),
    Seq(Pos, Vec<Node>),
    Other(Pos),
}

impl Node {
    fn pos(&self) -> Pos {
        match self {
            Node::Map(p, _) | Node::Seq(p, _) | Node::Other(p) => *p,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(_, entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

struct Scanner<'a> {
    /// Lines that hold YAML content (not blank, not comment-only).
    lines: Vec<Line<'a>>,
    /// Every line, for flow collections that span lines.
    raw: Vec<&'a str>,
}

/// A cursor over the raw text for flow collections (`[a, {b: c}]`).
struct Flow<'s, 'a> {
    raw: &'s [&'a str],
    line: usize,
    col: usize,
}

impl Flow<'_, '_> {
    /// The character at the cursor; `'\n'` at the end of a line, `None` at the end of text.
    fn peek(&self) -> Option<char> {
        let line = self.raw.get(self.line)?;
        Some(line[self.col..].chars().next().unwrap_or('\n'))
    }

    fn bump(&mut self) {
        match self.peek() {
            Some('\n') => {
                self.line += 1;
                self.col = 0;
            }
            Some(c) => self.col += c.len_utf8(),
            None => {}
        }
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line + 1,
            col: self.raw[self.line][..self.col].chars().count() + 1,
        }
    }

    /// Skips spaces, line breaks and comments.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' => self.bump(),
                '#' => {
                    self.line += 1;
                    self.col = 0;
                }
                _ => break,
            }
        }
    }

    fn node(&mut self) -> Option<Node> {
        self.skip_ws();
        let pos = self.pos();
        match self.peek()? {
            '[' => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek()? == ']' {
                        self.bump();
                        return Some(Node::Seq(pos, items));
                    }
                    items.push(self.node()?);
                    self.skip_ws();
                    match self.peek()? {
                        ',' => self.bump(),
                        ']' => {}
                        _ => return None,
                    }
                }
            }
            '{' => {
                self.bump();
                let mut entries = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek()? == '}' {
                        self.bump();
                        return Some(Node::Map(pos, entries));
                    }
                    let key = self.scalar(true)?;
                    self.skip_ws();
                    let value = if self.peek()? == ':' {
                        self.bump();
                        self.skip_ws();
                        match self.peek()? {
                            ',' | '}' => Node::Other(Pos { line: 0, col: 0 }),
                            _ => self.node()?,
                        }
                    } else {
                        Node::Other(Pos { line: 0, col: 0 })
                    };
                    entries.push((key, value));
                    self.skip_ws();
                    match self.peek()? {
                        ',' => self.bump(),
                        '}' => {}
                        _ => return None,
                    }
                }
            }
            _ => {
                self.scalar(false)?;
                Some(Node::Other(pos))
            }
        }
    }

    /// A quoted or plain scalar (a plain one ends at a flow indicator, `: ` when it is a map
    /// key, a comment or the end of the line); returns its text (unescaped for keys only as
    /// far as matching needs).
    fn scalar(&mut self, key: bool) -> Option<String> {
        let mut out = String::new();
        match self.peek()? {
            q @ ('"' | '\'') => {
                self.bump();
                loop {
                    let c = self.peek()?;
                    self.bump();
                    if c == '\\' && q == '"' {
                        out.push(self.peek()?);
                        self.bump();
                    } else if c == q {
                        if q == '\'' && self.peek() == Some('\'') {
                            out.push('\'');
                            self.bump();
                        } else {
                            return Some(out);
                        }
                    } else {
                        out.push(if c == '\n' { ' ' } else { c });
                    }
                }
            }
            '&' | '*' | '!' | '|' | '>' => None,
            _ => loop {
                let c = self.peek()?;
                let rest = &self.raw[self.line][self.col..];
                let ends_key = c == ':'
                    && (key || rest[1..].starts_with([' ', ',', '}', ']']) || rest.len() == 1);
                if matches!(c, ',' | ']' | '}' | '\n') || ends_key || rest.starts_with(" #") {
                    return Some(out.trim_end().to_owned());
                }
                out.push(c);
                self.bump();
            },
        }
    }
}

/// Whether the text at a node start is a sequence entry (`- x` or a lone `-`).
fn is_dash(s: &str) -> bool {
    s == "-" || s.starts_with("- ") || s.starts_with("-\t")
}

fn is_comment_or_empty(s: &str) -> bool {
    let t = s.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// If `s` starts with a mapping key, the key and the byte offset just after its `:`.
fn split_key(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    let (key, after) = match bytes.first()? {
        q @ (b'"' | b'\'') => {
            let mut i = 1;
            loop {
                let c = *bytes.get(i)?;
                if c == b'\\' && *q == b'"' {
                    i += 2;
                    continue;
                }
                if c == *q {
                    if *q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            let key = s[1..i].to_owned();
            let rest = s[i + 1..].trim_start();
            let colon = s.len() - rest.len();
            (key, colon)
        }
        b'[' | b'{' | b'#' | b'&' | b'!' | b'*' | b'|' | b'>' => return None,
        _ => {
            let mut found = None;
            for (i, c) in s.char_indices() {
                if c == ':' {
                    let next = s[i + 1..].chars().next();
                    if next.is_none_or(|n| n == ' ' || n == '\t') {
                        found = Some(i);
                        break;
                    }
                }
                if c == ' ' && s[i..].starts_with(" #") {
                    return None;
                }
            }
            let i = found?;
            (s[..i].trim_end().to_owned(), i)
        }
    };
    (s.as_bytes().get(after) == Some(&b':')).then_some((key, after + 1))
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !is_comment_or_empty(l) && *l != "---" && *l != "...")
            .map(|(i, l)| {
                let body = l.trim_start_matches(' ');
                Line {
                    no: i + 1,
                    indent: l.len() - body.len(),
                    text: l,
                }
            })
            .collect();
        Self {
            lines,
            raw: text.lines().collect(),
        }
    }

    fn pos(&self, i: usize, col: usize) -> Pos {
        Pos {
            line: self.lines[i].no,
            col: self.lines[i].text[..col].chars().count() + 1,
        }
    }

    /// The first line after `i` not more indented than `owner` (skips scalar continuations).
    fn skip_continuation(&self, i: usize, owner: isize) -> usize {
        let mut j = i + 1;
        while j < self.lines.len() && self.lines[j].indent as isize > owner {
            j += 1;
        }
        j
    }

    /// Parses the node starting at byte `col` of line `i`, owned by a key or dash at column
    /// `owner`; returns it and the index of the first line after it.
    fn node(&self, i: usize, col: usize, owner: isize) -> (Node, usize) {
        let text = &self.lines[i].text[col..];
        let pos = self.pos(i, col);
        if is_dash(text) {
            return self.seq(i, col);
        }
        if text.starts_with('[') || text.starts_with('{') {
            let mut flow = Flow {
                raw: &self.raw,
                line: self.lines[i].no - 1,
                col,
            };
            return match flow.node() {
                Some(node) => {
                    let end = flow.line + 1;
                    let next = (i + 1..self.lines.len())
                        .find(|&j| self.lines[j].no > end)
                        .unwrap_or(self.lines.len());
                    (node, next)
                }
                None => (Node::Other(pos), self.skip_continuation(i, owner)),
            };
        }
        if split_key(text).is_some() {
            return self.map(i, col);
        }
        (Node::Other(pos), self.skip_continuation(i, owner))
    }

    /// A value that starts after `offset` on line `i` or on the following lines.
    fn value(&self, i: usize, offset: usize, owner: usize) -> (Node, usize) {
        let line = self.lines[i].text;
        let rest = &line[offset..];
        let trimmed = rest.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            let col = line.len() - trimmed.len();
            return self.node(i, col, owner as isize);
        }
        match self.lines.get(i + 1) {
            Some(next) if next.indent > owner => self.node(i + 1, next.indent, owner as isize),
            Some(next) if next.indent == owner && is_dash(&next.text[next.indent..]) => {
                self.seq(i + 1, owner)
            }
            _ => (
                Node::Other(Pos {
                    line: self.lines[i].no,
                    col: 0,
                }),
                i + 1,
            ),
        }
    }

    fn seq(&self, mut i: usize, col: usize) -> (Node, usize) {
        let pos = self.pos(i, col);
        let mut items = Vec::new();
        loop {
            let (item, next) = self.value(i, col + 1, col);
            items.push(item);
            i = next;
            match self.lines.get(i) {
                Some(l) if l.indent == col && is_dash(&l.text[col..]) => {}
                _ => break,
            }
        }
        (Node::Seq(pos, items), i)
    }

    fn map(&self, mut i: usize, col: usize) -> (Node, usize) {
        let pos = self.pos(i, col);
        let mut entries = Vec::new();
        loop {
            let text = &self.lines[i].text[col..];
            let Some((key, after)) = split_key(text) else {
                break;
            };
            let (value, next) = self.value(i, col + after, col);
            entries.push((key, value));
            i = next;
            match self.lines.get(i) {
                Some(l) if l.indent == col && !is_dash(&l.text[col..]) => {}
                _ => break,
            }
        }
        (Node::Map(pos, entries), i)
    }
}

/// Positions of every group and rule of a rule file, or `None` when the file is not in the
/// block style this scanner understands.
pub fn locate(text: &str) -> Option<Vec<GroupPositions>> {
    let scanner = Scanner::new(text);
    let first = scanner.lines.first()?;
    let (root, _) = scanner.node(0, first.indent, -1);
    let Node::Seq(_, groups) = root.get("groups")? else {
        return None;
    };
    let value_pos = |rule: &Node, key: &str| rule.get(key).map(Node::pos).filter(|p| p.col > 0);
    Some(
        groups
            .iter()
            .map(|g| GroupPositions {
                node: g.pos(),
                rules: match g.get("rules") {
                    Some(Node::Seq(_, rules)) => Some(
                        rules
                            .iter()
                            .map(|r| RulePositions {
                                record: value_pos(r, "record"),
                                alert: value_pos(r, "alert"),
                                expr: value_pos(r, "expr"),
                            })
                            .collect(),
                    ),
                    _ => None,
                },
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: usize, col: usize) -> Option<Pos> {
        Some(Pos { line, col })
    }

    #[test]
    fn positions_match_yaml_v3_for_block_style() {
        // The file promtool 2.42 reported 5:11, 4:13, 10:7 and 11:3 for.
        let text = "groups:\n- name: a\n  rules:\n  - record: \"x y\"\n    expr: |\n      sum(up\n  - alert:\n      Foo\n    expr:\n      up ==\n- name: \"\"\n  rules: [{alert: B, expr: \"up ==\"}]\n";
        let got = locate(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].node, Pos { line: 2, col: 3 });
        let rules = got[0].rules.as_ref().unwrap();
        assert_eq!(rules[0].record, p(4, 13));
        assert_eq!(rules[0].expr, p(5, 11));
        assert_eq!(rules[0].alert, None);
        assert_eq!(rules[1].alert, p(8, 7));
        assert_eq!(rules[1].expr, p(10, 7));
        assert_eq!(got[1].node, Pos { line: 11, col: 3 });
        // promtool: 12:28.
        assert_eq!(got[1].rules.as_ref().unwrap()[0].expr, p(12, 28));
    }

    #[test]
    fn indented_sequences_comments_and_block_scalars_with_dashes() {
        let text = "# rules\ngroups:\n  - name: g # trailing\n    interval: 1m\n    rules:\n      - alert: A\n        expr: >-\n          - up\n          - x: y\n        annotations:\n          summary: \"a: b\"\n      - record: r:x\n        expr: up\n  - name: h\n    rules: []\n";
        let got = locate(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].node, Pos { line: 3, col: 5 });
        let rules = got[0].rules.as_ref().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].alert, p(6, 16));
        assert_eq!(rules[0].expr, p(7, 15));
        assert_eq!(rules[1].record, p(12, 17));
        assert_eq!(rules[1].expr, p(13, 15));
        assert_eq!(got[1].node, Pos { line: 14, col: 5 });
    }

    #[test]
    fn flow_collections_have_positions_too() {
        // promtool 2.42 reports 12:28 for this `expr` (and 11:3 for the group).
        let text = "groups:\n- name: a\n  rules: []\n# c\n\n\n\n\n\n\n- name: \"\"\n  rules: [{alert: B, expr: \"up ==\", labels: {\"0bad\": x}}]\n- name: c # after\n";
        let got = locate(text).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].node, Pos { line: 11, col: 3 });
        let rules = got[1].rules.as_ref().unwrap();
        assert_eq!(rules[0].alert, p(12, 19));
        assert_eq!(rules[0].expr, p(12, 28));
        assert_eq!(got[2].node, Pos { line: 13, col: 3 });
        // A whole file in flow style, over several lines, with quoted keys.
        let text = "groups: [{name: a, rules: [\n  {'record': 'x:y', expr: 'sum(up'},\n  {alert: A, \"expr\": up == 0}]}]\n";
        let got = locate(text).unwrap();
        assert_eq!(got[0].node, Pos { line: 1, col: 10 });
        let rules = got[0].rules.as_ref().unwrap();
        assert_eq!(rules[0].record, p(2, 14));
        assert_eq!(rules[0].expr, p(2, 27));
        assert_eq!(rules[1].alert, p(3, 11));
        assert_eq!(rules[1].expr, p(3, 22));
    }

    #[test]
    fn unsupported_constructs_give_no_positions_instead_of_wrong_ones() {
        assert_eq!(locate("groups: *anchor\n"), None);
        assert_eq!(
            locate("groups: [{name: a, rules: [&x {alert: A}]}]\n"),
            None
        );
    }
}
