//! The boundary to AWS IoT: a small trait in jobctl's own types ([`JobsApi`]), its SDK
//! implementation, and the reads that assemble a job's full remote state from several calls.
//!
//! Only this module names `aws_sdk_iot` types: [`client`] sets the SDK up, [`operations`]
//! implements the trait, [`convert`] maps jobctl's types to the SDK's and back, [`errors`]
//! classifies failures, and [`body`] bounds what a response may cost. Everything above
//! (planning, applying, the daemon) talks to [`JobsApi`] and is tested against `fake::FakeJobs`
//! (built for tests only).

mod body;
pub mod client;
mod convert;
mod errors;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod operations;
pub mod ratelimit;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

pub use client::{ConnectError, Connection, IotJobs, Waiting};

use crate::domain::spec::TagValue;
use crate::domain::{
    ExecutionDetail, ExecutionStatus, ExecutionSummary, JobDescription, JobSummary,
    JobTemplateDescription, JobTemplateSpec, JobUpdate, RemoteJob, ResolvedSpec,
};

/// HTTP attempts by operation and outcome (`ok`, an AWS error code, `HTTP503`, `ConnectionError`).
#[derive(Debug, Default)]
pub struct ApiStats {
    counts: std::sync::Mutex<BTreeMap<(String, String), u64>>,
    /// The operation most recently started, for messages about a run that ran out of time.
    last_started: std::sync::Mutex<Option<&'static str>>,
}

impl ApiStats {
    /// Notes that a call of `operation` is starting.
    pub fn started(&self, operation: &'static str) {
        let mut last = match self.last_started.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *last = Some(operation);
    }

    /// The operation most recently started, if any.
    pub fn last_started(&self) -> Option<&'static str> {
        match self.last_started.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    pub fn record(&self, operation: &str, outcome: &str) {
        let mut counts = match self.counts.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *counts
            .entry((operation.to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    /// Every (operation, outcome) pair with its count.
    pub fn snapshot(&self) -> BTreeMap<(String, String), u64> {
        match self.counts.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Attempts per operation, all outcomes together.
    pub fn by_operation(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for ((op, _), n) in self.snapshot() {
            *out.entry(op).or_default() += n;
        }
        out
    }
}

/// How a failed call failed, as far as jobctl's decisions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    AlreadyExists,
    Throttled,
    InvalidRequest,
    /// 5xx answers: worth retrying later.
    Transient,
    /// No answer at all: connection refused, DNS, TLS, a connect or read timeout. Retried by
    /// the SDK; when it persists, the run stops with one message instead of one per job.
    Unreachable,
    /// An answer without an AWS error code: the endpoint is not AWS IoT.
    NotAws,
    /// A success status whose body is not the operation's answer (malformed or cut short).
    BadResponse,
    Other,
}

/// A failed AWS call. Messages never contain credentials: they come from the service's error
/// body or from the transport's description of a failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {code}: {message}{}", request_id_note(.request_id))]
pub struct ApiError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
    /// AWS's request id (`x-amzn-RequestId`), for a support case.
    pub request_id: Option<String>,
    /// Where the call went (`https://iot.us-east-1.amazonaws.com`), when a request was sent.
    pub endpoint: Option<String>,
}

fn request_id_note(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default()
}

impl ApiError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Unreachable
        )
    }

    /// The endpoint gave no usable answer at all: nothing else in this run can succeed, so the
    /// run reports it once and stops.
    pub fn ends_the_run(&self) -> bool {
        matches!(self.kind, ErrorKind::Unreachable | ErrorKind::NotAws)
    }

    /// The message with the request id, for reports that show code and message apart.
    pub fn detail(&self) -> String {
        format!("{}{}", self.message, request_id_note(&self.request_id))
    }
}

/// The AWS IoT operations jobctl uses, in jobctl's types. Implementations own retries and rate
/// limits; callers see one result per call.
#[async_trait]
pub trait JobsApi: Send + Sync {
    /// The region every call goes to, when known.
    fn region(&self) -> Option<String> {
        None
    }
    /// A new run of the daemon begins: an endpoint that proved unreachable in the last one is
    /// tried again (within one run, the first such failure ends the run's other calls at once).
    fn new_run(&self) {}
    /// DescribeJob; `Ok(None)` when the job does not exist.
    async fn describe_job(&self, job_id: &str) -> Result<Option<JobDescription>, ApiError>;
    /// GetJobDocument: the document text as stored.
    async fn get_job_document(&self, job_id: &str) -> Result<String, ApiError>;
    /// ListTagsForResource, all pages.
    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ApiError>;
    /// CreateJob (the document is inline or a source). Returns the job ARN.
    async fn create_job(&self, job_id: &str, spec: &ResolvedSpec) -> Result<String, ApiError>;
    /// ListJobs, every page, no filter: one call per 250 jobs.
    async fn list_jobs(&self) -> Result<Vec<JobSummary>, ApiError>;
    /// UpdateJob with only the fields set in `update`.
    async fn update_job(&self, job_id: &str, update: &JobUpdate) -> Result<(), ApiError>;
    /// CancelJob; `force` also cancels executions that are IN_PROGRESS on devices.
    async fn cancel_job(&self, job_id: &str, force: bool, comment: &str) -> Result<(), ApiError>;
    /// CancelJob with a reasonCode of jobctl's choosing (a rollout's halt), never forced:
    /// queued executions are canceled, those in progress on devices finish.
    async fn cancel_job_with_reason(
        &self,
        job_id: &str,
        reason_code: &str,
        comment: &str,
    ) -> Result<(), ApiError>;
    /// DeleteJob; `force` allows deleting a job that is not finished.
    async fn delete_job(&self, job_id: &str, force: bool) -> Result<(), ApiError>;
    /// AssociateTargetsWithJob (CONTINUOUS jobs that are IN_PROGRESS).
    async fn associate_targets(&self, job_id: &str, targets: &[String]) -> Result<(), ApiError>;
    /// TagResource.
    async fn tag_resource(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), ApiError>;
    /// UntagResource.
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), ApiError>;
    /// DescribeThing: the thing's ARN, `None` if it does not exist.
    async fn describe_thing(&self, name: &str) -> Result<Option<String>, ApiError>;
    /// DescribeThingGroup: the group's ARN, `None` if it does not exist.
    async fn describe_thing_group(&self, name: &str) -> Result<Option<String>, ApiError>;
    /// DescribeJobTemplate for the account's own template ARNs, DescribeManagedJobTemplate for
    /// AWS-managed ones (`…::jobtemplate/NAME:VERSION`); `None` when it does not exist.
    async fn describe_job_template(
        &self,
        template_arn: &str,
    ) -> Result<Option<JobTemplateDescription>, ApiError>;
    /// CreateJobTemplate (the document inline or a source, `spec.tags` sent as they are).
    /// Returns the template ARN.
    async fn create_job_template(
        &self,
        template_id: &str,
        spec: &JobTemplateSpec,
    ) -> Result<String, ApiError>;
    /// DeleteJobTemplate. Jobs already created from the template keep running.
    async fn delete_job_template(&self, template_id: &str) -> Result<(), ApiError>;
    /// ListJobTemplates, every page: (jobTemplateId, jobTemplateArn) of the account's own
    /// templates; one call per 250 templates.
    async fn list_job_templates(&self) -> Result<Vec<(String, String)>, ApiError>;
    /// ListJobExecutionsForJob filtered by `status`: at most `max` rows, paged (250 a call).
    async fn list_job_executions(
        &self,
        job_id: &str,
        status: &ExecutionStatus,
        max: usize,
    ) -> Result<Vec<ExecutionSummary>, ApiError>;
    /// DescribeJobExecution of a thing's latest attempt; `Ok(None)` when there is none.
    async fn describe_job_execution(
        &self,
        job_id: &str,
        thing_name: &str,
    ) -> Result<Option<ExecutionDetail>, ApiError>;
    /// The service's clock, from the `Date` of its latest answer (moved on by the local clock
    /// since); `None` before the first answer or when the service sends no `Date`.
    fn server_time(&self) -> Option<std::time::SystemTime> {
        None
    }
}

/// Reads everything jobctl compares for one job: DescribeJob, then GetJobDocument (for inline
/// documents) and ListTagsForResource.
pub async fn read_job(api: &dyn JobsApi, job_id: &str) -> Result<Option<RemoteJob>, ApiError> {
    Ok(read_job_verbatim(api, job_id).await?.map(|(job, _)| job))
}

/// [`read_job`], and also the document text exactly as GetJobDocument returned it (`None` for a
/// `documentSource` job), for callers that must not change a byte of it (`export`).
pub async fn read_job_verbatim(
    api: &dyn JobsApi,
    job_id: &str,
) -> Result<Option<(RemoteJob, Option<String>)>, ApiError> {
    let Some(description) = api.describe_job(job_id).await? else {
        return Ok(None);
    };
    let mut spec = description.spec;
    // Template jobs have a document too (the template's, or their own), so only a
    // documentSource job has none to fetch.
    let mut document_text = None;
    if spec.document_source.is_none() {
        let text = api.get_job_document(job_id).await?;
        spec.document = Some(
            serde_json::from_str(&text).unwrap_or_else(|_| serde_json::Value::String(text.clone())),
        );
        document_text = Some(text);
    }
    spec.tags = api
        .list_tags(&description.job_arn)
        .await?
        .into_iter()
        .map(|(k, v)| (k, TagValue(v)))
        .collect();
    let job = RemoteJob {
        job_id: job_id.to_string(),
        job_arn: description.job_arn,
        status: description.status,
        spec,
        progress: description.progress,
    };
    Ok(Some((job, document_text)))
}
