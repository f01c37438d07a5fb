"""Workload frames: owner resolution, templates vs pods, effective security context."""

from __future__ import annotations

import pandas as pd
import pytest

from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot, SnapshotWriter


def owner(kind, name):
    return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "controller": True,
             "uid": f"uid-{name}"}]


def pod(name, ns, spec, owners=None, ready=True, node="n1", image_id=None):
    status = {"phase": "Running",
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
              "containerStatuses": [{"name": c["name"], "image": c["image"], "ready": ready,
                                     "imageID": image_id or ""} for c in spec["containers"]]}
    meta = {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": {"app": name}}
    if owners:
        meta["ownerReferences"] = owners
    return {"metadata": meta, "spec": {**spec, "nodeName": node}, "status": status}


API_SPEC = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"}},
    "initContainers": [{"name": "migrate", "image": "shop/migrate:1",
                        "securityContext": {"runAsUser": 0, "runAsNonRoot": False}}],
    "containers": [{"name": "api", "image": "shop/api:1",
                    "securityContext": {"allowPrivilegeEscalation": False,
                                        "seccompProfile": {"type": "Unconfined"}},
                    "ports": [{"containerPort": 8080, "hostPort": 8080}],
                    "env": [{"name": "DB_USER", "value": "shop"},
                            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {
                                "name": "db", "key": "password"}}}]}],
    "ephemeralContainers": [{"name": "debugger", "image": "busybox",
                             "securityContext": {"privileged": True}}],
    "volumes": [{"name": "sock", "hostPath": {"path": "/run/containerd/containerd.sock"}}],
}


@pytest.fixture
def frames(tmp_path):
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c"})
    w.write_k8s("deployments.apps", [{"metadata": {"name": "api", "namespace": "shop"},
                                      "spec": {"replicas": 2, "template": {
                                          "metadata": {"labels": {"app": "api"}},
                                          "spec": API_SPEC}}}],
                kind="DeploymentList", api_version="apps/v1")
    w.write_k8s("replicasets.apps", [{"metadata": {"name": "api-7d9", "namespace": "shop",
                                                   "ownerReferences": owner("Deployment", "api")},
                                      "spec": {}}], kind="ReplicaSetList", api_version="apps/v1")
    w.write_k8s("cronjobs.batch", [{"metadata": {"name": "nightly", "namespace": "batch"},
                                    "spec": {"schedule": "0 1 * * *", "jobTemplate": {"spec": {
                                        "template": {"spec": {"containers": [
                                            {"name": "job", "image": "batch/job:2"}]}}}}}}],
                kind="CronJobList", api_version="batch/v1")
    w.write_k8s("jobs.batch", [{"metadata": {"name": "nightly-29", "namespace": "batch",
                                             "ownerReferences": owner("CronJob", "nightly")},
                                "spec": {}}], kind="JobList", api_version="batch/v1")
    bare_spec = {"containers": [{"name": "sh", "image": "busybox"}], "hostNetwork": True}
    orphan_spec = {"containers": [{"name": "x", "image": "x"}]}
    w.write_k8s("pods", [
        pod("api-7d9-a", "shop", API_SPEC, owner("ReplicaSet", "api-7d9"),
            image_id="docker.io/shop/api@sha256:" + "a" * 64),
        pod("api-7d9-b", "shop", API_SPEC, owner("ReplicaSet", "api-7d9"), ready=False),
        pod("nightly-29-x", "batch", {"containers": [{"name": "job", "image": "batch/job:2"}]},
            owner("Job", "nightly-29")),
        pod("debug", "shop", bare_spec),
        pod("rollout-abc-1", "shop", orphan_spec, owner("ReplicaSet", "rollout-abc")),
    ], kind="PodList")
    w.write_k8s("namespaces", [{"metadata": {"name": n, "labels": {
        "pod-security.kubernetes.io/enforce": "baseline"} if n == "shop" else {}}}
        for n in ("shop", "batch", "kube-system")], kind="NamespaceList")
    return Frames(Snapshot.load(w.close()))


def test_pods_resolve_to_their_top_level_owner(frames):
    owners = frames.pods.set_index("name")[["workload_kind", "workload_name"]]
    assert tuple(owners.loc["api-7d9-a"]) == ("Deployment", "api")
    assert tuple(owners.loc["nightly-29-x"]) == ("CronJob", "nightly")
    assert tuple(owners.loc["debug"]) == ("Pod", "debug")
    # an owner that is not in the snapshot (an Argo Rollout's ReplicaSet) names the workload
    assert tuple(owners.loc["rollout-abc-1"]) == ("ReplicaSet", "rollout-abc")


def test_one_workload_row_per_controller_with_pod_counts(frames):
    w = frames.workloads.set_index(["kind", "namespace", "name"])
    assert set(w.index) == {("Deployment", "shop", "api"), ("CronJob", "batch", "nightly"),
                            ("Pod", "shop", "debug"), ("ReplicaSet", "shop", "rollout-abc")}
    api = w.loc[("Deployment", "shop", "api")]
    assert (api.pod_count, api.ready_count, api.replicas, api.source) == (2, 1, 2, "template")
    assert w.loc[("Pod", "shop", "debug")].source == "pod"
    assert w.loc[("Pod", "shop", "debug")].host_network == True
    assert pd.isna(api.host_network), "unset is NA, not False"


def test_containers_carry_effective_security_context(frames):
    c = frames.containers.set_index("container")
    assert set(c.container_type.items()) >= {("migrate", "init"), ("api", "regular"),
                                              ("debugger", "ephemeral")}
    # pod-level runAsNonRoot/runAsUser inherited by api, overridden by migrate
    assert c.loc["api", "run_as_non_root"] == True  # noqa: E712 and c.loc["api", "run_as_user"] == 1000
    assert c.loc["migrate", "run_as_non_root"] == False and c.loc["migrate", "run_as_user"] == 0
    # container seccomp overrides the pod's; debugger inherits the pod's RuntimeDefault
    assert c.loc["api", "seccomp_profile_type"] == "Unconfined"
    assert c.loc["debugger", "seccomp_profile_type"] == "RuntimeDefault"
    assert c.loc["debugger", "privileged"] == True and pd.isna(c.loc["api", "privileged"])
    assert c.loc["api", "host_ports"] == (8080,)
    assert c.loc["api", "env_secret_refs"] == (("DB_PASSWORD", "db"),)
    assert c.loc["api", "env_values"] == {"DB_USER": "shop"}


def test_volumes_and_running_images(frames):
    v = frames.volumes
    assert v.set_index("name").loc["api", "host_path"] == "/run/containerd/containerd.sock"
    running = frames.running_containers.set_index("pod")
    assert running.loc["api-7d9-a", "image_id"].endswith("a" * 64)
    assert pd.isna(running.loc["api-7d9-b", "image_id"])


def test_namespaces_expose_pss_labels(frames):
    ns = frames.namespaces.set_index("name")
    assert ns.loc["shop", "pss_enforce"] == "baseline" and pd.isna(ns.loc["batch", "pss_enforce"])
    assert ns.loc["kube-system", "system"] and not ns.loc["shop", "system"]


def test_workloads_from_templates_alone(tmp_path):
    """Manifest imports have controllers and no pods: workloads still exist."""
    w = SnapshotWriter(tmp_path / "s", source="manifests", cluster={"name": "c"})
    w.write_k8s("daemonsets.apps", [{"metadata": {"name": "agent", "namespace": "mon"},
                                     "spec": {"template": {"spec": {"containers": [
                                         {"name": "a", "image": "a"}]}}}}],
                kind="DaemonSetList", api_version="apps/v1")
    frames = Frames(Snapshot.load(w.close()))
    assert frames.workloads[["kind", "name", "pod_count"]].values.tolist() == [
        ["DaemonSet", "agent", 0]]
    assert frames.gaps(["workloads"]) == []
    assert frames.gaps(["pods"]) == ["k8s/pods: not_collected (not in the snapshot)"]
