//! `jobctl apply`: plan, then carry the plan out, all or nothing when anything is blocked.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::common::{AwsArgs, ManifestArgs, OutputFormat, ReconcileArgs};
use super::plan::{prepare, print_plan};
use super::{exit, Colors};
use crate::apply::{self, ApplyOptions, Outcome};
use crate::output::{self, Style};
use crate::plan::Action;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    /// Output format; `json` prints exactly one JSON object on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Plan only: behave exactly like `jobctl plan`.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let (api, planned) = match prepare(
        &args.manifests,
        &args.aws,
        &args.reconcile,
        args.output,
        colors,
    )
    .await
    {
        Ok(pair) => pair,
        Err(code) => return code,
    };
    let had_errors = planned.set.error_count() > 0 || !planned.errors.is_empty();
    if args.dry_run {
        print_plan(&planned, args.output, colors);
        return if had_errors { exit::ERROR } else { exit::OK };
    }
    if args.output == OutputFormat::Text {
        print_plan(&planned, args.output, colors);
    }

    // A plan with a blocked change is refused as a whole: applying the rest would leave the
    // account in a state nobody reviewed.
    let blocked: Vec<_> = planned.plan.blocked().collect();
    if !blocked.is_empty() {
        match args.output {
            OutputFormat::Json => {
                let mut object = output::plan_json(&planned.plan, &planned.errors);
                object["results"] = serde_json::Value::Array(Vec::new());
                object["refused"] = true.into();
                println!("{object}");
            }
            OutputFormat::Text => {
                eprintln!(
                    "jobctl: apply refused: {} change(s) are blocked; nothing was changed:",
                    blocked.len()
                );
                for change in blocked {
                    eprintln!(
                        "  {}: {}",
                        change.job_id,
                        change.blocked.as_deref().unwrap_or_default()
                    );
                }
            }
        }
        return exit::ERROR;
    }

    let total = planned
        .plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged || !c.steps.is_empty())
        .count();
    let done = AtomicUsize::new(0);
    let show_progress =
        args.output == OutputFormat::Text && std::io::stderr().is_terminal() && total > 1;
    let progress = |result: &apply::JobResult| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if show_progress {
            let what = match &result.outcome {
                Outcome::Done => result.action.as_str(),
                Outcome::AlreadyExists => "already exists",
                Outcome::Skipped { .. } => "skipped",
                Outcome::Failed { .. } => "failed",
            };
            eprintln!("[{n}/{total}] {} {what}", result.job_id);
        }
    };
    let options = ApplyOptions {
        parallelism: usize::from(args.aws.parallelism),
        instance: planned.instance.clone(),
        ..ApplyOptions::default()
    };
    let report = apply::apply(&api, &planned.plan, &options, &progress).await;
    tracing::info!(calls = ?api.calls().snapshot(), "AWS calls");

    match args.output {
        OutputFormat::Json => {
            let mut object = output::plan_json(&planned.plan, &planned.errors);
            object["results"] = serde_json::to_value(&report.results).unwrap_or_default();
            object["calls"] = serde_json::to_value(api.calls().snapshot()).unwrap_or_default();
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
    if report.failures().next().is_some() || had_errors {
        exit::ERROR
    } else {
        exit::OK
    }
}
