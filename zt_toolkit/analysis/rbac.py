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
  ``create`` and ``deletecollection`` of a top-level resource carry no object name, so a named
  rule never grants them (a subresource request always names its parent: ``create`` on
  ``serviceaccounts/token`` or ``nodes/proxy`` can be restricted by name).
  :func:`grants` asks about *every* object of a resource unless ``resource_name`` is given, or
  about *some* object with ``any_name=True``;
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
#: Verbs whose request names no object on a top-level resource: resourceNames never grant them.
NAMELESS_VERBS = ("create", "deletecollection")

#: Groups every ServiceAccount belongs to (besides ``system:serviceaccounts:<namespace>``).
SERVICE_ACCOUNT_GROUPS = ("system:serviceaccounts", "system:authenticated")
SA_USER_PREFIX = "system:serviceaccount:"
SA_GROUP_PREFIX = "system:serviceaccounts:"
SUBJECT_KEY = ["kind", "namespace", "name"]


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


def names_apply(verb: str, resource: str) -> bool:
    """Tell whether a request of ``verb`` on ``resource`` names an object (resourceNames apply).

    ``create`` and ``deletecollection`` of a top-level resource name none; every subresource
    request names its parent object.

    >>> names_apply("create", "configmaps"), names_apply("create", "serviceaccounts/token")
    (False, True)
    """
    return "/" in resource or verb not in NAMELESS_VERBS


def rule_grants(rule: Any, verb: str, resource: str, api_group: str = "",
                resource_name: str | None = None, *, any_name: bool = False) -> bool:
    """Tell whether one rule (a row or mapping with the tuple fields) grants the request.

    ``resource_name`` asks about one object, ``None`` about every object; ``any_name=True``
    about some object (a rule restricted by resourceNames counts where names apply).

    >>> rule_grants({"api_groups": ("",), "resources": ("*/exec",), "verbs": ("create",),
    ...              "resource_names": ()}, "create", "pods/exec")
    True
    """
    get = rule.get if hasattr(rule, "get") else lambda k: getattr(rule, k)
    names = tuple(get("resource_names") or ())
    if names and not names_apply(verb, resource):
        named = False
    elif names and any_name:
        named = True
    else:
        named = resource_name_matches(names, resource_name)
    return (verb_matches(get("verbs") or (), verb)
            and api_group_matches(get("api_groups") or (), api_group)
            and resource_matches(get("resources") or (), resource)
            and named)


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
           api_group: str = "", *, resource_name: str | None = None,
           any_name: bool = False) -> pd.Series:
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
    any_name
        Ask about *some* object: rules restricted by ``resourceNames`` count too, for the
        requests that name an object (see :func:`names_apply`). For rights that are dangerous
        on any single object (``nodes/proxy`` of one node, a token of one service account).

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
    if resource_name is not None and any_name:
        raise ValueError("ask about one resource_name or about any_name, not both")
    verbs, resources = _as_tuple(verb), _as_tuple(resource)
    if rules.empty:
        return pd.Series(False, index=rules.index, dtype=bool)
    group = _per_value(rules["api_groups"], lambda g: api_group_matches(g, api_group))
    unnamed = _per_value(rules["resource_names"], lambda n: not n)
    if resource_name is None and not any_name:  # every object: named rules never count
        mask = _per_value(rules["verbs"], lambda v: any(verb_matches(v, x) for x in verbs))
        mask &= _per_value(rules["resources"],
                           lambda r: any(resource_matches(r, x) for x in resources))
        return pd.Series(mask & group & unnamed, index=rules.index, dtype=bool)
    named = (~unnamed if any_name else
             _per_value(rules["resource_names"], lambda n: resource_name in n))
    by_verb = {x: _per_value(rules["verbs"], lambda v, x=x: verb_matches(v, x)) for x in verbs}
    by_resource = {x: _per_value(rules["resources"], lambda r, x=x: resource_matches(r, x))
                   for x in resources}
    mask = np.zeros(len(rules), dtype=bool)
    for v in verbs:  # whether names apply depends on the (verb, resource) pair
        for r in resources:
            mask |= by_verb[v] & by_resource[r] & (unnamed | (named & names_apply(v, r)))
    return pd.Series(mask & group, index=rules.index, dtype=bool)


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


#: Resources whose ``create`` runs a pod of the creator's choosing, by API group: pods and every
#: built-in controller of pods.
WORKLOAD_RESOURCES = (("", ("pods", "replicationcontrollers")),
                      ("apps", ("deployments", "daemonsets", "statefulsets", "replicasets")),
                      ("batch", ("jobs", "cronjobs")))


def grants_workload_creation(rules: pd.DataFrame, *, template_updates: bool = True) -> pd.Series:
    """Tell, per rule, whether it lets the subject run a pod of its choosing.

    ``create`` on pods or a workload controller (:data:`WORKLOAD_RESOURCES`), or (with
    ``template_updates``) ``update`` / ``patch`` of a controller, whose new pod template the
    controller then runs. The pod may use any ServiceAccount, hostPath or privilege of its
    namespace that admission allows.
    """
    mask = pd.Series(False, index=rules.index, dtype=bool)
    for group, resources in WORKLOAD_RESOURCES:
        mask |= grants(rules, "create", resources, group)
        controllers = tuple(r for r in resources if r != "pods")
        if template_updates and controllers:
            mask |= grants(rules, ("update", "patch"), controllers, group)
    return mask


CERTIFICATES_GROUP = "certificates.k8s.io"


def grants_csr_approval(rules: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Return the two masks whose *combination* approves certificate signing requests.

    Approving needs ``update`` (or ``patch``) on ``certificatesigningrequests/approval`` and
    ``approve`` on ``signers`` (certificates.k8s.io) for the request's signer: any signer
    counts, so rules restricted to named signers (``kubernetes.io/kube-apiserver-client``,
    ``example.com/*``) count too. Both are cluster-scoped: only cluster-wide grants count.
    Combine per subject with :func:`subjects_holding_all`.
    """
    cluster = rules["scope"].eq("cluster") if "scope" in rules else True
    approval = grants(rules, ("update", "patch"), "certificatesigningrequests/approval",
                      CERTIFICATES_GROUP, any_name=True) & cluster
    signers = grants(rules, "approve", "signers", CERTIFICATES_GROUP, any_name=True) & cluster
    return approval, signers


def subjects_holding_all(perms: pd.DataFrame, *masks: pd.Series) -> pd.Series:
    """Keep the rows of ``masks`` whose subject holds a row of *every* mask.

    For rights that work only together (CSR approval and a signer; delete and create to
    replace an object): returns a mask on ``perms`` of the rows in any of ``masks``, for the
    subjects (``kind, namespace, name``) that have at least one row in each.
    """
    if perms.empty or not masks:
        return pd.Series(False, index=perms.index, dtype=bool)
    keys = pd.MultiIndex.from_frame(perms[SUBJECT_KEY])
    holds_all = np.ones(len(perms), dtype=bool)
    for mask in masks:
        holders = keys[mask.reindex(perms.index, fill_value=False).to_numpy()]
        holds_all &= keys.isin(holders)
    union = np.zeros(len(perms), dtype=bool)
    for mask in masks:
        union |= mask.reindex(perms.index, fill_value=False).to_numpy()
    return pd.Series(union & holds_all, index=perms.index, dtype=bool)


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


def named_objects(perms: pd.DataFrame) -> pd.Series:
    """Text per permission row restricted by resourceNames: ``" (only aws-auth, coredns)"``."""
    if perms.empty:
        return pd.Series([], index=perms.index, dtype=object)
    return perms["resource_names"].map(
        lambda n: f" (only {', '.join(n[:5])}{' ...' if len(n) > 5 else ''})" if n else "")


def _grants_by_subject(perms: pd.DataFrame, mask: pd.Series,
                       note: pd.Series | None) -> pd.Series:
    """``describe_grant`` of the rows in ``mask``, joined per subject (a Series on the key)."""
    keep = mask.reindex(perms.index, fill_value=False).to_numpy()
    hits = perms[keep]
    text = describe_grant(hits) + named_objects(hits)
    if note is not None:
        text = text + note.reindex(perms.index).fillna("").astype(str)[keep]
    return (pd.DataFrame({**{k: hits[k] for k in SUBJECT_KEY}, "how": text})
            .groupby(SUBJECT_KEY, sort=False)["how"]
            .agg(lambda s: _join(dict.fromkeys(s))))


def subject_results(subjects: pd.DataFrame, perms: pd.DataFrame, granted: pd.Series,
                    what: str, note: pd.Series | None = None, *,
                    noted: pd.Series | None = None, noted_what: str = "") -> pd.DataFrame:
    """One check row per subject: ``fail`` when any of its permission rows is ``granted``.

    ``subjects`` holds ``kind, namespace, name`` (see :func:`subjects_of`); ``perms`` is
    ``subject_permissions`` (or a subset) and ``granted`` a mask on it. The detail of a failing
    row reads ``<what>: ClusterRole "x" via ClusterRoleBinding "y" (cluster-wide); ...``;
    ``note`` (text per permission row, aligned with ``perms``) is appended to each grant, and
    a rule restricted by resourceNames says which objects. ``noted`` marks rows that do not
    fail a subject but are worth stating: a passing subject holding one gets the detail
    ``<noted_what>: <grants>`` (a namespace-scoped right where the check judges cluster-wide
    ones).
    """
    out = subjects[SUBJECT_KEY].drop_duplicates().reset_index(drop=True)
    key = pd.MultiIndex.from_frame(out)
    found = _grants_by_subject(perms, granted, note).reindex(key)
    failed = [isinstance(d, str) for d in found]
    out["status"] = ["fail" if f else "pass" for f in failed]
    out["detail"] = [f"{what}: {d}" if f else "" for f, d in zip(failed, found, strict=True)]
    if noted is not None:
        extra = _grants_by_subject(perms, noted, note).reindex(key)
        out["detail"] = [f"{noted_what}: {x}" if not f and isinstance(x, str) else d
                         for f, d, x in zip(failed, out["detail"], extra, strict=True)]
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


# ------------------------------------------------------------------------------------------
# IAM principals (EKS): the Kubernetes identities aws-auth and access entries give them
# ------------------------------------------------------------------------------------------
MASTERS_GROUP = "system:masters"
IDENTITY_COLUMNS = ["principal", "via", "username", "group", "evidence"]


def iam_principal_identities(aws_auth: pd.DataFrame, access_entries: pd.DataFrame,
                             *, config_map_read: bool = True) -> pd.DataFrame:
    """List the Kubernetes identities (user name, groups) each IAM principal authenticates as.

    One row per (principal, source, group): ``aws-auth`` ``mapRoles`` / ``mapUsers`` entries and
    EKS access entries' ``kubernetesGroups``; a mapping without groups gives one row with
    ``group`` ``""``. Rows of aws-auth with a ``parse_error`` are left out (they are findings of
    their own). ``config_map_read=False`` (authenticationMode ``API``) drops aws-auth: the
    authenticator no longer reads it.

    Parameters
    ----------
    aws_auth
        The ``aws_auth`` frame.
    access_entries
        The ``access_entries`` frame.
    config_map_read
        Whether the cluster's authenticator reads aws-auth.

    Returns
    -------
    pandas.DataFrame
        Columns ``principal, via, username, group, evidence``.

    Examples
    --------
    >>> auth = pd.DataFrame({"map_type": ["role"], "index": [0], "arn": ["arn:aws:iam::1:role/a"],
    ...                      "username": ["a"], "groups": [("ops", "dev")], "parse_error": [None]})
    >>> entries = pd.DataFrame({"principal_arn": ["arn:aws:iam::1:role/b"], "username": [None],
    ...                         "kubernetes_groups": [()]})
    >>> iam_principal_identities(auth, entries)["group"].tolist()
    ['ops', 'dev', '']
    """
    rows: list[dict[str, str]] = []
    if config_map_read and not aws_auth.empty:
        ok = aws_auth[aws_auth["parse_error"].isna() & aws_auth["arn"].notna()
                      & aws_auth["map_type"].isin(["role", "user"])]
        for m in ok.itertuples(index=False):
            key = "mapRoles" if m.map_type == "role" else "mapUsers"
            user = "" if pd.isna(m.username) else str(m.username)
            evidence = f"aws-auth {key}[{m.index}]"
            for group in tuple(m.groups) or ("",):
                rows.append({"principal": str(m.arn), "via": "aws-auth", "username": user,
                             "group": group, "evidence": evidence})
    for e in access_entries.itertuples(index=False):
        user = "" if pd.isna(e.username) else str(e.username)
        for group in tuple(e.kubernetes_groups) or ("",):
            rows.append({"principal": str(e.principal_arn), "via": "access entry",
                         "username": user, "group": group,
                         "evidence": "access entry kubernetesGroups" if group
                         else "access entry"})
    return pd.DataFrame(rows, columns=IDENTITY_COLUMNS)


def iam_principal_permissions(perms: pd.DataFrame, identities: pd.DataFrame) -> pd.DataFrame:
    """Return the RBAC permission rows IAM principals hold through their mapped identities.

    A principal holds what is bound to each of its groups (Group subjects) and to its user name
    (a User subject; templated names such as ``{{SessionName}}`` never match a binding).
    ``system:masters`` bypasses RBAC altogether: see :func:`masters_principals`.

    Parameters
    ----------
    perms
        ``subject_permissions`` (or a subset).
    identities
        :func:`iam_principal_identities`.

    Returns
    -------
    pandas.DataFrame
        ``perms`` rows with ``principal``, ``principal_via`` (``aws-auth`` / ``access entry``)
        and ``via`` (``Group <name>`` or ``User <name>``).

    Examples
    --------
    >>> perms = pd.DataFrame({"kind": ["Group"], "namespace": [""], "name": ["ops"],
    ...                       "role_name": ["edit"]})
    >>> ids = pd.DataFrame({"principal": ["arn:aws:iam::1:role/a"], "via": ["aws-auth"],
    ...                     "username": ["a"], "group": ["ops"], "evidence": [""]})
    >>> iam_principal_permissions(perms, ids)[["principal", "via", "role_name"]].values.tolist()
    [['arn:aws:iam::1:role/a', 'Group ops', 'edit']]
    """
    ids = identities.rename(columns={"via": "principal_via"})
    groups = (ids[ids["group"] != ""][["principal", "principal_via", "group"]]
              .drop_duplicates().rename(columns={"group": "name"}).assign(kind="Group"))
    users = (ids[(ids["username"] != "") & ~ids["username"].str.contains("{{", regex=False)]
             [["principal", "principal_via", "username"]].drop_duplicates()
             .rename(columns={"username": "name"}).assign(kind="User"))
    keys = pd.concat([groups, users], ignore_index=True)
    out = perms.merge(keys, on=["kind", "name"], how="inner")
    return out.assign(via=out["kind"] + " " + out["name"]).reset_index(drop=True)


def masters_principals(identities: pd.DataFrame) -> pd.DataFrame:
    """The identity rows that put an IAM principal in ``system:masters`` (RBAC bypassed)."""
    return identities[identities["group"] == MASTERS_GROUP].reset_index(drop=True)


def effective_permissions(perms: pd.DataFrame) -> pd.DataFrame:
    """Collapse permission rows to what each subject may do, once per (scope, rule).

    The same rule reached through several bindings counts once; the bindings are kept in
    ``via_bindings`` (a tuple). For the speed target: 20,000 roles and bindings in well under
    5 s (``benchmarks/bench_rbac.py``).

    Parameters
    ----------
    perms
        ``subject_permissions``.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind, namespace, name, scope, scope_namespace, api_groups, resources, verbs,
        resource_names, via_bindings``.

    Examples
    --------
    >>> perms = pd.DataFrame({"kind": ["User", "User"], "namespace": ["", ""],
    ...     "name": ["ann", "ann"], "scope": ["cluster", "cluster"], "scope_namespace": ["", ""],
    ...     "api_groups": [("",), ("",)], "resources": [("pods",), ("pods",)],
    ...     "verbs": [("get",), ("get",)], "resource_names": [(), ()],
    ...     "binding_name": ["a", "b"]})
    >>> effective_permissions(perms)["via_bindings"].tolist()
    [('a', 'b')]
    """
    key = [*SUBJECT_KEY, "scope", "scope_namespace", "api_groups", "resources", "verbs",
           "resource_names"]
    cols = [*key, "via_bindings"]
    if perms.empty:
        return pd.DataFrame(columns=cols)
    return (perms.groupby(key, sort=False, dropna=False)["binding_name"]
            .agg(lambda s: tuple(dict.fromkeys(s))).rename("via_bindings")
            .reset_index()[cols])


# ------------------------------------------------------------------------------------------
# risky-permission classes
# ------------------------------------------------------------------------------------------
AWS_AUTH_NAME = "aws-auth"


def risky_rights(perms: pd.DataFrame) -> dict[str, pd.Series]:
    """Classify permission rows into the risky-permission classes, one mask per class.

    Classes: ``cluster admin`` (cluster-wide), ``read secrets``, ``create workloads``,
    ``exec/attach/port-forward`` (and ephemeral containers), ``bind/escalate/impersonate``,
    ``nodes/proxy``, ``webhook writes``, ``token creation``, ``CSR approval``, ``PV creation``,
    ``delete events``, ``update aws-auth``. A rule restricted by resourceNames counts where
    one object is enough (``nodes/proxy``, tokens, aws-auth).

    Parameters
    ----------
    perms
        ``subject_permissions`` rows (or :func:`service_account_permissions`).

    Returns
    -------
    dict of str to pandas.Series
        A boolean mask on ``perms.index`` per class.

    Examples
    --------
    >>> perms = pd.DataFrame({"api_groups": [("",)], "resources": [("pods/exec",)],
    ...     "verbs": [("create",)], "resource_names": [()], "scope": ["namespace"],
    ...     "role_kind": ["Role"], "role_name": ["x"]})
    >>> [k for k, m in risky_rights(perms).items() if m.any()]
    ['exec/attach/port-forward']
    """
    cluster = perms["scope"].eq("cluster") if "scope" in perms else True
    approval, signers = grants_csr_approval(perms)
    return {
        "cluster admin": holds_cluster_admin(perms) & cluster,
        "read secrets": grants(perms, ("get", "list", "watch"), "secrets"),
        "create workloads": grants_workload_creation(perms),
        "exec/attach/port-forward": (
            grants(perms, ("create", "get"), ("pods/exec", "pods/attach", "pods/portforward"))
            | grants(perms, ("update", "patch"), "pods/ephemeralcontainers")),
        "bind/escalate/impersonate": grants_escalation(perms),
        "nodes/proxy": grants(perms, ("get", "create"), "nodes/proxy", any_name=True),
        "webhook writes": grants(perms, ("create", "update", "patch", "delete"),
                                 ("validatingwebhookconfigurations",
                                  "mutatingwebhookconfigurations"),
                                 "admissionregistration.k8s.io"),
        "token creation": grants(perms, "create", "serviceaccounts/token", any_name=True),
        "CSR approval": (subjects_holding_all(perms, approval, signers)
                         if all(k in perms for k in SUBJECT_KEY) else approval & signers),
        "PV creation": grants(perms, "create", "persistentvolumes"),
        "delete events": (grants(perms, ("delete", "deletecollection"), "events")
                          | grants(perms, ("delete", "deletecollection"), "events",
                                   "events.k8s.io")),
        "update aws-auth": grants(perms, ("update", "patch"), "configmaps",
                                  resource_name=AWS_AUTH_NAME)
        & (perms["scope"].ne("namespace") | perms["scope_namespace"].eq("kube-system")
           if "scope_namespace" in perms else True),
    }
