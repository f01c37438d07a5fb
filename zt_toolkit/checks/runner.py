"""Run checks over frames and assemble the findings frame.

The runner, not the check, decides ``not_assessed`` (a required frame's source was not collected,
or the check raised :class:`NotAssessed`) and ``error`` (the check raised anything else; the other
checks still run). It adds metadata, applies severity overrides, then waivers and the EKS baseline.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from zt_toolkit.checks.model import (
    CHECK_STATUSES,
    FINDINGS_COLUMNS,
    FINDINGS_SCHEMA,
    RESULT_COLUMNS,
    Check,
    Pillar,
    Severity,
)
from zt_toolkit.checks.registry import all_checks
from zt_toolkit.config import EngagementConfig, Waiver
from zt_toolkit.errors import ConfigError, NotAssessed
from zt_toolkit.frames import Frames

log = logging.getLogger(__name__)

STATUS_REASONS = {
    "pass": "compliant",
    "not_applicable": "nothing to evaluate",
    "not_assessed": "data not available",
    "error": "check failed to run",
}


def run_checks(frames: Frames, checks: Iterable[Check] | None = None) -> pd.DataFrame:
    """Evaluate checks (default: all registered) and return the findings frame.

    Examples
    --------
    >>> from zt_toolkit.frames import Frames
    >>> from zt_toolkit.snapshot import Snapshot
    >>> findings = run_checks(Frames(Snapshot.load("reports/demo-snapshot")))  # doctest: +SKIP
    >>> findings.status.value_counts()                                      # doctest: +SKIP
    """
    config = frames.config
    parts = [_evaluate(chk, frames, config) for chk in (checks or all_checks())]
    findings = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(FINDINGS_COLUMNS))
    findings = _apply_waivers(findings, config)
    order = {p.value: i for i, p in enumerate(Pillar)}
    findings = findings.sort_values(
        by=["pillar", "check_id", "status", "namespace", "name"],
        key=lambda s: s.map(order) if s.name == "pillar" else s,
        kind="stable",
    ).reset_index(drop=True)
    return FINDINGS_SCHEMA.validate(findings[list(FINDINGS_COLUMNS)], lazy=True)


def _cluster_key(frames: Frames) -> dict[str, str]:
    return {"kind": "Cluster", "namespace": "", "name": frames.snapshot.cluster.name}


def _evaluate(chk: Check, frames: Frames, config: EngagementConfig) -> pd.DataFrame:
    gaps = frames.gaps(chk.requires)
    if gaps:
        rows = _single(frames, "not_assessed", "; ".join(gaps), STATUS_REASONS["not_assessed"])
    else:
        try:
            params = config.params_for(chk.id, chk.parameters)
            rows = _validated(chk, chk.run(frames, params))
            if rows.empty:
                rows = _single(frames, "not_applicable", "no resource to evaluate",
                               STATUS_REASONS["not_applicable"])
        except NotAssessed as exc:
            rows = _single(frames, "not_assessed", str(exc), STATUS_REASONS["not_assessed"])
        except ConfigError:
            raise
        except Exception as exc:  # one broken check must not lose the others' findings
            log.exception("check %s raised", chk.id)
            rows = _single(frames, "error", f"{type(exc).__name__}: {exc}",
                           STATUS_REASONS["error"])
    if "reason" not in rows:
        rows["reason"] = ""
    default_reason = rows["status"].map(STATUS_REASONS).fillna(chk.reason)
    rows["reason"] = rows["reason"].fillna("").astype(str).where(
        rows["reason"].fillna("").astype(str) != "", default_reason)
    rows["check_id"] = chk.id
    rows["pillar"] = chk.pillar.value
    rows["severity"] = _severities(chk, rows, config)
    rows["remediation"] = chk.remediation
    rows["frameworks"] = chk.frameworks
    rows["detail"] = rows["detail"].fillna("").astype(str)
    for col in ("kind", "namespace", "name"):
        rows[col] = rows[col].fillna("").astype(str)
    return rows


def _severities(chk: Check, rows: pd.DataFrame, config: EngagementConfig) -> pd.Series:
    """Severity per row: the engagement's override, else the row's own, else the check's.

    A check may grade its rows (the AWS-owned default key is a low-severity failure).
    """
    if chk.id in config.severity_overrides:
        return pd.Series(config.severity_overrides[chk.id], index=rows.index, dtype=object)
    default = pd.Series(chk.severity.value, index=rows.index, dtype=object)
    if "severity" not in rows:
        return default
    return rows["severity"].astype(object).where(rows["severity"].notna(), default).astype(str)


def _single(frames: Frames, status: str, detail: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame([{**_cluster_key(frames), "status": status, "detail": detail,
                          "reason": reason}])


def _validated(chk: Check, rows: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(rows, pd.DataFrame):
        raise TypeError(f"check {chk.id} returned {type(rows).__name__}, not a DataFrame")
    missing = [c for c in RESULT_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"check {chk.id} returned no column(s) {missing}")
    bad = set(rows["status"]) - set(CHECK_STATUSES)
    if bad:
        raise ValueError(f"check {chk.id} returned status(es) {sorted(bad)}")
    if "severity" in rows:
        unknown = set(rows["severity"].dropna()) - {s.value for s in Severity}
        if unknown:
            raise ValueError(f"check {chk.id} returned severity(ies) {sorted(unknown)}")
    keep = [*RESULT_COLUMNS, *[c for c in ("reason", "severity") if c in rows]]
    return rows[keep].copy()


def _apply_waivers(findings: pd.DataFrame, config: EngagementConfig) -> pd.DataFrame:
    """Mark waived findings; an expired waiver is named in the row and not applied.

    Waivers apply in order (config first, then the EKS baseline); the first live match wins.
    Matching is vectorized per check, so that tens of thousands of rows stay cheap.
    """
    n = len(findings)
    waived = np.zeros(n, dtype=bool)
    reasons = np.full(n, "", dtype=object)
    all_waivers = config.all_waivers()
    eligible = findings["status"].isin(["fail", "pass"]).to_numpy()
    failing = (findings["status"] == "fail").to_numpy()
    for check_id, index in findings.groupby("check_id", sort=False).indices.items():
        candidates = [w for w in all_waivers if fnmatch.fnmatchcase(check_id, w.check)]
        if not candidates:
            continue
        rows = findings.iloc[index]
        taken = ~eligible[index]
        expired_text = np.full(len(index), "", dtype=object)
        for w in candidates:
            hit = ~taken & waiver_matches(rows, w)
            if w.expired(config.today):
                expired_text[hit & (expired_text == "")] = (
                    f"waiver expired {w.expires.isoformat()} (not applied): {w.reason}")
                continue
            taken |= hit
            hit_fail = hit & failing[index]
            waived[index[hit_fail]] = True
            reasons[index[hit_fail]] = w.describe()
        show_expired = ~waived[index] & failing[index] & (expired_text != "")
        reasons[index[show_expired]] = expired_text[show_expired]
    return findings.assign(waived=waived, waiver_reason=reasons.astype(str))


def waiver_matches(findings: pd.DataFrame, waiver: Waiver) -> np.ndarray:
    """Which findings a waiver's resource patterns (kind, namespace, name) match.

    The check pattern is not applied here: the caller selects the findings of the checks it
    covers.
    """
    return (_glob(findings["kind"], waiver.kind) & _glob(findings["namespace"], waiver.namespace)
            & _glob(findings["name"], waiver.name))


def _glob(values: pd.Series, pattern: str) -> np.ndarray:
    """Vectorized fnmatch: exact strings compare, ``*`` matches all, globs use a regex."""
    if pattern == "*":
        return np.ones(len(values), dtype=bool)
    if not any(ch in pattern for ch in "*?["):
        return (values == pattern).to_numpy()
    return values.str.match(fnmatch.translate(pattern)).fillna(False).to_numpy(dtype=bool)
