"""Conformance with clients nobody here wrote: boto3/botocore and the AWS CLI drive every
emulated operation and error case. botocore must parse every response into the model's
shapes and map every error code to the modeled exception class."""

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    ACCOUNT,
    REGION,
    Emulator,
    aws_cli_env,
    aws_cli_runner,
    group_arn,
    iot_client,
    job_arn,
    require,
    thing_arn,
)

boto3 = require("boto3")
botocore = require("botocore")


def make_fleet(iot):
    iot.create_thing(thingName="dev1", attributePayload={"attributes": {"model": "x1"}})
    iot.create_thing(thingName="dev2")
    iot.create_thing_group(thingGroupName="fleet", thingGroupProperties={"thingGroupDescription": "all"})
    iot.create_thing_group(thingGroupName="sub", parentGroupName="fleet")
    iot.add_thing_to_thing_group(thingGroupName="sub", thingName="dev2")


def test_things_and_groups(iot):
    out = iot.create_thing(thingName="dev1", attributePayload={"attributes": {"model": "x1"}})
    assert out["thingArn"] == thing_arn("dev1")
    assert out["thingId"]
    d = iot.describe_thing(thingName="dev1")
    assert d["attributes"] == {"model": "x1"}
    assert d["version"] == 1
    g = iot.create_thing_group(thingGroupName="fleet", tags=[{"Key": "k", "Value": "v"}])
    assert g["thingGroupArn"] == group_arn("fleet")
    iot.create_thing_group(thingGroupName="sub", parentGroupName="fleet")
    iot.add_thing_to_thing_group(thingGroupArn=group_arn("sub"), thingArn=thing_arn("dev1"))
    dg = iot.describe_thing_group(thingGroupName="sub")
    assert dg["thingGroupMetadata"]["parentGroupName"] == "fleet"
    assert isinstance(dg["thingGroupMetadata"]["creationDate"], datetime.datetime)
    assert dg["thingGroupMetadata"]["rootToParentThingGroups"] == [
        {"groupName": "fleet", "groupArn": group_arn("fleet")}
    ]


def test_job_lifecycle(iot, emulator):
    make_fleet(iot)
    full = dict(
        jobId="full",
        targets=[thing_arn("dev1"), group_arn("fleet")],
        document=json.dumps({"op": "update", "url": "${aws:iot:s3-presigned-url-v2:https://s3.us-east-1.amazonaws.com/b/k}"}),
        description="everything",
        presignedUrlConfig={"roleArn": "arn:aws:iam::123456789012:role/r", "expiresInSec": 300},
        targetSelection="SNAPSHOT",
        jobExecutionsRolloutConfig={
            "maximumPerMinute": 100,
            "exponentialRate": {
                "baseRatePerMinute": 10,
                "incrementFactor": 2.5,
                "rateIncreaseCriteria": {"numberOfNotifiedThings": 5},
            },
        },
        abortConfig={"criteriaList": [{"failureType": "ALL", "action": "CANCEL", "thresholdPercentage": 10.25, "minNumberOfExecutedThings": 4}]},
        timeoutConfig={"inProgressTimeoutInMinutes": 60},
        tags=[{"Key": "team", "Value": "fleet"}],
        jobExecutionsRetryConfig={"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 2}]},
        destinationPackageVersions=["arn:aws:iot:us-east-1:123456789012:package/p/version/1"],
    )
    out = iot.create_job(**full)
    assert out["jobArn"] == job_arn("full") and out["jobId"] == "full"
    assert out["description"] == "everything"

    job = iot.describe_job(jobId="full")["job"]
    assert job["status"] == "IN_PROGRESS"
    assert job["targetSelection"] == "SNAPSHOT"
    assert isinstance(job["createdAt"], datetime.datetime)
    assert isinstance(job["lastUpdatedAt"], datetime.datetime)
    assert job["isConcurrent"] is False
    for key in ("targets", "description", "presignedUrlConfig", "jobExecutionsRolloutConfig", "abortConfig",
                "timeoutConfig", "jobExecutionsRetryConfig", "destinationPackageVersions"):
        assert job[key] == full[key], key
    assert job["jobProcessDetails"]["numberOfQueuedThings"] == 2

    assert iot.get_job_document(jobId="full")["document"] == full["document"]

    iot.update_job(jobId="full", description="changed", timeoutConfig={"inProgressTimeoutInMinutes": 5})
    job = iot.describe_job(jobId="full")["job"]
    assert job["description"] == "changed"
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 5}

    ex = iot.list_job_executions_for_job(jobId="full")["executionSummaries"]
    assert sorted(e["thingArn"] for e in ex) == [thing_arn("dev1"), thing_arn("dev2")]
    assert ex[0]["jobExecutionSummary"]["status"] == "QUEUED"
    assert isinstance(ex[0]["jobExecutionSummary"]["queuedAt"], datetime.datetime)
    per_thing = iot.list_job_executions_for_thing(thingName="dev2")["executionSummaries"]
    assert per_thing[0]["jobId"] == "full"
    one = iot.describe_job_execution(jobId="full", thingName="dev2")["execution"]
    assert one["thingArn"] == thing_arn("dev2")

    # Tags.
    assert iot.list_tags_for_resource(resourceArn=job_arn("full"))["tags"] == [{"Key": "team", "Value": "fleet"}]
    iot.tag_resource(resourceArn=job_arn("full"), tags=[{"Key": "env", "Value": "prod"}])
    iot.untag_resource(resourceArn=job_arn("full"), tagKeys=["team"])
    assert iot.list_tags_for_resource(resourceArn=job_arn("full"))["tags"] == [{"Key": "env", "Value": "prod"}]

    # Continuous jobs gain targets.
    iot.create_job(jobId="cont", targets=[thing_arn("dev1")], document="{}", targetSelection="CONTINUOUS")
    out = iot.associate_targets_with_job(jobId="cont", targets=[thing_arn("dev2")], comment="more")
    assert out["jobId"] == "cont"
    assert len(iot.describe_job(jobId="cont")["job"]["targets"]) == 2

    # Paginator: every job exactly once, in creation order.
    for i in range(3):
        iot.create_job(jobId=f"p{i}", targets=[thing_arn("dev1")], document="{}")
    pages = iot.get_paginator("list_jobs").paginate(PaginationConfig={"PageSize": 2})
    ids = [j["jobId"] for page in pages for j in page["jobs"]]
    assert ids == ["full", "cont", "p0", "p1", "p2"]
    summary = iot.list_jobs(maxResults=1)["jobs"][0]
    assert summary["thingGroupId"]
    assert isinstance(summary["createdAt"], datetime.datetime)
    assert iot.list_jobs(status="CANCELED")["jobs"] == []

    # Finish through the control API: COMPLETED with completedAt.
    emulator.control("POST", "jobs/p1/complete", b'{"outcome":"FAILED"}')
    job = iot.describe_job(jobId="p1")["job"]
    assert job["status"] == "COMPLETED"
    assert isinstance(job["completedAt"], datetime.datetime)
    assert job["jobProcessDetails"]["numberOfFailedThings"] == 1

    out = iot.cancel_job(jobId="p0", reasonCode="BAD_BUILD", comment="stop", force=True)
    assert out["jobArn"] == job_arn("p0")
    job = iot.describe_job(jobId="p0")["job"]
    assert (job["status"], job["forceCanceled"], job["reasonCode"]) == ("CANCELED", True, "BAD_BUILD")

    iot.delete_job(jobId="p0")
    assert iot.describe_job(jobId="p0")["job"]["status"] == "DELETION_IN_PROGRESS"
    iot.delete_job(jobId="p2", force=True)
    emulator.control("POST", "clock/advance", b'{"seconds": 61}')
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_job(jobId="p0")
    iot.create_job(jobId="p0", targets=[thing_arn("dev1")], document="{}")


def test_errors_map_to_modeled_exceptions(iot):
    iot.create_thing(thingName="dev1")
    iot.create_job(jobId="j", targets=[thing_arn("dev1")], document="{}")

    with pytest.raises(iot.exceptions.ResourceAlreadyExistsException) as e:
        iot.create_job(jobId="j", targets=[thing_arn("dev1")], document="{}")
    err = e.value.response
    assert err["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert err["resourceId"] == "j" and err["resourceArn"] == job_arn("j")
    assert err["Error"]["Message"]

    for call in (
        lambda: iot.describe_job(jobId="nope"),
        lambda: iot.get_job_document(jobId="nope"),
        lambda: iot.update_job(jobId="nope", description="x"),
        lambda: iot.cancel_job(jobId="nope"),
        lambda: iot.delete_job(jobId="nope"),
        lambda: iot.associate_targets_with_job(jobId="nope", targets=[thing_arn("dev1")]),
        lambda: iot.list_job_executions_for_job(jobId="nope"),
        lambda: iot.list_tags_for_resource(resourceArn=job_arn("nope")),
        lambda: iot.describe_thing(thingName="nope"),
        lambda: iot.describe_thing_group(thingGroupName="nope"),
    ):
        with pytest.raises(iot.exceptions.ResourceNotFoundException) as e:
            call()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    with pytest.raises(iot.exceptions.InvalidStateTransitionException) as e:
        iot.delete_job(jobId="j")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    # Values botocore does not check itself reach the service and are rejected there.
    for kwargs in (
        dict(jobId="bad!id", targets=[thing_arn("dev1")], document="{}"),
        dict(jobId="x", targets=[thing_arn("dev1")], document="{}", description="a\nb"),
        dict(jobId="x", targets=[thing_arn("dev1")], document="{}", abortConfig={"criteriaList": [
            {"failureType": "ALL", "action": "CANCEL", "thresholdPercentage": 150, "minNumberOfExecutedThings": 1}]}),
        dict(jobId="x", targets=[thing_arn("dev1")], document="{}", targetSelection="BOGUS"),
        dict(jobId="x", targets=["not-an-arn"], document="{}"),
        dict(jobId="x", targets=[thing_arn("dev1")]),
    ):
        with pytest.raises(iot.exceptions.InvalidRequestException) as e:
            iot.create_job(**kwargs)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # Ten deletions in flight, then LimitExceededException (410).
    iot.delete_job(jobId="j", force=True)
    with pytest.raises(iot.exceptions.InvalidStateTransitionException):
        iot.cancel_job(jobId="j")
    for i in range(10):
        iot.create_job(jobId=f"d{i}", targets=[thing_arn("dev1")], document="{}")
    for i in range(9):
        iot.delete_job(jobId=f"d{i}", force=True)
    with pytest.raises(iot.exceptions.LimitExceededException) as e:
        iot.delete_job(jobId="d9", force=True)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_unvalidated_client_errors():
    """With botocore's own checks off, min/required violations reach the emulator."""
    emu = Emulator()
    try:
        iot = iot_client(emu.url, validate=False)
        iot.create_thing(thingName="dev1")
        with pytest.raises(iot.exceptions.InvalidRequestException) as e:
            iot.create_job(jobId="x", targets=[], document="{}")
        assert "targets" in e.value.response["Error"]["Message"]
        with pytest.raises(iot.exceptions.InvalidRequestException):
            iot.list_jobs(maxResults=0)
        with pytest.raises(iot.exceptions.InvalidRequestException):
            iot.tag_resource(resourceArn=job_arn("x"), tags=[{"Key": ""}])
    finally:
        emu.stop()


def test_injected_errors_map_to_modeled_exceptions():
    emu = Emulator(
        "--fail", "ListJobs=ThrottlingException",
        "--fail", "DescribeJob=ServiceUnavailableException",
        "--fail", "TagResource=InternalFailureException",
        "--fail", "CreateJob=LimitExceededException",
    )
    try:
        iot = iot_client(emu.url)
        cases = [
            (iot.exceptions.ThrottlingException, 400, lambda: iot.list_jobs()),
            (iot.exceptions.ServiceUnavailableException, 503, lambda: iot.describe_job(jobId="x")),
            (iot.exceptions.InternalFailureException, 500,
             lambda: iot.tag_resource(resourceArn=job_arn("x"), tags=[{"Key": "k"}])),
            (iot.exceptions.LimitExceededException, 410,
             lambda: iot.create_job(jobId="x", targets=[thing_arn("d")], document="{}")),
        ]
        for exc, status, call in cases:
            with pytest.raises(exc) as e:
                call()
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    finally:
        emu.stop()


def test_throttling_under_aws_limits_is_retried_by_botocore():
    """botocore classifies the emulator's 400 ThrottlingException as retryable."""
    from botocore.config import Config

    emu = Emulator("--tps", "DescribeThing=1")
    try:
        iot = boto3.client(
            "iot", endpoint_url=emu.url, region_name=REGION,
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        iot.create_thing(thingName="t")
        for _ in range(3):
            iot.describe_thing(thingName="t")
        stats = json.loads(emu.control("GET", "stats"))
        assert stats["operations"]["DescribeThing"]["ThrottlingException"] >= 1
    finally:
        emu.stop()


def test_region_comes_from_the_signature(emulator):
    eu = iot_client(emulator.url, region="eu-west-1")
    out = eu.create_thing(thingName="d")
    assert out["thingArn"] == thing_arn("d", "eu-west-1")
    us = iot_client(emulator.url)
    with pytest.raises(us.exceptions.ResourceNotFoundException):
        us.describe_thing(thingName="d")


def aws_cli():
    exe = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if exe is None:
        if os.environ.get("CI") == "true":
            raise RuntimeError("the aws CLI is not installed (pip install awscli)")
        pytest.skip("aws CLI not installed")
    return exe


def test_aws_cli(emulator):
    exe = aws_cli()
    env = aws_cli_env(AWS_ENDPOINT_URL_IOT=emulator.url)

    aws = aws_cli_runner(exe, env, "iot")

    aws("create-thing", "--thing-name", "dev1")
    out = aws("create-job", "--job-id", "cli", "--targets", thing_arn("dev1"), "--document", '{"op":"x"}',
              "--timeout-config", "inProgressTimeoutInMinutes=10")
    assert out["jobArn"] == job_arn("cli")
    job = aws("describe-job", "--job-id", "cli")["job"]
    assert job["status"] == "IN_PROGRESS"
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 10}
    assert aws("get-job-document", "--job-id", "cli")["document"] == '{"op":"x"}'
    assert [j["jobId"] for j in aws("list-jobs")["jobs"]] == ["cli"]
    aws("cancel-job", "--job-id", "cli", "--reason-code", "STOP")
    p = aws("describe-job", "--job-id", "nope", ok=False)
    assert p.returncode != 0 and "ResourceNotFoundException" in p.stderr
    p = aws("create-job", "--job-id", "cli", "--targets", thing_arn("dev1"), "--document", "{}", ok=False)
    assert p.returncode != 0 and "ResourceAlreadyExistsException" in p.stderr
    # --endpoint-url works as well as the environment variable.
    env.pop("AWS_ENDPOINT_URL_IOT")
    p = subprocess.run([exe, "iot", "list-jobs", "--endpoint-url", emulator.url, "--output", "json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["jobs"][0]["status"] == "CANCELED"
