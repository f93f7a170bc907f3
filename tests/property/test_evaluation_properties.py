"""Properties of the decision logic that hold for every policy and request.

Each follows from AWS's description of policy evaluation; the docstring of each test names the
page. Policies and requests come from `lspolicy.strategies`, whose shared pools make them meet.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import event, example, given
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request
from lspolicy.lightsail.context import Instance
from lspolicy.model.request import ContextValue
from lspolicy.strategies import (
    JsonObject,
    actions,
    lightsail_instances,
    policy_documents,
    request_contexts,
    requests,
    statements,
)

DENY_ALL: JsonObject = {"Effect": "Deny", "Action": "*", "Resource": "*"}

documents = st.lists(policy_documents(), min_size=1, max_size=3)


def parse_all(docs: list[JsonObject]) -> list[lspolicy.Policy]:
    return [lspolicy.parse_policy(d) for d in docs]


def decide(docs: list[JsonObject], request: Request, **layers: Any) -> str:
    return PolicySet(parse_all(docs), **layers).evaluate(request).decision


def with_statement(doc: JsonObject, statement: JsonObject) -> JsonObject:
    """A copy of ``doc`` with ``statement`` appended (``Statement`` becomes a list)."""
    out = copy.deepcopy(doc)
    existing = out["Statement"]
    items = existing if isinstance(existing, list) else [existing]
    sids = {s.get("Sid") for s in items}
    statement = dict(statement)
    if "Sid" in statement and statement["Sid"] in sids:
        del statement["Sid"]  # keep Sids unique, as the parser requires
    out["Statement"] = [*items, statement]
    return out


@given(documents, requests(), st.data())
def test_deny_all_statement_denies_every_request(
    docs: list[JsonObject], request: Request, data: st.DataObject
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    — "An explicit deny in any of these policies overrides the allow": a statement denying every
    action on every resource makes every request ``explicitDeny``, whatever else allows."""
    i = data.draw(st.integers(0, len(docs) - 1), label="policy")
    docs[i] = with_statement(docs[i], DENY_ALL)
    assert decide(docs, request) == "explicitDeny"
    assert not PolicySet(parse_all(docs)).is_allowed(request)


@given(documents, statements(), requests(), st.sampled_from(["2012-10-17", "2008-10-17"]))
def test_a_deny_that_applies_beats_any_allow(
    docs: list[JsonObject], statement: JsonObject, request: Request, version: str
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    — a Deny statement that applies to the request (as the same statement with ``Allow`` would
    allow it) decides ``explicitDeny`` and is named among the matched statements."""
    as_allow = {"Version": version, "Statement": {**statement, "Effect": "Allow"}}
    applies = PolicySet([lspolicy.parse_policy(as_allow)]).is_allowed(request)
    event(f"the statement applies: {applies}")
    deny = {"Version": version, "Statement": {**statement, "Effect": "Deny", "Sid": "TheDeny"}}
    decision = PolicySet([*parse_all(docs), lspolicy.parse_policy(deny)]).evaluate(request)
    if applies:
        assert decision.decision == "explicitDeny"
        assert "TheDeny" in {m.sid for m in decision.matched}
    else:
        assert "TheDeny" not in {m.sid for m in decision.matched}


def shuffled(data: st.DataObject, docs: list[JsonObject]) -> list[JsonObject]:
    out = []
    for doc in data.draw(st.permutations(docs), label="policy order"):
        doc = copy.deepcopy(doc)  # noqa: PLW2901
        if isinstance(doc["Statement"], list):
            doc["Statement"] = data.draw(st.permutations(doc["Statement"]), label="statements")
        out.append(doc)
    return out


@given(documents, requests(), st.data())
def test_decision_does_not_depend_on_statement_or_policy_order(
    docs: list[JsonObject], request: Request, data: st.DataObject
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    — evaluation gathers every applicable statement and decides by deny, then allow, then the
    default deny; nothing in it reads an order ("the order in which the policies are evaluated
    has no effect on the outcome")."""
    before = decide(docs, request)
    after_docs = shuffled(data, docs)
    assert decide(after_docs, request) == before
    assert PolicySet(parse_all(after_docs)).is_allowed(request) == (before == "allowed")


@given(
    documents,
    actions(wildcards=False, random_case=False),
    st.integers(min_value=0, max_value=(1 << 40) - 1),
    lightsail_instances(),
    request_contexts(),
)
def test_action_names_are_case_insensitive(
    docs: list[JsonObject],
    action: str,
    mask: int,
    instance: Instance,
    context: dict[str, ContextValue],
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    — "action names are case-insensitive": the same request with its action written in any
    case gets the same decision."""
    recased = "".join(c.swapcase() if mask >> i & 1 else c for i, c in enumerate(action))
    rules = PolicySet(parse_all(docs))
    expected = rules.evaluate(Request(action, instance.arn, context)).decision
    for variant in (action.upper(), action.lower(), recased):
        assert rules.evaluate(Request(variant, instance.arn, context)).decision == expected, variant


@given(documents, statements(effects=["Allow"]), requests(), st.data())
def test_adding_an_allow_never_denies_an_allowed_request(
    docs: list[JsonObject], statement: JsonObject, request: Request, data: st.DataObject
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    — an Allow statement can only add permissions: a request that was allowed stays allowed,
    and an explicit deny stays an explicit deny."""
    before = decide(docs, request)
    event(f"before: {before}")
    i = data.draw(st.integers(0, len(docs) - 1), label="policy")
    more = [*docs[:i], with_statement(docs[i], statement), *docs[i + 1 :]]
    after = decide(more, request)
    if before in ("allowed", "explicitDeny"):
        assert after == before
    else:
        assert after in ("allowed", "implicitDeny")


@given(documents, statements(effects=["Deny"]), requests(), st.data())
def test_adding_a_deny_never_allows_a_denied_request(
    docs: list[JsonObject], statement: JsonObject, request: Request, data: st.DataObject
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    — a Deny statement can only take permissions away: a denied request stays denied, and an
    explicit deny stays an explicit deny."""
    before = decide(docs, request)
    event(f"before: {before}")
    i = data.draw(st.integers(0, len(docs) - 1), label="policy")
    more = [*docs[:i], with_statement(docs[i], statement), *docs[i + 1 :]]
    after = decide(more, request)
    if before == "explicitDeny":
        assert after == "explicitDeny"
    elif before == "implicitDeny":
        assert after in ("implicitDeny", "explicitDeny")


@given(documents, st.lists(policy_documents(), min_size=1, max_size=2), requests())
def test_boundary_allows_exactly_what_both_allow_alone(
    identity: list[JsonObject], boundary: list[JsonObject], request: Request
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html — "an
    entity's permissions boundary allows it to perform only the actions that are allowed by
    both its identity-based policies and its permissions boundaries": a request allowed with a
    boundary is allowed by the identity policies alone and by the boundary alone, and (with no
    resource-based policy) conversely."""
    bounded = PolicySet(parse_all(identity), boundary=parse_all(boundary)).evaluate(request)
    event(f"with the boundary: {bounded.decision}")
    by_identity = decide(identity, request) == "allowed"
    by_boundary = decide(boundary, request) == "allowed"
    if bounded.decision == "allowed":
        assert by_identity
        assert by_boundary
    assert (bounded.decision == "allowed") == (by_identity and by_boundary)


NOT_RESOURCE_WITH_VARIABLE: JsonObject = {
    "Version": "2012-10-17",
    "Statement": {
        "Effect": "Allow",
        "Action": "*",
        "NotResource": "arn:aws:lightsail:us-east-1:111122223333:Instance/${aws:username}",
    },
}


@given(
    documents,
    st.none() | st.lists(policy_documents(), max_size=2),
    st.none() | st.lists(policy_documents(), max_size=2),
    st.lists(requests(), min_size=1, max_size=4),
)
@example(
    [NOT_RESOURCE_WITH_VARIABLE],
    None,
    None,
    [
        Request(
            "lightsail:StopInstance",
            "arn:aws:lightsail:us-east-1:111122223333:Instance/ops-1",
            {"aws:username": "bob"},
        )
    ],
)
def test_fast_path_agrees_with_explained_path(
    identity: list[JsonObject],
    boundary: list[JsonObject] | None,
    session: list[JsonObject] | None,
    reqs: list[Request],
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    — there is one decision: ``is_allowed`` (no explanation) must agree with ``evaluate``, with
    and without a boundary or session policies, for requests evaluated one after another on the
    same compiled set (so cached plans are exercised too)."""
    rules = PolicySet(
        parse_all(identity),
        boundary=None if boundary is None else parse_all(boundary),
        session=None if session is None else parse_all(session),
    )
    for request in reqs:
        assert rules.is_allowed(request) == (rules.evaluate(request).decision == "allowed")


@given(documents, st.none() | st.lists(policy_documents(), max_size=2), requests())
def test_explanation_agrees_with_the_decision(
    identity: list[JsonObject], boundary: list[JsonObject] | None, request: Request
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html —
    ``MatchedStatements`` are "the statements in the input policies that determine the result":
    Deny statements for an explicit deny, Allow statements for an allow, none for an implicit
    deny; and ``MissingContextValues`` are keys the request lacks."""
    decision = PolicySet(
        parse_all(identity), boundary=None if boundary is None else parse_all(boundary)
    ).evaluate(request)
    effects = {m.effect for m in decision.matched}
    if decision.decision == "explicitDeny":
        assert effects == {"Deny"}
    elif decision.decision == "allowed":
        assert effects == {"Allow"}
        assert not decision.near_misses
    else:
        assert not decision.matched
    for key in decision.missing_context:
        assert key.lower() not in request.context


@given(statements(effects=["Allow"]), requests())
def test_not_action_applies_to_exactly_the_actions_action_does_not(
    statement: JsonObject, request: Request
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    — "NotAction is an advanced policy element that explicitly matches everything except the
    specified list of actions": where the rest of the statement applies, exactly one of
    ``Action: L`` and ``NotAction: L`` matches the request's action."""
    listed = statement.pop("Action", None) or statement.pop("NotAction")

    def allows(**element: Any) -> bool:
        doc = {"Version": "2012-10-17", "Statement": {**statement, **element}}
        return PolicySet([lspolicy.parse_policy(doc)]).is_allowed(request)

    if allows(Action="*"):
        assert allows(Action=listed) != allows(NotAction=listed)
    else:
        assert not allows(Action=listed)
        assert not allows(NotAction=listed)
