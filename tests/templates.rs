//! Job templates end to end: `kind: JobTemplate` manifests and the jobs that use them, planned,
//! applied, replaced and pruned by the real binaries against `jobctl-emulator` on loopback.

mod common;

use std::path::Path;

use common::Endpoint;
use serde_json::Value;

const TEMPLATE_ARN: &str = "arn:aws:iot:us-east-1:123456789012:jobtemplate/ota";

fn template(timeout: u32) -> String {
    format!(
        "apiVersion: jobctl/v1
kind: JobTemplate
metadata:
  name: ota
spec:
  description: Bulb OTA
  document:
    operation: update
    version: \"4.2.0\"
  timeoutConfig:
    inProgressTimeoutInMinutes: {timeout}
  maintenanceWindows:
    - startTime: cron(0 22 ? * SAT *)
      durationInMinutes: 120
  tags:
    team: lighting
"
    )
}

const JOB: &str = "apiVersion: jobctl/v1
kind: Job
metadata:
  name: fw
spec:
  targets:
    - thing: bulb-1
  jobTemplateArn: arn:aws:iot:us-east-1:123456789012:jobtemplate/ota
";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write manifest");
}

fn get(endpoint: &Endpoint, path: &str) -> (u16, Value) {
    let (status, body) = endpoint.call("GET", path, "");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn change<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["jobId"] == id))
        .unwrap_or_else(|| panic!("no change for {id}: {plan:#}"))
}

/// A template's change: `kind: JobTemplate`, named by `templateName`.
fn template_change<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["kind"] == "JobTemplate" && c["templateName"] == name)
        })
        .unwrap_or_else(|| panic!("no change for template {name}: {plan:#}"))
}

#[test]
fn a_template_and_a_job_from_it_are_created_in_order_and_then_settle() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ota.yaml", &template(30));
    write(dir.path(), "fw.yaml", JOB);

    let plan = endpoint.jobctl(&["plan", "-f", ".", "-o", "json"], dir.path());
    assert_eq!(plan.code, 0, "{plan:?}");
    let plan = plan.json();
    assert_eq!(template_change(&plan, "ota")["action"], "create");
    assert_eq!(change(&plan, "fw")["action"], "create");

    // One apply: the job can only be created if its template already exists.
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    let (status, described) = get(&endpoint, "/job-templates/ota");
    assert_eq!(status, 200, "{described}");
    assert_eq!(described["timeoutConfig"]["inProgressTimeoutInMinutes"], 30);
    assert_eq!(described["maintenanceWindows"][0]["durationInMinutes"], 120);
    let (_, tags) = get(
        &endpoint,
        &format!(
            "/tags?resourceArn={}",
            TEMPLATE_ARN.replace(':', "%3A").replace('/', "%2F")
        ),
    );
    let tags = tags["tags"].to_string();
    assert!(
        tags.contains("jobctl:instance") && tags.contains("lighting"),
        "{tags}"
    );
    // The job took the template's document and timeout.
    let (_, job) = get(&endpoint, "/jobs/fw");
    assert_eq!(job["job"]["jobTemplateArn"], TEMPLATE_ARN);
    assert_eq!(
        job["job"]["timeoutConfig"]["inProgressTimeoutInMinutes"],
        30
    );
    let (_, document) = get(&endpoint, "/jobs/fw/job-document");
    assert!(
        document["document"]
            .as_str()
            .unwrap_or_default()
            .contains("4.2.0"),
        "{document}"
    );

    let again = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(again.code, 0, "nothing left to do: {again:?}");
}

#[test]
fn a_changed_template_is_refused_without_allow_replace_and_replaced_with_it() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ota.yaml", &template(30));
    write(dir.path(), "fw.yaml", JOB);
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");

    write(dir.path(), "ota.yaml", &template(45));
    let plan = endpoint.jobctl(&["plan", "-f", ".", "-o", "json"], dir.path());
    let plan = plan.json();
    let replace = template_change(&plan, "ota");
    assert_eq!(replace["action"], "replace", "{replace:#}");
    assert_eq!(replace["forcedBy"][0], "timeoutConfig");
    assert!(
        replace["blocked"]
            .as_str()
            .unwrap_or_default()
            .contains("--allow-replace"),
        "{replace:#}"
    );
    let text = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert!(text.stdout.contains("job template ota"), "{text:?}");

    let refused = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_ne!(refused.code, 0, "{refused:?}");
    let (_, described) = get(&endpoint, "/job-templates/ota");
    assert_eq!(described["timeoutConfig"]["inProgressTimeoutInMinutes"], 30);

    let replaced = endpoint.jobctl(&["apply", "-f", ".", "--allow-replace"], dir.path());
    assert_eq!(replaced.code, 0, "{replaced:?}");
    let (_, described) = get(&endpoint, "/job-templates/ota");
    assert_eq!(described["timeoutConfig"]["inProgressTimeoutInMinutes"], 45);
    // The job created from the old template keeps what it took.
    // (SCHEDULED: it inherited the template's maintenance window.)
    let (status, job) = get(&endpoint, "/jobs/fw");
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["job"]["status"], "SCHEDULED");
    assert_eq!(
        job["job"]["timeoutConfig"]["inProgressTimeoutInMinutes"],
        30
    );
}

/// A template and a job from it, applied with a third job, then their manifests removed: what
/// prune finds.
fn template_and_job_whose_manifests_are_gone() -> (Endpoint, tempfile::TempDir) {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ota.yaml", &template(30));
    write(dir.path(), "fw.yaml", JOB);
    write(dir.path(), "keep.yaml", "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: keep\nspec:\n  targets: [{thing: bulb-1}]\n  document: {op: noop}\n");
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");

    std::fs::remove_file(dir.path().join("ota.yaml")).expect("rm");
    std::fs::remove_file(dir.path().join("fw.yaml")).expect("rm");
    (endpoint, dir)
}

#[test]
fn prune_cancels_the_jobs_before_deleting_the_template_they_used() {
    let (endpoint, dir) = template_and_job_whose_manifests_are_gone();
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--prune", "-o", "json"], dir.path());
    let plan = plan.json();
    assert_eq!(change(&plan, "fw")["action"], "cancel");
    assert_eq!(template_change(&plan, "ota")["action"], "delete");

    let pruned = endpoint.jobctl(&["apply", "-f", ".", "--prune", "-v"], dir.path());
    assert_eq!(pruned.code, 0, "{pruned:?}");
    let (status, _) = get(&endpoint, "/job-templates/ota");
    assert_eq!(status, 404);
    let (_, job) = get(&endpoint, "/jobs/fw");
    assert_eq!(job["job"]["status"], "CANCELED");
    // The order: each change logs `job applied` as it finishes, and the phases run one after
    // another.
    let applied: Vec<&str> = pruned
        .stderr
        .lines()
        .filter(|l| l.contains("job applied"))
        .collect();
    let at = |id: &str| {
        applied
            .iter()
            .position(|l| l.contains(&format!("resource={id} ")))
            .unwrap_or_else(|| panic!("no `job applied` for {id}: {applied:#?}"))
    };
    assert!(at("fw") < at("job template ota"), "{applied:#?}");
}

#[test]
fn managed_template_parameters_missing_or_unknown_are_named_with_the_manifest_line() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "download.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: fetch-config
spec:
  targets: [{thing: bulb-1}]
  jobTemplateArn: arn:aws:iot:us-east-1::jobtemplate/AWS-Download-File:1.0
  documentParameters:
    downloadUrl: https://example.com/bulb.conf
    fielPath: /etc/bulb.conf
",
    );
    write(
        dir.path(),
        "reboot.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: reboot
spec:
  targets: [{thing: bulb-1}]
  jobTemplateArn: arn:aws:iot:us-east-1::jobtemplate/AWS-Reboot:1.0
",
    );
    let plan = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(plan.code, 1, "{plan:?}");
    let out = format!("{}{}", plan.stdout, plan.stderr);
    // The line of the `documentParameters` key, not the job's name.
    assert!(out.contains("download.yaml:8:3"), "{out}");
    assert!(out.contains("missing `filePath`"), "{out}");
    assert!(out.contains("unknown `fielPath`"), "{out}");
    // AWS-Reboot needs no parameters: that job plans normally.
    assert!(out.contains("+ reboot will be created"), "{out}");

    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_ne!(apply.code, 0, "{apply:?}");
    let (status, _) = get(&endpoint, "/jobs/fetch-config");
    assert_eq!(
        status, 404,
        "a job that does not fit its template is never created"
    );
}

#[test]
fn a_job_names_its_template_by_manifest_name_and_is_created_after_it() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ota.yaml", &template(30));
    write(
        dir.path(),
        "fw.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: fw
spec:
  targets:
    - thing: bulb-1
  jobTemplate: ota
",
    );
    let plan = endpoint.jobctl(&["plan", "-f", ".", "-o", "json"], dir.path());
    assert_eq!(plan.code, 0, "{plan:?}");
    let plan = plan.json();
    assert_eq!(template_change(&plan, "ota")["action"], "create");
    assert_eq!(change(&plan, "fw")["action"], "create");

    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    let (_, job) = get(&endpoint, "/jobs/fw");
    assert_eq!(job["job"]["jobTemplateArn"], TEMPLATE_ARN);
    assert_eq!(
        job["job"]["timeoutConfig"]["inProgressTimeoutInMinutes"],
        30
    );
    let again = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(again.code, 0, "{again:?}");

    // A template only the account holds is found by name too.
    let other = tempfile::tempdir().expect("tempdir");
    write(
        other.path(),
        "fw2.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: fw2
spec:
  targets: [{thing: bulb-1}]
  jobTemplate: ota
",
    );
    let apply = endpoint.jobctl(&["apply", "-f", "."], other.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    let (_, job) = get(&endpoint, "/jobs/fw2");
    assert_eq!(job["job"]["jobTemplateArn"], TEMPLATE_ARN);
}

#[test]
fn job_template_with_an_arn_or_an_unknown_name_is_an_error_at_its_line() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "both.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: both
spec:
  targets: [{thing: bulb-1}]
  jobTemplate: ota
  jobTemplateArn: arn:aws:iot:us-east-1:123456789012:jobtemplate/ota
",
    );
    let plan = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_ne!(plan.code, 0, "{plan:?}");
    let out = format!("{}{}", plan.stdout, plan.stderr);
    assert!(out.contains("both.yaml:8:3"), "{out}");
    assert!(
        out.contains("both `jobTemplate` and `jobTemplateArn`"),
        "{out}"
    );

    let unknown = tempfile::tempdir().expect("tempdir");
    write(
        unknown.path(),
        "fw.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: fw
spec:
  targets: [{thing: bulb-1}]
  jobTemplate: nope
",
    );
    let plan = endpoint.jobctl(&["plan", "-f", "."], unknown.path());
    assert_eq!(plan.code, 1, "{plan:?}");
    let out = format!("{}{}", plan.stdout, plan.stderr);
    assert!(out.contains("fw.yaml:7:3"), "{out}");
    assert!(
        out.contains("no `kind: JobTemplate` manifest declares `nope`"),
        "{out}"
    );
    let apply = endpoint.jobctl(&["apply", "-f", "."], unknown.path());
    assert_ne!(apply.code, 0, "{apply:?}");
    let (status, _) = get(&endpoint, "/jobs/fw");
    assert_eq!(status, 404);
}

#[test]
fn a_job_created_from_a_template_exports_and_plans_nothing_to_do() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ota.yaml", &template(30));
    write(dir.path(), "fw.yaml", JOB);
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");

    let run = endpoint.jobctl(&["export", "fw", "--dir", "exported"], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    let exported = dir.path().join("exported");
    let text = std::fs::read_dir(&exported)
        .expect("exported dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(text.contains(TEMPLATE_ARN), "{text}");
    // The template's timeout is inherited, not written into the job's manifest.
    assert!(!text.contains("inProgressTimeoutInMinutes"), "{text}");
    std::fs::copy(dir.path().join("ota.yaml"), exported.join("ota.yaml")).expect("copy");
    let plan = endpoint.jobctl(
        &["plan", "-f", "exported", "--detailed-exitcode"],
        dir.path(),
    );
    assert_eq!(plan.code, 0, "nothing to do after the round trip: {plan:?}");
}

/// The plan's text with the emulator's address (a new port each run) made stable.
fn stable(text: &str, endpoint: &Endpoint) -> String {
    text.replace(&endpoint.url, "http://EMULATOR")
}

fn stats(endpoint: &Endpoint, operation: &str) -> u64 {
    let (_, stats) = get(endpoint, "/_emulator/stats");
    stats["operations"][operation]["total"]
        .as_u64()
        .unwrap_or(0)
}

/// Jobs from a declared template, an account template (by name) and an AWS-managed one.
fn inheriting_jobs(dir: &Path) {
    write(dir, "ota.yaml", &template(30));
    write(dir, "fw.yaml", JOB);
    write(
        dir,
        "own.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: own
spec:
  description: Its own description
  targets: [{thing: bulb-1}]
  jobTemplate: base
  timeoutConfig:
    inProgressTimeoutInMinutes: 5
",
    );
    write(
        dir,
        "own2.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: own2
spec:
  targets: [{thing: bulb-1}]
  jobTemplateArn: arn:aws:iot:us-east-1:123456789012:jobtemplate/base
",
    );
    write(
        dir,
        "fetch.yaml",
        "apiVersion: jobctl/v1
kind: Job
metadata:
  name: fetch
spec:
  targets: [{thing: bulb-1}]
  jobTemplateArn: arn:aws:iot:us-east-1::jobtemplate/AWS-Download-File:1.0
  documentParameters:
    downloadUrl: https://example.com/bulb.conf
    filePath: /etc/bulb.conf
",
    );
}

/// A template the account holds that no manifest declares.
fn account_template(endpoint: &Endpoint) {
    let (status, body) = endpoint.call(
        "PUT",
        "/job-templates/base",
        r#"{"description": "Base OTA", "document": "{\"operation\":\"base\"}", "timeoutConfig": {"inProgressTimeoutInMinutes": 15}, "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 2}]}}"#,
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_plan_shows_what_each_job_inherits_from_its_template() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    account_template(&endpoint);
    let dir = tempfile::tempdir().expect("tempdir");
    inheriting_jobs(dir.path());

    let (status, _) = endpoint.call("POST", "/_emulator/stats/reset", "");
    assert_eq!(status, 200);
    let plan = endpoint.jobctl(&["plan", "-f", ".", "-o", "json"], dir.path());
    assert_eq!(plan.code, 0, "{plan:?}");
    let plan = plan.json();
    // Each template is read at most once, and declared ones not at all.
    assert_eq!(stats(&endpoint, "DescribeJobTemplate"), 1);
    assert_eq!(stats(&endpoint, "DescribeManagedJobTemplate"), 1);
    assert_eq!(stats(&endpoint, "ListJobTemplates"), 1);

    // A declared template: its manifest's values, without a call.
    let fw = &change(&plan, "fw")["inherited"];
    assert_eq!(fw["templateArn"], TEMPLATE_ARN, "{fw:#}");
    assert_eq!(fw["templateName"], "ota");
    assert_eq!(fw["from"], "manifest");
    assert!(
        fw["source"]
            .as_str()
            .unwrap_or_default()
            .contains("ota.yaml"),
        "{fw:#}"
    );
    assert_eq!(fw["fields"]["description"], "Bulb OTA");
    assert_eq!(fw["fields"]["document"]["version"], "4.2.0");
    assert_eq!(
        fw["fields"]["timeoutConfig"]["inProgressTimeoutInMinutes"],
        30
    );
    assert_eq!(
        fw["fields"]["maintenanceWindows"][0]["durationInMinutes"],
        120
    );

    // An account template: DescribeJobTemplate's values, minus what the job sets itself.
    let own = &change(&plan, "own")["inherited"];
    assert_eq!(own["from"], "account", "{own:#}");
    assert_eq!(
        own["templateArn"],
        "arn:aws:iot:us-east-1:123456789012:jobtemplate/base"
    );
    assert_eq!(own["fields"]["document"]["operation"], "base");
    assert_eq!(
        own["fields"]["jobExecutionsRetryConfig"]["criteriaList"][0]["numberOfRetries"],
        2
    );
    let keys: Vec<&str> = own["fields"]
        .as_object()
        .map(|f| f.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert!(
        !keys.contains(&"timeoutConfig") && !keys.contains(&"description"),
        "the job sets these itself: {own:#}"
    );
    let own2 = &change(&plan, "own2")["inherited"];
    assert_eq!(own2["fields"]["description"], "Base OTA", "{own2:#}");
    assert_eq!(
        own2["fields"]["timeoutConfig"]["inProgressTimeoutInMinutes"],
        15
    );

    // An AWS-managed template: the document as devices get it, parameters substituted.
    let fetch = &change(&plan, "fetch")["inherited"];
    assert_eq!(fetch["from"], "managed", "{fetch:#}");
    assert_eq!(fetch["templateName"], "AWS-Download-File");
    assert_eq!(fetch["templateVersion"], "1.0");
    let document = fetch["fields"]["document"].to_string();
    assert!(
        document.contains("https://example.com/bulb.conf")
            && document.contains("/etc/bulb.conf")
            && !document.contains("${aws:iot:parameter:downloadUrl}"),
        "{fetch:#}"
    );

    let text = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout.contains(&format!(
            "inherits from template ota: {TEMPLATE_ARN} (declared at ./ota.yaml:4:9)\n"
        )),
        "{text:?}"
    );
    insta::assert_snapshot!(stable(&text.stdout, &endpoint));

    // What the plan showed is what the jobs got.
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    let (_, job) = get(&endpoint, "/jobs/own2");
    assert_eq!(
        job["job"]["timeoutConfig"]["inProgressTimeoutInMinutes"],
        15
    );
    let (_, document) = get(&endpoint, "/jobs/fetch/job-document");
    let got: Value =
        serde_json::from_str(document["document"].as_str().unwrap_or_default()).expect("JSON");
    assert_eq!(got, fetch["fields"]["document"], "{document}");
}

#[test]
fn an_updated_job_shows_the_values_it_took_from_its_template() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ota.yaml", &template(30));
    write(dir.path(), "fw.yaml", JOB);
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");

    // The job now sets its own description (UpdateJob); it still inherits the rest.
    write(
        dir.path(),
        "fw.yaml",
        &JOB.replace("spec:\n", "spec:\n  description: Bulb OTA, wave 2\n"),
    );
    let plan = endpoint.jobctl(&["plan", "-f", ".", "-o", "json"], dir.path());
    let plan = plan.json();
    let fw = change(&plan, "fw");
    assert_eq!(fw["action"], "update", "{fw:#}");
    assert_eq!(fw["fields"][0]["field"], "description");
    let inherited = &fw["inherited"];
    assert_eq!(inherited["from"], "job", "{fw:#}");
    assert_eq!(inherited["templateArn"], TEMPLATE_ARN);
    assert!(inherited["fields"].get("description").is_none(), "{fw:#}");
    assert_eq!(
        inherited["fields"]["timeoutConfig"]["inProgressTimeoutInMinutes"],
        30
    );

    let text = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    insta::assert_snapshot!(stable(&text.stdout, &endpoint));

    // Markdown shows the inherited values as context lines under a header naming the template.
    let markdown = endpoint.jobctl(&["plan", "-f", ".", "-o", "markdown"], dir.path());
    assert!(
        markdown.stdout.contains(&format!(
            "@@ timeoutConfig (inherited from template ota: {TEMPLATE_ARN}) @@\n  {{\"inProgressTimeoutInMinutes\":30}}\n"
        )),
        "{markdown:?}"
    );
}

#[test]
fn max_prune_counts_pruned_templates_with_the_jobs() {
    let (endpoint, dir) = template_and_job_whose_manifests_are_gone();

    let plan = endpoint.jobctl(
        &[
            "plan",
            "-f",
            ".",
            "--prune",
            "--max-prune",
            "1",
            "-o",
            "json",
        ],
        dir.path(),
    );
    let plan = plan.json();
    assert_eq!(plan["prune"]["wouldPrune"], 2, "{plan:#}");
    assert_eq!(plan["prune"]["wouldPruneTemplates"], 1);
    assert!(
        plan["prune"]["refused"]
            .as_str()
            .unwrap_or_default()
            .contains("more than --max-prune 1"),
        "{plan:#}"
    );
    assert!(template_change(&plan, "ota")["blocked"].is_string());
    let text = endpoint.jobctl(
        &["plan", "-f", ".", "--prune", "--max-prune", "1"],
        dir.path(),
    );
    assert!(
        text.stdout
            .contains("Prune: refused; it would prune 2 (1 job, 1 job template):"),
        "{text:?}"
    );

    let refused = endpoint.jobctl(
        &["apply", "-f", ".", "--prune", "--max-prune", "1"],
        dir.path(),
    );
    assert_ne!(refused.code, 0, "{refused:?}");
    let (status, _) = get(&endpoint, "/job-templates/ota");
    assert_eq!(status, 200, "nothing is pruned over the limit");

    let pruned = endpoint.jobctl(
        &["apply", "-f", ".", "--prune", "--max-prune", "2"],
        dir.path(),
    );
    assert_eq!(pruned.code, 0, "{pruned:?}");
    let (status, _) = get(&endpoint, "/job-templates/ota");
    assert_eq!(status, 404);
}

/// Issue 21: `apply --wait` on a root with a `kind: JobTemplate` follows only jobs. It used to
/// wait for "jobtemplate/ota" too, call DescribeJob with that id and exit 1.
#[test]
fn apply_wait_with_a_template_in_the_root_waits_only_for_jobs() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_thing("bulb-1");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ota.yaml", &template(30));
    write(dir.path(), "fw.yaml", JOB);
    let run = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--wait",
            "--timeout",
            "3s",
            "-o",
            "json",
        ],
        dir.path(),
    );
    let json = run.json();
    let followed: Vec<&str> = json["wait"]["jobs"]
        .as_array()
        .map(|jobs| jobs.iter().filter_map(|j| j["jobId"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(followed, vec!["fw"], "{json:#}");
    assert!(
        !run.stderr.contains("DescribeJob failed"),
        "a template was read as a job: {}",
        run.stderr
    );
    let results: Vec<(&str, &str)> = json["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|r| {
                    (
                        r["kind"].as_str().unwrap_or(""),
                        r["outcome"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        results,
        vec![("Job", "done"), ("JobTemplate", "done")],
        "{json:#}"
    );
}

/// Issue 21: when the tags of an existing template cannot be read, the plan has one error for
/// it and does not plan to create it (it exists). It used to list it as "will be created" too.
#[test]
fn a_template_whose_tags_cannot_be_read_is_one_error_and_no_create() {
    let endpoint = Endpoint::emulator(&["--fail", "ListTagsForResource=InvalidRequestException:1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    // Created by a first apply (no tag read: it does not exist yet).
    write(dir.path(), "ota.yaml", &template(30));
    let (status, _) = get(&endpoint, "/job-templates/ota");
    assert_eq!(status, 404);
    let created = endpoint.jobctl(
        &["apply", "-f", ".", "--instance", "prod", "-o", "json"],
        dir.path(),
    );
    assert_eq!(created.code, 0, "{created:?}");
    let plan = endpoint.jobctl(
        &["plan", "-f", ".", "--instance", "prod", "-o", "json"],
        dir.path(),
    );
    let json = plan.json();
    assert_eq!(plan.code, 1, "{plan:?}");
    let errors = json["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{json:#}");
    assert_eq!(errors[0]["kind"], "JobTemplate", "{json:#}");
    assert_eq!(errors[0]["templateName"], "ota", "{json:#}");
    assert_eq!(json["summary"]["create"], 0, "{json:#}");
    let changes = json["changes"].as_array().cloned().unwrap_or_default();
    assert!(changes.is_empty(), "{json:#}");
}
