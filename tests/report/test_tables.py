"""summarize_* on small hand-built findings frames: every number is checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.report.factories import assessment_of, frame, row
from zt_toolkit.report import audit_view, images_view, scores
from zt_toolkit.report import tables as t
from zt_toolkit.report.notebook import md_escape, narrate_pillar


# ------------------------------------------------------------------------------------------
# outcomes and check status
# ------------------------------------------------------------------------------------------
def test_outcomes_mark_waived_failures_only():
    f = frame(row("a", "fail", waived=True), row("a", "pass", name="b"),
              row("a", "fail", name="c"))
    assert t.outcomes(f).tolist() == ["waived", "pass", "fail"]


def test_summarize_checks_status_counts_and_ratio(mixed):
    c = t.summarize_checks(mixed).set_index("check_id")
    assert c.loc["crit_check", "status"] == "fail"
    assert c.loc["crit_check", ["fail", "pass", "resources"]].tolist() == [1, 1, 2]
    assert c.loc["crit_check", "pass_ratio"] == pytest.approx(0.5)
    assert c.loc["crit_check", "offenders"] == "Deployment shop/api"
    assert c.loc["low_check", "status"] == "pass"
    assert c.loc["na_check", "status"] == "not_assessed"
    assert pd.isna(c.loc["na_check", "pass_ratio"])
    # a waived failure does not make a check fail
    assert c.loc["net_check", "status"] == "pass"
    assert c.loc["net_check", ["waived", "fail"]].tolist() == [1, 0]


def test_summarize_checks_orders_pillars_then_failing_first(mixed):
    ids = t.summarize_checks(mixed)["check_id"].tolist()
    assert ids == ["net_check", "id_check", "crit_check", "na_check", "low_check"]


def test_a_graded_check_takes_the_severity_of_its_worst_open_failure():
    f = frame(row("g", "fail", severity="low", name="a"),
              row("g", "fail", severity="high", name="b", waived=True),
              row("g", "pass", severity="critical", name="c"),
              row("h", "pass", severity="medium", name="a"),
              row("h", "pass", severity="high", name="b"))
    c = t.summarize_checks(f).set_index("check_id")
    assert c.loc["g", "severity"] == "low"
    assert c.loc["h", "severity"] == "high"


def test_error_wins_over_not_assessed_and_not_applicable_is_last():
    f = frame(row("e", "error", kind="Cluster"), row("n", "not_applicable", kind="Cluster"))
    c = t.summarize_checks(f).set_index("check_id")
    assert c.loc["e", "status"] == "error"
    assert c.loc["n", "status"] == "not_applicable"


# ------------------------------------------------------------------------------------------
# pillars and score
# ------------------------------------------------------------------------------------------
def test_summarize_pillars_counts_all_six_pillars(mixed):
    s = t.summarize_pillars(mixed).set_index("pillar")
    assert list(s.index) == ["network", "identity", "pod_security", "images", "secrets", "audit"]
    ps = s.loc["pod_security"]
    assert ps[["checks", "assessed", "pass", "fail", "not_assessed"]].tolist() == [3, 2, 1, 1, 1]
    assert ps[["critical", "high", "failing_resources", "waived"]].tolist() == [1, 0, 1, 0]
    assert s.loc["images", "checks"] == 0


def test_summarize_pillars_carries_the_scores_of_the_score_model(mixed):
    s = t.summarize_pillars(mixed).set_index("pillar")
    model = scores.score_pillars(mixed).set_index("pillar")
    assert s["score"].astype(float).equals(model["score"].astype(float))
    assert s.loc["pod_security", "stage"] == scores.stage_label(model.loc["pod_security", "stage"])
    assert s.loc["images", "stage"] == "Not determined"


def test_info_only_pillar_has_no_score():
    f = frame(row("i", "fail", severity="info"))
    assert pd.isna(t.summarize_pillars(f).set_index("pillar").loc["pod_security", "score"])


# ------------------------------------------------------------------------------------------
# top risks
# ------------------------------------------------------------------------------------------
def test_top_risks_order_by_severity_then_affected():
    f = frame(
        row("high_few", severity="high", name="a"),
        row("high_many", severity="high", name="a"), row("high_many", severity="high", name="b"),
        row("crit_one", severity="critical", name="x"),
        row("low_many", severity="low", name="a"), row("low_many", severity="low", name="b"),
        row("low_many", severity="low", name="c"),
        row("waived_crit", severity="critical", waived=True),
        row("passing", "pass", severity="critical"),
    )
    r = t.summarize_top_risks(f)
    assert r["check_id"].tolist() == ["crit_one", "high_many", "high_few", "low_many"]
    assert r["rank"].tolist() == [1, 2, 3, 4]
    assert r["affected"].tolist() == [1, 2, 1, 3]
    assert r.loc[1, "examples"] == "Deployment shop/a, Deployment shop/b"
    assert t.summarize_top_risks(f, n=2)["check_id"].tolist() == ["crit_one", "high_many"]


def test_top_risks_examples_are_capped():
    f = frame(*(row("c", name=f"w{i}") for i in range(5)))
    assert t.summarize_top_risks(f).loc[0, "examples"] == (
        "Deployment shop/w0, Deployment shop/w1, Deployment shop/w2 and 2 more")


def test_top_risks_empty_has_a_note():
    r = t.summarize_top_risks(frame(row("a", "pass")))
    assert r.empty and "No open failing check" in r.attrs["note"]


# ------------------------------------------------------------------------------------------
# per pillar
# ------------------------------------------------------------------------------------------
def test_summarize_check_results_one_pillar(mixed):
    r = t.summarize_check_results(mixed, "pod_security")
    assert r["check_id"].tolist() == ["crit_check", "na_check", "low_check"]
    assert r.set_index("check_id").loc["low_check", "pass"] == 2
    assert "check_id" not in r.attrs["display_columns"]


def test_summarize_check_results_unknown_pillar_rejected(mixed):
    with pytest.raises(ValueError):
        t.summarize_check_results(mixed, "nonsense")


def test_findings_table_filters_and_orders(mixed):
    f = pd.concat([mixed, frame(row("med", severity="medium", name="zzz"))], ignore_index=True)
    ft = t.findings_table(f, "pod_security")
    assert ft.columns.tolist() == ["severity", "check", "kind", "namespace", "name", "detail"]
    assert ft["severity"].tolist() == ["critical", "medium"]
    assert ft["name"].tolist() == ["api", "zzz"]
    # waived failures only on request, with the waiver reason
    assert t.findings_table(mixed, "network").empty
    w = t.findings_table(mixed, "network", include_waived=True)
    assert w["waiver"].tolist() == ["EKS baseline: managed"]
    # all pillars: a pillar column
    assert "pillar" in t.findings_table(mixed).columns
    # other statuses on request
    assert len(t.findings_table(mixed, "pod_security", status=("pass",))) == 3


def test_findings_table_empty_note():
    ft = t.findings_table(frame(row("a", "pass")), "pod_security")
    assert ft.empty and ft.attrs["note"] == "No fail finding in the Pod security pillar."


def test_summarize_check_findings_fail_first():
    f = frame(row("s", "pass", name="a"), row("s", "fail", name="b"),
              row("s", "fail", name="c", waived=True), row("other", name="d"))
    out = t.summarize_check_findings(f, "s")
    assert out["outcome"].tolist() == ["fail", "waived", "pass"]
    assert t.summarize_check_findings(f, "missing").empty


def test_summarize_waivers_splits_baseline_and_engagement():
    f = frame(
        row("a", waived=True, waiver_reason="EKS baseline: VPC CNI needs host network",
            kind="DaemonSet", namespace="kube-system", name="aws-node"),
        row("a", waived=True, waiver_reason="EKS baseline: VPC CNI needs host network",
            kind="DaemonSet", namespace="kube-system", name="kube-proxy"),
        row("b", severity="critical", waived=True, waiver_reason="vendor image (owner x)"),
        row("c"),
    )
    w = t.summarize_waivers(f)
    assert w["source"].tolist() == ["Engagement waiver", "EKS baseline"]
    assert w.loc[1, "reason"] == "VPC CNI needs host network"
    assert w.loc[1, "resources"] == 2


def test_summarize_failures_by_namespace(mixed):
    f = pd.concat([mixed, frame(row("x", severity="low", pillar="network", kind="Cluster",
                                    namespace="", name="prod"))], ignore_index=True)
    s = t.summarize_failures_by_namespace(f)
    assert s["namespace"].tolist() == ["(cluster)", "shop"]
    assert s.set_index("namespace").loc["shop", "critical"] == 1
    assert t.summarize_failures_by_namespace(f, "identity").empty


# ------------------------------------------------------------------------------------------
# matrices
# ------------------------------------------------------------------------------------------
def test_resource_matrix_orders_by_weighted_failures():
    f = frame(
        row("crit", severity="critical", name="a", status="pass"),
        row("crit", severity="critical", name="b"),
        row("low", severity="low", name="a"),
        row("low", severity="low", name="b", status="pass"),
        row("low", severity="low", name="c", status="pass"),
        row("low", severity="low", name="d", waived=True),
        row("nsl", severity="high", kind="Namespace", namespace="", name="shop"),
    )
    m = t.summarize_workload_checks(f)
    assert m["name"].tolist() == ["b", "a", "d", "c"]
    assert [c for c in m.columns if c not in t.KEY] == ["crit", "low"]
    assert m.set_index("name").loc["d", "low"] == "waived"
    assert pd.isna(m.set_index("name").loc["c", "crit"])
    only = t.summarize_workload_checks(f, only_failing=True)
    assert only["name"].tolist() == ["b", "a"]


def test_subject_rights_only_failing_subjects():
    f = frame(
        row("rbac_secret_read_minimal", pillar="identity", kind="ServiceAccount",
            namespace="shop", name="api"),
        row("rbac_exec_attach_minimal", "pass", pillar="identity", kind="ServiceAccount",
            namespace="shop", name="web"),
        row("rbac_exec_attach_minimal", pillar="identity", kind="Group", namespace="",
            name="oncall", waived=True),
    )
    m = t.summarize_subject_rights(f)
    assert m["name"].tolist() == ["api"]
    empty = t.summarize_subject_rights(frame(row("x")))
    assert empty.empty and "RBAC rights not available" in empty.attrs["note"]


# ------------------------------------------------------------------------------------------
# coverage
# ------------------------------------------------------------------------------------------
def test_summarize_coverage_links_sources_to_checks(mixed):
    cov = pd.DataFrame([
        {"source": "k8s/pods", "status": "forbidden", "count": None, "message": "403"},
        {"source": "k8s/policies.kyverno.io", "status": "not_found", "count": None,
         "message": ""},
        {"source": "k8s/namespaces", "status": "ok", "count": 3, "message": ""},
    ])
    s = t.summarize_coverage(assessment_of(mixed, cov)).set_index("source")
    assert s.loc["k8s/pods", "not_assessed"] == "na_check"
    assert s.loc["k8s/pods", "checks"] == 1
    # a source the manifest does not list, found missing by a check
    assert s.loc["aws/iam/get_role", "status"] == "not_collected"
    assert s.loc["aws/iam/get_role", "not_assessed"] == "id_check"
    # an optional CRD not installed costs nothing, and comes last
    assert s.loc["k8s/policies.kyverno.io", "not_assessed"] == "none"
    assert list(s.index)[-1] == "k8s/policies.kyverno.io"
    assert "k8s/namespaces" not in s.index


def test_summarize_coverage_complete():
    cov = pd.DataFrame([{"source": "k8s/pods", "status": "ok", "count": 1, "message": ""}])
    s = t.summarize_coverage(assessment_of(frame(row("a", "pass")), cov))
    assert s.empty and "collected completely" in s.attrs["note"]


def test_summarize_unassessed_checks(mixed):
    u = t.summarize_unassessed_checks(mixed)
    assert u["check_id"].tolist() == ["id_check", "na_check"]
    assert u.loc[1, "why"] == "k8s/pods: forbidden (403)"


# ------------------------------------------------------------------------------------------
# parsing helpers
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("image", "kind"), [
    ("nginx", "latest"),
    ("nginx:1.27", "tag"),
    ("library/nginx:latest", "latest"),
    ("localhost:5000/app:1", "tag"),
    ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/api@sha256:" + "a" * 64, "digest"),
    ("nginx:1.27@sha256:" + "b" * 64, "digest"),
    ("public.ecr.aws/eks/aws-load-balancer-controller:v2.8.1", "tag"),
    ("Not An Image!", "latest"),
])
def test_image_reference_type(image, kind):
    assert images_view.image_reference_type(image) == kind


@pytest.mark.parametrize(("event", "category"), [
    ({"verb": "create", "resource": "pods", "subresource": "exec", "user": "alice"},
     "exec / attach into a pod"),
    ({"verb": "patch", "resource": "configmaps", "namespace": "kube-system", "name": "aws-auth"},
     "aws-auth change"),
    # only kube-system/aws-auth maps IAM principals (as the check counts it)
    ({"verb": "patch", "resource": "configmaps", "namespace": "shop", "name": "aws-auth"},
     "other"),
    ({"verb": "create", "api_group": "rbac.authorization.k8s.io",
      "resource": "clusterrolebindings"}, "RBAC change"),
    ({"verb": "get", "resource": "version", "user": "system:anonymous"}, "anonymous request"),
    ({"verb": "get", "resource": "secrets", "response_code": 403}, "denied secret read"),
    ({"verb": "list", "resource": "pods", "response_code": 403}, "denied request"),
    ({"verb": "get", "resource": "secrets", "response_code": 200}, "secret read"),
    ({"verb": "get", "resource": "pods"}, "other"),
])
def test_audit_event_category(event, category):
    assert audit_view.audit_event_category(event) == category


# ------------------------------------------------------------------------------------------
# HTML rendering and narrative: escaping
# ------------------------------------------------------------------------------------------
EVIL = "<script>alert(1)</script>"


def test_render_table_escapes_every_value():
    f = frame(row("c", name=EVIL, detail='<img src=x onerror="alert(2)">'))
    html = t.render_table(t.findings_table(f, "pod_security"))
    assert EVIL not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_render_table_badges_labels_and_numbers(mixed):
    html = t.render_table(t.summarize_check_results(mixed, "pod_security"))
    assert '<span style="background:#7b0000' in html  # critical badge
    assert ">Not assessed<" in html  # a status badge and a column label
    assert "<th>Check id</th>" not in html  # hidden by display_columns
    assert '<td class="num">2</td>' in html


def test_render_table_note_truncation_and_empty():
    empty = t.findings_table(frame(row("a", "pass")), "pod_security")
    assert t.render_table(empty) == (
        '<p class="zt-note">No fail finding in the Pod security pillar.</p>')
    long = pd.DataFrame({"name": [f"n{i}" for i in range(60)]})
    html = t.render_table(long, max_rows=50)
    assert html.count("<tr>") == 51 and "Showing the first 50 of 60 rows" in html


def test_render_table_formats_missing_bool_and_ratio():
    df = pd.DataFrame({"enabled": [True, False], "pass_ratio": [0.5, None],
                       "label": [None, "x"]})
    html = t.render_table(df)
    assert ">yes<" in html and ">no<" in html and ">50%<" in html and ">—<" in html


def test_md_escape_neutralises_html_and_markdown():
    assert md_escape(EVIL) == r"&lt;script&gt;alert\(1\)&lt;/script&gt;"
    assert md_escape("[click](javascript:x)") == r"\[click\]\(javascript\:x\)"
    assert md_escape("a\nb") == "a b"


def test_narrate_pillar_numbers_and_escaping():
    f = frame(
        row("c1", severity="critical", name=EVIL, remediation="Drop privileges."),
        row("c1", "pass", severity="critical", name="ok"),
        row("c2", "pass", severity="low", name="ok"),
        row("c3", "not_assessed", severity="high", kind="Cluster", namespace="", name="prod",
            detail="k8s/pods: forbidden (403)"),
        row("c4", waived=True, waiver_reason="accepted"),
    )
    text = narrate_pillar(assessment_of(f), "pod_security").data
    assert "**1 check of 4 fail** (1 critical)" in text
    assert "maturity stage **Initial**" in text  # 53/100 with an open critical
    assert "1 check gave no result" in text and "k8s/pods" in text
    assert "**Fix first:**" in text and "Drop privileges\\." in text
    assert "1 further failure is waived" in text
    assert EVIL not in text and "&lt;script&gt;" in text
