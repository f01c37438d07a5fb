import pandas as pd

from zt_toolkit.analysis.rbac import uses_wildcard, wildcard_fields
from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="rbac_wildcard_absent",
    pillar=Pillar.IDENTITY,
    severity=Severity.MEDIUM,
    title="Roles and ClusterRoles name their verbs, resources and API groups without wildcards",
    requires=("rbac_roles", "rbac_rules"),
    reason="role uses * in verbs, resources or apiGroups",
    remediation="List the verbs, resources and apiGroups the role needs instead of '*' "
    "(kubectl edit role <name> -n <ns> / kubectl edit clusterrole <name>); "
    "kubectl auth can-i --list --as=system:serviceaccount:<ns>:<sa> shows what is used.",
    references=("CIS 4.1.3", "KS C-0187", "PW rbac_minimize_wildcard_use_roles"),
)
def rbac_wildcard_absent(frames) -> pd.DataFrame:
    """A wildcard grants today's and tomorrow's resources and verbs, unseen by reviewers.

    Every new CRD, every subresource (pods/exec, serviceaccounts/token) and the
    escalate/bind/impersonate verbs come with it. Only the literal ``*`` counts (``*/scale``
    names one subresource). Aggregated ClusterRoles are judged on their effective rules, so
    admin/edit/view inherit a wildcard that a contributing ClusterRole adds. Kubernetes and EKS
    system roles (system:*, eks:*, cluster-admin, aws-node) are judged by the EKS baseline.
    """
    roles, rules = frames.rbac_roles, frames.rbac_rules
    bad = rules[uses_wildcard(rules)]
    text = pd.Series([f"rule {r.rule_index + 1}: * in {', '.join(wildcard_fields(r))}"
                      + (f' (aggregated from "{r.aggregated_from}")'
                         if isinstance(r.aggregated_from, str) else "")
                      for r in bad.itertuples(index=False)], index=bad.index, dtype=object)
    found = (pd.DataFrame({**{k: bad[k] for k in KEY}, "text": text})
             .groupby(KEY, sort=False)["text"].agg("; ".join))
    out = roles[KEY].reset_index(drop=True)
    detail = found.reindex(pd.MultiIndex.from_frame(out))
    out["status"] = ["fail" if isinstance(d, str) else "pass" for d in detail]
    out["detail"] = [d if isinstance(d, str) else "" for d in detail]
    return out
