"""The actions a diff ranges over, and the resources each can be asked for.

- Every Lightsail action in the catalog (`lspolicy.lightsail.catalog.load_catalog`). Its
  resource is an ARN of a resource type it lists,
  ``arn:<partition>:lightsail:<region>:<account>:<Type>/<id>`` (partition, region, account and
  id any non-empty text without ``:``), or ``*`` when it lists none or none as required
  (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html).
- Every other action name there is, in finitely many classes: two names are in one class when
  every ``Action``/``NotAction`` pattern of both policies matches both or neither (matching is
  case-insensitive, `lspolicy.evaluate.statement`). The classes are found exactly, over
  lower-case names that are not catalog actions, by `lspolicy.diff.domains`; their resource is
  any string.

Actions on which the same statements of both policies match, with the same kind of resource,
form one group: the diff is decided once per group.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from lspolicy.conditions.registry import OPERATORS
from lspolicy.diff.atoms import Atom, atom_from_tokens, sequence_atom, word_set_atom
from lspolicy.diff.automata import Element, glob_elements, literal_elements
from lspolicy.diff.domains import compute_domain
from lspolicy.diff.problem import RawStatement
from lspolicy.glob import tokens_of
from lspolicy.lightsail.catalog import Catalog, compile_action_pattern, load_catalog
from lspolicy.lightsail.context import INSTANCE_ACTIONS

__all__ = ["ActionGroup", "ResourceKind", "group_actions", "resource_kind"]

_EXAMPLE_ACTIONS: Final = (
    "ec2:StopInstances",
    "ec2:DescribeInstances",
    "s3:GetObject",
    "iam:PassRole",
    "sts:AssumeRole",
)
_EVERYDAY: Final = tuple(a.lower() for a in INSTANCE_ACTIONS)
_REGION: Final = "us-east-1"
_ACCOUNT: Final = "111122223333"


@dataclass(frozen=True, slots=True)
class ResourceKind:
    """What a request's resource can be for an action: ARNs of these types, and/or ``*``;
    ``free``: any string (actions of other services)."""

    types: tuple[str, ...]
    star: bool
    free: bool = False

    def required(self) -> list[tuple[Atom, bool]]:
        """The shape as an atom every resource must pass."""
        if self.free:
            return []
        branches: list[tuple[Element, ...]] = []
        word: tuple[Element, ...] = (("o", False), ("s", False))
        for prefix in self.types:
            branches.append(
                (
                    *literal_elements("arn:"),
                    *word,
                    *literal_elements(":lightsail:"),
                    *word,
                    ("l", ":"),
                    *word,
                    *literal_elements(f":{prefix}/"),
                    *word,
                )
            )
        if self.star:
            branches.append(literal_elements("*"))
        label = " or ".join([*(f"a lightsail {t} ARN" for t in self.types), *(["*"] * self.star)])
        return [(sequence_atom(f"resource:{self.types}:{self.star}", branches, label), True)]

    def candidates(self) -> list[str]:
        """Readable resources of this kind."""
        ordered = sorted(self.types, key=lambda t: t != "Instance")
        out = [f"arn:aws:lightsail:{_REGION}:{_ACCOUNT}:{t}/x" for t in ordered]
        if self.star or self.free:
            out.insert(0, "*") if self.free else out.append("*")
        return out


def resource_kind(catalog: Catalog, action_name: str) -> ResourceKind:
    """The resources a catalog action is asked for."""
    action = catalog.find_action(action_name)
    if action is None:
        return ResourceKind((), star=True, free=True)
    prefixes = tuple(
        sorted({catalog.resource_types[r.name].arn_resource_prefix for r in action.resource_types})
    )
    star = not prefixes or not action.required_resource_types
    return ResourceKind(prefixes, star=star)


@dataclass(frozen=True, slots=True)
class ActionGroup:
    """Actions on which the same statements match and whose resources are of one kind."""

    actions: tuple[str, ...]
    """Action names as a request spells them (for "other" classes: one example)."""
    representative: str
    statements: tuple[int, ...]
    """Indices (into the list given to `group_actions`) of the statements that match."""
    kind: ResourceKind
    other: bool = False
    """A class of action names outside the Lightsail catalog."""


def _preference(name: str, named: set[str]) -> tuple[int, int]:
    """Which action of a group shows its witness: one a policy names, then the everyday
    instance actions, then the first in alphabetical order (stable sort)."""
    lower = name.lower()
    if lower in named:
        return (0, 0)
    if lower in _EVERYDAY:
        return (1, _EVERYDAY.index(lower))
    return (2, 0)


def _patterns(st: RawStatement) -> tuple[str, ...]:
    s = st.compiled.statement
    return tuple(s.actions if s.actions is not None else s.not_actions or ())


def _named(statements: Iterable[RawStatement]) -> list[str]:
    """Action names the statements spell out, sorted (the same whichever side names them)."""
    out: set[str] = set()
    for st in statements:
        for p in _patterns(st):
            if "*" not in p and "?" not in p:
                out.add(p)
    return sorted(out)


def _other_classes(
    statements: Sequence[RawStatement], catalog: Catalog, within: Sequence[str] = ()
) -> list[tuple[str, tuple[int, ...]]]:
    """The classes of action names outside the catalog (only those matching one of the
    patterns ``within``, when given), each with an example and the statements matching it."""
    like = OPERATORS["StringLike"]
    atoms: dict[object, Atom] = {}
    for st in statements:
        for p in _patterns(st):
            atom = atom_from_tokens(like, tokens_of(p.lower()))
            if atom is not None:
                atoms.setdefault(atom.key, atom)
    ordered = sorted(atoms.values(), key=lambda a: a.sort_key)
    names = [a.iam_name.lower() for a in catalog.actions.values()]
    known = word_set_atom("lightsail-catalog", names, "a lightsail action")
    required: list[tuple[Atom, bool]] = [(known, False)]
    if within:
        branches = [glob_elements(tokens_of(p.lower())) for p in within]
        required.append((sequence_atom(f"within:{tuple(within)}", branches, "in scope"), True))
    display: dict[str, str] = {}
    for name in [*_named(statements), *_EXAMPLE_ACTIONS]:
        display.setdefault(name.lower(), name)
    for p in sorted({p for st in statements for p in _patterns(st)}):
        text = p.replace("*", "Example").replace("?", "X")
        display.setdefault(text.lower(), text)
    candidates = list(display)
    domain = compute_domain(ordered, required=required, candidates=candidates)
    out: list[tuple[str, tuple[int, ...]]] = []
    for c in domain.classes:
        name = display.get(c.rep, c.rep)
        matched = tuple(i for i, st in enumerate(statements) if st.compiled.action_match(c.rep))
        out.append((name, matched))
    return out


def group_actions(
    statements: Sequence[RawStatement],
    *,
    actions: Sequence[str] | None = None,
    catalog: Catalog | None = None,
) -> list[ActionGroup]:
    """Group the actions in scope (``actions``: names or patterns; None: every action) by
    the statements that match them and their resource kind."""
    catalog = catalog or load_catalog()
    named = {n.lower() for n in _named(statements)}
    per_action: list[tuple[str, ResourceKind, tuple[int, ...], bool]] = []
    if actions is None:
        names = sorted(a.iam_name for a in catalog.actions.values())
        for name, matched in _other_classes(statements, catalog):
            per_action.append((name, ResourceKind((), star=True, free=True), matched, True))
    else:
        names = []
        patterns = [given for given in actions if "*" in given or "?" in given]
        for given in actions:
            if given in patterns:
                pattern = compile_action_pattern(given)
                names.extend(
                    a.iam_name for a in catalog.actions.values() if pattern.matches(a.iam_name)
                )
            else:
                found = catalog.find_action(given)
                names.append(found.iam_name if found is not None else given)
        names = sorted(dict.fromkeys(names))
        if patterns:  # a pattern also covers the action names outside the catalog it matches
            for name, matched in _other_classes(statements, catalog, patterns):
                if name.lower() not in {n.lower() for n in names}:
                    kind = ResourceKind((), star=True, free=True)
                    per_action.append((name, kind, matched, True))
    for name in names:
        lower = name.lower()
        matched = tuple(i for i, st in enumerate(statements) if st.compiled.action_match(lower))
        per_action.append((name, resource_kind(catalog, name), matched, False))
    groups: dict[tuple[tuple[int, ...], ResourceKind, bool], list[tuple[str, bool]]] = {}
    for name, kind, matched, other in per_action:
        if not matched:
            continue  # no statement of either policy: denied on both sides
        groups.setdefault((matched, kind, other), []).append((name, other))
    out: list[ActionGroup] = []
    for (matched_by, kind, other), members in groups.items():
        names_in = tuple(n for n, _ in members)
        rep = min(names_in, key=lambda n: _preference(n, named))
        out.append(
            ActionGroup(
                actions=names_in,
                representative=rep,
                statements=matched_by,
                kind=kind,
                other=other,
            )
        )
    return sorted(out, key=lambda g: (g.other, g.representative.lower()))
