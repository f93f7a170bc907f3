"""Instance state, operations and the request log, in SQLite.

One connection, serialised by a lock, every change in one ``BEGIN IMMEDIATE`` transaction: many
threads may stop the same instance at once and each instance still moves through its states
exactly once, with exactly one operation per accepted request. A file database uses WAL, so a
restart keeps every committed change; ``:memory:`` keeps nothing.

Transitions take ``transition_seconds`` (0 in tests): a stop moves ``running`` to ``stopping`` at
once and to ``stopped`` when the delay has passed; the change is applied lazily, by the next
read or write after it is due (no background thread to race with).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lspolicy.errors import LspolicyError
from lspolicy.server.ids import uuid4_text
from lspolicy.server.world import InstanceSpec

__all__ = [
    "APPLICATION_ID",
    "PLACEHOLDER_ID",
    "SCHEMA_VERSION",
    "STATE_CODES",
    "InstanceRow",
    "OperationRow",
    "StateError",
    "StateStore",
    "Transition",
]

APPLICATION_ID = 0x4C535053
"""``PRAGMA application_id`` of lspolicy's state files ("LSPS"): a file without it is not ours."""
SCHEMA_VERSION = 1
"""``PRAGMA user_version``: the layout of the tables below."""
PLACEHOLDER_ID = "00000000-0000-4000-8000-00000000abcd"
"""The id of the stand-in evaluated for a name that matches no instance (never a real id)."""
_TABLES = frozenset({"instances", "operations", "request_log"})
_INSTANCE_COLUMNS = (
    "account",
    "region",
    "name",
    "id",
    "availability_zone",
    "tags",
    "state",
    "state_changed_at",
    "settles_to",
    "settles_at",
    "created_at",
)
_NAME, _ID = _INSTANCE_COLUMNS.index("name"), _INSTANCE_COLUMNS.index("id")
_IN_REGION = "FROM instances WHERE account = ? AND region = ?"


def _lookup_half(compare: str, order: str) -> str:
    """One row of `_LOOKUP`: the instance found by ``name <compare> ?`` in ``order`` (the index
    on (account, region, name) seeked once), else the region's first in ``order`` (seeked again),
    by its rowid; all NULL (the ``LEFT JOIN`` on one constant row) only for an empty region."""
    columns = ", ".join("i." + c for c in _INSTANCE_COLUMNS)
    return (
        f"SELECT {columns} FROM (SELECT 1) LEFT JOIN instances AS i ON i.rowid = coalesce("
        f"(SELECT rowid {_IN_REGION} AND name {compare} ? ORDER BY name {order} LIMIT 1),"
        f" (SELECT rowid {_IN_REGION} ORDER BY name {order} LIMIT 1))"
    )


_LOOKUP = f"{_lookup_half('>=', 'ASC')} UNION ALL {_lookup_half('<', 'DESC')}"
"""Two rows, always: the named instance or the first after it in name order (past the last
name: the region's first), then the last before it (before the first name: the region's last);
both all NULL only when the region has no instance. The instance itself, or the neighbour a
missing name is evaluated as. Two full rows come back whatever the name, so neither the name's
existence nor its place among the names (first, last, between) changes the rows SQLite builds:
a NULL row costs less to build than a full one, and an existing name first in its region used
to fetch one full row where a missing name between two fetched two (about 3 µs apart,
`tests/integration/test_server_timing.py` at the edge of its bound). Each half finds a rowid in
the name index (``coalesce`` seeks the fallback only when the first seek finds nothing, as the
``UNION ALL ... LIMIT 1`` it replaced stopped at its first row) and reads that one row: the same
two rows as the nested ``SELECT *`` form it replaced (a property test compares them), for a
third less (35 -> 22 µs per lookup in a loop on a file of 3,000 instances)."""
_LOG_COLUMNS = (
    "operation",
    "principal_arn",
    "access_key_id",
    "account",
    "region",
    "instance_name",
    "resource_arn",
    "tags",
    "decision",
    "error_code",
    "operation_id",
)
"""A request log entry's members, each a column of ``request_log`` (absent: NULL, but for
``operation`` and ``decision``, ``''``); other members of an entry are not stored."""
_LOG_DEFAULTS = MappingProxyType({"operation": "", "decision": "", "resource_arn": "", "tags": ""})
_LOG_EMPTY_IS_NULL = frozenset({"resource_arn", "tags"})
"""Columns an entry leaves out for a missing instance: bound as ``''`` and stored as NULL
(``NULLIF``; neither is ever ``''``: an ARN is not, and tags are logged as JSON text). Binding
``None`` costs Python's sqlite3 an adaptation look-up (~1 µs more than a short string), which
timed a missing name's denial apart from a forbidden instance's (the two differ in just these
columns; tests/integration/test_server_timing.py)."""
_INSERT_LOG = (
    f"INSERT INTO request_log (at, {', '.join(_LOG_COLUMNS)}) VALUES (?"
    + "".join(", NULLIF(?, '')" if c in _LOG_EMPTY_IS_NULL else ", ?" for c in _LOG_COLUMNS)
    + ")"
)
_GET = (
    f"SELECT {', '.join(_INSTANCE_COLUMNS)} FROM instances"
    " WHERE account = ? AND region = ? AND name = ?"
)
_ROWS_LIMIT = 4096
"""Checked instance rows remembered (`StateStore._checked_instance`) before the memo is emptied;
likewise lookup answers (`StateStore.lookup`)."""
_OPERATION_STATUSES = frozenset({"Started", "Succeeded"})


class StateError(LspolicyError):
    """The state file cannot be used: not lspolicy's, corrupted, or holding an invalid value."""


# Lightsail's InstanceState codes (the EC2 codes Lightsail reuses)
STATE_CODES: Mapping[str, int] = MappingProxyType(
    {
        "pending": 0,
        "running": 16,
        "shutting-down": 32,
        "terminated": 48,
        "stopping": 64,
        "stopped": 80,
        "rebooting": 16,
    }
)

# ``request_log.seq`` is the rowid: each row gets one more than the largest so far. Nothing ever
# deletes a log row, so that is 1, 2, 3... in the order served, as AUTOINCREMENT gave it (which
# files made before keep: both read alike); AUTOINCREMENT differs only after the newest rows are
# deleted, and cost every INSERT a write of ``sqlite_sequence`` (a third more time per log row).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    id TEXT NOT NULL, availability_zone TEXT NOT NULL, tags TEXT NOT NULL,
    state TEXT NOT NULL, state_changed_at REAL NOT NULL,
    settles_to TEXT, settles_at REAL, created_at REAL NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
    availability_zone TEXT NOT NULL, resource_name TEXT NOT NULL, resource_type TEXT NOT NULL,
    operation_type TEXT NOT NULL, operation_details TEXT NOT NULL,
    status TEXT NOT NULL, is_terminal INTEGER NOT NULL,
    created_at REAL NOT NULL, status_changed_at REAL NOT NULL, settles_at REAL
);
CREATE TABLE IF NOT EXISTS request_log (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, operation TEXT NOT NULL,
    principal_arn TEXT, access_key_id TEXT, account TEXT, region TEXT,
    instance_name TEXT, resource_arn TEXT, tags TEXT, decision TEXT NOT NULL,
    error_code TEXT, operation_id TEXT
);
CREATE INDEX IF NOT EXISTS operations_by_resource ON operations (account, region, resource_name);
CREATE INDEX IF NOT EXISTS instances_pending ON instances (settles_at) WHERE settles_to IS NOT NULL;
CREATE INDEX IF NOT EXISTS operations_pending ON operations (settles_at) WHERE settles_at IS NOT NULL;
"""


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """An instance as stored now."""

    account: str
    region: str
    name: str
    id: str
    availability_zone: str
    tags: Mapping[str, str]
    state: str
    state_changed_at: float
    created_at: float

    @property
    def arn(self) -> str:
        """``arn:aws:lightsail:<region>:<account>:Instance/<id>``."""
        return f"arn:aws:lightsail:{self.region}:{self.account}:Instance/{self.id}"


@dataclass(frozen=True, slots=True)
class OperationRow:
    """A Lightsail Operation record."""

    id: str
    account: str
    region: str
    availability_zone: str
    resource_name: str
    resource_type: str
    operation_type: str
    operation_details: str
    status: str
    is_terminal: bool
    created_at: float
    status_changed_at: float

    def to_api(self) -> dict[str, Any]:
        """The ``Operation`` shape of the Lightsail API."""
        return {
            "id": self.id,
            "resourceName": self.resource_name,
            "resourceType": self.resource_type,
            "createdAt": self.created_at,
            "location": {"availabilityZone": self.availability_zone, "regionName": self.region},
            "isTerminal": self.is_terminal,
            "operationDetails": self.operation_details,
            "operationType": self.operation_type,
            "status": self.status,
            "statusChangedAt": self.status_changed_at,
        }


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change a request asks for: from which states, through which, to which."""

    operation_type: str
    allowed_from: frozenset[str]
    through: str | None
    to: str


class _Transaction:
    """`StateStore._tx`'s context manager (a class: a generator-based one costs more per use
    than the statements of a lookup)."""

    __slots__ = ("_db", "_lock")

    def __init__(self, lock: threading.Lock, db: sqlite3.Connection) -> None:
        self._lock, self._db = lock, db

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            self._db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self._lock.release()


class StateStore:
    """The emulator's persistent state."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._rows: dict[tuple[Any, ...], InstanceRow] = {}
        self._answers: dict[tuple[str, str, str], tuple[InstanceRow | None, InstanceRow]] = {}
        """`lookup`'s answers, valid while the database is as `_answers_stamp` saw it."""
        self._answers_stamp: tuple[int, int] | None = None
        self._derived: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
        """Per instance (account, region, name): the `_answers` keys whose row is made of its
        values (its own name, and the missing names it stands in for)."""
        """``(total_changes, data_version)`` when `_answers` was last known valid; None: empty
        it before the next use."""
        self._tag_texts: dict[str, Mapping[str, str] | None] = {}
        if path != ":memory:" and Path(path).exists() and not Path(path).is_file():
            raise StateError(f"state file {path!r} is not a regular file")
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state file {path!r}: {exc}") from None
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StateError(
                f"state file {path!r} is not a readable lspolicy state database: {exc}"
            ) from None
        except StateError:
            self._db.close()
            raise
        self._tuples = self._db.cursor()
        self._tuples.row_factory = None  # rows as plain tuples: `_checked_instance`'s keys
        self._due: float | None = None
        """The earliest pending transition's due time (None: nothing pending). One process owns
        the database, so this is known without asking it on every request."""
        self._due = self._next_due(self._db)

    def _open(self) -> None:
        """Check (or create) the database: lspolicy's mark, its integrity, every stored value.
        A foreign SQLite file is refused untouched: no tables are added to someone else's
        database."""
        db = self._db
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=5000")
        app_id = db.execute("PRAGMA application_id").fetchone()[0]  # reads the header
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        where = f"state file {self.path!r}"
        if app_id == APPLICATION_ID:
            if version != SCHEMA_VERSION:
                raise StateError(
                    f"{where} has schema version {version}; this lspolicy reads {SCHEMA_VERSION}"
                )
        elif app_id != 0 or (tables and tables != _TABLES):
            # empty: a new file; exactly our tables: an lspolicy file from before the mark
            raise StateError(
                f"{where} is not an lspolicy state file (application_id {app_id}, tables "
                f"{', '.join(sorted(tables)) or 'none'})\nhint: name a new file with --state"
            )
        problems = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StateError(f"{where} is corrupted: {'; '.join(problems)}")
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            for row in db.execute("SELECT * FROM instances"):
                self._instance(row)
            for row in db.execute("SELECT * FROM operations"):
                self._operation(row)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _next_due(db: sqlite3.Connection) -> float | None:
        row = db.execute(
            "SELECT MIN(t) FROM (SELECT MIN(settles_at) AS t FROM instances WHERE settles_to IS NOT NULL"
            " UNION ALL SELECT MIN(settles_at) FROM operations WHERE settles_at IS NOT NULL)"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _settle_due(self) -> None:
        """Before one read statement (the caller holds the lock): apply the transitions due by
        now, in a transaction of their own; nothing at all when none is due. The read is then
        its own (implicit, atomic) read transaction: no ``BEGIN``/``COMMIT`` around it."""
        if self._due is not None and self.clock() >= self._due:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._settle(self._db, self.clock())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _stamp(self) -> tuple[int, int]:
        """What any change to the database since the last look changes (the caller holds the
        lock): this connection's count of changed rows (a statement of its own, ours or not)
        and ``PRAGMA data_version``, which moves when another connection commits (a private
        ``:memory:`` database has none)."""
        if self.path == ":memory:":
            return self._db.total_changes, 0
        return self._db.total_changes, self._tuples.execute("PRAGMA data_version").fetchone()[0]

    def _tx(self) -> _Transaction:
        """``with self._tx() as db:`` one ``BEGIN IMMEDIATE`` transaction under the lock,
        committed at the end of the block, rolled back if it raises."""
        return _Transaction(self._lock, self._db)

    def seed(self, instances: tuple[InstanceSpec, ...]) -> None:
        """Add the world's instances that the database does not have yet; keep existing state.

        Tags and ids follow the world file (it is the source of truth for what exists); state
        and operations survive restarts.
        """
        now = self.clock()
        with self._tx() as db:
            self._answers_stamp = None
            for spec in instances:
                inst = spec.instance
                tags = json.dumps(dict(inst.tags), sort_keys=True)
                db.execute(
                    "INSERT INTO instances (account, region, name, id, availability_zone, tags, state,"
                    " state_changed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (account, region, name) DO UPDATE SET id = excluded.id,"
                    " tags = excluded.tags, availability_zone = excluded.availability_zone",
                    (
                        inst.account,
                        inst.region,
                        inst.name,
                        inst.id,
                        spec.availability_zone,
                        tags,
                        spec.state,
                        now,
                        now,
                    ),
                )

    def _settle(self, db: sqlite3.Connection, now: float) -> None:
        if self._due is None or now < self._due:
            return  # nothing is due: no scan at all (the common case, and every case at delay 0)
        self._answers_stamp = None
        db.execute(
            "UPDATE instances SET state = settles_to, state_changed_at = settles_at,"
            " settles_to = NULL, settles_at = NULL WHERE settles_to IS NOT NULL AND settles_at <= ?",
            (now,),
        )
        db.execute(
            "UPDATE operations SET status = 'Succeeded', is_terminal = 1, status_changed_at = settles_at,"
            " settles_at = NULL WHERE settles_at IS NOT NULL AND settles_at <= ?",
            (now,),
        )
        self._due = self._next_due(db)

    def placeholder(self, account: str, region: str, name: str, id: str, tags: str) -> InstanceRow:
        """An instance row that is not stored, built and checked exactly as a stored one is
        (``tags`` as stored: JSON text), so that a missing name costs what an existing one does."""
        return self._instance(
            {
                "account": account,
                "region": region,
                "name": name,
                "id": id,
                "availability_zone": f"{region}a",
                "tags": tags,
                "state": "running",
                "state_changed_at": 0.0,
                "created_at": 0.0,
                "settles_to": None,
                "settles_at": None,
            }
        )

    def _checked_instance(self, values: tuple[Any, ...]) -> InstanceRow:
        """`_instance` of a row of `_INSTANCE_COLUMNS`, remembered by the row's values: the
        check and the parsed row are a function of them alone (`InstanceRow` is immutable), so
        a row read again unchanged is not checked and parsed again; any changed value is a new
        key."""
        hit = self._rows.get(values)
        if hit is None:
            hit = self._valid_instance(values)
            if hit is None:  # something is wrong: the full check says what, and raises
                hit = self._instance(dict(zip(_INSTANCE_COLUMNS, values, strict=True)))
            if len(self._rows) >= _ROWS_LIMIT:
                self._rows.clear()
            self._rows[values] = hit
        return hit

    def _valid_instance(self, values: tuple[Any, ...]) -> InstanceRow | None:
        """The row of `_INSTANCE_COLUMNS` values when `_instance` would accept it (the same
        checks, in one expression, without naming what failed), else None."""
        account, region, name, ident, zone, tags_text, state, changed, to, at, created = values
        if not (
            isinstance(account, str)
            and isinstance(region, str)
            and isinstance(name, str)
            and isinstance(ident, str)
            and isinstance(zone, str)
            and isinstance(tags_text, str)
            and isinstance(state, str)
            and state in STATE_CODES
            and _finite(changed)
            and _finite(created)
            and (to is None or to in STATE_CODES)
            and (at is None or _finite(at))
        ):
            return None
        tags = self._tags(tags_text)
        if tags is None:
            return None
        return InstanceRow(account, region, name, ident, zone, tags, state, changed, created)

    def _tags(self, text: str) -> Mapping[str, str] | None:
        """Stored tags (JSON text) as a read-only mapping, or None when they are not an object
        of strings; remembered by the text."""
        hit = self._tag_texts.get(text)
        if hit is not None or text in self._tag_texts:
            return hit
        try:
            tags = json.loads(text)
        except ValueError:
            tags = None
        ok = isinstance(tags, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        )
        found = MappingProxyType(tags) if ok else None
        if len(self._tag_texts) >= _ROWS_LIMIT:
            self._tag_texts.clear()
        self._tag_texts[text] = found
        return found

    def _instance(self, row: sqlite3.Row | Mapping[str, Any]) -> InstanceRow:
        """A stored instance, every value checked: a file edited or damaged outside lspolicy
        must not be served as if it were valid."""
        what = f"instance {str(row['name'])[:64]!r}"
        for column in ("account", "region", "name", "id", "availability_zone", "tags", "state"):
            self._check(isinstance(row[column], str), what, column, row[column])
        self._check(row["state"] in STATE_CODES, what, "state", row["state"])
        for column in ("state_changed_at", "created_at"):
            self._check(_finite(row[column]), what, column, row[column])
        self._check(
            row["settles_to"] is None or row["settles_to"] in STATE_CODES,
            what,
            "settles_to",
            row["settles_to"],
        )
        self._check(
            row["settles_at"] is None or _finite(row["settles_at"]),
            what,
            "settles_at",
            row["settles_at"],
        )
        try:
            tags = json.loads(row["tags"])
        except ValueError:
            tags = None
        self._check(
            isinstance(tags, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()),
            what,
            "tags",
            row["tags"],
        )
        return InstanceRow(
            row["account"],
            row["region"],
            row["name"],
            row["id"],
            row["availability_zone"],
            MappingProxyType(tags),
            row["state"],
            row["state_changed_at"],
            row["created_at"],
        )

    def _operation(self, r: sqlite3.Row) -> OperationRow:
        what = f"operation {str(r['id'])[:64]!r}"
        for column in (
            "id",
            "account",
            "region",
            "availability_zone",
            "resource_name",
            "resource_type",
            "operation_type",
            "operation_details",
        ):
            self._check(isinstance(r[column], str), what, column, r[column])
        self._check(r["status"] in _OPERATION_STATUSES, what, "status", r["status"])
        self._check(r["is_terminal"] in (0, 1), what, "is_terminal", r["is_terminal"])
        for column in ("created_at", "status_changed_at"):
            self._check(_finite(r[column]), what, column, r[column])
        return OperationRow(
            r["id"],
            r["account"],
            r["region"],
            r["availability_zone"],
            r["resource_name"],
            r["resource_type"],
            r["operation_type"],
            r["operation_details"],
            r["status"],
            bool(r["is_terminal"]),
            r["created_at"],
            r["status_changed_at"],
        )

    def _check(self, ok: bool, what: str, column: str, value: object) -> None:
        if not ok:
            raise StateError(
                f"state file {self.path!r}: {what} has an invalid {column} {str(value)[:64]!r}"
            )

    def get(self, account: str, region: str, name: str) -> InstanceRow | None:
        """The instance named ``name`` in the account and region, settled to now; or None."""
        with self._tx() as db:
            self._settle(db, self.clock())
            row = db.execute(
                "SELECT * FROM instances WHERE account = ? AND region = ? AND name = ?",
                (account, region, name),
            ).fetchone()
        return None if row is None else self._instance(row)

    def page(
        self, account: str, region: str, *, after: str | None, limit: int
    ) -> tuple[list[InstanceRow], bool]:
        """Up to ``limit`` instances of the account and region in name order, the first named
        after ``after`` (from the first when None), settled to now; and whether more follow."""
        with self._tx() as db:
            self._settle(db, self.clock())
            rows = db.execute(
                "SELECT * FROM instances WHERE account = ? AND region = ? AND name > ?"
                " ORDER BY name LIMIT ?",
                (account, region, "" if after is None else after, limit + 1),
            ).fetchall()
        return [self._instance(r) for r in rows[:limit]], len(rows) > limit

    def lookup(
        self, account: str, region: str, name: str
    ) -> tuple[InstanceRow | None, InstanceRow]:
        """``(the instance named name or None, a row to evaluate)``, at the same cost either way.

        The second is the instance itself when it exists, else its neighbour in name order
        (same account and region) renamed to ``name`` under a placeholder id: both cases seek
        the index twice, fetch two rows (`_LOOKUP`) and check one, so the time of the answer
        does not say whether the name exists. With no instance in the region at all, a
        placeholder with no tags. The check of a row is remembered by its values
        (`_checked_instance`): a row asked for again is a hit whether it is the instance or a
        missing name's stand-in, so the memo tells apart only names asked before from names
        not, never existing from missing.

        The answer is remembered by the name while the database does not change: every lookup
        first asks whether anything changed since (`_stamp`: this connection's change count,
        and ``PRAGMA data_version`` for another connection's commit, another process's
        included), and forgets every remembered answer if so, so a value changed behind the
        server's back is read and checked again by the next lookup. The server's own changes keep
        them: a log row touches no instance, and a stop or start rebuilds the answers made of
        the instance it changed from the values it wrote (`_renew_answers`). Any other change
        forgets them all at once; never is one name's answer dropped alone, which would time
        that name apart from the others."""
        key = (account, region, name)
        with self._lock:
            self._settle_due()
            stamp = self._stamp()
            if stamp != self._answers_stamp:
                self._forget_answers()
                self._answers_stamp = stamp
            else:
                hit = self._answers.get(key)
                if hit is not None:
                    return hit
            at_or_after, before = self._tuples.execute(
                _LOOKUP, (account, region, name, account, region) * 2
            ).fetchall()
            first = at_or_after if at_or_after[_NAME] is not None else before
            if len(self._answers) >= _ROWS_LIMIT:
                self._forget_answers()
            if first[_NAME] is None:
                answer: tuple[InstanceRow | None, InstanceRow] = (
                    None,
                    self.placeholder(account, region, name, PLACEHOLDER_ID, "{}"),
                )
            else:
                answer = self._answer(first, name)
                self._derived.setdefault((account, region, first[_NAME]), []).append(key)
            self._answers[key] = answer
            return answer

    def _answer(self, source: tuple[Any, ...], name: str) -> tuple[InstanceRow | None, InstanceRow]:
        """`lookup`'s answer for ``name`` from the stored row ``source`` (`_INSTANCE_COLUMNS`):
        the instance itself when it is named ``name``, else its values under ``name`` and the
        placeholder id (the same tuple is built either way)."""
        exists = source[_NAME] == name
        ident = source[_ID] if exists else PLACEHOLDER_ID
        row = self._checked_instance((*source[:_NAME], name, ident, *source[_ID + 1 :]))
        return (row if exists else None), row

    def _forget_answers(self) -> None:
        self._answers.clear()
        self._derived.clear()

    def _renew_answers(self, source: tuple[Any, ...], changes: int, stamp: tuple[int, int]) -> None:
        """After this server's own change to one instance, committed (the caller holds the
        lock): when the database is otherwise as ``stamp`` saw it and this connection's change
        count is the commit's, the answers made of that instance are rebuilt from its new
        values ``source`` and every other answer is kept — so no name's next lookup costs more
        than another's. Otherwise every answer is forgotten (the next lookup's stamp differs)."""
        if self._answers_stamp is not None or self._db.total_changes != changes:
            return  # a lookup since has stamped fresh answers, or something else changed
        key = (source[0], source[1], source[_NAME])
        for derived in self._derived.get(key, ()):
            self._answers[derived] = self._answer(source, derived[2])
        self._answers_stamp = (changes, stamp[1])

    def transition(
        self,
        account: str,
        region: str,
        name: str,
        change: Transition,
        delay: float,
        *,
        details: str = "",
        log_entry: Mapping[str, Any] | None = None,
    ) -> tuple[InstanceRow, OperationRow] | str:
        """Apply ``change`` atomically; return the instance before it and the new operation, or
        the state that refused it.

        ``log_entry``, when given, is the request-log row of the request that asked for the
        change: it is written in the same transaction as the operation, with the operation's
        id, so a crash can never leave an operation without its log row (``generate
        --from-log`` would miss it) or a log row naming an operation that does not exist."""
        with self._tx() as db:
            now = self.clock()  # read under the lock: operations are dated in the order applied
            self._settle(db, now)
            row = self._tuples.execute(_GET, (account, region, name)).fetchone()
            if row is None:
                return "missing"
            before = self._checked_instance(row)
            if before.state not in change.allowed_from:
                return before.state
            stamp = self._answers_stamp
            if stamp is not None and stamp[0] != db.total_changes:
                stamp = None  # something changed since the answers were stamped: they all go
            self._answers_stamp = None  # until the change is committed and they are renewed
            settles_at = now + delay
            immediate = change.through is None or delay <= 0
            if immediate:
                db.execute(
                    "UPDATE instances SET state = ?, state_changed_at = ?, settles_to = NULL, settles_at = NULL"
                    " WHERE account = ? AND region = ? AND name = ?",
                    (change.to, now, account, region, name),
                )
            else:
                db.execute(
                    "UPDATE instances SET state = ?, state_changed_at = ?, settles_to = ?, settles_at = ?"
                    " WHERE account = ? AND region = ? AND name = ?",
                    (change.through, now, change.to, settles_at, account, region, name),
                )
            terminal = change.through is None
            # the response reports a transitional change as started, even when (delay 0) it has
            # already settled by the time anyone can read it back
            op = OperationRow(
                id=uuid4_text(),
                account=account,
                region=region,
                availability_zone=before.availability_zone,
                resource_name=name,
                resource_type="Instance",
                operation_type=change.operation_type,
                operation_details=details,
                status="Succeeded" if terminal else "Started",
                is_terminal=terminal,
                created_at=now,
                status_changed_at=now,
            )
            db.execute(
                "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    op.id,
                    op.account,
                    op.region,
                    op.availability_zone,
                    op.resource_name,
                    op.resource_type,
                    op.operation_type,
                    op.operation_details,
                    "Succeeded" if immediate else op.status,
                    int(immediate),
                    op.created_at,
                    op.status_changed_at,
                    None if immediate else settles_at,
                ),
            )
            if log_entry is not None:
                self._insert_log(db, {**log_entry, "operation_id": op.id}, now)
            if not immediate:
                self._due = settles_at if self._due is None else min(self._due, settles_at)
            changes = db.total_changes
        if stamp is not None:
            # the row as stored now (REAL columns read back as floats)
            state, to, at = (
                (change.to, None, None)
                if immediate
                else (change.through, change.to, float(settles_at))
            )
            source = (*row[:6], state, float(now), to, at, row[10])
            with self._lock:
                self._renew_answers(source, changes, stamp)
        return before, op

    def log(self, entry: Mapping[str, Any]) -> None:
        """Append one served request to the request log: one ``INSERT``, which SQLite runs as
        its own (atomic) transaction."""
        with self._lock:
            changes = self._db.total_changes
            self._insert_log(self._db, entry, self.clock())
            stamp = self._answers_stamp
            if stamp is not None and stamp[0] == changes:
                # nothing else changed since the lookups were stamped, and a log row touches no
                # instance: they stay valid (another connection's commit still shows in
                # data_version, which this insert does not move)
                self._answers_stamp = (self._db.total_changes, stamp[1])

    @staticmethod
    def _insert_log(db: sqlite3.Connection, entry: Mapping[str, Any], at: float) -> None:
        get = entry.get
        db.execute(_INSERT_LOG, (at, *[get(c, _LOG_DEFAULTS.get(c)) for c in _LOG_COLUMNS]))

    def operations(self, *, resource_name: str | None = None) -> list[OperationRow]:
        """Every recorded operation (optionally of one resource), oldest first."""
        with self._tx() as db:
            self._settle(db, self.clock())
            query = "SELECT * FROM operations"
            args: tuple[Any, ...] = ()
            if resource_name is not None:
                query += " WHERE resource_name = ?"
                args = (resource_name,)
            rows = db.execute(query + " ORDER BY created_at, rowid", args).fetchall()
        return [self._operation(r) for r in rows]

    def request_log(self) -> list[dict[str, Any]]:
        """Every served request, in order."""
        with self._tx() as db:
            rows = db.execute("SELECT * FROM request_log ORDER BY seq").fetchall()
        return [dict(r) for r in rows]
