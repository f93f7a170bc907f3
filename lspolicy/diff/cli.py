"""Command-line parts of the diff, for `lspolicy.cli` to mount: argument parsing and output only.

- ``lspolicy diff OLD NEW`` (`register`): every kind of access one side grants and the other
  does not, each with a witness request; exit 0 when there is none, 1 when there are some,
  2 when a part could not be decided (and no difference was found) or the input is unusable.
- ``lspolicy check no-new-access OLD NEW`` and ``lspolicy check access-not-granted POLICY
  --action A [--resource ARN] [--tag k=v] [--context k=v] [--absent k]`` (`register_checks`):
  exit 0 PASS, 1 FAIL (with the counterexample), 2 UNKNOWN, usage error or unreadable input.

OLD, NEW and POLICY are a policy file, or a directory whose ``*.json`` files are the policies
attached to one principal. Names follow Access Analyzer's CheckNoNewAccess and
CheckAccessNotGranted (https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoNewAccess.html).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from lspolicy.budget import DEFAULT_TIMEOUT
from lspolicy.diff.compare import check_access_not_granted, check_no_new_access, diff_policies
from lspolicy.diff.result import CheckResult
from lspolicy.errors import LspolicyError
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.parse import parse_policy

__all__ = ["DiffUsageError", "main", "register", "register_checks"]

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
MAX_INPUT: Final = 16 << 20


class DiffUsageError(LspolicyError):
    """A command-line mistake or an unreadable input (exit code 2)."""


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_INPUT:
            raise DiffUsageError(f"{path}: larger than {MAX_INPUT} bytes")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DiffUsageError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DiffUsageError(f"{path}: not UTF-8 text") from None


def load_policies(where: str, kind: PolicyKind = "identity") -> list[Policy]:
    """The policies in a file, or in every ``*.json`` file of a directory (sorted by name)."""
    path = Path(where)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise DiffUsageError(f"{where}: no .json policy files in this directory")
    elif path.exists():
        files = [path]
    else:
        raise DiffUsageError(f"{where}: no such file or directory")
    return [parse_policy(_read(f), source=str(f), kind=kind) for f in files]


def _boundary(paths: Sequence[str] | None) -> list[Policy] | None:
    if not paths:
        return None
    out: list[Policy] = []
    for p in paths:
        out.extend(load_policies(p, "boundary"))
    return out


def _emit(payload: Any, lines: Sequence[str], fmt: str) -> None:
    if fmt == "json":
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")


# -- diff ---------------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    """``lspolicy diff OLD NEW``."""
    result = diff_policies(
        load_policies(args.old),
        load_policies(args.new),
        boundary_old=_boundary(args.boundary_old),
        boundary_new=_boundary(args.boundary_new),
        actions=args.action,
        timeout=args.timeout,
    )
    _emit(result.to_dict(), result.lines(), args.format)
    if result.differences:
        return EXIT_FINDINGS
    return EXIT_OK if result.exact else EXIT_ERROR


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of seconds")
    return value


def _timeout_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time budget of the exact decision (default {DEFAULT_TIMEOUT:g}); what is not "
        "decided by then is reported as undecided, exit 2, with what was decided",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="policy file, or a directory of policy files")
    parser.add_argument("new", metavar="NEW", help="policy file, or a directory of policy files")
    parser.add_argument(
        "--boundary-old", action="append", metavar="FILE", help="OLD's permissions boundary"
    )
    parser.add_argument(
        "--boundary-new", action="append", metavar="FILE", help="NEW's permissions boundary"
    )
    parser.add_argument(
        "--action",
        action="append",
        metavar="ACTION",
        help="compare only this action or pattern (repeatable; default: every action)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )
    _timeout_argument(parser)


def register(subparsers: Any) -> None:
    """Add ``diff`` to an ``add_subparsers()`` object; it sets ``run`` to its handler."""
    parser = subparsers.add_parser(
        "diff",
        help="what NEW allows that OLD denies and the reverse, each with a request proving it",
        description=(
            "Decide exactly which requests NEW allows that OLD denies, and the reverse, over "
            "every action, resource, tag and context value; print each kind of difference with "
            "a minimal request the engine confirms. Exit 0: no difference; 1: differences; "
            "2: undecided or unusable input."
        ),
    )
    _common(parser)
    parser.set_defaults(run=cmd_diff)


# -- checks -------------------------------------------------------------------------------------


def _finish(result: CheckResult, fmt: str) -> int:
    _emit(result.to_dict(), result.lines(), fmt)
    return result.exit_code


def cmd_no_new_access(args: argparse.Namespace) -> int:
    """``lspolicy check no-new-access OLD NEW``."""
    result = check_no_new_access(
        load_policies(args.old),
        load_policies(args.new),
        boundary_old=_boundary(args.boundary_old),
        boundary_new=_boundary(args.boundary_new),
        actions=args.action,
        timeout=args.timeout,
    )
    return _finish(result, args.format)


def _pairs(pairs: Sequence[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise DiffUsageError(f"{option} takes KEY=VALUE, found {pair!r}")
        out[key] = value
    return out


def cmd_access_not_granted(args: argparse.Namespace) -> int:
    """``lspolicy check access-not-granted POLICY... --action A``."""
    policies: list[Policy] = []
    for where in args.policy:
        policies.extend(load_policies(where))
    context: dict[str, str | None] = dict(_pairs(args.context, "--context"))
    context.update(dict.fromkeys(args.absent or ()))
    result = check_access_not_granted(
        policies,
        actions=args.action,
        boundary=_boundary(args.boundary),
        resources=args.resource,
        tags=_pairs(args.tag, "--tag"),
        context=context,
        timeout=args.timeout,
    )
    return _finish(result, args.format)


def register_checks(check_subparsers: Any) -> None:
    """Add ``no-new-access`` and ``access-not-granted`` to the ``check`` command's
    ``add_subparsers()`` object; each sets ``run`` to its handler."""
    nna = check_subparsers.add_parser(
        "no-new-access",
        help="fail when NEW allows a request OLD denies (prints the request)",
        description=(
            "PASS (exit 0) when NEW allows nothing OLD denies; FAIL (exit 1) with a "
            "counterexample request otherwise; exit 2 when undecided or on unusable input."
        ),
    )
    _common(nna)
    nna.set_defaults(run=cmd_no_new_access)
    ang = check_subparsers.add_parser(
        "access-not-granted",
        help="fail when the policy allows any request for the given actions (prints it)",
        description=(
            "PASS (exit 0) when no request for any of the actions (on any of the resources, "
            "on a resource with the tags) is allowed; FAIL (exit 1) with one that is; exit 2 "
            "when undecided or on unusable input."
        ),
    )
    ang.add_argument("policy", nargs="+", metavar="POLICY", help="policy file or directory")
    ang.add_argument(
        "--action",
        action="append",
        required=True,
        metavar="ACTION",
        help="an action or pattern that must not be allowed (repeatable)",
    )
    ang.add_argument(
        "--resource",
        action="append",
        metavar="ARN",
        help="only on this resource ARN or ARN pattern (repeatable)",
    )
    ang.add_argument(
        "--tag",
        action="append",
        metavar="KEY=VALUE",
        help="only on a resource with this tag (repeatable)",
    )
    ang.add_argument(
        "--context",
        action="append",
        metavar="KEY=VALUE",
        help="only requests whose context has this value (repeatable)",
    )
    ang.add_argument(
        "--absent",
        action="append",
        metavar="KEY",
        help="only requests without this context key (repeatable)",
    )
    ang.add_argument("--boundary", action="append", metavar="FILE", help="permissions boundary")
    _timeout_argument(ang)
    ang.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )
    ang.set_defaults(run=cmd_access_not_granted)


# -- stand-alone entry point (tests, and until lspolicy.cli mounts these) --------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lspolicy")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    check = sub.add_parser("check", help="CI checks")
    register_checks(check.add_subparsers(dest="check", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``diff`` / ``check no-new-access`` / ``check access-not-granted``; the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_ERROR if exc.code not in (0, None) else EXIT_OK
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except LspolicyError as exc:
        sys.stderr.write(f"lspolicy: {exc}\n")
        return EXIT_ERROR
