import numpy as np
import pandas as pd

from zt_toolkit.analysis.rbac import grants, subject_results, subjects_of
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

STREAMS = ("pods/exec", "pods/attach", "pods/portforward")


@check(
    id="rbac_exec_attach_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Only the EKS baseline subjects can exec, attach, port-forward or debug in pods",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can exec into pods",
    remediation="Remove pods/exec, pods/attach, pods/portforward and pods/ephemeralcontainers "
    "(and '*' resources) from the subject's roles; give break-glass access through a separate, "
    "audited role bound just in time.",
    references=("KS C-0002", "KS C-0063", "rbac-police pods_exec", "BPG iam"),
)
def rbac_exec_attach_minimal(frames) -> pd.DataFrame:
    """A shell in a pod is the pod: its Secrets, token, IAM role and network position.

    exec, attach, port-forward and debug containers bypass every control that guards the image
    and the deployment pipeline. ``create`` on pods/exec, pods/attach or pods/portforward
    counts, and so does ``get``: the API server authorizes WebSocket streaming as ``get`` unless
    the AuthorizePodWebsocketUpgradeCreatePermission gate is on, so a read-all role with ``*``
    resources opens a shell. ``update``/``patch`` of pods/ephemeralcontainers (kubectl debug)
    counts. ``*/exec`` and ``*`` resources match; ``pods/*`` does not (Kubernetes has no such
    wildcard).
    """
    perms = frames.subject_permissions
    create = grants(perms, "create", STREAMS)
    websocket = grants(perms, "get", STREAMS) & ~create
    debug = grants(perms, ("update", "patch"), "pods/ephemeralcontainers")
    note = pd.Series(np.where(websocket & ~debug, " [get only: exec over WebSocket]", ""),
                     index=perms.index)
    return subject_results(subjects_of(frames.role_bindings), perms, create | websocket | debug,
                           "can exec/attach/port-forward into pods or add debug containers",
                           note=note)
