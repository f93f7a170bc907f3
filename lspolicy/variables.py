"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
- Variables are substituted only under ``"Version": "2012-10-17"``; under 2008-10-17 (or with no
  Version) the text is taken literally.
- ``${*}``, ``${?}``, ``${$}`` stand for a literal ``*``, ``?``, ``$`` (never a wildcard).
- ``${key, 'default'}`` gives a default used when the key is absent from the request context.
- Variable names are context keys, matched case-insensitively like every condition key.

A template is parsed once, at compile time, into parts; resolving it per request is lookups.
A value substituted from the request is literal text: a ``*`` in a user's name is not a wildcard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lspolicy.glob import ANY, STAR, Token, tokens_of

__all__ = ["Literal", "Template", "Variable", "parse_template"]

_SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Literal:
    """Policy text; ``escaped`` when it came from ``${*}``/``${?}``/``${$}`` (never a wildcard)."""

    text: str
    escaped: bool = False


@dataclass(frozen=True, slots=True)
class Variable:
    """A ``${key}`` reference: ``key`` lower-cased, with an optional default value."""

    key: str
    name: str
    default: str | None = None


Part = Literal | Variable


@dataclass(frozen=True, slots=True)
class Template:
    """A string of the policy with its variables located; ``parts`` alternate text and keys."""

    source: str
    parts: tuple[Part, ...]

    @property
    def variables(self) -> tuple[Variable, ...]:
        """The variables this template refers to."""
        return tuple(p for p in self.parts if isinstance(p, Variable))

    @property
    def is_literal(self) -> bool:
        """No variable: the template always resolves to the same text."""
        return not any(isinstance(p, Variable) for p in self.parts)

    def resolve_text(self, context: Mapping[str, Sequence[str]]) -> str | None:
        """The text with variables replaced, or None when one has no single value and no default.

        An escaped ``${*}`` becomes a plain ``*`` here: use `resolve_tokens` where wildcards count.
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Literal):
                out.append(part.text)
            else:
                value = _value(part, context)
                if value is None:
                    return None
                out.append(value)
        return "".join(out)

    def resolve_tokens(self, context: Mapping[str, Sequence[str]]) -> list[Token] | None:
        """Glob tokens: wildcards only from the policy's own literal text, never from values."""
        out: list[Token] = []
        for part in self.parts:
            if isinstance(part, Variable):
                value = _value(part, context)
                if value is None:
                    return None
                out.append(value)
            elif part.escaped:
                out.append(part.text)
            else:
                out.extend(tokens_of(part.text))
        return out

    def literal_tokens(self) -> list[Token]:
        """Tokens of a variable-free template (escapes are literal characters)."""
        out: list[Token] = []
        for part in self.parts:
            assert isinstance(part, Literal)
            out.extend([part.text] if part.escaped else tokens_of(part.text))
        return out


def _value(var: Variable, context: Mapping[str, Sequence[str]]) -> str | None:
    values = context.get(var.key)
    if values is None or len(values) == 0:
        return var.default
    if len(values) != 1:
        # a multivalued key has no single value to substitute
        return None
    return values[0]


def parse_template(text: str, *, substitute: bool = True) -> Template:
    """Locate the variables in ``text``; with ``substitute=False`` (Version 2008-10-17) none."""
    if not substitute or "${" not in text:
        return Template(text, (Literal(text),) if text else ())
    parts: list[Part] = []
    buf: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        if text.startswith("${", i):
            close = text.find("}", i + 2)
            if close >= 0:
                inner = text[i + 2 : close]
                part = _parse_inner(inner)
                if part is not None:
                    if buf:
                        parts.append(Literal("".join(buf)))
                        buf.clear()
                    parts.append(part)
                    i = close + 1
                    continue
        buf.append(text[i])
        i += 1
    if buf:
        parts.append(Literal("".join(buf)))
    return Template(text, tuple(parts))


def _parse_inner(inner: str) -> Part | None:
    stripped = inner.strip()
    if stripped in _SPECIAL:
        return Literal(_SPECIAL[stripped], escaped=True)
    name, comma, rest = stripped.partition(",")
    name = name.strip()
    if not name or any(ch.isspace() for ch in name):
        return None
    default: str | None = None
    if comma:
        rest = rest.strip()
        if len(rest) >= 2 and rest[0] == rest[-1] == "'":
            default = rest[1:-1]
        else:
            return None
    return Variable(name.lower(), name, default)


# re-exported for matchers that build tokens by hand
WILDCARDS = (STAR, ANY)
