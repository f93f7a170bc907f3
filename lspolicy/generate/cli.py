"""``lspolicy generate INTENT``: policies from an intent, with the proof that they mean it;
``lspolicy generate --from-trail EVENTS --world WORLD`` (or ``--from-log STATE.db``): policies
from observed access, one per principal (`lspolicy.generate.trail`), with the same proof.

Output formatting and argument parsing only; the work is in `lspolicy.generate`.

For an intent, the guard (`lspolicy.generate.guard`: with any other Allow attached, nothing
an exclusion names is allowed) is decided exactly after the proof and printed
(``guard: exact, holds``); with ``guard_tags``, so is the tag guard
(`lspolicy.generate.tagguard`: no tag write touching a selector key is allowed:
``tag guard: exact, holds (K keys, N requests)``); case variants of a selector value among a
world's instances are warned about.

Exit status: 0 when the proof and the guards hold; 1 when the proof found counterexamples or
a guard does not hold (nothing is written with ``--out`` then: a policy that fails its proof
is not a policy to attach); 2 when the intent or
the world cannot be used, or no policy within IAM's limits expresses the intent.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from lspolicy.errors import LspolicyError, PolicyParseError
from lspolicy.generate.build import Generation, generate
from lspolicy.generate.guard import GuardReport, check_guard
from lspolicy.generate.intent import load_intent
from lspolicy.generate.prove import (
    DEFAULT_POPULATION,
    MIN_WITNESS,
    WITNESS_PER_CLASS,
    ProofReport,
    prove,
)
from lspolicy.generate.semantics import case_variant_warnings
from lspolicy.generate.tagguard import TagGuardReport, check_tag_guard
from lspolicy.textfile import read_bounded
from lspolicy.yamlpos import check_bounds

if TYPE_CHECKING:
    from lspolicy.server.world import World

__all__ = ["load_world_quickly", "main", "register", "run"]

EXIT_OK, EXIT_COUNTEREXAMPLES, EXIT_ERROR = 0, 1, 2


def _input_error(exc: LspolicyError, fmt: str) -> int:
    """Report bad input (every located problem, as JSON when asked) and return exit code 2."""
    if isinstance(exc, PolicyParseError):
        if fmt == "json":
            json.dump({"problems": [p.to_dict() for p in exc.problems]}, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            sys.stderr.write("".join(f"lspolicy: {p}\n" for p in exc.problems))
    else:
        sys.stderr.write(f"lspolicy: {exc}\n")
    return EXIT_ERROR


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``generate`` command to an ``add_subparsers()`` object; it sets ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "generate",
        help="generate least-privilege policies from an intent and prove them with the engine",
        description="Generate identity policies from an intent file (YAML or JSON) and prove, "
        "with the engine, that they allow exactly what the intent allows: exactly, over one "
        "request per class of the intent's and the policies' tests (PROVEN), and as a second "
        "witness over a world's instances (--world) and a large sampled population. Where "
        "the classes cannot cover every request the result says SAMPLED, never PROVEN. "
        "Exit 0 no counterexample (PROVEN or SAMPLED), 1 counterexamples, 2 bad input.",
    )
    parser.add_argument(
        "intent", metavar="INTENT", nargs="?", help="the intent file (.yaml or .json)"
    )
    parser.add_argument(
        "--from-trail",
        metavar="FILE",
        help="generate from observed access: CloudTrail events (JSON lines or "
        '{"Records": [...]}); needs --world to resolve instance names',
    )
    parser.add_argument(
        "--from-log",
        metavar="STATE.db",
        help="generate from the emulator's request log (its allowed calls); needs --world",
    )
    parser.add_argument(
        "--tag-conditions",
        action="store_true",
        help="with --from-trail/--from-log: select a principal's instances by a tag value they "
        "all share, when it selects no other world instance",
    )
    parser.add_argument(
        "--allow-broader",
        action="store_true",
        help="with --tag-conditions: take the tag condition even when it selects instances "
        "that were not observed (the report names them)",
    )
    parser.add_argument(
        "--world", metavar="WORLD", help="an emulator world file: prove over its instances too"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="write one <name>.policy.json per policy into DIR (only when the proof holds)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )
    parser.add_argument(
        "--population",
        type=_count,
        default=None,
        metavar="N",
        help="random requests of the sampled witness (default: "
        f"{WITNESS_PER_CLASS} per class of an exact proof, at least {MIN_WITNESS:,}, at most "
        f"{DEFAULT_POPULATION:,}; {DEFAULT_POPULATION:,} when the proof is not exact)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="vary the random population (default 0)"
    )
    parser.set_defaults(run=run)
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if not 0 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"expected 0..10000000, found {value}")
    return value


def load_world_quickly(path: str) -> World:
    """`lspolicy.server.world.load_world`, faster for a valid world.

    ``load_world`` reads the file with PyYAML's pure-Python parser, twice (values and
    positions): about 5 s for the standard workload's 2,000 instances. A valid world does not
    need positions, so it is decoded once (``json`` for JSON text, libyaml when PyYAML has it)
    and checked by the same ``world_from_data``; any problem sends it through ``load_world``,
    which reports every problem with its line and column.
    """
    from lspolicy.server.world import (  # noqa: PLC0415 - only with --world
        MAX_WORLD_BYTES,
        WorldError,
        load_world,
        world_from_data,
    )

    p = Path(path)
    try:
        raw = read_bounded(p, MAX_WORLD_BYTES)  # any OSError: load_world says what is wrong
        text = raw.decode("utf-8")
        if text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            check_bounds(text)  # aliases, nesting: a YamlError (a ValueError) -> load_world
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return world_from_data(data, path=p)
    except (OSError, ValueError, yaml.YAMLError, WorldError):
        return load_world(p)


class GenerateOutputError(LspolicyError):
    """A policy cannot be written where ``--out`` says (exit 2)."""


def _write(out: Path, generation: Generation) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for p in generation.policies:
        path = out / p.filename
        # never through a symlink: an existing link named like a policy must not make us
        # overwrite its target outside --out (O_NOFOLLOW refuses it; a FIFO is refused too)
        try:
            fd = os.open(
                path,
                os.O_WRONLY
                | os.O_CREAT
                | os.O_TRUNC
                | getattr(os, "O_NOFOLLOW", 0)
                | getattr(os, "O_NONBLOCK", 0),
                0o644,
            )
        except OSError as exc:
            raise GenerateOutputError(
                f"{path}: cannot write the policy here ({(exc.strerror or str(exc)).lower()}); "
                "a symlink or special file of that name is never written through"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise GenerateOutputError(f"{path}: not a regular file; it is not written")
            handle.write(p.text)
        written.append(str(path))
    return written


def _text(
    generation: Generation,
    report: ProofReport,
    written: list[str],
    seconds: float,
    stream: TextIO,
    *,
    guard: GuardReport | None = None,
    tag_guard: TagGuardReport | None = None,
    warnings: Sequence[str] = (),
) -> None:
    lines: list[str] = []
    for p in generation.policies:
        part = f", part {p.part} of {p.parts}" if p.parts > 1 else ""
        header = (
            f"# {p.filename}: for {p.principals.describe()}{part} "
            f"({p.size:,} of {p.limit:,} characters)"
        )
        if written:
            lines.append(header)
        else:
            lines += [header, p.text.rstrip("\n"), ""]
    lines += [f"note: {n}" for n in generation.notes]
    lines += [f"warning: {w}" for w in warnings]
    lines.append(report.render())
    if guard is not None:
        lines.append(guard.render())
    if tag_guard is not None:
        lines.append(tag_guard.render())
    lines.append(f"generation: {seconds * 1000:.0f} ms")
    if written:
        lines += [f"wrote {w}" for w in written]
    elif not report.passed and generation.policies:
        lines.append("nothing written: the proof failed")
    elif guard is not None and not guard.holds:
        lines.append("nothing written: the guard does not hold")
    elif tag_guard is not None and not tag_guard.holds:
        lines.append("nothing written: the tag guard does not hold")
    stream.write("\n".join(lines) + "\n")


def _json(
    generation: Generation,
    report: ProofReport,
    written: list[str],
    seconds: float,
    stream: TextIO,
    *,
    guard: GuardReport | None = None,
    tag_guard: TagGuardReport | None = None,
    warnings: Sequence[str] = (),
) -> None:
    payload: dict[str, object] = {
        "intent": generation.intent.name,
        "policies": [
            {
                "name": p.name,
                "file": p.filename,
                "principals": p.principals.describe(),
                "part": p.part,
                "parts": p.parts,
                "size": p.size,
                "limit": p.limit,
                "grants": list(p.grants),
                "document": p.document,
            }
            for p in generation.policies
        ],
        "notes": list(generation.notes),
        "proof": report.to_dict(),
        "guard": guard.to_dict() if guard is not None else None,
        "tag_guard": tag_guard.to_dict() if tag_guard is not None else None,
        "warnings": list(warnings),
        "generation_seconds": round(seconds, 3),
        "written": written,
    }
    json.dump(payload, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _observed(args: argparse.Namespace) -> int:
    """``--from-trail`` / ``--from-log``: one intent per principal, each generated and proved."""
    from lspolicy.generate import trail as observe  # noqa: PLC0415 - only for observed access

    problem = None
    if args.from_trail and args.from_log:
        problem = "give --from-trail or --from-log, not both"
    elif args.intent:
        problem = f"give an intent ({args.intent}) or observed access, not both"
    elif not args.world:
        problem = "observed access needs --world WORLD to resolve instance names to ids and tags"
    elif args.allow_broader and not args.tag_conditions:
        problem = "--allow-broader only means something with --tag-conditions"
    if problem:
        sys.stderr.write(f"lspolicy: {problem}\n")
        return EXIT_ERROR
    try:
        started = time.perf_counter()
        events = (
            observe.read_trail(args.from_trail)
            if args.from_trail
            else observe.read_request_log(args.from_log)
        )
        world = load_world_quickly(args.world)
        instances = [s.instance for s in world.instances]
        identities = [p.identity for p in world.principals.values()]
        observed = observe.plan_from_trail(
            events,
            instances,
            tag_conditions=args.tag_conditions,
            allow_broader=args.allow_broader,
        )
        results: list[tuple[Generation, ProofReport, float]] = []
        for plan in observed.plans:
            begun = time.perf_counter()
            generation = generate(plan.intent)
            seconds = time.perf_counter() - begun
            report = prove(
                generation,
                instances=instances,
                identities=identities,
                world=args.world,
                population=args.population,
                seed=args.seed,
            )
            results.append((generation, report, seconds))
    except LspolicyError as exc:
        return _input_error(exc, args.format)
    proven = all(r.proven for _, r, _ in results)
    passed = all(r.passed for _, r, _ in results)
    written: list[str] = []
    if passed and args.out:
        try:
            for generation, _, _ in results:
                written += _write(Path(args.out), generation)
        except OSError as exc:
            sys.stderr.write(f"lspolicy: cannot write to {args.out}: {exc.strerror or exc}\n")
            return EXIT_ERROR
    if args.format == "json":
        payload = {
            "observed": observe.to_dict(observed),
            "principals": [
                {
                    "principal": plan.principal,
                    "intent": generation.intent.to_data(),
                    "policies": [
                        {"name": p.name, "file": p.filename, "size": p.size, "document": p.document}
                        for p in generation.policies
                    ],
                    "notes": list(generation.notes),
                    "proof": report.to_dict(),
                }
                for plan, (generation, report, _) in zip(observed.plans, results, strict=True)
            ],
            "proven": proven,
            "passed": passed,
            "exact": all(r.exact for _, r, _ in results),
            "seconds": round(time.perf_counter() - started, 3),
            "written": written,
        }
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(observe.describe(observed)) + "\n\n")
        for generation, report, seconds in results:
            _text(generation, report, written, seconds, sys.stdout)
            sys.stdout.write("\n")
        if not observed.plans:
            sys.stdout.write("nothing observed to generate a policy for\n")
    if not observed.plans:
        return EXIT_ERROR
    return EXIT_OK if passed else EXIT_COUNTEREXAMPLES


def run(args: argparse.Namespace) -> int:
    """Run ``generate`` for parsed arguments; returns the exit status."""
    if args.from_trail or args.from_log:
        return _observed(args)
    if not args.intent:
        sys.stderr.write("lspolicy: give an intent file, or --from-trail/--from-log with --world\n")
        return EXIT_ERROR
    try:
        started = time.perf_counter()
        intent = load_intent(args.intent)
        generation = generate(intent)
        seconds = time.perf_counter() - started
        instances: list[Any] = []
        identities: list[Any] = []
        if args.world:
            world = load_world_quickly(args.world)
            instances = [s.instance for s in world.instances]
            identities = [p.identity for p in world.principals.values()]
        report = prove(
            generation,
            instances=instances,
            identities=identities,
            world=args.world,
            population=args.population,
            seed=args.seed,
        )
        guard = check_guard(generation)
        tag_guard = check_tag_guard(generation)
    except LspolicyError as exc:
        return _input_error(exc, args.format)
    warnings = case_variant_warnings(intent, instances)
    for warning in warnings:
        sys.stderr.write(f"lspolicy: warning: {warning}\n")
    if not guard.holds:
        for finding in guard.findings:
            sys.stderr.write(f"lspolicy: {finding.problem()}\n")
    if tag_guard is not None and not tag_guard.holds:
        sys.stderr.write(f"lspolicy: {tag_guard.render()}\n")
    ok = report.passed and guard.holds and (tag_guard is None or tag_guard.holds)
    written: list[str] = []
    if ok and args.out:
        try:
            written = _write(Path(args.out), generation)
        except OSError as exc:
            sys.stderr.write(f"lspolicy: cannot write to {args.out}: {exc.strerror or exc}\n")
            return EXIT_ERROR
    (_json if args.format == "json" else _text)(
        generation,
        report,
        written,
        seconds,
        sys.stdout,
        guard=guard,
        tag_guard=tag_guard,
        warnings=warnings,
    )
    return EXIT_OK if ok else EXIT_COUNTEREXAMPLES


def main(argv: Sequence[str] | None = None) -> int:
    """``lspolicy generate`` on its own: ``main(["intent.yaml", "--world", "w.yaml"])``."""
    parser = argparse.ArgumentParser(prog="lspolicy")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(["generate", *(sys.argv[1:] if argv is None else argv)])
    except SystemExit as exc:
        return EXIT_ERROR if exc.code not in (0, None) else EXIT_OK
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
