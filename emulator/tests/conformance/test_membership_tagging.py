"""Issue 24 through clients nobody here wrote: boto3 and the AWS CLI remove things from
groups, move and delete them (REMOVED executions), read the counts per attempt and hit
UpdateJob's retry rules."""

import json
import urllib.request

import pytest

from conftest import (
    REGION,
    Emulator,
    group_arn,
    require,
)

boto3 = require("boto3")
botocore = require("botocore")


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
