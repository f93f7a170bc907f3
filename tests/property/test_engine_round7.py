"""Round 7 of the engine work (issue 12): the generic decision function's shortcuts, against the
explained path.

- A plan with a group that holds no statement (a permissions boundary, a session policy or an
  SCP level allowing nothing of the action, or no identity statement allowing it) denies every
  request: the generic function is `codegen.never` and a batch answers without building the
  request's context. IAM User Guide, "Policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  (an implicit deny unless every applicable policy type allows); boundaries:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html ; SCPs:
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
  (every level from the root to the account must allow).
- The generic function tries the groups smallest first, and moves a Deny or a group's statement
  that applies to the front (the answer is "no Deny applies and every group has a statement that
  applies", in any order).

Plans of at most `authorize._EAGER` statements are inlined at once, so these tests set it to -1:
every plan answers through its generic function until it has served `authorize._HOT` requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiled_layers import CALLERS, policy_sets, requests

import lspolicy
from lspolicy import PolicySet, Request, RequestPart
from lspolicy.evaluate import authorize, codegen
from lspolicy.strategies import lightsail_instances, request_contexts

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")


@contextmanager
def _generic_first() -> Iterator[None]:
    """Every new plan starts on its generic decision function (no eager inlining)."""
    saved = authorize._EAGER
    authorize._EAGER = -1
    authorize._DECIDERS.clear()  # no inlined function shared from an earlier test's plan
    try:
        yield
    finally:
        authorize._EAGER = saved


@settings(max_examples=150)
@given(policy_sets(), st.lists(requests(), min_size=1, max_size=5))
def test_generic_function_decides_as_the_explained_path(
    rules: PolicySet, reqs: list[Request]
) -> None:
    """Cold plans (the generic function, its groups reordered, `never` for a plan with an
    empty group): ``is_allowed`` equals ``evaluate`` on every request, with every layer."""
    with _generic_first():
        for r in reqs:
            assert rules.is_allowed(r) == rules.evaluate(r).allowed
        # and again with the plans built
        assert [rules.is_allowed(r) for r in reqs] == [rules.evaluate(r).allowed for r in reqs]


@settings(max_examples=100)
@given(
    policy_sets(),
    st.lists(lightsail_instances(), min_size=1, max_size=5),
    request_contexts(resource_tags=False),
    st.sampled_from(CALLERS[:5]),
    st.lists(
        st.sampled_from(
            ["lightsail:StopInstance", "lightsail:GetInstance", "lightsail:DeleteInstance"]
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_cold_batch_answers_as_evaluate(
    rules: PolicySet,
    instances: list[Any],
    principal_context: dict[str, Any],
    caller: str,
    actions: list[str],
) -> None:
    """`is_allowed_many` on parts, every plan cold (generic or `never`), equals `evaluate`
    on the request built from one merged dict."""
    with _generic_first():
        principal = RequestPart(principal_context, caller_arn=caller)
        extra = {"aws:SourceIp": "203.0.113.9", "aws:MultiFactorAuthPresent": "true"}
        items = []
        expected = []
        for n, action in enumerate(actions):
            inst = instances[n % len(instances)]
            tags = {f"aws:ResourceTag/{k}": v for k, v in inst.tags.items()}
            items.append((action, RequestPart(tags, resource=inst.arn), extra))
            merged = {**principal_context, **tags, **extra}
            expected.append(
                rules.evaluate(Request(action, inst.arn, merged, caller_arn=caller)).allowed
            )
        assert rules.is_allowed_many(items, principal=principal) == expected


def _doc(statements: list[dict[str, Any]], kind: Any = "identity") -> lspolicy.Policy:
    return lspolicy.parse_policy({"Version": "2012-10-17", "Statement": statements}, kind=kind)


ALLOW_ALL = _doc([{"Effect": "Allow", "Action": "lightsail:*", "Resource": "*"}])
READS_ONLY = _doc([{"Effect": "Allow", "Action": "lightsail:Get*", "Resource": "*"}])
TAGGED = _doc(
    [
        {
            "Effect": "Allow",
            "Action": "lightsail:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
        }
    ]
)


def test_a_layer_allowing_nothing_of_the_action_is_never() -> None:
    """A boundary, a session policy or an SCP level that allows only reads: the plan of
    ``StopInstance`` is `never` (the batch builds no context), ``GetInstance``'s is not, and
    both answer as ``evaluate`` (implicitly denied, resp. allowed on a dev instance)."""
    caller = "arn:aws:iam::111122223333:user/alice"
    arn = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
    layers: list[dict[str, Any]] = [
        {"boundary": [READS_ONLY]},
        {"session": [READS_ONLY]},
        {"scps": [[ALLOW_ALL], [READS_ONLY]]},
        {},
    ]
    with _generic_first():
        for n, layer in enumerate(layers):
            identity = [TAGGED] if n < 3 else [READS_ONLY]
            rules = PolicySet(identity, **layer)
            stop = rules._plan("lightsail:stopinstance")
            assert stop.simple is codegen.never
            assert rules._plan("lightsail:getinstance").simple is not codegen.never
            principal = RequestPart({"aws:username": "alice"}, caller_arn=caller)
            part = RequestPart({"aws:ResourceTag/env": "dev"}, resource=arn)
            items = [("lightsail:StopInstance", part, None), ("lightsail:GetInstance", part, None)]
            expected = [
                rules.evaluate(
                    Request(a, arn, {"aws:username": "alice", "aws:ResourceTag/env": "dev"},
                            caller_arn=caller)
                ).allowed
                for a, _, _ in items
            ]  # fmt: skip
            assert expected == [False, True]
            assert rules.is_allowed_many(items, principal=principal) == expected


def _deny_on(env: str) -> lspolicy.Policy:
    return _doc(
        [
            {
                "Effect": "Deny",
                "Action": "lightsail:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/env": env}},
            }
        ]
    )


ENVS = ["dev", "qa", "prod", "staging", "sandbox"]


def _deny_order(decide: Any) -> tuple[Any, ...]:
    """The Denies the generic function tries, in its current order (kept by its raw form,
    `codegen.raw_decider`, which the function calls)."""
    decide = getattr(decide, "raw", decide)
    cell = decide.__closure__[decide.__code__.co_freevars.index("order")]
    return tuple(cell.cell_contents[0])


moved: list[bool] = []
"""Whether each example's Denies changed order (`test_some_denies_moved` checks some did)."""


@settings(max_examples=80)
@given(
    st.lists(st.sampled_from(ENVS), min_size=1, max_size=5),
    st.lists(st.sampled_from([*ENVS, None]), min_size=1, max_size=40),
)
def test_denies_reordered_by_use_answer_as_evaluate(
    denied: list[str], envs: list[str | None]
) -> None:
    """The generic function moves a Deny that applies to the front: over a stream of
    requests hitting different Denies, every answer equals ``evaluate`` (single and batch),
    and the Denies tried are always a permutation of the plan's."""
    caller = "arn:aws:iam::111122223333:user/alice"
    with _generic_first():
        rules = PolicySet([ALLOW_ALL, *map(_deny_on, denied)])
        plan = rules._plan("lightsail:stopinstance")
        assert not plan.inlined
        before = sorted(map(id, _deny_order(plan.simple)))
        principal = RequestPart({}, caller_arn=caller)
        orders = {tuple(map(id, _deny_order(plan.simple)))}
        for n, env in enumerate(envs):
            arn = f"arn:aws:lightsail:us-east-1:111122223333:Instance/i-{n}"
            ctx = {} if env is None else {"aws:ResourceTag/env": env}
            expected = rules.evaluate(
                Request("lightsail:StopInstance", arn, ctx, caller_arn=caller)
            ).allowed
            assert expected == (env not in denied)
            part = RequestPart(ctx, resource=arn)
            assert (
                rules.is_allowed(Request("lightsail:StopInstance", arn, ctx, caller_arn=caller))
                == expected
            )
            assert rules.is_allowed_many(
                [("lightsail:StopInstance", part, None)], principal=principal
            ) == [expected]
            orders.add(tuple(map(id, _deny_order(plan.simple))))
        after = sorted(map(id, _deny_order(plan.simple)))
        assert after == before
        moved.append(len(orders) > 1)


def test_some_denies_moved() -> None:
    """The stream above does reorder Denies (else it would test nothing new)."""
    if not moved:
        test_denies_reordered_by_use_answer_as_evaluate()
    assert any(moved)


def _allow_on(env: str, action: str = "lightsail:*") -> lspolicy.Policy:
    return _doc(
        [
            {
                "Effect": "Allow",
                "Action": action,
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/env": env}},
            }
        ]
    )


def _groups(decide: Any) -> tuple[tuple[Any, ...], ...]:
    """The groups the generic function tries, each in its current order (kept by its raw
    form)."""
    decide = getattr(decide, "raw", decide)
    cell = decide.__closure__[decide.__code__.co_freevars.index("musts")]
    return tuple(cell.cell_contents[0])


@settings(max_examples=80)
@given(
    st.lists(st.sampled_from(ENVS), min_size=2, max_size=5),
    st.lists(st.sampled_from(ENVS), min_size=1, max_size=3),
    st.lists(st.sampled_from([*ENVS, None]), min_size=1, max_size=40),
)
def test_allows_reordered_by_use_answer_as_evaluate(
    allowed: list[str], bounded: list[str], envs: list[str | None]
) -> None:
    """The generic function moves the statement of a group that applies to its front:
    identity Allows and a boundary's, over a stream of requests: every answer equals
    ``evaluate`` (single and batch), and each group stays a permutation of its statements."""
    caller = "arn:aws:iam::111122223333:user/alice"
    with _generic_first():
        rules = PolicySet(
            [*map(_allow_on, allowed), _deny_on("forbidden")],
            boundary=[*map(_allow_on, bounded), _allow_on("x"), _allow_on("y")],
        )
        plan = rules._plan("lightsail:stopinstance")
        assert not plan.inlined

        def shape() -> list[list[int]]:
            return sorted(sorted(map(id, g)) for g in _groups(plan.simple))

        before = shape()
        principal = RequestPart({}, caller_arn=caller)
        orders = {tuple(tuple(map(id, g)) for g in _groups(plan.simple))}
        for n, env in enumerate(envs):
            arn = f"arn:aws:lightsail:us-east-1:111122223333:Instance/i-{n}"
            ctx = {} if env is None else {"aws:ResourceTag/env": env}
            request = Request("lightsail:StopInstance", arn, ctx, caller_arn=caller)
            expected = rules.evaluate(request).allowed
            assert expected == (env in allowed and env in bounded)
            part = RequestPart(ctx, resource=arn)
            assert rules.is_allowed(request) == expected
            assert rules.is_allowed_many(
                [("lightsail:StopInstance", part, None)], principal=principal
            ) == [expected]
            orders.add(tuple(tuple(map(id, g)) for g in _groups(plan.simple)))
        assert shape() == before
        grouped.append(len(orders) > 1)


grouped: list[bool] = []


def test_some_allows_moved() -> None:
    """The stream above does reorder groups' statements (else it would test nothing new)."""
    if not grouped:
        test_allows_reordered_by_use_answer_as_evaluate()
    assert any(grouped)


def _conditions(n: int) -> dict[str, Any]:
    return {"StringEquals": {f"aws:ResourceTag/k{i}": f"v{i}" for i in range(n)}}


@settings(max_examples=40)
@given(
    st.integers(1, 16),
    st.lists(st.dictionaries(st.integers(0, 15), st.booleans(), max_size=16),
             min_size=1, max_size=4),
)  # fmt: skip
def test_a_plan_without_a_layered_function_stays_generic_when_hot(
    width: int, drawn: list[dict[int, bool]]
) -> None:
    """Past ``_HOT`` requests (``is_allowed`` counts them; a batch decides a plan without a
    resource-based policy by its generic function's raw form and counts none) a plan is
    inlined only if it has a layered function (at most `codegen._LAYERED_LOOKUPS` lookups, no
    test reading the whole context); otherwise it stays on its generic function
    (`authorize._promote`). Either way every answer, single and batch, equals ``evaluate``."""
    caller = "arn:aws:iam::111122223333:user/alice"
    arn = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
    allow = _doc(
        [{"Effect": "Allow", "Action": "lightsail:*", "Resource": "*",
          "Condition": _conditions(width)}]
    )  # fmt: skip
    deny = _doc(
        [{"Effect": "Deny", "Action": "lightsail:*", "Resource": "*",
          "Condition": {"StringEquals": {"aws:ResourceTag/k0": "x"}}}]
    )  # fmt: skip
    with _generic_first():
        rules = PolicySet([allow, deny], boundary=[ALLOW_ALL, READS_ONLY, TAGGED])
        plan = rules._plan("lightsail:stopinstance")
        principal = RequestPart({}, caller_arn=caller)
        # each key k<i> with its wanted value v<i> (True) or another; plus every key wanted
        tag_sets = [{f"k{i}": f"v{i}" if ok else "x" for i, ok in d.items()} for d in drawn]
        tag_sets.append({f"k{i}": f"v{i}" for i in range(16)})
        served = 0
        while served <= authorize._HOT:
            for tags in tag_sets:
                ctx = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
                request = Request("lightsail:StopInstance", arn, ctx, caller_arn=caller)
                expected = rules.evaluate(request).allowed
                assert rules.is_allowed(request) == expected
                part = RequestPart(ctx, resource=arn)
                assert rules.is_allowed_many(
                    [("lightsail:StopInstance", part, None)], principal=principal
                ) == [expected]
                served += 1
        layered = codegen.layerable(authorize._layers(plan))
        assert layered == (width + 1 <= codegen._LAYERED_LOOKUPS)
        assert plan.inlined == layered
        if not layered:
            assert plan.uses < 0  # settled: counting from authorize._SETTLED
