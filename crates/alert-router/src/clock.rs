//! Wall-clock time derived from tokio's clock.
//!
//! Group timers run on `tokio::time`; deriving wall time from the same clock means a test
//! with paused tokio time sees timestamps, timers and expiry move together, and production
//! sees the real time. (`lgtm_common::clock::MockClock` moves by hand and would not drive
//! tokio timers, so this clock implements the shared `Clock` trait instead of using it.)

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// A wall clock anchored to a tokio instant.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall: DateTime<Utc>,
    mono: Instant,
}

impl Clock {
    /// A clock reading the real time now (or the paused test time from here on).
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock that reads `wall` now and advances with tokio's clock.
    pub fn starting_at(wall: DateTime<Utc>) -> Self {
        Self {
            wall,
            mono: Instant::now(),
        }
    }

    /// Current wall time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.mono);
        self.wall + chrono::Duration::from_std(elapsed).unwrap_or_else(|_| chrono::Duration::zero())
    }

    /// The tokio instant at which wall time `t` is (or was) reached.
    pub fn instant_at(&self, t: DateTime<Utc>) -> Instant {
        let delta = t - self.now();
        let now = Instant::now();
        match delta.to_std() {
            Ok(d) => now + d,
            Err(_) => now,
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl lgtm_common::clock::Clock for Clock {
    fn now_ns(&self) -> i64 {
        self.now().timestamp_nanos_opt().unwrap_or(i64::MAX)
    }

    fn now(&self) -> DateTime<Utc> {
        Clock::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = Clock::starting_at(start);
        tokio::time::sleep(std::time::Duration::from_secs(90)).await;
        assert_eq!(c.now(), start + chrono::Duration::seconds(90));
        assert_eq!(
            lgtm_common::clock::Clock::now_ms(&c),
            (start.timestamp() + 90) * 1000
        );
        let later = start + chrono::Duration::seconds(120);
        assert_eq!(
            c.instant_at(later) - tokio::time::Instant::now(),
            std::time::Duration::from_secs(30)
        );
    }
}
