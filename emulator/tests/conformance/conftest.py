"""Fixtures for the Python conformance tests: spawn the jobctl-emulator binary (and
moto_server for the differential test) on free loopback ports, and build boto3 clients
for them. Under CI=true a missing boto3/moto is an error, never a skip."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"
REPO = Path(__file__).resolve().parents[3]
ACCOUNT = "123456789012"
REGION = "us-east-1"


def require(module: str):
    """Imports a module; skips the calling test module when it is missing, unless CI=true,
    where a missing dependency must fail the run instead of hiding tests."""
    try:
        return __import__(module)
    except ImportError:
        if IN_CI:
            raise
        pytest.skip(f"{module} is not installed", allow_module_level=True)


def emulator_binary() -> Path:
    env = os.environ.get("JOBCTL_EMULATOR_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = target / "debug" / "jobctl-emulator"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "-p", "jobctl-emulator"], cwd=REPO, check=True
        )
    return binary


class Emulator:
    def __init__(self, *args: str):
        # The log goes to a file so a failing test can show what the server saw.
        self.log = tempfile.NamedTemporaryFile(prefix="jobctl-emulator-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [str(emulator_binary()), "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=dict(os.environ, JOBCTL_EMULATOR_LOG=os.environ.get("JOBCTL_EMULATOR_LOG", "debug")),
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        prefix = "listening on "
        assert line.startswith(prefix), f"unexpected first line {line!r}"
        self.url = line[len(prefix):]

    def control(self, method: str, path: str, body: bytes = b"") -> bytes:
        req = urllib.request.Request(
            f"{self.url}/_emulator/{path}", data=body or None, method=method
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def stop(self):
        crashed = self.proc.poll() is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if crashed:
            raise AssertionError(f"emulator exited early ({self.proc.returncode}); log: {self.log.name}")
        os.unlink(self.log.name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self):
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which(
            "moto_server"
        )
        if exe is None:
            if IN_CI:
                raise RuntimeError("moto_server is not installed (pip install 'moto[server]')")
            pytest.skip("moto_server is not installed")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [exe, "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                break
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def iot_client(url: str, region: str = REGION, validate: bool = True):
    boto3 = require("boto3")
    from botocore.config import Config

    return boto3.client(
        "iot",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            parameter_validation=validate,
        ),
    )


def aws_client(service: str, url: str):
    """A boto3 client of any service for the emulator: dummy credentials, no retries."""
    boto3 = require("boto3")
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def emulator():
    emu = Emulator("--deletion-delay-ms", "60000")
    yield emu
    emu.stop()


@pytest.fixture
def iot(emulator):
    return iot_client(emulator.url)


def aws_cli_env(**extra: str) -> dict:
    """The environment for running the AWS CLI against the emulator: dummy credentials, no
    retries, and no user configuration that could point it elsewhere."""
    return dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_MAX_ATTEMPTS="1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        **extra,
    )


def aws_cli_runner(exe: str, env: dict, *prefix: str):
    """A function that runs `aws PREFIX... ARGS... --output json`: it returns the parsed
    output, or with ok=False the finished process so a test can look at the failure."""

    def aws(*args: str, ok: bool = True):
        p = subprocess.run([exe, *prefix, *args, "--output", "json"], env=env, capture_output=True,
                           text=True, timeout=60)
        if ok:
            assert p.returncode == 0, p.stderr
            return json.loads(p.stdout) if p.stdout.strip() else None
        return p

    return aws


def thing_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:iot:{region}:{ACCOUNT}:thing/{name}"


def group_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{name}"


def job_arn(job_id: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:job/{job_id}"
