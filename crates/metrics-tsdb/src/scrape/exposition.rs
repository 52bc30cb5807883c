//! Parsers for what scrape targets expose: the Prometheus text format 0.0.4 and OpenMetrics
//! 1.0 (exemplars, `# UNIT`, `# EOF`, seconds timestamps).
//!
//! Both produce the same [`Exposition`]: samples with their full label set (metric name in
//! `__name__`), optional explicit timestamps in milliseconds, optional exemplars, and the
//! metadata (`# TYPE`, `# HELP`, `# UNIT`) per metric family.

use std::collections::BTreeMap;

use lgtm_common::labels::{Label, Labels, METRIC_NAME};

/// Which grammar a body follows, chosen from the response `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4` (and the fallback for unknown types).
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0` or `0.0.1`.
    OpenMetrics,
}

impl Format {
    /// Picks the grammar for a `Content-Type` header value; `None` for types no text parser
    /// handles (the caller decides about fallbacks, as Prometheus 3 does).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/openmetrics-text" => Some(Format::OpenMetrics),
            "text/plain" | "" => Some(Format::PrometheusText),
            _ => None,
        }
    }
}

/// A metric family's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `gaugehistogram` (OpenMetrics)
    GaugeHistogram,
    /// `summary`
    Summary,
    /// `info` (OpenMetrics)
    Info,
    /// `stateset` (OpenMetrics)
    StateSet,
    /// `untyped` / `unknown`
    Unknown,
}

impl MetricType {
    fn parse(s: &str, format: Format) -> Option<Self> {
        Some(match (s, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::PrometheusText) | ("unknown", Format::OpenMetrics) => {
                MetricType::Unknown
            }
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }

    /// The name Prometheus' metadata API reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// Metadata of one metric family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Declared type, if any.
    pub metric_type: Option<MetricType>,
    /// `# HELP` text, unescaped.
    pub help: Option<String>,
    /// `# UNIT` (OpenMetrics).
    pub unit: Option<String>,
}

/// An exemplar attached to a sample (OpenMetrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Exemplar labels, e.g. `trace_id`.
    pub labels: Labels,
    /// Exemplar value.
    pub value: f64,
    /// Exemplar timestamp in ms, if given.
    pub timestamp_ms: Option<i64>,
}

/// One parsed sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample {
    /// Full label set, metric name included.
    pub labels: Labels,
    /// Sample value.
    pub value: f64,
    /// Explicit timestamp in ms, if the line had one.
    pub timestamp_ms: Option<i64>,
    /// Exemplar, if the line had one.
    pub exemplar: Option<Exemplar>,
}

/// Everything parsed from one body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    /// Samples in body order.
    pub samples: Vec<ParsedSample>,
    /// Metadata per family name.
    pub metadata: BTreeMap<String, Metadata>,
}

/// A body does not follow its format; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// Line of the problem.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// One meaningful line of a body, as [`for_each_line`] hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A sample line (trimmed of surrounding blanks in the text format).
    Sample(&'a str),
    /// A comment line without its leading `#` (`# EOF` is handled by the walker).
    Comment(&'a str),
}

/// Walks a body line by line with the format's rules for blank lines and `# EOF`, calling
/// `visit` with each sample or comment line and its 1-based number. An error from `visit`
/// stops the walk and becomes a [`ParseError`] for that line. [`parse`] and the scrape loop's
/// cache share this walk, so both accept exactly the same bodies.
pub fn for_each_line<'a>(
    body: &'a str,
    format: Format,
    mut visit: impl FnMut(usize, Line<'a>) -> Result<(), String>,
) -> Result<(), ParseError> {
    let mut saw_eof = false;
    let mut line_count = None;
    let mut total_lines = || *line_count.get_or_insert_with(|| body.split('\n').count());
    for (index, raw_line) in body.split('\n').enumerate() {
        let line_no = index + 1;
        let err = |message: String| ParseError {
            line: line_no,
            message,
        };
        if saw_eof {
            if raw_line.is_empty() && index + 1 == total_lines() {
                continue;
            }
            return Err(err("unexpected data after # EOF".into()));
        }
        let line = match format {
            Format::PrometheusText => raw_line.trim_matches(|c| c == ' ' || c == '\t'),
            Format::OpenMetrics => raw_line,
        };
        if line.is_empty() {
            if format == Format::OpenMetrics && index + 1 != total_lines() {
                return Err(err("unexpected empty line".into()));
            }
            continue;
        }
        let visited = match line.strip_prefix('#') {
            Some(" EOF") if format == Format::OpenMetrics => {
                saw_eof = true;
                continue;
            }
            Some(comment) => visit(line_no, Line::Comment(comment)),
            None => visit(line_no, Line::Sample(line)),
        };
        visited.map_err(err)?;
    }
    if format == Format::OpenMetrics && !saw_eof {
        return Err(ParseError {
            line: total_lines(),
            message: "data does not end with # EOF".into(),
        });
    }
    Ok(())
}

/// Parses a whole body.
pub fn parse(body: &str, format: Format) -> Result<Exposition, ParseError> {
    let mut out = Exposition::default();
    for_each_line(body, format, |_, line| match line {
        Line::Comment(comment) => parse_comment(comment, format, &mut out.metadata),
        Line::Sample(text) => {
            out.samples.push(parse_sample(text, format)?);
            Ok(())
        }
    })?;
    Ok(out)
}

/// Applies one comment line (without its `#`) to the metadata of its family.
pub fn parse_comment(
    comment: &str,
    format: Format,
    metadata: &mut BTreeMap<String, Metadata>,
) -> Result<(), String> {
    let rest = comment.trim_start_matches([' ', '\t']);
    let (keyword, rest) = split_token(rest);
    if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
        if format == Format::OpenMetrics && !comment.starts_with(' ') {
            return Err(format!("invalid comment {comment:?}"));
        }
        // Plain comments are allowed in the text format (and ignored).
        return Ok(());
    }
    let (name, text) = split_token(rest);
    if name.is_empty() {
        return Err(format!("missing metric name in # {keyword}"));
    }
    let name = if let Some(quoted) = name.strip_prefix('"') {
        unescape(quoted.strip_suffix('"').unwrap_or(quoted), false)?
    } else {
        name.to_owned()
    };
    let entry = metadata.entry(name.clone()).or_default();
    match keyword {
        "HELP" => entry.help = Some(unescape(text, format == Format::OpenMetrics)?),
        "TYPE" => {
            let t = text.trim();
            let parsed =
                MetricType::parse(t, format).ok_or_else(|| format!("invalid metric type {t:?}"))?;
            entry.metric_type = Some(parsed);
        }
        "UNIT" if format == Format::OpenMetrics => entry.unit = Some(text.trim().to_owned()),
        _ => {}
    }
    Ok(())
}

/// Splits off the first blank-separated token.
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches([' ', '\t']);
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
    }
}

/// Unescapes `\\`, `\n` and (in label values and OpenMetrics help) `\"`.
fn unescape(s: &str, allow_quote: bool) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if allow_quote => out.push('"'),
            Some(other) => {
                // The text format keeps unknown escapes verbatim.
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Ok(out)
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    /// Everything up to the next blank (ASCII, so a byte scan).
    fn take_until_blank(&mut self) -> &'a str {
        let start = self.pos;
        let len = self.s.as_bytes()[start..]
            .iter()
            .position(|&b| b == b' ' || b == b'\t')
            .unwrap_or(self.s.len() - start);
        self.pos += len;
        &self.s[start..self.pos]
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        &self.s[start..self.pos]
    }

    fn quoted(&mut self) -> Result<String, String> {
        if self.bump() != Some('"') {
            return Err("expected '\"'".into());
        }
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.bump() {
                None => return Err("unterminated quoted string".into()),
                Some('\\') if !escaped => escaped = true,
                Some('"') if !escaped => break,
                Some(_) => escaped = false,
            }
        }
        unescape(&self.s[start..self.pos - 1], true)
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The length of a sample line's series part (metric name and label block), found by a
/// quick scan that honours quoting; `None` when the line does not look like a sample. Equal
/// series texts always parse to equal label sets, so the scrape cache keys on this text.
pub fn series_text_len(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':')
    {
        i += 1;
    }
    if bytes.get(i) != Some(&b'{') {
        return (i > 0).then_some(i);
    }
    i += 1;
    let mut quoted = false;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match (quoted, b) {
            (true, b'\\') => i += 1,
            (true, b'"') | (false, b'"') => quoted = !quoted,
            (false, b'}') => return Some(i),
            _ => {}
        }
    }
    None
}

/// What follows the series part of a sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleTail {
    /// Sample value.
    pub value: f64,
    /// Explicit timestamp in ms, if the line had one.
    pub timestamp_ms: Option<i64>,
    /// Exemplar, if the line had one.
    pub exemplar: Option<Exemplar>,
}

/// Parses the series part of a sample line: its full label set and the bytes it took.
pub fn parse_series(line: &str) -> Result<(Labels, usize), String> {
    let mut cur = Cursor { s: line, pos: 0 };
    let mut labels: Vec<Label> = Vec::new();
    let mut name = String::new();
    match cur.peek() {
        Some(c) if is_name_start(c) => name = cur.take_while(is_name_char).to_owned(),
        Some('{') => {}
        Some(c) => return Err(format!("{c:?} is not a valid start token")),
        None => return Err("empty sample line".into()),
    }
    if cur.peek() == Some('{') {
        cur.bump();
        parse_label_block(&mut cur, &mut name, &mut labels)?;
    }
    if name.is_empty() {
        return Err("metric name missing".into());
    }
    labels.push(Label::new(METRIC_NAME, name));
    let duplicate = {
        let mut names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
        names.sort_unstable();
        names
            .windows(2)
            .find(|w| w[0] == w[1])
            .map(|w| w[0].to_owned())
    };
    if let Some(dup) = duplicate {
        return Err(format!("duplicate label name {dup:?}"));
    }
    Ok((Labels::from_labels(labels), cur.pos))
}

/// Parses what follows the series part of a sample line: blanks, the value, an optional
/// timestamp and (OpenMetrics) an optional exemplar.
pub fn parse_tail(rest: &str, format: Format) -> Result<SampleTail, String> {
    let mut cur = Cursor { s: rest, pos: 0 };
    if !matches!(cur.peek(), Some(' ' | '\t')) {
        return Err(format!("expected value after metric, got {:?}", cur.rest()));
    }
    cur.skip_blanks();
    let value_text = cur.take_until_blank();
    let value = parse_float(value_text)
        .ok_or_else(|| format!("strconv.ParseFloat: parsing {value_text:?}: invalid syntax"))?;
    cur.skip_blanks();
    let mut timestamp_ms = None;
    let mut exemplar = None;
    if !cur.rest().is_empty() && !cur.rest().starts_with('#') {
        let ts_text = cur.take_until_blank();
        timestamp_ms = Some(parse_timestamp(ts_text, format)?);
        cur.skip_blanks();
    }
    if let Some(ex) = cur.rest().strip_prefix('#') {
        if format != Format::OpenMetrics {
            return Err(format!("unexpected text after value: {:?}", cur.rest()));
        }
        exemplar = Some(parse_exemplar(ex.trim_start_matches(' '))?);
    } else if !cur.rest().is_empty() {
        return Err(format!("unexpected text after timestamp: {:?}", cur.rest()));
    }
    Ok(SampleTail {
        value,
        timestamp_ms,
        exemplar,
    })
}

fn parse_sample(line: &str, format: Format) -> Result<ParsedSample, String> {
    let (labels, consumed) = parse_series(line)?;
    let tail = parse_tail(&line[consumed..], format)?;
    Ok(ParsedSample {
        labels,
        value: tail.value,
        timestamp_ms: tail.timestamp_ms,
        exemplar: tail.exemplar,
    })
}

/// Parses `name="value", ...}` after the opening brace. A quoted first entry without `=`
/// is the (UTF-8) metric name, as Prometheus 3 allows.
fn parse_label_block(
    cur: &mut Cursor<'_>,
    name: &mut String,
    labels: &mut Vec<Label>,
) -> Result<(), String> {
    loop {
        cur.skip_blanks();
        match cur.peek() {
            Some('}') => {
                cur.bump();
                return Ok(());
            }
            None => return Err("unterminated label set".into()),
            _ => {}
        }
        let label_name = if cur.peek() == Some('"') {
            let quoted = cur.quoted()?;
            cur.skip_blanks();
            if matches!(cur.peek(), Some(',' | '}')) && name.is_empty() {
                *name = quoted;
                if cur.peek() == Some(',') {
                    cur.bump();
                }
                continue;
            }
            quoted
        } else {
            let n = cur.take_while(is_name_char);
            if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(format!("invalid label name at {:?}", cur.rest()));
            }
            n.to_owned()
        };
        cur.skip_blanks();
        if cur.bump() != Some('=') {
            return Err(format!("expected equal after label name {label_name:?}"));
        }
        cur.skip_blanks();
        let value = cur.quoted()?;
        labels.push(Label::new(label_name, value));
        cur.skip_blanks();
        match cur.bump() {
            Some(',') => {}
            Some('}') => return Ok(()),
            other => return Err(format!("expected ',' or '}}' in label set, got {other:?}")),
        }
    }
}

fn parse_exemplar(text: &str) -> Result<Exemplar, String> {
    let mut cur = Cursor { s: text, pos: 0 };
    if cur.bump() != Some('{') {
        return Err("exemplar must start with '{'".into());
    }
    let mut unused_name = String::from("exemplar");
    let mut labels = Vec::new();
    parse_label_block(&mut cur, &mut unused_name, &mut labels)?;
    let size: usize = labels
        .iter()
        .map(|l| l.name.chars().count() + l.value.chars().count())
        .sum();
    if size > 128 {
        return Err(format!(
            "exemplar labels have {size} UTF-8 characters, exceeding the limit of 128"
        ));
    }
    cur.skip_blanks();
    let value_text = cur.take_until_blank();
    let value =
        parse_float(value_text).ok_or_else(|| format!("invalid exemplar value {value_text:?}"))?;
    cur.skip_blanks();
    let timestamp_ms = if cur.rest().is_empty() {
        None
    } else {
        Some(parse_timestamp(cur.rest().trim(), Format::OpenMetrics)?)
    };
    Ok(Exemplar {
        labels: Labels::from_labels(labels),
        value,
        timestamp_ms,
    })
}

/// Go's `ParseFloat` spellings: decimal and exponent forms, `NaN`, `Inf`, `+Inf`, `-Inf`
/// (case-insensitive), and no Rust-only forms.
pub fn parse_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    // Plain numbers (the common case) go straight to the parser, without lower-casing.
    if unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return s.parse::<f64>().ok();
    }
    if unsigned.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if unsigned.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

fn parse_timestamp(text: &str, format: Format) -> Result<i64, String> {
    match format {
        Format::PrometheusText => text
            .parse::<i64>()
            .map_err(|_| format!("invalid timestamp {text:?}")),
        Format::OpenMetrics => {
            let seconds = parse_float(text)
                .filter(|f| f.is_finite())
                .ok_or_else(|| format!("invalid timestamp {text:?}"))?;
            Ok((seconds * 1000.0).round() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_with_metadata_and_escapes() {
        let body = "# HELP http_requests_total The total number of HTTP requests.\n\
# TYPE http_requests_total counter\n\
http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
http_requests_total{method=\"post\",code=\"400\",} 3 1395066363000\n\
\n\
# A comment\n\
msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n\
metric_without_timestamp_and_labels 12.47\n\
something_weird{problem=\"division by zero\"} +Inf -3982045\n\
nan_metric NaN\n";
        let exp = parse(body, Format::PrometheusText).unwrap();
        assert_eq!(exp.samples.len(), 6);
        let first = &exp.samples[0];
        assert_eq!(
            first.labels.to_string(),
            r#"{__name__="http_requests_total", code="200", method="post"}"#
        );
        assert_eq!(first.value, 1027.0);
        assert_eq!(first.timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(exp.samples[2].labels.get("path"), Some(r"C:\DIR\FILE.TXT"));
        assert_eq!(
            exp.samples[2].labels.get("error"),
            Some("Cannot find file:\n\"FILE.TXT\"")
        );
        assert_eq!(exp.samples[3].timestamp_ms, None);
        assert_eq!(exp.samples[4].value, f64::INFINITY);
        assert_eq!(exp.samples[4].timestamp_ms, Some(-3_982_045));
        assert!(exp.samples[5].value.is_nan());
        let meta = &exp.metadata["http_requests_total"];
        assert_eq!(meta.metric_type, Some(MetricType::Counter));
        assert_eq!(
            meta.help.as_deref(),
            Some("The total number of HTTP requests.")
        );
    }

    #[test]
    fn openmetrics_with_exemplars_units_and_eof() {
        let body = "# TYPE foo histogram\n\
# UNIT foo seconds\n\
# HELP foo Request latency.\n\
foo_bucket{le=\"0.1\"} 8 # {trace_id=\"KOO5S4vxi0o\"} 0.067 1520879607.789\n\
foo_bucket{le=\"+Inf\"} 11 # {trace_id=\"abc\"} 2.5\n\
foo_count 11 1520879607.5\n\
foo_sum 12.5\n\
# EOF\n";
        let exp = parse(body, Format::OpenMetrics).unwrap();
        assert_eq!(exp.samples.len(), 4);
        let ex = exp.samples[0].exemplar.as_ref().unwrap();
        assert_eq!(ex.labels.get("trace_id"), Some("KOO5S4vxi0o"));
        assert_eq!(ex.value, 0.067);
        assert_eq!(ex.timestamp_ms, Some(1_520_879_607_789));
        assert_eq!(exp.samples[1].exemplar.as_ref().unwrap().timestamp_ms, None);
        assert_eq!(exp.samples[2].timestamp_ms, Some(1_520_879_607_500));
        assert_eq!(exp.metadata["foo"].unit.as_deref(), Some("seconds"));
        assert_eq!(exp.metadata["foo"].metric_type, Some(MetricType::Histogram));
    }

    #[test]
    fn openmetrics_requires_eof() {
        let err = parse("foo 1\n", Format::OpenMetrics).unwrap_err();
        assert!(err.message.contains("# EOF"), "{err}");
        let err = parse("foo 1\n# EOF\nbar 2\n", Format::OpenMetrics).unwrap_err();
        assert_eq!(err.line, 3);
    }

    #[test]
    fn utf8_quoted_names() {
        let exp = parse(
            "{\"my.dotted.metric\", \"error.message\"=\"Not Found\"} 1\n",
            Format::PrometheusText,
        )
        .unwrap();
        assert_eq!(
            exp.samples[0].labels.metric_name(),
            Some("my.dotted.metric")
        );
        assert_eq!(
            exp.samples[0].labels.get("error.message"),
            Some("Not Found")
        );
    }

    #[test]
    fn garbage_is_an_error_with_line() {
        for (body, line) in [
            ("ok 1\nbad{ 1\n", 2),
            ("ok 1\n1bad 2\n", 2),
            ("m{a=\"1\",a=\"2\"} 1\n", 1),
            ("m notanumber\n", 1),
            ("m 1 notatimestamp\n", 1),
            ("# TYPE m bogus\n", 1),
            ("m{a=1} 1\n", 1),
        ] {
            let err = parse(body, Format::PrometheusText).unwrap_err();
            assert_eq!(err.line, line, "{body:?}: {err}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Some(Format::OpenMetrics)
        );
        assert_eq!(
            Format::from_content_type("text/plain; version=0.0.4"),
            Some(Format::PrometheusText)
        );
        assert_eq!(Format::from_content_type("application/json"), None);
    }

    #[test]
    fn go_float_spellings() {
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("1e3"), Some(1000.0));
        assert_eq!(parse_float("abc"), None);
        assert_eq!(parse_float(""), None);
        assert_eq!(parse_float("-0.5e-3"), Some(-0.0005));
        assert_eq!(parse_float(".5"), Some(0.5));
        assert!(parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_float("+Infinity"), Some(f64::INFINITY));
        // Go's ParseFloat takes one sign at most.
        assert_eq!(parse_float("--Inf"), None);
        assert_eq!(parse_float("+"), None);
    }

    #[test]
    fn series_text_ends_where_the_parser_stops() {
        for line in [
            "a 1",
            "a{x=\"1\"} 1",
            "a{x=\"}\\\"y\",z=\"é\"} 1 123",
            "{\"dotted.name\",x=\"1\"} 2",
            "a:b_c{} 3",
        ] {
            let (_, consumed) = parse_series(line).unwrap();
            assert_eq!(series_text_len(line), Some(consumed), "{line}");
        }
        assert_eq!(series_text_len("a{x=\"1\" 1"), None);
        assert_eq!(series_text_len(" 1"), None);
    }
}
