"""Workload rows of the Pod Security Standards checks (this module registers no check)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import KEY


def pss_results(frames, level: str) -> pd.DataFrame:
    """One result per workload from the ``workload_pss`` frame at ``level``.

    A failing row's detail names every violated Pod Security Admission check with its detail
    and the version evaluated at; a passing row says which version admitted it.
    """
    v = frames.workload_pss
    v = v[v["level"] == level]
    at = " [at " + v["evaluated_at"] + "]"
    out = v[KEY].copy()
    out["status"] = np.where(v["allowed"], "pass", "fail")
    out["detail"] = np.where(v["allowed"], "admitted" + at, v["detail"] + at)
    return out.reset_index(drop=True)
