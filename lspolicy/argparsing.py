"""The command line's parser class: argparse, plus a "did you mean" hint for a mistyped word.

argparse (Python 3.11) reports ``invalid choice: 'chek'`` and ``unrecognized arguments:
--fial-on`` but does not say what was meant. `Parser` adds one hint line, the closest known
subcommand, choice or option (``difflib``'s ratio, as git and cargo suggest commands), and
keeps argparse's exit code 2 and usage line. Subparsers made through ``add_subparsers()`` are
`Parser` too (argparse uses the parent's class).
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterable, Sequence
from typing import NoReturn

__all__ = ["Parser", "leaf_parser", "subcommands", "suggest", "unrecognized_error"]

_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<word>[^']*)' \(choose from (?P<choices>.*)\)")
_UNRECOGNIZED = "unrecognized arguments: "


def suggest(word: str, known: Iterable[str]) -> str | None:
    """The known word closest to ``word``, or None when none is close (ratio under 0.6)."""
    found = difflib.get_close_matches(word, sorted(set(known)), n=1, cutoff=0.6)
    return found[0] if found else None


class Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors carry a "did you mean" hint when one fits."""

    _seen: Sequence[str] = ()

    def option_strings(self) -> list[str]:
        """Every long option this parser (not its subcommands) accepts."""
        return [o for o in self._option_string_actions if o.startswith("--")]

    def hint_for(self, message: str) -> str | None:
        """The hint for an argparse error message, when a close known word exists."""
        choice = _INVALID_CHOICE.search(message)
        if choice is not None:
            choices = re.findall(r"'([^']*)'", choice.group("choices"))
            close = suggest(choice.group("word"), choices)
            return f"did you mean {close!r}?" if close else None
        words: Sequence[str] = ()
        if message.startswith(_UNRECOGNIZED):
            words = message[len(_UNRECOGNIZED) :].split()
        elif message.startswith("the following arguments are required"):
            words = self._seen  # a mistyped required option shows up as missing first
        known = self.option_strings()
        for word in words:
            option = word.partition("=")[0]
            if option.startswith("--") and option not in known:
                close = suggest(option, known)
                if close:
                    return f"did you mean {close!r}?"
        return None

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """argparse's, remembering the words given (for the hint of a "required" error)."""
        self._seen = tuple(args) if args is not None else ()
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Print usage, the error and (when one fits) a hint; exit 2, as argparse does."""
        self.print_usage()
        hint = self.hint_for(message)
        text = f"{self.prog}: error: {message}\n" + (f"hint: {hint}\n" if hint else "")
        self.exit(2, text)


def unrecognized_error(parser: argparse.ArgumentParser, extras: Sequence[str]) -> NoReturn:
    """Report arguments no parser took, from the subcommand's parser (which knows the options
    that were meant), with its hint."""
    parser.error(_UNRECOGNIZED + " ".join(extras))


def leaf_parser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` was parsed for: down every subparsers level."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest, None)
            chosen = action.choices.get(name) if isinstance(name, str) else None
            if isinstance(chosen, argparse.ArgumentParser):
                return leaf_parser(chosen, args)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """Each subcommand of ``parser`` with its one-line help, in the order they were added."""
    out: list[tuple[str, str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out.extend((a.dest, a.help or "") for a in action._choices_actions)
    return out
