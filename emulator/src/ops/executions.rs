//! CancelJobExecution and DeleteJobExecution: the control plane's hold on one job
//! execution. Status changes go through the engine, so retries, abort criteria, job
//! completion and the simulated devices see them like any other change.

use std::collections::BTreeMap;

use crate::engine::Engine;
use crate::error::{ApiError, ErrorCode};
use crate::model::ExecStatus;
use crate::ops::jobs::{find, job_id_at, thing_name};
use crate::request::Req;
use crate::validate::{self, Obj};

/// `statusDetails`: at most 10 pairs (the CancelJobExecution doc), keys as the model's
/// `DetailsKey`, values without control characters and at most 1024 characters.
pub fn status_details(o: &Obj<'_>) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let details = o.str_map(
        "statusDetails",
        &validate::DETAILS_KEY,
        &validate::DETAILS_VALUE,
    )?;
    if let Some(d) = &details {
        if d.len() > validate::MAX_DETAILS {
            return Err(ApiError::invalid(format!(
                "1 validation error detected: statusDetails has {} entries, more than the limit of {}",
                d.len(),
                validate::MAX_DETAILS
            )));
        }
    }
    Ok(details)
}

pub fn cancel(scope: &mut crate::model::Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let thing = thing_name(req)?;
    let id = job_id_at(req, 1)?;
    let force = req.query.bool("force")?;
    let body = req.json()?;
    let o = Obj::root(&body)?;
    let expected = o.int("expectedVersion", None, None)?;
    let details = status_details(&o)?;
    let job = find(scope, id)?;
    let e = job.executions.get(thing).ok_or_else(|| {
        ApiError::not_found(format!("Job execution of {id} on {thing} cannot be found."))
    })?;
    if let Some(v) = expected {
        if v != e.version_number {
            return Err(ApiError::new(
                ErrorCode::VersionConflict,
                format!(
                    "The expectedVersion {v} does not match the job execution's current version {}.",
                    e.version_number
                ),
            ));
        }
    }
    match e.status {
        ExecStatus::Queued => {}
        ExecStatus::InProgress if force => {}
        ExecStatus::InProgress => {
            return Err(ApiError::state(format!(
                "Job execution of {id} on {thing} is IN_PROGRESS; set force=true to cancel it."
            )))
        }
        other => {
            return Err(ApiError::state(format!(
                "Job execution of {id} on {thing} is already {} and cannot be canceled.",
                other.as_str()
            )))
        }
    }
    let now = req.now;
    if let Some(e) = scope
        .jobs
        .get_mut(id)
        .and_then(|j| j.executions.get_mut(thing))
    {
        if let Some(d) = details {
            e.status_details = d;
        }
        e.force_canceled = force;
    }
    Engine::new(scope, req.fleet).finish(id, thing, ExecStatus::Canceled, now);
    Ok(())
}

pub fn delete(scope: &mut crate::model::Scope, req: &Req<'_>) -> Result<(), ApiError> {
    let thing = thing_name(req)?;
    let id = job_id_at(req, 1)?;
    let raw = req.label(2);
    let number: i64 = raw.parse().map_err(|_| {
        ApiError::invalid(format!(
            "1 validation error detected: Value '{raw}' at 'executionNumber' failed to satisfy constraint: Member must be a number"
        ))
    })?;
    let force = req.query.bool("force")?;
    req.query.str("namespaceId", &validate::NAMESPACE_ID)?;
    let job = find(scope, id)?;
    let not_found = || {
        ApiError::not_found(format!(
            "Job execution {number} of {id} on {thing} cannot be found."
        ))
    };
    let e = job.executions.get(thing).ok_or_else(not_found)?;
    let attempt = e.attempt(number).ok_or_else(not_found)?;
    // Terminal attempts go without force (TIMED_OUT too: it is terminal, though the doc's
    // list leaves it out); QUEUED and IN_PROGRESS ones need force.
    if !attempt.status.is_terminal() && !force {
        return Err(ApiError::state(format!(
            "Job execution {number} of {id} on {thing} is {}; set force=true to delete it.",
            attempt.status.as_str()
        )));
    }
    let ended = attempt.status.is_terminal();
    let latest = e.execution_number == number;
    let now = req.now;
    if latest && !ended {
        // The device can no longer see it; treat it as ended for the device and the job.
        Engine::new(scope, req.fleet).finish(id, thing, ExecStatus::Canceled, now);
    }
    if let Some(job) = scope.jobs.get_mut(id) {
        job.delete_attempt(thing, number);
    }
    if latest {
        Engine::new(scope, req.fleet).settle(id, now);
    }
    Ok(())
}
