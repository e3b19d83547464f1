//! Everything that makes the emulator say "no" for reasons other than the request itself:
//! per-operation token buckets (`--aws-limits`, `--tps`), scripted failures (`--fail`) and
//! seeded random faults (`--fault-rate`, `--seed`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{ApiError, ErrorCode};
use crate::op::Op;
use crate::rng::Rng;

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

/// One token bucket per (region, operation), refilled continuously at the operation's
/// rate with a burst of one second's worth, which is how AWS describes its TPS quotas.
#[derive(Debug)]
pub struct RateLimits {
    rates: HashMap<Op, f64>,
    buckets: Mutex<HashMap<(String, Op), Bucket>>,
}

impl RateLimits {
    /// `aws_limits` gives every job operation its documented 10 TPS; `overrides` (from
    /// `--tps`) set or add single operations.
    pub fn new(aws_limits: bool, overrides: &[(Op, f64)]) -> Self {
        let mut rates = HashMap::new();
        if aws_limits {
            for op in Op::ALL {
                if op.is_job_api() {
                    rates.insert(op, 10.0);
                }
            }
        }
        for (op, rate) in overrides {
            rates.insert(*op, *rate);
        }
        RateLimits {
            rates,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, region: &str, op: Op) -> Result<(), ApiError> {
        let Some(&rate) = self.rates.get(&op) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets
            .entry((region.to_owned(), op))
            .or_insert_with(|| Bucket {
                rate,
                tokens: rate.max(1.0),
                last: now,
            });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * b.rate).min(b.rate.max(1.0));
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Throttling, "Rate exceeded"))
        }
    }

    pub fn reset(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// `--fail OP=Code[:N]`: answer `code` on `op`, `remaining` more times (`None` = always).
#[derive(Debug, Clone, PartialEq)]
pub struct FailRule {
    pub op: Op,
    pub code: ErrorCode,
    pub remaining: Option<u64>,
}

/// Scripted failures and random faults, checked before an operation runs.
#[derive(Debug)]
pub struct Faults {
    rules: Mutex<Vec<FailRule>>,
    initial: Vec<FailRule>,
    rate: f64,
    seed: u64,
    rng: Mutex<Rng>,
}

impl Faults {
    pub fn new(rules: Vec<FailRule>, rate: f64, seed: u64) -> Self {
        Faults {
            rules: Mutex::new(rules.clone()),
            initial: rules,
            rate,
            seed,
            rng: Mutex::new(Rng::new(seed)),
        }
    }

    /// Scripted failures win over random ones, so a test that scripts one is not
    /// disturbed by a fault rate.
    pub fn check(&self, op: Op) -> Result<(), ApiError> {
        {
            let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(rule) = rules
                .iter_mut()
                .find(|r| r.op == op && r.remaining != Some(0))
            {
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
                return Err(ApiError::new(
                    rule.code,
                    format!("Injected by --fail {}={}", op.as_str(), rule.code),
                ));
            }
        }
        if self.rate > 0.0 {
            // One draw per request keeps the sequence a pure function of the seed and the
            // order of requests.
            let u = self
                .rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .next_f64();
            if u < self.rate {
                let code = if u < self.rate / 2.0 {
                    ErrorCode::ServiceUnavailable
                } else {
                    ErrorCode::InternalFailure
                };
                return Err(ApiError::new(code, "Injected by --fault-rate"));
            }
        }
        Ok(())
    }

    /// Back to the state at startup (used by `/_emulator/reset`).
    pub fn reset(&self) {
        *self.rules.lock().unwrap_or_else(|p| p.into_inner()) = self.initial.clone();
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = Rng::new(self.seed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_throttles() {
        let limits = RateLimits::new(false, &[(Op::DescribeJob, 3.0)]);
        for _ in 0..3 {
            assert!(limits.check("us-east-1", Op::DescribeJob).is_ok());
        }
        let err = limits.check("us-east-1", Op::DescribeJob).unwrap_err();
        assert_eq!(err.code, ErrorCode::Throttling);
        // Other regions and operations have their own buckets or none.
        assert!(limits.check("eu-west-1", Op::DescribeJob).is_ok());
        assert!(limits.check("us-east-1", Op::ListJobs).is_ok());
    }

    #[test]
    fn fail_rules_count_down() {
        let f = Faults::new(
            vec![FailRule {
                op: Op::CreateJob,
                code: ErrorCode::Throttling,
                remaining: Some(2),
            }],
            0.0,
            1,
        );
        assert!(f.check(Op::CreateJob).is_err());
        assert!(f.check(Op::CreateJob).is_err());
        assert!(f.check(Op::CreateJob).is_ok());
        assert!(f.check(Op::DescribeJob).is_ok());
        f.reset();
        assert!(f.check(Op::CreateJob).is_err());
    }
}
