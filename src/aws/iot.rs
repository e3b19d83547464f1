//! The one place that speaks aws-sdk-iot: SDK configuration, request building, response and
//! error mapping. Retries are the SDK's (standard mode, set once here); pacing is ours.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig as SdkTimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_iot::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_iot::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iot::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_iot::types as sdk;
use aws_sdk_iot::Client;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use super::ratelimit::RateLimiter;
use super::{
    ApiError, ApiStats, ErrorKind, JobDescription, JobStatus, JobSummary, JobUpdate, JobsApi,
};
use crate::manifest::model::{self as m, JobSpec, Target};

/// How to reach AWS, resolved from flags and the environment.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Attempts per call, the first included, for throttling and 5xx answers.
    pub max_attempts: u32,
    pub default_tps: f64,
    pub tps_overrides: HashMap<String, f64>,
}

/// The SDK-backed [`JobsApi`].
pub struct IotJobs {
    client: Client,
    limiter: RateLimiter,
    stats: Arc<ApiStats>,
}

/// Counts every HTTP attempt the SDK makes (retries included), by operation and outcome, from
/// an interceptor: this is what the account's quotas see, and where throttling shows up even
/// when a retry later succeeds.
#[derive(Debug)]
struct AttemptMetrics(Arc<ApiStats>);

impl Intercept for AttemptMetrics {
    fn name(&self) -> &'static str {
        "jobctl-attempt-metrics"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("Unknown", |m| m.name())
            .to_string();
        let outcome = match context.response() {
            None => "ConnectionError".to_string(),
            Some(response) if response.status().is_success() => "ok".to_string(),
            Some(response) => response
                .headers()
                .get("x-amzn-ErrorType")
                .map(|v| v.split(':').next().unwrap_or(v).to_string())
                .unwrap_or_else(|| format!("HTTP{}", response.status().as_u16())),
        };
        self.0.record(&operation, &outcome);
        Ok(())
    }
}

impl IotJobs {
    /// Builds the client from flags and the standard AWS chain. Fails only when no region can be
    /// found, which would otherwise surface as an obscure error on the first call.
    pub async fn connect(conn: &Connection) -> Result<Self, String> {
        let retry = RetryConfig::standard()
            .with_max_attempts(conn.max_attempts.max(1))
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20));
        let timeouts = SdkTimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(region) = &conn.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(profile) = &conn.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &conn.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err("no AWS region: pass --region or set AWS_REGION".into());
        }
        let stats = Arc::new(ApiStats::default());
        let client_config = aws_sdk_iot::config::Builder::from(&config)
            .interceptor(AttemptMetrics(Arc::clone(&stats)))
            .build();
        Ok(Self {
            client: Client::from_conf(client_config),
            limiter: RateLimiter::new(conn.default_tps, conn.tps_overrides.clone()),
            stats,
        })
    }

    /// Attempts by operation and outcome since the client was built.
    pub fn stats(&self) -> Arc<ApiStats> {
        Arc::clone(&self.stats)
    }

    async fn begin(&self, operation: &'static str) {
        self.limiter.acquire(operation).await;
    }
}

/// Maps any SDK failure to an [`ApiError`]. The SDK's Display of a dispatch failure can include
/// the endpoint but never credentials or signatures.
fn api_error<E>(operation: &'static str, err: &SdkError<E>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let kind = match (code.as_str(), status, err) {
        ("ResourceNotFoundException", _, _) | (_, Some(404), _) => ErrorKind::NotFound,
        ("ResourceAlreadyExistsException", _, _) => ErrorKind::AlreadyExists,
        ("ThrottlingException" | "LimitExceededException" | "TooManyRequestsException", _, _) => {
            ErrorKind::Throttled
        }
        ("InvalidRequestException", _, _) => ErrorKind::InvalidRequest,
        (_, Some(s), _) if s >= 500 => ErrorKind::Transient,
        (
            _,
            _,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_),
        ) => ErrorKind::Transient,
        _ => ErrorKind::Other,
    };
    let message = match err.message() {
        Some(m) => m.to_string(),
        None => match err {
            SdkError::DispatchFailure(d) => {
                let detail = source_chain(err);
                if d.is_io() {
                    format!("could not reach the endpoint: {detail}")
                } else if d.is_timeout() {
                    "timed out".into()
                } else {
                    format!("request failed: {detail}")
                }
            }
            SdkError::TimeoutError(_) => "timed out".into(),
            SdkError::ConstructionFailure(_) => {
                let detail = source_chain(err);
                format!("could not build the request: {detail}")
            }
            other => match status {
                Some(s) => format!("HTTP {s} with no error message"),
                None => other.to_string(),
            },
        },
    };
    let code = if code.is_empty() {
        match (kind, status) {
            (_, Some(s)) => format!("HTTP{s}"),
            (ErrorKind::Transient, None) => "ConnectionError".into(),
            _ => "Error".into(),
        }
    } else {
        code
    };
    ApiError {
        operation,
        kind,
        code,
        message,
    }
}

/// The causes below an error, innermost last ("io error: Connection refused (os error 111)"):
/// the SDK's own top-level texts are too generic to act on.
fn source_chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

/// The token for the next page, `None` at the end. A repeated token would loop for ever (moto's
/// do), so it is an error rather than a silent truncation.
fn next_page(
    operation: &'static str,
    current: Option<&str>,
    next: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match next {
        Some(next) if Some(next) == current => Err(ApiError {
            operation,
            kind: ErrorKind::Other,
            code: "RepeatedToken".into(),
            message: "the service returned the same pagination token twice".into(),
        }),
        Some(next) if !next.is_empty() => Ok(Some(next.to_string())),
        _ => Ok(None),
    }
}

/// A Describe call's output, with "does not exist" as `None` rather than an error.
fn absent_if_not_found<O, E>(
    operation: &'static str,
    result: Result<O, SdkError<E>>,
) -> Result<Option<O>, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err) => {
            let mapped = api_error(operation, &err);
            if mapped.kind == ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(mapped)
            }
        }
    }
}

fn to_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn build_error(operation: &'static str, err: &aws_sdk_iot::error::BuildError) -> ApiError {
    ApiError {
        operation,
        kind: ErrorKind::InvalidRequest,
        code: "BuildError".into(),
        message: err.to_string(),
    }
}

#[async_trait]
impl JobsApi for IotJobs {
    async fn describe_job(&self, job_id: &str) -> Result<Option<JobDescription>, ApiError> {
        self.begin("DescribeJob").await;
        let result = self.client.describe_job().job_id(job_id).send().await;
        let Some(output) = absent_if_not_found("DescribeJob", result)? else {
            return Ok(None);
        };
        let Some(job) = output.job() else {
            return Err(ApiError {
                operation: "DescribeJob",
                kind: ErrorKind::Other,
                code: "EmptyResponse".into(),
                message: "the response has no job".into(),
            });
        };
        let mut spec = spec_from_job(job);
        spec.document_source = output.document_source().map(String::from);
        Ok(Some(JobDescription {
            job_arn: job.job_arn().unwrap_or_default().to_string(),
            status: JobStatus::parse(job.status().map_or("", |s| s.as_str())),
            spec,
        }))
    }

    async fn get_job_document(&self, job_id: &str) -> Result<String, ApiError> {
        self.begin("GetJobDocument").await;
        let output = self
            .client
            .get_job_document()
            .job_id(job_id)
            .send()
            .await
            .map_err(|e| api_error("GetJobDocument", &e))?;
        Ok(output.document().unwrap_or_default().to_string())
    }

    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
        let mut tags = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            self.begin("ListTagsForResource").await;
            let output = self
                .client
                .list_tags_for_resource()
                .resource_arn(arn)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| api_error("ListTagsForResource", &e))?;
            for tag in output.tags() {
                tags.insert(
                    tag.key().to_string(),
                    tag.value().unwrap_or_default().to_string(),
                );
            }
            token = next_page("ListTagsForResource", token.as_deref(), output.next_token())?;
            if token.is_none() {
                return Ok(tags);
            }
        }
    }

    async fn create_job(&self, job_id: &str, spec: &JobSpec) -> Result<String, ApiError> {
        const OP: &str = "CreateJob";
        let targets: Vec<String> = spec
            .targets
            .iter()
            .map(|t| match t {
                Target::Arn(arn) => arn.clone(),
                // Names are resolved before planning; reaching here is a caller bug, and AWS
                // will reject the name with a clear InvalidRequestException.
                Target::Thing(r) => r.thing.clone(),
                Target::ThingGroup(r) => r.thing_group.clone(),
            })
            .collect();
        let mut request = self
            .client
            .create_job()
            .job_id(job_id)
            .set_targets(Some(targets))
            .set_description(spec.description.clone())
            .set_document(spec.document.as_ref().map(ToString::to_string))
            .set_document_source(spec.document_source.clone())
            .set_target_selection(
                spec.target_selection
                    .map(|t| sdk::TargetSelection::from(t.as_str())),
            )
            .set_namespace_id(spec.namespace_id.clone())
            .set_job_template_arn(spec.job_template_arn.clone());
        if let Some(c) = &spec.presigned_url_config {
            request = request.presigned_url_config(presigned_to_sdk(c));
        }
        if let Some(c) = &spec.job_executions_rollout_config {
            request = request
                .job_executions_rollout_config(rollout_to_sdk(c).map_err(|e| build_error(OP, &e))?);
        }
        if let Some(c) = &spec.abort_config {
            request = request.abort_config(abort_to_sdk(c).map_err(|e| build_error(OP, &e))?);
        }
        if let Some(c) = &spec.timeout_config {
            request = request.timeout_config(timeout_to_sdk(c));
        }
        if let Some(c) = &spec.job_executions_retry_config {
            request = request
                .job_executions_retry_config(retry_to_sdk(c).map_err(|e| build_error(OP, &e))?);
        }
        if let Some(c) = &spec.scheduling_config {
            request =
                request.scheduling_config(scheduling_to_sdk(c).map_err(|e| build_error(OP, &e))?);
        }
        for (key, value) in &spec.document_parameters {
            request = request.document_parameters(key, &value.0);
        }
        for arn in &spec.destination_package_versions {
            request = request.destination_package_versions(&arn.0);
        }
        for (key, value) in &spec.tags {
            let tag = sdk::Tag::builder()
                .key(key)
                .value(&value.0)
                .build()
                .map_err(|e| build_error(OP, &e))?;
            request = request.tags(tag);
        }
        self.begin(OP).await;
        let output = request.send().await.map_err(|e| api_error(OP, &e))?;
        Ok(output.job_arn().unwrap_or_default().to_string())
    }

    async fn list_jobs(&self) -> Result<Vec<JobSummary>, ApiError> {
        const OP: &str = "ListJobs";
        let mut jobs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.begin(OP).await;
            let output = self
                .client
                .list_jobs()
                .max_results(250)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| api_error(OP, &e))?;
            for job in output.jobs() {
                jobs.push(JobSummary {
                    job_id: job.job_id().unwrap_or_default().to_string(),
                    job_arn: job.job_arn().unwrap_or_default().to_string(),
                    status: JobStatus::parse(job.status().map_or("", |s| s.as_str())),
                });
            }
            token = next_page(OP, token.as_deref(), output.next_token())?;
            if token.is_none() {
                return Ok(jobs);
            }
        }
    }

    async fn update_job(&self, job_id: &str, update: &JobUpdate) -> Result<(), ApiError> {
        const OP: &str = "UpdateJob";
        let mut request = self
            .client
            .update_job()
            .job_id(job_id)
            .set_description(update.description.clone());
        if let Some(c) = &update.presigned_url_config {
            request = request.presigned_url_config(presigned_to_sdk(c));
        }
        if let Some(c) = &update.job_executions_rollout_config {
            request = request
                .job_executions_rollout_config(rollout_to_sdk(c).map_err(|e| build_error(OP, &e))?);
        }
        if let Some(c) = &update.abort_config {
            request = request.abort_config(abort_to_sdk(c).map_err(|e| build_error(OP, &e))?);
        }
        if let Some(c) = &update.timeout_config {
            request = request.timeout_config(timeout_to_sdk(c));
        }
        if let Some(c) = &update.job_executions_retry_config {
            request = request
                .job_executions_retry_config(retry_to_sdk(c).map_err(|e| build_error(OP, &e))?);
        }
        self.begin(OP).await;
        request.send().await.map_err(|e| api_error(OP, &e))?;
        Ok(())
    }

    async fn cancel_job(&self, job_id: &str, force: bool, comment: &str) -> Result<(), ApiError> {
        const OP: &str = "CancelJob";
        self.begin(OP).await;
        self.client
            .cancel_job()
            .job_id(job_id)
            .force(force)
            .reason_code("JOBCTL")
            .comment(comment)
            .send()
            .await
            .map_err(|e| api_error(OP, &e))?;
        Ok(())
    }

    async fn delete_job(&self, job_id: &str, force: bool) -> Result<(), ApiError> {
        const OP: &str = "DeleteJob";
        self.begin(OP).await;
        self.client
            .delete_job()
            .job_id(job_id)
            .force(force)
            .send()
            .await
            .map_err(|e| api_error(OP, &e))?;
        Ok(())
    }

    async fn associate_targets(&self, job_id: &str, targets: &[String]) -> Result<(), ApiError> {
        const OP: &str = "AssociateTargetsWithJob";
        self.begin(OP).await;
        self.client
            .associate_targets_with_job()
            .job_id(job_id)
            .set_targets(Some(targets.to_vec()))
            .comment("added by jobctl")
            .send()
            .await
            .map_err(|e| api_error(OP, &e))?;
        Ok(())
    }

    async fn tag_resource(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        const OP: &str = "TagResource";
        let tags = tags
            .iter()
            .map(|(k, v)| sdk::Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| build_error(OP, &e))?;
        self.begin(OP).await;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| api_error(OP, &e))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        const OP: &str = "UntagResource";
        self.begin(OP).await;
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| api_error(OP, &e))?;
        Ok(())
    }

    async fn describe_thing(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.begin("DescribeThing").await;
        let result = self.client.describe_thing().thing_name(name).send().await;
        Ok(absent_if_not_found("DescribeThing", result)?
            .and_then(|o| o.thing_arn().map(String::from)))
    }

    async fn describe_thing_group(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.begin("DescribeThingGroup").await;
        let result = self
            .client
            .describe_thing_group()
            .thing_group_name(name)
            .send()
            .await;
        Ok(absent_if_not_found("DescribeThingGroup", result)?
            .and_then(|o| o.thing_group_arn().map(String::from)))
    }
}

fn presigned_to_sdk(c: &m::PresignedUrlConfig) -> sdk::PresignedUrlConfig {
    sdk::PresignedUrlConfig::builder()
        .set_role_arn(c.role_arn.clone())
        .set_expires_in_sec(c.expires_in_sec)
        .build()
}

fn rollout_to_sdk(
    c: &m::JobExecutionsRolloutConfig,
) -> Result<sdk::JobExecutionsRolloutConfig, aws_sdk_iot::error::BuildError> {
    let exponential = match &c.exponential_rate {
        Some(rate) => Some(
            sdk::ExponentialRolloutRate::builder()
                .base_rate_per_minute(to_i32(rate.base_rate_per_minute))
                .increment_factor(rate.increment_factor)
                .rate_increase_criteria(
                    sdk::RateIncreaseCriteria::builder()
                        .set_number_of_notified_things(
                            rate.rate_increase_criteria
                                .number_of_notified_things
                                .map(to_i32),
                        )
                        .set_number_of_succeeded_things(
                            rate.rate_increase_criteria
                                .number_of_succeeded_things
                                .map(to_i32),
                        )
                        .build(),
                )
                .build()?,
        ),
        None => None,
    };
    Ok(sdk::JobExecutionsRolloutConfig::builder()
        .set_maximum_per_minute(c.maximum_per_minute.map(to_i32))
        .set_exponential_rate(exponential)
        .build())
}

fn abort_to_sdk(c: &m::AbortConfig) -> Result<sdk::AbortConfig, aws_sdk_iot::error::BuildError> {
    let criteria = c
        .criteria_list
        .iter()
        .map(|a| {
            sdk::AbortCriteria::builder()
                .failure_type(sdk::JobExecutionFailureType::from(
                    enum_text(&a.failure_type).as_str(),
                ))
                .action(sdk::AbortAction::from(enum_text(&a.action).as_str()))
                .threshold_percentage(a.threshold_percentage)
                .min_number_of_executed_things(to_i32(a.min_number_of_executed_things))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    sdk::AbortConfig::builder()
        .set_criteria_list(Some(criteria))
        .build()
}

fn timeout_to_sdk(c: &m::TimeoutConfig) -> sdk::TimeoutConfig {
    sdk::TimeoutConfig::builder()
        .set_in_progress_timeout_in_minutes(c.in_progress_timeout_in_minutes)
        .build()
}

fn retry_to_sdk(
    c: &m::JobExecutionsRetryConfig,
) -> Result<sdk::JobExecutionsRetryConfig, aws_sdk_iot::error::BuildError> {
    let criteria = c
        .criteria_list
        .iter()
        .map(|r| {
            sdk::RetryCriteria::builder()
                .failure_type(sdk::RetryableFailureType::from(
                    enum_text(&r.failure_type).as_str(),
                ))
                .number_of_retries(to_i32(r.number_of_retries))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    sdk::JobExecutionsRetryConfig::builder()
        .set_criteria_list(Some(criteria))
        .build()
}

fn scheduling_to_sdk(
    c: &m::SchedulingConfig,
) -> Result<sdk::SchedulingConfig, aws_sdk_iot::error::BuildError> {
    let windows = c
        .maintenance_windows
        .iter()
        .map(|w| {
            sdk::MaintenanceWindow::builder()
                .start_time(&w.start_time)
                .duration_in_minutes(to_i32(w.duration_in_minutes))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sdk::SchedulingConfig::builder()
        .set_start_time(c.start_time.clone())
        .set_end_time(c.end_time.clone())
        .set_end_behavior(
            c.end_behavior
                .map(|b| sdk::JobEndBehavior::from(enum_text(&b).as_str())),
        )
        .set_maintenance_windows((!windows.is_empty()).then_some(windows))
        .build())
}

/// The wire name of one of our enums (its serde name), so the two sides cannot drift apart.
fn enum_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Parses a wire enum into ours; `None` for values this jobctl does not know.
fn parse_enum<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
}

/// DescribeJob's `Job` in manifest terms. AWS answers `{}` for some configurations that were
/// never set; an empty configuration is the same as none, or every job would look changed.
fn spec_from_job(job: &sdk::Job) -> JobSpec {
    let mut spec = spec_from_job_raw(job);
    if spec
        .presigned_url_config
        .as_ref()
        .is_some_and(|c| c.role_arn.is_none() && c.expires_in_sec.is_none())
    {
        spec.presigned_url_config = None;
    }
    if spec
        .job_executions_rollout_config
        .as_ref()
        .is_some_and(|c| c.maximum_per_minute.is_none() && c.exponential_rate.is_none())
    {
        spec.job_executions_rollout_config = None;
    }
    if spec
        .timeout_config
        .as_ref()
        .is_some_and(|c| c.in_progress_timeout_in_minutes.is_none())
    {
        spec.timeout_config = None;
    }
    if spec
        .abort_config
        .as_ref()
        .is_some_and(|c| c.criteria_list.is_empty())
    {
        spec.abort_config = None;
    }
    if spec
        .job_executions_retry_config
        .as_ref()
        .is_some_and(|c| c.criteria_list.is_empty())
    {
        spec.job_executions_retry_config = None;
    }
    if spec.scheduling_config.as_ref().is_some_and(|c| {
        c.start_time.is_none()
            && c.end_time.is_none()
            && c.end_behavior.is_none()
            && c.maintenance_windows.is_empty()
    }) {
        spec.scheduling_config = None;
    }
    spec
}

fn spec_from_job_raw(job: &sdk::Job) -> JobSpec {
    JobSpec {
        description: job.description().map(String::from),
        targets: job
            .targets()
            .iter()
            .map(|t| Target::Arn(t.clone()))
            .collect(),
        target_selection: job.target_selection().and_then(|t| parse_enum(t.as_str())),
        document: None,
        document_file: None,
        document_source: None,
        presigned_url_config: job.presigned_url_config().map(|c| m::PresignedUrlConfig {
            role_arn: c.role_arn().map(String::from),
            expires_in_sec: c.expires_in_sec(),
        }),
        job_executions_rollout_config: job.job_executions_rollout_config().map(|c| {
            m::JobExecutionsRolloutConfig {
                maximum_per_minute: c.maximum_per_minute().map(i64::from),
                exponential_rate: c.exponential_rate().map(|r| m::ExponentialRolloutRate {
                    base_rate_per_minute: i64::from(r.base_rate_per_minute()),
                    increment_factor: r.increment_factor(),
                    rate_increase_criteria: m::RateIncreaseCriteria {
                        number_of_notified_things: r
                            .rate_increase_criteria()
                            .and_then(|c| c.number_of_notified_things())
                            .map(i64::from),
                        number_of_succeeded_things: r
                            .rate_increase_criteria()
                            .and_then(|c| c.number_of_succeeded_things())
                            .map(i64::from),
                    },
                }),
            }
        }),
        abort_config: job.abort_config().map(|c| m::AbortConfig {
            criteria_list: c
                .criteria_list()
                .iter()
                .filter_map(|a| {
                    Some(m::AbortCriteria {
                        failure_type: parse_enum(a.failure_type().as_str())?,
                        action: parse_enum(a.action().as_str())?,
                        threshold_percentage: a.threshold_percentage(),
                        min_number_of_executed_things: i64::from(a.min_number_of_executed_things()),
                    })
                })
                .collect(),
        }),
        timeout_config: job.timeout_config().map(|c| m::TimeoutConfig {
            in_progress_timeout_in_minutes: c.in_progress_timeout_in_minutes(),
        }),
        tags: BTreeMap::new(),
        namespace_id: job.namespace_id().map(String::from),
        job_template_arn: job.job_template_arn().map(String::from),
        job_executions_retry_config: job.job_executions_retry_config().map(|c| {
            m::JobExecutionsRetryConfig {
                criteria_list: c
                    .criteria_list()
                    .iter()
                    .filter_map(|r| {
                        Some(m::RetryCriteria {
                            failure_type: parse_enum(r.failure_type().as_str())?,
                            number_of_retries: i64::from(r.number_of_retries()),
                        })
                    })
                    .collect(),
            }
        }),
        document_parameters: job
            .document_parameters()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), m::DocumentParameterValue(v.clone())))
                    .collect()
            })
            .unwrap_or_default(),
        scheduling_config: job.scheduling_config().map(|c| m::SchedulingConfig {
            start_time: c.start_time().map(String::from),
            end_time: c.end_time().map(String::from),
            end_behavior: c.end_behavior().and_then(|b| parse_enum(b.as_str())),
            maintenance_windows: c
                .maintenance_windows()
                .iter()
                .map(|w| m::MaintenanceWindow {
                    start_time: w.start_time().to_string(),
                    duration_in_minutes: i64::from(w.duration_in_minutes()),
                })
                .collect(),
        }),
        destination_package_versions: job
            .destination_package_versions()
            .iter()
            .map(|a| m::PackageVersionArn(a.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_and_repeated_tokens_are_errors() {
        assert_eq!(
            next_page("ListJobs", None, Some("a")).ok(),
            Some(Some("a".to_string()))
        );
        assert_eq!(next_page("ListJobs", Some("a"), None).ok(), Some(None));
        assert_eq!(next_page("ListJobs", Some("a"), Some("")).ok(), Some(None));
        let err = next_page("ListJobs", Some("a"), Some("a")).expect_err("repeated");
        assert_eq!(
            (err.operation, err.code.as_str()),
            ("ListJobs", "RepeatedToken")
        );
    }

    #[test]
    fn empty_configurations_from_describe_job_are_absent() {
        let job = sdk::Job::builder()
            .job_id("a")
            .presigned_url_config(sdk::PresignedUrlConfig::builder().build())
            .job_executions_rollout_config(sdk::JobExecutionsRolloutConfig::builder().build())
            .timeout_config(sdk::TimeoutConfig::builder().build())
            .build();
        let spec = spec_from_job(&job);
        assert_eq!(spec.presigned_url_config, None);
        assert_eq!(spec.job_executions_rollout_config, None);
        assert_eq!(spec.timeout_config, None);

        let set = sdk::Job::builder()
            .timeout_config(
                sdk::TimeoutConfig::builder()
                    .in_progress_timeout_in_minutes(5)
                    .build(),
            )
            .build();
        assert_eq!(
            spec_from_job(&set)
                .timeout_config
                .and_then(|t| t.in_progress_timeout_in_minutes),
            Some(5)
        );
    }
}
