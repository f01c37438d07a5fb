"""RBAC rule matching: does a rule grant a verb on a resource, with the API server's semantics.

The small public core the RBAC engine builds on. The rules, as
``k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go`` applies them:

- **verbs**: ``*`` or the exact verb;
- **apiGroups**: ``*`` or the exact group (``""`` is the core group);
- **resources**: ``*`` (every resource and subresource), the exact ``resource`` or
  ``resource/subresource``, or ``*/subresource`` (that subresource of every resource).
  ``pods/*`` is **not** a wildcard for Kubernetes: it grants nothing (kubescape reads it as
  one; we follow the API server);
- **resourceNames**: an empty list allows every object; a non-empty one restricts the rule to the
  named objects, so it never grants ``create``, ``list`` or ``watch`` of a whole collection.
  :func:`grants` asks about *every* object of a resource unless ``resource_name`` is given;
- rules with ``nonResourceURLs`` carry no resources and never match a resource request.

A rules frame is anything with the tuple columns ``api_groups``, ``resources``, ``verbs`` and
``resource_names`` (``rbac_rules``, ``subject_permissions``). Masks are computed once per
distinct tuple, so a frame of 100,000 permission rows costs a few milliseconds.

Examples
--------
>>> import pandas as pd
>>> rules = pd.DataFrame({"api_groups": [("",), ("*",)], "resources": [("pods/exec",), ("*",)],
...                       "verbs": [("create",), ("get", "list")], "resource_names": [(), ()]})
>>> grants(rules, "create", "pods/exec").tolist()
[True, False]
>>> grants(rules, ("get", "list", "watch"), "secrets").tolist()
[False, True]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

ALL = "*"
RBAC_GROUP = "rbac.authorization.k8s.io"
READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")

#: Groups every ServiceAccount belongs to (besides ``system:serviceaccounts:<namespace>``).
SERVICE_ACCOUNT_GROUPS = ("system:serviceaccounts", "system:authenticated")
SA_USER_PREFIX = "system:serviceaccount:"
SA_GROUP_PREFIX = "system:serviceaccounts:"


# ------------------------------------------------------------------------------------------
# one rule
# ------------------------------------------------------------------------------------------
def verb_matches(verbs: Iterable[str], verb: str) -> bool:
    """Tell whether a rule's ``verbs`` allow ``verb``."""
    return ALL in verbs or verb in verbs


def api_group_matches(api_groups: Iterable[str], api_group: str) -> bool:
    """Tell whether a rule's ``apiGroups`` cover ``api_group`` (``""`` = core)."""
    return ALL in api_groups or api_group in api_groups


def resource_matches(resources: Iterable[str], resource: str) -> bool:
    """Tell whether a rule's ``resources`` cover ``resource`` (``pods`` or ``pods/exec``)."""
    _, _, sub = resource.partition("/")
    for r in resources:
        if r in (ALL, resource):
            return True
        if sub and r == f"*/{sub}":
            return True
    return False


def resource_name_matches(resource_names: Iterable[str], name: str | None) -> bool:
    """Tell whether a rule's ``resourceNames`` allow the object ``name`` (``None`` = every one)."""
    names = tuple(resource_names)
    if not names:
        return True
    return name is not None and name in names


def rule_grants(rule: Any, verb: str, resource: str, api_group: str = "",
                resource_name: str | None = None) -> bool:
    """Tell whether one rule (a row or mapping with the tuple fields) grants the request.

    >>> rule_grants({"api_groups": ("",), "resources": ("*/exec",), "verbs": ("create",),
    ...              "resource_names": ()}, "create", "pods/exec")
    True
    """
    get = rule.get if hasattr(rule, "get") else lambda k: getattr(rule, k)
    return (verb_matches(get("verbs") or (), verb)
            and api_group_matches(get("api_groups") or (), api_group)
            and resource_matches(get("resources") or (), resource)
            and resource_name_matches(get("resource_names") or (), resource_name))


# ------------------------------------------------------------------------------------------
# frames of rules
# ------------------------------------------------------------------------------------------
def _per_value(column: pd.Series, test: Callable[[tuple[str, ...]], bool]) -> np.ndarray:
    """Evaluate ``test`` once per distinct tuple of ``column``; a boolean array per row."""
    if column.empty:
        return np.zeros(0, dtype=bool)
    codes, uniques = pd.factorize(column.map(lambda v: tuple(v) if v is not None else ()))
    values = np.fromiter((test(u) for u in uniques), dtype=bool, count=len(uniques))
    return values[codes]


def _as_tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def grants(rules: pd.DataFrame, verb: str | Iterable[str], resource: str | Iterable[str],
           api_group: str = "", *, resource_name: str | None = None) -> pd.Series:
    """Tell, per rule, whether it grants any of ``verb`` on any of ``resource`` in ``api_group``.

    Parameters
    ----------
    rules
        A frame with the tuple columns ``api_groups``, ``resources``, ``verbs``,
        ``resource_names`` (``frames.rbac_rules``, ``frames.subject_permissions``).
    verb
        A verb or several (any of them suffices): ``("get", "list", "watch")``.
    resource
        A resource, ``resource/subresource``, or several of them (any suffices).
    api_group
        The API group of the resources (``""`` core, ``"apps"``, ``"rbac.authorization.k8s.io"``).
    resource_name
        Ask about one named object; ``None`` (default) asks about every object of the resource,
        which rules restricted by ``resourceNames`` do not grant.

    Returns
    -------
    pandas.Series
        A boolean mask on ``rules.index``.

    Examples
    --------
    >>> from zt_toolkit.frames import Frames                         # doctest: +SKIP
    >>> perms = Frames(snapshot).subject_permissions                 # doctest: +SKIP
    >>> perms[grants(perms, "create", "pods/exec")][["kind", "name"]]  # doctest: +SKIP
    """
    verbs, resources = _as_tuple(verb), _as_tuple(resource)
    if rules.empty:
        return pd.Series(False, index=rules.index, dtype=bool)
    mask = _per_value(rules["verbs"], lambda v: any(verb_matches(v, x) for x in verbs))
    mask &= _per_value(rules["api_groups"], lambda g: api_group_matches(g, api_group))
    mask &= _per_value(rules["resources"],
                       lambda r: any(resource_matches(r, x) for x in resources))
    mask &= _per_value(rules["resource_names"],
                       lambda n: resource_name_matches(n, resource_name))
    return pd.Series(mask, index=rules.index, dtype=bool)


def uses_wildcard(rules: pd.DataFrame) -> pd.Series:
    """Tell, per rule, whether ``*`` appears in its verbs, resources or apiGroups."""
    if rules.empty:
        return pd.Series(False, index=rules.index, dtype=bool)
    has = _per_value(rules["verbs"], lambda v: ALL in v)
    has |= _per_value(rules["resources"], lambda v: ALL in v)
    has |= _per_value(rules["api_groups"], lambda v: ALL in v)
    return pd.Series(has, index=rules.index, dtype=bool)


def is_superuser_rule(rules: pd.DataFrame) -> pd.Series:
    """Tell, per rule, whether it is ``cluster-admin``'s: every verb on every resource and group."""
    return grants(rules, ALL, ALL, ALL)


def grants_escalation(rules: pd.DataFrame) -> pd.Series:
    """Tell, per rule, whether it grants bind/escalate on roles or impersonation.

    ``bind`` or ``escalate`` on roles/clusterroles (rbac.authorization.k8s.io), ``impersonate``
    on users, groups, serviceaccounts, or authentication.k8s.io userextras/uids.
    """
    return (grants(rules, ("bind", "escalate"), ("roles", "clusterroles"), RBAC_GROUP)
            | grants(rules, "impersonate", ("users", "groups", "serviceaccounts"))
            | grants(rules, "impersonate", ("userextras", "uids"), "authentication.k8s.io"))


def holds_cluster_admin(perms: pd.DataFrame) -> pd.Series:
    """Tell, per permission row, whether it comes from cluster-admin or a copy of its rule."""
    named = perms["role_kind"].eq("ClusterRole") & perms["role_name"].eq("cluster-admin")
    return named | is_superuser_rule(perms)


def wildcard_fields(rule: Any) -> list[str]:
    """Name the fields of one rule that hold ``*`` (``["verbs", "resources"]``)."""
    return [f for f, col in (("apiGroups", "api_groups"), ("resources", "resources"),
                             ("verbs", "verbs")) if ALL in (getattr(rule, col, None) or ())]


# ------------------------------------------------------------------------------------------
# subjects
# ------------------------------------------------------------------------------------------
SUBJECT_KEY = ["kind", "namespace", "name"]


def _join(values: Iterable[str], limit: int = 5) -> str:
    values = list(values)
    shown = "; ".join(values[:limit])
    return shown + (f"; and {len(values) - limit} more" if len(values) > limit else "")


def subjects_of(role_bindings: pd.DataFrame) -> pd.DataFrame:
    """Every distinct subject named by a binding, as ``kind, namespace, name`` rows."""
    cols = {"subject_kind": "kind", "subject_namespace": "namespace", "subject_name": "name"}
    return (role_bindings[list(cols)].rename(columns=cols).drop_duplicates()
            .sort_values(SUBJECT_KEY).reset_index(drop=True))


def describe_grant(perms: pd.DataFrame) -> pd.Series:
    """One phrase per permission row: how the subject holds it.

    ``ClusterRole "edit" via RoleBinding "shop/devs" in namespace "shop"`` or
    ``ClusterRole "cluster-admin" via ClusterRoleBinding "ops" (cluster-wide)``.
    """
    if perms.empty:
        return pd.Series([], index=perms.index, dtype=object)
    binding = np.where(perms["binding_kind"] == "RoleBinding",
                       perms["binding_namespace"] + "/" + perms["binding_name"],
                       perms["binding_name"])
    where = np.where(perms["scope"] == "cluster", " (cluster-wide)",
                     ' in namespace "' + perms["scope_namespace"] + '"')
    text = (perms["role_kind"] + ' "' + perms["role_name"] + '" via ' + perms["binding_kind"]
            + ' "' + binding + '"' + where)
    via = perms.get("via")
    if via is not None:
        text = text + np.where(via.fillna("") != "", " (as member of " + via.fillna("") + ")", "")
    return pd.Series(text, index=perms.index)


def subject_results(subjects: pd.DataFrame, perms: pd.DataFrame, granted: pd.Series,
                    what: str, note: pd.Series | None = None) -> pd.DataFrame:
    """One check row per subject: ``fail`` when any of its permission rows is ``granted``.

    ``subjects`` holds ``kind, namespace, name`` (see :func:`subjects_of`); ``perms`` is
    ``subject_permissions`` (or a subset) and ``granted`` a mask on it. The detail of a failing
    row reads ``<what>: ClusterRole "x" via ClusterRoleBinding "y" (cluster-wide); ...``;
    ``note`` (text per permission row, aligned with ``perms``) is appended to each grant.
    """
    keep = granted.reindex(perms.index, fill_value=False).to_numpy()
    hits = perms[keep]
    text = describe_grant(hits)
    if note is not None:
        text = text + note.reindex(perms.index).fillna("").astype(str)[keep]
    how = (pd.DataFrame({**{k: hits[k] for k in SUBJECT_KEY}, "how": text})
           .groupby(SUBJECT_KEY, sort=False)["how"]
           .agg(lambda s: _join(dict.fromkeys(s))))
    out = subjects[SUBJECT_KEY].drop_duplicates().reset_index(drop=True)
    found = how.reindex(pd.MultiIndex.from_frame(out))
    out["status"] = ["fail" if isinstance(d, str) else "pass" for d in found]
    out["detail"] = [f"{what}: {d}" if isinstance(d, str) else "" for d in found]
    return out


def service_account_permissions(perms: pd.DataFrame,
                                service_accounts: pd.DataFrame) -> pd.DataFrame:
    """Return the permission rows that apply to each ServiceAccount, including via its groups.

    A ServiceAccount ``ns/sa`` holds what is bound to the subject ServiceAccount ``ns/sa``, to
    the User ``system:serviceaccount:ns:sa``, and to the groups ``system:serviceaccounts``,
    ``system:serviceaccounts:ns`` and ``system:authenticated``. ``service_accounts`` needs
    ``namespace`` and ``name``; the result is ``perms`` rows with ``sa_namespace``, ``sa_name``
    and ``via`` (the group, or ``""`` for a direct binding).
    """
    sas = (service_accounts[["namespace", "name"]].drop_duplicates()
           .rename(columns={"namespace": "sa_namespace", "name": "sa_name"}))
    parts = []
    direct = perms[perms["kind"] == "ServiceAccount"]
    parts.append(direct.assign(sa_namespace=direct["namespace"], sa_name=direct["name"], via=""))
    users = perms[(perms["kind"] == "User") & perms["name"].str.startswith(SA_USER_PREFIX)]
    if not users.empty:
        ns_name = users["name"].str.removeprefix(SA_USER_PREFIX).str.split(":", n=1, expand=True)
        if ns_name.shape[1] == 2:
            parts.append(users.assign(sa_namespace=ns_name[0], sa_name=ns_name[1], via=""))
    groups = perms[perms["kind"] == "Group"]
    every = groups[groups["name"].isin(SERVICE_ACCOUNT_GROUPS)]
    if not every.empty and not sas.empty:
        parts.append(every.merge(sas, how="cross").assign(via=lambda d: "Group " + d["name"]))
    per_ns = groups[groups["name"].str.startswith(SA_GROUP_PREFIX)]
    if not per_ns.empty and not sas.empty:
        per_ns = per_ns.assign(sa_namespace=per_ns["name"].str.removeprefix(SA_GROUP_PREFIX))
        parts.append(per_ns.merge(sas, on="sa_namespace")
                     .assign(via=lambda d: "Group " + d["name"]))
    out = pd.concat(parts, ignore_index=True)
    return out.merge(sas, on=["sa_namespace", "sa_name"]) if not sas.empty else out.iloc[0:0]


def token_mounts(workloads: pd.DataFrame, service_accounts: pd.DataFrame) -> pd.DataFrame:
    """Tell, per workload, whether its pods mount a service account API token, and why.

    The pod's ``automountServiceAccountToken`` wins when set; otherwise the ServiceAccount's;
    unset on both means mounted (the Kubernetes default). Returns ``workloads`` with the columns
    ``token_mounted`` (bool) and ``token_why`` (text for a detail).
    """
    sa = service_accounts.set_index(["namespace", "name"])["automount_service_account_token"]
    sa = sa[~sa.index.duplicated()].astype("boolean")
    keys = pd.MultiIndex.from_arrays([workloads["namespace"], workloads["service_account"]])
    sa_setting = pd.Series(sa.reindex(keys).to_numpy(), index=workloads.index, dtype="boolean")
    known = keys.isin(sa.index)
    pod = workloads["automount_service_account_token"].astype("boolean")
    mounted = pod.fillna(sa_setting).fillna(True).astype(bool).to_numpy()
    pod_set = pod.notna().to_numpy()
    sa_set = sa_setting.notna().to_numpy()
    name = 'ServiceAccount "' + workloads["service_account"] + '"'
    setting = np.where(mounted, "automountServiceAccountToken: true",
                       "automountServiceAccountToken: false")
    why = np.where(
        pod_set, "pod sets " + setting,
        np.where(sa_set, name + " sets " + setting,
                 np.where(known, "automountServiceAccountToken unset on the pod and on " + name,
                          "automountServiceAccountToken unset on the pod (" + name
                          + " not found)")))
    return workloads.assign(token_mounted=mounted, token_why=why)
