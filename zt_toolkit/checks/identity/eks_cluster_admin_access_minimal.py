import pandas as pd

from zt_toolkit.checks.helpers import cluster_result
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.iam import (
    CLUSTER_ADMIN_POLICY,
    MASTERS,
    aws_errors,
    described_cluster,
    principal_kind_of,
)
from zt_toolkit.frames.rbac import aws_auth_present

BOOTSTRAP_WINDOW = pd.Timedelta(hours=1)


def _cluster_created(frames) -> pd.Timestamp | None:
    for rec in frames.snapshot.aws("eks", "describe_cluster"):
        created = ((rec.get("response") or {}).get("cluster") or {}).get("createdAt")
        if created:
            return pd.to_datetime(str(created), utc=True, errors="coerce")
    return None


def _access_entry_admins(entries: pd.DataFrame) -> list[tuple[str, str, str | None]]:
    admins = []
    for e in entries[entries["cluster_admin"]].itertuples(index=False):
        how = ("access entry with AmazonEKSClusterAdminPolicy"
               if any(p["policy_arn"] == CLUSTER_ADMIN_POLICY for p in e.policies)
               else "access entry in group system:masters")
        admins.append((e.principal_arn, how, e.created_at))
    return admins


@check(
    id="eks_cluster_admin_access_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Few IAM roles and no IAM user hold cluster-admin; the creator's bootstrap admin is gone",
    requires=("eks_cluster", "access_entries", "aws_auth"),
    reason="cluster-admin access is not minimal",
    remediation="List admins with aws eks list-access-entries / list-associated-access-policies; "
    "remove IAM users and surplus principals (aws eks delete-access-entry --principal-arn <arn>, "
    "or disassociate-access-policy), grant admin to one or two roles assumed through SSO, and "
    "delete the cluster creator's bootstrap entry once another admin exists.",
    references=("BPG iam", "CIS 4.1.1", "KS C-0285"),
    parameters={"max_admins": 3},
)
def eks_cluster_admin_access_minimal(frames, params) -> pd.DataFrame:
    """Every cluster-admin principal is a full cluster compromise when its credentials leak.

    IAM users carry long-lived access keys; the creator's bootstrap entry is an admin nobody
    chose, often a CI role or a person who has since left. Admin means an access entry with
    AmazonEKSClusterAdminPolicy at cluster scope or in group system:masters, or (when the
    authentication mode honours it) an aws-auth mapping to system:masters; a principal found
    both ways counts once. The creator's entry cannot be named by the API: with
    bootstrapClusterCreatorAdminPermissions true, an admin entry created within an hour of the
    cluster is reported as probably the bootstrap one. In CONFIG_MAP mode the creator holds
    system:masters rights that no object shows and that cannot be removed: that fails. An
    unparsable aws-auth fails (its admins cannot be counted); a manifest import without aws-auth
    is not assessed when the mode reads it.
    """
    cluster = described_cluster(frames).iloc[0]
    mode = cluster["authentication_mode"] if isinstance(cluster["authentication_mode"], str) \
        else "CONFIG_MAP"
    admins: dict[str, list[str]] = {}
    created: dict[str, str | None] = {}
    if mode in ("API", "API_AND_CONFIG_MAP"):
        errors = [e for op in ("list_access_entries", "describe_access_entry",
                               "list_associated_access_policies")
                  for e in aws_errors(frames, "eks", op)]
        if errors:
            raise NotAssessed("access entries incomplete: " + "; ".join(dict.fromkeys(errors)))
        for arn, how, at in _access_entry_admins(frames.access_entries):
            admins.setdefault(arn, []).append(how)
            created[arn] = at
    problems: list[str] = []
    if mode == "CONFIG_MAP":
        problems.append("authentication mode CONFIG_MAP: the cluster creator keeps system:masters "
                        "rights that no object shows and only a move to access entries removes")
    if mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP"):
        if frames.snapshot.source == "manifests" and not aws_auth_present(frames):
            raise NotAssessed("the imported manifests hold no kube-system/aws-auth ConfigMap")
        auth = frames.aws_auth
        masters = auth[auth["groups"].map(lambda g: MASTERS in g) & auth["arn"].notna()]
        for t, arn in zip(masters["map_type"], masters["arn"], strict=True):
            admins.setdefault(arn, []).append(f"aws-auth map{t.capitalize()}s to system:masters")
        if auth["parse_error"].notna().any():
            problems.append("aws-auth cannot be parsed, so its admins cannot be counted")
    users = [a for a in admins if principal_kind_of(a) in ("user", "root")]
    if users:
        problems.append("IAM user(s) with cluster-admin: " + ", ".join(users))
    if len(admins) > params["max_admins"]:
        problems.append(f"{len(admins)} cluster-admin principals (max {params['max_admins']})")
    bootstrap_note = ""
    bootstrap = cluster["bootstrap_cluster_creator_admin"]
    if pd.notna(bootstrap) and bool(bootstrap):
        born = _cluster_created(frames)
        suspects = []
        if born is not None and not pd.isna(born):
            for arn, at in created.items():
                when = pd.to_datetime(at, utc=True, errors="coerce") if at else pd.NaT
                if not pd.isna(when) and born <= when <= born + BOOTSTRAP_WINDOW:
                    suspects.append(arn)
        if suspects:
            problems.append("the cluster creator's bootstrap admin entry is probably still "
                            "present: " + ", ".join(suspects))
        else:
            bootstrap_note = ("bootstrapClusterCreatorAdminPermissions was true and no admin "
                              "entry dates from the cluster's creation")
    listing = "; ".join(f"{arn} ({', '.join(how)})" for arn, how in admins.items())
    summary = f"{len(admins)} cluster-admin principal(s)" + (f": {listing}" if listing else "")
    detail = "; ".join([*problems, summary, *([bootstrap_note] if bootstrap_note else [])])
    return cluster_result(frames, failed=bool(problems), detail=detail)
