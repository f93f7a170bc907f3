"""``report.html`` in a real headless Chromium: it renders, no input can add a script, and the
numbers the browser shows are the Parquet dataset's, queried with DuckDB.

Chromium is Debian's package (``/usr/bin/chromium``); ``.ci/run`` installs it when missing.
The test is skipped only when no Chromium can be found, with that reason.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from lspolicy.cli import main

DATA = Path(__file__).resolve().parent / "data"
SCRIPT_ROLE = (
    "arn:aws:iam::333333333333:role/<script>document.body.setAttribute('data-pwned','1')</script>"
)
STOP = "lightsail:StopInstance"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Dom(HTMLParser):
    """Elements with ``data-metric`` (their attributes and text) and every start tag's name."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.metrics: list[tuple[dict[str, str], str]] = []
        self.body_attrs: dict[str, str] = {}
        self._open: dict[str, str] | None = None
        self._text: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body_attrs = a
        if "data-metric" in a:
            self._open, self._text = a, []

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag in ("td", "b"):
            self.metrics.append((self._open, "".join(self._text).strip()))
            self._open = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._open is not None:
            self._text.append(data)


def _dump_dom(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout
    return done.stdout


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian package `chromium`; .ci/run installs it)",
)
def test_rendered_numbers_match_the_dataset(tmp_path: Path) -> None:
    """The heatmap cells (principal x env group: instances the principal can stop), the
    production table, the decision counts and the cards, as Chromium's DOM has them, each equal
    to the same count over ``matrix/*.parquet`` in DuckDB. A role named
    ``<script>...setAttribute('data-pwned','1')</script>`` shows as text: the DOM has no script
    element and the body no ``data-pwned`` attribute."""
    out = tmp_path / "out"
    inputs = [
        "--auth-details", str(DATA / "review-auth-details-333333333333.json"),
        "--instances", str(DATA / "review-instances-333333333333.json"),
        "--trail", str(DATA / "review-trail.json"),
    ]  # fmt: skip
    assert main(["review", *inputs, "--out", str(out)]) == 0
    dom = _Dom()
    dom.feed(_dump_dom(out / "report.html", tmp_path / "profile"))
    assert "script" not in dom.tags
    assert "data-pwned" not in dom.body_attrs
    assert SCRIPT_ROLE in "".join(dom.text)

    con = duckdb.connect()
    con.execute(f"CREATE VIEW matrix AS SELECT * FROM read_parquet('{out}/matrix/*.parquet')")

    def one(sql: str, *params: object) -> int:
        got = con.execute(sql, list(params)).fetchone()
        assert got is not None
        return int(got[0])

    heat = [(a, t) for a, t in dom.metrics if a["data-metric"] == "heat"]
    assert len(heat) == 3  # 3 principals x one group (env=prod)
    for attrs, text in heat:
        expected = one(
            "SELECT count(*) FROM matrix WHERE principal_arn = ? AND tag_group = ? "
            "AND action = ? AND decision IN ('allowed', 'conditional')",
            attrs["data-principal"],
            attrs["data-group"],
            STOP,
        )
        assert int(text) == expected, attrs
    assert sorted(int(t) for _, t in heat) == [2, 2, 3]

    prod = [(a, t) for a, t in dom.metrics if a["data-metric"] == "production-principals"]
    assert len(prod) == 3
    for attrs, text in prod:
        expected = one(
            "SELECT count(*) FROM matrix WHERE instance_arn = ? AND action = ? "
            "AND decision IN ('allowed', 'conditional')",
            attrs["data-key"],
            STOP,
        )
        assert int(text) == expected

    decisions = [(a, t) for a, t in dom.metrics if a["data-metric"] == "decision"]
    assert len(decisions) == 6 * 4
    for attrs, text in decisions:
        action, decision = attrs["data-key"].split("|")
        expected = one(
            "SELECT count(*) FROM matrix WHERE action = ? AND decision = ?", action, decision
        )
        assert int(text) == expected

    cards = {a["data-key"]: int(t) for a, t in dom.metrics if a["data-metric"] == "count"}
    assert cards["cells"] == one("SELECT count(*) FROM matrix") == 54
    assert cards["escalations"] == 1
    assert cards["chain_only"] == one(
        "SELECT count(*) FROM matrix WHERE decision IN ('allowed', 'conditional') "
        "AND direct_decision NOT IN ('allowed', 'conditional')"
    )

    unused = {a["data-key"]: int(t) for a, t in dom.metrics if a["data-metric"] == "unused"}
    for key, n in unused.items():
        principal, action = key.split("|")
        assert n == one(
            "SELECT count(*) FROM matrix WHERE principal_arn = ? AND action = ? "
            "AND decision IN ('allowed', 'conditional') AND NOT used",
            principal,
            action,
        )
    assert unused  # the trail was given: the section is there
