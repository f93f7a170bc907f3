"""Property: for random small organizations, ``who-can`` and ``what-can`` answered from the
review's dataset (`lspolicy.account.from_review.ReviewData`) equal the answers computed from
the inventory (`lspolicy.account.query.Review`): the same principals, chains, decisions,
deciding statements (by ``POLICY/Sid`` label), caller conditions and incomplete policies.

The organizations are the generator of ``test_review_properties.py`` (users in groups, roles
with trust chains, boundaries, SCPs, tag conditions, caller keys, instances sharing classes,
policy variables). The semantics of each answer are the IAM docs' (cited in
`lspolicy.account.decide` and `lspolicy.account.reach`, and checked against brute force in
``test_account_properties.py``); this property checks that storing and reading back the answers
changes none of them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_properties import ACTIONS, reviewed

from lspolicy.account.from_review import Answer, ReviewData
from lspolicy.account.model import Inventory
from lspolicy.account.parquet import write_dataset
from lspolicy.account.query import Access, Review
from lspolicy.account.review import compute_matrix


def expected(access: Access) -> tuple[object, ...]:
    d = access.to_dict()
    return (
        access.principal,
        tuple(d["via"]),  # type: ignore[arg-type]
        d["decision"],
        tuple(dict.fromkeys(s.label for s in access.final.statements)),
        json.dumps(d["conditions"], sort_keys=True),
        access.incomplete,
    )


def stored(answer: Answer) -> tuple[object, ...]:
    return (
        answer.principal,
        answer.via,
        answer.decision,
        answer.statements,
        json.dumps(list(answer.conditions), sort_keys=True),
        answer.incomplete,
    )


@settings(max_examples=25)
@given(reviewed())
def test_stored_answers_equal_the_inventory_answers(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    review = Review(inv, max_chain=MAX_CHAIN)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(
            out, inv, matrix, production=[("env", "prod")], group_tag="env", observed=None
        )
        with ReviewData(out) as data:
            assert set(data.actions) == set(ACTIONS)
            for arn, instance in sorted(inv.instances.items()):
                assert data.instance(arn) == (arn, instance.name)
                for action in ACTIONS:
                    got = [stored(a) for a in data.who_can(action, arn)]
                    assert got == [expected(a) for a in review.who_can(action, instance)]
            for principal in review.authority.principals()[:4]:
                got_what = [
                    (i, act, stored(a)) for i, _, act, a in data.what_can(principal, ACTIONS)
                ]
                want = [
                    (inst.arn, act, expected(a))
                    for inst, act, a in review.what_can(principal, ACTIONS)
                ]
                assert got_what == want
