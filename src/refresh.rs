//! Reading the account for a plan: resolving target names to ARNs and fetching each declared job.
//!
//! Calls run concurrently up to `parallelism`; the API layer paces them per operation. A failure
//! is attached to its job, never fatal to the others, so a plan shows everything it could learn.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::stream::{self, StreamExt};

use crate::aws::{self, ApiError, JobsApi, RemoteJob};
use crate::manifest::model::Target;
use crate::manifest::DesiredJob;
use crate::plan::{self, Observed};

/// A job that could not be planned, with the reason.
#[derive(Debug, Clone)]
pub struct JobError {
    pub job_id: String,
    pub source: Option<String>,
    pub message: String,
    pub api: Option<Box<ApiError>>,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job `{}`: {}", self.job_id, self.message)
    }
}

/// What to read beyond the declared active jobs.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub parallelism: usize,
    /// Also read declared jobs that have finished (a call per job per run).
    pub compare_finished: bool,
    /// Read the tags of undeclared finished jobs too, to find orphans to delete.
    pub finished_orphans: bool,
    /// `--target`: only these job ids.
    pub only: Option<BTreeSet<String>>,
}

/// The account as far as the declared jobs are concerned.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// Declared jobs; those created or compared have their targets resolved to ARNs.
    pub desired: Vec<DesiredJob>,
    pub observed: Observed,
    pub errors: Vec<JobError>,
}

type TagsResult = Result<BTreeMap<String, String>, ApiError>;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NameRef {
    Thing(String),
    Group(String),
}

/// Reads what planning needs: ListJobs (every page), the full state of each declared job that
/// is active, target names of jobs to create or compare, and the tags of undeclared jobs that
/// may be this instance's orphans. Cost grows with active jobs and pages of history, not with
/// one call per historical job.
pub async fn refresh(api: &dyn JobsApi, jobs: Vec<DesiredJob>, scope: &Scope) -> Refreshed {
    let parallelism = scope.parallelism.max(1);
    let mut out = Refreshed::default();
    let jobs: Vec<DesiredJob> = jobs
        .into_iter()
        .filter(|j| scope.only.as_ref().is_none_or(|o| o.contains(&j.job_id)))
        .collect();
    let listed = match api.list_jobs().await {
        Ok(list) => list,
        Err(err) => {
            // Without the listing nothing can be planned safely; every job carries the error.
            for job in jobs {
                out.errors.push(JobError {
                    job_id: job.job_id.clone(),
                    source: Some(job.origin.to_string()),
                    message: err.to_string(),
                    api: Some(Box::new(err.clone())),
                });
            }
            return out;
        }
    };
    out.observed.listed = listed.into_iter().map(|s| (s.job_id.clone(), s)).collect();

    // Jobs that are finished and not compared need neither target resolution nor reads.
    // Jobs being deleted are re-created afterwards, so their targets must be resolved too.
    let needs_work = |job: &DesiredJob| match out.observed.listed.get(&job.job_id) {
        None => true,
        Some(summary) => {
            scope.compare_finished
                || plan::compared_by_default(&summary.status)
                || summary.status == crate::aws::JobStatus::DeletionInProgress
        }
    };
    let (work, idle): (Vec<DesiredJob>, Vec<DesiredJob>) =
        jobs.into_iter().partition(|j| needs_work(j));
    out.desired.extend(idle);

    let names: BTreeSet<NameRef> = work
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

    let mut ready = Vec::new();
    for mut job in work {
        match resolve_targets(&mut job, &resolved) {
            Ok(()) => ready.push(job),
            Err(error) => out.errors.push(error),
        }
    }

    let listed = &out.observed.listed;
    let to_read: Vec<&DesiredJob> = ready
        .iter()
        .filter(|j| {
            listed
                .get(&j.job_id)
                .is_some_and(|s| s.status != crate::aws::JobStatus::DeletionInProgress)
        })
        .collect();
    let reads: Vec<(String, Result<Option<RemoteJob>, ApiError>)> = stream::iter(to_read)
        .map(|job| async move { (job.job_id.clone(), aws::read_job(api, &job.job_id).await) })
        .buffer_unordered(parallelism)
        .collect()
        .await;
    let mut failed = BTreeSet::new();
    for (job_id, result) in reads {
        match result {
            Ok(Some(remote)) => {
                out.observed.remote.insert(job_id, remote);
            }
            // Deleted between ListJobs and DescribeJob: plan it as absent.
            Ok(None) => {
                out.observed.listed.remove(&job_id);
            }
            Err(err) => {
                failed.insert(job_id.clone());
                let source = ready
                    .iter()
                    .find(|j| j.job_id == job_id)
                    .map(|j| j.origin.to_string());
                out.errors.push(JobError {
                    job_id,
                    source,
                    message: err.to_string(),
                    api: Some(Box::new(err)),
                });
            }
        }
    }
    out.desired
        .extend(ready.into_iter().filter(|j| !failed.contains(&j.job_id)));

    let declared: BTreeSet<&str> = out
        .desired
        .iter()
        .map(|j| j.job_id.as_str())
        .chain(out.errors.iter().map(|e| e.job_id.as_str()))
        .collect();
    let candidates: Vec<(String, String)> = out
        .observed
        .listed
        .values()
        .filter(|s| !declared.contains(s.job_id.as_str()))
        .filter(|s| scope.only.as_ref().is_none_or(|o| o.contains(&s.job_id)))
        .filter(|s| {
            matches!(
                s.status,
                crate::aws::JobStatus::InProgress | crate::aws::JobStatus::Scheduled
            ) || (scope.finished_orphans && plan::is_finished(&s.status))
        })
        .map(|s| (s.job_id.clone(), s.job_arn.clone()))
        .collect();
    let tags: Vec<(String, TagsResult)> = stream::iter(candidates)
        .map(|(job_id, arn)| async move { (job_id, api.list_tags(&arn).await) })
        .buffer_unordered(parallelism)
        .collect()
        .await;
    for (job_id, result) in tags {
        match result {
            Ok(tags) => {
                out.observed.undeclared_tags.insert(job_id, tags);
            }
            Err(err) => out.errors.push(JobError {
                job_id,
                source: None,
                message: format!("could not read its tags to check ownership: {err}"),
                api: Some(Box::new(err)),
            }),
        }
    }
    out.desired.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    out.errors.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    out
}

fn resolve_targets(
    job: &mut DesiredJob,
    resolved: &HashMap<NameRef, Result<Option<String>, ApiError>>,
) -> Result<(), JobError> {
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
                api_error = Some(Box::new(err.clone()));
            }
            None => problems.push(format!("target {what} `{text}` was not resolved")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(JobError {
            job_id: job.job_id.clone(),
            source: Some(job.origin.to_string()),
            message: problems.join("; "),
            api: api_error,
        })
    }
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
        let refreshed = refresh(
            &api,
            jobs,
            &Scope {
                parallelism: 4,
                ..Scope::default()
            },
        )
        .await;
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
        let existing = job("a", json!(["arn:aws:iot:us-east-1:123456789012:thing/x"]));
        api.insert_job(
            "a",
            crate::aws::JobStatus::InProgress,
            existing.spec.clone(),
        );
        api.fail_once("DescribeJob", "a", "InvalidRequestException");
        let scope = Scope {
            parallelism: 1,
            ..Scope::default()
        };
        let refreshed = refresh(&api, vec![existing], &scope).await;
        assert!(refreshed.desired.is_empty());
        assert_eq!(refreshed.errors[0].job_id, "a");
        assert!(refreshed.errors[0]
            .message
            .contains("DescribeJob failed: InvalidRequestException"));
    }
}
