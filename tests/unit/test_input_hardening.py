"""Inputs that used to end as an internal error, through the real commands: each is now an input
problem (exit 2) with a location where the file has one, and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", *args],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_a_test_file_that_is_not_utf8(tmp_path: Path) -> None:
    """YAML is Unicode text (https://yaml.org/spec/1.2.2/#51-character-set); bytes that are not
    UTF-8 are an input problem naming the file."""
    (tmp_path / "t.lspolicy-test.yaml").write_bytes(b"principals: {}\nx: \xff\xfe\n")
    out = run("test", ".", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "t.lspolicy-test.yaml: the test file is not UTF-8 text" in out.stderr
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr


@pytest.mark.parametrize("command", ["test", "check"])
def test_a_number_of_5000_digits_in_a_test_file(tmp_path: Path, command: str) -> None:
    """An unquoted integer past Python's 4,300-digit conversion limit is refused where it
    stands (YAML 1.1 resolves it as an int: https://yaml.org/type/int.html)."""
    (tmp_path / "t.lspolicy-test.yaml").write_text("principals: {}\nn: " + "9" * 5000 + "\n")
    out = run(command, ".", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "t.lspolicy-test.yaml:2:4" in out.stdout + out.stderr
    assert "a number of 5000 digits" in out.stdout + out.stderr
    assert "internal error" not in out.stderr


def test_a_number_of_5000_digits_in_a_world(tmp_path: Path) -> None:
    """The same number in a world file stops ``serve`` before it listens, located."""
    (tmp_path / "w.yaml").write_text("transition_seconds: " + "9" * 5000 + "\n")
    out = run("serve", "--world", "w.yaml", "--port", "0", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "w.yaml:1:21: invalid YAML: a number of 5000 digits" in out.stderr


def test_a_fifo_named_like_a_test_file(tmp_path: Path) -> None:
    """A FIFO with a test file's name is refused, not waited on: skipped when met in a folder
    (so the run finds nothing), an input problem when named."""
    os.mkfifo(tmp_path / "t.lspolicy-test.yaml")
    walked = run("test", ".", cwd=tmp_path)
    assert walked.returncode == 2, walked.stdout + walked.stderr
    assert "skipped: 1 not a file" in walked.stderr
    named = run("test", "t.lspolicy-test.yaml", cwd=tmp_path)
    assert named.returncode == 2, named.stdout + named.stderr
    assert "not a regular file" in named.stdout + named.stderr


def _gzip_of_zeros(size: int) -> bytes:
    import zlib  # noqa: PLC0415

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    out = [packer.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*out, packer.flush()])


def test_a_gzip_trail_is_bounded_as_it_inflates(tmp_path: Path) -> None:
    """CloudTrail delivers logs as .json.gz
    (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html);
    the 256 MiB limit counts the inflated bytes, so a small gzip of 300 MiB of zeros is refused
    before it is inflated in full."""
    trail = tmp_path / "bomb.json.gz"
    trail.write_bytes(_gzip_of_zeros(300 << 20))
    assert trail.stat().st_size < 1 << 20
    out = run("generate", "--from-trail", str(trail), "--world", str(ROOT / "policies" / "world.yaml"),
              "--out", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "its gzip inflates past 100 times its size" in out.stderr


def test_a_deeply_nested_trail_line_is_a_located_problem(tmp_path: Path) -> None:
    """A line of 100,000 brackets is not a CloudTrail event: reported at its line, not a
    RecursionError."""
    trail = tmp_path / "events.jsonl"
    trail.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    out = run("generate", "--from-trail", str(trail), "--world", str(ROOT / "policies" / "world.yaml"),
              "--out", str(tmp_path / "out"), cwd=tmp_path)  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "events.jsonl:1" in out.stderr and "nested too deeply" in out.stderr


def test_files_named_inside_a_test_file_stay_inside_the_project(tmp_path: Path) -> None:
    """A test file (perhaps from a pull request) names policies by path: an absolute path or
    one leading out of the project is refused, not read (so nothing outside is quoted); a path
    to a sibling folder of the same checkout is fine. Policy grammar:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"""
    project = tmp_path / "repo"
    (project / ".git").mkdir(parents=True)
    (project / "policies").mkdir()
    (project / "tests").mkdir()
    (tmp_path / "secret.json").write_text('{"Version": "2012-10-17", "Statement": "s3cr3t"}')
    (project / "policies" / "ops.json").write_text(
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", '
        '"Action": "lightsail:StopInstance", "Resource": "*"}}'
    )
    head = "principals:\n  a: {arn: 'arn:aws:iam::111122223333:user/a', policies: [%s]}\n"
    cases = (
        "instances:\n  i: {id: x1, region: us-east-1, account: '111122223333'}\n"
        "cases:\n  - {name: a stops i, principal: a, instance: i, expect: allowed}\n"
    )
    test = project / "tests" / "t.lspolicy-test.yaml"
    test.write_text(head % "../policies/ops.json" + cases)
    ok = run("test", str(test), cwd=project)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for bad in ("../../secret.json", str(tmp_path / "secret.json")):
        test.write_text(head % f"'{bad}'" + cases)
        out = run("test", str(test), cwd=project)
        assert out.returncode == 2, out.stdout + out.stderr
        assert "s3cr3t" not in out.stdout + out.stderr
        assert "outside the project" in out.stderr or "absolute path" in out.stderr


def test_check_does_not_follow_a_file_symlink_out_of_its_path(tmp_path: Path) -> None:
    """A symlink inside the checked folder to a policy outside it is skipped with its reason:
    its text is never read, so no finding quotes it."""
    outside = tmp_path / "outside.json"
    outside.write_text('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", '
                       '"Action": "lightsail:StopInstanse", "Resource": "*"}}')  # fmt: skip
    root = tmp_path / "root"
    root.mkdir()
    (root / "ops.json").write_text(
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", '
        '"Action": "lightsail:StopInstance", "Resource": "*"}}'
    )
    (root / "link.json").symlink_to(outside)
    out = run("check", ".", "--verbose", cwd=root)
    assert "StopInstanse" not in out.stdout
    assert "skipped link.json: symlink to a file outside" in out.stderr


def test_generate_out_never_writes_through_a_symlink(tmp_path: Path) -> None:
    """An existing symlink in --out named like a generated policy is refused (exit 2); its
    target outside --out is left as it was."""
    intent = ROOT / "policies" / "intents" / "owner-stop-start-own.yaml"
    first = run(
        "generate",
        str(intent),
        "--out",
        str(tmp_path / "probe"),
        "--population",
        "50",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    name = next((tmp_path / "probe").iterdir()).name
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / name).symlink_to(victim)
    out = run("generate", str(intent), "--out", str(out_dir), "--population", "50", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "never written through" in out.stderr
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize("command", ["check", "test"])
def test_a_property_undecided_within_the_time_budget_is_exit_2_not_a_pass(
    tmp_path: Path, command: str
) -> None:
    """The bundled properties need more than a microsecond each: with ``--timeout 0.00001``
    each is undecided, reported as such, and the run exits 2 (neither pass nor fail), as
    ``lspolicy diff`` does when it cannot decide."""
    out = run(command, str(ROOT / "policies"), "--timeout", "0.00001", cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "the time budget of 1e-05 s ran out" in out.stdout
