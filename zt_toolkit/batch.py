"""Reports for many clients in one run: ``zt batch clients.yaml [--jobs N] [--out DIR]``.

The batch file lists the clients; relative paths are read from the batch file's folder::

    clients:
      - client: Acme Shop
        snapshot: snapshots/acme-shop.tar.gz
        config: configs/acme-shop.yaml              # optional
        previous: ../reports/acme-shop/2026-08-03   # optional: last report folder or findings
      - client: Globex Corporation
        snapshot: snapshots/globex

Each client's report is written by :func:`~zt_toolkit.report.render.write_report` in a process
of its own, ``jobs`` clients at a time, each running its notebooks one kernel at a time (so
``jobs=2`` keeps both cores of a 2-core machine busy). A client that fails — a damaged or
missing snapshot, a missing config, a failing notebook, a worker process that crashes — is
recorded with its error message and the other clients go on.

No half report is ever left behind. Every worker writes into a staging folder of its own under
``out`` (``.batch-*``, on the same file system), and only a complete report is moved into
``<out>/<client-slug>/<YYYY-MM-DD>/``. A failed client leaves nothing: its staging folder is
removed, and a report of the same client and day from an earlier run stays as it was. Client
names reach the file system only through :func:`~zt_toolkit.report.render.client_slug` (one
safe path component), and two clients whose names give the same folder are refused up front.

At the end ``out`` gets ``batch-summary.csv`` and ``batch-summary.html``: one row per client
with its status, report folder, overall score, maturity stage, failing checks, error and
time. Each worker's log (notebook timings, the traceback of a failure) is kept in
``<out>/batch-logs/<client-slug>.log``; when a notebook fails, what the run wrote (findings,
the executed notebooks with the error) is kept in ``<out>/batch-logs/<client-slug>-failed/``.

Examples
--------
>>> from zt_toolkit.batch import load_batch, run_batch
>>> clients = load_batch("clients.yaml")                          # doctest: +SKIP
>>> result = run_batch(clients, "reports", jobs=2)                 # doctest: +SKIP
>>> [(r.client, r.status) for r in result.results]                 # doctest: +SKIP
[('Acme Shop', 'ok'), ('Globex Corporation', 'failed')]
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import yaml

from zt_toolkit.errors import ConfigError, ZtError
from zt_toolkit.report.export import atomic_write, defuse_formula
from zt_toolkit.report.render import client_slug, move_into_place

log = logging.getLogger(__name__)

ENTRY_KEYS = ("client", "snapshot", "config", "previous")
SUMMARY_COLUMNS = ("client", "status", "report", "score", "stage", "failing_checks", "error",
                   "seconds")
LOG_FOLDER = "batch-logs"
# imported once by the fork server, so that each worker forked from it starts warm
_PRELOAD = ["zt_toolkit.batch", "zt_toolkit.report.render", "zt_toolkit.assessment",
            "zt_toolkit.report.export", "zt_toolkit.report.pdf", "papermill", "nbconvert",
            "nbformat"]


# ------------------------------------------------------------------------------------------
# the batch file
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchClient:
    """One entry of the batch file, its paths made absolute."""

    client: str
    snapshot: Path
    config: Path | None = None
    previous: Path | None = None

    @property
    def slug(self) -> str:
        """The client's folder name under ``out`` (see :func:`client_slug`)."""
        return client_slug(self.client)


def load_batch(path: str | os.PathLike[str]) -> list[BatchClient]:
    """Read and validate a batch file; every problem is reported at once.

    Parameters
    ----------
    path
        YAML file with a ``clients:`` list. Each entry has ``client`` and ``snapshot``
        (required) and ``config`` and ``previous`` (optional). Relative paths are taken from
        the batch file's folder, ``~`` is expanded. Whether the files exist is not checked
        here: a missing snapshot or config fails that client alone when the batch runs.

    Returns
    -------
    list of BatchClient
        In the order of the file.

    Raises
    ------
    ConfigError
        Naming the file, then each problem with the entry's index and client: an unreadable
        file, a missing ``clients`` list, a missing or empty key, an unknown key (``out`` is
        refused: every report goes under the batch's output folder), a value that is not a
        string, and two clients whose names give the same folder.

    Examples
    --------
    >>> from zt_toolkit.batch import load_batch
    >>> clients = load_batch("examples/clients.yaml")                 # doctest: +SKIP
    >>> clients[0].client, clients[0].slug                            # doctest: +SKIP
    ('Acme Shop', 'acme-shop')
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the batch file ({exc})") from exc
    if not isinstance(data, dict) or "clients" not in data:
        raise ConfigError(f"{path}: a batch file is a mapping with a `clients:` list")
    unknown = [k for k in data if k != "clients"]
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(map(repr, unknown))} "
                          "(a batch file has only `clients:`)")
    entries = data["clients"]
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: `clients` must be a non-empty list")

    base = path.absolute().parent
    problems: list[str] = []
    clients: list[BatchClient] = []
    folders: dict[str, tuple[int, str]] = {}
    for i, raw in enumerate(entries):
        where = f"clients[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping with client and snapshot, "
                            f"got {type(raw).__name__}")
            continue
        name = raw.get("client")
        if isinstance(name, str) and name.strip():
            where += f" ({name!r})"
        found = _entry_problems(raw)
        paths: dict[str, Path] = {}
        for key in ("snapshot", "config", "previous"):
            value = raw.get(key)
            if key not in raw or isinstance(value, str) and "\0" in value:
                continue  # reported by _entry_problems
            if value is None and key != "snapshot":
                continue  # `config:` left empty: none
            if not isinstance(value, str) or not value.strip():
                found.append(f"{key} must be a path (a non-empty string)")
                continue
            p = Path(value).expanduser()
            paths[key] = p if p.is_absolute() else base / p
        if found:
            problems += [f"{where}: {p}" for p in found]
            continue
        slug = client_slug(name)
        if slug in folders:
            first, other = folders[slug]
            problems.append(f"{where}: writes to the same folder {slug!r} as clients[{first}] "
                            f"({other!r}); give the clients names that differ in their "
                            "letters or digits")
            continue
        folders[slug] = (i, name)
        clients.append(BatchClient(client=name, **paths))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return clients


def _entry_problems(raw: dict[Any, Any]) -> list[str]:
    found = []
    for key in raw:
        if key == "out":
            found.append("'out' is not allowed per client: every report goes to "
                         "<out>/<client>/<date> under the batch's --out folder")
        elif key not in ENTRY_KEYS:
            found.append(f"unknown key {key!r} (allowed: {', '.join(ENTRY_KEYS)})")
    name = raw.get("client")
    if not isinstance(name, str) or not name.strip():
        found.append("client is required (a non-empty string; quote names YAML would read "
                     "as numbers or dates)")
    if "snapshot" not in raw:
        found.append("snapshot is required")
    for key in ENTRY_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and "\0" in value:
            found.append(f"{key} contains a NUL character")
    return found


# ------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------
@dataclass
class ClientResult:
    """What became of one client: ``status`` is ``ok`` or ``failed`` once the batch is done."""

    client: str
    slug: str
    status: str = "queued"  # queued → running → ok | failed
    report: Path | None = None
    error: str | None = None
    seconds: float = 0.0
    score: float | None = None
    stage: str | None = None
    failing_checks: int | None = None
    log: Path | None = None
    started: float | None = field(default=None, repr=False)


@dataclass
class BatchResult:
    """All clients of a batch, in the order of the batch file, and the summary files."""

    out: Path
    results: list[ClientResult]
    seconds: float
    summary_csv: Path
    summary_html: Path

    @property
    def failed(self) -> list[ClientResult]:
        """The clients whose report was not written."""
        return [r for r in self.results if r.status != "ok"]

    @property
    def ok(self) -> bool:
        """True when every client's report was written."""
        return not self.failed


# ------------------------------------------------------------------------------------------
# running
# ------------------------------------------------------------------------------------------
Worker = Callable[[BatchClient, Path, bool], "str | os.PathLike[str]"]


def report_worker(client: BatchClient, staging: Path, pdf: bool) -> Path:
    """Write one client's report under ``staging`` (runs in the worker process)."""
    from zt_toolkit.report.render import write_report

    return write_report(client.snapshot, client.client, client.config, staging,
                        previous=client.previous, pdf=pdf, parallel=1)


def run_batch(
    clients: Iterable[BatchClient],
    out: str | os.PathLike[str],
    *,
    jobs: int = 2,
    pdf: bool = True,
    progress: bool = True,
) -> BatchResult:
    """Write every client's report, ``jobs`` processes at a time, and the batch summary.

    Parameters
    ----------
    clients
        From :func:`load_batch`.
    out
        Root of the reports: ``<out>/<client-slug>/<YYYY-MM-DD>/`` per client, and
        ``batch-summary.csv``, ``batch-summary.html`` and ``batch-logs/`` for the batch.
    jobs
        Clients reported at the same time, each in its own process running one notebook
        kernel at a time.
    pdf
        Print each report to PDF. A missing browser stops the batch before it starts (rather
        than failing every client).
    progress
        Show a live table (client, queued/running/done/failed, seconds) on a terminal; off the
        terminal, or with ``False``, one log line per finished client instead.

    Returns
    -------
    BatchResult
        One :class:`ClientResult` per client; a failed client has ``status == "failed"`` and
        an ``error`` naming what went wrong. Failures are not raised.

    Raises
    ------
    BrowserNotFoundError
        ``pdf`` is set and no Chrome, Edge or Chromium is found.

    Examples
    --------
    >>> from zt_toolkit.batch import load_batch, run_batch
    >>> result = run_batch(load_batch("clients.yaml"), "reports", pdf=False)  # doctest: +SKIP
    >>> result.ok, result.summary_html.name                                   # doctest: +SKIP
    (True, 'batch-summary.html')
    """
    if pdf:
        _check_browser()
    return _run_all(list(clients), Path(out), jobs=jobs, pdf=pdf, progress=progress,
                    worker=report_worker)


def _check_browser() -> None:
    """Fail before any work when the PDFs cannot be printed (rather than once per client)."""
    from zt_toolkit.report.pdf import BrowserNotFoundError, find_browser

    try:
        find_browser()
    except BrowserNotFoundError as exc:
        raise BrowserNotFoundError(
            f"The batch was not started: {exc}\nOr run the batch without PDFs (--no-pdf)."
        ) from exc


@dataclass
class _Job:
    client: BatchClient
    result: ClientResult
    process: Any  # multiprocessing Process of the context in use
    conn: Connection
    staging: Path


def _run_all(clients: list[BatchClient], out: Path, *, jobs: int, pdf: bool, progress: bool,
             worker: Worker) -> BatchResult:
    """The scheduler: one fresh process per client, at most ``jobs`` alive at a time."""
    started = time.perf_counter()
    slugs = [c.slug for c in clients]
    if len(set(slugs)) != len(slugs):
        raise ConfigError("two clients of the batch would write the same folder")
    out = out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    logs = out / LOG_FOLDER
    logs.mkdir(exist_ok=True)
    ctx = _mp_context()
    staging_root = Path(tempfile.mkdtemp(prefix=".batch-", dir=out))
    results = [ClientResult(c.client, c.slug) for c in clients]
    queue = deque(zip(clients, results, strict=True))
    running: list[_Job] = []
    env, cwd = dict(os.environ), os.getcwd()
    try:
        with _Display(results, enabled=progress) as display:
            while queue or running:
                while queue and len(running) < max(1, jobs):
                    client, result = queue.popleft()
                    running.append(_start(ctx, worker, client, result, staging_root, pdf,
                                          logs, env, cwd))
                wait([j.conn for j in running] + [j.process.sentinel for j in running],
                     timeout=1.0)
                for job in [j for j in running if j.conn.poll() or not j.process.is_alive()]:
                    running.remove(job)
                    _finish(job, out, quiet=display.live is not None)
    finally:
        for job in running:  # interrupted: stop the workers, then clean up
            _stop(job.process)
        shutil.rmtree(staging_root, ignore_errors=True)
    csv_path, html_path = write_batch_summary(results, out,
                                              seconds=time.perf_counter() - started)
    return BatchResult(out, results, time.perf_counter() - started, csv_path, html_path)


def _mp_context() -> Any:
    """``forkserver`` where available (POSIX), else ``spawn``; never plain ``fork``.

    Forking the parent would copy its threads' locks (rich's live display, logging) into a
    child that then starts kernels and browsers. A fork server is a clean single-threaded
    process that has imported the report stack once, so each worker starts in milliseconds
    instead of the ~2 s that ``spawn`` spends importing pandas, papermill and nbconvert.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _start(ctx: Any, worker: Worker, client: BatchClient, result: ClientResult,
           staging_root: Path, pdf: bool, logs: Path, env: dict[str, str], cwd: str) -> _Job:
    staging = staging_root / client.slug
    staging.mkdir()
    result.log = logs / f"{client.slug}.log"
    shutil.rmtree(logs / f"{client.slug}-failed", ignore_errors=True)  # from an earlier run
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, name=f"zt-batch-{client.slug}",
                          args=(sender, worker, client, staging, pdf, result.log, env, cwd))
    result.status, result.started = "running", time.perf_counter()
    process.start()
    sender.close()  # the child holds its own copy: EOF here once it is gone
    log.debug("started %s (pid %s)", client.client, process.pid)
    return _Job(client, result, process, receiver, staging)


def _child(conn: Connection, worker: Worker, client: BatchClient, staging: Path, pdf: bool,
           log_path: Path, env: dict[str, str], cwd: str) -> None:
    """Body of a worker process: same environment as the parent, output to the client's log."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)  # kernels and browsers started from here inherit these descriptors
    os.dup2(fd, 2)
    os.close(fd)
    logging.basicConfig(level=logging.INFO, force=True, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        path = worker(client, staging, pdf)
        conn.send({"report": str(path)})
    except BaseException as exc:  # reported to the parent, which carries on with the others
        log.exception("report for %s failed", client.client)
        conn.send({"error": _describe(exc)})
    finally:
        conn.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ZtError):
        return str(exc)  # our messages name the file, notebook or cell
    return f"{type(exc).__name__}: {exc}"


def _finish(job: _Job, out: Path, *, quiet: bool = False) -> None:
    """Collect a finished worker's outcome and move a complete report into place.

    ``quiet``: the live table shows the outcome, so the log line goes to debug level.
    """
    result = job.result
    message = None
    try:
        if job.conn.poll():
            message = job.conn.recv()
    except (EOFError, OSError):
        pass  # the process died before it could answer
    job.conn.close()
    job.process.join(timeout=60)
    if job.process.is_alive():  # answered but hangs on its way out (a stuck browser thread)
        _stop(job.process)
    result.seconds = time.perf_counter() - (result.started or time.perf_counter())
    try:
        if message is None:
            result.error = (f"the worker process crashed ({_exit_text(job.process.exitcode)}); "
                            f"its output is in {result.log}")
        elif "error" in message:
            result.error = _keep_failed_output(job, message["error"])
        else:
            _place(job, Path(message["report"]), out)
    finally:
        shutil.rmtree(job.staging, ignore_errors=True)
    result.status = "failed" if result.error else "ok"
    if result.status == "ok":
        log.log(logging.DEBUG if quiet else logging.INFO, "%s: done in %.1f s → %s",
                result.client, result.seconds, result.report)
    else:
        log.log(logging.DEBUG if quiet else logging.WARNING, "%s: FAILED after %.1f s: %s",
                result.client, result.seconds, result.error)


def _keep_failed_output(job: _Job, error: str) -> str:
    """Keep what a failed report run wrote (findings, executed notebooks) for diagnosis.

    It goes to ``batch-logs/<slug>-failed/``, not to the report folder: a failed run never
    replaces a report. Returns the error message, pointing to the new place.
    """
    built = [p for p in (job.staging / job.client.slug).glob("*")
             if p.is_dir() and not p.name.startswith(".")]
    if len(built) != 1 or job.result.log is None:
        return error
    kept = job.result.log.with_name(f"{job.client.slug}-failed")
    try:
        move_into_place(built[0], kept)
    except OSError:
        return error
    return error.replace(str(built[0]), str(kept))


def _place(job: _Job, built: Path, out: Path) -> None:
    result = job.result
    if not built.is_dir() or built.parent != job.staging / job.client.slug:
        result.error = f"the worker reported an unexpected report folder {built}"
        return
    final = out / job.client.slug / built.name
    try:
        final.parent.mkdir(exist_ok=True)
        move_into_place(built, final)
    except OSError as exc:
        result.error = f"could not move the report into {final}: {exc}"
        return
    result.report = final
    result.score, result.stage, result.failing_checks = read_report_summary(final)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _stop(process: Any) -> None:
    """Interrupt a worker (it cleans up its kernels and temp folders), then kill it.

    After a Ctrl-C on the terminal the workers got the interrupt too: give them a moment
    before interrupting again (which would break into their clean-up).
    """
    process.join(timeout=3)
    if process.is_alive() and process.pid and hasattr(signal, "SIGINT"):
        with contextlib.suppress(OSError):
            os.kill(process.pid, signal.SIGINT)
        process.join(timeout=10)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join()


# ------------------------------------------------------------------------------------------
# summary
# ------------------------------------------------------------------------------------------
def read_report_summary(folder: Path) -> tuple[float | None, str | None, int | None]:
    """Overall score, maturity stage and number of failing checks of a report folder.

    Read from ``summary.json`` (``score.overall``, ``score.stage``, ``counts``); the failing
    checks fall back to ``findings.json`` (distinct checks with an unwaived failure). Anything
    missing or malformed gives ``None`` rather than an error: the report itself was written.
    """
    data = _read_json(folder / "summary.json")
    data = data if isinstance(data, dict) else {}
    score = data.get("score") if isinstance(data.get("score"), dict) else {}
    overall = score.get("overall")
    stage = score.get("stage")
    if isinstance(overall, dict):  # {"score": …, "stage": …} as score_overall returns it
        stage = stage or overall.get("stage")
        overall = overall.get("score")
    counts = data.get("counts") if isinstance(data.get("counts"), dict) else {}
    failing = counts.get("failing_checks")
    if not isinstance(failing, int) or isinstance(failing, bool):
        failing = None
        findings = _read_json(folder / "findings.json")
        if isinstance(findings, list):
            failing = len({f.get("check_id") for f in findings if isinstance(f, dict)
                           and f.get("status") == "fail" and not f.get("waived")})
    overall = float(overall) if isinstance(overall, int | float) and overall == overall else None
    return overall, stage if isinstance(stage, str) else None, failing


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def _rows(results: list[ClientResult], out: Path) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        report = r.report.relative_to(out).as_posix() if r.report else ""
        rows.append({
            "client": r.client, "slug": r.slug, "status": r.status, "report": report,
            "score": None if r.score is None else round(r.score, 1), "stage": r.stage or "",
            "failing_checks": r.failing_checks, "error": r.error or "",
            "seconds": round(r.seconds, 1),
            "html": f"{quote(report)}/report.html" if r.report
            and (r.report / "report.html").is_file() else None,
            "pdf": f"{quote(report)}/{quote(r.slug)}.pdf" if r.report
            and (r.report / f"{r.slug}.pdf").is_file() else None,
        })
    return rows


def write_batch_summary(results: list[ClientResult], out: str | os.PathLike[str], *,
                        seconds: float | None = None) -> tuple[Path, Path]:
    """Write ``batch-summary.csv`` and ``batch-summary.html`` into ``out`` (atomically).

    One row per client: client, status, report folder (relative to ``out``), overall score,
    maturity stage, failing checks, error, seconds. The HTML escapes every value (client
    names and error messages are shown as text) and links each report's HTML and PDF.

    Examples
    --------
    >>> from zt_toolkit.batch import ClientResult, write_batch_summary
    >>> failed = ClientResult("Acme", "acme", "failed", error="snapshot missing")
    >>> write_batch_summary([failed], "reports")                     # doctest: +SKIP
    (PosixPath('…/batch-summary.csv'), PosixPath('…/batch-summary.html'))
    """
    import jinja2

    out = Path(out).absolute()
    rows = _rows(results, out)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: defuse_formula(v) for k, v in row.items()} for row in rows)
    csv_path, html_path = out / "batch-summary.csv", out / "batch-summary.html"
    atomic_write(csv_path, buffer.getvalue().encode("utf-8"))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(_SUMMARY_TEMPLATE).render(
        rows=rows, total=len(rows), failed=sum(r["status"] != "ok" for r in rows),
        seconds=None if seconds is None else round(seconds),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    atomic_write(html_path, html.encode("utf-8"))
    return csv_path, html_path


_SUMMARY_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Batch summary: {{ total - failed }} of {{ total }} reports written</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1f2933; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #d9e2ec;
         vertical-align: top; }
th { background: #f0f4f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok .status { color: #1b7f3b; font-weight: 600; }
.failed .status { color: #b42318; font-weight: 600; }
.error { white-space: pre-wrap; word-break: break-word; max-width: 48rem; }
</style>
</head>
<body>
<h1>Batch summary</h1>
<p>{{ total - failed }} of {{ total }} client reports written{% if failed %},
<strong>{{ failed }} failed</strong>{% endif %}{% if seconds is not none %}
in {{ seconds }} s{% endif %} · {{ generated }}</p>
<table>
<thead><tr><th>Client</th><th>Status</th><th>Report</th><th>Score</th><th>Stage</th>
<th>Failing checks</th><th>Seconds</th><th>Error</th></tr></thead>
<tbody>
{% for r in rows %}<tr class="{{ r.status }}">
<td>{{ r.client }}</td>
<td class="status">{{ r.status }}</td>
<td>{% if r.report %}{{ r.report }}{% if r.html %} · <a href="{{ r.html }}">HTML</a>{% endif %}
{% if r.pdf %} · <a href="{{ r.pdf }}">PDF</a>{% endif %}{% endif %}</td>
<td class="num">{{ r.score if r.score is not none else "" }}</td>
<td>{{ r.stage }}</td>
<td class="num">{{ r.failing_checks if r.failing_checks is not none else "" }}</td>
<td class="num">{{ r.seconds }}</td>
<td class="error">{{ r.error }}</td>
</tr>
{% endfor %}</tbody>
</table>
</body>
</html>
"""


# ------------------------------------------------------------------------------------------
# progress
# ------------------------------------------------------------------------------------------
_STYLES = {"queued": "dim", "running": "yellow", "ok": "green", "failed": "bold red"}
_LABELS = {"ok": "done"}


class _Display:
    """A live table on a terminal: one line per client, refreshed in the background."""

    def __init__(self, results: list[ClientResult], *, enabled: bool) -> None:
        from rich.console import Console

        self.results = results
        console = Console(stderr=True)
        self.live = None
        if enabled and console.is_terminal:
            from rich.live import Live

            self.live = Live(console=console, get_renderable=self._table,
                             refresh_per_second=2, transient=False)

    def __enter__(self) -> _Display:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.refresh()
            self.live.__exit__(*exc)

    def _table(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for name, justify in (("client", "left"), ("status", "left"), ("seconds", "right"),
                              ("", "left")):
            table.add_column(name, justify=justify, overflow="ellipsis", no_wrap=True)
        now = time.perf_counter()
        for r in self.results:
            if r.status == "running" and r.started is not None:
                seconds = f"{now - r.started:.0f}"
            elif r.status in ("ok", "failed"):
                seconds = f"{r.seconds:.1f}"
            else:
                seconds = ""
            if r.status == "failed":
                note = (r.error or "").splitlines()[0] if r.error else ""
            elif r.status == "ok":
                note = " · ".join(x for x in (
                    f"score {r.score:.0f}" if r.score is not None else "", r.stage or "",
                    f"{r.failing_checks} failing checks" if r.failing_checks is not None
                    else "") if x)
            else:
                note = ""
            # Text(): client names and errors are shown as typed, never read as rich markup
            table.add_row(Text(r.client), Text(_LABELS.get(r.status, r.status),
                                               style=_STYLES.get(r.status, "")),
                          Text(seconds), Text(note, style="red" if r.status == "failed" else ""))
        return table
