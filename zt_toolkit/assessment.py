"""One assessment: a snapshot, its frames, the engagement config and the findings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zt_toolkit.checks.model import Pillar
from zt_toolkit.checks.runner import run_checks
from zt_toolkit.config import EngagementConfig
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot


@dataclass
class Assessment:
    """The result of :func:`assess`: everything a notebook or report needs.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> result = assess("reports/demo-snapshot")                     # doctest: +SKIP
    >>> result.pillar_findings("network").status.value_counts()     # doctest: +SKIP
    """

    snapshot: Snapshot
    config: EngagementConfig
    frames: Frames
    findings: pd.DataFrame

    def pillar_findings(self, pillar: str | Pillar) -> pd.DataFrame:
        """Findings of one pillar."""
        return self.findings[self.findings.pillar == Pillar(pillar).value].reset_index(drop=True)

    def coverage(self) -> pd.DataFrame:
        """Every source in the snapshot with its collection status (the coverage table)."""
        rows = [
            {"source": key, "status": cov.status, "count": cov.count, "message": cov.message}
            for key, cov in sorted(self.snapshot.manifest.coverage.items())
        ]
        return pd.DataFrame(rows, columns=["source", "status", "count", "message"])


def assess(
    snapshot: Snapshot | str | os.PathLike[str],
    config: EngagementConfig | str | os.PathLike[str] | None = None,
) -> Assessment:
    """Load (if needed) a snapshot, build its frames and run every check.

    Parameters
    ----------
    snapshot
        A loaded :class:`Snapshot` or the path of a snapshot directory/archive.
    config
        An :class:`EngagementConfig`, the path of an engagement YAML, or None for defaults.
    """
    snap = snapshot if isinstance(snapshot, Snapshot) else Snapshot.load(snapshot)
    if not isinstance(config, EngagementConfig):
        config = EngagementConfig.load(Path(config) if config else None)
    frames = Frames(snap, config)
    return Assessment(snap, config, frames, run_checks(frames))
