//! The rollout engine on the simulated fleet and the emulated clock: each test loads a
//! fleet with `timeScale: 0` (the clock moves only through `/_emulator/clock/advance`, so
//! every run is the same), creates a job, moves the clock and asserts numbers.

mod common;

use std::collections::BTreeMap;

use common::{group_arn, thing_arn, Emu};
use serde_json::{json, Value};

fn counts(job: &Value) -> BTreeMap<&'static str, i64> {
    let d = &job["jobProcessDetails"];
    [
        ("queued", "numberOfQueuedThings"),
        ("in_progress", "numberOfInProgressThings"),
        ("succeeded", "numberOfSucceededThings"),
        ("failed", "numberOfFailedThings"),
        ("rejected", "numberOfRejectedThings"),
        ("timed_out", "numberOfTimedOutThings"),
        ("canceled", "numberOfCanceledThings"),
        ("removed", "numberOfRemovedThings"),
    ]
    .into_iter()
    .map(|(k, f)| (k, d[f].as_i64().unwrap_or(-1)))
    .collect()
}

fn total(c: &BTreeMap<&str, i64>) -> i64 {
    c.values().sum()
}

fn fleet(emu: &Emu, size: u64, devices: Value, rules: Value) {
    emu.fleet(json!({
        "seed": 7,
        "timeScale": 0,
        "groups": [{"name": "Fleet"}, {"name": "Lamps", "parent": "Fleet", "size": size}],
        "devices": devices,
        "rules": rules,
    }));
}

/// Moves the clock in `step`-second steps until `done` holds, at most `max` seconds.
fn run_until(
    emu: &Emu,
    step: f64,
    max: f64,
    mut done: impl FnMut(&Value) -> bool,
    id: &str,
) -> Value {
    let mut waited = 0.0;
    loop {
        let job = emu.job(id);
        if done(&job) {
            return job;
        }
        assert!(waited < max, "gave up after {waited}s: {job}");
        emu.advance(step);
        waited += step;
    }
}

/// Executions notified per emulated minute since `start`, from their queuedAt.
fn per_minute(execs: &[Value], start: f64) -> Vec<usize> {
    let mut buckets: Vec<usize> = Vec::new();
    for e in execs {
        let q = e["jobExecutionSummary"]["queuedAt"]
            .as_f64()
            .expect("queuedAt is a number");
        let m = ((q - start + 1e-6) / 60.0).floor() as usize;
        if buckets.len() <= m {
            buckets.resize(m + 1, 0);
        }
        buckets[m] += 1;
    }
    buckets
}

#[test]
fn notifications_stay_within_maximum_per_minute() {
    let emu = Emu::start(&[]);
    fleet(
        &emu,
        230,
        json!({"pickupSeconds": {"min": 1, "max": 20}, "durationSeconds": {"min": 5, "max": 30}}),
        json!([]),
    );
    let start = emu.now();
    emu.create_job(
        "paced",
        json!({"targets": [group_arn("Fleet")], "document": "{}",
               "jobExecutionsRolloutConfig": {"maximumPerMinute": 50}}),
    )
    .ok();
    let j = emu.job("paced");
    assert_eq!(total(&counts(&j)), 50, "the first minute's batch at once");
    assert_eq!(j["isConcurrent"], true);
    assert_eq!(
        j["jobProcessDetails"]["processingTargets"],
        json!([group_arn("Fleet")])
    );
    emu.advance(59.0);
    assert_eq!(total(&counts(&emu.job("paced"))), 50);
    emu.advance(1.0);
    assert_eq!(total(&counts(&emu.job("paced"))), 100);
    let j = run_until(&emu, 30.0, 3600.0, |j| j["status"] == "COMPLETED", "paced");
    let c = counts(&j);
    assert_eq!(c["succeeded"], 230);
    assert_eq!(j["isConcurrent"], false);
    assert!(j["jobProcessDetails"].get("processingTargets").is_none());
    let minutes = per_minute(&emu.executions("paced"), start);
    assert_eq!(minutes, vec![50, 50, 50, 50, 30], "per emulated minute");
    assert!(minutes.iter().all(|n| *n <= 50));
}

#[test]
fn exponential_rate_steps_up_after_the_criterion() {
    let emu = Emu::start(&[]);
    fleet(&emu, 200, json!({"offline": 1.0}), json!([]));
    let start = emu.now();
    emu.create_job(
        "exp",
        json!({"targets": [group_arn("Fleet")], "document": "{}",
               "jobExecutionsRolloutConfig": {"maximumPerMinute": 1000, "exponentialRate": {
                   "baseRatePerMinute": 10, "incrementFactor": 2.0,
                   "rateIncreaseCriteria": {"numberOfNotifiedThings": 20}}}}),
    )
    .ok();
    for _ in 0..8 {
        emu.advance(60.0);
    }
    // The rate doubles each time 20 more things were notified (at 20, 40, 60, 80, ...
    // in all), and a new rate applies from the next rollout minute: 10, 10, then 20, then
    // 40 (two steps are earned during that minute), then 160 for the last 120.
    let minutes = per_minute(&emu.executions("exp"), start);
    assert_eq!(minutes, vec![10, 10, 20, 40, 120]);
    let j = emu.job("exp");
    assert_eq!(
        counts(&j)["queued"],
        200,
        "offline devices never pick anything up"
    );
    assert_eq!(j["status"], "IN_PROGRESS");
}

#[test]
fn maximum_per_minute_caps_the_exponential_rate() {
    let emu = Emu::start(&[]);
    fleet(&emu, 120, json!({"offline": 1.0}), json!([]));
    let start = emu.now();
    emu.create_job(
        "capped",
        json!({"targets": [group_arn("Fleet")], "document": "{}",
               "jobExecutionsRolloutConfig": {"maximumPerMinute": 25, "exponentialRate": {
                   "baseRatePerMinute": 10, "incrementFactor": 5.0,
                   "rateIncreaseCriteria": {"numberOfNotifiedThings": 10}}}}),
    )
    .ok();
    for _ in 0..6 {
        emu.advance(60.0);
    }
    assert_eq!(
        per_minute(&emu.executions("capped"), start),
        vec![10, 25, 25, 25, 25, 10]
    );
}

#[test]
fn failing_firmware_is_aborted_at_the_threshold() {
    let emu = Emu::start(&[]);
    fleet(
        &emu,
        300,
        // Slow pickups, so executions are still QUEUED when the first 20 have ended.
        json!({"pickupSeconds": {"min": 1, "max": 300}, "durationSeconds": {"min": 20, "max": 120},
               "outcomes": {"SUCCEEDED": 0.98, "FAILED": 0.02}}),
        json!([{"match": {"document": {"firmware": {"version": "4.2.1"}}},
                "outcomes": {"FAILED": 0.6, "SUCCEEDED": 0.4}}]),
    );
    emu.create_job(
        "bad-fw",
        json!({"targets": [group_arn("Fleet")],
               "document": "{\"firmware\":{\"version\":\"4.2.1\",\"url\":\"https://example.com/fw\"}}",
               "jobExecutionsRolloutConfig": {"maximumPerMinute": 100},
               "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL",
                   "thresholdPercentage": 20, "minNumberOfExecutedThings": 20}]}}),
    )
    .ok();
    let j = run_until(
        &emu,
        5.0,
        3600.0,
        |j| j["status"] != "IN_PROGRESS",
        "bad-fw",
    );
    assert_eq!(j["status"], "CANCELED");
    assert_eq!(j["forceCanceled"], false);
    assert_eq!(j["reasonCode"], "ABORT_CRITERIA_MET");
    assert!(j["comment"].as_str().unwrap().contains("FAILED"), "{j}");
    let c = counts(&j);
    let executed = c["succeeded"] + c["failed"] + c["rejected"] + c["timed_out"];
    assert!(executed >= 20, "not before 20 executed: {c:?}");
    assert!(c["failed"] * 5 >= executed, "at least 20% failed: {c:?}");
    assert_eq!(c["queued"], 0, "queued executions are canceled: {c:?}");
    assert!(c["canceled"] > 0, "{c:?}");
    assert!(executed < 300, "fewer than all things executed: {c:?}");
    assert!(total(&c) < 300, "the rest were never rolled out: {c:?}");
    // In-flight executions may still finish; nothing new is notified.
    emu.advance(600.0);
    let later = counts(&emu.job("bad-fw"));
    assert_eq!(total(&later), total(&c));
    assert_eq!(later["in_progress"], 0);
    assert_eq!(emu.job("bad-fw")["isConcurrent"], false);
}

#[test]
fn retries_bring_half_failing_devices_near_seven_eighths() {
    let emu = Emu::start(&[]);
    fleet(
        &emu,
        400,
        json!({"pickupSeconds": {"min": 1, "max": 5}, "durationSeconds": {"min": 5, "max": 10},
               "outcomes": {"SUCCEEDED": 0.5, "FAILED": 0.5}}),
        json!([]),
    );
    emu.create_job(
        "retry",
        json!({"targets": [group_arn("Fleet")], "document": "{}",
               "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 2}]}}),
    )
    .ok();
    let j = run_until(&emu, 10.0, 3600.0, |j| j["status"] == "COMPLETED", "retry");
    // The counts count attempts: as many as the execution numbers add up to.
    let attempts: i64 = emu
        .executions("retry")
        .iter()
        .map(|e| {
            e["jobExecutionSummary"]["executionNumber"]
                .as_i64()
                .unwrap()
        })
        .sum();
    let c = counts(&j);
    assert!(attempts > 400);
    assert_eq!(c["succeeded"] + c["failed"], attempts, "{c:?}");
    // Each thing's latest attempt, with the fleet's `counting: perThing`.
    emu.fleet(json!({"seed": 7, "timeScale": 0, "counting": "perThing",
                     "groups": [{"name": "Fleet"}, {"name": "Lamps", "parent": "Fleet", "size": 400}]}));
    let c = counts(&emu.job("retry"));
    assert_eq!(c["succeeded"] + c["failed"], 400, "{c:?}");
    let share = c["succeeded"] as f64 / 400.0;
    assert!((share - 0.875).abs() < 0.05, "{share} succeeded");
    let execs = emu.executions("retry");
    let max_no = execs
        .iter()
        .map(|e| {
            e["jobExecutionSummary"]["executionNumber"]
                .as_i64()
                .unwrap()
        })
        .max()
        .unwrap();
    assert_eq!(max_no, 3);
    // Every FAILED thing used both retries; its first attempt is still there to describe.
    let failed: Vec<&Value> = execs
        .iter()
        .filter(|e| e["jobExecutionSummary"]["status"] == "FAILED")
        .collect();
    assert_eq!(failed.len() as i64, c["failed"]);
    for e in &failed {
        assert_eq!(e["jobExecutionSummary"]["executionNumber"], 3);
        assert_eq!(e["jobExecutionSummary"]["retryAttempt"], 2);
    }
    let thing = failed[0]["thingArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let first = emu
        .aws(
            "GET",
            &format!("/things/{thing}/jobs/retry?executionNumber=1"),
            None,
        )
        .ok();
    assert_eq!(first["execution"]["status"], "FAILED");
    assert_eq!(first["execution"]["executionNumber"], 1);
}

#[test]
fn devices_that_never_report_time_out() {
    let emu = Emu::start(&[]);
    fleet(
        &emu,
        10,
        json!({"pickupSeconds": {"min": 1, "max": 1}, "outcomes": {"TIMED_OUT": 1.0}}),
        json!([]),
    );
    emu.create_job(
        "slow",
        json!({"targets": [group_arn("Fleet")], "document": "{}",
               "timeoutConfig": {"inProgressTimeoutInMinutes": 2}}),
    )
    .ok();
    emu.advance(2.0);
    let j = emu.job("slow");
    assert_eq!(counts(&j)["in_progress"], 10);
    let x = emu.aws("GET", "/things/Lamps-0001/jobs/slow", None).ok();
    let left = x["execution"]["approximateSecondsBeforeTimedOut"]
        .as_i64()
        .unwrap();
    assert!((118..=120).contains(&left), "{left}");
    emu.advance(118.0);
    assert_eq!(counts(&emu.job("slow"))["in_progress"], 10);
    emu.advance(2.0);
    let j = emu.job("slow");
    assert_eq!(counts(&j)["timed_out"], 10);
    assert_eq!(j["status"], "COMPLETED");
}

fn utc(epoch: f64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(epoch as i64).expect("epoch seconds in range")
}

#[test]
fn maintenance_windows_hold_notifications_outside_the_window() {
    let emu = Emu::start(&[]);
    fleet(&emu, 100, json!({"offline": 1.0}), json!([]));
    // A daily 5-minute window starting at the next whole hour at least two hours ahead.
    let now = emu.now();
    let start = ((now / 3600.0).floor() + 3.0) * 3600.0;
    let hour = utc(start).hour();
    emu.create_job(
        "win",
        json!({"targets": [group_arn("Fleet")], "document": "{}",
               "jobExecutionsRolloutConfig": {"maximumPerMinute": 10},
               "schedulingConfig": {"maintenanceWindows": [
                   {"startTime": format!("cron(0 {hour} * * ? *)"), "durationInMinutes": 5}]}}),
    )
    .ok();
    let j = emu.job("win");
    assert_eq!(j["status"], "SCHEDULED");
    assert_eq!(total(&counts(&j)), 0);
    let t = utc(start);
    let first = format!(
        "{:04}-{:02}-{:02}T{:02}:00",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour()
    );
    let rollouts = j["scheduledJobRollouts"].as_array().unwrap();
    assert_eq!(rollouts.len(), 7);
    assert_eq!(rollouts[0]["startTime"], first.as_str());
    emu.advance(start - emu.now() - 1.0);
    assert_eq!(
        total(&counts(&emu.job("win"))),
        0,
        "nothing before the window"
    );
    emu.advance(2.0);
    let j = emu.job("win");
    assert_eq!(j["status"], "IN_PROGRESS");
    assert_eq!(total(&counts(&j)), 10);
    emu.advance(5.0 * 60.0);
    let j = emu.job("win");
    assert_eq!(total(&counts(&j)), 50, "five minutes at 10 a minute");
    assert_eq!(
        j["status"], "SCHEDULED",
        "back to SCHEDULED between windows"
    );
    emu.advance(12.0 * 3600.0);
    assert_eq!(
        total(&counts(&emu.job("win"))),
        50,
        "held outside the window"
    );
    emu.advance(12.0 * 3600.0);
    let j = emu.job("win");
    assert_eq!(
        total(&counts(&j)),
        100,
        "the next day's window finishes the rollout"
    );
    assert_eq!(j["status"], "IN_PROGRESS");
}

#[test]
fn continuous_jobs_reach_things_that_join_later() {
    let emu = Emu::start(&[]);
    fleet(
        &emu,
        5,
        json!({"pickupSeconds": {"min": 1, "max": 2}, "durationSeconds": {"min": 3, "max": 4}}),
        json!([]),
    );
    emu.create_job(
        "cont",
        json!({"targets": [group_arn("Fleet")], "document": "{}", "targetSelection": "CONTINUOUS"}),
    )
    .ok();
    emu.advance(30.0);
    let j = emu.job("cont");
    assert_eq!(counts(&j)["succeeded"], 5);
    assert_eq!(j["status"], "IN_PROGRESS", "a CONTINUOUS job keeps running");
    // Growing the fleet adds simulated things to Lamps; they get executions at once.
    emu.fleet(json!({"seed": 7, "timeScale": 0,
        "groups": [{"name": "Fleet"}, {"name": "Lamps", "parent": "Fleet", "size": 8}]}));
    assert_eq!(counts(&emu.job("cont"))["queued"], 3);
    // A manual device joining a targeted group gets one too and keeps it QUEUED.
    emu.thing("manual-1");
    emu.aws(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "Lamps", "thingName": "manual-1"})),
    )
    .ok();
    emu.advance(600.0);
    let c = counts(&emu.job("cont"));
    assert_eq!((c["succeeded"], c["queued"]), (8, 1));
    let x = emu.aws("GET", "/things/manual-1/jobs/cont", None).ok();
    assert_eq!(x["execution"]["thingArn"], thing_arn("manual-1"));
    assert_eq!(x["execution"]["status"], "QUEUED");
}

#[test]
fn rules_match_groups_and_job_ids() {
    let emu = Emu::start(&[]);
    emu.fleet(json!({
        "seed": 3, "timeScale": 0,
        "groups": [{"name": "Bulbs"}, {"name": "BulbsCanary", "parent": "Bulbs", "size": 10},
                   {"name": "BulbsRest", "parent": "Bulbs", "size": 10}],
        "devices": {"pickupSeconds": {"min": 1, "max": 1}, "durationSeconds": {"min": 10, "max": 10}},
        "rules": [{"match": {"group": "BulbsCanary", "jobId": "canary-only"}, "outcomes": {"REJECTED": 1.0}}]
    }));
    emu.create_job(
        "canary-only",
        json!({"targets": [group_arn("Bulbs")], "document": "{}"}),
    )
    .ok();
    emu.create_job(
        "other",
        json!({"targets": [group_arn("Bulbs")], "document": "{}"}),
    )
    .ok();
    // Each device runs one job at a time: "canary-only" first (queued first), then "other".
    emu.advance(11.0);
    let a = counts(&emu.job("canary-only"));
    assert_eq!((a["rejected"], a["succeeded"]), (10, 10));
    assert_eq!(total(&counts(&emu.job("other"))), 20);
    assert_eq!(
        counts(&emu.job("other"))["queued"],
        20,
        "devices are busy with the first job"
    );
    emu.advance(11.0);
    let b = counts(&emu.job("other"));
    assert_eq!(b["succeeded"], 20, "the rule names another job id");
}

#[test]
fn the_same_seed_gives_the_same_simulation() {
    let run = |seed: u64| -> Vec<(String, String, i64)> {
        let emu = Emu::start(&[]);
        emu.fleet(json!({
            "seed": seed, "timeScale": 0,
            "groups": [{"name": "Fleet", "size": 60}],
            "devices": {"outcomes": {"SUCCEEDED": 0.5, "FAILED": 0.3, "REJECTED": 0.2}, "offline": 0.1},
        }));
        emu.create_job(
            "d",
            json!({"targets": [group_arn("Fleet")], "document": "{}",
                   "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "ALL", "numberOfRetries": 1}]}}),
        )
        .ok();
        emu.advance(3600.0);
        emu.executions("d")
            .iter()
            .map(|e| {
                (
                    e["thingArn"].as_str().unwrap().to_owned(),
                    e["jobExecutionSummary"]["status"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    e["jobExecutionSummary"]["executionNumber"]
                        .as_i64()
                        .unwrap(),
                )
            })
            .collect()
    };
    let a = run(11);
    assert_eq!(a.len(), 60);
    assert_eq!(a, run(11));
    assert_ne!(a, run(12));
    let offline = a.iter().filter(|e| e.1 == "QUEUED").count();
    assert!((1..=15).contains(&offline), "about 10% offline: {offline}");
}

#[test]
fn fleet_documents_are_checked() {
    let emu = Emu::start(&[]);
    let r = emu.control(
        "PUT",
        "fleet",
        Some(json!({"groups": [{"name": "A", "size": 2_000_000}]})),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json["error"].as_str().unwrap().contains("groups[0].size"),
        "{}",
        r.json
    );
    let r = emu.control(
        "PUT",
        "fleet",
        Some(json!({"devices": {"outcomes": {"SUCCEEDED": 0.7}}})),
    );
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("devices.outcomes"),
        "{}",
        r.json
    );
    let r = emu.control("PUT", "fleet", Some(json!({"seed": 1, "speed": 3})));
    assert!(
        r.json["error"].as_str().unwrap().contains("speed"),
        "{}",
        r.json
    );
    assert_eq!(emu.control("GET", "fleet", None).status, 404);
    let ok = emu.fleet(json!({"timeScale": 60, "groups": [{"name": "G", "size": 3}]}));
    assert_eq!(ok["created"], 3);
    assert_eq!(emu.control("GET", "clock", None).ok()["timeScale"], 60.0);
    assert_eq!(
        emu.control("GET", "fleet", None).ok()["groups"][0]["name"],
        "G"
    );
    emu.aws("GET", "/things/G-0003", None).ok();
    emu.aws("GET", "/thing-groups/G", None).ok();
}
