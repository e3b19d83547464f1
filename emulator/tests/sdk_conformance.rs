//! Conformance with a client nobody here wrote: the official Rust SDK (aws-sdk-iot) drives
//! every operation against the emulator, and every modeled error deserializes into its
//! typed variant.

mod common;

use aws_sdk_iot::config::retry::RetryConfig;
use aws_sdk_iot::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_iot::error::ProvideErrorMetadata;
use aws_sdk_iot::types::{
    AbortAction, AbortConfig, AbortCriteria, AttributePayload, ExponentialRolloutRate,
    JobExecutionFailureType, JobExecutionStatus, JobExecutionsRetryConfig,
    JobExecutionsRolloutConfig, JobStatus, MaintenanceWindow, PresignedUrlConfig,
    RateIncreaseCriteria, RetryCriteria, RetryableFailureType, SchedulingConfig, Tag,
    TargetSelection, ThingGroupProperties, TimeoutConfig,
};
use aws_sdk_iot::Client;
use common::{group_arn, job_arn, thing_arn, Emu};
use serde_json::json;

fn client(emu: &Emu) -> Client {
    let conf = aws_sdk_iot::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(emu.url())
        // Errors are what is under test: no retries hiding them.
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

#[tokio::test]
async fn every_operation_round_trips_through_the_sdk() {
    let emu = Emu::start(&["--deletion-delay-ms", "60000"]);
    let c = client(&emu);

    let t = c
        .create_thing()
        .thing_name("dev1")
        .attribute_payload(
            AttributePayload::builder()
                .attributes("model", "x1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(t.thing_arn(), Some(thing_arn("dev1").as_str()));
    c.create_thing().thing_name("dev2").send().await.unwrap();
    let d = c.describe_thing().thing_name("dev1").send().await.unwrap();
    assert_eq!(
        d.attributes()
            .and_then(|a| a.get("model"))
            .map(String::as_str),
        Some("x1")
    );
    assert_eq!(d.version(), 1);

    let g = c
        .create_thing_group()
        .thing_group_name("fleet")
        .thing_group_properties(
            ThingGroupProperties::builder()
                .thing_group_description("the fleet")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(g.thing_group_id().is_some());
    c.create_thing_group()
        .thing_group_name("sub")
        .parent_group_name("fleet")
        .send()
        .await
        .unwrap();
    c.add_thing_to_thing_group()
        .thing_group_name("sub")
        .thing_name("dev2")
        .send()
        .await
        .unwrap();
    let dg = c
        .describe_thing_group()
        .thing_group_name("sub")
        .send()
        .await
        .unwrap();
    assert_eq!(
        dg.thing_group_metadata()
            .and_then(|m| m.parent_group_name()),
        Some("fleet")
    );

    let now = emu.now() as i64;
    let start = time::OffsetDateTime::from_unix_timestamp(now + 7200).unwrap();
    let start = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        start.year(),
        start.month() as u8,
        start.day(),
        start.hour(),
        start.minute()
    );
    c.create_job()
        .job_id("full")
        .targets(thing_arn("dev1"))
        .targets(group_arn("fleet"))
        .document(r#"{"op":"update"}"#)
        .description("everything")
        .presigned_url_config(
            PresignedUrlConfig::builder()
                .role_arn("arn:aws:iam::123456789012:role/r")
                .expires_in_sec(300)
                .build(),
        )
        .target_selection(TargetSelection::Snapshot)
        .job_executions_rollout_config(
            JobExecutionsRolloutConfig::builder()
                .maximum_per_minute(100)
                .exponential_rate(
                    ExponentialRolloutRate::builder()
                        .base_rate_per_minute(10)
                        .increment_factor(2.5)
                        .rate_increase_criteria(
                            RateIncreaseCriteria::builder()
                                .number_of_succeeded_things(5)
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .abort_config(
            AbortConfig::builder()
                .criteria_list(
                    AbortCriteria::builder()
                        .failure_type(JobExecutionFailureType::Failed)
                        .action(AbortAction::Cancel)
                        .threshold_percentage(25.5)
                        .min_number_of_executed_things(2)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .in_progress_timeout_in_minutes(60)
                .build(),
        )
        .tags(Tag::builder().key("team").value("fleet").build().unwrap())
        .job_executions_retry_config(
            JobExecutionsRetryConfig::builder()
                .criteria_list(
                    RetryCriteria::builder()
                        .failure_type(RetryableFailureType::Failed)
                        .number_of_retries(3)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .scheduling_config(
            SchedulingConfig::builder()
                .start_time(&start)
                .maintenance_windows(
                    MaintenanceWindow::builder()
                        // Open when the job starts, so it rolls out right away.
                        .start_time(format!("cron(0 {} * * ? *)", &start[11..13]))
                        .duration_in_minutes(120)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .destination_package_versions("arn:aws:iot:us-east-1:123456789012:package/p/version/1")
        .send()
        .await
        .unwrap();

    let job = c.describe_job().job_id("full").send().await.unwrap();
    let j = job.job().unwrap();
    assert_eq!(j.status(), Some(&JobStatus::Scheduled));
    assert_eq!(j.target_selection(), Some(&TargetSelection::Snapshot));
    assert_eq!(j.job_arn(), Some(job_arn("full").as_str()));
    assert_eq!(j.targets().len(), 2);
    assert_eq!(j.is_concurrent(), Some(false));
    assert!(j.created_at().is_some() && j.last_updated_at().is_some());
    assert_eq!(
        j.abort_config().unwrap().criteria_list()[0].threshold_percentage(),
        25.5
    );
    assert_eq!(
        j.scheduling_config().and_then(|s| s.start_time()),
        Some(start.as_str())
    );
    assert_eq!(j.destination_package_versions().len(), 1);
    // Start the scheduled job: things and the group's member get executions.
    emu.advance(7300.0);
    let j = c.describe_job().job_id("full").send().await.unwrap();
    let j = j.job().unwrap();
    assert_eq!(j.status(), Some(&JobStatus::InProgress));
    assert_eq!(
        j.job_process_details()
            .and_then(|p| p.number_of_queued_things()),
        Some(2)
    );

    let doc = c.get_job_document().job_id("full").send().await.unwrap();
    assert_eq!(doc.document(), Some(r#"{"op":"update"}"#));

    c.update_job()
        .job_id("full")
        .description("changed")
        .timeout_config(
            TimeoutConfig::builder()
                .in_progress_timeout_in_minutes(5)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let tags = c
        .list_tags_for_resource()
        .resource_arn(job_arn("full"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "team");
    c.tag_resource()
        .resource_arn(job_arn("full"))
        .tags(Tag::builder().key("env").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    c.untag_resource()
        .resource_arn(job_arn("full"))
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = c
        .list_tags_for_resource()
        .resource_arn(job_arn("full"))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), Some("prod"));

    let ex = c
        .list_job_executions_for_job()
        .job_id("full")
        .send()
        .await
        .unwrap();
    assert_eq!(ex.execution_summaries().len(), 2);
    let s = ex.execution_summaries()[0].job_execution_summary().unwrap();
    assert_eq!(s.status(), Some(&JobExecutionStatus::Queued));
    let per_thing = c
        .list_job_executions_for_thing()
        .thing_name("dev2")
        .send()
        .await
        .unwrap();
    assert_eq!(per_thing.execution_summaries()[0].job_id(), Some("full"));
    let one = c
        .describe_job_execution()
        .thing_name("dev2")
        .job_id("full")
        .send()
        .await
        .unwrap();
    assert_eq!(
        one.execution().unwrap().thing_arn(),
        Some(thing_arn("dev2").as_str())
    );

    // A continuous job gains targets.
    c.create_job()
        .job_id("cont")
        .targets(thing_arn("dev1"))
        .document("{}")
        .target_selection(TargetSelection::Continuous)
        .send()
        .await
        .unwrap();
    let a = c
        .associate_targets_with_job()
        .job_id("cont")
        .targets(thing_arn("dev2"))
        .comment("more")
        .send()
        .await
        .unwrap();
    assert_eq!(a.job_id(), Some("cont"));

    // ListJobs through the paginator, one per page: every job exactly once.
    for i in 0..3 {
        c.create_job()
            .job_id(format!("p{i}"))
            .targets(thing_arn("dev1"))
            .document("{}")
            .send()
            .await
            .unwrap();
    }
    let mut ids: Vec<String> = Vec::new();
    let mut pages = c.list_jobs().into_paginator().page_size(1).send();
    while let Some(page) = pages.next().await {
        for j in page.unwrap().jobs() {
            ids.push(j.job_id().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(ids, ["full", "cont", "p0", "p1", "p2"]);
    let canceled = c
        .list_jobs()
        .status(JobStatus::Canceled)
        .send()
        .await
        .unwrap();
    assert!(canceled.jobs().is_empty());

    let cj = c
        .cancel_job()
        .job_id("p0")
        .reason_code("BAD_BUILD")
        .comment("stop")
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(cj.job_arn(), Some(job_arn("p0").as_str()));
    let j = c.describe_job().job_id("p0").send().await.unwrap();
    assert_eq!(j.job().unwrap().status(), Some(&JobStatus::Canceled));
    assert_eq!(j.job().unwrap().force_canceled(), Some(true));

    c.delete_job().job_id("p0").send().await.unwrap();
    let j = c.describe_job().job_id("p0").send().await.unwrap();
    assert_eq!(
        j.job().unwrap().status(),
        Some(&JobStatus::DeletionInProgress)
    );

    // Completing through the control API gives a COMPLETED job with completedAt.
    emu.control(
        "POST",
        "jobs/p1/complete",
        Some(json!({"outcome": "SUCCEEDED"})),
    )
    .ok();
    let j = c.describe_job().job_id("p1").send().await.unwrap();
    let j = j.job().unwrap();
    assert_eq!(j.status(), Some(&JobStatus::Completed));
    assert!(j.completed_at().is_some());
    assert_eq!(
        j.job_process_details()
            .and_then(|p| p.number_of_succeeded_things()),
        Some(1)
    );
}

#[tokio::test]
async fn modeled_errors_deserialize_to_typed_variants() {
    let emu = Emu::start(&["--deletion-delay-ms", "60000"]);
    let c = client(&emu);
    c.create_thing().thing_name("dev1").send().await.unwrap();
    let create = |id: &str| {
        c.create_job()
            .job_id(id)
            .targets(thing_arn("dev1"))
            .document("{}")
    };
    create("j").send().await.unwrap();

    let e = create("j").send().await.unwrap_err().into_service_error();
    assert!(e.is_resource_already_exists_exception(), "{e:?}");
    if let aws_sdk_iot::operation::create_job::CreateJobError::ResourceAlreadyExistsException(x) =
        &e
    {
        assert_eq!(x.resource_id(), Some("j"));
        assert_eq!(x.resource_arn(), Some(job_arn("j").as_str()));
    }
    assert!(e.message().is_some());

    let e = c
        .describe_job()
        .job_id("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .get_job_document()
        .job_id("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .cancel_job()
        .job_id("nope")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .update_job()
        .job_id("nope")
        .description("x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .list_tags_for_resource()
        .resource_arn(job_arn("nope"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");

    let e = create("bad!id")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
    assert!(e.message().unwrap_or_default().contains("jobId"));
    let e = c
        .create_job()
        .job_id("nodoc")
        .targets(thing_arn("dev1"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");

    let e = c
        .delete_job()
        .job_id("j")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_state_transition_exception(), "{e:?}");

    // Cancelling a job being deleted: InvalidStateTransitionException is not modeled for
    // CancelJob, so the SDK gives an unhandled error that still carries the code.
    c.delete_job().job_id("j").force(true).send().await.unwrap();
    let e = c
        .cancel_job()
        .job_id("j")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidStateTransitionException"));

    for i in 0..10 {
        create(&format!("d{i}")).send().await.unwrap();
    }
    for i in 0..9 {
        c.delete_job()
            .job_id(format!("d{i}"))
            .force(true)
            .send()
            .await
            .unwrap();
    }
    let e = c
        .delete_job()
        .job_id("d9")
        .force(true)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_limit_exceeded_exception(), "{e:?}");

    let e = c
        .create_thing()
        .thing_name("dev1")
        .thing_type_name("other")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_already_exists_exception(), "{e:?}");
    let e = c
        .describe_thing()
        .thing_name("ghost")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = c
        .describe_thing_group()
        .thing_group_name("ghost")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn injected_errors_deserialize_to_typed_variants() {
    let emu = Emu::start(&[
        "--fail",
        "ListJobs=ThrottlingException",
        "--fail",
        "CreateJob=LimitExceededException",
        "--fail",
        "DescribeJob=ServiceUnavailableException",
        "--fail",
        "TagResource=InternalFailureException",
        "--fail",
        "UpdateJob=InvalidRequestException",
    ]);
    let c = client(&emu);
    let e = c.list_jobs().send().await.unwrap_err().into_service_error();
    assert!(e.is_throttling_exception(), "{e:?}");
    let e = c
        .create_job()
        .job_id("x")
        .targets(thing_arn("dev1"))
        .document("{}")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_limit_exceeded_exception(), "{e:?}");
    let e = c
        .describe_job()
        .job_id("x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_service_unavailable_exception(), "{e:?}");
    let e = c
        .tag_resource()
        .resource_arn(job_arn("x"))
        .tags(Tag::builder().key("k").build().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_internal_failure_exception(), "{e:?}");
    let e = c
        .update_job()
        .job_id("x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_request_exception(), "{e:?}");
}

#[tokio::test]
async fn region_comes_from_the_signature() {
    let emu = Emu::start(&[]);
    let conf = aws_sdk_iot::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(emu.url())
        .build();
    let c = Client::from_conf(conf);
    let t = c.create_thing().thing_name("d").send().await.unwrap();
    assert_eq!(
        t.thing_arn(),
        Some("arn:aws:iot:ap-southeast-2:123456789012:thing/d")
    );
    // Not visible from the default region.
    assert_eq!(emu.aws("GET", "/things/d", None).status, 404);
}

/// The device side through the Rust SDK's `iot-jobs-data` client, on the same URL as the
/// control plane: the emulator tells the two apart by the SigV4 scope the SDK signs with.
#[tokio::test]
async fn a_device_runs_a_job_through_the_data_plane_sdk() {
    use aws_sdk_iotjobsdataplane::operation::describe_job_execution::DescribeJobExecutionError;
    use aws_sdk_iotjobsdataplane::operation::update_job_execution::UpdateJobExecutionError;
    use aws_sdk_iotjobsdataplane::types::JobExecutionStatus as DeviceStatus;

    let emu = Emu::start(&[]);
    let iot = client(&emu);
    iot.create_thing().thing_name("dev1").send().await.unwrap();
    iot.create_job()
        .job_id("fw")
        .targets(thing_arn("dev1"))
        .document(r#"{"op":"reboot"}"#)
        .send()
        .await
        .unwrap();
    let conf = aws_sdk_iotjobsdataplane::Config::builder()
        .behavior_version(aws_sdk_iotjobsdataplane::config::BehaviorVersion::latest())
        .region(aws_sdk_iotjobsdataplane::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iotjobsdataplane::config::Credentials::new(
            "test", "test", None, None, "static",
        ))
        .endpoint_url(emu.url())
        .retry_config(aws_sdk_iotjobsdataplane::config::retry::RetryConfig::disabled())
        .build();
    let device = aws_sdk_iotjobsdataplane::Client::from_conf(conf);

    let pending = device
        .get_pending_job_executions()
        .thing_name("dev1")
        .send()
        .await
        .unwrap();
    let queued = pending.queued_jobs();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].job_id(), Some("fw"));
    assert_eq!(queued[0].version_number(), 1);
    assert!(pending.in_progress_jobs().is_empty());

    let started = device
        .start_next_pending_job_execution()
        .thing_name("dev1")
        .status_details("step", "download")
        .send()
        .await
        .unwrap();
    let execution = started.execution().expect("an execution was pending");
    assert_eq!(execution.status(), Some(&DeviceStatus::InProgress));
    assert_eq!(execution.version_number(), 2);
    assert_eq!(execution.job_document(), Some(r#"{"op":"reboot"}"#));

    let stale = device
        .update_job_execution()
        .thing_name("dev1")
        .job_id("fw")
        .status(DeviceStatus::InProgress)
        .expected_version(1)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale.as_service_error(),
            Some(UpdateJobExecutionError::InvalidStateTransitionException(_))
        ),
        "{stale:?}"
    );

    let done = device
        .update_job_execution()
        .thing_name("dev1")
        .job_id("fw")
        .status(DeviceStatus::Succeeded)
        .expected_version(2)
        .include_job_execution_state(true)
        .send()
        .await
        .unwrap();
    let state = done.execution_state().expect("asked for the state");
    assert_eq!(state.status(), Some(&DeviceStatus::Succeeded));
    assert_eq!(state.version_number(), 3);

    let after = device
        .describe_job_execution()
        .thing_name("dev1")
        .job_id("fw")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            after.as_service_error(),
            Some(DescribeJobExecutionError::TerminalStateException(_))
        ),
        "{after:?}"
    );
    let job = iot.describe_job().job_id("fw").send().await.unwrap();
    let job = job.job().unwrap();
    assert_eq!(job.status(), Some(&JobStatus::Completed));
    assert_eq!(
        job.job_process_details()
            .and_then(|d| d.number_of_succeeded_things()),
        Some(1)
    );
}
