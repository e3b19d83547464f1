//! `jobctl status`: each declared, owned or named job's status, health and progress, once or
//! followed (`--watch`) until every rollout has ended.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::common::{parse_window, AwsArgs, HealthArgs, WaitArgs};
use super::exit;
use crate::aws::IotJobs;
use crate::engine::health::Health;
use crate::engine::status::{JobHealth, Options, Subject, Tracker};
use crate::engine::Settings;
use crate::manifest::{self, root_config};
use crate::output::status::progress_line;
use crate::output::style::Colors;
use crate::output::{Format, Output};
use crate::report::{Failure, FailureKind, StatusReport, WaitOutcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Jobs to show by id, whether jobctl owns them or not.
    #[arg(value_name = "JOB_ID")]
    pub job_ids: Vec<String>,
    /// Show every job these manifests declare and every active job this instance owns. A file
    /// or a directory; repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// This jobctl instance's name (default: `instance:` from jobctl.yaml, else `default`).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub health: HealthArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// List up to N failing things per job (failed, rejected, timed out) with the status
    /// details their devices reported.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub failed: usize,
    /// Read the counts of declared finished jobs that finished this recently; older ones are
    /// shown from ListJobs alone (their counts never change).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_window)]
    pub finished_within: Duration,
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
    /// Exit 4 when no job is unhealthy but some are still Progressing or Scheduled.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(Format::resolve(args.output), colors);
    let config_error = |message: String| {
        out.failure(&Failure {
            kind: FailureKind::Config,
            message,
            diagnostics: Vec::new(),
        });
        exit::USAGE
    };
    if args.paths.is_empty() && args.job_ids.is_empty() {
        return config_error("name jobs by id, or give manifests with -f PATH".into());
    }
    let instance = match root_config::instance(args.instance.as_deref(), &args.paths) {
        Ok(instance) => instance,
        Err(err) => return config_error(err.to_string()),
    };
    let mut diagnostics = Vec::new();
    let mut declared = Vec::new();
    if !args.paths.is_empty() {
        let set = manifest::load(&args.paths);
        out.loaded(&set.diagnostics);
        declared = set.jobs.iter().map(Subject::declared).collect();
        diagnostics = set.diagnostics;
    }
    let connection = args.aws.connection();
    let api = match IotJobs::connect(&connection).await {
        Ok(api) => api,
        Err(err) => {
            out.failure(&Failure {
                kind: FailureKind::Connect,
                message: err.to_string(),
                diagnostics,
            });
            return exit::ERROR;
        }
    };
    let settings = Settings {
        instance: instance.clone(),
        parallelism: usize::from(args.aws.parallelism),
        max_failure_rate: args.health.max_failure_rate,
        ..Settings::default()
    };
    let options = Options {
        max_failure_rate: args.health.max_failure_rate,
        finished_within: args.finished_within,
        parallelism: usize::from(args.aws.parallelism),
    };
    let named: Vec<Subject> = args.job_ids.iter().map(|id| Subject::named(id)).collect();
    let owner = (!args.paths.is_empty()).then_some(&settings);
    let started = Instant::now();
    let mut tracker = Tracker::survey(&api, options, declared, named, owner).await;
    let wait = if args.wait.follow {
        Some(follow(&api, &mut tracker, &args.wait, started).await)
    } else {
        None
    };
    tracker.read_failing(&api, args.failed).await;
    let calls = api.stats().by_operation();
    tracing::info!(attempts = ?calls, "AWS calls");
    let (jobs, errors) = tracker.into_rows();
    let report = StatusReport {
        instance: (!args.paths.is_empty()).then_some(instance),
        jobs,
        errors,
        diagnostics,
        finished_within: args.finished_within,
        wait,
        calls,
    };
    out.status(&report);
    exit_code(&report, args.detailed_exitcode)
}

/// 1 for errors and unhealthy jobs, 3 when the wait timed out, 4 (with `--detailed-exitcode`)
/// while some job is still Progressing or Scheduled, else 0.
pub fn exit_code(report: &StatusReport, detailed: bool) -> u8 {
    if report.has_errors() || report.unhealthy().next().is_some() {
        exit::ERROR
    } else if report.wait == Some(WaitOutcome::TimedOut) {
        exit::TIMEOUT
    } else if detailed && report.in_progress().next().is_some() {
        exit::PROGRESSING
    } else {
        exit::OK
    }
}

/// Follows the tracker's jobs until each has ended or `--timeout` passes, showing progress on
/// stderr: live bars on a terminal, otherwise one plain line per job that changed, at most
/// once per `--interval`.
pub async fn follow(
    api: &IotJobs,
    tracker: &mut Tracker,
    wait: &WaitArgs,
    started: Instant,
) -> WaitOutcome {
    if tracker.done() {
        return WaitOutcome::Finished;
    }
    eprintln!(
        "Waiting for {} job(s); Ctrl-C stops waiting and never cancels a job.",
        tracker.waiting().count()
    );
    let mut progress = Progress::new(std::io::stderr().is_terminal(), started);
    progress.show(&tracker.rows());
    let mut on_poll = |rows: &[&JobHealth]| progress.show(rows);
    let following = tracker.follow_until_done(api, wait.interval, &mut on_poll);
    // `--timeout` of the waiting, in this code path only, so that it folds into the run-wide
    // deadline (issue 10's `--timeout`) by replacing `wait.timeout` with that one.
    let outcome = match wait.timeout {
        Some(limit) => {
            match tokio::time::timeout(limit.saturating_sub(started.elapsed()), following).await {
                Ok(()) => WaitOutcome::Finished,
                Err(_) => WaitOutcome::TimedOut,
            }
        }
        None => {
            following.await;
            WaitOutcome::Finished
        }
    };
    progress.finish();
    if outcome == WaitOutcome::TimedOut {
        let waiting: Vec<&str> = tracker.waiting().map(|j| j.job_id.as_str()).collect();
        eprintln!(
            "jobctl: --timeout of {} passed while waiting for {} (DescribeJob at {}); the jobs keep running",
            humantime::format_duration(wait.timeout.unwrap_or_default()),
            waiting.join(", "),
            api.endpoint().unwrap_or_else(|| "the endpoint".into())
        );
    }
    outcome
}

/// Progress on stderr while following.
struct Progress {
    started: Instant,
    bars: Option<(
        indicatif::MultiProgress,
        BTreeMap<String, indicatif::ProgressBar>,
    )>,
    /// Plain mode: what each job's last line said.
    last: BTreeMap<String, String>,
}

impl Progress {
    fn new(terminal: bool, started: Instant) -> Self {
        let bars = terminal.then(|| {
            (
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr()),
                BTreeMap::new(),
            )
        });
        Self {
            started,
            bars,
            last: BTreeMap::new(),
        }
    }

    fn show(&mut self, rows: &[&JobHealth]) {
        let elapsed = self.started.elapsed();
        if let Some((multi, bars)) = &mut self.bars {
            for job in rows {
                let bar = bars.entry(job.job_id.clone()).or_insert_with(|| {
                    let style = indicatif::ProgressStyle::with_template(
                        "{prefix:24} [{bar:30}] {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("#>-");
                    let bar = multi.add(indicatif::ProgressBar::new(0));
                    bar.set_style(style);
                    bar.set_prefix(job.job_id.clone());
                    bar
                });
                if let Some(progress) = &job.progress {
                    let d = &progress.details;
                    bar.set_length(d.notified());
                    bar.set_position(d.notified() - d.pending());
                }
                let health = job.health.map_or("", Health::as_str);
                bar.set_message(format!(
                    "{health} eta {}",
                    crate::output::status::eta(job.eta_seconds)
                ));
            }
            return;
        }
        let mut stderr = std::io::stderr().lock();
        for job in rows {
            let line = progress_line(job, elapsed);
            let key = line
                .split_once("] ")
                .map_or(line.as_str(), |(_, rest)| rest);
            if self.last.get(&job.job_id).map(String::as_str) != Some(key) {
                let _ = writeln!(stderr, "{line}");
                self.last.insert(job.job_id.clone(), key.to_string());
            }
        }
    }

    fn finish(&mut self) {
        if let Some((_, bars)) = &self.bars {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}
