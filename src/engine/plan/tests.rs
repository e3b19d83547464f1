//! Unit tests of the planning rules: one test per rule, plain data in and out.

use super::*;
use crate::domain::ownership::{INSTANCE_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE};
use crate::domain::spec::{TagValue, Target, TimeoutConfig};
use crate::domain::{JobProgress, Origin};
use serde_json::json;

const GROUP: &str = "arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs";
const LAMPS: &str = "arn:aws:iot:us-east-1:123456789012:thinggroup/Lamps";

fn spec() -> JobSpec {
    serde_json::from_value(json!({
        "description": "Bulb firmware",
        "targets": [GROUP],
        "document": {"operation": "update", "version": "4.2.0"},
        "timeoutConfig": {"inProgressTimeoutInMinutes": 60},
        "tags": {"team": "lighting"}
    }))
    .expect("valid spec")
}

fn desired(id: &str, spec: JobSpec) -> ResolvedJob {
    ResolvedJob {
        job_id: id.into(),
        spec: ResolvedSpec::from_arns(spec).expect("targets are ARNs"),
        origin: Origin {
            file: "jobs/a.yaml".into(),
            line: 4,
            col: 9,
        },
        max_failure_rate: None,
        rollout: None,
    }
}

fn options() -> Settings {
    Settings {
        instance: "prod".into(),
        ..Settings::default()
    }
}

/// Plans `jobs`, all read, against `observed`.
fn plan(jobs: &[ResolvedJob], observed: &Observed, settings: &Settings) -> Plan {
    let desired = Desired {
        jobs: jobs.to_vec(),
        ..Desired::default()
    };
    super::plan(&desired, observed, settings)
}

fn managed(mut spec: JobSpec, instance: &str) -> JobSpec {
    spec.tags
        .insert(MANAGED_BY_TAG.into(), TagValue(MANAGED_BY_VALUE.into()));
    spec.tags
        .insert(INSTANCE_TAG.into(), TagValue(instance.into()));
    spec
}

/// An account holding `jobs` (id, status, spec), all compared.
fn observed(jobs: Vec<(&str, JobStatus, JobSpec)>) -> Observed {
    let mut observed = Observed::default();
    for (id, status, spec) in jobs {
        let arn = format!("arn:aws:iot:us-east-1:123456789012:job/{id}");
        observed.listed.insert(
            id.into(),
            JobSummary {
                job_id: id.into(),
                job_arn: arn.clone(),
                status: status.clone(),
                completed_at: None,
                last_updated_at: None,
            },
        );
        observed.remote.insert(
            id.into(),
            Box::new(RemoteJob {
                job_id: id.into(),
                job_arn: arn,
                status,
                spec,
                progress: JobProgress::default(),
            }),
        );
    }
    observed
}

fn only(plan: &Plan) -> &Change {
    assert_eq!(plan.changes.len(), 1, "{:#?}", plan.changes);
    &plan.changes[0]
}

#[test]
fn missing_job_is_created_with_ownership_tags() {
    let plan = plan(&[desired("a", spec())], &Observed::default(), &options());
    let change = only(&plan);
    assert_eq!(change.action, Action::Create);
    assert_eq!(step_names(change), vec!["CreateJob"]);
    let tags = &change.create_spec().expect("spec").tags;
    assert_eq!(tags.get(INSTANCE_TAG), Some(&TagValue("prod".into())));
    assert_eq!(tags.get("team"), Some(&TagValue("lighting".into())));
}

#[test]
fn identical_job_is_unchanged_despite_defaults_and_order() {
    let mut want = spec();
    want.targets.push(Target::Arn(LAMPS.into()));
    let mut have = managed(want.clone(), "prod");
    have.targets.reverse();
    have.target_selection = Some(TargetSelection::Snapshot);
    let plan = plan(
        &[desired("a", want)],
        &observed(vec![("a", JobStatus::InProgress, have)]),
        &options(),
    );
    let change = only(&plan);
    assert_eq!(change.action, Action::Unchanged, "{:?}", change.fields);
    assert!(!plan.has_changes());
}

#[test]
fn mutable_fields_become_one_update_with_only_those_fields() {
    let mut want = spec();
    want.description = Some("new".into());
    want.timeout_config = Some(TimeoutConfig {
        in_progress_timeout_in_minutes: Some(30),
    });
    let plan = plan(
        &[desired("a", want)],
        &observed(vec![("a", JobStatus::InProgress, managed(spec(), "prod"))]),
        &options(),
    );
    let change = only(&plan);
    assert_eq!(change.action, Action::Update);
    assert!(change.blocked.is_none());
    match &change.steps[..] {
        [Step::UpdateJob { fields, update }] => {
            assert_eq!(fields, &vec!["description", "timeoutConfig"]);
            assert_eq!(update.description.as_deref(), Some("new"));
            assert!(update.abort_config.is_none());
        }
        other => panic!("unexpected steps {other:?}"),
    }
}

#[test]
fn tag_changes_use_the_tag_apis_and_leave_jobctl_tags_alone() {
    let mut want = spec();
    want.tags = BTreeMap::from([("owner".to_string(), TagValue("ops".into()))]);
    let plan = plan(
        &[desired("a", want)],
        &observed(vec![("a", JobStatus::InProgress, managed(spec(), "prod"))]),
        &options(),
    );
    let change = only(&plan);
    assert_eq!(change.action, Action::Update);
    assert_eq!(
        change.steps,
        vec![
            Step::TagResource {
                tags: BTreeMap::from([("owner".into(), "ops".into())])
            },
            Step::UntagResource {
                keys: vec!["team".into()]
            },
        ]
    );
}

#[test]
fn removing_a_mutable_config_forces_replacement() {
    let mut want = spec();
    want.timeout_config = None;
    let plan = plan(
        &[desired("a", want)],
        &observed(vec![("a", JobStatus::InProgress, managed(spec(), "prod"))]),
        &options(),
    );
    let change = only(&plan);
    assert_eq!(change.action, Action::Replace);
    assert_eq!(change.forced_by, vec!["timeoutConfig"]);
}

#[test]
fn immutable_change_is_a_blocked_replacement_without_allow_replace() {
    let mut want = spec();
    want.document = Some(json!({"operation": "update", "version": "4.2.1"}));
    let account = observed(vec![("a", JobStatus::InProgress, managed(spec(), "prod"))]);
    let plan1 = plan(&[desired("a", want.clone())], &account, &options());
    let change = only(&plan1);
    assert_eq!(change.action, Action::Replace);
    assert_eq!(change.forced_by, vec!["document"]);
    assert!(change
        .blocked
        .as_deref()
        .is_some_and(|b| b.contains("--allow-replace")));

    let allowed = Settings {
        allow_replace: true,
        ..options()
    };
    let plan2 = plan(&[desired("a", want)], &account, &allowed);
    let change = only(&plan2);
    assert!(change.blocked.is_none());
    assert_eq!(
        step_names(change),
        vec!["CancelJob", "DeleteJob", "WaitForDeletion", "CreateJob"]
    );
    assert_eq!(change.steps[1], Step::DeleteJob { force: true });
}

#[test]
fn finished_job_is_never_rerun_implicitly() {
    let mut want = spec();
    want.document = Some(json!({"operation": "update", "version": "4.2.1"}));
    let account = observed(vec![("a", JobStatus::Completed, managed(spec(), "prod"))]);
    let plan1 = plan(&[desired("a", want.clone())], &account, &options());
    assert_eq!(only(&plan1).blocked.as_deref(), Some(FINISHED_MESSAGE));

    let mut described = spec();
    described.description = Some("typo fixed".into());
    let plan2 = plan(&[desired("a", described)], &account, &options());
    assert_eq!(only(&plan2).action, Action::Update);
    assert_eq!(only(&plan2).blocked.as_deref(), Some(FINISHED_MESSAGE));

    let allowed = Settings {
        allow_replace: true,
        ..options()
    };
    let plan3 = plan(&[desired("a", want)], &account, &allowed);
    assert_eq!(
        step_names(only(&plan3)),
        vec!["DeleteJob", "WaitForDeletion", "CreateJob"]
    );
    assert_eq!(only(&plan3).steps[0], Step::DeleteJob { force: false });
}

#[test]
fn continuous_running_job_gains_targets_in_place() {
    let mut have = spec();
    have.target_selection = Some(TargetSelection::Continuous);
    let mut want = have.clone();
    want.targets.push(Target::Arn(LAMPS.into()));
    let plan = plan(
        &[desired("a", want)],
        &observed(vec![("a", JobStatus::InProgress, managed(have, "prod"))]),
        &options(),
    );
    let change = only(&plan);
    assert_eq!(change.action, Action::Update);
    assert_eq!(
        change.steps,
        vec![Step::AssociateTargetsWithJob {
            targets: vec![LAMPS.into()]
        }]
    );
}

#[test]
fn removing_a_target_or_changing_snapshot_targets_replaces() {
    let mut have = spec();
    have.target_selection = Some(TargetSelection::Continuous);
    have.targets.push(Target::Arn(LAMPS.into()));
    let mut want = have.clone();
    want.targets.pop();
    let account = observed(vec![("a", JobStatus::InProgress, managed(have, "prod"))]);
    assert_eq!(
        only(&plan(&[desired("a", want)], &account, &options())).forced_by,
        vec!["targets"]
    );

    let mut snapshot = spec();
    snapshot.targets.push(Target::Arn(LAMPS.into()));
    let account = observed(vec![("a", JobStatus::InProgress, managed(spec(), "prod"))]);
    assert_eq!(
        only(&plan(&[desired("a", snapshot)], &account, &options())).forced_by,
        vec!["targets"]
    );
}

#[test]
fn unmanaged_job_is_a_conflict_unless_adopted() {
    let account = observed(vec![("a", JobStatus::InProgress, spec())]);
    let plan1 = plan(&[desired("a", spec())], &account, &options());
    let change = only(&plan1);
    assert_eq!(change.ownership, Some(Ownership::Unmanaged));
    assert!(change
        .blocked
        .as_deref()
        .is_some_and(|b| b.contains("--adopt")));
    assert!(plan1.has_changes(), "a conflict is not a clean plan");

    let adopting = Settings {
        adopt: true,
        ..options()
    };
    let plan2 = plan(&[desired("a", spec())], &account, &adopting);
    let change = only(&plan2);
    assert!(change.blocked.is_none());
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.steps, vec![Step::Adopt]);
}

#[test]
fn another_instances_job_is_never_touched_even_with_adopt() {
    let account = observed(vec![(
        "a",
        JobStatus::InProgress,
        managed(spec(), "staging"),
    )]);
    let adopting = Settings {
        adopt: true,
        allow_replace: true,
        ..options()
    };
    let change = plan(&[desired("a", spec())], &account, &adopting)
        .changes
        .remove(0);
    assert!(change
        .blocked
        .as_deref()
        .is_some_and(|b| b.contains("`staging`")));
}

fn with_orphan(status: JobStatus, instance: Option<&str>) -> Observed {
    let mut account = Observed::default();
    account.listed.insert(
        "old".into(),
        JobSummary {
            job_id: "old".into(),
            job_arn: "arn:aws:iot:us-east-1:123456789012:job/old".into(),
            status,
            completed_at: None,
            last_updated_at: None,
        },
    );
    let tags = match instance {
        Some(i) => ownership_tags(i),
        None => BTreeMap::new(),
    };
    account.undeclared_tags.insert("old".into(), tags);
    account
}

#[test]
fn orphans_are_reported_and_only_pruned_on_request() {
    let account = with_orphan(JobStatus::InProgress, Some("prod"));
    let listed = plan(&[], &account, &options());
    assert!(listed.changes.is_empty());
    assert_eq!(listed.orphans[0].job_id, "old");

    let pruning = Settings {
        prune: true,
        ..options()
    };
    let pruned = plan(&[], &account, &pruning);
    assert_eq!(only(&pruned).action, Action::Cancel);
    assert_eq!(only(&pruned).steps, vec![Step::CancelJob { force: false }]);

    let forcing = Settings {
        prune: true,
        prune_force: true,
        ..options()
    };
    assert_eq!(
        only(&plan(&[], &account, &forcing)).steps,
        vec![Step::CancelJob { force: true }]
    );
}

#[test]
fn finished_orphans_are_deleted_only_with_prune_delete() {
    let account = with_orphan(JobStatus::Completed, Some("prod"));
    let pruning = Settings {
        prune: true,
        ..options()
    };
    assert!(plan(&[], &account, &pruning).changes.is_empty());
    let deleting = Settings {
        prune_delete: true,
        ..options()
    };
    let deleted = plan(&[], &account, &deleting);
    assert_eq!(only(&deleted).action, Action::Delete);
    assert_eq!(
        only(&deleted).steps,
        vec![Step::DeleteJob { force: false }, Step::WaitForDeletion],
        "waiting keeps deletions within AWS's limit of 10 in progress"
    );
}

#[test]
fn prune_never_touches_jobs_of_others() {
    let pruning = Settings {
        prune: true,
        prune_force: true,
        prune_delete: true,
        ..options()
    };
    for instance in [None, Some("staging")] {
        let account = with_orphan(JobStatus::InProgress, instance);
        let plan = plan(&[], &account, &pruning);
        assert!(plan.changes.is_empty(), "{instance:?}: {:?}", plan.changes);
        assert!(plan.orphans.is_empty());
    }
}

#[test]
fn prune_is_off_when_manifests_are_incomplete() {
    let account = with_orphan(JobStatus::InProgress, Some("prod"));
    let pruning = Settings {
        prune: true,
        ..options()
    };
    let desired = Desired {
        incomplete: Some("1 manifest failed to validate".into()),
        ..Desired::default()
    };
    let plan = super::plan(&desired, &account, &pruning);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.orphans.len(), 1);
    assert!(plan.notes[0].contains("prune is off"));
}

#[test]
fn finished_jobs_not_read_are_listed_as_not_compared() {
    let mut account = Observed::default();
    account.listed.insert(
        "a".into(),
        JobSummary {
            job_id: "a".into(),
            job_arn: "arn:aws:iot:us-east-1:123456789012:job/a".into(),
            status: JobStatus::Completed,
            completed_at: None,
            last_updated_at: None,
        },
    );
    let desired = Desired {
        unread: vec!["a".into()],
        ..Desired::default()
    };
    let plan = super::plan(&desired, &account, &options());
    assert!(plan.changes.is_empty());
    assert_eq!(
        plan.not_compared,
        vec![NotCompared {
            job_id: "a".into(),
            status: "COMPLETED".into()
        }]
    );
}

#[test]
fn job_being_deleted_is_created_after_the_deletion() {
    let mut account = Observed::default();
    account.listed.insert(
        "a".into(),
        JobSummary {
            job_id: "a".into(),
            job_arn: String::new(),
            status: JobStatus::DeletionInProgress,
            completed_at: None,
            last_updated_at: None,
        },
    );
    let plan = plan(&[desired("a", spec())], &account, &options());
    assert_eq!(
        step_names(only(&plan)),
        vec!["WaitForDeletion", "CreateJob"]
    );
}

#[test]
fn template_jobs_without_their_own_document_do_not_diff_on_it() {
    let mut want = spec();
    want.document = None;
    want.job_template_arn = Some("arn:aws:iot:us-east-1::jobtemplate/AWS-Reboot:1.0".into());
    let mut have = managed(want.clone(), "prod");
    have.document = Some(json!({"steps": ["reboot"]}));
    let plan = plan(
        &[desired("a", want)],
        &observed(vec![("a", JobStatus::InProgress, have)]),
        &options(),
    );
    assert_eq!(
        only(&plan).action,
        Action::Unchanged,
        "{:?}",
        only(&plan).fields
    );
}

#[test]
fn template_jobs_do_not_diff_on_values_their_manifest_leaves_to_the_template() {
    let mut want = spec();
    want.document = None;
    want.description = None;
    want.timeout_config = None;
    want.job_template_arn = Some("arn:aws:iot:us-east-1:123456789012:jobtemplate/fw".into());
    let mut have = managed(spec(), "prod");
    have.job_template_arn.clone_from(&want.job_template_arn);
    have.scheduling_config = Some(
        serde_json::from_value(json!({"maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 60}]}))
            .expect("scheduling"),
    );
    let account = observed(vec![("a", JobStatus::InProgress, have.clone())]);
    let plan1 = plan(&[desired("a", want.clone())], &account, &options());
    assert_eq!(
        only(&plan1).action,
        Action::Unchanged,
        "{:?}",
        only(&plan1).fields
    );

    // A value the manifest does give is compared, and a job without a template inherits nothing.
    want.timeout_config = Some(TimeoutConfig {
        in_progress_timeout_in_minutes: Some(5),
    });
    let plan2 = plan(&[desired("a", want.clone())], &account, &options());
    assert_eq!(only(&plan2).action, Action::Update);
    assert_eq!(only(&plan2).fields[0].field, "timeoutConfig");
    want.job_template_arn = None;
    have.job_template_arn = None;
    let plan3 = plan(
        &[desired("a", want)],
        &observed(vec![("a", JobStatus::InProgress, have)]),
        &options(),
    );
    assert_eq!(only(&plan3).action, Action::Replace);
}

#[test]
fn an_empty_root_never_prunes_without_allow_empty() {
    let account = with_orphan(JobStatus::InProgress, Some("prod"));
    let pruning = Settings {
        prune: true,
        ..options()
    };
    let desired = Desired {
        empty_roots: vec!["jobs".into()],
        ..Desired::default()
    };
    let refused = super::plan(&desired, &account, &pruning);
    let change = only(&refused);
    assert_eq!(change.action, Action::Cancel);
    assert!(
        change
            .blocked
            .as_deref()
            .is_some_and(|b| b.contains("--allow-empty")),
        "{change:?}"
    );
    assert_eq!(refused.prune.would_prune, 1);
    assert!(refused.prune.refused.is_some());

    let allowed = Settings {
        allow_empty: true,
        ..pruning
    };
    let pruned = super::plan(&desired, &account, &allowed);
    assert!(only(&pruned).blocked.is_none());
    assert_eq!(pruned.prune.refused, None);
}

#[test]
fn max_prune_refuses_a_run_that_would_prune_more() {
    let mut account = with_orphan(JobStatus::InProgress, Some("prod"));
    let second = with_orphan(JobStatus::InProgress, Some("prod"));
    let summary = second.listed["old"].clone();
    account.listed.insert(
        "older".into(),
        JobSummary {
            job_id: "older".into(),
            ..summary
        },
    );
    account
        .undeclared_tags
        .insert("older".into(), second.undeclared_tags["old"].clone());
    let capped = Settings {
        prune: true,
        max_prune: Some(1),
        ..options()
    };
    let refused = plan(&[], &account, &capped);
    assert_eq!(refused.prune.would_prune, 2);
    assert_eq!(refused.blocked().count(), 2, "{:?}", refused.changes);
    assert!(refused
        .prune
        .refused
        .as_deref()
        .is_some_and(|r| r.contains("--max-prune 1")));
    let enough = Settings {
        max_prune: Some(2),
        ..capped
    };
    let allowed = plan(&[], &account, &enough);
    assert_eq!(allowed.blocked().count(), 0);
    assert_eq!(allowed.prune.would_prune, 2);
}

#[test]
fn the_plan_counts_what_prune_would_take_even_when_it_is_off() {
    let account = with_orphan(JobStatus::InProgress, Some("prod"));
    let off = plan(&[], &account, &options());
    assert!(!off.prune.requested);
    assert_eq!(off.orphans.len(), 1);
    let desired = Desired {
        incomplete: Some("1 manifest failed to validate".into()),
        ..Desired::default()
    };
    let pruning = Settings {
        prune: true,
        ..options()
    };
    let held = super::plan(&desired, &account, &pruning);
    assert_eq!(held.prune.would_prune, 1);
    assert!(held.prune.refused.is_some());
    assert!(held.changes.is_empty());
}

/// A change's steps by operation name (CreateJob's spec is checked apart).
fn step_names(change: &Change) -> Vec<&'static str> {
    change.steps.iter().map(Step::name).collect()
}
