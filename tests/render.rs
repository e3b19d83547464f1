//! Snapshots of what people read: rendered diagnostics and plans. A change to any of them is a
//! change to jobctl's user interface and must be reviewed as one (`cargo insta review`).

use std::path::PathBuf;

use jobctl::aws::fake::FakeJobs;
use jobctl::domain::ownership::ownership_tags;
use jobctl::domain::spec::{JobSpec, TagValue};
use jobctl::domain::{JobProcessDetails, JobProgress, JobStatus};
use jobctl::engine::plan::Plan;
use jobctl::engine::reconcile::Planned;
use jobctl::engine::Settings;
use jobctl::output::json;
use jobctl::output::style::Paint;
use jobctl::output::text::{diagnostics_text, plan_text};
use jobctl::report::PlanReport;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from("tests/fixtures/render").join(name)
}

#[test]
fn diagnostics_for_a_broken_file() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    insta::assert_snapshot!(diagnostics_text(&set.diagnostics, Paint::PLAIN));
}

#[test]
fn diagnostics_as_json() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    insta::assert_json_snapshot!(json::diagnostics(&set.diagnostics));
}

fn spec(value: serde_json::Value) -> JobSpec {
    serde_json::from_value(value).expect("valid spec")
}

const GROUP: &str = "arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs";

/// An account with one job per kind of difference, and manifests that declare them.
async fn planned() -> PlanReport {
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
        for (k, v) in ownership_tags("prod") {
            s.tags.insert(k, TagValue(v));
        }
        s
    };
    let mut tagged = owned(base.clone());
    tagged
        .tags
        .insert("team".to_string(), TagValue("lighting".into()));
    tagged
        .tags
        .insert("env".to_string(), TagValue("dev".into()));
    api.insert_job("finished", JobStatus::Completed, owned(base.clone()));
    api.insert_job("stable", JobStatus::InProgress, owned(base.clone()));
    api.insert_job("described", JobStatus::InProgress, tagged);
    api.insert_job("redocumented", JobStatus::InProgress, owned(base.clone()));
    api.insert_job("hand-made", JobStatus::InProgress, spec(base.clone()));
    api.insert_job("retired", JobStatus::InProgress, owned(base.clone()));
    api.insert_job("archived", JobStatus::Completed, owned(base.clone()));
    // Health next to the diff: `stable` is on its way, `retired` (to be pruned) is over the
    // default tolerance of 0%.
    let progress = |succeeded, failed, in_progress, queued| JobProgress {
        details: JobProcessDetails {
            number_of_succeeded_things: succeeded,
            number_of_failed_things: failed,
            number_of_in_progress_things: in_progress,
            number_of_queued_things: queued,
            ..JobProcessDetails::default()
        },
        ..JobProgress::default()
    };
    api.set_progress("stable", progress(812, 0, 20, 168));
    api.set_progress("retired", progress(40, 2, 0, 8));

    let mut changed_description = base.clone();
    changed_description["description"] = "Bulb firmware 4.2.0 (staged)".into();
    // One tag changed (env), one added (owner), one removed (team): each key shows.
    changed_description["tags"] = serde_json::json!({"env": "prod", "owner": "sre"});
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
    let settings = Settings {
        instance: "prod".into(),
        prune: true,
        prune_delete: true,
        parallelism: 4,
        ..Default::default()
    };
    let planned = jobctl::engine::reconcile::plan(&api, set.jobs, Default::default(), &settings)
        .await
        .expect("the fake account is readable");
    PlanReport::new(scope(), Vec::new(), planned)
}

/// Where the rendered plans work.
fn scope() -> jobctl::report::Scope {
    jobctl::report::Scope::new(Some("123456789012".into()), "us-east-1", None, "prod")
}

#[tokio::test]
async fn plan_text_covers_each_action() {
    let report = planned().await;
    insta::assert_snapshot!(plan_text(&report.plan, &report.errors, 0, Paint::PLAIN));
}

#[tokio::test]
async fn plan_json_contract() {
    let report = planned().await;
    insta::assert_json_snapshot!(json::plan(&report));
}

#[test]
fn empty_plan_summary() {
    let plan = Plan::default();
    insta::assert_snapshot!(plan_text(&plan, &[], 0, Paint::PLAIN), @"
    Plan: no jobs declared.
    Prune: off.
    ");
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
    let PlanReport { plan, errors, .. } = planned().await;
    insta::assert_snapshot!(markdown::plan_markdown(
        &plan,
        &errors,
        &[],
        &options("jobctl plan · instance `prod`")
    ));
}

#[tokio::test]
async fn apply_markdown_when_refused() {
    let PlanReport { plan, errors, .. } = planned().await;
    let text = markdown::apply_markdown(
        &plan,
        &errors,
        &[],
        &jobctl::engine::reconcile::Applied::Refused(jobctl::engine::reconcile::Refusal::Blocked),
        &options("jobctl apply · instance `prod`"),
    );
    insta::assert_snapshot!(text.lines().take(12).collect::<Vec<_>>().join("\n"));
}

#[tokio::test]
async fn apply_markdown_with_results() {
    let PlanReport { plan, errors, .. } = planned().await;
    let applied = jobctl::engine::reconcile::Applied::Results(results());
    let text = markdown::apply_markdown(
        &plan,
        &errors,
        &[],
        &applied,
        &options("jobctl apply · instance `prod`"),
    );
    insta::assert_snapshot!(text.lines().take(10).collect::<Vec<_>>().join("\n"));
}

/// One created job and one failed update.
fn results() -> Vec<jobctl::engine::apply::JobResult> {
    use jobctl::engine::apply::{JobResult, Outcome};
    use jobctl::engine::plan::Action;
    vec![
        JobResult {
            resource: jobctl::domain::ResourceId::job("brand-new"),
            action: Action::Create,
            job_arn: Some("arn:aws:iot:us-east-1:123456789012:job/brand-new".into()),
            outcome: Outcome::Done,
        },
        JobResult {
            resource: jobctl::domain::ResourceId::job("described"),
            action: Action::Update,
            job_arn: None,
            outcome: Outcome::Failed {
                operation: "UpdateJob".into(),
                code: "ThrottlingException".into(),
                message: "Rate exceeded | <b>".into(),
            },
        },
    ]
}

#[tokio::test]
async fn plan_markdown_capped_for_a_comment() {
    let PlanReport { plan, errors, .. } = planned().await;
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
            scope: None,
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
    let PlanReport { plan, errors, .. } = planned().await;
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
    let settings = Settings {
        instance: "prod".into(),
        ..Default::default()
    };
    let Planned { plan, errors, .. } =
        jobctl::engine::reconcile::plan(&api, set.jobs, Default::default(), &settings)
            .await
            .expect("the fake account is readable");
    assert!(plan.blocked().count() == 1, "{plan:?}");
    let annotations = github::plan_annotations(&plan, &errors, &Workspace::default());
    let mut log = github::annotations_text(&annotations);
    log.push_str(&github::quoted(
        &plan_text(&plan, &errors, 0, Paint::PLAIN),
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

    let md = markdown::plan_markdown(&plan, &errors, &[], &options("t"));
    assert!(!md.contains("\n::"), "{md}");
    assert!(!md.contains("<b>"), "{md}");
}

// --- The `--output json` contract, one snapshot per object (`version` 1). ---

#[test]
fn validate_json_contract() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    let report = jobctl::report::ValidateReport::new(vec![fixture("broken.yaml")], set);
    insta::assert_json_snapshot!(json::validate(&report));
}

#[tokio::test]
async fn apply_json_when_refused() {
    use jobctl::engine::reconcile::Applied;
    let report = jobctl::report::ApplyReport {
        plan: planned().await,
        applied: Applied::Refused(jobctl::engine::reconcile::Refusal::Blocked),
        calls: Default::default(),
        wait: None,
        rollouts: Vec::new(),
        stopped: None,
    };
    let mut value = serde_json::to_value(json::apply(&report)).expect("json");
    assert_eq!(value["refused"], true);
    assert!(value.get("calls").is_none(), "{value}");
    // The plan's part is the plan contract itself.
    let plan = serde_json::to_value(json::plan(&report.plan)).expect("json");
    for (key, part) in plan.as_object().expect("object") {
        assert_eq!(&value[key], part, "{key}");
    }
    // The changes are the plan contract's, snapshotted there.
    value["changes"] = "[the plan's changes]".into();
    insta::assert_json_snapshot!(value);
}

#[tokio::test]
async fn apply_json_with_results() {
    use jobctl::engine::reconcile::Applied;
    let report = jobctl::report::ApplyReport {
        plan: planned().await,
        applied: Applied::Results(results()),
        calls: [("CreateJob".to_string(), 1), ("UpdateJob".to_string(), 3)]
            .into_iter()
            .collect(),
        wait: None,
        rollouts: Vec::new(),
        stopped: None,
    };
    let mut value = serde_json::to_value(json::apply(&report)).expect("json");
    assert!(value.get("refused").is_none(), "{value}");
    value["changes"] = "[the plan's changes]".into();
    insta::assert_json_snapshot!(value);
}

#[test]
fn plan_json_carries_manifest_diagnostics() {
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    let report = PlanReport::new(scope(), set.diagnostics, Planned::default());
    let value = serde_json::to_value(json::plan(&report)).expect("json");
    let diagnostics = value["diagnostics"].as_array().expect("diagnostics");
    assert_eq!(
        serde_json::to_value(json::diagnostics(&report.diagnostics)).expect("json"),
        value["diagnostics"]
    );
    assert!(diagnostics.iter().any(|d| d["severity"] == "error"));
}

#[test]
fn failure_json_contract() {
    use jobctl::report::{Failure, FailureKind};
    let set = jobctl::manifest::load(&[fixture("broken.yaml")]);
    let failure = Failure {
        kind: FailureKind::Connect,
        message: "no AWS region: pass --region or set AWS_REGION".into(),
        diagnostics: set.diagnostics.into_iter().take(1).collect(),
    };
    insta::assert_json_snapshot!(json::failure(&failure));
}

#[test]
fn an_orphan_shows_its_health_before_it_is_pruned() {
    let plan = Plan {
        orphans: vec![jobctl::engine::plan::Orphan {
            job_id: "retired".into(),
            status: "IN_PROGRESS".into(),
            health: Some(jobctl::engine::health::Health::Degraded),
            job_process_details: Some(JobProcessDetails {
                number_of_succeeded_things: 40,
                number_of_failed_things: 2,
                number_of_queued_things: 8,
                ..JobProcessDetails::default()
            }),
        }],
        ..Plan::default()
    };
    let text = plan_text(&plan, &[], 0, Paint::PLAIN);
    assert!(
        text.contains("  ? retired  [IN_PROGRESS] · Degraded 40/50 ✓ 2 ✗\n"),
        "{text}"
    );
}

/// A job from a declared template (its inherited values) and a template pruned with it: the
/// `inherited` object and `prune.wouldPruneTemplates` in the JSON contract.
#[tokio::test]
async fn plan_json_contract_for_templates() {
    let api = FakeJobs::new().with_thing("bulb-1");
    let mut old: jobctl::domain::JobTemplateSpec = serde_json::from_value(serde_json::json!({
        "description": "Old OTA",
        "document": {"operation": "update"},
    }))
    .expect("template");
    for (k, v) in ownership_tags("prod") {
        old.tags.insert(k, TagValue(v));
    }
    jobctl::aws::JobsApi::create_job_template(&api, "old", &old)
        .await
        .expect("create");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("ota.yaml"),
        "apiVersion: jobctl/v1\nkind: JobTemplate\nmetadata:\n  name: ota\nspec:\n  description: Bulb OTA\n  document: {operation: update, version: \"4.2.0\"}\n  timeoutConfig: {inProgressTimeoutInMinutes: 30}\n---\napiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: fw\nspec:\n  targets: [{thing: bulb-1}]\n  jobTemplate: ota\n  timeoutConfig: {inProgressTimeoutInMinutes: 5}\n",
    )
    .expect("write");
    let mut set = jobctl::manifest::load(&[dir.path().join("ota.yaml")]);
    assert_eq!(set.error_count(), 0, "{:?}", set.diagnostics);
    for origin in set
        .jobs
        .iter_mut()
        .map(|j| &mut j.origin)
        .chain(set.templates.iter_mut().map(|t| &mut t.origin))
    {
        origin.file = "ota.yaml".into();
    }
    let settings = Settings {
        instance: "prod".into(),
        prune: true,
        parallelism: 4,
        ..Default::default()
    };
    let coverage = jobctl::engine::reconcile::Coverage {
        templates: std::mem::take(&mut set.templates),
        ..Default::default()
    };
    let planned = jobctl::engine::reconcile::plan(&api, set.jobs, coverage, &settings)
        .await
        .expect("the fake account is readable");
    assert!(planned.errors.is_empty(), "{:?}", planned.errors);
    let report = PlanReport::new(scope(), Vec::new(), planned);
    insta::assert_json_snapshot!(json::plan(&report));
}
