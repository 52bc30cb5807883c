//! `| regexp "re"`: named capture groups become labels.

use regex::Regex;

use super::{LabelsBuilder, Step, sanitize_label_key, set_parsed};
use crate::logql::regex_go;

/// A compiled regexp parser.
#[derive(Debug)]
pub(crate) struct RegexpParser {
    regex: Regex,
    /// `(group index, label name)` for named groups.
    names: Vec<(usize, String)>,
}

impl RegexpParser {
    /// Compiles the expression; errors are Loki's texts (without the `invalid regexp
    /// parser:` prefix the parser adds).
    pub(crate) fn new(re: &str) -> Result<Self, String> {
        let (regex, go_names) = regex_go::compile_with_names(re)?;
        let mut names: Vec<(usize, String)> = Vec::new();
        for (i, n) in go_names.iter().enumerate() {
            let Some(n) = n else { continue };
            if names.iter().any(|(_, m)| m == n) {
                return Err(format!("duplicate extracted label name '{n}'"));
            }
            names.push((i, n.clone()));
        }
        if names.is_empty() {
            return Err("at least one named capture must be supplied".to_owned());
        }
        Ok(Self { regex, names })
    }
}

impl Step for RegexpParser {
    fn process(&self, _ts: i64, line: &mut String, lbs: &mut LabelsBuilder) -> bool {
        let Some(caps) = self.regex.captures(line) else {
            return true;
        };
        for (i, name) in &self.names {
            let value = caps.get(*i).map_or("", |m| m.as_str());
            let key = sanitize_label_key(name, true);
            if !key.is_empty() {
                let _ = set_parsed(lbs, &key, value);
            }
        }
        true
    }
}
