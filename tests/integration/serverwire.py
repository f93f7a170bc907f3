"""Raw signed HTTP requests to the emulated endpoint, for tests that must send what boto3 will
not (non-schema bodies, tampered requests): signed by botocore's own SigV4 signer, sent on a
fresh connection, the response taken as received. Shared by the server's test modules."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

STOP_TARGET = "Lightsail_20161128.StopInstance"
JSON_TYPE = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class Wire:
    """An HTTP response as received."""

    status: int
    headers: dict[str, str]
    body: bytes


def sign(
    url: str,
    body: bytes,
    *,
    access_key_id: str,
    secret: str,
    region: str = "us-east-1",
    target: str = STOP_TARGET,
    token: str | None = None,
) -> dict[str, str]:
    """The headers botocore's SigV4 signer puts on a POST of ``body`` to ``url``."""
    request = AWSRequest(
        method="POST",
        url=url + "/",
        data=body,
        headers={"Host": urlsplit(url).netloc, "X-Amz-Target": target, "Content-Type": JSON_TYPE},
    )
    SigV4Auth(Credentials(access_key_id, secret, token), "lightsail", region).add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


def post(url: str, body: bytes, headers: dict[str, str]) -> Wire:
    """Send one request on its own connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        return Wire(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()
