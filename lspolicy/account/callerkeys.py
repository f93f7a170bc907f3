"""Request-time condition keys the review cannot know, and the rule for deciding with them.

An export says who the principals are and what the instances are; it cannot say from which IP
address, with or without MFA, at what time, or with which external id or session name a request
will be made. Those values are chosen by (or belong to the situation of) the caller. The rule:

1. **As AWS would, with the key absent.** Every request is first decided with these keys absent
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html:
   a condition on a key absent from the request context does not match, except negated
   operators and ``...IfExists``). If that allows, the answer is ``allowed``; the caller-side
   conditions its deciding statements test are still listed (``conditions``).
2. **Allowed if.** Otherwise the request is decided again assuming the caller picks those values
   in its favour: every condition on such a key in an Allow statement is taken to hold, and a
   Deny statement with a condition on such a key is taken not to apply. If that allows, the
   answer is ``conditional`` — allowed *if* the listed conditions hold: the Allow conditions
   the grant needs and the Deny conditions the caller must avoid (e.g. "allowed with MFA",
   "allowed with the external id"). The conditions are listed, not proven jointly
   satisfiable: the rule errs toward reporting access, which is what a review is for.
3. Otherwise the answer is the step-1 decision (``explicitDeny`` or ``implicitDeny``).

External ids (``sts:ExternalId``) are known to whoever was given them, session names and
source identities are chosen by the caller: all are caller keys here. Session tags
(``aws:RequestTag/*``, ``aws:TagKeys``, ``sts:TransitiveTagKeys``) are caller keys in a trust
policy's conditions, but the review assumes sessions carry no session tags: a role session's
principal tags are the role's own tags.
"""

from __future__ import annotations

from collections.abc import Mapping

from lspolicy.model.policy import Condition, Policy, Statement

__all__ = ["CALLER_KEYS", "caller_key", "relax"]

CALLER_KEYS: Mapping[str, str] = {
    "aws:multifactorauthpresent": "whether the caller signed in with MFA",
    "aws:multifactorauthage": "how long ago the caller signed in with MFA",
    "aws:sourceip": "the caller's network address",
    "aws:vpcsourceip": "the caller's network address in a VPC",
    "aws:sourcevpc": "the VPC the request comes through",
    "aws:sourcevpce": "the VPC endpoint the request comes through",
    "aws:securetransport": "whether the request uses TLS",
    "aws:currenttime": "when the request is made",
    "aws:epochtime": "when the request is made",
    "aws:tokenissuetime": "when the caller's credentials were issued",
    "aws:useragent": "the caller's client",
    "aws:referer": "the caller's client",
    "aws:viaawsservice": "whether a service calls on the caller's behalf",
    "aws:calledvia": "which services call on the caller's behalf",
    "aws:calledviafirst": "which services call on the caller's behalf",
    "aws:calledvialast": "which services call on the caller's behalf",
    "aws:tagkeys": "the session tags the caller passes",
    "aws:sourceidentity": "the source identity the caller sets",
    "sts:externalid": "the external id, known to the caller",
    "sts:rolesessionname": "the session name the caller picks",
    "sts:sourceidentity": "the source identity the caller sets",
    "sts:transitivetagkeys": "the session tags the caller passes",
}
"""Keys (lower case) whose value the caller chooses or the review cannot know."""

_PREFIXES: Mapping[str, str] = {"aws:requesttag/": "the session tags the caller passes"}
_STS_ONLY: Mapping[str, str] = {
    "aws:requestedregion": "the STS endpoint the caller calls (for a Lightsail request it is "
    "the instance's region, known)"
}


def caller_key(key: str, *, sts: bool) -> str | None:
    """Why ``key`` is a caller key (``None`` when the review knows it or knows it is absent)."""
    lower = key.lower()
    reason = CALLER_KEYS.get(lower)
    if reason is None and sts:
        reason = _STS_ONLY.get(lower)
    if reason is None:
        for prefix, why in _PREFIXES.items():
            if lower.startswith(prefix):
                return why
    return reason


def caller_conditions(statement: Statement, *, sts: bool) -> tuple[Condition, ...]:
    """The statement's conditions on caller keys."""
    return tuple(c for c in statement.conditions if caller_key(c.key, sts=sts) is not None)


def relax(policy: Policy, *, sts: bool) -> tuple[Policy, Policy | None]:
    """Rule 2's two policies: ``policy`` with caller conditions taken in the caller's favour
    (Allow conditions dropped, Deny statements with one dropped), and the dropped Deny
    statements with their caller conditions removed (``None`` when there are none): those
    that apply to a request are the denies the caller must avoid."""
    kept: list[Statement] = []
    avoided: list[Statement] = []
    changed = False
    for st in policy.statements:
        caller = caller_conditions(st, sts=sts)
        if not caller:
            kept.append(st)
            continue
        changed = True
        rest = tuple(c for c in st.conditions if c not in caller)
        if st.effect == "Allow":
            kept.append(st.model_copy(update={"conditions": rest}))
        else:
            avoided.append(st.model_copy(update={"conditions": rest}))
    relaxed = policy.model_copy(update={"statements": tuple(kept)}) if changed else policy
    probe = policy.model_copy(update={"statements": tuple(avoided)}) if avoided else None
    return relaxed, probe
