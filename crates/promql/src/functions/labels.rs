//! `label_replace` and `label_join`.

use lgtm_common::labels::{METRIC_NAME, is_valid_label_name};
use regex::Regex;

use crate::error::{Error, Result};
use crate::value::Vector;

/// `label_replace(v, dst, replacement, src, regex)`.
pub fn label_replace(mut v: Vector, dst: &str, repl: &str, src: &str, re: &str) -> Result<Vector> {
    let regex = Regex::new(&format!("^(?s:{re})$")).map_err(|e| {
        Error::Eval(format!(
            "invalid regular expression in label_replace(): {re}: {e}"
        ))
    })?;
    if !is_valid_label_name(dst) && (dst.is_empty() || crate::lexer::has_raw_bytes(dst)) {
        return Err(Error::Eval(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    for s in &mut v {
        let val = s.labels.get_or_empty(src).to_owned();
        if let Some(caps) = regex.captures(&val) {
            let mut out = String::new();
            caps.expand(repl, &mut out);
            s.labels = s.labels.with(dst, &out);
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    Ok(v)
}

/// `label_join(v, dst, sep, src...)`.
pub fn label_join(mut v: Vector, dst: &str, sep: &str, srcs: &[String]) -> Result<Vector> {
    if dst.is_empty() || crate::lexer::has_raw_bytes(dst) {
        return Err(Error::Eval(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|l| s.labels.get_or_empty(l))
            .collect::<Vec<_>>()
            .join(sep);
        s.labels = s.labels.with(dst, &joined);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(v)
}
