"""A request to authorize: action, resource, caller and typed request context.

Context keys are case-insensitive (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html):
they are folded to lower case once, when the request is built, so evaluation is lookups.
Every value is held as a tuple of strings; a multivalued key (a list) may have several or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ContextPart", "ContextValue", "Request", "normalize_context", "to_context_string"]

ContextValue = str | int | float | bool | Sequence[str | int | float | bool]
ContextKeyType = Literal[
    "string", "stringList", "numeric", "numericList", "boolean", "booleanList",
    "ip", "ipList", "binary", "binaryList", "date", "dateList",
]  # fmt: skip


def to_context_string(value: str | int | float | bool) -> str:
    """The string form IAM compares: booleans as ``true``/``false``, numbers in decimal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return None


def normalize_context(
    context: Mapping[str, ContextValue] | None,
) -> tuple[dict[str, tuple[str, ...]], frozenset[str], dict[str, str]]:
    """Fold keys to lower case; values to tuples of strings; note which keys are multivalued.

    Returns ``(values, multivalued_keys, original_names)``.
    """
    values: dict[str, tuple[str, ...]] = {}
    multi: set[str] = set()
    names: dict[str, str] = {}
    for key, value in (context or {}).items():
        lower = key.lower()
        names.setdefault(lower, key)
        if isinstance(value, (str, int, float, bool)):
            values[lower] = (to_context_string(value),)
        else:
            multi.add(lower)
            values[lower] = tuple(to_context_string(v) for v in value)
    return values, frozenset(multi), names


@dataclass(frozen=True, slots=True)
class ContextPart:
    """A part of a request context, normalised once (`normalize_context`) and reused: the
    caller's keys, an instance's keys, a request's circumstances. `Request.from_parts` joins
    parts without folding or converting their values again."""

    raw: Mapping[str, ContextValue]
    values: Mapping[str, tuple[str, ...]]
    multivalued: frozenset[str]
    names: Mapping[str, str]

    @classmethod
    def of(cls, context: Mapping[str, ContextValue]) -> ContextPart:
        """Normalise ``context`` once."""
        values, multi, names = normalize_context(context)
        return cls(dict(context), values, multi, names)


@dataclass(frozen=True, slots=True, init=False)
class Request:
    """One request: ``action`` (``service:Action``), ``resource`` ARN, and context values.

    ``caller_arn`` is the principal's ARN (needed to match ``Principal`` in resource-based
    policies; it also provides ``aws:PrincipalArn`` when the context does not).
    """

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]]
    caller_arn: str | None
    multivalued: frozenset[str]
    key_names: Mapping[str, str] = field(repr=False)
    action_key: str = field(repr=False)
    caller_account: str | None = field(repr=False)
    resource_account: str | None = field(repr=False)
    caller_is_root: bool = field(repr=False)
    special: bool = field(repr=False)
    """The caller is the account root, or in another account than the resource: such requests
    take the full decision path (root user rules, cross-account rules)."""

    def __init__(
        self,
        action: str,
        resource: str = "*",
        context: Mapping[str, ContextValue] | None = None,
        *,
        caller_arn: str | None = None,
    ) -> None:
        values, multi, names = normalize_context(context)
        self._fill(action, resource, values, multi, names, caller_arn=caller_arn)

    @classmethod
    def from_parts(
        cls,
        action: str,
        resource: str,
        parts: Sequence[ContextPart],
        *,
        caller_arn: str | None = None,
    ) -> Request:
        """The same request as ``Request(action, resource, context, caller_arn=...)`` with
        ``context`` the parts' raw mappings merged in order, built from their normalised forms.

        When two parts share a folded key, the parts are merged raw and normalised again (what
        the plain constructor does); otherwise their values are joined as they are.
        """
        values: dict[str, tuple[str, ...]] = {}
        names: dict[str, str] = {}
        multi: frozenset[str] = frozenset()
        size = 0
        for part in parts:
            values.update(part.values)
            names.update(part.names)
            multi |= part.multivalued
            size += len(part.values)
        if len(values) != size:
            merged: dict[str, ContextValue] = {}
            for part in parts:
                merged.update(part.raw)
            return cls(action, resource, merged, caller_arn=caller_arn)
        self = object.__new__(cls)
        self._fill(action, resource, values, multi, names, caller_arn=caller_arn)
        return self

    def _fill(
        self,
        action: str,
        resource: str,
        values: dict[str, tuple[str, ...]],
        multi: frozenset[str],
        names: dict[str, str],
        *,
        caller_arn: str | None,
    ) -> None:
        if caller_arn is not None and "aws:principalarn" not in values:
            values["aws:principalarn"] = (caller_arn,)
            names["aws:principalarn"] = "aws:PrincipalArn"
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "resource", resource)
        object.__setattr__(self, "context", values)
        object.__setattr__(self, "caller_arn", caller_arn)
        object.__setattr__(self, "multivalued", multi)
        object.__setattr__(self, "key_names", names)
        object.__setattr__(self, "action_key", action.lower())
        object.__setattr__(self, "caller_account", _account(caller_arn) if caller_arn else None)
        object.__setattr__(self, "resource_account", _account(resource))
        root = (
            caller_arn is not None
            and caller_arn.startswith("arn:")
            and caller_arn.endswith(":root")
        )
        object.__setattr__(self, "caller_is_root", root)
        caller_account, resource_account = self.caller_account, self.resource_account
        cross = (
            caller_account is not None
            and resource_account is not None
            and caller_account != resource_account
        )
        object.__setattr__(self, "special", root or cross)

    def with_context(self, extra: Mapping[str, ContextValue]) -> Request:
        """A copy with more (or replaced) context values."""
        merged: dict[str, ContextValue] = {self.key_names[k]: v for k, v in self._items()}
        merged.update(extra)
        return Request(self.action, self.resource, merged, caller_arn=self.caller_arn)

    def _items(self) -> Iterable[tuple[str, ContextValue]]:
        for key, vals in self.context.items():
            yield key, (list(vals) if key in self.multivalued else vals[0])
