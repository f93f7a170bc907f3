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
from typing import Any

from lspolicy.evaluate.authorize import PolicySet
from lspolicy.model.request import ContextValue, Request, RequestPart

__all__ = ["decide_matrix"]

_EMPTY: dict[str, Any] = {}


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
    keys: set[str] = set()
    matchers: dict[int, Any] = {}
    dynamic = False
    for ps in policy_sets:
        read, with_resources = ps.keys_read(action)
        keys |= read
        for st in with_resources:
            if st.resource_shape[0] == "dynamic":
                dynamic = True
            else:
                matchers.setdefault(id(st.resource_match), st.resource_match)
    overridden = frozenset(k.lower() for k in context or ())
    instance_keys = tuple(sorted(keys - overridden))
    tests = tuple(matchers.values())
    groups: dict[tuple[Any, ...], int] = {}
    group_of: list[int] = []
    representatives: list[RequestPart] = []
    for part in instances:
        arn = part.resource if part.resource is not None else "*"
        get = part.values.get
        sig = (
            part.resource_account,
            arn if dynamic else None,
            tuple(get(k) for k in instance_keys),
            tuple(m(arn, _EMPTY) for m in tests),
        )
        g = groups.get(sig)
        if g is None:
            g = groups[sig] = len(representatives)
            representatives.append(part)
        group_of.append(g)
    grid: list[list[bool]] = []
    build = Request.from_parts
    for ps, principal in zip(policy_sets, principals, strict=True):
        is_allowed = ps.is_allowed
        answers = [is_allowed(build(action, principal, rep, context=context)) for rep in representatives]
        grid.append([answers[g] for g in group_of])
    return grid
