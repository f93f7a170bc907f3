"""Property: the dataset's ``escalations`` view is the Python expansion, row for row.

The review stores the escalation search's class witnesses and what their expansion reads
(`lspolicy.account.escalation_store`); ``escalations`` is a DuckDB view over them
(`lspolicy.account.views.escalations_sql`). The reference is
`lspolicy.account.review.expand_escalations` (``Matrix.escalations``), the expansion the
review wrote to ``escalations.parquet`` before: every member of the principal class and of the
instance class with the witness's join bits, the like instance per principal with join
features, the tags a member already carries left out (`_member_sets`), the like's join tags
set and the member's removed (`_join_retag`), tags to set as ``json.dumps(...,
sort_keys=True)``. On random organizations where escalations are common
(`test_review_escalation_search`: one account with ``owner`` = ``${aws:username}``, outcome-
counted tags, join features) and on one with tag keys and values in UTF-8 letters and the
characters Lightsail allows (Lightsail API reference, "Tag": "letters, numbers, spaces in
UTF-8, or the following characters: + - = . _ : / @",
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Tag.html), the multisets of
rows are equal. IAM's documentation is silent on the review's notion of escalation (the lint's
LSP111 at account scale, tagging decided as in "Controlling access to AWS resources using
tags", https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html); the comparison is
between two implementations of one expansion.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_escalation_search import STOP_CONDITIONS, TAGGING_CONDITIONS, _escalating
from test_review_escalation_search import small_account as one_account
from test_review_joins import joined
from test_review_outcomes import outcomed
from test_review_properties import ACTIONS

from lspolicy import parse_policy
from lspolicy.account.model import Instance, Inventory, NamedPolicy, User
from lspolicy.account.parquet import connect, write_dataset
from lspolicy.account.review import STOP, TAG, UNTAG, Escalation, compute_matrix
from lspolicy.account.views import ESCALATION_FILES

_ACCOUNT = "111111111111"
_VALUES = ["dév", "日本", "a b", "x/y@z", "\U0001d521ev", "prod"]
"""Tag values in UTF-8 letters (one outside the Basic Multilingual Plane: a JSON surrogate
pair) and Lightsail's allowed punctuation."""


def _row(e: Escalation) -> tuple[Any, ...]:
    """An escalation as the dataset's row (``escalations.parquet``'s columns)."""
    return (
        e.principal,
        e.instance,
        e.like,
        json.dumps(dict(e.set_tags), sort_keys=True),
        list(e.remove_tags),
        list(e.tag_via),
        list(e.stop_via),
        e.conditional,
    )


def _key(row: tuple[Any, ...]) -> str:
    return json.dumps(row)


def assert_view_is_the_expansion(inv: Inventory) -> int:
    """Write the review's dataset; ``escalations`` (the view) equals the Python expansion as a
    multiset of rows. Returns the number of rows."""
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=True)
    want = sorted((_row(e) for e in matrix.escalations), key=_key)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        layout = write_dataset(
            out,
            inv,
            matrix,
            production=[("env", "prod")],
            group_tag="env",
            observed=None,
            materialize="never",
        )
        assert layout.escalations
        assert not (out / "escalations.parquet").exists()
        assert all((out / f"{name}.parquet").is_file() for name in ESCALATION_FILES)
        con = connect(out)
        try:
            got = sorted(
                (tuple(r) for r in con.execute("SELECT * FROM escalations").fetchall()), key=_key
            )
            names = [d[0] for d in con.execute("SELECT * FROM escalations LIMIT 0").description]
            # DIR/escalations.sql: the same SELECT, for DuckDB outside lspolicy
            sql = (out / "escalations.sql").read_text(encoding="utf-8")
            again = sorted((tuple(r) for r in con.execute(sql).fetchall()), key=_key)
        finally:
            con.close()
        assert again == got
    assert names == [
        "principal_arn",
        "instance_arn",
        "like_instance_arn",
        "set_tags",
        "remove_tags",
        "tag_via",
        "stop_via",
        "conditional",
    ]
    assert got == want
    return len(want)


@settings(max_examples=25, deadline=None)
@given(one_account())
def test_the_view_is_the_expansion_on_one_account(inv: Inventory) -> None:
    assert_view_is_the_expansion(inv)


@settings(max_examples=10, deadline=None)
@given(_escalating(outcomed()))
def test_the_view_is_the_expansion_with_outcome_counted_tags(inv: Inventory) -> None:
    assert_view_is_the_expansion(inv)


@settings(max_examples=10, deadline=None)
@given(_escalating(joined().map(lambda case: case[0])))
def test_the_view_is_the_expansion_with_join_features(inv: Inventory) -> None:
    assert_view_is_the_expansion(inv)


@st.composite
def utf8_account(draw: st.DrawFn) -> Inventory:
    """Users that may stop instances by an ``équipe`` or ``env`` tag (or their ``owner`` tag
    against ``aws:username``) and may tag them; instances tagged with UTF-8 values."""
    inv = Inventory()
    names = [f"u{n}" for n in range(draw(st.integers(2, 4)))]
    stops: list[dict[str, dict[str, object]] | None] = [
        {"StringEquals": {"aws:ResourceTag/équipe": draw(st.sampled_from(_VALUES))}},
        {"StringEquals": {"aws:ResourceTag/env": "dév"}},
        {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
        STOP_CONDITIONS[1],
        None,
    ]
    for name in names:
        statements: list[dict[str, object]] = []
        stop = draw(st.sampled_from(stops))
        if stop is not None:
            statements.append(
                {"Effect": "Allow", "Action": STOP, "Resource": "*", "Condition": stop}
            )
        if draw(st.booleans()):
            tagging: dict[str, object] = {"Effect": "Allow", "Action": [TAG, UNTAG]}
            tagging["Resource"] = "*"
            condition = draw(st.sampled_from(TAGGING_CONDITIONS[:3]))
            if condition is not None:
                tagging["Condition"] = condition
            statements.append(tagging)
        arn = f"arn:aws:iam::{_ACCOUNT}:user/{name}"
        inline: tuple[NamedPolicy, ...] = ()
        if statements:
            policy = parse_policy(
                json.dumps({"Version": "2012-10-17", "Statement": statements}),
                source=f"{arn}#p",
                kind="identity",
                max_size=0,
            )
            inline = (NamedPolicy("p", policy),)
        inv.users[arn] = User(arn, name, inline=inline)
    for n in range(draw(st.integers(3, 9))):
        arn = f"arn:aws:lightsail:us-east-1:{_ACCOUNT}:Instance/i{n}"
        tags: dict[str, str] = {}
        for key, values in (
            ("équipe", _VALUES),
            ("env", _VALUES[:3]),
            # both "a*": a class holds both (counted by the condition's outcome), and a member
            # may already carry the value a retagging sets (`_member_sets`)
            ("team", ["a", "ab", "aé"]),
            ("owner", names[:2]),
            ("Ωmega", _VALUES),
        ):
            value = draw(st.sampled_from([*values, None]))
            if value is not None:
                tags[key] = value
        inv.instances[arn] = Instance(f"i{n}", arn, "us-east-1", tags=tags)
    return inv


@settings(max_examples=25, deadline=None)
@given(utf8_account())
def test_the_view_is_the_expansion_with_utf8_tags(inv: Inventory) -> None:
    assert_view_is_the_expansion(inv)


def test_the_view_lists_an_escalation_with_utf8_tags() -> None:
    """A hand-made case: u0 may stop instances tagged ``équipe=日本`` and tag anything; i1 is
    tagged ``équipe=dév``: u0 can retag it ``équipe=日本`` (JSON-escaped as ``json.dumps``
    writes it) like i0, and stop it."""
    inv = Inventory()
    arn = f"arn:aws:iam::{_ACCOUNT}:user/u0"
    policy = parse_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": STOP,
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/équipe": "日本"}},
                    },
                    {"Effect": "Allow", "Action": [TAG, UNTAG], "Resource": "*"},
                ],
            }
        ),
        source=f"{arn}#p",
        kind="identity",
        max_size=0,
    )
    inv.users[arn] = User(arn, "u0", inline=(NamedPolicy("p", policy),))
    for n, value in enumerate(["日本", "dév"]):
        inst = f"arn:aws:lightsail:us-east-1:{_ACCOUNT}:Instance/i{n}"
        inv.instances[inst] = Instance(f"i{n}", inst, "us-east-1", tags={"équipe": value})
    assert assert_view_is_the_expansion(inv) == 1
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN)
    (esc,) = matrix.escalations
    assert (esc.instance.rsplit("/", 1)[1], esc.like.rsplit("/", 1)[1]) == ("i1", "i0")
    assert _row(esc)[3] == '{"\\u00e9quipe": "\\u65e5\\u672c"}'


def _user(name: str, statements: list[dict[str, object]]) -> User:
    arn = f"arn:aws:iam::{_ACCOUNT}:user/{name}"
    policy = parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": statements}),
        source=f"{arn}#p",
        kind="identity",
        max_size=0,
    )
    return User(arn, name, inline=(NamedPolicy("p", policy),))


def test_a_member_already_carrying_a_tag_to_set_is_not_told_to_set_it() -> None:
    """u0 may stop instances tagged ``env=dév`` and tag anything; u1 may stop those whose
    ``team`` is like ``a*``, so ``team`` counts by that outcome only: i1 (``team=a``) and i2
    (``team=ab``), both ``env=x``, are one class. Its representative i1 is retagged like i0
    (``env=dév``, ``team=ab``) by setting both tags; i2 already carries ``team=ab`` and needs
    only ``env`` (`_member_sets`). Written by hand, then the view and the expansion compared."""
    inv = Inventory()
    for user in (
        _user(
            "u0",
            [
                {
                    "Effect": "Allow",
                    "Action": STOP,
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/env": "dév"}},
                },
                {"Effect": "Allow", "Action": [TAG, UNTAG], "Resource": "*"},
            ],
        ),
        _user(
            "u1",
            [
                {
                    "Effect": "Allow",
                    "Action": STOP,
                    "Resource": "*",
                    "Condition": {"StringLike": {"aws:ResourceTag/team": "a*"}},
                }
            ],
        ),
    ):
        inv.users[user.arn] = user
    for n, (env, team) in enumerate([("dév", "ab"), ("x", "a"), ("x", "ab")]):
        inst = f"arn:aws:lightsail:us-east-1:{_ACCOUNT}:Instance/i{n}"
        inv.instances[inst] = Instance(f"i{n}", inst, "us-east-1", tags={"env": env, "team": team})
    assert assert_view_is_the_expansion(inv) == 2
    got = [
        (e.principal.rsplit("/", 1)[1], e.instance.rsplit("/", 1)[1], e.set_tags)
        for e in compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN).escalations
    ]
    assert got == [
        ("u0", "i1", (("env", "dév"), ("team", "ab"))),
        ("u0", "i2", (("env", "dév"),)),
    ]


def test_a_dataset_with_escalations_parquet_still_opens(tmp_path: Path) -> None:
    """A dataset written before the escalations were stored by class has
    ``escalations.parquet`` and a ``dataset.json`` without ``"escalations"``: ``escalations``
    is that file, the class files are not required, and report.json's list reads it."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    from lspolicy.account.summary import summarize  # noqa: PLC0415

    inv = Inventory()
    user = _user("u0", _STOP_DEV_AND_TAG)
    inv.users[user.arn] = user
    for n, env in enumerate(["dév", "x"]):
        inst = f"arn:aws:lightsail:us-east-1:{_ACCOUNT}:Instance/i{n}"
        inv.instances[inst] = Instance(f"i{n}", inst, "us-east-1", tags={"env": env})
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN)
    write_dataset(
        tmp_path, inv, matrix, production=[], group_tag="env", observed=None, materialize="never"
    )
    for name in ESCALATION_FILES:
        (tmp_path / f"{name}.parquet").unlink()
    rows = [_row(e) for e in matrix.escalations]
    assert len(rows) == 1
    names = ["principal_arn", "instance_arn", "like_instance_arn", "set_tags"]
    names += ["remove_tags", "tag_via", "stop_via", "conditional"]
    pq.write_table(
        pa.table({n: [r[k] for r in rows] for k, n in enumerate(names)}),
        tmp_path / "escalations.parquet",
    )
    record = json.loads((tmp_path / "dataset.json").read_text())
    del record["escalations"]
    (tmp_path / "dataset.json").write_text(json.dumps(record))
    con = connect(tmp_path)
    try:
        assert [tuple(r) for r in con.execute("SELECT * FROM escalations").fetchall()] == rows
    finally:
        con.close()
    report = summarize(
        tmp_path, matrix, focus=STOP, production=[], group_tag="env", notes=(), trail=None
    )
    assert report["escalations_total"] == 1
    assert [e["instance_name"] for e in report["escalations"]] == ["i1"]


_STOP_DEV_AND_TAG: list[dict[str, object]] = [
    {
        "Effect": "Allow",
        "Action": STOP,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/env": "dév"}},
    },
    {"Effect": "Allow", "Action": [TAG, UNTAG], "Resource": "*"},
]
