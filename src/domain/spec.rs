//! The job spec: one field per option of `aws iot create-job`, in the API's own (camelCase)
//! names so the AWS documentation applies unchanged.
//!
//! Manifests declare it, DescribeJob reads it back, and the published JSON Schema is generated
//! from it, so every doc comment here becomes an editor tooltip and every `schemars` attribute a
//! check. Constraints that JSON Schema cannot say well (decimal places, cross-field rules, time
//! formats) live in `manifest::semantic`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What `aws iot create-job` accepts, one field per option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobSpec {
    /// A short description of the job (at most 2028 characters, no control characters such as
    /// newlines or tabs). Can be updated after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2028), regex(pattern = r"^[^\p{C}]+$"))]
    pub description: Option<String>,

    /// The things and thing groups the job is sent to: 1 to 100 entries, each an IoT ARN
    /// (`arn:aws:iot:REGION:ACCOUNT:thing/NAME` or `…:thinggroup/NAME`), `{thing: NAME}` or
    /// `{thingGroup: NAME}`. Names are resolved to ARNs in the target account. Targets of a
    /// CONTINUOUS job can be added after creation; removing one replaces the job.
    #[schemars(length(min = 1, max = 100))]
    pub targets: Vec<Target>,

    /// SNAPSHOT (the default): the job completes once every target has run it. CONTINUOUS: the
    /// job also runs on things that join a target group later. Cannot be changed after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_selection: Option<TargetSelection>,

    /// The job document, inline, as YAML or JSON. It is sent as compact JSON and must stay under
    /// 32768 bytes. Use exactly one of `document`, `documentFile` and `documentSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("type" = "object"))]
    pub document: Option<serde_json::Value>,

    /// The text sent as the document when it is not `document` serialized: a JSON
    /// `documentFile`'s exact text, so devices get the bytes that were reviewed. `document` holds
    /// its parsed value, which plan compares (formatting alone never plans a change).
    #[serde(skip)]
    pub document_text: Option<String>,

    /// A file holding the job document (`.json`, `.yaml` or `.yml`), relative to this manifest
    /// and inside the manifest root. Use exactly one of `document`, `documentFile` and
    /// `documentSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096), regex(pattern = r"\.(json|ya?ml)$"))]
    pub document_file: Option<String>,

    /// An S3 object URL of the job document, such as
    /// `https://s3.us-west-2.amazonaws.com/bucket/job.json` (1-1350 characters). Use exactly one
    /// of `document`, `documentFile` and `documentSource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1350), regex(pattern = r"^https://\S+$"))]
    pub document_source: Option<String>,

    /// How IoT presigns S3 URLs found in the document's `${aws:iot:s3-presigned-url-v2:…}`
    /// placeholders. Can be updated after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presigned_url_config: Option<PresignedUrlConfig>,

    /// How fast the job is rolled out to its targets. Can be updated after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_executions_rollout_config: Option<JobExecutionsRolloutConfig>,

    /// When to abort the job because too many executions fail. Can be updated after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_config: Option<AbortConfig>,

    /// How long each device has to finish its execution. Can be updated after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_config: Option<TimeoutConfig>,

    /// Tags for the job, as a map. Keys are 1-128 characters, values at most 256. Keys starting
    /// with `jobctl:` are reserved for jobctl. Tags can be changed after creation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"minLength": 1, "maxLength": 128, "pattern": "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$"}))]
    pub tags: BTreeMap<String, TagValue>,

    /// Greengrass only: the namespace whose MQTT topics carry the job's notifications
    /// (`[a-zA-Z0-9_-]+`). Cannot be changed after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub namespace_id: Option<String>,

    /// The ARN of the job template the job is created from. With a template, the document may
    /// come from the template. Cannot be changed after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1600), regex(pattern = r"^arn:[!-~]+$"))]
    pub job_template_arn: Option<String>,

    /// The name of a job template declared by a `kind: JobTemplate` manifest or already in the
    /// account; jobctl sends its ARN as `jobTemplateArn`. Exclusive with `jobTemplateArn`.
    /// Cannot be changed after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub job_template: Option<String>,

    /// How many times failed or timed-out executions are retried. Can be updated after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_executions_retry_config: Option<JobExecutionsRetryConfig>,

    /// Parameters of an AWS-managed job template (`jobTemplateArn` of an `AWS-…` template).
    /// Keys are 1-128 of `[a-zA-Z0-9_-]`, values 1-30720 characters without control characters.
    /// Cannot be changed after creation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"minLength": 1, "maxLength": 128, "pattern": "^[a-zA-Z0-9_-]+$"}))]
    pub document_parameters: BTreeMap<String, DocumentParameterValue>,

    /// When the rollout starts and stops, and its maintenance windows. Cannot be changed after
    /// creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_config: Option<SchedulingConfig>,

    /// Software package version ARNs installed on the device when the job succeeds (at most 25,
    /// each 1-1600 characters). Cannot be changed after creation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 25))]
    pub destination_package_versions: Vec<PackageVersionArn>,
}

impl JobSpec {
    /// The document text CreateJob sends: a JSON document file's own text, or the inline
    /// document as compact JSON.
    pub fn sent_document(&self) -> Option<String> {
        self.document_text
            .clone()
            .or_else(|| self.document.as_ref().map(ToString::to_string))
    }
}

/// A tag value: at most 256 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct TagValue(#[schemars(length(max = 256))] pub String);

/// A documentParameters value: 1-30720 characters without control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct DocumentParameterValue(
    #[schemars(length(min = 1, max = 30720), regex(pattern = r"^[^\p{C}]+$"))] pub String,
);

/// A package version ARN: 1-1600 printable characters starting with `arn:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct PackageVersionArn(
    #[schemars(length(min = 1, max = 1600), regex(pattern = r"^arn:[!-~]+$"))] pub String,
);

/// A job target: an IoT thing or thing group ARN, or a thing or thing group by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Target {
    /// A thing or thing group ARN: `arn:aws:iot:REGION:ACCOUNT:thing/NAME` or
    /// `arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME`.
    Arn(
        #[schemars(
            length(max = 2048),
            regex(
                pattern = r"^arn:aws[a-z-]*:iot:[a-z0-9-]+:[0-9]{12}:(thing|thinggroup)/[a-zA-Z0-9:_-]{1,128}$"
            )
        )]
        String,
    ),
    /// A thing by name, resolved with DescribeThing.
    Thing(ThingRef),
    /// A thing group by name, resolved with DescribeThingGroup.
    ThingGroup(ThingGroupRef),
}

/// A thing by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThingRef {
    /// The thing's name (1-128 of `[a-zA-Z0-9:_-]`).
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[a-zA-Z0-9:_-]+$"))]
    pub thing: String,
}

/// A thing group by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ThingGroupRef {
    /// The thing group's name (1-128 of `[a-zA-Z0-9:_-]`).
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[a-zA-Z0-9:_-]+$"))]
    pub thing_group: String,
}

/// Whether the job keeps running on things that join a target group later.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetSelection {
    /// The job keeps running on things added to target groups after creation.
    Continuous,
    /// The job completes once the targets at creation time have run it (the AWS default).
    Snapshot,
}

impl TargetSelection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continuous => "CONTINUOUS",
            Self::Snapshot => "SNAPSHOT",
        }
    }
}

/// Configuration of presigned S3 URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PresignedUrlConfig {
    /// The IAM role IoT assumes to presign S3 URLs; it must allow `s3:GetObject` on the files
    /// (20-2048 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048), regex(pattern = r"^arn:[!-~]+$"))]
    pub role_arn: Option<String>,
    /// How long presigned URLs stay valid, in seconds: 60-3600 (AWS default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 3600))]
    pub expires_in_sec: Option<i64>,
}

/// A staged rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobExecutionsRolloutConfig {
    /// The most things notified of the job per minute: 1-1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub maximum_per_minute: Option<i64>,
    /// A rollout rate that grows as executions are notified or succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponential_rate: Option<ExponentialRolloutRate>,
}

/// A rollout rate that starts low and grows by a factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExponentialRolloutRate {
    /// Things notified per minute at the start of the rollout: 1-1000.
    #[schemars(range(min = 1, max = 1000))]
    pub base_rate_per_minute: i64,
    /// The factor the rate grows by: 1.1-5, with at most one digit after the decimal point
    /// (1.5, not 1.55).
    #[schemars(range(min = 1.1, max = 5.0))]
    pub increment_factor: f64,
    /// What makes the rate grow; give at least one of the two thresholds.
    pub rate_increase_criteria: RateIncreaseCriteria,
}

/// When the rollout rate increases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1))]
pub struct RateIncreaseCriteria {
    /// Increase the rate after this many things were notified (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2_147_483_647))]
    pub number_of_notified_things: Option<i64>,
    /// Increase the rate after this many things succeeded (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2_147_483_647))]
    pub number_of_succeeded_things: Option<i64>,
}

/// Criteria that abort the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AbortConfig {
    /// At least one abort criterion.
    #[schemars(length(min = 1))]
    pub criteria_list: Vec<AbortCriteria>,
}

/// Abort the job when this share of executions fails this way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AbortCriteria {
    /// Which execution failures count.
    pub failure_type: JobExecutionFailureType,
    /// What to do: only CANCEL exists.
    pub action: AbortAction,
    /// The failure percentage that aborts the job: 0-100, at most two digits after the decimal
    /// point (10.99, not 10.999).
    #[schemars(range(min = 0.0, max = 100.0))]
    pub threshold_percentage: f64,
    /// How many things must have run the job before it can be aborted (at least 1).
    #[schemars(range(min = 1, max = 2_147_483_647))]
    pub min_number_of_executed_things: i64,
}

/// Execution failures that can abort a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobExecutionFailureType {
    Failed,
    Rejected,
    TimedOut,
    All,
}

/// What an abort does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AbortAction {
    Cancel,
}

/// Per-device execution timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TimeoutConfig {
    /// Minutes a device may stay IN_PROGRESS before the execution is TIMED_OUT: 1-10080 (7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10080))]
    pub in_progress_timeout_in_minutes: Option<i64>,
}

/// Retries of failed executions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobExecutionsRetryConfig {
    /// One or two retry criteria.
    #[schemars(length(min = 1, max = 2))]
    pub criteria_list: Vec<RetryCriteria>,
}

/// How many retries a failure type gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetryCriteria {
    /// Which failures are retried.
    pub failure_type: RetryableFailureType,
    /// How many retries: 0-10.
    #[schemars(range(min = 0, max = 10))]
    pub number_of_retries: i64,
}

/// Execution failures that can be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetryableFailureType {
    Failed,
    TimedOut,
    All,
}

/// A scheduled rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SchedulingConfig {
    /// When the rollout starts, UTC, as `YYYY-MM-DDTHH:MM`: at least 30 minutes and at most a
    /// year after the job is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"))]
    pub start_time: Option<String>,
    /// When the rollout stops, UTC, as `YYYY-MM-DDTHH:MM`: 30 minutes to 2 years after
    /// `startTime`, and at most 2 years after the job is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"))]
    pub end_time: Option<String>,
    /// What happens to unfinished executions at `endTime`; needs `endTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_behavior: Option<JobEndBehavior>,
    /// Recurring windows in which the rollout may proceed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance_windows: Vec<MaintenanceWindow>,
}

impl SchedulingConfig {
    /// Parses the `YYYY-MM-DDTHH:MM` (UTC) form of `startTime` and `endTime`.
    pub fn parse_time(text: &str) -> Option<time::PrimitiveDateTime> {
        time::PrimitiveDateTime::parse(
            text,
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        )
        .ok()
    }
}

/// What happens at `endTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobEndBehavior {
    StopRollout,
    Cancel,
    ForceCancel,
}

/// A recurring maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MaintenanceWindow {
    /// A cron expression for the window's start, such as `cron(0 2 ? * SAT *)` (1-256 characters).
    #[schemars(length(min = 1, max = 256))]
    pub start_time: String,
    /// How long the window lasts: 1-1430 minutes.
    #[schemars(range(min = 1, max = 1430))]
    pub duration_in_minutes: i64,
}
