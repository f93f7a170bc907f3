"""A module of ``bench/`` imported for a test: under a name of its own (``bench_<stem>``), with
``bench/`` on the path only while it loads (a bench module imports its neighbours by plain
name), so that no other test imports a bench module by accident."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


@cache
def bench_module(stem: str) -> ModuleType:
    name = f"bench_{stem}"
    saved = list(sys.path)
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{stem}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # a dataclass looks its module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved
