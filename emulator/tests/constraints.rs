//! One case per input constraint of the service model (reference §1): the violating value
//! is rejected with InvalidRequestException whose message names the member, and the
//! boundary value is accepted.

mod common;

use common::{enc, thing_arn, Emu};
use serde_json::{json, Map, Value};

/// A valid CreateJob body with `patch` merged over it (top-level keys; `null` removes).
fn body(patch: &Value) -> Value {
    let mut base = json!({"targets": [thing_arn("dev1")], "document": "{}"});
    if let (Some(b), Some(p)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if v.is_null() {
                b.remove(k);
            } else {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    base
}

fn s(n: usize) -> String {
    "a".repeat(n)
}

/// A JSON document of exactly `n` bytes.
fn doc_of(n: usize) -> String {
    format!("{{\"a\":\"{}\"}}", "x".repeat(n - 8))
}

fn role(n: usize) -> String {
    let head = "arn:aws:iam::1:r/";
    format!("{head}{}", "r".repeat(n - head.len()))
}

fn arn_of(n: usize) -> String {
    format!("arn:{}", "x".repeat(n - 4))
}

fn rollout_exp(base: Value, factor: Value, criteria: Value) -> Value {
    json!({"jobExecutionsRolloutConfig": {"exponentialRate": {
        "baseRatePerMinute": base, "incrementFactor": factor, "rateIncreaseCriteria": criteria}}})
}

fn abort(failure: &str, action: &str, pct: Value, min: Value) -> Value {
    json!({"abortConfig": {"criteriaList": [{"failureType": failure, "action": action,
        "thresholdPercentage": pct, "minNumberOfExecutedThings": min}]}})
}

fn retry(items: Value) -> Value {
    json!({"jobExecutionsRetryConfig": {"criteriaList": items}})
}

fn rc(failure: &str, n: i64) -> Value {
    json!({"failureType": failure, "numberOfRetries": n})
}

fn window(cron: &str, minutes: i64) -> Value {
    json!({"schedulingConfig": {"maintenanceWindows": [{"startTime": cron, "durationInMinutes": minutes}]}})
}

const MANAGED: &str = "arn:aws:iot:us-east-1::jobtemplate/AWS-Run-Command:1.0";
const REBOOT: &str = "arn:aws:iot:us-east-1::jobtemplate/AWS-Reboot:1.0";

/// (what, member named in the message, violating patch, boundary patch that is accepted)
fn create_job_cases() -> Vec<(&'static str, &'static str, Value, Value)> {
    let pkg = |i: usize| format!("arn:aws:iot:us-east-1:123456789012:package/p/version/{i}");
    vec![
        (
            "targets empty",
            "targets",
            json!({"targets": []}),
            json!({}),
        ),
        (
            "targets not a list",
            "targets",
            json!({"targets": "x"}),
            json!({}),
        ),
        (
            "targets missing",
            "targets",
            json!({"targets": null}),
            json!({}),
        ),
        (
            "target too long",
            "targets.1",
            json!({"targets": [format!("{}{}", thing_arn("dev1"), "x".repeat(2048))]}),
            json!({}),
        ),
        (
            "target not an ARN",
            "targets.1",
            json!({"targets": ["dev1"]}),
            json!({}),
        ),
        (
            "target other account",
            "targets.1",
            json!({"targets": ["arn:aws:iot:us-east-1:999999999999:thing/dev1"]}),
            json!({}),
        ),
        (
            "target other region",
            "targets.1",
            json!({"targets": ["arn:aws:iot:eu-west-1:123456789012:thing/dev1"]}),
            json!({}),
        ),
        (
            "target not thing or group",
            "targets.1",
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:job/x"]}),
            json!({}),
        ),
        (
            "documentSource empty",
            "documentSource",
            json!({"document": null, "documentSource": ""}),
            json!({"document": null, "documentSource": "s"}),
        ),
        (
            "documentSource 1351",
            "documentSource",
            json!({"document": null, "documentSource": s(1351)}),
            json!({"document": null, "documentSource": s(1350)}),
        ),
        (
            "document 32769 bytes",
            "document",
            json!({"document": doc_of(32769)}),
            json!({"document": doc_of(32768)}),
        ),
        (
            "document not JSON",
            "document",
            json!({"document": "not json"}),
            json!({"document": "[]"}),
        ),
        (
            "document and documentSource",
            "document",
            json!({"documentSource": "s"}),
            json!({}),
        ),
        (
            "neither document nor source",
            "document",
            json!({"document": null}),
            json!({}),
        ),
        (
            "description 2029",
            "description",
            json!({"description": s(2029)}),
            json!({"description": s(2028)}),
        ),
        (
            "description newline",
            "description",
            json!({"description": "a\nb"}),
            json!({"description": "a b ü"}),
        ),
        (
            "description empty",
            "description",
            json!({"description": ""}),
            json!({"description": "x"}),
        ),
        (
            "roleArn 19",
            "roleArn",
            json!({"presignedUrlConfig": {"roleArn": role(19)}}),
            json!({"presignedUrlConfig": {"roleArn": role(20)}}),
        ),
        (
            "roleArn 2049",
            "roleArn",
            json!({"presignedUrlConfig": {"roleArn": role(2049)}}),
            json!({"presignedUrlConfig": {"roleArn": role(2048)}}),
        ),
        (
            "expiresInSec 59",
            "expiresInSec",
            json!({"presignedUrlConfig": {"expiresInSec": 59}}),
            json!({"presignedUrlConfig": {"expiresInSec": 60}}),
        ),
        (
            "expiresInSec 3601",
            "expiresInSec",
            json!({"presignedUrlConfig": {"expiresInSec": 3601}}),
            json!({"presignedUrlConfig": {"expiresInSec": 3600}}),
        ),
        (
            "targetSelection enum",
            "targetSelection",
            json!({"targetSelection": "BOGUS"}),
            json!({"targetSelection": "CONTINUOUS"}),
        ),
        (
            "maximumPerMinute 0",
            "maximumPerMinute",
            json!({"jobExecutionsRolloutConfig": {"maximumPerMinute": 0}}),
            json!({"jobExecutionsRolloutConfig": {"maximumPerMinute": 1}}),
        ),
        (
            "maximumPerMinute 1001",
            "maximumPerMinute",
            json!({"jobExecutionsRolloutConfig": {"maximumPerMinute": 1001}}),
            json!({"jobExecutionsRolloutConfig": {"maximumPerMinute": 1000}}),
        ),
        (
            "maximumPerMinute float",
            "maximumPerMinute",
            json!({"jobExecutionsRolloutConfig": {"maximumPerMinute": 1.5}}),
            json!({}),
        ),
        (
            "baseRatePerMinute 0",
            "baseRatePerMinute",
            rollout_exp(json!(0), json!(2), json!({"numberOfNotifiedThings": 1})),
            rollout_exp(json!(1), json!(2), json!({"numberOfNotifiedThings": 1})),
        ),
        (
            "baseRatePerMinute 1001",
            "baseRatePerMinute",
            rollout_exp(json!(1001), json!(2), json!({"numberOfNotifiedThings": 1})),
            rollout_exp(json!(1000), json!(2), json!({"numberOfNotifiedThings": 1})),
        ),
        (
            "incrementFactor 1.0",
            "incrementFactor",
            rollout_exp(json!(1), json!(1.0), json!({"numberOfNotifiedThings": 1})),
            rollout_exp(json!(1), json!(1.1), json!({"numberOfNotifiedThings": 1})),
        ),
        (
            "incrementFactor 5.1",
            "incrementFactor",
            rollout_exp(json!(1), json!(5.1), json!({"numberOfNotifiedThings": 1})),
            rollout_exp(json!(1), json!(5), json!({"numberOfNotifiedThings": 1})),
        ),
        (
            "incrementFactor 1.55",
            "incrementFactor",
            rollout_exp(json!(1), json!(1.55), json!({"numberOfNotifiedThings": 1})),
            rollout_exp(json!(1), json!(1.5), json!({"numberOfNotifiedThings": 1})),
        ),
        (
            "rateIncreaseCriteria missing",
            "rateIncreaseCriteria",
            rollout_exp(json!(1), json!(2), Value::Null),
            rollout_exp(json!(1), json!(2), json!({"numberOfSucceededThings": 1})),
        ),
        (
            "rateIncreaseCriteria empty",
            "rateIncreaseCriteria",
            rollout_exp(json!(1), json!(2), json!({})),
            rollout_exp(
                json!(1),
                json!(2),
                json!({"numberOfNotifiedThings": 1, "numberOfSucceededThings": 1}),
            ),
        ),
        (
            "numberOfNotifiedThings 0",
            "numberOfNotifiedThings",
            rollout_exp(json!(1), json!(2), json!({"numberOfNotifiedThings": 0})),
            rollout_exp(json!(1), json!(2), json!({"numberOfNotifiedThings": 1})),
        ),
        (
            "numberOfSucceededThings 0",
            "numberOfSucceededThings",
            rollout_exp(json!(1), json!(2), json!({"numberOfSucceededThings": 0})),
            rollout_exp(json!(1), json!(2), json!({"numberOfSucceededThings": 1})),
        ),
        (
            "abort criteriaList empty",
            "criteriaList",
            json!({"abortConfig": {"criteriaList": []}}),
            abort("ALL", "CANCEL", json!(1), json!(1)),
        ),
        (
            "abort criteriaList missing",
            "criteriaList",
            json!({"abortConfig": {}}),
            abort("ALL", "CANCEL", json!(1), json!(1)),
        ),
        (
            "abort failureType enum",
            "failureType",
            abort("BOGUS", "CANCEL", json!(1), json!(1)),
            abort("REJECTED", "CANCEL", json!(1), json!(1)),
        ),
        (
            "abort action enum",
            "action",
            abort("FAILED", "STOP", json!(1), json!(1)),
            abort("FAILED", "CANCEL", json!(1), json!(1)),
        ),
        (
            "thresholdPercentage 100.01",
            "thresholdPercentage",
            abort("FAILED", "CANCEL", json!(100.01), json!(1)),
            abort("FAILED", "CANCEL", json!(100), json!(1)),
        ),
        (
            "thresholdPercentage 3 decimals",
            "thresholdPercentage",
            abort("FAILED", "CANCEL", json!(50.555), json!(1)),
            abort("FAILED", "CANCEL", json!(99.99), json!(1)),
        ),
        (
            "minNumberOfExecutedThings 0",
            "minNumberOfExecutedThings",
            abort("FAILED", "CANCEL", json!(10), json!(0)),
            abort("TIMED_OUT", "CANCEL", json!(10), json!(1)),
        ),
        (
            "abort member missing",
            "minNumberOfExecutedThings",
            abort("FAILED", "CANCEL", json!(10), Value::Null),
            abort("FAILED", "CANCEL", json!(0), json!(1)),
        ),
        (
            "timeout 0",
            "inProgressTimeoutInMinutes",
            json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 0}}),
            json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 1}}),
        ),
        (
            "timeout 10081",
            "inProgressTimeoutInMinutes",
            json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 10081}}),
            json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 10080}}),
        ),
        (
            "timeoutConfig not a structure",
            "timeoutConfig",
            json!({"timeoutConfig": 5}),
            json!({"timeoutConfig": {}}),
        ),
        (
            "tag Key empty",
            "Key",
            json!({"tags": [{"Key": ""}]}),
            json!({"tags": [{"Key": "k"}]}),
        ),
        (
            "tag Key 129",
            "Key",
            json!({"tags": [{"Key": s(129)}]}),
            json!({"tags": [{"Key": s(128)}]}),
        ),
        (
            "tag Key pattern",
            "Key",
            json!({"tags": [{"Key": "bad#key"}]}),
            json!({"tags": [{"Key": "ok key_.:/=+-@é"}]}),
        ),
        (
            "tag Key missing",
            "Key",
            json!({"tags": [{"Value": "v"}]}),
            json!({"tags": [{"Key": "k", "Value": ""}]}),
        ),
        (
            "tag Value 257",
            "Value",
            json!({"tags": [{"Key": "k", "Value": s(257)}]}),
            json!({"tags": [{"Key": "k", "Value": s(256)}]}),
        ),
        (
            "namespaceId pattern",
            "namespaceId",
            json!({"namespaceId": "bad ns"}),
            json!({"namespaceId": "ns_1-A"}),
        ),
        (
            "jobTemplateArn empty",
            "jobTemplateArn",
            json!({"jobTemplateArn": ""}),
            json!({"document": null, "jobTemplateArn": REBOOT}),
        ),
        (
            "jobTemplateArn pattern",
            "jobTemplateArn",
            json!({"jobTemplateArn": "template"}),
            json!({"jobTemplateArn": "arn:aws:iot:us-east-1:123456789012:jobtemplate/t"}),
        ),
        (
            "jobTemplateArn 1601",
            "jobTemplateArn",
            json!({"jobTemplateArn": arn_of(1601)}),
            json!({"document": null, "jobTemplateArn": REBOOT}),
        ),
        (
            "retry criteriaList empty",
            "criteriaList",
            retry(json!([])),
            retry(json!([rc("FAILED", 1)])),
        ),
        (
            "retry criteriaList 3",
            "criteriaList",
            retry(json!([rc("FAILED", 1), rc("TIMED_OUT", 1), rc("ALL", 1)])),
            // A TIMED_OUT criterion needs an in-progress timer.
            json!({"jobExecutionsRetryConfig": {"criteriaList": [rc("FAILED", 1), rc("TIMED_OUT", 1)]},
                   "timeoutConfig": {"inProgressTimeoutInMinutes": 10}}),
        ),
        (
            "retry failureType enum",
            "failureType",
            retry(json!([rc("REJECTED", 1)])),
            retry(json!([rc("ALL", 1)])),
        ),
        (
            "numberOfRetries -1",
            "numberOfRetries",
            retry(json!([rc("FAILED", -1)])),
            retry(json!([rc("FAILED", 0)])),
        ),
        (
            "numberOfRetries 11",
            "numberOfRetries",
            retry(json!([rc("FAILED", 11)])),
            retry(json!([rc("FAILED", 10)])),
        ),
        (
            "documentParameters without managed template",
            "documentParameters",
            json!({"documentParameters": {"k": "v"}}),
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"command": "v"}}),
        ),
        (
            "documentParameters key pattern",
            "documentParameters",
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"bad key": "v"}}),
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"command": "v"}}),
        ),
        (
            "documentParameters key 129",
            "documentParameters",
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {s(129): "v"}}),
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"command": "v"}}),
        ),
        (
            "documentParameters value empty",
            "documentParameters",
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"k": ""}}),
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"command": s(30720)}}),
        ),
        (
            "documentParameters value 30721",
            "documentParameters",
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"k": s(30721)}}),
            json!({}),
        ),
        (
            "documentParameters value control",
            "documentParameters",
            json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {"k": "a\tb"}}),
            json!({}),
        ),
        (
            "endBehavior enum",
            "endBehavior",
            json!({"schedulingConfig": {"endBehavior": "STOP"}}),
            json!({"schedulingConfig": {"endBehavior": "FORCE_CANCEL"}}),
        ),
        (
            "maintenance duration 0",
            "durationInMinutes",
            window("cron(0 0 * * ? *)", 0),
            window("cron(0 0 * * ? *)", 1),
        ),
        (
            "maintenance duration 1431",
            "durationInMinutes",
            window("cron(0 0 * * ? *)", 1431),
            window("cron(0 0 * * ? *)", 1430),
        ),
        // Windows are evaluated, so a start time must also be a cron expression: the
        // shortest one and one padded to the 256-character limit.
        (
            "maintenance cron empty",
            "startTime",
            window("", 10),
            window("cron(0 0 * * ? *)", 10),
        ),
        (
            "maintenance cron 257",
            "startTime",
            window(&format!("cron(0 0 * * ? *{})", " ".repeat(257 - 17)), 10),
            window(&format!("cron(0 0 * * ? *{})", " ".repeat(256 - 17)), 10),
        ),
        (
            "maintenance cron not cron",
            "startTime",
            window("every day at noon", 10),
            window("cron(0 12 * * ? *)", 10),
        ),
        (
            "destinationPackageVersions 26",
            "destinationPackageVersions",
            json!({"destinationPackageVersions": (0..26).map(pkg).collect::<Vec<_>>()}),
            json!({"destinationPackageVersions": (0..25).map(pkg).collect::<Vec<_>>()}),
        ),
        (
            "destinationPackageVersions pattern",
            "destinationPackageVersions",
            json!({"destinationPackageVersions": ["pkg"]}),
            json!({"destinationPackageVersions": [arn_of(1600)]}),
        ),
        (
            "destinationPackageVersions 1601",
            "destinationPackageVersions",
            json!({"destinationPackageVersions": [arn_of(1601)]}),
            json!({}),
        ),
    ]
}

#[track_caller]
fn rejected(r: &common::Resp, member: &str, what: &str) {
    assert_eq!(
        (r.status, r.code()),
        (400, "InvalidRequestException"),
        "{what}: {}",
        String::from_utf8_lossy(&r.raw)
    );
    assert!(
        r.message().contains(member),
        "{what}: message {:?} does not name {member}",
        r.message()
    );
}

#[test]
fn create_job_constraints() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    // Templates are resolved at CreateJob, so the valid ARNs below must name real ones.
    emu.aws(
        "PUT",
        "/job-templates/t",
        Some(json!({"description": "t", "document": "{}"})),
    )
    .ok();
    for (i, (what, member, bad, good)) in create_job_cases().into_iter().enumerate() {
        let r = emu.create_job(&format!("bad{i}"), body(&bad));
        rejected(&r, member, what);
        let r = emu.create_job(&format!("good{i}"), body(&good));
        assert_eq!(
            r.status,
            200,
            "{what} boundary: {}",
            String::from_utf8_lossy(&r.raw)
        );
    }
    // Boundaries that pass the model's checks but name nothing that exists: the answer is
    // the lookup's error, not a validation error.
    let r = emu.create_job(
        "long-arn",
        body(&json!({"document": null, "jobTemplateArn": arn_of(1600)})),
    );
    r.err("ResourceNotFoundException", 404);
    let r = emu.create_job(
        "long-key",
        body(&json!({"document": null, "jobTemplateArn": MANAGED, "documentParameters": {s(128): "v"}})),
    );
    r.err("InvalidRequestException", 400);
    assert!(
        r.message()
            .contains("is not a parameter of AWS-Run-Command"),
        "{}",
        r.message()
    );
}

#[test]
fn job_id_constraints() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    for bad in [s(65), "a!b".into(), "a%20b".into(), "%C3%A9".into()] {
        rejected(&emu.create_job(&bad, body(&json!({}))), "jobId", &bad);
        rejected(&emu.describe(&bad), "jobId", &bad);
    }
    emu.create_job(&s(64), body(&json!({}))).ok();
    emu.create_job("A-z_0", body(&json!({}))).ok();
    emu.create_job("a", body(&json!({}))).ok();
}

#[test]
fn targets_at_most_100() {
    let emu = Emu::start(&[]);
    let arns: Vec<String> = (0..101)
        .map(|i| {
            let n = format!("t{i}");
            emu.thing(&n);
            thing_arn(&n)
        })
        .collect();
    rejected(
        &emu.create_job("many", body(&json!({"targets": arns}))),
        "targets",
        "101 targets",
    );
    emu.create_job("many", body(&json!({"targets": arns[..100]})))
        .ok();
}

fn minute(epoch: f64) -> String {
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
fn scheduling_time_rules() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    let now = emu.now();
    let min = 60.0;
    let day = 86400.0;
    let sched = |start: Option<String>, end: Option<String>| {
        let mut c = Map::new();
        if let Some(s) = start {
            c.insert("startTime".into(), s.into());
        }
        if let Some(e) = end {
            c.insert("endTime".into(), e.into());
        }
        json!({"schedulingConfig": c})
    };
    // (what, violating, accepted boundary); minute truncation is why boundaries carry a
    // minute or two of margin.
    let cases = vec![
        (
            "start in the past",
            sched(Some(minute(now - day)), None),
            sched(Some(minute(now + 32.0 * min)), None),
        ),
        (
            "start under 30 min",
            sched(Some(minute(now + 29.0 * min)), None),
            sched(Some(minute(now + 32.0 * min)), None),
        ),
        (
            "start over 1 year",
            sched(Some(minute(now + 366.0 * day)), None),
            sched(Some(minute(now + 364.0 * day)), None),
        ),
        (
            "start bad format",
            sched(Some("2030-01-01 10:00".into()), None),
            sched(Some(minute(now + day)), None),
        ),
        (
            "start with seconds",
            sched(Some(format!("{}:00", minute(now + day))), None),
            sched(Some(minute(now + day)), None),
        ),
        (
            "start empty",
            sched(Some(String::new()), None),
            sched(None, None),
        ),
        (
            "end under 30 min from now",
            sched(None, Some(minute(now + 20.0 * min))),
            sched(None, Some(minute(now + 32.0 * min))),
        ),
        (
            "end over 2 years",
            sched(None, Some(minute(now + 731.0 * day))),
            sched(None, Some(minute(now + 729.0 * day))),
        ),
        (
            "end under 30 min after start",
            sched(
                Some(minute(now + day)),
                Some(minute(now + day + 29.0 * min)),
            ),
            sched(
                Some(minute(now + day)),
                Some(minute(now + day + 30.0 * min)),
            ),
        ),
        (
            "end bad format",
            sched(None, Some("tomorrow".into())),
            sched(None, Some(minute(now + day))),
        ),
    ];
    for (i, (what, bad, good)) in cases.into_iter().enumerate() {
        let r = emu.create_job(&format!("sbad{i}"), body(&bad));
        rejected(&r, "schedulingConfig", what);
        let r = emu.create_job(&format!("sgood{i}"), body(&good));
        assert_eq!(
            r.status,
            200,
            "{what} boundary: {}",
            String::from_utf8_lossy(&r.raw)
        );
    }
}

#[test]
fn update_job_constraints() {
    let emu = Emu::start(&[]);
    emu.simple_job("u");
    let cases = vec![
        (
            "description",
            json!({"description": "a\u{7}b"}),
            json!({"description": s(2028)}),
        ),
        (
            "description",
            json!({"description": s(2029)}),
            json!({"description": "ok"}),
        ),
        (
            "expiresInSec",
            json!({"presignedUrlConfig": {"expiresInSec": 3601}}),
            json!({"presignedUrlConfig": {"expiresInSec": 3600}}),
        ),
        (
            "maximumPerMinute",
            json!({"jobExecutionsRolloutConfig": {"maximumPerMinute": 0}}),
            json!({"jobExecutionsRolloutConfig": {"maximumPerMinute": 1000}}),
        ),
        (
            "thresholdPercentage",
            abort("ALL", "CANCEL", json!(101), json!(1)),
            abort("ALL", "CANCEL", json!(100), json!(1)),
        ),
        (
            "inProgressTimeoutInMinutes",
            json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 0}}),
            json!({"timeoutConfig": {"inProgressTimeoutInMinutes": 10080}}),
        ),
        (
            "criteriaList",
            retry(json!([])),
            // UpdateJob can only set numberOfRetries to 0 (the developer guide).
            retry(json!([rc("ALL", 0)])),
        ),
    ];
    for (member, bad, good) in cases {
        rejected(&emu.aws("PATCH", "/jobs/u", Some(bad)), member, member);
        emu.aws("PATCH", "/jobs/u", Some(good)).ok();
    }
    rejected(
        &emu.aws("PATCH", "/jobs/u?namespaceId=bad%20ns", Some(json!({}))),
        "namespaceId",
        "namespaceId",
    );
}

#[test]
fn cancel_and_delete_constraints() {
    let emu = Emu::start(&[]);
    emu.simple_job("c");
    let cases = vec![
        (
            "reasonCode",
            json!({"reasonCode": "lower"}),
            json!({"reasonCode": "UPPER_1"}),
        ),
        (
            "reasonCode",
            json!({"reasonCode": "A-B"}),
            json!({"reasonCode": "A".repeat(128)}),
        ),
        (
            "reasonCode",
            json!({"reasonCode": "A".repeat(129)}),
            json!({"reasonCode": "A"}),
        ),
        (
            "comment",
            json!({"comment": s(2029)}),
            json!({"comment": s(2028)}),
        ),
        (
            "comment",
            json!({"comment": "tab\there"}),
            json!({"comment": "fine"}),
        ),
    ];
    for (i, (member, bad, good)) in cases.into_iter().enumerate() {
        let id = format!("c{i}");
        emu.simple_job(&id);
        rejected(
            &emu.aws("PUT", &format!("/jobs/{id}/cancel"), Some(bad)),
            member,
            member,
        );
        emu.aws("PUT", &format!("/jobs/{id}/cancel"), Some(good))
            .ok();
    }
    rejected(
        &emu.aws("DELETE", "/jobs/c?namespaceId=a%2Fb&force=true", None),
        "namespaceId",
        "delete namespaceId",
    );
    emu.aws("DELETE", "/jobs/c?force=maybe", None)
        .err("InvalidRequestException", 400);
}

#[test]
fn list_constraints() {
    let emu = Emu::start(&[]);
    emu.simple_job("l");
    let cases = [
        ("maxResults", "/jobs?maxResults=0", "/jobs?maxResults=1"),
        ("maxResults", "/jobs?maxResults=251", "/jobs?maxResults=250"),
        ("maxResults", "/jobs?maxResults=ten", "/jobs?maxResults=10"),
        ("status", "/jobs?status=QUEUED", "/jobs?status=SCHEDULED"),
        (
            "targetSelection",
            "/jobs?targetSelection=ALL",
            "/jobs?targetSelection=SNAPSHOT",
        ),
        ("thingGroupName", "/jobs?thingGroupName=bad%20name", "/jobs"),
        ("thingGroupId", "/jobs?thingGroupId=bad_id", "/jobs"),
        (
            "namespaceId",
            "/jobs?namespaceId=bad%20ns",
            "/jobs?namespaceId=ns",
        ),
        (
            "maxResults",
            "/jobs/l/things?maxResults=251",
            "/jobs/l/things?maxResults=250",
        ),
        (
            "status",
            "/jobs/l/things?status=DONE",
            "/jobs/l/things?status=REMOVED",
        ),
    ];
    for (member, bad, good) in cases {
        rejected(&emu.aws("GET", bad, None), member, bad);
        emu.aws("GET", good, None).ok();
    }
    let long = "g".repeat(129);
    rejected(
        &emu.aws("GET", &format!("/jobs?thingGroupName={long}"), None),
        "thingGroupName",
        "129",
    );
}

#[test]
fn associate_and_tag_constraints() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    emu.create_job("c", body(&json!({"targetSelection": "CONTINUOUS"})))
        .ok();
    rejected(
        &emu.aws("POST", "/jobs/c/targets", Some(json!({"targets": []}))),
        "targets",
        "empty targets",
    );
    rejected(
        &emu.aws(
            "POST",
            "/jobs/c/targets",
            Some(json!({"targets": [thing_arn("dev1")], "comment": "a\nb"})),
        ),
        "comment",
        "comment",
    );
    rejected(
        &emu.aws(
            "POST",
            "/jobs/c/targets",
            Some(json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/bad name"]})),
        ),
        "targets.1",
        "bad target",
    );
    let arn = common::job_arn("c");
    rejected(
        &emu.aws(
            "POST",
            "/tags",
            Some(json!({"resourceArn": arn, "tags": [{"Key": "x#"}]})),
        ),
        "Key",
        "tag key",
    );
    rejected(
        &emu.aws("POST", "/tags", Some(json!({"resourceArn": arn}))),
        "tags",
        "tags missing",
    );
    rejected(
        &emu.aws("POST", "/tags", Some(json!({"tags": []}))),
        "resourceArn",
        "arn missing",
    );
    rejected(
        &emu.aws(
            "POST",
            "/untag",
            Some(json!({"resourceArn": arn, "tagKeys": [""]})),
        ),
        "tagKeys",
        "untag key",
    );
    emu.aws(
        "POST",
        "/tags",
        Some(json!({"resourceArn": arn, "tags": [{"Key": s(128), "Value": s(256)}]})),
    )
    .ok();
    let listed = emu
        .aws("GET", &format!("/tags?resourceArn={}", enc(&arn)), None)
        .ok();
    assert_eq!(listed["tags"][0]["Key"], s(128));
}
