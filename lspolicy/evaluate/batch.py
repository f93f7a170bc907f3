"""Many decisions at once: every principal x every instance for one action.

A review asks one question of a whole fleet: may each of P principals do this action on each of
I instances? The decision for a cell depends on the request only through what the policies
read: the ARN (through each statement's Resource element), the context keys some statement
reads, and the caller. So instances are grouped by a signature: the resource account, each
Resource verdict that any principal's plan needs, and the instance's values for every key read
(a key the instance part lacks falls back to the principal's value, the same for a whole row).
Each principal decides once per group, with an ordinary request built from the parts, and the
row is filled from the group answers: P + I normalisations, P x groups decisions.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import repeat
from typing import Any

from lspolicy.evaluate.authorize import PolicySet
from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.model.request import ContextValue, Request, RequestPart, context_values

__all__ = ["Matrix", "decide_matrix", "decide_matrix_compact"]

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
    # hold one value for every instance tell no instance apart and are left out
    arns = [part.resource if part.resource is not None else "*" for part in instances]
    columns: dict[Any, tuple[list[int], int]] = {}
    distinct_values: dict[str, list[Any]] = {}

    def column(feature: Any, values: list[Any]) -> list[Any] | None:
        distinct = dict.fromkeys(values)
        if len(distinct) <= 1:
            return None
        code = {v: n for n, v in enumerate(distinct)}
        columns[feature] = (list(map(code.__getitem__, values)), len(code))
        return list(distinct)

    column(("account",), [part.resource_account for part in instances])
    if any(dynamic for _, _, dynamic in rows):
        column(("arn",), arns)
    tables = [part.values for part in instances]
    for key in keys:
        got = column(("key", key), list(map(dict.get, tables, repeat(key))))
        if got is not None:
            distinct_values[key] = got
    for n, shape in enumerate(matchers):
        if shape[0] == "exact":
            verdicts = list(map(shape[1].__contains__, arns))
        else:  # memo: remembered verdicts, the matcher for the rest
            verdicts = list(map(shape[1], arns))
            if None in verdicts:
                compute = shape[2]
                verdicts = [
                    compute(a, _EMPTY) if v is None else v
                    for a, v in zip(arns, verdicts, strict=True)
                ]
        column(("resource", n), verdicts)
    # instances decided one by one: a part giving two spellings of one key (the merge then
    # depends on the dicts' order, `RequestPart.duplicates`) or naming a caller
    odd = [n for n, part in enumerate(instances) if part.duplicates or part.caller_arn is not None]
    if odd:
        alone = [0] * len(instances)
        for m, n in enumerate(odd, 1):
            alone[n] = m
        columns[("odd",)] = (alone, len(odd) + 1)
    count = len(instances)
    packed: dict[Any, bytes] = {}
    verdicts: dict[tuple[int, Any], bool] = {}
    """(condition id, value) -> verdict, for conditions without policy variables: conditions
    are shared between policy sets (`StatementCore`), so rows reuse each other's verdicts."""
    given_memo: dict[str, bool] = {}

    def given(key: str) -> bool:
        """Some instance gives a value for ``key``."""
        hit = given_memo.get(key)
        if hit is None:
            hit = given_memo[key] = any(map(dict.__contains__, tables, repeat(key)))
        return hit

    groupings: dict[tuple[Any, ...], tuple[Sequence[Hashable], dict[Any, int]]] = {}
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
        # what tells instances apart for this row: every feature it reads, and for a key
        # whose value matters only through the verdicts of the row's conditions on it
        # (`_KeyClasses`), those verdicts instead of the value
        classes = (
            None
            if dynamic
            else _key_classes(ps, action, principal, extra=extra, given=given, verdicts=verdicts)
        )
        features: list[Any] = [("account",), ("odd",)]
        if dynamic:
            features.append(("arn",))
        for key in read:
            if ("key", key) not in columns:
                continue
            if classes is not None and key in classes.reducible:
                cls = classes.feature(key, distinct_values[key])
                if cls is not None:
                    features.append(("class", key, cls))
            else:
                features.append(("key", key))
        features.extend(("resource", m) for m in row_matchers)
        used = tuple(f for f in dict.fromkeys(features) if f[0] == "class" or f in columns)
        grouped = groupings.get(used)
        if grouped is None:
            grouped = groupings[used] = _grouping(used, columns, packed, count)
        sigs, first = grouped
        group_rows.append(sigs)
        answer_rows.append(_group_answers(ps, action, principal, instances, first, context=context))
    return Matrix(group_rows, answer_rows, count)


def _grouping(
    used: tuple[Any, ...],
    columns: dict[Any, tuple[list[int], int]],
    packed: dict[Any, bytes],
    count: int,
) -> tuple[Sequence[Hashable], dict[Any, int]]:
    """A signature per instance from the features ``used`` (equal signatures, equal features)
    and each signature's first instance, which stands for the group.

    When the features have at most 256 combinations, each signature is one byte: the columns
    are byte strings (a class feature: its key's column translated), read as big integers and
    folded in mixed radix by integer arithmetic (no digit overflows, so no carries), so the
    work per instance is done in C. Otherwise the signatures are tuples of the features' ints.
    """
    sizes = [(max(f[2]) + 1) if f[0] == "class" else columns[f][1] for f in used]
    combinations = 1
    for size in sizes:
        combinations *= size
    if combinations <= 256 and all(
        columns[("key", f[1]) if f[0] == "class" else f][1] <= 256 for f in used
    ):
        acc = 0
        radix = 1
        for f, size in zip(used, sizes, strict=True):
            source = ("key", f[1]) if f[0] == "class" else f
            column = packed.get(source)
            if column is None:
                column = packed[source] = bytes(columns[source][0])
            if f[0] == "class":
                column = column.translate(bytes(f[2]) + bytes(256 - len(f[2])))
            acc += int.from_bytes(column, "big") * radix
            radix *= size
        sig = acc.to_bytes(count, "big")
        return sig, {v: sig.index(v) for v in set(sig)}
    cols: list[list[int]] = []
    for f in used:
        if f[0] == "class":
            cols.append(list(map(f[2].__getitem__, columns[("key", f[1])][0])))
        else:
            cols.append(columns[f][0])
    sigs: list[Any]
    if not cols:
        sigs = [0] * count
    elif len(cols) == 1:
        sigs = cols[0]
    else:
        sigs = list(zip(*cols, strict=True))
    return sigs, dict(zip(reversed(sigs), range(count - 1, -1, -1), strict=True))


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
        verdicts: dict[tuple[int, Any], bool],
    ) -> None:
        self.by_key = by_key
        self.reducible = reducible
        self.base = base
        self.verdicts = verdicts

    def feature(self, key: str, distinct: list[Any]) -> tuple[int, ...] | None:
        """The class of each value code (values with the same verdicts, the same class);
        None when every value gets the same verdicts. A missing value (None) is the row's own value for the
        key (principal or request keys), as the merged context would hold it."""
        conds = self.by_key[key]
        base = self.base
        found: dict[tuple[bool, ...], int] = {}
        ids: list[int] = []
        memo = self.verdicts
        for value in distinct:
            ctx: Mapping[str, tuple[str, ...]] | None = None
            verdicts = []
            for c in conds:
                if value is not None and not c.variable_keys:
                    hit = memo.get((id(c), value))
                    if hit is None:
                        hit = memo[(id(c), value)] = c.holds({key: value})
                    verdicts.append(hit)
                    continue
                if ctx is None:
                    ctx = base if value is None else {**base, key: value}
                verdicts.append(c.holds(ctx))
            ids.append(found.setdefault(tuple(verdicts), len(found)))
        if len(found) <= 1:
            return None
        return tuple(ids)


def _key_classes(
    ps: PolicySet,
    action: str,
    principal: RequestPart,
    *,
    extra: Mapping[str, tuple[str, ...]],
    given: Callable[[str], bool],
    verdicts: dict[tuple[int, Any], bool],
) -> _KeyClasses:
    by_key, variables = ps.conditions_by_key(action)
    reducible = frozenset(
        key
        for key, conds in by_key.items()
        if key not in variables and not any(given(v) for c in conds for v in c.variable_keys)
    )
    base = principal.values | extra if extra else principal.values
    return _KeyClasses(by_key, reducible, base, verdicts)


def _group_answers(
    ps: PolicySet,
    action: str,
    principal: RequestPart,
    instances: Sequence[RequestPart],
    first: dict[Any, int],
    *,
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
        account = part.resource_account
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
