"""The bounded YAML loader: aliases, depth, tags, duplicates, size — each a located error."""

from __future__ import annotations

import pytest

from lspolicy.parse.jsonpos import Span
from lspolicy.sources import extract
from lspolicy.yamlpos import YamlError, load_yaml

# "billion laughs": nine levels of ten aliases each, 10**9 nodes once expanded, ~400 bytes
BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def test_alias_bomb_fails_at_the_alias_crossing_the_budget() -> None:
    """Aliases are counted while composing, never expanded: the bomb fails at a located alias.

    https://yaml.org/spec/1.1/#id863390 (aliases refer to anchored nodes);
    https://en.wikipedia.org/wiki/Billion_laughs_attack
    """
    assert len(BOMB) < 600
    with pytest.raises(YamlError) as err:
        load_yaml(BOMB)
    assert err.value.message == "aliases expand the document past 200000 nodes (alias '*e')"
    assert (err.value.line, err.value.column) == (6, 8)


def test_alias_bomb_in_a_template_is_a_source_problem() -> None:
    """The same bomb in a CloudFormation template is a located ``limit`` problem: the file is
    refused as input (the gate exits 2), not reported as a policy it could not read.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html
    """
    text = "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\nMetadata:\n" + "".join(
        "  " + line + "\n" for line in BOMB.splitlines()
    )
    got = extract("bomb.yaml", text)
    assert got is not None
    (problem,) = got.problems
    assert (
        problem.message
        == "invalid YAML: aliases expand the document past 200000 nodes (alias '*e')"
    )
    assert (problem.location.line, problem.code) == (9, "limit")


def test_deep_nesting_is_refused_at_the_limit() -> None:
    """Nesting deeper than 64 levels stops the composer there (no recursion to the end).

    https://yaml.org/spec/1.1/#id871856 (flow collections nest)
    """
    with pytest.raises(YamlError) as err:
        load_yaml("[" * 10_000 + "]" * 10_000)
    assert (err.value.message, err.value.line, err.value.column) == (
        "nesting deeper than 64 levels", 1, 65,
    )  # fmt: skip


def test_recursive_alias_duplicate_key_and_size() -> None:
    """An alias inside its own anchor, a repeated key and oversized text are refused, located.

    https://yaml.org/spec/1.1/#id932806 (mapping keys are unique)
    """
    with pytest.raises(YamlError, match="refers to a node that contains it") as cyc:
        load_yaml("a: &x [1, *x]")
    assert not cyc.value.limit  # a cycle breaks YAML's own rules; it is no input limit
    with pytest.raises(YamlError) as err:
        load_yaml("a: 1\nb:\n  c: 2\n  c: 3\n")
    assert (err.value.message, err.value.line, err.value.column, err.value.path) == (
        "duplicate key 'c'", 4, 3, ("b", "c"),
    )  # fmt: skip
    with pytest.raises(YamlError, match="over the 10 lspolicy reads"):
        load_yaml("a: 12345678901", max_bytes=10)


def test_scalars_tags_and_spans() -> None:
    """YAML 1.1 scalars as PyYAML resolves them, timestamps kept as text, caller tags applied,
    spans 1-based with an exclusive end.

    https://yaml.org/type/ (bool, int, float, null, timestamp)
    """
    got = load_yaml(
        "v: 2012-10-17\nn: 12\nf: 1.5\nb: yes\nz: ~\nr: !Ref X\n",
        tags={"!Ref": lambda v: {"Ref": v}},
    )
    assert got.value == {
        "v": "2012-10-17",
        "n": 12,
        "f": 1.5,
        "b": True,
        "z": None,
        "r": {"Ref": "X"},
    }
    assert got.spans[("r",)] == Span(6, 4, 6, 10)
    with pytest.raises(YamlError, match="unsupported tag '!Ref'"):
        load_yaml("r: !Ref X")
