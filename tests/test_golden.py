"""Golden findings for the demo snapshot, reviewed as a diff.

Regenerate after an intended change with ``ZT_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and
read the diff of ``tests/golden/demo_findings.csv`` before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from zt_toolkit.assessment import assess
from zt_toolkit.checks import all_checks
from zt_toolkit.checks.model import Pillar
from zt_toolkit.config import EngagementConfig

GOLDEN = Path(__file__).parent / "golden" / "demo_findings.csv"
CONFIG = Path(__file__).resolve().parents[1] / "examples" / "acme-shop.yaml"
COLUMNS = ["check_id", "kind", "namespace", "name", "status", "severity", "waived", "reason",
           "detail"]


def demo_findings(demo_snapshot) -> pd.DataFrame:
    config = EngagementConfig.load(CONFIG)
    config.today = pd.Timestamp("2026-11-27").date()  # waiver expiry is judged on a fixed day
    return assess(demo_snapshot, config).findings[COLUMNS].reset_index(drop=True)


def test_demo_findings_match_golden(demo_snapshot):
    findings = demo_findings(demo_snapshot)
    if os.environ.get("ZT_UPDATE_GOLDEN"):
        GOLDEN.write_text(findings.to_csv(index=False))
    golden = pd.read_csv(GOLDEN, keep_default_na=False, dtype=str)
    actual = findings.astype(str)
    key = ["check_id", "kind", "namespace", "name"]
    merged = golden.merge(actual, on=key, how="outer", suffixes=("_golden", "_now"),
                          indicator=True)
    missing = merged[merged._merge == "left_only"][key].values.tolist()
    new = merged[merged._merge == "right_only"][key].values.tolist()
    assert not missing, f"findings gone since golden: {missing[:20]}"
    assert not new, f"findings new since golden: {new[:20]}"
    for col in ("status", "severity", "waived", "reason", "detail"):
        changed = merged[merged[f"{col}_golden"] != merged[f"{col}_now"]]
        assert changed.empty, (col, changed[key + [f"{col}_golden", f"{col}_now"]].head(10)
                               .to_dict("records"))


def test_demo_has_passes_and_fails_in_every_pillar(demo_snapshot):
    findings = demo_findings(demo_snapshot)
    for pillar in Pillar:
        statuses = set(findings[findings.check_id.isin(
            [c.id for c in all_checks() if c.pillar is pillar])].status)
        assert {"pass", "fail"} <= statuses, (pillar.value, statuses)
    assert (findings.status == "error").sum() == 0, findings[findings.status == "error"]


def test_every_check_passes_and_fails_somewhere_on_the_demo(demo_snapshot):
    """The demo mixes good and bad practice so that each check shows both outcomes.

    Cluster-level checks have one row, so they show one outcome. Checks whose every row is a
    designed violation are listed with the reason.
    """
    all_fail_by_design = {
        # one row per audit category; the recorded query holds events of all four on purpose
        "audit_suspicious_activity_absent",
    }
    findings = demo_findings(demo_snapshot)
    outcomes = findings.groupby("check_id").status.agg(set)
    single_row = findings.groupby("check_id").size() == 1
    lacking = [cid for cid, st in outcomes.items()
               if not single_row[cid] and cid not in all_fail_by_design
               and not {"pass", "fail"} <= st]
    assert not lacking, {cid: sorted(outcomes[cid]) for cid in lacking}
