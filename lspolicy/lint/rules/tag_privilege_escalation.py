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


def _principal_context(held: Sequence[_Held]) -> dict[str, ContextValue]:
    """Request keys that let the statements' other conditions hold, where that is easy to see:
    every policy variable gets a witness value; positive string, ARN and Bool conditions on
    non-tag keys get their first value."""
    context: dict[str, ContextValue] = {}
    for h in held:
        for cond in h.statement.conditions:
            for value in cond.values:
                for var in parse_template(
                    value, substitute=h.ctx.policy.substitutes_variables
                ).variables:
                    context.setdefault(var.name, _WITNESS)
    for h in held:
        for cond in h.statement.conditions:
            key = cond.key.casefold()
            if key.startswith((_RESOURCE_TAG, "aws:requesttag/", "aws:tagkeys")):
                continue
            spec = h.ctx.operator(cond).spec
            if spec.negated or not cond.values or cond.key in context:
                continue
            if spec.value_type in (ValueType.STRING, ValueType.ARN):
                got = _fill(cond.values[0], context, substitute=h.ctx.policy.substitutes_variables)
                if got is not None:
                    context[cond.key] = got
            elif spec.value_type is ValueType.BOOLEAN:
                context[cond.key] = cond.values[0].lower()
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
        for r in regions
        for a in accounts
    ]
    return literal + built


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


def _prove(
    rules: PolicySet,
    gate: _Held,
    cond: Condition,
    tagger: _Held,
    *,
    verb: str,
    actions: Sequence[Action],
) -> _Proof | None:
    catalog = gate.ctx.catalog
    tag = cond.key[len(_RESOURCE_TAG) :]
    base = _principal_context((gate, tagger))
    values = [
        v
        for v in (
            _fill(x, base, substitute=gate.ctx.policy.substitutes_variables) for x in cond.values
        )
        if v is not None
    ]
    wanted = [*dict.fromkeys([*values, _WITNESS])]
    principal = Request(f"lightsail:{verb}", "*", base).context
    tried: set[tuple[str, str]] = set()
    for action in actions[:8]:
        for rtype in (r.name for r in action.resource_types):
            for arn in _candidate_arns(catalog, rtype, (gate, tagger)):
                if (action.name, arn) in tried:
                    continue
                tried.add((action.name, arn))
                if not (
                    gate.compiled.resource_match(arn, principal)
                    and tagger.compiled.resource_match(arn, principal)
                ):
                    continue
                befores: list[str | None] = [None, _OTHER, *values]
                afters: list[str | None] = list(wanted) if verb == "TagResource" else [None]
                for before in befores:
                    for after in afters:
                        if before == after:
                            continue
                        if _escalates(
                            rules,
                            tagger,
                            action=action,
                            verb=verb,
                            arn=arn,
                            tag=tag,
                            base=base,
                            before=before,
                            after=after,
                        ):
                            return _Proof(action, verb, arn, before, after)
    return None


def _escalates(
    rules: PolicySet,
    tagger: _Held,
    *,
    action: Action,
    verb: str,
    arn: str,
    tag: str,
    base: dict[str, ContextValue],
    before: str | None,
    after: str | None,
) -> bool:
    key = f"aws:ResourceTag/{tag}"
    now = dict(base) if before is None else {**base, key: before}
    if rules.is_allowed(Request(action.iam_name, arn, now)):
        return False  # already allowed: nothing gained
    tagging = {**now, "aws:TagKeys": [tag]}
    if verb == "TagResource":
        if after is None:
            return False
        tagging[f"aws:RequestTag/{tag}"] = after
    elif before is None:
        return False  # nothing to remove
    request = Request(f"lightsail:{verb}", arn, tagging)
    if not rules.is_allowed(request):
        return False
    if not tagger.compiled.applies(arn, request.context, None):
        return False  # allowed, but by another statement: that pair is reported on its own
    later = dict(base) if after is None else {**base, key: after}
    return rules.is_allowed(Request(action.iam_name, arn, later))


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
                v for v in _TAGGING if v in {a.name for a in h.ctx.statement_actions(h.statement)}
            ]
        )
    ]
    if not taggers:
        return
    rules = PolicySet([ctx.policy for ctx in contexts])
    for gate in held:
        for cond in gate.statement.conditions:
            if not cond.key.casefold().startswith(_RESOURCE_TAG):
                continue
            actions = _gated_actions(gate.ctx, gate.statement, cond.key)
            if not actions:
                continue
            for tagger, verbs in taggers:
                for verb in verbs:
                    proof = _prove(rules, gate, cond, tagger, verb=verb, actions=actions)
                    if proof is not None:
                        yield gate.ctx, _report(gate, cond, tagger, proof)
                        break


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
