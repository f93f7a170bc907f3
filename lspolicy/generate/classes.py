"""Every request, in finitely many classes: one representative per class of the intent's and
the policies' tests together, so that the proof decides all requests, not a sample.

Same idea as the semantic diff's abstraction (`lspolicy.diff`, "an exact finite abstraction"):
each value of a request is put to finitely many tests; values passing the same tests are
interchangeable. The tests are read from *both* sides — the intent's selectors and requirements
and every constant the generated policies' conditions compare against — so a boundary the
intent draws and the policy forgets (or the reverse) is still a boundary between classes.

The request space: an instance action of the catalog (the intent's only subject) by a
principal of any account, on an instance of any account and region, with any tags, any
principal tags, MFA present true / false / absent, any source address or none, any time or
none. Requests on other resources are denied by the intent; they are proven denied by the
policies' shape (every Allow's Resource is an ``...:Instance/...`` ARN) and sampled as well.
The root user is out of scope (identity policies do not govern it), as in `lspolicy.diff`.

Absent is a class of every key: "If the key that you specify in a policy condition is not
present in the request context, the values do not match and the condition is false" (true for
the negated operators; ``...IfExists`` and ``Null`` test presence)
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).

Per slot, why the representatives are exhaustive, by operator family of generated policies:

- ``StringEquals`` / ``StringLike`` on ``aws:ResourceTag/<k>``, ``aws:PrincipalTag/<k>`` and
  ``aws:PrincipalArn``: values are compared case-sensitively with literals, and ``StringLike``
  with a single trailing ``*`` is "starts with"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String).
  A value not equal to a literal passes exactly the prefixes that prefix the *longest* prefix
  it starts with, so its class is that of ``longest + f``, ``f`` a character no constant uses
  (or of ``f`` alone when it starts with none). Representatives: absent, each literal, each
  prefix, each prefix + ``f``, ``f``. Tag keys are compared without case by both sides
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html),
  so one spelling per key suffices.
- ``StringEqualsIgnoreCase`` / ``StringNotEqualsIgnoreCase`` on ``aws:ResourceTag/<k>`` and
  ``aws:PrincipalTag/<k>`` ("exact matching, ignoring case" and its negation, same page): a
  value ``w`` with ``w.lower() == L.lower()`` for such a value ``L`` is either one of the
  literals (its own representative) or passes exactly the prefixes that prefix the longest one
  it starts with; `_spell` adds, per ``L``, ``L``, another spelling of it, and one spelling per
  such longest prefix (none, or each prefix) that is no literal, when one exists — found by a
  complete search (`lspolicy.generate.spellings`). Values equal to no ``L`` in any case fall in
  the classes above (the fresh character lower-cases to no constant's character).
- ``${aws:PrincipalTag/<k>}`` as a whole value
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-tags)
  adds one test, "the two tags are equal": the two keys share one set of representatives, with
  two distinct members of each infinite class, so equal and unequal values of every class pair
  are enumerated.
- ``Bool`` on ``aws:MultiFactorAuthPresent``: true, false, absent
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean).
- ``IpAddress`` / ``NotIpAddress`` on ``aws:SourceIp``: each family's address space is cut at
  every block's first address and the address after its last; every block contains each
  resulting interval wholly or not at all, so its first address represents it; plus absent
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress).
- ``Date*`` on ``aws:CurrentTime``: comparisons with constants, so each constant, each open
  interval between neighbours (and beyond the ends) and absent
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date).
- ``Numeric*`` on ``aws:MultiFactorAuthAge``: each constant, a number strictly between
  neighbours and beyond each end, and absent (a present age is always a number)
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric).
- ``StringEquals`` / ``StringLike`` and their negations on ``aws:PrincipalOrgID`` and
  ``aws:SourceIdentity``: each value is a regular language; the product of their automata is
  explored breadth first (`lspolicy.diff.automata.explore`: characters no test names are
  interchangeable), giving one string per combination of tests some string passes; plus absent.
- ``ArnLike`` / ``ArnEquals`` on ``aws:PrincipalArn``: literals, or a trailing ``*`` in the
  sixth component, which is a prefix as above
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN).
- The Resource (account, region, instance id) and ``aws:RequestedRegion``: each constant of
  either side, ``*``, and one value neither names.
- Actions: the catalog's instance actions are finitely many; all are tried.

The product of all slots is too large, so slots are grouped: the action; who and where (the
caller's ARN and tags with the instance's account, region, id and tags, which policy
variables and the account comparison tie together); the circumstances (MFA, address, time, MFA
age, organization, source identity), merged key by key since each of their tests is a
conjunction of one test per key (`_CIRCUMSTANCE_SLOTS`).
Every condition reads keys of one group (checked: otherwise not exact). Who and where is built
from components — the resource part (caller ARN, account, region, id) and each set of tag keys
a variable ties together — and each of its tests (a statement's Resource and conditions, a
grant's principals and instances, an exclusion's instances) is the conjunction of one test per
component, so partial conjunctions are merged as components are added. Within a group
representatives are merged when they pass the same tests — each policy statement's action,
resource and conditions as the engine's compiled statement decides them, and each grant's and
exclusion's parts as `lspolicy.generate.semantics` decides them — and the classes are the
product of the groups' merged representatives. The engine's decision (a deny applies, an allow
applies, the accounts differ) and the intent's (a grant gives, an exclusion takes) are functions
of those tests, so one request per class decides the class. The sampled witness checks this
too: each boundary and random request must fall in an enumerated class that is decided as it
is (`Classes.decided`); otherwise the proof is reported not exact.

Tag writes: ``aws:TagKeys`` is carried by ``TagResource``/``UntagResource`` requests only
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html).
The requests here carry none, so a condition on it is decided as for an absent key (the
``guard_tags`` Deny never applies: ``ForAnyValue`` needs at least one request value to match, so
it is false for a missing key,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html,
as `lspolicy.evaluate.clause` implements it).
Tag writes with keys are decided by `lspolicy.generate.tagguard`, exactly: those touching a
selector key are denied, and on the others the guard statement does not apply, so they are
decided as the request without keys is here.

Not exact (the proof says why and falls back to sampling): a string test other than the above
(``StringLike`` with an inner wildcard, a variable inside text, ``...IgnoreCase`` on
``aws:PrincipalArn`` or with a variable, a value whose spellings are not one character for one), a condition
key this module does not model, a condition reading keys of two groups, a Resource that is not
an instance ARN or ``*`` in an Allow, or more than `MAX_GROUP` representatives in a group.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lspolicy.conditions.date import parse_date
from lspolicy.conditions.numeric import parse_number
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.generate.intent import (
    InstanceSelector,
    Intent,
    PrincipalSelector,
    Requirements,
    TagMatch,
    instance_actions,
    iso,
    lightsail_regions,
)
from lspolicy.generate.population import Pools, pools_for
from lspolicy.generate.semantics import Circumstances, IntentSemantics, Probe
from lspolicy.generate.spellings import members, other_spelling
from lspolicy.glob import STAR, tokens_of
from lspolicy.lightsail.context import Identity, Instance, instance_request
from lspolicy.model.policy import Policy
from lspolicy.model.request import Request
from lspolicy.variables import Variable, parse_template

if TYPE_CHECKING:
    from lspolicy.diff.automata import Element

__all__ = ["MAX_GROUP", "Classes", "enumerate_classes"]

MAX_GROUP = 400_000
"""Representatives of one group beyond which the enumeration gives up (not exact)."""

_RTAG = "aws:resourcetag/"
_PTAG = "aws:principaltag/"
_ARN = "aws:principalarn"
_MFA = "aws:multifactorauthpresent"
_IP = "aws:sourceip"
_TIME = "aws:currenttime"
_REGION = "aws:requestedregion"
_AGE = "aws:multifactorauthage"
_ORG = "aws:principalorgid"
_SOURCE_IDENTITY = "aws:sourceidentity"
_CIRCUMSTANCES = frozenset({_MFA, _IP, _TIME, _AGE, _ORG, _SOURCE_IDENTITY})
_WHO_WHERE_FIXED = frozenset({_ARN, _REGION})
_NOT_CARRIED = frozenset({"aws:tagkeys"})
"""Keys no request of the classes carries: the tag guard's (`lspolicy.generate.tagguard`)."""
_FRESH_CHARS = "zqxjk@=+:/._-0123456789"
_IGNORE_CASE = frozenset({"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"})


Signature = tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class Classes:
    """The merged representatives of each group; the classes are their product."""

    actions: dict[Signature, str]
    who_where: dict[Signature, tuple[Identity, Instance]]
    circumstances: dict[Signature, Circumstances]
    exact: bool
    """The classes cover every instance request."""
    reasons: tuple[str, ...]
    """Why not exact."""
    signer: _Signer = field(repr=False, compare=False)

    @property
    def groups(self) -> dict[str, int]:
        """Merged representatives per group."""
        return {
            "action": len(self.actions),
            "who/where": len(self.who_where),
            "circumstances": len(self.circumstances),
        }

    def __len__(self) -> int:
        return len(self.actions) * len(self.who_where) * len(self.circumstances)

    def probes(self) -> Iterator[Probe]:
        """One request per class."""
        return _probes(self.actions.values(), self.who_where.values(), self.circumstances.values())

    def decided(self, probe: Probe) -> tuple[bool, bool] | None:
        """How the intent and the engine (all policies) decide ``probe``'s class, through its
        representative (None: no enumerated class holds it)."""
        if probe.instance is None:
            return None
        key = (
            self.signer.action(probe.action),
            self.signer.who_where(probe.identity, probe.instance),
            self.signer.circumstances(probe.circumstances),
        )
        known = self.signer.decisions.get(key)
        if known is None:
            rep = self.representative(probe)
            if rep is None:
                return None
            known = self.signer.decide(rep)
            self.signer.decisions[key] = known
        return known

    def representative(self, probe: Probe) -> Probe | None:
        """The enumerated request of ``probe``'s class (None: a class the enumeration lacks —
        a bug when `exact` — or a request on something other than an instance)."""
        if probe.instance is None:
            return None
        action = self.actions.get(self.signer.action(probe.action))
        ww = self.who_where.get(self.signer.who_where(probe.identity, probe.instance))
        circ = self.circumstances.get(self.signer.circumstances(probe.circumstances))
        if action is None or ww is None or circ is None:
            return None
        return Probe(action, ww[0], circ, ww[1])


@dataclass
class _Strings:
    literals: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    linked: bool = False
    ignore_case: set[str] = field(default_factory=set)
    """Values compared with ``...IgnoreCase`` (as written)."""
    spelled: list[str] = field(default_factory=list)
    """Their spellings that the classes need (`_spell`)."""


class _Collect:
    """Constants of both sides, per slot, and the reasons exactness is lost."""

    def __init__(self) -> None:
        self.strings: dict[str, _Strings] = {}
        self.links: list[tuple[str, str]] = []
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.moments: set[float] = set()
        self.regions: set[str] = set()
        self.accounts: set[str] = set()
        self.ids: set[str] = set()
        self.ages: set[float] = set()
        self.patterns: dict[str, set[tuple[Element, ...]]] = {_ORG: set(), _SOURCE_IDENTITY: set()}
        """String tests on the organization id and the source identity, as automaton elements."""
        self.reasons: list[str] = []

    def slot(self, key: str) -> _Strings:
        return self.strings.setdefault(key.lower(), _Strings())

    def match(self, key: str, m: TagMatch) -> None:
        if m.kind == "principal_tag":
            self.link(key, _PTAG + m.values[0])
        elif m.kind == "prefix":
            self.slot(key).prefixes.add(m.values[0])
        elif m.case_insensitive:
            self.slot(key).ignore_case.update(m.values)
        else:
            self.slot(key).literals.update(m.values)

    def link(self, a: str, b: str) -> None:
        self.slot(a).linked = self.slot(b).linked = True
        self.links.append((a.lower(), b.lower()))

    def inexact(self, why: str) -> None:
        if why not in self.reasons:
            self.reasons.append(why)


def _from_intent(intent: Intent, c: _Collect) -> None:
    c.accounts.add(intent.account)
    for g in intent.grants:
        for m in g.principals.tags:
            c.match(_PTAG + m.key, m)
        c.slot(_ARN).literals.update(g.principals.arns)
    for e in intent.exclusions:
        if e.principals is not None:  # whom an exclusion applies to is a boundary too
            for m in e.principals.tags:
                c.match(_PTAG + m.key, m)
            c.slot(_ARN).literals.update(e.principals.arns)
    for regions, sel, reqs in [(g.regions, g.instances, g.require) for g in intent.grants] + [
        (e.regions, e.instances, e.unless) for e in intent.exclusions
    ]:
        c.regions.update(regions)
        c.ids.update(sel.ids)
        for m in sel.tags:
            c.match(_RTAG + m.key, m)
        c.networks += [ipaddress.ip_network(b) for b in reqs.source_ip]
        for moment in (reqs.not_before, reqs.not_after):
            if moment is not None:
                c.moments.add(moment.timestamp())
        _request_keys_from_intent(reqs, c)


def _string_value(c: _Collect, key: str, operator: str, raw: str) -> None:
    template = parse_template(raw)
    if not template.is_literal:
        parts = template.parts
        if (
            len(parts) == 1
            and isinstance(parts[0], Variable)
            and parts[0].default is None
            and parts[0].key.startswith(_PTAG)
            and "Equals" in operator
        ):
            c.link(key, parts[0].key)
        else:
            c.inexact(f"{operator} {key} with a variable inside the text {raw!r}")
        return
    if "Like" not in operator:
        c.slot(key).literals.add(template.resolve_text({}) or "")
        return
    tokens = template.literal_tokens()
    wild = [i for i, t in enumerate(tokens) if not isinstance(t, str)]
    text = "".join(t for t in tokens if isinstance(t, str))
    if not wild:
        c.slot(key).literals.add(text)
    elif wild == [len(tokens) - 1] and tokens[-1] is STAR:
        if key == _ARN and text.count(":") < 5:
            c.inexact(f"{operator} {key} with a wildcard before the resource part {raw!r}")
        c.slot(key).prefixes.add(text)
    else:
        c.inexact(f"{operator} {key} pattern {raw!r} has a wildcard not at its end")
        c.slot(key).literals.add(text)


def _ignore_case_value(c: _Collect, key: str, operator: str, raw: str) -> None:
    template = parse_template(raw)
    if not template.is_literal:
        c.inexact(f"{operator} {key} with a variable {raw!r}")
        return
    c.slot(key).ignore_case.add(template.resolve_text({}) or "")


def _spell(c: _Collect) -> None:
    """The spellings each slot's ``...IgnoreCase`` values need (after `_tag_components`).

    A value ``w`` is put to three kinds of test: equal to a case-sensitive literal, starts with
    a prefix, equal to an ``...IgnoreCase`` value ``L`` ignoring case. Values ignoring-case
    equal to no ``L`` are covered by the case-sensitive representatives (the fresh character
    lower-cases to no constant's character). Values with ``w.lower() == L.lower()``: each
    literal among them is its own representative; the rest pass the prefixes that prefix the
    longest prefix ``q`` (or none) they start with, so one member per ``q`` — starting with
    ``q``, with no longer prefix, equal to no literal — is one per class (two when the slot is
    linked, so equal and unequal pairs are both enumerated). `lspolicy.generate.spellings`
    finds them or shows there are none; ``L`` itself and `other_spelling` are added too."""
    done: set[int] = set()
    for key, s in c.strings.items():
        if not s.ignore_case or id(s) in done:
            continue
        done.add(id(s))
        spelled: list[str] = []
        for value in sorted(s.ignore_case):
            spelled.append(value)
            other = other_spelling(value)
            if other is not None and other not in s.literals:
                spelled.append(other)
            for q in ["", *sorted(s.prefixes)]:
                longer = [p for p in s.prefixes if p.startswith(q) and len(p) > len(q)]
                got = members(
                    value.lower(),
                    start=q,
                    avoid_prefixes=longer,
                    avoid=s.literals,
                    need=2 if s.linked else 1,
                )
                if got is None:
                    c.inexact(f"the spellings of {value!r} ({key}) are not one character for one")
                    break
                spelled += got
        s.spelled = list(dict.fromkeys(spelled))


def _resource(c: _Collect, pattern: str, allow: bool) -> None:
    parts = pattern.split(":", 5)
    if pattern == "*":
        if allow:
            c.inexact("an Allow on Resource * reaches resources other than instances")
        return
    if len(parts) != 6 or parts[2] != "lightsail" or not parts[5].startswith("Instance/"):
        if allow:
            c.inexact(f"Resource {pattern!r} is not an instance ARN")
        return
    for value, into in ((parts[3], c.regions), (parts[4], c.accounts)):
        if "*" in value or "?" in value:
            if value != "*":
                c.inexact(f"Resource {pattern!r} has a partial wildcard")
        else:
            into.add(value)
    rest = parts[5].removeprefix("Instance/")
    if rest != "*":
        if "*" in rest or "?" in rest or "$" in rest:
            c.inexact(f"Resource {pattern!r} has a partial wildcard")
        else:
            c.ids.add(rest)


def _from_policies(policies: Sequence[Policy], c: _Collect) -> None:
    for policy in policies:
        for st in policy.statements:
            if st.resources is None or st.principal or st.not_principal:
                c.inexact("a statement with NotResource or Principal")
            for pattern in st.resources or ():
                _resource(c, pattern, st.effect == "Allow")
            for cond in st.conditions:
                key = cond.key.lower()
                op = cond.operator.removesuffix("IfExists")
                if key in _NOT_CARRIED:
                    continue  # no request of the classes carries it (see the module docstring)
                if op.startswith(("ForAllValues:", "ForAnyValue:")):
                    c.inexact(f"{cond.operator} on {cond.key}")
                    continue
                if op == "Null" and key.startswith((_RTAG, _PTAG)):
                    # presence only: every string slot has the absent representative and a
                    # present one (a fresh value), so the slot itself is all it needs
                    c.slot(key)
                elif key.startswith((_RTAG, _PTAG)) or key == _ARN:
                    plain = op.startswith("String") and "IgnoreCase" not in op
                    if plain or (key == _ARN and op.startswith("Arn")):
                        for raw in cond.values:
                            _string_value(c, key, op, raw)
                    elif key != _ARN and op in _IGNORE_CASE:
                        for raw in cond.values:
                            _ignore_case_value(c, key, op, raw)
                    else:
                        c.inexact(f"{cond.operator} on {cond.key}")
                elif key == _MFA and op == "Bool":
                    pass

                elif key == _IP and op in ("IpAddress", "NotIpAddress"):
                    for raw in cond.values:
                        try:
                            c.networks.append(ipaddress.ip_network(raw, strict=False))
                        except ValueError:
                            c.inexact(f"{cond.operator} {cond.key} value {raw!r}")
                elif key == _TIME and op.startswith("Date"):
                    for raw in cond.values:
                        seconds = parse_date(raw)
                        if seconds is None or not parse_template(raw).is_literal:
                            c.inexact(f"{cond.operator} {cond.key} value {raw!r}")
                        else:
                            c.moments.add(seconds)
                elif key == _REGION and op in ("StringEquals", "StringNotEquals"):
                    c.regions.update(cond.values)
                elif key in (_AGE, _ORG, _SOURCE_IDENTITY):
                    _request_key_condition(c, key, cond.operator, cond.values)
                else:
                    c.inexact(f"{cond.operator} on {cond.key} is not modelled")


def _fresh(constants: Iterable[str]) -> str:
    """A character no constant uses, whose lower case no constant's lower case uses either
    (so a value holding it is ignoring-case equal to no constant)."""
    text = "".join(constants)
    used = set(text) | set(text.lower())
    for ch in _FRESH_CHARS + "\u00e9\u00e8\u00ea":
        if ch not in used and ch.lower() not in used:
            return ch
    return "\u00ef"


def _string_reps(s: _Strings) -> list[str | None]:
    f = _fresh([*s.literals, *s.prefixes, *s.ignore_case])
    out: list[str | None] = [None, *sorted(s.literals), *sorted(s.prefixes), *s.spelled]
    extra = [f, *(p + f for p in sorted(s.prefixes))]
    out += extra
    if s.linked:
        out += [e + f for e in extra]
    return list(dict.fromkeys(out))


def _ip_reps(networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> list[str]:
    out: list[str] = []
    for version, top in ((4, 2**32), (6, 2**128)):
        cuts = {0}
        for n in networks:
            if n.version == version:
                cuts.add(int(n.network_address))
                end = int(n.broadcast_address) + 1
                if end < top:
                    cuts.add(end)
        maker = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        out += [str(maker(cut)) for cut in sorted(cuts)]
    return out


def _time_text(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return iso(moment)


def _time_reps(moments: Iterable[float]) -> list[str]:
    points = sorted(moments)
    if not points:
        return ["2026-06-15T12:00:00Z"]
    out = [_time_text(points[0] - 86_400)]
    for a, b in itertools.pairwise(points):
        out.append(_time_text(a))
        out.append(_time_text(a + 1 if a + 1 < b else (a + b) / 2))
    out += [_time_text(points[-1]), _time_text(points[-1] + 86_400)]
    return out


def _product_size(sizes: Iterable[int]) -> int:
    n = 1
    for s in sizes:
        n *= max(s, 1)
    return n


def enumerate_classes(intent: Intent, policies: Sequence[Policy]) -> Classes:
    """One request per class of every instance request, for ``intent`` and ``policies``."""
    c = _Collect()
    _from_intent(intent, c)
    _from_policies(policies, c)
    components = _tag_components(c)
    _spell(c)
    signer = _Signer(intent, policies, c, components)
    pools = pools_for(intent)

    actions: dict[Signature, str] = {}
    for action in instance_actions():
        actions.setdefault(signer.action(action), action)

    circumstances = _circumstance_classes(signer, c)

    # who and where: the resource component (caller ARN, account, region, id) and one
    # component per set of tag keys a variable ties together; every test of the group is a
    # conjunction of one test per component, so partial conjunctions are merged as they grow
    arn_slot = c.strings.get(_ARN, _Strings())
    arns = list(
        dict.fromkeys(
            [
                *pools.principal_arns,
                *sorted(arn_slot.literals),
                *(r for r in _string_reps(arn_slot) if r and r.count(":") >= 5),
            ]
        )
    )
    accounts = sorted(c.accounts | {pools.other_account})
    named = set(c.regions)
    spare = [r for r in lightsail_regions() if r not in named][:1]
    regions = sorted(named | set(spare))
    ids = [*sorted(c.ids), "probe-instance-fresh"]
    resource_values: list[tuple[str | None, ...]] = list(
        itertools.product(arns, accounts, regions, ids)
    )
    parts: list[tuple[tuple[str, ...], list[tuple[str | None, ...]]]] = [
        ((_ARN, "account", "region", "id"), resource_values)
    ]
    for slots in components:
        reps = [_string_reps(c.strings[k]) for k in slots]
        size = _product_size(map(len, reps))
        if size > MAX_GROUP:
            c.inexact(f"{size:,} representatives of tags {', '.join(slots)}, over {MAX_GROUP:,}")
            continue
        parts.append((slots, list(itertools.product(*reps))))
    states: dict[Signature, dict[str, str | None]] = {signer.top: {}}
    for slots, values in parts:
        merged: dict[Signature, dict[str, str | None]] = {}
        for value in values:
            assignment = dict(zip(slots, value, strict=True))
            merged.setdefault(signer.part(slots, assignment), assignment)
        grown: dict[Signature, dict[str, str | None]] = {}
        for state, chosen in states.items():
            for sig, assignment in merged.items():
                both = tuple(a and b for a, b in zip(state, sig, strict=True))
                if both not in grown:
                    grown[both] = {**chosen, **assignment}
        states = grown
    who_where = {sig: _realise(pools, chosen) for sig, chosen in states.items()}
    # an id, region or account neither side names is in the class of the one enumerated for
    # it: the sampled witness looks them up through these (and still compares decisions)
    signer.stand_ins = (frozenset(ids), frozenset(regions), frozenset(accounts))
    signer.fresh = (ids[-1], spare[0] if spare else "", pools.other_account)
    return Classes(
        actions=actions,
        who_where=who_where,
        circumstances=circumstances,
        exact=not c.reasons,
        reasons=tuple(c.reasons),
        signer=signer,
    )


def _tag_components(c: _Collect) -> list[tuple[str, ...]]:
    """Tag slots, grouped where a variable ties two keys together (union-find)."""
    parent = {k: k for k in c.strings if k.startswith((_RTAG, _PTAG))}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in c.links:
        parent[root(a)] = root(b)
    # linked keys share their constants: equal values of every class are enumerated
    groups: dict[str, list[str]] = {}
    for k in sorted(parent):
        groups.setdefault(root(k), []).append(k)
    out: list[tuple[str, ...]] = []
    for keys in groups.values():
        if len(keys) > 1:
            shared = _Strings(linked=True)
            for k in keys:
                shared.literals |= c.strings[k].literals
                shared.prefixes |= c.strings[k].prefixes
                shared.ignore_case |= c.strings[k].ignore_case
            for k in keys:
                c.strings[k] = shared
        out.append(tuple(keys))
    return out


def _realise(pools: Pools, chosen: dict[str, str | None]) -> tuple[Identity, Instance]:
    caller = {
        k[len(_PTAG) :]: v for k, v in chosen.items() if k.startswith(_PTAG) and v is not None
    }
    tags = {k[len(_RTAG) :]: v for k, v in chosen.items() if k.startswith(_RTAG) and v is not None}
    identity = pools.identity(chosen[_ARN] or "", caller)
    instance = Instance(
        id=chosen["id"] or "",
        region=chosen["region"] or "",
        account=chosen["account"] or "",
        tags=tags,
    )
    return identity, instance


class _Signer:
    """The tests a group's value passes: the policies' (as the engine's compiled statements
    decide them) and the intent's (as `lspolicy.generate.semantics` decides them)."""

    def __init__(
        self,
        intent: Intent,
        policies: Sequence[Policy],
        c: _Collect,
        components: Sequence[tuple[str, ...]],
    ) -> None:
        self.intent = intent
        self.engine = PolicySet(list(policies))
        """All policies together: what `Classes.representative` is checked with."""
        self.statements = list(self.engine.statements())
        # the oracle's own parts, so the intent's tests are exactly the ones it decides by
        self.semantics = IntentSemantics(intent)
        self.pools = pools_for(intent)
        self.c_conditions: list[CompiledCondition] = []
        self.part_conditions: dict[tuple[str, ...], list[list[CompiledCondition]]] = {}
        owner = {k: slots for slots in components for k in slots}
        resource_part: tuple[str, ...] = (_ARN, "account", "region", "id")
        for slots in [resource_part, *components]:
            self.part_conditions[slots] = [[] for _ in self.statements]
        for i, st in enumerate(self.statements):
            for cond in st.conditions:
                keys = {cond.key, *cond.variable_keys}
                homes = {owner.get(k) for k in keys}
                if keys <= _CIRCUMSTANCES | _NOT_CARRIED:
                    self.c_conditions.append(cond)
                elif keys <= _WHO_WHERE_FIXED:
                    self.part_conditions[resource_part][i].append(cond)
                elif len(homes) == 1 and None not in homes:
                    (home,) = homes
                    assert home is not None
                    self.part_conditions[home][i].append(cond)
                else:
                    c.inexact(f"a condition on {cond.condition.key} reads keys of two groups")
        self.stand_ins: tuple[frozenset[str], frozenset[str], frozenset[str]] = (
            frozenset(),
            frozenset(),
            frozenset(),
        )
        """The ids, regions and accounts enumerated (set by `enumerate_classes`)."""
        self.fresh: tuple[str, str, str] = ("", "", "")
        """The enumerated id, region and account that no side names."""
        self.decisions: dict[tuple[Signature, Signature, Signature], tuple[bool, bool]] = {}
        """Each class's decisions, as `Classes.decided` found them."""
        self._parts: dict[tuple[tuple[str, ...], tuple[str | None, ...]], Signature] = {}
        self._actions: dict[str, Signature] = {}
        self._who_where: dict[tuple[object, ...], Signature] = {}
        self._layout: (
            tuple[
                tuple[str, ...],
                dict[str, int],
                dict[str, int],
                tuple[tuple[tuple[str, ...], tuple[int, ...]], ...],
            ]
            | None
        ) = None
        self._bits: dict[Signature, int] = {}
        self._last_instance: tuple[Instance, list[tuple[int, str]]] | None = None
        self._from_bits: dict[int, Signature] = {}
        self._circumstances: dict[Circumstances, Signature] = {}
        self.requirements = [g.require for g in intent.grants] + [
            e.unless for e in intent.exclusions
        ]
        self.top: Signature = (True,) * (1 + len(self.statements) + len(intent.grants)) + (
            True,
        ) * len(intent.exclusions)

    def decide(self, probe: Probe) -> tuple[bool, bool]:
        """The intent's decision and the engine's (all policies together)."""
        return self.semantics.allows(probe), self.engine.is_allowed(probe.request())

    def action(self, action: str) -> Signature:
        """The action's tests: each statement's Action, each grant's and exclusion's actions."""
        sig = self._actions.get(action)
        if sig is None:
            sig = self._actions[action] = self._action(action)
        return sig

    def circumstances(self, circ: Circumstances) -> Signature:
        """MFA, address and time: the conditions on them, and each requirement of the intent."""
        sig = self._circumstances.get(circ)
        if sig is None:
            sig = self._circumstances[circ] = self._circumstances_of(circ)
        return sig

    def _action(self, action: str) -> Signature:
        sem = self.semantics
        folded = action.casefold()
        # compiled Action matchers take the lower-cased name, as the engine's requests carry it
        # (`Request.action_key`): action names ignore case
        lowered = action.lower()
        return (
            *(st.action_match(lowered) for st in self.statements),
            *(folded in a for a in sem._grant_actions),
            *(folded in a for a in sem._exclusion_actions),
        )

    def _circumstances_of(self, circ: Circumstances) -> Signature:
        context = Request("lightsail:StopInstance", "*", circ.context()).context
        return (
            *(bool(cond.holds(context)) for cond in self.c_conditions),
            *(self.semantics._met(r, circ) for r in self.requirements),
        )

    def part(self, slots: tuple[str, ...], chosen: dict[str, str | None]) -> Signature:
        """`_part`, remembered: the sampled witness asks again for the same values."""
        key = (slots, tuple(chosen.get(k) for k in slots))
        sig = self._parts.get(key)
        if sig is None:
            sig = self._part(slots, chosen)
            if len(self._parts) < 100_000:
                self._parts[key] = sig
        return sig

    def _part(self, slots: tuple[str, ...], chosen: dict[str, str | None]) -> Signature:
        """One component's share of every who/where test: accounts differ; per statement,
        its Resource (resource component) and its conditions on the component's keys; per
        grant, its principals and instances as far as they read those keys; per exclusion,
        its instances likewise. Each full test is the conjunction of the components'."""
        sem = self.semantics
        conds = self.part_conditions[slots]
        if slots[0] == _ARN:
            identity = self.pools.identity(chosen[_ARN] or "", {})
            instance = Instance(
                id=chosen["id"] or "",
                region=chosen["region"] or "",
                account=chosen["account"] or "",
            )
            request = instance_request("lightsail:StopInstance", instance, identity)
            context = request.context
            f = sem.facts(Probe("lightsail:StopInstance", identity, Circumstances(), instance))
            return (
                request.caller_account != request.resource_account,
                *(
                    st.resource_match(request.resource, context)
                    and all(cond.holds(context) for cond in conds[i])
                    for i, st in enumerate(self.statements)
                ),
                *(
                    sem._who(PrincipalSelector(arns=g.principals.arns), f)
                    and sem._where(g.regions, InstanceSelector(ids=g.instances.ids), f)
                    for g in self.intent.grants
                ),
                *(
                    sem._where(e.regions, InstanceSelector(ids=e.instances.ids), f)
                    and (
                        e.principals is None
                        or sem._who(PrincipalSelector(arns=e.principals.arns), f)
                    )
                    for e in self.intent.exclusions
                ),
            )
        values = {k: v for k, v in chosen.items() if v is not None}
        context = Request("lightsail:StopInstance", "*", values).context
        tags = {k[len(_RTAG) :]: v for k, v in values.items() if k.startswith(_RTAG)}
        caller = {k[len(_PTAG) :]: v for k, v in values.items() if k.startswith(_PTAG)}
        mine = set(slots)

        def holds(matches: Iterable[TagMatch], prefix: str, own: dict[str, str]) -> bool:
            return all(
                sem._match(m, own, caller)
                for m in matches
                if _match_slots(m, prefix) <= mine and _match_slots(m, prefix) & mine
            )

        return (
            True,
            *(all(cond.holds(context) for cond in conds[i]) for i in range(len(self.statements))),
            *(
                holds(g.principals.tags, _PTAG, caller) and holds(g.instances.tags, _RTAG, tags)
                for g in self.intent.grants
            ),
            *(
                holds(e.instances.tags, _RTAG, tags)
                and (e.principals is None or holds(e.principals.tags, _PTAG, caller))
                for e in self.intent.exclusions
            ),
        )

    def who_where(self, identity: Identity, instance: Instance) -> Signature:
        """The conjunction of every component's tests for a request's caller and instance."""
        (ids, regions, accounts), (fresh_id, fresh_region, fresh_account) = (
            self.stand_ins,
            self.fresh,
        )
        layout = self._layout
        if layout is None:
            layout = self._layout = self._lay_out()
        slots, ptags, rtags, shares = layout
        # the values the tests read, slot by slot (a tag's key folded; of two keys that fold
        # alike the last wins); requests alike in those share one entry, whatever other tags
        # the caller and the instance carry
        values: list[str | None] = [None] * len(slots)
        values[0] = identity.arn
        values[1] = instance.account if instance.account in accounts else fresh_account
        values[2] = (
            instance.region if instance.region in regions or not fresh_region else fresh_region
        )
        values[3] = instance.id if instance.id in ids else fresh_id
        for k, v in identity.tags.items():
            i = ptags.get(k.lower())
            if i is not None:
                values[i] = v
        last = self._last_instance
        if last is not None and last[0] is instance:
            placed = last[1]
        else:
            # consecutive requests often name the same instance (held here, so `is` is safe)
            placed = [
                (i, v) for k, v in instance.tags.items() if (i := rtags.get(k.lower())) is not None
            ]
            self._last_instance = (instance, placed)
        for i, v in placed:
            values[i] = v
        key = tuple(values)
        known = self._who_where.get(key)
        if known is not None:
            return known
        # the conjunction as bits: each component's signature read as an integer once
        bits = self._bits
        mask = -1
        for part, at in shares:
            own = tuple(values[i] for i in at)
            sig = self._parts.get((part, own))
            if sig is None:
                sig = self.part(part, dict(zip(part, own, strict=True)))
            b = bits.get(sig)
            if b is None:
                b = bits[sig] = sum(1 << i for i, t in enumerate(sig) if t)
            mask &= b
        out = self._from_bits.get(mask)
        if out is None:
            out = self._from_bits[mask] = tuple(bool(mask >> i & 1) for i in range(len(self.top)))
        if len(self._who_where) < 100_000:
            self._who_where[key] = out
        return out

    def _lay_out(
        self,
    ) -> tuple[
        tuple[str, ...],
        dict[str, int],
        dict[str, int],
        tuple[tuple[tuple[str, ...], tuple[int, ...]], ...],
    ]:
        """Every slot's place in `who_where`'s values (the resource part's four first), the
        place of each folded principal and resource tag key, and each component's places."""
        slots = tuple(dict.fromkeys(k for part in self.part_conditions for k in part))
        at = {k: i for i, k in enumerate(slots)}
        ptags = {k[len(_PTAG) :]: i for k, i in at.items() if k.startswith(_PTAG)}
        rtags = {k[len(_RTAG) :]: i for k, i in at.items() if k.startswith(_RTAG)}
        shares = tuple((part, tuple(at[k] for k in part)) for part in self.part_conditions)
        return slots, ptags, rtags, shares


def _match_slots(m: TagMatch, prefix: str) -> set[str]:
    """The slots a tag selector reads."""
    out = {prefix + m.key.lower()}
    if m.kind == "principal_tag":
        out.add(_PTAG + m.values[0].lower())
    return out


def _probes(
    actions: Iterable[str],
    who_where: Iterable[tuple[Identity, Instance]],
    circumstances: Iterable[Circumstances],
) -> Iterator[Probe]:
    cs = list(circumstances)
    ww = list(who_where)
    for action in actions:
        for identity, instance in ww:
            for circ in cs:
                yield Probe(action, identity, circ, instance)


# --------------------------------------------------------------------------- circumstances

_CIRCUMSTANCE_SLOTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("mfa", _MFA, ("mfa",)),
    ("source_ip", _IP, ("source_ip",)),
    ("current_time", _TIME, ("not_before", "not_after")),
    ("mfa_age", _AGE, ("mfa_max_age_seconds",)),
    ("org_id", _ORG, ("principal_org_ids",)),
    ("source_identity", _SOURCE_IDENTITY, ("source_identity",)),
)
"""Each circumstance: its `Circumstances` field, its condition key, the `Requirements` fields
that read it. Every test of the group is a conjunction of one test per slot (a condition reads
one key; a requirement holds when each of its fields does), so the slots are merged one by one,
as the who/where components are."""


def _request_keys_from_intent(req: Requirements, c: _Collect) -> None:
    from lspolicy.diff.automata import glob_elements, literal_elements  # noqa: PLC0415

    if req.mfa_max_age_seconds is not None:
        c.ages.add(float(req.mfa_max_age_seconds))
    for org in req.principal_org_ids:
        c.patterns[_ORG].add(literal_elements(org))
    for value in req.source_identity:
        # a source identity cannot contain * or ?, so in the intent they are wildcards
        c.patterns[_SOURCE_IDENTITY].add(glob_elements(tokens_of(value)))


def _request_key_condition(c: _Collect, key: str, operator: str, values: Sequence[str]) -> None:
    """A policy's test on ``aws:MultiFactorAuthAge`` (numeric comparisons with constants) or on
    ``aws:PrincipalOrgID`` / ``aws:SourceIdentity`` (``StringEquals``/``StringLike`` and their
    negations: each value a regular language, classes found by automata)."""
    from lspolicy.diff.automata import glob_elements, literal_elements  # noqa: PLC0415

    op = operator.removesuffix("IfExists")
    for raw in values:
        template = parse_template(raw)
        if not template.is_literal:
            c.inexact(f"{operator} {key} value {raw!r} has a policy variable")
            continue
        if key == _AGE and op.startswith("Numeric"):
            number = parse_number(raw)
            if number is None:
                c.inexact(f"{operator} {key} value {raw!r}")
            else:
                c.ages.add(number)
        elif key != _AGE and op in ("StringEquals", "StringNotEquals"):
            c.patterns[key].add(literal_elements(template.resolve_text({}) or ""))
        elif key != _AGE and op in ("StringLike", "StringNotLike"):
            c.patterns[key].add(glob_elements(template.literal_tokens()))
        else:
            c.inexact(f"{operator} on {key} is not modelled")


def _number_reps(points: Iterable[float]) -> list[float]:
    """Each constant, a number strictly between neighbours, and one beyond each end."""
    ordered = sorted(set(points))
    if not ordered:
        return [3600.0]
    out = [ordered[0] - 1]
    for a, b in itertools.pairwise(ordered):
        out += [a, a + 1 if a + 1 < b else (a + b) / 2]
    return [*out, ordered[-1], ordered[-1] + 1]


def _pattern_reps(c: _Collect, key: str) -> list[str]:
    """One string per combination of the slot's string tests that some string passes: the
    product of their automata explored breadth first (`lspolicy.diff.automata.explore`), where
    characters no test names are interchangeable, so the search is exhaustive."""
    from lspolicy.diff.automata import ComplexityError, Product, SeqNFA, explore  # noqa: PLC0415

    patterns = sorted(c.patterns[key], key=repr)
    if not patterns:
        return ["probe-value"]
    nfas = [SeqNFA([p]) for p in patterns]

    def signature(state: tuple[Any, ...]) -> Signature:
        return tuple(a.accepts(s) for a, s in zip(nfas, state, strict=True))

    try:
        found = explore(Product(nfas), signature)
    except ComplexityError as exc:
        c.inexact(f"the string tests on {key} have too many classes ({exc})")
        found = exc.partial
    return sorted(found.values(), key=lambda t: (len(t), t))


def _circumstance_classes(signer: _Signer, c: _Collect) -> dict[Signature, Circumstances]:
    """The circumstances' merged representatives: per slot, its values merged by the slot's
    share of every test; then the slots' conjunctions, merged as they grow."""
    modelled = {f for _, _, fields in _CIRCUMSTANCE_SLOTS for f in fields}
    missing = sorted(set(Requirements.model_fields) - modelled)
    if missing:
        c.inexact(f"requirements {', '.join(missing)} are not modelled by the classes")
    reps: dict[str, list[Any]] = {
        "mfa": [True, False, None],
        "source_ip": [*_ip_reps(c.networks), None],
        "current_time": [*_time_reps(c.moments), None],
        "mfa_age": [*_number_reps(c.ages), None],
        "org_id": [*_pattern_reps(c, _ORG), None],
        "source_identity": [*_pattern_reps(c, _SOURCE_IDENTITY), None],
    }
    slot_of = {key: name for name, key, _ in _CIRCUMSTANCE_SLOTS}
    homes: list[str | None] = []
    for cond in signer.c_conditions:
        keys = {slot_of.get(k.lower()) for k in (cond.key, *cond.variable_keys)}
        if len(keys) != 1:
            c.inexact(f"a condition on {cond.condition.key} reads two request keys")
        homes.append(keys.pop() if len(keys) == 1 else None)
    # a condition on no circumstance key (``aws:TagKeys``, which the class requests never
    # carry) is the same for every circumstance: its value on a plain request, not True
    plain = Request("lightsail:StopInstance", "*", Circumstances().context()).context
    top: Signature = (
        *(
            bool(cond.holds(plain)) if homes[i] is None else True
            for i, cond in enumerate(signer.c_conditions)
        ),
        *(True for _ in signer.requirements),
    )
    states: dict[Signature, dict[str, Any]] = {top: {}}
    for name, _key, fields in _CIRCUMSTANCE_SLOTS:
        own = [Requirements(**{f: getattr(r, f) for f in fields}) for r in signer.requirements]
        merged: dict[Signature, Any] = {}
        for value in reps[name]:
            circ = Circumstances(**{name: value})
            context = Request("lightsail:StopInstance", "*", circ.context()).context
            sig = (
                *(
                    bool(cond.holds(context)) if homes[i] == name else True
                    for i, cond in enumerate(signer.c_conditions)
                ),
                *(signer.semantics._met(r, circ) for r in own),
            )
            merged.setdefault(sig, value)
        grown: dict[Signature, dict[str, Any]] = {}
        for state, chosen in states.items():
            for sig, value in merged.items():
                both = tuple(a and b for a, b in zip(state, sig, strict=True))
                grown.setdefault(both, {**chosen, name: value})
        states = grown
    return {sig: Circumstances(**chosen) for sig, chosen in states.items()}
