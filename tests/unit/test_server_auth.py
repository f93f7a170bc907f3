"""SigV4 authentication of received requests, checked against requests botocore itself signs.

The signing process: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
The error codes: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html

botocore's ``SigV4Auth.add_auth`` stamps ``request.context["timestamp"]`` from
``botocore.auth.get_current_datetime()`` (naive UTC), overwriting anything set before, so tests
freeze the signing time by patching that function.
"""

from __future__ import annotations

import hashlib
import http.client
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence
from hypothesis import given
from hypothesis import strategies as st

from lspolicy.server.auth import (
    MAX_AUTHORIZATION_LENGTH,
    MAX_SIGNED_HEADERS,
    Authenticated,
    Credential,
    ReceivedRequest,
    authenticate,
)
from lspolicy.server.errors import ApiError

SIGNED_AT = datetime(2026, 1, 15, 12, 0, 0)  # naive UTC, as botocore's clock returns
NOW = SIGNED_AT.replace(tzinfo=UTC)
HOST = "localhost:8123"
REGION = "us-east-1"
TARGET = "Lightsail_20161128.StopInstance"
BODY = b'{"instanceName": "web-1"}'

ALICE = Credential("AKIAALICE00000000001", "alice-secret", "arn:aws:iam::111122223333:user/alice")
TEMP = Credential(
    "ASIATEMP000000000001",
    "temp-secret",
    "arn:aws:sts::111122223333:assumed-role/ops/session",
    session_token="FwoGZXIvYXdzEXAMPLETOKEN",
)
KEYS = {c.access_key_id: c for c in (ALICE, TEMP)}

DENIED = "AccessDeniedException"
UNAUTHENTICATED = "UnauthenticatedException"


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        yield


def wire(request: AWSRequest) -> ReceivedRequest:
    """What a server receives for a signed AWSRequest: the prepared URL split into the raw path
    and query, the headers as sent (plus the Host the HTTP client adds), the body bytes."""
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = [("Host", HOST)]
    for name, value in prepared.headers.items():
        headers.append((name, value.decode("latin-1") if isinstance(value, bytes) else value))
    body = prepared.body or b""
    return ReceivedRequest(
        prepared.method,
        url.path,
        url.query,
        headers,
        body.encode() if isinstance(body, str) else body,
    )


def sign(
    *,
    body: bytes = BODY,
    path: str = "/",
    query: str = "",
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    credential: Credential = ALICE,
    secret: str | None = None,
    token: str | None = None,
    service: str = "lightsail",
    region: str = REGION,
    at: datetime = SIGNED_AT,
    signer: type[SigV4Auth] = SigV4Auth,
) -> ReceivedRequest:
    """Sign a StopInstance-shaped request with botocore and return it as received."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}{path}" + (f"?{query}" if query else ""),
        headers={
            "X-Amz-Target": TARGET,
            "Content-Type": "application/x-amz-json-1.1",
            **(headers or {}),
        },
        data=body,
        params=dict(params or {}),
    )
    keys = Credentials(
        credential.access_key_id,
        credential.secret_access_key if secret is None else secret,
        credential.session_token if token is None else token,
    )
    with frozen(at):
        signer(keys, service, region).add_auth(request)
    return wire(request)


def check(request: ReceivedRequest, **kwargs: Any) -> Authenticated | ApiError:
    kwargs.setdefault("now", lambda: NOW)
    return authenticate(request, KEYS.get, **kwargs)


def with_header(request: ReceivedRequest, name: str, value: str | None) -> ReceivedRequest:
    """The request with every ``name`` header replaced by one with ``value`` (or removed)."""
    kept = [(n, v) for n, v in request.header_items() if n.lower() != name.lower()]
    if value is not None:
        kept.append((name, value))
    return replace(request, headers=kept)


def authorization(request: ReceivedRequest) -> str:
    (value,) = request.header_values("Authorization")
    return value


def denied(result: Authenticated | ApiError) -> str:
    assert isinstance(result, ApiError), result
    assert result.code == DENIED, result
    return result.message


# --- success ----------------------------------------------------------------------------------


def test_botocore_signed_request_authenticates() -> None:
    """A request signed by botocore's SigV4 signer verifies, naming the key's principal, the
    scope's region and the X-Amz-Date.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    result = check(sign(region="eu-west-2"))
    assert result == Authenticated(ALICE, "eu-west-2", NOW)


def test_real_boto3_client_request_authenticates() -> None:
    """A StopInstance call made by a real boto3 client (captured just before it is sent) verifies,
    with its session token.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    client = boto3.Session(
        aws_access_key_id=TEMP.access_key_id,
        aws_secret_access_key=TEMP.secret_access_key,
        aws_session_token=TEMP.session_token,
        region_name=REGION,
    ).client("lightsail", endpoint_url=f"http://{HOST}")
    sent: list[Any] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        sent.append(request)
        raw = mock.Mock()
        raw.stream.return_value = iter([b'{"operations": []}'])
        return AWSResponse(request.url, 200, {}, raw)

    client.meta.events.register("before-send", capture)
    with frozen(SIGNED_AT):
        client.stop_instance(instanceName="web-1")
    (prepared,) = sent
    url = urlsplit(prepared.url)
    headers = [("Host", HOST)] + [
        (n, v.decode("latin-1") if isinstance(v, bytes) else v) for n, v in prepared.headers.items()
    ]
    received = ReceivedRequest(prepared.method, url.path, url.query, headers, prepared.body)
    assert check(received, regions={REGION}) == Authenticated(TEMP, REGION, NOW)
    assert "x-amz-target" in authorization(received)
    tampered = with_header(received, "X-Amz-Target", "Lightsail_20161128.DeleteInstance")
    denied(check(tampered))


def test_headers_as_mapping_pairs_or_http_message() -> None:
    """Headers are looked up case-insensitively whether given as a mapping, as (name, value)
    pairs or as an http.client message, as header names are case-insensitive in SigV4.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign()
    pairs = [(n.upper(), v) for n, v in request.header_items()]
    message = http.client.parse_headers(
        io.BytesIO("".join(f"{n}: {v}\r\n" for n, v in pairs).encode("latin-1") + b"\r\n")
    )
    for headers in (pairs, dict(pairs), message):
        assert isinstance(check(replace(request, headers=headers)), Authenticated)
    assert ReceivedRequest.from_target("POST", "/a?b=c", pairs, b"").query == "b=c"


def test_unsigned_headers_may_change() -> None:
    """Headers outside SignedHeaders (User-Agent, amz-sdk-request) are not protected and may
    differ from what was signed.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = with_header(sign(), "User-Agent", "something-else/1.0")
    assert isinstance(check(request), Authenticated)


def test_header_value_whitespace_is_folded() -> None:
    """Canonical header values are trimmed and runs of spaces folded to one, so a signed value's
    spacing may change in transit but its words may not.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign(headers={"X-Amz-Meta-Note": "  two   spaced\twords "})
    assert "x-amz-meta-note" in authorization(request)
    assert isinstance(check(request), Authenticated)
    assert isinstance(
        check(with_header(request, "X-Amz-Meta-Note", "two spaced words")), Authenticated
    )
    denied(check(with_header(request, "X-Amz-Meta-Note", "two spaced word")))


def test_repeated_signed_header_values_join_in_order() -> None:
    """A signed header sent twice is canonicalised as its values joined by commas, in order.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = AWSRequest(method="POST", url=f"http://{HOST}/", data=BODY)
    request.headers = HTTPHeaders()
    request.headers["X-Amz-Target"] = TARGET
    request.headers["X-Amz-Meta-Tag"] = "first"
    request.headers["X-Amz-Meta-Tag"] = "second"
    with frozen(SIGNED_AT):
        SigV4Auth(
            Credentials(ALICE.access_key_id, ALICE.secret_access_key), "lightsail", REGION
        ).add_auth(request)
    # A prepared request keeps one value per name, so read the signed request's own headers.
    received = ReceivedRequest("POST", "/", "", [("Host", HOST), *request.headers.items()], BODY)
    assert received.header_values("x-amz-meta-tag") == ("first", "second")
    assert isinstance(check(received), Authenticated)
    swapped = [
        (n, {"first": "second", "second": "first"}.get(v, v)) for n, v in received.header_items()
    ]
    denied(check(replace(received, headers=swapped)))


# --- path and query canonicalization ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/a/b", "/a%20b/c%2Fd", "/a/./b/../c", "//double//slashes/", "/caf%C3%A9/~tilde"],
)
def test_path_canonicalization_matches_botocore(path: str) -> None:
    """The path is given raw (still percent-encoded) and canonicalised by botocore's own rules
    (dot segments removed, each segment encoded again), so any path botocore signs verifies.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign(path=path)
    assert request.path == path
    assert isinstance(check(request), Authenticated)
    denied(check(replace(request, path=path.rstrip("/") + "/x")))


@pytest.mark.parametrize("path", ["", "*", "relative/path", "/with space", "/frag#ment"])
def test_path_that_is_not_a_plain_absolute_path_is_denied(path: str) -> None:
    """A request target that is not an absolute path cannot have a canonical URI.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    assert "path" in denied(check(replace(sign(), path=path)))


PARAMS = {"b": "two words", "a": "1", "tilde": "~x", "uni": "é/ü", "plus": "1+1", "empty": ""}


def test_query_signed_from_params_verifies() -> None:
    """Query parameters botocore signed from ``params`` (sent form-encoded, spaces as '+') are
    decoded and re-encoded to the canonical query string, so they verify.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign(params=PARAMS)
    assert "+" in request.query
    assert isinstance(check(request), Authenticated)


def test_query_signed_from_encoded_url_verifies() -> None:
    """A query already percent-encoded in the URL (as botocore's serializers do) verifies, in
    any parameter order on the wire, but not with a changed value or an extra parameter.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign(query=percent_encode_sequence(PARAMS))
    assert "%20" in request.query
    assert isinstance(check(request), Authenticated)
    reordered = "&".join(reversed(request.query.split("&")))
    assert isinstance(check(replace(request, query=reordered)), Authenticated)
    denied(check(replace(request, query=request.query.replace("two", "too"))))
    denied(check(replace(request, query=request.query + "&extra=1")))
    denied(check(replace(request, query="")))


def test_query_that_is_not_utf8_is_denied() -> None:
    """A query string whose percent-escapes are not UTF-8 has no canonical form.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    assert "query" in denied(check(replace(sign(), query="a=%ff")))


# --- unauthenticated --------------------------------------------------------------------------


def test_unsigned_request_is_unauthenticated() -> None:
    """A request with no Authorization header and no presigned query is UnauthenticatedException.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    request = with_header(sign(), "Authorization", None)
    result = check(request)
    assert isinstance(result, ApiError)
    assert result.code == UNAUTHENTICATED
    assert result.status == 400


def test_presigned_query_is_denied_not_unauthenticated() -> None:
    """A presigned URL carries authentication, which this endpoint does not accept in the query.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = AWSRequest(method="POST", url=f"http://{HOST}/", data=BODY)
    with frozen(SIGNED_AT):
        SigV4QueryAuth(
            Credentials(ALICE.access_key_id, ALICE.secret_access_key), "lightsail", REGION
        ).add_auth(request)
    received = wire(request)
    assert "X-Amz-Signature" in received.query
    assert "presigned" in denied(check(received))
    both = sign(query=received.query)
    assert "presigned" in denied(check(both))


# --- malformed Authorization ------------------------------------------------------------------

SIG = "0" * 64
GOOD_SCOPE = f"{ALICE.access_key_id}/20260115/{REGION}/lightsail/aws4_request"
GOOD_HEADERS = "content-type;host;x-amz-date;x-amz-target"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        f"AWS {ALICE.access_key_id}:c2lnbmF0dXJl",
        f"AWS4-HMAC-SHA1 Credential={GOOD_SCOPE}, SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
        f"AWS4-ECDSA-P256-SHA256 Credential={GOOD_SCOPE}, SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders={GOOD_HEADERS}",
        f"AWS4-HMAC-SHA256 SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, Credential={GOOD_SCOPE}, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders={GOOD_HEADERS}, Signature={SIG}, Extra=1",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE} SignedHeaders={GOOD_HEADERS} Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders={GOOD_HEADERS}, Signature={SIG[:-1]}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders={GOOD_HEADERS}, Signature={SIG.upper()}A",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;content-type;x-amz-date, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=Host;X-Amz-Date, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=host;host;x-amz-date, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE}, SignedHeaders=, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace('/aws4_request', '/aws4')}, SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace('/lightsail/', '/')}, SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace('20260115', '2026-01-15')}, SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential=/20260115/{REGION}/lightsail/aws4_request, SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
        f"AWS4-HMAC-SHA256 Credential={GOOD_SCOPE.replace(REGION, 'us east')}, SignedHeaders={GOOD_HEADERS}, Signature={SIG}",
    ],
)
def test_malformed_authorization_is_denied(value: str) -> None:
    """An Authorization header not of the form 'AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
    SERVICE/aws4_request, SignedHeaders=..., Signature=...' is refused, before any key lookup.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = with_header(sign(), "Authorization", value)
    result = authenticate(request, pytest.fail, now=lambda: NOW)
    denied(result)


def test_overlong_authorization_is_denied_before_any_work() -> None:
    """An Authorization header over the size bound is refused before parsing or lookup.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    value = authorization(sign()) + "," + " " * MAX_AUTHORIZATION_LENGTH
    request = with_header(sign(), "Authorization", value)
    assert "characters" in denied(authenticate(request, pytest.fail, now=lambda: NOW))


def test_too_many_signed_headers_is_denied_before_any_work() -> None:
    """More signed headers than the bound is refused before lookup or hashing.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    extra = {f"X-Amz-Meta-H{i:03d}": "v" for i in range(MAX_SIGNED_HEADERS)}
    request = sign(headers=extra)
    with mock.patch.object(SigV4Auth, "signature", side_effect=AssertionError("hashed")):
        message = denied(authenticate(request, pytest.fail, now=lambda: NOW))
    assert str(MAX_SIGNED_HEADERS) in message
    # At the bound itself the request is fine.
    fewer = {f"X-Amz-Meta-H{i:03d}": "v" for i in range(MAX_SIGNED_HEADERS - 5)}
    assert isinstance(check(sign(headers=fewer)), Authenticated)


def test_repeated_authorization_or_date_is_denied() -> None:
    """A request with two Authorization (or X-Amz-Date) headers is ambiguous and refused.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign()
    for name in ("Authorization", "X-Amz-Date"):
        (value,) = request.header_values(name)
        doubled = replace(request, headers=[*request.header_items(), (name, value)])
        assert "more than one" in denied(check(doubled))


# --- scope --------------------------------------------------------------------------------------


def test_wrong_service_is_denied() -> None:
    """A signature scoped to another service is refused.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    assert "'ec2'" in denied(check(sign(service="ec2")))
    assert isinstance(check(sign(service="ec2"), service="ec2"), Authenticated)


def test_region_outside_served_regions_is_denied() -> None:
    """A signature scoped to a region the endpoint does not serve is refused; without a region
    list any region is accepted.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign(region="ap-south-1")
    assert "'ap-south-1'" in denied(check(request, regions={"us-east-1", "eu-west-1"}))
    assert check(request) == Authenticated(ALICE, "ap-south-1", NOW)
    assert isinstance(check(sign(), regions={"us-east-1"}), Authenticated)


def test_scope_date_must_be_the_request_date() -> None:
    """The credential scope's date must be the date part of X-Amz-Date.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign()
    moved = authorization(request).replace("/20260115/", "/20260114/")
    assert "date" in denied(check(with_header(request, "Authorization", moved)))


# --- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(minutes=6), timedelta(minutes=-6), timedelta(days=1)])
def test_skew_beyond_bound_is_denied(offset: timedelta) -> None:
    """A request signed more than the allowed skew before or after the server's time is refused.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    message = denied(check(sign(), now=lambda: NOW + offset))
    assert ("before" if offset > timedelta(0) else "after") in message


@pytest.mark.parametrize(
    "offset", [timedelta(0), timedelta(minutes=5), timedelta(minutes=-5), timedelta(minutes=-4)]
)
def test_skew_within_bound_is_accepted(offset: timedelta) -> None:
    """A request within the allowed skew, either way and at the bound, verifies.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    assert isinstance(check(sign(), now=lambda: NOW + offset), Authenticated)
    naive = (NOW + offset).replace(tzinfo=None)
    assert isinstance(check(sign(), now=lambda: naive), Authenticated)


def test_max_skew_is_configurable() -> None:
    """The skew bound is a parameter.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    later = NOW + timedelta(minutes=10)
    denied(check(sign(), now=lambda: later))
    assert isinstance(
        check(sign(), now=lambda: later, max_skew=timedelta(minutes=15)), Authenticated
    )


@pytest.mark.parametrize(
    "value", ["2026-01-15T12:00:00Z", "20260115T120000", "20261399T120000Z", "20260115T250000Z", ""]
)
def test_unparseable_x_amz_date_is_denied(value: str) -> None:
    """X-Amz-Date must be a valid ISO 8601 basic timestamp, YYYYMMDD'T'HHMMSS'Z'.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    assert "X-Amz-Date" in denied(check(with_header(sign(), "X-Amz-Date", value)))


def test_missing_x_amz_date_is_denied() -> None:
    """A request without X-Amz-Date is refused.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    assert "x-amz-date" in denied(check(with_header(sign(), "X-Amz-Date", None)))


class _SkipHeader(SigV4Auth):
    skipped = ""

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = super().headers_to_sign(request)
        del headers[self.skipped]
        return headers


@pytest.mark.parametrize("name", ["host", "x-amz-date"])
def test_host_and_date_must_be_signed(name: str) -> None:
    """The signature must cover the host and x-amz-date headers.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    signer = type("Skip", (_SkipHeader,), {"skipped": name})
    request = sign(signer=signer)
    assert name not in authorization(request).split("SignedHeaders=")[1].split(",")[0].split(";")
    result = check(request)
    # Lightsail's CommonErrors: IncompleteSignature, "does not conform to AWS standards"
    # https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
    assert isinstance(result, ApiError) and result.code == "IncompleteSignature", result
    assert repr(name) in result.message


def test_signed_header_missing_from_request_is_denied() -> None:
    """A header named in SignedHeaders but absent from the request is refused.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    assert "'x-amz-target'" in denied(check(with_header(sign(), "X-Amz-Target", None)))


# --- payload hash -------------------------------------------------------------------------------


def test_content_sha256_must_match_body() -> None:
    """X-Amz-Content-SHA256, when present, must be the SHA-256 of the body actually received.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    digest = hashlib.sha256(BODY).hexdigest()
    request = sign(headers={"X-Amz-Content-SHA256": digest})
    assert isinstance(check(request), Authenticated)
    changed = replace(request, body=BODY + b" ")
    assert "X-Amz-Content-SHA256" in denied(check(changed))
    unsigned = sign(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    assert "X-Amz-Content-SHA256" in denied(check(unsigned))


# --- tampering and wrong keys -----------------------------------------------------------------


def _tamper_body(r: ReceivedRequest) -> ReceivedRequest:
    return replace(r, body=r.body.replace(b"web-1", b"web-2"))


def _tamper_target(r: ReceivedRequest) -> ReceivedRequest:
    return with_header(r, "X-Amz-Target", "Lightsail_20161128.DeleteInstance")


def _tamper_content_type(r: ReceivedRequest) -> ReceivedRequest:
    return with_header(r, "Content-Type", "application/json")


def _tamper_host(r: ReceivedRequest) -> ReceivedRequest:
    return with_header(r, "Host", "localhost:9999")


def _tamper_path(r: ReceivedRequest) -> ReceivedRequest:
    return replace(r, path="/other")


def _tamper_method(r: ReceivedRequest) -> ReceivedRequest:
    return replace(r, method="PUT")


def _tamper_signature(r: ReceivedRequest) -> ReceivedRequest:
    value = authorization(r)
    last = value[-1]
    return with_header(r, "Authorization", value[:-1] + ("0" if last != "0" else "1"))


def _tamper_region(r: ReceivedRequest) -> ReceivedRequest:
    return with_header(r, "Authorization", authorization(r).replace(f"/{REGION}/", "/us-west-2/"))


@pytest.mark.parametrize(
    "tamper",
    [
        _tamper_body,
        _tamper_target,
        _tamper_content_type,
        _tamper_host,
        _tamper_path,
        _tamper_method,
        _tamper_signature,
        _tamper_region,
    ],
)
def test_change_after_signing_is_denied(tamper: Any) -> None:
    """Changing the body, a signed header, the path, the method, the scope or the signature after
    signing makes the signature fail.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign()
    assert isinstance(check(request), Authenticated)
    denied(check(tamper(request)))


def test_wrong_secret_and_unknown_key_are_indistinguishable() -> None:
    """A wrong secret and an unknown access key get the same answer, which reveals neither the
    expected signature nor the secret.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    request = sign(secret="not-alices-secret")
    wrong_secret = check(request)
    unknown = authenticate(request, lambda _: None, now=lambda: NOW)
    assert wrong_secret == unknown
    message = denied(wrong_secret)
    assert isinstance(wrong_secret, ApiError)
    right = authorization(sign()).rsplit("Signature=", 1)[1]
    for text in (message, wrong_secret.tip, repr(wrong_secret)):
        assert right not in text
        assert ALICE.secret_access_key not in text
    assert ALICE.access_key_id in message


def test_credential_repr_hides_secret_and_token() -> None:
    """A credential's secret and session token never appear in its repr (logs, tracebacks).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    for text in (repr(TEMP), repr(Authenticated(TEMP, REGION, NOW))):
        assert TEMP.secret_access_key not in text
        assert TEMP.session_token is not None
        assert TEMP.session_token not in text


# --- temporary credentials ----------------------------------------------------------------------


def test_temporary_credentials_with_token_verify() -> None:
    """Temporary credentials verify when the request carries their X-Amz-Security-Token.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign(credential=TEMP)
    assert request.header_values("X-Amz-Security-Token") == (TEMP.session_token,)
    assert check(request) == Authenticated(TEMP, REGION, NOW)


def test_temporary_credentials_without_or_with_wrong_token_are_denied() -> None:
    """Temporary credentials without their token, or with another, are refused with the same
    answer as a bad signature; a long-term key with a token is refused too.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    without = sign(credential=replace(TEMP, session_token=None))
    wrong = sign(credential=TEMP, token="some-other-token")
    assert denied(check(without)) == denied(check(sign(credential=TEMP, secret="x")))
    denied(check(wrong))
    # Dropping the (signed) token header after signing is refused as well.
    denied(check(with_header(sign(credential=TEMP), "X-Amz-Security-Token", None)))
    denied(check(sign(credential=ALICE, token="unexpected")))


# --- properties ---------------------------------------------------------------------------------

HEADER_TEXT = st.text(
    alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=40
)


@given(
    body=st.binary(max_size=512),
    values=st.dictionaries(
        st.sampled_from([f"x-amz-meta-{c}" for c in "abcdefgh"]), HEADER_TEXT, max_size=5
    ),
    data=st.data(),
)
def test_botocore_signed_requests_verify_and_any_body_byte_change_fails(
    body: bytes, values: dict[str, str], data: st.DataObject
) -> None:
    """For any body and header values, a botocore-signed request verifies, and changing any single
    byte of the body makes it fail.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    request = sign(body=body, headers=values)
    assert check(request) == Authenticated(ALICE, REGION, NOW)
    if body:
        index = data.draw(st.integers(0, len(body) - 1), label="index")
        flip = data.draw(st.integers(1, 255), label="xor")
        changed = bytearray(body)
        changed[index] ^= flip
        denied(check(replace(request, body=bytes(changed))))
    else:
        denied(check(replace(request, body=data.draw(st.binary(min_size=1, max_size=4)))))
