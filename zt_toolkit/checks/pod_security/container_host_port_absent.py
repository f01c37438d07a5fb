import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="container_host_port_absent",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.MEDIUM,
    title="No container binds a hostPort",
    requires=("containers",),
    reason="hostPort set",
    remediation="Remove ports[].hostPort and expose the port through a Service (ClusterIP, or "
    "NodePort/LoadBalancer where it must be reachable from outside).",
    references=("PSS baseline", "KS C-0044", "PW core_minimize_admission_hostport_containers"),
)
def container_host_port_absent(frames) -> pd.DataFrame:
    """A hostPort opens the port on the node's own address, outside NetworkPolicy and Services.

    Any non-zero ``ports[].hostPort`` of an init, regular or ephemeral container fails, as in the
    Pod Security Standards baseline; the detail names container and port. With hostNetwork the
    API server defaults hostPort to containerPort, so hostNetwork pods with declared ports fail
    here too (the namespace exposure itself is pod_host_namespaces_absent's finding).
    """
    c = frames.containers
    ports = c.host_ports.map(lambda p: ", ".join(str(x) for x in p))
    failed = ports.ne("")
    what = c.container + " (hostPort " + ports + ")"
    return results_by_workload(c, failed, what=what)
