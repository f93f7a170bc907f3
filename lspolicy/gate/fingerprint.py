"""Stable fingerprints of results, so code scanning keeps one alert per problem across commits.

GitHub code scanning decides whether two results are the same alert by their
``partialFingerprints`` (SARIF 2.1.0 §3.27.17; GitHub's "Providing data to track code scanning
alerts across runs",
https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning).
A fingerprint that moves with line numbers reopens dismissed alerts whenever a line is added
above them, so ours is made of what identifies the problem, never of where it happens to be:

``lspolicyFindingHash/v1`` = ``sha256(rule, file, anchor, message)[:32] + ":" + n`` where

- *rule* is the rule id (``LSP101``, ``LSP-TEST``...);
- *file* is the path relative to the repository root (`lspolicy.gate.repopath`);
- *anchor* names the place inside the file: the statement's ``Sid`` and the JSON path inside that
  statement (``sid:StopTypo/Action[1]``) when the statement has a Sid, so that adding or moving
  other statements does not change it; otherwise the JSON path (``Statement[0].Action[1]``);
  for a policy test case or property, its name;
- *message* is the message with whitespace collapsed, lowercased, and any ``line N``,
  ``column N`` or ``:line:col`` position taken out;
- *n* counts results with the same hash in one run (1, 2...), as CodeQL's
  ``primaryLocationLineHash`` does, so two identical problems in one place stay two alerts.

The parts are joined with NUL before hashing, so no part can run into the next.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

__all__ = ["FINGERPRINT_KEY", "Fingerprints", "anchor", "normalize_message"]

FINGERPRINT_KEY = "lspolicyFindingHash/v1"

_POSITION = re.compile(r"\b(?:line|column|col)\s+\d+\b|:\d+:\d+\b", re.IGNORECASE)
_STATEMENT = re.compile(r"^Statement(?:\[\d+\])?\.?")


def normalize_message(message: str) -> str:
    """The message without positions, whitespace collapsed, lowercased."""
    return " ".join(_POSITION.sub("", message).split()).lower()


def anchor(json_path: str, sid: str | None) -> str:
    """The place inside the file: ``sid:SID/inner.path`` with a Sid, else the JSON path."""
    if sid:
        inner = _STATEMENT.sub("", json_path, count=1)
        return f"sid:{sid}/{inner}"
    return json_path


class Fingerprints:
    """Hands out the fingerprints of one run (counting repeats of the same hash)."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def __call__(self, rule: str, file: str, where: str, message: str) -> dict[str, str]:
        """The ``partialFingerprints`` object of one result."""
        parts = (rule, file, where, normalize_message(message))
        digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]
        self._seen[digest] += 1
        return {FINGERPRINT_KEY: f"{digest}:{self._seen[digest]}"}
