import numpy as np
import pandas as pd

from zt_toolkit.analysis.rbac import service_account_permissions, token_mounts
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="service_account_token_automount_disabled",
    pillar=Pillar.IDENTITY,
    severity=Severity.MEDIUM,
    title="Workloads that do not call the Kubernetes API mount no service account token",
    requires=("workloads", "service_accounts", "subject_permissions"),
    reason="API token mounted without need",
    remediation="Set automountServiceAccountToken: false on the pod template (or on the "
    "ServiceAccount), and give workloads that call the API a dedicated ServiceAccount: "
    "kubectl patch serviceaccount default -n <ns> -p '{\"automountServiceAccountToken\": false}'.",
    references=("CIS 4.1.5", "CIS 4.1.6", "KS C-0034", "KS C-0189", "KS C-0190", "BPG iam"),
)
def service_account_token_automount_disabled(frames) -> pd.DataFrame:
    """A mounted token hands the API server's trust to anyone who gets into the pod.

    The attacker uses it for discovery and for whatever the service account's (and its groups')
    bindings allow. A workload fails when its pods mount a token (pod setting, else
    ServiceAccount setting, unset = mounted) and either run as the ``default`` ServiceAccount or
    run as one that no RBAC binding names (directly or as system:serviceaccount:<ns>:<name>):
    such a workload shows no sign of calling the API. Group bindings (system:serviceaccounts) do
    not count as need. Whether the application really calls the API cannot be seen from
    configuration.
    """
    w = token_mounts(frames.workloads, frames.service_accounts)
    sas = w[["namespace", "service_account"]].rename(columns={"service_account": "name"})
    sp = service_account_permissions(frames.subject_permissions, sas)
    bound = pd.MultiIndex.from_frame(sp.loc[sp["via"] == "", ["sa_namespace", "sa_name"]])
    keys = pd.MultiIndex.from_arrays([w["namespace"], w["service_account"]])
    has_rbac = keys.isin(bound)
    default = (w["service_account"] == "default").to_numpy()
    mounted = w["token_mounted"].to_numpy()
    name = '"' + w["service_account"] + '"'
    reason = np.where(default, "the workload runs as the default ServiceAccount",
                      np.where(has_rbac, "", "ServiceAccount " + name
                               + " has no RBAC binding: no sign the workload calls the API"))
    failed = mounted & (default | ~has_rbac)
    detail = np.where(
        failed, "token mounted (" + w["token_why"] + "); " + reason,
        np.where(mounted, "token mounted (" + w["token_why"] + "); ServiceAccount " + name
                 + " is bound to RBAC roles", "token not mounted (" + w["token_why"] + ")"))
    out = w[["kind", "namespace", "name"]].reset_index(drop=True)
    out["status"] = np.where(failed, "fail", "pass")
    out["detail"] = detail
    return out
