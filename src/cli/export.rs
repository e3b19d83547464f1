//! `jobctl export`: write manifests for jobs that already exist, to adopt them with
//! `plan --adopt` / `apply --adopt`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::args::{AwsArgs, OutputArgs};
use super::exit;
use crate::aws::IotJobs;
use crate::engine::export::{self, ExportSettings, Selection, WriteError, ACTIVE};
use crate::manifest::export::{Documents, Options};
use crate::output::style::Colors;
use crate::output::Output;
use crate::report::{ExportReport, ExportedJob, Failure, FailureKind};

/// The schema file the modelines point at, where `jobctl schema` output is kept by convention
/// (this repository's layout, README "Editor setup").
const SCHEMA_FILE: &str = "schemas/job.schema.json";

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("selection")
        .required(true)
        .multiple(true)
        .args(["job_ids", "all", "statuses"])
))]
pub struct Args {
    /// Jobs to export, by id, whatever their status.
    #[arg(value_name = "JOB_ID", value_parser = parse_job_id, conflicts_with_all = ["all", "statuses"])]
    pub job_ids: Vec<String>,
    /// Every job that is IN_PROGRESS or SCHEDULED. Finished jobs are left out: name them or pass
    /// --status.
    #[arg(long)]
    pub all: bool,
    /// Every job in these statuses (repeatable, or comma-separated), finished ones included.
    #[arg(
        long = "status",
        value_name = "S",
        value_enum,
        value_delimiter = ',',
        ignore_case = true
    )]
    pub statuses: Vec<StatusArg>,
    /// Write one manifest per job (JOB_ID.yaml) and its document (JOB_ID.json) into DIR,
    /// created if missing. Without it, one multi-document YAML stream goes to stdout, documents
    /// inline.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Overwrite files in DIR that exist already. Without it, any existing file stops the
    /// export before anything is written.
    #[arg(long, requires = "dir")]
    pub force: bool,
    /// What each manifest's `# yaml-language-server: $schema=` modeline points at (a path
    /// relative to the manifest, or a URL). Default: schemas/job.schema.json in DIR or the
    /// nearest directory above it that has one, else DIR/schemas/job.schema.json.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub schema: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The statuses a job can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum StatusArg {
    #[value(name = "IN_PROGRESS")]
    InProgress,
    #[value(name = "SCHEDULED")]
    Scheduled,
    #[value(name = "COMPLETED")]
    Completed,
    #[value(name = "CANCELED")]
    Canceled,
}

impl StatusArg {
    fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Scheduled => "SCHEDULED",
            Self::Completed => "COMPLETED",
            Self::Canceled => "CANCELED",
        }
    }
}

/// A jobId as AWS allows it: 1-64 of `[a-zA-Z0-9_-]`. It also names the files written.
fn parse_job_id(text: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a job id (1-64 letters, digits, `_` or `-`)"
        ))
    }
}

fn selection(args: &Args) -> Selection {
    if !args.job_ids.is_empty() {
        return Selection::Ids(args.job_ids.clone());
    }
    let statuses: BTreeSet<String> = if args.statuses.is_empty() {
        ACTIVE.iter().map(|s| (*s).to_string()).collect()
    } else {
        args.statuses
            .iter()
            .map(|s| s.as_str().to_string())
            .collect()
    };
    Selection::Statuses(statuses)
}

/// The modeline's `$schema=`, and a hint when the file it names does not exist. Relative to
/// the manifests' directory (the current one for the stdout stream), as yaml-language-server
/// resolves it.
fn schema_ref(given: Option<&str>, dir: Option<&Path>) -> (String, Option<String>) {
    if let Some(given) = given {
        return (given.to_string(), None);
    }
    let base = dir.unwrap_or(Path::new("."));
    if let Ok(absolute) = std::path::absolute(base) {
        for (depth, ancestor) in absolute.ancestors().enumerate() {
            if ancestor.join(SCHEMA_FILE).is_file() {
                return (format!("{}{SCHEMA_FILE}", "../".repeat(depth)), None);
            }
            // The repository's root is as far as a manifest's schema is looked for.
            if ancestor.join(".git").exists() {
                break;
            }
        }
    }
    let hint = format!(
        "the modelines point at {SCHEMA_FILE}, which does not exist yet; for editor completion and checks run `jobctl schema > {}`",
        base.join(SCHEMA_FILE).display()
    );
    (SCHEMA_FILE.to_string(), Some(hint))
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(args.output.format(), colors);
    let (schema, schema_hint) = schema_ref(args.schema.as_deref(), args.dir.as_deref());
    let settings = ExportSettings {
        selection: selection(&args),
        options: Options {
            schema: schema.clone(),
            documents: if args.dir.is_some() {
                Documents::Files
            } else {
                Documents::Inline
            },
        },
        parallelism: usize::from(args.aws.parallelism),
    };
    let api = match IotJobs::connect(&args.aws.connection()).await {
        Ok(api) => api,
        Err(err) => {
            out.failure(&Failure {
                kind: FailureKind::Connect,
                message: err.to_string(),
                diagnostics: Vec::new(),
            });
            return exit::ERROR;
        }
    };
    let exports = export::export(&api, &settings).await;
    tracing::info!(attempts = ?api.stats().by_operation(), "AWS calls");
    let mut report = ExportReport {
        dir: args.dir.clone(),
        jobs: exports
            .jobs
            .iter()
            .map(|j| ExportedJob {
                job_id: j.job_id.clone(),
                status: j.status.to_string(),
                inherited: j.inherited.clone(),
                warnings: j.warnings.clone(),
            })
            .collect(),
        errors: exports.errors,
        finished_left_out: exports.finished_left_out,
        schema,
        schema_hint: schema_hint.filter(|_| !exports.jobs.is_empty()),
        ..ExportReport::default()
    };
    match &args.dir {
        Some(dir) => match export::write(dir, &exports.jobs, args.force) {
            Ok(files) => report.files = files,
            Err(WriteError::Conflicts(paths)) => report.conflicts = paths,
            Err(err @ WriteError::Io { .. }) => report.write_error = Some(err.to_string()),
        },
        None => report.stream = Some(export::stream(&exports.jobs)),
    }
    out.export(&report);
    if report.has_errors() {
        exit::ERROR
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_found_above_the_directory_or_hinted_at() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join(".git")).expect("git");
        let dir = root.path().join("jobs/exported");
        let (schema, hint) = schema_ref(None, Some(&dir));
        assert_eq!(schema, "schemas/job.schema.json");
        assert!(hint.expect("hint").contains("jobctl schema >"));

        std::fs::create_dir_all(root.path().join("schemas")).expect("mkdir");
        std::fs::write(root.path().join(SCHEMA_FILE), "{}").expect("schema");
        assert_eq!(
            schema_ref(None, Some(&dir)),
            ("../../schemas/job.schema.json".to_string(), None)
        );
        assert_eq!(
            schema_ref(Some("https://example.com/job.schema.json"), Some(&dir)).0,
            "https://example.com/job.schema.json"
        );
    }

    #[test]
    fn job_ids_name_files_so_only_real_ids_are_taken() {
        assert!(parse_job_id("fw-4_2").is_ok());
        for bad in ["", "../x", "a/b", "a b", &"x".repeat(65)] {
            assert!(parse_job_id(bad).is_err(), "{bad:?}");
        }
    }
}
