//! The plan's refusal of changes to a rollout's started stages. Pure: the manifest's stages and
//! what the rollout's job records in AWS (its targets and state tags) in, the problems out.
//!
//! A stage has started when AWS says so: the first stage when the job was created, the stage the
//! `jobctl:stage` tag names, and every stage with a `jobctl:stage/<name>` baseline tag, and every
//! stage before the last of those in the manifest. Devices of a started stage already have
//! executions, so its targets are fixed: AWS cannot take a target off a job, and a target added
//! now would run outside the stage's gate and count toward numbers the gate has already judged.
//! A different set of targets is a new rollout under a new name, as for a changed document.
//! Stages that have not started may change freely: each promotion associates the next stage's
//! targets as the manifest declares them then.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::Plan;
use super::refresh::JobError;
use super::rollout::{Baseline, StageTargets};
use crate::domain::rollout::{RolloutSpec, STAGE_BASELINE_PREFIX, STAGE_TAG};

/// The fix every problem here has.
const FIX: &str = "to change a started stage, make a new rollout: give metadata.name a new name (its job starts again from the first stage, and its devices run it again)";

/// One refused change: where it is (a stage index, or `None` for the rollout as a whole, when
/// a started stage is no longer declared) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageProblem {
    pub stage: Option<usize>,
    pub message: String,
}

/// The stages AWS records as started, by manifest index, and the names it records that the
/// manifest no longer declares.
fn started(spec: &RolloutSpec, tags: &BTreeMap<String, String>) -> (usize, Vec<String>) {
    let mut names: Vec<&str> = tags
        .get(STAGE_TAG)
        .map(String::as_str)
        .into_iter()
        .collect();
    names.extend(
        tags.keys()
            .filter_map(|k| k.strip_prefix(STAGE_BASELINE_PREFIX)),
    );
    let mut last = 0;
    let mut unknown = Vec::new();
    for name in names {
        match spec.stage_index(name) {
            Some(i) => last = last.max(i),
            None if !unknown.iter().any(|u| u == name) => unknown.push(name.to_string()),
            None => {}
        }
    }
    (last, unknown)
}

/// `thinggroup/Name` or `thing/Name` out of an ARN, for messages.
fn short(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

fn list(arns: &[&String]) -> String {
    arns.iter()
        .map(|a| format!("`{}`", short(a)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the manifest changes in the rollout's started stages, given the job's targets and tags
/// in AWS. Empty when nothing started was changed.
pub fn started_stage_changes(
    spec: &RolloutSpec,
    stage_targets: &StageTargets,
    job_targets: &BTreeSet<String>,
    tags: &BTreeMap<String, String>,
) -> Vec<StageProblem> {
    let mut out = Vec::new();
    let (current, unknown) = started(spec, tags);
    for name in unknown {
        out.push(StageProblem {
            stage: None,
            message: format!(
                "stage `{name}` has started (the rollout's job in AWS records it) but the manifest no longer declares a stage of that name: a started stage cannot be renamed or removed"
            ),
        });
    }
    // Baselines are written as stages start, so their times follow the stages' real order.
    let times: Vec<(usize, i64)> = spec
        .stages
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let value = tags.get(&format!("{STAGE_BASELINE_PREFIX}{}", s.name))?;
            Some((i, Baseline::parse(value)?.started_at))
        })
        .collect();
    if let Some(&(i, _)) = times.iter().find(|(i, _)| *i == 0) {
        out.push(StageProblem {
            stage: Some(i),
            message: format!(
                "stage `{}` started after the rollout's first stage (the job records when), but the manifest now puts it first: started stages cannot be reordered",
                spec.stages[i].name
            ),
        });
    }
    for pair in times.windows(2) {
        let ((a, ta), (b, tb)) = (pair[0], pair[1]);
        if ta > tb {
            out.push(StageProblem {
                stage: Some(b),
                message: format!(
                    "stages `{}` and `{}` started in the other order (the job records when each started): started stages cannot be reordered",
                    spec.stages[a].name, spec.stages[b].name
                ),
            });
        }
    }

    let empty = Vec::new();
    let targets = |i: usize| stage_targets.get(i).unwrap_or(&empty);
    let declared: BTreeSet<&String> = (0..=current).flat_map(|i| targets(i).iter()).collect();

    // A target on the job that no started stage declares any more: narrowed, moved or removed.
    let dropped: Vec<&String> = job_targets
        .iter()
        .filter(|t| !declared.contains(t))
        .collect();
    if !dropped.is_empty() {
        let later = (current + 1..spec.stages.len())
            .find(|&i| dropped.iter().any(|t| targets(i).contains(t)));
        out.push(StageProblem {
            stage: Some(later.unwrap_or(current)),
            message: format!(
                "{} {} on the rollout's job (a started stage added {}), but no started stage declares {} any more: a started stage cannot be narrowed, and its targets cannot move to a later stage, because AWS cannot take a target off a job and its devices already have executions",
                list(&dropped),
                if dropped.len() == 1 { "is" } else { "are" },
                if dropped.len() == 1 { "it" } else { "them" },
                if dropped.len() == 1 { "it" } else { "them" },
            ),
        });
    }

    // A started stage's target that is not on the job: widened. A stage after the first (which
    // CreateJob starts whole) may lack all of its own targets: its tag is written before
    // AssociateTargetsWithJob adds them in one call (a crash in between is completed), and a tag
    // can be written by anyone who may tag the job (a forged one widens nothing, and is no
    // manifest error). Once any of its own targets is on the job, that call happened.
    for i in 0..=current.min(spec.stages.len().saturating_sub(1)) {
        let missing: Vec<&String> = targets(i)
            .iter()
            .filter(|t| !job_targets.contains(*t))
            .collect();
        if missing.is_empty() {
            continue;
        }
        if i > 0 {
            let earlier: BTreeSet<&String> = (0..i).flat_map(|j| targets(j).iter()).collect();
            let associated = targets(i)
                .iter()
                .any(|t| !earlier.contains(t) && job_targets.contains(t));
            if !associated {
                continue;
            }
        }
        out.push(StageProblem {
            stage: Some(i),
            message: format!(
                "stage `{}` has started, so its targets cannot change, and the manifest adds {} to it: its devices already have executions, and a target added to a started stage would run outside its gate and count toward numbers the gate has already judged",
                spec.stages[i].name,
                list(&missing)
            ),
        });
    }
    out
}

/// Takes out of `plan` the rollouts whose manifests change a started stage, and returns one
/// error per problem, at the stage's `targets` in the manifest (or the rollout's name, for a
/// stage no longer declared). An error, not a blocked change: the plan exits 1 and apply
/// changes nothing, and the rollout is not advanced while the manifest says something else.
pub fn refuse_started_stage_changes(
    plan: &mut Plan,
    rollout_reads: &std::collections::HashMap<String, Box<crate::domain::RemoteJob>>,
) -> Vec<JobError> {
    let mut errors = Vec::new();
    plan.changes.retain(|change| {
        let (Some(rollout), Some(remote)) =
            (&change.rollout, rollout_reads.get(&change.resource.name))
        else {
            return true;
        };
        let (job_targets, tags) = super::plan::rollout_job_state(remote);
        let problems =
            started_stage_changes(&rollout.spec, &rollout.stage_targets, &job_targets, &tags);
        for problem in &problems {
            let source = problem
                .stage
                .and_then(|i| rollout.spec.stages.get(i))
                .map(|s| s.origin.to_string())
                .or_else(|| change.source.clone());
            errors.push(JobError {
                resource: change.resource.clone(),
                source,
                message: format!("{}; {FIX}", problem.message),
                operation: None,
                code: None,
            });
        }
        problems.is_empty()
    });
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rollout::Stage;

    /// canary → wave1 → fleet, one thing group each.
    fn spec(names: &[&str]) -> RolloutSpec {
        RolloutSpec {
            stages: names
                .iter()
                .enumerate()
                .map(|(i, name)| Stage {
                    deadline: None,
                    name: (*name).into(),
                    targets: vec![i],
                    gate: None,
                    origin: crate::domain::Origin::default(),
                })
                .collect(),
        }
    }

    fn arns(names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|n| format!("arn:aws:iot:us-east-1:123456789012:thinggroup/{n}"))
            .collect()
    }

    fn stages(groups: &[&[&str]]) -> StageTargets {
        groups.iter().map(|g| arns(g)).collect()
    }

    fn job(groups: &[&str]) -> BTreeSet<String> {
        arns(groups).into_iter().collect()
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    const THREE: &[&str] = &["canary", "wave1", "fleet"];
    const BASE_WAVE1: &str = "t=2000/s=20/f=0/r=0/o=0";

    #[test]
    fn an_unchanged_rollout_has_no_problem_at_any_stage() {
        let targets = stages(&[&["C"], &["W"], &["All"]]);
        let at_canary = started_stage_changes(
            &spec(THREE),
            &targets,
            &job(&["C"]),
            &tags(&[("jobctl:stage", "canary")]),
        );
        assert_eq!(at_canary, vec![]);
        let at_wave1 = started_stage_changes(
            &spec(THREE),
            &targets,
            &job(&["C", "W"]),
            &tags(&[
                ("jobctl:stage", "wave1"),
                ("jobctl:stage/wave1", BASE_WAVE1),
            ]),
        );
        assert_eq!(at_wave1, vec![]);
    }

    #[test]
    fn widening_the_started_first_stage_is_refused_at_that_stage() {
        let problems = started_stage_changes(
            &spec(THREE),
            &stages(&[&["C", "Extra"], &["W"], &["All"]]),
            &job(&["C"]),
            &tags(&[("jobctl:stage", "canary")]),
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].stage, Some(0));
        assert!(
            problems[0].message.contains("stage `canary` has started")
                && problems[0].message.contains("`thinggroup/Extra`"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn narrowing_a_started_stage_is_refused() {
        let problems = started_stage_changes(
            &spec(THREE),
            &stages(&[&["C"], &["W"], &["All"]]),
            &job(&["C", "Old"]),
            &tags(&[("jobctl:stage", "canary")]),
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].stage, Some(0));
        assert!(
            problems[0]
                .message
                .contains("`thinggroup/Old` is on the rollout's job"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn moving_a_started_target_to_a_later_stage_points_at_that_stage() {
        let problems = started_stage_changes(
            &spec(THREE),
            &stages(&[&["C"], &["W", "Old"], &["All"]]),
            &job(&["C", "Old"]),
            &tags(&[("jobctl:stage", "canary")]),
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].stage, Some(1));
    }

    #[test]
    fn widening_an_earlier_started_stage_is_refused() {
        let problems = started_stage_changes(
            &spec(THREE),
            &stages(&[&["C", "Extra"], &["W"], &["All"]]),
            &job(&["C", "W"]),
            &tags(&[
                ("jobctl:stage", "wave1"),
                ("jobctl:stage/wave1", BASE_WAVE1),
            ]),
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].stage, Some(0));
    }

    #[test]
    fn widening_the_current_stage_after_its_targets_were_added_is_refused() {
        let problems = started_stage_changes(
            &spec(THREE),
            &stages(&[&["C"], &["W", "Extra"], &["All"]]),
            &job(&["C", "W"]),
            &tags(&[
                ("jobctl:stage", "wave1"),
                ("jobctl:stage/wave1", BASE_WAVE1),
            ]),
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].stage, Some(1));
    }

    #[test]
    fn a_started_stage_whose_targets_a_crash_left_unassociated_is_not_a_change() {
        // The tag is written before AssociateTargetsWithJob; the machine resumes the call.
        let problems = started_stage_changes(
            &spec(THREE),
            &stages(&[&["C"], &["W"], &["All"]]),
            &job(&["C"]),
            &tags(&[
                ("jobctl:stage", "wave1"),
                ("jobctl:stage/wave1", BASE_WAVE1),
            ]),
        );
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn stages_that_have_not_started_may_change_freely() {
        let problems = started_stage_changes(
            &spec(&["canary", "wave1", "wave2", "fleet"]),
            &stages(&[&["C"], &["W", "W2"], &["New"], &["All", "More"]]),
            &job(&["C"]),
            &tags(&[("jobctl:stage", "canary")]),
        );
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn renaming_or_removing_a_started_stage_is_refused() {
        let renamed = started_stage_changes(
            &spec(&["first", "wave1", "fleet"]),
            &stages(&[&["C"], &["W"], &["All"]]),
            &job(&["C"]),
            &tags(&[("jobctl:stage", "canary")]),
        );
        assert_eq!(renamed.len(), 1, "{renamed:?}");
        assert_eq!(renamed[0].stage, None);
        assert!(
            renamed[0].message.contains("stage `canary` has started")
                && renamed[0].message.contains("renamed or removed"),
            "{}",
            renamed[0].message
        );
        let removed = started_stage_changes(
            &spec(&["canary", "fleet"]),
            &stages(&[&["C"], &["All"]]),
            &job(&["C", "W"]),
            &tags(&[
                ("jobctl:stage", "wave1"),
                ("jobctl:stage/wave1", BASE_WAVE1),
            ]),
        );
        assert!(
            removed
                .iter()
                .any(|p| p.stage.is_none() && p.message.contains("stage `wave1` has started")),
            "{removed:?}"
        );
    }

    #[test]
    fn reordering_started_stages_is_refused() {
        // wave1 started at 2000, wave2 at 3000; the manifest swaps them.
        let problems = started_stage_changes(
            &spec(&["canary", "wave2", "wave1", "fleet"]),
            &stages(&[&["C"], &["W2"], &["W"], &["All"]]),
            &job(&["C", "W", "W2"]),
            &tags(&[
                ("jobctl:stage", "wave2"),
                ("jobctl:stage/wave1", BASE_WAVE1),
                ("jobctl:stage/wave2", "t=3000/s=40/f=0/r=0/o=0"),
            ]),
        );
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("started in the other order")),
            "{problems:?}"
        );
        // A later stage moved first: it has a baseline, which the first stage never has.
        let first = started_stage_changes(
            &spec(&["wave1", "canary", "fleet"]),
            &stages(&[&["W"], &["C"], &["All"]]),
            &job(&["C", "W"]),
            &tags(&[
                ("jobctl:stage", "wave1"),
                ("jobctl:stage/wave1", BASE_WAVE1),
            ]),
        );
        assert!(
            first
                .iter()
                .any(|p| p.stage == Some(0) && p.message.contains("cannot be reordered")),
            "{first:?}"
        );
    }

    #[test]
    fn a_stale_stage_tag_behind_a_later_baseline_still_counts_the_later_stage_as_started() {
        // A stale driver rewrote `wave1` after `fleet` had started: fleet's targets are no change.
        let problems = started_stage_changes(
            &spec(THREE),
            &stages(&[&["C"], &["W"], &["All"]]),
            &job(&["C", "W", "All"]),
            &tags(&[
                ("jobctl:stage", "wave1"),
                ("jobctl:stage/wave1", BASE_WAVE1),
                ("jobctl:stage/fleet", "t=4000/s=60/f=0/r=0/o=0"),
            ]),
        );
        assert_eq!(problems, vec![]);
    }
}
