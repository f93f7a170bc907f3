"""Which roles a principal reaches by ``sts:AssumeRole``, directly and through chains of roles.

Assuming a role needs the role's trust policy (a resource-based policy) and the caller's side,
both decided by the engine on the request ``sts:AssumeRole`` on the role's ARN, with the caller's
identity policies, permissions boundary and its account's SCPs, and the trust policy as the
resource policy (`lspolicy.account.decide.Authority.decide`). What that means, per the docs:

- Within one account, a trust policy that names the caller (the user's ARN, or the role whose
  session calls) is enough on its own; one that names the account (``"AWS": "ACCOUNT"`` or
  ``arn:aws:iam::ACCOUNT:root``) delegates to the account, so the caller's identity policies
  must allow ``sts:AssumeRole`` on the role too. STS AssumeRole API reference
  (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): "To allow a user
  to assume a role in the same account, you can do either of the following: attach a policy to
  the user that allows the user to call AssumeRole (as long as the role's trust policy trusts
  the account), or add the user as a principal directly in the role's trust policy".
- Across accounts, both the trust policy and the caller's identity policies must allow it
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
- Trust policies must allow the principal explicitly: an identity policy alone never suffices
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html).
- A user named in a trust policy still needs its permissions boundary to allow
  ``sts:AssumeRole`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html).
- Role chaining: a role session may assume another role
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html#iam-term-role-chaining).

Service principals (``"Service": "ec2.amazonaws.com"``), federated principals, ``"*"`` and
accounts outside the review are not principals of the review: they are noted, not traversed.

Chains are found breadth first, so the shortest chain to each role comes first (ties broken by
the role ARNs in order), without revisiting a role (cycle-safe), up to `DEFAULT_MAX_CHAIN`
roles. Each hop's answer follows the caller-key rule (`lspolicy.account.callerkeys`): a hop that
needs an external id or MFA is ``conditional``. Two searches run: one over unconditional hops
only, one over every hop; a chain is unconditional when every hop is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from lspolicy.account.decide import Actor, Authority, Verdict
from lspolicy.account.model import Role, account_of
from lspolicy.evaluate.principal import Caller, GrantKind, match_principal
from lspolicy.model.policy import Policy
from lspolicy.model.request import ContextValue

__all__ = [
    "ASSUME_ROLE",
    "DEFAULT_MAX_CHAIN",
    "Graph",
    "Hop",
    "Reach",
    "TrustIndex",
    "assume",
    "edges",
    "may_name",
    "reach",
    "role_context",
    "trust_notes",
]

ASSUME_ROLE = "sts:AssumeRole"
DEFAULT_MAX_CHAIN = 5
"""Roles in a chain at most. AWS sets no limit on chaining; 5 is past the depth of real
organizations' chains (issue 11 plans for 4) and keeps a review bounded."""


@dataclass(frozen=True, slots=True)
class Hop:
    """One assumption in a chain: the role reached and the decision that allowed it."""

    role: str
    verdict: Verdict


def role_context(role: Role) -> dict[str, ContextValue]:
    """``aws:ResourceTag/*`` and ``iam:ResourceTag/*`` from the role's tags (the request context
    of ``sts:AssumeRole`` on it)."""
    out: dict[str, ContextValue] = {}
    for key, value in role.tags.items():
        out[f"aws:ResourceTag/{key}"] = value
        out[f"iam:ResourceTag/{key}"] = value
    return out


def may_name(trust: Policy, caller_arn: str) -> bool:
    """Whether some Allow statement of ``trust`` could apply to the caller, by its principal
    alone. A trust policy must allow the caller explicitly, so when none can the answer is
    ``implicitDeny`` without building the caller's policy sets (the engine decides the rest)."""
    caller = Caller.from_arn(caller_arn)
    for st in trust.statements:
        if st.effect != "Allow":
            continue
        if st.not_principal is not None:
            return True
        if st.principal is not None and match_principal(st.principal, caller) is not GrantKind.NONE:
            return True
    return False


def assume(
    authority: Authority, actor: Actor, role: Role, *, reaching_only: bool = False
) -> Verdict:
    """The engine's answer to ``actor`` calling ``sts:AssumeRole`` on ``role`` (one hop);
    ``reaching_only`` as in `Authority.decide` (denies answered ``implicitDeny``)."""
    if role.trust is None or not may_name(role.trust, actor.caller_arn):
        return Verdict("implicitDeny")
    return authority.decide(
        actor,
        ASSUME_ROLE,
        role.arn,
        role_context(role),
        resource_policy=role.trust,
        reaching_only=reaching_only,
    )


_Key = tuple[str, ...]


def _entry_keys(kind: str, value: str) -> list[_Key] | None:
    """The index keys under which a trust principal entry can name a caller (`_caller_keys`),
    ``None`` when it can name any caller (``"*"``); ``[]`` when it names none. Mirrors
    `lspolicy.evaluate.principal.match_principal`: an ARN names only callers of its account;
    the root ARN or an account id names every caller of the account; a role ARN names the
    role's sessions (by account and role name); any other value names the caller whose ARN it
    is."""
    if kind != "AWS":
        return [("arn", value)]
    if value == "*":
        return None
    if value.isdigit() and len(value) == 12:
        return [("account", value)]
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return []
    account, resource = parts[4], parts[5]
    if parts[2] == "iam" and resource == "root":
        return [("account", account)]
    keys: list[_Key] = [("arn", value)]
    if parts[2] == "iam" and resource.startswith("role/"):
        keys.append(("role", account, resource.rsplit("/", 1)[-1]))
    return keys


def _caller_keys(caller: Caller) -> list[_Key]:
    keys: list[_Key] = [("arn", caller.arn)]
    if caller.account is not None:
        keys.append(("account", caller.account))
        if caller.role_name is not None:
            keys.append(("role", caller.account, caller.role_name))
    return keys


def _names_directly(role: Role, caller: Caller) -> bool:
    """Whether the trust policy may grant to the caller itself, not only to its account: some
    Allow statement names the caller's ARN, its role, everyone, or has a ``NotPrincipal``;
    and the role is in the caller's account (across accounts the caller's own permissions
    must allow in every case)."""
    trust = role.trust
    if trust is None or account_of(role.arn) != caller.account:
        return False
    for st in trust.statements:
        if st.effect != "Allow":
            continue
        if st.not_principal is not None:
            return True
        if st.principal is not None and match_principal(st.principal, caller) > GrantKind.ACCOUNT:
            return True
    return False


class TrustIndex:
    """Roles by what the Allow statements of their trust policies name: the account (an
    account id or its root ARN), a principal ARN, a role (its sessions), or anyone (``"*"``,
    ``NotPrincipal``: the fallback, tried for every caller). `candidates` is a superset of the
    roles whose trust policy `may_name` the caller, so a caller tries only those and the
    answers are the same as trying every role."""

    def __init__(self, roles: Mapping[str, Role]) -> None:
        self.anyone: set[str] = set()
        self.named: dict[_Key, set[str]] = {}
        for arn, role in roles.items():
            trust = role.trust
            if trust is None:
                continue
            for st in trust.statements:
                if st.effect != "Allow":
                    continue
                if st.not_principal is not None or (
                    st.principal is not None and st.principal.wildcard
                ):
                    self.anyone.add(arn)
                    continue
                if st.principal is None:
                    continue
                for kind, values in st.principal.entries:
                    for value in values:
                        keys = _entry_keys(kind, value)
                        if keys is None:
                            self.anyone.add(arn)
                        for key in keys or ():
                            self.named.setdefault(key, set()).add(arn)

    def candidates(self, caller_arn: str) -> list[str]:
        """The roles whose trust policy may name ``caller_arn``, sorted by ARN."""
        found = set(self.anyone)
        for key in _caller_keys(Caller.from_arn(caller_arn)):
            found.update(self.named.get(key, ()))
        return sorted(found)


class Graph:
    """The one-hop assumptions of every principal, computed when first asked and kept."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self._edges: dict[str, list[Hop]] = {}
        self._index: TrustIndex | None = None

    @property
    def index(self) -> TrustIndex:
        """The trust index of the inventory's roles (built once)."""
        if self._index is None:
            self._index = TrustIndex(self.authority.inventory.roles)
        return self._index

    def put(self, principal_arn: str, hops: list[Hop]) -> None:
        """Keep ``hops`` as the principal's one-hop assumptions (computed by the caller, e.g.
        once per caller class: `lspolicy.account.assume_classes`); equal lists may be one
        shared object, never mutated."""
        self._edges[principal_arn] = hops

    def edges(self, principal_arn: str) -> list[Hop]:
        """Every role the principal can assume in one hop, sorted by role ARN."""
        got = self._edges.get(principal_arn)
        if got is None:
            if self._index is None and not self.authority.reference:
                self._index = TrustIndex(self.authority.inventory.roles)
            got = self._edges[principal_arn] = edges(
                self.authority, principal_arn, index=self._index
            )
        return got


def edges(
    authority: Authority, principal_arn: str, *, index: TrustIndex | None = None
) -> list[Hop]:
    """Every role the principal can assume in one hop, sorted by role ARN: with ``index``,
    only the roles whose trust policy may name the principal are tried, else every role."""
    actor = authority.actor(principal_arn)
    roles = authority.inventory.roles
    tried = sorted(roles) if index is None else index.candidates(actor.caller_arn)
    own = index is not None and actor.may_allow(ASSUME_ROLE)
    caller = Caller.from_arn(actor.caller_arn)
    out: list[Hop] = []
    for arn in tried:
        if arn == principal_arn:
            continue
        role = roles[arn]
        if index is not None and not own and not _names_directly(role, caller):
            # the trust policy at most delegates to the caller's account (or the role is in
            # another account): the caller's identity policies must allow, and none names
            # sts:AssumeRole (module docstring)
            continue
        verdict = assume(authority, actor, role, reaching_only=index is not None)
        if verdict.reaches:
            out.append(Hop(arn, verdict))
    return out


@dataclass(frozen=True, slots=True)
class Reach:
    """The roles a principal reaches: the best unconditional chain to each, and the shortest
    chain of any kind to each."""

    unconditional: dict[str, tuple[Hop, ...]]
    any: dict[str, tuple[Hop, ...]]


def _bfs(
    graph: Graph, start: str, max_chain: int, *, conditional: bool
) -> dict[str, tuple[Hop, ...]]:
    found: dict[str, tuple[Hop, ...]] = {}
    queue: deque[tuple[str, tuple[Hop, ...]]] = deque([(start, ())])
    while queue:
        node, chain = queue.popleft()
        if len(chain) >= max_chain:
            continue
        for hop in graph.edges(node):
            if hop.role == start or hop.role in found:
                continue
            if not conditional and hop.verdict.answer != "allowed":
                continue
            path = (*chain, hop)
            found[hop.role] = path
            queue.append((hop.role, path))
    return found


def reach(graph: Graph, principal_arn: str, *, max_chain: int = DEFAULT_MAX_CHAIN) -> Reach:
    """The roles ``principal_arn`` reaches within ``max_chain`` assumptions."""
    return Reach(
        unconditional=_bfs(graph, principal_arn, max_chain, conditional=False),
        any=_bfs(graph, principal_arn, max_chain, conditional=True),
    )


def trust_notes(authority: Authority) -> list[str]:
    """Trusted principals that are not principals of the review (not traversed)."""
    known = {a for a in (account_of(x) for x in authority.principals()) if a}
    out: list[str] = []
    for arn in sorted(authority.inventory.roles):
        trust = authority.inventory.roles[arn].trust
        if trust is None:
            continue
        for st in trust.statements:
            if st.effect != "Allow" or st.principal is None:
                continue
            if st.principal.wildcard:
                out.append(
                    f'{arn} trusts every principal ("*"), including accounts outside the review'
                )
                continue
            for kind, values in st.principal.entries:
                for value in values:
                    if kind != "AWS":
                        out.append(
                            f"{arn} trusts {kind} principal {value}: not a principal of the review, not traversed"
                        )
                    elif value == "*":
                        out.append(
                            f'{arn} trusts every AWS principal ("*"), including accounts outside the review'
                        )
                    else:
                        acct = value if value.isdigit() else account_of(value)
                        if acct not in known:
                            out.append(
                                f"{arn} trusts {value}, outside the accounts reviewed: not traversed"
                            )
    return list(dict.fromkeys(out))
