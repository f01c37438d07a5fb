import pandas as pd

from zt_toolkit.checks.helpers import results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.audit import NO_POD, guardduty_agent_opted_out, sensor_gap

KNOWN = "Falco, Tetragon, GuardDuty agent, Sysdig, CrowdStrike, Prisma Cloud, Aqua"
OPTED_OUT = "the cluster opts out of GuardDuty's managed agent (tag GuardDutyManaged=false)"


@check(
    id="runtime_sensor_coverage_complete",
    pillar=Pillar.AUDIT,
    severity=Severity.HIGH,
    title="A runtime detection sensor runs ready on every node",
    requires=("runtime_sensors", "nodes"),
    reason="no ready runtime sensor on the node",
    remediation="Deploy a runtime sensor as a DaemonSet on every node (GuardDuty Runtime "
    "Monitoring with EKS_ADDON_MANAGEMENT, or Falco: helm install falco falcosecurity/falco "
    "-n falco --create-namespace) and add tolerations for the taints of dedicated node groups "
    "(e.g. tolerations: [{operator: Exists}]).",
    references=("seed: Falco", "BPG runtime"),
)
def runtime_sensor_coverage_complete(frames) -> pd.DataFrame:
    """Every node without a sensor is a blind spot for runtime attacks.

    A shell opened in a pod there, a crypto-miner or a container escape raises no alert.

    One row per Node. With pods collected a node passes when a pod of a recognised sensor
    DaemonSet is Ready on it; otherwise (DaemonSet status only) the nodes the DaemonSet can
    schedule on pass when numberReady reaches their count, and fail with that explanation when
    it does not (which nodes lack a pod is then unknown). Failing rows say why: untolerated
    NoSchedule/NoExecute taints, nodeSelector/affinity, Fargate, pod not ready; and when the
    cluster is tagged GuardDutyManaged=false (GuardDuty will not deploy its agent there).
    """
    nodes, sensors = frames.nodes, frames.runtime_sensors
    opted_out = f"; {OPTED_OUT}" if guardduty_agent_opted_out(frames) else ""
    rows = []
    if sensors.empty:
        for n in nodes.itertuples(index=False):
            rows.append({"kind": "Node", "namespace": "", "name": n.name, "status": "fail",
                         "detail": f"no runtime sensor DaemonSet in the cluster ({KNOWN})"
                         + opted_out})
        return results(rows)
    # without pods: per sensor, does numberReady cover the nodes it can schedule on?
    counted = {}
    sensor_rows = list(sensors.itertuples(index=False))
    node_rows = list(nodes.itertuples(index=False))
    ready_sets = {(s.namespace, s.name): frozenset(s.ready_nodes)
                  for s in sensor_rows if isinstance(s.ready_nodes, tuple)}
    for s in sensor_rows:
        if (s.namespace, s.name) not in ready_sets:
            eligible = [n.name for n in node_rows if sensor_gap(s, n) == NO_POD]
            ready = 0 if pd.isna(s.number_ready) else int(s.number_ready)
            counted[(s.namespace, s.name)] = (ready >= len(eligible), ready, len(eligible))
    for n in node_rows:
        covered, reasons = [], []
        for s in sensor_rows:
            label = f"{s.product} ({s.namespace}/{s.name})"
            if (s.namespace, s.name) in ready_sets:
                if n.name in ready_sets[(s.namespace, s.name)]:
                    covered.append(label)
                else:
                    reasons.append(f"{label}: {sensor_gap(s, n)}")
                continue
            why = sensor_gap(s, n)
            ok, ready, eligible = counted[(s.namespace, s.name)]
            if why != NO_POD:
                reasons.append(f"{label}: {why}")
            elif ok:
                covered.append(f"{label}, numberReady {ready} of {eligible} eligible nodes "
                               "(DaemonSet status; its pods are not in the snapshot)")
            else:
                reasons.append(f"{label}: numberReady {ready} < {eligible} eligible nodes; its "
                               "pods are not in the snapshot, so which nodes lack one is unknown")
        if covered:
            rows.append({"kind": "Node", "namespace": "", "name": n.name, "status": "pass",
                         "detail": "ready sensor: " + "; ".join(covered)})
        else:
            rows.append({"kind": "Node", "namespace": "", "name": n.name, "status": "fail",
                         "detail": "; ".join(reasons) + opted_out})
    return results(rows)
