"""Many decisions at once: every principal x every instance for one action.

A review asks one question of a whole fleet: may each of P principals do this action on each of
I instances? The decision for a cell depends on the request only through what the policies
read: the resource account (compared with the caller's), the ARN (through each statement's
Resource element), the context keys some statement reads, and the caller. So each row
(principal) groups the instances by a signature of those features and decides once per group,
with an ordinary request built from the parts of the group's first instance: P + I
normalisations, P x groups decisions.

The signatures are coarse where that is sound: a key that no policy variable reads and whose
conditions read no variable an instance gives matters only through the verdicts of the row's
conditions on it (``team`` compared with ``${aws:PrincipalTag/team}``: equal or not), so
instances group by those verdicts; the Resource verdicts of all matchers form one joint
column; with no resource-based policy, every instance of another account is one group (never
allowed). Signatures are computed column-wise in C (byte strings folded by big-integer
arithmetic while a row has at most 256 groups), and `decide_matrix_compact` keeps them as they
are: one answer per group, no Python object per cell.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import chain, repeat
from operator import add, attrgetter, itemgetter, mul, sub
from typing import Any

from lspolicy.evaluate.authorize import PolicySet, _stream
from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.model.request import ContextValue, Request, RequestPart, _account, context_values

__all__ = ["Matrix", "decide_matrix", "decide_matrix_compact", "decide_requests"]

_EMPTY: dict[str, Any] = {}
_INLINE_GROUPS = 64


class Matrix:
    """The answers of `decide_matrix_compact`: for each principal (row), a group per instance
    and one answer per group, instead of one Python object per cell.

    ``groups(p)[i]`` is the group of instance ``i`` in row ``p`` (rows grouped alike share the
    list); ``answers(p)`` maps each group to the row's answer for it. Cells: `allowed`,
    `row`, `rows` (the ``list[list[bool]]`` of `decide_matrix`), `count`.
    """

    __slots__ = ("_answers", "_groups", "instances", "principals")

    def __init__(
        self,
        groups: list[Sequence[Hashable]],
        answers: list[dict[Hashable, bool]],
        instances: int,
    ) -> None:
        self._groups = groups
        self._answers = answers
        self.principals = len(groups)
        self.instances = instances

    def groups(self, p: int) -> Sequence[Hashable]:
        """Row ``p``'s group of each instance, an opaque hashable key (do not modify the list:
        rows may share it; a ``bytes`` when the row has at most 256 groups)."""
        return self._groups[p]

    def answers(self, p: int) -> Mapping[Hashable, bool]:
        """Row ``p``'s answer for each of its groups."""
        return self._answers[p]

    def allowed(self, p: int, i: int) -> bool:
        """Whether principal ``p`` may act on instance ``i``."""
        return self._answers[p][self._groups[p][i]]

    def row(self, p: int) -> list[bool]:
        """Row ``p`` as one answer per instance."""
        return list(map(self._answers[p].__getitem__, self._groups[p]))

    def rows(self) -> list[list[bool]]:
        """Every row (the grid `decide_matrix` returns)."""
        return [self.row(p) for p in range(self.principals)]

    def count(self, p: int) -> int:
        """How many instances principal ``p`` may act on."""
        return sum(map(self._answers[p].__getitem__, self._groups[p]))

    def __repr__(self) -> str:
        return f"Matrix({self.principals} principals x {self.instances} instances)"


def decide_matrix(
    action: str,
    policy_sets: Sequence[PolicySet],
    principals: Sequence[RequestPart],
    instances: Sequence[RequestPart],
    *,
    context: Mapping[str, ContextValue] | None = None,
) -> list[list[bool]]:
    """``grid[p][i]``: whether ``policy_sets[p]`` allows ``action`` for the request combined
    from ``principals[p]``, ``instances[i]`` and ``context`` (`Request.from_parts`).

    Every cell equals ``policy_sets[p].is_allowed(Request.from_parts(action, principals[p],
    instances[i], context=context))``. `decide_matrix_compact` gives the same answers without
    a list per row.
    """
    return decide_matrix_compact(action, policy_sets, principals, instances, context=context).rows()


def decide_matrix_compact(
    action: str,
    policy_sets: Sequence[PolicySet],
    principals: Sequence[RequestPart],
    instances: Sequence[RequestPart],
    *,
    context: Mapping[str, ContextValue] | None = None,
) -> Matrix:
    """`decide_matrix`'s answers as a `Matrix`: ``matrix.allowed(p, i)`` equals
    ``grid[p][i]``.

    How: instances are grouped per row by what the row's policies can tell apart (the
    resource account, each Resource verdict, and for each context key the row reads, the
    verdicts of the row's conditions on that key, or the value itself where a policy variable
    or a Resource reads it); each row decides once per group, with its first instance.
    """
    if len(policy_sets) != len(principals):
        raise ValueError("policy_sets and principals must have the same length")
    overridden = frozenset(k.lower() for k in context or ())
    extra = context_values(context) if context else _EMPTY
    # what each row reads: context keys, and Resource matchers (by the matcher they share: a
    # column is computed once per instance); a Resource with policy variables needs the ARN
    rows: list[tuple[frozenset[str], list[Any], bool]] = []
    key_index: dict[str, int] = {}
    matcher_index: dict[int, int] = {}
    matchers: list[Any] = []
    for ps in policy_sets:
        read, with_resources = ps.keys_read(action)
        read = read - overridden
        row_matchers: list[int] = []
        dynamic = False
        for st in with_resources:
            shape = st.resource_shape
            if shape[0] == "dynamic":
                dynamic = True
                continue
            if shape[0] == "any":  # NotResource "*": the same verdict for every instance
                continue
            # NotResource negates its inner matcher's verdict: the same partition
            ident = id(shape[2]) if shape[0] == "memo" else id(shape[1])
            if ident not in matcher_index:
                matcher_index[ident] = len(matchers)
                matchers.append(shape)
            row_matchers.append(matcher_index[ident])
        for key in read:
            key_index.setdefault(key, len(key_index))
        rows.append((read, row_matchers, dynamic))
    keys = tuple(key_index)
    # one column per feature (the resource account, the ARN, each key's values, each Resource
    # verdict), every value replaced by a small int (equal values, equal ints); columns that
    # hold one value for every instance tell no instance apart and are left out. The
    # instances' facts are each read in one C-level pass.
    resources: list[Any] = list(map(_RESOURCE, instances))
    arns: list[str] = (
        [r if r is not None else "*" for r in resources] if None in resources else resources
    )
    columns: dict[Any, tuple[Sequence[int], int]] = {}
    distinct: dict[Any, list[Any]] = {}
    """Feature -> its distinct values, in the order of their codes."""

    def column(feature: Any, values: Sequence[Any]) -> None:
        seen = dict.fromkeys(values)
        if len(seen) > 1:
            columns[feature] = _codes(seen, values)
            distinct[feature] = list(seen)

    accounts = list(map(_account, arns))
    column(("account",), accounts)
    if any(dynamic for _, _, dynamic in rows):
        column(("arn",), arns)
    plain = _PlainColumns(list(map(_RAW, instances)), list(map(_LOWERED, instances)))
    for key in keys:
        coded = plain.coded(key)
        if coded is None:  # no instance gives it: one value (none) for every instance
            continue
        ids, code = coded
        if code is not None and _PLAIN_TYPES.issuperset(map(type, code)):
            if len(code) > 1:
                # coded by the plain strings (whose hashes are cached); the conditions
                # read the values as `RequestPart.values` holds them
                columns[("key", key)] = (bytes(ids) if len(code) <= 256 else ids, len(code))
                distinct[("key", key)] = [None if v is None else (v,) for v in code]
        else:  # not every value a plain string: the normalised values
            column(("key", key), [part.values.get(key) for part in instances])
    # Resource verdicts: one joint column (each instance's tuple of every matcher's verdict:
    # a fleet's ARNs take few combinations); a row reads its own matchers' part of it
    verdict_lists: list[list[bool]] = []
    for shape in matchers:
        if shape[0] == "exact":
            got = list(map(shape[1].__contains__, arns))
        else:  # memo: remembered verdicts, the matcher for the rest
            got = list(map(shape[1], arns))
            if None in got:
                compute = shape[2]
                got = [
                    compute(a, _EMPTY) if v is None else v for a, v in zip(arns, got, strict=True)
                ]
        verdict_lists.append(got)
    if 0 < len(verdict_lists) <= 8:
        # each instance's verdicts as the bits of one byte (big integers added in C: no
        # carry crosses instances), then decoded per distinct byte
        bits = 0
        for m, got in enumerate(verdict_lists):
            bits += int.from_bytes(bytes(got), "big") << m
        column(("resources",), bits.to_bytes(len(arns), "big"))
        if ("resources",) in distinct:
            width = range(len(verdict_lists))
            distinct[("resources",)] = [
                tuple(bool(v >> m & 1) for m in width) for v in distinct[("resources",)]
            ]
    elif verdict_lists:
        column(("resources",), list(zip(*verdict_lists, strict=True)))
    # instances decided one by one: a part giving two spellings of one key (the merge then
    # depends on the dicts' order, `RequestPart.duplicates`) or naming a caller
    # (`RequestPart._direct` is None for exactly those parts)
    directs = list(map(_DIRECT, instances))
    odd = [n for n, d in enumerate(directs) if d is None] if None in directs else []
    if odd:
        alone = [0] * len(instances)
        for m, n in enumerate(odd, 1):
            alone[n] = m
        columns[("odd",)] = (alone, len(odd) + 1)
    count = len(instances)
    packed: dict[Any, bytes] = {}
    verdicts: dict[tuple[int, Any, Any], tuple[bool, ...]] = {}
    """(condition id, the row's value of its key, of its variables) -> the condition's verdict
    on each distinct value of its key (`_KeyClasses.feature`): conditions are shared between
    policy sets (`StatementCore`), so rows reuse each other's verdicts."""
    given_memo: dict[str, bool] = {}

    def given(key: str) -> bool:
        """Some instance gives a value for ``key``."""
        hit = given_memo.get(key)
        if hit is None:
            hit = given_memo[key] = plain.given(key)
        return hit

    groupings: dict[Any, tuple[Sequence[Hashable], dict[Any, int]]] = {}
    del resources, directs
    group_rows: list[Sequence[Hashable]] = []
    answer_rows: list[dict[Hashable, bool]] = []
    for ps, principal, (read, row_matchers, dynamic) in zip(
        policy_sets, principals, rows, strict=True
    ):
        if principal.duplicates:
            group_rows.append(list(range(count)))
            answer_rows.append(
                {
                    n: ps.is_allowed(Request.from_parts(action, principal, part, context=context))
                    for n, part in enumerate(instances)
                }
            )
            continue
        # what tells instances apart for this row: (source column, class of each of its
        # codes, or None for the codes themselves)
        features: list[tuple[Any, tuple[int, ...] | None]] = []
        collapse: tuple[tuple[int, ...], int] | None = None
        if ("account",) in columns:
            cls, other = _account_classes(ps, principal, distinct[("account",)])
            if other is not None and not ps.resource and not odd:
                # across accounts with no resource-based policy nothing allows: every such
                # instance in one group, whatever else tells them apart
                collapse = (cls, other)
            elif max(cls) > 0:
                features.append((("account",), cls))
        if odd:
            features.append((("odd",), None))
        if dynamic and ("arn",) in columns:
            features.append((("arn",), None))
        # a key whose value matters only through the verdicts of the row's conditions on it
        # (`_KeyClasses`): those verdicts instead of the value
        classes = (
            None
            if dynamic
            else _key_classes(ps, action, principal, extra=extra, given=given, verdicts=verdicts)
        )
        for key in read:
            source = ("key", key)
            if source not in columns:
                continue
            if classes is not None and key in classes.reducible:
                by_value = classes.feature(key, distinct[source])
                if by_value is not None:
                    features.append((source, by_value))
            else:
                features.append((source, None))
        if row_matchers and ("resources",) in columns:
            by_verdicts = _dense(
                [tuple(t[m] for m in row_matchers) for t in distinct[("resources",)]]
            )
            if max(by_verdicts) > 0:
                features.append((("resources",), by_verdicts))
        used = (tuple(features), collapse)
        grouped = groupings.get(used)
        if grouped is None:
            grouped = groupings[used] = _grouping(features, collapse, columns, packed, count)
        sigs, first = grouped
        group_rows.append(sigs)
        answer_rows.append(
            _group_answers(
                ps, action, principal, instances, accounts=accounts, first=first, context=context
            )
        )
    return Matrix(group_rows, answer_rows, count)


def decide_requests(
    requests: Iterable[tuple[int, str, int, Mapping[str, ContextValue] | None]],
    policy_sets: Sequence[PolicySet],
    principals: Sequence[RequestPart],
    instances: Sequence[RequestPart],
) -> list[bool]:
    """Whether each request ``(p, action, i, context)`` is allowed, in order: the answer of
    ``policy_sets[p].is_allowed(Request.from_parts(action, principals[p], instances[i],
    context=context))``.

    Many principals' requests as a caller holds them (indices into the principals and the
    instances, the request's own keys as a plain mapping or None), in any order: each
    principal's parts and plans are found by its index, so the requests need not be grouped
    by principal first (`PolicySet.is_allowed_many` takes one principal's). Each part is
    normalised once, however many requests combine it.
    """
    if len(policy_sets) != len(principals):
        raise ValueError("policy_sets and principals must have the same length")
    items = requests if isinstance(requests, list | tuple) else list(requests)
    out = [False] * len(items)
    order: Iterable[int] = range(len(items))
    if len(policy_sets) > 1 and _statements(policy_sets) > _GROUP_ABOVE:
        # decided grouped by principal: one principal's plans, predicates and their memos
        # stay in the processor's caches while its requests are decided; below
        # ``_GROUP_ABOVE`` statements they stay there anyway and the grouping (~0.09 us per
        # request) would not pay
        order = _by_principal(items, len(policy_sets))
    _stream(items, order, sets=policy_sets, principals=principals, instances=instances, out=out)
    return out


class _PlainColumns:
    """The instances' values of one key at a time, read from the contexts as given
    (`RequestPart.raw`) instead of normalising every instance's context. Parts with the
    same key names share their lower-cased names (``RequestPart._lowered``, a layout); each
    layout maps a lower-case key to the name it was given under (the later of two spellings,
    as in `RequestPart.values`)."""

    __slots__ = ("_layouts", "_lowered", "_names", "_raws")

    def __init__(self, raws: list[dict[Any, Any]], lowered: list[tuple[str, ...]]) -> None:
        self._raws = raws
        self._lowered = lowered
        # each layout once (the parts hold them), with one context given under it
        first = dict(zip(map(id, lowered), zip(lowered, raws, strict=True), strict=True))
        self._layouts = list(first)
        self._names = [dict(zip(low, raw, strict=True)) for low, raw in first.values()]
        """Per layout: lower-case key -> the name given."""

    def given(self, key: str) -> bool:
        """Some instance gives a value for ``key``."""
        return any(key in names for names in self._names)

    def coded(self, key: str) -> tuple[list[int], dict[Any, int] | None] | None:
        """Each instance's value for ``key`` as it was given (None where it gives none) as a
        code, and the codes (value -> code, in order of first appearance), in one C-level
        pass: the code of a value not seen yet is the number of values seen so far. Usable
        where every value is a plain string (`RequestPart.values` otherwise); the codes are
        None when some value cannot be a dict key (a list). None when no instance gives the
        key."""
        names: list[Any] = [layout.get(key) for layout in self._names]
        spellings = set(names)
        spellings.discard(None)
        if not spellings:
            return None
        if len(spellings) == 1:
            # one spelling wherever the key is given: a layout without it gets None
            values = map(dict.get, self._raws, repeat(spellings.pop()))
        else:  # spellings differ between layouts: each instance's name by its layout
            spelling = dict(zip(self._layouts, names, strict=True))
            values = map(dict.get, self._raws, map(spelling.__getitem__, map(id, self._lowered)))
        code: dict[Any, int] = {}
        try:
            return list(map(code.setdefault, values, map(len, repeat(code)))), code
        except TypeError:  # a list
            return [], None


_PLAIN_TYPES = frozenset({str, type(None)})
_FIRST = itemgetter(0)
_GROUP_ABOVE = 2000
"""`decide_requests` groups the requests by principal when the policy sets hold more compiled
statements than this in all. Set between the two workloads measured (so a guide, not a
tuned optimum): the harder workload's 100 principals, 8,286 statements, decided 1.1-1.3x
faster grouped; the standard workload's 20, 73 statements, ~1.1x slower, the sort costing
more than it saved."""


def _by_principal(items: Sequence[tuple[Any, ...]], count: int) -> Iterable[int]:
    """The requests' positions grouped by principal index, in their order within each
    group: a stable counting sort into one list per principal, joined as ``array('q')`` (the
    C loop, `_cstream.c`, reads the requests ahead from such positions; the Python loop
    iterates it as it would a list, 1.00x measured). Measured on the harder
    workload's 100,000 requests (100 principals): 8.7 ms against 14.4 ms for ``sorted`` with
    the index as key, 1.02x the batch's throughput. A principal index that is not one (out
    of range, not an integer) leaves the requests in their own order: `_stream` raises the
    error there, as it does ungrouped."""
    groups: list[list[int]] = [[] for _ in range(count)]
    put = [group.append for group in groups]
    try:
        for n, p in enumerate(map(_FIRST, items)):
            put[p](n)
    except (IndexError, TypeError):
        return range(len(items))
    return array("q", chain.from_iterable(groups))


def _statements(policy_sets: Sequence[PolicySet]) -> int:
    seen: set[int] = set()
    total = 0
    for ps in policy_sets:
        if id(ps) not in seen:
            seen.add(id(ps))
            total += len(ps.identity) + len(ps.boundary or ()) + len(ps.session or ())
            total += sum(map(len, ps.scps)) + len(ps.resource or ())
    return total


_RESOURCE = attrgetter("resource")
_RAW = attrgetter("raw")
_LOWERED = attrgetter("_lowered")
_DIRECT = attrgetter("_direct")


def _codes(seen: dict[Any, None], values: Sequence[Any]) -> tuple[Sequence[int], int]:
    """Each value's code (its place in ``seen``, the distinct values in order), as a
    ``bytes`` when at most 256 values are distinct, and how many codes."""
    code = dict(zip(seen, range(len(seen)), strict=True))
    ids = map(code.__getitem__, values)
    return (bytes(ids) if len(code) <= 256 else list(ids)), len(code)


def _firsts(sig: bytes, radix: int) -> dict[int, int]:
    """Each byte value of ``sig`` (all below ``radix``) -> where it first occurs: the values
    present found by ``in`` per candidate and their places by ``find`` (C ``memchr``, no
    Python object per instance)."""
    present = list(filter(sig.__contains__, range(min(radix, 256))))
    return dict(zip(present, map(sig.find, present), strict=True))


def _dense(values: list[Any]) -> tuple[int, ...]:
    """Each value's class: equal values, equal small ints (from 0, in order of appearance)."""
    found: dict[Any, int] = {}
    return tuple(found.setdefault(v, len(found)) for v in values)


def _account_classes(
    ps: PolicySet, principal: RequestPart, accounts: list[str | None]
) -> tuple[tuple[int, ...], int | None]:
    """The class of each resource account for this row, and the class of accounts other
    than the caller's (None when there are none). The decision reads the resource account
    only by comparing it with the caller's account (cross-account rules) and, with a
    ``resource_owner``, whether it is missing (`PolicySet._owner_elsewhere`)."""
    own = principal.caller_account
    if own is None:  # nothing is cross-account for an unknown caller account
        return tuple(0 for _ in accounts), None
    if ps.resource_owner is None:
        cls = tuple(0 if a is None or a == own else 1 for a in accounts)
        return cls, (1 if 1 in cls else None)
    cls = tuple(0 if a == own else (1 if a is None else 2) for a in accounts)
    return cls, (2 if 2 in cls else None)


def _spread(col: bytes, count: int) -> int:
    """A byte column as one integer of two-byte fields, little-endian: instance ``i``'s
    byte in field ``i`` (bits ``16 i`` to ``16 i + 7``), so that a fold up to 65,536
    combinations carries into no other instance's field."""
    buf = bytearray(2 * count)
    buf[0::2] = col
    return int.from_bytes(buf, "little")


def _gather(wide: int, count: int) -> array[int]:
    """The two-byte fields of ``wide`` (`_spread`'s layout), one per instance."""
    fields = array("H")
    fields.frombytes(wide.to_bytes(2 * count, "little"))
    if sys.byteorder != "little":
        fields.byteswap()
    return fields


assert array("H").itemsize == 2


def _densify(sig: bytes) -> tuple[bytes, int]:
    """``sig`` with its byte values renumbered from 0 (same partition), and how many."""
    values = list(filter(sig.__contains__, range(256)))  # in order, by C ``memchr``
    table = bytearray(256)
    for n, v in enumerate(values):
        table[v] = n
    return sig.translate(table), len(values)


def _table(cls: Sequence[int]) -> bytes:
    return bytes(cls).ljust(256, b"\0")


def _grouping(
    features: list[tuple[Any, tuple[int, ...] | None]],
    collapse: tuple[tuple[int, ...], int] | None,
    columns: dict[Any, tuple[Sequence[int], int]],
    packed: dict[Any, bytes],
    count: int,
) -> tuple[Sequence[Hashable], dict[Any, int]]:
    """A signature per instance from ``features`` (equal signatures, equal features) and each
    signature's first instance, which stands for the group; with ``collapse`` (the account
    classes and the "other account" class), every instance of another account in one group.

    Packed: each signature is one byte. The columns are byte strings (a class feature: the
    source column translated), read as big integers and folded in mixed radix by integer
    arithmetic; no digit reaches 256, so no carry crosses instances and the work per instance
    is done in C. Signatures are renumbered densely whenever the next fold would overflow.
    Where even that overflows, signatures are tuples of the features' ints.
    """

    def packed_column(source: Any) -> bytes:
        col = packed.get(source)
        if col is None:
            ids = columns[source][0]
            col = packed[source] = ids if isinstance(ids, bytes) else bytes(ids)
        return col

    sig: bytes | None = None
    ints: list[int] | None = None
    values: Sequence[int]
    radix = 1
    keep = keep_wide = -1  # every bit: no instance masked
    mark = b""
    if collapse is not None:
        # instances of another account: masked to 0 at every fold (so that they add no
        # combinations), then given a signature of their own
        by_account, other = collapse
        accounts = packed_column(("account",))
        kept = accounts.translate(_table([0 if c == other else 255 for c in by_account]))
        keep = int.from_bytes(kept, "big")
        keep_wide = _spread(kept, count) * 257  # 0xFFFF or 0 per two-byte field
        mark = accounts.translate(_table([1 if c == other else 0 for c in by_account]))
    for source, cls in features:
        ids, size = columns[source]
        if ints is None and size <= 256:
            col = packed_column(source)
            if cls is not None:
                col, size = col.translate(_table(cls)), max(cls) + 1
            if sig is None:
                sig, radix = (int.from_bytes(col, "big") & keep).to_bytes(count, "big"), size
                continue
            if radix * size > 256:
                sig, radix = _densify(sig)
            if radix * size <= 256:
                folded = (int.from_bytes(sig, "big") + int.from_bytes(col, "big") * radix) & keep
                sig = folded.to_bytes(count, "big")
                radix *= size
                continue
            # too many combinations for a byte: this fold in two bytes per instance, then
            # renumbered densely (a row's instances take far fewer combinations than the
            # radix allows); lists of ints only past 256 groups
            wide = (_spread(sig, count) + _spread(col, count) * radix) & keep_wide
            fields = _gather(wide, count)
            found = set(fields)
            if len(found) <= 256:
                table = dict(zip(sorted(found), range(len(found)), strict=True))
                sig, radix = bytes(map(table.__getitem__, fields)), len(found)
                continue
            ints, radix = fields.tolist(), radix * size
            continue
        if ints is None:
            ints = [0] * count if sig is None else list(sig)
        if cls is None:
            values = ids
        else:
            values, size = list(map(cls.__getitem__, ids)), max(cls) + 1
        ints = list(map(add, ints, map(mul, values, repeat(radix))))
        radix *= size
    if ints is None:
        if sig is None:
            sig, radix = bytes(count), 1
        if collapse is not None and radix >= 256:
            sig, radix = _densify(sig)
        if radix < 256:
            if collapse is not None:  # the other accounts' instances: code ``radix``
                sig = (int.from_bytes(sig, "big") + int.from_bytes(mark, "big") * radix).to_bytes(
                    count, "big"
                )
                radix += 1
            return sig, _firsts(sig, radix)
        ints = list(sig)
    if collapse is not None:
        marks = list(mark)
        ints = list(map(mul, ints, map(sub, repeat(1), marks)))  # masked to 0
        ints = list(map(add, ints, map(mul, marks, repeat(radix))))
    return ints, dict(zip(reversed(ints), range(count - 1, -1, -1), strict=True))


class _KeyClasses:
    """For one row: the keys whose value matters only through the verdicts of the row's
    conditions on that key (no policy variable reads it, and no instance gives a value for a
    variable those conditions read), so that instances whose values get the same verdicts
    share a group."""

    __slots__ = ("base", "by_key", "reducible", "verdicts")

    def __init__(
        self,
        by_key: dict[str, list[CompiledCondition]],
        reducible: frozenset[str],
        base: Mapping[str, tuple[str, ...]],
        verdicts: dict[tuple[int, Any, Any], tuple[bool, ...]],
    ) -> None:
        self.by_key = by_key
        self.reducible = reducible
        self.base = base
        self.verdicts = verdicts

    def feature(self, key: str, distinct: list[Any]) -> tuple[int, ...] | None:
        """The class of each value code (values with the same verdicts, the same class);
        None when every value gets the same verdicts. A missing value (None) is the row's own
        value for the key (principal or request keys), as the merged context would hold it.

        A condition's verdict reads only its key and its policy variables' keys, so its
        verdicts over the values are remembered by those (shared by rows)."""
        base = self.base
        own = base.get(key)
        memo = self.verdicts
        vectors: list[tuple[bool, ...]] = []
        for c in self.by_key[key]:
            variables = c.variable_keys
            mk = (id(c), own, tuple(base.get(v) for v in variables) if variables else ())
            vector = memo.get(mk)
            if vector is None:
                vector = memo[mk] = tuple(
                    c.holds(base if value is None else {**base, key: value}) for value in distinct
                )
            vectors.append(vector)
        classes = _dense(
            list(vectors[0]) if len(vectors) == 1 else list(zip(*vectors, strict=True))
        )
        return classes if max(classes) > 0 else None


def _key_classes(
    ps: PolicySet,
    action: str,
    principal: RequestPart,
    *,
    extra: Mapping[str, tuple[str, ...]],
    given: Callable[[str], bool],
    verdicts: dict[tuple[int, Any, Any], tuple[bool, ...]],
) -> _KeyClasses:
    by_key, variables = ps.conditions_by_key(action)
    reducible = frozenset(
        key
        for key, conds in by_key.items()
        if key not in variables and not any(given(v) for c in conds for v in c.variable_keys)
    )
    base = {**principal.values, **extra} if extra else principal.values
    return _KeyClasses(by_key, reducible, base, verdicts)


def _group_answers(
    ps: PolicySet,
    action: str,
    principal: RequestPart,
    instances: Sequence[RequestPart],
    *,
    accounts: list[str | None],
    first: dict[Any, int],
    context: Mapping[str, ContextValue] | None,
) -> dict[Any, bool]:
    """Each group's answer, from its first instance. Where the plain compiled function
    applies (a caller who is not the account root, the instance in the caller's account), it
    is called on the merged context directly; otherwise the full request goes to
    ``is_allowed``."""
    # generating the plan's inlined function pays only over many groups (`authorize._HOT`)
    fast = (
        None
        if principal.caller_is_root
        else ps._compiled_for(action, principal.caller_arn, inline=len(first) >= _INLINE_GROUPS)
    )
    extra = Request.from_parts(action, context=context).context if context else None
    caller_account = principal.caller_account
    answers: dict[Any, bool] = {}
    for sig, n in first.items():
        part = instances[n]
        account = accounts[n]  # `RequestPart.resource_account`
        elsewhere = caller_account is not None and account is not None and account != caller_account
        if part.caller_arn is not None or part.duplicates:  # the general way
            answers[sig] = ps.is_allowed(
                Request.from_parts(action, principal, part, context=context)
            )
            continue
        if elsewhere and not ps.resource:
            # across accounts a resource-based policy must allow too, and there is none
            answers[sig] = False
            continue
        if fast is None or elsewhere:
            request = Request.from_parts(action, principal, part, context=context)
            answers[sig] = ps.is_allowed(request)
            continue
        merged = principal.values | part.values
        if extra:
            merged |= extra
        if principal.caller_arn is not None and "aws:principalarn" not in merged:
            merged["aws:principalarn"] = (principal.caller_arn,)
        answers[sig] = fast(part.resource if part.resource is not None else "*", merged)
    return answers
