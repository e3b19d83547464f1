"""What the Python benchmarks share: the environment they run jobctl and the AWS CLI in, a
jobctl-emulator on a free loopback port, and the count of API calls from its stats."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AWS = ROOT / ".venv" / "bin" / "aws"
GROUP_ARN = "arn:aws:iot:us-east-1:123456789012:thinggroup/Fleet"
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
           AWS_DEFAULT_REGION="us-east-1", NO_COLOR="1")


class Emulator:
    """`BIN_DIR/jobctl-emulator --listen 127.0.0.1:0 FLAGS…`, driven over its HTTP API."""

    def __init__(self, bin_dir, *flags):
        self.proc = subprocess.Popen([str(Path(bin_dir) / "jobctl-emulator"), "--listen", "127.0.0.1:0", *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), line
        self.url = line[len("listening on "):]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read() or b"{}")

    def stats(self):
        return self.call("GET", "/_emulator/stats")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def pin_binaries(bin_dir, work):
    """Hard links to jobctl and jobctl-emulator in WORK/bin: target/ may be rebuilt (by another
    worktree sharing it) while a benchmark runs. Returns the new directory."""
    pinned = Path(work) / "bin"
    pinned.mkdir()
    for name in ("jobctl", "jobctl-emulator"):
        os.link(Path(bin_dir) / name, pinned / name)
    return pinned


def calls(stats):
    """API calls by operation, and how many of them failed, from /_emulator/stats."""
    ops = {op: v["total"] for op, v in sorted(stats["operations"].items())}
    failed = sum(n for v in stats["operations"].values() for k, n in v.items()
                 if k not in ("total", "ok", "OK", "200", "success"))
    return ops, failed
