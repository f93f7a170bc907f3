"""Typed, frozen model of an IAM policy document.

Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
Strings-or-lists are normalised once, here, into tuples; everything downstream reads the model.
The model keeps the source span of each statement (for ``MatchedStatements`` and explanations).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "VERSION_2008",
    "VERSION_2012",
    "Condition",
    "Effect",
    "Policy",
    "PolicyKind",
    "Principal",
    "SourceSpan",
    "Statement",
]

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"

Effect = Literal["Allow", "Deny"]
PolicyKind = Literal["identity", "resource", "boundary", "session", "scp"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceSpan(_Frozen):
    """1-based line/column where an element starts and ends in its policy's text."""

    line: int
    column: int
    end_line: int
    end_column: int


class Principal(_Frozen):
    """A ``Principal``/``NotPrincipal`` element: ``"*"`` or principals by type.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    """

    wildcard: bool = False
    """The bare string ``"*"`` (everyone, including anonymous callers)."""
    entries: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(type, values)`` pairs in document order: ``AWS``, ``Service``, ``Federated``..."""

    def values(self, kind: str) -> tuple[str, ...]:
        """The values given for one principal type (``AWS``, ``Service``...)."""
        for k, vals in self.entries:
            if k == kind:
                return vals
        return ()

    def to_json(self) -> object:
        """The JSON form (always lists for values)."""
        if self.wildcard:
            return "*"
        return {k: list(v) for k, v in self.entries}


class Condition(_Frozen):
    """One ``operator: {key: values}`` entry of a ``Condition`` block.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """

    operator: str
    key: str
    values: tuple[str, ...]
    span: SourceSpan | None = None


class Statement(_Frozen):
    """One statement; exactly one of ``actions``/``not_actions``, and of resources likewise."""

    index: int
    effect: Effect
    sid: str | None = None
    principal: Principal | None = None
    not_principal: Principal | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    conditions: tuple[Condition, ...] = ()
    span: SourceSpan | None = None

    @property
    def label(self) -> str:
        """How a person names this statement: its Sid, or its position."""
        return self.sid if self.sid is not None else f"Statement[{self.index}]"

    def to_json(self) -> dict[str, object]:
        """The JSON form, elements in AWS's conventional order, values always as lists."""
        out: dict[str, object] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect
        if self.principal is not None:
            out["Principal"] = self.principal.to_json()
        if self.not_principal is not None:
            out["NotPrincipal"] = self.not_principal.to_json()
        for name, value in (
            ("Action", self.actions),
            ("NotAction", self.not_actions),
            ("Resource", self.resources),
            ("NotResource", self.not_resources),
        ):
            if value is not None:
                out[name] = list(value)
        if self.conditions:
            block: dict[str, dict[str, list[str]]] = {}
            for cond in self.conditions:
                block.setdefault(cond.operator, {})[cond.key] = list(cond.values)
            out["Condition"] = block
        return out


class Policy(_Frozen):
    """A parsed policy document with the name of its source (file path or input label)."""

    source: str = "<input>"
    kind: PolicyKind = "identity"
    version: str | None = None
    id: str | None = None
    statements: tuple[Statement, ...] = ()

    @property
    def substitutes_variables(self) -> bool:
        """Policy variables are replaced only under Version 2012-10-17.

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
        """
        return self.version == VERSION_2012

    def to_json(self) -> dict[str, object]:
        """The JSON document (``Statement`` always a list)."""
        out: dict[str, object] = {}
        if self.version is not None:
            out["Version"] = self.version
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [s.to_json() for s in self.statements]
        return out
