"""The AWS IAM ``SimulateCustomPolicy`` contract, as a thin adapter over the engine.

Request and response shapes are IAM's own
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html), plus two
extensions: ``SessionPolicyInputList`` (session policy JSON strings) and
``ServiceControlPolicyInputList`` (levels of the organization hierarchy, root first, each a list
of SCP JSON strings). Errors are raised as `MalformedPolicyDocumentError` and `InvalidInputError`,
named after IAM's ``MalformedPolicyDocument`` and ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lspolicy.conditions.boolean import parse_bool
from lspolicy.conditions.date import parse_date
from lspolicy.conditions.ip import parse_address
from lspolicy.conditions.numeric import parse_number
from lspolicy.errors import InvalidInputError, MalformedPolicyDocumentError, PolicyParseError
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.model.decision import Decision, StatementRef
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.model.request import ContextValue, Request
from lspolicy.parse import parse_policy

__all__ = ["build_policy_set", "context_from_entries", "simulate_custom_policy"]

# https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
MAX_POLICY_CHARS = 131072
MAX_ITEMS = 1000
_LENGTHS = {"ActionNames": (3, 128), "ResourceArns": (1, 2048)}
"""Each entry's length, as the API reference (and botocore's model, which a test compares)
gives it."""
MAX_MARKER = 320
MAX_LIST = 10_000
"""lspolicy's own cap on the entries of ActionNames, ResourceArns and ContextEntries: the API
reference documents none. Results are produced a page at a time (MaxItems), never all pairs."""
_KNOWN = {
    "PolicyInputList", "PermissionsBoundaryPolicyInputList", "ActionNames", "ResourceArns",
    "ResourcePolicy", "ResourceOwner", "CallerArn", "ContextEntries", "ResourceHandlingOption",
    "MaxItems", "Marker", "SessionPolicyInputList", "ServiceControlPolicyInputList",
}  # fmt: skip
_CONTEXT_TYPES = {
    "string": None, "stringList": None, "numeric": parse_number, "numericList": parse_number,
    "boolean": parse_bool, "booleanList": parse_bool, "ip": parse_address, "ipList": parse_address,
    "binary": None, "binaryList": None, "date": parse_date, "dateList": parse_date,
}  # fmt: skip
_SOURCE_TYPE: Mapping[PolicyKind, str] = {
    "identity": "none", "boundary": "none", "session": "none", "scp": "none", "resource": "resource",
}  # fmt: skip


def _strings(request: Mapping[str, Any], name: str, *, required: bool = False) -> list[str]:
    value = request.get(name)
    if value is None:
        if required:
            raise InvalidInputError(f"{name} is required")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{name} must be a list of strings")
    if len(value) > MAX_LIST:
        raise InvalidInputError(
            f"{name} has {len(value)} entries, over the {MAX_LIST} lspolicy takes"
        )
    low, high = _LENGTHS.get(name, (0, MAX_POLICY_CHARS))
    for i, v in enumerate(value):
        if not low <= len(v) <= high:
            raise InvalidInputError(
                f"{name}[{i}] is {len(v)} characters; it must have {low} to {high}"
            )
    return value


def _string(request: Mapping[str, Any], name: str) -> str | None:
    value = request.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string")
    return value


def _parse(text: str, source: str, kind: PolicyKind) -> Policy:
    if len(text) > MAX_POLICY_CHARS:
        raise InvalidInputError(
            f"{source} is {len(text)} characters, over the {MAX_POLICY_CHARS} the API takes"
        )
    try:
        return parse_policy(text, source=source, kind=kind, max_size=0)
    except PolicyParseError as exc:
        raise MalformedPolicyDocumentError(str(exc), exc.problems) from None


def context_from_entries(entries: object) -> dict[str, ContextValue]:
    """The request context from ``ContextEntries``, typed and checked as IAM checks them."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise InvalidInputError("ContextEntries must be a list")
    if len(entries) > MAX_LIST:
        raise InvalidInputError(
            f"ContextEntries has {len(entries)} entries, over the {MAX_LIST} lspolicy takes"
        )
    out: dict[str, ContextValue] = {}
    for i, entry in enumerate(entries, 1):
        where = f"ContextEntries.member.{i}"
        if not isinstance(entry, Mapping):
            raise InvalidInputError(f"{where} must be an object")
        name = entry.get("ContextKeyName")
        values = entry.get("ContextKeyValues")
        kind = entry.get("ContextKeyType")
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"{where}.ContextKeyName must be a non-empty string")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidInputError(f"{where}.ContextKeyValues must be a list of strings")
        if kind not in _CONTEXT_TYPES:
            raise InvalidInputError(
                f"{where}.ContextKeyType must be one of {', '.join(_CONTEXT_TYPES)}, found {kind!r}"
            )
        check = _CONTEXT_TYPES[kind]
        if check is not None:
            for v in values:
                if check(v) is None:
                    raise InvalidInputError(
                        f"{where}: value {v!r} is not a valid {kind.removesuffix('List')}"
                    )
        if kind.endswith("List"):
            out[name] = list(values)
        else:
            if len(values) != 1:
                raise InvalidInputError(
                    f"{where}: ContextKeyType {kind} takes exactly one value, found {len(values)}"
                )
            out[name] = values[0]
    return out


def build_policy_set(request: Mapping[str, Any]) -> PolicySet:
    """Parse every policy of a SimulateCustomPolicy request and compile them into one set."""
    identity = [
        _parse(t, f"PolicyInputList.{i}", "identity")
        for i, t in enumerate(_strings(request, "PolicyInputList", required=True), 1)
    ]
    boundary_texts = _strings(request, "PermissionsBoundaryPolicyInputList")
    boundary = [
        _parse(t, f"PermissionsBoundaryPolicyInputList.{i}", "boundary")
        for i, t in enumerate(boundary_texts, 1)
    ] or None
    session_texts = _strings(request, "SessionPolicyInputList")
    session = [
        _parse(t, f"SessionPolicyInputList.{i}", "session") for i, t in enumerate(session_texts, 1)
    ] or None
    scp_levels = request.get("ServiceControlPolicyInputList")
    scps: list[list[Policy]] | None = None
    if scp_levels is not None:
        if not isinstance(scp_levels, list) or not all(
            isinstance(level, list) and all(isinstance(t, str) for t in level)
            for level in scp_levels
        ):
            raise InvalidInputError(
                "ServiceControlPolicyInputList must be a list of lists of strings"
            )
        scps = [
            [
                _parse(t, f"ServiceControlPolicyInputList.{lv}.{i}", "scp")
                for i, t in enumerate(level, 1)
            ]
            for lv, level in enumerate(scp_levels, 1)
        ] or None
    rp_text = _string(request, "ResourcePolicy")
    resource_policy = None if rp_text is None else _parse(rp_text, "ResourcePolicy", "resource")
    return PolicySet(
        identity,
        boundary=boundary,
        session=session,
        scps=scps,
        resource_policy=resource_policy,
        resource_owner=_string(request, "ResourceOwner"),
    )


def _statement(ref: StatementRef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SourcePolicyId": ref.policy,
        "SourcePolicyType": _SOURCE_TYPE[ref.policy_kind],
    }
    if ref.span is not None:
        out["StartPosition"] = {"Line": ref.span.line, "Column": ref.span.column}
        out["EndPosition"] = {"Line": ref.span.end_line, "Column": ref.span.end_column}
    return out


def _result(decision: Decision, policies: PolicySet) -> dict[str, Any]:
    out: dict[str, Any] = {
        "EvalActionName": decision.action,
        "EvalResourceName": decision.resource,
        "EvalDecision": decision.decision,
        "MatchedStatements": [_statement(m) for m in decision.matched],
        "MissingContextValues": list(decision.missing_context),
    }
    if decision.allowed_by_organizations is not None:
        out["OrganizationsDecisionDetail"] = {
            "AllowedByOrganizations": decision.allowed_by_organizations
        }
    if decision.allowed_by_boundary is not None:
        out["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": decision.allowed_by_boundary
        }
    if policies.resource is not None:
        out["EvalDecisionDetails"] = {
            "ResourcePolicy": "allowed" if decision.allowed_by_resource_policy else "implicitDeny"
        }
    if decision.resource != "*":
        # IAM reports per-resource detail here when ResourceArns names resources
        specific: dict[str, Any] = {
            "EvalResourceName": decision.resource,
            "EvalResourceDecision": decision.decision,
            "MatchedStatements": out["MatchedStatements"],
            "MissingContextValues": out["MissingContextValues"],
        }
        for key in ("EvalDecisionDetails", "PermissionsBoundaryDecisionDetail"):
            if key in out:
                specific[key] = out[key]
        out["ResourceSpecificResults"] = [specific]
    return out


def simulate_custom_policy(request: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate every action x resource of a SimulateCustomPolicy request.

    Returns ``{"EvaluationResults": [...], "IsTruncated": bool}`` (plus ``Marker`` when
    truncated), one result per action and resource, in request order.
    """
    if not isinstance(request, Mapping):
        raise InvalidInputError("the request must be a JSON object")
    unknown = sorted(set(request) - _KNOWN)
    if unknown:
        raise InvalidInputError(f"unknown request parameter(s): {', '.join(unknown)}")
    actions = _strings(request, "ActionNames", required=True)
    if not actions:
        raise InvalidInputError("ActionNames must name at least one action")
    for i, action in enumerate(actions):
        if "*" in action or "?" in action:
            # "This operation does not support using wildcards (*) in an action name."
            raise InvalidInputError(
                f"ActionNames[{i}] {action!r} has a wildcard; name each action to simulate"
            )
    resources = _strings(request, "ResourceArns") or ["*"]
    caller = _string(request, "CallerArn")
    if request.get("ResourcePolicy") is not None and caller is None:
        raise InvalidInputError("CallerArn is required when ResourcePolicy is given")
    context = context_from_entries(request.get("ContextEntries"))
    policies = build_policy_set(request)
    max_items = request.get("MaxItems", MAX_ITEMS)
    if (
        not isinstance(max_items, int)
        or isinstance(max_items, bool)
        or not 1 <= max_items <= MAX_ITEMS
    ):
        raise InvalidInputError(f"MaxItems must be an integer from 1 to {MAX_ITEMS}")
    total = len(actions) * len(resources)
    marker = _string(request, "Marker")
    start = 0
    if marker is not None:
        # the simulator's markers are decimal offsets: anything else, or past the end, is not
        # one it returned (str.isdigit alone admits "²", which int() refuses)
        if not (0 < len(marker) <= 20 and marker.isascii() and marker.isdigit()):
            raise InvalidInputError("Marker is not one this simulator returned")
        start = int(marker)
        if start >= total:
            raise InvalidInputError("Marker is not one this simulator returned")
    # pairs in request order (each action with each resource), only this page of them
    width = len(resources)
    page = range(start, min(start + max_items, total))
    results = [
        _result(
            policies.evaluate(
                Request(actions[i // width], resources[i % width], context, caller_arn=caller)
            ),
            policies,
        )
        for i in page
    ]
    out: dict[str, Any] = {
        "EvaluationResults": results,
        "IsTruncated": start + max_items < total,
    }
    if out["IsTruncated"]:
        out["Marker"] = str(start + max_items)
    return out
