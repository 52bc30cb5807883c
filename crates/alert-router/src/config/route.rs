//! The `route` tree as written in the file.

use std::collections::BTreeMap;

use serde::Deserialize;

use lgtm_common::duration::PromDuration;

/// One node of the routing tree, exactly as in the YAML.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Receiver for alerts ending here; inherited when empty.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Grouping labels; `['...']` groups by every label.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Keep matching siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match")]
    pub match_eq: BTreeMap<String, String>,
    /// Deprecated regex matchers (anchored).
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    /// Matcher strings, each possibly holding several matchers.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Wait before the first notification of a new group.
    #[serde(default)]
    pub group_wait: Option<PromDuration>,
    /// Wait between notifications about changes of a group.
    #[serde(default)]
    pub group_interval: Option<PromDuration>,
    /// Wait before repeating an unchanged notification.
    #[serde(default)]
    pub repeat_interval: Option<PromDuration>,
    /// Time intervals during which this route does not notify (not inherited).
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside which this route does not notify (not inherited).
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// Child routes.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}
