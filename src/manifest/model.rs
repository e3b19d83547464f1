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
