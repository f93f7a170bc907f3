"""Least-privilege policies from an access intent, with a proof that they mean exactly it.

    >>> from lspolicy.generate import generate, parse_intent, prove
    >>> intent = parse_intent('''
    ... name: oncall-stops-dev
    ... account: "111122223333"
    ... grants:
    ...   - principals: {tags: {role: oncall}}
    ...     actions: [lightsail:StopInstance]
    ...     instances: {tags: {env: dev}}
    ... ''')
    >>> generation = generate(intent)
    >>> [p.name for p in generation.policies]
    ['oncall-stops-dev']
    >>> prove(generation, population=500).proven
    True

The pipeline: `parse_intent`/`load_intent` (YAML or JSON -> `Intent`, every problem located),
`generate` (`Intent` -> `Generation`: one policy per principal selector, split to IAM's size
quota), `prove` (the engine's decisions on those policies against the intent's own meaning,
`IntentSemantics`, over boundary, world and random requests -> `ProofReport`).
"""

from lspolicy.generate.build import GeneratedPolicy, Generation, GenerationError, generate
from lspolicy.generate.intent import (
    Intent,
    IntentError,
    intent_from_data,
    load_intent,
    parse_intent,
)
from lspolicy.generate.prove import Counterexample, ProofReport, prove
from lspolicy.generate.semantics import Circumstances, IntentSemantics, Probe, Verdict

__all__ = [
    "Circumstances",
    "Counterexample",
    "GeneratedPolicy",
    "Generation",
    "GenerationError",
    "Intent",
    "IntentError",
    "IntentSemantics",
    "Probe",
    "ProofReport",
    "Verdict",
    "generate",
    "intent_from_data",
    "load_intent",
    "parse_intent",
    "prove",
]
