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

from hypothesis import given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_matrix
from lspolicy.strategies import JsonObject, lightsail_instances, policy_documents, request_contexts
from lspolicy.strategies import requests as requests_

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


@st.composite
def resource_policies(draw: st.DrawFn) -> JsonObject:
    """A resource-based policy: the generated statements, each given a Principal or (Deny
    only) a NotPrincipal."""
    doc = draw(policy_documents(max_statements=3))
    items = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    out = []
    for item in items:
        item = dict(item)  # noqa: PLW2901
        if item["Effect"] == "Deny" and draw(st.booleans()):
            item["NotPrincipal"] = draw(st.sampled_from(PRINCIPALS[2:]))
        else:
            item["Principal"] = draw(st.sampled_from(PRINCIPALS))
        out.append(item)
    return {**doc, "Statement": out}


docs = st.lists(policy_documents(), min_size=0, max_size=3)


@st.composite
def policy_sets(draw: st.DrawFn) -> PolicySet:
    parse = lspolicy.parse_policy
    identity = [parse(d) for d in draw(docs)]
    boundary = draw(st.none() | docs)
    session = draw(st.none() | docs)
    scps = draw(st.lists(st.lists(policy_documents(), min_size=1, max_size=2), max_size=3))
    resource = draw(st.none() | resource_policies())
    owner = draw(st.sampled_from([None, None, ACCOUNT, OTHER]))
    return PolicySet(
        identity,
        boundary=None if boundary is None else [parse(d) for d in boundary],
        session=None if session is None else [parse(d) for d in session],
        scps=[[parse(d) for d in level] for level in scps] or None,
        resource_policy=None if resource is None else parse(resource, kind="resource"),
        resource_owner=owner,
    )


@st.composite
def requests(draw: st.DrawFn) -> Request:
    base = draw(requests_())
    caller = draw(st.sampled_from(CALLERS))
    resource = draw(st.sampled_from([base.resource, base.resource, "*"]))
    return Request(base.action, resource, _plain(base), caller_arn=caller)


def _plain(request: Request) -> dict[str, Any]:
    return {
        request.key_names[k]: (list(v) if k in request.multivalued else v[0])
        for k, v in request.context.items()
    }


@settings(max_examples=300)
@given(policy_sets(), st.lists(requests(), min_size=1, max_size=4))
def test_compiled_path_decides_as_the_explained_path(rules: PolicySet, reqs: list[Request]) -> None:
    """Every layer compiled: ``is_allowed`` == ``evaluate(...).allowed`` for every request, and
    the batch call answers each request as the single call does."""
    singles = [rules.is_allowed(r) for r in reqs]
    assert singles == [rules.evaluate(r).allowed for r in reqs]
    assert rules.is_allowed_many(reqs) == singles


@settings(max_examples=150)
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
