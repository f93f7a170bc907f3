"""What people expect of a command line: ``--version``, help on every argument, the checks
listed in ``check --help``, and "did you mean" for a mistyped subcommand or option.

Exit code 2 for a usage error, as argparse and ruff use it; the hint is on its own line
(STYLE.md habit 7: advice in a separate hint).
"""

from __future__ import annotations

import argparse
import contextlib
import io
from importlib.metadata import version

import pytest

from lspolicy.cli import _check_parser, _parser, main


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _walk(parser: argparse.ArgumentParser, where: str) -> list[str]:
    """Every argument (and subcommand) without help, down the whole tree."""
    missing: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if not choice.help:
                    missing.append(f"{where} {choice.dest}")
            for name, sub in action.choices.items():
                missing += _walk(sub, f"{where} {name}")
        elif not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_argument_of_every_subcommand_has_help() -> None:
    assert _walk(_parser(), "lspolicy") == []
    assert _walk(_check_parser(), "lspolicy check") == []


def test_version_comes_from_the_package_metadata() -> None:
    code, out, _ = _run("--version")
    assert code == 0
    assert out.strip() == f"lspolicy {version('lspolicy')}"


def test_check_help_lists_the_two_checks_with_a_description() -> None:
    code, out, _ = _run("check", "--help")
    assert code == 0
    lines = out.splitlines()
    for name in ("no-new-access", "access-not-granted"):
        line = next(line for line in lines if line.strip().startswith(name))
        assert len(line.strip()) > len(name) + 10, line  # a one-line description follows


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["chek", "policies"], "'check'"),
        (["check", "--fial-on", "error", "policies"], "'--fail-on'"),
        (["check", "policies", "--fail-on=error", "--fromat", "json"], "'--format'"),
        (["check", "--format", "sarf", "policies"], "'sarif'"),
        (["lint", "--selet", "LSP1", "policies"], "'--select'"),
        (["check", "no-new-acess", "a", "b"], "'no-new-access'"),
        (["check", "access-not-granted", "p.json", "--actoin", "x"], "'--action'"),
    ],
)
def test_a_mistyped_word_gets_a_did_you_mean_and_exit_2(argv: list[str], meant: str) -> None:
    code, _, err = _run(*argv)
    assert code == 2
    assert "Traceback" not in err
    hint = next(line for line in err.splitlines() if line.startswith("hint: "))
    assert meant in hint and "did you mean" in hint


def test_no_hint_when_nothing_is_close() -> None:
    code, _, err = _run("zzzzzz")
    assert code == 2
    assert "hint:" not in err


def test_deferred_commands_are_listed_with_their_own_summaries() -> None:
    """`lspolicy check` does not import the generator or the diff to start; their entries in
    the command list must still say what their own modules register."""
    import argparse  # noqa: PLC0415
    import importlib  # noqa: PLC0415

    from lspolicy.cli import DEFERRED, _parser  # noqa: PLC0415

    for name, (module, summary) in DEFERRED.items():
        parser = argparse.ArgumentParser()
        importlib.import_module(module).register(parser.add_subparsers())
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        (choice,) = [c for c in action._choices_actions if c.dest == name]
        assert choice.help == summary
        light = _parser("check", full=False)
        assert name in {
            c.dest
            for a in light._actions
            if isinstance(a, argparse._SubParsersAction)
            for c in a._choices_actions
        }
