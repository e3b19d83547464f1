//! jobctl against a tiny HTTP server that answers badly: a 200 whose JSON cannot be parsed, and a
//! 200 whose body stalls. Each must fail with a message naming the operation and the endpoint,
//! within the time the flags allow.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

/// Answers every request with a 200 and `body` (declaring `declared_length` bytes); with `stall`,
/// keeps the connection open without sending the rest.
fn serve(body: &'static str, declared_length: usize, stall: bool) -> String {
    common::serve(move |mut stream| {
        if common::read_request(&mut stream).is_none() {
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: bad-1\r\nContent-Length: {declared_length}\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body.as_bytes());
        let _ = stream.flush();
        if stall {
            std::thread::sleep(Duration::from_secs(60));
        }
    })
}

fn manifests() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: a\nspec:\n  targets: [{thingGroup: Fleet}]\n  document: {op: update}\n",
    )
    .expect("write");
    dir
}

#[test]
fn a_200_whose_json_cannot_be_parsed_is_reported_as_such_with_operation_and_endpoint() {
    let body = "{\"jobs\": [ this is not json";
    let url = serve(body, body.len(), false);
    let dir = manifests();
    let run = common::run_jobctl(
        &["plan", "-f", ".", "--max-attempts", "1"],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", url.as_str())],
    );
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(out.contains("could not be parsed"), "{out}");
    assert!(out.contains(&url), "names the endpoint: {out}");
    assert!(out.contains("ListJobs"), "names the operation: {out}");
    assert!(!out.contains("no error message"), "{out}");
    assert!(!out.contains("does not look like AWS IoT"), "{out}");
}

#[test]
fn a_stalled_body_is_bounded_by_the_read_timeout() {
    let url = serve("{\"jobs\": [", 4096, true);
    let dir = manifests();
    let started = Instant::now();
    let run = common::run_jobctl(
        &[
            "plan",
            "-f",
            ".",
            "--max-attempts",
            "1",
            "--read-timeout",
            "1s",
        ],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", url.as_str())],
    );
    let took = started.elapsed();
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 1, "{run:?}");
    // The SDK alone would wait 5 s (its stalled-stream grace period) whatever the flag said.
    assert!(took < Duration::from_millis(4500), "took {took:?}: {out}");
    assert!(out.contains(&url), "names the endpoint: {out}");
    assert!(out.contains("ListJobs"), "names the operation: {out}");
    assert!(out.contains("--read-timeout 1s"), "{out}");
}
