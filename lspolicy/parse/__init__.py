"""Policy text -> JSON with positions (`jsonpos`) -> typed model (`build`)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from lspolicy.errors import Location, PolicyParseError, Problem
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.parse.build import SIZE_LIMITS, build_policy
from lspolicy.parse.jsonpos import JsonSyntaxError, LoadedJson, format_path, load_json

__all__ = ["SIZE_LIMITS", "parse_policy"]

MAX_TEXT = 1 << 20  # 1 MiB: far above any AWS policy quota; a guard against runaway input


def parse_policy(
    document: str | bytes | Mapping[str, object] | object,
    *,
    source: str = "<input>",
    kind: PolicyKind = "identity",
    max_size: int | None = None,
) -> Policy:
    """Parse a policy document (JSON text, or an already-decoded JSON value) into the model.

    Raises `PolicyParseError` listing every problem, each with source, JSON path, line and
    column. ``max_size`` overrides AWS's size quota for ``kind`` (0 disables the check).
    """
    if not isinstance(document, (str, bytes)):
        # an already-decoded JSON value (json.load's result): re-encode it so that problems
        # are reported exactly as for text; a non-object is a policy problem, not a crash
        try:
            text = json.dumps(document)
        except (TypeError, ValueError) as exc:
            raise PolicyParseError(
                (Problem(f"policy is not a JSON value: {exc}", Location(source, "", 0, 0)),)
            ) from None
        document = text
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyParseError(
                (Problem(f"policy is not UTF-8 text: {exc.reason}", Location(source, "", 0, 0)),)
            ) from None
    if len(document) > MAX_TEXT:
        raise PolicyParseError(
            (
                Problem(
                    f"policy text is {len(document)} characters, over the {MAX_TEXT} lspolicy reads",
                    Location(source, "", 0, 0),
                ),
            )
        )
    text = document.lstrip("\ufeff")
    try:
        parsed: LoadedJson = load_json(text)
    except JsonSyntaxError as exc:
        where = Location(source, format_path(exc.path), exc.line, exc.column)
        raise PolicyParseError((Problem(f"invalid JSON: {exc.message}", where),)) from None
    return build_policy(parsed, source=source, kind=kind, text=text, max_size=max_size)
