//! The unsigned `/_emulator/` control API that tests and benchmarks use to drive what
//! devices and time would do on real AWS: finishing executions, moving the clock,
//! resetting or dumping state, and reading request counters. Plain JSON in and out;
//! errors are `{"error": "..."}` with a 4xx status.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::app::App;
use crate::model::{ExecStatus, JobStatus, World};
use crate::ops::jobs::job_json;
use crate::request::Query;
use crate::validate::{self, check_str};

/// A control-API failure: HTTP status and message.
struct Fail(u16, String);

fn bad(msg: impl Into<String>) -> Fail {
    Fail(400, msg.into())
}

fn parse(body: &[u8]) -> Result<Value, Fail> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("body is not valid JSON: {e}")))
}

pub async fn handle(
    app: &Arc<App>,
    method: &str,
    segs: &[String],
    query: &Query,
    body: &[u8],
) -> (u16, Value) {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let result = match (method, s.as_slice()) {
        ("GET", ["health"]) => Ok((json!({"ok": true}), false)),
        ("GET", ["clock"]) => {
            let w = app.lock();
            Ok((clock_json(&w), false))
        }
        ("POST", ["clock", "advance"]) => advance(app, body),
        ("POST", ["reset"]) => {
            let mut w = app.lock();
            *w = World::new();
            app.stats.reset();
            app.limits.reset();
            app.faults.reset();
            Ok((json!({"ok": true}), true))
        }
        ("GET", ["state"]) => {
            let w = app.lock();
            Ok((serde_json::to_value(&*w).unwrap_or(Value::Null), false))
        }
        ("GET", ["stats"]) => Ok((app.stats.to_json(), false)),
        ("POST", ["stats", "reset"]) => {
            app.stats.reset();
            Ok((json!({"ok": true}), false))
        }
        ("POST", ["jobs", id, "complete"]) => set_executions(app, id, query, body, true),
        ("POST", ["jobs", id, "executions"]) => set_executions(app, id, query, body, false),
        _ => Err(Fail(
            404,
            format!("no control endpoint {method} /_emulator/{}", s.join("/")),
        )),
    };
    match result {
        Ok((v, mutated)) => {
            if mutated {
                let snap = {
                    let w = app.lock();
                    app.snapshot(&w)
                };
                if let Err(e) = app.save(snap).await {
                    return (500, json!({"error": e.message}));
                }
            }
            (200, v)
        }
        Err(Fail(status, msg)) => (status, json!({"error": msg})),
    }
}

fn clock_json(w: &World) -> Value {
    json!({
        "now": w.now_ms() as f64 / 1000.0,
        "offsetSeconds": w.clock_offset_ms as f64 / 1000.0,
    })
}

/// `{"seconds": N}`: moves the emulated clock forward and applies everything that became
/// due (scheduled starts, finished deletions, end times, timeouts).
fn advance(app: &Arc<App>, body: &[u8]) -> Result<(Value, bool), Fail> {
    let v = parse(body)?;
    let secs = v
        .get("seconds")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| bad("body must be {\"seconds\": N} with N >= 0"))?;
    let mut w = app.lock();
    w.clock_offset_ms = w.clock_offset_ms.saturating_add((secs * 1000.0) as i64);
    let now = w.now_ms();
    w.tick(now);
    Ok((clock_json(&w), true))
}

/// `complete`: `{"outcome": "SUCCEEDED"|"FAILED"|"TIMED_OUT"|"REJECTED"|"REMOVED", "things": [...]?}`
/// ends every still-running execution (or just `things`).
/// `executions`: `{"status": <any JobExecutionStatus>, "things": [...]?}` sets executions
/// to any status, e.g. IN_PROGRESS to test forced cancellation.
/// Both take `?region=` (default `--region`) and answer the job as DescribeJob shows it.
fn set_executions(
    app: &Arc<App>,
    id: &str,
    query: &Query,
    body: &[u8],
    complete: bool,
) -> Result<(Value, bool), Fail> {
    check_str("jobId", id, &validate::JOB_ID).map_err(|e| bad(e.message))?;
    let v = parse(body)?;
    let key = if complete { "outcome" } else { "status" };
    let status_text = match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        None if complete => "SUCCEEDED".to_owned(),
        _ => return Err(bad(format!("`{key}` must be a job execution status"))),
    };
    let status = ExecStatus::parse(&status_text)
        .ok_or_else(|| bad(format!("unknown execution status {status_text}")))?;
    if complete && !status.is_terminal() {
        return Err(bad(format!(
            "outcome must be a terminal status (SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED, CANCELED), not {status_text}"
        )));
    }
    let things: Option<Vec<String>> = match v.get("things") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("`things` must be a list of thing names"))?,
        ),
        Some(_) => return Err(bad("`things` must be a list of thing names")),
    };
    let region = query.get("region").unwrap_or(&app.cfg.region).to_owned();
    let mut w = app.lock();
    let now = w.now_ms();
    w.tick(now);
    let account = app.cfg.account_id.clone();
    let scope = w
        .existing_scope(&account, &region)
        .ok_or_else(|| Fail(404, format!("job {id} not found in {region}")))?;
    let job = scope
        .jobs
        .get_mut(id)
        .ok_or_else(|| Fail(404, format!("job {id} not found in {region}")))?;
    if matches!(
        job.status,
        JobStatus::Scheduled | JobStatus::DeletionInProgress
    ) {
        return Err(Fail(
            409,
            format!(
                "job {id} is {}; its executions cannot change",
                job.status.as_str()
            ),
        ));
    }
    if let Some(names) = &things {
        if let Some(missing) = names.iter().find(|n| !job.executions.contains_key(*n)) {
            return Err(Fail(
                404,
                format!("job {id} has no execution for thing {missing}"),
            ));
        }
    }
    let mut timeout_due = None;
    for (name, e) in job.executions.iter_mut() {
        let selected = things.as_ref().is_none_or(|t| t.contains(name));
        // `complete` leaves executions that already ended alone.
        if !selected || (complete && e.status.is_terminal()) {
            continue;
        }
        e.status = status;
        e.last_updated_at_ms = now;
        if status == ExecStatus::InProgress {
            e.started_at_ms = Some(now);
            if let Some(m) = job
                .timeout_config
                .as_ref()
                .and_then(|t| t.in_progress_timeout_in_minutes)
            {
                timeout_due = Some(now + m * 60_000);
            }
        }
    }
    if complete && job.executions.is_empty() && job.status == JobStatus::InProgress {
        // A SNAPSHOT job whose targets had no things has nothing to wait for.
        if job.target_selection == crate::model::TargetSelection::Snapshot {
            job.status = JobStatus::Completed;
            job.completed_at_ms = Some(now);
            job.last_updated_at_ms = now;
        }
    }
    job.settle(now);
    let out = job_json(job);
    if let Some(t) = timeout_due {
        scope.note_due(t);
    }
    Ok((out, true))
}
