//! Line filters: `|=`, `!=`, `|~`, `!~`, `|>`, `!>`, `ip()` and `or` alternatives.

use regex::Regex;

use super::pattern::Pattern;
use super::{LabelsBuilder, Step};
use crate::logql::ast::{FilterValue, LineFilter, LineFilterOp};
use crate::logql::ip::IpMatcher;
use crate::logql::regex_go;

#[derive(Debug)]
enum Matcher {
    /// A literal, searched with a precompiled SIMD substring finder.
    Contains(String, Box<memchr::memmem::Finder<'static>>),
    Regex(Regex),
    Pattern(Pattern),
    Ip(IpMatcher),
}

impl Matcher {
    fn matches(&self, line: &str) -> bool {
        match self {
            Matcher::Contains(_, f) => f.find(line.as_bytes()).is_some(),
            Matcher::Regex(r) => r.is_match(line),
            Matcher::Pattern(p) => p.test(line),
            Matcher::Ip(ip) => ip.matches_text(line),
        }
    }
}

/// One line filter with its alternatives.
#[derive(Debug)]
pub(crate) struct LineFilterStep {
    negate: bool,
    alternatives: Vec<Matcher>,
}

impl LineFilterStep {
    /// Compiles a filter; errors are Loki's reasons (bad regex, bad IP pattern).
    pub(crate) fn new(f: &LineFilter) -> Result<Self, String> {
        let mut alternatives = Vec::with_capacity(f.values.len());
        for v in &f.values {
            let m = match (v, f.op) {
                (FilterValue::Ip(p), LineFilterOp::Contains | LineFilterOp::NotContains) => {
                    Matcher::Ip(IpMatcher::new(p)?)
                }
                (FilterValue::Ip(_), _) => return Err("ip: invalid operation".to_owned()),
                (FilterValue::Str(s), LineFilterOp::Contains | LineFilterOp::NotContains) => {
                    Matcher::Contains(
                        s.clone(),
                        Box::new(memchr::memmem::Finder::new(s).into_owned()),
                    )
                }
                (FilterValue::Str(s), LineFilterOp::Match | LineFilterOp::NotMatch) => {
                    Matcher::Regex(regex_go::compile(s)?)
                }
                (FilterValue::Str(s), LineFilterOp::Pattern | LineFilterOp::NotPattern) => {
                    Matcher::Pattern(Pattern::line_filter(s)?)
                }
            };
            alternatives.push(m);
        }
        Ok(Self {
            negate: f.op.is_negative(),
            alternatives,
        })
    }

    /// The literal every passing line contains (`|= "x"` without `or`), if any.
    pub(crate) fn required_literal(&self) -> Option<&str> {
        match self.alternatives.as_slice() {
            [Matcher::Contains(s, _)] if !self.negate && !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// True when the line passes.
    pub(crate) fn keep(&self, line: &str) -> bool {
        let any = self.alternatives.iter().any(|m| m.matches(line));
        any != self.negate
    }
}

impl Step for LineFilterStep {
    fn process(&self, _ts: i64, line: &mut String, _lbs: &mut LabelsBuilder) -> bool {
        self.keep(line)
    }

    fn as_line_filter(&self) -> Option<&LineFilterStep> {
        Some(self)
    }
}
