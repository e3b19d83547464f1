//! Following jobs until their rollouts end, for `status --watch` and `apply --wait`: the run's
//! deadline, the first Ctrl-C or SIGTERM (stops waiting, never cancels a job), and live progress
//! (rendered by `output::live`). The loop itself is the engine's
//! ([`Tracker::follow_until_done`]); a step that acts while jobctl waits (advancing staged
//! rollouts) is a [`Follower::before_poll`], and [`Waiting`] is where it goes.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::run::{passed, Deadline};
use crate::aws::{IotJobs, JobsApi};
use crate::engine::advance::{self, Advance, Drive};
use crate::engine::plan::Plan;
use crate::engine::rollout::Phase;
use crate::engine::status::{self, Follower, JobHealth, Options, Subject, Tracker};
use crate::engine::Settings;
use crate::output::live::{self, Progress};
use crate::report::{ApplyReport, StatusReport, WaitOutcome};
use crate::shutdown::Shutdown;

/// How a follow runs: how often it reads, until when, and what stops it.
pub struct Follow<'a> {
    pub api: &'a IotJobs,
    pub interval: Duration,
    pub deadline: Option<Deadline>,
    pub started: Instant,
    pub shutdown: &'a Shutdown,
}

/// Follows the tracker's jobs every `interval` until each has ended, the run's `deadline`
/// passes, or the first signal; progress goes to stderr. Jobs are only ever read.
/// `rollouts`: with `apply --wait`, the staged rollouts of the applied plan, advanced before each
/// poll and followed until each is Complete, Halted or waiting for approval.
pub async fn follow(
    how: &Follow<'_>,
    tracker: &mut Tracker,
    rollouts: Option<&mut Rollouts<'_>>,
) -> WaitOutcome {
    let moving = rollouts.as_ref().is_some_and(|r| r.moving());
    if tracker.done() && !moving {
        return WaitOutcome::Finished;
    }
    let ids: Vec<String> = tracker.waiting().map(|j| j.job_id.clone()).collect();
    let staged: Vec<String> = rollouts
        .as_ref()
        .map(|r| r.moving_ids())
        .unwrap_or_default();
    live::waiting_for(&ids, &staged);
    let mut waiting = Waiting {
        progress: Progress::new(std::io::stderr().is_terminal(), how.started),
        rollouts,
    };
    waiting.progress.show(&tracker.rows());
    let outcome = {
        let following = tracker.follow_until_done(how.api, how.interval, &mut waiting);
        tokio::select! {
            () = following => WaitOutcome::Finished,
            () = passed(how.deadline) => WaitOutcome::TimedOut,
            () = how.shutdown.wait() => WaitOutcome::Interrupted,
        }
    };
    waiting.progress.finish();
    let mut left: Vec<String> = tracker.waiting().map(|j| j.job_id.clone()).collect();
    if let Some(rollouts) = waiting.rollouts.as_deref() {
        left.extend(
            rollouts
                .moving_ids()
                .into_iter()
                .map(|id| format!("rollout {id}")),
        );
    }
    let timeout = humantime::format_duration(how.deadline.map(|d| d.limit()).unwrap_or_default());
    let endpoint = how.api.endpoint().unwrap_or_else(|| "the endpoint".into());
    live::stopped(
        outcome,
        &left,
        &timeout.to_string(),
        &endpoint,
        how.shutdown.cause(),
    );
    outcome
}

/// `apply --wait`: follows the jobs the apply created or changed until each has ended, and
/// advances the staged rollouts until each is Complete, Halted or waits for approval. Nothing is
/// waited for when the apply was refused or failed (the run exits 1 anyway). Sets the report's
/// `wait` and, when rollouts moved, its `rollouts`.
pub async fn after_apply(
    how: &Follow<'_>,
    settings: &Settings,
    report: &mut ApplyReport,
    advanced: Advance,
) {
    if report.has_errors() {
        live::nothing_to_wait_for(false);
        return;
    }
    let mut rollouts = Rollouts {
        plan: &report.plan.plan,
        last: advanced,
    };
    // Only jobs are followed: a template's change has nothing to wait for.
    let mut subjects = status::applied(&report.plan.plan, report.results());
    // A rollout whose stage runs is followed too, whether or not this apply changed it.
    for id in rollouts.moving_ids() {
        if !subjects.iter().any(|s| s.job_id == id) {
            let change = report
                .plan
                .plan
                .changes
                .iter()
                .find(|c| c.job_id() == Some(id.as_str()));
            subjects
                .push(change.map_or_else(|| Subject::applied(&id, None, None), Subject::planned));
        }
    }
    let options = Options {
        max_failure_rate: settings.max_failure_rate,
        finished_within: Duration::ZERO,
        parallelism: settings.parallelism,
    };
    let mut tracker = Tracker::follow(options, subjects);
    let outcome = if tracker.rows().is_empty() && !rollouts.moving() {
        live::nothing_to_wait_for(true);
        WaitOutcome::Finished
    } else {
        follow(how, &mut tracker, Some(&mut rollouts)).await
    };
    let last = rollouts.last.rollouts;
    let (jobs, errors) = tracker.into_rows();
    report.wait = Some(StatusReport {
        instance: Some(settings.instance.clone()),
        jobs,
        errors,
        diagnostics: Vec::new(),
        finished_within: Duration::ZERO,
        wait: Some(outcome),
        calls: Default::default(),
    });
    report.rollouts = last;
}

/// The staged rollouts followed while waiting: the plan that declares them, and what their last
/// advance left.
pub struct Rollouts<'a> {
    pub plan: &'a Plan,
    pub last: Advance,
}

impl Rollouts<'_> {
    /// Some rollout is still Progressing: keep advancing it.
    pub fn moving(&self) -> bool {
        self.last.moving
    }

    /// The rollouts whose stage runs or soaks.
    pub fn moving_ids(&self) -> Vec<String> {
        self.last
            .rollouts
            .iter()
            .filter(|r| r.phase == Phase::Progressing)
            .map(|r| r.job_id.clone())
            .collect()
    }
}

/// What runs around each poll while waiting: the rollouts advanced first, the progress shown
/// after.
struct Waiting<'r, 'p> {
    progress: Progress,
    rollouts: Option<&'r mut Rollouts<'p>>,
}

#[async_trait::async_trait]
impl Follower for Waiting<'_, '_> {
    async fn before_poll(&mut self, api: &dyn JobsApi, tracker: &mut Tracker) {
        let Some(rollouts) = self.rollouts.as_deref_mut() else {
            return;
        };
        if !rollouts.moving() {
            return;
        }
        let advance = advance::advance(api, rollouts.plan, Drive::Full).await;
        for note in live::rollout_notes(&advance.rollouts) {
            self.progress.note(&note);
        }
        let ids: Vec<String> = advance.rollouts.iter().map(|r| r.job_id.clone()).collect();
        tracker.read_now(api, &ids).await;
        rollouts.last = advance;
    }

    fn after_poll(&mut self, rows: &[&JobHealth]) {
        self.progress.show(rows);
    }

    fn keep_going(&self) -> bool {
        self.rollouts.as_ref().is_some_and(|r| r.moving())
    }
}
