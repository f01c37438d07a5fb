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
    """Workloads whose pods run Windows (``os`` column of the workloads frame): their keys."""
    w = frames.workloads
    return w.loc[w["os"].eq("windows").fillna(False).astype(bool), KEY].reset_index(drop=True)


def linux_only(rows: pd.DataFrame, frames, control: str) -> pd.DataFrame:
    """Mark the result rows of Windows workloads ``not_applicable`` for a Linux-only control."""
    win = windows_workloads(frames)
    if win.empty or rows.empty:
        return rows
    hit = pd.MultiIndex.from_frame(rows[KEY]).isin(pd.MultiIndex.from_frame(win))
    rows = rows.copy()
    rows.loc[hit, "status"] = "not_applicable"
    rows.loc[hit, "detail"] = f"Windows pod: {control} is Linux-only"
    if "reason" in rows:
        rows.loc[hit, "reason"] = ""
    return rows
