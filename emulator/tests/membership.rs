//! Thing-group membership and thing deletion: the routes (RemoveThingFromThingGroup and
//! UpdateThingGroupsForThing must not fall into CreateThingGroup's `/thing-groups/{name}`),
//! the listings that show membership, and what leaving does to jobs: REMOVED executions,
//! no further retries, a fresh retry budget on re-joining, and maintenance windows pacing
//! things that join a CONTINUOUS job.

mod common;

use common::{group_arn, thing_arn, Emu};
use serde_json::{json, Value};

fn remove(emu: &Emu, group: &str, thing: &str) {
    emu.aws(
        "PUT",
        "/thing-groups/removeThingFromThingGroup",
        Some(json!({"thingGroupName": group, "thingName": thing})),
    )
    .ok();
}

fn add(emu: &Emu, group: &str, thing: &str) {
    emu.aws(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": group, "thingName": thing})),
    )
    .ok();
}

fn names(v: &Value, key: &str, field: Option<&str>) -> Vec<String> {
    v[key]
        .as_array()
        .expect("a list")
        .iter()
        .map(|x| match field {
            Some(f) => x[f].as_str().expect("a name").to_owned(),
            None => x.as_str().expect("a name").to_owned(),
        })
        .collect()
}

fn things_in(emu: &Emu, group: &str) -> Vec<String> {
    names(
        &emu.aws("GET", &format!("/thing-groups/{group}/things"), None)
            .ok(),
        "things",
        None,
    )
}

fn execution(emu: &Emu, thing: &str, job: &str) -> Value {
    emu.aws("GET", &format!("/things/{thing}/jobs/{job}"), None)
        .ok()["execution"]
        .clone()
}

/// The thing's row in ListJobExecutionsForJob (which carries `retryAttempt`).
fn summary(emu: &Emu, job: &str, thing: &str) -> Value {
    emu.executions(job)
        .into_iter()
        .find(|e| e["thingArn"] == thing_arn(thing))
        .map(|e| e["jobExecutionSummary"].clone())
        .expect("a row for the thing")
}

fn details(emu: &Emu, job: &str) -> Value {
    emu.job(job)["jobProcessDetails"].clone()
}

#[test]
fn remove_thing_from_thing_group_removes_and_creates_no_group() {
    let emu = Emu::start(&[]);
    emu.group("Lamps", &["l1", "l2"]);
    remove(&emu, "Lamps", "l1");
    assert_eq!(things_in(&emu, "Lamps"), ["l2"]);
    // The old bug: the path was CreateThingGroup's, which made a group of that name.
    emu.aws("GET", "/thing-groups/removeThingFromThingGroup", None)
        .err("ResourceNotFoundException", 404);
    let groups = emu.aws("GET", "/thing-groups", None).ok();
    assert_eq!(names(&groups, "thingGroups", Some("groupName")), ["Lamps"]);
    // Not a member (any more): still 200, nothing changes.
    remove(&emu, "Lamps", "l1");
    emu.aws(
        "PUT",
        "/thing-groups/removeThingFromThingGroup",
        Some(json!({"thingGroupName": "Nope", "thingName": "l2"})),
    )
    .err("ResourceNotFoundException", 404);
}

#[test]
fn listings_show_membership_recursively_and_in_pages() {
    let emu = Emu::start(&[]);
    emu.group("Fleet", &["f1"]);
    emu.aws(
        "POST",
        "/thing-groups/Lamps",
        Some(json!({"parentGroupName": "Fleet"})),
    )
    .ok();
    emu.aws(
        "POST",
        "/thing-groups/Desk",
        Some(json!({"parentGroupName": "Lamps"})),
    )
    .ok();
    for t in ["l1", "l2"] {
        emu.thing(t);
        add(&emu, "Lamps", t);
    }
    emu.thing("d1");
    add(&emu, "Desk", "d1");
    add(&emu, "Fleet", "l1");
    assert_eq!(things_in(&emu, "Fleet"), ["f1", "l1"]);
    let all = emu
        .aws("GET", "/thing-groups/Fleet/things?recursive=true", None)
        .ok();
    assert_eq!(names(&all, "things", None), ["d1", "f1", "l1", "l2"]);
    let children = emu.aws("GET", "/thing-groups?parentGroup=Fleet", None).ok();
    assert_eq!(
        names(&children, "thingGroups", Some("groupName")),
        ["Lamps"]
    );
    let tree = emu
        .aws(
            "GET",
            "/thing-groups?parentGroup=Fleet&recursive=true",
            None,
        )
        .ok();
    assert_eq!(
        names(&tree, "thingGroups", Some("groupName")),
        ["Desk", "Lamps"]
    );
    let prefixed = emu
        .aws("GET", "/thing-groups?namePrefixFilter=L", None)
        .ok();
    assert_eq!(
        names(&prefixed, "thingGroups", Some("groupName")),
        ["Lamps"]
    );
    let of_l1 = emu.aws("GET", "/things/l1/thing-groups", None).ok();
    assert_eq!(
        names(&of_l1, "thingGroups", Some("groupName")),
        ["Fleet", "Lamps"]
    );
    assert_eq!(of_l1["thingGroups"][0]["groupArn"], group_arn("Fleet"));
    // One at a time, following nextToken.
    let mut seen = Vec::new();
    let mut path = "/thing-groups/Fleet/things?recursive=true&maxResults=1".to_owned();
    loop {
        let page = emu.aws("GET", &path, None).ok();
        seen.extend(names(&page, "things", None));
        match page["nextToken"].as_str() {
            Some(t) => {
                path =
                    format!("/thing-groups/Fleet/things?recursive=true&maxResults=1&nextToken={t}")
            }
            None => break,
        }
    }
    assert_eq!(seen, ["d1", "f1", "l1", "l2"]);
    emu.aws("GET", "/things/ghost/thing-groups", None)
        .err("ResourceNotFoundException", 404);
}

#[test]
fn update_thing_groups_for_thing_moves_a_thing() {
    let emu = Emu::start(&[]);
    emu.group("Old", &["t1"]);
    emu.group("New", &[]);
    emu.aws(
        "PUT",
        "/thing-groups/updateThingGroupsForThing",
        Some(
            json!({"thingName": "t1", "thingGroupsToAdd": ["New"], "thingGroupsToRemove": ["Old"]}),
        ),
    )
    .ok();
    assert!(things_in(&emu, "Old").is_empty());
    assert_eq!(things_in(&emu, "New"), ["t1"]);
    emu.aws(
        "PUT",
        "/thing-groups/updateThingGroupsForThing",
        Some(json!({"thingName": "t1", "thingGroupsToAdd": ["Missing"]})),
    )
    .err("ResourceNotFoundException", 404);
    assert_eq!(
        things_in(&emu, "New"),
        ["t1"],
        "a failed call changes nothing"
    );
}

#[test]
fn leaving_a_continuous_target_removes_its_execution_and_rejoining_starts_afresh() {
    let emu = Emu::start(&[]);
    emu.group("Lamps", &["l1", "l2"]);
    emu.create_job(
        "cont",
        json!({"targets": [group_arn("Lamps")], "document": "{}", "targetSelection": "CONTINUOUS",
               "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 1}]}}),
    )
    .ok();
    // l1 fails once: its retry (attempt 2, retryAttempt 1) is QUEUED when it leaves.
    emu.complete("cont", "FAILED", &["l1"]);
    let e = execution(&emu, "l1", "cont");
    assert_eq!(
        (e["executionNumber"].as_i64(), e["status"].as_str()),
        (Some(2), Some("QUEUED"))
    );
    remove(&emu, "Lamps", "l1");
    let e = execution(&emu, "l1", "cont");
    assert_eq!(e["status"], "REMOVED");
    assert_eq!(e["executionNumber"], 2);
    assert_eq!(details(&emu, "cont")["numberOfRemovedThings"], 1);
    // Removal cancels further attempts: nothing new appears while it is out.
    emu.advance(600.0);
    assert_eq!(execution(&emu, "l1", "cont")["executionNumber"], 2);
    // Re-joining: a new execution with the retry counter back at 0, so a failure is
    // retried again (the old budget of 1 was used up).
    add(&emu, "Lamps", "l1");
    let e = summary(&emu, "cont", "l1");
    assert_eq!(e["executionNumber"], 3);
    assert_eq!(e["status"], "QUEUED");
    assert_eq!(e["retryAttempt"], 0);
    emu.complete("cont", "FAILED", &["l1"]);
    let e = summary(&emu, "cont", "l1");
    assert_eq!(e["executionNumber"], 4);
    assert_eq!(e["retryAttempt"], 1);
    assert_eq!(e["status"], "QUEUED");
    // l2 never left: untouched.
    assert_eq!(execution(&emu, "l2", "cont")["status"], "QUEUED");
}

#[test]
fn a_thing_still_reached_through_another_target_keeps_its_execution() {
    let emu = Emu::start(&[]);
    emu.group("A", &["t1"]);
    emu.group("B", &[]);
    add(&emu, "B", "t1");
    emu.create_job(
        "two",
        json!({"targets": [group_arn("A"), group_arn("B")], "document": "{}", "targetSelection": "CONTINUOUS"}),
    )
    .ok();
    remove(&emu, "A", "t1");
    assert_eq!(execution(&emu, "t1", "two")["status"], "QUEUED");
    remove(&emu, "B", "t1");
    assert_eq!(execution(&emu, "t1", "two")["status"], "REMOVED");
}

#[test]
fn snapshot_membership_is_latched_but_deleting_the_thing_removes_it() {
    let emu = Emu::start(&[]);
    emu.group("Lamps", &["l1", "l2", "l3"]);
    emu.create_job(
        "snap",
        json!({"targets": [group_arn("Lamps")], "document": "{}"}),
    )
    .ok();
    remove(&emu, "Lamps", "l1");
    assert_eq!(execution(&emu, "l1", "snap")["status"], "QUEUED");
    let version = emu.aws("GET", "/things/l2", None).ok()["version"]
        .as_i64()
        .expect("version");
    emu.aws(
        "DELETE",
        &format!("/things/l2?expectedVersion={}", version + 1),
        None,
    )
    .err("VersionConflictException", 409);
    emu.aws(
        "DELETE",
        &format!("/things/l2?expectedVersion={version}"),
        None,
    )
    .ok();
    emu.aws("GET", "/things/l2", None)
        .err("ResourceNotFoundException", 404);
    // Deleting again (or a thing that never was) succeeds.
    emu.aws("DELETE", "/things/l2", None).ok();
    assert_eq!(things_in(&emu, "Lamps"), ["l3"]);
    let e = execution(&emu, "l2", "snap");
    assert_eq!(e["status"], "REMOVED");
    assert_eq!(e["thingArn"], thing_arn("l2"));
    emu.complete("snap", "SUCCEEDED", &["l1", "l3"]);
    let j = emu.job("snap");
    assert_eq!(j["status"], "COMPLETED", "REMOVED is terminal: {j}");
    assert_eq!(j["jobProcessDetails"]["numberOfRemovedThings"], 1);
    assert_eq!(j["jobProcessDetails"]["numberOfSucceededThings"], 2);
}

#[test]
fn things_joining_a_continuous_job_between_windows_wait_for_the_next_window() {
    let emu = Emu::start(&[]);
    emu.fleet(json!({"timeScale": 0}));
    emu.group("Lamps", &["l1"]);
    // A 10-minute window at the start of every hour.
    emu.create_job(
        "win",
        json!({"targets": [group_arn("Lamps")], "document": "{}", "targetSelection": "CONTINUOUS",
               "schedulingConfig": {"maintenanceWindows": [
                   {"startTime": "cron(0 * * * ? *)", "durationInMinutes": 10}]}}),
    )
    .ok();
    let now = emu.now();
    let next_hour = ((now / 3600.0).floor() + 1.0) * 3600.0;
    emu.advance(next_hour - now + 1.0);
    assert_eq!(execution(&emu, "l1", "win")["status"], "QUEUED");
    // 20 minutes into the hour: the window has closed.
    emu.advance(20.0 * 60.0);
    emu.thing("l2");
    add(&emu, "Lamps", "l2");
    emu.aws("GET", "/things/l2/jobs/win", None)
        .err("ResourceNotFoundException", 404);
    let d = details(&emu, "win");
    assert_eq!(d["numberOfQueuedThings"], 1, "only l1: {d}");
    // The next window opens: l2 is notified then.
    let opens = next_hour + 3600.0;
    emu.advance(opens - emu.now() - 2.0);
    emu.aws("GET", "/things/l2/jobs/win", None)
        .err("ResourceNotFoundException", 404);
    emu.advance(4.0);
    let e = execution(&emu, "l2", "win");
    assert_eq!(e["status"], "QUEUED");
    let queued = e["queuedAt"].as_f64().expect("queuedAt");
    assert!(
        queued >= opens,
        "queued at {queued}, the window opens at {opens}"
    );
}
