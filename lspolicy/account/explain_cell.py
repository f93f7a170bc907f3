"""``lspolicy explain --review DIR --principal ARN --instance NAME_OR_ARN --action A``: one cell
of a review decided again by the engine, from the very exports the review read, and shown.

1. ``DIR/inputs.json`` (`lspolicy.account.review_inputs`) names every export with its SHA-256;
   a file that is gone or changed is refused (exit 2): the explanation would be of other data.
2. The stored cell (`lspolicy.account.from_review`) gives the decision, the chain (``via``) and
   the deciding statements.
3. The exports are read again and the engine decides along the stored chain: each hop is
   ``sts:AssumeRole`` on the next role with its trust policy as the resource policy
   (`lspolicy.account.reach.assume`), the last identity's request is the action on the
   instance (`lspolicy.account.decide.Authority.decide`); each step is shown with the engine's
   explanation (`lspolicy.explain.render_text`: the deciding statements, or for a deny the
   closest Allow and what failed).
4. The engine's own answer for the cell (`lspolicy.account.query.Review.access`: the best
   chain) must equal the stored one: decision, chain, own decision and deciding statements.
   Exit 0 when it does, 1 (each difference named) when it does not, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lspolicy.errors import LspolicyError
from lspolicy.explain import Style, render_text

__all__ = ["CellUsageError", "run_explain_cell"]

EXIT_OK, EXIT_DIFFERS, EXIT_ERROR = 0, 1, 2


class CellUsageError(LspolicyError):
    """A missing option, a changed export, or a cell the review does not hold (exit 2)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One request of the chain: who calls what, the engine's verdict and its explanation."""

    caller: str
    action: str
    resource: str
    verdict: Any
    """`lspolicy.account.decide.Verdict`."""
    strict: Any
    """`lspolicy.model.decision.Decision` as AWS decides with the caller's keys absent."""
    relaxed: Any | None
    """The decision with caller keys in the caller's favour, for a ``conditional`` verdict."""


def _style(choice: str) -> Style:
    if choice == "always":
        return Style(color=True)
    if choice == "never" or os.environ.get("NO_COLOR"):
        return Style(color=False)
    return Style(color=sys.stdout.isatty())


def _step(
    actor: Any, action: str, resource: str, *, context: Any, verdict: Any, trust: Any
) -> Step:
    """The engine's decisions behind ``verdict`` (with near misses, for the explanation)."""
    from lspolicy.model.request import Request  # noqa: PLC0415

    sets = actor.sets(action.lower().startswith("sts:"), trust)
    request = Request.from_parts(action, actor.part(), context=context, resource=resource)
    strict = sets.strict.evaluate(request)
    relaxed = sets.relaxed.evaluate(request) if verdict.answer == "conditional" else None
    return Step(actor.principal_arn, action, resource, verdict, strict, relaxed)


def _indent(text: str, by: str = "    ") -> list[str]:
    return [by + line for line in text.splitlines()]


def _step_text(step: Step, head: str, style: Style) -> list[str]:
    lines = [f"{head}: {step.caller} calls {step.action} on {step.resource}: {step.verdict.answer}"]
    lines += _indent(render_text(step.strict, style=style))
    if step.verdict.answer == "implicitDeny" and step.strict.allowed:
        lines.append(
            "    but denied: a role's trust policy must allow the caller itself, and a user it "
            "names needs its boundary to allow sts:AssumeRole"
        )
    if step.relaxed is not None:
        lines.append("    with the caller's keys in its favour (allowed if these hold):")
        lines += _indent(render_text(step.relaxed, style=style), "      ")
        for c in step.verdict.conditions:
            d = c.to_dict()
            lines.append(
                f"      if {d['operator']} {d['key']} {d['values']} {d['needs']} "
                f"({c.statement.label}): {d['why_unknown']}"
            )
    return lines


def _step_dict(step: Step) -> dict[str, object]:
    return {
        "caller": step.caller,
        "action": step.action,
        "resource": step.resource,
        "decision": step.verdict.answer,
        "statements": [s.label for s in step.verdict.statements],
        "conditions": [c.to_dict() for c in step.verdict.conditions],
        "engine": step.strict.to_dict(),
        "engine_with_caller_keys": None if step.relaxed is None else step.relaxed.to_dict(),
    }


def _needed(args: argparse.Namespace) -> None:
    missing = [
        option
        for option, value in (
            ("--principal", args.principal),
            ("--instance", args.instance),
            ("--action", args.action),
        )
        if not value
    ]
    if missing:
        raise CellUsageError(
            f"explain --review needs {', '.join(missing)}: the cell's principal ARN, instance "
            "name or ARN, and action"
        )
    extra = [o for o, v in (("--policy", args.policy), ("--request", args.request)) if v]
    if extra:
        raise CellUsageError(
            f"explain --review decides from the review's exports: {', '.join(extra)} cannot "
            "be given with it"
        )


def run_explain_cell(args: argparse.Namespace) -> int:
    """``lspolicy explain --review DIR --principal ARN --instance NAME_OR_ARN --action A``."""
    from lspolicy.account.from_review import ReviewData  # noqa: PLC0415
    from lspolicy.account.review_inputs import changed_files, read_inputs  # noqa: PLC0415

    try:
        _needed(args)
        record = read_inputs(args.review)
        changed = changed_files(record)
        if changed:
            raise CellUsageError(
                "the review's inputs changed since it was written; explaining would be of other "
                "data (run `lspolicy review` again):\n" + "\n".join(changed)
            )
        with ReviewData(args.review) as data:
            action = data.action(args.action)
            principal = data.principal(args.principal)
            instance_arn, instance_name = data.instance(args.instance)
            stored = data.cell(principal, instance_arn, action)
        if stored is None:
            raise CellUsageError(
                f"the review holds no cell for {principal} {action} on {instance_arn}"
            )
        return _explain(args, record, stored, instance_name)
    except LspolicyError as exc:
        sys.stderr.write("".join(f"lspolicy: {line}\n" for line in str(exc).splitlines()))
        return EXIT_ERROR


def _holding(paths: list[str], arn: str) -> list[str]:
    """The ``--instances`` files that may hold the instance ``arn``, in their order: a cell's
    decision reads only its own instance (its tags, region and ARN), and a whole
    organization's 200,000 instances took 20 of explain's 27 s to read. Kept: each file whose
    bytes hold the ARN's last part (the instance id, without ``/``, which JSON may escape as
    ``\\/``) or any ``\\u`` escape (the id may be written escaped); every file when none does
    (the caller then reports the instance missing, as before). A later file's entry for the
    same ARN replaces an earlier one's (`lspolicy.account.instances.read_instances`): every
    file that may hold it is kept, so the same one wins."""
    key = arn.rsplit("/", 1)[-1].encode()
    kept = [p for p in paths if _may_hold(Path(p), key)]
    return kept or paths


def _may_hold(path: Path, key: bytes) -> bool:
    data = path.read_bytes()
    return key in data or b"\\u" in data


def _explain(
    args: argparse.Namespace, record: dict[str, Any], stored: dict[str, Any], name: str
) -> int:
    from lspolicy.account.cli import _load  # noqa: PLC0415 - the readers who-can uses
    from lspolicy.account.query import instance_context  # noqa: PLC0415
    from lspolicy.account.reach import ASSUME_ROLE, assume, role_context  # noqa: PLC0415

    files = record["files"]
    exports = SimpleNamespace(
        organization=next((f["path"] for f in files if f["option"] == "--organization"), None),
        auth_details=[f["path"] for f in files if f["option"] == "--auth-details"],
        instances=_holding(
            [f["path"] for f in files if f["option"] == "--instances"], stored["instance_arn"]
        ),
        max_chain=record["max_chain"],
    )
    review = _load(exports)  # type: ignore[arg-type]
    authority, inventory = review.authority, review.inventory
    principal, action = stored["principal_arn"], stored["action"]
    instance = inventory.instances.get(stored["instance_arn"])
    if instance is None or principal not in (*inventory.users, *inventory.roles):
        raise CellUsageError(
            f"the exports the review read hold no {principal} or {stored['instance_arn']}"
        )
    # along the stored chain: each hop, then the action
    steps: list[tuple[str, Step]] = []
    broken = ""
    actor = authority.actor(principal)
    for n, role_arn in enumerate(stored["via"], 1):
        role = inventory.roles.get(role_arn)
        if role is None:
            broken = f"hop {n}: role {role_arn} is not in the exports"
            break
        verdict = assume(authority, actor, role)
        steps.append(
            (
                f"hop {n}",
                _step(
                    actor,
                    ASSUME_ROLE,
                    role_arn,
                    context=role_context(role),
                    verdict=verdict,
                    trust=role.trust,
                ),
            )
        )
        if not verdict.reaches:
            broken = f"hop {n}: {actor.principal_arn} cannot assume {role_arn}"
            break
        actor = authority.actor(role_arn)
    context = instance_context(instance)
    if not broken:
        verdict = authority.decide(actor, action, instance.arn, context)
        final = _step(actor, action, instance.arn, context=context, verdict=verdict, trust=None)
        steps.append(("action", final))
    hop_answers = [s.verdict.answer for _, s in steps]
    if broken or not steps[-1][1].verdict.reaches:
        along = "implicitDeny" if stored["via"] else steps[-1][1].verdict.answer
    else:
        along = "conditional" if "conditional" in hop_answers else "allowed"
    direct = authority.decide(authority.actor(principal), action, instance.arn, context)
    best = review.access(principal, action, instance)
    if best is None:
        engine = {
            "decision": direct.answer,
            "via": [],
            "statements": list(dict.fromkeys(s.label for s in direct.statements)),
        }
    else:
        engine = {
            "decision": "conditional" if best.conditional else "allowed",
            "via": [h.role for h in best.via],
            "statements": list(dict.fromkeys(s.label for s in best.final.statements)),
        }
    differences = [
        f"{what}: stored {have!r}, engine {want!r}"
        for what, have, want in (
            ("decision", stored["decision"], engine["decision"]),
            ("chain", stored["via"], engine["via"]),
            ("own decision", stored["direct_decision"], direct.answer),
            ("deciding statements", stored["statements"], engine["statements"]),
            ("decision along the stored chain", stored["decision"], along),
        )
        if have != want
    ]
    if broken:
        differences.append(f"the stored chain is broken: {broken}")
    if args.format == "json":
        payload = {
            "principal": principal,
            "instance": instance.arn,
            "instance_name": name,
            "action": action,
            "review": args.review,
            "stored": stored,
            "steps": [{"step": label, **_step_dict(s)} for label, s in steps],
            "along_stored_chain": along,
            "direct_decision": direct.answer,
            "engine": engine,
            "matches": not differences,
            "differences": differences,
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        style = _style(args.color)
        via = " -> ".join(stored["via"]) or "directly"
        lines = [
            f"cell: {principal} {action} on {name} ({instance.arn})",
            f"stored in {args.review}: {stored['decision']} via {via}"
            if stored["via"]
            else f"stored in {args.review}: {stored['decision']} directly",
            f"exports: {len(record['files'])} files, unchanged since the review (sha256)",
        ]
        for label, step in steps:
            lines += _step_text(step, label, style)
        if stored["via"]:
            lines.append(f"own decision, without assuming a role: {direct.answer}")
        ev = " -> ".join(engine["via"])
        lines.append(
            f"engine: {engine['decision']}"
            + (f" via {ev}" if ev else "")
            + (" (the stored cell)" if not differences else "")
        )
        sys.stdout.write("\n".join(lines) + "\n")
    if differences:
        sys.stderr.write(
            "lspolicy: the stored cell is not the engine's answer:\n"
            + "".join(f"  {d}\n" for d in differences)
        )
        return EXIT_DIFFERS
    return EXIT_OK
