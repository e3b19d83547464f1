//! `kind: Rollout` end to end: the real binaries, the emulator's simulated fleet on a fast
//! emulated clock, driven by repeated `jobctl apply` runs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Endpoint;

/// 10 canaries, 20 in the first wave, 30 more in the rest of the fleet, all under `Bulbs`, at
/// 600 emulated seconds per second: a 10m soak takes one second. Firmware `bad` fails on 60%
/// of devices.
const FLEET: &str = r#"{
  "seed": 11,
  "timeScale": 600,
  "groups": [
    {"name": "Bulbs"},
    {"name": "BulbsCanary", "parent": "Bulbs", "size": 10},
    {"name": "BulbsWave", "parent": "Bulbs", "size": 20},
    {"name": "BulbsRest", "parent": "Bulbs", "size": 30}
  ],
  "devices": {
    "pickupSeconds": {"min": 1, "max": 30},
    "durationSeconds": {"min": 20, "max": 120},
    "outcomes": {"SUCCEEDED": 1.0}
  },
  "rules": [
    {"match": {"document": {"firmware": "bad"}}, "outcomes": {"FAILED": 0.6, "SUCCEEDED": 0.4}}
  ]
}"#;

fn fleet() -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    let (status, body) = endpoint.call("PUT", "/_emulator/fleet", FLEET);
    assert_eq!(status, 200, "{body}");
    endpoint
}

fn rollout(dir: &Path, name: &str, firmware: &str, canary_gate: &str) {
    std::fs::write(
        dir.join(format!("{name}.yaml")),
        format!(
            "apiVersion: jobctl/v1
kind: Rollout
metadata:
  name: {name}
spec:
  job:
    description: firmware {firmware}
    document:
      firmware: {firmware}
  stages:
    - name: canary
      targets: [{{thingGroup: BulbsCanary}}]
      gate: {canary_gate}
    - name: wave
      targets: [{{thingGroup: BulbsWave}}]
      gate: {{minSucceeded: 20, maxFailureRate: 10, soak: 10m}}
    - name: fleet
      targets: [{{thingGroup: Bulbs}}]
"
        ),
    )
    .expect("write manifest");
}

const GOOD_GATE: &str = "{minSucceeded: 10, maxFailureRate: 10, soak: 10m}";

/// The rollout as `jobctl apply -o json` left it, and the exit code.
fn apply(endpoint: &Endpoint, dir: &Path, name: &str) -> (i32, serde_json::Value) {
    let run = endpoint.jobctl(&["apply", "-f", ".", "-o", "json"], dir);
    let json = run.json();
    let rollout = json["rollouts"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["jobId"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no rollout {name} in {json}\n{run:?}"));
    (run.code, rollout)
}

/// Applies every 200 ms until the rollout's phase is one of `until`.
fn drive(endpoint: &Endpoint, dir: &Path, name: &str, until: &[&str]) -> Vec<serde_json::Value> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let (code, rollout) = apply(endpoint, dir, name);
        let phase = rollout["phase"].as_str().unwrap_or_default().to_string();
        seen.push(rollout.clone());
        if until.contains(&phase.as_str()) {
            if phase != "Halted" {
                assert_eq!(code, 0, "{rollout}");
            }
            return seen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "rollout {name} never reached {until:?}: {rollout}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn things(group: &str, size: usize) -> Vec<String> {
    (1..=size).map(|i| format!("{group}-{i:04}")).collect()
}

/// ListJobExecutionsForThing: the thing's executions of `job_id`.
fn executions(endpoint: &Endpoint, thing: &str, job_id: &str) -> Vec<serde_json::Value> {
    let (status, body) = endpoint.call("GET", &format!("/things/{thing}/jobs"), "");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    json["executionSummaries"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| r["jobId"] == job_id)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn describe(endpoint: &Endpoint, job_id: &str) -> serde_json::Value {
    let (status, body) = endpoint.call("GET", &format!("/jobs/{job_id}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

fn job_tags(endpoint: &Endpoint, job_id: &str) -> std::collections::BTreeMap<String, String> {
    let arn = describe(endpoint, job_id)["job"]["jobArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let (status, body) = endpoint.call("GET", &format!("/tags?resourceArn={arn}"), "");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    json["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            (
                t["Key"].as_str().unwrap_or_default().to_string(),
                t["Value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn baseline_time(tags: &std::collections::BTreeMap<String, String>, stage: &str) -> i64 {
    let value = tags
        .get(&format!("jobctl:stage/{stage}"))
        .unwrap_or_else(|| panic!("no baseline of {stage}: {tags:?}"));
    value
        .split('/')
        .find_map(|p| p.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .expect("t=")
}

/// Every thing of the fleet ran the job exactly once.
fn each_thing_ran_once(endpoint: &Endpoint, job_id: &str) {
    for thing in things("BulbsCanary", 10)
        .into_iter()
        .chain(things("BulbsWave", 20))
        .chain(things("BulbsRest", 30))
    {
        let rows = executions(endpoint, &thing, job_id);
        assert_eq!(rows.len(), 1, "{thing}: {rows:?}");
        assert_eq!(
            rows[0]["jobExecutionSummary"]["executionNumber"], 1,
            "{thing}: {rows:?}"
        );
    }
}

/// When the thing's execution last changed (epoch s): for a finished one, when it finished.
fn finished_at(endpoint: &Endpoint, thing: &str, job_id: &str) -> f64 {
    let rows = executions(endpoint, thing, job_id);
    rows[0]["jobExecutionSummary"]["lastUpdatedAt"]
        .as_f64()
        .unwrap_or_else(|| panic!("{thing}: {rows:?}"))
}

#[test]
fn good_firmware_goes_through_every_stage_once_per_thing_and_soaks() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-good", "good", GOOD_GATE);
    let seen = drive(&endpoint, dir.path(), "fw-good", &["Complete", "Halted"]);
    let last = seen.last().expect("a run");
    assert_eq!(last["phase"], "Complete", "{last}");
    let promoted: Vec<String> = seen
        .iter()
        .flat_map(|r| r["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["event"] == "promoted")
        .map(|e| {
            format!(
                "{}->{}",
                e["from"].as_str().unwrap_or(""),
                e["to"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(promoted, ["canary->wave", "wave->fleet"]);
    each_thing_ran_once(&endpoint, "fw-good");

    // The soaks held on the emulated clock: each stage started at least 10 emulated minutes
    // after the previous stage's gate could first hold (its last needed success).
    let tags = job_tags(&endpoint, "fw-good");
    assert_eq!(tags.get("jobctl:stage").map(String::as_str), Some("fleet"));
    let canary_done = things("BulbsCanary", 10)
        .iter()
        .map(|t| finished_at(&endpoint, t, "fw-good"))
        .fold(0.0, f64::max);
    let wave_started = baseline_time(&tags, "wave");
    assert!(
        wave_started as f64 >= canary_done + 600.0 - 1.0,
        "wave started at {wave_started}, canary finished at {canary_done}"
    );
    let wave_done = things("BulbsWave", 20)
        .iter()
        .map(|t| finished_at(&endpoint, t, "fw-good"))
        .fold(0.0, f64::max);
    let fleet_started = baseline_time(&tags, "fleet");
    assert!(
        fleet_started as f64 >= wave_done + 600.0 - 1.0,
        "fleet started at {fleet_started}, wave finished at {wave_done}"
    );
    let job = describe(&endpoint, "fw-good");
    let targets: BTreeSet<String> = job["job"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    assert_eq!(targets.len(), 3, "{targets:?}");
    assert_eq!(job["job"]["targetSelection"], "CONTINUOUS");
}

#[test]
fn failing_firmware_halts_in_the_canary_and_never_reaches_the_fleet() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-bad", "bad", GOOD_GATE);
    let seen = drive(&endpoint, dir.path(), "fw-bad", &["Complete", "Halted"]);
    let last = seen.last().expect("a run");
    assert_eq!(last["phase"], "Halted", "{last}");
    assert_eq!(last["stage"], "canary", "{last}");
    let (code, again) = apply(&endpoint, dir.path(), "fw-bad");
    assert_eq!(code, 1, "a halted rollout fails apply: {again}");
    assert_eq!(again["phase"], "Halted");
    let job = describe(&endpoint, "fw-bad");
    assert_eq!(job["job"]["status"], "CANCELED", "{job}");
    assert_eq!(job["job"]["reasonCode"], "JOBCTL_ROLLOUT_HALTED", "{job}");
    let comment = job["job"]["comment"].as_str().unwrap_or_default();
    assert!(comment.contains("failed"), "{comment}");
    for thing in things("BulbsWave", 20)
        .into_iter()
        .chain(things("BulbsRest", 30))
    {
        assert!(
            executions(&endpoint, &thing, "fw-bad").is_empty(),
            "{thing} got an execution of a halted canary"
        );
    }
    let canary: usize = things("BulbsCanary", 10)
        .iter()
        .map(|t| executions(&endpoint, t, "fw-bad").len())
        .sum();
    assert_eq!(canary, 10);
    // A halted rollout cannot be promoted.
    let promote = endpoint.jobctl(&["promote", "fw-bad", "-o", "json"], dir.path());
    assert_eq!(promote.code, 1, "{promote:?}");
    let json = promote.json();
    assert_eq!(json["rollout"], "fw-bad", "{json}");
    assert_eq!(json["result"], "halted", "{json}");
    assert_eq!(json["currentStage"], "canary", "{json}");
}

/// Issue 21: a refused apply (here: an unrelated manifest is invalid) changes nothing it was
/// asked to, but a rollout whose gate failed is halted all the same. It used to print "Halting
/// in `canary`" and leave the job reaching devices.
#[test]
fn a_refused_apply_still_halts_a_rollout_whose_gate_failed() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-bad", "bad", GOOD_GATE);
    let (code, first) = apply(&endpoint, dir.path(), "fw-bad");
    assert_eq!(code, 0, "the rollout starts: {first}");
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\n",
    )
    .expect("write");
    let start = Instant::now();
    loop {
        let run = endpoint.jobctl(&["apply", "-f", ".", "-o", "json"], dir.path());
        let json = run.json();
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(json["refusal"], "errors", "{json}");
        let job = describe(&endpoint, "fw-bad");
        if job["job"]["status"] == "CANCELED" {
            assert_eq!(job["job"]["reasonCode"], "JOBCTL_ROLLOUT_HALTED", "{job}");
            let rollout = json["rollouts"]
                .as_array()
                .and_then(|r| r.iter().find(|r| r["jobId"] == "fw-bad"))
                .cloned()
                .unwrap_or_default();
            assert_eq!(rollout["phase"], "Halted", "{json}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the failing canary was never halted by a refused apply: {json}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The refusal held: nothing else changed, no stage was widened.
    assert_eq!(job_targets(&endpoint, "fw-bad").len(), 1);
}

#[test]
fn an_approval_stage_waits_for_jobctl_promote() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(
        dir.path(),
        "fw-approve",
        "good",
        "{minSucceeded: 10, maxFailureRate: 10, approval: true}",
    );
    let seen = drive(
        &endpoint,
        dir.path(),
        "fw-approve",
        &["Paused", "Halted", "Complete"],
    );
    let paused = seen.last().expect("a run");
    assert_eq!(paused["phase"], "Paused", "{paused}");
    assert_eq!(paused["stage"], "canary");
    // Time passes; nothing moves without the approval.
    std::thread::sleep(Duration::from_secs(2));
    let (code, still) = apply(&endpoint, dir.path(), "fw-approve");
    assert_eq!(code, 0);
    assert_eq!(still["phase"], "Paused", "{still}");
    assert!(executions(&endpoint, "BulbsWave-0001", "fw-approve").is_empty());

    let promote = endpoint.jobctl(&["promote", "fw-approve"], dir.path());
    assert_eq!(promote.code, 0, "{promote:?}");
    assert!(promote.stdout.contains("stage canary"), "{promote:?}");
    // `-o json` says what happened; approving again writes nothing.
    let again = endpoint.jobctl(&["promote", "fw-approve", "-o", "json"], dir.path());
    assert_eq!(again.code, 0, "{again:?}");
    let json = again.json();
    assert_eq!(json["version"], 1, "{json}");
    assert_eq!(json["rollout"], "fw-approve", "{json}");
    assert_eq!(json["stage"], "canary", "{json}");
    assert_eq!(json["currentStage"], "canary", "{json}");
    assert_eq!(json["result"], "alreadyApproved", "{json}");
    assert_eq!(
        job_tags(&endpoint, "fw-approve")["jobctl:approved"],
        "canary"
    );
    let seen = drive(&endpoint, dir.path(), "fw-approve", &["Complete", "Halted"]);
    assert_eq!(seen.last().expect("a run")["phase"], "Complete");
    each_thing_ran_once(&endpoint, "fw-approve");

    // A stage that was left already, or that asks for no approval, is not waiting for one.
    let left = endpoint.jobctl(
        &[
            "promote",
            "fw-approve",
            "--stage",
            "canary",
            "-f",
            ".",
            "-o",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(left.code, 1, "{left:?}");
    let json = left.json();
    // The rollout completed, and its job was closed: nothing is left to approve.
    assert_eq!(json["result"], "complete", "{json}");
    assert_eq!(json["currentStage"], "fleet", "{json}");
    let no_gate = endpoint.jobctl(
        &["promote", "fw-approve", "-f", ".", "-o", "json"],
        dir.path(),
    );
    assert_eq!(no_gate.code, 1, "{no_gate:?}");
    assert_eq!(no_gate.json()["result"], "complete", "{no_gate:?}");
    // The approval was consumed by the promotion it allowed; the refused promote wrote none.
    assert!(
        !job_tags(&endpoint, "fw-approve").contains_key("jobctl:approved"),
        "{:?}",
        job_tags(&endpoint, "fw-approve")
    );

    // Promoting a rollout that does not exist fails, in every format.
    let missing = endpoint.jobctl(&["promote", "no-such-rollout"], dir.path());
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing
            .stderr
            .contains("rollout `no-such-rollout` does not exist"),
        "{missing:?}"
    );
    let missing = endpoint.jobctl(&["promote", "no-such-rollout", "-o", "json"], dir.path());
    assert_eq!(missing.code, 1, "{missing:?}");
    assert_eq!(missing.json()["result"], "notFound", "{missing:?}");
}

#[test]
fn a_driver_killed_between_the_stage_tag_and_the_association_is_resumed() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-crash", "good", GOOD_GATE);
    let (code, first) = apply(&endpoint, dir.path(), "fw-crash");
    assert_eq!(code, 0, "{first}");
    // The canary's gate holds and has soaked (10m is 1 s at 600x): a driver promotes now.
    let start = Instant::now();
    while !job_tags(&endpoint, "fw-crash").contains_key("jobctl:gate-held") {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the canary gate never held"
        );
        apply(&endpoint, dir.path(), "fw-crash");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1200));
    // A driver wrote "wave has started" and died (kill -9) before AssociateTargetsWithJob.
    let arn = describe(&endpoint, "fw-crash")["job"]["jobArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let (status, body) = endpoint.call(
        "POST",
        "/tags",
        &serde_json::json!({"resourceArn": arn, "tags": [
            {"Key": "jobctl:stage", "Value": "wave"},
            {"Key": "jobctl:stage/wave", "Value": "t=0/s=0/f=0/r=0/o=0"}
        ]})
        .to_string(),
    );
    assert_eq!(status, 200, "{body}");
    // A real kill -9 of another driver in the middle of its run leaves nothing to undo either.
    let mut child = common::jobctl_command(
        &["apply", "-f", "."],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())],
    )
    .spawn()
    .expect("spawn");
    std::thread::sleep(Duration::from_millis(150));
    let _ = child.kill();
    let _ = child.wait();
    let (_, resumed) = apply(&endpoint, dir.path(), "fw-crash");
    let events = resumed["events"].as_array().cloned().unwrap_or_default();
    assert!(
        resumed["stage"] == "wave" || resumed["stage"] == "fleet",
        "{resumed}"
    );
    let targets = describe(&endpoint, "fw-crash")["job"]["targets"].to_string();
    assert!(targets.contains("BulbsWave"), "{targets} {events:?}");
    let seen = drive(&endpoint, dir.path(), "fw-crash", &["Complete", "Halted"]);
    assert_eq!(seen.last().expect("a run")["phase"], "Complete");
    each_thing_ran_once(&endpoint, "fw-crash");
}

#[test]
fn two_concurrent_drivers_give_the_same_result_as_one() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-two", "good", GOOD_GATE);
    let (a, b) = std::thread::scope(|scope| {
        let one = scope.spawn(|| drive(&endpoint, dir.path(), "fw-two", &["Complete", "Halted"]));
        let two = scope.spawn(|| drive(&endpoint, dir.path(), "fw-two", &["Complete", "Halted"]));
        (one.join().expect("driver 1"), two.join().expect("driver 2"))
    });
    assert_eq!(a.last().expect("run")["phase"], "Complete");
    assert_eq!(b.last().expect("run")["phase"], "Complete");
    each_thing_ran_once(&endpoint, "fw-two");
    let targets = describe(&endpoint, "fw-two")["job"]["targets"]
        .as_array()
        .expect("targets")
        .len();
    assert_eq!(targets, 3);
    // No stage was started twice: wave's and fleet's baselines were each written for a stage
    // whose predecessor had soaked, whoever wrote them.
    let tags = job_tags(&endpoint, "fw-two");
    assert!(baseline_time(&tags, "fleet") >= baseline_time(&tags, "wave") + 600);
}

/// `jobctl apply -f . --wait --interval 1s --timeout 90s`, with `extra` flags.
fn apply_wait_run(endpoint: &Endpoint, dir: &Path, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "apply",
        "-f",
        ".",
        "--wait",
        "--interval",
        "1s",
        "--timeout",
        "90s",
    ];
    args.extend_from_slice(extra);
    endpoint.jobctl(&args, dir)
}

/// One `jobctl apply --wait` drives the rollout (its JSON report says where it ended).
fn apply_wait(endpoint: &Endpoint, dir: &Path, name: &str) -> (common::Run, serde_json::Value) {
    let run = apply_wait_run(endpoint, dir, &["-o", "json"]);
    let rollout = row(&run, "rollouts", name);
    (run, rollout)
}

/// The entry of `list` (`jobs`, `rollouts`) in a run's JSON report whose `jobId` is `name`.
fn row(run: &common::Run, list: &str, name: &str) -> serde_json::Value {
    let json = run.json();
    json[list]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["jobId"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no {list} entry {name} in {json}\n{run:?}"))
}

#[test]
fn apply_wait_drives_a_rollout_through_every_stage_in_one_run() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-wait", "good", GOOD_GATE);
    let (run, rollout) = apply_wait(&endpoint, dir.path(), "fw-wait");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(rollout["phase"], "Complete", "{rollout}");
    assert!(
        run.stderr.contains("rollout fw-wait: canary → wave"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("rollout fw-wait: wave → fleet"),
        "{}",
        run.stderr
    );
    each_thing_ran_once(&endpoint, "fw-wait");
    let tags = job_tags(&endpoint, "fw-wait");
    assert_eq!(tags.get("jobctl:stage").map(String::as_str), Some("fleet"));
    // The closing status table has the rollout and its stages.
    let json = run.json();
    let row = json["wait"]["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["jobId"] == "fw-wait"))
        .cloned()
        .unwrap_or_else(|| panic!("no fw-wait in the wait's table: {json}"));
    assert_eq!(row["rollout"]["phase"], "Complete", "{row}");
    let stages: Vec<&str> = row["rollout"]["stages"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(stages, ["canary", "wave", "fleet"], "{row}");
}

#[test]
fn apply_wait_table_shows_the_rollout_stages_in_text() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-wait-text", "bad", GOOD_GATE);
    let run = apply_wait_run(&endpoint, dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let table = &run.stdout[run
        .stdout
        .find("JOB ")
        .unwrap_or_else(|| panic!("no table: {run:?}"))..];
    assert!(table.contains("rollout Halted: "), "{table}");
    let line = |stage: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(stage))
            .unwrap_or_else(|| panic!("no {stage} row: {table}"))
            .to_string()
    };
    assert!(line("canary ").contains("Halted"), "{table}");
    assert!(line("canary ").contains("failed)"), "{table}");
    assert!(line("wave ").contains("Pending"), "{table}");
    assert!(line("fleet ").contains("Pending"), "{table}");
}

#[test]
fn apply_wait_stops_at_a_halt_and_exits_1() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-wait-bad", "bad", GOOD_GATE);
    let (run, rollout) = apply_wait(&endpoint, dir.path(), "fw-wait-bad");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(rollout["phase"], "Halted", "{rollout}");
    assert_eq!(rollout["stage"], "canary", "{rollout}");
    for thing in things("BulbsWave", 20) {
        assert!(
            executions(&endpoint, &thing, "fw-wait-bad").is_empty(),
            "{thing}"
        );
    }
}

/// `jobctl status -f . -o json`: the run, and the rollout's row.
fn status(endpoint: &Endpoint, dir: &Path, name: &str) -> (common::Run, serde_json::Value) {
    let run = endpoint.jobctl(&["status", "-f", ".", "-o", "json"], dir);
    let row = row(&run, "jobs", name);
    (run, row)
}

#[test]
fn status_shows_each_stage_of_a_rollout_mid_way_and_halted() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(
        dir.path(),
        "fw-mid",
        "good",
        "{minSucceeded: 10, maxFailureRate: 10, approval: true}",
    );
    // Before apply: Missing, exit 1.
    let (run, row) = status(&endpoint, dir.path(), "fw-mid");
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(row["rollout"]["phase"], "Missing", "{row}");

    drive(
        &endpoint,
        dir.path(),
        "fw-mid",
        &["Paused", "Halted", "Complete"],
    );
    let (run, row) = status(&endpoint, dir.path(), "fw-mid");
    assert_eq!(run.code, 0, "a paused rollout is not unhealthy: {run:?}");
    let r = &row["rollout"];
    assert_eq!(r["phase"], "Paused", "{row}");
    assert_eq!(r["stage"], "canary");
    let stages = r["stages"].as_array().expect("stages");
    let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["canary", "wave", "fleet"]);
    assert_eq!(stages[0]["phase"], "Paused");
    assert_eq!(stages[0]["numbers"]["succeeded"], 10, "{row}");
    assert_eq!(stages[0]["numbers"]["failureRate"], 0.0);
    assert!(stages[0]["gate"]
        .as_str()
        .unwrap_or_default()
        .contains("approval"));
    assert!(stages[0]["heldSeconds"].is_u64(), "{row}");
    assert_eq!(stages[1]["phase"], "Pending");
    assert!(stages[1].get("numbers").is_none(), "{row}");
    // Reads near the floor: one DescribeJob and one ListTagsForResource for the rollout.
    let calls = &run.json()["calls"];
    assert_eq!(calls["ListTagsForResource"], 1, "{calls}");
    assert_eq!(calls["DescribeJob"], 1, "{calls}");
    let text = endpoint.jobctl(&["status", "-f", "."], dir.path());
    assert!(text.stdout.contains("rollout Paused"), "{text:?}");
    assert!(text.stdout.contains("wave    Pending"), "{text:?}");

    // A halted rollout: exit 1, the stage and the numbers that halted it.
    let bad = tempfile::tempdir().expect("tempdir");
    rollout(bad.path(), "fw-halt", "bad", GOOD_GATE);
    drive(&endpoint, bad.path(), "fw-halt", &["Complete", "Halted"]);
    let (run, row) = status(&endpoint, bad.path(), "fw-halt");
    assert_eq!(run.code, 1, "{run:?}");
    let r = &row["rollout"];
    assert_eq!(r["phase"], "Halted", "{row}");
    assert_eq!(r["stage"], "canary");
    assert_eq!(r["stages"][0]["phase"], "Halted");
    assert!(
        r["stages"][0]["numbers"]["failureRate"]
            .as_f64()
            .unwrap_or(0.0)
            > 10.0,
        "{row}"
    );
    let summary = r["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("Halted in `canary` by jobctl: ")
            && summary.contains("executed failed"),
        "{row}"
    );
}

#[test]
fn apply_wait_timeout_during_a_soak_names_the_rollout_and_leaves_it_running() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    // A 24h soak is 144 s at 600×: the wait meets its deadline while the canary soaks.
    rollout(
        dir.path(),
        "fw-soak",
        "good",
        "{minSucceeded: 10, maxFailureRate: 10, soak: 24h}",
    );
    let run = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--wait",
            "--interval",
            "1s",
            "--timeout",
            "5s",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("rollout fw-soak"), "{}", run.stderr);
    assert!(
        run.stderr.contains("no job was cancelled"),
        "{}",
        run.stderr
    );
    let job = describe(&endpoint, "fw-soak");
    assert_eq!(job["job"]["status"], "IN_PROGRESS", "{job}");
    for thing in things("BulbsWave", 20) {
        assert!(
            executions(&endpoint, &thing, "fw-soak").is_empty(),
            "{thing}"
        );
    }
}

/// The job's target ARNs as DescribeJob lists them.
fn job_targets(endpoint: &Endpoint, job_id: &str) -> Vec<String> {
    describe(endpoint, job_id)["job"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter_map(|t| t.as_str().map(String::from))
        .collect()
}

#[test]
fn plan_refuses_a_change_to_a_started_stage_and_allows_one_to_a_later_stage() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("fw-edit.yaml");
    rollout(dir.path(), "fw-edit", "good", GOOD_GATE);
    let (code, first) = apply(&endpoint, dir.path(), "fw-edit");
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["stage"], "canary", "{first}");
    let before_targets = job_targets(&endpoint, "fw-edit");
    let before_tags = job_tags(&endpoint, "fw-edit");

    // The canary has started: widening it is an error at its `targets`, and apply changes nothing.
    let original = std::fs::read_to_string(&manifest).expect("read");
    let widened = original.replacen(
        "targets: [{thingGroup: BulbsCanary}]",
        "targets: [{thingGroup: BulbsCanary}, {thingGroup: BulbsRest}]",
        1,
    );
    assert_ne!(widened, original);
    std::fs::write(&manifest, &widened).expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stdout.contains("fw-edit.yaml:12:7"),
        "the error points at the canary's targets: {plan:?}"
    );
    assert!(
        plan.stdout.contains("stage `canary` has started")
            && plan.stdout.contains("`thinggroup/BulbsRest`")
            && plan.stdout.contains("give metadata.name a new name"),
        "{plan:?}"
    );
    let json = endpoint.jobctl(&["plan", "-f", ".", "-o", "json"], dir.path());
    assert_eq!(json.code, 1, "{json:?}");
    let errors = json.json()["errors"].clone();
    assert_eq!(errors[0]["jobId"], "fw-edit", "{errors}");
    assert!(
        errors[0]["source"]
            .as_str()
            .is_some_and(|s| s.ends_with("fw-edit.yaml:12:7")),
        "{errors}"
    );
    let refused = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(refused.code, 1, "{refused:?}");
    // status says what will happen: nothing, until the manifest is fixed.
    let status = endpoint.jobctl(&["status", "-f", "."], dir.path());
    assert!(
        status
            .stdout
            .contains("the manifest changes a started stage, which `jobctl plan` refuses"),
        "{status:?}"
    );
    // Time passes (the canary's gate would hold and soak); still nothing may move.
    std::thread::sleep(Duration::from_secs(3));
    let again = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(again.code, 1, "{again:?}");
    assert_eq!(job_targets(&endpoint, "fw-edit"), before_targets);
    assert_eq!(job_tags(&endpoint, "fw-edit"), before_tags);
    for thing in things("BulbsRest", 30) {
        assert!(
            executions(&endpoint, &thing, "fw-edit").is_empty(),
            "{thing}"
        );
    }

    // Narrowing it (here: to one of its things) is refused the same way.
    let narrowed = original.replacen(
        "targets: [{thingGroup: BulbsCanary}]",
        "targets: [{thing: BulbsCanary-0001}]",
        1,
    );
    std::fs::write(&manifest, &narrowed).expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stdout
            .contains("`thinggroup/BulbsCanary` is on the rollout's job"),
        "{plan:?}"
    );

    // The wave has not started: it may change, the plan says what its promotion will add, and
    // the promotion adds it.
    let later = original.replacen(
        "targets: [{thingGroup: BulbsWave}]",
        "targets: [{thingGroup: BulbsWave}, {thingGroup: BulbsRest}]",
        1,
    );
    assert_ne!(later, original);
    std::fs::write(&manifest, &later).expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# stage wave will add thinggroup/BulbsWave, thinggroup/BulbsRest"),
        "{plan:?}"
    );
    let json = endpoint
        .jobctl(&["plan", "-f", ".", "-o", "json"], dir.path())
        .json();
    let upcoming = &json["changes"][0]["rollout"]["upcoming"];
    assert_eq!(upcoming[0]["name"], "wave", "{json}");
    assert_eq!(
        upcoming[0]["adds"].as_array().map(Vec::len),
        Some(2),
        "{json}"
    );
    let start = Instant::now();
    loop {
        let (code, rollout) = apply(&endpoint, dir.path(), "fw-edit");
        assert_eq!(code, 0, "{rollout}");
        if rollout["stage"] == "wave" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never promoted: {rollout}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let targets = job_targets(&endpoint, "fw-edit");
    assert_eq!(targets.len(), 3, "{targets:?}");
    assert!(
        targets.iter().any(|t| t.ends_with(":thinggroup/BulbsRest")),
        "{targets:?}"
    );
    // Now the wave has started: the same edit back is refused.
    std::fs::write(&manifest, &original).expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stdout.contains("fw-edit.yaml:15:7"), "{plan:?}");
}

/// Issue 21: `promote` resolves the instance from `JOBCTL_INSTANCE` (CI sets it). It used to
/// say the rollout "belongs to jobctl instance `ci`, not `default`".
#[test]
fn promote_honours_jobctl_instance() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(
        dir.path(),
        "fw-ci",
        "good",
        "{minSucceeded: 10, maxFailureRate: 10, approval: true}",
    );
    let env = [
        ("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str()),
        ("JOBCTL_INSTANCE", "ci"),
    ];
    let applied = common::run_jobctl(&["apply", "-f", "."], dir.path(), &env);
    assert_eq!(applied.code, 0, "{applied:?}");
    let promote = common::run_jobctl(&["promote", "fw-ci", "-o", "json"], dir.path(), &env);
    let json = promote.json();
    assert_eq!(json["result"], "approved", "{json:#}");
    assert_eq!(promote.code, 0, "{promote:?}");
    assert_eq!(job_tags(&endpoint, "fw-ci")["jobctl:approved"], "canary");
}

/// Writes `tags` on the rollout's job, as any principal that may tag it could.
fn forge(endpoint: &Endpoint, job_id: &str, tags: &[(&str, &str)]) {
    let arn = describe(endpoint, job_id)["job"]["jobArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let tags: Vec<serde_json::Value> = tags
        .iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect();
    let (status, body) = endpoint.call(
        "POST",
        "/tags",
        &serde_json::json!({"resourceArn": arn, "tags": tags}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
}

/// Issue 22: state tags written by anyone who may tag the job never widen it. A stage tag one
/// or two stages ahead of a canary whose gate does not let it promote (a 24h soak has not
/// passed), an approval of a stage not reached and a soak that "started" before the stage did
/// are each named in the output, and nothing is associated.
#[test]
fn forged_state_tags_widen_nothing_and_are_named() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(
        dir.path(),
        "fw-forged",
        "good",
        "{minSucceeded: 10, maxFailureRate: 10, soak: 24h}",
    );
    let (code, first) = apply(&endpoint, dir.path(), "fw-forged");
    assert_eq!(code, 0, "{first}");
    let canary_only = job_targets(&endpoint, "fw-forged");
    assert_eq!(canary_only.len(), 1, "{canary_only:?}");
    for (stage, ahead) in [("wave", "one stage ahead"), ("fleet", "two stages ahead")] {
        forge(
            &endpoint,
            "fw-forged",
            &[
                ("jobctl:stage", stage),
                (&format!("jobctl:stage/{stage}"), "t=0/s=0/f=0/r=0/o=0"),
                ("jobctl:approved", stage),
            ],
        );
        for _ in 0..3 {
            let (_, rollout) = apply(&endpoint, dir.path(), "fw-forged");
            let named = rollout["disagreements"].to_string();
            assert!(
                named.contains(&format!("jobctl:stage tag says `{stage}`")),
                "{ahead}: {rollout:#}"
            );
            assert!(named.contains("jobctl:approved"), "{ahead}: {rollout:#}");
            assert_eq!(rollout["stage"], "canary", "{ahead}: {rollout:#}");
            assert_eq!(
                job_targets(&endpoint, "fw-forged"),
                canary_only,
                "{ahead}: the job was widened"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    // A soak that "started" before the stage did is not the canary's: it starts again.
    forge(
        &endpoint,
        "fw-forged",
        &[("jobctl:gate-held", "t=1/stage=canary")],
    );
    let (_, rollout) = apply(&endpoint, dir.path(), "fw-forged");
    assert!(
        rollout["disagreements"]
            .to_string()
            .contains("jobctl:gate-held"),
        "{rollout:#}"
    );
    assert_eq!(job_targets(&endpoint, "fw-forged"), canary_only);
}

/// Issue 22: a rollout whose last stage completed is closed (its CONTINUOUS job is cancelled,
/// not forced, with reasonCode JOBCTL_ROLLOUT_COMPLETE): a device that joins its groups later
/// gets no execution of it, and every view still says Complete, never Halted.
#[test]
fn a_device_joining_after_a_rollout_completed_gets_nothing_from_it() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-closed", "good", GOOD_GATE);
    let seen = drive(&endpoint, dir.path(), "fw-closed", &["Complete", "Halted"]);
    let last = seen.last().expect("a run");
    assert_eq!(last["phase"], "Complete", "{last}");
    let job = describe(&endpoint, "fw-closed");
    assert_eq!(job["job"]["status"], "CANCELED", "{job}");
    assert_eq!(job["job"]["reasonCode"], "JOBCTL_ROLLOUT_COMPLETE", "{job}");
    // A meter added to the fleet afterwards.
    endpoint.seed_thing("late-1");
    let (status, body) = endpoint.call(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        r#"{"thingGroupName": "BulbsRest", "thingName": "late-1"}"#,
    );
    assert_eq!(status, 200, "{body}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        executions(&endpoint, "late-1", "fw-closed").is_empty(),
        "a closed rollout reached a device that joined later"
    );
    // Later passes and status keep it Complete, and exit 0.
    let (code, again) = apply(&endpoint, dir.path(), "fw-closed");
    assert_eq!(code, 0, "{again}");
    assert_eq!(again["phase"], "Complete", "{again}");
    let status = endpoint.jobctl(&["status", "-f", ".", "-o", "json"], dir.path());
    assert_eq!(status.code, 0, "{status:?}");
    let row = row(&status, "jobs", "fw-closed");
    assert_eq!(row["rollout"]["phase"], "Complete", "{row}");
    assert_eq!(row["health"], "Healthy", "{row}");
    each_thing_ran_once(&endpoint, "fw-closed");
}
