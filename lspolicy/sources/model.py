"""What the source readers produce: policies found in a file, and problems found reading it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lspolicy.errors import Problem
from lspolicy.model.policy import PolicyKind
from lspolicy.parse.jsonpos import LoadedJson

__all__ = ["Extraction", "SourceFormat", "SourcePolicy"]

SourceFormat = Literal["terraform-plan", "terraform", "cloudformation"]


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """One IAM policy document found in an infrastructure file.

    ``loaded.spans`` are keyed by JSON paths *inside the document* (``Statement[0].Action``) and
    point at lines and columns of ``file``. ``symbolic`` holds a located note for every value
    that is not literal in the file (a reference, an intrinsic function, an interpolation); in
    ``loaded.value`` such a value is a placeholder (see `lspolicy.sources.symbolic`).
    """

    file: str
    name: str
    format: SourceFormat
    kind: PolicyKind
    loaded: LoadedJson
    attached_to: tuple[str, ...]
    symbolic: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Extraction:
    """Every policy in one file, and every problem (``code="source"``) met reading it."""

    format: SourceFormat
    policies: tuple[SourcePolicy, ...]
    problems: tuple[Problem, ...]
