//! Issue 26, through the real binary: each test is named after what it guards.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{jobctl_command, Endpoint, Run};

/// The memory a run against a hostile endpoint may take at its peak.
const RSS_CEILING_KIB: u64 = 64 * 1024;

/// The most a hostile server sends before it gives up: a jobctl without a body limit then
/// fails the memory assertion instead of exhausting the machine's memory.
const HOSTILE_BYTES: usize = 128 * 1024 * 1024;

/// How an answer's body goes out after the head.
#[derive(Clone, Copy)]
enum Body {
    /// Chunks of 64 KiB as fast as the client reads them, never ending.
    Endless,
    /// One byte every 500 ms (2 bytes/s), never ending.
    Trickle,
}

/// Answers every request with a 200 whose chunked body never ends.
fn serve_forever(body: Body) -> String {
    common::serve(move |mut stream| {
        if common::read_request(&mut stream).is_none() {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: hostile-1\r\nTransfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let (chunk, pause) = match body {
            Body::Endless => (vec![b' '; 64 * 1024], Duration::ZERO),
            Body::Trickle => (vec![b' '], Duration::from_millis(500)),
        };
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        let mut sent = 0;
        while sent < HOSTILE_BYTES {
            if stream.write_all(&framed).is_err() {
                return;
            }
            sent += chunk.len();
            std::thread::sleep(pause);
        }
    })
}

/// Answers ListJobs with the job `a`, DescribeThingGroup with the group, and everything else (the
/// DescribeJob of a declared job) with a proxy's HTML 502.
fn serve_html_502() -> String {
    common::serve(|mut stream| {
        while let Some(request) = common::read_request(&mut stream) {
            let list_jobs = request.starts_with("GET /jobs?") || request.starts_with("GET /jobs ");
            let (status, kind, body) = if list_jobs {
                ("200 OK", "application/json", JOB_A)
            } else if request.starts_with("GET /thing-groups/Fleet ") {
                ("200 OK", "application/json", FLEET)
            } else {
                (
                    "502 Bad Gateway",
                    "text/html",
                    "<html><body><h1>502 Bad Gateway</h1></body></html>",
                )
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    })
}

/// ListJobs's answer: the declared job `a` exists.
const JOB_A: &str = "{\"jobs\": [{\"jobId\": \"a\", \"jobArn\": \"arn:aws:iot:us-east-1:123456789012:job/a\", \"status\": \"IN_PROGRESS\"}]}";

/// DescribeThingGroup's answer for `Fleet`.
const FLEET: &str = "{\"thingGroupName\": \"Fleet\", \"thingGroupArn\": \"arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet\"}";

fn valid_manifest(name: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets: [{{thingGroup: Fleet}}]\n  document: {{op: update}}\n"
    )
}

fn manifests() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.yaml"), valid_manifest("a")).expect("write");
    dir
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

/// `plan` against `url`, the run ended by `--timeout 15s` at the latest (killed after 30 s).
fn plan_against(url: &str, extra: &[&str]) -> (Run, u64) {
    let dir = manifests();
    let mut args = vec!["plan", "-f", ".", "--endpoint-url", url, "--timeout", "15s"];
    args.extend_from_slice(extra);
    run_bounded(&args, dir.path(), &[], Duration::from_secs(30))
}

/// One error for ListJobs, naming the endpoint and saying `why`, within `within`, and the run's
/// memory under [`RSS_CEILING_KIB`].
fn assert_one_bounded_error(run: &Run, peak: u64, url: &str, why: &[&str], within: Duration) {
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        out.matches("ListJobs failed").count(),
        1,
        "one error: {out}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("ListJobs failed"))
        .unwrap_or_default();
    assert!(line.contains(url), "names the endpoint: {line}");
    for why in why {
        assert!(line.contains(why), "says `{why}`: {line}");
    }
    assert!(run.elapsed < within, "took {:?}: {run:?}", run.elapsed);
    assert!(
        peak < RSS_CEILING_KIB,
        "peak RSS {peak} KiB, more than {RSS_CEILING_KIB} KiB"
    );
}

#[test]
fn an_endless_response_body_is_cut_off_at_the_size_limit_with_one_error_and_bounded_memory() {
    let url = serve_forever(Body::Endless);
    let (run, peak) = plan_against(&url, &[]);
    assert_one_bounded_error(
        &run,
        peak,
        &url,
        &["larger than 4 MiB"],
        Duration::from_secs(10),
    );
}

#[test]
fn a_trickling_response_body_is_cut_off_after_the_read_timeout_with_one_error() {
    let url = serve_forever(Body::Trickle);
    let (run, peak) = plan_against(&url, &["--read-timeout", "2s", "--connect-timeout", "1s"]);
    // 2 s for the body, once: a cut-off body is not retried, and --timeout (15 s) is far off.
    assert_one_bounded_error(
        &run,
        peak,
        &url,
        &["did not arrive in full within --read-timeout 2s of its head"],
        Duration::from_secs(6),
    );
}

#[test]
fn an_html_502_names_the_operation_the_job_and_the_endpoint() {
    let url = serve_html_502();
    let (run, _) = plan_against(&url, &["--max-attempts", "1"]);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{run:?}");
    let line = out
        .lines()
        .find(|l| l.contains("DescribeJob failed"))
        .unwrap_or_else(|| panic!("no DescribeJob error: {out}"));
    assert!(line.contains(&url), "names the endpoint: {line}");
    assert!(line.contains("job `a`"), "names the job: {line}");
    assert!(line.contains("HTTP 502"), "{line}");
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

/// The password of the endpoint URLs below.
const PASSWORD: &str = "hunter2";

fn assert_no_password(what: &str, text: &str) {
    assert!(
        !text.contains(PASSWORD),
        "{what} holds the password: {text}"
    );
}

#[test]
fn secrets_in_the_endpoint_url_are_redacted_in_output_errors_logs_saved_plans_and_reports() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    let host = endpoint.url.strip_prefix("http://").expect("http url");
    let with_password = format!("http://admin:{PASSWORD}@{host}");
    let redacted = format!("http://***@{host}");
    let dir = manifests();
    let run = common::run_jobctl(
        &[
            "plan",
            "-f",
            ".",
            "--endpoint-url",
            &with_password,
            "--out",
            "plan.json",
            "--markdown-file",
            "plan.md",
            "--json-file",
            "plan-report.json",
            "-vvv",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_no_password("the output", &format!("{}{}", run.stdout, run.stderr));
    assert!(
        run.stdout.contains(&redacted),
        "the header names it: {run:?}"
    );
    for file in ["plan.json", "plan.md", "plan-report.json"] {
        let text = std::fs::read_to_string(dir.path().join(file)).expect("written");
        assert_no_password(file, &text);
        assert!(
            text.contains(&redacted),
            "{file} names the endpoint: {text}"
        );
    }
    // Through the environment, and to an endpoint that refuses the connection.
    let refused = format!("http://admin:{PASSWORD}@127.0.0.1:9/?X-Amz-Signature=0123abcd");
    let run = common::run_jobctl(
        &["plan", "-f", ".", "--max-attempts", "1", "-vvv"],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", refused.as_str())],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_no_password("the connection error", &out);
    assert!(!out.contains("0123abcd"), "the signature leaked: {out}");
    assert!(
        out.contains("could not reach http://***@127.0.0.1:9"),
        "{out}"
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

#[test]
fn the_read_timeout_help_says_it_is_per_attempt_and_gives_a_calls_worst_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = common::run_jobctl(&["plan", "--help"], dir.path(), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let help: String = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    let read_timeout = help
        .split("--read-timeout <DURATION>")
        .nth(1)
        .unwrap_or_default();
    assert!(read_timeout.contains("per HTTP attempt"), "{read_timeout}");
    assert!(
        read_timeout.contains("at most attempts × (--connect-timeout + --read-timeout)"),
        "{read_timeout}"
    );
    assert!(
        read_timeout.contains("about 2m30s at the defaults"),
        "{read_timeout}"
    );
}

/// Issue 26: a root that holds only `kind: JobTemplate` manifests declares no job, so `--prune`
/// never cancels the instance's jobs from it without `--allow-empty`. It used to count as a
/// non-empty root and prune every job.
#[test]
fn a_root_of_only_job_templates_never_prunes_jobs() {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.yaml"), valid_manifest("a")).expect("write");
    let applied = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(applied.code, 0, "{applied:?}");
    std::fs::remove_file(dir.path().join("a.yaml")).expect("remove");
    std::fs::write(
        dir.path().join("ota.yaml"),
        "apiVersion: jobctl/v1\nkind: JobTemplate\nmetadata:\n  name: ota\nspec:\n  description: OTA\n  document: {op: update}\n",
    )
    .expect("write");
    let run = endpoint.jobctl(&["apply", "-f", ".", "--prune", "-o", "json"], dir.path());
    let json = run.json();
    let refused = json["prune"]["refused"].as_str().unwrap_or_default();
    assert!(refused.contains("only JobTemplate manifests"), "{json:#}");
    let state = endpoint.state();
    assert_eq!(
        state["scopes"]["123456789012:us-east-1"]["jobs"]["a"]["status"], "IN_PROGRESS",
        "{run:?}"
    );
}
