"""Compile a per-action plan of statements into one Python function (the hot path).

For each (policy set, action) the evaluator knows which statements can apply. Instead of looping
over statement objects and calling a closure per resource check and per condition, this module
writes one function whose body is the whole decision — deny checks, then allows, then the
boundary — with the common checks inlined (a set lookup for ``StringEquals``, a memo lookup for
resource patterns, a single comparison for a one-value operator). Everything else calls the
statement's precompiled predicate, so the semantics stay in one place (`clause`, `statement`).

Safety: the generated source contains only identifiers, operators and literals that this module
writes itself. Every value that comes from a policy (keys, strings, sets, compiled patterns) is
passed in through the function's namespace under a generated name (``n0``, ``n1``...), never
spliced into source text, so no policy content can change the code that runs.

Shared by shape: since no policy value is in the source, the source is the plan's *shape* (which
tests, in which order, on which of its namespace names); plans of one shape share one compiled
code object (`_CODE`, keyed by the source), each executed into its own namespace. Compiling is
most of what generating a function costs, so a plan whose shape was seen costs only writing its
source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, FunctionType
from typing import Any

from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.evaluate.statement import CompiledStatement
from lspolicy.model.request import value_strings

__all__ = [
    "Decider",
    "Layers",
    "compile_decider",
    "compile_layered_decider",
    "generic_decider",
    "layerable",
    "layered_variant",
    "never",
    "raw_decider",
    "statement_predicates",
]

Context = Mapping[str, Sequence[str]]
_LAYERED_LOOKUPS = 12
Decider = Callable[..., bool]
"""``decide(resource, context, caller=None) -> bool``."""


@dataclass(frozen=True, slots=True)
class Layers:
    """A per-action plan's statements by layer: what every function here compiles. Denies of
    every layer, in the order they are matched; the identity Allows; the boundary's, the
    session policy's (None: no such policy), each SCP level's, and the resource-based
    policy's Allows (None: no resource-based policy)."""

    denies: Sequence[CompiledStatement]
    allows: Sequence[CompiledStatement]
    boundary: Sequence[CompiledStatement] | None = None
    session: Sequence[CompiledStatement] | None = None
    scps: Sequence[Sequence[CompiledStatement]] = ()
    resource: Sequence[CompiledStatement] | None = None


_CODE: dict[str, CodeType] = {}
"""Generated source -> its compiled module (bounded): one compile per shape."""
_CODE_LIMIT = 4096
_PREDICATES: dict[str, CodeType] = {}
"""A statement predicate's source -> its function's code (bounded): one compile per shape."""
SHAPES = {"compiled": 0, "shared": 0}
"""How many functions were compiled and how many reused a compiled shape (for tests and
benchmarks)."""


def _define(source: str, namespace: dict[str, Any], filename: str) -> None:
    """Execute ``source`` into ``namespace`` (its constants), compiling it only if no source
    of the same text (shape) was compiled before."""
    code = _CODE.get(source)
    if code is None:
        code = compile(source, filename, "exec")
        if len(_CODE) >= _CODE_LIMIT:
            _CODE.clear()
        _CODE[source] = code
        SHAPES["compiled"] += 1
    else:
        SHAPES["shared"] += 1
    exec(code, namespace)  # see the module docstring


class _NotLayered(Exception):
    """The plan's layered function would make too many lookups or read the whole context."""


class _Writer:
    def __init__(self, *, layered: bool = False, raw: bool = False) -> None:
        self.namespace: dict[str, Any] = {}
        self._ids: dict[int, str] = {}
        self._temps = 0
        self.layered = layered
        """Context lookups read three mappings, the request's own keys (``x``), the
        instance's (``c``) and the principal's (``p``), the first that has the key winning:
        the merged context without merging (`compile_layered_decider`)."""
        self.raw = raw
        """Context lookups read the request's own keys as given (``x``, through ``m``: lower-case
        key -> the name given, for the keys the plan reads), normalised when read, then the
        instance's values (``c``), then the principal's (``pv``): `raw_decider`'s predicates."""
        self.lookups = 0
        """Context lookups written (`get`)."""
        self.reads_whole_context = False
        """Some test needs the whole context as one mapping (a condition the writer does not
        inline, a Resource with policy variables)."""

    def get(self, key: str) -> str:
        """The expression for the context's values of the namespace name ``key`` (None when
        absent)."""
        self.lookups += 1
        if self.raw:
            # ``v``: the name the request gives the key, ``w``: its value (``N`` names the
            # key in its error: `value_strings`)
            v, w, t = self.temp(), self.temp(), self.temp()
            own = f"(None if ({v} := m.get({key})) is None else (({w},) if ({w} := x[{v}]).__class__ is str else N({w}, {v})))"
            return f"({t} if ({t} := {own}) is not None else ({t} if ({t} := c.get({key})) is not None else pv.get({key})))"
        if not self.layered:
            return f"c.get({key})"
        if self.lookups > _LAYERED_LOOKUPS:
            raise _NotLayered  # `compile_layered_decider` gives up: no need to write the rest
        t = self.temp()
        return f"({t} if ({t} := x.get({key})) is not None else ({t} if ({t} := c.get({key})) is not None else p.get({key})))"

    def whole_context(self) -> str:
        """The expression of the whole (merged) context, for a test that reads it as one
        mapping: built by ``M`` in a raw predicate."""
        self.reads_whole_context = True
        if self.layered:
            raise _NotLayered
        return "M(x, m, c, pv)" if self.raw else "c"

    def const(self, value: Any) -> str:
        """A namespace name bound to ``value`` (shared by identity)."""
        name = self._ids.get(id(value))
        if name is None:
            name = f"n{len(self.namespace)}"
            self.namespace[name] = value
            self._ids[id(value)] = name
        return name

    def temp(self) -> str:
        self._temps += 1
        return f"t{self._temps}"

    def condition(self, cond: CompiledCondition) -> str:
        shape = cond.shape
        missing = "True" if (cond.if_exists or cond.negated) else "False"
        kind = shape[0]
        if kind == "memo":
            key, seen, compute = self.const(cond.key), self.const(shape[2]), self.const(shape[3])
            vals, hit = self.temp(), self.temp()
            return (
                f"({shape[1]!r} if ({vals} := {self.get(key)}) is None "
                f"else ({hit} if ({hit} := {seen}({vals})) is not None else {compute}({vals})))"
            )
        if kind == "null":
            # Null: "true" holds when the key is absent (or has no values), "false" when present
            wants = shape[1]
            if not wants:
                return "False"
            if len(wants) == 2:
                return "True"
            absent = f"not {self.get(self.const(cond.key))}"
            return f"({absent})" if True in wants else f"(not ({absent}))"
        if cond.qualifier is None and kind in ("set", "single", "variable"):
            key = self.const(cond.key)
            vals = self.temp()
            if kind == "set":
                wanted = self.const(shape[1])
                if shape[2]:  # ignore case
                    test = f"any(x.lower() in {wanted} for x in {vals})"
                else:
                    test = f"not {wanted}.isdisjoint({vals})"
            elif kind == "single":
                only, fn = self.const(shape[1]), self.const(shape[2])
                test = (
                    f"({fn}({only}, {vals}[0]) if len({vals}) == 1 "
                    f"else any({fn}({only}, x) for x in {vals}))"
                )
            else:
                var = shape[1]
                vkey = self.const(var.key)
                got = self.temp()
                if var.default is None:
                    test = f"(({got} := {self.get(vkey)}) is not None and len({got}) == 1 and {got}[0] in {vals})"
                else:
                    default = self.const(var.default)
                    test = (
                        f"(({got}[0] in {vals}) if ({got} := {self.get(vkey)}) and len({got}) == 1 "
                        f"else (not {got} and {default} in {vals}))"
                    )
            if cond.negated:
                test = f"not ({test})"
            return f"({missing} if ({vals} := {self.get(key)}) is None else {test})"
        return f"{self.const(cond.holds)}({self.whole_context()})"

    def statement(self, st: CompiledStatement) -> str:
        parts: list[str] = []
        shape = st.resource_shape
        kind = shape[0]
        if kind == "dynamic":
            # the statement's own matcher, which already applies NotResource's negation
            parts.append(f"{self.const(st.resource_match)}(r, {self.whole_context()})")
        elif kind == "any":
            if st.resource_negated:
                parts.append("False")  # NotResource "*" excludes every resource
        else:
            if kind == "exact":
                resource = f"r in {self.const(shape[1])}"
            else:  # memo: the un-negated matcher remembers its verdict per ARN
                seen, compute = self.const(shape[1]), self.const(shape[2])
                hit = self.temp()
                resource = f"({compute}(r, c) if ({hit} := {seen}(r)) is None else {hit})"
            parts.append(f"not ({resource})" if st.resource_negated else resource)
        parts.extend(self.condition(cond) for cond in st.conditions)
        return "(" + " and ".join(parts) + ")" if parts else "True"


def _any(w: _Writer, sts: Sequence[CompiledStatement]) -> str:
    """One statement applies; ``True`` when one always does (the rest need not be written)."""
    tests = []
    for st in sts:
        test = w.statement(st)
        if test == "True":
            return "True"
        tests.append(test)
    return " or ".join(tests) if tests else "False"


def _body(w: _Writer, layers: Layers) -> list[str]:
    denies, allows, boundary = layers.denies, layers.allows, layers.boundary
    session, scps, resource = layers.session, layers.scps, layers.resource
    lines: list[str] = []
    for st in denies:
        test = w.statement(st)
        if st.principal is not None or st.not_principal is not None:
            test = f"({w.const(st.grant)}(k) and {test})"
        if test == "True":  # a Deny that always applies: nothing after it matters
            return [*lines, "    return False"]
        lines.append(f"    if {test}:")
        lines.append("        return False")
    for level in scps:
        test = _any(w, level)
        if test == "False":
            return [*lines, "    return False"]
        if test != "True":
            lines.append(f"    if not ({test}):")
            lines.append("        return False")
    checks: list[tuple[str, Sequence[CompiledStatement] | None]] = [
        ("i", allows),
        ("b", boundary),
        ("s", session),
    ]
    if resource is None:
        for _name, sts in checks:
            if sts is None:
                continue
            test = _any(w, sts)
            if test == "False":
                return [*lines, "    return False"]
            if test != "True":
                lines.append(f"    if not ({test}):")
                lines.append("        return False")
        lines.append("    return True")
        return lines
    # the most direct grant among the resource-based statements that apply
    lines.append("    gr = 0")
    for st in resource:
        grant = w.const(st.grant)
        t = w.temp()
        lines.append(f"    if {w.statement(st)} and ({t} := {grant}(k)) > gr:")
        lines.append(f"        gr = {t}")
    # GrantKind: SESSION 4 and EVERYONE 5 allow alone; USER 3 needs the session policy;
    # ROLE 2 the boundary and the session policy; otherwise identity, boundary, session
    for name, sts in checks:
        if sts is None:
            lines.append(f"    {name} = True")
        else:
            lines.append(f"    {name} = lambda: {_any(w, sts)}")
    lines.append("    if gr >= 4:")
    lines.append("        return True")
    lines.append("    if gr == 3:")
    lines.append("        return s is True or s()")
    lines.append("    if gr == 2:")
    lines.append("        return (b is True or b()) and (s is True or s())")
    lines.append("    return i() and (b is True or b()) and (s is True or s())")
    return lines


def compile_decider(
    layers: Layers,
) -> Decider:
    """``decide(resource, context, caller) -> bool`` over every layer of a per-action plan.

    The decision logic of `lspolicy.evaluate.authorize` for a caller in the resource's account
    who is not the account root (those requests take the general path): an applying Deny
    anywhere denies; every SCP level must allow; then a resource-based grant, the identity
    policies, the boundary and the session policy combine as ``_same_account_allows`` says.
    A statement with ``Principal``/``NotPrincipal`` applies only when its ``grant(caller)`` is
    not ``NONE`` (the statement's own method: the semantics stay in `statement`).
    """
    w = _Writer()
    lines = ["def decide(r, c, k=None):"]
    body = _body(w, layers)
    lines.extend(body)
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = dict(w.namespace)
    _define(source, namespace, "<lspolicy plan>")
    decide: Decider = namespace["decide"]
    decide.__doc__ = source  # the generated code, for debugging and review
    return decide


def _layered_body(
    layers: Layers,
) -> tuple[_Writer, list[str]] | None:
    """The layered function's writer and body lines (`compile_layered_decider`), or None
    where it gives up (`_NotLayered`): written, not compiled."""
    w = _Writer(layered=True)
    try:
        body = _body(w, layers)
    except _NotLayered:
        return None
    return w, body


def compile_layered_decider(
    layers: Layers,
) -> Callable[..., bool] | None:
    """`compile_decider`'s decision as ``decide(resource, x, c, p, caller=None)`` over the
    context ``{**p, **c, **x}`` without building it: each lookup reads ``x`` (the request's
    own keys), then ``c`` (the instance's), then ``p`` (the principal's). None when some
    test needs the whole context as one mapping, or when the plan makes more than
    ``_LAYERED_LOOKUPS`` lookups: each costs up to three ``get`` calls instead of one, which
    outweighs not merging the mappings (measured: a 30-statement plan ran slower layered)."""
    written = _layered_body(layers)
    if written is None:
        return None
    w, body = written
    lines = ["def decide(r, x, c, p, k=None):"]
    lines.extend(body)
    # the same decision for a request whose own keys the plan does not read (most requests
    # of a batch): each lookup reads the instance's values, then the principal's
    bare = [_BARE.sub(r"\3", line) for line in body]
    if any("x.get(" in line for line in bare):  # not every lookup is the layered one
        bare = ["    return decide(r, {}, c, p, k)"]
    lines += ["def bare(r, c, p, k=None):", *bare]
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = dict(w.namespace)
    _define(source, namespace, "<lspolicy layered plan>")
    decide: Callable[..., bool] = namespace["decide"]
    decide.__doc__ = source
    decide.bare = namespace["bare"]  # type: ignore[attr-defined]
    decide.body = body  # type: ignore[attr-defined]
    return decide


def layerable(
    layers: Layers,
) -> bool:
    """Whether `compile_layered_decider` would give a function for this plan (its source is
    written up to the point where it gives up; nothing is compiled)."""
    written = _layered_body(layers)
    return written is not None


def layered_variant(decide: Callable[..., bool], keys: Mapping[str, str]) -> Callable[..., bool]:
    """``decide`` (from `compile_layered_decider`) for requests whose own keys the plan reads
    are exactly ``keys`` (lower case -> the name the request gives it under): a lookup of one
    of them reads the request's own mapping, as given, by that name (normalised as
    `context_values` does), any other the instance's values, then the principal's. The same
    answers; the request's own keys need not be normalised into a mapping first. Compiled
    once per shape (`_define`)."""
    namespace: dict[str, Any] = decide.__globals__
    space = {k: v for k, v in namespace.items() if k[:1] == "n"}
    names: dict[str, str] = {}

    def lookup(m: re.Match[str]) -> str:
        name = keys.get(namespace[m.group(2)])
        if name is None:
            return m.group(3)
        const = names.get(name)
        if const is None:
            const = names[name] = f"s{len(names)}"
            space[const] = name
        t = m.group(1)
        return f"(({t},) if ({t} := x[{const}]).__class__ is str else N({t}, {const}))"

    body = [_BARE.sub(lookup, line) for line in decide.body]  # type: ignore[attr-defined]
    if any("x.get(" in line for line in body):
        # not every lookup is the layered one: ``decide`` on the keys normalised
        def normalised(r: str, x: Any, c: Context, p: Context, k: Any = None) -> bool:
            own = {
                lower: (v,) if (v := x[name]).__class__ is str else value_strings(v, name)
                for lower, name in keys.items()
            }
            return decide(r, own, c, p, k)

        return normalised
    source = "\n".join(["def variant(r, x, c, p, k=None):", *body])
    space["N"] = value_strings
    _define(source + "\n", space, "<lspolicy layered plan>")
    variant: Callable[..., bool] = space["variant"]
    return variant


_BARE = re.compile(
    r"\((t\d+) if \(\1 := x\.get\((n\d+)\)\) is not None else (\(\1 if \(\1 := c\.get\(\2\)\) is not None else p\.get\(\2\)\))\)"
)
"""A layered lookup (`_Writer.get`): the request's own keys, else the instance's, else the
principal's; group 3 is the lookup without the request's own keys."""


def statement_predicates(sts: Sequence[CompiledStatement]) -> None:
    """Give every statement's shared core its ``predicate(resource, own, names, instance,
    principal)``: the statement's Resource and Condition test, as the plan function inlines
    it (the principal element is the caller of the predicate's business), over the context
    ``{**principal, **instance, **own'}`` read without building it, where ``own'`` is the
    request's own keys that ``names`` lists (lower-case key -> the name given in ``own``),
    each normalised as `context_values` does only when a test reads it. A merged context is
    ``predicate(resource, {}, {}, context, {})``.

    A core gets its predicate once, whichever principal or plan holds it; statements of one
    shape share the compiled code (`_define`), so only new shapes compile (the missing ones
    together)."""
    todo: dict[int, CompiledStatement] = {}
    for st in sts:
        if st.core.predicate is None and id(st.core) not in todo:
            todo[id(st.core)] = st
    if not todo:
        return
    if len(_PREDICATES) + len(todo) > _CODE_LIMIT:
        _PREDICATES.clear()
    head = "def p(r, x, m, c, pv):\n"
    written = []
    new: dict[str, None] = {}
    for st in todo.values():
        w = _Writer(raw=True)
        source = f"{head}    return {w.statement(st)}\n"
        w.namespace.update(N=value_strings, M=merged_context)
        written.append((st, source, w.namespace))
        if source not in _PREDICATES:
            new[source] = None
    if new:
        # the new shapes compiled in one module (one ``compile`` call costs less than many),
        # each function's code then kept under its own source
        module = "".join(source.replace("def p(", f"def p{n}(", 1) for n, source in enumerate(new))
        space: dict[str, Any] = {}
        exec(compile(module, "<lspolicy statements>", "exec"), space)  # see the docstring
        for n, source in enumerate(new):
            _PREDICATES[source] = space[f"p{n}"].__code__.replace(co_name="p", co_qualname="p")
        SHAPES["compiled"] += len(new)
    SHAPES["shared"] += len(written) - len(new)
    for st, source, namespace in written:
        namespace["__builtins__"] = __builtins__
        st.core.predicate = FunctionType(_PREDICATES[source], namespace, "p")


def merged_context(
    x: Mapping[str, Any], m: Mapping[str, str], c: Context, pv: Context
) -> dict[str, Sequence[str]]:
    """The merged context a raw predicate's whole-context test reads: the principal's values,
    the instance's over them, the request's own keys (those in ``m``) over both."""
    merged: dict[str, Sequence[str]] = {**pv, **c}
    for lower, name in m.items():
        value = x[name]
        merged[lower] = (value,) if value.__class__ is str else value_strings(value, name)
    return merged


def _always(st: CompiledStatement) -> bool:
    """The statement applies to every request (of its action): any Resource, no condition,
    no principal element."""
    return (
        st.resource_shape[0] == "any"
        and not st.resource_negated
        and not st.conditions
        and not _names_principals(st)
    )


def _names_principals(st: CompiledStatement) -> bool:
    return st.principal is not None or st.not_principal is not None


def never(r: str, c: Context, k: Any = None) -> bool:
    """The decision of a plan that allows nothing (`generic_decider`): a batch that meets it
    answers without building the request's context."""
    return False


def _forward(
    musts: list[tuple[tuple[Any, ...], ...]],
    must: tuple[tuple[Any, ...], ...],
    group: tuple[Any, ...],
    f: Any,
) -> None:
    """``must`` with ``f`` first in ``group``, as ``musts``'s only item."""
    j = group.index(f)
    moved = (f, *group[:j], *group[j + 1 :])
    g = must.index(group)
    musts[0] = (*must[:g], moved, *must[g + 1 :])


_NONE: dict[str, Any] = {}
"""No own keys, no names, no principal values: a predicate reading a merged context (shared,
never written)."""


def generic_decider(
    layers: Layers,
) -> Decider:
    """The decision of `compile_decider`, without generating code for the plan: a loop over
    the statements' shared predicates (`statement_predicates`). Cheap to build, so every plan
    has one from its first request; `compile_decider` (one inlined function, costlier to
    build) replaces it once the plan is hot. Without a resource-based policy it is
    `raw_decider`'s function on the merged context, and gives that function as ``.raw``
    (what a batch calls)."""
    if layers.resource is None:
        raw = raw_decider(layers)
        if raw is never:
            return never

        def decide(r: str, c: Context, k: Any = None) -> bool:
            return raw(r, _NONE, _NONE, c, _NONE, k)

        decide.raw = raw  # type: ignore[attr-defined]
        return decide
    return _decider_with_resource(layers)


def raw_decider(layers: Layers) -> Decider:
    """`generic_decider`'s decision, for a plan without a resource-based policy, as
    ``decide(resource, own, names, instance, principal, caller=None)`` over the context
    ``{**principal, **instance, **own'}`` without building it (``own'``: the request's own
    keys that ``names`` lists, lower-case key -> the name given in ``own``, each normalised
    only when a test reads it): a batch (`authorize._stream`) pays for no merge and for no
    key the statements it tries do not read.

    The answer is "no Deny applies and every group holds one statement that applies",
    whatever order the (side-effect free) predicates run in: the groups are tried smallest
    first, so that a request failing a short group (a boundary, a session policy, an SCP
    level) is denied before the long identity group is searched; the Denies, and the
    statements of each group, likewise: one that applies moves to the front (what this
    principal's requests met last is tried first; measured better than one place forward,
    which settles too slowly over a few passes); tuples are replaced, never changed in
    place, so a concurrent call reads one order or the other, each complete."""
    assert layers.resource is None
    plain_denies, named_denies, groups = _generic_parts(layers)
    if not all(groups):
        # a group with no statement (a boundary allowing nothing of this action) denies
        # every request: no test needs to run (`_body` writes ``return False`` too)
        return never
    order = [plain_denies]
    musts = [tuple(sorted(groups, key=len))]

    # positional parameters: called once per request of a batch
    def decide(r: str, x: Any, m: Any, c: Context, pv: Context, k: Any = None) -> bool:  # noqa: PLR0917
        denies = order[0]
        for f in denies:
            if f(r, x, m, c, pv):
                if f is not denies[0]:
                    j = denies.index(f)
                    order[0] = (f, *denies[:j], *denies[j + 1 :])
                return False
        for f, grant in named_denies:
            if grant(k) and f(r, x, m, c, pv):
                return False
        must = musts[0]
        for group in must:
            for f in group:
                if f(r, x, m, c, pv):
                    if f is not group[0]:
                        _forward(musts, must, group, f)
                    break
            else:
                return False
        return True

    return decide


_Predicate = Callable[..., bool]


def _generic_parts(
    layers: Layers,
) -> tuple[
    tuple[_Predicate, ...], tuple[tuple[_Predicate, Any], ...], list[tuple[_Predicate, ...]]
]:
    """What a generic decision function loops over: the plain Denies' predicates, the Denies
    naming principals with their ``grant``, and the groups that must each hold a statement
    that applies: the SCP levels, then (without a resource-based policy) the identity
    policies, the boundary and the session policy. A group holding a statement that applies
    to every request (an SCP allowing everything) is left out, as the inlined function leaves
    it out (`_any`)."""
    denies, allows, boundary = layers.denies, layers.allows, layers.boundary
    session, scps, resource = layers.session, layers.scps, layers.resource
    everything: list[CompiledStatement] = [*denies, *allows, *(boundary or ()), *(session or ())]
    for level in scps:
        everything.extend(level)
    everything.extend(resource or ())
    statement_predicates(everything)
    plain_denies = _preds([st for st in denies if not _names_principals(st)])
    named_denies = tuple((_pred(st), st.grant) for st in denies if _names_principals(st))
    groups = [_preds(level) for level in scps if not any(map(_always, level))]
    if resource is None:
        groups.extend(
            _preds(sts)
            for sts in (allows, boundary, session)
            if sts is not None and not any(map(_always, sts))
        )
    return plain_denies, named_denies, groups


def _pred(st: CompiledStatement) -> _Predicate:
    predicate = st.core.predicate
    assert predicate is not None  # statement_predicates gave every core one
    return predicate


def _preds(sts: Sequence[CompiledStatement]) -> tuple[_Predicate, ...]:
    return tuple(map(_pred, sts))


def _decider_with_resource(layers: Layers) -> Decider:
    """`generic_decider` for a plan with a resource-based policy, on the merged context."""
    allows, boundary, session, resource = (
        layers.allows,
        layers.boundary,
        layers.session,
        layers.resource,
    )
    assert resource is not None
    plain_denies, named_denies, levels = _generic_parts(layers)
    grants = tuple((_pred(st), st.grant) for st in resource)
    ident = None if any(map(_always, allows)) else _preds(allows)
    bound = None if boundary is None or any(map(_always, boundary)) else _preds(boundary)
    sess = None if session is None or any(map(_always, session)) else _preds(session)
    e = _NONE

    def holds(group: tuple[_Predicate, ...] | None, r: str, c: Context) -> bool:
        if group is None:
            return True
        return any(f(r, e, e, c, e) for f in group)

    def decide_with_resource(r: str, c: Context, k: Any = None) -> bool:
        for f in plain_denies:
            if f(r, e, e, c, e):
                return False
        for f, grant in named_denies:
            if grant(k) and f(r, e, e, c, e):
                return False
        for group in levels:
            for f in group:
                if f(r, e, e, c, e):
                    break
            else:
                return False
        gr = 0
        for f, grant in grants:
            if f(r, e, e, c, e):
                gr = max(gr, grant(k))
        # GrantKind: SESSION 4 and EVERYONE 5 allow alone; USER 3 needs the session policy;
        # ROLE 2 the boundary and the session policy; otherwise identity, boundary, session
        if gr >= 4:
            return True
        if gr == 3:
            return holds(sess, r, c)
        if gr == 2:
            return holds(bound, r, c) and holds(sess, r, c)
        return holds(ident, r, c) and holds(bound, r, c) and holds(sess, r, c)

    return decide_with_resource
