import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import KEY, is_true
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="pod_host_namespaces_absent",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.HIGH,
    title="Pods share no host namespace (hostNetwork, hostPID, hostIPC)",
    requires=("workloads",),
    reason="shares a host namespace",
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to "
    "false); expose ports through a Service instead of the node's network, and enforce the "
    "baseline level: `kubectl label ns <ns> pod-security.kubernetes.io/enforce=baseline`.",
    references=("CIS 4.2.2", "CIS 4.2.3", "CIS 4.2.4", "PSS baseline", "KS C-0038", "KS C-0041"),
)
def pod_host_namespaces_absent(frames) -> pd.DataFrame:
    """A pod in the host's network, PID or IPC namespace sees and reaches the node's processes.

    hostNetwork exposes every node port and the node's identity (IMDS, kubelet) to the pod and
    bypasses NetworkPolicies; hostPID lets it signal and ptrace host processes; hostIPC lets it
    read shared memory of other workloads. Unset means false. The detail names each shared
    namespace. CNI and kube-proxy need hostNetwork by design (EKS baseline).
    """
    w = frames.workloads
    flags = pd.DataFrame({
        "hostNetwork": is_true(w.host_network),
        "hostPID": is_true(w.host_pid),
        "hostIPC": is_true(w.host_ipc),
    })
    names = np.array(flags.columns)
    detail = [", ".join(names[row]) for row in flags.to_numpy()]
    out = w[KEY].copy()
    failed = flags.any(axis=1).to_numpy()
    out["status"] = np.where(failed, "fail", "pass")
    out["detail"] = [f"shares {d}" if d else "" for d in detail]
    return out.reset_index(drop=True)
