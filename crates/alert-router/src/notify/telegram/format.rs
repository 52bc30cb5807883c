//! Telegram text formatting: the default message (byte-identical to Alertmanager's
//! `telegram.default.message` in HTML mode), escaping for each parse mode, the length
//! Telegram counts (after entity parsing, in UTF-16 units), splitting into well-formed
//! parts, and the plain-text fallback.

use crate::notify::{Data, DataAlert};

/// Telegram's `text` limit.
pub const MAX_LEN: usize = 4096;

/// How the text is marked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseMode {
    /// `HTML` (Alertmanager's default since 0.25).
    Html,
    /// `MarkdownV2`.
    MarkdownV2,
    /// Legacy `Markdown`.
    Markdown,
    /// No markup (`parse_mode: ""`).
    Plain,
}

impl ParseMode {
    /// From the config value (absent = HTML).
    pub fn from_config(v: Option<&str>) -> Self {
        match v {
            None | Some("HTML") => Self::Html,
            Some("MarkdownV2") => Self::MarkdownV2,
            Some("Markdown") => Self::Markdown,
            Some(_) => Self::Plain,
        }
    }

    /// The `parse_mode` request value, `None` for plain text.
    pub fn api_value(self) -> Option<&'static str> {
        match self {
            Self::Html => Some("HTML"),
            Self::MarkdownV2 => Some("MarkdownV2"),
            Self::Markdown => Some("Markdown"),
            Self::Plain => None,
        }
    }
}

/// Go `html/template` escaping of a value in HTML text context.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '+' => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes every character MarkdownV2 reserves outside entities.
pub fn markdown_v2_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "_*[]()~`>#+-=|{}.!\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes the characters legacy Markdown reserves.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "_*`[".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The default message and the byte offsets where each alert's block starts.
///
/// In HTML mode values are escaped as Go's `html/template` does, so the bytes equal
/// Alertmanager's. In MarkdownV2 and Markdown mode Alertmanager escapes nothing (and
/// Telegram rejects the message); we escape the whole text for that mode instead.
pub fn default_message(data: &Data, mode: ParseMode) -> (String, Vec<usize>) {
    let esc = |s: &str| -> String {
        match mode {
            ParseMode::Html => html_escape(s),
            _ => s.to_owned(),
        }
    };
    let mut out = String::from("\n");
    let mut bounds = Vec::new();
    let list = |out: &mut String, bounds: &mut Vec<usize>, alerts: Vec<&DataAlert>| {
        for a in alerts {
            bounds.push(out.len());
            out.push_str("Labels:\n");
            for (k, v) in sorted_pairs(a.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
            {
                out.push_str(&format!(" - {} = {}\n", esc(k), esc(v)));
            }
            out.push_str("Annotations:\n");
            for (k, v) in sorted_pairs(a.annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            {
                out.push_str(&format!(" - {} = {}\n", esc(k), esc(v)));
            }
            out.push_str(&format!("Source: {}\n", esc(&a.generator_url)));
        }
    };
    let firing: Vec<&DataAlert> = data.firing().collect();
    if !firing.is_empty() {
        out.push_str("\nAlerts Firing:\n");
        list(&mut out, &mut bounds, firing);
        out.push('\n');
    }
    out.push('\n');
    let resolved: Vec<&DataAlert> = data.resolved().collect();
    if !resolved.is_empty() {
        bounds.push(out.len());
        out.push_str("\nAlerts Resolved:\n");
        list(&mut out, &mut bounds, resolved);
        out.push('\n');
    }
    out.push('\n');
    match mode {
        ParseMode::MarkdownV2 => {
            // Escaping shifts offsets: recompute them on the escaped text.
            let mut escaped = String::with_capacity(out.len() + 64);
            let mut new_bounds = Vec::with_capacity(bounds.len());
            let mut bi = 0;
            for (i, c) in out.char_indices() {
                while bi < bounds.len() && bounds[bi] == i {
                    new_bounds.push(escaped.len());
                    bi += 1;
                }
                escaped.push_str(&markdown_v2_escape(c.encode_utf8(&mut [0; 4])));
            }
            (escaped, new_bounds)
        }
        ParseMode::Markdown => {
            let mut escaped = String::with_capacity(out.len() + 64);
            let mut new_bounds = Vec::with_capacity(bounds.len());
            let mut bi = 0;
            for (i, c) in out.char_indices() {
                while bi < bounds.len() && bounds[bi] == i {
                    new_bounds.push(escaped.len());
                    bi += 1;
                }
                escaped.push_str(&markdown_escape(c.encode_utf8(&mut [0; 4])));
            }
            (escaped, new_bounds)
        }
        _ => (out, bounds),
    }
}

/// `KV.SortedPairs`: `alertname` first, the rest by name.
fn sorted_pairs<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<(&str, &str)> = it.collect();
    v.sort_by(|a, b| (a.0 != "alertname", a.0).cmp(&(b.0 != "alertname", b.0)));
    v
}

/// Length as Telegram counts it: after entity parsing, in UTF-16 code units.
pub fn visible_len(text: &str, mode: ParseMode) -> usize {
    match mode {
        ParseMode::Html => html_tokens(text)
            .iter()
            .map(|t| match t {
                HtmlTok::Text(s) => s.encode_utf16().count(),
                HtmlTok::Entity(_) => 1,
                HtmlTok::Open { .. } | HtmlTok::Close(_) => 0,
            })
            .sum(),
        ParseMode::MarkdownV2 => {
            let mut n = 0;
            let mut escaped = false;
            for c in text.chars() {
                if !escaped && c == '\\' {
                    escaped = true;
                    continue;
                }
                escaped = false;
                n += c.len_utf16();
            }
            n
        }
        _ => text.encode_utf16().count(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum HtmlTok<'a> {
    Text(&'a str),
    Entity(&'a str),
    Open { name: String, raw: &'a str },
    Close(String),
}

/// Splits HTML into text runs, entities and tags (lenient: a stray `<` or `&` is text).
fn html_tokens(s: &str) -> Vec<HtmlTok<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    let b = s.as_bytes();
    let mut text_start = 0;
    while i < b.len() {
        let tok_end = match b[i] {
            b'<' => s[i..].find('>').map(|e| i + e + 1),
            b'&' => s[i..]
                .find(';')
                .filter(|e| {
                    *e <= 10
                        && s[i + 1..i + e]
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '#')
                })
                .map(|e| i + e + 1),
            _ => None,
        };
        match tok_end {
            Some(end) => {
                if text_start < i {
                    out.push(HtmlTok::Text(&s[text_start..i]));
                }
                let raw = &s[i..end];
                if b[i] == b'&' {
                    out.push(HtmlTok::Entity(raw));
                } else if let Some(name) = raw.strip_prefix("</") {
                    out.push(HtmlTok::Close(
                        name.trim_end_matches('>').trim().to_ascii_lowercase(),
                    ));
                } else {
                    let name: String = raw[1..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect::<String>()
                        .to_ascii_lowercase();
                    out.push(HtmlTok::Open { name, raw });
                }
                i = end;
                text_start = end;
            }
            None => {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    if text_start < s.len() {
        out.push(HtmlTok::Text(&s[text_start..]));
    }
    out
}

/// Splits `text` into parts Telegram accepts: each at most `MAX_LEN` after entity parsing,
/// cut at alert boundaries when possible, else at line ends, else between characters (never
/// inside a tag or entity); in HTML mode open tags are closed at the end of a part and
/// reopened at the start of the next. More than one part get a `(i/n)` header.
pub fn split(text: &str, bounds: &[usize], mode: ParseMode) -> Vec<String> {
    split_with_limit(text, bounds, mode, MAX_LEN)
}

/// [`split`] with a custom limit (tests).
pub fn split_with_limit(
    text: &str,
    bounds: &[usize],
    mode: ParseMode,
    limit: usize,
) -> Vec<String> {
    if visible_len(text, mode) <= limit {
        return vec![text.to_owned()];
    }
    // Reserve room for the "(99/99)\n" header.
    let budget = limit.saturating_sub(12).max(1);
    // Units: the smallest pieces we never cut inside, with their visible length.
    let units = units(text, mode);
    let mut parts: Vec<String> = Vec::new();
    let mut open: Vec<(String, String)> = Vec::new(); // (name, raw open tag)
    let mut cur = String::new();
    let mut cur_len = 0usize;
    // Best cut so far inside `cur`: (byte len of cur, visible len, open stack), preferring
    // alert boundaries over line ends.
    let mut cut_alert: Option<Cut> = None;
    let mut cut_line: Option<Cut> = None;
    let mut idx = 0;
    let reopen =
        |stack: &[(String, String)]| stack.iter().map(|(_, raw)| raw.clone()).collect::<String>();
    let close = |stack: &[(String, String)]| {
        stack
            .iter()
            .rev()
            .map(|(n, _)| format!("</{n}>"))
            .collect::<String>()
    };
    while idx < units.len() {
        let u = &units[idx];
        if cur_len + u.len > budget && cur_len > 0 {
            // Cut at the best boundary we have, else here.
            let (cut_bytes, stack_at_cut, resume) = cut_alert
                .take()
                .or_else(|| cut_line.take())
                .unwrap_or((cur.len(), open.clone(), idx));
            let mut part = cur[..cut_bytes].to_owned();
            if mode == ParseMode::Html {
                part.push_str(&close(&stack_at_cut));
            }
            parts.push(part);
            cur = if mode == ParseMode::Html {
                reopen(&stack_at_cut)
            } else {
                String::new()
            };
            open = stack_at_cut;
            cur_len = 0;
            cut_alert = None;
            cut_line = None;
            idx = resume;
            continue;
        }
        cur.push_str(&u.raw);
        cur_len += u.len;
        if mode == ParseMode::Html {
            match &u.tag {
                Some(TagChange::Open(n)) => open.push((n.clone(), u.raw.clone())),
                Some(TagChange::Close(n)) => {
                    if let Some(pos) = open.iter().rposition(|(o, _)| o == n) {
                        open.truncate(pos);
                    }
                }
                None => {}
            }
        }
        idx += 1;
        if idx < units.len() {
            let next_start = units[idx].offset;
            if bounds.contains(&next_start) {
                cut_alert = Some((cur.len(), open.clone(), idx));
            } else if u.raw.ends_with('\n') {
                cut_line = Some((cur.len(), open.clone(), idx));
            }
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let header = match mode {
                ParseMode::MarkdownV2 => format!("\\({}/{n}\\)\n", i + 1),
                _ => format!("({}/{n})\n", i + 1),
            };
            format!("{header}{p}")
        })
        .collect()
}

/// A possible cut: (bytes of the part so far, open tags there, unit index to resume at).
type Cut = (usize, Vec<(String, String)>, usize);

enum TagChange {
    Open(String),
    Close(String),
}

struct Unit {
    offset: usize,
    raw: String,
    len: usize,
    tag: Option<TagChange>,
}

fn units(text: &str, mode: ParseMode) -> Vec<Unit> {
    let mut out = Vec::new();
    match mode {
        ParseMode::Html => {
            let mut offset = 0;
            for t in html_tokens(text) {
                match t {
                    HtmlTok::Text(s) => {
                        for (i, c) in s.char_indices() {
                            out.push(Unit {
                                offset: offset + i,
                                raw: c.to_string(),
                                len: c.len_utf16(),
                                tag: None,
                            });
                        }
                        offset += s.len();
                    }
                    HtmlTok::Entity(e) => {
                        out.push(Unit {
                            offset,
                            raw: e.to_owned(),
                            len: 1,
                            tag: None,
                        });
                        offset += e.len();
                    }
                    HtmlTok::Open { name, raw } => {
                        out.push(Unit {
                            offset,
                            raw: raw.to_owned(),
                            len: 0,
                            tag: Some(TagChange::Open(name)),
                        });
                        offset += raw.len();
                    }
                    HtmlTok::Close(name) => {
                        let raw = format!("</{name}>");
                        let rawlen = text[offset..].find('>').map_or(raw.len(), |e| e + 1);
                        out.push(Unit {
                            offset,
                            raw: text[offset..offset + rawlen].to_owned(),
                            len: 0,
                            tag: Some(TagChange::Close(name)),
                        });
                        offset += rawlen;
                    }
                }
            }
        }
        _ => {
            let mut it = text.char_indices().peekable();
            while let Some((i, c)) = it.next() {
                if mode == ParseMode::MarkdownV2
                    && c == '\\'
                    && let Some((_, n)) = it.next()
                {
                    out.push(Unit {
                        offset: i,
                        raw: format!("\\{n}"),
                        len: n.len_utf16(),
                        tag: None,
                    });
                    continue;
                }
                out.push(Unit {
                    offset: i,
                    raw: c.to_string(),
                    len: c.len_utf16(),
                    tag: None,
                });
            }
        }
    }
    out
}

/// The text with markup removed, for resending as plain text when Telegram rejects the
/// entities.
pub fn to_plain(text: &str, mode: ParseMode) -> String {
    match mode {
        ParseMode::Html => html_tokens(text)
            .into_iter()
            .map(|t| match t {
                HtmlTok::Text(s) => s.to_owned(),
                HtmlTok::Entity(e) => decode_entity(e),
                _ => String::new(),
            })
            .collect(),
        ParseMode::MarkdownV2 => {
            let mut out = String::with_capacity(text.len());
            let mut escaped = false;
            for c in text.chars() {
                if !escaped && c == '\\' {
                    escaped = true;
                    continue;
                }
                escaped = false;
                out.push(c);
            }
            out
        }
        _ => text.to_owned(),
    }
}

fn decode_entity(e: &str) -> String {
    let inner = &e[1..e.len() - 1];
    match inner {
        "lt" => "<".into(),
        "gt" => ">".into(),
        "amp" => "&".into(),
        "quot" => "\"".into(),
        _ => {
            let num = inner
                .strip_prefix('#')
                .and_then(|n| match n.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => n.parse().ok(),
                });
            num.and_then(char::from_u32)
                .map_or_else(|| e.to_owned(), |c| c.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
