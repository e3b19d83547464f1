//! `jobctl export` end to end: jobs created outside jobctl (straight through the API, as
//! `aws iot create-job` loops and the console do) are exported, and the manifests adopt them
//! with nothing else to change. The real binaries against `jobctl-emulator` on loopback.

mod common;

use std::path::Path;

use common::Endpoint;
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

fn arn(resource: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:{resource}")
}

/// CreateJob through the wire API, as the AWS CLI would send it.
fn create_job(endpoint: &Endpoint, id: &str, body: &Value) {
    let (status, reply) = endpoint.call("PUT", &format!("/jobs/{id}"), &body.to_string());
    assert_eq!(status, 200, "CreateJob {id}: {reply}");
}

/// `YYYY-MM-DDTHH:MM`, `days` from now (UTC), as schedulingConfig takes it.
fn in_days(days: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    at.format(&format).expect("format")
}

/// A document written the way people write them: spacing, key order and `1.10` that a
/// re-serialisation would change.
const FULL_DOCUMENT: &str = "{\n  \"operation\": \"update\",\n  \"url\": \"${aws:iot:s3-presigned-url-v2:https://s3.us-east-1.amazonaws.com/fw/bulb.bin}\",\n  \"version\": 1.10,\n  \"yes\": \"no\"\n}\n";

/// An account holding jobs that, together, use every option of `aws iot create-job`, made
/// without jobctl. Returns the ids of the active ones.
fn seed_account(endpoint: &Endpoint) -> Vec<&'static str> {
    for group in ["Fleet", "Bulbs"] {
        endpoint.seed_group(group);
    }
    endpoint.seed_thing("Pi");
    create_job(
        endpoint,
        "full",
        &json!({
            "description": "Bulb firmware: on, yes, 1.10 # not a comment",
            "targets": [arn("thinggroup/Bulbs"), arn("thing/Pi")],
            "targetSelection": "CONTINUOUS",
            "document": FULL_DOCUMENT,
            "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/JobsS3Read", "expiresInSec": 900},
            "jobExecutionsRolloutConfig": {"exponentialRate": {"baseRatePerMinute": 5, "incrementFactor": 1.5, "rateIncreaseCriteria": {"numberOfSucceededThings": 20}}},
            "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 10.5, "minNumberOfExecutedThings": 20}, {"failureType": "TIMED_OUT", "action": "CANCEL", "thresholdPercentage": 25, "minNumberOfExecutedThings": 10}]},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
            "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 3}, {"failureType": "TIMED_OUT", "numberOfRetries": 1}]},
            "tags": [{"Key": "team", "Value": "lighting"}, {"Key": "cost center", "Value": "0755"}, {"Key": "on", "Value": ""}],
        }),
    );
    create_job(
        endpoint,
        "scheduled",
        &json!({
            "targets": [arn("thinggroup/Fleet")],
            "document": "{\"operation\":\"reboot\"}",
            "schedulingConfig": {
                "startTime": in_days(2),
                "endTime": in_days(4),
                "endBehavior": "CANCEL",
                "maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 120}],
            },
        }),
    );
    create_job(
        endpoint,
        "greengrass",
        &json!({
            "targets": [arn("thinggroup/Fleet")],
            "targetSelection": "SNAPSHOT",
            "document": "{\"deploy\":true}",
            "namespaceId": "AWSIoTGreengrassV2",
            "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/JobsS3Read", "expiresInSec": 3600},
            "jobExecutionsRolloutConfig": {"maximumPerMinute": 50},
            "destinationPackageVersions": [arn("package/bulb-fw/version/4.2.0")],
        }),
    );
    create_job(
        endpoint,
        "from-s3",
        &json!({
            "targets": [arn("thing/Pi")],
            "documentSource": "https://s3.us-east-1.amazonaws.com/example-jobs/gateway.json",
        }),
    );
    let (status, reply) = endpoint.call(
        "PUT",
        "/job-templates/fw-template",
        &json!({
            "description": "Firmware from the template",
            "document": "{\"operation\": \"firmware\", \"from\": \"template\"}",
            "timeoutConfig": {"inProgressTimeoutInMinutes": 60},
            "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "ALL", "numberOfRetries": 2}]},
            "maintenanceWindows": [{"startTime": "cron(0 3 ? * SUN *)", "durationInMinutes": 60}],
        })
        .to_string(),
    );
    assert_eq!(status, 200, "CreateJobTemplate: {reply}");
    create_job(
        endpoint,
        "from-template",
        &json!({
            "targets": [arn("thinggroup/Fleet")],
            "jobTemplateArn": arn("jobtemplate/fw-template"),
            "abortConfig": {"criteriaList": [{"failureType": "ALL", "action": "CANCEL", "thresholdPercentage": 50, "minNumberOfExecutedThings": 5}]},
        }),
    );
    create_job(
        endpoint,
        "managed-template",
        &json!({
            "targets": [arn("thing/Pi")],
            "jobTemplateArn": format!("arn:aws:iot:{REGION}::jobtemplate/AWS-Run-Command:1.0"),
            "documentParameters": {"command": "ls,-t,/usr/bin", "runAsUser": "root"},
        }),
    );
    vec![
        "from-s3",
        "from-template",
        "full",
        "greengrass",
        "managed-template",
        "scheduled",
    ]
}

/// A COMPLETED and a CANCELED job.
fn seed_finished(endpoint: &Endpoint) {
    for id in ["done", "stopped"] {
        create_job(
            endpoint,
            id,
            &json!({"targets": [arn("thinggroup/Fleet")], "document": format!("{{\"job\":\"{id}\"}}")}),
        );
    }
    let (status, body) = endpoint.call(
        "POST",
        "/_emulator/jobs/done/complete",
        r#"{"outcome":"SUCCEEDED"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = endpoint.call("PUT", "/jobs/stopped/cancel", "{}");
    assert_eq!(status, 200, "{body}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn change_ids(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["jobId"].as_str().expect("jobId").to_string())
        .collect()
}

#[test]
fn every_create_job_option_round_trips_through_export_and_adopt() {
    let endpoint = Endpoint::emulator(&[]);
    let active = seed_account(&endpoint);
    seed_finished(&endpoint);
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("exported");

    let run = endpoint.jobctl(&["export", "--all", "--dir", "exported"], work.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("Finished jobs left out (1 CANCELED, 1 COMPLETED)"),
        "{run:?}"
    );
    let mut manifests: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    manifests.sort();
    assert_eq!(
        manifests,
        vec![
            "from-s3.yaml",
            "from-template.yaml",
            "full.json",
            "full.yaml",
            "greengrass.json",
            "greengrass.yaml",
            "managed-template.yaml",
            "scheduled.json",
            "scheduled.yaml",
        ],
        "one manifest per active job, a document file where the job has its own document"
    );
    assert_eq!(read(&dir.join("full.json")), FULL_DOCUMENT, "byte for byte");

    let full = read(&dir.join("full.yaml"));
    assert!(
        full.starts_with("# yaml-language-server: $schema=schemas/job.schema.json\n"),
        "{full}"
    );
    assert!(
        !full.contains("jobctl:"),
        "ownership tags are dropped: {full}"
    );
    assert!(
        full.contains("thingGroup: Bulbs") && full.contains("thing: Pi"),
        "{full}"
    );
    let greengrass = read(&dir.join("greengrass.yaml"));
    assert!(
        !greengrass.contains("SNAPSHOT") && !greengrass.contains("expiresInSec"),
        "AWS's defaults are left out: {greengrass}"
    );
    let source = read(&dir.join("from-s3.yaml"));
    assert!(
        source.contains(
            "documentSource: https://s3.us-east-1.amazonaws.com/example-jobs/gateway.json"
        ),
        "{source}"
    );
    let template = read(&dir.join("from-template.yaml"));
    assert!(template.contains("jobTemplateArn:"), "{template}");
    assert!(
        template.contains("abortConfig:"),
        "its own value stays: {template}"
    );
    for inherited in [
        "description",
        "document",
        "timeoutConfig",
        "jobExecutionsRetryConfig",
        "maintenanceWindows",
    ] {
        assert!(
            !template.contains(&format!("  {inherited}:")),
            "{inherited} comes from the template: {template}"
        );
    }
    assert!(
        template.contains(
            "# Created from arn:aws:iot:us-east-1:123456789012:jobtemplate/fw-template; left out because the job has them from it: description, document, timeoutConfig, jobExecutionsRetryConfig, schedulingConfig.maintenanceWindows."
        ),
        "{template}"
    );
    let managed = read(&dir.join("managed-template.yaml"));
    assert!(
        managed.contains("documentParameters:") && !managed.contains("documentFile"),
        "{managed}"
    );

    // The schema exists where the modelines point once `jobctl schema` put it there.
    std::fs::create_dir_all(dir.join("schemas")).expect("mkdir");
    let schema = endpoint.jobctl(&["schema"], work.path());
    std::fs::write(dir.join("schemas/job.schema.json"), schema.stdout).expect("schema");
    let validate = endpoint.jobctl(&["validate", "-f", "exported"], work.path());
    assert_eq!(validate.code, 0, "{validate:?}");

    let plan = endpoint.jobctl(
        &["plan", "-f", "exported", "--adopt", "-o", "json"],
        work.path(),
    );
    assert_eq!(plan.code, 0, "{plan:?}");
    let json = plan.json();
    assert_eq!(change_ids(&json), active);
    for change in json["changes"].as_array().expect("changes") {
        assert_eq!(
            change["steps"],
            json!([{"operation": "Adopt"}]),
            "only the ownership tags are added: {change}"
        );
        assert!(change.get("fields").is_none(), "no field differs: {change}");
        assert!(change.get("blocked").is_none(), "{change}");
    }

    let apply = endpoint.jobctl(&["apply", "-f", "exported", "--adopt"], work.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    let again = endpoint.jobctl(
        &["plan", "-f", "exported", "--detailed-exitcode"],
        work.path(),
    );
    assert_eq!(again.code, 0, "nothing left to do: {again:?}");
}

#[test]
fn without_dir_one_stream_goes_to_stdout_and_adopts_the_same() {
    let endpoint = Endpoint::emulator(&[]);
    let active = seed_account(&endpoint);
    seed_finished(&endpoint);
    let work = tempfile::tempdir().expect("tempdir");

    let run = endpoint.jobctl(&["export", "--all"], work.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.matches("\n---\n").count(),
        active.len() - 1,
        "one document per job: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("name: done"), "{}", run.stdout);
    assert!(
        run.stderr.contains("Export: 6 exported, 0 failed."),
        "{run:?}"
    );
    std::fs::write(work.path().join("all.yaml"), &run.stdout).expect("write");

    let plan = endpoint.jobctl(
        &["plan", "-f", "all.yaml", "--adopt", "-o", "json"],
        work.path(),
    );
    assert_eq!(plan.code, 0, "{plan:?}");
    let json = plan.json();
    assert_eq!(change_ids(&json), active);
    for change in json["changes"].as_array().expect("changes") {
        assert_eq!(change["steps"], json!([{"operation": "Adopt"}]), "{change}");
    }

    let as_json = endpoint.jobctl(&["export", "--all", "-o", "json"], work.path());
    assert_eq!(as_json.code, 0, "{as_json:?}");
    let report = as_json.json();
    assert_eq!(report["summary"]["exported"], 6);
    assert_eq!(report["stream"].as_str(), Some(run.stdout.as_str()));
}

#[test]
fn finished_jobs_need_status_or_ids_and_say_what_applying_them_does() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    seed_finished(&endpoint);
    let work = tempfile::tempdir().expect("tempdir");

    let none = endpoint.jobctl(&["export", "--all"], work.path());
    assert_eq!(none.code, 0, "{none:?}");
    assert_eq!(none.stdout, "", "finished jobs are left out by default");

    let completed = endpoint.jobctl(&["export", "--status", "completed"], work.path());
    assert_eq!(completed.code, 0, "{completed:?}");
    assert!(completed.stdout.contains("name: done"), "{completed:?}");
    assert!(!completed.stdout.contains("name: stopped"), "{completed:?}");
    assert!(
        completed.stdout.contains(
            "# This job has finished (COMPLETED). Applying this manifest never runs it again"
        ),
        "{completed:?}"
    );

    let by_id = endpoint.jobctl(&["export", "stopped"], work.path());
    assert_eq!(by_id.code, 0, "{by_id:?}");
    assert!(
        by_id.stdout.contains("# This job has finished (CANCELED)."),
        "{by_id:?}"
    );
    std::fs::write(work.path().join("stopped.yaml"), &by_id.stdout).expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", "stopped.yaml", "--adopt"], work.path());
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("1 finished job(s) were not compared (1 CANCELED)"),
        "applying it does nothing: {plan:?}"
    );
}

#[test]
fn an_unknown_id_is_named_and_the_rest_is_exported() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    seed_finished(&endpoint);
    let work = tempfile::tempdir().expect("tempdir");
    let run = endpoint.jobctl(&["export", "done", "nope", "--dir", "out"], work.path());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("nope: job `nope` does not exist in this account and region"),
        "{run:?}"
    );
    assert!(work.path().join("out/done.yaml").exists());

    let usage = endpoint.jobctl(&["export"], work.path());
    assert_eq!(
        usage.code, 64,
        "nothing selected is a usage error: {usage:?}"
    );
    let bad = endpoint.jobctl(&["export", "../etc"], work.path());
    assert_eq!(bad.code, 64, "{bad:?}");
}

#[test]
fn existing_files_are_never_overwritten_without_force() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    for id in ["a", "b"] {
        create_job(
            &endpoint,
            id,
            &json!({"targets": [arn("thinggroup/Fleet")], "document": "{\"op\":1}"}),
        );
    }
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("out");
    let first = endpoint.jobctl(&["export", "--all", "--dir", "out"], work.path());
    assert_eq!(first.code, 0, "{first:?}");

    std::fs::write(dir.join("a.yaml"), "mine").expect("edit");
    std::fs::remove_file(dir.join("b.yaml")).expect("rm");
    let refused = endpoint.jobctl(&["export", "--all", "--dir", "out"], work.path());
    assert_eq!(refused.code, 1, "{refused:?}");
    for name in ["a.yaml", "a.json", "b.json"] {
        assert!(
            refused.stdout.contains(&format!(
                "error: {} exists already",
                dir.join(name).display()
            )) || refused.stdout.contains(&format!(
                "error: {} exists already",
                Path::new("out").join(name).display()
            )),
            "{name} is named: {refused:?}"
        );
    }
    assert!(
        refused
            .stdout
            .contains("nothing was written: 3 file(s) exist already; pass --force"),
        "{refused:?}"
    );
    assert_eq!(read(&dir.join("a.yaml")), "mine", "untouched");
    assert!(!dir.join("b.yaml").exists(), "nothing was written");

    let forced = endpoint.jobctl(&["export", "--all", "--dir", "out", "--force"], work.path());
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(read(&dir.join("a.yaml")).contains("name: a"));
    assert!(dir.join("b.yaml").exists());
}

/// A report with one of each thing export says: a written job, one left to its template with a
/// warning, a failed job, finished jobs left out.
fn sample_report() -> jobctl::report::ExportReport {
    use jobctl::engine::export::{FileKind, WrittenFile};
    use jobctl::engine::refresh::JobError;
    use jobctl::report::{ExportReport, ExportedJob};
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    let file = |id: &str, name: &str, kind| WrittenFile {
        job_id: id.into(),
        path: PathBuf::from("imported").join(name),
        kind,
    };
    ExportReport {
        dir: Some(PathBuf::from("imported")),
        jobs: vec![
            ExportedJob {
                job_id: "bulb-fw".into(),
                status: "IN_PROGRESS".into(),
                inherited: vec![],
                warnings: vec![],
            },
            ExportedJob {
                job_id: "from-template".into(),
                status: "SCHEDULED".into(),
                inherited: vec!["description", "document"],
                warnings: vec!["its document is JSON but not an object".into()],
            },
        ],
        files: vec![
            file("bulb-fw", "bulb-fw.yaml", FileKind::Manifest),
            file("bulb-fw", "bulb-fw.json", FileKind::Document),
            file("from-template", "from-template.yaml", FileKind::Manifest),
        ],
        errors: vec![JobError {
            resource: jobctl::domain::ResourceId::job("gone"),
            source: None,
            message: "job `gone` does not exist in this account and region".into(),
            operation: Some("DescribeJob"),
            code: Some("ResourceNotFoundException".into()),
        }],
        finished_left_out: BTreeMap::from([("COMPLETED".to_string(), 12)]),
        schema: "../schemas/job.schema.json".into(),
        ..ExportReport::default()
    }
}

#[test]
fn export_report_as_text() {
    insta::assert_snapshot!(jobctl::output::text::export_text(
        &sample_report(),
        jobctl::output::style::Paint::PLAIN
    ));
}

#[test]
fn export_report_as_json() {
    insta::assert_json_snapshot!(jobctl::output::json::export(&sample_report()));
}
