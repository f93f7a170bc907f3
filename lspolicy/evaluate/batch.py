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

from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import add, methodcaller, mul
from typing import Any

from lspolicy.evaluate.authorize import PolicySet
from lspolicy.model.request import ContextValue, Request, RequestPart

__all__ = ["decide_matrix"]

_EMPTY: dict[str, Any] = {}
_INLINE_GROUPS = 64


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
    instances[i], context=context))``.
    """
    if len(policy_sets) != len(principals):
        raise ValueError("policy_sets and principals must have the same length")
    overridden = frozenset(k.lower() for k in context or ())
    # what each row reads: context keys, and Resource matchers (by identity: shared matchers
    # are computed once per instance); a Resource with policy variables needs the ARN itself
    rows: list[tuple[frozenset[str], list[Any], bool]] = []
    key_index: dict[str, int] = {}
    matcher_index: dict[int, int] = {}
    matchers: list[Any] = []
    for ps in policy_sets:
        read, with_resources = ps.keys_read(action)
        read = read - overridden
        row_matchers: list[Any] = []
        dynamic = False
        for st in with_resources:
            if st.resource_shape[0] == "dynamic":
                dynamic = True
                continue
            if id(st.resource_match) not in matcher_index:
                matcher_index[id(st.resource_match)] = len(matchers)
                matchers.append(st.resource_match)
            row_matchers.append(st.resource_match)
        for key in read:
            key_index.setdefault(key, len(key_index))
        rows.append((read, row_matchers, dynamic))
    keys = tuple(key_index)
    # one column per feature (the resource account, the ARN, each key's values, each Resource
    # verdict), every value replaced by a small int (equal values, equal ints), so that a
    # row's signatures are tuples of ints: cheap to hash, twice per cell; columns that hold
    # one value for every instance tell no instance apart and are left out
    arns = [part.resource if part.resource is not None else "*" for part in instances]
    columns: dict[Any, tuple[list[int], int]] = {}

    def column(feature: Any, values: list[Any]) -> None:
        distinct = dict.fromkeys(values)
        if len(distinct) > 1:
            code = {v: n for n, v in enumerate(distinct)}
            columns[feature] = (list(map(code.__getitem__, values)), len(code))

    column(("account",), [part.resource_account for part in instances])
    column(("arn",), arns)
    tables = [part.values for part in instances]
    for key in keys:
        column(("key", key), list(map(methodcaller("get", key), tables)))
    for n, m in enumerate(matchers):
        column(("resource", n), [m(arn, _EMPTY) for arn in arns])
    grid: list[list[bool]] = []
    count = len(instances)
    groupings: dict[tuple[Any, ...], tuple[list[int], dict[int, int]]] = {}
    for ps, principal, (read, row_matchers, dynamic) in zip(
        policy_sets, principals, rows, strict=True
    ):
        features: list[Any] = [("account",)]
        if dynamic:
            features.append(("arn",))
        features.extend(("key", k) for k in read)
        features.extend(("resource", matcher_index[id(m)]) for m in row_matchers)
        used = tuple(f for f in dict.fromkeys(features) if f in columns)
        grouped = groupings.get(used)
        if grouped is None:
            # a row's signature: its columns' ints folded into one int (mixed radix), by
            # C-level maps; each distinct signature's first instance stands for the group
            sigs: list[int] = [0] * count
            for f in used:
                ids, size = columns[f]
                sigs = list(map(add, map(mul, sigs, repeat(size)), ids))
            first = dict(zip(reversed(sigs), range(count - 1, -1, -1), strict=True))
            grouped = groupings[used] = (sigs, first)
        sigs, first = grouped
        answers = _group_answers(ps, action, principal, instances, first, context=context)
        grid.append(list(map(answers.__getitem__, sigs)))
    return grid


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
        if part.caller_arn is not None:  # the instance part names a caller: the general way
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
