//! Test harness: spawns the real `jobctl-emulator` binary on port 0, reads the port from
//! its first stdout line, and talks to it with a minimal blocking HTTP/1.1 client (one
//! connection per request) so tests depend on nothing but std and serde_json.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub struct Emu {
    child: Child,
    pub port: u16,
    pub first_line: String,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub raw: Vec<u8>,
    pub json: Value,
}

impl Resp {
    /// The `x-amzn-ErrorType` header, or "" on success.
    pub fn code(&self) -> &str {
        self.headers
            .get("x-amzn-errortype")
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.json["message"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(
            self.status,
            200,
            "expected 200, got {} {}",
            self.status,
            String::from_utf8_lossy(&self.raw)
        );
        self.json
    }

    /// Asserts an AWS error: status, header, `__type` and a message.
    #[track_caller]
    pub fn err(&self, code: &str, status: u16) -> &Self {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "body: {}",
            String::from_utf8_lossy(&self.raw)
        );
        assert_eq!(self.json["__type"], code);
        assert!(!self.message().is_empty(), "error without a message");
        self
    }
}

impl Emu {
    pub fn start(args: &[&str]) -> Emu {
        Self::start_in(args, None)
    }

    pub fn start_in(args: &[&str], cwd: Option<&Path>) -> Emu {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobctl-emulator"));
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        let mut child = cmd.spawn().expect("spawn emulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read first line");
        let line = line.trim_end().to_owned();
        let port: u16 = line
            .strip_prefix("listening on http://127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("port");
        Emu {
            child,
            port,
            first_line: line,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends one request. `auth_region` adds a SigV4-shaped Authorization header.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        auth_region: Option<&str>,
    ) -> Resp {
        self.request_for("iot", method, path, body, auth_region)
    }

    /// Like `request`, signed for `service` (`iot-jobs-data` reaches the data plane).
    pub fn request_for(
        &self,
        service: &str,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        auth_region: Option<&str>,
    ) -> Resp {
        self.request_with(service, method, path, body, auth_region, &[])
    }

    /// A Resource Groups Tagging API call (JSON 1.1, `POST /` named by X-Amz-Target),
    /// signed for us-east-1.
    pub fn tagging(&self, operation: &str, body: Value) -> Resp {
        let bytes = serde_json::to_vec(&body).expect("json");
        let target = format!("ResourceGroupsTaggingAPI_20170126.{operation}");
        self.request_with(
            "tagging",
            "POST",
            "/",
            Some(&bytes),
            Some(REGION),
            &[("X-Amz-Target", &target)],
        )
    }

    /// `request_for` with extra headers.
    pub fn request_with(
        &self,
        service: &str,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        auth_region: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let body = body.unwrap_or(b"");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some(r) = auth_region {
            head.push_str(&format!(
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{r}/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000\r\nX-Amz-Date: 20260101T000000Z\r\n"
            ));
        }
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("write");
        s.write_all(body).expect("write body");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).expect("read");
        let split = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end");
        let head = String::from_utf8_lossy(&buf[..split]).into_owned();
        let raw = buf[split + 4..].to_vec();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .expect("status");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let json = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or(Value::Null)
        };
        Resp {
            status,
            headers,
            raw,
            json,
        }
    }

    /// An AWS API call signed for us-east-1.
    pub fn aws(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.aws_in(REGION, method, path, body)
    }

    pub fn aws_in(&self, region: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        self.request(method, path, bytes.as_deref(), Some(region))
    }

    /// A device call on the data plane (`iot-jobs-data`), signed for us-east-1.
    pub fn data(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        self.request_for(
            "iot-jobs-data",
            method,
            path,
            bytes.as_deref(),
            Some(REGION),
        )
    }

    /// Loads a fleet document (JSON) through `PUT /_emulator/fleet`.
    pub fn fleet(&self, doc: Value) -> Value {
        self.control("PUT", "fleet", Some(doc)).ok()
    }

    pub fn job(&self, id: &str) -> Value {
        self.describe(id).ok()["job"].clone()
    }

    /// Every execution summary of a job, following nextToken.
    pub fn executions(&self, id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let path = match &token {
                Some(t) => format!("/jobs/{id}/things?maxResults=250&nextToken={t}"),
                None => format!("/jobs/{id}/things?maxResults=250"),
            };
            let page = self.aws("GET", &path, None).ok();
            out.extend(
                page["executionSummaries"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
            match page["nextToken"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => return out,
            }
        }
    }

    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        self.request(
            method,
            &format!("/_emulator/{path}"),
            bytes.as_deref(),
            None,
        )
    }

    pub fn thing(&self, name: &str) {
        self.aws("POST", &format!("/things/{name}"), Some(json!({})))
            .ok();
    }

    pub fn group(&self, name: &str, members: &[&str]) {
        self.aws("POST", &format!("/thing-groups/{name}"), Some(json!({})))
            .ok();
        for m in members {
            self.thing(m);
            self.aws(
                "PUT",
                "/thing-groups/addThingToThingGroup",
                Some(json!({"thingGroupName": name, "thingName": m})),
            )
            .ok();
        }
    }

    pub fn create_job(&self, id: &str, body: Value) -> Resp {
        self.aws("PUT", &format!("/jobs/{id}"), Some(body))
    }

    /// Creates `dev1` (if needed) and a SNAPSHOT job on it.
    pub fn simple_job(&self, id: &str) -> Value {
        self.thing("dev1");
        self.create_job(
            id,
            json!({"targets": [thing_arn("dev1")], "document": "{\"op\":\"x\"}"}),
        )
        .ok()
    }

    pub fn describe(&self, id: &str) -> Resp {
        self.aws("GET", &format!("/jobs/{id}"), None)
    }

    pub fn status(&self, id: &str) -> String {
        self.describe(id).ok()["job"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn now(&self) -> f64 {
        self.control("GET", "clock", None).ok()["now"]
            .as_f64()
            .expect("now")
    }

    /// Ends the running executions of `things` in `job` as a device report would
    /// (`POST /_emulator/jobs/{job}/complete`).
    pub fn complete(&self, job: &str, outcome: &str, things: &[&str]) {
        self.control(
            "POST",
            &format!("jobs/{job}/complete"),
            Some(json!({"outcome": outcome, "things": things})),
        )
        .ok();
    }

    pub fn advance(&self, seconds: f64) {
        self.control("POST", "clock/advance", Some(json!({"seconds": seconds})))
            .ok();
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn thing_arn(name: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}")
}

pub fn group_arn(name: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}")
}

pub fn job_arn(id: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:job/{id}")
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
