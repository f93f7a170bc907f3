"""Statements as the diff sees them: which slot each test reads, and how a condition combines
its tests — read from the engine's compiled statements, never from policy text again.

A *slot* is one thing a request carries: its resource (key ``""``) or one context key (lower
case, as the engine folds them). A condition reads one slot: it is absent, or it has values,
each of which passes or fails each *atom* (`lspolicy.diff.atoms`). A policy value with a
variable (``${aws:PrincipalTag/team}``) is a *template*: which atom it is depends on the value
of another slot, so the search treats "does this value match the resolved template" as a
boolean of its own and `lspolicy.diff.realize` proves it can be made so.

Condition semantics follow `lspolicy.evaluate.clause` exactly (see `evaluate_condition`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from lspolicy.conditions.base import OperatorSpec
from lspolicy.diff.atoms import (
    Atom,
    atom_from_prepared,
    atom_from_tokens,
    family_of,
    resource_atom,
)
from lspolicy.diff.automata import VAR, Element, arn_elements, glob_elements, resource_elements
from lspolicy.evaluate.statement import CompiledStatement
from lspolicy.glob import Token, tokens_of
from lspolicy.lightsail.catalog import load_catalog
from lspolicy.model.decision import StatementRef
from lspolicy.model.policy import Condition
from lspolicy.variables import Literal, Template, Variable, parse_template

__all__ = [
    "RESOURCE",
    "RawCondition",
    "RawStatement",
    "RawTemplate",
    "Side",
    "is_multivalued",
    "translate",
]

RESOURCE: Final = ""
"""The resource's slot key (no condition key is empty: the parser rejects one)."""

Side = str  # "old" | "new"

_MULTIVALUED_GLOBAL_KEYS: Final = frozenset(
    {"aws:tagkeys", "aws:calledvia", "aws:principalservicenameslist", "aws:principalorgpaths"}
)
"""Global condition keys that carry lists
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)."""


def is_multivalued(key: str, qualified: bool) -> bool:
    """Whether a key carries a list of values: the global list keys and the catalog's
    ``ArrayOf...`` keys do; other ``aws:`` keys carry one value; a key lspolicy does not know
    is taken as a list when a policy tests it with ``ForAllValues``/``ForAnyValue``."""
    if key in _MULTIVALUED_GLOBAL_KEYS:
        return True
    known = load_catalog().condition_key(key)
    if known is not None:
        return known.type.startswith("ArrayOf")
    if key.startswith("aws:"):
        return False
    return qualified


@dataclass(frozen=True, eq=False)
class RawTemplate:
    """A policy value with variables, tested against one slot's values."""

    slot: str
    family: str
    spec: OperatorSpec | None
    """The operator (None for a Resource entry)."""
    template: Template
    variables: tuple[Variable, ...]
    """Distinct by key, in order of first use."""
    shape: tuple[Element, ...] | None
    """The elements with one ``VAR`` when the value's structure does not depend on the
    variable's value (`lspolicy.diff.realize` can then reason about it exactly)."""
    label: str
    cover: tuple[Element, ...] | None = None
    """Elements that spell every string the template can match, whatever its variables'
    values (each variable as ``*``, every wildcard free to cross colons); None: no such
    bound is known (ignore-case and typed comparisons)."""

    @property
    def dependent_key(self) -> tuple[object, ...]:
        """Two templates with one key resolve to the same test whenever their variables have
        values (defaults aside), so a value matches both or neither: one boolean for both."""
        family = self.family
        if (
            family == "glob"
            and self.shape is not None
            and all(el[0] in ("l", "v") for el in self.shape)
        ):
            family = "eq"  # StringLike without wildcards is equality
        typed = family in ("num", "date", "bin", "bool", "ip")
        cmp = self.spec.name if typed and self.spec is not None else ""
        parts: list[object] = []
        for part in self.template.parts:
            if isinstance(part, Variable):
                default = part.default if len(self.variables) > 1 else None
                parts.append(("var", part.key, default))
            else:
                parts.append(("text", part.text, part.escaped))
        return (self.slot, family, cmp, tuple(parts))

    @property
    def sort_key(self) -> str:
        """A total order, the same whichever policy mentions it first."""
        return repr((self.slot, self.family, self.spec.name if self.spec else "", self.label))

    def resolve(self, context: Mapping[str, Sequence[str]]) -> Atom | None:
        """The atom this value is for a request context (None: the engine drops the value)."""
        if self.family == "res":
            tokens = self.template.resolve_tokens(context)
            return None if tokens is None else resource_atom(tokens, self.label)
        spec = self.spec
        assert spec is not None
        if spec.prepare_tokens is not None:
            tokens = self.template.resolve_tokens(context)
            return None if tokens is None else atom_from_tokens(spec, tokens)
        text = self.template.resolve_text(context)
        return None if text is None else atom_from_prepared(spec, spec.prepare(text), text)

    def default_atom(self) -> Atom | bool | None:
        """The atom when every variable is absent: an atom, None (dropped) — or False when
        some variable has no default (the value is dropped then too)."""
        if any(v.default is None for v in self.variables):
            return False
        return self.resolve({})


Pred = tuple[str, Any]
"""``("a", Atom)`` or ``("t", RawTemplate)``."""


@dataclass(frozen=True, eq=False)
class RawCondition:
    """One condition entry: which slot, how its tests combine, and its tests."""

    slot: str
    mode: str
    """``null``, ``plain``, ``any`` (ForAnyValue) or ``all`` (ForAllValues)."""
    negated: bool
    if_exists: bool
    preds: tuple[Pred, ...]
    wants: tuple[bool, ...]
    """``Null``: for each value, whether it asks for the key to be absent."""
    condition: Condition


@dataclass(frozen=True, eq=False)
class RawStatement:
    """A statement of one side (``old``/``new``) and layer (``identity``/``boundary``)."""

    side: Side
    layer: str
    deny: bool
    ref: StatementRef
    compiled: CompiledStatement
    resource_negated: bool
    resource_preds: tuple[Pred, ...] | None
    """None: no Resource element (every resource)."""
    conditions: tuple[RawCondition, ...]
    fingerprint: str
    unsupported: tuple[str, ...] = field(default=())


# -- templates --------------------------------------------------------------------------------


def _tokens_with_var(template: Template) -> list[Token | object]:
    out: list[Token | object] = []
    for part in template.parts:
        if isinstance(part, Variable):
            out.append(VAR)
        elif part.escaped:
            out.append(part.text)
        else:
            out.extend(tokens_of(part.text))
    return out


def _text_with_var(template: Template) -> tuple[Element, ...]:
    out: list[Element] = []
    for part in template.parts:
        if isinstance(part, Variable):
            out.append(("v", None))
        else:
            assert isinstance(part, Literal)
            out.extend(("l", c) for c in part.text)
    return tuple(out)


def _shape(family: str, template: Template) -> tuple[Element, ...] | None:
    occurrences = sum(isinstance(p, Variable) for p in template.parts)
    if occurrences != 1:
        return None
    if family == "eq":
        return _text_with_var(template)
    tokens = _tokens_with_var(template)
    if family == "glob":
        return glob_elements(tokens)  # type: ignore[arg-type]
    if family == "res":
        return resource_elements(tokens)  # type: ignore[arg-type]
    if family == "arn":
        shape = arn_elements(tokens)  # type: ignore[arg-type]
        return shape.elements if shape.simple else None
    return None  # ignore-case and typed comparisons with a variable: no exact shape


def _cover(family: str, template: Template) -> tuple[Element, ...] | None:
    """A superset of every resolution: a value matching the resolved template matches this
    glob (variables' text is arbitrary, and a segment's or component's wildcard matches less
    than an unbounded one)."""
    if family == "eq":
        return tuple(("s", True) if el[0] == "v" else el for el in _text_with_var(template))
    if family in ("glob", "res", "arn"):
        elements = glob_elements(_tokens_with_var(template))  # type: ignore[arg-type]
        return tuple(("s", True) if el[0] == "v" else el for el in elements)
    return None


def _template(slot: str, family: str, spec: OperatorSpec | None, template: Template) -> RawTemplate:
    seen: dict[str, Variable] = {}
    for var in template.variables:
        seen.setdefault(var.key, var)
    name = spec.name if spec is not None else "Resource"
    return RawTemplate(
        slot=slot,
        family=family,
        spec=spec,
        template=template,
        variables=tuple(seen.values()),
        shape=_shape(family, template),
        label=f'{name} "{template.source}"',
        cover=_cover(family, template),
    )


# -- statements -------------------------------------------------------------------------------

_MODES: Final = {None: "plain", "ForAnyValue": "any", "ForAllValues": "all"}


def _condition(compiled_condition: Any) -> RawCondition:
    cc = compiled_condition
    spec: OperatorSpec = cc.spec
    key: str = cc.key
    mode = "null" if cc.is_null else _MODES[cc.qualifier]
    preds: list[Pred] = []
    wants: tuple[bool, ...] = ()
    if cc.is_null:
        wants = tuple(bool(v.prepared) for v in cc.values)
    else:
        family = family_of(spec)
        for value in cc.values:
            template: Template = value.template
            if value.prepared is None:
                preds.append(("t", _template(key, family, spec, template)))
                continue
            if spec.prepare_tokens is not None:
                atom = atom_from_tokens(spec, template.literal_tokens())
            else:
                atom = atom_from_prepared(spec, value.prepared, template.source)
            if atom is not None:
                preds.append(("a", atom))
    return RawCondition(
        slot=key,
        mode=mode,
        negated=cc.negated,
        if_exists=cc.if_exists,
        preds=tuple(preds),
        wants=wants,
        condition=cc.condition,
    )


def _resource_preds(patterns: Sequence[str], substitute: bool) -> tuple[Pred, ...]:
    preds: list[Pred] = []
    for raw in patterns:
        template = parse_template(raw, substitute=substitute)
        if template.is_literal:
            preds.append(("a", resource_atom(template.literal_tokens(), f'Resource "{raw}"')))
        else:
            preds.append(("t", _template(RESOURCE, "res", None, template)))
    return tuple(preds)


def _fingerprint(st: CompiledStatement, layer: str) -> str:
    body = st.statement.to_json()
    body.pop("Sid", None)
    return repr((layer, st.policy.substitutes_variables, sorted(body.items(), key=str)))


def _ref(st: CompiledStatement) -> StatementRef:
    s = st.statement
    return StatementRef(
        policy=st.policy.source,
        policy_kind=st.policy.kind,
        policy_index=st.policy_index,
        index=s.index,
        sid=s.sid,
        effect=s.effect,
        span=s.span,
    )


def translate(st: CompiledStatement, side: Side, layer: str) -> RawStatement:
    """One compiled statement as the diff reasons about it."""
    s = st.statement
    unsupported: list[str] = []
    if s.principal is not None or s.not_principal is not None:
        unsupported.append("a Principal or NotPrincipal element (identity-based policies only)")
    substitute = st.policy.substitutes_variables
    resource_preds: tuple[Pred, ...] | None
    if s.resources is not None:
        resource_preds = _resource_preds(s.resources, substitute)
    elif s.not_resources is not None:
        resource_preds = _resource_preds(s.not_resources, substitute)
    else:
        resource_preds = None
    conditions = tuple(_condition(c) for c in st.conditions)
    return RawStatement(
        side=side,
        layer=layer,
        deny=st.deny,
        ref=_ref(st),
        compiled=st,
        resource_negated=s.not_resources is not None,
        resource_preds=resource_preds,
        conditions=conditions,
        fingerprint=_fingerprint(st, layer),
        unsupported=tuple(unsupported),
    )


def slot_keys(statements: Iterable[RawStatement]) -> dict[str, str]:
    """Every slot the statements read (lower-case key -> the name a policy wrote)."""
    out: dict[str, str] = {}
    for st in statements:
        for cond in st.conditions:
            out.setdefault(cond.slot, cond.condition.key)
            for kind, pred in cond.preds:
                if kind == "t":
                    for var in pred.variables:
                        out.setdefault(var.key, var.name)
        for kind, pred in st.resource_preds or ():
            if kind == "t":
                for var in pred.variables:
                    out.setdefault(var.key, var.name)
    return out
