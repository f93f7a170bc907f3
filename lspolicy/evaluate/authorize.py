"""The decision logic over every policy layer, compiled once per policy set.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
1. An explicit Deny in any applicable policy (identity, resource-based, permissions boundary,
   session, any SCP) decides ``explicitDeny``.
2. Every SCP level of the organization hierarchy must allow; else implicit deny.
   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
3. Within one account, an Allow in a resource-based policy or in an identity-based policy is
   needed. A resource-based grant to an IAM user ARN or a role session ARN is not limited by an
   implicit deny in a permissions boundary; one to a role ARN is. A grant to a session ARN is not
   limited by the session policy; one to a user or role ARN is. A grant to the account delegates
   to the account's identity-based policies.
   https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
   https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
4. A permissions boundary, when present, must allow; a session policy, when present, must allow.
5. Across accounts, the resource-based policy and the caller's side (identity policies and its
   boundary and session policies) must both allow.
   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html

Evaluating a request reads a per-action plan (statements whose Action matched, built once and
cached), then runs precompiled predicates: no parsing or compiling on the hot path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.evaluate.codegen import (
    Decider,
    Layers,
    compile_decider,
    compile_layered_decider,
    generic_decider,
    layerable,
    layered_variant,
    never,
    raw_decider,
)
from lspolicy.evaluate.principal import Caller, GrantKind
from lspolicy.evaluate.statement import CompiledStatement, StatementCore, statement_core
from lspolicy.model.decision import Decision, DecisionName, FailedCondition, NearMiss, StatementRef
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.model.request import (
    _UNREAD,
    ContextValue,
    Request,
    RequestPart,
    lower_key,
    value_strings,
)

__all__ = ["PolicySet"]

_native: Any = None
"""The C loop of `_stream` (`_cstream.c`, built by setup.py where a C compiler is), or None:
not built, or LSPOLICY_PURE set (the pure-Python loop, which gives the same answers)."""
if not os.environ.get("LSPOLICY_PURE"):
    with contextlib.suppress(ImportError):  # not built: the pure-Python loop
        from lspolicy.evaluate import _cstream as _native

_MAX_PLANS = 65536
_HOT = 256
"""Requests a plan serves through its generic decision function (a loop over the statements'
shared predicates, `codegen.generic_decider`) before its own inlined function is generated:
generating one costs 0.2-8 ms (Python's ``compile`` on a large plan), which pays only on a plan
that serves hundreds of requests."""

_EAGER = 8
"""Plans of at most this many statements get their inlined function at once: writing a small
plan's source costs tens of microseconds, and plans of one shape share the compiled code
(`codegen._define`), so most of them compile nothing."""


def _size(plan: _Plan) -> int:
    return (
        len(plan.denies)
        + len(plan.identity)
        + len(plan.boundary or ())
        + len(plan.session or ())
        + sum(map(len, plan.scps))
        + len(plan.resource or ())
    )


_SHARED_LIMIT = 1 << 14
_UNSET: Any = object()
_POLICY_CORES: dict[int, tuple[Policy, tuple[StatementCore, ...]]] = {}
"""Policy object id -> (the policy, its statements' shared cores): attaching a policy object
already seen costs a lookup, not a hash of its content (the entry holds the policy, so the id
cannot be reused while it is cached)."""
_KIND_COPIES: dict[tuple[int, PolicyKind], tuple[Policy, Policy]] = {}
_DECIDERS: dict[tuple[object, ...], Decider] = {}
"""Compiled decision functions by the shared cores of their plan: principals holding the same
policies for an action share one function."""


def _bounded_put(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _SHARED_LIMIT:
        cache.clear()
    cache[key] = value


def _cores(policy: Policy) -> tuple[StatementCore, ...]:
    hit = _POLICY_CORES.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    substitute = policy.substitutes_variables
    cores = tuple(statement_core(s, substitute) for s in policy.statements)
    _bounded_put(_POLICY_CORES, id(policy), (policy, cores))
    return cores


_RESOURCE_LAYERS: dict[tuple[int, bool], tuple[Policy, tuple[CompiledStatement, ...]]] = {}
"""Resource-based policy object id and whether the set has a boundary -> the policy and its
compiled statements, shared by every set it is attached to (nothing mutates a compiled
statement after this; the entry holds the policy, so the id is not reused while cached)."""


def _resource_layer(policy: Policy, *, boundary: bool) -> tuple[CompiledStatement, ...]:
    hit = _RESOURCE_LAYERS.get((id(policy), boundary))
    if hit is not None and hit[0] is policy:
        return hit[1]
    compiled = _compile([_as_policy(policy, "resource")])
    if boundary:
        for st in compiled:
            st.boundary_present = True
    _bounded_put(_RESOURCE_LAYERS, (id(policy), boundary), (policy, compiled))
    return compiled


def _compile(policies: Iterable[Policy]) -> tuple[CompiledStatement, ...]:
    out: list[CompiledStatement] = []
    for i, p in enumerate(policies):
        for s, core in zip(p.statements, _cores(p), strict=True):
            out.append(CompiledStatement(p, i, s, core=core))
    return tuple(out)


@dataclass(slots=True)
class _Plan:
    """The statements whose Action matches one action name, by layer.

    Only ``simple``, ``inlined`` and ``uses`` change: ``simple`` is the generic decision
    function from the first request, replaced by the plan's own inlined function once the plan
    has served ``_HOT`` requests (or at once when an equal plan's function is cached), so that
    plans used a few times do not pay for code generation.
    """

    denies: tuple[CompiledStatement, ...]
    identity: tuple[CompiledStatement, ...]
    boundary: tuple[CompiledStatement, ...] | None
    session: tuple[CompiledStatement, ...] | None
    scps: tuple[tuple[CompiledStatement, ...], ...]
    resource: tuple[CompiledStatement, ...] | None
    simple: Decider | None
    """The whole decision as one compiled function (`lspolicy.evaluate.codegen`)."""
    needs_caller: bool
    """Some statement of the plan names principals: the compiled function reads the caller."""
    inlined: bool = False
    uses: int = 0
    reads: frozenset[str] = frozenset()
    """Every context key a statement of the plan reads (lower case): the decision functions
    read no other key."""
    layered: Any = _UNSET
    """The inlined function reading the principal's, the instance's and the request's values
    without merging them (`codegen.compile_layered_decider`): generated on first use by a
    batch, None when the plan's tests need the merged context; ``_UNSET`` before."""
    by_key: tuple[dict[str, list[CompiledCondition]], frozenset[str]] | None = None
    """`PolicySet.conditions_by_key`, computed when first asked."""
    layouts: dict[tuple[str, ...], _Layout] = field(default_factory=dict)
    """Request contexts' key names, as given, -> which of them the plan reads (`_layout`):
    a batch normalises only those."""
    layered_layouts: dict[tuple[str, ...], _Layout] = field(default_factory=dict)
    """`layouts` with the layered function's variant for each (once the plan has one)."""
    raw: Decider | None = None
    """The raw form of the plan's generic function (`codegen.raw_decider`), what a batch calls
    for a plan without a resource-based policy (`PolicySet._batch_entry`); made when a batch
    first needs it."""
    raw_layouts: dict[tuple[str, ...], dict[str, str]] = field(default_factory=dict)
    """Request contexts' key names, as given, -> the keys among them the plan reads (lower
    case -> the name given; of two spellings, the later): what ``raw`` reads them by."""


_Layout = tuple[tuple[tuple[str, str], ...], Callable[..., bool] | None]
"""``(name, lower-case name)`` of each key the plan reads, in the context's order, and the
plan's layered function for requests giving exactly those keys (`codegen.layered_variant`;
None for a plan without a layered function, or when the request gives none of them)."""
_BatchEntry = tuple[
    "_Plan",
    Callable[..., bool],
    Callable[..., bool] | None,
    bool,
    "dict[tuple[str, ...], Any]",
    bool,
    bool,
]
"""(plan, its decision function, the layered function's variant for requests whose own keys
the plan does not read (None: the function is not layered), whether it reads the caller, the
plan's context layouts (`_Layout`s; for a raw function, the names it reads: lower-case key ->
the name given), whether the plan is still cold, whether the function is raw
(`codegen.raw_decider`))."""
_MAX_LAYOUTS = 256
_NO_KEYS: dict[str, tuple[str, ...]] = {}
"""The request's own keys for a layered decision function when the plan reads none of them
(shared: never written)."""


def _layout(
    names: tuple[str, ...], reads: frozenset[str], layered: Callable[..., bool] | None
) -> _Layout:
    """``(name, lower-case name)`` for each of a context's key names that ``reads`` holds, in
    the context's order (where two spellings of one key are given, the later wins, as when
    normalising the whole context), and ``layered``'s variant for those keys."""
    out = []
    for name in names:
        lower = lower_key(name)
        if lower in reads:
            out.append((name, lower))
    pairs = tuple(out)
    if layered is None or not pairs:
        return pairs, None
    return pairs, layered_variant(layered, {lower: name for name, lower in pairs})


def _new_layout(
    layouts: dict[tuple[str, ...], Any],
    names: tuple[str, ...],
    plan: _Plan,
    layered: Callable[..., bool] | None,
) -> Any:
    """A stream's miss in a plan's layouts (bounded): for a raw function (``plan.raw_layouts``)
    the keys the plan reads among ``names`` (lower case -> the name given, the later of two
    spellings), else `_layout`'s pairs and variant."""
    if layouts is plan.raw_layouts:
        made: Any = {lower: name for name, lower in _layout(names, plan.reads, None)[0]}
    else:
        made = _layout(names, plan.reads, layered)
    if len(layouts) >= _MAX_LAYOUTS:
        layouts.clear()
    layouts[names] = made
    return made


def _split(
    sts: Iterable[CompiledStatement], action: str
) -> tuple[tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]:
    """The statements whose Action matches ``action``: (denies, allows), each in order."""
    matched = [s for s in sts if s.action_match(action)]
    return tuple(s for s in matched if s.deny), tuple(s for s in matched if not s.deny)


@dataclass(frozen=True, slots=True)
class _LayerPlan:
    """The statements of every layer but the resource-based policy that match one action:
    what a plan shares between a set and its `PolicySet.with_resource_policy` copies."""

    denies_before: tuple[CompiledStatement, ...]
    """Identity, boundary and session denies, in that order."""
    denies_after: tuple[CompiledStatement, ...]
    """SCP denies, level by level."""
    identity: tuple[CompiledStatement, ...]
    boundary: tuple[CompiledStatement, ...] | None
    session: tuple[CompiledStatement, ...] | None
    scps: tuple[tuple[CompiledStatement, ...], ...]

    @staticmethod
    def select(
        action: str,
        identity: tuple[CompiledStatement, ...],
        boundary: tuple[CompiledStatement, ...] | None,
        session: tuple[CompiledStatement, ...] | None,
        scps: tuple[tuple[CompiledStatement, ...], ...],
    ) -> _LayerPlan:
        i_denies, i_allows = _split(identity, action)
        b_denies, b_allows = _split(boundary or (), action)
        s_denies, s_allows = _split(session or (), action)
        levels = [_split(level, action) for level in scps]
        return _LayerPlan(
            denies_before=(*i_denies, *b_denies, *s_denies),
            denies_after=tuple(d for denies, _ in levels for d in denies),
            identity=i_allows,
            boundary=None if boundary is None else b_allows,
            session=None if session is None else s_allows,
            scps=tuple(allows for _, allows in levels),
        )


def _ref(st: CompiledStatement) -> StatementRef:
    s = st.statement
    return StatementRef(
        policy=st.policy.source,
        policy_kind=st.policy.kind,
        policy_index=st.policy_index,
        index=s.index,
        sid=s.sid,
        effect=s.effect,
        span=s.span,
    )


def _as_policy(policy: Policy, kind: PolicyKind) -> Policy:
    if policy.kind == kind:
        return policy
    hit = _KIND_COPIES.get((id(policy), kind))
    if hit is not None and hit[0] is policy:
        return hit[1]
    copy = policy.model_copy(update={"kind": kind})
    _bounded_put(_KIND_COPIES, (id(policy), kind), (policy, copy))
    return copy


class PolicySet:
    """Every policy that bears on a caller's requests, compiled once; evaluate many requests.

    ``identity``: identity-based policies; ``boundary``: the permissions boundary (None for
    none); ``session``: session policies (None for no session policy); ``scps``: one list of
    SCPs per level of the organization hierarchy, root first (None for no SCPs);
    ``resource_policy``: the resource-based policy of the resources requested;
    ``resource_owner``: the account owning resources whose ARN names no account.
    """

    def __init__(
        self,
        identity: Sequence[Policy] = (),
        *,
        boundary: Sequence[Policy] | None = None,
        session: Sequence[Policy] | None = None,
        scps: Sequence[Sequence[Policy]] | None = None,
        resource_policy: Policy | None = None,
        resource_owner: str | None = None,
    ) -> None:
        self.identity = _compile(_as_policy(p, "identity") for p in identity)
        self.boundary = (
            None if boundary is None else _compile(_as_policy(p, "boundary") for p in boundary)
        )
        self.session = (
            None if session is None else _compile(_as_policy(p, "session") for p in session)
        )
        self.scps = tuple(_compile(_as_policy(p, "scp") for p in level) for level in scps or ())
        self.resource_owner = _account_of_owner(resource_owner)
        self._attach(resource_policy)
        self._callers: dict[str, Caller] = {}
        self._layers: dict[str, _LayerPlan] = {}

    def _attach(self, resource_policy: Policy | None) -> None:
        self.resource = (
            None
            if resource_policy is None
            else _resource_layer(resource_policy, boundary=self.boundary is not None)
        )
        self._plans: dict[str, _Plan] = {}

    def with_resource_policy(self, resource_policy: Policy | None) -> PolicySet:
        """This set with ``resource_policy`` as its resource-based policy (replacing any):
        the identity, boundary, session and SCP layers are shared as compiled, with their
        per-action statement selection, not compiled again. Decides exactly as a `PolicySet`
        built with every layer: one caller's layers against many role trust policies."""
        other = object.__new__(PolicySet)
        other.identity = self.identity
        other.boundary = self.boundary
        other.session = self.session
        other.scps = self.scps
        other.resource_owner = self.resource_owner
        other._attach(resource_policy)
        other._callers = self._callers
        other._layers = self._layers
        return other

    # -- planning ---------------------------------------------------------------------------

    def _plan(self, action: str) -> _Plan:
        plan = self._plans.get(action)
        if plan is not None:
            return plan

        layers = self._layers.get(action)
        if layers is None:
            layers = _LayerPlan.select(
                action, self.identity, self.boundary, self.session, self.scps
            )
            if len(self._layers) < _MAX_PLANS:
                self._layers[action] = layers
        resource = None
        r_denies: tuple[CompiledStatement, ...] = ()
        if self.resource is not None:
            r_denies, resource = _split(self.resource, action)
        plan = _Plan(
            # the order of every layer's denies: identity, boundary, session, resource, SCPs
            denies=(*layers.denies_before, *r_denies, *layers.denies_after),
            identity=layers.identity,
            boundary=layers.boundary,
            session=layers.session,
            scps=layers.scps,
            resource=resource,
            simple=None,
            needs_caller=False,
        )
        # every layer compiles into one function; the account root and cross-account requests
        # take the general path (`_decide`), see `is_allowed`
        needs_caller = any(
            st.principal is not None or st.not_principal is not None
            for st in (*plan.denies, *(plan.resource or ()))
        )
        plan.needs_caller = needs_caller
        plan.reads = frozenset(k for st in _plan_statements(plan) for k in st.condition_keys)
        cached = _cached_decider(plan)
        if cached is None and _size(plan) <= _EAGER:
            _inline(plan)
        elif cached is None:
            plan.simple = generic_decider(_layers(plan))
        else:
            plan.simple, plan.inlined = cached, True
        if len(self._plans) < _MAX_PLANS:
            self._plans[action] = plan
        return plan

    def _caller(self, request: Request) -> Caller | None:
        arn = request.caller_arn
        return None if arn is None else self._caller_of(arn)

    def _caller_of(self, arn: str) -> Caller:
        """The caller parsed from ``arn``, remembered per set (a batch asks once per call;
        parsing costs tens of microseconds)."""
        caller = self._callers.get(arn)
        if caller is None:
            caller = Caller.from_arn(arn)
            if len(self._callers) < _MAX_PLANS:
                self._callers[arn] = caller
        return caller

    def _cross_account(self, request: Request) -> bool:
        """The resource belongs to another account than the caller's (both must be known)."""
        owner = request.resource_account or self.resource_owner
        caller = request.caller_account
        return owner is not None and caller is not None and owner != caller

    # -- the fast path ----------------------------------------------------------------------

    def is_allowed(self, request: Request) -> bool:
        """True when the request is allowed: the decision without its explanation."""
        plan = self._plans.get(request.action_key) or self._plan(request.action_key)
        simple = plan.simple
        if not plan.inlined:
            plan.uses += 1
            if plan.uses >= _HOT:
                simple = _promote(plan)
        assert simple is not None
        if request.special or (self.resource_owner is not None and self._owner_elsewhere(request)):
            if not plan.resource and self._cross_account(request):
                # across accounts the resource-based policy must allow too, and none does
                return False
            return self._decide(request, plan) == "allowed"
        if plan.needs_caller:
            return simple(request.resource, request.context, self._caller(request))
        return simple(request.resource, request.context)

    def is_allowed_many(
        self,
        requests: Iterable[Request | tuple[str, RequestPart, Mapping[str, ContextValue] | None]],
        *,
        principal: RequestPart | None = None,
    ) -> list[bool]:
        """``is_allowed`` for each request, in order.

        An item is a `Request`, or ``(action, part, context)``: the request combined from
        ``principal`` (when given), ``part`` (an instance's `RequestPart`, or any part) and the
        request's own ``context`` keys, as `Request.from_parts` combines them. Answers equal
        ``is_allowed`` on each request alone. (Many principals' requests in one call:
        `lspolicy.decide_requests`.)
        """
        out: list[bool] = []
        items = requests if isinstance(requests, list | tuple) else list(requests)
        if principal is not None and items:
            try:  # the items as columns, in C; a `Request` item (not a tuple) raises
                actions, parts, contexts = zip(*items, strict=True)
            except (TypeError, ValueError):
                pass
            else:
                count = len(parts)
                stream = list(zip(repeat(0), actions, range(count), contexts))
                out = [False] * count
                _stream(
                    stream,
                    range(count),
                    sets=(self,),
                    principals=(principal,),
                    instances=parts,
                    out=out,
                )
                return out
        append = out.append
        is_allowed = self.is_allowed
        build = Request.from_parts
        for item in items:
            if isinstance(item, Request):
                append(is_allowed(item))
                continue
            action, part, context = item
            if principal is None:
                append(is_allowed(build(action, part, context=context)))
            else:
                append(is_allowed(build(action, principal, part, context=context)))
        return out

    def _batch_entry(self, action: str) -> _BatchEntry:
        """What `_stream` calls for ``action``.

        A plan without a resource-based policy is decided by its generic function's raw form
        (`codegen.raw_decider`: the request's own keys read as given, the statements tried in
        the order of what applied last), however many requests it has served, unless it is
        small enough to be inlined at once (`_EAGER`): then by its layered function. A plan
        with a resource-based policy: by its layered function once it is hot, else by its
        generic function on the merged context (its requests counted towards ``_HOT``).

        Measured (batch mode of `bench/engine.py` in alternating child processes, seven
        rounds): on the harder workload (100,000 requests) 1.02-1.21x, median 1.19x, against
        the layered functions of its hot large plans: those test in a fixed order, the generic
        function moves what applied last to the front, and most requests there meet a Deny
        that applies. On the standard workload, whose plans are all inlined at once and so
        unchanged, 0.89-1.11x (median 1.04x: noise); the raw form for every plan there would
        cost 0.78-0.95x."""
        key = action.lower()
        plan = self._plans.get(key) or self._plan(key)
        decide = plan.simple
        assert decide is not None
        if plan.resource is None and (not plan.inlined or _size(plan) > _EAGER):
            raw = plan.raw
            if raw is None:
                # the generic function's own (sharing its order) while the plan is on it
                raw = None if plan.inlined else getattr(decide, "raw", None)
                plan.raw = raw = raw if raw is not None else raw_decider(_layers(plan))
            return plan, raw, None, plan.needs_caller, plan.raw_layouts, False, True
        layered = None
        if plan.inlined:
            layered = plan.layered
            if layered is _UNSET:
                layered = _layered(plan)
        if layered is not None:
            decide = layered
        return (
            plan,
            decide,
            None if layered is None else layered.bare,
            plan.needs_caller,
            plan.layouts if layered is None else plan.layered_layouts,
            not plan.inlined,
            False,
        )

    def _compiled_for(
        self, action: str, caller_arn: str | None, *, inline: bool = True
    ) -> Callable[..., bool] | None:
        """``decide(resource, context)`` for requests of ``caller_arn`` (not the account root)
        on resources in the caller's account: the plan's inlined function, compiled now (with
        ``inline=False``, the plan's current function: the generic one until the plan is hot).
        None when the caller or the resource owner needs the general path."""
        if self.resource_owner is not None:
            return None
        plan = self._plans.get(action.lower()) or self._plan(action.lower())
        simple = plan.simple if plan.inlined or not inline else _inline(plan)
        assert simple is not None
        if not plan.needs_caller:
            return simple
        if caller_arn is None:
            return lambda r, c: simple(r, c, None)
        caller = self._caller_of(caller_arn)
        return lambda r, c: simple(r, c, caller)

    def keys_read(self, action: str) -> tuple[frozenset[str], tuple[CompiledStatement, ...]]:
        """For one action: the context keys any relevant statement reads (lower case), and the
        statements whose Resource element must be matched against the ARN."""
        plan = self._plans.get(action.lower()) or self._plan(action.lower())
        keys: set[str] = set()
        with_resources: list[CompiledStatement] = []
        for st in _plan_statements(plan):
            keys.update(st.condition_keys)
            if st.resource_shape[0] != "any" or st.resource_negated:
                with_resources.append(st)
        return frozenset(keys), tuple(with_resources)

    def denies_for(self, action: str) -> tuple[CompiledStatement, ...]:
        """For one action: the Deny statements of every layer (identity, boundary, session,
        resource, SCPs, in the order they are matched). For a request across accounts that no
        resource-based policy grants, whether any of them applies is the whole decision
        (`_decide`: ``explicitDeny`` with those that apply, else ``implicitDeny``)."""
        plan = self._plans.get(action.lower()) or self._plan(action.lower())
        return plan.denies

    def conditions_by_key(
        self, action: str
    ) -> tuple[dict[str, list[CompiledCondition]], frozenset[str]]:
        """For one action: every condition of a relevant statement, by the context key it
        tests (lower case), and the keys read otherwise (as policy variables, in a condition's
        values or a Resource). A key outside the second set bears on the decision only through
        its conditions' verdicts (`decide_matrix` groups instances by them)."""
        plan = self._plans.get(action.lower()) or self._plan(action.lower())
        if plan.by_key is None:
            by_key: dict[str, list[CompiledCondition]] = {}
            variables: set[str] = set()
            for st in _plan_statements(plan):
                for c in st.conditions:
                    by_key.setdefault(c.key, []).append(c)
                    variables.update(c.variable_keys)
                if st.resource_shape[0] == "dynamic":
                    # a Resource with policy variables: every key the statement reads, to
                    # be safe (its own variables are among them)
                    variables.update(st.condition_keys)
            plan.by_key = (by_key, frozenset(variables))
        return plan.by_key

    def _owner_elsewhere(self, request: Request) -> bool:
        """A resource owner given for an ARN naming no account, and a caller of another account."""
        owner = self.resource_owner
        return (
            owner is not None
            and request.resource_account is None
            and request.caller_account is not None
            and request.caller_account != owner
        )

    def _decide(self, request: Request, plan: _Plan) -> DecisionName:
        caller = self._caller(request)
        resource = request.resource
        context = request.context

        def any_applies(sts: Iterable[CompiledStatement]) -> bool:
            return any(st.applies(resource, context, caller) for st in sts)

        if any_applies(plan.denies):
            return "explicitDeny"
        if not all(any_applies(level) for level in plan.scps):
            return "implicitDeny"
        grant = self._resource_grant(plan, resource, context, caller)
        if request.caller_is_root and not self._cross_account(request):
            # "all requests are implicitly denied with the exception of the AWS account root
            # user, which has full access": only explicit denies and SCPs limit it
            return "allowed"
        boundary_ok = plan.boundary is None or any_applies(plan.boundary)
        session_ok = plan.session is None or any_applies(plan.session)
        identity_ok = any_applies(plan.identity)
        if self._cross_account(request):
            ok = grant is not GrantKind.NONE and identity_ok and boundary_ok and session_ok
            return "allowed" if ok else "implicitDeny"
        return (
            "allowed"
            if _same_account_allows(grant, identity_ok, boundary_ok, session_ok)
            else "implicitDeny"
        )

    def _resource_grant(
        self,
        plan: _Plan,
        resource: str,
        context: object,
        caller: Caller | None,
    ) -> GrantKind:
        best = GrantKind.NONE
        for st in plan.resource or ():
            if st.applies(resource, context, caller):  # type: ignore[arg-type]
                best = max(best, st.grant(caller))
        return best

    # -- the explained path -----------------------------------------------------------------

    def evaluate(self, request: Request, *, near_misses: bool = True) -> Decision:
        """The decision with the statements that decided it and, for a deny, the near misses
        (left out with ``near_misses=False``, for callers that read only the decision)."""
        plan = self._plan(request.action_key)
        caller = self._caller(request)
        resource = request.resource
        context = request.context

        def applied(sts: Iterable[CompiledStatement]) -> list[CompiledStatement]:
            return [st for st in sts if st.applies(resource, context, caller)]

        missing = self._missing(plan, request, caller)
        base = {"action": request.action, "resource": resource, "missing_context": missing}
        denies = applied(plan.denies)
        scp_ok: bool | None = None
        if plan.scps:
            scp_ok = all(applied(level) for level in plan.scps)
        if denies:
            return Decision(
                "explicitDeny",
                matched=tuple(_ref(s) for s in denies),
                allowed_by_organizations=scp_ok,
                reason="explicitly denied by " + ", ".join(_ref(s).label for s in denies),
                **base,  # type: ignore[arg-type]
            )
        b_allows = None if plan.boundary is None else applied(plan.boundary)
        s_allows = None if plan.session is None else applied(plan.session)
        i_allows = applied(plan.identity)
        r_allows = [] if plan.resource is None else applied(plan.resource)
        grant = max((st.grant(caller) for st in r_allows), default=GrantKind.NONE)
        boundary_ok = None if b_allows is None else bool(b_allows)
        session_ok = None if s_allows is None else bool(s_allows)
        resource_ok = None if plan.resource is None else grant is not GrantKind.NONE
        decision = self._decide(request, plan)
        details = {
            "allowed_by_organizations": scp_ok,
            "allowed_by_boundary": boundary_ok,
            "allowed_by_session_policy": session_ok,
            "allowed_by_resource_policy": resource_ok,
        }
        if decision == "allowed":
            matched: list[CompiledStatement] = [*i_allows, *r_allows]
            for extra in (b_allows, s_allows):
                matched.extend(extra or ())
            if plan.scps:
                for level in plan.scps:
                    matched.extend(applied(level))
            return Decision(
                "allowed",
                matched=tuple(_ref(s) for s in matched),
                reason="allowed by " + ", ".join(_ref(s).label for s in [*i_allows, *r_allows]),
                **details,  # type: ignore[arg-type]
                **base,  # type: ignore[arg-type]
            )
        reasons: list[str] = []
        if scp_ok is False:
            reasons.append("no service control policy allows it at every level of the organization")
        if not i_allows and not r_allows:
            reasons.append("no identity-based or resource-based policy allows it")
        if boundary_ok is False:
            reasons.append("the permissions boundary does not allow it")
        if session_ok is False:
            reasons.append("the session policy does not allow it")
        if not reasons and self._cross_account(request):
            reasons.append(
                "across accounts both the resource-based policy and the caller's policies must allow it"
            )
        near = self._near_misses(plan, request, caller) if near_misses else ()
        return Decision(
            "implicitDeny",
            near_misses=near,
            reason="implicitly denied: " + "; ".join(reasons or ["no policy allows it"]),
            **details,  # type: ignore[arg-type]
            **base,  # type: ignore[arg-type]
        )

    def _near_misses(
        self, plan: _Plan, request: Request, caller: Caller | None
    ) -> tuple[NearMiss, ...]:
        out: list[NearMiss] = []
        candidates: list[CompiledStatement] = [*plan.identity]
        for extra in (plan.boundary, plan.session, plan.resource):
            candidates.extend(extra or ())
        for level in plan.scps:
            candidates.extend(level)
        context = request.context
        for st in candidates:
            tr = st.trace(request.action_key, request.resource, context, caller)
            if tr.applies:
                continue
            failed = tuple(
                FailedCondition(
                    operator=c.condition.operator,
                    key=c.condition.key,
                    values=c.condition.values,
                    actual=tuple(context[c.key]) if c.key in context else None,
                    span=c.condition.span,
                )
                for c in tr.failed
            )
            out.append(NearMiss(_ref(st), tr.resource, tr.principal, failed))
        # closest first: the resource matched, then fewest failed conditions
        out.sort(
            key=lambda n: (
                not n.resource_matched,
                not n.principal_matched,
                len(n.failed_conditions),
            )
        )
        return tuple(out)

    def _missing(self, plan: _Plan, request: Request, caller: Caller | None) -> tuple[str, ...]:
        """Context keys that relevant statements read and the request does not carry."""
        seen: dict[str, str] = {}
        groups: list[Iterable[CompiledStatement]] = [plan.denies, plan.identity]
        for extra in (plan.boundary, plan.session, plan.resource):
            if extra:
                groups.append(extra)
        groups.extend(plan.scps)
        for group in groups:
            for st in group:
                for key in st.condition_keys:
                    if key not in request.context and key not in seen:
                        seen[key] = _original_key(st, key)
        return tuple(seen.values())

    def statements(self) -> Iterable[CompiledStatement]:
        """Every compiled statement in every layer."""
        yield from self.identity
        yield from self.boundary or ()
        yield from self.session or ()
        yield from self.resource or ()
        for level in self.scps:
            yield from level


_StreamRequest = tuple[int, str, int, "Mapping[str, ContextValue] | None"]
_Principal = tuple[
    PolicySet,
    RequestPart,
    "dict[str, tuple[str, ...]] | None",
    "str | None",
    "Caller | None",
    "dict[str, _BatchEntry]",
]
"""A principal's state in a stream (`_stream`): its set, its part, its normalised values
(None: every request of this principal takes ``is_allowed``), its account, its caller, and
action name as given -> what its plan calls (`_BatchEntry`)."""


def _principal(ps: PolicySet, principal: RequestPart) -> _Principal:
    if principal.caller_is_root or principal.duplicates or ps.resource_owner is not None:
        # the account root, a part giving a key twice, a resource owner: the general way
        return ps, principal, None, None, None, {}
    caller = None if principal.caller_arn is None else ps._caller_of(principal.caller_arn)
    return ps, principal, principal.values, principal.caller_account, caller, {}


def _stream(
    requests: Sequence[_StreamRequest],
    order: Iterable[int],
    *,
    sets: Sequence[PolicySet],
    principals: Sequence[RequestPart],
    instances: Sequence[RequestPart],
    out: list[bool],
) -> None:
    """``out[n]``, for each ``n`` of ``order``, is the answer of ``requests[n]``, as
    `_stream_py` decides it: by the C loop (`_cstream`, when it is built and LSPOLICY_PURE is
    unset), which hands each request it does not take back to `_stream_py`, or by
    `_stream_py` alone."""
    states: list[_Principal | None] = [None] * len(sets)
    if (
        _native is None
        or type(out) is not list
        or type(requests) not in (list, tuple)
        or type(instances) not in (list, tuple)
    ):
        _stream_py(requests, order, sets=sets, principals=principals, instances=instances,
                   out=out, states=states)  # fmt: skip
        return

    def slow(n: int) -> None:
        _stream_py(requests, (n,), sets=sets, principals=principals, instances=instances,
                   out=out, states=states)  # fmt: skip

    _native.stream(requests, order, states, instances, out, slow, _UNREAD, _NO_KEYS, never)


def _stream_py(
    requests: Sequence[_StreamRequest],
    order: Iterable[int],
    *,
    sets: Sequence[PolicySet],
    principals: Sequence[RequestPart],
    instances: Sequence[RequestPart],
    out: list[bool],
    states: list[_Principal | None],
) -> None:
    """``out[n]``, for each ``n`` of ``order``, is the answer of ``requests[n]``, ``(p,
    action, i, context)``: ``sets[p]`` on the request combined from ``principals[p]``,
    ``instances[i]`` and ``context`` (`Request.from_parts`).

    For an ordinary caller (not the account root) and an instance in the caller's account, the
    plan's decision function reads the context without a `Request` being built (which
    function: `PolicySet._batch_entry`): the raw form of a generic function
    (`codegen.raw_decider`) and a layered function (`codegen.compile_layered_decider`) read
    the request's own keys as given (only those the plan reads, normalised where read), the
    instance's values and the principal's values in that order, never merging them; any
    other plan's function reads their merge. Everything else takes ``is_allowed``. Same
    answers: the context is the one `Request.from_parts` builds (a part giving one key in two
    spellings takes that path). The requests need not be grouped by
    principal: each principal's state is found by its index (in what order they are decided is
    ``order``'s business) in ``states`` (None until made here; the C loop reads the states
    this function makes, and hands a request back while its principal's state is None)."""
    build = Request.from_parts
    last = None  # the principal of the request before: its state is still unpacked
    for n in order:
        p, action, i, context = requests[n]
        if p is not last:  # small ints are shared objects: ``is`` compares them, cheaply
            state = states[p]
            if state is None:
                state = states[p] = _principal(sets[p], principals[p])
            ps, principal, values, caller_account, caller, seen = state
            last = p
        part = instances[i]
        if values is None:
            out[n] = ps.is_allowed(build(action, principal, part, context=context))
            continue
        entry = seen.get(action)
        if entry is None:
            entry = seen[action] = ps._batch_entry(action)
        plan, decide, bare, needs_caller, layouts, cold, raw = entry
        if cold:
            plan.uses += 1
            if plan.uses >= _HOT or plan.inlined:
                if not plan.inlined:
                    _promote(plan)
                entry = seen[action] = ps._batch_entry(action)
                plan, decide, bare, needs_caller, layouts, cold, raw = entry
        resource = part._direct  # None: the part takes the general path
        if caller_account is not None and resource is not None:
            account = part._resource_account
            if account is _UNREAD:  # found when first read
                account = part.resource_account
            if account is not None and account != caller_account:
                if not plan.resource:
                    # across accounts a resource-based policy must allow too, and the
                    # plan has none (`is_allowed` answers the same without deciding)
                    out[n] = False
                    continue
                resource = None
        if resource is None:
            out[n] = ps.is_allowed(build(action, principal, part, context=context))
            continue
        if decide is never:  # the plan allows nothing: no context to build
            out[n] = False
            continue
        given = part._values
        if given is None:  # normalised when first read
            given = part.values
        if raw:
            # the raw function reads the request's own keys as given, by the names of those
            # the plan reads, each normalised only if a test reads it; no merged context
            if context:
                names = tuple(context)
                m = layouts.get(names)
                if m is None:
                    m = _new_layout(layouts, names, plan, None)
                if needs_caller:
                    out[n] = decide(resource, context, m, given, values, caller)
                else:
                    out[n] = decide(resource, context, m, given, values)
            elif needs_caller:
                out[n] = decide(resource, _NO_KEYS, _NO_KEYS, given, values, caller)
            else:
                out[n] = decide(resource, _NO_KEYS, _NO_KEYS, given, values)
            continue
        # the request's own keys that the plan reads (the decision functions read no
        # other), found by the layout of the context's key names: a layered function's
        # variant for the layout reads them from the context as given; otherwise they are
        # normalised (`context_values`, inlined) into the merged values
        # (a layered function reading no request key gets one shared empty mapping, never
        # written: a layout with keys the plan reads has a variant)
        own = _NO_KEYS if bare is not None else values | given
        if context:
            names = tuple(context)
            layout = layouts.get(names)
            if layout is None:
                layout = _new_layout(layouts, names, plan, decide if bare is not None else None)
            pairs, variant = layout
            if variant is not None:
                # the variant reads the request's own keys as given, by their names
                if needs_caller:
                    out[n] = variant(resource, context, given, values, caller)
                else:
                    out[n] = variant(resource, context, given, values)
                continue
            for k, lk in pairs:
                v = context[k]
                own[lk] = (v,) if v.__class__ is str else value_strings(v, k)
        if bare is not None:  # the plan reads none of the request's own keys it gives
            if needs_caller:
                out[n] = bare(resource, given, values, caller)
            else:
                out[n] = bare(resource, given, values)
        elif needs_caller:
            out[n] = decide(resource, own, caller)
        else:
            out[n] = decide(resource, own)


def _layers(plan: _Plan) -> Layers:
    """The plan's statements by layer, as `codegen` compiles them."""
    return Layers(plan.denies, plan.identity, plan.boundary, plan.session, plan.scps, plan.resource)


def _decider_key(plan: _Plan) -> tuple[object, ...] | None:
    """The shared cores of the plan's statements, when no statement names principals (a
    ``grant`` is per policy set) and so the compiled function can be shared."""
    if plan.needs_caller or plan.resource is not None:
        return None

    def cores(sts: Sequence[CompiledStatement] | None) -> tuple[StatementCore, ...] | None:
        return None if sts is None else tuple(st.core for st in sts)

    return (
        cores(plan.denies),
        cores(plan.identity),
        cores(plan.boundary),
        cores(plan.session),
        tuple(cores(level) for level in plan.scps),
    )


def _cached_decider(plan: _Plan) -> Decider | None:
    key = _decider_key(plan)
    return None if key is None else _DECIDERS.get(key)


_LAYERED: dict[tuple[object, ...], Decider | None] = {}


def _layered(plan: _Plan) -> Decider | None:
    """The plan's layered decision function (shared by equal plans, as `_decider`)."""
    key = _decider_key(plan)
    if key is not None and key in _LAYERED:
        layered = _LAYERED[key]
    else:
        layered = compile_layered_decider(_layers(plan))
        if key is not None:
            _bounded_put(_LAYERED, key, layered)
    plan.layered = layered
    return layered


_SETTLED = -(1 << 62)
"""A plan's count of requests served once it stays on its generic function (`_promote`): it
does not reach `_HOT` again."""


def _promote(plan: _Plan) -> Decider:
    """The plan has served `_HOT` requests: its inlined function from now on, unless it stays
    on its generic one. It stays when it has no resource-based statement (the generic function
    orders its Denies and its groups' statements by use) and its layered function would make
    too many lookups: the inlined function would then read the merged context as the generic
    one does, in a fixed order. Measured in a batch on the harder workload in round 8 (1,072
    of its 1,198 plans are such): the inlined functions 1.2x slower than the generic ones once
    both are warm, on top of ~1.5 ms of `compile` each. (A batch now promotes only plans with
    a resource-based policy: in round 10 the raw form of the generic function also beat the
    layered functions of the large plans there, `PolicySet._batch_entry`; ``is_allowed``,
    on one merged context, still promotes as described.)"""
    if plan.resource is None and not layerable(_layers(plan)):
        plan.uses = _SETTLED
        assert plan.simple is not None
        return plan.simple
    return _inline(plan)


def _inline(plan: _Plan) -> Decider:
    """Replace the plan's generic function with its own inlined one."""
    decider = _decider(plan)
    plan.simple, plan.inlined = decider, True
    return decider


def _decider(plan: _Plan) -> Decider:
    """Compile the plan's decision function (and share it with equal plans)."""
    decider = compile_decider(_layers(plan))
    key = _decider_key(plan)
    if key is not None:
        _bounded_put(_DECIDERS, key, decider)
    return decider


def _plan_statements(plan: _Plan) -> Iterable[CompiledStatement]:
    yield from plan.denies
    yield from plan.identity
    yield from plan.boundary or ()
    yield from plan.session or ()
    yield from plan.resource or ()
    for level in plan.scps:
        yield from level


def _original_key(st: CompiledStatement, key: str) -> str:
    for c in st.conditions:
        if c.key == key:
            return c.condition.key
        for var in (v for val in c.values for v in val.template.variables):
            if var.key == key:
                return var.name
    return key


def _same_account_allows(
    grant: GrantKind, identity_ok: bool, boundary_ok: bool, session_ok: bool
) -> bool:
    if grant in (GrantKind.SESSION, GrantKind.EVERYONE):
        return True
    if grant is GrantKind.USER:
        return session_ok
    if grant is GrantKind.ROLE:
        return boundary_ok and session_ok
    return identity_ok and boundary_ok and session_ok


def _account_of_arn(arn: str) -> str | None:
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return None


def _account_of_owner(owner: str | None) -> str | None:
    if owner is None:
        return None
    if owner.isdigit():
        return owner
    return _account_of_arn(owner)
