"""IAM policies in terraform ``.tf`` files, read with the HCL2 parser ``python-hcl2``.

Resources: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_policy
(and ``iam_role``, ``iam_role_policy``, ``iam_user_policy``, ``iam_group_policy``, the policy
attachments) and the ``aws_iam_policy_document`` data source, rendered as the AWS provider
renders it (``data_source_iam_policy_document.go``): ``Version`` defaults to ``2012-10-17``,
``Sid`` is always written (``""`` when unset), ``Effect`` defaults to ``Allow``, a list of one
entry is written as a string and a longer one in reverse sorted order, ``&{`` stands for ``${``
in resources, principals and condition values.

Only literal values are evaluated. A reference (``var.x``, ``local.y``,
``aws_s3_bucket.b.arn``), an interpolation, or a function call other than ``jsonencode`` is
carried as a placeholder with a located note (`lspolicy.sources.symbolic`); a policy attribute
that is such an expression as a whole is reported in `Extraction.problems`. Positions come from
the parse tree (``propagate_positions``): every value points at its place in the ``.tf``.
Addresses are those of the file's own module (no ``module.`` prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError

from lspolicy.errors import Problem
from lspolicy.model.policy import PolicyKind
from lspolicy.parse.jsonpos import JsonPath, JsonSyntaxError, LoadedJson, Span, load_json
from lspolicy.sources.hcltext import Interpolation, join, scan_template
from lspolicy.sources.model import Extraction, SourcePolicy
from lspolicy.sources.symbolic import MARK, Notes
from lspolicy.sources.textmap import LineIndex, MappedText, remap
from lspolicy.sources.tree import source_problem

__all__ = ["extract_terraform"]

_SKIP = frozenset({"new_line_or_comment"})
_POLICY_RESOURCES: dict[str, str | None] = {
    "aws_iam_policy": None,
    "aws_iam_role_policy": "role",
    "aws_iam_user_policy": "user",
    "aws_iam_group_policy": "group",
}
_ATTACHMENTS = {
    "aws_iam_role_policy_attachment": ("role",),
    "aws_iam_user_policy_attachment": ("user",),
    "aws_iam_group_policy_attachment": ("group",),
    "aws_iam_policy_attachment": ("roles", "users", "groups"),
}
_REF = re.compile(
    r"^(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)(?:\[[^\]]*\])?(?:\.([a-z_]+))?$"
)

Node = Tree[Token] | Token


@dataclass
class _Block:
    type: str
    labels: tuple[str, ...]
    attrs: dict[str, Tree[Token]]
    blocks: list[_Block]
    node: Tree[Token]


def _trees(node: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in node.children if isinstance(c, Tree) and c.data not in _SKIP]


def _unwrap(node: Tree[Token]) -> Tree[Token]:
    """The expression inside ``expr_term`` wrappers and parentheses."""
    while node.data == "expr_term":
        inner = _trees(node)
        if len(inner) != 1:
            return node
        node = inner[0]
    return node


@dataclass
class _Reader:
    file: str
    text: str
    lines: LineIndex
    problems: list[Problem] = field(default_factory=list)

    # -- positions ------------------------------------------------------------------------

    def span(self, node: Node) -> Span:
        if isinstance(node, Token):
            start, end = node.start_pos or 0, node.end_pos or 0
        else:
            start, end = node.meta.start_pos, node.meta.end_pos
        return self.at(start, end)

    def at(self, start: int, end: int) -> Span:
        line, column = self.lines.position(start)
        end_line, end_column = self.lines.position(end)
        return Span(line, column, end_line, end_column)

    def source(self, node: Tree[Token]) -> str:
        return self.text[node.meta.start_pos : node.meta.end_pos]

    def problem(self, where: str, node: Node | None, message: str, hint: str | None = None) -> None:
        span = self.span(node) if node is not None else None
        self.problems.append(source_problem(self.file, where, span, message, hint))

    # -- structure ------------------------------------------------------------------------

    def block(self, node: Tree[Token]) -> _Block:
        parts = _trees(node)
        head = [p for p in parts if p.data != "body"]
        body = next(p for p in parts if p.data == "body")
        labels = tuple(self.label(p) for p in head)
        attrs: dict[str, Tree[Token]] = {}
        blocks: list[_Block] = []
        for child in _trees(body):
            if child.data == "attribute":
                name_node, expr = _trees(child)[0], _trees(child)[-1]
                attrs[self.label(name_node)] = expr
            elif child.data == "block":
                blocks.append(self.block(child))
        return _Block(labels[0], labels[1:], attrs, blocks, node)

    def label(self, node: Tree[Token]) -> str:
        if node.data == "string":
            return "".join(
                str(t)
                for t in node.scan_values(
                    lambda t: isinstance(t, Token) and t.type == "STRING_CHARS"
                )
            )
        return "".join(str(t) for t in node.scan_values(lambda _t: True))

    # -- values ---------------------------------------------------------------------------

    def string(self, node: Tree[Token]) -> tuple[list[MappedText | Interpolation], int]:
        """The pieces of a quoted string or heredoc, and the file offset of its text's end."""
        start, end = node.meta.start_pos, node.meta.end_pos
        if node.data == "string":
            return scan_template(self.text[start + 1 : end - 1], start + 1, quoted=True), end - 1
        raw = self.text[start:end]
        body_start = raw.index("\n") + 1
        body_end = raw.rstrip("\r\n").rfind("\n") + 1
        body_end = max(body_end, body_start)
        return scan_template(raw[body_start:body_end], start + body_start, quoted=False), (
            start + body_end
        )

    def value(
        self, node: Tree[Token], path: JsonPath, notes: Notes, spans: dict[JsonPath, Span]
    ) -> object:
        """A literal HCL value as JSON (what ``jsonencode`` gives); symbolic parts noted."""
        node = _unwrap(node)
        spans[path] = self.span(node)
        kind = node.data
        if kind in ("string", "heredoc_template", "heredoc_template_trim"):
            pieces, _end = self.string(node)
            interps = [p for p in pieces if isinstance(p, Interpolation)]
            if not interps:
                return "".join(p.text for p in pieces if isinstance(p, MappedText))
            if len(pieces) == 1 or any(p.directive for p in interps):
                return notes.add(path, spans[path], f"{self.source(node)!r}")
            out: list[str] = []
            for p in pieces:
                if isinstance(p, Interpolation):
                    what = f"'${{{p.expression}}}'"
                    out.append(notes.add(path, self.at(p.start, p.end), what, whole=False))
                else:
                    out.append(p.text)
            return "".join(out)
        if kind == "int_lit":
            return int(str(node.children[0]))
        if kind == "float_lit":
            return float(str(node.children[0]))
        if kind == "literal_value":
            return {"true": True, "false": False, "null": None}[str(node.children[0])]
        if kind == "tuple":
            return [self.value(c, (*path, i), notes, spans) for i, c in enumerate(_trees(node))]
        if kind == "object":
            out_obj: dict[str, object] = {}
            for elem in _trees(node):
                key_node, value_node = _trees(elem)[0], _trees(elem)[-1]
                key = self.key(key_node)
                if key is None:
                    key = notes.add(path, self.span(key_node), f"key {self.source(key_node)!r}")
                out_obj[key] = self.value(value_node, (*path, key), notes, spans)
            return out_obj
        return notes.add(path, spans[path], f"{self.source(node)!r}")

    def key(self, node: Tree[Token]) -> str | None:
        inner = _trees(node)
        target = _unwrap(inner[0]) if inner else node
        if target.data in ("identifier", "keyword"):
            return self.label(target)
        if target.data == "string":
            pieces, _end = self.string(target)
            if all(isinstance(p, MappedText) for p in pieces):
                return "".join(p.text for p in pieces if isinstance(p, MappedText))
        return None

    def strings(
        self, node: Tree[Token], path: JsonPath, notes: Notes, spans: dict[JsonPath, Span]
    ) -> list[tuple[str, Span]]:
        """A list-of-strings argument: each entry with its span (symbolic entries noted)."""
        node = _unwrap(node)
        if node.data != "tuple":
            return [(str(self.value(node, path, notes, {})), self.span(node))]
        out: list[tuple[str, Span]] = []
        for item in _trees(node):
            got = self.value(item, path, notes, {})
            out.append((got if isinstance(got, str) else str(got), self.span(_unwrap(item))))
        return out

    # -- a policy attribute -----------------------------------------------------------------

    def policy(self, expr: Tree[Token], name: str) -> tuple[LoadedJson, Notes] | str | None:
        """The document of a policy attribute; a referenced address (``data.x.y``) as text;
        ``None`` (with a problem) when it cannot be read."""
        node = _unwrap(expr)
        notes = Notes(self.file, name)
        if node.data == "function_call":
            parts = _trees(node)
            fname = self.label(parts[0])
            args = [a for p in parts if p.data == "arguments" for a in _trees(p)]
            if fname == "jsonencode" and len(args) == 1:
                spans: dict[JsonPath, Span] = {}
                value = self.value(args[0], (), notes, spans)
                return LoadedJson(value, spans, ()), notes
            self.problem(
                name, node, f"policy of {name!r} is {self.source(node)!r}, which cannot be "
                "resolved statically", "write the document with jsonencode({...}) or a heredoc",
            )  # fmt: skip
            return None
        if node.data in ("string", "heredoc_template", "heredoc_template_trim"):
            return self.policy_text(node, name, notes)
        ref = _REF.match(self.source(node))
        if ref and ref.group(1):
            return f"data.{ref.group(2)}.{ref.group(3)}"
        self.problem(
            name,
            node,
            f"policy of {name!r} is {self.source(node)!r}, which cannot be resolved statically",
        )
        return None

    def policy_text(
        self, node: Tree[Token], name: str, notes: Notes
    ) -> tuple[LoadedJson, Notes] | None:
        pieces, end = self.string(node)
        interps = [p for p in pieces if isinstance(p, Interpolation)]
        if any(p.directive for p in interps):
            first = next(p for p in interps if p.directive)
            self.problems.append(
                source_problem(
                    self.file,
                    name,
                    self.at(first.start, first.end),
                    f"policy of {name!r} uses the template directive '%{{{first.expression}}}', "
                    "which cannot be resolved statically",
                )
            )
            return None
        base = len(notes.notes)
        tokens = [f"{MARK}-{base + k + 1}" for k in range(len(interps))]
        mapped = join(pieces, tokens, end)
        try:
            inner = load_json(mapped.text)
        except JsonSyntaxError as exc:
            offset = LineIndex(mapped.text).offset(exc.line, exc.column)
            at = mapped.origin[min(offset, len(mapped.text))]
            extra = " (an interpolation outside a JSON string cannot be resolved statically)"
            self.problems.append(
                source_problem(
                    self.file,
                    name,
                    self.at(at, at),
                    f"policy of {name!r} is not valid JSON: {exc.message}"
                    + (extra if interps else ""),
                    limit=exc.limit,
                )
            )
            return None
        loaded = remap(inner, mapped, self.lines)
        value = loaded.value
        for k, interp in enumerate(interps):
            path, whole = _find(value, tokens[k], ())
            what = f"'${{{interp.expression}}}'"
            got = notes.add(path or (), self.at(interp.start, interp.end), what, whole=bool(whole))
            if whole and path is not None:
                value = _replace(value, path, got)
        return LoadedJson(value, loaded.spans, loaded.duplicates), notes


def _find(value: object, token: str, path: JsonPath) -> tuple[JsonPath | None, bool]:
    """Where ``token`` is in ``value``: its path, and whether it is the whole string."""
    if isinstance(value, str):
        if token in re.findall(rf"{MARK}-\d+", value):
            return path, value == token
        return None, False
    items: list[tuple[str | int, object]] = (
        list(value.items())
        if isinstance(value, dict)
        else list(enumerate(value))
        if isinstance(value, list)
        else []
    )
    for k, v in items:
        found, whole = _find(v, token, (*path, k))
        if found is not None:
            return found, whole
    return None, False


def _replace(value: object, path: JsonPath, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict) and isinstance(head, str):
        return {k: _replace(v, rest, new) if k == head else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(head, int):
        return [_replace(v, rest, new) if i == head else v for i, v in enumerate(value)]
    return value


def _render_list(items: list[tuple[str, Span]]) -> tuple[object, list[Span]]:
    """The provider's rendering of a set of strings: one -> the string, more -> reverse sorted."""
    unique = dict(items)
    if len(unique) == 1:
        ((v, s),) = unique.items()
        return v, [s]
    ordered = sorted(unique, reverse=True)
    return ordered, [unique[v] for v in ordered]


def _vars(value: str) -> str:
    return value.replace("&{", "${")


class _DocumentRenderer:
    """``data "aws_iam_policy_document"`` -> the JSON the AWS provider writes, with spans."""

    def __init__(self, reader: _Reader, block: _Block, name: str) -> None:
        self.r = reader
        self.block = block
        self.notes = Notes(reader.file, name)
        self.spans: dict[JsonPath, Span] = {(): reader.span(block.node)}
        self.name = name

    def put(self, path: JsonPath, value: object, spans: list[Span], whole: Span) -> None:
        self.spans[path] = whole
        if isinstance(value, list):
            for i, s in enumerate(spans):
                self.spans[(*path, i)] = s
        elif spans:
            self.spans[path] = spans[0]

    def literal(self, attr: str, block: _Block, path: JsonPath) -> str | None:
        node = block.attrs.get(attr)
        if node is None:
            return None
        got = self.r.value(node, path, self.notes, self.spans)
        return got if isinstance(got, str) else str(got)

    def render(self) -> LoadedJson:
        b = self.block
        doc: dict[str, object] = {}
        doc["Version"] = self.literal("version", b, ("Version",)) or "2012-10-17"
        pid = self.literal("policy_id", b, ("Id",))
        if pid:
            doc["Id"] = pid
        for attr in (
            "source_policy_documents",
            "override_policy_documents",
            "source_json",
            "override_json",
        ):
            if attr in b.attrs:
                self.r.problem(
                    f"{self.name}.{attr}", b.attrs[attr],
                    f"{attr} of {self.name!r} merges other documents, which cannot be resolved statically; "
                    "only this block's own statements are read",
                )  # fmt: skip
        for sub in b.blocks:
            if sub.type == "dynamic":
                self.r.problem(
                    self.name, sub.node,
                    f"dynamic block {'.'.join(sub.labels)!r} in {self.name!r} cannot be resolved statically",
                )  # fmt: skip
        statements = [s for s in b.blocks if s.type == "statement"]
        doc["Statement"] = [self.statement(s, ("Statement", i)) for i, s in enumerate(statements)]
        return LoadedJson(doc, self.spans, ())

    def statement(self, s: _Block, path: JsonPath) -> dict[str, object]:
        self.spans[path] = self.r.span(s.node)
        out: dict[str, object] = {"Sid": self.literal("sid", s, (*path, "Sid")) or ""}
        out["Effect"] = self.literal("effect", s, (*path, "Effect")) or "Allow"
        for attr, key, vars_ in (
            ("actions", "Action", False), ("not_actions", "NotAction", False),
            ("resources", "Resource", True), ("not_resources", "NotResource", True),
        ):  # fmt: skip
            node = s.attrs.get(attr)
            if node is None:
                continue
            items = self.r.strings(node, (*path, key), self.notes, self.spans)
            if vars_:
                items = [(_vars(v), sp) for v, sp in items]
            if items:
                value, spans = _render_list(items)
                out[key] = value
                self.put((*path, key), value, spans, self.r.span(node))
        for btype, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            blocks = [p for p in s.blocks if p.type == btype]
            if blocks:
                out[key] = self.principals(blocks, (*path, key))
        conditions = [c for c in s.blocks if c.type == "condition"]
        if conditions:
            out["Condition"] = self.conditions(conditions, (*path, "Condition"))
        return out

    def principals(self, blocks: list[_Block], path: JsonPath) -> object:
        self.spans[path] = self.r.span(blocks[0].node)
        merged: dict[str, list[tuple[str, Span]]] = {}
        where: dict[str, Span] = {}
        for p in blocks:
            ptype = self.literal("type", p, path) or ""
            node = p.attrs.get("identifiers")
            if node is None:
                self.r.problem(
                    self.name, p.node, f"principals block in {self.name!r} has no identifiers"
                )
                continue
            items = self.r.strings(node, (*path, ptype), self.notes, self.spans)
            merged.setdefault(ptype, []).extend((_vars(v), sp) for v, sp in items)
            where.setdefault(ptype, self.r.span(node))
        if list(merged) == ["*"] and {v for v, _ in merged["*"]} == {"*"}:
            return "*"
        out: dict[str, object] = {}
        for ptype, items in merged.items():
            value, spans = _render_list(items)
            out[ptype] = value
            self.put((*path, ptype), value, spans, where[ptype])
        return out

    def conditions(self, blocks: list[_Block], path: JsonPath) -> dict[str, object]:
        self.spans[path] = self.r.span(blocks[0].node)
        out: dict[str, dict[str, list[tuple[str, Span]]]] = {}
        where: dict[JsonPath, Span] = {}
        for c in blocks:
            test = self.literal("test", c, path) or ""
            variable = self.literal("variable", c, (*path, test)) or ""
            node = c.attrs.get("values")
            if node is None:
                self.r.problem(self.name, c.node, f"condition block in {self.name!r} has no values")
                continue
            where.setdefault((test,), self.r.span(c.attrs.get("test", c.node)))
            where.setdefault((test, variable), self.r.span(node))
            items = self.r.strings(node, (*path, test, variable), self.notes, self.spans)
            out.setdefault(test, {}).setdefault(variable, []).extend(
                (_vars(v), sp) for v, sp in items
            )
        rendered: dict[str, object] = {}
        for test, variables in out.items():
            self.spans[(*path, test)] = where[(test,)]
            block: dict[str, object] = {}
            for variable, items in variables.items():
                vpath = (*path, test, variable)
                self.spans[vpath] = where[(test, variable)]
                if len(items) == 1:
                    block[variable] = items[0][0]
                    self.spans[vpath] = items[0][1]
                else:
                    block[variable] = [v for v, _ in items]
                    for i, (_v, sp) in enumerate(items):
                        self.spans[(*vpath, i)] = sp
            rendered[test] = block
        return rendered


def _address(ref: str) -> str | None:
    m = _REF.match(ref.strip())
    if not m:
        return None
    return f"{'data.' if m.group(1) else ''}{m.group(2)}.{m.group(3)}"


def extract_terraform(file: str, text: str) -> Extraction:
    """Every IAM policy in a ``.tf`` file, located in ``file``."""
    text = text.lstrip("\ufeff")
    reader = _Reader(file, text, LineIndex(text))
    try:
        tree = hcl2.parses_to_tree(text)
    except LarkError as exc:
        line, column = getattr(exc, "line", 0) or 0, getattr(exc, "column", 0) or 0
        span = Span(line, column, line, column) if line > 0 else None
        token = getattr(exc, "token", None)
        first = str(exc).strip().splitlines()
        if token is not None and str(token).strip():
            detail = f"unexpected {str(token).splitlines()[0][:40]!r}"
        elif token is not None:
            detail = "unexpected end of file"
        else:
            detail = (first or ["syntax error"])[0]
        problem = source_problem(file, "", span, f"invalid HCL: {detail.lower()}")
        return Extraction("terraform", (), (problem,))
    body = _trees(tree)[0]
    blocks = [reader.block(b) for b in _trees(body) if b.data == "block"]
    resources: dict[str, _Block] = {}
    for b in blocks:
        if b.type == "resource" and len(b.labels) == 2:
            resources[f"{b.labels[0]}.{b.labels[1]}"] = b
        elif b.type == "data" and len(b.labels) == 2:
            resources[f"data.{b.labels[0]}.{b.labels[1]}"] = b
    by_name: dict[str, str] = {}
    for address, b in resources.items():
        if (
            b.labels[0] in ("aws_iam_role", "aws_iam_user", "aws_iam_group", "aws_iam_policy")
            and "name" in b.attrs
        ):
            literal = reader.value(b.attrs["name"], (), Notes(file, ""), {})
            if isinstance(literal, str) and MARK not in literal:
                by_name[f"{b.labels[0]}:{literal}"] = address

    def principals(b: _Block, attr: str, ptype: str) -> list[str]:
        node = b.attrs.get(attr)
        if node is None:
            return []
        inner = _unwrap(node)
        items = _trees(inner) if inner.data == "tuple" else [inner]
        out: list[str] = []
        for item in items:
            target = _address(reader.source(_unwrap(item)))
            if target is not None:
                out.append(target)
                continue
            literal = reader.value(item, (), Notes(file, ""), {})
            if isinstance(literal, str) and MARK not in literal:
                out.append(by_name.get(f"{ptype}:{literal}", literal))
            else:
                reader.problem(f"{b.labels[0]}.{b.labels[1]}.{attr}", item,
                    "the principal this policy is attached to cannot be resolved statically")  # fmt: skip
        return out

    attached: dict[str, list[str]] = {}
    for address, b in resources.items():
        if b.labels[0] in _ATTACHMENTS and not address.startswith("data."):
            arn = b.attrs.get("policy_arn")
            policy = _address(reader.source(_unwrap(arn))) if arn is not None else None
            if policy is None:
                continue
            for attr in _ATTACHMENTS[b.labels[0]]:
                attached.setdefault(policy, []).extend(
                    principals(b, attr, "aws_iam_" + attr.rstrip("s"))
                )

    found: list[tuple[str, PolicyKind, tuple[LoadedJson, Notes], list[str]]] = []
    data_uses: dict[str, list[tuple[PolicyKind, list[str]]]] = {}

    def add(expr: Tree[Token], name: str, kind: PolicyKind, to: list[str]) -> None:
        got = reader.policy(expr, name)
        if isinstance(got, str):
            data_uses.setdefault(got, []).append((kind, to))
            if got not in resources:
                reader.problem(
                    name,
                    expr,
                    f"policy of {name!r} is {got + '.json'!r}, which is not in this file and cannot be resolved statically",
                )
        elif got is not None:
            found.append((name, kind, got, to))

    for address, b in resources.items():
        rtype = b.labels[0]
        if address.startswith("data."):
            continue
        if rtype in _POLICY_RESOURCES:
            who = _POLICY_RESOURCES[rtype]
            to = principals(b, who, "aws_iam_" + who) if who else []
            to += attached.get(address, [])
            if "policy" in b.attrs:
                add(b.attrs["policy"], address, "identity", to)
            else:
                reader.problem(address, b.node, f"{address!r} has no policy")
        elif rtype == "aws_iam_role":
            if "assume_role_policy" in b.attrs:
                add(
                    b.attrs["assume_role_policy"],
                    f"{address}.assume_role_policy",
                    "resource",
                    [address],
                )
            else:
                reader.problem(address, b.node, f"{address!r} has no assume_role_policy")
            inline = [x for x in b.blocks if x.type == "inline_policy"]
            for i, ib in enumerate(inline):
                if "policy" in ib.attrs:
                    add(ib.attrs["policy"], f"{address}.inline_policy[{i}]", "identity", [address])
    for address, b in resources.items():
        if address.startswith("data.") and b.labels[0] == "aws_iam_policy_document":
            uses = data_uses.get(address, [])
            kind: PolicyKind = "resource" if any(k == "resource" for k, _ in uses) else "identity"
            to = [p for _k, who in uses for p in who]
            renderer = _DocumentRenderer(reader, b, address)
            found.append((address, kind, (renderer.render(), renderer.notes), to))
    policies = tuple(
        SourcePolicy(
            file, name, "terraform", kind, loaded, tuple(dict.fromkeys(to)), tuple(notes.notes)
        )
        for name, kind, (loaded, notes), to in found
    )
    return Extraction("terraform", policies, tuple(reader.problems))
