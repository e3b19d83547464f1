//! Executing a [`Plan`] through [`JobsApi`]: concurrent, isolated per job, and honest about what
//! happened to each one.
//!
//! Apply makes no decisions of its own beyond the one the API forces on it: when CreateJob says
//! the job already exists (another apply won the race), the existing job is read back and
//! compared, and it counts as done only if it matches the manifest.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::aws::{self, ApiError, ErrorKind, JobsApi};
use crate::manifest::model::JobSpec;
use crate::manifest::{DesiredJob, Origin};
use crate::plan::{self, Action, Change, Plan};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Created {
        arn: String,
    },
    /// CreateJob lost a race to an identical job; nothing left to do.
    AlreadyExists,
    /// The plan asked for something this version of apply does not do to existing jobs.
    Skipped {
        reason: String,
    },
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
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl JobResult {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed { .. })
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub results: Vec<JobResult>,
}

impl ApplyReport {
    pub fn failures(&self) -> impl Iterator<Item = &JobResult> {
        self.results.iter().filter(|r| r.failed())
    }
}

/// Applies the plan's changes. `on_result` sees each job as it finishes (progress output).
pub async fn apply(
    api: &dyn JobsApi,
    plan: &Plan,
    parallelism: usize,
    on_result: &(dyn Fn(&JobResult) + Sync),
) -> ApplyReport {
    let work: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .collect();
    let mut results: Vec<JobResult> = stream::iter(work)
        .map(|change| async move {
            let result = apply_one(api, change).await;
            on_result(&result);
            result
        })
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    ApplyReport { results }
}

async fn apply_one(api: &dyn JobsApi, change: &Change) -> JobResult {
    let outcome = match (change.action, &change.desired) {
        (Action::Create, Some(spec)) => create(api, &change.job_id, spec).await,
        (Action::Create, None) => Outcome::Skipped {
            reason: "the plan carries no spec for this job".into(),
        },
        (action, _) => Outcome::Skipped {
            reason: format!(
                "jobctl does not {} existing jobs yet; the job was left as it is",
                action.as_str()
            ),
        },
    };
    JobResult {
        job_id: change.job_id.clone(),
        action: change.action,
        outcome,
    }
}

async fn create(api: &dyn JobsApi, job_id: &str, spec: &JobSpec) -> Outcome {
    match api.create_job(job_id, spec).await {
        Ok(arn) => Outcome::Created { arn },
        Err(err) if err.kind == ErrorKind::AlreadyExists => {
            match aws::read_job(api, job_id).await {
                Ok(Some(remote)) => {
                    let desired = DesiredJob {
                        job_id: job_id.to_string(),
                        spec: spec.clone(),
                        origin: Origin {
                            file: String::new(),
                            line: 0,
                            col: 0,
                        },
                    };
                    let actual = HashMap::from([(job_id.to_string(), remote)]);
                    let again = plan::plan(&[desired], &actual);
                    match again.changes.first() {
                    Some(c) if c.action == Action::Unchanged => Outcome::AlreadyExists,
                    Some(c) => Outcome::Failed {
                        operation: "CreateJob".into(),
                        code: err.code.clone(),
                        message: format!(
                            "a job with this id was created concurrently and differs from the manifest in: {}",
                            c.fields.iter().map(|f| f.field).collect::<Vec<_>>().join(", ")
                        ),
                    },
                    None => failed(&err),
                }
                }
                Ok(None) => failed(&err),
                Err(read_err) => failed(&read_err),
            }
        }
        Err(err) => failed(&err),
    }
}

fn failed(err: &ApiError) -> Outcome {
    Outcome::Failed {
        operation: err.operation.to_string(),
        code: err.code.clone(),
        message: err.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeJobs;
    use crate::aws::JobStatus;
    use serde_json::json;

    fn spec(version: &str) -> JobSpec {
        serde_json::from_value(json!({
            "targets": ["arn:aws:iot:us-east-1:123456789012:thing/pi"],
            "document": {"version": version}
        }))
        .expect("spec")
    }

    fn create_plan(ids: &[&str], version: &str) -> Plan {
        let desired: Vec<DesiredJob> = ids
            .iter()
            .map(|id| DesiredJob {
                job_id: (*id).into(),
                spec: spec(version),
                origin: Origin {
                    file: "a.yaml".into(),
                    line: 1,
                    col: 1,
                },
            })
            .collect();
        plan::plan(&desired, &HashMap::new())
    }

    #[tokio::test]
    async fn one_failure_does_not_stop_the_others() {
        let api = FakeJobs::new();
        api.fail_once("CreateJob", "b", "InvalidRequestException");
        let report = apply(&api, &create_plan(&["a", "b", "c"], "1"), 2, &|_| {}).await;
        let failed: Vec<_> = report.failures().map(|r| r.job_id.as_str()).collect();
        assert_eq!(failed, vec!["b"]);
        assert!(api.job("a").is_some() && api.job("c").is_some());
        assert!(api.job("b").is_none());
    }

    #[tokio::test]
    async fn losing_a_race_to_an_identical_job_is_success() {
        let api = FakeJobs::new();
        api.insert_job("a", JobStatus::InProgress, spec("1"));
        let report = apply(&api, &create_plan(&["a"], "1"), 1, &|_| {}).await;
        assert_eq!(report.results[0].outcome, Outcome::AlreadyExists);
    }

    #[tokio::test]
    async fn losing_a_race_to_a_different_job_is_a_failure() {
        let api = FakeJobs::new();
        api.insert_job("a", JobStatus::InProgress, spec("2"));
        let report = apply(&api, &create_plan(&["a"], "1"), 1, &|_| {}).await;
        match &report.results[0].outcome {
            Outcome::Failed { message, .. } => assert!(message.contains("document"), "{message}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
