import pandas as pd

from zt_toolkit.checks.helpers import is_true, results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security._common import linux_only
from zt_toolkit.checks.registry import check


@check(
    id="container_read_only_root_filesystem",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.MEDIUM,
    title="Containers mount their root filesystem read-only",
    requires=("containers", "workloads", "pod_specs"),
    reason="readOnlyRootFilesystem != true",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir "
    "(optionally medium: Memory) at the paths the process writes (/tmp, caches).",
    references=("BPG pods", "KS C-0017", "PW core_readonly_root_filesystem_enabled", "seed"),
)
def container_read_only_root_filesystem(frames) -> pd.DataFrame:
    """A writable root filesystem lets an intruder drop tools and persist changes in the image.

    Unset means writable. Init, regular and ephemeral containers are included. Windows pods are
    not applicable (Windows containers do not support a read-only root filesystem).
    """
    c = frames.containers
    rows = results_by_workload(c, ~is_true(c.read_only_root_filesystem))
    return linux_only(rows, frames, "readOnlyRootFilesystem")
