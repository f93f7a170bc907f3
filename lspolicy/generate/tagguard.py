"""The tag guard's proof (``guard_tags: true``): with each generated policy, no
``lightsail:TagResource`` or ``lightsail:UntagResource`` request that touches a selector's tag key
is allowed — whatever other policies allow — and the guard takes nothing else away.

"Touches": one of the request's ``aws:TagKeys`` equals a selector key ignoring case (IAM matches
``aws:ResourceTag/<key>`` without regard to the key's case:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html, so
writing ``ENV`` changes what ``aws:ResourceTag/env`` reads). ``TagResource`` carries the keys it
adds or changes and ``UntagResource`` the keys it removes, as ``aws:TagKeys``
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html).

Exact, over every request, in two steps:

1. **Shape.** The policy has a Deny statement (the guard) whose Action matches both actions,
   whose Resource is ``*`` and whose every condition is ``ForAnyValue:StringEquals`` or
   ``ForAnyValue:StringEqualsIgnoreCase`` on ``aws:TagKeys`` with literal values. Whether it
   applies is then a function of the action and the set of request keys alone — not of the
   caller, the resource, or any other key — and an explicit Deny wins over every Allow
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
2. **Key classes.** A key passes two kinds of test: equal to a guard value (case-sensitively or
   not, per operator) and equal to a selector key ignoring case. For each case-folded constant of
   either side, its written spellings, another spelling (`lspolicy.generate.spellings`), and a
   spelling that is none of the case-sensitive values (when one exists) — with one key equal to
   no constant in any case — represent every class of one key; ``ForAnyValue`` holds when some
   key of the set passes, so a set's class is the set of its keys' classes, and every subset of
   the key representatives (the empty one too) is tried — or, when each guard has a single
   ``ForAnyValue`` condition, the empty set and every single key (plus every pair, as a
   witness), since such a condition holds for a set exactly when it holds for one of its keys
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
   The guard must apply exactly to the sets that touch a selector key.

As an independent witness the engine evaluates every such request (both actions, an instance and
a non-instance resource) against the policy with ``{"Effect": "Allow", "Action": "*",
"Resource": "*"}`` attached: denied exactly when it touches a selector key, unless another Deny
of the policy (an exclusion) denies it anyway.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from lspolicy.evaluate.authorize import PolicySet
from lspolicy.evaluate.statement import CompiledStatement
from lspolicy.generate.build import GeneratedPolicy, Generation
from lspolicy.generate.spellings import members, other_spelling
from lspolicy.generate.tagwrites import TAG_WRITE_ACTIONS, selector_keys
from lspolicy.model.policy import VERSION_2012
from lspolicy.model.request import ContextValue, Request
from lspolicy.parse import parse_policy

__all__ = ["MAX_KEY_SETS", "TagGuardReport", "check_tag_guard"]

MAX_KEY_SETS = 4096
"""Key sets beyond which the check gives up (not exact)."""

MAX_FINDINGS = 20
"""Findings kept in the report (the rest are counted)."""

_OPERATORS = {"ForAnyValue:StringEquals": False, "ForAnyValue:StringEqualsIgnoreCase": True}
"""Guard operators this proof decides, and whether each ignores case."""

_TAG_KEYS = "aws:tagkeys"
_ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


@dataclass(frozen=True, slots=True)
class TagGuardReport:
    """The tag guard's verdict over every generated policy."""

    keys: tuple[str, ...]
    requests: int
    findings: tuple[str, ...] = ()
    reasons: tuple[str, ...] = field(default=())
    """Why not exact (empty when exact)."""

    @property
    def exact(self) -> bool:
        """Every request was decided through the guard's shape and the key classes."""
        return not self.reasons

    @property
    def holds(self) -> bool:
        """Exact, and no request touching a selector key is allowed."""
        return self.exact and not self.findings

    def render(self) -> str:
        """``tag guard: exact, holds (K keys, N requests)`` or what failed."""
        counts = f"{len(self.keys)} keys, {self.requests:,} requests"
        if self.holds:
            return f"tag guard: exact, holds ({counts})"
        head = "exact" if self.exact else f"not exact: {'; '.join(self.reasons)}"
        lines = [f"tag guard: {head}, does not hold ({counts})"]
        lines += [f"  {f}" for f in self.findings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """For ``--format json``."""
        return {
            "exact": self.exact,
            "holds": self.holds,
            "keys": list(self.keys),
            "requests": self.requests,
            "findings": list(self.findings),
            "not_exact": list(self.reasons),
        }


def _guards(policy_set: PolicySet) -> tuple[list[CompiledStatement], list[str]]:
    """The statements of the guard's shape, and why others that read ``aws:TagKeys`` are not."""
    out: list[CompiledStatement] = []
    others: list[str] = []
    for st in policy_set.statements():
        model = st.statement
        if model.effect != "Deny":
            continue
        reads = any(c.key == _TAG_KEYS for c in st.conditions)
        shaped = (
            reads
            and all(st.action_match(a.lower()) for a in TAG_WRITE_ACTIONS)
            and model.resources is not None
            and "*" in model.resources
            and all(
                c.key == _TAG_KEYS
                and c.condition.operator in _OPERATORS
                and not c.variable_keys
                and all(not any(ch in v for ch in "$*?") for v in c.condition.values)
                for c in st.conditions
            )
        )
        if shaped:
            out.append(st)
        elif reads:
            others.append(f"{model.label} reads aws:TagKeys in a form this proof does not decide")
    return out, others


def _key_reps(
    selectors: Sequence[str], guards: Sequence[CompiledStatement]
) -> tuple[list[str], list[str]]:
    """One key per class (see the module docstring), and reasons the classes are not complete."""
    sensitive: set[str] = set()
    written: set[str] = set(selectors)
    for st in guards:
        for c in st.conditions:
            values = set(c.condition.values)
            written |= values
            if not _OPERATORS[c.condition.operator]:
                sensitive |= values
    reasons: list[str] = []
    reps: list[str] = []
    for folded in sorted({w.lower() for w in written}):
        spelled = sorted(w for w in written if w.lower() == folded)
        reps += spelled
        for w in spelled:
            other = other_spelling(w)
            if other is not None:
                reps.append(other)
        found = members(folded, avoid=sensitive)
        if found is None:
            reasons.append(f"the spellings of tag key {folded!r} are not one character for one")
        else:
            reps += found
    unrelated = "lspolicy-unrelated-key"
    while any(unrelated.lower() == w.lower() for w in written):
        unrelated += "-x"
    reps.append(unrelated)
    return list(dict.fromkeys(reps)), reasons


def _decomposable(guards: Sequence[CompiledStatement]) -> bool:
    """Each guard has one ``ForAnyValue`` condition: it holds for a set of keys exactly when it
    holds for one of its keys ("at least one" value of the request matches)."""
    return all(len(g.conditions) == 1 for g in guards)


def _key_sets(reps: Sequence[str], guards: Sequence[CompiledStatement]) -> list[tuple[str, ...]]:
    """The key sets to try: with `_decomposable` guards, no key, each key and each pair (a pair
    only witnesses the "at least one" reading); otherwise every subset."""
    if _decomposable(guards):
        return [(), *((k,) for k in reps), *itertools.combinations(reps, 2)]
    return [keys for n in range(len(reps) + 1) for keys in itertools.combinations(reps, n)]


def _with_allow_all(p: GeneratedPolicy) -> PolicySet:
    statements = [*p.document["Statement"], _ALLOW_ALL]
    text = json.dumps({"Version": VERSION_2012, "Statement": statements})
    return PolicySet([parse_policy(text, source=p.filename, kind="identity", max_size=0)])


def check_tag_guard(generation: Generation) -> TagGuardReport | None:
    """Decide the tag guard for every generated policy (None unless the intent asks for
    ``guard_tags``)."""
    intent = generation.intent
    if not intent.guard_tags:
        return None
    selectors = selector_keys(intent)
    folded_selectors = {k.lower() for k in selectors}
    account = intent.account
    resources = (
        f"arn:aws:lightsail:us-east-1:{account}:Instance/lspolicy-tag-guard",
        f"arn:aws:lightsail:us-east-1:{account}:Disk/lspolicy-tag-guard",
    )
    findings: list[str] = []
    reasons: list[str] = []
    requests = 0
    for p in generation.policies:
        alone = PolicySet([p.policy])
        guards, others = _guards(alone)
        reasons += others
        if not guards and selectors:
            findings.append(f"{p.name}: no Deny of the guard's shape on the selector keys")
        reps, why = _key_reps(selectors, guards)
        reasons += why
        if not _decomposable(guards) and 2 ** len(reps) > MAX_KEY_SETS:
            reasons.append(f"{2 ** len(reps):,} key sets, over {MAX_KEY_SETS:,}")
            continue
        engine = _with_allow_all(p)
        for keys in _key_sets(reps, guards):
            touches = any(k.lower() in folded_selectors for k in keys)
            for action in TAG_WRITE_ACTIONS:
                context: dict[str, ContextValue] = {"aws:TagKeys": list(keys)}
                if action == "lightsail:TagResource":
                    context.update({f"aws:RequestTag/{k}": "v" for k in keys})
                for resource in resources:
                    requests += 1
                    request = Request(action, resource, context)
                    applies = any(
                        g.action_match(action.lower())
                        and g.applies(resource, request.context, None)
                        for g in guards
                    )
                    allowed = engine.is_allowed(request)
                    where = f"{p.name}: {action} of keys {list(keys)} on {resource}"
                    if touches and (allowed or not applies):
                        findings.append(
                            f"{where} touches a selector key but is "
                            + ("allowed" if allowed else "not denied by the guard")
                        )
                    elif not touches and applies:
                        findings.append(f"{where} touches no selector key but is denied")
    unique = list(dict.fromkeys(findings))
    if len(unique) > MAX_FINDINGS:
        unique = [*unique[:MAX_FINDINGS], f"... and {len(unique) - MAX_FINDINGS:,} more"]
    return TagGuardReport(
        keys=selectors,
        requests=requests,
        findings=tuple(unique),
        reasons=tuple(dict.fromkeys(reasons)),
    )
