"""workload_pss_{baseline,restricted}_compliant: coverage gaps and the version each row used.

Case files (tests/checks/cases/) cover pass and fail; a missing source cannot be written as a
manifest, so not_assessed is asserted here on snapshots with recorded gaps.
"""

from __future__ import annotations

import pytest

from zt_toolkit.checks import get_check, run_checks
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot, SnapshotWriter

CHECKS = ("workload_pss_baseline_compliant", "workload_pss_restricted_compliant")
CONTROLLERS = ("deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps",
               "jobs.batch", "cronjobs.batch")


def deployment(name, namespace, spec):
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"metadata": {}, "spec": spec}}}


ROOT_SPEC = {"securityContext": {"runAsNonRoot": True,
                                 "seccompProfile": {"type": "RuntimeDefault"}},
             "containers": [{"name": "app", "image": "x:1", "securityContext": {
                 "runAsUser": 0, "allowPrivilegeEscalation": False,
                 "capabilities": {"drop": ["ALL"]}}}]}


@pytest.mark.parametrize("check_id", CHECKS)
def test_workloads_not_collected_is_not_assessed(tmp_path, check_id):
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c1"})
    w.record_gap("k8s/pods", "forbidden", "403 pods is forbidden")
    for key in CONTROLLERS:
        w.record_gap(f"k8s/{key}", "forbidden", "403")
    findings = run_checks(Frames(Snapshot.load(w.close())), [get_check(check_id)])
    assert findings.status.tolist() == ["not_assessed"]
    assert "k8s/pods: forbidden" in findings.detail.iloc[0]


def test_namespaces_not_collected_evaluates_at_latest_and_says_so(tmp_path):
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c1"})
    w.write_k8s("deployments.apps", [deployment("legacy", "shop", ROOT_SPEC)],
                kind="DeploymentList", api_version="apps/v1")
    w.record_gap("k8s/namespaces", "forbidden", "403 namespaces is forbidden")
    findings = run_checks(Frames(Snapshot.load(w.close())), [get_check(CHECKS[1])])
    row = findings.set_index("name").loc["legacy"]
    assert row.status == "fail"
    assert row.detail.startswith("runAsUser: ")
    assert row.detail.endswith("[at latest = v1.37 (namespace labels not collected)]")


@pytest.fixture
def versioned(tmp_path):
    """One template (runAsUser 0, else restricted) in namespaces with different version labels."""
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c1"})
    labels = {"old": "v1.22", "new": "v1.23", "typo": "1.22", "future": "v1.99",
              "latest": "latest", "unlabelled": None}
    w.write_k8s("namespaces", [
        {"metadata": {"name": ns, "labels": {} if v is None else {
            "pod-security.kubernetes.io/enforce-version": v}}} for ns, v in labels.items()],
        kind="NamespaceList")
    w.write_k8s("deployments.apps", [deployment("legacy", ns, ROOT_SPEC) for ns in labels],
                kind="DeploymentList", api_version="apps/v1")
    return Frames(Snapshot.load(w.close()))


def test_each_workload_is_evaluated_at_its_namespace_version(versioned):
    v = versioned.workload_pss
    r = v[v.level == "restricted"].set_index("namespace")
    assert r.loc["old", "allowed"] and r.loc["old", "version"] == "v1.22"
    assert not r.loc["new", "allowed"] and r.loc["new", "checks"] == ("runAsUser",)
    # PSA accepts only v1.<minor> or latest and fails closed to latest on anything else
    assert not r.loc["typo", "allowed"] and r.loc["typo", "version"] == "latest"
    assert "invalid enforce-version label '1.22'" in r.loc["typo", "version_source"]
    assert not r.loc["future", "allowed"] and r.loc["future", "version"] == "v1.99"
    assert not r.loc["latest", "allowed"]
    assert r.loc["unlabelled", "version_source"] == "no enforce-version label"
    b = v[v.level == "baseline"]
    assert b.allowed.all() and (b.checks.map(len) == 0).all()


def test_finding_detail_names_the_version(versioned):
    findings = run_checks(versioned, [get_check(CHECKS[1])]).set_index("namespace")
    assert findings.loc["old", "detail"] == "admitted [at v1.22 (enforce-version label)]"
    assert findings.loc["new", "detail"] == (
        'runAsUser: container "app" must not set runAsUser=0 [at v1.23 (enforce-version label)]')
