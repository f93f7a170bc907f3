"""JSON (with source spans) -> the typed policy model, collecting every problem found.

Grammar and element rules: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
Size limits: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from lspolicy.conditions.registry import UnknownOperator, parse_operator
from lspolicy.errors import Location, PolicyParseError, Problem
from lspolicy.model.policy import (
    VERSION_2008,
    VERSION_2012,
    Condition,
    Policy,
    PolicyKind,
    Principal,
    SourceSpan,
    Statement,
)
from lspolicy.parse.jsonpos import JsonPath, LoadedJson, Span, format_path

__all__ = ["SIZE_LIMITS", "build_policy"]

SIZE_LIMITS: Mapping[PolicyKind, int] = {
    # characters, white space excluded, as IAM counts them
    "identity": 6144,  # customer managed policy
    "boundary": 6144,  # a boundary is a managed policy
    "session": 2048,  # AssumeRole's Policy parameter (plain text)
    "scp": 5120,
    "resource": 20480,  # the largest resource policy quota (S3 bucket policy: 20 KB)
}

_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = (
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition",
)  # fmt: skip
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


@dataclass
class _Builder:
    source: str
    spans: Mapping[JsonPath, Span]
    kind: PolicyKind
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: JsonPath, message: str, hint: str | None = None) -> None:
        span = self.spans.get(path)
        while span is None and path:
            path = path[:-1]
            span = self.spans.get(path)
        loc = Location(
            self.source, format_path(path), span.line if span else 0, span.column if span else 0
        )
        self.problems.append(Problem(message, loc, hint))

    def span(self, path: JsonPath) -> SourceSpan | None:
        s = self.spans.get(path)
        return (
            SourceSpan(line=s.line, column=s.column, end_line=s.end_line, end_column=s.end_column)
            if s
            else None
        )

    # -- elements -------------------------------------------------------------------------

    def strings(self, value: object, path: JsonPath, what: str) -> tuple[str, ...] | None:
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        ok = True
        for i, item in enumerate(items):
            p = (*path, i) if isinstance(value, list) else path
            if not isinstance(item, str):
                self.problem(p, f"{what} must be a string, found {_describe(item)}")
                ok = False
            else:
                out.append(item)
        if isinstance(value, list) and not value:
            self.problem(path, f"{what} list is empty")
            ok = False
        return tuple(out) if ok else None

    def action(self, value: str, path: JsonPath) -> None:
        if value == "*":
            return
        service, colon, name = value.partition(":")
        if not colon or not service or not name:
            self.problem(
                path,
                f"action {value!r} must be 'service:action' or '*'",
                "actions are written like 'lightsail:StopInstance'",
            )
            return
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in service):
            self.problem(path, f"invalid service prefix {service!r} in action {value!r}")
        if not all(c.isascii() and (c.isalnum() or c in "*?_-") for c in name):
            self.problem(path, f"invalid action name {name!r} in action {value!r}")

    def resource(self, value: str, path: JsonPath) -> None:
        if value == "*":
            return
        if not value.startswith("arn:"):
            self.problem(
                path,
                f"resource {value!r} must be an ARN or '*'",
                "Lightsail instances look like "
                "'arn:aws:lightsail:us-east-1:111122223333:Instance/<id>'",
            )
            return
        if value.count(":") < 5 and not value.endswith("*"):
            self.problem(
                path,
                f"resource {value!r} is not a complete ARN: it needs six colon-separated parts "
                "(arn:partition:service:region:account:resource), or to end with '*'",
            )

    def principal(self, value: object, path: JsonPath) -> Principal | None:
        if value == "*":
            return Principal(wildcard=True)
        if not isinstance(value, dict):
            self.problem(path, f"principal must be '*' or an object, found {_describe(value)}")
            return None
        entries: list[tuple[str, tuple[str, ...]]] = []
        for kind, vals in value.items():
            if kind not in _PRINCIPAL_TYPES:
                hint = _close(kind, _PRINCIPAL_TYPES)
                self.problem(
                    (*path, kind),
                    f"unknown principal type {kind!r}",
                    f"did you mean {hint!r}?" if hint else None,
                )
                continue
            got = self.strings(vals, (*path, kind), "principal")
            if got is not None:
                entries.append((kind, got))
        return Principal(entries=tuple(entries))

    def conditions(self, value: object, path: JsonPath) -> tuple[Condition, ...]:
        if not isinstance(value, dict):
            self.problem(path, f"Condition must be an object, found {_describe(value)}")
            return ()
        out: list[Condition] = []
        for op, block in value.items():
            op_path = (*path, op)
            parsed = parse_operator(op)
            if isinstance(parsed, UnknownOperator):
                self.problem(op_path, parsed.message, parsed.hint)
                continue
            if not isinstance(block, dict):
                self.problem(
                    op_path, f"{op} must map condition keys to values, found {_describe(block)}"
                )
                continue
            if not block:
                self.problem(op_path, f"{op} has no condition keys")
            for key, raw in block.items():
                key_path = (*op_path, key)
                if not key:
                    self.problem(key_path, "condition key name is empty")
                    continue
                items = raw if isinstance(raw, list) else [raw]
                if isinstance(raw, list) and not raw:
                    self.problem(key_path, f"{op} {key!r} has an empty list of values")
                values: list[str] = []
                for i, item in enumerate(items):
                    ip = (*key_path, i) if isinstance(raw, list) else key_path
                    if isinstance(item, bool):
                        values.append("true" if item else "false")
                    elif isinstance(item, int):
                        values.append(str(item))
                    elif isinstance(item, float):
                        values.append(str(int(item)) if item.is_integer() else str(item))
                    elif isinstance(item, str):
                        values.append(item)
                    else:
                        self.problem(
                            ip,
                            f"condition value must be a string, number or boolean, found {_describe(item)}",
                        )
                self.check_values(parsed.spec.name, parsed.spec.prepare, values, key_path)
                out.append(
                    Condition(operator=op, key=key, values=tuple(values), span=self.span(key_path))
                )
        return tuple(out)

    def check_values(self, name: str, prepare: object, values: list[str], path: JsonPath) -> None:
        if name.startswith(("String", "Arn")):
            return
        assert callable(prepare)
        for v in values:
            if "${" in v:
                continue
            if prepare(v) is None:
                kind = {
                    "Numeric": "a number", "Date": "an ISO 8601 date or epoch seconds",
                    "Bool": "'true' or 'false'", "Binary": "base64 data",
                    "IpAddress": "an IP address or CIDR block",
                    "NotIpAddress": "an IP address or CIDR block", "Null": "'true' or 'false'",
                }  # fmt: skip
                want = next((w for k, w in kind.items() if name.startswith(k)), "a valid value")
                self.problem(path, f"{name} value {v!r} is not {want}")

    def statement(self, value: object, path: JsonPath, index: int) -> Statement | None:
        if not isinstance(value, dict):
            self.problem(path, f"statement must be an object, found {_describe(value)}")
            return None
        before = len(self.problems)
        for key in value:
            if key not in _STATEMENT_KEYS:
                hint = _close(key, _STATEMENT_KEYS)
                self.problem(
                    (*path, key),
                    f"unknown statement element {key!r}",
                    f"did you mean {hint!r}?" if hint else None,
                )
        sid = value.get("Sid")
        if "Sid" in value and not isinstance(sid, str):
            self.problem((*path, "Sid"), f"Sid must be a string, found {_describe(sid)}")
            sid = None
        effect = value.get("Effect")
        if effect is None:
            self.problem(path, "statement has no Effect", 'add "Effect": "Allow" or "Deny"')
        elif effect not in ("Allow", "Deny"):
            hint = _close(str(effect), ("Allow", "Deny"))
            self.problem(
                (*path, "Effect"),
                f"Effect must be 'Allow' or 'Deny', found {effect!r}",
                f"did you mean {hint!r}?" if hint else None,
            )
        actions = not_actions = resources = not_resources = None
        if "Action" in value and "NotAction" in value:
            self.problem(path, "statement has both Action and NotAction; use one")
        elif "Action" not in value and "NotAction" not in value:
            self.problem(path, "statement has neither Action nor NotAction")
        for key in ("Action", "NotAction"):
            if key in value:
                got = self.strings(value[key], (*path, key), "action")
                if got is not None:
                    vals = value[key] if isinstance(value[key], list) else [value[key]]
                    for i, a in enumerate(got):
                        self.action(
                            a, (*path, key, i) if isinstance(value[key], list) else (*path, key)
                        )
                    del vals
                if key == "Action":
                    actions = got
                else:
                    not_actions = got
        has_res = "Resource" in value or "NotResource" in value
        if "Resource" in value and "NotResource" in value:
            self.problem(path, "statement has both Resource and NotResource; use one")
        elif not has_res and self.kind != "resource":
            self.problem(
                path,
                "statement has neither Resource nor NotResource",
                'add "Resource": "*" or an ARN',
            )
        for key in ("Resource", "NotResource"):
            if key in value:
                got = self.strings(value[key], (*path, key), "resource")
                if got is not None:
                    for i, r in enumerate(got):
                        self.resource(
                            r, (*path, key, i) if isinstance(value[key], list) else (*path, key)
                        )
                if key == "Resource":
                    resources = got
                else:
                    not_resources = got
        principal = not_principal = None
        if "Principal" in value and "NotPrincipal" in value:
            self.problem(path, "statement has both Principal and NotPrincipal; use one")
        for key in ("Principal", "NotPrincipal"):
            if key in value:
                if self.kind != "resource":
                    self.problem(
                        (*path, key),
                        f"{key} is not allowed in {_KIND_NAMES[self.kind]}",
                        "identity-based policies apply to the principal they are attached to",
                    )
                    continue
                got_p = self.principal(value[key], (*path, key))
                if key == "Principal":
                    principal = got_p
                else:
                    not_principal = got_p
        if self.kind == "resource" and "Principal" not in value and "NotPrincipal" not in value:
            self.problem(
                path, "a statement in a resource-based policy needs Principal or NotPrincipal"
            )
        conditions: tuple[Condition, ...] = ()
        if "Condition" in value:
            conditions = self.conditions(value["Condition"], (*path, "Condition"))
        if len(self.problems) != before or effect not in ("Allow", "Deny"):
            return None
        return Statement(
            index=index, effect=effect, sid=sid, principal=principal, not_principal=not_principal,
            actions=actions, not_actions=not_actions, resources=resources,
            not_resources=not_resources, conditions=conditions, span=self.span(path),
        )  # fmt: skip


_KIND_NAMES: Mapping[PolicyKind, str] = {
    "identity": "an identity-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
    "scp": "a service control policy",
    "resource": "a resource-based policy",
}


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _close(word: str, choices: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def _significant_size(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def build_policy(
    loaded: LoadedJson,
    *,
    source: str,
    kind: PolicyKind = "identity",
    text: str | None = None,
    max_size: int | None = None,
) -> Policy:
    """Build the model from decoded JSON; raise `PolicyParseError` listing every problem."""
    b = _Builder(source, loaded.spans, kind)
    for dup in loaded.duplicates:
        b.problem(dup, f"duplicate key {dup[-1]!r}", "JSON objects must not repeat a key")
    doc = loaded.value
    limit = SIZE_LIMITS[kind] if max_size is None else max_size
    if text is not None and limit > 0:
        size = _significant_size(text)
        if size > limit:
            b.problem(
                (),
                f"policy is {size} characters (white space excluded), over AWS's limit of {limit} for {_KIND_NAMES[kind]}s",
            )
    if not isinstance(doc, dict):
        b.problem((), f"a policy document must be a JSON object, found {_describe(doc)}")
        raise PolicyParseError(tuple(b.problems))
    for key in doc:
        if key not in _TOP_KEYS:
            hint = _close(key, _TOP_KEYS)
            b.problem(
                (key,),
                f"unknown policy element {key!r}",
                f"did you mean {hint!r}?" if hint else None,
            )
    version = doc.get("Version")
    if "Version" in doc and version not in (VERSION_2012, VERSION_2008):
        b.problem(
            ("Version",), f"Version must be '{VERSION_2012}' or '{VERSION_2008}', found {version!r}"
        )
    policy_id = doc.get("Id")
    if "Id" in doc and not isinstance(policy_id, str):
        b.problem(("Id",), f"Id must be a string, found {_describe(policy_id)}")
    statements: list[Statement] = []
    if "Statement" not in doc:
        b.problem((), "policy has no Statement")
    else:
        raw = doc["Statement"]
        is_list = isinstance(raw, list)
        if is_list and not raw:
            b.problem(
                ("Statement",), "Statement list is empty", "a policy needs at least one statement"
            )
        items = raw if isinstance(raw, list) else [raw]
        sids: dict[str, int] = {}
        for i, item in enumerate(items):
            path: JsonPath = ("Statement", i) if is_list else ("Statement",)
            st = b.statement(item, path, i)
            if st is not None:
                if st.sid is not None and st.sid in sids and kind != "resource":
                    b.problem(
                        (*path, "Sid"),
                        f"Sid {st.sid!r} is used by statement {sids[st.sid]} too; Sids must be unique in a policy",
                    )
                if st.sid is not None:
                    sids.setdefault(st.sid, i)
                statements.append(st)
    if b.problems:
        raise PolicyParseError(tuple(b.problems))
    return Policy(
        source=source,
        kind=kind,
        version=version if isinstance(version, str) else None,
        id=policy_id if isinstance(policy_id, str) else None,
        statements=tuple(statements),
    )
