"""One-hop assumptions decided once per caller class and trust view, not once per principal.

`lspolicy.account.reach.edges` asks the engine ``sts:AssumeRole`` for every (principal, role
whose trust policy may name it). In an organization whose trust policies name their account
(``arn:aws:iam::ACCOUNT:root``), every principal of the account is a candidate for every such
role: thousands of principals times dozens of roles. Exact by construction, two callers get the
same decision (answer, deciding statements, caller conditions) on a role when everything the
engine reads of them for that request is equal:

- their **caller class** (`CallerClasses`): the same kind (user or role session), account,
  and, per layer (identity, boundary, SCP levels), the same policy objects with statements
  applicable to ``sts:AssumeRole`` at the same places (the engine's plan for the action holds
  only those; deciding statements carry the place), and, for those statements, the same
  value of every request key read raw (a policy variable, a condition whose values hold one)
  and the same outcome of every other condition on their own context. Callers whose keys
  cannot be told (a wildcard in a key name), who carry two spellings of one key or hold two
  policies of one source name are classes of their own. Members decide with the class's
  compiled layers (`_Edges._caller`);
- their **trust view** of the role: how each trust statement's ``Principal``/``NotPrincipal``
  names them (`lspolicy.evaluate.principal.match_principal`), which for a caller that no
  statement names by ARN or role name (`reach.TrustIndex`'s keys) depends only on its account
  and kind (an account id or root ARN names every caller of the account: "How IAM roles
  differ from resource-based policies", "Cross account resource access in IAM", IAM User
  Guide), and the values of the request keys the trust policy reads (``aws:PrincipalArn``,
  ``aws:PrincipalTag/*``, ...). A caller the trust policy names by ARN, or a trust policy
  whose keys cannot be told, is decided for that caller alone.

Within the account, a trust that at most names the account lets the caller in only as its own
layers would, so the caller's relaxed set without the trust answers first; and roles alike for
a caller class (trust content as the class's callers see it, account, tags read, the verdicts
of the class's Resource elements on the ARN: `_Edges._role_class`) share one decision, the
trust policy's name transplanted into the deciding statements (`_transplant`).

The rules themselves (a trust naming the caller suffices within the account; naming the account
needs the caller's own permissions; across accounts both) stay in `reach.edges` and the engine:
each key's decision is made once, by the first caller that has it, by exactly that code.
`tests/account/test_assume_classes.py` checks, on random organizations, that every principal
gets the same edges, reach and principal class as the per-principal reference.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from lspolicy.account.classes import read_keys
from lspolicy.account.decide import Actor, Authority, CallerCondition, Verdict
from lspolicy.account.model import Role, account_of
from lspolicy.account.reach import (
    ASSUME_ROLE,
    Graph,
    Hop,
    TrustIndex,
    _caller_keys,
    _entry_keys,
    _names_directly,
    assume,
    role_context,
)
from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.evaluate.principal import Caller
from lspolicy.evaluate.statement import StatementCore, statement_core
from lspolicy.model.decision import StatementRef
from lspolicy.model.policy import Policy, Statement
from lspolicy.model.request import Request

__all__ = ["CallerClasses", "fill_edges"]

_Values = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class _Reader:
    """What a caller's statements for ``sts:AssumeRole`` read of its context: keys read raw,
    and the conditions on the other keys (their outcomes count); ``exact`` False: a key cannot
    be told."""

    raw: tuple[str, ...]
    conditions: tuple[CompiledCondition, ...]
    exact: bool
    cores: tuple[StatementCore, ...] = ()
    """The applicable statements, compiled (their Resource elements are matched per role)."""
    read: frozenset[str] = frozenset()
    """Every key the applicable statements read."""
    dynamic: bool = False
    """Some applicable Resource element holds a policy variable (matched with the context)."""


_ACTION = ASSUME_ROLE.lower()
_Layer = tuple[tuple[int, int, tuple[int, ...]], ...]


def _reader(statements: Iterable[tuple[Statement, bool]]) -> _Reader:
    """As `PolicySet.keys_read` and `PolicySet.conditions_by_key` read the statements of a
    plan (the engine's own compiled statements, `statement_core`): a key is read raw when it is
    a policy variable (in a condition's values or a Resource), has a condition whose values
    hold a variable, or is read otherwise than by a condition."""
    raw: set[str] = set()
    conds: dict[int, CompiledCondition] = {}
    tested: set[str] = set()
    read: set[str] = set()
    cores: list[StatementCore] = []
    for st, sub in statements:
        core = statement_core(st, sub)
        cores.append(core)
        read.update(core.condition_keys)
        for c in core.conditions:
            tested.add(c.key)
            if c.variable_keys:
                raw.update(c.variable_keys)
                raw.add(c.key)
            conds.setdefault(id(c), c)
        if core.resource_shape[0] == "dynamic":
            raw.update(core.condition_keys)
    raw |= read - tested
    exact = not any(ch in k for k in (*read, *tested) for ch in "*?$")
    kept = sorted((c for c in conds.values() if c.key not in raw), key=lambda c: c.key)
    dynamic = any(core.resource_shape[0] == "dynamic" for core in cores)
    return _Reader(
        tuple(sorted(raw)), tuple(kept), exact, tuple(cores), frozenset(read | tested), dynamic
    )


class CallerClasses:
    """Caller class ids for ``sts:AssumeRole`` (module docstring)."""

    def __init__(self) -> None:
        self._applies: dict[int, tuple[Policy, tuple[int, ...]]] = {}
        self._readers: dict[tuple[object, ...], tuple[Actor, _Reader]] = {}
        self._ids: dict[tuple[object, ...], int] = {}
        self.readers: list[_Reader | None] = []
        """By caller class id: its reader and (``sources``) its policies' source names;
        ``None`` for a class of its own."""
        self.sources: list[frozenset[str]] = []
        self.reps: list[Actor] = []
        """By caller class id: its first actor (whose compiled layers the class shares)."""

    def _applicable(self, policy: Policy) -> tuple[int, ...]:
        """The positions of the policy's statements whose Action names ``sts:AssumeRole``
        (the engine's plan for the action holds those: `PolicySet._plan`)."""
        hit = self._applies.get(id(policy))
        if hit is None:
            sub = policy.substitutes_variables
            found = tuple(
                i
                for i, st in enumerate(policy.statements)
                if statement_core(st, sub).action_match(_ACTION)
            )
            hit = self._applies[id(policy)] = (policy, found)
        return hit[1]

    def _layer(self, policies: Sequence[Policy]) -> _Layer:
        """A layer as the plan sees it: each policy with applicable statements, by its place
        in the layer (deciding statements carry it) and its object."""
        return tuple(
            (i, id(p), found) for i, p in enumerate(policies) if (found := self._applicable(p))
        )

    def of(self, actor: Actor) -> int:
        """The actor's caller class id."""
        every = [
            *actor.identity,
            *(actor.boundary or ()),
            *(p for lvl in actor.scps or () for p in lvl),
        ]
        sources: dict[str, int] = {}
        clash = any(sources.setdefault(p.source, id(p)) != id(p) for p in every)
        layers = (
            self._layer(actor.identity),
            None if actor.boundary is None else self._layer(actor.boundary),
            None if actor.scps is None else tuple(self._layer(lvl) for lvl in actor.scps),
        )
        hit = self._readers.get(layers)
        if hit is None:
            statements = [
                (p.statements[i], p.substitutes_variables)
                for p in every
                for i in self._applicable(p)
            ]
            # the entry holds an actor with these policies: their ids stay theirs
            hit = self._readers[layers] = (actor, _reader(statements))
        reader = hit[1]
        part = actor.part()
        key: tuple[object, ...]
        alone = not reader.exact or part.duplicates or clash
        if alone:
            # keys that cannot be told, two spellings of one key, or two policies with one
            # source name (deciding statements are looked up by it): a class of its own
            key = ("alone", actor.principal_arn)
        else:
            values = part.values
            key = (
                actor.kind,
                part.caller_account,
                layers,
                tuple([values.get(k) for k in reader.raw]),
                tuple([c.holds(values) for c in reader.conditions]),
            )
        got = self._ids.setdefault(key, len(self._ids))
        if got == len(self.readers):
            self.readers.append(None if alone else reader)
            self.sources.append(frozenset(sources))
            self.reps.append(actor)
        return got

    @property
    def count(self) -> int:
        """How many caller classes were formed."""
        return len(self._ids)


@dataclass(frozen=True, slots=True)
class _Trust:
    """A trust policy as a reader of callers: the index keys naming callers individually (by
    ARN or role name, in any statement's Principal or NotPrincipal), and the request keys its
    conditions and variables read (``None``: some cannot be told)."""

    specific: frozenset[tuple[str, ...]]
    reads: tuple[str, ...] | None


def _trust(role: Role) -> _Trust:
    specific: set[tuple[str, ...]] = set()
    trust = role.trust
    if trust is None:
        return _Trust(frozenset(), ())
    for st in trust.statements:
        for principal in (st.principal, st.not_principal):
            if principal is None:
                continue
            for kind, values in principal.entries:
                for value in values:
                    for key in _entry_keys(kind, value) or ():
                        if key[0] != "account":
                            specific.add(key)
    keys, unknown = read_keys([trust])
    return _Trust(frozenset(specific), None if unknown else tuple(sorted(keys)))


_ROLE_TAGS = ("aws:resourcetag/", "iam:resourcetag/")
_EMPTY: dict[str, tuple[str, ...]] = {}
_NONE = object()
"""A decision key's cached answer when the hop does not reach."""


class _Edges:
    """`fill_edges`' state: decisions by (caller class, role, trust view) and shared lists."""

    def __init__(self, authority: Authority, index: TrustIndex) -> None:
        self.authority = authority
        self.index = index
        self.roles = authority.inventory.roles
        self.callers = CallerClasses()
        self.trusts = {arn: _trust(role) for arn, role in self.roles.items()}
        self.by_key: dict[tuple[str, ...], set[str]] = {}
        for arn, t in self.trusts.items():
            for k in t.specific:
                self.by_key.setdefault(k, set()).add(arn)
        self.groups: dict[str | None, list[tuple[tuple[str, ...], list[str]]]] = {}
        """By caller account: the roles whose trust may name every caller of the account (an
        account entry, ``"*"``, ``NotPrincipal``), grouped by the keys the trust reads, each
        group sorted by ARN; roles whose reads cannot be told are left to `_alone`."""
        self.alone: dict[str | None, list[str]] = {}
        self.every: dict[str | None, set[str]] = {}
        self.hops: dict[tuple[object, ...], object] = {}
        self.lists: dict[tuple[object, ...], list[Hop]] = {}
        self.shared: dict[tuple[int, ...], list[Hop]] = {}
        self.role_classes: dict[tuple[object, ...], tuple[Role, object]] = {}
        self.directly: dict[tuple[str, str | None], bool] = {}
        self.proxies: dict[str, Actor] = {}
        self.accounts = {arn: account_of(arn) for arn in self.roles}
        self.lows: dict[str, dict[str, str] | None] = {}
        self.tag_keys: dict[tuple[int, tuple[str, ...]], tuple[tuple[str, str], ...]] = {}
        self.contents: dict[tuple[str, str | None], int | None] = {}
        self.content_ids: dict[tuple[object, ...], int] = {}

    def _account_groups(
        self, account: str | None
    ) -> tuple[list[tuple[tuple[str, ...], list[str]]], list[str], set[str]]:
        got = self.groups.get(account)
        if got is None:
            every = set(self.index.anyone)
            if account is not None:
                every |= self.index.named.get(("account", account), set())
            by_reads: dict[tuple[str, ...], list[str]] = {}
            alone: list[str] = []
            for arn in sorted(every):
                reads = self.trusts[arn].reads
                if reads is None:
                    alone.append(arn)
                else:
                    by_reads.setdefault(reads, []).append(arn)
            got = self.groups[account] = sorted(by_reads.items())
            self.alone[account] = alone
            self.every[account] = every
        return got, self.alone[account], self.every[account]

    def _caller(self, cid: int, actor: Actor) -> Actor:
        """``actor`` deciding ``sts:AssumeRole`` with its class representative's compiled
        layers: the plan for the action holds only the statements applicable to it, which are
        the same policy objects at the same places for every member (`CallerClasses.of`), so
        the decisions are the same while the layers are compiled once per class. The
        request is still the actor's own (its ARN, context). Nothing is changed on either
        actor."""
        rep = self.callers.reps[cid]
        if rep is actor:
            return actor
        hit = self.proxies.get(actor.principal_arn)
        if hit is None:
            hit = self.proxies[actor.principal_arn] = dataclasses.replace(
                actor, _sets={True: rep.sets(True, None)}, _actions={}
            )
        return hit

    def _hop(
        self,
        key: tuple[object, ...],
        actor: Actor,
        caller: Caller,
        arn: str,
        *,
        own: bool,
        view: _Values | None = None,
    ) -> Hop | None:
        """The hop for a decision key (``key[0]`` the caller class), decided for ``actor`` the
        first time, as `reach.edges` does for one candidate role; ``view``: the values the
        trust policy reads, when the trust does not single the caller out."""
        got = self.hops.get(key)
        if got is None:
            cid = cast(int, key[0])
            got = self.hops[key] = self._decide(
                cid, self._caller(cid, actor), caller, self.roles[arn], own=own, view=view
            )
        return got if isinstance(got, Hop) else None

    def _assume(self, actor: Actor, role: Role) -> object:
        verdict = assume(self.authority, actor, role, reaching_only=True)  # a `_caller` proxy
        return Hop(role.arn, verdict) if verdict.reaches else _NONE

    def _decide(
        self, cid: int, actor: Actor, caller: Caller, role: Role, *, own: bool, view: _Values | None
    ) -> object:
        if self._directly(role, caller, generic=view is not None):
            return self._assume(actor, role)
        if not own:
            # the trust policy at most delegates to the caller's account (or the role is in
            # another account): the caller's identity policies must allow, and none names
            # sts:AssumeRole (`reach.edges`)
            return _NONE
        if self.accounts[role.arn] != caller.account:
            return self._assume(actor, role)
        group = None if view is None else self._role_class(cid, actor, role, view)
        if group is not None:
            hit = self.role_classes.get(group)
            if hit is not None:
                first, hop = hit
                if not isinstance(hop, Hop):
                    return _NONE
                assert first.trust is not None and role.trust is not None
                return Hop(role.arn, _transplant(hop.verdict, first.trust, role.trust))
        # Within the account, a trust policy naming at most the account lets the caller in
        # only as its own layers would (identity policy, boundary and SCPs allow, nothing
        # denies: "Policy evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html):
        # the caller's relaxed set without the trust policy, compiled once per caller, says
        # no for most roles at once.
        request = Request.from_parts(
            ASSUME_ROLE, actor.part(), context=role_context(role), resource=role.arn
        )
        got = (
            self._assume(actor, role)
            if actor.sets(True, None).relaxed.is_allowed(request)
            else _NONE
        )
        if group is not None:
            self.role_classes[group] = (role, got)
        return got

    def _directly(self, role: Role, caller: Caller, *, generic: bool) -> bool:
        """`reach._names_directly`; for a caller the trust policy does not name by ARN or
        role name, a function of the caller's account alone (only ``"*"`` or
        ``NotPrincipal`` can name it more directly than its account), kept per account."""
        if not generic:
            return _names_directly(role, caller)
        key = (role.arn, caller.account)
        got = self.directly.get(key)
        if got is None:
            got = self.directly[key] = _names_directly(role, caller)
        return got

    def _role_class(
        self, cid: int, actor: Actor, role: Role, view: _Values
    ) -> tuple[object, ...] | None:
        """What the engine reads of ``role`` for this caller class when the trust policy does
        not single the caller out: the trust policy's content (not its name), the role's
        account, the tags the caller's statements or the trust read, and the verdict of each
        of the caller's statements' Resource on the role's ARN. Roles equal in all of it get
        one decision (and one answer from the caller's own layers), up to the trust policy's
        name in the deciding statements (`_transplant`). ``None``: the role is decided alone."""
        reader = self.callers.readers[cid]
        content = self._content(role, self.accounts[role.arn])
        if reader is None or content is None or role.trust is None:
            return None
        if role.trust.source in self.callers.sources[cid]:
            return None
        lows = self._tags(role)
        if lows is None:
            return None  # two spellings of one tag key
        reads = self.trusts[role.arn].reads or ()
        wanted = self.tag_keys.get((id(reader), reads))
        if wanted is None:
            wanted = self.tag_keys[(id(reader), reads)] = tuple(
                sorted(
                    (k, k.split("/", 1)[1])
                    for k in {*reader.read, *reads}
                    if k.startswith(_ROLE_TAGS)
                )
            )
        tags = tuple([(k, lows.get(t)) for k, t in wanted])
        context: Mapping[str, tuple[str, ...]] = _EMPTY
        if reader.dynamic:
            context = Request.from_parts(
                ASSUME_ROLE, actor.part(), context=role_context(role), resource=role.arn
            ).context
        matches = tuple([core.resource_match(role.arn, context) for core in reader.cores])
        return (cid, view, self.accounts[role.arn], content, tags, matches)

    def _tags(self, role: Role) -> dict[str, str] | None:
        """The role's tags by lower-case key (``None``: two spellings of one key)."""
        if role.arn in self.lows:
            return self.lows[role.arn]
        lows: dict[str, str] | None = {}
        for k, v in role.tags.items():
            if lows is not None and k.lower() in lows:
                lows = None
            elif lows is not None:
                lows[k.lower()] = v
        self.lows[role.arn] = lows
        return lows

    def _content(self, role: Role, account: str | None) -> int | None:
        """The trust policy's content as an interned id, as a caller of ``account`` that no
        statement names by ARN or role name sees it: a statement whose Principal names
        neither everyone nor that account never applies to such a caller (its principal
        match is none, `match_principal`), so it is left out; the others by their place and
        text. ``None``: no trust policy, or one with a Resource element (matched against the
        role's ARN)."""
        key_in = (role.arn, account)
        if key_in in self.contents:
            return self.contents[key_in]
        trust = role.trust
        got: int | None = None
        if trust is not None and all(
            st.resources is None and st.not_resources is None for st in trust.statements
        ):
            key = (
                trust.kind,
                trust.version,
                trust.id,
                tuple(
                    (st.index, json.dumps(st.to_json(), sort_keys=True))
                    for st in trust.statements
                    if _may_apply(st, account)
                ),
            )
            got = self.content_ids.setdefault(key, len(self.content_ids))
        self.contents[key_in] = got
        return got

    def edges(self, principal: str) -> list[Hop]:
        """`reach.edges` for ``principal``, from the decisions of its caller class."""
        actor = self.authority.actor(principal)
        cid = self.callers.of(actor)
        caller = Caller.from_arn(actor.caller_arn)
        own = actor.may_allow(ASSUME_ROLE)
        values = actor.part().values
        groups, alone, every = self._account_groups(caller.account)
        mine = [k for k in _caller_keys(caller) if k[0] != "account"]
        named: set[str] = set()
        candidates: set[str] = set()
        for k in mine:
            named |= self.by_key.get(k, set())
            candidates |= self.index.named.get(k, set())
        parts: list[list[Hop]] = []
        for reads, arns in groups:
            view = tuple([values.get(k) for k in reads])
            group_key = (cid, reads, view)
            whole = self.lists.get(group_key)
            apart = principal in arns or not named.isdisjoint(arns)
            if whole is None:
                whole = [
                    h
                    for arn in arns
                    if arn not in named
                    and arn != principal
                    and (h := self._hop((cid, arn, view), actor, caller, arn, own=own, view=view))
                    is not None
                ]
                if not apart:
                    self.lists[group_key] = whole
            elif apart:
                # the shared list holds every role of the group: leave out this caller's own
                whole = [h for h in whole if h.role not in named and h.role != principal]
            parts.append(whole)
        # trusts naming this caller itself, and trusts whose keys cannot be told: decided for
        # this caller alone
        singled = sorted((named & (candidates | every)) | set(alone))
        parts.append(
            [
                h
                for arn in singled
                if arn != principal
                and (h := self._hop((cid, arn, principal), actor, caller, arn, own=own)) is not None
            ]
        )
        return self._share(parts)

    def _share(self, parts: Iterable[list[Hop]]) -> list[Hop]:
        """One sorted list of the parts' hops; equal lists are one object."""
        nonempty = [p for p in parts if p]
        if len(nonempty) == 1:
            merged = nonempty[0]
        else:
            merged = sorted((h for p in nonempty for h in p), key=lambda h: h.role)
        key = tuple(map(id, merged))
        got = self.shared.get(key)
        if got is None:
            got = self.shared[key] = merged
        return got


def _may_apply(st: Statement, account: str | None) -> bool:
    """Whether the trust statement may apply to a caller of ``account`` that it does not name
    by ARN or role name: no Principal element, a NotPrincipal, everyone, or the account."""
    if st.principal is None or st.not_principal is not None or st.principal.wildcard:
        return True
    for kind, values in st.principal.entries:
        for value in values:
            keys = _entry_keys(kind, value)
            if keys is None or ("account", account) in keys:
                return True
    return False


def _transplant(verdict: Verdict, src: Policy, dst: Policy) -> Verdict:
    """``verdict``, decided with the trust policy ``src``, as the engine gives it with ``dst``
    of the same content: the deciding statements and caller conditions of ``src`` become
    ``dst``'s (its name, its statement's source position and condition objects)."""
    src_at = {st.index: st for st in src.statements}
    dst_at = {st.index: st for st in dst.statements}

    def ref(r: StatementRef) -> StatementRef:
        if r.policy != src.source or r.index not in dst_at:
            return r
        return dataclasses.replace(r, policy=dst.source, span=dst_at[r.index].span)

    conditions: list[CallerCondition] = []
    for c in verdict.conditions:
        if c.statement.policy != src.source or c.statement.index not in dst_at:
            conditions.append(c)
            continue
        before = src_at[c.statement.index].conditions
        at = next(i for i, x in enumerate(before) if x is c.condition or x == c.condition)
        conditions.append(
            CallerCondition(ref(c.statement), dst_at[c.statement.index].conditions[at], c.reason)
        )
    return Verdict(verdict.answer, tuple(ref(r) for r in verdict.statements), tuple(conditions))


def fill_edges(graph: Graph, principals: Sequence[str]) -> None:
    """Compute every principal's one-hop assumptions by caller class (module docstring) and
    keep them in ``graph`` (`Graph.put`): the same lists `Graph.edges` would compute one
    principal at a time."""
    state = _Edges(graph.authority, graph.index)
    for p in principals:
        graph.put(p, state.edges(p))
