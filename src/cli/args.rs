//! The flags several subcommands share, each declared once: `-f`, `--instance`, `-o`, the AWS
//! connection, the run's deadline, what reconciling means, report files and following. Flags
//! are plain data; `config` resolves them (with `jobctl.yaml` and the environment) into the one
//! configuration the engine reads. A command that needs `-f` makes it required with
//! `#[command(mut_arg("paths", ...))]` rather than declaring it again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::aws::Connection;
use crate::output::files::ReportFiles;
use crate::output::Format;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ManifestArgs {
    /// A manifest file or a directory of them (read recursively, *.yaml and *.yml). Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct InstanceArgs {
    /// This jobctl instance's name, stored in the `jobctl:instance` tag of the jobs it creates.
    /// Default: `instance:` from jobctl.yaml at the manifest root, else `default`.
    #[arg(
        id = "instance",
        long = "instance",
        value_name = "NAME",
        env = "JOBCTL_INSTANCE"
    )]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
}

impl OutputArgs {
    pub fn format(&self) -> Format {
        Format::resolve(self.output)
    }
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "AWS connection")]
pub struct AwsArgs {
    /// AWS region (default: the standard AWS chain: AWS_REGION, AWS_DEFAULT_REGION, the
    /// profile's `region`).
    #[arg(long, env = "AWS_REGION", hide_env_values = true)]
    pub region: Option<String>,
    /// Named profile from the AWS config files.
    #[arg(long, env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,
    /// Send requests to this endpoint instead of AWS (AWS_ENDPOINT_URL_IOT and AWS_ENDPOINT_URL
    /// work too).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Trust only the CA certificates in this PEM bundle for TLS, as the AWS CLI's --ca-bundle
    /// (default: the profile's `ca_bundle`, else the system's roots).
    #[arg(long, value_name = "PATH", env = "AWS_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// How long to wait for a connection, per HTTP attempt (e.g. 5s, 1m30s); see --read-timeout
    /// for how long one call can take in all.
    #[arg(long, value_name = "DURATION", env = "JOBCTL_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// How long to wait for an answer's head, and then again for its body, per HTTP attempt
    /// (e.g. 20s, 1m). Timeouts apply per attempt and a call makes up to --max-attempts of them,
    /// so a silent endpoint holds one call for at most attempts × (--connect-timeout +
    /// --read-timeout) + --read-timeout, plus up to 3s of backoff: about 2m30s at the defaults.
    /// --timeout bounds the whole run.
    #[arg(long, value_name = "DURATION", env = "JOBCTL_READ_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub read_timeout: Duration,
    /// Calls per second allowed for each AWS operation; 0 turns pacing off.
    #[arg(long, value_name = "TPS", env = "JOBCTL_RATE_LIMIT", default_value_t = crate::aws::ratelimit::DEFAULT_TPS, value_parser = parse_tps)]
    pub rate_limit: f64,
    /// Per-operation rate, e.g. `--rate CreateJob=5`. Repeatable.
    #[arg(long = "rate", value_name = "OPERATION=TPS", value_parser = parse_rate)]
    pub rates: Vec<(String, f64)>,
    /// Concurrent AWS calls at most.
    #[arg(long, value_name = "N", env = "JOBCTL_PARALLELISM", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Attempts per call, the first included, when AWS throttles or fails with 5xx. Overrides
    /// AWS_MAX_ATTEMPTS, AWS_RETRY_MODE and the profile's retry settings; without any of them,
    /// 5.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,
}

/// The deadline of a whole run, for the commands that have one (not the daemon).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "AWS connection")]
pub struct DeadlineArgs {
    /// Give up when the whole run (reading the account, applying, and with --wait/--watch the
    /// waiting) takes longer than this, and exit 3 saying what it was waiting for (e.g. 10m,
    /// 1h30m) [default: 30m; no deadline with --wait/--watch].
    #[arg(long, value_name = "DURATION", env = "JOBCTL_TIMEOUT", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Set by a command whose `--wait`/`--watch` is on: it has no default deadline.
    #[arg(skip)]
    pub follows: bool,
}

impl DeadlineArgs {
    /// The run's deadline: `--timeout` when given; otherwise 30m for a command that does not
    /// wait, none for one that follows rollouts (decisions.md, "Time flags").
    pub fn limit(&self) -> Option<Duration> {
        self.timeout
            .or_else(|| (!self.follows).then_some(DEFAULT_TIMEOUT))
    }
}

/// The deadline of a command that does not wait for rollouts.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A duration as Go and Kubernetes write them (`1m30s`, `500ms`, `2h`, through humantime), or
/// plain seconds (`30`), for timeouts and intervals: at most a week, so that adding it to a clock
/// can never overflow.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_any_duration(text)?;
    if duration > Duration::from_secs(7 * 24 * 3600) {
        return Err(format!("`{}` is more than a week", text.trim()));
    }
    Ok(duration)
}

/// A look-back window such as `24h` or `30d` (`status --finished-within`): it is only ever
/// subtracted from the service's time, so it may be long; at most ten years.
pub fn parse_window(text: &str) -> Result<Duration, String> {
    let duration = parse_any_duration(text)?;
    if duration > Duration::from_secs(10 * 366 * 24 * 3600) {
        return Err(format!("`{}` is more than ten years", text.trim()));
    }
    Ok(duration)
}

fn parse_any_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(text).map_err(|e| {
            format!("`{text}` is not a duration such as 500ms, 30s, 1m30s or 2h ({e})")
        }),
    }
}

impl AwsArgs {
    /// How to reach AWS, from these flags.
    pub fn connection(&self) -> Connection {
        Connection {
            // The Rust SDK reads AWS_REGION only; the AWS CLI also reads AWS_DEFAULT_REGION,
            // before the profile's region, and so does jobctl.
            region: self.region.clone().or_else(|| {
                std::env::var("AWS_DEFAULT_REGION")
                    .ok()
                    .filter(|r| !r.is_empty())
            }),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: self.max_attempts,
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            ca_bundle: self.ca_bundle.clone(),
            default_tps: self.rate_limit,
            tps_overrides: self.rates.iter().cloned().collect::<HashMap<_, _>>(),
        }
    }
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
    #[command(flatten)]
    pub instance: InstanceArgs,
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
    /// Prune even when a manifest root yields no manifest (by default such a run never prunes:
    /// an empty checkout would otherwise cancel every job).
    #[arg(long)]
    pub allow_empty: bool,
    /// Refuse to run when the plan would prune more than N jobs and job templates together
    /// (apply changes nothing; the daemon applies the rest and reports the prune as blocked).
    #[arg(long, value_name = "N")]
    pub max_prune: Option<usize>,
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

impl ReconcileArgs {
    /// The flags given that shape a plan (all of them but `--instance`), by name: `apply FILE`
    /// refuses them, since a saved plan's options are the ones it was planned with.
    pub fn plan_shaping_given(&self) -> Vec<&'static str> {
        let given = [
            (self.adopt, "--adopt"),
            (self.allow_replace, "--allow-replace"),
            (self.prune, "--prune"),
            (self.prune_force, "--prune-force"),
            (self.prune_delete, "--prune-delete"),
            (self.allow_empty, "--allow-empty"),
            (self.max_prune.is_some(), "--max-prune"),
            (!self.targets.is_empty(), "--target"),
            (self.compare_finished, "--compare-finished"),
            (self.health.max_failure_rate != 0.0, "--max-failure-rate"),
        ];
        given
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
    }
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

/// Following jobs until their rollouts end: `apply --wait` and `status --watch` (either
/// spelling works for both). Their deadline is the run's `--timeout` ([`DeadlineArgs`]).
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
}

/// A polling interval: at least one second, so that a typo cannot flood the API.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = parse_duration(text)?;
    if interval < std::time::Duration::from_secs(1) {
        return Err(format!("`{text}` is too short: poll at most once a second"));
    }
    Ok(interval)
}
