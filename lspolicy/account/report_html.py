"""``report.html``: one self-contained page (inline CSS, no script, no external asset) rendered
from the review's summary (`lspolicy.account.summary`).

Names in it come from untrusted exports (a role name, a tag value): every piece of text goes
through `html.escape` (quotes too, for attribute values), so no input can add markup. The page
has no ``<script>`` at all; a test renders it in headless Chromium and checks that its numbers
are the dataset's. Numbers carry ``data-*`` attributes saying what they count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

__all__ = ["render"]

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:80em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;word-break:break-all}.muted{color:#777}
.heat td.n{min-width:3em;text-align:center}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em}
.card b{display:block;font-size:1.6em}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: int, metric: str, key: str = "") -> str:
    attr = f' data-metric="{_e(metric)}"' + (f' data-key="{_e(key)}"' if key else "")
    return f'<td class="n"{attr}>{int(value)}</td>'


def _table(head: Sequence[str], rows: Iterable[str], *, cls: str = "", tid: str = "") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    attrs = (f' class="{cls}"' if cls else "") + (f' id="{tid}"' if tid else "")
    return f"<table{attrs}><thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _more(shown: int, total: int) -> str:
    if total <= shown:
        return ""
    return f'<p class="muted">{shown} of {total} shown; the dataset has every row.</p>'


def _heat_style(n: int, size: int) -> str:
    """Background from pale to strong red by the share of the group; white text when dark."""
    if n <= 0 or size <= 0:
        return "background:#ffffff"
    share = min(1.0, n / size)
    light = int(92 - 52 * share)
    ink = "#fff" if light < 60 else "#222"
    return f"background:hsl(0,75%,{light}%);color:{ink}"


def render(summary: dict[str, Any]) -> str:
    """The whole page."""
    s = summary
    c = s["counts"]
    focus = s["focus_action"]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<title>lspolicy review</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Lightsail access review</h1>",
        '<div class="cards">',
    ]
    for label, key, value in (
        ("principals", "principals", c["principals"]),
        ("instances", "instances", c["instances"]),
        ("cells", "cells", c["cells"]),
        ("production instances", "production", s["production_total"]),
        ("tag escalations", "escalations", s["escalations_total"]),
        ("cells only via role chains", "chain_only", s["chain_only_total"]),
    ):
        parts.append(
            f'<div class="card"><b data-metric="count" data-key="{_e(key)}">{int(value)}</b>'
            f"{_e(label)}</div>"
        )
    parts.append("</div>")

    # 1. production instances many principals can act on
    prod_tags = ", ".join(s["production_tags"]) or "(none)"
    parts.append(
        f"<h2 id=production>Production instances ({_e(prod_tags)}): who can "
        f"<code>{_e(focus)}</code></h2>"
    )
    if s["production"]:
        rows = [
            "<tr>"
            f"<td><code>{_e(p['instance_name'])}</code><br><span class=muted>{_e(p['instance_arn'])}</span></td>"
            + _num(p["allowed"] + p["conditional"], "production-principals", p["instance_arn"])
            + _num(p["allowed"], "production-allowed", p["instance_arn"])
            + _num(p["conditional"], "production-conditional", p["instance_arn"])
            + _num(p["via_chain"], "production-via-chain", p["instance_arn"])
            + f"<td>{'<br>'.join(f'<code>{_e(x)}</code>' for x in p['principals'])}</td>"
            "</tr>"
            for p in s["production"]
        ]
        parts.append(
            _table(
                ["instance", "principals", "allowed", "allowed if", "via a chain", "who"],
                rows,
                tid="production-table",
            )
        )
        parts.append(_more(len(s["production"]), s["production_total"]))
    else:
        parts.append("<p>No instance carries a production tag.</p>")

    # 2. tag escalation
    parts.append(
        "<h2 id=escalations>Principals that can retag an instance into their own access</h2>"
        "<p class=muted>The principal cannot stop the instance, may tag it, and could stop it "
        "once tagged like an instance it can stop (the lint's LSP111 at account scale).</p>"
    )
    if s["escalations"]:
        rows = [
            "<tr>"
            f"<td><code>{_e(x['principal_arn'])}</code></td>"
            f"<td><code>{_e(x['instance_name'])}</code><br><span class=muted>{_e(x['instance_arn'])}</span></td>"
            f"<td>{_e(', '.join(f'{k}={v}' for k, v in x['set_tags'].items()) or '-')}"
            f"{_e(' remove ' + ', '.join(x['remove_tags'])) if x['remove_tags'] else ''}</td>"
            f"<td>{_e(' -> '.join(x['tag_via']) or 'directly')}</td>"
            f"<td>{'allowed if conditions hold' if x['conditional'] else 'yes'}, as it stops "
            f"<code>{_e(x['like_instance_name'])}</code></td>"
            "</tr>"
            for x in s["escalations"]
        ]
        parts.append(
            _table(
                ["principal", "instance", "tag it", "tags via", "then stops it"],
                rows,
                tid="escalations-table",
            )
        )
        parts.append(_more(len(s["escalations"]), s["escalations_total"]))
    else:
        parts.append("<p>None found.</p>")

    # 3. access only through role chains
    parts.append("<h2 id=chains>Access that exists only through role chains</h2>")
    if s["chain_only"]:
        rows = [
            "<tr>"
            f"<td><code>{_e(x['principal_arn'])}</code></td><td><code>{_e(x['action'])}</code></td>"
            + _num(x["instances"], "chain-only", f"{x['principal_arn']}|{x['action']}")
            + f"<td>{'<br>'.join(f'<code>{_e(v)}</code>' for v in x['chains'])}</td></tr>"
            for x in s["chain_only"]
        ]
        parts.append(
            _table(["principal", "action", "instances", "through"], rows, tid="chains-table")
        )
    else:
        parts.append("<p>None.</p>")

    # 4. unused grants
    parts.append("<h2 id=unused>Grants never used</h2>")
    if s["unused"] is None:
        parts.append("<p class=muted>No CloudTrail trail given (<code>--trail</code>).</p>")
    elif s["unused"]:
        t = s["trail"] or {}
        parts.append(
            f"<p class=muted>From {_e(t.get('source', ''))}: {int(t.get('events', 0))} events, "
            f"{int(t.get('observations', 0))} calls on reviewed instances.</p>"
        )
        rows = [
            "<tr>"
            f"<td><code>{_e(x['principal_arn'])}</code></td><td><code>{_e(x['action'])}</code></td>"
            + _num(x["granted"], "granted", f"{x['principal_arn']}|{x['action']}")
            + _num(x["used"], "used", f"{x['principal_arn']}|{x['action']}")
            + _num(x["unused"], "unused", f"{x['principal_arn']}|{x['action']}")
            + "</tr>"
            for x in s["unused"]
        ]
        parts.append(
            _table(
                ["principal", "action", "instances granted", "used", "never used"],
                rows,
                tid="unused-table",
            )
        )
        parts.append(_more(len(s["unused"]), s["unused_total"]))
    else:
        parts.append("<p>Every grant was used in the trail.</p>")

    # 5. heatmap
    heat = s["heatmap"]
    groups = heat["groups"]
    parts.append(
        f"<h2 id=heatmap>Who can <code>{_e(focus)}</code>: principals &times; instances grouped by "
        f"<code>{_e(s['group_tag'])}</code></h2>"
        "<p class=muted>Each cell: how many instances of the group the principal can act on "
        "(allowed or allowed if); the darker, the larger the share of the group.</p>"
    )
    head = ["principal"] + [f"{g['tag_group']} ({g['instances']})" for g in groups]
    rows = []
    for r in heat["rows"]:
        cells = []
        for g in groups:
            n = int(r["counts"].get(g["tag_group"], 0))
            cells.append(
                f'<td class="n" style="{_heat_style(n, g["instances"])}" '
                f'data-metric="heat" data-principal="{_e(r["principal_arn"])}" '
                f'data-group="{_e(g["tag_group"])}">{n}</td>'
            )
        rows.append(f"<tr><td><code>{_e(r['principal_arn'])}</code></td>{''.join(cells)}</tr>")
    parts.append(_table(head, rows, cls="heat", tid="heatmap-table"))
    parts.append(_more(len(heat["rows"]), heat["rows_total"]))

    # counts by decision
    parts.append("<h2 id=decisions>Cells by action and decision</h2>")
    names = ("allowed", "conditional", "explicitDeny", "implicitDeny")
    rows = [
        f"<tr><td><code>{_e(a)}</code></td>"
        + "".join(_num(d.get(n, 0), "decision", f"{a}|{n}") for n in names)
        + "</tr>"
        for a, d in sorted(s["decisions"].items())
    ]
    parts.append(_table(["action", *names], rows, tid="decisions-table"))
    parts.append(
        f"<p class=muted>{int(c['principal_classes'])} principal classes &times; "
        f"{int(c['instance_classes'])} instance classes decided "
        f"({int(c['class_cells'])} class cells for {int(c['cells'])} cells).</p>"
    )

    # not evaluated
    parts.append("<h2 id=problems>Not evaluated</h2>")
    if s["not_evaluated"]:
        rows = [
            f"<tr><td>{_e(p['what'])}</td><td><code>{_e(p['name'])}</code></td>"
            f"<td>{_e(p['message'])}</td><td>{_e(' '.join(x for x in (p['source'], p['path']) if x))}</td></tr>"
            for p in s["not_evaluated"]
        ]
        parts.append(_table(["what", "name", "why", "where"], rows, tid="problems-table"))
    else:
        parts.append("<p>Everything was evaluated.</p>")
    notes = [*s["notes"], *s.get("escalation_notes", ())]
    if notes:
        parts.append("<ul id=notes>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)
