//! Loki's `line_format`/`label_format` functions (`pkg/logql/log/fmt.go`): its own helpers, the
//! legacy Go `strings` names, and the sprig subset it registers, with sprig's loose number
//! conversions (label values are strings, so `add .a .b` must parse them).

use super::alertmanager::{b64_decode, b64_encode};
use super::prometheus::parse_go_float;
use super::strings::{go_strings_title, re_replace_all, re_replace_all_literal, trim_cutset};
use super::{Arity, CallCtx, FuncMap, arg_int, arg_str, arg_time, compile_regex, want_args};
use crate::escape::{query_escape, url_unescape};
use crate::gotime::{Time, parse_go_duration, parse_layout};
use crate::value::{MapKind, Value};
use crate::zoneinfo::load_location;

/// sprig's `toInt64` (spf13/cast): numbers truncate, strings parse (base prefixes allowed,
/// a trailing `.0…` tolerated), anything else is 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Duration(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) | Value::Html(s) => {
            let t = s.trim();
            // cast trims a zero decimal part ("12.00" -> "12").
            let t = match t.split_once('.') {
                Some((i, f)) if !f.is_empty() && f.bytes().all(|b| b == b'0') => i,
                _ => t,
            };
            parse_int_base0(t).unwrap_or(0)
        }
        _ => 0,
    }
}

fn parse_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = body.replace('_', "");
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else {
        lower.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// sprig's `toFloat64` (spf13/cast): strings parse, failures are 0.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Duration(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) | Value::Html(s) => parse_go_float(s.trim()).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A small exact decimal (`m × 10^-scale`) for sprig's `addf`/`subf`/`mulf`, which use
/// shopspring/decimal so `addf 1.1 2.2` is `3.3`, not `3.3000000000000003`.
#[derive(Clone, Copy)]
struct Dec {
    m: i128,
    scale: u32,
}

impl Dec {
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let frac_len = i32::try_from(digits.len()).ok()? - 1;
        let mut m: i128 = digits.parse().ok()?;
        let mut scale = frac_len - exp;
        if scale < 0 {
            m = m.checked_mul(10i128.checked_pow(u32::try_from(-scale).ok()?)?)?;
            scale = 0;
        }
        if scale > 30 {
            return None;
        }
        Some(Dec {
            m: if neg { -m } else { m },
            scale: u32::try_from(scale).ok()?,
        })
    }

    fn rescale(self, scale: u32) -> Option<Dec> {
        let k = 10i128.checked_pow(scale - self.scale)?;
        Some(Dec {
            m: self.m.checked_mul(k)?,
            scale,
        })
    }

    fn add(self, o: Dec) -> Option<Dec> {
        let s = self.scale.max(o.scale);
        let (a, b) = (self.rescale(s)?, o.rescale(s)?);
        Some(Dec {
            m: a.m.checked_add(b.m)?,
            scale: s,
        })
    }

    fn mul(self, o: Dec) -> Option<Dec> {
        Some(Dec {
            m: self.m.checked_mul(o.m)?,
            scale: self.scale + o.scale,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e-{}", self.m, self.scale)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

fn dec_fold(init: f64, xs: &[f64], op: char) -> f64 {
    let exact = (|| {
        let mut acc = Dec::from_f64(init)?;
        for x in xs {
            let d = Dec::from_f64(*x)?;
            acc = match op {
                '+' => acc.add(d)?,
                '-' => acc.add(Dec {
                    m: -d.m,
                    scale: d.scale,
                })?,
                _ => acc.mul(d)?,
            };
        }
        Some(acc.to_f64())
    })();
    exact.unwrap_or_else(|| {
        xs.iter().fold(init, |a, x| match op {
            '+' => a + x,
            '-' => a - x,
            _ => a * x,
        })
    })
}

/// sprig's `empty`, used by `default`.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Map(m) if m.kind == MapKind::Struct => false,
        Value::Time(_) => false,
        other => !other.is_true(),
    }
}

/// go-humanize's `ParseBytes` (`"1 KB"` = 1000, `"1 KiB"` = 1024).
pub(crate) fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim_start();
    let n = t
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.' || *b == b',')
        .count();
    let num: String = t[..n].chars().filter(|c| *c != ',').collect();
    let f = parse_go_float(&num)?;
    let unit = t[n..].trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "p" | "pb" => 1e15,
        "e" | "eb" => 1e18,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024f64.powi(3),
        "ti" | "tib" => 1024f64.powi(4),
        "pi" | "pib" => 1024f64.powi(5),
        "ei" | "eib" => 1024f64.powi(6),
        _ => return Err(format!("unhandled size name: {unit}")),
    };
    let v = f * mult;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

/// Go's string slicing `s[lo:hi]` on bytes, with the runtime's panic text on bad bounds.
fn go_slice(s: &str, lo: Option<i64>, hi: Option<i64>) -> Result<String, String> {
    let len = s.len() as i64;
    let end = hi.unwrap_or(len);
    if let Some(h) = hi {
        if h < 0 {
            return Err(format!("runtime error: slice bounds out of range [:{h}]"));
        }
        if h > len {
            return Err(format!(
                "runtime error: slice bounds out of range [:{h}] with length {len}"
            ));
        }
    }
    let start = lo.unwrap_or(0);
    if start < 0 || start > end {
        return Err(match hi {
            Some(h) => format!("runtime error: slice bounds out of range [{start}:{h}]"),
            None => format!("runtime error: slice bounds out of range [{start}:{len}]"),
        });
    }
    Ok(String::from_utf8_lossy(&s.as_bytes()[start as usize..end as usize]).into_owned())
}

/// sprig's `trunc` (bytes).
fn trunc(c: i64, s: &str) -> Result<String, String> {
    let l = s.len() as i64;
    if c < 0 && l + c > 0 {
        return go_slice(s, Some(l + c), None);
    }
    if c >= 0 && l > c {
        return go_slice(s, None, Some(c));
    }
    Ok(s.to_string())
}

/// sprig's `substr` (bytes), which panics on bounds Go rejects.
fn substring(start: i64, end: i64, s: &str) -> Result<String, String> {
    if start < 0 {
        return go_slice(s, None, Some(end));
    }
    if end < 0 || end > s.len() as i64 {
        return go_slice(s, Some(start), None);
    }
    go_slice(s, Some(start), Some(end))
}

/// Largest padding the padding functions will produce, so a template cannot make one line
/// allocate gigabytes.
const MAX_PAD: i64 = 1 << 24;

fn pad_count(n: i64) -> Result<usize, String> {
    if n > MAX_PAD {
        return Err(format!("padding of {n} exceeds the limit of {MAX_PAD}"));
    }
    Ok(n.max(0) as usize)
}

fn align_left(count: i64, src: &str) -> String {
    let runes: Vec<char> = src.chars().collect();
    let l = runes.len() as i64;
    if count < 0 || count == l {
        return src.to_string();
    }
    if count > l {
        return format!("{src}{}", " ".repeat((count - l) as usize));
    }
    runes[..count as usize].iter().collect()
}

fn align_right(count: i64, src: &str) -> String {
    let runes: Vec<char> = src.chars().collect();
    let l = runes.len() as i64;
    if count < 0 || count == l {
        return src.to_string();
    }
    if count > l {
        return format!("{}{src}", " ".repeat((count - l) as usize));
    }
    runes[(l - count) as usize..].iter().collect()
}

/// Loki's `unixToTime`: the epoch's length picks its unit.
fn unix_to_time(epoch: &str) -> Result<Time, String> {
    let i: i64 = epoch.parse().map_err(|_| {
        format!(
            "unable to parse time '{epoch}': strconv.ParseInt: parsing {epoch:?}: invalid syntax"
        )
    })?;
    Ok(match epoch.len() {
        5 => Time::from_unix(i.saturating_mul(86_400), 0),
        10 => Time::from_unix(i, 0),
        13 => Time::from_unix_nanos(i128::from(i) * 1_000_000),
        16 => Time::from_unix_nanos(i128::from(i) * 1_000),
        19 => Time::from_unix_nanos(i128::from(i)),
        l => {
            return Err(format!(
                "unable to parse time '{epoch}' length '{l}' did not match any expected formats"
            ));
        }
    })
}

/// sprig's `date` argument: times, or Unix seconds as ints; anything else is "now".
fn date_arg(c: &CallCtx<'_>, v: &Value) -> Time {
    match v {
        Value::Time(t) => t.clone(),
        Value::Int(i) => Time::from_unix(*i, 0),
        _ => c.now(),
    }
}

fn str1(name: &str, a: &[Value], f: impl Fn(&str) -> String) -> Result<Value, String> {
    want_args(name, a, 1)?;
    Ok(Value::String(f(arg_str(a, 0)?)))
}

fn str2(name: &str, a: &[Value], f: impl Fn(&str, &str) -> String) -> Result<Value, String> {
    want_args(name, a, 2)?;
    Ok(Value::String(f(arg_str(a, 0)?, arg_str(a, 1)?)))
}

/// Loki's template functions for `line_format` and `label_format`. `__line__` and
/// `__timestamp__` read [`crate::Env::line`] and [`crate::Env::timestamp_nanos`]; `now` and
/// `date` read [`crate::Env::now`]. "Local" time is UTC.
pub fn loki_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert_n("__line__", 0, |c: &CallCtx<'_>, _a| {
        Ok(Value::String(c.env.line.unwrap_or_default().to_string()))
    });
    m.insert_n("__timestamp__", 0, |c: &CallCtx<'_>, _a| {
        Ok(Value::Time(Time::from_unix_nanos(i128::from(
            c.env.timestamp_nanos.unwrap_or(0),
        ))))
    });
    // Legacy Go strings names.
    m.insert_n("ToLower", 1, |_, a| str1("ToLower", a, str::to_lowercase));
    m.insert_n("ToUpper", 1, |_, a| str1("ToUpper", a, str::to_uppercase));
    m.insert_n("Replace", 4, |_, a| {
        let (s, old, new) = (arg_str(a, 0)?, arg_str(a, 1)?, arg_str(a, 2)?);
        let n = arg_int(a, 3)?;
        Ok(Value::String(if n < 0 {
            s.replace(old, new)
        } else {
            s.replacen(old, new, n as usize)
        }))
    });
    m.insert_n("Trim", 2, |_, a| {
        str2("Trim", a, |s, c| trim_cutset(s, c).to_string())
    });
    m.insert_n("TrimLeft", 2, |_, a| {
        str2("TrimLeft", a, |s, c| {
            s.trim_start_matches(|x| c.contains(x)).to_string()
        })
    });
    m.insert_n("TrimRight", 2, |_, a| {
        str2("TrimRight", a, |s, c| {
            s.trim_end_matches(|x| c.contains(x)).to_string()
        })
    });
    m.insert_n("TrimPrefix", 2, |_, a| {
        str2("TrimPrefix", a, |s, p| {
            s.strip_prefix(p).unwrap_or(s).to_string()
        })
    });
    m.insert_n("TrimSuffix", 2, |_, a| {
        str2("TrimSuffix", a, |s, p| {
            s.strip_suffix(p).unwrap_or(s).to_string()
        })
    });
    m.insert_n("TrimSpace", 1, |_, a| {
        str1("TrimSpace", a, |s| s.trim().to_string())
    });
    // Loki's own.
    m.insert_n("regexReplaceAll", 3, |_, a| {
        Ok(Value::String(re_replace_all(
            arg_str(a, 0)?,
            arg_str(a, 2)?,
            arg_str(a, 1)?,
        )?))
    });
    m.insert_n("regexReplaceAllLiteral", 3, |_, a| {
        Ok(Value::String(re_replace_all_literal(
            arg_str(a, 0)?,
            arg_str(a, 2)?,
            arg_str(a, 1)?,
        )?))
    });
    m.insert_n("count", 2, |_, a| {
        let re = compile_regex(arg_str(a, 0)?)?;
        Ok(Value::from(re.find_iter(arg_str(a, 1)?).count()))
    });
    m.insert_n("urldecode", 1, |_, a| {
        Ok(Value::String(url_unescape(arg_str(a, 0)?, true)?))
    });
    m.insert_n("urlencode", 1, |_, a| str1("urlencode", a, query_escape));
    m.insert_n("bytes", 1, |_, a| {
        // Loki converts go-humanize's uint64 to float64.
        Ok(Value::Float(parse_bytes(arg_str(a, 0)?)? as f64))
    });
    for name in ["duration", "duration_seconds"] {
        m.insert(name, move |_, a| {
            want_args(name, a, 1)?;
            let d = parse_go_duration(arg_str(a, 0)?)?;
            Ok(Value::Float(d as f64 / 1e9))
        });
    }
    m.insert_n("unixEpochMillis", 1, |_, a| {
        Ok(Value::String(
            (arg_time(a, 0)?.unix_nanos() / 1_000_000).to_string(),
        ))
    });
    m.insert_n("unixEpochNanos", 1, |_, a| {
        Ok(Value::String(arg_time(a, 0)?.unix_nanos().to_string()))
    });
    m.insert_n("unixToTime", 1, |_, a| {
        unix_to_time(arg_str(a, 0)?).map(Value::Time)
    });
    m.insert_n("toDateInZone", 3, |_, a| {
        let loc =
            load_location(arg_str(a, 1)?).unwrap_or_else(|_| crate::zoneinfo::Location::utc());
        let (layout, s) = (arg_str(a, 0)?, arg_str(a, 2)?);
        Ok(Value::Time(parse_in_location(layout, s, &loc)))
    });
    m.insert_n("alignLeft", 2, |_, a| {
        let n = arg_int(a, 0)?;
        pad_count(n)?;
        Ok(Value::String(align_left(n, arg_str(a, 1)?)))
    });
    m.insert_n("alignRight", 2, |_, a| {
        let n = arg_int(a, 0)?;
        pad_count(n)?;
        Ok(Value::String(align_right(n, arg_str(a, 1)?)))
    });
    // sprig subset.
    m.insert_n("b64enc", 1, |_, a| {
        str1("b64enc", a, |s| b64_encode(s.as_bytes(), false))
    });
    m.insert_n("b64dec", 1, |_, a| {
        str1("b64dec", a, |s| match b64_decode(s, false) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        })
    });
    m.insert_n("lower", 1, |_, a| str1("lower", a, str::to_lowercase));
    m.insert_n("upper", 1, |_, a| str1("upper", a, str::to_uppercase));
    m.insert_n("title", 1, |_, a| str1("title", a, go_strings_title));
    m.insert_n("trunc", 2, |_, a| {
        Ok(Value::String(trunc(arg_int(a, 0)?, arg_str(a, 1)?)?))
    });
    m.insert_n("substr", 3, |_, a| {
        Ok(Value::String(substring(
            arg_int(a, 0)?,
            arg_int(a, 1)?,
            arg_str(a, 2)?,
        )?))
    });
    m.insert_n("contains", 2, |_, a| {
        Ok(Value::Bool(arg_str(a, 1)?.contains(arg_str(a, 0)?)))
    });
    m.insert_n("hasPrefix", 2, |_, a| {
        Ok(Value::Bool(arg_str(a, 1)?.starts_with(arg_str(a, 0)?)))
    });
    m.insert_n("hasSuffix", 2, |_, a| {
        Ok(Value::Bool(arg_str(a, 1)?.ends_with(arg_str(a, 0)?)))
    });
    m.insert_n("indent", 2, |_, a| {
        let pad = " ".repeat(pad_count(arg_int(a, 0)?)?);
        Ok(Value::String(format!(
            "{pad}{}",
            arg_str(a, 1)?.replace('\n', &format!("\n{pad}"))
        )))
    });
    m.insert_n("nindent", 2, |_, a| {
        let pad = " ".repeat(pad_count(arg_int(a, 0)?)?);
        Ok(Value::String(format!(
            "\n{pad}{}",
            arg_str(a, 1)?.replace('\n', &format!("\n{pad}"))
        )))
    });
    m.insert_n("replace", 3, |_, a| {
        Ok(Value::String(
            arg_str(a, 2)?.replace(arg_str(a, 0)?, arg_str(a, 1)?),
        ))
    });
    m.insert_n("repeat", 2, |_, a| {
        let n = arg_int(a, 0)?;
        let s = arg_str(a, 1)?;
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        if (n as u128) * (s.len() as u128) > 1 << 24 {
            return Err("strings: Repeat output length overflow".into());
        }
        Ok(Value::String(s.repeat(n as usize)))
    });
    m.insert_n("trim", 1, |_, a| str1("trim", a, |s| s.trim().to_string()));
    m.insert_n("trimAll", 2, |_, a| {
        str2("trimAll", a, |c, s| trim_cutset(s, c).to_string())
    });
    m.insert_n("trimSuffix", 2, |_, a| {
        str2("trimSuffix", a, |p, s| {
            s.strip_suffix(p).unwrap_or(s).to_string()
        })
    });
    m.insert_n("trimPrefix", 2, |_, a| {
        str2("trimPrefix", a, |p, s| {
            s.strip_prefix(p).unwrap_or(s).to_string()
        })
    });
    m.insert_n("int", 1, |_, a| Ok(Value::Int(to_int64(&a[0]))));
    m.insert_n("float64", 1, |_, a| Ok(Value::Float(to_float64(&a[0]))));
    m.insert("add", |_, a| {
        Ok(Value::Int(
            a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
        ))
    });
    m.insert_n("sub", 2, |_, a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    m.insert("mul", |_, a| match a {
        [first, rest @ ..] => Ok(Value::Int(
            rest.iter()
                .map(to_int64)
                .fold(to_int64(first), i64::wrapping_mul),
        )),
        [] => Err("wrong number of args for mul: want at least 1 got 0".into()),
    });
    m.insert_n("div", 2, |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_div(d)))
    });
    m.insert_n("mod", 2, |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_rem(d)))
    });
    m.insert("addf", |_, a| {
        let xs: Vec<f64> = a.iter().map(to_float64).collect();
        Ok(Value::Float(dec_fold(0.0, &xs, '+')))
    });
    m.insert("subf", |_, a| match a {
        [first, rest @ ..] => {
            let xs: Vec<f64> = rest.iter().map(to_float64).collect();
            Ok(Value::Float(dec_fold(to_float64(first), &xs, '-')))
        }
        [] => Err("wrong number of args for subf: want at least 1 got 0".into()),
    });
    m.insert("mulf", |_, a| match a {
        [first, rest @ ..] => {
            let xs: Vec<f64> = rest.iter().map(to_float64).collect();
            Ok(Value::Float(dec_fold(to_float64(first), &xs, '*')))
        }
        [] => Err("wrong number of args for mulf: want at least 1 got 0".into()),
    });
    m.insert("divf", |_, a| match a {
        [first, rest @ ..] => {
            let mut acc = to_float64(first);
            for x in rest {
                let d = to_float64(x);
                if d == 0.0 {
                    return Err("decimal division by 0".into());
                }
                acc /= d;
            }
            Ok(Value::Float(acc))
        }
        [] => Err("wrong number of args for divf: want at least 1 got 0".into()),
    });
    m.insert("max", |_, a| match a {
        [first, rest @ ..] => Ok(Value::Int(
            rest.iter().map(to_int64).fold(to_int64(first), i64::max),
        )),
        [] => Err("wrong number of args for max: want at least 1 got 0".into()),
    });
    m.insert("min", |_, a| match a {
        [first, rest @ ..] => Ok(Value::Int(
            rest.iter().map(to_int64).fold(to_int64(first), i64::min),
        )),
        [] => Err("wrong number of args for min: want at least 1 got 0".into()),
    });
    m.insert("maxf", |_, a| match a {
        [first, rest @ ..] => Ok(Value::Float(
            rest.iter()
                .map(to_float64)
                .fold(to_float64(first), f64::max),
        )),
        [] => Err("wrong number of args for maxf: want at least 1 got 0".into()),
    });
    m.insert("minf", |_, a| match a {
        [first, rest @ ..] => Ok(Value::Float(
            rest.iter()
                .map(to_float64)
                .fold(to_float64(first), f64::min),
        )),
        [] => Err("wrong number of args for minf: want at least 1 got 0".into()),
    });
    m.insert_n("ceil", 1, |_, a| Ok(Value::Float(to_float64(&a[0]).ceil())));
    m.insert_n("floor", 1, |_, a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    m.insert("round", |_, a| {
        if a.len() < 2 || a.len() > 3 {
            return Err(format!(
                "wrong number of args for round: want 2 got {}",
                a.len()
            ));
        }
        let round_on = a.get(2).map_or(0.5, to_float64);
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(arg_int(a, 1)? as f64);
        let digit = pow * val;
        let frac = digit.fract();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    m.insert_n("fromJson", 1, |_, a| {
        Ok(serde_json::from_str::<serde_json::Value>(arg_str(a, 0)?)
            .map(Value::from)
            .unwrap_or(Value::Nil))
    });
    m.insert_n("date", 2, |c: &CallCtx<'_>, a| {
        Ok(Value::String(
            date_arg(c, &a[1]).to_utc().format(arg_str(a, 0)?),
        ))
    });
    m.insert_n("toDate", 2, |_, a| {
        Ok(Value::Time(
            parse_layout(arg_str(a, 0)?, arg_str(a, 1)?, 0, "UTC").unwrap_or_else(|_| Time::zero()),
        ))
    });
    m.insert_n("now", 0, |c: &CallCtx<'_>, _a| Ok(Value::Time(c.now())));
    m.insert_n("unixEpoch", 1, |_, a| {
        Ok(Value::String(arg_time(a, 0)?.unix().to_string()))
    });
    m.insert("default", |_, a| match a {
        [d] => Ok(d.clone()),
        [d, given, ..] => Ok(if is_empty(given) {
            d.clone()
        } else {
            given.clone()
        }),
        [] => Err("wrong number of args for default: want at least 1 got 0".into()),
    });
    for (name, fixed) in [
        ("add", 0),
        ("mul", 1),
        ("addf", 0),
        ("subf", 1),
        ("mulf", 1),
        ("divf", 1),
        ("max", 1),
        ("min", 1),
        ("maxf", 1),
        ("minf", 1),
        ("round", 2),
        ("default", 1),
    ] {
        m.set_arity(name, Arity::AtLeast(fixed));
    }
    m
}

/// Go's `time.ParseInLocation`: fields are read as wall time in `loc`; the zero time on error.
fn parse_in_location(layout: &str, s: &str, loc: &crate::zoneinfo::Location) -> Time {
    let Ok(naive) = parse_layout(layout, s, 0, "UTC") else {
        return Time::zero();
    };
    if naive.zone() != "UTC" || naive.datetime().offset().local_minus_utc() != 0 {
        // The value carried its own offset.
        return naive;
    }
    // Wall time in loc: find the offset in effect (one refinement handles DST edges).
    let wall = naive.unix();
    let (off1, _) = loc.lookup(wall);
    let (off2, _) = loc.lookup(wall - i64::from(off1));
    let utc = Time::from_unix_nanos(naive.unix_nanos() - i128::from(off2) * 1_000_000_000);
    loc.apply(&utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sprig_number_conversions() {
        assert_eq!(to_int64(&Value::from("42")), 42);
        assert_eq!(to_int64(&Value::from("12.00")), 12);
        assert_eq!(to_int64(&Value::from("0x10")), 16);
        assert_eq!(to_int64(&Value::from("abc")), 0);
        assert_eq!(to_int64(&Value::Float(3.9)), 3);
        assert_eq!(to_float64(&Value::from("2.5")), 2.5);
    }

    #[test]
    fn decimal_ops() {
        assert_eq!(dec_fold(0.0, &[1.1, 2.2], '+'), 3.3);
        assert_eq!(dec_fold(3.3, &[1.1], '-'), 2.2);
        assert_eq!(dec_fold(1.1, &[3.0], '*'), 3.3);
    }

    #[test]
    fn bytes_and_align() {
        assert_eq!(parse_bytes("42").unwrap(), 42);
        assert_eq!(parse_bytes("1 KB").unwrap(), 1000);
        assert_eq!(parse_bytes("1.5KiB").unwrap(), 1536);
        assert!(parse_bytes("1 XB").is_err());
        assert_eq!(align_left(5, "abc"), "abc  ");
        assert_eq!(align_left(2, "abc"), "ab");
        assert_eq!(align_right(5, "abc"), "  abc");
        assert_eq!(align_right(2, "abc"), "bc");
        assert_eq!(trunc(-2, "hello").unwrap(), "lo");
        assert_eq!(trunc(4, "hello").unwrap(), "hell");
        assert_eq!(substring(1, 3, "hello").unwrap(), "el");
        assert_eq!(substring(0, 99, "hello").unwrap(), "hello");
        assert_eq!(
            substring(1, 3, "").unwrap_err(),
            "runtime error: slice bounds out of range [1:0]"
        );
        assert_eq!(
            substring(-1, 9, "abc").unwrap_err(),
            "runtime error: slice bounds out of range [:9] with length 3"
        );
    }
}
