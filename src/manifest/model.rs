//! The manifest envelopes: the Rust types `jobctl/v1` Job and JobTemplate manifests deserialize
//! into. Their specs are [`crate::domain::spec::JobSpec`] and
//! [`crate::domain::JobTemplateSpec`], shared with the rest of jobctl.
//!
//! The JSON Schema published under `schemas/` is generated from these types (see
//! [`super::schema`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::spec::JobSpec;
use crate::domain::JobTemplateSpec;

pub const API_VERSION: &str = "jobctl/v1";
pub const KIND: &str = "Job";

/// A jobctl Job manifest: one AWS IoT job, declared. See docs/manifest.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "jobctl Job manifest")]
pub struct JobManifest {
    /// The manifest format version. Always `jobctl/v1`.
    #[schemars(extend("const" = "jobctl/v1"))]
    pub api_version: String,
    /// The kind of object. Always `Job`.
    #[schemars(extend("const" = "Job"))]
    pub kind: String,
    pub metadata: Metadata,
    pub spec: JobSpec,
}

/// Identifies the job, and holds what only jobctl reads (never sent to AWS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// The jobId: unique in the account and region, 1-64 characters of `[a-zA-Z0-9_-]`. It cannot
    /// be changed; a new name means a new job.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub name: String,
    /// jobctl only, never sent to AWS: the share of executed things (percent, 0-100) that may
    /// fail, be rejected or time out before `jobctl status`, `apply --wait`, `plan` and the
    /// daemon call the job Degraded. Overrides `--max-failure-rate` (default 0: any failure
    /// degrades) for this job. The job's own abortConfig is what stops a rollout; this only
    /// judges it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_failure_rate: Option<f64>,
}

pub const TEMPLATE_KIND: &str = "JobTemplate";

/// A jobctl JobTemplate manifest: one AWS IoT job template, declared. See docs/templates.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "jobctl JobTemplate manifest")]
pub struct JobTemplateManifest {
    /// The manifest format version. Always `jobctl/v1`.
    #[schemars(extend("const" = "jobctl/v1"))]
    pub api_version: String,
    /// The kind of object. Always `JobTemplate`.
    #[schemars(extend("const" = "JobTemplate"))]
    pub kind: String,
    pub metadata: TemplateMetadata,
    pub spec: JobTemplateSpec,
}

/// Identifies the job template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateMetadata {
    /// The jobTemplateId: unique in the account and region, 1-64 characters of
    /// `[a-zA-Z0-9_-]`. Jobs name the template by it (`jobTemplate: NAME`). Templates cannot
    /// be changed in AWS: a new name, or any change to the spec, means a new template.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub name: String,
}

pub const ROLLOUT_KIND: &str = "Rollout";

/// A jobctl Rollout manifest: one firmware (one job) promoted stage by stage across thing
/// groups, each stage gated on measured success. See docs/rollouts.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "jobctl Rollout manifest")]
pub struct RolloutManifest {
    /// The manifest format version. Always `jobctl/v1`.
    #[schemars(extend("const" = "jobctl/v1"))]
    pub api_version: String,
    /// The kind of object. Always `Rollout`.
    #[schemars(extend("const" = "Rollout"))]
    pub kind: String,
    /// `name` is the id of the rollout's one job (1-64 characters of `[a-zA-Z0-9_-]`). A halted
    /// or changed rollout starts again only under a new name.
    pub metadata: Metadata,
    pub spec: RolloutManifestSpec,
}

/// The job every stage shares, and the stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RolloutManifestSpec {
    /// Every Job spec field except `targets` and `targetSelection`: the stages give the targets,
    /// and a rollout's job is always CONTINUOUS (it is widened stage by stage).
    #[schemars(schema_with = "rollout_job_schema")]
    pub job: serde_json::Map<String, serde_json::Value>,
    /// The stages, in order (1-20). Each stage adds targets to the one job, so a thing in two
    /// stages' groups still runs the job once.
    #[schemars(length(min = 1, max = 20))]
    pub stages: Vec<StageManifest>,
    /// The deadline of every stage that gives none (see a stage's `deadline`), e.g. `2h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub deadline: Option<String>,
}

/// One stage: the targets it adds, and the gate that must hold before the next stage starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StageManifest {
    /// The stage's name, unique in the rollout: 1-40 letters, digits, `-`, `_` and `.`.
    #[schemars(length(min = 1, max = 40), regex(pattern = r"^[a-zA-Z0-9_.-]+$"))]
    pub name: String,
    /// The things and thing groups this stage adds (same forms as a Job's targets). At least one
    /// must be new; all stages together have at most 100 targets.
    #[schemars(length(min = 1, max = 100))]
    pub targets: Vec<crate::domain::spec::Target>,
    /// What must hold before the next stage starts. Without a gate, the next stage starts once
    /// this stage has nothing queued or in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateManifest>,
    /// How long the stage may run, from its start, on the service's clock (e.g. `2h`). When it
    /// passes, the gate is judged with the devices that never reported counted as not
    /// succeeded: the stage promotes (naming the silent devices) or the rollout halts. A stage
    /// without a gate is then complete. Without one, a silent device can hold a stage for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub deadline: Option<String>,
}

/// A stage's gate. Give `minSucceeded`, `maxFailureRate` or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GateManifest {
    /// At least this many of the stage's things must have succeeded: a number (`380`) or a
    /// share of the stage's population (`95%`, of the things its targets reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_succeeded: Option<MinSucceeded>,
    /// The most the stage's failure rate may be, in percent of executed things (failed, rejected
    /// and timed out count). Judged once `sample` things have executed; going over it halts the
    /// rollout, and so do more failures than the rate allows over the whole stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_failure_rate: Option<f64>,
    /// The most failures the stage may have in all (as Argo Rollouts' `failureLimit`); one more
    /// halts the rollout at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u64>,
    /// How many executions the failure rate is judged on (default 10, or the stage's population
    /// when smaller): the rollout halts as soon as this sample shows a rate over the gate's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub sample: Option<u64>,
    /// How long the gate's numbers must keep holding before promotion, e.g. `30m`, `2h`, on the
    /// service's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub soak: Option<String>,
    /// Wait for a person: `jobctl promote NAME` gives the approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<bool>,
}

/// `minSucceeded`: a number of things, or a percentage of the stage's population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MinSucceeded {
    /// A number of things, at least 1.
    Count(#[schemars(range(min = 1))] u64),
    /// A share of the stage's population, `1%` to `100%`.
    Percent(#[schemars(regex(pattern = r"^(100|[1-9][0-9]?)(\.[0-9]+)?%$"))] String),
}

/// The Job spec's schema without `targets` and `targetSelection`.
fn rollout_job_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = JobSpec::json_schema(generator);
    if let Some(object) = schema.as_object_mut() {
        if let Some(serde_json::Value::Object(props)) = object.get_mut("properties") {
            props.remove("targets");
            props.remove("targetSelection");
        }
        if let Some(serde_json::Value::Array(required)) = object.get_mut("required") {
            required.retain(|r| r != "targets");
        }
        object.insert(
            "description".into(),
            "Every Job spec field except `targets` and `targetSelection`: the stages give the targets, and a rollout's job is always CONTINUOUS (it is widened stage by stage).".into(),
        );
    }
    schema
}
