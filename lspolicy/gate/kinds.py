"""The table of file kinds discovery knows: how each is recognised (by shape, not by name) and
how its policies are read out of it.

Adding a kind is one `FileKind` entry in `FILE_KINDS`::

    FileKind(
        name="terraform-plan",                  # unique; a duplicate is an error at import
        description="terraform plan",           # used in messages: "terraform plan: not yet read"
        suffixes=(".json",),                    # files discovery reads to sniff (others: skipped)
        sniff=is_terraform_plan,                # (Candidate) -> bool, cheap, never raises
        extract=extract_terraform_plan,         # (Path, str) -> Extraction | None; None: not read
    )

The first kind whose sniff says yes decides; put narrow kinds before broad ones. A kind with
``extract=None`` is recognised and reported as skipped ("<description>: not yet read").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lspolicy.errors import Problem
from lspolicy.model.policy import PolicyKind
from lspolicy.parse.jsonpos import LoadedJson

__all__ = [
    "FILE_KINDS",
    "NOT_JSON",
    "TEST_SUFFIX",
    "Candidate",
    "EmbeddedPolicy",
    "Extraction",
    "FileKind",
    "kind_named",
    "looks_like",
    "read_suffixes",
]

TEST_SUFFIX = ".lspolicy-test.yaml"
POLICY_KEYS = frozenset({"Version", "Id", "Statement"})
IAM_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})


class _NotJson:
    """The parsed value of a candidate that is not JSON (a ``.tf``, YAML, or broken JSON)."""

    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON = _NotJson()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file discovery read to decide what it is: its text and, for JSON, its value."""

    path: Path
    text: str
    data: object
    """The parsed JSON value, or `NOT_JSON`."""


@dataclass(frozen=True, slots=True)
class EmbeddedPolicy:
    """A policy inside another file (a string of a SimulateCustomPolicy request, a document of
    an authorization-details dump): its own JSON text, and where it starts in the file."""

    file: str
    where: str
    """The JSON path of the document in the file, e.g. ``PolicyInputList[0]``."""
    line: int
    column: int
    text: str
    kind: PolicyKind = "identity"
    loaded: LoadedJson | None = None
    """For a policy read out of terraform or CloudFormation: the document with the span of every
    value *in the source file*, so findings point at the exact line and column there (``text``
    is then the source file's text)."""
    attached_to: tuple[str, ...] = ()
    """The principals (logical ids, terraform addresses) the policy is attached to, if known."""
    notes: tuple[Problem, ...] = ()
    """Located notes on values the file alone does not decide (symbolic, see
    `lspolicy.sources.symbolic`)."""


@dataclass(frozen=True, slots=True)
class Extraction:
    """What a file kind's extractor read: the policies, and the problems (located)."""

    policies: tuple[EmbeddedPolicy, ...] = ()
    problems: tuple[Problem, ...] = ()
    unread: tuple[Problem, ...] = ()
    """Policies of the file that could not be read (a policy terraform knows only after apply,
    a value no static reading decides, a malformed source): reported as findings (LSP002), so
    the gate never vouches for what it did not read."""


Sniff = Callable[[Candidate], bool]
Extract = Callable[[Path, str], "Extraction | None"]
Role = Literal["policy", "test", "wrapper"]


@dataclass(frozen=True, slots=True)
class FileKind:
    """One kind of file: its name, how to recognise it, and how to read its policies."""

    name: str
    description: str
    suffixes: tuple[str, ...]
    sniff: Sniff
    extract: Extract | None = None
    """Reads the policies out of a wrapper; None: recognised but not read yet."""
    role: Role = "wrapper"
    """``policy``: the file is one policy; ``test``: a policy test file; ``wrapper``: holds
    policies that ``extract`` reads out."""


def _is_test(c: Candidate) -> bool:
    return c.path.name.endswith(TEST_SUFFIX)


def _is_policy(c: Candidate) -> bool:
    """A top-level ``Statement`` and nothing but policy keys, or an IAM ``Version`` date (a
    policy with a mistake, which the parser then reports). Broken JSON that mentions
    ``"Statement"`` is a policy too: a syntax error must fail the gate, not hide the file."""
    if c.data is NOT_JSON:
        return c.path.suffix == ".json" and '"Statement"' in c.text
    if not isinstance(c.data, dict):
        return False
    if c.data.get("Version") in IAM_VERSIONS:
        return True
    return "Statement" in c.data and set(c.data) <= POLICY_KEYS


def _is_terraform_config(c: Candidate) -> bool:
    return c.path.suffix == ".tf"


def _is_cloudformation(c: Candidate) -> bool:
    if isinstance(c.data, dict):
        return "AWSTemplateFormatVersion" in c.data or (
            isinstance(c.data.get("Resources"), dict)
            and any(
                isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::")
                for r in c.data["Resources"].values()
            )
        )
    return c.data is NOT_JSON and (
        "AWSTemplateFormatVersion" in c.text or ("Resources:" in c.text and "Type: AWS::" in c.text)
    )


def _is_terraform_plan(c: Candidate) -> bool:
    """``terraform show -json`` output: a plan (``planned_values``) or a state (``values``)."""
    return (
        isinstance(c.data, dict)
        and "format_version" in c.data
        and any(k in c.data for k in ("planned_values", "values", "resource_changes"))
    )


def extract_source(path: Path, text: str) -> Extraction | None:
    """The policies of a terraform plan, ``.tf`` file or CloudFormation template
    (`lspolicy.sources`), each with its spans in the file and its symbolic notes."""
    from lspolicy.sources import extract  # noqa: PLC0415 - the readers load python-hcl2
    from lspolicy.sources.tree import LIMIT  # noqa: PLC0415

    got = extract(path, text)
    if got is None:
        return None
    policies = tuple(
        EmbeddedPolicy(
            file=sp.file,
            where=sp.name,
            line=min((s.line for s in sp.loaded.spans.values()), default=0),
            column=0,
            text=text,
            kind=sp.kind,
            loaded=sp.loaded,
            attached_to=sp.attached_to,
            notes=sp.symbolic,
        )
        for sp in got.policies
    )
    # A file past an input limit (an alias bomb, nesting, a huge number) is refused as input
    # (exit 2), like an unreadable file; other problems are findings about policies not read.
    refused = tuple(p for p in got.problems if p.code == LIMIT)
    unread = tuple(p for p in got.problems if p.code != LIMIT)
    return Extraction(policies, problems=refused, unread=unread)


def _kinds() -> tuple[FileKind, ...]:
    from lspolicy.gate.wrappers import (  # noqa: PLC0415 - wrappers import this module's types
        extract_authorization_details,
        extract_simulate_request,
        is_authorization_details,
        is_simulate_request,
    )

    return (
        FileKind("policy-test", "a policy test file", (TEST_SUFFIX,), _is_test, role="test"),
        FileKind("policy", "an IAM policy", (".json",), _is_policy, role="policy"),
        FileKind(
            "simulate-request",
            "a SimulateCustomPolicy request",
            (".json",),
            is_simulate_request,
            extract_simulate_request,
        ),
        FileKind(
            "authorization-details",
            "aws iam get-account-authorization-details output",
            (".json",),
            is_authorization_details,
            extract_authorization_details,
        ),
        FileKind(
            "terraform-plan",
            "terraform plan",
            (".json",),
            _is_terraform_plan,
            extract_source,
        ),
        FileKind(
            "terraform",
            "terraform configuration",
            (".tf",),
            _is_terraform_config,
            extract_source,
        ),
        FileKind(
            "cloudformation",
            "cloudformation template",
            (".json", ".yaml", ".yml", ".template"),
            _is_cloudformation,
            extract_source,
        ),
    )


def _checked(kinds: tuple[FileKind, ...]) -> tuple[FileKind, ...]:
    names = [k.name for k in kinds]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"file kinds named twice: {', '.join(dupes)}")
    return kinds


FILE_KINDS: tuple[FileKind, ...] = _checked(_kinds())


def kind_named(name: str) -> FileKind:
    """The kind called ``name`` (KeyError if none)."""
    return {k.name: k for k in FILE_KINDS}[name]


def read_suffixes() -> tuple[str, ...]:
    """The file-name endings some kind claims: the only files discovery opens."""
    return tuple(dict.fromkeys(s for k in FILE_KINDS for s in k.suffixes))


# What a JSON file that is no kind above most likely is, for the skip reason and the error for
# a file given by name: (test, description), first match wins.
_LOOKS_LIKE: tuple[tuple[Callable[[dict[str, object]], bool], str], ...] = (
    (lambda d: "$schema" in d or ("properties" in d and "type" in d), "a JSON Schema"),
    (
        lambda d: "name" in d and bool({"dependencies", "scripts", "devDependencies"} & set(d)),
        "an npm package.json",
    ),
    (lambda d: "compilerOptions" in d, "a TypeScript config"),
    (lambda d: "lockfileVersion" in d, "a package lock file"),
    (lambda d: "Statement" in d, "JSON with a Statement beside keys no policy has"),
)


def looks_like(c: Candidate) -> str:
    """What a candidate that is no known kind looks like, for messages."""
    if c.data is NOT_JSON:
        return "text that is neither JSON nor a policy test file (*.lspolicy-test.yaml)"
    if isinstance(c.data, dict):
        for test, what in _LOOKS_LIKE:
            if test(c.data):
                extra = sorted(set(c.data) - POLICY_KEYS) if what.startswith("JSON with") else []
                return what + (f" ({', '.join(repr(k) for k in extra)})" if extra else "")
        return "a JSON object without a top-level Statement"
    return f"a JSON {type(c.data).__name__.replace('list', 'array').replace('str', 'string')}"
