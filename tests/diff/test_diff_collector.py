"""The garbage collector paused during a diff (`lspolicy.diff.collector`).

AWS documentation is silent here: this is a property of the implementation (CPython's
``gc`` module), not of IAM evaluation. What matters is that a diff leaves the collector as the
caller had it, and that the answers do not depend on it.
"""

from __future__ import annotations

import gc

import pytest

from lspolicy import parse_policy
from lspolicy.diff import compare, diff_policies
from lspolicy.diff.collector import paused


@pytest.fixture(autouse=True)
def _restore_collector():  # type: ignore[no-untyped-def]
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_disables_and_restores() -> None:
    gc.enable()
    with paused():
        assert not gc.isenabled()
        with paused():  # nested: still paused, and the inner exit does not re-enable
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_paused_never_enables_a_collector_the_caller_disabled() -> None:
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_paused_restores_after_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_diff_runs_paused_and_leaves_the_collector_enabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`diff_policies` searches with the collector paused and gives it back enabled; the
    answer is the one found with the collector running (a widened action: new access)."""
    during: list[bool] = []
    real = compare.group_actions

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        during.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(compare, "group_actions", spy)
    allow = {"Effect": "Allow", "Resource": "*"}
    old = [
        parse_policy(
            {"Version": "2012-10-17", "Statement": [{**allow, "Action": "lightsail:GetInstances"}]}
        )
    ]
    new = [
        parse_policy(
            {"Version": "2012-10-17", "Statement": [{**allow, "Action": "lightsail:GetInstance*"}]}
        )
    ]
    gc.enable()
    result = diff_policies(old, new, timeout=60)
    assert during == [False]
    assert gc.isenabled()
    assert {a for d in result.new_access for a in d.actions} >= {"lightsail:GetInstance"}
    assert not result.removed_access


def test_a_diff_leaves_no_cycles_for_the_collector() -> None:
    """Everything a diff allocates is freed by reference counting: with the collector off
    during it, a full collection afterwards finds nothing unreachable (the search's nested
    functions used to hold their narrowing tables in a reference cycle)."""
    allow = {"Effect": "Allow", "Resource": "arn:aws:lightsail:*:*:Instance/*"}
    condition = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    old = [
        parse_policy(
            {
                "Version": "2012-10-17",
                "Statement": [{**allow, "Action": "lightsail:Get*", "Condition": condition}],
            }
        )
    ]
    new = [
        parse_policy({"Version": "2012-10-17", "Statement": [{**allow, "Action": "lightsail:*"}]})
    ]
    diff_policies(old, new, timeout=60)  # first use: module caches filled
    gc.collect()
    gc.disable()
    result = diff_policies(old, new, timeout=60)
    assert result.new_access
    del result
    assert gc.collect() == 0
