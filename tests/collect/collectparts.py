"""Real parts for the collector's tests: moto in server mode (IAM, STS, Organizations) on a free
port, the emulated Lightsail endpoint, and the ``lspolicy`` CLI run as a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

moto_server = pytest.importorskip(
    "moto.server", reason="moto[server] is in the test extra: pip install -e '.[test]'"
)

ACCOUNT = "123456789012"
"""moto's default account: the world's Lightsail account must be the same one."""
REPO = Path(__file__).resolve().parents[2]
COLLECT_POLICY = REPO / "policies" / "collect-readonly.policy.json"


@dataclass(frozen=True)
class Moto:
    """A moto server and clients for it."""

    url: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto(moto_url: str) -> Moto:
    """A moto server with nothing in it (its state is reset through moto's own API)."""
    request = urllib.request.Request(moto_url + "/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    return Moto(moto_url)


def write_world(where: Path, *, policy: Path, instances: dict[str, list[str]]) -> Path:
    """A world whose one principal, ``collector``, holds ``policy``; ``instances`` by region."""
    (where / "collector.json").write_text(policy.read_text())
    lines = [
        f"accounts: [{{id: '{ACCOUNT}'}}]",
        "principals:",
        f"  - {{name: collector, arn: 'arn:aws:iam::{ACCOUNT}:user/collector',"
        " access_key_id: AKIACOLLECTOR0000001, secret_access_key: collector-secret-0000000,"
        " policies: [collector.json]}",
        "instances:",
    ]
    for region, names in instances.items():
        for name in names:
            lines.append(f"  - {{name: {name}, region: {region}, tags: {{app: {name}}}}}")
    (where / "world.yaml").write_text("\n".join(lines) + "\n")
    return where / "world.yaml"


@contextmanager
def lspolicy_serve(world: Path) -> Iterator[str]:
    """``lspolicy serve`` as a user runs it, on a free port; yields its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lspolicy.cli",
            "serve",
            "--world",
            str(world),
            "--state",
            ":memory:",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        url = re.search(r"http://[0-9.]+:[0-9]+", banner)
        assert url is not None, banner
        yield url.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def collector_client(url: str, region: str) -> Any:
    """A boto3 Lightsail client with the world's ``collector`` credentials."""
    return boto3.client(
        "lightsail",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="AKIACOLLECTOR0000001",
        aws_secret_access_key="collector-secret-0000000",
    )


def run_collect(
    out: Path, *args: str, moto_url: str, lightsail_url: str, credentials: bool = True
) -> subprocess.CompletedProcess[str]:
    """``lspolicy collect`` as a user runs it, with the collector's dummy credentials only."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "LSPOLICY_DEBUG"
    }
    env |= {
        "AWS_ACCESS_KEY_ID": "AKIACOLLECTOR0000001",
        "AWS_SECRET_ACCESS_KEY": "collector-secret-0000000",
        "AWS_CONFIG_FILE": str(out.parent / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(out.parent / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if not credentials:
        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    command = [
        sys.executable,
        "-m",
        "lspolicy.cli",
        "collect",
        "--out",
        str(out),
        "--endpoint-url",
        lightsail_url,
        "--iam-endpoint-url",
        moto_url,
        "--organizations-endpoint-url",
        moto_url,
        "--sts-endpoint-url",
        moto_url,
        *args,
    ]
    return subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, timeout=180
    )


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
