//! Driving rollouts: each declared rollout is advanced as far as it can go now (gate-held
//! marks, promotions, resumed associations, halts), then the caller looks again later. The
//! decisions are `engine::rollout`'s (pure); this module reads the job and writes the tags and
//! targets through [`JobsApi`].
//!
//! Calls per rollout and pass: DescribeJob and ListTagsForResource (2), plus, when it moves, a
//! re-read before a promotion (2), TagResource, UntagResource and AssociateTargetsWithJob, or
//! one CancelJob. Nothing is read about jobs that are not declared rollouts.
//!
//! Two drivers at once are safe: a promotion is decided from a fresh read taken immediately
//! before writing; the stage tag is written before the association; targets already on the job
//! are never associated again, and an association that fails because another driver got there
//! first is checked against a new read.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::plan::{epoch, Plan, RolloutPlan};
use super::rollout::{self, Decision, Evaluation, Phase, StageView};
use crate::aws::{ApiError, JobsApi};
use crate::domain::rollout::{
    baseline_key, APPROVED_TAG, COMPLETE_REASON_CODE, GATE_HELD_TAG, HALT_REASON_CODE, STAGE_TAG,
};
use crate::domain::spec::Target;

/// Something a pass did to a rollout (or found it waiting for).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum RolloutEvent {
    /// The stage's gate held for the first time; its soak starts.
    GateHeld {
        stage: String,
    },
    Promoted {
        from: String,
        to: String,
    },
    /// A stage whose tag was written but whose targets were not all associated (a driver
    /// stopped in between) got the rest.
    Resumed {
        stage: String,
    },
    Halted {
        stage: String,
        comment: String,
    },
    /// The gate held and soaked; `jobctl promote` is awaited.
    AwaitingApproval {
        stage: String,
    },
    /// The last stage completed and the job was closed (CancelJob, not forced, reasonCode
    /// `JOBCTL_ROLLOUT_COMPLETE`): devices joining its groups later get nothing from it.
    Completed {
        stage: String,
    },
}

/// One rollout after a pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutRun {
    pub job_id: String,
    pub phase: Phase,
    pub stage: String,
    /// What is happening and what the next step needs, with numbers.
    pub summary: String,
    pub stages: Vec<StageView>,
    pub events: Vec<RolloutEvent>,
    /// State tags that disagree with the job, each naming the tag; none was acted on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
    /// A call that failed; the rollout is left as it was and tried again next pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a pass over every rollout left.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Advance {
    pub rollouts: Vec<RolloutRun>,
    /// Some rollout is still Progressing (a stage running or soaking): look again.
    pub moving: bool,
    /// When a soak ends, in server seconds from now (the soonest of them).
    #[serde(skip)]
    pub recheck: Option<Duration>,
}

impl Advance {
    pub fn halted(&self) -> impl Iterator<Item = &RolloutRun> {
        self.rollouts.iter().filter(|r| r.phase == Phase::Halted)
    }
}

/// How far a pass may move a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// Every step: gate-held marks, promotions, resumed associations, halts.
    Full,
    /// Only what protects the fleet: a due halt. Nothing is widened and no state tag is
    /// written (an apply that was refused, or a pass that is shutting down).
    SafetyOnly,
}

/// Advances every rollout of `plan` that is not blocked, as far as each can go now. Call it
/// again while [`Advance::moving`]; it keeps no state between calls.
pub async fn advance(api: &dyn JobsApi, plan: &Plan, drive: Drive) -> Advance {
    let mut out = Advance::default();
    for change in &plan.changes {
        let Some(rollout) = &change.rollout else {
            continue;
        };
        if change.blocked.is_some() {
            continue;
        }
        let Some(job_id) = change.job_id() else {
            continue;
        };
        let run = drive_one(api, job_id, rollout, drive, &mut out).await;
        out.rollouts.push(run);
    }
    out
}

async fn drive_one(
    api: &dyn JobsApi,
    job_id: &str,
    plan: &RolloutPlan,
    drive: Drive,
    out: &mut Advance,
) -> RolloutRun {
    let mut run = RolloutRun {
        job_id: job_id.to_string(),
        phase: plan.phase,
        stage: plan.stage.clone(),
        summary: plan.next.clone(),
        stages: plan.stages.clone(),
        events: Vec::new(),
        disagreements: plan.disagreements.clone(),
        error: None,
    };
    let steps = 2 * plan.spec.stages.len() + 4;
    for _ in 0..steps {
        let (eval, arn, targets) = match read(api, job_id, plan).await {
            Ok(Some(read)) => read,
            Ok(None) => {
                run.phase = Phase::Missing;
                run.summary = "the rollout's job does not exist".into();
                return run;
            }
            Err(err) => {
                run.error = Some(err.to_string());
                out.moving = true;
                return run;
            }
        };
        let name = |i: usize| plan.spec.stages[i].name.clone();
        run.phase = eval.phase;
        run.stage = name(eval.current);
        run.summary.clone_from(&eval.summary);
        run.stages.clone_from(&eval.stages);
        run.disagreements.clone_from(&eval.disagreements);
        let protects = matches!(
            eval.decision,
            Decision::Halt { .. } | Decision::Close { .. }
        );
        if drive == Drive::SafetyOnly && !protects {
            // Nothing widens in this pass: the next one that may (or the daemon) takes it on.
            out.moving |= matches!(eval.phase, Phase::Progressing);
            return run;
        }
        if let Some(value) = &eval.write_gate_held {
            let tags = BTreeMap::from([(GATE_HELD_TAG.to_string(), value.clone())]);
            if let Err(err) = api.tag_resource(&arn, &tags).await {
                run.error = Some(err.to_string());
                out.moving = true;
                return run;
            }
            run.events.push(RolloutEvent::GateHeld {
                stage: name(eval.current),
            });
        }
        let result = match eval.decision {
            Decision::Wait { recheck } => {
                out.moving = true;
                if let Some(secs) = recheck {
                    let secs = Duration::from_secs(secs);
                    out.recheck = Some(out.recheck.map_or(secs, |r| r.min(secs)));
                }
                return run;
            }
            Decision::AwaitApproval => {
                run.events.push(RolloutEvent::AwaitingApproval {
                    stage: name(eval.current),
                });
                return run;
            }
            Decision::Done => return run,
            Decision::Promote { from, to, .. } => {
                promote(api, job_id, plan, from, to, &mut run).await
            }
            Decision::Resume {
                stage,
                add,
                baseline,
            } => {
                let mut result = Ok(());
                if let Some(baseline) = baseline {
                    let tags = BTreeMap::from([(baseline_key(&name(stage)), baseline.tag_value())]);
                    result = api.tag_resource(&arn, &tags).await;
                }
                if result.is_ok() && !add.is_empty() {
                    result = associate(api, job_id, &add, &targets).await;
                }
                if result.is_ok() {
                    run.events
                        .push(RolloutEvent::Resumed { stage: name(stage) });
                }
                result
            }
            // Closing is no widening: a pass that may only halt closes too.
            Decision::Close { comment } => {
                let stage = name(eval.current);
                let closed = cancel(api, job_id, COMPLETE_REASON_CODE, &comment).await;
                run.events
                    .extend(closed.then_some(RolloutEvent::Completed { stage }));
                Ok(())
            }
            Decision::Halt { comment } => {
                let stage = name(eval.current);
                let halted = cancel(api, job_id, HALT_REASON_CODE, &comment).await;
                run.events
                    .extend(halted.then_some(RolloutEvent::Halted { stage, comment }));
                Ok(())
            }
        };
        if let Err(err) = result {
            run.error = Some(err.to_string());
            out.moving = true;
            return run;
        }
    }
    out.moving = true;
    run
}

/// CancelJob, not forced, with `reason_code`; whether it went through. A failure is not an
/// error of the pass: another driver may have cancelled the job a moment ago, and the next read
/// tells.
async fn cancel(api: &dyn JobsApi, job_id: &str, reason_code: &str, comment: &str) -> bool {
    api.cancel_job_with_reason(job_id, reason_code, comment)
        .await
        .is_ok()
}

/// Starts stage `to`, deciding again from a fresh read: only a driver that still sees `from`'s
/// gate passed promotes, so a stale driver never skips a gate.
async fn promote(
    api: &dyn JobsApi,
    job_id: &str,
    plan: &RolloutPlan,
    from: usize,
    to: usize,
    run: &mut RolloutRun,
) -> Result<(), ApiError> {
    let Some((again, arn, targets)) = read(api, job_id, plan).await? else {
        return Ok(());
    };
    let Decision::Promote {
        from: f,
        to: t,
        baseline,
        add,
    } = again.decision
    else {
        return Ok(());
    };
    if (f, t) != (from, to) {
        return Ok(());
    }
    let name = plan.spec.stages[to].name.clone();
    let tags = BTreeMap::from([
        (STAGE_TAG.to_string(), name.clone()),
        (baseline_key(&name), baseline.tag_value()),
    ]);
    api.tag_resource(&arn, &tags).await?;
    if !add.is_empty() {
        associate(api, job_id, &add, &targets).await?;
    }
    // The soak and the approval were the left stage's: consumed once its successor is on the
    // job (a driver stopped before this keeps them, so the completion needs no new soak).
    api.untag_resource(&arn, &[GATE_HELD_TAG.to_string(), APPROVED_TAG.to_string()])
        .await?;
    run.events.push(RolloutEvent::Promoted {
        from: plan.spec.stages[from].name.clone(),
        to: name,
    });
    Ok(())
}

/// AssociateTargetsWithJob of the targets not on the job yet; a failure because another driver
/// associated them first counts as done.
async fn associate(
    api: &dyn JobsApi,
    job_id: &str,
    add: &[String],
    targets: &BTreeSet<String>,
) -> Result<(), ApiError> {
    let add: Vec<String> = add
        .iter()
        .filter(|t| !targets.contains(*t))
        .cloned()
        .collect();
    if add.is_empty() {
        return Ok(());
    }
    match api.associate_targets(job_id, &add).await {
        Ok(()) => Ok(()),
        Err(err) => {
            let now = api.describe_job(job_id).await?;
            let on_job = now.is_some_and(|d| {
                add.iter()
                    .all(|a| d.spec.targets.contains(&Target::Arn(a.clone())))
            });
            if on_job {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

/// DescribeJob and ListTagsForResource, judged: the evaluation, the job ARN and its targets.
async fn read(
    api: &dyn JobsApi,
    job_id: &str,
    plan: &RolloutPlan,
) -> Result<Option<(Evaluation, String, BTreeSet<String>)>, ApiError> {
    let Some(description) = api.describe_job(job_id).await? else {
        return Ok(None);
    };
    let tags = api.list_tags(&description.job_arn).await?;
    let targets = rollout::job_target_arns(&description);
    let now = epoch(api.server_time().unwrap_or_else(SystemTime::now)).unwrap_or(0);
    let eval = rollout::evaluate(
        &plan.spec,
        &plan.stage_targets,
        &rollout::Observation::of(&description, &targets, &tags, now),
    );
    Ok(Some((eval, description.job_arn, targets)))
}
