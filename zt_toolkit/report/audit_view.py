"""The audit pillar's views: summaries, charts and narrative for notebook `06_audit`.

Who made what change, when (:func:`summarize_audit_event_log`,
:func:`plot_audit_event_timeline`), where the evidence comes from (:func:`summarize_log_coverage`,
:func:`summarize_guardduty`, :func:`summarize_cloudtrail`), which nodes a runtime sensor watches
(:func:`summarize_sensor_coverage`, :func:`plot_sensor_coverage`) and what to do about it
(:func:`narrate_audit_remediation`). The classifications are the checks' own
(:mod:`zt_toolkit.frames.audit` holds the shared helpers), so a table never contradicts a
finding.

Examples
--------
>>> import zt_toolkit.report as zt
>>> a = zt.setup("../reports/demo-snapshot", None, "Acme Shop", "../reports/demo-report")
... # doctest: +SKIP
>>> zt.summarize_audit_event_log(a).head()                              # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown

from zt_toolkit.frames.audit import (
    FARGATE_LABEL,
    NO_POD,
    SUSPICIOUS_CATEGORIES,
    baseline_mask,
    dedupe_events,
    guardduty_agent_opted_out,
    sensor_gap,
    suspicious_masks,
    untolerated_taints,
)
from zt_toolkit.report import tables as t
from zt_toolkit.report.charts import (
    chart_layout,
    placeholder,
    placeholder_if_empty,
    plotly_escape,
)
from zt_toolkit.report.markdown import fenced, is_k8s_name
from zt_toolkit.report.notebook import md_escape, plural
from zt_toolkit.report.theme import MUTED, SEVERITY_COLORS, STATUS_COLORS
from zt_toolkit.sources.catalog import SYSTEM_NAMESPACES

if TYPE_CHECKING:
    from zt_toolkit.assessment import Assessment

SUSPICIOUS_CHECK = "audit_suspicious_activity_absent"
LOGGING_CHECK = "eks_control_plane_logging_enabled"
RETENTION_CHECK = "eks_log_retention_configured"



# ------------------------------------------------------------------------------------------
# control-plane log types and audit events (shared with the tables below)
# ------------------------------------------------------------------------------------------

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


_LOG_PURPOSE = {
    "api": "API server requests (who called what)",
    "audit": "Kubernetes audit trail: who changed what, when",
    "authenticator": "IAM principal behind each Kubernetes identity",
    "controllerManager": "controller decisions (useful for incident timelines)",
    "scheduler": "scheduling decisions (rarely needed for security)",
}


_LOG_REQUIRED = ("api", "audit", "authenticator")


def summarize_control_plane_logging(assessment: Assessment) -> pd.DataFrame:
    """List the five EKS control-plane log types: enabled or not, and what each is for.

    Columns: ``log_type, enabled, required`` (api, audit and authenticator are the zero-trust
    minimum), ``purpose``.
    """
    cols = ["log_type", "enabled", "required", "purpose"]
    c, why = t.frame_or_note(assessment, "eks_cluster")
    if c is None or c.empty:
        return t.empty_table(cols, f"Control-plane logging {why or 'not collected'}.")
    enabled = set(c.iloc[0]["logging_enabled"] or ())
    return pd.DataFrame([{"log_type": t, "enabled": t in enabled, "required": t in _LOG_REQUIRED,
                          "purpose": _LOG_PURPOSE[t]} for t in CONTROL_PLANE_LOG_TYPES])[cols]


AUDIT_EVENT_FRAME = "audit_events"


#: What an audit event means for an investigator, most alarming first.
AUDIT_EVENT_CATEGORIES = ("exec / attach into a pod", "port-forward to a pod", "aws-auth change",
                          "RBAC change", "anonymous request", "denied secret read",
                          "denied request", "secret read", "other")


_WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}


_RBAC_RESOURCES = {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}


def audit_event_category(event: dict[str, Any]) -> str:
    """Name what an audit event means for an investigator (exec into a pod, RBAC change …).

    One of :data:`AUDIT_EVENT_CATEGORIES`, the first that applies.
    """
    verb = str(event.get("verb") or "")
    resource = str(event.get("resource") or "")
    sub = str(event.get("subresource") or "")
    user = str(event.get("user") or "")
    code = event.get("response_code")
    groups = event.get("groups") or ()
    group = event.get("api_group") if isinstance(event.get("api_group"), str) else ""
    if sub in ("exec", "attach"):
        return "exec / attach into a pod"
    if sub == "portforward":
        return "port-forward to a pod"
    if (resource == "configmaps" and event.get("namespace") == "kube-system"
            and event.get("name") == "aws-auth" and verb in _WRITE_VERBS):
        return "aws-auth change"
    # the query may not return objectRef.apiGroup: an RBAC resource name is enough then
    rbac = group == "rbac.authorization.k8s.io" or (not group and resource in _RBAC_RESOURCES)
    if rbac and verb in _WRITE_VERBS:
        return "RBAC change"
    if user == "system:anonymous" or "system:unauthenticated" in groups:
        return "anonymous request"
    denied = isinstance(code, (int, np.integer)) and int(code) in (401, 403)
    if resource == "secrets" and denied:
        return "denied secret read"
    if denied:
        return "denied request"
    if resource == "secrets" and verb in ("get", "list", "watch"):
        return "secret read"
    return "other"


def audit_events_with_category(assessment: Assessment) -> tuple[pd.DataFrame | None, str]:
    """Audit events with a ``ts`` (UTC) and a ``category`` column, or ``(None, why)``."""
    ev, why = t.frame_or_note(assessment, AUDIT_EVENT_FRAME)
    if ev is None:
        return None, why
    if ev.empty:
        return ev.assign(ts=pd.Series(dtype="datetime64[ns, UTC]"),
                         category=pd.Series(dtype=str)), ""
    time_col = t.first_column(ev, ("timestamp", "time", "event_time"))
    if time_col is None:
        return None, "not available: audit events carry no timestamp"
    records = ev.to_dict(orient="records")
    return ev.assign(ts=pd.to_datetime(ev[time_col], utc=True, errors="coerce",
                                       format="ISO8601"),
                     category=[audit_event_category(r) for r in records]), ""


def summarize_audit_events(assessment: Assessment) -> pd.DataFrame:
    """Audit-log events recorded in the snapshot, per category: count, first and last, who.

    Reads the ``audit_events`` frame (recorded CloudWatch Logs Insights results). Columns:
    ``category, events, first_seen, last_seen, principals``; most events first.
    """
    cols = ["category", "events", "first_seen", "last_seen", "principals"]
    ev, why = audit_events_with_category(assessment)
    if ev is None:
        return t.empty_table(cols, f"Audit-log events {why}.")
    if ev.empty:
        return t.empty_table(cols, "The recorded audit-log queries returned no event.")
    who = ev["user"].astype("string").fillna("") if "user" in ev.columns else ""
    df = pd.DataFrame({"category": ev["category"], "ts": ev["ts"], "who": who})
    out = (df.groupby("category")
           .agg(events=("ts", "size"), first_seen=("ts", "min"), last_seen=("ts", "max"),
                principals=("who", lambda s: t.join_examples(sorted(set(s) - {""}))))
           .reset_index().sort_values(["events", "category"], ascending=[False, True]))
    return out[cols].reset_index(drop=True)


def summarize_audit_queries(assessment: Assessment) -> pd.DataFrame:
    """The CloudWatch Logs Insights queries run over the audit log, named, with their window.

    Columns: ``query, window, status, results, text`` — so that the client can re-run them.
    """
    cols = ["query", "window", "status", "results", "text"]
    q, why = t.frame_or_note(assessment, "audit_queries")
    if q is None:
        return t.empty_table(cols, f"Audit-log queries {why}.")
    if q.empty:
        return t.empty_table(cols, "No audit-log query was recorded in the snapshot.")
    window = q["window_start"].fillna("?") + " → " + q["window_end"].fillna("?")
    return pd.DataFrame({
        "query": q["name"].fillna(q["query_id"]), "window": window,
        "status": q["status"].fillna("unknown"), "results": q["results"],
        "text": q["query"].fillna(""),
    })[cols].reset_index(drop=True)


def plot_control_plane_logging(assessment: Assessment) -> go.Figure:
    """Draw the five control-plane log types as tiles: enabled, or missing (required or not)."""
    title = "EKS control-plane logs sent to CloudWatch"
    s = summarize_control_plane_logging(assessment)
    empty = placeholder_if_empty(s, title, "Control-plane logging not collected.")
    if empty is not None:
        return empty
    states = ["enabled" if e else "missing (required)" if r else "missing (optional)"
              for e, r in zip(s["enabled"], s["required"], strict=True)]
    colors = {"enabled": STATUS_COLORS["pass"], "missing (required)": STATUS_COLORS["fail"],
              "missing (optional)": STATUS_COLORS["not_applicable"]}
    fig = go.Figure()
    for state in colors:
        mask = [st == state for st in states]
        if not any(mask):
            continue
        fig.add_bar(x=[lt for lt, m in zip(s["log_type"], mask, strict=True) if m],
                    y=[1] * sum(mask), name=state, marker_color=colors[state],
                    text=[state] * sum(mask), textposition="inside", insidetextanchor="middle",
                    hoverinfo="x+name")
    fig.update_yaxes(visible=False, range=[0, 1])
    fig.update_xaxes(categoryorder="array", categoryarray=list(CONTROL_PLANE_LOG_TYPES),
                     showgrid=False)
    return chart_layout(fig, title, height=220, bargap=0.06)



def _params(assessment: Assessment, check_id: str) -> dict[str, Any]:
    """A check's parameters as the engagement config sets them (the check's own view)."""
    from zt_toolkit.checks.registry import get_check  # the check modules load on first use

    return assessment.config.params_for(check_id, get_check(check_id).parameters)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------------------------------
# who made what change, when
# ------------------------------------------------------------------------------------------
EVENT_COLUMNS = ["time", "category", "user", "groups", "principal_type", "iam_principal",
                 "mapped_by", "verb", "target", "source_ip", "user_agent", "response_code",
                 "suspicious", "counted_as"]
PRINCIPAL_TYPES = ("human", "automation", "anonymous", "baseline")
# words in a user or IAM principal name that say a pipeline, not a person, holds it
_AUTOMATION = re.compile(
    r"(?:^|[^a-z])(jenkins|terraform|ci|cd|cicd|deploy|deployer|github|gitlab|argo|argocd|"
    r"flux|pipeline|automation|bot|codebuild|codepipeline|atlantis|spinnaker|tekton|"
    r"buildkite|circleci)(?:[^a-z]|$)", re.IGNORECASE)
_ASSUMED_ROLE = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/(.+)$")
_IAM_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:.*/)?([^/]+)$")
# aws-iam-authenticator / access entry username templates
_TEMPLATE = {
    "{{SessionName}}": r"[\w+=,.@-]+", "{{SessionNameRaw}}": r"[\w+=,.@-]+",
    "{{EC2PrivateDNSName}}": r"[a-z0-9.-]+", "{{AccountID}}": r"\d{12}",
    "{{AccessKeyID}}": r"[A-Z0-9]+",
}


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\{[A-Za-z0-9]+\}\})", template)
    return re.compile("".join(_TEMPLATE.get(p, r"[^/]+") if p.startswith("{{")
                              else re.escape(p) for p in parts) + "$")


def principal_resolver(assessment: Assessment) -> Callable[[str], tuple[str, str]]:
    """A function: Kubernetes username → (IAM principal ARN, how we know it); "" when unknown.

    What tells it, first match: an access entry or an aws-auth ``mapRoles`` / ``mapUsers``
    entry whose ``username`` (a template such as ``platform-admin:{{SessionName}}``) matches;
    else the username itself when it is an IAM ARN (an assumed-role session names its role).
    A service account is named as such (its requests carry no IAM principal).

    Examples
    --------
    >>> arn, how = principal_resolver(a)("platform-admin:sam.r")             # doctest: +SKIP
    >>> arn, how                                                             # doctest: +SKIP
    ('arn:aws:iam::111122223333:role/acme-platform-admin',
     'aws-auth mapRoles (groups acme:platform-admins)')
    """
    mappings: list[tuple[re.Pattern[str], str, str]] = []
    entries, _ = t.frame_or_note(assessment, "access_entries")
    for e in ([] if entries is None else entries.itertuples(index=False)):
        arn = str(e.principal_arn)
        username = _text(e.username)
        groups = ", ".join(e.kubernetes_groups)
        how = "access entry" + (f" (groups {groups})" if groups else "")
        policies = ", ".join(p["policy_name"] for p in e.policies)
        how += f" with {policies}" if policies else ""
        if not username and (m := _ROLE_ARN.match(arn)):  # EKS's default for a role entry
            username = f"arn:{m[1]}:sts::{m[2]}:assumed-role/{m[3]}/{{{{SessionName}}}}"
        if username:
            mappings.append((_template_regex(username), arn, how))
        elif ":user/" in arn:
            mappings.append((re.compile(re.escape(arn) + "$"), arn, how))
    auth, _ = t.frame_or_note(assessment, "aws_auth")
    for m in ([] if auth is None else auth.itertuples(index=False)):
        if m.map_type == "account" or not isinstance(m.arn, str):
            continue
        key = "mapRoles" if m.map_type == "role" else "mapUsers"
        groups = ", ".join(m.groups)
        how = f"aws-auth {key}" + (f" (groups {groups})" if groups else "")
        username = _text(m.username) or (m.arn if m.map_type == "user" else "")
        if username:
            mappings.append((_template_regex(username), m.arn, how))

    def resolve(user: str) -> tuple[str, str]:
        if user.startswith("system:serviceaccount:"):
            return "", "Kubernetes service account token"
        if not user or user == "system:anonymous":
            return "", ""
        found = [(arn, how) for rx, arn, how in mappings if rx.match(user)]
        arns = list(dict.fromkeys(arn for arn, _ in found))
        if found:
            return " or ".join(arns), "; ".join(dict.fromkeys(how for _, how in found))
        if m := _ASSUMED_ROLE.match(user):
            return (f"arn:{m[1]}:iam::{m[2]}:role/{m[3]}",
                    "username is the IAM session ARN (no mapping found)")
        if _IAM_ARN.match(user):
            return user, "username is the IAM ARN (no mapping found)"
        return "", ""

    return resolve


def principal_type(user: str, groups: tuple[str, ...], iam_principal: str,
                   baseline: bool) -> str:
    """Classify a principal: ``anonymous``, ``baseline``, ``automation`` or ``human``.

    Baseline: a principal that matches the check's ``baseline_principals`` (by default
    ``system:*`` and ``eks:*``: controllers, nodes), except the service accounts of the
    client's own namespaces, which are workload identities. Automation: a service account
    outside the system namespaces, or a name (user, IAM role or user) that says CI/CD
    (jenkins, terraform, github, argo, deployer …). Everything else that authenticates is
    taken for a person.

    Examples
    --------
    >>> principal_type("jenkins", ("system:masters",), "arn:aws:iam::1:user/jenkins", False)
    'automation'
    """
    if user == "system:anonymous" or "system:unauthenticated" in groups:
        return "anonymous"
    if user.startswith("system:serviceaccount:"):
        namespace = user.split(":")[2] if user.count(":") >= 3 else ""
        return "baseline" if baseline and namespace in SYSTEM_NAMESPACES else "automation"
    if baseline:
        return "baseline"
    if _AUTOMATION.search(user) or _AUTOMATION.search(iam_principal.rsplit("/", 1)[-1]
                                                      if iam_principal else ""):
        return "automation"
    return "human"


def _target(e: Any) -> str:
    obj = "/".join(x for x in (e.resource, e.subresource) if isinstance(x, str) and x)
    if not obj:
        obj = e.request_uri if isinstance(e.request_uri, str) else "(non-resource URL)"
    where = "/".join(x for x in (e.namespace, e.name) if isinstance(x, str) and x)
    return f"{obj} {where}".strip()


def _event_rows(assessment: Assessment) -> tuple[pd.DataFrame | None, str]:
    """Deduplicated audit events with every column of the event log plus ``ts``."""
    ev, why = t.frame_or_note(assessment, AUDIT_EVENT_FRAME)
    if ev is None:
        return None, why
    if ev.empty:
        return ev, ""
    ev = dedupe_events(ev).reset_index(drop=True)
    patterns = list(_params(assessment, SUSPICIOUS_CHECK)["baseline_principals"])
    baseline = baseline_mask(ev.user, patterns)
    masks = suspicious_masks(ev, baseline)
    resolve = principal_resolver(assessment)
    plain = ev.astype(object).where(ev.notna(), None)  # NA → None for the category rules
    rows = []
    for i, e in enumerate(plain.itertuples(index=False)):
        user = _text(e.user)
        groups = tuple(e.groups or ())
        arn, how = resolve(user)
        counted = [c for c in SUSPICIOUS_CATEGORIES if masks[c].iloc[i]]
        rows.append({
            "ts": pd.to_datetime(e.timestamp, utc=True, errors="coerce", format="ISO8601"),
            "category": audit_event_category(e._asdict()),
            "user": user, "groups": ", ".join(groups),
            "principal_type": principal_type(user, groups, arn, bool(baseline.iloc[i])),
            "iam_principal": arn, "mapped_by": how, "verb": _text(e.verb),
            "target": _target(e), "namespace": _text(e.namespace), "name": _text(e.name),
            "resource": _text(e.resource), "source_ip": ", ".join(e.source_ips or ()),
            "user_agent": _text(e.user_agent), "response_code": e.response_code,
            "suspicious": bool(counted),
            "counted_as": "; ".join(SUSPICIOUS_CATEGORIES[c] for c in counted),
            "check_categories": tuple(counted),
        })
    out = pd.DataFrame(rows)
    out["time"] = [ts.strftime("%Y-%m-%d %H:%M:%S UTC") if pd.notna(ts) else "unknown"
                   for ts in out["ts"]]
    out["response_code"] = out["response_code"].astype("Int64")
    return out.sort_values("ts", ascending=False, kind="stable",
                           na_position="last").reset_index(drop=True), ""


def summarize_audit_event_log(assessment: Assessment) -> pd.DataFrame:
    """One row per recorded audit event, newest first: who made what change, when.

    Columns: ``time`` (UTC), ``category`` (exec / attach into a pod, port-forward, aws-auth
    change, RBAC change, anonymous request, denied secret read …), ``user`` and ``groups`` as
    the audit log names them, ``principal_type`` (human, automation, anonymous, or baseline =
    a system principal in ``audit_suspicious_activity_absent``'s ``baseline_principals``),
    ``iam_principal`` and ``mapped_by`` (the access entry or aws-auth mapping, or the
    username's own ARN, that names the IAM principal), ``verb``, ``target``
    (resource/subresource namespace/name), ``source_ip``, ``user_agent``, ``response_code``,
    ``suspicious`` (the check counts it) and ``counted_as`` (in which of the check's
    categories). An event returned at several stages is one row (by ``auditID``).

    Examples
    --------
    >>> log = summarize_audit_event_log(a)                               # doctest: +SKIP
    >>> log[log.suspicious][["time", "user", "target"]].head(3)           # doctest: +SKIP
    """
    out, why = _event_rows(assessment)
    if out is None:
        return t.empty_table(EVENT_COLUMNS, f"Audit-log events {why}.")
    if out.empty:
        return t.empty_table(EVENT_COLUMNS, "The recorded audit-log queries returned no event.")
    df = out[EVENT_COLUMNS].copy()
    df.attrs["column_labels"] = {
        "principal_type": "Type", "iam_principal": "IAM principal", "mapped_by": "Known from",
        "source_ip": "Source IP", "user_agent": "User agent", "response_code": "Code",
        "counted_as": "Counted by the check as"}
    # the page shows who, what and when; groups, mapping, client and category stay in the frame
    df.attrs["display_columns"] = ["time", "category", "user", "principal_type", "iam_principal",
                                   "verb", "target", "source_ip", "response_code", "suspicious"]
    df.attrs["note"] = (f"{plural(int(df['suspicious'].sum()), 'event')} of {len(df)} counted "
                        "as suspicious by audit_suspicious_activity_absent.")
    return df


_TYPE_COLORS = {"human": SEVERITY_COLORS["critical"], "automation": "#e8a33d",
                "anonymous": "#8e6cbf", "baseline": "#9aa5b1"}


def _short_user(user: str) -> str:
    if user.startswith("system:serviceaccount:"):
        return "sa " + "/".join(user.split(":")[2:4])
    if user.startswith("arn:"):
        return user.rsplit("/", 1)[-1]
    return user


def plot_audit_event_timeline(assessment: Assessment) -> go.Figure:
    """Draw every recorded audit event on a time axis, one row per category.

    Colour is the principal type (human, automation, anonymous, baseline); filled markers are
    the events the check counts as suspicious, open ones the others. Each (category, user)
    with a suspicious event is labelled once with the short user name and the count, so the
    static SVG answers "who" without hovering; the hover shows user, target, source and code.

    Examples
    --------
    >>> plot_audit_event_timeline(a).show()                                  # doctest: +SKIP
    """
    title = "Audit-log events: who did what, when"
    ev, why = _event_rows(assessment)
    if ev is None:
        return placeholder(title, f"Audit-log events {why}.")
    ev = ev.dropna(subset=["ts"])
    if ev.empty:
        return placeholder(title, "The recorded audit-log queries returned no event.")
    order = [c for c in AUDIT_EVENT_CATEGORIES if c in set(ev["category"])]
    fig = go.Figure()
    for kind in PRINCIPAL_TYPES:
        for suspicious in (True, False):
            part = ev[(ev.principal_type == kind) & (ev.suspicious == suspicious)]
            if part.empty:
                continue
            hover = ["<br>".join((plotly_escape(u), plotly_escape(f"{v} {tg}"),
                                  plotly_escape(f"from {ip or '?'} → {code}")))
                     for u, v, tg, ip, code in zip(part.user, part.verb, part.target,
                                                   part.source_ip, part.response_code,
                                                   strict=True)]
            fig.add_scatter(
                x=part.ts, y=part.category, mode="markers",
                name=f"{kind}{' (suspicious)' if suspicious else ''}",
                marker={"size": 11 if suspicious else 9, "color": _TYPE_COLORS[kind],
                        "symbol": "circle" if suspicious else "circle-open",
                        "line": {"width": 1.5, "color": _TYPE_COLORS[kind]}},
                customdata=hover, hovertemplate="%{x}<br>%{customdata}<extra></extra>")
    labelled = ev[ev.suspicious].groupby(["category", "user"], sort=False)
    for i, ((category, user), part) in enumerate(labelled):
        last = part.ts.max()
        label = _short_user(user) + (f" ×{len(part)}" if len(part) > 1 else "")
        fig.add_annotation(x=last, y=category, text=plotly_escape(label),
                           showarrow=False, yshift=13 if i % 2 == 0 else -13,
                           xanchor="left", font={"size": 10, "color": MUTED})
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(order)), title_text="")
    fig.update_xaxes(title_text="time (UTC)")
    fig.update_layout(title={"text": title}, height=160 + 48 * len(order),
                      legend={"orientation": "h", "y": -0.25, "x": 0})
    return fig


# ------------------------------------------------------------------------------------------
# log coverage, GuardDuty, CloudTrail
# ------------------------------------------------------------------------------------------
LOG_COVERAGE_COLUMNS = ["item", "value", "status", "note"]


def _describe_cluster(assessment: Assessment) -> dict[str, Any]:
    for rec in assessment.snapshot.aws("eks", "describe_cluster"):
        cluster = (rec.get("response") or {}).get("cluster")
        if cluster:
            return cluster
    return {}


def _human_bytes(n: Any) -> str:
    if n is None or pd.isna(n):
        return "not reported"
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return str(n)


def cluster_log_group(assessment: Assessment) -> str:
    """The control-plane log group of the assessed cluster: ``/aws/eks/<cluster>/cluster``."""
    return f"/aws/eks/{assessment.snapshot.cluster.name}/cluster"


def _raw_log_group(assessment: Assessment, name: str) -> dict[str, Any]:
    for rec in assessment.snapshot.aws("logs", "describe_log_groups"):
        for g in (rec.get("response") or {}).get("logGroups") or ():
            if g.get("logGroupName") == name:
                return g
    return {}


def summarize_log_coverage(assessment: Assessment) -> pd.DataFrame:
    """Where the audit trail lives: control-plane log types, their log group and its settings.

    One row per item (``item, value, status, note``): each of the five log types
    (enabled/disabled, from the union of every ``logging.clusterLogging`` entry, naming the
    entry that says so; ``status`` fail for a required type that is off, with the required set
    of ``eks_control_plane_logging_enabled``), the log group ``/aws/eks/<cluster>/cluster``,
    its retention (days, or never expire, judged as ``eks_log_retention_configured`` does),
    its encryption (customer KMS key or the CloudWatch default), its class, metric filters and
    stored bytes. Items without a verdict have no status.

    Examples
    --------
    >>> summarize_log_coverage(a).set_index("item").loc["retention", "value"]  # doctest: +SKIP
    '30 days'
    """
    rows: list[dict[str, Any]] = []
    clusters, why = t.frame_or_note(assessment, "eks_cluster")
    required = list(_params(assessment, LOGGING_CHECK)["required"])
    if clusters is None or clusters.empty:
        rows.append({"item": "control-plane log types", "value": "unknown", "status": None,
                     "note": f"cluster description {why or 'not collected'}"})
    else:
        enabled = set(clusters.iloc[0]["logging_enabled"] or ())
        entries = (_describe_cluster(assessment).get("logging") or {}).get("clusterLogging") or []
        for log_type in CONTROL_PLANE_LOG_TYPES:
            said = [f"clusterLogging[{i}] {'enabled' if e.get('enabled') else 'disabled'}"
                    for i, e in enumerate(entries) if log_type in (e.get("types") or ())]
            on = log_type in enabled
            need = log_type in required
            rows.append({
                "item": f"log type {log_type}", "value": "enabled" if on else "disabled",
                "status": ("pass" if on else "fail") if need else ("pass" if on else None),
                "note": ("; ".join(said) or "in no clusterLogging entry") + " — "
                        + _LOG_PURPOSE[log_type] + ("" if need else " (optional)")})
    group_name = cluster_log_group(assessment)
    groups, why = t.frame_or_note(assessment, "log_groups")
    if groups is None:
        rows.append({"item": "log group", "value": group_name, "status": None,
                     "note": f"log groups {why}"})
        return pd.DataFrame(rows, columns=LOG_COVERAGE_COLUMNS)
    match = groups[groups["name"] == group_name]
    if match.empty:
        rows.append({"item": "log group", "value": group_name, "status": "fail",
                     "note": "does not exist: control-plane logs were never delivered"})
        return pd.DataFrame(rows, columns=LOG_COVERAGE_COLUMNS)
    g = match.astype(object).where(match.notna(), None).iloc[0]
    raw = _raw_log_group(assessment, group_name)
    retention = _params(assessment, RETENTION_CHECK)
    min_days = int(retention["min_days"])
    days = g["retention_in_days"]
    rows.append({"item": "log group", "value": group_name, "status": "pass",
                 "note": f"created {g['creation_time'] or 'at an unknown date'}"})
    if days is None:
        rows.append({"item": "retention", "value": "never expire",
                     "status": "pass" if retention["allow_never_expire"] else "fail",
                     "note": "no retention policy: logs (and their cost) grow forever"})
    else:
        rows.append({"item": "retention", "value": f"{int(days)} days",
                     "status": "fail" if int(days) < min_days else "pass",
                     "note": f"minimum {min_days} days (eks_log_retention_configured)"})
    kms = g["kms_key_id"]
    rows.append({"item": "encryption", "value": kms if isinstance(kms, str) else
                 "CloudWatch Logs default (AWS-owned key)", "status": None,
                 "note": "customer KMS key: access to the logs is also governed by its key "
                 "policy" if isinstance(kms, str) else "no customer KMS key: anyone with "
                 "logs:GetLogEvents on the group can read the audit trail"})
    klass = g["log_group_class"] if isinstance(g["log_group_class"], str) else "STANDARD"
    rows.append({"item": "log class", "value": klass,
                 "status": "fail" if klass == "INFREQUENT_ACCESS" else None,
                 "note": "metric filters and subscription filters need STANDARD"
                 if klass == "INFREQUENT_ACCESS" else "metric filters and alarms are possible"})
    if "metricFilterCount" in raw:
        n = int(raw["metricFilterCount"])
        rows.append({"item": "metric filters", "value": str(n), "status": None,
                     "note": "no metric filter: nothing alarms on audit events" if n == 0
                     else "alarms may exist (not collected)"})
    rows.append({"item": "stored", "value": _human_bytes(g["stored_bytes"]), "status": None,
                 "note": "what the group holds today"})
    return pd.DataFrame(rows, columns=LOG_COVERAGE_COLUMNS)


GUARDDUTY_COLUMNS = ["detector", "status", "eks_audit_logs", "eks_runtime_monitoring",
                     "runtime_monitoring", "eks_addon_management", "finding_frequency", "note"]


def _raw_detectors(assessment: Assessment) -> dict[str, dict[str, Any]]:
    return {str((rec.get("params") or {}).get("DetectorId") or ""): rec.get("response") or {}
            for rec in assessment.snapshot.aws("guardduty", "get_detector")
            if "response" in rec}


def guardduty_opt_out(assessment: Assessment) -> bool:
    """Tell whether the cluster carries the tag ``GuardDutyManaged=false``.

    With that tag GuardDuty does not deploy its agent to the cluster even when
    EKS_ADDON_MANAGEMENT is enabled (:func:`zt_toolkit.frames.audit.guardduty_agent_opted_out`).
    """
    return guardduty_agent_opted_out(assessment.frames)


def summarize_guardduty(assessment: Assessment) -> pd.DataFrame:
    """One row per GuardDuty detector of the cluster's region: what it watches for EKS.

    Columns: ``detector, status`` and the statuses of ``EKS_AUDIT_LOGS``,
    ``EKS_RUNTIME_MONITORING`` and ``RUNTIME_MONITORING`` (the consolidated feature that
    replaces the EKS one: either counts), ``eks_addon_management`` (GuardDuty deploys and
    updates its agent), ``finding_frequency`` (FindingPublishingFrequency) and a ``note``
    (the cluster's ``GuardDutyManaged=false`` opt-out, a detector that could not be read).

    Examples
    --------
    >>> summarize_guardduty(a)[["detector", "runtime_monitoring"]]           # doctest: +SKIP
    """
    d, why = t.frame_or_note(assessment, "guardduty_detectors")
    if d is None:
        return t.empty_table(GUARDDUTY_COLUMNS, f"GuardDuty {why}.")
    if d.empty:
        return t.empty_table(GUARDDUTY_COLUMNS, "No GuardDuty detector in the cluster's region: "
                        "GuardDuty is off there.")
    raw = _raw_detectors(assessment)
    opt_out = guardduty_opt_out(assessment)
    rows = []
    for r in d.astype(object).where(d.notna(), None).itertuples(index=False):
        if not r.described:
            rows.append({"detector": r.name, "status": "not described",
                         "note": f"get_detector failed: {r.error or 'not collected'}"})
            continue
        notes = []
        runtime_on = "ENABLED" in (r.runtime_monitoring, r.eks_runtime_monitoring)
        if runtime_on and r.eks_addon_management == "ENABLED" and opt_out:
            notes.append("the cluster is tagged GuardDutyManaged=false: GuardDuty does not "
                         "deploy its agent there")
        elif runtime_on and r.eks_addon_management != "ENABLED":
            notes.append("agent add-on not managed: it must be installed by hand")
        if r.eks_audit_logs is None and isinstance(r.legacy_kubernetes_audit_logs, str):
            notes.append(f"legacy DataSources.Kubernetes.AuditLogs "
                         f"{r.legacy_kubernetes_audit_logs}")
        rows.append({
            "detector": r.name, "status": r.status, "eks_audit_logs": r.eks_audit_logs,
            "eks_runtime_monitoring": r.eks_runtime_monitoring,
            "runtime_monitoring": r.runtime_monitoring,
            "eks_addon_management": r.eks_addon_management,
            "finding_frequency": raw.get(r.name, {}).get("FindingPublishingFrequency"),
            "note": "; ".join(notes)})
    return pd.DataFrame(rows, columns=GUARDDUTY_COLUMNS)


CLOUDTRAIL_COLUMNS = ["trail", "home_region", "multi_region", "organization", "logging",
                      "log_file_validation", "kms_key", "s3_bucket", "management_events"]


def summarize_cloudtrail(assessment: Assessment) -> pd.DataFrame:
    """One row per CloudTrail trail: scope, logging, integrity, encryption, destination.

    Columns: ``trail, home_region, multi_region, organization, logging`` (get_trail_status;
    NA when not collected), ``log_file_validation``, ``kms_key``, ``s3_bucket`` and
    ``management_events`` (all, with the default selectors; custom selectors are not
    collected and say so).

    Examples
    --------
    >>> summarize_cloudtrail(a)[["trail", "multi_region", "logging"]]       # doctest: +SKIP
    """
    trails, why = t.frame_or_note(assessment, "cloudtrail_trails")
    if trails is None:
        return t.empty_table(CLOUDTRAIL_COLUMNS, f"CloudTrail {why}.")
    if trails.empty:
        return t.empty_table(CLOUDTRAIL_COLUMNS, "No CloudTrail trail in the account: EKS and IAM "
                        "API calls are kept 90 days in the event history only.")
    custom = {}
    for rec in assessment.snapshot.aws("cloudtrail", "describe_trails"):
        for tr in (rec.get("response") or {}).get("trailList") or ():
            custom[tr.get("Name", "")] = tr.get("HasCustomEventSelectors")
    rows = []
    for r in trails.itertuples(index=False):
        selectors = custom.get(r.name)
        rows.append({
            "trail": r.name, "home_region": r.home_region, "multi_region": r.multi_region,
            "organization": r.organization, "logging": r.is_logging,
            "log_file_validation": r.log_file_validation,
            "kms_key": r.kms_key_id if isinstance(r.kms_key_id, str) else "none (SSE-S3)",
            "s3_bucket": r.s3_bucket,
            "management_events": {False: "all (default selectors)",
                                  True: "custom selectors (not collected)"}.get(
                                      selectors, "unknown")})
    return pd.DataFrame(rows, columns=CLOUDTRAIL_COLUMNS)


# ------------------------------------------------------------------------------------------
# runtime sensor coverage per node
# ------------------------------------------------------------------------------------------
SENSOR_COLUMNS = ["node", "nodegroup", "instance_type", "compute_type", "taints", "sensor",
                  "status", "detail", "covered"]
#: status → colour of the coverage heatmap, in legend order
SENSOR_STATUSES = {
    "ready": STATUS_COLORS["pass"],
    "ready (by DaemonSet count)": "#66bb6a",
    "not ready": SEVERITY_COLORS["medium"],
    "untolerated taint": STATUS_COLORS["fail"],
    "excluded by nodeSelector / affinity": SEVERITY_COLORS["high"],
    "Fargate: no DaemonSet": "#8e6cbf",
    "no pod": STATUS_COLORS["fail"],
    "unknown": "#9aa5b1",
    "no sensor deployed": STATUS_COLORS["fail"],
}
FARGATE_NOTE = ("Fargate node: a DaemonSet cannot run there, and GuardDuty Runtime Monitoring "
                "does not support EKS on Fargate")


def _taint_text(taints: Any) -> str:
    return ", ".join(f"{x.get('key')}{'=' + str(x['value']) if x.get('value') else ''}:"
                     f"{x.get('effect')}" for x in taints or ())


def summarize_sensor_coverage(assessment: Assessment) -> pd.DataFrame:
    """One row per node × runtime sensor DaemonSet: does the sensor watch that node, and why not.

    Columns: ``node, nodegroup, instance_type, compute_type`` (ec2 or fargate), ``taints``,
    ``sensor`` (product and namespace/name), ``status`` (ready; not ready; untolerated taint;
    excluded by nodeSelector / affinity; Fargate: no DaemonSet; no pod; ready by DaemonSet
    count or unknown when pods were not collected; no sensor deployed), ``detail`` (the taint
    named, the reason) and ``covered`` (some sensor runs ready on the node: the verdict of
    ``runtime_sensor_coverage_complete`` for that node). Reasons come from
    :func:`zt_toolkit.frames.audit.sensor_gap`, the check's own helper.

    Examples
    --------
    >>> s = summarize_sensor_coverage(a)                                    # doctest: +SKIP
    >>> s[~s.covered][["node", "sensor", "detail"]]                         # doctest: +SKIP
    """
    nodes, why = t.frame_or_note(assessment, "nodes")
    if nodes is None:
        return t.empty_table(SENSOR_COLUMNS, f"Nodes {why}.")
    sensors, why = t.frame_or_note(assessment, "runtime_sensors")
    if sensors is None:
        return t.empty_table(SENSOR_COLUMNS, f"Runtime sensors {why}.")
    if nodes.empty:
        return t.empty_table(SENSOR_COLUMNS, "The snapshot holds no node.")
    sensor_rows = list(sensors.itertuples(index=False))
    node_rows = list(nodes.itertuples(index=False))
    eligible = {(s.namespace, s.name): sum(sensor_gap(s, n) == NO_POD for n in node_rows)
                for s in sensor_rows}
    rows = []
    for n in node_rows:
        labels = n.labels or {}
        fargate = labels.get(FARGATE_LABEL[0]) == FARGATE_LABEL[1]
        base = {
            "node": n.name,
            "nodegroup": _text(n.nodegroup) or labels.get("eks.amazonaws.com/nodegroup")
            or ("Fargate profile " + labels.get("eks.amazonaws.com/fargate-profile", "")
                if fargate else ""),
            "instance_type": labels.get("node.kubernetes.io/instance-type")
            or labels.get("beta.kubernetes.io/instance-type") or "",
            "compute_type": "fargate" if fargate else "ec2",
            "taints": _taint_text(n.taints),
        }
        per_node = []
        for s in sensor_rows:
            label = f"{s.product} ({s.namespace}/{s.name})"
            status, detail = _sensor_status(s, n, eligible[(s.namespace, s.name)], fargate)
            per_node.append({**base, "sensor": label, "status": status, "detail": detail})
        if not per_node:
            per_node.append({**base, "sensor": "none", "status": "no sensor deployed",
                             "detail": FARGATE_NOTE if fargate else
                             "no Falco, Tetragon, GuardDuty agent, Sysdig … DaemonSet"})
        covered = any(r["status"].startswith("ready") for r in per_node)
        rows += [{**r, "covered": covered} for r in per_node]
    return pd.DataFrame(rows, columns=SENSOR_COLUMNS)


def _sensor_status(s: Any, n: Any, eligible: int, fargate: bool) -> tuple[str, str]:
    """(status, detail) of sensor ``s`` on node ``n``, as runtime_sensor_coverage_complete."""
    if isinstance(s.ready_nodes, tuple) and n.name in s.ready_nodes:
        return "ready", "a sensor pod is Ready on the node"
    gap = sensor_gap(s, n)
    if fargate:
        return "Fargate: no DaemonSet", FARGATE_NOTE
    if gap.startswith("does not tolerate"):
        return "untolerated taint", gap + " (add a toleration to the DaemonSet)"
    if gap.startswith("its nodeSelector"):
        return "excluded by nodeSelector / affinity", gap
    if gap.startswith("its pod on the node is not ready"):
        return "not ready", gap
    if isinstance(s.ready_nodes, tuple):
        return "no pod", "no sensor pod on the node although it is eligible"
    ready = 0 if pd.isna(s.number_ready) else int(s.number_ready)
    if ready >= eligible:
        return "ready (by DaemonSet count)", (f"numberReady {ready} of {eligible} eligible "
                                              "nodes; pods not in the snapshot")
    return "unknown", (f"numberReady {ready} < {eligible} eligible nodes; pods not in the "
                       "snapshot, so which nodes lack one is unknown")


def _cell_text(row: Any) -> str:
    """Status, and for an untolerated taint the taint itself (the SVG names it)."""
    text = plotly_escape(row.status)
    if row.status == "untolerated taint":
        taints = row.detail.removeprefix("does not tolerate taint ").split(" (add", 1)[0]
        text += "<br>" + plotly_escape(taints)
    return text


def plot_sensor_coverage(assessment: Assessment) -> go.Figure:
    """Draw nodes × runtime sensors as a heatmap coloured by status, the gap named in the cell.

    An untolerated taint is written in its cell, so the static SVG says which toleration to add.

    Examples
    --------
    >>> plot_sensor_coverage(a).show()                                       # doctest: +SKIP
    """
    title = "Which sensor runs, ready, on which node"
    s = summarize_sensor_coverage(assessment)
    if s.empty:
        return placeholder(title, s.attrs.get("note") or "No node.")
    statuses = list(SENSOR_STATUSES)
    code = {st: i for i, st in enumerate(statuses)}
    nodes = list(dict.fromkeys(s["node"]))
    sensors = list(dict.fromkeys(s["sensor"]))
    cell = {(r.node, r.sensor): r for r in s.itertuples(index=False)}
    group = dict(zip(s["node"], s["nodegroup"], strict=False))
    ylabels = [plotly_escape(f"{n.split('.')[0]} ({group[n] or '?'})") for n in nodes]
    xlabels = [plotly_escape(x) for x in sensors]
    z = [[code[cell[(n, x)].status] if (n, x) in cell else None for x in sensors] for n in nodes]
    text = [[_cell_text(cell[(n, x)]) if (n, x) in cell else "" for x in sensors]
            for n in nodes]
    hover = [[plotly_escape(cell[(n, x)].detail) if (n, x) in cell else "" for x in sensors]
             for n in nodes]
    k = len(statuses)
    scale = []
    for i, st in enumerate(statuses):
        scale += [[i / k, SENSOR_STATUSES[st]], [(i + 1) / k, SENSOR_STATUSES[st]]]
    fig = go.Figure(go.Heatmap(
        z=z, x=xlabels, y=ylabels, zmin=-0.5, zmax=k - 0.5, colorscale=scale, showscale=False,
        xgap=3, ygap=3, text=text, texttemplate="%{text}", customdata=hover,
        textfont={"color": "white", "size": 11},
        hovertemplate="%{y}<br>%{x}<br>%{customdata}<extra></extra>"))
    for st in statuses:
        if st in set(s["status"]):
            fig.add_scatter(x=[None], y=[None], mode="markers", name=st,
                            marker={"symbol": "square", "size": 12,
                                    "color": SENSOR_STATUSES[st]})
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(side="top", showgrid=False)
    fig.update_layout(title={"text": title}, height=140 + 40 * len(nodes),
                      legend={"orientation": "h", "y": -0.05, "yanchor": "top", "x": 0},
                      margin={"t": 90})
    return fig


# ------------------------------------------------------------------------------------------
# remediation
# ------------------------------------------------------------------------------------------
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d")
_LOG_GROUP = re.compile(r"[A-Za-z0-9_./#-]{1,512}")
_DETECTOR = re.compile(r"[0-9a-f]{32}")
_TAINT_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*"
                        r"[A-Za-z0-9])?")
_TAINT_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_QUESTIONS = {
    "pod_exec_attach_by_human": "Which incident or change ticket covers each session, who "
    "approved it, and what was run inside? The audit log records the exec, not the "
    "commands: ask for the shell history or the runtime sensor's events for those pods.",
    "rbac_or_aws_auth_change": "Which change request covers each write, and does the change "
    "match it? Compare aws-auth and the bindings with the version in Git; a binding created "
    "and deleted by hand is a temporary privilege escalation that needs a record.",
    "anonymous_request": "Which bindings grant rights to system:anonymous or "
    "system:unauthenticated, and why is the API endpoint reachable from the source IP? "
    "Is the address known (scanner, partner), and did any request succeed (code 200)?",
    "denied_secret_read": "Is each denied read a misconfiguration (a missing Role after a "
    "deploy) or a workload probing for credentials? The same source IP for several principals "
    "points to one machine holding several identities.",
}


def _cluster_target(assessment: Assessment) -> tuple[str, str]:
    """Cluster name and ``--region`` option, validated for a shell command (else placeholders)."""
    info = assessment.snapshot.cluster
    name = info.name if _CLUSTER_NAME.fullmatch(info.name or "") else "<cluster-name>"
    region = info.region or ""
    return name, (f" --region {region}" if _REGION.fullmatch(region) else "")


def _missing_log_types(assessment: Assessment) -> list[str] | None:
    clusters, _ = t.frame_or_note(assessment, "eks_cluster")
    if clusters is None or clusters.empty:
        return None
    enabled = set(clusters.iloc[0]["logging_enabled"] or ())
    return [x for x in _params(assessment, LOGGING_CHECK)["required"] if x not in enabled]


def _logging_steps(assessment: Assessment, cluster: str, region: str) -> list[str]:
    parts = ["### 1. Control-plane logs"]
    missing = _missing_log_types(assessment)
    if missing is None:
        return [*parts, "The cluster description was not collected: check the log types in "
                "the EKS console (Observability tab)."]
    if missing:
        config = json.dumps({"clusterLogging": [{"types": missing, "enabled": True}]},
                            separators=(",", ":"))
        parts.append(f"Enable {md_escape(', '.join(missing))} "
                     f"({plural(len(missing), 'required log type')} missing); the types "
                     "already enabled stay enabled:")
        parts.append(fenced(f"aws eks update-cluster-config{region} --name {cluster} "
                            f"--logging '{config}'", "sh"))
    else:
        parts.append("The required log types are enabled; nothing to change.")
    group = cluster_log_group(assessment)
    safe_group = group if _LOG_GROUP.fullmatch(group) else "<log-group>"
    cov = summarize_log_coverage(assessment).set_index("item")
    if "retention" in cov.index and cov.loc["retention", "status"] == "fail":
        stored = cov.loc["stored", "value"] if "stored" in cov.index else "not reported"
        parts.append(f"The log group `{safe_group}` keeps logs "
                     f"{md_escape(cov.loc['retention', 'value'])} (it holds {md_escape(stored)}"
                     "). Keep them a year, the usual look-back of an intrusion investigation; "
                     "export older logs to S3 (Glacier) if regulation asks for more:")
        parts.append(fenced(f"aws logs put-retention-policy{region} --log-group-name "
                            f"{safe_group} --retention-in-days 365", "sh"))
    elif "log group" in cov.index and cov.loc["log group", "status"] == "fail":
        parts.append(f"The log group `{safe_group}` does not exist yet: it appears with the "
                     "first delivered log; then set its retention to 365 days.")
    return parts


def _guardduty_steps(assessment: Assessment, cluster: str, region: str) -> list[str]:
    parts = ["### 2. GuardDuty"]
    gd = summarize_guardduty(assessment)
    if gd.empty:
        parts.append(md_escape(gd.attrs.get("note", "")) + " Enable it with EKS Protection "
                     "and Runtime Monitoring:")
        parts.append(fenced(f"aws guardduty create-detector{region} --enable --features "
                            "'[{\"Name\":\"EKS_AUDIT_LOGS\",\"Status\":\"ENABLED\"},"
                            "{\"Name\":\"RUNTIME_MONITORING\",\"Status\":\"ENABLED\","
                            "\"AdditionalConfiguration\":[{\"Name\":\"EKS_ADDON_MANAGEMENT\","
                            "\"Status\":\"ENABLED\"}]}]'", "sh"))
        return parts
    for d in gd.itertuples(index=False):
        detector = d.detector if _DETECTOR.fullmatch(str(d.detector)) else "<detector-id>"
        features = []
        if d.eks_audit_logs != "ENABLED":
            features.append({"Name": "EKS_AUDIT_LOGS", "Status": "ENABLED"})
        runtime_on = "ENABLED" in (d.runtime_monitoring, d.eks_runtime_monitoring)
        if not runtime_on or d.eks_addon_management != "ENABLED":
            features.append({"Name": "RUNTIME_MONITORING", "Status": "ENABLED",
                             "AdditionalConfiguration": [
                                 {"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"}]})
        if d.status != "ENABLED":
            parts.append(f"Detector `{detector}` is {md_escape(d.status)}: nothing it "
                         "monitors raises a finding. Enable it first.")
            parts.append(fenced(f"aws guardduty update-detector{region} --detector-id "
                                f"{detector} --enable", "sh"))
        if features:
            names = ", ".join(f["Name"] for f in features)
            parts.append(f"Detector `{detector}`: enable {md_escape(names)}.")
            parts.append(fenced(f"aws guardduty update-detector{region} --detector-id "
                                f"{detector} --features '"
                                + json.dumps(features, separators=(",", ":")) + "'", "sh"))
        else:
            parts.append(f"Detector `{detector}` monitors the audit log (EKS_AUDIT_LOGS) and "
                         "runtime (" + ("RUNTIME_MONITORING" if d.runtime_monitoring ==
                                        "ENABLED" else "EKS_RUNTIME_MONITORING")
                         + f"), findings published every {md_escape(d.finding_frequency)}.")
    if guardduty_opt_out(assessment) and (gd.eks_addon_management == "ENABLED").any():
        arn = f"arn:aws:eks:{assessment.snapshot.cluster.region}:" \
              f"{assessment.snapshot.cluster.account_id}:cluster/{cluster}"
        arn = arn if re.fullmatch(r"arn:aws:eks:[a-z0-9-]+:\d{12}:cluster/[\w-]+", arn) \
            else "<cluster-arn>"
        parts.append("But the cluster is tagged `GuardDutyManaged=false`, so GuardDuty does "
                     "not deploy its agent here: runtime monitoring is paid for and blind on "
                     "this cluster. Remove the tag (GuardDuty then installs the "
                     "`aws-guardduty-agent` add-on) and check that its pods run on every "
                     "node, tainted node groups included:")
        parts.append(fenced(f"aws eks untag-resource{region} --resource-arn {arn} "
                            "--tag-keys GuardDutyManaged\n"
                            "kubectl -n amazon-guardduty get daemonset aws-guardduty-agent "
                            "-o wide", "sh"))
    return parts


def _toleration_patch(s: Any, taints: list[dict[str, Any]]) -> str | None:
    tolerations = []
    for x in taints:
        key, value = str(x.get("key") or ""), str(x.get("value") or "")
        if not _TAINT_KEY.fullmatch(key) or not _TAINT_VALUE.fullmatch(value):
            return None
        tol = {"key": key, "operator": "Equal" if value else "Exists", "effect": x["effect"]}
        if value:
            tol["value"] = value
        tolerations.append(tol)
    if s.tolerations:
        ops = [{"op": "add", "path": "/spec/template/spec/tolerations/-", "value": tol}
               for tol in tolerations]
    else:
        ops = [{"op": "add", "path": "/spec/template/spec/tolerations", "value": tolerations}]
    return (f"kubectl -n {s.namespace} patch daemonset {s.name} --type json -p '"
            + json.dumps(ops, separators=(",", ":")) + "'")


def _sensor_steps(assessment: Assessment) -> list[str]:
    parts = ["### 3. Runtime sensors on every node"]
    cov = summarize_sensor_coverage(assessment)
    if cov.empty:
        return [*parts, md_escape(cov.attrs.get("note", "Sensor coverage not available."))]
    blind = cov[~cov.covered].drop_duplicates("node")
    if blind.empty:
        return [*parts, f"All {plural(cov['node'].nunique(), 'node')} run a ready sensor."]
    parts.append(f"{plural(len(blind), 'node')} of {cov['node'].nunique()} run no ready "
                 "sensor: " + ", ".join(f"`{md_escape(n)}` ({md_escape(g or '?')})"
                                        for n, g in zip(blind.node, blind.nodegroup,
                                                        strict=True)) + ".")
    sensors, _ = t.frame_or_note(assessment, "runtime_sensors")
    nodes, _ = t.frame_or_note(assessment, "nodes")
    if sensors is None or nodes is None:
        return parts
    blind_nodes = nodes[nodes["name"].isin(set(blind.node))]
    for s in sensors.itertuples(index=False):
        taints: dict[str, dict[str, Any]] = {}
        for n in blind_nodes.itertuples(index=False):
            missing = set(untolerated_taints(s.tolerations, n.taints))
            for x in n.taints or ():
                text = f"{x.get('key')}{'=' + str(x['value']) if x.get('value') else ''}:" \
                       f"{x.get('effect')}"
                if text in missing:
                    taints[text] = x
        if not taints:
            continue
        label = f"{s.product} ({s.namespace}/{s.name})"
        parts.append(f"{md_escape(label)} does not tolerate "
                     + ", ".join(f"`{md_escape(x)}`" for x in taints)
                     + ". Add the toleration (or set it in the chart's `tolerations` values so "
                     "the next upgrade keeps it):")
        patch = _toleration_patch(s, list(taints.values())) if (
            is_k8s_name(s.namespace) and is_k8s_name(s.name)) else None
        if patch is None:
            parts.append("The DaemonSet or taint name is not a valid Kubernetes name: add the "
                         "toleration by hand.")
        else:
            parts.append(fenced(patch, "sh"))
    if (cov.compute_type == "fargate").any():
        parts.append(FARGATE_NOTE + ": cover Fargate pods with a sidecar-based sensor that "
                     "supports EKS on Fargate (ask the vendor), or move sensitive workloads to "
                     "EC2 nodes.")
    return parts


def _alarm_steps(assessment: Assessment, cluster: str, region: str) -> list[str]:
    group = cluster_log_group(assessment)
    safe_group = group if _LOG_GROUP.fullmatch(group) else "<log-group>"
    pattern = ('{ ($.objectRef.resource = "pods") && (($.objectRef.subresource = "exec") || '
               '($.objectRef.subresource = "attach")) && ($.user.username != "system:*") }')
    return [
        "### 4. Alarm on exec into pods",
        "A metric filter on the audit log counts every exec or attach by a non-system user; "
        "an alarm pages the on-call team. The same pattern with `aws-auth` or the RBAC "
        "resources covers the other categories below. Metric filters need the STANDARD log "
        "class.",
        fenced(f"aws logs put-metric-filter{region} --log-group-name {safe_group} \\\n"
               f"  --filter-name {cluster}-pod-exec \\\n"
               f"  --filter-pattern '{pattern}' \\\n"
               "  --metric-transformations metricName=PodExec,metricNamespace=EKS/Audit,"
               "metricValue=1,defaultValue=0\n"
               f"aws cloudwatch put-metric-alarm{region} --alarm-name {cluster}-pod-exec \\\n"
               "  --namespace EKS/Audit --metric-name PodExec --statistic Sum --period 300 \\\n"
               "  --evaluation-periods 1 --threshold 1 "
               "--comparison-operator GreaterThanOrEqualToThreshold \\\n"
               "  --treat-missing-data notBreaching --alarm-actions <sns-topic-arn>", "sh"),
    ]


_BINDING_KINDS = {"rolebindings": "RoleBinding", "clusterrolebindings": "ClusterRoleBinding"}


def _binding_presence(events: pd.DataFrame, bindings: pd.DataFrame) -> str:
    """Say which bindings written by these events the snapshot still holds."""
    present = set(zip(bindings["kind"], bindings["namespace"].fillna(""), bindings["name"],
                      strict=True))
    still, gone = [], []
    for e in events.drop_duplicates(["resource", "namespace", "name"]).itertuples(index=False):
        kind = _BINDING_KINDS.get(e.resource)
        if kind is None or not e.name:
            continue
        label = "/".join(x for x in (e.namespace, e.name) if x)
        (still if (kind, e.namespace, e.name) in present else gone).append(label)
    text = ""
    if still:
        text += f"; still in the cluster at collection: {md_escape(', '.join(still))}"
    if gone:
        text += f"; gone at collection: {md_escape(', '.join(gone))}"
    return text


def _question_steps(assessment: Assessment) -> list[str]:
    parts = ["### 5. Questions for the client, per suspicious event"]
    ev, why = _event_rows(assessment)
    if ev is None:
        return [*parts, md_escape(f"Audit-log events {why}.")]
    hits = ev[ev.suspicious] if not ev.empty else ev
    if hits.empty:
        return [*parts, "The recorded audit-log window shows no suspicious event."]
    ip_users = ev.groupby("source_ip")["user"].agg(lambda s: sorted(set(s)))
    bindings, _ = t.frame_or_note(assessment, "role_bindings")
    for category, meaning in SUSPICIOUS_CATEGORIES.items():
        part = hits[hits.check_categories.map(lambda c, k=category: k in c)]
        if part.empty:
            continue
        parts.append(f"**{md_escape(meaning[0].upper() + meaning[1:])}** "
                     f"({plural(len(part), 'event')}).")
        lines = []
        for user, g in part.groupby("user", sort=False):
            g = g.sort_values("ts")
            when = g.time.iloc[0] if len(g) == 1 else f"{g.time.iloc[0]} to {g.time.iloc[-1]}"
            who = md_escape(user)
            if g.iam_principal.iloc[0]:
                who += f" (IAM {md_escape(g.iam_principal.iloc[0])}, " \
                       f"{md_escape(g.mapped_by.iloc[0])})"
            targets = ", ".join(dict.fromkeys(f"{v} {tg}" for v, tg in zip(g.verb, g.target,
                                                                             strict=True)))
            ips = sorted(set(g.source_ip) - {""})
            shared = sorted({u for ip in ips for u in ip_users.get(ip, [])} - {user})
            line = (f"- {who}, {g.principal_type.iloc[0]}: {md_escape(targets)}, "
                    f"{md_escape(when)}, from {md_escape(', '.join(ips) or 'an unknown IP')}")
            agents = sorted(set(g.user_agent) - {""})
            if agents:
                line += f" with {md_escape(', '.join(agents))}"
            if shared:
                line += f"; the same IP was used by {md_escape(', '.join(shared))}"
            if category == "rbac_or_aws_auth_change" and bindings is not None:
                line += _binding_presence(g, bindings)
            lines.append(line + ".")
        parts.append("\n".join(lines))
        parts.append(f"*Ask:* {_QUESTIONS[category]}")
    return parts


def narrate_audit_remediation(assessment: Assessment) -> Markdown:
    """Write the audit remediation: commands with the cluster's names, then the questions.

    Five steps: enable exactly the missing control-plane log types (``aws eks
    update-cluster-config``) and a 365-day retention (``aws logs put-retention-policy``);
    enable the missing GuardDuty features (``aws guardduty update-detector --features``, and
    the ``GuardDutyManaged=false`` tag that keeps the agent away); the toleration patch for
    each sensor DaemonSet that a node's taint keeps off; a metric filter and alarm for exec
    into pods; per suspicious-event category, the events (who, IAM principal, what, when,
    from where) and what to ask the client. Names reach a code block only when valid
    (cluster, region, log group, detector id, Kubernetes names); all text is escaped.

    Examples
    --------
    >>> narrate_audit_remediation(a)                                         # doctest: +SKIP
    """
    cluster, region = _cluster_target(assessment)
    parts = [*_logging_steps(assessment, cluster, region),
             *_guardduty_steps(assessment, cluster, region),
             *_sensor_steps(assessment),
             *_alarm_steps(assessment, cluster, region),
             *_question_steps(assessment)]
    return Markdown("\n\n".join(parts))
