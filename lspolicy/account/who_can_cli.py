"""Registration of ``lspolicy who-can`` (imported only when the command runs or help is asked)."""

from __future__ import annotations

import argparse
from typing import Any

from lspolicy.account.cli import WHO_CAN_HELP, add_inputs, run_who_can

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``who-can`` to an ``add_subparsers()`` object; it sets ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "who-can",
        help=WHO_CAN_HELP,
        description="Every IAM user and role that can perform ACTION on one Lightsail instance, "
        "directly or by assuming roles, with the chain and the deciding statements, from "
        "AWS's own exports, or from a review's dataset (--review DIR: the stored answers, read "
        "with DuckDB). Exit 0 answer given (also when empty), 2 bad input.",
    )
    parser.add_argument("action", metavar="ACTION", help="e.g. lightsail:StopInstance")
    parser.add_argument(
        "--instance", required=True, metavar="NAME_OR_ARN", help="the instance's name or ARN"
    )
    add_inputs(parser, review=True)
    parser.set_defaults(run=run_who_can)
