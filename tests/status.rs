//! `jobctl status` end to end: the real binaries, the emulator's simulated fleet and its
//! emulated clock.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{jobctl_command, Endpoint};

/// A fleet of 30 bulbs at 600 emulated seconds per second. Firmware 4.2.0 always succeeds;
/// 4.2.1 is a bad build that fails on most devices.
const FLEET: &str = r#"{
  "seed": 7,
  "timeScale": 600,
  "groups": [{"name": "Bulbs", "size": 30}],
  "devices": {
    "pickupSeconds": {"min": 1, "max": 30},
    "durationSeconds": {"min": 20, "max": 120},
    "outcomes": {"SUCCEEDED": 1.0}
  },
  "rules": [
    {"match": {"document": {"firmware": {"version": "4.2.1"}}},
     "outcomes": {"FAILED": 0.8, "SUCCEEDED": 0.2}}
  ]
}"#;

fn fleet() -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    let (status, body) = endpoint.call("PUT", "/_emulator/fleet", FLEET);
    assert_eq!(status, 200, "{body}");
    endpoint
}

fn manifest(dir: &Path, name: &str, version: &str, extra: &str) {
    std::fs::write(
        dir.join(format!("{name}.yaml")),
        format!(
            "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets:\n    - thingGroup: Bulbs\n  document:\n    firmware:\n      version: \"{version}\"\n{extra}"
        ),
    )
    .expect("write manifest");
}

/// DescribeJob as the emulator answers it.
fn describe(endpoint: &Endpoint, job_id: &str) -> serde_json::Value {
    let (status, body) = endpoint.call("GET", &format!("/jobs/{job_id}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

const COUNTS: [&str; 8] = [
    "numberOfQueuedThings",
    "numberOfInProgressThings",
    "numberOfSucceededThings",
    "numberOfFailedThings",
    "numberOfRejectedThings",
    "numberOfTimedOutThings",
    "numberOfCanceledThings",
    "numberOfRemovedThings",
];

#[test]
fn good_firmware_becomes_healthy_and_counts_match_describe_job() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    manifest(dir.path(), "fw-good", "4.2.0", "");
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");

    let watch = endpoint.jobctl(
        &[
            "status",
            "-f",
            ".",
            "--watch",
            "--interval",
            "1s",
            "--timeout",
            "90s",
            "-o",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(watch.code, 0, "{watch:?}");
    assert!(
        !watch.stderr.contains('\r'),
        "no carriage returns off a terminal: {watch:?}"
    );
    assert!(watch.stderr.contains("never cancels a job"), "{watch:?}");
    let report = watch.json();
    let job = &report["jobs"][0];
    assert_eq!(job["jobId"], "fw-good");
    assert_eq!(job["status"], "COMPLETED");
    assert_eq!(job["health"], "Healthy");
    assert_eq!(job["successRate"], 100.0);
    assert_eq!(job["etaSeconds"], 0.0);
    let described = describe(&endpoint, "fw-good");
    let details = &described["job"]["jobProcessDetails"];
    for name in COUNTS {
        assert_eq!(
            job[name],
            details.get(name).cloned().unwrap_or(0.into()),
            "{name}: {report} vs {described}"
        );
    }
    assert_eq!(job["numberOfSucceededThings"], 30);

    // A finished job is read once per run, and `--detailed-exitcode` has nothing pending.
    let once = endpoint.jobctl(&["status", "fw-good", "--detailed-exitcode"], dir.path());
    assert_eq!(once.code, 0, "{once:?}");
    assert!(once.stdout.contains("fw-good"), "{once:?}");
    assert!(once.stdout.contains("Healthy"), "{once:?}");
}

#[test]
fn bad_firmware_with_an_abort_config_is_aborted_and_fails() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    let abort = "  abortConfig:\n    criteriaList:\n      - failureType: FAILED\n        action: CANCEL\n        thresholdPercentage: 20\n        minNumberOfExecutedThings: 5\n";
    manifest(dir.path(), "fw-bad", "4.2.1", abort);
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");

    let watch = endpoint.jobctl(
        &[
            "status",
            "fw-bad",
            "--watch",
            "--interval",
            "1s",
            "--timeout",
            "90s",
        ],
        dir.path(),
    );
    assert_eq!(watch.code, 1, "{watch:?}");
    assert!(
        watch.stdout.contains("fw-bad is "),
        "names the job: {watch:?}"
    );
    let json = endpoint.jobctl(&["status", "fw-bad", "-o", "json"], dir.path());
    assert_eq!(json.code, 1, "{json:?}");
    let job = &json.json()["jobs"][0];
    assert_eq!(job["health"], "Aborted", "{job}");
    assert_eq!(job["status"], "CANCELED", "{job}");
    assert_eq!(job["reasonCode"], "ABORT_CRITERIA_MET", "{job}");
}

#[test]
fn timeout_while_waiting_exits_3_and_ctrl_c_leaves_the_job_running() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("lamp-1");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("slow.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: slow\nspec:\n  targets:\n    - thing: lamp-1\n  document:\n    op: x\n",
    )
    .expect("write");
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");

    // A manual device never answers: the wait can only time out.
    let watch = endpoint.jobctl(
        &[
            "status",
            "slow",
            "--watch",
            "--interval",
            "1s",
            "--timeout",
            "2s",
        ],
        dir.path(),
    );
    assert_eq!(watch.code, 3, "{watch:?}");
    assert!(watch.stderr.contains("--timeout"), "{watch:?}");
    assert!(watch.stderr.contains("slow"), "{watch:?}");

    let child = jobctl_command(
        &["status", "slow", "--watch", "--interval", "1s"],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn");
    std::thread::sleep(Duration::from_secs(2));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(describe(&endpoint, "slow")["job"]["status"], "IN_PROGRESS");
}

// `apply --wait`: apply, then follow what the apply created or changed.

#[test]
fn apply_wait_follows_a_good_firmware_to_healthy_and_counts_match_describe_job() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    manifest(dir.path(), "fw-good", "4.2.0", "");
    let apply = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--wait",
            "--interval",
            "1s",
            "-o",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        !apply.stderr.contains('\r'),
        "no carriage returns off a terminal: {apply:?}"
    );
    assert!(
        apply.stderr.contains(
            "Waiting for 1 job(s): fw-good. Ctrl-C stops waiting and never cancels a job."
        ),
        "{apply:?}"
    );
    assert!(
        apply.stderr.contains("fw-good Progressing") || apply.stderr.contains("fw-good Healthy"),
        "plain progress lines: {apply:?}"
    );
    let report = apply.json();
    assert_eq!(report["results"][0]["jobId"], "fw-good", "{report}");
    let wait = &report["wait"];
    assert_eq!(wait["wait"], "finished", "{wait}");
    let job = &wait["jobs"][0];
    assert_eq!(job["jobId"], "fw-good");
    assert_eq!(job["why"], "applied");
    assert_eq!(job["status"], "COMPLETED");
    assert_eq!(job["health"], "Healthy");
    let described = describe(&endpoint, "fw-good");
    let details = &described["job"]["jobProcessDetails"];
    for name in COUNTS {
        assert_eq!(
            job[name],
            details.get(name).cloned().unwrap_or(0.into()),
            "{name}: {report} vs {described}"
        );
    }
    assert_eq!(job["numberOfSucceededThings"], 30);

    // Nothing changed: nothing to wait for.
    let again = endpoint.jobctl(&["apply", "-f", ".", "--wait"], dir.path());
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("Nothing to wait for"), "{again:?}");
}

#[test]
fn apply_wait_fails_naming_a_bad_firmware_that_aborts() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    let abort = "  abortConfig:\n    criteriaList:\n      - failureType: FAILED\n        action: CANCEL\n        thresholdPercentage: 20\n        minNumberOfExecutedThings: 5\n";
    manifest(dir.path(), "fw-bad", "4.2.1", abort);
    manifest(dir.path(), "fw-good", "4.2.0", "");
    // The bad build is over the tolerance before its abortConfig stops it, unless the manifest
    // tolerates every failure: then the wait goes on until the abort.
    std::fs::write(
        dir.path().join("fw-bad.yaml"),
        std::fs::read_to_string(dir.path().join("fw-bad.yaml"))
            .expect("read")
            .replace(
                "  name: fw-bad\n",
                "  name: fw-bad\n  maxFailureRate: 100\n",
            ),
    )
    .expect("write");
    let apply = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--wait",
            "--interval",
            "1s",
            "--timeout",
            "90s",
        ],
        dir.path(),
    );
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(
        apply.stdout.contains("fw-bad is Aborted"),
        "names the job: {apply:?}"
    );
    assert!(
        apply.stdout.contains("canceled (ABORT_CRITERIA_MET)"),
        "{apply:?}"
    );
    assert!(!apply.stdout.contains("fw-good is"), "{apply:?}");
    assert!(
        apply.stdout.contains("2 jobs: 1 Healthy, 1 Aborted."),
        "{apply:?}"
    );
    assert_eq!(describe(&endpoint, "fw-bad")["job"]["status"], "CANCELED");
}

#[test]
fn apply_wait_judges_each_job_by_its_manifest_tolerance() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    // 4.2.1 fails on most bulbs and has no abortConfig: at 0% it is Degraded at the first
    // failure; with `maxFailureRate: 100` it runs to COMPLETED and counts as Healthy.
    manifest(dir.path(), "fw-flaky", "4.2.1", "");
    std::fs::write(
        dir.path().join("fw-flaky.yaml"),
        std::fs::read_to_string(dir.path().join("fw-flaky.yaml"))
            .expect("read")
            .replace(
                "  name: fw-flaky\n",
                "  name: fw-flaky\n  maxFailureRate: 100\n",
            ),
    )
    .expect("write");
    let apply = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--wait",
            "--interval",
            "1s",
            "--timeout",
            "90s",
            "-o",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    let job = &apply.json()["wait"]["jobs"][0];
    assert_eq!(job["maxFailureRate"], 100.0, "{job}");
    assert_eq!(job["health"], "Healthy", "{job}");
    assert!(job["numberOfFailedThings"].as_u64() > Some(0), "{job}");

    let strict = tempfile::tempdir().expect("tempdir");
    manifest(strict.path(), "fw-flaky-2", "4.2.1", "");
    let apply = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--wait",
            "--interval",
            "1s",
            "--timeout",
            "90s",
        ],
        strict.path(),
    );
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(apply.stdout.contains("fw-flaky-2 is Degraded"), "{apply:?}");
}

#[test]
fn apply_wait_timeout_exits_3_and_ctrl_c_stops_waiting_without_cancelling() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("lamp-1");
    let dir = tempfile::tempdir().expect("tempdir");
    let job = |name: &str| {
        std::fs::write(
            dir.path().join(format!("{name}.yaml")),
            format!("apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets:\n    - thing: lamp-1\n  document:\n    op: x\n"),
        )
        .expect("write");
    };
    // A manual device never answers: the wait can only time out.
    job("slow");
    let apply = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--wait",
            "--interval",
            "1s",
            "--timeout",
            "3s",
        ],
        dir.path(),
    );
    assert_eq!(apply.code, 3, "{apply:?}");
    assert!(
        apply
            .stderr
            .contains("--timeout 3s passed while waiting for slow"),
        "{apply:?}"
    );
    assert!(apply.stdout.contains("slow created"), "{apply:?}");
    assert!(
        apply.stdout.contains("Timed out waiting for the jobs"),
        "{apply:?}"
    );
    assert_eq!(describe(&endpoint, "slow")["job"]["status"], "IN_PROGRESS");

    job("slower");
    let mut child = jobctl_command(
        &["apply", "-f", ".", "--wait", "--interval", "1s"],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn");
    // Interrupt once the waiting has begun.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let waiting = line.starts_with("Waiting for");
        seen.push(line);
        if waiting {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("slower")),
        "{seen:?}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{seen:?} {rest:?} {stdout}"
    );
    assert!(
        rest.iter()
            .any(|l| l.contains("stopped waiting for slower; no job was cancelled")),
        "says so: {rest:?}"
    );
    assert!(
        stdout.contains("Stopped waiting; the jobs keep running."),
        "{stdout}"
    );
    assert_eq!(
        describe(&endpoint, "slower")["job"]["status"],
        "IN_PROGRESS"
    );
}

/// Issue 21: `status -f` resolves the instance from `JOBCTL_INSTANCE` (CI sets it) as plan and
/// apply do, so it finds the jobs that instance owns. It used to look for instance `default`.
#[test]
fn status_honours_jobctl_instance() {
    let endpoint = fleet();
    let owned = tempfile::tempdir().expect("tempdir");
    manifest(owned.path(), "ci-owned", "4.2.0", "");
    let env = [
        ("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str()),
        ("JOBCTL_INSTANCE", "ci"),
    ];
    let applied = common::run_jobctl(&["apply", "-f", "."], owned.path(), &env);
    assert_eq!(applied.code, 0, "{applied:?}");
    // Another tree, declaring another job: the owned one is found as the instance's own.
    let other = tempfile::tempdir().expect("tempdir");
    manifest(other.path(), "declared", "4.2.0", "");
    let status = common::run_jobctl(&["status", "-f", ".", "-o", "json"], other.path(), &env);
    let json = status.json();
    let ids: Vec<&str> = json["jobs"]
        .as_array()
        .map(|jobs| jobs.iter().filter_map(|j| j["jobId"].as_str()).collect())
        .unwrap_or_default();
    assert!(ids.contains(&"ci-owned"), "{json:#}");
    assert!(ids.contains(&"declared"), "{json:#}");
}
