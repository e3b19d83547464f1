//! The device data plane (`iot-jobs-data`) and the control plane's per-execution calls,
//! over plain HTTP against the real binary: a manual device goes through a whole job.

mod common;

use common::{thing_arn, Emu};
use serde_json::json;

fn job_on(emu: &Emu, id: &str, things: &[&str], extra: serde_json::Value) {
    for t in things {
        emu.thing(t);
    }
    let mut body = json!({
        "targets": things.iter().map(|t| thing_arn(t)).collect::<Vec<_>>(),
        "document": "{\"op\":\"reboot\"}",
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    emu.create_job(id, body).ok();
}

#[test]
fn a_manual_device_runs_a_whole_job() {
    let emu = Emu::start(&[]);
    job_on(&emu, "j1", &["dev1"], json!({}));
    let p = emu.data("GET", "/things/dev1/jobs", None).ok();
    assert_eq!(p["inProgressJobs"], json!([]));
    let q = &p["queuedJobs"][0];
    assert_eq!(q["jobId"], "j1");
    assert_eq!(q["versionNumber"], 1);
    assert_eq!(q["executionNumber"], 1);
    // Data-plane timestamps are epoch milliseconds.
    assert!(q["queuedAt"].as_i64().unwrap() > 1_700_000_000_000);

    let s = emu
        .data(
            "PUT",
            "/things/dev1/jobs/$next",
            Some(json!({"statusDetails": {"step": "download"}, "stepTimeoutInMinutes": 5})),
        )
        .ok();
    let e = &s["execution"];
    assert_eq!(e["status"], "IN_PROGRESS");
    assert_eq!(e["versionNumber"], 2);
    assert_eq!(e["jobDocument"], "{\"op\":\"reboot\"}");
    assert_eq!(e["statusDetails"], json!({"step": "download"}));
    assert_eq!(e["thingName"], "dev1");
    assert!(e["approximateSecondsBeforeTimedOut"].as_i64().unwrap() <= 300);

    // A stale version is refused with the current state.
    let r = emu.data(
        "POST",
        "/things/dev1/jobs/j1",
        Some(json!({"status": "IN_PROGRESS", "expectedVersion": 1})),
    );
    r.err("InvalidStateTransitionException", 409);
    assert_eq!(r.json["executionState"]["versionNumber"], 2);
    assert_eq!(r.json["executionState"]["status"], "IN_PROGRESS");

    let u = emu
        .data(
            "POST",
            "/things/dev1/jobs/j1",
            Some(json!({"status": "SUCCEEDED", "expectedVersion": 2,
                        "statusDetails": {"step": "done"},
                        "includeJobExecutionState": true, "includeJobDocument": true})),
        )
        .ok();
    assert_eq!(u["executionState"]["status"], "SUCCEEDED");
    assert_eq!(u["executionState"]["versionNumber"], 3);
    assert_eq!(u["jobDocument"], "{\"op\":\"reboot\"}");
    let u = emu.data(
        "POST",
        "/things/dev1/jobs/j1",
        Some(json!({"status": "IN_PROGRESS"})),
    );
    u.err("InvalidStateTransitionException", 409);
    assert_eq!(u.json["executionState"]["status"], "SUCCEEDED");
    let j = emu.job("j1");
    assert_eq!(j["status"], "COMPLETED");
    assert_eq!(j["jobProcessDetails"]["numberOfSucceededThings"], 1);
    // The job and the execution are over: describing it is TerminalStateException (410).
    emu.data("GET", "/things/dev1/jobs/j1", None)
        .err("TerminalStateException", 410);
    // Nothing left: $next answers no execution.
    assert_eq!(
        emu.data("PUT", "/things/dev1/jobs/$next", Some(json!({})))
            .ok(),
        json!({})
    );
    assert_eq!(
        emu.data("GET", "/things/dev1/jobs/$next", None).ok(),
        json!({})
    );
    // The control plane sees the device's details.
    let c = emu.aws("GET", "/things/dev1/jobs/j1", None).ok();
    assert_eq!(
        c["execution"]["statusDetails"]["detailsMap"],
        json!({"step": "done"})
    );
    assert_eq!(c["execution"]["versionNumber"], 3);
}

#[test]
fn data_plane_errors_follow_the_model() {
    let emu = Emu::start(&[]);
    job_on(&emu, "j1", &["dev1"], json!({}));
    emu.data("GET", "/things/ghost/jobs", None)
        .err("ResourceNotFoundException", 404);
    emu.data("GET", "/things/dev1/jobs/nope", None)
        .err("ResourceNotFoundException", 404);
    emu.data(
        "POST",
        "/things/dev1/jobs/j1",
        Some(json!({"status": "CANCELED"})),
    )
    .err("InvalidRequestException", 400);
    emu.data("POST", "/things/dev1/jobs/j1", Some(json!({})))
        .err("InvalidRequestException", 400);
    emu.data(
        "POST",
        "/things/dev1/jobs/j1",
        Some(json!({"status": "IN_PROGRESS", "stepTimeoutInMinutes": 0})),
    )
    .err("InvalidRequestException", 400);
    let eleven: serde_json::Map<String, serde_json::Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    emu.data(
        "POST",
        "/things/dev1/jobs/j1",
        Some(json!({"status": "IN_PROGRESS", "statusDetails": eleven})),
    )
    .err("InvalidRequestException", 400);
    emu.data(
        "POST",
        "/things/dev1/jobs/j1",
        Some(json!({"status": "IN_PROGRESS", "statusDetails": {"bad key": "v"}})),
    )
    .err("InvalidRequestException", 400);
    // Throttling on the data plane is 429 (the IoT control plane uses 400).
    let emu = Emu::start(&["--fail", "iot-jobs-data:GetPendingJobExecutions=Throttling"]);
    let r = emu.data("GET", "/things/dev1/jobs", None);
    assert_eq!((r.status, r.code()), (429, "ThrottlingException"));
}

#[test]
fn step_timer_times_out_and_retries() {
    let emu = Emu::start(&[]);
    job_on(
        &emu,
        "t",
        &["dev1"],
        json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 10},
               "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 1}]}}),
    );
    emu.data(
        "PUT",
        "/things/dev1/jobs/$next",
        Some(json!({"stepTimeoutInMinutes": 1})),
    )
    .ok();
    emu.advance(59.0);
    assert_eq!(
        emu.job("t")["jobProcessDetails"]["numberOfInProgressThings"],
        1
    );
    emu.advance(2.0);
    // TIMED_OUT, then retried as execution number 2.
    let e = emu.aws("GET", "/things/dev1/jobs/t", None).ok()["execution"].clone();
    assert_eq!(
        (e["status"].as_str(), e["executionNumber"].as_i64()),
        (Some("QUEUED"), Some(2))
    );
    let first = emu
        .aws("GET", "/things/dev1/jobs/t?executionNumber=1", None)
        .ok();
    assert_eq!(first["execution"]["status"], "TIMED_OUT");
    // A step of -1 clears the step timer; the in-progress timer still runs (10 minutes).
    emu.data(
        "PUT",
        "/things/dev1/jobs/$next",
        Some(json!({"stepTimeoutInMinutes": 1})),
    )
    .ok();
    emu.data(
        "POST",
        "/things/dev1/jobs/t",
        Some(json!({"status": "IN_PROGRESS", "stepTimeoutInMinutes": -1})),
    )
    .ok();
    emu.advance(300.0);
    assert_eq!(
        emu.job("t")["jobProcessDetails"]["numberOfInProgressThings"],
        1
    );
    emu.advance(301.0);
    let j = emu.job("t");
    // Both attempts timed out, and the counts count attempts.
    assert_eq!(j["jobProcessDetails"]["numberOfTimedOutThings"], 2);
    assert_eq!(j["status"], "COMPLETED", "no retries left");
}

#[test]
fn cancel_and_delete_job_executions() {
    let emu = Emu::start(&[]);
    job_on(&emu, "c", &["a", "b", "d"], json!({}));
    emu.data("PUT", "/things/b/jobs/$next", Some(json!({})))
        .ok();
    // QUEUED cancels without force; the version must match when given.
    emu.aws(
        "PUT",
        "/things/a/jobs/c/cancel",
        Some(json!({"expectedVersion": 7})),
    )
    .err("VersionConflictException", 409);
    let r = emu.aws(
        "PUT",
        "/things/a/jobs/c/cancel",
        Some(json!({"expectedVersion": 1, "statusDetails": {"why": "bad-batch"}})),
    );
    assert_eq!((r.status, r.raw.len()), (200, 0));
    let a = emu.aws("GET", "/things/a/jobs/c", None).ok()["execution"].clone();
    assert_eq!(a["status"], "CANCELED");
    assert_eq!(a["statusDetails"]["detailsMap"]["why"], "bad-batch");
    // IN_PROGRESS needs force; terminal ones cannot be canceled again.
    emu.aws("PUT", "/things/b/jobs/c/cancel", Some(json!({})))
        .err("InvalidStateTransitionException", 409);
    emu.aws("PUT", "/things/b/jobs/c/cancel?force=true", Some(json!({})))
        .ok();
    let b = emu.aws("GET", "/things/b/jobs/c", None).ok()["execution"].clone();
    assert_eq!(
        (b["status"].as_str(), b["forceCanceled"].as_bool()),
        (Some("CANCELED"), Some(true))
    );
    emu.aws("PUT", "/things/a/jobs/c/cancel?force=true", Some(json!({})))
        .err("InvalidStateTransitionException", 409);
    // A forced cancel leaves the device unable to update.
    emu.data(
        "POST",
        "/things/b/jobs/c",
        Some(json!({"status": "SUCCEEDED"})),
    )
    .err("InvalidStateTransitionException", 409);

    // DeleteJobExecution: QUEUED needs force, a wrong number is not found.
    emu.aws("DELETE", "/things/d/jobs/c/executionNumber/1", None)
        .err("InvalidStateTransitionException", 409);
    emu.aws("DELETE", "/things/a/jobs/c/executionNumber/9", None)
        .err("ResourceNotFoundException", 404);
    emu.aws("DELETE", "/things/a/jobs/c/executionNumber/1", None)
        .ok();
    emu.aws("GET", "/things/a/jobs/c", None)
        .err("ResourceNotFoundException", 404);
    let j = emu.job("c");
    assert_eq!(j["jobProcessDetails"]["numberOfCanceledThings"], 1);
    assert_eq!(j["jobProcessDetails"]["numberOfQueuedThings"], 1);
    emu.aws(
        "DELETE",
        "/things/d/jobs/c/executionNumber/1?force=true",
        None,
    )
    .ok();
    // Only b's canceled execution is left, so the SNAPSHOT job is done.
    let j = emu.job("c");
    assert_eq!(j["status"], "COMPLETED");
    assert_eq!(j["jobProcessDetails"]["numberOfCanceledThings"], 1);
}

#[test]
fn listings_filter_by_status_job_and_namespace() {
    let emu = Emu::start(&[]);
    job_on(&emu, "l1", &["x", "y"], json!({}));
    job_on(&emu, "l2", &["x"], json!({"namespaceId": "ns1"}));
    emu.data(
        "POST",
        "/things/x/jobs/l1",
        Some(json!({"status": "FAILED"})),
    )
    .ok();
    let f = emu.aws("GET", "/jobs/l1/things?status=FAILED", None).ok();
    assert_eq!(f["executionSummaries"].as_array().unwrap().len(), 1);
    assert_eq!(f["executionSummaries"][0]["thingArn"], thing_arn("x"));
    let t = emu.aws("GET", "/things/x/jobs?status=QUEUED", None).ok();
    assert_eq!(t["executionSummaries"][0]["jobId"], "l2");
    let n = emu.aws("GET", "/things/x/jobs?namespaceId=ns1", None).ok();
    let ids: Vec<&str> = n["executionSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["jobId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["l2"]);
    let one = emu.aws("GET", "/things/x/jobs?jobId=l1", None).ok();
    assert_eq!(
        one["executionSummaries"][0]["jobExecutionSummary"]["status"],
        "FAILED"
    );
}
