"""LSP111 tag-privilege-escalation: the principal can tag its way into access it does not have.

## What it does
Looks, across all the policies given together for one principal (and so within each policy),
for two Allow statements that combine:

1. a *gated* statement whose actions (`lightsail:StopInstance`, ...) depend on a resource tag —
   it has a condition on `aws:ResourceTag/<key>`;
2. a *tagging* statement allowing `lightsail:TagResource` or `lightsail:UntagResource` on the same
   resources without a constraint that stops the principal from writing that tag (on
   `aws:TagKeys` or `aws:RequestTag/<key>`).

A finding is a proof, not a guess: the rule builds a concrete resource both statements cover,
and asks the engine, over every policy of the principal (so any Deny counts), that (a) the
gated action is denied on the resource as it is, (b) the tagging request that sets (or removes)
the tag is allowed, and the tagging statement is one that allows it, and (c) the gated action is
allowed afterwards. The finding names both statements and the resource. When the rule cannot
construct such a request (conditions on other keys it cannot satisfy), it reports nothing.

## Why is this bad
Tag-based access control is only as strong as the control over the tags. A user who may stop
only instances tagged `team=<their team>`, and may tag any instance, can tag the production
database with their team and stop it.

## Example
```json
[{"Sid": "StopOwnTeam", "Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
 {"Sid": "TagInstances", "Effect": "Allow",
  "Action": ["lightsail:TagResource", "lightsail:UntagResource"], "Resource": "*"}]
```

## Use instead
Forbid writing the tags that grant access (or allow tagging only where access already holds):
```json
[{"Sid": "StopOwnTeam", "Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
 {"Sid": "TagInstances", "Effect": "Allow",
  "Action": ["lightsail:TagResource", "lightsail:UntagResource"], "Resource": "*",
  "Condition": {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["team"]}}}]
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-tag-keys
- https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lspolicy.conditions.base import ValueType
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.evaluate.statement import CompiledStatement
from lspolicy.lightsail.catalog import Action, Catalog
from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.model.policy import Condition, Statement
from lspolicy.model.request import ContextValue, Request
from lspolicy.variables import Literal, parse_template

_RESOURCE_TAG = "aws:resourcetag/"
_TAGGING = ("TagResource", "UntagResource")
_WITNESS = "lspolicy-witness"
_OTHER = "lspolicy-other"
_WITNESS_ID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
_DEFAULT_REGION, _DEFAULT_ACCOUNT = "us-east-1", "111122223333"
_PREFERRED = ("StopInstance", "RebootInstance", "DeleteInstance", "StartInstance")


@dataclass(frozen=True, slots=True)
class _Held:
    """A statement of the group, with its policy's context and the engine's compiled form."""

    ctx: PolicyContext
    statement: Statement
    compiled: CompiledStatement


def _fill(value: str, context: dict[str, ContextValue], *, substitute: bool) -> str | None:
    """A concrete string a condition value matches: wildcards dropped or filled, variables read
    from ``context`` (None when a variable has no value there)."""
    out: list[str] = []
    for part in parse_template(value, substitute=substitute).parts:
        if isinstance(part, Literal):
            out.append(part.text if part.escaped else part.text.replace("*", "").replace("?", "a"))
            continue
        got = context.get(part.name, context.get(part.key))
        if isinstance(got, str):
            out.append(got)
        elif part.default is not None:
            out.append(part.default)
        else:
            return None
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Wants:
    """What one statement's conditions ask of the principal's side of a request."""

    variables: tuple[str, ...]
    fills: tuple[tuple[str, str], ...]


def _wants(h: _Held) -> _Wants:
    substitute = h.ctx.policy.substitutes_variables
    variables = {
        var.name: None
        for cond in h.statement.conditions
        for value in cond.values
        for var in parse_template(value, substitute=substitute).variables
    }
    witness: dict[str, ContextValue] = dict.fromkeys(variables, _WITNESS)
    fills: dict[str, str] = {}
    for cond in h.statement.conditions:
        key = cond.key.casefold()
        if key.startswith((_RESOURCE_TAG, "aws:requesttag/", "aws:tagkeys")):
            continue
        spec = h.ctx.operator(cond).spec
        if spec.negated or not cond.values or cond.key in fills:
            continue
        if spec.value_type in (ValueType.STRING, ValueType.ARN):
            got = _fill(cond.values[0], witness, substitute=substitute)
            if got is not None:
                fills[cond.key] = got
        elif spec.value_type is ValueType.BOOLEAN:
            fills[cond.key] = cond.values[0].lower()
    return _Wants(tuple(variables), tuple(fills.items()))


def _principal_context(wants: Sequence[_Wants]) -> dict[str, ContextValue]:
    """Request keys that let the statements' other conditions hold, where that is easy to see:
    every policy variable gets a witness value; positive string, ARN and Bool conditions on
    non-tag keys get their first value (the first statement's, when two disagree)."""
    context: dict[str, ContextValue] = {}
    for w in wants:
        for name in w.variables:
            context.setdefault(name, _WITNESS)
    for w in wants:
        for key, value in w.fills:
            context.setdefault(key, value)
    return context


def _candidate_arns(catalog: Catalog, resource_type: str, held: Sequence[_Held]) -> list[str]:
    regions, accounts, literal = [_DEFAULT_REGION], [_DEFAULT_ACCOUNT], []
    for h in held:
        for pattern in h.statement.resources or ():
            parts = pattern.split(":", 5)
            if len(parts) != 6:
                continue
            if not any(c in parts[3] for c in "*?$") and parts[3] not in regions:
                regions.append(parts[3])
            if not any(c in parts[4] for c in "*?$") and parts[4] not in accounts:
                accounts.append(parts[4])
            if not any(c in pattern for c in "*?$") and catalog.resource_type_of(pattern):
                literal.append(pattern)
    built = [
        catalog.arn_for(resource_type, region=r, account=a, id=_WITNESS_ID)
        for r in regions[:_MAX_PARTS]
        for a in accounts[:_MAX_PARTS]
    ]
    return [*dict.fromkeys(literal[:_MAX_PARTS]), *built]


def _gated_actions(ctx: PolicyContext, st: Statement, tag_key: str) -> list[Action]:
    actions = [
        a
        for a in ctx.statement_actions(st)
        if a.name not in _TAGGING and ctx.catalog.supports_condition_key(a, tag_key)
    ]
    actions.sort(key=lambda a: (_PREFERRED.index(a.name) if a.name in _PREFERRED else 99, a.name))
    return actions


@dataclass(frozen=True, slots=True)
class _Proof:
    action: Action
    verb: str
    arn: str
    before: str | None
    after: str | None


@dataclass(frozen=True, slots=True)
class _Gain:
    """A resource state change that turns the gated action from denied to allowed."""

    action: Action
    arn: str
    before: str | None
    after: str | None


_MAX_GAINS = 24
_MAX_PARTS = 2
"""Candidate regions, accounts and literal ARNs tried per resource type: enough for the
resources one principal's policies name, bounded when many policies are linted together."""


def _gains(
    rules: PolicySet,
    gate: _Held,
    cond: Condition,
    *,
    base: dict[str, ContextValue],
    arns: Sequence[str],
    actions: Sequence[Action],
) -> list[_Gain]:
    """Tag changes on candidate resources that would give the principal the gated action: the
    engine denies the action before and allows it after (a tag set to a value, or removed)."""
    tag = cond.key[len(_RESOURCE_TAG) :]
    key = f"aws:ResourceTag/{tag}"
    substitute = gate.ctx.policy.substitutes_variables
    values = [v for v in (_fill(x, base, substitute=substitute) for x in cond.values) if v]
    afters: list[str | None] = [*dict.fromkeys([*values, _WITNESS]), None]
    befores: list[str | None] = [None, _OTHER, *values[:1]]
    principal = Request("lightsail:TagResource", "*", base).context
    out: list[_Gain] = []
    for action in actions[:2]:
        types = {r.name for r in action.resource_types}
        for arn in arns:
            rtype = gate.ctx.catalog.resource_type_of(arn)
            if rtype is None or rtype.name not in types:
                continue
            if not gate.compiled.resource_match(arn, principal):
                continue
            denied = [
                b
                for b in befores
                if not rules.is_allowed(
                    Request(action.iam_name, arn, base if b is None else {**base, key: b})
                )
            ]
            if not denied:
                continue
            for after in afters:
                state = base if after is None else {**base, key: after}
                if not rules.is_allowed(Request(action.iam_name, arn, state)):
                    continue
                out.extend(_Gain(action, arn, b, after) for b in denied if b != after)
                if len(out) >= _MAX_GAINS:
                    return out
    return out


def _tagging_allows(
    rules: PolicySet,
    tagger: _Held,
    *,
    verb: str,
    gain: _Gain,
    tag: str,
    base: dict[str, ContextValue],
) -> bool:
    """Whether ``tagger`` allows (and no Deny forbids) the tagging request that makes ``gain``."""
    if verb == "TagResource" and gain.after is None:
        return False
    if verb == "UntagResource" and (gain.before is None or gain.after is not None):
        return False
    now = dict(base) if gain.before is None else {**base, f"aws:ResourceTag/{tag}": gain.before}
    tagging: dict[str, ContextValue] = {**now, "aws:TagKeys": [tag]}
    if verb == "TagResource":
        assert gain.after is not None
        tagging[f"aws:RequestTag/{tag}"] = gain.after
    request = Request(f"lightsail:{verb}", gain.arn, tagging)
    if not tagger.compiled.resource_match(gain.arn, request.context):
        return False
    if not tagger.compiled.applies(gain.arn, request.context, None):
        return False  # allowed, if at all, by another statement: that pair is reported on its own
    return rules.is_allowed(request)


def check_group(contexts: Sequence[PolicyContext]) -> Iterator[tuple[PolicyContext, Report]]:
    """Prove escalations across the principal's policies; report each in the gated policy."""
    held = [
        _Held(ctx, st, compiled)
        for ctx in contexts
        for st, compiled in zip(ctx.policy.statements, ctx.compiled, strict=True)
        if st.effect == "Allow"
    ]
    taggers = [
        (h, verbs)
        for h in held
        if (
            verbs := [
                v
                for v in _TAGGING
                if any(a.name == v for a in h.ctx.statement_actions(h.statement))
            ]
        )
    ]
    if not taggers:
        return
    rules = PolicySet([ctx.policy for ctx in contexts])
    catalog = contexts[0].catalog
    everyone = [h for h, _ in taggers]
    wants = {id(h): _wants(h) for h in held}
    for gate in held:
        for cond in gate.statement.conditions:
            if not cond.key.casefold().startswith(_RESOURCE_TAG):
                continue
            actions = _gated_actions(gate.ctx, gate.statement, cond.key)
            if not actions:
                continue
            tag = cond.key[len(_RESOURCE_TAG) :]
            types = dict.fromkeys(r.name for a in actions[:2] for r in a.resource_types)
            arns = [a for t in types for a in _candidate_arns(catalog, t, (gate, *everyone))]
            shared: dict[tuple[tuple[str, str], ...], list[_Gain]] = {}
            for tagger, verbs in taggers:
                base = _principal_context((wants[id(gate)], wants[id(tagger)]))
                memo = tuple(sorted((k, str(v)) for k, v in base.items()))
                gains = shared.get(memo)
                if gains is None:
                    gains = _gains(rules, gate, cond, base=base, arns=arns, actions=actions)
                    shared[memo] = gains
                proof = next(
                    (
                        _Proof(g.action, verb, g.arn, g.before, g.after)
                        for verb in verbs
                        for g in gains
                        if _tagging_allows(rules, tagger, verb=verb, gain=g, tag=tag, base=base)
                    ),
                    None,
                )
                if proof is not None:
                    yield gate.ctx, _report(gate, cond, tagger, proof)


def _report(gate: _Held, cond: Condition, tagger: _Held, proof: _Proof) -> Report:
    tag = cond.key[len(_RESOURCE_TAG) :]
    where = "" if tagger.ctx is gate.ctx else f" ({tagger.ctx.file})"
    if proof.verb == "TagResource":
        shown = (
            next(
                (v for v in cond.values if "${" in v),
                proof.after,
            )
            if proof.after == _WITNESS
            else proof.after
        )
        step = f"tag it `{tag}={shown}`"
    else:
        step = f"remove its `{tag}` tag"
    return Report(
        gate.ctx.at_condition(gate.statement, cond),
        f"`{gate.statement.label}` allows `{proof.action.iam_name}` only by the `{tag}` tag, but "
        f"`{tagger.statement.label}`{where} lets the same principal `lightsail:{proof.verb}` "
        f"without limiting `aws:TagKeys` or `aws:RequestTag/{tag}`: it can {step} and then "
        f"`{proof.action.name}` `{proof.arn}`",
        gate.statement.sid,
        f"in `{tagger.statement.label}`, deny writing `{tag}`: "
        f'`"ForAllValues:StringNotEquals": {{"aws:TagKeys": ["{tag}"]}}`',
        related=(tagger.ctx.at_statement(tagger.statement),),
    )


RULE = Rule(
    code="LSP111",
    name="tag-privilege-escalation",
    severity=Severity.SECURITY,
    title="tag-gated access that the principal can grant itself by tagging",
    doc=__doc__ or "",
    check_group=check_group,
)
