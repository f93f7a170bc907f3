"""Every response leaves the server in one write: the status line, the headers and the body
together, so the client is woken once per call with the whole answer.

Written in two (the stdlib's ``end_headers`` then the body), a kept-alive client was woken for
the head, parsed it and slept again until the body came: two wake-ups per call, each a wait
for a CPU on a busy machine (and, without TCP_NODELAY, the body would wait for the client's
delayed ACK: RFC 896, RFC 1122 4.2.3.2, https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.2).
HTTP/1.1 framing by Content-Length: RFC 9112 section 6.2
(https://www.rfc-editor.org/rfc/rfc9112#section-6.2). The answers' shape (JSON 1.1 errors with
``x-amzn-ErrorType``): https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serverwire import post, sign

from lspolicy.testing import RunningServer, serve_world

WORLD = Path(__file__).resolve().parents[2] / "policies" / "world.yaml"


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """What the handlers write to their sockets, one item per write."""
    seen: list[bytes] = []
    lock = threading.Lock()
    original = socketserver._SocketWriter.write

    def write(self: Any, data: Any) -> int:
        with lock:
            seen.append(bytes(data))
        return original(self, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(socketserver._SocketWriter, "write", write)
    yield seen


def whole(data: bytes, *, head_only: bool = False) -> tuple[int, dict[str, str]]:
    """A complete HTTP/1.1 response: the head and exactly the body its Content-Length says
    (none for a HEAD request). Returns the status and the headers."""
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, data[:200]
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    assert len(body) == (0 if head_only else int(headers["content-length"])), data[:200]
    return int(status_line.split()[1]), headers


def test_answers_and_errors_are_each_one_write(writes: list[bytes]) -> None:
    """A success, an AccessDenied error and a NotFound error over boto3's kept-alive connection
    are three writes, each a whole response with its body.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html"""
    with serve_world(WORLD) as server:
        alice: Any = server.client("alice")
        bob: Any = server.client("bob")
        assert alice.get_instance_state(instanceName="web-dev")["state"]["name"] == "running"
        with pytest.raises(bob.exceptions.AccessDeniedException):
            bob.stop_instance(instanceName="web-dev")
        with pytest.raises(alice.exceptions.NotFoundException):
            alice.get_instance_state(instanceName="web-nope")
    assert len(writes) == 3, [w[:40] for w in writes]
    statuses = [whole(w)[0] for w in writes]
    assert statuses == [200, 400, 400]
    assert [whole(w)[1].get("x-amzn-errortype") for w in writes] == [
        None,
        "AccessDeniedException",
        "NotFoundException",
    ]


def test_a_refusal_of_the_http_layer_is_one_write(
    server_and_writes: tuple[RunningServer, list[bytes]],
) -> None:
    """A wrong Content-Type, refused before the pipeline, is one write with its JSON body.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    server, writes = server_and_writes
    p = server.principal("alice")
    body = b'{"instanceName": "web-dev"}'
    headers = sign(server.url, body, access_key_id=p.access_key_id, secret=p.secret_access_key)
    headers["Content-Type"] = "application/json"
    answer = post(server.url, body, headers)
    assert answer.status == 400
    assert len(writes) == 1
    status, head = whole(writes[0])
    assert status == 400 and head["x-amzn-errortype"] == "InvalidInputException"
    assert head["connection"] == "close"


def test_a_head_request_is_one_write_without_a_body(
    server_and_writes: tuple[RunningServer, list[bytes]],
) -> None:
    """HEAD: the error's headers (Content-Length of the body a GET would carry) and no body,
    in one write. https://www.rfc-editor.org/rfc/rfc9110#section-9.3.2"""
    server, writes = server_and_writes
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        while sock.recv(65536):
            pass
    assert len(writes) == 1
    status, head = whole(writes[0], head_only=True)
    assert status == 400 and int(head["content-length"]) > 0


@pytest.fixture
def server_and_writes(writes: list[bytes]) -> Iterator[tuple[RunningServer, list[bytes]]]:
    with serve_world(WORLD) as server:
        yield server, writes
