"""Differential test: the same scripted sequence (create, describe, get-document, cancel,
list, delete) against moto_server and against the emulator, compared after normalising
the moto bugs documented in the IoT Jobs reference (§3). Anything left over is a real
disagreement between the two implementations."""

import copy
import datetime

import pytest

from conftest import Emulator, Moto, iot_client, require, thing_arn

require("boto3")
require("moto")

TS = "<timestamp>"


def scrub_timestamps(v):
    """Timestamps differ by run; only their type is compared."""
    if isinstance(v, dict):
        return {k: scrub_timestamps(x) for k, x in v.items()}
    if isinstance(v, list):
        return [scrub_timestamps(x) for x in v]
    if isinstance(v, datetime.datetime):
        return TS
    return v


def normalise_job(job, moto):
    job = dict(job)
    if moto:
        # moto reports QUEUED (not a JobStatus value) where AWS says IN_PROGRESS.
        if job.get("status") == "QUEUED":
            job["status"] = "IN_PROGRESS"
        # moto omits targetSelection when the caller relied on the SNAPSHOT default.
        job.setdefault("targetSelection", "SNAPSHOT")
        # In DescribeJob, AWS (and the emulator) answer {} for these when they were never set;
        # moto omits them. (ListJobs summaries carry none of them.)
        if "targets" in job:
            for key in ("presignedUrlConfig", "jobExecutionsRolloutConfig", "timeoutConfig"):
                job.setdefault(key, {})
    # Members moto never returns.
    job.pop("isConcurrent", None)
    # Absent and false mean the same for forceCanceled (moto always sends it).
    if job.get("forceCanceled") is False:
        del job["forceCanceled"]
    details = dict(job.get("jobProcessDetails") or {})
    if details:
        # moto lists every target as still processing; the emulator rolls out instantly.
        details.pop("processingTargets", None)
        # moto has no numberOfTimedOutThings.
        details.pop("numberOfTimedOutThings", None)
        if moto and job.get("status") == "CANCELED":
            # moto does not cancel the job's QUEUED executions.
            details["numberOfCanceledThings"] = details.get("numberOfCanceledThings", 0) + details.get("numberOfQueuedThings", 0)
            details["numberOfQueuedThings"] = 0
        job["jobProcessDetails"] = details
    return job


def normalise_execution(summary, moto, job_canceled):
    s = dict(summary)
    inner = dict(s["jobExecutionSummary"])
    # moto sets startedAt on QUEUED executions and a constant executionNumber of 123.
    if inner.get("status") in ("QUEUED", "CANCELED"):
        inner.pop("startedAt", None)
    inner["executionNumber"] = "<n>"
    inner.pop("retryAttempt", None)
    if moto and job_canceled and inner.get("status") == "QUEUED":
        inner["status"] = "CANCELED"
    s["jobExecutionSummary"] = inner
    return s


def run_script(url, moto):
    iot = iot_client(url)
    out = []

    def step(name, fn):
        try:
            r = fn()
            r.pop("ResponseMetadata", None)
            out.append((name, scrub_timestamps(r)))
        except iot.exceptions.ClientError as e:
            out.append((name, {"error": e.response["Error"]["Code"],
                               "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}))

    step("create-thing", lambda: {k: v for k, v in iot.create_thing(thingName="dev1").items() if k != "thingId"})
    step("create-job", lambda: iot.create_job(
        jobId="diff", targets=[thing_arn("dev1")], document='{"op":"reboot"}', description="differential",
        timeoutConfig={"inProgressTimeoutInMinutes": 10},
        presignedUrlConfig={"roleArn": "arn:aws:iam::123456789012:role/r", "expiresInSec": 900},
        abortConfig={"criteriaList": [{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 50, "minNumberOfExecutedThings": 1}]},
        jobExecutionsRetryConfig={"criteriaList": [{"failureType": "FAILED", "numberOfRetries": 1}]},
    ))
    step("describe", lambda: iot.describe_job(jobId="diff"))
    step("get-document", lambda: iot.get_job_document(jobId="diff"))
    step("describe-missing", lambda: iot.describe_job(jobId="missing"))
    step("cancel", lambda: iot.cancel_job(jobId="diff", reasonCode="ROLLBACK", comment="bad build"))
    step("describe-canceled", lambda: iot.describe_job(jobId="diff"))
    step("executions", lambda: iot.list_job_executions_for_job(jobId="diff"))
    step("list", lambda: iot.list_jobs())
    step("delete", lambda: iot.delete_job(jobId="diff"))
    step("describe-deleted", lambda: iot.describe_job(jobId="diff"))

    normalised = []
    canceled = False
    for name, r in out:
        r = copy.deepcopy(r)
        if "job" in r:
            r["job"] = normalise_job(r["job"], moto)
            canceled = r["job"].get("status") == "CANCELED"
        if "jobs" in r:
            r["jobs"] = [normalise_job(j, moto) for j in r["jobs"]]
            # moto's JobSummary has no targetSelection at all; the emulator's value is
            # checked by the describe steps.
            for j in r["jobs"]:
                j.pop("targetSelection", None)
        if "executionSummaries" in r:
            r["executionSummaries"] = [normalise_execution(e, moto, canceled) for e in r["executionSummaries"]]
        normalised.append((name, r))
    return normalised


@pytest.fixture(scope="module")
def moto_server():
    m = Moto()
    yield m
    m.stop()


def test_same_sequence_same_answers(moto_server):
    # Deletion is immediate in moto; make the emulator match so both end the script the
    # same way (the DELETION_IN_PROGRESS phase is covered by the emulator's own tests).
    emu = Emulator("--deletion-delay-ms", "0")
    try:
        expected = run_script(moto_server.url, moto=True)
        actual = run_script(emu.url, moto=False)
    finally:
        emu.stop()
    assert [n for n, _ in expected] == [n for n, _ in actual]
    for (name, m), (_, e) in zip(expected, actual):
        assert e == m, f"step {name}: emulator {e!r} != moto {m!r}"


def test_errors_moto_gets_right_match(moto_server):
    """DescribeJob on a missing job is the one error moto answers as modeled."""
    emu = Emulator()
    try:
        for url in (moto_server.url, emu.url):
            iot = iot_client(url)
            with pytest.raises(iot.exceptions.ResourceNotFoundException) as e:
                iot.describe_job(jobId="nope-at-all")
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    finally:
        emu.stop()
