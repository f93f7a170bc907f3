"""`WitnessTable`: the escalation search's class witnesses held by columns, the same rows.

Issue 11 §3 (the whole organization in < 4 GB): the witnesses were one Python tuple per row
(~250 bytes; ~3 million rows at full scale, held by the worker that found them and again by the
driver). The table holds seven ids per row and each distinct value once. What is checked: on
random rows the table is the list of rows it was given (indexing, negative indexes, slices,
iteration, equality), also after ``extend`` with another table or a list and after a pickle
round trip (how a pool worker sends it); each distinct value is held once; and the dataset's
``escalation_classes.parquet``, now written from the columns, has the rows the row-by-row
writer produced before (`_reference_rows`, that writer's per-row derivation) on random
organizations where escalations are common. No AWS semantics are involved: the comparison is
between two representations of the same rows (the escalations themselves are checked against
the Python expansion in `test_review_escalation_store`).
"""

from __future__ import annotations

import dataclasses
import functools
import pickle
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_escalation_search import _escalating
from test_review_escalation_search import small_account as one_account
from test_review_joins import joined
from test_review_properties import ACTIONS

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.escalation_store import write_escalations
from lspolicy.account.instances import read_instances
from lspolicy.account.model import Inventory
from lspolicy.account.organization import read_organization
from lspolicy.account.review import Matrix, _join_retag, compute_matrix
from lspolicy.account.views import ESCALATION_FILES
from lspolicy.account.witness_table import Witness, WitnessRow, WitnessTable

_words = st.sampled_from(["a", "b", "arn:1", "arn:2", "dév", ""])
_names = st.tuples() | st.tuples(_words) | st.tuples(_words, _words)
_witnesses: st.SearchStrategy[Witness] = st.tuples(
    _words,
    _words,
    st.lists(st.tuples(_words, _words), max_size=2).map(tuple),
    _names,
    _names,
    _names,
    st.booleans(),
)
_rows: st.SearchStrategy[WitnessRow] = st.tuples(
    st.integers(0, 70_000),
    st.integers(0, 70_000),
    st.integers(0, 7),
    st.integers(0, 7),
    _witnesses,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_rows, max_size=30), st.lists(_rows, max_size=30), st.data())
def test_the_table_is_the_rows(
    rows: list[WitnessRow], more: list[WitnessRow], data: st.DataObject
) -> None:
    table = WitnessTable(rows)
    assert table == rows
    assert list(table) == rows
    assert len(table) == len(rows)
    if rows:
        n = data.draw(st.integers(-len(rows), len(rows) - 1))
        assert table[n] == rows[n]
    lo, hi = data.draw(st.integers(0, len(rows))), data.draw(st.integers(0, len(rows)))
    assert table[lo:hi] == rows[lo:hi]
    # each distinct ARN and tail held once
    assert len(table.arns) == len({a for r in rows for a in r[4][:2]})
    assert len(table.tails) == len({r[4][2:] for r in rows})

    sent = pickle.loads(pickle.dumps(table))
    assert sent == rows
    sent.extend(WitnessTable(more))  # a worker's batch merged by the driver
    assert sent == rows + more
    listed = WitnessTable(rows)
    listed.extend(more)
    assert listed == rows + more
    assert len(sent.arns) == len({a for r in rows + more for a in r[4][:2]})


def test_out_of_range() -> None:
    table = WitnessTable([(1, 2, 0, 0, ("i", "j", (), (), (), (), False))])
    assert table[-1] == table[0]
    for n in (1, -2):
        try:
            table[n]
        except IndexError:
            continue
        raise AssertionError(f"table[{n}] did not raise")


def _reference_rows(matrix: Matrix) -> list[tuple[Any, ...]]:
    """``escalation_classes``' rows as the writer derived them row by row from the witness
    tuples before the table (``set_id`` numbered by first occurrence of a tag set)."""
    classes = matrix.instances
    joins = len(classes.joins)
    set_ids: dict[tuple[tuple[str, str], ...], int] = {}
    out = []
    for pc, ic, bits, like_bits, esc in matrix.witnesses:
        jc = classes.of[esc[1]]
        set_mask = remove_mask = 0
        if joins:
            now = tuple(bool(bits >> j & 1) for j in range(joins))
            then = tuple(bool(like_bits >> j & 1) for j in range(joins))
            set_j, remove_j = _join_retag(classes, ic, jc, now, then)
            set_mask, remove_mask = sum(1 << j for j in set_j), sum(1 << j for j in remove_j)
        out.append(
            (
                pc,
                ic,
                bits,
                like_bits,
                jc,
                esc[1],
                set_ids.setdefault(esc[2], len(set_ids)),
                list(esc[3]),
                set_mask,
                remove_mask,
                list(esc[4]),
                list(esc[5]),
                esc[6],
            )
        )
    return out


def _assert_written_as_before(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=True)
    assert isinstance(matrix.witnesses, WitnessTable)
    with tempfile.TemporaryDirectory() as tmp:
        write_escalations(Path(tmp), matrix)
        table = pq.read_table(Path(tmp) / f"{ESCALATION_FILES[0]}.parquet")
    got = [tuple(r.values()) for r in table.to_pylist()]
    assert got == _reference_rows(matrix)


@settings(max_examples=25, deadline=None)
@given(one_account())
def test_the_classes_file_is_written_as_before(inv: Inventory) -> None:
    _assert_written_as_before(inv)


@settings(max_examples=10, deadline=None)
@given(_escalating(joined().map(lambda case: case[0])))
def test_the_classes_file_is_written_as_before_with_join_features(inv: Inventory) -> None:
    _assert_written_as_before(inv)


@functools.cache
def _example() -> tuple[Inventory, Matrix]:
    """The bundled sample export's review (its classes give valid class ids and ARNs)."""
    root = Path(__file__).resolve().parents[2] / "examples" / "account"
    inv = Inventory()
    read_organization(str(root / "organization.json"), inv)
    read_auth_details(sorted(str(p) for p in root.glob("auth-details-*.json")), inv)
    read_instances(sorted(str(p) for p in root.glob("instances-*.json")), inv)
    return inv, compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=True)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_any_witness_rows_are_written_as_before(data: st.DataObject) -> None:
    """Rows drawn over the sample's classes, with tag sets shared by rows whose other fields
    differ (so that a tag set's id is not a row's distinct-value id)."""
    _, matrix = _example()
    n = len(matrix.instances.reps)
    tag_sets = [(), (("env", "prod"),), (("env", "dev"), ("team", "a"))]
    rows = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, 5),
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                st.sampled_from(tag_sets),
                _names,
                _names,
                _names,
                st.booleans(),
            ),
            max_size=40,
        )
    )
    witnesses = WitnessTable()
    for pc, ic, jc, sets, remove, tag_via, stop_via, conditional in rows:
        reps = matrix.instances.reps
        witnesses.append(
            pc, ic, 0, 0, (reps[ic].arn, reps[jc].arn, sets, remove, tag_via, stop_via, conditional)
        )
    drawn = dataclasses.replace(matrix, witnesses=witnesses)
    with tempfile.TemporaryDirectory() as tmp:
        write_escalations(Path(tmp), drawn)
        table = pq.read_table(Path(tmp) / f"{ESCALATION_FILES[0]}.parquet")
    assert [tuple(r.values()) for r in table.to_pylist()] == _reference_rows(drawn)
