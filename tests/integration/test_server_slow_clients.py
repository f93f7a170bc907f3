"""Slow and idle clients cannot starve the endpoint: deadlines for headers and body, a cap on
connections, and a real boto3 client still answered within its normal timeout while many idle
sockets are held open.

botocore's default timeouts (60 s connect and read) and its retry of HTTP 503:
https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
The answer a client gets is Lightsail's JSON error shape:
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
"""

from __future__ import annotations

import errno
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from serverwire import sign

from lspolicy.server.app import Service
from lspolicy.server.http import LightsailServer, serve_in_thread
from lspolicy.server.state import StateStore
from lspolicy.server.world import World, load_world

WORLD = Path(__file__).resolve().parent / "worlds" / "errors.yaml"
CAP = 16
PER_ADDRESS = 4
TIMEOUT = 1.5


@contextmanager
def limited_server() -> Iterator[tuple[LightsailServer, World]]:
    world = load_world(WORLD)
    store = StateStore(":memory:")
    server = LightsailServer(
        Service(world, store),
        header_timeout=TIMEOUT,
        body_timeout=TIMEOUT,
        max_connections=CAP,
        max_per_address=PER_ADDRESS,
    )
    thread = serve_in_thread(server)
    try:
        yield server, world
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        store.close()


def client(server: LightsailServer, world: World, timeout: float = 5.0) -> object:
    admin = next(p for p in world.principals.values() if p.name == "admin")
    return boto3.client(
        "lightsail",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=admin.access_key_id,
        aws_secret_access_key=admin.secret_access_key,
        config=Config(
            retries={"total_max_attempts": 1},
            connect_timeout=timeout,
            read_timeout=timeout,
        ),
    )


def connect(server: LightsailServer, source: str | None = None) -> socket.socket:
    """A connection to ``server``, from the loopback address ``source`` when given (on Linux
    every 127.x.y.z is the local host, so a test can be a second client address)."""
    host, port = server.server_address[:2]
    return socket.create_connection(
        (str(host), int(port)), timeout=10, source_address=(source, 0) if source else None
    )


def get_instance_state_from(server: LightsailServer, world: World, source: str) -> bytes:
    """admin's signed GetInstanceState of web-dev, sent from ``source``: the raw answer."""
    admin = next(p for p in world.principals.values() if p.name == "admin")
    body = json.dumps({"instanceName": "web-dev"}).encode()
    headers = sign(
        server.url,
        body,
        access_key_id=admin.access_key_id,
        secret=admin.secret_access_key,
        target="Lightsail_20161128.GetInstanceState",
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raw = f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with connect(server, source) as sock:
        sock.sendall(raw.encode() + body)
        return read_all(sock, 5)


def read_all(sock: socket.socket, limit: float) -> bytes:
    """Everything the server sends until it closes, within ``limit`` seconds."""
    sock.settimeout(limit)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_a_boto3_call_is_answered_while_many_idle_sockets_are_held() -> None:
    """300 connections that never send a byte (the cap is 16): a real boto3 client with a 5 s
    timeout still gets its answer, and the server holds no more threads than the cap.
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html"""
    with limited_server() as (server, world), ExitStack() as held:
        before = threading.active_count()
        for _ in range(300):
            held.enter_context(connect(server))
        time.sleep(0.3)
        assert threading.active_count() <= before + CAP + 2
        started = time.monotonic()
        state = client(server, world).get_instance_state(instanceName="web-dev")  # type: ignore[attr-defined]
        assert state["state"]["name"] == "running"
        assert time.monotonic() - started < 5
        assert server.evicted >= 300 - CAP


def test_headers_dribbled_a_byte_at_a_time_are_cut_off_at_the_deadline() -> None:
    """A client sending its headers slowly loses the connection when the header deadline
    passes, however often it sends a byte.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    with limited_server() as (server, _), connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\n")
        closed = False
        while time.monotonic() - started < TIMEOUT + 3:
            try:
                sock.sendall(b"X")
                time.sleep(0.1)
            except OSError:
                closed = True
                break
            sock.settimeout(0.01)
            try:
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed
        assert time.monotonic() - started < TIMEOUT + 3


def test_a_body_shorter_than_its_content_length_gets_an_error_at_the_deadline() -> None:
    """Content-Length 100 with 10 bytes sent: the server answers InvalidInputException (JSON,
    x-amzn-ErrorType) once the body deadline passes and closes the connection.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    with limited_server() as (server, _), connect(server) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"Content-Length: 100\r\n\r\n0123456789"
        )
        answer = read_all(sock, TIMEOUT + 3)
        assert time.monotonic() - started < TIMEOUT + 3
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer
        assert b"x-amzn-ErrorType: InvalidInputException" in head
        assert json.loads(body)["__type"] == "InvalidInputException"


def test_when_every_slot_is_busy_a_new_connection_is_refused_cheaply() -> None:
    """With every connection mid-request (headers sent, body pending; from CAP / PER_ADDRESS
    addresses, each at its share), one more is answered ServiceUnavailable (HTTP 503, which
    botocore retries) and closed, without a thread.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    with limited_server() as (server, _), ExitStack() as held:
        for i in range(CAP):
            source = f"127.0.0.{1 + i // PER_ADDRESS}"
            busy(server, held.enter_context(connect(server, source)))
        before = threading.active_count()
        with connect(server, "127.0.1.1") as extra:
            answer = read_all(extra, 3)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503"), answer
        assert b"x-amzn-ErrorType: ServiceUnavailable" in head
        assert json.loads(body)["__type"] == "ServiceUnavailable"
        assert threading.active_count() <= before
        assert server.refused == 1


def test_running_out_of_file_descriptors_pauses_accepting_instead_of_spinning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When accept() fails with EMFILE the listening socket stays readable; the loop pauses
    between attempts instead of spinning a core, and serves again once descriptors are free.
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html"""
    with limited_server() as (server, world):
        calls = 0

        def exhausted(self: object) -> tuple[socket.socket, object]:
            nonlocal calls
            calls += 1
            raise OSError(errno.EMFILE, "Too many open files")

        with monkeypatch.context() as patch:
            patch.setattr(socketserver.TCPServer, "get_request", exhausted)
            with connect(server):  # pending: it keeps the listening socket readable
                time.sleep(1.0)
            assert 0 < calls <= 40, calls  # unpaused: hundreds of thousands a second
        state = client(server, world).get_instance_state(instanceName="web-dev")  # type: ignore[attr-defined]
        assert state["state"]["name"] == "running"


def busy(server: LightsailServer, sock: socket.socket) -> socket.socket:
    """Make ``sock`` mid-request (headers sent, the body they announce never comes), and wait
    until the server has read the headers: only then is the connection no longer evictable."""
    before = server.busy
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
        b"Content-Length: 10\r\n\r\n"
    )
    deadline = time.monotonic() + 5
    while server.busy == before and time.monotonic() < deadline:
        time.sleep(0.005)
    assert server.busy == before + 1
    return sock


def test_one_address_cannot_take_every_slot() -> None:
    """One client address opening as many mid-request connections as the whole cap gets only
    its share (PER_ADDRESS); the rest are answered ServiceUnavailable (HTTP 503, JSON), and a
    second address is still served. Before the per-address share, the second address got 503.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    with limited_server() as (server, world), ExitStack() as held:
        for _ in range(PER_ADDRESS):
            busy(server, held.enter_context(connect(server, "127.0.0.1")))
        refused = []
        for _ in range(CAP - PER_ADDRESS):
            sock = held.enter_context(connect(server, "127.0.0.1"))
            answer = read_all(sock, 3)
            assert answer.startswith(b"HTTP/1.1 503"), answer
            assert b"x-amzn-ErrorType: ServiceUnavailable" in answer
            refused.append(json.loads(answer.partition(b"\r\n\r\n")[2])["__type"])
        assert refused == ["ServiceUnavailable"] * (CAP - PER_ADDRESS)
        assert server.refused == CAP - PER_ADDRESS
        answer = get_instance_state_from(server, world, "127.0.0.2")
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["state"]["name"] == "running"


def test_idle_connections_beyond_an_address_share_evict_its_own_oldest() -> None:
    """Idle connections from one address beyond its share evict that address's own oldest
    idle connection, never another address's: an idle connection from a second address
    survives 10 * CAP idle ones from the first, and is then served on it.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    with limited_server() as (server, world), ExitStack() as held:
        other = held.enter_context(connect(server, "127.0.0.2"))
        time.sleep(0.1)
        before = threading.active_count()
        for _ in range(10 * CAP):
            held.enter_context(connect(server, "127.0.0.1"))
        # the server accepts and evicts on its own thread: on a loaded machine that can take
        # longer than the connects, so wait for it (bounded) rather than a fixed pause
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            server.evicted < 10 * CAP - PER_ADDRESS
            or threading.active_count() > before + PER_ADDRESS + 2
        ):
            time.sleep(0.05)
        assert threading.active_count() <= before + PER_ADDRESS + 2
        assert server.evicted >= 10 * CAP - PER_ADDRESS
        assert server.refused == 0
        admin = next(p for p in world.principals.values() if p.name == "admin")
        body = json.dumps({"instanceName": "web-dev"}).encode()
        headers = sign(
            server.url,
            body,
            access_key_id=admin.access_key_id,
            secret=admin.secret_access_key,
            target="Lightsail_20161128.GetInstanceState",
        )
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        other.sendall(
            f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        answer = read_all(other, 5)
        assert answer.startswith(b"HTTP/1.1 200"), answer
