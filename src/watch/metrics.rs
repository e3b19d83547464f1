//! The daemon's counters and gauges, and their Prometheus text exposition. Readiness lives here
//! too, because `/readyz` and `jobctl_ready` must never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Trigger;
use crate::aws::ApiStats;
use crate::engine::plan::Action;

/// Upper bounds of the reconcile-duration histogram, in seconds.
const BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Error codes counted as throttling (AWS's throttling list, as the SDK classifies it).
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "LimitExceededException",
    "RequestLimitExceeded",
    "HTTP429",
];

pub struct PassOutcome {
    pub duration: Duration,
    /// Every AWS call of the pass eventually succeeded.
    pub api_ok: bool,
    pub blocked: usize,
    pub in_backoff: usize,
    /// Unix time the pass ended.
    pub finished_at: f64,
    /// Why the daemon is not ready, or `None` when it is.
    pub not_ready: Option<String>,
}

#[derive(Default)]
struct State {
    reconciles: BTreeMap<&'static str, u64>,
    reconcile_errors: u64,
    duration_buckets: Vec<u64>,
    duration_sum: f64,
    duration_count: u64,
    changes: BTreeMap<&'static str, u64>,
    manifests: usize,
    invalid_manifests: usize,
    blocked: usize,
    in_backoff: usize,
    last_success: Option<f64>,
    /// `Some(reason)` while not ready; starts not ready until the first pass ends.
    not_ready: Option<String>,
    /// When the pass in progress started.
    pass_started: Option<Instant>,
    /// Per-job gauges of the active jobs this instance owns.
    jobs: super::jobs::JobGauges,
    /// Per declared rollout: each stage's phase, promotions and halts seen by this daemon.
    rollouts: BTreeMap<String, RolloutSeries>,
}

/// A declared rollout's series.
#[derive(Default)]
struct RolloutSeries {
    /// (stage, phase), in stage order.
    stages: Vec<(String, &'static str)>,
    promotions: u64,
    halts: u64,
}

pub struct Metrics {
    api: Arc<ApiStats>,
    state: Mutex<State>,
    /// How long a pass may run before `/healthz` says the daemon is wedged.
    max_pass_duration: Duration,
}

impl Metrics {
    pub fn new(api: Arc<ApiStats>, max_pass_duration: Duration) -> Self {
        Self {
            api,
            max_pass_duration,
            state: Mutex::new(State {
                duration_buckets: vec![0; BUCKETS.len()],
                not_ready: Some("the first reconcile has not finished".into()),
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn begin(&self, trigger: Trigger) {
        let mut s = self.lock();
        *s.reconciles.entry(trigger.as_str()).or_default() += 1;
        s.pass_started = Some(Instant::now());
    }

    /// Why the daemon is not healthy: a pass that has run longer than the limit is wedged
    /// (a hung file system or call), and only a restart helps.
    pub fn unhealthy(&self) -> Option<String> {
        let running = self.lock().pass_started?.elapsed();
        (running > self.max_pass_duration).then(|| {
            format!(
                "a reconcile pass has run for {} s, longer than --max-pass-duration ({} s)",
                running.as_secs(),
                self.max_pass_duration.as_secs_f64()
            )
        })
    }

    pub fn set_manifests(&self, valid: usize, invalid: usize) {
        let mut s = self.lock();
        s.manifests = valid;
        s.invalid_manifests = invalid;
    }

    pub fn change_applied(&self, action: Action) {
        *self.lock().changes.entry(action.as_str()).or_default() += 1;
    }

    pub fn finish(&self, outcome: &PassOutcome) {
        let mut s = self.lock();
        let secs = outcome.duration.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.duration_buckets[i] += 1;
            }
        }
        s.duration_sum += secs;
        s.duration_count += 1;
        if outcome.api_ok {
            s.last_success = Some(outcome.finished_at);
        } else {
            s.reconcile_errors += 1;
        }
        s.pass_started = None;
        s.blocked = outcome.blocked;
        s.in_backoff = outcome.in_backoff;
        s.not_ready.clone_from(&outcome.not_ready);
    }

    /// Takes the job counts a pass's plan read; returns the jobs that left the active set,
    /// with their tolerance, to be read once and passed to [`Self::job_finished`].
    pub fn jobs_observed(
        &self,
        plan: &crate::engine::plan::Plan,
        default_tolerance: f64,
    ) -> Vec<(String, f64)> {
        self.lock()
            .jobs
            .observe(plan, default_tolerance, Instant::now())
    }

    /// A job's final counts after it left the active set (`None`: it is gone).
    pub fn job_finished(
        &self,
        job_id: &str,
        last: Option<(
            crate::engine::health::Health,
            crate::domain::JobProcessDetails,
        )>,
    ) {
        self.lock().jobs.finished(job_id, last, Instant::now());
    }

    /// Takes a pass's advance of the declared rollouts: their stages' phases, and the
    /// promotions and halts it carried out. Rollouts no longer declared are dropped.
    pub fn rollouts_advanced(&self, runs: &[crate::engine::advance::RolloutRun]) {
        use crate::engine::advance::RolloutEvent;
        let mut s = self.lock();
        let mut next = BTreeMap::new();
        for run in runs {
            let mut series = s.rollouts.remove(&run.job_id).unwrap_or_default();
            if !run.stages.is_empty() {
                series.stages = run
                    .stages
                    .iter()
                    .map(|st| (st.name.clone(), st.phase.as_str()))
                    .collect();
            }
            for event in &run.events {
                match event {
                    RolloutEvent::Promoted { .. } => series.promotions += 1,
                    RolloutEvent::Halted { .. } => series.halts += 1,
                    _ => {}
                }
            }
            next.insert(run.job_id.clone(), series);
        }
        s.rollouts = next;
    }

    pub fn not_ready(&self) -> Option<String> {
        self.lock().not_ready.clone()
    }

    /// Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        let s = self.lock();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP jobctl_reconciles_total Reconcile passes, by what triggered them.\n# TYPE jobctl_reconciles_total counter");
        for trigger in ["start", "change", "resync", "retry", "reload"] {
            let n = s.reconciles.get(trigger).copied().unwrap_or(0);
            let _ = writeln!(out, "jobctl_reconciles_total{{trigger=\"{trigger}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP jobctl_reconcile_errors_total Reconcile passes in which an AWS call failed.\n# TYPE jobctl_reconcile_errors_total counter\njobctl_reconcile_errors_total {}",
            s.reconcile_errors
        );
        let _ = writeln!(out, "# HELP jobctl_reconcile_duration_seconds How long reconcile passes took.\n# TYPE jobctl_reconcile_duration_seconds histogram");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "jobctl_reconcile_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                s.duration_buckets[i]
            );
        }
        let _ = writeln!(
            out,
            "jobctl_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}\njobctl_reconcile_duration_seconds_sum {}\njobctl_reconcile_duration_seconds_count {}",
            s.duration_count, s.duration_sum, s.duration_count
        );
        let _ = writeln!(out, "# HELP jobctl_changes_total Changes applied successfully, by action.\n# TYPE jobctl_changes_total counter");
        for action in ["create", "update", "replace", "cancel", "delete"] {
            let n = s.changes.get(action).copied().unwrap_or(0);
            let _ = writeln!(out, "jobctl_changes_total{{action=\"{action}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP jobctl_api_requests_total AWS API attempts (retries included), by operation and outcome.\n# TYPE jobctl_api_requests_total counter");
        let mut throttles: BTreeMap<String, u64> = BTreeMap::new();
        for ((operation, outcome), n) in self.api.snapshot() {
            let _ = writeln!(
                out,
                "jobctl_api_requests_total{{operation=\"{}\",outcome=\"{}\"}} {n}",
                escape(&operation),
                escape(&outcome)
            );
            if THROTTLING.contains(&outcome.as_str()) {
                *throttles.entry(operation).or_default() += n;
            }
        }
        let _ = writeln!(out, "# HELP jobctl_api_throttles_total AWS API attempts answered with throttling, by operation.\n# TYPE jobctl_api_throttles_total counter");
        let total: u64 = throttles.values().sum();
        for (operation, n) in &throttles {
            let _ = writeln!(
                out,
                "jobctl_api_throttles_total{{operation=\"{}\"}} {n}",
                escape(operation)
            );
        }
        if throttles.is_empty() {
            let _ = writeln!(
                out,
                "jobctl_api_throttles_total{{operation=\"all\"}} {total}"
            );
        }
        let gauges: [(&str, &str, f64); 6] = [
            ("jobctl_manifests", "Valid job manifests in the tree.", s.manifests as f64),
            ("jobctl_invalid_manifests", "Manifest problems (errors) in the tree; prune is off while above 0.", s.invalid_manifests as f64),
            ("jobctl_blocked_changes", "Changes the last pass could not apply without a human (replacement, conflict, finished job).", s.blocked as f64),
            ("jobctl_jobs_in_backoff", "Jobs waiting to be retried after a failure.", s.in_backoff as f64),
            ("jobctl_ready", "1 when the last reconcile succeeded and every manifest is valid.", if s.not_ready.is_none() { 1.0 } else { 0.0 }),
            ("jobctl_last_success_timestamp_seconds", "Unix time of the last reconcile in which every AWS call succeeded.", s.last_success.unwrap_or(0.0)),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        s.jobs.render(&mut out, escape);
        render_rollouts(&mut out, &s.rollouts);
        out
    }
}

fn render_rollouts(out: &mut String, rollouts: &BTreeMap<String, RolloutSeries>) {
    if rollouts.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP jobctl_rollout_stage 1 per stage of each declared rollout, labelled with the stage's phase (Pending, Progressing, Paused, Promoted, Halted, Complete).\n# TYPE jobctl_rollout_stage gauge");
    for (rollout, series) in rollouts {
        for (stage, phase) in &series.stages {
            let _ = writeln!(
                out,
                "jobctl_rollout_stage{{rollout=\"{}\",stage=\"{}\",phase=\"{phase}\"}} 1",
                escape(rollout),
                escape(stage)
            );
        }
    }
    let _ = writeln!(out, "# HELP jobctl_rollout_promotions_total Stages this daemon started, per rollout.\n# TYPE jobctl_rollout_promotions_total counter");
    for (rollout, series) in rollouts {
        let _ = writeln!(
            out,
            "jobctl_rollout_promotions_total{{rollout=\"{}\"}} {}",
            escape(rollout),
            series.promotions
        );
    }
    let _ = writeln!(out, "# HELP jobctl_rollout_halts_total Rollouts this daemon halted, per rollout.\n# TYPE jobctl_rollout_halts_total counter");
    for (rollout, series) in rollouts {
        let _ = writeln!(
            out,
            "jobctl_rollout_halts_total{{rollout=\"{}\"}} {}",
            escape(rollout),
            series.halts
        );
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family_and_readiness() {
        let api = Arc::new(ApiStats::default());
        api.record("CreateJob", "ok");
        api.record("CreateJob", "ThrottlingException");
        let metrics = Metrics::new(Arc::clone(&api), Duration::from_secs(600));
        assert!(
            metrics.not_ready().is_some(),
            "not ready before the first pass"
        );
        metrics.begin(Trigger::Start);
        metrics.change_applied(Action::Create);
        metrics.set_manifests(3, 0);
        metrics.finish(&PassOutcome {
            duration: Duration::from_millis(300),
            api_ok: true,
            blocked: 0,
            in_backoff: 0,
            finished_at: 1_700_000_000.0,
            not_ready: None,
        });
        let text = metrics.render();
        for line in [
            "jobctl_reconciles_total{trigger=\"start\"} 1",
            "jobctl_changes_total{action=\"create\"} 1",
            "jobctl_api_requests_total{operation=\"CreateJob\",outcome=\"ThrottlingException\"} 1",
            "jobctl_api_throttles_total{operation=\"CreateJob\"} 1",
            "jobctl_reconcile_duration_seconds_bucket{le=\"0.5\"} 1",
            "jobctl_reconcile_duration_seconds_bucket{le=\"0.25\"} 0",
            "jobctl_ready 1",
            "jobctl_last_success_timestamp_seconds 1700000000",
            "jobctl_manifests 3",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert_eq!(metrics.not_ready(), None);
    }

    #[test]
    fn rollout_series_follow_each_pass_and_drop_undeclared_rollouts() {
        use crate::engine::advance::{RolloutEvent, RolloutRun};
        use crate::engine::rollout::{Phase, StagePhase, StageView};
        let stage = |name: &str, phase| StageView {
            name: name.into(),
            phase,
            numbers: None,
            started_at: None,
            gate: None,
            held_seconds: None,
            approved: false,
        };
        let run = |id: &str, stages: Vec<StageView>, events| RolloutRun {
            job_id: id.into(),
            phase: Phase::Progressing,
            stage: "wave".into(),
            summary: String::new(),
            stages,
            events,
            disagreements: Vec::new(),
            error: None,
        };
        let metrics = Metrics::new(Arc::new(ApiStats::default()), Duration::from_secs(600));
        assert!(!metrics.render().contains("jobctl_rollout"));
        metrics.rollouts_advanced(&[
            run(
                "fw-a",
                vec![
                    stage("canary", StagePhase::Promoted),
                    stage("wave", StagePhase::Progressing),
                    stage("fleet", StagePhase::Pending),
                ],
                vec![RolloutEvent::Promoted {
                    from: "canary".into(),
                    to: "wave".into(),
                }],
            ),
            run(
                "fw-b",
                vec![stage("canary", StagePhase::Halted)],
                vec![RolloutEvent::Halted {
                    stage: "canary".into(),
                    comment: "x".into(),
                }],
            ),
        ]);
        let text = metrics.render();
        for line in [
            "jobctl_rollout_stage{rollout=\"fw-a\",stage=\"canary\",phase=\"Promoted\"} 1",
            "jobctl_rollout_stage{rollout=\"fw-a\",stage=\"wave\",phase=\"Progressing\"} 1",
            "jobctl_rollout_stage{rollout=\"fw-a\",stage=\"fleet\",phase=\"Pending\"} 1",
            "jobctl_rollout_stage{rollout=\"fw-b\",stage=\"canary\",phase=\"Halted\"} 1",
            "jobctl_rollout_promotions_total{rollout=\"fw-a\"} 1",
            "jobctl_rollout_halts_total{rollout=\"fw-b\"} 1",
            "jobctl_rollout_halts_total{rollout=\"fw-a\"} 0",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        // Next pass: fw-b is no longer declared; fw-a promotes again.
        metrics.rollouts_advanced(&[run(
            "fw-a",
            vec![
                stage("canary", StagePhase::Promoted),
                stage("wave", StagePhase::Promoted),
                stage("fleet", StagePhase::Progressing),
            ],
            vec![RolloutEvent::Promoted {
                from: "wave".into(),
                to: "fleet".into(),
            }],
        )]);
        let text = metrics.render();
        assert!(
            text.contains("jobctl_rollout_promotions_total{rollout=\"fw-a\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("stage=\"fleet\",phase=\"Progressing\"} 1"),
            "{text}"
        );
        assert!(!text.contains("fw-b"), "{text}");
        assert_eq!(
            text.matches("jobctl_rollout_stage{").count(),
            3,
            "one series per stage"
        );
    }
}
