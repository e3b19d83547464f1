//! `jobctl plan`: read the account and show what apply would do.

use super::common::{load_and_report, AwsArgs, ManifestArgs, OutputFormat, ReconcileArgs};
use super::{exit, Colors};
use crate::aws::JobsApi;
use crate::manifest::ManifestSet;
use crate::output::{self, Style};
use crate::plan::{self, Plan};
use crate::refresh::{self, JobError, Scope};

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
    /// Exit 2 when the plan has changes, 0 when it has none, 1 on error (as Terraform does).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// What plan and apply both compute before they diverge.
pub struct Planned {
    pub set: ManifestSet,
    pub plan: Plan,
    pub errors: Vec<JobError>,
    pub instance: String,
}

/// Validated inputs to a plan: the manifests, the reconcile options, and how much to read.
pub struct Request {
    pub set: ManifestSet,
    pub options: plan::Options,
    pub scope: Scope,
}

impl Request {
    /// Resolves flags and manifests into plan options. Prune is switched off, with the reason,
    /// when any manifest could not be read or validated.
    pub fn new(
        set: ManifestSet,
        reconcile: &ReconcileArgs,
        instance: String,
        parallelism: usize,
    ) -> Self {
        let prune_disabled = (!set.complete).then(|| {
            format!(
                "{} manifest problem(s) found; jobctl cannot know what a broken or unreadable file declared",
                set.error_count().max(1)
            )
        });
        let options = plan::Options {
            instance,
            adopt: reconcile.adopt,
            allow_replace: reconcile.allow_replace,
            prune: reconcile.prune || reconcile.prune_force,
            prune_force: reconcile.prune_force,
            prune_delete: reconcile.prune_delete,
            prune_disabled,
            only: reconcile.only(),
        };
        let scope = Scope {
            parallelism,
            compare_finished: reconcile.compare_finished,
            finished_orphans: reconcile.prune_delete,
            only: reconcile.only(),
        };
        Self {
            set,
            options,
            scope,
        }
    }
}

pub async fn compute(api: &dyn JobsApi, request: Request) -> Planned {
    let Request {
        mut set,
        options,
        scope,
    } = request;
    let jobs = std::mem::take(&mut set.jobs);
    let refreshed = refresh::refresh(api, jobs, &scope).await;
    let plan = plan::plan(&refreshed.desired, &refreshed.observed, &options);
    Planned {
        set,
        plan,
        errors: refreshed.errors,
        instance: options.instance,
    }
}

pub fn print_plan(planned: &Planned, format: OutputFormat, colors: Colors) {
    match format {
        OutputFormat::Json => println!("{}", output::plan_json(&planned.plan, &planned.errors)),
        OutputFormat::Text => print!(
            "{}",
            output::plan_text(
                &planned.plan,
                &planned.errors,
                Style {
                    color: colors.stdout
                }
            )
        ),
    }
}

/// Loads manifests, connects, and plans; the shared front half of plan and apply.
pub async fn prepare(
    manifests: &ManifestArgs,
    aws: &super::common::AwsArgs,
    reconcile: &ReconcileArgs,
    format: OutputFormat,
    colors: Colors,
) -> Result<(crate::aws::iot::IotJobs, Planned), u8> {
    let instance = reconcile.instance(&manifests.paths).map_err(|message| {
        eprintln!("jobctl: {message}");
        exit::USAGE
    })?;
    let set = load_and_report(manifests, format, colors);
    let api = aws.connect().await.map_err(|message| {
        eprintln!("jobctl: {message}");
        exit::ERROR
    })?;
    let request = Request::new(set, reconcile, instance, usize::from(aws.parallelism));
    let planned = compute(&api, request).await;
    Ok((api, planned))
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
    print_plan(&planned, args.output, colors);
    tracing::info!(calls = ?api.calls().snapshot(), "AWS calls");
    if planned.set.error_count() > 0 || !planned.errors.is_empty() {
        exit::ERROR
    } else if args.detailed_exitcode && planned.plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }
}
