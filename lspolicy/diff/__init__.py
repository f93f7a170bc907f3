"""The semantic diff of two policy sets, and the CI checks built on it.

    >>> import lspolicy
    >>> from lspolicy.diff import diff_policies
    >>> old = lspolicy.parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow",'
    ...     ' "Action": "lightsail:StopInstance", "Resource": "*",'
    ...     ' "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}}', source="old.json")
    >>> new = lspolicy.parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow",'
    ...     ' "Action": "lightsail:StopInstance", "Resource": "*",'
    ...     ' "Condition": {"StringLike": {"aws:ResourceTag/env": "d*"}}}}', source="new.json")
    >>> result = diff_policies([old], [new])
    >>> result.summary
    'NEW grants 1 new kind of access, removes 0'
    >>> result.differences[0].witness.tags
    {'env': 'dx'}

See `lspolicy.diff.compare` for the contract and `lspolicy.diff.search` for why it is exact.
"""

from lspolicy.diff.compare import check_access_not_granted, check_no_new_access, diff_policies
from lspolicy.diff.domains import DiffInternalError
from lspolicy.diff.result import (
    CheckResult,
    Difference,
    DiffResult,
    Direction,
    Undecided,
    Witness,
)

__all__ = [
    "CheckResult",
    "DiffInternalError",
    "DiffResult",
    "Difference",
    "Direction",
    "Undecided",
    "Witness",
    "check_access_not_granted",
    "check_no_new_access",
    "diff_policies",
]
