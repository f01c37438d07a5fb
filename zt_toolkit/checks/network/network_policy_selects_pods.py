import pandas as pd

from zt_toolkit.analysis.selectors import describe_selector
from zt_toolkit.checks.helpers import join_names, results_per_row
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="network_policy_selects_pods",
    pillar=Pillar.NETWORK,
    severity=Severity.LOW,
    title="Every NetworkPolicy selects at least one existing workload",
    requires=("network_policies", "workloads", "network_policy_targets"),
    reason="policy selects no existing pod",
    remediation="Fix the podSelector to match the workload's pod template labels (kubectl get "
    "pods -n <ns> --show-labels), or delete the stale policy.",
    references=("KS C-0299", "BPG network"),
)
def network_policy_selects_pods(frames) -> pd.DataFrame:
    """Dangling policies protect nothing while suggesting that they do.

    Usually a label typo or a renamed app: the workload it was meant for runs unprotected.

    Judged against the workloads' pod template labels (pods of bare Pods), in the policy's
    namespace, with exact label-selector semantics. A malformed selector (unknown operator)
    selects nothing and fails. A policy in a namespace without workloads fails as well.
    """
    p = frames.network_policies
    t = frames.network_policy_targets
    selected = (t.assign(what=t.kind + "/" + t.name)
                .groupby(["policy_namespace", "policy_name"], sort=False)["what"]
                .agg(lambda s: (len(s), join_names(s, 3))))
    found = [selected.get(k) for k in zip(p.namespace, p.name, strict=True)]
    populated = set(frames.workloads.namespace)
    detail = pd.Series([
        f"selects {f[0]} workload(s): {f[1]}" if isinstance(f, tuple)
        else f"namespace {ns} runs no workload" if ns not in populated
        else f"podSelector {_selector(sel)} matches no workload in namespace {ns}"
        for f, sel, ns in zip(found, p.pod_selector, p.namespace, strict=True)
    ], index=p.index, dtype=str)
    failed = pd.Series([not isinstance(f, tuple) for f in found], index=p.index)
    return results_per_row(p, failed, detail)


def _selector(selector) -> str:
    text = describe_selector(selector)
    return "is malformed (unknown operator or missing values) and" if text == "<none>" else text
