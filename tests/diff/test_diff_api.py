"""The public API of `lspolicy.diff`: what ``__all__`` names exists, is documented, and the
module's example runs."""

from __future__ import annotations

import doctest
import inspect

import lspolicy.diff


def test_all_names_exist_and_are_documented() -> None:
    for name in lspolicy.diff.__all__:
        obj = getattr(lspolicy.diff, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_optional_arguments_are_keyword_only() -> None:
    for fn in (
        lspolicy.diff.diff_policies,
        lspolicy.diff.check_no_new_access,
        lspolicy.diff.check_access_not_granted,
    ):
        for parameter in inspect.signature(fn).parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, (fn, parameter)


def test_module_example_runs() -> None:
    failures, tried = doctest.testmod(lspolicy.diff, verbose=False)
    assert tried and not failures
