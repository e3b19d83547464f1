//! Load generator for `bench/emulator_describe.sh`: hammers `DescribeJob` over keep-alive
//! HTTP/1.1 connections and reports calls per second as one JSON line. Requests carry a
//! static (unverified) SigV4 Authorization header because moto_server routes on the
//! credential scope; the emulator ignores the signature.
//!
//! Each call's latency is recorded; the report gives the median and the 99th percentile
//! (`p50_ms`, `p99_ms`).
//!
//! With `--until-status S` it stops as soon as a response shows the job in status S and
//! reports when that was (`bench/fleet.sh` times a rollout this way).
//!
//! usage: describe_load --url http://127.0.0.1:PORT [--seconds 5] [--connections 16] [--setup]
//!                      [--job ID] [--until-status COMPLETED]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000";

struct Args {
    host: String,
    seconds: f64,
    connections: usize,
    setup: bool,
    job: String,
    until_status: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut seconds = 5.0;
    let mut connections = 16;
    let mut setup = false;
    let mut job = "bench-job".to_owned();
    let mut until_status = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--url" => url = it.next(),
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds N")?
            }
            "--connections" => {
                connections = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--connections N")?
            }
            "--setup" => setup = true,
            "--job" => job = it.next().ok_or("--job ID")?,
            "--until-status" => until_status = Some(it.next().ok_or("--until-status S")?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let host = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs")?
        .trim_end_matches('/')
        .to_owned();
    Ok(Args {
        host,
        seconds,
        connections,
        setup,
        job,
        until_status,
    })
}

/// One connection that reconnects when the server closes it (moto's dev server may).
struct Conn {
    host: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    fn new(host: &str) -> Self {
        Conn {
            host: host.to_owned(),
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// The body of the last response.
    fn body(&self) -> &[u8] {
        let end = self
            .buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |p| p + 4);
        &self.buf[end..]
    }

    /// Sends one request and returns the status code.
    async fn call(&mut self, method: &str, path: &str, body: &str) -> std::io::Result<u16> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.host).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {AUTH}\r\nX-Amz-Date: 20260101T000000Z\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        );
        let Some(stream) = self.stream.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        stream.write_all(req.as_bytes()).await?;
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        // Read the head.
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                self.stream = None;
                return Err(std::io::Error::other("closed before the response head"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_ascii_lowercase();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let close = head.starts_with("http/1.0") && !head.contains("connection: keep-alive")
            || head.contains("connection: close");
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        match length {
            Some(len) => {
                while self.buf.len() < head_end + len {
                    let n = stream.read(&mut chunk).await?;
                    if n == 0 {
                        break;
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
            }
            None => loop {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    self.stream = None;
                    break;
                }
                self.buf.extend_from_slice(&chunk[..n]);
            },
        }
        if close {
            self.stream = None;
        }
        Ok(status)
    }
}

async fn setup(host: &str) -> Result<(), String> {
    let mut c = Conn::new(host);
    let thing = c
        .call("POST", "/things/bench-thing", "{}")
        .await
        .map_err(|e| format!("CreateThing: {e}"))?;
    let job = c
        .call(
            "PUT",
            "/jobs/bench-job",
            r#"{"targets":["arn:aws:iot:us-east-1:123456789012:thing/bench-thing"],"document":"{\"op\":\"bench\"}","description":"benchmark job"}"#,
        )
        .await
        .map_err(|e| format!("CreateJob: {e}"))?;
    let check = c
        .call("GET", "/jobs/bench-job", "")
        .await
        .map_err(|e| format!("DescribeJob: {e}"))?;
    if thing != 200 || !(job == 200 || job == 409) || check != 200 {
        return Err(format!(
            "setup failed: CreateThing {thing}, CreateJob {job}, DescribeJob {check}"
        ));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("describe_load: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // One thread: on a 2-core machine the other core is left to the server under test.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("describe_load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        if args.setup {
            if let Err(e) = setup(&args.host).await {
                eprintln!("describe_load: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
        let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
        let start = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let reached: Arc<Mutex<Option<f64>>> = Arc::new(Mutex::new(None));
        let needle = args
            .until_status
            .as_ref()
            .map(|s| format!("\"status\":\"{s}\""));
        let path = format!("/jobs/{}", args.job);
        let mut tasks = Vec::new();
        for _ in 0..args.connections {
            let host = args.host.clone();
            let (stop, reached, needle, path) =
                (stop.clone(), reached.clone(), needle.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = Conn::new(&host);
                let (mut ok, mut bad) = (0u64, 0u64);
                let mut micros: Vec<u32> = Vec::new();
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let res = c.call("GET", &path, "").await;
                    micros.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    match res {
                        Ok(200) => {
                            ok += 1;
                            let hit = needle.as_ref().is_some_and(|n| {
                                c.body().windows(n.len()).any(|w| w == n.as_bytes())
                            });
                            if hit && !stop.swap(true, Ordering::Relaxed) {
                                if let Ok(mut r) = reached.lock() {
                                    *r = Some(start.elapsed().as_secs_f64());
                                }
                            }
                        }
                        _ => bad += 1,
                    }
                }
                (ok, bad, micros)
            }));
        }
        let (mut ok, mut bad) = (0u64, 0u64);
        let mut micros: Vec<u32> = Vec::new();
        for t in tasks {
            if let Ok((o, b, m)) = t.await {
                ok += o;
                bad += b;
                micros.extend(m);
            }
        }
        micros.sort_unstable();
        let pct = |p: f64| -> f64 {
            if micros.is_empty() {
                return 0.0;
            }
            let i = ((micros.len() - 1) as f64 * p).round() as usize;
            micros[i] as f64 / 1000.0
        };
        let secs = start.elapsed().as_secs_f64();
        let until = match reached.lock().ok().and_then(|r| *r) {
            Some(t) => format!("{t:.2}"),
            None => "null".to_owned(),
        };
        println!(
            "{{\"ok\": {ok}, \"errors\": {bad}, \"seconds\": {secs:.2}, \"connections\": {}, \"calls_per_second\": {:.0}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"status_reached_after_seconds\": {until}}}",
            args.connections,
            ok as f64 / secs,
            pct(0.5),
            pct(0.99)
        );
        std::process::ExitCode::SUCCESS
    })
}
