#!/usr/bin/env python3
"""Export benchmark against jobctl-emulator with AWS's rate limits (--aws-limits, 10 TPS per job
API): `jobctl export --all --dir D` of 1,000 jobs made without jobctl, next to its rate floor and
to the status quo measured in the same run, an `aws iot` CLI loop (list-jobs, then describe-job,
get-job-document and list-tags-for-resource per job) over a sample of the same jobs.

The floor: each exported job needs one DescribeJob, one GetJobDocument and one
ListTagsForResource; at 10 TPS per operation, run side by side, 1,000 jobs cannot take less than
1,000 / 10 = 100 s.

Usage: python3 bench/export.py [JOBS] [CLI_SAMPLE] (default 1000 and 50). Builds release binaries
unless BENCH_PROFILE=debug (the reads are rate-bound, so the build barely matters), or takes them
from BENCH_BIN=DIR; needs the AWS CLI from .venv (scripts/venv)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import AWS, ENV, GROUP_ARN, ROOT, Emulator, calls, pin_binaries

PROFILE = os.environ.get("BENCH_PROFILE", "release")
# BENCH_BIN: a directory holding jobctl and jobctl-emulator already built (no build here).
BIN = Path(os.environ.get("BENCH_BIN", ROOT / "target" / PROFILE))


def seed(state, jobs):
    """1,000 jobs created straight through the API (as a create-job loop would), without limits."""
    emu = Emulator(BIN, "--state-file", str(state))
    emu.call("PUT", "/thing-groups/Fleet", {})
    for i in range(jobs):
        emu.call("PUT", f"/jobs/legacy-{i:04d}", {
            "targets": [GROUP_ARN],
            "description": f"rollout {i}",
            "document": json.dumps({"operation": "update", "build": i}),
            "jobExecutionsRolloutConfig": {"maximumPerMinute": 100},
            "timeoutConfig": {"inProgressTimeoutInMinutes": 60},
            "tags": [{"Key": "team", "Value": "lighting"}],
        })
    emu.stop()


def main():
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    build = ["cargo", "build", "--quiet", "--bins"] + (["--release"] if PROFILE == "release" else [])
    if "BENCH_BIN" not in os.environ:
        subprocess.run(build, cwd=ROOT, check=True)
    if not AWS.exists():
        sys.exit("bench/export.py: the AWS CLI is missing; run scripts/venv first")
    work = Path(tempfile.mkdtemp(prefix="jobctl-bench-export-"))
    global BIN
    BIN = pin_binaries(BIN, work)
    state = work / "state.json"
    seed(state, jobs)

    emu = Emulator(BIN, "--state-file", str(state), "--aws-limits")
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "jobctl"), "export", "--all", "--dir", str(work / "exported"),
                           "--endpoint-url", emu.url], env=ENV, capture_output=True, text=True)
    secs = time.monotonic() - start
    ops, failed = calls(emu.stats())
    emu.stop()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    written = len(list((work / "exported").glob("*.yaml")))
    assert written == jobs, f"{written} manifests written, {jobs} expected"

    emu = Emulator(BIN, "--state-file", str(state), "--aws-limits")
    aws = f'"{AWS}" --endpoint-url {emu.url} --output json iot'
    loop = (f'{aws} list-jobs --max-items {sample} --query "jobs[].jobId" --output text | tr "\\t" "\\n" | grep -v "^None$" | '
            f'while read id; do {aws} describe-job --job-id "$id" >/dev/null && '
            f'{aws} get-job-document --job-id "$id" >/dev/null && '
            f'{aws} list-tags-for-resource --resource-arn "arn:aws:iot:us-east-1:123456789012:job/$id" >/dev/null '
            f'|| echo "failed: $id"; done')
    start = time.monotonic()
    cli = subprocess.run(["bash", "-c", loop], env=ENV, capture_output=True, text=True)
    cli_secs = time.monotonic() - start
    cli_ops, cli_failed = calls(emu.stats())
    emu.stop()
    assert "failed" not in cli.stdout and cli.returncode == 0, cli.stdout[-2000:] + cli.stderr[-2000:]
    shutil.rmtree(work)

    floor = jobs / 10
    build = f"binaries from {os.environ['BENCH_BIN']}" if "BENCH_BIN" in os.environ else f"{PROFILE} build"
    print(f"machine: {os.cpu_count()} cores; {build}; emulator with --aws-limits (10 TPS per job API)")
    print(f"\nexport of {jobs:,} IN_PROGRESS jobs (rate floor: {floor:.0f} s)")
    for label, (s, o, f) in [(f"jobctl export --all --dir ({jobs} jobs)", (secs, ops, failed)),
                             (f"aws iot CLI loop ({sample} jobs)", (cli_secs, cli_ops, cli_failed))]:
        detail = ", ".join(f"{op} {n}" for op, n in o.items())
        print(f"  {label:40s} {s:7.2f} s  {sum(o.values()):5d} calls, {f} failed  ({detail})")
    print(f"\njobctl export: {secs / floor:.2f}x the rate floor, {jobs / secs:.1f} jobs/s")
    print(f"aws iot CLI loop: {sample / cli_secs:.2f} jobs/s, so {jobs:,} jobs would take ~{cli_secs * jobs / sample:.0f} s")


if __name__ == "__main__":
    main()
