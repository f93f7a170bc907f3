"""A condition, compiled: does it hold for a request context?

Semantics (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html):
- several values for one key: the condition holds if any value matches (OR);
- a key missing from the context: no match, except ``...IfExists`` (true) and negated operators
  (true: "the right key is not present, the condition is true");
- ``ForAnyValue``: at least one context value matches; false for a missing or empty key;
- ``ForAllValues``: every context value matches; true for a missing or empty key, or one whose
  value is the empty string (a "null dataset");
- a policy variable without a value (and no default) matches nothing, so positive operators
  fail on it and negated operators succeed
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html);
- negated operators under a set qualifier negate the per-value match;
- ``Null``: ``true`` holds when the key is absent, ``false`` when it is present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lspolicy.conditions.base import OperatorSpec, ValueType
from lspolicy.conditions.registry import OPERATORS, OperatorRef
from lspolicy.evaluate.dates import canonical_test
from lspolicy.glob import Token
from lspolicy.model.policy import Condition
from lspolicy.variables import Template, parse_template

__all__ = ["CompiledCondition", "compile_condition"]

Context = Mapping[str, Sequence[str]]
_MEMO_LIMIT = 1 << 14
_SHARED_MEMOS: dict[tuple[Any, bool], tuple[Any, ...]] = {}
"""A variable-free condition's operator, qualifier, ``IfExists``, key (lower case), values as
written and whether variables are substituted -> the memo of its answers (`CompiledCondition.
_memoised`), shared by every equal condition: a value one principal's statement has tested
is known to every other statement holding the same condition (measured on the harder
workload: 1,208 memos before, most of them equal conditions)."""
_SHARED_MEMO_LIMIT = 1 << 14
_NULL_SET = ("",)
"""A key whose value "resolves to a null dataset, such as an empty string" (ForAllValues)."""


@lru_cache(maxsize=2048)
def _prepare_tokens_cached(spec_name: str, tokens: tuple[Token, ...]) -> Any:
    prepare = OPERATORS[spec_name].prepare_tokens
    assert prepare is not None
    return prepare(tokens)


@dataclass(frozen=True, slots=True)
class _Value:
    """One policy value: compiled once, or a template resolved per request."""

    template: Template
    prepared: Any  # compiled value, or None when the template has variables

    def resolve(self, spec: OperatorSpec, context: Context) -> Any:
        if self.prepared is not None:
            return self.prepared
        if spec.prepare_tokens is not None:
            tokens = self.template.resolve_tokens(context)
            if tokens is None:
                return None
            return _prepare_tokens_cached(spec.name, tuple(tokens))
        text = self.template.resolve_text(context)
        return None if text is None else spec.prepare(text)


class CompiledCondition:
    """One ``operator: {key: values}`` entry, ready to evaluate."""

    __slots__ = (
        "_variable_keys",
        "condition",
        "holds",
        "if_exists",
        "is_null",
        "key",
        "negated",
        "qualifier",
        "shape",
        "spec",
        "static",
        "values",
    )  # fmt: skip

    def __init__(self, condition: Condition, ref: OperatorRef, substitute: bool) -> None:
        self.condition = condition
        self.key = condition.key.lower()
        self.spec = ref.spec
        self.negated = ref.spec.negated
        self.qualifier = ref.qualifier
        self.if_exists = ref.if_exists
        self.is_null = ref.spec.value_type is ValueType.NULL
        values: list[_Value] = []
        for raw in condition.values:
            template = parse_template(raw, substitute=substitute)
            if template.is_literal:
                if ref.spec.prepare_tokens is not None:
                    prepared = ref.spec.prepare_tokens(template.literal_tokens())
                else:
                    prepared = ref.spec.prepare(template.resolve_text({}) or "")
                if prepared is None:
                    continue  # an invalid literal can never match (the parser reports it)
                values.append(_Value(template, prepared))
            else:
                values.append(_Value(template, None))
        self.values = tuple(values)
        self._variable_keys = tuple(var.key for v in values for var in v.template.variables)
        self.static = (
            tuple(v.prepared for v in values)
            if all(v.prepared is not None for v in values)
            else None
        )
        self.shape: tuple[Any, ...] = ("call",)
        """How `holds` works, for the plan compiler (`lspolicy.evaluate.codegen`)."""
        self.holds = self._build()
        if self.static is not None and not self.is_null and self.shape[0] != "set":
            # what decides `holds` for a variable-free condition: equal conditions (in any
            # statement, policy or principal) share one memo of their answers
            same = (ref.spec.name, ref.qualifier, ref.if_exists, self.key, condition.values)
            shared = _SHARED_MEMOS.get((same, substitute))
            if shared is None:
                shared = self._memoised()
                if len(_SHARED_MEMOS) >= _SHARED_MEMO_LIMIT:
                    _SHARED_MEMOS.clear()
                _SHARED_MEMOS[(same, substitute)] = shared
            self.shape = shared

    @property
    def variable_keys(self) -> tuple[str, ...]:
        """Context keys the values refer to as policy variables (lower case)."""
        return self._variable_keys

    def _prepared(self, context: Context) -> tuple[Any, ...]:
        if self.static is not None:
            return self.static
        spec = self.spec
        out = []
        for v in self.values:
            p = v.resolve(spec, context)
            if p is not None:
                out.append(p)
        return tuple(out)

    def _plain_fast(self) -> Any:
        """Specialised predicates for the common shapes (no set qualifier)."""
        key = self.key
        negated = self.negated
        if_exists = self.if_exists
        spec = self.spec
        static = self.static
        equality = spec.value_type is ValueType.STRING and not spec.wildcards
        lower = spec.ignore_case
        if static is not None and equality:
            wanted = frozenset(static)
            self.shape = ("set", wanted, lower)

            def equals(context: Context) -> bool:
                vals = context.get(key)
                if vals is None:
                    return if_exists or negated
                if lower:
                    return any(v.lower() in wanted for v in vals) != negated
                return (not wanted.isdisjoint(vals)) != negated

            return equals
        if static is not None and len(static) == 1:
            only = static[0]
            test = spec.test
            if spec.value_type is ValueType.DATE:
                # request times rarely repeat: compare the canonical form as text
                test = canonical_test(spec.name, only, test)
            self.shape = ("single", only, test)

            def single(context: Context) -> bool:
                vals = context.get(key)
                if vals is None:
                    return if_exists or negated
                if len(vals) == 1:
                    return test(only, vals[0]) != negated
                return any(test(only, v) for v in vals) != negated

            return single
        if static is not None and static:
            preds = static
            test_many = spec.test

            def many(context: Context) -> bool:
                vals = context.get(key)
                if vals is None:
                    return if_exists or negated
                return any(test_many(p, v) for v in vals for p in preds) != negated

            return many
        if equality and all(len(v.template.parts) == 1 for v in self.values):
            # every value is one literal or one bare variable, e.g. "${aws:PrincipalTag/team}"
            lits = frozenset(v.prepared for v in self.values if v.prepared is not None)
            variables = tuple(v.template.parts[0] for v in self.values if v.prepared is None)
            if not lits and len(variables) == 1 and not lower:
                self.shape = ("variable", variables[0])

            def with_variables(context: Context) -> bool:
                vals = context.get(key)
                if vals is None:
                    return if_exists or negated
                wanted = set(lits)
                for var in variables:
                    got = context.get(var.key)  # type: ignore[union-attr]
                    if got is not None and len(got) == 1:
                        wanted.add(got[0].lower() if lower else got[0])
                    elif not got and var.default is not None:  # type: ignore[union-attr]
                        wanted.add(var.default.lower() if lower else var.default)  # type: ignore[union-attr]
                if lower:
                    return any(v.lower() in wanted for v in vals) != negated
                return (not wanted.isdisjoint(vals)) != negated

            return with_variables
        return None

    def _memoised(self) -> tuple[Any, ...]:
        """A variable-free condition is a pure function of the key's values: remember it.

        The missing-key answer and each computed answer come from `holds` itself, so the
        memo can never disagree with the semantics.
        """
        holds = self.holds
        key = self.key
        memo: dict[tuple[str, ...], bool] = {}

        def compute(vals: tuple[str, ...]) -> bool:
            result = bool(holds({key: vals}))
            if len(memo) < _MEMO_LIMIT:
                memo[vals] = result
            return result

        return ("memo", bool(holds({})), memo.get, compute)

    def _build(self) -> Any:
        key = self.key
        test = self.spec.test
        negated = self.negated
        if_exists = self.if_exists
        if self.is_null:
            wants = tuple(bool(v.prepared) for v in self.values)
            self.shape = ("null", frozenset(wants))

            def null(context: Context) -> bool:
                vals = context.get(key)
                absent = vals is None or len(vals) == 0
                return any(w == absent for w in wants)

            return null
        prepared = self._prepared
        if self.qualifier is None:
            fast = self._plain_fast()
            if fast is not None:
                return fast

            def plain(context: Context) -> bool:
                vals = context.get(key)
                if vals is None:
                    return if_exists or negated
                # a policy variable without a value drops out: nothing equals it, and negated
                # operators match it ("Inverted condition operators ... match against a null value")
                preds = prepared(context)
                matched = any(test(p, v) for v in vals for p in preds)
                return matched != negated

            return plain
        if self.qualifier == "ForAnyValue":

            def for_any(context: Context) -> bool:
                vals = context.get(key)
                if vals is None:
                    return if_exists
                if not vals or vals == _NULL_SET:
                    return False
                preds = prepared(context)
                return any(any(test(p, v) for p in preds) != negated for v in vals)

            return for_any

        def for_all(context: Context) -> bool:
            vals = context.get(key)
            if not vals or vals == _NULL_SET:
                return True
            preds = prepared(context)
            return all(any(test(p, v) for p in preds) != negated for v in vals)

        return for_all


def compile_condition(
    condition: Condition, ref: OperatorRef, *, substitute: bool
) -> CompiledCondition:
    """Compile one condition entry of a statement."""
    return CompiledCondition(condition, ref, substitute)
