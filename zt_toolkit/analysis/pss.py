"""Pod Security Standards: the baseline and restricted profiles, every check, every revision.

The semantics are those of the Kubernetes pod-security-admission library (the code behind the
``pod-security.kubernetes.io/enforce`` namespace labels), for policy versions ``v1.0`` to
``v1.37``:

- a profile is a registry of checks; each check has revisions keyed by the first policy version
  they apply to, and a version runs the newest revision at or below it;
- **baseline** runs the baseline checks; **restricted** runs the restricted checks plus every
  baseline check that no active restricted revision overrides (``restrictedVolumes`` replaces
  ``hostPathVolumes`` from 1.0, ``seccompProfile_restricted`` replaces ``seccompProfile_baseline``
  from 1.19, ``capabilities_restricted`` replaces ``capabilities_baseline`` from 1.22,
  ``procMount_restricted`` replaces ``procMount`` from 1.35);
- ``latest``, and any version newer than the newest revision (v1.37), mean v1.37;
- init, regular and ephemeral containers are all visited; native sidecars get no exemption;
- before 1.19 seccomp comes from the ``seccomp.security.alpha.kubernetes.io/pod`` and
  ``container.seccomp.security.alpha.kubernetes.io/<container>`` annotations, from 1.19 from
  ``securityContext.seccompProfile``; AppArmor is read from both the
  ``container.apparmor.security.beta.kubernetes.io/<container>`` annotations and the
  ``appArmorProfile`` fields at every version (the library patched the field check into its
  1.0 revision);
- from 1.25 pods with ``spec.os.name: windows`` skip the Linux-only restricted checks
  (``allowPrivilegeEscalation``, ``seccompProfile_restricted``, ``capabilities_restricted``);
- from 1.35 pods with ``spec.hostUsers: false`` (a user namespace) skip ``runAsNonRoot``,
  ``runAsUser`` and the baseline ``procMount`` check (restricted still requires the default
  ``procMount``).

A verdict lists one :class:`Violation` per failing check, baseline checks first, each group
sorted by check id (the library's order). Evaluations are cached by a hash of the pod spec and
the annotations that matter, so the replicas of a workload (or many workloads stamped from one
chart) cost one evaluation; one evaluation answers both levels.

Examples
--------
>>> pod = {"metadata": {"name": "web"}, "spec": {"hostNetwork": True, "containers": [
...     {"name": "app", "image": "nginx", "securityContext": {"privileged": True}}]}}
>>> verdict = evaluate_pod(pod, "baseline", "v1.30")
>>> verdict.allowed, verdict.check_ids
(False, ('hostNamespaces', 'privileged'))
>>> verdict.violations[0].detail
'hostNetwork=true'
>>> evaluate_pod(pod, "restricted").check_ids
... # doctest: +NORMALIZE_WHITESPACE
('hostNamespaces', 'privileged', 'allowPrivilegeEscalation', 'capabilities_restricted',
 'runAsNonRoot', 'seccompProfile_restricted')
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pandas as pd

LEVELS = ("baseline", "restricted")
LATEST = "v1.37"
_LATEST_MINOR = 37

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_CONTAINER_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_RELEVANT_ANNOTATION_PREFIXES = (
    SECCOMP_POD_ANNOTATION, SECCOMP_CONTAINER_PREFIX, APPARMOR_CONTAINER_PREFIX)


@dataclass(frozen=True)
class Violation:
    """One failing check: the PSA ``check_id``, a constant ``reason``, a specific ``detail``."""

    check_id: str
    reason: str
    detail: str


@dataclass(frozen=True)
class PodVerdict:
    """Whether a profile admits a pod, and the checks that fail (empty when allowed)."""

    allowed: bool
    violations: tuple[Violation, ...]

    @property
    def check_ids(self) -> tuple[str, ...]:
        """The ids of the failing checks, in evaluation order."""
        return tuple(v.check_id for v in self.violations)

    def describe(self) -> str:
        """One line: ``allowed`` or the failing checks with their details."""
        if self.allowed:
            return "allowed"
        return "; ".join(f"{v.check_id} ({v.reason}): {v.detail}" for v in self.violations)


# ------------------------------------------------------------------------------------------
# the pod as the checks see it
# ------------------------------------------------------------------------------------------
def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Pod:
    """A pod spec prepared once for all checks: containers with their securityContexts."""

    __slots__ = ("annotations", "containers", "psc", "spec", "user_namespace", "windows")

    def __init__(self, metadata: Mapping[str, Any] | None, spec: Mapping[str, Any] | None):
        meta = _dict(metadata)
        self.annotations: dict[str, Any] = _dict(meta.get("annotations"))
        self.spec: dict[str, Any] = _dict(spec)
        self.psc: dict[str, Any] = _dict(self.spec.get("securityContext"))
        containers = []
        for field in ("initContainers", "containers", "ephemeralContainers"):
            items = self.spec.get(field)
            if isinstance(items, list):
                for c in items:
                    if isinstance(c, dict):
                        containers.append((str(c.get("name", "")), c,
                                           _dict(c.get("securityContext"))))
        self.containers: list[tuple[str, dict[str, Any], dict[str, Any]]] = containers
        self.windows = _dict(self.spec.get("os")).get("name") == "windows"
        self.user_namespace = self.spec.get("hostUsers") is False


def _quote(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _containers(names: list[str]) -> str:
    return f"{'container' if len(names) == 1 else 'containers'} {_quote(names)}"


def _setters(pod_bad: bool, names: list[str]) -> str:
    parts = ["pod"] if pod_bad else []
    if names:
        parts.append(_containers(names))
    return " and ".join(parts)


def _is_true(value: Any) -> bool:
    return value is True


def _uniq(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


# ------------------------------------------------------------------------------------------
# baseline checks
# ------------------------------------------------------------------------------------------
def _host_namespaces(pod: _Pod) -> str | None:
    # spec.hostNetwork, spec.hostPID, spec.hostIPC: undefined or false
    bad = [f"{f}=true" for f in ("hostNetwork", "hostPID", "hostIPC") if _is_true(pod.spec.get(f))]
    return ", ".join(bad) or None


def _privileged(pod: _Pod) -> str | None:
    # containers[*].securityContext.privileged: undefined or false
    bad = [n for n, _, sc in pod.containers if _is_true(sc.get("privileged"))]
    return f"{_containers(bad)} must not set securityContext.privileged=true" if bad else None


_BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})


def _added_capabilities(sc: dict[str, Any]) -> list[str]:
    add = _dict(sc.get("capabilities")).get("add")
    return [str(c) for c in add] if isinstance(add, list) else []


def _capabilities_baseline(pod: _Pod) -> str | None:
    # containers[*].securityContext.capabilities.add: a subset of the 13 default capabilities
    bad, caps = [], set()
    for name, _, sc in pod.containers:
        extra = [c for c in _added_capabilities(sc) if c not in _BASELINE_CAPABILITIES]
        if extra:
            bad.append(name)
            caps.update(extra)
    if not bad:
        return None
    return (f"{_containers(bad)} must not include {_quote(sorted(caps))} in "
            "securityContext.capabilities.add")


def _volumes(pod: _Pod) -> Iterator[dict[str, Any]]:
    volumes = pod.spec.get("volumes")
    if isinstance(volumes, list):
        yield from (v for v in volumes if isinstance(v, dict))


def _host_path_volumes(pod: _Pod) -> str | None:
    # spec.volumes[*].hostPath: undefined
    bad = [str(v.get("name", "")) for v in _volumes(pod) if v.get("hostPath") is not None]
    if not bad:
        return None
    return f"{'volume' if len(bad) == 1 else 'volumes'} {_quote(bad)} " + (
        "uses hostPath" if len(bad) == 1 else "use hostPath")


def _host_ports(pod: _Pod) -> str | None:
    # containers[*].ports[*].hostPort: undefined or 0
    bad, ports = [], []
    for name, c, _ in pod.containers:
        found = [p.get("hostPort") for p in c.get("ports") or () if isinstance(p, dict)
                 and p.get("hostPort") not in (None, 0)]
        if found:
            bad.append(name)
            ports.extend(str(p) for p in found)
    if not bad:
        return None
    noun = "hostPort" if len(ports) == 1 else "hostPorts"
    return f"{_containers(bad)} {'uses' if len(bad) == 1 else 'use'} {noun} {', '.join(ports)}"


def _allowed_apparmor_annotation(value: Any) -> bool:
    value = "" if value is None else str(value)
    return value in ("", "runtime/default") or value.startswith("localhost/")


def _app_armor_profile(pod: _Pod) -> str | None:
    # annotations container.apparmor.security.beta.kubernetes.io/*: empty, runtime/default,
    # localhost/*; securityContext.appArmorProfile.type (pod, containers): RuntimeDefault,
    # Localhost
    bad = sorted(f'{k}="{v}"' for k, v in pod.annotations.items()
                 if k.startswith(APPARMOR_CONTAINER_PREFIX) and not _allowed_apparmor_annotation(v))
    types: set[str] = set()

    def bad_field(sc: dict[str, Any]) -> bool:
        profile = sc.get("appArmorProfile")
        if profile is None:
            return False
        kind = _dict(profile).get("type")
        if kind in ("RuntimeDefault", "Localhost"):
            return False
        types.add(str(kind))
        return True

    pod_bad = bad_field(pod.psc)
    names = [n for n, _, sc in pod.containers if bad_field(sc)]
    if pod_bad or names:
        bad.append(f"{_setters(pod_bad, names)} must not set "
                   f"securityContext.appArmorProfile.type to {_quote(sorted(types))}")
    return ", ".join(bad) or None


_SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
_SELINUX_TYPES_1_31 = _SELINUX_TYPES_1_0 | {"container_engine_t"}


def _se_linux_options(allowed: frozenset[str]) -> Callable[[_Pod], str | None]:
    # seLinuxOptions.type (pod, containers): allowed types; .user and .role: undefined/empty
    def check(pod: _Pod) -> str | None:
        types: set[str] = set()
        user = role = False

        def bad(sc: dict[str, Any]) -> bool:
            nonlocal user, role
            opts = sc.get("seLinuxOptions")
            if not isinstance(opts, dict):
                return False
            ok = True
            if str(opts.get("type") or "") not in allowed:
                types.add(str(opts.get("type")))
                ok = False
            if opts.get("user"):
                user, ok = True, False
            if opts.get("role"):
                role, ok = True, False
            return not ok

        pod_bad = bad(pod.psc)
        names = [n for n, _, sc in pod.containers if bad(sc)]
        if not (pod_bad or names):
            return None
        data = []
        if types:
            data.append(f"{'type' if len(types) == 1 else 'types'} {_quote(sorted(types))}")
        if user:
            data.append("user may not be set")
        if role:
            data.append("role may not be set")
        return (f"{_setters(pod_bad, names)} set forbidden securityContext.seLinuxOptions: "
                + "; ".join(data))

    return check


def _proc_mount_1_0(pod: _Pod) -> str | None:
    # containers[*].securityContext.procMount: undefined or Default
    bad, kinds = [], set()
    for name, _, sc in pod.containers:
        value = sc.get("procMount")
        if value is not None and value != "Default":
            bad.append(name)
            kinds.add(str(value))
    if not bad:
        return None
    return f"{_containers(bad)} must not set securityContext.procMount to {_quote(sorted(kinds))}"


def _proc_mount_1_35(pod: _Pod) -> str | None:
    # a pod in a user namespace (hostUsers: false) may set any procMount under baseline
    return None if pod.user_namespace else _proc_mount_1_0(pod)


def _valid_seccomp_annotation(value: Any) -> bool:
    value = str(value)
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def _seccomp_baseline_1_0(pod: _Pod) -> str | None:
    # annotations seccomp.security.alpha.kubernetes.io/pod and
    # container.seccomp.security.alpha.kubernetes.io/<container>: runtime/default,
    # docker/default, localhost/*, undefined
    bad = set()
    ann = pod.annotations
    if SECCOMP_POD_ANNOTATION in ann and not _valid_seccomp_annotation(ann[SECCOMP_POD_ANNOTATION]):
        bad.add(f'{SECCOMP_POD_ANNOTATION}="{ann[SECCOMP_POD_ANNOTATION]}"')
    for name, _, _ in pod.containers:
        key = SECCOMP_CONTAINER_PREFIX + name
        if key in ann and not _valid_seccomp_annotation(ann[key]):
            bad.add(f'{key}="{ann[key]}"')
    if not bad:
        return None
    return f"forbidden {'annotation' if len(bad) == 1 else 'annotations'} {', '.join(sorted(bad))}"


def _seccomp_type(sc: dict[str, Any]) -> tuple[bool, Any]:
    """(set, type) of ``securityContext.seccompProfile``."""
    profile = sc.get("seccompProfile")
    if profile is None:
        return False, None
    return True, _dict(profile).get("type")


_VALID_SECCOMP = ("RuntimeDefault", "Localhost")


def _seccomp_baseline_1_19(pod: _Pod) -> str | None:
    # securityContext.seccompProfile.type (pod, containers): RuntimeDefault, Localhost, undefined
    values: set[str] = set()
    is_set, kind = _seccomp_type(pod.psc)
    pod_bad = is_set and kind not in _VALID_SECCOMP
    if pod_bad:
        values.add(str(kind))
    names = []
    for name, _, sc in pod.containers:
        is_set, kind = _seccomp_type(sc)
        if is_set and kind not in _VALID_SECCOMP:
            names.append(name)
            values.add(str(kind))
    if not (pod_bad or names):
        return None
    return (f"{_setters(pod_bad, names)} must not set securityContext.seccompProfile.type to "
            f"{_quote(sorted(values))}")


_SYSCTLS_1_0 = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})
_SYSCTLS_1_27 = _SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
_SYSCTLS_1_29 = _SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes"}
_SYSCTLS_1_32 = _SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
_SYSCTLS_1_37 = _SYSCTLS_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}


def _sysctls(allowed: frozenset[str]) -> Callable[[_Pod], str | None]:
    # spec.securityContext.sysctls[*].name: the safe list of the version
    def check(pod: _Pod) -> str | None:
        sysctls = pod.psc.get("sysctls")
        if not isinstance(sysctls, list):
            return None
        bad = [str(_dict(s).get("name")) for s in sysctls if _dict(s).get("name") not in allowed]
        return ", ".join(bad) or None

    return check


def _windows_host_process(pod: _Pod) -> str | None:
    # securityContext.windowsOptions.hostProcess (pod, containers): undefined or false
    def bad(sc: dict[str, Any]) -> bool:
        return _is_true(_dict(sc.get("windowsOptions")).get("hostProcess"))

    pod_bad = bad(pod.psc)
    names = [n for n, _, sc in pod.containers if bad(sc)]
    if not (pod_bad or names):
        return None
    return (f"{_setters(pod_bad, names)} must not set "
            "securityContext.windowsOptions.hostProcess=true")


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS = ("postStart", "preStop")


def _host_probes_and_lifecycle(pod: _Pod) -> str | None:
    # containers[*].{liveness,readiness,startup}Probe.{httpGet,tcpSocket}.host and
    # containers[*].lifecycle.{postStart,preStop}.{httpGet,tcpSocket}.host: undefined or ""
    found = []
    for name, c, _ in pod.containers:
        handlers = [(p, _dict(c.get(p))) for p in _PROBES]
        lifecycle = _dict(c.get("lifecycle"))
        handlers += [(f"lifecycle.{h}", _dict(lifecycle.get(h))) for h in _HOOKS]
        for where, handler in handlers:
            for action in ("httpGet", "tcpSocket"):
                host = _dict(handler.get(action)).get("host")
                if host:
                    found.append(f'container "{name}" {where}.{action}.host="{host}"')
    return ", ".join(found) or None


# ------------------------------------------------------------------------------------------
# restricted checks
# ------------------------------------------------------------------------------------------
_ALLOWED_VOLUME_TYPES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                         "persistentVolumeClaim", "projected", "secret")


def _restricted_volumes(pod: _Pod) -> str | None:
    # spec.volumes[*]: only configMap, csi, downwardAPI, emptyDir, ephemeral, image,
    # persistentVolumeClaim, projected, secret
    # A volume without a source is an emptyDir: the API server defaults it so.
    bad, types = [], set()
    for v in _volumes(pod):
        kinds = [k for k, val in v.items() if k != "name" and val is not None]
        if not kinds or any(v.get(t) is not None for t in _ALLOWED_VOLUME_TYPES):
            continue
        bad.append(str(v.get("name", "")))
        types.update(kinds)
    if not bad:
        return None
    return (f"{'volume' if len(bad) == 1 else 'volumes'} {_quote(bad)} "
            f"{'uses' if len(bad) == 1 else 'use'} restricted volume "
            f"{'type' if len(types) == 1 else 'types'} {_quote(sorted(types))}")


def _allow_privilege_escalation_1_8(pod: _Pod) -> str | None:
    # containers[*].securityContext.allowPrivilegeEscalation: false
    bad = [n for n, _, sc in pod.containers if sc.get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return f"{_containers(bad)} must set securityContext.allowPrivilegeEscalation=false"


def _linux_only(check: Callable[[_Pod], str | None]) -> Callable[[_Pod], str | None]:
    """The 1.25 revision of a Linux-only check: Windows pods (spec.os.name) are exempt."""

    def revised(pod: _Pod) -> str | None:
        return None if pod.windows else check(pod)

    revised.__name__ = check.__name__ + "_1_25"
    return revised


def _run_as_non_root_1_0(pod: _Pod) -> str | None:
    # runAsNonRoot: true at pod level, or on every container; no container may set false
    pod_value = pod.psc.get("runAsNonRoot")
    pod_bad = pod_value is False
    pod_ok = pod_value is True
    explicit, implicit = [], []
    for name, _, sc in pod.containers:
        value = sc.get("runAsNonRoot")
        if value is None:
            if not pod_ok:
                implicit.append(name)
        elif value is not True:
            explicit.append(name)
    if pod_bad or explicit:
        return f"{_setters(pod_bad, explicit)} must not set securityContext.runAsNonRoot=false"
    if implicit:
        return f"pod or {_containers(implicit)} must set securityContext.runAsNonRoot=true"
    return None


def _user_namespace_exempt(check: Callable[[_Pod], str | None]) -> Callable[[_Pod], str | None]:
    """The 1.35 revision: pods in a user namespace (hostUsers: false) are exempt."""

    def revised(pod: _Pod) -> str | None:
        return None if pod.user_namespace else check(pod)

    revised.__name__ = check.__name__ + "_1_35"
    return revised


def _is_zero(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


def _run_as_user_1_23(pod: _Pod) -> str | None:
    # runAsUser (pod, containers): non-zero or undefined
    pod_bad = _is_zero(pod.psc.get("runAsUser"))
    names = [n for n, _, sc in pod.containers if _is_zero(sc.get("runAsUser"))]
    if not (pod_bad or names):
        return None
    return f"{_setters(pod_bad, names)} must not set runAsUser=0"


def _seccomp_restricted_1_19(pod: _Pod) -> str | None:
    # seccompProfile.type: RuntimeDefault or Localhost at pod level, or on every container;
    # no explicit other value anywhere
    values: set[str] = set()
    is_set, kind = _seccomp_type(pod.psc)
    pod_bad = is_set and kind not in _VALID_SECCOMP
    pod_ok = is_set and not pod_bad
    if pod_bad:
        values.add(str(kind))
    explicit, implicit = [], []
    for name, _, sc in pod.containers:
        is_set, kind = _seccomp_type(sc)
        if is_set:
            if kind not in _VALID_SECCOMP:
                explicit.append(name)
                values.add(str(kind))
        elif not pod_ok:
            implicit.append(name)
    if pod_bad or explicit:
        return (f"{_setters(pod_bad, explicit)} must not set securityContext.seccompProfile.type "
                f"to {_quote(sorted(values))}")
    if implicit:
        return (f'pod or {_containers(implicit)} must set securityContext.seccompProfile.type to '
                '"RuntimeDefault" or "Localhost"')
    return None


def _capabilities_restricted_1_22(pod: _Pod) -> str | None:
    # capabilities.drop must include ALL; capabilities.add: undefined, empty or NET_BIND_SERVICE
    missing, adding, caps = [], [], set()
    for name, _, sc in pod.containers:
        capabilities = _dict(sc.get("capabilities"))
        drop = capabilities.get("drop")
        if not (isinstance(drop, list) and "ALL" in drop):
            missing.append(name)
        extra = [c for c in _added_capabilities(sc) if c != "NET_BIND_SERVICE"]
        if extra:
            adding.append(name)
            caps.update(extra)
    details = []
    if missing:
        details.append(f'{_containers(missing)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_containers(adding)} must not include {_quote(sorted(caps))} in "
                       "securityContext.capabilities.add")
    return "; ".join(details) or None


# ------------------------------------------------------------------------------------------
# the registry
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Revision:
    since: int  # minor version of v1.<since>
    check: Callable[[_Pod], str | None]
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Check:
    id: str
    level: str
    title: str
    reason: str
    revisions: tuple[_Revision, ...]

    def at(self, minor: int) -> _Revision | None:
        """The revision in force at v1.<minor> (None before the check exists)."""
        found = None
        for rev in self.revisions:
            if rev.since <= minor:
                found = rev
        return found


_B, _R = "baseline", "restricted"
_CHECKS: tuple[_Check, ...] = (
    _Check("hostNamespaces", _B, "Host namespaces", "host namespaces",
           (_Revision(0, _host_namespaces),)),
    _Check("privileged", _B, "Privileged containers", "privileged",
           (_Revision(0, _privileged),)),
    _Check("capabilities_baseline", _B, "Capabilities (baseline)", "non-default capabilities",
           (_Revision(0, _capabilities_baseline),)),
    _Check("hostPathVolumes", _B, "HostPath volumes", "hostPath volumes",
           (_Revision(0, _host_path_volumes),)),
    _Check("hostPorts", _B, "Host ports", "hostPort", (_Revision(0, _host_ports),)),
    _Check("appArmorProfile", _B, "AppArmor", "forbidden AppArmor profile",
           (_Revision(0, _app_armor_profile),)),
    _Check("seLinuxOptions", _B, "SELinux", "seLinuxOptions",
           (_Revision(0, _se_linux_options(_SELINUX_TYPES_1_0)),
            _Revision(31, _se_linux_options(_SELINUX_TYPES_1_31)))),
    _Check("procMount", _B, "/proc mount type", "procMount",
           (_Revision(0, _proc_mount_1_0), _Revision(35, _proc_mount_1_35))),
    _Check("seccompProfile_baseline", _B, "Seccomp (baseline)", "seccompProfile",
           (_Revision(0, _seccomp_baseline_1_0), _Revision(19, _seccomp_baseline_1_19))),
    _Check("sysctls", _B, "Sysctls", "forbidden sysctls",
           (_Revision(0, _sysctls(_SYSCTLS_1_0)), _Revision(27, _sysctls(_SYSCTLS_1_27)),
            _Revision(29, _sysctls(_SYSCTLS_1_29)), _Revision(32, _sysctls(_SYSCTLS_1_32)),
            _Revision(37, _sysctls(_SYSCTLS_1_37)))),
    _Check("windowsHostProcess", _B, "HostProcess", "hostProcess",
           (_Revision(0, _windows_host_process),)),
    _Check("hostProbesAndHostLifecycle", _B, "Host probes and lifecycle hooks",
           "probe or lifecycle host", (_Revision(34, _host_probes_and_lifecycle),)),
    _Check("restrictedVolumes", _R, "Volume types", "restricted volume types",
           (_Revision(0, _restricted_volumes, ("hostPathVolumes",)),)),
    _Check("allowPrivilegeEscalation", _R, "Privilege escalation",
           "allowPrivilegeEscalation != false",
           (_Revision(8, _allow_privilege_escalation_1_8),
            _Revision(25, _linux_only(_allow_privilege_escalation_1_8)))),
    _Check("runAsNonRoot", _R, "Running as non-root", "runAsNonRoot != true",
           (_Revision(0, _run_as_non_root_1_0),
            _Revision(35, _user_namespace_exempt(_run_as_non_root_1_0)))),
    _Check("runAsUser", _R, "Running as non-root user", "runAsUser=0",
           (_Revision(23, _run_as_user_1_23),
            _Revision(35, _user_namespace_exempt(_run_as_user_1_23)))),
    _Check("seccompProfile_restricted", _R, "Seccomp (restricted)", "seccompProfile",
           (_Revision(19, _seccomp_restricted_1_19, ("seccompProfile_baseline",)),
            _Revision(25, _linux_only(_seccomp_restricted_1_19), ("seccompProfile_baseline",)))),
    _Check("capabilities_restricted", _R, "Capabilities (restricted)", "unrestricted capabilities",
           (_Revision(22, _capabilities_restricted_1_22, ("capabilities_baseline",)),
            _Revision(25, _linux_only(_capabilities_restricted_1_22),
                      ("capabilities_baseline",)))),
    _Check("procMount_restricted", _R, "/proc mount type (restricted)", "procMount",
           (_Revision(35, _proc_mount_1_0, ("procMount",)),)),
)
_BY_ID = {c.id: c for c in _CHECKS}

#: PSA check id → human title.
CHECK_TITLES: dict[str, str] = {c.id: c.title for c in _CHECKS}
#: PSA check id → the level that defines it.
CHECK_LEVELS: dict[str, str] = {c.id: c.level for c in _CHECKS}


class _Plan(NamedTuple):
    level: str
    minor: int
    checks: tuple[tuple[str, str, Callable[[_Pod], str | None]], ...]  # (id, reason, fn)


@cache
def _plan(level: str, minor: int) -> _Plan:
    """The checks that run for a level at v1.<minor>, in the library's order."""
    active = {c.id: rev for c in _CHECKS if (rev := c.at(minor)) is not None}
    baseline = sorted(i for i in active if CHECK_LEVELS[i] == _B)
    if level == _B:
        ids = baseline
    else:
        overridden = {o for i, rev in active.items() if CHECK_LEVELS[i] == _R
                      for o in rev.overrides}
        ids = [i for i in baseline if i not in overridden]
        ids += sorted(i for i in active if CHECK_LEVELS[i] == _R)
    return _Plan(level, minor, tuple((i, _BY_ID[i].reason, active[i].check) for i in ids))


@cache
def _union_plan(minor: int) -> tuple[tuple[str, str, Callable[[_Pod], str | None]], ...]:
    seen: dict[str, tuple[str, str, Callable[[_Pod], str | None]]] = {}
    for level in LEVELS:
        for entry in _plan(level, minor).checks:
            seen.setdefault(entry[0], entry)
    return tuple(seen.values())


def active_checks(level: str, version: str | None = "latest") -> tuple[str, ...]:
    """The ids of the checks a level runs at a version, in evaluation order.

    Examples
    --------
    >>> active_checks("restricted", "v1.18")[-3:]
    ('allowPrivilegeEscalation', 'restrictedVolumes', 'runAsNonRoot')
    >>> "hostPathVolumes" in active_checks("restricted"), "hostPathVolumes" in active_checks(
    ...     "baseline")
    (False, True)
    """
    return tuple(i for i, _, _ in _plan(_level(level), parse_version(version)[1]).checks)


def overriding_check(check_id: str, level: str, version: str | None = "latest") -> str:
    """The check that reports ``check_id``'s violations at a level and version.

    A restricted check replaces some baseline checks (``restrictedVolumes`` replaces
    ``hostPathVolumes``); at baseline, or where nothing replaces it, that is ``check_id`` itself.

    Examples
    --------
    >>> overriding_check("hostPathVolumes", "restricted")
    'restrictedVolumes'
    >>> overriding_check("capabilities_baseline", "restricted", "v1.21")
    'capabilities_baseline'
    """
    level, minor = _level(level), parse_version(version)[1]
    if level == _R:
        for c in _CHECKS:
            rev = c.at(minor)
            if c.level == _R and rev is not None and check_id in rev.overrides:
                return c.id
    return check_id


# ------------------------------------------------------------------------------------------
# versions and levels
# ------------------------------------------------------------------------------------------
def parse_version(version: str | None) -> tuple[int, int]:
    """Parse a Pod Security Admission policy version into ``(major, minor)``.

    ``None`` and ``"latest"`` mean the newest policy (:data:`LATEST`), as does any version newer
    than it. The ``v`` prefix is optional; patch versions are not policy versions.

    Raises
    ------
    ValueError
        For anything that is not ``latest`` or ``v1.<minor>``.

    Examples
    --------
    >>> parse_version("v1.30"), parse_version("latest"), parse_version(None)
    ((1, 30), (1, 37), (1, 37))
    >>> parse_version("v1.99")
    (1, 37)
    """
    return _parse_version(None if version is None else str(version))


@lru_cache(maxsize=256)
def _parse_version(version: str | None) -> tuple[int, int]:
    if version is None:
        return 1, _LATEST_MINOR
    text = version.strip()
    if text.lower() == "latest":
        return 1, _LATEST_MINOR
    body = text[1:] if text[:1] in ("v", "V") else text
    major, dot, minor = body.partition(".")
    if not (dot and body.isascii() and major.isdigit() and minor.isdigit()) or int(major) != 1:
        raise ValueError(f"invalid Pod Security Standards version {version!r}: "
                         "use 'latest' or v1.<minor>, e.g. v1.30")
    return 1, min(int(minor), _LATEST_MINOR)


def _label(minor: int) -> str:
    return f"v1.{minor}"


def _level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"invalid Pod Security Standards level {level!r}: use baseline or "
                         "restricted")
    return level


# ------------------------------------------------------------------------------------------
# evaluation with a cache by pod-spec hash
# ------------------------------------------------------------------------------------------
class CacheInfo(NamedTuple):
    """Counters of the evaluation cache: lookups answered, pods actually evaluated, size."""

    hits: int
    evaluations: int
    size: int


_MAX_CACHE = 250_000
_results: dict[tuple[bytes, int], dict[str, Violation]] = {}
_verdicts: dict[tuple[bytes, str, int], PodVerdict] = {}
_counters = {"hits": 0, "evaluations": 0}
_ALLOWED = PodVerdict(True, ())


def cache_info() -> CacheInfo:
    """Counters of the evaluation cache (see :func:`cache_clear`).

    Examples
    --------
    >>> cache_clear()
    >>> spec = {"containers": [{"name": "a", "image": "nginx"}]}
    >>> for _ in range(3):
    ...     _ = evaluate_spec({}, spec, "restricted")
    >>> cache_info()
    CacheInfo(hits=2, evaluations=1, size=1)
    """
    return CacheInfo(_counters["hits"], _counters["evaluations"], len(_results))


def cache_clear() -> None:
    """Empty the evaluation cache and reset its counters."""
    _results.clear()
    _verdicts.clear()
    _counters["hits"] = _counters["evaluations"] = 0


def _relevant_annotations(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    ann = _dict(_dict(metadata).get("annotations"))
    if not ann:
        return ann
    return {k: v for k, v in ann.items() if k.startswith(_RELEVANT_ANNOTATION_PREFIXES)}


def spec_key(metadata: Mapping[str, Any] | None, spec: Mapping[str, Any] | None) -> bytes:
    """The cache key of a pod: a hash of its spec and its seccomp/AppArmor annotations.

    Examples
    --------
    >>> a = spec_key({"labels": {"pod-template-hash": "1"}}, {"containers": []})
    >>> a == spec_key({"labels": {"pod-template-hash": "2"}}, {"containers": []})
    True
    """
    payload = orjson.dumps(
        (_relevant_annotations(metadata), spec or {}),
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(payload, digest_size=16).digest()


def _evaluate_all(metadata: Mapping[str, Any] | None, spec: Mapping[str, Any] | None,
                  minor: int) -> dict[str, Violation]:
    """Run every check of both levels once; the failing ones by id."""
    _counters["evaluations"] += 1
    pod = _Pod({"annotations": _relevant_annotations(metadata)}, spec)
    failed = {}
    for check_id, reason, check in _union_plan(minor):
        detail = check(pod)
        if detail is not None:
            failed[check_id] = Violation(check_id, reason, detail)
    return failed


def evaluate_spec(metadata: Mapping[str, Any] | None, spec: Mapping[str, Any] | None,
                  level: str, version: str | None = "latest") -> PodVerdict:
    """Evaluate a pod template (``template.metadata``, ``template.spec``) against a profile.

    Results are cached by a hash of the spec and of the annotations that matter (seccomp and
    AppArmor), per version; one evaluation answers both levels.

    Parameters
    ----------
    metadata
        The pod (template) metadata; only its ``annotations`` are read.
    spec
        The pod spec.
    level
        ``baseline`` or ``restricted``.
    version
        ``v1.0`` … ``v1.37``, or ``latest`` (newer versions mean :data:`LATEST`).

    Returns
    -------
    PodVerdict
        ``allowed`` and the violations, in the library's check order.

    Examples
    --------
    >>> spec = {"containers": [{"name": "app", "image": "nginx", "securityContext": {
    ...     "allowPrivilegeEscalation": False, "runAsNonRoot": True,
    ...     "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}]}
    >>> evaluate_spec({}, spec, "restricted", "v1.30").allowed
    True
    >>> evaluate_spec({}, spec | {"hostPID": True}, "baseline").violations
    (Violation(check_id='hostNamespaces', reason='host namespaces', detail='hostPID=true'),)
    """
    minor = parse_version(version)[1]
    level = _level(level)
    key = spec_key(metadata, spec)
    verdict = _verdicts.get((key, level, minor))
    if verdict is not None:
        _counters["hits"] += 1
        return verdict
    failed = _results.get((key, minor))
    if failed is None:
        if len(_results) >= _MAX_CACHE:
            cache_clear()
        failed = _results[(key, minor)] = _evaluate_all(metadata, spec, minor)
    else:
        _counters["hits"] += 1
    if failed:
        found = tuple(failed[i] for i, _, _ in _plan(level, minor).checks if i in failed)
        verdict = PodVerdict(not found, found) if found else _ALLOWED
    else:
        verdict = _ALLOWED
    _verdicts[(key, level, minor)] = verdict
    return verdict


def evaluate_pod(pod: Mapping[str, Any], level: str, version: str | None = "latest") -> PodVerdict:
    """Evaluate a Pod object (``metadata`` and ``spec``) against a Pod Security Standard.

    Parameters
    ----------
    pod
        A Pod as the API returns it (a dict with ``metadata`` and ``spec``).
    level
        ``baseline`` or ``restricted``.
    version
        ``v1.0`` … ``v1.37``, or ``latest`` (newer versions mean :data:`LATEST`).

    Returns
    -------
    PodVerdict
        ``allowed`` and the violations as ``(check_id, reason, detail)``.

    Examples
    --------
    >>> pod = {"metadata": {"name": "p"}, "spec": {"securityContext": {"sysctls": [
    ...     {"name": "net.ipv4.tcp_rmem", "value": "4096 87380 16777216"}]},
    ...     "containers": [{"name": "c", "image": "nginx"}]}}
    >>> evaluate_pod(pod, "baseline", "v1.31").check_ids, evaluate_pod(pod, "baseline",
    ...     "v1.32").allowed
    (('sysctls',), True)
    """
    return evaluate_spec(_dict(pod.get("metadata")), _dict(pod.get("spec")), level, version)


def evaluate_pods(pods: Iterable[Mapping[str, Any]], level: str,
                  version: str | None = "latest") -> list[PodVerdict]:
    """Evaluate many Pods: :func:`evaluate_pod` for each, with the cyclic GC paused.

    The cache makes replicas cheap; pausing the garbage collector keeps a large batch from
    paying for collections over every object already in memory.

    Examples
    --------
    >>> pods = [{"spec": {"hostPID": True, "containers": []}}, {"spec": {"containers": []}}]
    >>> [v.allowed for v in evaluate_pods(pods, "baseline")]
    [False, True]
    """
    from zt_toolkit.snapshot import gc_paused

    with gc_paused():
        return [evaluate_pod(p, level, version) for p in pods]


# ------------------------------------------------------------------------------------------
# workloads: frames, snapshots and manifest files
# ------------------------------------------------------------------------------------------
VERDICT_COLUMNS = ("kind", "namespace", "name", "level", "version", "allowed", "check_ids",
                   "violations", "source")


def evaluate_workloads(workloads: pd.DataFrame, pod_specs: Mapping[str, Mapping[str, Any]],
                       level: str, version: str | None = "latest") -> pd.DataFrame:
    """Evaluate every workload's pod spec (frames ``workloads`` and ``pod_specs``).

    Parameters
    ----------
    workloads
        The ``workloads`` frame (``kind``, ``namespace``, ``name``, ``spec_hash``).
    pod_specs
        The ``pod_specs`` frame: pod-shaped dicts by spec hash.
    level
        ``baseline`` or ``restricted``.
    version
        One version for all, e.g. ``v1.30`` or ``latest``.

    Returns
    -------
    pandas.DataFrame
        One row per workload: ``kind, namespace, name, level, version, allowed, check_ids``
        (a tuple), ``violations`` (a tuple of :class:`Violation`), ``source`` (empty).

    Examples
    --------
    >>> from zt_toolkit.frames import Frames
    >>> from zt_toolkit.snapshot import Snapshot
    >>> frames = Frames(Snapshot.load("reports/demo-snapshot"))          # doctest: +SKIP
    >>> v = evaluate_workloads(frames.workloads, frames.pod_specs, "baseline")  # doctest: +SKIP
    >>> v.loc[~v.allowed, ["namespace", "name", "check_ids"]].head()      # doctest: +SKIP
    """
    from zt_toolkit.snapshot import gc_paused

    label = _label(parse_version(version)[1])
    rows = []
    with gc_paused():
        for w in workloads.itertuples(index=False):
            pod_like = pod_specs[w.spec_hash]
            verdict = evaluate_spec(pod_like.get("metadata"), pod_like.get("spec"), level,
                                    version)
            rows.append((w.kind, w.namespace, w.name, level, label, verdict.allowed,
                         verdict.check_ids, verdict.violations, ""))
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS)).astype({"allowed": bool})


# Kinds whose objects carry a pod template, with the path to it.
TEMPLATE_KINDS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}


def pod_template(obj: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(metadata, spec)`` of a Pod or of a workload's pod template; None for other kinds.

    Examples
    --------
    >>> cj = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {
    ...     "spec": {"containers": []}}}}}}
    >>> pod_template(cj)
    ({}, {'containers': []})
    """
    kind = obj.get("kind")
    if kind == "Pod":
        return _dict(obj.get("metadata")), _dict(obj.get("spec"))
    path = TEMPLATE_KINDS.get(str(kind))
    if path is None:
        return None
    node: Any = obj
    for part in path:
        node = _dict(node).get(part)
    node = _dict(node)
    return _dict(node.get("metadata")), _dict(node.get("spec"))


def evaluate_manifests(paths: Iterable[Path], level: str, version: str | None = "latest",
                       ) -> tuple[pd.DataFrame, list[str]]:
    """Evaluate the Pods and pod templates in manifest files and folders.

    Folders are searched recursively for ``.yaml``, ``.yml`` and ``.json`` (hidden ones skipped);
    multi-document files and ``List`` objects are read. A file that does not parse is skipped
    with a warning that names it.

    Returns
    -------
    tuple
        The verdicts (columns :data:`VERDICT_COLUMNS`, ``source`` = the file) and the warnings.

    Examples
    --------
    >>> v, warnings = evaluate_manifests([Path("k8s/")], "restricted", "v1.30")  # doctest: +SKIP
    """
    from zt_toolkit.manifests import MANIFEST_SUFFIXES, _flatten, _parse_file

    level, minor = _level(level), parse_version(version)[1]
    label = _label(minor)
    warnings: list[str] = []
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files += sorted(p for p in given.rglob("*") if p.suffix.lower() in MANIFEST_SUFFIXES
                            and p.is_file() and not any(
                                part.startswith(".") for part in p.relative_to(given).parts))
        elif given.is_file():
            files.append(given)
        else:
            warnings.append(f"skipped {given}: no such file or directory")
    rows = []
    for file in files:
        try:
            docs = _parse_file(file)
        except ValueError as exc:
            warnings.append(f"skipped {file}: {exc}")
            continue
        for n, doc in enumerate(docs, start=1):
            if not isinstance(doc, dict):
                continue
            for obj, _ in _flatten(doc, str(file)):
                if not isinstance(obj, dict) or (template := pod_template(obj)) is None:
                    continue
                meta = _dict(obj.get("metadata"))
                verdict = evaluate_spec(*template, level, version)
                rows.append((str(obj.get("kind")), str(meta.get("namespace") or "default"),
                             str(meta.get("name", "")), level, label, verdict.allowed,
                             verdict.check_ids, verdict.violations,
                             str(file) if len(docs) == 1 else f"{file} document {n}"))
    frame = pd.DataFrame(rows, columns=list(VERDICT_COLUMNS)).astype({"allowed": bool})
    return frame, warnings


def evaluate_path(paths: Iterable[Path], level: str, version: str | None = "latest",
                  ) -> tuple[pd.DataFrame, list[str]]:
    """Evaluate a snapshot (directory, ``.tar.gz``, ``.zip``) or manifest files and folders.

    A snapshot is evaluated per workload from the frames (controller templates, and bare
    Pods); manifests per object (see :func:`evaluate_manifests`).

    Returns
    -------
    tuple
        The verdicts (columns :data:`VERDICT_COLUMNS`) and warnings.

    Raises
    ------
    zt_toolkit.errors.SnapshotError
        For a damaged snapshot.

    Examples
    --------
    >>> v, _ = evaluate_path([Path("reports/demo-snapshot")], "baseline")   # doctest: +SKIP
    >>> v.allowed.mean()                                                    # doctest: +SKIP
    """
    from zt_toolkit.snapshot import Snapshot

    paths = [Path(p) for p in paths]
    if len(paths) == 1 and Snapshot.is_snapshot(paths[0]):
        from zt_toolkit.frames import Frames

        frames = Frames(Snapshot.load(paths[0]))
        verdicts = evaluate_workloads(frames.workloads, frames.pod_specs, level, version)
        return verdicts.sort_values(["namespace", "kind", "name"], ignore_index=True), []
    return evaluate_manifests(paths, level, version)


__all__ = [
    "CHECK_LEVELS", "CHECK_TITLES", "LATEST", "LEVELS", "TEMPLATE_KINDS", "VERDICT_COLUMNS",
    "CacheInfo", "PodVerdict", "Violation", "active_checks", "cache_clear", "cache_info",
    "evaluate_manifests", "evaluate_path", "evaluate_pod", "evaluate_pods", "evaluate_spec",
    "evaluate_workloads",
    "overriding_check", "parse_version", "pod_template", "spec_key",
]
