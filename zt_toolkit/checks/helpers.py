"""Helpers so that a check body only states its predicate.

A check returns one row per evaluated resource: ``kind, namespace, name, status, detail``
(optionally ``reason`` when a row needs a reason other than the check's constant one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

KEY = ["kind", "namespace", "name"]


def is_true(values: pd.Series) -> pd.Series:
    """Set and true (NA, i.e. unset, counts as not true)."""
    return values.eq(True).fillna(False).astype(bool)


def is_not_false(values: pd.Series) -> pd.Series:
    """True or unset: for fields whose unset default is the risky one (allowPrivilegeEscalation)."""
    return ~values.eq(False).fillna(False).astype(bool)


def _as_mask(failed: pd.Series) -> pd.Series:
    """A plain bool mask; NA is a bug in the check (unset must be decided explicitly)."""
    if failed.isna().any():
        raise ValueError("failed mask holds NA: decide unset explicitly (is_true / is_not_false)")
    return failed.astype(bool)


def status_of(failed: bool) -> str:
    """``fail`` or ``pass``."""
    return "fail" if failed else "pass"


def result(kind: str, namespace: str, name: str, *, failed: bool = False, detail: str = "",
           reason: str | None = None, status: str | None = None) -> dict[str, Any]:
    """One result row as a dict (collect them and pass to :func:`results`).

    ``status`` overrides ``failed`` for ``not_applicable`` rows, and for ``not_assessed`` rows
    whose own data is missing (an IAM role whose policies could not be read).
    """
    row = {"kind": kind, "namespace": namespace, "name": name,
           "status": status or status_of(failed), "detail": detail}
    if reason is not None:
        row["reason"] = reason
    return row


def results(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Result rows → the frame a check returns (empty frame with the right columns)."""
    df = pd.DataFrame(list(rows))
    if df.empty:
        return pd.DataFrame(columns=[*KEY, "status", "detail"])
    return df


def results_per_row(
    df: pd.DataFrame, failed: pd.Series, detail: pd.Series | str = ""
) -> pd.DataFrame:
    """One result per row of ``df`` (which carries ``kind, namespace, name``)."""
    out = df[KEY].copy()
    out["status"] = _as_mask(failed).map({True: "fail", False: "pass"}).values
    out["detail"] = detail if isinstance(detail, str) else detail.fillna("").astype(str).values
    return out.reset_index(drop=True)


def results_by_workload(
    rows: pd.DataFrame,
    failed: pd.Series,
    *,
    what: pd.Series | None = None,
    label: str = "containers",
    workloads: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Group per-container (or per-volume) rows by owning workload.

    A workload fails when any of its rows fails; the detail names the offenders, e.g.
    ``containers "api", "sidecar"``. ``what`` names each row (default: the ``container``
    column). Pass ``workloads`` to also report workloads that have no rows at all (as pass).
    """
    names = what if what is not None else rows["container"]
    failed = _as_mask(failed)
    offenders = (
        pd.DataFrame({**{k: rows[k] for k in KEY}, "what": names})[failed.values]
        .groupby(KEY, sort=False)["what"]
        .agg(lambda s: ", ".join(f'"{x}"' for x in dict.fromkeys(s)))
    )
    keys = rows[KEY] if workloads is None else workloads[KEY]
    out = keys.drop_duplicates().reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(out)
    detail = offenders.reindex(idx)
    out["status"] = ["fail" if isinstance(d, str) else "pass" for d in detail]
    out["detail"] = [f"{label} {d}" if isinstance(d, str) else "" for d in detail]
    return out


def cluster_result(frames: Any, *, failed: bool, detail: str = "",
                   reason: str | None = None) -> pd.DataFrame:
    """A single row for a cluster-level check, named by the EKS cluster."""
    name = frames.snapshot.cluster.name
    return results([result("Cluster", "", name, failed=failed, detail=detail, reason=reason)])


def join_names(values: Iterable[Any], limit: int = 10) -> str:
    """``"a", "b", "c" and 7 more`` — keeps details readable for long offender lists."""
    values = [str(v) for v in values]
    shown = ", ".join(f'"{v}"' for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
