"""Workload frames: namespaces, pods, workloads, containers, volumes, nodes, service accounts.

Pods are resolved to their owning controller (Pod → ReplicaSet → Deployment, Pod → Job →
CronJob); checks report per owning workload, not per replica. A workload's pod spec is its
controller's template when the controller is in the snapshot (manifest imports have templates
and no pods), otherwise the spec of one of its pods. Container security settings are the
*effective* ones: the container's securityContext over the pod's, as the kubelet applies them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pandas as pd
import pandera.pandas as pa

from zt_toolkit.frames import Frames, frame, from_rows, nullable_bool
from zt_toolkit.sources.catalog import SYSTEM_NAMESPACES

# Controllers whose pod template defines a workload, with the path to the template.
_TEMPLATE_RESOURCES = {
    "Deployment": "deployments.apps",
    "StatefulSet": "statefulsets.apps",
    "DaemonSet": "daemonsets.apps",
    "ReplicaSet": "replicasets.apps",
    "Job": "jobs.batch",
    "CronJob": "cronjobs.batch",
}
WORKLOAD_SOURCES = ("k8s/pods", *(f"k8s/{r}" for r in _TEMPLATE_RESOURCES.values()))
_PSS_LABEL = "pod-security.kubernetes.io/"

_KEY = {"kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str)}


def _labels(meta: dict[str, Any]) -> dict[str, str]:
    return dict(meta.get("labels") or {})


# ------------------------------------------------------------------------------------------
# namespaces
# ------------------------------------------------------------------------------------------
NAMESPACE_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "labels": "object", "annotations": "object",
    "system": "bool", "pss_enforce": "string", "pss_enforce_version": "string",
    "pss_audit": "string", "pss_warn": "string",
}


@frame("namespaces", sources=("k8s/namespaces",), schema=pa.DataFrameSchema({
    **_KEY,
    "system": pa.Column(bool, description="kube-system, kube-public or kube-node-lease"),
    "pss_enforce": pa.Column("string", nullable=True,
                             description="pod-security.kubernetes.io/enforce label"),
}))
def build_namespaces(frames: Frames) -> pd.DataFrame:
    """One row per Namespace with its Pod Security Admission labels."""
    rows = []
    for ns in frames.snapshot.iter_k8s("namespaces"):
        meta = ns.get("metadata", {})
        labels = _labels(meta)
        rows.append({
            "kind": "Namespace", "namespace": "", "name": meta.get("name", ""),
            "labels": labels, "annotations": dict(meta.get("annotations") or {}),
            "system": meta.get("name") in SYSTEM_NAMESPACES,
            "pss_enforce": labels.get(_PSS_LABEL + "enforce"),
            "pss_enforce_version": labels.get(_PSS_LABEL + "enforce-version"),
            "pss_audit": labels.get(_PSS_LABEL + "audit"),
            "pss_warn": labels.get(_PSS_LABEL + "warn"),
        })
    return from_rows(rows, NAMESPACE_COLUMNS)


# ------------------------------------------------------------------------------------------
# owner resolution
# ------------------------------------------------------------------------------------------
class _Owners:
    """Maps an owner reference to the top-level workload that owns it."""

    def __init__(self, frames: Frames) -> None:
        self.parent: dict[tuple[str, str, str], tuple[str, str]] = {}
        snap = frames.snapshot
        for kind, resource in (("ReplicaSet", "replicasets.apps"), ("Job", "jobs.batch")):
            for obj in snap.iter_k8s(resource):
                meta = obj.get("metadata", {})
                owner = _controller_ref(meta)
                if owner:
                    key = (kind, meta.get("namespace", "default"), meta.get("name", ""))
                    self.parent[key] = (owner["kind"], owner["name"])

    def resolve(self, namespace: str, kind: str, name: str) -> tuple[str, str]:
        seen = 0
        while (kind, namespace, name) in self.parent and seen < 5:
            kind, name = self.parent[(kind, namespace, name)]
            seen += 1
        return kind, name


def _controller_ref(meta: dict[str, Any]) -> dict[str, Any] | None:
    refs = meta.get("ownerReferences") or []
    for ref in refs:
        if ref.get("controller"):
            return ref
    return refs[0] if refs else None


def _pod_meta_for_hash(meta: dict[str, Any]) -> dict[str, Any]:
    # Annotations matter for old seccomp/AppArmor semantics; labels do not change security.
    return {"annotations": meta.get("annotations") or {}}


def spec_hash(pod_like: dict[str, Any]) -> str:
    """Stable hash of a pod spec plus its annotations (replicas share one)."""
    return hashlib.blake2b(
        orjson.dumps(pod_like, option=orjson.OPT_SORT_KEYS), digest_size=8
    ).hexdigest()


def _template_of(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template") or {}


# ------------------------------------------------------------------------------------------
# pods and workloads
# ------------------------------------------------------------------------------------------
POD_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "uid": "str", "node_name": "string",
    "phase": "string", "workload_kind": "str", "workload_name": "str",
    "service_account": "str", "host_network": "boolean", "labels": "object", "ready": "bool",
}


@frame("pods", sources=("k8s/pods",), schema=pa.DataFrameSchema({
    **_KEY,
    "workload_kind": pa.Column(str, description="kind of the owning top-level controller"),
    "workload_name": pa.Column(str),
    "host_network": pa.Column("boolean", nullable=True),
}))
def build_pods(frames: Frames) -> pd.DataFrame:
    """One row per Pod with its owning workload, node and readiness."""
    return frames.get("_pod_scan")["pods"]


@frame("_pod_scan", sources=("k8s/pods",))
def _scan_pods(frames: Frames) -> dict[str, Any]:
    """One pass over all pods: pod rows, running containers, and specs of unowned pods."""
    owners = _Owners(frames)
    pods, running = [], []
    pod_specs: dict[tuple[str, str, str], dict[str, Any]] = {}
    for pod in frames.snapshot.iter_k8s("pods"):
        meta = pod.get("metadata", {})
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        ns, name = meta.get("namespace", "default"), meta.get("name", "")
        ref = _controller_ref(meta)
        if ref:
            wkind, wname = owners.resolve(ns, ref.get("kind", ""), ref.get("name", ""))
        else:
            wkind, wname = "Pod", name
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in status.get("conditions") or ())
        pods.append({
            "kind": "Pod", "namespace": ns, "name": name, "uid": meta.get("uid", ""),
            "node_name": spec.get("nodeName"), "phase": status.get("phase"),
            "workload_kind": wkind, "workload_name": wname,
            "service_account": spec.get("serviceAccountName") or "default",
            "host_network": nullable_bool(spec.get("hostNetwork")), "labels": _labels(meta),
            "ready": ready,
        })
        key = (wkind, ns, wname)
        if key not in pod_specs:
            pod_specs[key] = {"metadata": _pod_meta_for_hash(meta) | {"labels": _labels(meta)},
                              "spec": spec}
        for cs in (*(status.get("initContainerStatuses") or ()),
                   *(status.get("containerStatuses") or ())):
            running.append({
                "namespace": ns, "pod": name, "workload_kind": wkind, "workload_name": wname,
                "container": cs.get("name", ""), "image": cs.get("image", ""),
                "image_id": cs.get("imageID") or None, "node_name": spec.get("nodeName"),
                "ready": bool(cs.get("ready")),
            })
    return {
        "pods": from_rows(pods, POD_COLUMNS),
        "running": from_rows(running, RUNNING_COLUMNS),
        "specs": pod_specs,
    }


RUNNING_COLUMNS = {
    "namespace": "str", "pod": "str", "workload_kind": "str", "workload_name": "str",
    "container": "str", "image": "str", "image_id": "string", "node_name": "string",
    "ready": "bool",
}


@frame("running_containers", sources=("k8s/pods",))
def build_running_containers(frames: Frames) -> pd.DataFrame:
    """One row per container status of every pod: the image digest that actually runs."""
    return frames.get("_pod_scan")["running"]


WORKLOAD_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "labels": "object",
    "annotations": "object", "replicas": "Int64", "pod_count": "int64", "ready_count": "int64",
    "service_account": "str", "automount_service_account_token": "boolean",
    "host_network": "boolean", "host_pid": "boolean", "host_ipc": "boolean",
    "spec_hash": "str", "source": "str", "system": "bool",
    "desired_scheduled": "Int64", "number_ready": "Int64", "tolerations": "object",
    "node_selector": "object", "os": "string",
}


@frame("workloads", sources=WORKLOAD_SOURCES, any_source=True, schema=pa.DataFrameSchema({
    **_KEY,
    "source": pa.Column(str, pa.Check.isin(["template", "pod"]),
                        description="where the pod spec comes from"),
    "spec_hash": pa.Column(str, description="key into frames.pod_specs"),
    "host_network": pa.Column("boolean", nullable=True),
}))
def build_workloads(frames: Frames) -> pd.DataFrame:
    """One row per workload (controller, or bare Pod) with pod-level settings."""
    return frames.get("_workload_scan")["workloads"]


@frame("pod_specs", sources=WORKLOAD_SOURCES, any_source=True)
def build_pod_specs(frames: Frames) -> dict[str, dict[str, Any]]:
    """Pod-shaped dicts (``metadata.annotations``, ``spec``) by spec hash, for the engines."""
    return frames.get("_workload_scan")["specs"]


@frame("_workload_scan", sources=WORKLOAD_SOURCES, any_source=True)
def _scan_workloads(frames: Frames) -> dict[str, Any]:
    snap = frames.snapshot
    templates: dict[tuple[str, str, str], dict[str, Any]] = {}
    extra: dict[tuple[str, str, str], dict[str, Any]] = {}
    for kind, resource in _TEMPLATE_RESOURCES.items():
        for obj in snap.iter_k8s(resource):
            meta = obj.get("metadata", {})
            if kind in ("ReplicaSet", "Job") and _controller_ref(meta):
                continue  # owned: its Deployment / CronJob is the workload
            key = (kind, meta.get("namespace", "default"), meta.get("name", ""))
            tmpl = _template_of(kind, obj)
            tmeta = tmpl.get("metadata") or {}
            templates[key] = {"metadata": _pod_meta_for_hash(tmeta) | {"labels": _labels(tmeta)},
                              "spec": tmpl.get("spec") or {}}
            spec, status = obj.get("spec") or {}, obj.get("status") or {}
            extra[key] = {
                "replicas": spec.get("replicas"),
                "desired_scheduled": status.get("desiredNumberScheduled"),
                "number_ready": status.get("numberReady"),
            }
    pod_scan = frames.get("_pod_scan") if snap.has_k8s("pods") else None
    counts: dict[tuple[str, str, str], tuple[int, int]] = {}
    if pod_scan is not None:
        pods = pod_scan["pods"]
        grouped = pods.groupby(["workload_kind", "namespace", "workload_name"], sort=False)
        for key, ready in grouped["ready"]:
            counts[key] = (len(ready), int(ready.sum()))
        for key, pod_like in pod_scan["specs"].items():
            templates.setdefault(key, pod_like)
    rows, specs = [], {}
    for key, pod_like in templates.items():
        kind, ns, name = key
        spec = pod_like["spec"]
        h = spec_hash({"metadata": {"annotations": pod_like["metadata"]["annotations"]},
                       "spec": spec})
        specs.setdefault(h, pod_like)
        n_pods, n_ready = counts.get(key, (0, 0))
        more = extra.get(key, {})
        rows.append({
            "kind": kind, "namespace": ns, "name": name,
            "labels": pod_like["metadata"].get("labels", {}),
            "annotations": pod_like["metadata"]["annotations"],
            "replicas": more.get("replicas"), "pod_count": n_pods, "ready_count": n_ready,
            "service_account": spec.get("serviceAccountName") or "default",
            "automount_service_account_token": nullable_bool(
                spec.get("automountServiceAccountToken")),
            "host_network": nullable_bool(spec.get("hostNetwork")),
            "host_pid": nullable_bool(spec.get("hostPID")),
            "host_ipc": nullable_bool(spec.get("hostIPC")),
            "spec_hash": h, "source": "template" if key in extra else "pod",
            "system": ns in SYSTEM_NAMESPACES,
            "desired_scheduled": more.get("desired_scheduled"),
            "number_ready": more.get("number_ready"),
            "tolerations": list(spec.get("tolerations") or ()),
            "node_selector": dict(spec.get("nodeSelector") or {}),
            "os": _pod_os(spec),
        })
    return {"workloads": from_rows(rows, WORKLOAD_COLUMNS), "specs": specs}


def _pod_os(spec: dict[str, Any]) -> str | None:
    """The pod's OS: ``spec.os.name``, else a ``kubernetes.io/os`` nodeSelector (None: unknown)."""
    name = (spec.get("os") or {}).get("name") or (spec.get("nodeSelector") or {}).get(
        "kubernetes.io/os")
    return str(name).lower() if name else None


# ------------------------------------------------------------------------------------------
# containers and volumes (one row per workload, not per replica)
# ------------------------------------------------------------------------------------------
CONTAINER_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "container": "str",
    "container_type": "str", "image": "str", "privileged": "boolean",
    "allow_privilege_escalation": "boolean", "run_as_non_root": "boolean",
    "run_as_user": "Int64", "run_as_group": "Int64", "read_only_root_filesystem": "boolean",
    "capabilities_add": "object", "capabilities_drop": "object",
    "seccomp_profile_type": "string", "proc_mount": "string", "host_ports": "object",
    "cpu_limit": "string", "memory_limit": "string", "cpu_request": "string",
    "memory_request": "string", "env_secret_refs": "object", "env_from_secrets": "object",
    "env_values": "object", "volume_mounts": "object", "system": "bool", "spec_hash": "str",
}


def iter_containers(spec: dict[str, Any]):
    """Yield ``(container_type, container)`` for init, regular and ephemeral containers."""
    for ctype, field in (("init", "initContainers"), ("regular", "containers"),
                         ("ephemeral", "ephemeralContainers")):
        for c in spec.get(field) or ():
            yield ctype, c


@frame("containers", sources=WORKLOAD_SOURCES, any_source=True, schema=pa.DataFrameSchema({
    **_KEY,
    "container_type": pa.Column(str, pa.Check.isin(["init", "regular", "ephemeral"])),
    "privileged": pa.Column("boolean", nullable=True),
    "allow_privilege_escalation": pa.Column("boolean", nullable=True,
                                            description="unset (NA) means allowed"),
    "run_as_non_root": pa.Column("boolean", nullable=True,
                                 description="effective: container over pod securityContext"),
    "run_as_user": pa.Column("Int64", nullable=True, description="effective"),
}))
def build_containers(frames: Frames) -> pd.DataFrame:
    """One row per container of every workload, with the effective security settings."""
    specs = frames.pod_specs
    rows = []
    for w in frames.workloads.itertuples(index=False):
        spec = specs[w.spec_hash]["spec"]
        psc = spec.get("securityContext") or {}
        for ctype, c in iter_containers(spec):
            sc = c.get("securityContext") or {}
            caps = sc.get("capabilities") or {}
            res = c.get("resources") or {}
            limits, requests = res.get("limits") or {}, res.get("requests") or {}
            env = c.get("env") or ()
            seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
            rows.append({
                "kind": w.kind, "namespace": w.namespace, "name": w.name,
                "container": c.get("name", ""), "container_type": ctype,
                "image": c.get("image", ""),
                "privileged": nullable_bool(sc.get("privileged")),
                "allow_privilege_escalation": nullable_bool(sc.get("allowPrivilegeEscalation")),
                "run_as_non_root": nullable_bool(sc.get("runAsNonRoot",
                                                        psc.get("runAsNonRoot"))),
                "run_as_user": sc.get("runAsUser", psc.get("runAsUser")),
                "run_as_group": sc.get("runAsGroup", psc.get("runAsGroup")),
                "read_only_root_filesystem": nullable_bool(sc.get("readOnlyRootFilesystem")),
                "capabilities_add": tuple(caps.get("add") or ()),
                "capabilities_drop": tuple(caps.get("drop") or ()),
                "seccomp_profile_type": seccomp, "proc_mount": sc.get("procMount"),
                "host_ports": tuple(p["hostPort"] for p in c.get("ports") or ()
                                    if p.get("hostPort")),
                "cpu_limit": _quantity(limits.get("cpu")),
                "memory_limit": _quantity(limits.get("memory")),
                "cpu_request": _quantity(requests.get("cpu")),
                "memory_request": _quantity(requests.get("memory")),
                "env_secret_refs": tuple(
                    (e.get("name", ""), e["valueFrom"]["secretKeyRef"].get("name", ""))
                    for e in env if (e.get("valueFrom") or {}).get("secretKeyRef")),
                "env_from_secrets": tuple(
                    ef["secretRef"].get("name", "") for ef in c.get("envFrom") or ()
                    if ef.get("secretRef")),
                "env_values": {e.get("name", ""): e["value"] for e in env
                               if isinstance(e.get("value"), str)},
                "volume_mounts": tuple(
                    (m.get("name", ""), m.get("mountPath", ""), bool(m.get("readOnly")))
                    for m in c.get("volumeMounts") or ()),
                "system": w.system, "spec_hash": w.spec_hash,
            })
    return from_rows(rows, CONTAINER_COLUMNS)


def _quantity(value: Any) -> str | None:
    return None if value is None else str(value)


VOLUME_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "volume": "str", "volume_type": "str",
    "host_path": "string", "secret_name": "string", "csi_driver": "string",
    "secret_provider_class": "string", "read_only": "bool", "system": "bool",
}


@frame("volumes", sources=WORKLOAD_SOURCES, any_source=True)
def build_volumes(frames: Frames) -> pd.DataFrame:
    """One row per pod volume of every workload; ``read_only`` when every mount of it is."""
    specs = frames.pod_specs
    rows = []
    for w in frames.workloads.itertuples(index=False):
        spec = specs[w.spec_hash]["spec"]
        mounts: dict[str, list[bool]] = {}
        for _, c in iter_containers(spec):
            for m in c.get("volumeMounts") or ():
                mounts.setdefault(m.get("name", ""), []).append(bool(m.get("readOnly")))
        for v in spec.get("volumes") or ():
            vtype = next((k for k in v if k != "name"), "unknown")
            csi = v.get("csi") or {}
            ro = mounts.get(v.get("name", ""), [True])
            rows.append({
                "kind": w.kind, "namespace": w.namespace, "name": w.name,
                "volume": v.get("name", ""), "volume_type": vtype,
                "host_path": (v.get("hostPath") or {}).get("path"),
                "secret_name": (v.get("secret") or {}).get("secretName"),
                "csi_driver": csi.get("driver"),
                "secret_provider_class": (csi.get("volumeAttributes") or {}).get(
                    "secretProviderClass"),
                "read_only": all(ro),
                "system": w.system,
            })
    return from_rows(rows, VOLUME_COLUMNS)


# ------------------------------------------------------------------------------------------
# nodes and service accounts
# ------------------------------------------------------------------------------------------
NODE_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "labels": "object", "taints": "object",
    "ready": "bool", "instance_id": "string", "nodegroup": "string", "os": "string",
    "kubelet_version": "string",
}


@frame("nodes", sources=("k8s/nodes",))
def build_nodes(frames: Frames) -> pd.DataFrame:
    """One row per Node with taints, readiness and its EC2 instance id."""
    rows = []
    for node in frames.snapshot.iter_k8s("nodes"):
        meta = node.get("metadata", {})
        spec, status = node.get("spec") or {}, node.get("status") or {}
        labels = _labels(meta)
        provider = spec.get("providerID") or ""
        rows.append({
            "kind": "Node", "namespace": "", "name": meta.get("name", ""), "labels": labels,
            "taints": list(spec.get("taints") or ()),
            "ready": any(c.get("type") == "Ready" and c.get("status") == "True"
                         for c in status.get("conditions") or ()),
            "instance_id": provider.rsplit("/", 1)[-1] if provider.startswith("aws://") else None,
            "nodegroup": labels.get("eks.amazonaws.com/nodegroup"),
            "os": labels.get("kubernetes.io/os"),
            "kubelet_version": (status.get("nodeInfo") or {}).get("kubeletVersion"),
        })
    return from_rows(rows, NODE_COLUMNS)


SA_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "role_arn": "string",
    "automount_service_account_token": "boolean", "annotations": "object", "system": "bool",
}
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


@frame("service_accounts", sources=("k8s/serviceaccounts",))
def build_service_accounts(frames: Frames) -> pd.DataFrame:
    """One row per ServiceAccount with its IRSA role annotation and automount setting."""
    rows = []
    for sa in frames.snapshot.iter_k8s("serviceaccounts"):
        meta = sa.get("metadata", {})
        ann = dict(meta.get("annotations") or {})
        ns = meta.get("namespace", "default")
        rows.append({
            "kind": "ServiceAccount", "namespace": ns, "name": meta.get("name", ""),
            "role_arn": ann.get(IRSA_ANNOTATION),
            "automount_service_account_token": nullable_bool(
                sa.get("automountServiceAccountToken")),
            "annotations": ann, "system": ns in SYSTEM_NAMESPACES,
        })
    return from_rows(rows, SA_COLUMNS)
