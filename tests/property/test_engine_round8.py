"""Round 8 of the engine work (issue 12): many principals' requests in one call
(`lspolicy.decide_requests`), against the explained path.

`decide_requests` takes the requests as a caller holds them, ``(principal index, action,
instance index, own keys)`` in any order, groups them by principal itself and answers in the
requests' order; `PolicySet.is_allowed_many` with a principal now runs on the same loop (its
items turned into columns). Every answer must equal `PolicySet.evaluate` on the request
`Request.from_parts` builds, with every layer (identity, boundary, session, SCP levels, a
resource-based policy naming principals), for callers of every kind (the account root and
another account's callers take the general path), cold plans (generic functions) and inlined
ones. The rules are AWS's:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiled_layers import CALLERS, policy_sets

from lspolicy import PolicySet, Request, RequestPart, decide_requests
from lspolicy.evaluate import authorize, batch
from lspolicy.strategies import lightsail_instances, request_contexts

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

ACTIONS = st.sampled_from(
    ["lightsail:StopInstance", "lightsail:GetInstance", "lightsail:TagResource", "lightsail:*"]
)
OWN_KEYS = st.sampled_from(
    [
        None,
        {},
        {"aws:SourceIp": "203.0.113.9"},
        {"aws:SourceIp": "198.51.100.7", "aws:MultiFactorAuthPresent": "true"},
        {"AWS:SOURCEIP": "10.1.2.3", "aws:CurrentTime": "2026-03-05T04:50:14Z"},
        {"aws:ResourceTag/env": "prod"},  # overrides the instance's value
        {"aws:PrincipalTag/team": "web", "aws:username": "mallory"},  # and the principal's
        {"aws:TagKeys": ["env", "team"], "aws:RequestTag/env": "dev"},
        {"aws:SecureTransport": True, "aws:MultiFactorAuthAge": 300},
        # two spellings of one key (the later wins, as in `context_values`), an empty list
        # (present, no values), a float: the raw functions normalise own keys when read
        {"aws:SourceIp": "198.51.100.7", "AWS:SOURCEIP": "10.1.2.3"},
        {"aws:TagKeys": [], "aws:MultiFactorAuthAge": 300.0, "aws:EpochTime": 1767225600},
    ]
)


@contextmanager
def _generic_first() -> Iterator[None]:
    """Every new plan starts on its generic decision function (no eager inlining)."""
    saved = authorize._EAGER
    authorize._EAGER = -1
    authorize._DECIDERS.clear()
    try:
        yield
    finally:
        authorize._EAGER = saved


@contextmanager
def _grouped(on: bool) -> Iterator[None]:
    """`decide_requests` groups the requests by principal (``on``) or decides them in their
    own order, whatever the sets' size (`batch._GROUP_ABOVE`)."""
    saved = batch._GROUP_ABOVE
    batch._GROUP_ABOVE = -1 if on else 1 << 60
    try:
        yield
    finally:
        batch._GROUP_ABOVE = saved


def _inline_every_plan(rules: PolicySet) -> None:
    for plan in rules._plans.values():
        if not plan.inlined:
            authorize._inline(plan)


@st.composite
def _instance_parts(draw: st.DrawFn) -> list[RequestPart]:
    """Instances in the callers' account and another (cross-account requests), some giving a
    key a principal also gives, some a key in two spellings (the general way)."""
    out = []
    for inst in draw(st.lists(lightsail_instances(), min_size=1, max_size=4)):
        ctx: dict[str, Any] = {f"aws:ResourceTag/{k}": v for k, v in inst.tags.items()}
        arn = inst.arn
        if draw(st.booleans()):
            arn = arn.replace(
                arn.split(":")[4], draw(st.sampled_from(["111122223333", "444455556666"]))
            )
        extra = draw(st.sampled_from([{}, {}, {"aws:PrincipalTag/team": "data"},
                                      {"aws:RequestedRegion": "us-east-1",
                                       "AWS:RequestedRegion": "eu-west-1"}]))  # fmt: skip
        out.append(RequestPart({**ctx, **extra}, resource=arn))
    return out


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(policy_sets(), request_contexts(resource_tags=False),
                       st.sampled_from(CALLERS)), min_size=1, max_size=3),
    _instance_parts(),
    st.booleans(),
    st.data(),
)  # fmt: skip
def test_requests_of_many_principals_answer_as_evaluate(
    rows: list[tuple[PolicySet, dict[str, Any], str | None]],
    instances: list[RequestPart],
    grouped: bool,
    data: st.DataObject,
) -> None:
    """`decide_requests` over requests of several principals in a drawn order: each answer
    equals ``evaluate`` on the request `Request.from_parts` builds, with plans cold (generic
    functions, `never`), again with the plans built, and with every plan inlined (a plan of
    at most ``_EAGER`` statements or with a resource-based policy by its layered function and
    its variants, a larger one by its raw form), in the requests' order or grouped by
    principal; ``is_allowed_many`` per principal answers alike."""
    sets = [rules for rules, _, _ in rows]
    principals = [RequestPart(ctx, caller_arn=caller) for _, ctx, caller in rows]
    reqs = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, len(rows) - 1),
                ACTIONS,
                st.integers(0, len(instances) - 1),
                OWN_KEYS,
            ),
            min_size=1,
            max_size=25,
        )
    )
    expected = [
        sets[p]
        .evaluate(Request.from_parts(action, principals[p], instances[i], context=ctx))
        .allowed
        for p, action, i, ctx in reqs
    ]
    with _generic_first(), _grouped(grouped):
        assert decide_requests(reqs, sets, principals, instances) == expected
        assert decide_requests(iter(reqs), sets, principals, instances) == expected
        for rules in sets:
            _inline_every_plan(rules)
    with _grouped(grouped):  # ``_EAGER`` as it is: small plans by their layered functions
        assert decide_requests(tuple(reqs), sets, principals, instances) == expected
    for p, (rules, _, _) in enumerate(rows):
        mine = [(a, instances[i], ctx) for q, a, i, ctx in reqs if q == p]
        want = [e for (q, _, _, _), e in zip(reqs, expected, strict=True) if q == p]
        assert rules.is_allowed_many(mine, principal=principals[p]) == want


@settings(max_examples=60, deadline=None)
@given(policy_sets(), _instance_parts(), st.sampled_from(CALLERS), st.data())
def test_is_allowed_many_with_requests_among_the_items(
    rules: PolicySet, instances: list[RequestPart], caller: str | None, data: st.DataObject
) -> None:
    """``is_allowed_many`` items mixing built `Request`s and ``(action, part, context)``
    tuples (the general loop), and tuples only (the columns): each answer equals
    ``is_allowed`` on the request alone, and ``evaluate``."""
    principal = RequestPart({"aws:username": "alice"}, caller_arn=caller)
    picks = data.draw(
        st.lists(st.tuples(ACTIONS, st.integers(0, len(instances) - 1), OWN_KEYS,
                           st.booleans()), min_size=1, max_size=10)
    )  # fmt: skip
    items: list[Any] = []
    expected = []
    for action, i, ctx, built in picks:
        request = Request.from_parts(action, principal, instances[i], context=ctx)
        expected.append(rules.evaluate(request).allowed)
        items.append(request if built else (action, instances[i], ctx))
    assert rules.is_allowed_many(items, principal=principal) == expected
    tuples = [(a, instances[i], ctx) for a, i, ctx, _ in picks]
    assert rules.is_allowed_many(tuples, principal=principal) == expected
    assert rules.is_allowed_many(iter(tuples), principal=principal) == expected
    assert [rules.is_allowed(r) for r in items if isinstance(r, Request)] == [
        e for r, e in zip(items, expected, strict=True) if isinstance(r, Request)
    ]


def test_decide_requests_checks_its_rows() -> None:
    """One policy set per principal part: a mismatch is an error, not a silent answer; no
    requests, no answers."""
    part = RequestPart({}, caller_arn="arn:aws:iam::111122223333:user/alice")
    with pytest.raises(ValueError, match="same length"):
        decide_requests([], [PolicySet()], [part, part], [])
    assert decide_requests([], [PolicySet()], [part], []) == []
    assert PolicySet().is_allowed_many([], principal=part) == []
