"""``report.json``: what a reviewer acts on, queried from the written dataset with DuckDB, so
every number in the report (and in ``report.html``, rendered from it) is the dataset's.

Sections: counts (principals, instances, classes, cells by action and decision); production
instances by how many principals can stop them; tag escalations; access that exists only
through role chains; grants never used (when a trail is given); the heatmap (principals x tag
groups: instances of the group the principal can act on); everything not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lspolicy.account.parquet import connect
from lspolicy.account.review import Matrix

__all__ = ["HEATMAP_ROWS", "LIST_ROWS", "summarize"]

HEATMAP_ROWS = 200
"""Principals shown in the heatmap at most (the most access first); the dataset has them all."""
LIST_ROWS = 500
"""Rows of each list in the report at most; its total is given, and the dataset has them all."""
_REACH = "('allowed', 'conditional')"


def _rows(con: Any, sql: str, *params: object) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def summarize(
    out: Path,
    matrix: Matrix,
    *,
    focus: str,
    production: Sequence[tuple[str, str]],
    group_tag: str,
    notes: Sequence[str],
    escalation_notes: Sequence[str] = (),
    trail: dict[str, Any] | None,
) -> dict[str, Any]:
    """The summary of the dataset in ``out`` (``focus``: the action of the production list and
    the heatmap, StopInstance by default)."""
    con = connect(out)
    try:
        one = con.execute
        counts = {
            "principals": one("SELECT count(*) FROM principals").fetchone()[0],
            "instances": one("SELECT count(*) FROM instances").fetchone()[0],
            "actions": list(matrix.actions),
            "cells": one("SELECT count(*) FROM matrix").fetchone()[0],
            "principal_classes": matrix.principal_classes,
            "identity_classes": len(set(matrix.identity_class.values())),
            "instance_classes": len(matrix.instances.members),
            "class_cells": len(matrix.cells),
            "instance_singletons": matrix.instances.singletons,
        }
        decisions: dict[str, dict[str, int]] = {}
        for r in _rows(
            con, "SELECT action, decision, count(*) AS n FROM matrix GROUP BY 1, 2 ORDER BY 1, 2"
        ):
            decisions.setdefault(r["action"], {})[r["decision"]] = r["n"]
        prod = _rows(
            con,
            f"""
            SELECT i.instance_arn, i.instance_name, i.instance_account, i.region, i.tags,
                   count(*) FILTER (WHERE m.decision = 'allowed') AS allowed,
                   count(*) FILTER (WHERE m.decision = 'conditional') AS conditional,
                   count(*) FILTER (WHERE m.decision IN {_REACH} AND m.via_length > 0) AS via_chain,
                   list(m.principal_arn ORDER BY m.principal_arn)
                     FILTER (WHERE m.decision IN {_REACH}) AS principals
            FROM instances i JOIN matrix m ON m.instance_arn = i.instance_arn AND m.action = ?
            WHERE i.production
            GROUP BY ALL
            ORDER BY allowed + conditional DESC, i.instance_arn
            """,
            focus,
        )
        for r in prod:
            r["tags"] = json.loads(r["tags"])
            r["principals"] = (r["principals"] or [])[:LIST_ROWS]
        escalations = _rows(
            con,
            "SELECT e.*, i.instance_name, l.instance_name AS like_instance_name "
            "FROM escalations e JOIN instances i USING (instance_arn) "
            "JOIN instances l ON l.instance_arn = e.like_instance_arn "
            "ORDER BY e.principal_arn, e.instance_arn",
        )
        for e in escalations:
            e["set_tags"] = json.loads(e["set_tags"])
        chain_only_total = one(
            f"SELECT count(*) FROM matrix WHERE decision IN {_REACH} "
            f"AND direct_decision NOT IN {_REACH}"
        ).fetchone()[0]
        chain_only = _rows(
            con,
            f"""
            SELECT principal_arn, action, count(*) AS instances,
                   list(DISTINCT array_to_string(via, ' -> ') ORDER BY array_to_string(via, ' -> ')) AS chains
            FROM matrix WHERE decision IN {_REACH} AND direct_decision NOT IN {_REACH}
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
        )
        unused: list[dict[str, Any]] | None = None
        if trail is not None:
            unused = _rows(
                con,
                f"""
                SELECT principal_arn, action,
                       count(*) FILTER (WHERE decision IN {_REACH}) AS granted,
                       count(*) FILTER (WHERE decision IN {_REACH} AND used) AS used,
                       count(*) FILTER (WHERE decision IN {_REACH} AND NOT used) AS unused
                FROM matrix GROUP BY 1, 2
                HAVING count(*) FILTER (WHERE decision IN {_REACH} AND NOT used) > 0
                ORDER BY 1, 2
                """,
            )
        groups = _rows(
            con, "SELECT tag_group, count(*) AS instances FROM instances GROUP BY 1 ORDER BY 1"
        )
        heat = _rows(
            con,
            f"""
            SELECT principal_arn, tag_group,
                   count(*) FILTER (WHERE decision IN {_REACH}) AS n
            FROM matrix WHERE action = ? GROUP BY 1, 2
            """,
            focus,
        )
        problems = _rows(con, "SELECT * FROM problems")
    finally:
        con.close()
    totals: dict[str, int] = {}
    cells: dict[str, dict[str, int]] = {}
    for h in heat:
        cells.setdefault(h["principal_arn"], {})[h["tag_group"]] = h["n"]
        totals[h["principal_arn"]] = totals.get(h["principal_arn"], 0) + h["n"]
    ranked = sorted(totals, key=lambda p: (-totals[p], p))
    return {
        "format": "lspolicy-review/1",
        "focus_action": focus,
        "production_tags": [f"{k}={v}" for k, v in production],
        "group_tag": group_tag,
        "counts": counts,
        "decisions": decisions,
        "production": prod[:LIST_ROWS],
        "production_total": len(prod),
        "escalations": escalations[:LIST_ROWS],
        "escalations_total": len(escalations),
        "chain_only": chain_only[:LIST_ROWS],
        "chain_only_total": chain_only_total,
        "unused": None if unused is None else unused[:LIST_ROWS],
        "unused_total": None if unused is None else len(unused),
        "trail": trail,
        "heatmap": {
            "groups": groups,
            "rows": [
                {"principal_arn": p, "total": totals[p], "counts": cells[p]}
                for p in ranked[:HEATMAP_ROWS]
            ],
            "rows_total": len(ranked),
        },
        "not_evaluated": problems,
        "notes": list(notes),
        "escalation_notes": list(escalation_notes),
    }
