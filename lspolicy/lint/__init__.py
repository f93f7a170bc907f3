"""Lightsail-aware lint for IAM policies: rules in a registry, findings graded as Access Analyzer
grades them, fixes that say how safe they are.

    >>> import lspolicy
    >>> from lspolicy.lint import lint_policy
    >>> policy = lspolicy.parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow",'
    ...     ' "Action": "lightsail:StopInstances", "Resource": "*"}}')
    >>> [(f.code, f.hint) for f in lint_policy(policy)]
    [('LSP101', 'did you mean `lightsail:StopInstance`?')]

`RULES` lists every rule by code; ``lspolicy rule CODE`` prints a rule's documentation.
"""

from lspolicy.lint.config import ConfigError, LintConfig, Suppression, load_config
from lspolicy.lint.engine import LintInputError, lint_paths, lint_policy, policy_files
from lspolicy.lint.finding import (
    SEVERITY_ORDER,
    Finding,
    FindingLocation,
    Fix,
    Severity,
    Suppressed,
)
from lspolicy.lint.registry import RULES, rule, select_rules
from lspolicy.lint.rule import Rule

__all__ = [
    "RULES",
    "SEVERITY_ORDER",
    "ConfigError",
    "Finding",
    "FindingLocation",
    "Fix",
    "LintConfig",
    "LintInputError",
    "Rule",
    "Severity",
    "Suppressed",
    "Suppression",
    "lint_paths",
    "lint_policy",
    "load_config",
    "policy_files",
    "rule",
    "select_rules",
]
