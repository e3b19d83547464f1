#!/usr/bin/env python3
"""`jobctl status` benchmark against jobctl-emulator with AWS's rate limits (--aws-limits, 10 TPS per
job API), next to a baseline measured in the same run (issue 13):

1,000 declared jobs, 100 of them running (IN_PROGRESS) and 900 COMPLETED two emulated days ago.
- `jobctl status -f jobs/`: reads the account's job list, then one DescribeJob per job that is not
  finished (finished jobs' counts never change; those outside `--finished-within`, 24h by default,
  are not read at all). Target: at most 11 s; the floor is 10 s (100 DescribeJob at 10 TPS).
- The naive loop: one DescribeJob for every declared job, as a script over `aws iot describe-job`
  would do, measured as `jobctl status -f jobs/ --finished-within 3650d` (every job read once,
  through the same rate limiter, without the AWS CLI's start-up cost per call).

Prints wall time, API calls by operation and failed calls. Usage: python3 bench/status.py
(BENCH_BIN=DIR: jobctl and jobctl-emulator already built; otherwise release builds are made here)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ENV, GROUP_ARN, ROOT, Emulator, calls, pin_binaries

PROFILE = os.environ.get("BENCH_PROFILE", "release")
BIN = Path(os.environ.get("BENCH_BIN", ROOT / "target" / PROFILE))
DECLARED, RUNNING = 1000, 100


def manifest(job_id, i):
    return (f"apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {job_id}\nspec:\n"
            f"  description: rollout {i}\n  targets:\n    - {GROUP_ARN}\n"
            f"  document:\n    operation: update\n    build: {i}\n")


def main():
    if "BENCH_BIN" not in os.environ:
        build = ["cargo", "build", "--quiet", "--bins"] + (["--release"] if PROFILE == "release" else [])
        subprocess.run(build, cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="jobctl-bench-status-"))
    global BIN
    BIN = pin_binaries(BIN, work)
    state, jobs = work / "state.json", work / "jobs"
    jobs.mkdir()
    for i in range(DECLARED):
        (jobs / f"job-{i:04d}.yaml").write_text(manifest(f"job-{i:04d}", i))

    # Seed without limits: 1,000 creates, 900 completed, then two emulated days pass.
    seed = Emulator(BIN, "--state-file", str(state))
    seed.call("PUT", "/thing-groups/Fleet", {})
    seed.call("PUT", "/things/bulb-1", {})
    seed.call("PUT", "/thing-groups/addThingToThingGroup",
              {"thingGroupName": "Fleet", "thingName": "bulb-1"})
    proc = subprocess.run([str(BIN / "jobctl"), "apply", "-f", str(jobs), "--endpoint-url", seed.url,
                           "--rate-limit", "0", "--parallelism", "32"], env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for i in range(RUNNING, DECLARED):
        seed.call("POST", f"/_emulator/jobs/job-{i:04d}/complete", {"outcome": "SUCCEEDED"})
    seed.call("POST", "/_emulator/clock/advance", {"seconds": 2 * 86400})
    seed.stop()

    print(f"machine: {os.cpu_count()} cores; emulator with --aws-limits (10 TPS per job API); "
          f"binaries: {os.environ.get('BENCH_BIN', PROFILE)}")
    print(f"\nstatus, {DECLARED} declared jobs, {RUNNING} IN_PROGRESS, {DECLARED - RUNNING} COMPLETED 2 days ago "
          f"(floor: {RUNNING} DescribeJob at 10 TPS = {RUNNING / 10:.0f} s)")
    for label, extra in [("jobctl status -f jobs/", []),
                         ("naive: every job read (--finished-within 3650d)", ["--finished-within", "3650d"])]:
        emu = Emulator(BIN, "--state-file", str(state), "--aws-limits")
        start = time.monotonic()
        proc = subprocess.run([str(BIN / "jobctl"), "status", "-f", str(jobs), "--endpoint-url", emu.url,
                               "-o", "json", *extra], env=ENV, capture_output=True, text=True)
        secs = time.monotonic() - start
        ops, failed = calls(emu.stats())
        emu.stop()
        # Exit 0: every job Healthy or Progressing (none has a failure).
        assert proc.returncode == 0, f"{label}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        total = sum(ops.values())
        detail = ", ".join(f"{op} {n}" for op, n in ops.items())
        print(f"  {label:50s} {secs:7.2f} s  {total:5d} calls, {failed} failed  ({detail})")
    shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
