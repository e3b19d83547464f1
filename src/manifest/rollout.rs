//! `kind: Rollout` manifests: the checks on stages and gates, and the rollout's one job.
//!
//! The job is checked by the same semantic rules as a `kind: Job`, through a view of the YAML in
//! which `/spec` is the rollout's `spec.job` plus every stage's targets, so each diagnostic still
//! points at the line the user wrote.

use std::sync::Arc;

use serde_json::Value;

use super::diagnostic::{Diagnostic, SourceFile};
use super::load::FoundFile;
use super::model::{MinSucceeded, RolloutManifest};
use super::rule::Rule;
use super::yaml::{Key, Location, Node, NodeKind, Scalar};
use crate::domain::rollout::{Gate, RolloutSpec, Stage, Threshold, FIXED_STATE_TAGS, MAX_TARGETS};
use crate::domain::spec::{JobSpec, Target};
use crate::domain::{DesiredJob, Origin};

/// AWS allows 50 tags per resource.
const MAX_TAGS: usize = 50;

/// Checks a Rollout that passed the schema; returns its job when nothing is wrong.
pub(super) fn check(
    root: &Node,
    instance: Value,
    file: &Arc<SourceFile>,
    found: &FoundFile,
    out: &mut Vec<Diagnostic>,
) -> Option<DesiredJob> {
    let manifest: RolloutManifest = super::parse_manifest(instance, "Rollout", root, file, out)?;
    let before = out.iter().filter(|d| d.is_error()).count();
    let at = |pointer: &str| root.pointer(pointer).map_or(root.location, |n| n.location);

    // Every stage's targets once, in stage order; each stage keeps the indexes of its own.
    let mut union: Vec<(Target, String)> = Vec::new();
    let mut stages = Vec::new();
    let default_deadline = duration(
        manifest.spec.deadline.as_deref(),
        "/spec/deadline",
        "deadline",
        &at,
        file,
        out,
    )
    .flatten();
    for (i, stage) in manifest.spec.stages.iter().enumerate() {
        let mut indexes = Vec::new();
        let mut adds = false;
        for (j, target) in stage.targets.iter().enumerate() {
            let index = match union.iter().position(|(t, _)| t == target) {
                Some(index) => index,
                None => {
                    adds = true;
                    union.push((target.clone(), format!("/spec/stages/{i}/targets/{j}")));
                    union.len() - 1
                }
            };
            if !indexes.contains(&index) {
                indexes.push(index);
            }
        }
        if !adds {
            out.push(
                Diagnostic::error(
                    Rule::RolloutStageAddsNothing,
                    file,
                    Some(at(&format!("/spec/stages/{i}/targets"))),
                    format!(
                        "stage `{}` adds no target that earlier stages do not already have",
                        stage.name
                    ),
                )
                .with_help("a stage widens the rollout's job; give it at least one new thing or thing group"),
            );
        }
        if let Some(first) = manifest.spec.stages[..i]
            .iter()
            .position(|s| s.name == stage.name)
        {
            out.push(
                Diagnostic::error(
                    Rule::RolloutDuplicateStage,
                    file,
                    Some(at(&format!("/spec/stages/{i}/name"))),
                    format!("stage `{}` is declared twice", stage.name),
                )
                .with_related(
                    "first declared",
                    file,
                    at(&format!("/spec/stages/{first}/name")),
                )
                .with_help("stage names identify stages in AWS tags and in `jobctl promote --stage`; rename one"),
            );
        }
        let gate = stage.gate.as_ref().and_then(|g| gate(g, i, &at, file, out));
        let own = format!("/spec/stages/{i}/deadline");
        let deadline = match &stage.deadline {
            Some(text) => duration(Some(text), &own, "deadline", &at, file, out).flatten(),
            None => default_deadline,
        };
        let targets_at = root
            .key_at(&format!("/spec/stages/{i}/targets"))
            .map_or_else(|| at(&format!("/spec/stages/{i}")), |k| k.location);
        stages.push(Stage {
            name: stage.name.clone(),
            targets: indexes,
            gate,
            deadline,
            origin: Origin {
                file: file.display.clone(),
                line: targets_at.line,
                col: targets_at.col,
            },
        });
    }
    if union.len() > MAX_TARGETS {
        out.push(
            Diagnostic::error(
                Rule::RolloutTooManyTargets,
                file,
                Some(at(&union[MAX_TARGETS].1)),
                format!(
                    "the stages have {} targets in all; the limit is {MAX_TARGETS}",
                    union.len()
                ),
            )
            .with_help("AWS allows 100 targets per job, and a rollout is one job; target thing groups instead of many things"),
        );
    }
    let user_tags = manifest
        .spec
        .job
        .get("tags")
        .and_then(Value::as_object)
        .map_or(0, serde_json::Map::len);
    let tags = user_tags + FIXED_STATE_TAGS + stages.len();
    if tags > MAX_TAGS {
        let pointer = if user_tags > 0 {
            "/spec/job/tags"
        } else {
            "/spec/stages"
        };
        out.push(
            Diagnostic::error(
                Rule::RolloutTooManyTags,
                file,
                Some(at(pointer)),
                format!(
                    "the rollout's job would carry {tags} tags ({user_tags} of yours, {} of jobctl's state); the limit is {MAX_TAGS}",
                    FIXED_STATE_TAGS + stages.len()
                ),
            )
            .with_help("jobctl keeps the rollout's state in tags (six, plus one per stage); remove tags or stages"),
        );
    }

    // The rollout's job: `spec.job` plus every stage's targets, always CONTINUOUS.
    let mut job = manifest.spec.job.clone();
    job.insert(
        "targets".into(),
        serde_json::to_value(union.iter().map(|(t, _)| t).collect::<Vec<_>>())
            .unwrap_or(Value::Null),
    );
    job.insert("targetSelection".into(), Value::from("CONTINUOUS"));
    let spec: JobSpec = match serde_json::from_value(Value::Object(job)) {
        Ok(spec) => spec,
        Err(err) => {
            out.push(Diagnostic::error(
                Rule::ManifestInvalid,
                file,
                Some(at("/spec/job")),
                format!("the rollout's job does not match the Job format: {err}"),
            ));
            return None;
        }
    };
    let view = job_view(root, &union);
    let spec = super::check_spec(spec, &view, file, found, false, out)?;
    if out.iter().filter(|d| d.is_error()).count() > before {
        return None;
    }
    let name_location = at("/metadata/name");
    Some(DesiredJob {
        job_id: manifest.metadata.name,
        max_failure_rate: manifest.metadata.max_failure_rate,
        spec: Box::new(spec),
        origin: Origin {
            file: file.display.clone(),
            line: name_location.line,
            col: name_location.col,
        },
        rollout: Some(RolloutSpec { stages }),
        key_origins: super::key_origins(&view, file),
    })
}

fn gate(
    manifest: &super::model::GateManifest,
    stage: usize,
    at: &dyn Fn(&str) -> Location,
    file: &Arc<SourceFile>,
    out: &mut Vec<Diagnostic>,
) -> Option<Gate> {
    let pointer = format!("/spec/stages/{stage}/gate");
    let mut ok = true;
    if manifest.min_succeeded.is_none()
        && manifest.max_failure_rate.is_none()
        && manifest.max_failures.is_none()
    {
        ok = false;
        out.push(
            Diagnostic::error(
                Rule::RolloutGateThreshold,
                file,
                Some(at(&pointer)),
                "the gate has no threshold: give `minSucceeded`, `maxFailureRate`, `maxFailures` or some of them",
            )
            .with_help("a gate is judged on measured success, e.g. `{minSucceeded: 95%, maxFailureRate: 2}`; for a manual pause after a stage add `approval: true` to such a gate"),
        );
    }
    let min_succeeded = match &manifest.min_succeeded {
        None => None,
        Some(MinSucceeded::Count(n)) => Some(Threshold::Count(*n)),
        Some(MinSucceeded::Percent(text)) => match text.trim_end_matches('%').parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Some(Threshold::Percent(p)),
            _ => {
                ok = false;
                out.push(
                    Diagnostic::error(
                        Rule::RolloutGateThreshold,
                        file,
                        Some(at(&format!("{pointer}/minSucceeded"))),
                        format!("`minSucceeded` `{text}` is not a share between 0% and 100%"),
                    )
                    .with_help("write a number of things (`380`) or a share of the stage (`95%`)"),
                );
                None
            }
        },
    };
    let soak = duration(
        manifest.soak.as_deref(),
        &format!("{pointer}/soak"),
        "soak",
        at,
        file,
        out,
    );
    ok &= soak.is_some();
    ok.then(|| Gate {
        min_succeeded,
        max_failure_rate: manifest.max_failure_rate,
        max_failures: manifest.max_failures,
        sample: manifest.sample,
        soak: soak.flatten().unwrap_or_default(),
        approval: manifest.approval.unwrap_or(false),
    })
}

/// An optional duration field (`soak`, `deadline`): `Some(None)` when absent, `None` (with a
/// diagnostic) when it is not a duration.
fn duration(
    text: Option<&str>,
    pointer: &str,
    field: &str,
    at: &dyn Fn(&str) -> Location,
    file: &Arc<SourceFile>,
    out: &mut Vec<Diagnostic>,
) -> Option<Option<std::time::Duration>> {
    let Some(text) = text else {
        return Some(None);
    };
    match humantime::parse_duration(text) {
        Ok(d) => Some(Some(d)),
        Err(err) => {
            out.push(
                Diagnostic::error(
                    Rule::RolloutDuration,
                    file,
                    Some(at(pointer)),
                    format!("`{field}` `{text}` is not a duration: {err}"),
                )
                .with_help("write a duration such as `30m`, `2h` or `1h30m`"),
            );
            None
        }
    }
}

/// The manifest as a Job would be written: `/spec` is the rollout's `spec.job`, with
/// `/spec/targets` listing the nodes of every stage's targets (once each).
fn job_view(root: &Node, union: &[(Target, String)]) -> Node {
    let NodeKind::Map(entries) = &root.kind else {
        return root.clone();
    };
    let stages_location = root
        .pointer("/spec/stages")
        .map_or(root.location, |n| n.location);
    let key = |name: &str, location: Location| Key {
        name: name.to_string(),
        location,
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        if k.name != "spec" {
            out.push((k.clone(), v.clone()));
            continue;
        }
        let mut spec_entries = match root.pointer("/spec/job").map(|n| &n.kind) {
            Some(NodeKind::Map(job)) => job.clone(),
            _ => Vec::new(),
        };
        let targets: Vec<Node> = union
            .iter()
            .filter_map(|(_, pointer)| root.pointer(pointer).cloned())
            .collect();
        spec_entries.push((
            key("targets", stages_location),
            Node {
                kind: NodeKind::Seq(targets),
                location: stages_location,
            },
        ));
        spec_entries.push((
            key("targetSelection", stages_location),
            Node {
                kind: NodeKind::Scalar {
                    value: Scalar::Str("CONTINUOUS".into()),
                    plain: None,
                },
                location: stages_location,
            },
        ));
        let job_location = root.pointer("/spec/job").map_or(v.location, |n| n.location);
        out.push((
            k.clone(),
            Node {
                kind: NodeKind::Map(spec_entries),
                location: job_location,
            },
        ));
    }
    Node {
        kind: NodeKind::Map(out),
        location: root.location,
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::spec::TargetSelection;

    #[test]
    fn a_rollout_becomes_one_continuous_job_holding_every_stage_target_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.yaml");
        std::fs::write(
            &path,
            "apiVersion: jobctl/v1\nkind: Rollout\nmetadata:\n  name: fw-1\nspec:\n  job:\n    description: fw\n    document: {firmware: 1}\n    tags: {team: bulbs}\n  stages:\n    - name: canary\n      targets: [{thingGroup: C}]\n      gate: {minSucceeded: 20, maxFailureRate: 2, soak: 30m}\n    - name: wave1\n      targets: [{thingGroup: W}, {thingGroup: C}]\n      gate: {maxFailureRate: 1, approval: true}\n    - name: fleet\n      targets: [{thingGroup: All}]\n",
        )
        .expect("write");
        let set = crate::manifest::load(&[path]);
        assert_eq!(set.error_count(), 0, "{:?}", set.diagnostics);
        let [job] = set.jobs.as_slice() else {
            panic!("one job expected: {:?}", set.jobs)
        };
        assert_eq!(job.job_id, "fw-1");
        assert_eq!(job.spec.target_selection, Some(TargetSelection::Continuous));
        assert_eq!(job.spec.targets.len(), 3);
        let rollout = job.rollout.as_ref().expect("rollout");
        let names: Vec<_> = rollout.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["canary", "wave1", "fleet"]);
        assert_eq!(rollout.stages[1].targets, vec![1, 0]);
        assert_eq!(rollout.stages[2].targets, vec![2]);
        let gate = rollout.stages[0].gate.as_ref().expect("gate");
        assert_eq!(gate.soak, std::time::Duration::from_secs(1800));
        assert_eq!(
            gate.min_succeeded,
            Some(crate::domain::rollout::Threshold::Count(20))
        );
        assert!(rollout.stages[1].gate.as_ref().is_some_and(|g| g.approval));
        assert!(rollout.stages[2].gate.is_none());
    }
}
