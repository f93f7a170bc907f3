"""The compiled decision function (`PolicySet.is_allowed`) decides as the explained path
(`PolicySet.evaluate`) with every layer present: identity policies, a permissions boundary, a
session policy, up to three SCP levels and a resource-based policy whose statements name
principals (``Principal`` / ``NotPrincipal``), for callers of every kind.

The rules both implement are AWS's:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
The explained path is the oracle here; this test checks that compiling every layer into one
function changes no answer, and that batch answers equal single answers.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_matrix
from lspolicy.evaluate import authorize
from lspolicy.strategies import JsonObject, lightsail_instances, policy_documents, request_contexts
from lspolicy.strategies import requests as requests_

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

ACCOUNT = "111122223333"
OTHER = "444455556666"
CALLERS = (
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:role/sre-ops",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/sre-ops/s1",
    f"arn:aws:iam::{ACCOUNT}:root",
    f"arn:aws:iam::{OTHER}:user/bob",
    None,
)
PRINCIPALS: tuple[Any, ...] = (
    "*",
    {"AWS": "*"},
    {"AWS": ACCOUNT},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:role/sre-ops"},
    {"AWS": [f"arn:aws:sts::{ACCOUNT}:assumed-role/sre-ops/s1", OTHER]},
    {"AWS": f"arn:aws:iam::{OTHER}:user/bob"},
)


BROAD_ACTIONS = ("*", "lightsail:*", "lightsail:StopInstance", "lightsail:Get*")


# Strategies are built once, at import: hypothesis validates every new strategy object on its
# first draw, which costs more than the draw (same strategies, same draws, same order).
RESOURCE_DOCUMENTS = policy_documents(max_statements=3)
BROAD_ACTION = st.sampled_from(BROAD_ACTIONS)
NOT_PRINCIPAL = st.sampled_from(PRINCIPALS[2:])
PRINCIPAL = st.sampled_from(PRINCIPALS)


@st.composite
def resource_policies(draw: st.DrawFn) -> JsonObject:
    """A resource-based policy: generated statements (often widened to apply: a broad Action,
    ``Resource: "*"``), each given a Principal or (Deny only) a NotPrincipal."""
    doc = draw(RESOURCE_DOCUMENTS)
    items = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    out = []
    for item in items:
        item = dict(item)  # noqa: PLW2901
        if draw(st.booleans()):
            item.pop("NotAction", None)
            item.pop("NotResource", None)
            item["Action"] = draw(BROAD_ACTION)
            item["Resource"] = "*"
            if draw(st.booleans()):
                item.pop("Condition", None)
        if item["Effect"] == "Deny" and draw(st.booleans()):
            item["NotPrincipal"] = draw(NOT_PRINCIPAL)
        else:
            item["Principal"] = draw(PRINCIPAL)
        out.append(item)
    return {**doc, "Statement": out}


docs = st.lists(policy_documents(), min_size=0, max_size=3)
MAYBE_DOCS = st.none() | docs
SCPS = st.lists(st.lists(policy_documents(), min_size=1, max_size=2), max_size=3)
MAYBE_RESOURCE = st.none() | resource_policies()
OWNERS = st.sampled_from([None, None, ACCOUNT, OTHER])


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    parse = lspolicy.parse_policy
    identity = [parse(d) for d in draw(docs)]
    boundary = draw(MAYBE_DOCS)
    session = draw(MAYBE_DOCS)
    scps = draw(SCPS)
    resource = draw(MAYBE_RESOURCE)
    owner = draw(OWNERS)
    return PolicySet(
        identity,
        boundary=None if boundary is None else [parse(d) for d in boundary],
        session=None if session is None else [parse(d) for d in session],
        scps=[[parse(d) for d in level] for level in scps] or None,
        resource_policy=None if resource is None else parse(resource, kind="resource"),
        resource_owner=owner,
    )


BASE_REQUESTS = requests_()
CALLER = st.sampled_from(CALLERS)
RESOURCE_INDEX = st.integers(0, 2)  # what sampled_from draws for its three items


@st.composite
def requests(draw: st.DrawFn) -> Request:
    base = draw(BASE_REQUESTS)
    caller = draw(CALLER)
    resource = (base.resource, base.resource, "*")[draw(RESOURCE_INDEX)]
    return Request(base.action, resource, _plain(base), caller_arn=caller)


def warm(rules: PolicySet, reqs: list[Request]) -> None:
    """Serve each request's plan until its decision function is compiled. A plan that stays
    on its generic function at ``_HOT`` (`authorize._promote`) is inlined here: the compiled
    path is what these tests check."""
    for r in reqs:
        for _ in range(authorize._HOT):
            rules.is_allowed(r)
        plan = rules._plans[r.action_key]
        if not plan.inlined:
            assert plan.uses < 0  # settled: counting from authorize._SETTLED
            authorize._inline(plan)
        assert plan.inlined


def _plain(request: Request) -> dict[str, Any]:
    return {
        request.key_names[k]: (list(v) if k in request.multivalued else v[0])
        for k, v in request.context.items()
    }


@settings(max_examples=100)
@given(policy_sets(), st.lists(requests(), min_size=1, max_size=4))
def test_compiled_path_decides_as_the_explained_path(rules: PolicySet, reqs: list[Request]) -> None:
    """Every layer compiled: ``is_allowed`` == ``evaluate(...).allowed`` for every request, and
    the batch call answers each request as the single call does. A plan is compiled once it
    has served ``_HOT`` requests (before that the plan's generic function, a loop over shared
    statement predicates, answers): ``cold`` checks that one, then warm each and check again."""
    cold = [rules.is_allowed(r) for r in reqs]
    warm(rules, reqs)
    singles = [rules.is_allowed(r) for r in reqs]
    assert singles == cold
    assert singles == [rules.evaluate(r).allowed for r in reqs]
    assert rules.is_allowed_many(reqs) == singles


@settings(max_examples=60)
@given(
    policy_sets(),
    st.lists(lightsail_instances(), min_size=1, max_size=4),
    request_contexts(resource_tags=False),
    st.sampled_from(CALLERS[:5]),
    st.sampled_from(["lightsail:StopInstance", "lightsail:GetInstance", "lightsail:TagResource"]),
)
def test_parts_batch_and_matrix_answer_as_single_requests(
    rules: PolicySet,
    instances: list[Any],
    principal_context: dict[str, Any],
    caller: str,
    action: str,
) -> None:
    """A request combined from normalised parts (principal part, instance part, request keys)
    decides as the same request built from one merged dict; ``is_allowed_many`` and
    ``decide_matrix`` answer every cell as ``is_allowed`` on that request."""
    principal = RequestPart(principal_context, caller_arn=caller)
    parts = []
    for inst in instances:
        tags = {f"aws:ResourceTag/{k}": v for k, v in inst.tags.items()}
        parts.append(RequestPart(tags, resource=inst.arn))
    extra = {"aws:SourceIp": "203.0.113.9"}
    singles = []
    warm(rules, [Request.from_parts(action, principal, parts[0])])
    for inst, part in zip(instances, parts, strict=True):
        tags = {f"aws:ResourceTag/{k}": v for k, v in inst.tags.items()}
        merged = Request(
            action, inst.arn, {**principal_context, **tags, **extra}, caller_arn=caller
        )
        combined = Request.from_parts(action, principal, part, context=extra)
        assert combined.context == merged.context
        assert rules.evaluate(merged).allowed == rules.is_allowed(combined)
        singles.append(rules.is_allowed(merged))
    batch = rules.is_allowed_many([(action, p, extra) for p in parts], principal=principal)
    assert batch == singles
    grid = decide_matrix(action, [rules, rules], [principal, principal], parts)
    without_extra = [rules.is_allowed(Request.from_parts(action, principal, p)) for p in parts]
    assert grid == [without_extra, without_extra]
    assert decide_matrix(action, [rules], [principal], parts, context=extra) == [singles]


def _doc(statement: JsonObject, kind: Any = "identity") -> lspolicy.Policy:
    return lspolicy.parse_policy({"Version": "2012-10-17", "Statement": statement}, kind=kind)


GET_ONLY = _doc({"Effect": "Allow", "Action": "lightsail:Get*", "Resource": "*"})
ALL = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/sre-ops/s1"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


@pytest.mark.parametrize(
    ("principal", "caller", "boundary", "session", "expected"),
    [
        # a grant to the user ARN: the session policy still limits it, the boundary does not
        (ALICE, ALICE, [GET_ONLY], [ALL], True),
        (ALICE, ALICE, [ALL], [GET_ONLY], False),
        # a grant to the session ARN: neither limits it
        (SESSION_ARN, SESSION_ARN, [GET_ONLY], [GET_ONLY], True),
        # a grant to the role ARN: the boundary and the session policy both limit it
        (f"arn:aws:iam::{ACCOUNT}:role/sre-ops", SESSION_ARN, [GET_ONLY], [ALL], False),
        (f"arn:aws:iam::{ACCOUNT}:role/sre-ops", SESSION_ARN, [ALL], [ALL], True),
        # a grant to the account delegates to the identity policies (none here)
        (ACCOUNT, ALICE, [ALL], [ALL], False),
    ],
)
def test_resource_grants_by_kind_on_the_compiled_path(
    principal: str, caller: str, boundary: list[Any], session: list[Any], expected: bool
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html and
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session —
    how a resource-based grant combines with a boundary and a session policy depends on the
    principal it names (user, role session, role, account); the compiled function answers as
    the explained path for each kind."""
    resource = _doc(
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "*", "Resource": "*"},
        "resource",
    )
    rules = PolicySet(
        [],
        boundary=boundary,
        session=session,
        resource_policy=resource,
    )
    request = Request(
        "lightsail:StopInstance",
        f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-1",
        {},
        caller_arn=caller,
    )
    assert rules.evaluate(request).allowed is expected
    warm(rules, [request])
    assert rules.is_allowed(request) is expected


TAG_READERS = [
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:*",
            "Resource": f"arn:aws:lightsail:*:{ACCOUNT}:Instance/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/env": ["prod", "ops"]}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": ["lightsail:StopInstance", "lightsail:GetInstance"],
            "Resource": "arn:aws:lightsail:eu-*:*:Instance/ops-*",
            "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
        }
    ),
    _doc(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:ResourceTag/team": "prod"}},
        }
    ),
    _doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:lightsail:us-*:*:*"}),
]


CHOSEN_READERS = st.lists(st.sampled_from(TAG_READERS), min_size=1, max_size=3)
EXTRA_DOCS = st.lists(policy_documents(), max_size=1)
MAYBE_READER_BOUNDARY = st.none() | st.just([TAG_READERS[3]])


@st.composite
def tag_reading_sets(draw: st.DrawFn) -> PolicySet:
    """Identity policies that read instance tags and ARNs, sometimes with generated ones."""
    chosen = draw(CHOSEN_READERS)
    extra = [lspolicy.parse_policy(d) for d in draw(EXTRA_DOCS)]
    boundary = draw(MAYBE_READER_BOUNDARY)
    return PolicySet([*chosen, *extra], boundary=boundary)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(tag_reading_sets() | policy_sets(), st.sampled_from(CALLERS)),
        min_size=1,
        max_size=3,
    ),
    st.lists(lightsail_instances(), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=16),
    request_contexts(resource_tags=False),
    st.sampled_from(["lightsail:StopInstance", "lightsail:GetInstance", "lightsail:TagResource"]),
)
def test_matrix_groups_answer_every_cell_as_its_single_request(
    rows: list[tuple[PolicySet, str | None]],
    instances: list[Any],
    picks: list[tuple[int, int]],
    principal_context: dict[str, Any],
    action: str,
) -> None:
    """``decide_matrix`` decides once per group of instances that a row's policies cannot
    tell apart (equal values of the keys read, equal Resource verdicts): many instances are
    drawn from a few ARNs and a few tag sets, so groups hold several instances, and every
    cell must still equal ``evaluate`` on the request built from one merged dict."""
    parts, plain = [], []
    for a, b in picks:
        arn = instances[a % len(instances)].arn
        tags = {f"aws:ResourceTag/{k}": v for k, v in instances[b % len(instances)].tags.items()}
        parts.append(RequestPart(tags, resource=arn))
        plain.append((arn, tags))
    principals = [RequestPart(principal_context, caller_arn=caller) for _, caller in rows]
    grid = decide_matrix(action, [rules for rules, _ in rows], principals, parts)
    for (rules, caller), answers in zip(rows, grid, strict=True):
        expected = [
            rules.evaluate(
                Request(action, arn, {**principal_context, **tags}, caller_arn=caller)
            ).allowed
            for arn, tags in plain
        ]
        assert answers == expected


ARNS = [
    f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/ops-1",
    f"arn:aws:lightsail:eu-west-2:{ACCOUNT}:Instance/ops-2",
    f"arn:aws:lightsail:eu-west-2:{ACCOUNT}:Instance/web-1",
    f"arn:aws:lightsail:eu-west-2:{OTHER}:Instance/ops-3",
]
TAG_SETS = [
    {},
    {"env": "prod", "team": "prod"},
    {"env": "ops", "owner": "alice"},
    {"env": "dev", "owner": "alice", "team": "web"},
    {"owner": "bob", "team": "prod"},
    {"env": "prod", "owner": "alice", "team": "prod"},
]


@pytest.mark.parametrize("chosen", [[0], [1], [2], [3], [0, 2], [1, 2], [0, 1, 2], [1, 3]])
def test_matrix_over_every_arn_and_tag_set_equals_evaluate(chosen: list[int]) -> None:
    """Every combination of a few ARNs and tag sets (so groups hold several instances, and
    instances differ in exactly one key or one ARN verdict): each cell of ``decide_matrix``
    equals ``evaluate`` on the request built from one merged dict, for principals whose
    ``aws:username`` is and is not the instances' owner."""
    rules = PolicySet([TAG_READERS[n] for n in chosen])
    plain = [
        (arn, {f"aws:ResourceTag/{k}": v for k, v in tags.items()})
        for arn in ARNS
        for tags in TAG_SETS
    ]
    parts = [RequestPart(tags, resource=arn) for arn, tags in plain]
    people = [
        ({"aws:username": name}, f"arn:aws:iam::{ACCOUNT}:user/{name}") for name in ("alice", "bob")
    ]
    principals = [RequestPart(ctx, caller_arn=arn) for ctx, arn in people]
    for action in ("lightsail:StopInstance", "lightsail:TagResource"):
        grid = decide_matrix(action, [rules, rules], principals, parts)
        for (ctx, caller), answers in zip(people, grid, strict=True):
            expected = [
                rules.evaluate(Request(action, arn, {**ctx, **tags}, caller_arn=caller)).allowed
                for arn, tags in plain
            ]
            assert answers == expected


@pytest.mark.parametrize(
    ("wants", "context", "expected"),
    [
        ("true", {}, True),
        ("true", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, False),
        ("false", {}, False),
        ("false", {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}, True),
        (["true", "false"], {}, True),
        (["true", "false"], {"aws:TokenIssueTime": "x"}, True),
    ],
)
def test_null_on_the_generic_and_the_inlined_path(
    wants: Any, context: dict[str, Any], expected: bool
) -> None:
    """IAM User Guide, "Condition operator to check existence of condition keys": ``Null``
    ``true`` holds when the key is absent, ``false`` when it is present (values OR'ed). The
    plan's generic function (cold), its inlined function (warm) and ``evaluate`` agree."""
    rules = PolicySet(
        [
            _doc(
                {
                    "Effect": "Allow",
                    "Action": "lightsail:StopInstance",
                    "Resource": "*",
                    "Condition": {"Null": {"aws:TokenIssueTime": wants}},
                }
            )
        ]
    )
    request = Request("lightsail:StopInstance", "*", context, caller_arn=ALICE)
    assert rules.evaluate(request).allowed is expected
    assert rules.is_allowed(request) is expected  # generic
    warm(rules, [request])
    assert rules.is_allowed(request) is expected  # inlined
