//! What a job created from a job template takes from it, as the plan shows it: the template's
//! value of every field the job leaves out, which CreateJob fills in (see docs/templates.md).
//!
//! Pure: a job spec and a template's values in, the inherited fields out. Where the template's
//! values come from (a manifest, DescribeJobTemplate, DescribeManagedJobTemplate, or the job
//! itself once it exists) is the caller's business; [`InheritedFrom`] records it. Inherited
//! values are shown, never diffed: a template changed after a job was created from it does not
//! change that job, and does not replan it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::spec::{DocumentParameterValue, JobSpec};
use crate::domain::JobTemplateDescription;

/// Where the inherited values shown come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum InheritedFrom {
    /// A `kind: JobTemplate` manifest of this run: what apply creates or keeps before the job.
    Manifest,
    /// DescribeJobTemplate of a template the account holds and no manifest declares.
    Account,
    /// DescribeManagedJobTemplate, with the job's `documentParameters` put into the document.
    Managed,
    /// The existing job (DescribeJob, GetJobDocument): what it took at CreateJob.
    Job,
}

impl InheritedFrom {
    /// How the text plan says where the values come from.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Manifest => "declared in this run's manifests",
            Self::Account => "as the account holds it",
            Self::Managed => "AWS-managed, documentParameters substituted",
            Self::Job => "as the job took them when it was created",
        }
    }
}

/// The values a job inherits from its template, for the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inherited {
    pub template_arn: String,
    /// The template's name (its jobTemplateId, or an AWS-managed template's name).
    pub template_name: String,
    /// An AWS-managed template's version, when the ARN names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version: Option<String>,
    pub from: InheritedFrom,
    /// The template's manifest (`file:line:col`), when a manifest declares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Each inherited field with its value, in manifest order; empty when the job gives every
    /// value the template has.
    pub fields: Map<String, Value>,
}

impl Inherited {
    /// The values `job` inherits from the template `template_arn`, whose values are `template`
    /// (in job-spec terms, see [`JobTemplateDescription::spec`]).
    pub fn of(template_arn: &str, from: InheritedFrom, job: &JobSpec, template: &JobSpec) -> Self {
        let (template_name, template_version) = name_and_version(template_arn);
        Self {
            template_arn: template_arn.to_string(),
            template_name,
            template_version,
            from,
            source: None,
            fields: fields(job, template),
        }
    }
}

/// The fields `job` leaves out that `template` has, with the template's values.
pub fn fields(job: &JobSpec, template: &JobSpec) -> Map<String, Value> {
    let own = super::templates::fields_of(job);
    let theirs = super::templates::fields_of(template);
    let has_document =
        job.document.is_some() || job.document_source.is_some() || job.document_file.is_some();
    let mut out = Map::new();
    // What CreateJob takes from a template when the job gives none, in manifest order. The
    // document goes as a whole: `document` or `documentSource`, whichever the template has,
    // and only when the job has neither. Maintenance windows sit inside `schedulingConfig`.
    for &field in super::plan::INHERITABLE {
        let left_out = match field {
            "document" | "documentSource" => !has_document,
            _ => !own.contains_key(field),
        };
        if let (true, Some(value)) = (left_out, theirs.get(field)) {
            out.insert(field.to_string(), value.clone());
        }
    }
    let windows = |spec: &JobSpec| {
        spec.scheduling_config
            .as_ref()
            .map(|s| s.maintenance_windows.clone())
            .unwrap_or_default()
    };
    if windows(job).is_empty() && !windows(template).is_empty() {
        if let Ok(value) = serde_json::to_value(windows(template)) {
            out.insert("maintenanceWindows".to_string(), value);
        }
    }
    out
}

/// An AWS-managed template's values as a job with these `documentParameters` gets them: every
/// `${aws:iot:parameter:KEY}` in the document replaced by the job's value (JSON-escaped, since
/// placeholders sit inside JSON strings), as GetJobDocument answers the job's document. An
/// optional parameter the job leaves out becomes an empty string (inferred: AWS does not
/// document it; the emulator does the same); a placeholder the template declares no parameter
/// for is left as it is.
pub fn with_parameters(
    template: &JobTemplateDescription,
    parameters: &BTreeMap<String, DocumentParameterValue>,
) -> JobSpec {
    let mut spec = template.spec.clone();
    if let Some(text) = &template.document_text {
        let declared: Vec<&str> = template.parameters.iter().map(|p| p.key.as_str()).collect();
        let text = substitute(text, parameters, &declared);
        spec.document = Some(serde_json::from_str(&text).unwrap_or(Value::String(text)));
    }
    spec
}

fn substitute(
    text: &str,
    parameters: &BTreeMap<String, DocumentParameterValue>,
    declared: &[&str],
) -> String {
    const OPEN: &str = "${aws:iot:parameter:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        let after = &rest[i + OPEN.len()..];
        let Some(j) = after.find('}') else { break };
        out.push_str(&rest[..i]);
        let key = &after[..j];
        match parameters.get(key) {
            Some(value) => {
                let quoted = serde_json::to_string(&value.0).unwrap_or_default();
                out.push_str(quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(""));
            }
            None if declared.contains(&key) => {}
            None => out.push_str(&rest[i..i + OPEN.len() + j + 1]),
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    out
}

/// The name and version in a template ARN: `…:jobtemplate/NAME` or, for an AWS-managed one,
/// `…::jobtemplate/NAME:VERSION`.
pub fn name_and_version(arn: &str) -> (String, Option<String>) {
    let resource = arn
        .split_once(":jobtemplate/")
        .map_or(arn, |(_, resource)| resource);
    match resource.split_once(':') {
        Some((name, version)) => (name.to_string(), Some(version.to_string())),
        None => (resource.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JobTemplateSpec;

    fn job(value: Value) -> JobSpec {
        serde_json::from_value(value).expect("job spec")
    }

    fn template() -> JobSpec {
        let spec: JobTemplateSpec = serde_json::from_value(serde_json::json!({
            "description": "Bulb OTA",
            "document": {"operation": "update"},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 30},
            "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 10, "minNumberOfExecutedThings": 5}]},
            "maintenanceWindows": [{"startTime": "cron(0 22 ? * SAT *)", "durationInMinutes": 120}],
            "destinationPackageVersions": ["arn:aws:iot:us-east-1:123456789012:package/fw/version/4.2.0"],
        }))
        .expect("template spec");
        spec.as_job_spec()
    }

    #[test]
    fn a_job_inherits_what_it_leaves_out_in_manifest_order() {
        let fields = fields(
            &job(serde_json::json!({"targets": [{"thing": "t1"}]})),
            &template(),
        );
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "description",
                "document",
                "abortConfig",
                "timeoutConfig",
                "destinationPackageVersions",
                "maintenanceWindows"
            ]
        );
        assert_eq!(fields["timeoutConfig"]["inProgressTimeoutInMinutes"], 30);
        assert_eq!(fields["document"]["operation"], "update");
        assert_eq!(fields["maintenanceWindows"][0]["durationInMinutes"], 120);
    }

    #[test]
    fn what_the_job_sets_itself_is_not_inherited() {
        let own = job(serde_json::json!({
            "targets": [{"thing": "t1"}],
            "description": "mine",
            "documentSource": "https://bucket.s3.amazonaws.com/job.json",
            "timeoutConfig": {"inProgressTimeoutInMinutes": 5},
            "schedulingConfig": {"maintenanceWindows": [{"startTime": "cron(0 1 ? * MON *)", "durationInMinutes": 30}]},
        }));
        let fields = fields(&own, &template());
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        // The job's document source stands for the whole document: the template's is not used.
        assert_eq!(names, ["abortConfig", "destinationPackageVersions"]);
    }

    #[test]
    fn a_template_without_a_value_hands_nothing_down() {
        let bare: JobTemplateSpec =
            serde_json::from_value(serde_json::json!({"description": "d", "documentSource": "https://b.s3.amazonaws.com/d.json"}))
                .expect("spec");
        let fields = fields(
            &job(serde_json::json!({"targets": [{"thing": "t1"}], "description": "mine"})),
            &bare.as_job_spec(),
        );
        assert_eq!(
            fields,
            Map::from_iter([(
                "documentSource".to_string(),
                Value::String("https://b.s3.amazonaws.com/d.json".into())
            )])
        );
    }

    #[test]
    fn managed_documents_get_the_jobs_parameters_and_empty_optional_ones() {
        let description = JobTemplateDescription {
            template_arn: "arn:aws:iot:us-east-1::jobtemplate/AWS-Download-File:1.0".into(),
            managed: true,
            spec: JobSpec {
                description: Some("Downloads a file".into()),
                ..job(serde_json::json!({"targets": []}))
            },
            document_text: Some(
                r#"{"url":"${aws:iot:parameter:downloadUrl}","path":"${aws:iot:parameter:filePath}","user":"${aws:iot:parameter:runAsUser}","other":"${aws:iot:parameter:nope}"}"#
                    .into(),
            ),
            parameters: ["downloadUrl", "filePath", "runAsUser"]
                .iter()
                .map(|key| crate::domain::TemplateParameter {
                    key: key.to_string(),
                    description: String::new(),
                    optional: *key == "runAsUser",
                })
                .collect(),
        };
        let params = BTreeMap::from([
            (
                "downloadUrl".to_string(),
                DocumentParameterValue("https://example.com/a \"b\".conf".into()),
            ),
            (
                "filePath".to_string(),
                DocumentParameterValue("/etc/a.conf".into()),
            ),
        ]);
        let spec = with_parameters(&description, &params);
        let document = spec.document.clone().expect("document");
        assert_eq!(document["url"], "https://example.com/a \"b\".conf");
        assert_eq!(document["path"], "/etc/a.conf");
        // An optional parameter left out is empty; a placeholder of no parameter stays.
        assert_eq!(document["user"], "");
        assert_eq!(document["other"], "${aws:iot:parameter:nope}");
        let inherited = Inherited::of(
            &description.template_arn,
            InheritedFrom::Managed,
            &job(serde_json::json!({"targets": []})),
            &spec,
        );
        assert_eq!(inherited.template_name, "AWS-Download-File");
        assert_eq!(inherited.template_version.as_deref(), Some("1.0"));
        assert_eq!(inherited.fields["description"], "Downloads a file");
        assert_eq!(inherited.fields["document"]["path"], "/etc/a.conf");
    }

    #[test]
    fn names_and_versions_come_from_the_arn() {
        assert_eq!(
            name_and_version("arn:aws:iot:us-east-1:123456789012:jobtemplate/ota"),
            ("ota".to_string(), None)
        );
        assert_eq!(
            name_and_version("arn:aws:iot:us-east-1::jobtemplate/AWS-Reboot:1.0"),
            ("AWS-Reboot".to_string(), Some("1.0".to_string()))
        );
    }
}
