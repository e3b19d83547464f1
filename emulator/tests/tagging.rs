//! The Resource Groups Tagging API's GetResources on the same port as IoT, routed by the
//! SigV4 service name `tagging`: tag and resource-type filters, pages, the index lag
//! (`--tagging-lag`), and AccessDeniedException (`--deny`, `PUT /_emulator/deny`).

mod common;

use common::{group_arn, job_arn, Emu};
use serde_json::{json, Value};

fn arns(v: &Value) -> Vec<String> {
    v["ResourceTagMappingList"]
        .as_array()
        .expect("ResourceTagMappingList")
        .iter()
        .map(|m| m["ResourceARN"].as_str().expect("ARN").to_owned())
        .collect()
}

fn get(emu: &Emu, body: Value) -> Value {
    emu.tagging("GetResources", body).ok()
}

fn tagged_job(emu: &Emu, id: &str, tags: Value) {
    emu.create_job(
        id,
        json!({"targets": [group_arn("G")], "document": "{}", "tags": tags}),
    )
    .ok();
}

fn template_arn(id: &str) -> String {
    job_arn(id).replace(":job/", ":jobtemplate/")
}

#[test]
fn get_resources_filters_by_tags_and_types() {
    let emu = Emu::start(&[]);
    emu.group("G", &["t1"]);
    tagged_job(
        &emu,
        "a",
        json!([{"Key": "managed-by", "Value": "jobctl"}, {"Key": "env", "Value": "prod"}]),
    );
    tagged_job(
        &emu,
        "b",
        json!([{"Key": "managed-by", "Value": "jobctl"}, {"Key": "env", "Value": "dev"}]),
    );
    tagged_job(
        &emu,
        "c",
        json!([{"Key": "managed-by", "Value": "someone-else"}]),
    );
    emu.create_job(
        "untagged",
        json!({"targets": [group_arn("G")], "document": "{}"}),
    )
    .ok();
    emu.aws(
        "PUT",
        "/job-templates/tpl",
        Some(json!({"description": "d", "document": "{}", "tags": [{"Key": "managed-by", "Value": "jobctl"}]})),
    )
    .ok();

    let managed = json!([{"Key": "managed-by", "Values": ["jobctl"]}]);
    let r = get(
        &emu,
        json!({"TagFilters": managed, "ResourceTypeFilters": ["iot:job"]}),
    );
    assert_eq!(arns(&r), [job_arn("a"), job_arn("b")]);
    assert_eq!(r["PaginationToken"], "", "one page: an empty token");
    let tags = &r["ResourceTagMappingList"][0]["Tags"];
    assert!(tags
        .as_array()
        .expect("tags")
        .contains(&json!({"Key": "env", "Value": "prod"})));
    // AND across filters, OR within values, any value without values.
    let r = get(
        &emu,
        json!({"TagFilters": [{"Key": "managed-by", "Values": ["jobctl"]}, {"Key": "env", "Values": ["prod", "qa"]}]}),
    );
    assert_eq!(arns(&r), [job_arn("a")]);
    let r = get(
        &emu,
        json!({"TagFilters": [{"Key": "managed-by"}], "ResourceTypeFilters": ["iot:job"]}),
    );
    assert_eq!(arns(&r), [job_arn("a"), job_arn("b"), job_arn("c")]);
    // Types: templates alone, and plain `iot` for everything.
    let r = get(
        &emu,
        json!({"TagFilters": managed, "ResourceTypeFilters": ["iot:jobtemplate"]}),
    );
    assert_eq!(arns(&r), [template_arn("tpl")]);
    let r = get(
        &emu,
        json!({"TagFilters": managed, "ResourceTypeFilters": ["iot"]}),
    );
    assert_eq!(arns(&r).len(), 3);
    let r = get(&emu, json!({"ResourceTypeFilters": ["s3"]}));
    assert!(arns(&r).is_empty());
    // An untagged job is never in the index; one whose tags were all removed is, with none.
    assert!(!arns(&get(&emu, json!({}))).contains(&job_arn("untagged")));
    emu.aws(
        "POST",
        "/untag",
        Some(json!({"resourceArn": job_arn("c"), "tagKeys": ["managed-by"]})),
    )
    .ok();
    let all = get(&emu, json!({"ResourceTypeFilters": ["iot:job"]}));
    let c = all["ResourceTagMappingList"]
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["ResourceARN"] == job_arn("c"))
        .cloned()
        .expect("c is still indexed");
    assert_eq!(c["Tags"], json!([]));
    let stats = emu.control("GET", "stats", None).ok();
    assert!(
        stats["operations"]["tagging:GetResources"]["OK"]
            .as_u64()
            .is_some_and(|n| n >= 8),
        "{stats}"
    );
}

#[test]
fn get_resources_pages() {
    let emu = Emu::start(&[]);
    emu.group("G", &["t1"]);
    for i in 0..5 {
        tagged_job(&emu, &format!("j{i}"), json!([{"Key": "k", "Value": "v"}]));
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = get(
            &emu,
            json!({"TagFilters": [{"Key": "k"}], "ResourcesPerPage": 2, "PaginationToken": token}),
        );
        pages += 1;
        seen.extend(arns(&r));
        token = r["PaginationToken"].as_str().expect("token").to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let want: Vec<String> = (0..5).map(|i| job_arn(&format!("j{i}"))).collect();
    assert_eq!(seen, want);
    let r = emu.tagging("GetResources", json!({"ResourcesPerPage": 101}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json["__type"], "InvalidParameterException");
    assert!(r.json["Message"].as_str().is_some_and(|m| !m.is_empty()));
    let r = emu.tagging("GetResources", json!({"PaginationToken": "bogus"}));
    assert_eq!(r.json["__type"], "InvalidParameterException");
}

#[test]
fn the_index_trails_the_tags_by_the_lag() {
    let emu = Emu::start(&["--tagging-lag", "5s"]);
    emu.fleet(json!({"timeScale": 0}));
    emu.group("G", &["t1"]);
    tagged_job(&emu, "fresh", json!([{"Key": "k", "Value": "v1"}]));
    let filter = |v: &str| json!({"TagFilters": [{"Key": "k", "Values": [v]}]});
    assert!(arns(&get(&emu, filter("v1"))).is_empty(), "not indexed yet");
    emu.advance(5.0);
    assert_eq!(arns(&get(&emu, filter("v1"))), [job_arn("fresh")]);
    // Re-tagged: the old value still matches, the new one not yet.
    emu.aws(
        "POST",
        "/tags",
        Some(json!({"resourceArn": job_arn("fresh"), "tags": [{"Key": "k", "Value": "v2"}]})),
    )
    .ok();
    emu.advance(4.0);
    assert_eq!(arns(&get(&emu, filter("v1"))), [job_arn("fresh")], "stale");
    assert!(arns(&get(&emu, filter("v2"))).is_empty());
    emu.advance(1.0);
    assert!(arns(&get(&emu, filter("v1"))).is_empty());
    assert_eq!(arns(&get(&emu, filter("v2"))), [job_arn("fresh")]);
}

#[test]
fn the_fleet_document_sets_the_lag_too() {
    let emu = Emu::start(&[]);
    emu.fleet(json!({"timeScale": 0, "taggingLagSeconds": 60}));
    emu.group("G", &["t1"]);
    tagged_job(&emu, "j", json!([{"Key": "k", "Value": "v"}]));
    let filter = json!({"TagFilters": [{"Key": "k"}]});
    emu.advance(59.0);
    assert!(arns(&get(&emu, filter.clone())).is_empty());
    emu.advance(1.0);
    assert_eq!(arns(&get(&emu, filter)), [job_arn("j")]);
}

#[test]
fn get_resources_can_be_denied() {
    let emu = Emu::start(&["--deny", "tag:GetResources"]);
    let r = emu.tagging("GetResources", json!({}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json["__type"], "AccessDeniedException");
    assert!(r.json["Message"]
        .as_str()
        .is_some_and(|m| m.contains("tag:GetResources")));
    // IoT itself is not denied.
    emu.aws("GET", "/jobs", None).ok();
    assert_eq!(
        emu.control("GET", "deny", None).ok(),
        json!({"actions": ["tag:GetResources"]})
    );
    emu.control("PUT", "deny", Some(json!({"actions": []})))
        .ok();
    emu.tagging("GetResources", json!({})).ok();
    emu.control("PUT", "deny", Some(json!({"actions": ["iot:ListJobs"]})))
        .ok();
    emu.aws("GET", "/jobs", None)
        .err("AccessDeniedException", 403);
    assert_eq!(
        emu.control("PUT", "deny", Some(json!({"actions": ["tag:Nope"]})))
            .status,
        400
    );
    // reset goes back to the flags.
    emu.control("POST", "reset", None).ok();
    assert_eq!(
        emu.tagging("GetResources", json!({})).json["__type"],
        "AccessDeniedException"
    );
    let stats = emu.control("GET", "stats", None).ok();
    assert_eq!(
        stats["operations"]["tagging:GetResources"]["AccessDeniedException"],
        1
    );
}

#[test]
fn an_unknown_tagging_operation_is_refused() {
    let emu = Emu::start(&[]);
    let r = emu.tagging("TagResources", json!({}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json["__type"], "UnknownOperationException");
}
