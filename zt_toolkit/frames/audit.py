"""Audit frames: log groups, GuardDuty detectors, CloudTrail trails, audit events, runtime sensors.

``audit_events`` are the CloudWatch Logs Insights results recorded in the snapshot
(``logs/get_query_results``, joined to the ``logs/start_query`` record that started each query):
the toolkit never runs a query while assessing. ``runtime_sensors`` are the DaemonSets that
run a runtime-detection sensor (Falco, Tetragon, the GuardDuty agent, Sysdig …) with the nodes
on which one of their pods is ready.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pandas as pd
import pandera.pandas as pa

from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames import Frames, frame, from_rows, nullable_bool
from zt_toolkit.frames.workloads import WORKLOAD_SOURCES

_KEY = {"kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str)}


def _error_text(rec: dict[str, Any]) -> str:
    err = rec.get("error") or {}
    return f"{err.get('code', 'Error')}: {err.get('message', '')}".rstrip(": ")


# ------------------------------------------------------------------------------------------
# CloudWatch log groups
# ------------------------------------------------------------------------------------------
LOG_GROUP_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "arn": "string",
    "retention_in_days": "Int64", "kms_key_id": "string", "stored_bytes": "Int64",
    "log_group_class": "string", "creation_time": "string",
}


@frame("log_groups", sources=("aws/logs/describe_log_groups",), schema=pa.DataFrameSchema({
    **_KEY,
    "retention_in_days": pa.Column("Int64", nullable=True,
                                   description="NA = never expire (no retention policy)"),
}))
def build_log_groups(frames: Frames) -> pd.DataFrame:
    """One row per CloudWatch Logs log group described (``describe_log_groups``)."""
    rows: dict[str, dict[str, Any]] = {}
    for rec in frames.snapshot.aws("logs", "describe_log_groups"):
        for g in (rec.get("response") or {}).get("logGroups") or ():
            created = g.get("creationTime")
            rows[g.get("logGroupName", "")] = {
                "kind": "LogGroup", "namespace": "", "name": g.get("logGroupName", ""),
                "arn": g.get("arn"), "retention_in_days": g.get("retentionInDays"),
                "kms_key_id": g.get("kmsKeyId"), "stored_bytes": g.get("storedBytes"),
                "log_group_class": g.get("logGroupClass"),
                "creation_time": _epoch_ms(created) if isinstance(created, int) else created,
            }
    return from_rows(list(rows.values()), LOG_GROUP_COLUMNS)


def _epoch_ms(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, UTC).isoformat(timespec="seconds")


def _epoch_s(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    return None if value is None else str(value)


# ------------------------------------------------------------------------------------------
# GuardDuty
# ------------------------------------------------------------------------------------------
DETECTOR_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "status": "string", "described": "bool",
    "features": "object", "additional_configuration": "object",
    "eks_audit_logs": "string", "eks_runtime_monitoring": "string",
    "runtime_monitoring": "string", "eks_addon_management": "string",
    "legacy_kubernetes_audit_logs": "string", "error": "string",
}


@frame("guardduty_detectors", sources=("aws/guardduty/list_detectors",),
       schema=pa.DataFrameSchema({
           **_KEY,
           "described": pa.Column(bool, description="get_detector answered for this detector"),
           "eks_audit_logs": pa.Column("string", nullable=True,
                                       description="feature EKS_AUDIT_LOGS status"),
           "runtime_monitoring": pa.Column("string", nullable=True,
                                           description="feature RUNTIME_MONITORING status"),
       }))
def build_guardduty_detectors(frames: Frames) -> pd.DataFrame:
    """One row per GuardDuty detector listed, with its feature statuses from ``get_detector``.

    ``features`` maps feature name → status (``EKS_AUDIT_LOGS``, ``EKS_RUNTIME_MONITORING``,
    ``RUNTIME_MONITORING`` …); ``additional_configuration`` maps ``FEATURE/CONFIG`` → status
    (``RUNTIME_MONITORING/EKS_ADDON_MANAGEMENT``). ``eks_addon_management`` is the status of
    EKS_ADDON_MANAGEMENT under whichever runtime feature is enabled. The legacy
    ``DataSources.Kubernetes.AuditLogs.Status`` is kept for accounts that predate features.
    No detector listed means GuardDuty is off in the region (an empty frame, not a gap).
    """
    snap = frames.snapshot
    ids = list(dict.fromkeys(
        d for rec in snap.aws("guardduty", "list_detectors")
        for d in (rec.get("response") or {}).get("DetectorIds") or ()))
    described: dict[str, dict[str, Any]] = {}
    for rec in snap.aws("guardduty", "get_detector"):
        det = str((rec.get("params") or {}).get("DetectorId") or "")
        if "response" in rec:
            described[det] = rec["response"] or {}
        else:
            described.setdefault(det, {"__error__": _error_text(rec)})
        if det not in ids:
            ids.append(det)
    rows = []
    for det in ids:
        resp = described.get(det)
        if resp is None or "__error__" in resp:
            rows.append({"kind": "GuardDutyDetector", "namespace": "", "name": det,
                         "described": False, "features": {}, "additional_configuration": {},
                         "error": (resp or {}).get("__error__")})
            continue
        features = {f.get("Name", ""): f.get("Status") for f in resp.get("Features") or ()}
        extra = {f"{f.get('Name', '')}/{a.get('Name', '')}": a.get("Status")
                 for f in resp.get("Features") or ()
                 for a in f.get("AdditionalConfiguration") or ()}
        runtime = ("RUNTIME_MONITORING" if features.get("RUNTIME_MONITORING") == "ENABLED"
                   else "EKS_RUNTIME_MONITORING")
        legacy = (((resp.get("DataSources") or {}).get("Kubernetes") or {})
                  .get("AuditLogs") or {}).get("Status")
        rows.append({
            "kind": "GuardDutyDetector", "namespace": "", "name": det,
            "status": resp.get("Status"), "described": True, "features": features,
            "additional_configuration": extra,
            "eks_audit_logs": features.get("EKS_AUDIT_LOGS"),
            "eks_runtime_monitoring": features.get("EKS_RUNTIME_MONITORING"),
            "runtime_monitoring": features.get("RUNTIME_MONITORING"),
            "eks_addon_management": extra.get(f"{runtime}/EKS_ADDON_MANAGEMENT"),
            "legacy_kubernetes_audit_logs": legacy,
        })
    return from_rows(rows, DETECTOR_COLUMNS)


# ------------------------------------------------------------------------------------------
# CloudTrail
# ------------------------------------------------------------------------------------------
TRAIL_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "arn": "string",
    "home_region": "string", "multi_region": "boolean", "organization": "boolean",
    "is_logging": "boolean", "latest_delivery_error": "string",
    "log_file_validation": "boolean", "cloudwatch_logs_group": "string",
    "kms_key_id": "string", "s3_bucket": "string", "status_error": "string",
}


@frame("cloudtrail_trails", sources=("aws/cloudtrail/describe_trails",),
       schema=pa.DataFrameSchema({
           **_KEY,
           "multi_region": pa.Column("boolean", nullable=True),
           "is_logging": pa.Column("boolean", nullable=True,
                                   description="get_trail_status; NA when not collected"),
       }))
def build_cloudtrail_trails(frames: Frames) -> pd.DataFrame:
    """One row per CloudTrail trail (``describe_trails``) with ``get_trail_status`` joined."""
    snap = frames.snapshot
    status: dict[str, dict[str, Any]] = {}
    for rec in snap.aws("cloudtrail", "get_trail_status"):
        name = str((rec.get("params") or {}).get("Name") or "")
        if "response" in rec:
            resp = rec["response"] or {}
            status[name] = {"is_logging": nullable_bool(resp.get("IsLogging")),
                            "latest_delivery_error": resp.get("LatestDeliveryError") or None}
        else:
            status.setdefault(name, {"status_error": _error_text(rec)})
    rows: dict[str, dict[str, Any]] = {}
    for rec in snap.aws("cloudtrail", "describe_trails"):
        for t in (rec.get("response") or {}).get("trailList") or ():
            arn, name = t.get("TrailARN"), t.get("Name", "")
            row = {
                "kind": "Trail", "namespace": "", "name": name, "arn": arn,
                "home_region": t.get("HomeRegion"),
                "multi_region": nullable_bool(t.get("IsMultiRegionTrail")),
                "organization": nullable_bool(t.get("IsOrganizationTrail")),
                "log_file_validation": nullable_bool(t.get("LogFileValidationEnabled")),
                "cloudwatch_logs_group": t.get("CloudWatchLogsLogGroupArn"),
                "kms_key_id": t.get("KmsKeyId"), "s3_bucket": t.get("S3BucketName"),
            }
            row.update(status.get(arn or "", status.get(name, {})))
            rows[arn or name] = row
    return from_rows(list(rows.values()), TRAIL_COLUMNS)


# ------------------------------------------------------------------------------------------
# audit events (recorded CloudWatch Logs Insights results)
# ------------------------------------------------------------------------------------------
AUDIT_EVENT_COLUMNS = {
    "kind": "str", "namespace": "string", "name": "string", "timestamp": "string",
    "audit_id": "string", "stage": "string", "user": "string", "groups": "object",
    "impersonated_user": "string", "verb": "string", "api_group": "string",
    "resource": "string", "subresource": "string", "response_code": "Int64",
    "source_ips": "object", "user_agent": "string", "request_uri": "string",
    "query_id": "str", "query": "string", "log_group": "string", "window_start": "string",
    "window_end": "string", "query_status": "string",
}
QUERY_COLUMNS = {
    "query_id": "str", "name": "string", "query": "string", "log_group": "string",
    "window_start": "string", "window_end": "string", "status": "string", "results": "int64",
    "records_matched": "Float64", "error": "string",
}
# Logs Insights field name (or alias) → column
_FIELDS = {
    "@timestamp": "timestamp", "requestReceivedTimestamp": "timestamp",
    "auditID": "audit_id", "stage": "stage",
    "user.username": "user", "username": "user", "user": "user",
    "impersonatedUser.username": "impersonated_user",
    "verb": "verb", "objectRef.apiGroup": "api_group",
    "objectRef.resource": "resource", "resource": "resource",
    "objectRef.subresource": "subresource", "subresource": "subresource",
    "objectRef.namespace": "namespace", "namespace": "namespace",
    "objectRef.name": "name", "name": "name",
    "responseStatus.code": "response_code", "code": "response_code",
    "userAgent": "user_agent", "requestURI": "request_uri",
}
_INDEXED = re.compile(r"^(user\.groups|sourceIPs)\.(\d+)$")


def _from_message(message: str) -> dict[str, Any]:
    """Fields of a raw audit event (``@message``) in the same columns as the flattened ones."""
    try:
        ev = orjson.loads(message)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(ev, dict):
        return {}
    user, ref = ev.get("user") or {}, ev.get("objectRef") or {}
    return {
        "timestamp": ev.get("requestReceivedTimestamp"), "audit_id": ev.get("auditID"),
        "stage": ev.get("stage"), "user": user.get("username"),
        "groups": tuple(user.get("groups") or ()),
        "impersonated_user": (ev.get("impersonatedUser") or {}).get("username"),
        "verb": ev.get("verb"), "api_group": ref.get("apiGroup"),
        "resource": ref.get("resource"), "subresource": ref.get("subresource"),
        "namespace": ref.get("namespace"), "name": ref.get("name"),
        "response_code": (ev.get("responseStatus") or {}).get("code"),
        "source_ips": tuple(ev.get("sourceIPs") or ()), "user_agent": ev.get("userAgent"),
        "request_uri": ev.get("requestURI"),
    }


def _event(fields: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One result row ([{field, value}]) → event columns; None for aggregate rows."""
    out: dict[str, Any] = {}
    groups: dict[int, str] = {}
    ips: dict[int, str] = {}
    message = None
    for f in fields:
        name, value = f.get("field", ""), f.get("value")
        if name == "@message":
            message = value
        elif m := _INDEXED.match(name):
            (groups if m[1] == "user.groups" else ips)[int(m[2])] = value
        elif name in ("user.groups", "sourceIPs"):
            parsed = _list_value(value)
            out["groups" if name == "user.groups" else "source_ips"] = parsed
        elif name in _FIELDS and out.get(_FIELDS[name]) is None:
            out[_FIELDS[name]] = value
    if groups:
        out["groups"] = tuple(groups[i] for i in sorted(groups))
    if ips:
        out["source_ips"] = tuple(ips[i] for i in sorted(ips))
    if isinstance(message, str):
        for key, value in _from_message(message).items():
            if out.get(key) in (None, ()) and value not in (None, ()):
                out[key] = value
    if not (out.get("verb") or out.get("resource") or out.get("user")):
        return None  # a stats/aggregate row, not an event
    code = out.get("response_code")
    try:
        out["response_code"] = int(code) if code not in (None, "") else None
    except (TypeError, ValueError):
        out["response_code"] = None
    out.setdefault("groups", ())
    out.setdefault("source_ips", ())
    return out


def _list_value(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
            if isinstance(parsed, list):
                return tuple(str(v) for v in parsed)
        except orjson.JSONDecodeError:
            pass
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return ()


@frame("_audit_scan", sources=("aws/logs/get_query_results",))
def _scan_audit(frames: Frames) -> dict[str, pd.DataFrame]:
    snap = frames.snapshot
    started: dict[str, dict[str, Any]] = {}
    for rec in snap.aws("logs", "start_query"):
        qid = ((rec.get("response") or {}).get("queryId")) or ""
        params = rec.get("params") or {}
        groups = params.get("logGroupNames") or [params.get("logGroupName")]
        started[qid] = {
            "name": rec.get("name"),  # the collector names its queries (AUDIT_QUERIES)
            "query": params.get("queryString"),
            "log_group": ", ".join(g for g in groups if g) or None,
            "window_start": _epoch_s(params.get("startTime")),
            "window_end": _epoch_s(params.get("endTime")),
            "error": _error_text(rec) if "error" in rec else None,
        }
    queries, events = [], []
    for rec in snap.aws("logs", "get_query_results"):
        qid = str((rec.get("params") or {}).get("queryId") or "")
        meta = started.get(qid, {})
        resp = rec.get("response")
        if resp is None:
            queries.append({"query_id": qid, **{k: meta.get(k) for k in (
                "name", "query", "log_group", "window_start", "window_end")},
                "status": "Failed", "results": 0, "error": _error_text(rec)})
            continue
        results = resp.get("results") or []
        stats = resp.get("statistics") or {}
        queries.append({"query_id": qid, **{k: meta.get(k) for k in (
            "name", "query", "log_group", "window_start", "window_end")},
            "status": resp.get("status"), "results": len(results),
            "records_matched": stats.get("recordsMatched")})
        for fields in results:
            ev = _event(fields or [])
            if ev is None:
                continue
            events.append({"kind": "AuditEvent", **ev, "query_id": qid,
                           "query": meta.get("query"), "log_group": meta.get("log_group"),
                           "window_start": meta.get("window_start"),
                           "window_end": meta.get("window_end"),
                           "query_status": resp.get("status")})
    return {"events": from_rows(events, AUDIT_EVENT_COLUMNS),
            "queries": from_rows(queries, QUERY_COLUMNS)}


@frame("audit_events", sources=("aws/logs/get_query_results",), schema=pa.DataFrameSchema({
    "kind": pa.Column(str),
    "user": pa.Column("string", nullable=True, description="user.username"),
    "verb": pa.Column("string", nullable=True),
    "response_code": pa.Column("Int64", nullable=True, description="responseStatus.code"),
    "query": pa.Column("string", nullable=True,
                       description="queryString of the start_query that produced the row"),
}))
def build_audit_events(frames: Frames) -> pd.DataFrame:
    """One row per Kubernetes audit event returned by a recorded Logs Insights query.

    Columns come from the result fields (``user.username``, ``verb``, ``objectRef.*``,
    ``responseStatus.code``, ``sourceIPs.N``, ``user.groups.N`` …), and from the raw event in
    ``@message`` when the query returned it. ``namespace`` and ``name`` are the object's
    (``objectRef``); ``query`` and the window come from the matching ``start_query`` record.
    Aggregate rows (``stats …``) are not events and are skipped.
    """
    return frames.get("_audit_scan")["events"]


@frame("audit_queries", sources=("aws/logs/get_query_results",))
def build_audit_queries(frames: Frames) -> pd.DataFrame:
    """One row per recorded Logs Insights query: text, window, status, result count."""
    return frames.get("_audit_scan")["queries"]


# ------------------------------------------------------------------------------------------
# suspicious audit events (shared by audit_suspicious_activity_absent and the audit view)
# ------------------------------------------------------------------------------------------
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
RBAC_RESOURCES = ("roles", "rolebindings", "clusterroles", "clusterrolebindings")
# non-resource URLs anonymous users may read on EKS (system:public-info-viewer): not findings
PUBLIC_INFO_PATHS = ("/healthz", "/livez", "/readyz", "/version")
#: category → what it means (the rows of audit_suspicious_activity_absent, in this order)
SUSPICIOUS_CATEGORIES = {
    "pod_exec_attach_by_human": "exec/attach into pods by humans",
    "rbac_or_aws_auth_change": "aws-auth or RBAC changes by non-baseline principals",
    "anonymous_request": "anonymous requests",
    "denied_secret_read": "denied reads of Secrets",
}


def baseline_mask(users: pd.Series, patterns: list[str]) -> pd.Series:
    """Tell which user names match a baseline pattern (``fnmatch``, e.g. ``system:*``)."""
    rx = re.compile("|".join(fnmatch.translate(p) for p in patterns)) if patterns else None
    return users.fillna("").map(lambda u: bool(rx and rx.match(u))).astype(bool)


def suspicious_masks(ev: pd.DataFrame, baseline: pd.Series) -> dict[str, pd.Series]:
    """Per category of :data:`SUSPICIOUS_CATEGORIES`, the audit events that fall in it.

    ``baseline`` is :func:`baseline_mask` of the events' users. An event may fall in two
    categories (an anonymous denied Secret read).
    """
    def eq(col: str, value: str) -> pd.Series:
        return ev[col].eq(value).fillna(False).astype(bool)

    def isin(col: str, values) -> pd.Series:
        return ev[col].isin(values).fillna(False).astype(bool)

    aws_auth = (eq("resource", "configmaps") & eq("namespace", "kube-system")
                & eq("name", "aws-auth"))
    rbac = isin("resource", RBAC_RESOURCES) & ~ev.api_group.fillna(
        "rbac.authorization.k8s.io").ne("rbac.authorization.k8s.io").astype(bool)
    anonymous = eq("user", "system:anonymous") | ev.groups.map(
        lambda g: "system:unauthenticated" in g).astype(bool)
    public = ev.request_uri.fillna("").map(
        lambda u: u.split("?", 1)[0] in PUBLIC_INFO_PATHS).astype(bool)
    return {
        "pod_exec_attach_by_human": eq("resource", "pods") & isin("subresource", ("exec", "attach"))
        & ~baseline,
        "rbac_or_aws_auth_change": (aws_auth | rbac) & isin("verb", WRITE_VERBS) & ~baseline,
        "anonymous_request": anonymous & ~public,
        "denied_secret_read": eq("resource", "secrets") & isin("verb", ("get", "list", "watch"))
        & isin("response_code", (401, 403)),
    }


def dedupe_events(ev: pd.DataFrame) -> pd.DataFrame:
    """One row per audit event, oldest first (a query may return an event at several stages).

    Events are keyed by ``auditID`` (else time, user, verb and object); the
    ``ResponseComplete`` stage is kept.
    """
    if ev.empty:
        return ev
    ev = ev.assign(_complete=ev.stage.ne("ResponseComplete").fillna(True).astype(bool))
    ev = ev.sort_values("_complete", kind="stable")
    key = ev.audit_id.fillna(ev.timestamp.fillna("") + "|" + ev.user.fillna("") + "|"
                             + ev.verb.fillna("") + "|" + ev.resource.fillna("") + "|"
                             + ev.subresource.fillna("") + "|" + ev.name.fillna(""))
    return ev[~key.duplicated()].drop(columns="_complete").sort_values("timestamp")


# ------------------------------------------------------------------------------------------
# runtime sensors
# ------------------------------------------------------------------------------------------
# (product, DaemonSet name pattern, image pattern); the first match names the product
_SENSORS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (product, re.compile(name_rx), re.compile(image_rx))
    for product, name_rx, image_rx in (
        ("GuardDuty agent", r"^aws-guardduty-agent$", r"/aws-guardduty-agent[:@]"),
        ("Falco", r"^falco(-.*)?$", r"(^|/)falco(-no-driver|-distroless)?[:@]"),
        ("Tetragon", r"^tetragon$", r"(^|/)tetragon[:@]"),
        ("Sysdig agent", r"^(sysdig-agent|sysdig-host-shield|sysdig-shield-host)$",
         r"(^|/)sysdig/(agent|agent-slim|host-shield)[:@]"),
        ("CrowdStrike Falcon sensor", r"^falcon-node-sensor$", r"falcon-sensor[:@]"),
        ("Prisma Cloud Defender", r"^twistlock-defender-ds$", r"twistlock/defender[:@]"),
        ("Aqua Enforcer", r"^aqua-enforcer(-ds)?$", r"(^|/)aquasec/enforcer[:@]"),
    )
)
_LABEL_KEYS = ("app.kubernetes.io/name", "app", "k8s-app", "name")
SENSOR_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "product": "str",
    "desired_scheduled": "Int64", "number_ready": "Int64", "tolerations": "object",
    "node_selector": "object", "node_affinity": "object", "ready_nodes": "object",
    "pod_nodes": "object",
}


def _product(name: str, labels: dict[str, str], images: list[str]) -> str | None:
    candidates = [name, *(labels.get(k, "") for k in _LABEL_KEYS)]
    for product, name_rx, image_rx in _SENSORS:
        if any(name_rx.match(c) for c in candidates if c) or any(
                image_rx.search(i) for i in images):
            return product
    return None


@frame("runtime_sensors", sources=WORKLOAD_SOURCES, any_source=True,
       schema=pa.DataFrameSchema({
           **_KEY,
           "product": pa.Column(str, description="Falco, Tetragon, GuardDuty agent, Sysdig …"),
           "ready_nodes": pa.Column(object, nullable=True,
                                    description="nodes with a ready sensor pod; None when pods "
                                    "were not collected"),
       }))
def build_runtime_sensors(frames: Frames) -> pd.DataFrame:
    """One row per DaemonSet recognised as a runtime-detection sensor.

    Recognised by DaemonSet name, pod-template app labels or container image: Falco, Tetragon,
    the GuardDuty agent (``amazon-guardduty/aws-guardduty-agent``), Sysdig agent, and the
    CrowdStrike, Prisma Cloud and Aqua node sensors. ``ready_nodes`` lists the nodes where one
    of its pods is ready (from pods; None when pods were not collected, then
    ``desired_scheduled`` / ``number_ready`` from the DaemonSet status are what is known; also
    when the snapshot holds none of its pods although its status counts ready ones).
    """
    w = frames.workloads
    ds = w[w.kind == "DaemonSet"]
    if ds.empty:
        return from_rows([], SENSOR_COLUMNS)
    c = frames.containers
    images = (c[c.kind == "DaemonSet"].groupby(["namespace", "name"])["image"].agg(list)
              .to_dict())
    specs = frames.pod_specs
    pods = frames.pods if frames.snapshot.has_k8s("pods") else None
    rows = []
    for d in ds.itertuples(index=False):
        product = _product(d.name, d.labels or {}, images.get((d.namespace, d.name), []))
        if product is None:
            continue
        ready_nodes = pod_nodes = None
        if pods is not None:
            mine = pods[(pods.workload_kind == "DaemonSet") & (pods.namespace == d.namespace)
                        & (pods.workload_name == d.name) & pods.node_name.notna()]
            declared_ready = 0 if pd.isna(d.number_ready) else int(d.number_ready)
            if not mine.empty or declared_ready == 0:
                pod_nodes = tuple(sorted(set(mine.node_name)))
                ready_nodes = tuple(sorted(set(mine.node_name[mine.ready])))
            # else: no pod of it in the snapshot although its status counts ready pods
            # (declared state, e.g. manifests with status): judge by the counts
        affinity = (((specs[d.spec_hash]["spec"].get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
        rows.append({
            "kind": "DaemonSet", "namespace": d.namespace, "name": d.name, "product": product,
            "desired_scheduled": d.desired_scheduled, "number_ready": d.number_ready,
            "tolerations": list(d.tolerations or ()), "node_selector": dict(d.node_selector or {}),
            "node_affinity": list(affinity.get("nodeSelectorTerms") or ()),
            "ready_nodes": ready_nodes, "pod_nodes": pod_nodes,
        })
    return from_rows(rows, SENSOR_COLUMNS)


# ------------------------------------------------------------------------------------------
# scheduling helpers (why a DaemonSet does not run on a node)
# ------------------------------------------------------------------------------------------
# taints the DaemonSet controller tolerates on its own (it adds these tolerations to every pod)
DAEMONSET_AUTO_TOLERATED = frozenset({
    "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
    "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
    "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable",
    "node.kubernetes.io/network-unavailable",
})


def _tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key") and op == "Exists":
            return True
        if t.get("key") == taint.get("key") and (
                op == "Exists" or (t.get("value") or "") == (taint.get("value") or "")):
            return True
    return False


def untolerated_taints(tolerations: list[dict[str, Any]],
                       taints: list[dict[str, Any]]) -> list[str]:
    """Taints (NoSchedule/NoExecute) that keep a DaemonSet's pods off a node, as text."""
    out = []
    for taint in taints or ():
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if taint.get("key") in DAEMONSET_AUTO_TOLERATED or _tolerates(tolerations, taint):
            continue
        value = f"={taint['value']}" if taint.get("value") else ""
        out.append(f"{taint.get('key')}{value}:{taint.get('effect')}")
    return out


def _term_matches(term: dict[str, Any], labels: dict[str, str]) -> bool:
    for expr in term.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
            "Gt": present and _num(labels.get(key)) > _num(values[0] if values else None),
            "Lt": present and _num(labels.get(key)) < _num(values[0] if values else None),
        }.get(op, False)
        if not ok:
            return False
    return True


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def selects_node(node_selector: dict[str, str], node_affinity: list[dict[str, Any]],
                 labels: dict[str, str]) -> bool:
    """Tell whether nodeSelector and required node affinity (label expressions) admit a node."""
    if any(labels.get(k) != v for k, v in (node_selector or {}).items()):
        return False
    terms = [t for t in node_affinity or () if t.get("matchExpressions")]
    return not terms or any(_term_matches(t, labels) for t in terms)


FARGATE_LABEL = ("eks.amazonaws.com/compute-type", "fargate")
NO_POD = "no pod on the node"


def sensor_gap(sensor: Any, node: Any) -> str:
    """Why sensor DaemonSet ``sensor`` (a runtime_sensors row) has no ready pod on ``node``.

    ``node`` is a nodes row (``name``, ``labels``, ``taints``). The first reason that applies:
    a Fargate node, untolerated NoSchedule/NoExecute taints (named), nodeSelector / required
    node affinity, a pod on the node that is not ready, else :data:`NO_POD`.
    """
    labels = node.labels or {}
    if labels.get(FARGATE_LABEL[0]) == FARGATE_LABEL[1]:
        return "Fargate node: DaemonSets never run there"
    taints = untolerated_taints(sensor.tolerations, node.taints)
    if taints:
        return "does not tolerate taint " + ", ".join(taints)
    if not selects_node(sensor.node_selector, sensor.node_affinity, labels):
        return "its nodeSelector / node affinity excludes the node"
    if isinstance(sensor.pod_nodes, tuple) and node.name in sensor.pod_nodes:
        return "its pod on the node is not ready"
    return NO_POD


GUARDDUTY_OPT_OUT_TAG = "GuardDutyManaged"


def guardduty_agent_opted_out(frames: Frames) -> bool:
    """Tell whether the assessed cluster is tagged ``GuardDutyManaged=false``.

    With that tag GuardDuty does not deploy its runtime agent to the cluster, even when
    EKS_ADDON_MANAGEMENT is enabled on the detector. False when the cluster was not described.
    """
    name = frames.snapshot.cluster.name
    for rec in frames.snapshot.aws("eks", "describe_cluster"):
        cluster = (rec.get("response") or {}).get("cluster") or {}
        if cluster.get("name") in (name, None):
            tags = cluster.get("tags") or {}
            return str(tags.get(GUARDDUTY_OPT_OUT_TAG, "")).strip().lower() == "false"
    return False


def described_detectors(detectors: pd.DataFrame) -> pd.DataFrame:
    """The detectors that get_detector described; NotAssessed when none of the listed ones was."""
    described = detectors[detectors.described]
    if described.empty:
        errors = "".join(f" ({e})" for e in detectors.error.dropna())
        raise NotAssessed("guardduty get_detector not collected for "
                          + ", ".join(detectors["name"]) + errors)
    return described
