"""Run the notebooks and write the client's report folder: ``write_*`` → files.

:func:`write_report` is what ``zt report SNAPSHOT --client NAME [--config F] [--previous DIR]``
calls. It writes, into ``<out>/<client-slug>/<YYYY-MM-DD>/``::

    findings.csv, findings.json, findings.xlsx   every finding (written first, even if a
                                                 notebook fails)
    summary.json                    scores, maturity stages, counts, top risks, gaps, waivers
    00_summary.ipynb … 07_appendix.ipynb   the executed notebooks (papermill), charts as SVG
    report.html                     the report as one self-contained page (no code, no scripts,
                                    no external resources)
    <client-slug>.pdf               the same, printed by headless Chromium: the deliverable

The kernels draw charts as plotly JSON only (no browser per kernel); one kaleido session in
this process then turns every chart into SVG (:func:`zt_toolkit.report.pdf.add_static_charts`)
and the same browser family prints the PDF. Everything is produced in a temporary folder next
to the destination and moved into place at the end, so a half-written report never sits where
a consultant would pick it up, and an older report of the same day stays until the new one is
complete.

Examples
--------
>>> from zt_toolkit.report import write_report
>>> write_report("reports/demo-snapshot", "Acme Shop")     # doctest: +SKIP
PosixPath('reports/acme-shop/2026-11-27')
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zt_toolkit.errors import BrowserNotFoundError, ReportError
from zt_toolkit.report.export import (
    build_summary,
    write_findings,
    write_findings_xlsx,
    write_summary_json,
)

if TYPE_CHECKING:  # nbformat pulls in jsonschema: 2 s of import a notebook kernel can skip
    import nbformat

log = logging.getLogger(__name__)

NOTEBOOKS = ("00_summary", "01_network", "02_identity", "03_pod_security", "04_images",
             "05_secrets", "06_audit", "07_appendix")
SUMMARY_NOTEBOOK = "00_summary"  # the only notebook that takes the ``previous`` parameter
TEMPLATES = Path(__file__).parent / "templates"
KERNEL_NAME = "python3"


def notebooks_dir() -> Path:
    """Folder of the notebook templates.

    ``ZT_NOTEBOOKS`` when set; else ``zt_toolkit/notebooks`` when the package ships them; else
    ``notebooks/`` of the source tree (an editable install or a checkout).
    """
    env = os.environ.get("ZT_NOTEBOOKS")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parents[1]
    shipped = package / "notebooks"
    return shipped if shipped.is_dir() else package.parent / "notebooks"


def client_slug(client: str) -> str:
    """Make a client name safe as one path component: ``"Acme Shop GmbH"`` → ``acme-shop-gmbh``.

    >>> client_slug("Ümlaut & Co. / ../etc")
    'umlaut-co-etc'
    """
    ascii_name = unicodedata.normalize("NFKD", client).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()
    return slug[:64].strip("-") or "client"


# ------------------------------------------------------------------------------------------
# notebook execution
# ------------------------------------------------------------------------------------------
@dataclass
class NotebookRun:
    """The outcome of one notebook: where it was written, how long it took, what failed."""

    name: str
    path: Path
    seconds: float = 0.0
    error: str | None = None


def execute_notebooks(
    parameters: dict[str, Any],
    out_dir: Path,
    *,
    names: tuple[str, ...] = NOTEBOOKS,
    source_dir: Path | None = None,
    parallel: int = 2,
    timeout: int = 900,
    extra: dict[str, dict[str, Any]] | None = None,
) -> list[NotebookRun]:
    """Execute notebooks with papermill into ``out_dir`` in ``parallel`` lanes.

    Each lane keeps one kernel and runs its notebooks one after another: starting a kernel and
    importing the report stack costs about 1.5 s of CPU, most of a small notebook's cost.
    Before each notebook but the first, the kernel's namespace is reset (imported modules
    stay), so no notebook sees another's variables; a kernel that died is replaced. The kernel
    is ``python3`` of the running environment (``JUPYTER_PREFER_ENV_PATH`` makes jupyter
    prefer this environment's kernelspec over a user-wide one). On POSIX systems it talks over
    Unix domain sockets in the user's runtime directory rather than loopback TCP ports, which
    other local users could reach. A failing notebook does not stop the others; its
    :class:`NotebookRun` carries the error text (notebook, cell index, exception). ``extra``
    adds parameters for single notebooks (name → parameters).
    """
    import papermill as pm

    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
    source_dir = source_dir or notebooks_dir()
    missing = [n for n in names if not (source_dir / f"{n}.ipynb").is_file()]
    if missing:
        raise ReportError(f"notebook template(s) not found in {source_dir}: {', '.join(missing)}")

    def run(name: str, kernel: _LaneKernel) -> NotebookRun:
        result = NotebookRun(name, out_dir / f"{name}.ipynb")
        start = time.perf_counter()
        try:
            pm.execute_notebook(
                str(source_dir / f"{name}.ipynb"), str(result.path),
                parameters={**parameters, **(extra or {}).get(name, {})},
                # no cwd=: papermill would chdir the whole process, which races between the
                # parallel runs; every path handed to the notebooks is absolute instead
                km=kernel.ready(), kernel_name=KERNEL_NAME, progress_bar=False,
                log_output=False, request_save_on_cell_execute=False, execution_timeout=timeout,
            )
        except pm.PapermillExecutionError as exc:
            first = (exc.source or "").strip().splitlines()[:1]
            code = f" `{first[0][:80]}`" if first else ""
            result.error = (f"{name}.ipynb failed in cell {exc.cell_index}{code}: "
                            f"{exc.ename}: {exc.evalue}")
        except Exception as exc:  # kernel died, timeout, unreadable template …
            result.error = f"{name}.ipynb could not be executed: {type(exc).__name__}: {exc}"
        finally:
            kernel.close_clients()
        result.seconds = time.perf_counter() - start
        log.info("notebook %s: %.1f s%s", name, result.seconds,
                 f" (FAILED: {result.error})" if result.error else "")
        return result

    pending = deque(names)
    runs: dict[str, NotebookRun] = {}

    def lane() -> None:
        kernel = _LaneKernel()
        try:
            while True:
                try:
                    name = pending.popleft()  # atomic: the lanes share the queue
                except IndexError:
                    return
                runs[name] = run(name, kernel)
        finally:
            kernel.shutdown()

    lanes = max(1, min(parallel, len(names)))
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        for done in [pool.submit(lane) for _ in range(lanes)]:
            done.result()
    return [runs[n] for n in names]


class _LaneKernel:
    """The kernel of one lane of :func:`execute_notebooks`, started on first use.

    Every call runs in the lane's own thread, on that thread's event loop (jupyter's
    ``run_sync``), where papermill also drives the kernel.
    """

    def __init__(self) -> None:
        self.manager: Any = None
        self.used = False

    def ready(self) -> Any:
        """Return a live kernel manager; reset the namespace when a notebook ran before."""
        from jupyter_core.utils import run_sync

        if self.manager is not None and not run_sync(self.manager.is_alive)():
            self.shutdown()  # it died (a notebook crashed it): the next one gets a new kernel
        if self.manager is not None and self.used and not self._reset():
            self.shutdown()  # a kernel that cannot be reset is replaced, never reused dirty
        if self.manager is None:
            self.manager = _kernel_manager_class()(kernel_name=KERNEL_NAME)
            run_sync(self.manager.start_kernel)()
        self.used = True
        return self.manager

    def _reset(self) -> bool:
        """Clear the user namespace (imported modules stay); False when that failed."""
        from jupyter_core.utils import run_sync

        client = self.manager.client()
        try:
            client.start_channels()
            run_sync(client.wait_for_ready)(timeout=60)
            reply = run_sync(client.execute_interactive)(
                "get_ipython().reset(new_session=False)", silent=True, store_history=False,
                timeout=60)
        except Exception as exc:  # timeout, channel error
            log.warning("kernel reset failed (%s: %s): starting a new kernel",
                        type(exc).__name__, exc)
            return False
        return reply["content"].get("status") == "ok"

    def close_clients(self) -> None:
        """Stop the channels of the clients opened since the last call (papermill's too)."""
        if self.manager is not None:
            while self.manager.lane_clients:
                self.manager.lane_clients.pop().stop_channels()

    def shutdown(self) -> None:
        """Stop the kernel (if any) and forget it."""
        from jupyter_core.utils import run_sync

        if self.manager is None:
            return
        self.close_clients()
        with contextlib.suppress(Exception):  # already gone
            run_sync(self.manager.shutdown_kernel)()
        self.manager, self.used = None, False


def _kernel_manager_class() -> type:
    """A jupyter kernel manager that remembers the clients it opens (for the lane to close).

    On POSIX systems it uses IPC (Unix sockets) instead of TCP ports; each kernel gets its own
    socket path prefix in the (user-private) jupyter runtime directory: kernels started at the
    same time must not race for the same socket names.
    """
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import CaselessStrEnum, default

    class LaneKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.lane_clients: list[Any] = []

        def client(self, **kwargs: Any) -> Any:
            kc = super().client(**kwargs)
            self.lane_clients.append(kc)
            return kc

    if os.name != "posix":
        return LaneKernelManager

    class IpcKernelManager(LaneKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _unique_ip(self) -> str:
            runtime = Path(jupyter_runtime_dir())
            runtime.mkdir(parents=True, exist_ok=True)
            return str(runtime / f"zt-kernel-{uuid.uuid4().hex[:12]}")

    return IpcKernelManager


# ------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------
def _section_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


_ANCHOR_LINK = re.compile(r'<a class="anchor-link" href="#[^"]*">¶</a>')
_HEADING = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)</h\1>', re.S)
_LINK = re.compile(r'<a href="([^"]*)"[^>]*>(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]+>")
_ZT_TABLE_HEAD = re.compile(r'<table class="zt">((?:<caption>.*?</caption>)?<thead><tr>.*?</tr>)',
                            re.S)
DENSE_COLUMNS = 8  # a table with this many columns or more is set smaller to fit the page
_ZT_TABLE = re.compile(r'<table class="zt.*?</table>', re.S)
_TEXT = re.compile(r">([^<]+)<")
_LONG_TOKEN = re.compile(r"[^\s<>]{24,}")
_BREAK_AFTER = re.compile(r"([/,:=;.)\]}|])(?=\S)")
_DATA_URI = re.compile(r"data:image/(?:png|jpeg|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}")
_LOGO_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
MAX_LOGO_BYTES = 2 * 1024 * 1024
PLOTLY_MIME, SVG_MIME = "application/vnd.plotly.v1+json", "image/svg+xml"


def logo_data_uri(path: str | os.PathLike[str]) -> str:
    """Read a PNG, JPEG or SVG logo and return it as a ``data:`` URI for the report cover.

    The file type comes from the suffix and must match the content (PNG and JPEG signatures,
    an ``<svg`` element); at most 2 MB. An SVG shown through ``<img>`` cannot run scripts.

    Raises
    ------
    ReportError
        When the file cannot be read, is too large, or is not what its suffix says.

    Examples
    --------
    >>> logo_data_uri("examples/northwind-logo.svg")[:26]
    'data:image/svg+xml;base64,'
    """
    import base64

    from zt_toolkit.config import LOGO_TYPES

    logo = Path(path)
    mime = LOGO_TYPES.get(logo.suffix.lower())
    if mime is None:
        raise ReportError(f"logo {logo}: only {', '.join(sorted(LOGO_TYPES))} files are accepted")
    try:
        data = logo.read_bytes()
    except OSError as exc:
        raise ReportError(f"logo {logo}: cannot read it ({exc})") from exc
    if len(data) > MAX_LOGO_BYTES:
        raise ReportError(f"logo {logo}: {len(data)} bytes, more than the 2 MB a cover needs")
    magic = _LOGO_MAGIC.get(mime)
    if (magic is not None and not data.startswith(magic)) or (
            mime == SVG_MIME and b"<svg" not in data[:8192]):
        raise ReportError(f"logo {logo}: the content of the file is not {mime}")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _css_string(text: Any, limit: int = 80) -> str:
    """Return a CSS string literal for a running header.

    Every character but ASCII letters, digits and spaces is written as a hex escape, so no
    value can end the string or the style element.
    """
    value = " ".join(str(text or "").split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    out = []
    for ch in value:
        out.append(ch if (ch.isascii() and ch.isalnum()) or ch == " " else f"\\{ord(ch):x} ")
    return '"' + "".join(out) + '"'


def _page_css(meta: dict[str, Any]) -> str:
    left = " · ".join(str(v) for v in (meta.get("consultancy"), meta.get("client")) if v)
    bottom = f"Zero-trust security assessment · {meta.get('cluster') or ''}".rstrip(" ·")
    return ("@page { "
            f"@top-left {{ content: {_css_string(left)}; }} "
            f"@top-right {{ content: {_css_string(meta.get('classification'), 60)}; }} "
            f"@bottom-left {{ content: {_css_string(bottom)}; }} }}")


def _long_date(value: Any) -> str:
    """``2026-11-27`` → ``27 November 2026``; with a time, ``…, 09:00 UTC``; else as given."""
    text = str(value or "")
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    day = f"{stamp.day} {stamp:%B %Y}"
    if len(text) <= 10:
        return day
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC)
        return f"{day}, {stamp:%H:%M} UTC"
    return f"{day}, {stamp:%H:%M}"


def _prefer_static_charts(nb: nbformat.NotebookNode) -> None:
    """A chart with an SVG is shown as that SVG, never as interactive HTML (which needs JS)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if PLOTLY_MIME in data and SVG_MIME in data:
                data.pop("text/html", None)


def _polish_section(body: str, section_id: str) -> tuple[str, list[dict[str, str]]]:
    """Make one notebook's HTML a report section; return it and its h2 headings.

    nbconvert's ``¶`` anchor links go; heading ids get the section as prefix (every pillar has
    a "What we found"); a link to a heading of the same notebook follows it; links that leave
    the document become their text, with a web address shown after it. In tables, wide ones
    are marked ``dense`` and long tokens (commands, ARNs, JSON) get break opportunities
    (``<wbr>``) after ``/ , : = ; .`` and closing brackets, so they wrap there instead of
    widening the table past the page.
    """
    body = _ANCHOR_LINK.sub("", body)
    local: set[str] = set()
    headings: list[dict[str, str]] = []

    def heading(m: re.Match[str]) -> str:
        level, old, inner = m.groups()
        new = f"{section_id}--{old}"
        local.add(old)
        if level == "2":
            text = html.unescape(_TAG.sub("", inner)).strip()
            headings.append({"id": new, "text": text})
        return f'<h{level} id="{new}">{inner}</h{level}>'

    body = _HEADING.sub(heading, body)

    def link(m: re.Match[str]) -> str:
        href, inner = m.groups()
        if href.startswith("#"):
            target = href[1:]
            return (f'<a href="#{section_id}--{target}">{inner}</a>' if target in local
                    else inner)
        if href.startswith(("http://", "https://")) and html.unescape(href) not in \
                html.unescape(_TAG.sub("", inner)):
            return f'{inner} <span class="url">({href})</span>'
        return inner

    def dense(m: re.Match[str]) -> str:
        klass = "zt dense" if m.group(1).count("<th") >= DENSE_COLUMNS else "zt"
        return f'<table class="{klass}">{m.group(1)}'

    def soft_breaks(m: re.Match[str]) -> str:  # table text only: never inside SVG or a tag
        return _TEXT.sub(lambda t: ">" + _LONG_TOKEN.sub(
            lambda w: _BREAK_AFTER.sub(r"\1<wbr>", w.group(0)), t.group(1)) + "<", m.group(0))

    body = _ZT_TABLE.sub(soft_breaks, _ZT_TABLE_HEAD.sub(dense, body))
    return _LINK.sub(link, body), headings


def render_html(notebook_paths: list[Path], meta: dict[str, Any]) -> str:
    """Combine executed notebooks into one self-contained, print-ready HTML report.

    The page is an A4 document: a cover (consultancy name and logo, client, cluster, date,
    snapshot time, classification, overall score and maturity stage), a contents page (each
    notebook's title and its h2 headings, as links), then one section per notebook in the
    order given (the executive summary first, the appendix last), each starting on a new page
    with the notebook's h1 as its title. CSS margin boxes carry the running header
    (consultancy · client, classification) and "Page N of M". There is no code, no stderr, no
    prompt, no anchor link and no external resource; the Content-Security-Policy allows no
    script unless a notebook output is interactive plotly.js (which a PDF never needs: charts
    with an SVG are always shown as the SVG).

    Parameters
    ----------
    notebook_paths
        Executed notebooks, in report order.
    meta
        What the cover and header show: ``client``, ``consultancy``, ``classification``,
        ``cluster``, ``cluster_arn``, ``region``, ``account``, ``k8s_version``, ``date``,
        ``collected_at``, ``source``, ``version``, ``generated``, ``score`` (0–100 or None),
        ``stage`` (label), ``coverage`` (0–1), and ``logo`` (a file) or ``logo_data_uri``.
        Missing keys are empty. Every value is escaped by the page template; notebook outputs
        are inserted as the notebooks produced them (their tables and narrative escape
        cluster data themselves).

    Returns
    -------
    str
        The HTML page.

    Examples
    --------
    >>> page = render_html(sorted(Path("reports/acme-shop/2026-11-27").glob("*.ipynb")),
    ...                    {"client": "Acme Shop", "cluster": "prod"})      # doctest: +SKIP
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="zt_section", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    sections = []
    for path in map(Path, notebook_paths):
        nb = nbformat.read(path, as_version=4)
        _prefer_static_charts(nb)
        section_id = f"section-{path.stem}"
        body, _ = exporter.from_notebook_node(nb)
        body, headings = _polish_section(body, section_id)
        sections.append({"id": section_id, "title": _section_title(nb, path.stem),
                         "body": body, "headings": headings})
    ctx: dict[str, Any] = dict.fromkeys(
        ("client", "consultancy", "classification", "cluster", "cluster_arn", "region",
         "account", "k8s_version", "date", "collected_at", "source", "version", "generated",
         "stage"), "")
    ctx.update({k: v for k, v in meta.items() if v is not None})
    uri = str(meta.get("logo_data_uri") or "")
    if not uri and meta.get("logo"):
        try:
            uri = logo_data_uri(meta["logo"])
        except ReportError as exc:  # a bad logo costs the cover its logo, not the report
            log.warning("%s; the cover is printed without it", exc)
    ctx["logo_data_uri"] = uri if _DATA_URI.fullmatch(uri) else ""
    score = meta.get("score")
    ctx["score_text"] = "" if score is None or score != score else str(round(float(score)))
    coverage = meta.get("coverage")
    ctx["coverage_text"] = ("" if coverage is None or coverage != coverage
                            else f"{round(float(coverage) * 100)} %")
    ctx["stage_class"] = re.sub(r"[^a-z]+", "-", str(ctx["stage"]).lower()).strip("-") or "none"
    ctx["date_long"] = _long_date(ctx["date"])
    ctx["collected_long"] = _long_date(ctx["collected_at"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.get_template("report.html.j2")
    allow_scripts = any("<script" in s["body"] for s in sections)
    return page.render(sections=sections, css=(TEMPLATES / "report.css").read_text(),
                       page_css=_page_css(ctx), allow_scripts=allow_scripts, **ctx)


# ------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------
def write_report(
    snapshot_path: str | os.PathLike[str],
    client: str,
    config: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    parallel: int = 2,
    notebooks: tuple[str, ...] = NOTEBOOKS,
    previous: str | os.PathLike[str] | None = None,
    pdf: bool = True,
) -> Path:
    """Assess a snapshot and write the client's report folder; return that folder.

    Parameters
    ----------
    snapshot_path
        Snapshot directory or archive (the missing default demo path is built, as in the
        notebooks).
    client
        Client name: title of the report and, as a slug, the folder and PDF name.
    config
        Engagement config YAML (waivers, severity overrides, segmentation intents, logo …).
    out
        Root of the reports (default ``reports`` in the working directory); the report goes to
        ``<out>/<client-slug>/<YYYY-MM-DD>/`` (the date is the config's ``today``). An existing
        folder of the same day is replaced once the new one is complete; an incomplete run
        (a notebook failed, or the PDF could not be printed) goes to
        ``<YYYY-MM-DD>.incomplete/`` instead and never replaces a complete report.
    parallel
        Notebooks executed at the same time (2 suits a 2-core machine).
    notebooks
        Which notebooks make the report, in order (default: all eight; the templates are
        read from :func:`notebooks_dir`).
    previous
        A previous report folder or findings file: adds "since the last assessment" to the
        summary and ``changes`` to summary.json.
    pdf
        Print ``<client-slug>.pdf`` (needs Chrome, Edge or Chromium).

    Raises
    ------
    ReportError
        When a notebook fails: the message names each failing notebook, the cell index and
        the exception. The findings files and the executed notebooks are still written, to
        ``<YYYY-MM-DD>.incomplete/`` (without ``report.html`` and the PDF).
    BrowserNotFoundError
        When ``pdf`` is set and no browser is found. Everything else, ``report.html``
        included, is in ``<YYYY-MM-DD>.incomplete/``.
    """
    from zt_toolkit.assessment import assess
    from zt_toolkit.report import pdf as pdf_export
    from zt_toolkit.report.notebook import (
        ASSESSMENT_CACHE_ENV,
        cache_key,
        engagement_config,
        ensure_snapshot,
        share_assessment,
    )

    started = time.perf_counter()
    snapshot = ensure_snapshot(Path(snapshot_path)).resolve()
    config_path = Path(config).resolve() if config else None
    previous_path = Path(previous).resolve() if previous else None
    if previous_path is not None:
        from zt_toolkit.diff import load_findings

        load_findings(previous_path)  # a bad previous assessment fails before any notebook runs
    cfg = engagement_config(config_path, client)
    assessment = assess(snapshot, cfg)
    browser, no_browser = None, None
    try:
        browser = pdf_export.find_browser()
    except BrowserNotFoundError as exc:
        no_browser = exc
    day = cfg.today.isoformat()
    slug = client_slug(client)
    final = (Path(out or "reports") / slug / day).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{day}.partial-", dir=final.parent))
    private = Path(tempfile.mkdtemp(prefix="zt-report-"))  # 0700: the kernels' shared state
    pdf_error: ReportError | None = None
    try:
        write_findings(assessment.findings, work)
        write_findings_xlsx(assessment.findings, work / "findings.xlsx")
        write_summary_json(build_summary(assessment, previous_path), work / "summary.json")
        log.info("assessment and exports: %.1f s", time.perf_counter() - started)
        # with a browser, kernels emit plotly JSON only and this process draws SVG once;
        # without one, the charts are inlined as interactive plotly.js (HTML only)
        shared = private / "assessment.pickle"
        share_assessment(assessment, cache_key(snapshot, config_path, client), shared)
        with _environment(PLOTLY_RENDERER="plotly_mimetype" if browser
                          else "plotly_mimetype+notebook", **{ASSESSMENT_CACHE_ENV: str(shared)}):
            runs = execute_notebooks(
                {"snapshot": str(snapshot), "client": client,
                 "config": str(config_path) if config_path else None,
                 "output_dir": str(work)},
                work, names=notebooks, parallel=parallel,
                extra={SUMMARY_NOTEBOOK: {"previous": str(previous_path)
                                          if previous_path else None}})
        failed = [r for r in runs if r.error]
        if not failed:
            paths = [r.path for r in runs]
            if browser:
                step = time.perf_counter()
                charts = pdf_export.add_static_charts(paths, browser)
                log.info("%d charts drawn as SVG: %.1f s", charts, time.perf_counter() - step)
            html_path = work / "report.html"
            html_path.write_text(render_html(paths, _cover(assessment, client)),
                                 encoding="utf-8")
            if pdf and browser:
                step = time.perf_counter()
                try:
                    pdf_export.print_pdf(html_path, work / f"{slug}.pdf", browser=browser)
                except ReportError as exc:  # keep everything else: the HTML is the fallback
                    pdf_error = exc
                log.info("PDF printed: %.1f s", time.perf_counter() - step)
            elif pdf:
                pdf_error = no_browser
        if failed or pdf_error:  # never replace a complete report by an incomplete one
            final = final.with_name(f"{day}.incomplete")
        move_into_place(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(private, ignore_errors=True)
    total = time.perf_counter() - started
    log.info("report for %s written to %s in %.1f s (notebooks: %s)", client, final, total,
             ", ".join(f"{r.name} {r.seconds:.1f}s" for r in runs))
    if failed:
        raise ReportError(
            "the report was not written because " + "; ".join(r.error or "" for r in failed)
            + f". The findings files and the executed notebooks are in {final}.")
    if pdf_error is not None:
        raise type(pdf_error)(f"{pdf_error}\nOnly the PDF was skipped: report.html and the "
                              f"other files are in {final}.")
    return final


def _cover(assessment: Any, client: str) -> dict[str, Any]:
    """What the cover and the running header show (escaped by the page template)."""
    from zt_toolkit import __version__
    from zt_toolkit.report.scores import score_overall, stage_label

    cfg = assessment.config
    cluster = assessment.snapshot.cluster
    overall = score_overall(assessment.findings)
    return {
        "client": client, "consultancy": cfg.consultancy, "classification": cfg.classification,
        "logo": cfg.logo, "cluster": cluster.name, "cluster_arn": cluster.arn or "",
        "region": cluster.region or "", "account": cluster.account_id or "",
        "k8s_version": cluster.version or "", "date": cfg.today.isoformat(),
        "collected_at": assessment.snapshot.manifest.collected_at,
        "source": assessment.snapshot.source, "version": __version__,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "score": overall["score"], "stage": stage_label(overall["stage"]),
    }


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables (inherited by the kernels) for the duration of a block."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def move_into_place(work: Path, final: Path) -> None:
    """Replace ``final`` by ``work`` (same file system: two renames; ``final`` may not exist)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
