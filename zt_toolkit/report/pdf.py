"""Static SVG charts and the PDF report, both drawn by one local Chromium-family browser.

Three public pieces, used in this order by :func:`zt_toolkit.report.render.write_report`:

* :func:`find_browser` — the Chrome, Edge or Chromium to use: ``ZT_BROWSER``, ``BROWSER_PATH``,
  ``PATH``, then the usual install paths of Linux, macOS and Windows.
* :func:`add_static_charts` — one kaleido session turns every plotly chart of the executed
  notebooks (``application/vnd.plotly.v1+json``) into vector SVG and writes it back into the
  notebooks, so that nbconvert's HTML (and so the PDF) shows charts without any JavaScript.
* :func:`print_pdf` — prints ``report.html`` to PDF over the DevTools protocol (choreographer)
  with page JavaScript disabled: CSS page size and margin boxes (running header, "Page N of M"),
  backgrounds, PDF bookmarks from the headings, a tagged PDF, and page numbers in the
  contents (a draft print tells where each heading landed; pypdf reads it).

The browser is started with its background networking off (no update checks, no metrics); the
report's own Content-Security-Policy (``default-src 'none'``) keeps the page from loading
anything. Chromium runs without its sandbox, as choreographer starts it (``--no-sandbox``):
that is what works as root in CI and in containers; the page it prints is our own file with
scripts disabled.

Examples
--------
>>> from zt_toolkit.report import pdf
>>> pdf.find_browser()                                              # doctest: +SKIP
'/usr/bin/chromium'
>>> pdf.add_static_charts(sorted(folder.glob("*.ipynb")))           # doctest: +SKIP
21
>>> pdf.print_pdf(folder / "report.html", folder / "acme-shop.pdf")   # doctest: +SKIP
PosixPath('reports/acme-shop/2026-11-27/acme-shop.pdf')
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import logging
import os
import platform
import re
import shutil
import tempfile
import time
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from zt_toolkit.errors import BrowserNotFoundError, ReportError

if TYPE_CHECKING:
    import nbformat

__all__ = ["BrowserNotFoundError", "MIN_CHROME_VERSION", "add_static_charts", "find_browser",
           "print_pdf"]

log = logging.getLogger(__name__)

T = TypeVar("T")

PLOTLY_MIME = "application/vnd.plotly.v1+json"
SVG_MIME = "image/svg+xml"

MIN_CHROME_VERSION = 131
"""Oldest Chrome/Edge/Chromium whose print honours CSS ``@page`` margin boxes (header/footer)."""

ENV_VARS = ("ZT_BROWSER", "BROWSER_PATH")
"""Environment variables naming the browser executable, in the order they are consulted."""

BROWSER_NAMES = ("google-chrome-stable", "google-chrome", "chrome", "chromium",
                 "chromium-browser", "microsoft-edge-stable", "microsoft-edge", "msedge",
                 "brave-browser")
"""Executable names looked up on ``PATH``."""

# Chromium flags that keep the browser from phoning home while it renders or prints.
_QUIET_FLAGS = ("--disable-background-networking", "--disable-component-update",
                "--disable-default-apps", "--disable-domain-reliability",
                "--disable-client-side-phishing-detection", "--no-pings",
                "--disable-features=Translate,OptimizationHints,MediaRouter")
# choreographer's defaults that loosen the same-origin rules; the print tab does not need them.
_RELAXING_FLAGS = frozenset({"--disable-web-security", "--allow-file-access-from-files"})

_TIMEOUT = 180.0  # seconds for one browser job (start, render or print)


# ------------------------------------------------------------------------------------------
# finding the browser
# ------------------------------------------------------------------------------------------
def _is_executable(path: str | os.PathLike[str]) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def install_paths(system: str | None = None) -> list[str]:
    """The usual install locations of Chrome, Edge, Chromium and Brave on this platform.

    Examples
    --------
    >>> "/usr/bin/chromium" in install_paths("Linux")
    True
    """
    system = system or platform.system()
    if system == "Windows":
        roots = [r for r in (os.environ.get(k) for k in
                             ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")) if r]
        tails = (r"Google\Chrome\Application\chrome.exe",
                 r"Microsoft\Edge\Application\msedge.exe",
                 r"Chromium\Application\chrome.exe",
                 r"BraveSoftware\Brave-Browser\Application\brave.exe")
        return [os.path.join(root, tail) for tail in tails for root in roots]
    if system == "Darwin":
        apps = ("Google Chrome.app/Contents/MacOS/Google Chrome",
                "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
                "Chromium.app/Contents/MacOS/Chromium",
                "Brave Browser.app/Contents/MacOS/Brave Browser")
        bases = ("/Applications", os.path.expanduser("~/Applications"))
        return [os.path.join(base, app) for app in apps for base in bases]
    return ["/usr/bin/google-chrome-stable", "/usr/bin/google-chrome", "/opt/google/chrome/chrome",
            "/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium",
            "/usr/bin/microsoft-edge", "/opt/microsoft/msedge/msedge",
            "/usr/bin/brave-browser", "/opt/brave.com/brave/brave-browser"]


def missing_browser_message() -> str:
    """The text of :class:`BrowserNotFoundError` when no browser is found: what to install."""
    return (
        "The PDF report needs Google Chrome, Microsoft Edge or Chromium (run headless to draw "
        "the charts and print the report), and none was found.\n"
        f"Searched ZT_BROWSER, BROWSER_PATH, PATH for {', '.join(BROWSER_NAMES)}, and: "
        f"{', '.join(install_paths())}.\n"
        "Fix: Debian/Ubuntu: sudo apt-get install chromium; macOS or Windows: install "
        "Google Chrome or Microsoft Edge; or set ZT_BROWSER to the browser executable, e.g.\n"
        "  macOS:   export ZT_BROWSER='/Applications/Google Chrome.app/Contents/MacOS/Google "
        "Chrome'\n"
        '  Windows: setx ZT_BROWSER "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\'
        'msedge.exe"'
    )


def find_browser() -> str:
    """Return the path of the Chromium-family browser that draws charts and prints the PDF.

    The order is: ``ZT_BROWSER``, ``BROWSER_PATH`` (the variable kaleido and choreographer
    read), the names of :data:`BROWSER_NAMES` on ``PATH``, the usual install paths of the
    platform (:func:`install_paths`), and last choreographer's own lookup (the Windows
    registry and a browser downloaded with ``choreo_get_chrome``).

    Returns
    -------
    str
        Path of an executable file.

    Raises
    ------
    BrowserNotFoundError
        When a variable is set but does not name an executable file (the message names the
        variable), or when no browser is found (the message says what to install).

    Examples
    --------
    >>> find_browser()                          # doctest: +SKIP
    '/usr/bin/chromium'
    """
    for var in ENV_VARS:
        value = os.environ.get(var)
        if value:
            if _is_executable(value):
                return value
            raise BrowserNotFoundError(
                f"{var} is set to {value!r}, but that is not an executable file. Point {var} "
                "at the Chrome, Edge or Chromium executable, or unset it to search the usual "
                "places.")
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found and _is_executable(found):
            return found
    for path in install_paths():
        if _is_executable(path):
            return path
    with contextlib.suppress(Exception):  # choreographer missing or its lookup failed
        from choreographer.browsers.chromium import Chromium

        found = Chromium.find_browser(skip_local=False)
        if found and _is_executable(found):
            return str(found)
    raise BrowserNotFoundError(missing_browser_message())


# ------------------------------------------------------------------------------------------
# browser plumbing
# ------------------------------------------------------------------------------------------
def _quiet_loggers() -> None:
    """Keep choreographer's, kaleido's and the browser's chatter out of the report log."""
    for name in ("choreographer", "kaleido", "logistro", "browser_proc"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _browser_cls(*, strict: bool) -> type:
    """Return choreographer's Chromium class with background networking off.

    ``strict`` also drops choreographer's relaxed same-origin flags: the print tab loads one
    local file and needs nothing else.
    """
    from choreographer.browsers.chromium import Chromium

    class ReportChromium(Chromium):
        def get_cli(self) -> list[str]:
            cli = [arg for arg in super().get_cli()
                   if not (strict and arg in _RELAXING_FLAGS)]
            return [*cli, *_QUIET_FLAGS]

    return ReportChromium


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also when called from a running event loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _major_version(product: str) -> int | None:
    """``HeadlessChrome/156.0.8078.108`` → 156 (None when there is no version)."""
    match = re.search(r"/(\d+)\.", product or "")
    return int(match.group(1)) if match else None


def _check_version(product: str, browser: str) -> None:
    major = _major_version(product)
    if major is not None and major < MIN_CHROME_VERSION:
        raise BrowserNotFoundError(
            f"{browser} ({product}) is too old: the PDF's running header and page numbers "
            f"(CSS @page margin boxes) need Chrome, Edge or Chromium {MIN_CHROME_VERSION} or "
            "newer. Update the browser or set ZT_BROWSER to a newer one.")


def _result(response: dict[str, Any], what: str) -> dict[str, Any]:
    if "error" in response:
        raise ReportError(f"the browser could not {what}: {response['error']}")
    return response.get("result", {})


# ------------------------------------------------------------------------------------------
# charts
# ------------------------------------------------------------------------------------------
def _kaleido_cls() -> type:
    """Return kaleido's browser class, without the page reload after every figure when possible.

    kaleido reloads its page (4.6 MB of plotly.js) after each image to start clean. For SVG,
    ``Plotly.toImage`` draws on a detached graph div that it purges itself, so the reload only
    costs time: about 100 ms a chart on a 2-core machine (the demo's 21 charts: 3 s → 1 s).
    If a kaleido release renames the internals used here, the reload simply stays.
    """
    import kaleido

    base = kaleido.Kaleido
    if not hasattr(base, "_return_kaleido_tab"):
        return base

    class ReportKaleido(base):  # type: ignore[misc, valid-type]
        async def _return_kaleido_tab(self, tab: Any) -> None:
            queue = getattr(self, "tabs_ready", None)
            if queue is None:
                await super()._return_kaleido_tab(tab)
            else:
                await queue.put(tab)

    return ReportKaleido


def _chart_outputs(nb: nbformat.NotebookNode) -> list[Any]:
    """The outputs of a notebook that hold a plotly chart and no SVG yet."""
    return [out for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", [])
            if PLOTLY_MIME in out.get("data", {}) and SVG_MIME not in out.get("data", {})]


async def _draw_svgs(figures: list[dict[str, Any]], browser: str) -> list[bytes | BaseException]:
    cls = _kaleido_cls()
    async with cls(n=1, path=browser, mathjax=False, timeout=_TIMEOUT,
                   browser_cls=_browser_cls(strict=False)) as k:
        return await asyncio.gather(
            *(k.calc_fig(fig, opts={"format": "svg"}) for fig in figures),
            return_exceptions=True)


def _write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    import nbformat

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        os.chmod(tmp, path.stat().st_mode & 0o777)  # keep the notebook's permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_static_charts(notebook_paths: Iterable[str | os.PathLike[str]],
                      browser: str | None = None) -> int:
    """Add a static SVG to every plotly chart of executed notebooks; rewrite them in place.

    The kernels run with ``PLOTLY_RENDERER=plotly_mimetype`` (no browser per kernel), so their
    charts are plotly JSON only, which nbconvert cannot show. One kaleido session (one headless
    browser, one tab) draws all of them here, each at the size its layout (the ``zt`` theme)
    asks for, and the SVG is stored next to the JSON in the same output. Outputs that already
    have an SVG are left alone.

    Parameters
    ----------
    notebook_paths
        Executed notebooks (``.ipynb``), rewritten in place (temporary file, then rename).
    browser
        Browser executable; default :func:`find_browser`.

    Returns
    -------
    int
        The number of charts converted (0 without starting a browser when there is none).

    Raises
    ------
    BrowserNotFoundError
        No browser (see :func:`find_browser`).
    ReportError
        A chart that could not be drawn (the message names the notebook); the notebooks are
        not changed then.

    Examples
    --------
    >>> add_static_charts(sorted(Path("reports/acme-shop/2026-11-27").glob("*.ipynb")))
    ... # doctest: +SKIP
    21
    """
    import nbformat

    started = time.perf_counter()
    books = []
    for raw in notebook_paths:
        path = Path(raw)
        nb = nbformat.read(path, as_version=4)
        books.append((path, nb, _chart_outputs(nb)))
    outputs = [(path, out) for path, _, outs in books for out in outs]
    if not outputs:
        return 0
    browser = browser or find_browser()
    os.environ.setdefault("BROWSER_PATH", browser)  # kaleido elsewhere in this process agrees
    _quiet_loggers()
    figures = [dict(out["data"][PLOTLY_MIME]) for _, out in outputs]
    try:
        svgs = _run(asyncio.wait_for(_draw_svgs(figures, browser), _TIMEOUT * 2))
    except (BrowserNotFoundError, ReportError):
        raise
    except Exception as exc:  # the browser did not start, or hung
        raise ReportError(f"the charts could not be drawn with {browser}: "
                          f"{type(exc).__name__}: {exc}") from exc
    failed = [f"{path.name}: {type(svg).__name__}: {svg}"
              for (path, _), svg in zip(outputs, svgs, strict=True)
              if isinstance(svg, BaseException)]
    if failed:
        raise ReportError(f"{len(failed)} chart(s) could not be drawn with {browser}: "
                          + "; ".join(failed[:3]))
    for (_, out), svg in zip(outputs, svgs, strict=True):
        assert isinstance(svg, bytes)
        out["data"][SVG_MIME] = svg.decode("utf-8")
    for path, nb, outs in books:
        if outs:
            _write_notebook(nb, path)
    log.info("static charts: %d in %.1f s", len(outputs), time.perf_counter() - started)
    return len(outputs)


# ------------------------------------------------------------------------------------------
# PDF
# ------------------------------------------------------------------------------------------
_PRINT = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}


def _destination_pages(pdf: bytes) -> dict[str, int]:
    """Page number (1-based) of every named destination of a PDF (Chrome names them by id)."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    pages = {}
    for name, dest in reader.named_destinations.items():
        with contextlib.suppress(Exception):  # a destination without a page: no number
            pages[str(name).lstrip("/")] = reader.get_destination_page_number(dest) + 1
    return pages


async def _command(tab: Any, method: str, what: str, **params: Any) -> dict[str, Any]:
    return _result(await tab.send_command(method, params=params or None), what)


async def _number_contents(tab: Any) -> int:
    """Fill in the page numbers of the contents page; return how many were set.

    Chrome cannot resolve ``target-counter()``, so a draft is printed first; its named
    destinations (one per link target id) tell on which page each heading landed, and the
    contents' placeholders (``data-toc-target``/``data-toc-page``, whose width is reserved)
    get those numbers through the DevTools DOM domain, which works with scripts disabled.
    """
    root = (await _command(tab, "DOM.getDocument", "read the page", depth=0))["root"]
    nodes = (await _command(tab, "DOM.querySelectorAll", "find the contents",
                            nodeId=root["nodeId"], selector="[data-toc-target]"))["nodeIds"]
    if not nodes:
        return 0
    draft = await _command(tab, "Page.printToPDF", "print a draft", **_PRINT)
    pages = _destination_pages(base64.b64decode(draft["data"]))
    numbered = 0
    for node in nodes:
        attrs = (await _command(tab, "DOM.getAttributes", "read the contents",
                                nodeId=node))["attributes"]
        page = pages.get(dict(zip(attrs[::2], attrs[1::2], strict=True)).get("data-toc-target"))
        if page is not None:
            await _command(tab, "DOM.setAttributeValue", "number the contents", nodeId=node,
                           name="data-toc-page", value=str(page))
            numbered += 1
    return numbered


async def _set_title(tab: Any, title: str) -> None:
    root = (await _command(tab, "DOM.getDocument", "read the page", depth=-1))["root"]
    node = (await _command(tab, "DOM.querySelector", "find the title", nodeId=root["nodeId"],
                           selector="head > title"))["nodeId"]
    if node:
        await _command(tab, "DOM.setOuterHTML", "set the title", nodeId=node,
                       outerHTML=f"<title>{html.escape(title)}</title>")


async def _print(url: str, browser: str, title: str | None) -> tuple[bytes, str]:
    import choreographer as choreo

    async with choreo.Browser(path=browser, headless=True,
                              browser_cls=_browser_cls(strict=True)) as b:
        product = str((await _command(b, "Browser.getVersion", "report its version")
                       ).get("product", ""))
        _check_version(product, browser)
        tab = await b.create_tab("")
        await _command(tab, "Page.enable", "enable page events")
        await _command(tab, "Emulation.setScriptExecutionDisabled", "disable JavaScript",
                       value=True)
        loaded = tab.subscribe_once("Page.loadEventFired")
        nav = await _command(tab, "Page.navigate", f"open {url}", url=url)
        if nav.get("errorText"):
            raise ReportError(f"the browser could not open {url}: {nav['errorText']}")
        await loaded
        await _command(tab, "Runtime.evaluate", "wait for the fonts",
                       expression="document.fonts.ready.then(() => true)", awaitPromise=True)
        if title:
            await _set_title(tab, title)
        await _number_contents(tab)
        printed = await _command(tab, "Page.printToPDF", "print the page", **_PRINT,
                                 generateDocumentOutline=True, generateTaggedPDF=True)
        return base64.b64decode(printed["data"]), product


def print_pdf(html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str], *,
              browser: str | None = None, title: str | None = None) -> Path:
    """Print an HTML report to an A4 PDF with headless Chrome/Edge/Chromium; return the path.

    Page JavaScript is disabled before the page loads (a report needs none, and cluster data
    must never run). The print waits for the page's load event and its fonts, honours the CSS
    page size and margin boxes (running header, "Page N of M"), prints backgrounds, and asks
    for bookmarks from the headings (``generateDocumentOutline``) and a tagged PDF. When the
    page has a contents list with page-number placeholders (``data-toc-target``), a draft is
    printed first to find the pages. The PDF's title is the page's ``<title>``. The PDF is
    written to a temporary file beside ``pdf_path`` and renamed into place.

    Parameters
    ----------
    html_path
        The HTML file to print (self-contained: the report loads nothing else).
    pdf_path
        Where the PDF goes; an existing file is replaced.
    browser
        Browser executable; default :func:`find_browser`.
    title
        PDF title; default the page's ``<title>``.

    Returns
    -------
    Path
        ``pdf_path``.

    Raises
    ------
    BrowserNotFoundError
        No browser, or one older than Chrome :data:`MIN_CHROME_VERSION`.
    ReportError
        The browser failed to start, load or print.

    Examples
    --------
    >>> print_pdf("reports/acme-shop/2026-11-27/report.html",
    ...           "reports/acme-shop/2026-11-27/acme-shop.pdf")     # doctest: +SKIP
    PosixPath('reports/acme-shop/2026-11-27/acme-shop.pdf')
    """
    started = time.perf_counter()
    html_file = Path(html_path).resolve()
    if not html_file.is_file():
        raise ReportError(f"cannot print {html_file}: no such file")
    target = Path(pdf_path)
    browser = browser or find_browser()
    _quiet_loggers()
    try:
        data, product = _run(asyncio.wait_for(_print(html_file.as_uri(), browser, title),
                                              _TIMEOUT))
    except (BrowserNotFoundError, ReportError):
        raise
    except Exception as exc:  # the browser did not start, crashed or hung
        raise ReportError(f"the PDF could not be printed with {browser}: "
                          f"{type(exc).__name__}: {exc}") from exc
    if not data.startswith(b"%PDF"):
        raise ReportError(f"the browser {browser} returned no PDF for {html_file}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.info("PDF %s: %d KB in %.1f s (%s)", target.name, len(data) // 1024,
             time.perf_counter() - started, product)
    return target

