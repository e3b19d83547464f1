"""Issue 24 through clients nobody here wrote: boto3 and the AWS CLI remove things from
groups, move and delete them (REMOVED executions), read the counts per attempt, hit
UpdateJob's retry rules, and call the Resource Groups Tagging API's GetResources on the
same port (lag and AccessDeniedException included)."""

import json
import urllib.request

import pytest

from conftest import (
    REGION,
    Emulator,
    aws_client,
    aws_cli_env,
    aws_cli_runner,
    group_arn,
    iot_client,
    job_arn,
    require,
)
from test_awscli_boto3 import aws_cli

boto3 = require("boto3")
botocore = require("botocore")


def tagging_client(url: str):
    return aws_client("resourcegroupstaggingapi", url)


def complete(emu: Emulator, job: str, outcome: str, things: list):
    emu.control("POST", f"jobs/{job}/complete", json.dumps({"outcome": outcome, "things": things}).encode())


def put_json(emu: Emulator, path: str, doc: dict):
    req = urllib.request.Request(f"{emu.url}/_emulator/{path}", data=json.dumps(doc).encode(), method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def groups_of(iot, thing: str) -> list:
    return [g["groupName"] for g in iot.list_thing_groups_for_thing(thingName=thing)["thingGroups"]]


def test_membership_calls_and_removed_executions_with_boto3(iot, emulator):
    for t in ("l1", "l2", "l3"):
        iot.create_thing(thingName=t)
    iot.create_thing_group(thingGroupName="Lamps")
    iot.create_thing_group(thingGroupName="Spare")
    for t in ("l1", "l2", "l3"):
        iot.add_thing_to_thing_group(thingGroupName="Lamps", thingName=t)
    iot.create_job(jobId="cont", targets=[group_arn("Lamps")], document="{}", targetSelection="CONTINUOUS")
    assert len(iot.list_job_executions_for_job(jobId="cont")["executionSummaries"]) == 3

    iot.remove_thing_from_thing_group(thingGroupName="Lamps", thingName="l1")
    assert iot.list_things_in_thing_group(thingGroupName="Lamps")["things"] == ["l2", "l3"]
    names = [g["groupName"] for g in iot.list_thing_groups()["thingGroups"]]
    assert names == ["Lamps", "Spare"], "no group named after the operation"
    e = iot.describe_job_execution(jobId="cont", thingName="l1")["execution"]
    assert e["status"] == "REMOVED"

    iot.update_thing_groups_for_thing(thingName="l2", thingGroupsToAdd=["Spare"], thingGroupsToRemove=["Lamps"])
    assert groups_of(iot, "l2") == ["Spare"]
    assert iot.describe_job_execution(jobId="cont", thingName="l2")["execution"]["status"] == "REMOVED"

    iot.delete_thing(thingName="l3")
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_thing(thingName="l3")
    details = iot.describe_job(jobId="cont")["job"]["jobProcessDetails"]
    assert details["numberOfRemovedThings"] == 3
    assert details["numberOfQueuedThings"] == 0

    # Re-joining gives a new execution.
    iot.add_thing_to_thing_group(thingGroupName="Lamps", thingName="l1")
    e = iot.describe_job_execution(jobId="cont", thingName="l1")["execution"]
    assert (e["status"], e["executionNumber"]) == ("QUEUED", 2)
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.remove_thing_from_thing_group(thingGroupName="Nope", thingName="l1")


def test_counts_per_attempt_and_update_job_rules(iot, emulator):
    iot.create_thing(thingName="t1")
    iot.create_job(jobId="r", targets=[f"arn:aws:iot:{REGION}:123456789012:thing/t1"], document="{}",
                   jobExecutionsRetryConfig={"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 2}]})
    for _ in range(3):
        complete(emulator, "r", "FAILED", ["t1"])
    job = iot.describe_job(jobId="r")["job"]
    assert job["jobProcessDetails"]["numberOfFailedThings"] == 3
    assert job["status"] == "COMPLETED"
    put_json(emulator, "fleet", {"timeScale": 0, "counting": "perThing"})
    assert iot.describe_job(jobId="r")["job"]["jobProcessDetails"]["numberOfFailedThings"] == 1

    iot.create_job(jobId="u", targets=[f"arn:aws:iot:{REGION}:123456789012:thing/t1"], document="{}",
                   jobExecutionsRetryConfig={"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 1}]})
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.update_job(jobId="u", jobExecutionsRetryConfig={
            "criteriaList": [{"failureType": "FAILED", "numberOfRetries": 3}]})
    with pytest.raises(iot.exceptions.InvalidRequestException, match="timeoutConfig"):
        iot.update_job(jobId="u", jobExecutionsRetryConfig={
            "criteriaList": [{"failureType": "TIMED_OUT", "numberOfRetries": 0}]})
    iot.update_job(jobId="u", jobExecutionsRetryConfig={"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 0}]})
    crit = iot.describe_job(jobId="u")["job"]["jobExecutionsRetryConfig"]["criteriaList"]
    assert crit == [{"failureType": "FAILED", "numberOfRetries": 0}]


def test_get_resources_with_boto3(iot, emulator):
    iot.create_thing(thingName="t1")
    target = [f"arn:aws:iot:{REGION}:123456789012:thing/t1"]
    for i in range(3):
        iot.create_job(jobId=f"j{i}", targets=target, document="{}",
                       tags=[{"Key": "managed-by", "Value": "jobctl"}, {"Key": "i", "Value": str(i)}])
    iot.create_job(jobId="other", targets=target, document="{}", tags=[{"Key": "managed-by", "Value": "x"}])
    iot.create_job_template(jobTemplateId="tpl", description="d", document="{}",
                            tags=[{"Key": "managed-by", "Value": "jobctl"}])
    tagging = tagging_client(emulator.url)
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": "managed-by", "Values": ["jobctl"]}], ResourceTypeFilters=["iot:job"], ResourcesPerPage=2)
    found = [m for page in pages for m in page["ResourceTagMappingList"]]
    assert [m["ResourceARN"] for m in found] == [job_arn(f"j{i}") for i in range(3)]
    assert {"Key": "i", "Value": "0"} in found[0]["Tags"]
    both = tagging.get_resources(TagFilters=[{"Key": "managed-by", "Values": ["jobctl"]}, {"Key": "i", "Values": ["1", "2"]}])
    assert [m["ResourceARN"] for m in both["ResourceTagMappingList"]] == [job_arn("j1"), job_arn("j2")]
    templates = tagging.get_resources(TagFilters=[{"Key": "managed-by"}], ResourceTypeFilters=["iot:jobtemplate"])
    assert [m["ResourceARN"] for m in templates["ResourceTagMappingList"]] == [
        f"arn:aws:iot:{REGION}:123456789012:jobtemplate/tpl"]
    everything = tagging.get_resources(TagFilters=[{"Key": "managed-by"}], ResourceTypeFilters=["iot"])
    assert len(everything["ResourceTagMappingList"]) == 5
    with pytest.raises(tagging.exceptions.InvalidParameterException):
        tagging.get_resources(ResourcesPerPage=500)
    stats = json.loads(emulator.control("GET", "stats"))
    assert stats["operations"]["tagging:GetResources"]["OK"] >= 5


def test_get_resources_lag_and_denial():
    emu = Emulator("--tagging-lag", "5s")
    try:
        put_json(emu, "fleet", {"timeScale": 0})
        iot = iot_client(emu.url)
        tagging = tagging_client(emu.url)
        iot.create_thing(thingName="t1")
        iot.create_job(jobId="fresh", targets=[f"arn:aws:iot:{REGION}:123456789012:thing/t1"], document="{}",
                       tags=[{"Key": "k", "Value": "v"}])
        assert tagging.get_resources(TagFilters=[{"Key": "k"}])["ResourceTagMappingList"] == []
        emu.control("POST", "clock/advance", b'{"seconds": 5}')
        got = tagging.get_resources(TagFilters=[{"Key": "k"}])["ResourceTagMappingList"]
        assert [m["ResourceARN"] for m in got] == [job_arn("fresh")]
        put_json(emu, "deny", {"actions": ["tag:GetResources"]})
        with pytest.raises(botocore.exceptions.ClientError) as e:
            tagging.get_resources()
        assert e.value.response["Error"]["Code"] == "AccessDeniedException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        iot.list_jobs()  # IoT is still allowed
    finally:
        emu.stop()


def test_aws_cli_get_resources_and_group_calls():
    exe = aws_cli()
    emu = Emulator("--deny", "tag:GetResources")
    try:
        env = aws_cli_env(AWS_ENDPOINT_URL=emu.url)
        iot = aws_cli_runner(exe, env, "iot")
        tag = aws_cli_runner(exe, env, "resourcegroupstaggingapi")
        iot("create-thing", "--thing-name", "t1")
        iot("create-thing-group", "--thing-group-name", "G")
        iot("add-thing-to-thing-group", "--thing-group-name", "G", "--thing-name", "t1")
        iot("create-job", "--job-id", "cli", "--targets", group_arn("G"), "--document", "{}",
            "--target-selection", "CONTINUOUS", "--tags", "Key=managed-by,Value=jobctl")
        p = tag("get-resources", ok=False)
        assert p.returncode != 0 and "AccessDeniedException" in p.stderr
        put_json(emu, "deny", {"actions": []})
        out = tag("get-resources", "--tag-filters", "Key=managed-by,Values=jobctl", "--resource-type-filters", "iot:job")
        assert [m["ResourceARN"] for m in out["ResourceTagMappingList"]] == [job_arn("cli")]
        assert out["ResourceTagMappingList"][0]["Tags"] == [{"Key": "managed-by", "Value": "jobctl"}]
        iot("remove-thing-from-thing-group", "--thing-group-name", "G", "--thing-name", "t1")
        assert iot("list-things-in-thing-group", "--thing-group-name", "G")["things"] == []
        assert [g["groupName"] for g in iot("list-thing-groups")["thingGroups"]] == ["G"]
        e = iot("describe-job-execution", "--job-id", "cli", "--thing-name", "t1")["execution"]
        assert e["status"] == "REMOVED"
        iot("delete-thing", "--thing-name", "t1")
        p = iot("describe-thing", "--thing-name", "t1", ok=False)
        assert p.returncode != 0 and "ResourceNotFoundException" in p.stderr
    finally:
        emu.stop()
