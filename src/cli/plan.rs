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
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(Format::resolve(args.output), colors);
    let prepared = match prepare(
        &args.manifests,
        &args.aws,
        &args.reconcile,
        &args.deadline,
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
    if report.has_errors() {
        exit::ERROR
    } else if args.detailed_exitcode && report.plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }
}
