"""Policy test files (``*.lspolicy-test.yaml``): principals, instances, and expected decisions.

A test file sits next to the policies it exercises and names them by path, relative to itself::

    principals:
      alice:
        arn: arn:aws:iam::111122223333:user/alice
        tags: {team: web}
        policies: [team-operators.json]
        boundary: [boundary.json]          # optional permissions boundary
    instances:
      web-dev:
        id: 8a831817-4d64-4fa6-913c-513a42f8eda1
        region: us-east-1
        account: "111122223333"
        tags: {env: dev, team: web}
    cases:
      - name: alice stops her team's dev instance
        principal: alice
        action: lightsail:StopInstance
        instance: web-dev
        context: {aws:MultiFactorAuthPresent: "true"}
        expect: allowed                    # allowed | explicitDeny | implicitDeny | denied
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lspolicy.errors import Location, PolicyParseError, Problem
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.lightsail.context import Identity, Instance, instance_request
from lspolicy.model.decision import Decision
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.model.request import Request
from lspolicy.parse import parse_policy
from lspolicy.parse.jsonpos import LoadedJson, format_path
from lspolicy.paths import named_path_problem
from lspolicy.textfile import MAX_INPUT_BYTES, read_bounded
from lspolicy.yamlpos import YamlError, load_yaml

__all__ = [
    "CaseFile",
    "CaseResult",
    "CaseSpec",
    "LoadedCases",
    "load_case_file",
    "run_case",
    "run_cases",
]

Expectation = Literal["allowed", "explicitDeny", "implicitDeny", "denied"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class PrincipalSpec(_Model):
    """A principal and the policies attached to it (paths relative to the test file)."""

    arn: str
    tags: dict[str, str] = Field(default_factory=dict)
    policies: list[str] = Field(default_factory=list)
    boundary: list[str] | None = None


class InstanceSpec(_Model):
    """A Lightsail instance: its id, region, account and tags."""

    id: str
    region: str
    account: str
    tags: dict[str, str] = Field(default_factory=dict)


class CaseSpec(_Model):
    """One request and the decision it must get."""

    name: str
    principal: str
    action: str = "lightsail:StopInstance"
    instance: str
    context: dict[str, str | list[str]] = Field(default_factory=dict)
    expect: Expectation


class NeverSpec(_Model):
    """The requests a property forbids: all of the given constraints together."""

    actions: list[str] = Field(default_factory=lambda: ["lightsail:StopInstance"], min_length=1)
    resources: list[str] = Field(default_factory=list)
    """The instance's ARN matches one of these ARN patterns (e.g. ``arn:aws:lightsail:us-west-2:*``)."""
    tags: dict[str, str] = Field(default_factory=dict)
    """The instance carries these tags."""
    context: dict[str, str] = Field(default_factory=dict)
    """These request-context keys have these values."""
    without_mfa: bool = False
    """``aws:MultiFactorAuthPresent`` is ``false`` or absent (the two ways AWS says no MFA)."""


class PropertySpec(_Model):
    """A statement about *every* request, checked exactly by the semantic diff: the principal's
    policies allow no request that matches ``never``."""

    name: str
    principal: str
    never: NeverSpec


class CaseFile(_Model):
    """A whole test file."""

    principals: dict[str, PrincipalSpec]
    instances: dict[str, InstanceSpec] = Field(default_factory=dict)
    cases: list[CaseSpec] = Field(default_factory=list)
    properties: list[PropertySpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """A case, the request built for it, the decision, and whether it met its expectation."""

    case: CaseSpec
    request: Request
    decision: Decision

    @property
    def passed(self) -> bool:
        """Whether the decision is the expected one (``denied`` accepts either deny)."""
        if self.case.expect == "denied":
            return not self.decision.allowed
        return self.decision.decision == self.case.expect


@dataclass(frozen=True, slots=True)
class LoadedCases:
    """A parsed test file with its compiled policy sets and the policy texts (for quoting)."""

    path: Path
    spec: CaseFile
    policy_sets: Mapping[str, PolicySet]
    identities: Mapping[str, Identity]
    instances: Mapping[str, Instance]
    texts: Mapping[str, str]
    case_lines: tuple[int, ...] = ()
    """1-based line of each case in the test file (for annotations)."""
    policies: Mapping[str, tuple[tuple[Policy, ...], tuple[Policy, ...] | None]] = field(
        default_factory=dict
    )
    """Each principal's identity policies and boundary, as parsed (for properties)."""
    property_lines: tuple[int, ...] = ()


def _problem(path: Path, where: str, message: str) -> PolicyParseError:
    return PolicyParseError((Problem(message, Location(str(path), where, 0, 0), code="test-file"),))


def load_case_file(path: Path) -> LoadedCases:
    """Read and check a test file and every policy it names; raise `PolicyParseError` on any
    problem (unreadable file, invalid YAML, unknown names, malformed policies)."""
    try:
        # a regular file, bounded while read; a FIFO or /dev/zero is refused, not waited on
        source_text = read_bounded(path, MAX_INPUT_BYTES).decode("utf-8")
        # one pass of the shared bounded loader (aliases, depth, duplicate keys and tags
        # refused with a location); its spans give every line this module reports
        loaded = load_yaml(source_text)
    except OSError as exc:
        raise _problem(path, "", f"cannot read the test file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise _problem(path, "", f"the test file is not UTF-8 text ({exc.reason})") from None
    except YamlError as exc:
        raise PolicyParseError(
            (
                Problem(
                    f"invalid YAML: {exc.message}",
                    Location(str(path), format_path(exc.path), exc.line, exc.column),
                ),
            )
        ) from None
    raw = loaded.value
    locate = _locator(loaded)
    try:
        spec = CaseFile.model_validate(raw)
    except ValidationError as exc:
        found = tuple(
            Problem(
                err["msg"].lower(),
                Location(
                    str(path),
                    ".".join(str(p) for p in err["loc"]),
                    *locate(tuple(p for p in err["loc"] if isinstance(p, str | int))),
                ),
                code="test-file",
            )
            for err in exc.errors()
        )
        raise PolicyParseError(found) from None
    problems: list[Problem] = []
    texts: dict[str, str] = {}
    parsed: dict[tuple[str, PolicyKind], Policy] = {}

    def policy(rel: str, kind: PolicyKind) -> Policy | None:
        file = path.parent / rel
        key = (str(file), kind)
        if key in parsed:
            return parsed[key]
        outside = named_path_problem(rel, path)
        if outside is not None:
            problems.append(Problem(outside, Location(str(path), "", 0, 0), code="test-file"))
            return None
        try:
            text = read_bounded(file, MAX_INPUT_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = (
                f"cannot read policy {rel!r}: {exc.strerror}"
                if isinstance(exc, OSError)
                else f"policy {rel!r} is not UTF-8 text (byte {exc.start}: {exc.reason})"
            )
            problems.append(Problem(why, Location(str(path), "", 0, 0), code="test-file"))
            return None
        texts[str(file)] = text
        try:
            parsed[key] = parse_policy(text, source=str(file), kind=kind)
        except PolicyParseError as exc:
            problems.extend(exc.problems)
            return None
        return parsed[key]

    sets: dict[str, PolicySet] = {}
    parsed_sets: dict[str, tuple[tuple[Policy, ...], tuple[Policy, ...] | None]] = {}
    identities: dict[str, Identity] = {}
    for name, p in spec.principals.items():
        identity = [policy(rel, "identity") for rel in p.policies]
        boundary = None if p.boundary is None else [policy(rel, "boundary") for rel in p.boundary]
        identities[name] = Identity(p.arn, p.tags)
        if all(x is not None for x in identity) and (
            boundary is None or all(x is not None for x in boundary)
        ):
            ident_ok = tuple(x for x in identity if x is not None)
            bound_ok = None if boundary is None else tuple(x for x in boundary if x is not None)
            sets[name] = PolicySet(ident_ok, boundary=bound_ok)
            parsed_sets[name] = (ident_ok, bound_ok)
    instances = {
        name: Instance(id=i.id, region=i.region, account=i.account, name=name, tags=i.tags)
        for name, i in spec.instances.items()
    }
    problems.extend(_name_problems(path, spec, locate))
    if problems:
        raise PolicyParseError(tuple(problems))
    return LoadedCases(
        path, spec, sets, identities, instances, texts, _lines(loaded, "cases"), parsed_sets,
        _lines(loaded, "properties"),
    )  # fmt: skip


_Locate = Callable[[tuple[str | int, ...]], tuple[int, int]]


def _locator(loaded: LoadedJson) -> _Locate:
    """Line and column (1-based) of the YAML value at a path of keys and indexes; where the path
    stops short (a key left to its default), the deepest value found."""

    def locate(path: tuple[str | int, ...]) -> tuple[int, int]:
        for end in range(len(path), -1, -1):
            span = loaded.spans.get(path[:end])
            if span is not None:
                return (span.line, span.column)
        return (0, 0)

    return locate


def _name_problems(path: Path, spec: CaseFile, locate: _Locate) -> list[Problem]:
    """Every name in the cases and properties that points at nothing: an unknown principal or
    instance, an action no service has, a malformed resource ARN. Each would make a verdict
    vacuous (an implicitDeny for a typo), so each is an error, located in the test file."""
    from lspolicy.gate.known import (  # noqa: PLC0415 - the gate imports this module
        malformed_arn_problem,
        unknown_action_problem,
    )

    out: list[Problem] = []

    def add(where: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        line, column = locate(where)
        label = ".".join(f"[{p}]" if isinstance(p, int) else p for p in where).replace(".[", "[")
        out.append(Problem(message, Location(str(path), label, line, column), hint, "test-file"))

    for n, case in enumerate(spec.cases):
        if case.principal not in spec.principals:
            add(
                ("cases", n, "principal"),
                f"case {case.name!r} names unknown principal {case.principal!r}",
            )
        if case.instance not in spec.instances:
            known = ", ".join(repr(i) for i in spec.instances) or "none"
            add(
                ("cases", n, "instance"),
                f"case {case.name!r} names instance {case.instance!r}, which is not in the "
                "file's instances",
                f"instances defined: {known}",
            )
        bad = unknown_action_problem(case.action)
        if bad is not None:
            add(("cases", n, "action"), f"case {case.name!r}: {bad[0]}", bad[1])
    for n, prop in enumerate(spec.properties):
        if prop.principal not in spec.principals:
            add(
                ("properties", n, "principal"),
                f"property {prop.name!r} names unknown principal {prop.principal!r}",
            )
        for i, action in enumerate(prop.never.actions):
            bad = unknown_action_problem(action)
            if bad is not None:
                add(
                    ("properties", n, "never", "actions", i),
                    f"property {prop.name!r}: {bad[0]}",
                    bad[1],
                )
        for i, arn in enumerate(prop.never.resources):
            bad = malformed_arn_problem(arn)
            if bad is not None:
                add(
                    ("properties", n, "never", "resources", i),
                    f"property {prop.name!r}: {bad[0]}",
                    bad[1],
                )
    return out


def _lines(loaded: LoadedJson, section: str) -> tuple[int, ...]:
    items = loaded.value.get(section) if isinstance(loaded.value, dict) else None
    if not isinstance(items, list):
        return ()
    return tuple(
        span.line if (span := loaded.spans.get((section, i))) is not None else 0
        for i in range(len(items))
    )


def run_case(loaded: LoadedCases, case: CaseSpec) -> CaseResult:
    """Evaluate one case of a loaded test file."""
    request = instance_request(
        case.action,
        loaded.instances[case.instance],
        loaded.identities[case.principal],
        context=case.context,
    )
    return CaseResult(case, request, loaded.policy_sets[case.principal].evaluate(request))


def run_cases(loaded: LoadedCases) -> list[CaseResult]:
    """Evaluate every case of a loaded test file."""
    return [run_case(loaded, case) for case in loaded.spec.cases]


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """A property and the diff's verdict: PASS, FAIL (with the request that breaks it) or
    UNKNOWN (the diff could not decide exactly; never counted as a pass)."""

    prop: PropertySpec
    result: str
    message: str
    lines: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Only an exact PASS passes."""
        return self.result == "PASS"


def _escape(value: str) -> str:
    """A literal for policy text: ``${$}``, ``${*}``, ``${?}`` stand for the characters."""
    return "".join({"$": "${$}", "*": "${*}", "?": "${?}"}.get(ch, ch) for ch in value)


def _specialise(policy: Policy, values: Mapping[str, str], original: str | None) -> Policy:
    """``policy`` with the policy variables of ``values`` (lower-case keys) replaced by their
    values: what the engine substitutes for this principal on every request, done once. The
    substitution is made in the original text when there is one, so line numbers still point
    at the policy file (values hold no line breaks)."""
    if not policy.substitutes_variables:
        return policy
    text = original if original is not None else json.dumps(policy.to_json())

    def replace(match: re.Match[str]) -> str:
        key = match.group(1).strip().lower()
        return _escape(values[key]) if key in values else match.group(0)

    return parse_policy(
        _VARIABLE.sub(replace, text), source=policy.source, kind=policy.kind, max_size=0
    )


_VARIABLE = re.compile(r"\$\{([^},]+)(?:,[^}]*)?\}")


def run_property(loaded: LoadedCases, prop: PropertySpec) -> PropertyResult:
    """Check one property exactly with the semantic diff (`lspolicy.diff`): no request for the
    actions, on the resources and tags given, with the context given, is allowed.

    The property is about this principal: its own keys (tags, ARN, username, type) are fixed
    to its values — substituted into its policies' variables, and fixed in the request context
    for its conditions — and principal keys the policies read that it lacks are fixed absent.
    ``without_mfa`` is asked twice, with ``aws:MultiFactorAuthPresent`` absent and ``false``,
    the two ways AWS reports a request without MFA
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent).
    """
    from lspolicy.diff import check_access_not_granted  # noqa: PLC0415 - heavy to import

    identity, boundary = loaded.policies[prop.principal]
    caller = loaded.identities[prop.principal]
    own = {k: v for k, v in caller.context().items() if isinstance(v, str)}
    values = {k.lower(): v for k, v in own.items()}
    texts = loaded.texts
    policies = [_specialise(p, values, texts.get(p.source)) for p in identity]
    bounds = (
        None
        if boundary is None
        else [_specialise(p, values, texts.get(p.source)) for p in boundary]
    )
    pinned: dict[str, str | None] = dict(own)
    read = {
        key for st in loaded.policy_sets[prop.principal].statements() for key in st.condition_keys
    }
    principal_keys = ("aws:principaltag/", "aws:username", "aws:principalarn", "aws:userid")
    for key in sorted(read):
        if key.startswith(principal_keys) and key not in values:
            pinned[key] = None
    never = prop.never
    pinned.update(never.context)
    mfa_cases: list[str | None] = [None, "false"] if never.without_mfa else []
    questions = [{**pinned, "aws:MultiFactorAuthPresent": v} for v in mfa_cases] or [pinned]
    verdicts = []
    for context in questions:
        result = check_access_not_granted(
            policies, actions=never.actions, boundary=bounds,
            resources=never.resources or None, tags=never.tags or None, context=context,
        )  # fmt: skip
        verdicts.append(result)
        if result.result == "FAIL":
            break
    worst = next((r for r in verdicts if r.result == "FAIL"), None) or next(
        (r for r in verdicts if r.result != "PASS"), verdicts[0]
    )
    verdict = {"PASS": "PASS", "FAIL": "FAIL"}.get(worst.result, "UNKNOWN")
    return PropertyResult(prop, verdict, worst.message, tuple(worst.lines(new_name=prop.principal)))


def run_properties(loaded: LoadedCases) -> list[PropertyResult]:
    """Check every property of a loaded test file."""
    return [run_property(loaded, p) for p in loaded.spec.properties]
