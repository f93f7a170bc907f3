"""What a diff or a check answers: differences with their witness requests, and the parts it
could not decide exactly. Text for people, `to_dict` for JSON (Access Analyzer's names where
they exist: ``result`` PASS/FAIL, ``message``, ``reasons`` with ``statementId`` and
``statementIndex``; https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoNewAccess.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lspolicy.model.decision import Decision, StatementRef
from lspolicy.model.request import Request

__all__ = [
    "CheckResult",
    "DiffResult",
    "Difference",
    "Direction",
    "Undecided",
    "Witness",
]

Direction = Literal["new-access", "removed-access"]
ContextValue = str | tuple[str, ...]

_PRINCIPAL_KEYS = (
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:username",
    "aws:userid",
)


def _kind(key: str) -> str:
    low = key.lower()
    if low.startswith("aws:resourcetag/"):
        return "tags"
    if low.startswith("aws:principaltag/") or low in _PRINCIPAL_KEYS:
        return "principal"
    return "context"


def _show(value: ContextValue) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return f'"{value}"'


@dataclass(frozen=True, slots=True)
class Witness:
    """A concrete request: action, resource, and the context keys it carries (original case)."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    @property
    def request(self) -> Request:
        """The `lspolicy.Request` (no caller ARN: a principal of the resource's own account)."""
        ctx = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.context.items()}
        return Request(self.action, self.resource, ctx)

    def part(self, kind: str) -> dict[str, ContextValue]:
        """``tags`` (the resource's ``aws:ResourceTag/<k>``), ``principal`` (who calls) or
        ``context`` (everything else)."""
        return {k: v for k, v in self.context.items() if _kind(k) == kind}

    @property
    def tags(self) -> dict[str, ContextValue]:
        """The resource's tags, by tag key."""
        return {k.split("/", 1)[1]: v for k, v in self.part("tags").items()}

    @property
    def notes(self) -> tuple[str, ...]:
        """Where the context tells a different story from the resource ARN. The diff ranges
        over every request the engine can be asked (context keys are independent), but AWS
        sets ``aws:RequestedRegion`` to the region called, and identity policies alone do not
        reach resources of another account: such a witness shows what the policies say, not a
        request AWS would send."""
        parts = self.resource.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return ()
        lower = {k.lower(): v for k, v in self.context.items()}
        out: list[str] = []
        region = lower.get("aws:requestedregion")
        if isinstance(region, str) and parts[3] and region != parts[3]:
            out.append(
                f'aws:RequestedRegion "{region}" is not the resource\'s region "{parts[3]}"'
                " (AWS sets it to the region called)"
            )
        account = lower.get("aws:principalaccount")
        arn = lower.get("aws:principalarn")
        if account is None and isinstance(arn, str) and arn.count(":") >= 5:
            account = arn.split(":", 5)[4]
        if isinstance(account, str) and parts[4] and account != parts[4]:
            out.append(
                f'the caller\'s account "{account}" is not the resource\'s "{parts[4]}"'
                " (identity policies alone do not grant access across accounts)"
            )
        return tuple(out)

    def lines(self) -> list[str]:
        """The request, one aspect a line."""
        out = [f"{self.action} on {self.resource}"]
        tags = self.tags
        if tags:
            out.append("tags: " + ", ".join(f"{k}={_show(v)}" for k, v in tags.items()))
        for kind in ("principal", "context"):
            part = self.part(kind)
            if part:
                out.append(f"{kind}: " + ", ".join(f"{k}={_show(v)}" for k, v in part.items()))
        if not self.context:
            out.append("context: (none)")
        out.extend(f"note: {n}" for n in self.notes)
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""

        def plain(v: ContextValue) -> object:
            return list(v) if isinstance(v, tuple) else v

        return {
            "action": self.action,
            "resource": self.resource,
            "tags": {k: plain(v) for k, v in self.tags.items()},
            "principal": {k: plain(v) for k, v in self.part("principal").items()},
            "context": {k: plain(v) for k, v in self.context.items()},
            "notes": list(self.notes),
        }


def _where(ref: StatementRef) -> str:
    line = f" (line {ref.span.line})" if ref.span is not None else ""
    return f"{ref.label}{line}"


def _reason(ref: StatementRef) -> dict[str, object]:
    return {
        "policy": ref.policy,
        "statementId": ref.sid,
        "statementIndex": ref.index,
        "effect": ref.effect,
        "line": ref.span.line if ref.span is not None else None,
    }


def _side_text(decision: Decision, refs: Sequence[StatementRef]) -> str:
    if decision.decision == "allowed":
        return "allowed by " + ", ".join(_where(r) for r in refs)
    if decision.decision == "explicitDeny":
        return "explicitly denied by " + ", ".join(_where(r) for r in refs)
    reason = decision.reason.replace(
        "no identity-based or resource-based policy allows it", "no statement allows it"
    )
    if not decision.near_misses:
        return f"{reason} (none names this action)"
    near = decision.near_misses[0]
    why = []
    if not near.resource_matched:
        why.append("the resource does not match")
    for failed in near.failed_conditions:
        got = "absent" if failed.actual is None else ", ".join(f'"{v}"' for v in failed.actual)
        want = ", ".join(f'"{v}"' for v in failed.values)
        why.append(f"{failed.operator} {failed.key} {want} fails (request: {got})")
    because = f": {'; '.join(why)}" if why else ""
    rest = f" (and {len(refs) - 1} more)" if len(refs) > 1 else ""
    return f"{reason}; closest: {_where(near.statement)}{because}{rest}"


@dataclass(frozen=True, slots=True)
class Difference:
    """One kind of access one side grants and the other does not, proven by ``witness``."""

    direction: Direction
    actions: tuple[str, ...]
    """Every action with this difference (the witness uses the first one shown)."""
    witness: Witness
    old_decision: Decision
    new_decision: Decision
    old_statements: tuple[StatementRef, ...]
    """The statements behind OLD's decision: the allows or denies that applied, or for an
    implicit deny the allow statements that did not apply."""
    new_statements: tuple[StatementRef, ...]

    @property
    def description(self) -> str:
        """One line: what changes, for which actions."""
        what = (
            "NEW allows, OLD denies" if self.direction == "new-access" else "OLD allows, NEW denies"
        )
        more = f" (and {len(self.actions) - 1} more actions)" if len(self.actions) > 1 else ""
        return f"{what}: {self.witness.action}{more}"

    def lines(self, old_name: str = "OLD", new_name: str = "NEW") -> list[str]:
        """The difference for a person: witness, then each side's decision and statements."""
        sign = "+" if self.direction == "new-access" else "-"
        out = [f"{sign} {self.description}"]
        if len(self.actions) > 1:
            shown = ", ".join(self.actions[:8]) + (", ..." if len(self.actions) > 8 else "")
            out.append(f"    actions: {shown}")
        request = self.witness.lines()
        out.append(f"    request: {request[0]}")
        out.extend(f"             {line}" for line in request[1:])
        out.append(f"    {new_name}: {_side_text(self.new_decision, self.new_statements)}")
        out.append(f"    {old_name}: {_side_text(self.old_decision, self.old_statements)}")
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "direction": self.direction,
            "description": self.description,
            "actions": list(self.actions),
            "witness": self.witness.to_dict(),
            "old": {
                "decision": self.old_decision.decision,
                "statements": [_reason(r) for r in self.old_statements],
            },
            "new": {
                "decision": self.new_decision.decision,
                "statements": [_reason(r) for r in self.new_statements],
            },
        }


@dataclass(frozen=True, slots=True)
class Undecided:
    """A part of the comparison the diff could not decide exactly, and why."""

    actions: tuple[str, ...]
    direction: Direction
    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        """``cannot decide exactly: <construct>``."""
        return "cannot decide exactly: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "direction": self.direction,
            "actions": list(self.actions),
            "reasons": list(self.reasons),
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class DiffResult:
    """Every difference between OLD and NEW, and what could not be decided."""

    differences: tuple[Difference, ...]
    undecided: tuple[Undecided, ...] = ()
    groups: int = 0
    """How many groups of actions were compared."""

    @property
    def new_access(self) -> tuple[Difference, ...]:
        """Requests NEW allows and OLD denies."""
        return tuple(d for d in self.differences if d.direction == "new-access")

    @property
    def removed_access(self) -> tuple[Difference, ...]:
        """Requests OLD allows and NEW denies."""
        return tuple(d for d in self.differences if d.direction == "removed-access")

    @property
    def exact(self) -> bool:
        """Whether every part was decided (so an empty list of differences is a proof)."""
        return not self.undecided

    @property
    def summary(self) -> str:
        """``NEW grants 2 new kinds of access, removes 1`` (or ``no difference``)."""
        added, removed = len(self.new_access), len(self.removed_access)
        if not added and not removed:
            text = "no difference: OLD and NEW allow exactly the same requests"
            return text if self.exact else "no difference found, but not every part was decided"
        text = (
            f"NEW grants {_plural(added, 'new kind')} of access, removes {removed}"
            if added
            else f"NEW grants no new access, removes {_plural(removed, 'kind')} of access"
        )
        return text if self.exact else text + " (some parts undecided)"

    def lines(self, old_name: str = "OLD", new_name: str = "NEW") -> list[str]:
        """The whole result for a person."""
        out = [self.summary]
        for d in self.differences:
            out.append("")
            out.extend(d.lines(old_name, new_name))
        for u in self.undecided:
            out.append("")
            shown = ", ".join(u.actions[:5]) + (", ..." if len(u.actions) > 5 else "")
            out.append(f"? {u.direction} for {shown}: {u.message}")
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "summary": self.summary,
            "exact": self.exact,
            "new_access": len(self.new_access),
            "removed_access": len(self.removed_access),
            "differences": [d.to_dict() for d in self.differences],
            "undecided": [u.to_dict() for u in self.undecided],
        }


CheckName = Literal["no-new-access", "access-not-granted"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A CI check's verdict: PASS, FAIL (with the counterexample) or UNKNOWN."""

    check: CheckName
    result: Literal["PASS", "FAIL", "UNKNOWN"]
    message: str
    counterexample: Difference | None = None
    undecided: tuple[Undecided, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 PASS, 1 FAIL, 2 UNKNOWN (as lspolicy's other commands use them)."""
        return {"PASS": 0, "FAIL": 1, "UNKNOWN": 2}[self.result]

    @property
    def reasons(self) -> tuple[StatementRef, ...]:
        """The statements that grant the access (for a FAIL)."""
        if self.counterexample is None:
            return ()
        return self.counterexample.new_statements

    def lines(self, old_name: str = "OLD", new_name: str = "NEW") -> list[str]:
        """The verdict for a person."""
        out = [f"{self.result}: {self.message}"]
        if self.counterexample is not None:
            out.extend(self.counterexample.lines(old_name, new_name)[1:])
        for u in self.undecided:
            out.append(f"    {u.message}")
        return out

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form, with Access Analyzer's field names."""
        return {
            "check": self.check,
            "result": self.result,
            "message": self.message,
            "reasons": [
                {**_reason(r), "description": f"{r.label} allows the access"} for r in self.reasons
            ],
            "counterexample": None
            if self.counterexample is None
            else self.counterexample.to_dict(),
            "undecided": [u.to_dict() for u in self.undecided],
        }
