"""Forward checking for the search: each unassigned slot's choices, narrowed to those that
keep the difference possible.

A statement applies when its resource test and each of its conditions hold (its *parts*; a
part reads one slot, plus the variables of any template it tests). The search evaluates both
sides' decisions three-valued over a partial assignment, and three-valued "false" stays false
under every completion. So at a node, a choice ``v`` of an unassigned slot ``k`` whose
addition makes the difference false is in no solution below the node: dropping it loses none
(`Narrowing.narrow`). When a slot has no choice left, the node holds no solution and is cut
there, not after every slot in between; the search then branches on the slot with the fewest
choices left (a slot with one is settled at once). This is what a constraint solver calls
forward checking, with the decision formula as the one constraint.

It is cheap because a choice of ``k`` can only change the undecided statements with a part
reading ``k``, and only through those parts: statements are numbered, sets of them are bit
masks (true, undecided, decided by ``k`` alone), the decisions are recombined from the masks
of each side's roles, and for each choice of a slot the statements its parts make false, or
all true, are computed once per search (`Narrowing.table`; a part testing a template is
evaluated at the node instead).

Two reductions, each exact:

- a slot no undecided statement reads cannot change a decision below the node (and, when no
  template involves it, nor a realisation): its cheapest choice stands for all;
- choices with the same effect on every undecided statement reading the slot (no template
  involved) are interchangeable below the node: only the cheapest is kept (the earliest among
  equals, the one the search would have reported).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from lspolicy.diff.logic import and3, condition_outcome
from lspolicy.diff.problem import RESOURCE

if TYPE_CHECKING:  # the search imports this module
    from lspolicy.diff.search import (
        Bits,
        Condition,
        Evaluator,
        Problem,
        SlotValue,
        Statement,
        TemplateInfo,
    )

__all__ = ["Domains", "Masks", "Narrowing"]

Domains = dict[str, tuple["SlotValue", ...]]
"""The choices still open for each unassigned slot."""

_UNSET: Final = object()


@dataclass(frozen=True, eq=False)
class _Part:
    """The resource test (``cond`` None) or one condition of a statement."""

    statement: Statement
    cond: Condition | None
    key: str
    """The slot whose values it tests."""
    reads: frozenset[str]
    """That slot and the variables of the templates it tests."""
    pure: bool
    """It tests no template: its value depends on ``key``'s choice alone."""


def _parts(st: Statement, templates: Sequence[TemplateInfo]) -> list[_Part]:
    def part(cond: Condition | None, key: str, preds: Iterable[tuple[str, int]]) -> _Part:
        reads = {key}
        pure = True
        for kind, i in preds:
            if kind == "t":
                pure = False
                reads.update(v.key for v in templates[i].raw.variables)
        return _Part(st, cond, key, frozenset(reads), pure)

    out: list[_Part] = []
    if st.resource is not None:
        out.append(part(None, RESOURCE, st.resource))
    out.extend(part(c, c.slot, c.preds) for c in st.conditions)
    return out


def _members(mask: int) -> Iterable[int]:
    """The positions of a mask's bits, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _pure_value(p: _Part, sv: SlotValue, passes: Sequence[bool]) -> bool | None:
    """A part testing no template, for its slot's choice ``sv`` (``passes``: for each class
    of the slot, whether its values pass one of the part's tests), exactly as
    `lspolicy.diff.search.Evaluator.condition` (and its resource test) decides it: from known
    passes the answer is never None."""
    if p.cond is None:
        return passes[sv.classes[0]] != p.statement.raw.resource_negated
    return condition_outcome(p.cond.raw, sv, (passes[c] for c in sv.classes))


Masks = tuple[int, int]
"""(true, undecided): the statements known to apply, and those not yet decided (the rest
cannot apply)."""
_Shape = tuple[int | None, int | None, int | None]
"""A side's statements by role (deny, identity, boundary) as masks; None: no such role."""


class Narrowing:
    """The forward checking of one search (one problem, one direction).

    Statements are numbered, and sets of them are bit masks: which are true, which are
    undecided, which read a slot, which a choice makes false or true."""

    def __init__(self, ev: Evaluator, problem: Problem) -> None:
        self.ev = ev
        self.problem = problem
        self.index = {id(st): i for i, st in enumerate(problem.statements)}
        self.parts: tuple[tuple[_Part, ...], ...] = tuple(
            tuple(_parts(st, problem.templates)) for st in problem.statements
        )
        self.reading: dict[str, int] = {}
        """The statements with a part reading each slot."""
        self.impure: dict[str, int] = {}
        """The statements with a part reading the slot that tests a template."""
        self.impure_statements = 0
        """The statements with a part that tests a template."""
        for i, parts in enumerate(self.parts):
            for p in parts:
                for k in p.reads:
                    self.reading[k] = self.reading.get(k, 0) | 1 << i
                    if not p.pure:
                        self.impure[k] = self.impure.get(k, 0) | 1 << i
                        self.impure_statements |= 1 << i
        self.shape: dict[str, _Shape] = {}
        for side, groups in ev.sides.items():
            masks: list[int | None] = []
            for role in ("deny", "identity", "boundary"):
                sts = groups[role]
                mask = None if sts is None else 0
                for st in sts or ():
                    mask = (mask or 0) | 1 << self.index[id(st)]
                masks.append(mask)
            self.shape[side] = (masks[0], masks[1], masks[2])
        self.allow, self.deny = ("new", "old") if ev.direction == "new-access" else ("old", "new")
        self._values: dict[tuple[int, int], bool | None] = {}
        self._tables: dict[str, dict[int, tuple[int, int]]] = {}
        self.keys = tuple(frozenset(k for p in parts for k in p.reads) for parts in self.parts)
        """The slots each statement reads."""
        involved: set[str] = set(problem.variable_slots)
        for info in problem.templates:
            involved.add(info.raw.slot)
        self.involved = frozenset(involved)
        """Slots a template tests or reads: their choices matter to a realisation too."""

    # -- one part

    def value(self, p: _Part, asg: Mapping[str, SlotValue], bits: Bits) -> bool | None:
        """The part's value over ``asg`` (None: not yet known)."""
        sv = asg.get(p.key)
        if sv is None:
            return None
        if not p.pure:
            return self._evaluate(p, asg, bits)
        memo = (id(p), id(sv))
        got = self._values.get(memo, _UNSET)
        if got is _UNSET:
            got = self._evaluate(p, {p.key: sv}, {})
            self._values[memo] = got
        return got  # type: ignore[return-value]

    def _evaluate(self, p: _Part, asg: Mapping[str, SlotValue], bits: Bits) -> bool | None:
        ev = self.ev
        if p.cond is not None:
            return ev.condition(p.cond, asg, bits, None)
        st = p.statement
        sv = asg.get(RESOURCE)
        if sv is None or st.resource is None:
            return None
        matched = ev._value_matches(
            RESOURCE, sv.classes[0], st.resource, asg=asg, bits=bits, need=None
        )
        return None if matched is None else matched != st.raw.resource_negated

    def table(self, key: str) -> dict[int, tuple[int, int]]:
        """For each choice of ``key`` (by ``id``), of the statements whose parts reading
        ``key`` are all pure: (those a part of which it makes false, those whose every such
        part it makes true)."""
        got = self._tables.get(key)
        if got is not None:
            return got
        got = self._tables[key] = {}
        slot = self.problem.slots[key]
        sigs = [c.sig for c in slot.domain.classes]
        pure = self.reading.get(key, 0) & ~self.impure.get(key, 0)
        if key == RESOURCE:
            self._resource_table(got, slot.values, sigs, pure)
            return got
        mine: list[tuple[int, list[tuple[_Part, list[bool]]]]] = []
        for i in _members(pure):
            parts = []
            for p in self.parts[i]:
                if key in p.reads:
                    preds = p.statement.resource if p.cond is None else p.cond.preds
                    passes = [any(sig[j] for _, j in preds or ()) for sig in sigs]
                    parts.append((p, passes))
            mine.append((1 << i, parts))
        for sv in slot.values:
            false = true = 0
            for bit, parts in mine:
                values = [_pure_value(p, sv, passes) for p, passes in parts]
                if False in values:
                    false |= bit
                elif all(values):
                    true |= bit
            got[id(sv)] = (false, true)
        return got

    def _resource_table(
        self,
        got: dict[int, tuple[int, int]],
        values: Sequence[SlotValue],
        sigs: Sequence[Sequence[bool]],
        pure: int,
    ) -> None:
        """`table` for the resource, by masks: a statement's resource test passes when one
        of its atoms does (then negated for ``NotResource``), so a class's passing
        statements are the union of its passing atoms' statements."""
        by_atom: dict[int, int] = {}
        negated = 0
        for i in _members(pure):
            st = self.problem.statements[i]
            for _, j in st.resource or ():
                by_atom[j] = by_atom.get(j, 0) | 1 << i
            if st.raw.resource_negated:
                negated |= 1 << i
        for sv in values:
            sig = sigs[sv.classes[0]]
            hit = 0
            for j, mask in by_atom.items():
                if sig[j]:
                    hit |= mask
            passes = (hit ^ negated) & pure
            got[id(sv)] = (pure & ~passes, passes)

    # -- the state of a node

    def possible(self, true: int, open_: int) -> bool:
        """Whether the difference is not yet false, from which statements are true and
        which undecided: the allowing side not denied, the denying side not allowed (as
        `lspolicy.diff.search.Evaluator.decision` combines the roles)."""
        d, i, b = self.shape[self.allow]
        if d is not None and d & true:
            return False
        if i is not None and not i & (true | open_):
            return False
        if b is not None and not b & (true | open_):
            return False
        d, i, b = self.shape[self.deny]
        if d is not None and d & (true | open_):
            return True
        if i is not None and not i & true:
            return True
        return b is not None and not b & true

    def root(self, asg: Mapping[str, SlotValue], bits: Bits) -> Masks:
        """(true, undecided) statements before any choice (a statement with neither a
        resource test nor a condition applies to every request)."""
        true = 0
        for i, parts in enumerate(self.parts):
            if not parts:
                true |= 1 << i
        every = (1 << len(self.parts)) - 1
        return self.refresh((true, every & ~true), asg, bits)

    def refresh(self, masks: Masks, asg: Mapping[str, SlotValue], bits: Bits) -> Masks:
        """The undecided statements that test a template, evaluated again (a choice or a
        template's boolean may have decided them; the others are kept up to date by
        `assign`)."""
        true, open_ = masks
        which = open_ & self.impure_statements
        for i in _members(which):
            value = and3(self.value(p, asg, bits) for p in self.parts[i])
            if value is not None:
                open_ &= ~(1 << i)
                if value:
                    true |= 1 << i
        return true, open_

    def assign(self, masks: Masks, key: str, sv: SlotValue, alone: int) -> Masks:
        """The masks once ``key`` takes ``sv`` (``alone``: the undecided statements, none
        testing a template, whose only unassigned slot was ``key``). Statements that test a
        template are left to `refresh`."""
        true, open_ = masks
        false, made = self.table(key)[id(sv)]
        touched = open_ & self.reading.get(key, 0) & ~self.impure_statements
        false &= touched
        made &= alone & touched
        return true | made, open_ & ~(false | made)

    def live(self, st: Statement, masks: Masks) -> bool:
        """Whether the statement may still apply (true or undecided)."""
        true, open_ = masks
        return bool((true | open_) >> self.index[id(st)] & 1)

    def narrow(
        self,
        dom: Domains,
        masks: Masks,
        asg: dict[str, SlotValue],
        bits: Bits,
    ) -> tuple[Domains, dict[str, int]] | None:
        """Each slot's choices that keep the difference possible under ``asg`` (``masks``:
        which statements are true and which undecided), and for each slot the undecided
        statements (none testing a template) it alone still decides; None when a slot has
        no choice left."""
        true, open_ = masks
        # an undecided statement whose unknown parts all read ``k`` is decided by ``k``'s
        # choice alone: true when its parts reading ``k`` are
        alone: dict[str, int] = {}
        impure_all = self.impure_statements
        reading = self.reading
        # pure parts are unknown exactly when their slot is unassigned: a statement testing
        # no template is decided by ``k`` alone when ``k`` is the one unassigned slot it
        # reads (by masks: the statements read by exactly one slot of ``dom``)
        pure_open = open_ & ~impure_all
        if pure_open:
            once = twice = 0
            for k in dom:
                r = reading.get(k, 0) & pure_open
                if r:
                    twice |= once & r
                    once |= r
            single = once & ~twice
            if single:
                for k in dom:
                    r = reading.get(k, 0) & single
                    if r:
                        alone[k] = r
        for i in _members(open_ & impure_all):
            common: set[str] | None = None
            for p in self.parts[i]:
                if self.value(p, asg, bits) is None:
                    common = set(p.reads) if common is None else common & p.reads
            for k in common or ():
                if k in dom:
                    alone[k] = alone.get(k, 0) | 1 << i
        found: Domains = {}
        # `possible`, inlined: it is asked of every choice of every slot at every node
        a_deny, a_identity, a_boundary = self.shape[self.allow]
        d_deny, d_identity, d_boundary = self.shape[self.deny]
        impure_of, involved = self.impure, self.involved
        for key in sorted(dom, key=lambda k: len(dom[k])):  # the likeliest to run out first
            choices = dom[key]
            touched = open_ & reading.get(key, 0)
            if not touched:
                if key in involved:
                    found[key] = choices
                    continue
                if not choices:
                    return None
                # choices come cheapest first (`Problem._values`): the first is the cheapest
                found[key] = choices[:1]
                continue
            impure = touched & impure_of.get(key, 0)
            by_key = alone.get(key, 0) & ~impure
            table = self._tables.get(key) or self.table(key)
            alike = not impure and key not in involved
            kept: dict[tuple[int, int], SlotValue] = {}
            dead: set[tuple[int, int]] = set()
            reordered = False
            for n, sv in enumerate(choices):
                false, made = table[id(sv)]
                false &= touched
                if alike:
                    # the same effect on every undecided statement as a choice already kept
                    # or dropped (and no realisation to tell them apart): interchangeable
                    sig = (false, made & touched)
                    if sig in dead:
                        continue
                    have = kept.get(sig)
                    if have is not None:
                        if have.cost <= sv.cost:
                            continue
                        reordered = True
                else:
                    sig = (n, 0)
                made &= by_key
                if impure:
                    f, t = self._impure(impure, key, sv, asg, bits)
                    false |= f
                    made |= t
                now_true = true | made
                now_live = now_true | (open_ & ~(false | made))
                if (
                    (a_deny is not None and a_deny & now_true)
                    or (a_identity is not None and not a_identity & now_live)
                    or (a_boundary is not None and not a_boundary & now_live)
                    or not (
                        (d_deny is not None and d_deny & now_live)
                        or (d_identity is not None and not d_identity & now_true)
                        or (d_boundary is not None and not d_boundary & now_true)
                    )
                ):
                    dead.add(sig)
                else:
                    kept[sig] = sv
            if not kept:
                return None
            if len(kept) == len(choices):
                found[key] = choices
            elif reordered:  # a cheaper one took an earlier one's place: keep their order
                chosen = {id(sv) for sv in kept.values()}
                found[key] = tuple(sv for sv in choices if id(sv) in chosen)
            else:
                found[key] = tuple(kept.values())
        out = {key: found[key] for key in dom}
        return out, {k: m & ~impure_all for k, m in alone.items()}

    def _impure(
        self, which: int, key: str, sv: SlotValue, asg: dict[str, SlotValue], bits: Bits
    ) -> tuple[int, int]:
        """Of the statements ``which``: those ``key``'s choice ``sv`` makes false, and true."""
        false = true = 0
        asg[key] = sv
        try:
            for i in _members(which):
                value = and3(self.value(p, asg, bits) for p in self.parts[i])
                if value is False:
                    false |= 1 << i
                elif value is True:
                    true |= 1 << i
        finally:
            del asg[key]
        return false, true
