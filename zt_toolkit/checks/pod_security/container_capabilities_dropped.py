import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import is_true, results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security._common import linux_only
from zt_toolkit.checks.registry import check

ALLOWED_ADD = frozenset({"NET_BIND_SERVICE"})


def _canonical(name: object) -> str:
    """A capability name as the runtime reads it: upper-case, without the CAP_ prefix."""
    text = str(name).strip().upper()
    return text[4:] if text.startswith("CAP_") else text


@check(
    id="container_capabilities_dropped",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.MEDIUM,
    title="Containers drop ALL capabilities and add none but NET_BIND_SERVICE",
    requires=("containers", "workloads", "pod_specs"),
    reason="does not drop ALL capabilities, or adds more than NET_BIND_SERVICE",
    remediation="Set securityContext.capabilities: {drop: [ALL]} on every container and add back "
    "only NET_BIND_SERVICE where a port below 1024 is bound (better: listen on a high port).",
    references=("PSS restricted", "KS C-0046", "PW core_minimize_containers_added_capabilities",
                "PW core_minimize_net_raw_capability_admission"),
)
def container_capabilities_dropped(frames) -> pd.DataFrame:
    """Default capabilities (NET_RAW, CHOWN, SETUID, ...) help spoof traffic and escalate.

    As in the Pod Security Standards restricted profile, ``drop`` must contain ALL and ``add`` may
    only hold NET_BIND_SERVICE. Names are compared as the container runtime reads them
    (case-insensitive, with or without ``CAP_``), so ``CAP_NET_BIND_SERVICE`` is accepted here;
    Pod Security Admission compares the exact strings, which workload_pss_restricted_compliant
    judges. A privileged container has every capability whatever its lists say, so it fails too.
    Init and ephemeral containers are included; Windows pods are not applicable.
    """
    c = frames.containers
    drops_all = c.capabilities_drop.map(lambda d: "ALL" in {_canonical(x) for x in d})
    drops_all = drops_all.astype(bool)
    extra = c.capabilities_add.map(
        lambda a: ", ".join(str(x) for x in a if _canonical(x) not in ALLOWED_ADD))
    privileged = is_true(c.privileged)
    failed = ~drops_all | extra.ne("") | privileged
    parts = pd.DataFrame({
        "priv": np.where(privileged, "privileged", ""),
        "drop": np.where(drops_all, "", "does not drop ALL"),
        "add": np.where(extra.ne(""), "adds " + extra, ""),
    }, index=c.index)
    why = parts.apply(lambda r: "; ".join(x for x in r if x), axis=1) if len(c) else parts["priv"]
    rows = results_by_workload(c, failed, what=c.container + " (" + why + ")")
    return linux_only(rows, frames, "capabilities")
