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
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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
