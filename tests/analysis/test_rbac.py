"""RBAC rule matching, the RBAC frames (aggregation, scope, groups) and aws-auth parsing.

The matching semantics are those of the API server (``rbac/v1/evaluation_helpers.go``); the
kubescape regolibrary cases in ``../shared/oracles/kubescape-rbac`` are an independent answer
for "which subjects hold right X", with the disagreements named in ``KNOWN_DISAGREEMENTS``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
import yaml

from zt_toolkit.analysis.rbac import (
    RBAC_GROUP,
    grants,
    grants_escalation,
    holds_cluster_admin,
    is_superuser_rule,
    resource_matches,
    rule_grants,
    service_account_permissions,
    subject_results,
    subjects_of,
    token_mounts,
    uses_wildcard,
)
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot, SnapshotWriter

ORACLE = Path(__file__).resolve().parents[2].parent / "shared" / "oracles" / "kubescape-rbac"
RBAC_KEYS = {
    "Role": "roles.rbac.authorization.k8s.io",
    "ClusterRole": "clusterroles.rbac.authorization.k8s.io",
    "RoleBinding": "rolebindings.rbac.authorization.k8s.io",
    "ClusterRoleBinding": "clusterrolebindings.rbac.authorization.k8s.io",
}


def rules_frame(*rules: dict) -> pd.DataFrame:
    return pd.DataFrame([{
        "api_groups": tuple(r.get("apiGroups", ())), "resources": tuple(r.get("resources", ())),
        "verbs": tuple(r.get("verbs", ())), "resource_names": tuple(r.get("resourceNames", ())),
    } for r in rules])


def snapshot_frames(tmp_path: Path, objects: list[dict], *, configmaps: list[dict] = (),
                    extra: dict[str, list[dict]] | None = None) -> Frames:
    """Frames over a snapshot holding the RBAC objects (and optional other resources)."""
    w = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "t"})
    for kind, key in RBAC_KEYS.items():
        w.write_k8s(key, [o for o in objects if o.get("kind") == kind], kind=f"{kind}List")
    w.write_k8s("configmaps", list(configmaps), kind="ConfigMapList")
    for key, items in (extra or {}).items():
        w.write_k8s(key, items, kind="List")
    w.close()
    return Frames(Snapshot.load(tmp_path / "snap"))


def role(name, *rules, namespace=None, labels=None, aggregate=None):
    kind = "Role" if namespace else "ClusterRole"
    obj = {"kind": kind, "metadata": {"name": name, **({"namespace": namespace} if namespace
                                                        else {}), "labels": labels or {}},
           "rules": list(rules)}
    if aggregate is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": aggregate}
    return obj


def binding(name, role_kind, role_name, *subjects, namespace=None):
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"kind": kind, "metadata": meta, "roleRef": {"kind": role_kind, "name": role_name},
            "subjects": list(subjects)}


# ------------------------------------------------------------------------------------------
# one rule
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule_resources", "asked", "expected"), [
    (("pods",), "pods", True),
    (("pods",), "pods/exec", False),          # the resource does not grant its subresources
    (("pods/exec",), "pods/exec", True),
    (("*/exec",), "pods/exec", True),         # that subresource of every resource
    (("*/exec",), "pods", False),
    (("pods/*",), "pods/exec", False),        # not a wildcard for the API server
    (("*",), "pods/exec", True),
    (("*",), "secrets", True),
    (("deployments/scale",), "deployments", False),
])
def test_resource_matching_follows_the_api_server(rule_resources, asked, expected):
    assert resource_matches(rule_resources, asked) is expected


def test_verbs_groups_and_resource_names():
    rule = {"api_groups": ("",), "resources": ("secrets",), "verbs": ("get",),
            "resource_names": ("db",)}
    assert rule_grants(rule, "get", "secrets", resource_name="db")
    assert not rule_grants(rule, "get", "secrets")                 # not every Secret
    assert not rule_grants(rule, "get", "secrets", resource_name="other")
    assert not rule_grants(rule, "list", "secrets", resource_name="db")
    assert not rule_grants(rule, "get", "secrets", "apps", resource_name="db")
    star = {**rule, "verbs": ("*",), "api_groups": ("*",), "resource_names": ()}
    assert rule_grants(star, "delete", "secrets", "anything.example.com")


def test_grants_vectorized_agrees_with_the_scalar_rule():
    rng = random.Random(3)
    pool = {"api_groups": ["", "apps", "*", RBAC_GROUP], "resources":
            ["pods", "pods/exec", "*/exec", "pods/*", "*", "secrets", "roles", "deployments"],
            "verbs": ["get", "list", "create", "*", "bind", "escalate"],
            "resource_names": ["a", "b"]}
    rows = [{k: tuple(rng.sample(v, rng.randint(0 if k == "resource_names" else 1, 2)))
             for k, v in pool.items()} for _ in range(400)]
    frame = pd.DataFrame(rows)
    for verb, resource, group, name in [("get", "pods/exec", "", None),
                                        ("create", "deployments", "apps", None),
                                        ("bind", "roles", RBAC_GROUP, "a"),
                                        ("list", "secrets", "", None)]:
        mask = grants(frame, verb, resource, group, resource_name=name)
        expected = [rule_grants(r, verb, resource, group, name) for r in rows]
        assert mask.tolist() == expected


def test_wildcards_superuser_and_escalation_masks():
    rules = rules_frame(
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": [RBAC_GROUP], "resources": ["clusterroles"], "verbs": ["escalate"]},
        {"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"]},
        {"apiGroups": [RBAC_GROUP], "resources": ["roles"], "verbs": ["bind"],
         "resourceNames": ["view"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
    )
    assert uses_wildcard(rules).tolist() == [True, True, False, False, False, False]
    assert is_superuser_rule(rules).tolist() == [True, False, False, False, False, False]
    # '*' on the core group includes impersonate on users, groups and serviceaccounts
    assert grants_escalation(rules).tolist() == [True, True, True, True, False, False]


# ------------------------------------------------------------------------------------------
# frames: aggregation, scope, groups
# ------------------------------------------------------------------------------------------
def test_aggregated_cluster_role_without_rules_gets_the_union(tmp_path):
    frames = snapshot_frames(tmp_path, [
        role("top", aggregate=[{"matchLabels": {"agg/top": "true"}}]),
        role("middle", labels={"agg/top": "true"},
             aggregate=[{"matchExpressions": [{"key": "agg/middle", "operator": "Exists"}]}]),
        role("leaf-a", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
             labels={"agg/middle": "x"}),
        role("leaf-b", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
             {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
             labels={"agg/middle": "y", "agg/top": "true"}),
        # stored rules win: the controller already wrote them
        role("stored", {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
             aggregate=[{"matchLabels": {"agg/middle": "x"}}]),
        # a cycle stops
        role("loop-a", labels={"loop": "b"}, aggregate=[{"matchLabels": {"loop": "a"}}]),
        role("loop-b", labels={"loop": "a"}, aggregate=[{"matchLabels": {"loop": "b"}}]),
    ])
    rules = frames.rbac_rules
    def of(name):
        r = rules[rules["name"] == name]
        return sorted(zip(r["resources"], r["verbs"], strict=True))
    assert of("middle") == [(("pods",), ("get",)), (("secrets",), ("list",))]
    assert of("top") == of("middle")                  # nested, de-duplicated
    assert of("stored") == [(("deployments",), ("get",))]
    assert of("loop-a") == [] and of("loop-b") == []
    roles = frames.rbac_roles.set_index("name")
    assert roles.loc["top", "aggregated"] and roles.loc["top", "rule_count"] == 2
    assert rules[rules["name"] == "middle"]["aggregated_from"].tolist() == ["leaf-a", "leaf-b"]


def test_rolebinding_to_cluster_role_grants_only_in_its_namespace(tmp_path):
    frames = snapshot_frames(tmp_path, [
        role("secret-reader", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}),
        role("local", {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
             namespace="shop"),
        binding("rb", "ClusterRole", "secret-reader",
                {"kind": "ServiceAccount", "name": "api"}, namespace="shop"),
        binding("rb-local", "Role", "local", {"kind": "User", "name": "ann"}, namespace="shop"),
        binding("crb", "ClusterRole", "secret-reader", {"kind": "Group", "name": "ops"}),
        # invalid: a ClusterRoleBinding cannot reference a Role
        binding("crb-role", "Role", "local", {"kind": "User", "name": "bob"}),
        binding("dangling", "ClusterRole", "missing", {"kind": "User", "name": "carl"}),
    ])
    perms = frames.subject_permissions.set_index(["kind", "namespace", "name"])
    assert perms.loc[("ServiceAccount", "shop", "api"), "scope"] == "namespace"
    assert perms.loc[("ServiceAccount", "shop", "api"), "scope_namespace"] == "shop"
    assert perms.loc[("User", "", "ann"), "role_namespace"] == "shop"
    assert perms.loc[("Group", "", "ops"), "scope"] == "cluster"
    assert ("User", "", "bob") not in perms.index and ("User", "", "carl") not in perms.index
    subjects = subjects_of(frames.role_bindings)
    assert len(subjects) == 5  # bob and carl are subjects, holding nothing
    rows = subject_results(subjects, frames.subject_permissions,
                           grants(frames.subject_permissions, "get", "secrets"), "reads")
    status = dict(zip(rows["name"], rows["status"], strict=True))
    assert status == {"api": "fail", "ann": "pass", "ops": "fail", "bob": "pass",
                      "carl": "pass"}
    detail = rows.set_index("name").loc["api", "detail"]
    assert detail == ('reads: ClusterRole "secret-reader" via RoleBinding "shop/rb" in '
                      'namespace "shop"')


def test_service_accounts_inherit_group_and_user_form_bindings(tmp_path):
    frames = snapshot_frames(tmp_path, [
        role("r", {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}),
        binding("all-sa", "ClusterRole", "r", {"kind": "Group", "name": "system:serviceaccounts"}),
        binding("ns-sa", "ClusterRole", "r",
                {"kind": "Group", "name": "system:serviceaccounts:shop"}),
        binding("user-form", "ClusterRole", "r",
                {"kind": "User", "name": "system:serviceaccount:shop:api"}),
        binding("direct", "ClusterRole", "r",
                {"kind": "ServiceAccount", "name": "worker", "namespace": "batch"}),
    ])
    sas = pd.DataFrame({"namespace": ["shop", "batch"], "name": ["api", "worker"]})
    sp = service_account_permissions(frames.subject_permissions, sas)
    via = sp.groupby(["sa_namespace", "sa_name"])["via"].apply(set).to_dict()
    assert via[("shop", "api")] == {"Group system:serviceaccounts",
                                    "Group system:serviceaccounts:shop", ""}
    assert via[("batch", "worker")] == {"Group system:serviceaccounts", ""}


def test_token_mounts_pod_setting_wins_over_service_account():
    workloads = pd.DataFrame({
        "namespace": ["a", "a", "a", "a"], "service_account": ["off", "off", "on", "ghost"],
        "automount_service_account_token": pd.array([pd.NA, True, pd.NA, pd.NA],
                                                    dtype="boolean"),
    })
    sas = pd.DataFrame({"namespace": ["a", "a"], "name": ["off", "on"],
                        "automount_service_account_token": pd.array([False, pd.NA],
                                                                    dtype="boolean")})
    out = token_mounts(workloads, sas)
    assert out["token_mounted"].tolist() == [False, True, True, True]
    assert "not found" in out["token_why"].iloc[3]


def test_cluster_admin_means_the_role_or_a_copy_of_its_rule(tmp_path):
    frames = snapshot_frames(tmp_path, [
        role("cluster-admin", {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
        role("copy", {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
        role("core-only", {"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}),
        binding("a", "ClusterRole", "cluster-admin", {"kind": "User", "name": "a"}),
        binding("b", "ClusterRole", "copy", {"kind": "User", "name": "b"}),
        binding("c", "ClusterRole", "core-only", {"kind": "User", "name": "c"}),
    ])
    perms = frames.subject_permissions
    assert sorted(perms[holds_cluster_admin(perms)]["name"]) == ["a", "b"]


# ------------------------------------------------------------------------------------------
# aws-auth
# ------------------------------------------------------------------------------------------
def aws_auth(**data):
    return {"kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": data}


def test_aws_auth_parses_mappings_and_names_what_it_cannot_read(tmp_path):
    frames = snapshot_frames(tmp_path, [], configmaps=[aws_auth(
        mapRoles=("- rolearn: arn:aws:iam::1:role/node\n"
                  "  username: system:node:{{EC2PrivateDNSName}}\n"
                  "  groups: [system:bootstrappers, system:nodes]\n"
                  "- username: no-arn\n  groups: [x]\n"
                  "- rolearn: arn:aws:iam::1:role/single\n  groups: system:masters\n"),
        mapUsers="- userarn: arn:aws:iam::1:user/ann\n  groups:\n    - system:masters\n",
        mapAccounts='- "111122223333"\n- {not: an-id}\n',
    )])
    auth = frames.aws_auth
    assert auth["map_type"].tolist() == ["role", "role", "role", "user", "account", "account"]
    assert auth["groups"].iloc[0] == ("system:bootstrappers", "system:nodes")
    assert auth["parse_error"].iloc[1] == "mapRoles[1] has no rolearn"
    assert auth["parse_error"].iloc[2] == "mapRoles[2].groups is not a list"
    assert auth["groups"].iloc[2] == ("system:masters",)  # still seen, still a finding
    assert auth["arn"].iloc[4] == "111122223333" and pd.isna(auth["parse_error"].iloc[4])
    assert auth["parse_error"].iloc[5] == "mapAccounts[1] is not an account id"


@pytest.mark.parametrize(("text", "error"), [
    ("- rolearn: x\n\tgroups: [a]\n", "mapRoles is not valid YAML"),
    ("rolearn: arn:aws:iam::1:role/x\n", "mapRoles is a dict, not a list"),
    ("just text", "mapRoles is a str, not a list"),
])
def test_malformed_aws_auth_gives_a_row_not_an_exception(tmp_path, text, error):
    frames = snapshot_frames(tmp_path, [], configmaps=[aws_auth(mapRoles=text)])
    auth = frames.aws_auth
    assert len(auth) == 1
    assert auth["parse_error"].iloc[0].startswith(error)


def test_absent_aws_auth_is_told_apart_from_an_empty_one(tmp_path):
    from zt_toolkit.frames.rbac import aws_auth_present

    absent = snapshot_frames(tmp_path / "a", [])
    empty = snapshot_frames(tmp_path / "b", [], configmaps=[aws_auth(mapRoles="")])
    assert absent.aws_auth.empty and empty.aws_auth.empty
    assert not aws_auth_present(absent) and aws_auth_present(empty)


# ------------------------------------------------------------------------------------------
# oracle: kubescape regolibrary risky-permission cases
# ------------------------------------------------------------------------------------------
ORACLE_PREDICATES = {
    "rule-can-list-get-secrets-v1": lambda p: grants(p, ("get", "list", "watch"), "secrets"),
    "exec-into-container-v1": lambda p: grants(p, ("create", "get"), "pods/exec"),
    "rule-can-portforward-v1": lambda p: grants(p, ("create", "get"), "pods/portforward"),
    "rule-can-bind-escalate": lambda p: grants(p, ("bind", "escalate"), ("roles", "clusterroles"),
                                               RBAC_GROUP),
    "rule-can-impersonate-users-groups-v1": lambda p: grants(
        p, "impersonate", ("users", "groups", "serviceaccounts")),
    "rule-can-create-pod": lambda p: grants(p, "create", "pods"),
    "rule-can-create-pv": lambda p: grants(p, "create", "persistentvolumes"),
    "rule-can-create-service-account-token": lambda p: grants(p, "create",
                                                              "serviceaccounts/token"),
    "rule-can-access-proxy-subresource": lambda p: grants(p, ("get", "create"), "nodes/proxy"),
    "rule-can-approve-cert-signing-request": lambda p: grants(
        p, ("update", "patch"), "certificatesigningrequests/approval", "certificates.k8s.io"),
    "rule-can-modify-admission-webhooks": lambda p: grants(
        p, ("create", "update", "patch", "delete"),
        ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"),
        "admissionregistration.k8s.io"),
    "rule-can-delete-k8s-events-v1": lambda p: (
        grants(p, ("delete", "deletecollection"), "events")
        | grants(p, ("delete", "deletecollection"), "events", "events.k8s.io")),
    "rule-list-all-cluster-admins-v1": lambda p: is_superuser_rule(p),
    "cluster-admin-role": lambda p: holds_cluster_admin(p) & p["scope"].eq("cluster"),
}
KNOWN_DISAGREEMENTS = {
    ("exec-into-container-v1", "clusterrole"):
        'kubescape reads resources "pods/*" as a wildcard; the API server does not',
    ("rule-can-portforward-v1", "clusterrole-clusterrolebinding"):
        'kubescape reads resources "pods/*" as a wildcard; the API server does not',
    ("rule-list-all-cluster-admins-v1", "clusterrole-rolebinding"):
        "kubescape counts '*' on the core group only as cluster admin; we require '*' groups",
}


def _oracle_cases():
    if not (ORACLE / "index.json").is_file():
        return []
    cases = json.loads((ORACLE / "index.json").read_text())["cases"]
    return [pytest.param(c, id=f"{c['rule']}/{c['case']}",
                         marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DISAGREEMENTS[
                             (c["rule"], c["case"])])]
                         if (c["rule"], c["case"]) in KNOWN_DISAGREEMENTS else [])
            for c in cases if c["rule"] in ORACLE_PREDICATES]


@pytest.mark.skipif(not ORACLE.is_dir(), reason="oracles not present")
@pytest.mark.parametrize("case", _oracle_cases())
def test_kubescape_oracle_subjects(case, tmp_path):
    objects = [doc for path in case["inputs"]
               for doc in yaml.safe_load_all((ORACLE / path).read_text()) if doc]
    frames = snapshot_frames(tmp_path, objects)
    perms = frames.subject_permissions
    hits = perms[ORACLE_PREDICATES[case["rule"]](perms)]
    got = set(zip(hits["kind"], hits["name"], strict=True))
    expected = {(a["subject"]["kind"], a["subject"]["name"]) for a in case["alerts"]
                if a.get("subject")}
    assert got == expected
