use super::*;
use crate::domain::{JobStatus, JobSummary};

fn summary(id: &str, status: JobStatus) -> JobSummary {
    JobSummary {
        job_id: id.to_string(),
        job_arn: format!("arn:aws:iot:us-east-1:123456789012:job/{id}"),
        status,
        completed_at: None,
        last_updated_at: None,
    }
}

fn owned_tags(instance: &str) -> BTreeMap<String, String> {
    crate::domain::ownership::ownership_tags(instance)
}

fn settings(prune: bool) -> Settings {
    Settings {
        instance: "prod".into(),
        prune,
        parallelism: 4,
        ..Settings::default()
    }
}

fn desired(unread: &[&str]) -> Desired {
    Desired {
        unread: unread.iter().map(|s| s.to_string()).collect(),
        ..Desired::default()
    }
}

#[test]
fn a_file_fingerprint_names_each_file_and_changes_with_one_byte() {
    let a = fingerprint([("jobs/a.yaml".to_string(), &b"x: 1\n"[..])]);
    let b = fingerprint([("jobs/a.yaml".to_string(), &b"x: 2\n"[..])]);
    assert_eq!(a.files.len(), 1);
    assert_eq!(a.files["jobs/a.yaml"].len(), 64);
    assert_ne!(a.total, b.total);
    assert_eq!(
        a,
        fingerprint([("jobs/a.yaml".to_string(), &b"x: 1\n"[..])]),
        "deterministic"
    );
    // Renaming a file moves the total too.
    let renamed = fingerprint([("jobs/b.yaml".to_string(), &b"x: 1\n"[..])]);
    assert_ne!(a.total, renamed.total);
}

#[test]
fn manifest_moves_name_each_file_added_removed_or_changed() {
    let before = fingerprint([
        ("a.yaml".to_string(), &b"a"[..]),
        ("b.yaml".to_string(), &b"b"[..]),
        ("c.yaml".to_string(), &b"c"[..]),
    ]);
    let after = fingerprint([
        ("a.yaml".to_string(), &b"a"[..]),
        ("b.yaml".to_string(), &b"B"[..]),
        ("d.json".to_string(), &b"d"[..]),
    ]);
    let moved = manifests_moved(&before, &after);
    let lines: Vec<String> = moved
        .iter()
        .map(|m| format!("{} {}", m.name, m.change))
        .collect();
    assert_eq!(
        lines,
        [
            "b.yaml changed since the plan",
            "c.yaml removed since the plan",
            "d.json added since the plan"
        ]
    );
    assert!(manifests_moved(&before, &before).is_empty());
}

#[test]
fn account_state_covers_declared_jobs_and_only_our_orphans_when_pruning() {
    let mut observed = Observed::default();
    observed
        .listed
        .insert("fw-1".into(), summary("fw-1", JobStatus::Completed));
    observed
        .listed
        .insert("mine".into(), summary("mine", JobStatus::InProgress));
    observed
        .listed
        .insert("theirs".into(), summary("theirs", JobStatus::InProgress));
    observed
        .undeclared_tags
        .insert("mine".into(), owned_tags("prod"));
    observed
        .undeclared_tags
        .insert("theirs".into(), owned_tags("staging"));
    let none = BTreeMap::new();
    let declared = desired(&["fw-1", "fw-9"]);

    let state = account_state(
        &declared,
        &observed,
        &BTreeSet::new(),
        &none,
        &settings(false),
    );
    let keys: Vec<&String> = state.resources.keys().collect();
    assert_eq!(
        keys,
        ["job/fw-1"],
        "a declared job absent from the account has no entry"
    );
    assert_eq!(state.resources["job/fw-1"].status, "COMPLETED");

    let pruning = account_state(
        &declared,
        &observed,
        &BTreeSet::new(),
        &none,
        &settings(true),
    );
    let keys: Vec<&String> = pruning.resources.keys().collect();
    assert_eq!(
        keys,
        ["job/fw-1", "job/mine"],
        "another instance's job is not ours"
    );
    assert_ne!(state.total, pruning.total);
}

#[test]
fn account_moves_say_what_changed_in_words() {
    let mut observed = Observed::default();
    observed
        .listed
        .insert("fw-1".into(), summary("fw-1", JobStatus::InProgress));
    let declared = desired(&["fw-1", "fw-9"]);
    let none = BTreeMap::new();
    let before = account_state(
        &declared,
        &observed,
        &BTreeSet::new(),
        &none,
        &settings(false),
    );
    observed
        .listed
        .insert("fw-1".into(), summary("fw-1", JobStatus::Completed));
    observed
        .listed
        .insert("fw-9".into(), summary("fw-9", JobStatus::InProgress));
    let after = account_state(
        &declared,
        &observed,
        &BTreeSet::new(),
        &none,
        &settings(false),
    );
    let lines: Vec<String> = account_moved(&before, &after, &settings(false))
        .iter()
        .map(|m| format!("{}: {}", m.name, m.change))
        .collect();
    assert_eq!(
        lines,
        [
            "job fw-1: status IN_PROGRESS -> COMPLETED",
            "job fw-9: created outside this plan (IN_PROGRESS)"
        ]
    );
    let gone: Vec<String> = account_moved(&after, &before, &settings(false))
        .iter()
        .map(|m| format!("{}: {}", m.name, m.change))
        .collect();
    assert_eq!(
        gone[1],
        "job fw-9: gone from the account since the plan (was IN_PROGRESS)"
    );
    assert!(account_moved(&before, &before, &settings(false)).is_empty());
}

#[test]
fn a_job_the_edited_options_leave_out_is_named_as_such_not_as_gone() {
    let mut observed = Observed::default();
    observed
        .listed
        .insert("fw-1".into(), summary("fw-1", JobStatus::InProgress));
    let none = BTreeMap::new();
    let before = account_state(
        &desired(&["fw-1"]),
        &observed,
        &BTreeSet::new(),
        &none,
        &settings(false),
    );
    let after = AccountState::default();
    let mut narrowed = settings(false);
    narrowed.only = Some(BTreeSet::from(["other".to_string()]));
    let moved = account_moved(&before, &after, &narrowed);
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(
        moved[0].change.contains("options.targets"),
        "{}",
        moved[0].change
    );
}

#[test]
fn tag_changes_of_an_orphan_are_named() {
    let mut observed = Observed::default();
    observed
        .listed
        .insert("old".into(), summary("old", JobStatus::InProgress));
    observed
        .undeclared_tags
        .insert("old".into(), owned_tags("prod"));
    let none = BTreeMap::new();
    let before = account_state(
        &desired(&[]),
        &observed,
        &BTreeSet::new(),
        &none,
        &settings(true),
    );
    let mut tags = owned_tags("prod");
    tags.insert("team".into(), "lighting".into());
    observed.undeclared_tags.insert("old".into(), tags);
    let after = account_state(
        &desired(&[]),
        &observed,
        &BTreeSet::new(),
        &none,
        &settings(true),
    );
    let moved = account_moved(&before, &after, &settings(false));
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].change, "tags changed");
}

fn saved_plan(requests: Vec<Value>) -> SavedPlan {
    SavedPlan {
        format: FORMAT.into(),
        jobctl_version: "0.0.0".into(),
        created_at: String::new(),
        roots: vec!["jobs".into()],
        // As a file holds them: `parallelism` is the run's own, not saved.
        options: Settings {
            parallelism: 0,
            ..settings(false)
        },
        scope: SavedScope {
            account: Some("123456789012".into()),
            region: "us-east-1".into(),
            endpoint: Some("http://127.0.0.1:1".into()),
            instance: "prod".into(),
        },
        manifests: fingerprint([("jobs/a.yaml".to_string(), &b"a"[..])]),
        account_state: AccountState::default(),
        plan: Value::Null,
        requests,
    }
}

fn current(saved: &SavedPlan) -> Current {
    Current {
        roots: saved.roots.clone(),
        scope: saved.scope.clone(),
        manifests: saved.manifests.clone(),
        account_state: saved.account_state.clone(),
        requests: saved.requests.clone(),
    }
}

#[test]
fn nothing_moved_means_the_plan_may_run() {
    let saved = saved_plan(vec![json!({"id": "fw-1", "action": "create"})]);
    assert!(moved(&saved, &current(&saved)).is_empty());
}

#[test]
fn another_endpoint_or_instance_is_named_and_the_account_is_not_compared() {
    let saved = saved_plan(Vec::new());
    let mut now = current(&saved);
    now.scope.endpoint = Some("http://127.0.0.1:2".into());
    now.scope.instance = "staging".into();
    now.account_state.resources.insert(
        "job/x".into(),
        ResourceState {
            status: "IN_PROGRESS".into(),
            tags: String::new(),
            sha256: "0".into(),
        },
    );
    let lines: Vec<String> = moved(&saved, &now)
        .iter()
        .map(|m| format!("{}: {}", m.name, m.change))
        .collect();
    assert_eq!(
        lines,
        [
            "endpoint: http://127.0.0.1:1 -> http://127.0.0.1:2",
            "instance: prod -> staging"
        ]
    );
}

#[test]
fn the_same_inputs_planning_differently_is_refused_too() {
    let saved = saved_plan(vec![json!({"id": "fw-1", "action": "create", "steps": []})]);
    let mut now = current(&saved);
    now.requests = vec![json!({"id": "fw-1", "action": "create", "steps": [{"operation": "X"}]})];
    let moved = moved(&saved, &now);
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].subject, Subject::Plan);
    assert_eq!(moved[0].change, "create would send different requests now");
    now.requests = Vec::new();
    let gone = requests_moved(&saved.requests, &now.requests);
    assert_eq!(gone[0].change, "planned to create, now nothing to do");
}

#[test]
fn plan_options_round_trip_into_the_same_settings() {
    let mut original = settings(true);
    original.only = Some(BTreeSet::from(["a".to_string()]));
    original.max_prune = Some(3);
    original.max_failure_rate = 2.5;
    // A saved plan is always planned again with its reads kept, to fingerprint the account.
    original.fingerprint_account = true;
    let json = serde_json::to_value(&original).expect("settings serialise");
    assert_eq!(json["targets"], serde_json::json!(["a"]));
    assert!(json.get("parallelism").is_none(), "{json}");
    let mut back: Settings = serde_json::from_value(json).expect("and read back");
    back.parallelism = original.parallelism;
    back.fingerprint_account = true;
    assert_eq!(original, back);
}

#[test]
fn a_file_of_another_format_or_a_newer_jobctl_is_a_clear_error() {
    let err = parse("p.json", "not json").expect_err("not json");
    assert!(err.to_string().contains("not a jobctl saved plan"), "{err}");
    let err = parse("p.json", r#"{"format": "terraform"}"#).expect_err("format");
    assert!(err.to_string().contains("format `terraform`"), "{err}");
    let err = parse(
        "p.json",
        r#"{"format": "jobctl-plan/v2", "jobctlVersion": "9.0.0"}"#,
    )
    .expect_err("newer");
    assert!(err.to_string().contains("newer jobctl (9.0.0,"), "{err}");
    let err = parse("p.json", r#"{"format": "jobctl-plan/v1"}"#).expect_err("damaged");
    assert!(err.to_string().contains("damaged"), "{err}");
    let text = serde_json::to_string(&saved_plan(Vec::new())).expect("json");
    assert_eq!(
        parse("p.json", &text).expect("parses"),
        saved_plan(Vec::new())
    );
}

#[test]
fn requests_hold_what_an_update_sends_and_leave_out_jobs_with_nothing_to_do() {
    use crate::engine::plan::{Change, Step};
    let mut update = Change::new(crate::domain::ResourceId::job("fw-1"), Action::Update);
    update.arn = Some("arn:aws:iot:us-east-1:123456789012:job/fw-1".into());
    update.steps = vec![Step::UpdateJob {
        fields: vec!["description"],
        update: Box::new(JobUpdate {
            description: Some("edited".into()),
            ..JobUpdate::default()
        }),
    }];
    let plan = Plan {
        changes: vec![
            update,
            Change::new(crate::domain::ResourceId::job("fw-2"), Action::Unchanged),
        ],
        ..Plan::default()
    };
    let requests = requests(&plan);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(
        requests[0],
        json!({
            "id": "fw-1",
            "action": "update",
            "arn": "arn:aws:iot:us-east-1:123456789012:job/fw-1",
            "steps": [{"operation": "UpdateJob", "fields": ["description"], "update": {"description": "edited"}}]
        })
    );
}
