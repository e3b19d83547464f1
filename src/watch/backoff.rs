//! Per-resource retry scheduling for the daemon: exponential, jittered, capped (kube-runtime's
//! defaults: 800 ms doubling to 30 s), so one failing job or template is retried on its own clock
//! and never holds up the others.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::ResourceId;

const BASE: Duration = Duration::from_millis(800);
const CAP: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Backoff {
    jobs: HashMap<ResourceId, (u32, Instant)>,
}

impl Backoff {
    /// Records a failure; returns how long until the job is tried again.
    pub fn failed(&mut self, resource: &ResourceId) -> Duration {
        let attempts = self.jobs.get(resource).map_or(0, |(n, _)| *n) + 1;
        let exponential = BASE.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
        let capped = exponential.min(CAP);
        // Jitter in [50%, 100%] of the delay, so jobs that failed together spread out.
        let jittered = capped.mul_f64(0.5 + fastrand::f64() * 0.5);
        self.jobs
            .insert(resource.clone(), (attempts, Instant::now() + jittered));
        jittered
    }

    pub fn succeeded(&mut self, resource: &ResourceId) {
        self.jobs.remove(resource);
    }

    /// Keeps only the resources for which `keep` is true.
    pub fn retain(&mut self, keep: impl Fn(&ResourceId) -> bool) {
        self.jobs.retain(|resource, _| keep(resource));
    }

    /// True while the resource must not be applied yet.
    pub fn waiting(&self, resource: &ResourceId) -> bool {
        self.jobs
            .get(resource)
            .is_some_and(|(_, until)| *until > Instant::now())
    }

    /// The earliest moment a job becomes due again.
    pub fn next_due(&self) -> Option<Instant> {
        self.jobs.values().map(|(_, until)| *until).min()
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let mut backoff = Backoff::default();
        let (a, b) = (ResourceId::job("a"), ResourceId::job("b"));
        let mut previous_max = Duration::ZERO;
        for attempt in 1..=12 {
            let delay = backoff.failed(&a);
            let ceiling = BASE.saturating_mul(1 << (attempt - 1)).min(CAP);
            assert!(
                delay <= ceiling && delay >= ceiling / 2,
                "attempt {attempt}: {delay:?}"
            );
            previous_max = previous_max.max(delay);
        }
        assert!(previous_max <= CAP);
        assert!(backoff.waiting(&a));
        assert!(!backoff.waiting(&b));
        backoff.succeeded(&a);
        assert!(backoff.is_empty());
        assert!(backoff.next_due().is_none());
    }
}
