"""The semantic diff of two policy sets, and the CI checks built on it.

    >>> import lspolicy
    >>> from lspolicy.diff import diff_policies
    >>> old = lspolicy.parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow",'
    ...     ' "Action": "lightsail:StopInstance", "Resource": "*",'
    ...     ' "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}}', source="old.json")
    >>> new = lspolicy.parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow",'
    ...     ' "Action": "lightsail:StopInstance", "Resource": "*",'
    ...     ' "Condition": {"StringLike": {"aws:ResourceTag/env": "d*"}}}}', source="new.json")
    >>> result = diff_policies([old], [new])
    >>> result.summary
    'NEW grants 1 new kind of access, removes 0'
    >>> result.differences[0].witness.tags
    {'env': 'dx'}

Method: an exact finite abstraction, no solver
-----------------------------------------------
The question is "is there a request NEW allows and OLD denies" (and the reverse), over every
request the engine can be asked for the actions concerned. The diff answers it by search over
a finite abstraction that is *exact*: every abstract choice it makes is realised by a concrete
request, and every concrete request falls under some abstract choice. A solver (z3's string
theory) would also do, but it is a large dependency, its string theory may answer "unknown" on
the same constructs, and it knows nothing of ``str.lower`` or of IAM's parsers; here every test
is the engine's own, read from its compiled statements and its operator table.

*The requests* (`lspolicy.diff.actions`): every Lightsail action of the catalog, with a resource
that is an ARN of one of its resource types (``arn:<p>:lightsail:<region>:<account>:<Type>/<id>``,
each part any non-empty text without ``:``) or ``*`` when it has no required type; every other
action name (as finitely many classes of names, with any resource). A context is any set of
keys with any values; a key is absent, or carries one value, or — for list keys
(``aws:TagKeys``, the catalog's ``ArrayOf...`` keys, and unknown keys a policy tests with
``ForAllValues``/``ForAnyValue``) — a list of values. The caller is a principal of the
resource's account (identity-based policies; the root user and other accounts are out of
scope: identity policies do not govern them and Lightsail has no resource-based policies).

*The abstraction*: each value is put to finitely many tests (*atoms*: one policy value under
one operator, `lspolicy.diff.atoms`). Values passing the same atoms are interchangeable, so a
slot's *classes* are the combinations of atoms some value passes (`lspolicy.diff.domains`):

- strings — ``String*``, ``Arn*``, Resource patterns, ``StringEqualsIgnoreCase`` — are regular
  languages; the product of their automata is explored exhaustively, which finds every
  realisable combination with a shortest witness. Characters no automaton names are
  interchangeable (one fresh character stands for them); ``str.lower`` is followed exactly,
  including characters that lower-case to two (``'İ'``) or onto ASCII (the Kelvin sign);
- ``Numeric*``/``Date*``: the engine parses to a float and compares with constants, so the
  classes are "unparseable", each constant, and each open interval between two (a float of
  each is written and parsed back);
- ``IpAddress``: the address space of each family cut at every network boundary;
- ``Bool``: true / false / other; ``BinaryEquals``: each constant / other valid / invalid;
- ``Null`` only reads presence; the empty string is its own class where ``ForAllValues`` and
  ``ForAnyValue`` treat ``[""]`` as a null dataset.

The decision of each side is then a function of the classes (`lspolicy.diff.search`): a
condition is decided from its slot's choice exactly as `lspolicy.evaluate.clause` decides it
(missing key, ``IfExists``, negation, set qualifiers), a statement is resource and conditions,
a side is "no deny applies, an allow applies, the boundary (if any) allows". The search assigns
classes slot by slot with three-valued evaluation and cuts every branch where the difference
is already impossible; it is exhaustive, so "no solution" is a proof.

*Policy variables* (``${aws:PrincipalTag/team}``, ``${aws:username}``, with defaults) make a
test depend on another slot: "does this value match the template resolved with the variable's
value" becomes one more boolean of the search, and `lspolicy.diff.realize` then finds the
variable's value and the tested values together. For a template whose structure does not depend
on the variable's value, the variable values that can satisfy the positive tests form a regular
language (computed exactly with a subset construction); its strings are tried in order, each
checked exactly, so the answer is exact when a value works or the language runs out.

*Where it says "unknown"* (``cannot decide exactly: <construct>``, exit 2, never "no
difference"): a key tested by two families at once (``StringEquals`` and ``NumericEquals``);
a template whose structure depends on the variable's value (``*`` right before the variable in
a Resource, a variable before an ARN's sixth component, ``IgnoreCase`` or typed operators with a
variable) when no value is found among the candidates tried; a variable tested against a list
key; more than 40,000 states of string patterns on one key or 200,000 search steps; and
``Principal``/``NotPrincipal`` elements. A difference found is always real: the engine confirms
every witness before it is reported (`DiffInternalError` otherwise).
"""

from lspolicy.diff.compare import check_access_not_granted, check_no_new_access, diff_policies
from lspolicy.diff.domains import DiffInternalError
from lspolicy.diff.result import (
    CheckResult,
    Difference,
    DiffResult,
    Direction,
    Undecided,
    Witness,
)

__all__ = [
    "CheckResult",
    "DiffInternalError",
    "DiffResult",
    "Difference",
    "Direction",
    "Undecided",
    "Witness",
    "check_access_not_granted",
    "check_no_new_access",
    "diff_policies",
]
