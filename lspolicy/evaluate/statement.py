"""Does a statement apply to a request? Action, resource, principal and conditions, compiled.

- Action / NotAction: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  (case-insensitive; ``*`` and ``?`` wildcards).
- Resource / NotResource: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  (ARNs are case-sensitive; ``*`` and ``?`` within a segment, a segment's trailing ``*`` may span
  colons (`lspolicy.evaluate.resource`); policy variables in 2012-10-17 policies; a variable
  without a value makes its entry match nothing).
- Condition: every operator block must hold, and within it every key (AND); values OR.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lspolicy.conditions.registry import OperatorRef, parse_operator
from lspolicy.evaluate.clause import CompiledCondition, compile_condition
from lspolicy.evaluate.principal import Caller, GrantKind, match_principal, not_principal_excludes
from lspolicy.evaluate.resource import ResourcePattern, compile_resource_pattern
from lspolicy.glob import STAR, Glob, Token, has_wildcard, tokens_of
from lspolicy.model.policy import Policy, Statement
from lspolicy.variables import parse_template

__all__ = ["CompiledStatement", "StatementTrace", "compile_statement"]

Context = Mapping[str, Sequence[str]]
Matcher = Callable[[str, Context], bool]
_MEMO_LIMIT = 1 << 16
_ACTION_MEMO_LIMIT = 1 << 12


@lru_cache(maxsize=4096)
def _resource_cached(tokens: tuple[Token, ...]) -> ResourcePattern:
    return compile_resource_pattern(tokens)


def _always(_value: str, _context: Context) -> bool:
    return True


@lru_cache(maxsize=_MEMO_LIMIT)
def _compile_actions(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Matcher over lower-cased action names (IAM action names are case-insensitive)."""
    exact: set[str] = set()
    globs: list[Glob] = []
    for raw in patterns:
        p = raw.lower()
        if p == "*":
            return lambda _a: True
        if "*" in p or "?" in p:
            globs.append(Glob(_tokens(p)))
        else:
            exact.add(p)
    frozen = frozenset(exact)
    if not globs:
        return frozen.__contains__
    gl = tuple(globs)
    # every principal's plans ask the same few action names of a shared matcher: remember them
    seen: dict[str, bool] = {}

    def match(a: str) -> bool:
        hit = seen.get(a)
        if hit is None:
            hit = a in frozen or any(g(a) for g in gl)
            if len(seen) < _ACTION_MEMO_LIMIT:
                seen[a] = hit
        return hit

    return match


def _tokens(text: str) -> list[Token]:
    return tokens_of(text)


ResourceShape = tuple[Any, ...]
"""How a resource matcher works, for the plan compiler: ``("any",)``, ``("exact", set)``,
``("memo", seen.get, matcher)`` or ``("dynamic",)``."""


_SHARED_LIMIT = 1 << 14
"""How many distinct Resource lists, and statements, the shared compilation caches hold."""
_RESOURCES: dict[tuple[tuple[str, ...], bool], tuple[Matcher, tuple[str, ...], ResourceShape]] = {}


def _compile_resources(
    patterns: tuple[str, ...], substitute: bool
) -> tuple[Matcher, tuple[str, ...], ResourceShape]:
    """Matcher over resource ARNs, the context keys its policy variables read, and its shape.

    Shared: one matcher (and its per-ARN memo) per distinct Resource list, whichever policy or
    principal it comes from; the cache holds at most ``_SHARED_LIMIT`` lists.
    """
    key = (patterns, substitute)
    hit = _RESOURCES.get(key)
    if hit is None:
        hit = _compile_resources_uncached(patterns, substitute)
        if len(_RESOURCES) >= _SHARED_LIMIT:
            _RESOURCES.clear()
        _RESOURCES[key] = hit
    return hit


def _compile_resources_uncached(
    patterns: tuple[str, ...], substitute: bool
) -> tuple[Matcher, tuple[str, ...], ResourceShape]:
    exact: set[str] = set()
    globs: list[ResourcePattern] = []
    templated = []
    keys: list[str] = []
    for raw in patterns:
        template = parse_template(raw, substitute=substitute)
        if not template.is_literal:
            templated.append(template)
            keys.extend(v.key for v in template.variables)
            continue
        tokens = template.literal_tokens()
        if not has_wildcard(tokens):
            exact.add("".join(t for t in tokens if isinstance(t, str)))
        elif len(tokens) == 1 and tokens[0] is STAR:  # "*"
            return _always, (), ("any",)
        else:
            globs.append(compile_resource_pattern(tokens))
    frozen = frozenset(exact)
    gl = tuple(globs)
    tp = tuple(templated)
    if not tp:
        if not gl:
            return (lambda r, _c: r in frozen), (), ("exact", frozen)
        # the same ARNs come back request after request: remember each verdict (bounded)
        seen: dict[str, bool] = {}

        def static(resource: str, _context: Context) -> bool:
            hit = seen.get(resource)
            if hit is None:
                hit = resource in frozen or any(g(resource) for g in gl)
                if len(seen) < _MEMO_LIMIT:
                    seen[resource] = hit
            return hit

        return static, (), ("memo", seen.get, static)

    def with_vars(resource: str, context: Context) -> bool:
        if resource in frozen or any(g(resource) for g in gl):
            return True
        for t in tp:
            tokens = t.resolve_tokens(context)
            if tokens is not None and _resource_cached(tuple(tokens))(resource):
                return True
        return False

    return with_vars, tuple(keys), ("dynamic",)


@dataclass(frozen=True, slots=True)
class StatementTrace:
    """Why a statement did or did not apply (for explanations; not on the hot path)."""

    action: bool
    resource: bool
    principal: bool
    failed: tuple[CompiledCondition, ...]
    missing_keys: tuple[str, ...]

    @property
    def applies(self) -> bool:
        return self.action and self.resource and self.principal and not self.failed


class StatementCore:
    """What a statement compiles to, shared by every policy set holding the same statement.

    Content-addressed: equal statements (same text, same place in the document, same Version
    semantics) compile once (`statement_core`); matchers and their memos are pure functions of
    the request, so sharing them changes no answer.
    """

    __slots__ = (
        "action_match",
        "condition_keys",
        "conditions",
        "predicate",
        "resource_match",
        "resource_negated",
        "resource_shape",
    )  # fmt: skip

    def __init__(self, statement: Statement, substitute: bool) -> None:
        self.predicate: Callable[..., bool] | None = None
        """``applies(resource, own, names, instance, principal)`` without the principal
        element (`codegen.statement_predicates`), generated once per core by
        `lspolicy.evaluate.codegen` (shared by every plan holding the statement)."""
        if statement.actions is not None:
            self.action_match = _compile_actions(statement.actions)
        else:
            inner = _compile_actions(statement.not_actions or ())
            self.action_match = lambda a: not inner(a)
        keys: list[str] = []
        self.resource_negated = False
        self.resource_match: Matcher
        self.resource_shape: ResourceShape
        if statement.resources is not None:
            self.resource_match, rkeys, self.resource_shape = _compile_resources(
                statement.resources, substitute
            )
        elif statement.not_resources is not None:
            inner_r, rkeys, self.resource_shape = _compile_resources(
                statement.not_resources, substitute
            )
            self.resource_negated = True
            self.resource_match = lambda r, c: not inner_r(r, c)
        else:  # resource-based policies may omit Resource: the policy's own resource
            self.resource_match, rkeys, self.resource_shape = _always, (), ("any",)
        keys.extend(rkeys)
        conds: list[CompiledCondition] = []
        for cond in statement.conditions:
            ref = parse_operator(cond.operator)
            assert isinstance(ref, OperatorRef), "the parser rejects unknown operators"
            compiled = compile_condition(cond, ref, substitute=substitute)
            conds.append(compiled)
            keys.append(compiled.key)
            keys.extend(compiled.variable_keys)
        self.conditions = tuple(conds)
        self.condition_keys = tuple(dict.fromkeys(keys))


_CORES: dict[tuple[Statement, bool], StatementCore] = {}


def statement_core(statement: Statement, substitute: bool) -> StatementCore:
    """The shared compilation of ``statement`` (bounded cache, content-addressed)."""
    key = (statement, substitute)
    core = _CORES.get(key)
    if core is None:
        core = StatementCore(statement, substitute)
        if len(_CORES) >= _SHARED_LIMIT:
            _CORES.clear()
        _CORES[key] = core
    return core


class CompiledStatement:
    """A statement ready to evaluate; ``policy``/``statement`` say where it came from."""

    __slots__ = (
        "action_match",
        "applies",
        "boundary_present",
        "condition_keys",
        "conditions",
        "core",
        "deny",
        "not_principal",
        "policy",
        "policy_index",
        "principal",
        "resource_match",
        "resource_negated",
        "resource_shape",
        "statement",
    )  # fmt: skip

    def __init__(
        self,
        policy: Policy,
        policy_index: int,
        statement: Statement,
        *,
        core: StatementCore | None = None,
    ) -> None:
        self.policy = policy
        self.policy_index = policy_index
        self.statement = statement
        self.deny = statement.effect == "Deny"
        if core is None:
            core = statement_core(statement, policy.substitutes_variables)
        self.core = core
        self.action_match = core.action_match
        self.resource_match = core.resource_match
        self.resource_shape = core.resource_shape
        self.resource_negated = core.resource_negated
        self.conditions = core.conditions
        self.condition_keys = core.condition_keys
        self.principal = statement.principal
        self.not_principal = statement.not_principal
        self.boundary_present = False
        self.applies = self._build_applies()

    def _build_applies(self) -> Callable[[str, Context, Caller | None], bool]:
        resource_match = self.resource_match
        holds = tuple(c.holds for c in self.conditions)
        principal = self.principal
        not_principal = self.not_principal
        if principal is None and not_principal is None:
            if not holds:
                return lambda r, c, _caller: resource_match(r, c)
            if len(holds) == 1:
                only = holds[0]
                return lambda r, c, _caller: resource_match(r, c) and only(c)
            if len(holds) == 2:
                first, second = holds
                return lambda r, c, _caller: resource_match(r, c) and first(c) and second(c)
            return lambda r, c, _caller: resource_match(r, c) and all(h(c) for h in holds)

        def applies(resource: str, context: Context, caller: Caller | None) -> bool:
            if self.grant(caller) is GrantKind.NONE:
                return False
            return resource_match(resource, context) and all(h(context) for h in holds)

        return applies

    def grant(self, caller: Caller | None) -> GrantKind:
        """How this statement's principal element names the caller (EVERYONE when it has none)."""
        if self.principal is not None:
            return match_principal(self.principal, caller)
        if self.not_principal is not None:
            if self.deny and self.boundary_present:
                # "will always deny any IAM principal that has a permissions boundary policy
                # attached, regardless of the values specified in the NotPrincipal element"
                # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
                return GrantKind.EVERYONE
            return (
                GrantKind.NONE
                if not_principal_excludes(self.not_principal, caller)
                else GrantKind.EVERYONE
            )
        return GrantKind.EVERYONE

    def trace(
        self, action: str, resource: str, context: Context, caller: Caller | None
    ) -> StatementTrace:
        """Check every part separately, for an explanation."""
        failed = tuple(c for c in self.conditions if not c.holds(context))
        missing = tuple(k for k in self.condition_keys if k not in context)
        return StatementTrace(
            action=self.action_match(action),
            resource=self.resource_match(resource, context),
            principal=self.grant(caller) is not GrantKind.NONE,
            failed=failed,
            missing_keys=missing,
        )


def compile_statement(policy: Policy, policy_index: int, statement: Statement) -> CompiledStatement:
    """Compile one statement of ``policy``."""
    return CompiledStatement(policy, policy_index, statement)
