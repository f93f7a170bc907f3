"""``explain --review`` reads only the ``--instances`` files that may hold the cell's instance
(`lspolicy.account.explain_cell._holding`): a cell's decision reads its own instance's tags,
region and ARN only (IAM User Guide, "Controlling access to AWS resources using tags",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html: ``aws:ResourceTag/*`` is
the requested resource's), so the other files change nothing, but every file that may hold the
instance must be kept (a later file's entry replaces an earlier one's). JSON may escape ``/``
as ``\\/`` and any character as ``\\uXXXX`` (RFC 8259, section 7), so the key searched for is
the ARN's last part, and a file with any ``\\u`` escape is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lspolicy.account.explain_cell import _holding
from lspolicy.account.instances import read_instances

ARNS = [f"arn:aws:lightsail:us-east-1:111111111111:Instance/i-{n}" for n in range(4)]


def _write(path: Path, entries: list[tuple[str, str]], *, escape: bool) -> None:
    doc = {
        "instances": [
            {"name": name, "arn": arn, "location": {"regionName": "us-east-1"}, "tags": []}
            for arn, name in entries
        ]
    }
    text = json.dumps(doc, ensure_ascii=True)
    if escape:
        text = text.replace("/", "\\/").replace("i-", "\\u0069-")
    path.write_text(text)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.sampled_from(ARNS), st.sampled_from(["a", "b"])), max_size=3),
            st.booleans(),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(ARNS),
)
def test_the_files_kept_give_the_same_instance(
    tmp_path_factory: object, files: list[tuple[list[tuple[str, str]], bool]], arn: str
) -> None:
    """Reading the kept files gives the instance exactly as reading them all does (present or
    absent, the same entry when several files hold it)."""
    folder = tmp_path_factory.mktemp("instances")  # type: ignore[attr-defined]
    paths = []
    for n, (entries, escape) in enumerate(files):
        path = folder / f"instances-{n}.json"
        _write(path, entries, escape=escape)
        paths.append(str(path))
    kept = _holding(paths, arn)
    assert set(kept) <= set(paths)
    assert kept == [p for p in paths if p in kept]  # the order is kept
    assert read_instances(kept).instances.get(arn) == read_instances(paths).instances.get(arn)


def test_files_without_the_instance_are_skipped(tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    _write(one, [(ARNS[0], "a")], escape=False)
    _write(two, [(ARNS[1], "b")], escape=False)
    assert _holding([str(one), str(two)], ARNS[1]) == [str(two)]
    assert _holding([str(one), str(two)], ARNS[3]) == [str(one), str(two)]  # none: all
