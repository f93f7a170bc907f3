"""`StateStore.lookup`'s query (`state._LOOKUP`) returns the same two rows as the nested
``SELECT *`` form it replaced (serve6's, kept below as the reference), for any set of stored
names and any name asked: the named instance or the next in name order (past the last, the
region's first), then the previous (before the first, the region's last); all NULL only in an
empty region.

The rows are the server's own rule for answering a missing name like an existing one (no
existence oracle: IAM answers AccessDenied whether or not the resource exists; the AWS
documentation says nothing about an emulator's storage): README, server section. SQLite's
``coalesce`` "returns a copy of its first non-NULL argument"
(https://www.sqlite.org/lang_corefunc.html#coalesce).
"""

from __future__ import annotations

import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from lspolicy.server import state

_COLUMNS = ", ".join(state._INSTANCE_COLUMNS)
_IN_REGION = "SELECT * FROM instances WHERE account = ? AND region = ?"
REFERENCE = (
    f"SELECT {', '.join('i.' + c for c in state._INSTANCE_COLUMNS)} FROM (SELECT 1) LEFT JOIN"
    f" (SELECT * FROM (SELECT * FROM ({_IN_REGION} AND name >= ? ORDER BY name LIMIT 1)"
    f" UNION ALL SELECT * FROM ({_IN_REGION} ORDER BY name LIMIT 1)) LIMIT 1) AS i UNION ALL"
    f" SELECT {', '.join('j.' + c for c in state._INSTANCE_COLUMNS)} FROM (SELECT 1) LEFT JOIN"
    f" (SELECT * FROM (SELECT * FROM ({_IN_REGION} AND name < ? ORDER BY name DESC LIMIT 1)"
    f" UNION ALL SELECT * FROM ({_IN_REGION} ORDER BY name DESC LIMIT 1)) LIMIT 1) AS j"
)
"""serve6's lookup query, verbatim."""

ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("us-east-1", "eu-west-1")
names = st.text(alphabet="ab-1", min_size=1, max_size=4)


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS), names),
        max_size=12,
        unique=True,
    ),
    asked=st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(REGIONS), names),
)
def test_lookup_query_returns_the_reference_rows(
    rows: list[tuple[str, str, str]], asked: tuple[str, str, str]
) -> None:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(state._SCHEMA)
        for n, (account, region, name) in enumerate(rows):
            db.execute(
                f"INSERT INTO instances ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account, region, name, f"id-{n}", f"{region}a", "{}", "running", n, None, None, n),
            )
        account, region, name = asked
        params = (account, region, name, account, region) * 2
        got = db.execute(state._LOOKUP, params).fetchall()
        assert got == db.execute(REFERENCE, params).fetchall()
        assert len(got) == 2
        in_region = sorted(n for a, r, n in rows if (a, r) == (account, region))
        if not in_region:
            assert all(v is None for row in got for v in row)
        else:
            after = [n for n in in_region if n >= name]
            before = [n for n in in_region if n < name]
            assert got[0][2] == (after[0] if after else in_region[0])
            assert got[1][2] == (before[-1] if before else in_region[-1])
    finally:
        db.close()
