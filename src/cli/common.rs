//! Flags several subcommands share, their resolution into one configuration, and the front half
//! that plan and apply share (load, connect, plan). Flags are plain data: files such as
//! `jobctl.yaml` are read by [`resolve`], never by the clap structs.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use super::exit;
use crate::aws::{Connection, IotJobs};
use crate::engine::{reconcile, Settings};
use crate::manifest::{self, root_config};
use crate::output::files::ReportFiles;
use crate::output::Output;
use crate::report::{Failure, FailureKind, PlanReport};

#[derive(Debug, Clone, clap::Args)]
pub struct ManifestArgs {
    /// A manifest file or a directory of them (read recursively, *.yaml and *.yml). Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// AWS region (default: the standard AWS chain: AWS_REGION, profile).
    #[arg(long, env = "AWS_REGION", hide_env_values = true)]
    pub region: Option<String>,
    /// Named profile from the AWS config files.
    #[arg(long, env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,
    /// Send requests to this endpoint instead of AWS (AWS_ENDPOINT_URL_IOT and AWS_ENDPOINT_URL
    /// work too).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Calls per second allowed for each AWS operation; 0 turns pacing off.
    #[arg(long, value_name = "TPS", default_value_t = crate::aws::ratelimit::DEFAULT_TPS, value_parser = parse_tps)]
    pub rate_limit: f64,
    /// Per-operation rate, e.g. `--rate CreateJob=5`. Repeatable.
    #[arg(long = "rate", value_name = "OPERATION=TPS", value_parser = parse_rate)]
    pub rates: Vec<(String, f64)>,
    /// Concurrent AWS calls at most.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Attempts per call, the first included, when AWS throttles or fails with 5xx.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

/// Calls per second: 0 (no pacing) or 0.001 to 100,000.
fn parse_tps(text: &str) -> Result<f64, String> {
    let tps: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of calls per second"))?;
    if tps == 0.0 || (0.001..=100_000.0).contains(&tps) {
        Ok(tps)
    } else {
        Err(format!(
            "`{text}` must be 0 (no pacing) or between 0.001 and 100000"
        ))
    }
}

fn parse_rate(text: &str) -> Result<(String, f64), String> {
    let (op, tps) = text
        .split_once('=')
        .ok_or_else(|| format!("expected OPERATION=TPS, got `{text}`"))?;
    let tps = parse_tps(tps)?;
    if op.is_empty() || !op.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("`{op}` is not an operation name such as CreateJob"));
    }
    Ok((op.to_string(), tps))
}

/// Extra report files, written besides what `--output` prints, so that one run (one read of the
/// account) feeds a log, a job summary, a pull-request comment and an artifact.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReportArgs {
    /// Also write the JSON report (exactly what `--output json` prints) to this file.
    #[arg(long, value_name = "PATH")]
    pub json_file: Option<PathBuf>,
    /// Also write the complete Markdown report to this file.
    #[arg(long, value_name = "PATH")]
    pub markdown_file: Option<PathBuf>,
    /// Also write the Markdown report to this file, cut to fit a GitHub job summary (1 MiB), for
    /// appending to $GITHUB_STEP_SUMMARY.
    #[arg(long, value_name = "PATH")]
    pub summary_file: Option<PathBuf>,
    /// Also write the Markdown report to this file, cut to fit a GitHub comment (65,536
    /// characters), its first line a hidden marker naming the instance.
    #[arg(long, value_name = "PATH")]
    pub comment_file: Option<PathBuf>,
}

impl ReportArgs {
    pub fn files(&self) -> ReportFiles {
        ReportFiles {
            json: self.json_file.clone(),
            markdown: self.markdown_file.clone(),
            summary: self.summary_file.clone(),
            comment: self.comment_file.clone(),
        }
    }
}

/// Flags that shape what reconciling means, shared by plan, apply and watch so a plan shows
/// exactly what the same apply would do.
#[derive(Debug, Clone, clap::Args)]
pub struct ReconcileArgs {
    /// This jobctl instance's name, stored in the `jobctl:instance` tag of the jobs it creates.
    /// Default: `instance:` from jobctl.yaml at the manifest root, else `default`.
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// Take over existing jobs that manifests name but jobctl does not manage (adds ownership tags).
    #[arg(long)]
    pub adopt: bool,
    /// Allow replacing jobs whose immutable fields changed: cancel (force), delete, re-create.
    /// This re-runs the job on its devices.
    #[arg(long)]
    pub allow_replace: bool,
    /// Cancel this instance's IN_PROGRESS/SCHEDULED jobs that no manifest declares.
    #[arg(long)]
    pub prune: bool,
    /// Like --prune, and also cancel executions already in progress on devices (force).
    #[arg(long)]
    pub prune_force: bool,
    /// Delete this instance's finished (COMPLETED/CANCELED) jobs that no manifest declares.
    #[arg(long)]
    pub prune_delete: bool,
    /// Limit the run to this job id. Repeatable.
    #[arg(long = "target", value_name = "JOB_ID")]
    pub targets: Vec<String>,
    /// Also compare declared jobs that have finished (one DescribeJob, GetJobDocument and
    /// ListTagsForResource per job, each run).
    #[arg(long)]
    pub compare_finished: bool,
    #[command(flatten)]
    pub health: HealthArgs,
}

/// How jobs' rollouts are judged (plan, apply, watch and status show health).
#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// Percent of executed things that may fail, be rejected or time out before a job is
    /// Degraded (0-100). A manifest's `metadata.maxFailureRate` overrides it for its job.
    #[arg(long, value_name = "PERCENT", default_value_t = 0.0, value_parser = parse_percent)]
    pub max_failure_rate: f64,
}

/// A percentage, 0 to 100.
fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage such as 5 or 0.5"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` must be between 0 and 100"))
    }
}

/// Following jobs until their rollouts end, and the run's deadline: `apply --wait` and
/// `status --watch` (either spelling works for both).
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Follow the jobs until each is Healthy, Degraded or Aborted (a Degraded job ends the wait
    /// at once, even while it runs), with live progress on stderr. Ctrl-C stops waiting and
    /// never cancels a job.
    #[arg(long = "wait", visible_alias = "watch")]
    pub follow: bool,
    /// How often to read the jobs while following them, and the least time between two
    /// progress lines of a job when stderr is not a terminal (e.g. 10s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_interval)]
    pub interval: std::time::Duration,
    /// Deadline of the whole run (reading, applying and waiting), e.g. 30m or 1h30m; exit 3 when
    /// it passes. Default: none with --wait/--watch, 30m otherwise.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
}

/// A duration in Go/Kubernetes style (`1m30s`, `500ms`, `2h`), as humantime reads it.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 30s, 1m30s or 2h: {e}"))
}

/// A polling interval: at least one second, so that a typo cannot flood the API.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = parse_duration(text)?;
    if interval < std::time::Duration::from_secs(1) {
        return Err(format!("`{text}` is too short: poll at most once a second"));
    }
    Ok(interval)
}

/// A reconcile run's configuration, resolved once: what to read, how to reconcile, how to
/// reach AWS.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub paths: Vec<PathBuf>,
    pub settings: Settings,
    pub connection: Connection,
}

/// Merges the flags and the roots' `jobctl.yaml` into one configuration.
pub fn resolve(
    manifests: &ManifestArgs,
    aws: &AwsArgs,
    reconcile: &ReconcileArgs,
) -> Result<RunConfig, root_config::ConfigError> {
    let instance = root_config::instance(reconcile.instance.as_deref(), &manifests.paths)?;
    let settings = Settings {
        instance,
        adopt: reconcile.adopt,
        allow_replace: reconcile.allow_replace,
        prune: reconcile.prune || reconcile.prune_force,
        prune_force: reconcile.prune_force,
        prune_delete: reconcile.prune_delete,
        compare_finished: reconcile.compare_finished,
        only: (!reconcile.targets.is_empty())
            .then(|| reconcile.targets.iter().cloned().collect::<BTreeSet<_>>()),
        parallelism: usize::from(aws.parallelism),
        max_failure_rate: reconcile.health.max_failure_rate,
    };
    let connection = Connection {
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        max_attempts: aws.max_attempts,
        default_tps: aws.rate_limit,
        tps_overrides: aws.rates.iter().cloned().collect::<HashMap<_, _>>(),
    };
    Ok(RunConfig {
        paths: manifests.paths.clone(),
        settings,
        connection,
    })
}

/// The front half of plan and apply: resolve, load (problems shown at once), connect, plan. A
/// failure is rendered here and returned as the exit code.
pub async fn prepare(
    manifests: &ManifestArgs,
    aws: &AwsArgs,
    reconcile: &ReconcileArgs,
    out: &Output,
) -> Result<(IotJobs, PlanReport, Settings), u8> {
    let config = resolve(manifests, aws, reconcile).map_err(|err| {
        out.failure(&Failure {
            kind: FailureKind::Config,
            message: err.to_string(),
            diagnostics: Vec::new(),
        });
        exit::USAGE
    })?;
    let mut set = manifest::load(&config.paths);
    out.loaded(&set.diagnostics);
    let api = match IotJobs::connect(&config.connection).await {
        Ok(api) => api,
        Err(err) => {
            out.failure(&Failure {
                kind: FailureKind::Connect,
                message: err.to_string(),
                diagnostics: set.diagnostics,
            });
            return Err(exit::ERROR);
        }
    };
    let incomplete = set.incomplete_reason();
    let jobs = std::mem::take(&mut set.jobs);
    let planned = reconcile::plan(&api, jobs, incomplete, &config.settings).await;
    let report = PlanReport::new(config.settings.instance.clone(), set.diagnostics, planned);
    Ok((api, report, config.settings))
}
