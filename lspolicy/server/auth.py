"""Authenticate a received request by its AWS Signature Version 4, the first step of the pipeline.

The expected signature is computed by botocore's own signer (``botocore.auth.SigV4Auth``), fed
the request exactly as it was received: the raw path and query, the headers the client says it
signed with their received values, the body bytes and the received ``X-Amz-Date``. A request a
boto3 client signed therefore verifies by construction, and any change to a signed part of it
after signing does not.

The signing process: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
The errors (``UnauthenticatedException`` when a request carries no authentication at all,
``AccessDeniedException`` for everything else):
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html

What the HTTP server must pass through unchanged: the method; the path as it appeared in the
request line (still percent-encoded, without the query); the query string after the ``?``; every
header with its value as received (http.server's latin-1 decoding is what clients encode with);
and the body bytes. Nothing here raises for a bad request: every failure is an ``ApiError``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.compat import HTTPHeaders  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]
from botocore.utils import normalize_url_path  # type: ignore[import-untyped]

from lspolicy.server.errors import ApiError

__all__ = [
    "ALGORITHM",
    "MAX_AUTHORIZATION_LENGTH",
    "MAX_QUERY_PARAMETERS",
    "MAX_SIGNED_HEADERS",
    "Authenticated",
    "Credential",
    "HeaderSource",
    "ReceivedRequest",
    "authenticate",
]

ALGORITHM = "AWS4-HMAC-SHA256"
"""The only signing algorithm accepted (SigV4; not SigV4a, not SigV2)."""

MAX_AUTHORIZATION_LENGTH = 4096
"""An Authorization header longer than this is refused before any parsing or hashing."""

MAX_SIGNED_HEADERS = 50
"""A request that says it signed more headers than this is refused before any hashing."""

MAX_QUERY_PARAMETERS = 200
"""A query string with more parameters than this is refused before any hashing."""

HeaderSource = Mapping[str, str] | Sequence[tuple[str, str]]
"""Headers as a mapping, or as the raw ``(name, value)`` list a server received (duplicates kept,
in order). Any object with an ``items()`` method returning pairs, such as http.server's
``self.headers``, is read through that method."""

_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_ACCESS_KEY = re.compile(r"[A-Za-z0-9_.+=@-]{1,128}")
_SCOPE_DATE = re.compile(r"\d{8}")
_SCOPE_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
# A lowercase HTTP field name (RFC 9110 token): SigV4 signs names in lower case.
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]{1,128}")
_PATH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f#?]")
# Query parameters that mean "the signature is in the URL" (a presigned request).
_PRESIGN_PARAMETERS = frozenset({"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"})
# Headers whose meaning would be ambiguous if sent twice.
_SINGLE_HEADERS = (
    "authorization",
    "host",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
)
_REQUIRED_SIGNED = ("host", "x-amz-date")
# Headers that choose what the request does: when present they must be signed, or one signature
# (say SignedHeaders=host;x-amz-date) could be replayed with another X-Amz-Target or body type.
_SIGNED_WHEN_PRESENT = ("content-type", "x-amz-target")
# Used when the access key is unknown, so that the work (and the answer) look the same as for a
# known key with a bad signature.
_DECOY_SECRET = "lspolicy-decoy-secret-that-matches-no-signature"

_FORMAT_TIP = (
    f"expected '{ALGORITHM} Credential=<access key>/<YYYYMMDD>/<region>/<service>/aws4_request, "
    "SignedHeaders=<lowercase;sorted;names>, Signature=<64 hex digits>'"
)
_INVALID_TIP = (
    "check the access key id, the secret access key and the session token, and that the request "
    "was not changed after it was signed"
)


@dataclass(frozen=True, slots=True)
class Credential:
    """One access key in the emulator's world, and the principal it authenticates as.

    ``session_token`` is set for temporary credentials; a request made with them must then carry
    the same value in ``X-Amz-Security-Token``. The secret and the token never appear in a repr.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    principal_arn: str
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """Exactly what the HTTP server received, before any interpretation.

    ``path`` is the request-target's path as it appeared in the request line, still
    percent-encoded; ``query`` the raw text after the first ``?`` (empty if none). Header names
    are looked up case-insensitively; repeated headers are kept.
    """

    method: str
    path: str
    query: str
    headers: HeaderSource
    body: bytes
    _items: tuple[tuple[str, str], ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _lowered: dict[str, list[str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: HeaderSource,
        body: bytes,
        *,
        lowered: dict[str, list[str]] | None = None,
    ) -> ReceivedRequest:
        """Build from the raw request-target of the request line (``/path?query``).

        ``lowered``, when the server has already grouped the headers: each name of ``headers``
        in lower case -> its values in received order, exactly what `lowered_headers` would
        compute (``headers`` must then be a tuple of ``(str, str)`` pairs)."""
        path, _, query = target.partition("?")
        request = cls(method, path, query, headers, body)
        if lowered is not None and isinstance(headers, tuple):
            object.__setattr__(request, "_items", headers)
            object.__setattr__(request, "_lowered", lowered)
        return request

    def header_items(self) -> tuple[tuple[str, str], ...]:
        """Every header as a ``(name, value)`` pair, in received order, duplicates kept (read
        from ``headers`` once: the request is what was received, and is not changed after)."""
        items = self._items
        if items is None:
            items = self._read_headers()[0]
        return items

    def lowered_headers(self) -> Mapping[str, Sequence[str]]:
        """Each header name in lower case -> its values, in received order."""
        lowered = self._lowered
        if lowered is None:
            lowered = self._read_headers()[1]
        return lowered

    def _read_headers(self) -> tuple[tuple[tuple[str, str], ...], dict[str, list[str]]]:
        source: Iterable[tuple[str, str]]
        source = self.headers.items() if hasattr(self.headers, "items") else self.headers
        items: list[tuple[str, str]] = []
        lowered: dict[str, list[str]] = {}
        for raw_name, raw_value in source:
            name, value = str(raw_name), str(raw_value)
            items.append((name, value))
            lowered.setdefault(name.lower(), []).append(value)
        read = tuple(items)
        object.__setattr__(self, "_items", read)
        object.__setattr__(self, "_lowered", lowered)
        return read, lowered

    def header_values(self, name: str) -> tuple[str, ...]:
        """The values of every header called ``name`` (any case), in received order."""
        return tuple(self.lowered_headers().get(name.lower(), ()))


@dataclass(frozen=True, slots=True)
class Authenticated:
    """A request whose signature verified: who signed it, for which region, and when."""

    credential: Credential
    region: str
    """The region named in the credential scope."""
    signed_at: datetime
    """The request's ``X-Amz-Date``, timezone-aware UTC."""


@dataclass(frozen=True, slots=True)
class _Authorization:
    """The parts of a well-formed ``Authorization`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


class _ReceivedRequestSigner(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4 signer, made to sign exactly the headers the client said it signed, with
    the values the server received (botocore itself would pick them from the request)."""

    def __init__(
        self, credentials: Credentials, service: str, region: str, signed: Sequence[tuple[str, str]]
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed = tuple(signed)

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name, value in self._signed:
            headers[name] = value  # an HTTPHeaders assignment appends, keeping repeats
        return headers


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:g} minutes"


def _presigned(query: str) -> bool:
    """Whether the query string carries SigV4 query parameters (a presigned URL)."""
    if not query:
        return False
    return any(
        unquote_plus(pair.partition("=")[0], errors="replace") in _PRESIGN_PARAMETERS
        for pair in query.split("&")
    )


def _show(value: str, limit: int = 64) -> str:
    """Quote a caller's value for a message, cut short if long."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _denied(message: str, tip: str = "") -> ApiError:
    return ApiError("AccessDeniedException", message, tip)


def _invalid(access_key_id: str) -> ApiError:
    """The one answer for an unknown key, a wrong token and a wrong signature: a caller who cannot
    sign learns nothing about which keys exist."""
    return _denied(
        f"the security token or signature for access key {_show(access_key_id)} is invalid",
        _INVALID_TIP,
    )


_PARSED_LIMIT = 1024
"""Entries per parse memo below (least recently used ones go first)."""


@functools.lru_cache(maxsize=_PARSED_LIMIT)
def _signed_header_names(value: str) -> tuple[str, ...] | ApiError:
    """``SignedHeaders``' names, or why they are refused: a function of the text alone, so
    remembered (a client sends the same list with every request)."""
    names = value.split(";")
    if len(names) > MAX_SIGNED_HEADERS:
        return _denied(
            f"the request signs {len(names)} headers, over the {MAX_SIGNED_HEADERS} this "
            "endpoint accepts"
        )
    bad = next((n for n in names if not _HEADER_NAME.fullmatch(n)), None)
    if bad is not None:
        return _denied(f"SignedHeaders holds an invalid header name {_show(bad)}", _FORMAT_TIP)
    if names != sorted(set(names)):
        return _denied("SignedHeaders must list each header once, in sorted order", _FORMAT_TIP)
    return tuple(names)


@functools.lru_cache(maxsize=_PARSED_LIMIT)
def _credential_scope(value: str) -> tuple[str, str, str, str] | ApiError:
    """``Credential``'s access key id, date, region and service, or why it is refused;
    remembered like `_signed_header_names`."""
    scope = value.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return _denied(f"the credential scope {_show(value)} is malformed", _FORMAT_TIP)
    access_key_id, date, region, service, _ = scope
    if not _ACCESS_KEY.fullmatch(access_key_id):
        return _denied(f"the access key id {_show(access_key_id)} is malformed", _FORMAT_TIP)
    if not _SCOPE_DATE.fullmatch(date):
        return _denied(f"the credential scope date {_show(date)} is not YYYYMMDD", _FORMAT_TIP)
    for what, text in (("region", region), ("service", service)):
        if not _SCOPE_NAME.fullmatch(text):
            return _denied(f"the credential scope {what} {_show(text)} is malformed", _FORMAT_TIP)
    return access_key_id, date, region, service


@functools.lru_cache(maxsize=_PARSED_LIMIT)
def _amz_date(amz_date: str) -> datetime | ApiError:
    """``X-Amz-Date`` as a UTC time, or why it is refused: a function of the text alone, so
    remembered (every request of the same second sends the same text)."""
    if not _TIMESTAMP.fullmatch(amz_date):
        return _denied(
            f"X-Amz-Date {_show(amz_date)} is not a timestamp of the form YYYYMMDD'T'HHMMSS'Z'"
        )
    try:
        # the digits' places are fixed (checked above): what strptime accepts for this format,
        # datetime() accepts and refuses alike (a month 13, a 30 February, a second 60)
        return datetime(
            int(amz_date[0:4]),
            int(amz_date[4:6]),
            int(amz_date[6:8]),
            int(amz_date[9:11]),
            int(amz_date[11:13]),
            int(amz_date[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return _denied(f"X-Amz-Date {_show(amz_date)} is not a valid date and time")


_BOTOCORE_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^,\s]+), SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})"
)
"""The header as the AWS SDKs write it. For a value of exactly this form the general reading
below finds the same three parts (no component holds a comma or white space to split or strip
at), so only the parts' own checks remain."""


def _parse_authorization(value: str) -> _Authorization | ApiError:
    usual = _BOTOCORE_AUTHORIZATION.fullmatch(value)
    if usual is not None:
        credential, signed_headers, signature = usual.groups()
        names = _signed_header_names(signed_headers)
        if isinstance(names, ApiError):
            return names
        scope = _credential_scope(credential)
        if isinstance(scope, ApiError):
            return scope
        return _Authorization(*scope, names, signature)
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        return _denied(
            f"unsupported authorization scheme {_show(algorithm)}",
            f"sign with Signature Version 4 ({ALGORITHM!r})",
        )
    parts: dict[str, str] = {}
    for component in rest.split(","):
        name, eq, content = component.strip().partition("=")
        if not eq or name not in {"Credential", "SignedHeaders", "Signature"}:
            return _denied(
                f"the Authorization header is malformed at {_show(component.strip())}", _FORMAT_TIP
            )
        if name in parts:
            return _denied(f"the Authorization header names {name} twice", _FORMAT_TIP)
        parts[name] = content
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in parts]
    if missing:
        return _denied(f"the Authorization header lacks {', '.join(missing)}", _FORMAT_TIP)

    names = _signed_header_names(parts["SignedHeaders"])
    if isinstance(names, ApiError):
        return names
    scope = _credential_scope(parts["Credential"])
    if isinstance(scope, ApiError):
        return scope
    access_key_id, date, region, service = scope
    if not _SIGNATURE.fullmatch(parts["Signature"]):
        return _denied("the signature is not 64 lowercase hex digits", _FORMAT_TIP)
    return _Authorization(access_key_id, date, region, service, names, parts["Signature"])


_SIGNING_KEYS: dict[tuple[str, str, str, str], _Hmac] = {}
_SIGNING_KEYS_LIMIT = 4096
"""Derived signing keys by (secret, scope date, region, service), ready to sign with: each is a
function of exactly those four values (four chained HMACs), so it is derived once a day per
credential and region instead of on every request. Bounded: emptied when full."""


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's signing key: HMAC chain over the scope, starting from ``"AWS4" + secret``.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return key


class _Hmac:
    """HMAC-SHA256 (RFC 2104) under one key, with the key's two padded blocks hashed once:
    ``H((K ^ opad) || H((K ^ ipad) || m))``, each message continuing copies of the two primed
    hashes. The same digest as ``hmac.digest(key, m, "sha256")`` (the tests compare them), at
    less than half the work per message."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = 64  # SHA-256's block size; a longer key is hashed first (RFC 2104, section 2)
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def _signer(secret: str, date: str, region: str, service: str) -> _Hmac:
    """`_Hmac` under `_signing_key`, remembered per (secret, date, region, service): a changed
    secret, another day, region or service is another key."""
    cache_key = (secret, date, region, service)
    signer = _SIGNING_KEYS.get(cache_key)
    if signer is None:
        signer = _Hmac(_signing_key(secret, date, region, service))
        if len(_SIGNING_KEYS) >= _SIGNING_KEYS_LIMIT:
            _SIGNING_KEYS.clear()
        _SIGNING_KEYS[cache_key] = signer
    return signer


@functools.lru_cache(maxsize=256)
def _canonical_uri(path: str) -> str:
    """The canonical URI of a received path, as botocore's signer computes it for every service
    but S3: the path of the URL, dot segments and empty segments removed, then percent-encoded
    (again) with ``/`` and ``~`` kept."""
    return quote(normalize_url_path(urlsplit("http://lightsail.invalid" + path).path), safe="/~")


def _canonical_query(query: Sequence[tuple[str, str]]) -> str:
    """The canonical query string of the decoded pairs: each name and value percent-encoded
    (unreserved characters kept), sorted by name then value, joined by ``&``."""
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_request(
    request: ReceivedRequest,
    query: Sequence[tuple[str, str]],
    signed: Sequence[tuple[str, str]],
    names: Sequence[str],
) -> str:
    """SigV4's canonical request, exactly as botocore's ``SigV4Auth.canonical_request`` builds it
    from the received request (``tests/unit/test_server_auth.py`` compares the two): method,
    canonical URI, canonical query, each signed header ``name:value`` with its values' runs of
    whitespace folded and repeats joined by ``,`` in received order, the signed names, and the
    SHA-256 of the body (the ``X-Amz-Content-SHA256`` header, when sent, has been checked to be
    that same digest)."""
    values: dict[str, list[str]] = {}
    for name, value in signed:
        values.setdefault(name, []).append(" ".join(value.split()))
    lines = [
        request.method.upper(),
        _canonical_uri(request.path),
        _canonical_query(query) if query else "",
    ]
    lines.extend(f"{name}:{','.join(values[name])}" for name in names)
    lines.append("")
    lines.append(";".join(names))
    lines.append(hashlib.sha256(request.body).hexdigest())
    return "\n".join(lines)


def _canonical_request_grouped(
    request: ReceivedRequest,
    query: Sequence[tuple[str, str]],
    grouped: Mapping[str, Sequence[str]],
    names: Sequence[str],
) -> str:
    """`_canonical_request` from the headers grouped by lower-case name (each of ``names`` a
    key of ``grouped``, its values in received order), built in one piece: the same text
    (``tests/unit/test_server_memos.py`` compares the two)."""
    headers = "".join(
        [f"{name}:{','.join([' '.join(v.split()) for v in grouped[name]])}\n" for name in names]
    )
    return (
        f"{request.method.upper()}\n{_canonical_uri(request.path)}\n"
        f"{_canonical_query(query) if query else ''}\n{headers}\n{';'.join(names)}\n"
        f"{hashlib.sha256(request.body).hexdigest()}"
    )


def _reference_signature(
    request: ReceivedRequest,
    auth: _Authorization,
    *,
    query: Sequence[tuple[str, str]],
    headers: Sequence[tuple[str, str]],
    secret: str,
    amz_date: str,
) -> str:
    """The expected signature computed by botocore's own signer (``SigV4Auth``), fed the request
    as received: the reference `_canonical_request` and `_signing_key` must agree with."""
    signer = _ReceivedRequestSigner(
        Credentials(auth.access_key_id, secret),
        auth.service,
        auth.region,
        [(n.lower(), v) for n, v in headers if n.lower() in auth.signed_headers],
    )
    received_headers = HTTPHeaders()
    for name, value in headers:
        received_headers[name] = value
    aws_request = AWSRequest(
        method=request.method,
        # Only the path of this URL is read; the scheme and host play no part in the signature.
        url="http://lightsail.invalid" + request.path,
        headers=received_headers,
        data=request.body,
        # Decoded pairs: botocore re-encodes and sorts them as SigV4 prescribes, so a query
        # encoded either way on the wire ('%20' or '+') gets one canonical form.
        params=list(query),
    )
    aws_request.context["timestamp"] = amz_date
    canonical_request = signer.canonical_request(aws_request)
    string_to_sign = signer.string_to_sign(aws_request, canonical_request)
    return str(signer.signature(string_to_sign, aws_request))


def authenticate(
    request: ReceivedRequest,
    lookup: Callable[[str], Credential | None],
    *,
    service: str = "lightsail",
    regions: Collection[str] | None = None,
    now: Callable[[], datetime] = _utcnow,
    max_skew: timedelta = timedelta(minutes=5),
) -> Authenticated | ApiError:
    """Verify ``request``'s SigV4 signature and say who signed it.

    ``lookup`` maps an access key id to its credential, or ``None`` if there is no such key. Only
    ``service`` is accepted in the credential scope, and only ``regions`` when given. The request
    time (``X-Amz-Date``) must lie within ``max_skew`` of ``now()``, either way; a naive ``now()``
    is taken as UTC.

    Returns ``UnauthenticatedException`` when the request carries no authentication at all, and
    ``AccessDeniedException`` for every other failure. An unknown access key, a wrong session
    token and a wrong signature all get the same message.
    """
    headers = request.header_items()
    lowered = request.lowered_headers()

    presigned = _presigned(request.query)
    if "authorization" not in lowered:
        if presigned:
            return _denied(
                "query-string (presigned URL) authentication is not supported by this endpoint",
                "send the signature in the Authorization header",
            )
        return ApiError(
            "UnauthenticatedException",
            "the request is not signed: it has no Authorization header",
            "sign the request with AWS Signature Version 4, as the AWS SDKs and CLI do",
        )
    for name in _SINGLE_HEADERS:
        if len(lowered.get(name, ())) > 1:
            return _denied(f"the request has more than one {name!r} header")
    if presigned:
        return _denied(
            "the request carries both an Authorization header and a presigned-URL signature",
            "use only one authentication mechanism",
        )

    authorization = lowered["authorization"][0]
    if len(authorization) > MAX_AUTHORIZATION_LENGTH:
        return _denied(
            f"the Authorization header is {len(authorization)} characters, over the "
            f"{MAX_AUTHORIZATION_LENGTH} this endpoint reads"
        )
    auth = _parse_authorization(authorization)
    if isinstance(auth, ApiError):
        return auth

    if auth.service != service:
        return _denied(
            f"the credential scope names service {_show(auth.service)}, but this endpoint is "
            f"{service!r}",
            f"create the client for the {service!r} service",
        )
    if regions is not None and auth.region not in regions:
        return _denied(
            f"the credential scope names region {_show(auth.region)}, which this endpoint does "
            "not serve",
            "regions served: " + ", ".join(sorted(regions)),
        )
    for name in (*_REQUIRED_SIGNED, *(n for n in _SIGNED_WHEN_PRESENT if n in lowered)):
        if name not in auth.signed_headers:
            # Lightsail's CommonErrors: IncompleteSignature, "the request signature does not
            # conform to AWS standards" (HTTP 400)
            return ApiError(
                "IncompleteSignature",
                f"the signature does not cover the {name!r} header",
                f"SignedHeaders must include {' and '.join(map(repr, _REQUIRED_SIGNED))}, and "
                f"{' and '.join(map(repr, _SIGNED_WHEN_PRESENT))} when the request has them",
            )
    absent = next((n for n in auth.signed_headers if n not in lowered), None)
    if absent is not None:
        return _denied(f"signed header {absent!r} is not in the request")

    amz_date = lowered["x-amz-date"][0]
    signed_at = _amz_date(amz_date)
    if isinstance(signed_at, ApiError):
        return signed_at
    if auth.date != amz_date[:8]:
        return _denied(
            f"the credential scope date {auth.date!r} is not the date of X-Amz-Date {amz_date!r}",
            "sign with the scope date taken from the request time",
        )
    current = now()
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    # X-Amz-Date has whole seconds: compare at that resolution, or a request signed exactly
    # max_skew ago is refused for the fraction of a second it spent travelling
    current = current.replace(microsecond=0)
    if abs(current - signed_at) > max_skew:
        direction = "before" if signed_at < current else "after"
        return _denied(
            f"the request was signed at {amz_date!r}, more than {_minutes(max_skew)} "
            f"{direction} the server time "
            f"{current.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)!r}",
            "check the client's clock",
        )

    content_sha256 = lowered.get("x-amz-content-sha256")
    if content_sha256 is not None and content_sha256[0] != hashlib.sha256(request.body).hexdigest():
        return _denied(
            "X-Amz-Content-SHA256 is not the SHA-256 of the request body",
            "the body was changed after signing, or the payload was not signed",
        )
    if not request.path.startswith("/") or _PATH_FORBIDDEN.search(request.path):
        return _denied(f"the request path {_show(request.path)} is not a plain absolute path")
    try:
        query = (
            []
            if not request.query
            else parse_qsl(
                request.query,
                keep_blank_values=True,
                errors="strict",
                max_num_fields=MAX_QUERY_PARAMETERS,
            )
        )
    except UnicodeDecodeError:
        return _denied("the query string is not percent-encoded UTF-8")
    except ValueError:
        return _denied(
            f"the query string has more than {MAX_QUERY_PARAMETERS} parameters, over what "
            "this endpoint reads"
        )

    # Every check above depends only on the request; from here on the answer depends on the key,
    # so every failure gets the same message.
    credential = lookup(auth.access_key_id)
    secret = _DECOY_SECRET if credential is None else credential.secret_access_key
    try:
        # every signed name is in the request (checked above), with its values in received order
        canonical = _canonical_request_grouped(request, query, lowered, auth.signed_headers)
        string_to_sign = (
            f"{ALGORITHM}\n{amz_date}\n{auth.date}/{auth.region}/{auth.service}/aws4_request\n"
            f"{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        )
    except UnicodeEncodeError:
        # a lone surrogate (no HTTP server decodes one): botocore's own signer, whose header
        # container treats such values its own way, decides, as it always did
        expected = _reference_signature(
            request, auth, query=query, headers=headers, secret=secret, amz_date=amz_date
        )
    else:
        signer = _signer(secret, auth.date, auth.region, auth.service)
        expected = signer.hexdigest(string_to_sign.encode("utf-8"))

    signature_ok = hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("ascii"))
    tokens = lowered.get("x-amz-security-token")
    token = None if tokens is None else tokens[0]
    expected_token = None if credential is None else credential.session_token
    if token is None or expected_token is None:
        token_ok = token is None and expected_token is None
    else:
        token_ok = hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8"))
    if credential is None or not (signature_ok and token_ok):
        return _invalid(auth.access_key_id)
    return Authenticated(credential, auth.region, signed_at)
