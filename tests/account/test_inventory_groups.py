"""`Inventory.group`: a user's ``GroupList`` names its groups by name only, so the review finds
each group by (account, name) through an index that never answers from a stale state.

"IAM user, group, role, and policy names must be unique within the account" (IAM API
Reference, CreateGroup, ``GroupName``; https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html):
one group per (account, name), so the index holds exactly the answer the scan gave.
"""

from __future__ import annotations

from lspolicy.account.model import Group, Inventory


def _group(account: str, name: str, path: str = "/") -> Group:
    return Group(arn=f"arn:aws:iam::{account}:group{path}{name}", name=name)


def test_group_found_by_account_and_name() -> None:
    inv = Inventory()
    for account in ("111111111111", "222222222222"):
        for name in ("devs", "ops"):
            g = _group(account, name)
            inv.groups[g.arn] = g
    got = inv.group("222222222222", "ops")
    assert got is not None and got.arn == "arn:aws:iam::222222222222:group/ops"
    assert inv.group("333333333333", "ops") is None
    assert inv.group("111111111111", "nobody") is None


def test_group_index_follows_changes_to_groups() -> None:
    """Groups added, replaced or removed after a first look-up are seen by the next one."""
    inv = Inventory()
    first = _group("111111111111", "devs")
    inv.groups[first.arn] = first
    assert inv.group("111111111111", "devs") is first
    # a later page of the export adds a group: found, though the index was built before
    later = _group("111111111111", "ops", "/team/")
    inv.groups[later.arn] = later
    assert inv.group("111111111111", "ops") is later
    # the same ARN replaced by another object: the new one is answered
    again = Group(arn=first.arn, name="devs", managed=("arn:aws:iam::aws:policy/ReadOnlyAccess",))
    inv.groups[first.arn] = again
    assert inv.group("111111111111", "devs") is again
    # removed: no longer found
    del inv.groups[later.arn]
    assert inv.group("111111111111", "ops") is None
