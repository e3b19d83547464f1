//! Test harness: the real binaries on loopback. Starts `jobctl-emulator` (or moto) on a free port,
//! seeds things and groups through the wire API, and runs `jobctl` against it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn jobctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jobctl"))
}

/// The emulator is built by the workspace (`cargo build --workspace`); it sits next to jobctl.
pub fn emulator_bin() -> PathBuf {
    let path = jobctl_bin().with_file_name("jobctl-emulator");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` (scripts/test does) before the tests",
        path.display()
    );
    path
}

pub struct Endpoint {
    child: Child,
    pub url: String,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Endpoint {
    /// Starts the emulator with extra flags and waits for its `listening on` line.
    pub fn emulator(flags: &[&str]) -> Self {
        Self::emulator_at("127.0.0.1:0", flags)
    }

    /// Starts the emulator on a given address (to restart one on the same port).
    pub fn emulator_at(listen: &str, flags: &[&str]) -> Self {
        let mut child = Command::new(emulator_bin())
            .args(["--listen", listen])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("emulator starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Endpoint { child, url }
    }

    /// An unsigned control or API call on the emulator (it routes by path, not by signature).
    pub fn call(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(method, &format!("{}{}", self.url, path), body)
    }

    pub fn seed_group(&self, name: &str) {
        let (status, body) = self.call("PUT", &format!("/thing-groups/{name}"), "{}");
        assert_eq!(status, 200, "{body}");
    }

    pub fn seed_thing(&self, name: &str) {
        let (status, body) = self.call("PUT", &format!("/things/{name}"), "{}");
        assert_eq!(status, 200, "{body}");
    }

    /// The emulator's state dump.
    pub fn state(&self) -> serde_json::Value {
        let (status, body) = self.call("GET", "/_emulator/state", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("state is JSON")
    }

    pub fn jobctl(&self, args: &[&str], cwd: &Path) -> Run {
        run_jobctl(args, cwd, &[("AWS_ENDPOINT_URL_IOT", self.url.as_str())])
    }
}

/// A minimal HTTP/1.1 client over std, so the harness needs no HTTP crate.
pub fn http(method: &str, url: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", self.stdout))
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";

pub fn jobctl_command(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(jobctl_bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEJOBCTL")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn run_jobctl(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Run {
    let start = Instant::now();
    let output: Output = jobctl_command(args, cwd, env)
        .output()
        .expect("jobctl runs");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    };
    assert!(!run.stderr.contains("panicked"), "jobctl panicked: {run:?}");
    assert!(
        !run.stderr.contains(SECRET) && !run.stdout.contains(SECRET),
        "secret leaked: {run:?}"
    );
    run
}

/// Writes `count` job manifests targeting the thing group `Fleet` into `dir`.
pub fn write_jobs(dir: &Path, prefix: &str, count: usize) {
    for i in 0..count {
        std::fs::write(
            dir.join(format!("{prefix}-{i:03}.yaml")),
            format!(
                "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {prefix}-{i:03}\nspec:\n  description: job {i}\n  targets:\n    - thingGroup: Fleet\n  document:\n    operation: update\n    build: {i}\n  tags:\n    batch: {prefix}\n"
            ),
        )
        .expect("write manifest");
    }
}

/// Job ids the emulator holds, from its state dump.
pub fn job_ids(state: &serde_json::Value) -> Vec<String> {
    let mut ids = Vec::new();
    collect_job_ids(state, &mut ids);
    ids.sort();
    ids
}

fn collect_job_ids(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let (Some(id), Some(_)) =
                (map.get("jobId").and_then(|v| v.as_str()), map.get("status"))
            {
                if map.contains_key("jobArn") || map.contains_key("targets") {
                    out.push(id.to_string());
                    return;
                }
            }
            map.values().for_each(|v| collect_job_ids(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_job_ids(v, out)),
        _ => {}
    }
}

/// A tiny HTTP server on loopback for endpoints that answer badly: `handle` gets each accepted
/// connection on its own thread. Returns its URL.
pub fn serve(handle: impl Fn(std::net::TcpStream) + Send + Sync + Copy + 'static) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || handle(stream));
        }
    });
    format!("http://{addr}")
}

/// Reads one request head from `stream` (the SDK's GET requests have no body); `None` when the
/// client closed the connection.
pub fn read_request(stream: &mut std::net::TcpStream) -> Option<String> {
    use std::io::Read;
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    Some(String::from_utf8_lossy(&request).into_owned())
}
