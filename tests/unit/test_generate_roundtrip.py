"""Round trip through the emulator: the generated policies, attached to a world's principals,
let exactly the intended ``StopInstance`` calls through a real boto3 client.

Each principal calls StopInstance on each instance. A call is allowed when it does not fail
with AccessDeniedException (an allowed stop of an instance already stopped is refused with
another error, after authorization). The emulator's requests carry long-term keys (no
``aws:MultiFactorAuthPresent``), ``aws:SourceIp`` 127.0.0.1 and the current time, and the
intent's answer is computed for exactly those circumstances.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from lspolicy.generate import IntentSemantics, generate, load_intent
from lspolicy.generate.semantics import Circumstances, Probe
from lspolicy.testing import serve_world

INTENTS = Path(__file__).resolve().parents[2] / "policies" / "intents"
ACCOUNT = "111122223333"

PRINCIPALS: list[dict[str, Any]] = [
    {"name": "olga", "arn": f"arn:aws:iam::{ACCOUNT}:user/olga",
     "tags": {"role": "oncall", "team": "web"}},
    {"name": "otto", "arn": f"arn:aws:iam::{ACCOUNT}:user/otto",
     "tags": {"role": "oncall", "team": "data"}},
    {"name": "dana", "arn": f"arn:aws:iam::{ACCOUNT}:user/dana", "tags": {"team": "web"}},
    {"name": "opal", "arn": f"arn:aws:iam::{ACCOUNT}:user/opal", "tags": {"team": "ops"}},
    {"name": "ci", "arn": f"arn:aws:iam::{ACCOUNT}:role/ci-runner", "tags": {}},
    {"name": "sre", "arn": f"arn:aws:iam::{ACCOUNT}:role/sre-automation", "tags": {}},
    {"name": "glass", "arn": f"arn:aws:iam::{ACCOUNT}:role/break-glass", "tags": {}},
    {"name": "alice", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
     "tags": {"department": "engineering", "owner": "alice"}},
]  # fmt: skip

INSTANCES: list[dict[str, Any]] = [
    {"name": "web-dev", "region": "us-east-1", "tags": {"env": "dev", "team": "web"}},
    {"name": "web-staging", "region": "us-west-2", "tags": {"env": "staging", "team": "web"}},
    {"name": "web-prod", "region": "us-east-1", "tags": {"env": "prod", "team": "web"}},
    {"name": "data-dev", "region": "eu-west-1", "tags": {"env": "dev", "team": "data"}},
    {"name": "ci-east", "region": "us-east-1", "tags": {"ephemeral": "true"}},
    {"name": "ci-eu", "region": "eu-west-1", "tags": {"ephemeral": "true"}},
    {"name": "alices", "region": "us-east-1", "tags": {"owner": "alice", "env": "dev"}},
    {"name": "alices-prod", "region": "us-east-1", "tags": {"owner": "alice", "env": "prod"}},
    {"name": "untagged", "region": "us-east-1"},
]

CASES = [
    "oncall-team-dev-staging",  # a policy variable: ${aws:PrincipalTag/team}
    "ops-stop-except-prod-without-mfa",  # an exclusion unless MFA; two principal selectors
    "ci-stop-ephemeral",  # an ARN selector, two regions
]


def _world(tmp: Path, policy_files: list[str]) -> Path:
    principals = [
        {
            **p,
            "access_key_id": f"AKIAROUNDTRIP{n:07d}",
            "secret_access_key": f"round-trip-secret-{n:08d}",
            "policies": policy_files,
        }
        for n, p in enumerate(PRINCIPALS)
    ]
    data = {
        "accounts": [{"id": ACCOUNT}],
        "principals": principals,
        "instances": [{**i, "state": "running"} for i in INSTANCES],
    }
    path = tmp / "world.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


@pytest.mark.parametrize("name", CASES)
def test_exactly_the_intended_stops_get_through(name: str, tmp_path: Path) -> None:
    """The emulator authorizes with the engine on the request AWS would make
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html;
    tags as ``aws:ResourceTag/<key>``:
    https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html),
    and the intent says which calls should pass: they agree on every call, and some pass."""
    generation = generate(load_intent(INTENTS / f"{name}.yaml"))
    files = []
    for p in generation.policies:
        (tmp_path / p.filename).write_text(p.text, "utf-8")
        files.append(p.filename)
    semantics = IntentSemantics(generation.intent)
    mismatches: list[str] = []
    allowed = 0
    with serve_world(_world(tmp_path, files)) as server:
        instances = {s.instance.name: s.instance for s in server.world.instances}
        clients: dict[tuple[str, str], Any] = {}
        for who in PRINCIPALS:
            identity = server.principal(who["name"]).identity
            for spec in INSTANCES:
                instance = instances[spec["name"]]
                key = (who["name"], instance.region)
                if key not in clients:
                    clients[key] = server.client(who["name"], region=instance.region)
                now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                probe = Probe(
                    "lightsail:StopInstance",
                    identity,
                    Circumstances(mfa=None, source_ip="127.0.0.1", current_time=now),
                    instance,
                )
                expected = semantics.allows(probe)
                try:
                    clients[key].stop_instance(instanceName=spec["name"])
                    got = True
                except clients[key].exceptions.AccessDeniedException:
                    got = False
                except clients[key].exceptions.ClientError:
                    got = True  # authorized, then refused for the instance's state
                allowed += got
                if got != expected:
                    mismatches.append(
                        f"{who['name']} StopInstance {spec['name']}: intent "
                        f"{'allows' if expected else 'denies'}, emulator "
                        f"{'allowed' if got else 'denied'}"
                    )
    assert mismatches == []
    assert allowed > 0
