"""Hypothesis strategies for request bodies of the emulated endpoint.

    >>> from hypothesis import given
    >>> from lspolicy.server.body_strategies import invalid_stop_instance_bodies
    >>> @given(invalid_stop_instance_bodies())
    ... def test_refused(body):
    ...     ...  # json.dumps(body) and send it: the answer must be InvalidInputException

Bodies are JSON-ready dicts (``json.dumps`` them). The name rules are read from the request
schema (``schemas/stop-instance-request.schema.json``), so the strategies and `validate_body`
cannot drift apart. The contract: the Lightsail API reference,
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html.
"""

from __future__ import annotations

import re
import string
from typing import Any, Final

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from lspolicy.server.validate import REQUEST_SCHEMAS

__all__ = [
    "MAX_NAME_LENGTH",
    "instance_names",
    "invalid_instance_names",
    "invalid_stop_instance_bodies",
    "valid_stop_instance_bodies",
]

_RULE: Final = REQUEST_SCHEMAS["StopInstance"]["$defs"]["ResourceName"]
_VALID_NAME: Final = re.compile(_RULE["pattern"])

MAX_NAME_LENGTH: Final[int] = _RULE["maxLength"]
"""The longest instance name the endpoint accepts (the schema's ``maxLength``)."""

_WORD: Final = string.ascii_letters + string.digits + "_"
_STOP_MEMBERS: Final = frozenset(REQUEST_SCHEMAS["StopInstance"]["properties"])


def _is_valid_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and _VALID_NAME.search(name) is not None


def instance_names() -> SearchStrategy[str]:
    """Names Lightsail accepts: 2 to `MAX_NAME_LENGTH` ASCII letters, digits, underscores and
    hyphens, with no hyphen first or last (shrinks towards ``"00"``)."""
    return st.builds(
        lambda first, middle, last: first + middle + last,
        st.sampled_from(_WORD),
        st.text(alphabet=_WORD + "-", max_size=MAX_NAME_LENGTH - 2),
        st.sampled_from(_WORD),
    )


_KNOWN_BAD: Final = (
    "",
    "a",
    "-",
    "-ab",
    "ab-",
    "a b",
    "bad name!",
    "\uff57\uff45\uff42",  # "web" in fullwidth letters: word characters to Python, not ASCII
    "naïve",
    "a\nb",
    "ab\n",
    "\nab",
    "a.b",
    "web\x00",
)


def _insert(name: str, char: str, at: int) -> str:
    at %= len(name) + 1
    return name[:at] + char + name[at:]


def invalid_instance_names() -> SearchStrategy[str]:
    """Strings the endpoint refuses as names: too short, a hyphen first or last, a character
    outside ASCII word characters and hyphens (Unicode letters and digits, which Python's ``\\w``
    would take, among them), or longer than `MAX_NAME_LENGTH`."""
    short_valid = instance_names().map(lambda name: name[: MAX_NAME_LENGTH - 1])
    foreign = st.characters(exclude_characters=_WORD + "-")
    unicode_word = st.characters(min_codepoint=0x80, categories=("L", "N"))
    too_long = st.builds(
        lambda first, rest: first + rest,
        st.sampled_from(_WORD),
        st.text(alphabet=_WORD, min_size=MAX_NAME_LENGTH, max_size=MAX_NAME_LENGTH + 64),
    )
    return st.one_of(
        st.sampled_from(_KNOWN_BAD),
        st.sampled_from(_WORD),
        short_valid.map(lambda name: "-" + name),
        short_valid.map(lambda name: name + "-"),
        st.builds(_insert, short_valid, foreign | unicode_word, st.integers(min_value=0)),
        too_long,
        st.text(max_size=12).filter(lambda name: not _is_valid_name(name)),
    )


def valid_stop_instance_bodies(
    *, names: SearchStrategy[str] | None = None
) -> SearchStrategy[dict[str, Any]]:
    """StopInstance bodies the endpoint accepts: ``instanceName``, and ``force`` (a boolean)
    or not. ``names`` draws the names (default `instance_names`): pass your own pool so the
    requests name instances that exist; they must be valid names."""
    return st.fixed_dictionaries(
        {"instanceName": names if names is not None else instance_names()},
        optional={"force": st.booleans()},
    )


_JSON_SCALARS: Final = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_JSON: Final = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def invalid_stop_instance_bodies() -> SearchStrategy[dict[str, Any]]:
    """StopInstance bodies (JSON objects) the endpoint refuses with ``InvalidInputException``,
    each broken in one way: ``instanceName`` missing, not a string, or not a valid name;
    ``force`` not a boolean; or a member StopInstance does not have (names are case-sensitive,
    so ``InstanceName`` is one). Bodies that are not objects or not JSON are not drawn here."""
    force = {"force": st.booleans()}
    not_a_string = _JSON.filter(lambda value: not isinstance(value, str))
    not_a_boolean = _JSON.filter(lambda value: not isinstance(value, bool))
    unknown_member = st.text(max_size=16).filter(lambda name: name not in _STOP_MEMBERS)
    return st.one_of(
        st.fixed_dictionaries({}, optional=force),
        st.fixed_dictionaries({"instanceName": not_a_string}, optional=force),
        st.fixed_dictionaries({"instanceName": invalid_instance_names()}, optional=force),
        st.fixed_dictionaries({"instanceName": instance_names(), "force": not_a_boolean}),
        st.builds(
            lambda valid, name, value: {**valid, name: value},
            valid_stop_instance_bodies(),
            unknown_member,
            _JSON,
        ),
    )
