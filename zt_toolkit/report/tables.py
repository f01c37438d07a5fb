"""Summaries of findings and frames for the notebooks and the report: ``summarize_*`` → DataFrame.

Every function takes the findings frame (fixed schema, see
:data:`zt_toolkit.checks.model.FINDINGS_COLUMNS`) or an :class:`~zt_toolkit.assessment.Assessment`
and returns a new DataFrame with snake_case columns; values stay raw (unescaped) so that the same
frames feed CSV exports. :func:`render_table` turns any of them into escaped HTML for the report.
The images, secrets and audit pillars keep their summaries, charts and narrative together in
``report/images_view.py``, ``secrets_view.py`` and ``audit_view.py``.

A summary that needs a frame the snapshot lacks returns an empty frame whose ``attrs["note"]``
says what was not collected and why; it never presents missing data as a clean result.

Vocabulary
----------
*outcome* of a finding: its status, except a failing finding covered by a waiver, which is
``waived`` (an accepted risk: shown, but not counted as open).

*check status* (one per check, from its findings): ``fail`` when any finding is an open failure;
otherwise ``error``, ``not_assessed``, ``pass`` (passing or waived findings), ``not_applicable``.

Scoring
-------
:func:`summarize_pillars` carries each pillar's score, CISA maturity stage and coverage from
:mod:`zt_toolkit.report.scores`, which documents the model.

Examples
--------
>>> from zt_toolkit import assess
>>> from zt_toolkit.report import tables
>>> a = assess("reports/demo-snapshot")                               # doctest: +SKIP
>>> tables.summarize_pillars(a.findings)[["title", "fail", "score"]]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from zt_toolkit.checks.model import PILLAR_TITLES, SEVERITY_ORDER, Pillar
from zt_toolkit.report.scores import SEVERITY_WEIGHTS, score_pillars, stage_label
from zt_toolkit.report.theme import OUTCOMES, SEVERITIES, STATUS_LABELS, badge_style

if TYPE_CHECKING:
    from zt_toolkit.assessment import Assessment

log = logging.getLogger(__name__)


KEY = ["kind", "namespace", "name"]
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")

# Short column labels for matrices and charts (the catalogue's titles are full sentences).
SHORT_LABELS = {
    # network
    "eks_endpoint_private_access_enabled": "Private endpoint",
    "eks_endpoint_public_access_restricted": "Public endpoint restricted",
    "eks_cluster_security_group_ingress_restricted": "Security group ingress",
    "network_policy_enforcement_enabled": "Policy enforcement",
    "namespace_network_policy_present": "NetworkPolicy present",
    "namespace_default_deny_ingress_present": "Default-deny ingress",
    "namespace_default_deny_egress_present": "Default-deny egress",
    "network_policy_allow_all_absent": "No allow-all rule",
    "workload_network_isolated": "Workload isolated",
    "segmentation_intents_hold": "Segmentation intents",
    "service_internet_exposure_restricted": "Internet exposure",
    "load_balancer_tls_enabled": "Load balancer TLS",
    "vpc_flow_logs_enabled": "VPC flow logs",
    "network_policy_selects_pods": "Policy selects pods",
    # identity
    "eks_access_entries_enabled": "Access entries",
    "eks_cluster_admin_access_minimal": "Cluster admins",
    "aws_auth_system_masters_absent": "aws-auth system:masters",
    "aws_auth_write_minimal": "aws-auth write",
    "node_role_least_privilege": "Node role",
    "aws_node_uses_irsa": "aws-node IRSA",
    "workload_iam_role_least_privilege": "Pod IAM role",
    "irsa_trust_policy_scoped": "IRSA trust policy",
    "iam_role_not_shared": "Shared IAM role",
    "imds_access_restricted": "IMDS access",
    "rbac_cluster_admin_binding_minimal": "cluster-admin",
    "rbac_wildcard_absent": "Wildcards",
    "rbac_secret_read_minimal": "Read secrets",
    "rbac_pod_create_minimal": "Create pods",
    "rbac_exec_attach_minimal": "Exec / attach",
    "rbac_escalation_verbs_absent": "Bind / escalate / impersonate",
    "rbac_node_proxy_absent": "nodes/proxy",
    "rbac_webhook_write_minimal": "Write webhooks",
    "rbac_token_create_minimal": "Create tokens",
    "rbac_anonymous_binding_absent": "Anonymous binding",
    "rbac_authenticated_group_minimal": "system:authenticated",
    "workload_cluster_takeover_rights_absent": "Cluster takeover",
    "service_account_token_automount_disabled": "Token automount",
    "legacy_service_account_token_secret_absent": "Legacy token secret",
    # pod security
    "namespace_pss_enforce_label_present": "PSS enforce label",
    "workload_pss_baseline_compliant": "PSS baseline",
    "workload_pss_restricted_compliant": "PSS restricted",
    "container_privileged_absent": "Privileged",
    "pod_host_namespaces_absent": "Host namespaces",
    "container_host_port_absent": "hostPort",
    "container_privilege_escalation_disallowed": "Privilege escalation",
    "container_runs_as_non_root": "Runs as non-root",
    "container_read_only_root_filesystem": "Read-only root FS",
    "container_capabilities_dropped": "Capabilities",
    "container_seccomp_profile_set": "Seccomp",
    "pod_host_path_absent": "hostPath",
    "container_runtime_socket_unmounted": "Runtime socket",
    "container_resource_limits_set": "Resource limits",
    "admission_policy_engine_enforcing": "Admission policy",
    # images
    "ecr_image_scanning_enabled": "ECR scanning",
    "running_image_vulnerabilities_absent": "Critical/High CVEs",
    "running_image_scanned": "Image scanned",
    "image_registry_trusted": "Trusted registry",
    "image_reference_immutable": "Immutable reference",
    "ecr_tag_immutability_enabled": "Tag immutability",
    "image_minimal_base": "Minimal base",
    "admission_image_policy_enforced": "Admission image policy",
    "ecr_repository_not_public": "Repository not public",
    # secrets
    "eks_secrets_encryption_kms_cmk": "KMS envelope encryption",
    "kms_key_rotation_enabled": "KMS key rotation",
    "secret_not_in_env_var": "Secrets not in env",
    "plaintext_credentials_absent": "Plaintext credentials",
    "external_secret_store_used": "External secret store",
    "secretsmanager_rotation_enabled": "Secrets Manager rotation",
    "storage_encryption_enabled": "Storage encryption",
    # audit
    "eks_control_plane_logging_enabled": "Control-plane logs",
    "eks_log_retention_configured": "Log retention",
    "guardduty_eks_audit_monitoring_enabled": "GuardDuty audit logs",
    "guardduty_runtime_monitoring_enabled": "GuardDuty runtime",
    "runtime_sensor_coverage_complete": "Runtime sensor",
    "audit_suspicious_activity_absent": "Suspicious activity",
    "cloudtrail_enabled": "CloudTrail",
}

CHECK_COLUMNS = ["check_id", "pillar", "title", "severity", "status", "resources", *OUTCOMES,
                 "pass_ratio", "offenders", "remediation"]


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    """Title and remediation of every registered check (empty if the registry fails)."""
    try:
        from zt_toolkit.checks.registry import all_checks

        return {c.id: {"title": c.title, "remediation": c.remediation, "severity": c.severity.value,
                       "pillar": c.pillar.value} for c in all_checks()}
    except Exception:  # a broken check module must not take the report down with it
        log.exception("cannot read the check registry; titles fall back to check ids")
        return {}


def check_title(check_id: str) -> str:
    """Return the catalogue title of a check (its id in words when the check is unknown)."""
    meta = _catalogue().get(check_id)
    return meta["title"] if meta else check_id.replace("_", " ").capitalize()


def short_label(check_id: str) -> str:
    """Return a short label of a check for chart axes and matrix columns."""
    if check_id in SHORT_LABELS:
        return SHORT_LABELS[check_id]
    title = check_title(check_id)
    return title if len(title) <= 28 else title[:27] + "…"


def pillar_title(pillar: str | Pillar) -> str:
    """Human title of a pillar id."""
    try:
        return PILLAR_TITLES[Pillar(pillar)]
    except ValueError:
        return str(pillar)


def resource_label(kind: Any, namespace: Any, name: Any) -> str:
    """``Deployment storefront/api`` or ``Cluster acme-prod`` (raw: escape before HTML)."""
    ns = f"{namespace}/" if isinstance(namespace, str) and namespace else ""
    return f"{kind} {ns}{name}".strip()


def outcomes(findings: pd.DataFrame) -> pd.Series:
    """Return the status of each finding, with waived failures as ``waived``."""
    waived = findings["waived"].astype("boolean").fillna(False).astype(bool)
    return findings["status"].where(~(waived & findings["status"].eq("fail")), "waived")


def _severity_rank(values: pd.Series) -> pd.Series:
    return values.map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER)).astype(int)


def _pillar_rank(values: pd.Series) -> pd.Series:
    order = {p.value: i for i, p in enumerate(Pillar)}
    return values.map(order).fillna(len(order)).astype(int)


def join_examples(labels: Iterable[str], limit: int = 3) -> str:
    """Up to ``limit`` labels joined with commas, and how many more ("a, b and 3 more")."""
    labels = list(dict.fromkeys(labels))
    text = ", ".join(labels[:limit])
    return text + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _of_pillar(findings: pd.DataFrame, pillar: str | Pillar | None) -> pd.DataFrame:
    if pillar is None:
        return findings
    return findings[findings["pillar"] == Pillar(pillar).value]


def _noted(df: pd.DataFrame, note: str) -> pd.DataFrame:
    df.attrs["note"] = note
    return df


def empty_table(columns: Sequence[str], note: str) -> pd.DataFrame:
    """An empty summary with its columns and the note the report shows instead of a table."""
    return _noted(pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), note)


def frame_or_note(assessment: Assessment, name: str) -> tuple[pd.DataFrame | None, str]:
    """Return a frame of the assessment, or ``(None, why)`` when it is unknown or missing.

    Frames are looked up through the registry (:func:`zt_toolkit.frames.spec_of` loads every
    builder), so a frame another module has not registered yet degrades to a note.
    """
    from zt_toolkit import frames as frames_module

    with contextlib.suppress(KeyError):  # spec_of imports every builder module first
        frames_module.spec_of(name)
    if name not in frames_module.FRAME_BUILDERS:
        return None, f"not collected: this toolkit version has no {name} data"
    gaps = assessment.frames.gaps([name])
    if gaps:
        return None, "not collected: " + "; ".join(gaps)
    try:
        value = assessment.frames.get(name)
    except Exception as exc:  # a broken frame degrades the section, not the whole report
        log.exception("frame %s could not be built", name)
        return None, f"not available: the {name} data could not be read ({type(exc).__name__})"
    if not isinstance(value, pd.DataFrame):
        return None, f"not available: {name} is not a table"
    return value, ""


# ------------------------------------------------------------------------------------------
# checks and pillars
# ------------------------------------------------------------------------------------------
def check_status(counts: pd.DataFrame) -> list[str]:
    """Return the check status from outcome counts (``fail, waived, pass, error`` …)."""
    return [
        "fail" if fail else "error" if error else "not_assessed" if not_assessed
        else "pass" if passed + waived else "not_applicable"
        for fail, error, not_assessed, passed, waived in zip(
            counts["fail"], counts["error"], counts["not_assessed"], counts["pass"],
            counts["waived"], strict=True)
    ]


def summarize_checks(findings: pd.DataFrame) -> pd.DataFrame:
    """One row per check (all pillars): check status, outcome counts, pass ratio, offenders.

    Columns: ``check_id, pillar, title, severity, status, resources`` (evaluated: pass, fail or
    waived), one count per outcome (``fail, waived, pass, not_applicable, not_assessed,
    error``), ``pass_ratio`` (share of evaluated resources that pass or are waived; NA when
    none was evaluated), ``offenders`` (up to three open failures) and ``remediation``.
    Ordered by pillar, then check status (failing first), severity and id.
    """
    if findings.empty:
        return empty_table(CHECK_COLUMNS, "no findings")
    f = findings.assign(outcome=outcomes(findings),
                        label=[resource_label(k, n, m) for k, n, m in
                               zip(findings["kind"], findings["namespace"], findings["name"],
                                   strict=True)])
    counts = (pd.crosstab(f["check_id"], f["outcome"])
              .reindex(columns=list(OUTCOMES), fill_value=0).astype(int))
    meta = f.groupby("check_id", sort=False).agg(
        pillar=("pillar", "first"), remediation=("remediation", "first"))
    # a check may grade its rows: the most severe open failure, else the most severe row
    graded = f.assign(_settled=f["outcome"].ne("fail"), _v=_severity_rank(f["severity"]))
    meta["severity"] = (graded.sort_values(["_settled", "_v"], kind="stable")
                        .groupby("check_id", sort=False)["severity"].first())
    offenders = (f[f["outcome"] == "fail"].sort_values(["namespace", "name"])
                 .groupby("check_id")["label"].agg(join_examples))
    out = meta.join(counts).reset_index()
    out["title"] = out["check_id"].map(check_title)
    out["resources"] = out["pass"] + out["fail"] + out["waived"]
    out["pass_ratio"] = ((out["pass"] + out["waived"]) / out["resources"].where(
        out["resources"] > 0)).astype("Float64")
    out["offenders"] = [offenders.get(c, "") for c in out["check_id"]]
    out["status"] = check_status(out)
    status_rank = {"fail": 0, "error": 1, "not_assessed": 2, "pass": 3, "not_applicable": 4}
    out = out.assign(_p=_pillar_rank(out["pillar"]), _s=out["status"].map(status_rank),
                     _v=_severity_rank(out["severity"]))
    out = out.sort_values(["_p", "_s", "_v", "check_id"]).reset_index(drop=True)
    return out[CHECK_COLUMNS]


def summarize_pillars(findings: pd.DataFrame) -> pd.DataFrame:
    """Per pillar (all six, in report order): checks by status, failing checks by severity.

    Columns: ``pillar, title, checks, assessed`` (checks with evaluated resources), the check
    counts ``pass, fail, not_applicable, not_assessed, error``, failing checks per severity
    ``critical, high, medium, low, info``, ``failing_resources`` (open failures), ``waived``
    (waived failures), and from :func:`zt_toolkit.report.scores.score_pillars`: ``score``
    (0–100, NA when nothing was assessed), ``stage`` (CISA maturity stage or None) and
    ``coverage`` (share of the pillar's check weight that was assessed); ``stage`` holds the
    stage's label here (``Initial``, ``Not determined`` …).
    """
    checks = summarize_checks(findings)
    rows = []
    for pillar in Pillar:
        c = checks[checks["pillar"] == pillar.value]
        status = c["status"].value_counts()
        failing = c[c["status"] == "fail"]["severity"].value_counts()
        rows.append({
            "pillar": pillar.value, "title": pillar.title, "checks": len(c),
            **{s: int(status.get(s, 0)) for s in
               ("pass", "fail", "not_applicable", "not_assessed", "error")},
            **{s: int(failing.get(s, 0)) for s in SEVERITIES},
            "failing_resources": int(c["fail"].sum()), "waived": int(c["waived"].sum()),
        })
    scored = score_pillars(findings, checks)[["pillar", "assessed", "score", "stage",
                                              "coverage"]]
    out = pd.DataFrame(rows).merge(scored, on="pillar", how="left")
    out = out[["pillar", "title", "checks", "assessed", *out.columns[3:-4], "score", "stage",
               "coverage"]]
    out["score"] = out["score"].astype("Int64")
    out["stage"] = out["stage"].map(stage_label)
    out.attrs["column_labels"] = {"title": "Pillar", "stage": "Maturity stage"}
    out.attrs["display_columns"] = ["title", "score", "stage", "checks", "assessed", "pass",
                                    "fail", "not_assessed", "error", "critical", "high",
                                    "medium", "low", "failing_resources", "waived"]
    return out


def summarize_check_results(findings: pd.DataFrame, pillar: str | Pillar) -> pd.DataFrame:
    """One row per check of a pillar: title, severity, check status, counts, worst offenders.

    Failing checks come first (most severe first). Columns: ``check_id, title, severity,
    status, fail, waived, pass, not_applicable, not_assessed, error, offenders``.
    """
    checks = summarize_checks(findings)
    out = checks[checks["pillar"] == Pillar(pillar).value]
    cols = ["check_id", "title", "severity", "status", *OUTCOMES, "offenders"]
    out = out[cols].reset_index(drop=True)
    out.attrs["display_columns"] = [c for c in cols if c != "check_id"]
    if out.empty:
        out.attrs["note"] = f"No check of the {pillar_title(pillar)} pillar ran."
    return out


def summarize_top_risks(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Rank the open failures that matter most: one row per failing check.

    Failing, not waived; ordered by severity, then number of affected resources. Columns:
    ``rank, severity, pillar, title, affected, examples, remediation, check_id``.
    """
    cols = ["rank", "severity", "pillar", "title", "affected", "examples", "remediation",
            "check_id"]
    f = findings[outcomes(findings) == "fail"] if not findings.empty else findings
    if f.empty:
        return empty_table(cols, "No open failing check: nothing to rank.")
    f = f.assign(label=[resource_label(k, ns, m) for k, ns, m in
                        zip(f["kind"], f["namespace"], f["name"], strict=True)])
    g = (f.sort_values(["namespace", "name"]).groupby("check_id", sort=False)
         .agg(severity=("severity", "first"), pillar=("pillar", "first"),
              affected=("label", "size"), examples=("label", join_examples),
              remediation=("remediation", "first"))
         .reset_index())
    g = g.assign(_v=_severity_rank(g["severity"]))
    g = g.sort_values(["_v", "affected", "check_id"], ascending=[True, False, True]).head(n)
    g["title"] = g["check_id"].map(check_title)
    g["pillar"] = g["pillar"].map(pillar_title)
    g["rank"] = range(1, len(g) + 1)
    out = g[cols].reset_index(drop=True)
    out.attrs["display_columns"] = cols[:-1]
    return out


FINDINGS_SHOWN = 20
"""Rows of a pillar's findings table in the report (the appendix and exports hold all)."""


def findings_table(
    findings: pd.DataFrame,
    pillar: str | Pillar | None = None,
    status: Sequence[str] = ("fail",),
    include_waived: bool = False,
) -> pd.DataFrame:
    """Select findings ready to show a client: severity, check, resource, detail.

    Parameters
    ----------
    findings
        The findings frame.
    pillar
        Keep one pillar (``None``: all, with a ``pillar`` column).
    status
        Statuses to keep (default: failures).
    include_waived
        Keep waived failures too (marked in a ``waiver`` column); by default they are left to
        the accepted-risks table of the summary.

    Returns
    -------
    DataFrame with ``severity, [pillar,] check, kind, namespace, name, detail[, waiver]``,
    most severe first, then by check, namespace and name. The report shows the first
    :data:`FINDINGS_SHOWN` rows of a longer table (``attrs["max_rows"]``), with a note.
    """
    f = _of_pillar(findings, pillar)
    f = f[f["status"].isin(list(status))]
    if not include_waived:
        f = f[~f["waived"].astype(bool)]
    cols = ["severity", *(["pillar"] if pillar is None else []), "check", "kind", "namespace",
            "name", "detail", *(["waiver"] if include_waived else [])]
    if f.empty:
        what = " or ".join(STATUS_LABELS.get(s, s).lower() for s in status)
        scope = f"the {pillar_title(pillar)} pillar" if pillar is not None else "the assessment"
        return empty_table(cols, f"No {what} finding in {scope}.")
    out = pd.DataFrame({
        "severity": f["severity"], "pillar": f["pillar"].map(pillar_title),
        "check": f["check_id"].map(check_title), "kind": f["kind"],
        "namespace": f["namespace"], "name": f["name"], "detail": f["detail"],
        "waiver": f["waiver_reason"],
        "_v": _severity_rank(f["severity"]), "_p": _pillar_rank(f["pillar"]),
    })
    out = out.sort_values(["_v", "_p", "check", "namespace", "name"])[cols].reset_index(drop=True)
    out.attrs["max_rows"] = FINDINGS_SHOWN
    return out


def summarize_check_findings(findings: pd.DataFrame, check_id: str) -> pd.DataFrame:
    """Every finding of one check, open failures first: ``outcome, kind, namespace, name, detail``.

    For checks whose passing rows matter as much as the failing ones (segmentation intents,
    internet exposure, runtime sensor coverage). Waived failures show as ``waived``.
    """
    cols = ["outcome", "kind", "namespace", "name", "detail"]
    f = findings[findings["check_id"] == check_id]
    if f.empty:
        return empty_table(cols, f"No result: the check “{check_title(check_id)}” was not run in "
                            "this assessment.")
    rank = {o: i for i, o in enumerate(OUTCOMES)}
    out = f.assign(outcome=outcomes(f)).assign(_o=lambda d: d["outcome"].map(rank))
    out = out.sort_values(["_o", "namespace", "name"])[cols].reset_index(drop=True)
    out.attrs["badge_columns"] = ("outcome",)
    return out


def summarize_waivers(findings: pd.DataFrame) -> pd.DataFrame:
    """Summarize accepted risks: waived failures grouped by check and waiver reason.

    The EKS baseline (EKS-managed components judged by a documented allow-list) appears here as
    ``source = EKS baseline``, so that nothing is hidden from the reader. Columns: ``source,
    severity, check, reason, resources, examples``.
    """
    cols = ["source", "severity", "check", "reason", "resources", "examples"]
    f = findings[findings["waived"].astype(bool)] if not findings.empty else findings
    if f.empty:
        return empty_table(cols, "No finding is waived.")
    f = f.assign(
        label=[resource_label(k, ns, m) for k, ns, m in
               zip(f["kind"], f["namespace"], f["name"], strict=True)],
        source=["EKS baseline" if str(r).startswith("EKS baseline") else "Engagement waiver"
                for r in f["waiver_reason"]],
        reason=[str(r).removeprefix("EKS baseline: ") for r in f["waiver_reason"]],
    )
    g = (f.groupby(["source", "check_id", "reason"], sort=False)
         .agg(severity=("severity", "first"), resources=("label", "size"),
              examples=("label", join_examples))
         .reset_index())
    g["check"] = g["check_id"].map(check_title)
    g = g.assign(_v=_severity_rank(g["severity"]))
    g = g.sort_values(["source", "_v", "check"], ascending=[False, True, True])
    return g[cols].reset_index(drop=True)


def summarize_waiver_register(assessment: Assessment) -> pd.DataFrame:
    """Every waiver of the engagement config, with its state and the failures it covers.

    ``state`` is ``active`` (applied to at least one failure), ``expired`` (its date has passed:
    not applied, the failures it named count as open) or ``unused`` (it matches no failure: the
    risk was fixed or the pattern is wrong; either way, remove it). Columns: ``state, check,
    resource, reason, owner, expires, failures``. The EKS baseline is not listed here; its
    waived findings are in :func:`summarize_waivers`.
    """
    import fnmatch

    from zt_toolkit.checks.runner import waiver_matches

    cols = ["state", "check", "resource", "reason", "owner", "expires", "failures"]
    cfg = assessment.config
    if not cfg.waivers:
        return empty_table(cols, "The engagement config has no waivers.")
    f = assessment.findings
    failing = f[f["status"] == "fail"]
    rows = []
    for w in cfg.waivers:
        scope = failing[[fnmatch.fnmatchcase(c, w.check) for c in failing["check_id"]]]
        hits = int(waiver_matches(scope, w).sum()) if len(scope) else 0
        state = "expired" if w.expired(cfg.today) else "active" if hits else "unused"
        rows.append({
            "state": state,
            "check": check_title(w.check) if w.check != "*" else "all checks",
            "resource": resource_label(w.kind, "" if w.namespace == "*" else w.namespace, w.name),
            "reason": w.reason, "owner": w.owner,
            "expires": w.expires.isoformat() if w.expires else "",
            "failures": hits,
        })
    order = {"expired": 0, "unused": 1, "active": 2}
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("state", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True)


def summarize_failures_appendix(findings: pd.DataFrame, limit: int = 12) -> pd.DataFrame:
    """Every open failure, one row per failing check, for the report's appendix.

    Checks are ordered by pillar, then severity. ``resources`` lists the failing resources with
    their detail, up to ``limit``; longer lists end with how many more there are (the complete
    list is in findings.csv/findings.xlsx). Columns: ``pillar, severity, check, affected,
    resources, remediation, check_id``.
    """
    cols = ["pillar", "severity", "check", "affected", "resources", "remediation", "check_id"]
    f = findings[outcomes(findings) == "fail"] if not findings.empty else findings
    if f.empty:
        return empty_table(cols, "No open failure.")
    f = f.sort_values(["namespace", "name"])
    f = f.assign(entry=[
        resource_label(k, ns, m) + (f" — {d}" if isinstance(d, str) and d else "")
        for k, ns, m, d in zip(f["kind"], f["namespace"], f["name"], f["detail"], strict=True)])

    def listing(entries: pd.Series) -> str:
        items = list(entries)
        more = len(items) - limit
        shown = items[:limit] + ([f"… and {more} more (all in findings.xlsx)"] if more > 0 else [])
        return "\n".join(shown)

    g = (f.groupby("check_id", sort=False)
         .agg(pillar=("pillar", "first"), severity=("severity", "first"),
              affected=("entry", "size"), resources=("entry", listing),
              remediation=("remediation", "first"))
         .reset_index())
    g["check"] = g["check_id"].map(check_title)
    g = g.assign(_p=_pillar_rank(g["pillar"]), _v=_severity_rank(g["severity"]))
    g = g.sort_values(["_p", "_v", "affected"], ascending=[True, True, False])
    g["pillar"] = g["pillar"].map(pillar_title)
    out = g[cols].reset_index(drop=True)
    out.attrs["display_columns"] = [c for c in cols if c != "check_id"]
    out.attrs["max_rows"] = 0  # the appendix lists every failing check
    return out


def summarize_check_catalogue() -> pd.DataFrame:
    """The checks this toolkit runs, with their frameworks: the methodology appendix.

    Columns: ``pillar, check_id, title, severity, cis_eks`` (CIS Amazon EKS Benchmark v1.8.0
    sections), ``eks_bpg`` (EKS Best Practices Guide, security chapter), ``nsa_cisa`` (NSA/CISA
    Kubernetes Hardening Guidance), ``pss`` (Kubernetes Pod Security Standards) and
    ``also_in`` (the kubescape controls and Prowler checks that test the same thing).
    """
    from zt_toolkit.checks.registry import all_checks
    from zt_toolkit.frameworks import nsa_cisa_sections

    nsa = nsa_cisa_sections()
    rows = []
    for c in sorted(all_checks(), key=lambda c: (list(Pillar).index(c.pillar),
                                                   SEVERITY_ORDER.get(c.severity.value, 9),
                                                   c.id)):
        refs: dict[str, list[str]] = {key: [] for key in ("CIS", "BPG", "PSS", "KS", "PW")}
        for ref in c.references:
            family, _, rest = ref.partition(" ")
            if family in refs:
                refs[family].append(rest)
        rows.append({
            "pillar": c.pillar.title, "check_id": c.id, "title": c.title,
            "severity": c.severity.value,
            "cis_eks": ", ".join(refs["CIS"]), "eks_bpg": ", ".join(refs["BPG"]),
            "nsa_cisa": nsa.get(c.id, ""), "pss": ", ".join(refs["PSS"]),
            "also_in": ", ".join([f"kubescape {r}" for r in refs["KS"]]
                                 + [f"Prowler {r}" for r in refs["PW"]]),
        })
    out = pd.DataFrame(rows)
    out.attrs["max_rows"] = 0
    out.attrs["display_columns"] = ["pillar", "title", "severity", "cis_eks", "eks_bpg",
                                    "nsa_cisa", "also_in"]
    out.attrs["column_labels"] = {"cis_eks": "CIS EKS", "eks_bpg": "EKS BPG",
                                  "nsa_cisa": "NSA/CISA", "pss": "PSS", "also_in": "Also in"}
    return out


def summarize_failures_by_namespace(findings: pd.DataFrame,
                                    pillar: str | Pillar | None = None) -> pd.DataFrame:
    """Open failures per namespace and severity (cluster-scoped resources as ``(cluster)``).

    Columns: ``namespace``, one count per severity, ``total``; most failures first.
    """
    f = _of_pillar(findings, pillar)
    f = f[outcomes(f) == "fail"] if not f.empty else f
    cols = ["namespace", *SEVERITIES, "total"]
    if f.empty:
        return empty_table(cols, "No open failure.")
    ns = f["namespace"].where(f["namespace"].astype(str) != "", "(cluster)")
    out = (pd.crosstab(ns, f["severity"]).reindex(columns=list(SEVERITIES), fill_value=0)
           .astype(int))
    out["total"] = out.sum(axis=1)
    out.index.name = "namespace"
    return out.sort_values(["total", "namespace"], ascending=[False, True]).reset_index()[cols]


# ------------------------------------------------------------------------------------------
# coverage
# ------------------------------------------------------------------------------------------
_SOURCE_IN_DETAIL = re.compile(
    r"((?:k8s|aws)/[\w.\-]+(?:/[\w.\-]+)?): (forbidden|not_found|error|not_collected)")


def summarize_unassessed_checks(findings: pd.DataFrame) -> pd.DataFrame:
    """List checks that gave no result: not assessed (data missing) or errored.

    Columns: ``pillar, check, severity, status, why, check_id``.
    """
    cols = ["pillar", "check", "severity", "status", "why", "check_id"]
    f = findings[findings["status"].isin(["not_assessed", "error"])]
    if f.empty:
        return empty_table(cols, "Every check could be evaluated.")
    g = (f.groupby("check_id", sort=False)
         .agg(pillar=("pillar", "first"), severity=("severity", "first"),
              status=("status", "first"), why=("detail", lambda s: "; ".join(dict.fromkeys(s))))
         .reset_index())
    g = g.assign(_p=_pillar_rank(g["pillar"]), _v=_severity_rank(g["severity"]))
    g = g.sort_values(["_p", "_v", "check_id"])
    g["pillar"] = g["pillar"].map(pillar_title)
    g["check"] = g["check_id"].map(check_title)
    out = g[cols].reset_index(drop=True)
    out.attrs["display_columns"] = cols[:-1]
    return out


def summarize_coverage(assessment: Assessment) -> pd.DataFrame:
    """List sources not collected completely and the checks that became not assessed.

    One row per source whose status is not ``ok`` (from the snapshot manifest, plus any source
    a check found missing that the manifest does not list). Columns: ``source, status,
    message, checks`` (number of checks not assessed because of it) and ``not_assessed``
    (their ids). Sources that cost checks come first. An optional CRD that is ``not_found``
    simply is not installed; it costs no check unless one needs it.
    """
    cols = ["source", "status", "message", "checks", "not_assessed"]
    cov = assessment.coverage()
    bad = {r.source: (r.status, r.message or "") for r in cov.itertuples(index=False)
           if r.status != "ok"}
    findings = assessment.findings
    unassessed = findings[findings["status"] == "not_assessed"]
    by_source: dict[str, list[str]] = {}
    for check_id, detail in zip(unassessed["check_id"], unassessed["detail"], strict=True):
        for key, status in _SOURCE_IN_DETAIL.findall(str(detail)):
            bad.setdefault(key, (status, "not in the snapshot"))
            by_source.setdefault(key, [])
            if check_id not in by_source[key]:
                by_source[key].append(check_id)
    if not bad:
        return empty_table(cols, "Every source was collected completely.")
    rows = [{"source": key, "status": status, "message": message,
             "checks": len(by_source.get(key, [])),
             "not_assessed": ", ".join(by_source.get(key, [])) or "none"}
            for key, (status, message) in bad.items()]
    out = pd.DataFrame(rows).sort_values(["checks", "source"], ascending=[False, True])
    out.attrs["badge_columns"] = ()
    return out.reset_index(drop=True)[cols]


def summarize_engagement(assessment: Assessment) -> pd.DataFrame:
    """Return the facts of the engagement as ``item``, ``value`` rows for the summary."""
    snap, cfg = assessment.snapshot, assessment.config
    cluster = snap.cluster
    f = assessment.findings
    source = {"live": "collected from the live cluster (read-only)",
              "demo": "demo cluster (synthetic data)",
              "manifests": "imported from manifests (Kubernetes objects only)"}
    rows = [
        ("Client", cfg.client),
        ("Prepared by", cfg.consultancy),
        ("Classification", cfg.classification),
        ("Cluster", cluster.name),
        ("Region", cluster.region or "—"),
        ("Account", cluster.account_id or "—"),
        ("Kubernetes version", cluster.version or "—"),
        ("Snapshot taken", snap.manifest.collected_at),
        ("Snapshot source", source.get(snap.source, snap.source)),
        ("Checks run", f"{f['check_id'].nunique()} checks, {len(f)} findings"),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


# ------------------------------------------------------------------------------------------
# resource × check matrices (pod security, network posture, subject rights)
# ------------------------------------------------------------------------------------------
def summarize_resource_matrix(
    findings: pd.DataFrame,
    *,
    pillar: str | Pillar | None = None,
    check_ids: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    only_failing: bool = False,
) -> pd.DataFrame:
    """Resources × checks, each cell the outcome (``fail``, ``waived``, ``pass`` …; NA: not run).

    Rows are resources (columns ``kind, namespace, name``), ordered by open failures weighted by
    severity; the check columns are named by check id and ordered most severe first. With
    ``only_failing`` only resources with at least one open failure are kept.
    """
    f = _of_pillar(findings, pillar)
    if check_ids is not None:
        f = f[f["check_id"].isin(list(check_ids))]
    if kinds is not None:
        f = f[f["kind"].isin(list(kinds))]
    f = f[f["status"].isin(["pass", "fail"])]
    if f.empty:
        return empty_table([*KEY], "No resource was evaluated by these checks.")
    f = f.assign(outcome=outcomes(f), weight=f["severity"].map(SEVERITY_WEIGHTS).fillna(0))
    matrix = f.pivot_table(index=KEY, columns="check_id", values="outcome", aggfunc="first")
    sev = (f.groupby("check_id")["severity"].first().map(SEVERITY_ORDER)
           .sort_values(kind="stable"))
    order = [c for c in (check_ids or sev.index) if c in matrix.columns]
    order = sorted(order, key=lambda c: (sev.get(c, 9), c))
    matrix = matrix[order]
    open_fail = f[f["outcome"] == "fail"]
    waived = f[f["outcome"] == "waived"]
    # severity weight of open failures, then their number, then accepted risks
    score = (open_fail.groupby(KEY)["weight"].sum().reindex(matrix.index, fill_value=0)
             + open_fail.groupby(KEY).size().reindex(matrix.index, fill_value=0) / 1e3
             + waived.groupby(KEY).size().reindex(matrix.index, fill_value=0) / 1e6)
    matrix = matrix.assign(_score=score.values).reset_index()
    if only_failing:
        matrix = matrix[matrix["_score"] >= 1e-3]
    matrix = matrix.sort_values(["_score", "namespace", "name"], ascending=[False, True, True])
    out = matrix.drop(columns="_score").reset_index(drop=True)
    out.columns.name = None
    out.attrs["badge_columns"] = tuple(order)
    if out.empty:
        out.attrs["note"] = "No resource has an open failure on these checks."
    return out


def summarize_workload_checks(findings: pd.DataFrame, pillar: str | Pillar = "pod_security",
                              only_failing: bool = False) -> pd.DataFrame:
    """Workloads × checks of a pillar (default pod security): the outcome of each check."""
    return summarize_resource_matrix(findings, pillar=pillar, kinds=WORKLOAD_KINDS,
                                     only_failing=only_failing)


NETWORK_POSTURE_CHECKS = ("namespace_network_policy_present",
                          "namespace_default_deny_ingress_present",
                          "namespace_default_deny_egress_present")


def summarize_namespace_network_posture(assessment: Assessment) -> pd.DataFrame:
    """Per namespace: workloads, NetworkPolicies, and the three namespace network checks.

    Columns: ``namespace, workloads, network_policies`` (NA when policies were not collected),
    then one outcome column per check in :data:`NETWORK_POSTURE_CHECKS`. Namespaces with open
    failures come first; system namespaces are left out (the checks exclude them too).
    """
    f = assessment.findings
    m = summarize_resource_matrix(f, check_ids=NETWORK_POSTURE_CHECKS, kinds=("Namespace",))
    present = [c for c in NETWORK_POSTURE_CHECKS if c in m.columns]
    if m.empty:
        why = _why_not_run(f, NETWORK_POSTURE_CHECKS)
        return empty_table(["namespace", "workloads", "network_policies", *NETWORK_POSTURE_CHECKS],
                      f"Namespace network posture not available: {why}")
    out = m[["name", *present]].rename(columns={"name": "namespace"})
    workloads, _ = frame_or_note(assessment, "workloads")
    if workloads is not None:
        counts = workloads.groupby("namespace").size()
        out.insert(1, "workloads", out["namespace"].map(counts).fillna(0).astype(int))
    policies = _network_policy_counts(assessment)
    if policies is not None:
        out.insert(2 if workloads is not None else 1, "network_policies",
                   out["namespace"].map(policies).fillna(0).astype(int))
    out.attrs["badge_columns"] = tuple(present)
    return out.reset_index(drop=True)


def _network_policy_counts(assessment: Assessment) -> pd.Series | None:
    df, _ = frame_or_note(assessment, "network_policies")
    if df is not None and "namespace" in df.columns:
        return df.groupby("namespace").size()
    return None


def _why_not_run(findings: pd.DataFrame, check_ids: Iterable[str]) -> str:
    f = findings[findings["check_id"].isin(list(check_ids))]
    if f.empty:
        return "these checks are not part of this toolkit version."
    bad = f[f["status"].isin(["not_assessed", "error"])]
    if not bad.empty:
        return "; ".join(dict.fromkeys(bad["detail"].astype(str)))
    return "no namespace with workloads to evaluate."


RBAC_RIGHT_CHECKS = (
    "workload_cluster_takeover_rights_absent", "rbac_cluster_admin_binding_minimal",
    "rbac_escalation_verbs_absent", "rbac_anonymous_binding_absent",
    "rbac_secret_read_minimal", "rbac_exec_attach_minimal", "rbac_node_proxy_absent",
    "rbac_webhook_write_minimal", "rbac_authenticated_group_minimal", "rbac_pod_create_minimal",
    "rbac_token_create_minimal", "aws_auth_write_minimal",
)


def summarize_subject_rights(findings: pd.DataFrame) -> pd.DataFrame:
    """Subjects (users, groups, service accounts, workloads) × risky rights they hold.

    Built from the identity findings: a ``fail`` cell means the subject holds the right beyond
    the baseline, ``waived`` that it is accepted (EKS baseline or engagement waiver). Only
    subjects with at least one open failure are listed, riskiest first.
    """
    m = summarize_resource_matrix(findings, pillar="identity", check_ids=RBAC_RIGHT_CHECKS,
                                  only_failing=True)
    if m.empty and "note" not in m.attrs:
        m.attrs["note"] = "No subject holds a risky right beyond the baseline."
    if m.empty and not findings["check_id"].isin(RBAC_RIGHT_CHECKS).any():
        m.attrs["note"] = "RBAC rights not available: " + _why_not_run(findings,
                                                                       RBAC_RIGHT_CHECKS)
    return m


# ------------------------------------------------------------------------------------------
# pillar-specific summaries from frames
# ------------------------------------------------------------------------------------------
def summarize_workload_identity(assessment: Assessment) -> pd.DataFrame:
    """Per namespace: how workloads get their identity (IRSA role, default SA, token mounted).

    Columns: ``namespace, workloads, aws_role`` (service account annotated with an IRSA role),
    ``default_service_account``, ``token_automounted`` (neither the pod nor its service account
    sets ``automountServiceAccountToken: false``).
    """
    cols = ["namespace", "workloads", "aws_role", "default_service_account", "token_automounted"]
    w, why = frame_or_note(assessment, "workloads")
    if w is None:
        return empty_table(cols, f"Workload identity {why}.")
    sa, _ = frame_or_note(assessment, "service_accounts")
    w = w[~w["system"].astype(bool)]
    if w.empty:
        return empty_table(cols, "No workload outside the system namespaces.")
    if sa is not None:
        sa_idx = sa.set_index(["namespace", "name"])
        key = list(zip(w["namespace"], w["service_account"], strict=True))
        role = [bool(pd.notna(sa_idx["role_arn"].get(k))) if k in sa_idx.index else False
                for k in key]
        sa_mount = [sa_idx["automount_service_account_token"].get(k) if k in sa_idx.index
                    else pd.NA for k in key]
    else:
        role = [False] * len(w)
        sa_mount = [pd.NA] * len(w)
    pod_mount = w["automount_service_account_token"].tolist()
    mounted = [not (p is False or (pd.isna(p) and s is False))
               for p, s in zip(pod_mount, sa_mount, strict=True)]
    df = pd.DataFrame({"namespace": w["namespace"].values, "aws_role": role,
                       "default_service_account": (w["service_account"] == "default").values,
                       "token_automounted": mounted})
    out = (df.groupby("namespace")
           .agg(workloads=("aws_role", "size"), aws_role=("aws_role", "sum"),
                default_service_account=("default_service_account", "sum"),
                token_automounted=("token_automounted", "sum"))
           .reset_index().sort_values(["workloads", "namespace"], ascending=[False, True]))
    if sa is None:
        out["aws_role"] = pd.NA
        out.attrs["note"] = "Service accounts were not collected: IRSA roles are unknown."
    return out[cols].reset_index(drop=True)


def first_column(df: pd.DataFrame, names: Iterable[str]) -> str | None:
    """Return the first of ``names`` that is a column of ``df`` (None if none is)."""
    return next((n for n in names if n in df.columns), None)


def summarize_namespace_pss(assessment: Assessment) -> pd.DataFrame:
    """Pod Security Admission labels of each non-system namespace, with its workload count.

    Columns: ``namespace, workloads, enforce, audit, warn`` (``—`` where unset).
    """
    cols = ["namespace", "workloads", "enforce", "audit", "warn"]
    ns, why = frame_or_note(assessment, "namespaces")
    if ns is None:
        return empty_table(cols, f"Namespace labels {why}.")
    ns = ns[~ns["system"].astype(bool)]
    w, _ = frame_or_note(assessment, "workloads")
    counts = w.groupby("namespace").size() if w is not None else pd.Series(dtype="int64")
    out = pd.DataFrame({
        "namespace": ns["name"].values,
        "workloads": ns["name"].map(counts).fillna(0).astype(int).values,
        "enforce": ns["pss_enforce"].astype("string").fillna("—").values,
        "audit": ns["pss_audit"].astype("string").fillna("—").values,
        "warn": ns["pss_warn"].astype("string").fillna("—").values,
    })
    rank = {"—": 0, "privileged": 1, "baseline": 2, "restricted": 3}
    out = out.assign(_r=out["enforce"].map(rank).fillna(0))
    return out.sort_values(["_r", "workloads"], ascending=[True, False])[cols] \
        .reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# HTML rendering (escaped) — used by the notebooks' DataFrame display hook
# ------------------------------------------------------------------------------------------
COLUMN_LABELS = {
    "check_id": "Check id", "pass": "Pass", "fail": "Fail", "waived": "Waived",
    "not_applicable": "N/A", "not_assessed": "Not assessed", "error": "Error",
    "failing_resources": "Open failures", "pass_ratio": "Pass ratio", "score": "Score",
    "title": "Check", "offenders": "Examples", "network_policies": "NetworkPolicies",
    "aws_role": "With IAM role", "default_service_account": "Default SA",
    "token_automounted": "Token mounted", "secret_store": "Secret store (CSI)",
    "env": "As env vars", "volume": "As files", "none": "No secret",
    "registry_type": "Type", "log_type": "Log type", "not_assessed_checks": "Checks",
    "critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info",
}
DEFAULT_BADGE_COLUMNS = ("severity", "status")
# short values that must not wrap inside a word (the text columns take the remaining width)
NOWRAP_COLUMNS = {"kind", "severity", "status", "outcome", "rank", "scan", "enabled",
                  "required", "enforce", "audit", "warn", "log_type"}
# values with long unbreakable tokens (image references, ARNs): may break anywhere
WRAP_ANYWHERE_COLUMNS = {"name", "image", "registry", "examples", "detail", "principals",
                         "offenders", "not_assessed", "message", "why", "value", "waiver",
                         "reason", "source", "resources"}


def column_label(column: str) -> str:
    """Header text for a column: a check's short label, a known label, or the name in words."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    if column in SHORT_LABELS:
        return SHORT_LABELS[column]
    return str(column).replace("_", " ").capitalize()


def _cell(value: Any, badge: bool, percent: bool = False) -> tuple[str, bool]:
    """Escaped HTML of one cell and whether it is numeric."""
    if value is None or (not isinstance(value, (list, tuple, dict, set)) and pd.isna(value)):
        return "—", False
    if isinstance(value, (bool, np.bool_)):
        return ("yes" if value else "no"), False
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}", True
    if isinstance(value, (float, np.floating)):
        return (f"{value:.0%}" if percent else f"{value:,.1f}"), True
    if isinstance(value, pd.Timestamp):
        return html.escape(value.strftime("%Y-%m-%d %H:%M UTC")), False
    if isinstance(value, (list, tuple, set)):
        value = ", ".join(map(str, value))
    text = str(value)
    if badge and (text in OUTCOMES or text in SEVERITIES):
        label = STATUS_LABELS.get(text, text.capitalize()) if text in OUTCOMES else \
            text.capitalize()
        if text == "waived":
            label = "Waived"
        return f'<span style="{badge_style(text)}">{html.escape(label)}</span>', False
    return html.escape(text).replace("\n", "<br>"), False


def render_table(df: pd.DataFrame, max_rows: int | None = 50) -> str:
    """Escaped HTML for a summary frame: labelled headers, badges, a note when empty.

    Every value is escaped (resource names and annotations are untrusted). ``attrs`` of the
    frame steer the output: ``note`` (shown instead of an empty table, or below it),
    ``badge_columns`` (columns shown as severity/status badges besides ``severity`` and
    ``status``), ``hidden_when_empty`` (an empty frame renders as nothing),
    ``display_columns`` (the columns a reader needs, when the frame carries more for export),
    ``max_rows``. Longer frames are cut with a caption that says so.
    """
    note = df.attrs.get("note", "")
    if df.empty and df.attrs.get("hidden_when_empty"):
        return ""
    if df.empty:
        return f'<p class="zt-note">{html.escape(note or "Nothing to show.")}</p>'
    limit = df.attrs.get("max_rows", max_rows)
    badges = set(DEFAULT_BADGE_COLUMNS) | set(df.attrs.get("badge_columns", ()))
    shown = df if not limit or len(df) <= limit else df.head(limit)
    wanted = df.attrs.get("display_columns") or list(shown.columns)
    columns = [c for c in wanted if c in shown.columns and not str(c).startswith("_")]
    numeric = {c: pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(
        shown[c]) for c in columns}
    labels = {c: df.attrs.get("column_labels", {}).get(c) or column_label(c) for c in columns}
    css = {c: "num" if numeric[c] else "nowrap" if c in NOWRAP_COLUMNS or c in badges
           else "wrap" if c in WRAP_ANYWHERE_COLUMNS else "" for c in columns}
    head = "".join(f'<th class="{css[c]}">{html.escape(labels[c])}</th>' if css[c]
                   else f"<th>{html.escape(labels[c])}</th>" for c in columns)
    body = []
    for row in shown[columns].itertuples(index=False, name=None):
        cells = []
        for c, value in zip(columns, row, strict=True):
            text, is_num = _cell(value, c in badges,
                                 percent=str(c).endswith("ratio") or c == "coverage")
            klass = "num" if is_num else css[c]
            cells.append(f'<td class="{klass}">{text}</td>' if klass else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    captions = []
    if len(shown) < len(df):
        captions.append(f"Showing the first {len(shown)} of {len(df)} rows; the complete list "
                        "is in findings.xlsx and findings.csv.")
    if note:
        captions.append(note)
    caption = f"<caption>{html.escape(' '.join(captions))}</caption>" if captions else ""
    return (f'<table class="zt">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


# ------------------------------------------------------------------------------------------
# Pod Security Standards: enforcement readiness and offenders (frame workload_pss)
# ------------------------------------------------------------------------------------------
PSS_MODES = ("enforce", "audit", "warn")
PSS_LEVEL_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}
PSS_READINESS_COLUMNS = [
    "namespace", "level", "readiness", "workloads", "rejected", "rejected_workloads",
    "version", "enforce", "enforce_version", "audit", "audit_version", "warn", "warn_version",
]


def _pss_label(labels: Any, mode: str, version: bool = False) -> str:
    key = f"pod-security.kubernetes.io/{mode}{'-version' if version else ''}"
    value = labels.get(key) if isinstance(labels, dict) else None
    return "—" if value is None else str(value)


def _violators(rows: pd.DataFrame, limit: int = 10) -> str:
    """``Deployment/api (runAsNonRoot, seccompProfile_restricted); …`` of rejected workloads."""
    parts = [f"{r.kind}/{r.name} ({', '.join(r.checks)})"
             for r in rows.head(limit).itertuples(index=False)]
    more = len(rows) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _readiness(enforced: str, level: str, rejected: int) -> str:
    enforces = PSS_LEVEL_RANK.get(enforced, -1) >= PSS_LEVEL_RANK[level]
    if enforces:
        return "enforced" if not rejected else "enforced, violated"
    return "ready" if not rejected else "not ready"


def summarize_pss_readiness(assessment: Assessment) -> pd.DataFrame:
    """What would break if a namespace enforced baseline or restricted: one row per level.

    For every non-system namespace and each level (``baseline``, ``restricted``): the current
    Pod Security Admission labels and versions (``enforce``, ``enforce_version``, ``audit``, …;
    ``—`` where unset), the ``version`` the workloads were evaluated at (the enforce-version
    label, else ``latest``; an invalid label fails closed to ``latest``), how many workloads the
    namespace holds, how many would be ``rejected`` if that level were enforced, and which
    (``rejected_workloads``: kind/name with the violated Pod Security Admission checks).

    ``readiness`` reads: ``enforced`` (the enforce label already covers the level and every
    workload complies), ``ready`` (not enforced, nothing would be rejected), ``not ready``
    (enforcing would reject the listed workloads) or ``enforced, violated`` (enforced, yet
    templates violate it: their new pods are rejected, e.g. a Deployment cannot scale).

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> a = assess("reports/demo-snapshot")                                   # doctest: +SKIP
    >>> r = summarize_pss_readiness(a)                                         # doctest: +SKIP
    >>> r.loc[r.level == "restricted", ["namespace", "readiness", "rejected"]]  # doctest: +SKIP
    """
    v, why = frame_or_note(assessment, "workload_pss")
    if v is None:
        return empty_table(PSS_READINESS_COLUMNS, f"Workloads {why}.")
    ns, ns_why = frame_or_note(assessment, "namespaces")
    if ns is not None:
        ns = ns[~ns["system"].astype(bool)]
        names, labels = list(ns["name"]), dict(zip(ns["name"], ns["labels"], strict=True))
    else:  # labels unknown: the namespaces that hold workloads, labels shown as unknown
        names = sorted(set(v.loc[~v["system"].astype(bool), "namespace"]))
        labels = {}
    from zt_toolkit.frames.pss import namespace_versions

    versions = namespace_versions(assessment.frames)
    rows = []
    for name in names:
        lab = labels.get(name)
        current = {}
        for mode in PSS_MODES:
            current[mode] = _pss_label(lab, mode) if ns is not None else "?"
            current[f"{mode}_version"] = _pss_label(lab, mode, True) if ns is not None else "?"
        mine = v[v["namespace"] == name]
        for level in ("baseline", "restricted"):
            at = mine[mine["level"] == level]
            bad = at[~at["allowed"].astype(bool)].sort_values(["kind", "name"])
            version = (versions.get(name) or versions.get("*") or ("latest",))[0]
            rows.append({
                "namespace": name, "level": level,
                "readiness": _readiness(current["enforce"], level, len(bad)),
                "workloads": len(at), "rejected": len(bad),
                "rejected_workloads": _violators(bad), "version": version, **current,
            })
    out = pd.DataFrame(rows, columns=PSS_READINESS_COLUMNS)
    if out.empty:
        return empty_table(PSS_READINESS_COLUMNS, "No non-system namespace.")
    out = out.astype({"workloads": int, "rejected": int})
    out.attrs["display_columns"] = ["namespace", "level", "readiness", "workloads", "rejected",
                                    "rejected_workloads", "version", "enforce", "audit", "warn"]
    if ns is None:
        out.attrs["note"] = f"Namespace labels {ns_why}: evaluated at latest."
    return out


PSS_OFFENDER_COLUMNS = ["namespace", "kind", "name", "baseline", "restricted", "open_failures",
                        "violations"]


def summarize_pss_offenders(assessment: Assessment, n: int = 10,
                            include_system: bool = False) -> pd.DataFrame:
    """The workloads furthest from the Pod Security Standards, worst first.

    Columns: ``namespace, kind, name``, the number of violated Pod Security Admission checks
    at ``baseline`` and at ``restricted`` (each at the namespace's version), the workload's
    ``open_failures`` among the pod security findings (waived ones excluded) and the
    ``violations`` (restricted check ids). Only workloads violating at least one level are
    listed; system namespaces (EKS add-ons, judged against the EKS baseline) only with
    ``include_system``.

    Examples
    --------
    >>> summarize_pss_offenders(a, n=5)[["name", "baseline", "restricted"]]  # doctest: +SKIP
    """
    v, why = frame_or_note(assessment, "workload_pss")
    if v is None:
        return empty_table(PSS_OFFENDER_COLUMNS, f"Workloads {why}.")
    if not include_system:
        v = v[~v["system"].astype(bool)]
    counts = v.assign(n=v["checks"].map(len)).pivot_table(
        index=KEY, columns="level", values="n", aggfunc="first")
    counts = counts.reindex(columns=["baseline", "restricted"], fill_value=0).fillna(0)
    counts = counts[(counts["baseline"] > 0) | (counts["restricted"] > 0)]
    if counts.empty:
        return empty_table(PSS_OFFENDER_COLUMNS,
                      "Every workload meets the restricted Pod Security Standard.")
    restricted = v[v["level"] == "restricted"].set_index(KEY)["checks"]
    f = assessment.pillar_findings("pod_security")
    f = f[outcomes(f) == "fail"]
    open_failures = f.groupby(KEY).size()
    out = counts.reset_index()
    idx = pd.MultiIndex.from_frame(out[KEY])
    out["open_failures"] = open_failures.reindex(idx, fill_value=0).to_numpy()
    out["violations"] = [", ".join(c) for c in restricted.reindex(idx)]
    out = out.astype({"baseline": int, "restricted": int, "open_failures": int})
    out = out.sort_values(["baseline", "restricted", "open_failures", "namespace", "name"],
                          ascending=[False, False, False, True, True])
    out = out[PSS_OFFENDER_COLUMNS].head(n).reset_index(drop=True)
    out.columns.name = None
    out.attrs["column_labels"] = {"baseline": "Baseline checks violated",
                                  "restricted": "Restricted checks violated",
                                  "open_failures": "Open pod security failures"}
    return out


# ------------------------------------------------------------------------------------------
# reachability (issue 6): namespace × namespace, segmentation intents
# ------------------------------------------------------------------------------------------
REACHABILITY_COLUMNS = ("source_namespace", "destination_namespace", "workload_pairs",
                        "connected_pairs", "connected_ratio", "ports")
INTENT_COLUMNS = ("intent", "from", "to", "port", "expect", "result", "evidence")


def network_enforcement(assessment: Assessment) -> bool | None:
    """Whether an engine enforces NetworkPolicy: True, False, or None when unknown.

    Examples
    --------
    >>> network_enforcement(assess("reports/demo-snapshot"))   # doctest: +SKIP
    True
    """
    from zt_toolkit.frames.network import flag_value

    df, _ = frame_or_note(assessment, "network_policy_enforcement")
    if df is None or df.empty:
        return None
    return flag_value(df.iloc[0]["enforced"])


def reachability_of(assessment: Assessment, as_enforced: bool = False) -> tuple[Any, str]:
    """The computed reachability ``(Reachability, "")``, or ``(None, why)`` when unavailable.

    ``as_enforced=False`` is the reachability "as written" (the policies' own semantics);
    ``True`` is what the network does: the same when an engine enforces NetworkPolicy,
    everything open when none does. Cached per assessment and view.

    Examples
    --------
    >>> reach, why = reachability_of(assess("reports/demo-snapshot"))   # doctest: +SKIP
    """
    enforced = not (as_enforced and network_enforcement(assessment) is False)
    cache = assessment.frames.__dict__.setdefault("_zt_reachability", {})
    if enforced in cache:
        return cache[enforced]
    for name in ("workloads", "network_policies", "namespaces"):
        df, why = frame_or_note(assessment, name)
        if df is None:
            cache[enforced] = (None, why)
            return cache[enforced]
    try:
        from zt_toolkit.analysis import netpol

        cache[enforced] = (netpol.reachability(assessment.frames, enforced=enforced), "")
    except Exception as exc:  # a broken engine degrades the section, not the report
        log.exception("reachability could not be computed")
        cache[enforced] = (None, f"not available: reachability could not be computed "
                                 f"({type(exc).__name__})")
    return cache[enforced]


def reachability_views(assessment: Assessment) -> list[tuple[str, bool]]:
    """Return the views to show: ``("as written", False)``, plus an *as enforced* view.

    The second view, ``("as enforced …", True)``, is added when no engine enforces
    NetworkPolicy: then the two differ (as enforced, everything is open).
    """
    views = [("as written", False)]
    if network_enforcement(assessment) is False:
        views.append(("as enforced (no engine: all open)", True))
    return views


def enforcement_note(assessment: Assessment) -> str:
    """One sentence on which reachability a network view shows."""
    e = network_enforcement(assessment)
    if e is True:
        return "NetworkPolicy is enforced: as written is as enforced."
    if e is False:
        return ("No engine enforces NetworkPolicy: the policies are decorative; as enforced, "
                "every pod reaches every pod.")
    return "NetworkPolicy enforcement could not be assessed: reachability as written."


def workload_peers(assessment: Assessment, reach: Any,
                   include_system: bool = False) -> dict[str, list[Any]]:
    """Workload peers of the reachability per namespace (non-system only by default)."""
    from zt_toolkit.analysis import netpol

    ns_df, _ = frame_or_note(assessment, "namespaces")
    if ns_df is None:
        return {}
    keep = ns_df if include_system else ns_df[~ns_df["system"].astype(bool)]
    out = {}
    for ns in sorted(keep["name"].astype(str)):
        peers = netpol.peers_matching(reach, ns, {})
        if peers:
            out[ns] = sorted(peers, key=lambda p: (p.kind, p.name))
    return out


def _port_summary(values: Iterable[str], limit: int = 3) -> str:
    counts = pd.Series(list(values), dtype=object).value_counts()
    shown = list(counts.index[:limit])
    more = f" (+{len(counts) - limit} more)" if len(counts) > limit else ""
    return "; ".join(str(v) for v in shown) + more


def summarize_namespace_reachability(assessment: Assessment, as_enforced: bool = False,
                                     include_system: bool = False) -> pd.DataFrame:
    """Namespace × namespace: how many workload pairs can connect, and on which ports.

    One row per (source, destination) namespace pair with workloads: ``workload_pairs``
    (distinct source × destination workloads, a workload never paired with itself),
    ``connected_pairs`` (pairs with any allowed connection), ``connected_ratio`` and ``ports``
    (the most common port sets of the connected pairs, np-guard notation). ``as_enforced``
    picks the view (see :func:`reachability_of`); ``attrs["note"]`` says which one and whether
    NetworkPolicy is enforced. System namespaces are left out unless ``include_system``.

    Examples
    --------
    >>> s = summarize_namespace_reachability(assess("reports/demo-snapshot"))  # doctest: +SKIP
    >>> s.set_index(["source_namespace", "destination_namespace"]).connected_pairs  # doctest: +SKIP
    """
    reach, why = reachability_of(assessment, as_enforced)
    if reach is None:
        return empty_table(REACHABILITY_COLUMNS, f"Reachability not available: {why}")
    groups = workload_peers(assessment, reach, include_system)
    if not groups:
        return empty_table(REACHABILITY_COLUMNS, "No workload outside the system namespaces.")
    rows = []
    for src_ns, sources in groups.items():
        for dst_ns, dests in groups.items():
            pairs = connected = 0
            ports = []
            for s in sources:
                for d in dests:
                    if s == d:
                        continue
                    pairs += 1
                    p = reach.connections.get((s, d))
                    if p:
                        connected += 1
                        ports.append(str(p))
            rows.append({"source_namespace": src_ns, "destination_namespace": dst_ns,
                         "workload_pairs": pairs, "connected_pairs": connected,
                         "connected_ratio": connected / pairs if pairs else float("nan"),
                         "ports": _port_summary(ports)})
    out = pd.DataFrame(rows, columns=list(REACHABILITY_COLUMNS))
    view = "as enforced" if as_enforced else "as written"
    return _noted(out, f"Reachability {view}. {enforcement_note(assessment)}")


def _intent_names(intents: list[dict[str, Any]]) -> list[str]:
    """Intent names as the check reports them (duplicates get ``(2)``, ``(3)``)."""
    seen: dict[str, int] = {}
    names = []
    for intent in intents:
        name = str(intent.get("name"))
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def summarize_segmentation_intents(assessment: Assessment) -> pd.DataFrame:
    """One row per segmentation intent: what was agreed, the result and the evidence.

    Columns ``intent, from, to, port, expect, result, evidence``; ``result`` is the outcome of
    ``segmentation_intents_hold`` for the intent (``waived`` for an accepted failure) and
    ``evidence`` its detail: the pairs that break it and the policy that allows, or where the
    path is blocked. Broken intents come first.

    Examples
    --------
    >>> summarize_segmentation_intents(assess("reports/demo-snapshot"))   # doctest: +SKIP
    """
    from zt_toolkit.checks.network.segmentation_intents_hold import endpoint_text

    intents = list(assessment.config.segmentation or [])
    if not intents:
        return empty_table(INTENT_COLUMNS, "The engagement config states no segmentation intents.")
    f = assessment.findings
    f = f[f["check_id"] == "segmentation_intents_hold"]
    by_name = {n: (o, d) for n, o, d in zip(
        f.loc[f["kind"] == "SegmentationIntent", "name"], outcomes(f[f["kind"] ==
                                                                   "SegmentationIntent"]),
        f.loc[f["kind"] == "SegmentationIntent", "detail"], strict=True)}
    other = f[f["kind"] != "SegmentationIntent"]  # the runner's single row: not assessed/error
    fallback = (("not_assessed", "the check did not run") if other.empty else
                (str(other.iloc[0]["status"]), str(other.iloc[0]["detail"])))
    rows = []
    for name, intent in zip(_intent_names(intents), intents, strict=True):
        result_, evidence = by_name.get(name, fallback)
        port = intent.get("port")
        rows.append({
            "intent": name, "from": endpoint_text(intent.get("from")),
            "to": endpoint_text(intent.get("to")),
            "port": (f"{str(intent.get('protocol') or 'TCP').upper()} {port}"
                     if port is not None else "any"),
            "expect": str(intent.get("expect")), "result": result_, "evidence": evidence})
    out = pd.DataFrame(rows, columns=list(INTENT_COLUMNS))
    rank = {o: i for i, o in enumerate(OUTCOMES)}
    out = out.sort_values("result", key=lambda s: s.map(rank), kind="stable")
    out.attrs["badge_columns"] = ("result",)
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# identity: who is cluster admin, IRSA map
# ------------------------------------------------------------------------------------------
EKS_CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
EKS_ADMIN_POLICY = "AmazonEKSAdminPolicy"
CLUSTER_ADMIN_COLUMNS = ["principal", "via", "kubernetes_identity", "rights", "evidence"]


def _k8s_identity(username: Any, groups: Iterable[str]) -> str:
    user = "" if username is None or pd.isna(username) else str(username)
    groups = [g for g in groups if g]
    parts = ([f"user {user}"] if user else []) + ([f"groups {', '.join(groups)}"]
                                                   if groups else [])
    return "; ".join(parts) or "(no username, no groups)"


def _cluster_created_at(assessment: Assessment) -> pd.Timestamp | None:
    """``createdAt`` of the described cluster (None when unknown)."""
    with contextlib.suppress(Exception):
        for rec in assessment.frames.snapshot.aws("eks", "describe_cluster"):
            created = ((rec.get("response") or {}).get("cluster") or {}).get("createdAt")
            if created is not None:
                return pd.Timestamp(created)
    return None


def _bootstrap_creator(assessment: Assessment, entries: pd.DataFrame | None) -> str | None:
    """The access entry EKS made for the cluster creator: cluster admin, created with the cluster.

    EKS does not name the creator; its entry is the cluster-admin entry created within ten
    minutes of the cluster. None when no entry fits.
    """
    created = _cluster_created_at(assessment)
    if entries is None or entries.empty or created is None:
        return None
    for e in entries[entries["cluster_admin"]].itertuples(index=False):
        with contextlib.suppress(ValueError, TypeError):
            if e.created_at and abs(pd.Timestamp(e.created_at) - created) <= pd.Timedelta(
                    minutes=10):
                return str(e.principal_arn)
    return None


def summarize_cluster_admins(assessment: Assessment) -> pd.DataFrame:
    """Who can administer the whole cluster, across aws-auth, EKS access entries and RBAC.

    One row per (principal, way it gets admin):

    - **aws-auth**: ``mapRoles`` / ``mapUsers`` entries mapped to ``system:masters`` (RBAC is
      bypassed) or to a group bound to cluster-admin; an entry or key that cannot be read is a
      row too (``rights`` says it is unreadable): a malformed aws-auth is a finding;
    - **access entry**: ``AmazonEKSClusterAdminPolicy`` or ``AmazonEKSAdminPolicy`` at cluster
      scope, or ``kubernetesGroups`` bound to cluster-admin;
    - **bootstrap**: ``bootstrapClusterCreatorAdminPermissions`` (the creator's entry when it
      can be told: the cluster-admin entry created with the cluster);
    - **RBAC binding**: every subject holding cluster-admin, or a copy of its ``*`` rule,
      through a ClusterRoleBinding.

    aws-auth is left out when ``authenticationMode`` is ``API`` (the authenticator ignores it).
    The mode is in ``attrs["note"]``.

    Parameters
    ----------
    assessment
        The assessment (its frames are read).

    Returns
    -------
    pandas.DataFrame
        Columns ``principal`` (IAM ARN or Kubernetes subject), ``via`` (aws-auth, access entry,
        RBAC binding, bootstrap), ``kubernetes_identity``, ``rights``, ``evidence``.

    Examples
    --------
    >>> import zt_toolkit.report as zt                          # doctest: +SKIP
    >>> zt.summarize_cluster_admins(a)[["principal", "via", "rights"]]  # doctest: +SKIP
    """
    from zt_toolkit.analysis.rbac import (
        MASTERS_GROUP,
        describe_grant,
        holds_cluster_admin,
        iam_principal_identities,
        iam_principal_permissions,
    )

    perms, why_perms = frame_or_note(assessment, "subject_permissions")
    auth, why_auth = frame_or_note(assessment, "aws_auth")
    entries, why_entries = frame_or_note(assessment, "access_entries")
    cluster, _ = frame_or_note(assessment, "eks_cluster")
    mode = None
    if cluster is not None and not cluster.empty:
        modes = cluster["authentication_mode"].dropna()
        mode = str(modes.iloc[0]) if len(modes) else None
    config_map_read = mode != "API"
    notes = [f"authenticationMode {mode}" if mode else "authenticationMode unknown"]
    for name, why in (("RBAC bindings", why_perms), ("aws-auth", why_auth),
                      ("access entries", why_entries)):
        if why:
            notes.append(f"{name} {why}")
    if mode == "API":
        notes.append("aws-auth is not read in API mode: its mappings grant nothing")

    rows: list[dict[str, str]] = []
    mode_text = f" (read: authenticationMode {mode})" if mode else ""
    # aws-auth: unreadable content, then system:masters
    if auth is not None and config_map_read:
        for m in auth[auth["parse_error"].notna()].itertuples(index=False):
            rows.append({"principal": str(m.arn) if pd.notna(m.arn) else "(unreadable)",
                         "via": "aws-auth",
                         "kubernetes_identity": _k8s_identity(m.username, m.groups),
                         "rights": "unknown: aws-auth content cannot be read",
                         "evidence": f"aws-auth: {m.parse_error}"})
    empty_entries = pd.DataFrame(columns=["principal_arn", "username", "kubernetes_groups"])
    identities = iam_principal_identities(
        auth if auth is not None else pd.DataFrame(
            columns=["map_type", "index", "arn", "username", "groups", "parse_error"]),
        entries if entries is not None else empty_entries, config_map_read=config_map_read)
    ident_text = {}
    for (principal, via), g in identities.groupby(["principal", "via"], sort=False):
        ident_text[(principal, via)] = _k8s_identity(g["username"].iloc[0], g["group"])
    for r in identities[identities["group"] == MASTERS_GROUP].itertuples(index=False):
        rows.append({"principal": r.principal, "via": r.via,
                     "kubernetes_identity": ident_text[(r.principal, r.via)],
                     "rights": "cluster admin: group system:masters bypasses RBAC",
                     "evidence": r.evidence + (mode_text if r.via == "aws-auth" else "")})
    # access policies
    bootstrap = _bootstrap_creator(assessment, entries)
    if entries is not None:
        for e in entries.itertuples(index=False):
            for p in e.policies:
                name = p.get("policy_name", "")
                if p.get("scope_type") != "cluster" or name not in (EKS_CLUSTER_ADMIN_POLICY,
                                                                    EKS_ADMIN_POLICY):
                    continue
                rights = ("cluster admin" if name == EKS_CLUSTER_ADMIN_POLICY
                          else "admin of every namespace (not cluster-scoped resources)")
                rows.append({"principal": str(e.principal_arn), "via": "access entry",
                             "kubernetes_identity": _k8s_identity(e.username,
                                                                  e.kubernetes_groups),
                             "rights": f"{rights}: {name} at cluster scope",
                             "evidence": f"access entry (type {e.type}) associated with "
                                         f"{p.get('policy_arn', name)}"})
    # the creator
    flag = None
    if cluster is not None and not cluster.empty:
        flag = cluster["bootstrap_cluster_creator_admin"].iloc[0]
    if flag is True or (flag is not None and not pd.isna(flag) and bool(flag)):
        rows.append({"principal": bootstrap or "the IAM principal that created the cluster",
                     "via": "bootstrap",
                     "kubernetes_identity": "access entry made by EKS at creation",
                     "rights": "cluster admin: AmazonEKSClusterAdminPolicy at cluster scope",
                     "evidence": "bootstrapClusterCreatorAdminPermissions: true"
                                 + ("" if bootstrap else "; the creator's entry could not be "
                                                         "told apart")})
    # RBAC: cluster-admin-equivalent at cluster scope, for subjects and mapped IAM principals
    if perms is not None and not perms.empty:
        admin = perms[holds_cluster_admin(perms) & perms["scope"].eq("cluster")]
        admin = admin.drop_duplicates(subset=["kind", "namespace", "name", "binding_name",
                                              "role_name"])
        mapped = iam_principal_permissions(admin, identities)
        mapped = mapped[mapped["via"] != f"Group {MASTERS_GROUP}"]  # listed above already
        for r in mapped.itertuples(index=False):
            rows.append({"principal": r.principal, "via": f"{r.principal_via} + RBAC binding",
                         "kubernetes_identity": ident_text[(r.principal, r.principal_via)],
                         "rights": f"cluster admin through {r.via}",
                         "evidence": describe_grant(pd.DataFrame([r._asdict()])).iloc[0]})
        for r in admin.itertuples(index=False):
            subject = (f"{r.kind} {r.namespace}/{r.name}" if r.namespace
                       else f"{r.kind} {r.name}")
            rows.append({"principal": subject, "via": "RBAC binding",
                         "kubernetes_identity": subject,
                         "rights": ("cluster admin" + ("" if r.role_name == "cluster-admin"
                                                       else " (a copy of cluster-admin's rule)")
                                    + (": RBAC bypassed anyway" if r.kind == "Group"
                                       and r.name == MASTERS_GROUP else "")),
                         "evidence": describe_grant(pd.DataFrame([r._asdict()])).iloc[0]})
    out = pd.DataFrame(rows, columns=CLUSTER_ADMIN_COLUMNS).drop_duplicates(
        ).reset_index(drop=True)
    out.attrs["note"] = "; ".join(notes) + "."
    return out


IRSA_MAP_COLUMNS = ["workload", "service_account", "token_mounted", "iam_role", "role_source",
                    "k8s_rights", "k8s_right_count", "aws_categories", "aws_category_count",
                    "aws_risks"]
#: Category of an IAM risk phrase (``frames.iam.role_risks``), first match wins.
AWS_RISK_CATEGORIES = (("admin: every action", "admin"), ("Allow with NotAction", "NotAction"),
                       ("every action of", "whole service"),
                       ("iam:PassRole", "PassRole on every role"),
                       ("data access", "data on every resource"),
                       ("privilege escalation", "privilege escalation"))


def _aws_category(risk: str) -> str:
    return next((c for text, c in AWS_RISK_CATEGORIES if text in risk), "other")


def summarize_irsa_map(assessment: Assessment) -> pd.DataFrame:
    """Workload → service account → IAM role → what a compromise of the workload reaches.

    One row per (workload, IAM role) for workloads that can act as an IAM role (IRSA
    annotation, Pod Identity association, add-on ``serviceAccountRoleArn``) or whose service
    account holds a risky Kubernetes right (:func:`zt_toolkit.analysis.rbac.risky_rights`,
    through direct bindings and the service-account groups). ``aws_risks`` lists the risky
    statements of the role (``frames.iam.role_risks``); ``aws_categories`` their kinds (admin,
    whole service, NotAction, PassRole, data on every resource, privilege escalation). Most
    reach first.

    Parameters
    ----------
    assessment
        The assessment (its frames are read).

    Returns
    -------
    pandas.DataFrame
        Columns ``workload, service_account, token_mounted, iam_role, role_source, k8s_rights,
        k8s_right_count, aws_categories, aws_category_count, aws_risks``.

    Examples
    --------
    >>> import zt_toolkit.report as zt                           # doctest: +SKIP
    >>> zt.summarize_irsa_map(a).head()                          # doctest: +SKIP
    """
    from zt_toolkit.analysis.rbac import risky_rights, service_account_permissions, token_mounts
    from zt_toolkit.frames.iam import role_risks

    w, why = frame_or_note(assessment, "workloads")
    sas, why_sa = frame_or_note(assessment, "service_accounts")
    if w is None or sas is None:
        return empty_table(IRSA_MAP_COLUMNS, f"IRSA map not available: workloads {why or why_sa}.")
    notes = []
    w = token_mounts(w, sas)
    # Kubernetes side
    perms, why_p = frame_or_note(assessment, "subject_permissions")
    k8s: dict[tuple[str, str], list[str]] = {}
    if perms is not None:
        keys = w[["namespace", "service_account"]].rename(columns={"service_account": "name"})
        sp = service_account_permissions(perms, keys)
        for right, mask in risky_rights(sp).items():
            for key in sp.loc[mask.to_numpy(), ["sa_namespace", "sa_name"]].itertuples(
                    index=False, name=None):
                k8s.setdefault(key, [])
                if right not in k8s[key]:
                    k8s[key].append(right)
    else:
        notes.append(f"RBAC {why_p}")
    # AWS side
    roles, why_r = frame_or_note(assessment, "workload_iam_roles")
    if roles is None:
        notes.append(f"IAM roles {why_r}")
        roles = pd.DataFrame(columns=["kind", "namespace", "name", "role_name", "source"])
    statements, why_s = frame_or_note(assessment, "iam_role_statements")
    if statements is None:
        notes.append(f"IAM policies {why_s}")
    risks: dict[str, list[str]] = {}
    for role in roles["role_name"].dropna().unique():
        st = (statements[statements["name"] == role] if statements is not None
              else pd.DataFrame())
        risks[role] = role_risks(st) if not st.empty else []
    by_workload = {}
    for r in roles.itertuples(index=False):
        by_workload.setdefault((r.kind, r.namespace, r.name), {}).setdefault(
            r.role_name, []).append(r.source)
    rows = []
    for x in w.itertuples(index=False):
        rights = k8s.get((x.namespace, x.service_account), [])
        if not x.token_mounted:
            rights = []  # no token in the pod: its Kubernetes rights are not reachable
        wroles = by_workload.get((x.kind, x.namespace, x.name), {})
        if not wroles and not rights:
            continue
        for role, sources in (wroles or {None: []}).items():
            rr = risks.get(role, []) if role else []
            cats = list(dict.fromkeys(_aws_category(s) for s in rr))
            rows.append({
                "workload": f"{x.kind} {x.namespace}/{x.name}",
                "service_account": f"{x.namespace}/{x.service_account}",
                "token_mounted": bool(x.token_mounted),
                "iam_role": role or "", "role_source": ", ".join(dict.fromkeys(sources)),
                "k8s_rights": ", ".join(rights), "k8s_right_count": len(rights),
                "aws_categories": ", ".join(cats), "aws_category_count": len(cats),
                "aws_risks": "; ".join(rr)})
    out = pd.DataFrame(rows, columns=IRSA_MAP_COLUMNS)
    out = out.sort_values(["k8s_right_count", "aws_category_count", "workload"],
                          ascending=[False, False, True]).reset_index(drop=True)
    if out.empty:
        out.attrs["note"] = "No workload holds an IAM role or a risky Kubernetes right."
    if notes:
        out.attrs["note"] = "; ".join(notes) + "."
    return out
