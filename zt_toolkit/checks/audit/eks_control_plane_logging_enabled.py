import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import ConfigError
from zt_toolkit.frames.eks import eks_cluster_row

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


@check(
    id="eks_control_plane_logging_enabled",
    pillar=Pillar.AUDIT,
    severity=Severity.HIGH,
    title="The control plane sends api, audit and authenticator logs to CloudWatch",
    requires=("eks_cluster",),
    reason="control-plane log types disabled",
    remediation="aws eks update-cluster-config --name <cluster> --logging "
    "'{\"clusterLogging\":[{\"types\":[\"api\",\"audit\",\"authenticator\"],\"enabled\":true}]}'",
    references=("CIS 2.1.1", "KS C-0067", "BPG detective",
                "PW eks_control_plane_logging_all_types_enabled"),
    parameters={"required": ["api", "audit", "authenticator"]},
)
def eks_control_plane_logging_enabled(frames, params) -> pd.DataFrame:
    """Without these logs nobody can tell who did what in the cluster, nor which IAM principal.

    The audit log records every API request; the authenticator log maps Kubernetes users to
    IAM principals; the api log shows API server errors and flags.

    logging.clusterLogging is a list: every entry with enabled true is unioned (reading only
    the first entry is a known anchor mistake). The required set is a parameter (default api,
    audit, authenticator; controllerManager and scheduler add cost and little security value).
    """
    required = list(params["required"])
    unknown = sorted(set(required) - set(LOG_TYPES))
    if unknown:
        raise ConfigError(f"parameters.eks_control_plane_logging_enabled.required: unknown log "
                          f"type(s) {unknown}; known: {list(LOG_TYPES)}")
    c = eks_cluster_row(frames)
    enabled = set(c["logging_enabled"] or ())
    missing = [t for t in required if t not in enabled]
    shown = ", ".join(sorted(enabled)) or "none"
    detail = (f"missing {', '.join(missing)} (enabled: {shown})" if missing
              else f"enabled: {shown}")
    return results([result("Cluster", "", c["name"], failed=bool(missing), detail=detail)])
