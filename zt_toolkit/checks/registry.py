"""The check registry: the ``@check`` decorator and discovery of ``checks/<pillar>/<id>.py``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from zt_toolkit.checks.model import Check, Pillar, Severity, validate_check
from zt_toolkit.errors import CheckDefinitionError

_REGISTRY: dict[str, Check] = {}


def check(
    *,
    id: str,  # noqa: A002 - the catalogue calls it id
    pillar: Pillar,
    severity: Severity,
    title: str,
    requires: Iterable[str],
    remediation: str,
    reason: str,
    references: Iterable[str],
    parameters: dict[str, Any] | None = None,
) -> Callable[[Callable[..., pd.DataFrame]], Callable[..., pd.DataFrame]]:
    """Register a check. ``reason`` is the short constant text of a failing row.

    The function takes ``frames`` (and ``params`` when ``parameters`` declares defaults that an
    engagement config may override) and returns one row per evaluated resource with columns
    ``kind, namespace, name, status (pass|fail|not_applicable|not_assessed), detail``.
    """

    def register(fn: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        chk = Check(
            id=id, pillar=Pillar(pillar), severity=Severity(severity), title=title,
            requires=tuple(requires), remediation=remediation, reason=reason,
            references=tuple(references), parameters=dict(parameters or {}),
            rationale=(fn.__doc__ or "").strip(), func=fn,
        )
        validate_check(chk, fn.__module__)
        if id in _REGISTRY and _REGISTRY[id].func is not fn:
            raise CheckDefinitionError(f"check {id} is registered twice")
        _REGISTRY[id] = chk
        fn.check = chk  # type: ignore[attr-defined]
        return fn

    return register


_discovered = False


def discover() -> None:
    """Import every check module under ``zt_toolkit.checks.<pillar>``."""
    global _discovered
    if _discovered:
        return
    for pillar in Pillar:
        package = importlib.import_module(f"zt_toolkit.checks.{pillar.value}")
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _discovered = True


def all_checks() -> list[Check]:
    """Every registered check, in pillar order then id."""
    discover()
    order = {p: i for i, p in enumerate(Pillar)}
    return sorted(_REGISTRY.values(), key=lambda c: (order[c.pillar], c.id))


def get_check(check_id: str) -> Check:
    """One check by id (KeyError names it)."""
    discover()
    try:
        return _REGISTRY[check_id]
    except KeyError:
        raise KeyError(f"no check {check_id!r}") from None
