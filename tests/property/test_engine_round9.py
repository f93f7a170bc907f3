"""Round 9 of the engine work (issue 12): a batch reads the request's own keys as given.

A plan on its generic decision function (no resource-based policy) is called by a batch in its
raw form (`codegen.raw_decider`): the request's own keys are read from the caller's mapping by
the names the plan reads, each normalised only when a test reads it, then the instance's
values, then the principal's, and no merged context is built. The answers must be those of
`PolicySet.evaluate` on the request `Request.from_parts` builds: key names compared without
case, the later of two spellings winning, a request key over an instance's or a principal's
value, scalars and lists as IAM compares them.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_requests
from lspolicy.evaluate import authorize, codegen

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

ACCOUNT = "111122223333"
CALLER = f"arn:aws:iam::{ACCOUNT}:user/alice"
STOP = "lightsail:StopInstance"


def _doc(statements: list[dict[str, Any]]) -> lspolicy.Policy:
    return lspolicy.parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": statements}), source="<test>"
    )


def _allow(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "lightsail:*", "Resource": "*", "Condition": condition}


SETS = {
    # one-value operators the writer inlines: the own key is read, normalised, compared
    "source ip": [_allow({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
    "mfa age": [_allow({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})],
    "secure": [_allow({"Bool": {"aws:SecureTransport": "true"}})],
    # scalars compared as strings: IAM's forms of a boolean and of a whole float
    "secure as text": [_allow({"StringEquals": {"aws:SecureTransport": "true"}})],
    "mfa age as text": [_allow({"StringEquals": {"aws:MultiFactorAuthAge": "300"}})],
    # multivalued keys: an empty list is present with no values (not missing)
    "tag keys": [_allow({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}})],
    "tag keys given": [_allow({"Null": {"aws:TagKeys": "false"}})],
    "tag keys if exists": [_allow({"StringEqualsIfExists": {"aws:TagKeys": "env"}})],
    # a Resource with a policy variable: its matcher reads the whole (merged) context, where
    # a request key is over the instance's value
    "resource variable": [
        {
            "Effect": "Allow",
            "Action": "lightsail:*",
            "Resource": f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-${{aws:ResourceTag/env}}",
        }
    ],
    # a request key over the instance's value, and over the principal's
    "resource tag": [
        _allow({"StringEquals": {"aws:ResourceTag/env": "dev"}}),
        {
            "Effect": "Deny",
            "Action": "lightsail:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}},
        },
    ],
}

OWN: list[dict[str, Any] | None] = [
    None,
    {},
    {"aws:SourceIp": "10.1.2.3"},
    {"aws:SourceIp": "192.0.2.1", "AWS:SOURCEIP": "10.1.2.3"},  # the later spelling wins
    {"AWS:SOURCEIP": "10.1.2.3", "aws:SourceIp": "192.0.2.1"},
    {"aws:multifactorauthage": 300.0},
    {"aws:MultiFactorAuthAge": 7200},
    {"aws:MultiFactorAuthAge": "59"},
    {"aws:SecureTransport": True},
    {"aws:SecureTransport": False},
    {"aws:SecureTransport": "true"},
    {"aws:TagKeys": []},  # present, no values: ForAllValues holds, Null sees no value
    {"aws:TagKeys": ["env"]},
    {"aws:TagKeys": ["env", "owner"]},
    {"aws:ResourceTag/env": "dev"},
    {"aws:ResourceTag/env": "prod"},
    {"aws:PrincipalTag/team": "ops"},
    {"aws:PrincipalTag/team": "web", "aws:resourcetag/ENV": "dev"},
]

PRINCIPALS = [
    RequestPart({"aws:PrincipalTag/team": "web"}, caller_arn=CALLER),
    RequestPart({"aws:PrincipalTag/team": "ops"}, caller_arn=CALLER),
]
INSTANCES = [
    RequestPart(
        {"aws:ResourceTag/env": env},
        resource=f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-{env}",
    )
    for env in ("dev", "prod")
]


def _cold(layers: dict[str, Any]) -> PolicySet:
    """A set whose plans start on their generic functions (no eager inlining)."""
    saved = authorize._EAGER
    authorize._EAGER = -1
    authorize._DECIDERS.clear()
    try:
        rules = PolicySet(**layers)
        rules._plan(STOP.lower())
    finally:
        authorize._EAGER = saved
    return rules


@pytest.mark.parametrize("inlined", [False, True], ids=["raw", "layered"])
def test_a_batch_reads_the_requests_own_keys_as_given(inlined: bool) -> None:
    """Every (policy set, principal, instance, own keys) of the tables, decided by
    `decide_requests` on plans still on their generic functions (so in their raw form), or
    inlined (a layered function's variant per layout of the request's keys, reading them
    as given), with the identity policies alone and again under an SCP level and a
    boundary: each answer equals ``evaluate`` on the request `Request.from_parts` builds,
    and the answers are not all alike."""
    seen: set[bool] = set()
    for (name, statements), layered in itertools.product(SETS.items(), (False, True)):
        policy = _doc(statements)
        layers: dict[str, Any] = {"identity": [policy]}
        if layered:
            layers.update(scps=[[policy]], boundary=[policy])
        rules = _cold(layers)
        plan = rules._plans[STOP.lower()]
        assert not plan.inlined and getattr(plan.simple, "raw", None) is not None, name
        if inlined:
            authorize._inline(plan)
        reqs = [
            (p, STOP, i, own)
            for p, i, own in itertools.product(range(len(PRINCIPALS)), range(len(INSTANCES)), OWN)
        ]
        expected = [
            rules.evaluate(Request.from_parts(a, PRINCIPALS[p], INSTANCES[i], context=own)).allowed
            for p, a, i, own in reqs
        ]
        sets = [rules] * len(PRINCIPALS)
        got = decide_requests(reqs, sets, PRINCIPALS, INSTANCES)
        assert plan.inlined is inlined, name  # cold: fewer requests than `_HOT`
        assert got == expected, name
        seen.update(expected)
    assert seen == {True, False}


def test_the_later_spelling_of_a_request_key_wins() -> None:
    """Two spellings of ``aws:SourceIp`` in one request: the later one is the key's value
    (condition keys are not case-sensitive), in the batch as in ``evaluate``."""
    rules = _cold({"identity": [_doc(SETS["source ip"])]})
    own = [
        {"aws:SourceIp": "192.0.2.1", "AWS:SOURCEIP": "10.1.2.3"},
        {"AWS:SOURCEIP": "10.1.2.3", "aws:SourceIp": "192.0.2.1"},
    ]
    reqs = [(0, STOP, 0, o) for o in own]
    assert decide_requests(reqs, [rules], PRINCIPALS[:1], INSTANCES) == [True, False]
    assert [
        rules.evaluate(Request.from_parts(STOP, PRINCIPALS[0], INSTANCES[0], context=o)).allowed
        for o in own
    ] == [True, False]


def test_a_large_plan_is_decided_by_its_raw_form_hot_or_not() -> None:
    """A plan without a resource-based policy and past ``_EAGER`` statements is decided in a
    batch by the raw form of its generic function however many requests it serves
    (`PolicySet._batch_entry`): a batch counts none of them, so never promotes the plan; once
    the plan is inlined (as ``is_allowed`` does when it is hot), a batch still calls the same
    raw form and makes no layered function. Every answer equals ``evaluate``."""
    keys = [f"aws:RequestTag/k{n}" for n in range(14)]
    statements = [_allow({"StringEquals": {key: "yes"}}) for key in keys]
    rules = _cold({"identity": [_doc(statements)], "boundary": [_doc([_allow({})])]})
    plan = rules._plans[STOP.lower()]
    assert authorize._size(plan) > authorize._EAGER
    owns: list[dict[str, Any] | None] = [None, {keys[3]: "yes"}, {keys[13]: "no"}]
    reqs = [(0, STOP, n % 2, owns[n % 3]) for n in range(authorize._HOT + 30)]
    expected = [
        rules.evaluate(Request.from_parts(a, PRINCIPALS[p], INSTANCES[i], context=own)).allowed
        for p, a, i, own in reqs
    ]
    assert set(expected) == {True, False}
    assert decide_requests(reqs, [rules], PRINCIPALS[:1], INSTANCES) == expected
    assert plan.uses == 0 and not plan.inlined
    raw = plan.raw
    assert raw is not None and raw is getattr(plan.simple, "raw", None)
    authorize._inline(plan)
    assert decide_requests(reqs, [rules], PRINCIPALS[:1], INSTANCES) == expected
    assert plan.raw is raw and plan.layered is authorize._UNSET and plan.uses == 0


def test_a_variant_whose_lookups_are_not_all_rewritten_normalises_the_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`codegen.layered_variant` rewrites each layered lookup of a request key into a read
    of the context as given; where a lookup is not rewritten (none is, here: the pattern is
    replaced by one that matches nothing), the variant normalises the request's keys and
    calls the layered function itself, with the same answers."""
    rules = _cold({"identity": [_doc(SETS["secure as text"] + SETS["mfa age as text"])]})
    plan = rules._plans[STOP.lower()]
    authorize._inline(plan)
    layered = authorize._layered(plan)
    assert layered is not None
    monkeypatch.setattr(codegen, "_BARE", re.compile(r"(?!)(t)(n)()"))
    keys = {
        "aws:securetransport": "AWS:SecureTransport",
        "aws:multifactorauthage": "aws:MultiFactorAuthAge",
    }
    variant = codegen.layered_variant(layered, keys)
    assert variant is not layered
    instance, principal = INSTANCES[0].values, PRINCIPALS[0].values
    for secure, age in itertools.product([True, False, "true"], [300.0, 7200, "300"]):
        given = {"AWS:SecureTransport": secure, "aws:MultiFactorAuthAge": age}
        own = {"aws:securetransport": (str(secure).lower(),)}
        own["aws:multifactorauthage"] = (str(int(age)) if isinstance(age, float) else str(age),)
        want = layered("arn:aws:lightsail:us-east-1:1:Instance/i", own, instance, principal)
        got = variant("arn:aws:lightsail:us-east-1:1:Instance/i", given, instance, principal)
        assert got == want, given
        assert want == (secure in (True, "true") or age in (300.0, "300"))
