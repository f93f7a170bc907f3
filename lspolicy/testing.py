"""Run the emulated Lightsail endpoint inside a test, and get boto3 clients for its principals.

    from lspolicy.testing import serve_world

    def test_alice_stops_her_instance():
        with serve_world("policies/world.yaml") as server:
            server.client("alice").stop_instance(instanceName="web-dev")

With pytest, override the ``lspolicy_world`` fixture (a path) and use ``lightsail_server``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lspolicy.server.app import Service
from lspolicy.server.http import LightsailServer, serve_in_thread
from lspolicy.server.state import StateStore
from lspolicy.server.world import Principal, World, load_world

__all__ = ["RunningServer", "serve_world"]


@dataclass
class RunningServer:
    """A server running on a free port, with what a test needs to talk to it."""

    url: str
    world: World
    store: StateStore
    service: Service

    def principal(self, who: str) -> Principal:
        """A principal by name, ARN or access key id."""
        for p in self.world.principals.values():
            if who in (p.name, p.identity.arn, p.access_key_id):
                return p
        raise KeyError(f"no principal {who!r} in the world {self.world.path}")

    def client(
        self, who: str, *, region: str | None = None, max_attempts: int = 1, **config: Any
    ) -> Any:
        """A real boto3 Lightsail client signed with ``who``'s credentials, pointed here.

        ``max_attempts`` is the number of calls in all (1: no retries).
        """
        import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - only tests that talk to the server need boto3
        from botocore.config import Config  # type: ignore[import-untyped]  # noqa: PLC0415

        p = self.principal(who)
        if region is None:
            region = next(
                (
                    s.instance.region
                    for s in self.world.instances
                    if s.instance.account == p.account
                ),
                "us-east-1",
            )
        return boto3.client(
            "lightsail",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=p.access_key_id,
            aws_secret_access_key=p.secret_access_key,
            aws_session_token=p.session_token,
            # total_max_attempts counts the first call too (botocore's max_attempts counts retries)
            config=Config(
                retries={"total_max_attempts": max_attempts, "mode": "standard"}, **config
            ),
        )


@contextmanager
def serve_world(
    world: str | Path | World, *, state: str = ":memory:", port: int = 0
) -> Iterator[RunningServer]:
    """Serve ``world`` on 127.0.0.1 (a free port by default) for the duration of the block."""
    loaded = world if isinstance(world, World) else load_world(world)
    store = StateStore(state)
    service = Service(loaded, store)
    server = LightsailServer(service, "127.0.0.1", port)
    thread = serve_in_thread(server)
    try:
        yield RunningServer(server.url, loaded, store, service)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        store.close()
