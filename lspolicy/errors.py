"""Errors as data: every problem carries where it is and what is wrong.

One base error, one subclass per stage. A stage collects every problem it finds and raises one
error listing them all (habit 6 in STYLE.md), so a user fixes a policy in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ContextValueError",
    "InvalidInputError",
    "Location",
    "LspolicyError",
    "MalformedPolicyDocumentError",
    "PolicyParseError",
    "Problem",
    "SimulatorError",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is: the policy's source, the JSON path, and 1-based line and column."""

    source: str
    path: str
    line: int
    column: int

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}" if self.line else self.source
        return f"{where}: {self.path}" if self.path else where


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, with an actionable message and an optional hint."""

    message: str
    location: Location
    hint: str | None = None
    code: str = "parse"

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form for machine-readable reports."""
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "source": self.location.source,
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
        }


class LspolicyError(Exception):
    """Base of every error lspolicy raises on purpose."""


class ContextValueError(LspolicyError, TypeError):
    """A request-context value that IAM cannot compare: not a string, a number, a boolean or
    a sequence of them (``None``, a mapping, a set, bytes, a list holding one of those).
    ``key`` is the context key where the caller gave it (None where it is not known). A
    ``TypeError`` too, as Python raises for a value of the wrong type."""

    def __init__(self, value: object, key: str | None = None, *, in_list: bool = False) -> None:
        self.key = key
        self.kind = type(value).__name__
        """The type given (of the list's item, with ``in_list``)."""
        where = f"context key {key!r}: " if key is not None else "context value: "
        what = f"a list holding {self.kind}" if in_list else self.kind
        super().__init__(
            f"{where}a value must be a string, a number, a boolean or a list of them, not {what}"
        )


@dataclass(eq=False)
class PolicyParseError(LspolicyError):
    """A policy document could not be read; ``problems`` lists every problem found."""

    problems: tuple[Problem, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class SimulatorError(LspolicyError):
    """An error of the SimulateCustomPolicy contract, named as AWS names it (``code``)."""

    code = "ServiceFailure"

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems


class MalformedPolicyDocumentError(SimulatorError):
    """AWS's ``MalformedPolicyDocument``: a policy in the request is not a valid policy."""

    code = "MalformedPolicyDocument"


class InvalidInputError(SimulatorError):
    """AWS's ``InvalidInput``: a request parameter is missing or malformed."""

    code = "InvalidInput"
