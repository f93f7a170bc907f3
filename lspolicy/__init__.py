"""lspolicy: policy-as-code for Amazon Lightsail access control.

Evaluate IAM policies as AWS documents it, offline:

    >>> import lspolicy
    >>> policy = lspolicy.parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow",'
    ...     ' "Action": "lightsail:StopInstance", "Resource": "*",'
    ...     ' "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}}')
    >>> rules = lspolicy.PolicySet([policy])
    >>> arn = "arn:aws:lightsail:us-east-1:111122223333:Instance/1a2b"
    >>> rules.evaluate(lspolicy.Request("lightsail:StopInstance", arn,
    ...     {"aws:ResourceTag/env": "dev"})).decision
    'allowed'
"""

from lspolicy.errors import (
    InvalidInputError,
    Location,
    LspolicyError,
    MalformedPolicyDocumentError,
    PolicyParseError,
    Problem,
    SimulatorError,
)
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.evaluate.batch import Matrix, decide_matrix, decide_matrix_compact
from lspolicy.model.decision import Decision, FailedCondition, NearMiss, StatementRef
from lspolicy.model.policy import Condition, Policy, Principal, Statement
from lspolicy.model.request import Request, RequestPart
from lspolicy.parse import parse_policy
from lspolicy.simulate import simulate_custom_policy

__all__ = [
    "Condition",
    "Decision",
    "FailedCondition",
    "InvalidInputError",
    "Location",
    "LspolicyError",
    "MalformedPolicyDocumentError",
    "Matrix",
    "NearMiss",
    "Policy",
    "PolicyParseError",
    "PolicySet",
    "Principal",
    "Problem",
    "Request",
    "RequestPart",
    "SimulatorError",
    "Statement",
    "StatementRef",
    "decide_matrix",
    "decide_matrix_compact",
    "parse_policy",
    "simulate_custom_policy",
]

__version__ = "0.1.0"
