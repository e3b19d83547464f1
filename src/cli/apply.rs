//! `jobctl apply`: plan, then create the jobs the account lacks.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::common::{load_and_report, AwsArgs, ManifestArgs, OutputFormat};
use super::plan::{compute, print_plan};
use super::{exit, Colors};
use crate::apply::{self, Outcome};
use crate::output::{self, Style};
use crate::plan::Action;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format; `json` prints exactly one JSON object on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Plan only: behave exactly like `jobctl plan`.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let set = load_and_report(&args.manifests, args.output, colors);
    let api = match args.aws.connect().await {
        Ok(api) => api,
        Err(message) => {
            eprintln!("jobctl: {message}");
            return exit::ERROR;
        }
    };
    let parallelism = usize::from(args.aws.parallelism);
    let planned = compute(&api, set, parallelism).await;
    let manifest_errors = planned.set.error_count();
    if args.dry_run {
        print_plan(&planned, args.output, colors);
        return if manifest_errors > 0 || !planned.errors.is_empty() {
            exit::ERROR
        } else {
            exit::OK
        };
    }
    if args.output == OutputFormat::Text {
        print_plan(&planned, args.output, colors);
    }

    let total = planned
        .plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .count();
    let done = AtomicUsize::new(0);
    let show_progress =
        args.output == OutputFormat::Text && std::io::stderr().is_terminal() && total > 1;
    let progress = |result: &apply::JobResult| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if show_progress {
            let what = match &result.outcome {
                Outcome::Created { .. } => "created",
                Outcome::AlreadyExists => "already exists",
                Outcome::Skipped { .. } => "skipped",
                Outcome::Failed { .. } => "failed",
            };
            eprintln!("[{n}/{total}] {} {what}", result.job_id);
        }
    };
    let report = apply::apply(&api, &planned.plan, parallelism, &progress).await;
    tracing::info!(calls = ?api.calls().snapshot(), "AWS calls");

    match args.output {
        OutputFormat::Json => {
            let mut object = output::plan_json(&planned.plan, &planned.errors);
            object["results"] = serde_json::to_value(&report.results).unwrap_or_default();
            println!("{object}");
        }
        OutputFormat::Text => {
            println!();
            print!(
                "{}",
                output::apply_text(
                    &report,
                    Style {
                        color: colors.stdout
                    }
                )
            );
        }
    }
    if report.failures().next().is_some() || manifest_errors > 0 || !planned.errors.is_empty() {
        exit::ERROR
    } else {
        exit::OK
    }
}
