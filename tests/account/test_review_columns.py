"""The class cells stored by columns: exact, and each column map held once.

A principal class's targets (itself and the roles it reaches) tell apart only the instance
classes their own readers do, so the review stores one answer per (principal class, column,
join bits, action) and each principal class's column map (instance class -> column), equal
maps held once; ``cells`` is a DuckDB view joining them (`lspolicy.account.views.cells_sql`).
The IAM semantics are those of the dense cells these must equal (`Review.access`, the IAM
User Guide's "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
what is checked here is the storage: on random organizations, with and without join features
(`${aws:username}` compared with an ``owner`` tag: the IAM User Guide's "IAM policy elements:
Variables and tags"), the view equals the dense cells computed per instance class the way the
review did before (every target's verdict on every class, the best by `_best_per_class`'s
rule), row for row, and no two stored maps are equal.
"""

from __future__ import annotations

import tempfile
from array import array
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import given, settings
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_joins import joined
from test_review_properties import ACTIONS, reviewed

from lspolicy.account.classes import InstanceClasses, find_join_features, role_values
from lspolicy.account.decide import Authority
from lspolicy.account.model import Inventory
from lspolicy.account.parquet import matrix_rows, write_dataset
from lspolicy.account.review import (
    ClassCells,
    ClassReview,
    _best_per_class,
    _combos,
    _outcome,
    _targets,
    compute_matrix,
)
from lspolicy.account.views import cells_sql, maps_sql


def dense_cells(inv: Inventory, reps: dict[int, str]) -> list[tuple[Any, ...]]:
    """Every class cell, one per (principal class, instance class, bits, action), computed
    per instance class from a fresh review (the layout before columns)."""
    authority = Authority(inv)
    joins = find_join_features(inv, authority)
    classes = InstanceClasses.build(inv, joins, role_values(inv, authority, joins))
    review = ClassReview(inv, classes, max_chain=MAX_CHAIN)
    out: list[tuple[Any, ...]] = []
    for pc, rep in sorted(reps.items()):
        targets = _targets(review, rep)
        for combo in _combos(targets[0].values):
            mask = sum(1 << j for j, b in enumerate(combo) if b)
            for action in ACTIONS:
                col_of, cols, best = _best_per_class(review, targets, action, combo)
                assert len(col_of) == len(classes.reps)
                for ic, c in enumerate(col_of):
                    has = classes.class_has[ic] if joins else ()
                    if any(b and not h for b, h in zip(combo, has, strict=False)):
                        continue  # no member of the class carries the tag this bit needs
                    o = _outcome(review, targets, cols[c], best[c])
                    out.append((pc, ic, action, o[0], o[1], list(o[2]), list(o[3]), o[4],
                                list(o[5]), mask))  # fmt: skip
    return sorted(out)


def check(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    cells = matrix.cells
    # each stored map is distinct, every principal class has one, and no map is unused
    assert len({cells.dense(m).tobytes() for m in range(len(cells.maps))}) == len(cells.maps)
    assert sorted(cells.map_of) == sorted(set(matrix.principal_class.values()))
    assert set(cells.map_of.values()) == set(range(len(cells.maps)))
    reps: dict[int, str] = {}
    for p in matrix.principals:
        reps.setdefault(matrix.principal_class[p], p)
    want = dense_cells(inv, reps)
    assert len(cells) == len(want)  # the expanded count, from the column sizes
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(out, inv, matrix, production=[], group_tag="env", observed=None,
                      materialize="never")  # fmt: skip
        con = duckdb.connect()
        for name in ("class_columns", "class_maps", "part_maps", "map_parts"):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{out}/{name}.parquet')")
        for name in ("column_maps", "instance_columns"):
            con.execute(f"CREATE VIEW {name} AS {maps_sql()}")
        joins = len(matrix.instances.joins)
        for maps in ("instance_columns", "column_maps"):
            sql = cells_sql(joins=joins, maps=maps)
            got = sorted(
                (r[0], r[1], r[2], r[3], r[4], list(r[5]), list(r[7]), r[8], list(r[9]),
                 r[10] if joins else 0)
                for r in con.execute(sql).fetchall()
            )  # fmt: skip
            assert got == want
        con.close()
    # the matrix's row count, from the columns: every principal, instance and action once
    assert matrix_rows(matrix) == len(matrix.principals) * len(inv.instances) * len(ACTIONS)


@settings(max_examples=20, deadline=None)
@given(reviewed())
def test_columns_expand_to_the_dense_cells(inv: Inventory) -> None:
    check(inv)


@settings(max_examples=20, deadline=None)
@given(joined())
def test_columns_with_join_bits_expand_to_the_dense_cells(case: tuple[Inventory, str]) -> None:
    check(case[0])


def test_equal_maps_are_held_once_and_merged_in_order() -> None:
    """`ClassCells.add_map` keeps one map per content; `extend` (the engines' merge) remaps
    the other part's maps and answers; iteration expands each stored row over its column's
    instance classes, in class order."""
    a = ClassCells(("s",))
    m0 = a.add_map(array("i", [0, 1, 0]))
    assert a.add_map(array("i", [0, 1, 0])) == m0
    a.map_of[0] = m0
    outcome = ("allowed", "allowed", (), ("P/S",), "[]", ())
    denied = ("implicitDeny", "implicitDeny", (), (), "[]", ())
    for col, o in ((0, outcome), (1, denied)):
        a.pclass.append(0)
        a.column.append(col)
        a.action.append(0)
        a.outcome.append(a.intern(o))
        a.bits.append(0)
    b = ClassCells(("s",))
    b.map_of[1] = b.add_map(array("i", [0, 0, 0]))
    b.map_of[2] = b.add_map(array("i", [0, 1, 0]))  # equal to a's: shared after the merge
    for pc in (1, 2):
        b.pclass.append(pc)
        b.column.append(0)
        b.action.append(0)
        b.outcome.append(b.intern(denied))
        b.bits.append(0)
    a.extend(b)
    assert len(a.maps) == 2
    assert a.map_of == {0: 0, 1: 1, 2: 0}
    assert a.stored == 4
    got = [(c.principal_class, c.instance_class, c.decision) for c in a]
    assert got == [
        (0, 0, "allowed"), (0, 1, "implicitDeny"), (0, 2, "allowed"),
        (1, 0, "implicitDeny"), (1, 1, "implicitDeny"), (1, 2, "implicitDeny"),
        (2, 0, "implicitDeny"), (2, 2, "implicitDeny"),
    ]  # fmt: skip
    assert len(a) == 8  # principal class 2's column 1 has no row: nothing stands for it


def _doc(statements: list[dict[str, object]], source: str, kind: str = "identity") -> Any:
    import json  # noqa: PLC0415

    from lspolicy import parse_policy  # noqa: PLC0415

    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return parse_policy(text, source=source, kind=kind, max_size=0)  # type: ignore[arg-type]


def test_a_role_carrying_a_variable_its_class_representative_lacks() -> None:
    """Two roles with the same policies, neither reading ``${aws:PrincipalTag/team}``, are one
    identity class; only the one a user reaches carries ``team``. The class's representative
    (the other, first by ARN) lacks the variable while the reached role's join bit is set:
    its verdict is decided without the variable (no policy of the class reads it), and every
    expanded cell is the reference's. Found at the organization's scale (a `StopIteration`).
    IAM User Guide, "IAM policy elements: Variables and tags" (a principal tag compared with a
    resource tag); "How IAM roles differ from resource-based policies" (a trust policy naming
    a user of the same account lets it assume the role)."""
    from test_review_joins import assert_cells_are_the_reference, expanded_cells  # noqa: PLC0415

    from lspolicy.account.model import Instance, ManagedPolicy, Role, User  # noqa: PLC0415

    acct = "111111111111"
    user = f"arn:aws:iam::{acct}:user/u"
    tagged, untagged = f"arn:aws:iam::{acct}:role/b-tagged", f"arn:aws:iam::{acct}:role/a-untagged"
    team = f"arn:aws:iam::{acct}:policy/Team"
    stop = f"arn:aws:iam::{acct}:policy/Stop"
    inv = Inventory()
    inv.policies[team] = ManagedPolicy(team, "Team", _doc([{
        "Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    }, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}], team))  # fmt: skip
    inv.policies[stop] = ManagedPolicy(stop, "Stop", _doc([{
        "Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
    }], stop))  # fmt: skip
    inv.users[user] = User(user, "u", managed=(team,), tags={"team": "a"})
    trust = _doc([{"Effect": "Allow", "Principal": {"AWS": user}, "Action": "sts:AssumeRole"}],
                 f"{tagged}#trust", "resource")  # fmt: skip
    inv.roles[tagged] = Role(tagged, "b-tagged", trust=trust, managed=(stop,), tags={"team": "a"})
    inv.roles[untagged] = Role(untagged, "a-untagged", managed=(stop,))
    for name, tags in (("i1", {"team": "a", "env": "dev"}), ("i2", {"team": "b", "env": "dev"}),
                       ("i3", {"team": "a", "env": "prod"}), ("i4", {"env": "dev"})):  # fmt: skip
        arn = f"arn:aws:lightsail:us-east-1:{acct}:Instance/{name}"
        inv.instances[arn] = Instance(name, arn, "us-east-1", tags=tags)
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    assert [f.variable for f in matrix.instances.joins] == ["aws:principaltag/team"]
    assert matrix.identity_class[tagged] == matrix.identity_class[untagged]
    ref = assert_cells_are_the_reference(inv, expanded_cells(inv, matrix))
    # the user stops i1 (its own team) directly, and i2/i4 (dev) through the role
    access = ref.access(
        user, ACTIONS[0], inv.instances[f"arn:aws:lightsail:us-east-1:{acct}:Instance/i2"]
    )
    assert access is not None and [h.role for h in access.via] == [tagged]
