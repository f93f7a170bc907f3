"""Properties of condition operators, checked through whole policies (so through every fast
path the evaluator compiles): negated operators, ``IfExists``, and policy Versions.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request
from lspolicy.conditions import OPERATORS
from lspolicy.conditions.base import ValueType
from lspolicy.strategies import JsonObject, condition_blocks, policy_documents, requests

NEGATIONS = {spec.positive: name for name, spec in OPERATORS.items() if spec.positive}
"""``StringEquals`` -> ``StringNotEquals``, for each operator that has a negated form."""
FAMILIES_WITH_NEGATIONS = sorted(
    {OPERATORS[name].value_type for name in NEGATIONS}, key=lambda v: v.value
)


def single_condition(block: JsonObject) -> tuple[str, str, Any]:
    """The first ``(operator, key, values)`` of a block, qualifier and ``IfExists`` removed."""
    operator, keys = next(iter(block.items()))
    key, values = next(iter(keys.items()))
    return operator.split(":")[-1].removesuffix("IfExists"), key, values


def allows(condition: JsonObject, request: Request, version: str = "2012-10-17") -> bool:
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    policy = lspolicy.parse_policy({"Version": version, "Statement": statement})
    rules = PolicySet([policy])
    allowed = rules.is_allowed(request)
    assert allowed == (rules.evaluate(request).decision == "allowed")
    return allowed


@given(
    st.one_of([condition_blocks(families=[f], max_operators=1) for f in FAMILIES_WITH_NEGATIONS]),
    requests(),
)
def test_negated_operator_holds_exactly_when_its_positive_does_not(
    block: JsonObject, request: Request
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    — ``StringNotEquals``, ``NumericNotEquals``, ``DateNotEquals``, ``NotIpAddress``,
    ``ArnNotLike``... are "negated matching"; with a key missing from the context "the values
    do not match and the condition is false", but for a negated operator "the condition is
    true" (reference_policies_elements_condition.html). So, with no set qualifier and no
    IfExists, one key's negated condition holds exactly when the positive one does not."""
    operator, key, values = single_condition(block)
    spec = OPERATORS[operator]
    positive = spec.positive or operator
    if positive not in NEGATIONS:
        positive = next(
            p for p, n in NEGATIONS.items() if OPERATORS[p].value_type is spec.value_type
        )
    negative = NEGATIONS[positive]
    holds = allows({positive: {key: values}}, request)
    assert allows({negative: {key: values}}, request) == (not holds)


@given(condition_blocks(max_operators=1), requests())
def test_if_exists_changes_only_what_happens_to_a_missing_key(
    block: JsonObject, request: Request
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
    — "If the policy key is present in the context of the request, process the key as specified
    in the policy. If the key is not present, evaluate the condition element as true." """
    operator, key, values = next((op, k, v) for op, keys in block.items() for k, v in keys.items())
    base = operator.removesuffix("IfExists")
    if OPERATORS[base.split(":")[-1]].value_type is ValueType.NULL:
        return  # Null takes no IfExists
    with_if_exists = allows({base + "IfExists": {key: values}}, request)
    if key.lower() in request.context:
        assert with_if_exists == allows({base: {key: values}}, request)
    else:
        assert with_if_exists


def has_variable(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, list):
        return any(has_variable(v) for v in value)
    if isinstance(value, dict):
        return any(has_variable(k) or has_variable(v) for k, v in value.items())
    return False


@given(
    policy_documents(versions=["2012-10-17"]).filter(lambda d: not has_variable(d)),
    st.sampled_from(["2008-10-17", None]),
    requests(),
)
def test_version_matters_only_for_policy_variables(
    doc: JsonObject, version: str | None, request: Request
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
    — the Version decides whether ``${...}`` are policy variables; a policy without any
    decides the same under 2012-10-17, 2008-10-17, or no Version."""
    older = {k: v for k, v in doc.items() if k != "Version"}
    if version is not None:
        older["Version"] = version
    expected = PolicySet([lspolicy.parse_policy(doc)]).evaluate(request).decision
    assert PolicySet([lspolicy.parse_policy(older)]).evaluate(request).decision == expected


def recase_condition_keys(doc: JsonObject, mask: int) -> JsonObject:
    """A copy of ``doc`` with the case of condition key names flipped by ``mask``'s bits."""
    out = copy.deepcopy(doc)
    items = out["Statement"] if isinstance(out["Statement"], list) else [out["Statement"]]
    bit = 0
    for statement in items:
        for operator, block in statement.get("Condition", {}).items():
            recased = {}
            for key, values in block.items():
                new = "".join(
                    c.swapcase() if mask >> (bit + i) & 1 else c for i, c in enumerate(key)
                )
                bit += 1
                recased[new] = values
            statement["Condition"][operator] = recased
    return out


@given(policy_documents(), st.integers(min_value=0, max_value=(1 << 64) - 1), requests())
def test_condition_key_names_are_case_insensitive(
    doc: JsonObject, mask: int, request: Request
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    — "Condition key names are not case-sensitive": writing a policy's condition keys in any
    case gives the same decision."""
    expected = PolicySet([lspolicy.parse_policy(doc)]).evaluate(request).decision
    recased = recase_condition_keys(doc, mask)
    assert PolicySet([lspolicy.parse_policy(recased)]).evaluate(request).decision == expected
    assert PolicySet([lspolicy.parse_policy(recased)]).is_allowed(request) == (
        expected == "allowed"
    )
