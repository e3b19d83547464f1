//! `jobctl promote NAME [--stage S]`: approve a rollout leaving a stage whose gate asks for
//! approval. The decision is `engine::promote`'s; this file parses, resolves and renders.

use super::args::{AwsArgs, InstanceArgs, ManifestArgs, OutputArgs};
use super::{config, exit};
use crate::aws::IotJobs;
use crate::engine::promote::{self, Request};
use crate::manifest;
use crate::output::style::Colors;
use crate::output::Output;
use crate::report::{Failure, FailureKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rollout's name (`metadata.name`, its job's id).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The stage to approve leaving (default: the rollout's current stage). The gate and its
    /// soak still apply: an approval given early waits for them.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Check NAME and STAGE against these manifests first.
    #[command(flatten)]
    pub manifests: ManifestArgs,
    #[command(flatten)]
    pub instance: InstanceArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(args.output.format(), colors);
    let failed = |kind: FailureKind, message: String, diagnostics, code: u8| {
        out.failure(&Failure {
            kind,
            message,
            diagnostics,
        });
        code
    };
    let paths = &args.manifests.paths;
    let instance = match config::instance(&args.instance, paths) {
        Ok(instance) => instance,
        Err(err) => return failed(FailureKind::Config, err.to_string(), vec![], exit::USAGE),
    };
    let mut declared = None;
    if !paths.is_empty() {
        let set = manifest::load(paths);
        if set.error_count() > 0 {
            let message = format!(
                "the manifests have {} error(s); run `jobctl validate`",
                set.error_count()
            );
            return failed(FailureKind::Config, message, set.diagnostics, exit::ERROR);
        }
        declared = set
            .jobs
            .into_iter()
            .find(|j| j.job_id == args.name)
            .and_then(|j| j.rollout);
    }
    let api = match IotJobs::connect(&args.aws.connection()).await {
        Ok(api) => api,
        Err(err) => return failed(FailureKind::Connect, err.to_string(), vec![], exit::ERROR),
    };
    let request = Request {
        name: args.name.clone(),
        stage: args.stage.clone(),
        checked_against_manifests: !paths.is_empty(),
    };
    match promote::promote(&api, &request, &instance, declared.as_ref()).await {
        Ok(report) => {
            out.promote(&report);
            if report.result.is_success() {
                exit::OK
            } else {
                exit::ERROR
            }
        }
        Err(message) => failed(FailureKind::Aws, message, Vec::new(), exit::ERROR),
    }
}
