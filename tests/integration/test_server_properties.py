"""Properties of the emulated StopInstance endpoint, checked by hypothesis against the running
server with real signed requests.

Requests boto3 can send go through a real boto3 client; the others (bodies that break the
schema, requests tampered after signing) are signed with botocore's own ``SigV4Auth`` and sent
with ``http.client``. One server serves the fixed world for the whole module; the properties
about random worlds start a server per example. Example counts are bounded so that the module
runs in well under a minute on two cores (the ``ci`` profile of tests/conftest.py makes the
search reproducible).

The contract: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import pytest
import yaml
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from serverwire import STOP_TARGET, Wire, post, sign

import lspolicy
from lspolicy.lightsail.context import Identity, Instance, instance_request
from lspolicy.server.body_strategies import (
    instance_names,
    invalid_stop_instance_bodies,
    valid_stop_instance_bodies,
)
from lspolicy.strategies import (
    condition_blocks,
    lightsail_instances,
    policy_documents,
)
from lspolicy.testing import RunningServer, serve_world

WORLDS = Path(__file__).resolve().parent / "worlds"
WORLD = WORLDS / "errors.yaml"
WORLD_NAMES = ("web-dev", "web-prod", "web-stopped", "west-dev", "newcomer-dev")

# One server for every example: keep each example cheap, and let the search breathe.
FAST = settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
# A server per example costs half a second to stop (serve_forever polls every 0.5 s), so
# shrinking a failure would take minutes: failures are reported as found, with notes that say
# which principal, instance and answer.
PER_WORLD = settings(
    max_examples=15,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def shared() -> Iterator[RunningServer]:
    with serve_world(WORLD) as running:
        yield running


# -- the wire -----------------------------------------------------------------------------------


def admin_headers(server: RunningServer, body: bytes, **kwargs: Any) -> dict[str, str]:
    admin = server.principal("admin")
    return sign(
        server.url,
        body,
        access_key_id=admin.access_key_id,
        secret=kwargs.pop("secret", admin.secret_access_key),
        **kwargs,
    )


def error_code(wire: Wire) -> str:
    """The error a response carries, checked for its wire form; "" for a 200."""
    if wire.status == 200:
        return ""
    body = json.loads(wire.body)
    code = str(body["__type"])
    assert wire.headers["x-amzn-errortype"] == code == body["code"], (wire.headers, body)
    assert wire.status == (500 if code == "ServiceException" else 400), (wire.status, body)
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["docs"], str) and isinstance(body["tip"], str), body
    return code


def encoded(body: dict[str, Any], ascii_only: bool) -> bytes:
    return json.dumps(body, ensure_ascii=ascii_only).encode("utf-8")


def _not_a_json_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except ValueError:
        return True


_JSON_NON_OBJECTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=5,
).filter(lambda v: not isinstance(v, dict))

_NOT_STOP_BODIES = st.one_of(
    st.builds(encoded, invalid_stop_instance_bodies(), st.booleans()),
    _JSON_NON_OBJECTS.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=48).filter(_not_a_json_object),
)


# -- properties of one world --------------------------------------------------------------------


@FAST
@given(body=_NOT_STOP_BODIES)
def test_any_body_violating_the_schema_is_invalid_input_never_a_500(
    shared: RunningServer, body: bytes
) -> None:
    """InvalidInputException, "user input does not conform to the validation rules of an input
    field", for every body that is not a StopInstance request: instanceName missing, not a
    string or not matching ``\\w[\\w\\-]*\\w``; force not a boolean; unknown members; JSON that
    is not an object; bytes that are not JSON. Signed by a caller allowed everywhere, so a body
    wrongly accepted would show (as NotFound or a stop), and never as a 500.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    wire = post(shared.url, body, admin_headers(shared, body))
    assert error_code(wire) == "InvalidInputException", wire.body
    assert shared.store.operations() == []


def _unsigned_client(server: RunningServer) -> Any:
    return boto3.client(
        "lightsail",
        endpoint_url=server.url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )


_ANY_NAMES = instance_names() | st.sampled_from(WORLD_NAMES)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(body=valid_stop_instance_bodies(names=_ANY_NAMES))
def test_any_conforming_body_unsigned_is_unauthenticated(
    shared: RunningServer, body: dict[str, Any]
) -> None:
    """A request with no signature at all is UnauthenticatedException, "the user has not been
    authenticated", whatever it asks, even for instances that exist; nothing is stopped.
    https://docs.aws.amazon.com/botocore/latest/reference/services/lightsail/client/exceptions/UnauthenticatedException.html"""
    unsigned = _unsigned_client(shared)
    with pytest.raises(unsigned.exceptions.UnauthenticatedException) as info:
        unsigned.stop_instance(**body)
    meta = info.value.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 400
    assert meta["HTTPHeaders"]["x-amzn-errortype"] == "UnauthenticatedException"
    assert shared.store.operations() == []


_MISSING_NAMES = instance_names().filter(lambda name: name not in WORLD_NAMES)
_OTHER_TARGETS = st.sampled_from(
    (
        "Lightsail_20161128.StartInstance",
        "Lightsail_20161128.GetInstance",
        "Lightsail_20161128.stopinstance",
        "Lightsail_20161128.StopInstances",
    )
) | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.0123456789", min_size=1)


@FAST
@given(
    body=valid_stop_instance_bodies(names=_MISSING_NAMES),
    how=st.sampled_from(("wrong secret", "body changed", "target changed")),
    data=st.data(),
)
def test_wrong_secret_or_tampering_after_signing_is_access_denied(
    shared: RunningServer, body: dict[str, Any], how: str, data: st.DataObject
) -> None:
    """A signature made with another secret, or a request changed after it was signed (a body
    byte flipped, the X-Amz-Target header replaced), does not verify: AccessDeniedException
    ("uses invalid credentials"). The untampered request, signed with the right secret, is
    accepted (NotFound: the names drawn exist nowhere), so the refusal is the tampering's.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    raw = encoded(body, ascii_only=True)
    good = admin_headers(shared, raw)
    if how == "wrong secret":
        real = shared.principal("admin").secret_access_key
        secret = data.draw(st.text(min_size=1, max_size=40).filter(lambda s: s != real))
        sent, headers = raw, admin_headers(shared, raw, secret=secret)
    elif how == "body changed":
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        flip = data.draw(st.integers(1, 255), label="flip")
        sent, headers = raw[:at] + bytes([raw[at] ^ flip]) + raw[at + 1 :], good
    else:
        target = data.draw(_OTHER_TARGETS.filter(lambda t: t != STOP_TARGET), label="target")
        sent, headers = raw, {**good, "X-Amz-Target": target}
    assert error_code(post(shared.url, sent, headers)) == "AccessDeniedException"
    assert error_code(post(shared.url, raw, good)) == "NotFoundException"


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    who=st.sampled_from(("reader", "fenced")),
    body=valid_stop_instance_bodies(names=_ANY_NAMES),
)
def test_a_principal_with_no_applicable_allow_is_always_denied(
    shared: RunningServer, who: str, body: dict[str, Any]
) -> None:
    """A caller with no Allow that applies to StopInstance in us-east-1 (``reader`` may only
    read; ``fenced`` is allowed ``lightsail:*`` but its permissions boundary allows only
    us-west-2) is denied every stop there, of instances that exist or not, forced or not.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
    client = shared.client(who, region="us-east-1")
    with pytest.raises(client.exceptions.AccessDeniedException) as info:
        client.stop_instance(**body)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert shared.store.operations() == []


# -- random worlds ------------------------------------------------------------------------------

# The pools lspolicy.strategies draws policies from, so that policies and worlds interact.
_ACCOUNTS = ("111122223333", "444455556666")
_REGIONS = ("us-east-1", "eu-west-2", "ap-southeast-1")
_PRINCIPAL_ARNS = (
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:iam::444455556666:role/ops-admin",
)
_TAGS = st.dictionaries(
    st.sampled_from(("env", "team", "owner")),
    st.sampled_from(("dev", "prod", "ops", "web", "alice", "bob")),
    max_size=3,
)


@dataclass(frozen=True)
class PrincipalSpec:
    arn: str
    tags: dict[str, str]
    policies: list[dict[str, Any]]
    boundary: dict[str, Any] | None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def policy_set(self) -> lspolicy.PolicySet:
        """The engine's view of this principal, parsed here, independently of the world."""
        boundary = (
            None
            if self.boundary is None
            else [lspolicy.parse_policy(self.boundary, kind="boundary")]
        )
        return lspolicy.PolicySet(
            [lspolicy.parse_policy(doc) for doc in self.policies], boundary=boundary
        )


@dataclass(frozen=True)
class WorldSpec:
    principals: list[PrincipalSpec]
    instances: list[Instance]  # each with a name
    states: list[str]


def _condition_blocks(instances: list[Instance]) -> st.SearchStrategy[dict[str, Any]]:
    """Conditions that bear on the worlds drawn: the instances' own tags, tags matched against
    the caller's (policy variables), and every key the endpoint puts in the request, each
    written to hold and to fail; and, for variety, random condition blocks."""
    tags = sorted({kv for inst in instances for kv in inst.tags.items()}) or [("env", "dev")]
    about_the_instance = st.sampled_from(tags).flatmap(
        lambda kv: st.sampled_from(
            (
                {"StringEquals": {f"aws:ResourceTag/{kv[0]}": kv[1]}},
                {"StringNotEquals": {f"aws:ResourceTag/{kv[0]}": kv[1]}},
                {"StringLike": {f"aws:ResourceTag/{kv[0]}": kv[1][:1] + "*"}},
                {"Null": {f"aws:ResourceTag/{kv[0]}": "true"}},
                {"Null": {f"aws:ResourceTag/{kv[0]}": "false"}},
            )
        )
    )
    about_the_request = st.sampled_from(
        (
            {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
            {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
            {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/*"}},
            {"Bool": {"aws:SecureTransport": "false"}},
            {"Bool": {"aws:SecureTransport": "true"}},
            {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            {"NotIpAddress": {"aws:SourceIp": "127.0.0.1/32"}},
            {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            {"DateGreaterThan": {"aws:EpochTime": "1577836800"}},
            {"DateLessThan": {"aws:EpochTime": "1577836800"}},
            *({"StringEquals": {"aws:RequestedRegion": region}} for region in _REGIONS),
        )
    )
    # the endpoint's own keys weigh double: they are where the endpoint could go wrong
    return st.one_of(
        about_the_instance, about_the_request, about_the_request, condition_blocks(max_operators=2)
    )


@st.composite
def _statement(
    draw: st.DrawFn, instances: list[Instance], *, effects: tuple[str, ...], name_ids: bool
) -> dict[str, Any]:
    """A statement about stopping the world's instances: on all of them, on those of a region,
    or (with ``name_ids``) on one instance by its ARN, under a condition or not."""
    resources = ["*", *(f"arn:aws:lightsail:{i.region}:{i.account}:Instance/*" for i in instances)]
    if name_ids:
        resources.extend(i.arn for i in instances)
    statement: dict[str, Any] = {
        "Effect": draw(st.sampled_from(effects)),
        "Action": draw(
            st.sampled_from(("lightsail:StopInstance", "lightsail:Stop*", "lightsail:*"))
        ),
        "Resource": draw(st.sampled_from(resources)),
    }
    if draw(st.integers(0, 2)):
        statement["Condition"] = draw(_condition_blocks(instances))
    return statement


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


@st.composite
def worlds(draw: st.DrawFn, *, uuid_ids: bool) -> WorldSpec:
    """A few principals and instances (random tags) in the principals' accounts. Each principal
    has statements about stopping those instances (Allows, some Denies), sometimes a random
    policy from lspolicy.strategies, sometimes a permissions boundary. Instance ids come from
    the strategies' pool (which random policies name in their ARNs), or are UUIDs, as
    Lightsail's are; only with pool ids may a statement name one instance's ARN."""
    # the same ARN may come twice, with its own keys and policies: more callers per server
    arns = draw(st.lists(st.sampled_from(_PRINCIPAL_ARNS), min_size=1, max_size=4))
    accounts = sorted({arn.split(":")[4] for arn in arns})
    drawn = draw(
        st.lists(
            lightsail_instances(accounts=accounts), min_size=1, max_size=4, unique_by=lambda i: i.id
        )
    )
    instances = [
        replace(inst, id=str(draw(st.uuids())) if uuid_ids else inst.id, name=f"vm-{k}")
        for k, inst in enumerate(drawn)
    ]
    name_ids = not uuid_ids
    principals = []
    for arn in arns:
        about_stops = _statement(instances, effects=("Allow", "Allow", "Deny"), name_ids=name_ids)
        policies = [_document(draw(st.lists(about_stops, min_size=1, max_size=3)))]
        if draw(st.integers(0, 2)) == 0:
            policies.append(draw(policy_documents(max_statements=2)))
        allows = _statement(instances, effects=("Allow",), name_ids=name_ids)
        boundaries = {
            "none": st.none(),
            "allows": st.lists(allows, min_size=1, max_size=2).map(_document),
            "random": policy_documents(max_statements=2),
        }
        kind = draw(st.sampled_from(("none", "none", "none", "allows", "allows", "random")))
        boundary = draw(boundaries[kind])
        principals.append(PrincipalSpec(arn, draw(_TAGS), policies, boundary))
    states = [draw(st.sampled_from(("running", "running", "stopped"))) for _ in instances]
    return WorldSpec(principals, instances, states)


def write_world(spec: WorldSpec, directory: Path) -> Path:
    """The world file (and one file per policy) for ``spec``."""
    principals = []
    for i, p in enumerate(spec.principals):
        files = []
        for j, doc in enumerate(p.policies):
            (directory / f"p{i}-{j}.json").write_text(json.dumps(doc))
            files.append(f"p{i}-{j}.json")
        entry: dict[str, Any] = {
            "name": f"p{i}",
            "arn": p.arn,
            "access_key_id": f"AKIAPROPERTY{i:08d}",
            "secret_access_key": f"property-secret-{i}-not-a-real-one",
            "tags": dict(p.tags),
            "policies": files,
        }
        if p.boundary is not None:
            (directory / f"p{i}-boundary.json").write_text(json.dumps(p.boundary))
            entry["boundary"] = f"p{i}-boundary.json"
        principals.append(entry)
    data = {
        "transition_seconds": 0,
        "accounts": [{"id": a, "regions": list(_REGIONS)} for a in _ACCOUNTS],
        "principals": principals,
        "instances": [
            {
                "name": inst.name,
                "id": inst.id,
                "account": inst.account,
                "region": inst.region,
                "tags": dict(inst.tags),
                "state": state,
            }
            for inst, state in zip(spec.instances, spec.states, strict=True)
        ],
    }
    path = directory / "world.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def server_context(region: str, now: datetime) -> dict[str, lspolicy.model.request.ContextValue]:
    """The request keys the endpoint adds (app.py, ``Service._context``)."""
    return {
        "aws:SourceIp": "127.0.0.1",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:SecureTransport": "false",
        "aws:RequestedRegion": region,
    }


def engine_allows(
    policies: lspolicy.PolicySet, identity: Identity, instance: Instance, now: datetime
) -> bool:
    """The engine's decision for StopInstance on ``instance``, with the endpoint's context."""
    context = server_context(instance.region, now)
    request = instance_request("lightsail:StopInstance", instance, identity, context=context)
    return policies.is_allowed(request)


@dataclass(frozen=True)
class Answer:
    """What a caller learns from one StopInstance: the class, status and message."""

    exception: str
    status: int
    message: str


def stop(client: Any, name: str) -> Answer:
    try:
        client.stop_instance(instanceName=name)
    except ClientError as error:
        response = error.response
        return Answer(
            type(error).__name__,
            response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Message"],
        )
    return Answer("", 200, "")


class Clients:
    """One boto3 client per principal and region, for one server."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self._made: dict[tuple[int, str], Any] = {}

    def __call__(self, principal: int, region: str) -> Any:
        key = (principal, region)
        if key not in self._made:
            self._made[key] = self.server.client(f"p{principal}", region=region)
        return self._made[key]


@PER_WORLD
@given(spec=worlds(uuid_ids=False))
def test_the_endpoint_decides_as_the_engine(spec: WorldSpec) -> None:
    """For random policies, boundaries, principal tags and instance tags, the endpoint allows a
    StopInstance exactly when the engine does for the request AWS would authorize: the
    instance's ARN (by id), its tags as ``aws:ResourceTag/<key>``, the principal's keys, and
    the request's own (aws:SourceIp, aws:CurrentTime, aws:EpochTime, aws:SecureTransport,
    aws:RequestedRegion). Allowed shows as a stop or, on a stopped instance, as
    OperationFailureException; refused as AccessDeniedException.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
    ("supports tag-based access control via resource tags")"""
    with tempfile.TemporaryDirectory() as tmp, serve_world(write_world(spec, Path(tmp))) as server:
        clients = Clients(server)
        seen = set()
        for i, p in enumerate(spec.principals):
            policies = p.policy_set()
            identity = Identity(p.arn, p.tags)
            for inst in spec.instances:
                if inst.account != p.account:
                    continue
                before = datetime.now(UTC)
                answer = stop(clients(i, inst.region), inst.name)
                after = datetime.now(UTC)
                expected = {
                    engine_allows(policies, identity, inst, before),
                    engine_allows(policies, identity, inst, after),
                }
                if len(expected) != 1:
                    continue  # a date condition changed its mind during the call
                allowed = expected.pop()
                got = {"": True, "OperationFailureException": True}.get(answer.exception, False)
                note(f"p{i} on {inst.name} ({inst.arn}, tags {dict(inst.tags)}): {answer}")
                assert answer.exception in (
                    "",
                    "OperationFailureException",
                    "AccessDeniedException",
                )
                assert got == allowed
                seen.add(allowed)
        event(f"decisions seen: {sorted(seen)}")


@PER_WORLD
@given(spec=worlds(uuid_ids=True))
def test_missing_and_forbidden_instances_look_the_same(spec: WorldSpec) -> None:
    """A caller refused an instance gets exactly the answer it gets for a name that exists
    nowhere: same exception class, HTTP status and message. Otherwise "NotFound" for one name
    and "AccessDenied" for another tells the caller which instances exist. Instance ids are
    UUIDs here, as Lightsail's are; a policy that names an instance's own id is the subject of
    the next test.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
    (AccessDeniedException and NotFoundException)
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    with tempfile.TemporaryDirectory() as tmp, serve_world(write_world(spec, Path(tmp))) as server:
        clients = Clients(server)
        compared = 0
        for i, p in enumerate(spec.principals):
            for region in sorted({s.region for s in spec.instances if s.account == p.account}):
                client = clients(i, region)
                missing = stop(client, "vm-missing")
                for inst in spec.instances:
                    if (inst.account, inst.region) != (p.account, region):
                        continue
                    answer = stop(client, inst.name)
                    if answer.exception == "AccessDeniedException":
                        note(f"p{i} refused {inst.name} ({inst.arn}); missing: {missing}")
                        assert missing == answer
                        compared += 1
        event(f"refusals compared: {min(compared, 3)}{'+' if compared >= 3 else ''}")


# -- the request context, key by key -------------------------------------------------------------

_VM_ID = "3f2b9c1e-7a44-4c1d-9e0a-52d6f1b0c8aa"
_WEST_ID = "c0ffee00-1d2e-4f3a-8b4c-5d6e7f8a9b0c"
_VM_ARN = f"arn:aws:lightsail:us-east-1:111122223333:Instance/{_VM_ID}"
_TAGGED = {"env": "dev", "team": "web", "owner": "alice"}


class Case(NamedTuple):
    """Alice (tagged team=web) stops the instance of ``region`` (tagged env=dev, team=web,
    owner=alice) over plain HTTP with her access keys, allowed only on ``resource`` under
    ``condition``."""

    name: str
    condition: dict[str, Any] | None
    resource: str
    allowed: bool
    region: str = "us-east-1"


_CONTEXT_CASES: tuple[Case, ...] = (
    Case("SecureTransport false", {"Bool": {"aws:SecureTransport": "false"}}, "*", True),
    Case("SecureTransport true", {"Bool": {"aws:SecureTransport": "true"}}, "*", False),
    Case("SourceIp loopback", {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, "*", True),
    Case("SourceIp not caller", {"NotIpAddress": {"aws:SourceIp": "127.0.0.1/32"}}, "*", False),
    Case("RequestedRegion", {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, "*", True),
    Case("RequestedRegion other", {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}, "*", False),
    Case("RequestedRegion west", {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}, "*", True, "us-west-2"),
    Case("CurrentTime after", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, "*", True),
    Case("CurrentTime before", {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, "*", False),
    Case("EpochTime after", {"DateGreaterThan": {"aws:EpochTime": "1577836800"}}, "*", True),
    Case("EpochTime before", {"DateLessThan": {"aws:EpochTime": "1577836800"}}, "*", False),
    Case("ResourceTag", {"StringEquals": {"aws:ResourceTag/env": "dev"}}, "*", True),
    Case("ResourceTag other", {"StringEquals": {"aws:ResourceTag/env": "prod"}}, "*", False),
    Case("ResourceTag absent", {"Null": {"aws:ResourceTag/cost-center": "false"}}, "*", False),
    Case("PrincipalTag variable", {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}, "*", True),
    Case("username variable", {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}, "*", True),
    Case("PrincipalArn", {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/alice"}}, "*", True),
    Case("PrincipalAccount", {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}, "*", True),
    Case("no MFA with access keys", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, "*", False),
    Case("MFA key absent", {"Null": {"aws:MultiFactorAuthPresent": "true"}}, "*", True),
    Case("ARN by id", None, _VM_ARN, True),
    Case("ARN by name", None, "arn:aws:lightsail:us-east-1:111122223333:Instance/vm-dev", False),
    Case("ARN other region", None, _VM_ARN.replace("us-east-1", "us-west-2"), False),
)  # fmt: skip


@pytest.fixture(scope="module")
def context_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A principal per case, each allowed StopInstance on the case's resource under the case's
    condition only."""
    directory = tmp_path_factory.mktemp("context")
    principals = []
    for n, (_, condition, resource, _, _) in enumerate(_CONTEXT_CASES):
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": resource,
        }
        if condition is not None:
            statement["Condition"] = condition
        (directory / f"case-{n}.json").write_text(json.dumps(_document([statement])))
        principals.append(
            {
                "name": f"case-{n}",
                "arn": "arn:aws:iam::111122223333:user/alice",
                "access_key_id": f"AKIACONTEXT{n:09d}",
                "secret_access_key": f"context-secret-{n}-not-a-real-one",
                "tags": {"team": "web"},
                "policies": [f"case-{n}.json"],
            }
        )
    world = {
        "accounts": [{"id": "111122223333", "regions": ["us-east-1", "us-west-2"]}],
        "principals": principals,
        "instances": [
            {"name": "vm-dev", "id": _VM_ID, "region": "us-east-1", "tags": _TAGGED},
            {"name": "vm-west", "id": _WEST_ID, "region": "us-west-2", "tags": _TAGGED},
        ],
    }
    (directory / "world.yaml").write_text(yaml.safe_dump(world, sort_keys=False))
    with serve_world(directory / "world.yaml") as running:
        yield running


@pytest.mark.parametrize("case", _CONTEXT_CASES, ids=[case.name for case in _CONTEXT_CASES])
def test_each_request_key_is_what_aws_would_put_there(
    context_server: RunningServer, case: Case
) -> None:
    """The fixed-point companion of the random-world property: each key of the request the
    endpoint authorizes, pinned by a policy allowing StopInstance only when the key holds the
    value AWS gives it. Over plain HTTP aws:SecureTransport is false; aws:SourceIp is the
    caller's address; aws:RequestedRegion the signing region; aws:CurrentTime and
    aws:EpochTime now; aws:MultiFactorAuthPresent is absent for access keys; the resource is
    the instance's ARN, by id. The engine, asked the same, agrees.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html"""
    n = _CONTEXT_CASES.index(case)
    name, instance_id = ("vm-dev", _VM_ID) if case.region == "us-east-1" else ("vm-west", _WEST_ID)
    answer = stop(context_server.client(f"case-{n}", region=case.region), name)
    # allowed: a stop, or (once another case has stopped it) OperationFailureException
    assert answer.exception in ("", "OperationFailureException", "AccessDeniedException")
    assert (answer.exception != "AccessDeniedException") == case.allowed, answer
    policy = (context_server.world.path.parent / f"case-{n}.json").read_text()
    engine = lspolicy.PolicySet([lspolicy.parse_policy(policy)])
    identity = Identity("arn:aws:iam::111122223333:user/alice", {"team": "web"})
    instance = Instance(id=instance_id, region=case.region, account="111122223333", tags=_TAGGED)
    assert engine_allows(engine, identity, instance, datetime.now(UTC)) == case.allowed


def test_a_deny_naming_one_instance_does_not_reveal_which_names_exist() -> None:
    """Minimal reproduction: carol is allowed ``lightsail:*`` on ``*`` and denied
    StopInstance on one instance's ARN (``.../Instance/8a831817-...``, the id of db-primary).
    Stopping db-primary answers AccessDeniedException; stopping a name that exists nowhere
    answers NotFoundException, so carol learns that "db-primary" exists while she may not
    stop it, which the endpoint promises not to reveal. Lightsail ARNs carry the instance id
    ("arn:aws:lightsail:<region>:<account>:Instance/<id>"), so such a Deny is an ordinary
    policy.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    with serve_world(WORLDS / "oracle.yaml") as server:
        carol = server.client("carol")
        refused = stop(carol, "db-primary")
        assert refused.exception == "AccessDeniedException"
        assert stop(carol, "no-such-instance") == refused
