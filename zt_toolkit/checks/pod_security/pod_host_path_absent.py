import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="pod_host_path_absent",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.HIGH,
    title="Pods mount no hostPath volume",
    requires=("workloads", "volumes"),
    reason="hostPath volume",
    remediation="Replace hostPath volumes with emptyDir, a PersistentVolumeClaim, a projected "
    "volume or a CSI driver; where host files must be read, mount them readOnly: true and as "
    "narrow a path as possible.",
    references=("PSS baseline", "KS C-0045", "KS C-0048", "PW core_minimize_hostpath_volume_mounts",
                "BPG pods"),
)
def pod_host_path_absent(frames) -> pd.DataFrame:
    """A hostPath volume gives the pod the node's files: credentials, kubelet state, the runtime.

    Any hostPath volume fails (Pod Security Standards baseline). The detail lists each path and
    whether it is mounted writable (critical: a writable hostPath lets the pod change the node,
    e.g. plant a static pod or a cron job) or read-only in every container; an unmounted volume
    counts as read-only. Workloads without volumes pass.
    """
    v = frames.volumes
    failed = v.volume_type.eq("hostPath")
    path = v.host_path.astype("string").fillna("?")
    access = np.where(v.read_only, "read-only", "writable")
    what = path + " (" + pd.Series(access, index=v.index) + ")"
    return results_by_workload(v, failed, what=what, label="hostPath",
                               workloads=frames.workloads)
