"""The server's own reading of a request line and its header lines gives exactly what the
stdlib's ``http.server`` / ``http.client.parse_headers`` gave before (it stands in for them on
the plain lines every SDK sends, because the stdlib's email parser cost more than the rest of a
request's work together).

The reference is the stdlib itself, run on the same bytes: field syntax per RFC 9112 section 5
("Field Syntax": ``field-name ":" OWS field-value OWS``, https://www.rfc-editor.org/rfc/rfc9112#section-5),
with the stdlib's limits (``http.client``: 65,536 bytes a line, 100 header lines) and its
answers to what is not plain (continuation lines, a lone CR, a ``From `` line, a bare LF). AWS
documentation says nothing about how an endpoint reads HTTP framing; SigV4 signs the header
values as received ("Create a signed AWS API request", canonical headers:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html), so
the values must come out byte for byte as before.
"""

from __future__ import annotations

import http.client
import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lspolicy.server.http import _Handler, read_header_block

_BOTO_HEADERS = (
    b"Host: 127.0.0.1:8080\r\n"
    b"Accept-Encoding: identity\r\n"
    b"X-Amz-Target: Lightsail_20161128.StopInstance\r\n"
    b"Content-Type: application/x-amz-json-1.1\r\n"
    b"User-Agent: Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1\r\n"
    b"X-Amz-Date: 20261203T170000Z\r\n"
    b"Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261203/eu-west-1/lightsail/"
    b"aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
    + b"0"
    * 64
    + b"\r\n"
    b"amz-sdk-invocation-id: 0b2c9a1e-0000-4000-8000-000000000000\r\n"
    b"amz-sdk-request: attempt=1; max=1\r\n"
    b"Content-Length: 24\r\n"
    b"\r\n"
)

_NAME_CHARS = st.sampled_from(list("aZ-_~!Host:x \tF\x85\xa0\x7f/"))
_VALUE_CHARS = st.sampled_from(list("ab :;=,\t \x00\x85\xa0\xffé\r\n/"))
_ENDS = st.sampled_from(["\r\n", "\r\n", "\r\n", "\n", "\r", "\r\r\n"])


@st.composite
def _header_lines(draw: st.DrawFn) -> bytes:
    """Header blocks, mostly plain, with every kind of line the email parser reads its own way:
    odd names, blanks around values, continuation lines, ``From `` lines, bare LF, lone CR,
    NUL and 8-bit bytes, a missing final empty line (the client closed)."""
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            head = draw(st.sampled_from([" folded", "\tfolded", "From someone", ": no name"]))
            lines.append(head + draw(_ENDS))
            continue
        name = draw(st.text(_NAME_CHARS, min_size=1, max_size=8))
        blank = draw(st.sampled_from(["", " ", "  ", "\t", " \t "]))
        value = draw(st.text(_VALUE_CHARS, max_size=12))
        lines.append(f"{name}:{blank}{value}{draw(_ENDS)}")
    end = draw(st.sampled_from(["\r\n", "\r\n", "\n", ""]))
    return ("".join(lines) + end).encode("latin-1")


def _stdlib(block: bytes) -> tuple[str, Any]:
    try:
        message = http.client.parse_headers(io.BytesIO(block))
    except http.client.HTTPException as exc:
        return type(exc).__name__, str(exc)
    return "ok", list(message.raw_items())


def _ours(block: bytes) -> tuple[str, Any]:
    try:
        message, lowered = read_header_block(io.BytesIO(block).readline, http.client.HTTPMessage)
    except http.client.HTTPException as exc:
        return type(exc).__name__, str(exc)
    items = list(message.raw_items())
    if lowered is not None:  # the grouping handed to the pipeline is that of the items
        grouped: dict[str, list[str]] = {}
        for name, value in items:
            grouped.setdefault(name.lower(), []).append(value)
        assert lowered == grouped
    for name, _ in items:  # the message answers get() as the stdlib's does
        assert message.get(name) == next(v for n, v in items if n.lower() == name.lower())
    return "ok", items


@given(_header_lines())
def test_header_block_reads_as_the_stdlib_reads_it(block: bytes) -> None:
    assert _ours(block) == _stdlib(block)


def test_an_sdk_header_block_takes_the_plain_path() -> None:
    """What boto3 sends is split without the email parser (the point of the fast path), to the
    stdlib's pairs."""
    message, lowered = read_header_block(
        io.BytesIO(_BOTO_HEADERS).readline, http.client.HTTPMessage
    )
    assert lowered is not None
    assert list(message.raw_items()) == _stdlib(_BOTO_HEADERS)[1]
    assert lowered["x-amz-target"] == ["Lightsail_20161128.StopInstance"]


def test_limits_are_the_stdlibs() -> None:
    """A line over 65,536 bytes, or over 100 header lines: the stdlib's exceptions and texts."""
    long_line = b"X-Long: " + b"a" * 65536 + b"\r\n\r\n"
    many = b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    for block in (long_line, many):
        assert _ours(block)[0] != "ok"
        assert _ours(block) == _stdlib(block)
    just_enough = b"".join(b"X-%d: v\r\n" % i for i in range(99)) + b"\r\n"
    assert _ours(just_enough) == _stdlib(just_enough)
    assert _ours(just_enough)[0] == "ok"


class _Recorder(_Handler):
    """A handler with no socket: the request line and headers from bytes, errors recorded."""

    def __init__(
        self, raw_line: bytes, block: bytes
    ) -> None:  # no socket: BaseRequestHandler skipped
        self.raw_requestline = raw_line
        self.rfile = io.BytesIO(block)
        self.wfile = io.BytesIO()
        self.errors: list[int] = []

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.errors.append(code)


def _outcome(handler: _Recorder, ok: bool) -> tuple[Any, ...]:
    fields = (ok, handler.errors, handler.wfile.getvalue())
    if not ok:
        return fields
    return (
        *fields,
        handler.command,
        handler.path,
        handler.request_version,
        handler.requestline,
        handler.close_connection,
        list(handler.headers.raw_items()),
        handler._lowered_headers(),
    )


_LINE_PARTS = st.tuples(
    st.sampled_from(["POST", "GET", "HEAD", "post", "PO ST", ""]),
    st.sampled_from([" ", " ", "  ", "\t"]),
    st.text(st.sampled_from(list("/a?=%~.\x85\xa0 \t")), max_size=10),
    st.sampled_from([" ", " ", "  "]),
    st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/01.1", "HTTP/0.9", "HTTP/2.0", ""]),
    st.sampled_from(["\r\n", "\r\n", "\n", "\r\r\n"]),
)


@given(
    _LINE_PARTS,
    st.one_of(_header_lines(), st.sampled_from([_BOTO_HEADERS, b"Connection: close\r\n\r\n"])),
)
def test_request_line_reads_as_the_stdlib_reads_it(parts: tuple[str, ...], block: bytes) -> None:
    """`_Handler.parse_request` (which reads a plain HTTP/1.1 line itself) against the stdlib's
    path it used to take (`_Handler._parse_request_stdlib`) on the same bytes: the same answer,
    errors, bytes written (``100 Continue``), request attributes and headers."""
    method, gap, target, gap2, version, end = parts
    raw = f"{method}{gap}{target}{gap2}{version}{end}".encode("latin-1")
    ours = _Recorder(raw, block)
    reference = _Recorder(raw, block)
    reference._lowered = None
    assert _outcome(ours, ours.parse_request()) == _outcome(
        reference, reference._parse_request_stdlib()
    )


def test_plain_line_fields() -> None:
    """The SDK's request line, ``Connection: close`` and ``Expect: 100-continue`` as the stdlib
    treats them (RFC 9112 section 9.6 for close; RFC 9110 section 10.1.1 for 100-continue)."""
    for block, closes, written in (
        (_BOTO_HEADERS, False, b""),
        (b"Connection: close\r\n\r\n", True, b""),
        (b"Expect: 100-continue\r\n\r\n", False, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (b"Connection: keep-alive\r\n\r\n", False, b""),
    ):
        handler = _Recorder(b"POST //x/ HTTP/1.1\r\n", block)
        assert handler.parse_request()
        assert (handler.command, handler.path, handler.request_version) == (
            "POST",
            "/x/",
            "HTTP/1.1",
        )
        assert handler.close_connection is closes
        assert handler.wfile.getvalue() == written
