//! Go's two ways of quoting a string inside an error message, so our errors read like theirs.

use std::fmt::Write as _;

/// Quotes like Go's `strconv.Quote` (what `%q` prints): double quotes, backslash escapes for
/// `"` and `\`, C escapes for common control characters, `\xNN`/`\uNNNN`/`\UNNNNNNNN` for other
/// non-printable characters; printable Unicode is kept as is.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Quotes like the private `quote` of Go's `time` package, used in `time.ParseDuration`
/// errors: every byte of a non-ASCII or control character becomes `\xNN`.
pub fn go_time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if (c as u32) >= 0x80 || (c as u32) < 0x20 {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).as_bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Approximates Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the
/// ASCII space. Control, format, separator (other than space) and private-use characters are
/// escaped.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let cp = c as u32;
    // Format characters Go escapes (soft hyphen, zero-width and bidi controls, BOM).
    !matches!(cp, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff)
        && !(0xe000..=0xf8ff).contains(&cp)
}
