"""Pathological wildcards: patterns like ``a*a*a*a*a*a*a*b`` against long strings that do not match.

A wildcard matcher built by turning ``*`` into ``.*`` (what several IAM tools do) backtracks: on
``"a" * n`` the pattern above costs about n**6 steps, so a 10,000-character value would take
longer than anyone waits. lspolicy must stay linear in the length of the input. This module
evaluates policies whose only failing element is such a pattern — as ``Resource``, as a
``StringLike`` value and as an action name pattern, each with the pattern as given and with a
variant that has no literal anchored at either end (so that no first/last-piece shortcut can
reject the subject: the matcher has to scan it all) — and times, on the same pattern and subject:

* lspolicy, ``PolicySet.is_allowed`` on prepared requests, two ways:

  - *first seen*: every evaluation is of a subject this ``PolicySet`` has not seen before, so the
    matcher really runs (lspolicy remembers each resource's verdict and builds one plan per
    action name; re-evaluating one request would time those caches, not the matcher);
  - *repeat*: the same request again and again (what the caches make of it);

* Python's ``fnmatch.fnmatchcase`` (whose translation uses atomic groups since Python 3.11);
* the naive regex translation ``"^" + pattern.replace("*", ".*") + "$"``, only on short inputs,
  growing until one evaluation exceeds a time budget, then extrapolated to the long length.

Subjects are ``"a" * n`` followed by a short tail of other letters that makes each one distinct
(and keeps it a non-match: no ``b`` anywhere).
"""

from __future__ import annotations

import fnmatch
import math
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PATTERN = "a*a*a*a*a*a*a*b"
#: The same stars with no literal anchored at either end.
UNANCHORED = "*a*a*a*a*a*a*a*b*"
PATTERNS = (PATTERN, UNANCHORED)
ARN_PREFIX = "arn:aws:lightsail:us-east-1:111122223333:Instance/"
SOME_INSTANCE = ARN_PREFIX + "0f7c2a9e-5c1d-4c3e-8a6f-2d9e7e1c4a53"
LONG_LENGTHS = (1_000, 10_000, 100_000)
QUICK_LENGTHS = (1_000, 10_000)
#: How many characters of distinct subjects to hold at once for the first-seen timing.
SUBJECT_BUDGET_CHARS = 4_000_000
_TAIL_LETTERS = "cdefghijklmnopqrstuvwxyz"


def tail(i: int) -> str:
    """A short string of letters other than ``a`` and ``b``, different for every ``i``."""
    out = "c"
    while True:
        i, digit = divmod(i, len(_TAIL_LETTERS))
        out += _TAIL_LETTERS[digit]
        if i == 0:
            return out


@dataclass(frozen=True)
class Case:
    """One placement of one pattern: the policy, and how to build non-matching requests."""

    name: str  # placement: Resource, StringLike or Action
    wildcards: str  # the bare pattern, e.g. a*a*a*a*a*a*a*b
    policy: dict[str, Any]
    #: (n, i) -> (action, resource, context) whose subject is ``"a" * n + tail(i)``
    request: Callable[[int, int], tuple[str, str, dict[str, str]]]
    #: the full pattern and the string it is matched against, for the contrast timings
    pattern: str
    subject: Callable[[int, int], str]


def _statement(**fields: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Pathological", "Effect": "Allow", **fields}],
    }


def _cases(wildcards: str) -> tuple[Case, ...]:
    return (
        Case(
            name="Resource",
            wildcards=wildcards,
            policy=_statement(Action="lightsail:GetInstance", Resource=ARN_PREFIX + wildcards),
            request=lambda n, i: ("lightsail:GetInstance", ARN_PREFIX + "a" * n + tail(i), {}),
            pattern=ARN_PREFIX + wildcards,
            subject=lambda n, i: ARN_PREFIX + "a" * n + tail(i),
        ),
        Case(
            name="StringLike",
            wildcards=wildcards,
            policy=_statement(
                Action="lightsail:GetInstance",
                Resource="*",
                Condition={"StringLike": {"aws:ResourceTag/Name": wildcards}},
            ),
            request=lambda n, i: (
                "lightsail:GetInstance",
                SOME_INSTANCE,
                {"aws:ResourceTag/Name": "a" * n + tail(i)},
            ),
            pattern=wildcards,
            subject=lambda n, i: "a" * n + tail(i),
        ),
        Case(
            name="Action",
            wildcards=wildcards,
            policy=_statement(Action="lightsail:" + wildcards, Resource="*"),
            request=lambda n, i: ("lightsail:" + "a" * n + tail(i), SOME_INSTANCE, {}),
            pattern="lightsail:" + wildcards,
            subject=lambda n, i: "lightsail:" + "a" * n + tail(i),
        ),
    )


CASES: tuple[Case, ...] = tuple(case for w in PATTERNS for case in _cases(w))


def per_call_seconds(fn: Callable[..., object], args: tuple[Any, ...], budget: float) -> float:
    """Best-of-3 seconds per call of ``fn(*args)``, with the count chosen to fill ``budget``."""
    start = time.perf_counter()
    fn(*args)
    once = max(time.perf_counter() - start, 1e-7)
    count = max(1, min(1_000_000, int(budget / 3 / once)))
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(count):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / count)
    return best


@dataclass
class NaiveRegexResult:
    """Naive regex timings on growing short inputs, and the extrapolation to the long input."""

    measured: list[tuple[int, float]] = field(default_factory=list)  # (n, seconds per call)
    stopped_because: str = ""
    exponent: float | None = None

    def extrapolate(self, n: int) -> float | None:
        """Seconds per call at length ``n`` by the fitted power law, or None without a fit."""
        if self.exponent is None or not self.measured:
            return None
        last_n, last_t = self.measured[-1]
        return last_t * (n / last_n) ** self.exponent


def naive_regex(case: Case, target: int, budget: float) -> NaiveRegexResult:
    """Time the naive ``.*`` translation on growing n until one call exceeds ``budget`` seconds."""
    regex = re.compile("^" + case.pattern.replace("*", ".*") + "$")
    result = NaiveRegexResult()
    n = 8
    while True:
        subject = case.subject(n, 0)
        start = time.perf_counter()
        matched = regex.match(subject) is not None
        single = time.perf_counter() - start
        if matched:  # the subjects never match; a match would mean the case is wrong
            raise AssertionError(f"naive regex unexpectedly matched at n={n}")
        seconds = (
            single if single > budget / 10 else per_call_seconds(regex.match, (subject,), 0.02)
        )
        result.measured.append((n, seconds))
        if n >= target:
            result.stopped_because = "reached the long length"
            break
        if single > budget:
            result.stopped_because = (
                f"one evaluation at {n} characters took {single:.3g} s (budget {budget:g} s); "
                "longer inputs would not finish"
            )
            break
        n = min(target, max(n + 1, round(n * 1.25)))
    growing = [(n_, t_) for n_, t_ in result.measured if t_ > 1e-5]
    if len(growing) >= 2:
        (n1, t1), (n2, t2) = growing[-2], growing[-1]
        if n2 > n1 and t2 > t1:
            result.exponent = math.log(t2 / t1) / math.log(n2 / n1)
    return result


@dataclass
class CaseResult:
    """Timings for one case at one length (microseconds per evaluation)."""

    case: str
    pattern: str  # the bare wildcard pattern
    length: int
    lspolicy_first_seen_us: float | None
    lspolicy_repeat_us: float | None
    lspolicy_note: str
    fnmatch_us: float


def _first_seen_us(lib: Any, case: Case, requests: list[Any], budget: float) -> float:
    """Median microseconds per evaluation of requests each new to a freshly built PolicySet."""
    per_call: list[float] = []
    deadline = time.perf_counter() + budget
    while len(per_call) < 3 or (time.perf_counter() < deadline and len(per_call) < 25):
        # A new policy and set each round: nothing remembered from the previous round.
        policy = lib.parse_policy(case.policy, source=f"pathological-{case.name}")
        is_allowed = lib.PolicySet(identity=[policy]).is_allowed
        start = time.perf_counter()
        for req in requests:
            is_allowed(req)
        per_call.append((time.perf_counter() - start) / len(requests))
    return statistics.median(per_call) * 1e6


def run_lspolicy_cases(
    lib: Any | None, lengths: tuple[int, ...], budget: float
) -> tuple[list[CaseResult], list[str]]:
    """Time every case at every length; returns the results and any wrong lspolicy answers."""
    results: list[CaseResult] = []
    wrong: list[str] = []
    for case in CASES:
        note = "lspolicy unavailable" if lib is None else ""
        if lib is not None:
            try:
                lib.PolicySet(identity=[lib.parse_policy(case.policy, source="pathological")])
            except Exception as exc:  # reported, not fatal: the contrast still runs
                note = f"policy rejected: {exc}"[:160]
        for n in lengths:
            first_us: float | None = None
            repeat_us: float | None = None
            cell_note = note
            if not note:
                assert lib is not None
                count = max(8, min(2_000, SUBJECT_BUDGET_CHARS // n))
                try:
                    requests = [
                        lib.Request(action=a, resource=r, context=c)
                        for a, r, c in (case.request(n, i) for i in range(count))
                    ]
                    policy = lib.parse_policy(case.policy, source=f"pathological-{case.name}")
                    policy_set = lib.PolicySet(identity=[policy])
                    allowed = sum(bool(policy_set.is_allowed(req)) for req in requests)
                    if allowed:
                        wrong.append(
                            f"{case.name} {case.wildcards!r} at {n} characters: {allowed} of "
                            f"{count} allowed, expected implicitDeny"
                        )
                    first_us = _first_seen_us(lib, case, requests, budget)
                    repeat_us = (
                        per_call_seconds(policy_set.is_allowed, (requests[0],), budget / 3) * 1e6
                    )
                    del requests
                except Exception as exc:
                    cell_note = f"error: {exc!r}"[:160]
                    wrong.append(f"{case.name} {case.wildcards!r} at {n} raised {exc!r}"[:200])
            subject = case.subject(n, 0)
            fn_us = per_call_seconds(fnmatch.fnmatchcase, (subject, case.pattern), budget) * 1e6
            results.append(
                CaseResult(case.name, case.wildcards, n, first_us, repeat_us, cell_note, fn_us)
            )
    return results, wrong
