"""Intent -> identity policies: one per principal selector, split when IAM's size quota needs it.

What each construct becomes, and the AWS page that settles it:

- ``Version`` is always ``2012-10-17``: policy variables (``${aws:PrincipalTag/team}``) and the
  escapes ``${*}``/``${?}``/``${$}`` are only substituted under it
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html).
- ``Action`` lists exactly the actions the intent names (``lightsail:*`` only when written).
- ``Resource`` is ``arn:aws:lightsail:<region>:<account>:Instance/*`` per region (``*`` in the
  region segment when the intent gives none), or the ARN of each instance id: Lightsail
  instance ARNs carry the id
  (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies).
- A tag selector is ``aws:ResourceTag/<key>`` (Lightsail authorizes instance actions on the
  instance's tags: https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html):
  ``StringEquals`` for exact values and one-of lists (values of one key are ORed),
  ``StringLike`` with a trailing ``*`` for a prefix, and ``${aws:PrincipalTag/<k>}`` for "the
  caller's own tag" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-tags).
  "Not one of" is ``StringNotEquals`` with ``Null: false`` on the same key, and "the tag is
  present" is ``Null: false`` alone: a negated operator is true for a missing key, and an
  untagged instance is not what "env is not prod" means
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null).
  ``case_insensitive`` uses ``StringEqualsIgnoreCase``/``StringNotEqualsIgnoreCase``.
  An exclusion's ``principals`` become the same ``aws:PrincipalArn``/``aws:PrincipalTag``
  conditions on its Deny statements.
  Never ``...IfExists``: an instance without the tag would pass
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists).
  Literal text is escaped: ``$`` as ``${$}`` (it could start a variable), ``*`` and ``?`` as
  ``${*}``/``${?}`` (wildcards in ``StringLike``; the same literal characters in
  ``StringEquals``)
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars).
- Who: ``aws:PrincipalTag/<k>`` with the same operators, and ``aws:PrincipalArn`` for listed
  users and roles (for a role session AWS puts the role's ARN there)
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
  so a policy attached to the wrong principal grants nothing.
- Requirements on an Allow: ``Bool aws:MultiFactorAuthPresent true`` (absent for long-term
  access keys, so they are refused), ``IpAddress aws:SourceIp``, ``DateGreaterThanEquals`` /
  ``DateLessThanEquals aws:CurrentTime``
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent,
  #condition-keys-sourceip, #condition-keys-currenttime).
- An exclusion is explicit Deny statements (an explicit deny wins over every allow:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
  in every principal's policy and for the exclusion's whole action set (default: every action
  any grant of the intent gives, not only that principal's), so that it also guards Allows
  from policies attached elsewhere.
  ``unless: R1..Rn`` means "deny unless all of R hold" = "deny if any Ri fails", so one Deny per
  requirement, each with the requirement's negation: ``BoolIfExists aws:MultiFactorAuthPresent
  false`` (true also when the key is absent, as with long-term keys:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html),
  ``NotIpAddress aws:SourceIp`` (a negated operator is true for a missing key),
  ``DateLessThanIfExists`` / ``DateGreaterThanIfExists aws:CurrentTime``.
- ``mfa_max_age_seconds``, ``principal_org_ids`` and ``source_identity`` are
  `lspolicy.generate.request_keys`' table (``NumericLessThanEquals`` /
  ``NumericGreaterThanIfExists aws:MultiFactorAuthAge``, ``StringEquals`` / ``StringNotEquals
  aws:PrincipalOrgID``, ``StringEquals``/``StringLike`` and their negations on
  ``aws:SourceIdentity``), with the AWS pages there.
- ``guard_tags: true`` adds, after the exclusions and in every policy (every part too), the Deny
  ``GuardTagKeys`` on ``lightsail:TagResource``/``lightsail:UntagResource`` of the selectors' tag
  keys (``ForAnyValue:StringEqualsIgnoreCase aws:TagKeys``; `lspolicy.generate.tagwrites`).
- Size: IAM counts characters without white space; a managed policy takes 6,144, inline ones
  2,048 (user), 5,120 (group), 10,240 (role) per entity
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length).
  A managed policy that would be larger is split into parts that are attached together; each
  part carries every exclusion, so no part grants more than the intent on its own. Inline
  limits are per entity, so splitting cannot help and generation fails instead.

Output is deterministic: statements in intent order, lists sorted, condition operators and keys
sorted, pretty-printed with two spaces and a final newline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lspolicy.errors import Location, Problem
from lspolicy.generate import request_keys
from lspolicy.generate.intent import (
    MATCH_KINDS,
    UNLESS_SUFFIXES,
    ActionSet,
    Exclusion,
    Grant,
    InstanceSelector,
    Intent,
    IntentError,
    MatchKind,
    PrincipalSelector,
    Requirements,
    TagMatch,
    iso,
)
from lspolicy.generate.tagwrites import tag_write_guard
from lspolicy.lightsail.catalog import SERVICE_PREFIX
from lspolicy.model.policy import VERSION_2012, Policy
from lspolicy.parse import parse_policy

__all__ = [
    "GeneratedPolicy",
    "Generation",
    "GenerationError",
    "generate",
    "policy_size",
    "render",
]

MAX_POLICY_NAME = 128
"""IAM's limit on a managed policy's name."""
MANAGED_ATTACH_QUOTA = 10
"""Managed policies attached to one user or role by default (a quota increase allows 20)."""

Conditions = dict[str, dict[str, list[str]]]
"""operator -> condition key -> values."""


class GenerationError(IntentError):
    """The intent is valid but no policy within IAM's limits expresses it."""


# --------------------------------------------------------------------------- escaping


def literal(text: str) -> str:
    """Literal text for a string condition value: ``$`` could start a variable, ``*`` and ``?``
    are wildcards in ``StringLike`` (and, left bare in ``StringEquals``, look like a mistake
    to a reader and to lint rule LSP113), so all three are written as their escapes."""
    return "".join({"$": "${$}", "*": "${*}", "?": "${?}"}.get(c, c) for c in text)


# --------------------------------------------------------------------------- tables

MatchRender = Callable[[TagMatch], list[tuple[str, list[str]]]]


def _equal(m: TagMatch) -> list[tuple[str, list[str]]]:
    operator = "StringEqualsIgnoreCase" if m.case_insensitive else "StringEquals"
    return [(operator, [literal(v) for v in m.values])]


def _none_of(m: TagMatch) -> list[tuple[str, list[str]]]:
    # a negated operator is true for a missing key; Null false keeps untagged instances out
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null)
    operator = "StringNotEqualsIgnoreCase" if m.case_insensitive else "StringNotEquals"
    return [(operator, [literal(v) for v in m.values]), ("Null", ["false"])]


MATCH_RENDER: Mapping[MatchKind, MatchRender] = {
    "equals": _equal,
    "one_of": _equal,
    "prefix": lambda m: [("StringLike", [literal(m.values[0]) + "*"])],
    "principal_tag": lambda m: [("StringEquals", ["${aws:PrincipalTag/" + m.values[0] + "}"])],
    "not_one_of": _none_of,
    "present": lambda m: [("Null", ["false"])],
}
"""Each tag selector kind as ``(operator, values)`` pairs, all on its ``<prefix>Tag/<key>``
condition key (all must hold). ``case_insensitive`` takes IAM's ``StringEqualsIgnoreCase`` /
``StringNotEqualsIgnoreCase``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)."""

if set(MATCH_RENDER) != set(MATCH_KINDS):  # pragma: no cover - a table out of step at import
    raise RuntimeError("MATCH_RENDER must cover every MATCH_KINDS entry")

_MFA = "aws:MultiFactorAuthPresent"
_IP = "aws:SourceIp"
_TIME = "aws:CurrentTime"


def _require(req: Requirements) -> list[tuple[str, str, list[str]]]:
    """``(operator, key, values)`` that hold exactly when every requirement holds."""
    out: list[tuple[str, str, list[str]]] = []
    if req.mfa:
        out.append(("Bool", _MFA, ["true"]))
    if req.source_ip:
        out.append(("IpAddress", _IP, list(req.source_ip)))
    if req.not_before:
        out.append(("DateGreaterThanEquals", _TIME, [iso(req.not_before)]))
    if req.not_after:
        out.append(("DateLessThanEquals", _TIME, [iso(req.not_after)]))
    out += request_keys.required(req)
    return out


def _unmet(req: Requirements) -> list[tuple[str, str, str, list[str]]]:
    """``(sid suffix, operator, key, values)``: one condition per requirement, true exactly
    when that requirement fails (including when its key is absent)."""
    suffix = dict(zip(("mfa", "ip", "before", "after"), UNLESS_SUFFIXES[:4], strict=True))
    out: list[tuple[str, str, str, list[str]]] = []
    if req.mfa:
        out.append((suffix["mfa"], "BoolIfExists", _MFA, ["false"]))
    if req.source_ip:
        out.append((suffix["ip"], "NotIpAddress", _IP, list(req.source_ip)))
    if req.not_before:
        out.append((suffix["before"], "DateLessThanIfExists", _TIME, [iso(req.not_before)]))
    if req.not_after:
        out.append((suffix["after"], "DateGreaterThanIfExists", _TIME, [iso(req.not_after)]))
    out += request_keys.unmet(req)
    return out


# --------------------------------------------------------------------------- statements


@dataclass(slots=True)
class _Statement:
    sid: str
    effect: str
    actions: list[str]
    resources: list[str]
    conditions: Conditions = field(default_factory=dict)
    source: str = ""
    """The intent entry (``grants[0]``) it comes from."""

    def add(self, operator: str, key: str, values: Iterable[str]) -> None:
        block = self.conditions.setdefault(operator, {})
        if key in block:  # pragma: no cover - two selectors on one key are refused earlier
            raise AssertionError(f"{self.sid}: {operator} {key} given twice")
        block[key] = list(values)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": list(self.actions),
            "Resource": list(self.resources),
        }
        if self.conditions:
            out["Condition"] = {
                op: {k: list(block[k]) for k in sorted(block, key=lambda k: (k.casefold(), k))}
                for op, block in sorted(self.conditions.items())
            }
        return out


def _action_list(actions: ActionSet) -> list[str]:
    return [f"{SERVICE_PREFIX}:*"] if actions.every else list(actions.names)


def _resources(account: str, regions: Sequence[str], selector: InstanceSelector) -> list[str]:
    return sorted(
        f"arn:aws:lightsail:{region}:{account}:Instance/{instance}"
        for region in (regions or ("*",))
        for instance in (selector.ids or ("*",))
    )


def _tag_conditions(st: _Statement, prefix: str, matches: Iterable[TagMatch]) -> None:
    for m in matches:
        for operator, values in MATCH_RENDER[m.kind](m):
            st.add(operator, f"{prefix}/{m.key}", values)


def _principal_conditions(st: _Statement, who: PrincipalSelector) -> None:
    if who.arns:
        st.add("StringEquals", "aws:PrincipalArn", [literal(a) for a in who.arns])
    _tag_conditions(st, "aws:PrincipalTag", who.tags)


def _allow(intent: Intent, grant: Grant) -> _Statement:
    st = _Statement(
        sid=grant.sid,
        effect="Allow",
        actions=_action_list(grant.actions),
        resources=_resources(intent.account, grant.regions, grant.instances),
        source=grant.path,
    )
    _principal_conditions(st, grant.principals)
    _tag_conditions(st, "aws:ResourceTag", grant.instances.tags)
    for operator, key, values in _require(grant.require):
        st.add(operator, key, values)
    return st


def _denies(intent: Intent, exclusion: Exclusion, granted: ActionSet) -> list[_Statement]:
    actions = _action_list(exclusion.actions if exclusion.actions is not None else granted)
    resources = _resources(intent.account, exclusion.regions, exclusion.instances)

    def base(sid: str) -> _Statement:
        st = _Statement(
            sid=sid,
            effect="Deny",
            actions=actions,
            resources=resources,
            source=exclusion.path,
        )
        if exclusion.principals is not None:
            _principal_conditions(st, exclusion.principals)
        _tag_conditions(st, "aws:ResourceTag", exclusion.instances.tags)
        return st

    unmet = _unmet(exclusion.unless)
    if not unmet:
        return [base(exclusion.sid)]
    out = []
    for suffix, operator, key, values in unmet:
        st = base(exclusion.sid + suffix)
        st.add(operator, key, values)
        out.append(st)
    return out


def _tag_write_denies(intent: Intent) -> list[_Statement]:
    """``guard_tags``: the Deny on writing the selectors' tag keys (`lspolicy.generate.tagwrites`)."""
    guard = tag_write_guard(intent)
    if guard is None:
        return []
    conditions = {
        op: {key: [literal(v) for v in values] for key, values in block.items()}
        for op, block in guard.conditions.items()
    }
    return [
        _Statement(
            sid=guard.sid,
            effect="Deny",
            actions=list(guard.actions),
            resources=list(guard.resources),
            conditions=conditions,
            source="guard_tags",
        )
    ]


# --------------------------------------------------------------------------- documents


def render(statements: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], str]:
    """The policy document and its text: two-space indent, key order as built, final newline."""
    document = {"Version": VERSION_2012, "Statement": [dict(s) for s in statements]}
    return document, json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def policy_size(text: str) -> int:
    """Characters IAM counts against the quota: everything but white space."""
    return sum(1 for ch in text if not ch.isspace())


def _size(statements: Sequence[_Statement]) -> int:
    return policy_size(render([s.to_json() for s in statements])[1])


@dataclass(frozen=True, slots=True)
class GeneratedPolicy:
    """One generated policy document, for the principals of one selector."""

    name: str
    principals: PrincipalSelector
    part: int
    """1-based; ``parts`` > 1 when the policy had to be split."""
    parts: int
    document: Mapping[str, Any]
    text: str
    size: int
    limit: int
    grants: tuple[str, ...]
    """Sids of the grants it carries."""
    policy: Policy
    """The document parsed by lspolicy's own parser (which also checks the size quota)."""

    @property
    def filename(self) -> str:
        """``<name>.policy.json``."""
        return f"{self.name}.policy.json"


@dataclass(frozen=True, slots=True)
class Generation:
    """Every policy generated for an intent, with notes a reviewer should read."""

    intent: Intent
    policies: tuple[GeneratedPolicy, ...]
    notes: tuple[str, ...] = ()

    def groups(self) -> dict[PrincipalSelector, tuple[GeneratedPolicy, ...]]:
        """The policies of each principal selector (several when split), in order."""
        out: dict[PrincipalSelector, list[GeneratedPolicy]] = {}
        for p in self.policies:
            out.setdefault(p.principals, []).append(p)
        return {k: tuple(v) for k, v in out.items()}


def _names(intent: Intent, groups: Sequence[PrincipalSelector]) -> list[str]:
    if len(groups) == 1:
        return [intent.name]
    room = MAX_POLICY_NAME - len(intent.name) - 1 - len("-part99") - len("-99")
    names: list[str] = []
    for g in groups:
        base = f"{intent.name}-{g.slug()[: max(room, 1)].rstrip('-')}"
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def _halves(st: _Statement) -> tuple[_Statement, _Statement] | None:
    """Split a statement into two whose union means the same: along its Resource list, or the
    longest value list of a positive operator (values of one key are ORed)."""
    if len(st.resources) > 1:
        mid = len(st.resources) // 2
        return (
            _Statement(st.sid, st.effect, st.actions, st.resources[:mid], st.conditions, st.source),
            _Statement(st.sid, st.effect, st.actions, st.resources[mid:], st.conditions, st.source),
        )
    best: tuple[int, str, str] | None = None
    for op, block in st.conditions.items():
        if op not in ("StringEquals", "StringLike", "IpAddress"):
            continue  # negated and IfExists operators do not distribute over their values
        for key, values in block.items():
            if len(values) > 1 and (best is None or len(values) > best[0]):
                best = (len(values), op, key)
    if best is None:
        return None
    _, op, key = best
    values = st.conditions[op][key]
    mid = len(values) // 2

    def with_values(part: list[str]) -> _Statement:
        conditions = {o: dict(b) for o, b in st.conditions.items()}
        conditions[op][key] = part
        return _Statement(st.sid, st.effect, st.actions, st.resources, conditions, st.source)

    return with_values(values[:mid]), with_values(values[mid:])


def _as_piece(st: _Statement, digits: int) -> _Statement:
    """``st`` under the longest Sid a piece of it gets when no grant has more than
    ``10 ** digits - 1`` pieces (``Grant1Part9``, ``Grant1Part99``, ...)."""
    return _Statement(
        f"{st.sid}Part{'9' * digits}", st.effect, st.actions, st.resources, st.conditions, st.source
    )


def _unsplittable(
    st: _Statement, measured: _Statement, denies: list[_Statement], limit: int, where: Location
) -> Problem:
    """Why a piece of a grant that cannot be divided further fits in no part: too large on
    its own, or too large beside the exclusions every part carries (``measured``: the piece
    as it is measured, under its longest possible Sid)."""
    alone = _size([measured])
    if alone > limit:  # else it is the exclusions: it would fit without them
        return Problem(
            f"grant {st.sid} alone is {alone} characters and cannot be divided to fit the "
            f"{limit} a policy may have",
            where,
            code="generate",
        )
    taken = _size(denies)
    return Problem(
        f"grant {st.sid} does not fit beside the exclusions: every part carries all "
        f"{len(denies)} exclusion statements ({taken} characters), which leaves {limit - taken} "
        f"of the {limit} a policy may have, and a part holding the smallest piece of "
        f"{st.sid} with them takes {_size([measured, *denies])}",
        where,
        hint="exclude by tag rather than by long lists of ids: an exclusion's Resource list "
        "names each id in each of its regions, and each of its 'unless' conditions repeats "
        "that list in a Deny statement of its own",
        code="generate",
    )


def _atoms(
    allows: list[_Statement], denies: list[_Statement], limit: int, where: Location, digits: int
) -> list[_Statement]:
    """The allows, each divided (`_halves`) until it fits in a part beside every deny; a piece
    of a divided grant measured under its Sid with a number of ``digits`` digits."""
    atoms: list[_Statement] = []
    # (statement, whether it is a piece of a divided grant, whose Sid gets a number)
    pending = [(st, False) for st in allows]
    while pending:
        st, piece = pending.pop(0)
        measured = _as_piece(st, digits) if piece else st
        if _size([measured, *denies]) <= limit:
            atoms.append(st)
            continue
        halves = _halves(st)
        if halves is None:
            raise GenerationError((_unsplittable(st, measured, denies, limit, where),))
        pending[:0] = [(half, True) for half in halves]
    return atoms


def _split(
    name: str,
    allows: list[_Statement],
    denies: list[_Statement],
    limit: int,
    where: Location,
) -> list[list[_Statement]]:
    """Pack the allows into parts of at most ``limit`` characters, each with every deny."""
    if _size(denies) > limit:
        raise GenerationError(
            (
                Problem(
                    f"the exclusions alone take {_size(denies)} characters, over the {limit} "
                    f"a policy may have, so {name} cannot be split into parts that stay safe",
                    where,
                    hint="exclude by tag rather than by long lists of ids",
                    code="generate",
                ),
            )
        )
    # The pieces of a divided grant get numbered Sids once the division is done (Grant1Part1,
    # Grant1Part2, ...), so each piece is measured under the longest number it can get: first
    # one digit, and again with more if some grant came out in 10 pieces or more
    digits = 1
    while True:
        atoms = _atoms(allows, denies, limit, where, digits)
        counts: dict[str, int] = {}
        for st in atoms:
            counts[st.sid] = counts.get(st.sid, 0) + 1
        needed = len(str(max(counts.values(), default=1)))
        if needed <= digits:
            break
        digits = needed
    seen: dict[str, int] = {}
    for st in atoms:
        if counts[st.sid] > 1:
            seen[st.sid] = seen.get(st.sid, 0) + 1
            st.sid = f"{st.sid}Part{seen[st.sid]}"
    parts: list[list[_Statement]] = [[]]
    for st in atoms:
        if parts[-1] and _size([*parts[-1], st, *denies]) > limit:
            parts.append([])
        parts[-1].append(st)
    return [[*p, *denies] for p in parts]


def generate(intent: Intent) -> Generation:
    """The policies for ``intent``: one per principal selector (split when a managed policy
    would exceed IAM's quota). Raises `GenerationError` when no policy within IAM's limits
    can express it (an inline policy over its quota, a grant too large to divide)."""
    groups = intent.principal_groups()
    names = _names(intent, groups)
    limit = intent.size_limit
    root = Location(intent.source, "", 0, 0)
    policies: list[GeneratedPolicy] = []
    notes: list[str] = []
    granted_anywhere = intent.granted_actions()
    for exclusion in intent.exclusions:
        if exclusion.actions is not None and not exclusion.actions.every:
            idle = [
                a
                for a in exclusion.actions.names
                if not granted_anywhere.every and a not in granted_anywhere.names
            ]
            if idle:
                notes.append(
                    f"exclusion {exclusion.sid} names {', '.join(idle)}, which no grant gives: "
                    "its Deny stays as a guard against other policies"
                )
    for group, name in zip(groups, names, strict=True):
        grants = [g for g in intent.grants if g.principals == group]
        allows = [_allow(intent, g) for g in grants]
        # The exclusion's whole action set (default: every action *any* grant gives), not
        # this selector's share: a Deny is the only guard against Allows in other policies.
        denies = [st for e in intent.exclusions for st in _denies(intent, e, granted_anywhere)]
        denies += _tag_write_denies(intent)
        whole = _size([*allows, *denies])
        if whole <= limit:
            parts = [[*allows, *denies]]
        elif intent.attach_as != "managed":
            raise GenerationError(
                (
                    Problem(
                        f"the policy for {group.describe()} is {whole} characters, over the "
                        f"{limit} IAM allows for all {intent.attach_as} policies of one entity",
                        root,
                        hint="use attach_as: managed, which lspolicy can split across "
                        "several policies",
                        code="generate",
                    ),
                )
            )
        else:
            parts = _split(name, allows, denies, limit, root)
            part_names = [f"{name}-part{i}" for i in range(1, len(parts) + 1)]
            notes.append(
                f"the policy for {group.describe()} would be {whole} characters, over the "
                f"{limit} of a managed policy: split into {len(parts)} policies "
                f"({', '.join(part_names)}); attach all of them to the same principals. Each "
                "part repeats the exclusions, so none grants more than the intent on its own"
            )
            if len(parts) > MANAGED_ATTACH_QUOTA:
                notes.append(
                    f"{len(parts)} managed policies for {group.describe()} is more than the "
                    f"{MANAGED_ATTACH_QUOTA} IAM attaches to one user or role by default"
                )
        for i, statements in enumerate(parts, 1):
            part_name = name if len(parts) == 1 else f"{name}-part{i}"
            sids = [s.sid for s in statements]
            if len(set(sids)) != len(sids):  # pragma: no cover - guarded by intent checks
                raise AssertionError(f"duplicate Sid in {part_name}: {sids}")
            document, text = render([s.to_json() for s in statements])
            policy = parse_policy(
                text, source=f"{part_name}.policy.json", kind="identity", max_size=limit
            )
            policies.append(
                GeneratedPolicy(
                    name=part_name,
                    principals=group,
                    part=i,
                    parts=len(parts),
                    document=document,
                    text=text,
                    size=policy_size(text),
                    limit=limit,
                    grants=tuple(
                        dict.fromkeys(
                            g.sid for g in grants for s in statements if s.source == g.path
                        )
                    ),
                    policy=policy,
                )
            )
    return Generation(intent=intent, policies=tuple(policies), notes=tuple(notes))
