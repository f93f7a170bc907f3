"""The collection: who the caller is, then IAM, Lightsail per region, Organizations; the report.

Layout under ``--out DIR``::

    DIR/<account>/iam-authorization-details.json
    DIR/<account>/lightsail-instances-<region>.json   (one per region)
    DIR/organization.json
    DIR/collect-report.json                           (always: what was written, what failed)

Exit codes (`CollectReport.exit_code`): 0 everything was collected (an account that belongs to
no organization counts as collected: there are no SCPs to write); 1 a partial collection: some
call failed, its file was not written, and the report and stderr say which and why; 2 the
credentials or an endpoint cannot be used, or the output directory is unusable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lspolicy.collect import iam, lightsail, organizations
from lspolicy.collect.calls import NOT_IN_ORGANIZATION, CallFailure, CollectFatalError, attempt
from lspolicy.collect.outdir import OutputDir, OutputDirError

__all__ = ["REPORT_FORMAT", "CollectReport", "Endpoints", "collect"]

REPORT_FORMAT: Final = "lspolicy-collect-report/1"
_ACCOUNT = re.compile(r"[0-9]{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
GLOBAL_REGION: Final = "us-east-1"
"""IAM, STS and Organizations are global; their commercial endpoints are in us-east-1."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Endpoint URLs to use instead of AWS's (an emulator, moto), by service."""

    lightsail: str | None = None
    iam: str | None = None
    organizations: str | None = None
    sts: str | None = None


@dataclass
class CollectReport:
    """What one collection wrote and what failed; written as ``collect-report.json``."""

    account: str | None = None
    caller_arn: str | None = None
    regions: tuple[str, ...] = ()
    written: list[str] = field(default_factory=list)
    failures: list[CallFailure] = field(default_factory=list)
    fatal: str | None = None

    @property
    def exit_code(self) -> int:
        """0 complete, 1 partial, 2 unusable credentials, endpoint or output directory."""
        if self.fatal is not None:
            return 2
        return 1 if any(f.error_code != NOT_IN_ORGANIZATION for f in self.failures) else 0

    def to_json(self) -> dict[str, Any]:
        """The report document."""
        return {
            "format": REPORT_FORMAT,
            "account": self.account,
            "caller_arn": self.caller_arn,
            "regions": list(self.regions),
            "written": list(self.written),
            "failures": [f.to_json() for f in self.failures],
            "fatal": self.fatal,
            "exit_code": self.exit_code,
        }


def _session(profile: str | None) -> Any:
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - only collect needs boto3
    from botocore.exceptions import ProfileNotFound  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        return boto3.Session(profile_name=profile)
    except ProfileNotFound as exc:
        raise CollectFatalError(f"{exc}\nhint: `aws configure list-profiles` lists them") from None


def _client(session: Any, service: str, endpoint: str | None, region: str) -> Any:
    from botocore.config import Config  # type: ignore[import-untyped]  # noqa: PLC0415

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=10, read_timeout=60
    )
    return session.client(service, endpoint_url=endpoint, region_name=region, config=config)


def _regions(session: Any, regions: Sequence[str] | None) -> tuple[str, ...]:
    chosen = list(regions) if regions else sorted(session.get_available_regions("lightsail") or ())
    bad = [r for r in chosen if not _REGION.fullmatch(r)]
    if bad:
        raise CollectFatalError(f"--regions: {bad[0]!r} is not a region name (like us-east-1)")
    return tuple(dict.fromkeys(chosen))


def collect(
    out: str | Path,
    *,
    profile: str | None = None,
    regions: Sequence[str] | None = None,
    endpoints: Endpoints = Endpoints(),
) -> CollectReport:
    """Collect into ``out`` and return the report (also written there, when ``out`` is usable).

    Raises `lspolicy.collect.outdir.OutputDirError` when ``out`` cannot be used at all."""
    target = OutputDir(out)
    report = CollectReport()
    try:
        _collect(target, report, profile, regions, endpoints)
    except (CollectFatalError, OutputDirError) as exc:
        report.fatal = str(exc)
    report.written.append("collect-report.json")
    target.write_json(("collect-report.json",), report.to_json())
    return report


def _collect(
    target: OutputDir,
    report: CollectReport,
    profile: str | None,
    regions: Sequence[str] | None,
    endpoints: Endpoints,
) -> None:
    session = _session(profile)
    if session.get_credentials() is None:
        raise CollectFatalError(
            "no AWS credentials found\nhint: name a profile with --profile, or set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    report.regions = _regions(session, regions)
    sts = _client(session, "sts", endpoints.sts, GLOBAL_REGION)
    fatal: list[CallFailure] = []
    identity = attempt(
        sts.get_caller_identity,
        fatal,
        service="sts",
        operation="GetCallerIdentity",
        region=None,
        consequence="nothing collected: the account is not known",
    )
    if identity is None or not _ACCOUNT.fullmatch(str(identity.get("Account", ""))):
        why = fatal[0].line() if fatal else "sts GetCallerIdentity gave no account id"
        raise CollectFatalError(why)
    account = str(identity["Account"])
    report.account, report.caller_arn = account, str(identity.get("Arn", ""))

    details = iam.authorization_details(
        _client(session, "iam", endpoints.iam, GLOBAL_REGION), report.failures
    )
    if details is not None:
        report.written.append(
            target.write_json((account, "iam-authorization-details.json"), details)
        )
    for region in report.regions:
        client = _client(session, "lightsail", endpoints.lightsail, region)
        listed = lightsail.instances(client, region, report.failures)
        if listed is not None:
            name = f"lightsail-instances-{region}.json"
            report.written.append(target.write_json((account, name), listed))
    org = organizations.organization(
        _client(session, "organizations", endpoints.organizations, GLOBAL_REGION),
        report.failures,
    )
    if org is not None:
        report.written.append(target.write_json(("organization.json",), org))
