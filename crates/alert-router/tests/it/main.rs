//! Integration tests of `alert-router`: the API through `router()`, the dispatcher on paused
//! tokio time with an in-process transport, Telegram against a fake Bot API, and peer tests
//! with Debian's `amtool` / `alertmanager` when installed.

mod api;
mod api_diff;
mod blackbox;
mod common;
mod dispatch;
mod e2e;
mod ha;
mod peers;
mod telegram;
