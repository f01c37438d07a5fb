"""Scores: a 0–100 score per pillar and overall, and a maturity stage in CISA's terms.

The same numbers appear in the notebooks, the PDF and ``summary.json``: every one of them is
computed here, from the findings alone.

The model
---------
**Check credit.** Each check that evaluated at least one resource (pass, fail or waived) earns a
credit between 0 and 1:

* a passing check (no open failure) earns 1;
* a failing check earns half its *pass ratio* (the share of its evaluated resources that pass),
  so any open failure costs at least half the check, and a check that fails everywhere earns 0.

A waived failure counts as passing: the client accepted that risk in writing, and the waivers
are listed beside the score. Expired waivers are not applied, so their failures count.

**Pillar score** = 100 × Σ w·credit / Σ w over the pillar's assessed checks (rounded to a
whole number), where ``w`` is the
weight of the check's severity (:data:`SEVERITY_WEIGHTS`: critical 10, high 5, medium 2, low 1,
info 0). Checks that were not assessed or errored are left out of the score, and the share of
the pillar's weight that *was* assessed is reported as its ``coverage``: a pillar whose data was
not collected has no score rather than a good one. Checks with nothing to evaluate
(not_applicable) count neither way.

**Maturity stage** per pillar, in the terms of the CISA Zero Trust Maturity Model 2.0
(traditional → initial → advanced → optimal):

==============  ==========================================================================
optimal         score ≥ 90 and no open critical or high failing check
advanced        score ≥ 70 and no open critical failing check
initial         score ≥ 40
traditional     otherwise
(none)          no score, or coverage below 50 %: too little was assessed to place it
==============  ==========================================================================

**Overall** score = the mean of the pillar scores (each pillar counts the same, as in the
ZTMM); overall stage = the *lowest* stage of the pillars that have one (an attacker needs only
the weakest pillar), and no overall stage when fewer than four pillars could be placed.
Overall coverage is the assessed share of all check weight.

The stage is a reading aid for the client, mapped from automated checks: it is not a CISA
assessment, which also covers processes this toolkit cannot see.

Examples
--------
>>> from zt_toolkit import assess
>>> from zt_toolkit.report import scores
>>> a = assess("reports/demo-snapshot")                      # doctest: +SKIP
>>> scores.score_pillars(a.findings)[["pillar", "score", "stage"]]  # doctest: +SKIP
>>> scores.score_overall(a.findings)                         # doctest: +SKIP
{'score': 43, 'stage': 'traditional', 'coverage': 1.0}
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from zt_toolkit.checks.model import Pillar

SEVERITY_WEIGHTS = {"critical": 10, "high": 5, "medium": 2, "low": 1, "info": 0}
"""Weight of a check's severity in its pillar's score."""

MATURITY_STAGES = ("traditional", "initial", "advanced", "optimal")
"""CISA Zero Trust Maturity Model stages, lowest first."""

STAGE_LABELS = {"traditional": "Traditional", "initial": "Initial", "advanced": "Advanced",
                "optimal": "Optimal"}

FAILING_CHECK_CREDIT = 0.5
"""The most a failing check can earn: its pass ratio times this."""

MIN_STAGE_COVERAGE = 0.5
"""A pillar with less of its check weight assessed gets no stage."""

MIN_PILLARS_FOR_OVERALL_STAGE = 4

MODEL = "zt-score-1"
"""Name of this scoring model, recorded in summary.json so that scores stay comparable."""

NOT_EVALUATED = ("not_assessed", "error")


def check_credit(status: str, pass_ratio: float) -> float:
    """Credit of one evaluated check (see the module docstring).

    >>> check_credit("pass", 1.0), check_credit("fail", 0.8), check_credit("fail", 0.0)
    (1.0, 0.4, 0.0)
    """
    return 1.0 if status != "fail" else FAILING_CHECK_CREDIT * float(pass_ratio)


def maturity_stage(score: float | None, coverage: float,
                   open_failures: dict[str, int]) -> str | None:
    """Place one pillar on the CISA maturity scale (None when too little was assessed).

    ``open_failures`` counts failing checks per severity.

    >>> maturity_stage(95, 1.0, {"high": 0, "critical": 0})
    'optimal'
    >>> maturity_stage(95, 1.0, {"high": 1})
    'advanced'
    >>> maturity_stage(95, 0.3, {})
    """
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return None
    if coverage < MIN_STAGE_COVERAGE:
        return None
    critical, high = open_failures.get("critical", 0), open_failures.get("high", 0)
    if score >= 90 and critical == 0 and high == 0:
        return "optimal"
    if score >= 70 and critical == 0:
        return "advanced"
    if score >= 40:
        return "initial"
    return "traditional"


def score_checks(checks: pd.DataFrame) -> pd.DataFrame:
    """Add ``weight``, ``evaluated`` and ``credit`` to a per-check table.

    ``checks`` is :func:`zt_toolkit.report.tables.summarize_checks` (columns pillar, severity,
    status, resources, pass_ratio).
    """
    out = checks.copy()
    out["weight"] = out["severity"].map(SEVERITY_WEIGHTS).fillna(0).astype(float)
    out["evaluated"] = out["resources"].fillna(0).astype(int) > 0
    ratio = out["pass_ratio"].astype("Float64").fillna(0.0).astype(float)
    out["credit"] = [check_credit(s, r) if e else math.nan
                     for s, r, e in zip(out["status"], ratio, out["evaluated"], strict=True)]
    return out


def score_pillars(findings: pd.DataFrame, checks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score every pillar (all six, in report order).

    Columns: ``pillar, title, score`` (0–100, a whole number; NaN when nothing was
    assessed), ``stage`` (a :data:`MATURITY_STAGES` value or None), ``coverage`` (0–1, share
    of the pillar's check weight that was assessed), ``checks``, ``assessed`` (checks that
    evaluated resources), and ``failing_critical`` / ``failing_high`` (open failing checks).
    ``checks`` may pass :func:`zt_toolkit.report.tables.summarize_checks` of the same findings,
    when the caller has it, so that it is not computed twice.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> a = assess("reports/demo-snapshot")                                # doctest: +SKIP
    >>> score_pillars(a.findings).set_index("pillar").loc["network", "stage"]  # doctest: +SKIP
    'initial'
    """
    if checks is not None:  # the caller already summarized the checks
        return _score_pillars(score_checks(checks) if not checks.empty else None)
    return _score_pillars(_scored_checks(findings))


def score_overall(findings: pd.DataFrame) -> dict[str, Any]:
    """The overall score, stage and coverage (see the module docstring).

    Returns ``{"score": float | None, "stage": str | None, "coverage": float}``.
    """
    checks = _scored_checks(findings)
    return _overall(_score_pillars(checks), checks)


def score_assessment(findings: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Both :func:`score_pillars` and :func:`score_overall`, computing the check table once."""
    checks = _scored_checks(findings)
    pillars = _score_pillars(checks)
    return pillars, _overall(pillars, checks)


def _scored_checks(findings: pd.DataFrame) -> pd.DataFrame | None:
    from zt_toolkit.report.tables import summarize_checks

    return None if findings.empty else score_checks(summarize_checks(findings))


def _score_pillars(checks: pd.DataFrame | None) -> pd.DataFrame:
    return pd.DataFrame([
        _score_pillar(p, None if checks is None else checks[checks["pillar"] == p.value])
        for p in Pillar])


def _coverage(checks: pd.DataFrame) -> float:
    """Share of the weight of checks that had something to look at which was assessed."""
    judged = checks[checks["status"] != "not_applicable"]
    if judged.empty:
        return 0.0
    assessed = ~judged["status"].isin(NOT_EVALUATED)
    total = float(judged["weight"].sum())
    if total == 0:  # only info checks: count them instead of weighing them
        return float(assessed.mean())
    return float(judged.loc[assessed, "weight"].sum()) / total


def _score_pillar(pillar: Pillar, c: pd.DataFrame | None) -> dict[str, Any]:
    row: dict[str, Any] = {"pillar": pillar.value, "title": pillar.title, "score": math.nan,
                           "stage": None, "coverage": 0.0, "checks": 0, "assessed": 0,
                           "failing_critical": 0, "failing_high": 0}
    if c is None or c.empty:
        return row
    evaluated = c[c["evaluated"]]
    failing = c[c["status"] == "fail"]["severity"].value_counts()
    open_failures = {s: int(failing.get(s, 0)) for s in ("critical", "high")}
    weight = float(evaluated["weight"].sum())
    score = (round(100 * float((evaluated["weight"] * evaluated["credit"]).sum()) / weight)
             if weight > 0 else math.nan)
    coverage = _coverage(c)
    row.update(score=score, coverage=round(coverage, 3), checks=len(c),
               assessed=len(evaluated),
               stage=maturity_stage(None if math.isnan(score) else score, coverage,
                                    open_failures),
               failing_critical=open_failures["critical"], failing_high=open_failures["high"])
    return row


def _overall(pillars: pd.DataFrame, checks: pd.DataFrame | None) -> dict[str, Any]:
    scored = pillars["score"].dropna()
    staged = [s for s in pillars["stage"] if isinstance(s, str)]
    stage = (min(staged, key=MATURITY_STAGES.index)
             if len(staged) >= MIN_PILLARS_FOR_OVERALL_STAGE else None)
    coverage = 0.0 if checks is None else _coverage(checks)
    return {"score": round(float(scored.mean())) if len(scored) else None,
            "stage": stage, "coverage": round(coverage, 3)}


def stage_label(stage: Any) -> str:
    """Human label of a stage (``"Not determined"`` for None or NaN)."""
    return STAGE_LABELS.get(stage, "Not determined") if isinstance(stage, str) else \
        "Not determined"
