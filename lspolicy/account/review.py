"""``lspolicy review``'s computation: the whole access matrix, decided once per class pair.

Every cell (principal, instance, action) is `lspolicy.account.query.Review.access` — the best
chain and the engine's decision — and, when no chain reaches, the principal's own decision
(``explicitDeny`` or ``implicitDeny``, with the denying statements). The review decides one
representative per class (`lspolicy.account.classes`) and keeps class pairs plus membership;
the cells are expanded by a join (`lspolicy.account.parquet`).

Cell decisions, per the IAM policy evaluation logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
``allowed``; ``conditional`` (allowed if caller-side conditions hold: MFA, external id...; rule
in `lspolicy.account.callerkeys`); ``explicitDeny``; ``implicitDeny``. ``direct_decision`` is
the principal's own decision without assuming a role: a cell that is reached while its direct
decision is not, is access that exists only through a role chain.

Tag escalation at account scale (the lint's LSP111 notion): a principal that cannot stop an
instance, may tag it (``lightsail:TagResource``, and ``lightsail:UntagResource`` when a tag must
go), and could stop it once tagged like another instance of the same account and region that it
can stop. The retagged instance would be in that instance's class, so the engine's answer for
the class is the proof; the tagging requests are decided by the engine with the tags they write
(``aws:RequestTag/k``, ``aws:TagKeys``:
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-tag-keys).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from lspolicy.account.classes import InstanceClasses, identity_key, principal_key
from lspolicy.account.decide import Verdict
from lspolicy.account.model import Instance, Inventory
from lspolicy.account.query import Access, Review, instance_context
from lspolicy.account.reach import DEFAULT_MAX_CHAIN, Hop
from lspolicy.model.request import ContextValue

if TYPE_CHECKING:
    from lspolicy.account.engines import Engine

__all__ = [
    "DEFAULT_ACTIONS",
    "REACHES",
    "STOP",
    "TAG",
    "UNTAG",
    "ClassCell",
    "ClassCells",
    "ClassReview",
    "Escalation",
    "Matrix",
    "Witness",
    "compute_matrix",
    "decide_principal_classes",
    "expand_escalations",
    "find_escalations",
    "rep_witnesses",
]

STOP, TAG, UNTAG = "lightsail:StopInstance", "lightsail:TagResource", "lightsail:UntagResource"
DEFAULT_ACTIONS = (
    STOP,
    "lightsail:StartInstance",
    "lightsail:RebootInstance",
    "lightsail:DeleteInstance",
    TAG,
    UNTAG,
)
"""The actions a review decides when ``--actions`` is not given: the instance's life cycle and
its tagging (which can change every tag-based answer)."""
REACHES = ("allowed", "conditional")


class ClassReview(Review):
    """`Review` whose identity decisions are made once per identity class and instance class:
    ``final`` on any member returns the representative's verdict (exact: the class keys hold
    everything the engine reads)."""

    def __init__(
        self, inventory: Inventory, classes: InstanceClasses, *, max_chain: int = DEFAULT_MAX_CHAIN
    ) -> None:
        super().__init__(inventory, max_chain=max_chain)
        self.classes = classes
        self.identity_of: dict[str, int] = {}
        self._identity_keys: dict[tuple[object, ...], int] = {}
        self._identity_reps: list[str] = []
        self._by_class: dict[tuple[int, str, int], Verdict] = {}
        self._sig_ids: dict[tuple[object, ...], tuple[list[int], list[int]]] = {}
        self._vectors: dict[tuple[int, str], list[int]] = {}
        self.verdicts: list[Verdict] = []
        """Every verdict a vector holds, by verdict id (`vector`)."""
        self._verdict_ids: dict[int, int] = {}

    def identity_class(self, principal: str) -> int:
        """The identity class id of a user or role."""
        got = self.identity_of.get(principal)
        if got is None:
            key = identity_key(self.authority.actor(principal))
            got = self._identity_keys.setdefault(key, len(self._identity_keys))
            if got == len(self._identity_reps):
                self._identity_reps.append(principal)
            self.identity_of[principal] = got
        return got

    @property
    def identity_classes(self) -> int:
        """How many identity classes were formed."""
        return len(self._identity_reps)

    def final(self, principal: str, action: str, instance: Instance) -> Verdict:
        ident = self.identity_class(principal)
        iclass = self.classes.of.get(instance.arn)
        if iclass is None:  # not an inventory instance (a retagged what-if): decide it directly
            return super().final(principal, action, instance)
        key = (ident, action, iclass)
        got = self._by_class.get(key)
        if got is None:
            rep = self._identity_reps[ident]
            got = self._by_class[key] = super().final(rep, action, self.classes.reps[iclass])
        return got

    def _verdict_id(self, verdict: Verdict) -> int:
        got = self._verdict_ids.get(id(verdict))
        if got is None:
            got = self._verdict_ids[id(verdict)] = len(self.verdicts)
            self.verdicts.append(verdict)  # kept: the id of a kept object is not reused
        return got

    def _signature_ids(self, rep: str, action: str) -> tuple[list[int], list[int]]:
        """For ``rep``'s reader of ``action``: each instance class's signature id, and the
        first instance class of each signature. Identities whose policy sets read the same
        keys and Resource matchers share it."""
        self.signature(rep, action, self.classes.reps[0])  # builds the reader
        keys, matchers, dynamic = self._readers[(rep, action)]
        memo_key = (keys, tuple(id(m) for m in matchers), dynamic)
        got = self._sig_ids.get(memo_key)
        if got is None:
            ids: dict[tuple[object, ...], int] = {}
            firsts: list[int] = []
            out: list[int] = []
            for ic, inst in enumerate(self.classes.reps):
                sig = self.signature(rep, action, inst)
                sid = ids.setdefault(sig, len(ids))
                if sid == len(firsts):
                    firsts.append(ic)
                out.append(sid)
            got = self._sig_ids[memo_key] = (out, firsts)
        return got

    def vector(self, ident: int, action: str) -> list[int]:
        """The identity class's own verdict (an id into `verdicts`) for every instance class,
        in class order: ``final`` of the representatives, decided once per instance signature
        (the same verdict objects ``final`` returns)."""
        key = (ident, action)
        got = self._vectors.get(key)
        if got is None:
            rep = self._identity_reps[ident]
            reps = self.classes.reps
            if self.authority.reference:
                got = [self._verdict_id(self.final(rep, action, inst)) for inst in reps]
            else:
                sig_ids, firsts = self._signature_ids(rep, action)
                by_sig = [
                    self._verdict_id(Review.final(self, rep, action, reps[ic])) for ic in firsts
                ]
                got = [by_sig[s] for s in sig_ids]
            self._vectors[key] = got
        return got


Outcome = tuple[str, str, tuple[str, ...], tuple[str, ...], str, tuple[str, ...]]
"""A class cell's answer: decision, direct decision, via, statements, conditions (JSON),
incomplete."""


@dataclass(frozen=True, slots=True)
class ClassCell:
    """One class pair and action: the decision of every cell it stands for."""

    principal_class: int
    instance_class: int
    action: str
    decision: str
    direct_decision: str
    via: tuple[str, ...]
    statements: tuple[str, ...]
    conditions: str
    """The caller conditions (JSON list, as ``who-can --format json`` gives them)."""
    incomplete: tuple[str, ...] = ()
    """Policies of the principal (or of its chain) that could not be evaluated."""


@dataclass(frozen=True, slots=True)
class Escalation:
    """A principal that can retag an instance into its own stop access."""

    principal: str
    instance: str
    like: str
    """An instance of the same account and region the principal can stop, whose tags it copies."""
    set_tags: tuple[tuple[str, str], ...]
    remove_tags: tuple[str, ...]
    tag_via: tuple[str, ...]
    stop_via: tuple[str, ...]
    conditional: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "principal": self.principal,
            "instance": self.instance,
            "like": self.like,
            "set_tags": dict(self.set_tags),
            "remove_tags": list(self.remove_tags),
            "tag_via": list(self.tag_via),
            "stop_via": list(self.stop_via),
            "conditional": self.conditional,
        }


@dataclass
class Matrix:
    """The review's result: classes, class cells, escalations, and what was not evaluated."""

    actions: tuple[str, ...]
    principals: list[str]
    principal_class: dict[str, int]
    identity_class: dict[str, int]
    instances: InstanceClasses
    cells: ClassCells
    escalations: list[Escalation] = field(default_factory=list)
    not_evaluated: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def principal_classes(self) -> int:
        """How many principal classes."""
        return len(set(self.principal_class.values()))


@dataclass
class ClassCells(Sequence[ClassCell]):
    """Class cells, columnar: row ``n`` is principal class ``pclass[n]``, instance class
    ``iclass[n]``, ``actions[action[n]]``, with the answer ``outcomes[outcome[n]]`` (each
    distinct answer is held once). Rows are in class order: principal class, instance class,
    action. A sequence of `ClassCell` for whoever reads cells one by one."""

    actions: tuple[str, ...]
    outcomes: list[Outcome] = field(default_factory=list)
    pclass: array[int] = field(default_factory=lambda: array("i"))
    iclass: array[int] = field(default_factory=lambda: array("i"))
    action: array[int] = field(default_factory=lambda: array("i"))
    outcome: array[int] = field(default_factory=lambda: array("i"))
    _ids: dict[Outcome, int] = field(default_factory=dict, repr=False, compare=False)

    def intern(self, outcome: Outcome) -> int:
        """The id of ``outcome`` in `outcomes` (added when new)."""
        got = self._ids.get(outcome)
        if got is None:
            if not self._ids and self.outcomes:  # unpickled: the index is rebuilt
                self._ids.update((o, i) for i, o in enumerate(self.outcomes))
                return self.intern(outcome)
            got = self._ids[outcome] = len(self.outcomes)
            self.outcomes.append(outcome)
        return got

    def extend(self, other: ClassCells) -> None:
        """Append ``other``'s rows (same actions), its answers interned into these."""
        remap = [self.intern(o) for o in other.outcomes]
        self.pclass.extend(other.pclass)
        self.iclass.extend(other.iclass)
        self.action.extend(other.action)
        self.outcome.extend(array("i", [remap[o] for o in other.outcome]))

    def __len__(self) -> int:
        return len(self.outcome)

    @overload
    def __getitem__(self, n: int) -> ClassCell: ...
    @overload
    def __getitem__(self, n: slice) -> list[ClassCell]: ...
    def __getitem__(self, n: int | slice) -> ClassCell | list[ClassCell]:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        o = self.outcomes[self.outcome[n]]
        return ClassCell(self.pclass[n], self.iclass[n], self.actions[self.action[n]], *o)

    def __iter__(self) -> Iterator[ClassCell]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassCells):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, object]:
        return {
            k: getattr(self, k)
            for k in ("actions", "outcomes", "pclass", "iclass", "action", "outcome")
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self._ids = {}


@dataclass(frozen=True, slots=True)
class _Target:
    """One identity a principal class's representative acts as: itself (empty chain) or a
    role it reaches, with what `Review.access` derives from the chain alone."""

    ident: int
    chain: tuple[Hop, ...]
    chain_conditional: bool
    via: tuple[str, ...]
    incomplete: tuple[str, ...]
    hop_conditions: tuple[dict[str, object], ...]


def _targets(review: ClassReview, rep: str) -> list[_Target]:
    """``rep`` itself, then every role it reaches (unconditional chains first), in the order
    `Review.access` tries them, sorted stably by chain length and role ARNs: then the best
    access for an instance is the first target that reaches without any condition, else the
    first that reaches (`Access.key`, ties to the earlier target as `Review.access` keeps)."""
    reached = review.reach(rep)
    chains: list[tuple[str, tuple[Hop, ...]]] = [(rep, ())]
    chains += [(r, c) for found in (reached.unconditional, reached.any) for r, c in found.items()]
    own = review.authority.actor(rep).incomplete
    out: list[_Target] = []
    for target, chain in chains:
        incomplete = [*own]
        for hop in chain:
            incomplete += review.authority.actor(hop.role).incomplete
        out.append(
            _Target(
                review.identity_class(target),
                tuple(chain),
                any(h.verdict.answer != "allowed" for h in chain),
                tuple(h.role for h in chain),
                tuple(dict.fromkeys(incomplete)),
                tuple({"step": h.role, **c.to_dict()} for h in chain for c in h.verdict.conditions),
            )
        )
    order = sorted(range(len(out)), key=lambda i: (len(out[i].via), out[i].via, i))
    return [out[i] for i in order]


def _best(review: ClassReview, targets: Sequence[_Target], column: Sequence[int]) -> int | None:
    """The index of the best target, given each target's verdict id (``column``), or None."""
    first: int | None = None
    verdicts = review.verdicts
    for n, (t, vid) in enumerate(zip(targets, column, strict=True)):
        v = verdicts[vid]
        if not v.reaches:
            continue
        if v.answer == "allowed" and not t.chain_conditional:
            return n
        if first is None:
            first = n
    return first


def _best_per_class(
    review: ClassReview, targets: Sequence[_Target], action: str
) -> tuple[list[int], list[tuple[int, ...]], list[int | None]]:
    """For every instance class: a column id, and per column the targets' verdict ids and the
    best target. Instance classes on which every target's verdict is the same share a column
    (most do), so the best target is found once per column, not once per class."""
    vectors = [review.vector(t.ident, action) for t in targets]
    columns: dict[tuple[int, ...], int] = {}
    col_of = [columns.setdefault(col, len(columns)) for col in zip(*vectors, strict=True)]
    cols = list(columns)
    return col_of, cols, [_best(review, targets, c) for c in cols]


def _outcome(
    review: ClassReview, targets: Sequence[_Target], column: Sequence[int], best: int | None
) -> Outcome:
    """The cell `Review.access` gives: the best target's access, else the own decision."""
    own = review.verdicts[column[0]]
    if best is None:
        labels = tuple(dict.fromkeys(s.label for s in own.statements))
        return (own.answer, own.answer, (), labels, "[]", targets[0].incomplete)
    t, final = targets[best], review.verdicts[column[best]]
    conditional = t.chain_conditional or final.answer != "allowed"
    conditions = [*t.hop_conditions]
    conditions += [{"step": "action", **c.to_dict()} for c in final.conditions]
    return (
        "conditional" if conditional else "allowed",
        own.answer,
        t.via,
        tuple(dict.fromkeys(s.label for s in final.statements)),
        json.dumps(conditions, sort_keys=True),
        t.incomplete,
    )


def compute_matrix(
    inventory: Inventory,
    actions: Sequence[str] = DEFAULT_ACTIONS,
    *,
    max_chain: int = DEFAULT_MAX_CHAIN,
    escalations: bool = True,
    engine: Engine | None = None,
) -> Matrix:
    """Decide every class pair for every action; the pairs are decided by ``engine``
    (`lspolicy.account.engines`: in this process when not given), by batches of principal
    classes, and merged in class order (the same matrix whatever the engine)."""
    from lspolicy.account.engines import SERIAL, PairJob  # noqa: PLC0415 - engines imports us

    classes = InstanceClasses.build(inventory)
    review = ClassReview(inventory, classes, max_chain=max_chain)
    principals = review.authority.principals()
    keys: dict[tuple[object, ...], int] = {}
    principal_class: dict[str, int] = {}
    reps: list[str] = []
    for p in principals:
        key = principal_key(review, p, review.identity_class(p))
        got = keys.setdefault(key, len(keys))
        if got == len(reps):
            reps.append(p)
        principal_class[p] = got
    job = PairJob(inventory, classes, tuple(actions), max_chain, escalations)
    parts = (engine or SERIAL).run(job, list(enumerate(reps)), review=review)
    cells = ClassCells(tuple(actions))
    for part in parts:
        cells.extend(part.cells)
    matrix = Matrix(
        tuple(actions), principals, principal_class, dict(review.identity_of), classes, cells
    )
    if escalations:
        matrix.escalations = expand_escalations(
            classes, principal_class, [w for part in parts for w in part.witnesses]
        )
    seen: dict[tuple[object, ...], dict[str, object]] = {}
    for n in [*review.not_evaluated(), *(n for part in parts for n in part.not_evaluated)]:
        seen.setdefault(tuple(n.values()), n)
    matrix.not_evaluated = list(seen.values())
    matrix.notes = review.notes()
    return matrix


Witness = tuple[
    str, str, tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], bool
]
"""An escalation of a class representative: the fields of `Escalation`."""


def decide_principal_classes(
    review: ClassReview,
    reps: Sequence[tuple[int, str]],
    actions: Sequence[str],
    *,
    escalations: bool,
) -> tuple[ClassCells, list[tuple[int, int, Witness]]]:
    """The job unit of every engine: for each ``(principal class, representative)``, every
    instance class and action, in class order, and the escalation witnesses
    ``(principal class, instance class, witness)``.

    Vectorized: each identity's verdicts over every instance class are computed once
    (`ClassReview.vector`, shared by every principal class reaching that identity), combined
    per principal class by the rule of `Review.access`, and each distinct answer is built
    once."""
    cells = ClassCells(tuple(actions))
    witnesses: list[tuple[int, int, Witness]] = []
    n_ic = len(review.classes.reps)
    for pc, rep in reps:
        targets = _targets(review, rep)
        per_action: list[list[int]] = []
        stop_best: tuple[list[int], list[int | None]] | None = None
        for action in actions:
            col_of, cols, best = _best_per_class(review, targets, action)
            ids = [
                cells.intern(_outcome(review, targets, c, b))
                for c, b in zip(cols, best, strict=True)
            ]
            per_action.append([ids[c] for c in col_of])
            if action == STOP:
                stop_best = (col_of, best)
        cells.pclass.extend(array("i", [pc]) * (n_ic * len(actions)))
        cells.iclass.extend(array("i", [ic for ic in range(n_ic) for _ in actions]))
        cells.action.extend(array("i", range(len(actions))) * n_ic)
        cells.outcome.extend(array("i", [o for row in zip(*per_action, strict=True) for o in row]))
        if escalations:
            if stop_best is None:
                col_of, cols, best = _best_per_class(review, targets, STOP)
                stop_best = (col_of, best)
            stop = _stop_access(review, rep, targets, stop_best)
            witnesses += [(pc, ic, w) for ic, w in _rep_witnesses(review, rep, stop)]
    return cells, witnesses


def _stop_access(
    review: ClassReview,
    rep: str,
    targets: Sequence[_Target],
    stop_best: tuple[Sequence[int], Sequence[int | None]],
) -> dict[int, Access | None]:
    """`Review.access` of ``rep`` for `STOP` on every instance class, from the best targets."""
    col_of, best = stop_best
    out: dict[int, Access | None] = {}
    for ic, c in enumerate(col_of):
        b = best[c]
        if b is None:
            out[ic] = None
        else:
            t = targets[b]
            final = review.verdicts[review.vector(t.ident, STOP)[ic]]
            out[ic] = Access(rep, t.chain, final, t.incomplete)
    return out


def expand_escalations(
    classes: InstanceClasses,
    principal_class: Mapping[str, int],
    witnesses: Sequence[tuple[int, int, Witness]],
) -> list[Escalation]:
    """Each class witness for every member of its principal and instance class, sorted."""
    members: dict[int, list[str]] = {}
    for p, pc in principal_class.items():
        members.setdefault(pc, []).append(p)
    found: list[Escalation] = []
    for pc, ic, esc in witnesses:
        for arn in classes.members[ic]:
            found += [Escalation(p, arn, *esc[1:]) for p in sorted(members[pc])]
    found.sort(key=lambda e: (e.principal, e.instance))
    return found


def _tag_access(
    review: Review, principal: str, action: str, instance: Instance, extra: dict[str, ContextValue]
) -> Access | None:
    """The best way ``principal`` makes the tagging request ``action`` with ``extra`` request
    keys: each identity it reaches (itself first) decided by the engine, as `Review.access`
    does for requests without request keys."""
    reached = review.reach(principal)
    targets: list[tuple[str, tuple[Hop, ...]]] = [(principal, ())]
    targets += [
        (r, c) for chains in (reached.unconditional, reached.any) for r, c in chains.items()
    ]
    context = {**instance_context(instance), **extra}
    best: Access | None = None
    for target, chain in targets:
        actor = review.authority.actor(target)
        verdict = review.authority.decide(actor, action, instance.arn, context)
        if not verdict.reaches or any(_written(c.condition.key) for c in verdict.conditions):
            # the tags written are known here: a grant that holds only if the caller picks
            # other request tags (the caller-key rule's relaxed reading) is no grant for these
            continue
        got = Access(principal, tuple(chain), verdict)
        if best is None or got.key() < best.key():
            best = got
    return best


def _written(key: str) -> bool:
    """A request key the tagging request sets: ``aws:TagKeys`` and ``aws:RequestTag/*``."""
    lower = key.lower()
    return lower == "aws:tagkeys" or lower.startswith("aws:requesttag/")


def _retag(
    now: Mapping[str, str], like: Mapping[str, str], read: frozenset[str], every: bool
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The tags to set and to remove so that the read tags of ``now`` equal those of ``like``."""
    keep = [k for k in like if every or k.lower() in read]
    set_tags = tuple(sorted((k, like[k]) for k in keep if now.get(k) != like[k]))
    remove = tuple(sorted(k for k in now if (every or k.lower() in read) and k not in like))
    return set_tags, remove


def find_escalations(
    review: ClassReview, reps: Sequence[str], principal_class: Mapping[str, int]
) -> list[Escalation]:
    """Every (principal, instance) where the principal cannot stop the instance but can tag it
    into the state of one it can stop (the first such instance by class, per instance)."""
    witnesses = [(pc, ic, w) for pc, rep in enumerate(reps) for ic, w in rep_witnesses(review, rep)]
    return expand_escalations(review.classes, principal_class, witnesses)


def rep_witnesses(review: ClassReview, rep: str) -> list[tuple[int, Witness]]:
    """For one principal class representative: each instance class it cannot stop but can
    retag into one it can, with the witness (one per class: its members differ only where no
    policy looks, the id)."""
    classes = review.classes
    stop = {ic: review.access(rep, STOP, inst) for ic, inst in enumerate(classes.reps)}
    return _rep_witnesses(review, rep, stop)


def _rep_witnesses(
    review: ClassReview, rep: str, stop: Mapping[int, Access | None]
) -> list[tuple[int, Witness]]:
    classes = review.classes
    can = [(ic, a) for ic, a in stop.items() if a is not None]
    if not can:
        return []
    out: list[tuple[int, Witness]] = []
    for ic, access in stop.items():
        if access is None:
            esc = _witness(review, rep, classes.reps[ic], can)
            if esc is not None:
                out.append((ic, esc))
    return out


def _witness(
    review: ClassReview, rep: str, inst: Instance, can: Sequence[tuple[int, Access]]
) -> Witness | None:
    """``inst`` retagged like an instance ``rep`` can stop is in that instance's class when
    the ARN prefix, the region and the patterns its ARN matches are the same (the tags are the
    only difference): then the class's answer is the answer after retagging."""
    classes = review.classes
    prefix = inst.arn.rsplit("/", 1)[0]
    sig = classes.patterns[inst.arn]
    if sig[1]:
        return None  # a pattern with variables may name this ARN: no class speaks for it
    for jc, after in can:
        like = classes.reps[jc]
        if like.arn.rsplit("/", 1)[0] != prefix or like.region != inst.region:
            continue
        if classes.patterns[like.arn] != sig:
            continue
        set_tags, remove = _retag(inst.tags, like.tags, classes.tag_keys, classes.all_tags)
        if not set_tags and not remove:
            continue
        tag_via: tuple[str, ...] = ()
        conditional = after.conditional
        if set_tags:
            extra: dict[str, ContextValue] = {f"aws:RequestTag/{k}": v for k, v in set_tags}
            extra["aws:TagKeys"] = [k for k, _ in set_tags]
            tagged = _tag_access(review, rep, TAG, inst, extra)
            if tagged is None:
                continue
            tag_via = tuple(h.role for h in tagged.via)
            conditional = conditional or tagged.conditional
        if remove:
            untagged = _tag_access(review, rep, UNTAG, inst, {"aws:TagKeys": list(remove)})
            if untagged is None:
                continue
            tag_via = tag_via or tuple(h.role for h in untagged.via)
            conditional = conditional or untagged.conditional
        stop_via = tuple(h.role for h in after.via)
        return (inst.arn, like.arn, set_tags, remove, tag_via, stop_via, conditional)
    return None
