//! jobctl's types to the SDK's and back: the request shapes of CreateJob and UpdateJob,
//! DescribeJob's `Job` in manifest terms and its progress, and executions. Wire enum values are
//! our enums' serde names, so the two sides cannot drift apart.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_iot::error::BuildError;
use aws_sdk_iot::primitives::DateTime;
use aws_sdk_iot::types as sdk;

use crate::domain::spec::{self as m, JobSpec, Target};
use crate::domain::JobTemplateDescription;
use crate::domain::{ExecutionStatus, ExecutionSummary, JobProcessDetails, JobProgress};

/// The five configurations CreateJob and UpdateJob both take, converted once for either.
#[derive(Debug, Default)]
pub(super) struct Configs {
    pub presigned_url: Option<sdk::PresignedUrlConfig>,
    pub rollout: Option<sdk::JobExecutionsRolloutConfig>,
    pub abort: Option<sdk::AbortConfig>,
    pub timeout: Option<sdk::TimeoutConfig>,
    pub retry: Option<sdk::JobExecutionsRetryConfig>,
}

impl Configs {
    pub fn new(
        presigned_url: Option<&m::PresignedUrlConfig>,
        rollout: Option<&m::JobExecutionsRolloutConfig>,
        abort: Option<&m::AbortConfig>,
        timeout: Option<&m::TimeoutConfig>,
        retry: Option<&m::JobExecutionsRetryConfig>,
    ) -> Result<Self, BuildError> {
        Ok(Self {
            presigned_url: presigned_url.map(presigned_to_sdk),
            rollout: rollout.map(rollout_to_sdk).transpose()?,
            abort: abort.map(abort_to_sdk).transpose()?,
            timeout: timeout.map(timeout_to_sdk),
            retry: retry.map(retry_to_sdk).transpose()?,
        })
    }
}

/// The job's tags as SDK tags.
pub(super) fn tags_to_sdk<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<Vec<sdk::Tag>, BuildError> {
    tags.into_iter()
        .map(|(k, v)| sdk::Tag::builder().key(k).value(v).build())
        .collect()
}

fn presigned_to_sdk(c: &m::PresignedUrlConfig) -> sdk::PresignedUrlConfig {
    sdk::PresignedUrlConfig::builder()
        .set_role_arn(c.role_arn.clone())
        .set_expires_in_sec(c.expires_in_sec)
        .build()
}

fn rollout_to_sdk(
    c: &m::JobExecutionsRolloutConfig,
) -> Result<sdk::JobExecutionsRolloutConfig, BuildError> {
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

fn abort_to_sdk(c: &m::AbortConfig) -> Result<sdk::AbortConfig, BuildError> {
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
) -> Result<sdk::JobExecutionsRetryConfig, BuildError> {
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

pub(super) fn scheduling_to_sdk(
    c: &m::SchedulingConfig,
) -> Result<sdk::SchedulingConfig, BuildError> {
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

pub(super) fn to_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
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
pub(super) fn spec_from_job(job: &sdk::Job) -> JobSpec {
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
        document_text: None,
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
        job_template: None,
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

/// Which Describe call a template ARN needs.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TemplateRef<'a> {
    /// `arn:aws:iot:REGION::jobtemplate/NAME:VERSION` (no account): an AWS-managed template.
    Managed {
        name: &'a str,
        version: Option<&'a str>,
    },
    /// `arn:aws:iot:REGION:ACCOUNT:jobtemplate/ID`: the account's own.
    Own { id: &'a str },
}

pub(super) fn template_ref(arn: &str) -> TemplateRef<'_> {
    let account = arn.split(':').nth(4).unwrap_or_default();
    let resource = arn.split_once(":jobtemplate/").map_or(arn, |(_, r)| r);
    if account.is_empty() {
        match resource.split_once(':') {
            Some((name, version)) => TemplateRef::Managed {
                name,
                version: Some(version),
            },
            None => TemplateRef::Managed {
                name: resource,
                version: None,
            },
        }
    } else {
        TemplateRef::Own { id: resource }
    }
}

/// The template's document in job terms: parsed when it is JSON, as a job's document is.
fn template_document(text: Option<&str>) -> Option<serde_json::Value> {
    text.map(|t| {
        serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.to_string()))
    })
}

/// DescribeJobTemplate in job-spec terms. The configurations go through [`spec_from_job`], so
/// a template's values read exactly as the same values on a job do.
pub(super) fn own_template(
    arn: &str,
    o: &aws_sdk_iot::operation::describe_job_template::DescribeJobTemplateOutput,
) -> JobTemplateDescription {
    let windows = o.maintenance_windows().to_vec();
    let job = sdk::Job::builder()
        .set_description(o.description().map(String::from))
        .set_presigned_url_config(o.presigned_url_config().cloned())
        .set_job_executions_rollout_config(o.job_executions_rollout_config().cloned())
        .set_abort_config(o.abort_config().cloned())
        .set_timeout_config(o.timeout_config().cloned())
        .set_job_executions_retry_config(o.job_executions_retry_config().cloned())
        .set_scheduling_config((!windows.is_empty()).then(|| {
            sdk::SchedulingConfig::builder()
                .set_maintenance_windows(Some(windows))
                .build()
        }))
        .set_destination_package_versions(Some(o.destination_package_versions().to_vec()))
        .build();
    let mut spec = spec_from_job(&job);
    spec.document_source = o.document_source().map(String::from);
    spec.document = template_document(o.document());
    JobTemplateDescription {
        template_arn: arn.to_string(),
        managed: false,
        spec,
        document_text: o.document().map(String::from),
        parameters: Vec::new(),
    }
}

/// DescribeManagedJobTemplate in job-spec terms: a description and a document.
pub(super) fn managed_template(
    arn: &str,
    o: &aws_sdk_iot::operation::describe_managed_job_template::DescribeManagedJobTemplateOutput,
) -> JobTemplateDescription {
    let mut spec = spec_from_job(&sdk::Job::builder().build());
    spec.description = o.description().map(String::from);
    spec.document = template_document(o.document());
    JobTemplateDescription {
        template_arn: arn.to_string(),
        managed: true,
        spec,
        document_text: o.document().map(String::from),
        parameters: o
            .document_parameters()
            .iter()
            .map(|p| crate::domain::TemplateParameter {
                key: p.key().unwrap_or_default().to_string(),
                description: p.description().unwrap_or_default().to_string(),
                optional: p.optional(),
            })
            .collect(),
    }
}

/// An SDK timestamp as a `SystemTime`; `None` for one outside what the platform represents.
pub(super) fn time(value: Option<&DateTime>) -> Option<SystemTime> {
    value.and_then(|t| SystemTime::try_from(*t).ok())
}

/// A count AWS sends as an optional 32-bit integer; absent and negative are 0.
fn count(value: Option<i32>) -> u64 {
    value.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// DescribeJob's counts, reason and times.
pub(super) fn progress_from_job(job: &sdk::Job) -> JobProgress {
    let details = job
        .job_process_details()
        .map_or_else(JobProcessDetails::default, |d| JobProcessDetails {
            processing_targets: d.processing_targets.clone(),
            number_of_canceled_things: count(d.number_of_canceled_things()),
            number_of_succeeded_things: count(d.number_of_succeeded_things()),
            number_of_failed_things: count(d.number_of_failed_things()),
            number_of_rejected_things: count(d.number_of_rejected_things()),
            number_of_queued_things: count(d.number_of_queued_things()),
            number_of_in_progress_things: count(d.number_of_in_progress_things()),
            number_of_removed_things: count(d.number_of_removed_things()),
            number_of_timed_out_things: count(d.number_of_timed_out_things()),
        });
    JobProgress {
        details,
        reason_code: job.reason_code().map(String::from),
        comment: job.comment().map(String::from),
        force_canceled: job.force_canceled(),
        created_at: time(job.created_at()),
        last_updated_at: time(job.last_updated_at()),
        completed_at: time(job.completed_at()),
    }
}

/// One row of ListJobExecutionsForJob.
pub(super) fn execution_summary(row: &sdk::JobExecutionSummaryForJob) -> ExecutionSummary {
    let summary = row.job_execution_summary();
    ExecutionSummary {
        thing_arn: row.thing_arn().unwrap_or_default().to_string(),
        status: ExecutionStatus::parse(summary.and_then(|s| s.status()).map_or("", |s| s.as_str())),
        execution_number: summary.and_then(|s| s.execution_number()),
        retry_attempt: summary.and_then(|s| s.retry_attempt()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn template_arns_name_the_right_describe_call() {
        assert_eq!(
            template_ref("arn:aws:iot:us-east-1::jobtemplate/AWS-Reboot:1.0"),
            TemplateRef::Managed {
                name: "AWS-Reboot",
                version: Some("1.0")
            }
        );
        assert_eq!(
            template_ref("arn:aws:iot:us-east-1:123456789012:jobtemplate/fw"),
            TemplateRef::Own { id: "fw" }
        );
    }
}
