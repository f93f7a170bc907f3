"""IAM policies read where teams keep them: terraform plans, ``.tf`` files, CloudFormation.

`extract` finds every policy document in one file, each with the spans of its values in that
file, the principals it is attached to, and a located note for every value the file alone does
not decide (see `lspolicy.sources.symbolic` for how such a value is carried). `policy_of` builds
the model from one of them; its errors point at lines and columns of the source file.
"""

from __future__ import annotations

from pathlib import Path

from lspolicy.model.policy import Policy
from lspolicy.parse.build import build_policy
from lspolicy.sources.model import Extraction, SourceFormat, SourcePolicy

# The readers (and python-hcl2 behind the .tf one) are imported when a file needs them, so that
# `lspolicy check` on loose JSON, and `lspolicy.sources.symbolic`, stay cheap to import.

__all__ = ["Extraction", "SourceFormat", "SourcePolicy", "extract", "policy_of", "sniff"]


def sniff(path: str | Path, text: str) -> SourceFormat | None:
    """Which source format ``text`` is, by its shape (``.tf`` by its suffix); ``None`` if none."""
    from lspolicy.sources.cloudformation import looks_like_cloudformation  # noqa: PLC0415
    from lspolicy.sources.terraform_plan import looks_like_terraform_plan  # noqa: PLC0415

    if str(path).endswith(".tf"):
        return "terraform"
    if looks_like_terraform_plan(text):
        return "terraform-plan"
    if looks_like_cloudformation(text):
        return "cloudformation"
    return None


def extract(path: str | Path, text: str) -> Extraction | None:
    """Every IAM policy in ``text`` (the content of ``path``); ``None`` when the file is none of
    the source formats. Problems reading the file are in `Extraction.problems`, never raised."""
    kind = sniff(path, text)
    file = str(path)
    if kind == "terraform":
        from lspolicy.sources.terraform_hcl import extract_terraform  # noqa: PLC0415

        return extract_terraform(file, text)
    if kind == "terraform-plan":
        from lspolicy.sources.terraform_plan import extract_terraform_plan  # noqa: PLC0415

        return extract_terraform_plan(file, text)
    if kind == "cloudformation":
        from lspolicy.sources.cloudformation import extract_cloudformation  # noqa: PLC0415

        return extract_cloudformation(file, text)
    return None


def policy_of(sp: SourcePolicy) -> Policy:
    """The model of ``sp``; raises `PolicyParseError` located in the source file."""
    return build_policy(sp.loaded, source=sp.file, kind=sp.kind)
