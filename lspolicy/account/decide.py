"""One principal, one action, one resource: the engine's decision, with the deciding statements
and the caller-side conditions (rule in `lspolicy.account.callerkeys`).

A principal is an IAM user (its own policies and its groups' policies) or a session of an IAM
role (the role's policies; no session policy is assumed: passing one can only narrow a
session). Each has its permissions boundary and its account's SCP levels; the engine
(`lspolicy.PolicySet`) decides. The request context holds what the exports tell:

- ``aws:ResourceTag/*`` from the instance's (or, for ``sts:AssumeRole``, the role's) tags;
  ``aws:RequestedRegion`` from the instance's region;
- ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:PrincipalTag/*``
  (a role session's are the role's tags), ``aws:username`` (users), ``aws:userid`` (``UserId``,
  or ``RoleId:session`` for a session), ``aws:PrincipalOrgID`` when the organization file
  covers the account
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).

A role session is named ``arn:aws:sts::ACCOUNT:assumed-role/NAME/lspolicy-review``; conditions
on the session name are caller conditions.

Role trust policies are exceptions twice over. Within an account an identity-based Allow is
usually enough, but "IAM role trust policies and KMS key policies are exceptions to this logic,
because they must explicitly allow access for principals"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html);
and a resource-based policy naming a user is usually not limited by the user's boundary, but for
a trust policy "if a permissions boundary is set for the user, then it must allow the
sts:AssumeRole action" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lspolicy.account.callerkeys import caller_conditions, caller_key, relax
from lspolicy.account.model import Inventory, NotEvaluated, Role, User, account_of
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.evaluate.statement import statement_core
from lspolicy.lightsail.context import Identity
from lspolicy.model.decision import Decision, StatementRef
from lspolicy.model.policy import Condition, Policy, Statement
from lspolicy.model.request import ContextValue, Request, RequestPart

__all__ = ["SESSION_NAME", "Actor", "Authority", "CallerCondition", "Verdict"]

SESSION_NAME = "lspolicy-review"

Answer = Literal["allowed", "conditional", "explicitDeny", "implicitDeny"]


@dataclass(frozen=True, slots=True)
class CallerCondition:
    """A condition on a caller key in a deciding statement: an Allow's must hold, a Deny's must
    not (the caller avoids it)."""

    statement: StatementRef
    condition: Condition
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "policy": self.statement.policy,
            "sid": self.statement.sid,
            "statement_index": self.statement.index,
            "effect": self.statement.effect,
            "operator": self.condition.operator,
            "key": self.condition.key,
            "values": list(self.condition.values),
            "needs": "holds" if self.statement.effect == "Allow" else "does not hold",
            "why_unknown": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one request: ``allowed``, ``conditional`` (allowed if ``conditions``
    hold), ``explicitDeny`` or ``implicitDeny``; the deciding statements; caller conditions."""

    answer: Answer
    statements: tuple[StatementRef, ...] = ()
    conditions: tuple[CallerCondition, ...] = ()

    @property
    def reaches(self) -> bool:
        """Allowed, or allowed if its conditions hold."""
        return self.answer in ("allowed", "conditional")


def statement_dict(ref: StatementRef) -> dict[str, object]:
    """A deciding statement in reports: policy (ARN, or ``ENTITY_ARN#NAME`` for an inline or
    trust policy), kind, Sid, index, effect."""
    return {
        "policy": ref.policy,
        "kind": ref.policy_kind,
        "sid": ref.sid,
        "statement_index": ref.index,
        "effect": ref.effect,
    }


@dataclass(frozen=True, slots=True)
class PolicySets:
    """What decides an actor's requests under the caller-key rule: the strict set (as AWS,
    caller keys absent), the relaxed set (caller conditions in the caller's favour), the probe
    of denies to avoid (every layer's, as one identity layer), and the original statements by
    (policy source, index)."""

    resource_policy: Policy | None
    strict: PolicySet
    relaxed: PolicySet
    probe: PolicySet | None
    statements: Mapping[tuple[str, int], Statement]

    def statement(self, ref: StatementRef) -> Statement | None:
        """The original statement a reference points at."""
        return self.statements.get((ref.policy, ref.index))

    def attach(self, resource_policy: Policy, *, sts: bool) -> PolicySets:
        """These sets (built without a resource policy) with ``resource_policy`` as the
        resource-based layer: the caller's compiled layers are shared
        (`PolicySet.with_resource_policy`), only the resource policy is compiled. Equal, set by
        set, to `build_sets` with the resource policy."""
        strict_res, probe_res = _relaxed(resource_policy, sts=sts)
        if self.probe is not None:
            probe: PolicySet | None = self.probe.with_resource_policy(probe_res)
        elif probe_res is not None:
            probe = PolicySet([], resource_policy=probe_res)
        else:
            probe = None
        own = _own_statements(resource_policy)
        return PolicySets(
            resource_policy,
            self.strict.with_resource_policy(resource_policy),
            self.relaxed.with_resource_policy(strict_res),
            probe,
            # the resource policy's statements first: as in `build_sets`, where they come last
            # and replace any of the same (source, index)
            ChainMap(own, _as_dict(self.statements)),
        )


def _own_statements(policy: Policy) -> dict[tuple[str, int], Statement]:
    return {(policy.source, st.index): st for st in policy.statements}


def _as_dict(
    statements: Mapping[tuple[str, int], Statement],
) -> dict[tuple[str, int], Statement]:
    return statements if isinstance(statements, dict) else dict(statements)


_RELAXED: dict[tuple[int, bool], tuple[Policy, tuple[Policy, Policy | None]]] = {}
"""Policy object id and sts -> (the policy, `relax` of it): trust policies are relaxed once,
not once per caller (the entry holds the policy, so the id is not reused while cached)."""


def _relaxed(policy: Policy, *, sts: bool) -> tuple[Policy, Policy | None]:
    hit = _RELAXED.get((id(policy), sts))
    if hit is not None and hit[0] is policy:
        return hit[1]
    got = relax(policy, sts=sts)
    if len(_RELAXED) >= 1 << 14:
        _RELAXED.clear()
    _RELAXED[(id(policy), sts)] = (policy, got)
    return got


def build_sets(actor: Actor, sts: bool, resource_policy: Policy | None) -> PolicySets:
    """The actor's policy sets with ``resource_policy``, every layer compiled anew: the
    reference the cached path (`Actor.sets`) must equal."""
    statements: dict[tuple[str, int], Statement] = {}
    every = [
        *actor.identity,
        *(actor.boundary or ()),
        *(p for lvl in actor.scps or () for p in lvl),
    ]
    if resource_policy is not None:
        every.append(resource_policy)
    for p in every:
        for st in p.statements:
            statements[(p.source, st.index)] = st

    def pair(p: Policy) -> tuple[Policy, Policy | None]:
        return relax(p, sts=sts)

    ident = [pair(p) for p in actor.identity]
    bound = None if actor.boundary is None else [pair(p) for p in actor.boundary]
    scps = None if actor.scps is None else [[pair(p) for p in lvl] for lvl in actor.scps]
    res = None if resource_policy is None else pair(resource_policy)
    strict = PolicySet(
        actor.identity, boundary=actor.boundary, scps=actor.scps, resource_policy=resource_policy
    )
    relaxed = PolicySet(
        [r for r, _ in ident],
        boundary=None if bound is None else [r for r, _ in bound],
        scps=None if scps is None else [[r for r, _ in lvl] for lvl in scps],
        resource_policy=None if res is None else res[0],
    )
    probes = [q for _, q in ident] + [q for _, q in bound or ()]
    probes += [q for lvl in scps or () for _, q in lvl]
    probe = None
    if any(q is not None for q in probes) or (res is not None and res[1] is not None):
        probe = PolicySet(
            [q for q in probes if q is not None],
            resource_policy=None if res is None else res[1],
        )
    return PolicySets(resource_policy, strict, relaxed, probe, statements)


@dataclass
class Actor:
    """A principal as a caller: a user, or a session of a role."""

    principal_arn: str
    caller_arn: str
    kind: Literal["user", "role"]
    identity: Sequence[Policy]
    boundary: Sequence[Policy] | None
    scps: Sequence[Sequence[Policy]] | None
    context: Mapping[str, ContextValue]
    incomplete: tuple[str, ...] = ()
    _sets: dict[bool, PolicySets] = field(default_factory=dict, repr=False)
    _actions: dict[str, bool] = field(default_factory=dict, repr=False)
    _part: RequestPart | None = field(default=None, repr=False)

    def part(self) -> RequestPart:
        """The actor's request context and caller ARN, normalised once."""
        if self._part is None:
            self._part = RequestPart(self.context, caller_arn=self.caller_arn)
        return self._part

    def may_allow(self, action: str) -> bool:
        """Whether some Allow statement of the actor's identity policies names ``action`` (by
        its Action element alone; conditions, resources and other layers aside). When none
        does, no identity-based policy allows the action on any resource, in any context."""
        key = action.lower()
        got = self._actions.get(key)
        if got is None:
            got = self._actions[key] = any(
                st.effect == "Allow"
                and statement_core(st, p.substitutes_variables).action_match(key)
                for p in self.identity
                for st in p.statements
            )
        return got

    def sets(self, sts: bool, resource_policy: Policy | None) -> PolicySets:
        """The policy sets deciding this actor's requests (with a resource policy). The
        caller's own layers (identity, boundary, SCP levels) are compiled once per actor and
        kind of request; a resource policy (a role's trust policy) is attached to them
        without compiling them again, and not kept: each trust policy is asked about once
        per caller (`lspolicy.account.reach.Graph` keeps the answers)."""
        base = self._sets.get(sts)
        if base is None:
            base = self._sets[sts] = build_sets(self, sts, None)
        if resource_policy is None:
            return base
        return base.attach(resource_policy, sts=sts)


def _trust_exception(decision: Decision, resource_policy: Policy | None) -> Decision:
    """The two ways a role trust policy differs from other resource-based policies: it must
    allow the caller itself (an identity policy alone never suffices), and a user it names
    still needs its boundary to allow ``sts:AssumeRole``."""
    if resource_policy is None or not decision.allowed:
        return decision
    if decision.allowed_by_resource_policy is False or decision.allowed_by_boundary is False:
        return Decision("implicitDeny", decision.action, decision.resource)
    return decision


class Authority:
    """Every principal of an inventory as an `Actor`, and the decision for any request."""

    def __init__(self, inventory: Inventory, *, _reference: bool = False) -> None:
        self.inventory = inventory
        self.reference = _reference
        """The slow reference path, for tests only: every request's policy sets compiled anew
        (`build_sets`) and every role of the inventory tried for every caller
        (`lspolicy.account.reach.edges`). Same answers, by the equality tests."""
        self.notes: list[NotEvaluated] = []
        self._actors: dict[str, Actor] = {}
        self._noted: set[tuple[str, str]] = set()

    def note(self, what: str, name: str, message: str) -> None:
        """Record something not evaluated (once)."""
        if (what, name + message) not in self._noted:
            self._noted.add((what, name + message))
            self.notes.append(NotEvaluated(what, name, message))

    def principals(self) -> list[str]:
        """Every user and role ARN, sorted."""
        return sorted([*self.inventory.users, *self.inventory.roles])

    # -- building actors --------------------------------------------------------------------

    def _managed(self, arns: Sequence[str], owner: str, missing: list[str]) -> list[Policy]:
        out: list[Policy] = []
        for arn in arns:
            mp = self.inventory.policies.get(arn)
            if mp is None:
                self.note("policy", arn, f"attached to {owner} but not in the export: left out")
                missing.append(arn)
            elif mp.policy is None:
                missing.append(arn)
            else:
                out.append(mp.policy)
        return out

    def _boundary(self, arn: str | None, owner: str, missing: list[str]) -> list[Policy] | None:
        if arn is None:
            return None
        got = self._managed([arn], owner, missing)
        if not got:
            self.note(
                "boundary", owner, f"permissions boundary {arn} cannot be evaluated: left out"
            )
            return None
        return got

    def _scps(self, account: str | None) -> Sequence[Sequence[Policy]] | None:
        inv = self.inventory
        if not inv.has_organization or account is None:
            return None
        if account not in inv.scp_levels:
            self.note("account", account, "not in the organization file: no SCPs applied")
            return None
        return inv.scp_levels[account]

    def _base_context(self, account: str | None) -> dict[str, ContextValue]:
        inv = self.inventory
        out: dict[str, ContextValue] = {}
        if inv.organization_id and account in inv.scp_levels:
            out["aws:PrincipalOrgID"] = inv.organization_id
        return out

    def actor(self, principal_arn: str) -> Actor:
        """The caller for a user or role ARN of the inventory (``KeyError`` if neither)."""
        got = self._actors.get(principal_arn)
        if got is not None:
            return got
        inv = self.inventory
        missing: list[str] = []
        user = inv.users.get(principal_arn)
        if user is not None:
            got = self._user(user, missing)
        else:
            got = self._role(inv.roles[principal_arn], missing)
        self._actors[principal_arn] = got
        return got

    def _inline(self, owner: str, items: Sequence[object], missing: list[str]) -> list[Policy]:
        out: list[Policy] = []
        for item in items:
            policy = getattr(item, "policy", None)
            if policy is None:
                missing.append(f"{owner}#{getattr(item, 'name', '?')}")
            else:
                out.append(policy)
        return out

    def _user(self, user: User, missing: list[str]) -> Actor:
        policies = self._inline(user.arn, user.inline, missing)
        policies += self._managed(user.managed, user.arn, missing)
        for name in user.groups:
            group = self.inventory.group(user.account, name)
            if group is None:
                self.note(
                    "group",
                    name,
                    f"group of {user.arn} not in the export: its policies are left out",
                )
                missing.append(f"group {name}")
                continue
            policies += self._inline(group.arn, group.inline, missing)
            policies += self._managed(group.managed, group.arn, missing)
        context = self._base_context(user.account)
        if user.user_id:
            context["aws:userid"] = user.user_id
        identity = Identity(user.arn, tags=user.tags).context()
        return Actor(
            principal_arn=user.arn,
            caller_arn=user.arn,
            kind="user",
            identity=policies,
            boundary=self._boundary(user.boundary, user.arn, missing),
            scps=self._scps(user.account),
            context={**identity, **context},
            incomplete=tuple(missing),
        )

    def _role(self, role: Role, missing: list[str]) -> Actor:
        policies = self._inline(role.arn, role.inline, missing)
        policies += self._managed(role.managed, role.arn, missing)
        session = f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{SESSION_NAME}"
        partition = role.arn.split(":")[1]
        if partition != "aws":
            session = session.replace("arn:aws:", f"arn:{partition}:", 1)
        context = self._base_context(role.account)
        if role.role_id:
            context["aws:userid"] = f"{role.role_id}:{SESSION_NAME}"
        identity = Identity(session, tags=role.tags, role_arn=role.arn).context()
        return Actor(
            principal_arn=role.arn,
            caller_arn=session,
            kind="role",
            identity=policies,
            boundary=self._boundary(role.boundary, role.arn, missing),
            scps=self._scps(role.account),
            context={**identity, **context},
            incomplete=tuple(missing),
        )

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        actor: Actor,
        action: str,
        resource: str,
        context: Mapping[str, ContextValue],
        *,
        resource_policy: Policy | None = None,
        reaching_only: bool = False,
    ) -> Verdict:
        """The answer for ``actor`` calling ``action`` on ``resource`` (rule in callerkeys).

        ``reaching_only``: a request that is neither allowed nor conditional is answered
        ``implicitDeny`` without its deny statements, as soon as the relaxed set (which allows
        whatever the strict one does) denies it; allowed and conditional answers are unchanged.
        """
        sts = action.lower().startswith("sts:")
        if self.reference:
            sets = build_sets(actor, sts, resource_policy)
        else:
            sets = actor.sets(sts, resource_policy)
        strict, relaxed, probe = sets.strict, sets.relaxed, sets.probe
        if self.reference:
            request = Request(
                action, resource, {**actor.context, **context}, caller_arn=actor.caller_arn
            )
        else:
            request = Request.from_parts(action, actor.part(), context=context, resource=resource)
        if reaching_only and not relaxed.is_allowed(request):
            return Verdict("implicitDeny")
        first = _trust_exception(strict.evaluate(request, near_misses=False), resource_policy)
        if first.allowed:
            return Verdict("allowed", first.matched, self._conditions(sets, first.matched, sts))
        second = _trust_exception(relaxed.evaluate(request, near_misses=False), resource_policy)
        if not second.allowed:
            matched = first.matched if first.decision == "explicitDeny" else ()
            return Verdict(first.decision, matched)
        conditions = list(self._conditions(sets, second.matched, sts))
        if probe is not None:
            avoided = probe.evaluate(request, near_misses=False)
            if avoided.decision == "explicitDeny":
                conditions += self._conditions(sets, avoided.matched, sts)
        return Verdict("conditional", second.matched, tuple(conditions))

    def _conditions(
        self, sets: PolicySets, refs: Sequence[StatementRef], sts: bool
    ) -> tuple[CallerCondition, ...]:
        out: list[CallerCondition] = []
        for ref in refs:
            st = sets.statement(ref)
            if st is None:
                continue
            for cond in caller_conditions(st, sts=sts):
                out.append(CallerCondition(ref, cond, caller_key(cond.key, sts=sts) or ""))
        return tuple(out)


def role_account(role: Role) -> str | None:
    """The account owning ``role``."""
    return account_of(role.arn)
