"""Which of a statement's resources its actions can act on, and the other way round.

Shared by `resource-fits-no-action` and `action-fits-no-resource`. A resource ARN fits an action
when it can match the ARN template of one of the action's resource types (the Service
Authorization Reference, through `lspolicy.services`); an action with no resource type, or with
none required, is also asked for with the resource ``*``
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html#resources_table).
Statements with `NotAction` or `NotResource`, action entries whose service part has a wildcard,
and actions that match nothing (reported by other rules) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from lspolicy.glob import compile_glob
from lspolicy.lint.arn_shape import arn_problems
from lspolicy.lint.context import PolicyContext, is_pattern
from lspolicy.model.policy import Statement
from lspolicy.services import ServiceAction
from lspolicy.sources.symbolic import MARK

__all__ = ["StatementFit", "statement_fit"]


@dataclass(frozen=True, slots=True)
class StatementFit:
    """For each ``Action`` entry (by index), the actions it covers; for each ``Resource``
    entry judged (by index), whether some covered action can act on it."""

    actions: dict[int, tuple[ServiceAction, ...]]
    resources: dict[int, bool]

    def usable(self, ctx: PolicyContext, st: Statement, action: ServiceAction) -> bool:
        """Whether some resource of the statement can be asked for with ``action``."""
        any_star = not any(r.required for r in action.resource_types)
        for r in st.resources or ():
            if any_star and compile_glob(r)("*"):
                return True
            if r.startswith("arn:") and ctx.services.resource_types_fitting(action, r):
                return True
        return False


def _fits(ctx: PolicyContext, arn: str, pairs: set[tuple[str, str]]) -> bool:
    return any(ctx.services.resource_type_fits(s, n, arn) for s, n in pairs)


def statement_fit(ctx: PolicyContext, st: Statement) -> StatementFit | None:
    """The fit of a statement, or None when this statement is not one to judge."""
    if st.actions is None or st.resources is None:
        return None
    if any(MARK in entry for entry in (*st.actions, *st.resources)):
        return None  # a value only deploy time decides (`lspolicy.sources.symbolic`): no verdict
    actions: dict[int, tuple[ServiceAction, ...]] = {}
    for i, entry in enumerate(st.actions):
        if is_pattern(entry.partition(":")[0]):
            return None
        covered = ctx.actions(entry)
        if covered:
            actions[i] = covered
    if not actions:
        return None
    pairs = {(a.service, rt.name) for c in actions.values() for a in c for rt in a.resource_types}
    lightsail_types = {r.arn_resource_prefix for r in ctx.catalog.resource_types.values()}
    resources: dict[int, bool] = {}
    for j, arn in enumerate(st.resources):
        if not arn.startswith("arn:") or arn_problems(ctx.services, arn):
            continue  # `*`, or an ARN `malformed-arn` reports
        parsed = ctx.catalog.parse_arn(arn)
        if (
            parsed is not None
            and not any(c in parsed.resource_type for c in "*?$")
            and parsed.resource_type not in lightsail_types
        ):
            continue  # `unknown-resource-type` reports it
        resources[j] = _fits(ctx, arn, pairs)
    return StatementFit(actions, resources)
