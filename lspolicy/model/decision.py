"""The answer to a request: the decision, the statements that decided it, and why.

Decision names follow the IAM policy simulator (``allowed``, ``explicitDeny``, ``implicitDeny``):
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lspolicy.model.policy import PolicyKind, SourceSpan

__all__ = ["Decision", "DecisionName", "FailedCondition", "NearMiss", "StatementRef"]

DecisionName = Literal["allowed", "explicitDeny", "implicitDeny"]


@dataclass(frozen=True, slots=True)
class StatementRef:
    """Which statement: its policy (source name, kind, position in its layer) and place in it."""

    policy: str
    policy_kind: PolicyKind
    policy_index: int
    index: int
    sid: str | None
    effect: str
    span: SourceSpan | None

    @property
    def label(self) -> str:
        """``policy/Sid`` (or ``policy/Statement[i]``)."""
        return f"{self.policy}/{self.sid if self.sid is not None else f'Statement[{self.index}]'}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "policy": self.policy,
            "policy_kind": self.policy_kind,
            "statement_index": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "span": self.span.model_dump() if self.span else None,
        }


@dataclass(frozen=True, slots=True)
class FailedCondition:
    """A condition that did not hold: what it asked and what the request had."""

    operator: str
    key: str
    values: tuple[str, ...]
    actual: tuple[str, ...] | None
    span: SourceSpan | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "operator": self.operator,
            "key": self.key,
            "values": list(self.values),
            "actual": None if self.actual is None else list(self.actual),
            "span": self.span.model_dump() if self.span else None,
        }


@dataclass(frozen=True, slots=True)
class NearMiss:
    """An Allow statement whose action matched but which did not apply, and what failed."""

    statement: StatementRef
    resource_matched: bool
    principal_matched: bool
    failed_conditions: tuple[FailedCondition, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "statement": self.statement.to_dict(),
            "resource_matched": self.resource_matched,
            "principal_matched": self.principal_matched,
            "failed_conditions": [f.to_dict() for f in self.failed_conditions],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The decision for one request, with its explanation."""

    decision: DecisionName
    action: str
    resource: str
    matched: tuple[StatementRef, ...] = ()
    """For an explicit deny, the Deny statements that applied; for an allow, the Allow
    statements that applied in every layer that had to allow."""
    missing_context: tuple[str, ...] = ()
    allowed_by_organizations: bool | None = None
    allowed_by_boundary: bool | None = None
    allowed_by_session_policy: bool | None = None
    allowed_by_resource_policy: bool | None = None
    near_misses: tuple[NearMiss, ...] = ()
    reason: str = ""
    layers: dict[str, bool | None] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """True only for ``allowed``."""
        return self.decision == "allowed"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the ``lspolicy explain --format json`` output)."""
        return {
            "decision": self.decision,
            "action": self.action,
            "resource": self.resource,
            "reason": self.reason,
            "matched_statements": [m.to_dict() for m in self.matched],
            "missing_context": list(self.missing_context),
            "allowed_by_organizations": self.allowed_by_organizations,
            "allowed_by_boundary": self.allowed_by_boundary,
            "allowed_by_session_policy": self.allowed_by_session_policy,
            "allowed_by_resource_policy": self.allowed_by_resource_policy,
            "near_misses": [n.to_dict() for n in self.near_misses],
        }
