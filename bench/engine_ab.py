"""Interleaved A/B of one engine piece: another tree's module against this tree's, in one process.

Whole-bench runs move +-30-60% between child processes on a shared machine (`bench/engine.py
--compare`), more than most changes; these comparisons time the old and the new code back to
back in one process (``time.thread_time_ns``, collector off, order alternating every round) on
the same inputs, and check that both give the same answers. Usage (from the repository root)::

    python3 bench/engine_ab.py parts  REF [--workload standard] [--rounds 8]
    python3 bench/engine_ab.py matrix REF [--workload standard] [--rounds 8]
    python3 bench/engine_ab.py batch  REF [--workload standard] [--rounds 8]
    python3 bench/engine_ab.py matrix-mode REF [--workload standard] [--rounds 8]
    python3 bench/engine_ab.py batch-mode  REF [--workload standard] [--rounds 8]
    python3 bench/engine_ab.py batch-fresh REF [--workload standard] [--rounds 8]

``REF`` is another checkout (e.g. ``git archive <commit> | tar -x -C /tmp/ref``).

``parts``: building every principal's and instance's `RequestPart` (REF's
``lspolicy/model/request.py`` loaded beside this one). ``matrix``: ``decide_matrix_compact``
alone, parts built before each timing (REF's ``lspolicy/evaluate/batch.py``; the policy sets and
parts are this tree's). ``batch``: ``is_allowed_many`` alone over each principal's requests,
per call (REF's ``authorize.py`` and ``codegen.py``; each side has its own plans, the statements'
shared cores are common). ``matrix-mode`` and ``batch-mode``: what ``bench/engine.py`` times in
its ``compact`` and ``batch`` modes, parts built inside the timing by each tree's own
`RequestPart` (REF's ``request.py``, ``batch.py``, ``authorize.py`` and ``codegen.py`` against
this tree's). ``batch-fresh``: as ``batch-mode``, but each side starts every round from fresh
plans (nothing learnt by earlier rounds: generic functions, the order of their statements,
inlined functions) and runs three passes, as ``bench/engine.py`` does; a round's time is the
median pass (each side through its own ``decide_requests`` where it has one, else the bench's
grouped ``is_allowed_many`` calls, as ``bench/engine.py``'s ``batch`` mode). Prints the medians and each round's ratio (> 1: this tree faster).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import engine

from lspolicy.evaluate import batch  # engine.py put the measured library on the path
from lspolicy.model import request


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _rounds(
    old: Callable[[], Any],
    new: Callable[[], Any],
    rounds: int,
    answers: Callable[[Any], Any] = lambda got: got,
) -> tuple[list[int], list[int]]:
    """Nanoseconds of each side per round, order alternating; the answers (``answers`` of
    what each side returns, read after the timing) must be equal."""
    gc.disable()
    for _ in range(2):
        old()
        new()
    a: list[int] = []
    b: list[int] = []
    for r in range(rounds):
        got = {}
        for name, fn in (
            (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old))
        ):
            start = time.thread_time_ns()
            got[name] = fn()
            (a if name == "old" else b).append(time.thread_time_ns() - start)
        if answers(got["old"]) != answers(got["new"]):
            raise SystemExit("the two sides answer differently")
    return a, b


def _ref_batch(lib: Path) -> Callable[..., list[bool]] | None:
    """REF's ``decide_requests`` over REF's ``authorize`` (as `_ref_sets` loads it), or None
    when REF has none (the bench's grouped calls of ``is_allowed_many`` then)."""
    path = lib / "evaluate" / "batch.py"
    if "def decide_requests(" not in path.read_text(encoding="utf-8"):
        return None
    own = sys.modules["lspolicy.evaluate.authorize"]
    sys.modules["lspolicy.evaluate.authorize"] = sys.modules["ref_authorize"]
    try:  # REF's batch.py imports its authorize by name: REF's while it loads
        module = _load("ref_batch_requests", path)
    finally:
        sys.modules["lspolicy.evaluate.authorize"] = own
    decide: Callable[..., list[bool]] = module.decide_requests
    return decide


def _ref_sets(case: Any, lib: Path) -> list[Any]:
    """The case's policy sets as REF's ``PolicySet`` (REF's ``authorize.py`` and
    ``codegen.py``), each with its own plans; the statements' shared cores are common.

    REF's modules are loaded once: loaded again for every round, REF's caches of compiled
    code (`codegen._CODE`, shared deciders) started empty every round while this tree's were
    kept, a bias of ~7% for this tree in an A/A run of ``batch-fresh`` (measured)."""
    ref = sys.modules.get("ref_authorize")
    if ref is None:
        ref_codegen = _load("ref_codegen", lib / "evaluate" / "codegen.py")
        ref = _load("ref_authorize", lib / "evaluate" / "authorize.py")
        for name in ref_codegen.__all__:  # every codegen name REF's authorize imported
            if hasattr(ref, name):
                setattr(ref, name, getattr(ref_codegen, name))
    olds = []
    for s in case.sets:
        o = ref.PolicySet.__new__(ref.PolicySet)
        o.__dict__.update(s.__dict__)
        o._plans, o._layers, o._callers = {}, {}, {}
        olds.append(o)
    return olds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "piece", choices=["parts", "matrix", "batch", "matrix-mode", "batch-mode", "batch-fresh"]
    )
    parser.add_argument("ref", type=Path)
    parser.add_argument("--workload", choices=["standard", "harder"], default="standard")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    case = (
        engine.load_standard(engine.STANDARD)
        if args.workload == "standard"
        else engine.load_harder(20_000)
    )
    lib = args.ref / "lspolicy"
    unit, count = "us/part", len(case.principal_ctx) + len(case.instance_ctx)
    if args.piece == "parts":
        ref = _load("ref_request", lib / "model" / "request.py")

        def build(module: ModuleType) -> Callable[[], Any]:
            def run() -> int:
                part = module.RequestPart
                for c, a in zip(case.principal_ctx, case.callers, strict=True):
                    part(c, caller_arn=a)
                for c, arn in zip(case.instance_ctx, case.arns, strict=True):
                    part(c, resource=arn)
                return count

            return run

        a, b = _rounds(build(ref), build(request), args.rounds)
    elif args.piece == "batch-fresh":
        ref_request = _load("ref_request", lib / "model" / "request.py")
        unit, count = "requests/s", len(case.requests)

        def fresh(sets: list[Any]) -> list[Any]:
            """This tree's sets with no plan built yet (compiled layers shared)."""
            out = []
            for s in sets:
                o = type(s).__new__(type(s))
                o.__dict__.update(s.__dict__)
                o._plans, o._layers, o._callers = {}, {}, {}
                out.append(o)
            return out

        _ref_sets(case, lib)  # loads REF's authorize
        ref_decide = _ref_batch(lib)

        def passes(sets: list[Any], part: Any) -> tuple[int, list[bool]]:
            many = (
                ref_decide
                if ref_decide is not None and type(sets[0]) is not type(case.sets[0])
                else engine.batch_answers
            )
            times, answers = [], []
            for _ in range(3):
                start = time.thread_time_ns()
                principals = [
                    part(c, caller_arn=a)
                    for c, a in zip(case.principal_ctx, case.callers, strict=True)
                ]
                instances = [
                    part(c, resource=arn)
                    for c, arn in zip(case.instance_ctx, case.arns, strict=True)
                ]
                answers = many(case.requests, sets, principals, instances)
                times.append(time.thread_time_ns() - start)
            return int(statistics.median(times)), answers

        gc.disable()
        a, b = [], []
        for r in range(args.rounds):
            sides = [
                (_ref_sets(case, lib), ref_request.RequestPart, a),
                (fresh(case.sets), request.RequestPart, b),
            ]
            got = []
            for sets, part, into in sides if r % 2 == 0 else sides[::-1]:
                spent, answers = passes(sets, part)
                into.append(spent)
                got.append(answers)
            if got[0] != got[1]:
                raise SystemExit("the two sides answer differently")
    elif args.piece in ("matrix-mode", "batch-mode"):
        ref_request = _load("ref_request", lib / "model" / "request.py")
        action = "lightsail:StopInstance"

        def parts(part: Any) -> tuple[list[Any], list[Any]]:
            principals = [
                part(c, caller_arn=a) for c, a in zip(case.principal_ctx, case.callers, strict=True)
            ]
            instances = [
                part(c, resource=arn) for c, arn in zip(case.instance_ctx, case.arns, strict=True)
            ]
            return principals, instances

        if args.piece == "matrix-mode":
            ref = _load("ref_batch", lib / "evaluate" / "batch.py")
            unit, count = "cells/s", len(case.sets) * len(case.arns)

            def side(module: ModuleType, part: Any) -> Callable[[], Any]:
                def run() -> Any:
                    return module.decide_matrix_compact(action, case.sets, *parts(part))

                return run

            a, b = _rounds(
                side(ref, ref_request.RequestPart),
                side(batch, request.RequestPart),
                args.rounds,
                lambda got: got.rows(),
            )
        else:
            olds = _ref_sets(case, lib)
            unit, count = "requests/s", len(case.requests)

            def mode(sets: list[Any], part: Any) -> Callable[[], Any]:
                def run() -> list[bool]:  # bench/engine.py's mode_batch
                    return engine.batch_answers(case.requests, sets, *parts(part))

                return run

            a, b = _rounds(
                mode(olds, ref_request.RequestPart),
                mode(case.sets, request.RequestPart),
                args.rounds,
            )
    elif args.piece == "matrix":
        ref = _load("ref_batch", lib / "evaluate" / "batch.py")
        action = "lightsail:StopInstance"
        unit, count = "ms per matrix", 0

        def matrix(module: ModuleType) -> Callable[[], Any]:
            def run() -> Any:
                principals, instances = engine._parts(case)
                start = time.thread_time_ns()
                rows = module.decide_matrix_compact(action, case.sets, principals, instances)
                run.spent += time.thread_time_ns() - start  # type: ignore[attr-defined]
                return rows.rows()

            run.spent = 0  # type: ignore[attr-defined]
            return run

        old_run, new_run = matrix(ref), matrix(batch)
        gc.disable()
        for _ in range(2):
            old_run()
            new_run()
        a, b = [], []
        for r in range(args.rounds):
            order = [(old_run, a), (new_run, b)]
            for fn, into in order if r % 2 == 0 else order[::-1]:
                fn.spent = 0  # type: ignore[attr-defined]
                fn()
                into.append(fn.spent)  # type: ignore[attr-defined]
        if old_run() != new_run():
            raise SystemExit("the two sides answer differently")
    else:
        olds = _ref_sets(case, lib)
        principals, instances = engine._parts(case)
        groups: dict[int, list[Any]] = {}
        for p, action, i, extra in case.requests:
            groups.setdefault(p, []).append((action, instances[i], extra))
        unit, count = "requests/s", len(case.requests)
        a, b = [0] * args.rounds, [0] * args.rounds
        gc.disable()
        for _ in range(3):
            for p, items in groups.items():
                olds[p].is_allowed_many(items, principal=principals[p])
                case.sets[p].is_allowed_many(items, principal=principals[p])
        for r in range(args.rounds):
            for k, (p, items) in enumerate(groups.items()):
                sides = [(olds, a), (case.sets, b)]
                got = []
                for sets, into in sides if (r + k) % 2 == 0 else sides[::-1]:
                    start = time.thread_time_ns()
                    got.append(sets[p].is_allowed_many(items, principal=principals[p]))
                    into[r] += time.thread_time_ns() - start
                if got[0] != got[1]:
                    raise SystemExit("the two sides answer differently")
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    if unit in ("requests/s", "cells/s"):
        show = [f"{count / statistics.median(v) * 1e9:,.0f} {unit}" for v in (a, b)]
    elif unit == "us/part":
        show = [f"{statistics.median(v) / count / 1e3:.2f} {unit}" for v in (a, b)]
    else:
        show = [f"{statistics.median(v) / 1e6:.2f} {unit}" for v in (a, b)]
    print(f"{args.piece} ({args.workload}): ref {show[0]}, this {show[1]}")
    print(
        "per round ref/this:",
        " ".join(f"{x:.2f}" for x in ratios),
        f"median {statistics.median(ratios):.2f}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
