"""Where each ``[[table]]`` entry of a TOML file starts: ``tomllib`` gives values, no positions.

Findings about a configuration file (an unused suppression, LSP903) point at the entry's header
line, as findings about a policy point at its JSON. Only what lspolicy's configs use is read:
array-of-tables headers (``[[suppress]]``, ``[[tool.lspolicy.suppress]]``) and, for an inline
array (``suppress = [{...}]``), the line of its key.
"""

from __future__ import annotations

import re

__all__ = ["entry_positions"]


def entry_positions(text: str, name: str) -> list[tuple[int, int]]:
    """The 1-based (line, column) of each entry of the array of tables ``name`` (its last dotted
    part, under the file's top level or ``tool.lspolicy``), in file order."""
    key = re.escape(name)
    header = re.compile(rf"^(\s*)\[\[\s*(?:tool\s*\.\s*lspolicy\s*\.\s*)?{key}\s*\]\]")
    inline = re.compile(rf"^(\s*)(?:\"{key}\"|{key})\s*=\s*\[")
    headers: list[tuple[int, int]] = []
    fallback: list[tuple[int, int]] = []
    for number, line in enumerate(text.splitlines(), 1):
        found = header.match(line)
        if found is not None:
            headers.append((number, len(found.group(1)) + 1))
        elif (other := inline.match(line)) is not None:
            fallback.append((number, len(other.group(1)) + 1))
    return headers or fallback
