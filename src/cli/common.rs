//! Flags several subcommands share, and the steps they share: loading manifests with their
//! diagnostics printed, and connecting to AWS.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::ValueEnum;

use crate::aws::iot::{Connection, IotJobs};
use crate::manifest::{self, ManifestSet};
use crate::output;

use super::Colors;

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
    #[arg(long, value_name = "TPS", default_value_t = crate::aws::ratelimit::DEFAULT_TPS)]
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

fn parse_rate(text: &str) -> Result<(String, f64), String> {
    let (op, tps) = text
        .split_once('=')
        .ok_or_else(|| format!("expected OPERATION=TPS, got `{text}`"))?;
    let tps: f64 = tps
        .parse()
        .map_err(|_| format!("`{tps}` is not a number of calls per second"))?;
    if !(tps >= 0.0 && tps.is_finite()) {
        return Err(format!("`{tps}` must be zero or more"));
    }
    if op.is_empty() || !op.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("`{op}` is not an operation name such as CreateJob"));
    }
    Ok((op.to_string(), tps))
}

impl AwsArgs {
    pub fn connection(&self) -> Connection {
        Connection {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: self.max_attempts,
            default_tps: self.rate_limit,
            tps_overrides: self.rates.iter().cloned().collect::<HashMap<_, _>>(),
        }
    }

    pub async fn connect(&self) -> Result<IotJobs, String> {
        IotJobs::connect(&self.connection()).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Loads manifests and prints their diagnostics to stderr (text mode), so plan and apply show
/// manifest problems the way validate does.
pub fn load_and_report(args: &ManifestArgs, format: OutputFormat, colors: Colors) -> ManifestSet {
    let set = manifest::load(&args.paths);
    if format == OutputFormat::Text && !set.diagnostics.is_empty() {
        eprint!(
            "{}",
            output::diagnostics_text(&set.diagnostics, colors.stderr)
        );
    } else if format == OutputFormat::Json {
        for diag in &set.diagnostics {
            eprintln!("{diag}");
        }
    }
    set
}
