//! `jobctl plan`: read the account and show what apply would do.

use super::common::{prepare, AwsArgs, DeadlineArgs, ManifestArgs, ReconcileArgs, ReportArgs};
use super::exit;
use crate::output::style::Colors;
use crate::output::{Format, Output};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub deadline: DeadlineArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on error (as Terraform does).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to FILE (JSON, mode 0600), for `jobctl apply FILE` to carry out
    /// exactly, or refuse when the account or the manifests moved since. A plan with errors is
    /// not saved.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(Format::resolve(args.output), colors);
    let prepared = match prepare(
        &args.manifests,
        &args.aws,
        &args.reconcile,
        &args.deadline,
        args.out.is_some(),
        &out,
    )
    .await
    {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let report = &prepared.report;
    out.plan(report);
    if !out.write_files(&args.report.files(), report) {
        return exit::ERROR;
    }
    tracing::info!(attempts = ?prepared.api.stats().by_operation(), "AWS calls");
    if let Some(path) = &args.out {
        if report.has_errors() {
            // A notice, not a failure: `--output json` has printed its one object already.
            out.notice(&format!(
                "the plan has errors: not saved to {} (fix them and plan again)",
                path.display()
            ));
            return exit::ERROR;
        }
        let saved = super::saved::build(&prepared);
        if let Err(message) = super::saved::write(path, &saved) {
            out.notice(&message);
            return exit::ERROR;
        }
        out.plan_saved(&path.display().to_string());
    }
    if report.has_errors() {
        exit::ERROR
    } else if args.detailed_exitcode && report.plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }
}
