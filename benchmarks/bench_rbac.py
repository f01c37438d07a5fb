"""Benchmark: the RBAC engine on 20,000 roles and bindings → effective permissions per subject.

A synthetic cluster of N objects (by default 10,000 Roles and ClusterRoles, 20 of the
ClusterRoles aggregated, each the union of ~200 labelled ones, and 10,000 RoleBindings and
ClusterRoleBindings naming users, groups and service accounts from pools, 1-3 subjects each)
is written as a snapshot (not timed), then timed in stages on fresh frames:

- ``load + rules``: snapshot read, roles parsed, aggregation resolved (``rbac_rules``);
- ``bindings + permissions``: ``role_bindings`` and the join ``subject_permissions``;
- ``effective``: :func:`zt_toolkit.analysis.rbac.effective_permissions` (one row per subject,
  scope and rule);
- ``risky classes``: the twelve masks of :func:`zt_toolkit.analysis.rbac.risky_rights`;
- ``service accounts``: :func:`zt_toolkit.analysis.rbac.service_account_permissions` for every
  service account of the pools (direct, user form and group bindings).

Target (issue 7): 20,000 roles and bindings → effective permissions in under 5 s on a 2-core
machine (the sum of the first three stages).

    .venv/bin/python benchmarks/bench_rbac.py                  # 20k objects
    .venv/bin/python benchmarks/bench_rbac.py --objects 50000
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from zt_toolkit.analysis.rbac import (
    effective_permissions,
    risky_rights,
    service_account_permissions,
)
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot, SnapshotWriter

GROUPS = ["", "apps", "batch", "rbac.authorization.k8s.io", "*", "example.com"]
RESOURCES = ["pods", "pods/exec", "secrets", "configmaps", "deployments", "*", "nodes/proxy",
             "serviceaccounts/token", "roles", "events", "*/scale", "widgets"]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "*", "bind",
         "impersonate"]


def synthetic_rbac(n: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """N/2 roles and N/2 bindings with a realistic mix of rules and subjects."""
    rnd = random.Random(seed)
    namespaces = [f"ns{i}" for i in range(200)]
    roles, cluster_roles, bindings, cluster_bindings = [], [], [], []
    n_roles = n // 2

    def rules() -> list[dict[str, Any]]:
        return [{"apiGroups": rnd.sample(GROUPS, rnd.randint(1, 2)),
                 "resources": rnd.sample(RESOURCES, rnd.randint(1, 3)),
                 "verbs": rnd.sample(VERBS, rnd.randint(1, 4)),
                 **({"resourceNames": [f"obj{rnd.randint(0, 9)}"]} if rnd.random() < 0.1
                    else {})}
                for _ in range(rnd.randint(1, 5))]

    for i in range(n_roles):
        labels = {"agg": str(i % 50)}
        if i % 2:
            roles.append({"kind": "Role", "metadata": {
                "name": f"role{i}", "namespace": rnd.choice(namespaces), "labels": labels},
                "rules": rules()})
        else:
            obj = {"kind": "ClusterRole", "metadata": {"name": f"crole{i}", "labels": labels},
                   "rules": rules()}
            if i % 500 == 0:  # 20 aggregated ClusterRoles (admin, edit, view and CRD ones)
                obj["rules"] = []
                obj["metadata"]["labels"] = {"aggregator": "true"}
                obj["aggregationRule"] = {"clusterRoleSelectors": [
                    {"matchLabels": {"agg": str(rnd.randrange(0, 50, 2))}}]}
            cluster_roles.append(obj)
    role_names = [(r["metadata"]["namespace"], r["metadata"]["name"]) for r in roles]
    crole_names = [r["metadata"]["name"] for r in cluster_roles]

    def subject() -> dict[str, Any]:
        r = rnd.random()
        if r < 0.4:
            return {"kind": "ServiceAccount", "name": f"sa{rnd.randint(0, 499)}",
                    "namespace": rnd.choice(namespaces)}
        if r < 0.6:
            return {"kind": "User", "name": f"user{rnd.randint(0, 999)}"}
        if r < 0.995:
            return {"kind": "Group", "name": f"team{rnd.randint(0, 99)}"}
        # bindings to every service account or every authenticated user are rare
        return {"kind": "Group", "name": rnd.choice(["system:serviceaccounts",
                                                     "system:authenticated"])}

    for i in range(n - n_roles):
        subjects = [subject() for _ in range(rnd.randint(1, 3))]
        r = rnd.random()
        if r < 0.45:
            ns, name = rnd.choice(role_names)
            bindings.append({"kind": "RoleBinding", "metadata": {"name": f"rb{i}", "namespace": ns},
                             "roleRef": {"kind": "Role", "name": name}, "subjects": subjects})
        elif r < 0.75:
            bindings.append({"kind": "RoleBinding", "metadata": {
                "name": f"rb{i}", "namespace": rnd.choice(namespaces)},
                "roleRef": {"kind": "ClusterRole", "name": rnd.choice(crole_names)},
                "subjects": subjects})
        else:
            cluster_bindings.append({"kind": "ClusterRoleBinding", "metadata": {"name": f"crb{i}"},
                                     "roleRef": {"kind": "ClusterRole",
                                                 "name": rnd.choice(crole_names)},
                                     "subjects": subjects})
    return {"roles.rbac.authorization.k8s.io": roles,
            "clusterroles.rbac.authorization.k8s.io": cluster_roles,
            "rolebindings.rbac.authorization.k8s.io": bindings,
            "clusterrolebindings.rbac.authorization.k8s.io": cluster_bindings}


def run(n: int) -> dict[str, Any]:
    objects = synthetic_rbac(n)
    with tempfile.TemporaryDirectory() as tmp:
        w = SnapshotWriter(Path(tmp) / "snap", source="live", cluster={"name": "bench"})
        for key, items in objects.items():
            w.write_k8s(key, items, kind="List")
        w.close()
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        frames = Frames(Snapshot.load(Path(tmp) / "snap"))
        rules = frames.rbac_rules
        times["load + rules"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        perms = frames.subject_permissions
        times["bindings + permissions"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        eff = effective_permissions(perms)
        times["effective"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        masks = risky_rights(perms)
        times["risky classes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        sas = pd.DataFrame({"namespace": [f"ns{i % 200}" for i in range(500)],
                            "name": [f"sa{i}" for i in range(500)]})
        sa_perms = service_account_permissions(perms, sas)
        times["service accounts"] = time.perf_counter() - t0
    total = times["load + rules"] + times["bindings + permissions"] + times["effective"]
    return {
        "objects": n, "roles": len(objects["roles.rbac.authorization.k8s.io"])
        + len(objects["clusterroles.rbac.authorization.k8s.io"]),
        "bindings": len(objects["rolebindings.rbac.authorization.k8s.io"])
        + len(objects["clusterrolebindings.rbac.authorization.k8s.io"]),
        "rules": len(rules), "permission_rows": len(perms), "effective_rows": len(eff),
        "subjects": int(eff[["kind", "namespace", "name"]].drop_duplicates().shape[0]),
        "risky_rows": {k: int(m.sum()) for k, m in masks.items()},
        "sa_permission_rows": len(sa_perms),
        "seconds": {k: round(v, 3) for k, v in times.items()},
        "to_effective_seconds": round(total, 3), "target_seconds": 5.0,
        "within_target": total < 5.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    args = parser.parse_args()
    print(json.dumps(run(args.objects), indent=2))


if __name__ == "__main__":
    main()
