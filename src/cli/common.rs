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
    /// For people: diffs and diagnostics as on a terminal.
    Text,
    /// Exactly one JSON object on stdout (a stable contract, `version` 1).
    Json,
    /// GitHub Actions workflow commands: annotations on manifest lines, then the text output
    /// fenced so that manifest text cannot run workflow commands. The default when
    /// GITHUB_ACTIONS=true.
    Github,
    /// A summary table, then a collapsible diff per job, for job summaries and PR comments.
    Markdown,
}

impl OutputFormat {
    /// `--output` when given; otherwise `github` inside GitHub Actions and `text` elsewhere.
    /// Resolved after parsing, not as a clap default, so that `--help`, completions and the man
    /// page do not change with the environment they were generated in.
    pub fn resolve(choice: Option<Self>) -> Self {
        choice.unwrap_or_else(|| {
            if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
                Self::Github
            } else {
                Self::Text
            }
        })
    }
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
    /// Writes the requested files. `markdown` renders with the given cap and marker; `marker` is
    /// the hidden first line of the comment.
    pub fn write(
        &self,
        json: impl FnOnce() -> serde_json::Value,
        markdown: impl Fn(&output::markdown::MarkdownOptions) -> String,
        title: &str,
        marker: &str,
    ) -> Result<(), String> {
        use output::markdown::{MarkdownOptions, COMMENT_MAX_CHARS, STEP_SUMMARY_MAX_BYTES};
        let write = |path: &PathBuf, text: String| {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        if let Some(path) = &self.json_file {
            write(path, format!("{}\n", json()))?;
        }
        let base = MarkdownOptions {
            title: title.to_string(),
            full_report: run_link(),
            ..MarkdownOptions::default()
        };
        if let Some(path) = &self.markdown_file {
            write(path, markdown(&base))?;
        }
        if let Some(path) = &self.summary_file {
            write(
                path,
                markdown(&MarkdownOptions {
                    // A little room for the lines the GitHub action adds around the report.
                    max_bytes: Some(STEP_SUMMARY_MAX_BYTES - 4096),
                    ..base.clone()
                }),
            )?;
        }
        if let Some(path) = &self.comment_file {
            write(
                path,
                markdown(&MarkdownOptions {
                    max_bytes: Some(COMMENT_MAX_CHARS),
                    marker: Some(marker.to_string()),
                    ..base
                }),
            )?;
        }
        Ok(())
    }
}

/// Where the complete report lives when a capped one is cut: the GitHub Actions run (its log and
/// artifacts), from the variables every runner sets.
fn run_link() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (server, repo, run) = (
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?,
    );
    // Only plain URL characters go into the link, so the variables cannot inject Markdown.
    let plain = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | ':' | '_' | '-'))
    };
    (plain(&server) && plain(&repo) && plain(&run)).then(|| {
        format!("the log and the artifacts of [workflow run {run}]({server}/{repo}/actions/runs/{run}).")
    })
}

/// Loads manifests and prints their diagnostics to stderr (text and markdown), so plan and apply
/// show manifest problems the way validate does. With `github` they are printed later, as
/// annotations counted together with the plan's.
pub fn load_and_report(args: &ManifestArgs, format: OutputFormat, colors: Colors) -> ManifestSet {
    let set = manifest::load(&args.paths);
    match format {
        OutputFormat::Text | OutputFormat::Markdown if !set.diagnostics.is_empty() => eprint!(
            "{}",
            output::diagnostics_text(&set.diagnostics, colors.stderr)
        ),
        OutputFormat::Json => {
            for diag in &set.diagnostics {
                eprintln!("{diag}");
            }
        }
        _ => {}
    }
    set
}

/// Reports a run-level failure: a line on stderr, or with `github` an error annotation (the
/// message may quote a manifest, so it is never printed raw where the runner reads commands).
pub fn report_failure(format: OutputFormat, message: &str) {
    if format == OutputFormat::Github {
        println!(
            "{}",
            output::github::Annotation::new(output::github::Level::Error, message)
                .with_title("jobctl")
                .command()
        );
    } else {
        eprintln!("jobctl: {message}");
    }
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
            // Like manifests, the config may not lead outside its root through a symlink.
            let inside = match (std::fs::canonicalize(&dir), std::fs::canonicalize(&file)) {
                (Ok(root), Ok(real)) => real.starts_with(root),
                _ => false,
            };
            if !inside {
                return Err(format!(
                    "{} is a symlink that points outside the manifest root",
                    file.display()
                ));
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

    /// The reconcile settings these flags describe.
    pub fn settings(&self, instance: String, parallelism: usize) -> crate::reconcile::Settings {
        crate::reconcile::Settings {
            instance,
            adopt: self.adopt,
            allow_replace: self.allow_replace,
            prune: self.prune,
            prune_force: self.prune_force,
            prune_delete: self.prune_delete,
            compare_finished: self.compare_finished,
            only: self.only(),
            parallelism,
        }
    }

    pub fn only(&self) -> Option<std::collections::BTreeSet<String>> {
        (!self.targets.is_empty()).then(|| self.targets.iter().cloned().collect())
    }
}
