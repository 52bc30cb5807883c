//! `time_intervals` / `mute_time_intervals` as written in the file.

use serde::Deserialize;

/// A named list of time intervals.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalsConfig {
    /// Name referenced by routes.
    pub name: String,
    /// Any of these intervals matches.
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalConfig>,
}

/// One interval: every present field must match.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    /// Time-of-day ranges `[start, end)`.
    #[serde(default)]
    pub times: Vec<TimeRangeConfig>,
    /// `monday`, `monday:friday`.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// `1`, `1:5`, `-3:-1`.
    #[serde(default)]
    pub days_of_month: Vec<String>,
    /// `1:3`, `may:august`.
    #[serde(default)]
    pub months: Vec<String>,
    /// `2020:2022`.
    #[serde(default)]
    pub years: Vec<String>,
    /// IANA zone; UTC by default.
    #[serde(default)]
    pub location: Option<String>,
}

/// `{start_time: "HH:MM", end_time: "HH:MM"}`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeConfig {
    /// Inclusive start.
    pub start_time: String,
    /// Exclusive end (`24:00` allowed).
    pub end_time: String,
}
