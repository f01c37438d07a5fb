import pandas as pd

from zt_toolkit.checks.helpers import cluster_result, join_names
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.images import admission_gaps


def describe_policies(pol: pd.DataFrame, column: str, limit: int = 6) -> str:
    """Name the policies with rules in ``column``: engine, kind, name, mode, Kyverno rule names."""
    rows = pol[pol[column].map(len) > 0]
    parts = []
    for r in rows.head(limit).itertuples(index=False):
        where = f"{r.namespace}/{r.name}" if r.namespace else r.name
        engine = {"vap": "", "sigstore": "sigstore "}.get(r.engine, f"{r.engine.title()} ")
        text = f'{engine}{r.kind} "{where}" ({r.mode})'
        if r.kind in ("ClusterPolicy", "Policy"):
            text += f" rules {join_names(getattr(r, column), 4)}"
        elif r.engine == "vap":
            text += f" binds {getattr(r, column)[0].split(' (binding')[0]!r}"
        parts.append(text)
    more = len(rows) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


@check(
    id="admission_policy_engine_enforcing",
    pillar=Pillar.POD_SECURITY,
    severity=Severity.HIGH,
    title="An admission policy engine blocks pods that break pod security rules",
    requires=("admission_policies",),
    reason="no admission policy denies insecure pods",
    remediation="Enforce pod security at admission: set validationFailureAction (Kyverno < 1.13) "
    "or rules[].validate.failureAction (Kyverno >= 1.13) to Enforce on the pod security "
    "policies, set enforcementAction: deny on the Gatekeeper constraints, or bind a "
    "ValidatingAdmissionPolicy with validationActions: [Deny]. Roll out in Audit first and "
    "read the policy reports.",
    references=("BPG pods", "KS C-0036", "KS C-0039", "NSA pod security"),
)
def admission_policy_engine_enforcing(frames) -> pd.DataFrame:
    """Without an enforcing policy engine nothing beyond PSA labels stops an insecure pod.

    Passes when at least one policy *denies* pods (or their controllers) on security fields
    (securityContext, host namespaces, hostPath, capabilities, seccomp, Kyverno podSecurity ...):
    a Kyverno ClusterPolicy/Policy rule in Enforce (rule-level validate.failureAction over the
    deprecated spec.validationFailureAction, default Audit), a Kyverno ValidatingPolicy with
    Deny, a Gatekeeper constraint with enforcementAction deny (its default) on pods, or a
    ValidatingAdmissionPolicyBinding with Deny bound to a policy that matches pods. Audit/warn
    modes and rules about labels only do not count (the detail lists them). It never fails on
    missing data: if nothing enforcing was found while Kyverno or Gatekeeper resources, or the
    constraints behind visible ConstraintTemplates, were not collected, it is not assessed.
    """
    pol = frames.admission_policies
    if pol["pod_security_rules_enforced"].map(len).gt(0).any():
        detail = "enforced: " + describe_policies(pol, "pod_security_rules_enforced")
        return cluster_result(frames, failed=False, detail=detail)
    gaps = admission_gaps(frames)
    if gaps:
        raise NotAssessed("no enforcing pod security policy found, but " + "; ".join(gaps))
    seen = []
    for column, label in (("pod_security_rules_audited", "audit only"),
                          ("other_pod_rules_enforced", "enforced but not about pod security")):
        text = describe_policies(pol, column)
        if text:
            seen.append(f"{label}: {text}")
    if not frames.gaps(["admission_webhooks"]):
        wh = frames.admission_webhooks
        other = wh[wh.engine.isin(["kubewarden", "other"]) & wh.targets_pods]
        if not other.empty:
            seen.append("webhooks on pods not evaluated: "
                        + join_names(dict.fromkeys(other.name), 5))
    detail = "; ".join(seen) if seen else "no Kyverno, Gatekeeper or ValidatingAdmissionPolicy " \
        "policy on pods"
    return cluster_result(frames, failed=True, detail=detail)
