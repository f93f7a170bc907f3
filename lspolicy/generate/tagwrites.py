"""Statements that stop tag writes from escalating access (``guard_tags: true``).

A tag-based grant is only as strong as the control over who writes the tag: a principal allowed
to stop instances tagged ``env=dev`` and to tag instances can tag production ``env=dev`` and stop
it; one kept off ``env=prod`` by an exclusion can remove the ``env`` tag and act. With
``guard_tags``, every generated policy also carries one Deny:

.. code-block:: json

   {"Sid": "GuardTagKeys", "Effect": "Deny",
    "Action": ["lightsail:TagResource", "lightsail:UntagResource"], "Resource": "*",
    "Condition": {"ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": ["env", "team"]}}}

The keys are every instance tag key a grant or exclusion selects by (``principal_tag: k``
selects by the instance's key). AWS facts it rests on:

- ``lightsail:TagResource`` carries ``aws:RequestTag/${TagKey}`` and ``aws:TagKeys``, and
  ``lightsail:UntagResource`` carries ``aws:TagKeys`` (the keys being added, changed or removed)
  (Service Authorization Reference, "Actions, resources, and condition keys for Amazon
  Lightsail": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html;
  lspolicy's catalog, ``lspolicy/lightsail/data/service.json``). ``aws:TagKeys`` alone covers
  adding, changing and removing, so ``aws:RequestTag`` is not needed.
- ``aws:TagKeys`` is multivalued: ``ForAnyValue`` holds when at least one key of the request
  matches (IAM User Guide, "Single-valued vs. multivalued context keys":
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html);
  "Controlling access to and for IAM principals / control tag keys":
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-tag-keys.
- Condition key names are not case sensitive, so ``aws:ResourceTag/env`` reads a tag written
  as ``ENV`` too (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html):
  the keys are compared with ``StringEqualsIgnoreCase``, or writing ``ENV`` would slip through.
- ``Resource: "*"``: the keys are guarded on every Lightsail resource the principal could tag
  (an instance is the one that matters here; a Deny wider than needed takes away only tag writes
  of these keys).

Not generated: a guard on the *principal's* own tags (a ``GuardPrincipalTagKeys`` of
``iam:TagUser``/``iam:TagRole``...). ``aws:PrincipalTag`` does not only come from the tags IAM
attaches to the user or role: for a role session it also holds the session tags passed when the
role is assumed, and inherited transitive session tags (IAM User Guide, "Pass session tags in
AWS STS": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html). Those are
governed by ``sts:TagSession`` in the *role's trust policy* and by whoever assumes it, not by an
identity policy of the principal, so a Deny of ``iam:Tag*`` here would look like a guard while
leaving the session-tag path open; and the proofs here decide Lightsail requests only. Keep
``iam:Tag*`` and ``sts:TagSession`` of the selector keys away from the principals where their
roles and trust policies are managed.

The proof that the statement does its job, for every request: `lspolicy.generate.tagguard`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lspolicy.generate.intent import GUARD_SID, Intent

__all__ = [
    "GUARD_OPERATOR",
    "GUARD_SID",
    "TAG_WRITE_ACTIONS",
    "TagWriteGuard",
    "selector_keys",
    "tag_write_guard",
]

TAG_WRITE_ACTIONS = ("lightsail:TagResource", "lightsail:UntagResource")
"""The Lightsail actions that add, change or remove tags."""

GUARD_OPERATOR = "ForAnyValue:StringEqualsIgnoreCase"
TAG_KEYS = "aws:TagKeys"


@dataclass(frozen=True, slots=True)
class TagWriteGuard:
    """The Deny statement's parts."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    keys: tuple[str, ...]

    @property
    def conditions(self) -> dict[str, dict[str, list[str]]]:
        """``{operator: {key: values}}``."""
        return {GUARD_OPERATOR: {TAG_KEYS: list(self.keys)}}


def selector_keys(intent: Intent) -> tuple[str, ...]:
    """Every instance tag key a grant or an exclusion selects by, one spelling per key
    (the first written), in case-folded order."""
    seen: dict[str, str] = {}
    for selector in [g.instances for g in intent.grants] + [e.instances for e in intent.exclusions]:
        for m in selector.tags:
            seen.setdefault(m.key.casefold(), m.key)
    return tuple(seen[k] for k in sorted(seen))


def tag_write_guard(intent: Intent) -> TagWriteGuard | None:
    """The guard for ``intent`` (None unless it asks for ``guard_tags`` and selects instances by
    some tag)."""
    if not intent.guard_tags:
        return None
    keys = selector_keys(intent)
    if not keys:
        return None
    return TagWriteGuard(sid=GUARD_SID, actions=TAG_WRITE_ACTIONS, resources=("*",), keys=keys)
