//! Rollout gates on a realistic fleet (issue 22): a stage halts as soon as its gate can no
//! longer hold, shares of the population, and deadlines for devices that never answer. The real
//! binaries, the emulator's simulated fleet and its emulated clock.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Endpoint;

/// 20 canaries, a wave of 100, at 30 emulated seconds per second. Canaries pick their job up
/// within 20 s; the wave's meters poll over 10 minutes, as real ones do. `rules` is the fleet's
/// JSON rules array, after the wave's own.
fn fleet(rules: &str) -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    let fleet = format!(
        r#"{{
  "seed": 5,
  "timeScale": 30,
  "groups": [
    {{"name": "Meters"}},
    {{"name": "MetersCanary", "parent": "Meters", "size": 20}},
    {{"name": "MetersWave", "parent": "Meters", "size": 100}}
  ],
  "devices": {{
    "pickupSeconds": {{"min": 1, "max": 20}},
    "durationSeconds": {{"min": 20, "max": 60}},
    "outcomes": {{"SUCCEEDED": 1.0}}
  }},
  "rules": [{rules}{{"match": {{"group": "MetersWave"}}, "pickupSeconds": {{"min": 1, "max": 600}}}}]
}}"#
    );
    let (status, body) = endpoint.call("PUT", "/_emulator/fleet", &fleet);
    assert_eq!(status, 200, "{body}");
    endpoint
}

/// A rollout canary → wave → rest; `deadline` is the rollout's default deadline.
fn rollout(dir: &Path, name: &str, wave_gate: &str, deadline: Option<&str>) {
    let deadline = deadline.map_or(String::new(), |d| format!("  deadline: {d}\n"));
    std::fs::write(
        dir.join(format!("{name}.yaml")),
        format!(
            "apiVersion: jobctl/v1
kind: Rollout
metadata:
  name: {name}
spec:
{deadline}  job:
    document:
      firmware: {name}
  stages:
    - name: canary
      targets: [{{thingGroup: MetersCanary}}]
      gate: {{minSucceeded: 20}}
    - name: wave
      targets: [{{thingGroup: MetersWave}}]
      gate: {wave_gate}
    - name: rest
      targets: [{{thingGroup: Meters}}]
"
        ),
    )
    .expect("write manifest");
}

/// `jobctl apply -o json` until the rollout's phase is one of `until`; the last rollout entry.
fn drive(endpoint: &Endpoint, dir: &Path, name: &str, until: &[&str]) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let run = endpoint.jobctl(&["apply", "-f", ".", "-o", "json"], dir);
        let json = run.json();
        let rollout = json["rollouts"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["jobId"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no rollout {name}: {run:?}"));
        if until.iter().any(|u| rollout["phase"] == *u) {
            return rollout;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{name} never reached {until:?}: {rollout:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn job(endpoint: &Endpoint, id: &str) -> serde_json::Value {
    let (status, body) = endpoint.call("GET", &format!("/jobs/{id}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).expect("json")["job"].clone()
}

fn stage<'a>(rollout: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    rollout["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no stage {name}: {rollout:#}"))
}

/// A build that fails on 30% of the wave's hardware: the wave's gate (95% of the wave at ≤ 2%
/// failed) halts on its sample, long before the wave has run, and the halt cancels what is
/// still queued. It used to halt only once `minSucceeded` things had executed.
#[test]
fn a_wave_failing_30_percent_halts_on_its_sample_and_cancels_the_rest() {
    let endpoint = fleet(
        r#"{"match": {"group": "MetersWave"}, "pickupSeconds": {"min": 1, "max": 600}, "outcomes": {"FAILED": 0.3, "SUCCEEDED": 0.7}},"#,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(
        dir.path(),
        "fw-wave-bug",
        "{minSucceeded: 95%, maxFailureRate: 2}",
        None,
    );
    let halted = drive(
        &endpoint,
        dir.path(),
        "fw-wave-bug",
        &["Halted", "Complete"],
    );
    assert_eq!(halted["phase"], "Halted", "{halted:#}");
    assert_eq!(halted["stage"], "wave", "{halted:#}");
    let at_halt = &stage(&halted, "wave")["numbers"];
    // Let the executions in flight at the halt finish.
    std::thread::sleep(Duration::from_secs(2));
    let details = &job(&endpoint, "fw-wave-bug")["jobProcessDetails"];
    let count = |k: &str| details[k].as_u64().unwrap_or(0);
    let canary = 20;
    let wave_executed = count("numberOfSucceededThings") + count("numberOfFailedThings") - canary;
    let canceled = count("numberOfCanceledThings");
    eprintln!(
        "exposure: halted at {} of 100 wave executions ({} failed); {wave_executed} executed in all, {canceled} queued executions canceled",
        at_halt["executed"], at_halt["failures"]
    );
    assert!(
        at_halt["executed"].as_u64().unwrap_or(u64::MAX) <= 30,
        "halted late: {halted:#}"
    );
    assert!(
        wave_executed < 50,
        "{wave_executed} of the wave executed: {details}"
    );
    assert!(
        canceled >= 50,
        "the queued executions were not canceled: {details}"
    );
}

/// `minSucceeded: 95%` of a wave where 10% of the meters never answer: without a deadline the
/// stage waits and says how many are silent; with one it halts at the deadline, naming them.
/// `85%` of the same wave holds and promotes.
#[test]
fn silent_devices_are_named_and_a_deadline_decides_the_stage() {
    let rules = r#"{"match": {"group": "MetersWave"}, "pickupSeconds": {"min": 1, "max": 600}, "offline": 0.1},"#;
    let endpoint = fleet(rules);
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-silent", "{minSucceeded: 95%}", Some("20m"));
    let halted = drive(&endpoint, dir.path(), "fw-silent", &["Halted", "Complete"]);
    assert_eq!(halted["phase"], "Halted", "{halted:#}");
    let summary = halted["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("deadline passed") && summary.contains("silent"),
        "{summary}"
    );

    let endpoint = fleet(rules);
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(
        dir.path(),
        "fw-silent-ok",
        "{minSucceeded: 85%}",
        Some("20m"),
    );
    let passed = drive(
        &endpoint,
        dir.path(),
        "fw-silent-ok",
        &["Halted", "Complete"],
    );
    assert_eq!(passed["phase"], "Complete", "{passed:#}");

    // No deadline: the stage waits, and status says how many are silent and for how long.
    let endpoint = fleet(rules);
    let dir = tempfile::tempdir().expect("tempdir");
    rollout(dir.path(), "fw-stalled", "{minSucceeded: 95%}", None);
    let start = Instant::now();
    loop {
        let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
        assert_eq!(run.code, 0, "{run:?}");
        let status = endpoint.jobctl(&["status", "-f", ".", "-o", "json"], dir.path());
        let json = status.json();
        let summary = json["jobs"][0]["rollout"]["summary"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if summary.contains("not reported for") {
            assert!(summary.contains("no deadline"), "{summary}");
            assert_eq!(json["jobs"][0]["rollout"]["stage"], "wave", "{json:#}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "status never named the silent devices: {json:#}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
