//! Every operation, error code and status transition over plain HTTP against the real
//! binary, plus the `/_emulator/` control API.

mod common;

use common::{enc, group_arn, job_arn, thing_arn, Emu};
use serde_json::{json, Value};

#[test]
fn first_line_and_health() {
    let emu = Emu::start(&[]);
    assert!(emu.first_line.starts_with("listening on http://127.0.0.1:"));
    assert_eq!(emu.control("GET", "health", None).ok()["ok"], true);
}

#[test]
fn create_and_describe_full_job_shape() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    let full = json!({
        "targets": [thing_arn("dev1")],
        "document": "{\"url\":\"${aws:iot:s3-presigned-url:https://s3.amazonaws.com/b/k}\"}",
        "description": "full job",
        "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/x", "expiresInSec": 600},
        "targetSelection": "CONTINUOUS",
        "jobExecutionsRolloutConfig": {"maximumPerMinute": 50, "exponentialRate": {
            "baseRatePerMinute": 5, "incrementFactor": 1.5,
            "rateIncreaseCriteria": {"numberOfNotifiedThings": 2}}},
        "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL",
            "thresholdPercentage": 12.5, "minNumberOfExecutedThings": 3}]},
        "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
        "tags": [{"Key": "team", "Value": "fleet"}],
        "namespaceId": "ns1",
        "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 2}]},
        "destinationPackageVersions": ["arn:aws:iot:us-east-1:123456789012:package/p/version/1.0"]
    });
    let out = emu.create_job("full", full.clone()).ok();
    assert_eq!(
        out,
        json!({"jobArn": job_arn("full"), "jobId": "full", "description": "full job"})
    );
    let d = emu.describe("full").ok();
    assert!(d.get("documentSource").is_none());
    let j = &d["job"];
    assert_eq!(j["jobArn"], job_arn("full"));
    assert_eq!(j["status"], "IN_PROGRESS");
    assert_eq!(j["targetSelection"], "CONTINUOUS");
    assert_eq!(j["isConcurrent"], false);
    for key in [
        "targets",
        "description",
        "presignedUrlConfig",
        "jobExecutionsRolloutConfig",
        "abortConfig",
        "timeoutConfig",
        "namespaceId",
        "jobExecutionsRetryConfig",
        "destinationPackageVersions",
    ] {
        assert_eq!(j[key], full[key], "{key}");
    }
    // Documents and tags are not part of DescribeJob.
    assert!(j.get("document").is_none() && j.get("tags").is_none());
    assert!(j["createdAt"].as_f64().unwrap() > 1.7e9);
    assert_eq!(j["createdAt"], j["lastUpdatedAt"]);
    assert!(j.get("completedAt").is_none());
    assert_eq!(j["jobProcessDetails"]["numberOfQueuedThings"], 1);
    assert_eq!(j["jobProcessDetails"]["numberOfTimedOutThings"], 0);
    let doc = emu.aws("GET", "/jobs/full/job-document", None).ok();
    assert_eq!(doc["document"], full["document"]);
    let tags = emu
        .aws(
            "GET",
            &format!("/tags?resourceArn={}", enc(&job_arn("full"))),
            None,
        )
        .ok();
    assert_eq!(tags["tags"], json!([{"Key": "team", "Value": "fleet"}]));
}

#[test]
fn defaults_and_document_source() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    emu.create_job(
        "src",
        json!({"targets": [thing_arn("dev1")], "documentSource": "https://s3.amazonaws.com/b/doc.json"}),
    )
    .ok();
    let d = emu.describe("src").ok();
    assert_eq!(d["documentSource"], "https://s3.amazonaws.com/b/doc.json");
    assert_eq!(d["job"]["targetSelection"], "SNAPSHOT");
    assert_eq!(
        emu.aws("GET", "/jobs/src/job-document", None).ok()["document"],
        ""
    );
    // beforeSubstitution must be a boolean.
    emu.aws("GET", "/jobs/src?beforeSubstitution=maybe", None)
        .err("InvalidRequestException", 400);
    emu.aws(
        "GET",
        "/jobs/src/job-document?beforeSubstitution=true",
        None,
    )
    .ok();
}

#[test]
fn duplicate_job_id_conflicts_with_resource_members() {
    let emu = Emu::start(&[]);
    emu.simple_job("dup");
    let r = emu.create_job(
        "dup",
        json!({"targets": [thing_arn("dev1")], "document": "{}"}),
    );
    r.err("ResourceAlreadyExistsException", 409);
    assert_eq!(r.json["resourceId"], "dup");
    assert_eq!(r.json["resourceArn"], job_arn("dup"));
}

#[test]
fn unknown_job_is_not_found_from_every_job_operation() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/jobs/nope".into(), None),
        ("GET", "/jobs/nope/job-document".into(), None),
        (
            "PATCH",
            "/jobs/nope".into(),
            Some(json!({"description": "x"})),
        ),
        ("PUT", "/jobs/nope/cancel".into(), Some(json!({}))),
        ("DELETE", "/jobs/nope".into(), None),
        (
            "POST",
            "/jobs/nope/targets".into(),
            Some(json!({"targets": [thing_arn("dev1")]})),
        ),
        ("GET", "/jobs/nope/things".into(), None),
        ("GET", "/things/dev1/jobs/nope".into(), None),
        (
            "GET",
            format!("/tags?resourceArn={}", enc(&job_arn("nope"))),
            None,
        ),
        (
            "POST",
            "/tags".into(),
            Some(json!({"resourceArn": job_arn("nope"), "tags": [{"Key": "a"}]})),
        ),
        (
            "POST",
            "/untag".into(),
            Some(json!({"resourceArn": job_arn("nope"), "tagKeys": ["a"]})),
        ),
    ];
    for (m, p, b) in cases {
        let r = emu.aws(m, &p, b);
        assert_eq!(
            (r.status, r.code()),
            (404, "ResourceNotFoundException"),
            "{m} {p}"
        );
    }
}

#[test]
fn targets_must_exist() {
    let emu = Emu::start(&[]);
    emu.create_job(
        "j",
        json!({"targets": [thing_arn("ghost")], "document": "{}"}),
    )
    .err("ResourceNotFoundException", 404);
    emu.create_job(
        "j",
        json!({"targets": [group_arn("ghosts")], "document": "{}"}),
    )
    .err("ResourceNotFoundException", 404);
    // Nothing was created by the failed calls.
    emu.describe("j").err("ResourceNotFoundException", 404);
}

#[test]
fn groups_expand_to_members_and_executions_list_and_page() {
    let emu = Emu::start(&[]);
    emu.group("fleet", &["a", "b"]);
    emu.aws(
        "POST",
        "/thing-groups/sub",
        Some(json!({"parentGroupName": "fleet"})),
    )
    .ok();
    emu.thing("c");
    emu.aws(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupArn": group_arn("sub"), "thingArn": thing_arn("c")})),
    )
    .ok();
    emu.thing("solo");
    emu.create_job(
        "g",
        json!({"targets": [group_arn("fleet"), thing_arn("solo"), thing_arn("a")], "document": "{}"}),
    )
    .ok();
    let d = emu.describe("g").ok();
    assert_eq!(d["job"]["jobProcessDetails"]["numberOfQueuedThings"], 4);

    let p1 = emu.aws("GET", "/jobs/g/things?maxResults=3", None).ok();
    let p1s = p1["executionSummaries"].as_array().unwrap().clone();
    assert_eq!(p1s.len(), 3);
    let token = p1["nextToken"].as_str().unwrap();
    let p2 = emu
        .aws(
            "GET",
            &format!("/jobs/g/things?maxResults=3&nextToken={token}"),
            None,
        )
        .ok();
    assert!(p2.get("nextToken").is_none());
    let mut arns: Vec<String> = p1s
        .iter()
        .chain(p2["executionSummaries"].as_array().unwrap())
        .map(|e| e["thingArn"].as_str().unwrap().to_owned())
        .collect();
    arns.sort();
    assert_eq!(
        arns,
        vec![
            thing_arn("a"),
            thing_arn("b"),
            thing_arn("c"),
            thing_arn("solo")
        ]
    );
    let e = &p1s[0]["jobExecutionSummary"];
    assert_eq!(e["status"], "QUEUED");
    assert!(e["executionNumber"].as_i64().unwrap() >= 1);
    assert!(e["queuedAt"].as_f64().is_some());

    // Per-thing views.
    let t = emu.aws("GET", "/things/c/jobs", None).ok();
    assert_eq!(t["executionSummaries"][0]["jobId"], "g");
    let x = emu.aws("GET", "/things/c/jobs/g", None).ok();
    assert_eq!(x["execution"]["status"], "QUEUED");
    assert_eq!(x["execution"]["thingArn"], thing_arn("c"));
    emu.aws("GET", "/things/ghost/jobs", None)
        .err("ResourceNotFoundException", 404);

    // Status filter and a token from another listing.
    emu.control(
        "POST",
        "jobs/g/executions",
        Some(json!({"status": "IN_PROGRESS", "things": ["b"]})),
    )
    .ok();
    let f = emu
        .aws("GET", "/jobs/g/things?status=IN_PROGRESS", None)
        .ok();
    assert_eq!(f["executionSummaries"].as_array().unwrap().len(), 1);
    assert!(f["executionSummaries"][0]["jobExecutionSummary"]["startedAt"].is_number());
    emu.aws(
        "GET",
        &format!("/jobs/g/things?status=QUEUED&nextToken={token}"),
        None,
    )
    .err("InvalidRequestException", 400);
}

#[test]
fn snapshot_job_completes_when_executions_end() {
    let emu = Emu::start(&[]);
    emu.group("fleet", &["a", "b", "c"]);
    emu.create_job(
        "s",
        json!({"targets": [group_arn("fleet")], "document": "{}"}),
    )
    .ok();
    let j = emu
        .control(
            "POST",
            "jobs/s/complete",
            Some(json!({"outcome": "FAILED", "things": ["a"]})),
        )
        .ok();
    assert_eq!(j["status"], "IN_PROGRESS");
    assert_eq!(j["jobProcessDetails"]["numberOfFailedThings"], 1);
    emu.control(
        "POST",
        "jobs/s/complete",
        Some(json!({"outcome": "TIMED_OUT", "things": ["b"]})),
    )
    .ok();
    let j = emu
        .control(
            "POST",
            "jobs/s/complete",
            Some(json!({"outcome": "SUCCEEDED"})),
        )
        .ok();
    assert_eq!(j["status"], "COMPLETED");
    let d = emu.describe("s").ok()["job"].clone();
    assert_eq!(d["status"], "COMPLETED");
    assert!(d["completedAt"].as_f64().is_some());
    let p = &d["jobProcessDetails"];
    assert_eq!(
        (
            p["numberOfFailedThings"].as_i64(),
            p["numberOfTimedOutThings"].as_i64(),
            p["numberOfSucceededThings"].as_i64(),
            p["numberOfQueuedThings"].as_i64()
        ),
        (Some(1), Some(1), Some(1), Some(0))
    );
    // Control API errors.
    emu.control(
        "POST",
        "jobs/s/complete",
        Some(json!({"outcome": "IN_PROGRESS"})),
    );
    assert_eq!(
        emu.control(
            "POST",
            "jobs/s/complete",
            Some(json!({"outcome": "IN_PROGRESS"}))
        )
        .status,
        400
    );
    assert_eq!(emu.control("POST", "jobs/ghost/complete", None).status, 404);
    assert_eq!(
        emu.control(
            "POST",
            "jobs/s/complete",
            Some(json!({"outcome": "SUCCEEDED", "things": ["zz"]}))
        )
        .status,
        404
    );
}

#[test]
fn continuous_jobs_grow_with_groups_and_associate_targets() {
    let emu = Emu::start(&[]);
    emu.group("fleet", &["a"]);
    emu.create_job(
        "c",
        json!({"targets": [group_arn("fleet")], "document": "{}", "targetSelection": "CONTINUOUS"}),
    )
    .ok();
    // A thing joining the group later gets an execution.
    emu.thing("late");
    emu.aws(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "fleet", "thingName": "late"})),
    )
    .ok();
    assert_eq!(
        emu.describe("c").ok()["job"]["jobProcessDetails"]["numberOfQueuedThings"],
        2
    );
    // Finishing every execution does not complete a continuous job.
    assert_eq!(
        emu.control("POST", "jobs/c/complete", None).ok()["status"],
        "IN_PROGRESS"
    );
    emu.group("more", &["m1", "m2"]);
    let r = emu
        .aws(
            "POST",
            "/jobs/c/targets",
            Some(json!({"targets": [group_arn("more")], "comment": "grow"})),
        )
        .ok();
    assert_eq!(r, json!({"jobArn": job_arn("c"), "jobId": "c"}));
    let d = emu.describe("c").ok()["job"].clone();
    assert_eq!(d["targets"], json!([group_arn("fleet"), group_arn("more")]));
    assert_eq!(d["jobProcessDetails"]["numberOfQueuedThings"], 2);

    // Too many targets in total.
    for i in 0..99 {
        emu.thing(&format!("t{i}"));
    }
    let many: Vec<String> = (0..99).map(|i| thing_arn(&format!("t{i}"))).collect();
    emu.aws("POST", "/jobs/c/targets", Some(json!({"targets": many})))
        .err("LimitExceededException", 410);
    emu.aws(
        "POST",
        "/jobs/c/targets",
        Some(json!({"targets": many[..98].to_vec()})),
    )
    .ok();

    // SNAPSHOT jobs and jobs no longer IN_PROGRESS refuse new targets.
    emu.simple_job("snap");
    emu.aws(
        "POST",
        "/jobs/snap/targets",
        Some(json!({"targets": [thing_arn("a")]})),
    )
    .err("InvalidRequestException", 400);
    emu.aws("PUT", "/jobs/c/cancel", Some(json!({}))).ok();
    emu.aws(
        "POST",
        "/jobs/c/targets",
        Some(json!({"targets": [thing_arn("a")]})),
    )
    .err("InvalidRequestException", 400);
}

#[test]
fn cancel_semantics() {
    let emu = Emu::start(&[]);
    emu.group("fleet", &["a", "b"]);
    emu.create_job(
        "k",
        json!({"targets": [group_arn("fleet")], "document": "{}"}),
    )
    .ok();
    emu.control(
        "POST",
        "jobs/k/executions",
        Some(json!({"status": "IN_PROGRESS", "things": ["a"]})),
    )
    .ok();
    let r = emu
        .aws(
            "PUT",
            "/jobs/k/cancel",
            Some(json!({"reasonCode": "BAD_BUILD_2", "comment": "rolled back"})),
        )
        .ok();
    assert_eq!(r, json!({"jobArn": job_arn("k"), "jobId": "k"}));
    let j = emu.describe("k").ok()["job"].clone();
    assert_eq!(j["status"], "CANCELED");
    assert_eq!(j["forceCanceled"], false);
    assert_eq!(j["reasonCode"], "BAD_BUILD_2");
    assert_eq!(j["comment"], "rolled back");
    // Without force only the QUEUED execution was canceled.
    assert_eq!(j["jobProcessDetails"]["numberOfCanceledThings"], 1);
    assert_eq!(j["jobProcessDetails"]["numberOfInProgressThings"], 1);
    // Cancelling again without force is a state error; with force it upgrades.
    emu.aws("PUT", "/jobs/k/cancel", Some(json!({})))
        .err("InvalidStateTransitionException", 409);
    emu.aws("PUT", "/jobs/k/cancel?force=true", Some(json!({})))
        .ok();
    let j = emu.describe("k").ok()["job"].clone();
    assert_eq!(j["forceCanceled"], true);
    assert_eq!(j["jobProcessDetails"]["numberOfCanceledThings"], 2);
    emu.aws("PUT", "/jobs/k/cancel?force=true", Some(json!({})))
        .err("InvalidStateTransitionException", 409);
    // Completed jobs cannot be canceled.
    emu.simple_job("done");
    emu.control("POST", "jobs/done/complete", None).ok();
    emu.aws("PUT", "/jobs/done/cancel?force=true", Some(json!({})))
        .err("InvalidStateTransitionException", 409);
    // The force flag must be a boolean.
    emu.simple_job("q");
    emu.aws("PUT", "/jobs/q/cancel?force=yes", Some(json!({})))
        .err("InvalidRequestException", 400);
}

#[test]
fn update_changes_only_mutable_members() {
    let emu = Emu::start(&[]);
    emu.simple_job("u");
    let before = emu.describe("u").ok()["job"].clone();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = emu.aws(
        "PATCH",
        "/jobs/u?namespaceId=ns",
        Some(json!({
            "description": "new words",
            "presignedUrlConfig": {"expiresInSec": 120},
            "jobExecutionsRolloutConfig": {"maximumPerMinute": 7},
            "abortConfig": {"criteriaList": [{"failureType": "ALL", "action": "CANCEL", "thresholdPercentage": 100, "minNumberOfExecutedThings": 1}]},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 10},
            "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "ALL", "numberOfRetries": 0}]},
            // Immutable members are not part of UpdateJob's input: ignored.
            "document": "{\"changed\":true}",
            "targetSelection": "CONTINUOUS"
        })),
    );
    assert_eq!(r.status, 200);
    assert!(r.raw.is_empty(), "UpdateJob has no output shape");
    let j = emu.describe("u").ok()["job"].clone();
    assert_eq!(j["description"], "new words");
    assert_eq!(j["presignedUrlConfig"], json!({"expiresInSec": 120}));
    assert_eq!(
        j["jobExecutionsRolloutConfig"],
        json!({"maximumPerMinute": 7})
    );
    assert_eq!(
        j["timeoutConfig"],
        json!({"inProgressTimeoutInMinutes": 10})
    );
    assert_eq!(j["abortConfig"]["criteriaList"][0]["failureType"], "ALL");
    assert_eq!(
        j["jobExecutionsRetryConfig"]["criteriaList"][0]["numberOfRetries"],
        0
    );
    assert_eq!(j["targetSelection"], "SNAPSHOT");
    assert!(j["lastUpdatedAt"].as_f64() > before["lastUpdatedAt"].as_f64());
    assert_eq!(
        emu.aws("GET", "/jobs/u/job-document", None).ok()["document"],
        "{\"op\":\"x\"}"
    );
    // Finished jobs can no longer be updated.
    emu.aws("PUT", "/jobs/u/cancel", Some(json!({}))).ok();
    emu.aws("PATCH", "/jobs/u", Some(json!({"description": "late"})))
        .err("InvalidRequestException", 400);
}

#[test]
fn delete_is_asynchronous_and_frees_the_id_only_when_done() {
    let emu = Emu::start(&["--deletion-delay-ms", "60000"]);
    emu.simple_job("d");
    emu.aws("DELETE", "/jobs/d", None)
        .err("InvalidStateTransitionException", 409);
    let r = emu.aws("DELETE", "/jobs/d?force=true", None);
    assert_eq!((r.status, r.raw.len()), (200, 0));
    assert_eq!(emu.status("d"), "DELETION_IN_PROGRESS");
    // Still reserved: the id cannot be reused, deleted again or canceled.
    emu.create_job(
        "d",
        json!({"targets": [thing_arn("dev1")], "document": "{}"}),
    )
    .err("ResourceAlreadyExistsException", 409);
    emu.aws("DELETE", "/jobs/d?force=true", None)
        .err("InvalidStateTransitionException", 409);
    emu.aws("PUT", "/jobs/d/cancel?force=true", Some(json!({})))
        .err("InvalidStateTransitionException", 409);
    let listed = emu
        .aws("GET", "/jobs?status=DELETION_IN_PROGRESS", None)
        .ok();
    assert_eq!(listed["jobs"][0]["jobId"], "d");
    emu.advance(61.0);
    emu.describe("d").err("ResourceNotFoundException", 404);
    // The id is free again, and nothing from the old job leaks into the new one.
    emu.create_job(
        "d",
        json!({"targets": [thing_arn("dev1")], "document": "{\"v\":2}"}),
    )
    .ok();
    let j = emu.describe("d").ok()["job"].clone();
    assert_eq!(j["status"], "IN_PROGRESS");
    assert_eq!(j["jobProcessDetails"]["numberOfQueuedThings"], 1);
    // Terminal jobs delete without force.
    emu.aws("PUT", "/jobs/d/cancel", Some(json!({}))).ok();
    emu.aws("DELETE", "/jobs/d", None).ok();
}

#[test]
fn at_most_ten_deletions_in_flight() {
    let emu = Emu::start(&["--deletion-delay-ms", "60000"]);
    for i in 0..11 {
        emu.simple_job(&format!("j{i}"));
    }
    for i in 0..10 {
        emu.aws("DELETE", &format!("/jobs/j{i}?force=true"), None)
            .ok();
    }
    emu.aws("DELETE", "/jobs/j10?force=true", None)
        .err("LimitExceededException", 410);
    assert_eq!(emu.status("j10"), "IN_PROGRESS");
    emu.advance(60.0);
    emu.aws("DELETE", "/jobs/j10?force=true", None).ok();
}

#[test]
fn zero_deletion_delay_deletes_at_once() {
    let emu = Emu::start(&["--deletion-delay-ms", "0"]);
    emu.simple_job("z");
    emu.aws("DELETE", "/jobs/z?force=true", None).ok();
    emu.describe("z").err("ResourceNotFoundException", 404);
}

#[test]
fn list_jobs_filters_and_pages_in_creation_order() {
    let emu = Emu::start(&[]);
    emu.group("fleet", &["a"]);
    emu.thing("dev1");
    let ids = ["e", "d", "c", "b", "a"];
    for (i, id) in ids.iter().enumerate() {
        let target = if i % 2 == 0 {
            group_arn("fleet")
        } else {
            thing_arn("dev1")
        };
        let mut body = json!({"targets": [target], "document": "{}"});
        if i == 4 {
            body["targetSelection"] = json!("CONTINUOUS");
            body["namespaceId"] = json!("ns");
        }
        emu.create_job(id, body).ok();
    }
    emu.aws("PUT", "/jobs/d/cancel", Some(json!({}))).ok();

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("/jobs?maxResults=2&nextToken={t}"),
            None => "/jobs?maxResults=2".to_owned(),
        };
        let page = emu.aws("GET", &path, None).ok();
        for j in page["jobs"].as_array().unwrap() {
            seen.push(j["jobId"].as_str().unwrap().to_owned());
        }
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let ids_of = |path: &str| -> Vec<String> {
        emu.aws("GET", path, None).ok()["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["jobId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids_of("/jobs?status=CANCELED"), ["d"]);
    assert_eq!(ids_of("/jobs?status=IN_PROGRESS").len(), 4);
    assert_eq!(ids_of("/jobs?targetSelection=CONTINUOUS"), ["a"]);
    assert_eq!(ids_of("/jobs?thingGroupName=fleet"), ["e", "c", "a"]);
    assert_eq!(ids_of("/jobs?namespaceId=ns"), ["a"]);
    let gid = emu.aws("GET", "/thing-groups/fleet", None).ok()["thingGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ids_of(&format!("/jobs?thingGroupId={gid}")),
        ["e", "c", "a"]
    );
    let summary = emu.aws("GET", "/jobs?maxResults=1", None).ok()["jobs"][0].clone();
    assert_eq!(summary["thingGroupId"], gid.as_str());
    assert_eq!(summary["jobArn"], job_arn("e"));
    for key in [
        "createdAt",
        "lastUpdatedAt",
        "status",
        "targetSelection",
        "isConcurrent",
    ] {
        assert!(summary.get(key).is_some(), "{key}");
    }
    emu.aws("GET", "/jobs?thingGroupName=ghost", None)
        .err("ResourceNotFoundException", 404);
    emu.aws("GET", "/jobs?nextToken=garbage", None)
        .err("InvalidRequestException", 400);
    let t = emu.aws("GET", "/jobs?maxResults=1", None).ok()["nextToken"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.aws("GET", &format!("/jobs?status=CANCELED&nextToken={t}"), None)
        .err("InvalidRequestException", 400);
}

fn fmt_minute(epoch: f64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(epoch as i64).expect("epoch seconds in range");
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[test]
fn scheduled_jobs_start_and_end_with_the_clock() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    let now = emu.now();
    let start = fmt_minute(now + 3600.0);
    let end = fmt_minute(now + 3.0 * 3600.0);
    emu.create_job(
        "sch",
        // No maintenance window here: with one, the job would wait for it after startTime
        // (tests/rollout.rs covers windows).
        json!({"targets": [thing_arn("dev1")], "document": "{}",
               "schedulingConfig": {"startTime": start, "endTime": end, "endBehavior": "CANCEL"}}),
    )
    .ok();
    let j = emu.describe("sch").ok()["job"].clone();
    assert_eq!(j["status"], "SCHEDULED");
    assert_eq!(j["schedulingConfig"]["startTime"], start.as_str());
    assert_eq!(j["jobProcessDetails"]["numberOfQueuedThings"], 0);
    assert_eq!(
        emu.aws("GET", "/jobs?status=SCHEDULED", None).ok()["jobs"][0]["jobId"],
        "sch"
    );
    // Scheduled jobs can be updated but not deleted without force.
    emu.aws("PATCH", "/jobs/sch", Some(json!({"description": "soon"})))
        .ok();
    emu.aws("DELETE", "/jobs/sch", None)
        .err("InvalidStateTransitionException", 409);
    emu.advance(3700.0);
    let j = emu.describe("sch").ok()["job"].clone();
    assert_eq!(j["status"], "IN_PROGRESS");
    assert_eq!(j["jobProcessDetails"]["numberOfQueuedThings"], 1);
    emu.advance(2.0 * 3600.0);
    let j = emu.describe("sch").ok()["job"].clone();
    assert_eq!(j["status"], "CANCELED");
    assert_eq!(j["jobProcessDetails"]["numberOfCanceledThings"], 1);
}

#[test]
fn in_progress_timeout_times_executions_out() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    emu.create_job(
        "t",
        json!({"targets": [thing_arn("dev1")], "document": "{}", "timeoutConfig": {"inProgressTimeoutInMinutes": 5}}),
    )
    .ok();
    emu.control(
        "POST",
        "jobs/t/executions",
        Some(json!({"status": "IN_PROGRESS"})),
    )
    .ok();
    emu.advance(299.0);
    assert_eq!(emu.status("t"), "IN_PROGRESS");
    emu.advance(2.0);
    let j = emu.describe("t").ok()["job"].clone();
    assert_eq!(j["jobProcessDetails"]["numberOfTimedOutThings"], 1);
    assert_eq!(j["status"], "COMPLETED");
}

#[test]
fn tags_on_jobs_things_and_groups() {
    let emu = Emu::start(&[]);
    emu.simple_job("tj");
    emu.group("fleet", &[]);
    for arn in [job_arn("tj"), thing_arn("dev1"), group_arn("fleet")] {
        emu.aws(
            "POST",
            "/tags",
            Some(json!({"resourceArn": arn, "tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})),
        )
        .ok();
        emu.aws(
            "POST",
            "/tags",
            Some(
                json!({"resourceArn": arn, "tags": [{"Key": "a", "Value": "3"}, {"Key": "empty"}]}),
            ),
        )
        .ok();
        emu.aws(
            "POST",
            "/untag",
            Some(json!({"resourceArn": arn, "tagKeys": ["b"]})),
        )
        .ok();
        let tags = emu
            .aws("GET", &format!("/tags?resourceArn={}", enc(&arn)), None)
            .ok();
        assert_eq!(
            tags["tags"],
            json!([{"Key": "a", "Value": "3"}, {"Key": "empty"}]),
            "{arn}"
        );
    }
    emu.aws("GET", "/tags", None)
        .err("InvalidRequestException", 400);
    emu.aws("GET", "/tags?resourceArn=not-an-arn", None)
        .err("InvalidRequestException", 400);
    let fifty: Vec<Value> = (0..49).map(|i| json!({"Key": format!("k{i}")})).collect();
    emu.aws(
        "POST",
        "/tags",
        Some(json!({"resourceArn": job_arn("tj"), "tags": fifty})),
    )
    .err("LimitExceededException", 410);
}

#[test]
fn things_and_groups() {
    let emu = Emu::start(&[]);
    let t = emu
        .aws(
            "POST",
            "/things/dev1",
            Some(json!({"attributePayload": {"attributes": {"model": "x1"}}})),
        )
        .ok();
    assert_eq!(t["thingArn"], thing_arn("dev1"));
    // Identical create is idempotent; a different one conflicts.
    let again = emu
        .aws(
            "POST",
            "/things/dev1",
            Some(json!({"attributePayload": {"attributes": {"model": "x1"}}})),
        )
        .ok();
    assert_eq!(again["thingId"], t["thingId"]);
    emu.aws("POST", "/things/dev1", Some(json!({})))
        .err("ResourceAlreadyExistsException", 409);
    let d = emu.aws("GET", "/things/dev1", None).ok();
    assert_eq!(d["attributes"], json!({"model": "x1"}));
    assert_eq!(d["thingId"], t["thingId"]);
    assert_eq!(d["version"], 1);
    emu.aws("GET", "/things/ghost", None)
        .err("ResourceNotFoundException", 404);
    emu.aws("POST", "/things/bad%20name", Some(json!({})))
        .err("InvalidRequestException", 400);

    emu.aws(
        "POST",
        "/thing-groups/root",
        Some(json!({"thingGroupProperties": {"thingGroupDescription": "top"}, "tags": [{"Key": "t", "Value": "v"}]})),
    )
    .ok();
    emu.aws(
        "POST",
        "/thing-groups/leaf",
        Some(json!({"parentGroupName": "root"})),
    )
    .ok();
    emu.aws(
        "POST",
        "/thing-groups/orphan",
        Some(json!({"parentGroupName": "ghost"})),
    )
    .err("InvalidRequestException", 400);
    let g = emu.aws("GET", "/thing-groups/leaf", None).ok();
    assert_eq!(g["thingGroupMetadata"]["parentGroupName"], "root");
    assert_eq!(
        g["thingGroupMetadata"]["rootToParentThingGroups"],
        json!([{"groupName": "root", "groupArn": group_arn("root")}])
    );
    assert_eq!(
        emu.aws("GET", "/thing-groups/root", None).ok()["thingGroupProperties"]
            ["thingGroupDescription"],
        "top"
    );
    let tags = emu
        .aws(
            "GET",
            &format!("/tags?resourceArn={}", enc(&group_arn("root"))),
            None,
        )
        .ok();
    assert_eq!(tags["tags"], json!([{"Key": "t", "Value": "v"}]));
    emu.aws("GET", "/thing-groups/ghost", None)
        .err("ResourceNotFoundException", 404);
    emu.aws(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "ghost", "thingName": "dev1"})),
    )
    .err("ResourceNotFoundException", 404);
    emu.aws(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingGroupName": "root", "thingName": "ghost"})),
    )
    .err("ResourceNotFoundException", 404);
    emu.aws(
        "PUT",
        "/thing-groups/addThingToThingGroup",
        Some(json!({"thingName": "dev1"})),
    )
    .err("InvalidRequestException", 400);
}

#[test]
fn state_is_scoped_per_region() {
    let emu = Emu::start(&[]);
    let eu_thing = "arn:aws:iot:eu-west-1:123456789012:thing/dev1";
    emu.aws_in("eu-west-1", "POST", "/things/dev1", Some(json!({})))
        .ok();
    // The us-east-1 ARN is the wrong region for an eu-west-1 call.
    emu.aws_in(
        "eu-west-1",
        "PUT",
        "/jobs/r",
        Some(json!({"targets": [thing_arn("dev1")], "document": "{}"})),
    )
    .err("InvalidRequestException", 400);
    let out = emu
        .aws_in(
            "eu-west-1",
            "PUT",
            "/jobs/r",
            Some(json!({"targets": [eu_thing], "document": "{}"})),
        )
        .ok();
    assert_eq!(out["jobArn"], "arn:aws:iot:eu-west-1:123456789012:job/r");
    emu.describe("r").err("ResourceNotFoundException", 404);
    assert_eq!(emu.aws("GET", "/jobs", None).ok()["jobs"], json!([]));
    assert_eq!(
        emu.aws_in("eu-west-1", "GET", "/jobs", None).ok()["jobs"][0]["jobId"],
        "r"
    );
    // Control calls take ?region=.
    emu.control("POST", "jobs/r/complete?region=eu-west-1", None)
        .ok();
}

#[test]
fn protocol_errors() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    let r = emu.request("PUT", "/jobs/bad", Some(b"{not json"), Some("us-east-1"));
    r.err("InvalidRequestException", 400);
    let r = emu.request("PUT", "/jobs/bad", Some(b"[1,2]"), Some("us-east-1"));
    r.err("InvalidRequestException", 400);
    let r = emu.aws("GET", "/no/such/path", None);
    assert_eq!((r.status, r.code()), (404, "UnknownOperationException"));
    let r = emu.aws("POST", "/jobs/x", Some(json!({})));
    assert_eq!(r.status, 404);
    // Every response carries a request id and JSON content type.
    let r = emu.describe("nope");
    assert!(r.headers.contains_key("x-amzn-requestid"));
    assert_eq!(r.headers["content-type"], "application/json");
    // Unsigned requests are accepted and use --region.
    let r = emu.request("GET", "/jobs", None, None);
    assert_eq!(r.status, 200);
}

#[test]
fn control_api_reset_state_and_stats() {
    let emu = Emu::start(&[]);
    emu.simple_job("s1");
    emu.describe("s1").ok();
    emu.describe("ghost");
    let stats = emu.control("GET", "stats", None).ok();
    assert_eq!(stats["operations"]["DescribeJob"]["OK"], 1);
    assert_eq!(
        stats["operations"]["DescribeJob"]["ResourceNotFoundException"],
        1
    );
    assert_eq!(stats["operations"]["CreateJob"]["total"], 1);
    assert_eq!(stats["total"], 4);
    let state = emu.control("GET", "state", None).ok();
    assert!(state["scopes"]["123456789012:us-east-1"]["jobs"]["s1"].is_object());
    emu.control("POST", "stats/reset", None).ok();
    assert_eq!(emu.control("GET", "stats", None).ok()["total"], 0);
    let before = emu.now();
    let c = emu
        .control("POST", "clock/advance", Some(json!({"seconds": 100})))
        .ok();
    assert!(c["now"].as_f64().unwrap() >= before + 100.0);
    assert!(c["offsetSeconds"].as_f64().unwrap() >= 100.0);
    assert_eq!(
        emu.control("POST", "clock/advance", Some(json!({"seconds": -1})))
            .status,
        400
    );
    emu.control("POST", "reset", None).ok();
    emu.describe("s1").err("ResourceNotFoundException", 404);
    assert!(emu.now() < before + 50.0, "reset also resets the clock");
    assert_eq!(emu.control("GET", "nope", None).status, 404);
}

/// AWS stamps each answer with its time in `Date`; the emulator stamps its emulated clock, so
/// clients that measure time by the server (soaks, ETAs) see the emulated time.
#[test]
fn date_header_follows_the_emulated_clock() {
    let emu = Emu::start(&[]);
    let day = 86_400.0;
    emu.advance(2.0 * day);
    let resp = emu.aws("GET", "/jobs", None);
    assert_eq!(resp.status, 200);
    let date = resp.headers.get("date").expect("a Date header");
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let stamped = time::PrimitiveDateTime::parse(date, &format)
        .expect("an IMF-fixdate")
        .assume_utc()
        .unix_timestamp() as f64;
    let now = emu.now();
    assert!(
        (stamped - now).abs() < 5.0,
        "Date {date} ({stamped}) should be the emulated now {now}"
    );
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    assert!(
        stamped > wall + day,
        "two emulated days ahead of the wall clock"
    );
    emu.stop();
}
