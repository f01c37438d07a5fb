"""Pod Security Standards namespace view and remediation, asserted per namespace on the demo.

The demo's namespaces (zt_toolkit/demo.py): storefront enforces baseline with warn restricted,
payments enforces restricted pinned at v1.30, legacy-batch and monitoring enforce nothing,
kyverno and external-secrets enforce baseline, default is empty.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

import zt_toolkit.report as zt
from zt_toolkit import assess
from zt_toolkit.analysis.pss import evaluate_spec
from zt_toolkit.report import pss_remediation as r
from zt_toolkit.report.markdown import fenced, is_k8s_name
from zt_toolkit.report.pss_remediation import MANUAL
from zt_toolkit.snapshot import Snapshot, SnapshotWriter

PREFIX = "pod-security.kubernetes.io/"


@pytest.fixture(scope="module")
def readiness(demo):
    return zt.summarize_pss_readiness(demo).set_index(["namespace", "level"])


# ------------------------------------------------------------------------------------------
# readiness
# ------------------------------------------------------------------------------------------
def test_readiness_has_both_levels_of_every_non_system_namespace(readiness):
    namespaces = set(readiness.index.get_level_values(0))
    assert namespaces == {"default", "storefront", "payments", "legacy-batch", "monitoring",
                          "kyverno", "external-secrets"}
    assert len(readiness) == 2 * len(namespaces)


def test_storefront_enforces_baseline_and_restricted_would_reject_three(readiness):
    base, restr = readiness.loc[("storefront", "baseline")], readiness.loc[("storefront",
                                                                             "restricted")]
    assert (base.readiness, base.rejected, base.workloads) == ("enforced", 0, 5)
    assert (restr.readiness, restr.rejected) == ("not ready", 3)
    assert restr.rejected_workloads == (
        "Deployment/catalog (allowPrivilegeEscalation, capabilities_restricted, runAsNonRoot, "
        "seccompProfile_restricted); Deployment/frontend (allowPrivilegeEscalation, "
        "runAsNonRoot, seccompProfile_restricted); StatefulSet/postgres "
        "(allowPrivilegeEscalation, capabilities_restricted, runAsNonRoot, "
        "seccompProfile_restricted)")
    assert (restr.enforce, restr.warn, restr.audit, restr.version) == (
        "baseline", "restricted", "—", "latest")


def test_payments_is_evaluated_at_its_pinned_version_and_enforced(readiness):
    for level in ("baseline", "restricted"):
        row = readiness.loc[("payments", level)]
        assert (row.readiness, row.rejected, row.workloads) == ("enforced", 0, 2)
        assert row.version == row.enforce_version == "v1.30"
        assert row.audit == row.warn == "restricted"


def test_unlabelled_namespaces_are_not_ready_for_baseline(readiness):
    lb = readiness.loc[("legacy-batch", "baseline")]
    assert (lb.readiness, lb.rejected, lb.enforce) == ("not ready", 2, "—")
    assert lb.rejected_workloads == ("CronJob/nightly-report (hostPathVolumes, privileged); "
                                     "Pod/debug-shell (capabilities_baseline)")
    mon = readiness.loc[("monitoring", "baseline")]
    assert (mon.readiness, mon.rejected, mon.audit) == ("not ready", 2, "baseline")
    assert mon.rejected_workloads.startswith("DaemonSet/falco (hostPathVolumes, privileged); "
                                             "DaemonSet/node-exporter (hostNamespaces, ")
    assert readiness.loc[("monitoring", "restricted"), "rejected"] == 4


def test_baseline_namespaces_ready_for_restricted(readiness):
    for ns, workloads in (("kyverno", 1), ("external-secrets", 3)):
        assert readiness.loc[(ns, "baseline"), "readiness"] == "enforced"
        row = readiness.loc[(ns, "restricted")]
        assert (row.readiness, row.rejected, row.workloads) == ("ready", 0, workloads)
    assert readiness.loc[("default", "restricted"), "workloads"] == 0


def test_rejections_match_the_workload_pss_findings(demo, readiness):
    f = demo.findings
    for level in ("baseline", "restricted"):
        failing = f[(f.check_id == f"workload_pss_{level}_compliant") & (f.status == "fail")]
        per_ns = failing.groupby("namespace").size()
        for ns in set(readiness.index.get_level_values(0)):
            assert readiness.loc[(ns, level), "rejected"] == per_ns.get(ns, 0), (ns, level)


def test_readiness_chart_counts_per_namespace(demo):
    fig = zt.plot_pss_readiness(demo)
    bars = {t.name: dict(zip(t.y, t.x, strict=True)) for t in fig.data}
    assert bars["Rejected at restricted"]["storefront"] == 3
    assert bars["Rejected at baseline"]["monitoring"] == 2
    assert bars["Workloads"]["payments"] == 2
    assert "default" not in bars["Workloads"]  # no workload: nothing to draw


# ------------------------------------------------------------------------------------------
# offenders
# ------------------------------------------------------------------------------------------
def test_top_offenders_worst_first_without_system_namespaces(demo):
    o = zt.summarize_pss_offenders(demo)
    assert list(o.name[:3]) == ["node-exporter", "nightly-report", "falco"]
    assert "kube-system" not in set(o.namespace)
    ne = o.set_index("name").loc["node-exporter"]
    assert (ne.baseline, ne.restricted) == (3, 5)
    assert ne.violations.split(", ")[:2] == ["hostNamespaces", "hostPorts"]
    assert ne.open_failures >= ne.baseline
    assert not {"api", "orders", "payment-gateway"} & set(o.name)  # restricted-compliant
    everyone = zt.summarize_pss_offenders(demo, n=100, include_system=True)
    assert "aws-node" in set(everyone.name)
    assert len(zt.summarize_pss_offenders(demo, n=2)) == 2


# ------------------------------------------------------------------------------------------
# remediation
# ------------------------------------------------------------------------------------------
def code_blocks(markdown: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)\n```$", markdown, flags=re.S | re.M)


def label_commands(markdown: str) -> dict[str, dict[str, str]]:
    out = {}
    for line in code_blocks(markdown, "sh")[0].replace(" \\\n  ", " ").splitlines():
        if line.startswith("kubectl label"):
            words = line.split()
            ns = words[4]
            out[ns] = dict(w[len(PREFIX):].split("=") for w in words[5:])
    return out


@pytest.fixture(scope="module")
def remediation(demo) -> str:
    return zt.narrate_pss_remediation(demo, n=5).data


def test_namespace_labels_at_the_level_each_is_ready_for(remediation):
    cmds = label_commands(remediation)
    assert cmds["storefront"] == {"enforce": "baseline", "enforce-version": "latest",
                                  "warn": "restricted", "audit": "restricted"}
    assert cmds["kyverno"]["enforce"] == cmds["external-secrets"]["enforce"] == "restricted"
    # not ready for baseline: warn and audit at restricted, no enforce
    assert cmds["legacy-batch"] == {"warn": "restricted", "audit": "restricted"}
    assert cmds["monitoring"] == {"warn": "restricted", "audit": "restricted"}
    assert "payments" not in cmds and "Already labelled as recommended: `payments`" in \
        remediation
    assert not {"kube-system", "kube-public"} & set(cmds)


def strategic_merge(target: dict, patch: dict) -> dict:
    """The subset of a strategic-merge patch our patches use: maps merge, null deletes,
    containers merge by name, other lists replace."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif key in ("containers", "initContainers"):
            by_name = {c["name"]: c for c in out.get(key, [])}
            for c in value:
                by_name[c["name"]] = strategic_merge(by_name.get(c["name"], {}), c)
            out[key] = list(by_name.values())
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = strategic_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


TEMPLATE = {"Deployment": ("spec", "template", "spec"), "DaemonSet": ("spec", "template", "spec"),
            "StatefulSet": ("spec", "template", "spec"), "Pod": ("spec",),
            "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}


def test_each_patch_leaves_only_the_manual_checks(demo, remediation):
    offenders = zt.summarize_pss_offenders(demo, n=5)
    patches = {}
    for block in code_blocks(remediation, "yaml"):
        name = block.splitlines()[0].removeprefix("# ").removesuffix("-pss.yaml")
        patches[name] = yaml.safe_load(block)
    assert set(patches) == set(offenders.name)
    v = demo.frames.workload_pss
    for o in offenders.itertuples(index=False):
        row = v[(v.kind == o.kind) & (v.namespace == o.namespace) & (v.name == o.name)
                & (v.level == "restricted")].iloc[0]
        pod_like = demo.frames.pod_specs[row.spec_hash]
        patch = patches[o.name]
        for key in TEMPLATE[o.kind]:
            patch = patch[key]
        fixed = strategic_merge(pod_like["spec"], patch)
        left = {x.check_id for x in evaluate_spec(pod_like["metadata"], fixed, "restricted",
                                                  row.version).violations}
        assert left <= set(MANUAL), (o.name, left)
        for c in fixed["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, (o.name, c["name"])


def test_patch_commands_name_the_workload_and_file(remediation):
    blocks = "\n".join(code_blocks(remediation, "sh"))
    assert ("kubectl -n storefront patch deployment catalog --type strategic "
            "--patch-file catalog-pss.yaml") in blocks
    assert ("kubectl -n legacy-batch patch cronjob nightly-report --type strategic "
            "--patch-file nightly-report-pss.yaml") in blocks
    assert "patch pod" not in blocks  # bare Pods are recreated, not patched
    assert "A bare Pod's spec cannot be changed in place" in remediation


def test_run_as_user_zero_is_removed_and_privileged_turned_off(remediation):
    block = next(b for b in code_blocks(remediation, "yaml") if b.startswith(
        "# nightly-report-pss.yaml"))
    report = yaml.safe_load(block)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    sc = report["containers"][0]["securityContext"]
    assert sc["privileged"] is False and sc["allowPrivilegeEscalation"] is False
    assert "runAsUser" in sc and sc["runAsUser"] is None  # null deletes the root UID
    assert report["securityContext"] == {"runAsNonRoot": True,
                                         "seccompProfile": {"type": "RuntimeDefault"}}


# ------------------------------------------------------------------------------------------
# hostile names never reach a command or a code block
# ------------------------------------------------------------------------------------------
EVIL_NS = "evil`ns"
EVIL_NAME = "x```\nrm -rf /"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    w = SnapshotWriter(tmp_path_factory.mktemp("hostile") / "snap", source="demo",
                       cluster={"name": "c1"})
    spec = {"containers": [{"name": "app", "image": "x:1",
                            "securityContext": {"privileged": True}}]}
    w.write_k8s("namespaces", [{"metadata": {"name": n}} for n in (EVIL_NS, "shop")],
                kind="NamespaceList")
    w.write_k8s("deployments.apps", [
        {"metadata": {"name": EVIL_NAME, "namespace": "shop"},
         "spec": {"template": {"metadata": {}, "spec": spec}}},
        {"metadata": {"name": "web", "namespace": EVIL_NS},
         "spec": {"template": {"metadata": {}, "spec": spec}}}],
        kind="DeploymentList", api_version="apps/v1")
    return assess(Snapshot.load(w.close()))


def test_hostile_names_are_named_in_text_not_in_code(hostile):
    md = zt.narrate_pss_remediation(hostile).data
    fences = re.findall(r"^`{3,}", md, flags=re.M)
    assert len(fences) % 2 == 0
    code = "\n".join(code_blocks(md, "sh") + code_blocks(md, "yaml"))
    assert "evil" not in code and "rm -rf" not in code
    assert "kubectl label --overwrite namespace shop \\\n" in code
    assert EVIL_NAME not in md and "rm \\-rf /" in md
    assert "not a valid Kubernetes name, no patch generated" in md
    assert "Not a valid namespace name, no command generated: evil\\`ns" in md


def test_fence_outgrows_backticks_and_names_are_validated():
    assert fenced("a ``` b").startswith("````\n")
    assert not is_k8s_name("Shop") and not is_k8s_name("a" * 254)
    assert is_k8s_name("kube-system") and is_k8s_name("a.b-c")
    assert r.patch_command("Deployment", "shop", "a b", "f.yaml") is None
    plan = r.namespace_label_plan("shop", {"enforce": "restricted"}, "v1.30",
                                  {"baseline": 0, "restricted": 2})
    assert plan["enforce"] == "restricted" and plan["kept"]  # never lowered
    assert r.namespace_label_plan("shop", {}, "1.30", {})["labels"]["enforce-version"] == \
        "latest"


def test_missing_workloads_give_a_note_not_a_clean_table(tmp_path):
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c1"})
    w.write_k8s("namespaces", [{"metadata": {"name": "shop"}}], kind="NamespaceList")
    w.record_gap("k8s/pods", "forbidden", "403 pods is forbidden")
    for key in ("deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps",
                "jobs.batch", "cronjobs.batch"):
        w.record_gap(f"k8s/{key}", "forbidden", "403")
    a = assess(Snapshot.load(w.close()))
    for table in (zt.summarize_pss_readiness(a), zt.summarize_pss_offenders(a)):
        assert table.empty and "not collected: k8s/pods: forbidden" in table.attrs["note"]
    assert "not collected" in zt.narrate_pss_remediation(a).data


def test_missing_namespaces_evaluate_workloads_at_latest(tmp_path):
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c1"})
    w.record_gap("k8s/namespaces", "forbidden", "403 namespaces is forbidden")
    w.write_k8s("deployments.apps", [{"metadata": {"name": "web", "namespace": "shop"},
                                      "spec": {"template": {"metadata": {}, "spec": {
                                          "hostPID": True,
                                          "containers": [{"name": "a", "image": "x:1"}]}}}}],
                kind="DeploymentList", api_version="apps/v1")
    r = zt.summarize_pss_readiness(assess(Snapshot.load(w.close()))).set_index("level")
    assert r.loc["baseline", "rejected"] == 1 and r.loc["baseline", "enforce"] == "?"
    assert r.loc["baseline", "readiness"] == "not ready"
    assert "Namespace labels not collected" in r.attrs["note"]
