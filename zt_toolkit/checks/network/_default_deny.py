"""The shared judgement of the two default-deny checks (ingress and egress are twins)."""

from __future__ import annotations

import pandas as pd

from zt_toolkit.checks.helpers import join_names, result, results
from zt_toolkit.frames.network import enforcement_caveat, namespaces_in_scope, with_caveat

# direction → what "allow all" opens, in the detail's words
_OPENED = {"Ingress": "every source and port", "Egress": "every destination"}


def default_deny_results(frames, direction: str) -> pd.DataFrame:
    """One row per namespace in scope: whether a select-all policy denies ``direction``.

    A policy counts when it selects all pods, has the direction in its (defaulted) policyTypes
    and no rule for it — for Egress, rules that allow only DNS count as well. It fails when a
    policy that also selects all pods re-opens the direction to everything.
    """
    side = direction.lower()
    p = frames.network_policies
    everyone = p[p.selects_all_pods & p.policy_types.map(lambda t: direction in t)]
    denying = everyone[f"denies_all_{side}"].copy()
    dns_only = everyone.egress_dns_only if direction == "Egress" else denying & False
    denying |= dns_only
    deny = everyone[denying].groupby("namespace")["name"].agg(list)
    dns = set(everyone.name[dns_only] + "@" + everyone.namespace[dns_only])
    reopen = everyone[everyone[f"allow_all_{side}"]].groupby("namespace")["name"].agg(list)
    allow = everyone[~denying].groupby("namespace")["name"].agg(list)
    caveat = enforcement_caveat(frames)
    rows = []
    for ns in namespaces_in_scope(frames).itertuples(index=False):
        denies, reopens = deny.get(ns.name), reopen.get(ns.name)
        if denies and reopens:
            failed, detail = True, (f"default deny {join_names(denies, 3)} is re-opened by "
                                    f"{join_names(reopens, 3)} (allows {_OPENED[direction]})")
        elif denies:
            shown = [f"{d} (allows only DNS)" if f"{d}@{ns.name}" in dns else d for d in denies]
            failed, detail = False, f"default deny {side}: {join_names(shown, 3)}"
        else:
            failed, detail = True, f"no policy with an empty podSelector denies all {side}"
            if ns.name in allow:
                detail += (f"; policies selecting all pods allow some {side}: "
                           + join_names(allow[ns.name], 3))
        rows.append(result(ns.kind, ns.namespace, ns.name, failed=failed,
                           detail=with_caveat(detail, caveat)))
    return results(rows)
