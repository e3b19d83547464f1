//! Runs cut short from outside: SIGTERM in the middle of `jobctl apply`, and a CreateJob whose
//! response never arrives (a proxy drops it after the emulator created the job). Either way no
//! job is half made, and the next run converges without creating anything twice.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{job_ids, jobctl_command, write_jobs, Endpoint};

const SCOPE: &str = "123456789012:us-east-1";

fn fleet(flags: &[&str]) -> Endpoint {
    let endpoint = Endpoint::emulator(flags);
    endpoint.seed_group("Fleet");
    endpoint
}

fn tags(endpoint: &Endpoint, id: &str) -> String {
    let arn = format!("arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Ajob%2F{id}");
    endpoint
        .call("GET", &format!("/tags?resourceArn={arn}"), "")
        .1
}

#[test]
fn sigterm_during_apply_exits_143_and_leaves_no_half_made_job() {
    let endpoint = fleet(&["--latency", "1000"]);
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "t", 4);
    let env = [("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())];
    let child = jobctl_command(
        &["apply", "-f", ".", "--parallelism", "2"],
        dir.path(),
        &env,
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("spawn");
    // The reads take a second each; the first creates are in flight at about 2.5 s.
    std::thread::sleep(Duration::from_millis(2500));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("terminated"), "{stderr}");
    // Whatever the emulator finished is whole: a job exists with its ownership tags, or not at all.
    std::thread::sleep(Duration::from_millis(1500));
    let state = endpoint.state();
    for id in job_ids(&state) {
        let job = &state["scopes"][SCOPE]["jobs"][&id];
        assert_eq!(job["status"], "IN_PROGRESS", "{id}: {job}");
        let tags = tags(&endpoint, &id);
        assert!(tags.contains("jobctl:instance"), "{id}: {tags}");
    }
    // The next run converges: the rest is created, nothing twice.
    let run = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(job_ids(&endpoint.state()).len(), 4);
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.code, 0, "no changes left: {plan:?}");
}

/// A proxy that forwards HTTP/1.1 requests to `upstream` and answers with upstream's response,
/// except the first CreateJob (`PUT /jobs/ID`): that one reaches the emulator, but the proxy
/// drops the response and closes the connection. Counts the CreateJob requests it saw.
fn lossy_proxy(upstream: &str) -> (String, Arc<AtomicUsize>) {
    let upstream = upstream.strip_prefix("http://").expect("http").to_string();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let creates = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&creates);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let upstream = upstream.clone();
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let _ = proxy_connection(client, &upstream, &seen);
            });
        }
    });
    (format!("http://{addr}"), creates)
}

fn read_message(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

fn proxy_connection(
    client: TcpStream,
    upstream: &str,
    creates: &AtomicUsize,
) -> std::io::Result<()> {
    let mut to_client = client.try_clone()?;
    let mut from_client = BufReader::new(client);
    let server = TcpStream::connect(upstream)?;
    let mut to_server = server.try_clone()?;
    let mut from_server = BufReader::new(server);
    while let Some((head, body)) = read_message(&mut from_client)? {
        to_server.write_all(head.as_bytes())?;
        to_server.write_all(&body)?;
        let Some((answer, answer_body)) = read_message(&mut from_server)? else {
            return Ok(());
        };
        if head.starts_with("PUT /jobs/") && creates.fetch_add(1, Ordering::SeqCst) == 0 {
            // The job now exists; its creator never hears so.
            return Ok(());
        }
        to_client.write_all(answer.as_bytes())?;
        to_client.write_all(&answer_body)?;
    }
    Ok(())
}

#[test]
fn a_lost_create_job_response_never_creates_twice_or_fails_confusingly() {
    let endpoint = fleet(&[]);
    let (proxy, creates) = lossy_proxy(&endpoint.url);
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "l", 1);
    let env = [("AWS_ENDPOINT_URL_IOT", proxy.as_str())];

    // With retries (the default), the retried CreateJob finds the job it created.
    let run = common::run_jobctl(&["apply", "-f", "."], dir.path(), &env);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(job_ids(&endpoint.state()), vec!["l-000".to_string()]);
    assert!(tags(&endpoint, "l-000").contains("jobctl:instance"));

    // Without retries the run fails, naming the operation and the endpoint; the next run sees
    // the job and does not create it again.
    write_jobs(dir.path(), "m", 1);
    std::fs::remove_file(dir.path().join("l-000.yaml")).expect("remove");
    creates.store(0, Ordering::SeqCst);
    let run = common::run_jobctl(
        &["apply", "-f", ".", "--max-attempts", "1"],
        dir.path(),
        &env,
    );
    assert_eq!(run.code, 1, "{run:?}");
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("CreateJob") && out.contains(&proxy), "{out}");
    assert_eq!(creates.load(Ordering::SeqCst), 1);
    let run = common::run_jobctl(&["apply", "-f", "."], dir.path(), &env);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        creates.load(Ordering::SeqCst),
        1,
        "m-000 was not created again"
    );
    let ids = job_ids(&endpoint.state());
    assert_eq!(ids, vec!["l-000".to_string(), "m-000".to_string()]);
}

/// Issue 26: an apply stopped by `--timeout` half-way still reports what it did, in its JSON
/// and its report files, with the stop as its error. It used to print only the error while
/// jobs had been created.
#[test]
fn an_apply_stopped_by_its_timeout_reports_what_it_did() {
    let endpoint = fleet(&["--latency", "700"]);
    let dir = tempfile::tempdir().expect("tempdir");
    write_jobs(dir.path(), "t", 8);
    let run = endpoint.jobctl(
        &[
            "apply",
            "-f",
            ".",
            "--parallelism",
            "1",
            "--timeout",
            "4s",
            "-o",
            "json",
            "--json-file",
            "report.json",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 3, "{run:?}");
    let json = run.json();
    assert_eq!(json["error"]["kind"], "timeout", "{json:#}");
    let done: Vec<&str> = json["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|r| r["outcome"] == "done")
                .filter_map(|r| r["jobId"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(!done.is_empty(), "no result reported: {json:#}");
    // What the JSON says was created is what the account holds.
    let created = job_ids(&endpoint.state());
    for id in &done {
        assert!(created.iter().any(|c| c == id), "{id} not in {created:?}");
    }
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json")).expect("file"),
    )
    .expect("json");
    assert_eq!(file, json, "the report file is what was printed");
}
