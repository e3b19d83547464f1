//! The device data plane (`iot-jobs-data`): GetPendingJobExecutions,
//! StartNextPendingJobExecution, DescribeJobExecution and UpdateJobExecution, with the
//! model's errors. Timestamps are epoch milliseconds here (the control plane answers
//! seconds). Status changes go through the engine like every other change.

use serde_json::{json, Map, Value};

use crate::engine::{self, Engine};
use crate::error::ApiError;
use crate::model::{ExecStatus, Execution, Job, JobStatus, Scope};
use crate::ops::executions::status_details;
use crate::ops::jobs::{document_of, find, thing_name};
use crate::request::Req;
use crate::validate::{self, check_str, Obj, Rule};

/// GetPendingJobExecutions answers at most this many executions (AWS job limits).
const MAX_PENDING: usize = 10;
const STEP_MAX_MINUTES: i64 = 10080;

fn thing_exists(scope: &Scope, thing: &str) -> Result<(), ApiError> {
    if scope.things.contains_key(thing) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "Thing {thing} cannot be found."
        )))
    }
}

fn summary(job: &Job, e: &Execution) -> Value {
    let mut m = Map::new();
    m.insert("jobId".into(), job.job_id.clone().into());
    m.insert("queuedAt".into(), e.queued_at_ms.into());
    if let Some(t) = e.started_at_ms {
        m.insert("startedAt".into(), t.into());
    }
    m.insert("lastUpdatedAt".into(), e.last_updated_at_ms.into());
    m.insert("versionNumber".into(), e.version_number.into());
    m.insert("executionNumber".into(), e.execution_number.into());
    Value::Object(m)
}

/// The data plane's `JobExecution`.
fn execution(job: &Job, thing: &str, e: &Execution, with_doc: bool, now: i64) -> Value {
    let mut m = Map::new();
    m.insert("jobId".into(), job.job_id.clone().into());
    m.insert("thingName".into(), thing.into());
    m.insert("status".into(), e.status.as_str().into());
    m.insert("statusDetails".into(), json!(e.status_details));
    m.insert("queuedAt".into(), e.queued_at_ms.into());
    if let Some(t) = e.started_at_ms {
        m.insert("startedAt".into(), t.into());
    }
    m.insert("lastUpdatedAt".into(), e.last_updated_at_ms.into());
    if let Some(s) = engine::seconds_before_timeout(e, now) {
        m.insert("approximateSecondsBeforeTimedOut".into(), s.into());
    }
    m.insert("versionNumber".into(), e.version_number.into());
    m.insert("executionNumber".into(), e.execution_number.into());
    if with_doc {
        m.insert("jobDocument".into(), document_of(job).into());
    }
    Value::Object(m)
}

/// The execution of `job` on `thing`: attempt `number`, or the latest one.
fn attempt<'j>(job: &'j Job, thing: &str, number: Option<i64>) -> Result<&'j Execution, ApiError> {
    let not_found = || {
        ApiError::not_found(format!(
            "Job execution of {} on {thing} cannot be found.",
            job.job_id
        ))
    };
    let latest = job.executions.get(thing).ok_or_else(not_found)?;
    match number {
        Some(n) => latest.attempt(n).ok_or_else(not_found),
        None => Ok(latest),
    }
}

fn state(e: &Execution) -> Value {
    json!({
        "status": e.status.as_str(),
        "statusDetails": e.status_details,
        "versionNumber": e.version_number,
    })
}

pub fn get_pending(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let thing = thing_name(req)?;
    thing_exists(scope, thing)?;
    let mut rows: Vec<(bool, i64, u64, &Job, &Execution)> = scope
        .jobs
        .values()
        .filter(|j| j.status != JobStatus::DeletionInProgress)
        .filter_map(|j| j.executions.get(thing).map(|e| (j, e)))
        .filter(|(j, e)| match e.status {
            ExecStatus::InProgress => true,
            ExecStatus::Queued => j.status == JobStatus::InProgress,
            _ => false,
        })
        .map(|(j, e)| {
            (
                e.status != ExecStatus::InProgress,
                e.queued_at_ms,
                j.seq,
                j,
                e,
            )
        })
        .collect();
    rows.sort_by_key(|r| (r.0, r.1, r.2));
    rows.truncate(MAX_PENDING);
    let (in_progress, queued): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| !r.0);
    Ok(json!({
        "inProgressJobs": in_progress.iter().map(|r| summary(r.3, r.4)).collect::<Vec<_>>(),
        "queuedJobs": queued.iter().map(|r| summary(r.3, r.4)).collect::<Vec<_>>(),
    }))
}

fn step_timeout(o: &Obj<'_>, allow_clear: bool) -> Result<Option<i64>, ApiError> {
    let v = o.int("stepTimeoutInMinutes", None, None)?;
    match v {
        Some(-1) if allow_clear => Ok(v),
        Some(m) if !(1..=STEP_MAX_MINUTES).contains(&m) => Err(ApiError::invalid(format!(
            "1 validation error detected: Value '{m}' at 'stepTimeoutInMinutes' failed to satisfy constraint: Member must be between 1 and {STEP_MAX_MINUTES}{}",
            if allow_clear { ", or -1 to cancel the step timer" } else { "" }
        ))),
        _ => Ok(v),
    }
}

pub fn start_next(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let thing = thing_name(req)?;
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let details = status_details(&o)?;
    let step = step_timeout(&o, false)?;
    thing_exists(scope, thing)?;
    let Some((id, _, _)) = Engine::next_pending(scope, thing) else {
        // Nothing pending: the model's response has no `execution`.
        return Ok(json!({}));
    };
    let now = req.now;
    let queued = scope
        .jobs
        .get(&id)
        .and_then(|j| j.executions.get(thing))
        .is_some_and(|e| e.status == ExecStatus::Queued);
    // An execution already IN_PROGRESS is answered as it is (statusDetails unchanged).
    if queued {
        if let (Some(d), Some(e)) = (
            details,
            scope
                .jobs
                .get_mut(&id)
                .and_then(|j| j.executions.get_mut(thing)),
        ) {
            e.status_details = d;
        }
        Engine::new(scope, req.fleet).start(&id, thing, step, now);
    }
    let job = find(scope, &id)?;
    let e = job
        .executions
        .get(thing)
        .ok_or_else(|| ApiError::not_found("The job execution disappeared."))?;
    Ok(json!({ "execution": execution(job, thing, e, true, now) }))
}

/// DescribeJobExecution's jobId may be `$next`.
const DESCRIBE_JOB_ID: Rule = Rule {
    min: 1,
    max: 64,
    ..validate::ANY
};

pub fn describe(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let thing = thing_name(req)?;
    let id = req.label(1);
    if id != "$next" {
        check_str("jobId", id, &validate::JOB_ID)?;
    } else {
        check_str("jobId", id, &DESCRIBE_JOB_ID)?;
    }
    let with_doc = match req.query.get("includeJobDocument") {
        None => true,
        Some(_) => req.query.bool("includeJobDocument")?,
    };
    let number = req.query.int("executionNumber", 0, i64::MAX)?;
    thing_exists(scope, thing)?;
    let id = if id == "$next" {
        match Engine::next_pending(scope, thing) {
            Some((next, _, _)) => next,
            None => return Ok(json!({})),
        }
    } else {
        id.to_owned()
    };
    let job = find(scope, &id)?;
    let e = attempt(job, thing, number)?;
    // The job is over and so is this execution: AWS answers TerminalStateException.
    if !job.status.is_active() && e.status.is_terminal() {
        return Err(ApiError::new(
            crate::error::ErrorCode::TerminalState,
            format!(
                "Job {id} is {} and its execution on {thing} is {}.",
                job.status.as_str(),
                e.status.as_str()
            ),
        ));
    }
    Ok(json!({ "execution": execution(job, thing, e, with_doc, req.now) }))
}

pub fn update(scope: &mut Scope, req: &Req<'_>) -> Result<Value, ApiError> {
    let thing = thing_name(req)?;
    let id = req.label(1);
    check_str("jobId", id, &validate::JOB_ID)?;
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let status_text = o.req_str("status", &validate::EXEC_STATUS)?;
    let details = status_details(&o)?;
    let step = step_timeout(&o, true)?;
    let expected = o.int("expectedVersion", None, None)?;
    let with_state = o.bool("includeJobExecutionState")?.unwrap_or(false);
    let with_doc = o.bool("includeJobDocument")?.unwrap_or(false);
    let number = o.int("executionNumber", None, None)?;
    let to = ExecStatus::parse(&status_text)
        .ok_or_else(|| ApiError::invalid(format!("Unknown status {status_text}")))?;
    if !matches!(
        to,
        ExecStatus::InProgress | ExecStatus::Succeeded | ExecStatus::Failed | ExecStatus::Rejected
    ) {
        return Err(ApiError::invalid(format!(
            "A device can set a job execution to IN_PROGRESS, SUCCEEDED, FAILED or REJECTED, not {status_text}."
        )));
    }
    thing_exists(scope, thing)?;
    let job = find(scope, id)?;
    let e = attempt(job, thing, number)?;
    let conflict = |msg: String| {
        let mut err = ApiError::state(msg);
        err.execution_state = Some(Box::new(state(e)));
        err
    };
    if e.status.is_terminal() {
        return Err(conflict(format!(
            "Job execution {} of {id} on {thing} is already {} and cannot be updated to {status_text}.",
            e.execution_number,
            e.status.as_str()
        )));
    }
    if let Some(v) = expected {
        if v != e.version_number {
            // The HTTPS data plane models no VersionConflictException; a version mismatch
            // answers the model's 409 with the current state (MQTT calls it VersionMismatch).
            return Err(conflict(format!(
                "VersionMismatch: expectedVersion {v} does not match the job execution's current versionNumber {}.",
                e.version_number
            )));
        }
    }
    let updated = e.execution_number;
    let now = req.now;
    if let Some(d) = details {
        if let Some(e) = scope
            .jobs
            .get_mut(id)
            .and_then(|j| j.executions.get_mut(thing))
        {
            e.status_details = d;
        }
    }
    {
        let mut engine = Engine::new(scope, req.fleet);
        if to == ExecStatus::InProgress {
            engine.start(id, thing, step, now);
        } else {
            engine.finish(id, thing, to, now);
        }
    }
    let job = find(scope, id)?;
    let mut out = Map::new();
    if with_state {
        // The attempt just updated: a retry may already have queued the next one.
        let e = attempt(job, thing, Some(updated))?;
        out.insert("executionState".into(), state(e));
    }
    if with_doc {
        out.insert("jobDocument".into(), document_of(job).into());
    }
    Ok(Value::Object(out))
}
