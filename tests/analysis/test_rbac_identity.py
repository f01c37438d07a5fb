"""RBAC engine, issue 7: aggregated ClusterRoles end to end, IAM principals' groups, risky classes.

Uses the snapshot helpers of ``test_rbac`` (a snapshot holding RBAC objects and ConfigMaps).
"""

from __future__ import annotations

import pandas as pd

from tests.analysis.test_rbac import aws_auth, binding, role, snapshot_frames
from zt_toolkit.analysis.rbac import (
    effective_permissions,
    grants,
    iam_principal_identities,
    iam_principal_permissions,
    masters_principals,
    risky_rights,
)

AGG_ADMIN = {"matchLabels": {"rbac.example.com/aggregate-to-admin": "true"}}


def test_aggregated_role_reaches_the_subjects_bound_to_it(tmp_path):
    """A CRD's role labelled to aggregate into "ns-admin" gives its rules to ns-admin's holders,
    in the namespace of their RoleBinding only; an unlabelled role gives nothing."""
    frames = snapshot_frames(tmp_path, [
        role("ns-admin", aggregate=[AGG_ADMIN]),
        role("widgets-admin", {"apiGroups": ["example.com"], "resources": ["widgets"],
                               "verbs": ["*"]},
             labels={"rbac.example.com/aggregate-to-admin": "true"}),
        role("secrets-admin", {"apiGroups": [""], "resources": ["secrets"],
                               "verbs": ["get", "list"]},
             labels={"rbac.example.com/aggregate-to-admin": "true"}),
        role("unlabelled", {"apiGroups": [""], "resources": ["nodes"], "verbs": ["*"]}),
        binding("shop-admins", "ClusterRole", "ns-admin", {"kind": "User", "name": "ann"},
                namespace="shop"),
    ])
    perms = frames.subject_permissions
    ann = perms[perms["name"] == "ann"]
    assert sorted(r for rs in ann["resources"] for r in rs) == ["secrets", "widgets"]
    assert set(ann["scope_namespace"]) == {"shop"}
    assert grants(ann, "delete", "widgets", "example.com").any()
    assert not grants(ann, "get", "nodes").any()
    reads = ann[risky_rights(ann)["read secrets"]]
    assert reads["resources"].tolist() == [("secrets",)]
    sources = frames.rbac_rules.query("name == 'ns-admin'")["aggregated_from"]
    assert sorted(sources) == ["secrets-admin", "widgets-admin"]


def test_iam_principals_hold_what_their_mapped_groups_hold(tmp_path):
    frames = snapshot_frames(tmp_path, [
        role("reader", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}),
        binding("ops-read", "ClusterRole", "reader", {"kind": "Group", "name": "acme:ops"}),
        binding("bob-read", "ClusterRole", "reader", {"kind": "User", "name": "bob"}),
        binding("tmpl", "ClusterRole", "reader",
                {"kind": "User", "name": "ci:{{SessionName}}"}),
    ], configmaps=[aws_auth(
        mapRoles="- rolearn: arn:aws:iam::1:role/ops\n  username: ops:{{SessionName}}\n"
                 "  groups: [acme:ops]\n"
                 "- rolearn: arn:aws:iam::1:role/ci\n  username: ci:{{SessionName}}\n",
        mapUsers="- userarn: arn:aws:iam::1:user/bob\n  username: bob\n"
                 "- userarn: arn:aws:iam::1:user/root\n  groups: [system:masters]\n"
                 "- groups: [x]\n")])
    entries = pd.DataFrame({"principal_arn": ["arn:aws:iam::1:role/dev"], "username": [None],
                            "kubernetes_groups": [("acme:ops",)]})
    ids = iam_principal_identities(frames.aws_auth, entries)
    assert len(ids[ids["principal"] == ""]) == 0  # the unreadable mapping is left out
    got = iam_principal_permissions(frames.subject_permissions, ids)
    held = set(zip(got["principal"], got["principal_via"], got["via"], strict=True))
    assert held == {("arn:aws:iam::1:role/ops", "aws-auth", "Group acme:ops"),
                    ("arn:aws:iam::1:user/bob", "aws-auth", "User bob"),
                    ("arn:aws:iam::1:role/dev", "access entry", "Group acme:ops")}
    # a templated user name never matches a binding; system:masters bypasses RBAC
    assert masters_principals(ids)["principal"].tolist() == ["arn:aws:iam::1:user/root"]
    # API mode: aws-auth is not read
    api = iam_principal_identities(frames.aws_auth, entries, config_map_read=False)
    assert set(api["principal"]) == {"arn:aws:iam::1:role/dev"}


def test_risky_classes_per_rule():
    rows = [
        ({"resources": ("nodes/proxy",), "verbs": ("get",), "resource_names": ("n1",)},
         "nodes/proxy"),
        ({"resources": ("serviceaccounts/token",), "verbs": ("create",),
          "resource_names": ("a",)}, "token creation"),
        ({"resources": ("configmaps",), "verbs": ("patch",), "resource_names": ("aws-auth",),
          "scope_namespace": "kube-system"}, "update aws-auth"),
        ({"resources": ("configmaps",), "verbs": ("patch",), "resource_names": ("aws-auth",),
          "scope_namespace": "shop"}, None),  # not the kube-system one
        ({"resources": ("pods/ephemeralcontainers",), "verbs": ("patch",)},
         "exec/attach/port-forward"),
        ({"resources": ("persistentvolumes",), "verbs": ("create",)}, "PV creation"),
        ({"resources": ("events",), "verbs": ("deletecollection",)}, "delete events"),
    ]
    perms = pd.DataFrame([{"kind": "User", "namespace": "", "name": f"u{i}",
                           "api_groups": ("",), "resource_names": (), "scope": "namespace",
                           "scope_namespace": "", "role_kind": "Role", "role_name": "r", **r}
                          for i, (r, _) in enumerate(rows)])
    masks = risky_rights(perms)
    for i, (_, expected) in enumerate(rows):
        got = [k for k, m in masks.items() if m.iloc[i]]
        assert got == ([expected] if expected else []), rows[i]


def test_csr_approval_needs_both_rights_of_one_subject():
    base = {"api_groups": ("certificates.k8s.io",), "resource_names": (), "scope": "cluster",
            "scope_namespace": "", "namespace": "", "kind": "User", "role_kind": "ClusterRole",
            "role_name": "r"}
    perms = pd.DataFrame([
        {**base, "name": "both", "resources": ("certificatesigningrequests/approval",),
         "verbs": ("update",)},
        {**base, "name": "both", "resources": ("signers",), "verbs": ("approve",)},
        {**base, "name": "half", "resources": ("certificatesigningrequests/approval",),
         "verbs": ("update",)},
    ])
    assert risky_rights(perms)["CSR approval"].tolist() == [True, True, False]


def test_effective_permissions_counts_a_rule_once_per_scope(tmp_path):
    frames = snapshot_frames(tmp_path, [
        role("r", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}),
        binding("a", "ClusterRole", "r", {"kind": "User", "name": "ann"}),
        binding("b", "ClusterRole", "r", {"kind": "User", "name": "ann"}),
        binding("c", "ClusterRole", "r", {"kind": "User", "name": "ann"}, namespace="shop"),
    ])
    eff = effective_permissions(frames.subject_permissions)
    assert sorted(zip(eff["scope"], eff["via_bindings"], strict=True)) == [
        ("cluster", ("a", "b")), ("namespace", ("c",))]
