"""Property: the column maps held per account (`ClassCells`: part maps per run of one account's
instance classes, and translations) are the maps: the dataset's ``column_maps`` and
``instance_columns`` views (over ``part_maps.parquet`` and ``map_parts.parquet``) list exactly
each used map's ``(map, instance class, column)`` rows as `ClassCells.dense` rebuilds them.

Why a map is mostly constant on other accounts: a request on another account's Lightsail
instance is never allowed without a resource-based policy naming the principal (IAM User Guide,
"Cross-account policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html),
and Lightsail instances have none, so there the columns are split only by what the Denies read.
How the maps are stored is this project's own format: AWS documentation is silent on it; the
property is equality with the maps as held, row for row.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from array import array
from collections import Counter
from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_cross_account import crossed
from test_review_properties import ACTIONS

from lspolicy.account.model import Inventory
from lspolicy.account.parquet import connect, write_dataset
from lspolicy.account.review import ClassCells, account_runs, compute_matrix


def _held(cells: ClassCells) -> list[tuple[int, int, int]]:
    return sorted(
        (m, ic, c) for m in set(cells.map_of.values()) for ic, c in enumerate(cells.dense(m))
    )


def _check_factorized(cells: ClassCells, n_classes: int) -> None:
    """Each part map covers its run and is numbered by first occurrence; equal restrictions
    are held once; each map has one part per run."""
    bounds = (*cells.starts, n_classes)
    seen: set[tuple[int, bytes]] = set()
    for p, local in enumerate(cells.parts):
        run = cells.part_run[p]
        assert len(local) == bounds[run + 1] - bounds[run]
        assert list(dict.fromkeys(local)) == list(range(cells.part_width[p]))
        key = (run, local.tobytes())
        assert key not in seen
        seen.add(key)
    for m, (ids, trans) in enumerate(cells.maps):
        assert [cells.part_run[p] for p in ids] == list(range(len(cells.starts)))
        assert len(trans) == sum(cells.part_width[p] for p in ids)
        dense = cells.dense(m)
        assert len(dense) == n_classes
        sizes = Counter(dense)
        assert cells.column_sizes(m) == [sizes[c] for c in range(max(dense, default=-1) + 1)]


@settings(max_examples=20, deadline=None)
@given(crossed())
def test_the_map_views_are_the_maps_as_held(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    cells = matrix.cells
    n = len(matrix.instances.reps)
    assert cells.starts == account_runs(matrix.instances)
    _check_factorized(cells, n)
    # the runs are one account each, and maximal
    accounts = [r.account for r in matrix.instances.reps]
    bounds = (*cells.starts, n)
    for lo, hi in pairwise(bounds):
        assert len(set(accounts[lo:hi])) == 1
        assert hi == n or accounts[hi] != accounts[lo]
    want = _held(cells)
    # a pickled copy (what a pool worker sends) holds the same maps
    copy = pickle.loads(pickle.dumps(cells))
    assert _held(copy) == want
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(out, inv, matrix, production=[], group_tag="env", observed=None,
                      materialize="never")  # fmt: skip
        assert not (out / "column_maps.parquet").exists()
        con = connect(out)
        for view in ("column_maps", "instance_columns"):
            got = sorted(
                con.execute(f"SELECT map, instance_class, column_id FROM {view}").fetchall()
            )
            assert got == want
        matrix_rows = sorted(map(str, con.execute("SELECT * FROM matrix").fetchall()))
        con.close()
        # the same dataset with the maps as dense files (the layout before): the same matrix
        _to_dense_files(out)
        con = connect(out)
        assert sorted(map(str, con.execute("SELECT * FROM matrix").fetchall())) == matrix_rows
        con.close()


def _to_dense_files(out: Path) -> None:
    con = connect(out)
    for name in ("column_maps", "instance_columns"):
        con.execute(f"COPY (SELECT * FROM {name}) TO '{out / name}.parquet' (FORMAT PARQUET)")
    con.close()
    for name in ("part_maps", "map_parts"):
        (out / f"{name}.parquet").unlink()
    record = json.loads((out / "dataset.json").read_text())
    del record["maps"]
    (out / "dataset.json").write_text(json.dumps(record))


def test_maps_share_the_parts_of_the_accounts_they_do_not_detail() -> None:
    """Two runs (accounts): maps detailed on the first and constant on the second share the
    second's part map; equal restrictions on the first are held once, with each map's own
    translation; `extend` interns the other's parts and maps into these."""
    a = ClassCells(("s",), (0, 3))
    m0 = a.add_map(array("i", [0, 1, 0, 2, 2]))
    m1 = a.add_map(array("i", [1, 0, 1, 2, 2]))  # the same restriction, other columns
    m2 = a.add_map(array("i", [0, 0, 0, 1, 1]))
    assert len({m0, m1, m2}) == 3
    assert a.add_map(array("i", [0, 1, 0, 2, 2])) == m0
    assert len(a.parts) == 3  # [0,1,0] and [0,0,0] on run 0; [0,0] on run 1
    assert a.maps[m0][0][0] == a.maps[m1][0][0]
    assert a.maps[m0][0][1] == a.maps[m1][0][1] == a.maps[m2][0][1]
    assert list(a.maps[m1][1]) == [1, 0, 2]
    assert list(a.dense(m1)) == [1, 0, 1, 2, 2]
    assert a.column_sizes(m0) == [2, 1, 2]
    b = ClassCells(("s",), (0, 3))
    b.map_of[5] = b.add_map(array("i", [0, 0, 1, 2, 3]))
    b.map_of[6] = b.add_map(array("i", [1, 0, 1, 2, 2]))  # a's m1
    a.extend(b)
    assert a.map_of == {5: 3, 6: m1}
    assert list(a.dense(3)) == [0, 0, 1, 2, 3]
    assert len(a.parts) == 5  # [0,0,1] on run 0, [0,1] on run 1


def test_a_dataset_with_dense_map_files_still_opens(tmp_path: Path) -> None:
    """A dataset written before the part maps (``column_maps.parquet`` and
    ``instance_columns.parquet``, no ``"maps"`` in ``dataset.json``) opens with its files:
    the same matrix."""
    from test_review_cross_account import ACCOUNTS  # noqa: PLC0415

    from lspolicy.account.model import Instance, User  # noqa: PLC0415

    users = {
        f"arn:aws:iam::{acct}:user/u{i}": User(arn=f"arn:aws:iam::{acct}:user/u{i}", name=f"u{i}")
        for i, acct in enumerate(ACCOUNTS)
    }
    instances = {
        f"arn:aws:lightsail:us-east-1:{acct}:Instance/i{i}": Instance(
            arn=f"arn:aws:lightsail:us-east-1:{acct}:Instance/i{i}",
            name=f"i{i}",
            region="us-east-1",
            tags={"env": "prod" if i % 2 else "dev"},
        )
        for i, acct in enumerate(ACCOUNTS * 2)
    }
    inv = Inventory(users=users, instances=instances)
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    new = tmp_path / "new"
    write_dataset(new, inv, matrix, production=[], group_tag="env", observed=None,
                  materialize="never")  # fmt: skip
    con = connect(new)
    want = sorted(map(str, con.execute("SELECT * FROM matrix").fetchall()))
    con.close()
    assert len(want) == len(users) * len(instances) * len(ACTIONS)
    _to_dense_files(new)
    assert not (new / "part_maps.parquet").exists()
    con = connect(new)
    assert sorted(map(str, con.execute("SELECT * FROM matrix").fetchall())) == want
    con.close()
