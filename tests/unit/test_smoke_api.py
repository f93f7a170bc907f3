"""The public API exists and answers a documented case end to end."""

import types

import lspolicy


def test_public_api_is_exactly_all() -> None:
    """Everything in ``__all__`` exists, and no public name escapes ``__all__``."""
    for name in lspolicy.__all__:
        assert hasattr(lspolicy, name), name
    # submodules appear as attributes once imported; every other public name must be in __all__
    public = {
        n
        for n, v in vars(lspolicy).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public - set(lspolicy.__all__) == set()


def test_tag_condition_allows_only_matching_instance() -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html — "You can use
    conditions in your IAM policies to control access to AWS resources based on the tags on
    that resource" with ``aws:ResourceTag/key-name``."""
    policy = lspolicy.parse_policy(
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow",'
        ' "Action": "lightsail:StopInstance", "Resource": "*",'
        ' "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}}'
    )
    rules = lspolicy.PolicySet([policy])
    arn = "arn:aws:lightsail:us-east-1:111122223333:Instance/1a2b"
    dev = lspolicy.Request("lightsail:StopInstance", arn, {"aws:ResourceTag/env": "dev"})
    prod = lspolicy.Request("lightsail:StopInstance", arn, {"aws:ResourceTag/env": "prod"})
    assert rules.evaluate(dev).decision == "allowed"
    assert rules.evaluate(prod).decision == "implicitDeny"
    assert rules.is_allowed(dev) and not rules.is_allowed(prod)
