//! Per-partner rate limits: a token bucket per partner, refilled continuously, sized by
//! `rate_limit_per_minute`. In memory, so each replica enforces its share.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `partner`, or says how many seconds until one is available.
    pub fn check(&self, partner: &str) -> Result<(), u64> {
        self.check_at(partner, Instant::now())
    }

    fn check_at(&self, partner: &str, now: Instant) -> Result<(), u64> {
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let (tokens, last) = buckets
            .entry(partner.to_owned())
            .or_insert((self.per_minute, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * rate).min(self.per_minute);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_partner_gets_its_burst_then_waits_for_refill() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("p1", t0).is_ok());
        }
        let wait = limiter.check_at("p1", t0).unwrap_err();
        assert_eq!(wait, 20, "one token per 20 s at 3 per minute");
        assert!(
            limiter.check_at("p2", t0).is_ok(),
            "partners have separate buckets"
        );
        assert!(limiter.check_at("p1", t0 + Duration::from_secs(20)).is_ok());
    }
}
