"""The world file: ``lspolicy serve`` run as a user runs it, and every way a world can be wrong.

A world that loads is served: the command prints where, and a real boto3 client is answered
there. A world that does not load stops the command with exit code 2 and, on stderr, one line
per problem in the form ``file:line:col: path: message`` (a policy's problem at the policy's
own file, line and column), never a traceback. `load_world` reports every problem at once, each
with its location.

What the world describes, the accounts, principals and instances of Lightsail's StopInstance:
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import boto3
import pytest
from botocore.config import Config

from lspolicy.errors import Problem
from lspolicy.server.world import WorldError, load_world

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_WORLD = ROOT / "policies" / "world.yaml"
SERVING = re.compile(
    r"lspolicy serving (?P<world>.+) at (?P<url>http://127\.0\.0\.1:\d+) \(state: :memory:\)"
)
LOCATED = re.compile(r"(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.+)")

ALLOW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "lightsail:*", "Resource": "*"}],
}
# A policy whose Effect is misspelt on line 3 (the value starts at column 27).
BROKEN = '{\n  "Version": "2012-10-17",\n  "Statement": {"Effect": "Allw", "Action": "*", "Resource": "*"}\n}\n'
BASE = """\
accounts:
  - id: "111122223333"
principals:
  - name: carol
    arn: arn:aws:iam::111122223333:user/carol
    access_key_id: AKIACAROLEXAMPLE0001
    secret_access_key: carol-secret-key-not-a-real-one
    policies: [allow.json]
instances:
  - name: web-1
    region: us-east-1
"""


def at(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based line and column where the ``nth`` ``needle`` starts in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    return line, start - (text.rfind("\n", 0, start) + 1) + 1


def world_dir(tmp_path: Path) -> Path:
    (tmp_path / "allow.json").write_text(json.dumps(ALLOW))
    (tmp_path / "broken.json").write_text(BROKEN)
    return tmp_path


def problems_of(path: Path) -> tuple[Problem, ...]:
    with pytest.raises(WorldError) as info:
        load_world(path)
    problems = info.value.problems
    assert problems
    for problem in problems:  # every problem prints as file:line:col: path: message
        assert str(problem).startswith(str(problem.location)), problem
    return problems


def only(problems: tuple[Problem, ...]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def write(tmp_path: Path, text: str, name: str = "world.yaml") -> Path:
    path = world_dir(tmp_path) / name
    path.write_text(text)
    return path


# -- lspolicy serve ---------------------------------------------------------------------------


def serve(world: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lspolicy.cli", "serve", "--world", str(world), "--port", "0",
         "--state", ":memory:"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def first_line(stream: IO[str] | None, timeout: float = 30) -> str:
    """The first line the server prints, or a failure after ``timeout`` seconds."""
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


def test_serve_prints_its_address_and_answers_boto3(tmp_path: Path) -> None:
    """``lspolicy serve --port 0`` picks a free port, says where it serves, and a boto3 client
    pointed there stops an instance as the example world allows (alice, team web, stops the
    web team's web-dev) and is refused what it does not (data-dev, another team's). SIGTERM
    stops it cleanly.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    proc = serve(EXAMPLE_WORLD)
    try:
        line = first_line(proc.stdout)
        found = SERVING.fullmatch(line.strip())
        assert found, line
        alice = load_world(EXAMPLE_WORLD).principals["AKIAALICEEXAMPLE0001"]
        client = boto3.client(
            "lightsail",
            endpoint_url=found["url"],
            region_name="us-east-1",
            aws_access_key_id=alice.access_key_id,
            aws_secret_access_key=alice.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}),
        )
        [op] = client.stop_instance(instanceName="web-dev")["operations"]
        assert (op["operationType"], op["resourceName"]) == ("StopInstance", "web-dev")
        assert client.get_instance_state(instanceName="web-dev")["state"]["name"] == "stopped"
        with pytest.raises(client.exceptions.AccessDeniedException):
            client.stop_instance(instanceName="data-dev")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "needle", "where"),
    [
        (BASE.replace('"111122223333"', '"1234"'), '"1234"', "world"),
        (BASE.replace("[allow.json]", "[allow.json, broken.json]"), '"Allw"', "policy"),
        (BASE.replace("  - name: carol\n", "  - name: carol\n   bad: [\n"), "bad", "world"),
    ],
    ids=["schema", "malformed-policy", "invalid-yaml"],
)
def test_serve_refuses_a_bad_world_with_exit_2_and_a_location(
    tmp_path: Path, text: str, needle: str, where: str
) -> None:
    """A world that does not load stops ``lspolicy serve`` before it listens: exit code 2, and
    on stderr ``lspolicy: file:line:col: ...`` naming the world file (or the policy file) and
    the place, never a traceback."""
    world = write(tmp_path, text)
    proc = serve(world)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert "serving" not in out
    assert "Traceback" not in err
    first = err.splitlines()[0]
    assert first.startswith("lspolicy: "), err
    located = LOCATED.fullmatch(first.removeprefix("lspolicy: "))
    assert located, first
    source = world if where == "world" else world.parent / "broken.json"
    body = text if where == "world" else BROKEN
    line, col = at(body, needle)
    assert (located["file"], int(located["line"])) == (str(source), line), first
    if needle != "bad":  # YAML marks a parse error where it noticed it, not where it began
        assert int(located["col"]) == col, first


# -- load_world: what it reports, and where ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle", "path", "words"),
    [
        (BASE.replace('"111122223333"', '"1234"'), '"1234"', "accounts[0].id", "does not match"),
        (BASE.replace("region: us-east-1", "region: US-EAST-1"), "US-EAST-1", "instances[0].region", "does not match"),
        (BASE.replace("region: us-east-1", "region: us-east-1\n    color: red"), "name: web-1", "instances[0]", "'color' was unexpected"),
        (BASE.replace('"111122223333"', "111122223333"), "111122223333", "accounts[0].id", "is not of type 'string'"),
        (BASE.replace("access_key_id: AKIACAROLEXAMPLE0001", "access_key_id: short"), "short", "principals[0].access_key_id", "does not match"),
        (BASE.replace("region: us-east-1", "region: us-east-1\n    tags: {env: yes}"), "yes", "instances[0].tags.env", "is not of type 'string'"),
        (BASE.replace("region: us-east-1", "region: us-east-1\n    state: sleeping"), "sleeping", "instances[0].state", "is not one of"),
        ("transition_seconds: -1\n" + BASE, "-1", "transition_seconds", "less than the minimum"),
        (BASE.split("instances:", maxsplit=1)[0], "accounts", "", "'instances' is a required property"),
    ],
    ids=["pattern", "region", "unknown-member", "wrong-type", "access-key", "yaml-boolean-tag",
         "state", "minimum", "required"],
)  # fmt: skip
def test_schema_violations_are_located(
    tmp_path: Path, text: str, needle: str, path: str, words: str
) -> None:
    """Every schema violation names the JSON path and the line and column of the offending
    value (of the object, for a member it should not have; of the document, for one it lacks).
    YAML reads ``yes`` as a boolean: a tag value must be quoted, and the error says where."""
    world = write(tmp_path, text)
    problem = only(problems_of(world))
    assert (problem.location.source, problem.location.path) == (str(world), path), problem
    assert (problem.location.line, problem.location.column) == at(text, needle), problem
    assert words in problem.message, problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Two schema violations in one file are both reported, each at its own place, so the
    world is fixed in one pass."""
    text = BASE.replace('"111122223333"', '"1234"').replace("us-east-1", "Mars")
    problems = problems_of(write(tmp_path, text))
    assert [(p.location.path, p.location.line) for p in problems] == [
        ("accounts[0].id", at(text, '"1234"')[0]),
        ("instances[0].region", at(text, "Mars")[0]),
    ]


def test_an_instance_in_an_undeclared_account(tmp_path: Path) -> None:
    """An instance (or a principal) must belong to an account the world declares."""
    text = BASE.replace("region: us-east-1", 'region: us-east-1\n    account: "999999999999"')
    problem = only(problems_of(write(tmp_path, text)))
    assert problem.location.path == "instances[0].account"
    assert (problem.location.line, problem.location.column) == at(text, '"999999999999"')
    assert "'999999999999'" in problem.message and "not declared" in problem.message


def test_a_principal_in_an_undeclared_account(tmp_path: Path) -> None:
    text = BASE.replace("iam::111122223333:user/carol", "iam::999999999999:user/carol")
    problem = only(problems_of(write(tmp_path, text)))
    assert problem.location.path == "principals[0].arn"
    assert (problem.location.line, problem.location.column) == at(text, "arn:aws:iam::9")
    assert "'999999999999'" in problem.message


def test_an_access_key_used_twice(tmp_path: Path) -> None:
    """An access key identifies one principal: the second use is the problem, where it is."""
    text = BASE.replace(
        "instances:",
        "  - name: dave\n"
        "    arn: arn:aws:iam::111122223333:user/dave\n"
        "    access_key_id: AKIACAROLEXAMPLE0001\n"
        "    secret_access_key: dave-secret-key-not-a-real-one\n"
        "instances:",
    )
    problem = only(problems_of(write(tmp_path, text)))
    assert problem.location.path == "principals[1].access_key_id"
    assert (problem.location.line, problem.location.column) == at(text, "AKIACAROLEXAMPLE0001", 1)
    assert "'AKIACAROLEXAMPLE0001'" in problem.message and "twice" in problem.message


def test_an_instance_name_used_twice_in_a_region(tmp_path: Path) -> None:
    """Lightsail names an instance within a region: a second web-1 in us-east-1 is refused,
    one in us-west-2 is another instance.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    text = BASE + "  - name: web-1\n    region: us-east-1\n"
    problem = only(problems_of(write(tmp_path, text)))
    assert problem.location.path == "instances[1].name"
    assert (problem.location.line, problem.location.column) == at(text, "web-1", 1)
    assert "'web-1'" in problem.message and "us-east-1" in problem.message
    elsewhere = load_world(write(tmp_path, BASE + "  - name: web-1\n    region: us-west-2\n"))
    assert len(elsewhere.instances) == 2


@pytest.mark.parametrize("policy", ["missing.json", "adir"])
def test_an_unreadable_policy_file(tmp_path: Path, policy: str) -> None:
    """A policy the world names but that cannot be read is reported at the place the world
    names it, with the reason."""
    (tmp_path / "adir").mkdir()
    text = BASE.replace("[allow.json]", f"[{policy}]")
    problem = only(problems_of(write(tmp_path, text)))
    assert problem.location.path == "principals[0].policies[0]"
    assert (problem.location.line, problem.location.column) == at(text, policy)
    assert f"'{policy}'" in problem.message


def test_a_policy_file_that_is_not_utf8(tmp_path: Path) -> None:
    """A policy saved in Latin-1 (``"Sid": "café"``) cannot be read as the UTF-8 JSON text IAM
    policies are; the world loader must say so as a problem at the place the world names the
    file, as it does for a missing file.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"""
    (tmp_path / "latin1.json").write_bytes(
        b'{"Version": "2012-10-17", "Statement": {"Sid": "caf\xe9", "Effect": "Allow",'
        b' "Action": "*", "Resource": "*"}}'
    )
    text = BASE.replace("[allow.json]", "[latin1.json]")
    problem = only(problems_of(write(tmp_path, text)))
    assert problem.location.path == "principals[0].policies[0]"


def test_a_malformed_policy_is_reported_in_its_own_file(tmp_path: Path) -> None:
    """A policy that does not parse is reported at the policy file's own line and column, with
    the parser's message (an Effect must be "Allow" or "Deny").
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html"""
    text = BASE.replace("[allow.json]", "[allow.json, broken.json]")
    world = write(tmp_path, text)
    problem = only(problems_of(world))
    assert problem.location.source == str(world.parent / "broken.json")
    assert problem.location.path == "Statement.Effect"
    assert (problem.location.line, problem.location.column) == at(BROKEN, '"Allw"')
    assert "Allw" in problem.message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BASE.replace("  - name: carol\n", "  - name: carol\n   bad: [\n"), "   bad"),
        (BASE.replace("  - id:", "\t- id:"), "\t"),
        (BASE + "  - name: [unclosed\n", "[unclosed"),
    ],
    ids=["indentation", "tab", "unclosed-flow"],
)
def test_invalid_yaml_is_located(tmp_path: Path, text: str, needle: str) -> None:
    """Text that is not YAML is one problem, "invalid YAML", at the line YAML stopped at."""
    world = write(tmp_path, text)
    problem = only(problems_of(world))
    assert problem.location.source == str(world)
    assert problem.message.startswith("invalid YAML: "), problem
    line, _ = at(text, needle)
    assert line <= problem.location.line <= line + 1, problem
    assert problem.location.column >= 1


def test_the_example_world_loads() -> None:
    """The world the README serves loads, with its principals' boundary and its instances."""
    world = load_world(EXAMPLE_WORLD)
    assert {p.name for p in world.principals.values()} == {"alice", "bob"}
    assert {s.instance.name for s in world.instances} == {
        "web-dev",
        "web-prod",
        "data-dev",
        "data-west",
    }


BOMB = "".join(
    f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9 if prev else ['"lol"'] * 9) + "]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g"], "abcdefgh", strict=True)
)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (BOMB, "aliases expand the document past", 6),  # `f:` repeats 9 x 59,049 nodes
        ("x: &x [*x]\n", "refers to a node that contains it", 1),
    ],
    ids=["billion-laughs", "self-alias"],
)
def test_alias_bombs_are_refused_where_they_start(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    """A few hundred bytes of aliases (https://yaml.org/spec/1.1/#id863390) would expand to
    billions of nodes when the world is checked: ``serve`` refuses it at once, exit 2, at the
    alias that crosses the budget (lspolicy's own limit: the expanded document may not outgrow
    the larger of 200,000 nodes and the file's length)."""
    assert len(text) < 600
    world = write(tmp_path, text)
    proc = serve(world)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert message in err and "Traceback" not in err
    located = LOCATED.fullmatch(err.splitlines()[0].removeprefix("lspolicy: "))
    assert located and int(located["line"]) == line, err


def test_a_fifo_world_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO given as the world (a read would block forever) is refused, exit 2."""
    world = tmp_path / "world.yaml"
    os.mkfifo(world)
    proc = serve(world)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert "not a regular file" in err


def test_a_repeated_key_is_refused_not_last_wins(tmp_path: Path) -> None:
    """YAML decoders keep the last of two equal keys silently, so a world that says
    ``transition_seconds`` twice would run with whichever came last; it is refused where the
    second one stands (mapping keys are unique: https://yaml.org/spec/1.2.2/#mapping)."""
    text = "transition_seconds: 1\n" + BASE + "transition_seconds: 0\n"
    world = write(tmp_path, text)
    with pytest.raises(WorldError) as err:
        load_world(world)
    (problem,) = err.value.problems
    assert "duplicate key 'transition_seconds'" in problem.message
    assert problem.location.line == text.count("\n")
