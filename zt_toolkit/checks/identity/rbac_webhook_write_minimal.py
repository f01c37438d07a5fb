import pandas as pd

from zt_toolkit.analysis.rbac import grants, subject_results, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

ADMISSION_GROUP = "admissionregistration.k8s.io"
ADMISSION_CONFIG = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations",
                    "validatingadmissionpolicies", "validatingadmissionpolicybindings",
                    "mutatingadmissionpolicies", "mutatingadmissionpolicybindings")
CONFIG_WRITES = ("create", "update", "patch", "delete", "deletecollection")


@check(
    id="rbac_webhook_write_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="No subject outside the EKS baseline can write admission webhooks or admission policies",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can write admission configuration",
    remediation="Remove create/update/patch/delete on validatingwebhookconfigurations, "
    "mutatingwebhookconfigurations and validating/mutating admission policies and bindings "
    "(and '*') from the subject's ClusterRoles; let the policy engine's own controller hold "
    "update with resourceNames: [<its configurations>], and deploy the rest through GitOps.",
    references=("CIS 4.1.11", "KS C-0281", "PW rbac_minimize_webhook_config_access",
                "rbac-police control_webhooks"),
)
def rbac_webhook_write_minimal(frames) -> pd.DataFrame:
    """Admission configuration sees and rewrites every object: writing it owns the cluster.

    A mutating webhook pointed at an attacker's endpoint receives every object it matches
    (Secrets, pods) and can inject containers into them; deleting or weakening a validating
    webhook or a ValidatingAdmissionPolicy switches off the guardrails (Kyverno, Gatekeeper,
    image policies) silently. Counted: create, update, patch, delete and deletecollection on
    validating/mutating webhook configurations and on validating/mutating admission policies
    and their bindings (admissionregistration.k8s.io), ``*`` included. A rule restricted to
    named configurations counts (a controller that may update its own webhook can repoint it;
    the detail names them). These objects are cluster-scoped: only ClusterRoleBindings count.
    """
    perms = frames.subject_permissions
    writes = grants(perms, CONFIG_WRITES, ADMISSION_CONFIG, ADMISSION_GROUP,
                    any_name=True) & perms["scope"].eq("cluster")
    return subject_results(subjects_of(frames.role_bindings), perms, writes,
                           "can write admission configuration")
