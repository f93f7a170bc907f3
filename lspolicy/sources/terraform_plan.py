"""IAM policies in ``terraform show -json`` output (a saved plan, or the state).

Format: https://developer.hashicorp.com/terraform/internals/json-format
- a plan's resources are under ``planned_values.root_module`` (modules nest in
  ``child_modules``), the state's under ``values.root_module``; data sources read while
  planning are in ``prior_state.values.root_module``;
- an attribute terraform does not know until apply is left out of ``values`` and marked ``true``
  in ``resource_changes[].change.after_unknown``: we report it, never guess it;
- a policy is a JSON *string* in the plan's JSON. We decode it with a map from each character
  back to where it was written in the plan (escapes included), so a finding on
  ``Statement[1].Action[0]`` gets the plan file's own line and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lspolicy.errors import Location, Problem
from lspolicy.model.policy import PolicyKind
from lspolicy.parse.jsonpos import (
    JsonPath,
    JsonSyntaxError,
    LoadedJson,
    Span,
    format_path,
    load_json,
)
from lspolicy.sources.model import Extraction, SourcePolicy
from lspolicy.sources.textmap import LineIndex, decode_json_string, remap
from lspolicy.sources.tree import LIMIT, at, nearest_span, source_problem

__all__ = ["extract_terraform_plan", "looks_like_terraform_plan"]

_POLICY_ATTR: dict[str, tuple[str, str | None]] = {
    # resource type -> (policy attribute, attribute naming the principal it is attached to)
    "aws_iam_policy": ("policy", None),
    "aws_iam_role_policy": ("policy", "role"),
    "aws_iam_user_policy": ("policy", "user"),
    "aws_iam_group_policy": ("policy", "group"),
}
_PRINCIPAL_TYPES = ("aws_iam_role", "aws_iam_user", "aws_iam_group")
_ATTACHMENTS = {
    "aws_iam_role_policy_attachment": ("role",),
    "aws_iam_user_policy_attachment": ("user",),
    "aws_iam_group_policy_attachment": ("group",),
    "aws_iam_policy_attachment": ("roles", "users", "groups"),
}
_INDEX = re.compile(r"\[[^\]]*\]")


def looks_like_terraform_plan(text: str) -> bool:
    """A cheap look at the shape: ``format_version`` and planned values, values or changes."""
    if not text.lstrip("\ufeff \t\r\n").startswith("{") or '"format_version"' not in text:
        return False
    return any(k in text for k in ('"planned_values"', '"values"', '"resource_changes"'))


@dataclass
class _Resource:
    address: str
    type: str
    mode: str
    values: dict[str, object]
    path: JsonPath  # of the resource object in the file


@dataclass
class _Reader:
    file: str
    text: str
    loaded: LoadedJson
    lines: LineIndex
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: JsonPath, message: str, hint: str | None = None) -> None:
        self.problems.append(
            source_problem(self.file, path, nearest_span(self.loaded.spans, path), message, hint)
        )

    def resources(self) -> Iterator[_Resource]:
        doc = self.loaded.value
        seen: set[str] = set()
        roots: list[tuple[JsonPath, bool]] = [
            (("planned_values", "root_module"), False),
            (("values", "root_module"), False),
            (("prior_state", "values", "root_module"), True),  # data sources read at plan time
        ]
        for root, data_only in roots:
            for r in self._module(at(doc, root), root, 0):
                if r.address in seen or (data_only and r.mode != "data"):
                    continue
                seen.add(r.address)
                yield r

    def _module(self, module: object, path: JsonPath, depth: int) -> Iterator[_Resource]:
        if not isinstance(module, dict):
            return
        resources = module.get("resources")
        for i, r in enumerate(resources if isinstance(resources, list) else []):
            rpath = (*path, "resources", i)
            if not isinstance(r, dict):
                continue
            address, rtype = r.get("address"), r.get("type")
            values = r.get("values")
            if not isinstance(address, str) or not isinstance(rtype, str):
                self.problem(rpath, "resource has no address or type")
                continue
            yield _Resource(
                address, rtype, str(r.get("mode", "managed")),
                values if isinstance(values, dict) else {}, rpath,
            )  # fmt: skip
        children = module.get("child_modules")
        for j, child in enumerate(children if isinstance(children, list) else []):
            yield from self._module(child, (*path, "child_modules", j), depth + 1)

    def embedded(self, path: JsonPath, name: str) -> LoadedJson | None:
        """The policy JSON in the string at ``path``, with spans in the plan file."""
        span = self.loaded.spans[path]
        start = self.lines.offset(span.line, span.column)
        end = self.lines.offset(span.end_line, span.end_column)
        mapped = decode_json_string(self.text[start + 1 : end - 1], start + 1)
        if not mapped.text.strip():
            self.problem(path, f"policy of {name!r} is empty")
            return None
        try:
            inner = load_json(mapped.text.lstrip("\ufeff"))
        except JsonSyntaxError as exc:
            offset = LineIndex(mapped.text).offset(exc.line, exc.column)
            line, column = self.lines.position(mapped.origin[min(offset, len(mapped.text))])
            where = format_path(path)
            inside = format_path(exc.path)
            self.problems.append(
                source_problem(
                    self.file,
                    f"{where}.{inside}" if inside else where,
                    Span(line, column, line, column),
                    f"policy of {name!r} is not valid JSON: {exc.message}",
                    limit=exc.limit,
                )
            )
            return None
        return remap(inner, mapped, self.lines)


def _unknown(after_unknown: object, attr: tuple[str | int, ...]) -> bool:
    value = after_unknown
    for part in attr:
        if value is True:
            return True
        value = at(value, (part,))
    return value is True


def extract_terraform_plan(file: str, text: str) -> Extraction:
    """Every IAM policy in a terraform plan or state rendered as JSON, located in ``file``."""
    try:
        loaded = load_json(text.lstrip("\ufeff"))
    except JsonSyntaxError as exc:
        loc = Location(file, format_path(exc.path), exc.line, exc.column)
        return Extraction(
            "terraform-plan",
            (),
            (Problem(f"invalid JSON: {exc.message}", loc, code=LIMIT if exc.limit else "source"),),
        )
    reader = _Reader(file, text.lstrip("\ufeff"), loaded, LineIndex(text.lstrip("\ufeff")))
    for dup in loaded.duplicates:
        reader.problem(dup, f"duplicate key {dup[-1]!r}")
    doc = loaded.value
    unknown: dict[str, object] = {}
    changes = at(doc, ("resource_changes",))
    for change in changes if isinstance(changes, list) else []:
        address = at(change, ("address",))
        if isinstance(address, str):
            unknown[address] = at(change, ("change", "after_unknown"))
    refs = _config_refs(at(doc, ("configuration", "root_module")), "")
    resources = list(reader.resources())
    by_name: dict[tuple[str, str], str] = {}
    arns: dict[str, str] = {}
    for r in resources:
        if r.type in _PRINCIPAL_TYPES and isinstance(r.values.get("name"), str):
            by_name[(r.type, str(r.values["name"]))] = r.address
        if r.type == "aws_iam_policy" and isinstance(r.values.get("arn"), str):
            arns[str(r.values["arn"])] = r.address

    def principals(r: _Resource, attr: str, ptype: str) -> list[str]:
        value = r.values.get(attr)
        names = value if isinstance(value, list) else [value]
        out = [by_name.get((ptype, n), n) for n in names if isinstance(n, str)]
        if not out:  # not known yet: the configuration says which resource it refers to
            out = [a for a in _referenced(refs, r.address, attr) if a.split(".")[-2] == ptype]
        return out

    attached: dict[str, list[str]] = {}
    for r in resources:
        if r.type in _ATTACHMENTS and r.mode == "managed":
            arn = r.values.get("policy_arn")
            policy = arns.get(arn) if isinstance(arn, str) else None
            if policy is None:
                found = _referenced(refs, r.address, "policy_arn")
                policy = found[0] if found else None
            if policy is None:
                continue  # an AWS managed policy, or one not in this plan
            for attr in _ATTACHMENTS[r.type]:
                ptype = "aws_iam_" + attr.rstrip("s")
                attached.setdefault(policy, []).extend(principals(r, attr, ptype))

    policies: list[SourcePolicy] = []

    def add(r: _Resource, attr: JsonPath, name: str, kind: PolicyKind, to: list[str]) -> None:
        vpath = (*r.path, "values", *attr)
        value = at(r.values, attr)
        if isinstance(value, str):
            got = reader.embedded(vpath, name)
            if got is not None:
                policies.append(
                    SourcePolicy(
                        file, name, "terraform-plan", kind, got, tuple(dict.fromkeys(to)), ()
                    )
                )
        elif value is None and _unknown(unknown.get(r.address), attr):
            reader.problem(
                vpath, f"policy of {name!r} is not known until apply",
                "it depends on values terraform computes when it applies the plan",
            )  # fmt: skip
        elif value is None:
            reader.problem(vpath, f"policy of {name!r} is null")
        else:
            reader.problem(vpath, f"policy of {name!r} is not a string")

    for r in resources:
        if r.mode == "data":
            if r.type == "aws_iam_policy_document":
                add(r, ("json",), r.address, "identity", [])
            continue
        if r.type in _POLICY_ATTR:
            attr, who = _POLICY_ATTR[r.type]
            to = principals(r, who, "aws_iam_" + who) if who else []
            add(r, (attr,), r.address, "identity", [*to, *attached.get(r.address, ())])
        elif r.type == "aws_iam_role":
            add(
                r,
                ("assume_role_policy",),
                f"{r.address}.assume_role_policy",
                "resource",
                [r.address],
            )
            inline = r.values.get("inline_policy")
            for i, entry in enumerate(inline if isinstance(inline, list) else []):
                if isinstance(entry, dict) and (entry.get("policy") or entry.get("name")):
                    add(
                        r,
                        ("inline_policy", i, "policy"),
                        f"{r.address}.inline_policy[{i}]",
                        "identity",
                        [r.address],
                    )
            if _unknown(unknown.get(r.address), ("inline_policy",)) and not inline:
                reader.problem(
                    (*r.path, "values"),
                    f"inline policies of {r.address!r} are not known until apply",
                )
    return Extraction("terraform-plan", tuple(policies), tuple(reader.problems))


def _config_refs(module: object, prefix: str) -> dict[str, dict[str, list[str]]]:
    """``{resource address (no index): {attribute: [referenced resource addresses]}}``."""
    out: dict[str, dict[str, list[str]]] = {}
    if not isinstance(module, dict):
        return out
    resources = at(module, ("resources",))
    for r in resources if isinstance(resources, list) else []:
        address = at(r, ("address",))
        exprs = at(r, ("expressions",))
        if not isinstance(address, str) or not isinstance(exprs, dict):
            continue
        entry = out.setdefault(prefix + address, {})
        for attr, expr in exprs.items():
            refs = at(expr, ("references",))
            if isinstance(refs, list):
                entry[attr] = [prefix + ref for ref in refs if isinstance(ref, str)]
    calls = at(module, ("module_calls",))
    for call, spec in calls.items() if isinstance(calls, dict) else []:
        out.update(_config_refs(at(spec, ("module",)), f"{prefix}module.{call}."))
    return out


def _referenced(refs: dict[str, dict[str, list[str]]], address: str, attr: str) -> list[str]:
    """Resource addresses that ``attr`` of ``address`` refers to in the configuration."""
    found: list[str] = []
    for ref in refs.get(_INDEX.sub("", address), {}).get(attr, []):
        parts = ref.split(".")
        # "module.m.aws_iam_role.ops.name" -> "module.m.aws_iam_role.ops"
        while parts and parts[-2:-1] and not parts[-2].startswith("aws_"):
            parts = parts[:-1]
        if len(parts) >= 2 and parts[-2].startswith("aws_"):
            candidate = ".".join(parts)
            if candidate not in found:
                found.append(candidate)
    return found
