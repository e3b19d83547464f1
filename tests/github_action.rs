//! The GitHub Action's script (scripts/github-action, called by action.yml) run locally with a
//! simulated runner: GITHUB_* variables, temp files for GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and
//! GITHUB_PATH, a fake `gh` for comments, and the real jobctl against jobctl-emulator.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{jobctl_bin, Endpoint, SECRET};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/github-action")
}

/// A runner's temp space and a checkout of manifests.
struct Runner {
    dir: tempfile::TempDir,
    endpoint: Option<String>,
}

struct Step {
    code: i32,
    log: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    gh_calls: String,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- outputs\n{:?}\n--- log\n{}\n--- summary\n{}\n--- gh\n{}",
            self.code, self.outputs, self.log, self.summary, self.gh_calls
        )
    }
}

impl Runner {
    fn new(endpoint: Option<&Endpoint>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["repo/jobs", "temp", "bin"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        // A fake GitHub CLI: records each call; lists the comment ids in gh-comments.
        let gh = dir.path().join("bin/gh");
        std::fs::write(
            &gh,
            format!(
                "#!/usr/bin/env bash\necho \"$*\" >> '{0}/gh.log'\nif [ \"$2\" != -X ]; then cat '{0}/gh-comments' 2>/dev/null; fi\nfor a in \"$@\"; do case \"$a\" in body=@*) cat \"${{a#body=@}}\" > '{0}/gh-body';; esac; done\n",
                dir.path().display()
            ),
        )
        .expect("gh");
        make_executable(&gh);
        Self {
            dir,
            endpoint: endpoint.map(|e| e.url.clone()),
        }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.repo().join("jobs").join(name), text).expect("write manifest");
    }

    fn step(&self, subcommand: &str, inputs: &[(&str, &str)]) -> Step {
        let root = self.dir.path();
        for file in ["output", "summary", "path", "gh.log"] {
            std::fs::write(root.join(file), "").expect("reset");
        }
        let bin_dir = jobctl_bin().parent().expect("target dir").to_path_buf();
        let path = format!(
            "{}:{}:{}",
            root.join("bin").display(),
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(script())
            .arg(subcommand)
            .current_dir(self.repo())
            .env_clear()
            .env("PATH", path)
            .env("HOME", root)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", self.repo())
            .env("GITHUB_OUTPUT", root.join("output"))
            .env("GITHUB_STEP_SUMMARY", root.join("summary"))
            .env("GITHUB_PATH", root.join("path"))
            .env("GITHUB_EVENT_NAME", "pull_request")
            .env("GITHUB_REPOSITORY", "acme/fleet")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_JOB", "plan")
            .env("RUNNER_TEMP", root.join("temp"))
            .env("RUNNER_OS", "Linux")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEJOBCTL")
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("NO_COLOR", "1")
            .env("INPUT_PATH", "jobs")
            .env("INPUT_INSTANCE", "ci");
        if let Some(url) = &self.endpoint {
            cmd.env("AWS_ENDPOINT_URL_IOT", url);
        }
        for (k, v) in inputs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap_or_default();
        let outputs = read("output")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let step = Step {
            code: out.status.code().unwrap_or(-1),
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            outputs,
            summary: read("summary"),
            gh_calls: read("gh.log"),
        };
        assert!(!step.log.contains("panicked"), "{step:?}");
        assert!(!step.log.contains(SECRET), "secret leaked: {step:?}");
        step
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path).expect("stat").permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

fn job(name: &str, group: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  description: {name}\n  targets:\n    - thingGroup: {group}\n  document:\n    operation: update\n"
    )
}

fn fleet() -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    endpoint
}

/// Workflow commands the runner would execute: lines starting with `::` outside a
/// stop-commands block.
fn live_commands(log: &str) -> Vec<&str> {
    let mut live = Vec::new();
    let mut stopped: Option<String> = None;
    for line in log.lines() {
        if let Some(token) = &stopped {
            if line == format!("::{token}::") {
                stopped = None;
            }
        } else if let Some(token) = line.strip_prefix("::stop-commands::") {
            stopped = Some(token.to_string());
        } else if line.starts_with("::") {
            live.push(line);
        }
    }
    live
}

#[test]
fn pending_changes_are_reported_not_failed_unless_asked() {
    let endpoint = fleet();
    let runner = Runner::new(Some(&endpoint));
    runner.write("a.yaml", &job("fw-a", "Fleet"));
    runner.write("b.yaml", &job("fw-b", "Fleet"));

    let step = runner.step("run", &[("INPUT_COMMAND", "plan")]);
    assert_eq!(step.code, 0, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "2", "{step:?}");
    assert_eq!(step.outputs["has-changes"], "true", "{step:?}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&step.outputs["plan-json"]).expect("plan-json file"),
    )
    .expect("JSON");
    assert_eq!(json["summary"]["create"], 2, "{json}");
    assert!(
        step.summary
            .starts_with("### jobctl plan · instance `ci`\n\naccount "),
        "the scope comes first: {step:?}"
    );
    assert!(
        step.summary
            .contains(" · instance `ci`\n\n**Plan: 2 to create.**"),
        "{step:?}"
    );
    assert!(step
        .summary
        .contains("| ➕ | `fw-a` | create |  | `jobs/a.yaml:4:9` |"));
    assert!(step
        .summary
        .contains("<details><summary>➕ <code>fw-b</code>: create</summary>"));
    assert!(live_commands(&step.log).is_empty(), "{step:?}");
    let report = Path::new(&step.outputs["report-dir"]);
    assert!(report.join("plan.md").exists() && report.join("summary.md").exists());
    assert_eq!(step.outputs["artifact-name"], "jobctl-plan-ci-plan-1");
    assert!(
        step.gh_calls.is_empty(),
        "no comment unless asked: {step:?}"
    );

    // fail-on-changes: the step fails with jobctl's own code, 2.
    let step = runner.step(
        "run",
        &[("INPUT_COMMAND", "plan"), ("INPUT_FAIL_ON_CHANGES", "true")],
    );
    assert_eq!(step.code, 2, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "2");
    assert!(step
        .log
        .contains("::error title=jobctl::the plan has changes and fail-on-changes is true"));

    // Apply, then the same plan has nothing left to do.
    let step = runner.step("run", &[("INPUT_COMMAND", "apply")]);
    assert_eq!(step.code, 0, "{step:?}");
    assert_eq!(step.outputs["has-changes"], "true", "{step:?}");
    assert!(
        step.summary.contains("**Apply: 2 created, 0 failed.**"),
        "{step:?}"
    );
    assert!(step.outputs["plan-json"].ends_with("apply.json"));

    let step = runner.step(
        "run",
        &[("INPUT_COMMAND", "plan"), ("INPUT_FAIL_ON_CHANGES", "true")],
    );
    assert_eq!(step.code, 0, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "0");
    assert_eq!(step.outputs["has-changes"], "false");
    assert!(step.summary.contains("**Plan: 2 unchanged.**"), "{step:?}");
}

#[test]
fn a_valid_set_validates_and_an_invalid_set_annotates_the_diff() {
    let endpoint = fleet();
    let runner = Runner::new(Some(&endpoint));
    runner.write("ok.yaml", &job("fw-ok", "Fleet"));
    let step = runner.step("run", &[("INPUT_COMMAND", "validate")]);
    assert_eq!(step.code, 0, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "0");
    assert_eq!(step.outputs["has-changes"], "false");
    assert!(
        step.summary.contains("✅ **1 job valid in 1 file.**"),
        "{step:?}"
    );

    // Twelve bad files: ten error annotations, then a notice with the count.
    for i in 0..12 {
        runner.write(
            &format!("bad-{i:02}.yaml"),
            &format!("apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: bad-{i:02}\nspec:\n  targets: [{{thingGroup: Fleet}}]\n  document: {{op: x}}\n  timeoutConfig: {{inProgressTimeoutInMinutes: 0}}\n"),
        );
    }
    for command in ["validate", "plan"] {
        let step = runner.step("run", &[("INPUT_COMMAND", command)]);
        assert_eq!(step.code, 1, "{command}: {step:?}");
        assert_eq!(step.outputs["exit-code"], "1", "{step:?}");
        let live = live_commands(&step.log);
        let errors: Vec<_> = live.iter().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 10, "{command}: {live:#?}");
        assert!(
            errors[0].starts_with(
                "::error file=jobs/bad-00.yaml,line=8,col=47,title=jobctl%3A schema/range::"
            ),
            "{live:#?}"
        );
        assert!(
            live.iter().any(|l| l.starts_with("::notice")
                && l.contains("2 more errors not shown as annotations")),
            "{live:#?}"
        );
        let verdict = if command == "plan" {
            "**12 manifest error(s):**"
        } else {
            "❌ **12 errors, 0 warnings in 13 files.**"
        };
        assert!(step.summary.contains(verdict), "{step:?}");
        assert!(
            step.summary.contains("`jobs/bad-11.yaml:8:47`"),
            "every problem is in the summary: {step:?}"
        );
    }
}

#[test]
fn pull_requests_from_forks_only_validate() {
    // No endpoint and no credentials are needed: the plan degrades to validate.
    let runner = Runner::new(None);
    runner.write("a.yaml", &job("fw-a", "Fleet"));
    let step = runner.step(
        "run",
        &[
            ("INPUT_COMMAND", "plan"),
            ("JOBCTL_FORK", "true"),
            ("INPUT_COMMENT", "true"),
            ("JOBCTL_PR_NUMBER", "7"),
        ],
    );
    assert_eq!(step.code, 0, "{step:?}");
    assert_eq!(step.outputs["has-changes"], "false");
    assert!(step
        .log
        .contains("::notice title=jobctl::pull request from a fork"));
    assert!(step.summary.contains("comes from a fork"), "{step:?}");
    assert!(step.summary.contains("### jobctl validate"), "{step:?}");
    assert!(step.gh_calls.is_empty(), "no comment from a fork: {step:?}");

    let step = runner.step(
        "run",
        &[("INPUT_COMMAND", "apply"), ("JOBCTL_FORK", "true")],
    );
    assert_eq!(step.code, 1, "{step:?}");
}

#[test]
fn the_pull_request_comment_is_updated_in_place() {
    let endpoint = fleet();
    let runner = Runner::new(Some(&endpoint));
    runner.write("a.yaml", &job("fw-a", "Fleet"));
    let inputs = [
        ("INPUT_COMMAND", "plan"),
        ("INPUT_COMMENT", "true"),
        ("JOBCTL_PR_NUMBER", "7"),
    ];
    let step = runner.step("run", &inputs);
    assert_eq!(step.code, 0, "{step:?}");
    let calls: Vec<&str> = step.gh_calls.lines().collect();
    assert_eq!(calls.len(), 2, "{step:?}");
    assert!(calls[0].starts_with("api --paginate repos/acme/fleet/issues/7/comments --jq "));
    assert!(calls[0].contains("startswith(\"<!-- jobctl:plan instance=ci -->\")"));
    assert!(calls[1].starts_with("api -X POST repos/acme/fleet/issues/7/comments -F body=@"));
    let body = std::fs::read_to_string(runner.dir.path().join("gh-body")).expect("body");
    assert!(body.starts_with("<!-- jobctl:plan instance=ci -->\n### jobctl plan"));

    // The comment exists now: the next run edits it instead of adding one.
    std::fs::write(runner.dir.path().join("gh-comments"), "1234\n").expect("write");
    let step = runner.step("run", &inputs);
    let calls: Vec<&str> = step.gh_calls.lines().collect();
    assert_eq!(calls.len(), 2, "{step:?}");
    assert!(
        calls[1].starts_with("api -X PATCH repos/acme/fleet/issues/comments/1234 -F body=@"),
        "{step:?}"
    );
}

#[test]
fn errors_are_not_swallowed() {
    let runner = Runner::new(None);
    runner.write("a.yaml", &job("fw-a", "Fleet"));
    // A usage error keeps its own code, 64.
    let step = runner.step(
        "run",
        &[("INPUT_COMMAND", "plan"), ("INPUT_ARGS", "--no-such-flag")],
    );
    assert_eq!(step.code, 64, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "64");
    assert!(step.summary.contains("exited with code 64"), "{step:?}");
    // An unreachable endpoint is an error, 1.
    let step = runner.step(
        "run",
        &[
            ("INPUT_COMMAND", "plan"),
            ("AWS_ENDPOINT_URL_IOT", "http://127.0.0.1:9"),
            ("INPUT_ARGS", "--max-attempts 1"),
        ],
    );
    assert_eq!(step.code, 1, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "1");
    let step = runner.step("run", &[("INPUT_COMMAND", "destroy")]);
    assert_eq!(step.code, 1, "{step:?}");
}

/// A fake release: the tarball the release workflow builds, and its SHA256SUMS.
fn fake_release(root: &Path, tamper: bool) -> String {
    let version_dir = root.join("release/v9.9.9");
    let stage = root.join("stage/jobctl-x86_64-unknown-linux-musl");
    std::fs::create_dir_all(&version_dir).expect("mkdir");
    std::fs::create_dir_all(&stage).expect("mkdir");
    // A stand-in binary: the real one is hundreds of megabytes in a debug build.
    std::fs::write(stage.join("jobctl"), "#!/bin/sh\necho jobctl 9.9.9\n").expect("write");
    make_executable(&stage.join("jobctl"));
    let asset = version_dir.join("jobctl-x86_64-unknown-linux-musl.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&asset)
        .arg("-C")
        .arg(root.join("stage"))
        .arg("jobctl-x86_64-unknown-linux-musl")
        .status()
        .expect("tar");
    assert!(status.success());
    let out = Command::new("sha256sum")
        .arg("jobctl-x86_64-unknown-linux-musl.tar.gz")
        .current_dir(&version_dir)
        .output()
        .expect("sha256sum");
    let mut sums = String::from_utf8_lossy(&out.stdout).into_owned();
    if tamper {
        sums = format!("{}{}", "0".repeat(64), &sums[64..]);
    }
    std::fs::write(version_dir.join("SHA256SUMS"), sums).expect("sums");
    format!("file://{}", root.join("release").display())
}

#[test]
fn install_verifies_the_release_checksum() {
    let runner = Runner::new(None);
    let base = fake_release(runner.dir.path(), false);
    let inputs = [
        ("INPUT_VERSION", "9.9.9"),
        ("JOBCTL_RELEASE_BASE_URL", base.as_str()),
        ("RUNNER_ARCH", "X64"),
    ];
    let step = runner.step("install", &inputs);
    assert_eq!(step.code, 0, "{step:?}");
    let added = std::fs::read_to_string(runner.dir.path().join("path")).expect("GITHUB_PATH");
    let dir = PathBuf::from(added.trim());
    assert!(
        dir.ends_with("jobctl/9.9.9/x86_64-unknown-linux-musl"),
        "{added}"
    );
    assert!(dir.join("jobctl").exists());
    assert!(step.log.contains("installed v9.9.9"), "{step:?}");

    // A tampered checksum fails the step; it does not fall back to anything.
    let runner = Runner::new(None);
    let base = fake_release(runner.dir.path(), true);
    let step = runner.step(
        "install",
        &[
            ("INPUT_VERSION", "9.9.9"),
            ("JOBCTL_RELEASE_BASE_URL", base.as_str()),
            ("RUNNER_ARCH", "X64"),
        ],
    );
    assert_eq!(step.code, 1, "{step:?}");
    assert!(
        step.log.contains("::error title=jobctl::checksum mismatch"),
        "{step:?}"
    );
    assert!(!step.log.contains("cargo install"), "{step:?}");
}

#[test]
fn install_with_version_path_uses_jobctl_on_path() {
    let runner = Runner::new(None);
    let step = runner.step("install", &[("INPUT_VERSION", "path")]);
    assert_eq!(step.code, 0, "{step:?}");
    assert!(step.log.contains("jobctl 0."), "{step:?}");
}

#[test]
fn summary_and_comment_fit_githubs_limits() {
    let endpoint = fleet();
    let runner = Runner::new(Some(&endpoint));
    // 40 jobs with 30 KB documents: about 1.2 MB of Markdown in all.
    let blob = "x".repeat(30_000);
    for i in 0..40 {
        runner.write(
            &format!("big-{i:02}.yaml"),
            &format!("{}    blob: {blob}\n", job(&format!("big-{i:02}"), "Fleet")),
        );
    }
    let step = runner.step(
        "run",
        &[
            ("INPUT_COMMAND", "plan"),
            ("INPUT_COMMENT", "true"),
            ("JOBCTL_PR_NUMBER", "7"),
        ],
    );
    assert_eq!(step.code, 0, "exit {}", step.code);
    let report = PathBuf::from(&step.outputs["report-dir"]);
    let full = std::fs::read_to_string(report.join("plan.md")).expect("full report");
    let comment = std::fs::read_to_string(report.join("comment.md")).expect("comment");
    assert!(full.len() > 1024 * 1024, "{}", full.len());
    assert!(step.summary.len() <= 1024 * 1024, "{}", step.summary.len());
    assert!(comment.chars().count() <= 65_536, "{}", comment.len());
    for capped in [&step.summary, &comment] {
        assert!(capped.contains("**Truncated:**"));
        assert!(capped.contains(
            "The full plan: the log and the artifacts of [workflow run 4242](https://github.com/acme/fleet/actions/runs/4242)."
        ));
        // The table lists every job even when diffs are left out.
        assert!(capped.contains("| ➕ | `big-39` | create |"));
    }
    assert!(!full.contains("Truncated"));
}

/// Ten simulated bulbs at 600 emulated seconds per second; a document asking for `bad` fails on
/// every one.
fn bulbs() -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    let (status, body) = endpoint.call(
        "PUT",
        "/_emulator/fleet",
        r#"{"seed": 3, "timeScale": 600, "groups": [{"name": "Bulbs", "size": 10}],
            "devices": {"pickupSeconds": {"min": 1, "max": 10}, "durationSeconds": {"min": 5, "max": 30},
                        "outcomes": {"SUCCEEDED": 1.0}},
            "rules": [{"match": {"document": {"operation": "bad"}}, "outcomes": {"FAILED": 1.0}}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    endpoint
}

fn firmware(name: &str, operation: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets:\n    - thingGroup: Bulbs\n  document:\n    operation: {operation}\n"
    )
}

#[test]
fn after_an_apply_the_summary_holds_the_status_table_and_wait_fails_on_a_degraded_job() {
    let endpoint = bulbs();
    let runner = Runner::new(Some(&endpoint));
    runner.write("good.yaml", &firmware("fw-good", "update"));

    // Without wait: the apply's report, then where each rollout stands.
    let step = runner.step("run", &[("INPUT_COMMAND", "apply")]);
    assert_eq!(step.code, 0, "{step:?}");
    assert!(
        step.summary.contains("**Apply: 1 created, 0 failed.**"),
        "{step:?}"
    );
    assert!(step.summary.contains("### jobctl status"), "{step:?}");
    assert!(step.summary.contains("| `fw-good` |"), "{step:?}");

    // With wait: the step follows the new job, and fails naming the one that degraded.
    runner.write("bad.yaml", &firmware("fw-bad", "bad"));
    let step = runner.step(
        "run",
        &[
            ("INPUT_COMMAND", "apply"),
            ("INPUT_WAIT", "true"),
            ("INPUT_ARGS", "--interval 1s --timeout 2m"),
        ],
    );
    assert_eq!(step.code, 1, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "1", "{step:?}");
    assert!(step.log.contains("jobctl apply -f jobs"), "{step:?}");
    assert!(step.log.contains("--wait"), "{step:?}");
    assert!(
        step.log
            .contains("::error title=jobctl status::fw-bad is Degraded"),
        "an annotation names the job: {step:?}"
    );
    assert!(step.summary.contains("### jobctl status"), "{step:?}");
    assert!(step.summary.contains("| `fw-bad` |"), "{step:?}");
    assert!(
        step.summary
            .contains("| `fw-bad` | COMPLETED | **Degraded** | 0\\/10 ✓ 10 ✗ |"),
        "{step:?}"
    );
    assert!(step.summary.contains("fw\\-bad is Degraded"), "{step:?}");
    assert_eq!(
        step.summary.matches("### jobctl status").count(),
        1,
        "one status table: {step:?}"
    );
}

#[test]
fn a_plan_saved_on_the_pull_request_is_applied_on_merge_or_refused_when_anything_moved() {
    let endpoint = fleet();
    let runner = Runner::new(Some(&endpoint));
    runner.write("a.yaml", &job("fw-a", "Fleet"));

    // The pull request: plan, and save it.
    let plan_inputs = [
        ("INPUT_COMMAND", "plan"),
        ("INPUT_PLAN_FILE", "jobctl.plan"),
    ];
    let step = runner.step("run", &plan_inputs);
    assert_eq!(step.code, 0, "{step:?}");
    assert_eq!(step.outputs["exit-code"], "2", "{step:?}");
    assert!(step.log.contains("--out jobctl.plan"), "{step:?}");
    assert!(runner.repo().join("jobctl.plan").exists(), "{step:?}");

    // The merge: apply exactly that plan. Prune from the inputs is not passed (it comes from the
    // file), and the step says so.
    let apply_inputs = [
        ("INPUT_COMMAND", "apply"),
        ("INPUT_PLAN_FILE", "jobctl.plan"),
        ("INPUT_PRUNE", "true"),
    ];
    let step = runner.step("run", &apply_inputs);
    assert_eq!(step.code, 0, "{step:?}");
    assert_eq!(step.outputs["has-changes"], "true", "{step:?}");
    assert!(
        step.log.contains("jobctl apply jobctl.plan --instance ci"),
        "{step:?}"
    );
    assert!(!step.log.contains("--prune"), "{step:?}");
    assert!(
        step.log
            .contains("prune and allow-replace come from the saved plan"),
        "{step:?}"
    );
    assert!(
        step.summary.contains("**Apply: 1 created, 0 failed.**"),
        "{step:?}"
    );

    // A plan made, then the manifests moved before the merge: refused, and the summary says why.
    let step = runner.step(
        "run",
        &[
            ("INPUT_COMMAND", "plan"),
            ("INPUT_PLAN_FILE", "jobctl.plan"),
        ],
    );
    assert_eq!(step.code, 0, "{step:?}");
    runner.write(
        "a.yaml",
        &job("fw-a", "Fleet").replace("description: fw-a", "description: edited"),
    );
    let step = runner.step(
        "run",
        &[
            ("INPUT_COMMAND", "apply"),
            ("INPUT_PLAN_FILE", "jobctl.plan"),
        ],
    );
    assert_eq!(step.code, 1, "{step:?}");
    assert_eq!(step.outputs["has-changes"], "false", "{step:?}");
    assert!(step.summary.contains("saved plan refused"), "{step:?}");
    assert!(step.summary.contains("`jobs/a.yaml`"), "{step:?}");
    assert!(
        step.log
            .contains("::error title=jobctl::Error: the saved plan jobctl.plan no longer matches"),
        "{step:?}"
    );

    // No plan file (the artifact was not downloaded): the step fails at once, saying so.
    let step = runner.step(
        "run",
        &[
            ("INPUT_COMMAND", "apply"),
            ("INPUT_PLAN_FILE", "missing.plan"),
        ],
    );
    assert_eq!(step.code, 1, "{step:?}");
    assert!(
        step.log.contains("plan-file 'missing.plan' does not exist"),
        "{step:?}"
    );
}
