import pandas as pd

from zt_toolkit.checks.helpers import join_names
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.network import enforcement_caveat, with_caveat

_KEY = ["kind", "namespace", "name"]


@check(
    id="workload_network_isolated",
    pillar=Pillar.NETWORK,
    severity=Severity.MEDIUM,
    title="Every workload is selected by a NetworkPolicy for Ingress and one for Egress",
    requires=("workloads", "network_policies", "network_policy_targets"),
    reason="workload not isolated for ingress and egress",
    remediation="Add a default-deny policy (podSelector: {}, policyTypes: [Ingress, Egress]) "
    "to the namespace, or a policy whose podSelector matches the workload's pod labels, "
    "then allow only the flows it needs.",
    references=("KS C-0260", "KS C-0030", "BPG network"),
)
def workload_network_isolated(frames) -> pd.DataFrame:
    """Without a policy per direction, a workload is open in that direction to any peer.

    It accepts connections from, or opens them to, anything the network lets through.

    Selection uses exact label-selector semantics on the workload's pod template labels (the
    labels of one of its pods for a bare Pod) and policies of the workload's own namespace; a
    policy isolates a direction when that direction is in its defaulted ``policyTypes``,
    whether or not it has rules (a deny-only policy isolates; Polaris gets this wrong).
    ``hostNetwork`` workloads are not_applicable: NetworkPolicy does not apply to them.
    Policies are judged as written; the detail says so when no enforcement engine was found.
    """
    w = frames.workloads[_KEY + ["host_network"]].reset_index(drop=True)
    t = frames.network_policy_targets
    keys = pd.MultiIndex.from_frame(w[_KEY])
    ingress, egress = (
        t[t[direction]].groupby(_KEY, sort=False)["policy_name"]
        .agg(lambda s: join_names(s, 3)).reindex(keys).to_numpy()
        for direction in ("ingress", "egress"))
    host = w.host_network.eq(True).fillna(False).to_numpy(dtype=bool)
    caveat = enforcement_caveat(frames)
    status, detail = [], []
    for h, i, e in zip(host, ingress, egress, strict=True):
        if h:
            status.append("not_applicable")
            detail.append("hostNetwork: NetworkPolicy does not apply to its pods")
            continue
        status.append("pass" if isinstance(i, str) and isinstance(e, str) else "fail")
        detail.append(with_caveat(f"Ingress: {i if isinstance(i, str) else 'no policy'}; "
                                  f"Egress: {e if isinstance(e, str) else 'no policy'}", caveat))
    return w[_KEY].assign(status=status, detail=detail)
