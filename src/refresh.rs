//! Reading the account for a plan: resolving target names to ARNs and fetching each declared job.
//!
//! Calls run concurrently up to `parallelism`; the API layer paces them per operation. A failure
//! is attached to its job, never fatal to the others, so a plan shows everything it could learn.

use std::collections::{BTreeSet, HashMap};

use futures::stream::{self, StreamExt};

use crate::aws::{self, ApiError, JobsApi, RemoteJob};
use crate::manifest::model::Target;
use crate::manifest::DesiredJob;

/// A job that could not be planned, with the reason.
#[derive(Debug, Clone)]
pub struct JobError {
    pub job_id: String,
    pub source: Option<String>,
    pub message: String,
    pub api: Option<ApiError>,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job `{}`: {}", self.job_id, self.message)
    }
}

/// The account as far as the declared jobs are concerned.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// Declared jobs with their targets resolved to ARNs.
    pub desired: Vec<DesiredJob>,
    /// The declared jobs that exist in the account.
    pub actual: HashMap<String, RemoteJob>,
    pub errors: Vec<JobError>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NameRef {
    Thing(String),
    Group(String),
}

/// Resolves targets and reads the remote state of every declared job.
pub async fn refresh(api: &dyn JobsApi, jobs: Vec<DesiredJob>, parallelism: usize) -> Refreshed {
    let parallelism = parallelism.max(1);
    let names: BTreeSet<NameRef> = jobs
        .iter()
        .flat_map(|j| j.spec.targets.iter())
        .filter_map(|t| match t {
            Target::Arn(_) => None,
            Target::Thing(r) => Some(NameRef::Thing(r.thing.clone())),
            Target::ThingGroup(r) => Some(NameRef::Group(r.thing_group.clone())),
        })
        .collect();
    // Each name is resolved once, however many jobs use it.
    let resolved: HashMap<NameRef, Result<Option<String>, ApiError>> = stream::iter(names)
        .map(|name| async move {
            let result = match &name {
                NameRef::Thing(n) => api.describe_thing(n).await,
                NameRef::Group(n) => api.describe_thing_group(n).await,
            };
            (name, result)
        })
        .buffer_unordered(parallelism)
        .collect()
        .await;

    let mut out = Refreshed::default();
    let mut ready = Vec::new();
    for mut job in jobs {
        let mut problems = Vec::new();
        let mut api_error = None;
        for target in &mut job.spec.targets {
            let name = match target {
                Target::Arn(_) => continue,
                Target::Thing(r) => NameRef::Thing(r.thing.clone()),
                Target::ThingGroup(r) => NameRef::Group(r.thing_group.clone()),
            };
            let (what, text) = match &name {
                NameRef::Thing(n) => ("thing", n),
                NameRef::Group(n) => ("thing group", n),
            };
            match resolved.get(&name) {
                Some(Ok(Some(arn))) => *target = Target::Arn(arn.clone()),
                Some(Ok(None)) => problems.push(format!("target {what} `{text}` does not exist")),
                Some(Err(err)) => {
                    problems.push(format!("could not resolve target {what} `{text}`: {err}"));
                    api_error = Some(err.clone());
                }
                None => problems.push(format!("target {what} `{text}` was not resolved")),
            }
        }
        if problems.is_empty() {
            ready.push(job);
        } else {
            out.errors.push(JobError {
                job_id: job.job_id.clone(),
                source: Some(job.origin.to_string()),
                message: problems.join("; "),
                api: api_error,
            });
        }
    }

    let reads: Vec<(DesiredJob, Result<Option<RemoteJob>, ApiError>)> = stream::iter(ready)
        .map(|job| async move {
            let result = aws::read_job(api, &job.job_id).await;
            (job, result)
        })
        .buffer_unordered(parallelism)
        .collect()
        .await;
    for (job, result) in reads {
        match result {
            Ok(Some(remote)) => {
                out.actual.insert(job.job_id.clone(), remote);
                out.desired.push(job);
            }
            Ok(None) => out.desired.push(job),
            Err(err) => out.errors.push(JobError {
                job_id: job.job_id.clone(),
                source: Some(job.origin.to_string()),
                message: err.to_string(),
                api: Some(err),
            }),
        }
    }
    out.desired.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    out.errors.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeJobs;
    use crate::manifest::model::JobSpec;
    use crate::manifest::Origin;
    use serde_json::json;

    fn job(id: &str, targets: serde_json::Value) -> DesiredJob {
        let spec: JobSpec = serde_json::from_value(json!({
            "targets": targets,
            "document": {"operation": "update"}
        }))
        .expect("spec");
        DesiredJob {
            job_id: id.into(),
            spec,
            origin: Origin {
                file: "a.yaml".into(),
                line: 1,
                col: 1,
            },
        }
    }

    #[tokio::test]
    async fn names_resolve_once_and_missing_ones_fail_only_their_job() {
        let api = FakeJobs::new().with_group("Bulbs").with_thing("Pi");
        let jobs = vec![
            job("a", json!([{"thingGroup": "Bulbs"}, {"thing": "Pi"}])),
            job("b", json!([{"thingGroup": "Bulbs"}])),
            job("c", json!([{"thingGroup": "Nope"}])),
        ];
        let refreshed = refresh(&api, jobs, 4).await;
        assert_eq!(refreshed.desired.len(), 2);
        assert_eq!(refreshed.errors.len(), 1);
        assert_eq!(refreshed.errors[0].job_id, "c");
        assert!(refreshed.errors[0]
            .message
            .contains("thing group `Nope` does not exist"));
        let a = &refreshed.desired[0];
        assert_eq!(
            a.spec.targets[0],
            Target::Arn("arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs".into())
        );
        let group_lookups = api
            .calls()
            .iter()
            .filter(|c| c.starts_with("DescribeThingGroup Bulbs"))
            .count();
        assert_eq!(group_lookups, 1);
    }

    #[tokio::test]
    async fn read_failure_is_attached_to_the_job() {
        let api = FakeJobs::new();
        api.fail_once("DescribeJob", "a", "InvalidRequestException");
        let refreshed = refresh(
            &api,
            vec![job(
                "a",
                json!(["arn:aws:iot:us-east-1:123456789012:thing/x"]),
            )],
            1,
        )
        .await;
        assert!(refreshed.desired.is_empty());
        assert_eq!(refreshed.errors[0].job_id, "a");
        assert!(refreshed.errors[0]
            .message
            .contains("DescribeJob failed: InvalidRequestException"));
    }
}
