//! Following rollouts: which jobs a status run shows, which of them it reads, and polling the
//! unfinished ones until they are done (`status --watch`, `apply --wait`). Reads go through
//! [`JobsApi`], paced by its rate limiter; the judging is [`super::health`]'s.
//!
//! Calls per run (docs/status.md):
//! - ListJobs, one call per 250 jobs in the account, when manifests are given;
//! - owned-job discovery, shared with plan: one ListTagsForResource per active job no manifest
//!   declares;
//! - one DescribeJob per job that is not finished, per poll;
//! - one DescribeJob per finished job that is named by id, that finished during the run, or
//!   that finished within `--finished-within` (by the service's clock); other finished jobs are
//!   shown from ListJobs alone, and no job seen finished is read twice;
//! - `--failed N`, per job with failures: ListJobExecutionsForJob per failing state (one call
//!   per 250 rows, N rows at most) and at most N DescribeJobExecution.
//! - per declared `kind: Rollout`: its job is always read (DescribeJob, as above, even when
//!   finished long ago: a Halted or Complete rollout stays visible), plus one
//!   ListTagsForResource for its state tags. Stage targets are matched to the job's target
//!   ARNs by name, so no thing or thing group is described.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::apply::{JobResult, Outcome};
use super::health::{self, Health, Rollout, Sample};
use super::plan::epoch;
use super::plan::{Action, Change, Plan};
use super::refresh::{self, JobError};
use super::rollout::{self, Phase, StageView};
use super::Settings;
use crate::aws::{ApiError, JobsApi};
use crate::domain::ownership::{ownership, Ownership};
use crate::domain::rollout::RolloutSpec;
use crate::domain::spec::{Target, TargetSelection};
use crate::domain::{
    DesiredJob, ExecutionStatus, JobDescription, JobProgress, JobStatus, JobSummary,
};

/// Why a job is in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Why {
    /// A manifest declares it.
    Declared,
    /// This instance owns it (its tags say so) and no manifest declares it.
    Owned,
    /// Named by id on the command line.
    Named,
    /// `apply --wait`: the run created or changed it.
    Applied,
}

/// A thing whose execution failed, was rejected or timed out (`--failed N`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailingThing {
    pub thing_name: String,
    pub thing_arn: String,
    pub status: ExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_number: Option<i64>,
    /// What the device reported (`statusDetails.detailsMap`).
    pub status_details: BTreeMap<String, String>,
}

/// One job as a status report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobHealth {
    pub job_id: String,
    pub why: Why,
    /// Where a manifest declares it (`file:line:col`).
    pub source: Option<String>,
    /// Its status in the account; `None` when it is not there.
    pub status: Option<JobStatus>,
    /// `None` only for a COMPLETED job whose counts were not read (finished long ago).
    pub health: Option<Health>,
    /// DescribeJob's counts and reason; `None` when the job was not read.
    pub progress: Option<JobProgress>,
    pub target_selection: Option<TargetSelection>,
    /// The tolerance it was judged by, in percent.
    pub max_failure_rate: f64,
    pub success_rate: Option<f64>,
    pub failure_rate: Option<f64>,
    /// Time left, in the service's seconds; `None` when unknown.
    pub eta_seconds: Option<f64>,
    /// `--failed N`: its failing things.
    pub failing: Vec<FailingThing>,
    /// The last read failed.
    pub error: Option<JobError>,
    /// A declared `kind: Rollout`: its phase and stages.
    pub rollout: Option<RolloutHealth>,
}

/// A rollout as status shows it: the pure machine's verdict (`engine::rollout::evaluate`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutHealth {
    pub phase: Phase,
    /// The current stage.
    pub stage: String,
    /// What is happening and what the next step needs, with numbers.
    pub summary: String,
    pub stages: Vec<StageView>,
}

/// The tolerance a rollout's job is judged by when its manifest sets no
/// `metadata.maxFailureRate`: the failure rate its gates accept, the current stage's gate or else
/// the nearest earlier one (a last stage often has no gate). Without this, `--max-failure-rate`'s
/// default of 0 would call a rollout Degraded, and end `--wait` with exit 1, while its own gates
/// accept the failures it has.
fn gate_tolerance(spec: &RolloutSpec, current: &str) -> Option<f64> {
    let upto = spec.stage_index(current)?;
    spec.stages[..=upto]
        .iter()
        .rev()
        .find_map(|stage| stage.gate.as_ref().and_then(|gate| gate.max_failure_rate))
}

/// What status needs to judge a declared rollout: its stages and the manifest's targets.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSubject {
    pub spec: RolloutSpec,
    pub targets: Vec<Target>,
}

impl RolloutSubject {
    fn missing(&self) -> RolloutHealth {
        RolloutHealth {
            phase: Phase::Missing,
            stage: self
                .spec
                .stages
                .first()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            summary: "the rollout's job does not exist; `jobctl apply` creates it".into(),
            stages: Vec::new(),
        }
    }

    /// Each stage's target ARNs, matched by name against the job's ARNs (a thing group
    /// `Bulbs` is `…:thinggroup/Bulbs`); a target not on the job gets a placeholder that is
    /// on no job.
    fn stage_targets(&self, on_job: &BTreeSet<String>) -> rollout::StageTargets {
        let arn = |target: &Target| -> String {
            let suffix = match target {
                Target::Arn(arn) => return arn.clone(),
                Target::Thing(r) => format!(":thing/{}", r.thing),
                Target::ThingGroup(r) => format!(":thinggroup/{}", r.thing_group),
            };
            on_job
                .iter()
                .find(|a| a.ends_with(&suffix))
                .cloned()
                .unwrap_or_else(|| format!("(not on the job){suffix}"))
        };
        self.spec
            .stages
            .iter()
            .map(|s| {
                s.targets
                    .iter()
                    .filter_map(|&i| self.targets.get(i).map(arn))
                    .collect()
            })
            .collect()
    }

    /// Judges the rollout from its job and tags at server time `now`.
    fn judge(
        &self,
        description: &JobDescription,
        tags: &BTreeMap<String, String>,
        now: SystemTime,
    ) -> RolloutHealth {
        let on_job = rollout::job_target_arns(description);
        let stage_targets = self.stage_targets(&on_job);
        let eval = rollout::evaluate(
            &self.spec,
            &stage_targets,
            &rollout::Observation::of(description, &on_job, tags, epoch(now).unwrap_or(0)),
        );
        // A manifest that changes a started stage is refused by plan; the machine's next step
        // (it would add the new targets) is not what will happen, so say what will.
        let changed =
            super::stage_change::started_stage_changes(&self.spec, &stage_targets, &on_job, tags);
        let summary = match changed.first() {
            Some(problem) => format!(
                "the manifest changes a started stage, which `jobctl plan` refuses: {}",
                problem.message
            ),
            None => eval.summary,
        };
        RolloutHealth {
            phase: eval.phase,
            stage: self.spec.stages[eval.current].name.clone(),
            summary,
            stages: eval.stages,
        }
    }
}

impl JobHealth {
    fn new(subject: &Subject, max_failure_rate: f64) -> Self {
        Self {
            job_id: subject.job_id.clone(),
            why: subject.why,
            source: subject.source.clone(),
            status: None,
            health: None,
            progress: None,
            target_selection: None,
            max_failure_rate,
            success_rate: None,
            failure_rate: None,
            eta_seconds: None,
            failing: Vec::new(),
            error: None,
            rollout: None,
        }
    }

    /// Whether the job still needs watching: its health does not end the wait yet.
    pub fn pending(&self) -> bool {
        self.health.is_none_or(|h| !h.ends_wait())
    }
}

/// What the wait loop ([`Tracker::follow_until_done`]) does around each poll.
#[async_trait::async_trait]
pub trait Follower: Send {
    /// Runs before each poll, with the jobs as last read. This is the place for a step that
    /// acts while jobctl waits, such as advancing staged rollouts (start a rollout's next stage
    /// when its gate passes, halt it when it fails): the poll right after it reads what the
    /// step changed. It may add jobs to follow with [`Tracker::add_subject`].
    async fn before_poll(&mut self, _api: &dyn JobsApi, _tracker: &mut Tracker) {}

    /// After each poll, with every job as read (live progress).
    fn after_poll(&mut self, rows: &[&JobHealth]);

    /// Whether to keep following after every job has ended: a staged rollout whose job's
    /// executions have all ended may still have stages to start.
    fn keep_going(&self) -> bool {
        false
    }
}

/// A job to report on.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub job_id: String,
    pub why: Why,
    pub source: Option<String>,
    /// `metadata.maxFailureRate`, when a manifest sets one.
    pub max_failure_rate: Option<f64>,
    /// A declared `kind: Rollout`.
    pub rollout: Option<RolloutSubject>,
}

impl Subject {
    pub fn declared(job: &DesiredJob) -> Self {
        Self {
            job_id: job.job_id.clone(),
            why: Why::Declared,
            source: Some(job.origin.to_string()),
            max_failure_rate: job.max_failure_rate,
            rollout: job.rollout.clone().map(|spec| RolloutSubject {
                spec,
                targets: job.spec.targets.clone(),
            }),
        }
    }

    /// A job `apply --wait` created or changed, with its manifest's place and tolerance.
    pub fn applied(job_id: &str, source: Option<String>, max_failure_rate: Option<f64>) -> Self {
        Self {
            job_id: job_id.to_string(),
            why: Why::Applied,
            source,
            max_failure_rate,
            rollout: None,
        }
    }

    /// A job of the plan that `apply --wait` follows: applied, and, for a rollout, with its
    /// stages, so the table shows a row per stage as `status -f` does.
    pub fn planned(change: &Change) -> Self {
        let mut subject = Self::applied(
            &change.resource.name,
            change.source.clone(),
            change.max_failure_rate,
        );
        subject.rollout = change.rollout.as_ref().map(|plan| {
            // The plan resolved each stage's targets to ARNs; the stages index into the
            // rollout's targets, which are rebuilt from them in the same places.
            let mut targets = Vec::new();
            for (stage, arns) in plan.spec.stages.iter().zip(&plan.stage_targets) {
                for (&i, arn) in stage.targets.iter().zip(arns) {
                    if targets.len() <= i {
                        targets.resize(i + 1, Target::Arn(String::new()));
                    }
                    targets[i] = Target::Arn(arn.clone());
                }
            }
            RolloutSubject {
                spec: plan.spec.clone(),
                targets,
            }
        });
        subject
    }

    pub fn named(job_id: &str) -> Self {
        Self {
            job_id: job_id.to_string(),
            why: Why::Named,
            source: None,
            max_failure_rate: None,
            rollout: None,
        }
    }
}

/// How a status run reads.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--max-failure-rate`, for jobs without their own.
    pub max_failure_rate: f64,
    /// Finished jobs are read when they finished this recently (by the service's clock).
    pub finished_within: Duration,
    pub parallelism: usize,
}

/// How far back the pace of a job is measured for its ETA.
const PACE_WINDOW: Duration = Duration::from_secs(60);
/// Samples kept per job.
const MAX_SAMPLES: usize = 16;

#[derive(Debug)]
struct Tracked {
    row: JobHealth,
    /// Counts at the service times they were read, oldest first.
    samples: VecDeque<Sample>,
    /// Never read again: the job was finished or gone when last seen.
    settled: bool,
    /// The subject's own tolerance, if any.
    own_max_failure_rate: Option<f64>,
    /// A declared rollout: its tags are read with the job.
    rollout: Option<RolloutSubject>,
}

/// The jobs of one status run or wait, and what is known about each.
#[derive(Debug)]
pub struct Tracker {
    options: Options,
    jobs: Vec<Tracked>,
    /// Problems that belong to no shown job (an ownership check that failed).
    pub errors: Vec<JobError>,
}

impl Tracker {
    /// Jobs to follow, none read yet (`apply --wait`): the first poll reads them all.
    pub fn follow(options: Options, subjects: Vec<Subject>) -> Self {
        let mut tracker = Self {
            options,
            jobs: Vec::new(),
            errors: Vec::new(),
        };
        for subject in subjects {
            tracker.add(&subject);
        }
        tracker
    }

    /// Follows one more job (a step of the wait loop may add some); a job already followed is
    /// left as it is.
    pub fn add_subject(&mut self, subject: &Subject) {
        self.add(subject);
    }

    fn add(&mut self, subject: &Subject) -> usize {
        if let Some(i) = self
            .jobs
            .iter()
            .position(|t| t.row.job_id == subject.job_id)
        {
            return i;
        }
        let tolerance = subject
            .max_failure_rate
            .unwrap_or(self.options.max_failure_rate);
        self.jobs.push(Tracked {
            row: JobHealth::new(subject, tolerance),
            samples: VecDeque::new(),
            settled: false,
            own_max_failure_rate: subject.max_failure_rate,
            rollout: subject.rollout.clone(),
        });
        self.jobs.len() - 1
    }

    /// A one-shot read: every declared job (from one ListJobs), every active job this
    /// instance owns that no manifest declares (`owner`: the settings of refresh's owned-job
    /// discovery), and every named job. Finished jobs are read only when named or recent.
    pub async fn survey(
        api: &dyn JobsApi,
        options: Options,
        declared: Vec<Subject>,
        named: Vec<Subject>,
        owner: Option<&Settings>,
    ) -> Self {
        let mut tracker = Self::follow(options, Vec::new());
        let mut to_read = BTreeSet::new();
        if !declared.is_empty() || owner.is_some() {
            match api.list_jobs().await {
                Ok(listed) => {
                    let listed: HashMap<String, JobSummary> =
                        listed.into_iter().map(|s| (s.job_id.clone(), s)).collect();
                    let now = service_now(api, &listed);
                    for subject in &declared {
                        let i = tracker.add(subject);
                        if tracker.place(i, listed.get(&subject.job_id), now) {
                            to_read.insert(i);
                        }
                    }
                    if let Some(settings) = owner {
                        for subject in tracker.discover(api, &listed, settings).await {
                            to_read.insert(tracker.add(&subject));
                        }
                    }
                }
                Err(err) => {
                    // Without the listing nothing is known; every declared job says why.
                    for subject in &declared {
                        let i = tracker.add(subject);
                        tracker.jobs[i].row.error = Some(JobError::api(
                            subject.job_id.clone(),
                            subject.source.clone(),
                            err.to_string(),
                            &err,
                        ));
                        tracker.jobs[i].settled = true;
                    }
                }
            }
        }
        for subject in &named {
            let i = tracker.add(subject);
            tracker.jobs[i].settled = false;
            to_read.insert(i);
        }
        tracker.read(api, to_read.into_iter().collect()).await;
        tracker.jobs.sort_by(|a, b| a.row.job_id.cmp(&b.row.job_id));
        tracker
    }

    /// Places a declared job from its ListJobs row; true when it is to be read.
    fn place(&mut self, i: usize, listed: Option<&JobSummary>, now: SystemTime) -> bool {
        let within = self.options.finished_within;
        let job = &mut self.jobs[i];
        let Some(summary) = listed else {
            job.row.health = Some(Health::Missing);
            job.row.rollout = job.rollout.as_ref().map(RolloutSubject::missing);
            job.settled = true;
            return false;
        };
        if job.rollout.is_some() && summary.status != JobStatus::DeletionInProgress {
            // A rollout is always read: Halted and Complete stay visible with their stages.
            job.row.status = Some(summary.status.clone());
            return true;
        }
        job.row.status = Some(summary.status.clone());
        let recent = summary
            .finished_at()
            .is_some_and(|at| now.duration_since(at).map_or(true, |ago| ago <= within));
        match &summary.status {
            JobStatus::DeletionInProgress => {}
            s if s.is_finished() && !recent => {}
            _ => return true,
        }
        job.row.health = health::assess_unread(&summary.status);
        job.settled = true;
        false
    }

    /// Owned-job discovery (refresh's): active jobs no manifest declares whose tags name this
    /// instance.
    async fn discover(
        &mut self,
        api: &dyn JobsApi,
        listed: &HashMap<String, JobSummary>,
        settings: &Settings,
    ) -> Vec<Subject> {
        let declared: BTreeSet<&str> = self.jobs.iter().map(|t| t.row.job_id.as_str()).collect();
        let (tags, errors) = refresh::undeclared_tags(api, listed, &declared, settings).await;
        self.errors.extend(errors);
        let mut owned: Vec<Subject> = tags
            .into_iter()
            .filter(|(_, tags)| ownership(tags, &settings.instance) == Ownership::Managed)
            .map(|(job_id, _)| Subject {
                job_id,
                why: Why::Owned,
                source: None,
                max_failure_rate: None,
                rollout: None,
            })
            .collect();
        owned.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        owned
    }

    /// Reads the given jobs, concurrently up to `parallelism`.
    async fn read(&mut self, api: &dyn JobsApi, indexes: Vec<usize>) {
        let ids: Vec<(usize, String, bool)> = indexes
            .into_iter()
            .map(|i| {
                let job = &self.jobs[i];
                (i, job.row.job_id.clone(), job.rollout.is_some())
            })
            .collect();
        type Read = (
            usize,
            Result<Option<JobDescription>, ApiError>,
            Option<Result<BTreeMap<String, String>, ApiError>>,
            SystemTime,
        );
        let results: Vec<Read> = stream::iter(ids)
            .map(|(i, job_id, is_rollout)| async move {
                let result = api.describe_job(&job_id).await;
                let tags = match (&result, is_rollout) {
                    (Ok(Some(d)), true) => Some(api.list_tags(&d.job_arn).await),
                    _ => None,
                };
                (
                    i,
                    result,
                    tags,
                    api.server_time().unwrap_or_else(SystemTime::now),
                )
            })
            .buffer_unordered(self.options.parallelism.max(1))
            .collect()
            .await;
        for (i, result, tags, at) in results {
            let judged = match (&result, &self.jobs[i].rollout, tags) {
                (Ok(Some(description)), Some(subject), Some(Ok(tags))) => {
                    Some(Ok(subject.judge(description, &tags, at)))
                }
                (_, _, Some(Err(err))) => Some(Err(err)),
                _ => None,
            };
            let gate_tolerance = match (&judged, &self.jobs[i].rollout) {
                (Some(Ok(health)), Some(subject)) => gate_tolerance(&subject.spec, &health.stage),
                _ => None,
            };
            self.observe(i, result, at, gate_tolerance);
            let job = &mut self.jobs[i];
            match judged {
                Some(Ok(health)) => job.row.rollout = Some(health),
                Some(Err(err)) => {
                    job.row.rollout = None;
                    job.row.error = Some(JobError::api(
                        job.row.job_id.clone(),
                        job.row.source.clone(),
                        format!("reading the rollout's tags: {err}"),
                        &err,
                    ));
                }
                None => {
                    if job.row.health == Some(Health::Missing) {
                        job.row.rollout = job.rollout.as_ref().map(RolloutSubject::missing);
                    }
                }
            }
        }
    }

    fn observe(
        &mut self,
        i: usize,
        result: Result<Option<JobDescription>, ApiError>,
        at: SystemTime,
        gate_tolerance: Option<f64>,
    ) {
        let default_tolerance = self.options.max_failure_rate;
        let job = &mut self.jobs[i];
        let row = &mut job.row;
        match result {
            Err(err) => {
                row.error = Some(JobError::api(
                    row.job_id.clone(),
                    row.source.clone(),
                    err.to_string(),
                    &err,
                ));
            }
            Ok(None) => {
                *row = JobHealth {
                    health: Some(Health::Missing),
                    ..JobHealth::new(
                        &Subject {
                            job_id: row.job_id.clone(),
                            why: row.why,
                            source: row.source.clone(),
                            max_failure_rate: None,
                            rollout: None,
                        },
                        row.max_failure_rate,
                    )
                };
                job.settled = true;
            }
            Ok(Some(description)) => {
                let tolerance = job
                    .own_max_failure_rate
                    .or(gate_tolerance)
                    .unwrap_or(default_tolerance);
                let details = &description.progress.details;
                row.error = None;
                row.max_failure_rate = tolerance;
                row.health = Some(health::of_job(
                    &description.status,
                    &description.spec,
                    &description.progress,
                    tolerance,
                ));
                row.success_rate = health::success_rate(details);
                row.failure_rate = health::failure_rate(details);
                row.target_selection = Some(
                    description
                        .spec
                        .target_selection
                        .unwrap_or(TargetSelection::Snapshot),
                );
                let now = Sample {
                    at: at.duration_since(UNIX_EPOCH).unwrap_or_default(),
                    details: details.clone(),
                };
                let before = recent_sample(&job.samples, &now);
                row.eta_seconds = health::eta(
                    &description.status,
                    before,
                    &now,
                    &Rollout::of_spec(&description.spec),
                );
                job.samples.push_back(now);
                if job.samples.len() > MAX_SAMPLES {
                    job.samples.pop_front();
                }
                job.settled = description.status.is_finished()
                    || description.status == JobStatus::DeletionInProgress;
                row.status = Some(description.status);
                row.progress = Some(description.progress);
            }
        }
    }

    /// Reads every job that is still being waited for, once.
    pub async fn poll(&mut self, api: &dyn JobsApi) {
        let waiting: Vec<usize> = (0..self.jobs.len())
            .filter(|&i| !self.jobs[i].settled && self.jobs[i].row.pending())
            .collect();
        self.read(api, waiting).await;
    }

    /// Reads these followed jobs now, whatever their health, unless the next poll reads them
    /// anyway: a step of the wait loop changed them (a rollout's next stage started).
    pub async fn read_now(&mut self, api: &dyn JobsApi, job_ids: &[String]) {
        let again: Vec<usize> = (0..self.jobs.len())
            .filter(|&i| {
                let job = &self.jobs[i];
                job_ids.contains(&job.row.job_id) && (job.settled || !job.row.pending())
            })
            .collect();
        self.read(api, again).await;
    }

    /// Whether any job is still being waited for.
    pub fn done(&self) -> bool {
        self.waiting().next().is_none()
    }

    /// The jobs still being waited for.
    pub fn waiting(&self) -> impl Iterator<Item = &JobHealth> {
        self.jobs
            .iter()
            .filter(|t| !t.settled && t.row.pending())
            .map(|t| &t.row)
    }

    /// The wait loop of `status --watch` and `apply --wait`: every `interval`, until no job is
    /// waited for, runs the follower's step, polls the jobs still waited for, and hands every
    /// row to the follower. The first round is at once when some job was never read. Cancel it
    /// (a deadline, Ctrl-C) by dropping the future: what was read so far stays.
    pub async fn follow_until_done(
        &mut self,
        api: &dyn JobsApi,
        interval: Duration,
        follower: &mut dyn Follower,
    ) {
        let unread = self.jobs.iter().any(|t| t.samples.is_empty() && !t.settled);
        let mut next = tokio::time::Instant::now();
        if !unread {
            next += interval;
        }
        while !self.done() || follower.keep_going() {
            tokio::time::sleep_until(next).await;
            next = tokio::time::Instant::now() + interval;
            follower.before_poll(api, self).await;
            self.poll(api).await;
            follower.after_poll(&self.rows());
        }
    }

    /// `--failed N`: up to `n` failing things of each job with failures, with what their
    /// devices reported.
    pub async fn read_failing(&mut self, api: &dyn JobsApi, n: usize) {
        if n == 0 {
            return;
        }
        let parallelism = self.options.parallelism.max(1);
        let wanted: Vec<(usize, String, Vec<ExecutionStatus>)> = self
            .jobs
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let details = &t.row.progress.as_ref()?.details;
                let states: Vec<ExecutionStatus> = ExecutionStatus::FAILING
                    .into_iter()
                    .filter(|s| match s {
                        ExecutionStatus::Failed => details.number_of_failed_things > 0,
                        ExecutionStatus::Rejected => details.number_of_rejected_things > 0,
                        _ => details.number_of_timed_out_things > 0,
                    })
                    .collect();
                (!states.is_empty()).then(|| (i, t.row.job_id.clone(), states))
            })
            .collect();
        let found: Vec<(usize, Result<Vec<FailingThing>, ApiError>)> = stream::iter(wanted)
            .map(|(i, job_id, states)| async move {
                (
                    i,
                    failing_things(api, &job_id, &states, n, parallelism).await,
                )
            })
            .buffer_unordered(parallelism)
            .collect()
            .await;
        for (i, result) in found {
            let row = &mut self.jobs[i].row;
            match result {
                Ok(things) => row.failing = things,
                Err(err) => {
                    let message = format!("could not list its failing things: {err}");
                    row.error = Some(JobError::api(
                        row.job_id.clone(),
                        row.source.clone(),
                        message,
                        &err,
                    ));
                }
            }
        }
    }

    /// Every job, by id.
    pub fn rows(&self) -> Vec<&JobHealth> {
        self.jobs.iter().map(|t| &t.row).collect()
    }

    /// Every job, by id, for the report.
    pub fn into_rows(mut self) -> (Vec<JobHealth>, Vec<JobError>) {
        self.jobs.sort_by(|a, b| a.row.job_id.cmp(&b.row.job_id));
        (self.jobs.into_iter().map(|t| t.row).collect(), self.errors)
    }
}

/// The jobs an apply created or changed, to follow with `apply --wait`: every job change that
/// was carried out (or whose create found this instance's job there already), except cancels
/// and deletes, each with its manifest's place and tolerance. Templates have nothing to follow.
pub fn applied(plan: &Plan, results: &[JobResult]) -> Vec<Subject> {
    let changes: HashMap<&str, &Change> = plan
        .changes
        .iter()
        .filter_map(|c| Some((c.job_id()?, c)))
        .collect();
    let mut subjects: Vec<Subject> = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Done | Outcome::AlreadyExists))
        .filter(|r| !matches!(r.action, Action::Cancel | Action::Delete))
        .filter_map(|r| {
            let job_id = r.resource.job_id()?;
            Some(match changes.get(job_id) {
                Some(change) => Subject::planned(change),
                None => Subject::applied(job_id, None, None),
            })
        })
        .collect();
    subjects.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    subjects
}

/// The earlier sample the pace is measured from: the oldest within [`PACE_WINDOW`], else the
/// latest one.
fn recent_sample<'a>(samples: &'a VecDeque<Sample>, now: &Sample) -> Option<&'a Sample> {
    let since = now.at.saturating_sub(PACE_WINDOW);
    samples
        .iter()
        .find(|s| s.at >= since && s.at < now.at)
        .or_else(|| samples.back().filter(|s| s.at < now.at))
}

/// The service's time: its `Date`, never earlier than the newest time ListJobs reported (a
/// missing or lagging `Date` must not make old jobs look recent the other way round, and a
/// local clock behind the service's must not hide recent ones).
fn service_now(api: &dyn JobsApi, listed: &HashMap<String, JobSummary>) -> SystemTime {
    let newest = listed
        .values()
        .filter_map(|s| s.last_updated_at.max(s.completed_at))
        .max();
    let now = api.server_time().unwrap_or_else(SystemTime::now);
    newest.map_or(now, |n| n.max(now))
}

/// ListJobExecutionsForJob per failing state until `n` things, then DescribeJobExecution for
/// each (its statusDetails).
async fn failing_things(
    api: &dyn JobsApi,
    job_id: &str,
    states: &[ExecutionStatus],
    n: usize,
    parallelism: usize,
) -> Result<Vec<FailingThing>, ApiError> {
    let mut rows = Vec::new();
    for state in states {
        if rows.len() >= n {
            break;
        }
        rows.extend(
            api.list_job_executions(job_id, state, n - rows.len())
                .await?,
        );
    }
    rows.truncate(n);
    let described: Vec<Result<FailingThing, ApiError>> = stream::iter(rows)
        .map(|row| async move {
            let detail = api.describe_job_execution(job_id, row.thing_name()).await?;
            Ok(FailingThing {
                thing_name: row.thing_name().to_string(),
                thing_arn: row.thing_arn.clone(),
                status: row.status.clone(),
                execution_number: row.execution_number,
                status_details: detail.map(|d| d.status_details).unwrap_or_default(),
            })
        })
        .buffered(parallelism)
        .collect()
        .await;
    described.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeJobs;
    use crate::domain::ownership::ownership_tags;
    use crate::domain::spec::{JobSpec, TagValue};
    use crate::domain::JobProcessDetails;
    use serde_json::json;

    fn spec() -> JobSpec {
        serde_json::from_value(json!({
            "targets": ["arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs"],
            "document": {"op": "x"}
        }))
        .expect("spec")
    }

    fn options() -> Options {
        Options {
            max_failure_rate: 0.0,
            finished_within: Duration::from_secs(24 * 3600),
            parallelism: 4,
        }
    }

    fn declared(id: &str) -> Subject {
        Subject {
            job_id: id.into(),
            why: Why::Declared,
            source: Some(format!("jobs/{id}.yaml:4:9")),
            max_failure_rate: None,
            rollout: None,
        }
    }

    fn progress(
        succeeded: u64,
        failed: u64,
        queued: u64,
        completed_ago: Option<u64>,
    ) -> JobProgress {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        JobProgress {
            details: JobProcessDetails {
                number_of_succeeded_things: succeeded,
                number_of_failed_things: failed,
                number_of_queued_things: queued,
                ..JobProcessDetails::default()
            },
            completed_at: completed_ago.map(|a| now - Duration::from_secs(a)),
            ..JobProgress::default()
        }
    }

    fn account() -> FakeJobs {
        let api = FakeJobs::new();
        api.set_server_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        api.insert_job("running", JobStatus::InProgress, spec());
        api.set_progress("running", progress(10, 0, 5, None));
        api.insert_job("recent", JobStatus::Completed, spec());
        api.set_progress("recent", progress(20, 1, 0, Some(3600)));
        api.insert_job("old", JobStatus::Completed, spec());
        api.set_progress("old", progress(20, 0, 0, Some(3 * 24 * 3600)));
        api.insert_job("stopped", JobStatus::Canceled, spec());
        api
    }

    fn describes(api: &FakeJobs) -> Vec<String> {
        api.calls()
            .into_iter()
            .filter(|c| c.starts_with("DescribeJob "))
            .collect()
    }

    #[tokio::test]
    async fn finished_jobs_are_read_only_when_recent() {
        let api = account();
        let subjects = ["running", "recent", "old", "stopped", "absent"]
            .map(declared)
            .to_vec();
        let tracker = Tracker::survey(&api, options(), subjects, Vec::new(), None).await;
        let mut read = describes(&api);
        read.sort();
        assert_eq!(read, ["DescribeJob recent", "DescribeJob running"]);
        let rows = tracker.rows();
        let health: Vec<(&str, Option<Health>, bool)> = rows
            .iter()
            .map(|r| (r.job_id.as_str(), r.health, r.progress.is_some()))
            .collect();
        assert_eq!(
            health,
            vec![
                ("absent", Some(Health::Missing), false),
                ("old", None, false),
                ("recent", Some(Health::Degraded), true),
                ("running", Some(Health::Progressing), true),
                ("stopped", Some(Health::Aborted), false),
            ]
        );
    }

    #[tokio::test]
    async fn named_jobs_are_read_even_when_finished_long_ago() {
        let api = account();
        let tracker = Tracker::survey(
            &api,
            options(),
            Vec::new(),
            vec![Subject::named("old"), Subject::named("nope")],
            None,
        )
        .await;
        assert!(api.calls().iter().all(|c| !c.starts_with("ListJobs")));
        let rows = tracker.rows();
        assert_eq!(rows[0].job_id, "nope");
        assert_eq!(rows[0].health, Some(Health::Missing));
        assert_eq!(rows[1].health, Some(Health::Healthy));
        assert_eq!(
            rows[1]
                .progress
                .as_ref()
                .map(|p| p.details.number_of_succeeded_things),
            Some(20)
        );
    }

    #[tokio::test]
    async fn owned_jobs_without_manifests_are_found_and_read() {
        let api = account();
        let mut owned = spec();
        for (k, v) in ownership_tags("prod") {
            owned.tags.insert(k, TagValue(v));
        }
        api.insert_job("orphan", JobStatus::InProgress, owned.clone());
        let mut other = spec();
        for (k, v) in ownership_tags("staging") {
            other.tags.insert(k, TagValue(v));
        }
        api.insert_job("theirs", JobStatus::InProgress, other);
        let settings = Settings {
            instance: "prod".into(),
            parallelism: 2,
            ..Settings::default()
        };
        let tracker = Tracker::survey(
            &api,
            options(),
            vec![declared("running")],
            Vec::new(),
            Some(&settings),
        )
        .await;
        let ids: Vec<(&str, Why)> = tracker
            .rows()
            .iter()
            .map(|r| (r.job_id.as_str(), r.why))
            .collect();
        assert_eq!(
            ids,
            vec![("orphan", Why::Owned), ("running", Why::Declared)]
        );
    }

    #[tokio::test]
    async fn a_job_seen_finished_is_never_read_again() {
        let api = account();
        let mut tracker = Tracker::follow(
            options(),
            vec![Subject {
                why: Why::Applied,
                ..declared("running")
            }],
        );
        tracker.poll(&api).await;
        assert!(!tracker.done());
        api.set_status("running", JobStatus::Completed);
        api.set_progress("running", progress(15, 0, 0, Some(1)));
        tracker.poll(&api).await;
        assert!(tracker.done());
        tracker.poll(&api).await;
        assert_eq!(describes(&api).len(), 2);
        assert_eq!(tracker.rows()[0].health, Some(Health::Healthy));
    }

    #[test]
    fn a_rollout_without_its_own_tolerance_is_judged_by_its_gates() {
        use crate::domain::rollout::{Gate, RolloutSpec, Stage};
        let stage = |name: &str, rate: Option<f64>| Stage {
            deadline: None,
            name: name.into(),
            targets: vec![0],
            gate: rate.map(|rate| Gate {
                min_succeeded: Some(crate::domain::rollout::Threshold::Count(1)),
                max_failures: None,
                sample: None,
                max_failure_rate: Some(rate),
                soak: std::time::Duration::ZERO,
                approval: false,
            }),
            origin: crate::domain::Origin::default(),
        };
        let spec = RolloutSpec {
            stages: vec![
                stage("canary", Some(2.0)),
                stage("wave", Some(1.0)),
                stage("fleet", None),
            ],
        };
        assert_eq!(gate_tolerance(&spec, "canary"), Some(2.0));
        assert_eq!(gate_tolerance(&spec, "wave"), Some(1.0));
        assert_eq!(
            gate_tolerance(&spec, "fleet"),
            Some(1.0),
            "a last stage without a gate keeps the tolerance it was promoted with"
        );
        assert_eq!(gate_tolerance(&spec, "gone"), None);
        let ungated = RolloutSpec {
            stages: vec![stage("only", None)],
        };
        assert_eq!(gate_tolerance(&ungated, "only"), None);
    }

    #[test]
    fn a_planned_rollout_is_followed_with_its_stages_and_their_targets() {
        use crate::domain::rollout::{RolloutSpec, Stage};
        let stage = |name: &str, targets: Vec<usize>| Stage {
            deadline: None,
            name: name.into(),
            targets,
            gate: None,
            origin: crate::domain::Origin::default(),
        };
        let arn = |g: &str| format!("arn:aws:iot:us-east-1:123456789012:thinggroup/{g}");
        let mut change = Change::new(crate::domain::ResourceId::job("fw"), Action::Update);
        change.source = Some("r.yaml:4:9".into());
        change.rollout = Some(Box::new(crate::engine::plan::RolloutPlan {
            phase: Phase::Progressing,
            stage: "canary".into(),
            next: String::new(),
            halt_due: false,
            disagreements: Vec::new(),
            stages: Vec::new(),
            upcoming: Vec::new(),
            // canary: C; wave: W and C again; fleet: All.
            spec: RolloutSpec {
                stages: vec![
                    stage("canary", vec![0]),
                    stage("wave", vec![1, 0]),
                    stage("fleet", vec![2]),
                ],
            },
            stage_targets: vec![vec![arn("C")], vec![arn("W"), arn("C")], vec![arn("All")]],
        }));
        let subject = Subject::planned(&change);
        assert_eq!(subject.source.as_deref(), Some("r.yaml:4:9"));
        let rollout = subject.rollout.expect("a rollout subject");
        let on_job: BTreeSet<String> = [arn("C"), arn("W")].into_iter().collect();
        assert_eq!(
            rollout.stage_targets(&on_job),
            vec![vec![arn("C")], vec![arn("W"), arn("C")], vec![arn("All")]]
        );
        assert_eq!(
            Subject::planned(&Change::new(
                crate::domain::ResourceId::job("job"),
                Action::Create
            ))
            .rollout,
            None
        );
    }

    #[test]
    fn apply_wait_follows_what_apply_created_or_changed_with_its_tolerance() {
        let mut create = Change::new(crate::domain::ResourceId::job("new"), Action::Create);
        create.source = Some("jobs/new.yaml:4:9".into());
        create.max_failure_rate = Some(5.0);
        let plan = Plan {
            changes: vec![
                create,
                Change::new(crate::domain::ResourceId::job("moved"), Action::Update),
                Change::new(crate::domain::ResourceId::job("broken"), Action::Update),
                Change::new(crate::domain::ResourceId::job("gone"), Action::Cancel),
            ],
            ..Plan::default()
        };
        let result = |id: &str, action, outcome| JobResult {
            resource: crate::domain::ResourceId::job(id),
            action,
            job_arn: None,
            outcome,
        };
        let results = vec![
            result("new", Action::Create, Outcome::Done),
            result("moved", Action::Update, Outcome::Done),
            result(
                "broken",
                Action::Update,
                Outcome::Failed {
                    operation: "UpdateJob".into(),
                    code: "X".into(),
                    message: "x".into(),
                },
            ),
            result("gone", Action::Cancel, Outcome::Done),
        ];
        let subjects = applied(&plan, &results);
        assert_eq!(
            subjects,
            vec![
                Subject::applied("moved", None, None),
                Subject::applied("new", Some("jobs/new.yaml:4:9".into()), Some(5.0)),
            ]
        );
        let tracker = Tracker::follow(options(), subjects);
        let rows = tracker.rows();
        assert_eq!(
            rows[1].max_failure_rate, 5.0,
            "the manifest's own tolerance"
        );
        assert_eq!(rows[0].max_failure_rate, 0.0, "the flag's");
        assert_eq!(rows[1].why, Why::Applied);
    }

    /// A step that acts while jobctl waits (as advancing staged rollouts will).
    struct Advance<'a> {
        api: &'a FakeJobs,
        rounds: usize,
        seen: Vec<usize>,
    }

    #[async_trait::async_trait]
    impl Follower for Advance<'_> {
        async fn before_poll(&mut self, _api: &dyn JobsApi, tracker: &mut Tracker) {
            self.rounds += 1;
            if self.rounds == 2 {
                self.api.set_status("running", JobStatus::Completed);
                self.api
                    .set_progress("running", progress(15, 0, 0, Some(1)));
                tracker.add_subject(&Subject::applied("recent", None, None));
            }
        }

        fn after_poll(&mut self, rows: &[&JobHealth]) {
            self.seen.push(rows.len());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_loop_runs_its_step_before_each_poll() {
        let api = account();
        let mut tracker = Tracker::follow(options(), vec![Subject::applied("running", None, None)]);
        let mut step = Advance {
            api: &api,
            rounds: 0,
            seen: Vec::new(),
        };
        tracker
            .follow_until_done(&api, Duration::from_secs(5), &mut step)
            .await;
        assert_eq!(step.rounds, 2);
        assert_eq!(
            step.seen,
            vec![1, 2],
            "the poll after the step read what it added"
        );
        let health: Vec<Option<Health>> = tracker.rows().iter().map(|r| r.health).collect();
        assert_eq!(health, vec![Some(Health::Healthy), Some(Health::Degraded)]);
    }

    #[tokio::test]
    async fn a_manifest_tolerance_overrides_the_flag() {
        let api = account();
        let mut subject = declared("recent");
        subject.max_failure_rate = Some(10.0);
        let tracker = Tracker::survey(&api, options(), vec![subject], Vec::new(), None).await;
        let row = tracker.rows()[0];
        assert_eq!(
            row.health,
            Some(Health::Healthy),
            "1 of 21 failed: 4.8% ≤ 10%"
        );
        assert_eq!(row.max_failure_rate, 10.0);
    }

    #[tokio::test]
    async fn failing_things_are_bounded_and_carry_status_details() {
        let api = account();
        for i in 0..5 {
            api.add_execution(
                "recent",
                &format!("bulb-{i}"),
                ExecutionStatus::Failed,
                &[("reason", "checksum mismatch")],
            );
        }
        api.add_execution("recent", "bulb-ok", ExecutionStatus::Succeeded, &[]);
        let mut tracker =
            Tracker::survey(&api, options(), vec![declared("recent")], Vec::new(), None).await;
        tracker.read_failing(&api, 3).await;
        let failing = &tracker.rows()[0].failing;
        assert_eq!(failing.len(), 3);
        assert_eq!(failing[0].thing_name, "bulb-0");
        assert_eq!(
            failing[0].status_details.get("reason").map(String::as_str),
            Some("checksum mismatch")
        );
        let executions = api
            .calls()
            .iter()
            .filter(|c| c.starts_with("DescribeJobExecution"))
            .count();
        assert_eq!(
            executions, 3,
            "one DescribeJobExecution per thing shown, no more"
        );
    }
}
