//! `jobctl status` in every format: the status table (text, Markdown), its JSON contract, and
//! the one-line progress of a job that `--watch` prints when stderr is not a terminal.

use std::time::Duration;

use serde::Serialize;

use super::markdown;
use super::style::{self, Paint};
use crate::domain::JobProcessDetails;
use crate::engine::health::Health;
use crate::engine::refresh::JobError;
use crate::engine::rollout::{Phase, StageView};
use crate::engine::status::{FailingThing, JobHealth, RolloutHealth, Why};
use crate::manifest::diagnostic::sanitize;
use crate::report::{StatusReport, WaitOutcome};

/// Cells of the progress bar.
const BAR: usize = 20;

/// The report as one JSON object (`version` 1; README "jobctl status").
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusJson<'a> {
    pub version: u32,
    pub jobs: Vec<JobJson<'a>>,
    pub summary: SummaryJson,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub errors: &'a [JobError],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitOutcome>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub calls: &'a std::collections::BTreeMap<String, u64>,
}

/// One job: the flat counts are named as DescribeJob's `jobProcessDetails` names them, and are
/// `null` when the job was not read (not in the account, or finished long ago).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobJson<'a> {
    pub job_id: &'a str,
    /// AWS's status; `null` when the job is not in the account.
    pub status: Option<String>,
    /// One of the six health names; `null` for a COMPLETED job whose counts were not read.
    pub health: Option<Health>,
    pub why: Why,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a str>,
    pub number_of_queued_things: Option<u64>,
    pub number_of_in_progress_things: Option<u64>,
    pub number_of_succeeded_things: Option<u64>,
    pub number_of_failed_things: Option<u64>,
    pub number_of_rejected_things: Option<u64>,
    pub number_of_timed_out_things: Option<u64>,
    pub number_of_canceled_things: Option<u64>,
    pub number_of_removed_things: Option<u64>,
    pub job_process_details: Option<&'a JobProcessDetails>,
    /// succeeded / executed × 100; `null` before anything executed.
    pub success_rate: Option<f64>,
    pub failure_rate: Option<f64>,
    pub max_failure_rate: f64,
    /// Seconds left, by the service's clock; `null` when unknown.
    pub eta_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub failed_things: &'a [FailingThing],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a JobError>,
    /// A declared `kind: Rollout`: phase, current stage, summary and each stage's numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<&'a RolloutHealth>,
}

/// How many jobs have each health.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryJson {
    pub total: usize,
    pub by_health: std::collections::BTreeMap<&'static str, usize>,
    /// Finished jobs that were listed, not read (their counts never change).
    pub not_read: usize,
}

pub fn json(report: &StatusReport) -> StatusJson<'_> {
    let jobs = report.jobs.iter().map(job_json).collect();
    let by_health = report
        .tally()
        .into_iter()
        .filter_map(|(h, n)| h.map(|h| (h.as_str(), n)))
        .collect();
    StatusJson {
        version: super::json::VERSION,
        jobs,
        summary: SummaryJson {
            total: report.jobs.len(),
            by_health,
            not_read: report.not_read().count(),
        },
        errors: &report.errors,
        wait: report.wait,
        calls: &report.calls,
    }
}

fn job_json(job: &JobHealth) -> JobJson<'_> {
    let d = job.progress.as_ref().map(|p| &p.details);
    JobJson {
        job_id: &job.job_id,
        status: job.status.as_ref().map(ToString::to_string),
        health: job.health,
        why: job.why,
        source: job.source.as_deref(),
        number_of_queued_things: d.map(|d| d.number_of_queued_things),
        number_of_in_progress_things: d.map(|d| d.number_of_in_progress_things),
        number_of_succeeded_things: d.map(|d| d.number_of_succeeded_things),
        number_of_failed_things: d.map(|d| d.number_of_failed_things),
        number_of_rejected_things: d.map(|d| d.number_of_rejected_things),
        number_of_timed_out_things: d.map(|d| d.number_of_timed_out_things),
        number_of_canceled_things: d.map(|d| d.number_of_canceled_things),
        number_of_removed_things: d.map(|d| d.number_of_removed_things),
        job_process_details: d,
        success_rate: job.success_rate,
        failure_rate: job.failure_rate,
        max_failure_rate: job.max_failure_rate,
        eta_seconds: job.eta_seconds,
        reason_code: job.progress.as_ref().and_then(|p| p.reason_code.as_deref()),
        failed_things: &job.failing,
        error: job.error.as_ref(),
        rollout: job.rollout.as_ref(),
    }
}

/// The cells of one row, shared by the text and Markdown tables.
struct Row {
    job_id: String,
    status: String,
    health: String,
    bar: String,
    counts: String,
    success: String,
    eta: String,
}

fn row(job: &JobHealth) -> Row {
    let details = job.progress.as_ref().map(|p| &p.details);
    Row {
        job_id: job.job_id.clone(),
        status: job
            .status
            .as_ref()
            .map_or_else(|| "-".to_string(), ToString::to_string),
        health: job
            .health
            .map_or_else(|| "(not read)".to_string(), |h| h.to_string()),
        bar: details.map_or_else(String::new, bar),
        counts: details.map_or_else(String::new, counts),
        success: job
            .success_rate
            .map_or_else(|| "-".to_string(), |r| format!("{r:.1}%")),
        eta: eta(job.eta_seconds),
    }
}

/// `[####x>..    ]`: succeeded, failed (rejected, timed out), in progress, queued, out of every
/// thing notified.
pub fn bar(d: &JobProcessDetails) -> String {
    let total = d.notified();
    let cells = |n: u64| -> usize {
        (n * BAR as u64)
            .checked_div(total)
            .map_or(0, |c| usize::try_from(c).unwrap_or(BAR))
    };
    let parts = [
        (cells(d.number_of_succeeded_things), '#'),
        (cells(d.failures()), 'x'),
        (cells(d.number_of_in_progress_things), '>'),
        (cells(d.number_of_queued_things), '.'),
    ];
    let mut out = String::from("[");
    let mut used = 0;
    for (n, c) in parts {
        let n = n.min(BAR - used);
        out.extend(std::iter::repeat_n(c, n));
        used += n;
    }
    out.extend(std::iter::repeat_n(' ', BAR - used));
    out.push(']');
    out
}

/// `812/1000 ✓ 3 ✗ 20 running 165 queued`: succeeded of notified, failures, and what is left.
pub fn counts(d: &JobProcessDetails) -> String {
    let mut out = format!(
        "{}/{} ✓ {} ✗",
        d.number_of_succeeded_things,
        d.notified(),
        d.failures()
    );
    if d.number_of_in_progress_things > 0 {
        out.push_str(&format!(" {} running", d.number_of_in_progress_things));
    }
    if d.number_of_queued_things > 0 {
        out.push_str(&format!(" {} queued", d.number_of_queued_things));
    }
    out
}

/// Whole seconds, humantime style (`2m 10s`); `-` when unknown.
pub fn eta(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s.is_finite() && s >= 0.0 => {
            humantime::format_duration(Duration::from_secs(s.round() as u64)).to_string()
        }
        _ => "-".to_string(),
    }
}

/// ` · Progressing 812/1000 ✓ 3 ✗`: a job's health and progress after its line in a plan
/// (the counts only once some thing was notified); nothing when its counts were not read.
pub fn plan_health(
    health: Option<Health>,
    details: Option<&JobProcessDetails>,
    paint: Paint,
) -> String {
    let Some(health) = health else {
        return String::new();
    };
    let mut out = format!(
        " · {}",
        paint.paint(health_style(Some(health)), health.as_str())
    );
    if let Some(d) = details.filter(|d| d.notified() > 0) {
        out.push_str(&format!(
            " {}/{} ✓ {} ✗",
            d.number_of_succeeded_things,
            d.notified(),
            d.failures()
        ));
    }
    out
}

fn health_style(health: Option<Health>) -> anstyle::Style {
    match health {
        Some(Health::Healthy) => style::ADDED,
        Some(Health::Degraded | Health::Aborted | Health::Missing) => style::DANGER,
        Some(Health::Progressing | Health::Scheduled) => style::CHANGED,
        None => style::FAINT,
    }
}

/// The status table for people.
pub fn text(report: &StatusReport, paint: Paint) -> String {
    let rows: Vec<Row> = report.jobs.iter().map(row).collect();
    let width = |f: fn(&Row) -> &str, head: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .chain([head.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let w_id = width(|r| &r.job_id, "JOB");
    let w_status = width(|r| &r.status, "STATUS");
    let w_health = width(|r| &r.health, "HEALTH");
    let w_progress = width(|r| &r.bar, "PROGRESS");
    let w_counts = width(|r| &r.counts, "");
    let w_success = width(|r| &r.success, "SUCCESS");
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No jobs to show.\n");
    } else {
        let head = format!(
            "{:w_id$}  {:w_status$}  {:w_health$}  {:w_progress$} {:w_counts$}  {:w_success$}  ETA",
            "JOB", "STATUS", "HEALTH", "PROGRESS", "", "SUCCESS"
        );
        out.push_str(&paint.paint(style::STRONG, head.trim_end()));
        out.push('\n');
    }
    for (job, r) in report.jobs.iter().zip(&rows) {
        let health = format!("{:w_health$}", r.health);
        let line = format!(
            "{:w_id$}  {:w_status$}  {}  {:w_progress$} {:w_counts$}  {:w_success$}  {}",
            r.job_id,
            r.status,
            paint.paint(health_style(job.health), &health),
            r.bar,
            r.counts,
            r.success,
            r.eta
        );
        out.push_str(line.trim_end());
        out.push('\n');
        out.push_str(&details_text(job, paint));
    }
    out.push_str(&summary_text(report));
    out
}

/// A stage's numbers: `14 ✓ 1 ✗ (6.7% failed)`, its soak so far and its approval.
fn stage_numbers(stage: &StageView) -> String {
    let mut out = match &stage.numbers {
        Some(n) => format!(
            "{} ✓ {} ✗ ({:.1}% failed)",
            n.succeeded, n.failures, n.failure_rate
        ),
        None => "-".to_string(),
    };
    if let Some(held) = stage.held_seconds {
        out.push_str(&format!(
            ", gate held {}",
            crate::engine::rollout::short_duration(held)
        ));
    }
    if stage.approved {
        out.push_str(", approved");
    }
    out
}

fn rollout_style(phase: Phase) -> anstyle::Style {
    match phase {
        Phase::Complete => style::ADDED,
        Phase::Halted | Phase::Missing => style::DANGER,
        Phase::Progressing | Phase::Paused => style::CHANGED,
    }
}

/// A rollout under its job's row: its phase and summary, then a line per stage.
fn rollout_text(rollout: &RolloutHealth, paint: Paint) -> String {
    let mut out = format!(
        "    rollout {}: {}\n",
        paint.paint(rollout_style(rollout.phase), rollout.phase.as_str()),
        sanitize(&rollout.summary)
    );
    let w_name = rollout
        .stages
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let numbers: Vec<String> = rollout.stages.iter().map(stage_numbers).collect();
    let w_numbers = numbers.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (stage, numbers) in rollout.stages.iter().zip(&numbers) {
        let gate = stage
            .gate
            .as_deref()
            .map_or_else(|| "no gate".to_string(), |g| format!("gate {g}"));
        let line = format!(
            "      {:w_name$}  {:11}  {numbers:w_numbers$}  {gate}",
            sanitize(&stage.name),
            stage.phase.as_str(),
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What follows a job's row: its rollout's stages, why it is unhealthy, its failing things, a
/// read that failed.
fn details_text(job: &JobHealth, paint: Paint) -> String {
    let mut out = String::new();
    if let Some(rollout) = &job.rollout {
        out.push_str(&rollout_text(rollout, paint));
    }
    if let Some(progress) = &job.progress {
        if job.health == Some(Health::Aborted) {
            let by = match progress.reason_code.as_deref() {
                Some(code) => format!("canceled ({})", sanitize(code)),
                None => "canceled by hand".to_string(),
            };
            out.push_str(&format!("    {by}\n"));
        }
    }
    for thing in &job.failing {
        out.push_str(&format!("    {}\n", failing_text(thing, paint)));
    }
    if let Some(err) = &job.error {
        out.push_str(&format!(
            "    {} {}\n",
            paint.paint(style::ERROR, "error:"),
            sanitize(&err.message)
        ));
    }
    out
}

fn failing_text(thing: &FailingThing, paint: Paint) -> String {
    let details: Vec<String> = thing
        .status_details
        .iter()
        .map(|(k, v)| format!("{}={}", sanitize(k), sanitize(v)))
        .collect();
    format!(
        "{} {} {} {}",
        paint.paint(style::DANGER, "✗"),
        sanitize(&thing.thing_name),
        thing.status,
        details.join(" ")
    )
    .trim_end()
    .to_string()
}

/// `3 jobs: 1 Healthy, 1 Progressing, 1 Degraded.` and how the wait ended.
pub fn summary_text(report: &StatusReport) -> String {
    let tally: Vec<String> = report
        .tally()
        .into_iter()
        .map(|(h, n)| match h {
            Some(h) => format!("{n} {h}"),
            None => format!("{n} not read"),
        })
        .collect();
    let jobs = report.jobs.len();
    let mut out = format!(
        "\n{jobs} job{}{}{}.\n",
        if jobs == 1 { "" } else { "s" },
        if tally.is_empty() { "" } else { ": " },
        tally.join(", ")
    );
    for err in &report.errors {
        out.push_str(&format!(
            "error: {}: {}\n",
            err.resource,
            sanitize(&err.message)
        ));
    }
    for job in report.unhealthy() {
        if let Some(h) = job.health {
            out.push_str(&format!("{} is {h}\n", job.job_id));
        }
    }
    for job in report.halted_rollouts() {
        out.push_str(&format!("rollout {} is Halted\n", job.job_id));
    }
    match report.wait {
        Some(WaitOutcome::TimedOut) => {
            out.push_str("Timed out waiting for the jobs; they keep running.\n");
        }
        Some(WaitOutcome::Interrupted) => {
            out.push_str("Stopped waiting; the jobs keep running.\n");
        }
        Some(WaitOutcome::Finished) | None => {}
    }
    out
}

/// A rollout's stages as a Markdown table.
fn rollout_markdown(job_id: &str, rollout: &RolloutHealth) -> String {
    let mut out = format!(
        "\n**Rollout {}: {}** · {}\n\n",
        markdown::code(job_id),
        rollout.phase.as_str(),
        markdown::text(&rollout.summary)
    );
    if rollout.stages.is_empty() {
        return out;
    }
    out.push_str("| Stage | Phase | Numbers | Gate |\n|---|---|---|---|\n");
    for stage in &rollout.stages {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            markdown::code(&stage.name),
            stage.phase.as_str(),
            markdown::text(&stage_numbers(stage)),
            stage
                .gate
                .as_deref()
                .map_or_else(|| "-".to_string(), markdown::text)
        ));
    }
    out
}

/// The status table in Markdown (job summaries, comments).
pub fn markdown(report: &StatusReport) -> String {
    let mut out = String::from("### jobctl status\n\n");
    if report.jobs.is_empty() {
        out.push_str("No jobs to show.\n");
    } else {
        out.push_str("| Job | Status | Health | Progress | Success | ETA |\n");
        out.push_str("|---|---|---|---|---:|---:|\n");
        for job in &report.jobs {
            let r = row(job);
            out.push_str(&format!(
                "| {} | {} | **{}** | {} | {} | {} |\n",
                markdown::code(&r.job_id),
                r.status,
                r.health,
                markdown::text(&r.counts),
                r.success,
                r.eta
            ));
        }
    }
    let failing: Vec<&JobHealth> = report
        .jobs
        .iter()
        .filter(|j| !j.failing.is_empty())
        .collect();
    for job in failing {
        out.push_str(&format!(
            "\n**Failing things of {}**\n\n",
            markdown::code(&job.job_id)
        ));
        for thing in &job.failing {
            out.push_str(&format!(
                "- {}\n",
                markdown::text(&failing_text(thing, Paint::PLAIN))
            ));
        }
    }
    for job in report.jobs.iter().filter(|j| j.rollout.is_some()) {
        out.push_str(&rollout_markdown(
            &job.job_id,
            job.rollout.as_ref().expect("rollout"),
        ));
    }
    for line in summary_text(report).lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&markdown::text(line));
            out.push_str("  \n");
        }
    }
    out
}

/// One plain line per job for logs (`--watch` when stderr is not a terminal): no carriage
/// returns, no cursor movement.
pub fn progress_line(job: &JobHealth, elapsed: Duration) -> String {
    let r = row(job);
    let elapsed = humantime::format_duration(Duration::from_secs(elapsed.as_secs()));
    let mut line = format!("[{elapsed}] {} {} {}", r.job_id, r.health, r.counts);
    if job.eta_seconds.is_some() {
        line.push_str(&format!(" eta {}", r.eta));
    }
    line.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ExecutionStatus, JobProgress, JobStatus};

    #[test]
    fn bar_fills_by_state() {
        let d = JobProcessDetails {
            number_of_succeeded_things: 10,
            number_of_failed_things: 5,
            number_of_in_progress_things: 5,
            number_of_queued_things: 20,
            ..JobProcessDetails::default()
        };
        assert_eq!(bar(&d), "[#####xx>>.......... ]");
        assert_eq!(
            bar(&JobProcessDetails::default()),
            format!("[{}]", " ".repeat(BAR))
        );
    }

    fn job(
        id: &str,
        status: JobStatus,
        health: Option<Health>,
        d: Option<JobProcessDetails>,
    ) -> JobHealth {
        let success_rate = d.as_ref().and_then(crate::engine::health::success_rate);
        JobHealth {
            job_id: id.into(),
            why: Why::Declared,
            source: Some(format!("jobs/{id}.yaml:4:9")),
            status: Some(status),
            health,
            progress: d.map(|details| JobProgress {
                details,
                ..JobProgress::default()
            }),
            target_selection: None,
            max_failure_rate: 0.0,
            success_rate,
            failure_rate: None,
            eta_seconds: None,
            failing: Vec::new(),
            error: None,
            rollout: None,
        }
    }

    fn report() -> StatusReport {
        let running = JobProcessDetails {
            number_of_succeeded_things: 812,
            number_of_failed_things: 3,
            number_of_in_progress_things: 20,
            number_of_queued_things: 165,
            ..JobProcessDetails::default()
        };
        let done = JobProcessDetails {
            number_of_succeeded_things: 300,
            ..JobProcessDetails::default()
        };
        let bad = JobProcessDetails {
            number_of_succeeded_things: 8,
            number_of_failed_things: 12,
            number_of_canceled_things: 280,
            ..JobProcessDetails::default()
        };
        let mut progressing = job(
            "bulb-fw-4-2-0",
            JobStatus::InProgress,
            Some(Health::Progressing),
            Some(running),
        );
        progressing.eta_seconds = Some(130.0);
        let mut aborted = job(
            "bulb-fw-4-2-1",
            JobStatus::Canceled,
            Some(Health::Aborted),
            Some(bad),
        );
        if let Some(p) = aborted.progress.as_mut() {
            p.reason_code = Some("ABORT_CRITERIA_MET".into());
        }
        aborted.failing = vec![FailingThing {
            thing_name: "BulbsCanary-0003".into(),
            thing_arn: "arn:aws:iot:us-east-1:123456789012:thing/BulbsCanary-0003".into(),
            status: ExecutionStatus::Failed,
            execution_number: Some(1),
            status_details: [("reason".to_string(), "checksum mismatch".to_string())].into(),
        }];
        let mut healthy = job(
            "bulb-fw-4-1-9",
            JobStatus::Completed,
            Some(Health::Healthy),
            Some(done),
        );
        healthy.eta_seconds = Some(0.0);
        let mut missing = job(
            "night-mode",
            JobStatus::InProgress,
            Some(Health::Missing),
            None,
        );
        missing.status = None;
        StatusReport {
            instance: Some("prod".into()),
            jobs: vec![
                progressing,
                aborted,
                healthy,
                job("old-fw", JobStatus::Completed, None, None),
                missing,
            ],
            errors: Vec::new(),
            diagnostics: Vec::new(),
            finished_within: Duration::from_secs(86_400),
            wait: None,
            calls: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn status_table_text() {
        insta::assert_snapshot!(text(&report(), Paint::PLAIN));
    }

    fn rollout_report(phase: Phase) -> StatusReport {
        use crate::engine::rollout::{StageNumbers, StagePhase};
        let d = JobProcessDetails {
            number_of_succeeded_things: 24,
            number_of_failed_things: 1,
            number_of_in_progress_things: 3,
            number_of_queued_things: 2,
            ..JobProcessDetails::default()
        };
        let mut job = job(
            "bulb-fw-4-2-0",
            JobStatus::InProgress,
            Some(Health::Progressing),
            Some(d),
        );
        let stage =
            |name: &str, phase, numbers: Option<(u64, u64)>, gate: Option<&str>| StageView {
                name: name.into(),
                phase,
                numbers: numbers.map(|(s, f)| StageNumbers {
                    succeeded: s,
                    failures: f,
                    executed: s + f,
                    population: s + f,
                    failure_rate: if s + f == 0 {
                        0.0
                    } else {
                        f as f64 * 100.0 / (s + f) as f64
                    },
                }),
                started_at: numbers.map(|_| 1_000),
                gate: gate.map(Into::into),
                held_seconds: None,
                approved: false,
            };
        let mut wave = stage(
            "wave1",
            StagePhase::Progressing,
            Some((14, 1)),
            Some("20 succeeded at ≤ 10% failed for 30m, with approval"),
        );
        wave.held_seconds = Some(300);
        wave.approved = true;
        job.rollout = Some(RolloutHealth {
            phase,
            stage: "wave1".into(),
            summary: "`fleet` starts when `wave1` holds 20 succeeded at ≤ 10% failed for 30m, with approval: now 14/20, 6.7%, 5m of 30m".into(),
            stages: vec![
                stage(
                    "canary",
                    StagePhase::Promoted,
                    Some((10, 0)),
                    Some("10 succeeded at ≤ 2% failed for 10m"),
                ),
                wave,
                stage("fleet", StagePhase::Pending, None, None),
            ],
        });
        let mut report = report();
        report.jobs = vec![job];
        report
    }

    #[test]
    fn status_table_text_with_a_rollout() {
        insta::assert_snapshot!(text(&rollout_report(Phase::Progressing), Paint::PLAIN));
    }

    /// `apply --wait`'s closing table: the rollout's stages under its job's row.
    #[test]
    fn apply_wait_table_text_with_a_rollout() {
        use crate::engine::reconcile::{Applied, Planned};
        use crate::output::Render;
        use crate::report::{ApplyReport, PlanReport, Scope};
        let report = ApplyReport {
            plan: PlanReport::new(Scope::default(), Vec::new(), Planned::default()),
            applied: Applied::Results(Vec::new()),
            calls: std::collections::BTreeMap::new(),
            wait: Some(rollout_report(Phase::Paused)),
            rollouts: Vec::new(),
            stopped: None,
        };
        let colors = crate::output::style::Colors {
            stdout: false,
            stderr: false,
        };
        let screen = crate::output::text::Text::new(colors, false).apply(&report);
        insta::assert_snapshot!(screen.stdout);
    }

    #[test]
    fn status_rollout_markdown_and_json() {
        let report = rollout_report(Phase::Halted);
        let md = markdown(&report);
        assert!(md.contains("**Rollout `bulb-fw-4-2-0`: Halted**"), "{md}");
        assert!(
            md.contains(
                r"| `wave1` | Progressing | 14 ✓ 1 ✗ \(6\.7\% failed\)\, gate held 5m\, approved |"
            ),
            "{md}"
        );
        assert!(md.contains(r"rollout bulb\-fw\-4\-2\-0 is Halted"), "{md}");
        let value = serde_json::to_value(json(&report)).expect("json");
        let rollout = &value["jobs"][0]["rollout"];
        assert_eq!(rollout["phase"], "Halted");
        assert_eq!(rollout["stage"], "wave1");
        assert_eq!(rollout["stages"][1]["numbers"]["succeeded"], 14);
        assert_eq!(rollout["stages"][1]["approved"], true);
        assert_eq!(rollout["stages"][2]["phase"], "Pending");
    }

    #[test]
    fn status_table_markdown() {
        insta::assert_snapshot!(markdown(&report()));
    }

    #[test]
    fn status_json_names_counts_as_describe_job_does() {
        let value = serde_json::to_value(json(&report())).expect("json");
        let first = &value["jobs"][0];
        assert_eq!(first["numberOfSucceededThings"], 812);
        assert_eq!(first["numberOfQueuedThings"], 165);
        assert_eq!(first["health"], "Progressing");
        assert_eq!(first["etaSeconds"], 130.0);
        assert_eq!(value["jobs"][3]["health"], serde_json::Value::Null);
        assert_eq!(
            value["jobs"][3]["numberOfSucceededThings"],
            serde_json::Value::Null
        );
        assert_eq!(value["summary"]["byHealth"]["Aborted"], 1);
    }

    #[test]
    fn progress_lines_have_no_carriage_returns() {
        let report = report();
        let line = progress_line(&report.jobs[0], Duration::from_secs(75));
        assert_eq!(
            line,
            "[1m 15s] bulb-fw-4-2-0 Progressing 812/1000 ✓ 3 ✗ 20 running 165 queued eta 2m 10s"
        );
    }

    #[test]
    fn eta_is_whole_seconds_or_a_dash() {
        assert_eq!(eta(Some(130.4)), "2m 10s");
        assert_eq!(eta(None), "-");
        assert_eq!(eta(Some(f64::NAN)), "-");
    }
}
