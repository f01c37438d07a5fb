"""plot_* on small hand-built findings frames: traces, colours, order, escaping, placeholders."""

from __future__ import annotations

import os

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from tests.report.factories import assessment_of, frame, row
from zt_toolkit.report import audit_view, charts, images_view, theme
from zt_toolkit.report.pdf import BrowserNotFoundError, find_browser

EVIL = "<script>alert(1)</script>"


def traces(fig: go.Figure) -> dict[str, go.BaseTraceType]:
    return {tr.name: tr for tr in fig.data}


def test_theme_is_registered_and_default():
    theme.register_template()
    assert "zt" in pio.templates
    assert pio.templates.default == "plotly_white+zt"
    layout = pio.templates["zt"].layout
    assert layout.font.family.startswith("Liberation Sans")
    assert layout.width == theme.FIGURE_WIDTH


def test_every_outcome_and_severity_has_a_colour_and_label():
    assert set(theme.OUTCOMES) == set(theme.STATUS_COLORS) == set(theme.STATUS_LABELS)
    assert set(theme.SEVERITIES) == set(theme.SEVERITY_COLORS)
    assert "background:#7b0000" in theme.badge_style("critical")


def test_plot_status_by_pillar(mixed):
    fig = charts.plot_status_by_pillar(mixed)
    tr = traces(fig)
    assert set(tr) == {"Fail", "Pass", "Not assessed"}
    assert tr["Fail"].marker.color == theme.STATUS_COLORS["fail"]
    assert list(tr["Fail"].y)[:3] == ["Network security", "Identity and access", "Pod security"]
    assert list(tr["Fail"].x) == [0, 0, 1, 0, 0, 0]
    assert list(tr["Not assessed"].x) == [0, 1, 1, 0, 0, 0]
    assert fig.layout.barmode == "stack"


def test_plot_severity_by_pillar_counts_open_failures_only(mixed):
    fig = charts.plot_severity_by_pillar(mixed)
    tr = traces(fig)
    assert set(tr) == {"Critical"}  # the network failure is waived
    assert list(tr["Critical"].x) == [0, 0, 1, 0, 0, 0]
    assert tr["Critical"].marker.color == theme.SEVERITY_COLORS["critical"]


def test_plot_severity_by_pillar_placeholder():
    fig = charts.plot_severity_by_pillar(frame(row("a", "pass")))
    assert not fig.data
    assert "No open failure" in fig.layout.annotations[0].text


def test_plot_pillar_scores(mixed):
    fig = charts.plot_pillar_scores(mixed)
    bar = fig.data[0]
    # pod security: critical check failing on 1 of 2 resources (credit .25, weight 10) and a
    # passing low check (weight 1): 100 * (2.5 + 1) / 11 = 31.8
    assert list(bar.x) == [100, 0, 32, 0, 0, 0]
    assert bar.text[2] == "32 · Traditional  (2 of 3 checks assessed)"
    assert bar.text[1] == "no score: 1 of 1 checks not assessed"
    assert bar.text[3] == "no checks"
    assert bar.marker.color[0] == theme.STATUS_COLORS["pass"]
    assert bar.marker.color[1] == theme.STATUS_COLORS["not_assessed"]
    assert bar.marker.color[2] == theme.STATUS_COLORS["fail"]


def test_plot_check_status(mixed):
    fig = charts.plot_check_status(mixed, "pod_security")
    tr = traces(fig)
    assert list(tr["Fail"].y) == ["Crit check (C)", "Na check (H)", "Low check (L)"]
    assert list(tr["Fail"].x) == [1, 0, 0]
    assert list(tr["Pass"].x) == [1, 0, 2]
    # the not-assessed check is visible, labelled, not absent
    assert list(tr["Not assessed"].y) == ["Na check (H)"]
    assert fig.layout.height >= 260


def test_plot_check_status_unknown_pillar_placeholder(mixed):
    fig = charts.plot_check_status(mixed, "images")
    assert not fig.data and "No check of the Image" in fig.layout.annotations[0].text


def test_plot_workload_check_heatmap():
    f = frame(row("c1", severity="critical", name="a"), row("c1", "pass", name="b"),
              row("c2", severity="low", name="b"), row("c2", "pass", name="a"),
              row("c2", name="kube-proxy", waived=True))
    fig = charts.plot_workload_check_heatmap(f)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    assert list(heat.y) == ["Deployment shop/a", "Deployment shop/b"]  # only failing, worst first
    codes = {o: i for i, o in enumerate(theme.OUTCOMES)}
    assert list(heat.z[0]) == [codes["fail"], codes["pass"]]
    assert {tr.name for tr in fig.data[1:]} == {"Fail", "Pass"}
    assert heat.showscale is False


def test_plot_matrix_cuts_rows_with_a_note():
    f = frame(*(row("c", name=f"w{i:02d}") for i in range(12)))
    fig = charts.plot_workload_check_heatmap(f, max_rows=5)
    assert len(fig.data[0].y) == 5
    assert "5 of 12 workloads shown" in fig.layout.annotations[0].text


def test_plot_subject_rights_and_placeholder():
    f = frame(row("rbac_secret_read_minimal", pillar="identity", kind="Group", namespace="",
                  name="oncall"))
    assert list(charts.plot_subject_rights(f).data[0].y) == ["Group oncall"]
    empty = charts.plot_subject_rights(frame(row("x", "pass")))
    assert not empty.data and empty.layout.annotations[0].text.startswith("RBAC rights")


def test_plot_failures_by_namespace(mixed):
    fig = charts.plot_failures_by_namespace(mixed, "pod_security")
    assert list(traces(fig)["Critical"].y) == ["shop"]


def test_cluster_text_is_escaped_in_labels():
    f = frame(row("c", name=EVIL, namespace="<b>ns</b>"))
    for fig in (charts.plot_workload_check_heatmap(f), charts.plot_failures_by_namespace(f)):
        labels = " ".join(map(str, fig.data[0].y))
        assert "<script>" not in labels and "<b>" not in labels
        assert "&lt;script&gt;" in labels or "&lt;b&gt;" in labels


def test_placeholder_escapes_its_note():
    fig = charts.placeholder("t", EVIL)
    assert fig.layout.annotations[0].text == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_frame_based_charts_degrade_without_frames(mixed):
    """An assessment without frames (here: none at all) gives placeholders, not errors."""

    class NoFrames:
        def gaps(self, names):
            return [f"{n}: not_collected (not in the snapshot)" for n in names]

    a = assessment_of(mixed)
    a.frames = NoFrames()
    for plot in (charts.plot_namespace_network_posture, charts.plot_workload_identity,
                 charts.plot_pss_levels, images_view.plot_image_registries,
                 images_view.plot_image_references, audit_view.plot_control_plane_logging):
        fig = plot(a)
        assert isinstance(fig, go.Figure) and not fig.data, plot.__name__
        assert fig.layout.annotations[0].text, plot.__name__


def _has_browser() -> bool:
    try:
        return bool(find_browser())
    except BrowserNotFoundError:
        return False


@pytest.mark.pdf
@pytest.mark.skipif(not _has_browser(), reason="needs Chrome, Edge or Chromium")
def test_charts_render_to_svg_with_kaleido(mixed):
    os.environ.pop("PLOTLY_RENDERER", None)
    svg = pio.to_image(charts.plot_check_status(mixed, "pod_security"), format="svg")
    assert svg.startswith(b"<svg") and b"Crit check (C)" in svg


def test_plot_unassessed_by_pillar(mixed):
    tr = traces(charts.plot_unassessed_by_pillar(mixed))
    assert list(tr["Evaluated resources"].x) == [1, 0, 2, 0, 0, 0]
    assert list(tr["Not assessed (data missing)"].x) == [0, 1, 1, 0, 0, 0]
