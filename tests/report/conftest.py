"""Fixtures of the report tests: small hand-built findings frames, the assessed demo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.report.factories import frame, row

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "acme-shop.yaml"


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path):
    """The demo snapshot assessed with the demo engagement config."""
    from zt_toolkit import assess
    from zt_toolkit.report.notebook import engagement_config

    return assess(demo_snapshot, engagement_config(DEMO_CONFIG, None))


@pytest.fixture
def mixed() -> pd.DataFrame:
    """Pod security: a critical check half failing, a low check passing, one not assessed;
    network: a high check with one waived failure; identity: only not assessed."""
    return frame(
        row("crit_check", "fail", severity="critical", name="api"),
        row("crit_check", "pass", severity="critical", name="web"),
        row("low_check", "pass", severity="low", name="api"),
        row("low_check", "pass", severity="low", name="web"),
        row("na_check", "not_assessed", severity="high", kind="Cluster", namespace="",
            name="prod", detail="k8s/pods: forbidden (403)"),
        row("net_check", "fail", severity="high", pillar="network", kind="Namespace",
            namespace="", name="legacy", waived=True, waiver_reason="EKS baseline: managed"),
        row("net_check", "pass", severity="high", pillar="network", kind="Namespace",
            namespace="", name="shop"),
        row("id_check", "not_assessed", severity="medium", pillar="identity", kind="Cluster",
            namespace="", name="prod", detail="aws/iam/get_role: not_collected (not in the "
            "snapshot)"),
    )
