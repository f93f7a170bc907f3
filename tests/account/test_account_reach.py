"""Role assumption, one hop at a time and in chains, each expectation from the docs.

Hops are decided by the engine (`lspolicy.account.reach.assume`); chains by breadth-first search.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from lspolicy import parse_policy
from lspolicy.account.model import Instance, Inventory, ManagedPolicy, NamedPolicy, Role, User
from lspolicy.account.query import Review
from lspolicy.account.reach import assume
from lspolicy.model.policy import Policy

A, B = "111111111111", "222222222222"
STOP = "lightsail:StopInstance"
INSTANCE = Instance("web", f"arn:aws:lightsail:us-east-1:{A}:Instance/i1", "us-east-1")


def _doc(*statements: Mapping[str, object], source: str = "p", kind: str = "identity") -> Policy:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return parse_policy(text, source=source, kind=kind)  # type: ignore[arg-type]


def _trust(*principals: str, condition: dict[str, object] | None = None) -> Policy:
    s: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": "sts:AssumeRole",
    }
    if condition:
        s["Condition"] = condition
    return _doc(s, source="trust", kind="resource")


ASSUME_ANY = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
STOP_ALL = {"Effect": "Allow", "Action": STOP, "Resource": "*"}


def _user(
    account: str, name: str, *statements: Mapping[str, object], boundary: str | None = None
) -> User:
    arn = f"arn:aws:iam::{account}:user/{name}"
    inline = (NamedPolicy("p", _doc(*statements, source=arn + "#p")),) if statements else ()
    return User(arn, name, inline=inline, boundary=boundary)


def _role(account: str, name: str, trust: Policy, *statements: Mapping[str, object]) -> Role:
    arn = f"arn:aws:iam::{account}:role/{name}"
    inline = (NamedPolicy("p", _doc(*statements, source=arn + "#p")),) if statements else ()
    return Role(arn, name, trust=trust, inline=inline)


def _inventory(*entities: User | Role) -> Inventory:
    inv = Inventory()
    for e in entities:
        if isinstance(e, User):
            inv.users[e.arn] = e
        else:
            inv.roles[e.arn] = e
    inv.instances[INSTANCE.arn] = INSTANCE
    return inv


def _hop(inv: Inventory, caller: str, role: str) -> str:
    review = Review(inv)
    return assume(review.authority, review.authority.actor(caller), inv.roles[role]).answer


def test_same_account_trust_naming_the_user_suffices_alone() -> None:
    """ "To allow a user to assume a role in the same account, you can do either of the
    following: attach a policy to the user ... (as long as the role's trust policy trusts the
    account), or add the user as a principal directly in the role's trust policy"
    (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)."""
    user = _user(A, "u")
    role = _role(A, "R", _trust(user.arn))
    assert _hop(_inventory(user, role), user.arn, role.arn) == "allowed"


def test_same_account_trust_naming_the_account_needs_the_identity_policy() -> None:
    """Trusting the account delegates to its IAM policies (same API reference page; and
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts)."""
    bare, allowed = _user(A, "bare"), _user(A, "allowed", ASSUME_ANY)
    role = _role(A, "R", _trust(f"arn:aws:iam::{A}:root"))
    inv = _inventory(bare, allowed, role)
    assert _hop(inv, bare.arn, role.arn) == "implicitDeny"
    assert _hop(inv, allowed.arn, role.arn) == "allowed"


def test_identity_policy_alone_never_suffices() -> None:
    """ "IAM role trust policies and KMS key policies are exceptions to this logic, because they
    must explicitly allow access for principals"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html)."""
    other = _user(A, "other")
    user = _user(A, "u", ASSUME_ANY)
    role = _role(A, "R", _trust(other.arn))
    assert _hop(_inventory(user, other, role), user.arn, role.arn) == "implicitDeny"


def test_a_user_named_in_the_trust_policy_still_needs_its_boundary() -> None:
    """ "If a user is listed as the principal in a role's trust policy but cannot assume the
    role, check the user's permissions boundary. If a permissions boundary is set for the user,
    then it must allow the sts:AssumeRole action"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html)."""
    boundary = _doc(STOP_ALL, source=f"arn:aws:iam::{A}:policy/B")
    user = _user(A, "u", boundary=boundary.source)
    role = _role(A, "R", _trust(user.arn))
    inv = _inventory(user, role)
    inv.policies[boundary.source] = ManagedPolicy(boundary.source, "B", boundary)
    assert _hop(inv, user.arn, role.arn) == "implicitDeny"


def test_cross_account_needs_both_sides() -> None:
    """Across accounts "the trusted account must also grant" the permission: both the trust
    policy and the caller's identity policy must allow
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)."""
    bare, allowed = _user(B, "bare"), _user(B, "allowed", ASSUME_ANY)
    role = _role(A, "R", _trust(bare.arn, allowed.arn))
    inv = _inventory(bare, allowed, role)
    assert _hop(inv, bare.arn, role.arn) == "implicitDeny"
    assert _hop(inv, allowed.arn, role.arn) == "allowed"


def test_external_id_makes_the_hop_conditional_and_is_listed() -> None:
    """An external id is known to the caller it was given to: the hop is allowed if it is
    supplied (rule in lspolicy.account.callerkeys; the key:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html)."""
    user = _user(A, "u")
    role = _role(
        A, "R", _trust(user.arn, condition={"StringEquals": {"sts:ExternalId": "xyz"}}), STOP_ALL
    )
    review = Review(_inventory(user, role))
    (access,) = [a for a in review.who_can(STOP, INSTANCE) if a.principal == user.arn]
    assert access.conditional
    (cond,) = access.via[0].verdict.conditions
    assert (cond.condition.key, cond.condition.values) == ("sts:ExternalId", ("xyz",))


def test_mfa_deny_guard_is_a_condition_to_avoid() -> None:
    """A Deny with ``BoolIfExists aws:MultiFactorAuthPresent false`` denies without MFA (the key
    absent: IfExists makes the condition true); with MFA the grant holds: the answer is
    conditional and lists the Deny's condition as one that must not hold
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent)."""
    guard = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    user = _user(A, "u", STOP_ALL, guard)
    review = Review(_inventory(user))
    (access,) = review.who_can(STOP, INSTANCE)
    assert access.conditional
    assert [(c.statement.effect, c.condition.key) for c in access.final.conditions] == [
        ("Deny", "aws:MultiFactorAuthPresent")
    ]


def test_shortest_chain_then_smallest_arns_and_cycles_are_safe() -> None:
    """Two equal two-hop chains to the role that can stop: the one through the smaller role ARN
    is reported; Ra and Rb trust each other (a cycle) without looping. Role chaining:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html#iam-term-role-chaining."""
    user = _user(A, "u")
    ra, rb = f"arn:aws:iam::{A}:role/Ra", f"arn:aws:iam::{A}:role/Rb"
    inv = _inventory(
        user,
        _role(A, "Rb", _trust(user.arn, ra)),
        _role(A, "Ra", _trust(user.arn, rb)),
        _role(A, "Rc", _trust(ra, rb), STOP_ALL),
    )
    got = {a.principal: tuple(h.role for h in a.via) for a in Review(inv).who_can(STOP, INSTANCE)}
    assert got[user.arn] == (ra, f"arn:aws:iam::{A}:role/Rc")
    assert got[rb] == (f"arn:aws:iam::{A}:role/Rc",)


def test_depth_limit() -> None:
    """A chain longer than ``max_chain`` roles is not followed (the documented bound)."""
    user = _user(A, "u")
    r1 = _role(A, "R1", _trust(user.arn))
    r2 = _role(A, "R2", _trust(r1.arn))
    r3 = _role(A, "R3", _trust(r2.arn), STOP_ALL)
    inv = _inventory(user, r1, r2, r3)
    assert user.arn in {a.principal for a in Review(inv, max_chain=3).who_can(STOP, INSTANCE)}
    assert user.arn not in {a.principal for a in Review(inv, max_chain=2).who_can(STOP, INSTANCE)}


def test_scp_mfa_guard_is_listed_from_the_scp() -> None:
    """The MFA guard may sit in an SCP: its condition is listed as one to avoid, named by the
    SCP (SCP Deny statements apply like any Deny:
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html)."""
    guard = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    full = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    user = _user(A, "u", STOP_ALL)
    inv = _inventory(user)
    inv.has_organization = True
    inv.scp_levels[A] = ((_doc(full, guard, source="scp/guard", kind="scp"),),)
    (access,) = Review(inv).who_can(STOP, INSTANCE)
    assert access.conditional
    assert [(c.statement.policy, c.condition.key) for c in access.final.conditions] == [
        ("scp/guard", "aws:MultiFactorAuthPresent")
    ]


def test_account_outside_the_organization_file_is_reported_and_management_is_exempt() -> None:
    """SCPs do not affect the management account
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html);
    an account the organization file does not cover gets no SCPs, and the report says so (the
    docs are silent on a partial export: lspolicy's rule)."""
    deny = _doc({"Effect": "Deny", "Action": "*", "Resource": "*"}, source="scp/deny", kind="scp")
    user_a, user_b = _user(A, "u", STOP_ALL), _user(B, "u", STOP_ALL)
    instance_b = Instance("b", f"arn:aws:lightsail:us-east-1:{B}:Instance/i2", "us-east-1")
    inv = _inventory(user_a, user_b)
    inv.instances[instance_b.arn] = instance_b
    inv.has_organization = True
    inv.scp_levels[A] = None  # the management account
    review = Review(inv)
    assert [a.principal for a in review.who_can(STOP, INSTANCE)] == [user_a.arn]
    assert [a.principal for a in review.who_can(STOP, instance_b)] == [user_b.arn]
    assert {(n["what"], n["name"]) for n in review.not_evaluated()} == {("account", B)}
    inv.scp_levels[B] = ((deny,),)
    assert Review(inv).who_can(STOP, instance_b) == []
