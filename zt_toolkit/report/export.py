"""Machine-readable exports of an assessment: ``write_*`` → files.

Per client report folder:

``findings.json``
    Every finding, a list of objects with the findings columns (exact values).
``findings.csv``
    The same rows. Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return) get a leading ``'``, the OWASP defence against CSV
    injection: resource names, annotations and IAM names come from the cluster.
``findings.xlsx``
    A ``Summary`` sheet (scores per pillar) and one sheet per pillar with its findings,
    open failures first; every cell from the cluster is stored as text, never as a formula.
``summary.json``
    Scores, maturity stages, counts, top risks, coverage gaps and waivers
    (:func:`build_summary`); what a batch run or a dashboard reads.

Every file is written next to its destination and renamed into place.

Examples
--------
>>> from zt_toolkit import assess
>>> from zt_toolkit.report import export
>>> a = assess("reports/demo-snapshot")                                   # doctest: +SKIP
>>> export.write_findings_xlsx(a.findings, "out/findings.xlsx")           # doctest: +SKIP
PosixPath('out/findings.xlsx')
"""

from __future__ import annotations

import io
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from zt_toolkit.checks.model import FINDINGS_COLUMNS, Pillar

if TYPE_CHECKING:
    from zt_toolkit.assessment import Assessment

SUMMARY_SCHEMA_VERSION = 1
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet evaluate a cell (OWASP CSV injection)."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(value: Any) -> Any:
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def to_json(data: Any) -> bytes:
    """Serialize export data (numpy scalars, NA, dates) as indented JSON with a final newline."""
    return orjson.dumps(data, default=_json_default,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def defuse_formula(value: Any) -> Any:
    """Prefix a string a spreadsheet would evaluate with ``'``; other values pass unchanged.

    >>> defuse_formula("=1+2"), defuse_formula("@SUM(A1)"), defuse_formula("api"), defuse_formula(3)
    ("'=1+2", "'@SUM(A1)", 'api', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_findings(findings: pd.DataFrame, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``findings.csv`` and ``findings.json`` (the findings columns) into ``out_dir``.

    Returns both paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = findings[list(FINDINGS_COLUMNS)]
    csv_path, json_path = out / "findings.csv", out / "findings.json"
    text_columns = frame.select_dtypes(include=["object", "string"]).columns
    safe = frame.assign(**{c: frame[c].map(defuse_formula) for c in text_columns})
    atomic_write(csv_path, safe.to_csv(index=False).encode("utf-8"))
    atomic_write(json_path, to_json(_records(frame)))
    return [csv_path, json_path]


# ------------------------------------------------------------------------------------------
# XLSX
# ------------------------------------------------------------------------------------------
XLSX_COLUMNS = ("severity", "status", "waived", "check_id", "kind", "namespace", "name",
                "detail", "reason", "remediation", "waiver_reason", "frameworks")
XLSX_WIDTHS = {"severity": 10, "status": 13, "waived": 8, "check_id": 38, "kind": 16,
               "namespace": 20, "name": 36, "detail": 70, "reason": 45, "remediation": 70,
               "waiver_reason": 40, "frameworks": 40}


def write_findings_xlsx(findings: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the findings workbook: a ``Summary`` sheet, then one sheet per pillar.

    Pillar sheets list open failures first (most severe first), then waived, not assessed,
    errors, passes and not applicable; the header row is frozen and filterable. Strings are
    stored as text, so a value beginning with ``=`` is never a formula.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    from zt_toolkit.report.tables import outcomes, summarize_pillars

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def cell(ws: Any, value: Any, header: bool = False) -> Any:
        if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            value = None
        elif hasattr(value, "item"):
            value = value.item()
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # text, even when it starts with "="
        if header:
            c.font = bold
        return c

    def sheet(title: str, frame: pd.DataFrame, widths: dict[str, int]) -> None:
        ws = wb.create_sheet(title)
        ws.freeze_panes = "A2"
        for i, col in enumerate(frame.columns):
            ws.column_dimensions[_column_letter(i)].width = widths.get(col, 14)
        if len(frame.columns):
            ws.auto_filter.ref = f"A1:{_column_letter(len(frame.columns) - 1)}{len(frame) + 1}"
        ws.append([cell(ws, c, header=True) for c in frame.columns])
        for values in frame.itertuples(index=False, name=None):
            ws.append([cell(ws, v) for v in values])

    summary = summarize_pillars(findings)
    sheet("Summary", summary[["title", "score", "stage", "coverage", "checks", "assessed",
                              "pass", "fail", "not_assessed", "error", "critical", "high",
                              "medium", "low", "failing_resources", "waived"]],
          {"title": 34})
    rank = {"fail": 0, "waived": 1, "not_assessed": 2, "error": 3, "pass": 4,
            "not_applicable": 5}
    sev = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    for pillar in Pillar:
        f = findings[findings["pillar"] == pillar.value]
        f = f.assign(_o=outcomes(f).map(rank), _s=f["severity"].map(sev)).sort_values(
            ["_o", "_s", "check_id", "namespace", "name"])
        sheet(_sheet_title(pillar.title), f[list(XLSX_COLUMNS)], XLSX_WIDTHS)
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write(target, buffer.getvalue())
    return target


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _sheet_title(title: str) -> str:
    """Excel sheet names: at most 31 characters, none of the characters Excel forbids."""
    clean = "".join(ch for ch in title if ch not in "[]:*?/\\")
    return clean[:31]


# ------------------------------------------------------------------------------------------
# summary.json
# ------------------------------------------------------------------------------------------
def build_summary(assessment: Assessment, previous: str | os.PathLike[str] | None = None,
                  top: int = 10) -> dict[str, Any]:
    """The content of ``summary.json``: who, what, scores, counts, top risks, gaps, waivers.

    Keys: ``schema_version, generated, toolkit_version, client, consultancy, classification,
    date, cluster {name, arn, region, account_id, version}, snapshot {collected_at, source},
    score {model, overall, stage, coverage, pillars [...]}, counts {...}, top_risks [...],
    coverage_gaps [...], waivers [...]`` and, when ``previous`` is given, ``changes`` (counts
    per change kind, see :mod:`zt_toolkit.diff`).
    """
    from zt_toolkit import __version__
    from zt_toolkit.report import scores, tables

    f = assessment.findings
    cfg = assessment.config
    cluster = assessment.snapshot.cluster
    pillar_scores, overall = scores.score_assessment(f)
    pillars = tables.summarize_pillars(f).drop(columns=["score", "stage", "coverage",
                                                        "assessed"])
    pillar_rows = pillar_scores.merge(pillars.drop(columns=["title"]), on="pillar")
    outcome = tables.outcomes(f) if not f.empty else pd.Series(dtype=object)
    checks = tables.summarize_checks(f)
    counts = {
        "checks": int(len(checks)),
        "findings": int(len(f)),
        "failing_checks": int((checks["status"] == "fail").sum()) if len(checks) else 0,
        "open_failures": int((outcome == "fail").sum()),
        "waived": int((outcome == "waived").sum()),
        **{f"checks_{s}": int((checks["status"] == s).sum()) if len(checks) else 0
           for s in ("pass", "not_assessed", "error", "not_applicable")},
    }
    summary: dict[str, Any] = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "toolkit_version": __version__,
        "client": cfg.client, "consultancy": cfg.consultancy,
        "classification": cfg.classification, "date": cfg.today.isoformat(),
        "cluster": {"name": cluster.name, "arn": cluster.arn, "region": cluster.region,
                    "account_id": cluster.account_id, "version": cluster.version},
        "snapshot": {"collected_at": assessment.snapshot.manifest.collected_at,
                     "source": assessment.snapshot.source},
        "score": {"model": scores.MODEL, "overall": overall["score"], "stage": overall["stage"],
                  "coverage": overall["coverage"], "pillars": _records(pillar_rows)},
        "counts": counts,
        "top_risks": _records(tables.summarize_top_risks(f, n=top)),
        "coverage_gaps": _records(tables.summarize_coverage(assessment)),
        "waivers": _records(tables.summarize_waiver_register(assessment)),
    }
    if previous is not None:
        from zt_toolkit.diff import diff_findings, load_findings

        changes = diff_findings(load_findings(previous), f)
        summary["changes"] = {str(k): int(v) for k, v in
                              changes["change"].value_counts().items()}
    return summary


def write_summary_json(summary: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write :func:`build_summary`'s dict as ``summary.json``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, to_json(summary))
    return target
