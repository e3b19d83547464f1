"""Conformance of job templates with clients nobody here wrote: boto3 and the AWS CLI create,
describe, list and delete the account's templates, read the AWS-managed ones, and create
jobs from both; botocore must parse every response and map every error to its class."""

import datetime
import json

import pytest

from conftest import ACCOUNT, REGION, aws_cli_env, aws_cli_runner, job_arn, require, thing_arn
from test_awscli_boto3 import aws_cli

boto3 = require("boto3")


def template_arn(tid: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:jobtemplate/{tid}"


def managed_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}::jobtemplate/{name}:1.0"


def test_boto3_custom_templates(iot):
    full = dict(
        description="OTA for bulbs",
        document=json.dumps({"firmware": "4.2.0"}),
        presignedUrlConfig={"roleArn": "arn:aws:iam::123456789012:role/JobsS3", "expiresInSec": 600},
        jobExecutionsRolloutConfig={"maximumPerMinute": 50},
        abortConfig={"criteriaList": [{"failureType": "FAILED", "action": "CANCEL",
                                       "thresholdPercentage": 10, "minNumberOfExecutedThings": 5}]},
        timeoutConfig={"inProgressTimeoutInMinutes": 30},
        jobExecutionsRetryConfig={"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 1}]},
        maintenanceWindows=[{"startTime": "cron(0 22 ? * SAT *)", "durationInMinutes": 120}],
        destinationPackageVersions=["arn:aws:iot:us-east-1:123456789012:package/p/version/1"],
    )
    out = iot.create_job_template(jobTemplateId="ota", tags=[{"Key": "team", "Value": "lighting"}], **full)
    assert (out["jobTemplateArn"], out["jobTemplateId"]) == (template_arn("ota"), "ota")
    d = iot.describe_job_template(jobTemplateId="ota")
    for key, value in full.items():
        assert d[key] == value, key
    assert isinstance(d["createdAt"], datetime.datetime)
    assert iot.list_tags_for_resource(resourceArn=template_arn("ota"))["tags"] == [{"Key": "team", "Value": "lighting"}]

    with pytest.raises(iot.exceptions.ConflictException) as err:
        iot.create_job_template(jobTemplateId="ota", **full)
    assert err.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_job_template(jobTemplateId="ghost")
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.create_job_template(jobTemplateId="x", description="no document")

    iot.create_job_template(jobTemplateId="t2", description="second", document="{}")
    pages = iot.get_paginator("list_job_templates").paginate(PaginationConfig={"PageSize": 1})
    listed = [t["jobTemplateId"] for page in pages for t in page["jobTemplates"]]
    assert listed == ["ota", "t2"]

    iot.create_thing(thingName="dev1")
    out = iot.create_job(jobId="from-t", targets=[thing_arn("dev1")], jobTemplateArn=template_arn("ota"))
    assert out["description"] == "OTA for bulbs"
    job = iot.describe_job(jobId="from-t")["job"]
    assert job["jobTemplateArn"] == template_arn("ota")
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 30}
    assert iot.get_job_document(jobId="from-t")["document"] == json.dumps({"firmware": "4.2.0"})

    iot.delete_job_template(jobTemplateId="t2")
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.delete_job_template(jobTemplateId="t2")
    assert [t["jobTemplateId"] for t in iot.list_job_templates()["jobTemplates"]] == ["ota"]


def test_boto3_managed_templates(iot):
    names = [t["templateName"] for t in iot.list_managed_job_templates()["managedJobTemplates"]]
    for name in ("AWS-Reboot", "AWS-Run-Command", "AWS-Download-File"):
        assert name in names
    d = iot.describe_managed_job_template(templateName="AWS-Run-Command")
    assert d["templateArn"] == managed_arn("AWS-Run-Command")
    assert d["environments"] == ["LINUX"]
    params = {p["key"]: p for p in d["documentParameters"]}
    assert params["command"]["optional"] is False
    assert params["runAsUser"]["optional"] is True
    assert "${aws:iot:parameter:command}" in d["document"]
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_managed_job_template(templateName="AWS-Nope")

    iot.create_thing(thingName="dev1")
    out = iot.create_job(jobId="run", targets=[thing_arn("dev1")], jobTemplateArn=managed_arn("AWS-Run-Command"),
                         documentParameters={"command": "systemctl,restart,bulbd", "runAsUser": "root"})
    assert out["jobArn"] == job_arn("run")
    doc = json.loads(iot.get_job_document(jobId="run")["document"])
    assert doc["steps"][0]["action"]["input"]["command"] == "systemctl,restart,bulbd"
    assert doc["steps"][0]["action"]["runAsUser"] == "root"
    raw = iot.get_job_document(jobId="run", beforeSubstitution=True)["document"]
    assert "${aws:iot:parameter:command}" in raw
    job = iot.describe_job(jobId="run")["job"]
    assert job["documentParameters"] == {"command": "systemctl,restart,bulbd", "runAsUser": "root"}
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.create_job(jobId="run2", targets=[thing_arn("dev1")], jobTemplateArn=managed_arn("AWS-Run-Command"))


def test_aws_cli_templates(emulator):
    exe = aws_cli()
    env = aws_cli_env(AWS_ENDPOINT_URL_IOT=emulator.url)

    aws = aws_cli_runner(exe, env, "iot")

    out = aws("create-job-template", "--job-template-id", "cli-t", "--description", "from the CLI",
              "--document", '{"op":"x"}', "--timeout-config", "inProgressTimeoutInMinutes=15")
    assert out["jobTemplateArn"] == template_arn("cli-t")
    assert aws("describe-job-template", "--job-template-id", "cli-t")["timeoutConfig"] == {"inProgressTimeoutInMinutes": 15}
    p = aws("create-job-template", "--job-template-id", "cli-t", "--description", "again", "--document", "{}", ok=False)
    assert p.returncode != 0 and "ConflictException" in p.stderr
    assert [t["jobTemplateId"] for t in aws("list-job-templates")["jobTemplates"]] == ["cli-t"]

    managed = aws("list-managed-job-templates")["managedJobTemplates"]
    assert "AWS-Reboot" in [t["templateName"] for t in managed]
    d = aws("describe-managed-job-template", "--template-name", "AWS-Download-File")
    assert [p["key"] for p in d["documentParameters"]][:2] == ["downloadUrl", "filePath"]

    aws("create-thing", "--thing-name", "thingOne")
    out = aws("create-job", "--job-id", "new-managed-template-job", "--targets", thing_arn("thingOne"),
              "--job-template-arn", managed_arn("AWS-Download-File"),
              "--document-parameters", "downloadUrl=https://example.com/index.html,filePath=path/to/file")
    assert out["description"] == "A managed job template for downloading a file."
    doc = json.loads(aws("get-job-document", "--job-id", "new-managed-template-job")["document"])
    assert doc["steps"][0]["action"]["input"]["args"] == ["https://example.com/index.html", "path/to/file"]

    aws("delete-job-template", "--job-template-id", "cli-t")
    p = aws("describe-job-template", "--job-template-id", "cli-t", ok=False)
    assert p.returncode != 0 and "ResourceNotFoundException" in p.stderr
