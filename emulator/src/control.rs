//! The unsigned `/_emulator/` control API that tests and benchmarks use to drive what
//! devices and time would do on real AWS: finishing executions, moving the clock,
//! resetting or dumping state, and reading request counters. Plain JSON in and out;
//! errors are `{"error": "..."}` with a 4xx status.

use serde_json::{json, Value};

use std::sync::Arc;

use crate::app::{iam_action, op_of_action, App};
use crate::engine::{self, Engine};
use crate::fleet::{Counting, Fleet};
use crate::model::{ExecStatus, JobStatus, Scope, World};
use crate::ops::jobs::job_json;
use crate::ops::things::apply_fleet;
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
            // Like an AWS request: the clock shown is where the engine stands.
            let mut w = app.lock();
            let (_, _, now) = engine::catch_up(&mut w, engine::REQUEST_TIMERS);
            Ok((clock_json(&w, now), false))
        }
        ("POST", ["clock", "advance"]) => advance(app, body),
        ("POST", ["reset"]) => reset(app),
        ("PUT", ["fleet"]) => put_fleet(app, query, body),
        ("GET", ["fleet"]) => {
            let w = app.lock();
            match &w.fleet {
                Some(f) => Ok((serde_json::to_value(&**f).unwrap_or(Value::Null), false)),
                None => Err(Fail(404, "no fleet is loaded".into())),
            }
        }
        ("GET", ["state"]) => {
            let w = app.lock();
            Ok((serde_json::to_value(&*w).unwrap_or(Value::Null), false))
        }
        ("GET", ["stats"]) => Ok((app.stats.to_json(), false)),
        ("GET", ["deny"]) => Ok((deny_json(app), false)),
        ("PUT", ["deny"]) => put_deny(app, body),
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

fn deny_json(app: &App) -> Value {
    let actions: Vec<String> = app.denied().into_iter().map(iam_action).collect();
    json!({ "actions": actions })
}

/// `{"actions": ["tag:GetResources", ...]}`: the IAM actions denied from now on (replaces
/// the list; `[]` allows everything again).
fn put_deny(app: &Arc<App>, body: &[u8]) -> Result<(Value, bool), Fail> {
    let v = parse(body)?;
    let items = v
        .get("actions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("body must be {\"actions\": [\"tag:GetResources\", ...]}"))?;
    let ops = items
        .iter()
        .map(|a| {
            let a = a.as_str().ok_or_else(|| bad("actions must be strings"))?;
            op_of_action(a).ok_or_else(|| bad(format!("unknown action {a}")))
        })
        .collect::<Result<_, _>>()?;
    app.set_denied(ops);
    Ok((deny_json(app), false))
}

/// Back to the state at startup, which includes the `--fleet` document.
fn reset(app: &Arc<App>) -> Result<(Value, bool), Fail> {
    let mut w = app.lock();
    *w = World::new();
    app.stats.reset();
    app.limits.reset();
    app.faults.reset();
    app.set_denied(app.cfg.deny.iter().copied().collect());
    if let Some(f) = app.cfg.fleet.clone() {
        install_fleet(&mut w, f, &app.cfg.account_id, &app.cfg.region).map_err(|e| Fail(500, e))?;
    }
    Ok((json!({"ok": true}), true))
}

fn clock_json(w: &World, now: i64) -> Value {
    json!({
        "now": now as f64 / 1000.0,
        "offsetSeconds": w.clock_offset_ms as f64 / 1000.0,
        "timeScale": w.time_scale(),
    })
}

/// Makes `fleet` the world's fleet: its time scale, and its groups and things in `region`.
pub fn install_fleet(
    w: &mut World,
    fleet: Arc<Fleet>,
    account: &str,
    region: &str,
) -> Result<u64, String> {
    let now = engine::run_all(w);
    let scope = w
        .scopes
        .entry(format!("{account}:{region}"))
        .or_insert_with(|| Scope::new(account, region));
    let created = apply_fleet(scope, &fleet, now)?;
    w.set_time_scale(fleet.time_scale);
    w.fleet = Some(fleet);
    Ok(created)
}

/// `PUT /_emulator/fleet?region=`: the fleet document as JSON replaces the simulation
/// settings; its groups and things are created where missing.
fn put_fleet(app: &Arc<App>, query: &Query, body: &[u8]) -> Result<(Value, bool), Fail> {
    let fleet = Fleet::from_json(body).map_err(|e| bad(format!("fleet: {e}")))?;
    let region = query.get("region").unwrap_or(&app.cfg.region).to_owned();
    let mut w = app.lock();
    let things = fleet.groups.iter().map(|g| g.size).sum::<u64>();
    let created = install_fleet(&mut w, Arc::new(fleet), &app.cfg.account_id, &region)
        .map_err(|e| Fail(409, format!("fleet: {e}")))?;
    Ok((
        json!({"ok": true, "things": things, "created": created, "timeScale": w.time_scale()}),
        true,
    ))
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
    // What was due before the jump happens first, then everything on the way, each timer
    // at its own emulated time.
    engine::run_all(&mut w);
    w.clock_offset_ms = w.clock_offset_ms.saturating_add((secs * 1000.0) as i64);
    let now = engine::run_all(&mut w);
    Ok((clock_json(&w, now), true))
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
    let mut guard = app.lock();
    let w = &mut *guard;
    let now = engine::run_all(w);
    let account = app.cfg.account_id.clone();
    let fleet = w.fleet.clone();
    let scope = w
        .scopes
        .get_mut(&format!("{account}:{region}"))
        .ok_or_else(|| Fail(404, format!("job {id} not found in {region}")))?;
    let job = scope
        .jobs
        .get(id)
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
    let selected: Vec<String> = job
        .executions
        .iter()
        .filter(|(name, _)| things.as_ref().is_none_or(|t| t.contains(name)))
        // `complete` leaves executions that already ended alone.
        .filter(|(_, e)| !(complete && e.status.is_terminal()))
        .map(|(name, _)| name.clone())
        .collect();
    let was_empty = job.executions.is_empty();
    let mut engine = Engine::new(scope, fleet.as_deref());
    for name in &selected {
        let current = engine
            .scope
            .jobs
            .get(id)
            .and_then(|j| j.executions.get(name))
            .map(|e| e.status);
        if status == ExecStatus::InProgress {
            if current.is_some_and(ExecStatus::is_terminal) {
                if let Some(j) = engine.scope.jobs.get_mut(id) {
                    j.set_status(name, ExecStatus::Queued, now);
                }
            }
            engine.start(id, name, None, now);
        } else if status == ExecStatus::Queued {
            // Back to QUEUED (a test resetting an execution): no timers, no retries.
            if let Some(j) = engine.scope.jobs.get_mut(id) {
                j.set_status(name, ExecStatus::Queued, now);
            }
        } else {
            engine.finish(id, name, status, now);
        }
    }
    if complete && was_empty {
        // A SNAPSHOT job whose targets had no things has nothing to wait for.
        engine.complete_empty(id, now);
    }
    engine.settle(id, now);
    let job = scope
        .jobs
        .get(id)
        .ok_or_else(|| Fail(404, format!("job {id} not found in {region}")))?;
    Ok((job_json(job, now, Counting::of(fleet.as_deref())), true))
}
