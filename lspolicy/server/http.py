"""The HTTP front: a threaded stdlib server speaking HTTP/1.1 with keep-alive, handing each
request to `Service.handle`. It enforces the size limit before reading a body.

Slow and idle clients are bounded (limits documented in the README's server section):

- the request line and headers must arrive within ``header_timeout`` seconds of the connection
  becoming ready for a request (this is also how long a kept-alive connection may sit idle), and
  the body within ``body_timeout`` seconds of the headers: a total deadline per phase, not a
  per-read timeout, so a client dribbling a byte at a time is cut off too;
- at most ``max_connections`` connections are served at once (one thread each). A new
  connection beyond that evicts the connection that has waited longest for its request (idle
  or still sending headers): the socket is shut down and its thread ends. When every connection
  is busy with a request, the new one is answered ``ServiceUnavailable`` (HTTP 503, which
  botocore retries) from the accepting thread and closed, with no thread started;
- at most ``max_per_address`` of them come from one client address (`MAX_CONNECTIONS_PER_ADDRESS`,
  a quarter of the cap), so one address cannot hold every slot. A new connection from an address
  at its share evicts that address's own longest-waiting connection, and is answered
  ``ServiceUnavailable`` when all of that address's connections are mid-request;
- when the process runs out of file descriptors, accepting pauses briefly instead of spinning.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.utils
import errno
import http.client
import io
import json
import logging
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lspolicy.server.app import JSON_TYPE, Service
from lspolicy.server.auth import ReceivedRequest
from lspolicy.server.errors import ApiError

__all__ = [
    "BODY_TIMEOUT",
    "HEADER_TIMEOUT",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "MAX_CONNECTIONS_PER_ADDRESS",
    "LightsailServer",
    "read_header_block",
    "serve_in_thread",
]

log = logging.getLogger("lspolicy.server")
MAX_BODY = 64 * 1024
HEADER_TIMEOUT = 10.0
"""Seconds for the request line and headers, counted from when the connection is ready."""
BODY_TIMEOUT = 10.0
"""Seconds for the body, counted from the end of the headers."""
MAX_CONNECTIONS = 200
"""Connections served at once (each holds a thread and a file descriptor)."""
MAX_CONNECTIONS_PER_ADDRESS = MAX_CONNECTIONS // 4
"""Connections served at once from one client address: a quarter of `MAX_CONNECTIONS`, so that
one address (one host, or one NAT) leaves three quarters of the slots to the others. Far above
what one SDK client opens (botocore's pool holds 10 connections)."""
_WRITE_TIMEOUT = 10.0
_FD_EXHAUSTED_PAUSE = 0.05


class _DeadlineReader(io.RawIOBase):
    """The socket's input with a total deadline: each read waits only for the time left."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline = time.monotonic()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the client took too long to send the request")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


def _unavailable_response() -> bytes:
    body = json.dumps(
        ApiError(
            "ServiceUnavailable",
            "The server is serving as many connections as it allows.",
            "retry shortly",
        ).body()
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {JSON_TYPE}\r\n"
        "x-amzn-ErrorType: ServiceUnavailable\r\n"
        "Connection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_UNAVAILABLE = _unavailable_response()
_PHRASES = {int(status): status.phrase for status in HTTPStatus}
_date: list[tuple[int, str]] = [(-1, "")]
"""The last second whose ``Date`` was formatted, and its text (replaced whole: thread-safe)."""


def _http_date() -> str:
    """The ``Date`` header's value (RFC 9110's IMF-fixdate, as the stdlib writes it), formatted
    once per second."""
    now = time.time()
    cached = _date[0]
    if cached[0] != int(now):
        cached = _date[0] = (int(now), email.utils.formatdate(now, usegmt=True))
    return cached[1]


_MAX_HEADER_LINE = 65536
"""The longest header line read, as the stdlib's ``http.client`` reads one (``_MAXLINE``)."""
_MAX_HEADERS = 100
"""The most header lines read, as the stdlib's ``http.client`` (``_MAXHEADERS``)."""
_PLAIN_REQUEST_LINE = re.compile(rb"([A-Z]+) ([\x21-\x7e]+) HTTP/1\.1\r\n")
"""A request line the stdlib's ``parse_request`` reads as three words with version 1.1: one
space between the words, no white space of any kind (str.split's, \x85 and \xa0 included) in
the method or the target."""
_PLAIN_HEADER_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*)\r\n")
"""A header line the stdlib's email parser reads as one ``(name, value)``: a token name (no
``From `` line, no continuation), the value stripped of leading blanks as its compat32 policy
strips it, ended by CRLF with no other CR or LF (its line splitting breaks at a lone CR)."""


def _plain_headers(lines: list[bytes]) -> list[tuple[str, str]] | None:
    """The ``(name, value)`` pairs the stdlib's ``http.client.parse_headers`` would give for
    these header lines (latin-1 text, in order, repeats kept), when every line is a plain
    ``name: value`` ended by CRLF and the block ends with an empty CRLF line; None otherwise (the
    stdlib's parser then reads them: `_Handler._read_header_block`)."""
    if not lines or lines[-1] != b"\r\n":
        return None
    pairs: list[tuple[str, str]] = []
    match = _PLAIN_HEADER_LINE.fullmatch
    for i in range(len(lines) - 1):
        found = match(lines[i])
        if found is None:
            return None
        pairs.append((found[1].decode("latin-1"), found[2].decode("latin-1")))
    return pairs


def read_header_block(
    readline: Callable[[int], bytes], message_class: type[http.client.HTTPMessage]
) -> tuple[http.client.HTTPMessage, dict[str, list[str]] | None]:
    """``http.client.parse_headers``: the header lines read with the same limits and errors
    (``LineTooLong``, ``HTTPException``), the same message; plain lines (`_plain_headers`) split
    here without the email parser, and then also grouped by lower-case name (None when the
    email parser read them)."""
    lines: list[bytes] = []
    while True:
        line = readline(_MAX_HEADER_LINE + 1)
        if len(line) > _MAX_HEADER_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            break
    pairs = _plain_headers(lines)
    if pairs is None:
        text = b"".join(lines).decode("iso-8859-1")
        return email.parser.Parser(_class=message_class).parsestr(text), None
    message = message_class()
    lowered: dict[str, list[str]] = {}
    for name, value in pairs:
        message.set_raw(name, value)
        lowered.setdefault(name.lower(), []).append(value)
    return message, lowered


_POST_ONLY = ApiError("InvalidInputException", "Lightsail's JSON protocol takes POST requests.")


@dataclass(slots=True)
class _Slot:
    """A served connection: its client address, whether it waits for a request, since when."""

    address: str
    waiting: bool
    since: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # every response goes out in one write (`_send`); TCP_NODELAY as well, so that no write
    # ever waits for the client's delayed ACK of an earlier one (Nagle's algorithm: ~40 ms)
    disable_nagle_algorithm = True
    server: LightsailServer
    raw_requestline: bytes  # set by the stdlib's handle_one_request before parse_request

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the stdlib's file has per-read timeouts only; ours has deadlines
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        # waiting for (or receiving) a request line and headers: evictable, with a deadline
        self._reader.deadline = time.monotonic() + self.server.header_timeout
        self.server.mark(self.connection, waiting=True)
        super().handle_one_request()

    def parse_request(self) -> bool:
        """The stdlib's parsing, refusing HTTP/0.x: it would answer such a request (a two-word
        request line, or a version 0.x) with a bare body and no status line or headers, which
        no JSON client can read.

        A plain HTTP/1.1 request line (every SDK's) is read here, to the same result as the
        stdlib's, and its header lines with the stdlib's limits and errors; plain ``name:
        value`` lines are split here (`_plain_headers`), anything else goes to the stdlib's
        email parser, as ``http.client.parse_headers`` would (its parser costs more than the
        rest of a request's work together; ``tests/unit/test_server_http_parse.py`` compares
        the two)."""
        self._lowered: dict[str, list[str]] | None = None
        plain = _PLAIN_REQUEST_LINE.fullmatch(self.raw_requestline)
        if plain is None:
            return self._parse_request_stdlib()
        self.command = None  # type: ignore[assignment]  # as the stdlib, until the line is read
        self.request_version = "HTTP/1.1"
        self.requestline = self.raw_requestline[:-2].decode("latin-1")
        self.command, path = plain[1].decode("latin-1"), plain[2].decode("latin-1")
        # the stdlib's gh-87389 guard: a target starting with '//' is reduced to one '/'
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        self.close_connection = False  # HTTP/1.1 on both sides: kept alive unless asked
        try:
            headers = self._read_header_block()
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(err)
            )
            return False
        self.headers = headers
        lowered = self._lowered_headers()
        conntype = lowered.get("connection", ("",))[0].lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive":
            self.close_connection = False
        expect = lowered.get("expect", ("",))[0]
        # the stdlib answers "100 Continue" first; False when that write fails
        return expect.lower() != "100-continue" or bool(self.handle_expect_100())

    def _read_header_block(self) -> http.client.HTTPMessage:
        message, self._lowered = read_header_block(self.rfile.readline, self.MessageClass)
        return message

    def _lowered_headers(self) -> dict[str, list[str]]:
        """Each header name in lower case -> its values, in received order (what
        ``self.headers.get`` returns first is the first of them)."""
        lowered = self._lowered
        if lowered is None:
            lowered = {}
            for name, value in self.headers.raw_items():
                lowered.setdefault(name.lower(), []).append(value)
            self._lowered = lowered
        return lowered

    def _parse_request_stdlib(self) -> bool:
        if not super().parse_request():
            return False
        major = self.request_version.removeprefix("HTTP/").partition(".")[0]
        if int(major) < 1:  # the stdlib has checked it is at most 10 digits
            self.send_error(
                HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                f"Invalid HTTP version ({self.request_version[:32]})",
            )
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        # `serve --verbose` sets INFO: "log every request" means this line, for each one
        if log.isEnabledFor(logging.INFO):
            log.info("%s " + format, self.address_string(), *args)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: tuple[tuple[str, str], ...],
        *,
        length: int | None = None,
    ) -> None:
        self.connection.settimeout(_WRITE_TIMEOUT)
        self.log_request(status)
        # what the stdlib's send_response/send_header/end_headers would buffer (status line,
        # Server, Date, the headers), written with the body in one write, so in one segment:
        # written apart, the client is woken for the head, parses it and sleeps again until the
        # body comes (two wake-ups per call, on a busy machine a wait for a CPU each time)
        lines = [
            f"{self.protocol_version} {status} {_PHRASES.get(status, '')}\r\n"
            f"Server: {self.version_string()}\r\nDate: {_http_date()}\r\n"
        ]
        for name, value in headers:
            lines.append(f"{name}: {value}\r\n")
            if name.lower() == "connection" and value.lower() == "close":
                self.close_connection = True
        lines.append(f"Content-Length: {len(body) if length is None else length}\r\n\r\n")
        self.wfile.write("".join(lines).encode("latin-1") + body)

    def _reject(self, error: ApiError, status: int | None = None) -> None:
        headers = getattr(self, "headers", None)  # unset when the request line was malformed
        target = headers.get("X-Amz-Target") if headers is not None else None
        self.server.service.log_rejection(error, target or "")
        self.close_connection = True
        body = json.dumps(error.body()).encode()
        self._send(
            error.status if status is None else status,
            b"" if self.command == "HEAD" else body,
            (
                ("Content-Type", JSON_TYPE),
                ("x-amzn-ErrorType", error.code),
                ("Connection", "close"),
            ),
            length=len(body),
        )

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every error the stdlib raises itself (malformed request line, unknown method, URI or
        headers too long, HTTP version) in Lightsail's JSON 1.1 error shape, never HTML. Each
        is a problem with the client's request, so each is ``InvalidInputException`` whatever
        the status (505 included): ``ServiceException`` means the server failed."""
        # a malformed request line leaves the version at HTTP/0.9, which would drop the
        # status line and headers: a JSON client could not read the answer at all
        self.request_version = self.protocol_version
        if code == HTTPStatus.NOT_IMPLEMENTED:  # an unknown method: answered as GET is
            self._reject(_POST_ONLY)
            return
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        text = (message or phrase).replace("\r", " ").replace("\n", " ")[:200]
        error = ApiError("InvalidInputException", f"{phrase}: {text}" if text != phrase else phrase)
        self._reject(error, status=code)

    def do_POST(self) -> None:
        self.server.mark(self.connection, waiting=False)
        self._reader.deadline = time.monotonic() + self.server.body_timeout
        lowered = self._lowered_headers()
        content_type = lowered.get("content-type", ("",))[0]
        if content_type.partition(";")[0].strip().lower() != JSON_TYPE:
            # the awsJson1_1 protocol: requests carry Content-Type application/x-amz-json-1.1
            self._reject(
                ApiError(
                    "InvalidInputException",
                    f"The Content-Type {content_type[:64]!r} is not supported.",
                    f"send {JSON_TYPE!r}, as the AWS SDKs do",
                )
            )
            return
        raw_length = lowered.get("content-length", (None,))[0]
        if lowered.get("transfer-encoding", ("",))[0]:
            self._reject(
                ApiError("InvalidInputException", "Chunked request bodies are not supported.")
            )
            return
        try:
            length = int(raw_length) if raw_length is not None else 0
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._reject(
                ApiError(
                    "InvalidInputException", f"The request body must be at most {MAX_BODY} bytes."
                )
            )
            return
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            body = b""
        if len(body) != length:
            self._reject(
                ApiError(
                    "InvalidInputException",
                    f"The request body did not arrive: {len(body)} of {length} bytes "
                    f"within {self.server.body_timeout:g} seconds.",
                )
            )
            return
        # raw_items: the values as parsed (latin-1 text, no surrogates, which is all the email
        # policy's items() would change)
        request = ReceivedRequest.from_target(
            "POST", self.path, tuple(self.headers.raw_items()), body, lowered=lowered
        )
        response = self.server.service.handle(request, source_ip=self.client_address[0])
        self._send(response.status, response.body, response.headers)

    def do_GET(self) -> None:
        self._reject(_POST_ONLY)


class LightsailServer(ThreadingHTTPServer):
    """The emulated endpoint bound to ``(host, port)`` (port 0 picks a free one)."""

    daemon_threads = True
    # closing the server must not wait for idle clients' threads to time out
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of concurrent clients (16 boto3
    # threads in the concurrency tests) overflowed it and saw connections reset
    request_queue_size = 256

    def __init__(
        self,
        service: Service,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        max_per_address: int = MAX_CONNECTIONS_PER_ADDRESS,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.service = service
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self._connections: dict[socket.socket, _Slot] = {}
        self._per_address: Counter[str] = Counter()
        self._connections_lock = threading.Lock()
        self.refused = 0
        """Connections answered ServiceUnavailable because every slot they could use was busy."""
        self.evicted = 0
        """Connections closed to make room while waiting for a request."""

    @property
    def busy(self) -> int:
        """Connections mid-request (not evictable) at this moment."""
        with self._connections_lock:
            return sum(not slot.waiting for slot in self._connections.values())

    def mark(self, connection: socket.socket, *, waiting: bool) -> None:
        """Record whether ``connection`` waits for a request (and may be evicted)."""
        with self._connections_lock:
            slot = self._connections.get(connection)
            if slot is not None:
                slot.waiting, slot.since = waiting, time.monotonic()

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                # the listening socket stays readable: without a pause, the loop spins
                time.sleep(_FD_EXHAUSTED_PAUSE)
            raise

    def _drop(self, connection: socket.socket) -> _Slot | None:
        """Forget ``connection``; the caller holds the lock."""
        slot = self._connections.pop(connection, None)
        if slot is not None:
            self._per_address[slot.address] -= 1
            if not self._per_address[slot.address]:
                del self._per_address[slot.address]
        return slot

    def _make_room(self, address: str) -> bool:
        """Evict a waiting connection if ``address`` is at its share or every slot is taken:
        that address's own longest-waiting one at its share, else the longest-waiting of all.
        False when there is no room and nothing to evict. The caller holds the lock."""
        if self._per_address[address] >= self.max_per_address:
            candidates = [
                (slot.since, c)
                for c, slot in self._connections.items()
                if slot.waiting and slot.address == address
            ]
        elif len(self._connections) >= self.max_connections:
            candidates = [(slot.since, c) for c, slot in self._connections.items() if slot.waiting]
        else:
            return True
        if not candidates:
            return False
        _, victim = min(candidates, key=lambda item: item[0])
        self._drop(victim)
        self.evicted += 1
        with contextlib.suppress(OSError):
            victim.shutdown(socket.SHUT_RDWR)  # its thread's read returns; it ends
        return True

    def process_request(self, request: Any, client_address: Any) -> None:
        address = str(client_address[0])
        with self._connections_lock:
            room = self._make_room(address)
            if room:
                self._connections[request] = _Slot(address, True, time.monotonic())
                self._per_address[address] += 1
            else:
                self.refused += 1
        if not room:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self._connections_lock:
                self._drop(request)
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away (reset, broken pipe, write timeout) is the client's business:
        logged at DEBUG, not printed to stderr with a traceback as socketserver does. Anything
        else is a bug and logged with its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("connection from %s ended: %s", client_address[0], error)
        else:
            log.exception("a connection from %s failed", client_address[0])

    def _refuse(self, request: socket.socket) -> None:
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(_UNAVAILABLE)  # small: fits the socket buffer, or is dropped
        self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._drop(request)
        super().shutdown_request(request)

    @property
    def url(self) -> str:
        """``http://host:port``, ready for ``endpoint_url``."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}"


def serve_in_thread(server: LightsailServer) -> threading.Thread:
    """Start serving on a daemon thread; stop with ``server.shutdown()``."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="lspolicy-serve",
        daemon=True,
    )
    thread.start()
    return thread
