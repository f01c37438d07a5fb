"""Frame-based summaries and setup() on the real demo snapshot (in-process, no kernel)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.io as pio
import pytest

import zt_toolkit.report as zt
from zt_toolkit.report import audit_view, notebook, tables

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "acme-shop.yaml"


def test_namespace_network_posture(demo):
    s = zt.summarize_namespace_network_posture(demo).set_index("namespace")
    assert s.loc["legacy-batch", "namespace_network_policy_present"] == "fail"
    assert s.loc["legacy-batch", "network_policies"] == 0
    assert (s.loc["payments", list(tables.NETWORK_POSTURE_CHECKS)] == "pass").all()
    assert s.index[0] == "legacy-batch"  # the worst first
    assert "kube-system" not in s.index


def test_workload_identity_and_pss(demo):
    ident = zt.summarize_workload_identity(demo).set_index("namespace")
    assert ident.loc["payments", "aws_role"] >= 1
    assert "kube-system" not in ident.index
    pss = zt.summarize_namespace_pss(demo).set_index("namespace")
    assert pss.loc["payments", "enforce"] == "restricted"
    assert pss.loc["legacy-batch", "enforce"] == "—"


def test_images_secrets_logging_audit(demo):
    reg = zt.summarize_image_registries(demo)
    by_registry = reg.set_index("registry")["provenance"]
    assert by_registry["111122223333.dkr.ecr.eu-west-1.amazonaws.com"] == "own-account ECR"
    assert by_registry["docker.io"] == "Docker Hub"
    refs = zt.summarize_image_references(demo)
    assert (refs[["digest", "tag", "latest"]].sum(axis=1) == refs["containers"]).all()
    sec = zt.summarize_secret_consumption(demo).set_index("namespace")
    assert sec.loc["payments", "secret_store"] >= 1
    assert (sec["workloads"] >= sec[["env", "volume", "secret_store"]].max(axis=1)).all()
    log = zt.summarize_control_plane_logging(demo).set_index("log_type")
    assert list(log.index) == list(audit_view.CONTROL_PLANE_LOG_TYPES)
    assert log["required"].sum() == 3
    events = zt.summarize_audit_events(demo)
    assert "exec / attach into a pod" in set(events["category"])
    assert events["events"].sum() > 0


def test_frame_charts_draw_data(demo):
    for plot in (zt.plot_namespace_network_posture, zt.plot_workload_identity,
                 zt.plot_pss_levels, zt.plot_image_registries, zt.plot_image_references,
                 zt.plot_control_plane_logging):
        assert plot(demo).data, plot.__name__


def test_engagement_summary(demo):
    e = zt.summarize_engagement(demo).set_index("item")["value"]
    assert e["Cluster"] == "acme-shop-prod"
    assert e["Snapshot source"] == "demo cluster (synthetic data)"


def test_unknown_frame_degrades_to_a_note(demo):
    df, why = tables.frame_or_note(demo, "no_such_frame")
    assert df is None and why.startswith("not collected")


def test_setup_builds_missing_demo_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("PLOTLY_RENDERER", "plotly_mimetype")  # no browser in a unit test
    monkeypatch.setattr(notebook, "_renderer", None)
    path = tmp_path / "demo-snapshot"
    a = zt.setup(str(path), None, "Client <X>", str(tmp_path / "out"))
    assert (path / "manifest.json").is_file() and (tmp_path / "out").is_dir()
    assert a.config.client == "Client <X>"
    assert zt.setup(str(path), None, "Client <X>") is a
    assert pio.renderers.default == "plotly_mimetype"
    assert pio.templates.default == "plotly_white+zt"
    assert pd.get_option("display.html.use_mathjax") is False


def test_setup_missing_snapshot_names_the_path(tmp_path, monkeypatch):
    from zt_toolkit.errors import SnapshotError

    monkeypatch.setenv("PLOTLY_RENDERER", "plotly_mimetype")
    with pytest.raises(SnapshotError, match="nowhere"):
        zt.setup(tmp_path / "nowhere")


def test_audit_queries_are_shown_with_their_text(demo):
    queries = zt.summarize_audit_queries(demo)
    recorded = demo.snapshot.aws("logs", "start_query")
    assert len(queries) == len(recorded) >= 1
    assert queries.text.iloc[0] == recorded[0]["params"]["queryString"]
    assert queries.status.iloc[0] == "Complete" and queries.results.iloc[0] > 0


def test_kernels_show_figures_as_plotly_json_without_plotly_renderers():
    """The report's kernels emit the plotly_mimetype bundle through our own display hook."""
    import orjson
    import plotly.graph_objects as go
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        published = []
        shell.display_pub.publish = lambda data, metadata=None, **kw: published.append(data)
        assert notebook._display_figures_as_json()
        fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
        shell.display_formatter.format(fig)
        assert len(published) == 1
        spec = published[0]["application/vnd.plotly.v1+json"]
        assert spec["data"] == orjson.loads(fig.to_json())["data"]
        assert published[0]["text/plain"] == "<Figure: 1 trace(s)>"
    finally:
        InteractiveShell.clear_instance()
