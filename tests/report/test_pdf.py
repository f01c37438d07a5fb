"""The PDF step with the real browser: finding it, static SVG charts, printing, the whole report.

The end-to-end test runs ``write_report`` once (module fixture) on a demo snapshot made evil (a
Deployment named with HTML and a client name with markup) and reads the PDF back with poppler:
text (client, pillars, top risks, page numbers), A4 page size, bookmarks (pypdf), and page
images (pdftoppm) whose chart colours show that the charts were drawn.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from zt_toolkit.errors import ReportError
from zt_toolkit.report import pdf
from zt_toolkit.report.pdf import BrowserNotFoundError

ROOT = Path(__file__).resolve().parents[2]
EVIL_NAME = "<img src=x onerror=alert(1)>evil"
EVIL_CLIENT = "Acme <b>Shop</b>"


def _browser() -> str | None:
    try:
        return pdf.find_browser()
    except BrowserNotFoundError:
        return None


BROWSER = _browser()
POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdfinfo"))
needs_browser = pytest.mark.skipif(BROWSER is None, reason="needs Chrome, Edge or Chromium")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="needs poppler-utils (pdftotext …)")


def squash(text: str) -> str:
    """Text without whitespace: table cells wrap long names over several lines."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in
                                                 out.splitlines())}


def page_images(path: Path, out: Path, dpi: int = 30) -> list[np.ndarray]:
    """Every page as an RGB array (pdftoppm writes binary PPM)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", str(dpi), str(path), str(out / "p")], check=True)
    pages = []
    for ppm in sorted(out.glob("p*.ppm"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1])):
        data = ppm.read_bytes()
        _, width, height, _ = data.split(maxsplit=4)[:4]
        w, h = int(width), int(height)
        pages.append(np.frombuffer(data[-w * h * 3:], dtype=np.uint8).reshape(h, w, 3))
    return pages


def fake_executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# ------------------------------------------------------------------------------------------
# find_browser
# ------------------------------------------------------------------------------------------
@pytest.fixture
def no_browser_env(monkeypatch, tmp_path):
    """No variable set, an empty PATH, no install path, and choreographer finds nothing."""
    from choreographer.browsers.chromium import Chromium

    for var in pdf.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(pdf, "install_paths", lambda system=None: [])
    monkeypatch.setattr(Chromium, "find_browser", classmethod(lambda cls, **kw: None))
    return empty


@pytest.mark.parametrize("var", pdf.ENV_VARS)
def test_find_browser_rejects_a_variable_that_is_not_an_executable(var, monkeypatch, tmp_path):
    for other in pdf.ENV_VARS:
        monkeypatch.delenv(other, raising=False)
    not_executable = tmp_path / "chrome"
    not_executable.write_text("not a program")
    monkeypatch.setenv(var, str(not_executable))
    with pytest.raises(BrowserNotFoundError, match=var) as err:
        pdf.find_browser()
    assert str(not_executable) in str(err.value)
    monkeypatch.setenv(var, str(tmp_path / "missing"))
    with pytest.raises(BrowserNotFoundError, match=var):
        pdf.find_browser()


def test_find_browser_order_zt_browser_then_browser_path_then_path(no_browser_env, monkeypatch,
                                                                    tmp_path):
    on_path = fake_executable(no_browser_env / "chromium")
    assert pdf.find_browser() == str(on_path)  # found by name on PATH
    via_browser_path = fake_executable(tmp_path / "browser-path-chrome")
    monkeypatch.setenv("BROWSER_PATH", str(via_browser_path))
    assert pdf.find_browser() == str(via_browser_path)  # the variable beats PATH
    via_zt = fake_executable(tmp_path / "zt-chrome")
    monkeypatch.setenv("ZT_BROWSER", str(via_zt))
    assert pdf.find_browser() == str(via_zt)  # ZT_BROWSER beats BROWSER_PATH


def test_find_browser_falls_back_to_install_paths(no_browser_env, monkeypatch, tmp_path):
    installed = fake_executable(tmp_path / "google-chrome")
    monkeypatch.setattr(pdf, "install_paths", lambda system=None: [str(tmp_path / "nope"),
                                                                   str(installed)])
    assert pdf.find_browser() == str(installed)


def test_browser_not_found_message_names_what_to_install(no_browser_env):
    with pytest.raises(BrowserNotFoundError) as err:
        pdf.find_browser()
    message = str(err.value)
    assert isinstance(err.value, ReportError)
    assert "apt-get install chromium" in message
    assert "Google Chrome or Microsoft Edge" in message and "ZT_BROWSER" in message
    assert "still written" not in message  # whether anything was written is the caller's to say


def test_install_paths_per_platform():
    assert "/usr/bin/chromium" in pdf.install_paths("Linux")
    assert any(p.endswith("Google Chrome.app/Contents/MacOS/Google Chrome")
               for p in pdf.install_paths("Darwin"))
    assert all(p.endswith(".exe") for p in pdf.install_paths("Windows"))


def test_old_browser_is_refused_with_the_version_it_needs():
    pdf._check_version("HeadlessChrome/156.0.8078.108", "/usr/bin/chromium")  # fine
    with pytest.raises(BrowserNotFoundError, match=r"Chrome/120\.0.*131"):
        pdf._check_version("Chrome/120.0.6099.5", "/opt/old/chrome")


# ------------------------------------------------------------------------------------------
# static charts
# ------------------------------------------------------------------------------------------
def _plotly_output(fig: go.Figure) -> nbformat.NotebookNode:
    return new_output("display_data", data={
        pdf.PLOTLY_MIME: json.loads(pio.to_json(fig, validate=False)),
        "text/plain": "Figure({...})"})


@pytest.mark.pdf
@needs_browser
def test_add_static_charts_draws_svg_at_the_theme_size(tmp_path):
    from zt_toolkit.report import charts, theme  # noqa: F401  (registers the zt template)

    fig = go.Figure(go.Bar(x=["fail", "pass"], y=[3, 5], marker_color=["#c62828", "#2e7d32"]))
    fig.update_layout(title={"text": "Checks &lt;by&gt; status"})
    charted = tmp_path / "01_charts.ipynb"
    nbformat.write(new_notebook(cells=[
        new_markdown_cell("# Charts"),
        new_code_cell("fig", outputs=[_plotly_output(fig)]),
        new_code_cell("small", outputs=[_plotly_output(fig.update_layout(width=400, height=200))]),
    ]), charted)
    plain = tmp_path / "02_plain.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Text only")]), plain)
    before = plain.stat().st_mtime_ns

    assert pdf.add_static_charts([charted, plain], browser=BROWSER) == 2

    nb = nbformat.read(charted, as_version=4)
    svgs = [cell.outputs[0].data[pdf.SVG_MIME] for cell in nb.cells[1:]]
    assert all(s.startswith("<svg") for s in svgs)
    assert f'width="{theme.FIGURE_WIDTH}" height="{theme.FIGURE_HEIGHT}"' in svgs[0]
    assert 'width="400" height="200"' in svgs[1]
    assert "Checks &#60;by&#62; status" in svgs[0] and "<by>" not in svgs[0]  # text, no tag
    assert pdf.PLOTLY_MIME in nb.cells[1].outputs[0].data  # interactive JSON kept for Jupyter
    assert plain.stat().st_mtime_ns == before  # nothing to draw: not rewritten
    assert not list(tmp_path.glob(".*.tmp"))
    assert pdf.add_static_charts([charted, plain], browser=BROWSER) == 0  # already drawn


# ------------------------------------------------------------------------------------------
# printing
# ------------------------------------------------------------------------------------------
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Print test</title>
<style>@page { size: A4; margin: 20mm; @bottom-right { content: "Page " counter(page)
" of " counter(pages); } } h1 { break-before: page; }
.toc-page::after { content: attr(data-toc-page); }</style></head><body>
<nav><a href="#second">Second part <span class="toc-page" data-toc-target="second"
data-toc-page=""></span></a></nav>
<p id="probe">JavaScript stayed off</p>
<script>document.getElementById("probe").textContent = "JavaScript ran";</script>
<h1 id="first">First part</h1><p>one</p><h1 id="second">Second part</h1><p>two</p>
</body></html>"""


@pytest.mark.pdf
@needs_browser
@needs_poppler
def test_print_pdf_runs_no_javascript_and_numbers_the_contents(tmp_path):
    html_path = tmp_path / "page.html"
    html_path.write_text(PAGE, encoding="utf-8")
    out = pdf.print_pdf(html_path, tmp_path / "out" / "page.pdf", browser=BROWSER,
                        title="Custom title")
    assert out == tmp_path / "out" / "page.pdf" and out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "JavaScript stayed off" in text and "JavaScript ran" not in text
    info = pdf_info(out)
    assert info["Pages"] == "3" and "(A4)" in info["Page size"]
    assert info["Title"] == "Custom title"
    first_page = pdf_text(out, "-f", "1", "-l", "1")
    assert re.search(r"Second part\s+3\b", first_page), first_page  # contents page number
    assert "Page 1 of 3" in first_page and "Page 3 of 3" in text
    assert not [p for p in out.parent.iterdir() if p.name != "page.pdf"]  # no temp file left


def test_print_pdf_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(ReportError, match="no such file"):
        pdf.print_pdf(tmp_path / "missing.html", tmp_path / "x.pdf", browser="/bin/true")


# ------------------------------------------------------------------------------------------
# the whole report
# ------------------------------------------------------------------------------------------
def _make_evil(snapshot: Path) -> None:
    """Rename the Deployment storefront/orders to EVIL_NAME (one item per line in the file)."""
    path = snapshot / "k8s" / "deployments.apps.json"
    lines = path.read_text().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines)
            if '"name":"orders","namespace":"storefront"' in line]
    assert len(hits) == 1
    head, tail = lines[hits[0]].split('"name":"orders"', 1)
    lines[hits[0]] = head + '"name":' + json.dumps(EVIL_NAME) + tail
    path.write_text("".join(lines))


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory):
    if BROWSER is None or not POPPLER:
        pytest.skip("needs a Chromium-family browser and poppler-utils")
    from zt_toolkit.demo import build_demo
    from zt_toolkit.report.render import client_slug, write_report

    base = tmp_path_factory.mktemp("evil-report")
    snapshot = build_demo(base / "snapshot")
    _make_evil(snapshot)
    folder = write_report(snapshot, EVIL_CLIENT, config=ROOT / "examples" / "acme-shop.yaml",
                          out=base / "reports")
    return {"folder": folder, "pdf": folder / f"{client_slug(EVIL_CLIENT)}.pdf",
            "snapshot": snapshot, "images": base / "pages"}


@pytest.mark.slow
@pytest.mark.pdf
def test_report_pdf_text_pages_and_bookmarks(evil_report):
    from zt_toolkit.assessment import assess
    from zt_toolkit.checks.model import PILLAR_TITLES
    from zt_toolkit.report.notebook import engagement_config
    from zt_toolkit.report.tables import summarize_top_risks

    path = evil_report["pdf"]
    assert path.is_file() and path.name == "acme-b-shop-b.pdf"
    text = pdf_text(path)
    flat = squash(text)
    assert squash(EVIL_CLIENT) in flat  # the client's markup is text, not formatting
    for title in PILLAR_TITLES.values():
        assert squash(title) in flat, title
    assessment = assess(evil_report["snapshot"], engagement_config(
        ROOT / "examples" / "acme-shop.yaml", EVIL_CLIENT))
    top = summarize_top_risks(assessment.findings, n=3)
    assert len(top) == 3
    for risk in top["title"]:
        assert squash(risk) in flat, risk
    assert squash(EVIL_NAME) in flat  # the resource name is shown literally
    info = pdf_info(path)
    pages = int(info["Pages"])
    assert "(A4)" in info["Page size"] and pages > 20
    assert f"Page 2 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert "Page 1 of" not in pdf_text(path, "-f", "1", "-l", "1")  # the cover has no footer

    from pypdf import PdfReader

    reader = PdfReader(path)
    titles = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)
    walk(reader.outline)
    for expected in ("Contents", "Executive summary", *PILLAR_TITLES.values(), "Appendix"):
        assert expected in titles, (expected, titles)
    assert bool(reader.root_object["/MarkInfo"]["/Marked"])  # a tagged PDF
    assert not reader.root_object.get("/Names", {}).get("/JavaScript")


@pytest.mark.slow
@pytest.mark.pdf
def test_report_html_escapes_cluster_data_and_has_no_script(evil_report):
    page = (evil_report["folder"] / "report.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;evil" in page.replace("<wbr>", "")
    assert "<img src=x onerror" not in page
    assert "Acme &lt;b&gt;Shop&lt;/b&gt;" in page and "Acme <b>Shop</b>" not in page
    assert "<script" not in page.lower() and "script-src" not in page
    assert "default-src 'none'" in page
    sources = set(re.findall(r"""\b(?:src|href)=["']([^"'#][^"']*)""", page))
    # only inline images: the logo, and the bitmaps plotly embeds in heatmap SVGs
    assert all(re.match(r"data:image/(png|svg\+xml);base64,", s) for s in sources), \
        [s[:80] for s in sources]
    assert any(s.startswith("data:image/svg+xml;base64,") for s in sources)  # the logo
    assert 'class="anchor-link"' not in page and "¶" not in page


@pytest.mark.slow
@pytest.mark.pdf
def test_no_table_is_cut_at_the_page_edge(evil_report):
    """A table wider than the page loses its right-hand columns (the page clips, Chrome drops
    the clipped text): every table's whole header row must be in the PDF, in order."""
    page = (evil_report["folder"] / "report.html").read_text(encoding="utf-8")
    printed = squash(pdf_text(evil_report["pdf"], "-raw"))
    heads = re.findall(r'<table class="zt[^"]*">.*?<thead>(.*?)</thead>', page, re.S)
    assert len(heads) >= 40
    for head in heads:
        cells = [html.unescape(re.sub(r"<[^>]+>", "", th))
                 for th in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
        assert squash("".join(cells)) in printed, f"table cut at the page edge: {cells}"


def title_position(pdf_path: Path, page: int, title: str) -> tuple[float, float] | None:
    """Where (x, y in points) a chart's title starts on a page: pdftotext's word boxes."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page),
                          str(pdf_path), "-"], check=True, capture_output=True, text=True).stdout
    words = [(squash(html.unescape(w)), float(x), float(y)) for x, y, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">(.*?)</word>', out)]
    target = squash(title)
    for i, (_, x, y) in enumerate(words):
        seen = ""
        for word, _, _ in words[i:]:
            seen += word
            if seen == target:
                return x, y
            if not target.startswith(seen):
                break
    return None


@pytest.mark.slow
@pytest.mark.pdf
def test_report_pages_with_charts_are_drawn(evil_report):
    """Every chart of the notebooks is in the PDF, and the area below its title is coloured
    in the chart palette (bars, cells), not blank."""
    from zt_toolkit.report.theme import SEVERITY_COLORS, STATUS_COLORS, build_template

    folder, path, dpi = evil_report["folder"], evil_report["pdf"], 30
    charts = []  # (title, width, height) of every chart in the executed notebooks
    for nb_path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if pdf.PLOTLY_MIME not in out.get("data", {}):
                    continue
                fig, svg = out.data[pdf.PLOTLY_MIME], out.data.get(pdf.SVG_MIME, "")
                assert svg.startswith("<svg"), nb_path.name
                size = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
                title = fig["layout"].get("title", {}).get("text", "")
                # graphs (scatter lines and dots) cover too little area for the colour test
                bars = any(t.get("type", "scatter") != "scatter" for t in fig["data"])
                charts.append((html.unescape(re.sub(r"<[^>]+>", " ", title)),
                               float(size.group(1)), float(size.group(2)), bars))
    assert len(charts) >= 12

    colours = (*SEVERITY_COLORS.values(), *STATUS_COLORS.values(),
               *build_template().layout.colorway)
    rgb = [[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours]
    palette = np.array([c for c in rgb if max(c) - min(c) >= 70], dtype=np.int32)  # not grey

    def chart_share(img: np.ndarray) -> float:
        px = img.reshape(-1, 1, 3).astype(np.int32)
        near = (np.abs(px - palette[None, :, :]).sum(axis=2) < 40).any(axis=1)
        return float(near.mean())

    assert chart_share(np.full((10, 10, 3), 255, np.uint8)) == 0.0
    page_texts = [squash(p) for p in pdf_text(path).split("\f")]
    images = page_images(path, evil_report["images"], dpi)
    assert len(images) == int(pdf_info(path)["Pages"])
    content_width = 176 / 25.4 * dpi  # A4 minus the side margins, in pixels
    drawn, shares = set(), []
    for title, width, height, filled in charts:
        pages = [i + 1 for i, text in enumerate(page_texts) if title and squash(title) in text]
        assert pages, f"chart {title!r} is not in the PDF"
        where = title_position(path, pages[0], title)
        assert where, (title, pages[0])
        top = max(int(where[1] / 72 * dpi) - 3, 0)
        area = images[pages[0] - 1][top:top + int(height / width * content_width) + 3]
        # a blank area is white (std ~0); a sparse strip chart of a few events measures ~16
        assert area.std() > 12, f"chart {title!r} on page {pages[0]} is blank"
        if filled:  # a legend alone is about 0.1 % of the area; thin bars 1 %, most 5-20 %
            shares.append(chart_share(area))
            assert shares[-1] > 0.005, f"chart {title!r} on page {pages[0]} has no marks"
            drawn.add(pages[0])
    assert np.median(shares) > 0.04
    assert len(drawn) >= 10  # the charts are spread over the sections
