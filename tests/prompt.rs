//! Apply's question at a terminal (issue 26): it ends on the first Ctrl-C, on SIGTERM and on the
//! run's `--timeout`, changing nothing; it used to wait for Enter whatever happened. The real
//! binaries on a pseudo-terminal (tests/fixtures/pty_prompt.py, Python's standard library).

mod common;

use std::path::Path;

use common::{jobctl_bin, write_jobs, Endpoint};

/// A tree whose apply would cancel (prune) one job of this instance: the question is asked.
fn destructive(endpoint: &Endpoint, dir: &Path) {
    write_jobs(dir, "gone", 1);
    let applied = endpoint.jobctl(&["apply", "-f", "."], dir);
    assert_eq!(applied.code, 0, "{applied:?}");
    std::fs::remove_file(dir.join("gone-000.yaml")).expect("remove");
    write_jobs(dir, "kept", 1);
}

/// Runs `jobctl ARGS` on a pseudo-terminal and does `action` once the question shows.
fn on_a_terminal(
    endpoint: &Endpoint,
    dir: &Path,
    action: &str,
    args: &[&str],
) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pty_prompt.py");
    let jobctl = jobctl_bin();
    let command =
        common::jobctl_command(&[], dir, &[("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())]);
    let program = command.get_program().to_os_string();
    assert_eq!(program, jobctl.as_os_str());
    let envs: Vec<(std::ffi::OsString, std::ffi::OsString)> = command
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_os_string(), v?.to_os_string())))
        .collect();
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(action)
        .arg("--")
        .arg(&jobctl)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(envs)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

fn status(endpoint: &Endpoint, id: &str) -> serde_json::Value {
    endpoint.state()["scopes"]["123456789012:us-east-1"]["jobs"][id]["status"].clone()
}

#[test]
fn the_question_ends_on_ctrl_c_sigterm_and_the_timeout_and_changes_nothing() {
    for (action, args, code) in [
        ("sigint", vec!["apply", "-f", ".", "--prune"], 130),
        ("sigterm", vec!["apply", "-f", ".", "--prune"], 143),
        (
            "wait",
            vec!["apply", "-f", ".", "--prune", "--timeout", "4s"],
            3,
        ),
    ] {
        let endpoint = Endpoint::emulator(&[]);
        endpoint.seed_group("Fleet");
        let dir = tempfile::tempdir().expect("tempdir");
        destructive(&endpoint, dir.path());
        let run = on_a_terminal(&endpoint, dir.path(), action, &args);
        assert_eq!(run["prompted"], true, "{action}: {run:#}");
        assert_eq!(run["code"], code, "{action}: {run:#}");
        let seconds = run["seconds"].as_f64().unwrap_or(f64::MAX);
        let limit = if action == "wait" { 10.0 } else { 3.0 };
        assert!(seconds < limit, "{action}: took {seconds}s: {run:#}");
        assert_eq!(
            status(&endpoint, "gone-000"),
            "IN_PROGRESS",
            "{action}: the job was cancelled: {run:#}"
        );
    }
}
