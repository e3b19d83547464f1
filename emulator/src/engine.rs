//! The rollout engine: everything that happens to jobs and executions because time passes
//! or because an execution changed. It paces notifications (`maximumPerMinute`,
//! `exponentialRate`), applies abort criteria, retries and timeouts, completes SNAPSHOT
//! jobs, cancels asynchronously, honours scheduling (start, end, maintenance windows) and
//! runs the simulated devices of the fleet. It works from each scope's timer queue and from
//! per-job counters: no step ever scans all executions, except the one-off listing of what
//! a cancellation has to cancel.
//!
//! Handlers call in through [`Engine`] whenever they change a job or an execution, so the
//! same rules apply whether a simulated device, a real device on the data plane, the
//! control API or the clock caused the change.

use std::collections::VecDeque;

use crate::cron::Cron;
use crate::fleet::{is_subset, Counting, Fleet, Outcome};
use crate::model::{ExecStatus, Execution, Job, JobStatus, Scope, TargetSelection, World};
use crate::rng::unit;
use crate::timers::Event;

const MINUTE_MS: i64 = 60_000;
/// AWS rolls out and cancels at most this many executions a minute (job limits page), and
/// it is the default `maximumPerMinute`.
pub const SERVICE_RATE_PER_MINUTE: u64 = 1000;

/// The automated reason an abort leaves on the job. AWS documents that it sets one but not
/// its text; clients must not depend on the literal.
pub const ABORT_REASON_CODE: &str = "ABORT_CRITERIA_MET";

/// One scope (account, region) and the fleet settings, for the length of one change.
pub struct Engine<'a> {
    pub scope: &'a mut Scope,
    pub fleet: Option<&'a Fleet>,
}

/// What the device of an execution will do, drawn once from the seed.
struct Plan {
    offline: bool,
    pickup_ms: i64,
    duration_ms: i64,
    outcome: Outcome,
}

fn to_exec_status(o: Outcome) -> ExecStatus {
    match o {
        Outcome::Succeeded => ExecStatus::Succeeded,
        Outcome::Failed => ExecStatus::Failed,
        Outcome::Rejected => ExecStatus::Rejected,
        Outcome::TimedOut => ExecStatus::TimedOut,
    }
}

fn secs_ms(s: f64) -> i64 {
    (s * 1000.0).round() as i64
}

impl<'a> Engine<'a> {
    pub fn new(scope: &'a mut Scope, fleet: Option<&'a Fleet>) -> Self {
        Engine { scope, fleet }
    }

    fn job(&mut self, id: &str, gen: u64) -> Option<&mut Job> {
        self.scope.jobs.get_mut(id).filter(|j| j.seq == gen)
    }

    /// Runs the timers due at `now`, each at its own time, at most `budget` of them.
    /// Returns (something changed, timers still due).
    pub fn tick(&mut self, now: i64, budget: usize) -> (bool, bool) {
        let mut done = 0;
        while done < budget {
            let Some(t) = self.scope.timers.pop_due(now) else {
                return (done > 0, false);
            };
            self.fire(t.at, t.event);
            done += 1;
        }
        (
            done > 0,
            self.scope.timers.next_due().is_some_and(|d| d <= now),
        )
    }

    fn fire(&mut self, at: i64, ev: Event) {
        match ev {
            Event::Rollout { job, gen } => {
                if let Some(j) = self.job(&job, gen) {
                    if j.rollout.step_at_ms == Some(at) {
                        j.rollout.step_at_ms = None;
                    }
                    self.rollout_step(&job, at);
                }
            }
            Event::CancelStep { job, gen } => {
                if self.job(&job, gen).is_some() {
                    self.cancel_step(&job, at);
                }
            }
            Event::Start { job, gen } => {
                let due = self.job(&job, gen).is_some_and(|j| {
                    j.status == JobStatus::Scheduled && j.start_at_ms.is_some_and(|s| s <= at)
                });
                if due {
                    self.begin(&job, at);
                }
            }
            Event::End { job, gen } => {
                if self.job(&job, gen).is_some() {
                    self.end_time(&job, at);
                }
            }
            Event::Window { job, gen, open } => {
                if self.job(&job, gen).is_some() {
                    if open {
                        self.window_open(&job, at);
                    } else {
                        self.window_close(&job, at);
                    }
                }
            }
            Event::Delete { job, gen } => {
                let due = self.job(&job, gen).is_some_and(|j| {
                    j.status == JobStatus::DeletionInProgress
                        && j.delete_at_ms.is_some_and(|d| d <= at)
                });
                if due {
                    self.remove_job(&job, at);
                }
            }
            Event::Timeout {
                job,
                gen,
                thing,
                exec,
            } => {
                let expired = self
                    .job(&job, gen)
                    .and_then(|j| j.executions.get(&thing))
                    .is_some_and(|e| {
                        e.execution_number == exec && e.deadline().is_some_and(|d| d <= at)
                    });
                if expired {
                    self.finish(&job, &thing, ExecStatus::TimedOut, at);
                }
            }
            Event::Pickup {
                job,
                gen,
                thing,
                exec,
            } => self.device_pickup(&job, gen, &thing, exec, at),
            Event::Finish {
                job,
                gen,
                thing,
                exec,
                outcome,
            } => {
                let ok = self.busy_with(&thing, &job, gen, exec)
                    && self
                        .job(&job, gen)
                        .and_then(|j| j.executions.get(&thing))
                        .is_some_and(|e| {
                            e.execution_number == exec && e.status == ExecStatus::InProgress
                        });
                if let (true, Some(status)) = (ok, ExecStatus::parse(&outcome)) {
                    self.finish(&job, &thing, status, at);
                }
            }
        }
    }

    // ---- Job lifecycle -------------------------------------------------------------

    /// A job was just created: schedule its start, or start rolling out now.
    pub fn job_created(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get(id) else {
            return;
        };
        let gen = job.seq;
        let (start, end) = (job.start_at_ms, job.end_at_ms);
        if let Some(e) = end {
            self.scope.timers.push(
                e,
                Event::End {
                    job: id.to_owned(),
                    gen,
                },
            );
        }
        match start {
            Some(s) if s > now => self.scope.timers.push(
                s,
                Event::Start {
                    job: id.to_owned(),
                    gen,
                },
            ),
            _ => self.begin(id, now),
        }
    }

    /// The job starts: with maintenance windows it waits for one, otherwise it is
    /// IN_PROGRESS and its rollout begins.
    fn begin(&mut self, id: &str, now: i64) {
        let windows = self
            .scope
            .jobs
            .get(id)
            .is_some_and(|j| !windows_of(j).is_empty());
        if windows {
            if let Some(job) = self.scope.jobs.get_mut(id) {
                job.status = JobStatus::Scheduled;
                job.last_updated_at_ms = now;
            }
            self.schedule_next_window(id, now);
            return;
        }
        if let Some(job) = self.scope.jobs.get_mut(id) {
            job.status = JobStatus::InProgress;
            job.last_updated_at_ms = now;
        }
        self.fill_rollout(id);
        self.rollout_step(id, now);
        self.settle(id, now);
    }

    /// Latches the targets' members (SNAPSHOT membership is taken when rollout starts).
    fn fill_rollout(&mut self, id: &str) {
        let Some(job) = self.scope.jobs.get(id) else {
            return;
        };
        if job.rollout.notified > 0 || job.rolling_out() {
            return;
        }
        let things: VecDeque<(String, String)> = self
            .scope
            .job_things(&job.targets)
            .into_iter()
            .filter(|(n, _)| !job.executions.contains_key(n))
            .collect();
        if let Some(job) = self.scope.jobs.get_mut(id) {
            job.rollout.pending = things;
        }
    }

    /// The rollout rate in force: `exponentialRate` after its increases, capped by
    /// `maximumPerMinute` and by AWS's 1000 a minute.
    fn rate(job: &Job) -> (f64, u64) {
        let cfg = job.job_executions_rollout_config.as_ref();
        let cap = cfg
            .and_then(|c| c.maximum_per_minute)
            .map_or(SERVICE_RATE_PER_MINUTE, |m| {
                (m.max(1) as u64).min(SERVICE_RATE_PER_MINUTE)
            });
        let rate = match cfg.and_then(|c| c.exponential_rate.as_ref()) {
            Some(e) => (e.base_rate_per_minute as f64
                * e.increment_factor.powi(job.rollout.increases as i32))
            .min(cap as f64),
            None => cap as f64,
        };
        (rate, cap)
    }

    /// Counts one notification or success towards `rateIncreaseCriteria`; the new rate
    /// takes effect from the next rollout minute.
    fn maybe_increase(job: &mut Job) {
        let Some(e) = job
            .job_executions_rollout_config
            .as_ref()
            .and_then(|c| c.exponential_rate.as_ref())
        else {
            return;
        };
        let c = &e.rate_increase_criteria;
        let r = &mut job.rollout;
        let by_notified = c
            .number_of_notified_things
            .is_some_and(|n| r.notified - r.notified_at_increase >= n as u64);
        let by_succeeded = c
            .number_of_succeeded_things
            .is_some_and(|n| r.succeeded - r.succeeded_at_increase >= n as u64);
        if by_notified || by_succeeded {
            r.increases += 1;
            r.notified_at_increase = r.notified;
            r.succeeded_at_increase = r.succeeded;
        }
    }

    /// Notifies as many pending targets as the current rollout minute allows, and queues
    /// the next step at the start of the next minute.
    fn rollout_step(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        if job.status != JobStatus::InProgress || !job.rolling_out() {
            return;
        }
        if job.window_end_ms.is_some_and(|e| now >= e) {
            return;
        }
        let (rate, cap) = Self::rate(job);
        let r = &mut job.rollout;
        if r.minute_start_ms.is_none_or(|s| now >= s + MINUTE_MS) {
            // Rates may be fractional (incrementFactor 1.5): the fraction carries over, so
            // 7.5 a minute notifies 7 then 8.
            let budget = rate + r.carry;
            let whole = budget.floor().min(cap as f64);
            r.carry = (budget - whole).clamp(0.0, 0.999_999);
            r.minute_budget = whole;
            r.minute_start_ms = Some(now);
            r.in_minute = 0;
        }
        let mut batch = Vec::new();
        while (r.in_minute as f64) < r.minute_budget {
            let Some(next) = r.pending.pop_front() else {
                break;
            };
            batch.push(next);
            r.in_minute += 1;
        }
        let gen = job.seq;
        let next_minute = r.minute_start_ms.map(|s| s + MINUTE_MS);
        let more = !r.pending.is_empty();
        let window_end = job.window_end_ms;
        for (name, arn) in batch {
            self.notify(id, &name, &arn, now);
            if let Some(j) = self.scope.jobs.get_mut(id) {
                j.rollout.notified += 1;
                Self::maybe_increase(j);
            }
        }
        if let (true, Some(at)) = (more, next_minute) {
            if window_end.is_none_or(|e| at < e) {
                self.queue_step(id, gen, at);
            }
        }
        if !more {
            self.settle(id, now);
        }
    }

    fn queue_step(&mut self, id: &str, gen: u64, at: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        if job.rollout.step_at_ms == Some(at) {
            return;
        }
        job.rollout.step_at_ms = Some(at);
        self.scope.timers.push(
            at,
            Event::Rollout {
                job: id.to_owned(),
                gen,
            },
        );
    }

    /// Creates the QUEUED execution of a target (the device is notified of it).
    fn notify(&mut self, id: &str, thing: &str, arn: &str, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        let mut e = Execution::new(arn.to_owned(), 1, 0, now);
        if let Some(old) = job.executions.get_mut(thing) {
            // A thing coming back to a CONTINUOUS job after it was REMOVED gets a new
            // execution number and a fresh retry budget.
            e.execution_number = old.execution_number + 1;
            let mut prev = std::mem::take(&mut old.history);
            prev.push(old.clone());
            e.history = prev;
        }
        job.insert_execution(thing, e);
        self.device_wake(thing, now);
    }

    /// SNAPSHOT jobs are COMPLETED once nothing is left to roll out and every execution
    /// has ended; CONTINUOUS jobs only once their endTime has passed too.
    pub fn settle(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        let can_end = job.target_selection == TargetSelection::Snapshot
            || (job.end_handled && job.end_at_ms.is_some());
        if job.status == JobStatus::InProgress
            && can_end
            && !job.rolling_out()
            && job.counts.running() == 0
            && !job.executions.is_empty()
        {
            job.status = JobStatus::Completed;
            job.completed_at_ms = Some(now);
            job.last_updated_at_ms = now;
        }
    }

    /// Marks a SNAPSHOT job whose targets had no things COMPLETED (the control API's
    /// `complete` on an empty job).
    pub fn complete_empty(&mut self, id: &str, now: i64) {
        if let Some(job) = self.scope.jobs.get_mut(id) {
            if job.executions.is_empty()
                && !job.rolling_out()
                && job.status == JobStatus::InProgress
                && job.target_selection == TargetSelection::Snapshot
            {
                job.status = JobStatus::Completed;
                job.completed_at_ms = Some(now);
                job.last_updated_at_ms = now;
            }
        }
    }

    /// UpdateJob changed a job: a new abort threshold may already be met. New rollout
    /// rates apply from the next rollout minute, new timeouts to executions that start
    /// afterwards.
    pub fn job_updated(&mut self, id: &str, now: i64) {
        self.check_abort(id, now);
    }

    /// CancelJob, an abort, or an endBehavior: the job is CANCELED at once, its rollout
    /// stops, and its executions are canceled in batches of 1000 a minute (`isConcurrent`
    /// stays true until they are all done).
    pub fn cancel_job(
        &mut self,
        id: &str,
        force: bool,
        reason_code: Option<String>,
        comment: Option<String>,
        now: i64,
    ) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        job.status = JobStatus::Canceled;
        job.force_canceled = Some(force);
        if reason_code.is_some() {
            job.reason_code = reason_code;
        }
        if comment.is_some() {
            job.comment = comment;
        }
        job.last_updated_at_ms = now;
        job.rollout.pending.clear();
        job.window_end_ms = None;
        job.cancel_force = force;
        job.cancel_backlog = job
            .executions
            .iter()
            .filter(|(_, e)| {
                e.status == ExecStatus::Queued || (force && e.status == ExecStatus::InProgress)
            })
            .map(|(n, _)| n.clone())
            .collect();
        self.cancel_step(id, now);
    }

    fn cancel_step(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        let force = job.cancel_force;
        let n = job
            .cancel_backlog
            .len()
            .min(SERVICE_RATE_PER_MINUTE as usize);
        let batch: Vec<String> = job.cancel_backlog.drain(..n).collect();
        let gen = job.seq;
        let more = !job.cancel_backlog.is_empty();
        for thing in batch {
            let hit = self
                .scope
                .jobs
                .get(id)
                .and_then(|j| j.executions.get(&thing))
                .is_some_and(|e| {
                    e.status == ExecStatus::Queued || (force && e.status == ExecStatus::InProgress)
                });
            if hit {
                if let Some(e) = self
                    .scope
                    .jobs
                    .get_mut(id)
                    .and_then(|j| j.executions.get_mut(&thing))
                {
                    e.force_canceled = force;
                }
                self.finish(id, &thing, ExecStatus::Canceled, now);
            }
        }
        if more {
            self.scope.timers.push(
                now + MINUTE_MS,
                Event::CancelStep {
                    job: id.to_owned(),
                    gen,
                },
            );
        }
    }

    fn end_time(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        if job.end_handled {
            return;
        }
        job.end_handled = true;
        let behavior = job
            .scheduling_config
            .as_ref()
            .and_then(|s| s.end_behavior.as_deref())
            .unwrap_or("STOP_ROLLOUT")
            .to_owned();
        if !job.status.is_active() {
            return;
        }
        match behavior.as_str() {
            "CANCEL" => self.cancel_job(id, false, None, None, now),
            "FORCE_CANCEL" => self.cancel_job(id, true, None, None, now),
            _ => {
                // STOP_ROLLOUT: nothing new is notified; the job completes once what was
                // notified has ended.
                job.rollout.pending.clear();
                if job.status == JobStatus::Scheduled {
                    job.status = JobStatus::InProgress;
                    job.last_updated_at_ms = now;
                }
                self.settle(id, now);
            }
        }
    }

    /// The deletion delay is over: the job, its executions and its tags are gone.
    pub fn remove_job(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.remove(id) else {
            return;
        };
        self.scope.drop_tags(&job.job_arn, now);
        for (thing, e) in &job.executions {
            if self.busy_with(thing, id, job.seq, e.execution_number) {
                self.scope.busy.remove(thing);
                self.device_wake(thing, now);
            }
        }
    }

    // ---- Maintenance windows ---------------------------------------------------------

    /// The next window (start, end) that has not ended by `now`, over all of a job's
    /// maintenance windows.
    fn next_window(job: &Job, now: i64) -> Option<(i64, i64)> {
        windows_of(job)
            .iter()
            .filter_map(|(cron, mins)| {
                let dur = mins * MINUTE_MS;
                let s = cron.next_start(now - dur + 1)?;
                Some((s, s + dur))
            })
            .min()
    }

    fn schedule_next_window(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get(id) else {
            return;
        };
        let gen = job.seq;
        match Self::next_window(job, now) {
            Some((s, _)) if s <= now => self.window_open(id, now),
            Some((s, _)) => self.scope.timers.push(
                s,
                Event::Window {
                    job: id.to_owned(),
                    gen,
                    open: true,
                },
            ),
            None => {}
        }
    }

    fn window_open(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get(id) else {
            return;
        };
        if !job.status.is_active() {
            return;
        }
        let Some((_, end)) = Self::next_window(job, now) else {
            return;
        };
        let gen = job.seq;
        if let Some(job) = self.scope.jobs.get_mut(id) {
            job.status = JobStatus::InProgress;
            job.last_updated_at_ms = now;
            job.window_end_ms = Some(end);
            // A window starts a fresh rollout minute.
            job.rollout.minute_start_ms = None;
        }
        self.scope.timers.push(
            end,
            Event::Window {
                job: id.to_owned(),
                gen,
                open: false,
            },
        );
        self.fill_rollout(id);
        self.rollout_step(id, now);
        self.settle(id, now);
    }

    /// A window closes: a job still rolling out goes back to SCHEDULED until the next one.
    fn window_close(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        if job.window_end_ms.is_none_or(|e| e > now) {
            return;
        }
        job.window_end_ms = None;
        if job.status == JobStatus::InProgress && job.rolling_out() {
            job.status = JobStatus::Scheduled;
            job.last_updated_at_ms = now;
            self.schedule_next_window(id, now);
        }
    }

    // ---- Target changes --------------------------------------------------------------

    /// A thing joined a group: CONTINUOUS jobs running against that group (or an ancestor)
    /// give it an execution at once (AWS: "near-real time", outside the rollout rate), unless
    /// it already has one; a thing whose execution was REMOVED (it had left) gets a new one,
    /// with a fresh retry budget.
    pub fn thing_joined(&mut self, thing: &str, now: i64) {
        let Some(arn) = self.scope.things.get(thing).map(|t| t.thing_arn.clone()) else {
            return;
        };
        let mut ids: Vec<(u64, String)> = self
            .scope
            .jobs
            .values()
            .filter(|j| {
                j.target_selection == TargetSelection::Continuous
                    && j.status.is_active()
                    && j.executions
                        .get(thing)
                        .is_none_or(|e| e.status == ExecStatus::Removed)
                    && !j.rollout.pending.iter().any(|(n, _)| n == thing)
            })
            .filter(|j| self.reaches(j, thing, &arn))
            .map(|j| (j.seq, j.job_id.clone()))
            .collect();
        ids.sort();
        for (_, id) in ids {
            self.admit(&id, thing, &arn, now);
        }
    }

    /// Whether one of a job's targets names the thing or a group it is in (directly or
    /// through a descendant group).
    fn reaches(&self, job: &Job, thing: &str, arn: &str) -> bool {
        job.targets
            .iter()
            .any(|t| match t.rsplit_once(":thinggroup/") {
                Some((_, g)) => self.scope.thing_in_group(thing, g),
                None => t == arn,
            })
    }

    /// A new target of a running CONTINUOUS job: notified at once, or, for a job with
    /// maintenance windows outside a window, when the next window opens (windows pace every
    /// notification, joins included).
    fn admit(&mut self, id: &str, thing: &str, arn: &str, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        let windows = !windows_of(job).is_empty();
        let in_window = job.window_end_ms.is_some_and(|e| now < e);
        let waiting = job.status == JobStatus::Scheduled || job.rolling_out();
        match job.status {
            JobStatus::InProgress if !windows || in_window => {
                self.notify(id, thing, arn, now);
            }
            JobStatus::InProgress => {
                // A window-open timer is queued whenever targets wait outside a window.
                job.rollout
                    .pending
                    .push_back((thing.to_owned(), arn.to_owned()));
                if !waiting {
                    self.schedule_next_window(id, now);
                }
            }
            // Waiting for its next window with its targets latched: the thing waits too.
            // (Before the first start, latching the targets will find it.)
            JobStatus::Scheduled if job.rollout.notified > 0 || job.rolling_out() => {
                job.rollout
                    .pending
                    .push_back((thing.to_owned(), arn.to_owned()));
            }
            _ => {}
        }
    }

    /// A thing left a group (`deleted`: it was deleted). Every active job that no longer
    /// reaches it drops it from the targets still to notify, and its QUEUED or IN_PROGRESS
    /// execution becomes REMOVED, so no retry follows (AWS: "no longer a valid target").
    /// A SNAPSHOT job latched its targets when it started, so only deletion reaches it there.
    pub fn thing_left(&mut self, thing: &str, arn: &str, deleted: bool, now: i64) {
        let mut ids: Vec<(u64, String)> = self
            .scope
            .jobs
            .values()
            .filter(|j| j.status.is_active())
            .filter(|j| deleted || j.target_selection == TargetSelection::Continuous)
            .filter(|j| deleted || !self.reaches(j, thing, arn))
            .map(|j| (j.seq, j.job_id.clone()))
            .collect();
        ids.sort();
        for (_, id) in ids {
            let Some(job) = self.scope.jobs.get_mut(&id) else {
                continue;
            };
            job.rollout.pending.retain(|(n, _)| n != thing);
            let running = job
                .executions
                .get(thing)
                .is_some_and(|e| !e.status.is_terminal());
            if running {
                self.finish(&id, thing, ExecStatus::Removed, now);
            } else {
                self.settle(&id, now);
            }
        }
        if deleted {
            self.scope.busy.remove(thing);
        }
    }

    /// AssociateTargetsWithJob on a CONTINUOUS job: members of the new targets get
    /// executions at once, like things joining a targeted group.
    pub fn targets_added(&mut self, id: &str, targets: &[String], now: i64) {
        let Some(job) = self.scope.jobs.get(id) else {
            return;
        };
        let fresh: Vec<(String, String)> = self
            .scope
            .job_things(targets)
            .into_iter()
            .filter(|(n, _)| {
                job.executions
                    .get(n)
                    .is_none_or(|e| e.status == ExecStatus::Removed)
                    && !job.rollout.pending.iter().any(|(p, _)| p == n)
            })
            .collect();
        for (name, arn) in fresh {
            self.admit(id, &name, &arn, now);
        }
    }

    // ---- Executions -----------------------------------------------------------------

    /// QUEUED → IN_PROGRESS (or an IN_PROGRESS update): arms the in-progress timer on the
    /// first start and the step timer when given (`-1` clears it). The step timer never
    /// runs past the in-progress timer.
    pub fn start(&mut self, id: &str, thing: &str, step_minutes: Option<i64>, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        let in_progress_mins = job
            .timeout_config
            .as_ref()
            .and_then(|t| t.in_progress_timeout_in_minutes);
        let gen = job.seq;
        let Some(e) = job.executions.get(thing) else {
            return;
        };
        let first = e.status == ExecStatus::Queued;
        if first {
            job.set_status(thing, ExecStatus::InProgress, now);
        } else if let Some(e) = job.executions.get_mut(thing) {
            e.version_number += 1;
            e.last_updated_at_ms = now;
        }
        let Some(e) = job.executions.get_mut(thing) else {
            return;
        };
        if first {
            e.timeout_at_ms = in_progress_mins.map(|m| now + m * MINUTE_MS);
        }
        match step_minutes {
            Some(-1) => e.step_timeout_at_ms = None,
            Some(m) => e.step_timeout_at_ms = Some(now + m * MINUTE_MS),
            None => {}
        }
        let (deadline, exec) = (e.deadline(), e.execution_number);
        if let Some(d) = deadline {
            self.scope.timers.push(
                d,
                Event::Timeout {
                    job: id.to_owned(),
                    gen,
                    thing: thing.to_owned(),
                    exec,
                },
            );
        }
    }

    /// An execution ends with `to`. Then, in order: a retry may queue a new attempt, the
    /// device moves on, abort criteria are checked and the job may complete.
    pub fn finish(&mut self, id: &str, thing: &str, to: ExecStatus, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        let Some(exec) = job.executions.get(thing).map(|e| e.execution_number) else {
            return;
        };
        job.set_status(thing, to, now);
        if to == ExecStatus::Succeeded {
            job.rollout.succeeded += 1;
            Self::maybe_increase(job);
        }
        let gen = job.seq;
        if job.status == JobStatus::InProgress {
            self.maybe_retry(id, thing, to, now);
        }
        if self.busy_with(thing, id, gen, exec) {
            self.scope.busy.remove(thing);
            self.device_wake(thing, now);
        }
        self.check_abort(id, now);
        self.settle(id, now);
    }

    /// `jobExecutionsRetryConfig`: a FAILED or TIMED_OUT attempt is followed by a new
    /// QUEUED attempt with the next execution number, while the budget for its failure
    /// type lasts (the type's own criterion wins over ALL).
    fn maybe_retry(&mut self, id: &str, thing: &str, to: ExecStatus, now: i64) {
        let Some(job) = self.scope.jobs.get_mut(id) else {
            return;
        };
        let idx = match to {
            ExecStatus::Failed => 0,
            ExecStatus::TimedOut => 1,
            _ => return,
        };
        let Some(cfg) = &job.job_executions_retry_config else {
            return;
        };
        let Some(old) = job.executions.get(thing) else {
            return;
        };
        let own = cfg
            .criteria_list
            .iter()
            .find(|c| c.failure_type == to.as_str());
        let all = cfg.criteria_list.iter().find(|c| c.failure_type == "ALL");
        let allowed = match (own, all) {
            (Some(c), _) => old.retries[idx] < c.number_of_retries,
            (None, Some(c)) => old.retries[0] + old.retries[1] < c.number_of_retries,
            (None, None) => false,
        };
        if !allowed {
            return;
        }
        let mut e = Execution::new(
            old.thing_arn.clone(),
            old.execution_number + 1,
            old.retry_attempt + 1,
            now,
        );
        e.retries = old.retries;
        e.retries[idx] += 1;
        let mut old = old.clone();
        e.history = std::mem::take(&mut old.history);
        e.history.push(old);
        job.insert_execution(thing, e);
    }

    /// `abortConfig`: once at least `minNumberOfExecutedThings` executions have ended
    /// (SUCCEEDED, FAILED, REJECTED or TIMED_OUT; attempts or latest attempts, as the
    /// counts show) and the share of the criterion's failure type reaches
    /// `thresholdPercentage`, the job is canceled. A criterion with no failure of its type
    /// is never met, so a 0% threshold means "any failure", not "always". Criteria are
    /// checked in order; the first met names the reason.
    fn check_abort(&mut self, id: &str, now: i64) {
        let Some(job) = self.scope.jobs.get(id) else {
            return;
        };
        if job.status != JobStatus::InProgress {
            return;
        }
        let Some(cfg) = &job.abort_config else {
            return;
        };
        let c = job.tally(Counting::of(self.fleet));
        let (failed, rejected, timed_out) = (
            c.get(ExecStatus::Failed),
            c.get(ExecStatus::Rejected),
            c.get(ExecStatus::TimedOut),
        );
        let executed = c.get(ExecStatus::Succeeded) + failed + rejected + timed_out;
        let hit = cfg.criteria_list.iter().find_map(|k| {
            let bad = match k.failure_type.as_str() {
                "FAILED" => failed,
                "REJECTED" => rejected,
                "TIMED_OUT" => timed_out,
                _ => failed + rejected + timed_out,
            };
            let share = if executed == 0 {
                0.0
            } else {
                bad as f64 * 100.0 / executed as f64
            };
            (executed >= k.min_number_of_executed_things.max(1) as u64
                && bad > 0
                && share >= k.threshold_percentage)
                .then(|| {
                    format!(
                        "Job aborted by abortConfig: {} executions were {} ({share:.2}% of {executed} executed things), at or over the threshold of {}% with minNumberOfExecutedThings {}.",
                        bad, k.failure_type, k.threshold_percentage, k.min_number_of_executed_things
                    )
                })
        });
        if let Some(comment) = hit {
            self.cancel_job(
                id,
                false,
                Some(ABORT_REASON_CODE.to_owned()),
                Some(comment),
                now,
            );
        }
    }

    // ---- Simulated devices ----------------------------------------------------------

    fn busy_with(&self, thing: &str, id: &str, gen: u64, exec: i64) -> bool {
        self.scope
            .busy
            .get(thing)
            .is_some_and(|(j, g, e)| j == id && *g == gen && *e == exec)
    }

    /// The next execution a device works on, as StartNextPendingJobExecution would pick it:
    /// IN_PROGRESS first, then QUEUED by queuedAt, then by job creation.
    pub fn next_pending(scope: &Scope, thing: &str) -> Option<(String, u64, i64)> {
        scope
            .jobs
            .values()
            .filter_map(|j| j.executions.get(thing).map(|e| (j, e)))
            .filter(|(j, e)| match e.status {
                ExecStatus::InProgress => true,
                ExecStatus::Queued => j.status == JobStatus::InProgress,
                _ => false,
            })
            .min_by_key(|(j, e)| (e.status != ExecStatus::InProgress, e.queued_at_ms, j.seq))
            .map(|(j, e)| (j.job_id.clone(), j.seq, e.execution_number))
    }

    /// What the fleet says this device does with this execution.
    fn plan(&mut self, fleet: &Fleet, id: &str, thing: &str, exec: i64) -> Option<Plan> {
        let job = self.scope.jobs.get_mut(id)?;
        if job.parsed_document.is_none() {
            let doc = job
                .document
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(serde_json::Value::Null);
            job.parsed_document = Some(std::sync::Arc::new(doc));
        }
        let job = self.scope.jobs.get(id)?;
        let doc = job.parsed_document.as_deref();
        let rule = fleet.rules.iter().position(|r| {
            let m = &r.matcher;
            m.job_id.as_deref().is_none_or(|j| j == job.job_id)
                && m.document
                    .as_ref()
                    .is_none_or(|d| doc.is_some_and(|doc| is_subset(d, doc)))
                && m.group
                    .as_deref()
                    .is_none_or(|g| self.scope.thing_in_group(thing, g))
        });
        let b = fleet.behaviour(rule);
        let seed = fleet.seed;
        Some(Plan {
            offline: unit(seed, &["offline", thing], 0) < b.offline,
            pickup_ms: secs_ms(
                b.pickup_seconds
                    .draw(unit(seed, &["pickup", id, thing], exec)),
            ),
            duration_ms: secs_ms(b.duration_seconds.draw(unit(
                seed,
                &["duration", id, thing],
                exec,
            ))),
            outcome: b.outcomes.pick(unit(seed, &["outcome", id, thing], exec)),
        })
    }

    /// An idle simulated device looks for work and schedules its pickup.
    fn device_wake(&mut self, thing: &str, now: i64) {
        let Some(fleet) = self.fleet else {
            return;
        };
        if self.scope.busy.contains_key(thing)
            || !self.scope.things.get(thing).is_some_and(|t| t.simulated)
        {
            return;
        }
        let Some((id, gen, exec)) = Self::next_pending(self.scope, thing) else {
            return;
        };
        let Some(plan) = self.plan(fleet, &id, thing, exec) else {
            return;
        };
        if plan.offline {
            return;
        }
        self.scope
            .busy
            .insert(thing.to_owned(), (id.clone(), gen, exec));
        self.scope.timers.push(
            now + plan.pickup_ms,
            Event::Pickup {
                job: id,
                gen,
                thing: thing.to_owned(),
                exec,
            },
        );
    }

    fn device_pickup(&mut self, id: &str, gen: u64, thing: &str, exec: i64, now: i64) {
        if !self.busy_with(thing, id, gen, exec) {
            return;
        }
        let state = self.job(id, gen).map(|j| {
            (
                j.status,
                j.executions
                    .get(thing)
                    .map(|e| (e.execution_number, e.status)),
            )
        });
        let workable = match state {
            Some((_, Some((n, ExecStatus::InProgress)))) => n == exec,
            Some((JobStatus::InProgress, Some((n, ExecStatus::Queued)))) => n == exec,
            _ => false,
        };
        if !workable {
            // Canceled, removed or taken over since: the device moves on.
            self.scope.busy.remove(thing);
            self.device_wake(thing, now);
            return;
        }
        let Some(fleet) = self.fleet else {
            return;
        };
        if state.is_some_and(|(_, e)| e.is_some_and(|(_, s)| s == ExecStatus::Queued)) {
            self.start(id, thing, None, now);
        }
        let Some(plan) = self.plan(fleet, id, thing, exec) else {
            return;
        };
        // TIMED_OUT: the device never reports; a timer (if any) ends the execution.
        if plan.outcome != Outcome::TimedOut {
            self.scope.timers.push(
                now + plan.duration_ms,
                Event::Finish {
                    job: id.to_owned(),
                    gen,
                    thing: thing.to_owned(),
                    exec,
                    outcome: to_exec_status(plan.outcome).as_str().to_owned(),
                },
            );
        }
    }

    /// After loading a state file written before the timer queue existed: rebuilds the
    /// timers of scheduled starts, end times, deletions and timeouts.
    pub fn restore(&mut self) {
        for job in self.scope.jobs.values_mut() {
            job.recount();
        }
        // A state file from before the tagging index: index what is tagged now.
        if self.scope.tag_index.is_empty() && self.scope.tag_log.is_empty() {
            self.scope.tag_index = self.scope.tags.clone();
        }
        if !self.scope.timers.is_empty() {
            return;
        }
        let mut timers = Vec::new();
        for j in self.scope.jobs.values() {
            let (job, gen) = (j.job_id.clone(), j.seq);
            if let (JobStatus::Scheduled, Some(s)) = (j.status, j.start_at_ms) {
                timers.push((
                    s,
                    Event::Start {
                        job: job.clone(),
                        gen,
                    },
                ));
            }
            if let (Some(e), false) = (j.end_at_ms, j.end_handled) {
                timers.push((
                    e,
                    Event::End {
                        job: job.clone(),
                        gen,
                    },
                ));
            }
            if let (JobStatus::DeletionInProgress, Some(d)) = (j.status, j.delete_at_ms) {
                timers.push((
                    d,
                    Event::Delete {
                        job: job.clone(),
                        gen,
                    },
                ));
            }
            let mins = j
                .timeout_config
                .as_ref()
                .and_then(|t| t.in_progress_timeout_in_minutes);
            for (thing, e) in &j.executions {
                if let (ExecStatus::InProgress, Some(m), Some(s)) =
                    (e.status, mins, e.started_at_ms)
                {
                    timers.push((
                        s + m * MINUTE_MS,
                        Event::Timeout {
                            job: job.clone(),
                            gen,
                            thing: thing.clone(),
                            exec: e.execution_number,
                        },
                    ));
                }
            }
        }
        timers.sort_by_key(|t| t.0);
        for (at, ev) in timers {
            self.scope.timers.push(at, ev);
        }
        // Executions armed through `restore` need their deadlines back too.
        for j in self.scope.jobs.values_mut() {
            let mins = j
                .timeout_config
                .as_ref()
                .and_then(|t| t.in_progress_timeout_in_minutes);
            for e in j.executions.values_mut() {
                if let (ExecStatus::InProgress, Some(m), Some(s), None) =
                    (e.status, mins, e.started_at_ms, e.timeout_at_ms)
                {
                    e.timeout_at_ms = Some(s + m * MINUTE_MS);
                }
            }
        }
    }
}

/// Runs every scope's due timers (at most `budget` per scope). Returns (something
/// changed, timers still due).
pub fn tick_world(world: &mut World, now: i64, budget: usize) -> (bool, bool) {
    let fleet = world.fleet.as_deref();
    let mut changed = false;
    let mut more = false;
    for scope in world.scopes.values_mut() {
        let (c, m) = Engine::new(scope, fleet).tick(now, budget);
        changed |= c;
        more |= m;
    }
    (changed, more)
}

/// Timers a request runs before it is answered, at most; the background driver runs the
/// rest.
pub const REQUEST_TIMERS: usize = 8;

/// Runs the timers due by the running clock, at most `budget` per scope. If some are still
/// due, the clock is held just before the earliest of them (`World::hold_clock`), so what a
/// caller answers is consistent with the clock; otherwise it runs freely again. Returns
/// (something changed, timers still due, the emulated time to answer at).
pub fn catch_up(world: &mut World, budget: usize) -> (bool, bool, i64) {
    let running = world.running_ms();
    let (changed, more) = tick_world(world, running, budget);
    match next_due(world).filter(|_| more) {
        Some(due) => {
            // Never back: a hold only ever moves forward.
            let at = (due - 1).max(world.held_ms.unwrap_or(i64::MIN));
            world.hold_clock(at);
            (changed, true, at)
        }
        None => {
            world.release_clock();
            (changed, false, running)
        }
    }
}

/// Runs every timer due by the running clock, however many (the control API's clock moves
/// and test drivers), and releases a hold. Returns the emulated time.
pub fn run_all(world: &mut World) -> i64 {
    let now = world.running_ms();
    tick_world(world, now, usize::MAX);
    world.release_clock();
    now
}

/// When the next timer of any scope falls due.
pub fn next_due(world: &World) -> Option<i64> {
    world
        .scopes
        .values()
        .filter_map(|s| s.timers.next_due())
        .min()
}

/// A job's maintenance windows, parsed (invalid ones were refused at CreateJob).
fn windows_of(job: &Job) -> Vec<(Cron, i64)> {
    job.scheduling_config
        .as_ref()
        .and_then(|s| s.maintenance_windows.as_ref())
        .map(|ws| {
            ws.iter()
                .filter_map(|w| Some((Cron::parse(&w.start_time).ok()?, w.duration_in_minutes)))
                .collect()
        })
        .unwrap_or_default()
}

/// `scheduledJobRollouts`: the next seven maintenance-window starts, as
/// `YYYY-MM-DDTHH:MM` (UTC), for a job that is not finished.
pub fn scheduled_rollouts(job: &Job, now: i64) -> Vec<String> {
    if !job.status.is_active() {
        return Vec::new();
    }
    let windows = windows_of(job);
    let mut starts: Vec<i64> = Vec::new();
    for (cron, _) in &windows {
        let mut t = now;
        for _ in 0..7 {
            match cron.next_start(t) {
                Some(s) => {
                    starts.push(s);
                    t = s + MINUTE_MS;
                }
                None => break,
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
        .into_iter()
        .take(7)
        .filter_map(|ms| {
            let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).ok()?;
            Some(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            ))
        })
        .collect()
}

/// Seconds left before an IN_PROGRESS execution times out, if a timer runs.
pub fn seconds_before_timeout(e: &Execution, now: i64) -> Option<i64> {
    e.deadline()
        .map(|d| ((d - now).max(0) as f64 / 1000.0).ceil() as i64)
}
