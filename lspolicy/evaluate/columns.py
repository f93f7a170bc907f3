"""One principal's batch of requests decided column-wise, by statement masks.

`PolicySet.is_allowed_many` with ``principal=`` hands its ``(action, instance part, context)``
items here. For a caller in the resource's account who is not the account root, a statement of
a per-action plan applies when its Resource element matches the ARN and each of its conditions
holds (its Principal element depends only on the caller, fixed for the batch). So:

- each distinct statement core gets a bit; a request's *applying mask* is the AND of one mask
  per *component* of the request's features (the ARN, and each context key whose value varies
  in the batch), where a component's mask for a value has the bit of every core whose
  conditions / Resource on that component hold (and of every core with none there);
- a component's mask is remembered per value for the batch (values repeat far more than whole
  requests: tags, regions, booleans), so the per-request work is C-level: one column of values
  per component, a dict lookup per value, an AND per component;
- the decision is a function of the applying mask alone: an applying Deny denies, every SCP
  level must hold an applying statement, then identity, boundary, session and the resource-based
  grants combine as `authorize._same_account_allows` says. It is remembered per mask.

Features that no request or instance of the batch gives come from the principal's values and
are the same for every request: conditions reading only those are evaluated once per batch.
A condition reading two varying features (a policy variable the instance gives) joins them in
one component, whose value is the tuple of both.

Same answers as `PolicySet.is_allowed` (a property test compares them with ``evaluate`` over
random policy sets with every layer): the applying mask is exactly which statements apply, and
the decision from it mirrors `codegen.compile_decider`.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from operator import and_, attrgetter
from typing import Any

from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.evaluate.principal import Caller
from lspolicy.evaluate.statement import CompiledStatement, StatementCore
from lspolicy.model.request import _SCALARS, RequestPart, to_context_string

__all__ = ["PlanMasks", "decide_columns"]

ARN = "\0arn"
"""The feature name of the resource ARN (no context key is spelled so)."""

Atom = tuple[bool, Any]
"""``(reads the ARN, test)``: ``test(arn, context)`` when the first is true, else ``test(context)``."""

_NONE_TYPE = type(None)
_PLAIN = frozenset({str, _NONE_TYPE})
_values_of = attrgetter("values")
_resource_of = attrgetter("resource")


class _Component:
    """Features that conditions tie together, and the cores whose tests read them."""

    __slots__ = ("cores", "features", "memos", "others", "reads")

    def __init__(
        self,
        features: tuple[str, ...],
        cores: list[tuple[int, list[Atom]]],
        every: int,
        *,
        outside: set[str],
    ) -> None:
        self.features = features
        self.cores = cores
        self.others = every & ~sum(bit for bit, _ in cores)
        """Bits of cores with no test on this component: always set in its masks."""
        self.reads = tuple(f for f in sorted({*features, *outside}) if f != ARN)
        """Every key its masks depend on besides its value: its own keys (a missing value is
        the principal's) and the keys its tests read outside it (the principal's values)."""
        self.memos: dict[tuple[Any, ...], dict[Any, int]] = {}
        """Masks by value, per the principal's values of ``reads``: kept between batches for
        the fleet's features (the ARN, instance tags: the same values come back batch after
        batch; a request's own keys are remembered for the batch only)."""


class _Split:
    """A plan's components for one set of varying features, and the tests reading none."""

    __slots__ = ("comps", "const", "const_masks", "const_reads")

    def __init__(
        self,
        comps: list[_Component],
        const: list[tuple[int, list[Atom]]],
        const_reads: tuple[str, ...],
    ) -> None:
        self.comps = comps
        self.const = const
        self.const_reads = const_reads
        self.const_masks: dict[tuple[Any, ...], int] = {}
        """The bits of cores whose batch-wide tests hold, per the principal's values of
        ``const_reads``."""

    def const_mask(self, every: int, base: Mapping[str, Any]) -> int:
        sig = tuple(map(base.get, self.const_reads))
        got = self.const_masks.get(sig)
        if got is None:
            got = every
            for b, atoms in self.const:
                if not _holds_all(atoms, "*", base):
                    got &= ~b
            if len(self.const_masks) >= 256:
                self.const_masks.clear()
            self.const_masks[sig] = got
        return got


class PlanMasks:
    """A plan's statements as bits: one per distinct statement core, the layers as masks.

    Built once per plan (`PolicySet._plan`'s statements); the components for each set of
    varying features are remembered here too.
    """

    __slots__ = (
        "atoms",
        "bits",
        "boundary",
        "components",
        "deciders",
        "every",
        "features",
        "identity",
        "named_denies",
        "plain_denies",
        "resource",
        "scps",
        "session",
    )  # fmt: skip

    def __init__(
        self,
        denies: Sequence[CompiledStatement],
        identity: Sequence[CompiledStatement],
        boundary: Sequence[CompiledStatement] | None,
        session: Sequence[CompiledStatement] | None,
        scps: Sequence[Sequence[CompiledStatement]],
        resource: Sequence[CompiledStatement] | None,
    ) -> None:
        self.bits: dict[int, int] = {}
        self.atoms: list[tuple[int, list[tuple[frozenset[str], Atom]]]] = []
        """Each core's bit and tests, each test with the features it reads."""

        def bit(st: CompiledStatement) -> int:
            core = st.core
            got = self.bits.get(id(core))
            if got is None:
                got = self.bits[id(core)] = 1 << len(self.bits)
                self.atoms.append((got, _core_atoms(core)))
            return got

        def mask(sts: Sequence[CompiledStatement]) -> int:
            out = 0
            for st in sts:
                out |= bit(st)
            return out

        named = [st for st in denies if st.principal is not None or st.not_principal is not None]
        self.plain_denies = mask([st for st in denies if st not in named])
        self.named_denies = [(bit(st), st) for st in named]
        self.scps = [mask(level) for level in scps]
        self.identity = mask(identity)
        self.boundary = None if boundary is None else mask(boundary)
        self.session = None if session is None else mask(session)
        self.resource = None if resource is None else [(bit(st), st) for st in resource]
        self.every = (1 << len(self.bits)) - 1
        self.features = frozenset(f for _, atoms in self.atoms for fs, _ in atoms for f in fs)
        self.components: dict[frozenset[str], _Split] = {}
        self.deciders: dict[tuple[str | None, int], _Decider] = {}

    def split(self, varying: frozenset[str]) -> _Split:
        """The components over ``varying`` features, and each core's tests that read none of
        them (the same verdict for the whole batch)."""
        hit = self.components.get(varying)
        if hit is not None:
            return hit
        parent: dict[str, str] = {f: f for f in varying}

        def root(f: str) -> str:
            while parent[f] != f:
                parent[f] = parent[parent[f]]
                f = parent[f]
            return f

        for _, atoms in self.atoms:
            for fs, _ in atoms:
                live = [f for f in fs if f in varying]
                for f in live[1:]:
                    parent[root(f)] = root(live[0])
        groups: dict[str, list[str]] = {}
        for f in sorted(varying):
            groups.setdefault(root(f), []).append(f)
        by_root: dict[str, list[tuple[int, list[Atom]]]] = {r: [] for r in groups}
        outside: dict[str, set[str]] = {r: set() for r in groups}
        const: list[tuple[int, list[Atom]]] = []
        const_reads: set[str] = set()
        for b, atoms in self.atoms:
            per: dict[str, list[Atom]] = {}
            fixed: list[Atom] = []
            for fs, atom in atoms:
                live = [f for f in fs if f in varying]
                if live:
                    r = root(live[0])
                    per.setdefault(r, []).append(atom)
                    outside[r].update(f for f in fs if f not in varying)
                else:
                    fixed.append(atom)
                    const_reads.update(fs)
            for r, found in per.items():
                by_root[r].append((b, found))
            if fixed:
                const.append((b, fixed))
        comps = [
            _Component(tuple(groups[r]), by_root[r], self.every, outside=outside[r])
            for r in groups
            if by_root[r]
        ]
        if len(self.components) >= 64:
            self.components.clear()
        got = self.components[varying] = _Split(comps, const, tuple(sorted(const_reads)))
        return got

    def decider(self, caller: Caller | None, const: int) -> _Decider:
        """The decision from a request's applying mask, for ``caller``; ``const`` has the bits
        of cores whose batch-wide tests hold (the others never apply in this batch)."""
        key = (None if caller is None else caller.arn, const)
        hit = self.deciders.get(key)
        if hit is None:
            if len(self.deciders) >= 256:
                self.deciders.clear()
            hit = self.deciders[key] = self._decider(caller, const)
        return hit

    def _decider(self, caller: Caller | None, const: int) -> _Decider:
        deny = self.plain_denies
        for b, st in self.named_denies:
            if st.grant(caller):
                deny |= b
        grants: tuple[tuple[int, int], ...] | None = None
        if self.resource is not None:
            by_kind = [0] * 6
            for b, st in self.resource:
                by_kind[st.grant(caller)] |= b
            grants = tuple((g, by_kind[g]) for g in range(5, 0, -1) if by_kind[g])
        return _Decider(self, deny & const, const, grants)


def _bits(mask: int) -> tuple[int, ...]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low)
        mask ^= low
    return tuple(out)


class _Decider:
    """A plan's decision from applying masks, for one caller and batch."""

    __slots__ = (
        "boundary",
        "const",
        "deny",
        "deny_bits",
        "grants",
        "groups",
        "identity",
        "session",
    )

    def __init__(
        self,
        masks: PlanMasks,
        deny: int,
        const: int,
        grants: tuple[tuple[int, int], ...] | None,
    ) -> None:
        self.deny = deny
        self.deny_bits = _bits(deny)
        self.const = const
        self.grants = grants
        self.identity, self.boundary, self.session = masks.identity, masks.boundary, masks.session
        groups = list(masks.scps)
        if grants is None:
            groups.extend(
                m for m in (masks.identity, masks.boundary, masks.session) if m is not None
            )
        self.groups = tuple((g & const, _bits(g & const)) for g in groups)
        """Masks of which each must hold an applying core: the SCP levels, then (without a
        resource-based policy) the identity policies, the boundary and the session policy."""

    def decide(self, m: int) -> bool:
        """The decision for the applying mask ``m`` (already limited to ``const``)."""
        if m & self.deny:
            return False
        for group, _ in self.groups:
            if not m & group:
                return False
        grants = self.grants
        if grants is None:
            return True
        gr = 0
        for g, gm in grants:
            if m & gm:
                gr = g
                break
        # GrantKind: SESSION 4 and EVERYONE 5 allow alone; USER 3 needs the session policy;
        # ROLE 2 the boundary and the session policy; otherwise all three
        session, boundary = self.session, self.boundary
        s_ok = session is None or bool(m & session)
        if gr >= 4:
            return True
        if gr == 3:
            return s_ok
        b_ok = boundary is None or bool(m & boundary)
        if gr == 2:
            return b_ok and s_ok
        return bool(m & self.identity) and b_ok and s_ok

    def decide_testing(
        self,
        m: int,
        todo: int,
        tests: Mapping[int, list[Atom]],
        arn: str,
        context: Mapping[str, Any],
    ) -> bool:
        """The decision where the cores in ``todo`` (set in ``m``) still have ``tests`` to
        pass: each is tested only when the decision needs it, in the order of the decision
        (Denies first, then each group until one of its cores applies)."""
        if self.grants is not None:  # the grants need every resource statement: test all
            for b in _bits(todo):
                if not _holds_all(tests[b], arn, context):
                    m &= ~b
            return self.decide(m)
        known = m & ~todo
        if m & self.deny:
            if known & self.deny:
                return False
            for b in self.deny_bits:
                if todo & b:
                    if _holds_all(tests[b], arn, context):
                        return False
                    m &= ~b
                    todo &= ~b
        for group, bits in self.groups:
            if known & group:
                continue
            if not todo & group:
                return False
            for b in bits:
                if todo & b:
                    if _holds_all(tests[b], arn, context):
                        known |= b
                        break
                    todo &= ~b
            else:
                return False
        return True


def _core_atoms(core: StatementCore) -> list[tuple[frozenset[str], Atom]]:
    """A core's tests (Resource, then each condition) with the features each reads."""
    out: list[tuple[frozenset[str], Atom]] = []
    shape = core.resource_shape
    if shape[0] == "any":
        if core.resource_negated:  # NotResource "*": applies to nothing
            out.append((frozenset(), (False, _never)))
    elif shape[0] == "dynamic":  # policy variables in Resource: every key the core reads
        out.append((frozenset((ARN, *core.condition_keys)), (True, core.resource_match)))
    else:
        out.append((frozenset((ARN,)), (True, core.resource_match)))
    for c in core.conditions:
        out.append((frozenset((c.key, *c.variable_keys)), (False, _condition_test(c))))
    return out


def _condition_test(c: CompiledCondition) -> Callable[[Mapping[str, Any]], bool]:
    """``c.holds``, through the condition's own memo of verdicts by value where it has one
    (a condition without policy variables: `CompiledCondition._memoised`)."""
    shape = c.shape
    if shape[0] != "memo":
        return c.holds  # type: ignore[no-any-return]
    key = c.key
    missing, seen, compute = shape[1], shape[2], shape[3]

    def test(context: Mapping[str, Any]) -> bool:
        vals = context.get(key)
        if vals is None:
            return missing  # type: ignore[no-any-return]
        hit = seen(vals)
        return compute(vals) if hit is None else hit  # type: ignore[no-any-return]

    return test


def _never(_context: Any) -> bool:
    return False


def _normal(value: Any) -> Any:
    """A context value as a memo key: a string as it is (it stands for its 1-tuple), a
    missing value as None, anything else as the tuple of strings `Request` makes of it."""
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, _SCALARS):
        return (to_context_string(value),)
    return tuple(to_context_string(v) for v in value)


def _holds_all(atoms: list[Atom], arn: str, context: Mapping[str, Any]) -> bool:
    for on_arn, test in atoms:
        if not (test(arn, context) if on_arn else test(context)):
            return False
    return True


def _masker(comp: _Component, base: dict[str, tuple[str, ...]]) -> Callable[[Any], int]:
    """The component's mask for one value (a tuple of the features' values when it has
    several; None for a key: the principal's value, or none)."""
    features = comp.features
    cores = comp.cores
    others = comp.others
    single = len(features) == 1

    def mask(value: Any) -> int:
        values = (value,) if single else value
        context = base
        arn = "*"
        for f, v in zip(features, values, strict=True):
            if f == ARN:
                arn = v
            elif v is not None:
                if context is base:
                    context = dict(base)
                context[f] = (v,) if v.__class__ is str else v
        out = others
        for b, atoms in cores:
            if _holds_all(atoms, arn, context):
                out |= b
        return out

    return mask


_LAZY_FROM = 8
_FLEET_MEMO = 1 << 15


def _decide_lazy(
    decider: _Decider,
    lazy: list[tuple[_Component, list[Any]]],
    applying: list[int],
    base: dict[str, Any],
) -> list[bool]:
    """Each request's decision where ``lazy`` components are tested per request, and only
    as far as the decision needs (`_Decider.decide_testing`)."""
    tests: dict[int, list[Atom]] = {}
    for comp, _ in lazy:
        for b, atoms in comp.cores:
            tests[b] = [*tests.get(b, ()), *atoms]
    todo_bits = sum(tests)
    fields: list[tuple[str, list[Any], int]] = []
    for comp, values in lazy:
        if len(comp.features) == 1:
            fields.append((comp.features[0], values, -1))
        else:
            fields.extend((f, values, j) for j, f in enumerate(comp.features))
    decide = decider.decide
    testing = decider.decide_testing
    memo: dict[int, bool] = {}
    out: list[bool] = []
    append = out.append
    for i, m in enumerate(applying):
        todo = m & todo_bits
        if not todo:
            d = memo.get(m)
            if d is None:
                d = memo[m] = decide(m)
            append(d)
            continue
        context = dict(base)
        arn = "*"
        for f, col, j in fields:
            v = col[i] if j < 0 else col[i][j]
            if f == ARN:
                arn = v
            elif v is not None:
                context[f] = (v,) if v.__class__ is str else v
        append(testing(m, todo, tests, arn, context))
    return out


def decide_columns(
    masks: PlanMasks,
    principal: RequestPart,
    caller: Caller | None,
    parts: Sequence[RequestPart],
    contexts: Sequence[dict[str, Any]],
    spelled: Mapping[str, str],
    instance_keys: frozenset[str] | set[str],
) -> list[bool]:
    """The decisions of one plan for requests ``(parts[n], contexts[n])`` by ``principal``.

    ``spelled`` gives, for each key the plan reads that some context gives, its one spelling
    there (lower case -> as given); ``instance_keys`` holds every key some part gives.
    Precondition (the caller's): each part is in the caller's account (or names none), names no
    caller and gives no key in two spellings; the caller is not the account root.
    """
    n = len(parts)
    base = principal.values
    # where each key's value comes from: the request's own keys (one spelling each), else the
    # instance's values, else the principal's (constant)
    varying: set[str] = {ARN}
    for f in masks.features:
        if f in spelled or f in instance_keys:
            varying.add(f)
    split = masks.split(frozenset(varying))
    comps = split.comps
    const = split.const_mask(masks.every, base)
    decider = masks.decider(caller, const)
    if not comps:
        return [decider.decide(const)] * n
    part_values: list[dict[str, Any]] | None = None
    columns: dict[str, list[Any]] = {}

    def column(f: str) -> list[Any]:
        nonlocal part_values
        got = columns.get(f)
        if got is not None:
            return got
        if f == ARN:
            got = [r if r is not None else "*" for r in map(_resource_of, parts)]
        else:
            inst = None
            if f in instance_keys:
                if part_values is None:
                    part_values = list(map(_values_of, parts))
                inst = list(map(dict.get, part_values, repeat(f)))
            name = spelled.get(f)
            if name is None:
                got = inst
            else:
                got = list(map(dict.get, contexts, repeat(name)))
                if not _PLAIN.issuperset(set(map(type, got))):
                    got = list(map(_normal, got))
                if inst is not None and None in got:
                    got = [c if c is not None else i for c, i in zip(got, inst, strict=True)]
        assert got is not None
        columns[f] = got
        return got

    applying: list[int] | None = None
    lazy: list[tuple[_Component, list[Any]]] = []
    for comp in comps:
        features = comp.features
        if len(features) == 1:
            values = column(features[0])
        else:
            values = list(zip(*map(column, features), strict=True))
        fleet = not any(f in spelled for f in features)
        if not fleet and n >= _LAZY_FROM and len(set(values)) * 2 > n:
            # a request key whose values hardly repeat (a time, an address): tested per
            # request, only for the cores the other components left applying
            lazy.append((comp, values))
            continue
        if fleet:
            sig = tuple(map(base.get, comp.reads))
            memo = comp.memos.get(sig)
            if memo is None or len(memo) >= _FLEET_MEMO:
                if len(comp.memos) >= 256:
                    comp.memos.clear()
                memo = comp.memos[sig] = {}
        else:
            memo = {}
        if len(memo) < len(values):
            missing = set(values).difference(memo)
        else:
            missing = {v for v in values if v not in memo}
        if missing:
            compute = _masker(comp, base)
            for v in missing:
                memo[v] = compute(v)
        got = list(map(memo.__getitem__, values))
        applying = got if applying is None else list(map(and_, applying, got))
    if applying is None:
        applying = [const] * n
    elif const != masks.every:
        applying = list(map(and_, applying, repeat(const)))
    if lazy:
        return _decide_lazy(decider, lazy, applying, base)
    decide = decider.decide
    decisions = {m: decide(m) for m in set(applying)}
    out = list(map(decisions.__getitem__, applying))
    return out
