"""What a rule sees of one policy: the model, where each part is in the text, and the catalog.

Rules read the typed model (`lspolicy.model.policy`), never raw JSON. The text, when there is
one, is loaded once more by the parse stage's own loader (`lspolicy.parse.jsonpos.load_json`)
only for what the model does not keep: the line and column of each action, resource and value,
and the document as written, which a fix patches so that the rest stays as the author wrote it.
Matching and evaluation go through the engine: `compile_condition`, `CompiledStatement`, the
catalog's action patterns.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from lspolicy.conditions.registry import OperatorRef, parse_operator
from lspolicy.evaluate.clause import CompiledCondition, compile_condition
from lspolicy.evaluate.statement import CompiledStatement
from lspolicy.glob import has_wildcard, tokens_of
from lspolicy.lightsail.catalog import SERVICE_PREFIX, Action, Catalog, load_catalog
from lspolicy.lint.finding import FindingLocation, Fix, FixSafety
from lspolicy.model.policy import Condition, Policy, SourceSpan, Statement
from lspolicy.parse.jsonpos import (
    JsonPath,
    JsonSyntaxError,
    LoadedJson,
    Span,
    format_path,
    load_json,
)
from lspolicy.services import ServiceAction, ServiceCatalog, load_services
from lspolicy.variables import Literal, parse_template

__all__ = [
    "JsonValue",
    "PolicyContext",
    "Report",
    "has_wildcard_value",
    "is_lightsail_action",
    "is_pattern",
    "move_condition",
    "remove_statement",
    "replace_entry",
]

JsonValue = object
"""A decoded JSON value (dicts, lists, strings, numbers, booleans, None)."""


@dataclass(frozen=True, slots=True)
class Report:
    """What a rule reports; the engine adds the rule's code, severity and title."""

    location: FindingLocation
    message: str
    sid: str | None = None
    hint: str | None = None
    fix: Fix | None = None
    related: tuple[FindingLocation, ...] = ()


def has_wildcard_value(value: str, *, substitute: bool) -> bool:
    """Whether a condition value has a ``*`` or ``?`` that a ``...Like`` operator reads as a
    wildcard: in the policy's own text, not from ``${*}`` or a substituted variable."""
    for part in parse_template(value, substitute=substitute).parts:
        if isinstance(part, Literal) and not part.escaped and has_wildcard(tokens_of(part.text)):
            return True
    return False


@dataclass(eq=False)
class PolicyContext:
    """One parsed policy, ready for rules. Build it with `PolicyContext.of`."""

    policy: Policy
    text: str | None
    catalog: Catalog
    spans: Mapping[JsonPath, Span]
    document: JsonValue
    _conditions: dict[tuple[int, int], CompiledCondition] = field(default_factory=dict)

    @classmethod
    def of(
        cls, policy: Policy, *, text: str | None = None, catalog: Catalog | None = None
    ) -> PolicyContext:
        """The context of ``policy``; ``text`` (the text it was parsed from) adds positions."""
        spans: Mapping[JsonPath, Span] = {}
        document: JsonValue = policy.to_json()
        if text is not None:
            try:
                loaded = load_json(text.lstrip("\ufeff"))
            except JsonSyntaxError:
                pass  # not the text this policy came from: keep the model's own spans
            else:
                spans, document = loaded.spans, loaded.value
        return cls(policy, text, catalog or load_catalog(), spans, document)

    @classmethod
    def of_loaded(
        cls, policy: Policy, loaded: LoadedJson, *, catalog: Catalog | None = None
    ) -> PolicyContext:
        """The context of a policy built from an already-located document, e.g. one read out of
        a terraform or CloudFormation file, whose spans point into that file."""
        return cls(policy, None, catalog or load_catalog(), loaded.spans, loaded.value)

    @property
    def file(self) -> str:
        """The policy's source name (its path, for files)."""
        return self.policy.source

    # -- where things are ------------------------------------------------------------------

    def _raw_statement(self, st: Statement) -> tuple[JsonPath, dict[str, JsonValue]]:
        doc = self.document
        raw = doc.get("Statement") if isinstance(doc, dict) else None
        if isinstance(raw, list) and st.index < len(raw) and isinstance(raw[st.index], dict):
            return ("Statement", st.index), raw[st.index]
        if isinstance(raw, dict):
            return ("Statement",), raw
        return ("Statement", st.index), {}

    def statement_path(self, st: Statement) -> JsonPath:
        """The JSON path of a statement: ``Statement[2]`` (or ``Statement`` when it is alone)."""
        return self._raw_statement(st)[0]

    def element_path(self, st: Statement, element: str, index: int | None = None) -> JsonPath:
        """The path of an element (``Action``) or of its ``index``-th entry."""
        path, raw = self._raw_statement(st)
        value = raw.get(element)
        if index is not None and isinstance(value, list):
            return (*path, element, index)
        return (*path, element)

    def condition_path(self, st: Statement, cond: Condition) -> JsonPath:
        """The path of a condition's values: ``Statement[0].Condition.StringLike.aws:TagKeys``."""
        return (*self.statement_path(st), "Condition", cond.operator, cond.key)

    def locate(self, path: JsonPath, fallback: SourceSpan | None = None) -> FindingLocation:
        """The location of ``path``: its own span when the text was given, else ``fallback``."""
        span = self.spans.get(path)
        if span is not None:
            return FindingLocation(
                self.file,
                format_path(path),
                span.line,
                span.column,
                span.end_line,
                span.end_column,
            )
        if fallback is not None:
            return FindingLocation(
                self.file,
                format_path(path),
                fallback.line,
                fallback.column,
                fallback.end_line,
                fallback.end_column,
            )
        return FindingLocation(self.file, format_path(path))

    def at_statement(self, st: Statement) -> FindingLocation:
        """The location of a whole statement."""
        return self.locate(self.statement_path(st), st.span)

    def at_element(self, st: Statement, element: str, index: int | None = None) -> FindingLocation:
        """The location of an element or one of its entries."""
        return self.locate(self.element_path(st, element, index), st.span)

    def at_condition(self, st: Statement, cond: Condition) -> FindingLocation:
        """The location of a condition's values."""
        return self.locate(self.condition_path(st, cond), cond.span or st.span)

    def at_top(self, element: str | None = None) -> FindingLocation:
        """The location of a top-level element (``Version``), or of the whole document."""
        path: JsonPath = (element,) if element and (element,) in self.spans else ()
        return self.locate(path)

    # -- fixes -----------------------------------------------------------------------------

    def fix(
        self,
        description: str,
        safety: FixSafety,
        edit: Callable[..., bool | None],
        *args: object,
    ) -> Fix | None:
        """A fix made by ``edit(document, *args)`` on a copy of the document as written; None
        when ``edit`` declines by returning False."""
        doc = copy.deepcopy(self.document)
        if not isinstance(doc, dict) or edit(doc, *args) is False:
            return None
        return Fix(description, json.dumps(doc, indent=2) + "\n", safety)

    def fix_statement(
        self,
        description: str,
        safety: FixSafety,
        st: Statement,
        edit: Callable[..., bool | None],
        *args: object,
    ) -> Fix | None:
        """A fix made by ``edit(statement_object, *args)`` on ``st`` in a copy of the document."""

        def on_statement(doc: dict[str, JsonValue]) -> bool | None:
            return edit(self.raw_statement_in(doc, st), *args)

        return self.fix(description, safety, on_statement)

    def raw_statement_in(self, doc: dict[str, JsonValue], st: Statement) -> dict[str, JsonValue]:
        """In a copy of the document, the statement object ``st`` was built from."""
        raw = doc.get("Statement")
        if isinstance(raw, list):
            item = raw[st.index]
            assert isinstance(item, dict)
            return item
        assert isinstance(raw, dict)
        return raw

    # -- the engine's view -----------------------------------------------------------------

    @cached_property
    def compiled(self) -> tuple[CompiledStatement, ...]:
        """Every statement compiled by the engine, in order."""
        return tuple(CompiledStatement(self.policy, 0, s) for s in self.policy.statements)

    def operator(self, cond: Condition) -> OperatorRef:
        """A condition's operator as the registry parses it (the parser already accepted it)."""
        ref = parse_operator(cond.operator)
        assert isinstance(ref, OperatorRef), "the parser rejects unknown operators"
        return ref

    def compiled_condition(self, st: Statement, index: int) -> CompiledCondition:
        """The engine's compiled form of ``st.conditions[index]``."""
        key = (st.index, index)
        got = self._conditions.get(key)
        if got is None:
            cond = st.conditions[index]
            got = compile_condition(
                cond, self.operator(cond), substitute=self.policy.substitutes_variables
            )
            self._conditions[key] = got
        return got

    def holds_when_missing(self, st: Statement, index: int) -> bool:
        """Whether the condition holds for a request whose context lacks its key."""
        return bool(self.compiled_condition(st, index).holds({}))

    @property
    def services(self) -> ServiceCatalog:
        """The all-service catalog (`lspolicy.services`), loaded on first use."""
        return load_services()

    def actions(self, pattern: str) -> tuple[ServiceAction, ...]:
        """The actions of any service an ``Action`` entry covers (the engine's matcher)."""
        return self.services.actions_matching(pattern)

    def lightsail_actions(self, pattern: str) -> tuple[Action, ...]:
        """The Lightsail actions an ``Action`` entry covers (the catalog's own matcher)."""
        return self.catalog.actions_matching(pattern)

    def statement_actions(self, st: Statement) -> tuple[Action, ...]:
        """Every Lightsail action a statement's ``Action`` or ``NotAction`` covers."""
        if st.actions is not None:
            seen: dict[str, Action] = {}
            for pattern in st.actions:
                for action in self.lightsail_actions(pattern):
                    seen.setdefault(action.name, action)
            return tuple(seen.values())
        excluded = {a.name for p in st.not_actions or () for a in self.lightsail_actions(p)}
        return tuple(a for a in self.catalog.actions.values() if a.name not in excluded)

    def statements(self) -> Iterator[Statement]:
        """The statements, in order."""
        return iter(self.policy.statements)


def replace_entry(stmt: dict[str, JsonValue], element: str, index: int, value: str) -> None:
    """In a statement object, set the ``index``-th entry of ``element`` (a string or a list)."""
    raw = stmt[element]
    if isinstance(raw, list):
        raw[index] = value
    else:
        stmt[element] = value


def move_condition(
    stmt: dict[str, JsonValue], cond: Condition, operator: str, key: str | None = None
) -> bool:
    """In a statement object, move a condition to another operator (and key name), keeping the
    block's order. Declines (False) when the target already tests that key: merging two value
    lists would turn AND into OR."""
    block = stmt.get("Condition")
    if not isinstance(block, dict):
        return False
    old = block.get(cond.operator)
    if not isinstance(old, dict) or cond.key not in old:
        return False
    new_key = key if key is not None else cond.key
    target = old if operator == cond.operator else block.get(operator)
    if target is not None and (not isinstance(target, dict) or new_key in target):
        return False
    if operator == cond.operator:
        old_items = [(new_key if k == cond.key else k, v) for k, v in old.items()]
        old.clear()
        old.update(old_items)
        return True
    value = old.pop(cond.key)
    if isinstance(target, dict):
        target[new_key] = value
    elif not old:  # the operator held only this key: rename it in place
        items = [(operator if k == cond.operator else k, v) for k, v in block.items()]
        block.clear()
        block.update(items)
        block[operator] = {new_key: value}
        return True
    else:
        block[operator] = {new_key: value}
    if not old:
        del block[cond.operator]
    return True


def remove_statement(doc: dict[str, JsonValue], st: Statement) -> bool:
    """Remove a statement from a document's ``Statement`` list (declines for a lone statement)."""
    raw = doc.get("Statement")
    if not isinstance(raw, list) or len(raw) < 2:
        return False
    del raw[st.index]
    return True


def is_pattern(entry: str) -> bool:
    """Whether an ``Action`` or ``Resource`` entry has a ``*`` or ``?`` wildcard."""
    return "*" in entry or "?" in entry


def is_lightsail_action(pattern: str) -> bool:
    """Whether an ``Action`` entry names Lightsail's service prefix (``lightsail:...``)."""
    service, colon, _ = pattern.partition(":")
    return bool(colon) and service.casefold() == SERVICE_PREFIX
