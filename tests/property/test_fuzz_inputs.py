"""Fuzzing every file kind through the real command: whatever the bytes, the command ends with
exit 0, 1 or 2, never a traceback and never "internal error" (an input problem is reported as
one, with its location where the file has one).

Inputs are raw bytes, and mutations of a valid file of each kind (characters inserted, deleted or
replaced by the ones parsers trip on: quotes, brackets, YAML anchors and aliases, lone surrogate
escapes, long digit runs, NUL, invalid UTF-8). The ``ci`` profile runs a bounded, derandomized
sample; ``HYPOTHESIS_PROFILE=dev`` runs 2,000 inputs per kind, and ``HYPOTHESIS_PROFILE=fuzz
LSPOLICY_FUZZ_EXAMPLES=N`` any number N per kind. The endpoint's fuzz is test_fuzz_endpoint.py. The JSON and YAML grammars these files follow: https://www.rfc-editor.org/rfc/rfc8259,
https://yaml.org/spec/1.2.2/; IAM's policy grammar:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lspolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
FIXTURES = ROOT / "tests" / "gate" / "fixtures" / "mixed-repo"

SPECIALS = [
    b'"', b"{", b"}", b"[", b"]", b":", b",", b"&a ", b"*a", b"!Ref ", b"\\ud800", b"\\u0000",
    b"9" * 50, b"\x00", b"\xff", b"\n  ", b"- ", b"${", b"*", b"?", b"<<", b"---\n",
]  # fmt: skip


# built once: hypothesis validates every new strategy object on its first draw
EDITS = st.integers(1, 6)
OPS = st.sampled_from(["insert", "delete", "replace"])
PIECES = st.sampled_from(SPECIALS) | st.binary(min_size=1, max_size=4)
CUTS = st.integers(1, 8)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(EDITS)):
        at = draw(st.integers(0, len(data)))
        op = draw(OPS)
        piece = draw(PIECES)
        if op == "insert":
            data[at:at] = piece
        elif op == "delete":
            data[at : at + draw(CUTS)] = b""
        else:
            data[at : at + len(piece)] = piece
    return bytes(data)


def inputs(seed: Path) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=300) | mutated(seed.read_bytes())


def run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


# (name, seed file, file name to write, the command given the written file and a scratch folder)
KINDS: list[tuple[str, Path, str, Callable[[Path, Path], list[str]]]] = [
    ("policy", POLICIES / "team-operators.json", "p.json", lambda f, d: ["check", str(f), "--format", "json"]),
    ("test-file", POLICIES / "stop-instance.lspolicy-test.yaml", "t.lspolicy-test.yaml", lambda f, d: ["test", str(f)]),
    ("simulate", Path(__file__).parent / "fixtures" / "simulate-request.json", "r.json", lambda f, d: ["simulate", str(f)]),
    ("explain", Path(__file__).parent / "fixtures" / "simulate-request.json", "r.json", lambda f, d: ["explain", "--request", str(f)]),
    ("intent", POLICIES / "intents" / "owner-stop-start-own.yaml", "i.yaml", lambda f, d: ["generate", str(f), "--out", str(d / "out"), "--population", "50"]),
    ("world", POLICIES / "world.yaml", "w.yaml", lambda f, d: ["generate", str(POLICIES / "intents" / "owner-stop-start-own.yaml"), "--world", str(f), "--out", str(d / "out"), "--population", "50"]),
    ("trail", POLICIES / "trails" / "example.jsonl", "e.jsonl", lambda f, d: ["generate", "--from-trail", str(f), "--world", str(POLICIES / "world.yaml"), "--out", str(d / "out"), "--population", "50"]),
    ("config", ROOT / "pyproject.toml", "lspolicy.toml", lambda f, d: ["check", str(POLICIES / "team-operators.json"), "--config", str(f)]),
    ("cloudformation", FIXTURES / "infra" / "cloudformation" / "operators.yaml", "t.yaml", lambda f, d: ["check", str(f)]),
    ("terraform", FIXTURES / "infra" / "terraform" / "main.tf", "main.tf", lambda f, d: ["check", str(f)]),
    ("terraform-plan", FIXTURES / "infra" / "terraform" / "plan.json", "plan.json", lambda f, d: ["check", str(f)]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "seed", "filename", "command"), KINDS, ids=[k[0] for k in KINDS])
def test_no_input_ends_in_a_traceback(
    name: str, seed: Path, filename: str, command: Callable[[Path, Path], list[str]]
) -> None:
    if not seed.is_file():
        pytest.skip(f"no seed file {seed}")

    @given(inputs(seed))
    def fuzz(data: bytes) -> None:
        folder = Path(tempfile.mkdtemp(prefix="lspolicy-fuzz-"))
        try:
            path = folder / filename
            path.write_bytes(data)
            code, err = run(command(path, folder))
            assert code in (0, 1, 2), (code, err)
            assert "internal error" not in err and "Traceback" not in err, err
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    fuzz()
