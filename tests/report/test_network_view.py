"""The network view of issue 6: reachability tables and charts, intents, remediation YAML.

On the demo (enforced NetworkPolicy, the intents of ``examples/acme-shop.yaml``) and on small
hand-built snapshots: one whose policies no engine enforces, one with hostile names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.checks.casefiles import build_case_frames
from zt_toolkit.assessment import Assessment
from zt_toolkit.checks import run_checks
from zt_toolkit.report import charts, notebook, tables

CASES = Path(__file__).resolve().parents[1] / "checks" / "cases" / "segmentation_intents_hold"
EVIL = "<script>alert(1)</script>"


def assessment_of(case: dict, tmp: Path) -> Assessment:
    frames = build_case_frames(case, tmp)
    return Assessment(frames.snapshot, frames.config, frames, run_checks(frames))


@pytest.fixture
def unenforced(tmp_path) -> Assessment:
    """Tight policies that no engine enforces (aws-node runs --enable-network-policy=false)."""
    case = yaml.safe_load((CASES / "fail-policies-not-enforced.yaml").read_text())
    return assessment_of(case, tmp_path)


def yaml_blocks(markdown: str) -> dict[str, list[dict]]:
    """The fenced YAML blocks of a remediation, by the namespace of their policies."""
    out: dict[str, list[dict]] = {}
    for block in re.findall(r"(`{3,})yaml\n(.*?)\n\1", markdown, flags=re.S):
        docs = [d for d in yaml.safe_load_all(block[1]) if d]
        namespaces = {d["metadata"]["namespace"] for d in docs}
        assert len(namespaces) == 1, namespaces
        out[namespaces.pop()] = docs
    return out


# ------------------------------------------------------------------------------------------
# namespace reachability
# ------------------------------------------------------------------------------------------
def test_namespace_reachability_on_the_demo(demo):
    s = tables.summarize_namespace_reachability(demo)
    m = s.set_index(["source_namespace", "destination_namespace"])
    assert "kube-system" not in set(s.source_namespace)  # system namespaces left out
    # the agreed cross-namespace flow: orders → payment-gateway on 8443, nothing else
    assert m.loc[("storefront", "payments"), "connected_pairs"] == 1
    assert m.loc[("storefront", "payments"), "ports"] == "TCP 8443"
    # payments has default deny egress: it opens nothing towards the shop
    assert m.loc[("payments", "storefront"), "connected_pairs"] == 0
    assert m.loc[("payments", "payments"), "ports"] == "TCP 9000"
    # storefront is segmented inside (7 of 20 pairs), legacy-batch has no policy at all
    shop = m.loc[("storefront", "storefront")]
    assert 0 < shop.connected_pairs < shop.workload_pairs
    assert "TCP 5432" in shop.ports and "TCP 8080" in shop.ports
    legacy = m.loc[("legacy-batch", "legacy-batch")]
    assert legacy.connected_pairs == legacy.workload_pairs and legacy.connected_ratio == 1
    assert "as written is as enforced" in s.attrs["note"]


def test_namespace_reachability_as_enforced_when_no_engine(unenforced):
    written = tables.summarize_namespace_reachability(unenforced).set_index(
        ["source_namespace", "destination_namespace"])
    enforced = tables.summarize_namespace_reachability(unenforced, as_enforced=True).set_index(
        ["source_namespace", "destination_namespace"])
    assert written.loc[("shop", "shop"), "connected_pairs"] == 2  # web→api, api→db
    assert enforced.loc[("shop", "shop"), "connected_pairs"] == 6  # everything open
    assert enforced.loc[("shop", "shop"), "ports"] == "All Connections"


def test_heatmap_shows_both_views_only_when_no_engine(demo, unenforced):
    fig = charts.plot_namespace_reachability(demo)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 1
    assert list(heatmaps[0].y) == list(dict.fromkeys(
        tables.summarize_namespace_reachability(demo).source_namespace))
    labels = list(heatmaps[0].x)
    row, col = labels.index("storefront"), labels.index("payments")
    assert heatmaps[0].text[row][col] == "1/10"
    fig = charts.plot_namespace_reachability(unenforced)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2
    titles = [a.text for a in fig.layout.annotations]
    assert any("as written" in t for t in titles) and any("as enforced" in t for t in titles)
    assert heatmaps[0].text[0][0] == "2/6" and heatmaps[1].text[0][0] == "6/6"


# ------------------------------------------------------------------------------------------
# workload graph
# ------------------------------------------------------------------------------------------
def test_workload_graph_on_the_demo(demo):
    fig = charts.plot_workload_graph(demo)
    nodes = {t.name: list(t.customdata) for t in fig.data if t.mode == "markers+text"}
    assert "Deployment storefront/frontend" in nodes["storefront"]
    assert "Deployment payments/payment-gateway" in nodes["payments"]
    assert "kube-system" not in nodes
    edges = [t for t in fig.data if t.mode == "markers" and t.customdata is not None]
    hover = list(edges[0].customdata)
    assert "storefront/orders → payments/payment-gateway: TCP 8443" in hover
    assert not any(h.startswith("payments/") and "→ storefront/" in h for h in hover)
    assert not any("as enforced" in (t.name or "") for t in fig.data)


def test_workload_graph_of_one_namespace(demo):
    fig = charts.plot_workload_graph(demo, namespace="payments")
    hover = [h for t in fig.data if t.mode == "markers" and t.customdata is not None
             for h in t.customdata]
    assert hover and all("payments/" in h for h in hover)
    nodes = {t.name for t in fig.data if t.mode == "markers+text"}
    assert nodes == {"payments", "storefront"}  # storefront/orders reaches the gateway
    missing = charts.plot_workload_graph(demo, namespace="nope")
    assert "No workload in namespace" in missing.layout.annotations[0].text


def test_workload_graph_draws_as_enforced_when_no_engine(unenforced):
    fig = charts.plot_workload_graph(unenforced)
    names = [t.name or "" for t in fig.data]
    assert any(n.startswith("as enforced: all open (6 connections)") for n in names)
    assert any(n.startswith("as written: allowed (2 connections)") for n in names)


# ------------------------------------------------------------------------------------------
# segmentation intents
# ------------------------------------------------------------------------------------------
def test_segmentation_intents_on_the_demo(demo):
    s = tables.summarize_segmentation_intents(demo).set_index("intent")
    assert s.loc["frontend never reaches the database", "result"] == "fail"
    evidence = s.loc["frontend never reaches the database", "evidence"]
    assert "postgres-allow-clients" in evidence and "storefront/frontend" in evidence
    assert s.loc["frontend reaches api on 8080", "result"] == "pass"
    assert "api-allow-frontend" in s.loc["frontend reaches api on 8080", "evidence"]
    assert s.loc["payments is isolated from the shop", "result"] == "pass"
    assert s.loc["payments is isolated from the shop", "port"] == "any"
    assert s.loc["orders reaches the payment gateway on 8443", "port"] == "TCP 8443"
    assert s.loc["the shop frontend never reaches payments", "expect"] == "deny"
    assert s.index[0] == "frontend never reaches the database"  # broken intents first


def test_segmentation_intents_say_policies_are_decorative(unenforced):
    s = tables.summarize_segmentation_intents(unenforced).set_index("intent")
    assert s.loc["web never reaches the database", "result"] == "fail"
    assert all("policies are decorative" in e for e in s.evidence)


def test_no_intents_is_a_note(demo):
    empty = Assessment(demo.snapshot, type(demo.config)(), demo.frames, demo.findings)
    s = tables.summarize_segmentation_intents(empty)
    assert s.empty and "no segmentation intents" in s.attrs["note"]


# ------------------------------------------------------------------------------------------
# remediation
# ------------------------------------------------------------------------------------------
def test_remediation_yaml_on_the_demo(demo):
    text = notebook.narrate_network_remediation(demo).data
    blocks = yaml_blocks(text)
    assert {"storefront", "payments", "legacy-batch", "monitoring"} <= set(blocks)
    assert "kube-system" not in blocks
    for ns, docs in blocks.items():
        deny = docs[-1]  # default deny last, after the allow rules
        assert deny["metadata"]["name"] == "default-deny-all", ns
        assert deny["spec"]["podSelector"] == {}
        assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
        dns = deny["spec"]["egress"][0]
        assert {p["port"] for p in dns["ports"]} == {53}
    shop = {d["metadata"]["name"]: d["spec"] for d in blocks["storefront"]}
    # the deny intent: postgres accepts every storefront pod except the frontend
    postgres = shop["allow-postgres-ingress"]
    assert postgres["podSelector"] == {"matchLabels": {"app": "postgres"}}
    peers = postgres["ingress"][0]["from"]
    assert peers == [{"podSelector": {"matchExpressions": [
        {"key": "app", "operator": "NotIn", "values": ["frontend"]}]}}]
    assert postgres["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    # the api Service is not restricted by any deny intent
    assert shop["allow-api-ingress"]["ingress"][0]["from"] == [{"podSelector": {}}]
    # the internet-facing LoadBalancer keeps its source ranges
    partner = shop["allow-catalog-partner-ingress"]["ingress"][1]["from"]
    assert {p["ipBlock"]["cidr"] for p in partner} == {"198.51.100.0/24", "203.0.113.64/27"}
    # the allow intent across namespaces: egress in storefront, ingress in payments
    egress = next(v for k, v in shop.items() if k.startswith("intent-4-") and
                  k.endswith("-egress"))
    assert egress["podSelector"] == {"matchLabels": {"app": "orders"}}
    assert egress["egress"][0]["to"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "payments"}}
    pay = {d["metadata"]["name"]: d["spec"] for d in blocks["payments"]}
    ingress = next(v for k, v in pay.items() if k.startswith("intent-4-"))
    assert ingress["podSelector"] == {"matchLabels": {"app": "payment-gateway"}}
    assert ingress["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8443}]
    # deny intents generate no allow rule
    assert not any("never" in k for k in shop)


HOSTILE = f"""
k8s:
  - {{apiVersion: v1, kind: Namespace, metadata: {{name: shop}}}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web, namespace: shop}}
    spec:
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec: {{containers: [{{name: web, image: nginx:1.27}}]}}
  - apiVersion: v1
    kind: Pod
    metadata: {{name: "{EVIL}", namespace: shop, labels: {{app: evil}}}}
    spec: {{containers: [{{name: sh, image: busybox:1.36}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: "{EVIL}", namespace: shop}}
    spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
  - apiVersion: v1
    kind: Service
    metadata: {{name: web, namespace: shop}}
    spec: {{selector: {{app: "x```y"}}, ports: [{{port: 80}}]}}
config:
  segmentation:
    - name: "```\\n{EVIL}"
      from: {{namespace: shop, labels: {{app: "web`"}}}}
      to: {{namespace: shop}}
      port: 80
      expect: allow
    - name: "{EVIL} never"
      from: {{namespace: shop, labels: {{app: web}}}}
      to: {{namespace: "{EVIL}"}}
      expect: deny
"""


def test_hostile_names_never_reach_a_code_block(tmp_path):
    a = assessment_of(yaml.safe_load(HOSTILE), tmp_path)
    text = notebook.narrate_network_remediation(a).data
    blocks = re.findall(r"(`{3,})yaml\n(.*?)\n\1", text, flags=re.S)
    assert len(blocks) == 1  # shop only: the default deny
    docs = [d for d in yaml.safe_load_all(blocks[0][1]) if d]
    assert [d["metadata"]["name"] for d in docs] == ["default-deny-all"]
    outside = re.sub(r"(`{3,})yaml\n.*?\n\1", "", text, flags=re.S)
    assert "<script>" not in text and "&lt;script&gt;" in outside
    assert "no rule generated" in outside
    s = tables.summarize_segmentation_intents(a)
    assert set(s.result) == {"fail", "not_assessed"}
    html = tables.render_table(s)
    assert "<script>" not in html and "&lt;script&gt;" in html
    graph = charts.plot_workload_graph(a)
    for fig in (charts.plot_namespace_reachability(a), graph):
        assert not [v for v in strings(fig.to_plotly_json()) if "<script>" in v]
    assert any("&lt;script&gt;" in v for v in strings(graph.to_plotly_json()))


def strings(value) -> list[str]:
    """Every string inside a nested figure dict (names, texts, hover data)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return [s for v in items for s in strings(v)]
    return []
