"""``lspolicy collect``, for `lspolicy.cli` to mount: arguments and output only."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

from lspolicy.collect.run import Endpoints, collect

__all__ = ["SUMMARY", "cmd_collect", "register"]

SUMMARY: Final = (
    "gather IAM authorization details, Lightsail instances and the organization's SCPs, "
    "read-only, with boto3"
)


def register(subparsers: Any) -> None:
    """Add ``collect`` to an ``add_subparsers()`` object; it sets ``run`` to its handler."""
    parser = subparsers.add_parser(
        "collect",
        help=SUMMARY,
        description=(
            "Write DIR/<account>/iam-authorization-details.json, "
            "DIR/<account>/lightsail-instances-<region>.json (per region), DIR/organization.json "
            "and DIR/collect-report.json, with read-only calls. Exit 0: everything collected; "
            "1: some calls failed (listed in collect-report.json and on stderr; their files are "
            "not written); 2: credentials, an endpoint or DIR cannot be used."
        ),
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--profile", metavar="P", help="AWS profile (default: boto3's chain)")
    parser.add_argument(
        "--regions",
        metavar="R1,R2",
        help="Lightsail regions to list (default: every region botocore knows for Lightsail)",
    )
    for service, what in (
        ("", "Lightsail"),
        ("iam-", "IAM"),
        ("organizations-", "Organizations"),
        ("sts-", "STS (GetCallerIdentity, which names the account)"),
    ):
        parser.add_argument(
            f"--{service}endpoint-url", metavar="URL", help=f"{what} endpoint (default: AWS's)"
        )
    parser.set_defaults(run=cmd_collect)


def cmd_collect(args: argparse.Namespace) -> int:
    """Run the collection; print what was written, and every failure on stderr."""
    regions = [r.strip() for r in args.regions.split(",") if r.strip()] if args.regions else None
    report = collect(
        args.out,
        profile=args.profile,
        regions=regions,
        endpoints=Endpoints(
            lightsail=args.endpoint_url,
            iam=args.iam_endpoint_url,
            organizations=args.organizations_endpoint_url,
            sts=args.sts_endpoint_url,
        ),
    )
    for failure in report.failures:
        sys.stderr.write(f"lspolicy collect: {failure.line()}\n")
    if report.fatal is not None:
        sys.stderr.write(f"lspolicy collect: {report.fatal}\n")
    for path in report.written:
        sys.stdout.write(f"wrote {args.out.rstrip('/')}/{path}\n")
    return report.exit_code
