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

/// Flags that shape what reconciling means, shared by plan and apply so a plan shows exactly
/// what the same apply would do.
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
}

/// jobctl.yaml at a manifest root.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RootConfig {
    instance: Option<String>,
}

fn valid_instance(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl ReconcileArgs {
    /// Resolves the instance name: the flag, else the roots' jobctl.yaml (which must agree),
    /// else `default`.
    pub fn instance(&self, paths: &[PathBuf]) -> Result<String, String> {
        let mut from_files: Vec<(PathBuf, String)> = Vec::new();
        for path in paths {
            let dir = if path.is_dir() {
                path.clone()
            } else {
                path.parent().map(PathBuf::from).unwrap_or_default()
            };
            let file = dir.join(manifest::CONFIG_FILE_NAME);
            if !file.exists() {
                continue;
            }
            let text = manifest::load::read_text(&file).map_err(|e| e.to_string())?;
            let docs = manifest::yaml::parse_documents(&text).map_err(|e| {
                format!(
                    "{}:{}:{}: {}",
                    file.display(),
                    e.location.line,
                    e.location.col,
                    e.message
                )
            })?;
            let value = docs.first().map(|d| d.root.to_json()).unwrap_or_default();
            let config: RootConfig = serde_json::from_value(value).map_err(|e| {
                format!(
                    "{}: {e} (jobctl.yaml holds `instance: NAME`)",
                    file.display()
                )
            })?;
            if let Some(name) = config.instance {
                from_files.push((file, name));
            }
        }
        let name = match (&self.instance, from_files.first()) {
            (Some(flag), _) => flag.clone(),
            (None, Some((first_file, first))) => {
                if let Some((other_file, other)) = from_files.iter().find(|(_, n)| n != first) {
                    return Err(format!(
                        "{} says instance `{first}` but {} says `{other}`; pass --instance",
                        first_file.display(),
                        other_file.display()
                    ));
                }
                first.clone()
            }
            (None, None) => "default".to_string(),
        };
        if !valid_instance(&name) {
            return Err(format!(
                "instance name `{name}` must be 1-63 characters of letters, digits, `-`, `_` and `.`"
            ));
        }
        Ok(name)
    }

    pub fn only(&self) -> Option<std::collections::BTreeSet<String>> {
        (!self.targets.is_empty()).then(|| self.targets.iter().cloned().collect())
    }
}
