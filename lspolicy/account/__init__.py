"""Security review of real accounts: who can act on which Lightsail instance, and through which
role chain, from AWS's own exports.

- `lspolicy.account.authdetails`: ``aws iam get-account-authorization-details`` output.
- `lspolicy.account.instances`: ``aws lightsail get-instances`` output.
- `lspolicy.account.organization`: the ``lspolicy-organization/1`` file (SCPs and where they
  are attached).
- `lspolicy.account.decide`: one principal, one action, one resource: the engine's decision,
  with the rule for request-time keys the review cannot know.
- `lspolicy.account.reach`: which roles a principal reaches by ``sts:AssumeRole``, transitively.
- `lspolicy.account.query`: ``who-can`` and ``what-can``.
- `lspolicy.account.classes`, `lspolicy.account.review`: ``review``'s exact equivalence classes
  and its matrix, decided once per class pair; `lspolicy.account.parquet` (the dataset,
  expanded by DuckDB), `lspolicy.account.summary` (report.json, counted at class level by
  `lspolicy.account.report_sql`), `lspolicy.account.report_html`,
  `lspolicy.account.review_inputs` (inputs.json: each export's SHA-256).
- `lspolicy.account.from_review`: ``who-can --review`` and ``what-can --review``, the stored
  answers read back with DuckDB; `lspolicy.account.explain_cell`: ``explain --review``, one
  cell decided again by the engine from the recorded exports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lspolicy.account.model import AccountInputError, Inventory

__all__ = ["AccountInputError", "Inventory"]


def __getattr__(name: str) -> Any:
    """The exports on first use: importing a submodule (``who-can --review`` reads only a
    dataset) does not load the engine (PEP 562)."""
    if name in __all__:
        from lspolicy.account import model  # noqa: PLC0415

        return getattr(model, name)
    raise AttributeError(f"module 'lspolicy.account' has no attribute {name!r}")
