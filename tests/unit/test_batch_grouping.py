"""`decide_requests` groups many principals' requests by principal before deciding them
(`batch._by_principal`, a counting sort): the order it decides in must never change an
answer, and an index that names no principal must fail as it does ungrouped.

Each answer is ``policy_sets[p].is_allowed`` on the request `Request.from_parts` builds, the
decision of https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
(no grouping changes which statements apply to a request).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_requests
from lspolicy.evaluate import batch

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

ACCOUNT = "111122223333"
STOP = "lightsail:StopInstance"


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1)))))
def test_grouping_is_the_stable_sort_by_principal(case: tuple[int, list[int]]) -> None:
    """For principal indices in range, the order is ``sorted`` by index, stable: each
    principal's requests together, in their own order."""
    count, principals = case
    items = [(p, STOP, 0, None) for p in principals]
    expected = sorted(range(len(items)), key=principals.__getitem__)
    assert list(batch._by_principal(items, count)) == expected


@pytest.mark.parametrize(
    ("bad", "error"), [(7, IndexError), ("0", TypeError), (1.0, TypeError)], ids=repr
)
def test_an_index_naming_no_principal_fails_grouped_as_ungrouped(
    bad: Any, error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A principal index out of range or not an integer: the requests stay in their own
    order and the stream raises the error it raises ungrouped."""
    items = [(0, STOP, 0, None), (bad, STOP, 0, None), (1, STOP, 0, None)]
    assert list(batch._by_principal(items, 2)) == [0, 1, 2]
    sets, principals, instances = _world(2)
    for above in (-1, 1 << 60):  # grouped whatever the sets' size, then never grouped
        monkeypatch.setattr(batch, "_GROUP_ABOVE", above)
        with pytest.raises(error):
            decide_requests(items, sets, principals, instances)


def test_answers_do_not_depend_on_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Interleaved requests of principals allowed and denied, a negative index (Python's
    indexing, as ungrouped) included: grouped and ungrouped answers are each request's own
    ``is_allowed``."""
    sets, principals, instances = _world(3)
    items = [
        (p, STOP, i, {"aws:SourceIp": ip})
        for p in (2, 0, -1, 1, 0, 2)
        for i in (1, 0)
        for ip in ("10.0.0.5", "192.0.2.1")
    ]
    expected = [
        sets[p].is_allowed(Request.from_parts(STOP, principals[p], instances[i], context=c))
        for p, _, i, c in items
    ]
    assert True in expected and False in expected
    for above in (-1, 1 << 60):  # grouped whatever the sets' size, then never grouped
        monkeypatch.setattr(batch, "_GROUP_ABOVE", above)
        assert decide_requests(items, sets, principals, instances) == expected


def _world(n: int) -> tuple[list[PolicySet], list[RequestPart], list[RequestPart]]:
    """``n`` principals: principal ``p`` may stop instances tagged ``team=t{p}`` from
    10.0.0.0/8; instance 0 is tagged ``t0``, instance 1 ``t2``."""
    sets = [
        PolicySet(
            [
                lspolicy.parse_policy(
                    json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": STOP,
                                    "Resource": "*",
                                    "Condition": {
                                        "StringEquals": {"aws:ResourceTag/team": f"t{p}"},
                                        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                                    },
                                }
                            ],
                        }
                    ),
                    source=f"<p{p}>",
                )
            ]
        )
        for p in range(n)
    ]
    principals = [RequestPart({}, caller_arn=f"arn:aws:iam::{ACCOUNT}:user/u{p}") for p in range(n)]
    arn = f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-"
    instances = [
        RequestPart({"aws:ResourceTag/team": team}, resource=f"{arn}{k}")
        for k, team in enumerate(("t0", "t2"))
    ]
    return sets, principals, instances
