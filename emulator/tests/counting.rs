//! What `jobProcessDetails` counts (every attempt by default, each thing's latest attempt
//! with the fleet's `counting: perThing`), the abort criteria that read those counts, and
//! UpdateJob's rules for the retry configuration.

mod common;

use common::{group_arn, Emu};
use serde_json::{json, Value};

fn details(emu: &Emu, job: &str) -> Value {
    emu.job(job)["jobProcessDetails"].clone()
}

fn counting(emu: &Emu, mode: &str) {
    emu.fleet(json!({"timeScale": 0, "counting": mode}));
}

#[test]
fn failed_attempts_count_once_each_by_default_and_once_per_thing_on_request() {
    let emu = Emu::start(&[]);
    emu.group("G", &["t1", "t2"]);
    emu.create_job(
        "r",
        json!({"targets": [group_arn("G")], "document": "{}",
               "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 3}]}}),
    )
    .ok();
    // t1 fails all four attempts; t2 succeeds at once.
    for _ in 0..4 {
        emu.complete("r", "FAILED", &["t1"]);
    }
    emu.complete("r", "SUCCEEDED", &["t2"]);
    let d = details(&emu, "r");
    assert_eq!(d["numberOfFailedThings"], 4, "{d}");
    assert_eq!(d["numberOfSucceededThings"], 1, "{d}");
    assert_eq!(d["numberOfQueuedThings"], 0, "{d}");
    assert_eq!(emu.job("r")["status"], "COMPLETED");
    // The same job through the per-thing model.
    counting(&emu, "perThing");
    let d = details(&emu, "r");
    assert_eq!(d["numberOfFailedThings"], 1, "{d}");
    assert_eq!(d["numberOfSucceededThings"], 1, "{d}");
    counting(&emu, "perAttempt");
    assert_eq!(details(&emu, "r")["numberOfFailedThings"], 4);
    let bad = emu.control("PUT", "fleet", Some(json!({"counting": "perJob"})));
    assert_eq!(bad.status, 400, "an unknown counting mode is refused");
}

fn abort_while_retrying(emu: &Emu) -> Value {
    let things: Vec<String> = (1..=10).map(|i| format!("t{i:02}")).collect();
    let refs: Vec<&str> = things.iter().map(String::as_str).collect();
    emu.group("G", &refs);
    emu.create_job(
        "a",
        json!({"targets": [group_arn("G")], "document": "{}",
               "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 5}]},
               "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL",
                   "thresholdPercentage": 50, "minNumberOfExecutedThings": 3}]}}),
    )
    .ok();
    // Three failed attempts on two things, each retried at once.
    emu.complete("a", "FAILED", &["t01", "t02"]);
    emu.complete("a", "FAILED", &["t01"]);
    emu.job("a")
}

#[test]
fn an_abort_fires_while_retries_are_pending_and_cancels_them() {
    let emu = Emu::start(&[]);
    let j = abort_while_retrying(&emu);
    assert_eq!(j["status"], "CANCELED", "{j}");
    assert_eq!(j["reasonCode"], "ABORT_CRITERIA_MET");
    let d = &j["jobProcessDetails"];
    assert_eq!(d["numberOfFailedThings"], 3, "{d}");
    // Queued retries were canceled with the rest (AWS: an abort cancels queued retries).
    assert_eq!(d["numberOfQueuedThings"], 0, "{d}");
    assert_eq!(d["numberOfCanceledThings"], 10, "{d}");
}

#[test]
fn per_thing_counting_waits_until_the_retries_are_used() {
    let emu = Emu::start(&[]);
    counting(&emu, "perThing");
    let j = abort_while_retrying(&emu);
    assert_eq!(j["status"], "IN_PROGRESS", "{j}");
    assert_eq!(j["jobProcessDetails"]["numberOfFailedThings"], 0);
}

#[test]
fn a_zero_percent_threshold_needs_one_failure() {
    let emu = Emu::start(&[]);
    emu.group("G", &["t1", "t2", "t3"]);
    emu.create_job(
        "z",
        json!({"targets": [group_arn("G")], "document": "{}",
               "abortConfig": {"criteriaList": [{"failureType": "ALL", "action": "CANCEL",
                   "thresholdPercentage": 0, "minNumberOfExecutedThings": 1}]}}),
    )
    .ok();
    emu.complete("z", "SUCCEEDED", &["t1"]);
    assert_eq!(emu.status("z"), "IN_PROGRESS", "no failure, no abort");
    emu.complete("z", "REJECTED", &["t2"]);
    assert_eq!(emu.status("z"), "CANCELED");
}

#[test]
fn update_job_only_sets_retries_to_zero() {
    let emu = Emu::start(&[]);
    emu.group("G", &["t1"]);
    emu.create_job(
        "u",
        json!({"targets": [group_arn("G")], "document": "{}",
               "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 2}]}}),
    )
    .ok();
    let update = |n: i64, kind: &str| {
        emu.aws(
            "PATCH",
            "/jobs/u",
            Some(json!({"jobExecutionsRetryConfig": {"criteriaList": [{"failureType": kind, "numberOfRetries": n}]}})),
        )
    };
    update(5, "FAILED").err("InvalidRequestException", 400);
    update(1, "FAILED").err("InvalidRequestException", 400);
    update(1, "ALL").err("InvalidRequestException", 400);
    let retries = |emu: &Emu| emu.job("u")["jobExecutionsRetryConfig"]["criteriaList"][0].clone();
    assert_eq!(
        retries(&emu),
        json!({"failureType": "FAILED", "numberOfRetries": 2})
    );
    update(2, "FAILED").ok();
    update(0, "FAILED").ok();
    assert_eq!(retries(&emu)["numberOfRetries"], 0);
}

#[test]
fn a_timed_out_retry_needs_a_timeout_config() {
    let emu = Emu::start(&[]);
    emu.group("G", &["t1"]);
    let retry = json!({"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 1}]});
    let r = emu.create_job(
        "t",
        json!({"targets": [group_arn("G")], "document": "{}", "jobExecutionsRetryConfig": retry}),
    );
    r.err("InvalidRequestException", 400);
    assert!(r.message().contains("timeoutConfig"), "{}", r.message());
    emu.create_job(
        "t",
        json!({"targets": [group_arn("G")], "document": "{}", "jobExecutionsRetryConfig": retry,
               "timeoutConfig": {"inProgressTimeoutInMinutes": 5}}),
    )
    .ok();
    emu.create_job(
        "plain",
        json!({"targets": [group_arn("G")], "document": "{}"}),
    )
    .ok();
    let r = emu.aws(
        "PATCH",
        "/jobs/plain",
        Some(json!({"jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 0}]}})),
    );
    r.err("InvalidRequestException", 400);
    assert!(r.message().contains("timeoutConfig"), "{}", r.message());
    emu.aws(
        "PATCH",
        "/jobs/plain",
        Some(json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 5},
                    "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 0}]}})),
    )
    .ok();
}
