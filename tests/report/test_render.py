"""The report writer's pieces that need no kernel: slug, findings files, HTML assembly."""

from __future__ import annotations

import csv
import re

import nbformat
import orjson
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tests.report.factories import frame, row
from zt_toolkit.checks.model import FINDINGS_COLUMNS
from zt_toolkit.report import render

EVIL = "<script>alert(1)</script>"


@pytest.mark.parametrize(("client", "slug"), [
    ("Acme Shop", "acme-shop"),
    ("ACME Shop GmbH & Co. KG", "acme-shop-gmbh-co-kg"),
    ("../../etc/passwd", "etc-passwd"),
    ("Ümlaut Ærø", "umlaut-r"),
    ("<script>", "script"),
    ("日本", "client"),
    ("", "client"),
])
def test_client_slug_is_one_safe_path_component(client, slug):
    assert render.client_slug(client) == slug
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", render.client_slug(client))


def test_write_findings_round_trip(tmp_path):
    f = frame(row("a", name=EVIL, detail='quote " and, comma'), row("b", "pass", waived=False),
              row("c", waived=True, waiver_reason="ok"))
    csv_path, json_path = render.write_findings(f, tmp_path / "out")
    records = orjson.loads(json_path.read_bytes())
    assert isinstance(records, list) and len(records) == 3
    assert list(records[0]) == list(FINDINGS_COLUMNS)
    assert records[0]["name"] == EVIL
    assert records[2]["waived"] is True and records[1]["waived"] is False
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == [EVIL, "api", "api"]
    assert rows[0]["detail"] == 'quote " and, comma'
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind


def _executed_notebook(title: str) -> nbformat.NotebookNode:
    params = new_code_cell('snapshot = "x"', metadata={"tags": ["parameters"]})
    cells = [
        new_markdown_cell(f"# {title}\n\nIntro text."),
        params,
        new_code_cell("zt.plot_something(a)", outputs=[
            new_output("display_data", data={
                "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"><text>chart</text></svg>',
                "application/vnd.plotly.v1+json": {"data": []},
                "text/plain": "Figure()"}),
            new_output("stream", name="stderr", text="a warning the reader must not see"),
        ]),
        new_code_cell("zt.narrate(a)", outputs=[
            new_output("execute_result", execution_count=3, data={
                "text/markdown": "**Fix** &lt;script&gt;alert\\(1\\)&lt;/script&gt;",
                "text/plain": "<IPython.core.display.Markdown object>"}),
        ]),
        new_code_cell("zt.table(a)", outputs=[
            new_output("execute_result", execution_count=4, data={
                "text/html": '<table class="zt"><tr><td>&lt;b&gt;</td></tr></table>',
                "text/plain": "df"}),
        ]),
    ]
    return new_notebook(cells=cells)


def test_render_html_sections_without_code_and_escaped_meta(tmp_path):
    paths = []
    for name, title in (("00_summary", "Executive summary"), ("01_network", "Network security")):
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(_executed_notebook(title), path)
        paths.append(path)
    meta = {"client": EVIL, "consultancy": "Northwind", "classification": "Confidential",
            "cluster": "prod", "region": "eu-west-1", "account": "", "k8s_version": "1.30",
            "date": "2026-11-27", "collected_at": "2026-11-20T09:00:00+00:00", "source": "demo",
            "version": "0.1.0", "generated": "2026-11-27 08:00 UTC"}
    html = render.render_html(paths, meta)
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="section-00_summary"' in html and 'id="section-01_network"' in html
    assert re.search(r'<a href="#section-01_network"><span class="toc-num">2</span>'
                     r'<span class="toc-text">Network security</span>', html)
    assert html.count('<figure class="chart"><svg') == 2
    assert "zt.plot_something" not in html and 'snapshot = "x"' not in html
    assert "a warning the reader must not see" not in html
    assert "<strong>Fix</strong>" in html
    assert "<script" not in html.lower()
    assert "script-src" not in html  # no script is allowed by the content security policy
    assert "default-src 'none'" in html
    urls = set(re.findall(r"""(?:src|href)=["']([^"'#][^"']*)""", html))
    assert urls == set(), urls


def _notebook(tmp_path, name, *cells):
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(new_notebook(cells=list(cells)), path)
    return path


def test_render_html_cover_contents_and_running_header(tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    paths = [
        _notebook(tmp_path, "00_summary", new_markdown_cell(
            "# Executive summary\n\n## Overall result\n\nSee [the method](#Method) and "
            "[CIS](https://www.cisecurity.org/benchmark/kubernetes).\n\n## Method\n\nText.")),
        _notebook(tmp_path, "01_network", new_markdown_cell(
            "# Network security\n\n## Overall result\n\nOther text.")),
    ]
    client = 'Evil"; } body { display: none } </style><script>alert(1)</script>'
    html = render.render_html(paths, {
        "client": client, "consultancy": "Northwind", "classification": "Confidential",
        "cluster": "prod", "cluster_arn": "arn:aws:eks:eu-west-1:111122223333:cluster/prod",
        "logo": logo, "score": 43.4, "stage": "Traditional", "coverage": 0.9,
        "date": "2026-11-27", "collected_at": "2026-11-20T09:00:00+00:00"})
    # cover: escaped client, long dates, score badge, the logo as a data URI
    assert "<script" not in html.lower() and "</style><script>" not in html
    assert "Evil&#34;; } body { display: none } &lt;/style&gt;" in html
    assert "27 November 2026" in html and "20 November 2026, 09:00 UTC" in html
    assert '<span class="score-value">43</span>' in html and "stage-traditional" in html
    assert "arn:aws:eks:eu-west-1:111122223333:cluster/prod" in html
    assert 'src="data:image/svg+xml;base64,' in html
    # running header: a CSS string in which only letters, digits and spaces stay literal
    header = re.search(r"@top-left \{ content: (\"[^\"]*\"); \}", html)
    assert header and "<" not in header.group(1) and ";" not in header.group(1)
    assert "\\3c " in header.group(1) and "\\22 " in header.group(1)  # < and "
    # contents: sections and their h2s link to ids made unique per section
    assert 'href="#section-00_summary--Overall-result"' in html
    assert 'href="#section-01_network--Overall-result"' in html
    assert 'id="section-01_network--Overall-result"' in html
    assert 'data-toc-target="section-01_network--Overall-result"' in html
    assert 'href="#section-00_summary--Method">the method</a>' in html  # in-section link
    assert "¶" not in html and 'class="anchor-link"' not in html
    assert "CIS <span class=\"url\">(https://www.cisecurity.org/benchmark/kubernetes)</span>" \
        in html and 'href="https://' not in html  # external links become text


def test_render_html_rejects_a_logo_that_is_not_what_it_says(tmp_path, caplog):
    fake = tmp_path / "logo.png"
    fake.write_text("<script>alert(1)</script>")
    path = _notebook(tmp_path, "00_summary", new_markdown_cell("# Summary"))
    html = render.render_html([path], {"client": "Acme", "logo": fake})
    assert "data:image" not in html and "the content of the file is not image/png" in caplog.text
    assert 'class="cover-consultancy"' in html  # the name stands in for the logo
    forged = render.render_html([path], {"client": "Acme",
                                         "logo_data_uri": 'data:image/png;base64,AA" onerror="x'})
    assert "onerror" not in forged


def test_render_html_fits_wide_tables_to_the_page(tmp_path):
    head = "".join(f"<th>c{i}</th>" for i in range(9))
    token = "kubectl,patch,deployment/api,--type=json,-p=[{op:remove,path:/spec/x}]"
    table = (f'<table class="zt"><thead><tr>{head}</tr></thead><tbody><tr>'
             f'<td class="wrap">{token}</td></tr></tbody></table>')
    path = _notebook(tmp_path, "01_network", new_markdown_cell("# Network"),
                     new_code_cell("t", outputs=[new_output("execute_result", execution_count=1,
                                                            data={"text/html": table})]))
    html = render.render_html([path], {"client": "Acme"})
    assert '<table class="zt dense">' in html
    assert "deployment/<wbr>api,<wbr>--type=<wbr>json" in html
    assert html.replace("<wbr>", "").count(token) == 1


def _code_notebook(path, *sources: str) -> None:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.slow
def test_a_lane_reuses_its_kernel_but_no_notebook_sees_another_and_a_dead_kernel_is_replaced(
        tmp_path):
    """One lane runs a, b, c, d in one kernel: b must not see a's variable, c kills the kernel,
    d must still run (in a new kernel) and see a fresh namespace."""
    src = tmp_path / "src"
    src.mkdir()
    _code_notebook(src / "a.ipynb", "import os\nleak = os.getpid()\nprint(leak)")
    _code_notebook(src / "b.ipynb",
                   "import os\nassert 'leak' not in globals(), 'namespace not reset'\n"
                   "pid_b = os.getpid()\nprint(pid_b)")
    _code_notebook(src / "c.ipynb", "import os\nos._exit(3)")
    _code_notebook(src / "d.ipynb",
                   "import os\nassert 'pid_b' not in globals()\nprint(os.getpid())")
    out = tmp_path / "out"
    out.mkdir()
    runs = render.execute_notebooks({}, out, names=("a", "b", "c", "d"), source_dir=src,
                                    parallel=1, timeout=60)
    by_name = {r.name: r for r in runs}
    assert by_name["a"].error is None and by_name["b"].error is None, by_name["b"].error
    assert by_name["c"].error is not None
    assert by_name["d"].error is None, by_name["d"].error

    def printed(name: str) -> str:
        nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
        return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))

    assert printed("a").strip() == printed("b").strip()  # b ran in a's kernel
    assert printed("b").strip() != printed("d").strip()  # d ran in the replacement kernel
