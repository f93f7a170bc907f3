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

import typing as _typing

if _typing.TYPE_CHECKING:
    from lspolicy.errors import (
        ContextValueError,
        InvalidInputError,
        Location,
        LspolicyError,
        MalformedPolicyDocumentError,
        PolicyParseError,
        Problem,
        SimulatorError,
    )
    from lspolicy.evaluate.authorize import PolicySet
    from lspolicy.evaluate.batch import (
        Matrix,
        decide_matrix,
        decide_matrix_compact,
        decide_requests,
    )
    from lspolicy.model.decision import Decision, FailedCondition, NearMiss, StatementRef
    from lspolicy.model.policy import Condition, Policy, Principal, Statement
    from lspolicy.model.request import Request, RequestPart
    from lspolicy.parse import parse_policy
    from lspolicy.simulate import simulate_custom_policy

__all__ = [
    "Condition",
    "ContextValueError",
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
    "decide_requests",
    "parse_policy",
    "simulate_custom_policy",
]

__version__ = "0.1.0"

_HOME = {
    **dict.fromkeys(
        (
            "ContextValueError",
            "InvalidInputError",
            "Location",
            "LspolicyError",
            "MalformedPolicyDocumentError",
            "PolicyParseError",
            "Problem",
            "SimulatorError",
        ),
        "lspolicy.errors",
    ),
    "PolicySet": "lspolicy.evaluate.authorize",
    **dict.fromkeys(
        ("Matrix", "decide_matrix", "decide_matrix_compact", "decide_requests"),
        "lspolicy.evaluate.batch",
    ),
    **dict.fromkeys(
        ("Decision", "FailedCondition", "NearMiss", "StatementRef"), "lspolicy.model.decision"
    ),
    **dict.fromkeys(("Condition", "Policy", "Principal", "Statement"), "lspolicy.model.policy"),
    **dict.fromkeys(("Request", "RequestPart"), "lspolicy.model.request"),
    "parse_policy": "lspolicy.parse",
    "simulate_custom_policy": "lspolicy.simulate",
}
"""Where each public name lives: loaded on first use (PEP 562), so that a command that needs
none of the engine (``who-can --review`` reads a dataset) starts without compiling it."""


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'lspolicy' has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
