//! Job templates: what one hands down to the jobs created from it, in job-spec terms, and
//! a template as a `kind: JobTemplate` manifest declares it.

use std::collections::BTreeMap;

use super::job::Origin;
use super::spec::{
    AbortConfig, JobExecutionsRetryConfig, JobExecutionsRolloutConfig, JobSpec, MaintenanceWindow,
    PackageVersionArn, PresignedUrlConfig, SchedulingConfig, TagValue, TimeoutConfig,
};

/// A job template as DescribeJobTemplate (the account's own) or DescribeManagedJobTemplate
/// (AWS-managed) reports it. A job created from it inherits every value here that its own
/// CreateJob left out.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTemplateDescription {
    pub template_arn: String,
    /// True for an AWS-managed template (`arn:aws:iot:REGION::jobtemplate/NAME:VERSION`).
    pub managed: bool,
    /// The template's values: `targets` is empty, maintenance windows sit in
    /// `schedulingConfig`, and the document is parsed as a job's is (JSON when it is JSON).
    pub spec: JobSpec,
    /// The document text exactly as the template stores it.
    pub document_text: Option<String>,
    /// An AWS-managed template's `documentParameters` (empty for the account's own).
    pub parameters: Vec<TemplateParameter>,
}

/// One `DocumentParameter` of an AWS-managed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateParameter {
    pub key: String,
    pub description: String,
    /// False when every job from the template must give it.
    pub optional: bool,
}

/// What `aws iot create-job-template` accepts, one field per member of CreateJobTemplate
/// except `jobTemplateId` (the manifest's `metadata.name`) and `jobArn` (a template copied
/// from a job would change whenever that job does; a manifest states its values instead).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobTemplateSpec {
    /// What the template is for (required by AWS; at most 2028 characters, no control
    /// characters such as newlines or tabs).
    #[schemars(length(min = 1, max = 2028), regex(pattern = r"^[^\p{C}]+$"))]
    pub description: String,

    /// The job document, inline, as YAML or JSON. It is sent as compact JSON and must stay under
    /// 32768 bytes. Use exactly one of `document`, `documentFile` and `documentSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("type" = "object"))]
    pub document: Option<serde_json::Value>,

    /// The text sent as the document when it is not `document` serialized: a JSON
    /// `documentFile`'s exact text (see `JobSpec::document_text`).
    #[serde(skip)]
    pub document_text: Option<String>,

    /// A file holding the job document (`.json`, `.yaml` or `.yml`), relative to this manifest
    /// and inside the manifest root. Use exactly one of `document`, `documentFile` and
    /// `documentSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096), regex(pattern = r"\.(json|ya?ml)$"))]
    pub document_file: Option<String>,

    /// An S3 object URL of the job document (1-1350 characters). Use exactly one of `document`,
    /// `documentFile` and `documentSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1350), regex(pattern = r"^https://\S+$"))]
    pub document_source: Option<String>,

    /// How IoT presigns S3 URLs in the document, for jobs created from the template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presigned_url_config: Option<PresignedUrlConfig>,

    /// How fast jobs created from the template roll out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_executions_rollout_config: Option<JobExecutionsRolloutConfig>,

    /// When jobs created from the template abort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_config: Option<AbortConfig>,

    /// How long each device has to finish its execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_config: Option<TimeoutConfig>,

    /// How many times failed or timed-out executions are retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_executions_retry_config: Option<JobExecutionsRetryConfig>,

    /// Recurring maintenance windows for jobs created from the template.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance_windows: Vec<MaintenanceWindow>,

    /// Software package version ARNs installed on the device when a job from the template
    /// succeeds (at most 25, each 1-1600 characters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25))]
    pub destination_package_versions: Vec<PackageVersionArn>,

    /// Tags for the template, as a map. Keys are 1-128 characters, values at most 256. Keys
    /// starting with `jobctl:` are reserved for jobctl.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"minLength": 1, "maxLength": 128, "pattern": "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"}))]
    pub tags: BTreeMap<String, TagValue>,
}

impl JobTemplateSpec {
    /// The template's values in job-spec terms (no targets; maintenance windows in
    /// `schedulingConfig`), for the checks and comparisons jobs and templates share.
    pub fn as_job_spec(&self) -> JobSpec {
        JobSpec {
            description: Some(self.description.clone()),
            targets: Vec::new(),
            target_selection: None,
            document: self.document.clone(),
            document_text: self.document_text.clone(),
            document_file: self.document_file.clone(),
            document_source: self.document_source.clone(),
            presigned_url_config: self.presigned_url_config.clone(),
            job_executions_rollout_config: self.job_executions_rollout_config.clone(),
            abort_config: self.abort_config.clone(),
            timeout_config: self.timeout_config.clone(),
            tags: self.tags.clone(),
            namespace_id: None,
            job_template_arn: None,
            job_template: None,
            job_executions_retry_config: self.job_executions_retry_config.clone(),
            document_parameters: BTreeMap::new(),
            scheduling_config: (!self.maintenance_windows.is_empty()).then(|| SchedulingConfig {
                start_time: None,
                end_time: None,
                end_behavior: None,
                maintenance_windows: self.maintenance_windows.clone(),
            }),
            destination_package_versions: self.destination_package_versions.clone(),
        }
    }
}

/// A job template as a manifest declares it, its document resolved (inline or from
/// `documentFile`).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredTemplate {
    /// The jobTemplateId.
    pub name: String,
    pub spec: JobTemplateSpec,
    pub origin: Origin,
}
