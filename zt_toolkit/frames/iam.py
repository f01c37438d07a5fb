"""AWS identity frames: EKS access entries, IAM roles and their policies, who assumes which role.

The IAM side of the identity pillar. ``iam_roles`` resolves every role the collector read with
``get_role``: its trust policy, attached managed policies (``get_policy`` → default version →
``get_policy_version``) and inline policies (``get_role_policy``). Policy documents arrive as
dicts (boto3 decodes them) or as URL-encoded JSON strings (the raw API, hand-written snapshots);
both are read, and a document that cannot be read is named in the row, never guessed.

``workload_iam_roles`` answers "which workload can act as which IAM role": through its
ServiceAccount's IRSA annotation (``eks.amazonaws.com/role-arn``), an EKS Pod Identity
association, or an add-on's ``serviceAccountRoleArn``.

The statement-level helpers at the end (:func:`statement_risks`) name risks per statement;
:func:`escalation_methods` uses the IAM policy engine ``zt_toolkit.analysis.iam`` (the
escalation-method table lives there).
"""

from __future__ import annotations

import fnmatch
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

import orjson
import pandas as pd
import pandera.pandas as pa

from zt_toolkit.analysis.iam import ESCALATION_METHODS, analyze_policy
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames import Frames, frame, from_rows

_KEY = {"kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str)}

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
MASTERS = "system:masters"


def role_name_of(arn: Any) -> str | None:
    """Return the role name of a role ARN (``arn:aws:iam::1:role/path/name`` → ``name``)."""
    if not isinstance(arn, str) or ":role/" not in arn:
        return None
    return arn.rsplit("/", 1)[-1]


def principal_kind_of(arn: Any) -> str:
    """``role``, ``user``, ``root``, ``assumed-role``, ``account`` or ``other`` for an ARN."""
    if not isinstance(arn, str):
        return "other"
    if re.fullmatch(r"\d{12}", arn):
        return "account"
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else ""
    if resource == "root":
        return "root"
    for kind in ("role", "user", "assumed-role"):
        if resource.startswith(f"{kind}/"):
            return kind
    return "other"


# ------------------------------------------------------------------------------------------
# EKS access entries
# ------------------------------------------------------------------------------------------
ACCESS_ENTRY_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "principal_arn": "str",
    "principal_kind": "str", "type": "string", "username": "string",
    "kubernetes_groups": "object", "policies": "object", "cluster_admin": "bool",
    "created_at": "string",
}


@frame("access_entries", sources=("aws/eks/list_access_entries", "aws/eks/describe_access_entry",
                                  "aws/eks/list_associated_access_policies"),
       schema=pa.DataFrameSchema({
           **_KEY,
           "principal_kind": pa.Column(str, description="role, user, root, assumed-role, other"),
           "type": pa.Column("string", nullable=True,
                             description="STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX ..."),
           "kubernetes_groups": pa.Column(object, description="a tuple"),
           "policies": pa.Column(object, description="tuple of {policy_arn, policy_name, "
                                                      "scope_type, namespaces}"),
           "cluster_admin": pa.Column(bool, description="AmazonEKSClusterAdminPolicy at cluster "
                                                        "scope, or the group system:masters"),
       }))
def build_access_entries(frames: Frames) -> pd.DataFrame:
    """One row per EKS access entry, with its Kubernetes groups and associated access policies.

    Entries listed by ``list_access_entries`` but not described still get a row (type unknown).
    A cluster in ``CONFIG_MAP`` mode has no access entries (the API answers with an error).
    """
    snap = frames.snapshot
    arns: dict[str, None] = {}
    for rec in snap.aws("eks", "list_access_entries"):
        for arn in (rec.get("response") or {}).get("accessEntries") or ():
            arns[arn] = None
    described: dict[str, dict[str, Any]] = {}
    for rec in snap.aws("eks", "describe_access_entry"):
        entry = (rec.get("response") or {}).get("accessEntry")
        if entry and entry.get("principalArn"):
            described[entry["principalArn"]] = entry
            arns.setdefault(entry["principalArn"], None)
    policies: dict[str, list[dict[str, Any]]] = {}
    for rec in snap.aws("eks", "list_associated_access_policies"):
        resp = rec.get("response") or {}
        arn = resp.get("principalArn") or rec.get("params", {}).get("principalArn")
        for p in resp.get("associatedAccessPolicies") or ():
            scope = p.get("accessScope") or {}
            policies.setdefault(arn, []).append({
                "policy_arn": p.get("policyArn", ""),
                "policy_name": str(p.get("policyArn", "")).rsplit("/", 1)[-1],
                "scope_type": scope.get("type", ""),
                "namespaces": tuple(scope.get("namespaces") or ()),
            })
    rows = []
    for arn in arns:
        entry = described.get(arn, {})
        groups = tuple(entry.get("kubernetesGroups") or ())
        pols = tuple(policies.get(arn, ()))
        admin = MASTERS in groups or any(
            p["policy_arn"] == CLUSTER_ADMIN_POLICY and p["scope_type"] == "cluster"
            for p in pols)
        rows.append({
            "kind": "AccessEntry", "namespace": "", "name": arn, "principal_arn": arn,
            "principal_kind": principal_kind_of(arn), "type": entry.get("type"),
            "username": entry.get("username"), "kubernetes_groups": groups, "policies": pols,
            "cluster_admin": admin,
            "created_at": None if entry.get("createdAt") is None else str(entry["createdAt"]),
        })
    return from_rows(rows, ACCESS_ENTRY_COLUMNS)


# ------------------------------------------------------------------------------------------
# IAM roles and policy documents
# ------------------------------------------------------------------------------------------
def parse_policy_document(doc: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Read a policy document: a dict, a JSON string or a URL-encoded JSON string.

    >>> parse_policy_document('%7B%22Version%22%3A%222012-10-17%22%7D')
    ({'Version': '2012-10-17'}, None)
    """
    if doc is None:
        return None, "no document"
    if isinstance(doc, dict):
        return doc, None
    if not isinstance(doc, str):
        return None, f"document is a {type(doc).__name__}"
    for text in (doc, urllib.parse.unquote(doc)):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value, None
    return None, "document is neither JSON nor URL-encoded JSON"


def _error_text(rec: dict[str, Any]) -> str:
    err = rec.get("error") or {}
    return f"{err.get('code', 'error')}: {err.get('message', '')}".rstrip(": ")


IAM_ROLE_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "arn": "string", "path": "string",
    "trust_policy": "object", "attached_policies": "object", "inline_policies": "object",
    "error": "string", "policies_error": "string",
}


@frame("iam_roles", sources=("aws/iam/get_role", "aws/iam/list_attached_role_policies",
                             "aws/iam/list_role_policies"),
       schema=pa.DataFrameSchema({
           **_KEY,
           "kind": pa.Column(str, pa.Check.eq("IAMRole")),
           "name": pa.Column(str, description="role name (no path)"),
           "trust_policy": pa.Column(object, nullable=True,
                                     description="AssumeRolePolicyDocument as a dict"),
           "attached_policies": pa.Column(object, description=(
               "tuple of {policy_arn, policy_name, document, error}; document from the "
               "policy's default version")),
           "inline_policies": pa.Column(object,
                                        description="tuple of {policy_name, document, error}"),
           "error": pa.Column("string", nullable=True,
                              description="get_role error (NoSuchEntity, AccessDenied ...)"),
           "policies_error": pa.Column("string", nullable=True,
                                       description="why the role's policy lists are incomplete"),
       }))
def build_iam_roles(frames: Frames) -> pd.DataFrame:
    """One row per IAM role read with ``get_role``: trust policy, attached and inline policies.

    A document that was not collected or cannot be parsed is ``None`` with the reason in the
    policy's ``error``; a role that ``get_role`` could not read has ``error`` set.

    Examples
    --------
    >>> roles = frames.iam_roles                                     # doctest: +SKIP
    >>> roles.set_index("name").trust_policy["acme-storefront-api"]  # doctest: +SKIP
    """
    snap = frames.snapshot
    policy_default: dict[str, str] = {}
    policy_error: dict[str, str] = {}
    for rec in snap.aws("iam", "get_policy"):
        arn = rec.get("params", {}).get("PolicyArn")
        pol = (rec.get("response") or {}).get("Policy")
        if pol:
            policy_default[pol.get("Arn", arn)] = pol.get("DefaultVersionId", "")
        elif arn:
            policy_error[arn] = _error_text(rec)
    versions: dict[tuple[str, str], tuple[Any, str | None]] = {}
    defaults: dict[str, tuple[Any, str | None]] = {}
    for rec in snap.aws("iam", "get_policy_version"):
        params = rec.get("params", {})
        arn, vid = params.get("PolicyArn"), params.get("VersionId")
        pv = (rec.get("response") or {}).get("PolicyVersion")
        value = (pv.get("Document"), None) if pv else (None, _error_text(rec))
        versions[(arn, pv.get("VersionId", vid) if pv else vid)] = value
        if pv and pv.get("IsDefaultVersion"):
            defaults[arn] = value
    attached: dict[str, list[dict[str, Any]]] = {}
    listed: dict[tuple[str, str], str | None] = {}  # (operation, role) -> error
    for rec in snap.aws("iam", "list_attached_role_policies"):
        role = rec.get("params", {}).get("RoleName")
        listed[("attached", role)] = _error_text(rec) if "error" in rec else None
        for p in (rec.get("response") or {}).get("AttachedPolicies") or ():
            arn = p.get("PolicyArn", "")
            if arn in policy_default and (arn, policy_default[arn]) in versions:
                raw, err = versions[(arn, policy_default[arn])]
            elif arn in defaults:
                raw, err = defaults[arn]
            else:
                raw, err = None, policy_error.get(arn, "policy document not collected")
            doc, perr = parse_policy_document(raw) if err is None else (None, err)
            attached.setdefault(role, []).append({
                "policy_arn": arn, "policy_name": p.get("PolicyName") or arn.rsplit("/", 1)[-1],
                "document": doc, "error": perr})
    inline_docs: dict[tuple[str, str], tuple[Any, str | None]] = {}
    for rec in snap.aws("iam", "get_role_policy"):
        params = rec.get("params", {})
        resp = rec.get("response")
        key = (params.get("RoleName"), params.get("PolicyName"))
        inline_docs[key] = (resp.get("PolicyDocument"), None) if resp else (None,
                                                                          _error_text(rec))
    inline: dict[str, list[dict[str, Any]]] = {}
    for rec in snap.aws("iam", "list_role_policies"):
        role = rec.get("params", {}).get("RoleName")
        listed[("inline", role)] = _error_text(rec) if "error" in rec else None
        for name in (rec.get("response") or {}).get("PolicyNames") or ():
            raw, err = inline_docs.get((role, name), (None, "policy document not collected"))
            doc, perr = parse_policy_document(raw) if err is None else (None, err)
            inline.setdefault(role, []).append({"policy_name": name, "document": doc,
                                                "error": perr})
    rows = []
    for rec in snap.aws("iam", "get_role"):
        requested = rec.get("params", {}).get("RoleName", "")
        role = (rec.get("response") or {}).get("Role")
        if not role:
            rows.append({"kind": "IAMRole", "namespace": "", "name": requested,
                         "trust_policy": None, "attached_policies": (), "inline_policies": (),
                         "error": _error_text(rec), "policies_error": None})
            continue
        name = role.get("RoleName") or requested
        trust, _ = parse_policy_document(role.get("AssumeRolePolicyDocument"))
        gaps = []
        for what, op in (("attached", "list_attached_role_policies"),
                         ("inline", "list_role_policies")):
            if (what, name) not in listed:
                gaps.append(f"{op} not collected")
            elif listed[(what, name)]:
                gaps.append(f"{op}: {listed[(what, name)]}")
        rows.append({
            "kind": "IAMRole", "namespace": "", "name": name, "arn": role.get("Arn"),
            "path": role.get("Path"), "trust_policy": trust,
            "attached_policies": tuple(attached.get(name, ())),
            "inline_policies": tuple(inline.get(name, ())), "error": None,
            "policies_error": "; ".join(gaps) or None,
        })
    return from_rows(rows, IAM_ROLE_COLUMNS).drop_duplicates(subset=["name"]).reset_index(
        drop=True)


def _listify(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):  # Principal {"AWS": [...]} is handled by the caller
        return ()
    return tuple(str(v) for v in value)


def statements_of(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return the statements of a policy document (a lone statement object is a list of one)."""
    if not document:
        return []
    st = document.get("Statement")
    if isinstance(st, dict):
        return [st]
    return [s for s in st or () if isinstance(s, dict)]


STATEMENT_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "policy_type": "str",
    "policy_name": "str", "policy_arn": "string", "statement_index": "int64", "sid": "string",
    "effect": "str", "actions": "object", "not_actions": "object", "resources": "object",
    "not_resources": "object", "has_condition": "bool", "label": "str",
}


@frame("iam_role_statements", sources=("aws/iam/get_role", "aws/iam/list_attached_role_policies",
                                       "aws/iam/list_role_policies"))
def build_iam_role_statements(frames: Frames) -> pd.DataFrame:
    """One row per statement of every permission policy (attached or inline) of every role.

    ``actions``/``resources`` are tuples as written (one string becomes a one-item tuple);
    ``label`` names the statement for a finding: ``policy "s3-access" statement "ReadAll"``.
    """
    rows = []
    for role in frames.iam_roles.itertuples(index=False):
        for ptype, policies in (("managed", role.attached_policies),
                                ("inline", role.inline_policies)):
            for pol in policies:
                for i, st in enumerate(statements_of(pol.get("document"))):
                    sid = st.get("Sid") or None
                    rows.append({
                        "kind": "IAMRole", "namespace": "", "name": role.name,
                        "policy_type": ptype, "policy_name": pol["policy_name"],
                        "policy_arn": pol.get("policy_arn"), "statement_index": i, "sid": sid,
                        "effect": str(st.get("Effect", "")),
                        "actions": _listify(st.get("Action")),
                        "not_actions": _listify(st.get("NotAction")),
                        "resources": _listify(st.get("Resource")),
                        "not_resources": _listify(st.get("NotResource")),
                        "has_condition": bool(st.get("Condition")),
                        "label": f'policy "{pol["policy_name"]}" statement '
                                 + (f'"{sid}"' if sid else f"#{i + 1}"),
                    })
    return from_rows(rows, STATEMENT_COLUMNS)


# ------------------------------------------------------------------------------------------
# who assumes which role
# ------------------------------------------------------------------------------------------
#: The ServiceAccount an add-on's ``serviceAccountRoleArn`` is applied to (EKS add-on docs).
ADDON_SERVICE_ACCOUNTS = {
    "vpc-cni": ("kube-system", "aws-node"),
    "aws-ebs-csi-driver": ("kube-system", "ebs-csi-controller-sa"),
    "aws-efs-csi-driver": ("kube-system", "efs-csi-controller-sa"),
    "aws-mountpoint-s3-csi-driver": ("kube-system", "s3-csi-driver-sa"),
    "amazon-cloudwatch-observability": ("amazon-cloudwatch", "cloudwatch-agent"),
    "adot": ("opentelemetry-operator-system", "opentelemetry-operator"),
}
SA_ROLE_COLUMNS = {
    "namespace": "str", "service_account": "str", "role_arn": "string", "role_name": "string",
    "source": "str", "detail": "str",
}
IRSA_SOURCES = ("irsa", "addon")  # an add-on's serviceAccountRoleArn is IRSA underneath


@frame("service_account_iam_roles",
       sources=("k8s/serviceaccounts", "aws/eks/list_pod_identity_associations",
                "aws/eks/describe_addon"),
       schema=pa.DataFrameSchema({
           "source": pa.Column(str, pa.Check.isin(["irsa", "pod_identity", "addon"])),
           "role_arn": pa.Column("string", nullable=True,
                                 description="NA when a Pod Identity association was not "
                                             "described"),
       }))
def build_service_account_iam_roles(frames: Frames) -> pd.DataFrame:
    """One row per (ServiceAccount, IAM role, source): IRSA, Pod Identity or add-on role.

    Sources: the ServiceAccount's IRSA annotation, an EKS Pod Identity association, or an EKS
    add-on's ``serviceAccountRoleArn``.

    An add-on whose ServiceAccount is not known here is listed with an empty ServiceAccount.
    """
    snap = frames.snapshot
    rows = []
    sas = frames.service_accounts
    for sa in sas[sas["role_arn"].notna()].itertuples(index=False):
        rows.append({"namespace": sa.namespace, "service_account": sa.name,
                     "role_arn": sa.role_arn, "source": "irsa",
                     "detail": "annotation eks.amazonaws.com/role-arn"})
    described = {}
    for rec in snap.aws("eks", "describe_pod_identity_association"):
        a = (rec.get("response") or {}).get("association")
        if a and a.get("associationId"):
            described[a["associationId"]] = a
    listed = {}
    for rec in snap.aws("eks", "list_pod_identity_associations"):
        for a in (rec.get("response") or {}).get("associations") or ():
            listed[a.get("associationId") or a.get("associationArn")] = a
    for assoc_id, a in {**listed, **described}.items():
        a = described.get(assoc_id, a)
        rows.append({"namespace": a.get("namespace", ""),
                     "service_account": a.get("serviceAccount", ""),
                     "role_arn": a.get("roleArn"), "source": "pod_identity",
                     "detail": f"Pod Identity association {assoc_id}"})
    for addon in frames.eks_addons.itertuples(index=False):
        if isinstance(addon.service_account_role_arn, str):
            ns, sa = ADDON_SERVICE_ACCOUNTS.get(addon.name, ("", ""))
            rows.append({"namespace": ns, "service_account": sa,
                         "role_arn": addon.service_account_role_arn, "source": "addon",
                         "detail": f"add-on {addon.name} serviceAccountRoleArn"})
    df = from_rows(rows, SA_ROLE_COLUMNS)
    df["role_name"] = df["role_arn"].map(role_name_of).astype("string")
    return df.drop_duplicates(subset=["namespace", "service_account", "role_arn", "source"]
                              ).reset_index(drop=True)


WORKLOAD_ROLE_COLUMNS = ["kind", "namespace", "name", "service_account", "role_arn", "role_name",
                         "source", "detail"]


@frame("workload_iam_roles",
       sources=("k8s/serviceaccounts", "aws/eks/list_pod_identity_associations",
                "aws/eks/describe_addon"))
def build_workload_iam_roles(frames: Frames) -> pd.DataFrame:
    """One row per (workload, IAM role, source): which workload can act as which role.

    A workload assumes the roles of its ServiceAccount (``service_account_iam_roles``).

    Examples
    --------
    >>> roles = frames.workload_iam_roles                            # doctest: +SKIP
    >>> roles[["kind", "namespace", "name", "role_name", "source"]]  # doctest: +SKIP
    """
    w = frames.workloads[["kind", "namespace", "name", "service_account"]]
    roles = frames.service_account_iam_roles
    return w.merge(roles, on=["namespace", "service_account"], how="inner")[
        WORKLOAD_ROLE_COLUMNS].reset_index(drop=True)


NODE_ROLE_COLUMNS = {"role_arn": "str", "role_name": "str", "source": "str"}


@frame("node_iam_roles", sources=("aws/eks/describe_nodegroup", "aws/eks/describe_access_entry",
                                  "k8s/configmaps"), any_source=True)
def build_node_iam_roles(frames: Frames) -> pd.DataFrame:
    """One row per (node IAM role, where it was found).

    Found in managed node groups' ``nodeRole``, access entries of type ``EC2_LINUX`` /
    ``EC2_WINDOWS``, and aws-auth role mappings to ``system:nodes``.
    """
    rows = []
    snap = frames.snapshot
    for ng in frames.eks_nodegroups.itertuples(index=False):
        if isinstance(ng.node_role_arn, str):
            rows.append({"role_arn": ng.node_role_arn, "source": f"node group {ng.name}"})
    if snap.coverage("aws/eks/describe_access_entry").ok:
        for rec in snap.aws("eks", "describe_access_entry"):
            e = (rec.get("response") or {}).get("accessEntry") or {}
            if e.get("type") in ("EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX"):
                rows.append({"role_arn": e.get("principalArn", ""),
                             "source": f"access entry {e.get('type')}"})
    if snap.coverage("k8s/configmaps").ok:
        auth = frames.aws_auth
        nodes = auth[(auth["map_type"] == "role") & auth["arn"].notna()
                     & auth["groups"].map(lambda g: "system:nodes" in g)]
        rows += [{"role_arn": arn, "source": "aws-auth system:nodes"} for arn in nodes["arn"]]
    for row in rows:
        row["role_name"] = role_name_of(row["role_arn"]) or row["role_arn"]
    return from_rows(rows, NODE_ROLE_COLUMNS).drop_duplicates().reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# statement analysis (first version of the IAM policy engine)
# ------------------------------------------------------------------------------------------
#: Reads of data that matter on every resource (cloudsplaining's data exfiltration + KMS/DDB).
DATA_ACCESS_ACTIONS = (
    "s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "ssm:GetParameter",
    "ssm:GetParameters", "ssm:GetParametersByPath", "kms:Decrypt", "dynamodb:GetItem",
    "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "rds-db:connect",
)
_ALL_OF_TYPE = re.compile(r"^(?:[\w.-]+[:/])?\*(?:/\*)?$")


def is_all_resources(resources: Iterable[str]) -> bool:
    """Tell whether a statement's resources include every resource of a kind.

    ``*``, or an ARN whose resource part is ``*``, ``*/*`` or ``<type>:*`` / ``<type>/*``:
    ``arn:aws:s3:::*``, ``arn:aws:secretsmanager:eu-west-1:1:secret:*``, ``arn:aws:dynamodb:*:*:*``
    (for S3 the first path segment is a bucket name: ``arn:aws:s3:::orders/*`` is one bucket).
    """
    for r in resources:
        if r == "*":
            return True
        parts = r.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            continue
        if parts[2] == "s3":
            if parts[5] in ("*", "*/*"):
                return True
        elif _ALL_OF_TYPE.match(parts[5]):
            return True
    return False


def action_allowed(patterns: Iterable[str], action: str) -> bool:
    """Tell whether an action (``s3:GetObject``) matches any action pattern (``s3:Get*``)."""
    action = action.lower()
    return any(fnmatch.fnmatchcase(action, p.lower()) for p in patterns)


def statement_risks(st: Any) -> list[str]:
    """Risks of one Allow statement (a row of ``iam_role_statements``), as short phrases.

    Admin (``*`` on ``*``), a whole service (``s3:*``), ``Allow`` with ``NotAction``,
    ``iam:PassRole`` on every role, and reads of data on every resource. Escalation needs the
    union of a role's statements: see :func:`escalation_methods`.
    """
    if str(st.effect).lower() != "allow":
        return []
    risks = []
    everything = is_all_resources(st.resources)
    actions = tuple(a.lower() for a in st.actions)
    if st.not_actions:
        risks.append("Allow with NotAction " + ", ".join(st.not_actions))
    if "*" in actions or "*:*" in actions:
        risks.append("admin: every action" + (" on every resource" if everything else ""))
    services = sorted({a for a in actions if a.endswith(":*") and a != "*:*"})
    if services:
        risks.append("every action of " + ", ".join(services))
    if everything and not risks:
        if action_allowed(st.actions, "iam:PassRole"):
            risks.append("iam:PassRole on every role")
        data = [a for a in DATA_ACCESS_ACTIONS if action_allowed(st.actions, a)]
        if data:
            risks.append("data access on every resource: " + ", ".join(data))
    return risks


def escalation_methods(statements: pd.DataFrame, *, every_resource_only: bool = False
                       ) -> list[str]:
    """Privilege-escalation methods the statements of one role make possible together.

    Computed by :func:`zt_toolkit.analysis.iam.analyze_policy` over the IAM action database:
    wildcards expand to real actions, ``Allow`` with ``NotAction`` grants every other action,
    an unconditional ``Deny`` on every resource removes its actions. On any resource by default
    (a role that may rewrite the policy of one assumable role escalates too); with
    ``every_resource_only`` only statements on every resource count (cloudsplaining's default,
    ARN wildcards such as ``arn:aws:iam::*:role/*`` included).
    """
    document = {"Statement": [_statement_document(st)
                              for st in statements.itertuples(index=False)]}
    risk = analyze_policy(document, flag_conditional_statements=True,
                          flag_resource_arn_statements=not every_resource_only,
                          every_resource_arns=every_resource_only)
    return [f"{name} ({' + '.join(needed)})" for name, needed in ESCALATION_METHODS.items()
            if name in risk.privilege_escalation]


def _statement_document(st: Any) -> dict[str, Any]:
    """A policy statement back from a row of ``iam_role_statements`` (conditions as a marker)."""
    doc: dict[str, Any] = {"Effect": str(st.effect)}
    if st.not_actions and not st.actions:
        doc["NotAction"] = list(st.not_actions)
    else:
        doc["Action"] = list(st.actions)
    if st.not_resources and not st.resources:
        doc["NotResource"] = list(st.not_resources)
    else:
        doc["Resource"] = list(st.resources)
    if st.has_condition:
        doc["Condition"] = {"Unknown": {"condition": "present"}}
    return doc


# ------------------------------------------------------------------------------------------
# helpers the identity checks share
# ------------------------------------------------------------------------------------------
def described_cluster(frames: Frames) -> pd.DataFrame:
    """Return the ``eks_cluster`` rows; raise NotAssessed when describe_cluster gave none."""
    clusters = frames.eks_cluster
    if clusters.empty:
        errors = [_error_text(r) for r in frames.snapshot.aws("eks", "describe_cluster")
                  if "error" in r]
        raise NotAssessed("describe_cluster returned no cluster"
                          + (f": {'; '.join(errors)}" if errors else ""))
    return clusters


def authentication_mode(frames: Frames) -> str | None:
    """Return ``accessConfig.authenticationMode`` (None when describe_cluster was not read)."""
    if not frames.snapshot.coverage("aws/eks/describe_cluster").ok:
        return None
    modes = frames.eks_cluster["authentication_mode"].dropna()
    return str(modes.iloc[0]) if len(modes) else None


def missing_documents(role: Any) -> list[str]:
    """Name the policies of an ``iam_roles`` row whose document could not be read."""
    missing = [f'"{p["policy_name"]}" ({p["error"]})'
               for p in (*role.attached_policies, *role.inline_policies) if p.get("error")]
    gaps = getattr(role, "policies_error", None)
    return [*missing, *([f"policy list ({gaps})"] if isinstance(gaps, str) else [])]


def role_risks(statements: pd.DataFrame) -> list[str]:
    """Risky grants of one role's permission statements, each naming its statement.

    Per statement: :func:`statement_risks`; over the role: :func:`escalation_methods` (listed
    only when no statement already grants every action).
    """
    found = []
    admin = False
    for st in statements.itertuples(index=False):
        for risk in statement_risks(st):
            admin = admin or risk.startswith("admin")
            found.append(f"{st.label}: {risk}")
    if not admin:
        methods = escalation_methods(statements)
        if methods:
            more = f" and {len(methods) - 4} more" if len(methods) > 4 else ""
            found.append("privilege escalation: " + ", ".join(methods[:4]) + more)
    return found


def iam_role_rows(frames: Frames, role_names: Iterable[str]) -> pd.DataFrame:
    """Return the ``iam_roles`` rows of the named roles; a name with no row gets ``error``."""
    roles = frames.iam_roles.set_index("name", drop=False)
    rows = []
    for name in dict.fromkeys(role_names):
        if name in roles.index:
            rows.append(roles.loc[name].to_dict())
        else:
            rows.append({"kind": "IAMRole", "namespace": "", "name": name, "arn": None,
                         "path": None, "trust_policy": None, "attached_policies": (),
                         "inline_policies": (), "error": "not collected (no get_role record)",
                         "policies_error": None})
    return from_rows(rows, IAM_ROLE_COLUMNS)


def aws_errors(frames: Frames, service: str, operation: str) -> list[str]:
    """Return the error records of one AWS operation as ``code: message`` texts."""
    return [_error_text(r) for r in frames.snapshot.aws(service, operation) if "error" in r]
