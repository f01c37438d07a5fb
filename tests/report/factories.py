"""Factories for small hand-built findings frames (the fixed findings schema)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from zt_toolkit.assessment import Assessment
from zt_toolkit.checks.model import FINDINGS_COLUMNS
from zt_toolkit.config import EngagementConfig


def row(check_id: str, status: str = "fail", *, severity: str = "high",
        pillar: str = "pod_security", kind: str = "Deployment", namespace: str = "shop",
        name: str = "api", detail: str = "", waived: bool = False, waiver_reason: str = "",
        remediation: str = "Fix it.") -> dict[str, Any]:
    """One finding as a dict in the findings schema."""
    return {"check_id": check_id, "pillar": pillar, "severity": severity, "status": status,
            "kind": kind, "namespace": namespace, "name": name, "reason": "r",
            "detail": detail, "remediation": remediation, "waived": waived,
            "waiver_reason": waiver_reason, "frameworks": "CIS 1.1"}


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """A findings frame from rows (columns in schema order)."""
    return pd.DataFrame(list(rows), columns=list(FINDINGS_COLUMNS))


def assessment_of(findings: pd.DataFrame, coverage: pd.DataFrame | None = None) -> Any:
    """An Assessment around hand-built findings (no snapshot, no frames)."""
    a = Assessment(snapshot=None, config=EngagementConfig(), frames=None,  # type: ignore[arg-type]
                   findings=findings)
    if coverage is not None:
        a.coverage = lambda: coverage  # type: ignore[method-assign]
    return a
