//! Promtail replacement
//!
//! Not implemented yet: this crate is a placeholder in the workspace so later waves have
//! their place. It exposes nothing and is not offered as a target by `lgtm`.
