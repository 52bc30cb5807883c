//! Alertmanager replacement.
