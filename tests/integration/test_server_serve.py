"""`lspolicy serve` as a process: what it logs, and the state files it refuses to serve.

The calls are made by a real boto3 client; the API they exercise:
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config

from lspolicy.server.world import load_world

WORLD = Path(__file__).resolve().parent / "worlds" / "errors.yaml"


@contextmanager
def serving(*extra: str, state: str = ":memory:") -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("lspolicy")),
            "serve",
            "--world",
            str(WORLD),
            "--state",
            state,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert " at http://" in line, (line, proc.stderr.read() if proc.stderr else "")
        yield line.split(" at ", 1)[1].split()[0], proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def admin_client(url: str) -> object:
    admin = next(p for p in load_world(WORLD).principals.values() if p.name == "admin")
    return boto3.client(
        "lightsail",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=admin.access_key_id,
        aws_secret_access_key=admin.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_verbose_logs_every_request() -> None:
    """``--verbose`` promises to "log every request": each call shows up on stderr with its
    method and status; without the flag nothing is logged for a served request.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html"""
    for flags, expect in ((("--verbose",), 2), ((), 0)):
        with serving(*flags) as (url, proc):
            client = admin_client(url)
            for _ in range(2):
                client.get_instance_state(instanceName="web-dev")  # type: ignore[attr-defined]
        assert proc.stderr is not None
        lines = [
            line for line in proc.stderr.read().splitlines() if '"POST / HTTP/1.1" 200' in line
        ]
        assert len(lines) == expect, (flags, lines)
