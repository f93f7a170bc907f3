"""Which files under the paths to check are policies, policy tests, or policies' wrappers —
decided by each file's shape (`lspolicy.gate.kinds`), never by its name alone.

A folder is walked with the rules a person expects of a repository tool: tool folders
(``.venv``, ``node_modules``, ``.git``...) are never entered, ``.gitignore`` files are honoured
(with `pathspec`, which implements git's own matching), ``exclude`` patterns from the config and
the command line are honoured, a symlink to a folder outside the path is not followed, and an
unreadable folder is a problem, not a silent skip. Every file not read is recorded with the
reason, for ``--verbose`` and for the "nothing found" error.

A file named on the command line is read whatever its name or ignore rules say; one that is no
known kind is a problem saying what it looks like.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from lspolicy.errors import Location, Problem
from lspolicy.gate.kinds import (
    FILE_KINDS,
    NOT_JSON,
    TEST_SUFFIX,
    Candidate,
    EmbeddedPolicy,
    FileKind,
    looks_like,
    read_suffixes,
)
from lspolicy.parse.jsonpos import JsonSyntaxError, load_json
from lspolicy.textfile import MAX_INPUT_BYTES, NotRegularFileError, TooLargeError, read_bounded

__all__ = [
    "TOOL_FOLDERS",
    "Discovery",
    "ExcludeRule",
    "Skipped",
    "discover",
    "exclude_rules",
    "nothing_found_message",
]

TOOL_FOLDERS = frozenset(
    {".venv", "venv", "node_modules", ".git", "__pycache__", ".tox", ".terraform"}
)
"""Folders never entered: they hold other tools' files, never the policies under review."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file or folder not read, and why."""

    path: str
    reason: str
    category: str = "skipped"
    """A short name for the reason, for the summary (``tool folder``, ``not a policy``...)."""


@dataclass(frozen=True, slots=True)
class ExcludeRule:
    """Gitignore-style patterns relative to ``base``; ``origin`` names where they came from."""

    patterns: tuple[str, ...]
    base: Path
    origin: str


@dataclass(frozen=True, slots=True)
class Discovery:
    """What discovery found under the paths."""

    policy_files: tuple[Path, ...] = ()
    test_files: tuple[Path, ...] = ()
    embedded: tuple[EmbeddedPolicy, ...] = ()
    """Policies read out of wrapper files (SimulateCustomPolicy requests...)."""
    wrapper_files: tuple[Path, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    problems: tuple[Problem, ...] = ()
    """Unreadable folders and files, and files named on the command line that are no policy."""
    unread: tuple[Problem, ...] = ()
    """Policies inside source files that could not be read (see `Extraction.unread`)."""

    @property
    def empty(self) -> bool:
        """No policy and no test file was found (a policy that could not be read counts: it
        is reported, not taken for an empty run)."""
        return not (self.policy_files or self.test_files or self.embedded or self.unread)

    def skip_summary(self) -> str:
        """The reasons files were skipped, with counts (``3 not a policy by shape, ...``)."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.category] = counts.get(s.category, 0) + 1
        return ", ".join(f"{n} {why}" for why, n in counts.items()) or "nothing"


@dataclass
class _Found:
    policies: list[Path] = field(default_factory=list)
    tests: list[Path] = field(default_factory=list)
    embedded: list[EmbeddedPolicy] = field(default_factory=list)
    wrappers: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unread: list[Problem] = field(default_factory=list)

    def problem(
        self, path: Path | str, message: str, where: tuple[str, int, int] = ("", 0, 0)
    ) -> None:
        """An input problem about ``path``; ``where`` is its JSON path, line and column."""
        self.problems.append(Problem(message, Location(str(path), *where), code="discovery"))

    def skip(self, path: Path | str, reason: str, category: str) -> None:
        self.skipped.append(Skipped(str(path), reason, category))


@dataclass(frozen=True, slots=True)
class _Ignore:
    """One ``.gitignore`` (or exclude rule set), matching paths relative to ``base``."""

    spec: pathspec.GitIgnoreSpec
    base: Path
    origin: str

    def reason(self, path: Path, is_dir: bool) -> str | None:
        rel = os.path.relpath(os.path.abspath(path), self.base)
        if rel == ".." or rel.startswith(("../", "..\\")):
            return None
        rel = Path(rel).as_posix()
        result = self.spec.check_file(rel + "/" if is_dir else rel)
        if result.include is None:
            return None
        if not result.include:
            return ""  # re-included by a "!" pattern: decided, not ignored
        pattern = self.spec.patterns[result.index].pattern if result.index is not None else "?"
        return f"{self.origin} ({pattern!r})"


def _gitignore(folder: Path) -> _Ignore | None:
    file = folder / ".gitignore"
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return _Ignore(spec, Path(os.path.abspath(folder)), f"ignored by {file}")


def _outer_gitignores(root: Path) -> list[_Ignore]:
    """The ``.gitignore`` files above ``root`` up to its git checkout's top, outermost first."""
    here = Path(os.path.abspath(root))
    chain = [here, *here.parents]
    top = next((i for i, d in enumerate(chain) if (d / ".git").exists()), None)
    if top is None:
        return []
    found = (_gitignore(d) for d in reversed(chain[1 : top + 1]))
    return [g for g in found if g is not None]


def _decide(ignores: Sequence[_Ignore], path: Path, is_dir: bool) -> str | None:
    """The reason ``path`` is ignored, or None; the innermost rule that speaks decides."""
    for ig in reversed(ignores):
        why = ig.reason(path, is_dir)
        if why is not None:
            return why or None
    return None


def _candidate(path: Path, text: str) -> Candidate | JsonSyntaxError:
    """The file with its decoded JSON (`NOT_JSON` when it is not JSON), or the located limit
    error of JSON nested too deeply for Python's recursive decoder (a file of ``[[[[...`` is
    no kind of policy file, and must not end as an internal error)."""
    data: object = NOT_JSON
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError:
            data = NOT_JSON
        except RecursionError:
            try:
                load_json(text)  # bounded: fails, located, at its nesting limit
            except JsonSyntaxError as exc:
                return exc
            data = NOT_JSON  # pragma: no cover - json.loads recursed where load_json did not
    return Candidate(path, text, data)


def _kind_of(c: Candidate) -> FileKind | None:
    suffix_ok = [k for k in FILE_KINDS if c.path.name.endswith(k.suffixes)]
    return next((k for k in suffix_ok if k.sniff(c)), None)


def _read(path: Path, found: _Found, *, explicit: bool) -> str | None:
    try:
        return read_bounded(path, MAX_INPUT_BYTES).decode("utf-8")
    except (TooLargeError, NotRegularFileError) as exc:
        message = f"{exc.strerror}: not read"
        if explicit:
            found.problem(path, message)
        else:
            found.skip(
                path, message, "too large" if isinstance(exc, TooLargeError) else "not a file"
            )
        return None
    except UnicodeDecodeError:
        if explicit:
            found.problem(path, "not UTF-8 text")
        else:
            found.skip(path, "not UTF-8 text", "not text")
    except OSError as exc:
        found.problem(path, f"cannot read the file: {(exc.strerror or str(exc)).lower()}")
    return None


def _take(path: Path, found: _Found, *, explicit: bool, lenient: bool = False) -> None:
    """Read one file and file it under what it is."""
    if path.name.endswith(TEST_SUFFIX):
        found.tests.append(path)
        return
    if not explicit and not path.name.endswith(read_suffixes()):
        found.skip(path, "not a file kind lspolicy reads", "other files")
        return
    text = _read(path, found, explicit=explicit)
    if text is None:
        return
    c = _candidate(path, text)
    if isinstance(c, JsonSyntaxError):
        # the line and column say where; a path 64 levels deep would say nothing more
        found.problem(path, f"invalid JSON: {c.message}: not read", ("", c.line, c.column))
        return
    kind = _kind_of(c)
    if kind is None and explicit and (c.data is NOT_JSON and path.suffix != ".yaml"):
        kind = next(k for k in FILE_KINDS if k.role == "policy")  # the parser says what is wrong
    if kind is None:
        what = looks_like(c)
        if explicit and not lenient:
            found.problem(path, f"not a policy: this looks like {what}")
        else:
            found.skip(path, f"not a policy by shape: {what}", "not policies by shape")
        return
    if kind.role == "policy":
        found.policies.append(path)
    elif kind.role == "test":
        found.tests.append(path)
    elif kind.extract is None:
        if explicit:
            found.problem(path, f"{kind.description}: lspolicy cannot read this kind of file yet")
        else:
            found.skip(path, f"{kind.description}: not yet read", "not yet read")
    else:
        got = kind.extract(path, text)
        if got is None:
            found.skip(path, f"{kind.description}: could not be read", "unreadable")
            return
        found.wrappers.append(path)
        found.embedded.extend(got.policies)
        found.problems.extend(got.problems)
        found.unread.extend(got.unread)


def _walk(folder: Path, root: Path, ignores: list[_Ignore], seen: set[Path], found: _Found) -> None:
    own = _gitignore(folder)
    rules = [*ignores, own] if own is not None else ignores
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        found.problem(folder, f"cannot read the folder: {(exc.strerror or str(exc)).lower()}")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            is_dir = is_file = False
        if is_dir:
            if entry.name in TOOL_FOLDERS:
                found.skip(path, "tool folder, never entered", "tool folders")
                continue
            why = _decide(rules, path, is_dir=True)
            if why is not None:
                found.skip(path, why, _category(why))
                continue
            real = path.resolve()
            if entry.is_symlink() and not real.is_relative_to(root):
                found.skip(
                    path, f"symlink to a folder outside {str(root)!r}, not followed", "symlinks"
                )
                continue
            if real in seen:
                found.skip(path, "symlink to a folder already read, not followed", "symlinks")
                continue
            seen.add(real)
            _walk(path, root, rules, seen, found)
        elif is_file:
            why = _decide(rules, path, is_dir=False)
            if why is not None:
                found.skip(path, why, _category(why))
            elif entry.is_symlink() and not path.resolve().is_relative_to(root):
                # its text would be quoted in findings: a file outside PATH is not read
                found.skip(
                    path, f"symlink to a file outside {str(root)!r}, not followed", "symlinks"
                )
            else:
                _take(path, found, explicit=False)
        elif entry.is_symlink():
            found.skip(path, "broken symlink", "symlinks")
        else:
            found.skip(path, "not a regular file: not read", "not a file")


def _category(why: str) -> str:
    return "ignored by .gitignore" if why.startswith("ignored by") else "excluded"


def _exclude_ignores(rules: Iterable[ExcludeRule]) -> list[_Ignore]:
    return [
        _Ignore(
            pathspec.GitIgnoreSpec.from_lines(r.patterns), Path(os.path.abspath(r.base)), r.origin
        )
        for r in rules
        if r.patterns
    ]


def discover(
    paths: Sequence[str | Path],
    *,
    exclude: Sequence[ExcludeRule] = (),
    skip_named_non_policies: bool = False,
) -> Discovery:
    """Classify every file under ``paths`` (folders walked, files taken as named).

    Exclude rules apply below the folders given; ``.gitignore`` files apply from the git
    checkout's top down. A missing path is a problem, and so is a file named in ``paths`` that
    is no known kind — unless ``skip_named_non_policies`` (for hooks that pass every changed
    file), which skips it with the reason.
    """
    found = _Found()
    excludes = _exclude_ignores(exclude)
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            root = p.resolve()
            _walk(p, root, [*_outer_gitignores(p), *excludes], {root}, found)
        elif p.is_file():
            _take(p, found, explicit=True, lenient=skip_named_non_policies)
        elif p.exists():
            found.problem(p, "not a regular file (a FIFO, device or socket): not read")
        else:
            found.problem(p, "no such file or directory")
    return Discovery(
        tuple(dict.fromkeys(found.policies)),
        tuple(sorted(dict.fromkeys(found.tests))),
        tuple(found.embedded),
        tuple(dict.fromkeys(found.wrappers)),
        tuple(found.skipped),
        tuple(found.problems),
        tuple(found.unread),
    )


def exclude_rules(
    *,
    config: Sequence[str] = (),
    config_root: Path | None = None,
    config_source: str | None = None,
    cli: Sequence[str] = (),
) -> tuple[ExcludeRule, ...]:
    """The exclude rules of a config (relative to its folder) and of ``--exclude`` (relative
    to the current folder)."""
    rules = []
    if config:
        where = config_source or "the config"
        rules.append(ExcludeRule(tuple(config), config_root or Path.cwd(), f"excluded by {where}"))
    if cli:
        rules.append(ExcludeRule(tuple(cli), Path.cwd(), "excluded by --exclude"))
    return tuple(rules)


def nothing_found_message(paths: Sequence[str | Path], found: Discovery, what: str) -> str:
    """The error for a run that found nothing to check: the paths and what was skipped."""
    named = ", ".join(repr(str(p)) for p in paths)
    return (
        f"no {what} found under {named} (skipped: {found.skip_summary()}); "
        "--verbose lists every file skipped and why, --allow-empty accepts an empty run"
    )
