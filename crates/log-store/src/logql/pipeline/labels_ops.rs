//! `| drop`, `| keep` and `| decolorize`.

use regex::Regex;

use super::{ERROR_DETAILS_LABEL, ERROR_LABEL, LabelsBuilder, Step};
use crate::logql::ast::NamedMatcher;

/// `| drop a, b="v"`: removes labels (by name, or when the matcher accepts the value);
/// `__error__`/`__error_details__` can be dropped too.
#[derive(Debug)]
pub(crate) struct DropLabels(Vec<NamedMatcher>);

impl DropLabels {
    pub(crate) fn new(list: &[NamedMatcher]) -> Self {
        Self(list.to_vec())
    }
}

impl Step for DropLabels {
    fn process(&self, _ts: i64, _line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        for d in &self.0 {
            match d {
                NamedMatcher::Name(n) => match n.as_str() {
                    ERROR_LABEL => lbs.reset_err(),
                    ERROR_DETAILS_LABEL => lbs.reset_err_details(),
                    n => {
                        if lbs.get(n).is_some() {
                            lbs.del(n);
                        }
                    }
                },
                NamedMatcher::Matcher(m) => match m.name.as_str() {
                    ERROR_LABEL => {
                        if m.matches(lbs.err()) {
                            lbs.reset_err();
                        }
                    }
                    ERROR_DETAILS_LABEL => {
                        if m.matches(lbs.err_details()) {
                            lbs.reset_err_details();
                        }
                    }
                    n => {
                        let v = lbs.get(n).unwrap_or("").to_owned();
                        if m.matches(&v) {
                            lbs.del(n);
                        }
                    }
                },
            }
        }
        true
    }
}

/// `| keep a, b="v"`: keeps only the listed labels (stream labels included); the error
/// labels always stay.
#[derive(Debug)]
pub(crate) struct KeepLabels(Vec<NamedMatcher>);

impl KeepLabels {
    pub(crate) fn new(list: &[NamedMatcher]) -> Self {
        Self(list.to_vec())
    }
}

impl Step for KeepLabels {
    fn process(&self, _ts: i64, _line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let current = lbs.labels();
        for (name, value) in &current {
            if name == ERROR_LABEL || name == ERROR_DETAILS_LABEL {
                continue;
            }
            let keep = self.0.iter().any(|k| match k {
                NamedMatcher::Name(n) => n == name,
                NamedMatcher::Matcher(m) => m.name == *name && m.matches(value),
            });
            if !keep {
                lbs.del(name);
            }
        }
        true
    }
}

/// `| decolorize`: strips ANSI escape sequences from the line.
#[derive(Debug)]
pub(crate) struct Decolorize(Option<Regex>);

impl Decolorize {
    pub(crate) fn new() -> Self {
        // The widely used "ansi-regex" expression (CSI and OSC sequences).
        let re = Regex::new(
            "[\u{1b}\u{9b}][\\[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u{07})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))",
        )
        .ok();
        Self(re)
    }
}

impl Step for Decolorize {
    fn process(&self, _ts: i64, line: &mut String, _lbs: &mut LabelsBuilder) -> bool {
        if let Some(re) = &self.0
            && re.is_match(line)
        {
            *line = re.replace_all(line, "").into_owned();
        }
        true
    }
}

/// A stage that does nothing.
#[derive(Debug)]
pub(crate) struct Noop;

impl Step for Noop {
    fn process(&self, _ts: i64, _line: &mut String, _lbs: &mut LabelsBuilder) -> bool {
        true
    }
}
