"""Spark reads the review's dataset unchanged (issue 11 §2: "a Parquet dataset that DuckDB ...
and Spark read unchanged").

Spark is not in the ``test`` extra: pyspark with its JVM jars is about 450 MB and a local
session takes seconds to start, which CI's time budget does not buy for one reader check. It is
the ``spark`` extra (``pip install -e '.[test,spark]'``, with a Java runtime on the PATH); where
pyspark or Java is missing this test skips and says which.

What is checked, on the review of the bundled sample export (``examples/account``): Spark's
``spark.read.parquet`` opens ``matrix/`` and every table file; each has the same row count in
Spark as in DuckDB; the matrix's list columns (``via``, ``statements``, ``incomplete``) are
arrays of strings and ``production``/``used`` booleans in Spark's schema; and the README's query
(who stops ``staging-web`` only through a role chain) gives the same rows in Spark as in DuckDB.
Parquet's logical types are Apache Parquet's (https://parquet.apache.org/docs/file-format/types/);
AWS's documentation has nothing on this, it concerns only the file format.

And Spark gets the matrix of a factorized review (``--materialize never``: no ``matrix/``) as
the README says: the class files registered as views, then ``DIR/matrix.sql`` run by Spark SQL,
giving the rows DuckDB's view gives. The SQL is standard (joins, CASE, CAST), which Spark SQL
runs as written (Spark SQL reference, "SELECT":
https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select.html).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_review_query import example_inputs

from lspolicy.account.parquet import connect
from lspolicy.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "account"
TABLES = (
    "principals",
    "instances",
    "class_columns",
    "class_maps",
    "part_maps",
    "map_parts",
    "escalation_classes",
    "problems",
    "observed",
)
"""Files the review always writes (the class cells and escalations by class: `cells` and
`escalations` are views over them); every other ``*.parquet`` in the dataset is read too."""
QUERY = (
    "SELECT principal_arn, via FROM {m} WHERE instance_name = 'staging-web' "
    "AND action = 'lightsail:StopInstance' AND decision = 'allowed' AND via_length > 0 "
    "ORDER BY principal_arn"
)

if importlib.util.find_spec("pyspark") is None:
    pytest.skip(
        "pyspark is not installed (the optional `spark` extra: pip install -e '.[test,spark]')",
        allow_module_level=True,
    )
if shutil.which("java") is None:
    pytest.skip("pyspark is installed but no `java` is on the PATH", allow_module_level=True)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession  # noqa: PLC0415 - optional dependency

    session = (
        SparkSession.builder.master("local[1]")
        .appName("lspolicy-review-check")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("review")
    code = main(
        [
            "review",
            "--out",
            str(target),
            "--auth-details",
            *map(str, sorted(EXAMPLES.glob("auth-details-*.json"))),
            "--instances",
            *map(str, sorted(EXAMPLES.glob("instances-*.json"))),
            "--organization",
            str(EXAMPLES / "organization.json"),
        ]
    )
    assert code == 0
    return target


def test_spark_reads_every_table_with_duckdbs_row_counts(spark: Any, out: Path) -> None:
    """Every file of the dataset opens in Spark with the row count DuckDB sees."""
    matrix = spark.read.parquet(str(out / "matrix"))
    rows = duckdb.sql(f"SELECT count(*) FROM '{out}/matrix/*.parquet'").fetchall()[0][0]
    assert rows > 0
    assert matrix.count() == rows
    files = {p.stem for p in out.glob("*.parquet")}
    assert set(TABLES) <= files, sorted(set(TABLES) - files)
    for table in sorted(files):
        path = out / f"{table}.parquet"
        want = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0][0]
        assert spark.read.parquet(str(path)).count() == want, table


def test_spark_schema_and_readme_query_match_duckdb(spark: Any, out: Path) -> None:
    """List columns are string arrays and flags booleans in Spark; the README's query gives
    DuckDB's rows."""
    matrix = spark.read.parquet(str(out / "matrix"))
    types = {f.name: f.dataType.simpleString() for f in matrix.schema.fields}
    for name in ("via", "statements", "incomplete"):
        assert types[name] == "array<string>", (name, types[name])
    assert types["production"] == "boolean"
    assert types["used"] == "boolean"
    matrix.createOrReplaceTempView("matrix")
    got = [(r[0], list(r[1])) for r in spark.sql(QUERY.format(m="matrix")).collect()]
    want = [
        (r[0], list(r[1]))
        for r in duckdb.sql(QUERY.format(m=f"'{out}/matrix/*.parquet'")).fetchall()
    ]
    assert got == want
    assert got, "the sample export has access through a role chain to staging-web"


COLUMNS = "principal_arn, instance_arn, action, decision, via, statements"


def test_spark_runs_matrix_sql_over_the_class_files(spark: Any, tmp_path: Path) -> None:
    """A factorized review's ``matrix.sql`` over its class files gives DuckDB's view's rows."""
    out = tmp_path / "review"
    assert main(["review", *example_inputs(), "--out", str(out), "--materialize", "never"]) == 0
    assert not (out / "matrix").exists()
    for name in (
        "class_columns",
        "class_maps",
        "part_maps",
        "map_parts",
        "principals",
        "instances",
        "observed",
    ):
        spark.read.parquet(str(out / f"{name}.parquet")).createOrReplaceTempView(name)
    sql = (out / "matrix.sql").read_text()
    got = sorted(
        (r[0], r[1], r[2], r[3], list(r[4]), list(r[5]))
        for r in spark.sql(f"SELECT {COLUMNS} FROM ({sql})").collect()
    )
    con = connect(out)
    want = sorted(
        (r[0], r[1], r[2], r[3], list(r[4]), list(r[5]))
        for r in con.execute(f"SELECT {COLUMNS} FROM matrix").fetchall()
    )
    con.close()
    assert len(got) == 360
    assert got == want
