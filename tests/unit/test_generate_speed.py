"""The proof's fast paths decide exactly what the plain paths decide.

Correctness only, never timing: each fast path (world requests grouped by class, requests built
from cached parts, the plain world-schema check, aligned resource segments, the who/where cache)
is compared with the path it shortcuts, on inputs where a difference would show.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import itertools
import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.generate import Generation, generate, parse_intent, prove
from lspolicy.generate.classes import enumerate_classes
from lspolicy.generate.population import boundary_probes, pools_for, random_probes, world_probes
from lspolicy.generate.prove import (
    DEFAULT_POPULATION,
    MIN_WITNESS,
    WITNESS_PER_CLASS,
    _Requests,
    witness_size,
)
from lspolicy.glob import ANY, STAR, Token
from lspolicy.lightsail.context import Identity, Instance
from lspolicy.model.request import ContextValue, Request, RequestPart
from lspolicy.parse import parse_policy
from lspolicy.server import world as world_module
from lspolicy.server.world import WorldError, load_world, schema_errors

ACCOUNT = "111122223333"

INTENT = """\
name: speed-fleet
account: "111122223333"
grants:
  - sid: TeamStopStart
    principals:
      tags: {cost-center: {prefix: CC-10}}
    actions: [lightsail:StopInstance, lightsail:StartInstance]
    regions: [us-east-1, us-west-2]
    instances:
      tags:
        team: {principal_tag: team}
        env: {one_of: [dev, staging]}
  - sid: SreReboot
    principals:
      arns: [arn:aws:iam::111122223333:role/sre-oncall]
    actions: [lightsail:RebootInstance, lightsail:StopInstance]
    require: {mfa: true}
exclude:
  - sid: NeverProdWithoutMfa
    instances:
      tags: {env: prod}
    unless: {mfa: true}
  - sid: KeepersAreKept
    actions: [lightsail:StopInstance]
    instances:
      tags: {lifecycle: {prefix: keep}}
"""


def fleet(n: int = 240) -> tuple[list[Instance], list[Identity]]:
    """A world like the benchmark's: teams, environments, keepers, tags no test reads, and a
    few requests the class signatures leave alone (a non-ASCII key) or that are not judged
    (two keys alike but for case), and an instance of another account."""
    rng = random.Random(7)
    teams, envs = ["web", "data", "ops"], ["dev", "staging", "prod", "Prod"]
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    instances = []
    for i in range(n):
        tags = {"team": rng.choice(teams), "env": rng.choice(envs), "owner": f"u{i % 17}"}
        if i % 5 == 0:
            tags["lifecycle"] = rng.choice(["keep", "keep-forever", "kee", "temp"])
        if i % 7 == 0:
            tags["Cost-Center"] = "CC-1001"  # an instance tag no selector reads
        if i == 3:
            tags["équipe"] = "web"
        if i == 4:
            tags["TEAM"] = "web"
        account = ACCOUNT if i % 31 else "444455556666"
        instances.append(
            Instance(id=f"i-{i:04d}", region=rng.choice(regions), account=account, tags=tags)
        )
    identities = [
        Identity(f"arn:aws:iam::{ACCOUNT}:user/dev{k}", {"team": t, "cost-center": "CC-1002"})
        for k, t in enumerate(teams)
    ] + [
        Identity(f"arn:aws:iam::{ACCOUNT}:role/sre-oncall"),
        Identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/sre-oncall/s1"),
    ]
    return instances, identities


def mutated(gen: Generation, change: Callable[[str], str]) -> Generation:
    """Every generated policy rewritten by ``change`` (and re-parsed)."""
    policies = []
    for p in gen.policies:
        text = change(p.text)
        policies.append(
            dataclasses.replace(p, text=text, policy=parse_policy(text, source=p.filename))
        )
    assert any(a.text != b.text for a, b in zip(policies, gen.policies, strict=True))
    return dataclasses.replace(gen, policies=tuple(policies))


TAMPERINGS: list[tuple[str, Callable[[str], str]]] = [
    ("staging swapped for prod", lambda t: t.replace('"staging"', '"prod"')),
    ("the keepers' prefix lengthened", lambda t: t.replace('"keep*"', '"keepx*"')),
    ("the MFA requirement dropped", lambda t: t.replace('"true"', '"false"')),
    ("a region widened", lambda t: t.replace("us-west-2", "*")),
    (
        "the team variable replaced by a constant",
        lambda t: t.replace("${aws:PrincipalTag/team}", "web"),
    ),
]


def _summary(report: Any) -> dict[str, Any]:
    data = report.to_dict()
    for volatile in ("seconds", "world_classes", "world_alone"):
        data.pop(volatile)
    return data


@pytest.mark.parametrize(("name", "change"), TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_grouped_world_check_finds_what_the_per_instance_check_finds(
    name: str, change: Callable[[str], str]
) -> None:
    """A tampered policy over-grants or under-grants on some world instances; grouping the
    world's requests by class finds the same disagreements, counts and counterexamples as
    deciding each request alone (string, ARN and Bool operators:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html;
    policy variables:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)."""
    gen = mutated(generate(parse_intent(INTENT)), change)
    instances, identities = fleet()
    kw: dict[str, Any] = {
        "instances": instances,
        "identities": identities,
        "population": 0,
        "max_counterexamples": 50,
    }
    grouped = prove(gen, **kw)
    alone = prove(gen, group_world=False, **kw)
    assert not alone.passed, name  # the tampering shows on the world
    assert grouped.exact and grouped.world_classes > 0
    assert _summary(grouped) == _summary(alone)
    assert alone.world_classes == 0 and 0 < grouped.world_alone < alone.world_alone


def test_grouped_world_check_agrees_on_a_sound_policy_and_leaves_odd_requests_alone() -> None:
    """On the generated policy both ways prove the same thing; requests whose tag keys are not
    ASCII are decided alone, those in another account or by a role session by class, and the class count is far below the request count. The
    tag-key case rule: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    ("condition key names are not case-sensitive")."""
    gen = generate(parse_intent(INTENT))
    instances, identities = fleet()
    kw: dict[str, Any] = {"instances": instances, "identities": identities, "population": 300}
    grouped = prove(gen, **kw)
    alone = prove(gen, group_world=False, **kw)
    assert grouped.proven and alone.proven, grouped.render()
    assert _summary(grouped) == _summary(alone)
    assert grouped.world_alone > 0  # the non-ASCII key
    assert grouped.undecidable == alone.undecidable > 0  # the case twins
    assert 0 < grouped.world_classes < grouped.population["world"] // 4
    assert "world requests by class" in grouped.render()


def test_a_class_whose_first_request_disagrees_counts_every_member() -> None:
    """When a world class's first request is an over-grant, every request of the class counts
    as one, as deciding each alone counts them: ten instances alike but for their ids (the
    tampered keepers' Deny no longer matches ``keep``; evaluation logic:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    gen = mutated(generate(parse_intent(INTENT)), lambda t: t.replace('"keep*"', '"keepx*"'))
    tags = {"env": "dev", "team": "web", "lifecycle": "keep"}
    ten = [Instance(id=f"i-{k}", region="us-east-1", account=ACCOUNT, tags=tags) for k in range(10)]
    base = prove(gen, population=0)
    grouped = prove(gen, instances=ten, population=0, max_counterexamples=100)
    alone = prove(gen, instances=ten, population=0, max_counterexamples=100, group_world=False)
    assert grouped.over_grants == alone.over_grants > base.over_grants
    assert grouped.sampled_disagreements == alone.sampled_disagreements > 0
    assert grouped.world_classes < grouped.population["world"]
    assert _summary(grouped) == _summary(alone)


# ------------------------------------------------------------------------------ requests


def _same(a: Request, b: Request) -> None:
    assert a == b
    assert list(a.context.items()) == list(b.context.items())
    assert list(a.key_names.items()) == list(b.key_names.items())
    assert (a.special, a.caller_is_root, a.caller_account, a.resource_account) == (
        b.special,
        b.caller_is_root,
        b.caller_account,
        b.resource_account,
    )


def test_requests_from_cached_parts_equal_the_probes_own_requests() -> None:
    """Every boundary, world and random request of a proof, built from cached parts, is the
    request `Probe.request` builds, key for key (the context keys of a Lightsail call:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)."""
    intent = parse_intent(INTENT)
    pools = pools_for(intent)
    instances, identities = fleet(60)
    probes = itertools.chain(
        boundary_probes(intent, pools),
        world_probes(intent, pools, instances, identities),
        random_probes(intent, pools, 1500, 3),
    )
    build = _Requests()
    n = 0
    for probe in probes:
        _same(build(probe), probe.request())
        n += 1
    assert n > 2000


_keys = st.sampled_from(
    ["aws:SourceIp", "aws:sourceip", "aws:PrincipalTag/team", "aws:principaltag/Team", "k", "K"]
)
_values: st.SearchStrategy[ContextValue] = st.one_of(
    st.text(max_size=3),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.lists(st.text(max_size=2), max_size=2),
)
_contexts = st.dictionaries(_keys, _values, max_size=4)


@given(parts=st.lists(_contexts, max_size=4), caller=st.sampled_from([None, "arn:aws:iam::1:root"]))
def test_request_from_parts_equals_the_plain_constructor(
    parts: list[dict[str, ContextValue]], caller: str | None
) -> None:
    """``Request.from_parts`` is ``Request`` over the parts merged in order, including parts
    that share a key up to case (keys are case-insensitive:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html)."""
    merged: dict[str, ContextValue] = {}
    for p in parts:
        merged.update(p)
    plain = Request("lightsail:StopInstance", "arn:aws:lightsail:us-east-1:1:Instance/x", merged,
                    caller_arn=caller)  # fmt: skip
    fast = Request.from_parts(
        "lightsail:StopInstance",
        *[RequestPart(p) for p in parts],
        resource="arn:aws:lightsail:us-east-1:1:Instance/x",
        caller_arn=caller,
    )
    _same(fast, plain)
    assert fast.multivalued == plain.multivalued


# ------------------------------------------------------------------------------ who/where


def test_who_where_cache_ignores_tags_no_test_reads_and_changes_no_answer() -> None:
    """Two instances that differ only in a tag no test reads share one who/where signature and
    one cache entry; a warmed signer answers every request as a fresh one does (tag keys
    compared without case: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html)."""
    gen = generate(parse_intent(INTENT))
    policies = [p.policy for p in gen.policies]
    warm = enumerate_classes(gen.intent, policies).signer
    who = Identity(f"arn:aws:iam::{ACCOUNT}:user/a", {"team": "web", "cost-center": "CC-100"})
    a = Instance("i-1", "us-east-1", ACCOUNT, tags={"team": "web", "env": "dev", "x": "1"})
    b = dataclasses.replace(a, tags={"Team": "web", "env": "dev", "x": "2", "y": "3"})
    before = len(warm._who_where)
    assert warm.who_where(who, a) == warm.who_where(who, b)
    assert len(warm._who_where) == before + 1
    instances, identities = fleet(80)
    intent = gen.intent
    probes = list(random_probes(intent, pools_for(intent), 400, 5))
    probes += list(world_probes(intent, pools_for(intent), instances, identities))
    answers = []
    for p in probes:
        if p.instance is not None and not any(k in ("équipe", "TEAM") for k in p.instance.tags):
            answers.append((p, warm.who_where(p.identity, p.instance)))
    for p, sig in answers[::7]:
        fresh = enumerate_classes(intent, policies).signer
        assert fresh.who_where(p.identity, p.instance) == sig  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ resources

_segment_tokens = st.lists(st.sampled_from(["a", "b", ":", "/", STAR, "?"]), max_size=8)


def _tokens(raw: list[object]) -> list[Token]:
    return [ANY if t == "?" else t for t in raw]  # type: ignore[misc]


@given(tokens=_segment_tokens, arn=st.text(alphabet="ab:/", max_size=10))
def test_aligned_resource_segments_agree_with_the_walk(tokens: list[object], arn: str) -> None:
    """A resource pattern matched segment by segment (the shortcut when no inner segment ends
    in ``*``, or when the ARN has exactly as many segments as the pattern: each pattern
    segment takes at least one) answers as the general walk does: "If the * wildcard is the last character of a
    resource ARN segment, it can expand to match beyond the colon boundaries"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)."""
    pattern = compile_resource_pattern(_tokens(tokens))
    assert pattern(arn) == pattern.walk(arn)


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        (["arn:aws:lightsail:us-east-1:1:Instance/", STAR], "arn:aws:lightsail:us-east-1:1:Instance/x", True),
        (["arn:aws:lightsail:us-east-1:1:Instance/", STAR], "arn:aws:lightsail:us-east-1:1:Instance/x:y", True),
        (["arn:aws:lightsail:us-east-1:1:Instance/x"], "arn:aws:lightsail:us-east-1:1:Instance/x:y", False),
        (["arn:aws:lightsail:", STAR, ":1:Instance/x"], "arn:aws:lightsail:a:b:1:Instance/x", True),
        (["arn:aws:lightsail:", STAR, ":1:Instance/", STAR], "arn:aws:lightsail:us-east-1:1:Instance/x", True),
        (["arn:aws:lightsail:", STAR, ":1:Instance/", STAR], "arn:aws:lightsail:us-east-1:2:Instance/x", False),
        (["arn:aws:lightsail:", STAR, ":1:Instance/", STAR], "arn:aws:lightsail:1:Instance/x", False),
        (["arn:aws:lightsail:us-east-1:2:Instance/", STAR], "arn:aws:lightsail:us-east-1:1:Instance/x", False),
    ],
)  # fmt: skip
def test_resource_patterns_by_segment(pattern: list[Token], arn: str, expected: bool) -> None:
    """Segments, and a trailing ``*`` that swallows colons, as the Resource element documents
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)."""
    compiled = compile_resource_pattern(pattern)
    assert compiled(arn) is expected and compiled.walk(arn) is expected


# ------------------------------------------------------------------------------ world files


def _world() -> dict[str, Any]:
    instances, identities = fleet(30)
    return {
        "transition_seconds": 0,
        "accounts": [{"id": ACCOUNT, "regions": ["us-east-1", "us-west-2"]}],
        "principals": [
            {
                "arn": ident.arn,
                "access_key_id": f"AKIASPEED{n:011d}",
                "secret_access_key": f"speed-secret-key-{n:08d}",
                "tags": dict(ident.tags),
                "boundary": ["b.json"] if n == 1 else "b.json",
            }
            for n, ident in enumerate(identities)
        ],
        "instances": [
            {"name": f"i-{n:03d}", "id": i.id, "region": i.region, "tags": dict(i.tags),
             "state": "running"}
            for n, i in enumerate(instances)
        ],
    }  # fmt: skip


def _validator_errors(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    validator = world_module._FiniteValidator(world_module._schema())
    return [
        (tuple(e.absolute_path), e.message)
        for e in sorted(
            validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
        )
    ]


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        data = data[p]
    data[path[-1]] = value


_MUTATIONS: list[Callable[[dict[str, Any]], None]] = [
    lambda d: d.pop("accounts"),
    lambda d: d.update(extra=1),
    lambda d: _set(d, ("transition_seconds",), math.nan),
    lambda d: _set(d, ("transition_seconds",), True),
    lambda d: _set(d, ("transition_seconds",), 3601),
    lambda d: _set(d, ("transition_seconds",), -1),
    lambda d: _set(d, ("accounts",), []),
    lambda d: _set(d, ("accounts", 0, "id"), "12345678901"),
    lambda d: _set(d, ("accounts", 0, "regions"), ["us-east-1", "us-east-1"]),
    lambda d: _set(d, ("accounts", 0, "regions"), ["US-east-1"]),
    lambda d: _set(d, ("principals", 0, "arn"), "arn:aws:iam::1:user/x"),
    lambda d: _set(d, ("principals", 0, "access_key_id"), "akia"),
    lambda d: _set(d, ("principals", 0, "secret_access_key"), "short"),
    lambda d: _set(d, ("principals", 0, "tags"), {"": "x"}),
    lambda d: _set(d, ("principals", 0, "tags"), {"k": "v" * 257}),
    lambda d: _set(d, ("principals", 0, "tags"), {"k": 1}),
    lambda d: _set(d, ("principals", 0, "boundary"), []),
    lambda d: _set(d, ("principals", 0, "boundary"), ""),
    lambda d: _set(d, ("principals", 0, "policies"), ["a", ""]),
    lambda d: d["principals"][0].pop("arn"),
    lambda d: _set(d, ("instances", 0, "name"), "-bad"),
    lambda d: _set(d, ("instances", 0, "state"), "asleep"),
    lambda d: _set(d, ("instances", 0, "region"), 5),
    lambda d: _set(d, ("instances", 0, "availability_zone"), "us-east-1"),
    lambda d: _set(d, ("instances", 0, "tags"), []),
    lambda d: _set(d, ("instances", 0, "id"), "x" * 129),
    lambda d: _set(d, ("instances", 1), "not an instance"),
    lambda d: _set(d, ("instances",), {}),
]


@given(chosen=st.lists(st.integers(0, len(_MUTATIONS) - 1), max_size=3))
def test_plain_world_check_gives_the_validators_errors(chosen: list[int]) -> None:
    """For a valid world and for worlds with up to three problems, the plain check reports
    exactly the JSON Schema validator's errors (paths and messages); a valid world reports
    none (the world schema, ``schemas/world.schema.json``; JSON Schema 2020-12 validation:
    https://json-schema.org/draft/2020-12/json-schema-validation)."""
    data = _world()
    for k in chosen:
        with contextlib.suppress(KeyError, IndexError, TypeError):
            _MUTATIONS[k](data)
    assert schema_errors(copy.deepcopy(data)) == _validator_errors(data)
    assert world_module._plain_check() is not None


def test_plain_world_check_says_valid_only_for_valid_worlds() -> None:
    """Each problem alone: the plain check never calls an invalid world valid, and calls the
    unchanged world valid without the validator."""
    check = world_module._plain_check()
    assert check is not None and check(_world())
    for mutate in _MUTATIONS:
        data = _world()
        mutate(data)
        assert _validator_errors(data), "the mutation is a real problem"
        assert not check(data)


def test_an_invalid_world_file_still_has_located_errors(tmp_path: Path) -> None:
    """A world file with problems is reported with its lines and columns (errors as data),
    whichever path checked it."""
    data = _world()
    data["instances"][2]["state"] = "asleep"
    data["principals"][0]["tags"] = {"": "x"}
    path = tmp_path / "world.json"
    (tmp_path / "b.json").write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        )
    )
    path.write_text(json.dumps(data, indent=1))
    with pytest.raises(WorldError) as raised:
        load_world(path)
    problems = raised.value.problems
    where = {p.location.path: p.location for p in problems}
    assert set(where) == {"instances[2].state", "principals[0].tags"}
    assert all(loc.line > 1 and loc.column >= 1 for loc in where.values())
    data["instances"][2]["state"] = "running"
    data["principals"][0]["tags"] = {"team": "web"}
    path.write_text(json.dumps(data, indent=1))
    world = load_world(path)
    assert len(world.instances) == 30


# ------------------------------------------------------------------------------ witness size


def test_witness_size_follows_the_classes_and_never_makes_a_sample_proven() -> None:
    """The sampled witness: per class within bounds when the classes are exact, the full
    default when not (then the report says SAMPLED, never PROVEN); an asked size is kept."""
    assert witness_size(3, True) == MIN_WITNESS
    assert witness_size(144, True) == 144 * WITNESS_PER_CLASS
    assert witness_size(10**6, True) == DEFAULT_POPULATION
    assert witness_size(3, False) == DEFAULT_POPULATION
    gen = generate(parse_intent(INTENT))
    report = prove(gen)
    assert report.proven and report.population["random"] == witness_size(report.classes, True)
    assert "20 per class" in report.render()
    asked = prove(gen, population=123)
    assert asked.population["random"] == 123 and "as asked" in asked.render()


def test_a_not_exact_proof_keeps_the_full_sample_and_says_sampled() -> None:
    """A construct the classes do not model (``StringLike`` with an inner wildcard:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)
    leaves the proof SAMPLED over the full default population."""
    gen = mutated(
        generate(parse_intent(INTENT)),
        lambda t: t.replace(
            '"StringLike": {', '"StringLike": {"aws:PrincipalTag/zz": ["a*b"], ', 1
        ),
    )
    report = prove(gen, instances=fleet(20)[0])
    assert not report.exact and not report.proven
    assert report.population["random"] == DEFAULT_POPULATION
    assert report.world_classes == 0  # not exact: every world request decided alone
    assert "PROVEN" not in report.render()
