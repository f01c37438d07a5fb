import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import is_true, results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security._common import linux_only
from zt_toolkit.checks.registry import check

CONFINED = ("RuntimeDefault", "Localhost")


@check(
    id="container_seccomp_profile_set",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.MEDIUM,
    title="Containers run with the RuntimeDefault or a Localhost seccomp profile",
    requires=("containers", "workloads", "pod_specs"),
    reason="no RuntimeDefault or Localhost seccomp profile",
    remediation="Set securityContext.seccompProfile: {type: RuntimeDefault} at pod level "
    "(inherited by every container), or a Localhost profile; never Unconfined.",
    references=("PSS restricted", "KS C-0210", "PW core_seccomp_profile_docker_default",
                "BPG pods"),
)
def container_seccomp_profile_set(frames) -> pd.DataFrame:
    """Without seccomp every system call reaches the kernel, the usual path of container escapes.

    The effective profile is judged: the container's seccompProfile over the pod's. Unset fails:
    Kubernetes defaults to Unconfined unless the kubelet runs with seccompDefault, which the API
    does not show. Unconfined fails. A privileged container runs unconfined whatever the profile
    says, so it fails too. The deprecated seccomp annotations are ignored by Kubernetes >= 1.27
    and do not count. Init and ephemeral containers are included; Windows pods are not applicable.
    """
    c = frames.containers
    profile = c.seccomp_profile_type.astype("string")
    privileged = is_true(c.privileged)
    confined = profile.isin(CONFINED).fillna(False).astype(bool)
    failed = ~confined | privileged
    why = np.where(privileged, "privileged: runs unconfined",
                   ("seccompProfile " + profile).fillna("seccompProfile unset").to_numpy())
    rows = results_by_workload(c, failed, what=c.container + " (" + pd.Series(why, index=c.index)
                               + ")")
    return linux_only(rows, frames, "seccomp")
