"""``lspolicy who-can`` and ``lspolicy what-can``: argument parsing and output only; the work is
in `lspolicy.account.query`.

Exit status: 0 the answer is given (also when no principal can); 2 usage error, an unreadable
or foreign input file, or an instance or principal that matches nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.instances import read_instances
from lspolicy.account.model import AccountInputError, Instance, Inventory
from lspolicy.account.organization import read_organization
from lspolicy.account.query import Access, Review
from lspolicy.account.reach import DEFAULT_MAX_CHAIN
from lspolicy.errors import LspolicyError
from lspolicy.lightsail.context import INSTANCE_ACTIONS
from lspolicy.services import load_services

__all__ = ["WHAT_CAN_HELP", "WHO_CAN_HELP", "add_inputs", "run_what_can", "run_who_can"]

EXIT_OK, EXIT_ERROR = 0, 2
WHO_CAN_HELP = "every user and role that can perform ACTION on an instance, with the role chain"
WHAT_CAN_HELP = "every instance and action a user or role reaches, with the role chain"


class AccountUsageError(LspolicyError):
    """A command-line mistake or an input that matches nothing (exit 2)."""


def add_inputs(parser: argparse.ArgumentParser) -> None:
    """The input options both commands take."""
    parser.add_argument(
        "--auth-details", nargs="+", required=True, metavar="FILE",
        help="aws iam get-account-authorization-details output (one or more files, pages)",
    )  # fmt: skip
    parser.add_argument(
        "--instances", nargs="+", required=True, metavar="FILE",
        help="aws lightsail get-instances output (one or more files, pages)",
    )  # fmt: skip
    parser.add_argument(
        "--organization", metavar="FILE",
        help="the organization file (lspolicy-organization/1): SCPs and their attachments",
    )  # fmt: skip
    parser.add_argument(
        "--max-chain", type=int, default=DEFAULT_MAX_CHAIN, metavar="N",
        help=f"roles in an assumption chain at most (default {DEFAULT_MAX_CHAIN})",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )


def _load(args: argparse.Namespace) -> Review:
    if args.max_chain < 0:
        raise AccountUsageError(f"--max-chain {args.max_chain}: give 0 or more")
    inv = Inventory()
    if args.organization:
        read_organization(args.organization, inv)
    read_auth_details(args.auth_details, inv)
    read_instances(args.instances, inv)
    return Review(inv, max_chain=args.max_chain)


def _action(text: str) -> str:
    service, colon, name = text.partition(":")
    if not colon or not service or not name:
        raise AccountUsageError(
            f"action {text!r} must be 'service:Action', e.g. 'lightsail:StopInstance'"
        )
    # an action no service defines would be an empty answer, read as "nobody can": an error
    if "*" not in text and "?" not in text:
        catalog = load_services()
        if catalog.find_action(text) is None:
            close = catalog.suggest_action(text, limit=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AccountUsageError(
                f"unknown action {text!r}: no AWS service defines it (catalog "
                f"{catalog.source.package} {catalog.source.version}){hint}"
            )
    return text


def _instance(review: Review, wanted: str) -> Instance:
    instances = review.inventory.instances
    if wanted in instances:
        return instances[wanted]
    named = [i for i in instances.values() if i.name == wanted]
    if len(named) == 1:
        return named[0]
    if named:
        arns = ", ".join(sorted(i.arn for i in named))
        raise AccountUsageError(
            f"instance name {wanted!r} matches several instances: {arns} (give the ARN)"
        )
    raise AccountUsageError(
        f"no instance named {wanted!r} in the --instances files ({len(instances)} instances read)"
    )


def _emit(payload: dict[str, object], lines: Sequence[str], fmt: str) -> None:
    if fmt == "json":
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")


def _text_access(access: Access, head: str, indent: str = "  ") -> list[str]:
    """``head`` (the principal, or the action and instance), how it is reached, and why."""
    via = " -> ".join(h.role for h in access.via)
    how = f"via {via}" if via else "directly"
    tag = " (allowed if the conditions below hold)" if access.conditional else ""
    lines = [f"{indent}{head}  {how}{tag}"]
    refs = ", ".join(
        s.label for s in access.final.statements if s.policy_kind in ("identity", "resource")
    )
    if refs:
        lines.append(f"{indent}  by {refs}")
    for hop in access.via:
        for c in hop.verdict.conditions:
            need = "holds" if c.statement.effect == "Allow" else "does not hold"
            lines.append(
                f"{indent}  if {c.condition.operator} {c.condition.key} {list(c.condition.values)} {need} (assuming {hop.role})"
            )
    for c in access.final.conditions:
        need = "holds" if c.statement.effect == "Allow" else "does not hold"
        lines.append(
            f"{indent}  if {c.condition.operator} {c.condition.key} {list(c.condition.values)} {need} ({c.statement.label})"
        )
    if access.incomplete:
        lines.append(f"{indent}  incomplete: not evaluated {', '.join(access.incomplete)}")
    return lines


def _trailer(review: Review) -> tuple[list[dict[str, object]], list[str], list[str]]:
    missing = review.not_evaluated()
    notes = review.notes()
    lines = [
        f"not evaluated: {m['name']}: {m['message']}"
        + (f" ({m['source']} {m['path']})" if m["source"] else "")
        for m in missing
    ]
    lines += [f"note: {n}" for n in notes]
    return missing, notes, lines


def run_who_can(args: argparse.Namespace) -> int:
    """``lspolicy who-can ACTION --instance NAME_OR_ARN ...``."""
    try:
        action = _action(args.action)
        review = _load(args)
        instance = _instance(review, args.instance)
        found = review.who_can(action, instance)
    except (AccountInputError, AccountUsageError) as exc:
        sys.stderr.write("".join(f"lspolicy: {line}\n" for line in str(exc).splitlines()))
        return EXIT_ERROR
    missing, notes, trailer = _trailer(review)
    payload: dict[str, Any] = {
        "action": action,
        "instance": instance.arn,
        "instance_name": instance.name,
        "principals": [a.to_dict() for a in found],
        "not_evaluated": missing,
        "notes": notes,
    }
    lines = [f"{action} on {instance.name} ({instance.arn}): {len(found)} principals"]
    for access in found:
        lines += _text_access(access, access.principal)
    _emit(payload, lines + trailer, args.format)
    return EXIT_OK


def run_what_can(args: argparse.Namespace) -> int:
    """``lspolicy what-can PRINCIPAL_ARN ...``."""
    try:
        actions = (
            tuple(_action(a) for group in args.actions or [] for a in group.split(",") if a)
            or INSTANCE_ACTIONS
        )
        review = _load(args)
        if (
            args.principal not in review.inventory.users
            and args.principal not in review.inventory.roles
        ):
            raise AccountUsageError(
                f"no user or role {args.principal!r} in the --auth-details files"
            )
        found = review.what_can(args.principal, actions)
    except (AccountInputError, AccountUsageError) as exc:
        sys.stderr.write("".join(f"lspolicy: {line}\n" for line in str(exc).splitlines()))
        return EXIT_ERROR
    missing, notes, trailer = _trailer(review)
    payload: dict[str, Any] = {
        "principal": args.principal,
        "actions": list(actions),
        "reaches": [
            {"instance": inst.arn, "instance_name": inst.name, "action": action, **acc.to_dict()}
            for inst, action, acc in found
        ],
        "not_evaluated": missing,
        "notes": notes,
    }
    for entry in payload["reaches"]:
        entry.pop("arn", None)
    lines = [f"{args.principal}: {len(found)} instance actions"]
    for inst, action, acc in found:
        lines += _text_access(acc, f"{action} on {inst.name} ({inst.arn})")
    _emit(payload, lines + trailer, args.format)
    return EXIT_OK
