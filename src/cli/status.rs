//! `jobctl status`: each declared, owned or named job's status, health and progress, once or
//! followed (`--watch`) until every rollout has ended.

use std::time::{Duration, Instant};

use super::args::{
    parse_window, AwsArgs, DeadlineArgs, HealthArgs, InstanceArgs, ManifestArgs, OutputArgs,
    WaitArgs,
};
use super::run::{guarded, Deadline};
use super::wait::{self, Follow};
use super::{config, exit};
use crate::aws::IotJobs;
use crate::engine::status::{Options, Subject, Tracker};
use crate::engine::Settings;
use crate::manifest;
use crate::output::style::Colors;
use crate::output::Output;
use crate::report::{Failure, FailureKind, StatusReport};
use crate::shutdown::Shutdown;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Jobs to show by id, whether jobctl owns them or not.
    #[arg(value_name = "JOB_ID")]
    pub job_ids: Vec<String>,
    /// Show every job these manifests declare and every active job this instance owns.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub instance: InstanceArgs,
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
    #[command(flatten)]
    pub output: OutputArgs,
    /// Exit 4 when no job is unhealthy but some are still Progressing or Scheduled.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub async fn run(mut args: Args, colors: Colors, shutdown: Shutdown) -> u8 {
    args.deadline.follows = args.wait.follow;
    let deadline = Deadline::start(args.deadline.limit());
    let out = Output::new(args.output.format(), colors);
    let paths = args.manifests.paths.clone();
    let config_error = |message: String| {
        out.failure(&Failure {
            kind: FailureKind::Config,
            message,
            diagnostics: Vec::new(),
        });
        exit::USAGE
    };
    if paths.is_empty() && args.job_ids.is_empty() {
        return config_error("name jobs by id, or give manifests with -f PATH".into());
    }
    let instance = match config::instance(&args.instance, &paths) {
        Ok(instance) => instance,
        Err(err) => return config_error(err.to_string()),
    };
    let mut diagnostics = Vec::new();
    let mut declared = Vec::new();
    if !paths.is_empty() {
        let set = manifest::load(&paths);
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
    let owner = (!paths.is_empty()).then_some(&settings);
    let started = Instant::now();
    let survey = Tracker::survey(&api, options, declared, named, owner);
    let mut tracker = match guarded(
        deadline,
        &shutdown,
        &api,
        &|| "reading the jobs",
        &|| true,
        survey,
    )
    .await
    {
        Ok(tracker) => tracker,
        Err(mut failure) => {
            failure.diagnostics = diagnostics;
            out.failure(&failure);
            return failure.exit_code();
        }
    };
    let wait = if args.wait.follow {
        let how = Follow {
            api: &api,
            interval: args.wait.interval,
            deadline,
            started,
            shutdown: &shutdown,
        };
        Some(wait::follow(&how, &mut tracker, None).await)
    } else {
        None
    };
    let failing = tracker.read_failing(&api, args.failed);
    let listing = || "listing failing things";
    if let Err(failure) = guarded(deadline, &shutdown, &api, &listing, &|| true, failing).await {
        tracing::warn!("{}; the table shows no failing things", failure.message);
    }
    let calls = api.stats().by_operation();
    tracing::info!(attempts = ?calls, "AWS calls");
    let (jobs, errors) = tracker.into_rows();
    let report = StatusReport {
        instance: (!paths.is_empty()).then_some(instance),
        jobs,
        errors,
        diagnostics,
        finished_within: args.finished_within,
        wait,
        calls,
    };
    out.status(&report);
    exit::of_status(&report, args.detailed_exitcode, &shutdown)
}
