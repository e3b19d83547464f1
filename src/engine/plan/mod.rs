//! The planning core: desired jobs and the observed account in, a [`Plan`] out.
//!
//! Pure and synchronous on purpose: no I/O, no async, no SDK types (it never imports `aws`). It
//! encodes AWS's rules on what can change after creation and jobctl's safety rules (ownership, no
//! implicit re-rollout, no implicit cancellation); apply only executes the steps decided here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use super::health::{self, Health};
use super::rollout;
use super::Settings;
use crate::domain::ownership::{ownership, ownership_tags, Ownership, RESERVED_TAG_PREFIX};
use crate::domain::rollout::{RolloutSpec, KIND_ROLLOUT, KIND_TAG, STAGE_TAG};
use crate::domain::spec::{JobSpec, TargetSelection};
use crate::domain::{
    JobProcessDetails, JobProgress, JobStatus, JobSummary, JobUpdate, Kind, RemoteJob, ResolvedJob,
    ResolvedSpec, ResourceId,
};

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
        /// Boxed: every change's steps would otherwise be as large as this variant.
        #[serde(skip)]
        update: Box<JobUpdate>,
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
    /// CreateJob with the spec it sends: targets resolved, document inline, ownership tags
    /// added. Boxed, as the other steps are small.
    CreateJob {
        #[serde(skip)]
        spec: Box<ResolvedSpec>,
    },
    /// CreateJobTemplate with the template it sends, ownership tags added.
    CreateJobTemplate {
        #[serde(skip)]
        template: Box<crate::domain::JobTemplateSpec>,
    },
    /// A template change: delete it (jobs already created from it keep running).
    DeleteJobTemplate,
}

impl Step {
    /// The step's name, as `operation` in the JSON plan: the AWS operation, or `Adopt` and
    /// `WaitForDeletion` for the two steps that are not one call.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Adopt => "Adopt",
            Self::UpdateJob { .. } => "UpdateJob",
            Self::TagResource { .. } => "TagResource",
            Self::UntagResource { .. } => "UntagResource",
            Self::AssociateTargetsWithJob { .. } => "AssociateTargetsWithJob",
            Self::CancelJob { .. } => "CancelJob",
            Self::DeleteJob { .. } => "DeleteJob",
            Self::WaitForDeletion => "WaitForDeletion",
            Self::CreateJob { .. } => "CreateJob",
            Self::CreateJobTemplate { .. } => "CreateJobTemplate",
            Self::DeleteJobTemplate => "DeleteJobTemplate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What changes: a job, a rollout's job or a job template (`kind` and its name in JSON).
    #[serde(flatten)]
    pub resource: ResourceId,
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
    /// How the existing job's rollout is doing, when its counts were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Its counts (DescribeJob's `jobProcessDetails`), next to `health`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_process_details: Option<JobProcessDetails>,
    /// The job's ARN, when it exists.
    #[serde(skip)]
    pub arn: Option<String>,
    /// The manifest's `metadata.maxFailureRate`, carried for `apply --wait`.
    #[serde(skip)]
    pub max_failure_rate: Option<f64>,
    /// For a `kind: Rollout`: where it stands and what its next step needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Box<RolloutPlan>>,
    /// For a job from a template, created, replaced or updated: the values it takes from the
    /// template (shown, never diffed). Boxed, as most changes have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited: Option<Box<super::inherit::Inherited>>,
}

/// A rollout in a plan: its phase, its stages with their numbers, and the next step in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutPlan {
    pub phase: rollout::Phase,
    /// The current stage.
    pub stage: String,
    /// What is happening and what the next step needs, with numbers.
    pub next: String,
    /// The gate failed: the next pass that may change the account halts the rollout.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub halt_due: bool,
    /// State tags that disagree with the job, each naming the tag; none is acted on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
    pub stages: Vec<rollout::StageView>,
    /// The stages still to start, each with the targets its promotion will add (the manifest's,
    /// as they stand now: stages that have not started may change).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub upcoming: Vec<UpcomingStage>,
    #[serde(skip)]
    pub spec: RolloutSpec,
    /// Each stage's target ARNs.
    #[serde(skip)]
    pub stage_targets: rollout::StageTargets,
}

/// A rollout's stage that has not started, and the target ARNs its promotion will add.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpcomingStage {
    pub name: String,
    pub adds: Vec<String>,
}

impl Change {
    pub fn new(resource: ResourceId, action: Action) -> Self {
        Self {
            resource,
            action,
            source: None,
            status: None,
            ownership: None,
            fields: Vec::new(),
            forced_by: Vec::new(),
            blocked: None,
            note: None,
            steps: Vec::new(),
            health: None,
            job_process_details: None,
            arn: None,
            max_failure_rate: None,
            rollout: None,
            inherited: None,
        }
    }

    /// The job id, when this change is a job's or a rollout's.
    pub fn job_id(&self) -> Option<&str> {
        self.resource.job_id()
    }

    /// The spec CreateJob sends, when this change creates a job.
    pub fn create_spec(&self) -> Option<&ResolvedSpec> {
        self.steps.iter().find_map(|step| match step {
            Step::CreateJob { spec } => Some(&**spec),
            _ => None,
        })
    }

    /// The template CreateJobTemplate sends, when this change creates one.
    pub fn create_template(&self) -> Option<&crate::domain::JobTemplateSpec> {
        self.steps.iter().find_map(|step| match step {
            Step::CreateJobTemplate { template } => Some(&**template),
            _ => None,
        })
    }

    /// Sets the job's health from what DescribeJob said.
    fn judge(
        &mut self,
        status: &JobStatus,
        spec: &JobSpec,
        progress: &JobProgress,
        tolerance: f64,
    ) {
        self.health = Some(health::of_job(status, spec, progress, tolerance));
        self.job_process_details = Some(progress.details.clone());
    }
}

/// A job this instance owns that no manifest declares any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Orphan {
    pub job_id: String,
    pub status: String,
    /// Its health, when its counts were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_process_details: Option<JobProcessDetails>,
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

/// How many jobs prune would take, and whether this run takes them. Always part of a plan, so a
/// reviewer sees the number before anything is cancelled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneSummary {
    /// `--prune`, `--prune-force` or `--prune-delete` was given.
    pub requested: bool,
    /// This instance's jobs that no manifest declares and that the given prune flags act on,
    /// and its job templates that no manifest declares: what this run prunes, or would prune
    /// were it not refused. `--max-prune` counts this number.
    pub would_prune: usize,
    /// Of `would_prune`, the job templates; the rest are jobs.
    #[serde(skip_serializing_if = "is_zero")]
    pub would_prune_templates: usize,
    /// `--max-prune`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_prune: Option<usize>,
    /// Why this run does not prune although asked to (an incomplete or empty tree, too many).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    pub prune: PruneSummary,
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

    /// The changes apply works on: every job with an action or a step to take.
    pub fn changes_to_apply(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.action != Action::Unchanged || !c.steps.is_empty())
    }
}

/// What plan knows about the account.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Every job in the account (ListJobs), by id.
    pub listed: HashMap<String, JobSummary>,
    /// Full reads (description, document, tags) of the declared jobs that were compared. Boxed,
    /// so the table (sized for all of them at once) holds pointers, not 10,000 inline specs.
    pub remote: HashMap<String, Box<RemoteJob>>,
    /// Declared jobs compared as they were read ([`compare_read`]), in place of their reads:
    /// their changes, still without the spec, which plan moves in. This vector becomes the
    /// plan's list of changes, so 10,000 of them are not held twice.
    pub compared: Vec<Change>,
    /// Tags of undeclared jobs that may be this instance's orphans.
    pub undeclared_tags: HashMap<String, BTreeMap<String, String>>,
    /// DescribeJob of this instance's undeclared jobs, for their health.
    pub undeclared: HashMap<String, (JobStatus, JobSpec, JobProgress)>,
    /// The server's time (epoch seconds) when the account was read, for rollout soaks.
    pub now: Option<i64>,
}

/// What the manifests declare, as plan needs it.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Declared jobs to create or compare, their targets resolved.
    pub jobs: Vec<ResolvedJob>,
    /// Declared jobs that exist and were not read (finished, see `--compare-finished`).
    pub unread: Vec<String>,
    /// Why nothing may be pruned this run, when a manifest could not be read or validated:
    /// jobctl cannot know what a broken file declared.
    pub incomplete: Option<String>,
    /// Roots that yielded no manifest at all. Pruning from them needs `--allow-empty`.
    pub empty_roots: Vec<String>,
}

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

/// Plans the declared jobs against the observed account. `--target` has already narrowed both
/// sides (see `refresh`), so everything given here is in scope.
pub fn plan(desired: &Desired, observed: &Observed, settings: &Settings) -> Plan {
    plan_owned(desired.clone(), observed.clone(), settings)
}

/// [`plan`], taking the declared jobs and the reads by value: each declared spec moves into its
/// change and each read is dropped once compared, so a plan never holds a second copy of every
/// spec (at 10,000 jobs that was the daemon's peak; see docs/benchmarks.md).
pub fn plan_owned(mut desired: Desired, mut observed: Observed, settings: &Settings) -> Plan {
    let mut plan = Plan::default();
    {
        let declared: BTreeSet<&str> = desired
            .jobs
            .iter()
            .map(|j| j.job_id.as_str())
            .chain(desired.unread.iter().map(String::as_str))
            .collect();
        plan_orphans(&mut plan, &declared, &observed, settings, &desired);
    }
    let prune_changes = std::mem::take(&mut plan.changes);
    // The changes compared as the reads arrived stay where they are and get their specs; the
    // others are added after them.
    plan.changes = std::mem::take(&mut observed.compared);
    plan.changes
        .sort_unstable_by(|a, b| a.resource.cmp(&b.resource));
    let compared = plan.changes.len();
    let mut used = vec![false; compared];
    let others = desired.jobs.len().saturating_sub(compared);
    plan.changes.reserve_exact(others + prune_changes.len());
    for job in std::mem::take(&mut desired.jobs) {
        let listed = observed.listed.get(&job.job_id).map(|l| &l.status);
        let remote = observed.remote.remove(&job.job_id);
        let found = plan.changes[..compared]
            .binary_search_by(|c| c.resource.name.as_str().cmp(&job.job_id))
            .ok();
        let rollout = job
            .rollout
            .is_some()
            .then(|| rollout_plan(&job, remote.as_deref(), observed.now));
        let mut change = match (listed, remote, found) {
            (None, ..) => create(job, settings, false),
            (Some(JobStatus::DeletionInProgress), ..) => create(job, settings, true),
            (Some(_), Some(remote), _) => compare(job, &remote, settings),
            (Some(_), None, Some(i)) => {
                used[i] = true;
                set_spec(&mut plan.changes[i], job.spec, settings);
                continue;
            }
            // Read failures are reported by refresh, which leaves the job out.
            (Some(_), None, None) => continue,
        };
        if let Some(rollout) = rollout {
            change.rollout = rollout.map(Box::new);
            if change.action == Action::Replace {
                change.blocked =
                    Some("a changed document is a new rollout: give it a new name".into());
            }
        }
        plan.changes.push(change);
    }
    // A comparison whose job was left out after the reads is no part of the plan.
    let mut index = 0;
    plan.changes.retain(|_| {
        index += 1;
        index > compared || used[index - 1]
    });
    plan.changes.extend(prune_changes);
    for job_id in &desired.unread {
        if let Some(listed) = observed.listed.get(job_id) {
            plan.not_compared.push(NotCompared {
                job_id: job_id.clone(),
                status: listed.status.to_string(),
            });
        }
    }
    // Job ids are unique within a plan (the loader drops a duplicate declaration, orphans are
    // undeclared), so an unstable sort gives the stable order, without the scratch space a
    // stable sort of 10,000 changes allocates.
    if !plan.changes.is_sorted_by(|a, b| a.resource <= b.resource) {
        plan.changes
            .sort_unstable_by(|a, b| a.resource.cmp(&b.resource));
    }
    plan.not_compared.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    plan.orphans.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    plan
}

fn create(job: ResolvedJob, settings: &Settings, after_deletion: bool) -> Change {
    let mut change = Change::new(resource_of(&job), Action::Create);
    change.source = Some(job.origin.to_string());
    change.max_failure_rate = job.max_failure_rate;
    // A rollout's job starts with its first stage's targets, and says so in its tags.
    let spec = Box::new(match job.rollout.as_ref().and_then(|r| r.stages.first()) {
        Some(first) => job
            .spec
            .with_targets_at(&first.targets)
            .with_tags(&ownership_tags(&settings.instance))
            .with_tags(&BTreeMap::from([
                (KIND_TAG.to_string(), KIND_ROLLOUT.to_string()),
                (STAGE_TAG.to_string(), first.name.clone()),
            ])),
        None => job.spec.with_tags(&ownership_tags(&settings.instance)),
    });
    let create = Step::CreateJob { spec };
    if after_deletion {
        change.status = Some(JobStatus::DeletionInProgress.to_string());
        change.note = Some(
            "a job with this id is being deleted; it is created once the deletion completes".into(),
        );
        change.steps = vec![Step::WaitForDeletion, create];
    } else {
        change.steps = vec![create];
    }
    change
}

fn compare(job: ResolvedJob, remote: &RemoteJob, settings: &Settings) -> Change {
    let mut change = compare_read(&job, remote, settings);
    set_spec(&mut change, job.spec, settings);
    change
}

/// Whether a declared job can be compared as soon as it is read, keeping only the comparison
/// ([`compare_read`]) rather than the read: not a rollout (its plan reads the job again), and not
/// a job naming its template (the template's ARN is filled in after the reads).
pub fn compared_on_read(job: &ResolvedJob) -> bool {
    job.rollout.is_none() && job.spec.job_template.is_none()
}

/// A declared job's change against its read, without the spec it would send: [`plan_owned`]
/// moves that in. Refresh calls it as each read arrives (see [`compared_on_read`]), so the
/// reads of 10,000 jobs are never all held at once.
pub fn compare_read(job: &ResolvedJob, remote: &RemoteJob, settings: &Settings) -> Change {
    let want = normalized(&job.spec);
    let mut have = normalized(&remote.spec);
    if job.spec.job_template_arn.is_some() {
        inherited_left_out(&want, &mut have);
    }
    let remote_tags: BTreeMap<String, String> = remote
        .spec
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let owner = ownership(&remote_tags, &settings.instance);
    let continuous_running = remote.spec.target_selection == Some(TargetSelection::Continuous)
        && remote.status == JobStatus::InProgress;
    let mut fields = Vec::new();
    let mut added_targets = Vec::new();
    for &field in FIELDS {
        let after = want.get(field).cloned().unwrap_or(Value::Null);
        let before = have.get(field).cloned().unwrap_or(Value::Null);
        if after == before {
            continue;
        }
        // A rollout's stages widen its targets; the rollout machine owns them.
        if field == "targets" && job.rollout.is_some() {
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
            f if JobUpdate::FIELDS.contains(&f) => after.is_null(),
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
    let mut change = Change::new(resource_of(job), Action::Unchanged);
    change.source = Some(job.origin.to_string());
    change.max_failure_rate = job.max_failure_rate;
    change.status = Some(remote.status.to_string());
    change.ownership = Some(owner.clone());
    change.arn = Some(remote.job_arn.clone());
    change.judge(
        &remote.status,
        &remote.spec,
        &remote.progress,
        job.max_failure_rate.unwrap_or(settings.max_failure_rate),
    );
    let finished = remote.status.is_finished();

    if !forced_by.is_empty() {
        change.action = Action::Replace;
        change.forced_by = forced_by;
        // CreateJob follows, with the spec: set_spec adds it.
        change.steps = if finished {
            vec![Step::DeleteJob { force: false }, Step::WaitForDeletion]
        } else {
            vec![
                Step::CancelJob { force: true },
                Step::DeleteJob { force: true },
                Step::WaitForDeletion,
            ]
        };
        if !settings.allow_replace {
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
                settings.instance
            ));
        }
        Ownership::Unmanaged if settings.adopt => {
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
    // An existing job holds what it took from its template at CreateJob; those are its
    // inherited values, whatever the template says now. (Replace shows the template's: reconcile.)
    if let (Action::Update, Some(arn)) = (change.action, job.spec.job_template_arn.as_deref()) {
        change.inherited = Some(Box::new(super::inherit::Inherited::of(
            arn,
            super::inherit::InheritedFrom::Job,
            &job.spec,
            &remote.spec,
        )));
    }
    change
}

/// Gives a compared change the spec it sends: a replacement creates the job again, with
/// jobctl's tags, as the last step. Other changes send no spec, and it is dropped.
fn set_spec(change: &mut Change, spec: ResolvedSpec, settings: &Settings) {
    if change.action == Action::Replace {
        let spec = Box::new(spec.with_tags(&ownership_tags(&settings.instance)));
        change.steps.push(Step::CreateJob { spec });
    }
}

/// A declared job's resource: a rollout's, or a plain job's.
fn resource_of(job: &ResolvedJob) -> ResourceId {
    if job.rollout.is_some() {
        ResourceId::rollout(&job.job_id)
    } else {
        ResourceId::job(&job.job_id)
    }
}

/// Where a declared rollout stands, judged from its job (or the job about to be created).
fn rollout_plan(
    job: &ResolvedJob,
    remote: Option<&RemoteJob>,
    now: Option<i64>,
) -> Option<RolloutPlan> {
    let spec = job.rollout.clone()?;
    let arns = job.spec.target_arns();
    let stage_targets: rollout::StageTargets = spec
        .stages
        .iter()
        .map(|s| {
            s.targets
                .iter()
                .filter_map(|&i| arns.get(i).cloned())
                .collect()
        })
        .collect();
    let first = spec.stages.first()?;
    let Some(remote) = remote else {
        let gate = first
            .gate
            .as_ref()
            .map(rollout::describe_gate)
            .unwrap_or_else(|| "nothing queued or in progress".into());
        let next = match spec.stages.get(1) {
            Some(second) => format!(
                "creates the job with `{}`'s {} target(s); `{}` starts when `{}` holds {gate}",
                first.name,
                first.targets.len(),
                second.name,
                first.name
            ),
            None => format!(
                "creates the job with `{}`'s {} target(s)",
                first.name,
                first.targets.len()
            ),
        };
        return Some(RolloutPlan {
            phase: rollout::Phase::Missing,
            stage: first.name.clone(),
            next,
            halt_due: false,
            disagreements: Vec::new(),
            stages: Vec::new(),
            upcoming: upcoming(&spec, &stage_targets, 0, &BTreeSet::new()),
            spec,
            stage_targets,
        });
    };
    let (targets, tags) = rollout_job_state(remote);
    let created_at = remote.progress.created_at.and_then(epoch);
    let eval = rollout::evaluate(
        &spec,
        &stage_targets,
        &rollout::Observation {
            status: &remote.status,
            targets: &targets,
            details: &remote.progress.details,
            reason_code: remote.progress.reason_code.as_deref(),
            comment: remote.progress.comment.as_deref(),
            tags: &tags,
            created_at,
            now: now.or(created_at).unwrap_or(0),
        },
    );
    let upcoming = match eval.phase {
        rollout::Phase::Halted | rollout::Phase::Complete => Vec::new(),
        _ => upcoming(&spec, &stage_targets, eval.current, &targets),
    };
    Some(RolloutPlan {
        phase: eval.phase,
        stage: spec.stages[eval.current].name.clone(),
        next: eval.summary,
        halt_due: matches!(eval.decision, rollout::Decision::Halt { .. }),
        disagreements: eval.disagreements,
        stages: eval.stages,
        upcoming,
        spec,
        stage_targets,
    })
}

/// Words a plan that changes nothing: a due halt is what would happen, not what happens.
pub fn preview_rollouts(plan: &mut Plan) {
    for change in &mut plan.changes {
        if let Some(rollout) = change.rollout.as_deref_mut().filter(|r| r.halt_due) {
            rollout.next = rollout::would_halt(&rollout.next);
        }
    }
}

/// A rollout's job as AWS holds it: its target ARNs and its tags (the rollout's state).
pub fn rollout_job_state(remote: &RemoteJob) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let targets = remote
        .spec
        .targets
        .iter()
        .filter_map(|t| match t {
            crate::domain::spec::Target::Arn(arn) => Some(arn.clone()),
            _ => None,
        })
        .collect();
    let tags = remote
        .spec
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    (targets, tags)
}

/// The stages after `current`, each with the targets its promotion will add to `on_job`.
fn upcoming(
    spec: &RolloutSpec,
    stage_targets: &rollout::StageTargets,
    current: usize,
    on_job: &BTreeSet<String>,
) -> Vec<UpcomingStage> {
    let mut seen: BTreeSet<&String> = on_job.iter().collect();
    for targets in stage_targets.iter().take(current + 1) {
        seen.extend(targets);
    }
    spec.stages
        .iter()
        .zip(stage_targets)
        .skip(current + 1)
        .map(|(stage, targets)| UpcomingStage {
            name: stage.name.clone(),
            adds: targets
                .iter()
                .filter(|t| seen.insert(*t))
                .cloned()
                .collect(),
        })
        .collect()
}

/// Seconds since the Unix epoch.
pub fn epoch(time: std::time::SystemTime) -> Option<i64> {
    time.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

/// What a job template can hand down to a job (CreateJob takes the template's value where the
/// job gives none). `schedulingConfig.maintenanceWindows` is handled apart.
pub(crate) const INHERITABLE: &[&str] = &[
    "description",
    "document",
    "documentSource",
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "jobExecutionsRetryConfig",
    "destinationPackageVersions",
];

/// A job created from a template has, in the account, the template's values for what its
/// manifest leaves out (`jobctl export` leaves them out on purpose). Without reading the
/// template, such a value cannot be told from drift, so it is not compared; a value the
/// manifest does give is compared as usual.
fn inherited_left_out(want: &Map<String, Value>, have: &mut Map<String, Value>) {
    for field in INHERITABLE {
        if !want.contains_key(*field) {
            have.remove(*field);
        }
    }
    let wants_windows = want
        .get("schedulingConfig")
        .and_then(|s| s.get("maintenanceWindows"))
        .is_some();
    if !wants_windows {
        if let Some(Value::Object(scheduling)) = have.get_mut("schedulingConfig") {
            scheduling.remove("maintenanceWindows");
            if scheduling.is_empty() {
                have.remove("schedulingConfig");
            }
        }
    }
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
        .filter(|f| JobUpdate::FIELDS.contains(f))
        .collect();
    if !updatable.is_empty() {
        let update = Box::new(JobUpdate::from_spec(spec, &updatable));
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
    settings: &Settings,
    desired: &Desired,
) {
    let mut candidates: Vec<(&String, &JobSummary)> = observed
        .listed
        .iter()
        .filter(|(id, _)| !declared.contains(id.as_str()))
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(b.0));
    let wants_prune = settings.prune || settings.prune_delete;
    if wants_prune {
        if let Some(reason) = &desired.incomplete {
            plan.notes
                .push(format!("prune is off for this run: {reason}"));
        }
    }
    // The jobs the prune flags act on, before any guard: the number the plan always reports.
    let mut prunable = Vec::new();
    for (job_id, summary) in candidates {
        let Some(tags) = observed.undeclared_tags.get(job_id) else {
            continue;
        };
        if ownership(tags, &settings.instance) != Ownership::Managed {
            continue;
        }
        let active = summary.status.is_active();
        let finished = summary.status.is_finished();
        if (active && settings.prune) || (finished && settings.prune_delete) {
            prunable.push((job_id, summary));
        } else if active || finished {
            plan.orphans
                .push(orphan(job_id, summary, observed, settings));
        }
    }
    plan.prune = PruneSummary {
        requested: wants_prune,
        would_prune: prunable.len(),
        max_prune: settings.max_prune,
        ..PruneSummary::default()
    };
    if let Some(reason) = &desired.incomplete {
        if wants_prune {
            plan.prune.refused = Some(reason.clone());
        }
        plan.orphans.extend(
            prunable
                .into_iter()
                .map(|(job_id, summary)| orphan(job_id, summary, observed, settings)),
        );
        return;
    }
    if prunable.is_empty() {
        return;
    }
    // The guards block the prune changes rather than drop them: the plan shows what would go,
    // apply refuses the whole run (nothing changes), and the daemon applies the rest and
    // reports the prune as blocked.
    let refused = prune_refusal(prunable.len(), settings, desired);
    for (job_id, summary) in prunable {
        let mut change = if summary.status.is_active() {
            let mut c = Change::new(ResourceId::job(job_id), Action::Cancel);
            c.steps = vec![Step::CancelJob {
                force: settings.prune_force,
            }];
            c.note = Some(if settings.prune_force {
                "no manifest declares it; cancelled with force, including executions in progress on devices".into()
            } else {
                "no manifest declares it; queued executions are cancelled, executions in progress on devices finish".into()
            });
            c
        } else {
            let mut c = Change::new(ResourceId::job(job_id), Action::Delete);
            // Waiting keeps this run within AWS's 10 deletions in progress.
            c.steps = vec![Step::DeleteJob { force: false }, Step::WaitForDeletion];
            c.note = Some("no manifest declares it; the finished job is deleted".into());
            c
        };
        change.status = Some(summary.status.to_string());
        change.ownership = Some(Ownership::Managed);
        change.arn = Some(summary.job_arn.clone());
        change.blocked.clone_from(&refused);
        if let Some((status, spec, progress)) = observed.undeclared.get(job_id) {
            change.judge(status, spec, progress, settings.max_failure_rate);
        }
        plan.changes.push(change);
    }
    plan.prune.refused = refused;
}

/// A job of this instance that no manifest declares and this run leaves alone, with its health
/// when it was read.
fn orphan(job_id: &str, summary: &JobSummary, observed: &Observed, settings: &Settings) -> Orphan {
    let mut orphan = Orphan {
        job_id: job_id.to_string(),
        status: summary.status.to_string(),
        health: None,
        job_process_details: None,
    };
    if let Some((status, spec, progress)) = observed.undeclared.get(job_id) {
        let details = &progress.details;
        orphan.health = Some(health::of_job(
            status,
            spec,
            progress,
            settings.max_failure_rate,
        ));
        orphan.job_process_details = Some(details.clone());
    }
    orphan
}

/// Why a prune of `count` jobs must not run: an empty root without `--allow-empty` (Argo CD's
/// `allowEmpty`), or more jobs than `--max-prune` allows.
fn prune_refusal(count: usize, settings: &Settings, desired: &Desired) -> Option<String> {
    if let Some(reason) = empty_root_refusal(settings, desired) {
        return Some(reason);
    }
    match settings.max_prune {
        Some(max) if count > max => Some(format!(
            "this run would prune {count} jobs, more than --max-prune {max} allows"
        )),
        _ => None,
    }
}

fn empty_root_refusal(settings: &Settings, desired: &Desired) -> Option<String> {
    if settings.allow_empty || desired.empty_roots.is_empty() {
        return None;
    }
    let roots = desired.empty_roots.join(", ");
    Some(format!(
        "{roots} declares no job (no Job or Rollout manifest), and jobctl never prunes from such a root; pass --allow-empty if it is meant to be so"
    ))
}

/// Counts the job templates this run prunes (`Delete` changes of `JobTemplate` resources, planned
/// after the jobs) into the prune summary, and applies the prune guards to the total: an empty
/// root without `--allow-empty`, or more jobs and templates together than `--max-prune`,
/// blocks every prune change, the jobs' and the templates'.
pub fn count_pruned_templates(plan: &mut Plan, settings: &Settings, desired: &Desired) {
    let templates = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.resource.kind == Kind::JobTemplate)
        .count();
    if templates == 0 {
        return;
    }
    let jobs = plan.prune.would_prune;
    let total = jobs + templates;
    plan.prune.would_prune = total;
    plan.prune.would_prune_templates = templates;
    // Recounted with the templates: a refusal for the jobs alone holds for the total too.
    let refused = empty_root_refusal(settings, desired).or_else(|| match settings.max_prune {
        Some(max) if total > max => Some(format!(
            "this run would prune {total} ({jobs} job(s), {templates} job template(s)), more than --max-prune {max} allows"
        )),
        _ => None,
    });
    let Some(reason) = refused else { return };
    for change in &mut plan.changes {
        if matches!(change.action, Action::Cancel | Action::Delete) {
            change.blocked = Some(reason.clone());
        }
    }
    plan.prune.refused = Some(reason);
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

/// Whether plan compares a declared job in this status by default (active jobs only: finished
/// ones cannot change in place, and describing years of history would cost a call per job).
pub fn compared_by_default(status: &JobStatus) -> bool {
    !status.is_finished() && *status != JobStatus::DeletionInProgress
}

#[cfg(test)]
mod tests;
