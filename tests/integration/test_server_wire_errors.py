"""Every answer a client can get is a Lightsail JSON 1.1 error: a status line, Content-Type
application/x-amz-json-1.1, ``x-amzn-ErrorType`` and a JSON body with ``__type`` — including
for requests the stdlib HTTP server refuses itself (malformed request line, unknown method,
request-target or headers too long, unknown HTTP version) and for a wrong Content-Type.

How botocore reads a JSON-protocol error (``__type``, ``x-amzn-ErrorType``), and the errors
Lightsail documents: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
The protocol's Content-Type: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverwire import JSON_TYPE, post, sign

from lspolicy.testing import RunningServer, serve_world

WORLD = Path(__file__).resolve().parent / "worlds" / "errors.yaml"


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve_world(WORLD) as running:
        yield running


def exchange(server: RunningServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` on a fresh socket; read until the server closes."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), answer[:200]
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, body


def check_json_error(headers: dict[str, str], body: bytes, code: str) -> None:
    assert headers["content-type"] == JSON_TYPE
    assert headers["x-amzn-errortype"] == code
    parsed = json.loads(body)
    assert parsed["__type"] == code
    assert "<" not in parsed["message"]


REQUESTS = {
    "PUT": b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    "DELETE": b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
    "OPTIONS": b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n",
    "PATCH": b"PATCH / HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown method": b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "one-word request line": b"GARBAGE\r\n\r\n",
    "two-word request line": b"POST /\r\n\r\n",
    "bad version": b"POST / HTTP/x.y\r\nHost: x\r\n\r\n",
    "HTTP/2.0": b"POST / HTTP/2.0\r\nHost: x\r\n\r\n",
    # found by tests/property/test_fuzz_endpoint.py: HTTP/0.x requests were answered with a
    # bare body, no status line and no headers
    "HTTP/0.9 version": b"POST / HTTP/0.9\r\nHost: x\r\n\r\n",
    "HTTP/0.9 GET": b"GET /\r\n\r\n",
    "HTTP/0.1 version": b"GET / HTTP/00.1\r\n\r\n",
    "URI too long": b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header too long": b"POST / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "too many headers": b"POST / HTTP/1.1\r\n" + b"X-A: b\r\n" * 120 + b"\r\n",
}


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_requests_the_http_layer_refuses_get_json_errors(server: RunningServer, kind: str) -> None:
    """Refused by the HTTP layer, answered as Lightsail answers: InvalidInputException (the
    client's request is at fault, even for a 505), JSON body and ``x-amzn-ErrorType``, never an
    HTML page, never ServiceException (a failure of the server).
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    status, headers, body = exchange(server, REQUESTS[kind])
    assert status in (400, 414, 431, 505), status
    check_json_error(headers, body, "InvalidInputException")


def test_head_gets_the_error_headers_without_a_body(server: RunningServer) -> None:
    """HEAD: the same error headers, and (as HTTP requires) no body.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    status, headers, body = exchange(server, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400
    assert headers["x-amzn-errortype"] == "InvalidInputException"
    assert headers["content-type"] == JSON_TYPE
    assert body == b""


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_a_wrong_content_type_is_invalid_input(
    server: RunningServer, content_type: str | None
) -> None:
    """The awsJson1_1 protocol sends ``Content-Type: application/x-amz-json-1.1``; a signed
    request with another (or none) is InvalidInputException, and changes nothing.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    admin = server.principal("admin")
    body = json.dumps({"instanceName": "web-dev"}).encode()
    headers = sign(
        server.url, body, access_key_id=admin.access_key_id, secret=admin.secret_access_key
    )
    headers.pop("Content-Type")
    if content_type is not None:
        headers["Content-Type"] = content_type
    wire = post(server.url, body, headers)
    assert wire.status == 400
    check_json_error(wire.headers, wire.body, "InvalidInputException")
    assert server.store.operations() == []
