import re

import pandas as pd

from zt_toolkit.checks.helpers import results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.audit import (
    SUSPICIOUS_CATEGORIES,
    baseline_mask,
    dedupe_events,
    suspicious_masks,
)

# keywords that show a recorded query looked for a category
_KEYWORDS = {
    "pod_exec_attach_by_human": ("exec", "attach"),
    "rbac_or_aws_auth_change": ("aws-auth", "rbac", "role"),
    "anonymous_request": ("anonymous", "unauthenticated"),
    "denied_secret_read": ("secret",),
}
# category → (what it means, keywords)
CATEGORIES = {c: (meaning, _KEYWORDS[c]) for c, meaning in SUSPICIOUS_CATEGORIES.items()}
_FILTER = re.compile(r"\bfilter\b", re.IGNORECASE)
LIMIT = 10


def _event_text(e) -> str:
    obj = "/".join(x for x in (e.resource, e.subresource) if isinstance(x, str)) or (
        e.request_uri if isinstance(e.request_uri, str)
        else "a non-resource URL (requestURI not returned by the query)")
    where = "/".join(x for x in (e.namespace, e.name) if isinstance(x, str))
    text = f"{e.timestamp or '?'} {e.user or '?'} {e.verb or '?'} {obj}"
    text += f" {where}" if where else ""
    text += f" → {e.response_code}" if pd.notna(e.response_code) else ""
    text += f" from {', '.join(e.source_ips)}" if e.source_ips else ""
    return text


def _coverage(queries: pd.DataFrame) -> dict[str, list]:
    """Category → the complete recorded queries that looked for it (or looked at everything)."""
    out: dict[str, list] = {c: [] for c in CATEGORIES}
    for q in queries.itertuples(index=False):
        if q.status != "Complete" or not isinstance(q.query, str):
            continue
        text = q.query.lower()
        for category, (_, words) in CATEGORIES.items():
            if not _FILTER.search(text) or any(w in text for w in words):
                out[category].append(q)
    return out


def _window(qs: list) -> str:
    starts = [q.window_start for q in qs if isinstance(q.window_start, str)]
    ends = [q.window_end for q in qs if isinstance(q.window_end, str)]
    if not starts or not ends:
        return "window unknown"
    return f"window {min(starts)} – {max(ends)}"


@check(
    id="audit_suspicious_activity_absent",
    pillar=Pillar.AUDIT,
    severity=Severity.HIGH,
    title="The audit log shows no pod exec by humans, RBAC tampering, anonymous or denied access",
    requires=("audit_events", "audit_queries"),
    reason="suspicious activity in the audit log",
    remediation="Investigate each event with its user, source IP and user agent (CloudWatch Logs "
    "Insights on /aws/eks/<cluster>/cluster); revoke access that is not explained; then alarm "
    "on these patterns (metric filter + CloudWatch alarm, or GuardDuty EKS Protection) and "
    "replace kubectl exec in production with audited break-glass access.",
    references=("BPG detective", "BPG data", "KS C-0262"),
    parameters={"baseline_principals": ["system:*", "eks:*"]},
)
def audit_suspicious_activity_absent(frames, params) -> pd.DataFrame:
    """Evidence, not configuration: the audit-log window is searched for intrusion traces.

    One row per category (kind AuditQuery, name = the category): pod_exec_attach_by_human
    (pods/exec or pods/attach by a user outside baseline_principals), rbac_or_aws_auth_change
    (writes to kube-system/aws-auth or RBAC objects by a non-baseline principal),
    anonymous_request (system:anonymous or group system:unauthenticated, except the public
    /healthz, /livez, /readyz, /version) and denied_secret_read (get/list/watch on secrets
    answered 401/403, by anyone). Baseline principals default to system:* and eks:*, i.e.
    controllers, nodes and service accounts; an engagement may narrow them (e.g. to
    system:serviceaccount:kube-system:*). Events are classified whatever query returned them;
    a category passes only when a complete recorded query searched for it (its text names the
    category, or it has no filter), otherwise the row is not_assessed with that reason. No
    events and no audit logging on the cluster make the check not_assessed.
    """
    ev, queries = frames.audit_events, frames.audit_queries
    coverage = _coverage(queries)
    if ev.empty:
        clusters = frames.eks_cluster if not frames.gaps(("eks_cluster",)) else None
        if clusters is not None and not clusters.empty and "audit" not in set(
                clusters["logging_enabled"].iloc[0] or ()):
            raise NotAssessed("control-plane audit logging is off: the log holds no events")
        if not any(coverage.values()):
            raise NotAssessed("no complete recorded Logs Insights query over the audit log")
    ev = dedupe_events(ev)
    masks = suspicious_masks(ev, baseline_mask(ev.user, list(params["baseline_principals"])))
    rows = []
    for category, (meaning, _) in CATEGORIES.items():
        hits = ev[masks[category]]
        searched = coverage[category]
        if not hits.empty:
            by_user = hits.user.fillna("?").value_counts()
            who = ", ".join(f"{u} ×{n}" for u, n in by_user.items())
            shown = "; ".join(_event_text(e) for e in hits.head(LIMIT).itertuples(index=False))
            more = f"; and {len(hits) - LIMIT} more" if len(hits) > LIMIT else ""
            rows.append({"kind": "AuditQuery", "namespace": "", "name": category,
                         "status": "fail",
                         "detail": f"{meaning}: {len(hits)} ({who}): {shown}{more}"})
        elif searched:
            truncated = [q.query_id for q in searched
                         if pd.notna(q.records_matched) and q.records_matched > q.results]
            note = (f"; results truncated for query {', '.join(truncated)}" if truncated else "")
            rows.append({"kind": "AuditQuery", "namespace": "", "name": category,
                         "status": "pass",
                         "detail": f"no {meaning} in {len(searched)} quer"
                         f"{'y' if len(searched) == 1 else 'ies'}, {_window(searched)}{note}"})
        else:
            rows.append({"kind": "AuditQuery", "namespace": "", "name": category,
                         "status": "not_assessed",
                         "detail": f"no complete recorded query searched for {meaning}"})
    return results(rows)
