//! Integration tests of `lgtm-promql` (one test binary, one module per area).

mod no_panic;
