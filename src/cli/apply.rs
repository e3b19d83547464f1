//! `jobctl apply`: plan, then carry the plan out, all or nothing when anything is blocked.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::common::{prepare, AwsArgs, ManifestArgs, ReconcileArgs, ReportArgs};
use super::exit;
use crate::engine::apply::JobResult;
use crate::engine::reconcile;
use crate::output::style::Colors;
use crate::output::{Format, Output};
use crate::report::ApplyReport;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Plan only: behave exactly like `jobctl plan`.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(Format::resolve(args.output), colors);
    let (api, planned, settings) =
        match prepare(&args.manifests, &args.aws, &args.reconcile, &out).await {
            Ok(prepared) => prepared,
            Err(code) => return code,
        };
    if args.dry_run {
        out.plan(&planned);
        let written = out.write_files(&args.report.files(), &planned);
        return if planned.has_errors() || !written {
            exit::ERROR
        } else {
            exit::OK
        };
    }
    out.apply_started(&planned);
    let total = planned.plan.changes_to_apply().count();
    let done = AtomicUsize::new(0);
    let progress =
        |result: &JobResult| out.progress(done.fetch_add(1, Ordering::Relaxed) + 1, total, result);
    let applied = reconcile::apply(&api, &planned.plan, &settings, &progress).await;
    tracing::info!(attempts = ?api.stats().by_operation(), "AWS calls");
    let report = ApplyReport {
        plan: planned,
        applied,
        calls: api.stats().by_operation(),
        wait: None,
    };
    out.apply(&report);
    let written = out.write_files(&args.report.files(), &report);
    if report.has_errors() || !written {
        exit::ERROR
    } else {
        exit::OK
    }
}
