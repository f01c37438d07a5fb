"""Charts for the notebooks and the report: ``plot_*`` → plotly Figure, in the ``zt`` theme.

Every chart is built from a ``summarize_*`` frame (so what a chart shows is tested as a table)
and uses the fixed colours of :mod:`zt_toolkit.report.theme`. Text that comes from the cluster
(namespaces, resource names) is HTML-escaped before it reaches plotly, which would otherwise
interpret tags such as ``<a href>`` in labels. A chart whose data was not collected is a small
figure that says so instead of an empty plot.

Examples
--------
>>> from zt_toolkit import assess
>>> from zt_toolkit.report import charts
>>> a = assess("reports/demo-snapshot")                    # doctest: +SKIP
>>> charts.plot_pillar_scores(a.findings).show()           # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from zt_toolkit.checks.model import Pillar
from zt_toolkit.report import tables as t
from zt_toolkit.report.scores import score_overall, stage_label
from zt_toolkit.report.theme import (
    FIGURE_WIDTH,
    MUTED,
    OUTCOMES,
    SEVERITIES,
    SEVERITY_COLORS,
    SEVERITY_LABELS,
    STATUS_COLORS,
    STATUS_LABELS,
    register_template,
)

if TYPE_CHECKING:
    from zt_toolkit.assessment import Assessment

register_template()

CHECK_STATUSES = ("fail", "error", "not_assessed", "pass", "not_applicable")


def plotly_escape(text: Any) -> str:
    """Escape cluster-controlled text for plotly (which renders a subset of HTML in labels)."""
    return html.escape(str(text), quote=False)


def shorten(text: str, limit: int = 48) -> str:
    """Cut a label to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chart_layout(fig: go.Figure, title: str, height: int | None = None,
                 **kwargs: Any) -> go.Figure:
    """Give a figure its title (and height), the report's legend order and label sizing."""
    fig.update_layout(title={"text": title}, **({"height": height} if height else {}), **kwargs)
    fig.update_layout(legend_traceorder="normal", uniformtext={"minsize": 8, "mode": "hide"})
    return fig


def placeholder(title: str, note: str) -> go.Figure:
    """Return a small figure that states why a chart cannot be drawn (data not collected …)."""
    fig = go.Figure()
    fig.add_annotation(text=plotly_escape(note), x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font={"size": 13, "color": MUTED})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return chart_layout(fig, title, height=170, margin={"t": 50, "b": 20})


def placeholder_if_empty(df: pd.DataFrame, title: str, default: str) -> go.Figure | None:
    """A placeholder naming why (the frame's note, else ``default``) when ``df`` is empty."""
    if df.empty:
        return placeholder(title, df.attrs.get("note") or default)
    return None


def _pillar_labels() -> list[str]:
    return [p.title for p in Pillar]


# ------------------------------------------------------------------------------------------
# summary charts
# ------------------------------------------------------------------------------------------
def plot_status_by_pillar(findings: pd.DataFrame) -> go.Figure:
    """Stack each pillar's checks by result: fail, error, not assessed, pass, not applicable."""
    s = t.summarize_pillars(findings)
    title = "Checks by result, per pillar"
    fig = go.Figure()
    labels = s["title"].tolist()
    for status in CHECK_STATUSES:
        values = s[status].tolist()
        if not any(values):
            continue
        fig.add_bar(y=labels, x=values, name=STATUS_LABELS[status], orientation="h",
                    marker_color=STATUS_COLORS[status], text=[v or "" for v in values],
                    textposition="inside", insidetextanchor="middle",
                    textangle=0)
    if not fig.data:
        return placeholder(title, "No check ran.")
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text="checks")
    return chart_layout(fig, title)


def plot_severity_by_pillar(findings: pd.DataFrame) -> go.Figure:
    """Stack each pillar's open failures (resources) by severity."""
    title = "Open failures by severity, per pillar (resources)"
    f = findings[t.outcomes(findings) == "fail"] if not findings.empty else findings
    if f.empty:
        return placeholder(title, "No open failure in any pillar.")
    counts = (pd.crosstab(f["pillar"].map(t.pillar_title), f["severity"])
              .reindex(index=_pillar_labels(), columns=list(SEVERITIES), fill_value=0))
    fig = go.Figure()
    for sev in SEVERITIES:
        values = counts[sev].tolist()
        if not any(values):
            continue
        fig.add_bar(y=counts.index.tolist(), x=values, name=SEVERITY_LABELS[sev],
                    orientation="h", marker_color=SEVERITY_COLORS[sev],
                    text=[v or "" for v in values], textposition="inside",
                    insidetextanchor="middle")
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="failing resources")
    return chart_layout(fig, title)


def _score_color(score: Any) -> str:
    if pd.isna(score):
        return STATUS_COLORS["not_assessed"]
    if score >= 70:  # the thresholds of the advanced and initial maturity stages
        return STATUS_COLORS["pass"]
    if score >= 40:
        return SEVERITY_COLORS["medium"]
    return STATUS_COLORS["fail"]


def plot_pillar_scores(findings: pd.DataFrame) -> go.Figure:
    """Draw one bar per pillar with its score (0–100), maturity stage and assessed checks."""
    s = t.summarize_pillars(findings)
    scores = [None if pd.isna(v) else round(float(v)) for v in s["score"]]
    text = [
        (f"{v} · {st}  ({a} of {c} checks assessed)" if v is not None
         else f"no score: {c - a} of {c} checks not assessed" if c else "no checks")
        for v, st, a, c in zip(scores, s["stage"], s["assessed"], s["checks"], strict=True)
    ]
    fig = go.Figure(go.Bar(
        y=s["title"], x=[v if v is not None else 0 for v in scores], orientation="h",
        marker_color=[_score_color(v) for v in s["score"]], text=text,
        textposition="outside", cliponaxis=False, showlegend=False,
        hovertemplate="%{y}: %{x}<extra></extra>"))
    fig.update_xaxes(range=[0, 150], tickvals=[0, 20, 40, 60, 80, 100],
                     title_text="score (severity-weighted check credit, see Methodology)")
    fig.update_yaxes(autorange="reversed")
    overall = score_overall(findings)
    title = "Pillar scores"
    if overall["score"] is not None:
        title += f" · overall {round(overall['score'])}/100, {stage_label(overall['stage'])}"
    return chart_layout(fig, title, margin={"r": 20})


def plot_check_status(findings: pd.DataFrame, pillar: str | Pillar) -> go.Figure:
    """Draw one bar per check of a pillar: its resources by outcome, most severe first.

    Checks without evaluated resources (not assessed, error, not applicable) get a thin grey
    marker bar labelled with their status, so that they are visible rather than absent.
    """
    c = t.summarize_check_results(findings, pillar)
    title = f"{t.pillar_title(pillar)}: results per check (resources)"
    empty = placeholder_if_empty(c, title, "No check ran.")
    if empty is not None:
        return empty
    labels = [f"{plotly_escape(t.short_label(cid))} ({sev[:1].upper()})"
              for cid, sev in zip(c["check_id"], c["severity"], strict=True)]
    fig = go.Figure()
    for outcome in ("fail", "waived", "pass"):
        values = c[outcome].tolist()
        if not any(values):
            continue
        fig.add_bar(y=labels, x=values, name=STATUS_LABELS[outcome], orientation="h",
                    marker_color=STATUS_COLORS[outcome], text=[v or "" for v in values],
                    textposition="inside", insidetextanchor="middle",
                    textangle=0)
    evaluated = c["fail"] + c["waived"] + c["pass"]
    for status in ("not_assessed", "error", "not_applicable"):
        mask = (evaluated == 0) & (c["status"] == status)
        if not mask.any():
            continue
        width = max(1, int(evaluated.max() or 1) * 0.02)
        fig.add_bar(y=[lab for lab, m in zip(labels, mask, strict=True) if m],
                    x=[width] * int(mask.sum()), name=STATUS_LABELS[status], orientation="h",
                    marker_color=STATUS_COLORS[status], text=[STATUS_LABELS[status]] * int(
                        mask.sum()), textposition="outside", cliponaxis=False,
                    hoverinfo="skip")
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text="resources evaluated  ·  (C/H/M/L) = severity")
    return chart_layout(fig, title, height=max(260, 120 + 26 * len(labels)))


def plot_failures_by_namespace(findings: pd.DataFrame, pillar: str | Pillar | None = None,
                               top: int = 15) -> go.Figure:
    """Stack open failures per namespace by severity (the namespaces with most failures)."""
    s = t.summarize_failures_by_namespace(findings, pillar)
    scope = f"{t.pillar_title(pillar)}: " if pillar is not None else ""
    title = f"{scope}open failures per namespace"
    empty = placeholder_if_empty(s, title, "No open failure.")
    if empty is not None:
        return empty
    s = s.head(top)
    labels = [plotly_escape(n) for n in s["namespace"]]
    fig = go.Figure()
    for sev in SEVERITIES:
        if not s[sev].any():
            continue
        fig.add_bar(y=labels, x=s[sev], name=SEVERITY_LABELS[sev], orientation="h",
                    marker_color=SEVERITY_COLORS[sev])
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text="failing resources")
    return chart_layout(fig, title, height=max(240, 120 + 24 * len(labels)))


# ------------------------------------------------------------------------------------------
# matrices (heatmaps with one discrete colour per outcome)
# ------------------------------------------------------------------------------------------
def plot_matrix(matrix: pd.DataFrame, title: str, max_rows: int = 30,
                row_label: str = "resource") -> go.Figure:
    """Draw a resources × checks outcome matrix (from ``summarize_resource_matrix``)."""
    empty = placeholder_if_empty(matrix, title, "Nothing to show.")
    if empty is not None:
        return empty
    checks = [c for c in matrix.columns if c not in t.KEY]
    shown = matrix.head(max_rows)
    codes = {o: i for i, o in enumerate(OUTCOMES)}
    z = [[codes.get(v) if isinstance(v, str) else None for v in row]
         for row in shown[checks].itertuples(index=False, name=None)]
    rows = [plotly_escape(shorten(t.resource_label(k, ns, n), 56)) for k, ns, n in
            zip(shown["kind"], shown["namespace"], shown["name"], strict=True)]
    cols = [plotly_escape(t.short_label(c)) for c in checks]
    n = len(OUTCOMES)
    scale = []
    for i, outcome in enumerate(OUTCOMES):
        scale += [[i / n, STATUS_COLORS[outcome]], [(i + 1) / n, STATUS_COLORS[outcome]]]
    hover = [[STATUS_LABELS.get(v, "not evaluated") if isinstance(v, str) else "not evaluated"
              for v in row] for row in shown[checks].itertuples(index=False, name=None)]
    fig = go.Figure(go.Heatmap(
        z=z, x=cols, y=rows, zmin=-0.5, zmax=n - 0.5, colorscale=scale, showscale=False,
        xgap=2, ygap=2, customdata=hover,
        hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>"))
    present = {v for row in z for v in row if v is not None}
    for outcome in OUTCOMES:
        if codes[outcome] in present:
            fig.add_scatter(x=[None], y=[None], mode="markers", name=STATUS_LABELS[outcome],
                            marker={"symbol": "square", "size": 12,
                                    "color": STATUS_COLORS[outcome]})
    fig.update_xaxes(side="top", tickangle=-35, showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    if len(matrix) > len(shown):
        fig.add_annotation(text=f"{len(shown)} of {len(matrix)} {row_label}s shown "
                                "(most failures first)",
                           x=0, y=-0.02, xref="paper", yref="paper", xanchor="left",
                           yanchor="top", showarrow=False, font={"size": 10, "color": MUTED})
    top = 70 + int(6.2 * 0.6 * max(len(c) for c in cols))  # x labels at -35 degrees
    plot = 22 * len(rows)
    note = 18 if len(matrix) > len(shown) else 0
    return chart_layout(fig, title, height=top + plot + 60 + note,
                   legend={"orientation": "h", "y": -(8 + note) / max(plot, 1),
                           "yanchor": "top", "x": 0},
                   margin={"t": top, "b": 50 + note})


def plot_workload_check_heatmap(findings: pd.DataFrame, pillar: str | Pillar = "pod_security",
                                max_rows: int = 30) -> go.Figure:
    """Draw workloads × checks of a pillar: the workloads with the most severe failures first."""
    m = t.summarize_workload_checks(findings, pillar, only_failing=True)
    return plot_matrix(m, f"{t.pillar_title(pillar)}: workloads with failing checks",
                       max_rows=max_rows, row_label="workload")


def plot_namespace_network_posture(assessment: Assessment) -> go.Figure:
    """Draw namespaces × NetworkPolicy controls (policy present, default-deny in and out)."""
    title = "NetworkPolicy posture per namespace"
    s = t.summarize_namespace_network_posture(assessment)
    empty = placeholder_if_empty(s, title, "No namespace evaluated.")
    if empty is not None:
        return empty
    checks = [c for c in t.NETWORK_POSTURE_CHECKS if c in s.columns]
    m = s.assign(kind="Namespace", name=s["namespace"], namespace="")[[*t.KEY, *checks]]
    return plot_matrix(m, title, max_rows=40, row_label="namespace")


def plot_subject_rights(findings: pd.DataFrame, max_rows: int = 25) -> go.Figure:
    """Draw subjects × risky rights (only subjects with an open failure)."""
    return plot_matrix(t.summarize_subject_rights(findings),
                       "Who holds risky rights beyond the baseline", max_rows=max_rows,
                       row_label="subject")


# ------------------------------------------------------------------------------------------
# pillar-specific charts
# ------------------------------------------------------------------------------------------
def grouped_bars(df: pd.DataFrame, category: str, series: Sequence[tuple[str, str, str]],
                 title: str, xaxis: str, barmode: str = "stack", top: int = 15) -> go.Figure:
    """Horizontal bars per ``category`` row, one series per (column, name, colour)."""
    df = df.head(top)
    labels = [plotly_escape(v) for v in df[category]]
    fig = go.Figure()
    for column, name, color in series:
        fig.add_bar(y=labels, x=df[column], name=name, orientation="h", marker_color=color)
    fig.update_layout(barmode=barmode)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text=xaxis)
    return chart_layout(fig, title, height=max(240, 120 + (34 if barmode == "group" else 24)
                                          * len(labels)))


def plot_workload_identity(assessment: Assessment) -> go.Figure:
    """Compare, per namespace, workloads with an IAM role, on the default SA, with a token."""
    title = "Workload identity per namespace"
    s = t.summarize_workload_identity(assessment)
    empty = placeholder_if_empty(s, title, "No workload.")
    if empty is not None:
        return empty
    s = s.fillna({"aws_role": 0})
    return grouped_bars(s, "namespace", [
        ("workloads", "Workloads", "#9aa5b1"),
        ("aws_role", "With an IAM role (IRSA)", STATUS_COLORS["pass"]),
        ("default_service_account", "On the default service account", SEVERITY_COLORS["medium"]),
        ("token_automounted", "API token mounted", STATUS_COLORS["fail"]),
    ], title, "workloads", barmode="group", top=12)


def plot_pss_levels(assessment: Assessment) -> go.Figure:
    """Count namespaces and workloads per Pod Security Admission enforce level."""
    title = "Pod Security Admission: enforce level of non-system namespaces"
    s = t.summarize_namespace_pss(assessment)
    empty = placeholder_if_empty(s, title, "No namespace.")
    if empty is not None:
        return empty
    levels = ["—", "privileged", "baseline", "restricted"]
    names = {"—": "no label", "privileged": "privileged", "baseline": "baseline",
             "restricted": "restricted"}
    colors = {"—": STATUS_COLORS["fail"], "privileged": SEVERITY_COLORS["high"],
              "baseline": SEVERITY_COLORS["low"], "restricted": STATUS_COLORS["pass"]}
    g = s.groupby("enforce").agg(namespaces=("namespace", "size"),
                                 workloads=("workloads", "sum")).reindex(levels, fill_value=0)
    fig = go.Figure()
    for level in levels:
        row = g.loc[level]
        if not row["namespaces"]:
            continue
        fig.add_bar(x=["namespaces", "workloads in them"],
                    y=[row["namespaces"], row["workloads"]], name=names[level],
                    marker_color=colors[level], text=[row["namespaces"], row["workloads"]],
                    textposition="inside", textangle=0)
    fig.update_layout(barmode="stack")
    return chart_layout(fig, title, height=330, width=FIGURE_WIDTH)


def plot_unassessed_by_pillar(findings: pd.DataFrame) -> go.Figure:
    """Count checks per pillar that were assessed versus not assessed or errored."""
    title = "Assessment coverage: checks with a result, per pillar"
    s = t.summarize_pillars(findings)
    fig = go.Figure()
    series = [("assessed", "Evaluated resources", STATUS_COLORS["pass"]),
              ("not_applicable", "Nothing to evaluate", STATUS_COLORS["not_applicable"]),
              ("not_assessed", "Not assessed (data missing)", STATUS_COLORS["not_assessed"]),
              ("error", "Error", STATUS_COLORS["error"])]
    for column, name, color in series:
        if s[column].any():
            fig.add_bar(y=s["title"], x=s[column], name=name, orientation="h",
                        marker_color=color, text=[v or "" for v in s[column]],
                        textposition="inside", textangle=0)
    if not fig.data:
        return placeholder(title, "No check ran.")
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="checks")
    return chart_layout(fig, title)


def plot_pss_readiness(assessment: Assessment) -> go.Figure:
    """Draw, per namespace, its workloads and how many each level would reject if enforced.

    Examples
    --------
    >>> plot_pss_readiness(assess("reports/demo-snapshot"))   # doctest: +SKIP
    """
    title = "Workloads Pod Security Admission would reject, per namespace and level"
    s = t.summarize_pss_readiness(assessment)
    empty = placeholder_if_empty(s, title, "No namespace.")
    if empty is not None:
        return empty
    wide = s.pivot_table(index="namespace", columns="level", values="rejected", aggfunc="first",
                         sort=False).reindex(columns=["baseline", "restricted"], fill_value=0)
    wide["workloads"] = s.groupby("namespace", sort=False)["workloads"].first()
    wide = wide[wide["workloads"] > 0].sort_values(["restricted", "baseline", "workloads"],
                                                   ascending=False).reset_index()
    if wide.empty:
        return placeholder(title, "No workload in a non-system namespace.")
    return grouped_bars(wide, "namespace", [
        ("workloads", "Workloads", "#9aa5b1"),
        ("baseline", "Rejected at baseline", SEVERITY_COLORS["high"]),
        ("restricted", "Rejected at restricted", SEVERITY_COLORS["medium"]),
    ], title, "workloads", barmode="group", top=15)


# ------------------------------------------------------------------------------------------
# reachability (issue 6)
# ------------------------------------------------------------------------------------------
REACH_SCALE = [[0.0, "#f5f7fa"], [0.001, "#fde0c5"], [0.5, SEVERITY_COLORS["medium"]],
               [1.0, STATUS_COLORS["fail"]]]


def plot_namespace_reachability(assessment: Assessment) -> go.Figure:
    """Draw a namespace × namespace heatmap: the share of workload pairs that can connect.

    Rows are source namespaces, columns destinations; each cell shows ``connected/pairs`` and
    its hover the most common port sets. When no engine enforces NetworkPolicy, two panels:
    the reachability *as written* (what the policies say) and *as enforced* (everything open).

    Examples
    --------
    >>> plot_namespace_reachability(assess("reports/demo-snapshot"))   # doctest: +SKIP
    """
    from plotly.subplots import make_subplots

    title = "Who can reach whom: share of workload pairs that can connect"
    views = t.reachability_views(assessment)
    tables = [(label, t.summarize_namespace_reachability(assessment, as_enforced=enforced))
              for label, enforced in views]
    if tables[0][1].empty:
        return placeholder(title, tables[0][1].attrs.get("note") or "Nothing to show.")
    fig = make_subplots(rows=1, cols=len(tables), horizontal_spacing=0.12,
                        subplot_titles=[f"<b>{plotly_escape(label)}</b>" for label, _ in tables])
    names = list(dict.fromkeys(tables[0][1]["source_namespace"]))
    for col, (_, s) in enumerate(tables, start=1):
        m = s.set_index(["source_namespace", "destination_namespace"])
        z, text, hover = [], [], []
        for src in names:
            zr, tr, hr = [], [], []
            for dst in names:
                row = m.loc[(src, dst)] if (src, dst) in m.index else None
                pairs = int(row["workload_pairs"]) if row is not None else 0
                conn = int(row["connected_pairs"]) if row is not None else 0
                zr.append(conn / pairs if pairs else None)
                tr.append(f"{conn}/{pairs}" if pairs else "")
                hr.append(plotly_escape(f"{src} → {dst}: {conn} of {pairs} workload pairs connect"
                                + (f"; ports: {row['ports']}" if conn else "")))
            z.append(zr)
            text.append(tr)
            hover.append(hr)
        labels = [plotly_escape(shorten(n, 24)) for n in names]
        fig.add_trace(go.Heatmap(
            z=z, x=labels, y=labels, zmin=0, zmax=1, colorscale=REACH_SCALE, text=text,
            texttemplate="%{text}", xgap=2, ygap=2, customdata=hover,
            hovertemplate="%{customdata}<extra></extra>", showscale=col == len(tables),
            colorbar={"title": {"text": "pairs that<br>connect"}, "tickformat": ".0%"}),
            row=1, col=col)
        fig.update_xaxes(title_text="destination", side="bottom", tickangle=-35, row=1, col=col)
        fig.update_yaxes(autorange="reversed", row=1, col=col,
                         title_text="source" if col == 1 else None)
    height = 200 + 34 * len(names)
    title += f"<br><sup>{plotly_escape(t.enforcement_note(assessment))}</sup>"
    return chart_layout(fig, title, height=max(height, 380), width=FIGURE_WIDTH,
                   margin={"t": 100, "b": 110})


def _graph_layout(groups: dict[str, list[Any]]) -> dict[Any, tuple[float, float]]:
    """Namespaces on a large circle, each namespace's workloads on a small circle around it."""
    import math

    pos: dict[Any, tuple[float, float]] = {}
    n = len(groups)
    for i, (_, peers) in enumerate(groups.items()):
        angle = 2 * math.pi * i / max(n, 1)
        cx, cy = (math.cos(angle) * 3, math.sin(angle) * 3) if n > 1 else (0.0, 0.0)
        r = 0.35 + 0.12 * len(peers) ** 0.5
        for j, peer in enumerate(peers):
            a = 2 * math.pi * j / len(peers)
            pos[peer] = (cx + r * math.cos(a), cy + r * math.sin(a)) if len(peers) > 1 \
                else (cx, cy)
    return pos


def _edge_xy(edges: list[tuple[Any, Any]], pos: dict[Any, tuple[float, float]],
             shorten: float = 0.1) -> tuple[list[Any], list[Any]]:
    xs: list[Any] = []
    ys: list[Any] = []
    for s, d in edges:
        (x0, y0), (x1, y1) = pos[s], pos[d]
        xs += [x0, x0 + (x1 - x0) * (1 - shorten), None]
        ys += [y0, y0 + (y1 - y0) * (1 - shorten), None]
    return xs, ys


def plot_workload_graph(assessment: Assessment, namespace: str | None = None,
                        max_workloads: int = 120) -> go.Figure:
    """Draw the workloads and the connections the policies allow between them.

    Workloads are grouped by namespace (one circle per namespace, namespaces around a larger
    circle); a line runs from the source towards the destination of every allowed connection
    (a dot near the destination marks the direction; hover it for the ports). With
    ``namespace``, only edges touching that namespace are drawn, with the workloads they reach.
    When no engine enforces NetworkPolicy the *as enforced* connections (every pair) are drawn
    faintly under the *as written* ones; toggle them in the legend. System namespaces are left out.

    Examples
    --------
    >>> a = assess("reports/demo-snapshot")                        # doctest: +SKIP
    >>> plot_workload_graph(a, namespace="storefront")             # doctest: +SKIP
    """
    title = "Allowed connections between workloads" + (
        f" touching {plotly_escape(namespace)}" if namespace else "")
    reach, why = t.reachability_of(assessment)
    if reach is None:
        return placeholder(title, f"Reachability not available: {why}")
    groups = t.workload_peers(assessment, reach)
    if namespace is not None and namespace not in groups:
        return placeholder(title, f"No workload in namespace {namespace!r}.")
    shown = {p for peers in groups.values() for p in peers}
    edges = [(s, d) for (s, d) in reach.connections if s in shown and d in shown]
    if namespace is not None:
        edges = [(s, d) for s, d in edges if namespace in (s.namespace, d.namespace)]
        touched = {p for e in edges for p in e} | set(groups[namespace])
        groups = {ns: [p for p in peers if p in touched] for ns, peers in groups.items()}
        groups = {ns: peers for ns, peers in groups.items() if peers}
    total = sum(len(p) for p in groups.values())
    truncated = total > max_workloads
    if truncated:
        kept: dict[str, list[Any]] = {}
        budget = max_workloads
        for ns, peers in groups.items():
            if budget <= 0:
                break
            kept[ns] = peers[:budget]
            budget -= len(kept[ns])
        groups = kept
    pos = _graph_layout(groups)
    edges = [(s, d) for s, d in edges if s in pos and d in pos]
    fig = go.Figure()
    if network_enforced_false(assessment):
        everything = [(s, d) for s in pos for d in pos if s != d]
        if len(everything) <= 20000:
            xs, ys = _edge_xy(everything, pos, shorten=0)
            fig.add_scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                            name=f"as enforced: all open ({len(everything)} connections)",
                            line={"width": 0.5, "color": "rgba(198,40,40,0.35)"})
    xs, ys = _edge_xy(edges, pos)
    fig.add_scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                    name=f"as written: allowed ({len(edges)} connections)",
                    line={"width": 1.2, "color": "rgba(18,58,107,0.55)"})
    heads = [pos[s] for s, _ in edges]
    tips = [(x0 + (pos[d][0] - x0) * 0.9, y0 + (pos[d][1] - y0) * 0.9)
            for (x0, y0), (_, d) in zip(heads, edges, strict=True)]
    fig.add_scatter(
        x=[x for x, _ in tips], y=[y for _, y in tips], mode="markers", showlegend=False,
        marker={"symbol": "circle", "size": 5, "color": "rgba(18,58,107,0.8)"},
        customdata=[plotly_escape(f"{s.namespace}/{s.name} → {d.namespace}/{d.name}: "
                          f"{reach.connections[(s, d)]}") for s, d in edges],
        hovertemplate="%{customdata}<extra></extra>")
    for ns, peers in groups.items():
        fig.add_scatter(
            x=[pos[p][0] for p in peers], y=[pos[p][1] for p in peers], mode="markers+text",
            name=plotly_escape(shorten(ns, 30)),
            text=[plotly_escape(shorten(p.name, 18)) for p in peers],
            textposition="top center", textfont={"size": 9},
            marker={"size": 11, "line": {"width": 1, "color": "white"}},
            customdata=[plotly_escape(f"{p.kind} {p.namespace}/{p.name}") for p in peers],
            hovertemplate="%{customdata}<extra></extra>")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    note = t.enforcement_note(assessment)
    if truncated:
        note += f" {sum(len(p) for p in groups.values())} of {total} workloads shown."
    fig.add_annotation(text=plotly_escape(note), x=0, y=-0.04, xref="paper", yref="paper",
                       xanchor="left", yanchor="top", showarrow=False,
                       font={"size": 11, "color": MUTED})
    return chart_layout(fig, title, height=620, width=FIGURE_WIDTH,
                   legend={"orientation": "v", "x": 1.02, "y": 1}, margin={"b": 60})


def network_enforced_false(assessment: Assessment) -> bool:
    """True when no engine enforces NetworkPolicy (the policies are decorative)."""
    return t.network_enforcement(assessment) is False


def plot_compromise_reach(assessment: Assessment, top: int = 15) -> go.Figure:
    """Draw, per workload, what a compromise reaches: risky Kubernetes rights and AWS risks.

    Bars per workload (from :func:`zt_toolkit.report.tables.summarize_irsa_map`, one bar per
    workload, its IAM roles merged): the number of risky Kubernetes right classes its service
    account token gives, and the number of risky AWS action categories of its IAM roles.

    Examples
    --------
    >>> import zt_toolkit.report as zt                           # doctest: +SKIP
    >>> zt.plot_compromise_reach(a)                              # doctest: +SKIP
    """
    title = "What a compromised workload reaches"
    s = t.summarize_irsa_map(assessment)
    empty = placeholder_if_empty(s, title, "No workload holds an IAM role or a risky right.")
    if empty is not None:
        return empty
    g = (s.groupby("workload", sort=False)
         .agg(k8s=("k8s_right_count", "max"),
              aws=("aws_categories", lambda c: len({x for v in c for x in v.split(", ") if x})))
         .reset_index())
    g = g[(g["k8s"] > 0) | (g["aws"] > 0)]
    if g.empty:
        return placeholder(title, "No workload reaches a risky Kubernetes right or AWS action.")
    g = g.sort_values(["k8s", "aws", "workload"], ascending=[False, False, True])
    return grouped_bars(g, "workload", [
        ("k8s", "Risky Kubernetes rights (classes)", STATUS_COLORS["fail"]),
        ("aws", "Risky AWS action categories", SEVERITY_COLORS["high"]),
    ], title, "count", barmode="group", top=top)
