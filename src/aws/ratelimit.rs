//! Client-side pacing per AWS operation, so jobctl stays under the account's TPS quotas instead of
//! discovering them through ThrottlingException.
//!
//! Each operation gets evenly spaced slots (no burst): at 10 TPS a call may start every 100 ms.
//! Spacing rather than a bucket keeps concurrent workers from bunching up at one instant and
//! tripping the service's own bucket.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// AWS's default control-plane rate for every job API.
pub const DEFAULT_TPS: f64 = 10.0;

#[derive(Debug)]
pub struct RateLimiter {
    default_tps: f64,
    overrides: HashMap<String, f64>,
    next_slot: Mutex<HashMap<&'static str, Instant>>,
}

impl RateLimiter {
    /// `default_tps` of 0 disables pacing for operations without an override.
    pub fn new(default_tps: f64, overrides: HashMap<String, f64>) -> Self {
        Self {
            default_tps,
            overrides,
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    fn interval(&self, operation: &str) -> Option<Duration> {
        let tps = self
            .overrides
            .get(operation)
            .copied()
            .unwrap_or(self.default_tps);
        (tps > 0.0).then(|| Duration::from_secs_f64(1.0 / tps))
    }

    /// Waits until `operation` may be called again.
    pub async fn acquire(&self, operation: &'static str) {
        let Some(interval) = self.interval(operation) else {
            return;
        };
        let wait = {
            let mut slots = match self.next_slot.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let now = Instant::now();
            let slot = slots.entry(operation).or_insert(now);
            let start = (*slot).max(now);
            *slot = start + interval;
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_per_operation() {
        let limiter = RateLimiter::new(10.0, HashMap::from([("DescribeJob".to_string(), 0.0)]));
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            limiter.acquire("CreateJob").await;
        }
        // Five calls at 10 TPS: the first is immediate, the fifth starts 400 ms later.
        assert_eq!(start.elapsed().as_millis(), 400);
        let before = tokio::time::Instant::now();
        for _ in 0..100 {
            limiter.acquire("DescribeJob").await;
        }
        assert_eq!(
            before.elapsed().as_millis(),
            0,
            "an override of 0 disables pacing"
        );
    }
}
