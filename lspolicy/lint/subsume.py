"""When does one statement apply to every request another applies to? Conservatively.

``covers(policy, inner, outer)`` is true only when it is provable from the text that every
request ``inner`` applies to, ``outer`` applies to as well (effects aside). Each step is a
sufficient condition, never a guess:

- actions: each of ``inner``'s entries is covered by one of ``outer``'s — ``*``; the same entry
  (case-insensitively); a literal name the engine's action matcher accepts; or an ``outer``
  pattern that is a plain prefix (``lightsail:Stop*``) of ``inner``'s text up to its first
  wildcard. ``NotAction`` on both sides: ``outer``'s exclusions are among ``inner``'s.
- resources: the same on ARNs, with the engine's resource matcher for literal ARNs; a pattern
  whose only wildcard is a final ``*`` covers every ARN that starts with its text, because a
  segment's trailing ``*`` spans colons
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html);
  otherwise segment by segment, each of ``inner``'s segments covered as above, and where
  ``inner``'s segment ends in ``*`` (and so may span colons) ``outer``'s does too.
- conditions: every condition of ``outer`` appears in ``inner`` (same operator, key and values),
  so whenever ``inner``'s conditions all hold, ``outer``'s do.
- principals: equal (identity policies have none).

Anything else — two different wildcard patterns, variables in ``outer``'s ARNs — is "not
provable", and no finding follows.
"""

from __future__ import annotations

from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.glob import compile_glob, tokens_of
from lspolicy.lightsail.catalog import compile_action_pattern
from lspolicy.model.policy import Condition, Policy, Statement

__all__ = ["covers"]

_WILD = "*?"


def _prefix_pattern(pattern: str, specials: str) -> str | None:
    """The text before a final ``*`` when that is the pattern's only special character."""
    if not pattern.endswith("*"):
        return None
    head = pattern[:-1]
    return None if any(c in head for c in specials) else head


def _literal_head(pattern: str, specials: str) -> str:
    cut = min((pattern.find(c) for c in specials if c in pattern), default=len(pattern))
    return pattern[:cut]


def _action_covered(inner: str, outer: str) -> bool:
    i, o = inner.lower(), outer.lower()
    if o in ("*", i):
        return True
    if not any(c in i for c in _WILD):
        return compile_action_pattern(o).matches(i)
    head = _prefix_pattern(o, _WILD)
    return head is not None and _literal_head(i, _WILD).startswith(head)


def _segment_covered(inner: str, outer: str) -> bool:
    """Whether every ARN segment the glob ``inner`` matches, ``outer`` matches."""
    if outer in ("*", inner):
        return True
    if not any(c in inner for c in _WILD):
        return compile_glob(outer)(inner)
    head = _prefix_pattern(outer, _WILD)
    return head is not None and _literal_head(inner, _WILD).startswith(head)


def _resource_covered(inner: str, outer: str, substitute: bool) -> bool:
    if outer in ("*", inner):
        return True
    if substitute and "${" in outer:
        return False
    specials = "*?$" if substitute else "*?"
    if not any(c in inner for c in specials):
        return compile_resource_pattern(tokens_of(outer))(inner)
    head = _prefix_pattern(outer, specials)
    if head is not None and _literal_head(inner, specials).startswith(head):
        return True
    if substitute and "${" in inner:
        return False  # a substituted value may hold colons: segments are not known
    # segment by segment: a segment ending in * may swallow the segments after it, so where
    # inner's may, outer's must be able to as well
    ins, outs = inner.split(":"), outer.split(":")
    return len(ins) == len(outs) and all(
        _segment_covered(i, o) and (not i.endswith("*") or o.endswith("*"))
        for i, o in zip(ins, outs, strict=True)
    )


def _all_covered(inner: tuple[str, ...], outer: tuple[str, ...], test: object) -> bool:
    assert callable(test)
    return all(any(test(i, o) for o in outer) for i in inner)


def _condition_key(c: Condition) -> tuple[str, str, frozenset[str]]:
    return (c.operator, c.key.casefold(), frozenset(c.values))


def covers(policy: Policy, inner: Statement, outer: Statement) -> bool:
    """Whether ``outer`` provably applies to every request ``inner`` applies to (both in
    ``policy``; effects are not compared)."""
    if inner.principal != outer.principal or inner.not_principal != outer.not_principal:
        return False
    if inner.actions is not None and outer.actions is not None:
        if not _all_covered(inner.actions, outer.actions, _action_covered):
            return False
    elif inner.not_actions is not None and outer.not_actions is not None:
        if not _all_covered(outer.not_actions, inner.not_actions, _action_covered):
            return False
    else:
        return False
    substitute = policy.substitutes_variables
    if inner.resources is not None and outer.resources is not None:
        if not _all_covered(
            inner.resources,
            outer.resources,
            lambda i, o: _resource_covered(i, o, substitute),
        ):
            return False
    elif inner.not_resources is not None and outer.not_resources is not None:
        if set(inner.not_resources) != set(outer.not_resources):
            return False
    elif not (inner.resources is None and inner.not_resources is None) or not (
        outer.resources is None and outer.not_resources is None
    ):
        return False
    mine = {_condition_key(c) for c in inner.conditions}
    return all(_condition_key(c) in mine for c in outer.conditions)
