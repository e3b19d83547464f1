//! Job operations: CreateJob, DescribeJob, GetJobDocument, ListJobs, UpdateJob, CancelJob,
//! DeleteJob, AssociateTargetsWithJob and the job-execution listings. Owns the wire shape
//! of `Job`, `JobSummary` and execution summaries, and the state rules of each call.

use serde_json::{json, Map, Value};

use crate::engine::{self, Engine};
use crate::error::ApiError;
use crate::fleet::Counting;
use crate::managed;
use crate::model::{epoch_secs, ExecStatus, Execution, Job, JobStatus, Scope, TargetSelection};
use crate::request::{decode_token, encode_token, Req};
use crate::validate::{self, check_str, Obj, Target};

/// AWS's ceiling on jobs in DELETION_IN_PROGRESS at once (DeleteJob API reference).
pub const MAX_DELETIONS_IN_PROGRESS: usize = 10;
const DEFAULT_PAGE: i64 = 50;

pub fn job_id<'a>(req: &'a Req<'_>) -> Result<&'a str, ApiError> {
    job_id_at(req, 0)
}

/// The `jobId` URI label at position `i`, checked against the model.
pub fn job_id_at<'a>(req: &'a Req<'_>, i: usize) -> Result<&'a str, ApiError> {
    let id = req.label(i);
    check_str("jobId", id, &validate::JOB_ID)?;
    Ok(id)
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Job {id} cannot be found."))
}

pub fn find<'a>(scope: &'a Scope, id: &str) -> Result<&'a Job, ApiError> {
    scope.jobs.get(id).ok_or_else(|| not_found(id))
}

pub fn find_mut<'a>(scope: &'a mut Scope, id: &str) -> Result<&'a mut Job, ApiError> {
    scope.jobs.get_mut(id).ok_or_else(|| not_found(id))
}

/// Validates target ARNs against this scope and checks each thing or group exists.
/// A well-formed ARN of a missing resource is ResourceNotFoundException (CreateJob
/// models it); a malformed one, or one of another account or region, is InvalidRequest.
fn resolve_targets(scope: &Scope, targets: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::with_capacity(targets.len());
    for (i, arn) in targets.iter().enumerate() {
        let path = format!("targets.{}", i + 1);
        match validate::target(&path, arn, &scope.account, &scope.region)? {
            Target::Thing(name) if !scope.things.contains_key(&name) => {
                return Err(ApiError::not_found(format!(
                    "Thing {name} cannot be found."
                )))
            }
            Target::Group(name) if !scope.groups.contains_key(&name) => {
                return Err(ApiError::not_found(format!(
                    "Thing group {name} cannot be found."
                )))
            }
            _ => {}
        }
        if !out.contains(arn) {
            out.push(arn.clone());
        }
    }
    Ok(out)
}

fn job_reply(job: &Job) -> Value {
    let mut m = Map::new();
    m.insert("jobArn".into(), job.job_arn.clone().into());
    m.insert("jobId".into(), job.job_id.clone().into());
    if let Some(d) = &job.description {
        m.insert("description".into(), d.clone().into());
    }
    Value::Object(m)
}

pub fn create(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = job_id(req)?;
    let input = validate::create_job(&req.json()?, req.now)?;
    if let Some(existing) = scope.jobs.get(id) {
        // Also while DELETION_IN_PROGRESS: a jobId is free only once deletion completes.
        return Err(ApiError::already_exists(
            format!("Job with id {id} already exists."),
            id,
            &existing.job_arn,
        ));
    }
    let targets = resolve_targets(scope, &input.targets)?;
    let input = apply_template(scope, input)?;
    validate::retry_needs_timeout(input.retry.as_ref(), input.timeout.as_ref())?;
    if let Some(max) = req.max_active_jobs {
        let active = scope.jobs.values().filter(|j| j.status.is_active()).count();
        if active >= max {
            return Err(ApiError::limit(format!(
                "The limit of {max} active jobs has been reached."
            )));
        }
    }
    let now = req.now;
    let arn = scope.job_arn(id);
    let (scheduling_config, start_at_ms, end_at_ms) = match input.schedule {
        Some(s) => (Some(s.config), s.start_ms, s.end_ms),
        None => (None, None, None),
    };
    let status = if start_at_ms.is_some_and(|t| t > now) {
        JobStatus::Scheduled
    } else {
        JobStatus::InProgress
    };
    scope.next_seq += 1;
    let job = Job {
        job_id: id.to_owned(),
        job_arn: arn.clone(),
        seq: scope.next_seq,
        status,
        target_selection: input.target_selection,
        targets,
        document: input.document,
        document_source: input.document_source,
        description: input.description,
        presigned_url_config: input.presigned_url_config,
        job_executions_rollout_config: input.rollout,
        abort_config: input.abort,
        timeout_config: input.timeout,
        job_executions_retry_config: input.retry,
        scheduling_config,
        namespace_id: input.namespace_id,
        job_template_arn: input.job_template_arn,
        document_parameters: input.document_parameters,
        destination_package_versions: input.destination_package_versions,
        force_canceled: None,
        reason_code: None,
        comment: None,
        created_at_ms: now,
        last_updated_at_ms: now,
        completed_at_ms: None,
        start_at_ms,
        end_at_ms,
        end_handled: false,
        delete_at_ms: None,
        executions: Default::default(),
        rollout: Default::default(),
        cancel_backlog: Default::default(),
        cancel_force: false,
        window_end_ms: None,
        counts: Default::default(),
        attempts: Default::default(),
        parsed_document: None,
    };
    let reply = job_reply(&job);
    scope.jobs.insert(id.to_owned(), job);
    if !input.tags.is_empty() {
        scope.set_tags(&arn, input.tags, now);
    }
    Engine::new(scope, req.fleet).job_created(id, now);
    Ok(reply)
}

/// Inserts `key` when `v` is set (the model leaves unset members out).
pub fn opt<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: &Option<T>) {
    if let Some(v) = v {
        if let Ok(v) = serde_json::to_value(v) {
            m.insert(key.into(), v);
        }
    }
}

fn empty_if_unset<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: &Option<T>) {
    match v {
        Some(_) => opt(m, key, v),
        None => {
            m.insert(key.into(), Value::Object(Map::new()));
        }
    }
}

/// The model's `Job` structure, as it stands at `now`; `counting` picks what
/// `jobProcessDetails` counts.
pub fn job_json(job: &Job, now: i64, counting: Counting) -> Value {
    let mut m = Map::new();
    m.insert("jobArn".into(), job.job_arn.clone().into());
    m.insert("jobId".into(), job.job_id.clone().into());
    m.insert(
        "targetSelection".into(),
        job.target_selection.as_str().into(),
    );
    m.insert("status".into(), job.status.as_str().into());
    opt(&mut m, "forceCanceled", &job.force_canceled);
    opt(&mut m, "reasonCode", &job.reason_code);
    opt(&mut m, "comment", &job.comment);
    m.insert("targets".into(), json!(job.targets));
    opt(&mut m, "description", &job.description);
    // Real DescribeJob answers `{}` for these three when they were never set (see the AWS
    // CLI's describe-job example); clients must cope, so the emulator does the same.
    empty_if_unset(&mut m, "presignedUrlConfig", &job.presigned_url_config);
    empty_if_unset(
        &mut m,
        "jobExecutionsRolloutConfig",
        &job.job_executions_rollout_config,
    );
    opt(&mut m, "abortConfig", &job.abort_config);
    m.insert("createdAt".into(), epoch_secs(job.created_at_ms).into());
    m.insert(
        "lastUpdatedAt".into(),
        epoch_secs(job.last_updated_at_ms).into(),
    );
    if let Some(t) = job.completed_at_ms {
        m.insert("completedAt".into(), epoch_secs(t).into());
    }
    let c = job.tally(counting);
    let mut details = json!({
            "numberOfCanceledThings": c.get(ExecStatus::Canceled),
            "numberOfSucceededThings": c.get(ExecStatus::Succeeded),
            "numberOfFailedThings": c.get(ExecStatus::Failed),
            "numberOfRejectedThings": c.get(ExecStatus::Rejected),
            "numberOfQueuedThings": c.get(ExecStatus::Queued),
            "numberOfInProgressThings": c.get(ExecStatus::InProgress),
            "numberOfRemovedThings": c.get(ExecStatus::Removed),
            "numberOfTimedOutThings": c.get(ExecStatus::TimedOut),
    });
    // Set while executions are still being rolled out, null afterwards (the model's doc).
    if job.rolling_out() && job.status.is_active() {
        details["processingTargets"] = json!(job.targets);
    }
    m.insert("jobProcessDetails".into(), details);
    empty_if_unset(&mut m, "timeoutConfig", &job.timeout_config);
    opt(&mut m, "namespaceId", &job.namespace_id);
    opt(&mut m, "jobTemplateArn", &job.job_template_arn);
    opt(
        &mut m,
        "jobExecutionsRetryConfig",
        &job.job_executions_retry_config,
    );
    opt(&mut m, "documentParameters", &job.document_parameters);
    m.insert("isConcurrent".into(), job.is_concurrent().into());
    opt(&mut m, "schedulingConfig", &job.scheduling_config);
    let rollouts = engine::scheduled_rollouts(job, now);
    if !rollouts.is_empty() {
        m.insert(
            "scheduledJobRollouts".into(),
            rollouts
                .into_iter()
                .map(|s| json!({ "startTime": s }))
                .collect(),
        );
    }
    opt(
        &mut m,
        "destinationPackageVersions",
        &job.destination_package_versions,
    );
    Value::Object(m)
}

pub fn describe(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = job_id(req)?;
    req.query.bool("beforeSubstitution")?;
    let job = find(scope, id)?;
    let mut m = Map::new();
    if let Some(src) = &job.document_source {
        m.insert("documentSource".into(), src.clone().into());
    }
    m.insert(
        "job".into(),
        job_json(job, req.now, Counting::of(req.fleet)),
    );
    Ok(Value::Object(m))
}

pub fn get_document(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = job_id(req)?;
    let before = req.query.bool("beforeSubstitution")?;
    let job = find(scope, id)?;
    let document = if before {
        job.document.clone().unwrap_or_default()
    } else {
        document_of(job)
    };
    Ok(json!({ "document": document }))
}

/// The document a device gets: for a job from an AWS-managed template, with its
/// `${aws:iot:parameter:KEY}` placeholders substituted. documentSource jobs would need an
/// S3 fetch; the emulator has no S3, so they answer an empty document (as moto does).
pub fn document_of(job: &Job) -> String {
    let doc = job.document.clone().unwrap_or_default();
    match job.job_template_arn.as_deref() {
        Some(arn) if validate::is_managed_template(arn) => {
            let empty = Default::default();
            managed::substitute(&doc, job.document_parameters.as_ref().unwrap_or(&empty))
        }
        _ => doc,
    }
}

/// CreateJob with `jobTemplateArn`: the template's document and configs fill in what the
/// job leaves out. An AWS-managed template also checks `documentParameters`.
fn apply_template(
    scope: &Scope,
    mut input: validate::CreateJob,
) -> Result<validate::CreateJob, ApiError> {
    let Some(arn) = input.job_template_arn.clone() else {
        return Ok(input);
    };
    let missing = || ApiError::not_found(format!("Job template {arn} cannot be found."));
    if validate::is_managed_template(&arn) {
        let t = managed::from_arn(&arn).ok_or_else(missing)?;
        managed::check_parameters(t, input.document_parameters.as_ref())?;
        if input.document.is_none() && input.document_source.is_none() {
            input.document = Some(t.document.to_owned());
        }
        input
            .description
            .get_or_insert_with(|| t.description.to_owned());
        return Ok(input);
    }
    let id = arn
        .strip_prefix(&scope.arn("jobtemplate/"))
        .ok_or_else(missing)?;
    let t = scope.templates.get(id).ok_or_else(missing)?;
    if input.document.is_none() && input.document_source.is_none() {
        input.document = t.document.clone();
        input.document_source = t.document_source.clone();
    }
    input
        .description
        .get_or_insert_with(|| t.description.clone());
    input.presigned_url_config = input
        .presigned_url_config
        .or_else(|| t.presigned_url_config.clone());
    input.rollout = input
        .rollout
        .or_else(|| t.job_executions_rollout_config.clone());
    input.abort = input.abort.or_else(|| t.abort_config.clone());
    input.timeout = input.timeout.or_else(|| t.timeout_config.clone());
    input.retry = input
        .retry
        .or_else(|| t.job_executions_retry_config.clone());
    input.destination_package_versions = input
        .destination_package_versions
        .or_else(|| t.destination_package_versions.clone());
    if let Some(windows) = &t.maintenance_windows {
        let sched = input.schedule.get_or_insert_with(|| validate::Schedule {
            config: Default::default(),
            start_ms: None,
            end_ms: None,
        });
        if sched.config.maintenance_windows.is_none() {
            sched.config.maintenance_windows = Some(windows.clone());
        }
    }
    Ok(input)
}

fn summary_json(scope: &Scope, job: &Job) -> Value {
    let mut m = Map::new();
    m.insert("jobArn".into(), job.job_arn.clone().into());
    m.insert("jobId".into(), job.job_id.clone().into());
    let group_id = job
        .targets
        .iter()
        .filter_map(|t| t.rsplit_once(":thinggroup/").map(|(_, n)| n))
        .find_map(|n| scope.groups.get(n))
        .map(|g| g.thing_group_id.clone());
    if let Some(g) = group_id {
        m.insert("thingGroupId".into(), g.into());
    }
    m.insert(
        "targetSelection".into(),
        job.target_selection.as_str().into(),
    );
    m.insert("status".into(), job.status.as_str().into());
    m.insert("createdAt".into(), epoch_secs(job.created_at_ms).into());
    m.insert(
        "lastUpdatedAt".into(),
        epoch_secs(job.last_updated_at_ms).into(),
    );
    if let Some(t) = job.completed_at_ms {
        m.insert("completedAt".into(), epoch_secs(t).into());
    }
    m.insert("isConcurrent".into(), job.is_concurrent().into());
    Value::Object(m)
}

pub fn list(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let q = req.query;
    let status = q.str("status", &validate::JOB_STATUS)?;
    let selection = q.str("targetSelection", &validate::TARGET_SELECTION)?;
    let max = q.int("maxResults", 1, 250)?.unwrap_or(DEFAULT_PAGE) as usize;
    let group_name = q.str("thingGroupName", &validate::THING_GROUP_NAME)?;
    let group_id = q.str("thingGroupId", &validate::THING_GROUP_ID)?;
    let namespace = q.str("namespaceId", &validate::NAMESPACE_ID)?;
    let listing = format!(
        "jobs;{};{};{};{};{}",
        status.as_deref().unwrap_or(""),
        selection.as_deref().unwrap_or(""),
        group_name.as_deref().unwrap_or(""),
        group_id.as_deref().unwrap_or(""),
        namespace.as_deref().unwrap_or("")
    );
    let after: u64 = match q.get("nextToken") {
        Some(t) => decode_token(&listing, t)?
            .parse()
            .map_err(|_| ApiError::invalid("The nextToken is not valid for this request"))?,
        None => 0,
    };
    let mut group_arns: Vec<String> = Vec::new();
    if let Some(name) = &group_name {
        let g = scope
            .groups
            .get(name)
            .ok_or_else(|| ApiError::not_found(format!("Thing group {name} cannot be found.")))?;
        group_arns.push(g.thing_group_arn.clone());
    }
    if let Some(gid) = &group_id {
        let g = scope
            .groups
            .values()
            .find(|g| &g.thing_group_id == gid)
            .ok_or_else(|| ApiError::not_found(format!("Thing group id {gid} cannot be found.")))?;
        group_arns.push(g.thing_group_arn.clone());
    }
    let mut jobs: Vec<&Job> = scope
        .jobs
        .values()
        .filter(|j| j.seq > after)
        .filter(|j| status.as_deref().is_none_or(|s| j.status.as_str() == s))
        .filter(|j| {
            selection
                .as_deref()
                .is_none_or(|s| j.target_selection.as_str() == s)
        })
        .filter(|j| group_arns.iter().all(|a| j.targets.contains(a)))
        .filter(|j| {
            namespace
                .as_deref()
                .is_none_or(|n| j.namespace_id.as_deref() == Some(n))
        })
        .collect();
    jobs.sort_by_key(|j| j.seq);
    let more = jobs.len() > max;
    jobs.truncate(max);
    let mut m = Map::new();
    m.insert(
        "jobs".into(),
        Value::Array(jobs.iter().map(|j| summary_json(scope, j)).collect()),
    );
    if more {
        if let Some(last) = jobs.last() {
            m.insert(
                "nextToken".into(),
                encode_token(&listing, &last.seq.to_string()).into(),
            );
        }
    }
    Ok(Value::Object(m))
}

pub fn update(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let id = job_id(req)?;
    req.query.str("namespaceId", &validate::NAMESPACE_ID)?;
    let input = validate::update_job(&req.json()?)?;
    let now = req.now;
    let job = find_mut(scope, id)?;
    // UpdateJob does not model InvalidStateTransitionException, so a job that is no longer
    // running answers InvalidRequestException.
    if !job.status.is_active() {
        return Err(ApiError::invalid(format!(
            "Job {id} is in status {} and can no longer be updated.",
            job.status.as_str()
        )));
    }
    if let Some(r) = &input.retry {
        validate::retry_update(job.job_executions_retry_config.as_ref(), r)?;
    }
    validate::retry_needs_timeout(
        input
            .retry
            .as_ref()
            .or(job.job_executions_retry_config.as_ref()),
        input.timeout.as_ref().or(job.timeout_config.as_ref()),
    )?;
    if input.description.is_some() {
        job.description = input.description;
    }
    if input.presigned_url_config.is_some() {
        job.presigned_url_config = input.presigned_url_config;
    }
    if input.rollout.is_some() {
        job.job_executions_rollout_config = input.rollout;
    }
    if input.abort.is_some() {
        job.abort_config = input.abort;
    }
    if input.timeout.is_some() {
        job.timeout_config = input.timeout;
    }
    if input.retry.is_some() {
        job.job_executions_retry_config = input.retry;
    }
    job.last_updated_at_ms = now;
    Engine::new(scope, req.fleet).job_updated(id, now);
    Ok(())
}

pub fn cancel(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = job_id(req)?;
    let force = req.query.bool("force")?;
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let reason_code = o.str("reasonCode", &validate::REASON_CODE)?;
    let comment = o.str("comment", &validate::COMMENT)?;
    let now = req.now;
    let job = find_mut(scope, id)?;
    match job.status {
        JobStatus::InProgress | JobStatus::Scheduled => {}
        // A job canceled without force may be canceled again with force, to also cancel
        // executions that were IN_PROGRESS; anything else on a canceled job is an error.
        JobStatus::Canceled if force && job.force_canceled != Some(true) => {}
        other => {
            return Err(ApiError::state(format!(
                "Job {id} is in status {} and cannot be canceled.",
                other.as_str()
            )))
        }
    }
    let reply = job_reply(job);
    Engine::new(scope, req.fleet).cancel_job(id, force, reason_code, comment, now);
    Ok(reply)
}

pub fn delete(scope: &mut Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let id = job_id(req)?;
    let force = req.query.bool("force")?;
    req.query.str("namespaceId", &validate::NAMESPACE_ID)?;
    let in_flight = scope.deletions_in_progress();
    let job = find(scope, id)?;
    match job.status {
        JobStatus::DeletionInProgress => {
            return Err(ApiError::state(format!(
                "Job {id} is already being deleted."
            )))
        }
        JobStatus::InProgress | JobStatus::Scheduled if !force => {
            return Err(ApiError::state(format!(
                "Job {id} is in status {}; set force=true to delete it.",
                job.status.as_str()
            )))
        }
        _ => {}
    }
    if in_flight >= MAX_DELETIONS_IN_PROGRESS {
        return Err(ApiError::limit(format!(
            "Cannot delete job {id}: {MAX_DELETIONS_IN_PROGRESS} jobs are already being deleted."
        )));
    }
    let now = req.now;
    if req.deletion_delay_ms <= 0 {
        Engine::new(scope, req.fleet).remove_job(id, now);
        return Ok(());
    }
    let at = now + req.deletion_delay_ms;
    let job = find_mut(scope, id)?;
    job.status = JobStatus::DeletionInProgress;
    job.delete_at_ms = Some(at);
    job.last_updated_at_ms = now;
    job.rollout.pending.clear();
    let gen = job.seq;
    scope.timers.push(
        at,
        crate::timers::Event::Delete {
            job: id.to_owned(),
            gen,
        },
    );
    Ok(())
}

pub fn associate_targets(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = job_id(req)?;
    req.query.str("namespaceId", &validate::NAMESPACE_ID)?;
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let targets = o
        .str_list("targets", 1, usize::MAX, &validate::TARGET_ARN)?
        .ok_or_else(|| ApiError::invalid("targets is required"))?;
    o.str("comment", &validate::COMMENT)?;
    let job = find(scope, id)?;
    // The operation does not model InvalidStateTransitionException; these preconditions
    // are request errors.
    if job.target_selection != TargetSelection::Continuous {
        return Err(ApiError::invalid(format!(
            "Job {id} is a SNAPSHOT job; targets can only be added to CONTINUOUS jobs."
        )));
    }
    if job.status != JobStatus::InProgress {
        return Err(ApiError::invalid(format!(
            "Job {id} is in status {}; targets can only be added to IN_PROGRESS jobs.",
            job.status.as_str()
        )));
    }
    let resolved = resolve_targets(scope, &targets)?;
    let job = find(scope, id)?;
    let mut all = job.targets.clone();
    for t in &resolved {
        if !all.contains(t) {
            all.push(t.clone());
        }
    }
    if all.len() > validate::MAX_TARGETS {
        return Err(ApiError::limit(format!(
            "A job can have at most {} targets; this call would make {}.",
            validate::MAX_TARGETS,
            all.len()
        )));
    }
    let now = req.now;
    let job = find_mut(scope, id)?;
    job.targets = all;
    job.last_updated_at_ms = now;
    let reply = job_reply(job);
    Engine::new(scope, req.fleet).targets_added(id, &resolved, now);
    Ok(reply)
}

fn exec_summary(e: &Execution) -> Value {
    let mut m = Map::new();
    m.insert("status".into(), e.status.as_str().into());
    m.insert("queuedAt".into(), epoch_secs(e.queued_at_ms).into());
    if let Some(t) = e.started_at_ms {
        m.insert("startedAt".into(), epoch_secs(t).into());
    }
    m.insert(
        "lastUpdatedAt".into(),
        epoch_secs(e.last_updated_at_ms).into(),
    );
    m.insert("executionNumber".into(), e.execution_number.into());
    m.insert("retryAttempt".into(), e.retry_attempt.into());
    Value::Object(m)
}

pub fn list_executions_for_job(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let id = job_id(req)?;
    let q = req.query;
    let status = q.str("status", &validate::EXEC_STATUS)?;
    let max = q.int("maxResults", 1, 250)?.unwrap_or(DEFAULT_PAGE) as usize;
    let listing = format!("execs;{id};{}", status.as_deref().unwrap_or(""));
    let after = q
        .get("nextToken")
        .map(|t| decode_token(&listing, t))
        .transpose()?;
    let job = find(scope, id)?;
    let mut page: Vec<(&String, &Execution)> = job
        .executions
        .iter()
        .filter(|(name, _)| after.as_ref().is_none_or(|a| *name > a))
        .filter(|(_, e)| status.as_deref().is_none_or(|s| e.status.as_str() == s))
        .take(max + 1)
        .collect();
    let more = page.len() > max;
    page.truncate(max);
    let mut m = Map::new();
    m.insert(
        "executionSummaries".into(),
        page.iter()
            .map(|(_, e)| json!({"thingArn": e.thing_arn, "jobExecutionSummary": exec_summary(e)}))
            .collect(),
    );
    if more {
        if let Some((name, _)) = page.last() {
            m.insert("nextToken".into(), encode_token(&listing, name).into());
        }
    }
    Ok(Value::Object(m))
}

pub fn thing_name<'a>(req: &'a Req<'_>) -> Result<&'a str, ApiError> {
    let name = req.label(0);
    check_str("thingName", name, &validate::THING_NAME)?;
    Ok(name)
}

pub fn list_executions_for_thing(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let thing = thing_name(req)?;
    let q = req.query;
    let status = q.str("status", &validate::EXEC_STATUS)?;
    let namespace = q.str("namespaceId", &validate::NAMESPACE_ID)?;
    let only_job = q.str("jobId", &validate::JOB_ID)?;
    let max = q.int("maxResults", 1, 250)?.unwrap_or(DEFAULT_PAGE) as usize;
    let listing = format!(
        "thingexecs;{thing};{};{};{}",
        status.as_deref().unwrap_or(""),
        only_job.as_deref().unwrap_or(""),
        namespace.as_deref().unwrap_or("")
    );
    let after: u64 = match q.get("nextToken") {
        Some(t) => decode_token(&listing, t)?
            .parse()
            .map_err(|_| ApiError::invalid("The nextToken is not valid for this request"))?,
        None => 0,
    };
    if !scope.things.contains_key(thing) {
        return Err(ApiError::not_found(format!(
            "Thing {thing} cannot be found."
        )));
    }
    let mut rows: Vec<(u64, &Job, &Execution)> = scope
        .jobs
        .values()
        .filter(|j| j.seq > after)
        .filter(|j| only_job.as_deref().is_none_or(|o| j.job_id == o))
        .filter(|j| {
            namespace
                .as_deref()
                .is_none_or(|n| j.namespace_id.as_deref() == Some(n))
        })
        .filter_map(|j| j.executions.get(thing).map(|e| (j.seq, j, e)))
        .filter(|(_, _, e)| status.as_deref().is_none_or(|s| e.status.as_str() == s))
        .collect();
    rows.sort_by_key(|r| r.0);
    let more = rows.len() > max;
    rows.truncate(max);
    let mut m = Map::new();
    m.insert(
        "executionSummaries".into(),
        rows.iter()
            .map(|(_, j, e)| json!({"jobId": j.job_id, "jobExecutionSummary": exec_summary(e)}))
            .collect(),
    );
    if more {
        if let Some((seq, _, _)) = rows.last() {
            m.insert(
                "nextToken".into(),
                encode_token(&listing, &seq.to_string()).into(),
            );
        }
    }
    Ok(Value::Object(m))
}

pub fn describe_execution(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let thing = thing_name(req)?;
    let id = req.label(1);
    check_str("jobId", id, &validate::JOB_ID)?;
    let number = req.query.int("executionNumber", 0, i64::MAX)?;
    let job = find(scope, id)?;
    let e = job
        .executions
        .get(thing)
        .and_then(|e| match number {
            Some(n) => e.attempt(n),
            None => Some(e),
        })
        .ok_or_else(|| {
            ApiError::not_found(format!("Job execution of {id} on {thing} cannot be found."))
        })?;
    let mut m = Map::new();
    m.insert("jobId".into(), id.into());
    m.insert("status".into(), e.status.as_str().into());
    m.insert("forceCanceled".into(), e.force_canceled.into());
    m.insert(
        "statusDetails".into(),
        json!({ "detailsMap": e.status_details }),
    );
    m.insert("thingArn".into(), e.thing_arn.clone().into());
    m.insert("queuedAt".into(), epoch_secs(e.queued_at_ms).into());
    if let Some(t) = e.started_at_ms {
        m.insert("startedAt".into(), epoch_secs(t).into());
    }
    m.insert(
        "lastUpdatedAt".into(),
        epoch_secs(e.last_updated_at_ms).into(),
    );
    m.insert("executionNumber".into(), e.execution_number.into());
    m.insert("versionNumber".into(), e.version_number.into());
    if let Some(s) = engine::seconds_before_timeout(e, req.now) {
        m.insert("approximateSecondsBeforeTimedOut".into(), s.into());
    }
    Ok(json!({ "execution": Value::Object(m) }))
}
