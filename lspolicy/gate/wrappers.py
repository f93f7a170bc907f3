"""Policies inside the JSON that AWS tools write: recognise each wrapper and read its policies
out, each located at the line and column where its document starts in the file.

- a SimulateCustomPolicy request: ``PolicyInputList`` (and ``PermissionsBoundaryPolicyInputList``)
  are policy documents as JSON strings
  (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html);
- ``aws iam get-account-authorization-details`` output: managed policies' default versions,
  inline user, group and role policies, and role trust policies, as objects or as the
  URL-encoded strings the API returns
  (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from lspolicy.errors import Location, Problem
from lspolicy.gate.kinds import Candidate, EmbeddedPolicy, Extraction
from lspolicy.model.policy import PolicyKind
from lspolicy.parse.jsonpos import JsonPath, JsonSyntaxError, Span, format_path, load_json

__all__ = [
    "extract_authorization_details",
    "extract_simulate_request",
    "is_authorization_details",
    "is_simulate_request",
]

_DETAIL_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
_DETAIL_KEYS = frozenset({*_DETAIL_LISTS, "IsTruncated", "Marker"})


def is_simulate_request(c: Candidate) -> bool:
    """An object with a ``PolicyInputList`` of strings."""
    data = c.data
    return (
        isinstance(data, dict)
        and isinstance(data.get("PolicyInputList"), list)
        and all(isinstance(p, str) for p in data["PolicyInputList"])
    )


def is_authorization_details(c: Candidate) -> bool:
    """An object of detail lists and nothing else."""
    data = c.data
    return (
        isinstance(data, dict)
        and any(k in data for k in _DETAIL_LISTS)
        and set(data) <= _DETAIL_KEYS
    )


class _Reader:
    """Collects the documents of one file, located by the file's own positions."""

    def __init__(self, path: Path, text: str) -> None:
        self.file = str(path)
        self.policies: list[EmbeddedPolicy] = []
        self.problems: list[Problem] = []
        loaded = load_json(text.lstrip("\ufeff"))
        self.value: object = loaded.value
        self.spans: dict[JsonPath, Span] = dict(loaded.spans)

    def add(self, path: JsonPath, document: object, kind: PolicyKind = "identity") -> None:
        span = self.spans.get(path)
        line, column = (span.line, span.column) if span else (1, 1)
        where = format_path(path)
        if isinstance(document, str):
            text = document
            if not text.lstrip().startswith("{"):  # the API's URL-encoded form
                text = urllib.parse.unquote(text)
        elif isinstance(document, dict):
            text = json.dumps(document, indent=2)
        else:
            self.problems.append(
                Problem(
                    "a policy document must be a JSON object or a string holding one",
                    Location(self.file, where, line, column),
                    code="wrapper",
                )
            )
            return
        self.policies.append(EmbeddedPolicy(self.file, where, line, column, text, kind))

    def done(self) -> Extraction:
        return Extraction(tuple(self.policies), tuple(self.problems))


def _items(value: object, key: str) -> list[tuple[int, dict[str, object]]]:
    got = value.get(key) if isinstance(value, dict) else None
    if not isinstance(got, list):
        return []
    return [(i, x) for i, x in enumerate(got) if isinstance(x, dict)]


def extract_simulate_request(path: Path, text: str) -> Extraction | None:
    """Every policy of a SimulateCustomPolicy request file."""
    try:
        r = _Reader(path, text)
    except JsonSyntaxError:
        return None
    lists: tuple[tuple[str, PolicyKind], ...] = (
        ("PolicyInputList", "identity"),
        ("PermissionsBoundaryPolicyInputList", "boundary"),
    )
    for key, kind in lists:
        value = r.value.get(key) if isinstance(r.value, dict) else None
        for i, doc in enumerate(value if isinstance(value, list) else []):
            r.add((key, i), doc, kind)
    return r.done()


def extract_authorization_details(path: Path, text: str) -> Extraction | None:
    """Every policy of ``aws iam get-account-authorization-details`` output: the default
    version of each managed policy, each inline policy, and each role's trust policy."""
    try:
        r = _Reader(path, text)
    except JsonSyntaxError:
        return None
    for i, policy in _items(r.value, "Policies"):
        for j, version in _items(policy, "PolicyVersionList"):
            if version.get("IsDefaultVersion") is True and "Document" in version:
                r.add(("Policies", i, "PolicyVersionList", j, "Document"), version["Document"])
    inline = (
        ("UserDetailList", "UserPolicyList"),
        ("GroupDetailList", "GroupPolicyList"),
        ("RoleDetailList", "RolePolicyList"),
    )
    for outer, inner in inline:
        for i, who in _items(r.value, outer):
            for j, p in _items(who, inner):
                if "PolicyDocument" in p:
                    r.add((outer, i, inner, j, "PolicyDocument"), p["PolicyDocument"])
    for i, role in _items(r.value, "RoleDetailList"):
        if "AssumeRolePolicyDocument" in role:
            r.add(
                ("RoleDetailList", i, "AssumeRolePolicyDocument"),
                role["AssumeRolePolicyDocument"],
                "resource",
            )
    return r.done()
