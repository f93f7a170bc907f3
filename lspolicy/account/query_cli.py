"""Registration of ``lspolicy query`` (imported only when the command runs or help is asked)."""

from __future__ import annotations

from lspolicy.account.review_cli import register_query as register

__all__ = ["register"]
