"""Run the seven notebooks and write the report folder: ``write_*`` → files.

:func:`write_report` is what ``zt report SNAPSHOT --client NAME [--config F] [--out DIR]`` calls.
It writes, into ``<out>/<client-slug>/<YYYY-MM-DD>/``::

    findings.csv, findings.json     every finding (written first, even if a notebook fails)
    00_summary.ipynb … 06_audit.ipynb   the executed notebooks (papermill)
    report.html                     one self-contained page: title block, contents, one section
                                    per notebook, no code, no external resources

Everything is produced in a temporary folder next to the destination and moved into place at
the end, so a half-written report never sits where a consultant would pick it up.

Examples
--------
>>> from zt_toolkit.report import write_report
>>> write_report("reports/demo-snapshot", "Acme Shop")     # doctest: +SKIP
PosixPath('reports/acme-shop/2026-11-27')
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from zt_toolkit.checks.model import FINDINGS_COLUMNS
from zt_toolkit.errors import ReportError

if TYPE_CHECKING:  # nbformat pulls in jsonschema: 2 s of import a notebook kernel can skip
    import nbformat

log = logging.getLogger(__name__)

NOTEBOOKS = ("00_summary", "01_network", "02_identity", "03_pod_security", "04_images",
             "05_secrets", "06_audit")
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
# findings files
# ------------------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def write_findings(findings: pd.DataFrame, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``findings.csv`` and ``findings.json`` (a list of objects, the findings columns).

    Each file is written next to its destination and renamed into place. Returns both paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = findings[list(FINDINGS_COLUMNS)]
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    payload = orjson.dumps(records, default=_json_default,
                           option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    csv_path, json_path = out / "findings.csv", out / "findings.json"
    _atomic_write(csv_path, frame.to_csv(index=False).encode("utf-8"))
    _atomic_write(json_path, payload + b"\n")
    return [csv_path, json_path]


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
) -> list[NotebookRun]:
    """Execute notebooks with papermill into ``out_dir``, ``parallel`` kernels at a time.

    The kernel is ``python3`` of the running environment (``JUPYTER_PREFER_ENV_PATH`` makes
    jupyter prefer this environment's kernelspec over a user-wide one). On POSIX systems it
    talks over Unix domain sockets in the user's runtime directory rather than loopback TCP
    ports, which other local users could reach. A failing notebook does not stop the others;
    its :class:`NotebookRun` carries the error text (notebook, cell index, exception).
    """
    import papermill as pm

    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
    source_dir = source_dir or notebooks_dir()
    missing = [n for n in names if not (source_dir / f"{n}.ipynb").is_file()]
    if missing:
        raise ReportError(f"notebook template(s) not found in {source_dir}: {', '.join(missing)}")

    def run(name: str) -> NotebookRun:
        result = NotebookRun(name, out_dir / f"{name}.ipynb")
        start = time.perf_counter()
        try:
            pm.execute_notebook(
                str(source_dir / f"{name}.ipynb"), str(result.path), parameters=parameters,
                # no cwd=: papermill would chdir the whole process, which races between the
                # parallel runs; every path handed to the notebooks is absolute instead
                kernel_name=KERNEL_NAME, progress_bar=False, log_output=False,
                request_save_on_cell_execute=False, execution_timeout=timeout,
                **({"kernel_manager_class": _ipc_kernel_manager()} if os.name == "posix" else {}),
            )
        except pm.PapermillExecutionError as exc:
            first = (exc.source or "").strip().splitlines()[:1]
            code = f" `{first[0][:80]}`" if first else ""
            result.error = (f"{name}.ipynb failed in cell {exc.cell_index}{code}: "
                            f"{exc.ename}: {exc.evalue}")
        except Exception as exc:  # kernel died, timeout, unreadable template …
            result.error = f"{name}.ipynb could not be executed: {type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - start
        log.info("notebook %s: %.1f s%s", name, result.seconds,
                 f" (FAILED: {result.error})" if result.error else "")
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(run, names))


def _ipc_kernel_manager() -> type:
    """A jupyter kernel manager that uses IPC (Unix sockets) instead of TCP ports.

    Each kernel gets its own socket path prefix in the (user-private) jupyter runtime
    directory: kernels started at the same time must not race for the same socket names.
    """
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import CaselessStrEnum, default

    class IpcKernelManager(AsyncKernelManager):
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


def render_html(notebook_paths: list[Path], meta: dict[str, Any]) -> str:
    """Combine executed notebooks into one self-contained HTML page without code cells.

    ``meta`` fills the title block (client, cluster, date, classification, …); every value is
    escaped by the page template, and notebook outputs are inserted as produced by the
    notebooks (whose tables and narrative escape cluster data themselves).
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="zt_section", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    sections = []
    for path in notebook_paths:
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(nb)
        sections.append({"id": f"section-{path.stem}", "title": _section_title(nb, path.stem),
                         "body": body})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.get_template("report.html.j2")
    allow_scripts = any("<script" in s["body"] for s in sections)
    return page.render(sections=sections, css=(TEMPLATES / "report.css").read_text(),
                       allow_scripts=allow_scripts, **meta)


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
) -> Path:
    """Assess a snapshot and write the client's report folder; return that folder.

    Parameters
    ----------
    snapshot_path
        Snapshot directory or archive (the missing default demo path is built, as in the
        notebooks).
    client
        Client name: title of the report and, as a slug, the folder name.
    config
        Engagement config YAML (waivers, severity overrides, segmentation intents …).
    out
        Root of the reports (default ``reports`` in the working directory); the report goes to
        ``<out>/<client-slug>/<YYYY-MM-DD>/`` (the date is the config's ``today``). An existing
        folder of the same day is replaced.
    parallel
        Notebooks executed at the same time (2 suits a 2-core machine).
    notebooks
        Which notebooks make the report, in order (default: all seven; the templates are
        read from :func:`notebooks_dir`).

    Raises
    ------
    ReportError
        When a notebook fails: the message names each failing notebook, the cell index and
        the exception. The findings files and the executed notebooks are still written to the
        report folder (without ``report.html``).
    """
    from zt_toolkit import __version__
    from zt_toolkit.assessment import assess
    from zt_toolkit.report.notebook import engagement_config, ensure_snapshot

    started = time.perf_counter()
    snapshot = ensure_snapshot(Path(snapshot_path)).resolve()
    config_path = Path(config).resolve() if config else None
    cfg = engagement_config(config_path, client)
    assessment = assess(snapshot, cfg)
    day = cfg.today.isoformat()
    final = (Path(out or "reports") / client_slug(client) / day).resolve()
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{day}.partial-", dir=final.parent))
    try:
        write_findings(assessment.findings, work)
        log.info("assessment and findings: %.1f s", time.perf_counter() - started)
        runs = execute_notebooks(
            {"snapshot": str(snapshot), "client": client,
             "config": str(config_path) if config_path else None, "output_dir": str(work)},
            work, names=notebooks, parallel=parallel)
        failed = [r for r in runs if r.error]
        if not failed:
            cluster = assessment.snapshot.cluster
            html_text = render_html([r.path for r in runs], {
                "client": client, "consultancy": cfg.consultancy,
                "classification": cfg.classification, "cluster": cluster.name,
                "region": cluster.region or "", "account": cluster.account_id or "",
                "k8s_version": cluster.version or "", "date": day,
                "collected_at": assessment.snapshot.manifest.collected_at,
                "source": assessment.snapshot.source, "version": __version__,
                "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            })
            (work / "report.html").write_text(html_text, encoding="utf-8")
        _move_into_place(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    total = time.perf_counter() - started
    log.info("report for %s written to %s in %.1f s (notebooks: %s)", client, final, total,
             ", ".join(f"{r.name} {r.seconds:.1f}s" for r in runs))
    if failed:
        raise ReportError(
            "the report was not written because " + "; ".join(r.error or "" for r in failed)
            + f". The findings files and the executed notebooks are in {final}.")
    return final


def _move_into_place(work: Path, final: Path) -> None:
    """Replace ``final`` by ``work`` (same file system: two renames)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
