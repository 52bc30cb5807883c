//! An injectable wall clock, so that head cutting, retention, group timers and rule evaluation
//! can be tested by moving time by hand instead of sleeping.
//!
//! Services take an `Arc<dyn Clock>` ([`SharedClock`]); production passes [`SystemClock`],
//! tests pass a [`MockClock`] and call [`MockClock::advance`].

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The clock type services store and share.
pub type SharedClock = Arc<dyn Clock>;

/// A source of "now". Implementations must be cheap and thread-safe.
pub trait Clock: Send + Sync + Debug {
    /// Current time in nanoseconds since the Unix epoch (Loki and Tempo resolution).
    fn now_ns(&self) -> i64;

    /// Current time in milliseconds since the Unix epoch (Prometheus resolution).
    fn now_ms(&self) -> i64 {
        self.now_ns().div_euclid(1_000_000)
    }

    /// Current time as a chrono UTC timestamp, for formatting and calendar arithmetic.
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.now_ns())
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl SystemClock {
    /// A shared handle to the system clock, the production default.
    pub fn shared() -> SharedClock {
        Arc::new(Self)
    }
}

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same time, so a test can keep one
/// handle and give another (as `Arc<dyn Clock>`) to the code under test.
#[derive(Debug, Clone, Default)]
pub struct MockClock {
    nanos: Arc<AtomicI64>,
}

impl MockClock {
    /// A clock stopped at `unix_nanos`.
    pub fn new(unix_nanos: i64) -> Self {
        Self {
            nanos: Arc::new(AtomicI64::new(unix_nanos)),
        }
    }

    /// A clock stopped at `unix_millis`.
    pub fn from_millis(unix_millis: i64) -> Self {
        Self::new(unix_millis.saturating_mul(1_000_000))
    }

    /// A clock stopped at a chrono timestamp (saturating outside 1677..2262).
    pub fn at(time: DateTime<Utc>) -> Self {
        Self::new(
            time.timestamp_nanos_opt()
                .unwrap_or(if time.timestamp() < 0 {
                    i64::MIN
                } else {
                    i64::MAX
                }),
        )
    }

    /// A shared handle to this clock for the code under test; the mock keeps control of time.
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let delta = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.advance_ns(delta);
    }

    /// Moves time by a signed number of nanoseconds (negative moves it back).
    pub fn advance_ns(&self, delta: i64) {
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(delta))
            });
    }

    /// Sets the time to `unix_nanos`.
    pub fn set_ns(&self, unix_nanos: i64) {
        self.nanos.store(unix_nanos, Ordering::SeqCst);
    }

    /// Sets the time to `unix_millis`.
    pub fn set_ms(&self, unix_millis: i64) {
        self.set_ns(unix_millis.saturating_mul(1_000_000));
    }
}

impl Clock for MockClock {
    fn now_ns(&self) -> i64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_moves_only_by_hand_and_clones_share_time() {
        let clock = MockClock::from_millis(1_435_781_451_781);
        let shared: SharedClock = clock.shared();
        assert_eq!(shared.now_ms(), 1_435_781_451_781);
        assert_eq!(shared.now_ns(), 1_435_781_451_781_000_000);
        assert_eq!(
            shared
                .now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2015-07-01T20:10:51.781Z"
        );
        clock.advance(Duration::from_secs(60));
        assert_eq!(shared.now_ms(), 1_435_781_511_781);
        clock.advance_ns(-1_000_000);
        assert_eq!(shared.now_ms(), 1_435_781_511_780);
        clock.set_ms(0);
        assert_eq!(shared.now_ns(), 0);
    }

    #[test]
    fn now_ms_floors_before_the_epoch() {
        let clock = MockClock::new(-1);
        assert_eq!(clock.now_ms(), -1);
    }

    #[test]
    fn system_clock_is_close_to_chrono_now() {
        let clock = SystemClock::shared();
        let before = Utc::now().timestamp_millis();
        let now = clock.now_ms();
        let after = Utc::now().timestamp_millis();
        assert!(before <= now && now <= after, "{before} {now} {after}");
    }

    #[test]
    fn mock_clock_at_chrono_time() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = MockClock::at(t);
        assert_eq!(clock.now(), t);
    }
}
