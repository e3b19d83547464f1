//! End to end, issue 10 item 4 ("Saved plans"): `jobctl plan --out FILE` and `jobctl apply FILE`.
//! What was reviewed is what runs, or nothing runs. The real `jobctl` binary against the real
//! `jobctl-emulator` on loopback.

mod common;

use std::path::Path;

use common::{job_ids, Endpoint, Run, SECRET};
use serde_json::{json, Value};

const FLEET_ARN: &str = "arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet";

fn fleet() -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    endpoint
}

fn manifest(name: &str, description: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  description: {description}\n  targets:\n    - thingGroup: Fleet\n  document:\n    operation: update\n    version: \"1.0\"\n"
    )
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).expect("write");
}

/// CreateJob through the wire API, as the AWS CLI would send it.
fn create_job_outside(endpoint: &Endpoint, id: &str) {
    let body = json!({"targets": [FLEET_ARN], "document": "{\"operation\":\"other\"}"});
    let (status, reply) = endpoint.call("PUT", &format!("/jobs/{id}"), &body.to_string());
    assert_eq!(status, 200, "CreateJob {id}: {reply}");
}

fn plan_out(endpoint: &Endpoint, dir: &Path) -> Run {
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--out", "plan.json"], dir);
    assert_eq!(plan.code, 0, "{plan:?}");
    plan
}

/// The jobs the emulator holds, by id.
fn jobs(endpoint: &Endpoint) -> Vec<String> {
    job_ids(&endpoint.state())
}

#[test]
fn a_saved_plan_applies_exactly_what_it_showed_and_then_plan_shows_nothing_to_do() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first"));
    write(dir.path(), "fw-2.yaml", &manifest("fw-2", "second"));

    let plan = plan_out(&endpoint, dir.path());
    assert!(
        plan.stderr.contains(
            "Saved the plan to plan.json. To carry out exactly this plan: jobctl apply plan.json"
        ),
        "{plan:?}"
    );
    assert!(jobs(&endpoint).is_empty(), "plan --out changes nothing");
    let path = dir.path().join("plan.json");
    let text = std::fs::read_to_string(&path).expect("plan file");
    assert!(!text.contains(SECRET) && !text.contains("AKIDEXAMPLEJOBCTL"));
    let file: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(file["format"], "jobctl-plan/v1");
    assert_eq!(file["roots"], json!(["."]));
    assert_eq!(file["options"]["instance"], "default");
    assert_eq!(file["scope"]["endpoint"], json!(endpoint.url));
    let files: Vec<&String> = file["manifests"]["files"]
        .as_object()
        .expect("files")
        .keys()
        .collect();
    assert_eq!(files, ["fw-1.yaml", "fw-2.yaml"]);
    let requests = file["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["id"], "fw-1");
    assert_eq!(requests[0]["action"], "create");
    assert_eq!(requests[0]["spec"]["description"], "first");
    assert_eq!(requests[0]["spec"]["targets"], json!([FLEET_ARN]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads a plan");
    }

    // --dry-run checks the file and shows the plan, changing nothing.
    let dry = endpoint.jobctl(&["apply", "plan.json", "--dry-run"], dir.path());
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stdout.contains("Plan: 2 to create."), "{dry:?}");
    assert!(jobs(&endpoint).is_empty(), "--dry-run changes nothing");
    // Someone else's job, created after the plan, is not this plan's business: a busy shared
    // account does not make saved plans stale.
    create_job_outside(&endpoint, "theirs");

    let apply = endpoint.jobctl(&["apply", "plan.json", "-o", "json"], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stderr
            .contains("matches the manifests and the account: carrying out exactly that plan"),
        "{apply:?}"
    );
    let report = apply.json();
    let created: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["jobId"].as_str().expect("id"))
        .collect();
    assert_eq!(created, ["fw-1", "fw-2"], "{report}");
    assert_eq!(jobs(&endpoint), ["fw-1", "fw-2", "theirs"]);

    // apply FILE makes the plan's reads and the changes' writes: exactly what `apply -f` makes
    // for the same manifests on the same (empty) account.
    let other = fleet();
    let direct = other.jobctl(&["apply", "-f", ".", "-o", "json"], dir.path());
    assert_eq!(direct.code, 0, "{direct:?}");
    assert_eq!(report["calls"], direct.json()["calls"], "{report}");
    assert_eq!(report["calls"]["CreateJob"], 2, "{report}");

    let again = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(again.code, 0, "nothing left to do: {again:?}");
}

#[test]
fn a_saved_plan_is_refused_when_the_account_moved_naming_what_changed_and_nothing_is_changed() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first"));
    let first = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(first.code, 0, "{first:?}");
    // The plan: update fw-1 in place, create fw-9.
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first, edited"));
    write(dir.path(), "fw-9.yaml", &manifest("fw-9", "ninth"));
    plan_out(&endpoint, dir.path());

    // After the review, someone cancels fw-1 and creates fw-9 with the AWS CLI.
    let (status, body) = endpoint.call("PUT", "/jobs/fw-1/cancel", "{}");
    assert_eq!(status, 200, "{body}");
    create_job_outside(&endpoint, "fw-9");
    let before = endpoint.state();

    let apply = endpoint.jobctl(&["apply", "plan.json"], dir.path());
    assert_eq!(apply.code, 1, "{apply:?}");
    insta::assert_snapshot!("refusal_text_account_moved", apply.stderr);
    assert_eq!(endpoint.state(), before, "nothing was changed");

    // The same refusal, for programs.
    let json = endpoint.jobctl(&["apply", "plan.json", "-o", "json"], dir.path());
    assert_eq!(json.code, 1, "{json:?}");
    let report = json.json();
    assert_eq!(report["error"]["kind"], "savedPlan");
    assert_eq!(report["savedPlan"]["applied"], false);
    let moved = report["savedPlan"]["moved"].as_array().expect("moved");
    assert!(
        moved.contains(&json!({"subject": "account", "name": "job fw-1", "change": "status IN_PROGRESS -> CANCELED"})),
        "{report}"
    );
    assert!(
        moved.iter().any(|m| m["name"] == "job fw-9"
            && m["change"]
                .as_str()
                .is_some_and(|c| c.starts_with("created outside this plan"))),
        "{report}"
    );
    for format in ["markdown", "github"] {
        let run = endpoint.jobctl(&["apply", "plan.json", "-o", format], dir.path());
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stdout.contains("fw-9"), "{format}: {run:?}");
    }
    assert_eq!(endpoint.state(), before, "nothing was changed");
}

#[test]
fn a_saved_plan_is_refused_when_a_manifest_changed_or_was_added_naming_the_file() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first"));
    write(dir.path(), "fw-2.yaml", &manifest("fw-2", "second"));
    plan_out(&endpoint, dir.path());
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first, edited"));
    write(dir.path(), "fw-3.yaml", &manifest("fw-3", "third"));
    std::fs::remove_file(dir.path().join("fw-2.yaml")).expect("rm");

    let apply = endpoint.jobctl(&["apply", "plan.json"], dir.path());
    assert_eq!(apply.code, 1, "{apply:?}");
    for line in [
        "file  fw-1.yaml: changed since the plan",
        "file  fw-2.yaml: removed since the plan",
        "file  fw-3.yaml: added since the plan",
        "jobctl plan -f . --out plan.json",
        "Nothing was changed.",
    ] {
        assert!(apply.stderr.contains(line), "{line}: {apply:?}");
    }
    assert!(jobs(&endpoint).is_empty(), "nothing was created");
}

#[test]
fn a_saved_plan_is_refused_for_another_endpoint_or_instance() {
    let planned_on = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first"));
    plan_out(&planned_on, dir.path());

    let elsewhere = fleet();
    let apply = elsewhere.jobctl(&["apply", "plan.json"], dir.path());
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(
        apply.stderr.contains(&format!(
            "endpoint: {} -> {}",
            planned_on.url, elsewhere.url
        )),
        "{apply:?}"
    );
    assert!(jobs(&elsewhere).is_empty());

    let other_region =
        planned_on.jobctl(&["apply", "plan.json", "--region", "eu-west-1"], dir.path());
    assert_eq!(other_region.code, 1, "{other_region:?}");
    assert!(
        other_region
            .stderr
            .contains("region: us-east-1 -> eu-west-1"),
        "{other_region:?}"
    );

    let other_instance =
        planned_on.jobctl(&["apply", "plan.json", "--instance", "staging"], dir.path());
    assert_eq!(other_instance.code, 1, "{other_instance:?}");
    assert!(
        other_instance
            .stderr
            .contains("instance: default -> staging"),
        "{other_instance:?}"
    );
    assert!(jobs(&planned_on).is_empty());
}

#[test]
fn a_missing_corrupt_or_foreign_plan_file_is_a_clear_error() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("missing.json", None, "cannot read the saved plan"),
        (
            "garbage.json",
            Some("{ not json"),
            "not a jobctl saved plan (not JSON",
        ),
        (
            "terraform.json",
            Some(r#"{"format_version": "1.2"}"#),
            "not a jobctl saved plan (format `(none)`",
        ),
        (
            "newer.json",
            Some(r#"{"format": "jobctl-plan/v2", "jobctlVersion": "9.9.9"}"#),
            "written by a newer jobctl (9.9.9",
        ),
        (
            "damaged.json",
            Some(r#"{"format": "jobctl-plan/v1", "roots": 3}"#),
            "is damaged",
        ),
    ];
    for (file, text, message) in cases {
        if let Some(text) = text {
            write(dir.path(), file, text);
        }
        let apply = endpoint.jobctl(&["apply", file], dir.path());
        assert_eq!(apply.code, 1, "{file}: {apply:?}");
        assert!(apply.stderr.contains(message), "{file}: {apply:?}");
        assert_eq!(apply.stderr.lines().count(), 1, "one line: {apply:?}");
    }
    std::fs::create_dir(dir.path().join("jobs")).expect("mkdir");
    let apply = endpoint.jobctl(&["apply", "jobs"], dir.path());
    assert_eq!(apply.code, 64, "a directory is not a plan: {apply:?}");
    assert!(apply.stderr.contains("jobctl apply -f jobs"), "{apply:?}");
}

#[test]
fn apply_file_with_f_or_plan_shaping_flags_is_a_usage_error() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first"));
    plan_out(&endpoint, dir.path());
    for args in [
        &["apply", "plan.json", "-f", "."][..],
        &["apply", "plan.json", "--prune"],
        &["apply", "plan.json", "--allow-replace"],
        &["apply", "plan.json", "--target", "fw-1"],
        &["apply", "plan.json", "--max-prune", "3"],
        &["apply"],
    ] {
        let run = endpoint.jobctl(args, dir.path());
        assert_eq!(run.code, 64, "{args:?}: {run:?}");
    }
    assert!(jobs(&endpoint).is_empty());
    // `apply -f` is unchanged.
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
}

#[test]
fn a_plan_with_errors_is_not_saved() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "fw-1.yaml", &manifest("fw-1", "first"));
    write(
        dir.path(),
        "broken.yaml",
        &manifest("broken", "x").replace("Fleet", "NoSuchGroup"),
    );
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--out", "plan.json"], dir.path());
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stderr.contains("not saved to plan.json"), "{plan:?}");
    assert!(!dir.path().join("plan.json").exists());
}
