"""Shared test configuration: the Hypothesis profiles.

``HYPOTHESIS_PROFILE`` picks one by name; otherwise ``ci`` when the ``CI`` environment variable is
set (CI services set it, and ``.ci/run`` sets ``CI=1`` when it is not), else ``local``.

- ``ci``: reproducible (derandomized, no example database), bounded, no deadline (a shared CI
  machine's timing says nothing), and a failure prints the blob that reproduces it.
- ``local``: the everyday run, a little wider than ``ci``, random, with the example database so
  a failure found once is tried first next time.
- ``dev``: a long search, for hunting bugs before a release.
- ``fuzz``: ``LSPOLICY_FUZZ_EXAMPLES`` inputs per test (default 10,000), for the input fuzz run
  (``HYPOTHESIS_PROFILE=fuzz pytest tests/property/test_fuzz_inputs.py``).

In parallel (``pytest -n logical``, pytest-xdist, as the README's command and ``.ci/run`` run
it), each worker is a process of its own: servers listen on port 0, files go to ``tmp_path``
or ``tempfile``, the ``ci`` profile keeps no example database (``local``'s is safe to share).
Tests go to whichever worker is free, one at a time, except the modules of ``ONE_WORKER``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ONE_WORKER = frozenset({"tests/account/test_review_engines.py"})
"""Modules whose tests run on one worker, in file order: the review engines compare against
serial runs made once per module, and their Ray tests need an order (the unreachable address
and the engine's own cluster before the module's cluster starts, one cluster per machine).
xdist's ``xdist_group`` mark would say this, but ``--dist loadgroup`` groups nothing under
pytest 9.2 (pytest-dev/pytest-xdist#1386): the scheduler below does it from the node ids."""


@pytest.hookimpl(optionalhook=True)  # without pytest-xdist installed, no such hook
def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """``--dist load`` (what ``-n`` means), with the modules of ``ONE_WORKER`` kept whole:
    every other test is its own unit, so a long test never holds a short one back. Units go
    out largest first (xdist's ``loadscope`` order), so the whole modules start first."""
    if config.getvalue("dist") != "load":
        return None  # an explicit --dist other than load is the caller's choice
    from xdist.scheduler import LoadScopeScheduling  # noqa: PLC0415 - only with -n

    class WholeModules(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER else nodeid

    return WholeModules(config, log)


settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("local", max_examples=200, deadline=None)
settings.register_profile(
    "dev", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("LSPOLICY_FUZZ_EXAMPLES", "10000")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "local")
)


@pytest.fixture(scope="module", params=["c", "python"])
def stream_loops(request: pytest.FixtureRequest) -> Iterator[str]:
    """The module's tests once on each loop of the batch path (`authorize._stream`): the C
    loop (`lspolicy/evaluate/_cstream.c`) and the pure-Python loop, which must give the same
    answers. Modules that decide batches use it: ``pytestmark =
    pytest.mark.usefixtures("stream_loops")``.

    The C loop is optional for users (no compiler: the pure-Python package), not for this
    suite: where it is not built, its run fails saying so, unless LSPOLICY_PURE is set (which
    turns it off: the pure-Python loop alone)."""
    from lspolicy.evaluate import authorize  # noqa: PLC0415

    native = authorize._native
    if request.param == "c":
        if native is None:
            if os.environ.get("LSPOLICY_PURE"):
                pytest.skip("LSPOLICY_PURE is set: the pure-Python loop alone")
            pytest.fail(
                "the C loop (lspolicy.evaluate._cstream) is not built: reinstall with a C "
                "compiler and Python's headers (pip install -e '.[test]'), or set "
                "LSPOLICY_PURE=1 to test the pure-Python loop alone"
            )
        yield "c"
        return
    authorize._native = None
    try:
        yield "python"
    finally:
        authorize._native = native
