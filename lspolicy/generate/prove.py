"""The proof: the engine's decisions on the generated policies equal the intent's on every
request — exactly, over one representative of each class of requests — and, as a second,
independent witness, on a large sampled population.

The exact part (`lspolicy.generate.classes`) enumerates one request per class of the intent's
and the policies' tests together, so agreement on the classes is agreement on every request;
the report then says ``PROVEN`` and how many classes. When the abstraction cannot decide
exactly (a construct it does not model: the reason is given), the classes are still checked
but the result is labelled ``SAMPLED``, never ``PROVEN``.

For every request (the classes, then `lspolicy.generate.population`: boundary, world, random) the intent's answer
comes from `lspolicy.generate.semantics` (written from the intent alone) and the policies'
answer from the engine, `PolicySet.is_allowed`; nothing here evaluates a policy. Checked:

- each principal selector's policy on its own allows exactly what that selector's grants allow,
  minus the exclusions (split policies: all parts together exactly, and each part alone never
  more);
- when there are several selectors, all policies attached together allow exactly the intent;
- structure: Version 2012-10-17, only the intent's actions, no ``...IfExists`` on a resource
  tag, every policy within its size quota.

A disagreement is a counterexample: the request, what the intent says and why, what the engine
says and which statements decided it (`PolicySet.evaluate`). Over-grants (the policy allows,
the intent does not) and under-grants (the reverse) are counted separately; either fails the
proof.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lspolicy.evaluate.authorize import PolicySet
from lspolicy.generate.build import GeneratedPolicy, Generation
from lspolicy.generate.classes import Classes, enumerate_classes
from lspolicy.generate.intent import Grant, instance_actions
from lspolicy.generate.population import (
    boundary_probes,
    pools_for,
    random_probes,
    seed_for,
    world_probes,
)
from lspolicy.generate.semantics import (
    IntentSemantics,
    Probe,
    Undecidable,
    Verdict,
)
from lspolicy.lightsail.context import Identity, Instance
from lspolicy.model.decision import Decision
from lspolicy.model.request import ContextValue, Request, RequestPart

__all__ = [
    "DEFAULT_POPULATION",
    "MIN_WITNESS",
    "WITNESS_PER_CLASS",
    "Counterexample",
    "ProofReport",
    "Scope",
    "prove",
    "witness_size",
]

_MAX_PARTS = 200_000
"""Request parts remembered per proof (beyond: built afresh, same result)."""

DEFAULT_POPULATION = 10_000
"""Random requests of the sampled witness when the classes are not exact (the sample is then
all the evidence there is), and the most it draws by default when they are."""

WITNESS_PER_CLASS = 20
"""Random requests per class when the classes are exact and no size is asked for."""

MIN_WITNESS = 2_000
"""The fewest random requests the witness draws by default."""


def witness_size(classes: int, exact: bool) -> int:
    """The sampled witness's random requests when no size is asked for.

    Not exact: `DEFAULT_POPULATION` - the sample is the evidence, so it stays large. Exact:
    the classes decide every request, and the sample is a second, independent witness whose
    job is to catch a distinction the enumeration missed (each sampled request must fall in a
    class decided as the request is) or a disagreement the classes cannot show. Its size then
    follows the size of what it checks: `WITNESS_PER_CLASS` requests per class, at least
    `MIN_WITNESS`, at most `DEFAULT_POPULATION`. A sample is never what makes a proof PROVEN."""
    if not exact:
        return DEFAULT_POPULATION
    return max(MIN_WITNESS, min(DEFAULT_POPULATION, WITNESS_PER_CLASS * classes))


Kind = Literal["over-grant", "under-grant"]


@dataclass(frozen=True, slots=True)
class Scope:
    """A set of generated policies checked together, and what it must allow."""

    label: str
    policies: tuple[GeneratedPolicy, ...]
    grants: tuple[Grant, ...] | None
    """The grants it must give (None: the whole intent)."""
    exact: bool
    """True: allow exactly; False (one part of a split policy): never more."""
    engine: PolicySet = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Counterexample:
    """A request on which the engine and the intent disagree."""

    kind: Kind
    scope: str
    probe: Probe
    verdict: Verdict
    decision: Decision
    source: str = "sampled"
    """``class`` (found by the exact enumeration) or ``sampled``."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        p = self.probe
        c = p.circumstances
        return {
            "kind": self.kind,
            "found_by": self.source,
            "policies": self.scope,
            "principal": {"arn": p.identity.arn, "tags": dict(p.identity.tags)},
            "action": p.action,
            "resource": p.resource_arn,
            "instance_tags": dict(p.instance.tags) if p.instance is not None else None,
            "context": {
                "aws:MultiFactorAuthPresent": c.mfa,
                "aws:SourceIp": c.source_ip,
                "aws:CurrentTime": c.current_time,
                **c.extra(),
            },
            "intent": {"allowed": self.verdict.allowed, "reason": self.verdict.reason},
            "engine": {
                "decision": self.decision.decision,
                "reason": self.decision.reason,
                "deciding_statements": [m.label for m in self.decision.matched],
                "near_misses": [
                    {
                        "statement": n.statement.label,
                        "failed_conditions": [
                            f"{f.operator} {f.key} {list(f.values)}" for f in n.failed_conditions
                        ],
                    }
                    for n in self.decision.near_misses[:2]
                ],
            },
        }

    def render(self) -> str:
        """A few lines a person can read."""
        p = self.probe
        c = p.circumstances

        def absent(v: object) -> str:
            return "absent" if v is None else str(v).lower() if isinstance(v, bool) else str(v)

        lines = [
            f"{self.kind} ({self.scope}, {self.source}): {p.identity.arn} {p.action} on {p.resource_arn}",
            f"  principal tags {dict(p.identity.tags)}; "
            + (
                f"instance tags {dict(p.instance.tags)}"
                if p.instance is not None
                else "not an instance"
            ),
            f"  MFA {absent(c.mfa)}, source IP {absent(c.source_ip)}, time {absent(c.current_time)}"
            + "".join(f", {k} {v}" for k, v in c.extra().items()),
            f"  intent: {'allow' if self.verdict.allowed else 'deny'} - {self.verdict.reason}",
            f"  engine: {self.decision.decision} - {self.decision.reason}",
        ]
        for n in self.decision.near_misses[:1]:
            failed = "; ".join(
                f"{f.operator} {f.key} {list(f.values)}" for f in n.failed_conditions
            )
            lines.append(f"  nearest statement {n.statement.label}: failed {failed or 'match'}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ProofReport:
    """What the proof checked and found."""

    intent: str
    policies: tuple[str, ...]
    population: dict[str, int]
    """Requests per source: ``boundary``, ``world``, ``random``, ``total``."""
    decisions: int
    """Engine decisions compared (requests x policy sets)."""
    intent_allows: int
    intent_denies: int
    over_grants: int
    under_grants: int
    structure_problems: tuple[str, ...]
    counterexamples: tuple[Counterexample, ...]
    grant_coverage: dict[str, int]
    """Requests each grant gave (and no exclusion took away)."""
    exclusion_coverage: dict[str, int]
    """Granted requests each exclusion took away."""
    undecidable: int
    warnings: tuple[str, ...]
    seed: int
    world: str | None
    seconds: float
    exact: bool = False
    """The classes cover every request (`lspolicy.generate.classes`)."""
    classes: int = 0
    """Requests of the exact enumeration checked, one per class."""
    not_exact: tuple[str, ...] = ()
    """Why the enumeration is not exact (empty when it is)."""
    class_disagreements: int = 0
    """Over- and under-grants found on the classes."""
    sampled_disagreements: int = 0
    """Over- and under-grants found on the sampled population."""
    class_groups: dict[str, int] = field(default_factory=dict)
    class_seconds: float = 0.0
    world_classes: int = 0
    """Classes the world's requests fell in (each decided directly once, its first request)."""
    world_alone: int = 0
    """World requests decided on their own (outside what the class signatures model)."""
    witness_rule: str = "as asked"
    """How the random population's size was chosen (`witness_size`)."""

    @property
    def passed(self) -> bool:
        """No over-grant, no under-grant, no structural problem on any request checked."""
        return not (self.over_grants or self.under_grants or self.structure_problems)

    @property
    def proven(self) -> bool:
        """Passed, and the classes cover every request: a proof, not a sample."""
        return self.passed and self.exact

    @property
    def sampled(self) -> int:
        """Requests of the sampled witness."""
        return self.population["total"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "proven": self.proven,
            "passed": self.passed,
            "exact": self.exact,
            "classes": self.classes,
            "sampled": self.sampled,
            "not_exact": list(self.not_exact),
            "class_groups": dict(self.class_groups),
            "world_classes": self.world_classes,
            "world_alone": self.world_alone,
            "witness_rule": self.witness_rule,
            "class_disagreements": self.class_disagreements,
            "sampled_disagreements": self.sampled_disagreements,
            "intent": self.intent,
            "policies": list(self.policies),
            "world": self.world,
            "population": dict(self.population),
            "seed": self.seed,
            "decisions": self.decisions,
            "intent_allows": self.intent_allows,
            "intent_denies": self.intent_denies,
            "over_grants": self.over_grants,
            "under_grants": self.under_grants,
            "undecidable": self.undecidable,
            "structure_problems": list(self.structure_problems),
            "grant_coverage": dict(self.grant_coverage),
            "exclusion_coverage": dict(self.exclusion_coverage),
            "warnings": list(self.warnings),
            "counterexamples": [c.to_dict() for c in self.counterexamples],
            "seconds": round(self.seconds, 3),
        }

    def render(self) -> str:
        """The report as text."""
        pop = self.population
        witness = (
            f"sampled witness: {pop['total']:,} requests agree"
            if not self.sampled_disagreements
            else f"sampled witness: {self.sampled_disagreements:,} disagreements "
            f"in {pop['total']:,} requests"
        )
        if not self.passed:
            head = (
                f"proof: FAILED - {self.over_grants} over-grants, {self.under_grants} "
                f"under-grants, {len(self.structure_problems)} structural problems "
                f"({self.class_disagreements:,} on {self.classes:,} classes; {witness})"
            )
        elif self.exact:
            head = (
                f"proof: PROVEN - exact over {self.classes:,} classes: the policies allow "
                f"exactly what the intent allows; {witness}"
            )
        else:
            head = (
                f"proof: SAMPLED (not exact: {'; '.join(self.not_exact)}) over "
                f"{pop['total']:,} requests and {self.classes:,} class representatives - "
                "no disagreement found"
            )
        world = f" over {self.world}" if self.world else ""
        groups = " x ".join(f"{n:,} {g}" for g, n in self.class_groups.items())
        lines = [
            head,
            f"  classes: {self.classes:,}"
            + (f" ({groups})" if groups else "")
            + f" in {self.class_seconds * 1000:.0f} ms",
            f"  sampled requests: {pop['total']:,} (boundary {pop['boundary']:,}, world {pop['world']:,}"
            f"{world}, random {pop['random']:,} with seed {self.seed:#x}: {self.witness_rule})",
            *(
                [
                    f"  world requests by class: {pop['world'] - self.world_alone:,} in "
                    f"{self.world_classes:,} classes (each class decided directly on its first "
                    f"request; the others by their signature), {self.world_alone:,} decided alone"
                ]
                if self.world_classes
                else []
            ),
            f"  engine decisions compared: {self.decisions:,}; the intent allows "
            f"{self.intent_allows:,} and denies {self.intent_denies:,}",
            "  grants: " + ", ".join(f"{sid} gave {n:,}" for sid, n in self.grant_coverage.items()),
        ]
        if self.exclusion_coverage:
            lines.append(
                "  exclusions: "
                + ", ".join(f"{sid} took away {n:,}" for sid, n in self.exclusion_coverage.items())
            )
        if self.undecidable:
            lines.append(
                f"  not judged: {self.undecidable} requests on instances whose tag keys differ "
                "only in case"
            )
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  structure: {s}" for s in self.structure_problems]
        for c in self.counterexamples:
            lines.append("  " + c.render().replace("\n", "\n  "))
        hidden = self.over_grants + self.under_grants - len(self.counterexamples)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more counterexamples")
        lines.append(f"  time: {self.seconds * 1000:.0f} ms")
        return "\n".join(lines)


def _scopes(generation: Generation) -> list[Scope]:
    out: list[Scope] = []
    groups = generation.groups()
    intent = generation.intent
    for who, parts in groups.items():
        grants = tuple(g for g in intent.grants if g.principals == who)
        label = parts[0].name if len(parts) == 1 else " + ".join(p.name for p in parts)
        out.append(Scope(label, parts, grants, True, PolicySet([p.policy for p in parts])))
        if len(parts) > 1:
            out += [
                Scope(f"{p.name} alone", (p,), grants, False, PolicySet([p.policy])) for p in parts
            ]
    if len(groups) > 1:
        every = generation.policies
        out.append(
            Scope("all policies together", every, None, True, PolicySet([p.policy for p in every]))
        )
    return out


def structure_problems(generation: Generation) -> list[str]:
    """Rules every generated policy keeps, checked on the parsed model."""
    out: list[str] = []
    allowed_actions = {a.casefold() for a in instance_actions()} | {"lightsail:*"}
    for p in generation.policies:
        policy = p.policy
        if policy.version != "2012-10-17":
            out.append(f"{p.name}: Version is {policy.version!r}, not 2012-10-17")
        if p.size > p.limit:
            out.append(f"{p.name}: {p.size} characters, over the {p.limit} limit")
        for st in policy.statements:
            for action in st.actions or ():
                if action.casefold() not in allowed_actions:
                    out.append(f"{p.name}/{st.label}: action {action} is not an instance action")
            if st.not_actions or st.not_resources or st.principal or st.not_principal:
                out.append(f"{p.name}/{st.label}: uses an element generation never writes")
            for cond in st.conditions:
                if cond.operator.endswith("IfExists") and cond.key.casefold().startswith(
                    "aws:resourcetag/"
                ):
                    out.append(
                        f"{p.name}/{st.label}: {cond.operator} on {cond.key} lets instances "
                        "without the tag through"
                    )
    return out


class _Requests:
    """`Probe.request`, built from parts normalised once (`Request.from_parts`): the caller's
    own keys (by ARN), its tags, the instance's tags, its region, the circumstances. The same
    request, key for key, as `lspolicy.lightsail.context.instance_request` builds."""

    def __init__(self) -> None:
        self._parts: dict[tuple[object, ...], RequestPart] = {}

    def _part(
        self, key: tuple[object, ...], values: Callable[[], dict[str, ContextValue]]
    ) -> RequestPart:
        part = self._parts.get(key)
        if part is None:
            part = RequestPart(values())
            if len(self._parts) < _MAX_PARTS:
                self._parts[key] = part
        return part

    def __call__(self, probe: Probe) -> Request:
        identity, c, instance = probe.identity, probe.circumstances, probe.instance
        own = self._part(
            ("caller", identity.arn, identity.role_arn),
            lambda: Identity(identity.arn, role_arn=identity.role_arn).context(),
        )
        parts = [own]
        if identity.tags:
            parts.append(
                self._part(
                    ("caller tags", *identity.tags.items()),
                    lambda: {f"aws:PrincipalTag/{k}": v for k, v in identity.tags.items()},
                )
            )
        if instance is None:
            parts.append(self._part(("circumstances", c), c.context))
            return Request.from_parts(
                probe.action, *parts, resource=probe.resource, caller_arn=identity.arn
            )
        if instance.tags:
            parts.append(
                self._part(
                    ("instance tags", *instance.tags.items()),
                    lambda: {f"aws:ResourceTag/{k}": v for k, v in instance.tags.items()},
                )
            )
        parts.append(
            self._part(
                ("region", instance.region), lambda: {"aws:RequestedRegion": instance.region}
            )
        )
        parts.append(self._part(("circumstances", c), c.context))
        return Request.from_parts(
            probe.action, *parts, resource=instance.arn, caller_arn=identity.arn
        )


def _abstraction_fault(
    classes: Classes, probe: Probe, request: Request, verdict: bool, engine: bool | None = None
) -> str | None:
    """Why ``probe`` shows the classes incomplete, or None (``engine``: the decision of all
    the policies together, when already known)."""
    decided = classes.decided(probe)
    where = f"{probe.action} by {probe.identity.arn} on {probe.resource_arn}"
    if decided is None:
        return f"{where} falls in no enumerated class"
    if engine is None:
        engine = classes.signer.engine.is_allowed(request)
    if decided != (verdict, engine):
        return f"{where} is decided otherwise than its class"
    return None


def _plain_keys(tags: Mapping[str, str]) -> bool:
    """Tag keys the class signatures read as the intent does: ASCII (``lower`` and
    ``casefold`` agree) and no two alike but for case (such requests are not judged)."""
    return not tags or ("".join(tags).isascii() and len({k.lower() for k in tags}) == len(tags))


class _WorldKeys:
    """The class of a world request, as the class abstraction's signatures name it, or None
    when the request is outside what the signatures model exactly (then it is decided on its
    own): the root user, a caller whose role the pools would read otherwise, another partition,
    ARN parts with colons, tag keys that are not ASCII (folded by ``lower`` in the engine but by
    ``casefold`` in the intent's reading) or that differ only in case (not judged)."""

    def __init__(self, classes: Classes, roles: Mapping[str, str]) -> None:
        self.classes = classes
        self.roles = roles
        self._last: tuple[Instance, bool] | None = None

    def _instance_ok(self, instance: Instance) -> bool:
        last = self._last
        if last is not None and last[0] is instance:  # the world's requests come by instance
            return last[1]
        ok = (
            instance.partition == "aws"
            and ":" not in instance.id
            and ":" not in instance.region
            and ":" not in instance.account
            and _plain_keys(instance.tags)
        )
        self._last = (instance, ok)
        return ok

    def __call__(self, probe: Probe) -> tuple[object, ...] | None:
        instance, identity = probe.instance, probe.identity
        if instance is None or identity.arn.endswith(":root"):
            return None
        if identity.role_arn != self.roles.get(identity.arn):
            return None
        if not self._instance_ok(instance) or not _plain_keys(identity.tags):
            return None
        signer = self.classes.signer
        return (
            signer.action(probe.action),
            signer.who_where(identity, instance),
            signer.circumstances(probe.circumstances),
        )


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How one request was judged: the grants that give it, the exclusions that take it,
    and per scope the engine's answer and the intent's."""

    giving: tuple[int, ...]
    taking: tuple[int, ...]
    verdict: bool
    answers: tuple[tuple[bool, bool], ...]


def prove(
    generation: Generation,
    *,
    instances: Sequence[Instance] = (),
    identities: Sequence[Identity] = (),
    world: str | None = None,
    population: int | None = None,
    seed: int = 0,
    max_counterexamples: int = 5,
    group_world: bool = True,
) -> ProofReport:
    """Check the generated policies against the intent on the boundary requests, every
    instance of the world (``instances`` with ``identities`` as callers), and ``population``
    random requests (None: `witness_size`, from the number of classes and whether they are
    exact); keep up to ``max_counterexamples`` of each kind. Deterministic for the same inputs.

    With ``group_world`` (the default) and exact classes, the world's requests are grouped by
    their class (`Classes` signatures: every statement's and every grant's and exclusion's
    tests, evaluated for that request): the first request of each class is decided directly by
    the engine and the intent, and checked against the class's own decision; every other request
    of the class shares its answers, its membership confirmed by its signature. Without it
    (or when the classes are not exact) every world request is decided on its own."""
    started = time.perf_counter()
    intent = generation.intent
    semantics = IntentSemantics(intent)
    pools = pools_for(intent)
    scopes = _scopes(generation)
    callers = list(identities)
    warnings: list[str] = []
    if instances and not any(i.account == intent.account for i in instances):
        warnings.append(
            f"the world has no instance in account {intent.account}: its instances only show "
            "that nothing is granted elsewhere"
        )
    mixed = seed_for(intent, seed)
    counts = {"classes": 0, "boundary": 0, "world": 0, "random": 0}
    class_started = time.perf_counter()
    classes = enumerate_classes(intent, [p.policy for p in generation.policies])
    class_seconds = time.perf_counter() - class_started
    if not classes.exact:
        warnings.append(
            "the classes do not cover every request (" + "; ".join(classes.reasons) + "): "
            "the result rests on the sampled population"
        )
    sized = population is None
    if population is None:
        population = witness_size(len(classes), classes.exact)

    def sources() -> Iterator[tuple[str, Iterable[Probe]]]:
        yield "classes", classes.probes()
        yield "boundary", boundary_probes(intent, pools)
        yield "world", world_probes(intent, pools, instances, callers)
        yield "random", random_probes(intent, pools, population, mixed)

    grant_cover = {g.sid: 0 for g in intent.grants}
    exclusion_cover = {e.sid: 0 for e in intent.exclusions}
    sids = [g.sid for g in intent.grants]
    esids = [e.sid for e in intent.exclusions]
    index = {g: i for i, g in enumerate(intent.grants)}
    wanted = [
        None if scope.grants is None else frozenset(index[g] for g in scope.grants)
        for scope in scopes
    ]
    requests = _Requests()
    # the scope of every policy together, whose engine decision the class check reuses
    whole = next(
        (k for k, sc in enumerate(scopes) if sc.policies == generation.policies),
        None,
    )
    world_key = _WorldKeys(classes, dict(pools.session_roles))
    grouped: dict[tuple[object, ...], _Outcome] = {}
    world_alone = 0
    found: list[Counterexample] = []
    over = under = decisions = allows = denies = undecidable = 0
    disagreements = {"class": 0, "sampled": 0}
    faults: list[str] = []

    def judge(probe: Probe, facts: Any, check_class: bool) -> tuple[_Outcome, Request]:
        giving = tuple(semantics.giving(probe, facts))
        taking = tuple(semantics.taking(probe, facts)) if giving else ()
        verdict_all = bool(giving) and not taking
        request = requests(probe)
        answers = tuple(
            (
                scope.engine.is_allowed(request),
                verdict_all if grants is None else not taking and any(i in grants for i in giving),
            )
            for scope, grants in zip(scopes, wanted, strict=True)
        )
        if check_class:
            # the request also checks the abstraction: it must fall in an enumerated class,
            # decided alike by the engine and by the intent
            fault = _abstraction_fault(
                classes,
                probe,
                request,
                verdict_all,
                None if whole is None else answers[whole][0],
            )
            if fault is not None and len(faults) < 3:
                faults.append(fault)
        return _Outcome(giving, taking, verdict_all, answers), request

    for name, probes in sources():
        if name == "boundary":
            class_seconds = time.perf_counter() - class_started
        source = "class" if name == "classes" else "sampled"
        group = name == "world" and group_world and classes.exact
        for probe in probes:
            counts[name] += 1
            request: Request | None = None
            key = world_key(probe) if group else None
            outcome = grouped.get(key) if key is not None else None
            if outcome is None:
                try:
                    facts = semantics.facts(probe)
                except Undecidable:
                    undecidable += 1
                    continue
                check = name != "classes" and classes.exact and probe.instance is not None
                # the world's requests are checked against their class once per class (the
                # first of each); boundary and random requests each
                outcome, request = judge(
                    probe, facts, check and (name != "world" or key is not None)
                )
                if key is not None:
                    grouped[key] = outcome
                elif name == "world":
                    world_alone += 1
            if source == "sampled":
                if outcome.verdict:
                    allows += 1
                    for i in outcome.giving:
                        grant_cover[sids[i]] += 1
                else:
                    denies += 1
                    for j in outcome.taking:
                        exclusion_cover[esids[j]] += 1
            for scope, (got, expected) in zip(scopes, outcome.answers, strict=True):
                decisions += 1
                if got == expected or (not scope.exact and not got):
                    continue
                kind: Kind = "over-grant" if got else "under-grant"
                disagreements[source] += 1
                if got:
                    over += 1
                else:
                    under += 1
                if sum(c.kind == kind for c in found) < max_counterexamples:
                    if request is None:
                        request = requests(probe)
                    found.append(
                        Counterexample(
                            kind,
                            scope.label,
                            probe,
                            semantics.explain(probe, scope.grants),
                            scope.engine.evaluate(request),
                            source,
                        )
                    )
    for sid, n in grant_cover.items():
        if n == 0:
            warnings.append(
                f"grant {sid} allowed no request of the population: check whether the "
                "exclusions take away everything it gives"
            )
    for sid, n in exclusion_cover.items():
        if n == 0:
            warnings.append(
                f"exclusion {sid} took away no granted request: no grant reaches what it names"
            )
    exact = classes.exact and not faults
    if faults:
        warnings.append(
            "the classes missed a distinction a sampled request shows (a bug in the "
            "enumeration): " + "; ".join(faults)
        )
    n_classes = counts.pop("classes")
    counts_total = {**counts, "total": sum(counts.values())}
    return ProofReport(
        intent=intent.name,
        policies=tuple(p.name for p in generation.policies),
        population=counts_total,
        decisions=decisions,
        intent_allows=allows,
        intent_denies=denies,
        over_grants=over,
        under_grants=under,
        structure_problems=tuple(structure_problems(generation)),
        counterexamples=tuple(found),
        grant_coverage=grant_cover,
        exclusion_coverage=exclusion_cover,
        undecidable=undecidable,
        warnings=tuple(warnings),
        seed=mixed,
        world=world,
        seconds=time.perf_counter() - started,
        exact=exact,
        classes=n_classes,
        not_exact=classes.reasons
        + (("the sampled witness found a class missing",) if faults else ()),
        class_disagreements=disagreements["class"],
        sampled_disagreements=disagreements["sampled"],
        class_groups=dict(classes.groups),
        class_seconds=class_seconds,
        world_classes=len(grouped),
        world_alone=world_alone,
        witness_rule=(
            f"{WITNESS_PER_CLASS} per class, at least {MIN_WITNESS:,}, at most "
            f"{DEFAULT_POPULATION:,}"
            if sized and classes.exact
            else "the default for a proof that is not exact"
            if sized
            else "as asked"
        ),
    )
