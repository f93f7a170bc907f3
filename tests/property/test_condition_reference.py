"""Conditions against a reference reading of the documentation (a differential test).

The engine compiles conditions into specialised predicates (set lookups, single-value tests,
generated plan code). This file re-reads the documented rules as plainly as possible — one
small function per operator family, no caching, no fast paths — and checks that a statement
``Allow * on *`` with a generated ``Condition`` block allows a generated request exactly when
every condition in the block holds by that reading.

Rules, with their pages:
- operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
- several values for a key are OR'd, several keys and operators AND'd:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
- a missing key: false, but true for negated operators and for ``...IfExists``:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
- ``ForAllValues``/``ForAnyValue``:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- policy variables, defaults, ``${*}``; substituted only under 2012-10-17:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
Where the pages are silent, the reading is the one docs/semantics.md records.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime

from hypothesis import event, given
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request
from lspolicy.strategies import JsonObject, condition_blocks, requests

Context = Mapping[str, Sequence[str]]

# -- policy values: text, variables, wildcards -----------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def substitute(text: str, context: Context, variables: bool) -> list[tuple[str, bool]] | None:
    """The value as ``(text, is_policy_text)`` pieces, or None when a variable has no value.

    Only the policy's own text may hold wildcards; ``${*}``, ``${?}``, ``${$}`` and values
    taken from the request are literal.
    """
    if not variables:
        return [(text, True)]
    pieces: list[tuple[str, bool]] = []
    at = 0
    for m in _VARIABLE.finditer(text):
        inner = m.group(1).strip()
        name, comma, default = inner.partition(",")
        name, default = name.strip(), default.strip()
        if inner in ("*", "?", "$"):
            replacement: str | None = inner
        elif not name or any(c.isspace() for c in name):
            continue  # not a variable: plain text
        elif comma and not (len(default) >= 2 and default[0] == default[-1] == "'"):
            continue
        else:
            got = context.get(name.lower())
            if got is not None and len(got) == 1:
                replacement = got[0]
            elif not got and comma:
                replacement = default[1:-1]
            else:
                return None
        pieces.append((text[at : m.start()], True))
        pieces.append((replacement, False))
        at = m.end()
    pieces.append((text[at:], True))
    return pieces


def glob_regex(pieces: list[tuple[str, bool]], star: str = ".*", one: str = ".") -> str:
    out = []
    for text, is_policy_text in pieces:
        for ch in text:
            if is_policy_text and ch == "*":
                out.append(star)
            elif is_policy_text and ch == "?":
                out.append(one)
            else:
                out.append(re.escape(ch))
    return "".join(out)


# -- one function per family: does one request value match one policy value? ----------------


def number(text: str) -> float | None:
    try:
        return float(text) if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) else None
    except ValueError:
        return None


def instant(text: str) -> float | None:
    if number(text) is not None:
        return number(text)
    try:
        moment = (
            datetime.fromisoformat(text)
            if "T" in text
            else datetime.combine(date.fromisoformat(text), datetime.min.time())
        )
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def compare(kind: str) -> Callable[[str, str], bool]:
    ops: dict[str, Callable[[float, float], bool]] = {
        "Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b,
        "LessThanEquals": lambda a, b: a <= b, "GreaterThan": lambda a, b: a > b,
        "GreaterThanEquals": lambda a, b: a >= b,
    }  # fmt: skip
    parse = number if kind.startswith("Numeric") else instant
    rel = ops[kind.removeprefix("Numeric").removeprefix("Date").replace("Not", "")]

    def test(policy: str, actual: str) -> bool:
        a, p = parse(actual), parse(policy)
        return a is not None and p is not None and rel(a, p)

    return test


def bool_test(policy: str, actual: str) -> bool:
    return actual.lower() in ("true", "false") and actual.lower() == policy.lower()


def binary_test(policy: str, actual: str) -> bool:
    try:
        return base64.b64decode(actual, validate=True) == base64.b64decode(policy, validate=True)
    except (binascii.Error, ValueError):
        return False


def ip_test(policy: str, actual: str) -> bool:
    try:
        return ipaddress.ip_address(actual) in ipaddress.ip_network(policy, strict=False)
    except (ValueError, TypeError):
        return False


def arn_test(pieces: list[tuple[str, bool]], actual: str) -> bool:
    """ARN operators: "each of the six colon-delimited components of the ARN is checked
    separately and each can include multi-character match wildcards (*) or single-character
    match wildcards (?)"."""
    components: list[list[tuple[str, bool]]] = [[]]
    for text, is_policy_text in pieces:
        for ch in text:
            if ch == ":" and len(components) < 6:
                components.append([])
            else:
                components[-1].append((ch, is_policy_text))
    if components == [[("*", True)]]:
        return True
    parts = actual.split(":", 5)
    if len(components) != 6 or len(parts) != 6:
        return False
    return all(
        re.fullmatch(glob_regex(component), part, re.DOTALL) is not None
        for component, part in zip(components, parts, strict=True)
    )


def matches(operator: str, pieces: list[tuple[str, bool]], actual: str) -> bool:
    """Does ``actual`` match the (substituted) policy value, for a positive ``operator``?"""
    literal = "".join(text for text, _ in pieces)
    if operator in ("StringEquals", "StringNotEquals"):
        return actual == literal
    if operator in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == literal.lower()
    if operator in ("StringLike", "StringNotLike"):
        return re.fullmatch(glob_regex(pieces), actual, re.DOTALL) is not None
    if operator.startswith("Arn"):
        return arn_test(pieces, actual)
    if operator.startswith(("Numeric", "Date")):
        return compare(operator)(literal, actual)
    if operator == "Bool":
        return bool_test(literal, actual)
    if operator == "BinaryEquals":
        return binary_test(literal, actual)
    if operator in ("IpAddress", "NotIpAddress"):
        return ip_test(literal, actual)
    raise AssertionError(f"no reference reading for {operator}")


NEGATED = re.compile(r"^(StringNot|NumericNotEquals|DateNotEquals|NotIpAddress|ArnNot)")


def holds(operator_name: str, key: str, raw: object, context: Context, variables: bool) -> bool:
    """One ``operator: {key: values}`` entry, by the documented rules."""
    qualifier, _, operator = operator_name.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    values = [as_text(v) for v in (raw if isinstance(raw, list) else [raw])]
    actual = context.get(key.lower())
    if operator == "Null":
        absent = not actual
        return any((v.lower() == "true") == absent for v in values)
    negated = NEGATED.match(operator) is not None
    resolved = [p for v in values if (p := substitute(v, context, variables)) is not None]

    def one(value: str) -> bool:
        return any(matches(operator, pieces, value) for pieces in resolved)

    if qualifier == "ForAllValues":
        if not actual or actual == ("",):
            return True
        return all(one(v) != negated for v in actual)
    if qualifier == "ForAnyValue":
        if actual is None:
            return if_exists
        if not actual or actual == ("",):
            return False
        return any(one(v) != negated for v in actual)
    if actual is None:
        return if_exists or negated
    return any(one(v) for v in actual) != negated


@given(condition_blocks(), requests(), st.sampled_from(["2012-10-17", "2008-10-17"]))
def test_conditions_hold_as_the_documentation_reads(
    block: JsonObject, request: Request, version: str
) -> None:
    """A condition block allows a request exactly when each of its conditions holds by the
    reference reading above (operators and keys are AND'd)."""
    expected = all(
        holds(operator, key, values, request.context, variables=version == "2012-10-17")
        for operator, keys in block.items()
        for key, values in keys.items()
    )
    event(f"conditions hold: {expected}")
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": block}
    rules = PolicySet([lspolicy.parse_policy({"Version": version, "Statement": statement})])
    assert (rules.evaluate(request).decision == "allowed") == expected
    assert rules.is_allowed(request) == expected
