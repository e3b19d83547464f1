//! `jobctl status`: each declared, owned or named job's status, health and progress, once or
//! followed (`--watch`) until every rollout has ended.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::common::{parse_window, within, AwsArgs, Deadline, DeadlineArgs, HealthArgs, WaitArgs};
use super::exit;
use crate::aws::IotJobs;
use crate::engine::status::{Options, Subject, Tracker};
use crate::engine::Settings;
use crate::manifest::{self, root_config};
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
    #[command(flatten)]
    pub deadline: DeadlineArgs,
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

pub async fn run(mut args: Args, colors: Colors) -> u8 {
    args.deadline.follows = args.wait.follow;
    let deadline = Deadline::start(args.deadline.limit());
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
    let survey = Tracker::survey(&api, options, declared, named, owner);
    let mut tracker = match within(deadline, &api, "reading the jobs", survey).await {
        Ok(tracker) => tracker,
        Err(mut failure) => {
            failure.diagnostics = diagnostics;
            out.failure(&failure);
            return exit::TIMEOUT;
        }
    };
    let wait = if args.wait.follow {
        Some(
            super::wait::follow(
                &api,
                &mut tracker,
                args.wait.interval,
                deadline,
                started,
                None,
            )
            .await,
        )
    } else {
        None
    };
    if within(
        deadline,
        &api,
        "listing failing things",
        tracker.read_failing(&api, args.failed),
    )
    .await
    .is_err()
    {
        tracing::warn!("--timeout passed while listing failing things; the table shows none");
    }
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

/// 1 for errors, unhealthy jobs and Halted rollouts, 3 when the wait timed out, 130 when Ctrl-C stopped it, 4
/// (with `--detailed-exitcode`) while some job is still Progressing or Scheduled, else 0.
pub fn exit_code(report: &StatusReport, detailed: bool) -> u8 {
    if report.has_errors()
        || report.unhealthy().next().is_some()
        || report.halted_rollouts().next().is_some()
    {
        exit::ERROR
    } else if report.wait == Some(WaitOutcome::TimedOut) {
        exit::TIMEOUT
    } else if report.wait == Some(WaitOutcome::Interrupted) {
        exit::SIGINT
    } else if detailed && report.in_progress().next().is_some() {
        exit::PROGRESSING
    } else {
        exit::OK
    }
}
