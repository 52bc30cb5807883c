//! `http_config` of `global` and of each integration: prometheus/common's block, shared
//! through `lgtm_common::http_client`, plus what this router reports about it at load.

pub use lgtm_common::http_client::HttpClientConfig as HttpConfig;

/// Applies prometheus/common's validation and lists settings accepted but not applied.
pub fn validate_http(h: &HttpConfig, warnings: &mut Vec<String>, ctx: &str) -> Result<(), String> {
    h.validate().map_err(|e| e.to_string())?;
    if h.oauth2.is_some() {
        warnings.push(format!(
            "{ctx}: http_config.oauth2 is accepted but not applied"
        ));
    }
    if h.proxy_connect_header.is_some() {
        warnings.push(format!(
            "{ctx}: http_config.proxy_connect_header is accepted but not applied"
        ));
    }
    Ok(())
}
