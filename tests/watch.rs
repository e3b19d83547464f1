//! End to end: the real `jobctl watch` daemon against the real `jobctl-emulator`, driven by file
//! edits, signals, an emulator restart, throttling and a symlink swap.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{http, jobctl_command, Endpoint};

const SCOPE: &str = "123456789012:us-east-1";

struct Daemon {
    child: Child,
    metrics: String,
}

impl Daemon {
    fn start(endpoint_url: &str, cwd: &Path, args: &[&str]) -> Self {
        let mut full = vec![
            "watch",
            "--debounce",
            "150ms",
            "--listen-addr",
            "127.0.0.1:0",
        ];
        full.extend_from_slice(args);
        let mut child = jobctl_command(&full, cwd, &[("AWS_ENDPOINT_URL_IOT", endpoint_url)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("daemon starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let metrics = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Daemon { child, metrics }
    }

    fn get(&self, path: &str) -> (u16, String) {
        http("GET", &format!("{}{path}", self.metrics), "")
    }

    fn metric(&self, name: &str) -> f64 {
        let (_, body) = self.get("/metrics");
        body.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    fn wait(mut self, limit: Duration) -> (Option<i32>, String) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut err) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
                }
                return (status.code(), stderr);
            }
            assert!(
                start.elapsed() < limit,
                "daemon did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Daemon {
    /// Like [`until`], but a timeout ends the daemon and shows its log.
    fn until(&mut self, what: &str, limit: Duration, mut check: impl FnMut(&Self) -> bool) {
        let start = Instant::now();
        while !check(self) {
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let mut stderr = String::new();
                if let Some(mut err) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
                }
                panic!("timed out after {limit:?} waiting for {what}; the daemon's log:\n{stderr}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn manifest(name: &str, description: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  description: {description}\n  targets: [{{thingGroup: Fleet}}]\n  document: {{op: update}}\n"
    )
}

fn job(endpoint: &Endpoint, id: &str) -> serde_json::Value {
    endpoint.state()["scopes"][SCOPE]["jobs"][id].clone()
}

fn setup(flags: &[&str]) -> (Endpoint, tempfile::TempDir, PathBuf) {
    let endpoint = Endpoint::emulator(flags);
    endpoint.seed_group("Fleet");
    let dir = tempfile::tempdir().expect("tempdir");
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).expect("mkdir");
    (endpoint, dir, jobs)
}

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn files_created_edited_and_deleted_reach_the_account() {
    let (endpoint, dir, jobs) = setup(&["--deletion-delay-ms", "100"]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "first")).expect("write");
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs", "--prune"]);
    until("initial create", WAIT, || {
        job(&endpoint, "a")["status"] == "IN_PROGRESS"
    });
    until("ready", WAIT, || daemon.get("/readyz").0 == 200);

    std::fs::write(jobs.join("b.yaml"), manifest("b", "second")).expect("write");
    until("create on new file", WAIT, || {
        job(&endpoint, "b")["status"] == "IN_PROGRESS"
    });

    std::fs::write(jobs.join("a.yaml"), manifest("a", "first, edited")).expect("write");
    until("update on edit", WAIT, || {
        job(&endpoint, "a")["description"] == "first, edited"
    });

    std::fs::remove_file(jobs.join("b.yaml")).expect("remove");
    until("cancel on delete", WAIT, || {
        job(&endpoint, "b")["status"] == "CANCELED"
    });

    assert_eq!(
        daemon.metric("jobctl_changes_total{action=\"create\"}"),
        2.0
    );
    assert_eq!(
        daemon.metric("jobctl_changes_total{action=\"update\"}"),
        1.0
    );
    assert_eq!(
        daemon.metric("jobctl_changes_total{action=\"cancel\"}"),
        1.0
    );
    assert_eq!(daemon.metric("jobctl_ready"), 1.0);
    assert!(daemon.metric("jobctl_last_success_timestamp_seconds") > 1.7e9);
    assert_eq!(daemon.get("/healthz").0, 200);
    daemon.signal("TERM");
    let (code, _) = daemon.wait(WAIT);
    assert_eq!(code, Some(0), "a graceful stop exits 0");
}

#[test]
fn a_broken_file_never_prunes_and_shows_in_readyz_and_metrics() {
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "first")).expect("write");
    std::fs::write(jobs.join("b.yaml"), manifest("b", "second")).expect("write");
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs", "--prune-force"]);
    until("both created", WAIT, || {
        job(&endpoint, "b")["status"] == "IN_PROGRESS"
    });
    std::fs::write(
        jobs.join("b.yaml"),
        "apiVersion: jobctl/v1\nkind: Job\nmetadata: {name: b\n",
    )
    .expect("write");
    until("not ready", WAIT, || daemon.get("/readyz").0 == 503);
    let (_, body) = daemon.get("/readyz");
    assert!(body.contains("invalid manifest"), "{body}");
    assert!(daemon.metric("jobctl_invalid_manifests") >= 1.0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        job(&endpoint, "b")["status"],
        "IN_PROGRESS",
        "a broken file must not prune its job"
    );
    std::fs::write(jobs.join("b.yaml"), manifest("b", "second")).expect("write");
    until("ready again", WAIT, || daemon.get("/readyz").0 == 200);
}

#[test]
fn sigterm_mid_apply_finishes_calls_in_flight_and_exits_0() {
    let (endpoint, dir, jobs) = setup(&["--latency", "1500"]);
    for name in ["s1", "s2", "s3"] {
        std::fs::write(jobs.join(format!("{name}.yaml")), manifest(name, "slow")).expect("write");
    }
    let daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--shutdown-timeout", "20s"],
    );
    // ListJobs and DescribeThingGroup take 1.5 s each; the creates are in flight by 3.5 s.
    std::thread::sleep(Duration::from_millis(3500));
    daemon.signal("TERM");
    let started = Instant::now();
    let (code, _) = daemon.wait(Duration::from_secs(25));
    assert_eq!(code, Some(0));
    assert!(started.elapsed() < Duration::from_secs(20));
    let created = ["s1", "s2", "s3"]
        .iter()
        .filter(|n| job(&endpoint, n)["status"] == "IN_PROGRESS")
        .count();
    assert_eq!(created, 3, "the creates in flight completed");
}

#[test]
fn a_second_signal_exits_at_once() {
    let (endpoint, dir, jobs) = setup(&["--latency", "3000"]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "slow")).expect("write");
    let daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--shutdown-timeout", "60s"],
    );
    std::thread::sleep(Duration::from_millis(500));
    daemon.signal("TERM");
    std::thread::sleep(Duration::from_millis(200));
    daemon.signal("TERM");
    let (code, _) = daemon.wait(Duration::from_secs(5));
    assert_eq!(code, Some(143));
}

#[test]
fn the_daemon_recovers_when_the_endpoint_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().expect("utf-8").to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let first = Endpoint::emulator_at(&listen, &["--state-file", &state_arg]);
    first.seed_group("Fleet");
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).expect("mkdir");
    std::fs::write(jobs.join("a.yaml"), manifest("a", "first")).expect("write");
    let url = first.url.clone();
    let daemon = Daemon::start(&url, dir.path(), &["-f", "jobs", "--max-attempts", "1"]);
    until("first job", WAIT, || {
        job(&first, "a")["status"] == "IN_PROGRESS"
    });
    drop(first); // connection refused from now on

    std::fs::write(jobs.join("b.yaml"), manifest("b", "while down")).expect("write");
    until("not ready while the endpoint is down", WAIT, || {
        daemon.get("/readyz").0 == 503
    });
    assert!(daemon.metric("jobctl_reconcile_errors_total") >= 1.0);
    assert_eq!(
        daemon.get("/healthz").0,
        200,
        "runtime errors never end the daemon"
    );

    let second = Endpoint::emulator_at(&listen, &["--state-file", &state_arg]);
    until(
        "job created after recovery",
        Duration::from_secs(40),
        || job(&second, "b")["status"] == "IN_PROGRESS",
    );
    until("ready again", Duration::from_secs(40), || {
        daemon.get("/readyz").0 == 200
    });
}

#[test]
fn a_throttling_storm_converges() {
    let (endpoint, dir, jobs) = setup(&[
        "--aws-limits",
        "--tps",
        "CreateJob=1",
        "--tps",
        "ListJobs=2",
    ]);
    for i in 0..8 {
        std::fs::write(
            jobs.join(format!("t{i}.yaml")),
            manifest(&format!("t{i}"), "storm"),
        )
        .expect("write");
    }
    let daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--max-attempts", "2"],
    );
    until("all created", Duration::from_secs(60), || {
        (0..8).all(|i| job(&endpoint, &format!("t{i}"))["status"] == "IN_PROGRESS")
    });
    assert!(
        daemon.metric("jobctl_api_throttles_total") >= 1.0,
        "the storm was real"
    );
    until("ready", Duration::from_secs(60), || {
        daemon.get("/readyz").0 == 200
    });
}

#[test]
fn an_atomic_symlink_swap_of_the_root_is_followed() {
    let (endpoint, dir, _) = setup(&[]);
    let v1 = dir.path().join("rev-1");
    let v2 = dir.path().join("rev-2");
    std::fs::create_dir(&v1).expect("mkdir");
    std::fs::create_dir(&v2).expect("mkdir");
    std::fs::write(v1.join("a.yaml"), manifest("a", "rev 1")).expect("write");
    std::fs::write(v2.join("a.yaml"), manifest("a", "rev 2")).expect("write");
    std::fs::write(v2.join("b.yaml"), manifest("b", "rev 2")).expect("write");
    std::os::unix::fs::symlink("rev-1", dir.path().join("current")).expect("symlink");
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "current"]);
    until("rev 1 applied", WAIT, || {
        job(&endpoint, "a")["description"] == "rev 1"
    });
    // What git-sync does: a new link, renamed over the old one.
    std::os::unix::fs::symlink("rev-2", dir.path().join("current.tmp")).expect("symlink");
    std::fs::rename(dir.path().join("current.tmp"), dir.path().join("current")).expect("rename");
    until("rev 2 applied", WAIT, || {
        job(&endpoint, "b")["status"] == "IN_PROGRESS"
    });
    until("rev 2 update", WAIT, || {
        job(&endpoint, "a")["description"] == "rev 2"
    });
    // And the new target is watched from now on.
    std::fs::write(v2.join("c.yaml"), manifest("c", "rev 2 edit")).expect("write");
    until("edit in the new target", WAIT, || {
        job(&endpoint, "c")["status"] == "IN_PROGRESS"
    });
    drop(daemon);
}

#[test]
fn a_deleted_and_recreated_root_is_noticed() {
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs", "--prune"]);
    until("created", WAIT, || {
        job(&endpoint, "a")["status"] == "IN_PROGRESS"
    });
    std::fs::remove_dir_all(&jobs).expect("rm -r");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        job(&endpoint, "a")["status"],
        "IN_PROGRESS",
        "a vanished root is not an empty root"
    );
    std::fs::create_dir(&jobs).expect("mkdir");
    std::fs::write(jobs.join("b.yaml"), manifest("b", "two")).expect("write");
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    until("created after recreate", WAIT, || {
        job(&endpoint, "b")["status"] == "IN_PROGRESS"
    });
    drop(daemon);
}

#[test]
fn a_burst_of_file_events_causes_at_most_two_reconciles() {
    let (endpoint, dir, jobs) = setup(&[]);
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs"]);
    until("ready", WAIT, || daemon.get("/readyz").0 == 200);
    let before = daemon.metric("jobctl_reconciles_total");
    for i in 0..1000 {
        std::fs::write(
            jobs.join(format!("j{i:04}.yaml")),
            manifest(&format!("j{i:04}"), "burst"),
        )
        .expect("write");
    }
    until("all 1000 created", Duration::from_secs(120), || {
        endpoint.state()["scopes"][SCOPE]["jobs"]
            .as_object()
            .map_or(0, |m| m.len())
            == 1000
    });
    std::thread::sleep(Duration::from_millis(600));
    let passes = daemon.metric("jobctl_reconciles_total") - before;
    assert!(passes <= 2.0, "{passes} reconciles for one burst");
}

#[test]
fn a_missing_root_at_start_is_fatal() {
    let (endpoint, dir, _) = setup(&[]);
    let run = common::run_jobctl(
        &["watch", "-f", "nowhere"],
        dir.path(),
        &[("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("manifest root nowhere does not exist"),
        "{run:?}"
    );
    let run = common::run_jobctl(&["watch", "-f", ".", "--debounce", "soon"], dir.path(), &[]);
    assert_eq!(run.code, 64, "{run:?}");
}

#[test]
fn a_transient_empty_root_never_prunes() {
    let (endpoint, dir, jobs) = setup(&[]);
    for name in ["a", "b", "c"] {
        std::fs::write(jobs.join(format!("{name}.yaml")), manifest(name, "kept")).expect("write");
    }
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs", "--prune"]);
    until("created", WAIT, || {
        ["a", "b", "c"]
            .iter()
            .all(|n| job(&endpoint, n)["status"] == "IN_PROGRESS")
    });
    std::fs::remove_dir_all(&jobs).expect("rm -r");
    std::thread::sleep(Duration::from_millis(600));
    std::fs::create_dir(&jobs).expect("mkdir");
    until("the blocked prune shows in readyz", WAIT, || {
        daemon.get("/readyz").1.contains("blocked")
    });
    std::thread::sleep(Duration::from_millis(800));
    for name in ["a", "b", "c"] {
        assert_eq!(
            job(&endpoint, name)["status"],
            "IN_PROGRESS",
            "an empty root never prunes without --allow-empty"
        );
    }
    drop(daemon);
}

#[test]
fn a_tree_that_lost_most_of_its_manifests_waits_one_settle_period_before_pruning() {
    let (endpoint, dir, jobs) = setup(&[]);
    for name in ["a", "b", "c", "d"] {
        std::fs::write(jobs.join(format!("{name}.yaml")), manifest(name, "one")).expect("write");
    }
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs", "--prune"]);
    until("created", WAIT, || {
        job(&endpoint, "d")["status"] == "IN_PROGRESS"
    });
    until("ready", WAIT, || daemon.get("/readyz").0 == 200);
    for name in ["b", "c", "d"] {
        std::fs::remove_file(jobs.join(format!("{name}.yaml"))).expect("remove");
    }
    // Still gone after the extra settle period: then prune acts.
    until("pruned after the tree held still", WAIT, || {
        job(&endpoint, "d")["status"] == "CANCELED"
    });
    assert_eq!(job(&endpoint, "a")["status"], "IN_PROGRESS");
    daemon.signal("TERM");
    let (code, stderr) = daemon.wait(WAIT);
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("prune waits one more settle period")
            && stderr.contains("3 fewer than the 4"),
        "{stderr}"
    );
}

#[test]
fn healthz_fails_when_a_pass_runs_longer_than_the_limit() {
    let (endpoint, dir, jobs) = setup(&["--latency", "2500"]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "slow")).expect("write");
    let daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--max-pass-duration", "1s"],
    );
    until("healthz fails during the long pass", WAIT, || {
        daemon.get("/healthz").0 == 503
    });
    let (_, body) = daemon.get("/healthz");
    assert!(body.contains("--max-pass-duration"), "{body}");
    until(
        "healthy again once the pass ends",
        Duration::from_secs(30),
        || daemon.get("/healthz").0 == 200,
    );
}

#[test]
fn a_fifo_in_the_tree_never_wedges_the_daemon() {
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    let made = std::process::Command::new("mkfifo")
        .arg(jobs.join("x.yaml"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs"]);
    until("created despite the FIFO", WAIT, || {
        job(&endpoint, "a")["status"] == "IN_PROGRESS"
    });
    std::fs::write(jobs.join("b.yaml"), manifest("b", "two")).expect("write");
    until("a later manifest is created too", WAIT, || {
        job(&endpoint, "b")["status"] == "IN_PROGRESS"
    });
    let (_, body) = daemon.get("/readyz");
    assert!(body.contains("invalid manifest"), "{body}");
    daemon.signal("TERM");
    let (code, _) = daemon.wait(Duration::from_secs(10));
    assert_eq!(code, Some(0));
}

/// 30 simulated bulbs at 30 emulated seconds per second: rollouts take a few real seconds, long
/// enough for passes a second apart to see them running. 4.2.1 fails on most devices.
const SLOW_FLEET: &str = r#"{
  "seed": 11,
  "timeScale": 30,
  "groups": [{"name": "Bulbs", "size": 30}],
  "devices": {
    "pickupSeconds": {"min": 1, "max": 30},
    "durationSeconds": {"min": 20, "max": 90},
    "outcomes": {"SUCCEEDED": 1.0}
  },
  "rules": [
    {"match": {"document": {"firmware": {"version": "4.2.1"}}},
     "outcomes": {"FAILED": 0.8, "SUCCEEDED": 0.2}}
  ]
}"#;

fn firmware(name: &str, version: &str, extra: &str) -> String {
    format!(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  targets:\n    - thingGroup: Bulbs\n  document:\n    firmware:\n      version: \"{version}\"\n{extra}"
    )
}

#[test]
fn metrics_show_each_owned_rollout_and_a_job_that_aborts_is_logged_once() {
    let endpoint = Endpoint::emulator(&[]);
    let (status, body) = endpoint.call("PUT", "/_emulator/fleet", SLOW_FLEET);
    assert_eq!(status, 200, "{body}");
    let dir = tempfile::tempdir().expect("tempdir");
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).expect("mkdir");
    let abort = "  abortConfig:\n    criteriaList:\n      - failureType: FAILED\n        action: CANCEL\n        thresholdPercentage: 20\n        minNumberOfExecutedThings: 5\n";
    std::fs::write(jobs.join("good.yaml"), firmware("fw-good", "4.2.0", "")).expect("write");
    std::fs::write(jobs.join("bad.yaml"), firmware("fw-bad", "4.2.1", abort)).expect("write");
    // Another instance's job in the same account: never shown.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::write(
        other.join("theirs.yaml"),
        firmware("fw-theirs", "4.2.0", ""),
    )
    .expect("write");
    let applied = endpoint.jobctl(
        &["apply", "-f", "other", "--instance", "staging"],
        dir.path(),
    );
    assert_eq!(applied.code, 0, "{applied:?}");

    let daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--resync-interval", "1s"],
    );
    let series = |job: &str, health: &str| {
        format!("jobctl_job_health{{job_id=\"{job}\",health=\"{health}\"}}")
    };
    until(
        "fw-good running in the metrics",
        Duration::from_secs(30),
        || daemon.metric(&series("fw-good", "Progressing")) == 1.0,
    );
    until(
        "fw-bad aborted and fw-good healthy",
        Duration::from_secs(60),
        || {
            daemon.metric(&series("fw-bad", "Aborted")) == 1.0
                && daemon.metric(&series("fw-good", "Healthy")) == 1.0
        },
    );
    assert_eq!(job(&endpoint, "fw-bad")["status"], "CANCELED");
    let (_, body) = daemon.get("/metrics");
    assert!(
        body.contains("jobctl_job_executions{job_id=\"fw-good\",state=\"SUCCEEDED\"} 30"),
        "the final counts of a job that finished: {body}"
    );
    assert!(!body.contains("fw-theirs"), "{body}");
    assert_eq!(
        body.lines()
            .filter(|l| l.starts_with("jobctl_job_") && l.contains("\"fw-good\""))
            .count(),
        14,
        "8 execution states and 6 health values: {body}"
    );
    // A few more passes: the warning is not repeated.
    std::thread::sleep(Duration::from_secs(3));
    daemon.signal("TERM");
    let (code, stderr) = daemon.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("job fw-bad is Aborted").count(),
        1,
        "logged once at warn level: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("WARN") && l.contains("job fw-bad is Aborted")),
        "{stderr}"
    );
    assert!(!stderr.contains("job fw-good is"), "{stderr}");
}

#[test]
fn create_edit_and_delete_in_a_recreated_root_each_start_a_pass_promptly() {
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    let mut daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--prune", "--resync-interval", "1h", "-v"],
    );
    daemon.until("created", WAIT, |_| {
        job(&endpoint, "a")["status"] == "IN_PROGRESS"
    });
    daemon.until("ready", WAIT, |daemon| daemon.get("/readyz").0 == 200);
    std::fs::remove_dir_all(&jobs).expect("rm -r");
    std::thread::sleep(Duration::from_millis(600));
    std::fs::create_dir(&jobs).expect("mkdir");
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    // Let the passes about the recreate (and the settle period they hold prune for) finish, so
    // what follows can only be seen through a watch on the new directory.
    daemon.until("the recreated tree is read", WAIT, |daemon| {
        daemon.metric("jobctl_manifests") == 1.0
    });
    std::thread::sleep(Duration::from_millis(1500));
    let passes = daemon.metric("jobctl_reconciles_total");

    std::fs::write(jobs.join("r3.yaml"), manifest("r3", "new")).expect("write");
    daemon.until("create after recreate", WAIT, |_| {
        job(&endpoint, "r3")["status"] == "IN_PROGRESS"
    });
    daemon.until("jobctl_manifests follows the create", WAIT, |daemon| {
        daemon.metric("jobctl_manifests") == 2.0
    });
    std::fs::write(jobs.join("r3.yaml"), manifest("r3", "edited")).expect("write");
    daemon.until("update after recreate", WAIT, |_| {
        job(&endpoint, "r3")["description"] == "edited"
    });
    std::fs::remove_file(jobs.join("r3.yaml")).expect("remove");
    daemon.until("cancel after recreate", WAIT, |_| {
        job(&endpoint, "r3")["status"] == "CANCELED"
    });
    daemon.until("jobctl_manifests follows the delete", WAIT, |daemon| {
        daemon.metric("jobctl_manifests") == 1.0
    });
    assert_eq!(job(&endpoint, "a")["status"], "IN_PROGRESS");
    assert!(
        daemon.metric("jobctl_reconciles_total{trigger=\"resync\"}") == 0.0,
        "file events, not the resync, started these passes"
    );
    assert!(daemon.metric("jobctl_reconciles_total") >= passes + 3.0);
    daemon.signal("TERM");
    let (code, stderr) = daemon.wait(WAIT);
    assert_eq!(code, Some(0));
    assert!(
        stderr.contains("manifest root was deleted and recreated"),
        "{stderr}"
    );
}

#[test]
fn sighup_rereads_jobctl_yaml_and_starts_a_full_pass_without_exiting() {
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("jobctl.yaml"), "instance: blue\n").expect("write");
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    let mut daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--resync-interval", "1h"],
    );
    daemon.until("created", WAIT, |_| {
        job(&endpoint, "a")["status"] == "IN_PROGRESS"
    });
    daemon.until("ready", WAIT, |daemon| daemon.get("/readyz").0 == 200);
    // Editing jobctl.yaml alone changes nothing: the daemon reads it again on SIGHUP only.
    std::fs::write(jobs.join("jobctl.yaml"), "instance: green\n").expect("write");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(daemon.get("/readyz").0, 200);
    assert_eq!(
        daemon.metric("jobctl_reconciles_total{trigger=\"reload\"}"),
        0.0
    );

    daemon.signal("HUP");
    daemon.until("a reload pass", WAIT, |daemon| {
        daemon.metric("jobctl_reconciles_total{trigger=\"reload\"}") == 1.0
    });
    assert!(
        daemon.child.try_wait().expect("try_wait").is_none(),
        "SIGHUP never ends the daemon"
    );
    // Now instance `green`: job a belongs to `blue`, so it is blocked, never taken over.
    daemon.until("the other instance's job is blocked", WAIT, |daemon| {
        daemon.get("/readyz").1.contains("blocked")
    });
    std::fs::write(jobs.join("b.yaml"), manifest("b", "two")).expect("write");
    daemon.until("created as green", WAIT, |_| {
        job(&endpoint, "b")["status"] == "IN_PROGRESS"
    });
    let arn = "arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Ajob%2Fb";
    let (_, body) = endpoint.call("GET", &format!("/tags?resourceArn={arn}"), "");
    assert!(
        body.contains("\"jobctl:instance\"") && body.contains("\"green\""),
        "{body}"
    );

    daemon.signal("TERM");
    let (code, stderr) = daemon.wait(WAIT);
    assert_eq!(code, Some(0));
    assert!(stderr.contains("SIGHUP received"), "{stderr}");
    assert!(stderr.contains("the instance changed"), "{stderr}");
}

#[test]
fn healthz_answers_through_garbage_slowloris_and_a_thousand_connections() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    let mut daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs"]);
    daemon.until("ready", WAIT, |daemon| daemon.get("/readyz").0 == 200);
    let addr = daemon
        .metrics
        .strip_prefix("http://")
        .expect("http")
        .to_string();

    // Garbage, a head larger than any probe sends, and methods that are not GET.
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100_000));
    let payloads: [&[u8]; 4] = [
        b"\x00\xff\xfe garbage \x1b[2J\r\n\r\n",
        long.as_bytes(),
        b"DELETE /healthz HTTP/1.1\r\n\r\n",
        b"\r\n\r\n",
    ];
    for payload in payloads {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        let _ = stream.write_all(payload);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 4"),
            "{text:.200}"
        );
    }
    // Slowloris: heads that never end; and a thousand connections that say nothing.
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ");
        held.push(stream);
    }
    for _ in 0..1000 {
        held.push(TcpStream::connect(&addr).expect("connect"));
    }
    let started = Instant::now();
    assert_eq!(daemon.get("/healthz").0, 200);
    assert_eq!(daemon.get("/readyz").0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "probes answered in {:?} with 1,200 connections held open",
        started.elapsed()
    );
    // And the daemon still does its work.
    std::fs::write(jobs.join("b.yaml"), manifest("b", "two")).expect("write");
    daemon.until("created while the connections are held", WAIT, |_| {
        job(&endpoint, "b")["status"] == "IN_PROGRESS"
    });
    drop(held);
    assert_eq!(daemon.get("/healthz").0, 200);
    daemon.signal("TERM");
    let (code, _) = daemon.wait(WAIT);
    assert_eq!(code, Some(0));
}

#[test]
fn ten_thousand_files_at_once_are_all_read_in_a_few_passes() {
    let (endpoint, dir, jobs) = setup(&[]);
    let mut daemon = Daemon::start(
        &endpoint.url,
        dir.path(),
        &["-f", "jobs", "--rate-limit", "0", "--parallelism", "32"],
    );
    daemon.until("ready", WAIT, |daemon| daemon.get("/readyz").0 == 200);
    let before = daemon.metric("jobctl_reconciles_total");
    // 100 new directories of 100 files each: the watch must add them as they appear.
    for d in 0..100 {
        let sub = jobs.join(format!("d{d:03}"));
        std::fs::create_dir(&sub).expect("mkdir");
        for f in 0..100 {
            let name = format!("j{d:03}-{f:03}");
            std::fs::write(sub.join(format!("{name}.yaml")), manifest(&name, "burst"))
                .expect("write");
        }
    }
    daemon.until(
        "10,000 manifests read and applied",
        Duration::from_secs(300),
        |daemon| {
            daemon.metric("jobctl_changes_total{action=\"create\"}") == 10_000.0
                && daemon.metric("jobctl_manifests") == 10_000.0
                && daemon.get("/readyz").0 == 200
        },
    );
    assert_eq!(daemon.get("/healthz").0, 200);
    let passes = daemon.metric("jobctl_reconciles_total") - before;
    assert!(
        passes <= 4.0,
        "{passes} passes for one burst of 10,000 files"
    );
    let created = endpoint.state()["scopes"][SCOPE]["jobs"]
        .as_object()
        .map_or(0, serde_json::Map::len);
    assert_eq!(created, 10_000);
}

/// With `--prune`, each undeclared job's tags are read once to learn that it is someone
/// else's; later passes do not read them again (1,000 foreign jobs would cost 100 s of
/// ListTagsForResource per pass at AWS's 10 TPS). SIGHUP forgets what was learned.
#[test]
fn the_daemon_reads_a_foreign_jobs_tags_once_not_on_every_pass() {
    let (endpoint, dir, jobs) = setup(&[]);
    let group = "arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet";
    let foreign = 5;
    for i in 0..foreign {
        let body = format!(
            r#"{{"targets":["{group}"],"document":"{{\"op\":\"theirs\"}}","tags":[{{"Key":"team","Value":"other"}}]}}"#
        );
        let (status, text) = endpoint.call("PUT", &format!("/jobs/theirs-{i}"), &body);
        assert_eq!(status, 200, "{text}");
    }
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    let daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs", "--prune"]);
    let passes = |d: &Daemon| d.metric("jobctl_reconcile_duration_seconds_count");
    let tag_reads =
        |d: &Daemon| d.metric("jobctl_api_requests_total{operation=\"ListTagsForResource\"");
    until("created", WAIT, || {
        job(&endpoint, "a")["status"] == "IN_PROGRESS" && passes(&daemon) >= 1.0
    });
    std::thread::sleep(Duration::from_millis(500));
    let (passes_before, reads_before) = (passes(&daemon), tag_reads(&daemon));
    assert!(
        reads_before >= f64::from(foreign),
        "the first pass reads every foreign job's tags: {reads_before}"
    );

    std::fs::write(jobs.join("a.yaml"), manifest("a", "two")).expect("edit");
    until("the edit applied", WAIT, || {
        job(&endpoint, "a")["description"] == "two" && passes(&daemon) > passes_before
    });
    std::thread::sleep(Duration::from_millis(500));
    let (passes_edit, reads_edit) = (passes(&daemon), tag_reads(&daemon));
    assert!(
        reads_edit - reads_before < f64::from(foreign),
        "{} pass(es) after the first read {} tags; the foreign jobs' were read again",
        passes_edit - passes_before,
        reads_edit - reads_before
    );

    daemon.signal("HUP");
    until("the reload pass ran", WAIT, || {
        passes(&daemon) > passes_edit
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        tag_reads(&daemon) - reads_edit >= f64::from(foreign),
        "SIGHUP forgets whose the jobs are, so they are read again"
    );
    for i in 0..foreign {
        assert_eq!(
            job(&endpoint, &format!("theirs-{i}"))["status"],
            "IN_PROGRESS",
            "another team's job is never pruned"
        );
    }
}

/// Issue 26: `watch --prune` never cancels a job whose manifest never left. Each of three
/// manifests is renamed away and straight back in a loop, so reads may catch any of them gone;
/// a prune must rest on two reads one settle period apart that agree, with no file event in
/// between. Trials: `JOBCTL_STRESS_TRIALS` (default 2; scripts/stress-prune runs many under CPU
/// load).
#[test]
fn a_rename_storm_never_prunes_a_manifest_that_is_still_there() {
    let trials: usize = std::env::var("JOBCTL_STRESS_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let names = ["j1", "j2", "j3"];
    for trial in 0..trials {
        let (endpoint, dir, jobs) = setup(&[]);
        for name in names {
            std::fs::write(jobs.join(format!("{name}.yaml")), manifest(name, "kept"))
                .expect("write");
        }
        let mut daemon = Daemon::start(&endpoint.url, dir.path(), &["-f", "jobs", "--prune"]);
        daemon.until("created", WAIT, |_| {
            names
                .iter()
                .all(|n| job(&endpoint, n)["status"] == "IN_PROGRESS")
        });
        let storm = Instant::now();
        while storm.elapsed() < Duration::from_secs(4) {
            for name in names {
                let yaml = jobs.join(format!("{name}.yaml"));
                let tmp = jobs.join(format!("{name}.tmp"));
                std::fs::rename(&yaml, &tmp).expect("rename away");
                std::fs::rename(&tmp, &yaml).expect("rename back");
            }
        }
        // Every file is there at the end; the passes the storm started run out.
        std::thread::sleep(Duration::from_secs(2));
        for name in names {
            assert_eq!(
                job(&endpoint, name)["status"],
                "IN_PROGRESS",
                "trial {trial}: {name} was pruned although its manifest never left"
            );
        }
        daemon.signal("TERM");
        let (code, stderr) = daemon.wait(WAIT);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(
            !stderr.contains("action=\"cancel\""),
            "trial {trial}: {stderr}"
        );
    }
}

/// Issue 26: a connection flood cannot take the descriptors a pass needs. The daemon runs
/// with 256 open files at most; 1,000 connections are held open against its HTTP port, then a
/// manifest is added: the pass reads the tree and creates the job (it used to fail with "Too
/// many open files" on the manifest root).
#[test]
fn a_connection_flood_leaves_descriptors_for_the_manifest_tree() {
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    let jobctl = common::jobctl_bin();
    let script = format!(
        "ulimit -n 256 && exec '{}' watch --debounce 150ms --listen-addr 127.0.0.1:0 -f jobs",
        jobctl.display()
    );
    // The harness's environment (credentials, endpoint), under a shell that lowers the limit.
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(&script).current_dir(dir.path());
    let harness = jobctl_command(&[], dir.path(), &[("AWS_ENDPOINT_URL_IOT", &endpoint.url)]);
    sh.env_clear();
    for (k, v) in harness.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    let mut daemon = sh
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("daemon starts");
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    until("a created", WAIT, || {
        job(&endpoint, "a")["status"] == "IN_PROGRESS"
    });
    let mut held = Vec::new();
    for _ in 0..1000 {
        if let Ok(stream) = std::net::TcpStream::connect(&addr) {
            held.push(stream);
        }
    }
    std::fs::write(jobs.join("b.yaml"), manifest("b", "two")).expect("write");
    let created = Instant::now();
    while job(&endpoint, "b")["status"] != "IN_PROGRESS" {
        if created.elapsed() > WAIT {
            let _ = daemon.kill();
            let mut stderr = String::new();
            if let Some(mut err) = daemon.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
            }
            panic!("b was never created while 1,000 connections were held:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(held);
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// Issue 26: a SIGHUP soon after start (a `systemctl reload` right after a start) reloads
/// instead of killing the daemon: the handlers are installed before the arguments are even
/// parsed, so what is left is the loading of the process itself (a few ms). The delays leave
/// room for a loaded CI machine.
#[test]
fn sighup_right_after_start_does_not_kill_the_daemon() {
    let (endpoint, dir, jobs) = setup(&[]);
    std::fs::write(jobs.join("a.yaml"), manifest("a", "one")).expect("write");
    for delay_ms in [15, 30, 60] {
        let mut child = jobctl_command(
            &["watch", "--listen-addr", "127.0.0.1:0", "-f", "jobs"],
            dir.path(),
            &[("AWS_ENDPOINT_URL_IOT", endpoint.url.as_str())],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("daemon starts");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let status = std::process::Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(500));
        let alive = child.try_wait().expect("try_wait").is_none();
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        assert!(
            alive,
            "SIGHUP {delay_ms} ms after start ended the daemon ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
