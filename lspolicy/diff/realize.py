"""From a solution of the search to concrete values, including policy variables.

The search chose a class for each slot and, for each value tested against a template such as
``${aws:PrincipalTag/team}``, whether it matches. Without templates every class's
representative is the value. With them, the variable's value ``x`` and the tested values must be
chosen together:

1. For each variable, the candidates for ``x`` are the strings of its own class that could make
   each *positive* template test true: ``x`` must be the middle of some string of the tested
   value's class, written ``prefix·x·suffix`` by the template's structure. That set is regular:
   an automaton over ``x`` tracks the set of states the tested slot's automaton can be in
   (`_Middle`), and a product with ``x``'s own class automaton gives it. It contains every ``x``
   of every solution.
2. Candidates are tried in order (readable ones first, then shortest first); for each, every
   tested value is solved exactly with the resolved templates as plain atoms.
3. If the candidates run out, no ``x`` works: exact. If the budget runs out first (or a
   variable's class cannot be enumerated, e.g. a number), the leaf is "unknown".

A template whose structure depends on the variable's value (a ``*`` right before the variable in
a Resource, a variable before an ARN's sixth component, ``IgnoreCase`` or a typed operator) gives
no automaton in step 1: its candidates come only from the variable's own class, still tried
exactly, but then the result can only be exact when the variable's class is finite.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, cast

from lspolicy.diff.atoms import STRING_FAMILIES, Atom
from lspolicy.diff.automata import (
    ComplexityError,
    Element,
    LiteralSet,
    Product,
    SeqNFA,
    State,
    coreachable,
    find,
    reachable,
    run,
)
from lspolicy.diff.domains import StringSpace, compute_domain
from lspolicy.diff.search import Bits, Problem, Slot, SlotValue, instantiate

__all__ = ["Realized", "realize"]

CANDIDATE_LIMIT: Final = 8
"""Values of one variable tried before a leaf is declared "unknown"."""
COMBINATION_LIMIT: Final = 64

Values = dict[str, str | list[str] | None]
Instance = tuple[str, int]
_Solved = tuple[dict[Instance, str] | None, dict[str, str], bool, tuple[str, ...]]


@dataclass
class Realized:
    """Concrete values for every slot (None: absent), or why there are none."""

    values: Values | None
    exact: bool = True
    reasons: list[str] = field(default_factory=list)


def _string_slot(slot: Slot) -> bool:
    families = {a.family for a in slot.atoms} | {a.family for a, _ in slot.required}
    return families <= STRING_FAMILIES


class _Middle:
    """Over ``x``: the set of states a slot's automaton can be in after ``w1·x`` with
    ``w1`` spelled by the template's prefix; accepting when some state can still end in the
    slot's class after a suffix spelled by the template's suffix."""

    def __init__(
        self,
        space: StringSpace,
        wanted: Sequence[bool],
        prefix: Sequence[Element],
        suffix: Sequence[Element],
    ) -> None:
        self.inner = space.product
        views = space.views
        pairs = list(zip(views, wanted, strict=True))
        pre = SeqNFA([prefix])
        joint = Product([*self.inner.automata, pre])
        self.start: frozenset[tuple[State, ...]] = frozenset(
            st[:-1] for st in reachable(joint) if pre.accepts(st[-1])
        )
        # every state some x leads to, and which of them some suffix finishes in the class
        middle = reachable(self.inner, starts=self.start)
        post = SeqNFA([suffix])
        tail = Product([*self.inner.automata, post])
        good = coreachable(
            tail,
            [(*q, post.start) for q in middle],
            lambda st: post.accepts(st[-1]) and all(view(st[:-1]) == w for view, w in pairs),
        )
        self._final = frozenset(q for q in middle if (*q, post.start) in good)
        self.chars = self.inner.chars | pre.chars | post.chars
        self._steps: dict[tuple[State, str], State] = {}

    def step(self, state: State, ch: str) -> State:
        key = (state, ch)
        hit = self._steps.get(key)
        if hit is None:
            hit = frozenset(self.inner.step(q, ch) for q in state)
            self._steps[key] = hit
        return hit

    def interesting(self, state: State) -> set[str]:
        out: set[str] = set()
        for q in state:
            for a, s in zip(self.inner.automata, q, strict=True):
                out.update(a.interesting(s))
        return out

    def accepts(self, state: State) -> bool:
        return not self._final.isdisjoint(state)


class _Stream:
    """Candidate values of one variable, readable first, then shortest first, each once."""

    def __init__(
        self,
        slot: Slot,
        cls: int,
        middles: Sequence[_Middle],
        readable: Sequence[str],
    ) -> None:
        self.slot = slot
        self.cls = cls
        self.readable = readable
        self.exhausted = False
        self.enumerable = _string_slot(slot)
        sig = slot.domain.classes[cls].sig
        if self.enumerable:
            space = StringSpace(slot.atoms)
            self._automata = [*space.product.automata, *middles]
            k = len(space.product.automata)
            views = space.views
            wanted = list(zip(views, sig, strict=True))
            ms = list(enumerate(middles))

            def goal(st: tuple[State, ...]) -> bool:
                return all(v(st) == w for v, w in wanted) and all(
                    m.accepts(st[k + i]) for i, m in ms
                )

            self._goal = goal
        else:
            self._sig = sig

    def _concrete(self, text: str) -> bool:
        return tuple(a.test(text) for a in self.slot.atoms) == self._sig

    def __iter__(self) -> Iterator[str]:
        seen: list[str] = []
        if not self.enumerable:
            for text in [self.slot.domain.classes[self.cls].rep, *self.readable]:
                if text not in seen and self._concrete(text):
                    seen.append(text)
                    yield text
            return
        product = Product(self._automata)
        for text in self.readable:
            if text not in seen and self._goal(run(product, text)):
                seen.append(text)
                yield text
        while True:
            found = find(Product([*self._automata, LiteralSet(seen)]), self._fresh(seen))
            if found is None:
                self.exhausted = True
                return
            seen.append(found)
            yield found

    def _fresh(self, seen: Sequence[str]) -> Callable[[tuple[State, ...]], bool]:
        """Goal: a candidate not yet tried (the last automaton is the trie of those tried)."""
        finals = frozenset(LiteralSet(seen).ends)
        goal = self._goal
        return lambda st: st[-1] not in finals and goal(st[:-1])


class _Leaf:
    def __init__(self, problem: Problem, asg: Mapping[str, SlotValue], bits: Bits) -> None:
        self.problem = problem
        self.asg = asg
        self.deps: dict[Instance, list[tuple[int, bool]]] = {}
        for (slot, cls, j), bit in sorted(bits.items()):
            self.deps.setdefault((slot, cls), []).append((j, bit))
        self.reasons: list[str] = []
        self.exact = True

    def rep(self, slot: str, cls: int) -> str:
        return self.problem.slots[slot].domain.classes[cls].rep

    def needed(self) -> dict[str, int]:
        """Variables whose value a template test needs, with their class."""
        out: dict[str, int] = {}
        for deps in self.deps.values():
            for j, _ in deps:
                for var in self.problem.templates[j].raw.variables:
                    sv = self.asg[var.key]
                    if sv.variable_kind == "single":
                        out[var.key] = sv.classes[0]
        return out

    def base_context(self, needed: Mapping[str, int]) -> dict[str, tuple[str, ...]]:
        ctx: dict[str, tuple[str, ...]] = {}
        for key in self.problem.variable_slots:
            sv = self.asg[key]
            kind = sv.variable_kind
            if sv.absent:
                continue
            if sv.empty:
                ctx[key] = ()
            elif kind == "none":
                ctx[key] = ("", "")  # several values: no single value to substitute
            elif key not in needed:
                ctx[key] = (self.rep(key, sv.classes[0]),)
        return ctx

    # -- one tested value

    def solve(self, inst: Instance, ctx: Mapping[str, tuple[str, ...]]) -> tuple[str | None, bool]:
        slot_key, cls = inst
        slot = self.problem.slots[slot_key]
        sig = slot.domain.classes[cls].sig
        extra: list[Atom] = []
        wants: list[bool] = []
        for j, bit in self.deps[inst]:
            atom = self.problem.templates[j].raw.resolve(ctx)
            if atom is None:
                if bit:
                    return None, True  # a dropped value matches nothing
                continue
            extra.append(atom)
            wants.append(bit)
        if slot.fixed is not None:
            ok = all(a.test(slot.fixed) == w for a, w in zip(extra, wants, strict=True))
            return (slot.fixed if ok else None), True
        readable = [
            slot.domain.classes[cls].rep,
            *(
                instantiate(b, star)
                for a in extra
                if a.elements is not None
                for b in a.elements
                for star in ("x", "")
            ),
            *(a.text for a in extra if a.text is not None),
            *slot.candidates,
        ]
        families = {a.family for a in extra} | {a.family for a in slot.atoms}
        families |= {a.family for a, _ in slot.required}
        if families <= STRING_FAMILIES:
            space = StringSpace([*slot.atoms, *extra, *(a for a, _ in slot.required)])
            wanted = [*sig, *wants, *(w for _, w in slot.required)]
            return space.find(wanted, candidates=readable), True
        domain = compute_domain([*slot.atoms, *extra], required=slot.required, candidates=readable)
        target = (*sig, *wants)
        for c in domain.classes:
            if c.sig == target:
                return c.rep, True
        return None, domain.exact

    # -- the variables

    def middles(self, var: str, instances: Sequence[Instance]) -> list[_Middle]:
        out: list[_Middle] = []
        for inst in instances:
            slot = self.problem.slots[inst[0]]
            if inst[0] in self.problem.variable_slots or not _string_slot(slot):
                continue
            for j, bit in self.deps[inst]:
                raw = self.problem.templates[j].raw
                if not bit or raw.shape is None or [v.key for v in raw.variables] != [var]:
                    continue
                key = ("middle", inst, j)
                middle = cast(_Middle | None, self.problem.memo.get(key))
                if middle is None:
                    at = next(i for i, el in enumerate(raw.shape) if el[0] == "v")
                    space = StringSpace([*slot.atoms, *(a for a, _ in slot.required)])
                    wanted = [*slot.domain.classes[inst[1]].sig, *(w for _, w in slot.required)]
                    middle = _Middle(space, wanted, raw.shape[:at], raw.shape[at + 1 :])
                    self.problem.memo[key] = middle
                out.append(middle)
        return out

    def coverable(self, inst: Instance, deps: Sequence[tuple[int, bool]]) -> bool:
        """Whether some value of the instance's class matches every template it must match,
        each taken at its widest (any variable values): if not, no variable value helps."""
        slot = self.problem.slots[inst[0]]
        if not _string_slot(slot):
            return True
        covers = tuple(
            cover
            for j, bit in deps
            if bit and (cover := self.problem.templates[j].raw.cover) is not None
        )
        if not covers:
            return True
        key = ("cover", inst, covers)
        hit = self.problem.memo.get(key)
        if hit is None:
            hit = _meets(slot, inst[1], covers)
            self.problem.memo[key] = hit
        return bool(hit)

    def readable_for(self, var: str, instances: Sequence[Instance]) -> list[str]:
        out = list(self.problem.slots[var].candidates)
        for inst in instances:
            slot = self.problem.slots[inst[0]]
            out.append(slot.domain.classes[inst[1]].rep)
            out.extend(slot.candidates)
        return list(dict.fromkeys(out))

    def check_self(self, var: str, x: str, ctx: Mapping[str, tuple[str, ...]]) -> bool:
        """A variable's slot tested against a template itself: its value is ``x``."""
        sv = self.asg[var]
        inst = (var, sv.classes[0])
        for j, bit in self.deps.get(inst, ()):
            atom = self.problem.templates[j].raw.resolve(ctx)
            if (atom is not None and atom.test(x)) != bit:
                return False
        return True

    def run(self) -> Realized:
        if not self.deps:
            return Realized(self.assemble({}, {}))
        involved = sorted({*self.problem.variable_slots, *(slot for slot, _ in self.deps)})
        key = (
            "leaf",
            tuple((inst, tuple(deps)) for inst, deps in sorted(self.deps.items())),
            tuple((k, self.asg[k]) for k in involved),
        )
        hit = self.problem.memo.get(key)
        if hit is None:
            hit = self.dependents()
            self.problem.memo[key] = hit
        chosen, var_values, exact, reasons = cast(_Solved, hit)
        if chosen is None:
            return Realized(None, exact, list(reasons))
        return Realized(self.assemble(chosen, var_values))

    def dependents(self) -> _Solved:
        """Values for the variables and for every value tested against a template."""
        problem = self.problem
        for inst, deps in self.deps.items():
            if _contradiction(problem, deps) or not self.coverable(inst, deps):
                return None, {}, True, ()
        needed = self.needed()
        ctx = self.base_context(needed)
        chosen: dict[Instance, str] = {}
        var_values: dict[str, str] = {}
        if needed:
            # instances that read each variable; variables read together are solved together
            reads: dict[Instance, set[str]] = {}
            for inst, deps in self.deps.items():
                keys: set[str] = set()
                for j, _ in deps:
                    keys.update(
                        v.key for v in problem.templates[j].raw.variables if v.key in needed
                    )
                reads[inst] = keys
            groups = _components(needed, reads)
            for group in groups:
                members = [i for i, keys in reads.items() if keys & group]
                ok = self.solve_group(
                    sorted(group),
                    members,
                    needed=needed,
                    ctx=ctx,
                    chosen=chosen,
                    var_values=var_values,
                )
                if not ok:
                    return None, {}, self.exact, tuple(self.reasons)
        for inst in self.deps:
            if inst not in chosen and inst[0] not in var_values:
                value, exact = self.solve(inst, ctx)
                if value is None:
                    if not exact:
                        self.exact = False
                        self.reasons.append(f"values of {problem.slots[inst[0]].name}")
                    return None, {}, self.exact, tuple(self.reasons)
                chosen[inst] = value
        return chosen, var_values, True, ()

    def solve_group(
        self,
        group: Sequence[str],
        members: Sequence[Instance],
        *,
        needed: Mapping[str, int],
        ctx: dict[str, tuple[str, ...]],
        chosen: dict[Instance, str],
        var_values: dict[str, str],
    ) -> bool:
        streams = [
            _Stream(
                self.problem.slots[var],
                needed[var],
                self.middles(var, members),
                self.readable_for(var, members),
            )
            for var in group
        ]
        inexact = False
        tried = 0
        pools: list[list[str]] = []
        if len(streams) == 1:
            iterators: list[Iterator[str]] = [itertools.islice(iter(streams[0]), CANDIDATE_LIMIT)]
        else:
            pools = [list(itertools.islice(iter(s), CANDIDATE_LIMIT // 2 or 1)) for s in streams]
            iterators = [iter(pool) for pool in pools]
        try:
            for combo in itertools.product(*iterators):
                tried += 1
                if tried > COMBINATION_LIMIT:
                    break
                local = dict(ctx)
                for var, x in zip(group, combo, strict=True):
                    local[var] = (x,)
                if not all(
                    self.check_self(var, x, local) for var, x in zip(group, combo, strict=True)
                ):
                    continue
                solved: dict[Instance, str] = {}
                for inst in members:
                    if inst[0] in group:
                        continue
                    value, exact = self.solve(inst, local)
                    if value is None:
                        inexact = inexact or not exact
                        break
                    solved[inst] = value
                else:
                    chosen.update(solved)
                    var_values.update(zip(group, combo, strict=True))
                    ctx.update({var: (x,) for var, x in zip(group, combo, strict=True)})
                    return True
        except ComplexityError:
            inexact = True
        # a variable none of whose candidates can exist (its language is empty) settles it
        none_exist = any(
            s.exhausted and s.enumerable and not pool
            for s, pool in zip(streams, pools, strict=False)
        )
        if not none_exist and (inexact or not all(s.exhausted and s.enumerable for s in streams)):
            self.exact = False
            names = ", ".join(self.problem.slots[v].name for v in group)
            self.reasons.append(
                f"a policy variable (${{{names}}}): no value found among the first {tried} tried"
            )
        return False

    def assemble(self, chosen: Mapping[Instance, str], var_values: Mapping[str, str]) -> Values:
        out: Values = {}
        for key, sv in self.asg.items():
            if sv.absent:
                out[key] = None
                continue

            def value(cls: int, key: str = key) -> str:
                if key in var_values:
                    return var_values[key]
                return chosen.get((key, cls), self.rep(key, cls))

            if not sv.many:
                out[key] = value(sv.classes[0])
            elif sv.dup_empty:
                out[key] = ["", ""]
            else:
                out[key] = [value(c) for c in sv.classes]
        return out


def _meets(slot: Slot, cls: int, covers: Sequence[Sequence[Element]]) -> bool:
    """Whether some value of the slot's class is spelled by every cover (exhaustive)."""
    globs = [SeqNFA([cover]) for cover in covers]
    space = StringSpace([*slot.atoms, *(a for a, _ in slot.required)])
    wanted = [*slot.domain.classes[cls].sig, *(w for _, w in slot.required)]
    pairs = list(zip(space.views, wanted, strict=True))
    product = Product([*space.product.automata, *globs])
    n = len(globs)

    def goal(st: tuple[State, ...]) -> bool:
        inner = st[:-n]
        return all(g.accepts(q) for g, q in zip(globs, st[-n:], strict=True)) and all(
            v(inner) == w for v, w in pairs
        )

    return find(product, goal) is not None


def _included(small: Sequence[Element], big: Sequence[Element]) -> bool:
    """Whether every string ``small`` spells, ``big`` spells too (exhaustive)."""
    a, b = SeqNFA([small]), SeqNFA([big])
    product = Product([a, b])
    return find(product, lambda st: a.accepts(st[0]) and not b.accepts(st[1])) is None


def _split(shape: Sequence[Element]) -> tuple[Sequence[Element], Sequence[Element]]:
    at = next(i for i, el in enumerate(shape) if el[0] == "v")
    return shape[:at], shape[at + 1 :]


def _contradiction(problem: Problem, deps: Sequence[tuple[int, bool]]) -> bool:
    """A value cannot match ``p1·x·p2`` and not ``q1·x·q2`` (same variable) when every string
    of ``p1`` is one of ``q1`` and every string of ``p2`` one of ``q2``: then for every ``x``
    the first template's strings are among the second's."""
    shaped = [
        (problem.templates[j].raw, bit)
        for j, bit in deps
        if problem.templates[j].raw.shape is not None
        and len(problem.templates[j].raw.variables) == 1
    ]
    for pos, bit_p in shaped:
        if not bit_p:
            continue
        for neg, bit_n in shaped:
            if bit_n or neg.variables[0].key != pos.variables[0].key:
                continue
            assert pos.shape is not None and neg.shape is not None
            (p1, p2), (q1, q2) = _split(pos.shape), _split(neg.shape)
            if _included(p1, q1) and _included(p2, q2):
                return True
    return False


def _components(needed: Mapping[str, int], reads: Mapping[Instance, set[str]]) -> list[set[str]]:
    groups: list[set[str]] = [{v} for v in sorted(needed)]
    for inst, keys in reads.items():
        linked = set(keys)
        if inst[0] in needed:
            linked.add(inst[0])
        if len(linked) < 2:
            continue
        merged = [g for g in groups if g & linked]
        rest = [g for g in groups if not (g & linked)]
        groups = [*rest, set().union(*merged)]
    return sorted(groups, key=sorted)


def realize(problem: Problem, asg: Mapping[str, SlotValue], bits: Bits) -> Realized:
    """Concrete values for a solution of the search, or why there are none."""
    try:
        return _Leaf(problem, asg, bits).run()
    except ComplexityError as exc:
        return Realized(None, exact=False, reasons=[f"too many string states ({exc})"])
