"""The question of one action group split into smaller exact cases, by what the sides share.

The search (`lspolicy.diff.search`) asks "is there a request ``X`` allows and ``Y`` denies"
(``X``/``Y``: new/old for new access, old/new for removed access). On whole policy sets most
statements are the same on both sides (same text but the ``Sid``, same layer: one
*fingerprint*), and the search, asked the question as is, cannot prune on them: ``X``'s allow is
a disjunction over every statement. Written with the shared denies ``D``, allows ``A``, boundary
statements ``Bs``, and each side's own ``Dx``/``Ax``/``Bx`` and ``Dy``/``Ay``/``By``::

    X allowed and Y denied
      = not D and not Dx and (A or Ax) and Bx and (Dy or (not A and not Ay) or not By)

which is the disjunction of three cases, each again "one side allowed, the other denied" over
other statement lists (`SideLayout`), so the same search decides each exactly:

- (a) a deny only ``Y`` has applies: ``X`` as it is; ``Y`` = "allowed unless ``Dy``";
- (b) for each allow ``s`` only ``X`` has: ``X`` = no deny of ``X``, ``s``, ``X``'s boundary;
  ``Y`` = "allowed when an allow of ``A`` or ``Ay`` applies" (``not A`` is needed, so one of
  ``Ax`` must carry the allow);
- (c) ``Y``'s boundary does not allow (only when ``Y`` has one): ``X`` with its boundary
  narrowed to its own statements (``Bs`` must fail); ``Y`` = "allowed when a statement of
  its boundary applies".

The union of the cases' solutions is exactly the original's, so "none in every case" is a
proof and any solution is a witness; the smallest witness over all cases is the one the
unsplit search would give. Case (b) is the one that usually decides: its ``X`` needs one
statement to apply (an edit's new or widened statement), and the search tries that
statement's keys first (`SideLayout.must`).

Fingerprints compare whole statements, so a duplicate of a statement on one side changes
nothing: every list is a disjunction.
"""

from __future__ import annotations

from collections.abc import Sequence

from lspolicy.diff.problem import RawStatement
from lspolicy.diff.search import SideLayout

__all__ = ["cases", "impossible"]


def _roles(
    statements: Sequence[RawStatement], side: str
) -> tuple[list[RawStatement], list[RawStatement], list[RawStatement]]:
    deny, allow, boundary = [], [], []
    for st in statements:
        if st.side != side:
            continue
        if st.deny:
            deny.append(st)
        elif st.layer == "identity":
            allow.append(st)
        else:
            boundary.append(st)
    return deny, allow, boundary


def _split(
    mine: Sequence[RawStatement], theirs: Sequence[RawStatement]
) -> tuple[list[RawStatement], list[RawStatement]]:
    """(statements of ``mine`` the other side also has, those only ``mine`` has)."""
    other = {st.fingerprint for st in theirs}
    shared = [st for st in mine if st.fingerprint in other]
    own = [st for st in mine if st.fingerprint not in other]
    return shared, own


def cases(
    statements: Sequence[RawStatement], direction: str, boundaries: dict[str, bool]
) -> list[dict[str, SideLayout]]:
    """The cases whose solutions together are exactly the direction's differences (each
    maps ``"new"``/``"old"`` to its statements by role, see the module docstring)."""
    x, y = ("new", "old") if direction == "new-access" else ("old", "new")
    dx_all, ax_all, bx_all = _roles(statements, x)
    dy_all, ay_all, by_all = _roles(statements, y)
    d, dx = _split(dx_all, dy_all)
    _, dy = _split(dy_all, dx_all)
    a, ax = _split(ax_all, ay_all)
    _, ay = _split(ay_all, ax_all)
    bx: list[RawStatement] | None = bx_all if boundaries[x] else None
    by: list[RawStatement] | None = by_all if boundaries[y] else None
    x_denies = (*d, *dx)
    out: list[dict[str, SideLayout]] = []
    if dy:
        out.append(
            {
                x: SideLayout(x_denies, (*a, *ax), None if bx is None else tuple(bx)),
                y: SideLayout(tuple(dy), None, None),
            }
        )
    for s in ax:
        out.append(
            {
                x: SideLayout(x_denies, (s,), None if bx is None else tuple(bx), must=(s,)),
                y: SideLayout((), (*a, *ay), None),
            }
        )
    if by is not None:
        if bx is None:
            narrowed: tuple[RawStatement, ...] | None = None
        else:
            narrowed = tuple(_split(bx, by)[1])
        if narrowed is None or narrowed:
            out.append(
                {
                    x: SideLayout(x_denies, (*a, *ax), narrowed),
                    y: SideLayout((), tuple(by), None),
                }
            )
    return out


def _unconditional(st: RawStatement) -> bool:
    """A statement with neither a resource test nor a condition: it applies to every
    request of its group."""
    return st.resource_preds is None and not st.conditions


def _allowed_at_root(lay: SideLayout) -> bool | None:
    """The side's decision before any slot is chosen, three-valued exactly as
    `lspolicy.diff.search.Evaluator.decision` gives it on the empty assignment (a statement
    applies there when it is unconditional, and is unknown otherwise)."""
    if any(_unconditional(st) for st in lay.deny):
        return False
    parts: list[bool | None] = [None if lay.deny else True]
    for role in (lay.identity, lay.boundary):
        if role is None:
            continue
        if not role:
            return False
        parts.append(True if any(_unconditional(st) for st in role) else None)
    return None if None in parts else True


def impossible(layout: dict[str, SideLayout], direction: str) -> bool:
    """Whether the case has no solution before any slot is chosen: the search's own first
    test (`lspolicy.diff.search.search` returns at once when the goal is false on the empty
    assignment), answered from the layout alone, so that the case's problem need not be
    built. Three-valued false holds under every completion: no request has the case's
    difference."""
    x, y = ("new", "old") if direction == "new-access" else ("old", "new")
    return _allowed_at_root(layout[x]) is False or _allowed_at_root(layout[y]) is True
