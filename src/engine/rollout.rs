//! The gate and stage machine of a `kind: Rollout`: from the job as AWS holds it (status,
//! targets, counts, tags) and the server's time to a decision. Pure: no I/O, no async, no SDK
//! types; `engine::advance` carries the decisions out.
//!
//! State lives on the job (see `domain::rollout` for the tags). The current stage is the later
//! of the `jobctl:stage` tag and the last stage whose targets are all on the job: targets only
//! grow, so a stale driver that rewrites an older stage tag cannot move a rollout back.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::domain::rollout::{
    baseline_key, Gate, RolloutSpec, APPROVED_TAG, COMPLETE_REASON_CODE, DEFAULT_SAMPLE,
    GATE_HELD_TAG, HALT_REASON_CODE, STAGE_TAG,
};
use crate::domain::spec::Target;
use crate::domain::{JobDescription, JobProcessDetails, JobStatus};

/// How a rollout is doing, as users see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// A stage is running or soaking.
    Progressing,
    /// Waiting for `jobctl promote`.
    Paused,
    Halted,
    Complete,
    /// Declared, and its job does not exist yet.
    Missing,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Progressing => "Progressing",
            Self::Paused => "Paused",
            Self::Halted => "Halted",
            Self::Complete => "Complete",
            Self::Missing => "Missing",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StagePhase {
    Pending,
    Progressing,
    Paused,
    Promoted,
    Halted,
    Complete,
}

impl StagePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Progressing => "Progressing",
            Self::Paused => "Paused",
            Self::Promoted => "Promoted",
            Self::Halted => "Halted",
            Self::Complete => "Complete",
        }
    }
}

/// The counts a stage's numbers are measured from, and the server time it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    pub started_at: i64,
    pub succeeded: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    /// Things notified (every execution whatever its state): the stage's population is the
    /// job's notified count minus this. 0 in a tag written before jobctl recorded it.
    pub notified: u64,
}

impl Baseline {
    pub fn of(details: &JobProcessDetails, at: i64) -> Self {
        Self {
            started_at: at,
            succeeded: details.number_of_succeeded_things,
            failed: details.number_of_failed_things,
            rejected: details.number_of_rejected_things,
            timed_out: details.number_of_timed_out_things,
            notified: details.notified(),
        }
    }

    /// Whether this baseline could have been taken from a job that has `now` now: no count and
    /// no time ahead of it (counts only grow). A baseline tag that fails this was not written
    /// by jobctl from this job.
    pub fn not_ahead_of(&self, now: &Self) -> bool {
        self.started_at <= now.started_at
            && self.succeeded <= now.succeeded
            && self.failed <= now.failed
            && self.rejected <= now.rejected
            && self.timed_out <= now.timed_out
            && self.notified <= now.notified
    }

    /// The tag value: `t=<epoch s>/s=<succeeded>/f=<failed>/r=<rejected>/o=<timedOut>/n=<notified>`.
    pub fn tag_value(&self) -> String {
        format!(
            "t={}/s={}/f={}/r={}/o={}/n={}",
            self.started_at,
            self.succeeded,
            self.failed,
            self.rejected,
            self.timed_out,
            self.notified
        )
    }

    pub fn parse(text: &str) -> Option<Self> {
        let mut out = Self::default();
        let mut seen = 0;
        for part in text.split('/') {
            let (key, value) = part.split_once('=')?;
            match key {
                "t" => out.started_at = value.parse().ok()?,
                "s" => out.succeeded = value.parse().ok()?,
                "f" => out.failed = value.parse().ok()?,
                "r" => out.rejected = value.parse().ok()?,
                "o" => out.timed_out = value.parse().ok()?,
                "n" => out.notified = value.parse().ok()?,
                _ => return None,
            }
            seen += 1;
        }
        // `n=` came later: a tag without it is still read.
        (seen == 5 || seen == 6).then_some(out)
    }
}

/// A stage's own numbers: the job's counts minus the stage's baseline (minus the next stage's
/// baseline, for a stage that was promoted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageNumbers {
    pub succeeded: u64,
    pub failures: u64,
    pub executed: u64,
    /// Percent of executed things that failed, were rejected or timed out (0 when none ran).
    pub failure_rate: f64,
    /// Things the stage reached: the job's notified count since the stage's baseline.
    pub population: u64,
}

impl StageNumbers {
    fn between(from: &Baseline, to: &Baseline) -> Self {
        let population = to.notified.saturating_sub(from.notified);
        let succeeded = to.succeeded.saturating_sub(from.succeeded);
        let failures = (to.failed + to.rejected + to.timed_out)
            .saturating_sub(from.failed + from.rejected + from.timed_out);
        let executed = succeeded + failures;
        let failure_rate = if executed == 0 {
            0.0
        } else {
            failures as f64 * 100.0 / executed as f64
        };
        Self {
            succeeded,
            failures,
            executed,
            failure_rate,
            population,
        }
    }
}

/// One stage as status and plan show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageView {
    pub name: String,
    pub phase: StagePhase,
    /// Its numbers, once it has started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numbers: Option<StageNumbers>,
    /// Server time (epoch seconds) the stage started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// The gate in words, e.g. `20 succeeded at ≤ 2% failed for 30m, approval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// The current stage's soak so far: server seconds since its gate first held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_seconds: Option<u64>,
    /// `jobctl promote` approved leaving this stage.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub approved: bool,
}

/// What the driver should do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing to write; look again. `recheck` is server seconds until a soak ends, if that is
    /// what is awaited.
    Wait { recheck: Option<u64> },
    /// The gate held and its soak is over; approval is awaited.
    AwaitApproval,
    /// Start stage `to`: write its tags, then associate `add` (its targets not on the job yet).
    Promote {
        from: usize,
        to: usize,
        baseline: Baseline,
        add: Vec<String>,
    },
    /// Stage `stage` has started (its tag says so) but its targets are not all on the job:
    /// finish the association (after a crash). `baseline` is set when its tag is missing.
    Resume {
        stage: usize,
        add: Vec<String>,
        baseline: Option<Baseline>,
    },
    /// Cancel the job (reasonCode `JOBCTL_ROLLOUT_HALTED`), with this comment.
    Halt { comment: String },
    /// The last stage has completed: cancel the job, not forced (reasonCode
    /// `JOBCTL_ROLLOUT_COMPLETE`), so that devices joining its groups later get nothing from it.
    /// Executions under way finish.
    Close { comment: String },
    /// Nothing more will ever happen: Halted or Complete.
    Done,
}

/// How a summary starts when the machine halts the rollout in this pass.
const HALTING: &str = "Halting in";

/// A halt summary as a pass that changes nothing tells it (`plan`, `apply --dry-run`).
pub fn would_halt(summary: &str) -> String {
    match summary.strip_prefix(HALTING) {
        Some(rest) => format!("Would halt in{rest}; `jobctl apply` or the daemon halts it"),
        None => summary.to_string(),
    }
}

/// The machine's verdict on one rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub phase: Phase,
    /// The index of the current stage.
    pub current: usize,
    pub stages: Vec<StageView>,
    /// One line: what is happening and what the next step needs, with numbers.
    pub summary: String,
    pub decision: Decision,
    /// The `jobctl:gate-held` value to write now (the gate held for the first time).
    pub write_gate_held: Option<String>,
    /// State tags that disagree with the job (a stage tag ahead of its targets, an approval
    /// for a stage not reached, a soak that started before its stage, a baseline ahead of the
    /// counts), each naming the tag: they were not acted on.
    pub disagreements: Vec<String>,
}

/// The job as the machine needs it.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    pub status: &'a JobStatus,
    /// The job's target ARNs.
    pub targets: &'a BTreeSet<String>,
    pub details: &'a JobProcessDetails,
    pub reason_code: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub tags: &'a BTreeMap<String, String>,
    /// When the job was created (epoch s): the first stage's baseline time.
    pub created_at: Option<i64>,
    /// The server's time, epoch seconds.
    pub now: i64,
}

/// The target ARNs a job has now (DescribeJob lists a job's targets as ARNs).
pub fn job_target_arns(description: &JobDescription) -> BTreeSet<String> {
    description
        .spec
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Arn(arn) => Some(arn.clone()),
            _ => None,
        })
        .collect()
}

impl<'a> Observation<'a> {
    /// The job as DescribeJob showed it, with its target ARNs ([`job_target_arns`]), its tags
    /// and the server's time (epoch seconds).
    pub fn of(
        description: &'a JobDescription,
        targets: &'a BTreeSet<String>,
        tags: &'a BTreeMap<String, String>,
        now: i64,
    ) -> Self {
        let progress = &description.progress;
        Self {
            status: &description.status,
            targets,
            details: &progress.details,
            reason_code: progress.reason_code.as_deref(),
            comment: progress.comment.as_deref(),
            tags,
            created_at: progress.created_at.and_then(super::plan::epoch),
            now,
        }
    }
}

/// `t=<epoch>/stage=<name>`: whose gate held when. The stage is part of the value so that a
/// stale driver's late write for an earlier stage can never start a later stage's soak.
pub fn gate_held_value(stage: &str, at: i64) -> String {
    format!("t={at}/stage={stage}")
}

fn parse_gate_held(text: &str) -> Option<(i64, &str)> {
    let (t, stage) = text.split_once('/')?;
    Some((
        t.strip_prefix("t=")?.parse().ok()?,
        stage.strip_prefix("stage=")?,
    ))
}

/// `30m`, `2h`, `1h30m`, `45s`.
pub fn short_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// The gate in words: `20 succeeded at ≤ 2% failed for 30m, with approval`.
pub fn describe_gate(gate: &Gate) -> String {
    let mut parts = Vec::new();
    if let Some(n) = gate.min_succeeded {
        parts.push(format!("{n} succeeded"));
    }
    if let Some(rate) = gate.max_failure_rate {
        parts.push(format!("≤ {rate}% failed"));
    }
    let mut text = parts.join(" at ");
    if let Some(max) = gate.max_failures {
        if !text.is_empty() {
            text.push_str(", ");
        }
        text.push_str(&format!("≤ {max} failure(s)"));
    }
    if let Some(sample) = gate.sample {
        text.push_str(&format!(" (sample {sample})"));
    }
    if !gate.soak.is_zero() {
        text.push_str(&format!(" for {}", short_duration(gate.soak.as_secs())));
    }
    if gate.approval {
        text.push_str(", with approval");
    }
    text
}

fn rate(value: f64) -> String {
    format!("{value:.1}%")
}

/// The sample a gate's failure rate is judged on: the manifest's, or [`DEFAULT_SAMPLE`]; never
/// more than the stage's population once that is known.
fn sample_of(gate: &Gate, numbers: &StageNumbers) -> u64 {
    let sample = gate.sample.unwrap_or(DEFAULT_SAMPLE);
    if numbers.population > 0 {
        sample.min(numbers.population)
    } else {
        sample
    }
}

/// Whether the gate holds on these numbers: its sample has executed, enough succeeded, and
/// the failures are within its rate and its cap.
fn gate_holds(gate: &Gate, numbers: &StageNumbers) -> bool {
    numbers.executed >= sample_of(gate, numbers).max(1)
        && gate
            .min_succeeded
            .is_none_or(|m| numbers.succeeded >= m.of(numbers.population))
        && gate
            .max_failure_rate
            .is_none_or(|m| numbers.failure_rate <= m)
        && gate.max_failures.is_none_or(|m| numbers.failures <= m)
}

/// Why the gate can no longer hold, when it cannot: more failures than `maxFailures`; a rate
/// over the gate's once the sample has executed; (once every target is notified) more
/// failures than the rate allows over the whole stage, or too few successes left possible;
/// or, past the stage's deadline, the silent devices counted as not succeeded.
fn cannot_hold(
    gate: &Gate,
    numbers: &StageNumbers,
    pending: u64,
    rolling: bool,
    deadline_passed: bool,
) -> Option<String> {
    let population = numbers.population;
    if let Some(max) = gate.max_failures {
        if numbers.failures > max {
            return Some(format!(
                "{} failures, over the gate's maxFailures {max}",
                numbers.failures
            ));
        }
    }
    if let Some(max) = gate.max_failure_rate {
        if numbers.executed >= sample_of(gate, numbers).max(1) && numbers.failure_rate > max {
            return Some(format!(
                "{} of {} executed failed ({}), over the gate's {max}%",
                numbers.failures,
                numbers.executed,
                rate(numbers.failure_rate)
            ));
        }
        #[allow(clippy::cast_precision_loss)]
        let allowed = max / 100.0 * population as f64;
        #[allow(clippy::cast_precision_loss)]
        if !rolling && population > 0 && numbers.failures as f64 > allowed {
            return Some(format!(
                "{} failures among the stage's {population} things already exceed the gate's {max}%",
                numbers.failures
            ));
        }
    }
    if let Some(min) = gate.min_succeeded {
        let needed = min.of(population);
        let silent = if deadline_passed { 0 } else { pending };
        if !rolling && numbers.succeeded + silent < needed {
            return Some(if deadline_passed {
                format!(
                    "deadline passed: {} of {population} reported, {pending} silent; {} succeeded, the gate needs {needed}",
                    numbers.executed, numbers.succeeded
                )
            } else {
                format!(
                    "{} succeeded and {pending} still pending cannot reach the gate's {needed}",
                    numbers.succeeded
                )
            });
        }
    }
    if deadline_passed && !gate_holds(gate, numbers) {
        return Some(format!(
            "deadline passed: {} of {population} reported, {pending} silent, and the gate ({}) does not hold",
            numbers.executed,
            describe_gate(gate)
        ));
    }
    None
}

/// How long a stage without a deadline runs before its devices that have not reported are
/// called silent in its summary (before that they are simply running).
const SILENT_AFTER: u64 = 15 * 60;

/// "; 4 not reported yet, deadline in 30m" once every target is notified, for a stage with a
/// deadline; "; 4 not reported for 2h (no deadline: …)" for one without, once it has run
/// [`SILENT_AFTER`].
fn silent_note(pending: u64, rolling: bool, elapsed: u64, deadline: Option<Duration>) -> String {
    if pending == 0 || rolling {
        return String::new();
    }
    match deadline {
        Some(d) => format!(
            "; {pending} not reported yet, deadline in {}",
            short_duration(d.as_secs().saturating_sub(elapsed))
        ),
        None if elapsed >= SILENT_AFTER => format!(
            "; {pending} not reported for {} (no deadline: a silent device holds the stage)",
            short_duration(elapsed)
        ),
        None => String::new(),
    }
}

/// The stage-by-stage target ARNs of a rollout, resolved.
pub type StageTargets = Vec<Vec<String>>;

/// Judges one rollout. `stage_targets[i]` are stage i's target ARNs. State tags that disagree
/// with the job are named in [`Evaluation::disagreements`] and never widen it.
pub fn evaluate(
    spec: &RolloutSpec,
    stage_targets: &StageTargets,
    job: &Observation<'_>,
) -> Evaluation {
    let (mut eval, disagreements, intent) = judge(spec, stage_targets, job);
    eval.disagreements = disagreements;
    let promotes = matches!(eval.decision, Decision::Promote { to, .. } if to == eval.current + 1);
    if intent && !promotes && eval.phase != Phase::Halted {
        let tag = job.tags.get(STAGE_TAG).map_or("", String::as_str);
        eval.disagreements.push(format!(
            "the {STAGE_TAG} tag says `{tag}`, ahead of the job's targets, and `{}`'s gate does not let it promote now: nothing is widened",
            spec.stages[eval.current].name
        ));
    }
    if !eval.disagreements.is_empty() {
        eval.summary = format!(
            "{} (state tags disagree with the job: {})",
            eval.summary,
            eval.disagreements.join("; ")
        );
    }
    eval
}

/// [`evaluate`] before the disagreements are added: the evaluation, the disagreements found on
/// the way, and whether a stage tag one stage ahead asks for a promotion.
fn judge(
    spec: &RolloutSpec,
    stage_targets: &StageTargets,
    job: &Observation<'_>,
) -> (Evaluation, Vec<String>, bool) {
    let count = spec.stages.len();
    let on_job = |i: usize| stage_targets[i].iter().all(|t| job.targets.contains(t));
    let by_targets = (0..count).rev().find(|&i| on_job(i)).unwrap_or(0);
    // The job's targets are the truth: only AssociateTargetsWithJob widens a job, and tags can
    // be written by anyone who may tag it. A stage tag one stage ahead of the targets is an
    // intent to promote (or a driver stopped between the tag and the association): it is
    // completed only when the current stage's gate lets it promote now, from the counts.
    let current = by_targets;
    let mut disagreements = Vec::new();
    let stage_tag = job.tags.get(STAGE_TAG);
    let by_tag = stage_tag.and_then(|name| spec.stage_index(name));
    let intent = by_tag == Some(current + 1);
    match (stage_tag, by_tag) {
        (None, _) => {}
        (Some(_), Some(i)) if i == current || i == current + 1 => {}
        (Some(tag), _) => disagreements.push(format!(
            "the {STAGE_TAG} tag says `{tag}` but the job's targets are those of `{}`: ignored",
            spec.stages[current].name
        )),
    }
    if let Some(approved) = job.tags.get(APPROVED_TAG) {
        if spec.stage_index(approved).is_some_and(|i| i > current) {
            disagreements.push(format!(
                "the {APPROVED_TAG} tag approves `{approved}`, a stage not reached: ignored"
            ));
        }
    }

    // Baselines: stage 0 starts from zero when the job was created. A baseline ahead of the
    // job's counts (which would hide the stage's failures) is not jobctl's: ignored.
    let now_counts = Baseline::of(job.details, job.now);
    let tagged_baseline = |i: usize| {
        job.tags
            .get(&baseline_key(&spec.stages[i].name))
            .and_then(|v| Baseline::parse(v))
    };
    for i in 0..=current {
        if tagged_baseline(i).is_some_and(|b| !b.not_ahead_of(&now_counts)) {
            disagreements.push(format!(
                "the {} tag is ahead of the job's counts: ignored",
                baseline_key(&spec.stages[i].name)
            ));
        }
    }
    let baseline = |i: usize| -> Option<Baseline> {
        let tagged = tagged_baseline(i).filter(|b| b.not_ahead_of(&now_counts));
        match (i, tagged) {
            (_, Some(b)) => Some(b),
            (0, None) => Some(Baseline {
                started_at: job.created_at.unwrap_or(job.now),
                ..Baseline::default()
            }),
            _ => None,
        }
    };
    let mut stages: Vec<StageView> = spec
        .stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let start = (i <= current).then(|| baseline(i)).flatten();
            let end = if i < current {
                baseline(i + 1).unwrap_or(now_counts)
            } else {
                now_counts
            };
            StageView {
                name: stage.name.clone(),
                phase: if i < current {
                    StagePhase::Promoted
                } else if i == current {
                    StagePhase::Progressing
                } else {
                    StagePhase::Pending
                },
                numbers: start.map(|s| StageNumbers::between(&s, &end)),
                started_at: start.map(|s| s.started_at),
                gate: stage.gate.as_ref().map(describe_gate),
                held_seconds: (i == current)
                    .then(|| job.tags.get(GATE_HELD_TAG).and_then(|v| parse_gate_held(v)))
                    .flatten()
                    .filter(|(_, held)| *held == stage.name)
                    .map(|(t, _)| u64::try_from(job.now.saturating_sub(t)).unwrap_or(0)),
                approved: job.tags.get(APPROVED_TAG) == Some(&stage.name),
            }
        })
        .collect();
    let name = spec.stages[current].name.clone();
    let mut eval = Evaluation {
        phase: Phase::Progressing,
        current,
        stages: Vec::new(),
        summary: String::new(),
        decision: Decision::Wait { recheck: None },
        write_gate_held: None,
        disagreements: Vec::new(),
    };
    let halted = |eval: &mut Evaluation, stages: &mut Vec<StageView>, summary: String| {
        eval.phase = Phase::Halted;
        stages[current].phase = StagePhase::Halted;
        eval.summary = summary;
        eval.decision = Decision::Done;
    };

    match job.status {
        // Closed by jobctl once its last stage completed: Complete, never Halted.
        JobStatus::Canceled if job.reason_code == Some(COMPLETE_REASON_CODE) => {
            let last = count - 1;
            for (i, view) in stages.iter_mut().enumerate() {
                view.phase = if i == last {
                    StagePhase::Complete
                } else {
                    StagePhase::Promoted
                };
            }
            eval.phase = Phase::Complete;
            eval.current = last;
            eval.summary = format!(
                "every stage has run (last: `{}`); the job is closed",
                spec.stages[last].name
            );
            eval.decision = Decision::Done;
            eval.stages = stages;
            return (eval, disagreements, intent);
        }
        JobStatus::Canceled => {
            let by = match job.reason_code {
                Some(HALT_REASON_CODE) => "halted by jobctl".to_string(),
                Some("ABORT_CRITERIA_MET") => "aborted by its abortConfig".to_string(),
                Some(code) => format!("canceled by hand (reasonCode {code})"),
                None => "canceled by hand".to_string(),
            };
            let comment = job.comment.map(|c| format!(": {c}")).unwrap_or_default();
            // jobctl's own halt comment already says where and why: quote only the why.
            let own = job
                .comment
                .filter(|_| job.reason_code == Some(HALT_REASON_CODE))
                .and_then(|c| c.split_once(": "))
                .filter(|(head, _)| head.starts_with("jobctl rollout halted in stage "))
                .map(|(_, why)| why);
            let summary = match own {
                Some(why) => format!("Halted in `{name}` by jobctl: {why}"),
                None => format!("Halted in `{name}`: the job was {by}{comment}"),
            };
            halted(&mut eval, &mut stages, summary);
            eval.stages = stages;
            return (eval, disagreements, intent);
        }
        JobStatus::InProgress => {}
        JobStatus::Scheduled => {
            eval.summary = format!("`{name}` waits for the job's schedule to start");
            eval.stages = stages;
            return (eval, disagreements, intent);
        }
        other => {
            halted(
                &mut eval,
                &mut stages,
                format!("Halted in `{name}`: the job is {other}, and a rollout's job can no longer be widened"),
            );
            eval.stages = stages;
            return (eval, disagreements, intent);
        }
    }

    // Resume an association a crash interrupted.
    if !on_job(current) {
        let add: Vec<String> = stage_targets[current]
            .iter()
            .filter(|t| !job.targets.contains(*t))
            .cloned()
            .collect();
        eval.summary = format!(
            "`{name}` has started; adding its {} remaining target(s)",
            add.len()
        );
        eval.decision = Decision::Resume {
            stage: current,
            add,
            baseline: baseline(current).is_none().then_some(now_counts),
        };
        eval.stages = stages;
        return (eval, disagreements, intent);
    }
    let Some(start) = baseline(current) else {
        eval.summary = format!("`{name}` has started without its baseline; recording it now");
        eval.decision = Decision::Resume {
            stage: current,
            add: Vec::new(),
            baseline: Some(now_counts),
        };
        eval.stages = stages;
        return (eval, disagreements, intent);
    };
    let numbers = StageNumbers::between(&start, &now_counts);
    let settled = job.details.pending() == 0 && !job.details.rolling_out();
    let last = current + 1 == count;
    let next = spec.stages.get(current + 1).map(|s| s.name.as_str());
    let gate = spec.stages[current].gate.as_ref();

    let pending = job.details.pending();
    let rolling = job.details.rolling_out();
    let elapsed = u64::try_from(job.now.saturating_sub(start.started_at)).unwrap_or(0);
    let deadline = spec.stages[current].deadline;
    let deadline_passed = deadline.is_some_and(|d| elapsed >= d.as_secs());

    // Halt the moment the gate can no longer hold.
    if let Some(why) =
        gate.and_then(|g| cannot_hold(g, &numbers, pending, rolling, deadline_passed))
    {
        let comment = format!("jobctl rollout halted in stage {name}: {why}");
        eval.summary = format!("{HALTING} `{name}`: {why}");
        eval.decision = Decision::Halt { comment };
        eval.stages = stages;
        return (eval, disagreements, intent);
    }
    let holds = gate.is_none_or(|g| gate_holds(g, &numbers));
    let progress = |gate: &Gate| {
        let mut parts = Vec::new();
        if let Some(m) = gate.min_succeeded {
            parts.push(format!(
                "{}/{}",
                numbers.succeeded,
                m.of(numbers.population)
            ));
        } else {
            parts.push(format!("{} succeeded", numbers.succeeded));
        }
        parts.push(rate(numbers.failure_rate));
        parts.join(", ")
    };
    let what_next = match next {
        Some(next) => format!("`{next}` starts"),
        None => "the rollout completes".to_string(),
    };

    let Some(gate) = gate else {
        // No gate: the stage must finish (nothing queued or in progress), or reach its deadline.
        if !settled && !deadline_passed {
            eval.summary = format!(
                "{what_next} when `{name}` has nothing queued or in progress: now {} queued, {} in progress",
                job.details.number_of_queued_things, job.details.number_of_in_progress_things
            );
            eval.stages = stages;
            return (eval, disagreements, intent);
        }
        return (
            finish_or_promote(eval, stages, spec, stage_targets, job, current, now_counts),
            disagreements,
            intent,
        );
    };

    if !holds {
        if settled {
            let comment = format!(
                "jobctl rollout halted in stage {name}: every execution finished and the gate ({}) cannot hold: {}",
                describe_gate(gate),
                progress(gate)
            );
            eval.summary = format!(
                "{HALTING} `{name}`: every execution finished and the gate cannot hold any more ({})",
                progress(gate)
            );
            eval.decision = Decision::Halt { comment };
        } else {
            let soak = if gate.soak.is_zero() {
                String::new()
            } else {
                format!(", 0s of {}", short_duration(gate.soak.as_secs()))
            };
            eval.summary = format!(
                "{what_next} when `{name}` holds {}: now {}{soak}{}",
                describe_gate(gate),
                progress(gate),
                silent_note(pending, rolling, elapsed, deadline)
            );
        }
        eval.stages = stages;
        return (eval, disagreements, intent);
    }

    // The gate holds: since when? Not before the stage started: a soak that would have begun
    // earlier is not jobctl's record, and starts again now.
    let held_since = job
        .tags
        .get(GATE_HELD_TAG)
        .and_then(|v| parse_gate_held(v))
        .filter(|(_, stage)| *stage == name)
        .map(|(t, _)| t);
    let held_since = match held_since {
        Some(t) if t < start.started_at || t > job.now => {
            disagreements.push(format!(
                "the {GATE_HELD_TAG} tag says `{name}`'s soak started outside the stage's life: ignored, the soak starts now"
            ));
            None
        }
        other => other,
    };
    let since = held_since.unwrap_or(job.now);
    if held_since.is_none() {
        eval.write_gate_held = Some(gate_held_value(&name, job.now));
    }
    let soak = i64::try_from(gate.soak.as_secs()).unwrap_or(i64::MAX);
    let held_for = job.now.saturating_sub(since).max(0);
    if held_for < soak {
        let remaining = u64::try_from(soak - held_for).unwrap_or(0);
        eval.summary = format!(
            "{what_next} when `{name}` holds {}: now {}, {} of {}",
            describe_gate(gate),
            progress(gate),
            short_duration(u64::try_from(held_for).unwrap_or(0)),
            short_duration(gate.soak.as_secs())
        );
        eval.decision = Decision::Wait {
            recheck: Some(remaining),
        };
        eval.stages = stages;
        return (eval, disagreements, intent);
    }
    let approved = job.tags.get(APPROVED_TAG).is_some_and(|s| *s == name);
    if gate.approval && !approved {
        eval.phase = Phase::Paused;
        stages[current].phase = StagePhase::Paused;
        eval.summary = format!(
            "`{name}` holds {} ({}); {what_next} after `jobctl promote`",
            describe_gate(gate),
            progress(gate)
        );
        eval.decision = Decision::AwaitApproval;
        eval.stages = stages;
        return (eval, disagreements, intent);
    }
    if last && !settled {
        eval.summary = format!(
            "the rollout completes when `{name}` has nothing queued or in progress: now {} queued, {} in progress",
            job.details.number_of_queued_things, job.details.number_of_in_progress_things
        );
        eval.stages = stages;
        return (eval, disagreements, intent);
    }
    (
        finish_or_promote(eval, stages, spec, stage_targets, job, current, now_counts),
        disagreements,
        intent,
    )
}

fn finish_or_promote(
    mut eval: Evaluation,
    mut stages: Vec<StageView>,
    spec: &RolloutSpec,
    stage_targets: &StageTargets,
    job: &Observation<'_>,
    current: usize,
    now_counts: Baseline,
) -> Evaluation {
    let name = &spec.stages[current].name;
    match spec.stages.get(current + 1) {
        None => {
            eval.phase = Phase::Complete;
            stages[current].phase = StagePhase::Complete;
            eval.summary = format!(
                "every stage has run (last: `{name}`); closing the job so that devices joining its groups later get nothing from it"
            );
            eval.decision = Decision::Close {
                comment: format!("jobctl rollout complete: every stage has run (last: {name})"),
            };
        }
        Some(next) => {
            let add: Vec<String> = stage_targets[current + 1]
                .iter()
                .filter(|t| !job.targets.contains(*t))
                .cloned()
                .collect();
            eval.summary = format!("`{name}` held; `{}` starts now", next.name);
            eval.decision = Decision::Promote {
                from: current,
                to: current + 1,
                baseline: now_counts,
                add,
            };
        }
    }
    eval.stages = stages;
    eval
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::rollout::{Stage, Threshold};

    fn gate(min: Option<u64>, max: Option<f64>, soak: u64, approval: bool) -> Option<Gate> {
        Some(Gate {
            min_succeeded: min.map(Threshold::Count),
            max_failures: None,
            sample: None,
            max_failure_rate: max,
            soak: Duration::from_secs(soak),
            approval,
        })
    }

    /// canary (20 at ≤ 2% for 30m) → wave1 (approval) → fleet (no gate).
    fn spec() -> (RolloutSpec, StageTargets) {
        let stage = |name: &str, i: usize, gate| Stage {
            deadline: None,
            name: name.into(),
            targets: vec![i],
            gate,
            origin: crate::domain::Origin::default(),
        };
        (
            RolloutSpec {
                stages: vec![
                    stage("canary", 0, gate(Some(20), Some(2.0), 1800, false)),
                    stage("wave1", 1, gate(Some(5), Some(10.0), 0, true)),
                    stage("fleet", 2, None),
                ],
            },
            vec![
                vec!["g/canary".into()],
                vec!["g/wave1".into()],
                vec!["g/all".into()],
            ],
        )
    }

    struct Job {
        status: JobStatus,
        targets: BTreeSet<String>,
        details: JobProcessDetails,
        reason: Option<String>,
        tags: BTreeMap<String, String>,
        now: i64,
    }

    impl Job {
        fn new(stages: usize) -> Self {
            let all = ["g/canary", "g/wave1", "g/all"];
            Self {
                status: JobStatus::InProgress,
                targets: all[..stages].iter().map(|s| (*s).to_string()).collect(),
                details: JobProcessDetails::default(),
                reason: None,
                tags: BTreeMap::new(),
                now: 10_000,
            }
        }

        fn counts(mut self, succeeded: u64, failed: u64, pending: u64) -> Self {
            self.details.number_of_succeeded_things = succeeded;
            self.details.number_of_failed_things = failed;
            self.details.number_of_in_progress_things = pending;
            self
        }

        fn tag(mut self, key: &str, value: &str) -> Self {
            self.tags.insert(key.into(), value.into());
            self
        }

        fn eval(&self) -> Evaluation {
            let (spec, targets) = spec();
            self.eval_against(&spec, &targets, None)
        }

        /// The machine's verdict on this job for a rollout other than [`spec`]'s, with the
        /// job's cancel comment when it has one.
        fn eval_against(
            &self,
            spec: &RolloutSpec,
            targets: &StageTargets,
            comment: Option<&str>,
        ) -> Evaluation {
            evaluate(
                spec,
                targets,
                &Observation {
                    status: &self.status,
                    targets: &self.targets,
                    details: &self.details,
                    reason_code: self.reason.as_deref(),
                    comment,
                    tags: &self.tags,
                    created_at: Some(1_000),
                    now: self.now,
                },
            )
        }
    }

    #[test]
    fn waits_while_the_gate_does_not_hold_and_says_the_numbers() {
        let eval = Job::new(1).counts(14, 0, 6).eval();
        assert_eq!(eval.decision, Decision::Wait { recheck: None });
        assert_eq!(eval.phase, Phase::Progressing);
        assert_eq!(
            eval.summary,
            "`wave1` starts when `canary` holds 20 succeeded at ≤ 2% failed for 30m: now 14/20, 0.0%, 0s of 30m; 6 not reported for 2h30m (no deadline: a silent device holds the stage)"
        );
    }

    #[test]
    fn the_gate_holding_starts_the_soak_and_promotes_only_after_it() {
        let first = Job::new(1).counts(20, 0, 0).eval();
        assert_eq!(first.write_gate_held, Some("t=10000/stage=canary".into()));
        assert_eq!(
            first.decision,
            Decision::Wait {
                recheck: Some(1800)
            }
        );
        let mut soaking = Job::new(1)
            .counts(20, 0, 0)
            .tag(GATE_HELD_TAG, "t=10000/stage=canary");
        soaking.now = 10_000 + 1799;
        assert_eq!(soaking.eval().decision, Decision::Wait { recheck: Some(1) });
        assert_eq!(soaking.eval().write_gate_held, None);
        soaking.now = 10_000 + 1800;
        match soaking.eval().decision {
            Decision::Promote {
                from: 0,
                to: 1,
                baseline,
                add,
            } => {
                assert_eq!(add, vec!["g/wave1".to_string()]);
                assert_eq!(baseline.succeeded, 20);
                assert_eq!(baseline.started_at, 11_800);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_approval_gate_pauses_until_jobctl_promote_names_the_stage() {
        let wave = |approved: Option<&str>| {
            let mut job = Job::new(2)
                .counts(30, 0, 0)
                .tag(STAGE_TAG, "wave1")
                .tag(&baseline_key("wave1"), "t=5000/s=20/f=0/r=0/o=0");
            if let Some(stage) = approved {
                job = job.tag(APPROVED_TAG, stage);
            }
            job.eval()
        };
        let paused = wave(None);
        assert_eq!(paused.phase, Phase::Paused);
        assert_eq!(paused.decision, Decision::AwaitApproval);
        assert_eq!(paused.stages[1].phase, StagePhase::Paused);
        // Approving another stage does not approve this one.
        assert_eq!(wave(Some("canary")).decision, Decision::AwaitApproval);
        assert!(matches!(
            wave(Some("wave1")).decision,
            Decision::Promote { from: 1, to: 2, .. }
        ));
    }

    #[test]
    fn a_failure_rate_over_the_gate_halts_once_the_sample_has_executed() {
        let (mut spec, targets) = spec();
        spec.stages[0].gate = gate(Some(18), Some(10.0), 0, false);
        // 1 failure of 5 executed: under the default sample of 10, and within what 10% of the
        // stage's 20 allows: no verdict yet.
        let early = Job::new(1).counts(4, 1, 15);
        assert_eq!(
            early.eval_against(&spec, &targets, None).decision,
            Decision::Wait { recheck: None }
        );
        // 3 failures of the first 10: the sample has executed, and the rate is over the gate's.
        let eval = Job::new(1)
            .counts(7, 3, 10)
            .eval_against(&spec, &targets, None);
        match eval.decision {
            Decision::Halt { comment } => {
                assert!(
                    comment.contains("3 of 10 executed failed (30.0%)"),
                    "{comment}"
                );
                assert!(comment.contains("over the gate's 10%"), "{comment}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_gate_halts_as_soon_as_it_cannot_hold() {
        let (mut spec, targets) = spec();
        // maxFailures: one more than the cap halts at once, whatever the sample.
        spec.stages[0].gate = Some(Gate {
            max_failures: Some(1),
            ..gate(None, None, 0, false).expect("gate")
        });
        let eval = Job::new(1)
            .counts(1, 2, 17)
            .eval_against(&spec, &targets, None);
        assert!(
            matches!(&eval.decision, Decision::Halt { comment } if comment.contains("maxFailures 1")),
            "{eval:?}"
        );
        // More failures than 2% of the stage's 400 allows, before the sample is reached.
        spec.stages[0].gate = Some(Gate {
            sample: Some(50),
            ..gate(None, Some(2.0), 0, false).expect("gate")
        });
        let eval = Job::new(1)
            .counts(20, 9, 371)
            .eval_against(&spec, &targets, None);
        assert!(
            matches!(&eval.decision, Decision::Halt { comment } if comment.contains("9 failures among the stage's 400 things")),
            "{eval:?}"
        );
        // A percentage of the population: 95% of 400 is 380; 21 failed, so at most 379 can.
        spec.stages[0].gate = Some(Gate {
            min_succeeded: Some(Threshold::Percent(95.0)),
            ..gate(None, None, 0, false).expect("gate")
        });
        let eval = Job::new(1)
            .counts(100, 21, 279)
            .eval_against(&spec, &targets, None);
        assert!(
            matches!(&eval.decision, Decision::Halt { comment } if comment.contains("cannot reach the gate's 380")),
            "{eval:?}"
        );
        let holds = Job::new(1)
            .counts(380, 20, 0)
            .eval_against(&spec, &targets, None);
        assert!(
            matches!(holds.decision, Decision::Promote { .. }),
            "{holds:?}"
        );
    }

    #[test]
    fn a_deadline_judges_the_silent_devices_as_not_succeeded() {
        let (mut spec, targets) = spec();
        spec.stages[0].gate = gate(Some(18), None, 0, false);
        spec.stages[0].deadline = Some(Duration::from_secs(3600));
        // 16 of 20 reported, 4 silent: before the deadline it waits, and says so.
        let mut job = Job::new(1).counts(16, 0, 4);
        job.now = 1_000 + 1800;
        let eval = job.eval_against(&spec, &targets, None);
        assert!(matches!(eval.decision, Decision::Wait { .. }), "{eval:?}");
        assert!(
            eval.summary.contains("4 not reported yet, deadline in 30m"),
            "{}",
            eval.summary
        );
        // Past it, 16 can no longer become 18.
        job.now = 1_000 + 3600;
        let eval = job.eval_against(&spec, &targets, None);
        assert!(
            matches!(&eval.decision, Decision::Halt { comment } if comment.contains("deadline passed: 16 of 20 reported, 4 silent")),
            "{eval:?}"
        );
        // A gate that holds with the silent ones counted promotes at its deadline.
        spec.stages[0].gate = gate(Some(15), None, 0, false);
        let eval = job.eval_against(&spec, &targets, None);
        assert!(
            matches!(eval.decision, Decision::Promote { .. }),
            "{eval:?}"
        );
    }

    #[test]
    fn a_gate_that_can_no_longer_hold_halts() {
        // 19 of the canary's 20 succeeded, 1 failed... with a 10% limit that is within the rate,
        // but minSucceeded 20 can never be reached: nothing is pending.
        let (mut spec, targets) = spec();
        spec.stages[0].gate = gate(Some(20), Some(10.0), 0, false);
        let job = Job::new(1).counts(19, 1, 0);
        let eval = job.eval_against(&spec, &targets, None);
        assert!(
            matches!(&eval.decision, Decision::Halt { comment } if comment.contains("cannot reach the gate's 20")),
            "{eval:?}"
        );
        // While something is still in progress, it may yet hold.
        let mut job = Job::new(1).counts(19, 1, 1);
        job.details.number_of_in_progress_things = 1;
        let eval = job.eval_against(&spec, &targets, None);
        assert_eq!(eval.decision, Decision::Wait { recheck: None });
    }

    #[test]
    fn a_canceled_job_is_halted_whoever_canceled_it() {
        for (reason, words) in [
            (Some("JOBCTL_ROLLOUT_HALTED"), "halted by jobctl"),
            (Some("ABORT_CRITERIA_MET"), "aborted by its abortConfig"),
            (Some("JOBCTL"), "canceled by hand"),
            (None, "canceled by hand"),
        ] {
            let mut job = Job::new(1).counts(3, 0, 0);
            job.status = JobStatus::Canceled;
            job.reason = reason.map(String::from);
            let eval = job.eval();
            assert_eq!(eval.phase, Phase::Halted);
            assert_eq!(eval.decision, Decision::Done);
            assert_eq!(eval.stages[0].phase, StagePhase::Halted);
            assert!(eval.summary.contains(words), "{}", eval.summary);
        }
    }

    #[test]
    fn jobctls_own_halt_says_why_once() {
        let mut job = Job::new(1).counts(8, 12, 0);
        job.status = JobStatus::Canceled;
        job.reason = Some(HALT_REASON_CODE.into());
        let (spec, targets) = spec();
        let eval = job.eval_against(&spec, &targets, Some("jobctl rollout halted in stage canary: 12 of 20 executed failed (60.0%), over the gate's 2%"));
        assert_eq!(
            eval.summary,
            "Halted in `canary` by jobctl: 12 of 20 executed failed (60.0%), over the gate's 2%"
        );
    }

    #[test]
    fn the_last_stage_completes_when_nothing_is_left() {
        let fleet = |pending| {
            Job::new(3)
                .counts(100, 0, pending)
                .tag(STAGE_TAG, "fleet")
                .tag(&baseline_key("wave1"), "t=5000/s=20/f=0/r=0/o=0")
                .tag(&baseline_key("fleet"), "t=6000/s=30/f=0/r=0/o=0")
                .eval()
        };
        assert_eq!(fleet(5).phase, Phase::Progressing);
        let done = fleet(0);
        assert_eq!(done.phase, Phase::Complete);
        assert!(
            matches!(&done.decision, Decision::Close { comment } if comment.contains("complete")),
            "{:?}",
            done.decision
        );
        assert_eq!(done.stages[2].phase, StagePhase::Complete);
    }

    #[test]
    fn a_rollout_closed_on_completion_stays_complete_and_never_halted() {
        let mut job = Job::new(3)
            .counts(100, 0, 0)
            .tag(STAGE_TAG, "fleet")
            .tag(&baseline_key("wave1"), "t=5000/s=20/f=0/r=0/o=0")
            .tag(&baseline_key("fleet"), "t=6000/s=30/f=0/r=0/o=0");
        job.status = JobStatus::Canceled;
        job.reason = Some(COMPLETE_REASON_CODE.into());
        let closed = job.eval();
        assert_eq!(closed.phase, Phase::Complete);
        assert_eq!(closed.decision, Decision::Done);
        assert_eq!(closed.stages[2].phase, StagePhase::Complete);
        assert!(closed.summary.contains("closed"), "{}", closed.summary);
    }

    #[test]
    fn state_tags_ahead_of_the_targets_never_widen_and_are_named() {
        // The canary has not held: a stage tag one or two stages ahead is not acted on.
        for ahead in ["wave1", "fleet"] {
            let eval = Job::new(1)
                .counts(5, 0, 15)
                .tag(STAGE_TAG, ahead)
                .tag(&baseline_key(ahead), "t=0/s=0/f=0/r=0/o=0")
                .tag(APPROVED_TAG, ahead)
                .eval();
            assert_eq!(eval.current, 0, "{ahead}");
            assert!(!matches!(
                eval.decision,
                Decision::Promote { .. } | Decision::Resume { .. }
            ));
            let named = eval.disagreements.join("; ");
            assert!(named.contains(STAGE_TAG), "{ahead}: {named}");
            assert!(named.contains(APPROVED_TAG), "{ahead}: {named}");
            assert!(
                eval.summary.contains("state tags disagree"),
                "{}",
                eval.summary
            );
        }
        // One stage ahead, and the canary's gate held and soaked: the promotion is completed.
        let held = Job::new(1)
            .counts(20, 0, 0)
            .tag(STAGE_TAG, "wave1")
            .tag(GATE_HELD_TAG, &gate_held_value("canary", 10_000 - 3600))
            .eval();
        assert!(
            matches!(held.decision, Decision::Promote { from: 0, to: 1, .. }),
            "{:?}",
            held.decision
        );
        assert!(held.disagreements.is_empty(), "{:?}", held.disagreements);
    }

    #[test]
    fn a_baseline_ahead_of_the_counts_and_a_soak_before_its_stage_are_ignored() {
        let eval = Job::new(2)
            .counts(30, 12, 0)
            .tag(STAGE_TAG, "wave1")
            // Claims 12 failures had happened before wave1 started: that would hide them all.
            .tag(&baseline_key("wave1"), "t=5000/s=20/f=50/r=0/o=0")
            .eval();
        assert!(
            eval.disagreements
                .iter()
                .any(|d| d.contains("jobctl:stage/wave1")),
            "{:?}",
            eval.disagreements
        );
        let soak = Job::new(1)
            .counts(20, 0, 0)
            .tag(GATE_HELD_TAG, &gate_held_value("canary", 10))
            .eval();
        assert!(
            soak.disagreements.iter().any(|d| d.contains(GATE_HELD_TAG)),
            "{:?}",
            soak.disagreements
        );
        assert!(soak.write_gate_held.is_some(), "the soak starts again now");
        assert!(matches!(soak.decision, Decision::Wait { .. }));
    }

    #[test]
    fn a_stale_stage_tag_cannot_move_a_rollout_back_or_skip_a_soak() {
        // Targets say wave1 started; a stale driver rewrote the stage tag to canary and a
        // gate-held for canary. The current stage is still wave1, and canary's gate-held does
        // not count as wave1's soak.
        let (mut spec, targets) = spec();
        spec.stages[1].gate = gate(Some(5), None, 600, false);
        let job = Job::new(2)
            .counts(30, 0, 0)
            .tag(STAGE_TAG, "canary")
            .tag(&baseline_key("wave1"), "t=5000/s=20/f=0/r=0/o=0")
            .tag(GATE_HELD_TAG, "t=1/stage=canary");
        let eval = job.eval_against(&spec, &targets, None);
        assert_eq!(eval.current, 1);
        assert_eq!(eval.decision, Decision::Wait { recheck: Some(600) });
        assert_eq!(eval.write_gate_held, Some("t=10000/stage=wave1".into()));
    }

    #[test]
    fn a_stage_tag_ahead_of_the_targets_is_completed_only_as_a_promotion_decided_now() {
        // The canary's gate holds but has not soaked: the tag alone widens nothing.
        let eval = Job::new(1)
            .counts(20, 0, 0)
            .tag(STAGE_TAG, "wave1")
            .tag(&baseline_key("wave1"), "t=5000/s=20/f=0/r=0/o=0")
            .eval();
        assert_eq!(eval.current, 0);
        assert!(
            matches!(eval.decision, Decision::Wait { .. }),
            "{:?}",
            eval.decision
        );
        assert!(!eval.disagreements.is_empty());
    }

    #[test]
    fn stage_numbers_are_the_counts_since_its_baseline() {
        let baseline = Baseline::parse("t=5000/s=20/f=1/r=2/o=3").expect("parses");
        assert_eq!(Baseline::parse(&baseline.tag_value()), Some(baseline));
        assert_eq!(Baseline::parse("t=5/s=1"), None);
        let eval = Job::new(2)
            .counts(32, 4, 3)
            .tag(STAGE_TAG, "wave1")
            .tag(&baseline_key("wave1"), "t=5000/s=20/f=2/r=0/o=0")
            .eval();
        // canary: from zero to wave1's baseline; wave1: from its baseline to now.
        let canary = eval.stages[0].numbers.expect("canary numbers");
        assert_eq!(
            (canary.succeeded, canary.failures, canary.executed),
            (20, 2, 22)
        );
        let wave1 = eval.stages[1].numbers.expect("wave1 numbers");
        assert_eq!(
            (wave1.succeeded, wave1.failures, wave1.executed),
            (12, 2, 14)
        );
        assert!((wave1.failure_rate - 100.0 * 2.0 / 14.0).abs() < 1e-9);
        assert_eq!(eval.stages[2].numbers, None);
        assert_eq!(eval.stages[0].phase, StagePhase::Promoted);
    }
}
