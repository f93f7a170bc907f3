"""Fuzzing the emulated endpoint over real sockets: whatever a client sends, the running
``lspolicy serve`` answers in Lightsail's JSON 1.1 shape (or closes an unfinished request
quietly), never with an internal error for a bad request, never hangs, never prints a traceback,
and still serves a good request afterwards.

Two kinds of input: (a) raw bytes and HTTP-looking requests (methods, request-targets, versions,
headers and bodies drawn around what the HTTP layer checks: huge and repeated headers, odd line
ends, wrong Content-Length and Content-Type, Expect, chunked); (b) requests signed with SigV4 by
botocore for the world's principals, with drawn operations, regions and JSON bodies (valid and
invalid StopInstance bodies from `lspolicy.server.body_strategies`, any JSON, any bytes), some
then tampered with (a header dropped, repeated or changed, the Authorization header mutated, the
body changed after signing).

The ``ci`` profile runs a bounded, derandomized sample per test; ``HYPOTHESIS_PROFILE=fuzz
LSPOLICY_FUZZ_EXAMPLES=N`` runs N inputs per test (four tests). Each request goes on a fresh
connection whose write side is then shut, so a request the server is still waiting for ends at
once: an answer that does not come within `HANG` seconds is a hang.

How a JSON-protocol error travels (``__type``, ``x-amzn-ErrorType``) and Lightsail's common
errors: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
The signing process: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
HTTP/1.1 message syntax (request line, fields, Content-Length): https://www.rfc-editor.org/rfc/rfc9112
"""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lspolicy.server.body_strategies import (
    instance_names,
    invalid_stop_instance_bodies,
    valid_stop_instance_bodies,
)
from lspolicy.server.errors import ERROR_CODES
from lspolicy.server.world import Principal, load_world

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from serverwire import JSON_TYPE, sign

WORLD = Path(__file__).resolve().parents[1] / "integration" / "worlds" / "errors.yaml"
LSPOLICY = str(Path(sys.executable).with_name("lspolicy"))
HANG = 8.0
"""Seconds an exchange may take before it counts as a hang (the server's own deadlines are 10 s,
but every request here is complete or ends in EOF, so answers come at once)."""
LIVENESS_EVERY = 200
"""A good request is sent after this many inputs (and after each test) to show the server
still serves."""

# Statuses a client can get: 200; 400 for every client error; 414 and 431 from the HTTP layer
# (request-target or headers too long); 503 (ServiceUnavailable) when connections run out;
# 505 for an HTTP version the server does not speak; 100 Continue as an interim answer.
FINAL_STATUSES = frozenset({200, 400, 414, 431, 503, 505})
INPUT_ERRORS = frozenset(ERROR_CODES) - {"ServiceException"}


class Endpoint:
    """The running ``lspolicy serve`` process and what the tests need to talk to it."""

    def __init__(
        self,
        host: str,
        port: int,
        proc: subprocess.Popen[str],
        stderr: Path,
        principals: list[Principal],
    ) -> None:
        self.host, self.port, self.proc, self.stderr = host, port, proc, stderr
        self.principals = principals
        self.sent = 0
        self.resets = 0
        self.statuses: dict[str, int] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:  # hypothesis prints it with each failing example
        return f"Endpoint({self.url})"

    def check_quiet(self) -> None:
        """The server is alive and has written nothing to stderr (no traceback, no logged
        exception: it logs at WARNING and above only when something failed)."""
        assert self.proc.poll() is None, self.stderr.read_text(errors="replace")
        text = self.stderr.read_text(errors="replace")
        assert text == "", text[-4000:]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    folder = Path(tempfile.mkdtemp(prefix="lspolicy-fuzz-endpoint-"))
    stderr = folder / "stderr.txt"
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [LSPOLICY, "serve", "--world", str(WORLD), "--state", ":memory:"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert " at http://" in line, (line, stderr.read_text())
        host, port = line.split(" at http://", 1)[1].split()[0].split(":")
        principals = list(load_world(WORLD).principals.values())
        yield Endpoint(host, int(port), proc, stderr, principals)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- talking to it --------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def exchange(endpoint: Endpoint, raw: bytes) -> tuple[bytes, bool]:
    """Send ``raw`` on a fresh connection, shut the write side, read until the server closes.
    Returns what came back and whether the connection was reset (the server closing with unread
    input, after answering, makes the kernel send RST)."""
    reset = False
    received: list[bytes] = []
    started = time.monotonic()
    with socket.create_connection((endpoint.host, endpoint.port), timeout=HANG) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:  # the server answered and closed before reading all of it
            if not isinstance(exc, ConnectionError) and exc.errno != errno.ENOTCONN:
                raise
            reset = True
        try:
            while chunk := sock.recv(65536):
                received.append(chunk)
                assert time.monotonic() - started < HANG, "the answer did not end: a hang"
        except ConnectionResetError:
            reset = True
        except TimeoutError:
            pytest.fail(f"no answer within {HANG} s: a hang (sent {raw[:200]!r})")
    endpoint.sent += 1
    return b"".join(received), reset


def parse_answers(data: bytes, *, head_sent: bool) -> list[Answer]:
    """Every response in ``data`` (pipelined requests get several), interim 1xx skipped."""
    answers = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"a response without the end of its headers: {data[:300]!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), f"no HTTP/1.1 status line: {data[:300]!r}"
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            assert colon, f"a malformed response header {line!r}"
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            data = rest
            continue
        length = int(headers["content-length"])
        body, data = rest[:length], rest[length:]
        if len(body) < length:
            # only a HEAD answer has a Content-Length but no body; it closes the connection
            assert head_sent and body == b"" and data == b"", (status, headers, rest[:300])
        answers.append(Answer(status, headers, body))
    return answers


def check_answer(answer: Answer) -> None:
    """A final answer in Lightsail's JSON 1.1 shape, and no internal error."""
    assert answer.status in FINAL_STATUSES, answer
    assert answer.headers.get("content-type") == JSON_TYPE, answer
    if answer.status == 200:
        assert "x-amzn-errortype" not in answer.headers, answer
        parsed = json.loads(answer.body)
        assert isinstance(parsed, dict) and "__type" not in parsed, answer
        return
    code = answer.headers.get("x-amzn-errortype")
    assert code in INPUT_ERRORS, f"not an input error: {answer}"  # no ServiceException (500)
    if answer.body:  # empty only for HEAD
        parsed = json.loads(answer.body)
        assert parsed["__type"] == code, answer
        assert isinstance(parsed["message"], str), answer
        assert "<html" not in answer.body.decode("utf-8", "replace").lower(), answer
        assert "Traceback" not in parsed["message"], answer


def check_exchange(endpoint: Endpoint, raw: bytes) -> list[Answer]:
    data, reset = exchange(endpoint, raw)
    endpoint.resets += reset
    answers = parse_answers(data, head_sent=b"HEAD" in raw)
    for answer in answers:
        check_answer(answer)
        kind = f"{answer.status} {answer.headers.get('x-amzn-errortype', '')}".strip()
        endpoint.statuses[kind] = endpoint.statuses.get(kind, 0) + 1
    # an answer saying "Connection: close" is the last on its connection
    assert all(a.headers.get("connection") != "close" for a in answers[:-1]), answers
    if endpoint.sent % LIVENESS_EVERY == 0:
        check_good_request(endpoint)
    endpoint.check_quiet()
    return answers


def signed_request(
    endpoint: Endpoint,
    body: bytes,
    *,
    principal: Principal,
    target: str,
    region: str = "us-east-1",
) -> dict[str, str]:
    return sign(
        endpoint.url,
        body,
        access_key_id=principal.access_key_id,
        secret=principal.secret_access_key,
        region=region,
        target=target,
        token=principal.session_token,
    )


def render(headers: list[tuple[str, str]], body: bytes, *, content_length: bool = True) -> bytes:
    lines = ["POST / HTTP/1.1", *(f"{k}: {v}" for k, v in headers)]
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


def check_good_request(endpoint: Endpoint) -> None:
    """admin's GetInstanceState of web-dev: HTTP 200 with the instance's state."""
    admin = next(p for p in endpoint.principals if p.name == "admin")
    body = json.dumps({"instanceName": "web-dev"}).encode()
    headers = signed_request(
        endpoint, body, principal=admin, target="Lightsail_20161128.GetInstanceState"
    )
    data, _ = exchange(endpoint, render(list(headers.items()), body))
    (answer,) = parse_answers(data, head_sent=False)
    assert answer.status == 200, answer
    assert "name" in json.loads(answer.body)["state"], answer


# -- (a) raw bytes and HTTP-looking requests ------------------------------------------------

METHODS = [
    "POST", "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "BREW",
    "post", "", "P OST", "POST\x00", "M" * 5000,
]  # fmt: skip
TARGETS = [
    "/", "/?a=b", "*", "//", "/%00", "/../..", "http://x/", "/?X-Amz-Signature=1", "",
    "/" + "a" * 70_000,
]  # fmt: skip
VERSIONS = [
    "HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/x.y", "HTTP/1.1 extra", "", "http/1.1",
    "HTTP/11111111111111111111.1",
]  # fmt: skip
HEADER_NAMES = [
    "Host", "Content-Type", "Content-Length", "Transfer-Encoding", "X-Amz-Target",
    "Authorization", "X-Amz-Date", "Connection", "Expect", "X-Amz-Content-SHA256",
    "X-Amz-Security-Token", " Host", "Content-Length ", "", ":",
]  # fmt: skip
HEADER_VALUES = [
    JSON_TYPE, "application/json", "0", "-1", "10", "65537", "99999999999999999999", "1e3",
    "chunked", "close", "keep-alive", "100-continue", "Lightsail_20161128.StopInstance",
    "AWS4-HMAC-SHA256 Credential=AKIAADMINEXAMPLE0001/20260101/us-east-1/lightsail/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "20260101T000000Z", "\x00", "a" * 70_000,
]  # fmt: skip


@st.composite
def http_requests(draw: st.DrawFn) -> bytes:
    """One or two HTTP-looking requests, each part drawn around what the HTTP layer checks."""
    out = b""
    for _ in range(draw(st.integers(1, 2))):
        eol = draw(st.sampled_from(["\r\n", "\n", "\r\n", "\r\n", "\r"]))
        method = draw(st.sampled_from(METHODS) | st.text(max_size=8))
        target = draw(st.sampled_from(TARGETS) | st.text(max_size=20))
        version = draw(st.sampled_from(VERSIONS))
        line = " ".join(part for part in (method, target, version) if part)
        headers = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(HEADER_NAMES) | st.text(max_size=10),
                    st.sampled_from(HEADER_VALUES) | st.text(max_size=30),
                ),
                max_size=8,
            )
        )
        repeat = draw(st.sampled_from([0, 0, 0, 99, 101, 200]))
        headers += [("X-R", "r")] * repeat
        text = line + eol + "".join(f"{k}: {v}{eol}" for k, v in headers)
        if draw(st.booleans()):
            text += eol
        body = draw(
            st.binary(max_size=64)
            | st.sampled_from([b"{}", b'{"instanceName": "web-dev"}', b"0\r\n\r\n", b"x" * 70_000])
        )
        out += text.encode("utf-8", "surrogatepass") + body
    return out


@given(st.binary(max_size=2000))
def test_raw_bytes_get_json_answers_or_a_quiet_close(endpoint: Endpoint, raw: bytes) -> None:
    """Any bytes at all: whatever comes back is JSON 1.1-shaped with an input error code.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    check_exchange(endpoint, raw)


@given(http_requests())
def test_http_looking_requests_get_json_answers(endpoint: Endpoint, raw: bytes) -> None:
    """Requests built from odd methods, targets, versions, headers and bodies: JSON errors
    only, statuses from the expected set, no 500.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    check_exchange(endpoint, raw)


# -- (b) signed requests --------------------------------------------------------------------

OPERATIONS = ["StopInstance", "StartInstance", "GetInstance", "GetInstanceState", "GetInstances"]
NAMES = ["web-dev", "web-prod", "web-stopped", "west-dev", "newcomer-dev", "nope-dev"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1", "US-EAST-1"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def targets() -> st.SearchStrategy[str]:
    prefix = "Lightsail_20161128."
    return (
        st.sampled_from([prefix + op for op in OPERATIONS])
        | st.sampled_from(
            ["", prefix, prefix + "RebootInstance", "Lightsail_20161128.stopinstance"]
        )
        | st.text(max_size=30).map(lambda t: prefix + t)
    )


def bodies() -> st.SearchStrategy[bytes]:
    names = st.sampled_from(NAMES)
    as_json = (
        valid_stop_instance_bodies(names=names)
        | valid_stop_instance_bodies(names=instance_names())
        | invalid_stop_instance_bodies()
        | JSON_VALUES
    ).map(lambda value: json.dumps(value).encode())
    return (
        as_json | st.binary(max_size=80) | st.sampled_from([b"", b"{}", b"NaN", b'{"a":1,"a":2}'])
    )


@st.composite
def signed_requests(draw: st.DrawFn, endpoint: Endpoint, *, tamper: bool) -> bytes:
    principal = draw(st.sampled_from(endpoint.principals))
    if draw(st.booleans()):
        # plausible: a real operation on a valid body naming a world instance, in a region the
        # caller's account has, so that answers other than refusals (200, NotFound,
        # OperationFailure) are reached too
        operation = draw(st.sampled_from(OPERATIONS))
        members = draw(valid_stop_instance_bodies(names=st.sampled_from(NAMES)))
        if operation != "StopInstance":
            members.pop("force", None)  # StopInstance's member only
        if operation == "GetInstances":
            # no instance name; an optional page token, forged or garbled when drawn
            # https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html
            members = draw(st.fixed_dictionaries({}, optional={"pageToken": st.text(max_size=40)}))
        body = json.dumps(members).encode()
        target = "Lightsail_20161128." + operation
        region = draw(st.sampled_from(["us-east-1", "us-west-2"]))
    else:
        body = draw(bodies())
        target = draw(targets())
        region = draw(st.sampled_from(REGIONS))
    headers = list(
        signed_request(endpoint, body, principal=principal, target=target, region=region).items()
    )
    if tamper:
        for _ in range(draw(st.integers(1, 3))):
            headers, body = draw(tampered(headers, body))
    content_length = not tamper or draw(st.integers(0, 9)) > 0
    return render(headers, body, content_length=content_length)


@st.composite
def tampered(
    draw: st.DrawFn, headers: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    """One change after signing: what a forger, a broken client or a proxy might do."""
    how = draw(
        st.sampled_from(
            ["drop", "repeat", "replace", "mutate-auth", "signed-headers", "body", "add", "date"]
        )
    )
    names = [k for k, _ in headers]
    if how == "drop" and headers:
        del headers[draw(st.integers(0, len(headers) - 1))]
    elif how == "repeat" and headers:
        headers.append(headers[draw(st.integers(0, len(headers) - 1))])
    elif how == "replace" and headers:
        at = draw(st.integers(0, len(headers) - 1))
        headers[at] = (
            headers[at][0],
            draw(st.sampled_from(HEADER_VALUES[:-1]) | st.text(max_size=40)),
        )
    elif how == "mutate-auth" and "Authorization" in names:
        at = names.index("Authorization")
        value = headers[at][1]
        cut = draw(st.integers(0, len(value)))
        piece = draw(
            st.sampled_from([",", "=", "/", ";", " ", "", "Credential=", "x" * 5000])
            | st.text(max_size=5)
        )
        keep = draw(st.integers(0, 3))
        headers[at] = ("Authorization", value[:cut] + piece + value[cut + keep :])
    elif how == "signed-headers" and "Authorization" in names:
        at = names.index("Authorization")
        signed = draw(
            st.sampled_from(
                [
                    "host;x-amz-date",
                    "host",
                    "content-type;host;x-amz-date;x-amz-target",
                    "a;" * 60 + "b",
                    "HOST;X-AMZ-DATE",
                    "",
                ]
            )
        )
        value = headers[at][1]
        start = value.find("SignedHeaders=") + len("SignedHeaders=")
        end = value.find(",", start)
        headers[at] = ("Authorization", value[:start] + signed + value[end:])
    elif how == "body":
        body = draw(st.binary(max_size=40))
    elif how == "add":
        headers.append(
            (draw(st.sampled_from(HEADER_NAMES[:11])), draw(st.sampled_from(HEADER_VALUES[:-1])))
        )
    elif how == "date" and "X-Amz-Date" in names:
        at = names.index("X-Amz-Date")
        headers[at] = (
            "X-Amz-Date",
            draw(
                st.sampled_from(
                    [
                        "20200101T000000Z",
                        "29991231T235959Z",
                        "20260230T000000Z",
                        "2026",
                        "99999999T999999Z",
                    ]
                )
            ),
        )
    return headers, body


@given(st.data())
def test_signed_requests_get_lightsail_answers(endpoint: Endpoint, data: Any) -> None:
    """Correctly signed requests with drawn operations, regions and bodies: a 200 with a JSON
    object or a Lightsail input error, never ServiceException.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    raw = data.draw(signed_requests(endpoint, tamper=False))
    (answer,) = check_exchange(endpoint, raw)
    assert answer.status in (200, 400), answer


@given(st.data())
def test_tampered_signed_requests_are_refused_as_input_errors(
    endpoint: Endpoint, data: Any
) -> None:
    """Signed requests changed after signing (headers dropped, repeated or replaced, the
    Authorization header mutated, the body or date changed): JSON input errors, or a 200 only
    where the change left the signed request intact.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    raw = data.draw(signed_requests(endpoint, tamper=True))
    check_exchange(endpoint, raw)


def test_the_server_still_serves_after_the_fuzz(endpoint: Endpoint) -> None:
    """The control that the fuzz ran against a working server: a good request gets 200, and the
    server's stderr is empty.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html"""
    check_good_request(endpoint)
    endpoint.check_quiet()
    # the run's tally, shown with -s
    statuses = dict(sorted(endpoint.statuses.items()))
    print(
        f"\nendpoint fuzz: {endpoint.sent} exchanges, answers by status and error {statuses}, "
        f"{endpoint.resets} connections reset after the answer"
    )
