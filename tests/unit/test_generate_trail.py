"""Generation from observed access (`lspolicy.generate.trail`, ``lspolicy generate
--from-trail/--from-log``): CloudTrail records and the emulator's request log become one intent
per principal, generated and proved like a hand-written one."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lspolicy import PolicySet, parse_policy
from lspolicy.generate import generate, prove
from lspolicy.generate.cli import main
from lspolicy.generate.intent import instance_actions
from lspolicy.generate.trail import (
    NAMED_BY,
    TrailError,
    plan_from_trail,
    read_request_log,
    read_trail,
)
from lspolicy.lightsail.context import Identity, Instance, instance_request
from lspolicy.server.world import load_world
from lspolicy.testing import serve_world

ROOT = Path(__file__).parents[2]
WORLD = ROOT / "policies" / "world.yaml"
EXAMPLE = ROOT / "policies" / "trails" / "example.jsonl"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/automation/nightly-stopper"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def _event(
    name: str,
    instance: str,
    *,
    who: str = ALICE,
    region: str = "us-east-1",
    error: str | None = None,
    session: str | None = None,
) -> dict[str, Any]:
    if session is None:
        identity: dict[str, Any] = {"type": "IAMUser", "arn": who, "accountId": ACCOUNT}
    else:
        role = who.rsplit("/", 1)[-1]
        identity = {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": who}},
        }
    event: dict[str, Any] = {
        "eventSource": "lightsail.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "recipientAccountId": ACCOUNT,
        "userIdentity": identity,
        "requestParameters": {"instanceName": instance},
    }
    if error:
        event["errorCode"] = error
    return event


def _lines(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), "utf-8")
    return path


def _world_instances() -> list[Instance]:
    return [s.instance for s in load_world(WORLD).instances]


def test_both_cloudtrail_shapes_read_alike(tmp_path: Path) -> None:
    """A trail's log file is ``{"Records": [...]}``; event history exports and streams are one
    event per line: the same events give the same plans
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html,
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html)."""
    events = [_event("StopInstance", "web-dev"), _event("StartInstance", "web-dev")]
    lines = read_trail(_lines(tmp_path / "a.jsonl", events))
    records_file = tmp_path / "b.json"
    records_file.write_text(json.dumps({"Records": events}, indent=2), "utf-8")
    records = read_trail(records_file)
    gz = tmp_path / "c.json.gz"
    gz.write_bytes(gzip.compress(records_file.read_bytes()))
    assert read_trail(gz).observations == records.observations
    assert [o.where for o in lines.observations] == [f"{tmp_path / 'a.jsonl'}:{n}" for n in (1, 2)]
    assert records.observations[1].where.endswith("Records[1]")
    a = plan_from_trail(lines, _world_instances())
    b = plan_from_trail(records, _world_instances())
    assert [p.intent.grants for p in a.plans] == [p.intent.grants for p in b.plans]
    (grant,) = a.plans[0].intent.grants
    assert grant.actions.names == ("lightsail:StartInstance", "lightsail:StopInstance")
    assert grant.instances.ids == ("8a831817-4d64-4fa6-913c-513a42f8eda1",)


def test_role_sessions_are_one_principal_the_role(tmp_path: Path) -> None:
    """For an ``AssumedRole`` caller the role is ``sessionContext.sessionIssuer.arn``
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html),
    and ``aws:PrincipalArn`` is the role's ARN for every session
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn)."""
    events = [
        _event("StopInstance", "data-dev", who=ROLE, session="monday"),
        _event("StopInstance", "data-west", who=ROLE, session="tuesday", region="us-west-2"),
    ]
    observed = plan_from_trail(read_trail(_lines(tmp_path / "t.jsonl", events)), _world_instances())
    (plan,) = observed.plans
    assert plan.principal == ROLE and plan.intent.name == "observed-role-nightly-stopper"
    (choice,) = plan.choices  # one choice; one grant per region names the ids seen there
    assert choice.regions == ("us-east-1", "us-west-2")
    east, west = plan.intent.grants
    assert east.principals.arns == west.principals.arns == (ROLE,)
    assert (east.regions, west.regions) == (("us-east-1",), ("us-west-2",))
    assert east.instances.ids == ("035594d2-a226-44f4-a6d8-402d970d0159",)
    assert west.instances.ids == ("5944cc01-d66c-41f7-ab7e-06e2b68ed987",)


def test_denied_failed_and_other_events_are_skipped_and_counted(tmp_path: Path) -> None:
    """``errorCode`` is present when a call failed, so it is not access that happened
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html);
    Lightsail's events have ``eventSource`` ``lightsail.amazonaws.com``
    (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-lightsail.html)."""
    events = [
        _event("StopInstance", "web-dev"),
        _event("StopInstance", "web-prod", error="AccessDeniedException"),
        _event("StopInstance", "web-prod", error="AccessDeniedException"),
        _event("StartInstance", "web-dev", error="OperationFailureException"),
        {**_event("DescribeInstances", "x"), "eventSource": "ec2.amazonaws.com"},
        {**_event("GetInstances", "x"), "requestParameters": {}},
    ]
    trail = read_trail(_lines(tmp_path / "t.jsonl", events))
    assert len(trail.observations) == 1 and trail.events == 6
    assert trail.skipped_by_reason() == {
        "the call failed (AccessDeniedException): not access that happened": 2,
        "another service's event": 1,
        "lightsail:GetInstances is not an instance action": 1,
        "the call failed (OperationFailureException): not access that happened": 1,
    }
    (grant,) = plan_from_trail(trail, _world_instances()).plans[0].intent.grants
    assert grant.actions.names == ("lightsail:StopInstance",)


def test_unknown_instances_and_other_accounts_are_reported(tmp_path: Path) -> None:
    """Names are per account and region, and the ARN carries the id
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies):
    an instance the world does not have cannot be named, and is reported."""
    events = [
        _event("StopInstance", "web-dev"),
        _event("StopInstance", "web-dev", region="eu-west-1"),
        _event("StopInstance", "gone"),
        {**_event("StopInstance", "web-dev"), "recipientAccountId": "444455556666"},
    ]
    observed = plan_from_trail(read_trail(_lines(tmp_path / "t.jsonl", events)), _world_instances())
    reasons = [u.reason for u in observed.unresolved]
    assert any("'web-dev' in 111122223333 eu-west-1" in r for r in reasons)
    assert any("'gone'" in r for r in reasons)
    assert any("account 444455556666" in r for r in reasons)
    assert len(observed.plans) == 1 and len(observed.plans[0].observations) == 1


def _fleet() -> list[Instance]:
    def inst(n: int, name: str, **tags: str) -> Instance:
        return Instance(f"00000000-0000-4000-8000-{n:012d}", "us-east-1", ACCOUNT, name, tags)

    return [
        inst(1, "a", env="dev", team="web", app="shop"),
        inst(2, "b", env="dev", team="web", app="shop"),
        inst(3, "c", env="dev", team="web", app="blog"),
        inst(4, "d", env="prod", team="web", app="shop"),
    ]


@pytest.mark.parametrize("allow", [False, True])
def test_tag_condition_when_exact_refused_when_broader(tmp_path: Path, allow: bool) -> None:
    """``aws:ResourceTag/<key>`` selects instances by tag
    (https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html):
    the most specific shared tags are chosen when they select exactly what was observed, and
    a broader selector is refused (ids kept) unless allowed, naming what it would add."""
    fleet = _fleet()
    events = [
        _event("StopInstance", "a"),
        _event("StopInstance", "b"),  # a, b share env=dev, team=web, app=shop: exact
        _event("StartInstance", "a"),
        _event("StartInstance", "c"),  # a, c share env=dev, team=web: d is prod, but b is added
    ]
    trail = read_trail(_lines(tmp_path / "t.jsonl", events))
    observed = plan_from_trail(trail, fleet, tag_conditions=True, allow_broader=allow)
    stop, start = sorted(observed.plans[0].choices, key=lambda c: c.actions)[::-1]
    assert stop.actions == ("lightsail:StopInstance",) and stop.form == "tags"
    assert stop.tags == (("app", "shop"), ("env", "dev")) and stop.adds == ()
    assert start.tags == (("env", "dev"),) and start.adds == ("us-east-1/b",)
    assert start.form == ("tags" if allow else "ids")
    assert "us-east-1/b" in start.reason
    assert ("--allow-broader" in start.reason) is True
    intent = observed.plans[0].intent
    report = prove(generate(intent), instances=fleet, population=300)
    assert report.proven


def test_no_tag_conditions_unless_asked(tmp_path: Path) -> None:
    """Without ``--tag-conditions`` every grant names its instances by ARN
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies)."""
    trail = read_trail(_lines(tmp_path / "t.jsonl", [_event("StopInstance", "a")]))
    (choice,) = plan_from_trail(trail, _fleet()).plans[0].choices
    assert choice.form == "ids" and "not asked for" in choice.reason


def test_malformed_events_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every malformed line is reported with its file and line, and the exit status is 2
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
    lists the fields an event has)."""
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps(_event("StopInstance", "web-dev"))
        + "\n{not json\n"
        + json.dumps({"eventSource": "lightsail.amazonaws.com"})
        + "\n[1]\n",
        "utf-8",
    )
    with pytest.raises(TrailError) as caught:
        read_trail(path)
    lines = [p.location.line for p in caught.value.problems]
    assert lines == [2, 3, 4]
    assert main(["--from-trail", str(path), "--world", str(WORLD)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:1" in err and "not a JSON event" in err
    assert main(["--from-trail", str(EXAMPLE)]) == 2  # no world
    assert "needs --world" in capsys.readouterr().err


def test_example_trail_is_proven_and_deterministic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundled example over the bundled world: proven, and the same input writes the same
    bytes (policy documents as IAM takes them:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        args = ["--from-trail", str(EXAMPLE), "--world", str(WORLD), "--tag-conditions"]
        assert main([*args, "--population", "300", "--out", str(out)]) == 0
        text = capsys.readouterr().out
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
        assert "skipped 1: the call failed (AccessDeniedException)" in text
        assert "proof: PROVEN" in text and text.count("proof: PROVEN") == 2
    assert outs[0] == outs[1]
    assert sorted(outs[0]) == [
        "observed-role-nightly-stopper.policy.json",
        "observed-user-alice.policy.json",
    ]
    assert main(["--from-trail", str(EXAMPLE), "--world", str(WORLD), "--format", "json",
                 "--population", "100"]) == 0  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert payload["proven"] and payload["observed"]["observed"] == 5
    assert [c["form"] for p in payload["observed"]["principals"] for c in p["choices"]] == [
        "ids",
        "ids",
    ]


# --------------------------------------------------------------------------- with the emulator

SEEN = [
    {"name": "web-a", "region": "us-east-1", "tags": {"env": "dev", "team": "web"}},
    {"name": "web-b", "region": "us-east-1", "tags": {"env": "dev", "team": "web"}},
    {"name": "data-a", "region": "us-west-2", "tags": {"env": "dev", "team": "data"}},
    {"name": "prod", "region": "us-east-1", "tags": {"env": "prod", "team": "web"}},
]
PEOPLE = [("pat", f"arn:aws:iam::{ACCOUNT}:user/pat"), ("ci", f"arn:aws:iam::{ACCOUNT}:role/ci")]


def _world_file(tmp: Path, name: str, policies: dict[str, list[str]], key: str) -> Path:
    data = {
        "accounts": [{"id": ACCOUNT}],
        "principals": [
            {
                "name": who,
                "arn": arn,
                "access_key_id": f"AKIA{key}{n:012d}",
                "secret_access_key": f"{key.lower()}-secret-{n:020d}",
                "policies": policies[who],
            }
            for n, (who, arn) in enumerate(PEOPLE)
        ],
        "instances": [{**i, "state": "running"} for i in SEEN],
    }
    path = tmp / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def _call(client: Any, action: str, name: str) -> bool:
    """True when the call got past authorization."""
    try:
        getattr(client, action)(instanceName=name)
    except client.exceptions.AccessDeniedException:
        return False
    except client.exceptions.ClientError:
        return True  # authorized, then refused for the instance's state
    return True


def test_round_trip_through_the_emulator(tmp_path: Path) -> None:
    """Calls made with boto3 as two principals are logged by the emulator; the policies
    generated from its log, attached to fresh credentials of the same principals in a new
    world, let exactly those calls through and deny the rest (the ARN names the instance by
    id: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html;
    StopInstance: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    broad = tmp_path / "broad.json"
    broad.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "lightsail:StopInstance",
                            "lightsail:StartInstance",
                            "lightsail:GetInstance",
                        ],
                        "Resource": "*",
                    }
                ],
            }
        ),
        "utf-8",
    )
    first = _world_file(tmp_path, "first.yaml", {w: ["broad.json"] for w, _ in PEOPLE}, "FIRST")
    state = tmp_path / "state.db"
    calls = [  # in order: web-a is stopped before it is started
        ("pat", "stop_instance", "web-a"),
        ("pat", "start_instance", "web-a"),
        ("ci", "stop_instance", "data-a"),
    ]
    done = set(calls)
    with serve_world(first, state=str(state)) as server:
        for who, action, name in calls:
            region = next(i["region"] for i in SEEN if i["name"] == name)
            assert _call(server.client(who, region=region), action, name)
        denied = server.client("pat", region="us-east-1")
        assert not _call(denied, "get_instance_state", "web-a")  # not granted: logged, denied

    assert main(["--from-log", str(state), "--world", str(first), "--population", "100"]) == 0
    trail = read_request_log(state)
    assert trail.skipped_by_reason() == {"not allowed (denied, AccessDeniedException)": 1}
    world = load_world(first)
    instances = [s.instance for s in world.instances]
    observed = plan_from_trail(trail, instances)
    assert [p.principal for p in observed.plans] == sorted(arn for _, arn in PEOPLE)
    files: dict[str, list[str]] = {}
    for plan in observed.plans:
        generation = generate(plan.intent)
        assert prove(generation, instances=instances, population=200).proven
        (policy,) = generation.policies
        (tmp_path / policy.filename).write_text(policy.text, "utf-8")
        who = next(w for w, arn in PEOPLE if arn == plan.principal)
        files[who] = [policy.filename]
    second = _world_file(tmp_path, "second.yaml", files, "FRESH")
    got: set[tuple[str, str, str]] = set()
    actions = ("stop_instance", "start_instance", "get_instance", "get_instance_state")
    with serve_world(second) as server:
        for who, _ in PEOPLE:
            for inst in SEEN:
                client = server.client(who, region=inst["region"])
                got |= {(who, a, inst["name"]) for a in actions if _call(client, a, inst["name"])}
    assert got == done


# --------------------------------------------------------------------------- no over-grant

BEN = f"arn:aws:iam::{ACCOUNT}:user/ben"


def _box(n: int, name: str, region: str = "us-east-1", **tags: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "region": region,
        "state": "running",
        "tags": tags,
    }


def _small_world(tmp: Path, boxes: list[dict[str, Any]]) -> Path:
    data = {
        "accounts": [{"id": ACCOUNT, "regions": ["us-east-1", "us-west-2"]}],
        "principals": [
            {
                "name": "ben",
                "arn": BEN,
                "access_key_id": "AKIABENEXAMPLE000001",
                "secret_access_key": "ben-secret-key-not-a-real-one-0",
            }
        ],
        "instances": boxes,
    }
    path = tmp / "world.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def _generated(
    tmp: Path,
    events: list[dict[str, Any]],
    world: Path,
    *flags: str,
    capsys: pytest.CaptureFixture[str],
) -> tuple[dict[str, Any], PolicySet]:
    """``lspolicy generate --from-trail`` as a user runs it: the JSON report, and the policies
    it wrote, compiled by the engine."""
    trail = _lines(tmp / "trail.jsonl", events)
    out = tmp / "out"
    args = ["--from-trail", str(trail), "--world", str(world), *flags, "--population", "100"]
    assert main([*args, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    policies = [parse_policy(p.read_text("utf-8")) for p in sorted(out.glob("*.json"))]
    return report, PolicySet(policies)


def _allows(engine: PolicySet, action: str, box: dict[str, Any], who: str) -> bool:
    inst = Instance(box["id"], box["region"], ACCOUNT, box["name"], box["tags"])
    return engine.is_allowed(instance_request(action, inst, Identity(who)))


@pytest.mark.parametrize("allow", [False, True])
def test_tag_keys_select_regardless_of_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], allow: bool
) -> None:
    """Context key names are not case-sensitive, so ``aws:ResourceTag/owner`` also reads an
    instance's ``Owner`` tag; values compare case-sensitively under ``StringEquals``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
    ``owner=ben`` therefore also selects box-b (``Owner: ben``): it is refused, or with
    --allow-broader taken and box-b reported as an addition; box-c (``owner: Ben``) is not."""
    a = _box(1, "box-a", owner="ben")
    b = _box(2, "box-b", Owner="ben")
    c = _box(3, "box-c", owner="Ben")
    world = _small_world(tmp_path, [a, b, c])
    flags = ["--tag-conditions", *(["--allow-broader"] if allow else [])]
    report, engine = _generated(
        tmp_path, [_event("StopInstance", "box-a", who=BEN)], world, *flags, capsys=capsys
    )
    (choice,) = report["observed"]["principals"][0]["choices"]
    assert choice["tags"] == {"owner": "ben"}
    assert choice["adds"] == ["us-east-1/box-b"]
    assert choice["form"] == ("tags" if allow else "ids")
    assert _allows(engine, "lightsail:StopInstance", a, BEN)
    assert _allows(engine, "lightsail:StopInstance", b, BEN) is allow
    assert not _allows(engine, "lightsail:StopInstance", c, BEN)


def test_ids_in_two_regions_name_only_the_observed_arns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An instance's ARN carries its region, account and id
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies):
    a role that stopped A in us-east-1 and B in us-west-2 may stop exactly those two ARNs, not A's
    id in us-west-2 nor B's in us-east-1."""
    a = _box(1, "box-a", "us-east-1")
    b = _box(2, "box-b", "us-west-2")
    world = _small_world(tmp_path, [a, b])
    events = [
        _event("StopInstance", "box-a", who=ROLE, session="s1"),
        _event("StopInstance", "box-b", who=ROLE, session="s2", region="us-west-2"),
    ]
    report, engine = _generated(tmp_path, events, world, capsys=capsys)
    assert report["proven"]
    stop = "lightsail:StopInstance"
    assert _allows(engine, stop, a, ROLE) and _allows(engine, stop, b, ROLE)
    assert not _allows(engine, stop, {**a, "region": "us-west-2"}, ROLE)
    assert not _allows(engine, stop, {**b, "region": "us-east-1"}, ROLE)
    written = (tmp_path / "out" / "observed-role-nightly-stopper.policy.json").read_text("utf-8")
    arns = sorted(set(re.findall(r"arn:aws:lightsail:[^\"]+", written)))
    assert arns == [
        f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/{a['id']}",
        f"arn:aws:lightsail:us-west-2:{ACCOUNT}:Instance/{b['id']}",
    ]


def _named(name: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**_event(name, "unused", who=BEN), "requestParameters": params, **extra}


def test_calls_naming_the_instance_as_resource_name_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lightsail operations that name the instance ``resourceName``: TagResource
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_TagResource.html),
    UntagResource, StartGUISession
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StartGUISession.html),
    StopGUISession, CreateGUISessionAccessDetails
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_CreateGUISessionAccessDetails.html),
    GetCostEstimate
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetCostEstimate.html),
    GetSetupHistory, SetResourceAccessForBucket
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_SetResourceAccessForBucket.html)
    and SetIpAddressType with ``resourceType`` ``Instance``
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_SetIpAddressType.html).
    A call whose event says it named another resource type (``resourceType``, or a
    ``resourceArn`` of another type) is not access to an instance."""
    a = _box(1, "box-a", owner="ben")
    b = _box(2, "box-b", owner="ben")
    world = _small_world(tmp_path, [a, b])
    arn_a = f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/{a['id']}"
    tags = [{"key": "k", "value": "v"}]
    events = [
        _named("TagResource", {"resourceName": "box-a", "tags": tags}),
        _named("UntagResource", {"resourceName": "box-a", "resourceArn": arn_a, "tagKeys": ["k"]}),
        _named("StartGUISession", {"resourceName": "box-a"}),
        _named("StopGUISession", {"resourceName": "box-a"}),
        _named("CreateGUISessionAccessDetails", {"resourceName": "box-a"}),
        _named("GetCostEstimate", {"resourceName": "box-a", "startTime": 1, "endTime": 2}),
        _named("GetSetupHistory", {"resourceName": "box-a"}),
        _named(
            "SetResourceAccessForBucket",
            {"resourceName": "box-a", "bucketName": "bkt", "access": "allow"},
        ),
        _named(
            "SetIpAddressType",
            {"resourceType": "Instance", "resourceName": "box-a", "ipAddressType": "dualstack"},
        ),
        # another resource type that happens to share box-b's name: not an instance call
        _named(
            "SetIpAddressType",
            {"resourceType": "LoadBalancer", "resourceName": "box-b", "ipAddressType": "ipv4"},
        ),
        _named(
            "TagResource",
            {
                "resourceName": "box-b",
                "resourceArn": f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Disk/{b['id']}",
                "tags": tags,
            },
        ),
        _named(
            "TagResource",
            {"resourceName": "box-b", "tags": tags},
            responseElements={"operations": [{"resourceName": "box-b", "resourceType": "Disk"}]},
        ),
    ]
    trail = read_trail(_lines(tmp_path / "read.jsonl", events))
    assert [o.action.split(":")[1] for o in trail.observations] == [
        e["eventName"] for e in events[:9]
    ]
    assert {o.instance_name for o in trail.observations} == {"box-a"}
    assert len(trail.skipped) == 3
    assert all("not an instance" in s.reason for s in trail.skipped)
    report, engine = _generated(tmp_path, events, world, capsys=capsys)
    assert report["proven"]
    for e in events[:9]:
        action = f"lightsail:{e['eventName']}"
        assert _allows(engine, action, a, BEN), action
        assert not _allows(engine, action, b, BEN), action


def test_a_resource_arn_must_name_the_world_instance(tmp_path: Path) -> None:
    """The ARN carries the id (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies):
    a ``resourceArn`` whose id is not the world's instance of that name (it was deleted and
    recreated) is unresolved, not granted on the new one
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_TagResource.html)."""
    a = _box(1, "box-a")
    stale = f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/00000000-0000-4000-8000-999999999999"
    event = _named("TagResource", {"resourceName": "box-a", "resourceArn": stale, "tags": []})
    trail = read_trail(_lines(tmp_path / "t.jsonl", [event]))
    inst = Instance(a["id"], a["region"], ACCOUNT, a["name"], {})
    observed = plan_from_trail(trail, [inst])
    assert observed.plans == ()
    (u,) = observed.unresolved
    assert "999999999999" in u.reason


def test_every_operation_named_by_resource_name_is_an_instance_action() -> None:
    """The table of operations that name the instance ``resourceName`` lists only actions the
    Service Authorization Reference scopes to ``Instance``
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html),
    so none of its entries is dead."""
    assert {f"lightsail:{op}" for op in NAMED_BY} <= set(instance_actions())
