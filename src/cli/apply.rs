//! `jobctl apply`: one pass of the engine in [`Mode::AllOrNothing`], from manifests (`-f`) or
//! from a plan saved by `jobctl plan --out` (`apply FILE`); then, with `--wait`, following what
//! it started. Nothing changes when the plan has an error or a blocked change, or when the person
//! at the terminal does not confirm a destructive plan; a due rollout halt happens either way.

use std::path::PathBuf;

use super::args::{
    AwsArgs, DeadlineArgs, ManifestArgs, OutputArgs, ReconcileArgs, ReportArgs, WaitArgs,
};
use super::run::{self, Loaded, Ran, Review};
use super::saved::{self, Opened};
use super::wait::{self, Follow};
use super::{config, exit};
use crate::engine::reconcile::Mode;
use crate::output::style::Colors;
use crate::output::Output;
use crate::report::{ApplyReport, Failure, FailureKind, SavedPlanRefused};
use crate::shutdown::Shutdown;

#[derive(Debug, clap::Args)]
#[command(mut_arg("paths", |a| a.required_unless_present("plan_file").conflicts_with("plan_file")))]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    /// A plan saved by `jobctl plan --out FILE`: carry out exactly that plan, or change nothing
    /// and say what moved when the account or the manifests changed since. Its options come from
    /// the file (no -f, no flags that shape a plan).
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub deadline: DeadlineArgs,
    #[command(flatten)]
    pub reconcile: ReconcileArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Plan only: behave exactly like `jobctl plan`.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before replacing, cancelling or deleting jobs. (jobctl asks only when stdin
    /// and stderr are terminals; elsewhere --allow-replace and --prune are the guard.)
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub async fn run(mut args: Args, colors: Colors, shutdown: Shutdown) -> u8 {
    args.deadline.follows = args.wait.follow && !args.dry_run;
    let started = std::time::Instant::now();
    let out = Output::new(args.output.format(), colors);
    let timeout = args.deadline.limit();
    let (config, saved) = match &args.plan_file {
        Some(file) => match saved::open(file, &args.reconcile, &args.aws, timeout) {
            Ok((plan, config)) => (config, Some((file.clone(), plan))),
            Err(Opened::Failed(failure)) => {
                out.failure(&failure);
                return failure.exit_code();
            }
            Err(Opened::Refused(refused)) => return moved(&out, &args, &refused),
        },
        None => {
            match config::run_config(&args.manifests.paths, &args.aws, &args.reconcile, timeout) {
                Ok(config) => (config, None),
                Err(err) => {
                    out.failure(&Failure::new(FailureKind::Config, err.to_string()));
                    return exit::USAGE;
                }
            }
        }
    };
    let mut loaded = match run::load(config, &out).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (check, review) = match saved {
        Some((file, plan)) => {
            let (check, review) = saved::Check::review(&file, plan, &loaded);
            (Some(check), review)
        }
        None => (None, Review::Ask { yes: args.yes }),
    };
    let mode = Mode::of_apply(args.dry_run);
    let ran = match run::pass(&mut loaded, mode, review, &out, &shutdown).await {
        Ok(ran) => ran,
        Err(code) => return code,
    };
    if let Some(refused) = check.as_ref().and_then(saved::Check::refused) {
        return moved(&out, &args, &refused);
    }
    finish(&args, &loaded, ran, &out, &shutdown, started).await
}

/// `apply FILE` changed nothing, since something moved: what moved, and exit 1.
fn moved(out: &Output, args: &Args, refused: &SavedPlanRefused) -> u8 {
    out.saved_plan_refused(refused);
    out.write_files(&args.report.files(), refused);
    exit::ERROR
}

/// The report of a pass: a preview as a plan; an apply with its results, what `--wait`
/// followed, and the report files. Returns the exit code.
async fn finish(
    args: &Args,
    loaded: &Loaded,
    ran: Ran,
    out: &Output,
    shutdown: &Shutdown,
    started: std::time::Instant,
) -> u8 {
    let files = args.report.files();
    let Some(applied) = ran.applied else {
        out.plan(&ran.plan);
        let written = out.write_files(&files, &ran.plan);
        return if ran.plan.has_errors() || !written {
            exit::ERROR
        } else {
            exit::OK
        };
    };
    let mut report = ApplyReport {
        plan: ran.plan,
        applied,
        calls: Default::default(),
        wait: None,
        rollouts: ran.rollouts.rollouts.clone(),
        stopped: ran.stopped,
    };
    if args.wait.follow && report.stopped.is_none() {
        let how = Follow {
            api: &loaded.api,
            interval: args.wait.interval,
            deadline: loaded.deadline,
            started,
            shutdown,
        };
        wait::after_apply(&how, &loaded.config.settings, &mut report, ran.rollouts).await;
    }
    report.calls = loaded.api.stats().by_operation();
    tracing::info!(attempts = ?report.calls, "AWS calls");
    out.apply(&report);
    let written = out.write_files(&files, &report);
    exit::of_apply(&report, written, shutdown)
}
