"""The guard property: with any other Allow attached, nothing an exclusion names is allowed.

An exclusion is meant to hold "whatever other policies say" (an explicit Deny wins over every
Allow: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
so each principal's generated policies must deny, on their own, every request the exclusion
names. The proof (`lspolicy.generate.prove`) compares the policies with the intent on sampled
requests; this check decides the guard *exactly*, with the semantic diff
(`lspolicy.diff.check_access_not_granted`), which searches every request.

The question for each principal selector and each exclusion: is some request of the excluded
set E allowed by that selector's policies with ``{"Effect": "Allow", "Action": "*",
"Resource": "*"}`` attached? An Allow of everything makes the policies' own Allows irrelevant,
so a request of E is allowed exactly when none of the policies' Deny statements applies to
it. The diff is therefore asked about the Deny statements together with one Allow whose scope
is exactly E, written here from the exclusion (not by `lspolicy.generate.build`): its actions
(default: every action some grant gives), its regions and ids as Resource ARNs, its principal
and instance tag selectors, and — when it has ``unless`` — one question per requirement, with
that requirement failing (E holds when any of them fails). "Nothing allowed" for every
question is the guard.

An answer the diff cannot reach exactly (UNKNOWN) is not counted as holding.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lspolicy.errors import Location, Problem
from lspolicy.generate import request_keys
from lspolicy.generate.build import Generation, literal
from lspolicy.generate.intent import (
    Exclusion,
    Intent,
    Requirements,
    TagMatch,
    instance_actions,
    iso,
)
from lspolicy.model.policy import VERSION_2012, Policy
from lspolicy.parse import parse_policy

__all__ = ["GuardFinding", "GuardReport", "check_guard"]

EVERYTHING: dict[str, Any] = {"Effect": "Allow", "Action": "*", "Resource": "*"}
"""The other Allow the guard assumes attached."""


@dataclass(frozen=True, slots=True)
class GuardFinding:
    """One question whose answer is not "nothing allowed"."""

    exclusion: str
    policies: tuple[str, ...]
    result: str
    """``FAIL`` (a request of the exclusion is allowed) or ``UNKNOWN``."""
    lines: tuple[str, ...]
    location: Location

    def problem(self) -> Problem:
        """The finding as a located problem."""
        what = "is allowed" if self.result == "FAIL" else "could not be decided exactly"
        return Problem(
            f"with any other Allow attached, a request exclusion {self.exclusion} names {what} "
            f"by {', '.join(self.policies)}",
            self.location,
            hint="\n".join(self.lines) or None,
            code="guard",
        )


@dataclass(frozen=True, slots=True)
class GuardReport:
    """The guard's verdict over every principal selector and exclusion."""

    questions: int
    findings: tuple[GuardFinding, ...] = field(default=())

    @property
    def exact(self) -> bool:
        """Every question was decided exactly."""
        return all(f.result != "UNKNOWN" for f in self.findings)

    @property
    def holds(self) -> bool:
        """Decided exactly and no excluded request is allowed."""
        return not self.findings

    def render(self) -> str:
        """``guard: exact, holds`` or the findings."""
        if not self.findings:
            return f"guard: exact, holds ({self.questions} questions)"
        head = "exact" if self.exact else "not exact"
        lines = [f"guard: {head}, does not hold"]
        lines += [f"  {f.problem()}" for f in self.findings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """For ``--format json``."""
        return {
            "exact": self.exact,
            "holds": self.holds,
            "questions": self.questions,
            "findings": [str(f.problem()) for f in self.findings],
        }


# --------------------------------------------------------------------------- E as an Allow

Conditions = dict[str, dict[str, list[str]]]


def _tag(conditions: Conditions, key: str, m: TagMatch) -> None:
    """Conditions that hold exactly when selector ``m`` does (see the semantics module)."""

    def put(operator: str, values: list[str]) -> None:
        conditions.setdefault(operator, {})[key] = values

    ignore = "IgnoreCase" if m.case_insensitive else ""
    if m.kind in ("equals", "one_of"):
        put(f"StringEquals{ignore}", [literal(v) for v in m.values])
    elif m.kind == "not_one_of":
        put(f"StringNotEquals{ignore}", [literal(v) for v in m.values])
        put("Null", ["false"])
    elif m.kind == "present":
        put("Null", ["false"])
    elif m.kind == "prefix":
        put("StringLike", [literal(m.values[0]) + "*"])
    else:
        put("StringEquals", ["${aws:PrincipalTag/" + m.values[0] + "}"])


def _failing(req: Requirements) -> list[tuple[str, str, list[str]]]:
    """One condition per requirement, true exactly when that requirement fails (a missing key
    fails it: ``...IfExists`` and negated operators are true for a missing key,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists)."""
    out: list[tuple[str, str, list[str]]] = []
    if req.mfa:
        out.append(("BoolIfExists", "aws:MultiFactorAuthPresent", ["false"]))
    if req.source_ip:
        out.append(("NotIpAddress", "aws:SourceIp", list(req.source_ip)))
    if req.not_before:
        out.append(("DateLessThanIfExists", "aws:CurrentTime", [iso(req.not_before)]))
    if req.not_after:
        out.append(("DateGreaterThanIfExists", "aws:CurrentTime", [iso(req.not_after)]))
    # the request keys' table states each one's failing condition once, for build and here;
    # the exact proof holds those conditions to the intent's own reading
    out += [(op, key, values) for _suffix, op, key, values in request_keys.unmet(req)]
    return out


def _actions(intent: Intent, exclusion: Exclusion) -> list[str]:
    actions = exclusion.actions if exclusion.actions is not None else intent.granted_actions()
    return list(instance_actions()) if actions.every else list(actions.names)


def _excluded(intent: Intent, exclusion: Exclusion) -> list[tuple[list[str], dict[str, Any]]]:
    """``(actions, Allow statement)`` per question: together they allow exactly E."""
    actions = _actions(intent, exclusion)
    resources = sorted(
        f"arn:aws:lightsail:{region}:{intent.account}:Instance/{instance}"
        for region in (exclusion.regions or ("*",))
        for instance in (exclusion.instances.ids or ("*",))
    )
    base: Conditions = {}
    if exclusion.principals is not None:
        if exclusion.principals.arns:
            base["StringEquals"] = {
                "aws:PrincipalArn": [literal(a) for a in exclusion.principals.arns]
            }
        for m in exclusion.principals.tags:
            _tag(base, f"aws:PrincipalTag/{m.key}", m)
    for m in exclusion.instances.tags:
        _tag(base, f"aws:ResourceTag/{m.key}", m)
    branches: list[tuple[str, str, list[str]] | None] = [*_failing(exclusion.unless)] or [None]
    out = []
    for branch in branches:
        conditions = {op: dict(block) for op, block in base.items()}
        if branch is not None:
            operator, key, values = branch
            conditions.setdefault(operator, {})[key] = values
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Action": actions,
            "Resource": resources,
        }
        if conditions:
            statement["Condition"] = conditions
        out.append((actions, statement))
    return out


def _policy(statements: Sequence[dict[str, Any]], source: str) -> Policy:
    text = json.dumps({"Version": VERSION_2012, "Statement": list(statements)})
    return parse_policy(text, source=source, kind="identity", max_size=0)


def check_guard(generation: Generation) -> GuardReport:
    """Decide the guard for every principal selector's policies and every exclusion."""
    from lspolicy.diff import check_access_not_granted  # noqa: PLC0415 - heavy to import

    intent = generation.intent
    findings: list[GuardFinding] = []
    questions = 0
    for _group, parts in generation.groups().items():
        denies = [
            dict(st) for p in parts for st in p.document["Statement"] if st["Effect"] == "Deny"
        ]
        names = tuple(p.name for p in parts)
        for exclusion in intent.exclusions:
            for actions, allow in _excluded(intent, exclusion):
                questions += 1
                policies = [_policy([allow], "excluded.json")]
                if denies:
                    policies.insert(0, _policy(denies, f"{names[0]}.policy.json"))
                result = check_access_not_granted(policies, actions=actions)
                if result.result != "PASS":
                    findings.append(
                        GuardFinding(
                            exclusion=exclusion.sid,
                            policies=names,
                            result=result.result,
                            lines=tuple(result.lines(new_name=names[0])),
                            location=Location(intent.source, exclusion.path, 0, 0),
                        )
                    )
    return GuardReport(questions=questions, findings=tuple(findings))
