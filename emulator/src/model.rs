//! The emulator's state: jobs, executions, things, groups and tags per (account, region),
//! plus the emulated clock and the time-driven transitions (scheduled starts, finished
//! deletions, timeouts). Owns every status change rule; handlers call into it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// One job execution: a (job, thing) pair.
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
}

impl Job {
    pub fn count(&self, status: ExecStatus) -> usize {
        self.executions
            .values()
            .filter(|e| e.status == status)
            .count()
    }

    /// Marks executions for `things` QUEUED (skipping ones the job already has), which is
    /// what rollout does; the emulator rolls out instantly, so `isConcurrent` stays false.
    fn queue(
        &mut self,
        things: impl IntoIterator<Item = (String, String)>,
        now: i64,
        next_exec: &mut i64,
    ) {
        for (name, arn) in things {
            if self.executions.contains_key(&name) {
                continue;
            }
            *next_exec += 1;
            self.executions.insert(
                name,
                Execution {
                    thing_arn: arn,
                    status: ExecStatus::Queued,
                    queued_at_ms: now,
                    started_at_ms: None,
                    last_updated_at_ms: now,
                    execution_number: *next_exec,
                    retry_attempt: 0,
                    force_canceled: false,
                },
            );
        }
    }

    /// A SNAPSHOT job whose executions have all ended is COMPLETED; CONTINUOUS jobs keep
    /// running because new group members would still get executions.
    pub fn settle(&mut self, now: i64) {
        if self.status == JobStatus::InProgress
            && self.target_selection == TargetSelection::Snapshot
            && !self.executions.is_empty()
            && self.executions.values().all(|e| e.status.is_terminal())
        {
            self.status = JobStatus::Completed;
            self.completed_at_ms = Some(now);
            self.last_updated_at_ms = now;
        }
    }

    /// Cancels the job's executions: QUEUED always, IN_PROGRESS only when forced.
    pub fn cancel_executions(&mut self, force: bool, now: i64) {
        for e in self.executions.values_mut() {
            let hit =
                e.status == ExecStatus::Queued || (force && e.status == ExecStatus::InProgress);
            if hit {
                e.status = ExecStatus::Canceled;
                e.force_canceled = force;
                e.last_updated_at_ms = now;
            }
        }
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
    /// Tags by resource ARN, in insertion order per resource.
    pub tags: BTreeMap<String, Vec<Tag>>,
    pub next_seq: u64,
    pub next_exec_number: i64,
    pub next_id: u64,
    /// Earliest time anything in this scope changes by itself; `None` means never.
    /// Kept so the per-request tick is one comparison when nothing is due.
    #[serde(skip)]
    pub next_due_ms: Option<i64>,
}

impl Scope {
    pub fn new(account: &str, region: &str) -> Self {
        Scope {
            account: account.to_owned(),
            region: region.to_owned(),
            ..Scope::default()
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

    pub fn note_due(&mut self, at: i64) {
        self.next_due_ms = Some(self.next_due_ms.map_or(at, |d| d.min(at)));
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

    /// Queues executions for every thing the job's targets expand to.
    pub fn roll_out(&mut self, job_id: &str, now: i64) {
        let Some(job) = self.jobs.get(job_id) else {
            return;
        };
        let things: Vec<(String, String)> = job
            .targets
            .iter()
            .flat_map(|t| self.expand_target(t))
            .collect();
        let mut next = self.next_exec_number;
        if let Some(job) = self.jobs.get_mut(job_id) {
            job.queue(things, now, &mut next);
        }
        self.next_exec_number = next;
    }

    /// A thing just joined a group: CONTINUOUS jobs already running against that group
    /// (or an ancestor) pick it up, as IoT does for continuous jobs.
    pub fn thing_joined(&mut self, thing: &str, now: i64) {
        let affected: Vec<String> = self
            .jobs
            .values()
            .filter(|j| {
                j.target_selection == TargetSelection::Continuous
                    && j.status == JobStatus::InProgress
                    && !j.executions.contains_key(thing)
            })
            .filter(|j| {
                j.targets
                    .iter()
                    .any(|t| self.expand_target(t).iter().any(|(n, _)| n == thing))
            })
            .map(|j| j.job_id.clone())
            .collect();
        for id in affected {
            self.roll_out(&id, now);
        }
    }

    pub fn deletions_in_progress(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| j.status == JobStatus::DeletionInProgress)
            .count()
    }

    /// Applies every time-driven transition due at `now`. Returns whether anything changed,
    /// so the caller knows to persist.
    pub fn tick(&mut self, now: i64) -> bool {
        match self.next_due_ms {
            Some(due) if due <= now => {}
            _ => return false,
        }
        let mut changed = false;
        let mut next_due: Option<i64> = None;
        let mut due = |t: i64| next_due = Some(next_due.map_or(t, |d: i64| d.min(t)));

        // Finished deletions free their jobId and take executions and tags with them.
        let gone: Vec<String> = self
            .jobs
            .values()
            .filter(|j| j.status == JobStatus::DeletionInProgress)
            .filter(|j| j.delete_at_ms.is_some_and(|t| t <= now))
            .map(|j| j.job_id.clone())
            .collect();
        for id in gone {
            if let Some(job) = self.jobs.remove(&id) {
                self.tags.remove(&job.job_arn);
                changed = true;
            }
        }

        let ids: Vec<String> = self.jobs.keys().cloned().collect();
        for id in ids {
            let mut start = false;
            if let Some(job) = self.jobs.get_mut(&id) {
                match job.status {
                    JobStatus::DeletionInProgress => {
                        if let Some(t) = job.delete_at_ms {
                            due(t);
                        }
                        continue;
                    }
                    JobStatus::Scheduled => match job.start_at_ms {
                        Some(t) if t <= now => {
                            job.status = JobStatus::InProgress;
                            job.last_updated_at_ms = now;
                            start = true;
                            changed = true;
                        }
                        Some(t) => due(t),
                        None => {}
                    },
                    _ => {}
                }
            }
            if start {
                self.roll_out(&id, now);
            }
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            // endTime: what endBehavior says happens to a rollout still going.
            if let (Some(end), false) = (job.end_at_ms, job.end_handled) {
                if end <= now {
                    job.end_handled = true;
                    changed = true;
                    let behavior = job
                        .scheduling_config
                        .as_ref()
                        .and_then(|s| s.end_behavior.as_deref())
                        .unwrap_or("STOP_ROLLOUT");
                    if job.status.is_active() && behavior != "STOP_ROLLOUT" {
                        let force = behavior == "FORCE_CANCEL";
                        job.status = JobStatus::Canceled;
                        job.force_canceled = Some(force);
                        job.last_updated_at_ms = now;
                        job.cancel_executions(force, now);
                    }
                } else {
                    due(end);
                }
            }
            // inProgressTimeoutInMinutes: executions running too long time out.
            if let Some(mins) = job
                .timeout_config
                .as_ref()
                .and_then(|t| t.in_progress_timeout_in_minutes)
            {
                let limit = mins * 60_000;
                let mut timed_out = false;
                for e in job.executions.values_mut() {
                    if let (ExecStatus::InProgress, Some(started)) = (e.status, e.started_at_ms) {
                        if started + limit <= now {
                            e.status = ExecStatus::TimedOut;
                            e.last_updated_at_ms = now;
                            timed_out = true;
                        } else {
                            due(started + limit);
                        }
                    }
                }
                if timed_out {
                    changed = true;
                    job.settle(now);
                }
            }
        }
        self.next_due_ms = next_due;
        changed
    }

    /// Rebuilds `next_due_ms` after loading a state file (it is not persisted).
    pub fn recompute_due(&mut self) {
        self.next_due_ms = Some(i64::MIN);
    }
}

/// The whole emulated world, and the only thing the state file stores.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct World {
    pub format: u32,
    /// Emulated clock = wall clock + this offset (moved by `/_emulator/clock/advance`).
    pub clock_offset_ms: i64,
    /// Keyed `account:region`.
    pub scopes: BTreeMap<String, Scope>,
}

pub const STATE_FORMAT: u32 = 1;

impl World {
    pub fn new() -> Self {
        World {
            format: STATE_FORMAT,
            ..World::default()
        }
    }

    pub fn now_ms(&self) -> i64 {
        wall_ms().saturating_add(self.clock_offset_ms)
    }

    pub fn scope(&mut self, account: &str, region: &str) -> &mut Scope {
        let key = format!("{account}:{region}");
        self.scopes
            .entry(key)
            .or_insert_with(|| Scope::new(account, region))
    }

    pub fn existing_scope(&mut self, account: &str, region: &str) -> Option<&mut Scope> {
        self.scopes.get_mut(&format!("{account}:{region}"))
    }

    /// Runs every scope's due transitions; true when something changed.
    pub fn tick(&mut self, now: i64) -> bool {
        let mut changed = false;
        for scope in self.scopes.values_mut() {
            changed |= scope.tick(now);
        }
        changed
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
