"""Round 6 of the engine work (issue 12): the shortcuts it added, each against the explained path.

- `RequestPart.resource_account` is found when first read (a slot holding a sentinel until
  then); `is_allowed_many` reads the slot directly. It must equal the account `Request` finds
  in the same ARN, whatever the ARN. ARN format, IAM User Guide, "Identify AWS resources with
  Amazon Resource Names (ARNs)", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
  ("the ARNs for some resources omit the Region, the account ID, or both").
- `is_allowed_many` answers False without deciding for an instance in another account than the
  caller's when the plan holds no resource-based statement. IAM User Guide, "Cross-account
  policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
  (the resource-based policy in the trusting account must allow as well as the caller's
  identity-based policy).
- `decide_matrix_compact` finds each group's first instance by ``bytes.find`` per code below
  64 (`batch._firsts`) and reads a key under one spelling in one pass when every layout that
  gives the key spells it alike (`batch._PlainColumns.column`).

The oracle is `PolicySet.evaluate` on the request built from one merged dict.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_matrix_compact
from lspolicy.evaluate.batch import _firsts

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

ACCOUNTS = ["111122223333", "444455556666", ""]
SEGMENT = st.sampled_from(["", "arn", "aws", "lightsail", "us-east-1", *ACCOUNTS, "Instance/i-1"])


@settings(max_examples=150)
@given(st.one_of(st.lists(SEGMENT, min_size=1, max_size=8).map(":".join), st.text(max_size=30)))
def test_lazy_resource_account_equals_the_requests(arn: str) -> None:
    """The part's account (first read, and read again) is the one `Request` finds."""
    part = RequestPart({}, resource=arn)
    expected = Request("lightsail:StopInstance", arn).resource_account
    assert part.resource_account == expected
    assert part.resource_account == expected


def _doc(statement: dict[str, Any], kind: Any = "identity") -> lspolicy.Policy:
    return lspolicy.parse_policy({"Version": "2012-10-17", "Statement": statement}, kind=kind)


IDENTITY = [
    _doc({"Effect": "Allow", "Action": "lightsail:*", "Resource": "*"}),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "arn:aws:lightsail:*:444455556666:Instance/*",
        }
    ),
    _doc(
        {
            "Effect": "Deny",
            "Action": "lightsail:DeleteInstance",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}},
        }
    ),
]
RESOURCE_POLICY = _doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "lightsail:StopInstance",
        "Resource": "*",
    },
    kind="resource",
)


@settings(max_examples=60)
@given(
    st.lists(st.sampled_from(IDENTITY), min_size=1, max_size=3),
    st.booleans(),
    st.lists(
        st.tuples(
            st.sampled_from(["lightsail:StopInstance", "lightsail:DeleteInstance"]),
            st.sampled_from(ACCOUNTS),
            st.sampled_from([{}, {"aws:ResourceTag/env": "prod"}, {"aws:ResourceTag/env": "dev"}]),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_batch_across_accounts_equals_evaluate(
    policies: list[lspolicy.Policy],
    with_resource_policy: bool,
    requests: list[tuple[str, str, dict[str, str]]],
) -> None:
    """Instances in the caller's account, another account and none: `is_allowed_many` on
    parts equals `evaluate`, with and without a resource-based policy on the set."""
    rules = PolicySet(policies)
    if with_resource_policy:
        rules = rules.with_resource_policy(RESOURCE_POLICY)
    caller = "arn:aws:iam::111122223333:user/alice"
    principal_ctx = {"aws:username": "alice"}
    principal = RequestPart(principal_ctx, caller_arn=caller)
    items = []
    expected = []
    for n, (action, account, ctx) in enumerate(requests):
        arn = f"arn:aws:lightsail:us-east-1:{account}:Instance/i-{n}"
        items.append((action, RequestPart(ctx, resource=arn), None))
        merged = {**principal_ctx, **ctx}
        expected.append(rules.evaluate(Request(action, arn, merged, caller_arn=caller)).allowed)
    for _ in range(2):  # cold, then with the plans built
        assert rules.is_allowed_many(items, principal=principal) == expected


@settings(max_examples=200)
@given(st.integers(1, 256).flatmap(lambda r: st.tuples(st.just(r), st.binary(min_size=1))))
def test_group_heads_are_first_occurrences(drawn: tuple[int, bytes]) -> None:
    """`_firsts` maps each byte value present to its first position, below and above the
    ``bytes.find`` cut-over."""
    radix, raw = drawn
    sig = bytes(b % radix for b in raw)
    assert _firsts(sig, radix) == {v: sig.index(v) for v in set(sig)}


SPELLINGS = ["aws:ResourceTag/team", "AWS:RESOURCETAG/TEAM"]


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, *SPELLINGS]),
            st.sampled_from(["web", "db"]),
            st.booleans(),
            st.sampled_from(["111122223333", "444455556666"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_matrix_one_or_several_spellings_equals_evaluate(
    instances: list[tuple[str | None, str, bool, str]],
) -> None:
    """Instances that give the team tag under one spelling, another, or not at all (layouts
    with and without an extra key), some in another account: every cell equals `evaluate`."""
    rules = PolicySet(
        [
            _doc(
                {
                    "Effect": "Allow",
                    "Action": "lightsail:StopInstance",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}
                    },
                }
            )
        ]
    )
    caller = "arn:aws:iam::111122223333:user/alice"
    principal_ctx = {"aws:PrincipalTag/team": "web"}
    contexts: list[dict[str, str]] = []
    arns = []
    for n, (spelling, team, extra, account) in enumerate(instances):
        ctx = {} if spelling is None else {spelling: team}
        if extra:
            ctx["aws:RequestedRegion"] = "us-east-1"
        contexts.append(ctx)
        arns.append(f"arn:aws:lightsail:us-east-1:{account}:Instance/i-{n}")
    matrix = decide_matrix_compact(
        "lightsail:StopInstance",
        [rules],
        [RequestPart(principal_ctx, caller_arn=caller)],
        [RequestPart(c, resource=a) for c, a in zip(contexts, arns, strict=True)],
    )
    expected = [
        rules.evaluate(
            Request("lightsail:StopInstance", a, {**principal_ctx, **c}, caller_arn=caller)
        ).allowed
        for c, a in zip(contexts, arns, strict=True)
    ]
    assert matrix.row(0) == expected


LAYERED_POLICIES = [
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        }
    ),
    _doc(
        {
            "Effect": "Deny",
            "Action": "lightsail:*",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}},
        }
    ),
]
REQUEST_KEYS: list[dict[str, str]] = [
    {},
    {"aws:SourceIp": "203.0.113.7"},
    {"aws:SourceIp": "198.51.100.1"},
    {"aws:SecureTransport": "true"},  # a key no statement reads
    {"AWS:ResourceTag/Team": "web"},  # overrides the instance's value
    {"aws:PrincipalTag/team": "db", "aws:SourceIp": "203.0.113.9"},  # overrides the principal's
]


@settings(max_examples=60)
@given(
    st.lists(st.sampled_from(LAYERED_POLICIES), min_size=1, max_size=3),
    st.sampled_from(["web", "ops"]),
    st.lists(
        st.tuples(
            st.sampled_from([{}, {"aws:ResourceTag/team": "web"}]), st.sampled_from(REQUEST_KEYS)
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_layered_batch_with_and_without_request_keys_equals_evaluate(
    policies: list[lspolicy.Policy],
    team: str,
    requests: list[tuple[dict[str, str], dict[str, str]]],
) -> None:
    """Small plans get their layered function at once; a request whose own keys the plan
    does not read takes its ``bare`` variant (instance, then principal values), the others
    the variant for the keys they give (those read from the request's own keys alone, the
    rest from the instance's, then the principal's values: `codegen.layered_variant`). Both equal `evaluate`, including where a request key
    overrides an instance's or the principal's value (context keys are case-insensitive:
    IAM User Guide, "IAM JSON policy elements: Condition",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html)."""
    rules = PolicySet(policies)
    caller = "arn:aws:iam::111122223333:user/alice"
    principal_ctx = {"aws:PrincipalTag/team": team}
    principal = RequestPart(principal_ctx, caller_arn=caller)
    items = []
    expected = []
    for n, (instance_ctx, own) in enumerate(requests):
        arn = f"arn:aws:lightsail:us-east-1:111122223333:Instance/i-{n}"
        items.append(("lightsail:StopInstance", RequestPart(instance_ctx, resource=arn), own))
        merged = {**principal_ctx, **instance_ctx, **own}
        request = Request("lightsail:StopInstance", arn, merged, caller_arn=caller)
        expected.append(rules.evaluate(request).allowed)
    for _ in range(2):
        assert rules.is_allowed_many(items, principal=principal) == expected


WIDE_POLICIES = [
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/a": "${aws:ResourceTag/b}"}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:ResourceTag/c": ["1*", "3"]}},
        }
    ),
    _doc(
        {
            "Effect": "Deny",
            "Action": "lightsail:StopInstance",
            "Resource": "arn:aws:lightsail:us-west-2:*",
            "Condition": {"StringEquals": {"aws:ResourceTag/d": "${aws:ResourceTag/a}"}},
        }
    ),
]


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.sampled_from(WIDE_POLICIES), min_size=1, max_size=3, unique=True),
    st.integers(5, 40),
    st.lists(
        st.tuples(
            st.integers(0, 39),
            st.integers(0, 39),
            st.integers(0, 5),
            st.integers(0, 5),
            st.booleans(),
        ),
        min_size=200,
        max_size=420,
    ),
    st.randoms(use_true_random=False),
)
def test_matrix_past_one_byte_of_combinations_equals_evaluate(
    policies: list[lspolicy.Policy],
    spread: int,
    draws: list[tuple[int, int, int, int, bool]],
    rnd: Any,
) -> None:
    """Hundreds of instances whose values a policy variable reads (so each value is its own
    class): a row's features take more than 256 combinations, so `_grouping` folds in two
    bytes per instance and renumbers (or goes on with lists past 256 groups); some instances
    in another account (one group when nothing across accounts can allow). Every cell
    equals `evaluate`. Policy variables in conditions: IAM User Guide, "IAM policy elements:
    Variables and tags",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html ."""
    rules = PolicySet(policies)
    caller = "arn:aws:iam::111122223333:user/alice"
    contexts = []
    arns = []
    for n, (a, b, c, d, elsewhere) in enumerate(draws):
        contexts.append(
            {
                "aws:ResourceTag/a": str(a % spread),
                "aws:ResourceTag/b": str(b % spread),
                "aws:ResourceTag/c": str(c),
                "aws:ResourceTag/d": str(d),
            }
        )
        account = "444455556666" if elsewhere and rnd.random() < 0.5 else "111122223333"
        region = rnd.choice(["us-east-1", "us-west-2"])
        arns.append(f"arn:aws:lightsail:{region}:{account}:Instance/i-{n}")
    matrix = decide_matrix_compact(
        "lightsail:StopInstance",
        [rules],
        [RequestPart({}, caller_arn=caller)],
        [RequestPart(c, resource=a) for c, a in zip(contexts, arns, strict=True)],
    )
    expected = [
        rules.evaluate(Request("lightsail:StopInstance", a, c, caller_arn=caller)).allowed
        for c, a in zip(contexts, arns, strict=True)
    ]
    assert matrix.row(0) == expected


@st.composite
def grouping_case(draw: st.DrawFn) -> tuple[Any, ...]:
    count = draw(st.integers(1, 600))
    features = []
    columns: dict[Any, tuple[Any, int]] = {}
    for k in range(draw(st.integers(0, 4))):
        size = draw(st.sampled_from([2, 3, 7, 20, 40, 300]))
        rnd = draw(st.randoms(use_true_random=False))
        ids = [rnd.randrange(size) for _ in range(count)]
        columns[("f", k)] = (bytes(ids) if size <= 256 else ids, size)
        cls = None
        if size <= 256 and draw(st.booleans()):  # a class per code (at most `size` classes)
            width = draw(st.integers(1, size))
            cls = tuple(rnd.randrange(width) for _ in range(size))
            cls = tuple(sorted(set(cls)).index(c) for c in cls)  # classes from 0, dense
        features.append((("f", k), cls))
    collapse = None
    if draw(st.booleans()):
        rnd = draw(st.randoms(use_true_random=False))
        accounts = [rnd.randrange(3) for _ in range(count)]
        columns[("account",)] = (bytes(accounts), 3)
        collapse = ((0, 1, 2), 2)  # account code -> class; class 2 is "another account"
    return count, features, columns, collapse


@settings(max_examples=120, deadline=None)
@given(grouping_case())
def test_grouping_is_the_partition_by_features(drawn: tuple[Any, ...]) -> None:
    """`batch._grouping` (one byte per instance, two-byte folds renumbered, lists of ints):
    two instances share a signature exactly when every feature (its code, or its class)
    is equal, except that with ``collapse`` every instance of another account is one group
    of its own; each signature's first instance is where it first occurs. An internal
    invariant (the docs say nothing about how an engine groups instances)."""
    from lspolicy.evaluate.batch import _grouping  # noqa: PLC0415 - the one internal under test

    count, features, columns, collapse = drawn
    sigs, first = _grouping(features, collapse, columns, {}, count)
    keys = []
    for i in range(count):
        if collapse is not None and columns[("account",)][0][i] == 2:
            keys.append(("other",))
            continue
        key = []
        for source, cls in features:
            code = columns[source][0][i]
            key.append(code if cls is None else cls[code])
        keys.append(tuple(key))
    by_key: dict[Any, Any] = {}
    by_sig: dict[Any, Any] = {}
    for i in range(count):
        assert by_key.setdefault(keys[i], sigs[i]) == sigs[i]
        assert by_sig.setdefault(sigs[i], keys[i]) == keys[i]
    assert first == {s: list(sigs).index(s) for s in set(sigs)}


def test_lazy_account_survives_copy_and_pickle() -> None:
    """A part copied or pickled before its account is read still finds it (the "not read
    yet" marker is a singleton), and one read before keeps it. Docs: none (an internal
    representation)."""
    import copy  # noqa: PLC0415
    import pickle  # noqa: PLC0415

    arn = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
    for read_first in (False, True):
        part = RequestPart({"aws:ResourceTag/team": "web"}, resource=arn)
        if read_first:
            assert part.resource_account == "111122223333"
        for other in (copy.copy(part), pickle.loads(pickle.dumps(part))):
            assert other.resource_account == "111122223333"
