"""Registration of ``lspolicy what-can`` (imported only when the command runs or help is asked)."""

from __future__ import annotations

import argparse
from typing import Any

from lspolicy.account.cli import WHAT_CAN_HELP, add_inputs, run_what_can

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``what-can`` to an ``add_subparsers()`` object; it sets ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "what-can",
        help=WHAT_CAN_HELP,
        description="Every Lightsail instance and action a user or role reaches, directly or "
        "by assuming roles, with the chain, from AWS's own exports or from a review's dataset "
        "(--review DIR). Exit 0 answer given, 2 bad input.",
    )
    parser.add_argument("principal", metavar="PRINCIPAL_ARN", help="a user or role ARN")
    parser.add_argument(
        "--actions", action="append", metavar="ACTION[,ACTION...]",
        help="actions to check (default: the instance actions lspolicy knows; with --review, "
        "the actions the review decided)",
    )  # fmt: skip
    add_inputs(parser, review=True)
    parser.set_defaults(run=run_what_can)
