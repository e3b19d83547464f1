//! Command-line behaviour: --fail, --fault-rate/--seed, --aws-limits, --tps,
//! --max-active-jobs, --latency, --region, --state-file, and bad flags.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{enc, job_arn, thing_arn, Emu};
use serde_json::json;

#[test]
fn fail_rule_counts_down_then_succeeds() {
    let emu = Emu::start(&[
        "--fail",
        "CreateJob=ThrottlingException:2",
        "--fail",
        "DeleteJob=LimitExceeded",
    ]);
    emu.thing("dev1");
    let body = json!({"targets": [thing_arn("dev1")], "document": "{}"});
    emu.create_job("f", body.clone())
        .err("ThrottlingException", 400);
    emu.create_job("f", body.clone())
        .err("ThrottlingException", 400);
    emu.create_job("f", body).ok();
    // Without a count the rule never runs out.
    for _ in 0..3 {
        emu.aws("DELETE", "/jobs/f?force=true", None)
            .err("LimitExceededException", 410);
    }
    // Other operations are untouched.
    emu.describe("f").ok();
    let stats = emu.control("GET", "stats", None).ok();
    assert_eq!(stats["operations"]["CreateJob"]["ThrottlingException"], 2);
    // Reset re-arms counted rules.
    emu.control("POST", "reset", None).ok();
    emu.thing("dev1");
    emu.create_job(
        "g",
        json!({"targets": [thing_arn("dev1")], "document": "{}"}),
    )
    .err("ThrottlingException", 400);
}

#[test]
fn fail_rule_with_resource_already_exists_carries_members() {
    let emu = Emu::start(&["--fail", "CreateThing=ResourceAlreadyExistsException:1"]);
    let r = emu.aws("POST", "/things/x", Some(json!({})));
    r.err("ResourceAlreadyExistsException", 409);
    emu.aws("POST", "/things/x", Some(json!({}))).ok();
}

fn fault_sequence(seed: &str) -> Vec<u16> {
    let emu = Emu::start(&["--fault-rate", "0.4", "--seed", seed]);
    (0..60)
        .map(|_| emu.aws("GET", "/jobs", None).status)
        .collect()
}

#[test]
fn fault_rate_is_deterministic_per_seed() {
    let a = fault_sequence("42");
    let b = fault_sequence("42");
    let c = fault_sequence("7");
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "different seed, different faults");
    assert!(
        a.contains(&200) && a.contains(&500) && a.contains(&503),
        "{a:?}"
    );
    let faults = a.iter().filter(|s| **s != 200).count();
    assert!(
        (10..=40).contains(&faults),
        "{faults} faults of 60 at rate 0.4"
    );
}

#[test]
fn fault_errors_are_modeled() {
    let emu = Emu::start(&["--fault-rate", "1"]);
    let r = emu.aws("GET", "/jobs", None);
    assert!(matches!(
        (r.status, r.code()),
        (503, "ServiceUnavailableException") | (500, "InternalFailureException")
    ));
    // The control API is never faulted.
    emu.control("GET", "health", None).ok();
}

#[test]
fn aws_limits_throttle_job_apis_at_10_tps() {
    let emu = Emu::start(&["--aws-limits"]);
    let statuses: Vec<(u16, String)> = (0..15)
        .map(|_| {
            let r = emu.aws("GET", "/jobs", None);
            (r.status, r.code().to_owned())
        })
        .collect();
    let throttled = statuses
        .iter()
        .filter(|(s, c)| *s == 400 && c == "ThrottlingException")
        .count();
    assert!(throttled >= 3, "{statuses:?}");
    assert_eq!(statuses[0].0, 200);
    // Thing APIs are not limited by --aws-limits.
    for i in 0..20 {
        emu.aws("POST", &format!("/things/t{i}"), Some(json!({})))
            .ok();
    }
    // Buckets refill.
    std::thread::sleep(Duration::from_millis(1100));
    emu.aws("GET", "/jobs", None).ok();
    // Regions have their own buckets.
    emu.aws_in("eu-west-1", "GET", "/jobs", None).ok();
}

#[test]
fn tps_override_limits_one_operation() {
    let emu = Emu::start(&["--tps", "ListJobs=2"]);
    emu.aws("GET", "/jobs", None).ok();
    emu.aws("GET", "/jobs", None).ok();
    emu.aws("GET", "/jobs", None)
        .err("ThrottlingException", 400);
    for _ in 0..20 {
        emu.describe("x").err("ResourceNotFoundException", 404);
    }
}

#[test]
fn max_active_jobs() {
    let emu = Emu::start(&["--max-active-jobs", "2"]);
    emu.simple_job("a");
    emu.simple_job("b");
    emu.create_job(
        "c",
        json!({"targets": [thing_arn("dev1")], "document": "{}"}),
    )
    .err("LimitExceededException", 410);
    emu.aws("PUT", "/jobs/a/cancel", Some(json!({}))).ok();
    emu.simple_job("c");
}

#[test]
fn latency_delays_aws_calls_only() {
    let emu = Emu::start(&["--latency", "150"]);
    let t = Instant::now();
    emu.aws("GET", "/jobs", None).ok();
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    emu.control("GET", "health", None).ok();
    assert!(t.elapsed() < Duration::from_millis(150));
}

#[test]
fn region_and_account_flags() {
    let emu = Emu::start(&["--region", "eu-central-1", "--account-id", "111122223333"]);
    // Unsigned calls use --region.
    let r = emu.request("POST", "/things/d", Some(b"{}"), None).ok();
    assert_eq!(
        r["thingArn"],
        "arn:aws:iot:eu-central-1:111122223333:thing/d"
    );
    let body = serde_json::to_vec(&json!({
        "targets": ["arn:aws:iot:eu-central-1:111122223333:thing/d"], "document": "{}"
    }))
    .unwrap();
    let out = emu.request("PUT", "/jobs/j", Some(&body), None).ok();
    assert_eq!(out["jobArn"], "arn:aws:iot:eu-central-1:111122223333:job/j");
}

#[test]
fn state_file_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let p = path.to_str().unwrap();
    let before;
    {
        let emu = Emu::start(&["--state-file", p, "--deletion-delay-ms", "60000"]);
        emu.simple_job("keep");
        emu.simple_job("gone");
        emu.aws(
            "POST",
            "/tags",
            Some(json!({"resourceArn": job_arn("keep"), "tags": [{"Key": "k", "Value": "v"}]})),
        )
        .ok();
        emu.aws("DELETE", "/jobs/gone?force=true", None).ok();
        emu.advance(10.0);
        before = emu.describe("keep").ok();
        emu.stop();
    }
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("state file is JSON");
    assert_eq!(saved["format"], 1);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp files left behind");

    let emu = Emu::start(&["--state-file", p]);
    assert_eq!(emu.describe("keep").ok(), before);
    let tags = emu
        .aws(
            "GET",
            &format!("/tags?resourceArn={}", enc(&job_arn("keep"))),
            None,
        )
        .ok();
    assert_eq!(tags["tags"], json!([{"Key": "k", "Value": "v"}]));
    // The clock offset and the pending deletion came back too.
    assert_eq!(emu.status("gone"), "DELETION_IN_PROGRESS");
    assert!(
        emu.control("GET", "clock", None).ok()["offsetSeconds"]
            .as_f64()
            .unwrap()
            >= 10.0
    );
    emu.advance(60.0);
    emu.describe("gone").err("ResourceNotFoundException", 404);
    emu.stop();

    // The finished deletion was saved as well.
    let emu = Emu::start(&["--state-file", p]);
    emu.describe("gone").err("ResourceNotFoundException", 404);
    emu.describe("keep").ok();
}

fn run_bin(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jobctl-emulator"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_flags_and_bad_state_files_fail_to_start() {
    let (code, err) = run_bin(&["--listen", "127.0.0.1:0", "--fail", "Nope=Throttling"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown operation"), "{err}");
    let (code, err) = run_bin(&["--listen", "127.0.0.1:0", "--fault-rate", "2"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("between 0 and 1"), "{err}");
    let (code, err) = run_bin(&["--listen", "127.0.0.1:0", "--tagging-lag", "2h"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("ms, s or m"), "{err}");
    let (code, err) = run_bin(&["--listen", "127.0.0.1:0", "--deny", "tag:TagResources"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown action"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::write(&path, "garbage").unwrap();
    let (code, err) = run_bin(&[
        "--listen",
        "127.0.0.1:0",
        "--state-file",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("not valid emulator state"), "{err}");
}
