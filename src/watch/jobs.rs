//! Per-job gauges of the daemon (`jobctl_job_executions`, `jobctl_job_health`): the rollouts of
//! the active jobs this instance owns, from the counts each pass's plan has read already, and
//! the warning when one turns Degraded or Aborted.
//!
//! Cost: nothing for active jobs (plan's DescribeJob of each active declared job and owned
//! orphan carries the counts); one DescribeJob, once, for each owned job that left the active
//! set since the last pass, for its final counts. Jobs this instance does not own are never
//! shown and never read for this.
//!
//! Cardinality: 14 series per job (8 execution states, 6 health values), for the active owned
//! jobs plus those that left the active set within [`RETENTION`], at most
//! [`MAX_RETAINED`] of them; older ones are dropped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::domain::ownership::Ownership;
use crate::domain::JobProcessDetails;
use crate::engine::health::Health;
use crate::engine::plan::{Action, Plan};

/// How long the series of a job that is no longer active stay, with its final values.
pub const RETENTION: Duration = Duration::from_secs(3600);
/// Jobs no longer active whose series are kept at most; the oldest go first.
pub const MAX_RETAINED: usize = 1000;

#[derive(Debug, Clone)]
struct Series {
    details: JobProcessDetails,
    health: Health,
    /// The tolerance it is judged by (for its final read).
    tolerance: f64,
    /// `None` while active; when it left the active set otherwise.
    left_at: Option<Instant>,
    /// The unhealthy health already logged.
    warned: Option<Health>,
}

/// The per-job gauges, kept across passes.
#[derive(Debug, Default)]
pub struct JobGauges {
    jobs: BTreeMap<String, Series>,
}

impl JobGauges {
    /// Takes the counts a pass's plan read for the active jobs this instance owns (declared or
    /// not). Returns the jobs that were active and are not any more, with their tolerance: read
    /// each once and hand the result to [`Self::finished`].
    pub fn observe(
        &mut self,
        plan: &Plan,
        default_tolerance: f64,
        now: Instant,
    ) -> Vec<(String, f64)> {
        // A set: 10,000 active jobs searched in a list took seconds of every pass.
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        // A job this pass prunes is no rollout to watch: its cancellation is jobctl's own.
        for change in &plan.changes {
            let Some(job_id) = change.job_id() else {
                continue;
            };
            if matches!(change.action, Action::Cancel | Action::Delete) {
                self.jobs.remove(job_id);
            }
        }
        let active = |status: Option<&str>| matches!(status, Some("IN_PROGRESS" | "SCHEDULED"));
        let owned_changes = plan.changes.iter().filter(|c| {
            c.resource.kind.is_job()
                && c.ownership == Some(Ownership::Managed)
                && active(c.status.as_deref())
                && !matches!(c.action, Action::Cancel | Action::Delete)
        });
        for change in owned_changes {
            if let (Some(health), Some(details)) = (change.health, &change.job_process_details) {
                let tolerance = change.max_failure_rate.unwrap_or(default_tolerance);
                let job_id = change.resource.name.as_str();
                self.update(job_id, health, details, tolerance, now, true);
                seen.insert(job_id);
            }
        }
        for orphan in plan.orphans.iter().filter(|o| active(Some(&o.status))) {
            if let (Some(health), Some(details)) = (orphan.health, &orphan.job_process_details) {
                self.update(
                    &orphan.job_id,
                    health,
                    details,
                    default_tolerance,
                    now,
                    true,
                );
                seen.insert(&orphan.job_id);
            }
        }
        let left: Vec<(String, f64)> = self
            .jobs
            .iter_mut()
            .filter(|(id, s)| s.left_at.is_none() && !seen.contains(id.as_str()))
            .map(|(id, s)| {
                s.left_at = Some(now);
                (id.clone(), s.tolerance)
            })
            .collect();
        self.evict(now);
        left
    }

    /// A job that left the active set, as its one last read found it; `None` when it is gone
    /// from the account (its series go at once).
    pub fn finished(
        &mut self,
        job_id: &str,
        last: Option<(Health, JobProcessDetails)>,
        now: Instant,
    ) {
        match last {
            Some((health, details)) => {
                let tolerance = self.jobs.get(job_id).map_or(0.0, |s| s.tolerance);
                self.update(job_id, health, &details, tolerance, now, false);
            }
            None => {
                self.jobs.remove(job_id);
            }
        }
    }

    fn update(
        &mut self,
        job_id: &str,
        health: Health,
        details: &JobProcessDetails,
        tolerance: f64,
        now: Instant,
        active: bool,
    ) {
        let series = self
            .jobs
            .entry(job_id.to_string())
            .or_insert_with(|| Series {
                details: details.clone(),
                health,
                tolerance,
                left_at: None,
                warned: None,
            });
        series.details = details.clone();
        series.health = health;
        series.tolerance = tolerance;
        series.left_at = if active {
            None
        } else {
            series.left_at.or(Some(now))
        };
        if matches!(health, Health::Degraded | Health::Aborted) && series.warned != Some(health) {
            series.warned = Some(health);
            let rate = crate::engine::health::failure_rate(details).unwrap_or(0.0);
            tracing::warn!(
                job_id,
                health = health.as_str(),
                failure_rate = rate,
                succeeded = details.number_of_succeeded_things,
                failures = details.failures(),
                "job {job_id} is {health}"
            );
        }
    }

    /// Drops the series of jobs that left the active set longer ago than [`RETENTION`], and the
    /// oldest beyond [`MAX_RETAINED`].
    fn evict(&mut self, now: Instant) {
        self.jobs.retain(|_, s| {
            s.left_at
                .is_none_or(|at| now.saturating_duration_since(at) <= RETENTION)
        });
        let mut retained: Vec<(Instant, String)> = self
            .jobs
            .iter()
            .filter_map(|(id, s)| Some((s.left_at?, id.clone())))
            .collect();
        if retained.len() > MAX_RETAINED {
            retained.sort();
            let extra = retained.len() - MAX_RETAINED;
            for (_, id) in retained.into_iter().take(extra) {
                self.jobs.remove(&id);
            }
        }
    }

    /// Jobs with series.
    pub fn jobs(&self) -> usize {
        self.jobs.len()
    }

    /// The two families in Prometheus text format.
    pub fn render(&self, out: &mut String, escape: impl Fn(&str) -> String) {
        let _ = writeln!(out, "# HELP jobctl_job_executions Executions of each active job this instance owns, by state (DescribeJob's jobProcessDetails); a job's series stay 1h after it finishes.\n# TYPE jobctl_job_executions gauge");
        for (id, s) in &self.jobs {
            let d = &s.details;
            let id = escape(id);
            for (state, n) in [
                ("QUEUED", d.number_of_queued_things),
                ("IN_PROGRESS", d.number_of_in_progress_things),
                ("SUCCEEDED", d.number_of_succeeded_things),
                ("FAILED", d.number_of_failed_things),
                ("REJECTED", d.number_of_rejected_things),
                ("TIMED_OUT", d.number_of_timed_out_things),
                ("CANCELED", d.number_of_canceled_things),
                ("REMOVED", d.number_of_removed_things),
            ] {
                let _ = writeln!(
                    out,
                    "jobctl_job_executions{{job_id=\"{id}\",state=\"{state}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP jobctl_job_health Health of each active job this instance owns: 1 for its health, 0 for the others.\n# TYPE jobctl_job_health gauge");
        for (id, s) in &self.jobs {
            let id = escape(id);
            for health in Health::ALL {
                let _ = writeln!(
                    out,
                    "jobctl_job_health{{job_id=\"{id}\",health=\"{health}\"}} {}",
                    u8::from(s.health == health)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plan::{Change, Orphan};

    fn details(succeeded: u64, failed: u64, queued: u64) -> JobProcessDetails {
        JobProcessDetails {
            number_of_succeeded_things: succeeded,
            number_of_failed_things: failed,
            number_of_queued_things: queued,
            ..JobProcessDetails::default()
        }
    }

    fn change(id: &str, owner: Ownership, health: Health, d: JobProcessDetails) -> Change {
        let mut c = Change::new(crate::domain::ResourceId::job(id), Action::Unchanged);
        c.status = Some("IN_PROGRESS".into());
        c.ownership = Some(owner);
        c.health = Some(health);
        c.job_process_details = Some(d);
        c.max_failure_rate = Some(5.0);
        c
    }

    fn render(gauges: &JobGauges) -> String {
        let mut out = String::new();
        gauges.render(&mut out, str::to_string);
        out
    }

    #[test]
    fn active_owned_jobs_only_and_finished_ones_are_read_once_then_dropped() {
        let mut gauges = JobGauges::default();
        let t0 = Instant::now();
        let plan = Plan {
            changes: vec![
                change(
                    "mine",
                    Ownership::Managed,
                    Health::Progressing,
                    details(8, 0, 2),
                ),
                change(
                    "theirs",
                    Ownership::Unmanaged,
                    Health::Progressing,
                    details(1, 0, 2),
                ),
            ],
            orphans: vec![Orphan {
                job_id: "orphan".into(),
                status: "IN_PROGRESS".into(),
                health: Some(Health::Progressing),
                job_process_details: Some(details(1, 0, 1)),
            }],
            ..Plan::default()
        };
        assert!(gauges.observe(&plan, 0.0, t0).is_empty());
        let text = render(&gauges);
        assert!(
            text.contains("jobctl_job_executions{job_id=\"mine\",state=\"SUCCEEDED\"} 8"),
            "{text}"
        );
        assert!(
            text.contains("jobctl_job_health{job_id=\"mine\",health=\"Progressing\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("jobctl_job_health{job_id=\"mine\",health=\"Healthy\"} 0"),
            "{text}"
        );
        assert!(text.contains("job_id=\"orphan\""), "{text}");
        assert!(
            !text.contains("theirs"),
            "never another instance's job: {text}"
        );
        assert_eq!(text.lines().filter(|l| l.contains("\"mine\"")).count(), 14);

        // `mine` finished: read once, shown with its final values for RETENTION, then dropped.
        let left = gauges.observe(&Plan::default(), 1.0, t0 + Duration::from_secs(10));
        assert_eq!(
            left,
            vec![("mine".to_string(), 5.0), ("orphan".to_string(), 0.0)],
            "the manifest's tolerance, else the flag's as of the pass that saw it"
        );
        gauges.finished("mine", Some((Health::Healthy, details(10, 0, 0))), t0);
        gauges.finished("orphan", None, t0);
        let text = render(&gauges);
        assert!(
            text.contains("jobctl_job_health{job_id=\"mine\",health=\"Healthy\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("orphan"),
            "a deleted job's series go at once: {text}"
        );
        assert!(
            gauges
                .observe(&Plan::default(), 0.0, t0 + Duration::from_secs(20))
                .is_empty(),
            "read once"
        );
        assert_eq!(gauges.jobs(), 1);
        gauges.observe(
            &Plan::default(),
            0.0,
            t0 + RETENTION + Duration::from_secs(11),
        );
        assert_eq!(gauges.jobs(), 0, "dropped after RETENTION");
    }

    #[test]
    fn retained_jobs_are_capped() {
        let mut gauges = JobGauges::default();
        let t0 = Instant::now();
        for i in 0..(MAX_RETAINED + 5) {
            let at = t0 + Duration::from_millis(i as u64);
            gauges.finished(
                &format!("job-{i:05}"),
                Some((Health::Healthy, details(1, 0, 0))),
                at,
            );
        }
        gauges.observe(&Plan::default(), 0.0, t0 + Duration::from_secs(1));
        assert_eq!(gauges.jobs(), MAX_RETAINED);
        assert!(
            !render(&gauges).contains("job-00004\""),
            "the oldest go first"
        );
    }
}
