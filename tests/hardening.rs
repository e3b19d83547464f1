//! Issue 26, through the real binary: each test is named after what it guards.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{jobctl_command, Run};

fn valid_manifest(name: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets: [{{thingGroup: Fleet}}]\n  document: {{op: update}}\n"
    )
}

/// The resident set of a running process, in KiB (`None` once it has exited).
fn rss_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs jobctl, killing it after `limit`; returns the run and its peak RSS in KiB, sampled
/// every few milliseconds.
fn run_bounded(args: &[&str], cwd: &Path, env: &[(&str, &str)], limit: Duration) -> (Run, u64) {
    let started = Instant::now();
    let mut child = jobctl_command(args, cwd, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jobctl starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut peak = 0;
    let status = loop {
        if let Some(rss) = rss_kib(&child) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout thread"),
        stderr: err.join().expect("stderr thread"),
        elapsed: started.elapsed(),
    };
    assert!(!run.stderr.contains("panicked"), "jobctl panicked: {run:?}");
    (run, peak)
}

#[test]
fn a_fifo_given_as_a_saved_plan_is_refused_at_once_not_opened_for_ever() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("plan.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let (run, _) = run_bounded(
        &["apply", "plan.json", "--timeout", "3s"],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", "http://127.0.0.1:9")],
        Duration::from_secs(15),
    );
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}: {run:?}",
        run.elapsed
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("is a FIFO (named pipe), not a regular file"),
        "{run:?}"
    );
}

#[test]
fn a_bare_manifest_name_resolves_its_document_file_next_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("docs")).expect("mkdir");
    std::fs::write(dir.path().join("docs/a.json"), "{\"op\": \"update\"}").expect("write");
    let manifest = valid_manifest("m").replace(
        "  document: {op: update}\n",
        "  documentFile: docs/a.json\n",
    );
    std::fs::write(dir.path().join("m.yaml"), manifest).expect("write");
    for target in ["m.yaml", "./m.yaml"] {
        let run = common::run_jobctl(&["validate", "-f", target], dir.path(), &[]);
        assert_eq!(run.code, 0, "-f {target}: {run:?}");
    }
}

#[test]
fn a_json_document_file_with_a_byte_order_mark_is_refused_not_silently_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("doc.json"),
        b"\xEF\xBB\xBF{\"op\": \"update\"}",
    )
    .expect("write");
    let manifest =
        valid_manifest("m").replace("  document: {op: update}\n", "  documentFile: doc.json\n");
    std::fs::write(dir.path().join("m.yaml"), manifest).expect("write");
    let run = common::run_jobctl(&["validate", "-f", "m.yaml"], dir.path(), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("documentFile `doc.json` cannot be used")
            && run.stdout.contains("byte order mark"),
        "{run:?}"
    );
    // The same document without the BOM is fine.
    std::fs::write(dir.path().join("doc.json"), b"{\"op\": \"update\"}").expect("write");
    let run = common::run_jobctl(&["validate", "-f", "m.yaml"], dir.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
}
