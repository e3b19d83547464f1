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
    api.insert_job("archived", JobStatus::Completed, owned(base.clone()));

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
        finished_orphans: true,
        ..Default::default()
    };
    let refreshed = jobctl::refresh::refresh(&api, set.jobs, &scope).await;
    let options = jobctl::plan::Options {
        instance: "prod".into(),
        prune: true,
        prune_delete: true,
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

// --- GitHub Actions (`--output github`) and Markdown (`--output markdown`) ---

use jobctl::output::github::{self, Workspace};
use jobctl::output::markdown::{self, MarkdownOptions};

fn options(title: &str) -> MarkdownOptions {
    MarkdownOptions {
        title: title.to_string(),
        ..Default::default()
    }
}

#[tokio::test]
async fn plan_markdown_covers_each_action() {
    let (plan, errors) = planned().await;
    insta::assert_snapshot!(markdown::plan_markdown(
        &plan,
        &errors,
        &[],
        &options("jobctl plan · instance `prod`")
    ));
}

#[tokio::test]
async fn apply_markdown_when_refused() {
    let (plan, errors) = planned().await;
    let text = markdown::apply_markdown(
        &plan,
        &errors,
        &[],
        None,
        &options("jobctl apply · instance `prod`"),
    );
    insta::assert_snapshot!(text.lines().take(12).collect::<Vec<_>>().join("\n"));
}

#[tokio::test]
async fn apply_markdown_with_results() {
    use jobctl::apply::{ApplyReport, JobResult, Outcome};
    use jobctl::plan::Action;
    let (plan, errors) = planned().await;
    let report = ApplyReport {
        results: vec![
            JobResult {
                job_id: "brand-new".into(),
                action: Action::Create,
                outcome: Outcome::Done,
            },
            JobResult {
                job_id: "described".into(),
                action: Action::Update,
                outcome: Outcome::Failed {
                    operation: "UpdateJob".into(),
                    code: "ThrottlingException".into(),
                    message: "Rate exceeded | <b>".into(),
                },
            },
        ],
    };
    let text = markdown::apply_markdown(
        &plan,
        &errors,
        &[],
        Some(&report),
        &options("jobctl apply · instance `prod`"),
    );
    insta::assert_snapshot!(text.lines().take(10).collect::<Vec<_>>().join("\n"));
}

#[tokio::test]
async fn plan_markdown_capped_for_a_comment() {
    let (plan, errors) = planned().await;
    let full = markdown::plan_markdown(&plan, &errors, &[], &options("t"));
    let capped = markdown::plan_markdown(
        &plan,
        &errors,
        &[],
        &MarkdownOptions {
            title: "t".into(),
            marker: Some("<!-- jobctl:plan instance=prod -->".into()),
            max_bytes: Some(full.len() - 400),
            full_report: Some("[run 7](https://github.example/o/r/actions/runs/7).".into()),
        },
    );
    assert!(capped.len() <= full.len() - 400, "{}", capped.len());
    assert!(capped.contains("<code>brand-new</code>"), "{capped}");
    assert!(capped.starts_with("<!-- jobctl:plan instance=prod -->\n### t\n"));
    // Whole blocks are left out, so every <details> that opens also closes.
    assert_eq!(
        capped.matches("<details>").count(),
        capped.matches("</details>").count()
    );
    insta::assert_snapshot!(capped.lines().rev().take(3).collect::<Vec<_>>().join("\n"));
}

#[test]
fn validate_markdown_lists_problems() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    insta::assert_snapshot!(markdown::diagnostics_markdown(
        &set.diagnostics,
        set.files_read,
        set.jobs.len(),
        &options("jobctl validate")
    ));
}

#[test]
fn diagnostics_as_github_annotations() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    let annotations = github::diagnostics_annotations(&set.diagnostics, &Workspace::default());
    insta::assert_snapshot!(github::annotations_text(&annotations));
}

#[tokio::test]
async fn plan_as_github_annotations() {
    let (plan, errors) = planned().await;
    let annotations = github::plan_annotations(&plan, &errors, &Workspace::default());
    insta::assert_snapshot!(github::annotations_text(&annotations));
}

/// Lines a runner would execute as workflow commands: those starting with `::` outside a
/// `::stop-commands::TOKEN` … `::TOKEN::` block.
fn live_commands(log: &str) -> Vec<String> {
    let mut live = Vec::new();
    let mut stopped: Option<String> = None;
    for line in log.lines() {
        match &stopped {
            Some(token) if line == format!("::{token}::") => stopped = None,
            Some(_) => {}
            None => {
                if let Some(token) = line.strip_prefix("::stop-commands::") {
                    stopped = Some(token.to_string());
                } else if line.starts_with("::") {
                    live.push(line.to_string());
                }
            }
        }
    }
    live
}

#[tokio::test]
async fn hostile_account_text_cannot_run_workflow_commands() {
    let api = FakeJobs::new().with_group("Bulbs");
    let mut theirs = spec(serde_json::json!({
        "targets": [GROUP],
        "document": {"op": "x"}
    }));
    theirs
        .tags
        .insert("jobctl:managed-by".into(), TagValue("jobctl".into()));
    theirs.tags.insert(
        "jobctl:instance".into(),
        TagValue("evil\n::add-mask::x\n::error file=a,line=1::pwned\r\n::stop-commands::t".into()),
    );
    api.insert_job("taken", JobStatus::InProgress, theirs);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("jobs.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: taken\nspec:\n  targets: [{thingGroup: Bulbs}]\n  document: {op: \"x\\n::error::doc\"}\n",
    )
    .expect("write");
    let set = jobctl::manifest::load(&[dir.path().join("jobs.yaml")]);
    let refreshed =
        jobctl::refresh::refresh(&api, set.jobs, &jobctl::refresh::Scope::default()).await;
    let plan = jobctl::plan::plan(
        &refreshed.desired,
        &refreshed.observed,
        &jobctl::plan::Options {
            instance: "prod".into(),
            ..Default::default()
        },
    );
    assert!(plan.blocked().count() == 1, "{plan:?}");
    let annotations = github::plan_annotations(&plan, &refreshed.errors, &Workspace::default());
    let mut log = github::annotations_text(&annotations);
    log.push_str(&github::quoted(
        &output::plan_text(&plan, &refreshed.errors, Style { color: false }),
        &github::stop_token(),
    ));
    // The hostile lines are in the log, but only inside the fenced block.
    assert!(log.contains("\n::add-mask::x\n"), "{log}");
    let live = live_commands(&log);
    assert_eq!(live.len(), 1, "{live:#?}");
    assert!(live[0].starts_with("::error "), "{live:#?}");
    assert!(
        live[0].contains(
            "evil%0A::add-mask::x%0A::error file=a,line=1::pwned%0D%0A::stop-commands::t"
        ),
        "{live:#?}"
    );

    let md = markdown::plan_markdown(&plan, &refreshed.errors, &[], &options("t"));
    assert!(!md.contains("\n::"), "{md}");
    assert!(!md.contains("<b>"), "{md}");
}
