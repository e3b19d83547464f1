//! Requests while the engine catches up (issue 24 item 5): a fleet large enough that the
//! whole rollout falls due at once. A request must not run the backlog itself, and what it
//! answers must stay consistent: the emulated clock never goes back, the counts never exceed
//! the fleet, and the job completes.

mod common;

use std::time::{Duration, Instant};

use common::{group_arn, Emu};
use serde_json::json;

const THINGS: i64 = 50_000;

#[test]
fn describe_job_stays_fast_while_the_engine_catches_up() {
    let emu = Emu::start(&[]);
    // At a million emulated seconds per second, the rollout's 50 minutes and every device's
    // two minutes of work are due within a few wall milliseconds: all of it is backlog.
    emu.fleet(json!({
        "seed": 1,
        "timeScale": 1_000_000,
        "groups": [{"name": "Big", "size": THINGS}],
        "devices": {"pickupSeconds": {"min": 1, "max": 30}, "durationSeconds": {"min": 20, "max": 120}},
    }));
    emu.create_job(
        "big",
        json!({"targets": [group_arn("Big")], "document": "{}"}),
    )
    .ok();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut calls = 0;
    let mut last_now = 0.0;
    let mut done = false;
    while started.elapsed() < Duration::from_secs(60) {
        let t = Instant::now();
        let job = emu.job("big");
        slowest = slowest.max(t.elapsed());
        calls += 1;
        let d = &job["jobProcessDetails"];
        let total: i64 = [
            "numberOfQueuedThings",
            "numberOfInProgressThings",
            "numberOfSucceededThings",
            "numberOfFailedThings",
        ]
        .iter()
        .map(|k| d[*k].as_i64().expect("a count"))
        .sum();
        assert!(total <= THINGS, "{d}");
        let now = emu.now();
        assert!(
            now >= last_now,
            "the clock went back from {last_now} to {now}"
        );
        last_now = now;
        if job["status"] == "COMPLETED" {
            assert_eq!(d["numberOfSucceededThings"], THINGS, "{d}");
            done = true;
            break;
        }
    }
    assert!(done, "not COMPLETED within 60 s after {calls} calls");
    // Before, the first request after CreateJob ran the whole backlog (seconds in a debug
    // build); now a request runs at most a few timers and waits at most one driver slice.
    assert!(
        slowest < Duration::from_millis(250),
        "the slowest of {calls} DescribeJob calls took {slowest:?}"
    );
}
