"""``who-can --review`` and ``what-can --review`` print the review's notes (``report.json``'s
``notes``) without parsing the whole report: one account's report is 3 MB (its production
section lists every production instance's principals), 0.1 s of JSON per question
(bench/README.md, "who-can on a review's result"). `ReviewData.notes` decodes just the
top-level ``notes`` value of the report `lspolicy review` writes (``json.dumps(..., indent=2)``),
and falls back to the whole report for any other layout.

Invariant checked here: for any notes and any other content (strings holding newlines, quotes
and the very text ``"notes":``), written either way, `ReviewData.notes` equals what
``json.loads`` of the whole file gives. AWS's documentation says nothing of a review's report;
this is the project's own file contract.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_review_query import EXAMPLE  # same folder (rootdir import)
from test_review_query import example_inputs as inputs

from lspolicy.account.from_review import ReviewData, ReviewDataError
from lspolicy.cli import main

_TEXT = st.lists(
    st.sampled_from(['"', "\\", "\n", "  ", ":", "[", "]", '"notes": ', "é", "x"]), max_size=8
).map("".join)


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("notes") / "review"
    argv = ["review", *inputs(EXAMPLE), "--out", str(out), "--materialize", "never"]
    assert main(argv) == 0
    return out


@settings(max_examples=40, deadline=None)
@given(
    notes=st.lists(_TEXT, max_size=3),
    other=st.dictionaries(_TEXT.filter(lambda k: k != "notes"), _TEXT, max_size=3),
    nested=st.lists(_TEXT, max_size=2),
    layout=st.tuples(st.sampled_from([2, None, 4]), st.booleans()),
)
def test_notes_are_the_whole_reports_notes(
    review: Path,
    notes: list[str],
    other: dict[str, str],
    nested: list[str],
    layout: tuple[int | None, bool],
) -> None:
    indent, notes_first = layout
    body: dict[str, object] = {"production": [{"notes": nested, "name": "x"}], **other}
    report = {"notes": notes, **body} if notes_first else {**body, "notes": notes}
    text = json.dumps(report, indent=indent)
    (review / "report.json").write_text(text, encoding="utf-8")
    with ReviewData(review) as data:
        assert data.notes() == json.loads(text)["notes"]


def test_report_without_notes_and_a_corrupt_report(review: Path) -> None:
    """No ``notes`` key: no notes. A report that is not JSON is exit 2 material (the error
    names the file), found when the notes are read. In the layout `lspolicy review` writes,
    the notes are decoded alone."""
    (review / "report.json").write_text(json.dumps({"counts": {}}, indent=2))
    with ReviewData(review) as data:
        assert data.notes() == []
    (review / "report.json").write_text('{\n  "counts": {\n')
    with ReviewData(review) as data, pytest.raises(ReviewDataError, match=r"report\.json"):
        data.notes()
    # the review's own layout: only the notes are decoded (the rest is not even read as JSON)
    text = json.dumps({"production": ["BROKEN"], "notes": ["a note"]}, indent=2)
    (review / "report.json").write_text(text.replace('"BROKEN"', "{{{"))
    with ReviewData(review) as data:
        assert data.notes() == ["a note"]
