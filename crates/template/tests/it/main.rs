//! Integration tests for lgtm-template, one module per area. Expected outputs follow Go's
//! documented `text/template` semantics and the upstream projects' documented examples.

mod alertmanager;
mod errors;
mod go_exec;
mod html;
mod lang;
mod loki;
mod loki_corpus;
mod prometheus;
mod props;

use lgtm_template::{MissingKey, TemplateSet, Value};

/// Parse `text` as template "t" in a fresh set and execute it.
pub(crate) fn run(text: &str, data: &Value) -> Result<String, lgtm_template::Error> {
    run_mode(text, data, MissingKey::Default)
}

pub(crate) fn run_mode(
    text: &str,
    data: &Value,
    mode: MissingKey,
) -> Result<String, lgtm_template::Error> {
    let mut set = TemplateSet::new().with_missing_key(mode);
    set.parse("t", text)?;
    set.execute("t", data)
}

/// Render and unwrap, with the text in the panic message.
pub(crate) fn ok(text: &str, data: &Value) -> String {
    match run(text, data) {
        Ok(s) => s,
        Err(e) => panic!("{text:?} failed: {e}"),
    }
}

pub(crate) fn err(text: &str, data: &Value) -> String {
    match run(text, data) {
        Ok(s) => panic!("{text:?} unexpectedly rendered {s:?}"),
        Err(e) => e.to_string(),
    }
}
