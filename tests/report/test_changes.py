"""The "since the last assessment" section: summarize_changes and narrate_changes."""

from __future__ import annotations

import math

import mistune
import orjson
import pandas as pd
import pytest

import zt_toolkit.report as zt
from tests.report.factories import assessment_of, frame, row
from zt_toolkit.diff import CHANGES, diff_findings, summarize_diff
from zt_toolkit.errors import DiffError
from zt_toolkit.report.export import write_findings
from zt_toolkit.report.scores import score_overall, score_pillars

EVIL = "<script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def old() -> pd.DataFrame:
    return frame(
        row("crit_check", "fail", severity="critical", name="api"),       # resolved
        row("crit_check", "pass", severity="critical", name="web"),       # stays passing
        row("high_check", "pass", severity="high", name=EVIL),            # new failure
        row("high_check", "fail", severity="high", name="worker"),        # unchanged
        row("net_check", "fail", severity="high", pillar="network", kind="Namespace",
            namespace="", name="legacy"),                                 # lost coverage
        row("net_check", "pass", severity="high", pillar="network", kind="Namespace",
            namespace="", name="shop"),
        row("id_check", "fail", severity="medium", pillar="identity", kind="ClusterRole",
            namespace="", name="ci"),                                     # severity raised
    )


@pytest.fixture
def new() -> pd.DataFrame:
    return frame(
        row("crit_check", "pass", severity="critical", name="api"),
        row("crit_check", "pass", severity="critical", name="web"),
        row("high_check", "fail", severity="high", name=EVIL),
        row("high_check", "fail", severity="high", namespace=EVIL_IMG, name="batch"),
        row("high_check", "fail", severity="high", name="worker"),
        row("net_check", "not_assessed", severity="high", pillar="network", kind="Namespace",
            namespace="", name="legacy", detail="k8s/networkpolicies: forbidden"),
        row("net_check", "not_assessed", severity="high", pillar="network", kind="Namespace",
            namespace="", name="shop"),
        row("id_check", "fail", severity="high", pillar="identity", kind="ClusterRole",
            namespace="", name="ci"),
    )


@pytest.fixture
def previous_dir(tmp_path, old):
    folder = tmp_path / "acme-shop" / "2026-05-04"
    write_findings(old, folder)
    return folder


def html_of(md) -> str:
    return mistune.html(md.data)


# ------------------------------------------------------------------------------------------
# no previous assessment
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("previous", [None, "", pd.DataFrame()])
def test_without_previous_assessment(new, previous):
    a = assessment_of(new)
    text = zt.narrate_changes(a, previous).data
    assert text.startswith("No earlier assessment was supplied")
    table = zt.summarize_changes(a, previous)
    assert table.empty and "No earlier assessment" in table.attrs["note"]
    assert zt.render_table(table) == ""  # the narrative says it once


def test_unreadable_previous_raises_diff_error_naming_it(new, tmp_path):
    bad = tmp_path / "findings.json"
    bad.write_text("[{oops")
    with pytest.raises(DiffError, match="findings.json"):
        zt.narrate_changes(assessment_of(new), bad)
    with pytest.raises(DiffError, match="does not exist"):
        zt.summarize_changes(assessment_of(new), tmp_path / "missing")


# ------------------------------------------------------------------------------------------
# the table
# ------------------------------------------------------------------------------------------
def test_summary_counts_and_scores_per_pillar(old, new, previous_dir):
    table = zt.summarize_changes(assessment_of(new), previous_dir)
    assert table["pillar"].tolist() == ["network", "identity", "pod_security", "images",
                                        "secrets", "audit", "overall"]
    t = table.set_index("pillar")
    expected = summarize_diff(diff_findings(old, new)).set_index("pillar")
    for pillar in ("network", "identity", "pod_security"):
        for change in CHANGES:
            assert t.loc[pillar, change] == expected.loc[pillar, change], (pillar, change)
    assert t.loc["pod_security", ["new", "resolved", "unchanged"]].tolist() == [2, 1, 1]
    assert t.loc["network", "not_assessed"] == 2 and t.loc["network", "resolved"] == 0
    assert t.loc["identity", "severity_changed"] == 1
    assert t.loc["overall", "new"] == 2 and t.loc["overall", "not_assessed"] == 2
    before, now = score_pillars(old).set_index("pillar"), score_pillars(new).set_index("pillar")
    for pillar in ("identity", "pod_security"):
        assert t.loc[pillar, "previous_score"] == before.loc[pillar, "score"]
        assert t.loc[pillar, "score"] == now.loc[pillar, "score"]
        assert t.loc[pillar, "score_change"] == pytest.approx(
            now.loc[pillar, "score"] - before.loc[pillar, "score"], abs=0.05)
        assert t.loc[pillar, "stage"] == now.loc[pillar, "stage"]
    # network lost all coverage: scored before, not scored now, so no change is claimed
    assert not math.isnan(t.loc["network", "previous_score"])
    assert math.isnan(t.loc["network", "score"]) and math.isnan(t.loc["network", "score_change"])
    assert t.loc["overall", "score"] == pytest.approx(score_overall(new)["score"])
    assert t.loc["overall", "previous_score"] == pytest.approx(score_overall(old)["score"])
    assert table.attrs["previous_date"] == "2026-05-04"
    assert "2026-05-04" in table.attrs["note"]
    html = zt.render_table(table)
    assert "Score before" in html and "No longer assessed" in html
    assert t.loc["network", "previous_coverage"] == 1.0 and t.loc["network", "coverage"] == 0.0
    assert t.loc["overall", "coverage"] < t.loc["overall", "previous_coverage"]


def test_previous_date_from_summary_json(new, previous_dir):
    (previous_dir / "summary.json").write_bytes(orjson.dumps({"date": "2026-05-01"}))
    assert zt.summarize_changes(assessment_of(new), previous_dir).attrs["previous_date"] == \
        "2026-05-01"
    assert "2026\\-05\\-01" in zt.narrate_changes(assessment_of(new), previous_dir).data


def test_previous_as_a_frame_has_no_date(old, new):
    table = zt.summarize_changes(assessment_of(new), old)
    assert table.attrs["previous_date"] is None
    assert zt.narrate_changes(assessment_of(new), old).data.startswith(
        "Since the previous assessment:")


# ------------------------------------------------------------------------------------------
# the narrative
# ------------------------------------------------------------------------------------------
def test_narrative_counts_and_coverage_loss(new, previous_dir):
    text = zt.narrate_changes(assessment_of(new), previous_dir).data
    assert text.startswith("Since the last assessment on 2026\\-05\\-04: ")
    assert "**2 new failures** (2 high)" in text
    assert "**1 resolved**" in text
    assert "1 finding with a changed severity" in text
    assert "1 failure is still open" in text
    # the failing namespace that could not be assessed is coverage loss, not a fix
    assert "**1 finding that failed before could not be assessed this time**" in text
    assert "and 1 that passed" in text
    assert "**not** counted as resolved" in text
    # network lost coverage: a higher score must not read as an improvement without a caveat
    assert "**Coverage fell from 100% to " in text
    resolved = text.split("**Resolved:**")[1].split("\n")[0]
    assert "legacy" not in resolved and "Deployment shop/api" in resolved
    assert "**Per pillar**" in text and "**Network security**" in text


def test_narrative_escapes_cluster_text(new, previous_dir):
    md = zt.narrate_changes(assessment_of(new), previous_dir)
    assert "<script" not in md.data and "<img" not in md.data
    html = html_of(md)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_nothing_changed(old, previous_dir):
    text = zt.narrate_changes(assessment_of(old), previous_dir).data
    assert text.startswith("**Nothing changed since the last assessment on 2026\\-05\\-04**")
    assert "4 failures are still open" in text
    assert "The overall score is unchanged at" in text
    assert "stage" not in text  # too little assessed for a stage, before and now
    assert "Coverage fell" not in text


def test_improvement_and_regression_are_named(previous_dir):
    fixed = frame(
        row("crit_check", "pass", severity="critical", name="api"),
        row("crit_check", "pass", severity="critical", name="web"),
        row("high_check", "pass", severity="high", name=EVIL),
        row("high_check", "pass", severity="high", name="worker"),
        row("net_check", "fail", severity="high", pillar="network", kind="Namespace",
            namespace="", name="legacy"),
        row("net_check", "fail", severity="high", pillar="network", kind="Namespace",
            namespace="", name="shop"),
        row("id_check", "fail", severity="medium", pillar="identity", kind="ClusterRole",
            namespace="", name="ci"),
    )
    text = zt.narrate_changes(assessment_of(fixed), previous_dir).data
    assert "The biggest improvement is **Pod security** (+" in text
    assert "the biggest regression is **Network security** (−" in text
    assert "new: *" in text.split("biggest regression")[1]
    assert "Namespace shop" in text.split("biggest regression")[1]


def test_a_rewritten_previous_folder_is_read_again(old, new, previous_dir):
    a = assessment_of(new)
    first = zt.summarize_changes(a, previous_dir).set_index("pillar")
    assert zt.summarize_changes(a, previous_dir).set_index("pillar").equals(first)
    write_findings(new.iloc[:1], previous_dir)  # another previous assessment, same folder
    second = zt.summarize_changes(a, previous_dir).set_index("pillar")
    assert first.loc["pod_security", "resolved"] == 1
    assert second.loc["pod_security", "resolved"] == 0
    assert second.loc["overall", "new"] != first.loc["overall", "new"]
