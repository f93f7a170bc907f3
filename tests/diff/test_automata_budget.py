"""Every exhaustive string search of the semantic diff looks at the clock while it runs.

The searches counted states in ``len(seen)`` and looked at the clock only when that count was
an exact multiple of 1,024; a state adds several successors at once, so a search could step
over every multiple and run past its ``--timeout`` (a 0.5 s diff of two 5 KB wildcard-heavy
policies ran 2-3 s). No AWS page covers this: it is lspolicy's own budget (``--timeout``).
"""

from __future__ import annotations

import time

import pytest

from lspolicy.budget import time_budget
from lspolicy.diff.automata import (
    ComplexityError,
    Product,
    SeqNFA,
    coreachable,
    explore,
    find,
    glob_elements,
    reachable,
)
from lspolicy.glob import tokens_of


def _product() -> Product:
    """Several many-state wildcard patterns: thousands of product states, well under the
    state limits, so only the clock can stop a search early."""
    patterns = ["*a?b?a*b?", "?*ab*ba?*", "a*?b*?a*b", "*b?a?b*a?"]
    return Product([SeqNFA([glob_elements(tokens_of(p))]) for p in patterns])


def test_an_expired_budget_stops_each_search() -> None:
    """With the deadline already past, each search raises ComplexityError naming the budget,
    within 64 states of starting, instead of finishing."""
    product = _product()
    assert len(reachable(product)) > 200  # enough states that a search would go on
    with time_budget(1e-9):
        time.sleep(0.001)
        for search in (
            lambda: explore(product, lambda s: (False,)),
            lambda: reachable(product),
            lambda: coreachable(product, [product.start], lambda s: False),
            lambda: find(product, lambda s: False),
        ):
            with pytest.raises(ComplexityError, match="time budget"):
                search()
