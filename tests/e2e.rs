//! End to end: the real `jobctl` binary against the real `jobctl-emulator` on loopback.

mod common;

use common::{job_ids, jobctl_command, write_jobs, Endpoint};

fn fleet() -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    endpoint
}

#[test]
fn apply_creates_then_converges() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "fw", 5);

    let plan = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.code, 2, "pending changes exit 2: {plan:?}");
    assert!(plan.stdout.contains("Plan: 5 to create."), "{plan:?}");

    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stdout.contains("Apply: 5 created, 0 failed."),
        "{apply:?}"
    );
    assert_eq!(job_ids(&endpoint.state()).len(), 5);

    let again = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("Plan: 5 unchanged."), "{again:?}");
    assert!(
        again.stdout.contains("Apply: 0 created, 0 failed."),
        "{again:?}"
    );

    let plan = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.code, 0, "no changes exit 0: {plan:?}");
}

#[test]
fn created_jobs_carry_every_field() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Bulbs");
    endpoint.seed_group("Lamps");
    endpoint.seed_thing("BenchPi");
    let jobs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs");
    let apply = endpoint.jobctl(&["apply", "-f", jobs.to_str().expect("utf-8")], &jobs);
    assert_eq!(apply.code, 0, "{apply:?}");
    let state = endpoint.state();
    let job = &state["scopes"]["123456789012:us-east-1"]["jobs"]["bulb-fw-4-2-0"];
    assert_eq!(
        job["targets"][0],
        "arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs"
    );
    assert_eq!(job["presignedUrlConfig"]["expiresInSec"], 600);
    assert_eq!(
        job["jobExecutionsRolloutConfig"]["exponentialRate"]["incrementFactor"],
        1.5
    );
    assert_eq!(
        job["abortConfig"]["criteriaList"][0]["failureType"],
        "FAILED"
    );
    assert_eq!(
        job["jobExecutionsRetryConfig"]["criteriaList"][0]["numberOfRetries"],
        2
    );
    let document: serde_json::Value =
        serde_json::from_str(job["document"].as_str().expect("document text"))
            .expect("JSON document");
    assert_eq!(document["version"], "4.2.0");
    assert!(document["url"]
        .as_str()
        .expect("url")
        .starts_with("${aws:iot:s3-presigned-url-v2:"));
    let (_, tags) = endpoint.call(
        "GET",
        "/tags?resourceArn=arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Ajob%2Fbulb-fw-4-2-0",
        "",
    );
    assert!(
        tags.contains("\"team\"") && tags.contains("lighting"),
        "{tags}"
    );
    let lamp = &state["scopes"]["123456789012:us-east-1"]["jobs"]["lamp-config-2026-11"];
    assert_eq!(lamp["targetSelection"], "CONTINUOUS");
}

#[test]
fn plan_json_is_one_object_with_the_contract() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "j", 2);
    let run = endpoint.jobctl(&["plan", "-f", ".", "--output", "json"], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    let plan = run.json();
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["summary"]["create"], 2);
    for key in ["update", "replace", "cancel", "delete", "unchanged"] {
        assert_eq!(plan["summary"][key], 0, "{key}");
    }
    assert_eq!(plan["changes"][0]["jobId"], "j-000");
    assert_eq!(plan["changes"][0]["action"], "create");
}

#[test]
fn drift_shows_as_update_and_replace() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "d", 2);
    assert_eq!(endpoint.jobctl(&["apply", "-f", "."], dir.path()).code, 0);
    // Edit one manifest's description (updatable) and the other's document (immutable).
    let first = dir.path().join("d-000.yaml");
    let text = std::fs::read_to_string(&first).expect("read");
    std::fs::write(
        &first,
        text.replace("description: job 0", "description: job zero"),
    )
    .expect("write");
    let second = dir.path().join("d-001.yaml");
    let text = std::fs::read_to_string(&second).expect("read");
    std::fs::write(&second, text.replace("build: 1", "build: 2")).expect("write");
    let run = endpoint.jobctl(
        &["plan", "-f", ".", "--output", "json", "--detailed-exitcode"],
        dir.path(),
    );
    assert_eq!(run.code, 2, "{run:?}");
    let plan = run.json();
    assert_eq!(plan["changes"][0]["action"], "update");
    assert_eq!(plan["changes"][0]["fields"][0]["field"], "description");
    assert_eq!(plan["changes"][1]["action"], "replace");
    assert_eq!(plan["changes"][1]["forcedBy"][0], "document");
}

#[test]
fn one_failing_job_does_not_stop_the_others() {
    let endpoint = Endpoint::emulator(&["--fail", "CreateJob=InvalidRequestException:1"]);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "f", 4);
    let run = endpoint.jobctl(&["apply", "-f", ".", "--parallelism", "1"], dir.path());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("Apply: 3 created, 1 failed."),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(": CreateJob failed: InvalidRequestException:"),
        "the report names the job, the operation and the AWS error: {run:?}"
    );
    assert_eq!(job_ids(&endpoint.state()).len(), 3);
}

#[test]
fn faults_and_throttling_are_retried_until_converged() {
    let endpoint =
        Endpoint::emulator(&["--fault-rate", "0.2", "--seed", "7", "--tps", "CreateJob=5"]);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "r", 30);
    let run = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--rate-limit",
            "0",
            "--max-attempts",
            "10",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(job_ids(&endpoint.state()).len(), 30);
}

#[test]
fn concurrent_applies_create_each_job_once() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "c", 20);
    let env = [("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())];
    let spawn = || {
        jobctl_command(&["apply", "-f", ".", "--rate-limit", "0"], dir.path(), &env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ids = job_ids(&endpoint.state());
    assert_eq!(ids.len(), 20, "{ids:?}");
}

#[test]
fn apply_changes_nothing_when_the_plan_has_an_error() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "ok", 1);
    std::fs::write(
        dir.path().join("lost.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: lost\nspec:\n  targets: [{thingGroup: Nowhere}]\n  document: {op: x}\n",
    )
    .expect("write");
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("target thing group `Nowhere` does not exist"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("1 to create, 1 error."),
        "the summary counts the error: {run:?}"
    );
    assert!(
        run.stderr
            .contains("apply refused: the plan has 1 error(s)"),
        "{run:?}"
    );
    assert!(
        job_ids(&endpoint.state()).is_empty(),
        "as Terraform: nothing is changed"
    );

    let json = endpoint.jobctl(&["apply", "-f", ".", "-o", "json"], dir.path());
    assert_eq!(json.code, 1, "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(value["refusal"], "errors", "{value}");
    assert!(job_ids(&endpoint.state()).is_empty());
}

#[test]
fn apply_with_an_invalid_manifest_changes_nothing() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "v", 2);
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata: {name: broken}\nspec: {targets: []}\n",
    )
    .expect("write");
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("broken.yaml:4:"),
        "diagnostics go to stderr: {run:?}"
    );
    assert!(run.stderr.contains("apply refused"), "{run:?}");
    assert!(job_ids(&endpoint.state()).is_empty());
}

#[test]
fn verbose_logs_never_show_credentials() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "s", 1);
    for format in ["text", "json"] {
        let run = endpoint.jobctl(
            &["apply", "-f", ".", "-vvv", "--log-format", format],
            dir.path(),
        );
        // `run_jobctl` asserts the secret key is in neither stream; the access key id and the
        // signature header must not be either.
        assert!(!run.stderr.contains("Signature="), "{run:?}");
        assert!(
            !run.stderr.to_lowercase().contains("authorization"),
            "{run:?}"
        );
    }
}

#[test]
fn unreachable_endpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "u", 1);
    let run = common::run_jobctl(
        &[
            "plan",
            "-f",
            ".",
            "--max-attempts",
            "1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    // One failure, one message, naming the operation and the endpoint.
    assert_eq!(
        run.stderr
            .matches("ListJobs failed: ConnectionError: could not reach http://127.0.0.1:9")
            .count(),
        1,
        "{run:?}"
    );
    assert!(run.stderr.contains("Connection refused"), "{run:?}");
    assert!(!run.stdout.contains("u-000"), "not once per job: {run:?}");
}

#[test]
fn sigterm_during_apply_exits_143() {
    let endpoint = Endpoint::emulator(&["--latency", "3000"]);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "t", 1);
    let env = [("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())];
    let child = jobctl_command(&["apply", "-f", "."], dir.path(), &env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_run_that_fails_before_its_plan_is_still_one_json_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "r", 1);
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata: {name: broken}\nspec: {targets: []}\n",
    )
    .expect("write");
    // No region anywhere: not in the environment, no profile (HOME is the temp dir), and no
    // instance metadata (never contacted from tests).
    for command in ["plan", "apply"] {
        let output = jobctl_command(&[command, "-f", ".", "-o", "json"], dir.path(), &[])
            .env_remove("AWS_REGION")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("jobctl runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!("{command}: {stdout}\n{stderr}");
        assert_eq!(output.status.code(), Some(1), "{context}");
        let json: serde_json::Value =
            serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {context}"));
        assert_eq!(json["version"], 1, "{context}");
        assert_eq!(json["error"]["kind"], "connect", "{context}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("no AWS region")),
            "{context}"
        );
        // The manifest problems found before the failure travel with it.
        assert!(
            json["diagnostics"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["file"] == "./broken.yaml")),
            "{context}"
        );
        assert!(stderr.contains("jobctl: no AWS region"), "{context}");
    }

    std::fs::write(dir.path().join("jobctl.yaml"), "instance: not a name\n").expect("write");
    let run = common::run_jobctl(&["plan", "-f", ".", "-o", "json"], dir.path(), &[]);
    assert_eq!(run.code, 64, "{run:?}");
    assert_eq!(run.json()["error"]["kind"], "config", "{run:?}");
}

#[test]
fn version_names_the_version_commit_build_date_and_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = common::run_jobctl(&["--version"], dir.path(), &[]);
    assert_eq!(text.code, 0, "{text:?}");
    let first = text.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, format!("jobctl {}", env!("CARGO_PKG_VERSION")));
    for label in ["commit  ", "built   ", "target  "] {
        assert!(
            text.stdout.lines().any(|l| l.starts_with(label)),
            "{label:?} missing: {text:?}"
        );
    }
    let json = common::run_jobctl(&["version", "-o", "json"], dir.path(), &[]);
    assert_eq!(json.code, 0, "{json:?}");
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON object");
    assert_eq!(value["version"], env!("CARGO_PKG_VERSION"));
    let commit = value["commit"].as_str().unwrap_or_default();
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{value}"
    );
    // YYYY-MM-DDTHH:MM:SSZ
    let date = value["buildDate"].as_str().unwrap_or_default();
    assert_eq!(date.len(), 20, "{value}");
    assert!(
        date.ends_with('Z') && date.as_bytes()[10] == b'T',
        "{value}"
    );
    assert!(
        value["target"]
            .as_str()
            .is_some_and(|t| t.contains("-linux-") || t.contains("-apple-")),
        "{value}"
    );
    // The text form says the same as the JSON.
    assert!(
        text.stdout.contains(commit) && text.stdout.contains(date),
        "{text:?}"
    );
}

#[test]
fn an_unknown_profile_is_named_with_the_files_read_and_the_profiles_known() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "p", 1);
    let config = dir.path().join("aws-config");
    std::fs::write(&config, "[profile dev]\nregion = eu-west-1\n").expect("write config");
    let credentials = dir.path().join("aws-credentials");
    std::fs::write(&credentials, "[dev]\naws_access_key_id = AKIDDEV\n")
        .expect("write credentials");
    let run = common::run_jobctl(
        &[
            "plan",
            "-f",
            ".",
            "--profile",
            "nope",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        dir.path(),
        &[
            ("AWS_CONFIG_FILE", config.to_str().unwrap_or_default()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                credentials.to_str().unwrap_or_default(),
            ),
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("the AWS profile `nope` does not exist"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("aws-config") && run.stderr.contains("aws-credentials"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("dev"),
        "the known profiles are listed: {run:?}"
    );
    // No SDK noise (IMDS, debug dumps) below -v, and nothing was called.
    assert!(
        !run.stderr.contains("WARN") && !run.stderr.contains("IMDS"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("ListJobs"), "{run:?}");
}
