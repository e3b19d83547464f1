//! Reading the account for a plan: resolving target names to ARNs and fetching each declared job.
//!
//! Calls run concurrently up to `parallelism`; the API layer paces them per operation. A failure
//! is attached to its job, never fatal to the others, so a plan shows everything it could learn.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::plan::{self, Desired, Observed};
use super::Settings;
use crate::aws::{self, ApiError, JobsApi};
use crate::domain::ownership::{ownership, Ownership};
use crate::domain::spec::Target;
use crate::domain::{
    DesiredJob, JobDescription, JobStatus, JobSummary, ResolvedJob, ResolvedSpec, ResourceId,
};

/// A job that could not be planned, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobError {
    /// The job, rollout or template (`kind` and its name in JSON).
    #[serde(flatten)]
    pub resource: ResourceId,
    /// Where the manifest declares the job, when it does.
    pub source: Option<String>,
    pub message: String,
    /// The AWS operation that failed, when a call failed.
    pub operation: Option<&'static str>,
    /// The AWS error code of that call.
    pub code: Option<String>,
}

impl JobError {
    pub(crate) fn api(
        job_id: String,
        source: Option<String>,
        message: String,
        err: &ApiError,
    ) -> Self {
        Self {
            resource: ResourceId::job(job_id),
            source,
            message,
            operation: Some(err.operation),
            code: Some(err.code.clone()),
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} `{}`: {}",
            self.resource.kind.noun(),
            self.resource.name,
            self.message
        )
    }
}

/// The account as far as the declared jobs are concerned.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// The account the run works on, from the ARNs AWS returned (job, thing, thing group).
    pub account: Option<String>,
    /// Declared jobs to plan: the ones read or to create have their targets resolved.
    pub desired: Desired,
    pub observed: Observed,
    pub errors: Vec<JobError>,
}

type TagsResult = Result<BTreeMap<String, String>, ApiError>;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum NameRef {
    Thing(String),
    Group(String),
}

impl NameRef {
    fn of(target: &Target) -> Option<Self> {
        match target {
            Target::Arn(_) => None,
            Target::Thing(r) => Some(Self::Thing(r.thing.clone())),
            Target::ThingGroup(r) => Some(Self::Group(r.thing_group.clone())),
        }
    }
}

/// Ownership learned in earlier passes, for a caller that plans again and again (the daemon).
/// Only "not this instance's" is remembered: a job that is not ours is never touched, so a
/// stale entry can at worst leave an orphan for a later pass, never cancel a job that is no
/// longer ours. Entries are keyed by ARN and dropped when the job leaves the account.
#[derive(Debug, Default, Clone)]
pub struct OwnerCache {
    not_ours: BTreeSet<String>,
}

impl OwnerCache {
    pub fn len(&self) -> usize {
        self.not_ours.len()
    }

    pub fn is_empty(&self) -> bool {
        self.not_ours.is_empty()
    }
}

/// The account id of an ARN (`arn:aws:iot:us-east-1:123456789012:job/x` gives `123456789012`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The region of an ARN.
pub fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// Reads what planning needs: ListJobs (every page), the full state of each declared job that
/// is active, target names of jobs to create or compare, and, only when pruning, the tags of
/// undeclared jobs that may be this instance's orphans. Cost grows with the declared jobs and
/// pages of ListJobs, never with one call per job of someone else unless `--prune` asks for
/// it. `--target` is applied here, once, to both the declared jobs and the orphan candidates,
/// so plan sees only what is in scope.
///
/// `Err` means the account could not be read at all (ListJobs failed, or the endpoint proved
/// unreachable): one error for the whole run, not one per job.
pub async fn refresh(
    api: &dyn JobsApi,
    jobs: Vec<DesiredJob>,
    settings: &Settings,
) -> Result<Refreshed, ApiError> {
    refresh_with_cache(api, jobs, settings, &mut OwnerCache::default()).await
}

/// [`refresh`], keeping what it learns about ownership in `cache` for the next pass.
pub async fn refresh_with_cache(
    api: &dyn JobsApi,
    jobs: Vec<DesiredJob>,
    settings: &Settings,
    cache: &mut OwnerCache,
) -> Result<Refreshed, ApiError> {
    let parallelism = settings.parallelism.max(1);
    let mut out = Refreshed::default();
    let declared_ids: BTreeSet<String> = jobs.iter().map(|j| j.job_id.clone()).collect();
    let jobs: Vec<DesiredJob> = jobs
        .into_iter()
        .filter(|j| settings.includes(&j.job_id))
        .collect();
    let listed = api.list_jobs().await?;
    out.account = listed
        .iter()
        .find_map(|s| arn_account(&s.job_arn))
        .map(String::from);
    out.observed.listed = listed.into_iter().map(|s| (s.job_id.clone(), s)).collect();
    out.observed.now = plan::epoch(api.server_time().unwrap_or_else(std::time::SystemTime::now));

    // Jobs that are finished and not compared need neither target resolution nor reads.
    // Jobs being deleted are re-created afterwards, so their targets must be resolved too.
    let needs_work = |job: &DesiredJob| match out.observed.listed.get(&job.job_id) {
        None => true,
        // A halted or complete rollout stays in view (its state is its job's), so plan, apply
        // and status show it as Halted or Complete.
        Some(_) if job.rollout.is_some() => true,
        Some(summary) => {
            settings.compare_finished
                || plan::compared_by_default(&summary.status)
                || summary.status == JobStatus::DeletionInProgress
        }
    };
    let (work, idle): (Vec<DesiredJob>, Vec<DesiredJob>) =
        jobs.into_iter().partition(|j| needs_work(j));
    out.desired.unread = idle.into_iter().map(|j| j.job_id).collect();

    let names: BTreeSet<NameRef> = work
        .iter()
        .flat_map(|j| j.spec.targets.iter())
        .filter_map(NameRef::of)
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
    if let Some(err) = resolved
        .values()
        .find_map(|r| r.as_ref().err().filter(|e| e.ends_the_run()))
    {
        return Err(err.clone());
    }
    if out.account.is_none() {
        out.account = resolved
            .values()
            .find_map(|r| r.as_ref().ok().and_then(|a| a.as_deref()))
            .and_then(arn_account)
            .map(String::from);
    }

    let region = api.region();
    let mut ready = Vec::new();
    for job in work {
        let problems = target_scope_problems(&job, out.account.as_deref(), region.as_deref());
        if !problems.is_empty() {
            out.errors.push(JobError {
                resource: ResourceId::job(job.job_id.clone()),
                source: Some(job.origin.to_string()),
                message: problems.join("; "),
                operation: None,
                code: None,
            });
            continue;
        }
        match resolve_targets(job, &resolved) {
            Ok(job) => ready.push(job),
            Err(error) => out.errors.push(error),
        }
    }

    let listed = &out.observed.listed;
    let now = time::OffsetDateTime::now_utc();
    let (ready, too_soon): (Vec<ResolvedJob>, Vec<ResolvedJob>) = ready
        .into_iter()
        .partition(|j| listed.contains_key(&j.job_id) || start_time_problem(j, now).is_none());
    for job in too_soon {
        out.errors.push(JobError {
            message: start_time_problem(&job, now).unwrap_or_default(),
            resource: ResourceId::job(job.job_id),
            source: Some(job.origin.to_string()),
            operation: None,
            code: None,
        });
    }
    let to_read: Vec<&ResolvedJob> = ready
        .iter()
        .filter(|j| {
            listed
                .get(&j.job_id)
                .is_some_and(|s| s.status != JobStatus::DeletionInProgress)
        })
        .collect();
    // Each read goes into the map as it arrives: collecting them all first held every job
    // twice (the list and the map) at the pass's peak.
    let count = to_read.len();
    let mut reads = stream::iter(to_read)
        .map(|job| async move { (job, aws::read_job(api, &job.job_id).await) })
        .buffer_unordered(parallelism);
    let mut failed = BTreeSet::new();
    let mut run_error: Option<ApiError> = None;
    // Sized once: growing a map of 10,000 jobs by doubling briefly holds both tables.
    out.observed.compared.reserve(count);
    while let Some((job, result)) = reads.next().await {
        let job_id = job.job_id.clone();
        match result {
            // Compared now when nothing learned later changes the comparison: only the
            // change is kept, not the read (holding every read until planning was the
            // daemon's peak at 10,000 jobs).
            Ok(Some(remote)) if plan::compared_on_read(job) && !settings.fingerprint_account => {
                out.observed
                    .compared
                    .push(plan::compare_read(job, &remote, settings));
            }
            Ok(Some(remote)) => {
                out.observed.remote.insert(job_id, Box::new(remote));
            }
            // Deleted between ListJobs and DescribeJob: plan it as absent.
            Ok(None) => {
                out.observed.listed.remove(&job_id);
            }
            Err(err) if err.ends_the_run() => {
                run_error.get_or_insert(err);
            }
            Err(err) => {
                failed.insert(job_id.clone());
                let source = ready
                    .iter()
                    .find(|j| j.job_id == job_id)
                    .map(|j| j.origin.to_string());
                out.errors
                    .push(JobError::api(job_id, source, err.to_string(), &err));
            }
        }
    }
    drop(reads);
    if let Some(err) = run_error {
        return Err(err);
    }
    out.desired.jobs = ready
        .into_iter()
        .filter(|j| !failed.contains(&j.job_id))
        .collect();

    let declared: BTreeSet<&str> = out
        .desired
        .jobs
        .iter()
        .map(|j| j.job_id.as_str())
        .chain(out.desired.unread.iter().map(String::as_str))
        .chain(out.errors.iter().map(|e| e.resource.name.as_str()))
        .collect();
    // Orphans are looked for only when this run may prune them: without --prune nothing is
    // read about jobs no manifest declares, so a plan costs the same in an account holding
    // thousands of other people's jobs. `--target` names count too: a target that no manifest
    // declares must be this instance's job, which only its tags can tell.
    let pruning = settings.prune || settings.prune_delete;
    let only = settings.only.as_ref();
    let candidates: Vec<(String, String)> = out
        .observed
        .listed
        .values()
        .filter(|s| !declared.contains(s.job_id.as_str()))
        .filter(|s| settings.includes(&s.job_id))
        .filter(|s| {
            let prunable =
                s.status.is_active() || (settings.prune_delete && s.status.is_finished());
            (pruning && prunable) || only.is_some_and(|o| o.contains(&s.job_id))
        })
        .filter(|s| !cache.not_ours.contains(&s.job_arn))
        .map(|s| (s.job_id.clone(), s.job_arn.clone()))
        .collect();
    let tags: Vec<(String, String, TagsResult)> = stream::iter(candidates)
        .map(|(job_id, arn)| async move {
            let result = api.list_tags(&arn).await;
            (job_id, arn, result)
        })
        .buffer_unordered(parallelism)
        .collect()
        .await;
    if let Some(err) = tags
        .iter()
        .find_map(|(_, _, r)| r.as_ref().err().filter(|e| e.ends_the_run()))
    {
        return Err(err.clone());
    }
    for (job_id, arn, result) in tags {
        match result {
            Ok(tags) => {
                if ownership(&tags, &settings.instance) != Ownership::Managed {
                    cache.not_ours.insert(arn);
                }
                out.observed.undeclared_tags.insert(job_id, tags);
            }
            Err(err) => {
                let message = format!("could not read its tags to check ownership: {err}");
                out.errors.push(JobError::api(job_id, None, message, &err));
            }
        }
    }
    let still_listed: BTreeSet<&str> = out
        .observed
        .listed
        .values()
        .map(|s| s.job_arn.as_str())
        .collect();
    cache
        .not_ours
        .retain(|arn| still_listed.contains(arn.as_str()));

    // A --target that names nothing this run can work on is an error, not an empty plan.
    for id in only.into_iter().flatten() {
        if declared_ids.contains(id) {
            continue;
        }
        let owned = out
            .observed
            .undeclared_tags
            .get(id)
            .is_some_and(|tags| ownership(tags, &settings.instance) == Ownership::Managed);
        if !owned
            && !out
                .errors
                .iter()
                .any(|e| e.resource.job_id() == Some(id.as_str()))
        {
            out.errors.push(JobError {
                resource: ResourceId::job(id.clone()),
                source: None,
                message: format!(
                    "--target `{id}` names no job: no manifest declares it, and the account has no job of instance `{}` with this id",
                    settings.instance
                ),
                operation: None,
                code: None,
            });
        }
    }
    out.desired.jobs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    out.desired.unread.sort();
    out.errors.sort_by(|a, b| a.resource.cmp(&b.resource));
    Ok(out)
}

/// Target ARNs that name another account or region than the one the run works on: AWS would
/// refuse them at apply, so plan says so first.
fn target_scope_problems(
    job: &DesiredJob,
    account: Option<&str>,
    region: Option<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for target in &job.spec.targets {
        let Target::Arn(arn) = target else { continue };
        if let (Some(want), Some(got)) = (region, arn_region(arn)) {
            if want != got {
                problems.push(format!(
                    "target `{arn}` is in region {got}, but this run works on {want}"
                ));
                continue;
            }
        }
        if let (Some(want), Some(got)) = (account, arn_account(arn)) {
            if want != got {
                problems.push(format!(
                    "target `{arn}` is in account {got}, but this run works on account {want}"
                ));
            }
        }
    }
    problems
}

/// Why a job to be created cannot start when its schedule says: AWS wants `startTime` at least
/// 30 minutes after the job is created.
fn start_time_problem(job: &ResolvedJob, now: time::OffsetDateTime) -> Option<String> {
    let text = job.spec.scheduling_config.as_ref()?.start_time.as_ref()?;
    let start = crate::domain::spec::SchedulingConfig::parse_time(text)?.assume_utc();
    let ahead = start - now;
    if ahead <= time::Duration::ZERO {
        Some(format!(
            "schedulingConfig.startTime {text} (UTC) has already passed; AWS refuses to create a job scheduled in the past"
        ))
    } else if ahead < time::Duration::minutes(30) {
        Some(format!(
            "schedulingConfig.startTime {text} (UTC) is only {} minutes ahead; AWS wants it at least 30 minutes after the job is created",
            ahead.whole_minutes()
        ))
    } else {
        None
    }
}

/// The job with every target name replaced by its ARN, or an error naming each name that could
/// not be resolved.
fn resolve_targets(
    job: DesiredJob,
    resolved: &HashMap<NameRef, Result<Option<String>, ApiError>>,
) -> Result<ResolvedJob, JobError> {
    let DesiredJob {
        job_id,
        spec,
        origin,
        max_failure_rate,
        rollout,
        ..
    } = job;
    let mut api_error = None;
    let result = ResolvedSpec::resolve(spec, |target| {
        let (what, name, key) = match target {
            Target::Thing(r) => ("thing", &r.thing, NameRef::Thing(r.thing.clone())),
            Target::ThingGroup(r) => (
                "thing group",
                &r.thing_group,
                NameRef::Group(r.thing_group.clone()),
            ),
            Target::Arn(arn) => return Ok(arn.clone()),
        };
        match resolved.get(&key) {
            Some(Ok(Some(arn))) => Ok(arn.clone()),
            Some(Ok(None)) => Err(format!("target {what} `{name}` does not exist")),
            Some(Err(err)) => {
                api_error = Some(err.clone());
                Err(format!("could not resolve target {what} `{name}`: {err}"))
            }
            None => Err(format!("target {what} `{name}` was not resolved")),
        }
    });
    match result {
        Ok(spec) => Ok(ResolvedJob {
            job_id,
            spec,
            origin,
            max_failure_rate,
            rollout,
        }),
        Err(problems) => Err(JobError {
            resource: ResourceId::job(job_id),
            source: Some(origin.to_string()),
            message: problems.join("; "),
            operation: api_error.as_ref().map(|e| e.operation),
            code: api_error.map(|e| e.code),
        }),
    }
}

/// Owned-job discovery: the tags of the listed jobs no manifest declares that could be this
/// instance's (active ones, and finished ones with `--prune-delete`), within `--target`. One
/// ListTagsForResource per candidate; ownership itself is judged from the tags by the caller.
pub async fn undeclared_tags(
    api: &dyn JobsApi,
    listed: &HashMap<String, JobSummary>,
    declared: &BTreeSet<&str>,
    settings: &Settings,
) -> (HashMap<String, BTreeMap<String, String>>, Vec<JobError>) {
    let candidates: Vec<(String, String)> = listed
        .values()
        .filter(|s| !declared.contains(s.job_id.as_str()))
        .filter(|s| settings.includes(&s.job_id))
        .filter(|s| s.status.is_active() || (settings.prune_delete && s.status.is_finished()))
        .map(|s| (s.job_id.clone(), s.job_arn.clone()))
        .collect();
    let tags: Vec<(String, TagsResult)> = stream::iter(candidates)
        .map(|(job_id, arn)| async move { (job_id, api.list_tags(&arn).await) })
        .buffer_unordered(settings.parallelism.max(1))
        .collect()
        .await;
    let mut found = HashMap::new();
    let mut errors = Vec::new();
    for (job_id, result) in tags {
        match result {
            Ok(tags) => {
                found.insert(job_id, tags);
            }
            Err(err) => {
                let message = format!("could not read its tags to check ownership: {err}");
                errors.push(JobError::api(job_id, None, message, &err));
            }
        }
    }
    (found, errors)
}

/// DescribeJob of each undeclared job this instance owns, so that a plan shows its health
/// before it is pruned: one call per owned orphan. A read that fails only costs the health.
pub async fn describe_owned(api: &dyn JobsApi, observed: &mut Observed, settings: &Settings) {
    let owned: Vec<String> = observed
        .undeclared_tags
        .iter()
        .filter(|(_, tags)| ownership(tags, &settings.instance) == Ownership::Managed)
        .map(|(job_id, _)| job_id.clone())
        .collect();
    let reads: Vec<(String, Result<Option<JobDescription>, ApiError>)> = stream::iter(owned)
        .map(|job_id| async move {
            let result = api.describe_job(&job_id).await;
            (job_id, result)
        })
        .buffer_unordered(settings.parallelism.max(1))
        .collect()
        .await;
    for (job_id, result) in reads {
        match result {
            Ok(Some(d)) => {
                observed
                    .undeclared
                    .insert(job_id, (d.status, d.spec, d.progress));
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(job_id = %job_id, "could not read the job's health: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeJobs;
    use crate::domain::ownership::ownership_tags;
    use crate::domain::spec::{JobSpec, TagValue};
    use crate::domain::Origin;
    use serde_json::json;

    fn job(id: &str, targets: serde_json::Value) -> DesiredJob {
        let spec: JobSpec = serde_json::from_value(json!({
            "targets": targets,
            "document": {"operation": "update"}
        }))
        .expect("spec");
        DesiredJob {
            job_id: id.into(),
            spec: Box::new(spec),
            origin: Origin {
                file: "a.yaml".into(),
                line: 1,
                col: 1,
            },
            max_failure_rate: None,
            rollout: None,
            key_origins: Default::default(),
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
            &Settings {
                parallelism: 4,
                ..Settings::default()
            },
        )
        .await
        .expect("readable");
        assert_eq!(refreshed.desired.jobs.len(), 2);
        assert_eq!(refreshed.errors.len(), 1);
        assert_eq!(refreshed.errors[0].resource.name, "c");
        assert!(refreshed.errors[0]
            .message
            .contains("thing group `Nope` does not exist"));
        let a = &refreshed.desired.jobs[0];
        assert_eq!(
            a.spec.target_arns()[0],
            "arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs"
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
        api.insert_job("a", JobStatus::InProgress, (*existing.spec).clone());
        api.fail_once("DescribeJob", "a", "InvalidRequestException");
        let settings = Settings {
            parallelism: 1,
            ..Settings::default()
        };
        let refreshed = refresh(&api, vec![existing], &settings)
            .await
            .expect("readable");
        assert!(refreshed.desired.jobs.is_empty());
        assert_eq!(refreshed.errors[0].resource.name, "a");
        assert!(refreshed.errors[0]
            .message
            .contains("DescribeJob failed: InvalidRequestException"));
    }

    #[tokio::test]
    async fn target_filter_limits_jobs_and_orphan_candidates() {
        let api = FakeJobs::new();
        let arn = json!(["arn:aws:iot:us-east-1:123456789012:thing/x"]);
        let mut orphan = job("old", arn.clone()).spec;
        for (k, v) in ownership_tags("prod") {
            orphan.tags.insert(k, TagValue(v));
        }
        api.insert_job("old", JobStatus::InProgress, *orphan);
        let settings = Settings {
            instance: "prod".into(),
            prune: true,
            only: Some(BTreeSet::from(["b".to_string()])),
            parallelism: 2,
            ..Settings::default()
        };
        let refreshed = refresh(&api, vec![job("a", arn.clone()), job("b", arn)], &settings)
            .await
            .expect("readable");
        let ids: Vec<_> = refreshed
            .desired
            .jobs
            .iter()
            .map(|j| j.job_id.as_str())
            .collect();
        assert_eq!(ids, vec!["b"]);
        assert!(
            refreshed.observed.undeclared_tags.is_empty(),
            "an orphan outside --target is never read"
        );
        let plan = plan::plan(&refreshed.desired, &refreshed.observed, &settings);
        let planned: Vec<_> = plan
            .changes
            .iter()
            .map(|c| c.resource.name.as_str())
            .collect();
        assert_eq!(planned, vec!["b"]);
    }

    #[tokio::test]
    async fn plan_without_prune_never_lists_tags_of_undeclared_jobs() {
        let api = FakeJobs::new();
        let arn = json!(["arn:aws:iot:us-east-1:123456789012:thing/x"]);
        for i in 0..5 {
            api.insert_job(
                &format!("other-{i}"),
                JobStatus::InProgress,
                *job("x", arn.clone()).spec,
            );
        }
        let mut settings = Settings {
            instance: "prod".into(),
            parallelism: 2,
            ..Settings::default()
        };
        refresh(&api, vec![job("a", arn.clone())], &settings)
            .await
            .expect("readable");
        let tag_reads = |api: &FakeJobs| {
            api.calls()
                .iter()
                .filter(|c| c.starts_with("ListTagsForResource"))
                .count()
        };
        assert_eq!(tag_reads(&api), 0, "{:?}", api.calls());
        settings.prune = true;
        refresh(&api, vec![job("a", arn)], &settings)
            .await
            .expect("readable");
        assert_eq!(
            tag_reads(&api),
            5,
            "pruning must learn ownership: {:?}",
            api.calls()
        );
    }
}
