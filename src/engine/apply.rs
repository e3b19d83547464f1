//! Executing a [`Plan`] through [`JobsApi`]: concurrent, isolated per job, and honest about what
//! happened to each one.
//!
//! Apply makes no decisions of its own and never plans: it runs each change's steps in order
//! and skips blocked changes. A lost create race (CreateJob's 409) is a typed outcome: the job
//! is read once for its owner, and the next pass compares it like any other.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::plan::{Action, Change, Plan, Step};
use super::{templates, Settings};
use crate::aws::{self, ApiError, ErrorKind, JobsApi};
use crate::domain::ownership::{ownership, ownership_tags, Ownership};
use crate::domain::{ResolvedSpec, ResourceId};
use crate::shutdown::Shutdown;

/// AWS allows at most 10 jobs in DELETION_IN_PROGRESS per account.
pub const MAX_DELETIONS_IN_FLIGHT: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step succeeded.
    Done,
    /// CreateJob lost a race to a job of this instance (another driver created it a moment
    /// ago); the next pass reads and compares it.
    AlreadyExists,
    /// The change was blocked by the plan and not attempted.
    Skipped { reason: String },
    /// A step failed; the steps before it took effect, the ones after did not run.
    Failed {
        operation: String,
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    /// The job, rollout or template (`kind` and its name in JSON).
    #[serde(flatten)]
    pub resource: ResourceId,
    pub action: Action,
    /// The job's ARN: the one CreateJob returned, or the existing job's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_arn: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl JobResult {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed { .. })
    }
}

/// How apply behaves at run time, beyond the [`Settings`] it shares with plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How often to poll a deletion, and for how long at most.
    pub deletion_poll: Duration,
    pub deletion_timeout: Duration,
    /// The first Ctrl-C or SIGTERM: changes not yet started are skipped; changes under way
    /// finish.
    pub stop: Shutdown,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            deletion_poll: Duration::from_secs(2),
            deletion_timeout: Duration::from_secs(15 * 60),
            stop: Shutdown::never(),
        }
    }
}

/// Applies the plan's unblocked changes, and returns one result per job that had something to
/// do, sorted by job id. `on_result` sees each job as it finishes (progress).
pub async fn apply(
    api: &dyn JobsApi,
    plan: &Plan,
    settings: &Settings,
    options: &ApplyOptions,
    on_result: &(dyn Fn(&JobResult) + Sync),
) -> Vec<JobResult> {
    let deletions = Semaphore::new(MAX_DELETIONS_IN_FLIGHT);
    let deletions = &deletions;
    let mut results: Vec<JobResult> = Vec::new();
    // Templates jobs may use first, then jobs, then the templates pruned after their jobs.
    for phase in 0..=2 {
        let work: Vec<&Change> = plan
            .changes_to_apply()
            .filter(|c| templates::phase(c) == phase)
            .collect();
        let part: Vec<JobResult> = stream::iter(work)
            .map(|change| async move {
                let stopping = options.stop.requested();
                let started = std::time::Instant::now();
                let (outcome, job_arn) = match &change.blocked {
                    Some(reason) => (
                        Outcome::Skipped {
                            reason: reason.clone(),
                        },
                        change.arn.clone(),
                    ),
                    None if stopping => (
                        Outcome::Skipped {
                            reason: "jobctl is shutting down".into(),
                        },
                        change.arn.clone(),
                    ),
                    None => run_steps(api, change, settings, options, deletions).await,
                };
                let (outcome_name, operation) = match &outcome {
                    Outcome::Done => ("done", ""),
                    Outcome::AlreadyExists => ("already_exists", "CreateJob"),
                    Outcome::Skipped { .. } => ("skipped", ""),
                    Outcome::Failed { operation, .. } => ("failed", operation.as_str()),
                };
                tracing::info!(
                    resource = %change.resource,
                    action = change.action.as_str(),
                    operation,
                    duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    outcome = outcome_name,
                    "job applied"
                );
                let result = JobResult {
                    resource: change.resource.clone(),
                    action: change.action,
                    job_arn,
                    outcome,
                };
                on_result(&result);
                result
            })
            .buffer_unordered(settings.parallelism.max(1))
            .collect()
            .await;
        results.extend(part);
    }
    results.sort_by(|a, b| a.resource.cmp(&b.resource));
    results
}

/// Runs a change's steps; the outcome, and the job's ARN (a created job's is new).
async fn run_steps(
    api: &dyn JobsApi,
    change: &Change,
    settings: &Settings,
    options: &ApplyOptions,
    deletions: &Semaphore,
) -> (Outcome, Option<String>) {
    let arn = change.arn.clone().unwrap_or_default();
    // The resource's id for its kind's API: a job id, or a template id. Each kind's planner
    // gives it only the steps its API has.
    let name = change.resource.name.as_str();
    let mut deletion_permit = None;
    for step in &change.steps {
        let result = match step {
            Step::Adopt => {
                let _span = tracing::info_span!("adopt", resource = %change.resource).entered();
                api.tag_resource(&arn, &ownership_tags(&settings.instance))
                    .await
            }
            Step::UpdateJob { update, .. } => api.update_job(name, update).await,
            Step::TagResource { tags } => api.tag_resource(&arn, tags).await,
            Step::UntagResource { keys } => api.untag_resource(&arn, keys).await,
            Step::AssociateTargetsWithJob { targets } => api.associate_targets(name, targets).await,
            Step::CancelJob { force } => {
                let comment = match change.action {
                    Action::Replace => "replaced by jobctl: the manifest changed",
                    _ => "pruned by jobctl: no manifest declares this job",
                };
                api.cancel_job(name, *force, comment).await
            }
            Step::DeleteJob { force } => {
                // The permit is held until the deletion has completed (WaitForDeletion), so no
                // more than 10 jobs are ever in DELETION_IN_PROGRESS because of this run.
                deletion_permit = deletions.acquire().await.ok();
                api.delete_job(name, *force).await
            }
            Step::WaitForDeletion => {
                let _permit = match deletion_permit.take() {
                    Some(permit) => Some(permit),
                    None => deletions.acquire().await.ok(),
                };
                wait_for_deletion(api, name, options).await
            }
            Step::DeleteJobTemplate => api.delete_job_template(name).await,
            Step::CreateJobTemplate { template } => {
                return match api.create_job_template(name, template).await {
                    Ok(arn) => (Outcome::Done, Some(arn).filter(|a| !a.is_empty())),
                    Err(err) => (failed(&err), change.arn.clone()),
                };
            }
            Step::CreateJob { spec } => {
                return create(api, name, spec, &settings.instance).await;
            }
        };
        tracing::debug!(resource = %change.resource, action = change.action.as_str(), operation = step.name(), ok = result.is_ok(), "step");
        if let Err(err) = result {
            return (failed(&err), change.arn.clone());
        }
    }
    drop(deletion_permit);
    (Outcome::Done, change.arn.clone())
}

async fn wait_for_deletion(
    api: &dyn JobsApi,
    job_id: &str,
    options: &ApplyOptions,
) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + options.deletion_timeout;
    loop {
        if api.describe_job(job_id).await?.is_none() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError {
                operation: "DescribeJob",
                kind: ErrorKind::Other,
                code: "DeletionTimeout".into(),
                message: format!(
                    "the job was still being deleted after {}s",
                    options.deletion_timeout.as_secs()
                ),
                request_id: None,
                endpoint: None,
            });
        }
        tokio::time::sleep(options.deletion_poll).await;
    }
}

/// CreateJob. A 409 is not planned again here: the job another driver created is read once,
/// for its owner. This instance's job counts as [`Outcome::AlreadyExists`] (the next pass reads
/// and compares it, as any other); anybody else's is a failure that names the owner.
async fn create(
    api: &dyn JobsApi,
    job_id: &str,
    spec: &ResolvedSpec,
    instance: &str,
) -> (Outcome, Option<String>) {
    let err = match api.create_job(job_id, spec).await {
        Ok(arn) => return (Outcome::Done, Some(arn).filter(|a| !a.is_empty())),
        Err(err) if err.kind == ErrorKind::AlreadyExists => err,
        Err(err) => return (failed(&err), None),
    };
    let remote = match aws::read_job(api, job_id).await {
        Ok(Some(remote)) => remote,
        Ok(None) => return (failed(&err), None),
        Err(read_err) => return (failed(&read_err), None),
    };
    let tags: std::collections::BTreeMap<String, String> = remote
        .spec
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    let arn = Some(remote.job_arn);
    let owner = match ownership(&tags, instance) {
        Ownership::Managed => return (Outcome::AlreadyExists, arn),
        Ownership::OtherInstance(other) => format!("jobctl instance `{other}`"),
        Ownership::Unmanaged => "someone other than jobctl".to_string(),
    };
    let outcome = Outcome::Failed {
        operation: "CreateJob".into(),
        code: err.code.clone(),
        message: format!("a job with this id was created concurrently, by {owner}"),
    };
    (outcome, arn)
}

fn failed(err: &ApiError) -> Outcome {
    Outcome::Failed {
        operation: err.operation.to_string(),
        code: err.code.clone(),
        message: err.detail(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeJobs;
    use crate::domain::ownership::INSTANCE_TAG;
    use crate::domain::spec::{JobSpec, TagValue};
    use crate::domain::{DesiredJob, JobStatus, Origin};
    use crate::engine::plan;
    use serde_json::json;

    fn spec(version: &str) -> JobSpec {
        serde_json::from_value(json!({
            "targets": ["arn:aws:iot:us-east-1:123456789012:thing/pi"],
            "document": {"version": version}
        }))
        .expect("spec")
    }

    fn owned(version: &str) -> JobSpec {
        let mut s = spec(version);
        for (k, v) in ownership_tags("prod") {
            s.tags.insert(k, TagValue(v));
        }
        s
    }

    fn options() -> ApplyOptions {
        ApplyOptions {
            deletion_poll: Duration::from_millis(1),
            deletion_timeout: Duration::from_secs(1),
            stop: Shutdown::never(),
        }
    }

    async fn apply(api: &FakeJobs, plan: &Plan) -> Vec<JobResult> {
        super::apply(api, plan, &prod(), &options(), &|_| {}).await
    }

    async fn planned(api: &FakeJobs, ids: &[&str], version: &str, settings: Settings) -> Plan {
        let desired: Vec<DesiredJob> = ids
            .iter()
            .map(|id| DesiredJob {
                job_id: (*id).into(),
                spec: Box::new(spec(version)),
                origin: Origin {
                    file: "a.yaml".into(),
                    line: 1,
                    col: 1,
                },
                max_failure_rate: None,
                rollout: None,
                key_origins: Default::default(),
            })
            .collect();
        let refreshed = crate::engine::refresh::refresh(api, desired, &settings)
            .await
            .expect("the fake account is readable");
        assert!(refreshed.errors.is_empty(), "{:?}", refreshed.errors);
        plan::plan(&refreshed.desired, &refreshed.observed, &settings)
    }

    fn prod() -> Settings {
        Settings {
            instance: "prod".into(),
            parallelism: 2,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn one_failure_does_not_stop_the_others() {
        let api = FakeJobs::new();
        api.fail_once("CreateJob", "b", "InvalidRequestException");
        let plan = planned(&api, &["a", "b", "c"], "1", prod()).await;
        let results = apply(&api, &plan).await;
        let failed: Vec<_> = results
            .iter()
            .filter(|r| r.failed())
            .map(|r| r.resource.name.as_str())
            .collect();
        assert_eq!(failed, vec!["b"]);
        assert!(api.job("a").is_some() && api.job("c").is_some() && api.job("b").is_none());
        let tags = api.job("a").expect("created").tags;
        assert_eq!(tags.get(INSTANCE_TAG), Some(&TagValue("prod".into())));
    }

    #[tokio::test]
    async fn losing_a_race_to_a_job_of_this_instance_is_left_to_the_next_pass() {
        let api = FakeJobs::new();
        let plan = planned(&api, &["a"], "1", prod()).await;
        api.insert_job("a", JobStatus::InProgress, owned("1"));
        let results = apply(&api, &plan).await;
        assert_eq!(results[0].outcome, Outcome::AlreadyExists);
    }

    #[tokio::test]
    async fn losing_a_race_to_another_owners_job_is_a_failure() {
        let api = FakeJobs::new();
        let plan = planned(&api, &["a"], "1", prod()).await;
        api.insert_job("a", JobStatus::InProgress, spec("1"));
        let results = apply(&api, &plan).await;
        match &results[0].outcome {
            Outcome::Failed { message, .. } => {
                assert!(message.contains("someone other than jobctl"), "{message}")
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn replacement_cancels_deletes_waits_then_creates() {
        let api = FakeJobs::new();
        api.insert_job("a", JobStatus::InProgress, owned("1"));
        let opts = Settings {
            allow_replace: true,
            ..prod()
        };
        let plan = planned(&api, &["a"], "2", opts).await;
        let results = apply(&api, &plan).await;
        assert_eq!(results[0].outcome, Outcome::Done);
        assert_eq!(
            api.writes(),
            vec!["CancelJob a", "DeleteJob a", "CreateJob a"]
        );
        assert_eq!(
            api.job("a").expect("recreated").document,
            Some(json!({"version": "2"}))
        );
    }

    #[tokio::test]
    async fn blocked_changes_are_not_attempted() {
        let api = FakeJobs::new();
        api.insert_job("a", JobStatus::InProgress, owned("1"));
        let plan = planned(&api, &["a"], "2", prod()).await;
        let results = apply(&api, &plan).await;
        assert!(matches!(results[0].outcome, Outcome::Skipped { .. }));
        assert!(api.writes().is_empty(), "{:?}", api.writes());
    }

    #[tokio::test]
    async fn prune_cancels_only_orphans_of_this_instance() {
        let api = FakeJobs::new();
        api.insert_job("mine", JobStatus::InProgress, owned("1"));
        api.insert_job("hand-made", JobStatus::InProgress, spec("1"));
        let mut theirs = spec("1");
        for (k, v) in ownership_tags("staging") {
            theirs.tags.insert(k, TagValue(v));
        }
        api.insert_job("theirs", JobStatus::InProgress, theirs);
        let opts = Settings {
            prune: true,
            prune_force: true,
            ..prod()
        };
        let plan = planned(&api, &[], "1", opts).await;
        let results = apply(&api, &plan).await;
        assert_eq!(results.len(), 1);
        assert_eq!(api.writes(), vec!["CancelJob mine"]);
        assert_eq!(api.status("mine"), Some(JobStatus::Canceled));
        assert_eq!(api.status("hand-made"), Some(JobStatus::InProgress));
        assert_eq!(api.status("theirs"), Some(JobStatus::InProgress));
    }
}
