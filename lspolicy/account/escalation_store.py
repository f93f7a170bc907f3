"""Tag escalations stored by class: the escalation search's witnesses and what their expansion
reads, never one row per (principal, instance) in Python.

`lspolicy.account.review.expand_escalations` turns each class witness ``(principal class,
instance class, bits, like bits, witness)`` into one `Escalation` per member pair; at an
organization's scale that is tens of millions of Python objects. The review stores instead
(`ESCALATION_FILES`, each ``DIR/NAME.parquet``):

``escalation_classes``
    one row per witness: the two classes, the join bits, the like instance's class and bits,
    the representative's like instance, its retagging (``set_id`` into
    ``escalation_tag_sets``, the tags to remove), the join tags to rewrite per member
    (``set_mask``, ``remove_mask``: `lspolicy.account.review._join_retag`), the roles, and
    whether the answer is conditional;
``escalation_tag_sets``
    each distinct set of tags to set, as ``json.dumps`` writes it (``set_json``) and as a
    list of ``(key, pair)`` (``pair``: ``"key": "value"`` in JSON) the view merges join tags
    into;
``escalation_member_sets``
    the tags to set of the members of a class that already carry some of them
    (`lspolicy.account.review._member_sets`): only those members, only where it differs;
``escalation_likes``
    with join features, per principal and like class and bits: the first member of the class
    with those bits (the like instance the expansion names);
``escalation_join_tags``
    with join features, each instance's join tags as written (key, value, JSON pair).

The view ``escalations`` (`lspolicy.account.views.escalations_sql`) joins them with
``principals`` and ``instances`` and gives the columns and rows ``escalations.parquet`` had.
Row counts stored: witnesses, distinct tag sets, the members that carry a tag to set, and
(with joins) principals x like classes; the expansion is DuckDB's.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lspolicy.account.views import ESCALATION_FILES
from lspolicy.account.witness_table import WitnessTable

if TYPE_CHECKING:
    from lspolicy.account.classes import InstanceClasses
    from lspolicy.account.review import Matrix

__all__ = ["ESCALATION_FILES", "write_escalations"]

BATCH_ROWS = 1 << 16
"""Rows converted to Arrow at a time."""


def _pair(key: str, value: str) -> str:
    """One ``"key": "value"`` item as ``json.dumps(..., sort_keys=True)`` writes it."""
    return json.dumps(key) + ": " + json.dumps(value)


class _Writer:
    """A Parquet file written ``BATCH_ROWS`` rows at a time from column lists."""

    def __init__(self, path: Path, schema: Any) -> None:
        import pyarrow.parquet as pq  # noqa: PLC0415 - the dataset writer only

        self.schema = schema
        self.rows: dict[str, list[Any]] = {f.name: [] for f in schema}
        self.writer = pq.ParquetWriter(path, schema)
        self.n = 0

    def add(self, *values: Any) -> None:
        for column, v in zip(self.rows.values(), values, strict=True):
            column.append(v)
        self.n += 1
        if self.n >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa  # noqa: PLC0415

        if self.n:
            self.writer.write_table(pa.Table.from_pydict(self.rows, schema=self.schema))
            for column in self.rows.values():
                column.clear()
            self.n = 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


def write_escalations(out: Path, matrix: Matrix) -> None:
    """Write `ESCALATION_FILES` for ``matrix``'s witnesses (see the module)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    from lspolicy.account.review import _join_retag, _MemberBits  # noqa: PLC0415

    classes = matrix.instances
    joins = len(classes.joins)
    text, i32, flag, texts = pa.string(), pa.int32(), pa.bool_(), pa.list_(pa.string())
    pairs = pa.list_(pa.struct([("key", text), ("pair", text)]))
    instances = matrix.retag_instances
    filtered = bool(classes.outcome_tags) and instances is not None

    schema = pa.schema(
        [
            ("principal_class", i32),
            ("instance_class", i32),
            ("bits", i32),
            ("like_bits", i32),
            ("like_class", i32),
            ("like_instance_arn", text),
            ("set_id", i32),
            ("remove_tags", texts),
            ("set_mask", i32),
            ("remove_mask", i32),
            ("tag_via", texts),
            ("stop_via", texts),
            ("conditional", flag),
        ]
    )
    set_ids: dict[tuple[tuple[str, str], ...], int] = {}
    retags: dict[tuple[int, int, int, int], tuple[int, int]] = {}
    used_sets: dict[tuple[int, int], None] = {}  # (set id, instance class)
    likes_needed: dict[tuple[int, int, int], None] = {}  # (principal class, like class, bits)

    def masks(key: tuple[int, int, int, int]) -> tuple[int, int]:
        got = retags.get(key)
        if got is None:
            ic, jc, bits, like_bits = key
            now = tuple(bool(bits >> j & 1) for j in range(joins))
            then = tuple(bool(like_bits >> j & 1) for j in range(joins))
            set_j, remove_j = _join_retag(classes, ic, jc, now, then)
            got = retags[key] = (sum(1 << j for j in set_j), sum(1 << j for j in remove_j))
        return got

    of = classes.of
    table = WitnessTable.of(matrix.witnesses)
    # by distinct value, not by row: each like ARN's class, each tail's tag set id
    like_class = array("i", [of[a] for a in table.arns])
    tail_set = array("i", [set_ids.setdefault(t[0], len(set_ids)) for t in table.tails])
    tails = table.tails
    arns = pa.array(table.arns, text)
    tail_columns = [
        pa.array([t[1] for t in tails], texts),
        pa.array([t[2] for t in tails], texts),
        pa.array([t[3] for t in tails], texts),
        pa.array([t[4] for t in tails], flag),
    ]
    with pq.ParquetWriter(out / f"{ESCALATION_FILES[0]}.parquet", schema) as writer:
        # by columns, a batch at a time: Arrow arrays from the table's columns and values
        for lo in range(0, len(table), BATCH_ROWS):
            hi = min(len(table), lo + BATCH_ROWS)
            pcs, ics = table.pclass[lo:hi], table.iclass[lo:hi]
            bitss, like_bitss = table.bits[lo:hi], table.like_bits[lo:hi]
            like_ids, rest = table.like[lo:hi], table.tail[lo:hi]
            jcs = array("i", map(like_class.__getitem__, like_ids))
            ids = array("i", map(tail_set.__getitem__, rest))
            if filtered:
                used_sets.update(
                    dict.fromkeys(
                        (tail_set[t], ic) for t, ic in zip(rest, ics, strict=True) if tails[t][0]
                    )
                )
            if joins:
                pairs_of = [masks(k) for k in zip(ics, jcs, bitss, like_bitss, strict=True)]
                set_masks: Sequence[int] = [m[0] for m in pairs_of]
                remove_masks: Sequence[int] = [m[1] for m in pairs_of]
                likes_needed.update(dict.fromkeys(zip(pcs, jcs, like_bitss, strict=True)))
            else:
                set_masks = remove_masks = array("i", bytes(4 * (hi - lo)))
            rest_rows = pa.array(rest, i32)
            columns = [
                pa.array(pcs, i32),
                pa.array(ics, i32),
                pa.array(bitss, i32),
                pa.array(like_bitss, i32),
                pa.array(jcs, i32),
                arns.take(pa.array(like_ids, i32)),
                pa.array(ids, i32),
                tail_columns[0].take(rest_rows),
                pa.array(set_masks, i32),
                pa.array(remove_masks, i32),
                tail_columns[1].take(rest_rows),
                tail_columns[2].take(rest_rows),
                tail_columns[3].take(rest_rows),
            ]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        if not len(table):
            writer.write_table(schema.empty_table())

    sets = _Writer(
        out / f"{ESCALATION_FILES[1]}.parquet",
        pa.schema([("set_id", i32), ("set_json", text), ("set_tags", pairs)]),
    )
    for tags, set_id in set_ids.items():
        sets.add(set_id, _json(tags), [{"key": k, "pair": _pair(k, v)} for k, v in tags])
    sets.close()

    members = _Writer(
        out / f"{ESCALATION_FILES[2]}.parquet",
        pa.schema(
            [("set_id", i32), ("instance_arn", text), ("set_json", text), ("set_tags", pairs)]
        ),
    )
    if filtered and instances is not None:
        by_id = {set_id: tags for tags, set_id in set_ids.items()}
        _member_sets(classes, instances, used_sets, by_id, members.add)
    members.close()

    likes = _Writer(
        out / f"{ESCALATION_FILES[3]}.parquet",
        pa.schema(
            [
                ("principal_arn", text),
                ("like_class", i32),
                ("like_bits", i32),
                ("like_instance_arn", text),
            ]
        ),
    )
    join_tags = _Writer(
        out / f"{ESCALATION_FILES[4]}.parquet",
        pa.schema(
            [
                ("instance_arn", text),
                *(
                    (f"{name}_{j}", text)
                    for j in range(joins)
                    for name in ("join_key", "join_raw", "join_pair")
                ),
            ]
        ),
    )
    if joins:
        by_class: dict[int, list[str]] = {}
        for p, pc in matrix.principal_class.items():
            by_class.setdefault(pc, []).append(p)
        by_bits = _MemberBits(classes)
        values = matrix.join_values
        for pc, jc, like_bits in likes_needed:
            for p in by_class.get(pc, ()):
                like = by_bits.like(values.get(p, (None,) * joins), jc, like_bits)
                if like is not None:
                    likes.add(p, jc, like_bits, like)
        for arn, raw in classes.join_raw.items():
            if any(t is not None for t in raw):
                join_tags.add(
                    arn,
                    *(
                        v
                        for t in raw
                        for v in ((None, None, None) if t is None else (t[0], t[1], _pair(*t)))
                    ),
                )
    likes.close()
    join_tags.close()


def _json(tags: Sequence[tuple[str, str]]) -> str:
    return json.dumps(dict(tags), sort_keys=True)


def _member_sets(
    classes: InstanceClasses,
    instances: Mapping[str, Any],
    used: Mapping[tuple[int, int], None],
    by_id: Mapping[int, tuple[tuple[str, str], ...]],
    add: Callable[..., None],
) -> None:
    """For each (tag set, instance class) a witness uses: the members that carry some of the
    tags to set, with the rest (`lspolicy.account.review._member_sets`), where it differs."""
    index: dict[int, dict[tuple[str, str], list[str]]] = {}
    for set_id, ic in used:
        carried = index.get(ic)
        if carried is None:
            carried = index[ic] = {}
            for arn in classes.members[ic]:
                for pair in instances[arn].tags.items():
                    carried.setdefault(pair, []).append(arn)
        tags = by_id[set_id]
        hit = sorted({arn for pair in tags for arn in carried.get(pair, ())})
        for arn in hit:
            have = instances[arn].tags
            kept = tuple((k, v) for k, v in tags if have.get(k) != v)
            add(set_id, arn, _json(kept), [{"key": k, "pair": _pair(k, v)} for k, v in kept])
