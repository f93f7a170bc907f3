"""``lspolicy generate``: output, files, exit status (0 proven, 1 counterexamples, 2 bad
input), through `lspolicy.generate.cli.main` and a parser built with `register`."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest

from lspolicy.generate import Generation, generate
from lspolicy.generate import cli as generate_cli
from lspolicy.generate.cli import main, register
from lspolicy.parse import parse_policy

ROOT = Path(__file__).parents[2]
INTENTS = ROOT / "policies" / "intents"
WORLD = ROOT / "policies" / "world.yaml"
ONCALL = INTENTS / "oncall-team-dev-staging.yaml"


def test_register_adds_the_command() -> None:
    """The lead wires ``register`` into ``lspolicy``'s own parser; it sets ``run``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_create.html)."""
    parser = argparse.ArgumentParser(prog="lspolicy")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["generate", str(ONCALL), "--population", "10", "--seed", "3"])
    assert args.command == "generate" and args.run is generate_cli.run
    assert (args.population, args.seed, args.format, args.world, args.out) == (
        10,
        3,
        "text",
        None,
        None,
    )


def test_text_output_prints_each_policy_and_the_proof(capsys: pytest.CaptureFixture[str]) -> None:
    """The policy JSON as checked in, then the proof report
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_create-console.html#access_policies_create-json-editor
    takes that JSON as is)."""
    assert main([str(ONCALL), "--world", str(WORLD), "--population", "500"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# oncall-team-dev-staging.policy.json: for principals tagged role")
    assert (INTENTS / "oncall-team-dev-staging.policy.json").read_text() in out
    assert "proof: PROVEN" in out and f"world 16 over {WORLD}" in out


def test_out_writes_one_file_per_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--out DIR`` writes ``<name>.policy.json`` for each principal selector
    (https://docs.aws.amazon.com/cli/latest/reference/iam/create-policy.html)."""
    intent = INTENTS / "ops-stop-except-prod-without-mfa.yaml"
    assert main([str(intent), "--out", str(tmp_path / "out"), "--population", "200"]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        "ops-stop-except-prod-without-mfa-role-sre-automation.policy.json",
        "ops-stop-except-prod-without-mfa-tag-team-ops.policy.json",
    ]
    for name in written:
        assert (tmp_path / "out" / name).read_text() == (INTENTS / name).read_text()
    out = capsys.readouterr().out
    assert '"Version"' not in out and out.count("wrote ") == 2


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format json``: the documents, notes and the whole proof report, machine-readable
    (https://docs.aws.amazon.com/cli/latest/reference/iam/create-policy.html)."""
    assert main([str(ONCALL), "--format", "json", "--population", "100"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["proof"]["proven"] is True
    assert payload["proof"]["population"]["random"] == 100
    (policy,) = payload["policies"]
    assert policy["file"] == "oncall-team-dev-staging.policy.json"
    text = (INTENTS / policy["file"]).read_text()
    assert policy["document"] == json.loads(text) and policy["size"] <= policy["limit"] == 6144


def test_a_bad_intent_exits_2_with_located_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every problem on stderr with file, line, column and path; nothing on stdout
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_policy-validator.html)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(ONCALL.read_text().replace("StopInstance", "StopInstances"))
    assert main([str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"lspolicy: {bad}:10:15: grants[0].actions[0]: unknown Lightsail action" in captured.err
    assert main([str(bad), "--format", "json"]) == 2
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert (problem["line"], problem["column"], problem["code"]) == (10, 15, "intent")


def test_a_missing_or_bad_world_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The world is validated as the emulator validates it
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Instance.html)."""
    assert main([str(ONCALL), "--world", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read the world file" in capsys.readouterr().err
    world = tmp_path / "w.yaml"
    world.write_text("accounts: []\nprincipals: []\ninstances: []\n")
    assert main([str(ONCALL), "--world", str(world)]) == 2
    assert "accounts" in capsys.readouterr().err


def test_an_intent_no_policy_can_hold_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An inline policy over its quota cannot be split
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    ids = ", ".join(f"{i:08x}-aaaa-4bbb-8ccc-{i:012x}" for i in range(60))
    text = ONCALL.read_text().replace("grants:", "attach_as: user-inline\ngrants:")
    text = text.replace("    instances:\n", f"    instances:\n      ids: [{ids}]\n")
    intent = tmp_path / "big.yaml"
    intent.write_text(text)
    assert main([str(intent)]) == 2
    assert "over the 2048 IAM allows" in capsys.readouterr().err


def test_counterexamples_exit_1_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy that fails its proof is printed with the counterexamples, exit status 1, and
    ``--out`` writes nothing
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""

    def broken(intent: object) -> Generation:
        gen = generate(intent)  # type: ignore[arg-type]
        p = gen.policies[0]
        text = p.text.replace('"StringEquals"', '"StringEqualsIfExists"')
        q = dataclasses.replace(p, text=text, policy=parse_policy(text))
        return dataclasses.replace(gen, policies=(q,))

    monkeypatch.setattr(generate_cli, "generate", broken)
    out = tmp_path / "out"
    assert main([str(ONCALL), "--out", str(out), "--population", "300"]) == 1
    text = capsys.readouterr().out
    assert "proof: FAILED" in text and "over-grant" in text and "nothing written" in text
    assert not out.exists()


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse errors are usage errors (exit 2), as everywhere in ``lspolicy``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_policy-validator.html)."""
    assert main([str(ONCALL), "--population", "many"]) == 2
    assert "expected a whole number" in capsys.readouterr().err
    assert main([]) == 2


def test_the_quick_world_loader_gives_what_load_world_gives(tmp_path: Path) -> None:
    """``--world`` reads a valid world once with a fast decoder and the emulator's own
    ``world_from_data``: the same instances and principals as ``load_world``, YAML or JSON
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Instance.html)."""
    import yaml  # noqa: PLC0415

    from lspolicy.server.world import load_world  # noqa: PLC0415

    data = yaml.safe_load(WORLD.read_text())
    for principal in data["principals"]:  # the policies are beside the original file
        principal.pop("policies", None)
        principal.pop("boundary", None)
    as_yaml, as_json = tmp_path / "world.yaml", tmp_path / "world.json"
    as_yaml.write_text(yaml.safe_dump(data))
    as_json.write_text(json.dumps(data))
    slow = load_world(as_yaml)
    for path in (as_yaml, as_json):
        quick = generate_cli.load_world_quickly(str(path))
        assert [s.instance for s in quick.instances] == [s.instance for s in slow.instances]
        assert [p.identity for p in quick.principals.values()] == [
            p.identity for p in slow.principals.values()
        ]


def test_the_quick_world_loader_locates_problems(tmp_path: Path) -> None:
    """An invalid world goes through ``load_world``, which gives each problem its line
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Instance.html)."""
    from lspolicy.server.world import WorldError  # noqa: PLC0415

    bad = tmp_path / "w.yaml"
    bad.write_text(WORLD.read_text().replace("region: us-west-2", "region: mars"))
    with pytest.raises(WorldError) as info:
        generate_cli.load_world_quickly(str(bad))
    assert all(p.location.line > 0 for p in info.value.problems)
