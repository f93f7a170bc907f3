"""The dataset's DuckDB connections are bounded in memory and spill to a private temporary
directory that goes away with the connection.

The bound is ours, not AWS's (AWS's documentation says nothing about it): the report's queries
over a full organization's views took 9-15 GB with DuckDB's default limit (80% of the machine's
memory; DuckDB docs, "Configuration": ``memory_limit``, ``temp_directory``,
https://duckdb.org/docs/configuration/overview), against issue 11's 4 GB for the whole review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_review_query import example_inputs

from lspolicy.account.parquet import connect
from lspolicy.cli import main


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review-memory") / "out"
    assert main(["review", *example_inputs(), "--out", str(out), "--materialize", "never"]) == 0
    return out


def _gib(setting: str) -> float:
    number, unit = setting.split()
    scale = {"KiB": 1 / 1024**2, "MiB": 1 / 1024, "GiB": 1.0, "TiB": 1024.0}[unit]
    return float(number) * scale


def test_connection_memory_is_bounded(dataset: Path) -> None:
    """Each connection has a memory limit of about 2 GB (not DuckDB's 80% of the machine), and
    its own spill directory."""
    first, second = connect(dataset), connect(dataset)
    try:
        limit = first.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        assert 1.5 <= _gib(limit) <= 2.0, limit
        spills = {
            con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
            for con in (first, second)
        }
        assert len(spills) == 2, spills
        spill_cap = first.execute("SELECT current_setting('max_temp_directory_size')").fetchone()
        assert 14.0 <= _gib(spill_cap[0]) <= 16.0, spill_cap
        assert first.execute("SELECT count(*) FROM matrix").fetchone()[0] > 0
    finally:
        first.close()
        second.close()


def test_spill_directory_goes_away_with_the_connection(dataset: Path) -> None:
    """A query past the limit spills (here forced with a small limit) and the directory is
    removed when the connection closes."""
    con = connect(dataset)
    spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    con.execute("SET memory_limit = '40MB'")
    got = con.execute(
        "SELECT count(*) FROM (SELECT i, i % 997 AS k FROM range(8000000) t(i) ORDER BY k, i)"
    ).fetchone()[0]
    assert got == 8_000_000
    assert spill.is_dir()
    con.close()
    assert not spill.exists()


def _connect_calls(path: Path) -> list[tuple[str, int]]:
    """``(enclosing function, line)`` of every ``duckdb.connect(...)`` call in a module."""
    import ast  # noqa: PLC0415

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = child.name
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "connect"
                and isinstance(child.func.value, ast.Name)
                and child.func.value.id == "duckdb"
            ):
                found.append((where, child.lineno))
            visit(child, inner)

    visit(tree, "<module>")
    return found


def test_every_duckdb_connection_is_made_bounded() -> None:
    """lspolicy opens DuckDB only through `views.bounded_connection`: no other
    ``duckdb.connect`` in the package (the report, who-can, what-can, explain, ``lspolicy
    query`` and the expansion all go through it)."""
    package = Path(__file__).resolve().parents[2] / "lspolicy"
    calls = {
        (str(p.relative_to(package)), where, line)
        for p in package.rglob("*.py")
        for where, line in _connect_calls(p)
    }
    assert {(f, w) for f, w, _ in calls} == {("account/views.py", "bounded_connection")}, calls


def test_review_data_connection_is_bounded(dataset: Path) -> None:
    """who-can, what-can and explain's connection (`ReviewData`) has the same bounds."""
    from lspolicy.account.from_review import ReviewData  # noqa: PLC0415

    with ReviewData(dataset) as first, ReviewData(dataset) as second:
        settings = [
            d._con.execute(
                "SELECT current_setting('memory_limit'), current_setting('temp_directory'),"
                " current_setting('max_temp_directory_size')"
            ).fetchone()
            for d in (first, second)
        ]
    for memory, _, spill_cap in settings:
        assert 1.5 <= _gib(memory) <= 2.0, memory
        assert 14.0 <= _gib(spill_cap) <= 16.0, spill_cap
    assert settings[0][1] != settings[1][1]


def test_report_past_the_bounds_keeps_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the report's queries cannot finish within the connection's bounds (a whole
    organization's report did, before it was counted at class level: 16 GB spilled), the review
    exits 2 with one line saying why and that the dataset is written, no traceback; the
    dataset and ``inputs.json`` stay, and the dataset opens and answers. The bound here is made
    tiny (DuckDB's own ``memory_limit`` and ``max_temp_directory_size``, enforced by DuckDB)."""
    from lspolicy.account import views  # noqa: PLC0415

    monkeypatch.setattr(views, "MEMORY_LIMIT", "1MB")
    monkeypatch.setattr(views, "SPILL_LIMIT", "0KB")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}\n")  # an earlier review's: must not stay beside
    code = main(["review", *example_inputs(), "--out", str(out), "--materialize", "never"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "is written" in err and "report could not be built" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert (out / "dataset.json").is_file() and (out / "inputs.json").is_file()
    assert not (out / "report.json").exists()
    monkeypatch.undo()
    con = connect(out)
    try:
        assert con.execute("SELECT count(*) FROM principals").fetchone()[0] > 0
    finally:
        con.close()
