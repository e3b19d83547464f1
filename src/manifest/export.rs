//! A job in the account as a manifest (`jobctl export`): pure, from what DescribeJob,
//! GetJobDocument, ListTagsForResource and the job's template said, to the text of a manifest
//! and of its document file. No I/O; `engine::export` does the reading and writing.
//!
//! The rule is the round trip: `jobctl plan --adopt` on the result shows nothing but the
//! ownership tags being added. So every field the job has is written, except values equal to
//! AWS's defaults and values the job inherited from its template; targets in this account and
//! region become `thing:`/`thingGroup:` names, which plan resolves back to the same ARNs; and
//! the document is written byte for byte. Each manifest is read back through jobctl's own
//! loader before it is handed out, so a manifest that would mean something else is never
//! written.

use serde_json::Value;

use super::emit;
use super::model::{JobManifest, Metadata, API_VERSION, KIND};
use super::yaml;
use crate::domain::ownership::RESERVED_TAG_PREFIX;
use crate::domain::spec::{JobSpec, Target, TargetSelection, ThingGroupRef, ThingRef};
use crate::domain::{JobStatus, JobTemplateDescription, RemoteJob};

/// AWS's default `presignedUrlConfig.expiresInSec`.
const DEFAULT_EXPIRES_IN_SEC: i64 = 3600;

/// Where the document goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Documents {
    /// A `documentFile` next to the manifest, holding GetJobDocument's text unchanged.
    Files,
    /// Inline in the manifest (for one stream on stdout).
    Inline,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The `$schema=` of the yaml-language-server modeline.
    pub schema: String,
    pub documents: Documents,
}

/// The job's template, when it was made from one.
#[derive(Debug, Clone, Copy)]
pub enum Template<'a> {
    /// No `jobTemplateArn`.
    None,
    Read(&'a JobTemplateDescription),
    /// The template could not be read (deleted, or the call failed): why.
    Unavailable(&'a str),
}

/// What the account holds for one job.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub job: &'a RemoteJob,
    /// The document exactly as GetJobDocument returned it; `None` for a `documentSource` job.
    pub document_text: Option<&'a str>,
    pub template: Template<'a>,
}

/// A document file to write next to its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFile {
    pub file_name: String,
    pub text: String,
}

/// One job, exported.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub job_id: String,
    pub status: JobStatus,
    /// `<jobId>.yaml`.
    pub file_name: String,
    /// The manifest's text: modeline, comments, one YAML document.
    pub manifest: String,
    pub document: Option<DocumentFile>,
    /// Fields left out because the job has them from its template.
    pub inherited: Vec<&'static str>,
    /// What the reader must know: the manifest will not validate, or keeps every value because
    /// the template could not be read.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The YAML would not read back as the job (such as an integer above 2^63 in an inline
    /// document, which jobctl's loader cannot carry). Nothing is written for the job.
    #[error("the manifest would not read back as the job ({0}); export it with --dir so the document is written as JSON")]
    ReadBack(String),
    /// The endpoint returned an id AWS would not allow; it would name the files written.
    #[error("the job id is not 1-64 of `[a-zA-Z0-9_-]`, so it cannot name a manifest")]
    JobId,
}

/// The manifest (and document file) for one job.
pub fn export(source: Source<'_>, options: &Options) -> Result<Exported, ExportError> {
    let job = source.job;
    let id_ok = (1..=64).contains(&job.job_id.len())
        && job
            .job_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(ExportError::JobId);
    }
    let mut spec = job.spec.clone();
    let mut warnings = Vec::new();
    let mut document_text = source.document_text.map(String::from);

    spec.tags
        .retain(|key, _| !key.starts_with(RESERVED_TAG_PREFIX));
    let inherited = match source.template {
        Template::None => Vec::new(),
        Template::Read(template) => leave_out_inherited(&mut spec, &mut document_text, template),
        Template::Unavailable(why) => {
            warnings.push(format!(
                "its template could not be read ({}), so every value is written out, including those it may have inherited",
                one_line(why)
            ));
            Vec::new()
        }
    };
    leave_out_defaults(&mut spec);
    spec.targets = spec
        .targets
        .into_iter()
        .map(|t| by_name(&job.job_arn, t))
        .collect();

    let mut document = None;
    spec.document = None;
    if spec.document_source.is_none() {
        if let Some(text) = document_text {
            match (serde_json::from_str::<Value>(&text), options.documents) {
                (Ok(parsed), placement) => {
                    if !parsed.is_object() {
                        warnings.push(
                            "its document is JSON but not an object; `jobctl validate` refuses such a manifest, as devices expect an object".into(),
                        );
                    }
                    match placement {
                        Documents::Files => {
                            let file_name = format!("{}.json", job.job_id);
                            spec.document_file = Some(file_name.clone());
                            document = Some(DocumentFile { file_name, text });
                        }
                        Documents::Inline => spec.document = Some(parsed),
                    }
                }
                (Err(_), _) => {
                    warnings.push(
                        "its document is not JSON; it is kept inline as a string, which `jobctl validate` refuses (jobctl manages JSON documents)".into(),
                    );
                    spec.document = Some(Value::String(text));
                }
            }
        }
    }

    let manifest = JobManifest {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        metadata: Metadata {
            name: job.job_id.clone(),
            max_failure_rate: None,
        },
        spec,
    };
    let value =
        serde_json::to_value(&manifest).map_err(|e| ExportError::ReadBack(e.to_string()))?;
    let mut text = header(
        job,
        &options.schema,
        &source.template,
        &inherited,
        &warnings,
    );
    text.push_str(&emit::to_yaml(&value));
    check_read_back(&text, &value)?;
    Ok(Exported {
        job_id: job.job_id.clone(),
        status: job.status.clone(),
        file_name: format!("{}.yaml", job.job_id),
        manifest: text,
        document,
        inherited,
        warnings,
    })
}

/// Clears every value the job has because its template has it, and names those fields. Values
/// the job set itself differ from the template's and stay.
fn leave_out_inherited(
    spec: &mut JobSpec,
    document_text: &mut Option<String>,
    template: &JobTemplateDescription,
) -> Vec<&'static str> {
    let from = &template.spec;
    let mut left_out = Vec::new();
    let mut take = |same: bool, field: &'static str| {
        if same {
            left_out.push(field);
        }
        same
    };
    if take(
        spec.description.is_some() && spec.description == from.description,
        "description",
    ) {
        spec.description = None;
    }
    // An AWS-managed template's document is filled in from `documentParameters`, so it never
    // equals the template's text; a job with parameters has no document of its own.
    let document_inherited = document_text.is_some()
        && (*document_text == template.document_text
            || (spec.document.is_some() && spec.document == from.document)
            || (template.managed && !spec.document_parameters.is_empty()));
    if take(document_inherited, "document") {
        *document_text = None;
    }
    if take(
        spec.document_source.is_some() && spec.document_source == from.document_source,
        "documentSource",
    ) {
        spec.document_source = None;
    }
    macro_rules! inherit {
        ($field:ident, $name:literal) => {
            if take(spec.$field.is_some() && spec.$field == from.$field, $name) {
                spec.$field = None;
            }
        };
    }
    inherit!(presigned_url_config, "presignedUrlConfig");
    inherit!(job_executions_rollout_config, "jobExecutionsRolloutConfig");
    inherit!(abort_config, "abortConfig");
    inherit!(timeout_config, "timeoutConfig");
    inherit!(job_executions_retry_config, "jobExecutionsRetryConfig");
    if take(
        !spec.destination_package_versions.is_empty()
            && spec.destination_package_versions == from.destination_package_versions,
        "destinationPackageVersions",
    ) {
        spec.destination_package_versions.clear();
    }
    let template_windows = from
        .scheduling_config
        .as_ref()
        .map(|s| &s.maintenance_windows);
    if let Some(scheduling) = &mut spec.scheduling_config {
        if take(
            !scheduling.maintenance_windows.is_empty()
                && Some(&scheduling.maintenance_windows) == template_windows,
            "schedulingConfig.maintenanceWindows",
        ) {
            scheduling.maintenance_windows.clear();
        }
        if scheduling.start_time.is_none()
            && scheduling.end_time.is_none()
            && scheduling.end_behavior.is_none()
            && scheduling.maintenance_windows.is_empty()
        {
            spec.scheduling_config = None;
        }
    }
    left_out
}

/// Values AWS fills in when CreateJob leaves them out; plan treats them the same way.
fn leave_out_defaults(spec: &mut JobSpec) {
    if spec.target_selection == Some(TargetSelection::Snapshot) {
        spec.target_selection = None;
    }
    if let Some(presigned) = &mut spec.presigned_url_config {
        // Without a role the config would be empty, which is not the same as none.
        if presigned.role_arn.is_some() && presigned.expires_in_sec == Some(DEFAULT_EXPIRES_IN_SEC)
        {
            presigned.expires_in_sec = None;
        }
    }
}

/// A thing or thing-group ARN in the job's own partition, region and account as the name a
/// manifest would use; any other target stays an ARN.
fn by_name(job_arn: &str, target: Target) -> Target {
    let Target::Arn(arn) = &target else {
        return target;
    };
    let scope = |a: &str| -> Option<(String, String)> {
        let parts: Vec<&str> = a.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, "iot", region, account, resource] if !account.is_empty() => Some((
                format!("{partition}:{region}:{account}"),
                (*resource).to_string(),
            )),
            _ => None,
        }
    };
    let (Some((job_scope, _)), Some((target_scope, resource))) = (scope(job_arn), scope(arn))
    else {
        return target;
    };
    let valid_name = |name: &str| {
        (1..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-'))
    };
    if job_scope != target_scope {
        return target;
    }
    match resource.split_once('/') {
        Some(("thing", name)) if valid_name(name) => Target::Thing(ThingRef {
            thing: name.to_string(),
        }),
        Some(("thinggroup", name)) if valid_name(name) => Target::ThingGroup(ThingGroupRef {
            thing_group: name.to_string(),
        }),
        _ => target,
    }
}

/// The modeline and the comments a reader needs before the manifest.
fn header(
    job: &RemoteJob,
    schema: &str,
    template: &Template<'_>,
    inherited: &[&str],
    warnings: &[String],
) -> String {
    let mut text = format!("# yaml-language-server: $schema={}\n", one_line(schema));
    text.push_str(&format!(
        "# Exported by `jobctl export` from {} ({}).\n",
        one_line(&job.job_arn),
        job.status
    ));
    if job.status.is_finished() {
        text.push_str(&format!(
            "# This job has finished ({}). Applying this manifest never runs it again: plan and\n\
             # apply leave finished jobs alone (listed as not compared); with --compare-finished\n\
             # only its tags can change, and any other change is refused (\"this job has finished;\n\
             # give the manifest a new name to roll it out again\"). To roll it out again, give\n\
             # this manifest a new metadata.name.\n",
            job.status
        ));
    }
    if let (Template::Read(t), false) = (template, inherited.is_empty()) {
        text.push_str(&format!(
            "# Created from {}; left out because the job has them from it: {}.\n",
            one_line(&t.template_arn),
            inherited.join(", ")
        ));
    }
    for warning in warnings {
        text.push_str(&format!("# Warning: {}.\n", one_line(warning)));
    }
    text
}

/// Text for a comment line: control characters (a newline would end the comment) become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn check_read_back(text: &str, value: &Value) -> Result<(), ExportError> {
    let docs = yaml::parse_documents(text).map_err(|e| ExportError::ReadBack(e.message))?;
    match docs.as_slice() {
        [doc] if doc.root.to_json() == *value => Ok(()),
        [_] => Err(ExportError::ReadBack(
            "a value reads back differently".into(),
        )),
        _ => Err(ExportError::ReadBack("not one YAML document".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::spec::TagValue;
    use crate::manifest::model::JobManifest;
    use serde_json::json;

    const ARN: &str = "arn:aws:iot:us-east-1:123456789012:job/fw";

    fn remote(status: JobStatus, spec: Value) -> RemoteJob {
        RemoteJob {
            job_id: "fw".into(),
            job_arn: ARN.into(),
            status,
            spec: serde_json::from_value(spec).expect("spec"),
            progress: Default::default(),
        }
    }

    fn options(documents: Documents) -> Options {
        Options {
            schema: "schemas/job.schema.json".into(),
            documents,
        }
    }

    fn source<'a>(job: &'a RemoteJob, text: Option<&'a str>) -> Source<'a> {
        Source {
            job,
            document_text: text,
            template: Template::None,
        }
    }

    /// The manifest as jobctl's loader reads it.
    fn read(exported: &Exported) -> JobManifest {
        let docs = yaml::parse_documents(&exported.manifest).expect("yaml");
        serde_json::from_value(docs[0].root.to_json()).expect("manifest")
    }

    #[test]
    fn every_field_is_kept_defaults_and_ownership_tags_are_not() {
        let text = "{\"operation\":\"update\",  \"url\": \"${aws:iot:s3-presigned-url-v2:https://s3.us-east-1.amazonaws.com/b/fw.bin}\"}\n";
        let mut job = remote(
            JobStatus::InProgress,
            json!({
                "description": "yes",
                "targets": [
                    "arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs",
                    "arn:aws:iot:us-east-1:123456789012:thing/Pi",
                    "arn:aws:iot:eu-west-1:123456789012:thing/Far",
                    "arn:aws:iot:us-east-1:999999999999:thing/Other",
                ],
                "targetSelection": "SNAPSHOT",
                "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/S3", "expiresInSec": 3600},
                "jobExecutionsRolloutConfig": {"maximumPerMinute": 50},
                "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 10.5, "minNumberOfExecutedThings": 20}]},
                "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
                "namespaceId": "gg",
                "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "ALL", "numberOfRetries": 2}]},
                "schedulingConfig": {"startTime": "2030-01-01T10:00", "maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 60}]},
                "destinationPackageVersions": ["arn:aws:iot:us-east-1:123456789012:package/p/version/1"],
            }),
        );
        for (k, v) in [
            ("jobctl:managed-by", "jobctl"),
            ("jobctl:instance", "prod"),
            ("team", "on"),
        ] {
            job.spec.tags.insert(k.into(), TagValue(v.into()));
        }
        let exported =
            export(source(&job, Some(text)), &options(Documents::Files)).expect("export");
        let spec = read(&exported).spec;
        assert_eq!(exported.file_name, "fw.yaml");
        let document = exported.document.as_ref().expect("document file");
        assert_eq!(document.file_name, "fw.json");
        assert_eq!(document.text, text, "byte for byte");
        assert_eq!(spec.document_file.as_deref(), Some("fw.json"));
        assert_eq!(spec.document, None);
        assert_eq!(spec.target_selection, None, "SNAPSHOT is AWS's default");
        let presigned = spec.presigned_url_config.as_ref().expect("presigned");
        assert_eq!(presigned.expires_in_sec, None, "3600 is AWS's default");
        assert_eq!(
            spec.tags.keys().collect::<Vec<_>>(),
            vec!["team"],
            "ownership tags dropped"
        );
        assert_eq!(
            serde_json::to_value(&spec.targets).expect("json"),
            json!([
                {"thingGroup": "Bulbs"},
                {"thing": "Pi"},
                "arn:aws:iot:eu-west-1:123456789012:thing/Far",
                "arn:aws:iot:us-east-1:999999999999:thing/Other",
            ])
        );
        // Everything else is exactly the account's.
        let mut want = job.spec.clone();
        want.tags.retain(|k, _| k == "team");
        want.targets = spec.targets.clone();
        want.target_selection = None;
        want.presigned_url_config = spec.presigned_url_config.clone();
        want.document_file = Some("fw.json".into());
        assert_eq!(spec, want);
        assert!(exported
            .manifest
            .starts_with("# yaml-language-server: $schema=schemas/job.schema.json\n"));
        assert!(exported.warnings.is_empty());
    }

    /// What people read: the whole text of an exported manifest, comments included.
    #[test]
    fn an_exported_manifest_as_written() {
        let mut job = remote(
            JobStatus::Completed,
            json!({
                "description": "Bulb firmware 4.2.0",
                "targets": ["arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs"],
                "targetSelection": "CONTINUOUS",
                "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/S3", "expiresInSec": 600},
                "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 10.0, "minNumberOfExecutedThings": 20}]},
                "schedulingConfig": {"maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 60}]},
            }),
        );
        job.spec
            .tags
            .insert("cost center".into(), TagValue("0755".into()));
        let exported = export(
            source(&job, Some("{\"operation\":\"update\"}")),
            &options(Documents::Files),
        )
        .expect("export");
        insta::assert_snapshot!(exported.manifest);
    }

    #[test]
    fn inline_documents_read_back_as_the_same_value() {
        let text = r#"{"b": [1, 1.10, "0755", true, null, {"yes": "no"}], "a": "x: y"}"#;
        let job = remote(
            JobStatus::InProgress,
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]}),
        );
        let exported =
            export(source(&job, Some(text)), &options(Documents::Inline)).expect("export");
        assert!(exported.document.is_none());
        let spec = read(&exported).spec;
        assert_eq!(
            spec.document,
            Some(serde_json::from_str::<Value>(text).expect("json"))
        );
    }

    #[test]
    fn documents_that_jobctl_cannot_carry_inline_are_refused_not_changed() {
        let text = r#"{"big": 18446744073709551615}"#;
        let job = remote(
            JobStatus::InProgress,
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]}),
        );
        let err = export(source(&job, Some(text)), &options(Documents::Inline)).expect_err("u64");
        assert!(matches!(err, ExportError::ReadBack(_)));
        // As a file the text is kept as it is.
        let file = export(source(&job, Some(text)), &options(Documents::Files)).expect("file");
        assert_eq!(file.document.expect("document").text, text);
    }

    #[test]
    fn a_non_json_document_stays_inline_as_a_string_with_a_warning() {
        let job = remote(
            JobStatus::InProgress,
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]}),
        );
        let exported = export(
            source(&job, Some("reboot now\n")),
            &options(Documents::Files),
        )
        .expect("export");
        assert!(exported.document.is_none());
        assert_eq!(read(&exported).spec.document, Some(json!("reboot now\n")));
        assert_eq!(exported.warnings.len(), 1, "{:?}", exported.warnings);
        assert!(exported
            .manifest
            .contains("# Warning: its document is not JSON"));
    }

    #[test]
    fn ids_that_could_name_a_path_are_refused() {
        let mut job = remote(
            JobStatus::InProgress,
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]}),
        );
        job.job_id = "../escape".into();
        let err = export(source(&job, Some("{}")), &options(Documents::Files)).expect_err("bad id");
        assert_eq!(err, ExportError::JobId);
    }

    #[test]
    fn document_source_jobs_keep_their_source() {
        let job = remote(
            JobStatus::InProgress,
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"], "documentSource": "https://s3.amazonaws.com/b/k.json"}),
        );
        let exported = export(source(&job, None), &options(Documents::Files)).expect("export");
        assert!(exported.document.is_none());
        let spec = read(&exported).spec;
        assert_eq!(
            spec.document_source.as_deref(),
            Some("https://s3.amazonaws.com/b/k.json")
        );
        assert_eq!(spec.document_file, None);
    }

    #[test]
    fn finished_jobs_say_what_applying_them_does() {
        let job = remote(
            JobStatus::Completed,
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]}),
        );
        let exported =
            export(source(&job, Some("{}")), &options(Documents::Files)).expect("export");
        assert!(
            exported.manifest.contains(
                "# This job has finished (COMPLETED). Applying this manifest never runs it again"
            ),
            "{}",
            exported.manifest
        );
        assert!(exported
            .manifest
            .contains("# this manifest a new metadata.name."));
        let active = remote(
            JobStatus::InProgress,
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"]}),
        );
        let exported =
            export(source(&active, Some("{}")), &options(Documents::Files)).expect("export");
        assert!(!exported.manifest.contains("has finished"));
    }

    fn template(managed: bool, spec: Value, text: Option<&str>) -> JobTemplateDescription {
        let mut spec: JobSpec = serde_json::from_value(spec).expect("template spec");
        spec.document = text.map(|t| serde_json::from_str(t).expect("json"));
        JobTemplateDescription {
            template_arn: "arn:aws:iot:us-east-1:123456789012:jobtemplate/fw".into(),
            managed,
            spec,
            document_text: text.map(String::from),
            parameters: Vec::new(),
        }
    }

    #[test]
    fn values_inherited_from_the_template_are_left_out_own_values_kept() {
        let doc = r#"{"operation":"update"}"#;
        let t = template(
            false,
            json!({
                "targets": [],
                "description": "from template",
                "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
                "abortConfig": {"criteriaList": [{"failureType": "ALL", "action": "CANCEL", "thresholdPercentage": 50.0, "minNumberOfExecutedThings": 1}]},
                "schedulingConfig": {"maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 60}]},
            }),
            Some(doc),
        );
        let job = remote(
            JobStatus::InProgress,
            json!({
                "targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"],
                "jobTemplateArn": "arn:aws:iot:us-east-1:123456789012:jobtemplate/fw",
                "description": "from template",
                "timeoutConfig": {"inProgressTimeoutInMinutes": 5},
                "abortConfig": {"criteriaList": [{"failureType": "ALL", "action": "CANCEL", "thresholdPercentage": 50.0, "minNumberOfExecutedThings": 1}]},
                "schedulingConfig": {"maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 60}]},
            }),
        );
        let exported = export(
            Source {
                job: &job,
                document_text: Some(doc),
                template: Template::Read(&t),
            },
            &options(Documents::Files),
        )
        .expect("export");
        assert_eq!(
            exported.inherited,
            vec![
                "description",
                "document",
                "abortConfig",
                "schedulingConfig.maintenanceWindows"
            ]
        );
        assert!(exported.document.is_none());
        let spec = read(&exported).spec;
        assert_eq!(spec.description, None);
        assert_eq!(spec.document_file, None);
        assert_eq!(spec.abort_config, None);
        assert_eq!(spec.scheduling_config, None);
        assert_eq!(
            spec.timeout_config
                .and_then(|t| t.in_progress_timeout_in_minutes),
            Some(5),
            "the job's own value stays"
        );
        assert_eq!(
            spec.job_template_arn.as_deref(),
            Some("arn:aws:iot:us-east-1:123456789012:jobtemplate/fw")
        );
        assert!(exported.manifest.contains(
            "# Created from arn:aws:iot:us-east-1:123456789012:jobtemplate/fw; left out because"
        ));

        // A job that overrode the document keeps its own.
        let own = r#"{"operation":"rollback"}"#;
        let exported = export(
            Source {
                job: &job,
                document_text: Some(own),
                template: Template::Read(&t),
            },
            &options(Documents::Files),
        )
        .expect("export");
        assert_eq!(exported.document.expect("own document").text, own);
    }

    #[test]
    fn managed_template_jobs_keep_parameters_not_the_filled_in_document() {
        let t = template(
            true,
            json!({"targets": [], "description": "Reboot"}),
            Some(r#"{"steps":[{"action":{"input":{"args":["${aws:iot:parameter:delay}"]}}}]}"#),
        );
        let job = remote(
            JobStatus::InProgress,
            json!({
                "targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"],
                "jobTemplateArn": "arn:aws:iot:us-east-1::jobtemplate/AWS-Reboot:1.0",
                "description": "Reboot",
                "documentParameters": {"delay": "5"},
            }),
        );
        let exported = export(
            Source {
                job: &job,
                document_text: Some(r#"{"steps":[{"action":{"input":{"args":["5"]}}}]}"#),
                template: Template::Read(&t),
            },
            &options(Documents::Files),
        )
        .expect("export");
        assert!(exported.document.is_none());
        let spec = read(&exported).spec;
        assert_eq!(spec.document_parameters.len(), 1);
        assert_eq!(spec.description, None);
    }

    #[test]
    fn an_unreadable_template_keeps_every_value_and_says_so() {
        let job = remote(
            JobStatus::InProgress,
            json!({
                "targets": ["arn:aws:iot:us-east-1:123456789012:thing/a"],
                "jobTemplateArn": "arn:aws:iot:us-east-1:123456789012:jobtemplate/gone",
                "description": "d",
            }),
        );
        let exported = export(
            Source {
                job: &job,
                document_text: Some("{}"),
                template: Template::Unavailable("DescribeJobTemplate: not found\nsecond line"),
            },
            &options(Documents::Files),
        )
        .expect("export");
        assert!(exported.document.is_some());
        assert_eq!(read(&exported).spec.description.as_deref(), Some("d"));
        assert!(exported
            .manifest
            .contains("# Warning: its template could not be read (DescribeJobTemplate: not found second line)"));
    }
}
