//! A small HTML context tracker for [`crate::Escape::Html`]: follows the template's literal
//! text (not the interpolated values) through tags, attributes and comments so each action is
//! escaped the way Go's `html/template` escapes it in that context:
//!
//! * HTML text and ordinary attribute values: `htmlEscaper`;
//! * URL attributes (`href`, `src`, ...): `urlFilter` (unsafe schemes become `#ZgotmplZ`) at
//!   the start of the value, `urlNormalizer` before the query, `urlEscaper` inside the query or
//!   fragment, then the attribute escaper;
//! * HTML comments in template text are removed, as `html/template` does.
//!
//! JavaScript and CSS contexts are escaped as HTML text (a documented gap).

use crate::escape::html_escape_template;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum St {
    #[default]
    Text,
    /// Inside `<name ...` before an attribute name.
    Tag,
    AttrName,
    AfterName,
    BeforeValue,
    /// Inside an attribute value.
    Attr,
    Comment,
    /// Inside `<script>`/`<style>`/`<textarea>`/`<title>` until the end tag.
    RawText,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum UrlPart {
    #[default]
    None,
    PreQuery,
    QueryOrFrag,
}

/// Tracks where in an HTML document the output currently is.
#[derive(Clone, Debug, Default)]
pub(crate) struct HtmlCtx {
    st: St,
    tag: String,
    attr: String,
    /// Quote character of the current attribute value (`None`: unquoted).
    delim: Option<char>,
    url_attr: bool,
    url_part: UrlPart,
    raw_end: String,
    /// Possible partial `-->` at the end of a comment chunk.
    pending: String,
}

fn is_url_attr(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n
        .strip_prefix("data-")
        .or_else(|| n.strip_prefix("xmlns:"))
        .unwrap_or(&n)
        .to_string();
    matches!(
        n.as_str(),
        "action"
            | "archive"
            | "background"
            | "cite"
            | "classid"
            | "codebase"
            | "data"
            | "formaction"
            | "href"
            | "icon"
            | "longdesc"
            | "manifest"
            | "poster"
            | "profile"
            | "src"
            | "usemap"
            | "xmlns"
    ) || n.contains("src")
        || n.contains("uri")
        || n.contains("url")
}

impl HtmlCtx {
    /// Advance over literal template text, returning what to emit (comments removed).
    pub(crate) fn feed(&mut self, text: &str) -> String {
        let mut input = std::mem::take(&mut self.pending);
        input.push_str(text);
        let mut out = String::with_capacity(input.len());
        let mut rest = input.as_str();
        while let Some(c) = rest.chars().next() {
            match self.st {
                St::Text => {
                    if let Some(r) = rest.strip_prefix("<!--") {
                        self.st = St::Comment;
                        rest = r;
                        continue;
                    }
                    if c == '<' {
                        let after = &rest[1..];
                        let closing = after.starts_with('/');
                        let name_src = if closing { &after[1..] } else { after };
                        let n = name_src
                            .bytes()
                            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':')
                            .count();
                        if n > 0 && name_src.as_bytes()[0].is_ascii_alphabetic() {
                            self.tag = if closing {
                                String::new()
                            } else {
                                name_src[..n].to_ascii_lowercase()
                            };
                            self.st = St::Tag;
                            let consumed = 1 + usize::from(closing) + n;
                            out.push_str(&rest[..consumed]);
                            rest = &rest[consumed..];
                            continue;
                        }
                    }
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
                St::Comment => {
                    if let Some(i) = rest.find("-->") {
                        rest = &rest[i + 3..];
                        self.st = St::Text;
                    } else {
                        // Keep a possible partial "-->" (trailing dashes) for the next chunk.
                        let keep = rest
                            .bytes()
                            .rev()
                            .take(2)
                            .take_while(|b| *b == b'-')
                            .count();
                        self.pending = "-".repeat(keep);
                        return out;
                    }
                }
                St::Tag | St::AfterName => {
                    rest = &rest[c.len_utf8()..];
                    out.push(c);
                    match c {
                        '>' => self.end_tag(),
                        '=' if self.st == St::AfterName => self.st = St::BeforeValue,
                        c if c.is_whitespace() || c == '/' => {}
                        _ => {
                            self.attr.clear();
                            self.attr.push(c);
                            self.st = St::AttrName;
                        }
                    }
                }
                St::AttrName => {
                    rest = &rest[c.len_utf8()..];
                    out.push(c);
                    match c {
                        '=' => self.st = St::BeforeValue,
                        '>' => self.end_tag(),
                        c if c.is_whitespace() => self.st = St::AfterName,
                        c => self.attr.push(c),
                    }
                }
                St::BeforeValue => {
                    if c.is_whitespace() {
                        out.push(c);
                        rest = &rest[c.len_utf8()..];
                        continue;
                    }
                    if c == '>' {
                        out.push(c);
                        rest = &rest[1..];
                        self.end_tag();
                        continue;
                    }
                    self.st = St::Attr;
                    self.url_attr = is_url_attr(&self.attr);
                    self.url_part = UrlPart::None;
                    if c == '"' || c == '\'' {
                        self.delim = Some(c);
                        out.push(c);
                        rest = &rest[1..];
                    } else {
                        self.delim = None;
                    }
                }
                St::Attr => {
                    let ends = match self.delim {
                        Some(d) => c == d,
                        None => c.is_whitespace() || c == '>',
                    };
                    if ends {
                        if self.delim.is_some() || c.is_whitespace() {
                            out.push(c);
                            rest = &rest[c.len_utf8()..];
                            self.st = St::Tag;
                        } else {
                            self.st = St::Tag; // '>' handled by Tag
                        }
                        continue;
                    }
                    if self.url_attr {
                        if c == '?' || c == '#' {
                            self.url_part = UrlPart::QueryOrFrag;
                        } else if self.url_part == UrlPart::None {
                            self.url_part = UrlPart::PreQuery;
                        }
                    }
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
                St::RawText => {
                    let end_len = self.raw_end.len();
                    if rest
                        .get(..end_len)
                        .is_some_and(|p| p.eq_ignore_ascii_case(&self.raw_end))
                    {
                        self.st = St::Text;
                        continue;
                    }
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        out
    }

    fn end_tag(&mut self) {
        self.st = match self.tag.as_str() {
            "script" | "style" | "textarea" | "title" => {
                self.raw_end = format!("</{}", self.tag);
                St::RawText
            }
            _ => St::Text,
        };
    }

    /// Escape an interpolated value for the current context. `html` says the value is trusted
    /// HTML (`safeHtml`); `prior` is the pipeline's last function if it already escaped
    /// (`html`, `urlquery`), which Go treats as equivalent to its own escaper.
    pub(crate) fn escape(&mut self, s: &str, html: bool, prior: Option<&str>) -> String {
        match self.st {
            St::Attr if self.url_attr => {
                let part = self.url_part;
                self.url_part = match part {
                    UrlPart::QueryOrFrag => UrlPart::QueryOrFrag,
                    _ => UrlPart::PreQuery,
                };
                let url = match part {
                    UrlPart::QueryOrFrag => {
                        if prior == Some("urlquery") {
                            s.to_string()
                        } else {
                            process_url(s, false)
                        }
                    }
                    UrlPart::None => {
                        if html || is_safe_url(s) {
                            process_url(s, true)
                        } else {
                            "#ZgotmplZ".to_string()
                        }
                    }
                    UrlPart::PreQuery => process_url(s, true),
                };
                attr_escape(&url, false)
            }
            St::Attr | St::Tag | St::AttrName | St::AfterName | St::BeforeValue => {
                attr_escape(s, html)
            }
            St::Comment => String::new(),
            _ => {
                if html || prior == Some("html") {
                    s.to_string()
                } else {
                    html_escape_template(s)
                }
            }
        }
    }
}

/// Go's `urlFilter`: only `http`, `https`, `mailto` schemes (or none) pass.
fn is_safe_url(s: &str) -> bool {
    match s.find(':') {
        Some(i) if !s[..i].contains('/') => {
            let scheme = s[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// Go's `processURLOnto`: percent-encode (lower-case hex) bytes outside the unreserved set;
/// `norm` keeps reserved characters and existing `%XX` escapes.
fn process_url(s: &str, norm: bool) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    let is_hex = |c: u8| c.is_ascii_hexdigit();
    for (i, &c) in b.iter().enumerate() {
        let keep = match c {
            b'!' | b'#' | b'$' | b'&' | b'*' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?'
            | b'@' | b'[' | b']' => norm,
            b'-' | b'.' | b'_' | b'~' => true,
            b'%' => norm && i + 2 < b.len() && is_hex(b[i + 1]) && is_hex(b[i + 2]),
            c => c.is_ascii_alphanumeric(),
        };
        if keep {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02x}"));
        }
    }
    out
}

/// Go's `attrEscaper`: HTML-escape; trusted HTML has its tags stripped and is not re-escaped.
fn attr_escape(s: &str, html: bool) -> String {
    if html {
        let mut out = String::new();
        let mut in_tag = false;
        for c in s.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => match c {
                    '"' => out.push_str("&#34;"),
                    '\'' => out.push_str("&#39;"),
                    '+' => out.push_str("&#43;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    c => out.push(c),
                },
                _ => {}
            }
        }
        return out;
    }
    html_escape_template(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_attribute_escaping() {
        let mut c = HtmlCtx::default();
        assert_eq!(c.feed("<a href=\""), "<a href=\"");
        assert_eq!(
            c.escape("http://prom:9090/graph?g0.expr=up&x=<1>", false, None),
            "http://prom:9090/graph?g0.expr=up&amp;x=%3c1%3e"
        );
        c.feed("\">x</a><a href='");
        assert_eq!(c.escape("javascript:alert(1)", false, None), "#ZgotmplZ");
        c.feed("/q?x=");
        assert_eq!(c.escape("a b&c", false, None), "a%20b%26c");
        c.feed("'>");
        assert_eq!(c.escape("<b>", false, None), "&lt;b&gt;");
    }

    #[test]
    fn raw_text_elements_end_at_their_end_tag() {
        let mut c = HtmlCtx::default();
        assert_eq!(
            c.feed("<script>if (a<b) {}</SCRIPT><b title=\""),
            "<script>if (a<b) {}</SCRIPT><b title=\""
        );
        assert_eq!(c.escape("<x>", false, None), "&lt;x&gt;");
    }

    #[test]
    fn comments_are_stripped_and_attrs_escaped() {
        let mut c = HtmlCtx::default();
        assert_eq!(c.feed("a<!-- secret -->b"), "ab");
        assert_eq!(c.feed("<!-- x -"), "");
        assert_eq!(c.escape("inside", false, None), "");
        assert_eq!(c.feed("->c"), "c");
        c.feed("<p title=\"");
        assert_eq!(c.escape("\"q\" <i>", false, None), "&#34;q&#34; &lt;i&gt;");
        c.feed("\">");
        assert_eq!(c.escape("<i>", true, None), "<i>");
    }
}
