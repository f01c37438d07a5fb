import numpy as np
import pandas as pd

from zt_toolkit.analysis.rbac import grants, subject_results, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

#: The verbs the kubelet (and the API server's node proxy) derive from HTTP methods:
#: GET/HEAD get, POST create, PUT update, PATCH patch, DELETE delete.
KUBELET_VERBS = ("get", "create", "update", "patch", "delete")


@check(
    id="rbac_node_proxy_absent",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="No subject outside the EKS baseline can reach the kubelet API through nodes/proxy",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can reach the kubelet API (nodes/proxy)",
    remediation="Remove nodes/proxy (and '*' resources) from the subject's ClusterRoles. "
    "Monitoring agents need nodes/metrics and nodes/stats, not nodes/proxy: e.g. kubectl edit "
    "clusterrole <name> and replace nodes/proxy with nodes/metrics; scrape cAdvisor through "
    "/api/v1/nodes/<node>/proxy/metrics/cadvisor only where no alternative exists.",
    references=("CIS 4.1.10", "KS C-0279", "PW rbac_minimize_node_proxy_subresource_access",
                "rbac-police nodes_proxy"),
)
def rbac_node_proxy_absent(frames) -> pd.DataFrame:
    """nodes/proxy is the kubelet API: exec into, and read the tokens of, every pod on a node.

    The kubelet authorizes its API (/exec, /run, /pods, /configz ...) as the nodes/proxy
    subresource, directly or through the API server's node proxy, and neither path is
    recorded by the API server's audit log as a pod exec. ``get`` counts as much as
    ``create``: a WebSocket upgrade is a GET, so a read-only grant runs commands in any pod of
    the node. update, patch, delete and ``*`` count too, ``*`` and ``*/proxy`` resources match,
    and a rule restricted to named nodes counts (the detail names them). nodes/proxy is
    cluster-scoped, so only ClusterRoleBindings grant it; a RoleBinding to such a ClusterRole
    grants nothing and is not counted.
    """
    perms = frames.subject_permissions
    cluster = perms["scope"].eq("cluster")
    reach = grants(perms, KUBELET_VERBS, "nodes/proxy", any_name=True) & cluster
    writes = grants(perms, ("create", "update", "patch", "delete"), "nodes/proxy",
                    any_name=True)
    note = pd.Series(np.where(reach & ~writes, " [get only: enough for exec over WebSocket]",
                              ""), index=perms.index)
    return subject_results(subjects_of(frames.role_bindings), perms, reach,
                           "can reach the kubelet API of nodes", note=note)
