"""RBAC and in-cluster identity frames: roles, rules, bindings, effective permissions, aws-auth.

``rbac_rules`` holds the rules of every Role and ClusterRole as stored; a ClusterRole with an
``aggregationRule`` and no rules (a manifest, before the aggregation controller ran) gets the
union of the rules of the ClusterRoles its selectors match, computed here the way the controller
does. ``subject_permissions`` joins bindings to rules: a RoleBinding grants its role's rules in
its own namespace only, even when the role is a ClusterRole; a ClusterRoleBinding grants them
cluster-wide. The rule-matching logic (verbs, groups, subresources, wildcards, resourceNames)
lives in :mod:`zt_toolkit.analysis.rbac`.

``aws_auth`` parses ``kube-system/aws-auth``: ``mapRoles``, ``mapUsers`` and ``mapAccounts`` are
YAML documents inside strings. Content that does not parse gives a row with ``parse_error``, never
an exception: a malformed aws-auth is itself a finding.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
import yaml

from zt_toolkit.analysis.selectors import selector_matches
from zt_toolkit.frames import Frames, frame, from_rows
from zt_toolkit.sources.catalog import SYSTEM_NAMESPACES

ROLES = "k8s/roles.rbac.authorization.k8s.io"
CLUSTER_ROLES = "k8s/clusterroles.rbac.authorization.k8s.io"
ROLE_BINDINGS = "k8s/rolebindings.rbac.authorization.k8s.io"
CLUSTER_ROLE_BINDINGS = "k8s/clusterrolebindings.rbac.authorization.k8s.io"
RBAC_SOURCES = (ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS)

_KEY = {"kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str)}
_TUPLE = "a tuple of strings, as in the API"


def _strings(value: Any) -> tuple[str, ...]:
    """Return a list field of the API as a tuple of strings (a lone string is one item)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _rule_tuple(rule: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    return (_strings(rule.get("apiGroups")), _strings(rule.get("resources")),
            _strings(rule.get("verbs")), _strings(rule.get("resourceNames")),
            _strings(rule.get("nonResourceURLs")))


# ------------------------------------------------------------------------------------------
# roles and rules
# ------------------------------------------------------------------------------------------
ROLE_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "labels": "object",
    "aggregation_selectors": "object", "aggregated": "bool", "rule_count": "int64",
    "system": "bool",
}
RULE_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "rule_index": "int64",
    "api_groups": "object", "resources": "object", "verbs": "object",
    "resource_names": "object", "non_resource_urls": "object", "aggregated_from": "string",
}


@frame("_rbac_role_scan", sources=(ROLES, CLUSTER_ROLES))
def _scan_roles(frames: Frames) -> dict[str, Any]:
    """Roles and ClusterRoles with their effective rules (aggregation resolved)."""
    snap = frames.snapshot
    roles: list[dict[str, Any]] = []
    for kind, resource in (("Role", ROLES[4:]), ("ClusterRole", CLUSTER_ROLES[4:])):
        for obj in snap.iter_k8s(resource):
            meta = obj.get("metadata") or {}
            agg = obj.get("aggregationRule")
            roles.append({
                "kind": kind, "namespace": meta.get("namespace", "") if kind == "Role" else "",
                "name": meta.get("name", ""), "labels": dict(meta.get("labels") or {}),
                "selectors": (tuple(agg.get("clusterRoleSelectors") or ())
                              if isinstance(agg, dict) else None),
                "rules": [_rule_tuple(r) for r in obj.get("rules") or () if isinstance(r, dict)],
            })
    computed = _aggregate([r for r in roles if r["kind"] == "ClusterRole"])
    role_rows, rule_rows = [], []
    for r in roles:
        key = (r["kind"], r["namespace"], r["name"])
        rules = r["rules"]
        sources: list[str | None] = [None] * len(rules)
        if key in computed:
            rules, sources = computed[key]
        role_rows.append({
            "kind": r["kind"], "namespace": r["namespace"], "name": r["name"],
            "labels": r["labels"], "aggregation_selectors": r["selectors"],
            "aggregated": r["selectors"] is not None, "rule_count": len(rules),
            "system": r["namespace"] in SYSTEM_NAMESPACES,
        })
        for i, (rule, source) in enumerate(zip(rules, sources, strict=True)):
            groups, resources, verbs, names, urls = rule
            rule_rows.append({
                "kind": r["kind"], "namespace": r["namespace"], "name": r["name"],
                "rule_index": i, "api_groups": groups, "resources": resources, "verbs": verbs,
                "resource_names": names, "non_resource_urls": urls, "aggregated_from": source,
            })
    return {"roles": from_rows(role_rows, ROLE_COLUMNS),
            "rules": from_rows(rule_rows, RULE_COLUMNS)}


def _aggregate(cluster_roles: list[dict[str, Any]]) -> dict[tuple[str, str, str],
                                                           tuple[list[Any], list[str | None]]]:
    """Compute the rules of aggregated ClusterRoles stored without rules.

    As the aggregation controller writes them: the de-duplicated union of the rules of every
    other ClusterRole that one of the selectors matches (nested aggregation resolved; cycles
    stop).
    """
    by_name = {r["name"]: r for r in cluster_roles}
    memo: dict[str, tuple[list[Any], list[str | None]]] = {}

    def effective(name: str, stack: frozenset[str]) -> tuple[list[Any], list[str | None]]:
        role = by_name[name]
        if role["selectors"] is None or role["rules"]:
            return role["rules"], [None] * len(role["rules"])
        if name in memo:
            return memo[name]
        rules: list[Any] = []
        sources: list[str | None] = []
        seen: set[Any] = set()
        for other in sorted(by_name):
            if other == name or other in stack:
                continue
            labels = by_name[other]["labels"]
            if not any(selector_matches(s, labels) for s in role["selectors"]):
                continue
            other_rules, _ = effective(other, stack | {name})
            for rule in other_rules:
                if rule not in seen:
                    seen.add(rule)
                    rules.append(rule)
                    sources.append(other)
        memo[name] = (rules, sources)
        return memo[name]

    return {("ClusterRole", "", name): effective(name, frozenset())
            for name, role in by_name.items()
            if role["selectors"] is not None and not role["rules"]}


@frame("rbac_roles", sources=(ROLES, CLUSTER_ROLES), schema=pa.DataFrameSchema({
    **_KEY,
    "kind": pa.Column(str, pa.Check.isin(["Role", "ClusterRole"])),
    "aggregated": pa.Column(bool, description="a ClusterRole with an aggregationRule"),
    "rule_count": pa.Column("int64", description="effective rules (aggregation resolved)"),
}))
def build_rbac_roles(frames: Frames) -> pd.DataFrame:
    """One row per Role and ClusterRole (namespace ``""`` for ClusterRoles)."""
    return frames.get("_rbac_role_scan")["roles"]


@frame("rbac_rules", sources=(ROLES, CLUSTER_ROLES), schema=pa.DataFrameSchema({
    **_KEY,
    "kind": pa.Column(str, pa.Check.isin(["Role", "ClusterRole"]), description="role kind"),
    "name": pa.Column(str, description="role name"),
    "rule_index": pa.Column("int64", description="position in the effective rules"),
    "api_groups": pa.Column(object, description=_TUPLE),
    "resources": pa.Column(object, description=_TUPLE),
    "verbs": pa.Column(object, description=_TUPLE),
    "resource_names": pa.Column(object, description=_TUPLE + "; empty = every object"),
    "non_resource_urls": pa.Column(object, description=_TUPLE),
    "aggregated_from": pa.Column("string", nullable=True,
                                 description="source ClusterRole when computed by aggregation"),
}))
def build_rbac_rules(frames: Frames) -> pd.DataFrame:
    """One row per rule of every Role and ClusterRole, keyed by role kind, namespace and name.

    An aggregated ClusterRole stored with empty rules gets the union of the rules of the
    ClusterRoles its ``clusterRoleSelectors`` match (``aggregated_from`` names each source).

    Examples
    --------
    >>> from zt_toolkit.analysis.rbac import grants                  # doctest: +SKIP
    >>> rules = frames.rbac_rules                                    # doctest: +SKIP
    >>> rules[grants(rules, "get", "secrets")][["kind", "namespace", "name"]]  # doctest: +SKIP
    """
    return frames.get("_rbac_role_scan")["rules"]


# ------------------------------------------------------------------------------------------
# bindings and effective permissions
# ------------------------------------------------------------------------------------------
BINDING_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "role_kind": "str", "role_name": "str",
    "subject_kind": "str", "subject_name": "str", "subject_namespace": "str",
}


@frame("role_bindings", sources=(ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS),
       schema=pa.DataFrameSchema({
           **_KEY,
           "kind": pa.Column(str, pa.Check.isin(["RoleBinding", "ClusterRoleBinding"])),
           "role_kind": pa.Column(str, description="roleRef.kind: Role or ClusterRole"),
           "subject_kind": pa.Column(str, description="User, Group or ServiceAccount"),
           "subject_namespace": pa.Column(str, description="ServiceAccounts only, else ''"),
       }))
def build_role_bindings(frames: Frames) -> pd.DataFrame:
    """One row per (binding, subject) of every RoleBinding and ClusterRoleBinding.

    A ServiceAccount subject of a RoleBinding without a namespace is read in the binding's
    namespace; User and Group subjects carry namespace ``""``. Bindings without subjects give
    no row.
    """
    rows = []
    for kind, resource in (("RoleBinding", ROLE_BINDINGS[4:]),
                           ("ClusterRoleBinding", CLUSTER_ROLE_BINDINGS[4:])):
        for obj in frames.snapshot.iter_k8s(resource):
            meta = obj.get("metadata") or {}
            ns = meta.get("namespace", "") if kind == "RoleBinding" else ""
            ref = obj.get("roleRef") or {}
            for subject in obj.get("subjects") or ():
                skind = subject.get("kind", "")
                sns = subject.get("namespace") or ns if skind == "ServiceAccount" else ""
                rows.append({
                    "kind": kind, "namespace": ns, "name": meta.get("name", ""),
                    "role_kind": ref.get("kind", ""), "role_name": ref.get("name", ""),
                    "subject_kind": skind, "subject_name": subject.get("name", ""),
                    "subject_namespace": sns or "",
                })
    return from_rows(rows, BINDING_COLUMNS)


PERMISSION_COLUMNS = [
    "kind", "namespace", "name", "binding_kind", "binding_namespace", "binding_name",
    "role_kind", "role_namespace", "role_name", "rule_index", "api_groups", "resources", "verbs",
    "resource_names", "non_resource_urls", "scope", "scope_namespace",
]


@frame("subject_permissions", sources=RBAC_SOURCES, schema=pa.DataFrameSchema({
    **_KEY,
    "kind": pa.Column(str, description="subject kind: User, Group or ServiceAccount"),
    "namespace": pa.Column(str, description="subject namespace (ServiceAccounts), else ''"),
    "name": pa.Column(str, description="subject name"),
    "scope": pa.Column(str, pa.Check.isin(["cluster", "namespace"])),
    "scope_namespace": pa.Column(str, description="where a RoleBinding grants; '' cluster-wide"),
}))
def build_subject_permissions(frames: Frames) -> pd.DataFrame:
    """One row per (subject, binding, effective rule): what every subject may do, and where.

    A ClusterRoleBinding grants its ClusterRole's rules cluster-wide; a RoleBinding grants its
    Role's (or ClusterRole's) rules only in the binding's namespace. Bindings whose role is
    missing grant nothing; a ClusterRoleBinding that names a Role is invalid and ignored.
    Subjects inherit nothing here through groups: see
    :func:`zt_toolkit.analysis.rbac.service_account_permissions`.

    Examples
    --------
    >>> perms = frames.subject_permissions                          # doctest: +SKIP
    >>> perms[perms.scope == "cluster"].groupby(["kind", "name"]).size()  # doctest: +SKIP
    """
    b = frames.role_bindings
    rules = frames.rbac_rules
    b = b[~((b["kind"] == "ClusterRoleBinding") & (b["role_kind"] != "ClusterRole"))]
    b = b.assign(role_namespace=b["namespace"].where(b["role_kind"] == "Role", ""))
    b = b.rename(columns={"kind": "binding_kind", "namespace": "binding_namespace",
                          "name": "binding_name"})
    r = rules.rename(columns={"kind": "role_kind", "namespace": "role_namespace",
                              "name": "role_name"}).drop(columns=["aggregated_from"])
    merged = b.merge(r, on=["role_kind", "role_namespace", "role_name"], how="inner")
    cluster = merged["binding_kind"] == "ClusterRoleBinding"
    merged["scope"] = cluster.map({True: "cluster", False: "namespace"})
    merged["scope_namespace"] = merged["binding_namespace"].where(~cluster, "")
    merged = merged.rename(columns={"subject_kind": "kind", "subject_namespace": "namespace",
                                    "subject_name": "name"})
    out = merged[PERMISSION_COLUMNS].reset_index(drop=True)
    for col in ("scope", "scope_namespace"):
        out[col] = out[col].astype(str)
    return out


# ------------------------------------------------------------------------------------------
# aws-auth
# ------------------------------------------------------------------------------------------
AWS_AUTH = ("kube-system", "aws-auth")
AWS_AUTH_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "map_type": "str", "index": "Int64",
    "arn": "string", "username": "string", "groups": "object", "parse_error": "string",
}
_MAP_KEYS = (("mapRoles", "role", "rolearn"), ("mapUsers", "user", "userarn"),
             ("mapAccounts", "account", None))


@frame("_aws_auth_scan", sources=("k8s/configmaps",))
def _scan_aws_auth(frames: Frames) -> dict[str, Any]:
    present = False
    rows: list[dict[str, Any]] = []
    for cm in frames.snapshot.iter_k8s("configmaps"):
        meta = cm.get("metadata") or {}
        if (meta.get("namespace"), meta.get("name")) != AWS_AUTH:
            continue
        present = True
        data = cm.get("data") or {}
        for key, map_type, arn_key in _MAP_KEYS:
            if key in data:
                rows.extend(_parse_mappings(data[key], key, map_type, arn_key))
    return {"present": present, "rows": from_rows(rows, AWS_AUTH_COLUMNS)}


def _mapping_row(map_type: str, index: int | None, **values: Any) -> dict[str, Any]:
    return {"kind": "ConfigMap", "namespace": AWS_AUTH[0], "name": AWS_AUTH[1],
            "map_type": map_type, "index": index, "arn": None, "username": None, "groups": (),
            "parse_error": None, **values}


def _parse_mappings(text: Any, key: str, map_type: str,
                    arn_key: str | None) -> list[dict[str, Any]]:
    """Parse the mappings of one aws-auth key; what cannot be read becomes a ``parse_error`` row."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return []
    try:
        doc = yaml.safe_load(text) if isinstance(text, str) else text
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return [_mapping_row(map_type, None,
                             parse_error=f"{key} is not valid YAML: {problem}{where}")]
    if doc is None:
        return []
    if not isinstance(doc, list):
        return [_mapping_row(map_type, None,
                             parse_error=f"{key} is a {type(doc).__name__}, not a list")]
    rows = []
    for i, entry in enumerate(doc):
        if arn_key is None:  # mapAccounts: a list of account ids
            if isinstance(entry, str | int) and not isinstance(entry, bool):
                rows.append(_mapping_row(map_type, i, arn=str(entry)))
            else:
                rows.append(_mapping_row(map_type, i,
                                         parse_error=f"{key}[{i}] is not an account id"))
            continue
        if not isinstance(entry, dict):
            rows.append(_mapping_row(map_type, i, parse_error=f"{key}[{i}] is not a mapping"))
            continue
        groups = entry.get("groups")
        problem = None
        if not entry.get(arn_key):
            problem = f"{key}[{i}] has no {arn_key}"
        if groups is not None and not isinstance(groups, list):
            problem = f"{key}[{i}].groups is not a list"
            groups = [groups] if isinstance(groups, str) else []
        rows.append(_mapping_row(
            map_type, i, arn=str(entry[arn_key]) if entry.get(arn_key) else None,
            username=None if entry.get("username") is None else str(entry["username"]),
            groups=_strings(groups), parse_error=problem))
    return rows


@frame("aws_auth", sources=("k8s/configmaps",), schema=pa.DataFrameSchema({
    **_KEY,
    "map_type": pa.Column(str, pa.Check.isin(["role", "user", "account"])),
    "arn": pa.Column("string", nullable=True,
                     description="rolearn / userarn, or the account id of mapAccounts"),
    "groups": pa.Column(object, description="Kubernetes groups, a tuple"),
    "parse_error": pa.Column("string", nullable=True,
                             description="why this key or entry cannot be read"),
}))
def build_aws_auth(frames: Frames) -> pd.DataFrame:
    """One row per mapping of ``kube-system/aws-auth``: ``mapRoles``, ``mapUsers``, ``mapAccounts``.

    A key or entry that cannot be parsed gives a row with ``parse_error``.

    No row at all when the ConfigMap is absent or maps nothing; tell the two apart with
    :func:`aws_auth_present`.
    """
    return frames.get("_aws_auth_scan")["rows"]


def aws_auth_present(frames: Frames) -> bool:
    """Tell whether the snapshot holds a ``kube-system/aws-auth`` ConfigMap."""
    return bool(frames.get("_aws_auth_scan")["present"])


# ------------------------------------------------------------------------------------------
# Secrets (metadata only)
# ------------------------------------------------------------------------------------------
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
LEGACY_INVALID_LABEL = "kubernetes.io/legacy-token-invalid-since"
LEGACY_LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used"
SECRET_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "service_account": "string",
    "legacy_token_invalid_since": "string", "legacy_token_last_used": "string",
    "system": "bool",
}


@frame("secret_objects", sources=("k8s/secrets",), schema=pa.DataFrameSchema({
    **_KEY,
    "service_account": pa.Column("string", nullable=True,
                                 description="kubernetes.io/service-account.name annotation: "
                                             "set on legacy ServiceAccount token Secrets"),
}))
def build_secret_objects(frames: Frames) -> pd.DataFrame:
    """One row per Secret, from its metadata (the snapshot never holds a Secret's type or data).

    A legacy ServiceAccount token Secret is recognised by its
    ``kubernetes.io/service-account.name`` annotation; the token cleaner's labels say whether it
    was invalidated and when it was last used.
    """
    rows = []
    for s in frames.snapshot.iter_k8s("secrets"):
        meta = s.get("metadata") or {}
        ann, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        ns = meta.get("namespace", "default")
        rows.append({
            "kind": "Secret", "namespace": ns, "name": meta.get("name", ""),
            "service_account": ann.get(SA_NAME_ANNOTATION) or None,
            "legacy_token_invalid_since": labels.get(LEGACY_INVALID_LABEL),
            "legacy_token_last_used": labels.get(LEGACY_LAST_USED_LABEL),
            "system": ns in SYSTEM_NAMESPACES,
        })
    return from_rows(rows, SECRET_COLUMNS)
