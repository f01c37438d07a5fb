"""The "since the last assessment" section of the summary: what changed, per pillar.

``zt report --previous DIR`` hands the previous report folder (or findings file) to the
summary notebook, which calls::

    zt.narrate_changes(a, previous)     # Markdown: new, resolved, coverage loss, score change
    zt.summarize_changes(a, previous)   # DataFrame: the same per pillar, with both scores

The finding-by-finding comparison is :func:`zt_toolkit.diff.diff_findings` (identity: check id,
kind, namespace, name). Both scores are computed here by
:func:`zt_toolkit.report.scores.score_pillars` from the two sets of findings, so the previous
score is the one the current model gives the previous findings (comparable even when the
previous report was written by an older version). A failure that could not be assessed this
time is reported as coverage loss, never as resolved.

Examples
--------
>>> import zt_toolkit.report as zt
>>> a = zt.setup("reports/demo-snapshot")                                  # doctest: +SKIP
>>> zt.narrate_changes(a, "reports/acme-shop/2026-05-04")                  # doctest: +SKIP
>>> zt.summarize_changes(a, "reports/acme-shop/2026-05-04")                # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from IPython.display import Markdown

from zt_toolkit.checks.model import Pillar
from zt_toolkit.diff import (
    CHANGES,
    assessment_date,
    diff_findings,
    findings_file,
    load_findings,
    normalize_findings,
    summarize_diff,
)
from zt_toolkit.report.notebook import md_escape, plural, severity_phrase
from zt_toolkit.report.scores import score_overall, score_pillars, stage_label

if TYPE_CHECKING:
    from zt_toolkit.assessment import Assessment

Previous = str | os.PathLike[str] | pd.DataFrame | None
"""A previous assessment: report folder, findings .json/.csv file, findings frame, or None."""

CHANGE_COLUMNS = ["pillar", "title", *CHANGES, "previous_score", "score", "score_change",
                  "previous_stage", "stage", "previous_coverage", "coverage"]
DISPLAY_COLUMNS = ["title", "new", "resolved", "severity_changed", "not_assessed",
                   "previous_score", "score", "score_change"]
COLUMN_LABELS = {"title": "Pillar", "new": "New", "resolved": "Resolved",
                 "severity_changed": "Severity changed", "not_assessed": "No longer assessed",
                 "previous_score": "Score before", "score": "Score now",
                 "score_change": "Change"}
NO_PREVIOUS = ("No earlier assessment was supplied for comparison: this report is the "
               "baseline that later assessments of the cluster are measured against.")


@dataclass
class _Comparison:
    previous: pd.DataFrame
    date: str | None
    diff: pd.DataFrame


_LAST: list[tuple[Any, tuple[Any, ...], _Comparison]] = []  # the last file comparison


def _compare(assessment: Assessment, previous: Previous) -> _Comparison | None:
    """Load the previous findings and diff them against the assessment (None: no previous).

    The summary notebook calls both ``narrate_changes`` and ``summarize_changes`` with the same
    previous folder: the last comparison with a file is kept, keyed on the current findings
    object and the file's path, size and modification time.
    """
    if previous is None:
        return None
    if isinstance(previous, pd.DataFrame):
        if previous.empty:
            return None
        old = normalize_findings(previous, "previous findings")
        return _Comparison(old, None, diff_findings(old, assessment.findings))
    if not str(previous).strip():
        return None
    file = findings_file(previous)
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, str(previous))
    if _LAST and _LAST[0][0] is assessment.findings and _LAST[0][1] == key:
        return _LAST[0][2]
    old = load_findings(file)
    cmp = _Comparison(old, assessment_date(previous), diff_findings(old, assessment.findings))
    _LAST[:] = [(assessment.findings, key, cmp)]
    return cmp


def _since(day: str | None) -> str:
    return f"the last assessment on {md_escape(day)}" if day else "the previous assessment"


def summarize_changes(assessment: Assessment, previous: Previous) -> pd.DataFrame:
    """What changed since a previous assessment, per pillar, with both scores.

    Parameters
    ----------
    assessment
        The current assessment.
    previous
        The previous report folder or findings .json/.csv file (its findings are compared),
        a findings frame, or None.

    Returns
    -------
    One row per pillar (report order) and a last row ``overall`` ("All pillars"): ``pillar,
    title``, a count per change kind (:data:`zt_toolkit.diff.CHANGES`: ``new, waiver_expired,
    waiver_removed, severity_changed, not_assessed, resolved, waived, unchanged``),
    ``previous_score, score`` (0–100, NaN when not scored), ``score_change`` (NaN unless both
    are scored), ``previous_stage, stage``, ``previous_coverage, coverage`` (0–1, the assessed
    share of the check weight: a score that rose because less was assessed is no
    improvement). ``attrs``: ``note`` (the previous date, or why the frame is empty),
    ``previous_date``, ``display_columns`` and ``column_labels`` for the report table. Empty
    (with the note) when ``previous`` is None or has no findings.

    Raises
    ------
    zt_toolkit.errors.DiffError
        When ``previous`` cannot be read (missing, malformed, lacking identity columns).

    Examples
    --------
    >>> import zt_toolkit.report as zt
    >>> a = zt.setup("reports/demo-snapshot")                                  # doctest: +SKIP
    >>> zt.summarize_changes(a, "reports/acme-shop/2026-05-04")                # doctest: +SKIP
    """
    cmp = _compare(assessment, previous)
    if cmp is None:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
        empty.attrs["note"] = NO_PREVIOUS
        empty.attrs["hidden_when_empty"] = True  # the narrative already says it
        return empty
    return _change_table(assessment, cmp)


def _change_table(assessment: Assessment, cmp: _Comparison) -> pd.DataFrame:
    counts = summarize_diff(cmp.diff)
    counts = counts[counts["pillar"].isin([p.value for p in Pillar])].drop(columns="total")
    before = score_pillars(cmp.previous)[["pillar", "score", "stage", "coverage"]].rename(
        columns={"score": "previous_score", "stage": "previous_stage",
                 "coverage": "previous_coverage"})
    now = score_pillars(assessment.findings)[["pillar", "score", "stage", "coverage"]]
    out = counts.merge(before, on="pillar").merge(now, on="pillar")
    old_overall, new_overall = score_overall(cmp.previous), score_overall(assessment.findings)
    total = {"pillar": "overall", "title": "All pillars",
             **{c: int(counts[c].sum()) for c in CHANGES},
             "previous_score": _nan(old_overall["score"]), "score": _nan(new_overall["score"]),
             "previous_stage": old_overall["stage"], "stage": new_overall["stage"],
             "previous_coverage": old_overall["coverage"], "coverage": new_overall["coverage"]}
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    out["previous_score"] = out["previous_score"].astype(float)
    out["score"] = out["score"].astype(float)
    out["score_change"] = (out["score"] - out["previous_score"]).round(1)
    out = out[CHANGE_COLUMNS]
    out.attrs.update(
        note=(f"Compared with the assessment of {cmp.date}" if cmp.date else
              "Compared with the previous findings") + "; both scores computed by the same "
        "model. “No longer assessed”: failures or passes of the previous assessment that "
        "could not be evaluated this time (not counted as resolved).",
        previous_date=cmp.date, display_columns=DISPLAY_COLUMNS, column_labels=COLUMN_LABELS)
    return out


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def _resource(row: Any) -> str:
    ns = f"{row.namespace}/" if row.namespace else ""
    return md_escape(f"{row.kind} {ns}{row.name}".strip())


def _examples(rows: pd.DataFrame, limit: int = 3) -> str:
    items = [f"*{md_escape(r.title)}* on {_resource(r)}"
             for r in rows.head(limit).itertuples(index=False)]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(items) + more


def _score(value: float) -> str:
    return "not scored" if pd.isna(value) else f"{round(float(value))}"


def _delta(value: float) -> str:
    if pd.isna(value):
        return ""
    rounded = round(float(value))
    return "±0" if rounded == 0 else f"{rounded:+d}".replace("-", "−")


def narrate_changes(assessment: Assessment, previous: Previous) -> Markdown:
    """Write the "since the last assessment" paragraphs of the executive summary.

    Says how many failures are new (by severity, with the worst examples), resolved, changed
    severity, newly waived or open again after a waiver expired; how many failures could not be
    assessed this time (coverage loss, explicitly not counted as resolved); the overall and
    per-pillar score change; and the pillars that improved or regressed most. When ``previous``
    is None or empty it says that no previous assessment was given. Every value from the
    cluster is escaped with :func:`~zt_toolkit.report.notebook.md_escape`.

    Parameters
    ----------
    assessment
        The current assessment.
    previous
        The previous report folder or findings .json/.csv file, a findings frame, or None.

    Raises
    ------
    zt_toolkit.errors.DiffError
        When ``previous`` cannot be read.

    Examples
    --------
    >>> import zt_toolkit.report as zt
    >>> a = zt.setup("reports/demo-snapshot")                                  # doctest: +SKIP
    >>> zt.narrate_changes(a, "reports/acme-shop/2026-05-04")                  # doctest: +SKIP
    """
    cmp = _compare(assessment, previous)
    if cmp is None:
        return Markdown(NO_PREVIOUS)
    d = cmp.diff
    by = {c: d[d["change"] == c] for c in CHANGES}
    n = {c: len(rows) for c, rows in by.items()}
    since = _since(cmp.date)
    changed = sum(v for c, v in n.items() if c != "unchanged")
    parts: list[str] = []
    if not changed:
        parts.append(f"**Nothing changed since {since}**: {_still(by['unchanged'])}; no "
                     "failure was fixed or added.")
    else:
        facts = []
        if n["new"]:
            facts.append(f"**{plural(n['new'], 'new failure')}** "
                         f"({severity_phrase(by['new']['new_severity'].value_counts())})")
        else:
            facts.append("**no new failure**")
        facts.append(f"**{n['resolved']} resolved**")
        if n["severity_changed"]:
            facts.append(f"{plural(n['severity_changed'], 'finding')} with a changed severity")
        reopened = n["waiver_expired"] + n["waiver_removed"]
        if reopened:
            why = []
            if n["waiver_expired"]:
                why.append(f"{n['waiver_expired']} waiver{'s' if n['waiver_expired'] > 1 else ''}"
                           " expired")
            if n["waiver_removed"]:
                why.append(f"{n['waiver_removed']} waiver{'s' if n['waiver_removed'] > 1 else ''}"
                           " removed")
            facts.append(f"{plural(reopened, 'accepted risk')} open again "
                         f"({' and '.join(why)})")
        if n["waived"]:
            facts.append(f"{plural(n['waived'], 'failure')} newly waived as accepted risk")
        parts.append(f"Since {since}: " + ", ".join(facts[:-1])
                     + (" and " if len(facts) > 1 else "") + facts[-1] + ". "
                     + _still(by["unchanged"])[0].upper() + _still(by["unchanged"])[1:] + ".")
    lost = by["not_assessed"]
    lost_failing = lost[lost["old_status"].isin(("fail", "waived"))]
    if len(lost):
        text = (f"\n\n**{plural(len(lost_failing), 'finding')} that failed before could not "
                "be assessed this time**" if len(lost_failing) else
                f"\n\n**{plural(len(lost), 'finding')} that passed before could not be "
                "assessed this time**")
        if len(lost_failing):
            text += f" ({_examples(lost_failing)})"
            passed = len(lost) - len(lost_failing)
            if passed:
                text += f", and {passed} that passed"
        one = len(lost) == 1
        text += (f": {'it is' if one else 'they are'} **not** counted as resolved. The data "
                 f"{'it needs' if one else 'they need'} was not collected or the check failed; "
                 "the coverage section says why.")
        parts.append(text)
    if n["new"]:
        parts.append("\n\n**New failures, most severe first:** " + _examples(by["new"], 5)
                     + ".")
    if n["resolved"]:
        parts.append("\n\n**Resolved:** " + _examples(by["resolved"], 5) + ".")

    table = _change_table(assessment, cmp)
    overall = table.iloc[-1]
    if pd.notna(overall["score"]) or pd.notna(overall["previous_score"]):
        stage_before, stage_now = overall["previous_stage"], overall["stage"]
        if not stage_before and not stage_now:
            stage = ""
        elif stage_before == stage_now:
            stage = f"; the maturity stage stays **{stage_label(stage_now)}**"
        elif not stage_now:
            stage = (f"; the maturity stage ({stage_label(stage_before)} before) can no longer "
                     "be determined: too little was assessed")
        else:
            stage = (f"; the maturity stage moves from {stage_label(stage_before)} to "
                     f"**{stage_label(stage_now)}**")
        delta = _delta(overall["score_change"])
        if delta == "±0":
            parts.append(f"\n\nThe overall score is unchanged at **{_score(overall['score'])}"
                         f"/100**{stage}.")
        else:
            parts.append(f"\n\nThe overall score went from {_score(overall['previous_score'])}"
                         f" to **{_score(overall['score'])}/100**"
                         + (f" ({delta})" if delta else "") + stage + ".")
        cov_before, cov_now = overall["previous_coverage"], overall["coverage"]
        if pd.notna(cov_before) and pd.notna(cov_now) and cov_now < cov_before - 0.005:
            parts.append(f" **Coverage fell from {cov_before:.0%} to {cov_now:.0%}** of the "
                         "check weight: scores are computed on what was assessed, so part of "
                         "any change reflects what could not be assessed this time, not the "
                         "cluster.")
    pillars = table.iloc[:-1]
    moved = pillars[(pillars["score_change"].abs() >= 0.5)
                    | (pillars[[c for c in CHANGES if c != "unchanged"]].sum(axis=1) > 0)]
    if len(moved):
        lines = []
        for r in moved.itertuples(index=False):
            counts = [f"{getattr(r, c)} {c.replace('_', ' ')}" for c in
                      ("new", "resolved", "severity_changed", "not_assessed")
                      if getattr(r, c)]
            delta = _delta(r.score_change)
            lines.append(f"- **{md_escape(r.title)}**: {_score(r.previous_score)} → "
                         f"{_score(r.score)}" + (f" ({delta})" if delta else "")
                         + (f"; {', '.join(counts)}" if counts else ""))
        parts.append("\n\n**Per pillar** (score before → now):\n\n" + "\n".join(lines))
        scored = pillars.dropna(subset=["score_change"])
        best = scored.sort_values("score_change", ascending=False).head(1)
        worst = scored.sort_values("score_change").head(1)
        extremes = []
        if len(best) and best["score_change"].iloc[0] >= 0.5:
            b = best.iloc[0]
            extremes.append(f"The biggest improvement is **{md_escape(b['title'])}** "
                            f"({_delta(b['score_change'])})" + _pillar_examples(
                                by["resolved"], b["pillar"], "resolved"))
        if len(worst) and worst["score_change"].iloc[0] <= -0.5:
            w = worst.iloc[0]
            extremes.append(f"the biggest regression is **{md_escape(w['title'])}** "
                            f"({_delta(w['score_change'])})" + _pillar_examples(
                                by["new"], w["pillar"], "new"))
        if extremes:
            text = "; ".join(extremes)
            parts.append("\n\n" + text[0].upper() + text[1:] + ".")
    return Markdown("".join(parts))


def _still(unchanged: pd.DataFrame) -> str:
    """``12 failures are still open and 3 accepted risks still waived``."""
    waived = int((unchanged["new_status"] == "waived").sum())
    still = len(unchanged) - waived
    text = (f"{plural(still, 'failure')} {'is' if still == 1 else 'are'} still open" if still
            else "no earlier failure is still open")
    return text + (f" and {plural(waived, 'accepted risk')} still waived" if waived else "")


def _pillar_examples(rows: pd.DataFrame, pillar: str, what: str) -> str:
    mine = rows[rows["pillar"] == pillar]
    return f", {what}: {_examples(mine, 2)}" if len(mine) else ""
