"""Decision functions share compiled code by shape, and answer as if each plan had its own.

The generated source of a plan's decision function holds no policy value (every value is a
namespace name, ``n0``, ``n1``...), so plans of one shape share one compiled code object, each
executed into its own namespace (`lspolicy.evaluate.codegen._define`). These tests compare the
answers with sharing on and with every function compiled on its own, on random policy sets
with every layer (identity, boundary, session policy, SCP levels, a resource-based policy), and
with the explained path (`PolicySet.evaluate`, the oracle).

Evaluation rules: IAM User Guide, "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html ;
SCPs: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html .
Sharing compiled code is an implementation matter the docs do not address: the property is that
it changes no answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiled_layers import policy_sets, requests

import lspolicy
from lspolicy import PolicySet, Request, RequestPart
from lspolicy.evaluate import authorize, codegen

ACCOUNT = "111122223333"


class _NoSharing(dict[str, Any]):
    """A code cache that keeps nothing: every function compiled on its own."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass


@contextmanager
def _sharing(on: bool) -> Iterator[None]:
    saved = codegen._CODE
    authorize._DECIDERS.clear()  # functions shared between equal plans: not across modes
    authorize._LAYERED.clear()
    if not on:
        codegen._CODE = _NoSharing()
    try:
        yield
    finally:
        codegen._CODE = saved
        authorize._DECIDERS.clear()
        authorize._LAYERED.clear()


def _answers(sets: list[PolicySet], reqs: list[Request]) -> list[list[bool]]:
    """Each set's answers, every plan on its inlined function (and, through a batch of parts,
    its layered function)."""
    out = []
    for rules in sets:
        rules._plans = {}
        for r in reqs:
            plan = rules._plan(r.action_key)
            if not plan.inlined:
                authorize._inline(plan)
        single = [rules.is_allowed(r) for r in reqs]
        out.append(single)
        principal = RequestPart(caller_arn=f"arn:aws:iam::{ACCOUNT}:user/alice")
        items = [
            (r.action, RequestPart(_plain(r), resource=r.resource), None)
            for r in reqs
            if r.caller_arn is None
        ]
        if items:
            batch = rules.is_allowed_many(items, principal=principal)
            expected = [
                rules.evaluate(Request.from_parts(action, principal, part, context=context)).allowed
                for action, part, context in items
            ]
            assert batch == expected
    return out


def _plain(request: Request) -> dict[str, Any]:
    return {
        request.key_names[k]: (list(v) if k in request.multivalued else v[0])
        for k, v in request.context.items()
        if k != "aws:principalarn"
    }


# its batches: by the C loop and by the pure-Python loop (tests/conftest.py); the module's
# other tests count shared shapes, which a second run in one process would not add again
@pytest.mark.usefixtures("stream_loops")
@settings(max_examples=40)
@given(
    st.lists(policy_sets(), min_size=2, max_size=4),
    st.lists(requests(), min_size=1, max_size=4),
)
def test_shared_code_answers_as_code_compiled_per_plan(
    sets: list[PolicySet], reqs: list[Request]
) -> None:
    """Answers with sharing on (the sets compiled one after another, so later plans reuse the
    shapes of earlier ones) equal the answers with every function compiled alone, and
    ``evaluate``."""
    with _sharing(False):
        alone = _answers(sets, reqs)
    with _sharing(True):
        shared = _answers(sets, reqs)
    assert shared == alone
    assert alone == [[rules.evaluate(r).allowed for r in reqs] for rules in sets]


def _team_policy(team: str, region: str) -> lspolicy.Policy:
    return lspolicy.parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "lightsail:StopInstance",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/team": team}},
                },
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": region}},
                },
            ],
        }
    )


def test_one_shape_two_plans_each_with_its_own_values() -> None:
    """Two principals whose policies differ only in their values: the second plan reuses the
    first one's compiled code (no compile), and each answers from its own values."""
    web = PolicySet([_team_policy("web", "us-east-1")])
    data = PolicySet([_team_policy("data", "eu-west-1")])
    before = dict(codegen.SHAPES)
    web._plan("lightsail:stopinstance")
    middle = dict(codegen.SHAPES)
    data._plan("lightsail:stopinstance")
    after = dict(codegen.SHAPES)
    assert web._plans["lightsail:stopinstance"].inlined  # a small plan: inlined at first use
    assert after["compiled"] == middle["compiled"]
    assert after["shared"] > middle["shared"]
    assert middle["compiled"] + middle["shared"] > before["compiled"] + before["shared"]
    arn = f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-1"
    for team, region, web_ok, data_ok in [
        ("web", "us-east-1", True, False),
        ("data", "eu-west-1", False, True),
        ("web", "eu-west-1", False, False),
        ("data", "us-east-1", False, False),
    ]:
        req = Request(
            "lightsail:StopInstance",
            arn,
            {"aws:ResourceTag/team": team, "aws:RequestedRegion": region},
        )
        assert web.is_allowed(req) is web_ok
        assert data.is_allowed(req) is data_ok
        assert web.evaluate(req).allowed is web_ok
        assert data.evaluate(req).allowed is data_ok


@settings(max_examples=40)
@given(
    st.lists(policy_sets(), min_size=2, max_size=4),
    st.lists(requests(), min_size=1, max_size=4),
)
def test_shared_statement_predicates_answer_as_evaluate(
    sets: list[PolicySet], reqs: list[Request]
) -> None:
    """The generic decision function (a loop over the statements' predicates, whose code is
    shared by statement shape): every set's plans start on it (no plan inlined at first use
    here), and its answers equal ``evaluate``. Every predicate is made again first, so that
    later sets' statements reuse the shapes of earlier ones."""
    for rules in sets:
        for statement in rules.statements():
            statement.core.predicate = None
    eager = authorize._EAGER
    authorize._EAGER = -1
    authorize._DECIDERS.clear()
    try:
        for rules in sets:
            rules._plans = {}
            got = [rules.is_allowed(r) for r in reqs]
            assert not any(plan.inlined for plan in rules._plans.values())
            assert got == [rules.evaluate(r).allowed for r in reqs]
    finally:
        authorize._EAGER = eager
