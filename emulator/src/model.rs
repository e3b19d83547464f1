//! The emulator's state: jobs, executions, things, groups and tags per (account, region),
//! each scope's timer queue, the simulated fleet and the emulated clock. Plain data with
//! the bookkeeping that must never drift (execution counters); the rules that move state
//! over time live in `engine`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fleet::{Counting, Fleet};
use crate::timers::Timers;

/// AWS partition for a region, so ARNs in China and GovCloud regions look right.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Milliseconds since the epoch as a JSON timestamp (epoch seconds, fractional), the
/// rest-json wire format botocore and the Rust SDK both parse.
pub fn epoch_secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    InProgress,
    Canceled,
    Completed,
    DeletionInProgress,
    Scheduled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::Canceled => "CANCELED",
            JobStatus::Completed => "COMPLETED",
            JobStatus::DeletionInProgress => "DELETION_IN_PROGRESS",
            JobStatus::Scheduled => "SCHEDULED",
        }
    }

    /// Jobs that count against `--max-active-jobs`.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::InProgress | JobStatus::Scheduled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecStatus {
    Queued,
    InProgress,
    Succeeded,
    Failed,
    TimedOut,
    Rejected,
    Removed,
    Canceled,
}

impl ExecStatus {
    pub const ALL: [ExecStatus; 8] = [
        ExecStatus::Queued,
        ExecStatus::InProgress,
        ExecStatus::Succeeded,
        ExecStatus::Failed,
        ExecStatus::TimedOut,
        ExecStatus::Rejected,
        ExecStatus::Removed,
        ExecStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecStatus::Queued => "QUEUED",
            ExecStatus::InProgress => "IN_PROGRESS",
            ExecStatus::Succeeded => "SUCCEEDED",
            ExecStatus::Failed => "FAILED",
            ExecStatus::TimedOut => "TIMED_OUT",
            ExecStatus::Rejected => "REJECTED",
            ExecStatus::Removed => "REMOVED",
            ExecStatus::Canceled => "CANCELED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ExecStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, ExecStatus::Queued | ExecStatus::InProgress)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How many of a job's executions are in each status; kept up to date on every change so
/// DescribeJob never scans executions. A job keeps two: one over the latest attempt of each
/// thing, one over every attempt (see `Counting`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts([u64; 8]);

impl Counts {
    pub fn get(&self, s: ExecStatus) -> u64 {
        self.0[s.index()]
    }

    pub fn add(&mut self, s: ExecStatus) {
        self.0[s.index()] += 1;
    }

    pub fn remove(&mut self, s: ExecStatus) {
        self.0[s.index()] = self.0[s.index()].saturating_sub(1);
    }

    /// QUEUED plus IN_PROGRESS.
    pub fn running(&self) -> u64 {
        self.get(ExecStatus::Queued) + self.get(ExecStatus::InProgress)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetSelection {
    Continuous,
    Snapshot,
}

impl TargetSelection {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetSelection::Continuous => "CONTINUOUS",
            TargetSelection::Snapshot => "SNAPSHOT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CONTINUOUS" => Some(TargetSelection::Continuous),
            "SNAPSHOT" => Some(TargetSelection::Snapshot),
            _ => None,
        }
    }
}

// ---- Job configuration shapes: field names are the model's member names, so the same
// ---- structs serve the wire (DescribeJob) and the state file.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUrlConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_sec: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_per_minute: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponential_rate: Option<ExponentialRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExponentialRate {
    pub base_rate_per_minute: i64,
    pub increment_factor: f64,
    pub rate_increase_criteria: RateIncreaseCriteria,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateIncreaseCriteria {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_notified_things: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_succeeded_things: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbortConfig {
    pub criteria_list: Vec<AbortCriteria>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbortCriteria {
    pub failure_type: String,
    pub action: String,
    pub threshold_percentage: f64,
    pub min_number_of_executed_things: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_progress_timeout_in_minutes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryConfig {
    pub criteria_list: Vec<RetryCriteria>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryCriteria {
    pub failure_type: String,
    pub number_of_retries: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_behavior: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance_windows: Option<Vec<MaintenanceWindow>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceWindow {
    pub start_time: String,
    pub duration_in_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value", skip_serializing_if = "Option::is_none", default)]
    pub value: Option<String>,
}

/// A job template of the account (CreateJobTemplate).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTemplate {
    pub job_template_id: String,
    pub job_template_arn: String,
    /// Creation order; ListJobTemplates pages by it.
    pub seq: u64,
    pub description: String,
    pub document: Option<String>,
    pub document_source: Option<String>,
    pub presigned_url_config: Option<PresignedUrlConfig>,
    pub job_executions_rollout_config: Option<RolloutConfig>,
    pub abort_config: Option<AbortConfig>,
    pub timeout_config: Option<TimeoutConfig>,
    pub job_executions_retry_config: Option<RetryConfig>,
    pub maintenance_windows: Option<Vec<MaintenanceWindow>>,
    pub destination_package_versions: Option<Vec<String>>,
    pub created_at_ms: i64,
}

/// One job execution: the latest attempt of a (job, thing) pair, with the earlier attempts
/// (retries) kept in `history`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub thing_arn: String,
    pub status: ExecStatus,
    pub queued_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub last_updated_at_ms: i64,
    pub execution_number: i64,
    pub retry_attempt: i64,
    #[serde(default)]
    pub force_canceled: bool,
    #[serde(default = "first_version")]
    pub version_number: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_details: BTreeMap<String, String>,
    /// Absolute deadline of the in-progress timer (`inProgressTimeoutInMinutes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_at_ms: Option<i64>,
    /// Absolute deadline of the step timer (`stepTimeoutInMinutes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_timeout_at_ms: Option<i64>,
    /// Retries used so far for FAILED and for TIMED_OUT attempts.
    #[serde(default)]
    pub retries: [i64; 2],
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Execution>,
}

fn first_version() -> i64 {
    1
}

impl Execution {
    pub fn new(thing_arn: String, number: i64, retry_attempt: i64, now: i64) -> Self {
        Execution {
            thing_arn,
            status: ExecStatus::Queued,
            queued_at_ms: now,
            started_at_ms: None,
            last_updated_at_ms: now,
            execution_number: number,
            retry_attempt,
            force_canceled: false,
            version_number: 1,
            status_details: BTreeMap::new(),
            timeout_at_ms: None,
            step_timeout_at_ms: None,
            retries: [0, 0],
            history: Vec::new(),
        }
    }

    /// When this execution times out, if it is IN_PROGRESS with a timer running: the step
    /// timer never extends past the in-progress timer.
    pub fn deadline(&self) -> Option<i64> {
        if self.status != ExecStatus::InProgress {
            return None;
        }
        match (self.timeout_at_ms, self.step_timeout_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The attempt numbered `n` (the latest one or one in `history`).
    pub fn attempt(&self, n: i64) -> Option<&Execution> {
        if self.execution_number == n {
            Some(self)
        } else {
            self.history.iter().find(|h| h.execution_number == n)
        }
    }
}

/// Where a job's rollout stands: the targets not yet notified, in rollout order, and the
/// pacing state (the current rollout minute, the exponential rate's steps).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    pub pending: VecDeque<(String, String)>,
    /// Start of the current rollout minute and how many were notified in it.
    pub minute_start_ms: Option<i64>,
    pub in_minute: u64,
    /// Notifications allowed in the current minute (rate plus the fraction carried over).
    pub minute_budget: f64,
    pub carry: f64,
    pub notified: u64,
    pub succeeded: u64,
    /// How often the exponential rate has been multiplied, and the counts at the last step.
    pub increases: u32,
    pub notified_at_increase: u64,
    pub succeeded_at_increase: u64,
    /// A Rollout timer is already queued for this time.
    pub step_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub job_id: String,
    pub job_arn: String,
    /// Creation order; ListJobs pages by it so tokens survive deletions.
    pub seq: u64,
    pub status: JobStatus,
    pub target_selection: TargetSelection,
    pub targets: Vec<String>,
    pub document: Option<String>,
    pub document_source: Option<String>,
    pub description: Option<String>,
    pub presigned_url_config: Option<PresignedUrlConfig>,
    pub job_executions_rollout_config: Option<RolloutConfig>,
    pub abort_config: Option<AbortConfig>,
    pub timeout_config: Option<TimeoutConfig>,
    pub job_executions_retry_config: Option<RetryConfig>,
    pub scheduling_config: Option<SchedulingConfig>,
    pub namespace_id: Option<String>,
    pub job_template_arn: Option<String>,
    pub document_parameters: Option<BTreeMap<String, String>>,
    pub destination_package_versions: Option<Vec<String>>,
    pub force_canceled: Option<bool>,
    pub reason_code: Option<String>,
    pub comment: Option<String>,
    pub created_at_ms: i64,
    pub last_updated_at_ms: i64,
    pub completed_at_ms: Option<i64>,
    /// Parsed `schedulingConfig` times, so the clock tick does not re-parse strings.
    pub start_at_ms: Option<i64>,
    pub end_at_ms: Option<i64>,
    #[serde(default)]
    pub end_handled: bool,
    /// When DELETION_IN_PROGRESS ends and the job (and its jobId) disappear.
    pub delete_at_ms: Option<i64>,
    /// Keyed by thing name; a BTreeMap gives ListJobExecutionsForJob a stable order.
    pub executions: BTreeMap<String, Execution>,
    #[serde(default)]
    pub rollout: Rollout,
    /// Things whose executions a cancellation still has to cancel (AWS cancels
    /// asynchronously, about 1000 a minute), and whether IN_PROGRESS ones go too.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub cancel_backlog: VecDeque<String>,
    #[serde(default)]
    pub cancel_force: bool,
    /// End of the maintenance window the job is rolling out in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end_ms: Option<i64>,
    /// Latest attempt per thing.
    #[serde(skip)]
    pub counts: Counts,
    /// Every attempt, retried and superseded ones included.
    #[serde(skip)]
    pub attempts: Counts,
    /// The document parsed once for the fleet's rule matching.
    #[serde(skip)]
    pub parsed_document: Option<Arc<serde_json::Value>>,
}

impl Job {
    /// The counters `jobProcessDetails` and the abort criteria read, by the fleet's
    /// `counting` setting.
    pub fn tally(&self, counting: Counting) -> &Counts {
        match counting {
            Counting::PerAttempt => &self.attempts,
            Counting::PerThing => &self.counts,
        }
    }

    /// Rebuilds the counters (after loading a state file).
    pub fn recount(&mut self) {
        let mut c = Counts::default();
        let mut a = Counts::default();
        for e in self.executions.values() {
            c.add(e.status);
            a.add(e.status);
            for h in &e.history {
                a.add(h.status);
            }
        }
        self.counts = c;
        self.attempts = a;
    }

    /// Moves one execution to `to`, keeping the counters right. Returns the status it had.
    pub fn set_status(&mut self, thing: &str, to: ExecStatus, now: i64) -> Option<ExecStatus> {
        let e = self.executions.get_mut(thing)?;
        let from = e.status;
        self.counts.remove(from);
        self.counts.add(to);
        self.attempts.remove(from);
        self.attempts.add(to);
        e.status = to;
        e.last_updated_at_ms = now;
        e.version_number += 1;
        if to == ExecStatus::InProgress && e.started_at_ms.is_none() {
            e.started_at_ms = Some(now);
        }
        if to.is_terminal() {
            e.timeout_at_ms = None;
            e.step_timeout_at_ms = None;
        }
        Some(from)
    }

    /// Adds a new QUEUED execution (or a new attempt of an existing one, which keeps the
    /// earlier attempt in its `history`: it leaves the per-thing counts, not the per-attempt
    /// ones).
    pub fn insert_execution(&mut self, thing: &str, e: Execution) {
        if let Some(old) = self.executions.insert(thing.to_owned(), e) {
            self.counts.remove(old.status);
        }
        self.counts.add(ExecStatus::Queued);
        self.attempts.add(ExecStatus::Queued);
    }

    /// Deletes one attempt of a thing's execution (DeleteJobExecution). Deleting the latest
    /// attempt makes the newest earlier one the latest again.
    pub fn delete_attempt(&mut self, thing: &str, number: i64) {
        let Some(e) = self.executions.get_mut(thing) else {
            return;
        };
        if e.execution_number != number {
            if let Some(i) = e.history.iter().position(|h| h.execution_number == number) {
                let gone = e.history.remove(i);
                self.attempts.remove(gone.status);
            }
            return;
        }
        let Some(mut gone) = self.executions.remove(thing) else {
            return;
        };
        self.counts.remove(gone.status);
        self.attempts.remove(gone.status);
        if let Some(mut prev) = gone.history.pop() {
            prev.history = std::mem::take(&mut gone.history);
            self.counts.add(prev.status);
            self.executions.insert(thing.to_owned(), prev);
        }
    }

    /// Whether the rollout still has targets to notify.
    pub fn rolling_out(&self) -> bool {
        !self.rollout.pending.is_empty()
    }

    /// `isConcurrent`: true while the job rolls out executions or cancels them.
    pub fn is_concurrent(&self) -> bool {
        (self.rolling_out() && self.status == JobStatus::InProgress)
            || !self.cancel_backlog.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thing {
    pub thing_name: String,
    pub thing_arn: String,
    pub thing_id: String,
    pub thing_type_name: Option<String>,
    pub billing_group_name: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub version: i64,
    /// Created by a fleet group: a simulated device answers its executions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThingGroup {
    pub thing_group_name: String,
    pub thing_group_arn: String,
    pub thing_group_id: String,
    pub parent_group_name: Option<String>,
    pub description: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub created_at_ms: i64,
    pub version: i64,
    pub members: BTreeSet<String>,
}

/// Everything one (account, region) pair owns.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    pub account: String,
    pub region: String,
    pub jobs: HashMap<String, Job>,
    pub things: BTreeMap<String, Thing>,
    pub groups: BTreeMap<String, ThingGroup>,
    #[serde(default)]
    pub templates: BTreeMap<String, JobTemplate>,
    /// Tags by resource ARN, in insertion order per resource. Changed only through
    /// `set_tags` and `drop_tags`, which also feed the tagging index.
    pub tags: BTreeMap<String, Vec<Tag>>,
    /// The Resource Groups Tagging API's index: tags by ARN as GetResources sees them, an
    /// empty list for a resource that was tagged once. It trails `tags` by `--tagging-lag`:
    /// changes wait in `tag_log` until they are old enough.
    #[serde(default)]
    pub tag_index: BTreeMap<String, Vec<Tag>>,
    /// Tag changes not yet in the index: (emulated time, ARN, tags after the change or
    /// `None` when the resource is gone).
    #[serde(default)]
    pub tag_log: VecDeque<(i64, String, Option<Vec<Tag>>)>,
    pub next_seq: u64,
    /// Kept for state files of format 1; execution numbers are now per (job, thing).
    #[serde(default)]
    pub next_exec_number: i64,
    pub next_id: u64,
    /// Everything in this scope that happens by itself, in emulated-time order.
    #[serde(default)]
    pub timers: Timers,
    /// Simulated devices at work: thing name → (job id, job seq, execution number).
    #[serde(default)]
    pub busy: HashMap<String, (String, u64, i64)>,
}

impl Scope {
    pub fn new(account: &str, region: &str) -> Self {
        Scope {
            account: account.to_owned(),
            region: region.to_owned(),
            ..Scope::default()
        }
    }

    /// Replaces a resource's tags (an empty list removes them).
    pub fn set_tags(&mut self, arn: &str, tags: Vec<Tag>, now: i64) {
        if tags.is_empty() {
            self.tags.remove(arn);
        } else {
            self.tags.insert(arn.to_owned(), tags.clone());
        }
        self.tag_log.push_back((now, arn.to_owned(), Some(tags)));
    }

    /// The resource is gone, and its tags with it.
    pub fn drop_tags(&mut self, arn: &str, now: i64) {
        let had = self.tags.remove(arn).is_some();
        if had || self.tag_index.contains_key(arn) {
            self.tag_log.push_back((now, arn.to_owned(), None));
        }
    }

    /// Brings the tagging index up to `until`: every logged change at or before it.
    pub fn index_tags(&mut self, until: i64) {
        while self.tag_log.front().is_some_and(|(at, _, _)| *at <= until) {
            let Some((_, arn, tags)) = self.tag_log.pop_front() else {
                break;
            };
            match tags {
                Some(t) => {
                    self.tag_index.insert(arn, t);
                }
                None => {
                    self.tag_index.remove(&arn);
                }
            }
        }
    }

    pub fn arn(&self, resource: &str) -> String {
        format!(
            "arn:{}:iot:{}:{}:{resource}",
            partition(&self.region),
            self.region,
            self.account
        )
    }

    pub fn job_arn(&self, job_id: &str) -> String {
        self.arn(&format!("job/{job_id}"))
    }

    /// A fresh UUID-shaped id. Derived from a per-scope counter through SplitMix64 so ids
    /// are unique, look random, and replay identically from a state file.
    pub fn new_uuid(&mut self) -> String {
        self.next_id += 1;
        let salt = self.region.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let a = crate::rng::splitmix64(self.next_id.wrapping_mul(2) ^ salt);
        let b = crate::rng::splitmix64(self.next_id.wrapping_mul(2).wrapping_add(1) ^ salt);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// Thing names a target ARN stands for: the thing itself, or every member of the group
    /// and of its descendant groups (which is how IoT expands a thing-group target).
    pub fn expand_target(&self, arn: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(name) = arn.rsplit_once(":thing/").map(|(_, n)| n) {
            if let Some(t) = self.things.get(name) {
                out.push((t.thing_name.clone(), t.thing_arn.clone()));
            }
        } else if let Some(name) = arn.rsplit_once(":thinggroup/").map(|(_, n)| n) {
            let mut stack = vec![name.to_owned()];
            let mut seen = BTreeSet::new();
            while let Some(g) = stack.pop() {
                if !seen.insert(g.clone()) {
                    continue;
                }
                if let Some(group) = self.groups.get(&g) {
                    for m in &group.members {
                        if let Some(t) = self.things.get(m) {
                            out.push((t.thing_name.clone(), t.thing_arn.clone()));
                        }
                    }
                }
                stack.extend(
                    self.groups
                        .values()
                        .filter(|c| c.parent_group_name.as_deref() == Some(g.as_str()))
                        .map(|c| c.thing_group_name.clone()),
                );
            }
        }
        out
    }

    /// The groups a thing belongs to, directly or through descendant groups.
    pub fn thing_in_group(&self, thing: &str, group: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = self
            .groups
            .values()
            .filter(|g| g.members.contains(thing))
            .map(|g| g.thing_group_name.as_str())
            .collect();
        while let Some(g) = stack.pop() {
            if g == group {
                return true;
            }
            if !seen.insert(g) {
                continue;
            }
            if let Some(p) = self
                .groups
                .get(g)
                .and_then(|x| x.parent_group_name.as_deref())
            {
                stack.push(p);
            }
        }
        false
    }

    /// Thing names (with ARNs) a job's targets reach, each once, in name order: the
    /// emulator's rollout order.
    pub fn job_things(&self, targets: &[String]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> =
            targets.iter().flat_map(|t| self.expand_target(t)).collect();
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }

    pub fn deletions_in_progress(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| j.status == JobStatus::DeletionInProgress)
            .count()
    }
}

/// The whole emulated world, and the only thing the state file stores.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct World {
    pub format: u32,
    /// Emulated clock = anchor + (wall clock - wall anchor) x scale + this offset (moved
    /// by `/_emulator/clock/advance`). With the default anchors and scale 1 it is simply
    /// wall clock + offset.
    pub clock_offset_ms: i64,
    #[serde(default)]
    pub clock: ClockRate,
    /// Where the clock stands while the engine catches up (`hold_clock`); not saved, a
    /// restarted emulator catches up from the running clock.
    #[serde(skip)]
    pub held_ms: Option<i64>,
    /// The simulated fleet's settings (`--fleet`, `PUT /_emulator/fleet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Arc<Fleet>>,
    /// Keyed `account:region`.
    pub scopes: BTreeMap<String, Scope>,
}

/// How fast the emulated clock runs against the wall clock (`timeScale`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockRate {
    pub scale: f64,
    pub anchor_wall_ms: i64,
    pub anchor_ms: i64,
}

impl Default for ClockRate {
    fn default() -> Self {
        ClockRate {
            scale: 1.0,
            anchor_wall_ms: 0,
            anchor_ms: 0,
        }
    }
}

pub const STATE_FORMAT: u32 = 1;

impl World {
    pub fn new() -> Self {
        World {
            format: STATE_FORMAT,
            ..World::default()
        }
    }

    /// The emulated clock: held where the engine stands while it catches up.
    pub fn now_ms(&self) -> i64 {
        let running = self.running_ms();
        self.held_ms.map_or(running, |h| h.min(running))
    }

    fn now_at(&self, wall: i64) -> i64 {
        let c = &self.clock;
        let run = ((wall - c.anchor_wall_ms) as f64 * c.scale) as i64;
        c.anchor_ms
            .saturating_add(run)
            .saturating_add(self.clock_offset_ms)
    }

    /// Changes `timeScale` without moving the emulated clock.
    pub fn set_time_scale(&mut self, scale: f64) {
        let wall = wall_ms();
        let now = self.now_at(wall);
        self.clock = ClockRate {
            scale,
            anchor_wall_ms: wall,
            anchor_ms: now - self.clock_offset_ms,
        };
    }

    /// The engine is behind: the clock stands at `at` (the last moment up to which every
    /// timer has run) until `release_clock`. So emulated time never runs ahead of the
    /// engine, whatever the backlog: under a load the engine cannot keep up with, emulated
    /// time moves in the engine's steps instead of answers getting stale or slow.
    pub fn hold_clock(&mut self, at: i64) {
        self.held_ms = Some(at);
    }

    /// The engine has caught up: the clock runs with the wall clock again.
    pub fn release_clock(&mut self) {
        self.held_ms = None;
    }

    /// The clock as the wall clock and `timeScale` make it, ignoring a hold.
    pub fn running_ms(&self) -> i64 {
        self.now_at(wall_ms())
    }

    /// Emulated milliseconds that pass per wall millisecond.
    pub fn time_scale(&self) -> f64 {
        self.clock.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_unique_and_shaped() {
        let mut s = Scope::new("123456789012", "us-east-1");
        let a = s.new_uuid();
        let b = s.new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
