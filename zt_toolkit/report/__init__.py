"""Report layer: summaries, charts, notebook helpers and the report writer.

The notebooks import this package as ``zt``::

    import zt_toolkit.report as zt
    a = zt.setup(snapshot, config, client, output_dir)
    zt.plot_pillar_scores(a.findings)

Verb families (see STYLE.md): ``summarize_*`` → DataFrame, ``plot_*`` → plotly Figure,
``narrate_*`` → Markdown for a notebook, ``write_*`` → files.
"""

from __future__ import annotations

from zt_toolkit.report.audit_view import (
    narrate_audit_remediation,
    plot_audit_event_timeline,
    plot_control_plane_logging,
    plot_sensor_coverage,
    summarize_audit_event_log,
    summarize_audit_events,
    summarize_audit_queries,
    summarize_cloudtrail,
    summarize_control_plane_logging,
    summarize_guardduty,
    summarize_log_coverage,
    summarize_sensor_coverage,
)
from zt_toolkit.report.changes import narrate_changes, summarize_changes
from zt_toolkit.report.charts import (
    placeholder,
    plot_check_status,
    plot_compromise_reach,
    plot_failures_by_namespace,
    plot_matrix,
    plot_namespace_network_posture,
    plot_namespace_reachability,
    plot_pillar_scores,
    plot_pss_levels,
    plot_pss_readiness,
    plot_severity_by_pillar,
    plot_status_by_pillar,
    plot_subject_rights,
    plot_unassessed_by_pillar,
    plot_workload_check_heatmap,
    plot_workload_graph,
    plot_workload_identity,
)
from zt_toolkit.report.export import build_summary, write_findings, write_findings_xlsx
from zt_toolkit.report.images_view import (
    narrate_image_remediation,
    plot_image_references,
    plot_image_registries,
    plot_scan_age,
    plot_workload_vulnerabilities,
    summarize_image_provenance,
    summarize_image_references,
    summarize_image_registries,
    summarize_mutable_references,
    summarize_repository_scanning,
    summarize_vulnerable_workloads,
)
from zt_toolkit.report.notebook import (
    configure_renderer,
    md_escape,
    narrate_access_entry_migration,
    narrate_coverage,
    narrate_failures_appendix,
    narrate_network_remediation,
    narrate_pillar,
    narrate_pss_remediation,
    narrate_summary,
    setup,
)
from zt_toolkit.report.render import client_slug, render_html, write_report
from zt_toolkit.report.scores import score_overall, score_pillars
from zt_toolkit.report.secrets_view import (
    narrate_secrets_remediation,
    plot_secret_consumption_matrix,
    summarize_plaintext_credentials,
    summarize_secret_consumption,
    summarize_secret_consumption_matrix,
    summarize_secrets_encryption,
    summarize_secretsmanager_rotation,
    summarize_storage_encryption,
)
from zt_toolkit.report.tables import (
    SEVERITY_WEIGHTS,
    findings_table,
    render_table,
    summarize_check_catalogue,
    summarize_check_findings,
    summarize_check_results,
    summarize_checks,
    summarize_cluster_admins,
    summarize_coverage,
    summarize_engagement,
    summarize_failures_appendix,
    summarize_failures_by_namespace,
    summarize_irsa_map,
    summarize_namespace_network_posture,
    summarize_namespace_pss,
    summarize_namespace_reachability,
    summarize_pillars,
    summarize_pss_offenders,
    summarize_pss_readiness,
    summarize_resource_matrix,
    summarize_segmentation_intents,
    summarize_subject_rights,
    summarize_top_risks,
    summarize_unassessed_checks,
    summarize_waiver_register,
    summarize_waivers,
    summarize_workload_checks,
    summarize_workload_identity,
)

__all__ = [
    "narrate_changes", "summarize_changes",
    "build_summary", "client_slug", "render_html", "score_overall", "score_pillars",
    "write_findings", "write_findings_xlsx", "write_report",
    "SEVERITY_WEIGHTS", "configure_renderer", "findings_table", "md_escape", "narrate_coverage",
    "narrate_failures_appendix",
    "narrate_pillar", "narrate_summary", "placeholder",
    "plot_check_status", "plot_control_plane_logging", "plot_failures_by_namespace",
    "plot_image_references", "plot_image_registries",
    "plot_matrix", "plot_namespace_network_posture", "plot_pillar_scores", "plot_pss_levels",
    "plot_severity_by_pillar", "plot_status_by_pillar",
    "plot_subject_rights", "plot_unassessed_by_pillar", "plot_workload_check_heatmap",
    "plot_workload_identity", "render_table", "setup", "summarize_audit_events",
    "summarize_audit_queries",
    "summarize_check_findings", "summarize_check_results", "summarize_checks",
    "summarize_control_plane_logging", "summarize_coverage", "summarize_engagement",
    "summarize_failures_by_namespace", "summarize_image_references",
    "summarize_image_registries",
    "summarize_namespace_network_posture", "summarize_namespace_pss", "summarize_pillars",
    "summarize_resource_matrix", "summarize_secret_consumption", "summarize_subject_rights",
    "summarize_top_risks", "summarize_unassessed_checks", "summarize_waivers",
    "summarize_workload_checks", "summarize_workload_identity",
    "summarize_check_catalogue", "summarize_failures_appendix", "summarize_waiver_register",
    "narrate_pss_remediation", "plot_pss_readiness", "summarize_pss_offenders",
    "summarize_pss_readiness",
    "narrate_network_remediation", "plot_namespace_reachability", "plot_workload_graph",
    "summarize_namespace_reachability", "summarize_segmentation_intents",
    "narrate_access_entry_migration", "plot_compromise_reach", "summarize_cluster_admins",
    "summarize_irsa_map",
    "narrate_image_remediation", "plot_scan_age", "plot_workload_vulnerabilities",
    "summarize_image_provenance", "summarize_mutable_references",
    "summarize_repository_scanning", "summarize_vulnerable_workloads",
    "summarize_secrets_encryption", "summarize_secret_consumption_matrix",
    "plot_secret_consumption_matrix", "summarize_plaintext_credentials",
    "summarize_secretsmanager_rotation", "summarize_storage_encryption",
    "narrate_secrets_remediation",
    "narrate_audit_remediation", "plot_audit_event_timeline", "plot_sensor_coverage",
    "summarize_audit_event_log", "summarize_cloudtrail", "summarize_guardduty",
    "summarize_log_coverage", "summarize_sensor_coverage",
]
