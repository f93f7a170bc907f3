"""The semantic diff and the two CI checks, over identity-based policies and permissions
boundaries (the layers the Lightsail engine evaluates for one account; Lightsail has no
resource-based policies).

For every group of actions (`lspolicy.diff.actions`) on which the two sides' statements differ,
and each direction, `lspolicy.diff.search` looks for the smallest request with the difference.
Every request it returns is run through the engine (`PolicySet.evaluate`) on both sides before
it is reported; if the engine disagrees, that is a bug of the diff and `DiffInternalError` is
raised, never printed as a result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from lspolicy.budget import expired, time_budget
from lspolicy.budget import reason as budget_reason
from lspolicy.diff.actions import ActionGroup, group_actions
from lspolicy.diff.atoms import Atom, sequence_atom
from lspolicy.diff.automata import resource_elements
from lspolicy.diff.collector import paused
from lspolicy.diff.domains import DiffInternalError, Domain, SharedStrings
from lspolicy.diff.problem import RESOURCE, RawStatement, is_multivalued, slot_keys, translate
from lspolicy.diff.result import (
    CheckResult,
    Difference,
    DiffResult,
    Direction,
    Undecided,
    Witness,
)
from lspolicy.diff.search import (
    AtomMemo,
    Outcome,
    Problem,
    SideLayout,
    SlotChoices,
    search,
)
from lspolicy.diff.split import cases, impossible
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.glob import tokens_of
from lspolicy.model.decision import Decision, StatementRef
from lspolicy.model.policy import Policy

__all__ = ["check_access_not_granted", "check_no_new_access", "diff_policies"]

_DIRECTIONS: Final[tuple[Direction, ...]] = ("new-access", "removed-access")


def _responsible(decision: Decision) -> tuple[StatementRef, ...]:
    if decision.decision in ("allowed", "explicitDeny"):
        return decision.matched
    return tuple(n.statement for n in decision.near_misses)


def _scope_atom(patterns: Sequence[str]) -> Atom:
    branches = []
    for p in patterns:
        elements = resource_elements(tokens_of(p))
        assert elements is not None
        branches.append(elements)
    return sequence_atom(f"scope:{tuple(patterns)}", branches, " or ".join(patterns))


def _fingerprints(statements: Sequence[RawStatement], side: str, boundary: bool) -> list[str]:
    return sorted([f"boundary:{boundary}", *(s.fingerprint for s in statements if s.side == side)])


class _Comparison:
    def __init__(
        self,
        old: Sequence[Policy],
        new: Sequence[Policy],
        *,
        boundary_old: Sequence[Policy] | None,
        boundary_new: Sequence[Policy] | None,
        actions: Sequence[str] | None,
        resources: Sequence[str] | None,
        tags: Mapping[str, str] | None,
        context: Mapping[str, str | None] | None = None,
        split: bool = True,
        share: bool = True,
        skip: bool = True,
    ) -> None:
        self.split = split
        self.skip = skip
        """Skip a case that has no solution before any choice (`lspolicy.diff.split.impossible`)
        without building its problem (False: build and search it; the tests compare both)."""
        """Split each question into the cases of `lspolicy.diff.split` (False: ask it whole;
        the property tests compare both)."""
        self.engines = {
            "old": PolicySet(old, boundary=boundary_old),
            "new": PolicySet(new, boundary=boundary_new),
        }
        self.boundaries = {"old": boundary_old is not None, "new": boundary_new is not None}
        raw: list[RawStatement] = []
        for side, engine in self.engines.items():
            raw.extend(translate(st, side, "identity") for st in engine.identity)
            raw.extend(translate(st, side, "boundary") for st in engine.boundary or ())
        self.raw = raw
        self.actions = actions
        given: dict[str, str | None] = {f"aws:ResourceTag/{k}": v for k, v in (tags or {}).items()}
        given.update(context or {})
        self.fixed = {k.lower(): v for k, v in given.items()}
        names = slot_keys(raw)
        for k in given:
            names.setdefault(k.lower(), k)
        self.names = names
        qualified = {c.slot for st in raw for c in st.conditions if c.mode in ("any", "all")}
        self.multi = {k: is_multivalued(k, k in qualified) for k in names}
        self.scope = [(_scope_atom(resources), True)] if resources else []
        self.unsupported = sorted({u for st in raw for u in st.unsupported})
        self.domains: dict[object, Domain] = {}
        """Value classes by slot tests, shared by the groups of one comparison."""
        self.share = share
        """Reuse slots' projected classes and choices across problems (False: the property
        tests' reference, each problem building its own)."""
        self.choices: dict[object, SlotChoices] = {}
        """Slots' choices by number of classes and shape, shared likewise."""
        self.per_atom: AtomMemo = {}
        """Candidate values read off each atom, shared likewise."""
        self.universes: dict[object, Problem] = {}
        self.shared: SharedStrings | None = None
        """The resource's classes for every kind the differing groups ask for, at once."""

    def run(self, directions: Sequence[Direction]) -> DiffResult:
        """Every question of the comparison, with the garbage collector paused
        (`lspolicy.diff.collector`: a fifth of a large diff's time otherwise)."""
        with paused():
            try:
                return self._run(directions)
            finally:
                # freed here, by reference counting, rather than walked by the collector's
                # first collection once it is enabled again (most of the objects it would
                # find young are these)
                self.forget()

    def forget(self) -> None:
        """Drop the work shared between the questions (classes, choices, universes); `run`
        does at its end: a later `run` computes them again."""
        self.domains.clear()
        self.choices.clear()
        self.per_atom.clear()
        self.universes.clear()
        self.shared = None

    def _run(self, directions: Sequence[Direction]) -> DiffResult:
        groups = group_actions(self.raw, actions=self.actions)
        if self.unsupported:
            every = tuple(a for g in groups for a in g.actions)
            return DiffResult(
                (),
                tuple(Undecided(every, d, tuple(self.unsupported)) for d in directions),
                len(groups),
            )
        differences: list[Difference] = []
        undecided: list[Undecided] = []
        kinds: dict[object, list[tuple[Atom, bool]]] = {}
        for group in groups:
            if not group.kind.free and self._differ([self.raw[i] for i in group.statements]):
                key = (group.kind.types, group.kind.star)
                kinds.setdefault(key, [*group.kind.required(), *self.scope])
        if len(kinds) > 1:  # the prefixes every kind shares are explored once
            self.shared = SharedStrings(list(kinds.values()))
        for group in groups:
            if expired():  # what is left stays undecided; what was decided is kept
                undecided.extend(
                    Undecided(group.actions, d, (budget_reason(),)) for d in directions
                )
                continue
            statements = [self.raw[i] for i in group.statements]
            if not self._differ(statements):
                continue  # the same statements decide both sides: no difference possible
            whole: Problem | None = None
            for direction in directions:
                allowing = "new" if direction == "new-access" else "old"
                if not any(
                    s.side == allowing and s.layer == "identity" and not s.deny for s in statements
                ):
                    continue  # nothing allows these actions on the side that should allow
                layouts: list[dict[str, SideLayout] | None]
                if self.split:
                    layouts = list(cases(statements, direction, self.boundaries))
                else:
                    layouts = [None]
                best: tuple[Problem, Outcome] | None = None
                reasons: list[str] = []
                for layout in layouts:
                    if whole is None:  # the cases read their classes off the whole question's
                        whole = self.problem(group, statements, None, parent=self.universe(group))
                    if (
                        self.skip
                        and layout is not None
                        and not whole.inexact
                        and impossible(layout, direction)
                    ):
                        # the search would stop at its root, exactly (its classes are read
                        # off the whole question's, all exact): not built, not searched
                        continue
                    problem = (
                        whole
                        if layout is None
                        else self.problem(group, statements, layout, parent=whole)
                    )
                    outcome = search(
                        problem, direction, bound=None if best is None else best[1].cost
                    )
                    if outcome.values is not None:
                        if best is None or outcome.cost < best[1].cost:
                            best = (problem, outcome)
                    elif not outcome.exact and best is None:
                        reasons.extend(r for r in outcome.reasons if r not in reasons)
                if best is not None:
                    values = best[1].values
                    assert values is not None
                    differences.append(self.confirm(group, best[0], direction, values))
                elif reasons:
                    undecided.append(Undecided(group.actions, direction, tuple(reasons)))
        return DiffResult(_merge(differences), tuple(undecided), len(groups))

    def _differ(self, statements: Sequence[RawStatement]) -> bool:
        """Whether the two sides' statements (and boundaries) differ at all."""
        return _fingerprints(statements, "old", self.boundaries["old"]) != _fingerprints(
            statements, "new", self.boundaries["new"]
        )

    def universe(self, group: ActionGroup) -> Problem:
        """Every statement of both sides as one problem, per kind of resource: its classes
        are computed once and each group's are read off them (`Problem.parent`)."""
        key = (group.kind.types, group.kind.star, group.kind.free)
        found = self.universes.get(key)
        if found is None:
            found = self.problem(group, self.raw, None)
            self.universes[key] = found
        return found

    def problem(
        self,
        group: ActionGroup,
        statements: Sequence[RawStatement],
        layout: Mapping[str, SideLayout] | None,
        parent: Problem | None = None,
    ) -> Problem:
        """The search problem of one group (one case of it, with ``layout``)."""
        if layout is not None:
            used = {
                id(st)
                for lay in layout.values()
                for part in (lay.deny, lay.identity or (), lay.boundary or ())
                for st in part
            }
            statements = [st for st in statements if id(st) in used]
        return Problem(
            statements,
            boundaries=self.boundaries,
            multi=self.multi,
            names=self.names,
            resource_required=[*group.kind.required(), *self.scope],
            resource_candidates=group.kind.candidates(),
            fixed=self.fixed,
            resource_types=group.kind.types,
            domains=self.domains,
            layout=layout,
            parent=parent,
            shared=self.shared,
            values=self.choices,
            share=self.share,
            per_atom=self.per_atom,
        )

    def confirm(
        self,
        group: ActionGroup,
        problem: Problem,
        direction: Direction,
        values: Mapping[str, str | list[str] | None],
    ) -> Difference:
        context: dict[str, str | tuple[str, ...]] = {}
        for key in sorted(values, key=lambda k: problem.slots[k].name.lower()):
            value = values[key]
            if key == RESOURCE or value is None:
                continue
            context[problem.slots[key].name] = tuple(value) if isinstance(value, list) else value
        resource = values[RESOURCE]
        assert isinstance(resource, str)
        witness = Witness(group.representative, resource, context)
        wanted_new = direction == "new-access"
        old = self.engines["old"].evaluate(witness.request)
        new = self.engines["new"].evaluate(witness.request)
        if new.allowed != wanted_new or old.allowed == wanted_new:
            raise DiffInternalError(
                f"the engine does not confirm a {direction} witness: {witness.to_dict()} "
                f"(old: {old.decision}, new: {new.decision})"
            )
        tidy = _consistent(witness)
        if tidy is not None:
            old_t = self.engines["old"].evaluate(tidy.request)
            new_t = self.engines["new"].evaluate(tidy.request)
            if new_t.allowed == wanted_new and old_t.allowed != wanted_new:
                witness, old, new = tidy, old_t, new_t
        return Difference(
            direction=direction,
            actions=group.actions,
            witness=witness,
            old_decision=old,
            new_decision=new,
            old_statements=_responsible(old),
            new_statements=_responsible(new),
        )


def _consistent(witness: Witness) -> Witness | None:
    """The witness with its resource ARN in the caller's account and the requested region,
    when its context names them and the ARN differs (then the caller, region and resource
    tell one story); None when there is nothing to align. The engine re-checks it."""
    parts = witness.resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    lower = {k.lower(): v for k, v in witness.context.items()}
    region = lower.get("aws:requestedregion")
    account = lower.get("aws:principalaccount")
    arn = lower.get("aws:principalarn")
    if account is None and isinstance(arn, str) and arn.count(":") >= 5:
        account = arn.split(":", 5)[4]
    changed = list(parts)
    if isinstance(region, str) and region and ":" not in region:
        changed[3] = region
    if isinstance(account, str) and account and ":" not in account:
        changed[4] = account
    if changed == parts:
        return None
    return Witness(witness.action, ":".join(changed), witness.context)


def _merge(differences: Sequence[Difference]) -> tuple[Difference, ...]:
    """One entry per kind of access: same direction and the same statements on each side."""
    merged: dict[tuple[object, ...], Difference] = {}
    for d in differences:
        key = (
            d.direction,
            tuple(r.label for r in d.old_statements),
            tuple(r.label for r in d.new_statements),
            d.old_decision.decision,
            d.new_decision.decision,
        )
        have = merged.get(key)
        if have is None:
            merged[key] = d
        else:
            actions = tuple(dict.fromkeys((*have.actions, *d.actions)))
            merged[key] = Difference(
                have.direction,
                actions,
                have.witness,
                have.old_decision,
                have.new_decision,
                have.old_statements,
                have.new_statements,
            )
    return tuple(
        sorted(merged.values(), key=lambda d: (d.direction != "new-access", d.witness.action))
    )


def diff_policies(
    old: Sequence[Policy],
    new: Sequence[Policy],
    *,
    boundary_old: Sequence[Policy] | None = None,
    boundary_new: Sequence[Policy] | None = None,
    actions: Sequence[str] | None = None,
    timeout: float | None = None,
) -> DiffResult:
    """Every kind of request NEW allows and OLD denies, and every kind OLD allows and NEW
    denies, each with a minimal witness request the engine confirms.

    ``old``/``new``: the identity-based policies of each side; ``boundary_old``/``boundary_new``:
    each side's permissions boundary (None: none). ``actions``: action names or patterns to
    compare (default: every Lightsail action and every other action name).
    """
    comparison = _identity_comparison(old, new, boundary_old, boundary_new, actions)
    with time_budget(timeout):
        return comparison.run(_DIRECTIONS)


def _identity_comparison(
    old: Sequence[Policy],
    new: Sequence[Policy],
    boundary_old: Sequence[Policy] | None,
    boundary_new: Sequence[Policy] | None,
    actions: Sequence[str] | None,
) -> _Comparison:
    """The comparison of two identity-based sides, built with the collector paused (compiling
    both sides' engines too: `lspolicy.diff.collector`)."""
    with paused():
        return _Comparison(
            old,
            new,
            boundary_old=boundary_old,
            boundary_new=boundary_new,
            actions=actions,
            resources=None,
            tags=None,
        )


def check_no_new_access(
    old: Sequence[Policy],
    new: Sequence[Policy],
    *,
    boundary_old: Sequence[Policy] | None = None,
    boundary_new: Sequence[Policy] | None = None,
    actions: Sequence[str] | None = None,
    timeout: float | None = None,
) -> CheckResult:
    """PASS when NEW allows no request OLD denies; FAIL with a counterexample otherwise
    (Access Analyzer's CheckNoNewAccess, offline and with the request that proves it).
    ``timeout``: seconds for the whole question (None: the current default, 30 s unless a
    caller set another, `lspolicy.budget`); parts left when it runs out are undecided
    (never a PASS)."""
    comparison = _identity_comparison(old, new, boundary_old, boundary_new, actions)
    with time_budget(timeout):
        result = comparison.run(("new-access",))
    if result.new_access:
        first = result.new_access[0]
        kinds = len(result.new_access)
        return CheckResult(
            "no-new-access",
            "FAIL",
            f"NEW allows requests that OLD denies ({kinds} kind{'s' if kinds > 1 else ''} "
            "of new access)",
            first,
            result.undecided,
        )
    if result.undecided:
        return CheckResult(
            "no-new-access",
            "UNKNOWN",
            "no new access found, but not every part could be decided exactly",
            None,
            result.undecided,
        )
    return CheckResult("no-new-access", "PASS", "NEW allows nothing that OLD denies")


def check_access_not_granted(
    policies: Sequence[Policy],
    *,
    actions: Sequence[str],
    boundary: Sequence[Policy] | None = None,
    resources: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    context: Mapping[str, str | None] | None = None,
    timeout: float | None = None,
) -> CheckResult:
    """PASS when no request for ``actions`` (on ``resources``, which may be ARN patterns, and
    on a resource carrying ``tags``, if given) is allowed; FAIL with a request that is
    (Access Analyzer's CheckAccessNotGranted: any of the actions on any of the resources).

    ``context`` fixes context keys for the question: a value, or None for "absent" (e.g.
    ``{"aws:MultiFactorAuthPresent": None}``: is anything allowed without MFA information?).
    Every other key ranges over all its values, as in `diff_policies`.
    """
    with paused():  # compiling both sides' engines too (`lspolicy.diff.collector`)
        comparison = _Comparison(
            (),
            policies,
            boundary_old=None,
            boundary_new=boundary,
            actions=actions,
            resources=resources,
            tags=tags,
            context=context,
        )
    with time_budget(timeout):
        result = comparison.run(("new-access",))
    what = " or ".join(actions)
    if result.new_access:
        return CheckResult(
            "access-not-granted",
            "FAIL",
            f"{what} is allowed",
            result.new_access[0],
            result.undecided,
        )
    if result.undecided:
        return CheckResult(
            "access-not-granted",
            "UNKNOWN",
            f"no allowed request for {what} found, but not every part could be decided exactly",
            None,
            result.undecided,
        )
    return CheckResult("access-not-granted", "PASS", f"no request for {what} is allowed")
