"""IAM policies in CloudFormation templates (YAML with short-form tags, or JSON).

Resource types and properties: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html
(and the ``AWS::IAM::Policy``, ``ManagedPolicy``, ``User``, ``Group``, ``RolePolicy``,
``UserPolicy``, ``GroupPolicy`` pages). Intrinsic functions:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html

Intrinsic functions are evaluated only where the template alone decides the result:
``Fn::Sub`` of a string with no variables is its literal text (``${!Name}`` -> ``${Name}``),
and ``Fn::Sub``/``Fn::Join`` keep their literal parts around a placeholder for each part that
is not (a parameter, a pseudo parameter such as ``AWS::AccountId``, an attribute). Everything
else is symbolic; see `lspolicy.sources.symbolic`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lspolicy.errors import Problem
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
from lspolicy.sources.symbolic import Notes
from lspolicy.sources.tree import at, nearest_span, source_problem, subtree
from lspolicy.yamlpos import TagHandler, YamlError, load_yaml

__all__ = ["CFN_TAGS", "extract_cloudformation", "looks_like_cloudformation"]


def _fn(name: str) -> TagHandler:
    return lambda value: {name: value}


def _getatt(value: object) -> object:
    if isinstance(value, str) and "." in value:
        return {"Fn::GetAtt": value.split(".", 1)}
    return {"Fn::GetAtt": value}


CFN_TAGS: Mapping[str, TagHandler] = {
    "!Ref": _fn("Ref"),
    "!Condition": _fn("Condition"),
    "!GetAtt": _getatt,
    **{
        f"!{name}": _fn(f"Fn::{name}")
        for name in (
            "Sub",
            "Join",
            "If",
            "Select",
            "Split",
            "ImportValue",
            "FindInMap",
            "Base64",
            "Cidr",
            "GetAZs",
            "Equals",
            "Not",
            "And",
            "Or",
            "Transform",
            "Length",
            "ToJsonString",
            "ForEach",
        )
    },
}
"""CloudFormation's YAML short forms, as the long (JSON) form each stands for."""

_PSEUDO = frozenset(
    {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::StackId", "AWS::StackName",
     "AWS::URLSuffix", "AWS::NotificationARNs", "AWS::NoValue"}
)  # fmt: skip
_SUB_VAR = re.compile(r"\$\{(!?)([^}]*)\}")

# type -> (policy properties, kind); a trailing "[]" walks a list of {PolicyDocument}
_POLICIES: Mapping[str, tuple[tuple[str, PolicyKind], ...]] = {
    "AWS::IAM::Policy": (("PolicyDocument", "identity"),),
    "AWS::IAM::ManagedPolicy": (("PolicyDocument", "identity"),),
    "AWS::IAM::RolePolicy": (("PolicyDocument", "identity"),),
    "AWS::IAM::UserPolicy": (("PolicyDocument", "identity"),),
    "AWS::IAM::GroupPolicy": (("PolicyDocument", "identity"),),
    "AWS::IAM::Role": (("AssumeRolePolicyDocument", "resource"), ("Policies[]", "identity")),
    "AWS::IAM::User": (("Policies[]", "identity"),),
    "AWS::IAM::Group": (("Policies[]", "identity"),),
}
_PRINCIPALS = {"AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName"}  # fmt: skip
_ATTACH_LISTS = ("Roles", "Users", "Groups")
_ATTACH_ONE = ("RoleName", "UserName", "GroupName")


def looks_like_cloudformation(text: str) -> bool:
    """A cheap look at the shape: a template version, or a resource typed ``AWS::...``."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return '"AWSTemplateFormatVersion"' in text or (
            '"Resources"' in text and re.search(r'"Type"\s*:\s*"AWS::', text) is not None
        )
    return re.search(r"^AWSTemplateFormatVersion\s*:", text, re.M) is not None or (
        re.search(r"^Resources\s*:", text, re.M) is not None
        and re.search(r"^\s+Type\s*:\s*['\"]?AWS::", text, re.M) is not None
    )


def _load(text: str) -> LoadedJson:
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return load_json(text.lstrip("\ufeff"))
    return load_yaml(text, tags=CFN_TAGS)


def _describe(fn: str, arg: object) -> str:
    if fn == "Ref" and isinstance(arg, str):
        if arg in _PSEUDO:
            return f"pseudo parameter {arg!r}"
        return f"'Ref {arg}'"
    if fn == "Fn::GetAtt" and isinstance(arg, list):
        return f"'Fn::GetAtt {'.'.join(str(a) for a in arg)}'"
    if fn == "Fn::Sub":
        return "'Fn::Sub' variable"
    return f"{fn!r}"


class _Resolver:
    """Copies a policy document, leaving each intrinsic function symbolic (with a note)."""

    def __init__(self, notes: Notes, loaded: LoadedJson) -> None:
        self.notes = notes
        self.loaded = loaded

    def value(self, v: object, path: JsonPath) -> object:
        if isinstance(v, dict) and len(v) == 1:
            ((fn, arg),) = v.items()
            if (fn in {"Ref", "Condition"} and isinstance(arg, str)) or fn.startswith("Fn::"):
                return self.intrinsic(fn, arg, path)
        if isinstance(v, dict):
            return {k: self.value(x, (*path, k)) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x, (*path, i)) for i, x in enumerate(v)]
        return v

    def note(self, path: JsonPath, what: str, *, whole: bool) -> str:
        span = nearest_span(self.loaded.spans, path)
        return self.notes.add(path, span, what, whole=whole)

    def intrinsic(self, fn: str, arg: object, path: JsonPath) -> object:
        if fn == "Fn::Sub":
            template = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(template, str) and not (
                isinstance(arg, list) and len(arg) > 1 and arg[1]
            ):
                return self.sub(template, path)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            sep, parts = arg
            if isinstance(sep, str) and isinstance(parts, list):
                pieces: list[str] = []
                for i, part in enumerate(parts):
                    if isinstance(part, str):
                        pieces.append(part)
                    elif isinstance(part, dict) and len(part) == 1:
                        ((inner_fn, inner_arg),) = part.items()
                        if inner_fn == "Fn::Sub" and isinstance(inner_arg, str):
                            pieces.append(str(self.sub(inner_arg, path)))
                        else:
                            pieces.append(
                                self.note(path, _describe(inner_fn, inner_arg), whole=False)
                            )
                    else:
                        return self.note(path, f"'Fn::Join' part {i}", whole=True)
                return sep.join(pieces)
        return self.note(path, _describe(fn, arg), whole=True)

    def sub(self, template: str, path: JsonPath) -> str:
        if not any(not m.group(1) for m in _SUB_VAR.finditer(template)):
            return _SUB_VAR.sub(lambda m: "${" + m.group(2) + "}", template)
        out: list[str] = []
        last = 0
        for m in _SUB_VAR.finditer(template):
            out.append(template[last : m.start()])
            if m.group(1):
                out.append("${" + m.group(2) + "}")
            else:
                name = m.group(2).strip()
                what = (
                    f"pseudo parameter {name!r}"
                    if name in _PSEUDO
                    else f"'Fn::Sub' variable {name!r}"
                )
                out.append(self.note(path, what, whole=False))
            last = m.end()
        out.append(template[last:])
        return "".join(out)


def _ref_target(value: object) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return arg
        if fn == "Fn::GetAtt" and isinstance(arg, list) and arg and isinstance(arg[0], str):
            return arg[0]
    return None


def extract_cloudformation(file: str, text: str) -> Extraction:
    """Every IAM policy document in a CloudFormation template, located in ``file``."""
    problems: list[Problem] = []
    try:
        loaded = _load(text)
    except JsonSyntaxError as exc:
        problems.append(
            source_problem(
                file,
                format_path(exc.path),
                _pos(exc.line, exc.column),
                f"invalid JSON: {exc.message}",
                limit=exc.limit,
            )
        )
        return Extraction("cloudformation", (), tuple(problems))
    except YamlError as exc:
        problems.append(
            source_problem(
                file,
                format_path(exc.path),
                _pos(exc.line, exc.column),
                f"invalid YAML: {exc.message}",
                limit=exc.limit,
            )
        )
        return Extraction("cloudformation", (), tuple(problems))
    for dup in loaded.duplicates:
        if dup[:1] != ("Resources",):
            problems.append(
                source_problem(file, dup, loaded.spans.get(dup), f"duplicate key {dup[-1]!r}")
            )
    template = loaded.value
    resources = at(template, ("Resources",))
    if not isinstance(resources, dict):
        problems.append(
            source_problem(
                file,
                "Resources",
                nearest_span(loaded.spans, ("Resources",)),
                "template has no Resources mapping",
            )
        )
        return Extraction("cloudformation", (), tuple(problems))
    names: dict[str, str] = {}
    for logical_id, res in resources.items():
        if isinstance(res, dict):
            rtype = res.get("Type")
            props = res.get("Properties")
            key = _PRINCIPALS.get(rtype) if isinstance(rtype, str) else None
            if rtype == "AWS::IAM::ManagedPolicy":
                key = "ManagedPolicyName"
            if key and isinstance(props, dict) and isinstance(props.get(key), str):
                names[props[key]] = logical_id

    def principal(value: object, path: JsonPath) -> str | None:
        target = _ref_target(value)
        if target is not None:
            return target
        if isinstance(value, str):
            return names.get(value, value)
        problems.append(
            source_problem(
                file,
                path,
                nearest_span(loaded.spans, path),
                "the principal this policy is attached to cannot be resolved statically",
            )
        )
        return None

    # managed policies attached by the principal: ManagedPolicyArns: [!Ref X]
    attached_by: dict[str, list[str]] = {}
    for logical_id, res in resources.items():
        if isinstance(res, dict) and res.get("Type") in _PRINCIPALS:
            arns = at(res, ("Properties", "ManagedPolicyArns"))
            for arn in arns if isinstance(arns, list) else []:
                target = _ref_target(arn)
                if target is not None and target in resources:
                    attached_by.setdefault(target, []).append(logical_id)

    policies: list[SourcePolicy] = []
    for logical_id, res in resources.items():
        rpath: JsonPath = ("Resources", logical_id)
        if not isinstance(res, dict):
            continue
        rtype = res.get("Type")
        if not isinstance(rtype, str) or rtype not in _POLICIES:
            continue
        props = res.get("Properties")
        ppath: JsonPath = (*rpath, "Properties")
        if not isinstance(props, dict):
            problems.append(
                source_problem(
                    file,
                    rpath,
                    loaded.spans.get(rpath),
                    f"{rtype} {logical_id!r} has no Properties",
                )
            )
            continue
        attached: list[str] = []
        if rtype in _PRINCIPALS:
            attached.append(logical_id)
        for key in _ATTACH_LISTS:
            items = props.get(key)
            if isinstance(items, list):
                for i, item in enumerate(items):
                    who = principal(item, (*ppath, key, i))
                    if who is not None:
                        attached.append(who)
        for key in _ATTACH_ONE:
            if key in props and rtype not in _PRINCIPALS:
                who = principal(props[key], (*ppath, key))
                if who is not None:
                    attached.append(who)
        attached.extend(attached_by.get(logical_id, ()))
        targets: list[tuple[JsonPath, PolicyKind]] = []
        for prop, kind in _POLICIES[rtype]:
            if prop.endswith("[]"):
                entries = props.get(prop[:-2])
                if isinstance(entries, list):
                    targets.extend(
                        ((*ppath, prop[:-2], i, "PolicyDocument"), kind)
                        for i in range(len(entries))
                    )
                elif prop[:-2] in props:
                    problems.append(
                        source_problem(
                            file,
                            (*ppath, prop[:-2]),
                            loaded.spans.get((*ppath, prop[:-2])),
                            f"{prop[:-2]} of {logical_id!r} is not a list of policies",
                        )
                    )
            elif prop in props:
                targets.append(((*ppath, prop), kind))
            else:
                problems.append(
                    source_problem(
                        file,
                        ppath,
                        loaded.spans.get(ppath),
                        f"{rtype} {logical_id!r} has no {prop}",
                    )
                )
        for path, kind in targets:
            name = format_path(path)
            if at(template, path[:-1]) is not None and not isinstance(
                at(template, path[:-1]), dict
            ):
                problems.append(
                    source_problem(
                        file,
                        path[:-1],
                        nearest_span(loaded.spans, path[:-1]),
                        "a policy entry must be a mapping with a PolicyDocument",
                    )
                )
                continue
            raw = at(template, path)
            if raw is None:
                problems.append(
                    source_problem(
                        file,
                        path[:-1],
                        nearest_span(loaded.spans, path[:-1]),
                        "policy entry has no PolicyDocument",
                    )
                )
                continue
            sub = subtree(loaded, path, raw)
            notes = Notes(file, name)
            value = _Resolver(notes, sub).value(raw, ())
            policies.append(
                SourcePolicy(
                    file=file,
                    name=name,
                    format="cloudformation",
                    kind=kind,
                    loaded=LoadedJson(value, sub.spans, sub.duplicates),
                    attached_to=tuple(dict.fromkeys(attached)),
                    symbolic=tuple(notes.notes),
                )
            )
    return Extraction("cloudformation", tuple(policies), tuple(problems))


def _pos(line: int, column: int) -> Span | None:
    return Span(line, column, line, column) if line else None
