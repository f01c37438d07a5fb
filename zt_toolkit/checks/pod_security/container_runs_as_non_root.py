import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security._common import linux_only
from zt_toolkit.checks.registry import check


@check(
    id="container_runs_as_non_root",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.HIGH,
    title="Containers run as a non-root user",
    requires=("containers", "workloads", "pod_specs"),
    reason="may run as root (UID 0)",
    remediation="Set runAsNonRoot: true and a non-zero runAsUser (e.g. 10001) in the pod's "
    "securityContext, and build the image with a numeric non-root USER; override per container "
    "only where needed. Never set runAsUser: 0.",
    references=("PSS restricted", "KS C-0013", "PW core_minimize_root_containers_admission",
                "seed", "BPG pods"),
)
def container_runs_as_non_root(frames) -> pd.DataFrame:
    """A process running as root inside the container is root on the node after any escape.

    The effective settings are judged: the container's securityContext overrides the pod's, and a
    pod-level runAsNonRoot/runAsUser is inherited by every container (reading only the container
    level is a known false positive, kubescape#1606). A container passes with runAsUser > 0, or
    with runAsNonRoot: true and runAsUser unset (the kubelet then refuses to start an image whose
    USER is root). runAsUser 0 fails even with runAsNonRoot: true (such a pod cannot start: a
    configuration error). runAsNonRoot false or unset with runAsUser unset fails: the image's
    USER decides, which the API cannot show, so root is assumed. Init and ephemeral containers
    are included. Windows pods (spec.os.name windows) are not applicable.
    """
    c = frames.containers
    uid = c.run_as_user
    non_root = c.run_as_non_root
    uid_root = uid.eq(0).fillna(False).astype(bool)
    uid_set = uid.notna()
    nonroot_true = non_root.eq(True).fillna(False).astype(bool)
    failed = uid_root | (~uid_set & ~nonroot_true)
    why = np.select(
        [uid_root.to_numpy(), non_root.eq(False).fillna(False).to_numpy()],
        ["runAsUser 0", "runAsNonRoot false, runAsUser unset"],
        default="runAsNonRoot and runAsUser unset",
    )
    what = c.container + " (" + pd.Series(why, index=c.index) + ")"
    rows = results_by_workload(c, failed, what=what)
    return linux_only(rows, frames, "runAsNonRoot/runAsUser")
