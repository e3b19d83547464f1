//! The planning core: desired jobs and the observed account in, a [`Plan`] out.
//!
//! Pure and synchronous on purpose: no I/O, no async, no SDK types. It encodes AWS's rules on what
//! can change after creation and jobctl's safety rules (ownership, no implicit re-rollout, no
//! implicit cancellation); apply only executes the steps decided here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::aws::{JobStatus, JobSummary, JobUpdate, RemoteJob};
use crate::manifest::model::{JobSpec, Target, TargetSelection};
use crate::manifest::semantic::RESERVED_TAG_PREFIX;
use crate::manifest::DesiredJob;

pub const MANAGED_BY_TAG: &str = "jobctl:managed-by";
pub const MANAGED_BY_VALUE: &str = "jobctl";
pub const INSTANCE_TAG: &str = "jobctl:instance";

/// What apply would do with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Replace,
    Cancel,
    Delete,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Cancel => "cancel",
            Self::Delete => "delete",
            Self::Unchanged => "unchanged",
        }
    }
}

/// Who owns an existing job, judged by its tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "owner", content = "instance")]
pub enum Ownership {
    /// Tagged by this jobctl instance.
    Managed,
    /// Tagged by another jobctl instance.
    OtherInstance(String),
    /// Not tagged by jobctl: created by hand, by a script, or by another tool.
    Unmanaged,
}

pub fn ownership(tags: &BTreeMap<String, String>, instance: &str) -> Ownership {
    if tags.get(MANAGED_BY_TAG).map(String::as_str) != Some(MANAGED_BY_VALUE) {
        return Ownership::Unmanaged;
    }
    match tags.get(INSTANCE_TAG) {
        Some(owner) if owner == instance => Ownership::Managed,
        Some(owner) => Ownership::OtherInstance(owner.clone()),
        None => Ownership::OtherInstance(String::new()),
    }
}

/// The tags jobctl puts on every job it creates or adopts.
pub fn ownership_tags(instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
        (INSTANCE_TAG.to_string(), instance.to_string()),
    ])
}

/// One field that differs between the manifest and the account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// The manifest field name, e.g. `description` or `abortConfig`.
    pub field: &'static str,
    /// The value in the account; `null` when absent.
    pub before: Value,
    /// The value the manifest declares; `null` when absent.
    pub after: Value,
    /// True when AWS cannot make this change in place.
    pub forces_replacement: bool,
}

/// One API step of a change, in execution order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "operation")]
pub enum Step {
    /// TagResource with jobctl's ownership tags, for `--adopt`.
    Adopt,
    UpdateJob {
        fields: Vec<&'static str>,
        #[serde(skip)]
        update: JobUpdate,
    },
    TagResource {
        tags: BTreeMap<String, String>,
    },
    UntagResource {
        keys: Vec<String>,
    },
    AssociateTargetsWithJob {
        targets: Vec<String>,
    },
    CancelJob {
        force: bool,
    },
    DeleteJob {
        force: bool,
    },
    /// Poll DescribeJob until the job is gone, so its id can be used again.
    WaitForDeletion,
    CreateJob,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub job_id: String,
    pub action: Action,
    /// Where the manifest declares the job (`file:line:col`), when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The job's status in the account, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ownership: Option<Ownership>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// The fields that force a replacement, in manifest order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forced_by: Vec<&'static str>,
    /// Why apply will not carry this change out; `None` when it will.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// Something the reader should know that does not block the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// The spec a create sends (targets resolved, document inline, ownership tags added).
    #[serde(skip)]
    pub desired: Option<JobSpec>,
    /// The job's ARN, when it exists.
    #[serde(skip)]
    pub arn: Option<String>,
}

impl Change {
    fn new(job_id: &str, action: Action) -> Self {
        Self {
            job_id: job_id.to_string(),
            action,
            source: None,
            status: None,
            ownership: None,
            fields: Vec::new(),
            forced_by: Vec::new(),
            blocked: None,
            note: None,
            steps: Vec::new(),
            desired: None,
            arn: None,
        }
    }
}

/// A job this instance owns that no manifest declares any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Orphan {
    pub job_id: String,
    pub status: String,
}

/// A declared job that exists but was not compared, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotCompared {
    pub job_id: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub cancel: usize,
    pub delete: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Finished jobs whose manifests were not compared (see `--compare-finished`).
    pub not_compared: Vec<NotCompared>,
    /// Jobs of this instance without a manifest that this run will not touch.
    pub orphans: Vec<Orphan>,
    /// Run-level remarks, such as prune being off.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Cancel => s.cancel += 1,
                Action::Delete => s.delete += 1,
                Action::Unchanged => s.unchanged += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.action != Action::Unchanged || c.blocked.is_some())
    }

    pub fn blocked(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.blocked.is_some())
    }
}

/// What plan knows about the account.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Every job in the account (ListJobs), by id.
    pub listed: HashMap<String, JobSummary>,
    /// Full reads (description, document, tags) of the declared jobs that were compared.
    pub remote: HashMap<String, RemoteJob>,
    /// Tags of undeclared jobs that may be this instance's orphans.
    pub undeclared_tags: HashMap<String, BTreeMap<String, String>>,
}

/// The user's intent beyond the manifests.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub instance: String,
    pub adopt: bool,
    pub allow_replace: bool,
    pub prune: bool,
    pub prune_force: bool,
    pub prune_delete: bool,
    /// Why prune cannot run this time (invalid or unreadable manifests), if it cannot.
    pub prune_disabled: Option<String>,
    /// `--target`: only these job ids, when given.
    pub only: Option<BTreeSet<String>>,
}

impl Options {
    pub fn includes(&self, job_id: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(job_id))
    }
}

/// Fields UpdateJob can change in place (API reference, UpdateJob), tags aside.
const UPDATABLE: &[&str] = &[
    "description",
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "jobExecutionsRetryConfig",
];

/// Every compared field, in manifest order, so diffs read like the manifest.
const FIELDS: &[&str] = &[
    "description",
    "targets",
    "targetSelection",
    "document",
    "documentSource",
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "tags",
    "namespaceId",
    "jobTemplateArn",
    "jobExecutionsRetryConfig",
    "documentParameters",
    "schedulingConfig",
    "destinationPackageVersions",
];

pub const FINISHED_MESSAGE: &str =
    "this job has finished; give the manifest a new name to roll it out again";

/// Plans the declared jobs against the observed account. Desired jobs that will be created or
/// compared must have resolved targets (ARNs only).
pub fn plan(desired: &[DesiredJob], observed: &Observed, options: &Options) -> Plan {
    let mut plan = Plan::default();
    let declared: BTreeSet<&str> = desired.iter().map(|j| j.job_id.as_str()).collect();
    for job in desired.iter().filter(|j| options.includes(&j.job_id)) {
        let listed = observed.listed.get(&job.job_id);
        let change = match (listed.map(|l| &l.status), observed.remote.get(&job.job_id)) {
            (None, _) => Some(create(job, options, false)),
            (Some(JobStatus::DeletionInProgress), _) => Some(create(job, options, true)),
            (Some(_), Some(remote)) => Some(compare(job, remote, options)),
            (Some(status), None) => {
                plan.not_compared.push(NotCompared {
                    job_id: job.job_id.clone(),
                    status: status.to_string(),
                });
                None
            }
        };
        plan.changes.extend(change);
    }
    plan_orphans(&mut plan, &declared, observed, options);
    plan.changes.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    plan.not_compared.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    plan.orphans.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    plan
}

fn create(job: &DesiredJob, options: &Options, after_deletion: bool) -> Change {
    let mut change = Change::new(&job.job_id, Action::Create);
    change.source = Some(job.origin.to_string());
    let mut spec = job.spec.clone();
    for (k, v) in ownership_tags(&options.instance) {
        spec.tags.insert(k, crate::manifest::model::TagValue(v));
    }
    change.desired = Some(spec);
    if after_deletion {
        change.status = Some(JobStatus::DeletionInProgress.to_string());
        change.note = Some(
            "a job with this id is being deleted; it is created once the deletion completes".into(),
        );
        change.steps = vec![Step::WaitForDeletion, Step::CreateJob];
    } else {
        change.steps = vec![Step::CreateJob];
    }
    change
}

fn compare(job: &DesiredJob, remote: &RemoteJob, options: &Options) -> Change {
    let want = normalized(&job.spec);
    let have = normalized(&remote.spec);
    let remote_tags: BTreeMap<String, String> = remote
        .spec
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let owner = ownership(&remote_tags, &options.instance);
    let continuous_running = remote.spec.target_selection == Some(TargetSelection::Continuous)
        && remote.status == JobStatus::InProgress;
    let mut fields = Vec::new();
    let mut added_targets = Vec::new();
    // A template job whose manifest has no document gets the template's: nothing to compare.
    let document_from_template = job.spec.job_template_arn.is_some()
        && job.spec.document.is_none()
        && job.spec.document_source.is_none();
    for &field in FIELDS {
        let after = want.get(field).cloned().unwrap_or(Value::Null);
        let before = have.get(field).cloned().unwrap_or(Value::Null);
        if after == before || (field == "document" && document_from_template) {
            continue;
        }
        let forces_replacement = match field {
            "tags" => false,
            "targets" if continuous_running => {
                // Targets of a running CONTINUOUS job can only grow.
                let (added, removed) = target_delta(&before, &after);
                added_targets = added;
                removed
            }
            // UpdateJob sets fields; it cannot remove one.
            f if UPDATABLE.contains(&f) => after.is_null(),
            _ => true,
        };
        fields.push(FieldChange {
            field,
            before,
            after,
            forces_replacement,
        });
    }
    let forced_by: Vec<&'static str> = fields
        .iter()
        .filter(|f| f.forces_replacement)
        .map(|f| f.field)
        .collect();
    let mut change = Change::new(&job.job_id, Action::Unchanged);
    change.source = Some(job.origin.to_string());
    change.status = Some(remote.status.to_string());
    change.ownership = Some(owner.clone());
    change.arn = Some(remote.job_arn.clone());
    change.desired = Some(job.spec.clone());
    let finished = is_finished(&remote.status);

    if !forced_by.is_empty() {
        change.action = Action::Replace;
        change.forced_by = forced_by;
        change.steps = if finished {
            vec![
                Step::DeleteJob { force: false },
                Step::WaitForDeletion,
                Step::CreateJob,
            ]
        } else {
            vec![
                Step::CancelJob { force: true },
                Step::DeleteJob { force: true },
                Step::WaitForDeletion,
                Step::CreateJob,
            ]
        };
        let mut spec = job.spec.clone();
        for (k, v) in ownership_tags(&options.instance) {
            spec.tags.insert(k, crate::manifest::model::TagValue(v));
        }
        change.desired = Some(spec);
        if !options.allow_replace {
            change.blocked = Some(if finished {
                FINISHED_MESSAGE.to_string()
            } else {
                "replacing cancels the job on its devices and rolls it out again; pass --allow-replace to do that".to_string()
            });
        }
    } else if !fields.is_empty() {
        change.action = Action::Update;
        change.steps = update_steps(&fields, &job.spec, &remote_tags, added_targets);
        let only_tags = fields.iter().all(|f| f.field == "tags");
        if finished && !only_tags {
            change.blocked = Some(FINISHED_MESSAGE.to_string());
        }
    }
    change.fields = fields;

    match owner {
        Ownership::Managed => {}
        Ownership::OtherInstance(other) => {
            change.blocked = Some(format!(
                "the job is managed by jobctl instance `{other}`, not `{}`; jobctl never touches another instance's jobs",
                options.instance
            ));
        }
        Ownership::Unmanaged if options.adopt => {
            change.steps.insert(0, Step::Adopt);
            if change.action == Action::Unchanged {
                change.action = Action::Update;
            }
            change.note = Some("not created by jobctl; --adopt adds the ownership tags".into());
        }
        Ownership::Unmanaged => {
            change.blocked = Some(
                "a job with this id exists but jobctl does not manage it; pass --adopt to take it over".into(),
            );
        }
    }
    if remote.status == JobStatus::Canceled && change.note.is_none() {
        change.note = Some("the job was cancelled".into());
    }
    change
}

/// ARNs added and whether any were removed, from the normalized target lists.
fn target_delta(before: &Value, after: &Value) -> (Vec<String>, bool) {
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (before, after) = (set(before), set(after));
    let added = after.difference(&before).cloned().collect();
    (added, !before.is_subset(&after))
}

fn update_steps(
    fields: &[FieldChange],
    spec: &JobSpec,
    remote_tags: &BTreeMap<String, String>,
    added_targets: Vec<String>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let updatable: Vec<&'static str> = fields
        .iter()
        .map(|f| f.field)
        .filter(|f| UPDATABLE.contains(f))
        .collect();
    if !updatable.is_empty() {
        let mut update = JobUpdate::default();
        for field in &updatable {
            match *field {
                "description" => update.description.clone_from(&spec.description),
                "presignedUrlConfig" => update
                    .presigned_url_config
                    .clone_from(&spec.presigned_url_config),
                "jobExecutionsRolloutConfig" => update
                    .job_executions_rollout_config
                    .clone_from(&spec.job_executions_rollout_config),
                "abortConfig" => update.abort_config.clone_from(&spec.abort_config),
                "timeoutConfig" => update.timeout_config.clone_from(&spec.timeout_config),
                "jobExecutionsRetryConfig" => update
                    .job_executions_retry_config
                    .clone_from(&spec.job_executions_retry_config),
                _ => {}
            }
        }
        steps.push(Step::UpdateJob {
            fields: updatable,
            update,
        });
    }
    if fields.iter().any(|f| f.field == "tags") {
        let want: BTreeMap<String, String> = spec
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with(RESERVED_TAG_PREFIX))
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        let set: BTreeMap<String, String> = want
            .iter()
            .filter(|(k, v)| remote_tags.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let removed: Vec<String> = remote_tags
            .keys()
            .filter(|k| !k.starts_with(RESERVED_TAG_PREFIX) && !want.contains_key(*k))
            .cloned()
            .collect();
        if !set.is_empty() {
            steps.push(Step::TagResource { tags: set });
        }
        if !removed.is_empty() {
            steps.push(Step::UntagResource { keys: removed });
        }
    }
    if !added_targets.is_empty() {
        steps.push(Step::AssociateTargetsWithJob {
            targets: added_targets,
        });
    }
    steps
}

fn plan_orphans(
    plan: &mut Plan,
    declared: &BTreeSet<&str>,
    observed: &Observed,
    options: &Options,
) {
    let mut candidates: Vec<(&String, &JobSummary)> = observed
        .listed
        .iter()
        .filter(|(id, _)| !declared.contains(id.as_str()) && options.includes(id))
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(b.0));
    let wants_prune = options.prune || options.prune_delete;
    if wants_prune {
        if let Some(reason) = &options.prune_disabled {
            plan.notes
                .push(format!("prune is off for this run: {reason}"));
        }
    }
    for (job_id, summary) in candidates {
        let Some(tags) = observed.undeclared_tags.get(job_id) else {
            continue;
        };
        if ownership(tags, &options.instance) != Ownership::Managed {
            continue;
        }
        let active = matches!(summary.status, JobStatus::InProgress | JobStatus::Scheduled);
        let finished = is_finished(&summary.status);
        let pruning = options.prune_disabled.is_none();
        let mut change = if active && options.prune && pruning {
            let mut c = Change::new(job_id, Action::Cancel);
            c.steps = vec![Step::CancelJob {
                force: options.prune_force,
            }];
            c.note = Some(if options.prune_force {
                "no manifest declares it; cancelled with force, including executions in progress on devices".into()
            } else {
                "no manifest declares it; queued executions are cancelled, executions in progress on devices finish".into()
            });
            c
        } else if finished && options.prune_delete && pruning {
            let mut c = Change::new(job_id, Action::Delete);
            // Waiting keeps this run within AWS's 10 deletions in progress.
            c.steps = vec![Step::DeleteJob { force: false }, Step::WaitForDeletion];
            c.note = Some("no manifest declares it; the finished job is deleted".into());
            c
        } else {
            if active || finished {
                plan.orphans.push(Orphan {
                    job_id: job_id.clone(),
                    status: summary.status.to_string(),
                });
            }
            continue;
        };
        change.status = Some(summary.status.to_string());
        change.ownership = Some(Ownership::Managed);
        change.arn = Some(summary.job_arn.clone());
        plan.changes.push(change);
    }
}

/// The spec as comparable JSON: AWS defaults made explicit, targets as a sorted set, jobctl's own
/// tags removed, empty collections dropped.
fn normalized(spec: &JobSpec) -> Map<String, Value> {
    let mut spec = spec.clone();
    spec.target_selection = Some(spec.target_selection.unwrap_or(TargetSelection::Snapshot));
    spec.targets.sort();
    spec.targets.dedup();
    if let Some(presigned) = &mut spec.presigned_url_config {
        presigned.expires_in_sec.get_or_insert(3600);
    }
    spec.tags.retain(|k, _| !k.starts_with(RESERVED_TAG_PREFIX));
    let value = serde_json::to_value(&spec).unwrap_or(Value::Null);
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// True when every target is an ARN, which [`plan`] requires of compared and created jobs.
pub fn targets_resolved(spec: &JobSpec) -> bool {
    spec.targets.iter().all(|t| matches!(t, Target::Arn(_)))
}

/// Whether a job in this status is finished, so re-running it would repeat a rollout.
pub fn is_finished(status: &JobStatus) -> bool {
    matches!(status, JobStatus::Completed | JobStatus::Canceled)
}

/// Whether plan compares a declared job in this status by default (active jobs only: finished
/// ones cannot change in place, and describing years of history would cost a call per job).
pub fn compared_by_default(status: &JobStatus) -> bool {
    !is_finished(status) && *status != JobStatus::DeletionInProgress
}

#[cfg(test)]
mod tests;
