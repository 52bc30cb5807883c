//! Label filters: string matchers, number/duration/bytes comparisons and `ip()`, combined
//! with `and`/`or`. A value that does not convert sets `__error__="LabelFilterErr"` and
//! keeps the line, as Loki does.

use super::{ERR_LABEL_FILTER, ERROR_DETAILS_LABEL, ERROR_LABEL, LabelsBuilder, Step};
use crate::logql::ast::{CmpOp, LabelFilter};
use crate::logql::ip::IpMatcher;
use crate::logql::units::{parse_bytes, parse_go_duration, parse_go_float};
use lgtm_common::labels::Matcher;

/// A compiled label filter.
#[derive(Debug)]
pub(crate) enum Compiled {
    Matcher(Matcher),
    Number(String, CmpOp, f64),
    Duration(String, CmpOp, i64),
    Bytes(String, CmpOp, u64),
    Ip(String, bool, IpMatcher),
    And(Box<Compiled>, Box<Compiled>),
    Or(Box<Compiled>, Box<Compiled>),
}

impl Compiled {
    /// Compiles a filter; an invalid `ip()` pattern is an error.
    pub(crate) fn new(f: &LabelFilter) -> Result<Self, String> {
        Ok(match f {
            LabelFilter::Matcher(m) => Compiled::Matcher(m.clone()),
            LabelFilter::Number { name, op, value } => Compiled::Number(name.clone(), *op, *value),
            LabelFilter::Duration { name, op, value } => {
                Compiled::Duration(name.clone(), *op, *value)
            }
            LabelFilter::Bytes { name, op, value } => Compiled::Bytes(name.clone(), *op, *value),
            LabelFilter::Ip {
                name,
                negate,
                pattern,
            } => Compiled::Ip(name.clone(), *negate, IpMatcher::new(pattern)?),
            LabelFilter::And(a, b) => {
                Compiled::And(Box::new(Self::new(a)?), Box::new(Self::new(b)?))
            }
            LabelFilter::Or(a, b) => Compiled::Or(Box::new(Self::new(a)?), Box::new(Self::new(b)?)),
        })
    }

    /// Evaluates the filter against the current labels.
    pub(crate) fn test(&self, lbs: &mut LabelsBuilder) -> bool {
        match self {
            Compiled::Matcher(m) => {
                let v = match m.name.as_str() {
                    ERROR_LABEL => lbs.err().to_owned(),
                    ERROR_DETAILS_LABEL => lbs.err_details().to_owned(),
                    n => lbs.get(n).unwrap_or("").to_owned(),
                };
                m.matches(&v)
            }
            Compiled::Number(name, op, want) => {
                convert(lbs, name, parse_go_float, |v| op.compare(v, *want))
            }
            Compiled::Duration(name, op, want) => {
                convert(lbs, name, parse_go_duration, |v| op.compare(v, *want))
            }
            Compiled::Bytes(name, op, want) => {
                convert(lbs, name, parse_bytes, |v| op.compare(v, *want))
            }
            Compiled::Ip(name, negate, ip) => {
                if lbs.has_err() {
                    return true;
                }
                let Some(v) = lbs.get(name) else {
                    return false;
                };
                ip.matches_text(v) != *negate
            }
            Compiled::And(a, b) => {
                let l = a.test(lbs);
                let r = b.test(lbs);
                l && r
            }
            Compiled::Or(a, b) => a.test(lbs) || b.test(lbs),
        }
    }
}

/// Converts the label value and compares; a missing label drops the line, a conversion
/// error keeps it and sets `LabelFilterErr` (unless an error is already set).
fn convert<T>(
    lbs: &mut LabelsBuilder,
    name: &str,
    parse: impl Fn(&str) -> Result<T, String>,
    cmp: impl Fn(T) -> bool,
) -> bool {
    let Some(v) = lbs.get(name) else {
        return false;
    };
    match parse(v) {
        Ok(x) => cmp(x),
        Err(e) => {
            if !lbs.has_err() {
                lbs.add_error(ERR_LABEL_FILTER, &e);
            }
            true
        }
    }
}

/// `| <label filter>` as a pipeline stage.
#[derive(Debug)]
pub(crate) struct LabelFilterStep(Compiled);

impl LabelFilterStep {
    pub(crate) fn new(f: &LabelFilter) -> Result<Self, String> {
        Ok(Self(Compiled::new(f)?))
    }
}

impl Step for LabelFilterStep {
    fn process(&self, _ts: i64, _line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        self.0.test(lbs)
    }
}
