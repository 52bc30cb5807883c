//! `| line_format "template"` and `| label_format a=b, c="template"`: Go templates with
//! Loki's function set (`lgtm-template`), executed over the entry's labels with
//! `missingkey=zero`. A failing template sets `__error__="TemplateFormatErr"`.

use lgtm_template::{Env, MissingKey, TemplateSet, Value, loki_funcs};

use super::{Category, ERR_TEMPLATE, LabelsBuilder, Step};
use crate::logql::ast::LabelFormat;

fn new_set() -> TemplateSet {
    TemplateSet::new()
        .with_funcs(loki_funcs())
        .with_missing_key(MissingKey::Zero)
}

fn data(lbs: &LabelsBuilder) -> Value {
    Value::string_map(lbs.snapshot())
}

/// `| line_format`.
#[derive(Debug)]
pub(crate) struct LineFormatter {
    set: TemplateSet,
}

impl LineFormatter {
    pub(crate) fn new(text: &str) -> Result<Self, String> {
        let mut set = new_set();
        set.parse("line", text)
            .map_err(|e| format!("invalid line template: {e}"))?;
        Ok(Self { set })
    }
}

impl Step for LineFormatter {
    fn process(&self, ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        let env = Env {
            line: Some(line.as_str()),
            timestamp_nanos: Some(ts),
            ..Env::default()
        };
        match self.set.execute_with("line", &data(lbs), &env) {
            Ok(out) => *line = out,
            Err(e) => lbs.add_error(ERR_TEMPLATE, &e.to_string()),
        }
        true
    }
}

#[derive(Debug)]
enum Fmt {
    Rename { name: String, from: String },
    Template { name: String, set: TemplateSet },
}

/// `| label_format`.
#[derive(Debug)]
pub(crate) struct LabelsFormatter {
    formats: Vec<Fmt>,
}

impl LabelsFormatter {
    pub(crate) fn new(list: &[LabelFormat]) -> Result<Self, String> {
        let mut formats = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for f in list {
            if seen.contains(&f.name.as_str()) {
                return Err(format!(
                    "multiple label name '{}' not allowed in a single format operation",
                    f.name
                ));
            }
            seen.push(&f.name);
            if f.rename {
                formats.push(Fmt::Rename {
                    name: f.name.clone(),
                    from: f.value.clone(),
                });
                continue;
            }
            let mut set = new_set();
            set.parse("label", &f.value)
                .map_err(|e| format!("invalid template for label '{}': {e}", f.name))?;
            formats.push(Fmt::Template {
                name: f.name.clone(),
                set,
            });
        }
        Ok(Self { formats })
    }
}

impl Step for LabelsFormatter {
    fn process(&self, ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        let mut snapshot: Option<Value> = None;
        for f in &self.formats {
            match f {
                Fmt::Rename { name, from } => {
                    if let Some((v, cat)) = lbs.get_with_category(from) {
                        lbs.set(cat, name, &v);
                        lbs.del(from);
                    }
                }
                Fmt::Template { name, set } => {
                    let d = snapshot.get_or_insert_with(|| data(lbs));
                    let env = Env {
                        line: Some(line.as_str()),
                        timestamp_nanos: Some(ts),
                        ..Env::default()
                    };
                    match set.execute_with("label", d, &env) {
                        Ok(out) => lbs.set(Category::Parsed, name, &out),
                        Err(e) => lbs.add_error(ERR_TEMPLATE, &e.to_string()),
                    }
                }
            }
        }
        true
    }
}
