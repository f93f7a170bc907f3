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
from typing import TYPE_CHECKING, Any

from lspolicy.errors import LspolicyError

if TYPE_CHECKING:  # the engine's modules load only when the exports are read (not --review)
    from lspolicy.account.from_review import ReviewData
    from lspolicy.account.model import Instance
    from lspolicy.account.query import Access, Review

__all__ = [
    "DEFAULT_MAX_CHAIN",
    "WHAT_CAN_HELP",
    "WHO_CAN_HELP",
    "add_inputs",
    "run_what_can",
    "run_who_can",
]

EXIT_OK, EXIT_ERROR = 0, 2
DEFAULT_MAX_CHAIN = 5
"""`lspolicy.account.reach.DEFAULT_MAX_CHAIN`, here so that parsing the command line loads no
engine module (a test checks they are equal)."""
WHO_CAN_HELP = "every user and role that can perform ACTION on an instance, with the role chain"
WHAT_CAN_HELP = "every instance and action a user or role reaches, with the role chain"


class AccountUsageError(LspolicyError):
    """A command-line mistake or an input that matches nothing (exit 2)."""


def add_inputs(parser: argparse.ArgumentParser, *, review: bool = False) -> None:
    """The input options both commands take (``review``: also ``--review DIR``, the answers
    of a review's dataset instead of the exports)."""
    required = not review
    if review:
        parser.add_argument(
            "--review", metavar="DIR",
            help="answer from the dataset `lspolicy review --out DIR` wrote (DuckDB; fast), "
            "instead of reading the exports",
        )  # fmt: skip
    parser.add_argument(
        "--auth-details", nargs="+", required=required, metavar="FILE",
        help="aws iam get-account-authorization-details output (one or more files, pages)",
    )  # fmt: skip
    parser.add_argument(
        "--instances", nargs="+", required=required, metavar="FILE",
        help="aws lightsail get-instances output (one or more files, pages)",
    )  # fmt: skip
    parser.add_argument(
        "--organization", metavar="FILE",
        help="the organization file (lspolicy-organization/1): SCPs and their attachments",
    )  # fmt: skip
    parser.add_argument(
        "--max-chain", type=int, default=None if review else DEFAULT_MAX_CHAIN, metavar="N",
        help=f"roles in an assumption chain at most (default {DEFAULT_MAX_CHAIN})",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )


def _exports_or_review(args: argparse.Namespace) -> bool:
    """Whether to answer from ``--review``: either it, or the exports, never both."""
    if getattr(args, "review", None) is None:
        if not args.auth_details or not args.instances:
            raise AccountUsageError(
                "give the exports (--auth-details FILE... --instances FILE...) "
                "or a review's output (--review DIR)"
            )
        if args.max_chain is None:
            args.max_chain = DEFAULT_MAX_CHAIN
        return False
    given = [
        option
        for option, value in (
            ("--auth-details", args.auth_details),
            ("--instances", args.instances),
            ("--organization", args.organization),
            ("--max-chain", args.max_chain),
        )
        if value is not None
    ]
    if given:
        raise AccountUsageError(
            f"--review answers from the review's dataset: {', '.join(given)} cannot be given "
            "with it (the review's inputs are fixed; run `lspolicy review` again to change them)"
        )
    return True


def _load(args: argparse.Namespace) -> Review:
    from lspolicy.account.authdetails import read_auth_details  # noqa: PLC0415
    from lspolicy.account.instances import read_instances  # noqa: PLC0415
    from lspolicy.account.model import Inventory  # noqa: PLC0415
    from lspolicy.account.organization import read_organization  # noqa: PLC0415
    from lspolicy.account.query import Review  # noqa: PLC0415

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
        from lspolicy.services import load_services  # noqa: PLC0415

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


def _trailer(
    missing: list[dict[str, object]], notes: list[str]
) -> tuple[list[dict[str, object]], list[str], list[str]]:
    lines = [
        f"not evaluated: {m['name']}: {m['message']}"
        + (f" ({m['source']} {m['path']})" if m["source"] else "")
        for m in missing
    ]
    lines += [f"note: {n}" for n in notes]
    return missing, notes, lines


def _fail(exc: Exception) -> int:
    sys.stderr.write("".join(f"lspolicy: {line}\n" for line in str(exc).splitlines()))
    return EXIT_ERROR


def _open_review(args: argparse.Namespace) -> ReviewData:
    from lspolicy.account.from_review import ReviewData  # noqa: PLC0415

    return ReviewData(args.review)


def run_who_can(args: argparse.Namespace) -> int:
    """``lspolicy who-can ACTION --instance NAME_OR_ARN ...``."""
    try:
        if _exports_or_review(args):
            return _who_can_review(args)
        action = _action(args.action)
        review = _load(args)
        instance = _instance(review, args.instance)
        found = review.who_can(action, instance)
    except LspolicyError as exc:
        return _fail(exc)
    missing, notes, trailer = _trailer(review.not_evaluated(), review.notes())
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


def _who_can_review(args: argparse.Namespace) -> int:
    """``who-can --review DIR``: the review's rows for the action and instance."""
    with _open_review(args) as data:
        action = data.action(args.action)
        arn, name = data.instance(args.instance)
        found = data.who_can(action, arn)
        missing, notes, trailer = _trailer(data.not_evaluated(), data.notes())
    payload: dict[str, Any] = {
        "action": action,
        "instance": arn,
        "instance_name": name,
        "principals": [a.to_dict() for a in found],
        "not_evaluated": missing,
        "notes": notes,
        "review": args.review,
    }
    lines = [f"{action} on {name} ({arn}): {len(found)} principals"]
    for answer in found:
        lines += answer.text(answer.principal)
    _emit(payload, lines + trailer, args.format)
    return EXIT_OK


def _actions_given(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for group in args.actions or [] for a in group.split(",") if a))


def run_what_can(args: argparse.Namespace) -> int:
    """``lspolicy what-can PRINCIPAL_ARN ...``."""
    try:
        if _exports_or_review(args):
            return _what_can_review(args)
        from lspolicy.lightsail.context import INSTANCE_ACTIONS  # noqa: PLC0415

        actions = tuple(_action(a) for a in _actions_given(args)) or INSTANCE_ACTIONS
        review = _load(args)
        if (
            args.principal not in review.inventory.users
            and args.principal not in review.inventory.roles
        ):
            raise AccountUsageError(
                f"no user or role {args.principal!r} in the --auth-details files"
            )
        found = review.what_can(args.principal, actions)
    except LspolicyError as exc:
        return _fail(exc)
    missing, notes, trailer = _trailer(review.not_evaluated(), review.notes())
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


def _what_can_review(args: argparse.Namespace) -> int:
    """``what-can --review DIR``: the review's rows for the principal (default: every action
    the review decided)."""
    with _open_review(args) as data:
        actions = tuple(data.action(a) for a in _actions_given(args)) or data.actions
        principal = data.principal(args.principal)
        found = data.what_can(principal, actions)
        missing, notes, trailer = _trailer(data.not_evaluated(), data.notes())
    reaches = []
    for arn, name, action, answer in found:
        entry: dict[str, object] = {"instance": arn, "instance_name": name, "action": action}
        entry.update(answer.to_dict())
        entry.pop("arn", None)
        reaches.append(entry)
    payload: dict[str, Any] = {
        "principal": principal,
        "actions": list(actions),
        "reaches": reaches,
        "not_evaluated": missing,
        "notes": notes,
        "review": args.review,
    }
    lines = [f"{principal}: {len(found)} instance actions"]
    for arn, name, action, answer in found:
        lines += answer.text(f"{action} on {name} ({arn})")
    _emit(payload, lines + trailer, args.format)
    return EXIT_OK
