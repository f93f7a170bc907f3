"""The public strategies generate what their docstrings promise, and check their arguments."""

from __future__ import annotations

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import lspolicy
import lspolicy.strategies as module
from lspolicy.conditions import OPERATORS
from lspolicy.lightsail.context import Instance
from lspolicy.model.request import ContextValue
from lspolicy.strategies import (
    JsonObject,
    actions,
    condition_blocks,
    instance_arns,
    lightsail_instances,
    policy_documents,
    request_contexts,
    requests,
    statements,
)


@given(statements(effects=["Deny"], with_conditions=False))
def test_statements_follow_their_arguments(statement: JsonObject) -> None:
    """``effects`` and ``with_conditions`` are obeyed; the statement parses on its own."""
    assert statement["Effect"] == "Deny"
    assert "Condition" not in statement
    lspolicy.parse_policy({"Version": "2012-10-17", "Statement": statement})


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_condition_blocks_reach_every_registered_operator(name: str) -> None:
    """Every operator family of the registry is generated, each operator in it included."""
    family = OPERATORS[name].value_type

    def uses(block: JsonObject) -> bool:
        return any(op.split(":")[-1].removesuffix("IfExists") == name for op in block)

    block = find(
        condition_blocks(families=[family]),
        uses,
        settings=settings(database=None, max_examples=2000, phases=[Phase.generate]),
    )
    lspolicy.parse_policy(
        {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": block}}
    )


@given(actions(wildcards=False))
def test_actions_without_wildcards_are_lightsail_actions(action: str) -> None:
    """Concrete actions: ``lightsail:<Name>`` in any case, no wildcard."""
    assert action.lower().startswith("lightsail:")
    assert "*" not in action and "?" not in action


@given(instance_arns(), lightsail_instances())
def test_instances_have_lightsail_instance_arns(arn: str, instance: Instance) -> None:
    """``arn:aws:lightsail:<region>:<account>:Instance/<id>``."""
    for value in (arn, instance.arn):
        parts = value.split(":")
        assert parts[:3] == ["arn", "aws", "lightsail"]
        assert parts[5].startswith("Instance/")


@given(requests())
def test_requests_carry_their_instance_tags(request: lspolicy.Request) -> None:
    """The request acts on an instance ARN; resource tags are single strings."""
    assert ":Instance/" in request.resource
    for key, values in request.context.items():
        if key.startswith("aws:resourcetag/"):
            assert len(values) == 1


@given(request_contexts())
def test_request_contexts_pair_tag_keys_with_request_tags(context: dict[str, ContextValue]) -> None:
    """``aws:TagKeys`` is a list: the keys of the request's ``aws:RequestTag/<key>`` values."""
    if "aws:TagKeys" in context:
        keys = context["aws:TagKeys"]
        assert isinstance(keys, list)
        assert sorted(keys) == sorted(
            k.split("/", 1)[1] for k in context if k.startswith("aws:RequestTag/")
        )
    lspolicy.Request("lightsail:StopInstance", "*", context)


@pytest.mark.parametrize(
    "make",
    [
        lambda: policy_documents(min_statements=0),
        lambda: policy_documents(min_statements=3, max_statements=2),
        lambda: policy_documents(versions=[]),
        lambda: statements(effects=["Permit"]),  # type: ignore[list-item]
        lambda: statements(effects=[]),
        lambda: condition_blocks(families=[]),
        lambda: condition_blocks(min_operators=-1),
        lambda: lightsail_instances(max_tags=-1),
        lambda: lightsail_instances(regions=[]),
        lambda: instance_arns(ids=()),
    ],
)
def test_bad_arguments_are_refused(make: object) -> None:
    """Invalid arguments raise Hypothesis's `InvalidArgument` when the strategy is made."""
    assert callable(make)
    with pytest.raises(InvalidArgument):
        make()


def test_strategies_module_exports_what_it_documents() -> None:
    """Every name in ``__all__`` exists and strategies are named in the plural."""
    for name in module.__all__:
        assert hasattr(module, name)
        if name[0].islower():
            assert name.endswith("s"), name
    assert isinstance(st.just(1), st.SearchStrategy)
