"""The time budget of one exact question: a deadline every search loop of the diff checks.

An exact check must end: on large wildcard-heavy policies the searches are bounded by their
state and step limits, but those limits alone allowed two minutes. `time_budget` sets a deadline
for everything the diff does inside it (a context variable, so nested and concurrent questions
keep their own); the automata and the search stop when it has passed, and what they could not
decide is reported as undecided with the reason — the result keeps every difference decided
before then, and a check with undecided parts is never a PASS (exit 2 in the commands).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

__all__ = ["DEFAULT_TIMEOUT", "default_timeout", "expired", "reason", "seconds_for", "time_budget"]

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds one diff or check may take unless the caller says otherwise (``--timeout``)."""

_DEFAULT: ContextVar[float] = ContextVar("lspolicy_diff_default_timeout", default=DEFAULT_TIMEOUT)


@contextmanager
def default_timeout(seconds: float) -> Iterator[None]:
    """Within the block, each question asked without a ``timeout`` gets ``seconds`` (the gate's
    ``--timeout`` for its properties and ``--base`` checks)."""
    token = _DEFAULT.set(seconds)
    try:
        yield
    finally:
        _DEFAULT.reset(token)


def seconds_for(timeout: float | None) -> float:
    """The budget of one question: ``timeout``, or the current default when None."""
    return _DEFAULT.get() if timeout is None else timeout


_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar(
    "lspolicy_diff_deadline", default=None
)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Run the block with a deadline ``seconds`` from now (None: the current default;
    ``math.inf``: no deadline)."""
    seconds = seconds_for(seconds)
    token = _DEADLINE.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def expired() -> bool:
    """Whether the current question's deadline has passed."""
    deadline = _DEADLINE.get()
    return deadline is not None and time.monotonic() > deadline[0]


def reason() -> str:
    """Why a part was left undecided when the deadline passed."""
    deadline = _DEADLINE.get()
    seconds = deadline[1] if deadline is not None else 0.0
    return f"the time budget of {seconds:g} s ran out before this was decided (--timeout)"
