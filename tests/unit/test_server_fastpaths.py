"""The server's fast paths and caches answer exactly as the slow paths they stand in for, and
are never served stale.

- SigV4 (IAM User Guide, "Create a signed AWS API request":
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
  the canonical request is built without botocore's request objects, and the signing key is
  derived once per (secret, date, region, service) — a changed secret or another day must not
  verify with a stale key.
- Request bodies: a plain check of each request schema stands in for ``jsonschema`` on valid
  bodies (JSON Schema 2020-12 validation: https://json-schema.org/draft/2020-12/json-schema-validation).
- Authorization: a principal's normalised keys and whether its policies depend on the instance
  are kept per principal object; another principal object is never answered from them.
- State: checked instance rows are remembered by their values; a changed row is checked again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from test_server_auth import (  # same folder (rootdir import)
    ALICE,
    KEYS,
    NOW,
    SIGNED_AT,
    check,
    sign,
)

from lspolicy.lightsail.context import Identity, Instance, instance_request
from lspolicy.server import auth, authorize, validate
from lspolicy.server import state as state_module
from lspolicy.server.app import Service
from lspolicy.server.auth import ReceivedRequest, authenticate
from lspolicy.server.errors import ApiError
from lspolicy.server.ids import uuid4_text
from lspolicy.server.state import PLACEHOLDER_ID, StateError, StateStore
from lspolicy.server.world import load_world

WORLD = Path(__file__).resolve().parents[2] / "policies" / "world.yaml"

# --- SigV4 --------------------------------------------------------------------------------------


def test_signing_key_matches_the_documented_example() -> None:
    """The key derivation of the AWS General Reference's worked example ("Examples of how to
    derive a signing key for Signature Version 4": secret ``wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY``,
    20120215, us-east-1, iam)."""
    key = auth._signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


@given(key=st.binary(max_size=200), message=st.binary(max_size=500))
def test_primed_hmac_is_hmac_sha256(key: bytes, message: bytes) -> None:
    """`_Hmac` is HMAC-SHA256 (RFC 2104) for any key, shorter or longer than a block."""
    assert auth._Hmac(key).hexdigest(message) == hmac.digest(key, message, "sha256").hex()


def test_a_changed_secret_is_not_verified_with_the_old_key() -> None:
    """The signing key is remembered per secret: after the secret changes, a request signed with
    the old one is refused and one signed with the new one verifies (same key id, date, region)."""
    request = sign()
    assert not isinstance(check(request), ApiError)  # the old secret's key is now remembered
    rotated = dataclasses.replace(ALICE, secret_access_key="alice-new-secret")
    keys = {**KEYS, ALICE.access_key_id: rotated}
    refused = authenticate(request, keys.get, now=lambda: NOW)
    assert isinstance(refused, ApiError) and refused.code == "AccessDeniedException"
    fresh = sign(secret="alice-new-secret")
    assert not isinstance(authenticate(fresh, keys.get, now=lambda: NOW), ApiError)


def test_another_day_derives_another_key() -> None:
    """A request signed the next day verifies (its scope date is part of the key), and the
    cache holds one key per day."""
    auth._SIGNING_KEYS.clear()
    today = sign()
    tomorrow = sign(at=SIGNED_AT + timedelta(days=1))
    assert not isinstance(check(today), ApiError)
    assert not isinstance(check(tomorrow, now=lambda: NOW + timedelta(days=1)), ApiError)
    dates = {date for (_, date, _, _) in auth._SIGNING_KEYS}
    assert dates == {"20260115", "20260116"}


def test_a_key_for_another_region_is_not_reused() -> None:
    """The region is part of the key: a signature for us-east-1 moved into a us-west-2 scope
    fails, even with the us-east-1 key remembered."""
    east = sign()
    assert not isinstance(check(east), ApiError)
    west_header = auth.ReceivedRequest.header_values(east, "Authorization")[0].replace(
        "/us-east-1/", "/us-west-2/"
    )
    moved = dataclasses.replace(
        east,
        headers=[(n, west_header if n == "Authorization" else v) for n, v in east.header_items()],
    )
    result = check(moved)
    assert isinstance(result, ApiError) and result.code == "AccessDeniedException"


_header_value = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=20,
)


@given(
    path=st.sampled_from(["/", "/a/b", "//x/./y/../z/", "/%41%2f", "/caf\u00e9", "/a~b"]),
    query=st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=3),
    extra=st.lists(st.tuples(st.sampled_from(["x-a", "x-b", "X-A"]), _header_value), max_size=4),
    body=st.binary(max_size=40),
)
def test_canonical_request_signs_as_botocore_does(
    path: str, query: list[tuple[str, str]], extra: list[tuple[str, str]], body: bytes
) -> None:
    """The expected signature from the direct canonical request equals botocore's signer's
    (``SigV4Auth``) for paths with dot and empty segments, decoded query pairs, repeated and
    whitespace-padded signed headers, and any body."""
    headers = [("Host", "h:1"), ("X-Amz-Date", "20260115T120000Z"), *extra]
    request = ReceivedRequest("POST", path, "", headers, body)
    names = tuple(sorted({n.lower() for n, _ in headers}))
    authz = auth._Authorization("AKIA", "20260115", "us-east-1", "lightsail", names, "0" * 64)
    signed = [(n.lower(), v) for n, v in headers if n.lower() in names]
    canonical = auth._canonical_request(request, query, signed, names)
    string_to_sign = "\n".join(
        (
            auth.ALGORITHM,
            "20260115T120000Z",
            "20260115/us-east-1/lightsail/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        )
    )
    fast = auth._signer("s", "20260115", "us-east-1", "lightsail").hexdigest(
        string_to_sign.encode()
    )
    reference = auth._reference_signature(
        request, authz, query=query, headers=headers, secret="s", amz_date="20260115T120000Z"
    )
    assert fast == reference


_names = st.sampled_from(["host", "x-amz-date", "content-type", "x-amz-target", "Host", "a b"])


@given(
    credential=st.sampled_from(
        ["AKIA1/20260115/us-east-1/lightsail/aws4_request", "AKIA1/2026/us/x/aws4_request", "x"]
    ),
    names=st.lists(_names, max_size=4),
    signature=st.sampled_from(["0" * 64, "A" * 64, "0" * 63]),
    spaces=st.sampled_from([", ", ",", ",  "]),
)
def test_usual_authorization_form_reads_as_the_general_reading(
    credential: str, names: list[str], signature: str, spaces: str
) -> None:
    """The SDK's form, read by one regular expression, gives what the general reading gives (a
    leading space takes the general reading: it is stripped there)."""
    value = (
        f"AWS4-HMAC-SHA256 Credential={credential}{spaces}SignedHeaders={';'.join(names)}"
        f"{spaces}Signature={signature}"
    )
    assert auth._parse_authorization(value) == auth._parse_authorization(" " + value)


# --- ids ----------------------------------------------------------------------------------------


def test_request_ids_are_version_4_uuids() -> None:
    """RFC 4122 version 4: the text round-trips through `uuid.UUID`, with version 4 and the
    RFC 4122 variant, and ids do not repeat."""
    ids = {uuid4_text() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


# --- request bodies -----------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=4,
)
_member_names = st.sampled_from(["instanceName", "force", "pageToken", "other"])
_member_values = st.one_of(
    st.sampled_from(["web-1", "a", "-ab", "ab-", "ab\n", "w\u00e9b", "x" * 256, "x" * 255, ""]),
    _json,
)


@given(
    operation=st.sampled_from(sorted(validate.REQUEST_SCHEMAS)),
    body=st.dictionaries(_member_names, _member_values, max_size=3),
)
def test_plain_check_agrees_with_the_validator(operation: str, body: dict[str, object]) -> None:
    """Each request schema's plain check passes a body exactly when ``jsonschema`` finds no
    error in it, and `validate_body` answers the same either way."""
    plain = validate._PLAIN[operation]
    assert plain is not None
    validator = Draft202012Validator(validate.REQUEST_SCHEMAS[operation])
    assert plain(body) == (not list(validator.iter_errors(body)))
    answer = validate.validate_body(operation, json.dumps(body).encode())
    assert isinstance(answer, ApiError) != plain(body)


def test_a_byte_order_mark_is_refused_as_json_loads_refuses_it() -> None:
    """The decoder built once keeps ``json.loads``' refusal of a leading BOM (RFC 8259 section
    8.1: implementations must not add one; Python's loads refuses it)."""
    answer = validate.validate_body("GetInstanceState", '\ufeff{"instanceName": "ab"}'.encode())
    assert isinstance(answer, ApiError)
    assert "BOM" in answer.tip


# --- authorization ------------------------------------------------------------------------------


def _alice() -> object:
    world = load_world(WORLD)
    return next(p for p in world.principals.values() if p.name == "alice")


def test_a_principal_with_other_tags_is_not_answered_from_the_cached_part() -> None:
    """The principal's keys are kept per principal object: the same principal with other tags
    (a world loaded again) gets its own ``aws:PrincipalTag`` values (IAM User Guide, "AWS global
    condition context keys", aws:PrincipalTag)."""
    alice = _alice()
    part = authorize._principal_part(alice)  # type: ignore[arg-type]
    assert authorize._principal_part(alice) is part  # type: ignore[arg-type]
    retagged = dataclasses.replace(
        alice,  # type: ignore[type-var]
        identity=Identity(alice.identity.arn, {"team": "elsewhere"}),  # type: ignore[attr-defined]
    )
    other = authorize._principal_part(retagged)
    assert other is not part
    assert other.values["aws:principaltag/team"] == ("elsewhere",)


def test_decisions_follow_the_principal_object_not_the_cache() -> None:
    """An instance decision for a principal whose policies changed (another `PolicySet`) is the
    new policies' decision, not a remembered one: alice may stop her team's instance; the same
    alice with bob's policies gets bob's answer."""
    world = load_world(WORLD)
    principals = {p.name: p for p in world.principals.values()}
    alice = principals["alice"]
    spec = next(s for s in world.instances if s.instance.name == "web-dev")
    inst = spec.instance
    ctx = {"aws:RequestedRegion": inst.region, "aws:SourceIp": "127.0.0.1"}
    for other in principals.values():
        mixed = dataclasses.replace(alice, policies=other.policies)
        expected = other.policies.is_allowed(
            instance_request("lightsail:StopInstance", inst, alice.identity, context=ctx)
        )
        got, _ = authorize.decide(
            mixed,
            "lightsail:StopInstance",
            inst,
            account=inst.account,
            region=inst.region,
            name=inst.name or "",
            context=ctx,
        )
        assert got == expected, other.name


def test_request_from_parts_equals_the_plain_instance_request() -> None:
    """The request the server builds from the principal's cached part is the request
    `instance_request` builds (same context values, resource and caller)."""
    alice = _alice()
    inst = Instance(id="i-1", region="us-east-1", account="111122223333", tags={"team": "web"})
    ctx = {"aws:RequestedRegion": "us-east-1", "aws:CurrentTime": "2026-01-15T12:00:00Z"}
    captured: list[object] = []
    policies = alice.policies  # type: ignore[attr-defined]

    class Spy:
        def is_allowed(self, request: object) -> bool:
            captured.append(request)
            return True

        def __getattr__(self, name: str) -> object:
            return getattr(policies, name)

    spied = dataclasses.replace(alice, policies=Spy())  # type: ignore[type-var]
    authorize.allowed_on_instance(spied, "lightsail:StopInstance", inst, ctx)  # type: ignore[arg-type]
    (built,) = captured
    plain = instance_request("lightsail:StopInstance", inst, alice.identity, context=ctx)  # type: ignore[attr-defined]
    assert dict(built.context) == dict(plain.context)  # type: ignore[attr-defined]
    assert (built.resource, built.caller_arn) == (plain.resource, plain.caller_arn)  # type: ignore[attr-defined]


# --- request context ----------------------------------------------------------------------------


def test_request_times_follow_the_clock() -> None:
    """``aws:CurrentTime`` and ``aws:EpochTime`` are the clock's, second by second, also before
    1970 where the fraction decides the epoch seconds (IAM User Guide, "AWS global condition
    context keys": aws:CurrentTime, aws:EpochTime)."""
    clock = [datetime(2026, 1, 15, 12, 0, 0, 500, tzinfo=UTC)]
    service = Service(load_world(WORLD), StateStore(":memory:"), now=lambda: clock[0])
    for at in (
        datetime(2026, 1, 15, 12, 0, 0, 999_999, tzinfo=UTC),
        datetime(2026, 1, 15, 12, 0, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 0, tzinfo=UTC),
        datetime(2026, 1, 15, 12, 0, 1, 3, tzinfo=UTC),
    ):
        clock[0] = at
        ctx = service._request_context("us-east-1", "127.0.0.1")
        assert ctx["aws:CurrentTime"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert ctx["aws:EpochTime"] == str(int(at.timestamp()))


# --- state --------------------------------------------------------------------------------------


def test_a_row_changed_outside_is_checked_again() -> None:
    """A remembered row check does not cover a changed row: a state edited to an invalid value
    after the instance was read is refused (StateError), as on the first read."""
    service = Service(load_world(WORLD), StateStore(":memory:"))
    store = service.store
    found, _ = store.lookup("111122223333", "us-east-1", "web-dev")
    assert found is not None
    store._db.execute("UPDATE instances SET state = 'asleep' WHERE name = 'web-dev'")
    try:
        store.lookup("111122223333", "us-east-1", "web-dev")
    except StateError as error:
        assert "state" in str(error)
    else:
        raise AssertionError("a changed, invalid row was served from the memo")


def test_lookup_finds_the_instance_or_a_neighbour_wherever_the_name_falls() -> None:
    """A name before every instance, between two, after every one, and an existing first and
    last name: the instance itself, or a neighbour renamed under the placeholder id; a region
    with no instance gets a placeholder with no tags."""
    store = Service(load_world(WORLD), StateStore(":memory:")).store
    names = [
        r[0]
        for r in store._db.execute(
            "SELECT name FROM instances WHERE account = '111122223333' AND region = 'us-east-1'"
            " ORDER BY name"
        )
    ]
    assert len(names) >= 2
    for name in (names[0], names[-1]):
        found, row = store.lookup("111122223333", "us-east-1", name)
        assert found is row and row.name == name and row.id != PLACEHOLDER_ID
    for name in ("", names[0] + "-between", "zzzz-after-all"):
        found, row = store.lookup("111122223333", "us-east-1", name)
        assert found is None and row.name == name and row.id == PLACEHOLDER_ID
    found, row = store.lookup("111122223333", "ap-nowhere-1", "web-dev")
    assert found is None and row.id == PLACEHOLDER_ID and dict(row.tags) == {}


_GOOD_ROW = (
    "111122223333",
    "us-east-1",
    "web-dev",
    "i-1",
    "us-east-1a",
    '{"team": "web"}',
    "running",
    1.0,
    None,
    None,
    0.0,
)
_BAD_VALUES = st.sampled_from(
    [None, 1, 2.5, float("nan"), float("inf"), "melting", "", "[]", '{"a": 1}', "{", True, b"x"]
)


@given(changes=st.dictionaries(st.integers(0, len(_GOOD_ROW) - 1), _BAD_VALUES, max_size=3))
def test_fast_row_check_accepts_exactly_what_the_full_check_accepts(
    changes: dict[int, object],
) -> None:
    """The one-expression check of a stored row accepts a row exactly when the column-by-column
    check does, and builds the same row; a refused row still raises the full check's located
    StateError (a state file damaged outside lspolicy is never served)."""
    store = StateStore(":memory:")
    values = tuple(changes.get(i, v) for i, v in enumerate(_GOOD_ROW))
    fast = store._valid_instance(values)
    columns = state_module._INSTANCE_COLUMNS
    try:
        full = store._instance(dict(zip(columns, values, strict=True)))
    except StateError:
        full = None
    assert fast == full
    if full is None:
        try:
            store._checked_instance(values)
        except StateError:
            pass
        else:
            raise AssertionError("an invalid row was accepted")
