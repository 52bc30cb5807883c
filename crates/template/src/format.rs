//! Go's `fmt` package for template values: `Sprint`, `Sprintln`, `Sprintf` and the float
//! formatting of `strconv.FormatFloat`, so numbers print byte-for-byte like Go (`1e+06`, `0.1`,
//! `3`, `%.4g`).

use crate::gotime::duration_string;
use crate::value::{MapKind, Value};

/// Looks up a Go `String()` method for typed values (Alertmanager's `KV`, `Pairs`).
pub(crate) trait Stringer {
    /// The `String()` result for `v`, if its type has one.
    fn stringify(&self, v: &Value) -> Option<String>;
}

/// A [`Stringer`] that knows no methods.
#[derive(Debug)]
pub(crate) struct NoStringer;

impl Stringer for NoStringer {
    fn stringify(&self, _v: &Value) -> Option<String> {
        None
    }
}

/// Decimal digits of a float: `0.d1d2d3... × 10^dp`, trailing zeros trimmed (`nd == 0` for 0).
struct Digits {
    neg: bool,
    d: Vec<u8>,
    dp: i32,
}

fn digits_from_sci(s: &str) -> Digits {
    // s looks like "-1.2345e-7" (Rust's `{:e}` output).
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return Digits { neg, d, dp: 0 };
    }
    Digits {
        neg,
        d,
        dp: exp + 1,
    }
}

/// Shortest round-trip digits.
fn shortest_digits(f: f64) -> Digits {
    digits_from_sci(&format!("{f:e}"))
}

/// Digits rounded to `n` significant digits (n >= 1).
fn sig_digits(f: f64, n: usize) -> Digits {
    digits_from_sci(&format!("{:.*e}", n.saturating_sub(1), f))
}

fn digit_at(d: &Digits, i: i32) -> u8 {
    if i >= 0 && (i as usize) < d.d.len() {
        d.d[i as usize]
    } else {
        b'0'
    }
}

fn fmt_e(d: &Digits, prec: usize, upper: bool) -> String {
    let mut out = String::new();
    if d.neg {
        out.push('-');
    }
    out.push(digit_at(d, 0) as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digit_at(d, i32::try_from(i).unwrap_or(i32::MAX)) as char);
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if d.d.is_empty() { 0 } else { d.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

fn fmt_f(d: &Digits, prec: usize) -> String {
    let mut out = String::new();
    if d.neg {
        out.push('-');
    }
    if d.dp > 0 {
        for i in 0..d.dp {
            out.push(digit_at(d, i) as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digit_at(d, d.dp + i32::try_from(i).unwrap_or(i32::MAX) - 1) as char);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(f, verb, prec, 64)` for verbs `e E f F g G`; `prec < 0` is the
/// shortest representation that round-trips.
pub(crate) fn format_float(f: f64, verb: char, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let shortest = prec < 0;
    match verb {
        'e' | 'E' => {
            let d = if shortest {
                shortest_digits(f)
            } else {
                sig_digits(f, prec as usize + 1)
            };
            let p = if shortest {
                d.d.len().saturating_sub(1)
            } else {
                prec as usize
            };
            fmt_e(&d, p, verb == 'E')
        }
        'f' | 'F' => {
            if shortest {
                let d = shortest_digits(f);
                let p = (d.d.len() as i32 - d.dp).max(0) as usize;
                fmt_f(&d, p)
            } else {
                let s = format!("{:.*}", prec as usize, f);
                // Rust prints "-0.00" for tiny negatives like Go does; keep as is.
                s
            }
        }
        _ => {
            // 'g' / 'G'
            let (d, mut p) = if shortest {
                let d = shortest_digits(f);
                let n = d.d.len();
                (d, n as i32)
            } else {
                let p = if prec == 0 { 1 } else { prec };
                (sig_digits(f, p as usize), p)
            };
            let nd = d.d.len() as i32;
            let mut eprec = p;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                return fmt_e(&d, (p - 1).max(0) as usize, verb == 'G');
            }
            if p > d.dp {
                p = nd;
            }
            fmt_f(&d, (p - d.dp).max(0) as usize)
        }
    }
}

/// `%v` of a float64: `strconv.FormatFloat(f, 'g', -1, 64)`.
pub(crate) fn float_v(f: f64) -> String {
    format_float(f, 'g', -1)
}

/// Go's `fmt.Sprint` of one value (`%v`).
pub(crate) fn sprint_value(v: &Value, st: &dyn Stringer) -> String {
    if let Some(s) = st.stringify(v) {
        return s;
    }
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Float(f) => float_v(*f),
        Value::String(s) | Value::Html(s) => s.clone(),
        Value::List(l) => {
            let parts: Vec<String> = l.items.iter().map(|x| sprint_value(x, st)).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Map(m) => {
            if m.kind == MapKind::Struct {
                let parts: Vec<String> = m
                    .ordered()
                    .into_iter()
                    .map(|(_, x)| sprint_value(x, st))
                    .collect();
                format!("{{{}}}", parts.join(" "))
            } else {
                let parts: Vec<String> = m
                    .entries
                    .iter()
                    .map(|(k, x)| format!("{k}:{}", sprint_value(x, st)))
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
        }
        Value::Time(t) => t.go_string(),
        Value::Duration(d) => duration_string(*d),
    }
}

fn is_string_kind(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Html(_))
}

/// Go's `fmt.Sprint(args...)`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Value], st: &dyn Stringer) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_string_kind(a) && !is_string_kind(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&sprint_value(a, st));
    }
    out
}

/// Go's `fmt.Sprintln(args...)`: always spaces, trailing newline.
pub(crate) fn sprintln(args: &[Value], st: &dyn Stringer) -> String {
    let parts: Vec<String> = args.iter().map(|a| sprint_value(a, st)).collect();
    let mut s = parts.join(" ");
    s.push('\n');
    s
}

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    /// `%+v`: struct field names, no sign flag (Go moves `+` here for the v verb).
    plus_v: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn pad(s: String, f: &Flags, allow_zero: bool) -> String {
    let Some(w) = f.width else { return s };
    let n = s.chars().count();
    if n >= w {
        return s;
    }
    let fill = w - n;
    if f.minus {
        format!("{s}{}", " ".repeat(fill))
    } else if f.zero && allow_zero {
        // Zero padding goes after the sign.
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (c.to_string(), s[1..].to_string()),
            _ => (String::new(), s.clone()),
        };
        format!("{sign}{}{rest}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

fn bad_verb(verb: char, v: &Value, f: &Flags, st: &dyn Stringer) -> String {
    // Go prints the operand with %v under the same width/flags: %!d(string=00200).
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", v.type_name(), fmt_arg(v, 'v', f, st)),
    }
}

fn fmt_int(i: i128, verb: char, f: &Flags) -> String {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut digits = match verb {
        'd' | 'v' => u.to_string(),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'o' | 'O' => format!("{u:o}"),
        'b' => format!("{u:b}"),
        _ => u.to_string(),
    };
    if let Some(p) = f.prec {
        if p == 0 && u == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = if f.sharp {
        match verb {
            'x' => "0x",
            'X' => "0X",
            'o' => "0",
            'b' => "0b",
            _ => "",
        }
    } else if verb == 'O' {
        "0o"
    } else {
        ""
    };
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    pad(s, f, f.prec.is_none())
}

fn fmt_float_verb(x: f64, verb: char, f: &Flags) -> String {
    let (v, default_prec) = match verb {
        'v' => ('g', -1),
        'g' | 'G' => (verb, -1),
        'e' | 'E' | 'f' | 'F' => (verb, 6),
        _ => (verb, -1),
    };
    let prec = f
        .prec
        .map_or(default_prec, |p| i32::try_from(p).unwrap_or(i32::MAX));
    let mut num = format_float(x, v, prec);
    if f.sharp && (v == 'g' || v == 'G') && !num.contains('.') && x.is_finite() {
        // %#g keeps a decimal point.
        if let Some(epos) = num.find(['e', 'E']) {
            num.insert(epos, '.');
        } else {
            num.push('.');
        }
    }
    let special = x.is_nan() || x.is_infinite();
    if special {
        let s = if x.is_nan() {
            if f.plus {
                "+NaN".to_string()
            } else if f.space {
                " NaN".to_string()
            } else {
                "NaN".to_string()
            }
        } else if x > 0.0 {
            if f.space && !f.plus {
                " Inf".to_string()
            } else {
                "+Inf".to_string()
            }
        } else {
            "-Inf".to_string()
        };
        return pad(s, f, false);
    }
    if !num.starts_with('-') {
        if f.plus {
            num.insert(0, '+');
        } else if f.space {
            num.insert(0, ' ');
        }
    }
    pad(num, f, true)
}

fn fmt_str(s: &str, verb: char, f: &Flags) -> String {
    let s: String = match f.prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    let out = match verb {
        'q' => {
            if f.sharp && !s.contains('`') && !s.chars().any(|c| c.is_control() && c != '\t') {
                format!("`{s}`")
            } else {
                go_quote(&s)
            }
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (i, b) in s.bytes().enumerate() {
                if f.space && i > 0 {
                    h.push(' ');
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            h
        }
        _ => s,
    };
    pad(out, f, true)
}

/// Format one argument for one verb.
fn fmt_arg(v: &Value, verb: char, f: &Flags, st: &dyn Stringer) -> String {
    // Values with a String() method print through it for string-ish verbs.
    if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X')
        && !matches!(v, Value::Duration(_) | Value::Time(_))
        && let Some(s) = st.stringify(v)
    {
        return fmt_str(&s, if verb == 'v' { 's' } else { verb }, f);
    }
    match v {
        Value::Nil => match verb {
            'v' => pad("<nil>".into(), f, false),
            _ => bad_verb(verb, v, f, st),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(b.to_string(), f, false),
            _ => bad_verb(verb, v, f, st),
        },
        Value::Int(i) => fmt_int_verb(i128::from(*i), verb, f, v, st),
        Value::Uint(u) => fmt_int_verb(i128::from(*u), verb, f, v, st),
        Value::Float(x) => match verb {
            'v' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' => fmt_float_verb(*x, verb, f),
            _ => bad_verb(verb, v, f, st),
        },
        Value::String(s) | Value::Html(s) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => fmt_str(s, verb, f),
            _ => bad_verb(verb, v, f, st),
        },
        Value::Duration(d) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => fmt_str(&duration_string(*d), verb, f),
            _ => fmt_int_verb(i128::from(*d), verb, f, v, st),
        },
        Value::Time(t) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => fmt_str(&t.go_string(), verb, f),
            _ => bad_verb(verb, v, f, st),
        },
        Value::List(l) => {
            if matches!(verb, 's' | 'q' | 'x' | 'X') && l.items.is_empty() {
                return pad("[]".into(), f, false);
            }
            let parts: Vec<String> = l.items.iter().map(|x| fmt_arg(x, verb, f, st)).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Map(m) => {
            if m.kind == MapKind::Struct {
                let parts: Vec<String> = m
                    .ordered()
                    .into_iter()
                    .map(|(k, x)| {
                        if f.plus_v && verb == 'v' {
                            format!("{k}:{}", fmt_arg(x, verb, f, st))
                        } else {
                            fmt_arg(x, verb, f, st)
                        }
                    })
                    .collect();
                format!("{{{}}}", parts.join(" "))
            } else {
                let parts: Vec<String> = m
                    .entries
                    .iter()
                    .map(|(k, x)| {
                        format!(
                            "{}:{}",
                            fmt_arg(&Value::String(k.clone()), verb, f, st),
                            fmt_arg(x, verb, f, st)
                        )
                    })
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }
}

fn fmt_int_verb(i: i128, verb: char, f: &Flags, v: &Value, st: &dyn Stringer) -> String {
    match verb {
        'v' | 'd' | 'x' | 'X' | 'o' | 'O' | 'b' => fmt_int(i, verb, f),
        'c' => pad(
            char::from_u32(u32::try_from(i).unwrap_or(0xFFFD))
                .unwrap_or('\u{FFFD}')
                .to_string(),
            f,
            false,
        ),
        'q' => {
            let c = char::from_u32(u32::try_from(i).unwrap_or(0xFFFD)).unwrap_or('\u{FFFD}');
            let q = match c {
                '\'' => "'\\''".to_string(),
                '\\' => "'\\\\'".to_string(),
                c => {
                    let s = go_quote(&c.to_string());
                    format!("'{}'", &s[1..s.len() - 1])
                }
            };
            pad(q, f, false)
        }
        'U' => pad(format!("U+{:04X}", i), f, false),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(verb, v, f, st),
        _ => bad_verb(verb, v, f, st),
    }
}

/// Go's `fmt` rejects widths and precisions above a million (`%!(BADWIDTH)`).
fn too_large(n: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&n)
}

/// Go's `fmt.Sprintf(format, args...)` for the verbs templates use, with Go's error strings
/// for missing, extra and mismatched arguments.
pub(crate) fn sprintf(format: &str, args: &[Value], st: &dyn Stringer) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut argi = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        // flags
        while let Some(&c) = chars.peek() {
            match c {
                '+' => f.plus = true,
                '-' => f.minus = true,
                '#' => f.sharp = true,
                ' ' => f.space = true,
                '0' => f.zero = true,
                _ => break,
            }
            chars.next();
        }
        // width
        if chars.peek() == Some(&'*') {
            chars.next();
            if let Some(Value::Int(w)) = args.get(argi)
                && !too_large(*w)
            {
                if *w < 0 {
                    f.minus = true;
                }
                f.width = Some(w.unsigned_abs() as usize);
            } else {
                out.push_str("%!(BADWIDTH)");
            }
            argi += 1;
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_digit() {
                    w.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            if !w.is_empty() {
                match w.parse::<i64>() {
                    Ok(n) if !too_large(n) => f.width = Some(n as usize),
                    _ => out.push_str("%!(BADWIDTH)"),
                }
            }
        }
        // precision
        if chars.peek() == Some(&'.') {
            chars.next();
            if chars.peek() == Some(&'*') {
                chars.next();
                match args.get(argi) {
                    Some(Value::Int(p)) if *p >= 0 && !too_large(*p) => {
                        f.prec = Some(*p as usize);
                    }
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let mut p = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_digit() {
                        p.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                match p.parse::<i64>() {
                    Ok(n) if !too_large(n) => f.prec = Some(n as usize),
                    Err(_) if p.is_empty() => f.prec = Some(0),
                    _ => out.push_str("%!(BADPREC)"),
                }
            }
        }
        if f.minus {
            f.zero = false;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        if verb == 'v' && f.plus {
            f.plus = false;
            f.plus_v = true;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        if verb == 'T' {
            let t = if arg.is_nil() {
                "<nil>".to_string()
            } else {
                arg.type_name()
            };
            out.push_str(&pad(t, &f, false));
            continue;
        }
        let known = matches!(
            verb,
            'v' | 's'
                | 'd'
                | 'f'
                | 'F'
                | 'e'
                | 'E'
                | 'g'
                | 'G'
                | 'q'
                | 'x'
                | 'X'
                | 't'
                | 'c'
                | 'o'
                | 'O'
                | 'b'
                | 'U'
        );
        if !known {
            out.push_str(&bad_verb(verb, arg, &f, st));
            continue;
        }
        out.push_str(&fmt_arg(arg, verb, &f, st));
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| match a {
                Value::Nil => "<nil>".to_string(),
                _ => format!("{}={}", a.type_name(), sprint_value(a, st)),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(fmt: &str, args: &[Value]) -> String {
        sprintf(fmt, args, &NoStringer)
    }

    #[test]
    fn float_v_matches_go() {
        assert_eq!(float_v(1e6), "1e+06");
        assert_eq!(float_v(0.1), "0.1");
        assert_eq!(float_v(3.0), "3");
        assert_eq!(float_v(123456.0), "123456");
        assert_eq!(float_v(1234567.0), "1.234567e+06");
        assert_eq!(float_v(0.0001), "0.0001");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(-2.5), "-2.5");
        assert_eq!(float_v(0.0), "0");
        assert_eq!(float_v(f64::INFINITY), "+Inf");
        assert_eq!(float_v(f64::NAN), "NaN");
        assert_eq!(float_v(1e21), "1e+21");
    }

    #[test]
    fn printf_floats() {
        assert_eq!(pf("%.4g", &[Value::Float(1234.5678)]), "1235");
        assert_eq!(pf("%.4g", &[Value::Float(12345.678)]), "1.235e+04");
        assert_eq!(pf("%.4g", &[Value::Float(0.0)]), "0");
        assert_eq!(pf("%.4g", &[Value::Float(1.0)]), "1");
        assert_eq!(pf("%.4g", &[Value::Float(0.000123456)]), "0.0001235");
        assert_eq!(pf("%.2f", &[Value::Float(1.23456)]), "1.23");
        assert_eq!(pf("%f", &[Value::Float(1.5)]), "1.500000");
        assert_eq!(pf("%e", &[Value::Float(1234.5)]), "1.234500e+03");
        assert_eq!(pf("%g", &[Value::Float(100000000.0)]), "1e+08");
        assert_eq!(pf("%8.3f|", &[Value::Float(-1.23456)]), "  -1.235|");
        assert_eq!(pf("%-8.2f|", &[Value::Float(2.0)]), "2.00    |");
        assert_eq!(pf("%08.2f", &[Value::Float(-2.0)]), "-0002.00");
        assert_eq!(pf("%+.1f", &[Value::Float(2.0)]), "+2.0");
    }

    #[test]
    fn printf_rounding_and_flags_like_go() {
        // Go rounds the exact binary value, ties to even.
        assert_eq!(
            pf(
                "%.0f %.0f %.0f",
                &[Value::Float(0.5), Value::Float(1.5), Value::Float(2.5)]
            ),
            "0 2 2"
        );
        assert_eq!(pf("%.2f", &[Value::Float(1.005)]), "1.00");
        assert_eq!(pf("%e", &[Value::Float(0.0)]), "0.000000e+00");
        assert_eq!(pf("%g", &[Value::Float(1e-7)]), "1e-07");
        assert_eq!(pf("%x", &[Value::Int(-255)]), "-ff");
        assert_eq!(pf("%08.3f", &[Value::Float(-1.5)]), "-001.500");
        assert_eq!(pf("%+d % d", &[Value::Int(5), Value::Int(5)]), "+5  5");
        assert_eq!(
            pf("%05s|%-5d|", &[Value::from("ab"), Value::Int(3)]),
            "000ab|3    |"
        );
        assert_eq!(
            pf("%s", &[Value::list([1i64, 2])]),
            "[%!s(int=1) %!s(int=2)]"
        );
        assert_eq!(pf("%q %U", &[Value::Int(65), Value::Int(65)]), "'A' U+0041");
        assert_eq!(pf("%6.2f%%", &[Value::Float(99.5)]), " 99.50%");
        assert_eq!(pf("%3s|", &[Value::from("é")]), "  é|");
    }

    #[test]
    fn printf_ints_strings() {
        assert_eq!(pf("%d", &[Value::Int(42)]), "42");
        assert_eq!(
            pf(
                "%5d|%-5d|%05d",
                &[Value::Int(42), Value::Int(42), Value::Int(-42)]
            ),
            "   42|42   |-0042"
        );
        assert_eq!(
            pf(
                "%x %X %o %b",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5)
                ]
            ),
            "ff FF 10 101"
        );
        assert_eq!(
            pf("%s=%q", &[Value::from("a"), Value::from("b\"c")]),
            "a=\"b\\\"c\""
        );
        assert_eq!(pf("%t", &[Value::Bool(true)]), "true");
        assert_eq!(pf("%d%%", &[Value::Int(5)]), "5%");
        assert_eq!(pf("%x", &[Value::from("hi")]), "6869");
        assert_eq!(pf("%.2s", &[Value::from("hello")]), "he");
        assert_eq!(pf("%c", &[Value::Int(65)]), "A");
    }

    #[test]
    fn printf_errors_like_go() {
        assert_eq!(pf("%d", &[]), "%!d(MISSING)");
        assert_eq!(pf("%d", &[Value::from("x")]), "%!d(string=x)");
        assert_eq!(pf("%s", &[Value::Int(5)]), "%!s(int=5)");
        assert_eq!(pf("x", &[Value::Int(5)]), "x%!(EXTRA int=5)");
        assert_eq!(pf("%z", &[Value::Int(5)]), "%!z(int=5)");
        assert_eq!(pf("%2000000d", &[Value::Int(5)]), "%!(BADWIDTH)5");
        assert_eq!(pf("%s", &[Value::Nil]), "%!s(<nil>)");
        // Recorded from Loki: the operand keeps the width and flags.
        assert_eq!(pf("%05d", &[Value::from("200")]), "%!d(string=00200)");
    }

    #[test]
    fn sprint_spacing() {
        let st = NoStringer;
        assert_eq!(sprint(&[Value::Int(1), Value::Int(2)], &st), "1 2");
        assert_eq!(sprint(&[Value::from("a"), Value::Int(2)], &st), "a2");
        assert_eq!(sprintln(&[Value::from("a"), Value::Int(2)], &st), "a 2\n");
        assert_eq!(
            sprint_value(&Value::string_map([("b", "2"), ("a", "1")]), &st),
            "map[a:1 b:2]"
        );
        assert_eq!(sprint_value(&Value::list([1i64, 2]), &st), "[1 2]");
    }
}
