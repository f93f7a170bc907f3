"""How a value that cannot be known from the file alone is carried: a placeholder, and a note.

A policy read from terraform or CloudFormation may hold values decided only at deploy time
(``var.bucket``, ``!Ref Bucket``, ``${aws_s3_bucket.b.arn}``). lspolicy never guesses them.
Each one becomes a *placeholder* in the extracted document and a located note in
`SourcePolicy.symbolic`:

- the placeholder token is ``lspolicy-unresolved-N`` (N counts the notes of that policy from 1),
  ASCII letters, digits and hyphens only: no ``*`` or ``?`` (so it is no wildcard), no ``${``
  (so it is no policy variable), and no AWS action, ARN, account or key contains it, so it can
  never equal or be matched by a literal pattern other than a full wildcard;
- where the whole value of an ``Action``/``NotAction`` entry is symbolic, the placeholder is
  ``lspolicy-unresolved-N:unresolved`` (a well-formed action), and of a ``Resource``,
  ``NotResource`` or ``AWS`` principal entry ``arn:lspolicy-unresolved-N:unresolved:::unresolved``
  (a well-formed ARN), so the rest of the policy still parses and lints;
- a symbolic part inside literal text (``arn:aws:s3:::${var.bucket}/*``) is replaced by the token
  alone, keeping the literal text around it;
- a symbolic ``Effect``, statement, or element whose type decides the shape of the policy keeps
  the bare token: building the policy then fails *at that location*, so a policy whose decisive
  parts are unknown is reported, never silently dropped or silently allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lspolicy.errors import Location, Problem
from lspolicy.parse.jsonpos import JsonPath, Span, format_path

__all__ = ["MARK", "Notes", "is_placeholder", "placeholder"]

MARK = "lspolicy-unresolved"

_ACTION_KEYS = ("Action", "NotAction")
_ARN_KEYS = ("Resource", "NotResource")


def is_placeholder(value: object) -> bool:
    """Whether ``value`` is (or contains) a placeholder for a symbolic value."""
    return isinstance(value, str) and MARK in value


def placeholder(number: int, path: JsonPath, *, whole: bool = True) -> str:
    """The placeholder for the ``number``-th symbolic value of a policy, at ``path`` inside
    the document; ``whole`` when it stands for the entire value rather than a part of it."""
    token = f"{MARK}-{number}"
    if not whole:
        return token
    keys = [p for p in path if isinstance(p, str)]
    last = keys[-1] if keys else ""
    if last in _ACTION_KEYS and len(keys) >= 2:
        return f"{token}:unresolved"
    if last in _ARN_KEYS or (last == "AWS" and len(keys) >= 2 and keys[-2].endswith("Principal")):
        return f"arn:{token}:unresolved:::unresolved"
    return token


@dataclass
class Notes:
    """The symbolic notes of one policy being extracted, numbered in the order found."""

    file: str
    prefix: str
    notes: list[Problem] = field(default_factory=list)

    def add(
        self,
        path: JsonPath,
        span: Span | None,
        what: str,
        *,
        whole: bool = True,
        hint: str | None = None,
    ) -> str:
        """Record that the value at ``path`` (in the document) is symbolic; its placeholder."""
        number = len(self.notes) + 1
        inner = format_path(path)
        where = f"{self.prefix}.{inner}" if inner and self.prefix else self.prefix or inner
        if inner.startswith("["):
            where = f"{self.prefix}{inner}"
        loc = Location(self.file, where, span.line if span else 0, span.column if span else 0)
        self.notes.append(
            Problem(
                f"{what} cannot be resolved statically; it is carried as {MARK}-{number}",
                loc,
                hint,
                code="symbolic",
            )
        )
        return placeholder(number, path, whole=whole)
