"""The notebooks: thin, stripped, parameterized; and a real papermill run of the whole report.

The fast tests read the committed notebooks. The ``slow`` tests run :func:`write_report` on the
demo snapshot (with one hostile workload added, named ``<script>alert(1)</script>``) with real
Jupyter kernels, then look at what a client would receive.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import shutil
from datetime import date
from pathlib import Path

import nbformat
import orjson
import pytest

from zt_toolkit.checks.model import FINDINGS_COLUMNS, PILLAR_TITLES
from zt_toolkit.errors import ReportError
from zt_toolkit.report import render

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
EXAMPLE_CONFIG = ROOT / "examples" / "acme-shop.yaml"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PARAMETERS = ("snapshot", "client", "config", "output_dir")
EVIL = "<script>alert(1)</script>"
SECTION_TITLES = ["Executive summary", *PILLAR_TITLES.values(), "Appendix"]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_eight_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == list(render.NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped(path):
    nb = read(path)
    nbformat.validate(nb)
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:40]
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
    assert "papermill" not in nb.metadata
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_holds_no_logic(path):
    """DESIGN.md: no def, class or loop in a notebook (logic lives in zt_toolkit)."""
    banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.For,
              ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
              ast.GeneratorExp, ast.If, ast.Try)
    for cell in code_cells(read(path)):
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, banned), f"{type(node).__name__} in: {cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_then_setup_then_one_call_per_section(path):
    nb = read(path)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and params[0] is nb.cells[1]
    values = {}
    for stmt in ast.parse(params[0].source).body:
        assert isinstance(stmt, ast.Assign), "the parameters cell holds only assignments"
        values[stmt.targets[0].id] = ast.literal_eval(stmt.value)  # literals only
    expected = (*PARAMETERS, "previous") if path.stem == render.SUMMARY_NOTEBOOK else PARAMETERS
    assert tuple(values) == expected
    assert values["snapshot"] == "../reports/demo-snapshot"
    assert values["config"] == "../examples/acme-shop.yaml"
    assert (path.parent / values["config"]).is_file()
    setup = nb.cells[2]
    assert setup.cell_type == "code" and "zt.setup(snapshot, config, client, output_dir)" in \
        setup.source
    # after the setup: markdown, then at most one code cell that is one library call
    previous = "code"
    for cell in nb.cells[3:]:
        if cell.cell_type == "code":
            assert previous == "markdown", f"two code cells in a row: {cell.source}"
            body = ast.parse(cell.source).body
            assert len(body) == 1 and isinstance(body[0], ast.Expr), cell.source
            assert isinstance(body[0].value, ast.Call)
            assert ast.unparse(body[0].value.func).startswith("zt."), cell.source
        previous = cell.cell_type


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_has_its_charts_and_tables(path):
    source = "\n".join(c.source for c in code_cells(read(path)))
    if path.stem == "07_appendix":  # tables only: findings, waivers, gaps, methodology
        for call in ("narrate_failures_appendix", "summarize_waiver_register",
                     "summarize_waivers", "summarize_coverage", "summarize_unassessed_checks",
                     "summarize_check_catalogue"):
            assert f"zt.{call}(" in source
        return
    assert len(re.findall(r"zt\.plot_\w+\(", source)) >= 2
    if path.stem == "00_summary":
        for call in ("plot_pillar_scores", "summarize_pillars", "summarize_top_risks",
                     "narrate_coverage", "narrate_changes", "summarize_changes"):
            assert f"zt.{call}(" in source
    else:
        pillar = path.stem.split("_", 1)[1]
        assert f'zt.narrate_pillar(a, "{pillar}")' in source
        assert f'zt.findings_table(a.findings, "{pillar}")' in source


# ------------------------------------------------------------------------------------------
# a real run (papermill, kernels, kaleido)
# ------------------------------------------------------------------------------------------
def hostile_copy(demo: Path, dest: Path) -> Path:
    """The demo snapshot plus a privileged Deployment named like a script tag."""
    shutil.copytree(demo, dest)
    path = dest / "k8s" / "deployments.apps.json"
    data = orjson.loads(path.read_bytes())
    data["items"].append({
        "metadata": {"name": EVIL, "namespace": "legacy-batch", "uid": "evil",
                     "annotations": {"note": "<img src=x onerror=alert(2)>"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "evil"}},
                 "template": {"metadata": {"labels": {"app": "evil"}},
                              "spec": {"containers": [{
                                  "name": "x<b>y</b>", "image": "evil.example/<i>:latest",
                                  "securityContext": {"privileged": True}}]}}},
    })
    path.write_bytes(orjson.dumps(data))
    manifest = orjson.loads((dest / "manifest.json").read_bytes())
    manifest["coverage"]["k8s/deployments.apps"]["count"] = len(data["items"])
    (dest / "manifest.json").write_bytes(orjson.dumps(manifest))
    return dest


@pytest.fixture(scope="module")
def report_dir(demo_snapshot: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    hostile_copy(demo_snapshot, root / "hostile-snapshot")
    # relative paths, as `make demo` passes them: parallel kernels must not depend on the cwd
    cwd = Path.cwd()
    os.chdir(root)
    try:
        report = render.write_report(Path("hostile-snapshot"), "Acme Shop",
                                     config=EXAMPLE_CONFIG, out=Path("reports"))
        assert Path.cwd() == root, "the report run must leave the working directory alone"
    finally:
        os.chdir(cwd)
    return report


@pytest.mark.slow
def test_report_folder_layout(report_dir: Path):
    assert report_dir.parent.name == "acme-shop"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", report_dir.name)
    for name in render.NOTEBOOKS:
        nb = read(report_dir / f"{name}.ipynb")
        assert nb.metadata.papermill.exception is None or not nb.metadata.papermill.exception
        assert any(c.outputs for c in code_cells(nb)), name
    assert {p.name for p in report_dir.iterdir()} == {
        *(f"{n}.ipynb" for n in render.NOTEBOOKS), "findings.csv", "findings.json",
        "findings.xlsx", "summary.json", "report.html", "acme-shop.pdf"}
    assert not list(report_dir.parent.glob(".*partial*"))


@pytest.mark.slow
def test_findings_json_round_trips(report_dir: Path):
    records = orjson.loads((report_dir / "findings.json").read_bytes())
    with (report_dir / "findings.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(records) == len(rows) > 100
    assert all(list(r) == list(FINDINGS_COLUMNS) for r in records)
    assert [r["check_id"] for r in records] == [r["check_id"] for r in rows]
    assert {r["pillar"] for r in records} == {"network", "identity", "pod_security", "images",
                                              "secrets", "audit"}
    assert any(r["name"] == EVIL for r in records)
    assert orjson.loads(orjson.dumps(records)) == records


def sections(html: str) -> dict[str, str]:
    parts = re.split(r'<section class="notebook" id="section-', html)[1:]
    return {p.split('"', 1)[0]: p for p in parts}


@pytest.mark.slow
def test_report_html_has_every_section_with_charts_and_no_code(report_dir: Path):
    html = (report_dir / "report.html").read_text()
    found = sections(html)
    assert list(found) == list(render.NOTEBOOKS)
    for (name, body), title in zip(found.items(), SECTION_TITLES, strict=True):
        assert f">{title}<" in body, name
        charts = body.count("<svg") + body.count("plotly-graph-div")
        assert charts >= (0 if name == "07_appendix" else 2), f"{name}: {charts} charts"
        assert '<table class="zt">' in body, name
    # no code: neither inputs nor prompts nor the setup call
    for needle in ("zt.setup(", "import zt_toolkit", "jp-InputArea", "In&nbsp;[", "zt.plot_"):
        assert needle not in html
    # nothing fetched from elsewhere
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html)
    assert "Acme Shop" in html and "acme-shop-prod" in html and "Confidential" in html


@pytest.mark.slow
def test_report_html_escapes_cluster_data(report_dir: Path):
    html = (report_dir / "report.html").read_text()
    assert EVIL not in html
    assert "<img src=x" not in html and "<b>y</b>" not in html and "<i>:latest" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, in tables
    assert "<script" not in html.lower()  # static SVG charts need no script at all


@pytest.mark.slow
def test_failing_notebook_names_notebook_cell_and_keeps_findings(demo_snapshot: Path,
                                                                 tmp_path, monkeypatch):
    templates = tmp_path / "notebooks"
    templates.mkdir()
    nb = read(NOTEBOOK_DIR / "06_audit.ipynb")
    nb.cells.insert(5, nbformat.v4.new_code_cell("zt.no_such_function(a)"))
    nbformat.write(nb, templates / "06_audit.ipynb")
    monkeypatch.setenv("ZT_NOTEBOOKS", str(templates))
    complete = tmp_path / "reports" / "broken-co" / date.today().isoformat()
    complete.mkdir(parents=True)
    (complete / "acme-shop.pdf").write_text("an earlier, complete report of the same day")
    with pytest.raises(ReportError) as err:
        render.write_report(demo_snapshot, "Broken Co", out=tmp_path / "reports",
                            notebooks=("06_audit",))
    message = str(err.value)
    # the executed notebook (kept for debugging) has the injected-parameters cell: index 6
    assert "06_audit.ipynb failed in cell 6 `zt.no_such_function(a)`" in message
    assert "AttributeError" in message and "no_such_function" in message
    # the incomplete run sits beside the complete report and does not replace it
    assert (complete / "acme-shop.pdf").read_text().startswith("an earlier")
    out = complete.with_name(f"{complete.name}.incomplete")
    assert str(out) in message
    assert (out / "findings.csv").is_file() and (out / "findings.json").is_file()
    assert (out / "06_audit.ipynb").is_file() and not (out / "report.html").exists()


@pytest.mark.slow
def test_without_a_browser_everything_but_the_pdf_is_written(demo_snapshot: Path, tmp_path,
                                                            monkeypatch):
    from zt_toolkit.errors import BrowserNotFoundError

    monkeypatch.setenv("ZT_BROWSER", str(tmp_path / "no-such-chrome"))
    with pytest.raises(BrowserNotFoundError) as err:
        render.write_report(demo_snapshot, "No Browser Co", out=tmp_path / "reports",
                            notebooks=("00_summary",))
    out = tmp_path / "reports" / "no-browser-co" / f"{date.today().isoformat()}.incomplete"
    assert "ZT_BROWSER" in str(err.value) and str(out) in str(err.value)
    assert {"report.html", "findings.xlsx", "summary.json", "00_summary.ipynb"} <= {
        p.name for p in out.iterdir()}
    assert not list(out.glob("*.pdf"))
    assert not (out.parent / date.today().isoformat()).exists()
