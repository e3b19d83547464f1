"""Conformance of the device data plane with clients nobody here wrote: the AWS CLI
(`aws iot-jobs-data ...`) and boto3's `iot-jobs-data` client drive a manual device through a
whole job on the same URL as `aws iot`, and the control plane's per-execution calls and
the simulated fleet are exercised through boto3."""

import json
import subprocess

import pytest

from conftest import REGION, Emulator, aws_cli_env, group_arn, iot_client, require, thing_arn
from test_awscli_boto3 import aws_cli

boto3 = require("boto3")
botocore = require("botocore")
from botocore.config import Config  # noqa: E402


def jobs_data_client(url: str):
    return boto3.client(
        "iot-jobs-data",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_boto3_device_runs_a_whole_job(iot, emulator):
    data = jobs_data_client(emulator.url)
    iot.create_thing(thingName="dev1")
    iot.create_job(jobId="fw", targets=[thing_arn("dev1")], document=json.dumps({"op": "update"}))

    pending = data.get_pending_job_executions(thingName="dev1")
    assert pending["inProgressJobs"] == []
    assert [q["jobId"] for q in pending["queuedJobs"]] == ["fw"]
    assert pending["queuedJobs"][0]["versionNumber"] == 1

    started = data.start_next_pending_job_execution(
        thingName="dev1", statusDetails={"step": "download"}, stepTimeoutInMinutes=30
    )["execution"]
    assert started["status"] == "IN_PROGRESS"
    assert started["jobDocument"] == json.dumps({"op": "update"})
    assert started["versionNumber"] == 2
    assert started["statusDetails"] == {"step": "download"}

    progress = data.update_job_execution(
        jobId="fw", thingName="dev1", status="IN_PROGRESS", expectedVersion=2,
        statusDetails={"step": "install"}, includeJobExecutionState=True,
    )
    assert progress["executionState"]["versionNumber"] == 3

    # A stale expectedVersion: the model's 409, carrying the current state.
    with pytest.raises(data.exceptions.InvalidStateTransitionException) as err:
        data.update_job_execution(jobId="fw", thingName="dev1", status="SUCCEEDED", expectedVersion=2)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    described = data.describe_job_execution(jobId="fw", thingName="dev1")["execution"]
    assert described["statusDetails"] == {"step": "install"}
    assert "jobDocument" in described
    without_doc = data.describe_job_execution(jobId="fw", thingName="dev1", includeJobDocument=False)
    assert "jobDocument" not in without_doc["execution"]

    done = data.update_job_execution(
        jobId="fw", thingName="dev1", status="SUCCEEDED", expectedVersion=3, includeJobDocument=True,
        includeJobExecutionState=True,
    )
    assert done["executionState"]["status"] == "SUCCEEDED"
    assert done["jobDocument"] == json.dumps({"op": "update"})

    # After the end, an update fails.
    with pytest.raises(data.exceptions.InvalidStateTransitionException):
        data.update_job_execution(jobId="fw", thingName="dev1", status="IN_PROGRESS")
    with pytest.raises(data.exceptions.TerminalStateException):
        data.describe_job_execution(jobId="fw", thingName="dev1")
    with pytest.raises(data.exceptions.ResourceNotFoundException):
        data.get_pending_job_executions(thingName="ghost")
    assert "execution" not in data.start_next_pending_job_execution(thingName="dev1")

    job = iot.describe_job(jobId="fw")["job"]
    assert job["status"] == "COMPLETED"
    counts = job["jobProcessDetails"]
    assert (counts["numberOfSucceededThings"], counts["numberOfQueuedThings"], counts["numberOfInProgressThings"]) == (1, 0, 0)
    control = iot.describe_job_execution(jobId="fw", thingName="dev1")["execution"]
    assert control["statusDetails"]["detailsMap"] == {"step": "install"}
    assert control["versionNumber"] == 4


def test_aws_cli_device_runs_a_whole_job(emulator):
    exe = aws_cli()
    env = aws_cli_env()

    def aws(service, *args, ok=True):
        p = subprocess.run([exe, service, *args, "--endpoint-url", emulator.url, "--output", "json"],
                           env=env, capture_output=True, text=True, timeout=60)
        if ok:
            assert p.returncode == 0, p.stderr
            return json.loads(p.stdout) if p.stdout.strip() else None
        return p

    for name in ("dev1", "dev2"):
        aws("iot", "create-thing", "--thing-name", name)
    aws("iot", "create-job", "--job-id", "cli", "--targets", thing_arn("dev1"), thing_arn("dev2"),
        "--document", '{"op":"reboot"}')

    pending = aws("iot-jobs-data", "get-pending-job-executions", "--thing-name", "dev1")
    assert [q["jobId"] for q in pending["queuedJobs"]] == ["cli"]
    started = aws("iot-jobs-data", "start-next-pending-job-execution", "--thing-name", "dev1",
                  "--status-details", "phase=reboot")["execution"]
    assert (started["status"], started["versionNumber"]) == ("IN_PROGRESS", 2)
    assert started["jobDocument"] == '{"op":"reboot"}'
    assert aws("iot-jobs-data", "get-pending-job-executions", "--thing-name", "dev1")["inProgressJobs"][0]["jobId"] == "cli"

    p = aws("iot-jobs-data", "update-job-execution", "--job-id", "cli", "--thing-name", "dev1",
            "--status", "SUCCEEDED", "--expected-version", "1", ok=False)
    assert p.returncode != 0 and "InvalidStateTransitionException" in p.stderr and "VersionMismatch" in p.stderr

    out = aws("iot-jobs-data", "update-job-execution", "--job-id", "cli", "--thing-name", "dev1",
              "--status", "SUCCEEDED", "--expected-version", "2", "--include-job-execution-state")
    assert out["executionState"]["status"] == "SUCCEEDED"
    p = aws("iot-jobs-data", "update-job-execution", "--job-id", "cli", "--thing-name", "dev1",
            "--status", "IN_PROGRESS", ok=False)
    assert p.returncode != 0 and "InvalidStateTransitionException" in p.stderr

    # dev2 rejects without starting; the SNAPSHOT job is then complete.
    aws("iot-jobs-data", "update-job-execution", "--job-id", "cli", "--thing-name", "dev2", "--status", "REJECTED")
    job = aws("iot", "describe-job", "--job-id", "cli")["job"]
    assert job["status"] == "COMPLETED"
    assert job["jobProcessDetails"]["numberOfSucceededThings"] == 1
    assert job["jobProcessDetails"]["numberOfRejectedThings"] == 1
    # The control plane still answers its own ListJobExecutionsForThing on the shared path.
    listed = aws("iot", "list-job-executions-for-thing", "--thing-name", "dev2")
    assert listed["executionSummaries"][0]["jobExecutionSummary"]["status"] == "REJECTED"


def test_cancel_and_delete_job_execution(iot, emulator):
    data = jobs_data_client(emulator.url)
    for name in ("a", "b"):
        iot.create_thing(thingName=name)
    iot.create_job(jobId="c", targets=[thing_arn("a"), thing_arn("b")], document="{}")
    data.start_next_pending_job_execution(thingName="b")
    with pytest.raises(iot.exceptions.VersionConflictException):
        iot.cancel_job_execution(jobId="c", thingName="a", expectedVersion=5)
    iot.cancel_job_execution(jobId="c", thingName="a", statusDetails={"why": "stop"})
    with pytest.raises(iot.exceptions.InvalidStateTransitionException):
        iot.cancel_job_execution(jobId="c", thingName="b")
    iot.cancel_job_execution(jobId="c", thingName="b", force=True)
    execs = iot.list_job_executions_for_job(jobId="c", status="CANCELED")["executionSummaries"]
    assert sorted(e["thingArn"] for e in execs) == [thing_arn("a"), thing_arn("b")]
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.delete_job_execution(jobId="c", thingName="a", executionNumber=3)
    iot.delete_job_execution(jobId="c", thingName="a", executionNumber=1)
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_job_execution(jobId="c", thingName="a")
    assert iot.describe_job(jobId="c")["job"]["jobProcessDetails"]["numberOfCanceledThings"] == 1


def test_simulated_fleet_rolls_out_and_aborts(tmp_path):
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "seed: 7\n"
        "timeScale: 0\n"
        "groups:\n"
        "  - {name: Bulbs}\n"
        "  - {name: BulbsCanary, parent: Bulbs, size: 20}\n"
        "  - {name: BulbsRest, parent: Bulbs, size: 180}\n"
        "devices:\n"
        "  pickupSeconds: {min: 1, max: 30}\n"
        "  durationSeconds: {min: 20, max: 120}\n"
        "  outcomes: {SUCCEEDED: 0.98, FAILED: 0.02}\n"
        "rules:\n"
        "  - match: {document: {firmware: {version: '4.2.1'}}}\n"
        "    outcomes: {FAILED: 0.6, SUCCEEDED: 0.4}\n"
    )
    emu = Emulator("--fleet", str(fleet))
    try:
        iot = iot_client(emu.url)
        assert iot.describe_thing_group(thingGroupName="BulbsCanary")["thingGroupMetadata"]["parentGroupName"] == "Bulbs"
        iot.describe_thing(thingName="BulbsRest-0180")
        iot.create_job(
            jobId="bad", targets=[group_arn("Bulbs")],
            document=json.dumps({"firmware": {"version": "4.2.1"}}),
            jobExecutionsRolloutConfig={"maximumPerMinute": 50},
            abortConfig={"criteriaList": [{"failureType": "FAILED", "action": "CANCEL",
                                           "thresholdPercentage": 20, "minNumberOfExecutedThings": 20}]},
        )
        job = iot.describe_job(jobId="bad")["job"]
        assert job["isConcurrent"] is True
        assert job["jobProcessDetails"]["processingTargets"] == [group_arn("Bulbs")]
        assert job["jobProcessDetails"]["numberOfQueuedThings"] == 50
        for _ in range(200):
            emu.control("POST", "clock/advance", b'{"seconds": 10}')
            job = iot.describe_job(jobId="bad")["job"]
            if job["status"] != "IN_PROGRESS":
                break
        assert job["status"] == "CANCELED"
        assert job["reasonCode"] == "ABORT_CRITERIA_MET"
        d = job["jobProcessDetails"]
        assert d["numberOfQueuedThings"] == 0
        assert d["numberOfSucceededThings"] + d["numberOfFailedThings"] < 200
        assert d["numberOfFailedThings"] * 5 >= d["numberOfSucceededThings"] + d["numberOfFailedThings"]
    finally:
        emu.stop()


def test_bad_fleet_files_are_refused(tmp_path):
    from conftest import emulator_binary

    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("groups:\n  - {name: A, size: 5000000}\n")
    p = subprocess.run([str(emulator_binary()), "--listen", "127.0.0.1:0", "--fleet", str(fleet)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert "groups[0].size" in p.stderr
