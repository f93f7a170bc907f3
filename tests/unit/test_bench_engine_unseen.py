"""bench/engine.py's unseen-requests figure and per-round ratios (issue 12): the chunks decided
after the timed passes are requests the timed passes never held (the harder generator gives
each request its own ``aws:CurrentTime``, so no request of a chunk equals another's), the
timed requests are the same whether or not chunks are drawn after them, and every mode's
answers on the chunks are checked against the explained path.

How fast an evaluator runs is not an AWS behaviour; the IAM User Guide is silent on it. The
answers checked here are the explained path's (``PolicySet.evaluate``), whose semantics other
tests cite ("Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
"""

from __future__ import annotations

from types import ModuleType

from benchmodules import bench_module


def engine() -> ModuleType:
    return bench_module("engine")


def _time(request: tuple[object, ...]) -> str:
    extra = request[3]
    assert isinstance(extra, dict)
    return str(extra["aws:CurrentTime"])


def test_unseen_chunks_follow_the_timed_requests_and_never_repeat_them() -> None:
    e = engine()
    plain = e.load_harder(200)
    case = e.load_harder(200, unseen=2)
    assert case.requests == plain.requests
    assert [len(chunk) for chunk in case.unseen] == [200, 200]
    # every request carries a time no other request has: a chunk repeats no request
    times = [_time(r) for chunk in (case.requests, *case.unseen) for r in chunk]
    assert len(set(times)) == len(times) == 600
    assert plain.unseen == []


def test_unseen_passes_check_every_mode_against_the_oracle() -> None:
    e = engine()
    case = e.load_harder(150, unseen=2)
    lines: list[str] = []
    got = e.unseen_passes(case, ["batch", "parts"], lines.append)
    assert set(got) == {"batch", "parts"}
    for figures in got.values():
        assert figures["requests"] == 300
        assert figures["agree"] == 300
        assert figures["dps"] > 0
    assert "300 requests never decided before" in lines[0]
    assert e.unseen_passes(e.load_harder(50), ["batch"], lines.append) == {}


def test_unseen_passes_count_a_wrong_answer() -> None:
    """A mode that answers wrongly on the chunks is counted (so ``ok`` turns false)."""
    e = engine()
    case = e.load_harder(100, unseen=1)
    e.MODES["always-no"] = lambda c: [False] * len(c.requests)
    try:
        got = e.unseen_passes(case, ["always-no"], lambda _line: None)
    finally:
        del e.MODES["always-no"]
    truth = e.oracle(e.replace(case, requests=case.unseen[0], unseen=[]))
    assert any(truth)  # the workload allows some request, so "always no" is wrong somewhere
    assert got["always-no"]["agree"] == len(truth) - sum(truth)


def test_paired_ratios_pair_pass_k_with_pass_k() -> None:
    e = engine()
    # a mode's passes of 1 s and 2 s beside a peer's of 10 s and 40 s: 10x then 20x, where
    # the ratio of the medians (25 / 1.5) pairs neither round
    assert e.paired_ratios([1.0, 2.0], [10.0, 40.0]) == [10.0, 20.0]
