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

import dataclasses
import hashlib
import json
import weakref
from array import array
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, TypeAlias, TypeVar, overload

from lspolicy.account.classes import (
    InstanceClasses,
    find_join_features,
    identity_key,
    inventory_policies,
    outcome_keys,
    outcomes,
    principal_value,
    read_keys,
    role_values,
)
from lspolicy.account.decide import Authority, Verdict
from lspolicy.account.model import Instance, Inventory
from lspolicy.account.principal_classes import form_principal_classes
from lspolicy.account.query import _EMPTY, Access, Review, instance_context
from lspolicy.account.reach import DEFAULT_MAX_CHAIN, Hop
from lspolicy.account.witness_table import Witness, WitnessRow, WitnessTable
from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.evaluate.statement import CompiledStatement
from lspolicy.model.request import ContextValue, RequestPart

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
    "ColumnMap",
    "Escalation",
    "Matrix",
    "Witness",
    "WitnessTable",
    "compute_matrix",
    "decide_principal_classes",
    "expand_escalations",
    "find_escalations",
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
PARTITION_BYTES = 96 << 20
"""`decide_principal_classes` drops the kept partitions (`ClassReview.forget`) between two
principal classes when their arrays hold more bytes (4 per instance class of their scope: a
partition of every class is 221 KB at the full organization's 55,302 instance classes, one of
an account's ~4 KB)."""
VERDICT_LIMIT = 60_000
"""`decide_principal_classes` drops the kept engine decisions (``forget(decisions=True)``)
between two principal classes when more verdicts are kept: each costs ~1 KB with its memo
keys, and a pool worker meets ~75 new ones per principal class (the whole organization: ~0.6
GB per worker if all were kept)."""


_RESOURCE_TAG = "aws:resourcetag/"
_KINDS = {"allowed": 2, "conditional": 1}
_X = TypeVar("_X")
Bits = tuple[bool | None, ...]
"""Per join feature: whether the instance's join tag equals the identity's variable (``None``:
one of them is absent, nothing is compared)."""


class Partition:
    """A partition of the instance classes: ``of[ic]`` is the part of class ``ic``, numbered by
    first occurrence (so equal partitions have equal arrays), ``firsts[p]`` the first class of
    part ``p``. Interned per review (`ClassReview.partition`): one object per distinct content,
    so memos may key on ``id``."""

    __slots__ = ("firsts", "of")

    def __init__(self, of: array[int], firsts: list[int]) -> None:
        self.of, self.firsts = of, firsts

    def __len__(self) -> int:
        return len(self.firsts)


def _partition(keys: Iterable[Hashable]) -> Partition:
    """The partition of the classes by ``keys`` (one per instance class, in class order)."""
    first: dict[Hashable, int] = {}
    at = [first.setdefault(k, ic) for ic, k in enumerate(keys)]  # each class's part's first
    firsts = list(first.values())
    rank = dict(zip(firsts, range(len(firsts)), strict=True))
    return Partition(array("i", map(rank.__getitem__, at)), firsts)


def _sparse_partition(n: int, keyed: Mapping[int, Hashable]) -> Partition:
    """`_partition` of ``n`` classes where the classes not in ``keyed`` share one part and
    the others are keyed by ``keyed[ic]`` (never equal to that part's): built from the keyed
    classes alone, the rest filled at C speed."""
    order = sorted(keyed)
    rest = next((i for i, ic in enumerate(order) if ic != i), len(order))
    ranks: dict[Hashable, int] = {}
    firsts: list[int] = []
    own: list[int] = []
    rest_rank = -1
    for ic in order:
        if rest_rank < 0 and rest < ic:
            rest_rank = len(firsts)
            firsts.append(rest)
        k = keyed[ic]
        r = ranks.get(k)
        if r is None:
            r = ranks[k] = len(firsts)
            firsts.append(ic)
        own.append(r)
    if rest_rank < 0 and rest < n:
        rest_rank = len(firsts)
        firsts.append(rest)
    of = array("i", [max(rest_rank, 0)]) * n
    for ic, r in zip(order, own, strict=True):
        of[ic] = r
    return Partition(of, firsts)


class Vector(Sequence[int]):
    """An identity's verdict id on every instance class, held per part of a partition (the
    classes its reader cannot tell apart): ``vals[part.of[ic]]``. Many identities share one
    partition (those with the same reader), so a vector costs its parts, not its classes."""

    __slots__ = ("part", "reaching", "scope", "vals")

    def __init__(self, part: Partition, vals: list[int], scope: array[int] | None = None) -> None:
        self.part, self.vals = part, vals
        self.scope = scope
        """When known: the classes outside which no verdict reaches (the identity's own
        account's: `ClassReview._deny_side`)."""
        self.reaching: array[int] | None = None
        """The classes whose verdict is allowed or conditional (`reaching_classes`)."""

    def __len__(self) -> int:
        return len(self.part.of)

    @overload
    def __getitem__(self, ic: int) -> int: ...
    @overload
    def __getitem__(self, ic: slice) -> list[int]: ...
    def __getitem__(self, ic: int | slice) -> int | list[int]:
        if isinstance(ic, slice):
            return [self.vals[p] for p in self.part.of[ic]]
        return self.vals[self.part.of[ic]]

    def __iter__(self) -> Iterator[int]:
        vals = self.vals
        return (vals[p] for p in self.part.of)


class ClassReview(Review):
    """`Review` whose identity decisions are made once per identity class and instance class
    (and, with join features, per join bits): ``final`` on any member returns the
    representative's verdict (exact: the class keys and the bits hold everything the engine
    reads)."""

    def __init__(
        self, inventory: Inventory, classes: InstanceClasses, *, max_chain: int = DEFAULT_MAX_CHAIN
    ) -> None:
        super().__init__(inventory, max_chain=max_chain)
        self.classes = classes
        self.joins = classes.joins
        self.identity_of: dict[str, int] = {}
        self._identity_keys: dict[tuple[object, ...], int] = {}
        self._identity_reps: list[str] = []
        self._sig_ids: dict[tuple[object, ...], Partition] = {}
        self._vectors: dict[tuple[int, str, object], Vector] = {}
        self._memo: dict[tuple[int, str], dict[tuple[int, Bits], int]] = {}
        self._values: dict[str, tuple[str | None, ...]] = {}
        self._rep_sigs: dict[tuple[str, str, str | None], Partition] = {}
        self._partitions: dict[bytes, Partition] = {}
        self._partition_bytes = 0
        self._meets: dict[tuple[int, int], Partition] = {}
        self._join_parts: dict[tuple[int, bool, str | None], Partition] = {}
        self._whole: Partition | None = None
        self._component_parts: dict[tuple[object, ...], Partition] = {}
        self._component_refs: list[object] = []
        self._part_members: dict[int, list[array[int]]] = {}
        self._own_accounts: dict[str, str | None] = {}
        self._accounts: list[str | None] | None = None
        self._scopes: dict[str, array[int]] = {}
        self._rests: dict[tuple[str, int], tuple[array[int], list[int]]] = {}
        self._deny_sides: dict[tuple[str, str], tuple[Partition, bool] | None] = {}
        self._deny_sigs: dict[tuple[object, ...], Partition] = {}
        self._splits: dict[tuple[str, int, int], Partition] = {}
        self._at_parts: dict[tuple[str, str], tuple[Partition, str | None, bool]] = {}
        """What `_component_parts` keys by id, kept alive (an id is not reused meanwhile)."""
        self.verdicts: list[Verdict] = []
        """Every verdict a vector holds, by verdict id (`vector`)."""
        self._verdict_ids: dict[int, int] = {}
        self.kinds: list[int] = []
        self._retag_groups: list[tuple[object, ...]] | None = None
        """By verdict id: 2 allowed, 1 conditional, 0 neither (`_best`'s reading)."""
        self.role_tables: dict[tuple[object, ...], _RoleTable] = {}
        """`_role_table`'s tables, by action and role targets."""
        self._reducible = frozenset(
            () if classes.all_tags else outcome_keys(inventory_policies(inventory), self.joins)
        )
        """Keys every policy reads only through variable-free conditions (or, for a join tag,
        its join comparison): a reader's signature holds its own conditions' outcomes."""

    def forget(self, *, decisions: bool = False) -> None:
        """Drop every partition, vector and role table kept (they are rebuilt, equal, when
        asked again: a partition's content is its canonical numbering), keeping the engine's
        decisions (`_memo` numbers the parts of those canonical partitions). Every memo keyed
        by a partition's ``id`` goes with the partitions, so no id can be reused under it.

        With ``decisions``: the engine's decisions too (`verdicts`, `_memo`, `Review._final`).
        Verdict ids then start again from 0, and whatever holds them (vectors, role tables)
        goes with them. Two cells share a verdict id exactly when they share a memo entry or
        a `Review._final` key (`_verdict_id` numbers objects, and each object is made by one
        of those): a function of the keys, not of what was kept before, so the partitions
        built from verdict ids (`_role_table`) are the same after."""
        if decisions:
            self._memo.clear()
            self._final.clear()
            self.verdicts.clear()
            self._verdict_ids.clear()
            self.kinds.clear()
        self._partitions.clear()
        self._partition_bytes = 0
        self._meets.clear()
        self._join_parts.clear()
        self._whole = None
        self._component_parts.clear()
        self._component_refs.clear()
        self._part_members.clear()
        self._sig_ids.clear()
        self._rep_sigs.clear()
        self._deny_sides.clear()
        self._deny_sigs.clear()
        self._splits.clear()
        self._rests.clear()
        self._at_parts.clear()
        self._vectors.clear()
        self.role_tables.clear()

    def warm(self) -> None:
        """Compute now what every pool worker would otherwise compute from every instance
        class's representative (accounts, request parts, retag groups, the escalation
        search's memo): forked after this, the workers share it. Computed in each worker,
        it reads every representative's objects, and on Python 3.11 a read writes the
        object's reference count: each worker then copies every page of the driver's heap
        those objects lie on (~270 MB each at the full organization's 55,302 classes)."""
        for inst in self.classes.reps:
            self._rep_part(inst)
        self._class_accounts()
        self.retag_groups()
        _search_memo(self)

    @property
    def kept_partitions(self) -> int:
        """How many distinct partitions are kept."""
        return len(self._partitions)

    @property
    def kept_partition_bytes(self) -> int:
        """The bytes of the kept partitions' arrays (4 per class of their scope)."""
        return self._partition_bytes

    @property
    def kept_verdicts(self) -> int:
        """How many engine decisions are kept (`verdicts`)."""
        return len(self.verdicts)

    def identity_class(self, principal: str) -> int:
        """The identity class id of a user or role."""
        got = self.identity_of.get(principal)
        if got is None:
            key = identity_key(self.authority.actor(principal), self.joins)
            got = self._identity_keys.setdefault(key, len(self._identity_keys))
            if got == len(self._identity_reps):
                self._identity_reps.append(principal)
            self.identity_of[principal] = got
        return got

    @property
    def identity_classes(self) -> int:
        """How many identity classes were formed."""
        return len(self._identity_reps)

    def join_values(self, principal: str) -> tuple[str | None, ...]:
        """The principal's normalised value of each join feature's variable."""
        got = self._values.get(principal)
        if got is None:
            actor = self.authority.actor(principal)
            got = self._values[principal] = tuple(
                None if (v := principal_value(actor, f)) is None else f.norm(v) for f in self.joins
            )
        return got

    def final(self, principal: str, action: str, instance: Instance) -> Verdict:
        ident = self.identity_class(principal)
        iclass = self.classes.of.get(instance.arn)
        if iclass is None:  # not an inventory instance (a retagged what-if): decide it directly
            return super().final(principal, action, instance)
        mine = self.join_values(principal)
        theirs = self.classes.join_values[instance.arn]
        bits = tuple(
            None if a is None or b is None else a == b for a, b in zip(mine, theirs, strict=True)
        )
        return self.verdicts[self._at(ident, action, iclass, bits)]

    def retag_groups(self) -> list[tuple[object, ...]]:
        """By instance class: what a retagging cannot change (`_group`), computed once."""
        if self._retag_groups is None:
            self._retag_groups = [_group(self.classes, ic) for ic in range(len(self.classes.reps))]
        return self._retag_groups

    def identity_rep(self, ident: int) -> str:
        """The representative of an identity class."""
        return self._identity_reps[ident]

    def _verdict_id(self, verdict: Verdict) -> int:
        got = self._verdict_ids.get(id(verdict))
        if got is None:
            got = self._verdict_ids[id(verdict)] = len(self.verdicts)
            self.verdicts.append(verdict)  # kept: the id of a kept object is not reused
            self.kinds.append(_KINDS.get(verdict.answer, 0))
        return got

    def _at(self, ident: int, action: str, ic: int, bits: Bits) -> int:
        """The verdict id of the identity class on instance class ``ic`` with join ``bits``
        (``None`` where the identity or the class has no value)."""
        rep = self._identity_reps[ident]
        memo = self._memo.setdefault((ident, action), {})
        if self.authority.reference:
            sig, inst = ic, self.classes.reps[ic]
        else:
            part, account, free = self._at_parts.get((rep, action)) or self._at_part(rep, action)
            sig = part.of[ic]
            inst = self.classes.reps[part.firsts[sig]]
            if free and bits:
                theirs = self._class_accounts()[ic]
                if theirs is not None and theirs != account:
                    # another account's instance, no Deny of the identity reads a join
                    # tag or variable: the bits change nothing (`_deny_side`)
                    bits = (None,) * len(bits)
        got = memo.get((sig, bits))
        if got is None:
            got = memo[(sig, bits)] = self._verdict_id(self._decide_bits(rep, action, inst, bits))
        return got

    def _decide_bits(self, rep: str, action: str, inst: Instance, bits: Bits) -> Verdict:
        """The representative's verdict on ``inst`` with its join variables set to equal
        (bit true) or differ from (bit false) the instance's join tags: the verdict of every
        member of its identity class whose value stands in that relation to the tag of every
        member of the instance class (`lspolicy.account.classes.JoinFeature`)."""
        if all(b is None for b in bits):
            return Review.final(self, rep, action, inst)
        actor = self.authority.actor(rep)
        context = dict(actor.context)
        for f, b in zip(self.joins, bits, strict=True):
            if b is None:
                continue
            tag = next((v for k, v in inst.tags.items() if k.lower() == f.tag), None)
            if tag is None:
                continue  # the representative instance lacks it: no policy of this set reads it
            key = next((k for k in context if k.lower() == f.variable), None)
            if key is None:
                # the representative lacks the variable while the member (a role reached
                # through a chain, its own value) carries it: then no policy of the class
                # reads it (`identity_key` holds the presence of every variable read)
                continue
            # an unequal value under the operator's own normalisation (NUL ends no tag value)
            context[key] = tag if b else tag + "\x00"
        twin = dataclasses.replace(actor, context=context, _part=None)
        return self.authority.decide(twin, action, inst.arn, instance_context(inst))

    def partition(self, part: Partition) -> Partition:
        """The interned partition equal to ``part`` (one object per content), found by a
        digest of its content (not a copy of it: each is ~4 bytes per instance class), the
        content compared on a hit."""
        key = hashlib.blake2b(part.of, digest_size=16).digest()
        got = self._partitions.setdefault(key, part)
        if got is part:
            self._partition_bytes += part.of.itemsize * len(part.of)
        elif got.of != part.of:
            return part  # a digest collision: left out of the index, still exact
        return got

    def whole(self, scope: str | None = None) -> Partition:
        """The partition with one part (every class alike; of the classes of ``scope``)."""
        if scope is not None:
            n = len(self._scope(scope))
            return self.partition(Partition(array("i", bytes(4 * n)), [0] if n else []))
        if self._whole is None:
            n = len(self.classes.reps)
            self._whole = self.partition(Partition(array("i", bytes(4 * n)), [0] if n else []))
        return self._whole

    def _scope(self, scope: str) -> array[int]:
        """The instance classes of account ``scope`` and of no account, in class order: a
        partition "of scope" numbers these positions (`_split` places them)."""
        got = self._scopes.get(scope)
        if got is None:
            got = self._scopes[scope] = array(
                "i", [ic for ic, a in enumerate(self._class_accounts()) if a is None or a == scope]
            )
        return got

    def _scope_column(self, scope: str | None, column: Sequence[_X]) -> Sequence[_X]:
        """``column`` (one entry per instance class) restricted to ``scope``'s classes."""
        if scope is None:
            return column
        return [column[ic] for ic in self._scope(scope)]

    def meet(self, a: Partition, b: Partition) -> Partition:
        """The coarsest partition finer than both (interned; kept per pair)."""
        if a is b or len(b) <= 1:
            return a
        if len(a) <= 1:
            return b
        key = (id(a), id(b)) if id(a) < id(b) else (id(b), id(a))
        got = self._meets.get(key)
        if got is None:
            width = len(b)
            got = self._meets[key] = self.partition(
                _partition([x * width + y for x, y in zip(a.of, b.of, strict=True)])
            )
        return got

    def members(self, part: Partition) -> list[array[int]]:
        """The instance classes of each part (kept per partition, as compact arrays)."""
        got = self._part_members.get(id(part))
        if got is None:
            got = [array("i") for _ in part.firsts]
            for ic, p in enumerate(part.of):
                got[p].append(ic)
            self._part_members[id(part)] = got
        return got

    def reaching_classes(self, vector: Vector) -> array[int]:
        """The instance classes on which ``vector``'s verdict reaches (allowed or
        conditional), ascending; from its scope's classes alone when it has one."""
        got = vector.reaching
        if got is None:
            kinds, vals, of = self.kinds, vector.vals, vector.part.of
            if vector.scope is not None:
                got = array("i", [ic for ic in vector.scope if kinds[vals[of[ic]]]])
            else:
                members = self.members(vector.part)
                found = [ic for p, vid in enumerate(vals) if kinds[vid] for ic in members[p]]
                got = array("i", sorted(found))
            vector.reaching = got
        return got

    def has_partition(self) -> Partition:
        """The classes by which join tags they carry."""
        return self._join_partition(self.whole(), False)

    def _join_partition(self, sig: Partition, kept: bool, scope: str | None = None) -> Partition:
        """``sig`` (of ``scope``) refined by what each class holds of the join tags
        (presence; with ``kept``, the kept values too): a vector's verdict is a function of
        those."""
        key = (id(sig), kept, scope)
        got = self._join_parts.get(key)
        if got is None:
            classes = self.classes
            has = self._scope_column(scope, classes.class_has)
            if kept:
                joined = self._scope_column(scope, classes.class_join)
                by: Iterable[Hashable] = zip(has, joined, strict=True)
            else:
                by = has
            got = self._join_parts[key] = self.meet(sig, self.partition(_partition(by)))
        return got

    def _signature_ids(self, rep: str, action: str, scope: str | None = None) -> Partition:
        """For ``rep``'s reader of ``action``: the partition of the instance classes (of
        ``scope``: an account's, `_scope`) by signature (its firsts: the first instance class,
        or position in the scope, of each signature). Identities whose policy sets read the
        same keys and Resource matchers share it."""
        got = self._rep_sigs.get((rep, action, scope))
        if got is not None:
            return got
        self.signature(rep, action, self.classes.reps[0])  # builds the reader
        keys, matchers, dynamic = self._readers[(rep, action)]
        reduced = [] if dynamic else self._reader_conditions(rep, action, keys)
        memo_key = (
            keys,
            tuple(id(m) for m in matchers),
            dynamic,
            tuple((at, tuple(id(c) for c in conds)) for at, conds in reduced),
            scope,
        )
        got = self._sig_ids.get(memo_key)
        if got is None:
            if dynamic:
                got = self._signature_loop(rep, action, keys, reduced)
                if scope is not None:
                    got = self.partition(_partition([got.of[ic] for ic in self._scope(scope)]))
            else:
                got = self._signature_meet(keys, matchers, reduced, scope=scope)
            self._sig_ids[memo_key] = got
        self._rep_sigs[(rep, action, scope)] = got
        return got

    def _signature_meet(
        self,
        keys: Sequence[str],
        matchers: Sequence[Callable[..., bool]],
        reduced: Sequence[tuple[int, tuple[CompiledCondition, ...]]],
        *,
        account: bool = True,
        scope: str | None = None,
    ) -> Partition:
        """`_signature_loop`'s partition, as the meet of one partition per part of the
        signature (the account, each key read, each Resource matcher), each kept for every
        reader that has that part: two classes have equal signatures exactly when every part
        is equal. Without ``account``: not split by the resource account (`_deny_side`); with
        ``scope``: of that account's classes only (`_scope`)."""
        by_at = dict(reduced)
        join_of = {_RESOURCE_TAG + f.tag: j for j, f in enumerate(self.joins)}
        parts = [self._account_partition(scope)] if account else []
        parts += [
            self._key_partition(k, by_at.get(at), join_of.get(k), scope)
            for at, k in enumerate(keys)
        ]
        parts += [self._matcher_partition(m, scope) for m in matchers]
        got = self.whole(scope)
        for part in sorted(parts, key=id):
            got = self.meet(got, part)
        return got

    def own_account(self, rep: str) -> str | None:
        """The account of an identity's requests (``aws:PrincipalAccount``: the user's, or the
        role's for its sessions), as the engine reads it from the caller ARN; each role
        reached through a chain, of this account or another, is decided with its own."""
        if rep not in self._own_accounts:
            self._own_accounts[rep] = self.authority.actor(rep).part().caller_account
        return self._own_accounts[rep]

    def _class_accounts(self) -> list[str | None]:
        """By instance class: the account its ARN names (as the engine reads it)."""
        if self._accounts is None:
            self._accounts = [self._rep_part(inst).resource_account for inst in self.classes.reps]
        return self._accounts

    def _split(self, account: str, own: Partition, other: Partition) -> Partition:
        """The classes of ``account`` (and of no account) by ``own`` (a partition of
        `_scope`), the others by ``other`` (of every class): interned, kept per triple."""
        scope = self._scope(account)
        if len(scope) == len(other.of):
            return own  # no other account
        key = (account, id(own), id(other))
        got = self._splits.get(key)
        if got is None:
            rest_of, rest_firsts = self._rest(account, other)
            own_firsts = [scope[p] for p in own.firsts]
            # numbered by first occurrence: the parts in the order of their first classes
            firsts = sorted(own_firsts + rest_firsts)
            rank = {ic: r for r, ic in enumerate(firsts)}
            own_rank = [rank[ic] for ic in own_firsts]
            rest_rank = [rank[ic] for ic in rest_firsts]
            if len(rest_rank) == 1:
                of = array("i", rest_rank) * len(other.of)
            else:
                of = array("i", map(rest_rank.__getitem__, rest_of))
            for ic, p in zip(scope, own.of, strict=True):
                of[ic] = own_rank[p]
            got = self._splits[key] = self.partition(Partition(of, firsts))
        return got

    def _rest(self, account: str, other: Partition) -> tuple[array[int], list[int]]:
        """``other`` on the classes outside `_scope` (``account``'s): each class's part
        among those (0 inside the scope), and each part's first class."""
        key = (account, id(other))
        got = self._rests.get(key)
        if got is None:
            n = len(other.of)
            inside = bytearray(n)
            for ic in self._scope(account):
                inside[ic] = 1
            if len(other) == 1:
                first = inside.find(0)
                got = (array("i", bytes(4 * n)), [first] if first >= 0 else [])
            else:
                rest_of = array("i", bytes(4 * n))
                ranks: dict[int, int] = {}
                firsts: list[int] = []
                for ic, p in enumerate(other.of):
                    if inside[ic]:
                        continue
                    r = ranks.get(p)
                    if r is None:
                        r = ranks[p] = len(firsts)
                        firsts.append(ic)
                    rest_of[ic] = r
                got = (rest_of, firsts)
            self._rests[key] = got
        return got

    def _deny_side(self, rep: str, action: str) -> tuple[Partition, bool] | None:
        """For ``rep``'s requests on the instances of other accounts than its own: the
        partition of the instance classes by what its Deny statements read (their keys, or
        those keys' outcomes under the Denies' own variable-free conditions; their Resource
        matchers), and whether a Deny reads a join tag or variable (then the join bits
        count). None when a Deny's Resource uses policy variables or the account is not known
        (then every class is split by the full signature).

        Exact: a Lightsail instance has no resource-based policy (the Lightsail User Guide's
        IAM pages, "Grant least-privilege permissions with IAM identity policies in
        Lightsail", govern access by identity-based policies only), and across accounts
        "the resource-based policy in the trusting account must specify the principal" as
        well as the identity-based policy allowing it (IAM User Guide, "Cross-account
        policy evaluation logic",
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
        So such a request is never allowed: the engine answers ``explicitDeny`` with the
        Deny statements that apply (identity, boundary and SCP layers: `PolicySet.denies_for`,
        the strict set's, as `Authority.decide` returns the first evaluation's deny) or
        ``implicitDeny`` (no statements): a function of what those Denies read alone."""
        key = (rep, action)
        if key in self._deny_sides:
            return self._deny_sides[key]
        got: tuple[Partition, bool] | None = None
        if self.own_account(rep) is not None:
            sets = self.authority.actor(rep).sets(action.lower().startswith("sts:"), None)
            denies = sets.strict.denies_for(action)
            keys: set[str] = set()
            matchers: dict[int, Callable[..., bool]] = {}
            dynamic = False
            for st in denies:
                keys.update(st.condition_keys)
                if st.resource_shape[0] == "dynamic":
                    dynamic = True
                elif st.resource_shape[0] != "any" or st.resource_negated:
                    matchers.setdefault(id(st.resource_match), st.resource_match)
            if not dynamic:
                read = tuple(sorted(keys))
                reduced = self._deny_conditions(denies, read)
                memo = (
                    read,
                    tuple(matchers),
                    tuple((at, tuple(id(c) for c in conds)) for at, conds in reduced),
                )
                part = self._deny_sigs.get(memo)
                if part is None:
                    part = self._deny_sigs[memo] = self._signature_meet(
                        read, tuple(matchers.values()), reduced, account=False
                    )
                    self._component_refs.append(denies)  # the ids above stay theirs
                joined = {_RESOURCE_TAG + f.tag for f in self.joins}
                joined |= {f.variable for f in self.joins}
                got = (part, any(k in joined for k in read))
        self._deny_sides[key] = got
        return got

    def _deny_conditions(
        self, denies: Sequence[CompiledStatement], keys: Sequence[str]
    ) -> list[tuple[int, tuple[CompiledCondition, ...]]]:
        """`_reader_conditions` for the Deny statements alone: for each key that counts by
        outcomes, its index in ``keys`` and the Denies' variable-free conditions on it."""
        if not self._reducible:
            return []
        out: list[tuple[int, tuple[CompiledCondition, ...]]] = []
        for at, key in enumerate(keys):
            if key not in self._reducible:
                continue
            found: dict[int, CompiledCondition] = {}
            for st in denies:
                for c in st.conditions:
                    if c.key == key and not c.variable_keys:
                        found.setdefault(id(c), c)
            out.append((at, tuple(found.values())))
        return out

    def _at_part(self, rep: str, action: str) -> tuple[Partition, str | None, bool]:
        """What `_at` decides by: the partition (own account's classes by the full signature,
        the others' by `_deny_side`'s), the identity's account, and whether join bits are
        ignored on other accounts' classes (no Deny reads a join tag or variable)."""
        side = self._deny_side(rep, action)
        account = self.own_account(rep)
        got: tuple[Partition, str | None, bool]
        if side is None or account is None:
            got = (self._signature_ids(rep, action), None, False)
        else:
            own = self._signature_ids(rep, action, account)
            got = (self._split(account, own, side[0]), account, not side[1])
        self._at_parts[(rep, action)] = got
        return got

    def _rep_part(self, inst: Instance) -> RequestPart:
        """The request part of an instance (as `Review.signature` builds and keeps it)."""
        part = self._parts.get(inst.arn)
        if part is None or part[0] is not inst:
            part = self._parts[inst.arn] = (
                inst,
                RequestPart(instance_context(inst), resource=inst.arn),
            )
        return part[1]

    def _account_partition(self, scope: str | None = None) -> Partition:
        got = self._component_parts.get(("account", scope))
        if got is None:
            got = self._component_parts[("account", scope)] = self.partition(
                _partition(self._scope_column(scope, self._class_accounts()))
            )
        return got

    def _matcher_partition(
        self, matcher: Callable[..., bool], scope: str | None = None
    ) -> Partition:
        key = ("matcher", id(matcher), scope)
        got = self._component_parts.get(key)
        if got is None:
            reps = self._scope_column(scope, self.classes.reps)
            got = self.partition(_partition(matcher(inst.arn, _EMPTY) for inst in reps))
            self._component_parts[key] = got
            self._component_refs.append(matcher)  # its id stays its own
        return got

    def _key_partition(
        self,
        key: str,
        conds: tuple[CompiledCondition, ...] | None,
        j: int | None,
        scope: str | None = None,
    ) -> Partition:
        """The classes (of ``scope``) by what a signature holds of ``key``: its value, or
        with ``conds`` the outcomes of those conditions on it; for join tag ``j``, its
        presence with those outcomes (or its value) when the tag counts by outcomes, else
        the kept value."""
        memo = ("key", key, None if conds is None else tuple(id(c) for c in conds), j, scope)
        got = self._component_parts.get(memo)
        if got is not None:
            return got
        classes = self.classes
        reps = self._scope_column(scope, classes.reps)
        raw = self._component_parts.get(("raw", key, scope))
        if raw is None:
            column = [self._rep_part(inst).values.get(key) for inst in reps]
            raw = self._component_parts[("raw", key, scope)] = self.partition(_partition(column))
        got = raw
        if conds is not None:
            # the outcomes of the conditions, per distinct value (a coarsening of ``raw``)
            by_part = []
            for ic in raw.firsts:
                v = self._rep_part(reps[ic]).values.get(key)
                by_part.append(None if v is None else outcomes(conds, {key: v}))
            if len(set(by_part)) < len(by_part):
                got = self.partition(_partition(list(map(by_part.__getitem__, raw.of))))
            self._component_refs.append(conds)
        if j is not None:
            f = self.joins[j]
            if f.tag in classes.outcome_tags:
                got = self.meet(self._join_tag_partition(j, False, scope), got)
            elif f.kept:
                got = self._join_tag_partition(j, True, scope)
            else:
                got = self._join_tag_partition(j, False, scope)
        self._component_parts[memo] = got
        return got

    def _join_tag_partition(self, j: int, kept: bool, scope: str | None = None) -> Partition:
        """The classes (of ``scope``) by whether they carry join tag ``j`` (and with
        ``kept``, by what the class key holds of its value)."""
        got = self._component_parts.get(("join", j, kept, scope))
        if got is None:
            classes = self.classes
            has = self._scope_column(scope, classes.class_has)
            if kept:
                keys = self._scope_column(scope, classes.class_join_key)
                column: list[object] = [(h[j], k[j]) for h, k in zip(has, keys, strict=True)]
            else:
                column = [h[j] for h in has]
            got = self.partition(_partition(column))
            self._component_parts[("join", j, kept, scope)] = got
        return got

    def _signature_loop(
        self,
        rep: str,
        action: str,
        keys: Sequence[str],
        reduced: Sequence[tuple[int, tuple[CompiledCondition, ...]]],
    ) -> Partition:
        """The partition of the classes by ``rep``'s signature, class by class."""
        classes = self.classes
        # a join tag counts by what the class key holds of it (presence, and the value
        # when kept or a role's, or its conditions' outcomes): the rest is the cells' bit
        # (`_decide_bits`); a key read only by variable-free conditions counts by the
        # outcomes of this reader's conditions on it (`outcome_keys`)
        join_of = {_RESOURCE_TAG + f.tag: j for j, f in enumerate(self.joins)}
        ids: dict[tuple[object, ...], int] = {}
        firsts: list[int] = []
        out = array("i")
        joined = [(keys.index(k), j) for k, j in join_of.items() if k in keys]
        for ic, inst in enumerate(classes.reps):
            sig = self.signature(rep, action, inst)
            if joined or reduced:
                values = list(sig[2])  # type: ignore[call-overload]
                for at, conds in reduced:
                    v = values[at]
                    if v is not None:
                        values[at] = outcomes(conds, {keys[at]: v})
                for at, j in joined:
                    # given the bits (the memo's other half), the join comparison is
                    # answered; the tag's value matters only through the other
                    # conditions on it: their outcomes, or its value when kept raw
                    f = self.joins[j]
                    part: object = ()
                    if f.tag in classes.outcome_tags:
                        part = values[at]
                    elif f.kept:
                        part = classes.class_join_key[ic][j]
                    values[at] = (classes.class_has[ic][j], part)
                sig = (*sig[:2], tuple(values), *sig[3:])
            sid = ids.setdefault(sig, len(ids))
            if sid == len(firsts):
                firsts.append(ic)
            out.append(sid)
        return self.partition(Partition(out, firsts))

    def _reader_conditions(
        self, rep: str, action: str, keys: Sequence[str]
    ) -> list[tuple[int, tuple[CompiledCondition, ...]]]:
        """For each key ``rep``'s reader reads that counts by outcomes: its index in ``keys``
        and the variable-free conditions on it of every set the decision consults (strict,
        relaxed, probe: `Authority.decide`)."""
        if not self._reducible:
            return []
        sets = self.authority.actor(rep).sets(action.lower().startswith("sts:"), None)
        by_keys = [
            ps.conditions_by_key(action)[0]
            for ps in (sets.strict, sets.relaxed, sets.probe)
            if ps is not None
        ]
        out: list[tuple[int, tuple[CompiledCondition, ...]]] = []
        for at, key in enumerate(keys):
            if key not in self._reducible:
                continue
            found: dict[int, CompiledCondition] = {}
            for by_key in by_keys:
                for c in by_key.get(key, ()):
                    if not c.variable_keys:
                        found.setdefault(id(c), c)
            out.append((at, tuple(found.values())))
        return out

    def vector(
        self,
        ident: int,
        action: str,
        bits: tuple[bool, ...] | None = None,
        values: tuple[str | None, ...] | None = None,
    ) -> Vector:
        """The identity class's own verdict (an id into `verdicts`) for every instance class,
        in class order. ``bits``: the join bits the identity's own value gives (the same for
        every class: the cell's bits); ``None``: those of the representative's fixed values
        (a role reached through a chain: its value is compared with each class's kept tag
        value, ``values``: its own, by default the representative's). Decided once per
        part of the partition its verdict is a function of (signature, and what the class
        holds of the join tags), and held per part (`Vector`)."""
        key: tuple[int, str, object] = (ident, action, (bits, values) if self.joins else None)
        got = self._vectors.get(key)
        if got is not None:
            return got
        rep = self._identity_reps[ident]
        classes = self.classes
        n = len(classes.reps)
        side: tuple[Partition, bool] | None = None
        account: str | None = None
        if self.authority.reference:
            sig = self.partition(Partition(array("i", range(n)), list(range(n))))
        else:
            side = self._deny_side(rep, action)
            account = self.own_account(rep)
            if side is None or account is None:
                sig = self._signature_ids(rep, action)
            else:
                # own account's classes by the full signature (a partition of `_scope`)
                sig = self._signature_ids(rep, action, account)
        if not self.joins:
            reps = classes.reps
            if side is not None and account is not None:
                sig = self._split(account, sig, side[0])
            if self.authority.reference:
                vals = [self._verdict_id(self.final(rep, action, inst)) for inst in reps]
            else:
                vals = [
                    self._verdict_id(Review.final(self, rep, action, reps[ic])) for ic in sig.firsts
                ]
            got = Vector(sig, vals, None if side is None else self._scope(account or ""))
        else:
            mine = values if values is not None else self.join_values(rep)
            # the verdict is a function of the signature and the bits, which are a function of
            # what the class holds of the join tags: decided once per part
            if side is not None and account is not None:
                deny, reads_joins = side
                other = self._join_partition(deny, bits is None) if reads_joins else deny
                own = self._join_partition(sig, bits is None, account)
                part = self._split(account, own, other)
            else:
                part = self._join_partition(sig, bits is None)
            vals = []
            for ic in part.firsts:
                has = classes.class_has[ic]
                if bits is None:
                    kept = classes.class_join[ic]
                    b: Bits = tuple(
                        None if v is None or not h else (k is not None and k == v)
                        for v, h, k in zip(mine, has, kept, strict=True)
                    )
                else:
                    b = tuple(
                        None if v is None or not h else bool(x)
                        for v, h, x in zip(mine, has, bits, strict=True)
                    )
                vals.append(self._at(ident, action, ic, b))
            got = Vector(part, vals, None if side is None else self._scope(account or ""))
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
    bits: int = 0
    """Join bits: bit ``j`` set when the instance's join tag ``j`` equals the principal's
    variable (`lspolicy.account.classes.JoinFeature`); the cell holds for those members."""


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
    witnesses: Sequence[WitnessRow] = field(default_factory=WitnessTable)
    """The escalation search's class witnesses ``(principal class, instance class, bits, like
    bits, witness)``, held by columns (`WitnessTable`): what the dataset stores (`lspolicy.account.escalation_store`) and
    `escalations` expands."""
    retag_instances: Mapping[str, Instance] | None = field(default=None, repr=False)
    """The instances whose tags a member's retagging is filtered by (`_member_sets`); None when
    some policy reads the keys a tagging request writes."""
    not_evaluated: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    escalation_notes: list[str] = field(default_factory=list)
    """What the escalation search did not cover (the review's own: who-can has no such search)."""
    join_values: dict[str, tuple[str | None, ...]] = field(default_factory=dict)
    """By principal: its join variables' normalised values (none without join features)."""

    @property
    def principal_classes(self) -> int:
        """How many principal classes."""
        return len(set(self.principal_class.values()))

    @property
    def escalations(self) -> list[Escalation]:
        """Every escalation, one Python object per (principal, instance), sorted: expanded on
        each access from `witnesses` (`expand_escalations`). The review itself never builds
        them: its dataset stores the witnesses and DuckDB expands them (the view
        ``escalations``)."""
        values = self.join_values
        instances = self.retag_instances
        return expand_escalations(
            self.instances,
            self.principal_class,
            self.witnesses,
            lambda p: values.get(p, ()),
            None if instances is None else (lambda a: instances[a].tags),
        )


ColumnMap: TypeAlias = "tuple[array[int], array[int]]"
"""A column map, factorized by account (`ClassCells`): its part map id on each run of
`ClassCells.starts`, and the translations (each part's local id -> the map's column id)
concatenated in that order."""


def account_runs(classes: InstanceClasses) -> tuple[int, ...]:
    """Where each maximal run of instance classes of one account starts (class ids are
    numbered by sorted instance ARN, ``...:REGION:ACCOUNT:...``: each (region, account) is one
    run). ``(0,)`` without classes."""
    starts: list[int] = [0]
    last: str | None = None
    for ic, rep in enumerate(classes.reps):
        account = rep.account or ""
        if ic and account != last:
            starts.append(ic)
        last = account
    return tuple(starts)


@dataclass
class ClassCells(Sequence[ClassCell]):
    """Class cells, factorized by column maps. Each principal class has a column map
    (``maps[map_of[pc]]``: each instance class's column; principal classes whose targets' readers
    tell the same instance classes apart share one map, held once); a stored row ``n`` is
    principal class ``pclass[n]``, column ``column[n]``, ``actions[action[n]]``, join bits
    ``bits[n]``, with the answer ``outcomes[outcome[n]]`` (each distinct answer is held once),
    and stands for every instance class of that column. Rows are in class order (principal
    class, column, action). As a sequence: the class cells expanded (principal class,
    instance class, bits, action), for whoever reads cells one by one (tests, small reviews).

    A map is held factorized by account (`ColumnMap`; `dense` rebuilds it): on each run of
    instance classes of one account (``starts``, `account_runs`), its restriction renumbered
    by first occurrence is a *part map* (``parts[p]``: each class's local id; interned by run
    and content, so a map detailed on its own account shares the other accounts' parts), and
    a translation from local ids to the map's column ids."""

    actions: tuple[str, ...]
    starts: tuple[int, ...] = (0,)
    """Where each run of one account's instance classes starts (the last runs to the end)."""
    outcomes: list[Outcome] = field(default_factory=list)
    parts: list[array[int]] = field(default_factory=list)
    """Part maps: by part id, each instance class of its run's local id (first occurrence)."""
    part_run: array[int] = field(default_factory=lambda: array("i"))
    """By part id: its run (index into ``starts``)."""
    part_width: array[int] = field(default_factory=lambda: array("i"))
    """By part id: how many local ids it has."""
    maps: list[ColumnMap] = field(default_factory=list)
    map_of: dict[int, int] = field(default_factory=dict)
    """By principal class (in class order): its map id."""
    pclass: array[int] = field(default_factory=lambda: array("i"))
    column: array[int] = field(default_factory=lambda: array("i"))
    action: array[int] = field(default_factory=lambda: array("i"))
    outcome: array[int] = field(default_factory=lambda: array("i"))
    bits: array[int] = field(default_factory=lambda: array("i"))
    _ids: dict[Outcome, int] = field(default_factory=dict, repr=False, compare=False)
    _part_ids: dict[tuple[int, int, bytes], int] = field(
        default_factory=dict, repr=False, compare=False
    )
    _map_ids: dict[bytes, int] = field(default_factory=dict, repr=False, compare=False)
    _by_object: dict[int, tuple[Partition, int]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _counts: dict[int, list[int]] = field(default_factory=dict, repr=False, compare=False)

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

    def _reindex(self) -> None:
        if not self._part_ids and self.parts:  # unpickled: the indexes are rebuilt
            for p, local in enumerate(self.parts):
                self._part_ids[self._part_key(self.part_run[p], local, self.part_width[p])] = p
        if not self._map_ids and self.maps:
            self._map_ids.update(
                (ids.tobytes() + t.tobytes(), m) for m, (ids, t) in enumerate(self.maps)
            )

    @staticmethod
    def _part_key(run: int, local: array[int], width: int) -> tuple[int, int, bytes]:
        # a one-part restriction is all zeros: keyed without its bytes
        return (run, width, b"" if width == 1 else local.tobytes())

    def _add_part(self, run: int, local: array[int], width: int) -> int:
        key = self._part_key(run, local, width)
        got = self._part_ids.get(key)
        if got is None:
            got = self._part_ids[key] = len(self.parts)
            self.parts.append(local)
            self.part_run.append(run)
            self.part_width.append(width)
        return got

    def _add(self, ids: array[int], trans: array[int]) -> int:
        key = ids.tobytes() + trans.tobytes()
        got = self._map_ids.get(key)
        if got is None:
            got = self._map_ids[key] = len(self.maps)
            self.maps.append((ids, trans))
        return got

    def add_map(self, columns: array[int]) -> int:
        """The id of the column map ``columns`` (each instance class's column) in `maps`,
        factorized by the runs of `starts` (added when new; equal maps share)."""
        self._reindex()
        bounds = (*self.starts, len(columns))
        ids, trans = array("i"), array("i")
        for run in range(len(self.starts)):
            seg = columns[bounds[run] : bounds[run + 1]]
            first = seg[0] if seg else 0
            if not seg:
                local, order = array("i"), []
            elif seg.count(first) == len(seg):
                local, order = array("i", bytes(4 * len(seg))), [first]
            else:
                order = list(dict.fromkeys(seg))
                lookup = {c: i for i, c in enumerate(order)}
                local = array("i", map(lookup.__getitem__, seg))
            ids.append(self._add_part(run, local, len(order)))
            trans.extend(order)
        return self._add(ids, trans)

    def map_id(self, part: Partition) -> int:
        """`add_map` of an interned partition (kept by object: no hashing of its content;
        until `forget_partitions`)."""
        got = self._by_object.get(id(part))
        if got is None:
            got = self._by_object[id(part)] = (part, self.add_map(part.of))
        return got[1]

    def forget_partitions(self) -> None:
        """Drop `map_id`'s index: the partitions it holds (each ~4 bytes per instance class:
        kept for every principal class, they would outgrow everything else) and their ids;
        the maps stay. Called when the review drops its partitions (`ClassReview.forget`: an
        id may then be reused) and when a batch is done."""
        self._by_object.clear()

    def pieces(self, map_id: int) -> Iterator[tuple[int, array[int]]]:
        """A map's part map ids, one per run, each with its translation (local id -> column)."""
        ids, trans = self.maps[map_id]
        off, width = 0, self.part_width
        for p in ids:
            w = width[p]
            yield p, trans[off : off + w]
            off += w

    def dense(self, map_id: int) -> array[int]:
        """The map as one array: each instance class's column."""
        out = array("i")
        for p, t in self.pieces(map_id):
            local = self.parts[p]
            if len(t) == 1:
                out.extend(array("i", t) * len(local))
            else:
                out.extend(array("i", map(t.__getitem__, local)))
        return out

    def extend(self, other: ClassCells) -> None:
        """Append ``other``'s rows (same actions and runs), its answers, part maps and maps
        interned into these."""
        if other.starts != self.starts:
            raise ValueError("class cells over other runs of instance classes")
        self._reindex()
        remap = [self.intern(o) for o in other.outcomes]
        part_ids = [
            self._add_part(other.part_run[p], local, other.part_width[p])
            for p, local in enumerate(other.parts)
        ]
        maps = [self._add(array("i", [part_ids[p] for p in ids]), t) for ids, t in other.maps]
        for pc, m in other.map_of.items():
            self.map_of[pc] = maps[m]
        self.pclass.extend(other.pclass)
        self.column.extend(other.column)
        self.action.extend(other.action)
        self.outcome.extend(array("i", [remap[o] for o in other.outcome]))
        self.bits.extend(other.bits)

    @property
    def stored(self) -> int:
        """How many rows are stored (one per principal class, column, bits and action)."""
        return len(self.outcome)

    def part_counts(self, part: int) -> list[int]:
        """How many instance classes each local id of a part map holds."""
        got = self._counts.get(part)
        if got is None:
            got = [0] * self.part_width[part]
            for local in self.parts[part]:
                got[local] += 1
            self._counts[part] = got
        return got

    def column_weights(self, map_id: int, counts: Callable[[int], Sequence[int]]) -> list[int]:
        """Per column of a map, the sum of ``counts(part)[local id]`` over its pieces."""
        sizes: list[int] = []
        for p, t in self.pieces(map_id):
            for c, n in zip(t, counts(p), strict=True):
                if c >= len(sizes):
                    sizes.extend([0] * (c + 1 - len(sizes)))
                sizes[c] += n
        return sizes

    def column_sizes(self, map_id: int) -> list[int]:
        """How many instance classes each column of a map holds."""
        return self.column_weights(map_id, self.part_counts)

    def __len__(self) -> int:
        sizes = {m: self.column_sizes(m) for m in set(self.map_of.values())}
        map_of = self.map_of
        return sum(sizes[map_of[p]][c] for p, c in zip(self.pclass, self.column, strict=True))

    def rows(self) -> Iterator[tuple[int, int, int, int, int]]:
        """The expanded class cells as ``(principal class, instance class, action, outcome,
        bits)`` ids, in class order (principal class, instance class, then as stored)."""
        n, total = 0, len(self.outcome)
        while n < total:
            pc = self.pclass[n]
            by_column: dict[int, list[int]] = {}
            while n < total and self.pclass[n] == pc:
                by_column.setdefault(self.column[n], []).append(n)
                n += 1
            for ic, c in enumerate(self.dense(self.map_of[pc])):
                for r in by_column.get(c, ()):
                    yield pc, ic, self.action[r], self.outcome[r], self.bits[r]

    def __getitem__(self, n: int | slice) -> ClassCell | list[ClassCell]:  # type: ignore[override]
        cells = list(self)
        return cells[n]

    def __iter__(self) -> Iterator[ClassCell]:
        for pc, ic, a, o, b in self.rows():
            yield ClassCell(pc, ic, self.actions[a], *self.outcomes[o], bits=b)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassCells):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, object]:
        return {
            k: getattr(self, k)
            for k in (
                "actions", "starts", "outcomes", "parts", "part_run", "part_width", "maps",
                "map_of", "pclass", "column", "action", "outcome", "bits",
            )
        }  # fmt: skip

    def __setstate__(self, state: dict[str, object]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self._ids, self._part_ids, self._map_ids, self._by_object, self._counts = {}, {}, {}, {}, {}


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
    values: tuple[str | None, ...]
    """Its join variables' values (normalised)."""


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
                review.join_values(target),
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


class _Column:
    """The targets' verdict ids on one column of instance classes: the representative's own,
    then each role's (read from the role vectors at the column's first instance class). The
    representative's own and the best target's are those of every class of the column (what
    `_outcome` and the escalation search read); another role's may differ between them."""

    __slots__ = ("ic", "own", "roles")

    def __init__(self, own: int, ic: int, roles: Sequence[Sequence[int]]) -> None:
        self.own, self.ic, self.roles = own, ic, roles

    def __getitem__(self, n: int) -> int:
        return self.own if n == 0 else self.roles[n - 1][self.ic]


@dataclass(frozen=True, slots=True)
class _RoleTable:
    """For a sequence of role targets and an action: a partition of the instance classes
    (``part``: classes alike in the first role allowed without condition, the first role that
    reaches, and those two roles' verdicts), and per part the first role that allows without any condition on it or its
    chain, and the first that reaches (indices into the roles, or None). Shared by every
    principal class reaching the same roles in the same order with the same chain
    conditions."""

    vectors: list[Vector]
    part: Partition
    uncond: list[int | None]
    reach: list[int | None]
    reached: array[int]
    """The classes some role reaches, ascending."""

    @property
    def col_of(self) -> array[int]:
        """Each instance class's part."""
        return self.part.of


def _role_table(review: ClassReview, roles: Sequence[_Target], action: str) -> _RoleTable:
    key = (action, tuple((t.ident, t.values, t.chain_conditional) for t in roles))
    got = review.role_tables.get(key)
    if got is not None:
        return got
    vectors = [review.vector(t.ident, action, values=t.values) for t in roles]
    kinds = review.kinds
    # the classes each role reaches are few (its account's, those its conditions allow):
    # walk those only, per part of its vector, in the roles' order
    first_r: dict[int, int] = {}
    first_u: dict[int, int] = {}
    for r, (t, v) in enumerate(zip(roles, vectors, strict=True)):
        vals, of = v.vals, v.part.of
        for ic in review.reaching_classes(v):
            if ic not in first_r:
                first_r[ic] = r
            if kinds[vals[of[ic]]] == 2 and not t.chain_conditional and ic not in first_u:
                first_u[ic] = r
    if first_r:
        # a column: the classes alike in the first role allowed without condition, the first
        # that reaches, and those roles' verdicts (all the best target needs)
        keys: dict[int, Hashable] = {}
        for ic, r in first_r.items():
            u = first_u.get(ic)
            keys[ic] = (u, None if u is None else vectors[u][ic], r, vectors[r][ic])
        part = review.partition(_sparse_partition(len(review.classes.reps), keys))
    else:
        part = review.whole()
    uncond: list[int | None] = [first_u.get(ic) for ic in part.firsts]
    reach: list[int | None] = [first_r.get(ic) for ic in part.firsts]
    got = review.role_tables[key] = _RoleTable(
        vectors, part, uncond, reach, array("i", sorted(first_r))
    )
    return got


def _best_columns(
    review: ClassReview, targets: Sequence[_Target], action: str, combo: tuple[bool, ...] = ()
) -> tuple[Partition, list[_Column], list[int | None]]:
    """`_best_per_class` with the columns as a `Partition` (no per-class list is built)."""
    own = review.vector(targets[0].ident, action, bits=combo)
    table = _role_table(review, targets[1:], action)
    part = review.meet(own.part, table.part)
    kinds = review.kinds
    cols: list[_Column] = []
    best: list[int | None] = []
    own_of, own_vals, role_of = own.part.of, own.vals, table.part.of
    for ic in part.firsts:
        o, r = own_vals[own_of[ic]], role_of[ic]
        cols.append(_Column(o, ic, table.vectors))
        k = kinds[o]
        u = table.uncond[r]
        if k == 2:
            best.append(0)
        elif u is not None:
            best.append(u + 1)
        elif k == 1:
            best.append(0)
        else:
            f = table.reach[r]
            best.append(None if f is None else f + 1)
    return part, cols, best


def _best_per_class(
    review: ClassReview, targets: Sequence[_Target], action: str, combo: tuple[bool, ...] = ()
) -> tuple[list[int], list[_Column], list[int | None]]:
    """For every instance class: a column id, and per column the targets' verdict ids and the
    best target (`_best`'s rule). Instance classes that no target's reader tells apart share
    a column (most do), so the best target is found once per column, not once per class;
    the roles' part (`_RoleTable`) is found once for every principal class reaching the same
    roles. The representative itself is the first target (its chain is empty), so the best
    is: itself when it is allowed; else the first role allowed with no condition on it or
    its chain; else itself when it reaches; else the first role that reaches."""
    part, cols, best = _best_columns(review, targets, action, combo)
    return part.of.tolist(), cols, best


def _outcome(
    review: ClassReview, targets: Sequence[_Target], column: _Column, best: int | None
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

    authority = Authority(inventory)
    joins = find_join_features(inventory, authority)
    classes = InstanceClasses.build(inventory, joins, role_values(inventory, authority, joins))
    review = ClassReview(inventory, classes, max_chain=max_chain)
    principals = review.authority.principals()
    # the class key also holds which join variables a principal carries: the bit combinations
    # its cells need (two members of an identity class may differ there when no policy of
    # theirs reads the variable)
    formed = form_principal_classes(
        review,
        review.identity_class,
        lambda p: tuple(v is not None for v in review.join_values(p)),
    )
    principal_class, reps = formed.of, formed.reps
    job = PairJob(inventory, classes, tuple(actions), max_chain, escalations)
    parts = (engine or SERIAL).run(job, list(enumerate(reps)), review=review)
    cells = ClassCells(tuple(actions), account_runs(classes))
    found = WitnessTable()
    noted: list[dict[str, object]] = []
    parts.reverse()
    while parts:  # merged in class order, each batch dropped once merged (bounded memory)
        part = parts.pop()
        cells.extend(part.cells)
        found.extend(part.witnesses)
        noted += part.not_evaluated
        del part
    matrix = Matrix(
        tuple(actions), principals, principal_class, dict(review.identity_of), classes, cells
    )
    if escalations:
        matrix.witnesses = found
        matrix.retag_instances = None if _reads_written(inventory) else inventory.instances
    seen: dict[tuple[object, ...], dict[str, object]] = {}
    for n in [*review.not_evaluated(), *noted]:
        seen.setdefault(tuple(n.values()), n)
    matrix.not_evaluated = list(seen.values())
    matrix.notes = review.notes()
    if joins:
        matrix.join_values = {p: review.join_values(p) for p in principals}
    if joins and escalations:
        tags = ", ".join(sorted({f.tag for f in joins}))
        matrix.escalation_notes.append(
            f"tag escalation: retagging a tag compared with a principal variable ({tags}) is "
            "not searched, nor tagging that policies decide by the tags it writes; and a "
            "principal is shown an escalation only when an instance of its class "
            "representative's model instance stands in the same relation to it, so the "
            "escalations listed may be incomplete"
        )
    return matrix


def decide_principal_classes(
    review: ClassReview,
    reps: Sequence[tuple[int, str]],
    actions: Sequence[str],
    *,
    escalations: bool,
) -> tuple[ClassCells, WitnessTable]:
    """The job unit of every engine: for each ``(principal class, representative)``, every
    instance class and action, in class order, and the escalation witnesses
    ``(principal class, instance class, witness)``.

    Vectorized: each identity's verdicts over every instance class are computed once
    (`ClassReview.vector`, shared by every principal class reaching that identity), combined
    per principal class by the rule of `Review.access`, and each distinct answer is built
    once."""
    cells = ClassCells(tuple(actions), account_runs(review.classes))
    witnesses = WitnessTable()
    classes = review.classes
    for pc, rep in reps:
        if review.kept_verdicts > VERDICT_LIMIT:
            review.forget(decisions=True)  # bounded memory: the decisions and what uses them
            cells.forget_partitions()
        elif review.kept_partition_bytes > PARTITION_BYTES:
            review.forget()
            cells.forget_partitions()
        targets = _targets(review, rep)
        combos = _combos(targets[0].values)
        # per combo and action: the columns (a partition of the instance classes) and the
        # outcome id of each column; the principal class's map is the meet of them all
        table: list[list[tuple[Partition, list[int]]]] = []
        stops: list[tuple[Partition, list[_Column], list[int | None]] | None] = []
        whole = review.whole()
        for combo in combos:
            per_action: list[tuple[Partition, list[int]]] = []
            stop_best: tuple[Partition, list[_Column], list[int | None]] | None = None
            for action in actions:
                part, cols, best = _best_columns(review, targets, action, combo)
                ids = [
                    cells.intern(_outcome(review, targets, c, b))
                    for c, b in zip(cols, best, strict=True)
                ]
                per_action.append((part, ids))
                whole = review.meet(whole, part)
                if action == STOP:
                    stop_best = (part, cols, best)
            table.append(per_action)
            stops.append(stop_best)
        masks = [sum(1 << j for j, b in enumerate(combo) if b) for combo in combos]
        if len(combos) > 1:
            # a combination whose bit needs a tag no member of the class carries never occurs:
            # each column holds classes alike in which join tags they carry
            whole = review.meet(whole, review.has_partition())
        cells.map_of[pc] = cells.map_id(whole)
        n_a = len(actions)
        ok: dict[tuple[tuple[bool, ...], int], bool] = {}
        for column, ic in enumerate(whole.firsts):
            has = classes.class_has[ic] if classes.joins else ()
            for ci, combo in enumerate(combos):
                got = ok.get((has, ci))
                if got is None:
                    got = ok[(has, ci)] = not any(
                        b and not h for b, h in zip(combo, has, strict=False)
                    )
                if not got:
                    continue
                for a in range(n_a):
                    part, ids = table[ci][a]
                    cells.pclass.append(pc)
                    cells.column.append(column)
                    cells.action.append(a)
                    cells.outcome.append(ids[part.of[ic]])
                    cells.bits.append(masks[ci])
        if escalations:
            stop_by: list[_Stops] = []
            for ci, combo in enumerate(combos):
                stop_best = stops[ci]
                if stop_best is None:
                    stop_best = _best_columns(review, targets, STOP, combo)
                stop_by.append(_stop_access(review, rep, targets, stop_best, combo))
            taggings = [_Tagging(review, rep, targets, combo) for combo in combos]
            found = _rep_witnesses(review, combos, stop_by, taggings)
            for ic, ci, cj, w in found:
                witnesses.append(pc, ic, masks[ci], masks[cj], w)
    cells.forget_partitions()
    return cells, witnesses


def _combos(values: tuple[str | None, ...]) -> list[tuple[bool, ...]]:
    """Every join bit combination a principal with these values can have (a variable it does
    not carry: always false)."""
    out: list[tuple[bool, ...]] = [()]
    for v in values:
        out = [(*c, b) for c in out for b in ((False, True) if v is not None else (False,))]
    return out


class _Stops(Sequence["Access | None"]):
    """`Review.access` of a representative for `STOP` on every instance class, held per
    column (``per_col[part.of[ic]]``), with the classes where it may be some access
    (``candidates``, ascending: where the representative or a role it reaches is allowed
    or conditional): the escalation search walks those, not every class."""

    __slots__ = ("candidates", "part", "per_col")

    def __init__(
        self, part: Partition, per_col: list[Access | None], candidates: Sequence[int]
    ) -> None:
        self.part, self.per_col, self.candidates = part, per_col, candidates

    def __len__(self) -> int:
        return len(self.part.of)

    @overload
    def __getitem__(self, ic: int) -> Access | None: ...
    @overload
    def __getitem__(self, ic: slice) -> list[Access | None]: ...
    def __getitem__(self, ic: int | slice) -> Access | list[Access | None] | None:
        if isinstance(ic, slice):
            return [self.per_col[p] for p in self.part.of[ic]]
        return self.per_col[self.part.of[ic]]


def _stop_access(
    review: ClassReview,
    rep: str,
    targets: Sequence[_Target],
    stop_best: tuple[Partition, Sequence[_Column], Sequence[int | None]],
    combo: tuple[bool, ...] = (),
) -> _Stops:
    """`Review.access` of ``rep`` for `STOP` on every instance class, from the best targets
    (one `Access` per column: the classes of a column share every target's verdict)."""
    part, cols, best = stop_best
    per_col: list[Access | None] = []
    for c, b in enumerate(best):
        if b is None:
            per_col.append(None)
        else:
            t = targets[b]
            per_col.append(Access(rep, t.chain, review.verdicts[cols[c][b]], t.incomplete))
    own = review.reaching_classes(review.vector(targets[0].ident, STOP, bits=combo))
    table = _role_table(review, targets[1:], STOP)
    if not table.reached:
        candidates: Sequence[int] = own
    elif not own:
        candidates = table.reached
    else:
        candidates = sorted({*own, *table.reached})
    return _Stops(part, per_col, candidates)


def _bits(mine: Sequence[str | None], classes: InstanceClasses, arn: str) -> int:
    """The join bits of a principal (its normalised values) and an instance."""
    theirs = classes.join_values[arn]
    return sum(
        1 << j
        for j, (a, b) in enumerate(zip(mine, theirs, strict=True))
        if a is not None and a == b
    )


def _member_sets(
    classes: InstanceClasses,
    tags: Mapping[str, str] | None,
    set_tags: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    """The representative's tags to set, less those a member already carries: members of a
    class may differ in a tag that counts by its conditions' outcomes (`outcome_tags`), and a
    member retagged with the rest is in the like instance's class all the same (each kept tag
    has the representative's outcomes, which are the like instance's). ``tags`` is None when
    some policy reads the keys a tagging request writes: then the request decided (the
    representative's, which the member may make too) is the one listed."""
    if not classes.outcome_tags or tags is None:
        return set_tags
    return tuple((k, v) for k, v in set_tags if tags.get(k) != v)


def expand_escalations(
    classes: InstanceClasses,
    principal_class: Mapping[str, int],
    witnesses: Sequence[WitnessRow],
    join_values: Callable[[str], Sequence[str | None]] = lambda p: (),
    inventory_tags: Callable[[str], Mapping[str, str]] | None = None,
) -> list[Escalation]:
    """Each class witness ``(principal class, instance class, bits, like bits, witness)`` for
    every member of its principal and instance class with those bits; with join features the
    like instance is the first of its class with the like bits for that principal, and the
    join tags to rewrite are added per instance (`_join_retag`), sorted.

    Whatever depends on the principal only through its join values is found once per values:
    the members of a class by their bits (`_MemberBits`), and the like instance."""
    members: dict[int, list[str]] = {}
    for p, pc in principal_class.items():
        members.setdefault(pc, []).append(p)
    for names in members.values():
        names.sort()
    found: list[Escalation] = []
    joins = classes.joins
    if not joins:
        for pc, ic, _, _, esc in witnesses:
            for arn in classes.members[ic]:
                sets = _member_sets(classes, inventory_tags and inventory_tags(arn), esc[2])
                if not sets and not esc[3]:
                    continue
                found += [Escalation(p, arn, esc[1], sets, *esc[3:]) for p in members[pc]]
        found.sort(key=lambda e: (e.principal, e.instance))
        return found
    n = len(joins)
    by_bits = _MemberBits(classes)
    retags: dict[tuple[int, int, int, int], tuple[list[int], list[int]]] = {}
    values: dict[str, tuple[str | None, ...]] = {}
    join_raw = classes.join_raw
    filtered = bool(classes.outcome_tags) and inventory_tags is not None
    for pc, ic, bits, like_bits, esc in witnesses:
        jc = classes.of[esc[1]]
        retag = retags.get((ic, jc, bits, like_bits))
        if retag is None:
            now = tuple(bool(bits >> j & 1) for j in range(n))
            then = tuple(bool(like_bits >> j & 1) for j in range(n))
            retag = retags[(ic, jc, bits, like_bits)] = _join_retag(classes, ic, jc, now, then)
        set_j, remove_j = retag
        sets0, remove0, rest = esc[2], esc[3], esc[4:]
        for p in members[pc]:
            mine = values.get(p)
            if mine is None:
                mine = values[p] = tuple(join_values(p))
            like = by_bits.like(mine, jc, like_bits)
            if like is None:
                continue  # no instance of that class stands in that relation to this principal
            like_tags = join_raw[like]
            for arn in by_bits.of(mine, ic).get(bits, ()):
                tags = join_raw[arn]
                sets = sets0
                if filtered:  # `_member_sets`: a tag the member carries is not set
                    have = inventory_tags(arn)  # type: ignore[misc]
                    sets = tuple((k, v) for k, v in sets0 if have.get(k) != v)
                more = [
                    got
                    for j in set_j
                    if (got := like_tags[j]) is not None and tags[j] != got
                ]  # fmt: skip
                if more:  # `sets` is sorted, its keys unique: re-sorted only when added to
                    sets = tuple(sorted({**dict(sets), **dict(more)}.items()))
                remove = remove0
                gone = [t[0] for j in remove_j if (t := tags[j]) is not None]
                if gone:
                    remove = tuple(sorted({*remove0, *gone}))
                if not sets and not remove:
                    continue
                found.append(Escalation(p, arn, like, sets, remove, *rest))
    found.sort(key=attrgetter("principal", "instance"))
    return found


class _MemberBits:
    """The members of an instance class by their join bits with a principal's values (in
    member order). Bit ``j`` is set where the member's value of join tag ``j`` equals the
    principal's (`_bits`): found from each class's members by value, so that a principal
    whose values no member holds (most: ``aws:username`` against ``owner``) costs a lookup
    per join feature."""

    def __init__(self, classes: InstanceClasses) -> None:
        self.classes = classes
        self._by_value: dict[int, list[dict[str, set[str]]]] = {}
        self._likes: dict[tuple[tuple[str | None, ...], int, int], str | None] = {}

    def like(self, mine: tuple[str | None, ...], ic: int, bits: int) -> str | None:
        """The first member of class ``ic`` with join ``bits`` to values ``mine`` (the like
        instance whose tags a retagging copies), or ``None``; kept per (values, class, bits)."""
        key = (mine, ic, bits)
        if key in self._likes:
            return self._likes[key]
        first = self.of(mine, ic).get(bits)
        got = self._likes[key] = first[0] if first else None
        return got

    def of(self, mine: tuple[str | None, ...], ic: int) -> dict[int, list[str]]:
        """Bits -> the members of class ``ic`` with those bits with values ``mine``."""
        classes = self.classes
        index = self._by_value.get(ic)
        if index is None:
            index = self._by_value[ic] = [{} for _ in classes.joins]
            for arn in classes.members[ic]:
                for j, v in enumerate(classes.join_values[arn]):
                    if v is not None:
                        index[j].setdefault(v, set()).add(arn)
        hits = [(j, got) for j, v in enumerate(mine) if v is not None and (got := index[j].get(v))]
        if not hits:
            return {0: classes.members[ic]}
        out: dict[int, list[str]] = {}
        for arn in classes.members[ic]:
            out.setdefault(sum(1 << j for j, got in hits if arn in got), []).append(arn)
        return out


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


def _reads_written(inventory: Inventory) -> bool:
    """Some policy reads a key a tagging request writes (or a key that cannot be told)."""
    keys, unknown = read_keys(inventory_policies(inventory))
    return unknown or any(_written(k) for k in keys)


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
    _, witnesses = decide_principal_classes(
        review, list(enumerate(reps)), (STOP,), escalations=True
    )
    return expand_escalations(
        review.classes,
        principal_class,
        witnesses,
        review.join_values,
        None
        if _reads_written(review.inventory)
        else (lambda a: review.inventory.instances[a].tags),
    )


class _Tagging:
    """`_tag_access` for one representative, answered from the identity vectors when no
    target's policies read the keys a tagging request writes (``aws:RequestTag/*``,
    ``aws:TagKeys``): then the written tags change no decision, and the answer is that of
    the instance class, the same for every retagging (kept per class). Otherwise each
    request is decided as `_tag_access` does."""

    def __init__(
        self,
        review: ClassReview,
        rep: str,
        targets: Sequence[_Target],
        combo: tuple[bool, ...] = (),
    ) -> None:
        self.review, self.rep, self.targets, self.combo = review, rep, targets, combo
        self._free: dict[str, bool] = {}
        self._tables: dict[str, tuple[list[int], list[_Column], list[int | None]]] = {}

    def free(self, action: str) -> bool:
        """No target reads a key the request writes."""
        got = self._free.get(action)
        if got is None:
            writes = _search_memo(self.review).writes
            got = self._free[action] = not any(
                writes(self.review, t.ident, action) for t in self.targets
            )
        return got

    def _table(self, action: str) -> tuple[list[int], list[_Column], list[int | None]]:
        table = self._tables.get(action)
        if table is None:
            table = self._tables[action] = _best_per_class(
                self.review, self.targets, action, self.combo
            )
        return table

    def per_class(self, action: str, todo: Sequence[int]) -> list[_Tagged | None]:
        """For each instance class of ``todo``, when `free`: the request's answer (the roles
        it goes through, whether it is conditional), or None when no target reaches:
        `_best_per_class`'s rule (itself when allowed; else the first role allowed with no
        condition on it or its chain; else itself when it reaches; else the first role that
        reaches), answered once per own verdict kind and role column."""
        review, targets = self.review, self.targets
        vector = review.vector(targets[0].ident, action, bits=self.combo)
        own = [vector[ic] for ic in todo]
        table = _role_table(review, targets[1:], action)
        kinds = review.kinds
        col_of = table.col_of
        seen: dict[tuple[int, int], _Tagged | None] = {}
        out: list[_Tagged | None] = []
        for ic, o in zip(todo, own, strict=True):
            k, r = kinds[o], col_of[ic]
            key = (k, r)
            if key in seen:
                out.append(seen[key])
                continue
            got: _Tagged | None
            u = table.uncond[r]
            if k == 2:
                got = ((), False)
            elif u is not None:
                got = (targets[u + 1].via, False)
            elif k == 1:
                got = ((), True)
            elif (f := table.reach[r]) is not None:
                t = targets[f + 1]
                got = (t.via, t.chain_conditional or kinds[table.vectors[f][ic]] != 2)
            else:
                got = None
            seen[key] = got
            out.append(got)
        return out

    def access(
        self, action: str, ic: int, inst: Instance, extra: dict[str, ContextValue]
    ) -> Access | None:
        """`_tag_access` of the representative on ``inst`` (of class ``ic``)."""
        if not self.free(action):
            if self.review.joins:
                return None  # not searched with join features (`compute_matrix` notes it)
            return _tag_access(self.review, self.rep, action, inst, extra)
        col_of, cols, best = self._table(action)
        c = col_of[ic]
        b = best[c]
        if b is None:
            return None
        t = self.targets[b]
        return Access(self.rep, t.chain, self.review.verdicts[cols[c][b]], t.incomplete)


class _SearchMemo:
    """What the escalation search finds the same for every representative, per review:
    a class's retagging into another (`_retag`, `_join_retag`), which classes carry a bit
    combination (`_carries`), which classes a pattern with variables may name."""

    def __init__(self, review: ClassReview) -> None:
        self.classes = classes = review.classes
        ids: dict[tuple[object, ...], int] = {}
        self.group = [ids.setdefault(g, len(ids)) for g in review.retag_groups()]
        """By instance class: its retag group's id (`_group`)."""
        self.group_members: list[array[int]] = [array("i") for _ in ids]
        """By retag group id: its instance classes, ascending."""
        for ic, g in enumerate(self.group):
            self.group_members[g].append(ic)
        self.read = classes.tag_keys - {f.tag for f in classes.joins}
        self.variable = [bool(classes.patterns[inst.arn][1]) for inst in classes.reps]
        self._carries: dict[tuple[bool, ...], list[bool]] = {}
        self._retags: dict[
            tuple[int, int], tuple[tuple[tuple[str, str], ...], tuple[str, ...]]
        ] = {}
        self._joins: dict[tuple[int, int, int, int], tuple[bool, bool]] = {}
        self._writes: dict[tuple[int, str], bool] = {}

    def writes(self, review: ClassReview, ident: int, action: str) -> bool:
        """Whether the identity class's policies read a key the request ``action`` writes."""
        got = self._writes.get((ident, action))
        if got is None:
            rep = review.identity_rep(ident)
            review.signature(rep, action, review.classes.reps[0])  # builds the reader
            got = self._writes[(ident, action)] = any(
                _written(k) for k in review.reader(rep, action)[0]
            )
        return got

    def carries(self, combo: tuple[bool, ...]) -> list[bool]:
        """By instance class: `_carries`."""
        got = self._carries.get(combo)
        if got is None:
            seen: dict[tuple[bool, ...], bool] = {}
            got = self._carries[combo] = [
                seen[h] if h in seen else seen.setdefault(h, not any(
                    b and not x for b, x in zip(combo, h, strict=False)
                ))
                for h in self.classes.class_has
            ]  # fmt: skip
        return got

    def retag(self, ic: int, jc: int) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
        """`_retag` of class ``ic``'s representative like class ``jc``'s."""
        got = self._retags.get((ic, jc))
        if got is None:
            reps = self.classes.reps
            got = self._retags[(ic, jc)] = _retag(
                reps[ic].tags, reps[jc].tags, self.read, self.classes.all_tags
            )
        return got

    def join_retag(self, ic: int, jc: int, now: int, like: int) -> tuple[bool, bool]:
        """Whether `_join_retag` sets, and whether it removes, a join tag (bits as masks)."""
        key = (ic, jc, now, like)
        got = self._joins.get(key)
        if got is None:
            n = len(self.classes.joins)
            set_j, remove_j = _join_retag(
                self.classes,
                ic,
                jc,
                tuple(bool(now >> j & 1) for j in range(n)),
                tuple(bool(like >> j & 1) for j in range(n)),
            )
            got = self._joins[key] = (bool(set_j), bool(remove_j))
        return got


_MEMOS: weakref.WeakKeyDictionary[ClassReview, _SearchMemo] = weakref.WeakKeyDictionary()


def _search_memo(review: ClassReview) -> _SearchMemo:
    got = _MEMOS.get(review)
    if got is None or got.classes is not review.classes:
        got = _MEMOS[review] = _SearchMemo(review)
    return got


def _rep_witnesses(
    review: ClassReview,
    combos: Sequence[tuple[bool, ...]],
    stop_by: Sequence[_Stops],
    taggings: Sequence[_Tagging],
) -> list[tuple[int, int, int, Witness]]:
    """Per instance class and join bits the representative cannot stop: the first class and
    bits it can stop that a retagging reaches, as ``(class, bits, like bits, witness)``.

    When no target's policies read the keys a tagging request writes, each tagging answer is
    the instance class's (`_Tagging.per_class`), and a retagging between two classes is the
    same for every representative (`_SearchMemo`): `_witness`'s rule is applied from those
    tables. Otherwise `_witness` decides each request."""
    memo = _search_memo(review)
    group = memo.group
    carries = [memo.carries(combo) for combo in combos]
    # the classes it can stop, by retag group, in (class, bits) order
    groups: dict[int, list[tuple[int, int, Access]]] = {}
    for ci, stops in enumerate(stop_by):
        carried = carries[ci]
        for ic in stops.candidates:
            a = stops[ic]
            if a is not None and carried[ic]:
                groups.setdefault(group[ic], []).append((ic, ci, a))
    if not groups:
        return []
    if len(combos) > 1:
        for can in groups.values():
            can.sort(key=_first_two)
    masks = [sum(1 << j for j, b in enumerate(combo) if b) for combo in combos]
    found: list[tuple[int, int, int, Witness]] = []
    stopped: dict[int, tuple[tuple[str, ...], bool]] = {}
    variable = memo.variable
    for ci, stops in enumerate(stop_by):
        tagging = taggings[ci]
        carried = carries[ci]
        # the classes of the groups it can stop in (a retagging keeps the group), ascending
        todo = sorted(
            ic for g in groups for ic in memo.group_members[g] if carried[ic] and stops[ic] is None
        )
        if not todo:
            continue
        if not (tagging.free(TAG) and tagging.free(UNTAG)):
            for ic in todo:
                got = _witness(review, ic, (combos, ci), groups[group[ic]], tagging)
                if got is not None:
                    found.append((ic, ci, *got))
            continue
        tags, untags = tagging.per_class(TAG, todo), tagging.per_class(UNTAG, todo)
        for ic, tag, untag in zip(todo, tags, untags, strict=True):
            if (tag is None and untag is None) or variable[ic]:
                continue  # it can neither tag nor untag; or no class speaks for its ARN
            got = _fast_witness(
                memo, ic, groups[group[ic]], (masks[ci], masks), (tag, untag), stopped
            )
            if got is not None:
                found.append((ic, ci, *got))
    if len(combos) > 1:
        found.sort(key=_first_two)
    return found


_first_two = itemgetter(0, 1)
"""Sort key: (instance class, bits index), unique per row."""


_Tagged = tuple[tuple[str, ...], bool]
"""A tagging request's answer: the roles it goes through, whether it is conditional."""


def _fast_witness(  # noqa: PLR0917 - the search's inner loop: one call per class and bits
    memo: _SearchMemo,
    ic: int,
    can: Sequence[tuple[int, int, Access]],
    masks: tuple[int, Sequence[int]],
    tagged: tuple[_Tagged | None, _Tagged | None],
    stopped: dict[int, tuple[tuple[str, ...], bool]],
) -> tuple[int, Witness] | None:
    """`_witness` when the tagging answers are the class's (``tagged``: tagging's and
    untagging's, None when the request does not reach): the same candidate, retagging and
    answer. ``masks``: the class's bits and each combination's; ``stopped``: each stop
    access's roles and whether it is conditional, by ``id``."""
    reps = memo.classes.reps
    mask, every = masks
    tag, untag = tagged
    for jc, cj, after in can:
        set_tags, remove = memo.retag(ic, jc)
        set_j, remove_j = memo.join_retag(ic, jc, mask, every[cj])
        setting = bool(set_tags) or set_j
        removing = bool(remove) or remove_j
        if not setting and not removing:
            continue
        if (setting and tag is None) or (removing and untag is None):
            continue
        stop = stopped.get(id(after))
        if stop is None:
            stop = stopped[id(after)] = (tuple(h.role for h in after.via), after.conditional)
        tag_via: tuple[str, ...] = ()
        conditional = stop[1]
        if setting and tag is not None:
            tag_via = tag[0]
            conditional = conditional or tag[1]
        if removing and untag is not None:
            tag_via = tag_via or untag[0]
            conditional = conditional or untag[1]
        return cj, (reps[ic].arn, reps[jc].arn, set_tags, remove, tag_via, stop[0], conditional)
    return None


def _carries(classes: InstanceClasses, ic: int, combo: tuple[bool, ...]) -> bool:
    """Whether members of the class can have these join bits (a bit needs the tag)."""
    return not any(b and not h for b, h in zip(combo, classes.class_has[ic], strict=False))


def _group(classes: InstanceClasses, ic: int) -> tuple[object, ...]:
    """What a retagging cannot change: the ARN prefix, the region, the patterns matched."""
    inst = classes.reps[ic]
    return (inst.arn.rsplit("/", 1)[0], inst.region, classes.patterns[inst.arn])


def _join_retag(
    classes: InstanceClasses, ic: int, jc: int, now: tuple[bool, ...], like: tuple[bool, ...]
) -> tuple[list[int], list[int]]:
    """The join tags to set (to the like instance's value) and to remove, so that a member of
    ``ic`` with bits ``now`` lands in ``jc`` with bits ``like``: a tag the class key or the
    bits tell apart is rewritten; one equal in both is kept (its value is no role's and its
    bit is the same)."""
    set_j: list[int] = []
    remove_j: list[int] = []
    for j in range(len(classes.joins)):
        has_i, has_j = classes.class_has[ic][j], classes.class_has[jc][j]
        if not has_j:
            if has_i:
                remove_j.append(j)
        elif not (
            has_i
            and classes.class_join_key[ic][j] == classes.class_join_key[jc][j]
            and now[j] == like[j]
        ):
            set_j.append(j)
    return set_j, remove_j


def _witness(
    review: ClassReview,
    ic: int,
    combos: tuple[Sequence[tuple[bool, ...]], int],
    can: Sequence[tuple[int, int, Access]],
    tagging: _Tagging,
) -> tuple[int, Witness] | None:
    """``inst`` retagged like an instance the representative can stop is in that instance's
    class (with its join bits) when the ARN prefix, the region and the patterns its ARN
    matches are the same (the tags are the only difference; ``can`` holds only such classes):
    then the class's answer is the answer after retagging. Join tags are set per principal
    and instance when expanded (`expand_escalations`)."""
    classes = review.classes
    every, ci = combos
    inst = classes.reps[ic]
    if classes.patterns[inst.arn][1]:
        return None  # a pattern with variables may name this ARN: no class speaks for it
    no_tag = tagging.free(TAG) and tagging.access(TAG, ic, inst, {}) is None
    no_untag = tagging.free(UNTAG) and tagging.access(UNTAG, ic, inst, {}) is None
    if no_tag and no_untag:
        return None
    read = classes.tag_keys - {f.tag for f in classes.joins}
    for jc, cj, after in can:
        like = classes.reps[jc]
        set_tags, remove = _retag(inst.tags, like.tags, read, classes.all_tags)
        set_j, remove_j = _join_retag(classes, ic, jc, every[ci], every[cj])
        if not set_tags and not remove and not set_j and not remove_j:
            continue
        tag_via: tuple[str, ...] = ()
        conditional = after.conditional
        if ((set_tags or set_j) and no_tag) or ((remove or remove_j) and no_untag):
            continue
        if set_tags or set_j:
            extra: dict[str, ContextValue] = {f"aws:RequestTag/{k}": v for k, v in set_tags}
            extra["aws:TagKeys"] = [k for k, _ in set_tags]
            tagged = tagging.access(TAG, ic, inst, extra)
            if tagged is None:
                continue
            tag_via = tuple(h.role for h in tagged.via)
            conditional = conditional or tagged.conditional
        if remove or remove_j:
            untagged = tagging.access(UNTAG, ic, inst, {"aws:TagKeys": list(remove)})
            if untagged is None:
                continue
            tag_via = tag_via or tuple(h.role for h in untagged.via)
            conditional = conditional or untagged.conditional
        stop_via = tuple(h.role for h in after.via)
        return cj, (inst.arn, like.arn, set_tags, remove, tag_via, stop_via, conditional)
    return None
