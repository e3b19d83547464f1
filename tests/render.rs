//! Snapshots of what people read: rendered diagnostics and plans. A change to any of them is a
//! change to jobctl's user interface and must be reviewed as one (`cargo insta review`).

use std::path::PathBuf;

use jobctl::aws::fake::FakeJobs;
use jobctl::aws::JobStatus;
use jobctl::manifest::model::{JobSpec, TagValue};
use jobctl::output::{self, Style};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from("tests/fixtures/render").join(name)
}

#[test]
fn diagnostics_for_a_broken_file() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    insta::assert_snapshot!(output::diagnostics_text(&set.diagnostics, false));
}

#[test]
fn diagnostics_as_json() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    insta::assert_json_snapshot!(output::diagnostics_json(&set.diagnostics));
}

fn spec(value: serde_json::Value) -> JobSpec {
    serde_json::from_value(value).expect("valid spec")
}

const GROUP: &str = "arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs";

/// An account with one job per kind of difference, and manifests that declare them.
async fn planned() -> (jobctl::plan::Plan, Vec<jobctl::refresh::JobError>) {
    let api = FakeJobs::new().with_group("Bulbs");
    let base = serde_json::json!({
        "description": "Bulb firmware 4.2.0",
        "targets": [GROUP],
        "document": {"operation": "update", "version": "4.2.0", "url": "${aws:iot:s3-presigned-url-v2:https://s3.us-east-1.amazonaws.com/fw/bulb.bin}"},
        "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/JobsS3", "expiresInSec": 600},
        "timeoutConfig": {"inProgressTimeoutInMinutes": 60}
    });
    let owned = |value: serde_json::Value| {
        let mut s = spec(value);
        for (k, v) in jobctl::plan::ownership_tags("prod") {
            s.tags.insert(k, TagValue(v));
        }
        s
    };
    let mut tagged = owned(base.clone());
    tagged
        .tags
        .insert("team".to_string(), TagValue("lighting".into()));
    api.insert_job("finished", JobStatus::Completed, owned(base.clone()));
    api.insert_job("stable", JobStatus::InProgress, owned(base.clone()));
    api.insert_job("described", JobStatus::InProgress, tagged);
    api.insert_job("redocumented", JobStatus::InProgress, owned(base.clone()));
    api.insert_job("hand-made", JobStatus::InProgress, spec(base.clone()));
    api.insert_job("retired", JobStatus::InProgress, owned(base.clone()));

    let mut changed_description = base.clone();
    changed_description["description"] = "Bulb firmware 4.2.0 (staged)".into();
    changed_description["abortConfig"] = serde_json::json!({"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 10, "minNumberOfExecutedThings": 20}]});
    let mut changed_document = base.clone();
    changed_document["document"]["version"] = "4.2.1".into();

    let mut manifests = String::new();
    for (name, body) in [
        ("finished", base.clone()),
        ("stable", base.clone()),
        ("hand-made", base.clone()),
        ("described", changed_description),
        ("redocumented", changed_document),
        ("brand-new", base.clone()),
    ] {
        let mut body = body;
        body["targets"] = serde_json::json!([{"thingGroup": "Bulbs"}]);
        manifests.push_str(&format!(
            "---\napiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec: {body}\n"
        ));
    }
    manifests.push_str("---\napiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: orphan-group\nspec:\n  targets: [{thingGroup: Missing}]\n  document: {op: x}\n");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("jobs.yaml"), manifests).expect("write");
    let mut set = jobctl::manifest::load(&[dir.path().join("jobs.yaml")]);
    assert_eq!(set.error_count(), 0, "{:?}", set.diagnostics);
    for job in &mut set.jobs {
        job.origin.file = "jobs.yaml".into();
    }
    let scope = jobctl::refresh::Scope {
        parallelism: 4,
        ..Default::default()
    };
    let refreshed = jobctl::refresh::refresh(&api, set.jobs, &scope).await;
    let options = jobctl::plan::Options {
        instance: "prod".into(),
        prune: true,
        ..Default::default()
    };
    (
        jobctl::plan::plan(&refreshed.desired, &refreshed.observed, &options),
        refreshed.errors,
    )
}

#[tokio::test]
async fn plan_text_covers_each_action() {
    let (plan, errors) = planned().await;
    insta::assert_snapshot!(output::plan_text(&plan, &errors, Style { color: false }));
}

#[tokio::test]
async fn plan_json_contract() {
    let (plan, errors) = planned().await;
    insta::assert_json_snapshot!(output::plan_json(&plan, &errors));
}

#[test]
fn empty_plan_summary() {
    let plan = jobctl::plan::Plan::default();
    insta::assert_snapshot!(output::plan_text(&plan, &[], Style { color: false }), @"Plan: no jobs declared.");
}
