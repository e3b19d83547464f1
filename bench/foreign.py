#!/usr/bin/env python3
"""`jobctl plan` in a busy shared account: 1,000 active jobs owned by others (no jobctl ownership
tags), one manifest of ours, against jobctl-emulator with AWS's rate limits (--aws-limits, 10 TPS
per job API), next to the floor of the calls each run needs (issue 10, item 13):

- `jobctl plan -f one/` (no --prune): lists the account's jobs (ListJobs pages) and reads only the
  declared job (DescribeJob, GetJobDocument, ListTagsForResource). It never reads other people's
  tags. Target: under 1 s.
- `jobctl plan -f one/ --prune`: to find this instance's orphans, plan must learn who owns each
  listed job that no manifest declares. IoT's ListJobs returns no tags and has no tag filter, so
  that is one ListTagsForResource per foreign job: 1,000 calls, a floor of 100 s at 10 TPS.

Prints wall time, API calls by operation and failed calls. Usage: python3 bench/foreign.py
(BENCH_BIN=DIR: jobctl and jobctl-emulator already built; otherwise release builds are made here)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ENV, GROUP_ARN, ROOT, Emulator, calls

PROFILE = os.environ.get("BENCH_PROFILE", "release")
BIN = Path(os.environ.get("BENCH_BIN", ROOT / "target" / PROFILE))
FOREIGN = 1000
TPS = 10


def main():
    if "BENCH_BIN" not in os.environ:
        build = ["cargo", "build", "--quiet", "--bins"] + (["--release"] if PROFILE == "release" else [])
        subprocess.run(build, cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="jobctl-bench-foreign-"))
    # Hard links pin the binaries: target/ may be rebuilt while the benchmark runs.
    global BIN
    pinned = work / "bin"
    pinned.mkdir()
    for name in ("jobctl", "jobctl-emulator"):
        os.link(BIN / name, pinned / name)
    BIN = pinned
    state, one = work / "state.json", work / "one"
    one.mkdir()
    (one / "ours.yaml").write_text(
        "apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: ours\nspec:\n  description: ours\n"
        f"  targets:\n    - {GROUP_ARN}\n  document:\n    operation: update\n    build: 1\n")

    # Seed without limits: our job (applied by jobctl), then 1,000 IN_PROGRESS jobs created
    # directly, as another team's tooling would, tagged but without jobctl's ownership tags.
    seed = Emulator(BIN, "--state-file", str(state))
    seed.call("PUT", "/thing-groups/Fleet", {})
    seed.call("PUT", "/things/bulb-1", {})
    seed.call("PUT", "/thing-groups/addThingToThingGroup",
              {"thingGroupName": "Fleet", "thingName": "bulb-1"})
    proc = subprocess.run([str(BIN / "jobctl"), "apply", "-f", str(one), "--endpoint-url", seed.url,
                           "--rate-limit", "0"], env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for i in range(FOREIGN):
        seed.call("PUT", f"/jobs/other-{i:04d}", {
            "targets": [GROUP_ARN],
            "document": json.dumps({"operation": "reboot", "n": i}),
            "tags": [{"Key": "team", "Value": "someone-else"}],
        })
    ops, _ = calls(seed.stats())
    assert ops.get("CreateJob", 0) == FOREIGN + 1, ops
    seed.stop()

    print(f"machine: {os.cpu_count()} cores; emulator with --aws-limits ({TPS} TPS per job API); "
          f"binaries: {os.environ.get('BENCH_BIN', PROFILE)}")
    print(f"\nplan of one manifest, account with {FOREIGN} IN_PROGRESS jobs owned by others")
    runs = [
        ("jobctl plan -f one/", [], "target < 1 s"),
        ("jobctl plan -f one/ --prune", ["--prune"],
         f"floor: {FOREIGN} ListTagsForResource at {TPS} TPS = {FOREIGN / TPS:.0f} s"),
    ]
    for label, extra, goal in runs:
        # --aws-limits throttles the job APIs; ListTagsForResource gets the same 10 TPS here.
        emu = Emulator(BIN, "--state-file", str(state), "--aws-limits", "--tps", f"ListTagsForResource={TPS}")
        start = time.monotonic()
        proc = subprocess.run([str(BIN / "jobctl"), "plan", "-f", str(one), "--endpoint-url", emu.url,
                               "-o", "json", *extra], env=ENV, capture_output=True, text=True)
        secs = time.monotonic() - start
        ops, failed = calls(emu.stats())
        emu.stop()
        assert proc.returncode == 0, f"{label}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        plan = json.loads(proc.stdout)
        # Our job is unchanged and no foreign job is ever planned for cancelling or deleting.
        assert {k: v for k, v in plan["summary"].items() if v} == {"unchanged": 1}, plan["summary"]
        assert not [c["jobId"] for c in plan["changes"] if c["jobId"].startswith("other-")], plan["changes"][:3]
        total = sum(ops.values())
        detail = ", ".join(f"{op} {n}" for op, n in ops.items())
        print(f"  {label:30s} {secs:7.2f} s  {total:5d} calls, {failed} failed  ({detail})  [{goal}]")
    shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
