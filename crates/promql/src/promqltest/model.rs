//! Parsing of test files into commands.

use std::sync::Arc;

use lgtm_common::labels::Labels;
use regex::Regex;

use crate::histogram::{CounterResetHint, FloatHistogram};
use crate::lexer::parse_duration_ms;

use super::{ITEM_RE, parse_series_labels, stale};

/// One value of a sequence.
#[derive(Clone, Debug, PartialEq)]
pub enum SeqValue {
    /// `_`: no sample.
    Omitted,
    /// A float (including the staleness marker).
    Float(f64),
    /// A native histogram.
    Hist(Arc<FloatHistogram>),
}

/// `load` / `load_with_nhcb`.
#[derive(Clone, Debug)]
pub struct Load {
    /// Interval between values.
    pub step_ms: i64,
    /// Also convert classic histograms to NHCB.
    pub with_nhcb: bool,
    /// Series and their values.
    pub series: Vec<(Labels, Vec<SeqValue>)>,
    /// Per series (same index), the start-timestamp offsets from `@st` lines (relative to
    /// each sample's time; empty when the series has none).
    pub st_offsets: Vec<Vec<Option<i64>>>,
}

/// Kind of an `expect` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectKind {
    /// `expect fail`
    Fail,
    /// `expect warn`
    Warn,
    /// `expect info`
    Info,
    /// `expect no_warn`
    NoWarn,
    /// `expect no_info`
    NoInfo,
    /// `expect ordered`
    Ordered,
}

/// An `expect` line.
#[derive(Clone, Debug)]
pub struct ExpectCmd {
    /// Kind.
    pub kind: ExpectKind,
    /// `msg:` text.
    pub msg: Option<String>,
    /// `regex:` pattern.
    pub regex: Option<Regex>,
}

impl ExpectCmd {
    /// True when the message matches (or nothing specific is expected).
    pub fn matches(&self, s: &str) -> bool {
        match (&self.msg, &self.regex) {
            (_, Some(r)) => r.is_match(s),
            (Some(m), None) => m == s,
            (None, None) => true,
        }
    }

    /// The expectation as text.
    pub fn text(&self) -> String {
        match (&self.msg, &self.regex) {
            (_, Some(r)) => r.as_str().to_owned(),
            (Some(m), None) => m.clone(),
            (None, None) => String::new(),
        }
    }
}

/// One expected result line.
#[derive(Clone, Debug)]
pub struct ExpectedSeries {
    /// Labels.
    pub labels: Labels,
    /// Values (one for instant queries).
    pub values: Vec<SeqValue>,
    /// 1-based position among the result lines (for `ordered`).
    pub pos: usize,
}

/// An `eval` block.
#[derive(Clone, Debug, Default)]
pub struct Eval {
    /// Line of the `eval` command (1-based).
    pub line: usize,
    /// Expression text.
    pub expr: String,
    /// Instant query (else range).
    pub instant: bool,
    /// Evaluation time (instant).
    pub eval_t: i64,
    /// Range start (or `expect range vector` start).
    pub start: i64,
    /// Range end.
    pub end: i64,
    /// Range step.
    pub step: i64,
    /// `eval_fail`.
    pub legacy_fail: bool,
    /// `eval_warn`.
    pub legacy_warn: bool,
    /// `eval_info`.
    pub legacy_info: bool,
    /// `eval_ordered`.
    pub legacy_ordered: bool,
    /// `expect` lines.
    pub expects: Vec<ExpectCmd>,
    /// Expected series.
    pub expected: Vec<ExpectedSeries>,
    /// Expected scalar.
    pub expect_scalar: Option<f64>,
    /// Expected string.
    pub expected_string: Option<String>,
    /// Not re-checked as a range query.
    pub exclude_from_range: bool,
    /// The block could not be understood.
    pub parse_error: Option<String>,
}

impl Eval {
    /// The query must fail.
    pub fn is_fail(&self) -> bool {
        self.legacy_fail || self.expects.iter().any(|x| x.kind == ExpectKind::Fail)
    }

    /// Result order matters.
    pub fn is_ordered(&self) -> bool {
        self.legacy_ordered || self.expects.iter().any(|x| x.kind == ExpectKind::Ordered)
    }
}

/// A command of a test file.
#[derive(Clone, Debug)]
pub enum Command {
    /// `load`
    Load(Load),
    /// `clear`
    Clear,
    /// `eval`
    Eval(Eval),
}

/// A parsed test file.
#[derive(Clone, Debug, Default)]
pub struct TestFile {
    /// Commands in order.
    pub commands: Vec<Command>,
}

fn parse_time(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    if let Some(rest) = s.strip_prefix('-') {
        return parse_time(rest).map(|v| -v);
    }
    parse_duration_ms(s).or_else(|| s.parse::<f64>().ok().map(|v| (v * 1000.0) as i64))
}

fn parse_number(s: &str) -> Option<f64> {
    if let Some(h) = s.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    match s {
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Splits a series line into its description and the value part.
fn split_series(line: &str) -> (&str, &str) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
        i += 1;
    }
    if i < b.len() && b[i] == b'{' {
        let mut in_q: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            match in_q {
                Some(q) => {
                    if c == b'\\' {
                        i += 1;
                    } else if c == q {
                        in_q = None;
                    }
                }
                None => {
                    if c == b'"' || c == b'\'' || c == b'`' {
                        in_q = Some(c);
                    } else if c == b'}' {
                        i += 1;
                        break;
                    }
                }
            }
            i += 1;
        }
    }
    (line[..i].trim(), line[i..].trim())
}

/// Splits values at whitespace, keeping `{{...}}` groups together.
fn split_values(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' && chars.get(i + 1) == Some(&'{') {
            depth += 1;
            cur.push_str("{{");
            i += 2;
            continue;
        }
        if c == '}' && chars.get(i + 1) == Some(&'}') && depth > 0 {
            depth -= 1;
            cur.push_str("}}");
            i += 2;
            continue;
        }
        if c.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_list(v: &str) -> Result<Vec<f64>, String> {
    let inner = v
        .trim()
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .ok_or_else(|| format!("bad list {v}"))?;
    inner
        .split_whitespace()
        .map(|x| parse_number(x).ok_or_else(|| format!("bad number {x}")))
        .collect()
}

/// Parses the inside of `{{ ... }}`.
fn parse_histogram(body: &str) -> Result<FloatHistogram, String> {
    let mut h = FloatHistogram::default();
    let mut pos_b: Vec<f64> = Vec::new();
    let mut neg_b: Vec<f64> = Vec::new();
    let (mut off, mut noff) = (0i32, 0i32);
    // Tokens: key:value, lists may contain spaces.
    let mut rest = body.trim();
    while !rest.is_empty() {
        let colon = rest
            .find(':')
            .ok_or_else(|| format!("bad histogram field in {body}"))?;
        let key = rest[..colon].trim();
        rest = rest[colon + 1..].trim_start();
        let val;
        if rest.starts_with('[') {
            let end = rest.find(']').ok_or("unterminated list")?;
            val = &rest[..=end];
            rest = rest[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            val = &rest[..end];
            rest = rest[end..].trim_start();
        }
        let num = || parse_number(val).ok_or_else(|| format!("bad value {val} for {key}"));
        match key {
            "schema" => h.schema = num()? as i32,
            "sum" => h.sum = num()?,
            "count" => h.count = num()?,
            "z_bucket" => h.zero_count = num()?,
            "z_bucket_w" => h.zero_threshold = num()?,
            "buckets" => pos_b = parse_list(val)?,
            "n_buckets" => neg_b = parse_list(val)?,
            "offset" => off = num()? as i32,
            "n_offset" => noff = num()? as i32,
            "custom_values" => h.custom_values = parse_list(val)?,
            "counter_reset_hint" => {
                h.counter_reset_hint = match val {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::Reset,
                    "not_reset" => CounterResetHint::NotReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(format!("bad counter_reset_hint {other}")),
                }
            }
            other => return Err(format!("unknown histogram field {other}")),
        }
    }
    let items: Vec<(i32, f64)> = pos_b
        .iter()
        .enumerate()
        .map(|(i, c)| (off + i as i32, *c))
        .collect();
    h.set_positive(&items);
    let items: Vec<(i32, f64)> = neg_b
        .iter()
        .enumerate()
        .map(|(i, c)| (noff + i as i32, *c))
        .collect();
    h.set_negative(&items);
    Ok(h)
}

fn hist_add_scaled(
    a: &FloatHistogram,
    b: &FloatHistogram,
    k: f64,
) -> Result<FloatHistogram, String> {
    let mut bs = b.clone();
    bs.mul(k);
    let mut r = a.add(&bs).map_err(|e| format!("{e:?}"))?;
    r.counter_reset_hint = a.counter_reset_hint;
    Ok(r)
}

fn parse_item(tok: &str) -> Result<Vec<SeqValue>, String> {
    if tok == "_" {
        return Ok(vec![SeqValue::Omitted]);
    }
    if let Some(n) = tok.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| format!("bad repetition {tok}"))?;
        return Ok(vec![SeqValue::Omitted; n]);
    }
    if tok == "stale" {
        return Ok(vec![SeqValue::Float(stale())]);
    }
    if tok.starts_with("{{") {
        let end = tok.find("}}").ok_or("unterminated histogram")?;
        let first = parse_histogram(&tok[2..end])?;
        let rest = &tok[end + 2..];
        if rest.is_empty() {
            return Ok(vec![SeqValue::Hist(Arc::new(first))]);
        }
        if let Some(n) = rest.strip_prefix('x') {
            let n: usize = n.parse().map_err(|_| format!("bad repetition {tok}"))?;
            return Ok(vec![SeqValue::Hist(Arc::new(first)); n + 1]);
        }
        let sign = if rest.starts_with('+') {
            1.0
        } else if rest.starts_with('-') {
            -1.0
        } else {
            return Err(format!("bad histogram expansion {tok}"));
        };
        let r2 = &rest[1..];
        let r2 = r2.strip_prefix("{{").ok_or("bad histogram expansion")?;
        let end2 = r2.find("}}").ok_or("unterminated histogram")?;
        let inc = parse_histogram(&r2[..end2])?;
        let n: usize = r2[end2 + 2..]
            .strip_prefix('x')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("bad histogram expansion {tok}"))?;
        let mut out = Vec::with_capacity(n + 1);
        for i in 0..=n {
            out.push(SeqValue::Hist(Arc::new(hist_add_scaled(
                &first,
                &inc,
                sign * i as f64,
            )?)));
        }
        return Ok(out);
    }
    let caps = ITEM_RE
        .captures(tok)
        .ok_or_else(|| format!("bad value {tok:?}"))?;
    let a = parse_number(&caps[1]).ok_or_else(|| format!("bad number {tok}"))?;
    let times = caps
        .get(4)
        .map(|m| m.as_str().parse::<usize>().unwrap_or(0));
    match (caps.get(2), caps.get(3), times) {
        (Some(sign), Some(b), Some(n)) => {
            let b = parse_number(b.as_str()).ok_or("bad increment")?;
            let b = if sign.as_str() == "-" { -b } else { b };
            Ok((0..=n).map(|i| SeqValue::Float(a + b * i as f64)).collect())
        }
        (None, None, Some(n)) => Ok(vec![SeqValue::Float(a); n + 1]),
        (None, None, None) => Ok(vec![SeqValue::Float(a)]),
        _ => Err(format!("bad value {tok:?}")),
    }
}

fn parse_signed_duration(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if body == "0" {
        0
    } else {
        parse_duration_ms(body)?
    };
    Some(if neg { -v } else { v })
}

/// Parses the sequence of an `@st` line: `_`, `_xN`, `<dur>`, `<dur>xN`, `<dur>+<dur>xN`,
/// `<dur>-<dur>xN` (durations may be signed).
fn parse_st_sequence(s: &str) -> Result<Vec<Option<i64>>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        if let Some(n) = tok.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad repetition {tok}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        let (body, times) = match tok.rfind('x') {
            Some(i) if tok[i + 1..].chars().all(|c| c.is_ascii_digit()) && i + 1 < tok.len() => (
                &tok[..i],
                Some(
                    tok[i + 1..]
                        .parse::<usize>()
                        .map_err(|_| format!("bad repetition {tok}"))?,
                ),
            ),
            _ => (tok, None),
        };
        // Split "<a><op><b>" at the first sign that is not the leading one.
        let split = body
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-');
        let (a, inc) = match split {
            Some((i, c)) => {
                let b = parse_signed_duration(&body[i + 1..])
                    .ok_or_else(|| format!("bad duration in {tok}"))?;
                (&body[..i], Some(if c == '-' { -b } else { b }))
            }
            None => (body, None),
        };
        let a = parse_signed_duration(a).ok_or_else(|| format!("bad duration in {tok}"))?;
        match (inc, times) {
            (Some(b), Some(n)) => out.extend((0..=n as i64).map(|i| Some(a + b * i))),
            (None, Some(n)) => out.extend(std::iter::repeat_n(Some(a), n + 1)),
            (None, None) => out.push(Some(a)),
            (Some(_), None) => return Err(format!("bad start timestamp item {tok}")),
        }
    }
    Ok(out)
}

fn parse_values(s: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    for tok in split_values(s) {
        out.extend(parse_item(&tok)?);
    }
    Ok(out)
}

fn parse_series_line(line: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let (desc, vals) = split_series(line);
    let labels = parse_series_labels(desc)?;
    Ok((labels, parse_values(vals)?))
}

fn parse_expect(line: &str) -> Result<ExpectCmd, String> {
    let rest = line.strip_prefix("expect").unwrap_or(line).trim();
    let (kind_s, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let kind = match kind_s {
        "fail" => ExpectKind::Fail,
        "warn" => ExpectKind::Warn,
        "info" => ExpectKind::Info,
        "no_warn" => ExpectKind::NoWarn,
        "no_info" => ExpectKind::NoInfo,
        "ordered" => ExpectKind::Ordered,
        other => return Err(format!("unknown expect type {other}")),
    };
    let tail = tail.trim();
    let mut cmd = ExpectCmd {
        kind,
        msg: None,
        regex: None,
    };
    if let Some(m) = tail.strip_prefix("msg:") {
        cmd.msg = Some(m.trim().to_owned());
    } else if let Some(r) = tail.strip_prefix("regex:") {
        cmd.regex = Some(Regex::new(r.trim()).map_err(|e| e.to_string())?);
    } else if !tail.is_empty() {
        return Err(format!("bad expect line {line}"));
    }
    Ok(cmd)
}

static EVAL_INSTANT: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
        .expect("constant regex is valid")
});
static EVAL_RANGE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(
        r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+?)\s+to\s+(.+?)\s+step\s+(.+?)\s+(.+)$",
    )
    .expect("constant regex is valid")
});

fn parse_eval(lines: &[String], i: &mut usize) -> Eval {
    let line = &lines[*i];
    let mut e = Eval {
        line: *i + 1,
        ..Default::default()
    };
    let modifier;
    if let Some(c) = EVAL_INSTANT.captures(line) {
        e.instant = true;
        modifier = c.get(1).map(|m| m.as_str().to_owned());
        let at = c.get(2).map(|m| m.as_str()).unwrap_or("0");
        e.expr = c[3].to_owned();
        match parse_time(at) {
            Some(t) => {
                e.eval_t = t;
                e.start = t;
                e.end = t;
            }
            None => e.parse_error = Some(format!("invalid timestamp {at}")),
        }
    } else if let Some(c) = EVAL_RANGE.captures(line) {
        modifier = c.get(1).map(|m| m.as_str().to_owned());
        e.expr = c[5].to_owned();
        match (parse_time(&c[2]), parse_time(&c[3]), parse_time(&c[4])) {
            (Some(a), Some(b), Some(s)) => {
                e.start = a;
                e.end = b;
                e.step = s;
            }
            _ => e.parse_error = Some("invalid range definition".into()),
        }
    } else {
        e.parse_error = Some(format!("invalid eval command {line:?}"));
        e.expr = line.clone();
        modifier = None;
    }
    match modifier.as_deref() {
        Some("fail") => e.legacy_fail = true,
        Some("warn") => e.legacy_warn = true,
        Some("info") => e.legacy_info = true,
        Some("ordered") => e.legacy_ordered = true,
        _ => {}
    }
    let mut pos = 0;
    while *i + 1 < lines.len() {
        let def = &lines[*i + 1];
        if def.is_empty() {
            break;
        }
        *i += 1;
        if let Some(rest) = def.strip_prefix("expect range vector") {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if let ["from", a, "to", b, "step", s] = parts[..]
                && let (Some(a), Some(b), Some(s)) = (parse_time(a), parse_time(b), parse_time(s))
            {
                e.start = a;
                e.end = b;
                e.step = s;
                e.eval_t = b;
                e.exclude_from_range = true;
            } else {
                e.parse_error = Some(format!("bad expect range vector line {def:?}"));
            }
            continue;
        }
        if let Some(rest) = def.strip_prefix("expect string") {
            let s = rest.trim();
            let unq = if s.len() >= 2 && (s.starts_with('"') || s.starts_with('`')) {
                match crate::lexer::lex(s) {
                    Ok(toks) => match toks.first().map(|t| t.tok.clone()) {
                        Some(crate::lexer::Tok::Str(v)) => Some(v),
                        _ => None,
                    },
                    Err(_) => None,
                }
            } else {
                None
            };
            match unq {
                Some(v) => e.expected_string = Some(v),
                None => e.parse_error = Some(format!("bad expect string line {def:?}")),
            }
            e.exclude_from_range = true;
            continue;
        }
        if def.split(' ').next() == Some("expect") {
            match parse_expect(def) {
                Ok(x) => e.expects.push(x),
                Err(err) => e.parse_error = Some(err),
            }
            continue;
        }
        if e.legacy_fail
            && (def.starts_with("expected_fail_message") || def.starts_with("expected_fail_regexp"))
        {
            let (k, v) = def.split_once(' ').unwrap_or((def, ""));
            let mut x = ExpectCmd {
                kind: ExpectKind::Fail,
                msg: None,
                regex: None,
            };
            if k == "expected_fail_message" {
                x.msg = Some(v.trim().to_owned());
            } else {
                x.regex = Regex::new(v.trim()).ok();
            }
            e.expects.push(x);
            continue;
        }
        if let Some(f) = parse_number(def) {
            e.expect_scalar = Some(f);
            continue;
        }
        pos += 1;
        match parse_series_line(def) {
            Ok((labels, values)) => {
                if let Some(existing) = e.expected.iter_mut().find(|x| x.labels == labels) {
                    existing.values = values;
                    existing.pos = pos;
                } else {
                    e.expected.push(super::model::ExpectedSeries {
                        labels,
                        values,
                        pos,
                    });
                }
            }
            Err(err) => e.parse_error = Some(format!("line {}: {err}", *i + 1)),
        }
    }
    e
}

/// Parses a whole test file. Unparseable `eval` blocks carry their error in
/// [`Eval::parse_error`]; unparseable load lines are skipped.
pub fn parse_file(text: &str) -> TestFile {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                String::new()
            } else {
                l.to_owned()
            }
        })
        .collect();
    let mut file = TestFile::default();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let first = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if first == "clear" {
            file.commands.push(Command::Clear);
        } else if first.starts_with("load") {
            let with_nhcb = first == "load_with_nhcb";
            let step = l
                .split_whitespace()
                .nth(1)
                .and_then(parse_time)
                .unwrap_or(60_000);
            let mut load = Load {
                step_ms: step,
                with_nhcb,
                series: Vec::new(),
                st_offsets: Vec::new(),
            };
            let mut pending_st: Vec<(Labels, Vec<Option<i64>>)> = Vec::new();
            while i + 1 < lines.len() && !lines[i + 1].is_empty() {
                i += 1;
                let def = &lines[i];
                // Start-timestamp lines (`metric{...}@st ...`) are not supported yet.
                let (desc, rest) = split_series(def);
                if let Some(seq) = rest.strip_prefix("@st") {
                    if let (Ok(labels), Ok(offsets)) =
                        (parse_series_labels(desc), parse_st_sequence(seq))
                    {
                        pending_st.push((labels, offsets));
                    }
                    continue;
                }
                if let Ok(s) = parse_series_line(def) {
                    let offsets = match pending_st.iter().position(|(l, _)| *l == s.0) {
                        Some(i) => pending_st.remove(i).1,
                        None => Vec::new(),
                    };
                    load.series.push(s);
                    load.st_offsets.push(offsets);
                }
            }
            file.commands.push(Command::Load(load));
        } else if first.starts_with("eval") {
            let e = parse_eval(&lines, &mut i);
            file.commands.push(Command::Eval(e));
        }
        i += 1;
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expanding_notation() {
        let v = parse_values("1+2x2 _ _x2 stale 5x1 10-1x1").unwrap();
        assert_eq!(v.len(), 3 + 1 + 2 + 1 + 2 + 2);
        assert_eq!(v[2], SeqValue::Float(5.0));
        assert!(matches!(v[6], SeqValue::Float(f) if crate::value::is_stale_nan(f)));
        assert_eq!(v[10], SeqValue::Float(9.0));
    }

    #[test]
    fn histogram_literals() {
        let v = parse_values(
            "{{schema:1 sum:3 count:22 buckets:[5 10 7]}}+{{count:1 sum:1 buckets:[1]}}x2",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        let SeqValue::Hist(h) = &v[2] else { panic!() };
        assert_eq!(h.count, 24.0);
        assert_eq!(
            h.schema, 0,
            "adding a schema-0 histogram reduces the resolution"
        );
    }

    #[test]
    fn start_timestamp_sequences() {
        let v = parse_st_sequence("_ -30s-1mx2 0 -0msx1 +1m _x2").unwrap();
        assert_eq!(
            v,
            vec![
                None,
                Some(-30_000),
                Some(-90_000),
                Some(-150_000),
                Some(0),
                Some(0),
                Some(0),
                Some(60_000),
                None,
                None
            ]
        );
    }

    #[test]
    fn series_lines() {
        let (l, v) = parse_series_line(r#"metric{a="b c"} 1 2"#).unwrap();
        assert_eq!(l.to_string(), r#"{__name__="metric", a="b c"}"#);
        assert_eq!(v.len(), 2);
    }
}
