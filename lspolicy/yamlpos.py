"""YAML text to JSON-like values plus the span of every value, read safely and bounded.

PyYAML's composer gives each node its start and end mark; we build plain values from the nodes
ourselves, so nothing in the file decides what Python code runs:

- tags are data: only YAML's core tags and the tags the caller lists (CloudFormation's ``!Ref``
  and friends) are accepted; any other tag (``!!python/object``...) is refused, located;
- aliases are counted, not expanded blindly: the expanded size of the document is kept as it is
  composed, and a file whose aliases would expand past `MAX_NODES` nodes (a "billion laughs"
  of a few hundred bytes) fails at the alias that crosses the budget, before any expansion;
  an alias of its own enclosing anchor (a cycle) is refused;
- nesting deeper than `MAX_DEPTH` levels, a mapping that repeats a key, more than one
  document, and text over the byte limit are refused, each with a line and column.

Scalars follow YAML 1.1 as PyYAML resolves them (``true``/``yes``, ``null``/``~``, numbers),
except timestamps, which stay strings (``Version: 2012-10-17`` means the string, as
CloudFormation reads it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import yaml
import yaml.reader
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from lspolicy.parse.jsonpos import JsonPath, LoadedJson, Span

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "TagHandler",
    "YamlError",
    "check_bounds",
    "load_yaml",
]

MAX_BYTES = 4 << 20
"""4 MiB: four times CloudFormation's largest template (1 MB, from S3)."""
MAX_DEPTH = 64
MAX_NODES = 200_000
"""Nodes after alias expansion; real templates have a few thousand."""

TagHandler = Callable[[object], object]
"""Turns the plain value of a tagged node into its meaning (``!Ref X`` -> ``{"Ref": "X"}``)."""

_CORE = "tag:yaml.org,2002:"


class YamlError(ValueError):
    """The text is not YAML lspolicy reads; ``line``/``column`` (1-based) say where."""

    def __init__(
        self, message: str, line: int, column: int, path: JsonPath = (), *, limit: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.path = path
        self.limit = limit
        """True when the text went past one of lspolicy's input limits (size, nodes after alias
        expansion, nesting, number length) rather than breaking YAML's own rules."""


def _mark_error(message: str, mark: Any, path: JsonPath = (), *, limit: bool = False) -> YamlError:
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return YamlError(message, line, column, path, limit=limit)


class _BoundedComposer(Composer):
    """PyYAML's composer with a depth limit and a running count of the expanded size."""

    max_nodes = MAX_NODES
    max_depth = MAX_DEPTH

    def __init__(self) -> None:
        super().__init__()
        self._sizes: dict[int, int] = {}
        self._expanded = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        events: Any = self  # the parser half of the loader
        if events.check_event(AliasEvent):
            event = events.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise _mark_error(
                        f"alias '*{event.anchor}' refers to a node that contains it",
                        event.start_mark,
                    )
                self._expanded += size
                if self._expanded > self.max_nodes:
                    raise _mark_error(
                        f"aliases expand the document past {self.max_nodes} nodes "
                        f"(alias '*{event.anchor}')",
                        event.start_mark,
                        limit=True,
                    )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self.max_depth:
            raise _mark_error(
                f"nesting deeper than {self.max_depth} levels",
                events.peek_event().start_mark,
                limit=True,
            )
        node = super().compose_node(parent, index)
        if node is None:
            return None
        self._depth -= 1
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self._sizes.get(id(c), 1) for c in node.value)
        elif isinstance(node, MappingNode):
            size += sum(
                self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value
            )
        self._sizes[id(node)] = size
        self._expanded += 1
        if self._expanded > self.max_nodes:
            raise _mark_error(
                f"document has more than {self.max_nodes} nodes", node.start_mark, limit=True
            )
        return node


class _Loader(Reader, Scanner, Parser, _BoundedComposer, Resolver):
    """Reads events and composes nodes; constructs nothing."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        Resolver.__init__(self)


def _span(node: Node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1)


_TRUE = ("yes", "true", "on", "y")


def _scalar(node: ScalarNode, tag: str) -> object:
    text: str = node.value
    kind = tag.removeprefix(_CORE)
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() in _TRUE
    if kind == "int":
        digits = text.replace("_", "")
        body = digits.lstrip("+-")
        if body.isdigit() and (body == "0" or not body.startswith("0")):
            return int(digits)
        return text
    if kind == "float":
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    return text


class _Builder:
    def __init__(self, tags: Mapping[str, TagHandler]) -> None:
        self.tags = tags
        self.spans: dict[JsonPath, Span] = {}

    def value(self, node: Node, path: JsonPath) -> object:
        self.spans[path] = _span(node)
        tag: str = node.tag
        handler = self.tags.get(tag)
        custom = not tag.startswith(_CORE)
        if custom and handler is None:
            raise _mark_error(f"unsupported tag {tag!r}", node.start_mark, path)
        if not custom and tag.removeprefix(_CORE) not in (
            "str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge", "value",
        ):  # fmt: skip
            raise _mark_error(f"unsupported tag {tag!r}", node.start_mark, path)
        result: object
        if isinstance(node, ScalarNode):
            try:
                result = node.value if custom else _scalar(node, tag)
            except ValueError:  # an integer past Python's 4,300-digit conversion limit
                _check_number(node.value, node.style, node.start_mark, path)
                raise
        elif isinstance(node, SequenceNode):
            result = [self.value(child, (*path, i)) for i, child in enumerate(node.value)]
        else:
            assert isinstance(node, MappingNode)
            out: dict[str, object] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise _mark_error(
                        "a mapping key must be a plain value", key_node.start_mark, path
                    )
                key = str(key_node.value)
                if key in out:
                    raise _mark_error(f"duplicate key {key!r}", key_node.start_mark, (*path, key))
                out[key] = self.value(value_node, (*path, key))
            result = out
        return handler(result) if handler is not None else result


def _yaml_error(text: str, exc: yaml.MarkedYAMLError | yaml.reader.ReaderError) -> YamlError:
    """PyYAML's error as ours, at its line and column."""
    if isinstance(exc, yaml.reader.ReaderError):
        return _reader_error(text, exc)
    message = " ".join(p for p in (exc.context, exc.problem) if p)
    return _mark_error(message or "invalid YAML", exc.problem_mark)


def _reader_error(text: str, exc: yaml.reader.ReaderError) -> YamlError:
    """A character YAML does not allow (NUL, other control characters), where it is."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    character = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
    return YamlError(f"character {character!r} is not allowed in YAML", line, column)


def load_yaml(
    text: str, *, tags: Mapping[str, TagHandler] | None = None, max_bytes: int = MAX_BYTES
) -> LoadedJson:
    """Decode one YAML document into JSON-like values with the span of each by path.

    ``tags`` maps the application tags accepted (``"!Ref"``) to what they mean. Raises
    `YamlError` (with line and column) for anything refused; an empty document is ``None``.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise YamlError(
            f"text is {size} bytes, over the {max_bytes} lspolicy reads", 0, 0, limit=True
        )
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except YamlError:
        raise
    except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as exc:
        raise _yaml_error(text, exc) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return LoadedJson(None, {}, ())
    builder = _Builder(tags or {})
    value = builder.value(node, ())
    return LoadedJson(value, builder.spans, ())


MAX_NUMBER_DIGITS = 1000
"""Far beyond any id or count; Python refuses to convert integers past 4,300 digits anyway."""


def _check_number(value: str, style: str | None, mark: Any, path: JsonPath = ()) -> None:
    """Refuse an unquoted number too long to be one lspolicy reads, where it stands."""
    if not style and len(value) > MAX_NUMBER_DIGITS and value.lstrip("+-").isdigit():
        raise _mark_error(
            f"a number of {len(value)} digits is longer than lspolicy reads "
            f"({MAX_NUMBER_DIGITS}); quote it if it is text",
            mark,
            path,
            limit=True,
        )


def check_bounds(text: str, *, max_nodes: int | None = None, duplicate_keys: bool = True) -> None:
    """Refuse, with a line and column, YAML whose aliases would expand it past ``max_nodes``
    nodes (default: the larger of `MAX_NODES` and the text's length, so the expanded document
    stays linear in the file), that nests deeper than `MAX_DEPTH`, whose alias names a node
    that contains it, that repeats a key in one mapping (YAML decoders keep the last silently),
    or that holds an unquoted number too long to read. ``duplicate_keys=False`` leaves repeated
    keys to a caller that reports them itself (with their paths).

    For callers that then decode with libyaml for speed: this reads the parser's *events*, one
    at a time (libyaml's parser keeps its own stack, so deep nesting is met here, before any
    recursive composition), and counts each alias as the size of the node it repeats.
    """
    budget = max_nodes if max_nodes is not None else max(MAX_NODES, len(text))
    loader: Any = None
    sizes: dict[str, int | None] = {}
    # per open collection: [size so far, anchor, keys seen (a mapping) or None, children]
    stack: list[list[Any]] = []
    total = 0
    node_events = (yaml.ScalarEvent, AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        while loader.check_event():
            event = loader.get_event()
            if stack and isinstance(event, node_events):
                parent = stack[-1]
                parent[3] += 1
                keys = parent[2]
                if (
                    duplicate_keys
                    and keys is not None
                    and parent[3] % 2
                    and isinstance(event, yaml.ScalarEvent)
                ):
                    if event.value in keys:
                        raise _mark_error(f"duplicate key {event.value!r}", event.start_mark)
                    keys.add(event.value)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise _mark_error(
                        f"nesting deeper than {MAX_DEPTH} levels", event.start_mark, limit=True
                    )
                if event.anchor is not None:
                    sizes[event.anchor] = None  # open: an alias to it now is a cycle
                keys_of: set[str] | None = (
                    set() if isinstance(event, yaml.MappingStartEvent) else None
                )
                stack.append([1, event.anchor, keys_of, 0])
                continue
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                size, anchor, _, _ = stack.pop()
                if anchor is not None:
                    sizes[anchor] = size
                if stack:
                    stack[-1][0] += size
                continue
            if isinstance(event, yaml.ScalarEvent):
                _check_number(event.value, event.style, event.start_mark)
                grown = 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, AliasEvent):
                known = sizes.get(event.anchor or "", 0)
                if known is None:
                    raise _mark_error(
                        f"alias '*{event.anchor}' refers to a node that contains it",
                        event.start_mark,
                    )
                grown = known
            else:
                continue
            total += grown
            if total > budget:
                raise _mark_error(
                    f"aliases expand the document past {budget} nodes",
                    event.start_mark,
                    limit=True,
                )
            if stack:
                stack[-1][0] += grown
    except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as exc:
        raise _yaml_error(text, exc) from None
    finally:
        if loader is not None:
            loader.dispose()
