"""The score model (zt_toolkit.report.scores): credits, weights, coverage, CISA stages."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.report.factories import frame, row
from zt_toolkit.report import scores


def pillar(findings: pd.DataFrame, name: str = "pod_security") -> pd.Series:
    return scores.score_pillars(findings).set_index("pillar").loc[name]


def test_passing_checks_score_100_and_reach_optimal():
    f = frame(row("a", "pass", severity="critical"), row("b", "pass", severity="low"))
    p = pillar(f)
    assert p["score"] == 100.0
    assert p["stage"] == "optimal"
    assert p["coverage"] == 1.0


def test_a_failing_check_earns_at_most_half_its_weight():
    # critical check: 9 of 10 resources pass → credit .5 * .9 = .45; weight 10 → 45
    f = frame(*[row("c", "pass", severity="critical", name=f"w{i}") for i in range(9)],
              row("c", "fail", severity="critical", name="bad"))
    assert pillar(f)["score"] == 45.0


def test_weights_follow_severity():
    # failing high (credit 0) + passing medium (credit 1): 100 * 2 / (5 + 2) = 28.6 → 29
    f = frame(row("h", "fail", severity="high"), row("m", "pass", severity="medium"))
    assert pillar(f)["score"] == 29
    assert scores.SEVERITY_WEIGHTS == {"critical": 10, "high": 5, "medium": 2, "low": 1,
                                       "info": 0}
    assert "critical 10, high 5, medium 2, low 1" in scores.__doc__


def test_waived_failures_count_as_passing_expired_ones_do_not():
    waived = frame(row("h", "fail", waived=True, waiver_reason="accepted"))
    assert pillar(waived)["score"] == 100.0
    expired = frame(row("h", "fail", waiver_reason="waiver expired 2026-01-01 (not applied): x"))
    assert pillar(expired)["score"] == 0.0


def test_not_assessed_checks_lower_coverage_not_the_score():
    f = frame(row("a", "pass", severity="high"),
              row("b", "not_assessed", severity="high", kind="Cluster", namespace=""),
              row("c", "error", severity="medium", kind="Cluster", namespace=""),
              row("d", "not_applicable", severity="critical", kind="Cluster", namespace=""))
    p = pillar(f)
    assert p["score"] == 100.0
    assert p["coverage"] == pytest.approx(5 / 12, abs=1e-3)  # not_applicable counts neither way
    assert p["stage"] is None  # under half the weight assessed: no stage
    assert p["assessed"] == 1 and p["checks"] == 4


def test_a_pillar_without_data_has_no_score_and_no_stage():
    f = frame(row("a", "not_assessed", kind="Cluster", namespace=""))
    p = pillar(f)
    assert math.isnan(p["score"])
    assert p["stage"] is None
    assert p["coverage"] == 0.0
    assert math.isnan(pillar(f, "audit")["score"])  # no check at all


@pytest.mark.parametrize(("score", "failing", "stage"), [
    (95, {}, "optimal"),
    (95, {"high": 1}, "advanced"),
    (95, {"critical": 1}, "initial"),
    (75, {}, "advanced"),
    (69.9, {}, "initial"),
    (40, {"critical": 3}, "initial"),
    (39.9, {}, "traditional"),
    (0, {}, "traditional"),
])
def test_maturity_stage_thresholds(score, failing, stage):
    assert scores.maturity_stage(score, 1.0, failing) == stage


def test_overall_is_the_mean_score_and_the_weakest_stage():
    pillars = ["network", "identity", "pod_security", "images", "secrets", "audit"]
    f = frame(*[row(f"{p}_ok", "pass", severity="high", pillar=p) for p in pillars],
              row("pod_security_bad", "fail", severity="low", pillar="pod_security"))
    p, overall = scores.score_assessment(f)
    assert p.set_index("pillar").loc["pod_security", "score"] == 83  # 100 * 5 / 6
    assert overall["score"] == round((5 * 100 + 83) / 6)
    assert overall["stage"] == "advanced"  # pod security caps the cluster
    assert overall["coverage"] == 1.0
    assert scores.score_overall(f) == overall


def test_no_overall_stage_when_too_few_pillars_are_placed():
    f = frame(row("a", "pass", pillar="network"), row("b", "pass", pillar="identity"))
    overall = scores.score_overall(f)
    assert overall["score"] == 100.0
    assert overall["stage"] is None


def test_empty_findings():
    assert scores.score_overall(frame()) == {"score": None, "stage": None, "coverage": 0.0}


def test_stage_labels():
    assert scores.stage_label("advanced") == "Advanced"
    assert scores.stage_label(None) == "Not determined"
    assert scores.stage_label(float("nan")) == "Not determined"
