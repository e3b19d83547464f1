//! The health model and the time-left estimate: pure functions from what DescribeJob reports
//! (status, `jobProcessDetails`) and the job's own settings to a [`Health`], rates and an ETA.
//! No I/O, no async, no SDK types, like the planning core; `status`, `apply --wait`, `plan` and
//! the daemon all judge jobs with these functions and nothing else.
//!
//! The rules, in the order they are tried (docs/status.md says the same for users):
//!
//! 1. **Missing**: the job is not in the account, or is being deleted.
//! 2. **Aborted**: the job is CANCELED, by its abortConfig or by hand.
//! 3. **Degraded**: the failure rate is over the job's tolerance (failed, rejected and timed
//!    out over executed things, in percent), whatever its status otherwise.
//! 4. **Scheduled**: the job is SCHEDULED (waiting for its start time or a maintenance window).
//! 5. **Healthy**: the job is COMPLETED; or it is a CONTINUOUS job whose rollout is done and
//!    whose every current execution has ended (so, by rule 3, succeeded within tolerance).
//! 6. **Progressing**: anything else (executions queued or in progress, targets still being
//!    notified, or a status this jobctl does not know).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::domain::spec::{JobSpec, Target, TargetSelection};
use crate::domain::{JobProcessDetails, JobProgress, JobStatus};

/// What jobctl says about a job's rollout. The names are a contract (JSON, metrics, docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Health {
    Progressing,
    Healthy,
    Degraded,
    Aborted,
    Scheduled,
    Missing,
}

impl Health {
    pub const ALL: [Self; 6] = [
        Self::Progressing,
        Self::Healthy,
        Self::Degraded,
        Self::Aborted,
        Self::Scheduled,
        Self::Missing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Progressing => "Progressing",
            Self::Healthy => "Healthy",
            Self::Degraded => "Degraded",
            Self::Aborted => "Aborted",
            Self::Scheduled => "Scheduled",
            Self::Missing => "Missing",
        }
    }

    /// Degraded, Aborted or Missing: `status` exits 1 and `apply --wait` fails naming the job.
    pub fn is_unhealthy(self) -> bool {
        matches!(self, Self::Degraded | Self::Aborted | Self::Missing)
    }

    /// Whether waiting for the job is over. Degraded is final on purpose (fail fast): a job
    /// over its tolerance stops `apply --wait` even while its executions still run.
    pub fn ends_wait(self) -> bool {
        !matches!(self, Self::Progressing | Self::Scheduled)
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The job as DescribeJob reported it, with the tolerance it is judged by.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub status: &'a JobStatus,
    /// `targetSelection` CONTINUOUS: the job never completes by itself.
    pub continuous: bool,
    pub details: &'a JobProcessDetails,
    /// Percent of executed things that may fail before the job is Degraded.
    pub max_failure_rate: f64,
    /// Canceled by jobctl because its rollout completed (reasonCode
    /// `JOBCTL_ROLLOUT_COMPLETE`): judged as a finished job, never Aborted.
    pub closed_complete: bool,
}

/// The job's health; `None` is a job that is not in the account.
pub fn assess(job: Option<&Observation<'_>>) -> Health {
    let Some(job) = job else {
        return Health::Missing;
    };
    match job.status {
        JobStatus::DeletionInProgress => return Health::Missing,
        JobStatus::Canceled if !job.closed_complete => return Health::Aborted,
        _ => {}
    }
    if failure_rate(job.details).is_some_and(|rate| rate > job.max_failure_rate) {
        return Health::Degraded;
    }
    match job.status {
        JobStatus::Scheduled => Health::Scheduled,
        JobStatus::Completed | JobStatus::Canceled => Health::Healthy,
        JobStatus::InProgress
            if job.continuous && !job.details.rolling_out() && job.details.pending() == 0 =>
        {
            Health::Healthy
        }
        _ => Health::Progressing,
    }
}

/// The health of a job as DescribeJob described it (`spec` gives its target selection).
pub fn of_job(
    status: &JobStatus,
    spec: &JobSpec,
    progress: &JobProgress,
    max_failure_rate: f64,
) -> Health {
    assess(Some(&Observation {
        status,
        continuous: spec.target_selection == Some(TargetSelection::Continuous),
        details: &progress.details,
        max_failure_rate,
        closed_complete: progress.reason_code.as_deref()
            == Some(crate::domain::rollout::COMPLETE_REASON_CODE),
    }))
}

/// The health of a finished job whose counts were not read: CANCELED is Aborted whatever the
/// counts; a COMPLETED job's health depends on counts, so it is unknown (`None`).
pub fn assess_unread(status: &JobStatus) -> Option<Health> {
    match status {
        JobStatus::Canceled => Some(Health::Aborted),
        JobStatus::DeletionInProgress => Some(Health::Missing),
        JobStatus::Scheduled => Some(Health::Scheduled),
        JobStatus::Completed | JobStatus::InProgress | JobStatus::Other(_) => None,
    }
}

/// (failed + rejected + timed out) / executed × 100; `None` before anything executed.
pub fn failure_rate(details: &JobProcessDetails) -> Option<f64> {
    percent(details.failures(), details.executed())
}

/// succeeded / executed × 100; `None` before anything executed.
pub fn success_rate(details: &JobProcessDetails) -> Option<f64> {
    percent(details.number_of_succeeded_things, details.executed())
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

// --- Time left -------------------------------------------------------------------------------

/// The counts at one moment: `at` is time since any fixed origin (the run's start).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub at: Duration,
    pub details: JobProcessDetails,
}

/// What the job's rollout settings say about its pace, and how many things it targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rollout {
    /// Things notified per minute at most: `maximumPerMinute`, or the exponential rate's base
    /// (capped by `maximumPerMinute`), or AWS's default of 1000.
    pub per_minute: f64,
    /// Things targeted, when that is known (every target is a thing); `None` with thing groups,
    /// whose size DescribeJob does not say.
    pub targeted: Option<u64>,
}

impl Rollout {
    /// The pace a job's own rollout settings give, and its thing count when every target is a
    /// thing (groups' sizes are unknown to DescribeJob).
    pub fn of_spec(spec: &JobSpec) -> Self {
        let rollout = spec.job_executions_rollout_config.as_ref();
        let things = spec
            .targets
            .iter()
            .filter(|t| match t {
                Target::Arn(arn) => arn.contains(":thing/"),
                Target::Thing(_) => true,
                Target::ThingGroup(_) => false,
            })
            .count();
        Self::new(
            rollout.and_then(|r| r.maximum_per_minute),
            rollout.and_then(|r| r.exponential_rate.as_ref().map(|e| e.base_rate_per_minute)),
            (things == spec.targets.len()).then_some(things as u64),
        )
    }
}

/// AWS's default and ceiling for notifications per minute.
pub const DEFAULT_PER_MINUTE: f64 = 1000.0;

impl Rollout {
    /// The pace from `maximumPerMinute` and the exponential rate's base (the rate it starts
    /// at: the estimate is pessimistic until the rate has grown), AWS's 1000 otherwise.
    pub fn new(
        maximum_per_minute: Option<i64>,
        base_per_minute: Option<i64>,
        targeted: Option<u64>,
    ) -> Self {
        let cap = maximum_per_minute.map_or(DEFAULT_PER_MINUTE, |m| m as f64);
        let per_minute = base_per_minute
            .map_or(cap, |b| (b as f64).min(cap))
            .clamp(1.0, DEFAULT_PER_MINUTE);
        Self {
            per_minute,
            targeted,
        }
    }
}

/// Seconds until every targeted thing has run the job, or `None` when that cannot be told.
///
/// - A COMPLETED job has 0 left; a CANCELED, SCHEDULED or missing one has no estimate.
/// - What is left is the executions queued or in progress plus the targets not yet notified.
///   Those are 0 once the rollout is done (no `processingTargets`), known while it runs only
///   when every target is a thing, and unknown otherwise (no estimate).
/// - With an earlier sample (`before`) in which fewer executions had ended, the recent pace
///   (executions ended per second between the two) gives the estimate, never less than the
///   time the rollout rate needs to notify the rest.
/// - Without one, only the rollout rate can be used: the time to notify the rest (a lower
///   bound: devices still have to run it). With nothing left to notify, the devices' pace is
///   unknown, so there is no estimate.
pub fn eta(
    status: &JobStatus,
    before: Option<&Sample>,
    now: &Sample,
    rollout: &Rollout,
) -> Option<f64> {
    match status {
        JobStatus::Completed => return Some(0.0),
        JobStatus::InProgress | JobStatus::Other(_) => {}
        JobStatus::Canceled | JobStatus::Scheduled | JobStatus::DeletionInProgress => return None,
    }
    let details = &now.details;
    let unnotified = if details.rolling_out() {
        rollout
            .targeted
            .map(|targeted| targeted.saturating_sub(details.notified()))?
    } else {
        0
    };
    let left = details.pending() + unnotified;
    if left == 0 {
        return Some(0.0);
    }
    let notify_rest = unnotified as f64 * 60.0 / rollout.per_minute;
    let ended = |d: &JobProcessDetails| d.notified() - d.pending();
    let pace = before.and_then(|before| {
        let seconds = now.at.checked_sub(before.at)?.as_secs_f64();
        let done = ended(details).checked_sub(ended(&before.details))?;
        (seconds > 0.0 && done > 0).then(|| done as f64 / seconds)
    });
    match pace {
        Some(per_second) => Some((left as f64 / per_second).max(notify_rest)),
        None if unnotified > 0 => Some(notify_rest),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(succeeded: u64, failed: u64, queued: u64, in_progress: u64) -> JobProcessDetails {
        JobProcessDetails {
            number_of_succeeded_things: succeeded,
            number_of_failed_things: failed,
            number_of_queued_things: queued,
            number_of_in_progress_things: in_progress,
            ..JobProcessDetails::default()
        }
    }

    fn health(
        status: JobStatus,
        continuous: bool,
        details: &JobProcessDetails,
        max: f64,
    ) -> Health {
        assess(Some(&Observation {
            status: &status,
            continuous,
            details,
            max_failure_rate: max,
            closed_complete: false,
        }))
    }

    // --- One test per rule. ---

    #[test]
    fn missing_when_not_in_the_account_or_being_deleted() {
        assert_eq!(assess(None), Health::Missing);
        let done = counts(10, 0, 0, 0);
        assert_eq!(
            health(JobStatus::DeletionInProgress, false, &done, 0.0),
            Health::Missing
        );
    }

    #[test]
    fn aborted_when_canceled_whatever_the_counts() {
        assert_eq!(
            health(JobStatus::Canceled, false, &counts(12, 8, 0, 3), 0.0),
            Health::Aborted
        );
        assert_eq!(
            health(JobStatus::Canceled, true, &counts(5, 0, 0, 0), 50.0),
            Health::Aborted,
            "cancelled by hand with no failures is still Aborted"
        );
    }

    #[test]
    fn degraded_over_the_tolerance_while_running_or_completed() {
        // 1 failure in 100 executed is 1%: over a tolerance of 0, within one of 1.
        let running = counts(99, 1, 50, 10);
        assert_eq!(
            health(JobStatus::InProgress, false, &running, 0.0),
            Health::Degraded
        );
        assert_eq!(
            health(JobStatus::InProgress, false, &running, 1.0),
            Health::Progressing
        );
        assert_eq!(
            health(JobStatus::Completed, false, &running, 0.5),
            Health::Degraded
        );
        let rejected_and_timed_out = JobProcessDetails {
            number_of_succeeded_things: 8,
            number_of_rejected_things: 1,
            number_of_timed_out_things: 1,
            ..JobProcessDetails::default()
        };
        assert_eq!(
            health(JobStatus::Completed, false, &rejected_and_timed_out, 19.9),
            Health::Degraded,
            "rejections and timeouts count: 2 of 10 is 20%"
        );
        assert_eq!(
            health(JobStatus::Scheduled, false, &running, 0.0),
            Health::Degraded,
            "between maintenance windows a degraded job stays Degraded"
        );
    }

    #[test]
    fn scheduled_while_waiting_to_start() {
        assert_eq!(
            health(
                JobStatus::Scheduled,
                false,
                &JobProcessDetails::default(),
                0.0
            ),
            Health::Scheduled
        );
    }

    #[test]
    fn healthy_when_a_snapshot_job_completed_within_tolerance() {
        assert_eq!(
            health(JobStatus::Completed, false, &counts(300, 0, 0, 0), 0.0),
            Health::Healthy
        );
        assert_eq!(
            health(JobStatus::Completed, false, &counts(98, 2, 0, 0), 2.0),
            Health::Healthy,
            "exactly at the tolerance is within it"
        );
        let canceled_things = JobProcessDetails {
            number_of_succeeded_things: 5,
            number_of_canceled_things: 5,
            number_of_removed_things: 1,
            ..JobProcessDetails::default()
        };
        assert_eq!(
            health(JobStatus::Completed, false, &canceled_things, 0.0),
            Health::Healthy,
            "canceled and removed executions are not failures"
        );
    }

    #[test]
    fn healthy_when_every_current_execution_of_a_continuous_job_succeeded() {
        assert_eq!(
            health(JobStatus::InProgress, true, &counts(40, 0, 0, 0), 0.0),
            Health::Healthy
        );
        assert_eq!(
            health(JobStatus::InProgress, true, &counts(40, 0, 1, 0), 0.0),
            Health::Progressing,
            "a new member's queued execution"
        );
        let rolling = JobProcessDetails {
            processing_targets: Some(vec!["arn:aws:iot:us-east-1:1:thinggroup/G".into()]),
            ..counts(40, 0, 0, 0)
        };
        assert_eq!(
            health(JobStatus::InProgress, true, &rolling, 0.0),
            Health::Progressing
        );
    }

    #[test]
    fn progressing_while_executions_run_or_targets_remain() {
        assert_eq!(
            health(JobStatus::InProgress, false, &counts(10, 0, 5, 5), 0.0),
            Health::Progressing
        );
        assert_eq!(
            health(JobStatus::InProgress, false, &counts(10, 0, 0, 0), 0.0),
            Health::Progressing,
            "a SNAPSHOT job is not done until AWS completes it"
        );
        assert_eq!(
            health(
                JobStatus::Other("PAUSED".into()),
                false,
                &counts(1, 0, 0, 0),
                0.0
            ),
            Health::Progressing
        );
    }

    #[test]
    fn unread_finished_jobs() {
        assert_eq!(assess_unread(&JobStatus::Canceled), Some(Health::Aborted));
        // A rollout's job that jobctl closed on completion is judged by its counts.
        let details = counts(20, 0, 0, 0);
        let closed = |closed_complete| {
            assess(Some(&Observation {
                status: &JobStatus::Canceled,
                continuous: true,
                details: &details,
                max_failure_rate: 0.0,
                closed_complete,
            }))
        };
        assert_eq!(closed(true), Health::Healthy);
        assert_eq!(closed(false), Health::Aborted);
        assert_eq!(assess_unread(&JobStatus::Completed), None);
    }

    #[test]
    fn rates_are_over_executed_things() {
        let d = JobProcessDetails {
            number_of_succeeded_things: 90,
            number_of_failed_things: 5,
            number_of_rejected_things: 3,
            number_of_timed_out_things: 2,
            number_of_canceled_things: 50,
            number_of_queued_things: 100,
            ..JobProcessDetails::default()
        };
        assert_eq!(success_rate(&d), Some(90.0));
        assert_eq!(failure_rate(&d), Some(10.0));
        assert_eq!(success_rate(&JobProcessDetails::default()), None);
    }

    #[test]
    fn waiting_ends_on_every_health_but_progressing_and_scheduled() {
        let ends: Vec<Health> = Health::ALL.into_iter().filter(|h| h.ends_wait()).collect();
        assert_eq!(
            ends,
            vec![
                Health::Healthy,
                Health::Degraded,
                Health::Aborted,
                Health::Missing
            ]
        );
    }

    // --- Time left. ---

    fn sample(seconds: u64, details: JobProcessDetails) -> Sample {
        Sample {
            at: Duration::from_secs(seconds),
            details,
        }
    }

    fn rolling(details: JobProcessDetails) -> JobProcessDetails {
        JobProcessDetails {
            processing_targets: Some(vec!["t".into()]),
            ..details
        }
    }

    #[test]
    fn rollout_pace_comes_from_maximum_or_exponential_base() {
        assert_eq!(Rollout::new(None, None, None).per_minute, 1000.0);
        assert_eq!(Rollout::new(Some(50), None, None).per_minute, 50.0);
        assert_eq!(Rollout::new(Some(50), Some(10), None).per_minute, 10.0);
        assert_eq!(Rollout::new(Some(5), Some(10), None).per_minute, 5.0);
        assert_eq!(Rollout::new(None, Some(20), None).per_minute, 20.0);
    }

    #[test]
    fn eta_of_finished_and_waiting_jobs() {
        let now = sample(10, counts(1, 0, 0, 0));
        let rollout = Rollout::new(None, None, None);
        assert_eq!(eta(&JobStatus::Completed, None, &now, &rollout), Some(0.0));
        assert_eq!(eta(&JobStatus::Canceled, None, &now, &rollout), None);
        assert_eq!(eta(&JobStatus::Scheduled, None, &now, &rollout), None);
    }

    #[test]
    fn eta_from_the_recent_pace() {
        // 30 executions ended in 10 s: 3/s; 60 left (40 queued + 20 running) → 20 s.
        let before = sample(100, counts(10, 0, 60, 30));
        let now = sample(110, counts(40, 0, 40, 20));
        let rollout = Rollout::new(None, None, None);
        assert_eq!(
            eta(&JobStatus::InProgress, Some(&before), &now, &rollout),
            Some(20.0)
        );
    }

    #[test]
    fn eta_from_the_pace_is_never_below_the_rollout_rate() {
        // 100 things targeted, 30 notified, 70 left to notify at 10/min → 420 s, although the
        // devices finish 5/s.
        let before = sample(0, rolling(counts(0, 0, 10, 0)));
        let now = sample(4, rolling(counts(20, 0, 10, 0)));
        let rollout = Rollout::new(Some(10), None, Some(100));
        assert_eq!(
            eta(&JobStatus::InProgress, Some(&before), &now, &rollout),
            Some(420.0)
        );
    }

    #[test]
    fn eta_from_the_rollout_rate_with_one_sample() {
        let now = sample(0, rolling(counts(0, 0, 20, 0)));
        let rollout = Rollout::new(Some(20), None, Some(80));
        assert_eq!(
            eta(&JobStatus::InProgress, None, &now, &rollout),
            Some(180.0)
        );
    }

    #[test]
    fn eta_unknown_without_a_pace_or_a_target_count() {
        // Rollout done, executions running, one sample: the devices' pace is unknown.
        let now = sample(0, counts(10, 0, 5, 5));
        let rollout = Rollout::new(None, None, None);
        assert_eq!(eta(&JobStatus::InProgress, None, &now, &rollout), None);
        // Still rolling out to a thing group: how many are left is unknown.
        let now = sample(10, rolling(counts(10, 0, 5, 5)));
        let before = sample(0, rolling(counts(0, 0, 5, 5)));
        assert_eq!(
            eta(&JobStatus::InProgress, Some(&before), &now, &rollout),
            None
        );
        // No execution ended between the samples: no pace.
        let now = sample(10, counts(10, 0, 5, 5));
        let before = sample(0, counts(10, 0, 5, 5));
        assert_eq!(
            eta(&JobStatus::InProgress, Some(&before), &now, &rollout),
            None
        );
    }

    #[test]
    fn eta_zero_when_nothing_is_left() {
        let now = sample(0, counts(10, 0, 0, 0));
        let rollout = Rollout::new(None, None, None);
        assert_eq!(eta(&JobStatus::InProgress, None, &now, &rollout), Some(0.0));
    }
}
