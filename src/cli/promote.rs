//! `jobctl promote NAME [--stage S]`: approve a rollout leaving a stage whose gate asks for
//! approval. Works from AWS state alone (the approval is the `jobctl:approved` tag on the
//! rollout's job); `-f` also checks the name and stage against the manifests. Returns a
//! [`PromoteReport`] that `output` renders in the chosen format.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::common::AwsArgs;
use super::exit;
use crate::aws::{IotJobs, JobsApi};
use crate::domain::ownership::{ownership, Ownership};
use crate::domain::rollout::{
    baseline_key, RolloutSpec, APPROVED_TAG, KIND_ROLLOUT, KIND_TAG, STAGE_TAG,
};
use crate::domain::JobStatus;
use crate::manifest::{self, root_config};
use crate::output::style::Colors;
use crate::output::{Format, Output};
use crate::report::{Failure, FailureKind, PromoteReport, PromoteResult};

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
    /// Output format [default: github when GITHUB_ACTIONS=true, else text].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
}

/// Where a promotion stands before anything is written: the report so far.
struct Promotion {
    report: PromoteReport,
}

impl Promotion {
    fn new(rollout: &str, stage: Option<String>) -> Self {
        Self {
            report: PromoteReport {
                rollout: rollout.to_string(),
                stage,
                current_stage: None,
                result: PromoteResult::NotFound,
                message: String::new(),
            },
        }
    }

    fn ends(mut self, result: PromoteResult, message: String) -> PromoteReport {
        self.report.result = result;
        self.report.message = message;
        self.report
    }
}

pub async fn run(args: Args, colors: Colors) -> u8 {
    let out = Output::new(Format::resolve(args.output), colors);
    let failed = |kind: FailureKind, message: String, diagnostics, code: u8| {
        out.failure(&Failure {
            kind,
            message,
            diagnostics,
        });
        code
    };
    let instance = match root_config::instance(args.instance.as_deref(), &args.paths) {
        Ok(instance) => instance,
        Err(err) => {
            return failed(
                FailureKind::Config,
                err.to_string(),
                Vec::new(),
                exit::USAGE,
            )
        }
    };
    let mut declared: Option<RolloutSpec> = None;
    if !args.paths.is_empty() {
        let set = manifest::load(&args.paths);
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
        Err(err) => {
            return failed(
                FailureKind::Connect,
                err.to_string(),
                Vec::new(),
                exit::ERROR,
            )
        }
    };
    match promote(&api, &args, &instance, declared.as_ref()).await {
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

/// Reads the rollout's job and writes the approval when it may. `Err` when a call failed.
async fn promote(
    api: &dyn JobsApi,
    args: &Args,
    instance: &str,
    declared: Option<&RolloutSpec>,
) -> Result<PromoteReport, String> {
    let name = &args.name;
    let mut promotion = Promotion::new(name, args.stage.clone());
    if !args.paths.is_empty() {
        let Some(spec) = declared else {
            return Ok(promotion.ends(
                PromoteResult::NotFound,
                format!("no Rollout named `{name}` in the manifests"),
            ));
        };
        if let Some(stage) = &args.stage {
            if spec.stage_index(stage).is_none() {
                return Ok(promotion.ends(
                    PromoteResult::NotFound,
                    format!("rollout `{name}` has no stage `{stage}`"),
                ));
            }
        }
    }
    let description = match api.describe_job(name).await {
        Ok(Some(d)) => d,
        Ok(None) => {
            return Ok(promotion.ends(
                PromoteResult::NotFound,
                format!("rollout `{name}` does not exist"),
            ))
        }
        Err(err) => return Err(format!("rollout `{name}`: {err}")),
    };
    let tags = api
        .list_tags(&description.job_arn)
        .await
        .map_err(|err| format!("rollout `{name}`: {err}"))?;
    match ownership(&tags, instance) {
        Ownership::Managed => {}
        Ownership::OtherInstance(other) => {
            return Ok(promotion.ends(
                PromoteResult::NotOwned,
                format!("`{name}` belongs to jobctl instance `{other}`, not `{instance}`"),
            ))
        }
        Ownership::Unmanaged => {
            return Ok(promotion.ends(
                PromoteResult::NotOwned,
                format!("job `{name}` is not managed by jobctl"),
            ))
        }
    }
    if tags.get(KIND_TAG).map(String::as_str) != Some(KIND_ROLLOUT) {
        return Ok(promotion.ends(
            PromoteResult::NotARollout,
            format!("job `{name}` is not a rollout"),
        ));
    }
    let current = tags.get(STAGE_TAG).cloned();
    promotion.report.current_stage.clone_from(&current);
    match &description.status {
        JobStatus::InProgress | JobStatus::Scheduled => {}
        JobStatus::Canceled => {
            return Ok(promotion.ends(
                PromoteResult::Halted,
                format!("rollout `{name}` cannot be promoted: it is Halted (its job was canceled); a halted rollout starts again only under a new name"),
            ))
        }
        JobStatus::Completed => {
            return Ok(promotion.ends(
                PromoteResult::Complete,
                format!("rollout `{name}` cannot be promoted: its job has completed"),
            ))
        }
        other => {
            return Ok(promotion.ends(
                PromoteResult::NotWaitingForApproval,
                format!("rollout `{name}` cannot be promoted: its job is {other}"),
            ))
        }
    }
    let Some(stage) = args.stage.clone().or_else(|| current.clone()) else {
        return Ok(promotion.ends(
            PromoteResult::NotWaitingForApproval,
            format!("rollout `{name}` has no current stage tag; give --stage"),
        ));
    };
    promotion.report.stage = Some(stage.clone());
    let left = match (declared, &current) {
        (Some(spec), Some(current)) => spec
            .stage_index(&stage)
            .zip(spec.stage_index(current))
            .is_some_and(|(s, c)| s < c),
        // Without manifests: a stage with a baseline tag has started; if it is not the current
        // one, it has been left.
        _ => current.as_deref() != Some(stage.as_str()) && tags.contains_key(&baseline_key(&stage)),
    };
    if left {
        let now = current.as_deref().unwrap_or("?");
        return Ok(promotion.ends(
            PromoteResult::NotWaitingForApproval,
            format!("rollout `{name}` has left stage `{stage}` already (it is in stage `{now}`); nothing to approve"),
        ));
    }
    let asks = declared
        .and_then(|spec| spec.stage_index(&stage).map(|i| &spec.stages[i]))
        .map(|s| s.gate.as_ref().is_some_and(|g| g.approval));
    if asks == Some(false) {
        return Ok(promotion.ends(
            PromoteResult::NotWaitingForApproval,
            format!("stage `{stage}` of rollout `{name}` does not ask for approval (its gate has no `approval: true`); it promotes once its gate holds"),
        ));
    }
    if tags.get(APPROVED_TAG) == Some(&stage) {
        return Ok(promotion.ends(
            PromoteResult::AlreadyApproved,
            format!("Rollout {name} was already approved to leave stage {stage}; nothing changed."),
        ));
    }
    let approval = BTreeMap::from([(APPROVED_TAG.to_string(), stage.clone())]);
    api.tag_resource(&description.job_arn, &approval)
        .await
        .map_err(|err| format!("rollout `{name}`: {err}"))?;
    Ok(promotion.ends(
        PromoteResult::Approved,
        format!("Approved rollout {name} leaving stage {stage}. The next `jobctl apply` (or the daemon) starts the next stage once {stage}'s gate holds and has soaked."),
    ))
}
