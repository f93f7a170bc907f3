"""Signature coverage and the time window, through the real server on a real connection.

SigV4: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
("A request must reach AWS within five minutes of the time stamp in the request":
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html); Lightsail's common
errors: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from serverwire import JSON_TYPE, post

from lspolicy.testing import RunningServer, serve_world

WORLD = Path(__file__).resolve().parent / "worlds" / "errors.yaml"
PREFIX = "Lightsail_20161128."


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_world(WORLD) as running:
        yield running


class _HostAndDateOnly(SigV4Auth):  # type: ignore[misc]
    """Signs only host and x-amz-date, as the replay attacker's victim did."""

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = super().headers_to_sign(request)
        for name in ("x-amz-target", "content-type"):
            del headers[name]
        return headers


def test_a_signature_that_does_not_cover_the_target_cannot_be_replayed_as_another_operation(
    server: RunningServer,
) -> None:
    """A signature with ``SignedHeaders=host;x-amz-date`` would verify whatever X-Amz-Target is
    sent beside it; the server refuses it with IncompleteSignature ("the request signature does
    not conform to AWS standards", HTTP 400), for every operation, and nothing changes.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    admin = server.principal("admin")
    body = json.dumps({"instanceName": "web-dev"}).encode()
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=body,
        headers={
            "Host": urlsplit(server.url).netloc,
            "X-Amz-Target": PREFIX + "GetInstanceState",
            "Content-Type": JSON_TYPE,
        },
    )
    _HostAndDateOnly(
        Credentials(admin.access_key_id, admin.secret_access_key), "lightsail", "us-east-1"
    ).add_auth(request)
    headers = {k: str(v) for k, v in request.headers.items()}
    assert "SignedHeaders=host;x-amz-date," in headers["Authorization"]
    for operation in ("GetInstanceState", "StopInstance", "StartInstance"):
        wire = post(server.url, body, {**headers, "X-Amz-Target": PREFIX + operation})
        assert wire.status == 400, wire
        assert wire.headers["x-amzn-errortype"] == "IncompleteSignature"
        answer = json.loads(wire.body)
        assert answer["__type"] == "IncompleteSignature"
        assert "x-amz-target" in answer["message"] or "content-type" in answer["message"]
    assert server.store.operations() == []


def test_a_request_signed_exactly_five_minutes_ago_is_accepted_over_a_real_connection(
    server: RunningServer,
) -> None:
    """The window is five minutes and X-Amz-Date has whole seconds; a request signed exactly
    at the bound reaches the server a fraction of a second later and is still within it.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html"""
    while datetime.now(UTC).microsecond > 300_000:  # start early in a second: one tick to spare
        time.sleep(0.01)
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    admin = server.client("admin")
    with mock.patch("botocore.auth.get_current_datetime", return_value=now - timedelta(minutes=5)):
        state = admin.get_instance_state(instanceName="web-dev")
    assert state["state"]["name"] == "running"
