#!/usr/bin/env python3
"""Memory (and the time of the hostile parser case), release builds, each next to a baseline
measured in the same run:

1. `jobctl watch` with 10,000 manifests against jobctl-emulator: peak RSS (VmHWM) over the start-up
   pass that creates every job and a later full pass (SIGHUP), next to the same daemon on a tree of
   one manifest. The shipped systemd unit and Kubernetes manifests set a 128 MiB memory limit; the
   daemon's peak at 10,000 manifests must stay under half of it (64 MiB). From the two figures, the
   manifest count each deployment supports (peak under half its limit, and under the limit).
2. `jobctl validate` on 100,000 manifests: peak RSS and time, next to 10,000.
3. One file of 50,000 `{}` documents (issue 11, item 6): time and peak RSS, text and `-o json`
   (target: under 2 s and 150 MB), next to a file of 10,000 (linear: about a fifth).

Usage: python3 bench/memory.py [--no-build]   (JOBCTL_BIN_DIR=DIR to use binaries from DIR)"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# JOBCTL_BIN_DIR: binaries copied aside (the shared target dir may be rebuilt by others meanwhile).
BIN = Path(os.environ.get("JOBCTL_BIN_DIR", ROOT / "target" / "release"))
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
           NO_COLOR="1")
LIMIT_MIB = 128  # MemoryMax= in deploy/jobctl-watch.service, limits.memory in deploy/kubernetes.yaml


def manifest(i):
    return f"""apiVersion: jobctl/v1
kind: Job
metadata:
  name: fw-rollout-{i:06d}
spec:
  description: Firmware rollout {i} for team {i % 50}
  targets:
    - thingGroup: Fleet
  targetSelection: SNAPSHOT
  document:
    operation: firmware-update
    version: "4.2.{i}"
    url: https://firmware.example.com/fw/build-{i}.bin
  jobExecutionsRolloutConfig: {{maximumPerMinute: 50}}
  abortConfig:
    criteriaList:
      - {{failureType: FAILED, action: CANCEL, thresholdPercentage: 10, minNumberOfExecutedThings: 20}}
  timeoutConfig: {{inProgressTimeoutInMinutes: 60}}
  jobExecutionsRetryConfig: {{criteriaList: [{{failureType: TIMED_OUT, numberOfRetries: 2}}]}}
  tags: {{team: "team-{i % 50:02d}", batch: bench}}
"""


def write_tree(root, count):
    root.mkdir(parents=True)
    for i in range(count):
        d = root / f"team-{i % 50:02d}"
        d.mkdir(exist_ok=True)
        (d / f"job-{i:06d}.yaml").write_text(manifest(i))


def start(cmd, env):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return proc, line[len("listening on "):]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def metric(url, name):
    _, body = get(url + "/metrics")
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines() if l.startswith(name) and not l.startswith("#"))


def hwm_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for(check, limit, what):
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def watch_peak(work, count):
    """Peak RSS (MiB) of `jobctl watch` over the pass creating `count` jobs and one full pass after."""
    jobs = work / f"watch-{count}"
    write_tree(jobs, count)
    emu, endpoint = start([str(BIN / "jobctl-emulator"), "--listen", "127.0.0.1:0"], ENV)
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint + "/thing-groups/Fleet", data=b"{}", method="PUT"))
        env = dict(ENV, AWS_ENDPOINT_URL_IOT=endpoint)
        daemon, metrics = start([str(BIN / "jobctl"), "watch", "-f", str(jobs), "--listen-addr", "127.0.0.1:0",
                                 "--rate-limit", "0", "--resync-interval", "1h"], env)
        try:
            started = time.monotonic()
            wait_for(lambda: metric(metrics, "jobctl_manifests") == count and get(metrics + "/readyz")[0] == 200,
                     1800, f"{count} jobs created")
            first = time.monotonic() - started
            daemon.send_signal(signal.SIGHUP)  # a full pass over jobs that now all exist
            wait_for(lambda: metric(metrics, 'jobctl_reconciles_total{trigger="reload"}') == 1
                     and metric(metrics, "jobctl_reconcile_duration_seconds_count") >= 2, 1800, "the full pass")
            return hwm_mib(daemon.pid), first
        finally:
            daemon.terminate()
            daemon.wait()
    finally:
        emu.terminate()
        emu.wait()


TIME = Path("/usr/bin/time")


def run_peak(cmd):
    """(seconds, peak RSS MiB, exit code) of one command. The peak comes from GNU time, which
    forks the command from its own small process: the rusage of a child forked from this Python
    process would count Python's pages (ru_maxrss survives exec), about 57 MiB here."""
    if not TIME.exists():
        sys.exit("bench/memory.py: /usr/bin/time (GNU time) is missing")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        started = time.monotonic()
        proc = subprocess.run([str(TIME), "-f", "%M", "-o", out.name, *cmd],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        took = time.monotonic() - started
        kib = int(out.read().strip().splitlines()[-1])
    return took, kib / 1024, proc.returncode


def main():
    if "--no-build" not in sys.argv:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="jobctl-memory-bench-"))
    try:
        print(f"machine: {os.cpu_count()} cores; release builds; emulator limits off")

        base, _ = watch_peak(work, 1)
        peak, first = watch_peak(work, 10_000)
        per = (peak - base) / 10_000
        half = int((LIMIT_MIB / 2 - base) / per) if per > 0 else 0
        full = int((LIMIT_MIB - base) / per) if per > 0 else 0
        verdict = "PASS" if peak < LIMIT_MIB / 2 else "FAIL"
        print(f"watch, 1 manifest (baseline):  peak RSS {base:6.1f} MiB")
        print(f"watch, 10,000 manifests:       peak RSS {peak:6.1f} MiB  (create pass {first:.1f} s, then a full "
              f"pass; target < {LIMIT_MIB // 2} MiB: {verdict})")
        print(f"  {per * 1024:.2f} KiB per manifest; a {LIMIT_MIB} MiB limit (deploy/jobctl-watch.service, "
              f"deploy/kubernetes.yaml) supports ~{half:,} manifests under half the limit, ~{full:,} under it")

        for count in (10_000, 100_000):
            tree = work / f"validate-{count}"
            write_tree(tree, count)
        t10, m10, c10 = run_peak([str(BIN / "jobctl"), "validate", "-f", str(work / "validate-10000")])
        t100, m100, c100 = run_peak([str(BIN / "jobctl"), "validate", "-f", str(work / "validate-100000")])
        print(f"validate, 10,000 manifests (baseline): {t10:6.2f} s  peak RSS {m10:7.1f} MiB  exit {c10}")
        print(f"validate, 100,000 manifests:           {t100:6.2f} s  peak RSS {m100:7.1f} MiB  exit {c100}")

        for count in (10_000, 50_000):
            (work / f"empty-{count}.yaml").write_text("---\n{}\n" * count)
        for fmt in ("text", "json"):
            t_base, m_base, _ = run_peak([str(BIN / "jobctl"), "validate", "-o", fmt, "-f",
                                          str(work / "empty-10000.yaml")])
            t, m, code = run_peak([str(BIN / "jobctl"), "validate", "-o", fmt, "-f", str(work / "empty-50000.yaml")])
            ok = "PASS" if t < 2 and m < 150 else "FAIL"
            print(f"50,000 `{{}}` documents, -o {fmt:4}: {t:5.2f} s  peak RSS {m:6.1f} MiB  exit {code} "
                  f"(10,000: {t_base:.2f} s, {m_base:.1f} MiB; target < 2 s and < 150 MB: {ok})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
