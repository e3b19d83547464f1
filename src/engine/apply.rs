//! Executing a [`Plan`] through [`JobsApi`]: concurrent, isolated per job, and honest about what
//! happened to each one.
//!
//! Apply makes no decisions of its own: it runs each change's steps in order and skips blocked
//! changes. The one judgement the API forces on it is a lost create race: when CreateJob says the
//! job already exists, the existing job is read back, and the create counts as done only if that
//! job matches the manifest and belongs to this instance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::plan::{self, Action, Change, Desired, Plan, Step};
use super::{templates, Settings};
use crate::aws::{self, ApiError, ErrorKind, JobsApi};
use crate::domain::ownership::ownership_tags;
use crate::domain::{JobSummary, Origin, ResolvedJob, ResolvedSpec};

/// AWS allows at most 10 jobs in DELETION_IN_PROGRESS per account.
pub const MAX_DELETIONS_IN_FLIGHT: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every step succeeded.
    Done,
    /// CreateJob lost a race to an identical job of this instance; nothing left to do.
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
    pub job_id: String,
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
    /// Set on shutdown: changes not yet started are skipped; changes under way finish.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            deletion_poll: Duration::from_secs(2),
            deletion_timeout: Duration::from_secs(15 * 60),
            stop: None,
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
                let stopping = options
                    .stop
                    .as_ref()
                    .is_some_and(|s| s.load(Ordering::SeqCst));
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
                    job_id = %change.job_id,
                    action = change.action.as_str(),
                    operation,
                    duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    outcome = outcome_name,
                    "job applied"
                );
                let result = JobResult {
                    job_id: change.job_id.clone(),
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
    results.sort_by(|a, b| a.job_id.cmp(&b.job_id));
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
    let mut deletion_permit = None;
    for step in &change.steps {
        let result = match step {
            Step::Adopt => {
                let _span = tracing::info_span!("adopt", job.id = %change.job_id).entered();
                api.tag_resource(&arn, &ownership_tags(&settings.instance))
                    .await
            }
            Step::UpdateJob { update, .. } => api.update_job(&change.job_id, update).await,
            Step::TagResource { tags } => api.tag_resource(&arn, tags).await,
            Step::UntagResource { keys } => api.untag_resource(&arn, keys).await,
            Step::AssociateTargetsWithJob { targets } => {
                api.associate_targets(&change.job_id, targets).await
            }
            Step::CancelJob { force } => {
                let comment = match change.action {
                    Action::Replace => "replaced by jobctl: the manifest changed",
                    _ => "pruned by jobctl: no manifest declares this job",
                };
                api.cancel_job(&change.job_id, *force, comment).await
            }
            Step::DeleteJob { force } => {
                // The permit is held until the deletion has completed (WaitForDeletion), so no
                // more than 10 jobs are ever in DELETION_IN_PROGRESS because of this run.
                deletion_permit = deletions.acquire().await.ok();
                api.delete_job(&change.job_id, *force).await
            }
            Step::WaitForDeletion => {
                let _permit = match deletion_permit.take() {
                    Some(permit) => Some(permit),
                    None => deletions.acquire().await.ok(),
                };
                wait_for_deletion(api, &change.job_id, options).await
            }
            Step::DeleteJobTemplate => {
                let name = templates::template_name(&change.job_id).unwrap_or_default();
                api.delete_job_template(name).await
            }
            Step::CreateJobTemplate => {
                let name = templates::template_name(&change.job_id).unwrap_or_default();
                return match &change.template {
                    Some(spec) => match api.create_job_template(name, spec).await {
                        Ok(arn) => (Outcome::Done, Some(arn).filter(|a| !a.is_empty())),
                        Err(err) => (failed(&err), change.arn.clone()),
                    },
                    None => (
                        Outcome::Skipped {
                            reason: "the plan carries no spec for this job template".into(),
                        },
                        None,
                    ),
                };
            }
            Step::CreateJob => {
                return match &change.desired {
                    Some(spec) => create(api, &change.job_id, spec, &settings.instance).await,
                    None => (
                        Outcome::Skipped {
                            reason: "the plan carries no spec for this job".into(),
                        },
                        None,
                    ),
                };
            }
        };
        tracing::debug!(job_id = %change.job_id, action = change.action.as_str(), operation = step.name(), ok = result.is_ok(), "step");
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

async fn create(
    api: &dyn JobsApi,
    job_id: &str,
    spec: &ResolvedSpec,
    instance: &str,
) -> (Outcome, Option<String>) {
    match api.create_job(job_id, spec).await {
        Ok(arn) => (Outcome::Done, Some(arn).filter(|a| !a.is_empty())),
        Err(err) if err.kind == ErrorKind::AlreadyExists => {
            match aws::read_job(api, job_id).await {
                Ok(Some(remote)) => {
                    let arn = Some(remote.job_arn.clone());
                    // Another driver created the same rollout a moment ago (and may have
                    // widened it already): the rollout machine takes it from here.
                    let tag = |key: &str| remote.spec.tags.get(key).map(|v| v.0.as_str());
                    let is_rollout = spec.tags.contains_key(crate::domain::rollout::KIND_TAG)
                        && tag(crate::domain::rollout::KIND_TAG)
                            == Some(crate::domain::rollout::KIND_ROLLOUT)
                        && tag(crate::domain::ownership::INSTANCE_TAG) == Some(instance)
                        && tag(crate::domain::ownership::MANAGED_BY_TAG)
                            == Some(crate::domain::ownership::MANAGED_BY_VALUE);
                    if is_rollout {
                        return (Outcome::AlreadyExists, arn);
                    }
                    let desired = Desired {
                        jobs: vec![ResolvedJob {
                            job_id: job_id.to_string(),
                            spec: spec.clone(),
                            origin: Origin::default(),
                            max_failure_rate: None,
                            rollout: None,
                        }],
                        ..Desired::default()
                    };
                    let observed = plan::Observed {
                        listed: HashMap::from([(
                            job_id.to_string(),
                            JobSummary {
                                job_id: job_id.to_string(),
                                job_arn: remote.job_arn.clone(),
                                status: remote.status.clone(),
                                completed_at: None,
                                last_updated_at: None,
                            },
                        )]),
                        remote: HashMap::from([(job_id.to_string(), Box::new(remote))]),
                        compared: Vec::new(),
                        undeclared_tags: HashMap::new(),
                        undeclared: HashMap::new(),
                        now: None,
                    };
                    let settings = Settings {
                        instance: instance.to_string(),
                        ..Settings::default()
                    };
                    let again = plan::plan(&desired, &observed, &settings);
                    let outcome = match again.changes.first() {
                        Some(c) if c.action == Action::Unchanged && c.blocked.is_none() => {
                            Outcome::AlreadyExists
                        }
                        Some(c) => Outcome::Failed {
                            operation: "CreateJob".into(),
                            code: err.code.clone(),
                            message: if c.fields.is_empty() {
                                format!(
                                    "a job with this id already exists: {}",
                                    c.blocked.as_deref().unwrap_or("it is not this instance's")
                                )
                            } else {
                                format!(
                                    "a job with this id was created concurrently and differs from the manifest in: {}",
                                    c.fields.iter().map(|f| f.field).collect::<Vec<_>>().join(", ")
                                )
                            },
                        },
                        None => failed(&err),
                    };
                    (outcome, arn)
                }
                Ok(None) => (failed(&err), None),
                Err(read_err) => (failed(&read_err), None),
            }
        }
        Err(err) => (failed(&err), None),
    }
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
    use crate::domain::{DesiredJob, JobStatus};
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
            stop: None,
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
            .map(|r| r.job_id.as_str())
            .collect();
        assert_eq!(failed, vec!["b"]);
        assert!(api.job("a").is_some() && api.job("c").is_some() && api.job("b").is_none());
        let tags = api.job("a").expect("created").tags;
        assert_eq!(tags.get(INSTANCE_TAG), Some(&TagValue("prod".into())));
    }

    #[tokio::test]
    async fn losing_a_race_to_an_identical_job_is_success() {
        let api = FakeJobs::new();
        let plan = planned(&api, &["a"], "1", prod()).await;
        api.insert_job("a", JobStatus::InProgress, owned("1"));
        let results = apply(&api, &plan).await;
        assert_eq!(results[0].outcome, Outcome::AlreadyExists);
    }

    #[tokio::test]
    async fn losing_a_race_to_a_different_job_is_a_failure() {
        let api = FakeJobs::new();
        let plan = planned(&api, &["a"], "1", prod()).await;
        api.insert_job("a", JobStatus::InProgress, owned("2"));
        let results = apply(&api, &plan).await;
        match &results[0].outcome {
            Outcome::Failed { message, .. } => assert!(message.contains("document"), "{message}"),
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
