import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="container_resource_limits_set",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.LOW,
    title="Containers set CPU and memory limits",
    requires=("containers",),
    reason="cpu or memory limit missing",
    remediation="Set resources.limits.cpu and resources.limits.memory on every container "
    "(init containers too), or give the namespace a LimitRange with default limits and a "
    "ResourceQuota.",
    references=("BPG pods", "KS C-0004", "KS C-0050", "PW core_cpu_limits_set",
                "PW core_memory_limits_set"),
)
def container_resource_limits_set(frames) -> pd.DataFrame:
    """Without limits one compromised or runaway container starves its node (denial of service).

    Init and regular containers are judged; ephemeral containers cannot declare resources and are
    left out. A workload judged from its controller template does not show limits that a
    namespace LimitRange injects at admission (those appear on pods only); the remediation
    names the LimitRange route.
    """
    c = frames.containers[frames.containers.container_type.ne("ephemeral")]
    no_cpu, no_mem = c.cpu_limit.isna(), c.memory_limit.isna()
    why = np.select([(no_cpu & no_mem).to_numpy(), no_cpu.to_numpy()],
                    ["no cpu and memory limits", "no cpu limit"], default="no memory limit")
    what = c.container + " (" + pd.Series(why, index=c.index) + ")"
    return results_by_workload(c, no_cpu | no_mem, what=what)
