//! End to end, issue 10 ("Trust"): what was reviewed is what runs. The real `jobctl` binary
//! against the real `jobctl-emulator` on loopback.

mod common;

use common::Endpoint;

fn fleet() -> Endpoint {
    let endpoint = Endpoint::emulator(&[]);
    endpoint.seed_group("Fleet");
    endpoint
}

fn manifest(name: &str, document_file: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets:\n    - thingGroup: Fleet\n  documentFile: {document_file}\n"
    )
}

/// What GetJobDocument answers for a job, as text.
fn job_document(endpoint: &Endpoint, job_id: &str) -> String {
    let (status, body) = endpoint.call("GET", &format!("/jobs/{job_id}/job-document"), "");
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
    body["document"]
        .as_str()
        .expect("document text")
        .to_string()
}

#[test]
fn a_json_document_file_reaches_devices_byte_for_byte() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    // Formatting, key order, escapes and number spellings a re-serialization would change.
    let written = "{\n    \"version\": \"4.2.0\",\n    \"operation\" : \"update\",\n\t\"caf\\u00e9\": 1.0,\n    \"size\": 1e3,\n    \"steps\": [ 1, 2,3 ]\n}\n";
    std::fs::write(dir.path().join("fw.json"), written).expect("write");
    std::fs::write(dir.path().join("fw.yaml"), manifest("fw", "fw.json")).expect("write");

    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(job_document(&endpoint, "fw"), written);

    // The same document, formatted differently: nothing to do, and nothing replaced.
    let reformatted =
        r#"{"operation":"update","version":"4.2.0","café":1.0,"size":1000.0,"steps":[1,2,3]}"#;
    std::fs::write(dir.path().join("fw.json"), reformatted).expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.code, 0, "formatting alone is no change: {plan:?}");
    assert!(plan.stdout.contains("1 unchanged"), "{plan:?}");

    // A real change of meaning is one.
    std::fs::write(
        dir.path().join("fw.json"),
        reformatted.replace("4.2.0", "4.2.1"),
    )
    .expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--detailed-exitcode"], dir.path());
    assert_eq!(plan.code, 2, "{plan:?}");
}

#[test]
fn a_json_document_file_with_duplicate_keys_or_ambiguous_numbers_is_refused_at_its_line() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("fw.json"),
        "{\"serial\": 123456789012345678901234567890,\n \"pi\": 3.14159265358979323846,\n \"dup\": 1, \"dup\": 2, \"ratio\": 1.10}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("fw.yaml"), manifest("fw", "fw.json")).expect("write");

    let validate = endpoint.jobctl(&["validate", "-f", "."], dir.path());
    assert_eq!(validate.code, 1, "{validate:?}");
    let out = format!("{}{}", validate.stdout, validate.stderr);
    for line in [
        "fw.json:1:12: error: integer 123456789012345678901234567890 is beyond",
        "fw.json:2:8: error: 3.14159265358979323846 has more digits than a double keeps",
        "fw.json:3:12: error: key `dup` appears twice",
        "fw.json:3:31: warning: `1.10` is a number",
    ] {
        assert!(out.contains(line), "{line:?} missing: {validate:?}");
    }

    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(common::job_ids(&endpoint.state()).is_empty(), "{apply:?}");
}

/// A listener that accepts connections and never answers, like a stuck proxy or a firewall that
/// swallows packets after the handshake.
fn silent_endpoint() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, url)
}

fn hold_connections(listener: std::net::TcpListener) {
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
}

#[test]
fn a_silent_endpoint_fails_fast_at_the_read_timeout_naming_the_operation_and_endpoint() {
    let (listener, url) = silent_endpoint();
    hold_connections(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    common::write_jobs(dir.path(), "s", 1);
    let run = common::run_jobctl(
        &[
            "plan",
            "-f",
            ".",
            "--endpoint-url",
            &url,
            "--read-timeout",
            "1s",
            "--max-attempts",
            "1",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.elapsed.as_secs() < 10,
        "took {:?}: {run:?}",
        run.elapsed
    );
    assert_eq!(run.stderr.matches(&url).count(), 1, "{run:?}");
    assert!(run.stderr.contains("ListJobs"), "{run:?}");
}

#[test]
fn a_silent_endpoint_meets_the_run_timeout_with_exit_3() {
    let (listener, url) = silent_endpoint();
    hold_connections(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    common::write_jobs(dir.path(), "s", 1);
    let run = common::run_jobctl(
        &["plan", "-f", ".", "--endpoint-url", &url, "--timeout", "2s"],
        dir.path(),
        &[],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.elapsed.as_secs() < 10,
        "took {:?}: {run:?}",
        run.elapsed
    );
    assert!(run.stderr.contains("ListJobs"), "{run:?}");
    assert!(run.stderr.contains(&url), "{run:?}");
}

/// jobctl with the test harness's environment minus `remove`.
fn run_without(remove: &[&str], dir: &std::path::Path) -> common::Run {
    let mut command = common::jobctl_command(&["plan", "-f", "."], dir, &[]);
    for name in remove {
        command.env_remove(name);
    }
    let start = std::time::Instant::now();
    let output = command.output().expect("jobctl runs");
    common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Exit 1 and one line on stderr holding every one of `words`.
fn assert_one_line(run: &common::Run, words: &[&str]) {
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{run:?}");
    for word in words {
        assert!(lines[0].contains(word), "{word:?} missing: {run:?}");
    }
}

#[test]
fn a_missing_region_is_one_line_saying_how_to_fix_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::write_jobs(dir.path(), "r", 1);
    let run = run_without(&["AWS_REGION"], dir.path());
    assert_one_line(&run, &["no AWS region", "--region", "AWS_REGION"]);
}

#[test]
fn missing_credentials_are_one_line_saying_how_to_fix_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::write_jobs(dir.path(), "c", 1);
    let run = run_without(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], dir.path());
    assert_one_line(
        &run,
        &["no AWS credentials", "AWS_ACCESS_KEY_ID", "--profile"],
    );
    assert!(
        run.elapsed.as_secs() < 10,
        "took {:?}: {run:?}",
        run.elapsed
    );
}

#[test]
fn with_prune_and_a_broken_manifest_its_live_job_is_not_said_to_have_no_manifest() {
    let endpoint = fleet();
    let dir = tempfile::tempdir().expect("tempdir");
    common::write_jobs(dir.path(), "b", 2);
    let apply = endpoint.jobctl(&["apply", "-f", "."], dir.path());
    assert_eq!(apply.code, 0, "{apply:?}");
    // b-001's manifest breaks: its job is still live, and the broken file still declares it.
    std::fs::write(
        dir.path().join("b-001.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: b-001\nspec:\n  targets: []\n",
    )
    .expect("write");
    let plan = endpoint.jobctl(&["plan", "-f", ".", "--prune"], dir.path());
    assert!(
        !plan.stdout.contains("have no manifest"),
        "a broken manifest is not no manifest: {plan:?}"
    );
    assert!(
        plan.stdout
            .contains("1 job(s) of this instance are declared by no manifest that could be read"),
        "{plan:?}"
    );
    assert!(plan.stdout.contains("b-001"), "{plan:?}");
    assert!(
        plan.stdout.contains("prune is off for this run"),
        "{plan:?}"
    );
}

/// Runs the `openssl` CLI; a missing tool fails the test loudly, it never skips it.
fn openssl(args: &[&str], dir: &std::path::Path) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the `openssl` CLI is needed to make the test CA: install it");
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

/// A TLS endpoint on loopback whose certificate is signed by a CA made here (`ca.pem` in `dir`).
/// `openssl s_server -www` answers any request with an HTML page: enough to tell a trusted TLS
/// handshake (an answer jobctl cannot parse) from an untrusted one (a certificate error).
struct TlsEndpoint {
    server: std::process::Child,
    url: String,
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn tls_endpoint(dir: &std::path::Path) -> TlsEndpoint {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=jobctl test CA",
    ]);
    openssl(&ca, dir);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write");
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&csr, dir);
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
        ],
        dir,
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let accept = format!("127.0.0.1:{port}");
    let server = std::process::Command::new("openssl")
        .args([
            "s_server", "-accept", &accept, "-cert", "srv.pem", "-key", "srv.key", "-www", "-quiet",
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let endpoint = TlsEndpoint {
        server,
        url: format!("https://{accept}"),
    };
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(&accept).is_err() {
        assert!(
            start.elapsed().as_secs() < 10,
            "openssl s_server never listened on {accept}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    endpoint
}

#[test]
fn a_custom_ca_bundle_is_trusted_from_the_flag_the_environment_and_the_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = tls_endpoint(dir.path());
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().expect("utf-8 path");
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).expect("mkdir");
    common::write_jobs(&jobs, "ca", 1);
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!("[profile corp]\nregion = us-east-1\nca_bundle = {ca}\n"),
    )
    .expect("write");
    let config = config.to_str().expect("utf-8 path");
    let plan = [
        "plan",
        "-f",
        ".",
        "--endpoint-url",
        &tls.url,
        "--max-attempts",
        "1",
    ];

    // Without the bundle: one clear error naming the operation, the endpoint and the certificate.
    let untrusted = common::run_jobctl(&plan, &jobs, &[]);
    assert_eq!(untrusted.code, 1, "{untrusted:?}");
    assert!(untrusted.stderr.contains("ListJobs"), "{untrusted:?}");
    assert!(untrusted.stderr.contains(&tls.url), "{untrusted:?}");
    assert!(
        untrusted
            .stderr
            .contains("invalid peer certificate: UnknownIssuer"),
        "{untrusted:?}"
    );
    assert!(
        untrusted.stderr.contains("pass --ca-bundle"),
        "{untrusted:?}"
    );

    let mut with_flag = plan.to_vec();
    with_flag.extend(["--ca-bundle", ca]);
    let runs = [
        ("--ca-bundle", common::run_jobctl(&with_flag, &jobs, &[])),
        (
            "AWS_CA_BUNDLE",
            common::run_jobctl(&plan, &jobs, &[("AWS_CA_BUNDLE", ca)]),
        ),
        (
            "profile ca_bundle",
            common::run_jobctl(
                &plan,
                &jobs,
                &[("AWS_CONFIG_FILE", config), ("AWS_PROFILE", "corp")],
            ),
        ),
    ];
    for (how, run) in runs {
        // The handshake succeeded: what fails is the HTML page, which is not AWS IoT's answer.
        assert!(!run.stderr.contains("certificate"), "{how}: {run:?}");
        assert!(run.stderr.contains("answered HTTP 200"), "{how}: {run:?}");
    }
}
