//! Per-tenant ingestion rate limit: a token bucket of `rate` bytes per second holding at
//! most `burst` bytes (Loki's `ingestion_rate_mb` / `ingestion_burst_size_mb`, local
//! strategy: one process). Time comes from the caller so tests control it.

use std::collections::HashMap;

use parking_lot::Mutex;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last_ns: i64,
}

/// Token buckets keyed by tenant.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `rate` bytes/s with `burst` bytes; a rate ≤ 0 disables the limit.
    pub(crate) fn new(rate: f64, burst: f64) -> Self {
        RateLimiter {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The limit in bytes per second, as Loki prints it.
    pub(crate) fn limit(&self) -> i64 {
        self.rate as i64
    }

    /// Takes `bytes` tokens at `now_ns` if available (all or nothing).
    pub(crate) fn allow(&self, tenant: &str, bytes: usize, now_ns: i64) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock();
        let b = buckets.entry(tenant.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            last_ns: now_ns,
        });
        let elapsed = (now_ns - b.last_ns).max(0) as f64 / 1e9;
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.last_ns = now_ns;
        let need = bytes as f64;
        if need <= b.tokens {
            b.tokens -= need;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let r = RateLimiter::new(100.0, 300.0);
        assert!(r.allow("a", 300, 0));
        assert!(!r.allow("a", 1, 0));
        assert!(r.allow("b", 300, 0), "tenants are independent");
        assert!(!r.allow("a", 101, 1_000_000_000));
        assert!(r.allow("a", 100, 1_000_000_000));
        assert!(
            !r.allow("a", 400, 100_000_000_000),
            "never more than the burst"
        );
    }
}
