"""The escalation search's class witnesses held by columns (issue 11 §3: < 4 GB for the whole
organization).

A witness row is ``(principal class, instance class, bits, like bits, witness)``, where the
witness is the fields of `lspolicy.account.review.Escalation` for the class representatives
(`Witness`). As one Python tuple per row, each row costs ~250 bytes (two tuples and the boxed
class ids): ~0.8 GB for the ~3 million rows of the full synthetic organization, held by the pool
worker that found them, pickled, and held again by the driver. `WitnessTable` holds each row as
seven 4-byte ids instead: the four numbers, the two instance ARNs as ids into ``arns`` and the
rest of the witness (tags to set and remove, the roles, conditional: few distinct values) as an
id into ``tails``, each distinct value held once. As a sequence it gives the rows as tuples,
equal to those appended, in order.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

__all__ = ["Witness", "WitnessRow", "WitnessTable"]

Witness = tuple[
    str, str, tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], bool
]
"""An escalation of a class representative: the fields of `Escalation` but the principal
(the instance, the like instance, the tags to set and remove, the tagging and stopping roles,
and whether it is conditional)."""
WitnessRow = tuple[int, int, int, int, Witness]
"""``(principal class, instance class, bits, like bits, witness)``."""
_Tail = tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], bool]

_COLUMNS = ("pclass", "iclass", "bits", "like_bits", "instance", "like", "tail")


class WitnessTable(Sequence[WitnessRow]):
    """Witness rows by columns (see the module): ``append``/``extend`` intern the values,
    ``[n]`` rebuilds row ``n``. Pickles as its columns and distinct values only."""

    __slots__ = ("_arn_ids", "_tail_ids", "arns", "tails", *_COLUMNS)

    def __init__(self, rows: Iterable[WitnessRow] = ()) -> None:
        self.pclass, self.iclass = array("i"), array("i")
        self.bits, self.like_bits = array("i"), array("i")
        self.instance, self.like, self.tail = array("i"), array("i"), array("i")
        self.arns: list[str] = []
        self.tails: list[_Tail] = []
        self._arn_ids: dict[str, int] = {}
        self._tail_ids: dict[_Tail, int] = {}
        for row in rows:
            self.append(*row)

    def _arn(self, arn: str) -> int:
        got = self._arn_ids.get(arn)
        if got is None:
            got = self._arn_ids[arn] = len(self.arns)
            self.arns.append(arn)
        return got

    def _tail(self, tail: _Tail) -> int:
        got = self._tail_ids.get(tail)
        if got is None:
            got = self._tail_ids[tail] = len(self.tails)
            self.tails.append(tail)
        return got

    def append(self, pc: int, ic: int, bits: int, like_bits: int, witness: Witness) -> None:
        """Add a row at the end."""
        self.pclass.append(pc)
        self.iclass.append(ic)
        self.bits.append(bits)
        self.like_bits.append(like_bits)
        self.instance.append(self._arn(witness[0]))
        self.like.append(self._arn(witness[1]))
        self.tail.append(self._tail(witness[2:]))

    def extend(self, other: Iterable[WitnessRow]) -> None:
        """Add rows at the end; another table's by columns (its values re-interned)."""
        if not isinstance(other, WitnessTable):
            for row in other:
                self.append(*row)
            return
        arns = array("i", [self._arn(a) for a in other.arns])
        tails = array("i", [self._tail(t) for t in other.tails])
        self.pclass.extend(other.pclass)
        self.iclass.extend(other.iclass)
        self.bits.extend(other.bits)
        self.like_bits.extend(other.like_bits)
        self.instance.extend(array("i", map(arns.__getitem__, other.instance)))
        self.like.extend(array("i", map(arns.__getitem__, other.like)))
        self.tail.extend(array("i", map(tails.__getitem__, other.tail)))

    def __len__(self) -> int:
        return len(self.pclass)

    def _row(self, n: int) -> WitnessRow:
        arns = self.arns
        witness: Witness = (arns[self.instance[n]], arns[self.like[n]], *self.tails[self.tail[n]])
        return (self.pclass[n], self.iclass[n], self.bits[n], self.like_bits[n], witness)

    @overload
    def __getitem__(self, n: int) -> WitnessRow: ...
    @overload
    def __getitem__(self, n: slice) -> list[WitnessRow]: ...
    def __getitem__(self, n: int | slice) -> WitnessRow | list[WitnessRow]:
        if isinstance(n, slice):
            return [self._row(i) for i in range(*n.indices(len(self)))]
        if n < 0:
            n += len(self)
        if not 0 <= n < len(self):
            raise IndexError("witness row out of range")
        return self._row(n)

    def __iter__(self) -> Iterator[WitnessRow]:
        return (self._row(n) for n in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"WitnessTable({len(self)} rows, {len(self.arns)} ARNs, {len(self.tails)} tails)"

    def __getstate__(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in (*_COLUMNS, "arns", "tails")}

    def __setstate__(self, state: dict[str, object]) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self._arn_ids = {a: i for i, a in enumerate(self.arns)}
        self._tail_ids = {t: i for i, t in enumerate(self.tails)}

    @classmethod
    def of(cls, rows: Sequence[WitnessRow]) -> WitnessTable:
        """``rows`` as a table (itself when it is one)."""
        return rows if isinstance(rows, WitnessTable) else cls(rows)
