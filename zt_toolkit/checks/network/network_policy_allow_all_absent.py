import pandas as pd

from zt_toolkit.analysis.selectors import describe_selector
from zt_toolkit.checks.helpers import results_per_row
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="network_policy_allow_all_absent",
    pillar=Pillar.NETWORK,
    severity=Severity.HIGH,
    title="No NetworkPolicy has a rule that allows every peer on every port",
    requires=("network_policies",),
    reason="policy rule re-opens all traffic",
    remediation="Replace the empty rule (`ingress: [{}]` / `egress: [{}]`, or an ipBlock "
    "0.0.0.0/0 without ports) with the peers and ports the workload needs, e.g. "
    "`ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}], ports: [{port: 8080}]}]`.",
    references=("Steampipe network_policy_default_dont_allow_ingress",
                "Steampipe network_policy_default_dont_allow_egress", "BPG network"),
)
def network_policy_allow_all_absent(frames) -> pd.DataFrame:
    """One allow-all rule silently defeats every deny for the pods it selects (policies add up).

    A rule re-opens everything when it names no port and either no peer (``- {}``) or an
    ``ipBlock`` of ``0.0.0.0/0`` / ``::/0`` without ``except``. A rule restricted by port
    (``- ports: [{port: 443}]``) is not allow-all. Rules of a direction missing from the
    (defaulted) ``policyTypes`` have no effect and are ignored. Every policy is judged,
    kube-system included.
    """
    p = frames.network_policies
    failed = p.allow_all_rules.map(len).gt(0)
    detail = pd.Series([
        f"{'; '.join(rules)} (podSelector {describe_selector(sel)})" if rules
        else f"no allow-all rule (policyTypes {', '.join(types)})"
        for rules, sel, types in zip(p.allow_all_rules, p.pod_selector, p.policy_types,
                                     strict=True)
    ], index=p.index, dtype=str)
    return results_per_row(p, failed, detail)
