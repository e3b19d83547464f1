#!/usr/bin/env python3
"""Benchmarks of `jobctl watch` against jobctl-emulator (release builds, limits off):

1. Latency from saving a manifest to its CreateJob reaching the endpoint, over 50 edits, next to
   the configured debounce (the floor): p50 and p99.
2. A burst of 1,000 file events (1,000 manifests written at once, like a git checkout): how many
   reconcile passes it causes.
3. Footprint with 1,000 manifests: resident memory (VmRSS, VmHWM) and CPU used while idle.

Usage: python3 bench/watch.py"""

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release"
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1", NO_COLOR="1")
DEBOUNCE_MS = 500


def start(cmd, env=None):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return proc, line[len("listening on "):]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def manifest(name, i):
    return (f"apiVersion: jobctl/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n"
            f"  description: job {i}\n  targets:\n    - arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet\n"
            f"  document:\n    operation: update\n    build: {i}\n")


def metric(url, name):
    _, body = get(url + "/metrics")
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines() if l.startswith(name) and not l.startswith("#"))


def proc_status(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return 0


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(check, limit):
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="jobctl-watch-bench-"))
    jobs = work / "jobs"
    jobs.mkdir()
    emu, endpoint = start([str(BIN / "jobctl-emulator"), "--listen", "127.0.0.1:0"])
    urllib.request.urlopen(urllib.request.Request(endpoint + "/thing-groups/Fleet", data=b"{}", method="PUT"))
    env = dict(ENV, AWS_ENDPOINT_URL_IOT=endpoint)
    daemon, metrics = start([str(BIN / "jobctl"), "watch", "-f", str(jobs), "--listen-addr", "127.0.0.1:0",
                             "--debounce", f"{DEBOUNCE_MS}ms", "--rate-limit", "0"], env=env)
    wait_for(lambda: get(metrics + "/readyz")[0] == 200, 30)

    # 1. Save-to-CreateJob latency.
    latencies = []
    for i in range(50):
        name = f"edit-{i:02d}"
        tmp = jobs / f".{name}.tmp"
        tmp.write_text(manifest(name, i))
        start_t = time.monotonic()
        os.rename(tmp, jobs / f"{name}.yaml")  # how editors save: write, then rename
        while get(f"{endpoint}/jobs/{name}")[0] != 200:
            time.sleep(0.002)
        latencies.append((time.monotonic() - start_t) * 1000)
        time.sleep(0.05)
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]

    # 2. A burst of 1,000 file events.
    before = metric(metrics, "jobctl_reconciles_total")
    for i in range(1000):
        (jobs / f"burst-{i:04d}.yaml").write_text(manifest(f"burst-{i:04d}", i))
    wait_for(lambda: metric(metrics, "jobctl_manifests") >= 1050 and get(metrics + "/readyz")[0] == 200, 300)
    time.sleep(2)
    passes = metric(metrics, "jobctl_reconciles_total") - before

    # 3. Footprint with 1,050 manifests, idle.
    time.sleep(2)
    cpu_before = cpu_seconds(daemon.pid)
    time.sleep(10)
    idle_cpu = cpu_seconds(daemon.pid) - cpu_before
    rss = proc_status(daemon.pid, "VmRSS") / 1024
    hwm = proc_status(daemon.pid, "VmHWM") / 1024

    daemon.terminate()
    daemon.wait()
    emu.terminate()
    emu.wait()
    shutil.rmtree(work)
    print(f"machine: {os.cpu_count()} cores; release builds; emulator limits off; --debounce {DEBOUNCE_MS}ms")
    print(f"save -> CreateJob at the endpoint, 50 edits: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
          f"(debounce {DEBOUNCE_MS} ms; target p50 <= {DEBOUNCE_MS + 100} ms)")
    print(f"burst of 1,000 new manifest files: {passes:.0f} reconcile pass(es) (target <= 2)")
    print(f"1,050 manifests: RSS {rss:.1f} MiB, peak {hwm:.1f} MiB (target <= 30 MiB); "
          f"idle CPU over 10 s: {idle_cpu:.2f} s")


if __name__ == "__main__":
    main()
