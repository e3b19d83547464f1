//! Job templates over plain HTTP against the real binary: the account's own templates
//! (create, describe, list, delete, tags, jobs created from them) and the AWS-managed
//! ones (list, describe, jobs with documentParameters and the substituted document).

mod common;

use common::{enc, thing_arn, Emu, ACCOUNT, REGION};
use serde_json::json;

fn template_arn(id: &str) -> String {
    format!("arn:aws:iot:{REGION}:{ACCOUNT}:jobtemplate/{id}")
}

fn managed_arn(name: &str) -> String {
    format!("arn:aws:iot:{REGION}::jobtemplate/{name}:1.0")
}

#[test]
fn custom_templates_round_trip() {
    let emu = Emu::start(&[]);
    let full = json!({
        "description": "OTA for bulbs",
        "document": "{\"firmware\":\"4.2.0\"}",
        "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/JobsS3", "expiresInSec": 600},
        "jobExecutionsRolloutConfig": {"maximumPerMinute": 50},
        "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL",
            "thresholdPercentage": 12.5, "minNumberOfExecutedThings": 5}]},
        "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
        "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 1}]},
        "maintenanceWindows": [{"startTime": "cron(0 22 ? * SAT *)", "durationInMinutes": 120}],
        "destinationPackageVersions": ["arn:aws:iot:us-east-1:123456789012:package/p/version/1"],
        "tags": [{"Key": "team", "Value": "lighting"}]
    });
    let out = emu
        .aws("PUT", "/job-templates/ota", Some(full.clone()))
        .ok();
    assert_eq!(
        out,
        json!({"jobTemplateArn": template_arn("ota"), "jobTemplateId": "ota"})
    );
    let d = emu.aws("GET", "/job-templates/ota", None).ok();
    for key in [
        "description",
        "document",
        "presignedUrlConfig",
        "jobExecutionsRolloutConfig",
        "abortConfig",
        "timeoutConfig",
        "jobExecutionsRetryConfig",
        "maintenanceWindows",
        "destinationPackageVersions",
    ] {
        assert_eq!(d[key], full[key], "{key}");
    }
    assert!(d["createdAt"].as_f64().unwrap() > 1.7e9);
    assert!(d.get("tags").is_none());
    let tags = emu
        .aws(
            "GET",
            &format!("/tags?resourceArn={}", enc(&template_arn("ota"))),
            None,
        )
        .ok();
    assert_eq!(tags["tags"], json!([{"Key": "team", "Value": "lighting"}]));

    // A duplicate is ConflictException with the id.
    let dup = emu.aws("PUT", "/job-templates/ota", Some(full.clone()));
    dup.err("ConflictException", 409);
    assert_eq!(dup.json["resourceId"], "ota");

    // Validation names the member.
    let r = emu.aws("PUT", "/job-templates/bad", Some(json!({"document": "{}"})));
    r.err("InvalidRequestException", 400);
    assert!(r.message().contains("description"), "{}", r.message());
    emu.aws(
        "PUT",
        "/job-templates/bad",
        Some(json!({"description": "x"})),
    )
    .err("InvalidRequestException", 400);
    emu.aws(
        "PUT",
        "/job-templates/bad!",
        Some(json!({"description": "x", "document": "{}"})),
    )
    .err("InvalidRequestException", 400);
    emu.aws(
        "PUT",
        "/job-templates/bad",
        Some(json!({"description": "x", "document": "{}",
                    "maintenanceWindows": [{"startTime": "every day", "durationInMinutes": 30}]})),
    )
    .err("InvalidRequestException", 400);
    emu.aws("GET", "/job-templates/ghost", None)
        .err("ResourceNotFoundException", 404);

    // Listing pages in creation order.
    for i in 0..3 {
        emu.aws(
            "PUT",
            &format!("/job-templates/t{i}"),
            Some(json!({"description": format!("t{i}"), "document": "{}"})),
        )
        .ok();
    }
    let p1 = emu.aws("GET", "/job-templates?maxResults=2", None).ok();
    let ids: Vec<&str> = p1["jobTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["jobTemplateId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["ota", "t0"]);
    assert_eq!(p1["jobTemplates"][0]["description"], "OTA for bulbs");
    let token = p1["nextToken"].as_str().unwrap();
    let p2 = emu
        .aws(
            "GET",
            &format!("/job-templates?maxResults=2&nextToken={token}"),
            None,
        )
        .ok();
    assert_eq!(p2["jobTemplates"].as_array().unwrap().len(), 2);
    assert!(p2.get("nextToken").is_none());

    let r = emu.aws("DELETE", "/job-templates/t0", None);
    assert_eq!((r.status, r.raw.len()), (200, 0));
    emu.aws("DELETE", "/job-templates/t0", None)
        .err("ResourceNotFoundException", 404);
}

#[test]
fn jobs_take_what_they_leave_out_from_their_template() {
    let emu = Emu::start(&[]);
    emu.thing("dev1");
    emu.aws(
        "PUT",
        "/job-templates/ota",
        Some(json!({
            "description": "OTA for bulbs",
            "document": "{\"firmware\":\"4.2.0\"}",
            "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
            "jobExecutionsRolloutConfig": {"maximumPerMinute": 50}
        })),
    )
    .ok();
    let out = emu
        .create_job(
            "from-t",
            json!({"targets": [thing_arn("dev1")], "jobTemplateArn": template_arn("ota"),
                   "timeoutConfig": {"inProgressTimeoutInMinutes": 5}}),
        )
        .ok();
    assert_eq!(out["description"], "OTA for bulbs");
    let j = emu.job("from-t");
    assert_eq!(j["jobTemplateArn"], template_arn("ota"));
    assert_eq!(
        j["timeoutConfig"],
        json!({"inProgressTimeoutInMinutes": 5}),
        "the job's own value wins"
    );
    assert_eq!(
        j["jobExecutionsRolloutConfig"],
        json!({"maximumPerMinute": 50})
    );
    assert_eq!(
        emu.aws("GET", "/jobs/from-t/job-document", None).ok()["document"],
        "{\"firmware\":\"4.2.0\"}"
    );
    // The device gets the template's document too.
    let next = emu
        .data("PUT", "/things/dev1/jobs/$next", Some(json!({})))
        .ok();
    assert_eq!(next["execution"]["jobDocument"], "{\"firmware\":\"4.2.0\"}");
    // A missing template is not found; deleting a template leaves its jobs alone.
    emu.create_job(
        "nope",
        json!({"targets": [thing_arn("dev1")], "jobTemplateArn": template_arn("ghost")}),
    )
    .err("ResourceNotFoundException", 404);
    emu.aws("DELETE", "/job-templates/ota", None).ok();
    assert_eq!(
        emu.aws("GET", "/jobs/from-t/job-document", None).ok()["document"],
        "{\"firmware\":\"4.2.0\"}"
    );
    // A template cloned from a job (jobArn) takes the job's document and configs.
    let job_arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:job/from-t");
    emu.aws(
        "PUT",
        "/job-templates/cloned",
        Some(json!({"description": "from a job", "jobArn": job_arn})),
    )
    .ok();
    let c = emu.aws("GET", "/job-templates/cloned", None).ok();
    assert_eq!(c["document"], "{\"firmware\":\"4.2.0\"}");
    assert_eq!(c["timeoutConfig"], json!({"inProgressTimeoutInMinutes": 5}));
    emu.aws(
        "PUT",
        "/job-templates/cloned2",
        Some(json!({"description": "x", "jobArn": format!("arn:aws:iot:{REGION}:{ACCOUNT}:job/ghost")})),
    )
    .err("ResourceNotFoundException", 404);
}

#[test]
fn managed_templates_list_describe_and_substitute() {
    let emu = Emu::start(&[]);
    let l = emu.aws("GET", "/managed-job-templates", None).ok();
    let names: Vec<&str> = l["managedJobTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["templateName"].as_str().unwrap())
        .collect();
    for n in ["AWS-Reboot", "AWS-Run-Command", "AWS-Download-File"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let one = emu
        .aws(
            "GET",
            "/managed-job-templates?templateName=AWS-Reboot",
            None,
        )
        .ok();
    assert_eq!(
        one["managedJobTemplates"],
        json!([{"templateArn": managed_arn("AWS-Reboot"), "templateName": "AWS-Reboot",
                "description": "A managed job template for rebooting the device.",
                "environments": ["LINUX"], "templateVersion": "1.0"}])
    );
    let d = emu
        .aws("GET", "/managed-job-templates/AWS-Download-File", None)
        .ok();
    assert_eq!(d["templateArn"], managed_arn("AWS-Download-File"));
    let keys: Vec<(&str, bool)> = d["documentParameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["key"].as_str().unwrap(), p["optional"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("downloadUrl", false),
            ("filePath", false),
            ("runAsUser", true),
            ("pathToHandler", true)
        ]
    );
    assert!(d["document"]
        .as_str()
        .unwrap()
        .contains("${aws:iot:parameter:downloadUrl}"));
    emu.aws(
        "GET",
        "/managed-job-templates/AWS-Download-File?templateVersion=1.0",
        None,
    )
    .ok();
    emu.aws(
        "GET",
        "/managed-job-templates/AWS-Download-File?templateVersion=9.9",
        None,
    )
    .err("ResourceNotFoundException", 404);
    emu.aws("GET", "/managed-job-templates/AWS-Nope", None)
        .err("ResourceNotFoundException", 404);

    // A job from a managed template: parameters checked, document substituted.
    emu.thing("dev1");
    let job = |id: &str, params: serde_json::Value| {
        emu.create_job(
            id,
            json!({"targets": [thing_arn("dev1")], "jobTemplateArn": managed_arn("AWS-Download-File"),
                   "documentParameters": params}),
        )
    };
    let r = job("dl-missing", json!({"downloadUrl": "https://e.com/f"}));
    r.err("InvalidRequestException", 400);
    assert!(r.message().contains("filePath"), "{}", r.message());
    let r = job(
        "dl-unknown",
        json!({"downloadUrl": "u", "filePath": "/f", "colour": "red"}),
    );
    r.err("InvalidRequestException", 400);
    assert!(r.message().contains("colour"), "{}", r.message());
    let out = job(
        "dl",
        json!({"downloadUrl": "https://example.com/index.html", "filePath": "/tmp/index.html"}),
    )
    .ok();
    assert_eq!(
        out["description"],
        "A managed job template for downloading a file."
    );
    let j = emu.job("dl");
    assert_eq!(
        j["documentParameters"],
        json!({"downloadUrl": "https://example.com/index.html", "filePath": "/tmp/index.html"})
    );
    let doc: serde_json::Value = serde_json::from_str(
        emu.aws("GET", "/jobs/dl/job-document", None).ok()["document"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let input = &doc["steps"][0]["action"]["input"];
    assert_eq!(
        input["args"],
        json!(["https://example.com/index.html", "/tmp/index.html"])
    );
    assert_eq!(input["handler"], "download-file.sh");
    assert_eq!(input["path"], "");
    let raw = emu
        .aws("GET", "/jobs/dl/job-document?beforeSubstitution=true", None)
        .ok();
    assert!(raw["document"]
        .as_str()
        .unwrap()
        .contains("${aws:iot:parameter:downloadUrl}"));
    // Devices get the substituted document.
    let next = emu.data("GET", "/things/dev1/jobs/dl", None).ok();
    assert!(next["execution"]["jobDocument"]
        .as_str()
        .unwrap()
        .contains("https://example.com/index.html"));
    // AWS-Reboot needs no parameters; a managed template of another version is not found.
    emu.create_job(
        "rb",
        json!({"targets": [thing_arn("dev1")], "jobTemplateArn": managed_arn("AWS-Reboot")}),
    )
    .ok();
    emu.create_job(
        "rb2",
        json!({"targets": [thing_arn("dev1")],
               "jobTemplateArn": format!("arn:aws:iot:{REGION}::jobtemplate/AWS-Reboot:7.0")}),
    )
    .err("ResourceNotFoundException", 404);
}
