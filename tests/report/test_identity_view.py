"""The identity view of issue 7: who is cluster admin, the IRSA map, migration to access entries.

On the demo (aws-auth with a system:masters user, access entries, the bootstrap creator, RBAC
cluster-admin bindings) and on small hand-built snapshots: a malformed aws-auth, API mode,
scoped access policies, hostile ARNs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.checks.casefiles import build_case_frames
from zt_toolkit.assessment import Assessment
from zt_toolkit.checks import run_checks
from zt_toolkit.report import charts, notebook, tables

EVIL = "<script>alert(1)</script>"
ACCT = "111122223333"


def assessment_of(case: dict, tmp: Path) -> Assessment:
    frames = build_case_frames(case, tmp)
    return Assessment(frames.snapshot, frames.config, frames, run_checks(frames))


def aws_auth(**data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data}


def cluster(mode: str, bootstrap: bool = False) -> dict:
    return {"eks/describe_cluster": [{"params": {"name": "case-cluster"}, "response": {"cluster": {
        "name": "case-cluster", "arn": f"arn:aws:eks:eu-west-1:{ACCT}:cluster/case-cluster",
        "createdAt": "2025-01-01T00:00:00+00:00",
        "accessConfig": {"authenticationMode": mode,
                         "bootstrapClusterCreatorAdminPermissions": bootstrap}}}}]}


def entries(*specs: tuple[str, list[str], list[tuple[str, str, list[str]]]]) -> dict:
    """Access entry records: (principal ARN, kubernetesGroups, [(policy, scope, namespaces)])."""
    listed = [a for a, _, _ in specs]
    out = {"eks/list_access_entries": [{"params": {"clusterName": "case-cluster"},
                                        "response": {"accessEntries": listed}}],
           "eks/describe_access_entry": [], "eks/list_associated_access_policies": []}
    for arn, groups, policies in specs:
        out["eks/describe_access_entry"].append({
            "params": {"clusterName": "case-cluster", "principalArn": arn},
            "response": {"accessEntry": {"principalArn": arn, "type": "STANDARD",
                                         "kubernetesGroups": groups, "username": arn,
                                         "createdAt": "2025-06-01T00:00:00+00:00"}}})
        out["eks/list_associated_access_policies"].append({
            "params": {"clusterName": "case-cluster", "principalArn": arn},
            "response": {"principalArn": arn, "associatedAccessPolicies": [
                {"policyArn": f"arn:aws:eks::aws:cluster-access-policy/{p}",
                 "accessScope": {"type": scope, "namespaces": ns}}
                for p, scope, ns in policies]}})
    return out


def rows_of(df, principal: str) -> list[dict]:
    return df[df["principal"] == principal].to_dict("records")


# ------------------------------------------------------------------------------------------
# who is cluster admin
# ------------------------------------------------------------------------------------------
def test_demo_cluster_admins_per_principal(demo):
    df = tables.summarize_cluster_admins(demo)
    assert list(df.columns) == tables.CLUSTER_ADMIN_COLUMNS
    assert "API_AND_CONFIG_MAP" in df.attrs["note"]

    jenkins = rows_of(df, f"arn:aws:iam::{ACCT}:user/jenkins")
    assert [r["via"] for r in jenkins] == ["aws-auth"]  # not again through the RBAC binding
    assert "system:masters bypasses RBAC" in jenkins[0]["rights"]
    assert jenkins[0]["evidence"].startswith("aws-auth mapUsers[0]")
    assert jenkins[0]["kubernetes_identity"] == "user jenkins; groups system:masters"

    ops = rows_of(df, f"arn:aws:iam::{ACCT}:user/ops-admin")
    assert [r["via"] for r in ops] == ["access entry"]
    assert "AmazonEKSClusterAdminPolicy at cluster scope" in ops[0]["rights"]

    terraform = {r["via"] for r in rows_of(df, f"arn:aws:iam::{ACCT}:role/acme-terraform")}
    assert terraform == {"access entry", "bootstrap"}  # the creator's entry, told apart

    platform = rows_of(df, f"arn:aws:iam::{ACCT}:role/acme-platform-admin")
    assert [r["via"] for r in platform] == ["aws-auth + RBAC binding"]
    assert platform[0]["rights"] == "cluster admin through Group acme:platform-admins"
    assert 'ClusterRoleBinding "platform-admins"' in platform[0]["evidence"]

    sa = rows_of(df, "ServiceAccount legacy-batch/report-runner")
    assert [r["via"] for r in sa] == ["RBAC binding"]
    assert 'ClusterRoleBinding "report-runner-admin"' in sa[0]["evidence"]

    # viewers, on-call and node roles are not admins
    for name in ("role/acme-developers", "role/acme-oncall", "role/acme-shop-prod-general-node"):
        assert not rows_of(df, f"arn:aws:iam::{ACCT}:{name}")


def test_malformed_aws_auth_is_a_row_not_a_crash(tmp_path):
    a = assessment_of({"k8s": [aws_auth(
        mapRoles="- rolearn: arn:aws:iam::1:role/x\n\tgroups: [a]\n",
        mapUsers=f"- userarn: arn:aws:iam::{ACCT}:user/ann\n  groups: [system:masters]\n"
                 "- groups: [system:masters]\n",
    )], "aws": cluster("API_AND_CONFIG_MAP")}, tmp_path)
    df = tables.summarize_cluster_admins(a)
    unreadable = df[df["rights"].str.startswith("unknown")]
    assert sorted(unreadable["evidence"]) == [
        "aws-auth: mapRoles is not valid YAML: found character '\\t' that cannot start any "
        "token (line 2)", "aws-auth: mapUsers[1] has no userarn"]
    ann = rows_of(df, f"arn:aws:iam::{ACCT}:user/ann")
    assert len(ann) == 1 and "system:masters" in ann[0]["rights"]
    advice = notebook.narrate_access_entry_migration(a).data
    assert "- `mapRoles`: mapRoles is not valid YAML" in advice
    assert "- `mapUsers[1]`: mapUsers\\[1\\] has no userarn" in advice


def test_api_mode_ignores_aws_auth_and_scoped_policies_are_not_admin(tmp_path):
    dev, edit, adm = (f"arn:aws:iam::{ACCT}:role/{n}" for n in ("dev", "edit", "adm"))
    a = assessment_of({"k8s": [aws_auth(
        mapRoles=f"- rolearn: arn:aws:iam::{ACCT}:role/old\n  groups: [system:masters]\n")],
        "aws": {**cluster("API", bootstrap=False), **entries(
            (dev, [], [("AmazonEKSClusterAdminPolicy", "namespace", ["dev"])]),
            (edit, [], [("AmazonEKSEditPolicy", "cluster", [])]),
            (adm, [], [("AmazonEKSAdminPolicy", "cluster", [])]))}}, tmp_path)
    df = tables.summarize_cluster_admins(a)
    assert not rows_of(df, f"arn:aws:iam::{ACCT}:role/old")
    assert "aws-auth is not read in API mode" in df.attrs["note"]
    assert not rows_of(df, dev) and not rows_of(df, edit)  # namespace scope; not admin policy
    assert rows_of(df, adm)[0]["rights"].startswith("admin of every namespace")
    assert "bootstrap" not in set(df["via"])


def test_access_entry_groups_bound_to_cluster_admin_are_admins(tmp_path):
    ops = f"arn:aws:iam::{ACCT}:role/ops"
    a = assessment_of({"k8s": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "root-like"},
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "ops-root"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "root-like"},
         "subjects": [{"kind": "Group", "name": "acme:ops"}]}],
        "aws": {**cluster("API", bootstrap=True), **entries((ops, ["acme:ops"], []))}}, tmp_path)
    df = tables.summarize_cluster_admins(a)
    row = rows_of(df, ops)
    assert [r["via"] for r in row] == ["access entry + RBAC binding"]
    assert row[0]["rights"] == "cluster admin through Group acme:ops"
    group = rows_of(df, "Group acme:ops")
    assert group[0]["rights"] == "cluster admin (a copy of cluster-admin's rule)"
    boot = df[df["via"] == "bootstrap"]
    assert boot["principal"].tolist() == ["the IAM principal that created the cluster"]


# ------------------------------------------------------------------------------------------
# migration advice
# ------------------------------------------------------------------------------------------
def code_blocks(markdown: str) -> str:
    return "\n".join(m[1] for m in re.findall(r"(`{3,})sh\n(.*?)\n\1", markdown, flags=re.S))


def test_demo_migration_commands(demo):
    text = notebook.narrate_access_entry_migration(demo).data
    code = code_blocks(text)
    jenkins = f"arn:aws:iam::{ACCT}:user/jenkins"
    assert (f"aws eks --region eu-west-1 create-access-entry --cluster-name acme-shop-prod "
            f"--principal-arn {jenkins} --type STANDARD --username 'jenkins'") in code
    assert (f"associate-access-policy --cluster-name acme-shop-prod --principal-arn {jenkins} "
            "--policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy "
            "--access-scope type=cluster") in code
    assert (f"--principal-arn arn:aws:iam::{ACCT}:role/acme-platform-admin --type STANDARD "
            "--kubernetes-groups acme:platform-admins") in code
    # the node roles already have EC2_LINUX entries: nothing to create
    assert "acme-shop-prod-general-node --type" not in code
    assert text.count("already has an access entry") == 2
    assert "update-cluster-config --name acme-shop-prod --access-config authenticationMode=API" \
        in code
    assert "authenticationMode=API_AND_CONFIG_MAP" not in code  # already there


def test_migration_keeps_hostile_text_out_of_code_blocks(tmp_path):
    a = assessment_of({"k8s": [aws_auth(mapRoles=(
        f"- rolearn: 'arn:aws:iam::{ACCT}:role/x{EVIL}'\n  groups: [a]\n"
        f"- rolearn: arn:aws:iam::{ACCT}:role/team\n  username: '{EVIL}'\n"
        "  groups: [system:monitoring, 'team:{EVIL}', team-a]\n"
        f"- rolearn: arn:aws:iam::{ACCT}:role/node\n  groups: [system:bootstrappers, "
        "system:nodes]\n"), mapAccounts=f"- '{ACCT}'\n")],
        "aws": cluster("CONFIG_MAP")}, tmp_path)
    text = notebook.narrate_access_entry_migration(a).data
    code = code_blocks(text)
    assert "<script>" not in text and "script" not in code
    assert "is not an IAM role or user ARN" in text
    assert (f"create-access-entry --cluster-name case-cluster --principal-arn "
            f"arn:aws:iam::{ACCT}:role/team --type STANDARD --kubernetes-groups team-a") in code
    assert "EKS refuses these groups" in text and "system\\:monitoring" in text
    assert f"--principal-arn arn:aws:iam::{ACCT}:role/node --type EC2_LINUX" in code
    assert "mapAccounts lets every IAM principal" in text
    assert code.index("authenticationMode=API_AND_CONFIG_MAP") < code.index(
        "authenticationMode=API\n")


# ------------------------------------------------------------------------------------------
# IRSA map and compromise reach
# ------------------------------------------------------------------------------------------
def test_demo_irsa_map_per_workload(demo):
    df = tables.summarize_irsa_map(demo).set_index(["workload", "iam_role"])
    api = df.loc[("Deployment storefront/api", "acme-storefront-api")]
    assert api["service_account"] == "storefront/api" and api["role_source"] == "irsa"
    assert api["aws_categories"] == "whole service, PassRole on every role"
    assert "s3:*" in api["aws_risks"]
    assert api["k8s_rights"] == "read secrets"
    batch = df.loc[("CronJob legacy-batch/nightly-report", "")]
    assert batch["k8s_rights"].startswith("cluster admin, read secrets")
    assert batch["aws_category_count"] == 0
    orders = df.loc[("Deployment storefront/orders", "acme-storefront-orders")]
    assert orders["role_source"] == "pod_identity"
    fraud = df.loc[("Deployment payments/fraud-scorer", "acme-payments-fraud-scorer")]
    assert not fraud["token_mounted"] and fraud["k8s_right_count"] == 0
    ebs = df.loc[("Deployment kube-system/ebs-csi-controller", "acme-shop-prod-ebs-csi")]
    assert ebs["role_source"] == "irsa, addon"
    assert df.index[0] == ("CronJob legacy-batch/nightly-report", "")  # most reach first


def test_compromise_reach_chart(demo):
    fig = charts.plot_compromise_reach(demo)
    assert [tr.name for tr in fig.data] == ["Risky Kubernetes rights (classes)",
                                            "Risky AWS action categories"]
    k8s = dict(zip(fig.data[0].y, fig.data[0].x, strict=True))
    aws = dict(zip(fig.data[1].y, fig.data[1].x, strict=True))
    assert k8s["CronJob legacy-batch/nightly-report"] == 12
    assert aws["Deployment storefront/api"] == 2 and k8s["Deployment storefront/api"] == 1
    assert "Deployment payments/fraud-scorer" not in k8s  # no token, no risky AWS action


@pytest.mark.parametrize("fn", [tables.summarize_cluster_admins, tables.summarize_irsa_map,
                                charts.plot_compromise_reach,
                                notebook.narrate_access_entry_migration])
def test_identity_views_degrade_on_an_empty_snapshot(fn, tmp_path):
    a = assessment_of({"k8s": [{"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "shop"}}]}, tmp_path)
    assert fn(a) is not None
