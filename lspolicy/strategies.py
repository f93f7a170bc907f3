"""Hypothesis strategies for IAM policies and Lightsail requests, for your own property tests.

    >>> from hypothesis import given
    >>> import lspolicy
    >>> from lspolicy.strategies import policy_documents, requests
    >>> @given(policy_documents(), requests())
    ... def test_never_crashes(document, request):
    ...     lspolicy.PolicySet([lspolicy.parse_policy(document)]).evaluate(request)

Every strategy draws from small pools of regions, accounts, instance ids, tag keys, tag values
and user names, and policies and requests draw from the *same* pools: a generated condition on
``aws:ResourceTag/team`` meets requests whose instances carry a ``team`` tag with one of the
values the policy names, so decisions go both ways and properties are not vacuously true.

Generated documents are JSON-ready dicts (``json.dumps`` them for text). `policy_documents`
yields documents `lspolicy.parse_policy` accepts as identity-based policies;
`invalid_policy_documents` yields documents it must reject, each broken in one way.

The grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import DrawFn, SearchStrategy

from lspolicy.conditions.base import ValueType
from lspolicy.conditions.registry import OPERATORS
from lspolicy.lightsail.context import Instance
from lspolicy.model.policy import VERSION_2008, VERSION_2012
from lspolicy.model.request import ContextValue, Request

__all__ = [
    "JsonObject",
    "actions",
    "condition_blocks",
    "instance_arns",
    "invalid_policy_documents",
    "lightsail_instances",
    "policy_documents",
    "request_contexts",
    "requests",
    "statements",
]

JsonObject = dict[str, Any]
"""A JSON object as ``json.loads`` returns it."""

Effect = Literal["Allow", "Deny"]

# -- the shared pools ------------------------------------------------------------------------
# Small on purpose: a condition and a request can only interact when they name the same keys
# and values.

_REGIONS: Final = ("us-east-1", "eu-west-2", "ap-southeast-1")
_ACCOUNTS: Final = ("111122223333", "444455556666")
_INSTANCE_IDS: Final = ("ops-1", "web-1", "web-2", "1a2b3c4d")
_TAG_KEYS: Final = ("env", "team", "owner")
_TAG_VALUES: Final = ("dev", "prod", "ops", "web", "alice", "bob")
_USERNAMES: Final = ("alice", "bob")
_PRINCIPAL_ARNS: Final = (
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::111122223333:user/bob",
    "arn:aws:iam::444455556666:role/ops-admin",
)
_IP_ADDRESSES: Final = ("203.0.113.10", "198.51.100.7", "10.1.2.3", "192.0.2.1", "2001:db8::1")
_IP_BLOCKS: Final = (
    "203.0.113.0/24",
    "198.51.100.7",
    "10.0.0.0/8",
    "192.0.2.1/32",
    "2001:db8::/32",
)
_TIMES: Final = ("2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", "2026-03-01T08:30:00Z")
_DATE_VALUES: Final = ("2024-01-01T00:00:00Z", "2025-06-30", "2026-03-01T08:30:00+00:00")
_EPOCHS: Final = (1704067200, 1772353800)
_AGES: Final = (0, 60, 300, 3600, 86400)
_BINARY: Final = ("QmluYXJ5", "AAEC", "aGVsbG8=")

_INSTANCE_ACTIONS: Final = (
    "StopInstance", "StartInstance", "RebootInstance", "GetInstance", "GetInstanceState",
    "DeleteInstance", "CreateInstanceSnapshot",
)  # fmt: skip
_OTHER_ACTIONS: Final = ("GetInstances", "CreateInstances", "TagResource", "UntagResource")
_ACTION_PATTERNS: Final = (
    "*", "lightsail:*", "lightsail:Stop*", "lightsail:*Instance", "lightsail:Get*",
    "lightsail:?tartInstance", "lightsail:*Instance*", "lightsail:St*Instance",
    "lightsail:Stop?nstance", "ec2:StopInstances", "ec2:*",
)  # fmt: skip

_VARIABLES: Final = (
    "${aws:username}",
    "${aws:PrincipalTag/team}",
    "${aws:PrincipalTag/team, 'shared'}",
    "${aws:PrincipalTag/env}",
)


_MASKS: Final = st.integers(min_value=0, max_value=(1 << 40) - 1)
_ONE_IN: Final = {n: st.integers(0, n - 1) for n in (3, 4, 7, 10)}
_BOOLS: Final = st.booleans()


def _one_in(draw: DrawFn, n: int) -> bool:
    """True about once in ``n`` draws (and False when shrunk)."""
    return draw(_ONE_IN[n]) == n - 1


def _check_bounds(name: str, low: int, high: int) -> None:
    if low < 0 or high < low:
        raise InvalidArgument(f"need 0 <= min_{name} <= max_{name}, got {low} and {high}")


def _check_pools(**pools: Sequence[str]) -> None:
    for name, pool in pools.items():
        if not pool or any(not isinstance(v, str) for v in pool):
            raise InvalidArgument(f"{name} must be a non-empty sequence of strings, got {pool!r}")


def _one_or_many(elements: SearchStrategy[Any], *, max_size: int = 3) -> SearchStrategy[Any]:
    """A value alone, or a non-empty list of them (IAM's strings-or-lists)."""
    return elements | st.lists(elements, min_size=1, max_size=max_size)


# -- actions and resources -------------------------------------------------------------------


@st.composite
def _random_case(draw: DrawFn, texts: SearchStrategy[str]) -> str:
    text = draw(texts)
    mask = draw(_MASKS)  # shrinks to 0: the text as written
    return "".join(c.swapcase() if mask >> i & 1 else c for i, c in enumerate(text))


def actions(*, wildcards: bool = True, random_case: bool = True) -> SearchStrategy[str]:
    """Lightsail action names as a policy or a request writes them.

    Mostly instance actions (``lightsail:StopInstance``...). With ``wildcards``, also patterns
    (``*``, ``lightsail:Stop*``, ``lightsail:?tartInstance``) and other services' actions. With
    ``random_case``, letters are in any case: action names are case-insensitive
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
    """
    names = st.sampled_from(_INSTANCE_ACTIONS) | st.sampled_from(_OTHER_ACTIONS)
    plain = names.map(lambda n: f"lightsail:{n}")
    base = (plain | st.sampled_from(_ACTION_PATTERNS)) if wildcards else plain
    if not random_case:
        return base
    return _random_case(base)


def _resource_patterns() -> SearchStrategy[str]:
    region = st.sampled_from((*_REGIONS, "*"))
    account = st.sampled_from((*_ACCOUNTS, "*"))
    ident = st.sampled_from(
        (*_INSTANCE_IDS, "*", "web-*", "web-?", "${aws:PrincipalTag/team}-*",
         "${aws:username}*", "${aws:PrincipalTag/team, 'ops'}-?", "web${*}")
    )  # fmt: skip
    kind = st.sampled_from(("Instance", "Instance", "Instance", "Disk", "*"))
    arns = st.builds(
        lambda r, a, k, i: f"arn:aws:lightsail:{r}:{a}:{k}/{i}", region, account, kind, ident
    )
    # a segment's trailing * may match past colons, so short prefixes ending in * are patterns
    # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)
    prefixes = st.sampled_from(
        ("arn:aws:lightsail:*:*:*", "arn:aws:lightsail:*", "arn:aws:lightsail:us-east-1:*",
         "arn:aws:*", "arn:aws:lightsail:*:111122223333:Instance/web*", "arn:*:lightsail:*:*:I*")
    )  # fmt: skip
    return st.just("*") | arns | prefixes


def instance_arns(
    *,
    regions: Sequence[str] = _REGIONS,
    accounts: Sequence[str] = _ACCOUNTS,
    ids: Sequence[str] = _INSTANCE_IDS,
) -> SearchStrategy[str]:
    """ARNs of Lightsail instances: ``arn:aws:lightsail:<region>:<account>:Instance/<id>``.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    _check_pools(regions=regions, accounts=accounts, ids=ids)
    return st.builds(
        lambda r, a, i: f"arn:aws:lightsail:{r}:{a}:Instance/{i}",
        st.sampled_from(regions),
        st.sampled_from(accounts),
        st.sampled_from(ids),
    )


def lightsail_instances(
    *,
    regions: Sequence[str] = _REGIONS,
    accounts: Sequence[str] = _ACCOUNTS,
    ids: Sequence[str] = _INSTANCE_IDS,
    tag_keys: Sequence[str] = _TAG_KEYS,
    tag_values: Sequence[str] = _TAG_VALUES,
    max_tags: int = 3,
) -> SearchStrategy[Instance]:
    """Lightsail instances (`lspolicy.lightsail.context.Instance`): region, account, id, tags.

    Each tag becomes ``aws:ResourceTag/<key>`` in a request on the instance
    (https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html).
    """
    _check_bounds("tags", 0, max_tags)
    _check_pools(
        regions=regions, accounts=accounts, ids=ids, tag_keys=tag_keys, tag_values=tag_values
    )
    tags = st.dictionaries(
        st.sampled_from(tag_keys), st.sampled_from(tag_values), max_size=max_tags
    )
    return st.builds(
        lambda r, a, i, t: Instance(id=i, region=r, account=a, tags=t),
        st.sampled_from(regions),
        st.sampled_from(accounts),
        st.sampled_from(ids),
        tags,
    )


# -- conditions ------------------------------------------------------------------------------

_TAG_CONTEXT_KEYS: Final = tuple(
    f"{prefix}/{k}" for prefix in ("aws:ResourceTag", "aws:PrincipalTag", "aws:RequestTag")
    for k in _TAG_KEYS
)  # fmt: skip


def _string_values(wildcards: bool) -> SearchStrategy[str]:
    plain = st.sampled_from((*_TAG_VALUES, *_USERNAMES, *_REGIONS))
    variables = st.sampled_from(_VARIABLES)
    if not wildcards:
        return plain | variables
    patterns = st.sampled_from(("*", "d*", "*o*", "?ev", "we?", "${*}", "a${*}", "p*${?}"))
    mixed = st.builds(lambda v: v + "*", variables)
    return plain | variables | patterns | mixed


def _arn_values() -> SearchStrategy[str]:
    return st.sampled_from(
        (*_PRINCIPAL_ARNS, "arn:aws:iam::111122223333:user/*", "arn:aws:iam::*:role/ops-*",
         "arn:aws:iam::111122223333:user/${aws:username}", "arn:aws:iam::???????????3:*",
         "arn:aws:lightsail:*:*:Instance/*")
    )  # fmt: skip


_Family = tuple[SearchStrategy[str], Callable[[bool], SearchStrategy[Any]]]
"""Condition keys an operator family is written with, and its values (given: wildcards?)."""

_FAMILIES: Final[Mapping[ValueType, _Family]] = {
    ValueType.STRING: (
        st.sampled_from((*_TAG_CONTEXT_KEYS, "aws:username", "aws:RequestedRegion", "aws:TagKeys")),
        _string_values,
    ),
    ValueType.NUMERIC: (
        st.just("aws:MultiFactorAuthAge"),
        lambda _w: st.sampled_from(_AGES) | st.sampled_from(_AGES).map(str) | st.just(1.5),
    ),
    ValueType.DATE: (
        st.sampled_from(("aws:CurrentTime", "aws:EpochTime")),
        lambda _w: st.sampled_from(_DATE_VALUES) | st.sampled_from(_EPOCHS),
    ),
    ValueType.BOOLEAN: (
        st.sampled_from(("aws:MultiFactorAuthPresent", "aws:SecureTransport")),
        lambda _w: st.booleans() | st.sampled_from(("true", "false", "True")),
    ),
    ValueType.BINARY: (st.just("aws:PrincipalTag/cert"), lambda _w: st.sampled_from(_BINARY)),
    ValueType.IP: (st.just("aws:SourceIp"), lambda _w: st.sampled_from(_IP_BLOCKS)),
    ValueType.ARN: (
        st.sampled_from(("aws:PrincipalArn", "aws:SourceArn")),
        lambda _w: _arn_values(),
    ),
    ValueType.NULL: (
        st.sampled_from((*_TAG_CONTEXT_KEYS[:3], "aws:username", "aws:MultiFactorAuthAge")),
        lambda _w: st.booleans() | st.sampled_from(("true", "false")),
    ),
}

_OPERATORS_BY_TYPE: Final[Mapping[ValueType, tuple[str, ...]]] = {
    vt: tuple(name for name, spec in OPERATORS.items() if spec.value_type is vt) for vt in _FAMILIES
}


_Drawn = tuple[SearchStrategy[str], SearchStrategy[list[str]], Mapping[bool, SearchStrategy[Any]]]


def _family_draws() -> dict[ValueType, _Drawn]:
    # built once: hypothesis validates each new strategy object on first use, which is slow
    out: dict[ValueType, _Drawn] = {}
    for family, (keys, values) in _FAMILIES.items():
        out[family] = (
            st.sampled_from(_OPERATORS_BY_TYPE[family]),
            st.lists(keys, min_size=1, max_size=2, unique=True),
            {w: _one_or_many(values(w), max_size=2) for w in (False, True)},
        )
    return out


_FAMILY_DRAWS: Final = _family_draws()
_TAG_KEY_VALUES: Final = _one_or_many(st.sampled_from(_TAG_KEYS))
_QUALIFIERS: Final = st.sampled_from(("", "", "", "", "ForAllValues:", "ForAnyValue:"))
_SET_QUALIFIERS: Final = st.sampled_from(("ForAllValues:", "ForAnyValue:", ""))


@st.composite
def _operator_entry(draw: DrawFn, families: SearchStrategy[ValueType]) -> tuple[str, JsonObject]:
    operators, key_lists, values = _FAMILY_DRAWS[draw(families)]
    name = draw(operators)
    spec = OPERATORS[name]
    key_list = draw(key_lists)
    qualifier = ""
    if spec.value_type is not ValueType.NULL:
        qualifier = draw(_SET_QUALIFIERS if "aws:TagKeys" in key_list else _QUALIFIERS)
    if_exists = spec.supports_if_exists and _one_in(draw, 4)
    operator = f"{qualifier}{name}{'IfExists' if if_exists else ''}"
    block: JsonObject = {}
    for key in key_list:
        block[key] = draw(_TAG_KEY_VALUES if key == "aws:TagKeys" else values[spec.wildcards])
    return operator, block


def condition_blocks(
    *,
    families: Sequence[ValueType] | None = None,
    min_operators: int = 1,
    max_operators: int = 3,
) -> SearchStrategy[JsonObject]:
    """``Condition`` elements: ``{operator: {key: value-or-values}}``.

    Operators come from `lspolicy.conditions.OPERATORS` (every family unless ``families`` names
    some), with ``IfExists`` and the ``ForAllValues:``/``ForAnyValue:`` qualifiers; values are
    valid for their operator and may hold policy variables (``${aws:username}``,
    ``${aws:PrincipalTag/team, 'shared'}``, ``${*}``).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """
    _check_bounds("operators", min_operators, max_operators)
    chosen = tuple(families) if families is not None else tuple(_FAMILIES)
    unknown = [f for f in chosen if f not in _FAMILIES]
    if not chosen or unknown:
        raise InvalidArgument(f"families must be a non-empty selection of {list(_FAMILIES)}")
    entries = st.lists(
        _operator_entry(st.sampled_from(chosen)),
        min_size=min_operators,
        max_size=max_operators,
        unique_by=lambda e: e[0],
    )
    return entries.map(dict)


# -- statements and documents ----------------------------------------------------------------


_SIDS: Final = st.sampled_from(("AllowOps", "DenyProd", "Stop1", "S"))
_ACTION_VALUES: Final = _one_or_many(actions())
_RESOURCE_VALUES: Final = _one_or_many(_resource_patterns())


@st.composite
def _statement(
    draw: DrawFn,
    effects: SearchStrategy[Effect],
    conditions: SearchStrategy[JsonObject] | None,
) -> JsonObject:
    out: JsonObject = {}
    if _one_in(draw, 3):
        out["Sid"] = draw(_SIDS)
    out["Effect"] = draw(effects)
    out["NotAction" if _one_in(draw, 7) else "Action"] = draw(_ACTION_VALUES)
    out["NotResource" if _one_in(draw, 10) else "Resource"] = draw(_RESOURCE_VALUES)
    if conditions is not None and draw(_BOOLS):
        out["Condition"] = draw(conditions)
    return out


def statements(
    *,
    effects: Sequence[Effect] = ("Allow", "Deny"),
    conditions: SearchStrategy[JsonObject] | None = None,
    with_conditions: bool = True,
) -> SearchStrategy[JsonObject]:
    """Statements of an identity-based policy, as JSON objects.

    ``Effect`` from ``effects``; ``Action`` (sometimes ``NotAction``) and ``Resource``
    (sometimes ``NotResource``) as a string or a list; an optional ``Sid``; and, unless
    ``with_conditions`` is false, sometimes a ``Condition`` drawn from ``conditions``
    (default: `condition_blocks`).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
    """
    chosen = tuple(effects)
    if not chosen or any(e not in ("Allow", "Deny") for e in chosen):
        raise InvalidArgument(f"effects must be 'Allow' and/or 'Deny', got {effects!r}")
    blocks = (conditions or condition_blocks()) if with_conditions else None
    return _statement(st.sampled_from(chosen), blocks)


_DEFAULT_STATEMENTS: Final = _statement(st.sampled_from(("Allow", "Deny")), condition_blocks())


def _unique_sids(items: list[JsonObject]) -> list[JsonObject]:
    # the parser rejects repeated Sids in an identity-based policy
    seen: set[str] = set()
    out = []
    for i, item in enumerate(items):
        sid = item.get("Sid")
        if isinstance(sid, str):
            unique = f"{sid}{i}" if sid in seen else sid
            seen.add(unique)
            item = {**item, "Sid": unique}  # noqa: PLW2901 - a copy, never the caller's
        out.append(item)
    return out


_IDS: Final = st.sampled_from(("lightsail-ops", "d6e1c4b2"))


@st.composite
def _document(
    draw: DrawFn,
    statement_lists: SearchStrategy[list[JsonObject]],
    versions: SearchStrategy[str | None],
) -> JsonObject:
    doc: JsonObject = {}
    version = draw(versions)
    if version is not None:
        doc["Version"] = version
    if _one_in(draw, 10):
        doc["Id"] = draw(_IDS)
    items = _unique_sids(draw(statement_lists))
    doc["Statement"] = items[0] if len(items) == 1 and draw(_BOOLS) else items
    return doc


_VERSIONS: Final = (VERSION_2012,) * 6 + (VERSION_2008, None)


def policy_documents(
    *,
    statements: SearchStrategy[JsonObject] | None = None,
    min_statements: int = 1,
    max_statements: int = 4,
    versions: Sequence[str | None] = _VERSIONS,
) -> SearchStrategy[JsonObject]:
    """Valid identity-based policy documents (JSON-ready dicts) that `parse_policy` accepts.

    ``Version`` is drawn from ``versions`` (None: no Version element; by default mostly
    ``2012-10-17``, sometimes ``2008-10-17`` or absent, where policy variables are plain text);
    ``Statement`` is an object when there is one statement (sometimes) and a list otherwise;
    statements come from ``statements`` (default: `statements`) and their Sids are made unique.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    _check_bounds("statements", min_statements, max_statements)
    if min_statements == 0:
        raise InvalidArgument("a policy needs at least one statement: min_statements >= 1")
    if not versions:
        raise InvalidArgument("versions must not be empty")
    inner = statements if statements is not None else _DEFAULT_STATEMENTS
    lists = st.lists(inner, min_size=min_statements, max_size=max_statements)
    return _document(lists, st.sampled_from(tuple(versions)))


# -- invalid documents -----------------------------------------------------------------------

_Breaker = Callable[[DrawFn, JsonObject], None]


def _statement_list(doc: JsonObject) -> list[JsonObject]:
    raw = doc["Statement"]
    return raw if isinstance(raw, list) else [raw]


def _pick_statement(draw: DrawFn, doc: JsonObject) -> JsonObject:
    return draw(st.sampled_from(_statement_list(doc)))


def _set(key: str, values: Sequence[object], *, where: str = "statement") -> _Breaker:
    def breaker(draw: DrawFn, doc: JsonObject) -> None:
        target = doc if where == "top" else _pick_statement(draw, doc)
        target[key] = copy.deepcopy(draw(st.sampled_from(values)))

    return breaker


def _delete(*keys: str) -> _Breaker:
    def breaker(draw: DrawFn, doc: JsonObject) -> None:
        target = _pick_statement(draw, doc)
        for key in keys:
            target.pop(key, None)

    return breaker


def _add_twin(first: str, second: str) -> _Breaker:
    def breaker(draw: DrawFn, doc: JsonObject) -> None:
        target = _pick_statement(draw, doc)
        value = target.get(first, target.get(second))
        target[first] = value
        target[second] = value

    return breaker


def _break_condition(kind: str) -> _Breaker:
    bad_operators = (
        "StringEqual", "stringEquals", "StringEqualsIfExist", "ForAllValue:StringEquals",
        "ForAnyValue:Null", "ForAllValues:NullIfExists", "NullIfExists", "IfExists",
        "Foo:StringEquals", "StringLikeIgnoreCase", "ForAllValues:", "NumericLessThenEquals",
        "StringEquals ", "forallvalues:StringLike",
    )  # fmt: skip
    bad_values: tuple[object, ...] = (None, {}, [None], [[]], ["dev", {}], {"a": "b"})

    def breaker(draw: DrawFn, doc: JsonObject) -> None:
        target = _pick_statement(draw, doc)
        block = target.setdefault("Condition", {})
        if kind == "operator":
            key = draw(st.sampled_from(_TAG_CONTEXT_KEYS))
            block[draw(st.sampled_from(bad_operators))] = {key: "dev"}
        elif kind == "operator-block":
            block["StringEquals"] = copy.deepcopy(draw(st.sampled_from(("dev", [], 1, None, {}))))
        elif kind == "key":
            block["StringEquals"] = {"": "dev"}
        elif kind == "value":
            key = draw(st.sampled_from(_TAG_CONTEXT_KEYS))
            block["StringLike"] = {key: copy.deepcopy(draw(st.sampled_from(bad_values)))}
        else:  # values an operator cannot read: numbers, dates, booleans, addresses...
            operator, value = draw(
                st.sampled_from(
                    (("NumericEquals", "abc"), ("NumericLessThan", "1,000"),
                     ("DateLessThan", "yesterday"), ("DateGreaterThan", "2024-13-01"),
                     ("Bool", "yes"), ("IpAddress", "203.0.113.999"), ("NotIpAddress", "10/8"),
                     ("BinaryEquals", "not base64!"), ("Null", "maybe"))
                )
            )  # fmt: skip
            block[operator] = {"aws:ResourceTag/env": value}

    return breaker


def _duplicate_sid(draw: DrawFn, doc: JsonObject) -> None:
    first = _statement_list(doc)[0]
    first["Sid"] = "Same"
    doc["Statement"] = [first, {**copy.deepcopy(first), "Sid": "Same"}]


def _oversize(draw: DrawFn, doc: JsonObject) -> None:
    # 6,144 characters, white space excluded: IAM's quota for a managed policy
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    target = _pick_statement(draw, doc)
    target["Resource"] = [
        f"arn:aws:lightsail:us-east-1:111122223333:Instance/i-{n:05}" for n in range(160)
    ]


_BAD_VERSIONS: Final[tuple[object, ...]] = ("2012-10-18", "2012/10/17", "", 2012, "latest", [])
_BAD_EFFECTS: Final[tuple[object, ...]] = ("allow", "DENY", "Permit", "", 1, True, ["Allow"])
_NON_STRING_ACTIONS: Final[tuple[object, ...]] = (
    42, None, True, {}, [], ["lightsail:StopInstance", 1], [None],
)  # fmt: skip
_MALFORMED_ACTIONS: Final = (
    "lightsail", "lightsail:", ":StopInstance", "light sail:Stop", "lightsail:Stop Instance",
    "lightsail:Stop:Instance", "lightsail:Stop$", "**", "lightsail:Stop/Instance",
)  # fmt: skip
_NOT_ARNS: Final[tuple[object, ...]] = (
    "instance-1", "arn:aws:lightsail", "Arn:aws:lightsail:::x",
    "arn:aws:lightsail:us-east-1:111122223333", "", "**", 7, None, [], ["*", 3],
)  # fmt: skip
_ROOT: Final = {"AWS": "arn:aws:iam::111122223333:root"}


def _bad_statement(draw: DrawFn, doc: JsonObject) -> None:
    doc["Statement"] = [copy.deepcopy(draw(st.sampled_from(("x", 1, None, []))))]


_GRAMMAR_BREAKERS: Final[tuple[tuple[str, _Breaker], ...]] = (
    ("bad Version", _set("Version", _BAD_VERSIONS, where="top")),
    ("Id not a string", _set("Id", (1, ["a"], {}, True), where="top")),
    ("unknown top-level element", _set("Statements", ([],), where="top")),
    ("unknown top-level element", _set("Principal", ("*",), where="top")),
    ("missing Statement", lambda _d, doc: doc.pop("Statement")),
    ("Statement not an object or list", _set("Statement", ("x", 1, True, None), where="top")),
    ("statement not an object", _bad_statement),
    ("missing Effect", _delete("Effect")),
    ("bad Effect", _set("Effect", _BAD_EFFECTS)),
    ("both Action and NotAction", _add_twin("Action", "NotAction")),
    ("neither Action nor NotAction", _delete("Action", "NotAction")),
    ("both Resource and NotResource", _add_twin("Resource", "NotResource")),
    ("neither Resource nor NotResource", _delete("Resource", "NotResource")),
    ("action not a string", _set("Action", _NON_STRING_ACTIONS)),
    ("malformed action", _set("NotAction", _MALFORMED_ACTIONS)),
    ("resource not an ARN", _set("Resource", _NOT_ARNS)),
    ("Principal in an identity policy", _set("Principal", ("*", {"AWS": "*"}))),
    ("NotPrincipal in an identity policy", _set("NotPrincipal", (_ROOT,))),
    ("unknown statement element", _set("Actions", ("lightsail:*",))),
    ("unknown statement element", _set("effect", ("Allow",))),
    ("Sid not a string", _set("Sid", (1, True, [], {"a": 1}))),
    ("Condition not an object", _set("Condition", ("x", [], 1, None, True))),
    ("unknown condition operator", _break_condition("operator")),
    ("operator block not an object of keys", _break_condition("operator-block")),
    ("empty condition key", _break_condition("key")),
    ("condition value not a string, number or boolean", _break_condition("value")),
)

_VALUE_BREAKERS: Final[tuple[tuple[str, _Breaker], ...]] = (
    ("value invalid for its operator", _break_condition("typed-value")),
    ("duplicate Sid", _duplicate_sid),
    ("over the size quota", _oversize),
)


@st.composite
def _broken(
    draw: DrawFn, valid: SearchStrategy[JsonObject], breakers: tuple[tuple[str, _Breaker], ...]
) -> JsonObject:
    doc = copy.deepcopy(draw(valid))
    _name, breaker = draw(st.sampled_from(breakers))
    breaker(draw, doc)
    return doc


def invalid_policy_documents(*, grammar_only: bool = False) -> SearchStrategy[JsonObject]:
    """Policy documents `parse_policy` must reject (as identity-based policies).

    Each is a valid document broken in one way: a missing or bad ``Effect``, both ``Action``
    and ``NotAction``, a bad ``Version``, an unknown condition operator, an action that is not
    a string, a ``Resource`` that is not an ARN, a ``Principal``... With ``grammar_only``, only
    breaks a JSON Schema can see (not: values invalid for their operator's type, repeated
    Sids, documents over IAM's size quota).
    """
    breakers = _GRAMMAR_BREAKERS if grammar_only else _GRAMMAR_BREAKERS + _VALUE_BREAKERS
    return _broken(policy_documents(max_statements=3), breakers)


# -- requests --------------------------------------------------------------------------------


_CONTEXT_KEYS: Final[SearchStrategy[dict[str, ContextValue]]] = st.fixed_dictionaries(
    {},
    optional={
        "aws:username": st.sampled_from(_USERNAMES),
        "aws:PrincipalArn": st.sampled_from(_PRINCIPAL_ARNS),
        "aws:SourceIp": st.sampled_from(_IP_ADDRESSES),
        "aws:CurrentTime": st.sampled_from(_TIMES),
        "aws:EpochTime": st.sampled_from(_EPOCHS),
        "aws:MultiFactorAuthPresent": st.booleans() | st.sampled_from(("true", "false")),
        "aws:MultiFactorAuthAge": st.sampled_from(_AGES),
        "aws:SecureTransport": st.booleans(),
        "aws:RequestedRegion": st.sampled_from(_REGIONS),
        "aws:PrincipalTag/cert": st.sampled_from(_BINARY),
    },
)
_CONTEXT_TAG_KEYS: Final = st.lists(st.sampled_from(_TAG_KEYS), unique=True, max_size=3)
_CONTEXT_TAG_VALUE: Final = st.sampled_from(_TAG_VALUES)
_CONTEXT_REQUEST_TAGS: Final = st.dictionaries(
    st.sampled_from(_TAG_KEYS), _CONTEXT_TAG_VALUE, max_size=3
)


@st.composite
def _context(draw: DrawFn, resource_tags: bool) -> dict[str, ContextValue]:
    # the strategies are built once, above: hypothesis validates each new strategy object on
    # first use, which costs more than the draw
    ctx: dict[str, ContextValue] = draw(_CONTEXT_KEYS)
    for key in draw(_CONTEXT_TAG_KEYS):
        ctx[f"aws:PrincipalTag/{key}"] = draw(_CONTEXT_TAG_VALUE)
    if resource_tags:
        for key in draw(_CONTEXT_TAG_KEYS):
            ctx[f"aws:ResourceTag/{key}"] = draw(_CONTEXT_TAG_VALUE)
    if draw(_ONE_IN[4]) == 0:  # a tagging request: its tags and their keys
        request_tags = draw(_CONTEXT_REQUEST_TAGS)
        for key, value in request_tags.items():
            ctx[f"aws:RequestTag/{key}"] = value
        ctx["aws:TagKeys"] = list(request_tags)
    return ctx


def request_contexts(*, resource_tags: bool = True) -> SearchStrategy[dict[str, ContextValue]]:
    """Request context dicts, as `lspolicy.Request` takes them.

    Keys from IAM's global condition keys (``aws:username``, ``aws:PrincipalTag/<k>``,
    ``aws:SourceIp``, ``aws:CurrentTime``, ``aws:MultiFactorAuthPresent``, ``aws:TagKeys`` as
    a list with ``aws:RequestTag/<k>``...), each present or not; with ``resource_tags``, also
    ``aws:ResourceTag/<k>``. Values come from the pools policies are drawn from.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
    """
    return _context(resource_tags)


@st.composite
def _request(
    draw: DrawFn,
    actions_: SearchStrategy[str],
    instances: SearchStrategy[Instance],
    contexts: SearchStrategy[dict[str, ContextValue]],
) -> Request:
    instance = draw(instances)
    context = draw(contexts)
    for key, value in instance.tags.items():
        context[f"aws:ResourceTag/{key}"] = value
    return Request(draw(actions_), instance.arn, context)


def requests(
    *,
    actions: SearchStrategy[str] | None = None,
    instances: SearchStrategy[Instance] | None = None,
    contexts: SearchStrategy[dict[str, ContextValue]] | None = None,
) -> SearchStrategy[Request]:
    """`lspolicy.Request` objects: an action on a Lightsail instance, with a context.

    The action (default: a Lightsail action name, no wildcards, in any case) acts on an
    instance (default: `lightsail_instances`), whose tags are the request's
    ``aws:ResourceTag/<key>`` values; the rest of the context comes from ``contexts`` (default:
    `request_contexts` without resource tags).
    """
    return _request(
        actions if actions is not None else _concrete_actions(),
        instances if instances is not None else lightsail_instances(),
        contexts if contexts is not None else request_contexts(resource_tags=False),
    )


def _concrete_actions() -> SearchStrategy[str]:
    return actions(wildcards=False)
