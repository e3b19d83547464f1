//! [`JobsApi`] on the SDK: one method per AWS operation, each paced by the rate limiter, its
//! failures classified by [`super::errors`], its shapes converted by [`super::convert`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iot::types as sdk;

use super::convert::{self, Configs};
use super::errors::{absent_if_not_found, build_error, empty_response};
use super::{ApiError, ErrorKind, IotJobs, JobsApi};
use crate::domain::{
    ExecutionDetail, ExecutionStatus, ExecutionSummary, JobDescription, JobStatus, JobSummary,
    JobTemplateDescription, JobTemplateSpec, JobUpdate, ResolvedSpec,
};

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
            request_id: None,
            endpoint: None,
        }),
        Some(next) if !next.is_empty() => Ok(Some(next.to_string())),
        _ => Ok(None),
    }
}

#[async_trait]
impl JobsApi for IotJobs {
    fn region(&self) -> Option<String> {
        Some(IotJobs::region(self).to_string()).filter(|r| !r.is_empty())
    }

    fn new_run(&self) {
        self.forget_unreachable();
    }

    async fn describe_job(&self, job_id: &str) -> Result<Option<JobDescription>, ApiError> {
        const OP: &str = "DescribeJob";
        let call = self.begin(OP, job_id).await?;
        let result = self.client.describe_job().job_id(job_id).send().await;
        let result = result.map_err(|e| self.error(OP, &e, &call));
        let Some(output) = absent_if_not_found(result)? else {
            return Ok(None);
        };
        let job = output.job().ok_or_else(|| empty_response(OP, "job"))?;
        let mut spec = convert::spec_from_job(job);
        spec.document_source = output.document_source().map(String::from);
        Ok(Some(JobDescription {
            job_arn: job.job_arn().unwrap_or_default().to_string(),
            status: JobStatus::parse(job.status().map_or("", |s| s.as_str())),
            spec,
            progress: convert::progress_from_job(job),
        }))
    }

    async fn get_job_document(&self, job_id: &str) -> Result<String, ApiError> {
        const OP: &str = "GetJobDocument";
        let call = self.begin(OP, job_id).await?;
        let output = self
            .client
            .get_job_document()
            .job_id(job_id)
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(output.document().unwrap_or_default().to_string())
    }

    async fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ApiError> {
        const OP: &str = "ListTagsForResource";
        let mut tags = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let call = self.begin(OP, arn).await?;
            let output = self
                .client
                .list_tags_for_resource()
                .resource_arn(arn)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| self.error(OP, &e, &call))?;
            for tag in output.tags() {
                tags.insert(
                    tag.key().to_string(),
                    tag.value().unwrap_or_default().to_string(),
                );
            }
            token = next_page(OP, token.as_deref(), output.next_token())?;
            if token.is_none() {
                return Ok(tags);
            }
        }
    }

    async fn create_job(&self, job_id: &str, spec: &ResolvedSpec) -> Result<String, ApiError> {
        const OP: &str = "CreateJob";
        let configs = Configs::new(
            spec.presigned_url_config.as_ref(),
            spec.job_executions_rollout_config.as_ref(),
            spec.abort_config.as_ref(),
            spec.timeout_config.as_ref(),
            spec.job_executions_retry_config.as_ref(),
        )
        .map_err(|e| build_error(OP, &e))?;
        let scheduling = spec
            .scheduling_config
            .as_ref()
            .map(convert::scheduling_to_sdk)
            .transpose()
            .map_err(|e| build_error(OP, &e))?;
        let tags = convert::tags_to_sdk(spec.tags.iter().map(|(k, v)| (k, &v.0)))
            .map_err(|e| build_error(OP, &e))?;
        let mut request = self
            .client
            .create_job()
            .job_id(job_id)
            .set_targets(Some(spec.target_arns()))
            .set_description(spec.description.clone())
            .set_document(spec.sent_document())
            .set_document_source(spec.document_source.clone())
            .set_target_selection(
                spec.target_selection
                    .map(|t| sdk::TargetSelection::from(t.as_str())),
            )
            .set_namespace_id(spec.namespace_id.clone())
            .set_job_template_arn(spec.job_template_arn.clone())
            .set_presigned_url_config(configs.presigned_url)
            .set_job_executions_rollout_config(configs.rollout)
            .set_abort_config(configs.abort)
            .set_timeout_config(configs.timeout)
            .set_job_executions_retry_config(configs.retry)
            .set_scheduling_config(scheduling)
            .set_tags((!tags.is_empty()).then_some(tags));
        for (key, value) in &spec.document_parameters {
            request = request.document_parameters(key, &value.0);
        }
        for arn in &spec.destination_package_versions {
            request = request.destination_package_versions(&arn.0);
        }
        let call = self.begin(OP, job_id).await?;
        let output = request
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(output.job_arn().unwrap_or_default().to_string())
    }

    async fn list_jobs(&self) -> Result<Vec<JobSummary>, ApiError> {
        const OP: &str = "ListJobs";
        let mut jobs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let call = self.begin(OP, "the account's jobs").await?;
            let output = self
                .client
                .list_jobs()
                .max_results(250)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| self.error(OP, &e, &call))?;
            for job in output.jobs() {
                jobs.push(JobSummary {
                    job_id: job.job_id().unwrap_or_default().to_string(),
                    job_arn: job.job_arn().unwrap_or_default().to_string(),
                    status: JobStatus::parse(job.status().map_or("", |s| s.as_str())),
                    completed_at: convert::time(job.completed_at()),
                    last_updated_at: convert::time(job.last_updated_at()),
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
        // Named in full, so a field added to JobUpdate does not compile until it is sent here.
        let JobUpdate {
            description,
            presigned_url_config,
            job_executions_rollout_config,
            abort_config,
            timeout_config,
            job_executions_retry_config,
        } = update;
        let configs = Configs::new(
            presigned_url_config.as_ref(),
            job_executions_rollout_config.as_ref(),
            abort_config.as_ref(),
            timeout_config.as_ref(),
            job_executions_retry_config.as_ref(),
        )
        .map_err(|e| build_error(OP, &e))?;
        let request = self
            .client
            .update_job()
            .job_id(job_id)
            .set_description(description.clone())
            .set_presigned_url_config(configs.presigned_url)
            .set_job_executions_rollout_config(configs.rollout)
            .set_abort_config(configs.abort)
            .set_timeout_config(configs.timeout)
            .set_job_executions_retry_config(configs.retry);
        let call = self.begin(OP, job_id).await?;
        request
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn cancel_job(&self, job_id: &str, force: bool, comment: &str) -> Result<(), ApiError> {
        const OP: &str = "CancelJob";
        let call = self.begin(OP, job_id).await?;
        self.client
            .cancel_job()
            .job_id(job_id)
            .force(force)
            .reason_code("JOBCTL")
            .comment(comment)
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn cancel_job_with_reason(
        &self,
        job_id: &str,
        reason_code: &str,
        comment: &str,
    ) -> Result<(), ApiError> {
        const OP: &str = "CancelJob";
        let call = self.begin(OP, job_id).await?;
        self.client
            .cancel_job()
            .job_id(job_id)
            .force(false)
            .reason_code(reason_code)
            .comment(comment)
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn delete_job(&self, job_id: &str, force: bool) -> Result<(), ApiError> {
        const OP: &str = "DeleteJob";
        let call = self.begin(OP, job_id).await?;
        self.client
            .delete_job()
            .job_id(job_id)
            .force(force)
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn associate_targets(&self, job_id: &str, targets: &[String]) -> Result<(), ApiError> {
        const OP: &str = "AssociateTargetsWithJob";
        let call = self.begin(OP, job_id).await?;
        self.client
            .associate_targets_with_job()
            .job_id(job_id)
            .set_targets(Some(targets.to_vec()))
            .comment("added by jobctl")
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn tag_resource(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        const OP: &str = "TagResource";
        let tags = convert::tags_to_sdk(tags).map_err(|e| build_error(OP, &e))?;
        let call = self.begin(OP, arn).await?;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), ApiError> {
        const OP: &str = "UntagResource";
        let call = self.begin(OP, arn).await?;
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn list_job_executions(
        &self,
        job_id: &str,
        status: &ExecutionStatus,
        max: usize,
    ) -> Result<Vec<ExecutionSummary>, ApiError> {
        const OP: &str = "ListJobExecutionsForJob";
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        while rows.len() < max {
            // Pages are at most 250 rows; ask for no more than are still wanted.
            let page = i32::try_from((max - rows.len()).min(250)).unwrap_or(250);
            let call = self.begin(OP, job_id).await?;
            let output = self
                .client
                .list_job_executions_for_job()
                .job_id(job_id)
                .status(sdk::JobExecutionStatus::from(status.as_str()))
                .max_results(page)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| self.error(OP, &e, &call))?;
            rows.extend(
                output
                    .execution_summaries()
                    .iter()
                    .map(convert::execution_summary),
            );
            token = next_page(OP, token.as_deref(), output.next_token())?;
            if token.is_none() {
                break;
            }
        }
        rows.truncate(max);
        Ok(rows)
    }

    async fn describe_job_execution(
        &self,
        job_id: &str,
        thing_name: &str,
    ) -> Result<Option<ExecutionDetail>, ApiError> {
        const OP: &str = "DescribeJobExecution";
        let call = self.begin(OP, job_id).await?;
        let result = self
            .client
            .describe_job_execution()
            .job_id(job_id)
            .thing_name(thing_name)
            .send()
            .await;
        let result = result.map_err(|e| self.error(OP, &e, &call));
        let Some(output) = absent_if_not_found(result)? else {
            return Ok(None);
        };
        let details = output
            .execution()
            .and_then(|e| e.status_details())
            .and_then(|d| d.details_map())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Some(ExecutionDetail {
            status_details: details,
        }))
    }

    fn server_time(&self) -> Option<std::time::SystemTime> {
        self.clock.now()
    }

    async fn describe_thing(&self, name: &str) -> Result<Option<String>, ApiError> {
        const OP: &str = "DescribeThing";
        let call = self.begin(OP, name).await?;
        let result = self.client.describe_thing().thing_name(name).send().await;
        let result = result.map_err(|e| self.error(OP, &e, &call));
        Ok(absent_if_not_found(result)?.and_then(|o| o.thing_arn().map(String::from)))
    }

    async fn describe_thing_group(&self, name: &str) -> Result<Option<String>, ApiError> {
        const OP: &str = "DescribeThingGroup";
        let call = self.begin(OP, name).await?;
        let result = self
            .client
            .describe_thing_group()
            .thing_group_name(name)
            .send()
            .await;
        let result = result.map_err(|e| self.error(OP, &e, &call));
        Ok(absent_if_not_found(result)?.and_then(|o| o.thing_group_arn().map(String::from)))
    }

    async fn create_job_template(
        &self,
        template_id: &str,
        spec: &JobTemplateSpec,
    ) -> Result<String, ApiError> {
        const OP: &str = "CreateJobTemplate";
        let configs = Configs::new(
            spec.presigned_url_config.as_ref(),
            spec.job_executions_rollout_config.as_ref(),
            spec.abort_config.as_ref(),
            spec.timeout_config.as_ref(),
            spec.job_executions_retry_config.as_ref(),
        )
        .map_err(|e| build_error(OP, &e))?;
        let windows = spec
            .as_job_spec()
            .scheduling_config
            .as_ref()
            .map(convert::scheduling_to_sdk)
            .transpose()
            .map_err(|e| build_error(OP, &e))?
            .map(|s| s.maintenance_windows().to_vec());
        let tags = convert::tags_to_sdk(spec.tags.iter().map(|(k, v)| (k, &v.0)))
            .map_err(|e| build_error(OP, &e))?;
        let request = self
            .client
            .create_job_template()
            .job_template_id(template_id)
            .description(&spec.description)
            .set_document(spec.as_job_spec().sent_document())
            .set_document_source(spec.document_source.clone())
            .set_presigned_url_config(configs.presigned_url)
            .set_job_executions_rollout_config(configs.rollout)
            .set_abort_config(configs.abort)
            .set_timeout_config(configs.timeout)
            .set_job_executions_retry_config(configs.retry)
            .set_maintenance_windows(windows)
            .set_destination_package_versions((!spec.destination_package_versions.is_empty()).then(
                || {
                    spec.destination_package_versions
                        .iter()
                        .map(|a| a.0.clone())
                        .collect()
                },
            ))
            .set_tags((!tags.is_empty()).then_some(tags));
        let call = self.begin(OP, template_id).await?;
        let output = request
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(output.job_template_arn().unwrap_or_default().to_string())
    }

    async fn delete_job_template(&self, template_id: &str) -> Result<(), ApiError> {
        const OP: &str = "DeleteJobTemplate";
        let call = self.begin(OP, template_id).await?;
        self.client
            .delete_job_template()
            .job_template_id(template_id)
            .send()
            .await
            .map_err(|e| self.error(OP, &e, &call))?;
        Ok(())
    }

    async fn list_job_templates(&self) -> Result<Vec<(String, String)>, ApiError> {
        const OP: &str = "ListJobTemplates";
        let mut templates = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let call = self.begin(OP, "the account's job templates").await?;
            let output = self
                .client
                .list_job_templates()
                .max_results(250)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| self.error(OP, &e, &call))?;
            for t in output.job_templates() {
                templates.push((
                    t.job_template_id().unwrap_or_default().to_string(),
                    t.job_template_arn().unwrap_or_default().to_string(),
                ));
            }
            token = next_page(OP, token.as_deref(), output.next_token())?;
            if token.is_none() {
                return Ok(templates);
            }
        }
    }

    async fn describe_job_template(
        &self,
        template_arn: &str,
    ) -> Result<Option<JobTemplateDescription>, ApiError> {
        match convert::template_ref(template_arn) {
            convert::TemplateRef::Managed { name, version } => {
                const OP: &str = "DescribeManagedJobTemplate";
                let call = self.begin(OP, template_arn).await?;
                let result = self
                    .client
                    .describe_managed_job_template()
                    .template_name(name)
                    .set_template_version(version.map(String::from))
                    .send()
                    .await;
                let result = result.map_err(|e| self.error(OP, &e, &call));
                Ok(absent_if_not_found(result)?
                    .map(|o| convert::managed_template(template_arn, &o)))
            }
            convert::TemplateRef::Own { id } => {
                const OP: &str = "DescribeJobTemplate";
                let call = self.begin(OP, template_arn).await?;
                let result = self
                    .client
                    .describe_job_template()
                    .job_template_id(id)
                    .send()
                    .await;
                let result = result.map_err(|e| self.error(OP, &e, &call));
                Ok(absent_if_not_found(result)?.map(|o| convert::own_template(template_arn, &o)))
            }
        }
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

    // --- Wire level: the SDK's real serializers and parsers, answered in-process. ---

    use std::sync::{Arc, Mutex};

    use aws_sdk_iot::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_http_client::test_util::infallible_client_fn;
    use serde_json::{json, Value};

    use crate::aws::Connection;
    use crate::domain::spec::JobSpec;

    /// One request as sent: method, path and JSON body.
    type Sent = Arc<Mutex<Vec<(String, String, Value)>>>;

    /// A client whose every request is recorded and answered with `status` and `body`, plus
    /// `error_type` as `x-amzn-ErrorType` when given.
    fn client(status: u16, error_type: Option<&'static str>, body: Value) -> (IotJobs, Sent) {
        let sent: Sent = Arc::default();
        let log = Arc::clone(&sent);
        let http = infallible_client_fn(move |request| {
            let body_json = request
                .body()
                .bytes()
                .filter(|b| !b.is_empty())
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            if let Ok(mut log) = log.lock() {
                log.push((
                    request.method().to_string(),
                    request.uri().path().to_string(),
                    body_json,
                ));
            }
            let mut response = http::Response::builder().status(status);
            if let Some(error_type) = error_type {
                response = response.header("x-amzn-ErrorType", error_type);
            }
            response
                .body(body.to_string())
                .unwrap_or_else(|_| http::Response::new(String::new()))
        });
        (api_on(http, 1), sent)
    }

    /// The client on `http`, making up to `attempts` attempts per call.
    fn api_on(http: aws_sdk_iot::config::SharedHttpClient, attempts: u32) -> IotJobs {
        let builder = aws_sdk_iot::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url("http://iot.test")
            .retry_config(
                aws_sdk_iot::config::retry::RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .http_client(http);
        IotJobs::from_config(builder, &Connection::default())
    }

    fn spec(value: Value) -> ResolvedSpec {
        let spec: JobSpec = serde_json::from_value(value).expect("spec");
        ResolvedSpec::from_arns(spec).expect("ARN targets")
    }

    fn only_request(sent: &Sent) -> (String, String, Value) {
        let sent = sent.lock().expect("lock");
        assert_eq!(sent.len(), 1, "{sent:?}");
        sent[0].clone()
    }

    #[tokio::test]
    async fn create_job_sends_every_field_under_its_wire_name() {
        let (api, sent) = client(
            200,
            None,
            json!({"jobArn": "arn:aws:iot:us-east-1:123456789012:job/fw", "jobId": "fw"}),
        );
        let job = spec(json!({
            "description": "Bulb firmware",
            "targets": ["arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs"],
            "targetSelection": "CONTINUOUS",
            "document": {"operation": "update", "version": "4.2.0"},
            "presignedUrlConfig": {"roleArn": "arn:aws:iam::123456789012:role/JobsS3", "expiresInSec": 600},
            "jobExecutionsRolloutConfig": {"exponentialRate": {"baseRatePerMinute": 10, "incrementFactor": 1.5, "rateIncreaseCriteria": {"numberOfSucceededThings": 5}}},
            "abortConfig": {"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 10.5, "minNumberOfExecutedThings": 20}]},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 60},
            "jobExecutionsRetryConfig": {"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 2}]},
            "schedulingConfig": {"startTime": "2027-01-10T02:00", "endTime": "2027-01-11T02:00", "endBehavior": "STOP_ROLLOUT", "maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 60}]},
            "tags": {"team": "lighting"}
        }));
        let arn = api.create_job("fw", &job).await.expect("created");
        assert_eq!(arn, "arn:aws:iot:us-east-1:123456789012:job/fw");
        let (method, path, body) = only_request(&sent);
        assert_eq!((method.as_str(), path.as_str()), ("PUT", "/jobs/fw"));
        assert_eq!(
            body["targets"],
            json!(["arn:aws:iot:us-east-1:123456789012:thinggroup/Bulbs"])
        );
        assert_eq!(body["targetSelection"], "CONTINUOUS");
        assert_eq!(body["description"], "Bulb firmware");
        // The document travels as text, compact, exactly as the manifest's JSON.
        assert_eq!(
            body["document"],
            r#"{"operation":"update","version":"4.2.0"}"#
        );
        assert_eq!(
            body["presignedUrlConfig"],
            json!({"roleArn": "arn:aws:iam::123456789012:role/JobsS3", "expiresInSec": 600})
        );
        assert_eq!(
            body["jobExecutionsRolloutConfig"],
            json!({"exponentialRate": {"baseRatePerMinute": 10, "incrementFactor": 1.5, "rateIncreaseCriteria": {"numberOfSucceededThings": 5}}})
        );
        assert_eq!(
            body["abortConfig"],
            json!({"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 10.5, "minNumberOfExecutedThings": 20}]})
        );
        assert_eq!(
            body["timeoutConfig"],
            json!({"inProgressTimeoutInMinutes": 60})
        );
        assert_eq!(
            body["jobExecutionsRetryConfig"],
            json!({"criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 2}]})
        );
        assert_eq!(
            body["schedulingConfig"],
            json!({"startTime": "2027-01-10T02:00", "endTime": "2027-01-11T02:00", "endBehavior": "STOP_ROLLOUT", "maintenanceWindows": [{"startTime": "cron(0 2 ? * SAT *)", "durationInMinutes": 60}]})
        );
        assert_eq!(body["tags"], json!([{"Key": "team", "Value": "lighting"}]));
    }

    #[tokio::test]
    async fn update_job_sends_only_the_fields_it_sets() {
        let (api, sent) = client(200, None, json!({}));
        let update = JobUpdate {
            description: Some("new".into()),
            timeout_config: Some(crate::domain::spec::TimeoutConfig {
                in_progress_timeout_in_minutes: Some(30),
            }),
            ..JobUpdate::default()
        };
        api.update_job("fw", &update).await.expect("updated");
        let (method, path, body) = only_request(&sent);
        assert_eq!((method.as_str(), path.as_str()), ("PATCH", "/jobs/fw"));
        assert_eq!(
            body,
            json!({"description": "new", "timeoutConfig": {"inProgressTimeoutInMinutes": 30}})
        );
    }

    #[tokio::test]
    async fn describe_job_reads_the_job_in_manifest_terms() {
        let (api, sent) = client(
            200,
            None,
            json!({
                "documentSource": "https://s3.us-east-1.amazonaws.com/b/job.json",
                "job": {
                    "jobArn": "arn:aws:iot:us-east-1:123456789012:job/fw",
                    "jobId": "fw",
                    "status": "IN_PROGRESS",
                    "targetSelection": "SNAPSHOT",
                    "targets": ["arn:aws:iot:us-east-1:123456789012:thing/pi"],
                    "description": "Bulb firmware",
                    "presignedUrlConfig": {},
                    "jobExecutionsRolloutConfig": {"maximumPerMinute": 50},
                    "abortConfig": {"criteriaList": [{"failureType": "REJECTED", "action": "CANCEL", "thresholdPercentage": 5.0, "minNumberOfExecutedThings": 10}]},
                    "timeoutConfig": {},
                    "schedulingConfig": {"endBehavior": "CANCEL", "endTime": "2027-01-11T02:00"}
                }
            }),
        );
        let described = api.describe_job("fw").await.expect("ok").expect("exists");
        assert_eq!(only_request(&sent).1, "/jobs/fw");
        assert_eq!(described.status, JobStatus::InProgress);
        assert_eq!(
            described.job_arn,
            "arn:aws:iot:us-east-1:123456789012:job/fw"
        );
        let expected: JobSpec = serde_json::from_value(json!({
            "description": "Bulb firmware",
            "targets": ["arn:aws:iot:us-east-1:123456789012:thing/pi"],
            "targetSelection": "SNAPSHOT",
            "documentSource": "https://s3.us-east-1.amazonaws.com/b/job.json",
            "jobExecutionsRolloutConfig": {"maximumPerMinute": 50},
            "abortConfig": {"criteriaList": [{"failureType": "REJECTED", "action": "CANCEL", "thresholdPercentage": 5.0, "minNumberOfExecutedThings": 10}]},
            "schedulingConfig": {"endBehavior": "CANCEL", "endTime": "2027-01-11T02:00"}
        }))
        .expect("spec");
        // `{}` for never-set configurations reads as absent, or every job would look changed.
        assert_eq!(described.spec, expected);
    }

    #[tokio::test]
    async fn errors_are_classified_by_code_and_status() {
        let (api, _) = client(
            404,
            Some("ResourceNotFoundException"),
            json!({"message": "Job fw not found"}),
        );
        assert_eq!(
            api.describe_job("fw")
                .await
                .expect("absent is not an error"),
            None
        );

        let (api, _) = client(
            400,
            Some("ThrottlingException"),
            json!({"message": "Rate exceeded"}),
        );
        let err = api.list_jobs().await.expect_err("throttled");
        assert_eq!(
            (
                err.operation,
                err.kind,
                err.code.as_str(),
                err.message.as_str()
            ),
            (
                "ListJobs",
                ErrorKind::Throttled,
                "ThrottlingException",
                "Rate exceeded (from http://iot.test)"
            )
        );
        assert!(err.is_retryable());

        let (api, _) = client(
            409,
            Some("ResourceAlreadyExistsException"),
            json!({"message": "Job fw already exists"}),
        );
        let job = spec(
            json!({"targets": ["arn:aws:iot:us-east-1:123456789012:thing/pi"], "document": {}}),
        );
        let err = api.create_job("fw", &job).await.expect_err("exists");
        assert_eq!(err.kind, ErrorKind::AlreadyExists);
        assert_eq!(api.stats().by_operation().get("CreateJob"), Some(&1));
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_cut_off_once_and_not_retried() {
        let limit = usize::try_from(crate::aws::body::MAX_RESPONSE_BYTES).expect("fits");
        let http = infallible_client_fn(move |_| http::Response::new(" ".repeat(limit + 1)));
        let api = api_on(http, 3);
        let err = api.get_job_document("fw").await.expect_err("too large");
        assert_eq!(
            (err.kind, err.code.as_str()),
            (ErrorKind::BadResponse, "ResponseTooLarge")
        );
        assert!(
            err.message.starts_with(
                "http://iot.test answered HTTP 200, but the response body is larger than 4 MiB"
            ),
            "{}",
            err.message
        );
        assert!(err.message.ends_with("(job `fw`)"), "{}", err.message);
        assert_eq!(api.stats().by_operation().get("GetJobDocument"), Some(&1));

        // At the limit, the answer is read.
        let http = infallible_client_fn(move |_| {
            http::Response::new(format!("{{\"document\": \"{}\"}}", "x".repeat(limit - 20)))
        });
        let text = api_on(http, 3).get_job_document("fw").await.expect("read");
        assert_eq!(text.len(), limit - 20);
    }

    #[tokio::test]
    async fn an_answer_without_an_aws_message_names_the_endpoint_and_the_job() {
        let http = infallible_client_fn(|_| {
            http::Response::builder()
                .status(502)
                .body("<html>Bad Gateway</html>".to_string())
                .unwrap_or_else(|_| http::Response::new(String::new()))
        });
        let err = api_on(http, 1).describe_job("fw").await.expect_err("502");
        assert_eq!(
            err.to_string(),
            "DescribeJob failed: HTTP502: http://iot.test answered HTTP 502 with no error message (job `fw`)"
        );
    }
}
