"""``who-can`` and ``what-can`` answered from a review's dataset (``lspolicy review --out DIR``)
with DuckDB, instead of reading the exports and deciding again.

The review's matrix has one row per (principal, instance, action), in ``DIR/matrix/*.parquet``
when it was materialized, else as a join of the class cells with the members
(`lspolicy.account.views`; a question then joins just the one instance's or principal's class
cells, so the answer costs about what it costs from the files). Each row holds the
decision (``allowed``, ``conditional``, ``explicitDeny``, ``implicitDeny``), the best chain of
roles (``via``), the deciding statements (``POLICY/Sid`` labels), the caller conditions (JSON,
as ``who-can --format json`` gives them) and the policies not evaluated (``incomplete``). An
answer here is the rows that reach (``allowed`` or ``conditional``): the same principals,
chains, decisions, statements and conditions as ``who-can`` on the exports, which
`tests/account/test_review_query.py` checks on the sample and on random organizations.

What the dataset does not hold, and so these answers do not give: each statement's policy kind,
effect and index when it has a Sid (a statement is given as ``{"policy", "sid",
"statement_index", "label"}``, the index only when the label carries it), and each hop's
deciding statements (``chain``). ``lspolicy explain --review`` re-decides any cell with the
engine and shows all of it.

Only ``duckdb`` and the standard library are imported here: this path answers in well under a
second on a 2.5-million-cell review, interpreter start included (``bench/README.md``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lspolicy.account.class_lookup import (
    bits_for_instance,
    bits_for_principal,
    instance_columns_sql,
    map_columns_sql,
)
from lspolicy.account.review_inputs import INPUTS_FILE
from lspolicy.account.views import (
    DatasetError,
    Layout,
    attach,
    bits_sql,
    bounded_connection,
    read_layout,
)
from lspolicy.errors import LspolicyError
from lspolicy.textfile import read_text

__all__ = [
    "INPUTS_FILE",
    "MATRIX_TYPES",
    "REACHES",
    "Answer",
    "ReviewData",
    "ReviewDataError",
    "statement_from_label",
]

REACHES = ("allowed", "conditional")
MATRIX_TYPES: dict[str, str] = {
    "principal_arn": "VARCHAR",
    "principal_kind": "VARCHAR",
    "instance_arn": "VARCHAR",
    "instance_name": "VARCHAR",
    "action": "VARCHAR",
    "decision": "VARCHAR",
    "direct_decision": "VARCHAR",
    "via": "VARCHAR[]",
    "statements": "VARCHAR[]",
    "conditions": "VARCHAR",
    "incomplete": "VARCHAR[]",
}
"""The matrix columns these answers read, with their DuckDB types (`lspolicy.account.parquet`
documents every column): a Parquet file without them is not a review's."""
CLOSE_SHORTLIST = 200
"""How many of the most similar names a "did you mean" hint chooses from (all of them on any
review with fewer names: the hint is then difflib's over every name)."""
_INDEX_LABEL = re.compile(r"Statement\[(\d+)\]")
_ROW = "principal_arn, via, decision, statements, conditions, incomplete"
_NOTES_KEY = '\n  "notes": '
MAX_REVIEW_JSON_BYTES = 256 << 20
"""``report.json`` and ``inputs.json`` are read whole, up to this size, and refused while read
beyond it (the orggen account's report is 3 MB)."""


class ReviewDataError(LspolicyError):
    """A directory that is not a review's output, a foreign or corrupt dataset, or a question
    the review cannot answer (an action it did not decide, an unknown instance): exit 2."""


def statement_from_label(label: str) -> dict[str, object]:
    """A deciding statement from its ``POLICY/Sid`` (or ``POLICY/Statement[i]``) label: a Sid
    holds only ASCII letters and digits
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html), so
    the last ``/`` separates it from the policy (whose ARN or name may hold ``/``)."""
    policy, _, tail = label.rpartition("/")
    index = _INDEX_LABEL.fullmatch(tail)
    return {
        "policy": policy,
        "sid": None if index else tail,
        "statement_index": int(index.group(1)) if index else None,
        "label": label,
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """One principal's access to one action on one instance, as the review stored it."""

    principal: str
    via: tuple[str, ...]
    decision: str
    statements: tuple[str, ...]
    conditions: tuple[dict[str, Any], ...]
    incomplete: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: ``who-can --format json``'s principal entry, less ``chain``."""
        out: dict[str, object] = {
            "arn": self.principal,
            "via": list(self.via),
            "decision": self.decision,
            "statements": [statement_from_label(s) for s in self.statements],
            "conditions": list(self.conditions),
        }
        if self.incomplete:
            out["incomplete"] = list(self.incomplete)
        return out

    def text(self, head: str, indent: str = "  ") -> list[str]:
        """The lines ``who-can`` prints for this access (`lspolicy.account.cli`): how it is
        reached, the deciding statements (SCP statements left out, as there), the conditions."""
        via = " -> ".join(self.via)
        how = f"via {via}" if via else "directly"
        tag = " (allowed if the conditions below hold)" if self.decision == "conditional" else ""
        lines = [f"{indent}{head}  {how}{tag}"]
        refs = ", ".join(s for s in self.statements if not _is_scp(s))
        if refs:
            lines.append(f"{indent}  by {refs}")
        for c in self.conditions:
            if c.get("step") == "action":
                where = str(_statement_label(c))
            else:
                where = f"assuming {c.get('step')}"
            lines.append(
                f"{indent}  if {c.get('operator')} {c.get('key')} {list(c.get('values') or [])} "
                f"{c.get('needs')} ({where})"
            )
        if self.incomplete:
            lines.append(f"{indent}  incomplete: not evaluated {', '.join(self.incomplete)}")
        return lines


def _statement_label(ref: dict[str, Any]) -> str:
    """``POLICY/Sid`` of a condition's statement (as `StatementRef.label`)."""
    sid = ref.get("sid")
    tail = sid if sid is not None else f"Statement[{ref.get('statement_index')}]"
    return f"{ref.get('policy')}/{tail}"


def _is_scp(label: str) -> bool:
    """An Organizations policy's statement (an SCP's ARN is ``arn:aws:organizations::...``)."""
    return label.startswith("arn:") and label.split(":", 3)[2] == "organizations"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ReviewData:
    """A review's dataset opened for questions (`close` it, or use it as a context manager)."""

    def __init__(self, directory: str | Path) -> None:
        import duckdb  # noqa: PLC0415 - only this path needs the query engine

        self._duckdb_error: type[Exception] = duckdb.Error
        self.path = Path(directory)
        where = str(directory)
        if not self.path.is_dir():
            raise ReviewDataError(f"--review {where!r}: no such directory")
        try:
            layout = read_layout(self.path)
        except DatasetError as exc:
            raise ReviewDataError(f"--review {where!r}: {exc}") from None
        if layout is None:
            raise ReviewDataError(
                f"--review {where!r} is not a review's output (no matrix/*.parquet), nor a "
                f"factorized one (no dataset.json): write one with `lspolicy review ... --out "
                f"{where}`"
            )
        self._report: dict[str, Any] | None = None
        """``report.json``, read when its notes or (without inputs.json) actions are asked:
        one account's is 3 MB, 0.1 s of JSON for who-can and what-can."""
        self.inputs = self._json(INPUTS_FILE)
        self._con = bounded_connection()  # a whole organization's views stay within bounds
        self._joins: int | None = None if layout.materialized else layout.joins
        """With the matrix a view: the join features' count (the questions then join the
        instance's or principal's class cells with the members, selectively)."""
        self._reaching = "reaching" if layout.reaching else "cells"
        """The table ``what_can`` reads: the reaching cells clustered by principal class,
        when the review wrote them (`lspolicy.account.views.REACHING_FILE`)."""
        self._layout: Layout | None = layout if layout.columns and not layout.materialized else None
        """With the class cells stored by columns: the questions look them up class by class
        (`lspolicy.account.class_lookup`) instead of through the expanding views."""
        if self._joins is not None:
            try:
                attach(self._con, self.path, layout=layout)  # with the lookup files' views
            except DatasetError as exc:
                self.close()
                raise ReviewDataError(f"--review {where!r}: {exc}") from None
        try:
            if self._joins is None:
                self._con.execute(
                    "CREATE VIEW matrix AS SELECT * FROM read_parquet("
                    + _sql_text(str(self.path / "matrix" / "*.parquet"))
                    + ")"
                )
            described = self._con.execute("DESCRIBE matrix").fetchall()
        except duckdb.Error as exc:
            self.close()
            raise ReviewDataError(
                f"--review {where!r}: matrix/ is not readable Parquet: {_first_line(exc)}"
            ) from None
        have = {str(r[0]): str(r[1]) for r in described}
        wrong = [
            f"{name} ({have.get(name, 'missing')}, expected {kind})"
            for name, kind in MATRIX_TYPES.items()
            if have.get(name) != kind
        ]
        if wrong:
            self.close()
            raise ReviewDataError(
                f"--review {where!r}: matrix/*.parquet is not a review's matrix: "
                + ", ".join(wrong)
            )
        self._instances = self._table("instances", ("instance_arn", "instance_name"))
        self._principals = self._table("principals", ("principal_arn",))
        self._problems = self._table("problems", ("what", "name", "message", "source", "path"))
        self.actions = self._actions()

    # -- opening ----------------------------------------------------------------------------

    @property
    def report(self) -> dict[str, Any] | None:
        """``DIR/report.json`` (``None`` when there is none)."""
        if self._report is None:
            self._report = self._json("report.json")
        return self._report

    @staticmethod
    def _text(path: Path) -> str:
        return read_text(path, limit=MAX_REVIEW_JSON_BYTES, error=ReviewDataError)

    def _json(self, name: str) -> dict[str, Any] | None:
        path = self.path / name
        if not path.exists():  # present but no regular file: refused by `_text`
            return None
        try:
            got = json.loads(self._text(path))
        except json.JSONDecodeError as exc:
            raise ReviewDataError(f"{path}: not readable JSON: {_first_line(exc)}") from None
        if not isinstance(got, dict):
            raise ReviewDataError(f"{path}: expected a JSON object")
        return got

    def _table(self, name: str, columns: Sequence[str]) -> str | None:
        """A view over ``DIR/NAME.parquet`` when it exists with ``columns`` (else ``None``:
        the matrix is read instead)."""
        path = self.path / f"{name}.parquet"
        if not path.is_file():
            return None
        try:
            self._con.execute(
                f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                f"read_parquet({_sql_text(str(path))})"
            )
            have = {str(r[0]) for r in self._con.execute(f"DESCRIBE {name}").fetchall()}
        except self._duckdb_error as exc:
            self.close()
            raise ReviewDataError(f"{path}: not readable Parquet: {_first_line(exc)}") from None
        return name if set(columns) <= have else None

    def _actions(self) -> tuple[str, ...]:
        for keys in (("actions",), ("counts", "actions")):
            got: Any = self.inputs if keys == ("actions",) else self.report  # read if needed
            for k in keys:
                got = got.get(k) if isinstance(got, dict) else None
            if isinstance(got, list) and all(isinstance(a, str) for a in got) and got:
                return tuple(got)
        # the views would expand: the class cells' own file
        table = "matrix" if self._joins is None else "cells"
        if self._layout is not None:
            table = "class_columns"
        return tuple(r[0] for r in self._rows(f"SELECT DISTINCT action FROM {table} ORDER BY 1"))

    def close(self) -> None:
        """Release the connection."""
        self._con.close()

    def __enter__(self) -> ReviewData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self._con.execute(sql, list(params)).fetchall()]
        except self._duckdb_error as exc:
            raise ReviewDataError(
                f"--review {str(self.path)!r}: the dataset cannot be read: {_first_line(exc)}"
            ) from None

    # -- names ------------------------------------------------------------------------------

    @property
    def max_chain(self) -> int | None:
        """The review's ``--max-chain`` (when its inputs record says)."""
        got = (self.inputs or {}).get("max_chain")
        return got if isinstance(got, int) else None

    def action(self, wanted: str) -> str:
        """The review's spelling of ``wanted`` (action names are case-insensitive:
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html);
        one the review did not decide is an error naming those it did."""
        by_lower = {a.lower(): a for a in self.actions}
        got = by_lower.get(wanted.lower())
        if got is not None:
            return got
        close = difflib.get_close_matches(wanted, self.actions, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ReviewDataError(
            f"action {wanted!r} is not in the review {str(self.path)!r} (it decided "
            f"{', '.join(self.actions)}){hint}: run `lspolicy review --actions ...` with it, "
            "or ask with the exports (--auth-details, --instances)"
        )

    def instance(self, wanted: str) -> tuple[str, str]:
        """``(ARN, name)`` of the instance named or ARN'd ``wanted``."""
        table = self._instances or "matrix"
        found = self._rows(
            f"SELECT DISTINCT instance_arn, instance_name FROM {table} "
            "WHERE instance_arn = ? OR instance_name = ? ORDER BY 1",
            wanted,
            wanted,
        )
        exact = [r for r in found if r[0] == wanted]
        if exact:
            return str(exact[0][0]), str(exact[0][1])
        if len(found) == 1:
            return str(found[0][0]), str(found[0][1])
        if found:
            arns = ", ".join(str(r[0]) for r in found)
            raise ReviewDataError(
                f"instance name {wanted!r} matches several instances: {arns} (give the ARN)"
            )
        count = self._rows(f"SELECT count(DISTINCT instance_name) FROM {table}")[0][0]
        close = self._close(wanted, table, "instance_name")
        hint = f"; did you mean {close!r}?" if close else ""
        raise ReviewDataError(
            f"no instance named {wanted!r} in the review {str(self.path)!r} "
            f"({count} instance names){hint}"
        )

    def _close(self, wanted: str, table: str, column: str) -> str | None:
        """The closest value of ``column`` to ``wanted`` by difflib, among the `CLOSE_SHORTLIST`
        most similar by DuckDB's Jaro-Winkler similarity (difflib over a whole organization's
        200,000 names took 3.6 s of CPU for a typo's hint)."""
        shortlist = [
            str(r[0])
            for r in self._rows(
                f"SELECT DISTINCT {column}, jaro_winkler_similarity({column}, ?) AS s FROM {table}"
                f" ORDER BY s DESC, {column} LIMIT {CLOSE_SHORTLIST}",
                wanted,
            )
        ]
        close = difflib.get_close_matches(wanted, shortlist, n=1)
        return close[0] if close else None

    def principal(self, wanted: str) -> str:
        """``wanted`` when it is a user or role of the review."""
        table = self._principals or "matrix"
        if self._rows(f"SELECT 1 FROM {table} WHERE principal_arn = ? LIMIT 1", wanted):
            return wanted
        close = self._close(wanted, table, "principal_arn")
        hint = f"; did you mean {close!r}?" if close else ""
        raise ReviewDataError(f"no user or role {wanted!r} in the review {str(self.path)!r}{hint}")

    # -- answers ----------------------------------------------------------------------------

    @staticmethod
    def _answers(rows: Sequence[Sequence[Any]], start: int) -> list[Answer]:
        """Each row's answer (its columns from ``start``: `_ROW`'s); rows with the same answer
        share one `Answer`, its conditions' JSON parsed once (one principal's thousands of
        rows hold a few distinct answers)."""
        made: dict[tuple[Any, ...], Answer] = {}
        out: list[Answer] = []
        for row in rows:
            principal, via, decision, statements, conditions, incomplete = row[start : start + 6]
            key = (
                principal,
                decision,
                conditions,
                tuple(via or ()),
                tuple(statements or ()),
                tuple(incomplete or ()),
            )
            answer = made.get(key)
            if answer is None:
                answer = made[key] = Answer(
                    str(principal),
                    key[3],
                    str(decision),
                    tuple(dict.fromkeys(key[4])),
                    tuple(json.loads(conditions) if conditions else ()),
                    key[5],
                )
            out.append(answer)
        return out

    def _cells(self, *, principal: bool, instance: bool, cells: str = "cells") -> str:
        """The matrix rows of one principal and/or one instance (``?`` parameters, in that
        order): over ``matrix/`` when materialized, else the member's class cells first (from
        the table ``cells``), then the other side's members (the view's join, made selective
        by hand)."""
        if self._joins is None:
            where = [
                w
                for w, on in (("m.principal_arn = ?", principal), ("m.instance_arn = ?", instance))
                if on
            ]
            return f"matrix m WHERE {' AND '.join(where)}"
        p = "(SELECT * FROM principals WHERE principal_arn = ?)" if principal else "principals"
        i = "(SELECT * FROM instances WHERE instance_arn = ?)" if instance else "instances"
        bits = f" AND c.bits = {bits_sql(self._joins)}" if self._joins else ""
        first, second = (
            (f"{p} p JOIN {cells} c ON c.principal_class = p.principal_class",
             f"JOIN {i} i ON i.instance_class = c.instance_class{bits}")
            if principal
            else (f"{i} i JOIN {cells} c ON c.instance_class = i.instance_class",
                  f"JOIN {p} p ON p.principal_class = c.principal_class{bits}")
        )  # fmt: skip
        return f"{first} {second} WHERE TRUE"

    def _columns(self, names: str) -> str:
        """``names`` (comma-separated matrix columns) qualified for `_cells`."""
        if self._joins is None:
            return ", ".join(f"m.{n.strip()}" for n in names.split(","))
        side = {"principal_arn": "p", "instance_arn": "i", "instance_name": "i"}
        return ", ".join(f"{side.get(n.strip(), 'c')}.{n.strip()}" for n in names.split(","))

    def _member(self, table: str, key: str, arn: str, cls: str, join: str) -> tuple[Any, ...]:
        """A member's class id and join values (``join_value_j`` or ``join_tag_j``)."""
        names = ", ".join([cls, *(f"{join}_{j}" for j in range(self._joins or 0))])
        got = self._rows(f"SELECT {names} FROM {table} WHERE {key} = ? LIMIT 1", arn)
        return got[0] if got else ()

    def _who_can_by_class(self, layout: Layout, action: str, instance_arn: str) -> list[Answer]:
        member = self._member(
            "instances", "instance_arn", instance_arn, "instance_class", "join_tag"
        )
        if not member:
            return []
        columns = instance_columns_sql(layout, member[0])
        bits = f" AND k.bits = ({bits_for_instance(member[1:])})" if self._joins else ""
        hits = (
            "SELECT k.* FROM mc JOIN class_maps cm ON cm.map = mc.map\n"
            "JOIN class_columns k ON k.principal_class = cm.principal_class"
            " AND k.column_id = mc.column_id\n"
            "WHERE k.action = ? AND k.decision IN ('allowed', 'conditional')"
        )
        answer = "k"
        if layout.lookup:
            # the class cells' small columns first (one row per principal class), then each
            # kept row's answer from `outcomes`: decoding every row's lists and strings, or
            # joining them before the filter, was most of the time
            hits = hits.replace(
                "k.*", "k.principal_class, k.outcome" + (", k.bits" if self._joins else ""), 1
            )
            answer = "o"
        outcomes = "\nJOIN outcomes o ON o.outcome = k.outcome" if layout.lookup else ""
        rows = self._rows(
            f"WITH mc AS (\n{columns}\n),\nk AS MATERIALIZED (\n{hits}\n)\n"
            f"SELECT p.principal_arn, {answer}.via, {answer}.decision, {answer}.statements,"
            f" {answer}.conditions, {answer}.incomplete\n"
            f"FROM k JOIN principals p ON p.principal_class = k.principal_class{bits}{outcomes}\n"
            "ORDER BY 1",
            action,
        )
        return self._answers(rows, 0)

    def _what_can_by_class(
        self, layout: Layout, principal: str, actions: Sequence[str]
    ) -> list[tuple[str, str, str, Answer]]:
        member = self._member(
            "principals", "principal_arn", principal, "principal_class", "join_value"
        )
        if not member:
            return []
        k = int(member[0])
        found = self._rows(f"SELECT map FROM class_maps WHERE principal_class = {k}")
        if not found:
            return []
        # the class's reaching rows first (a few hundred: one per column, action and bits),
        # each answer built once; then only (instance, row number) pairs come back, not a
        # copy of the answer's lists per instance (a principal may reach 200,000 instances)
        joins = bool(self._joins)
        kept = self._rows(
            "SELECT column_id, action, "
            + ("bits, " if joins else "0, ")
            + _ROW.replace("principal_arn", "?")
            + f" FROM class_columns WHERE principal_class = {k}"
            " AND decision IN ('allowed', 'conditional') AND list_contains(?, action)",
            principal,
            list(actions),
        )
        if not kept:
            return []
        answers = self._answers(kept, 3)
        columns = map_columns_sql(layout, found[0][0])
        bits = f" AND k.bits = ({bits_for_principal(member[1:])})" if joins else ""
        rows = self._rows(
            "WITH k AS (SELECT unnest(?) AS column_id, unnest(?) AS action, unnest(?) AS bits,"
            " unnest(?) AS n),\n"
            f"mc AS (\n{columns}\n)\n"
            "SELECT i.instance_arn, i.instance_name, k.n\n"
            "FROM k JOIN mc ON mc.column_id = k.column_id\n"
            f"JOIN instances i ON i.instance_class = mc.instance_class{bits}\n"
            "ORDER BY 1, list_position(?, k.action)",
            [r[0] for r in kept],
            [r[1] for r in kept],
            [r[2] for r in kept],
            list(range(len(kept))),
            list(actions),
        )
        return [(str(r[0]), str(r[1]), str(kept[r[2]][1]), answers[r[2]]) for r in rows]

    def _cell_by_class(
        self, layout: Layout, principal: str, instance_arn: str, action: str
    ) -> list[tuple[Any, ...]]:
        who = self._member(
            "principals", "principal_arn", principal, "principal_class", "join_value"
        )
        what = self._member("instances", "instance_arn", instance_arn, "instance_class", "join_tag")
        if not who or not what:
            return []
        k = int(who[0])
        found = self._rows(f"SELECT map FROM class_maps WHERE principal_class = {k}")
        if not found:
            return []
        columns = map_columns_sql(layout, found[0][0], what[0])
        # the pair's join bits: bit j when the principal's value equals the instance's tag
        bits = sum(
            1 << j for j, (v, t) in enumerate(zip(who[1:], what[1:], strict=True))
            if v is not None and v == t
        )  # fmt: skip
        on_bits = f" AND k.bits = {bits}" if self._joins else ""
        name = self._rows(
            "SELECT instance_name FROM instances WHERE instance_arn = ?", instance_arn
        )
        return self._rows(
            f"WITH mc AS (\n{columns}\n)\n"
            "SELECT ?, ?, ?, k.action, k.decision, k.direct_decision, k.via, k.statements,"
            " k.conditions, k.incomplete\n"
            f"FROM class_columns k JOIN mc ON mc.column_id = k.column_id\n"
            f"WHERE k.principal_class = {k} AND k.action = ?{on_bits}",
            principal,
            instance_arn,
            name[0][0],
            action,
        )

    def who_can(self, action: str, instance_arn: str) -> list[Answer]:
        """Every principal that reaches ``action`` on the instance, by ARN."""
        if self._layout is not None:
            return self._who_can_by_class(self._layout, action, instance_arn)
        rows = self._rows(
            f"SELECT {self._columns(_ROW)} FROM {self._cells(principal=False, instance=True)} "
            "AND action = ? AND decision IN ('allowed', 'conditional') ORDER BY 1",
            instance_arn,
            action,
        )
        return self._answers(rows, 0)

    def what_can(
        self, principal: str, actions: Sequence[str]
    ) -> list[tuple[str, str, str, Answer]]:
        """Every ``(instance ARN, instance name, action, answer)`` the principal reaches, by
        instance ARN then action in the order given (from the reaching cells clustered by
        principal class, when the review wrote them: one or two row groups are read)."""
        if self._layout is not None:
            return self._what_can_by_class(self._layout, principal, actions)
        cells = self._cells(principal=True, instance=False, cells=self._reaching)
        rows = self._rows(
            f"SELECT {self._columns('instance_arn, instance_name, action, ' + _ROW)} "
            f"FROM {cells} "
            "AND list_contains(?, action) AND decision IN ('allowed', 'conditional') "
            "ORDER BY 1, list_position(?, action)",
            principal,
            list(actions),
            list(actions),
        )
        answers = self._answers(rows, 3)
        return [(str(r[0]), str(r[1]), str(r[2]), a) for r, a in zip(rows, answers, strict=True)]

    def cell(self, principal: str, instance_arn: str, action: str) -> dict[str, Any] | None:
        """The stored row of one cell (``None`` when the review has none)."""
        names = [
            "principal_arn",
            "instance_arn",
            "instance_name",
            "action",
            "decision",
            "direct_decision",
            "via",
            "statements",
            "conditions",
            "incomplete",
        ]
        if self._layout is not None:
            rows = self._cell_by_class(self._layout, principal, instance_arn, action)
        else:
            rows = self._rows(
                f"SELECT {self._columns(', '.join(names))} "
                f"FROM {self._cells(principal=True, instance=True)} AND action = ?",
                principal,
                instance_arn,
                action,
            )
        if not rows:
            return None
        out = dict(zip(names, rows[0], strict=True))
        out["via"] = list(out["via"] or ())
        out["statements"] = list(out["statements"] or ())
        out["incomplete"] = list(out["incomplete"] or ())
        out["conditions"] = json.loads(out["conditions"]) if out["conditions"] else []
        return out

    def not_evaluated(self) -> list[dict[str, object]]:
        """Everything the review could not evaluate (``problems.parquet``)."""
        if self._problems is None:
            return []
        keys = ("what", "name", "message", "source", "path")
        return [
            dict(zip(keys, r, strict=True))
            for r in self._rows(f"SELECT {', '.join(keys)} FROM problems")
        ]

    def notes(self) -> list[str]:
        """What the review assumed or did not traverse (``report.json``'s notes)."""
        path = self.path / "report.json"
        if self._report is None and path.exists():
            # `lspolicy review` writes it with indent 2: a top-level key is the only text
            # "\n  KEY": (a JSON string holds no raw newline); decode just that value
            text = self._text(path)
            at = text.rfind(_NOTES_KEY)
            if at >= 0:
                try:
                    got, _ = json.JSONDecoder().raw_decode(text, at + len(_NOTES_KEY))
                except json.JSONDecodeError:
                    got = None
                if isinstance(got, list):
                    return [str(n) for n in got]
        got = (self.report or {}).get("notes")
        return [str(n) for n in got] if isinstance(got, list) else []
