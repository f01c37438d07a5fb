"""Ready-to-apply Pod Security Standards remediation: securityContext patches and namespace labels.

:func:`securitycontext_patch` turns a workload's pod spec and the Pod Security Admission checks
it violates into a strategic-merge patch (containers merge by name) that fixes what a
securityContext can fix: ``privileged``, host namespaces, ``allowPrivilegeEscalation``,
capabilities, ``runAsNonRoot``/``runAsUser``, seccomp, and, beyond the standard,
``readOnlyRootFilesystem``. What a patch cannot fix safely (hostPath and other volumes,
hostPorts, sysctls, SELinux, AppArmor, procMount, HostProcess, probes) is returned as manual
steps. :func:`namespace_label_plan` proposes the Pod Security Admission labels a namespace is
ready for. :func:`narrate_pss_remediation <zt_toolkit.report.notebook.narrate_pss_remediation>`
renders both as Markdown.

Cluster text only reaches a command or YAML block when it is a valid Kubernetes name
(:func:`is_k8s_name`), so it cannot break out of the code fence or the shell command.

Examples
--------
>>> spec = {"containers": [{"name": "app", "image": "nginx"}]}
>>> patch, manual = securitycontext_patch("Deployment", spec, ["runAsNonRoot"])
>>> patch["spec"]["template"]["spec"]["securityContext"]
{'runAsNonRoot': True}
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from zt_toolkit.report.markdown import is_k8s_name

PSS_PREFIX = "pod-security.kubernetes.io/"
LEVEL_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}
# DNS subdomain (RFC 1123): what Kubernetes accepts as an object name; container names and
# namespaces are DNS labels, a subset
_VERSION = re.compile(r"^(latest|v1\.(0|[1-9][0-9]*))$")

# where the pod template sits in each patchable kind (Jobs and Pods are immutable there)
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Job": ("spec", "template"),
}
PATCHABLE = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob")
# checks that only a change of the manifest can fix, with what to do
MANUAL = {
    "hostPorts": "remove ports[].hostPort and expose the port through a Service",
    "hostPathVolumes": "replace the hostPath volumes (emptyDir, a PersistentVolumeClaim, a "
                       "projected volume or a CSI driver)",
    "restrictedVolumes": "use only configMap, csi, downwardAPI, emptyDir, ephemeral, "
                         "persistentVolumeClaim, projected and secret volumes",
    "sysctls": "drop the sysctls outside the safe set (or set them on the node)",
    "procMount": "remove securityContext.procMount (Default)",
    "procMount_restricted": "remove securityContext.procMount (Default)",
    "seLinuxOptions": "remove the custom SELinux type, user and role from "
                      "securityContext.seLinuxOptions",
    "appArmorProfile": "remove the Unconfined AppArmor profile (field or annotation)",
    "windowsHostProcess": "run without windowsOptions.hostProcess",
    "hostProbesAndHostLifecycle": "remove the host field from probes and lifecycle handlers",
}


def _containers(spec: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or ():
            if isinstance(c, Mapping):
                yield field, c


def _sc(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    sc = obj.get("securityContext")
    return sc if isinstance(sc, Mapping) else {}


def securitycontext_patch(kind: str, spec: Mapping[str, Any], check_ids: Iterable[str],
                          read_only_root: bool = True) -> tuple[dict[str, Any], list[str]]:
    """A strategic-merge patch of a workload that fixes its securityContext violations.

    Parameters
    ----------
    kind
        The workload kind (the template path depends on it; a bare Pod gets the pod spec).
    spec
        The workload's pod spec.
    check_ids
        The Pod Security Admission checks the workload violates.
    read_only_root
        Also set ``readOnlyRootFilesystem: true`` on containers that lack it (not part of the
        standard; mount an emptyDir where the process writes).

    Returns
    -------
    tuple
        The patch (``{}`` when nothing is patchable) and the manual steps (text).

    Examples
    --------
    >>> spec = {"containers": [{"name": "app", "image": "nginx",
    ...                         "securityContext": {"runAsUser": 0}}]}
    >>> patch, manual = securitycontext_patch("Pod", spec, ["runAsUser"], read_only_root=False)
    >>> patch["spec"]["containers"]
    [{'name': 'app', 'securityContext': {'runAsUser': None}}]
    """
    ids = set(check_ids)
    windows = str((spec.get("os") or {}).get("name", "")).lower() == "windows"
    pod_sc: dict[str, Any] = {}
    pod: dict[str, Any] = {}
    per: dict[tuple[str, str], dict[str, Any]] = {}
    manual: list[str] = []

    def fix(field: str, c: Mapping[str, Any], key: str, value: Any) -> None:
        per.setdefault((field, c["name"]), {})[key] = value

    if "hostNamespaces" in ids:
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key) is True:
                pod[key] = False
    if ids & {"runAsNonRoot", "runAsUser"}:
        manual.append("the image must run as a numeric non-root USER (or set runAsUser to "
                      "one): the kubelet refuses to start a root image under runAsNonRoot")
    if "runAsNonRoot" in ids:
        pod_sc["runAsNonRoot"] = True
    if "runAsUser" in ids and _sc(spec).get("runAsUser") == 0:
        pod_sc["runAsUser"] = None  # null deletes the field in a strategic-merge patch
    if ids & {"seccompProfile_restricted", "seccompProfile_baseline"} and not windows:
        pod_sc["seccompProfile"] = {"type": "RuntimeDefault"}
    for field, c in _containers(spec):
        name, sc = c.get("name"), _sc(c)
        if not is_k8s_name(name):
            continue
        if "privileged" in ids and sc.get("privileged") is True:
            fix(field, c, "privileged", False)
        if "allowPrivilegeEscalation" in ids and sc.get("allowPrivilegeEscalation") is not False:
            fix(field, c, "allowPrivilegeEscalation", False)
        if ids & {"capabilities_restricted", "capabilities_baseline"}:
            caps = sc.get("capabilities") if isinstance(sc.get("capabilities"), Mapping) else {}
            added = list(caps.get("add") or ())
            if "ALL" not in (caps.get("drop") or ()) or set(added) - {"NET_BIND_SERVICE"}:
                new: dict[str, Any] = {"drop": ["ALL"]}
                if added:  # keep only NET_BIND_SERVICE; null deletes the list
                    new["add"] = [a for a in added if a == "NET_BIND_SERVICE"] or None
                fix(field, c, "capabilities", new)
        if "runAsNonRoot" in ids and sc.get("runAsNonRoot") is False:
            fix(field, c, "runAsNonRoot", True)
        if "runAsUser" in ids and sc.get("runAsUser") == 0:
            fix(field, c, "runAsUser", None)
        seccomp = sc.get("seccompProfile") if isinstance(sc.get("seccompProfile"), Mapping) \
            else {}
        if "type" in seccomp and seccomp.get("type") not in ("RuntimeDefault", "Localhost") \
                and ids & {"seccompProfile_restricted", "seccompProfile_baseline"}:
            fix(field, c, "seccompProfile", {"type": "RuntimeDefault"})
        if read_only_root and not windows and sc.get("readOnlyRootFilesystem") is not True:
            fix(field, c, "readOnlyRootFilesystem", True)
    if read_only_root and any("readOnlyRootFilesystem" in v for v in per.values()):
        manual.append("readOnlyRootFilesystem: mount an emptyDir at every path the process "
                      "writes (/tmp, caches) before applying")
    for check_id in sorted(ids & set(MANUAL)):
        manual.append(f"{check_id}: {MANUAL[check_id]}")
    if spec.get("ephemeralContainers"):
        manual.append("ephemeral (debug) containers cannot be patched: start new ones with the "
                      "same securityContext")
    if pod_sc:
        pod["securityContext"] = pod_sc
    for field in ("initContainers", "containers"):
        entries = [{"name": name, "securityContext": sc} for (f, name), sc in per.items()
                   if f == field]
        if entries:
            pod[field] = entries
    if not pod:
        return {}, manual
    patch: dict[str, Any] = {"spec": pod}
    if kind in TEMPLATE_PATHS:
        for key in reversed(TEMPLATE_PATHS[kind]):
            patch = {key: patch}
    return patch, manual


def patch_yaml(patch: Mapping[str, Any]) -> str:
    """The patch as YAML (block style, keys in the order built)."""
    return yaml.safe_dump(dict(patch), sort_keys=False, default_flow_style=False)


def patch_command(kind: str, namespace: str, name: str, file: str) -> str | None:
    """``kubectl patch`` for a patchable kind (None for Jobs and Pods: recreate them).

    Examples
    --------
    >>> patch_command("Deployment", "shop", "api", "api-pss.yaml")
    'kubectl -n shop patch deployment api --type strategic --patch-file api-pss.yaml'
    """
    if kind not in PATCHABLE or not (is_k8s_name(namespace) and is_k8s_name(name)):
        return None
    return (f"kubectl -n {shlex.quote(namespace)} patch {kind.lower()} {shlex.quote(name)} "
            f"--type strategic --patch-file {shlex.quote(file)}")


def namespace_label_plan(namespace: str, current: Mapping[str, str], version: str,
                         rejected: Mapping[str, int]) -> dict[str, Any]:
    r"""The Pod Security Admission labels a namespace is ready for.

    ``enforce`` is the strictest level that rejects none of its workloads (restricted, else
    baseline, else none); an existing stricter enforce label is kept, never lowered. ``warn``
    and ``audit`` are set to ``restricted`` so that the remaining gap stays visible.
    ``enforce-version`` is the version the workloads were evaluated at.

    Returns
    -------
    dict
        ``labels`` (the labels to set), ``command`` (``kubectl label``, or None when the
        namespace already carries them or its name is not valid), ``enforce`` (the level) and
        ``kept`` (True when a stricter existing enforce label was kept).

    Examples
    --------
    >>> plan = namespace_label_plan("shop", {}, "latest", {"baseline": 0, "restricted": 2})
    >>> print(plan["command"])
    kubectl label --overwrite namespace shop \
      pod-security.kubernetes.io/enforce=baseline \
      pod-security.kubernetes.io/enforce-version=latest \
      pod-security.kubernetes.io/warn=restricted \
      pod-security.kubernetes.io/audit=restricted
    """
    ready = "restricted" if not rejected.get("restricted") else (
        "baseline" if not rejected.get("baseline") else None)
    existing = current.get("enforce")
    kept = existing in LEVEL_RANK and LEVEL_RANK[existing] > LEVEL_RANK.get(ready or "", -1)
    enforce = existing if kept else ready
    labels: dict[str, str] = {}
    if enforce and enforce != "privileged":
        labels["enforce"] = enforce
        labels["enforce-version"] = version if _VERSION.match(version or "") else "latest"
    labels["warn"] = "restricted"
    labels["audit"] = "restricted"
    changes = {k: v for k, v in labels.items() if current.get(k) != v}
    command = None
    if changes and is_k8s_name(namespace):
        command = " \\\n  ".join([f"kubectl label --overwrite namespace {shlex.quote(namespace)}",
                                   *(f"{PSS_PREFIX}{k}={v}" for k, v in labels.items())])
    return {"labels": labels, "command": command, "enforce": enforce, "kept": kept}
