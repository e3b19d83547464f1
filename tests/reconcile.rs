//! End to end reconciliation: updates, tags, targets, replacement, finished jobs, ownership and
//! prune, with the real `jobctl` against the real `jobctl-emulator`.

mod common;

use std::path::Path;

use common::{job_ids, jobctl_command, write_jobs, Endpoint};

const SCOPE: &str = "123456789012:us-east-1";

fn job(endpoint: &Endpoint, id: &str) -> serde_json::Value {
    endpoint.state()["scopes"][SCOPE]["jobs"][id].clone()
}

fn tags(endpoint: &Endpoint, id: &str) -> serde_json::Value {
    let arn = format!("arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Ajob%2F{id}");
    let (status, body) = endpoint.call("GET", &format!("/tags?resourceArn={arn}"), "");
    assert_eq!(status, 200, "{body}");
    let parsed: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mut map = serde_json::Map::new();
    for tag in parsed["tags"].as_array().cloned().unwrap_or_default() {
        map.insert(
            tag["Key"].as_str().unwrap_or_default().into(),
            tag["Value"].clone(),
        );
    }
    serde_json::Value::Object(map)
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replace(from, to)).expect("write");
}

fn setup(count: usize) -> (Endpoint, tempfile::TempDir) {
    let endpoint = Endpoint::emulator(&["--deletion-delay-ms", "300"]);
    endpoint.seed_group("Fleet");
    endpoint.seed_group("Extra");
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "job", count);
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    (endpoint, dir)
}

#[test]
fn created_jobs_carry_ownership_tags() {
    let (endpoint, _dir) = setup(1);
    let tags = tags(&endpoint, "job-000");
    assert_eq!(tags["jobctl:managed-by"], "jobctl");
    assert_eq!(tags["jobctl:instance"], "default");
    assert_eq!(tags["batch"], "job");
}

#[test]
fn description_and_tags_are_updated_in_place() {
    let (endpoint, dir) = setup(1);
    let file = dir.path().join("job-000.yaml");
    edit(&file, "description: job 0", "description: job 0, staged");
    edit(&file, "    batch: job\n", "    owner: ops\n");
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("Apply: 0 created, 1 updated, 0 failed."),
        "{run:?}"
    );
    assert_eq!(job(&endpoint, "job-000")["description"], "job 0, staged");
    let tags = tags(&endpoint, "job-000");
    assert_eq!(tags["owner"], "ops");
    assert!(tags.get("batch").is_none(), "removed tag is gone: {tags}");
    assert_eq!(tags["jobctl:instance"], "default", "jobctl's own tags stay");
    let again = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(again.code, 0, "{again:?}");
}

#[test]
fn replacement_is_refused_without_allow_replace_and_done_with_it() {
    let (endpoint, dir) = setup(2);
    edit(&dir.path().join("job-001.yaml"), "build: 1", "build: 99");
    edit(
        &dir.path().join("job-000.yaml"),
        "description: job 0",
        "description: touched",
    );
    let refused = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stdout
            .contains("-/+ job-001 must be replaced (forced by document)"),
        "{refused:?}"
    );
    assert!(refused.stderr.contains("apply refused"), "{refused:?}");
    assert_eq!(
        job(&endpoint, "job-000")["description"],
        "job 0",
        "nothing was touched"
    );

    let run = endpoint.jobctl(&["apply", "-f", ".", "--allow-replace"], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    let replaced = job(&endpoint, "job-001");
    assert!(replaced["document"]
        .as_str()
        .expect("document")
        .contains("99"));
    assert_eq!(replaced["status"], "IN_PROGRESS");
    assert_eq!(tags(&endpoint, "job-001")["jobctl:managed-by"], "jobctl");
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn finished_jobs_are_never_rerun_implicitly() {
    let (endpoint, dir) = setup(1);
    let (status, body) = endpoint.call(
        "POST",
        "/_emulator/jobs/job-000/complete",
        r#"{"outcome":"SUCCEEDED"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(job(&endpoint, "job-000")["status"], "COMPLETED");
    edit(&dir.path().join("job-000.yaml"), "build: 0", "build: 1");

    let plan = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("1 finished job(s) were not compared (1 COMPLETED)"),
        "{plan:?}"
    );

    let compared = endpoint.jobctl(&["apply", "-f", ".", "--compare-finished"], dir.path());
    assert_eq!(compared.code, 1, "{compared:?}");
    assert!(
        compared
            .stdout
            .contains("this job has finished; give the manifest a new name to roll it out again"),
        "{compared:?}"
    );
    assert_eq!(job(&endpoint, "job-000")["status"], "COMPLETED");
}

#[test]
fn continuous_jobs_gain_targets_in_place() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    endpoint.seed_group("Extra");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("c.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: cont\nspec:\n  targetSelection: CONTINUOUS\n  targets:\n    - thingGroup: Fleet\n  document: {op: cfg}\n",
    )
    .expect("write");
    assert_eq!(endpoint.jobctl(&["apply", "-f", "."], dir.path()).code, 0);
    edit(
        &dir.path().join("c.yaml"),
        "    - thingGroup: Fleet\n",
        "    - thingGroup: Fleet\n    - thingGroup: Extra\n",
    );
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 updated"), "{run:?}");
    assert_eq!(
        job(&endpoint, "cont")["targets"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn unmanaged_jobs_are_conflicts_until_adopted_and_never_pruned() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    let group = "arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet";
    for id in ["manual-000", "bystander"] {
        let body = format!(
            r#"{{"targets":["{group}"],"document":"{{\"operation\":\"update\",\"build\":0}}","description":"job 0","tags":[{{"Key":"batch","Value":"manual"}}]}}"#
        );
        let (status, text) = endpoint.call("PUT", &format!("/jobs/{id}"), &body);
        assert_eq!(status, 200, "{text}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "manual", 1);
    let conflict = endpoint.jobctl(
        &["apply", "-f", ".", "--prune-force", "--prune-delete"],
        dir.path(),
    );
    assert_eq!(conflict.code, 1, "{conflict:?}");
    assert!(
        conflict.stdout.contains("manual-000 conflict"),
        "{conflict:?}"
    );

    let adopted = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--adopt",
            "--prune-force",
            "--prune-delete",
        ],
        dir.path(),
    );
    assert_eq!(adopted.code, 0, "{adopted:?}");
    assert_eq!(tags(&endpoint, "manual-000")["jobctl:managed-by"], "jobctl");
    assert_eq!(
        job(&endpoint, "bystander")["status"],
        "IN_PROGRESS",
        "never touched"
    );
    assert!(tags(&endpoint, "bystander")
        .get("jobctl:managed-by")
        .is_none());
}

#[test]
fn prune_cancels_orphans_of_this_instance_only() {
    let (endpoint, dir) = setup(3);
    let other = tempfile::tempdir().expect("tempdir");
    write_jobs(other.path(), "staging", 1);
    let run = endpoint.jobctl(&["apply", "-f", ".", "--instance", "staging"], other.path());
    assert_eq!(run.code, 0, "{run:?}");
    std::fs::remove_file(dir.path().join("job-002.yaml")).expect("remove");

    // Orphans are looked for only when pruning (issue 10, item 13).
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--prune"], dir.path());
    assert!(plan.stdout.contains("job-002"), "{plan:?}");
    assert!(plan.stdout.contains("1 to cancel"), "{plan:?}");
    assert!(
        !plan.stdout.contains("staging-000"),
        "another instance's job is not ours: {plan:?}"
    );

    let run = endpoint.jobctl(&["apply", "-f", ".", "--prune"], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 cancelled"), "{run:?}");
    assert_eq!(job(&endpoint, "job-002")["status"], "CANCELED");
    assert_eq!(job(&endpoint, "staging-000")["status"], "IN_PROGRESS");

    let run = endpoint.jobctl(&["apply", "-f", ".", "--prune-delete"], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 deleted"), "{run:?}");
}

#[test]
fn an_invalid_manifest_turns_prune_off() {
    let (endpoint, dir) = setup(2);
    edit(&dir.path().join("job-001.yaml"), "kind: Job", "kind: Jbo");
    let run = endpoint.jobctl(&["apply", "-f", ".", "--prune-force"], dir.path());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("prune is off for this run"), "{run:?}");
    assert_eq!(job(&endpoint, "job-001")["status"], "IN_PROGRESS");
    assert_eq!(job_ids(&endpoint.state()).len(), 2);
}

#[test]
fn target_limits_the_run() {
    let (endpoint, dir) = setup(2);
    edit(
        &dir.path().join("job-000.yaml"),
        "description: job 0",
        "description: zero",
    );
    edit(
        &dir.path().join("job-001.yaml"),
        "description: job 1",
        "description: one",
    );
    let run = endpoint.jobctl(&["apply", "-f", ".", "--target", "job-001"], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(job(&endpoint, "job-000")["description"], "job 0");
    assert_eq!(job(&endpoint, "job-001")["description"], "one");
}

#[test]
fn dry_run_is_plan() {
    let (endpoint, dir) = setup(1);
    edit(
        &dir.path().join("job-000.yaml"),
        "description: job 0",
        "description: zero",
    );
    let dry = endpoint.jobctl(
        &["apply", "-f", ".", "--dry-run", "--output", "json"],
        dir.path(),
    );
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--output", "json"], dir.path());
    assert_eq!(dry.code, plan.code);
    assert_eq!(dry.json(), plan.json());
    assert_eq!(job(&endpoint, "job-000")["description"], "job 0");
}

#[test]
fn kill_9_mid_apply_then_rerun_converges() {
    let endpoint = Endpoint::emulator(&["--latency", "40"]);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "k", 40);
    let env = [("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())];
    let mut child = jobctl_command(
        &["apply", "-f", ".", "--parallelism", "2"],
        dir.path(),
        &env,
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let partial = job_ids(&endpoint.state()).len();
    assert!(
        partial < 40,
        "the kill landed after the apply finished ({partial} jobs); slow it down"
    );
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    let ids = job_ids(&endpoint.state());
    assert_eq!(ids.len(), 40);
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn hundred_jobs_converge_under_a_20_percent_fault_rate() {
    let endpoint = Endpoint::emulator(&["--fault-rate", "0.2", "--seed", "42"]);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "f", 100);
    let run = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--rate-limit",
            "0",
            "--max-attempts",
            "8",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let ids = job_ids(&endpoint.state());
    assert_eq!(ids.len(), 100);
    let plan = endpoint.jobctl(
        &[
            "plan",
            "-f",
            ".",
            "--rate-limit",
            "0",
            "--max-attempts",
            "8",
            "--detailed-exitcode",
        ],
        dir.path(),
    );
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn jobctl_yaml_names_the_instance() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "cfg", 1);
    std::fs::write(dir.path().join("jobctl.yaml"), "instance: prod-eu\n").expect("write");
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(tags(&endpoint, "cfg-000")["jobctl:instance"], "prod-eu");
    std::fs::write(dir.path().join("jobctl.yaml"), "instance: \"bad name!\"\n").expect("write");
    let run = endpoint.jobctl(&["plan", "-f", "."], dir.path());
    assert_eq!(run.code, 64, "{run:?}");
    assert!(run.stderr.contains("instance name `bad name!`"), "{run:?}");
}

#[test]
fn an_empty_root_never_prunes_without_allow_empty() {
    let (endpoint, dir) = setup(2);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    // What a broken checkout leaves: no manifests, only a README and the root config.
    std::fs::write(empty.join("README.md"), "# jobs\n").expect("write");
    let run = endpoint.jobctl(&["apply", "-f", "empty", "--prune"], dir.path());
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("--allow-empty"), "{run:?}");
    assert!(run.stdout.contains("it would prune 2 jobs"), "{run:?}");
    assert_eq!(job(&endpoint, "job-000")["status"], "IN_PROGRESS");
    assert_eq!(job(&endpoint, "job-001")["status"], "IN_PROGRESS");

    let plan = endpoint.jobctl(
        &["plan", "-f", "empty", "--prune", "-o", "json"],
        dir.path(),
    );
    let prune = &plan.json()["prune"];
    assert_eq!(prune["wouldPrune"], 2, "{plan:?}");
    assert!(prune["refused"].is_string(), "{plan:?}");

    let run = endpoint.jobctl(
        &["apply", "-f", "empty", "--prune", "--allow-empty"],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(job(&endpoint, "job-000")["status"], "CANCELED");
}

#[test]
fn max_prune_refuses_a_run_that_would_prune_more() {
    let (endpoint, dir) = setup(3);
    std::fs::remove_file(dir.path().join("job-001.yaml")).expect("remove");
    std::fs::remove_file(dir.path().join("job-002.yaml")).expect("remove");
    let run = endpoint.jobctl(
        &["apply", "-f", ".", "--prune", "--max-prune", "1"],
        dir.path(),
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("more than --max-prune 1"), "{run:?}");
    assert_eq!(job(&endpoint, "job-001")["status"], "IN_PROGRESS");
    assert_eq!(job(&endpoint, "job-002")["status"], "IN_PROGRESS");
    let run = endpoint.jobctl(
        &["apply", "-f", ".", "--prune", "--max-prune", "2"],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Prune: 2 jobs to prune"), "{run:?}");
    assert_eq!(job(&endpoint, "job-002")["status"], "CANCELED");
}
