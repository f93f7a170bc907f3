"""The ``lspolicy`` command: argument parsing and output formatting only.

Exit codes (as ruff and pytest use them): 0 clean, 1 findings or failed cases, 2 usage error,
unreadable or malformed input, or internal error. No stack trace reaches the user; set
``LSPOLICY_DEBUG=1`` to see one.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lspolicy.argparsing import Parser, leaf_parser, subcommands, suggest, unrecognized_error
from lspolicy.errors import LspolicyError, PolicyParseError, SimulatorError
from lspolicy.explain import Style
from lspolicy.textfile import MAX_INPUT_BYTES, read_text

if TYPE_CHECKING:  # the lint package loads every rule: only `check` and `lint` need it
    from lspolicy.lint.config import LintConfig
    from lspolicy.model.policy import Policy
    from lspolicy.model.request import ContextValue

# The engine, the gate and the policy tests are imported by the commands that use them, so that
# a command that needs none of them (``who-can --review``) starts in a fraction of a second.

__all__ = ["main"]

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
MAX_INPUT = MAX_INPUT_BYTES


class UsageError(LspolicyError):
    """A command-line mistake: reported on stderr with exit code 2."""


def _style(choice: str, stream: TextIO) -> Style:
    if choice == "always":
        return Style(color=True)
    if choice == "never" or os.environ.get("NO_COLOR"):
        return Style(color=False)
    return Style(color=stream.isatty())


def _read(path: str) -> str:
    return read_text(path, limit=MAX_INPUT, error=UsageError)


def _load_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg.lower()}"
        ) from None


# -- simulate -------------------------------------------------------------------------------


def _warn_unknown_actions(names: object) -> None:
    """On stderr, a warning for each action name no service defines (decisions unchanged)."""
    from lspolicy.services.notice import unknown_action_warning  # noqa: PLC0415

    if not isinstance(names, list):
        return
    shown = more = 0
    for name in dict.fromkeys(n for n in names if isinstance(n, str)):
        if shown >= MAX_ACTION_WARNINGS:  # past the first few: counted, no did-you-mean search
            more += unknown_action_warning(name, suggest=False) is not None
            continue
        warning = unknown_action_warning(name)
        if warning is not None:
            print(warning, file=sys.stderr)
            shown += 1
    if more:
        print(f"warning: {more} more unknown action names", file=sys.stderr)


MAX_ACTION_WARNINGS = 10
"""Did-you-mean warnings shown per command; the rest are counted (a request may name 10,000)."""


def cmd_simulate(args: argparse.Namespace) -> int:
    from lspolicy.simulate import simulate_custom_policy  # noqa: PLC0415

    request = _load_json(_read(args.input), args.input)
    response = simulate_custom_policy(request)
    if isinstance(request, dict):
        _warn_unknown_actions(request.get("ActionNames"))
    json.dump(response, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


# -- explain --------------------------------------------------------------------------------


def _parse_context(pairs: Sequence[str]) -> dict[str, ContextValue]:
    out: dict[str, ContextValue] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise UsageError(
                f"--context takes KEY=VALUE (KEY=a,b for a list with --list KEY), found {pair!r}"
            )
        out[key] = value
    return out


def _policies(paths: Sequence[str], kind: str, texts: dict[str, str]) -> list[Policy]:
    from lspolicy.parse import parse_policy  # noqa: PLC0415

    out = []
    for path in paths:
        text = _read(path)
        texts[path] = text
        out.append(parse_policy(text, source=path, kind=kind))  # type: ignore[arg-type]
    return out


def cmd_explain(args: argparse.Namespace) -> int:
    if args.review is not None:
        from lspolicy.account.explain_cell import run_explain_cell  # noqa: PLC0415

        return run_explain_cell(args)
    if args.principal is not None or args.instance is not None:
        raise UsageError("--principal and --instance explain a cell of a review: give --review DIR")
    from lspolicy.evaluate.authorize import PolicySet  # noqa: PLC0415
    from lspolicy.explain import render_text  # noqa: PLC0415
    from lspolicy.model.request import Request  # noqa: PLC0415
    from lspolicy.simulate import (  # noqa: PLC0415
        build_policy_set,
        context_from_entries,
        simulate_custom_policy,
    )

    texts: dict[str, str] = {}
    decisions = []
    if args.request:
        raw = _load_json(_read(args.request), args.request)
        if not isinstance(raw, dict):
            raise UsageError(
                f"{args.request}: a SimulateCustomPolicy request must be a JSON object"
            )
        simulate_custom_policy(raw)  # validates the whole request exactly as `simulate` does
        _warn_unknown_actions(raw.get("ActionNames"))
        policies = build_policy_set(raw)
        for i, t in enumerate(raw.get("PolicyInputList", []), 1):
            texts[f"PolicyInputList.{i}"] = t
        for i, t in enumerate(raw.get("PermissionsBoundaryPolicyInputList", []) or [], 1):
            texts[f"PermissionsBoundaryPolicyInputList.{i}"] = t
        if raw.get("ResourcePolicy"):
            texts["ResourcePolicy"] = raw["ResourcePolicy"]
        context = context_from_entries(raw.get("ContextEntries"))
        for action in raw["ActionNames"]:
            for resource in raw.get("ResourceArns") or ["*"]:
                decisions.append(
                    policies.evaluate(
                        Request(action, resource, context, caller_arn=raw.get("CallerArn"))
                    )
                )
    else:
        if not args.policy or not args.action:
            raise UsageError("explain needs either --request FILE or --policy FILE... and --action")
        identity = _policies(args.policy, "identity", texts)
        boundary = _policies(args.boundary, "boundary", texts) if args.boundary else None
        policies = PolicySet(identity, boundary=boundary)
        _warn_unknown_actions([args.action])
        context = _parse_context(args.context or [])
        for key in args.list or []:
            if key in context and isinstance(context[key], str):
                context[key] = [v for v in str(context[key]).split(",") if v]
        decisions.append(
            policies.evaluate(Request(args.action, args.resource, context, caller_arn=args.caller))
        )
    if args.format == "json":
        payload: Any = [d.to_dict() for d in decisions]
        json.dump(payload[0] if len(payload) == 1 else payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        style = _style(args.color, sys.stdout)
        sys.stdout.write("\n\n".join(render_text(d, texts, style=style) for d in decisions) + "\n")
    return EXIT_OK


# -- check: the gate -------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from lspolicy.budget import default_timeout  # noqa: PLC0415

    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    with default_timeout(args.timeout):
        return _cmd_check(args)


def _cmd_check(args: argparse.Namespace) -> int:
    from lspolicy.gate.formats import render, summary  # noqa: PLC0415 - loads lint's rules
    from lspolicy.gate.options import named, report_skipped, split_patterns  # noqa: PLC0415
    from lspolicy.gate.run import run_gate  # noqa: PLC0415
    from lspolicy.lint.config import load_config  # noqa: PLC0415
    from lspolicy.lint.finding import Severity  # noqa: PLC0415

    for raw in args.paths:
        if not Path(raw).exists():
            close = suggest(raw, CHECK_SUBCOMMANDS) if raw == args.paths[0] else None
            hint = f"\nhint: did you mean the check {close!r}?" if close else ""
            raise UsageError(f"{raw}: no such file or directory{hint}")
    if args.output:
        _check_output(args.output)
    config = load_config(Path(args.config)) if args.config else None
    if args.fix or args.diff:
        done = _fix(args, config)
        if done is not None:
            return done
    report = run_gate(
        args.paths,
        config=config,
        fail_on=Severity(args.fail_on),
        base=args.base,
        exclude=split_patterns(args.exclude),
        allow_empty=args.allow_empty,
    )
    report_skipped(report.skipped, verbose=args.verbose)
    if not report.policy_files and not report.cases and not report.problems:
        sys.stderr.write(f"lspolicy: no policies found under {named(args.paths)} (--allow-empty)\n")
    stream = sys.stdout
    style = _style(args.color, stream) if args.format == "text" else Style(color=False)
    text = render(report, args.format, style=style)
    if args.output:
        _write_output(args.output, text)
        stream.write(f"{summary(report, _style(args.color, stream))}\n")
        stream.write(f"{args.format} report written to {args.output}\n")
    else:
        stream.write(text)
    if args.explain and args.format == "text":
        for case in report.cases:
            stream.write(f"{case.file}:{case.line}: {case.name}\n")
            stream.write("\n".join("    " + line for line in case.explanation.splitlines()) + "\n")
    return report.exit_code


def _fix(args: argparse.Namespace, config: LintConfig | None) -> int | None:
    """``check --fix``/``--diff``: fix (or show the fixes) before the gate runs, so the
    report that follows is what remains; the account goes to stdout only for the text report."""
    from lspolicy.lint.cli import run_fixes  # noqa: PLC0415
    from lspolicy.lint.config import load_config  # noqa: PLC0415

    cfg = config if config is not None else load_config(start=Path(args.paths[0]))
    note = sys.stdout if args.format == "text" and not args.diff and not args.output else sys.stderr
    return run_fixes(args.paths, cfg, args, sys.stdout, note)


def _check_output(target: str) -> None:
    """Refuse ``--output`` into a folder that does not exist, before any work is done."""
    folder = Path(target).parent
    if Path(target).is_dir():
        raise UsageError(f"--output {target!r} is a folder\nhint: give a file name in it")
    if not folder.is_dir():
        raise UsageError(
            f"--output {target!r}: no such folder {str(folder)!r}\n"
            f"hint: create it first (mkdir -p {folder})"
        )


def _write_output(target: str, text: str) -> None:
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--output {target!r}: {(exc.strerror or str(exc)).lower()}") from None


def cmd_test(args: argparse.Namespace) -> int:
    from lspolicy.budget import default_timeout  # noqa: PLC0415

    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    with default_timeout(args.timeout):
        return _cmd_test(args)


def _cmd_test(args: argparse.Namespace) -> int:
    from lspolicy.cases import load_case_file, run_cases, run_properties  # noqa: PLC0415
    from lspolicy.explain import render_text  # noqa: PLC0415
    from lspolicy.gate.discover import nothing_found_message  # noqa: PLC0415
    from lspolicy.gate.options import named, report_skipped, split_patterns  # noqa: PLC0415
    from lspolicy.gate.run import discover_inputs  # noqa: PLC0415
    from lspolicy.lint.config import load_config  # noqa: PLC0415

    style = _style(args.color, sys.stdout)
    paths = args.paths or ["."]
    config = load_config(start=Path(paths[0]))
    found = discover_inputs(paths, config, exclude=split_patterns(args.exclude))
    report_skipped(found.skipped, verbose=args.verbose)
    problems = list(found.problems)
    if not found.test_files and not problems:
        if not args.allow_empty:
            raise UsageError(nothing_found_message(paths, found, "policy test files"))
        sys.stdout.write(f"no policy test files found under {named(paths)} (--allow-empty)\n")
        return EXIT_OK
    passed = failed = undecided = 0
    for tf in found.test_files:
        try:
            loaded = load_case_file(tf)
        except PolicyParseError as exc:
            problems.extend(exc.problems)
            continue
        for result in run_cases(loaded):
            ok = result.passed
            passed += ok
            failed += not ok
            mark = style.good("PASS") if ok else style.bad("FAIL")
            sys.stdout.write(f"{mark} {tf}::{result.case.name}\n")
            if not ok or args.explain:
                body = render_text(result.decision, loaded.texts, style=style)
                sys.stdout.write("\n".join("     " + line for line in body.splitlines()) + "\n")
        for prop in run_properties(loaded):
            ok = prop.passed
            passed += ok
            failed += prop.result == "FAIL"
            undecided += prop.result not in ("PASS", "FAIL")
            mark = style.good("PASS") if ok else style.bad(prop.result)
            sys.stdout.write(f"{mark} {tf}::property: {prop.prop.name}\n")
            if not ok:
                sys.stdout.write("\n".join("     " + line for line in prop.lines) + "\n")
    for problem in problems:
        sys.stderr.write(f"lspolicy: {problem}\n")
    sys.stdout.write(
        f"{passed} passed, {failed} failed"
        + (f", {undecided} undecided" if undecided else "")
        + (f", {len(problems)} input problems" if problems else "")
        + "\n"
    )
    if problems:
        return EXIT_ERROR
    if failed:
        return EXIT_FINDINGS
    return EXIT_ERROR if undecided else EXIT_OK


# -- serve ----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import logging  # noqa: PLC0415 - only the server needs it
    import signal  # noqa: PLC0415

    from lspolicy.server.app import Service  # noqa: PLC0415 - keep `lspolicy check` light
    from lspolicy.server.http import LightsailServer  # noqa: PLC0415
    from lspolicy.server.state import StateStore  # noqa: PLC0415
    from lspolicy.server.world import load_world  # noqa: PLC0415

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    world = load_world(args.world)
    state = args.state or str(Path(args.world).with_suffix(".state.db"))
    store = StateStore(state)
    try:
        server = LightsailServer(Service(world, store), args.host, args.port)
    except OSError as exc:
        store.close()
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.stdout.write(f"lspolicy serving {args.world} at {server.url} (state: {state})\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return EXIT_OK


# -- entry point ----------------------------------------------------------------------------


def _parser(command: str | None = None, *, full: bool = True) -> argparse.ArgumentParser:
    """The ``lspolicy`` parser. ``full=False`` (a command that is not help) builds only what
    ``command`` needs to run: the deferred commands' modules and the checks' epilog are not
    imported for it."""
    from lspolicy.gate.options import add_discovery_arguments  # noqa: PLC0415

    parser = Parser(
        prog="lspolicy", description="Policy-as-code for Amazon Lightsail access control."
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version")
    sub: Any = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="the CI gate: parse, lint and run the policy tests under PATH",
        description="The CI gate: parse and lint every policy under PATH and run its policy "
        "tests. Exit 0 pass, 1 fail, 2 usage error or unusable input.",
        epilog=_checks_epilog() if full else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "paths", nargs="+", metavar="PATH", help="policy files and folders (searched for *.json)"
    )
    check.add_argument(
        "--format",
        choices=("text", "json", "junit", "sarif", "github"),
        default="text",
        help="the report's format (default: text)",
    )
    check.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the report here (a text summary still goes to stdout)",
    )
    check.add_argument(
        "--fail-on", choices=("error", "security", "warning", "suggestion"), default="warning",
        help="fail on findings of this severity and above (default: warning)",
    )  # fmt: skip
    check.add_argument(
        "--config", metavar="FILE", help="lspolicy.toml or pyproject.toml (default: nearest)"
    )
    check.add_argument(
        "--base",
        metavar="REF",
        help="also fail (LSP901) when a changed policy allows a request it denied at this git "
        "revision, and show that request",
    )
    check.add_argument(
        "--explain", action="store_true", help="explain every test decision, not only failures"
    )
    check.add_argument("--color", choices=COLORS, default="auto", help=COLOR_HELP)
    add_discovery_arguments(check)
    _timeout_argument(check)
    from lspolicy.lint.cli import add_fix_arguments  # noqa: PLC0415 - lint's own options

    add_fix_arguments(check)
    check.set_defaults(run=cmd_check)

    test = sub.add_parser(
        "test", help="run the policy test files (*.lspolicy-test.yaml) under PATH"
    )
    test.add_argument(
        "paths", nargs="*", metavar="PATH", help="test files and folders (default: .)"
    )
    test.add_argument("--explain", action="store_true", help="explain every decision")
    test.add_argument("--color", choices=COLORS, default="auto", help=COLOR_HELP)
    add_discovery_arguments(test)
    _timeout_argument(test)
    test.set_defaults(run=cmd_test)

    simulate = sub.add_parser("simulate", help="answer an IAM SimulateCustomPolicy request (JSON)")
    simulate.add_argument("input", metavar="INPUT.json", help="request file, or - for stdin")
    simulate.set_defaults(run=cmd_simulate)

    explain = sub.add_parser("explain", help="explain one decision")
    explain.add_argument(
        "--request", metavar="FILE", help="a SimulateCustomPolicy request file (or -)"
    )
    explain.add_argument(
        "--policy", action="append", metavar="FILE", help="identity policy (repeatable)"
    )
    explain.add_argument(
        "--boundary", action="append", metavar="FILE", help="permissions boundary policy"
    )
    explain.add_argument("--action", help="e.g. lightsail:StopInstance")
    explain.add_argument("--resource", default="*", help="resource ARN (default *)")
    explain.add_argument("--caller", help="the caller's ARN")
    explain.add_argument(
        "--context", action="append", metavar="KEY=VALUE", help="context value (repeatable)"
    )
    explain.add_argument(
        "--list", action="append", metavar="KEY", help="treat KEY's value as a comma-separated list"
    )
    explain.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )
    explain.add_argument("--color", choices=COLORS, default="auto", help=COLOR_HELP)
    cell = explain.add_argument_group(
        "a cell of a review",
        "re-decide one (principal, instance, action) cell of `lspolicy review --out DIR` with "
        "the engine, from the exports the review read (refused if one changed since), hop by "
        "hop along the stored chain; exit 1 if the engine's answer differs from the stored one",
    )
    cell.add_argument("--review", metavar="DIR", help="the review's --out directory")
    cell.add_argument("--principal", metavar="ARN", help="the user or role (with --review)")
    cell.add_argument(
        "--instance", metavar="NAME_OR_ARN", help="the instance's name or ARN (with --review)"
    )
    explain.set_defaults(run=cmd_explain)

    serve = sub.add_parser("serve", help="serve the emulated Lightsail endpoint for a world file")
    serve.add_argument(
        "--world", required=True, metavar="WORLD.yaml", help="the world file to serve"
    )
    serve.add_argument(
        "--state",
        metavar="STATE.db",
        help="SQLite file (default: next to the world file; :memory: for none)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default local)")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(run=cmd_serve)

    from lspolicy.lint.cli import register as register_lint  # noqa: PLC0415 - one wiring point

    register_lint(sub)

    for name, (module, summary) in DEFERRED.items():
        if full or command == name:
            importlib.import_module(module).register(sub)
        else:  # listed (help, did-you-mean) without importing the module that runs it
            sub.add_parser(name, help=summary)
    return parser


DEFERRED: dict[str, tuple[str, str]] = {
    "generate": (
        "lspolicy.generate.cli",
        "generate least-privilege policies from an intent and prove them with the engine",
    ),
    "diff": (
        "lspolicy.diff.cli",
        "what NEW allows that OLD denies and the reverse, each with a request proving it",
    ),
    "collect": (
        "lspolicy.collect.cli",
        "gather IAM authorization details, Lightsail instances and the organization's SCPs, "
        "read-only, with boto3",
    ),
    "who-can": (
        "lspolicy.account.who_can_cli",
        "every user and role that can perform ACTION on an instance, with the role chain",
    ),
    "what-can": (
        "lspolicy.account.what_can_cli",
        "every instance and action a user or role reaches, with the role chain",
    ),
    "review": (
        "lspolicy.account.review_cli",
        "the whole access matrix (principal x instance x action) as a Parquet dataset, "
        "with an HTML report",
    ),
    "query": (
        "lspolicy.account.query_cli",
        "run SQL over a review's Parquet dataset with DuckDB",
    ),
}
"""Commands whose modules (the generator, the semantic diff) are imported only when they run
or when help is asked for, so that ``lspolicy check`` starts fast; a test checks that each
summary is the one its module registers."""


def _timeout_argument(parser: argparse.ArgumentParser) -> None:
    from lspolicy.budget import DEFAULT_TIMEOUT  # noqa: PLC0415 - a constant, no diff

    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time budget of each exact question (a property, a --base comparison; default "
        f"{DEFAULT_TIMEOUT:g}): what it leaves undecided is reported, never passed",
    )


def _alone_parser(command: str) -> argparse.ArgumentParser:
    """A parser with only ``command``, a deferred one: built without the other commands'
    modules (the lint rules, the gate), so ``who-can --review`` answers in well under a
    second. Help and mistakes in the command's name go through the full parser."""
    parser = Parser(prog="lspolicy")
    sub: Any = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    importlib.import_module(DEFERRED[command][0]).register(sub)
    return parser


_ALONE = frozenset({"who-can", "what-can", "query"})
"""Deferred commands that run with `_alone_parser` (they read a review's dataset, quickly)."""
CHECK_SUBCOMMANDS = ("no-new-access", "access-not-granted")
_FAST = frozenset({"check", "test", "simulate", "explain", "serve", "lint", "rule"})
COLORS = ("auto", "always", "never")
COLOR_HELP = "colour the output: auto (on a terminal, unless NO_COLOR is set), always, never"


class _VersionAction(argparse.Action):
    """``--version``: the version is read from the package metadata only when asked for (it
    costs ~10 ms, every other command line does without it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(f"lspolicy {_version()}\n")
        parser.exit()


def _version() -> str:
    """The installed distribution's version (package metadata), or the module's own."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("lspolicy")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from lspolicy import __version__  # noqa: PLC0415

        return __version__


def _checks_epilog() -> str:
    """``check --help``'s list of the two exact checks, from their own parsers' help."""
    lines = ["checks (lspolicy check CHECK ...; lspolicy check CHECK --help for their options):"]
    lines += [f"  {name:<20}{text}" for name, text in subcommands(_check_parser())]
    return "\n".join(lines)


def _check_parser() -> argparse.ArgumentParser:
    """``lspolicy check no-new-access ...`` and ``lspolicy check access-not-granted ...``: the
    two exact CI checks; ``lspolicy check PATH`` (the gate) is the other form of ``check``."""
    from lspolicy.diff.cli import register_checks  # noqa: PLC0415

    parser = Parser(prog="lspolicy check")
    register_checks(parser.add_subparsers(dest="check", required=True))
    return parser


_BUILT: dict[tuple[str | None, bool], argparse.ArgumentParser] = {}
"""The parsers `main` has built, reused by later calls in the same process (a pre-commit hook
or a test calling `main` many times): building one costs ~25 ms, and parsing leaves it as it
was."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        # a value no encoding can hold (a lone surrogate from a JSON "\ud800" in a request's
        # context) is shown escaped, never a crash halfway through a report
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    words = list(sys.argv[1:] if argv is None else argv)
    if len(words) >= 2 and words[0] == "check" and words[1] in CHECK_SUBCOMMANDS:
        parser = _check_parser()
        argv = words[1:]
    else:
        command = next((w for w in words if not w.startswith("-")), None)
        wants_help = any(w in ("-h", "--help") for w in words)
        if command in _ALONE and not wants_help and words[0] == command:
            parser = _alone_parser(command)
        else:
            full = wants_help or command not in _FAST
            key = (command if not full else None, full)
            parser = _BUILT.get(key) or _BUILT.setdefault(key, _parser(command, full=full))
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            unrecognized_error(leaf_parser(parser, args), extras)
    except SystemExit as exc:
        return EXIT_ERROR if exc.code not in (0, None) else EXIT_OK
    try:
        return int(args.run(args))
    except SimulatorError as exc:
        sys.stderr.write(f"lspolicy: {exc.code}: {exc.message}\n")
        return EXIT_ERROR
    except LspolicyError as exc:
        sys.stderr.write(f"lspolicy: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): not an error of ours
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # never a stack trace to the user
        if os.environ.get("LSPOLICY_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"lspolicy: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
