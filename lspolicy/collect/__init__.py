"""``lspolicy collect``: gather, read-only, what a review of a real account reads.

- IAM ``GetAccountAuthorizationDetails`` (every page, every kind) as the AWS CLI writes it;
- Lightsail ``GetInstances`` per region (every page) as the AWS CLI writes it;
- the organization's SCPs and where they are attached, in lspolicy's organization format
  (``lspolicy-organization/1``), because AWS has no single export of it.

Modules, one job each: `outdir` (atomic writes that stay inside the output directory),
`calls` (one AWS call, its failure recorded as data), `cliformat` (a boto3 answer in the CLI's
JSON shape), `iam`, `lightsail`, `organizations` (what each service is asked), `run` (the
sequence and the report), `cli` (arguments and exit codes).
"""

from __future__ import annotations

from lspolicy.collect.calls import CallFailure, CollectFatalError
from lspolicy.collect.run import CollectReport, collect

__all__ = ["CallFailure", "CollectFatalError", "CollectReport", "collect"]
