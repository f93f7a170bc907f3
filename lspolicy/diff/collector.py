"""The cyclic garbage collector, paused while a diff runs.

A diff of two 40-policy sets allocates some hundred thousand small containers that live until
it ends (value classes, slot choices, per-search tables and memos): CPython's collector runs a
young collection every 700 net allocations and a full one whenever the survivors grow by a
quarter, and each full collection walks every object of the process, so the cost grows with
whatever else the process holds (the bench's slowest pair, `bench/diff_sets.py` seed 4, 40
policies a side, remove-policy: 4.2-4.3 s CPU alone in a fresh process, 5.04 s late in the
bench process; 3.4-3.8 s with the collector paused). Nothing the diff allocates needs the
collector: the search unlinks its nested functions' reference cycle when it ends
(`lspolicy.diff.search._unlink`), so every object is freed by reference counting, and a
collection after the diff finds nothing to collect (a test checks it).

`paused` nests and is shared by concurrent diffs: the collector is disabled when the first
pause begins (if it was enabled) and enabled again when the last one ends. It never enables a
collector the caller had disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]

_LOCK = threading.Lock()
_STATE = {"depth": 0, "restore": False}


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector disabled (see the module docstring)."""
    with _LOCK:
        if _STATE["depth"] == 0:
            _STATE["restore"] = gc.isenabled()
            gc.disable()
        _STATE["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["depth"] -= 1
            if _STATE["depth"] == 0 and _STATE["restore"]:
                gc.enable()
