"""Spark gets the matrix of a factorized review (no ``matrix/``) as the README says: the class
files registered as views, then ``DIR/matrix.sql`` run by Spark SQL, giving the rows DuckDB's
view gives.

Like ``test_review_spark.py``, this needs the optional ``spark`` extra (pyspark and a Java
runtime) and skips, saying which, without them. The rows compared are the review of the bundled
sample (``examples/account``) with ``--materialize never``; the SQL is standard (joins, CASE,
CAST), which Spark SQL runs as written (Spark SQL reference, "SELECT":
https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select.html). AWS's documentation has
nothing on this: it concerns the dataset only.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_review_query import example_inputs

from lspolicy.account.parquet import connect
from lspolicy.cli import main

if importlib.util.find_spec("pyspark") is None:
    pytest.skip(
        "pyspark is not installed (the optional `spark` extra: pip install -e '.[test,spark]')",
        allow_module_level=True,
    )
if shutil.which("java") is None:
    pytest.skip("pyspark is installed but no `java` is on the PATH", allow_module_level=True)

COLUMNS = "principal_arn, instance_arn, action, decision, via, statements"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession  # noqa: PLC0415 - optional dependency

    session = (
        SparkSession.builder.master("local[1]")
        .appName("lspolicy-factorized-check")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_runs_matrix_sql_over_the_class_files(spark: Any, tmp_path: Path) -> None:
    out = tmp_path / "review"
    assert main(["review", *example_inputs(), "--out", str(out), "--materialize", "never"]) == 0
    assert not (out / "matrix").exists()
    for name in ("cells", "principals", "instances", "observed"):
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
