//! `jobctl promote NAME [--stage S]`: approve a rollout leaving a stage whose gate asks for
//! approval. Works from AWS state alone (the approval is the `jobctl:approved` tag on the
//! rollout's job); `-f` also checks the name and stage against the manifests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::common::AwsArgs;
use super::exit;
use crate::aws::{IotJobs, JobsApi};
use crate::domain::ownership::{ownership, Ownership};
use crate::domain::rollout::{APPROVED_TAG, KIND_ROLLOUT, KIND_TAG, STAGE_TAG};
use crate::domain::JobStatus;
use crate::manifest::{self, root_config};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rollout's name (`metadata.name`, its job's id).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The stage to approve leaving (default: the rollout's current stage). The gate and its
    /// soak still apply: an approval given early waits for them.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Check NAME and STAGE against these manifests first. A file or a directory; repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// This jobctl instance's name (default: `instance:` from jobctl.yaml, else `default`).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

fn fail(message: &str) -> u8 {
    eprintln!("jobctl: promote: {message}");
    exit::ERROR
}

pub async fn run(args: Args) -> u8 {
    let instance = match root_config::instance(args.instance.as_deref(), &args.paths) {
        Ok(instance) => instance,
        Err(err) => {
            eprintln!("jobctl: promote: {err}");
            return exit::USAGE;
        }
    };
    if !args.paths.is_empty() {
        let set = manifest::load(&args.paths);
        if set.error_count() > 0 {
            return fail(&format!(
                "the manifests have {} error(s); run `jobctl validate`",
                set.error_count()
            ));
        }
        let Some(rollout) = set
            .jobs
            .iter()
            .find(|j| j.job_id == args.name)
            .and_then(|j| j.rollout.as_ref())
        else {
            return fail(&format!(
                "no Rollout named `{}` in the manifests",
                args.name
            ));
        };
        if let Some(stage) = &args.stage {
            if rollout.stage_index(stage).is_none() {
                return fail(&format!("rollout `{}` has no stage `{stage}`", args.name));
            }
        }
    }
    let api = match IotJobs::connect(&args.aws.connection()).await {
        Ok(api) => api,
        Err(err) => return fail(&err.to_string()),
    };
    let description = match api.describe_job(&args.name).await {
        Ok(Some(d)) => d,
        Ok(None) => return fail(&format!("rollout `{}` does not exist", args.name)),
        Err(err) => return fail(&format!("rollout `{}`: {err}", args.name)),
    };
    let tags = match api.list_tags(&description.job_arn).await {
        Ok(tags) => tags,
        Err(err) => return fail(&format!("rollout `{}`: {err}", args.name)),
    };
    match ownership(&tags, &instance) {
        Ownership::Managed => {}
        Ownership::OtherInstance(other) => {
            return fail(&format!(
                "`{}` belongs to jobctl instance `{other}`, not `{instance}`",
                args.name
            ))
        }
        Ownership::Unmanaged => {
            return fail(&format!("job `{}` is not managed by jobctl", args.name))
        }
    }
    if tags.get(KIND_TAG).map(String::as_str) != Some(KIND_ROLLOUT) {
        return fail(&format!("job `{}` is not a rollout", args.name));
    }
    if description.status != JobStatus::InProgress {
        let why = if description.status == JobStatus::Canceled {
            "it is Halted (its job was canceled); a halted rollout starts again only under a new name".to_string()
        } else {
            format!("its job is {}", description.status)
        };
        return fail(&format!(
            "rollout `{}` cannot be promoted: {why}",
            args.name
        ));
    }
    let Some(stage) = args.stage.clone().or_else(|| tags.get(STAGE_TAG).cloned()) else {
        return fail(&format!(
            "rollout `{}` has no current stage tag; give --stage",
            args.name
        ));
    };
    let approval = BTreeMap::from([(APPROVED_TAG.to_string(), stage.clone())]);
    if let Err(err) = api.tag_resource(&description.job_arn, &approval).await {
        return fail(&format!("rollout `{}`: {err}", args.name));
    }
    println!(
        "Approved rollout {} leaving stage {stage}. The next `jobctl apply` (or the daemon) starts the next stage once {stage}'s gate holds and has soaked.",
        args.name
    );
    exit::OK
}
