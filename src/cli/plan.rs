//! `jobctl plan`: one pass of the engine in [`Mode::Preview`]: read the account and show what
//! apply would do; nothing changes. With `--out`, the plan is saved for `jobctl apply FILE`.

use super::args::{AwsArgs, DeadlineArgs, ManifestArgs, OutputArgs, ReconcileArgs, ReportArgs};
use super::run::{self, Review};
use super::{config, exit, saved};
use crate::engine::reconcile::Mode;
use crate::output::style::Colors;
use crate::output::Output;
use crate::report::{Failure, FailureKind};
use crate::shutdown::Shutdown;

#[derive(Debug, clap::Args)]
#[command(mut_arg("paths", |a| a.required(true)))]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub deadline: DeadlineArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    #[command(flatten)]
    pub output: OutputArgs,
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

pub async fn run(args: Args, colors: Colors, shutdown: Shutdown) -> u8 {
    let out = Output::new(args.output.format(), colors);
    let timeout = args.deadline.limit();
    let mut config =
        match config::run_config(&args.manifests.paths, &args.aws, &args.reconcile, timeout) {
            Ok(config) => config,
            Err(err) => {
                out.failure(&Failure::new(FailureKind::Config, err.to_string()));
                return exit::USAGE;
            }
        };
    config.settings.fingerprint_account = args.out.is_some();
    let mut loaded = match run::load(config, &out).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    // A preview never reaches the review.
    let review = Review::Ask { yes: true };
    let ran = match run::pass(&mut loaded, Mode::Preview, review, &out, &shutdown).await {
        Ok(ran) => ran,
        Err(code) => return code,
    };
    let report = &ran.plan;
    out.plan(report);
    if !out.write_files(&args.report.files(), report) {
        return exit::ERROR;
    }
    tracing::info!(attempts = ?loaded.api.stats().by_operation(), "AWS calls");
    if let Some(path) = &args.out {
        if report.has_errors() {
            // A notice, not a failure: `--output json` has printed its one object already.
            out.notice(&format!(
                "the plan has errors: not saved to {} (fix them and plan again)",
                path.display()
            ));
            return exit::ERROR;
        }
        let saved = saved::build(&loaded.config, &loaded.read, report, &ran.state);
        if let Err(message) = saved::write(path, &saved) {
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
