"""The C loop of `authorize._stream` (`_cstream.c`): optional, built by setup.py."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

def stream(
    requests: Sequence[Any],
    order: Iterable[int],
    states: list[Any],
    instances: Sequence[Any],
    out: list[Any],
    slow: Callable[[int], None],
    unread: object,
    no_keys: object,
    never: object,
    /,
) -> None: ...
