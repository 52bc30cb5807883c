//! PromQL: lexer, parser, AST printer and the step-evaluation engine.
//!
//! Layout: [`lexer`] → [`parser`] → [`ast`] (with Prometheus' canonical printer) →
//! [`engine`] (instant and range evaluation over a [`storage::Queryable`]).
//!
//! # Shared step-evaluation core (for LogQL metric queries)
//!
//! The building blocks below work on plain [`value::Vector`] / [`value::Series`] values and do
//! not need a PromQL AST, so LogQL can build range vectors from log lines and reuse them:
//!
//! * [`aggregation::aggregate`] — `sum`/`avg`/`count`/`min`/`max`/`topk`/`quantile`/... with a
//!   [`aggregation::Grouping`] (`by`/`without`).
//! * [`binary::vector_vector`], [`binary::vector_scalar`], [`binary::scalar_op`] — arithmetic,
//!   comparisons (with `bool`), set operators and `on`/`ignoring`/`group_*` matching.
//! * [`functions::rate`] (`extrapolated_rate`, `instant_value`, `deriv`, ...) and
//!   [`functions::over_time::eval`] — range functions over one series' window, given a
//!   [`functions::rate::RangeCtx`] describing the window.
//!
//! `__name__` removal: operations mark samples with `drop_name` instead of removing the
//! metric name; [`engine::Engine`] removes it right after the operation (Prometheus' default)
//! or, with `EngineOptions::delayed_name_removal`, when it returns the result.
//!
//! Language coverage: everything in Prometheus 3.14's PromQL, including native histograms
//! (exponential and custom buckets), the experimental functions, `anchored`/`smoothed` range
//! selectors, histogram trim operators (`</`, `>/`), `fill*` binary modifiers, duration
//! expressions and start-timestamp-aware `rate`/`increase`. Experimental syntax is accepted
//! only when enabled in [`parser::ParserOptions`]; [`parse`] accepts stable PromQL.
//!
//! # Example
//!
//! ```
//! use lgtm_common::labels::Labels;
//! use lgtm_promql::{parse, Engine, EngineOptions, value::Value};
//! use lgtm_promql::storage::MemStorage;
//!
//! let storage = MemStorage::new();
//! let series = Labels::from_pairs([("__name__", "http_requests_total"), ("job", "api")]);
//! for minute in 0..10 {
//!     storage.add_float(&series, minute * 60_000, (minute * 120) as f64);
//! }
//! let query = "sum by (job) (rate(http_requests_total[5m]))";
//! let expr = parse(query).unwrap();
//! let result = Engine::new(EngineOptions::default())
//!     .instant_query(&storage, query, &expr, 540_000, None)
//!     .unwrap();
//! let Value::Vector(v) = result.value else { unreachable!() };
//! assert_eq!(v[0].labels.to_string(), r#"{job="api"}"#);
//! assert!((v[0].f - 2.0).abs() < 1e-9);
//! assert_eq!(expr.to_string(), "sum by (job) (rate(http_requests_total[5m]))");
//! ```
//!
//! The [`promqltest`] module runs Prometheus' own test-file language against the engine
//! (2214 of 2214 upstream `eval` blocks pass; see `docs/metrics-tsdb.md`).

pub mod aggregation;
pub mod annotations;
pub mod ast;
pub mod ast_json;
pub mod binary;
pub mod engine;
pub mod error;
pub mod functions;
pub mod histogram;
pub mod lexer;
pub mod parser;
pub mod promqltest;
pub mod storage;
pub mod value;

pub use engine::{CancelToken, Engine, EngineOptions, QueryResult};
pub use error::{Error, Result};
pub use parser::{ParserOptions, parse, parse_with};
