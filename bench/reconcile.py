#!/usr/bin/env python3
"""Reconcile benchmarks against jobctl-emulator with AWS's rate limits (--aws-limits, 10 TPS per
job API), each next to a baseline measured in the same run:

1. No-op plan over 1,000 manifests whose jobs exist (900 COMPLETED, 100 IN_PROGRESS), next to the
   naive plan that reads every job (`--compare-finished` describes, fetches and lists tags of all).
2. Apply of 100 new jobs, next to the status quo: a shell loop of `aws iot create-job` over the
   same jobs.

Prints wall time, API calls by operation and failed calls. Usage: python3 bench/reconcile.py
(needs release builds, made here, and the AWS CLI from .venv: scripts/venv)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import AWS, ENV, GROUP_ARN, ROOT, Emulator, calls

BIN = ROOT / "target" / "release"


def manifest(job_id, i):
    return (f"apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {job_id}\nspec:\n"
            f"  description: rollout {i}\n  targets:\n    - {GROUP_ARN}\n"
            f"  document:\n    operation: update\n    build: {i}\n  tags:\n    batch: bench\n")


def run(cmd, **kw):
    start = time.monotonic()
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, **kw)
    return proc, time.monotonic() - start


def noop_plan():
    work = Path(tempfile.mkdtemp(prefix="jobctl-bench-"))
    state = work / "state.json"
    jobs = work / "jobs"
    jobs.mkdir()
    for i in range(1000):
        (jobs / f"job-{i:04d}.yaml").write_text(manifest(f"job-{i:04d}", i))
    # Seed without limits: 1,000 creates, then 900 of them completed through the control API.
    seed = Emulator(BIN, "--state-file", str(state))
    seed.call("PUT", "/thing-groups/Fleet", {})
    proc, _ = run([str(BIN / "jobctl"), "apply", "-f", str(jobs), "--endpoint-url", seed.url,
                   "--rate-limit", "0", "--parallelism", "32"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for i in range(900):
        seed.call("POST", f"/_emulator/jobs/job-{i:04d}/complete", {"outcome": "SUCCEEDED"})
    seed.stop()

    results = {}
    for label, extra in [("jobctl plan (no-op)", []), ("naive plan: read every job", ["--compare-finished"])]:
        emu = Emulator(BIN, "--state-file", str(state), "--aws-limits")
        proc, secs = run([str(BIN / "jobctl"), "plan", "-f", str(jobs), "--endpoint-url", emu.url,
                          "--detailed-exitcode", *extra])
        ops, failed = calls(emu.stats())
        emu.stop()
        assert proc.returncode == 0, f"{label}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        results[label] = (secs, ops, failed)
    shutil.rmtree(work)
    return results


def apply_100():
    work = Path(tempfile.mkdtemp(prefix="jobctl-bench-"))
    jobs = work / "jobs"
    jobs.mkdir()
    inputs = work / "cli"
    inputs.mkdir()
    for i in range(100):
        (jobs / f"new-{i:03d}.yaml").write_text(manifest(f"new-{i:03d}", i))
        (inputs / f"new-{i:03d}.json").write_text(json.dumps({
            "jobId": f"new-{i:03d}", "targets": [GROUP_ARN], "description": f"rollout {i}",
            "document": json.dumps({"operation": "update", "build": i}, separators=(",", ":")),
            "tags": [{"Key": "batch", "Value": "bench"}]}))
    results = {}
    emu = Emulator(BIN, "--aws-limits")
    emu.call("PUT", "/thing-groups/Fleet", {})
    proc, secs = run([str(BIN / "jobctl"), "apply", "-f", str(jobs), "--endpoint-url", emu.url])
    ops, failed = calls(emu.stats())
    emu.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results["jobctl apply (100 creates)"] = (secs, ops, failed)

    emu = Emulator(BIN, "--aws-limits")
    emu.call("PUT", "/thing-groups/Fleet", {})
    loop = (f'for f in {inputs}/*.json; do "{AWS}" --endpoint-url {emu.url} iot create-job '
            f'--cli-input-json "file://$f" >/dev/null || echo "failed: $f"; done')
    proc, secs = run(["bash", "-c", loop])
    ops, failed = calls(emu.stats())
    created = len(emu.call("GET", "/_emulator/state")["scopes"]["123456789012:us-east-1"]["jobs"])
    emu.stop()
    results[f"aws iot create-job loop ({created} created)"] = (secs, ops, failed)
    shutil.rmtree(work)
    return results


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT, check=True)
    if not AWS.exists():
        sys.exit("bench/reconcile.py: the AWS CLI is missing; run scripts/venv first")
    print(f"machine: {os.cpu_count()} cores; emulator with --aws-limits (10 TPS per job API)")
    for title, results in [("no-op plan, 1,000 manifests (900 COMPLETED, 100 IN_PROGRESS)", noop_plan()),
                           ("apply, 100 new jobs (rate-limit floor: 10 s)", apply_100())]:
        print(f"\n{title}")
        for label, (secs, ops, failed) in results.items():
            total = sum(ops.values())
            detail = ", ".join(f"{op} {n}" for op, n in ops.items())
            print(f"  {label:40s} {secs:7.2f} s  {total:5d} calls, {failed} failed  ({detail})")


if __name__ == "__main__":
    main()
