"""Helpers shared by the pod_security checks (this module registers no check).

Windows pods: the Pod Security Standards exempt pods with ``spec.os.name: windows`` from the
Linux-only controls (seccomp, capabilities, allowPrivilegeEscalation, runAsNonRoot/runAsUser
as Linux UIDs, readOnlyRootFilesystem). A workload pinned to Windows nodes by
``nodeSelector kubernetes.io/os: windows`` is treated the same way.
"""

from __future__ import annotations

import pandas as pd

from zt_toolkit.checks.helpers import KEY


def windows_workloads(frames) -> pd.DataFrame:
    """Workloads whose pods run Windows: ``kind, namespace, name, why``."""
    w = frames.workloads
    specs = frames.pod_specs
    os_name = w["spec_hash"].map(lambda h: str(((specs[h]["spec"].get("os") or {})
                                                .get("name")) or "").lower())
    selector = w["node_selector"].map(lambda s: str((s or {}).get("kubernetes.io/os", "")).lower())
    is_windows = os_name.eq("windows") | selector.eq("windows")
    why = os_name.map({"windows": "spec.os.name: windows"}).fillna(
        "nodeSelector kubernetes.io/os: windows")
    out = w.loc[is_windows, KEY].copy()
    out["why"] = why[is_windows].values
    return out.reset_index(drop=True)


def linux_only(rows: pd.DataFrame, frames, control: str) -> pd.DataFrame:
    """Mark the result rows of Windows workloads ``not_applicable`` for a Linux-only control."""
    win = windows_workloads(frames)
    if win.empty or rows.empty:
        return rows
    keys = pd.MultiIndex.from_frame(rows[KEY])
    why = win.set_index(KEY)["why"]
    hit = keys.isin(why.index)
    rows = rows.copy()
    rows.loc[hit, "status"] = "not_applicable"
    rows.loc[hit, "detail"] = [f"Windows pod ({why.loc[k]}): {control} is Linux-only"
                               for k in keys[hit]]
    if "reason" in rows:
        rows.loc[hit, "reason"] = ""
    return rows
