"""Issue 24 through clients nobody here wrote: boto3 reads the counts per attempt and hits
UpdateJob's retry rules."""

import json
import urllib.request

import pytest

from conftest import (
    REGION,
    Emulator,
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
