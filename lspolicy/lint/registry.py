"""The lint rules, one per module in `lspolicy.lint.rules`, joined into the `RULES` table.

Each rule module holds one module-level ``RULE = Rule(...)`` and its docstring, which is the rule's
documentation (``lspolicy rule CODE`` prints it). The table is built when this module is imported;
a code or name registered twice, a module without ``RULE``, or a name that is not the module's
file name is an error then, not at lint time (habit 2 in STYLE.md; sqlglot's optimizer ``RULES``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType, ModuleType

from lspolicy.lint import rules as _rules_package
from lspolicy.lint.rule import Rule

__all__ = ["RULES", "collect_rules", "rule", "select_rules"]


def collect_rules(package: ModuleType) -> Mapping[str, Rule]:
    """Import every module of ``package`` and join their ``RULE`` objects into a table by code;
    a duplicate code or name, or a module without ``RULE``, raises `RuntimeError`."""
    by_code: dict[str, Rule] = {}
    names: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found = getattr(module, "RULE", None)
        if not isinstance(found, Rule):
            raise RuntimeError(f"lint rule module {info.name!r} has no module-level RULE")
        if found.name != info.name.replace("_", "-"):
            raise RuntimeError(
                f"lint rule {found.code} is named {found.name!r} in module {info.name!r}"
            )
        if found.code in by_code:
            raise RuntimeError(
                f"lint rule code {found.code} is registered twice "
                f"({by_code[found.code].name} and {found.name})"
            )
        if found.name in names:
            raise RuntimeError(f"lint rule name {found.name!r} is registered twice")
        by_code[found.code] = found
        names[found.name] = found.code
    return MappingProxyType(dict(sorted(by_code.items())))


RULES: Mapping[str, Rule] = collect_rules(_rules_package)
"""Every rule by code, in code order."""


def rule(code_or_name: str) -> Rule | None:
    """The rule with this code (``LSP101``, any case) or name (``unknown-action``), or None."""
    wanted = code_or_name.strip()
    found = RULES.get(wanted.upper())
    if found is not None:
        return found
    return next((r for r in RULES.values() if r.name == wanted.lower()), None)


def _matches(selector: str, r: Rule) -> bool:
    s = selector.strip()
    return s.upper() == "ALL" or r.code.startswith(s.upper()) or r.name == s.lower()


def select_rules(
    select: Sequence[str] | None = None, ignore: Iterable[str] = ()
) -> tuple[Rule, ...]:
    """The rules a selection enables: ``select`` (codes, code prefixes such as ``LSP1``, names,
    or ``ALL``; default every rule) minus ``ignore`` (the same forms)."""
    chosen = [r for r in RULES.values() if select is None or any(_matches(s, r) for s in select)]
    dropped = list(ignore)
    return tuple(r for r in chosen if not any(_matches(s, r) for s in dropped))
