//! `jobctl plan`: read the account and show what apply would do.

use super::common::{load_and_report, AwsArgs, ManifestArgs, OutputFormat};
use super::{exit, Colors};
use crate::aws::JobsApi;
use crate::manifest::ManifestSet;
use crate::output::{self, Style};
use crate::plan::{self, Plan};
use crate::refresh::{self, JobError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
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
}

pub async fn compute(api: &dyn JobsApi, set: ManifestSet, parallelism: usize) -> Planned {
    let mut set = set;
    let jobs = std::mem::take(&mut set.jobs);
    let refreshed = refresh::refresh(api, jobs, parallelism).await;
    let plan = plan::plan(&refreshed.desired, &refreshed.actual);
    Planned {
        set,
        plan,
        errors: refreshed.errors,
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

pub async fn run(args: Args, colors: Colors) -> u8 {
    let set = load_and_report(&args.manifests, args.output, colors);
    let api = match args.aws.connect().await {
        Ok(api) => api,
        Err(message) => {
            eprintln!("jobctl: {message}");
            return exit::ERROR;
        }
    };
    let planned = compute(&api, set, usize::from(args.aws.parallelism)).await;
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
