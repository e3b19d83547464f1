//! `jobctl promote` decided: whether a rollout may be approved to leave a stage, from AWS state
//! (the rollout job's status and `jobctl:*` tags) and, when given, its manifest; and the approval
//! written (the `jobctl:approved` tag). The CLI only parses and renders the [`PromoteReport`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aws::JobsApi;
use crate::domain::ownership::{ownership, Ownership};
use crate::domain::rollout::{
    baseline_key, RolloutSpec, APPROVED_TAG, COMPLETE_REASON_CODE, KIND_ROLLOUT, KIND_TAG,
    STAGE_TAG,
};
use crate::domain::JobStatus;

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The rollout's name (its job's id).
    pub name: String,
    /// The stage to approve leaving; the current one when `None`.
    pub stage: Option<String>,
    /// The name and stage were looked for in the manifests (`-f`); `declared` is what was found.
    pub checked_against_manifests: bool,
}

/// `jobctl promote`: what became of an approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PromoteReport {
    /// The rollout's name (its job's id).
    pub rollout: String,
    /// The stage whose leaving was approved (or asked for), when one could be told.
    pub stage: Option<String>,
    /// The rollout's current stage, as its `jobctl:stage` tag says.
    pub current_stage: Option<String>,
    pub result: PromoteResult,
    /// What happened, or why nothing did, in words.
    pub message: String,
}

/// What `jobctl promote` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PromoteResult {
    /// The approval was written (`jobctl:approved`).
    Approved,
    /// The stage was approved before; nothing was written.
    AlreadyApproved,
    /// The stage does not wait for an approval: it has been left already, or (with `-f`) its
    /// gate asks for none, or the manifest has no such stage. Nothing was written.
    NotWaitingForApproval,
    /// The rollout's job was canceled: a halted rollout starts again only under a new name.
    Halted,
    /// The rollout's job has finished.
    Complete,
    /// No job (or, with `-f`, no Rollout in the manifests) has this name.
    NotFound,
    /// The job belongs to another jobctl instance, or to no jobctl at all.
    NotOwned,
    /// The job is jobctl's but not a rollout.
    NotARollout,
}

impl PromoteResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::AlreadyApproved => "alreadyApproved",
            Self::NotWaitingForApproval => "notWaitingForApproval",
            Self::Halted => "halted",
            Self::Complete => "complete",
            Self::NotFound => "notFound",
            Self::NotOwned => "notOwned",
            Self::NotARollout => "notARollout",
        }
    }

    /// Whether the rollout is (now) approved to leave the stage: exit 0; anything else exits 1.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Approved | Self::AlreadyApproved)
    }
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

/// Reads the rollout's job and writes the approval when it may. `Err` when a call failed.
pub async fn promote(
    api: &dyn JobsApi,
    request: &Request,
    instance: &str,
    declared: Option<&RolloutSpec>,
) -> Result<PromoteReport, String> {
    let name = &request.name;
    let mut promotion = Promotion::new(name, request.stage.clone());
    if request.checked_against_manifests {
        let Some(spec) = declared else {
            return Ok(promotion.ends(
                PromoteResult::NotFound,
                format!("no Rollout named `{name}` in the manifests"),
            ));
        };
        if let Some(stage) = &request.stage {
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
        JobStatus::Canceled
            if description.progress.reason_code.as_deref() == Some(COMPLETE_REASON_CODE) =>
        {
            return Ok(promotion.ends(
                PromoteResult::Complete,
                format!("rollout `{name}` is complete: every stage has run and its job is closed"),
            ))
        }
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
    let Some(stage) = request.stage.clone().or_else(|| current.clone()) else {
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
    // An approval is for the stage the rollout is in: one written for a later stage would sit
    // on the job until that stage is reached, approving what nobody has seen yet.
    if current.as_deref() != Some(stage.as_str()) {
        let now = current.as_deref().unwrap_or("?");
        return Ok(promotion.ends(
            PromoteResult::NotWaitingForApproval,
            format!("rollout `{name}` has not reached stage `{stage}` (it is in stage `{now}`); approve a stage once it runs"),
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
