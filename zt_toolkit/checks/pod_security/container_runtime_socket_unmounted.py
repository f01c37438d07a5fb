import posixpath
import re

import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

# Socket file names of container runtimes (matched as the last path component, anywhere:
# /run/containerd/containerd.sock, /run/k3s/containerd/containerd.sock, /var/run/docker.sock ...)
RUNTIME_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "dockershim.sock",
                   "cri-dockerd.sock", "podman.sock")
# Host directories that hold a runtime socket: mounting them exposes the socket too.
SOCKET_DIRECTORIES = {
    "/": "/run/containerd/containerd.sock and every other socket",
    "/run": "/run/containerd/containerd.sock, /run/docker.sock",
    "/var/run": "/var/run/containerd/containerd.sock, /var/run/docker.sock",
    "/run/containerd": "containerd.sock",
    "/var/run/containerd": "containerd.sock",
    "/run/crio": "crio.sock",
    "/var/run/crio": "crio.sock",
}


def runtime_socket_exposed(path: object) -> str | None:
    """Return why a hostPath exposes a container runtime socket, or None."""
    if not isinstance(path, str) or not path.strip():
        return None
    norm = posixpath.normpath(re.sub("/+", "/", path.strip()))
    if posixpath.basename(norm) in RUNTIME_SOCKETS:
        return norm
    if norm in SOCKET_DIRECTORIES:
        return f"{norm} (holds {SOCKET_DIRECTORIES[norm]})"
    return None


@check(
    id="container_runtime_socket_unmounted",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.CRITICAL,
    title="No pod mounts the container runtime socket",
    requires=("workloads", "volumes"),
    reason="mounts the container runtime socket",
    remediation="Remove the hostPath volume of the runtime socket; build images with a "
    "daemonless builder (Kaniko, BuildKit rootless, AWS CodeBuild) instead of Docker-in-Docker. "
    "Runtime security agents that need the socket belong in the engagement's waivers with an "
    "owner.",
    references=("BPG pods", "KS C-0074", "PW core_minimize_hostpath_volume_mounts"),
)
def container_runtime_socket_unmounted(frames) -> pd.DataFrame:
    """Whoever reaches the runtime socket starts privileged containers on the node: node takeover.

    A hostPath whose last component is a runtime socket (docker.sock, containerd.sock, crio.sock,
    dockershim.sock, cri-dockerd.sock, podman.sock) fails wherever it lives (suffix match: an
    exact path list misses /run/containerd/containerd.sock or the k3s path). So does a hostPath
    of a directory that holds the sockets on EKS nodes: ``/``, ``/run``, ``/var/run``,
    ``/run/containerd``, ``/var/run/containerd``, ``/run/crio``, ``/var/run/crio``. Paths are
    normalized (``//run/./containerd/`` is ``/run/containerd``). Read-only does not help: a
    socket accepts API calls through a read-only mount.
    """
    v = frames.volumes
    exposed = v.host_path.astype(object).map(runtime_socket_exposed).astype(object)
    failed = v.volume_type.eq("hostPath") & exposed.notna()
    return results_by_workload(v, failed, what=exposed.fillna(""), label="hostPath",
                               workloads=frames.workloads)
