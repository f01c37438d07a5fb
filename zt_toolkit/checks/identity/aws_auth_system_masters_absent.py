import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.iam import MASTERS, authentication_mode
from zt_toolkit.frames.rbac import AWS_AUTH, aws_auth_present

REASON = "aws-auth maps an IAM principal to system:masters"
UNPARSABLE = "aws-auth cannot be parsed"
_KEYS = {"role": "mapRoles", "user": "mapUsers", "account": "mapAccounts"}


@check(
    id="aws_auth_system_masters_absent",
    pillar=Pillar.IDENTITY,
    severity=Severity.CRITICAL,
    title="The aws-auth ConfigMap maps no IAM role, user or account to system:masters",
    requires=("aws_auth",),
    reason=REASON,
    remediation="Remove system:masters from every mapRoles/mapUsers entry of kube-system/aws-auth "
    "(kubectl edit configmap aws-auth -n kube-system); grant admins an access entry with "
    "AmazonEKSClusterAdminPolicy instead (aws eks create-access-entry + associate-access-policy), "
    "which can be audited and revoked through IAM. Fix YAML errors so the file parses.",
    references=("BPG iam", "KS C-0246", "CIS 4.1.1"),
)
def aws_auth_system_masters_absent(frames) -> pd.DataFrame:
    """A principal mapped to system:masters is a superuser no RBAC binding shows or can revoke.

    The group is hard-wired to bypass authorization. A malformed aws-auth fails with reason
    "aws-auth cannot be parsed": the authenticator keeps the last mapping it could read, so a
    file we cannot read proves nothing about who is a master. In authentication mode API, EKS
    ignores aws-auth entirely: the row passes, and the detail still names any system:masters
    mapping left in the file. A manifest import without aws-auth is not assessed (the manifests
    need not hold every object); a live snapshot without it passes (nothing is mapped).
    """
    auth = frames.aws_auth
    namespace, name = AWS_AUTH
    if not aws_auth_present(frames):
        if frames.snapshot.source == "manifests":
            raise NotAssessed("the imported manifests hold no kube-system/aws-auth ConfigMap")
        return results([result("ConfigMap", namespace, name, failed=False,
                               detail="no aws-auth ConfigMap: nothing is mapped")])
    masters = auth[auth["groups"].map(lambda g: MASTERS in g)]
    named = [f'{_KEYS[t]} "{a}"' for t, a in zip(masters["map_type"], masters["arn"], strict=True)]
    errors = auth["parse_error"].dropna().tolist()
    parts = []
    if named:
        parts.append("maps " + ", ".join(named) + " to system:masters")
    if errors:
        parts.append("cannot be parsed: " + "; ".join(errors))
    if authentication_mode(frames) == "API":
        detail = "authentication mode API: EKS ignores aws-auth"
        if parts:
            detail += "; the file still " + "; ".join(parts) + " (delete it)"
        return results([result("ConfigMap", namespace, name, failed=False, detail=detail)])
    if not parts:
        return results([result("ConfigMap", namespace, name, failed=False,
                               detail=f"{len(auth)} mapping(s), none to system:masters")])
    return results([result("ConfigMap", namespace, name, failed=True, detail="; ".join(parts),
                           reason=REASON if named else UNPARSABLE)])
