"""A warning for an action name the catalog does not know, for `explain` and `simulate`.

The decision does not change (an unknown action simply matches what its patterns match, as AWS
would evaluate it); the warning only points at a likely typo
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
"""

from __future__ import annotations

from lspolicy.services.catalog import load_services

__all__ = ["unknown_action_warning"]


def unknown_action_warning(name: str, *, suggest: bool = True) -> str | None:
    """``warning: ...`` for an action no service defines (with a did-you-mean unless
    ``suggest`` is false: the search for close names costs milliseconds), else None."""
    prefix, colon, _ = name.partition(":")
    if not colon or "*" in name or "?" in name:
        return None
    catalog = load_services()
    if catalog.find_action(name) is not None:
        return None
    close = catalog.suggest_action(name, limit=1) if suggest else ()
    what = (
        f"no aws service has the prefix `{prefix}`"
        if catalog.service(prefix) is None
        else f"{prefix.lower()} defines no such action"
    )
    hint = f"; did you mean `{close[0]}`?" if close and ":" in close[0] else ""
    return (
        f"warning: unknown action `{name}`: {what} (catalog {catalog.source.package} "
        f"{catalog.source.version}); the decision is unchanged{hint}"
    )
