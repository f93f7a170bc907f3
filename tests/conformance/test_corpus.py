"""Data-driven conformance tests for ``lspolicy.simulate_custom_policy``.

Every ``cases/*.json`` file holds ``{"topic": ..., "cases": [CASE, ...]}``.  Each CASE carries an
AWS ``SimulateCustomPolicy`` request (plus the lspolicy extensions ``SessionPolicyInputList`` and
``ServiceControlPolicyInputList``), the decision(s) the AWS documentation prescribes for it, and the
documentation URL and quote that settle the answer.

``test_conformance`` runs one test per case (id ``<file stem>::<name>``).  ``test_corpus_*`` check
the corpus itself, so a malformed case fails loudly instead of silently testing nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import importlib
import json
import pathlib
import re
import traceback
from typing import Any

import pytest

CASES_DIR = pathlib.Path(__file__).parent / "cases"

DECISIONS = {"allowed", "explicitDeny", "implicitDeny"}
CONTEXT_KEY_TYPES = {
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
}
REQUEST_KEYS = {
    "PolicyInputList",
    "PermissionsBoundaryPolicyInputList",
    "ActionNames",
    "ResourceArns",
    "ResourcePolicy",
    "ResourceOwner",
    "CallerArn",
    "ContextEntries",
    "ResourceHandlingOption",
    "MaxItems",
    "Marker",
    # lspolicy extensions
    "SessionPolicyInputList",
    "ServiceControlPolicyInputList",
}
CASE_KEYS = {"name", "doc", "request", "expected", "expected_missing_context", "note"}
NAME_RE = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
DOC_PREFIX = "https://docs.aws.amazon.com/"
MIN_CASES = 150

# Canonical spellings of the response members we read; other spellings (snake_case, lower case)
# returned by the engine are mapped onto these.
_RESPONSE_KEYS = [
    "EvaluationResults",
    "EvalActionName",
    "EvalResourceName",
    "EvalDecision",
    "MissingContextValues",
    "ResourceSpecificResults",
    "EvalResourceDecision",
    "MatchedStatements",
    "IsTruncated",
    "Marker",
]
_RESPONSE_KEY_MAP = {k.lower(): k for k in _RESPONSE_KEYS}


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def _load_corpus() -> tuple[list[tuple[str, dict[str, Any], dict[str, Any]]], list[str]]:
    items: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    errors: list[str] = []
    for path in sorted(CASES_DIR.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            errors.append(f"{path.name}: cannot be read as JSON: {exc}")
            continue
        cases = data.get("cases") if isinstance(data, dict) else None
        if not isinstance(cases, list):
            errors.append(f"{path.name}: top level must be an object with a 'cases' list")
            continue
        for index, case in enumerate(cases):
            if not isinstance(case, dict):
                errors.append(f"{path.name}: case #{index} is not an object")
                continue
            items.append((path.stem, data, case))
    return items, errors


CORPUS, LOAD_ERRORS = _load_corpus()


def _case_id(item: tuple[str, dict[str, Any], dict[str, Any]]) -> str:
    stem, _data, case = item
    return f"{stem}::{case.get('name', '<unnamed>')}"


# --------------------------------------------------------------------------------------------------
# Response normalisation
# --------------------------------------------------------------------------------------------------


def _plain(obj: Any) -> Any:
    """Turn the engine's response (dicts, pydantic models, dataclasses, enums) into plain JSON data
    whose keys use the AWS member names."""
    if isinstance(obj, enum.Enum):
        return _plain(obj.value)
    if hasattr(obj, "model_dump") and callable(obj.model_dump):
        try:
            obj = obj.model_dump(by_alias=True)
        except TypeError:
            obj = obj.model_dump()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        out = {}
        for raw_key, value in obj.items():
            key = str(raw_key)
            canon = _RESPONSE_KEY_MAP.get(key.replace("_", "").replace("-", "").lower(), key)
            out[canon] = _plain(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _evaluation_results(response: Any) -> list[dict[str, Any]]:
    plain = _plain(response)
    if isinstance(plain, dict) and isinstance(plain.get("EvaluationResults"), list):
        return [r for r in plain["EvaluationResults"] if isinstance(r, dict)]
    if isinstance(plain, list):
        return [r for r in plain if isinstance(r, dict)]
    raise AssertionError(
        "simulate_custom_policy must return a SimulatePolicyResponse-shaped object "
        f"(with 'EvaluationResults') or a list of EvaluationResult; got {type(response).__name__}"
    )


def _names(values: Any) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def _lookup(
    results: list[dict[str, Any]], action: str, resource: str
) -> tuple[Any, list[str]] | None:
    """Return (decision, missing context keys) for one action x resource, or None.

    Accepts both result layouts AWS uses: one EvaluationResult per action x resource, or one per
    action whose ResourceSpecificResults list the individual resources.
    """

    def action_matches(result: dict[str, Any], exact: bool) -> bool:
        name = result.get("EvalActionName")
        if not isinstance(name, str):
            return False
        return name == action if exact else name.lower() == action.lower()

    for exact in (True, False):
        candidates = [r for r in results if action_matches(r, exact)]
        for result in candidates:
            if result.get("EvalResourceName", "*") == resource:
                return result.get("EvalDecision"), _names(result.get("MissingContextValues"))
        for result in candidates:
            for specific in result.get("ResourceSpecificResults") or []:
                if isinstance(specific, dict) and specific.get("EvalResourceName") == resource:
                    missing = _names(result.get("MissingContextValues")) + _names(
                        specific.get("MissingContextValues")
                    )
                    return specific.get("EvalResourceDecision"), missing
    return None


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)


def _explain(stem: str, case: dict[str, Any], problems: list[str], results: Any) -> str:
    doc = case.get("doc", {})
    lines = [
        f"Conformance case {stem}::{case.get('name')} failed:",
        *[f"  - {p}" for p in problems],
        "",
        f"AWS documentation: {doc.get('url')}",
        f'  "{doc.get("quote")}"',
    ]
    if case.get("note"):
        lines.append(f"Note: {case['note']}")
    lines += [
        "",
        "Request:",
        _dump(case.get("request")),
        "",
        "Full result:",
        results if isinstance(results, str) else _dump(results),
    ]
    return "\n".join(lines)


def _simulator() -> Any:
    try:
        lspolicy = importlib.import_module("lspolicy")
    except Exception as exc:  # pragma: no cover - depends on the engine's state
        pytest.fail(f"cannot import lspolicy: {exc!r}", pytrace=False)
    fn = getattr(lspolicy, "simulate_custom_policy", None)
    if not callable(fn):
        pytest.fail("lspolicy.simulate_custom_policy(request) is not available", pytrace=False)
    return fn


# --------------------------------------------------------------------------------------------------
# The conformance tests
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem,data,case", CORPUS, ids=[_case_id(item) for item in CORPUS])
def test_conformance(stem: str, data: dict[str, Any], case: dict[str, Any]) -> None:
    simulate = _simulator()
    request = copy.deepcopy(case["request"])
    try:
        response = simulate(request)
    except Exception:
        pytest.fail(
            _explain(
                stem, case, ["simulate_custom_policy raised an exception"], traceback.format_exc()
            ),
            pytrace=False,
        )
    try:
        results = _evaluation_results(response)
    except AssertionError as exc:
        pytest.fail(_explain(stem, case, [str(exc)], repr(response)), pytrace=False)

    problems: list[str] = []
    want_missing = [str(k) for k in case.get("expected_missing_context") or []]
    for expected in case["expected"]:
        action, resource = expected["EvalActionName"], expected["EvalResourceName"]
        found = _lookup(results, action, resource)
        if found is None:
            problems.append(f"no result for action {action!r} on resource {resource!r}")
            continue
        decision, missing = found
        decision = _plain(decision)
        if decision != expected["EvalDecision"]:
            problems.append(
                f"{action} on {resource}: expected {expected['EvalDecision']!r}, got {decision!r}"
            )
        if want_missing:
            have = {m.lower() for m in missing}
            absent = [k for k in want_missing if k.lower() not in have]
            if absent:
                problems.append(
                    f"{action} on {resource}: MissingContextValues {missing!r} lacks {absent!r}"
                )
    if problems:
        pytest.fail(_explain(stem, case, problems, _plain(response)), pytrace=False)


# --------------------------------------------------------------------------------------------------
# Corpus self-checks
# --------------------------------------------------------------------------------------------------


def _policy_problems(where: str, text: Any) -> list[str]:
    if not isinstance(text, str):
        return [f"{where}: policy must be a JSON string, got {type(text).__name__}"]
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return [f"{where}: policy is not valid JSON: {exc}"]
    if not isinstance(doc, dict) or "Statement" not in doc:
        return [f"{where}: policy must be a JSON object with a Statement"]
    return []


def _request_problems(where: str, request: Any) -> list[str]:
    if not isinstance(request, dict):
        return [f"{where}: request must be an object"]
    problems = [f"{where}: unknown request member {k!r}" for k in request if k not in REQUEST_KEYS]
    for key in ("PolicyInputList", "PermissionsBoundaryPolicyInputList", "SessionPolicyInputList"):
        if key in request:
            if not isinstance(request[key], list):
                problems.append(f"{where}: {key} must be a list")
                continue
            for i, text in enumerate(request[key]):
                problems += _policy_problems(f"{where}: {key}[{i}]", text)
    if "PolicyInputList" not in request:
        problems.append(f"{where}: PolicyInputList is required")
    if "ResourcePolicy" in request:
        problems += _policy_problems(f"{where}: ResourcePolicy", request["ResourcePolicy"])
    if "ServiceControlPolicyInputList" in request:
        levels = request["ServiceControlPolicyInputList"]
        if not isinstance(levels, list) or not all(isinstance(level, list) for level in levels):
            problems.append(
                f"{where}: ServiceControlPolicyInputList must be a list of levels (lists)"
            )
        else:
            for li, level in enumerate(levels):
                for pi, text in enumerate(level):
                    problems += _policy_problems(
                        f"{where}: ServiceControlPolicyInputList[{li}][{pi}]", text
                    )
    actions = request.get("ActionNames")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        problems.append(f"{where}: ActionNames must be a non-empty list of strings")
    arns = request.get("ResourceArns", ["*"])
    if not isinstance(arns, list) or not arns or not all(isinstance(a, str) for a in arns):
        problems.append(f"{where}: ResourceArns must be a non-empty list of strings")
    for key in ("ResourceOwner", "CallerArn"):
        if key in request and not isinstance(request[key], str):
            problems.append(f"{where}: {key} must be a string")
    for i, entry in enumerate(request.get("ContextEntries", [])):
        if not isinstance(entry, dict) or set(entry) != {
            "ContextKeyName",
            "ContextKeyValues",
            "ContextKeyType",
        }:
            problems.append(
                f"{where}: ContextEntries[{i}] must have exactly ContextKeyName/Values/Type"
            )
            continue
        if not isinstance(entry["ContextKeyName"], str) or not entry["ContextKeyName"]:
            problems.append(
                f"{where}: ContextEntries[{i}].ContextKeyName must be a non-empty string"
            )
        values = entry["ContextKeyValues"]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append(
                f"{where}: ContextEntries[{i}].ContextKeyValues must be a list of strings"
            )
        if entry["ContextKeyType"] not in CONTEXT_KEY_TYPES:
            problems.append(
                f"{where}: ContextEntries[{i}].ContextKeyType {entry['ContextKeyType']!r} is not valid"
            )
    return problems


def _case_problems(stem: str, data: dict[str, Any], case: dict[str, Any]) -> list[str]:
    where = f"{stem}::{case.get('name', '<unnamed>')}"
    problems = [f"{where}: unknown case member {k!r}" for k in case if k not in CASE_KEYS]
    if not isinstance(data.get("topic"), str) or not data["topic"].strip():
        problems.append(f"{stem}: file needs a non-empty 'topic'")
    name = case.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"{where}: name must be a short snake_case id")
    doc = case.get("doc")
    if not isinstance(doc, dict):
        problems.append(f"{where}: doc must be an object with url and quote")
    else:
        url, quote = doc.get("url"), doc.get("quote")
        if not isinstance(url, str) or not url.startswith(DOC_PREFIX):
            problems.append(f"{where}: doc.url must be a {DOC_PREFIX} URL")
        if not isinstance(quote, str) or not quote.strip():
            problems.append(f"{where}: doc.quote must be a non-empty string")
    request = case.get("request")
    problems += _request_problems(where, request)
    expected = case.get("expected")
    if not isinstance(expected, list) or not expected:
        problems.append(f"{where}: expected must be a non-empty list")
        return problems
    actions = request.get("ActionNames", []) if isinstance(request, dict) else []
    arns = request.get("ResourceArns", ["*"]) if isinstance(request, dict) else []
    seen = set()
    for i, entry in enumerate(expected):
        if not isinstance(entry, dict) or set(entry) != {
            "EvalActionName",
            "EvalResourceName",
            "EvalDecision",
        }:
            problems.append(
                f"{where}: expected[{i}] must have exactly EvalActionName/EvalResourceName/EvalDecision"
            )
            continue
        if entry["EvalDecision"] not in DECISIONS:
            problems.append(
                f"{where}: expected[{i}].EvalDecision {entry['EvalDecision']!r} is not a decision"
            )
        if entry["EvalActionName"] not in actions:
            problems.append(f"{where}: expected[{i}] names an action that is not in ActionNames")
        if entry["EvalResourceName"] not in arns:
            problems.append(f"{where}: expected[{i}] names a resource that is not in ResourceArns")
        pair = (entry["EvalActionName"], entry["EvalResourceName"])
        if pair in seen:
            problems.append(f"{where}: expected lists {pair} twice")
        seen.add(pair)
    missing = case.get("expected_missing_context")
    if missing is not None and (
        not isinstance(missing, list) or not all(isinstance(k, str) and k for k in missing)
    ):
        problems.append(f"{where}: expected_missing_context must be a list of key names")
    if "note" in case and not isinstance(case["note"], str):
        problems.append(f"{where}: note must be a string")
    return problems


def test_corpus_loads() -> None:
    assert not LOAD_ERRORS, "\n".join(LOAD_ERRORS)
    assert len(CORPUS) >= MIN_CASES, (
        f"corpus has {len(CORPUS)} cases; expected at least {MIN_CASES}"
    )


def test_corpus_names_unique() -> None:
    seen: dict[str, str] = {}
    duplicates = []
    for stem, _data, case in CORPUS:
        name = case.get("name")
        if name in seen:
            duplicates.append(f"{name!r} in {stem} and {seen[name]}")
        else:
            seen[str(name)] = stem
    assert not duplicates, "duplicate case names:\n" + "\n".join(duplicates)


def test_corpus_well_formed() -> None:
    problems: list[str] = []
    for stem, data, case in CORPUS:
        problems += _case_problems(stem, data, case)
    assert not problems, "\n".join(problems)
