"""Lint configuration: which rules run, and suppressions — each with a required reason.

Where it is read from: the nearest ``lspolicy.toml`` (keys at its top level) or ``pyproject.toml``
with a ``[tool.lspolicy]`` table, looking from the linted path up to the filesystem root; in one
folder ``lspolicy.toml`` wins. Keys this module does not know are left to the rest of lspolicy
(the gate reads its own settings from the same table).

```toml
[tool.lspolicy]
select = ["LSP1", "LSP001"]   # codes, code prefixes, rule names, or "ALL" (default: every rule)
exclude = ["fixtures/", "*.generated.json"]   # gitignore-style, relative to this file's folder

[tool.lspolicy.ignore]        # rules switched off everywhere: code = "reason"
LSP118 = "our deploy tool adds the Version"

[[tool.lspolicy.per-path-ignores]]
path = "policies/legacy/*"    # fnmatch pattern, relative to the config file's folder
codes = ["LSP119", "LSP120"]
reason = "legacy policies, rewritten in #42"

[[tool.lspolicy.suppress]]    # one statement of one policy, by Sid
path = "policies/admin.json"
sid = "BreakGlass"
codes = ["LSP108"]
reason = "break-glass role; reviewed by security"
```

## Inline, per-statement suppression: a sidecar file keyed by file and Sid

IAM policies cannot hold comments, and a suppression must sit next to the policy in review and
carry a reason. The ways to mark a statement from inside the policy all fail one of those:

- a ``Sid`` suffix (``BreakGlassNoqaLSP108``): a Sid allows only letters and digits, so it has
  no room for a reason; and the Sid is deployed to AWS, shows up in ``MatchedStatements`` and
  CloudTrail, and is what other tooling keys on — renaming it to silence a linter changes the
  deployed policy;
- an extra element (``"_lspolicy": ...``) or a made-up condition: IAM rejects unknown elements,
  and a condition that is always true still changes the document AWS evaluates.

So the mark lives beside the policy: a ``.lspolicy.toml`` in the policy's folder, whose entries
name the file and the statement's Sid, the rules, and the reason. It is reviewed in the same pull
request as the policy, it moves with the folder, the policy deployed is byte-for-byte the policy
reviewed, and the gate's report shows each reason:

```toml
# policies/.lspolicy.toml
[[suppress]]
file = "admin.json"          # relative to this folder
sid = "BreakGlass"           # the statement; leave out to cover the whole file
codes = ["LSP108"]
reason = "break-glass role; reviewed by security 2024-05"
```

Statements are named by Sid, not position, because positions shift when a statement is added; a
statement without a Sid needs one to be suppressed. A suppressed finding is still returned, with
its reason (`Finding.suppressed`), so reports can show it; it does not fail the lint.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lspolicy.errors import LspolicyError
from lspolicy.lint.finding import Finding, Suppressed
from lspolicy.lint.registry import RULES, rule
from lspolicy.lint.tomlpos import entry_positions
from lspolicy.textfile import read_bounded

__all__ = [
    "GATE_CODES",
    "SIDECAR",
    "ConfigError",
    "LintConfig",
    "Suppression",
    "apply_suppressions",
    "code_matches",
    "find_config",
    "load_config",
    "load_sidecar",
    "path_matches",
]

SIDECAR = ".lspolicy.toml"
"""The per-folder file of statement suppressions."""

GATE_CODES = ("LSP901", "LSP902")
"""Findings the gate makes with ``--base`` (`lspolicy.gate.run`), not lint rules; suppressions
may name them (an intended widening is approved by suppressing LSP901 with a reason)."""


class ConfigError(LspolicyError):
    """A configuration file is malformed; the message lists every problem, with the file."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


@dataclass(frozen=True, slots=True)
class Suppression:
    """Findings of ``codes`` in files matching ``path`` (and, with ``sid``, in that statement)
    are suppressed for ``reason``."""

    codes: tuple[str, ...]
    reason: str
    path: str
    """An fnmatch pattern over the file's path relative to ``root`` (``/``-separated)."""
    root: Path
    sid: str | None = None
    origin: str = ""
    file: str = ""
    """The config file that holds it, and the 1-based line and column of its entry there."""
    line: int = 0
    column: int = 0

    def covers(self, finding: Finding) -> bool:
        """Whether this suppression applies to ``finding``."""
        if not any(code_matches(c, finding.code) for c in self.codes):
            return False
        if self.sid is not None and finding.sid != self.sid:
            return False
        return path_matches(self.path, finding.location.file, self.root)


@dataclass(frozen=True, slots=True)
class LintConfig:
    """Rule selection and suppressions. The default runs every rule and suppresses nothing."""

    select: tuple[str, ...] | None = None
    ignore: Mapping[str, str] = field(default_factory=dict)
    """Rules off everywhere: selector -> reason."""
    suppressions: tuple[Suppression, ...] = ()
    source: str | None = None
    """The file this came from (None: defaults, or built in code)."""
    sidecars: bool = True
    """Read ``.lspolicy.toml`` next to linted policies."""
    exclude: tuple[str, ...] = ()
    """Gitignore-style patterns of files and folders discovery does not read, relative to
    ``root`` (the config file's folder)."""
    root: Path | None = None

    def with_cli(self, *, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> LintConfig:
        """This config with ``--select``/``--ignore`` from the command line on top: a CLI select
        replaces the file's; a CLI ignore adds to it (reason: given on the command line)."""
        chosen = tuple(select) or self.select
        extra = dict.fromkeys(ignore, "--ignore on the command line")
        _check_selectors([*(chosen or ()), *extra], "the command line")
        return LintConfig(
            chosen,
            {**self.ignore, **extra},
            self.suppressions,
            self.source,
            self.sidecars,
            self.exclude,
            self.root,
        )


def code_matches(selector: str, code: str) -> bool:
    """Whether a rule selector (code, prefix, name or ``ALL``) selects ``code``."""
    found = rule(selector)
    if found is not None:
        return found.code == code
    if selector.upper() in GATE_CODES:
        return selector.upper() == code
    return selector.upper() == "ALL" or code.startswith(selector.upper())


def _relative(file: str, root: Path) -> str:
    path = Path(file)
    try:
        return PurePosixPath(path.resolve().relative_to(root.resolve())).as_posix()
    except ValueError:
        return PurePosixPath(path).as_posix()


def path_matches(pattern: str, file: str, root: Path) -> bool:
    """Whether ``file`` matches a suppression's pattern, relative to ``root``."""
    rel = _relative(file, root)
    return fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern.rstrip("/") + "/*")


def _selector_known(selector: str) -> bool:
    s = selector.strip()
    return (
        s.upper() == "ALL"
        or s.upper() in GATE_CODES
        or rule(s) is not None
        or (s.upper().startswith("LSP") and any(code.startswith(s.upper()) for code in RULES))
    )


def _check_selectors(selectors: Iterable[str], where: str) -> None:
    bad = [s for s in selectors if not isinstance(s, str) or not _selector_known(s)]
    if bad:
        raise ConfigError(where, [f"unknown rule selector {b!r}" for b in bad])


class _Reader:
    """Reads one table, collecting every problem before failing."""

    def __init__(self, source: str, text: str = "") -> None:
        self.source = source
        self.text = text
        self.problems: list[str] = []

    def strings(self, value: object, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{where} must be a non-empty list of strings")
            return ()
        for v in value:
            if not _selector_known(v):
                self.problems.append(f"{where}: unknown rule {v!r}")
        return tuple(value)

    def reason(self, value: object, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{where} needs a `reason`: say why the finding is acceptable")
            return ""
        return value.strip()

    def entries(self, value: object, where: str) -> list[tuple[str, Mapping[str, object]]]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problems.append(f"{where} must be an array of tables ([[{where}]])")
            return []
        return [(f"{where}[{i}]", v) for i, v in enumerate(value)]

    def suppressions(
        self, value: object, where: str, root: Path, *, file_key: str, needs_sid: bool
    ) -> list[Suppression]:
        out = []
        positions = entry_positions(self.text, where) if self.text else []
        for label, entry in self.entries(value, where):
            index = int(label.rpartition("[")[2].rstrip("]"))
            line, column = positions[index] if index < len(positions) else (0, 0)
            allowed = {file_key, "sid", "codes", "reason"}
            for key in entry:
                if key not in allowed:
                    self.problems.append(f"{label}: unknown key {key!r}")
            path = entry.get(file_key)
            if not isinstance(path, str) or not path:
                self.problems.append(f"{label} needs `{file_key}`")
                continue
            sid = entry.get("sid")
            if sid is not None and not isinstance(sid, str):
                self.problems.append(f"{label}: `sid` must be a string")
                sid = None
            if needs_sid and sid is None:
                self.problems.append(f"{label} needs `sid` (the statement to suppress)")
            codes = self.strings(entry.get("codes"), f"{label}.codes")
            reason = self.reason(entry.get("reason"), label)
            out.append(
                Suppression(
                    codes, reason, path, root, sid, f"{self.source} {label}", self.source,
                    line, column,
                )
            )  # fmt: skip
        return out

    def done(self) -> None:
        if self.problems:
            raise ConfigError(self.source, self.problems)


def config_from_table(
    table: Mapping[str, object], *, source: str, root: Path, text: str = ""
) -> LintConfig:
    """Read the lint keys of a ``[tool.lspolicy]`` table (or an ``lspolicy.toml``); ``text``,
    the file's text, gives each suppression its line and column."""
    r = _Reader(source, text)
    select = None
    if "select" in table:
        select = r.strings(table["select"], "select")
    ignore: dict[str, str] = {}
    raw_ignore = table.get("ignore", {})
    if not isinstance(raw_ignore, dict):
        r.problems.append('ignore must be a table of code = "reason"')
    else:
        for code, reason in raw_ignore.items():
            if not _selector_known(code):
                r.problems.append(f"ignore: unknown rule {code!r}")
            ignore[code] = r.reason(reason, f"ignore.{code}")
    suppressions = r.suppressions(
        table.get("per-path-ignores"), "per-path-ignores", root, file_key="path", needs_sid=False
    )
    for s in suppressions:
        if s.sid is not None:
            r.problems.append(f"{s.origin}: per-path-ignores take no `sid`; use [[suppress]]")
    suppressions += r.suppressions(
        table.get("suppress"), "suppress", root, file_key="path", needs_sid=True
    )
    exclude: tuple[str, ...] = ()
    raw_exclude = table.get("exclude", [])
    if not isinstance(raw_exclude, list) or not all(isinstance(x, str) for x in raw_exclude):
        r.problems.append("exclude must be a list of gitignore-style patterns (strings)")
    else:
        exclude = tuple(raw_exclude)
    r.done()
    return LintConfig(select, ignore, tuple(suppressions), source, exclude=exclude, root=root)


MAX_CONFIG_BYTES = 1 << 20
"""1 MiB: far above any configuration a person writes."""


def _read_toml(path: Path) -> dict[str, object]:
    try:
        # a regular file, bounded while read (a FIFO or /dev/zero is refused)
        return tomllib.loads(read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), [exc.strerror or str(exc)]) from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), ["not UTF-8 text (TOML is UTF-8)"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"invalid TOML: {exc}"]) from None


def _text(path: Path) -> str:
    """The file's text, for positions only (`_read_toml` has already read it as TOML)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def find_config(start: Path) -> Path | None:
    """The nearest ``lspolicy.toml``, or ``pyproject.toml`` with ``[tool.lspolicy]``, at or
    above ``start``."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        own = folder / "lspolicy.toml"
        if own.is_file():
            return own
        project = folder / "pyproject.toml"
        if project.is_file():
            tool = _read_toml(project).get("tool")
            if isinstance(tool, dict) and "lspolicy" in tool:
                return project
    return None


def load_config(path: Path | None = None, *, start: Path | None = None) -> LintConfig:
    """The config in ``path``, or the one `find_config` finds from ``start`` (default: the
    current folder); the defaults when there is none."""
    found = path if path is not None else find_config(start or Path.cwd())
    if found is None:
        return LintConfig()
    data = _read_toml(found)
    table: object = data
    if found.name == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("lspolicy", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise ConfigError(str(found), ["[tool.lspolicy] must be a table"])
    assert isinstance(table, dict)
    return config_from_table(table, source=str(found), root=found.parent, text=_text(found))


def load_sidecar(folder: Path) -> tuple[Suppression, ...]:
    """The statement suppressions of ``folder/.lspolicy.toml`` (none when it does not exist)."""
    path = folder / SIDECAR
    if not path.is_file():
        return ()
    data = _read_toml(path)
    r = _Reader(str(path), _text(path))
    for key in data:
        if key != "suppress":
            r.problems.append(f"unknown key {key!r}: a sidecar holds [[suppress]] entries")
    out = r.suppressions(data.get("suppress"), "suppress", folder, file_key="file", needs_sid=False)
    r.done()
    return tuple(out)


def apply_suppressions(
    findings: Iterable[Finding], suppressions: Iterable[Suppression]
) -> list[Finding]:
    """Mark each finding a suppression covers with that suppression's reason."""
    rules = tuple(suppressions)
    out = []
    for f in findings:
        hit = next((s for s in rules if s.covers(f)), None)
        if hit is not None and f.code != "LSP001":
            f = Finding(  # noqa: PLW2901 - a marked copy, findings are frozen
                f.code, f.severity, f.title, f.message, f.location, f.sid, f.hint, f.fix,
                f.related, Suppressed(hit.reason, hit.origin),
            )  # fmt: skip
        out.append(f)
    return out
