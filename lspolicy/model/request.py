"""A request to authorize: action, resource, caller and typed request context.

Context keys are case-insensitive (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html):
they are folded to lower case once, when the request is built, so evaluation is lookups.
Every value is held as a tuple of strings; a multivalued key (a list) may have several or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lspolicy.errors import ContextValueError

__all__ = [
    "ContextValue",
    "Request",
    "RequestPart",
    "context_values",
    "lower_key",
    "normalize_context",
    "to_context_string",
]

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


_NO_KEYS: frozenset[str] = frozenset()
_UNREAD: Any = ...
"""A slot's value before it is first computed (``Ellipsis``, a singleton: a part copied or
pickled before the slot is read keeps it, and no account is ``...``)."""
_SCALARS = (str, int, float, bool)


def value_strings(value: Any, key: str | None = None) -> tuple[str, ...]:
    """A context value given as other than one string, as the strings IAM compares: a
    scalar's (`to_context_string`), or each of a sequence's. (One string ``v`` is ``(v,)``:
    the callers test for it first, the common case.) Anything else (``None``, a mapping, a
    set, bytes, a sequence holding one of those) raises `ContextValueError` naming ``key``:
    IAM's context values are strings, and iterating a mapping or a set would compare its keys
    or an arbitrary order.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html"""
    if isinstance(value, _SCALARS):
        return (to_context_string(value),)
    if not isinstance(value, (list, tuple)) and (
        not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray))
    ):
        raise ContextValueError(value, key)
    items = tuple(value)
    if _STR_ONLY.issuperset(map(type, items)):  # strings only (the common case), in C
        return items
    for item in items:
        if not isinstance(item, _SCALARS):
            raise ContextValueError(item, key, in_list=True)
    return tuple(map(to_context_string, items))


_STR_ONLY = {str}


def _account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return None


_LOWER: dict[str, str] = {}
_LOWER_LIMIT = 1 << 14
_NORMAL_NAMES: dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, str]]] = {}
_PART_NAMES: dict[tuple[str, ...], tuple[tuple[str, ...], bool]] = {}


def _part_names(names: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """``names`` lower-cased, and whether two of them differ only in case (remembered,
    bounded: `RequestPart` asks once per part)."""
    lowered = tuple(map(lower_key, names))
    hit = (lowered, len(set(lowered)) < len(lowered))
    if len(_PART_NAMES) >= _LOWER_LIMIT:
        _PART_NAMES.clear()
    _PART_NAMES[names] = hit
    return hit


def lower_key(key: str) -> str:
    """``key.lower()``, remembered (bounded): the same few key names come back in every
    request, and the remembered string's hash is already computed for the dicts it enters."""
    hit = _LOWER.get(key)
    if hit is None:
        hit = key.lower()
        if len(_LOWER) >= _LOWER_LIMIT:
            _LOWER.clear()
        _LOWER[key] = hit
    return hit


def normalize_context(
    context: Mapping[str, ContextValue] | None,
) -> tuple[dict[str, tuple[str, ...]], frozenset[str], dict[str, str]]:
    """Fold keys to lower case; values to tuples of strings; note which keys are multivalued.

    Returns ``(values, multivalued_keys, original_names)``.
    """
    if not context:
        return {}, _NO_KEYS, {}
    if set(map(type, context.values())) == _STR_ONLY:
        # every value one string (the common case): the key names' lower-case forms and
        # first spellings remembered per tuple of names, the values' 1-tuples made by ``zip``
        key_names = tuple(context)
        hit = _NORMAL_NAMES.get(key_names)
        if hit is None:
            lowered = tuple(map(lower_key, key_names))
            first: dict[str, str] = {}
            for lower, key in zip(lowered, key_names, strict=True):
                first.setdefault(lower, key)
            hit = (lowered, first)
            if len(_NORMAL_NAMES) >= _LOWER_LIMIT:
                _NORMAL_NAMES.clear()
            _NORMAL_NAMES[key_names] = hit
        pairs = zip(hit[0], zip(context.values(), strict=True), strict=True)
        return dict(pairs), _NO_KEYS, dict(hit[1])  # type: ignore[arg-type]
    values: dict[str, tuple[str, ...]] = {}
    multi: list[str] = []
    names: dict[str, str] = {}
    for key, value in context.items():
        lower = lower_key(key)
        if lower not in names:
            names[lower] = key
        if value.__class__ is str:
            values[lower] = (value,)
        else:
            if not isinstance(value, _SCALARS):
                multi.append(lower)
            values[lower] = value_strings(value, key)
    return values, frozenset(multi) if multi else _NO_KEYS, names


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

    @classmethod
    def from_parts(
        cls,
        action: str,
        *parts: RequestPart,
        context: Mapping[str, ContextValue] | None = None,
        resource: str | None = None,
        caller_arn: str | None = None,
    ) -> Request:
        """The request whose context is ``parts`` combined in order, then ``context``.

        Equal to ``Request(action, resource, {**part1, **part2, ..., **context}, caller_arn=...)``
        built from the plain dicts, without normalising the parts again: a principal's part and
        an instance's part are normalised once (`RequestPart`) and combined per request. The
        resource and the caller come from the arguments, else from the last part that has one.
        """
        return _from_parts(
            cls, action, parts, context=context, resource=resource, caller_arn=caller_arn
        )

    def with_context(self, extra: Mapping[str, ContextValue]) -> Request:
        """A copy with more (or replaced) context values."""
        merged: dict[str, ContextValue] = {self.key_names[k]: v for k, v in self._items()}
        merged.update(extra)
        return Request(self.action, self.resource, merged, caller_arn=self.caller_arn)

    def _items(self) -> Iterable[tuple[str, ContextValue]]:
        for key, vals in self.context.items():
            yield key, (list(vals) if key in self.multivalued else vals[0])


class RequestPart:
    """A piece of request context normalised once, to combine into many requests.

    A principal's part (its ARN, account, tags: ``caller_arn=``) and an instance's part (its
    tags, region: ``resource=``) are the same in every request that principal makes on that
    instance; `Request.from_parts` combines them with the request's own keys by dict merges.
    """

    __slots__ = (
        "_direct",
        "_lowered",
        "_multivalued",
        "_names",
        "_resource_account",
        "_values",
        "caller_account",
        "caller_arn",
        "caller_is_root",
        "duplicates",
        "raw",
        "resource",
    )  # fmt: skip

    def __init__(
        self,
        context: Mapping[str, ContextValue] | None = None,
        *,
        caller_arn: str | None = None,
        resource: str | None = None,
    ) -> None:
        # the values are normalised when first read (`values`): a matrix reads most
        # instances' values only as columns of the plain strings (`plain_column`)
        if context:
            raw: dict[str, ContextValue] = dict(context)
            names = tuple(raw)
            hit = _PART_NAMES.get(names)
            if hit is None:
                hit = _part_names(names)
            lowered, duplicates = hit
        else:
            raw, lowered, duplicates = {}, (), False
        self.duplicates = duplicates
        """Two of the context's key names differ only in case: combining the part with
        another that gives one of them depends on the dicts' order (`Request.from_parts`
        merges the plain dicts then), so the shortcuts that merge normalised values skip it."""
        self.caller_arn = caller_arn
        if caller_arn is not None:
            self.caller_account = _account(caller_arn)
            self.caller_is_root = caller_arn.startswith("arn:") and caller_arn.endswith(":root")
            if "aws:principalarn" not in lowered:
                raw["aws:PrincipalArn"] = caller_arn
                lowered = (*lowered, "aws:principalarn")
        else:
            self.caller_account = None
            self.caller_is_root = False
        self.raw = raw
        """The context as given (with the caller's ``aws:PrincipalArn``): merged again when
        parts share a key, as the plain constructor would merge dicts."""
        self._lowered = lowered
        """The lower-case form of each of ``raw``'s key names, in order (shared by parts
        with the same key names)."""
        self._values: dict[str, tuple[str, ...]] | None = None
        self._multivalued: frozenset[str] = _NO_KEYS
        self._names: dict[str, str] | None = None
        self.resource = resource
        self._resource_account: str | None = _UNREAD
        """`resource_account`, found when first read (a matrix reads every instance's
        account from the ARNs as one column instead)."""
        self._direct = (
            None if duplicates or caller_arn is not None else "*" if resource is None else resource
        )
        """The resource (``*`` for none) when a batch may combine this part's normalised
        values with another's directly (`PolicySet.is_allowed_many`): it names no caller and
        gives no key twice; None otherwise."""

    @property
    def resource_account(self) -> str | None:
        """The account named in ``resource`` (None for no resource or an ARN without one)."""
        account = self._resource_account
        if account is _UNREAD:
            account = self._resource_account = (
                None if self.resource is None else _account(self.resource)
            )
        return account

    @property
    def values(self) -> dict[str, tuple[str, ...]]:
        """Lower-case key -> the key's values as strings (`normalize_context`; normalised
        when first read)."""
        values = self._values
        if values is None:
            values = self._normalise()
        return values

    @property
    def multivalued(self) -> frozenset[str]:
        """The keys given as lists."""
        if self._values is None:
            self._normalise()
        return self._multivalued

    def _normalise(self) -> dict[str, tuple[str, ...]]:
        raw = self.raw
        given = raw.values()
        if given and _STR_ONLY.issuperset(map(type, given)):
            # the common case, every value one string: the values' 1-tuples made by ``zip``
            values: dict[str, tuple[str, ...]] = dict(zip(self._lowered, zip(given), strict=False))  # type: ignore[arg-type]
        else:
            values, self._multivalued, _ = normalize_context(raw)
        self._values = values
        return values

    @property
    def names(self) -> dict[str, str]:
        """Lower-case key -> the key's first spelling in the context (computed when first
        needed: only building a `Request` reads it)."""
        names = self._names
        if names is None:
            names = {}
            for key in self.raw:
                lower = lower_key(key)
                if lower not in names:
                    names[lower] = key
            self._names = names
        return names

    def __repr__(self) -> str:
        who = f", caller_arn={self.caller_arn!r}" if self.caller_arn else ""
        what = f", resource={self.resource!r}" if self.resource else ""
        return f"RequestPart({len(self.values)} keys{who}{what})"


def context_values(context: Mapping[str, ContextValue]) -> dict[str, tuple[str, ...]]:
    """Only the values of `normalize_context` (keys folded to lower case, values as tuples of
    strings): what a decision reads, for a request's own few keys."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        out[lower_key(key)] = (value,) if value.__class__ is str else value_strings(value, key)
    return out


class _Building:
    """`Request`'s slot layout without its frozen ``__setattr__``: `_from_parts` fills one with
    plain attribute stores, then makes it a `Request` (``__class__`` assignment, allowed between
    classes of the same layout). ``object.__setattr__`` per field cost more than the decision."""

    __slots__ = Request.__slots__


def _from_parts(
    cls: type[Request],
    action: str,
    parts: Sequence[RequestPart],
    *,
    context: Mapping[str, ContextValue] | None,
    resource: str | None,
    caller_arn: str | None,
) -> Request:
    values: dict[str, tuple[str, ...]] = {}
    names: dict[str, str] = {}
    multi = _NO_KEYS
    res_part: RequestPart | None = None
    caller_part: RequestPart | None = None
    size = 0
    for part in parts:
        given = part._values
        if given is None:  # normalised when first read
            given = part._normalise()
        size += len(given)
        if multi:
            multi = multi - given.keys()
        values.update(given)
        if part._multivalued:
            multi = multi | part._multivalued
        if part.resource is not None:
            res_part = part
        if part.caller_arn is not None:
            caller_part = part
    extra_names: dict[str, str] = {}
    if context:
        # the request's own keys, normalised straight into the merged values (a key already
        # there from a part shows as a size mismatch below)
        extra_multi: list[str] = []
        lowered = _LOWER.get
        for key, value in context.items():
            lower = lowered(key) or lower_key(key)
            if lower not in extra_names:
                extra_names[lower] = key
            if value.__class__ is str:
                values[lower] = (value,)
            else:
                if not isinstance(value, _SCALARS):
                    extra_multi.append(lower)
                values[lower] = value_strings(value, key)
        if multi:
            multi = multi - extra_names.keys()
        if extra_multi:
            multi = multi | frozenset(extra_multi)
        size += len(extra_names)
    if len(values) != size:
        # parts (or the context) share a key up to case: which spelling's value wins then
        # depends on the merged dict's order, so merge the dicts and normalise once, exactly
        # as ``Request(action, resource, {**part1, ..., **context})`` does
        merged: dict[str, ContextValue] = {}
        for part in parts:
            merged.update(part.raw)
        merged.update(context or {})
        if resource is None:
            resource = res_part.resource if res_part is not None else None
        if caller_arn is None and caller_part is not None:
            caller_arn = caller_part.caller_arn
        return cls(action, resource if resource is not None else "*", merged, caller_arn=caller_arn)
    # no key is shared: the names in the merged dict's order, as normalising it gives them
    for part in parts:
        names.update(part.names)
    names.update(extra_names)
    if resource is None:
        resource = res_part.resource if res_part is not None else "*"
        resource_account = res_part.resource_account if res_part is not None else None
    else:
        resource_account = _account(resource)
    if caller_arn is None and caller_part is not None:
        caller_arn = caller_part.caller_arn
        caller_account = caller_part.caller_account
        root = caller_part.caller_is_root
    else:
        caller_account = _account(caller_arn) if caller_arn else None
        root = (
            caller_arn is not None
            and caller_arn.startswith("arn:")
            and caller_arn.endswith(":root")
        )
    if caller_arn is not None and "aws:principalarn" not in values:
        values["aws:principalarn"] = (caller_arn,)
        names["aws:principalarn"] = "aws:PrincipalArn"
    req: Any = _Building()
    req.action = action
    req.resource = resource
    req.context = values
    req.caller_arn = caller_arn
    req.multivalued = multi
    req.key_names = names
    req.action_key = action.lower()
    req.caller_account = caller_account
    req.resource_account = resource_account
    req.caller_is_root = root
    req.special = root or (
        caller_account is not None
        and resource_account is not None
        and caller_account != resource_account
    )
    req.__class__ = cls
    return req  # type: ignore[no-any-return]
