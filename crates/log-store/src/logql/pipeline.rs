//! The log pipeline: runs a log query's stages over one entry and returns the kept line and
//! its labels, with Loki's label rules:
//!
//! * labels live in three categories, stream (indexed), structured metadata and parsed;
//!   in the result a parsed label replaces structured metadata of the same name, which
//!   replaces the stream label;
//! * a parser that extracts a name that is already a stream label adds `_extracted`;
//! * failures set `__error__` (`JSONParserErr`, `LogfmtParserErr`, `LabelFilterErr`,
//!   `TemplateFormatErr`) and `__error_details__`, and the line is kept.

pub mod format;
pub mod json;
pub mod label_filter;
pub mod labels_ops;
pub mod line_filter;
pub mod logfmt;
pub mod pattern;
pub mod regexp_parser;

use std::collections::BTreeMap;
use std::sync::Arc;

use lgtm_common::labels::Labels;

use super::ParseError;
use super::ast::Stage;

/// `__error__`.
pub const ERROR_LABEL: &str = "__error__";
/// `__error_details__`.
pub const ERROR_DETAILS_LABEL: &str = "__error_details__";
/// Suffix of parsed labels that clash with stream labels.
pub const DUPLICATE_SUFFIX: &str = "_extracted";

/// `__error__` value for JSON parse failures.
pub const ERR_JSON: &str = "JSONParserErr";
/// `__error__` value for `logfmt --strict` failures.
pub const ERR_LOGFMT: &str = "LogfmtParserErr";
/// `__error__` value for label filter conversion failures.
pub const ERR_LABEL_FILTER: &str = "LabelFilterErr";
/// `__error__` value for template failures.
pub const ERR_TEMPLATE: &str = "TemplateFormatErr";
/// `__error__` value for unwrap conversion failures.
pub const ERR_SAMPLE_EXTRACTION: &str = "SampleExtractionErr";

/// Label categories, in Loki's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Indexed stream labels.
    Stream = 0,
    /// Structured metadata of the entry.
    StructuredMetadata = 1,
    /// Labels produced by the pipeline.
    Parsed = 2,
}

/// The labels of one entry while the pipeline runs (Loki's `LabelsBuilder`).
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    base: Vec<(String, String)>,
    del: Vec<String>,
    add: [Vec<(String, String)>; 3],
    err: String,
    err_details: String,
    /// Label filters of the pipeline that parsers apply as soon as they extract the label.
    hints: Option<Arc<Vec<HintFilter>>>,
    /// Which labels parsers need to extract (metric queries).
    extraction: Extraction,
}

/// What parsers must extract, which Loki derives from a metric query's grouping: nothing
/// for `sum(count_over_time(...))`, only the grouping and filtered labels for
/// `sum by (x) (...)` (stopping once all are found), everything otherwise.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Extraction {
    /// Every label (log queries, `without`, pipelines that read arbitrary labels).
    #[default]
    All,
    /// No label at all: parsers are skipped.
    Nothing,
    /// Only these labels (after sanitising and `_extracted` renaming).
    Only(Arc<Vec<String>>),
}

/// A label filter a parser evaluates right after extracting its label (Loki's parser hints):
/// a line failing it is dropped at once, even if a later stage would change the label.
#[derive(Debug)]
pub(crate) struct HintFilter {
    label: String,
    filter: label_filter::Compiled,
}

impl LabelsBuilder {
    /// Starts from a stream's labels and the entry's structured metadata.
    pub fn new(stream: &Labels, metadata: &Labels) -> Self {
        let mut b = Self {
            base: stream
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect(),
            ..Self::default()
        };
        for l in metadata {
            b.set(Category::StructuredMetadata, &l.name, &l.value);
        }
        b
    }

    /// True when the stream labels have `name` (parsers then add `_extracted`).
    pub fn base_has(&self, name: &str) -> bool {
        self.base.iter().any(|(n, _)| n == name)
    }

    /// The current value of `name` (added labels first, in category order, then stream).
    pub fn get(&self, name: &str) -> Option<&str> {
        for cat in &self.add {
            if let Some((_, v)) = cat.iter().find(|(n, _)| n == name) {
                return Some(v);
            }
        }
        if self.del.iter().any(|d| d == name) {
            return None;
        }
        self.base
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The current value of `name` with the category it lives in (stream labels report
    /// [`Category::Stream`]).
    pub fn get_with_category(&self, name: &str) -> Option<(String, Category)> {
        let cats = [
            Category::Stream,
            Category::StructuredMetadata,
            Category::Parsed,
        ];
        for (i, cat) in self.add.iter().enumerate() {
            if let Some((_, v)) = cat.iter().find(|(n, _)| n == name) {
                return Some((v.clone(), cats[i]));
            }
        }
        if self.del.iter().any(|d| d == name) {
            return None;
        }
        self.base
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| (v.clone(), Category::Stream))
    }

    /// Restricts what parsers extract (see [`Extraction`]).
    pub fn set_extraction(&mut self, extraction: Extraction) {
        self.extraction = extraction;
    }

    /// True when parsers must not extract anything.
    pub(crate) fn extract_nothing(&self) -> bool {
        self.extraction == Extraction::Nothing
    }

    /// True when parsers must skip `name`.
    pub(crate) fn skip_extracting(&self, name: &str) -> bool {
        match &self.extraction {
            Extraction::All => false,
            Extraction::Nothing => true,
            Extraction::Only(list) => !list.iter().any(|n| n == name),
        }
    }

    /// True when every label parsers were asked for is present.
    pub(crate) fn all_required_extracted(&self) -> bool {
        match &self.extraction {
            Extraction::Only(list) => list.iter().all(|n| self.get(n).is_some()),
            _ => false,
        }
    }

    /// True when a parser already extracted `name` (the first extraction wins).
    pub fn parsed_has(&self, name: &str) -> bool {
        self.add[Category::Parsed as usize]
            .iter()
            .any(|(n, _)| n == name)
    }

    /// Sets `name` in a category.
    pub fn set(&mut self, cat: Category, name: &str, value: &str) {
        let list = &mut self.add[cat as usize];
        match list.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_owned(),
            None => list.push((name.to_owned(), value.to_owned())),
        }
    }

    /// Removes `name` from every category and hides the stream label.
    pub fn del(&mut self, name: &str) {
        for cat in &mut self.add {
            cat.retain(|(n, _)| n != name);
        }
        if !self.del.iter().any(|d| d == name) {
            self.del.push(name.to_owned());
        }
    }

    /// The `__error__` value (empty when none).
    pub fn err(&self) -> &str {
        &self.err
    }

    /// True when `__error__` is set.
    pub fn has_err(&self) -> bool {
        !self.err.is_empty()
    }

    /// Sets `__error__`.
    pub fn set_err(&mut self, err: &str) {
        self.err = err.to_owned();
    }

    /// The `__error_details__` value.
    pub fn err_details(&self) -> &str {
        &self.err_details
    }

    /// Sets `__error_details__`.
    pub fn set_err_details(&mut self, details: &str) {
        self.err_details = details.to_owned();
    }

    /// Sets both error labels.
    pub fn add_error(&mut self, err: &str, details: &str) {
        self.set_err(err);
        self.set_err_details(details);
    }

    /// Clears `__error__`.
    pub fn reset_err(&mut self) {
        self.err.clear();
    }

    /// Clears `__error_details__`.
    pub fn reset_err_details(&mut self) {
        self.err_details.clear();
    }

    /// Labels of one category as the result shows them (empty values are kept, as Loki
    /// shows `"label":""` for parsed labels with empty values).
    pub fn category(&self, cat: Category) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match cat {
            Category::Stream => {
                for (n, v) in &self.base {
                    if self.del.contains(n)
                        || self.add[1].iter().any(|(m, _)| m == n)
                        || self.add[2].iter().any(|(m, _)| m == n)
                    {
                        continue;
                    }
                    let v = self.add[0]
                        .iter()
                        .find(|(m, _)| m == n)
                        .map_or(v, |(_, v)| v);
                    out.insert(n.clone(), v.clone());
                }
                for (n, v) in &self.add[0] {
                    if !self.add[1].iter().any(|(m, _)| m == n)
                        && !self.add[2].iter().any(|(m, _)| m == n)
                    {
                        out.insert(n.clone(), v.clone());
                    }
                }
            }
            Category::StructuredMetadata => {
                for (n, v) in &self.add[1] {
                    if !self.add[2].iter().any(|(m, _)| m == n) {
                        out.insert(n.clone(), v.clone());
                    }
                }
            }
            Category::Parsed => {
                for (n, v) in &self.add[2] {
                    out.insert(n.clone(), v.clone());
                }
                if !self.err.is_empty() {
                    out.insert(ERROR_LABEL.to_owned(), self.err.clone());
                }
                if !self.err_details.is_empty() {
                    out.insert(ERROR_DETAILS_LABEL.to_owned(), self.err_details.clone());
                }
            }
        }
        out
    }

    /// All current labels, including the error labels (what a log result's `stream` holds
    /// without `categorize-labels`).
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut all = self.category(Category::Stream);
        all.extend(self.category(Category::StructuredMetadata));
        all.extend(self.category(Category::Parsed));
        all
    }

    /// Every current label with its value, empty values included (template data).
    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |n: &str, v: &str| {
            if let Some(slot) = out.iter_mut().find(|(m, _)| m == n) {
                slot.1 = v.to_owned();
            } else {
                out.push((n.to_owned(), v.to_owned()));
            }
        };
        for (n, v) in &self.base {
            if !self.del.contains(n) {
                push(n, v);
            }
        }
        for cat in [0, 2, 1] {
            for (n, v) in &self.add[cat] {
                push(n, v);
            }
        }
        if !self.err.is_empty() {
            push(ERROR_LABEL, &self.err);
        }
        if !self.err_details.is_empty() {
            push(ERROR_DETAILS_LABEL, &self.err_details);
        }
        out
    }
}

/// One compiled stage.
pub(crate) trait Step: std::fmt::Debug + Send + Sync {
    /// Runs on one entry; false drops it. May rewrite `line` and the labels.
    fn process(&self, ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool;

    /// The stage as a pure line filter, which can run before any label work.
    fn as_line_filter(&self) -> Option<&line_filter::LineFilterStep> {
        None
    }
}

/// The result of running a pipeline over a kept entry. Label maps keep empty values.
#[derive(Clone, Debug, PartialEq)]
pub struct Processed {
    /// The (possibly rewritten) line.
    pub line: String,
    /// All labels: stream, structured metadata and parsed merged (`stream` of a log result).
    pub labels: BTreeMap<String, String>,
    /// Indexed stream labels left after the pipeline.
    pub stream: BTreeMap<String, String>,
    /// Structured metadata left after the pipeline.
    pub structured_metadata: BTreeMap<String, String>,
    /// Labels the pipeline produced, including `__error__`/`__error_details__`.
    pub parsed: BTreeMap<String, String>,
}

/// A compiled log pipeline.
#[derive(Debug)]
pub struct Pipeline {
    steps: Vec<Box<dyn Step>>,
    hints: Arc<Vec<HintFilter>>,
    /// How many leading steps are line filters (run on the borrowed line first).
    leading_filters: usize,
    /// Literals of the leading `|=` filters: every kept line contains each of them.
    required: Vec<String>,
}

/// Loki's stage error text: `stage '<stage>' : <reason>`.
fn stage_error(stage: &str, reason: &str) -> ParseError {
    ParseError::semantic(format!("stage '{stage}' : {reason}"))
}

impl Pipeline {
    /// Compiles stages; a stage that cannot be built (bad regex, bad IP pattern, bad
    /// template) gives Loki's `parse error : stage '...' : ...` error.
    pub fn new(stages: &[Stage]) -> Result<Self, ParseError> {
        let stages = reorder(stages);
        let stages = &stages[..];
        let mut hints = Vec::new();
        for st in stages {
            if let Stage::LabelFilter(lf) = st {
                collect_hints(lf, &mut hints);
            }
        }
        let mut steps: Vec<Box<dyn Step>> = Vec::with_capacity(stages.len());
        let mut i = 0;
        while i < stages.len() {
            // Consecutive line filters form one stage in Loki (and in its error texts).
            if let Stage::LineFilter(_) = &stages[i] {
                let start = i;
                while matches!(stages.get(i), Some(Stage::LineFilter(_))) {
                    i += 1;
                }
                let group: Vec<String> = stages[start..i].iter().map(|s| s.to_string()).collect();
                for s in &stages[start..i] {
                    if let Stage::LineFilter(lf) = s {
                        let step = line_filter::LineFilterStep::new(lf)
                            .map_err(|e| stage_error(&group.join(" "), &e))?;
                        steps.push(Box::new(step));
                    }
                }
                continue;
            }
            let st = &stages[i];
            let fail = |e: String| stage_error(&st.to_string(), &e);
            let step: Box<dyn Step> = match st {
                Stage::LineFilter(_) => unreachable_stage(),
                Stage::Json(params) if params.is_empty() => Box::new(json::JsonParser),
                Stage::Json(params) => {
                    Box::new(json::JsonExpressionParser::new(params).map_err(fail)?)
                }
                Stage::Unpack => Box::new(json::UnpackParser),
                Stage::Logfmt {
                    strict,
                    keep_empty,
                    params,
                } => {
                    Box::new(logfmt::LogfmtParser::new(*strict, *keep_empty, params).map_err(fail)?)
                }
                Stage::Regexp(re) => Box::new(regexp_parser::RegexpParser::new(re).map_err(fail)?),
                Stage::Pattern(p) => Box::new(pattern::PatternParser::new(p).map_err(fail)?),
                Stage::LabelFilter(lf) => {
                    Box::new(label_filter::LabelFilterStep::new(lf).map_err(fail)?)
                }
                Stage::LineFormat(t) => Box::new(format::LineFormatter::new(t).map_err(fail)?),
                Stage::LabelFormat(list) => {
                    Box::new(format::LabelsFormatter::new(list).map_err(fail)?)
                }
                Stage::Decolorize => Box::new(labels_ops::Decolorize::new()),
                Stage::Drop(list) => Box::new(labels_ops::DropLabels::new(list)),
                Stage::Keep(list) => Box::new(labels_ops::KeepLabels::new(list)),
            };
            steps.push(step);
            i += 1;
        }
        let leading_filters = steps
            .iter()
            .take_while(|s| s.as_line_filter().is_some())
            .count();
        let required = steps[..leading_filters]
            .iter()
            .filter_map(|s| s.as_line_filter().and_then(|f| f.required_literal()))
            .map(str::to_owned)
            .collect();
        Ok(Self {
            steps,
            hints: Arc::new(hints),
            leading_filters,
            required,
        })
    }

    /// Runs the pipeline over one entry. `None` when a filter drops it.
    pub fn process(
        &self,
        stream: &Labels,
        ts: i64,
        line: &str,
        metadata: &Labels,
    ) -> Option<Processed> {
        if !self.matches_line(line) {
            return None;
        }
        let mut lbs = LabelsBuilder::new(stream, metadata);
        lbs.hints = Some(self.hints.clone());
        let mut line = line.to_owned();
        let rest = &self.steps[self.leading_filters..];
        if !rest.iter().all(|s| s.process(ts, &mut line, &mut lbs)) {
            return None;
        }
        Some(Processed {
            labels: lbs.labels(),
            stream: lbs.category(Category::Stream),
            structured_metadata: lbs.category(Category::StructuredMetadata),
            parsed: lbs.category(Category::Parsed),
            line,
        })
    }

    /// True when the line passes the line filters that start the pipeline: a cheap test
    /// storage can run before decoding labels or metadata.
    pub fn matches_line(&self, line: &str) -> bool {
        self.steps[..self.leading_filters]
            .iter()
            .all(|s| s.as_line_filter().is_some_and(|f| f.keep(line)))
    }

    /// True when the pipeline starts with line filters (storage can apply them).
    pub fn has_line_filters(&self) -> bool {
        self.leading_filters > 0
    }

    /// Runs the stages over an existing builder (used by sample extraction).
    pub fn process_builder(&self, ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        if lbs.hints.is_none() {
            lbs.hints = Some(self.hints.clone());
        }
        self.steps.iter().all(|s| s.process(ts, line, lbs))
    }
}

impl crate::store::LineTest for Pipeline {
    fn keep(&self, line: &str) -> bool {
        self.matches_line(line)
    }

    fn required(&self) -> &[String] {
        &self.required
    }
}

/// Line filters are grouped before this match; this arm cannot be reached.
fn unreachable_stage() -> Box<dyn Step> {
    Box::new(labels_ops::Noop)
}

/// Loki's `sanitizeLabelKey`: trims, prefixes a leading digit with `_` (when `is_prefix`),
/// and replaces every character outside `[a-zA-Z0-9_]` with `_`.
pub fn sanitize_label_key(key: &str, is_prefix: bool) -> String {
    let key = key.trim();
    if key.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(key.len() + 1);
    if is_prefix && key.as_bytes()[0].is_ascii_digit() {
        out.push('_');
    }
    out.extend(key.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// Sets a label a parser extracted (`_extracted` when the stream has the name; a name an
/// earlier parser already extracted keeps its first value) and applies the pipeline's label
/// filters on it at once: false means the line is dropped.
pub(crate) fn set_parsed(lbs: &mut LabelsBuilder, name: &str, value: &str) -> bool {
    let name = if lbs.base_has(name) {
        format!("{name}{DUPLICATE_SUFFIX}")
    } else {
        name.to_owned()
    };
    if lbs.parsed_has(&name) || lbs.skip_extracting(&name) {
        return true;
    }
    lbs.set(Category::Parsed, &name, value);
    let Some(hints) = lbs.hints.clone() else {
        return true;
    };
    hints
        .iter()
        .filter(|h| h.label == name)
        .all(|h| h.filter.test(lbs))
}

/// The label filters parsers apply early: the leaves of `and` chains that test one label
/// (filters under `or` are not used).
fn collect_hints(lf: &super::ast::LabelFilter, out: &mut Vec<HintFilter>) {
    use super::ast::LabelFilter as F;
    let label = match lf {
        F::And(a, b) => {
            collect_hints(a, out);
            collect_hints(b, out);
            return;
        }
        F::Or(..) => return,
        F::Matcher(m) => m.name.clone(),
        F::Number { name, .. } | F::Duration { name, .. } | F::Bytes { name, .. } => name.clone(),
        F::Ip { name, .. } => name.clone(),
    };
    if label == ERROR_LABEL || label == ERROR_DETAILS_LABEL {
        return;
    }
    if let Ok(filter) = label_filter::Compiled::new(lf) {
        out.push(HintFilter { label, filter });
    }
}

/// Loki's stage order: line filters run before the other stages of their segment; label
/// filters, `line_format` and `unpack` (which rewrite the line or test labels) bound the
/// segments.
fn reorder(stages: &[Stage]) -> Vec<Stage> {
    let mut out = Vec::with_capacity(stages.len());
    let mut filters: Vec<Stage> = Vec::new();
    let mut others: Vec<Stage> = Vec::new();
    let flush = |out: &mut Vec<Stage>, filters: &mut Vec<Stage>, others: &mut Vec<Stage>| {
        out.append(filters);
        out.append(others);
    };
    for st in stages {
        match st {
            Stage::LabelFilter(_) => {
                flush(&mut out, &mut filters, &mut others);
                out.push(st.clone());
            }
            Stage::LineFilter(_) => filters.push(st.clone()),
            Stage::LineFormat(_) | Stage::Unpack => {
                others.push(st.clone());
                flush(&mut out, &mut filters, &mut others);
            }
            _ => others.push(st.clone()),
        }
    }
    flush(&mut out, &mut filters, &mut others);
    out
}

#[cfg(test)]
mod tests;
