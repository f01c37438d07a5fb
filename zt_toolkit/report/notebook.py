"""What the notebooks call: one :func:`setup`, and narrative that depends on the data.

A notebook's setup cell is::

    import zt_toolkit.report as zt
    a = zt.setup(snapshot, config, client, output_dir)

:func:`setup` loads and assesses the snapshot once per kernel (later calls with the same
arguments return the cached :class:`~zt_toolkit.assessment.Assessment`), builds the demo snapshot
when the default demo path does not exist yet, registers the ``zt`` chart theme, picks a plotly
renderer that survives nbconvert (static SVG through kaleido and a local Chromium; inline
plotly.js as the fallback; never a CDN), and makes DataFrames display as escaped, styled HTML
(:func:`zt_toolkit.report.tables.render_table`).

The ``narrate_*`` functions return :class:`IPython.display.Markdown` whose numbers come from the
findings. Every value that comes from the cluster (resource names, details, waiver reasons) goes
through :func:`md_escape`: it is HTML-escaped and its Markdown punctuation is backslash-escaped,
so a resource called ``<script>alert(1)</script>`` is shown as text, never run.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import logging
import os
import pickle
import re
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import Markdown

from zt_toolkit.assessment import Assessment, assess
from zt_toolkit.checks.model import Pillar
from zt_toolkit.config import EngagementConfig
from zt_toolkit.report import tables as t
from zt_toolkit.report.markdown import fenced, is_k8s_name
from zt_toolkit.report.pdf import BrowserNotFoundError, find_browser
from zt_toolkit.report.scores import score_overall, stage_label
from zt_toolkit.report.theme import SEVERITY_LABELS, register_template

log = logging.getLogger(__name__)

DEMO_SNAPSHOT_NAME = "demo-snapshot"
ASSESSMENT_CACHE_ENV = "ZT_ASSESSMENT_CACHE"
MIMETYPE_RENDERER = "plotly_mimetype"
STATIC_RENDERER = "plotly_mimetype+svg"
FALLBACK_RENDERER = "plotly_mimetype+notebook"

_CACHE: dict[tuple[str, str, str], Assessment] = {}  # per kernel: one assessment
_renderer: str | None = None
_trial: tuple[threading.Thread, dict[str, Any]] | None = None


# ------------------------------------------------------------------------------------------
# setup
# ------------------------------------------------------------------------------------------
def setup(
    snapshot: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    client: str | None = None,
    output_dir: str | os.PathLike[str] | None = None,
) -> Assessment:
    """Prepare a notebook: assess the snapshot (cached per kernel), theme, renderer, display.

    Parameters
    ----------
    snapshot
        Snapshot directory or archive. When it is the demo path (its name is
        ``demo-snapshot``) and does not exist, the demo snapshot is built there first.
    config
        Engagement config YAML, or None for defaults.
    client
        Client name shown in the report; overrides the config's ``client`` when given.
    output_dir
        Where the notebook may write files (the findings export of the summary); created
        when given.

    Returns
    -------
    The :class:`~zt_toolkit.assessment.Assessment`.

    Examples
    --------
    >>> import zt_toolkit.report as zt
    >>> a = zt.setup("../reports/demo-snapshot")          # doctest: +SKIP
    >>> a.snapshot.cluster.name                           # doctest: +SKIP
    """
    path = ensure_snapshot(snapshot)
    key = cache_key(path, config, client)
    start_renderer()  # the browser starts while the checks run
    if key not in _CACHE:
        _CACHE[key] = _shared_assessment(key) or assess(path, engagement_config(config, client))
    assessment = _CACHE[key]
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
    register_template()
    configure_renderer()
    configure_display()
    return assessment


def cache_key(snapshot: str | os.PathLike[str], config: str | os.PathLike[str] | None,
              client: str | None) -> tuple[str, str, str]:
    """What identifies one assessment: snapshot and config (path and mtime) and client name."""
    return (_fingerprint(Path(snapshot)), _fingerprint(Path(config)) if config else "",
            client or "")


def share_assessment(assessment: Assessment, key: tuple[str, str, str], path: Path) -> None:
    """Save an assessment for the report's kernels, which then skip assessing it again.

    The report writer assesses the snapshot once, pickles it into its private temporary
    folder and names the file in ``ZT_ASSESSMENT_CACHE``; :func:`setup` in each kernel loads it
    when the key matches. The file never leaves that folder.
    """
    with open(path, "wb") as fh:
        pickle.dump((key, assessment), fh, protocol=pickle.HIGHEST_PROTOCOL)


def _shared_assessment(key: tuple[str, str, str]) -> Assessment | None:
    shared = os.environ.get(ASSESSMENT_CACHE_ENV)
    if not shared or not os.path.isfile(shared):
        return None
    with open(shared, "rb") as fh:
        stored_key, assessment = pickle.load(fh)  # written by this toolkit, see share_assessment
    return assessment if stored_key == key else None


def _fingerprint(path: Path) -> str:
    """Path plus modification time: an edited config or a rebuilt snapshot is assessed anew."""
    probe = path / "manifest.json" if path.is_dir() else path
    try:
        stamp = probe.stat().st_mtime_ns
    except OSError:
        stamp = 0  # missing: loading fails later with a message that names the file
    return f"{path.resolve()}@{stamp}"


def engagement_config(config: str | os.PathLike[str] | None,
                      client: str | None) -> EngagementConfig:
    """Load the engagement config (defaults when None); ``client`` overrides its client name."""
    cfg = EngagementConfig.load(Path(config) if config else None)
    if client:
        cfg.client = client
    return cfg


def ensure_snapshot(snapshot: str | os.PathLike[str]) -> Path:
    """Return the snapshot path, building the demo snapshot there if it is the missing demo."""
    path = Path(snapshot)
    if path.exists() or path.name != DEMO_SNAPSHOT_NAME:
        return path  # a missing non-demo path fails in Snapshot.load with a clear message
    from zt_toolkit.demo import build_demo

    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    with _lock(Path(tempfile.gettempdir()) / f"zt-demo-{digest}.lock"):
        if not path.exists():  # another kernel may have built it while we waited
            log.info("building the demo snapshot at %s", path)
            build_demo(path)
    return path


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Hold an exclusive file lock (POSIX): kernels run in parallel must not build twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no parallel kernels there in practice
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def start_renderer() -> None:
    """Begin starting kaleido's browser in the background (see :func:`configure_renderer`)."""
    global _trial
    if _renderer is not None or _trial is not None or os.environ.get("PLOTLY_RENDERER"):
        return
    warnings.filterwarnings("ignore", message="The kopts argument is ignored")
    for name in ("kaleido", "choreographer", "logistro"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        browser: str | None = find_browser()
    except BrowserNotFoundError:  # charts fall back to inline plotly.js (see below)
        browser = None
    outcome: dict[str, Any] = {"browser": browser}
    worker = None
    if browser is not None:
        os.environ.setdefault("BROWSER_PATH", browser)
        worker = threading.Thread(target=_kaleido_trial, args=(outcome,), daemon=True)
        worker.start()
    _trial = (worker, outcome)  # type: ignore[assignment]


def _kaleido_trial(outcome: dict[str, Any]) -> None:
    """Start the kaleido server and draw one tiny figure; record success or the error."""
    try:
        import kaleido
        import plotly.graph_objects as go
        import plotly.io as pio

        kaleido.start_sync_server(silence_warnings=True, mathjax=False)  # no CDN
        outcome["ok"] = pio.to_image(go.Figure(), format="svg").startswith(b"<svg")
    except Exception as exc:  # reported by configure_renderer; the fallback takes over
        outcome["error"] = exc


def configure_renderer(timeout: float = 90.0) -> str:
    """Pick and set the plotly renderer once per kernel; return its name.

    ``plotly_mimetype+svg`` (interactive in Jupyter, static SVG in HTML/PDF) when kaleido can
    drive a local Chromium: one kaleido server is started per kernel so that every figure after
    the first takes a fraction of a second. Otherwise ``plotly_mimetype+notebook`` (plotly.js
    inlined in the notebook, no CDN), with a logged note. A ``PLOTLY_RENDERER`` set in the
    environment wins (CI without a browser sets ``plotly_mimetype``, and so does the report
    writer, which draws every chart as SVG afterwards in one browser).
    """
    global _renderer
    if _renderer is not None:
        return _renderer
    if os.environ.get("PLOTLY_RENDERER") == MIMETYPE_RENDERER and _display_figures_as_json():
        _renderer = MIMETYPE_RENDERER
        return _renderer
    import plotly.io as pio

    if os.environ.get("PLOTLY_RENDERER"):
        _renderer = os.environ["PLOTLY_RENDERER"]
        pio.renderers.default = _renderer
        return _renderer
    start_renderer()
    assert _trial is not None
    worker, outcome = _trial
    renderer = FALLBACK_RENDERER
    if worker is None:
        log.warning("No Chrome, Edge or Chromium found (set BROWSER_PATH): charts are embedded "
                    "as interactive plotly.js instead of static SVG; the PDF export needs one.")
    else:
        worker.join(timeout)
        if outcome.get("ok"):
            renderer = STATIC_RENDERER
        else:
            log.warning("kaleido could not draw with %s (%s): charts are embedded as interactive "
                        "plotly.js instead of static SVG.", outcome["browser"],
                        outcome.get("error", f"no answer within {timeout:.0f} s"))
    pio.renderers.default = renderer
    _renderer = renderer
    return renderer


def _display_figures_as_json() -> bool:
    """Show figures as plotly JSON (what the ``plotly_mimetype`` renderer emits), directly.

    plotly's renderer machinery imports nbformat and jsonschema, about a second per kernel;
    an IPython formatter for figures gives the same output without it. False outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False
    import orjson
    from plotly.basedatatypes import BaseFigure
    from plotly.io import to_json

    def show(fig: BaseFigure) -> None:
        from IPython.display import display

        spec = orjson.loads(to_json(fig, validate=False, remove_uids=False))
        display({"application/vnd.plotly.v1+json": {**spec, "config": {"displaylogo": False}},
                 "text/plain": f"<{type(fig).__name__}: {len(fig.data)} trace(s)>"}, raw=True)

    # figures display themselves (_ipython_display_ → plotly's renderers); take that over
    ip.display_formatter.ipython_display_formatter.for_type(BaseFigure, show)
    return True


def configure_display() -> None:
    """Show DataFrames as escaped report tables in IPython; quieter pandas defaults."""
    pd.set_option("display.max_colwidth", 300)
    pd.set_option("display.html.use_mathjax", False)
    with contextlib.suppress(ImportError):
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, t.render_table)


# ------------------------------------------------------------------------------------------
# narrative
# ------------------------------------------------------------------------------------------
STAGE_MEANING = {
    "traditional": "its weakest pillar relies on manual, static configuration with open "
                   "paths an attacker can use",
    "initial": "basic controls are in place in every pillar, with significant gaps left",
    "advanced": "controls are largely in place; no critical gap is open",
    "optimal": "controls are complete and no critical or high-severity gap is open",
}
"""One phrase per CISA stage, as the executive summary reads it (see report.scores)."""

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")


def md_escape(value: Any) -> str:
    r"""Make untrusted text safe inside Markdown: HTML-escape it, then escape Markdown syntax.

    >>> md_escape("<script>alert(1)</script>")
    '&lt;script&gt;alert\\(1\\)&lt;/script&gt;'
    """
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``"1 check"``, ``"3 checks"``.

    >>> plural(1, "check"), plural(2, "policy", "policies")
    ('1 check', '2 policies')
    """
    return f"{n} {word if n == 1 else (plural_form or word + 's')}"


def severity_phrase(counts: Mapping[str, int]) -> str:
    """Counts per severity (a dict or a value_counts Series) in words, most severe first.

    >>> severity_phrase({"high": 1, "critical": 2, "low": 0})
    '2 critical and 1 high'
    """
    parts = [f"{int(counts[s])} {label.lower()}" for s, label in SEVERITY_LABELS.items()
             if s in counts and counts[s]]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _fix_first(findings: pd.DataFrame, n: int) -> list[str]:
    """Markdown list items for the top risks (escaped)."""
    risks = t.summarize_top_risks(findings, n=n)
    items = []
    for r in risks.itertuples(index=False):
        items.append(
            f"{r.rank}. **{md_escape(r.title)}** ({SEVERITY_LABELS.get(r.severity, r.severity)}"
            f", {plural(int(r.affected), 'resource')}: {md_escape(r.examples)}). "
            f"{md_escape(r.remediation)}"
        )
    return items


def narrate_pillar(assessment: Assessment, pillar: str | Pillar) -> Markdown:
    """Write the "what we found" paragraph of a pillar from its findings.

    It states how many checks pass, fail (by severity) or could not be assessed, the score, the
    failing checks to fix first with example resources and the remediation, and how many
    failures are waived. All cluster-provided text is escaped.
    """
    p = Pillar(pillar)
    f = assessment.pillar_findings(p)
    s = t.summarize_pillars(assessment.findings).set_index("pillar").loc[p.value]
    checks = int(s["checks"])
    if checks == 0:
        return Markdown(f"No check of the {p.title.lower()} pillar ran in this assessment.")
    failing = {sev: int(s[sev]) for sev in SEVERITY_LABELS}
    lines = []
    if int(s["fail"]):
        sev = severity_phrase(failing)
        lines.append(
            f"**{plural(int(s['fail']), 'check')} of {checks} fail** ({sev}), with "
            f"{plural(int(s['failing_resources']), 'open failure')} across the cluster; "
            f"{int(s['pass'])} pass.")
    else:
        lines.append(f"**No check of the {checks} fails**: {int(s['pass'])} pass.")
    if pd.notna(s["score"]):
        lines[-1] += (f" The pillar scores **{round(float(s['score']))}/100** on the "
                      f"{plural(int(s['assessed']), 'check')} that evaluated resources, "
                      f"maturity stage **{s['stage']}**.")  # already a label
    gaps = int(s["not_assessed"]) + int(s["error"])
    if gaps:
        un = t.summarize_unassessed_checks(f)
        names = "; ".join(
            f"{md_escape(r.check)} ("
            + ("the check failed to run" if r.status == "error" else md_escape(r.why)) + ")"
            for r in un.head(4).itertuples(index=False))
        more = f" and {len(un) - 4} more" if len(un) > 4 else ""
        lines.append(
            f"\n\n**{plural(gaps, 'check')} gave no result**, so this pillar's result is "
            f"incomplete: {names}{more}. An absent result is not a pass.")
    if int(s["not_applicable"]):
        lines.append(f" {plural(int(s['not_applicable']), 'check')} had nothing to evaluate.")
    fixes = _fix_first(f, 3)
    if fixes:
        lines.append("\n\n**Fix first:**\n\n" + "\n".join(fixes))
    if int(s["waived"]):
        lines.append(
            f"\n\n{plural(int(s['waived']), 'further failure')} "
            f"{'is' if int(s['waived']) == 1 else 'are'} waived as accepted risk (engagement "
            "waivers and the documented EKS baseline); they are listed in the summary.")
    return Markdown("".join(lines))


def narrate_summary(assessment: Assessment) -> Markdown:
    """Write the executive summary paragraph: overall result, weakest pillars, fix first."""
    f = assessment.findings
    s = t.summarize_pillars(f)
    cluster = assessment.snapshot.cluster
    total = int(s["checks"].sum())
    failing = {sev: int(s[sev].sum()) for sev in SEVERITY_LABELS}
    n_fail = int(s["fail"].sum())
    lines = [
        f"We assessed the EKS cluster **{md_escape(cluster.name)}** of "
        f"**{md_escape(assessment.config.client)}** against {plural(total, 'check')} in six "
        f"zero-trust pillars, from a read-only snapshot taken "
        f"{md_escape(assessment.snapshot.manifest.collected_at[:10])}. "
    ]
    if n_fail:
        lines.append(f"**{plural(n_fail, 'check')} fail** ({severity_phrase(failing)}), "
                     f"with {plural(int(s['failing_resources'].sum()), 'open failure')} in "
                     "total. ")
    else:
        lines.append("**No check fails.** ")
    overall = score_overall(f)
    if overall["score"] is not None:
        stage = overall["stage"]
        lines.append(
            f"Overall the cluster scores **{round(overall['score'])}/100**"
            + (f" and stands at the **{stage_label(stage)}** stage of the CISA Zero Trust "
               f"Maturity Model ({STAGE_MEANING[stage]})" if stage else
               ", too little was assessed to place it on the CISA Zero Trust Maturity Model")
            + ". ")
    scored = s.dropna(subset=["score"]).sort_values("score")
    if len(scored):
        weakest = scored.head(2)
        names = " and ".join(f"{r.title.lower()} ({int(r.score)}/100)"
                             for r in weakest.itertuples(index=False))
        lines.append(f"The weakest {'pillars are' if len(weakest) > 1 else 'pillar is'} "
                     f"{names}. ")
    missing, errors = int(s["not_assessed"].sum()), int(s["error"].sum())
    if missing or errors:
        why = []
        if missing:
            cov = t.summarize_coverage(assessment)
            sources = int((cov["checks"] > 0).sum()) if not cov.empty else 0
            why.append(f"{plural(missing, 'check')} could not be assessed because "
                       f"{plural(sources, 'data source')} could not be collected")
        if errors:
            why.append(f"{plural(errors, 'check')} failed to run (a toolkit defect, not a "
                       "property of the cluster)")
        lines.append(f"\n\n**{' and '.join(why)}.** Those areas are unknown, not compliant; "
                     "the coverage section lists them.")
    fixes = _fix_first(f, 5)
    if fixes:
        lines.append("\n\n**What to do first:**\n\n" + "\n".join(fixes))
    waived = int(s["waived"].sum())
    if waived:
        lines.append(f"\n\n{plural(waived, 'failure')} {'is' if waived == 1 else 'are'} "
                     "waived as accepted risk and shown in the accepted-risks section.")
    return Markdown("".join(lines))


def narrate_failures_appendix(assessment: Assessment, limit: int = 8,
                              detail_chars: int = 160) -> Markdown:
    """Write the findings appendix: per pillar, every failing check with resources and fix.

    Each check is one paragraph (severity, title, number of failing resources), a list of up to
    ``limit`` resources with their detail (cut at ``detail_chars``), the number left out (all
    are in findings.xlsx) and the remediation. Built from
    :func:`zt_toolkit.report.tables.summarize_failures_appendix`; all cluster text is escaped.
    """
    table = t.summarize_failures_appendix(assessment.findings, limit=limit)
    if table.empty:
        return Markdown(md_escape(table.attrs.get("note", "No open failure.")))
    parts: list[str] = []
    for pillar, rows in table.groupby("pillar", sort=False):
        parts.append(f"### {md_escape(pillar)}")
        for r in rows.itertuples(index=False):
            entries = "\n".join(f"- {md_escape(_cut(line, detail_chars))}"
                                 for line in str(r.resources).split("\n"))
            parts.append(
                f"**{SEVERITY_LABELS.get(r.severity, r.severity)} · {md_escape(r.check)}** "
                f"({plural(int(r.affected), 'failing resource')})\n\n{entries}\n\n"
                f"*Remediation:* {_remediation(str(r.remediation))}")
    return Markdown("\n\n".join(parts))


def _remediation(text: str) -> str:
    """A check's remediation (catalogue text): one line of prose, or a multi-line command block."""
    if "\n" not in text.strip():
        return md_escape(text)
    return "\n\n" + fenced(text.strip())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def narrate_coverage(assessment: Assessment) -> Markdown:
    """Write one paragraph on what the snapshot lacked and what that means for the result."""
    cov = t.summarize_coverage(assessment)
    un = t.summarize_unassessed_checks(assessment.findings)
    if cov.empty and un.empty:
        return Markdown("Every source was collected and every check could be evaluated: the "
                        "results below cover the whole catalogue.")
    costly = cov[cov["checks"] > 0] if not cov.empty else cov
    parts = []
    if len(costly):
        srcs = ", ".join(f"{md_escape(r.source)} ({md_escape(r.status)})"
                         for r in costly.head(5).itertuples(index=False))
        parts.append(f"{plural(len(costly), 'source')} could not be collected and cost "
                     f"checks: {srcs}.")
    if len(un):
        verb = "has" if len(un) == 1 else "have"
        if len(costly):
            parts.append(f" {plural(len(un), 'check')} therefore {verb} no result for some or "
                         "all resources. Grant the collector read access to these sources (or "
                         "collect them separately) and re-run the assessment to close the gap.")
        else:
            why = "; ".join(f"{md_escape(r.check)} ({md_escape(r.why)})"
                            for r in un.head(3).itertuples(index=False))
            parts.append(f"{plural(len(un), 'check')} {verb} no result for some resources, "
                         f"although every source was collected: {why}.")
    harmless = len(cov) - len(costly) if not cov.empty else 0
    if harmless:
        parts.append(f" {plural(harmless, 'other source')} {'was' if harmless == 1 else 'were'}"
                     " absent without cost (for example optional CRDs of tools that are not "
                     "installed).")
    return Markdown("".join(parts).strip())


def narrate_pss_remediation(assessment: Assessment, n: int = 5,
                            read_only_root: bool = True) -> Markdown:
    """Write the Pod Security Standards remediation as ready-to-apply commands and YAML.

    First the ``kubectl label`` command of every non-system namespace whose labels differ from
    what it is ready for (enforce the strictest level that rejects none of its workloads, never
    lowering an existing one; warn and audit at restricted), then, for the ``n`` workloads
    furthest from the restricted profile, a strategic-merge securityContext patch with its
    ``kubectl patch`` command and the steps a patch cannot do (see
    :mod:`zt_toolkit.report.pss_remediation`). Only valid Kubernetes names reach a command or
    a code block; anything else is named, escaped, in the text.

    Examples
    --------
    >>> narrate_pss_remediation(assess("reports/demo-snapshot"), n=3)   # doctest: +SKIP
    """
    from zt_toolkit.report import pss_remediation as r

    readiness = t.summarize_pss_readiness(assessment)
    if readiness.empty:
        return Markdown(md_escape(readiness.attrs.get("note", "No namespace to remediate.")))
    parts = ["**Namespace labels.** Each command enforces the strictest level that rejects "
             "none of the namespace's workloads and sets `warn` and `audit` to `restricted`, so "
             "that the remaining gap shows in `kubectl` warnings and the audit log. Preview any "
             "change with `--dry-run=server`: the API server lists the pods it would reject."]
    commands, skipped, current_ok = [], [], []
    for ns, g in readiness.groupby("namespace", sort=False):
        first = g.iloc[0]
        rejected = dict(zip(g["level"], g["rejected"].astype(int), strict=True))
        current = {m: str(first[m]) for m in ("enforce", "audit", "warn")
                   if str(first[m]) not in ("—", "?")}
        current.update({f"{m}-version": str(first[f"{m}_version"])
                        for m in ("enforce", "audit", "warn")
                        if str(first[f"{m}_version"]) not in ("—", "?")})
        plan = r.namespace_label_plan(str(ns), current, str(first["version"]), rejected)
        if not is_k8s_name(ns):
            skipped.append(md_escape(ns))
            continue
        if plan["command"] is None:
            current_ok.append(f"`{ns}`")
            continue
        if plan["kept"]:
            why = (f"keeps enforce={plan['enforce']}, which rejects "
                   f"{plural(rejected.get(plan['enforce'], 0), 'workload')} today: fix them")
        elif plan["enforce"] == "restricted":
            why = "ready for restricted"
        elif plan["enforce"] == "baseline":
            why = (f"ready for baseline; restricted would reject "
                   f"{plural(rejected['restricted'], 'workload')}")
        else:
            why = (f"not ready for baseline ({plural(rejected['baseline'], 'workload')} "
                   "would be rejected): warn and audit only")
        commands += [f"# {ns}: {why}", plan["command"]]
    if commands:
        parts.append(fenced("\n".join(commands), "sh"))
    if current_ok:
        parts.append(f"Already labelled as recommended: {', '.join(current_ok)}.")
    if skipped:
        parts.append("Not a valid namespace name, no command generated: "
                     + ", ".join(skipped) + ".")
    parts.append(_pss_workload_patches(assessment, n, read_only_root))
    return Markdown("\n\n".join(p for p in parts if p))


def _pss_workload_patches(assessment: Assessment, n: int, read_only_root: bool) -> str:
    """The securityContext patch section of :func:`narrate_pss_remediation` (Markdown)."""
    from zt_toolkit.report import pss_remediation as r

    offenders = t.summarize_pss_offenders(assessment, n=n)
    if offenders.empty:
        return md_escape(offenders.attrs.get("note", ""))
    v = assessment.frames.workload_pss
    v = v[v["level"] == "restricted"].set_index(t.KEY)
    total = int((~v["allowed"] & ~v["system"]).sum())
    out = [f"**Workload patches.** The {plural(len(offenders), 'workload')} furthest from the "
           f"restricted profile (of {total} that miss it), each with a strategic-merge patch "
           "of its pod template (containers merge by name; `null` removes a field). Test in a "
           "staging namespace first."]
    for o in offenders.itertuples(index=False):
        label = f"{md_escape(o.kind)} {md_escape(o.namespace)}/{md_escape(o.name)}"
        key = (o.kind, o.namespace, o.name)
        if not (is_k8s_name(o.namespace) and is_k8s_name(o.name)):
            out.append(f"**{label}**: not a valid Kubernetes name, no patch generated.")
            continue
        row = v.loc[key]
        spec = assessment.frames.pod_specs[row["spec_hash"]]["spec"]
        patch, manual = r.securitycontext_patch(o.kind, spec, row["checks"], read_only_root)
        text = [f"**{label}** violates {md_escape(', '.join(row['checks']))} "
                f"(at {md_escape(row['version'])})."]
        file = f"{o.name}-pss.yaml"
        if patch:
            command = r.patch_command(o.kind, o.namespace, o.name, file)
            text.append(fenced(f"# {file}\n{r.patch_yaml(patch)}", "yaml"))
            if command:
                text.append(fenced(command, "sh"))
            else:
                what = "A bare Pod's spec" if o.kind == "Pod" else \
                    f"A {md_escape(o.kind)}'s pod template"
                text.append(f"{what} cannot be changed in place: put these settings in its "
                            "manifest and recreate it.")
        if manual:
            text.append("By hand:\n\n" + "\n".join(f"- {md_escape(m)}" for m in manual))
        out.append("\n\n".join(text))
    return "\n\n".join(out)


def narrate_network_remediation(assessment: Assessment) -> Markdown:
    """Write the NetworkPolicy remediation: per namespace, YAML ready for ``kubectl apply``.

    For every non-system namespace with workloads (and every namespace an ``allow`` intent
    names): the allow rules its Services need (from the namespace's own pods, minus the sources
    a ``deny`` segmentation intent forbids), an egress policy to those Services, the rules of
    the ``allow`` intents, then ``default-deny-all`` (ingress and egress, DNS allowed). See
    :mod:`zt_toolkit.report.netpol_remediation`. Only valid Kubernetes names and labels reach
    a code block; anything else is named, escaped, in the text.

    Examples
    --------
    >>> narrate_network_remediation(assess("reports/demo-snapshot"))   # doctest: +SKIP
    """
    from zt_toolkit.report import netpol_remediation as n
    workloads, why = t.frame_or_note(assessment, "workloads")
    if workloads is None:
        return Markdown(md_escape(f"No remediation: workloads {why}"))
    namespaces, _ = t.frame_or_note(assessment, "namespaces")
    system = set() if namespaces is None else set(
        namespaces.loc[namespaces["system"].astype(bool), "name"].astype(str))
    intents = [dict(i) for i in assessment.config.segmentation or []]
    by_ns: dict[str, list[dict[str, Any]]] = {}
    bad_intents = []
    for i, intent in enumerate(intents, start=1):
        if intent.get("expect") != "allow":
            continue
        generated = n.intent_policies(intent, i)
        if not generated:
            bad_intents.append(md_escape(intent.get("name")))
        for ns, policies in generated.items():
            by_ns.setdefault(ns, []).extend(policies)
    wanted = sorted((set(workloads["namespace"].astype(str)) - system) | set(by_ns))
    services: dict[str, list[dict[str, Any]]] = {}
    for obj in assessment.snapshot.iter_k8s("services"):
        services.setdefault((obj.get("metadata") or {}).get("namespace", "default"),
                            []).append(obj)
    parts = ["Apply per namespace (`kubectl apply -f <file>`), allow rules first and "
             "`default-deny-all` last; preview with `kubectl apply --dry-run=server`. Each "
             "Service accepts its ports from the pods of its own namespace, except the sources "
             "a *deny* intent forbids; flows between namespaces are opened only by *allow* "
             "intents. Add rules for the other flows your workloads need before applying "
             "(egress to AWS APIs or the internet, monitoring scrapes, webhooks called by the "
             "API server)."]
    skipped_ns, skipped_objects = [], []
    for ns in wanted:
        if not is_k8s_name(ns):
            skipped_ns.append(md_escape(ns))
            continue
        policies, skipped = n.namespace_policies(ns, services.get(ns, []), intents)
        skipped_objects += [md_escape(f"{ns}/{s}") for s in skipped]
        policies = by_ns.get(ns, []) + policies
        file = f"{ns}-networkpolicies.yaml"
        parts.append(f"**{md_escape(ns)}**: {plural(len(policies), 'policy', 'policies')}.")
        parts.append(fenced(f"# {file}\n{n.to_yaml(policies)}", "yaml"))
    if skipped_ns:
        parts.append("Not a valid namespace name, no policy generated: "
                     + ", ".join(skipped_ns) + ".")
    if skipped_objects:
        parts.append("Not a valid name or selector, no rule generated: "
                     + ", ".join(skipped_objects) + ".")
    if bad_intents:
        parts.append("Allow intents with an invalid namespace, label or port, no rule "
                     "generated: " + ", ".join(bad_intents) + ".")
    return Markdown("\n\n".join(parts))


# ------------------------------------------------------------------------------------------
# identity: aws-auth → access entries
# ------------------------------------------------------------------------------------------
_IAM_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:role|user)/[A-Za-z0-9+=,.@_/-]{1,512}")
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d")
_K8S_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.@-]{0,99}")
_K8S_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.@{}/=+,-]{0,199}")
#: Prefixes EKS refuses in an access entry's username and kubernetesGroups.
_RESERVED = ("system:", "eks:", "aws:", "amazon:", "iam:")
_CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _migration_target(assessment: Assessment) -> tuple[str, str, str | None, Any]:
    """Cluster name and ``--region`` option (validated, or placeholders), mode, bootstrap flag."""
    cluster, _ = t.frame_or_note(assessment, "eks_cluster")
    name, region, mode, bootstrap = "", "", None, None
    if cluster is not None and not cluster.empty:
        row = cluster.iloc[0]
        name = str(row["name"])
        arn = row["arn"] if isinstance(row["arn"], str) else ""
        region = arn.split(":")[3] if arn.count(":") >= 5 else ""
        mode = row["authentication_mode"] if isinstance(row["authentication_mode"], str) else None
        bootstrap = row["bootstrap_cluster_creator_admin"]
    if not name:
        name = assessment.snapshot.cluster.name or ""
    name = name if _CLUSTER_NAME.fullmatch(name) else "<cluster-name>"
    region_opt = f" --region {region}" if _REGION.fullmatch(region) else ""
    return name, region_opt, mode, bootstrap


def narrate_access_entry_migration(assessment: Assessment) -> Markdown:
    """Write the move from aws-auth to EKS access entries: the exact commands, per mapping.

    For each ``mapRoles`` / ``mapUsers`` entry of ``kube-system/aws-auth``:

    - mapped to ``system:nodes``: ``aws eks create-access-entry --type EC2_LINUX``;
    - mapped to ``system:masters``: a ``STANDARD`` entry and ``associate-access-policy`` with
      ``AmazonEKSClusterAdminPolicy`` at cluster scope (and the advice to narrow it);
    - mapped to other groups: a ``STANDARD`` entry with those ``--kubernetes-groups`` (and its
      ``--username``), so the existing RBAC bindings keep applying;
    - already holding an access entry: nothing to create, only the mapping to remove.

    Then the ``authenticationMode`` steps (``CONFIG_MAP`` → ``API_AND_CONFIG_MAP`` → ``API``).
    Only ARNs, names and groups that pass validation reach a code block; anything else is named,
    escaped, in the text. Groups and user names EKS refuses (``system:``, ``eks:`` ...) are said
    to need another mapping.

    Examples
    --------
    >>> narrate_access_entry_migration(assess("reports/demo-snapshot"))   # doctest: +SKIP
    """
    auth, why = t.frame_or_note(assessment, "aws_auth")
    if auth is None:
        return Markdown(md_escape(f"No migration advice: aws-auth {why}"))
    entries, _ = t.frame_or_note(assessment, "access_entries")
    existing = {} if entries is None else {
        str(e.principal_arn): e for e in entries.itertuples(index=False)}
    cluster, region, mode, bootstrap = _migration_target(assessment)
    base = f"aws eks{region}"
    parts: list[str] = []
    if auth.empty:
        parts.append("aws-auth maps no IAM principal: there is nothing to migrate.")
    else:
        parts.append(f"aws-auth holds {plural(len(auth), 'mapping')}. Create an access entry "
                     "for each one below, check that each principal still has the access it "
                     "needs, then remove the mapping from aws-auth.")
    problems, accounts = [], []
    for m in auth.itertuples(index=False):
        key = {"role": "mapRoles", "user": "mapUsers", "account": "mapAccounts"}[m.map_type]
        where = f"{key}[{m.index}]" if pd.notna(m.index) else key
        if isinstance(m.parse_error, str):
            problems.append(f"- `{where}`: {md_escape(m.parse_error)}")
            continue
        if m.map_type == "account":
            accounts.append(md_escape(m.arn))
            continue
        arn = str(m.arn)
        if not _IAM_ARN.fullmatch(arn):
            problems.append(f"- `{where}`: {md_escape(arn)} is not an IAM role or user ARN")
            continue
        groups = tuple(m.groups)
        title = f"**{where}** `{arn}` → groups {md_escape(', '.join(groups) or 'none')}"
        if arn in existing:
            e = existing[arn]
            parts.append(f"{title}: already has an access entry (type "
                         f"{md_escape(e.type)}, groups "
                         f"{md_escape(', '.join(e.kubernetes_groups) or 'none')}); nothing to "
                         "create: compare, then remove the mapping.")
            continue
        principal = f"--cluster-name {cluster} --principal-arn {arn}"
        if "system:nodes" in groups:
            parts.append(f"{title}: a node role.")
            parts.append(fenced(f"{base} create-access-entry {principal} --type EC2_LINUX",
                                "sh"))
            continue
        usable = [g for g in groups if _K8S_GROUP.fullmatch(g) and not g.startswith(_RESERVED)]
        refused = [g for g in groups if g not in usable and g != "system:masters"]
        user = m.username if isinstance(m.username, str) else ""
        user_ok = bool(user) and bool(_K8S_USER.fullmatch(user)) and not user.startswith(
            _RESERVED)
        cmd = f"{base} create-access-entry {principal} --type STANDARD"
        if usable:
            cmd += " --kubernetes-groups " + " ".join(usable)
        if user_ok:
            cmd += f" --username '{user}'"
        lines = [cmd]
        text = title + ":"
        if "system:masters" in groups:
            lines.append(f"{base} associate-access-policy {principal} "
                         f"--policy-arn {_CLUSTER_ADMIN_POLICY_ARN} --access-scope type=cluster")
            text += (" cluster admin today (system:masters). The second command keeps that; "
                     "prefer `AmazonEKSAdminPolicy` or `AmazonEKSEditPolicy` scoped to the "
                     "namespaces it needs (`--access-scope type=namespace,namespaces=...`).")
        elif usable:
            text += " the existing RBAC bindings of these groups keep applying."
        if refused:
            text += (" EKS refuses these groups in an access entry; bind their rights to "
                     "another group name: " + md_escape(", ".join(refused)) + ".")
        if user and not user_ok:
            text += (" The user name " + md_escape(user) + " is not accepted in an access "
                     "entry; the default name is used.")
        parts.append(text)
        parts.append(fenced("\n".join(lines), "sh"))
    if accounts:
        parts.append("mapAccounts lets every IAM principal of these accounts in: "
                     + ", ".join(accounts) + ". Access entries have no equivalent: create one "
                     "entry per principal that needs the cluster.")
    if problems:
        parts.append("Cannot be migrated as written (fix or drop these aws-auth entries):\n\n"
                     + "\n".join(problems))
    steps = {
        "CONFIG_MAP": ["allow access entries (aws-auth keeps working):",
                       "API_AND_CONFIG_MAP"],
        "API_AND_CONFIG_MAP": ["once every principal above works through its access entry "
                               "(check with `kubectl auth can-i --list` as each), stop "
                               "reading aws-auth (this cannot be undone):", "API"],
        "API": ["the cluster already ignores aws-auth (authenticationMode API): delete the "
                "ConfigMap once backed up.", None],
    }
    step, target = steps.get(mode or "", ["authenticationMode is unknown: read it with "
                                          "`aws eks describe-cluster`, then move to API_AND_"
                                          "CONFIG_MAP and finally API:", "API_AND_CONFIG_MAP"])
    parts.append(f"**authenticationMode** {md_escape(mode or 'unknown')}: {step}")
    if target:
        cmds = [f"{base} update-cluster-config --name {cluster} "
                f"--access-config authenticationMode={target}"]
        if target == "API_AND_CONFIG_MAP":
            cmds.append("# after the entries above are created and tested:")
            cmds.append(f"{base} update-cluster-config --name {cluster} "
                        "--access-config authenticationMode=API")
        cmds.append("kubectl -n kube-system get configmap aws-auth -o yaml > aws-auth-backup.yaml")
        cmds.append("kubectl -n kube-system delete configmap aws-auth")
        parts.append(fenced("\n".join(cmds), "sh"))
    if bootstrap is True or (bootstrap is not None and not pd.isna(bootstrap) and bool(bootstrap)):
        parts.append("The cluster creator still holds the bootstrap cluster-admin entry "
                     "(`bootstrapClusterCreatorAdminPermissions`): once named admins exist, "
                     "delete it (`aws eks delete-access-entry`) or narrow its policy.")
    return Markdown("\n\n".join(parts))
