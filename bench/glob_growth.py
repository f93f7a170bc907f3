"""Growth of lspolicy's wildcard matcher on patterns with many ``?`` and ``*``.

    python3 bench/glob_growth.py [--quick]

`lspolicy.glob` promises time linear in len(pattern) * len(value), whatever the mix of
wildcards. The worst shape for a piece search is a long run of ``?`` holes between stars
(``*a?a?a?...b*``) against a value that almost matches everywhere (``aaaa...``, no ``b``): every
position is a candidate and every candidate is checked. This prints, for that shape, the time of
one non-matching evaluation (median of several) as the value grows with the pattern fixed, as
the pattern grows with the value fixed, and as both grow, with the growth exponent of each
doubling (time ratio as a power of the size ratio: 1.0 is linear). Target: the exponent in
len(pattern) * len(value) at most 1.1. Times are printed, never asserted; ratios are within one
run, so the machine's noise cancels.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lspolicy.glob import compile_glob


def seconds(holes: int, length: int, repeats: int) -> float:
    """Median seconds of one evaluation of ``*`` + ``a?`` * holes + ``b*`` on ``a`` * length."""
    glob = compile_glob("*" + "a?" * holes + "b*")
    value = "a" * length
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        if glob(value):
            raise SystemExit("bug: a value with no `b` matched")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def series(label: str, points: list[tuple[int, int]], repeats: int) -> list[float]:
    """Times for each (holes, length), printed with the exponent against pattern x value."""
    print(label)
    out: list[float] = []
    previous: tuple[int, float] | None = None
    exponents = []
    for holes, length in points:
        t = seconds(holes, length, repeats)
        size = (2 * holes + 2) * length
        note = ""
        if previous is not None:
            e = math.log(t / previous[1]) / math.log(size / previous[0])
            exponents.append(e)
            note = f"  exponent {e:.2f}"
        print(
            f"  pattern {2 * holes + 3:6d} chars, value {length:7d} chars: {t * 1e3:9.2f} ms{note}"
        )
        previous = (size, t)
        out.extend(exponents[-1:])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 5
    base = 50 if args.quick else 100
    steps = (1, 2, 4) if args.quick else (1, 2, 4, 8)
    exps = series("value grows, pattern fixed:", [(base, 20 * base * k) for k in steps], repeats)
    exps += series("pattern grows, value fixed:", [(base * k, 20 * base) for k in steps], repeats)
    exps += series("both grow:", [(base * k, 20 * base * k) for k in steps[:3]], repeats)
    worst = max(exps)
    verdict = "within" if worst <= 1.1 else "OVER"
    print(f"largest exponent in len(pattern) * len(value): {worst:.2f} ({verdict} the 1.1 target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
