"""``lspolicy diff`` and the two ``check`` subcommands: output and exit codes (0 clean, 1
differences or FAIL, 2 undecided or unusable input), through `lspolicy.diff.cli`'s parsers."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from diffkit import START, STOP, allow, deny

from lspolicy.diff.cli import main, register, register_checks


def write(path: Path, *statements: dict[str, Any]) -> str:
    path.write_text(
        json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2),
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    dev = {"StringEquals": {"aws:ResourceTag/env": "dev"}}
    old = write(tmp_path / "old.json", allow(STOP, dev, Sid="StopDev"))
    new = write(
        tmp_path / "new.json",
        allow(STOP, {"StringLike": {"aws:ResourceTag/env": "d*"}}, Sid="StopDev"),
    )
    return old, new


def test_diff_text(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = pair
    assert main(["diff", old, new]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "NEW grants 1 new kind of access, removes 0"
    assert 'tags: env="dx"' in out
    assert "new.json/StopDev (line 4)" in out


def test_diff_json(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = pair
    assert main(["diff", old, new, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["new_access"] == 1 and report["removed_access"] == 0
    assert report["exact"] is True
    (difference,) = report["differences"]
    assert difference["witness"]["tags"] == {"env": "dx"}
    assert difference["new"]["decision"] == "allowed"
    assert difference["new"]["statements"][0]["statementId"] == "StopDev"


def test_diff_of_the_same_policy_is_clean(
    pair: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    old, _ = pair
    assert main(["diff", old, old]) == 0
    assert capsys.readouterr().out.startswith("no difference")


def test_directory_of_policies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a" / "allow.json", allow("lightsail:*"))
    write(tmp_path / "b" / "allow.json", allow("lightsail:*"))
    write(tmp_path / "b" / "deny.json", deny("lightsail:Delete*"))
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert "removes 1 kind of access" in capsys.readouterr().out


def test_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["diff", str(bad), str(bad)]) == 2
    assert "invalid JSON" in capsys.readouterr().err
    assert main(["diff", str(tmp_path / "missing.json"), str(bad)]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_undecided_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    level = {"StringEquals": {"aws:PrincipalTag/level": "3"}}
    old = write(tmp_path / "old.json", allow(STOP, level))
    new = write(
        tmp_path / "new.json",
        allow(STOP, {**level, "NumericEquals": {"aws:PrincipalTag/level": "3"}}),
    )
    assert main(["diff", old, new]) == 2
    assert "cannot decide exactly" in capsys.readouterr().out


def test_check_no_new_access(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    old, new = pair
    assert main(["check", "no-new-access", old, new]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL: NEW allows requests that OLD denies")
    assert 'tags: env="dx"' in out
    assert main(["check", "no-new-access", new, old, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == "PASS" and report["counterexample"] is None


def test_check_no_new_access_json_fail(
    pair: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = pair
    assert main(["check", "no-new-access", old, new, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == "FAIL"
    assert report["reasons"][0]["statementId"] == "StopDev"
    assert report["counterexample"]["witness"]["action"] == STOP


def test_check_access_not_granted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = write(
        tmp_path / "p.json",
        allow([STOP, START], Sid="Ops"),
        deny(STOP, {"StringEquals": {"aws:ResourceTag/env": "prod"}}, Sid="NoProd"),
    )
    assert main(["check", "access-not-granted", policy, "--action", STOP]) == 1
    assert capsys.readouterr().out.startswith("FAIL: lightsail:StopInstance is allowed")
    args = ["check", "access-not-granted", policy, "--action", STOP, "--tag", "env=prod"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("PASS")
    args = ["check", "access-not-granted", policy, "--action", START, "--tag", "env=prod"]
    assert main([*args, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counterexample"]["witness"]["tags"] == {"env": "prod"}
    assert main(["check", "access-not-granted", policy, "--action", "lightsail:Delete*"]) == 0
    capsys.readouterr()


def test_check_access_not_granted_on_a_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write(
        tmp_path / "p.json",
        allow(STOP, Resource="arn:aws:lightsail:us-east-1:111122223333:Instance/*"),
    )
    west = "arn:aws:lightsail:us-west-2:111122223333:Instance/*"
    args = ["check", "access-not-granted", policy, "--action", STOP]
    assert main([*args, "--resource", west]) == 0
    assert capsys.readouterr().out.startswith("PASS")
    east = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
    assert main([*args, "--resource", east, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counterexample"]["witness"]["resource"] == east


def test_usage_errors(pair: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    old, _ = pair
    assert main(["check", "access-not-granted", old]) == 2  # --action is required
    assert main(["check", "access-not-granted", old, "--action", STOP, "--tag", "env"]) == 2
    assert "--tag takes KEY=VALUE" in capsys.readouterr().err


def test_register_functions_mount_on_any_parser() -> None:
    """`lspolicy.cli` will mount these under its own parser: each sets ``run``."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    register(sub)
    check = sub.add_parser("check")
    register_checks(check.add_subparsers(dest="check"))
    args = parser.parse_args(["diff", "a.json", "b.json"])
    assert callable(args.run)
    args = parser.parse_args(["check", "access-not-granted", "p.json", "--action", STOP])
    assert callable(args.run) and args.action == [STOP]


def test_access_not_granted_pattern_covers_other_services(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = write(tmp_path / "p.json", allow("*"), deny("lightsail:*"))
    assert main(["check", "access-not-granted", policy, "--action", "iam:*"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "FAIL: iam:* is allowed"
    assert main(["check", "access-not-granted", policy, "--action", "lightsail:Delete*"]) == 0


def test_access_not_granted_with_context(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "No request on a prod instance is allowed without MFA", as two exact checks."""
    policy = write(
        tmp_path / "p.json",
        allow(STOP),
        deny(
            STOP,
            {
                "StringEquals": {"aws:ResourceTag/env": "prod"},
                "Bool": {"aws:MultiFactorAuthPresent": "false"},
            },
        ),
    )
    base = ["check", "access-not-granted", policy, "--action", STOP, "--tag", "env=prod"]
    assert main([*base, "--context", "aws:MultiFactorAuthPresent=false"]) == 0
    capsys.readouterr()
    # Bool without IfExists: an absent key is not "false", so the deny does not apply
    assert main([*base, "--absent", "aws:MultiFactorAuthPresent", "--format", "json"]) == 1
    witness = json.loads(capsys.readouterr().out)["counterexample"]["witness"]
    assert witness["tags"] == {"env": "prod"}
    assert "aws:MultiFactorAuthPresent" not in witness["context"]
    assert main([*base, "--context", "novalue"]) == 2
    assert "--context takes KEY=VALUE" in capsys.readouterr().err


def _wildcard_heavy(seed: int) -> dict[str, object]:
    """A ~5 KB policy of wildcard patterns on resources and tags, the shape that took the
    exact search two minutes before it had a time budget."""
    import random  # noqa: PLC0415

    rng = random.Random(seed)

    def pattern() -> str:
        return "".join(
            rng.choice(["a", "b", "*", "?", "ab*", "*b?a"]) for _ in range(rng.randint(4, 9))
        )

    statements = [
        {
            "Sid": f"S{i}",
            "Effect": rng.choice(["Allow", "Allow", "Deny"]),
            "Action": [f"lightsail:{rng.choice(['Stop', 'Start', 'Get', 'Reboot'])}*"],
            "Resource": [f"arn:aws:lightsail:*:*:Instance/{pattern()}" for _ in range(3)],
            "Condition": {
                "StringLike": {
                    f"aws:ResourceTag/{rng.choice(['env', 'team'])}": [pattern() for _ in range(3)],
                    "aws:PrincipalTag/team": [pattern() for _ in range(2)],
                }
            },
        }
        for i in range(14)
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def test_a_time_budget_ends_an_exact_question_with_what_was_decided(tmp_path: Path) -> None:
    """`--timeout` bounds the exact decision: what is left when it runs out is reported as
    undecided with that reason (never a pass: exit 2 without differences, 1 with), and what was
    decided is kept. StringLike wildcards:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String"""
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_wildcard_heavy(1)))
    new.write_text(json.dumps(_wildcard_heavy(2)))
    out = subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", "diff", str(old), str(new), "--timeout", "0.2", "--format", "json"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert out.returncode == (1 if report["differences"] else 2), out.stderr
    assert not report["exact"]
    reasons = [r for u in report["undecided"] for r in u["reasons"]]
    assert any("time budget of 0.2 s ran out" in r for r in reasons), reasons
    check = subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", "check", "no-new-access", str(old), str(new), "--timeout", "0.2"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert check.returncode in (1, 2) and not check.stdout.startswith("PASS"), check.stdout
