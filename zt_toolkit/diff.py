"""What changed between two assessments: ``zt diff OLD NEW``.

A finding's identity is ``(check_id, kind, namespace, name)``: the check and the resource it
judged. Two assessments of the same cluster are compared row by row on that identity, whatever
the order of the rows or the format of the files (``findings.json`` and ``findings.csv`` of the
same findings give the same identities: empty namespaces, NA and CSV formula guards are
normalised on load).

States
------
Each side of an identity is in one *state* (the report's outcome vocabulary): ``fail`` (an open
failure: failing and not waived), ``waived`` (failing, covered by a live waiver), ``pass``,
``not_applicable``, ``not_assessed``, ``error``, or absent (no row: the resource, or the whole
check, is not in that assessment).

Changes
-------
Every identity whose states differ in a way that matters gets one row, with ``change``:

``new``
    An open failure now that was not failing before: previously passing, not applicable, not
    assessed, errored, or absent (a new resource, or a check the older run did not have).
``waiver_expired``
    Waived before, an open failure now because its waiver expired (the runner names the
    expired waiver in ``waiver_reason``).
``waiver_removed``
    Waived before, an open failure now because no waiver covers it any more (removed from the
    engagement config or narrowed).
``severity_changed``
    Failing in both (open in both, or waived in both) with a different severity: an
    engagement severity override or a catalogue change. ``note`` says raised or lowered.
``not_assessed``
    Assessed before (pass, fail or waived) and ``not_assessed`` or ``error`` now, or its check
    is absent from the new assessment: coverage was lost. This is **not** a resolution: a
    failure nobody could look at is unknown, not fixed.
``resolved``
    Failing before (open or waived) and now passing or not applicable, or the resource is gone
    while its check still ran. ``note`` says which.
``waived``
    An open failure before that is now waived, or a failure that appears already waived.
``unchanged``
    Failing in both with the same severity and the same waiver state (``note`` says "still
    waived" for accepted risks).

Transitions that do not matter for the client's risk (pass to pass, pass to not applicable,
not assessed to pass, absent to pass …) produce no row.

Examples
--------
>>> from zt_toolkit.diff import diff_findings, load_findings, summarize_diff
>>> changes = diff_findings(load_findings("reports/acme-shop/2026-05-04"),
...                        load_findings("reports/acme-shop/2026-11-27"))   # doctest: +SKIP
>>> changes[changes.change == "new"][["check_id", "kind", "namespace", "name"]]  # doctest: +SKIP
>>> summarize_diff(changes)                                               # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from zt_toolkit.checks.model import PILLAR_TITLES, SEVERITY_ORDER, Pillar
from zt_toolkit.errors import DiffError

log = logging.getLogger(__name__)

KEY = ["check_id", "kind", "namespace", "name"]
"""Identity of a finding."""

REQUIRED_COLUMNS = (*KEY, "status", "severity")
"""Columns a findings file must have to be compared."""

CHANGES = ("new", "waiver_expired", "waiver_removed", "severity_changed", "not_assessed",
           "resolved", "waived", "unchanged")
"""Change kinds, in the order the diff is sorted: regressions first, unchanged last."""

DIFF_COLUMNS = ["change", "check_id", "pillar", "title", "kind", "namespace", "name",
                "old_status", "new_status", "old_severity", "new_severity", "note", "detail"]

FINDINGS_FILES = ("findings.json", "findings.csv")
"""What a report folder holds, in order of preference."""

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FAILING = ("fail", "waived")
_GONE = ("pass", "not_applicable", "absent")
_NO_RESULT = ("not_assessed", "error")


# ------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------
def findings_file(path: str | os.PathLike[str]) -> Path:
    """Return the findings file a path stands for (a report folder or the file itself).

    Raises
    ------
    DiffError
        When the path does not exist, or is a folder without ``findings.json`` or
        ``findings.csv`` (the message lists dated report folders inside it, if any).
    """
    p = Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise DiffError(p, "does not exist (expected a report folder or a findings .json/.csv "
                           "file)")
    for name in FINDINGS_FILES:
        if (p / name).is_file():
            return p / name
    hint = ""
    days = sorted(c.name for c in p.iterdir() if c.is_dir() and _DAY.match(c.name))
    if days:
        hint = f"; it holds report folders {', '.join(days[-3:])}: pass one of them"
    elif (p / "manifest.json").is_file():
        hint = "; it looks like a snapshot: run `zt assess` or `zt report` on it first"
    raise DiffError(p, f"no findings.json or findings.csv in this folder{hint}")


def load_findings(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load the findings of an assessment for comparison.

    Parameters
    ----------
    path
        A report folder (``findings.json`` is read when present, else ``findings.csv``), or a
        findings ``.json`` file (a list of objects, as ``zt assess --format json`` and the
        report write it) or ``.csv`` file.

    Returns
    -------
    The findings with identity columns normalised: strings, ``""`` for an empty or missing
    namespace, ``waived`` as bool, and the guard quote that the CSV export puts before
    spreadsheet formulas removed, so that the JSON and the CSV of the same findings load equal.
    Columns the file lacks besides the required ones are filled (``pillar`` from the check
    catalogue, ``waived`` False, text columns empty).

    Raises
    ------
    DiffError
        Naming the file and the problem: missing file, malformed JSON or CSV, not a list of
        findings, missing columns (``check_id, kind, namespace, name, status, severity``), or
        one identity on more than one row.

    Examples
    --------
    >>> from zt_toolkit.diff import load_findings
    >>> old = load_findings("reports/acme-shop/2026-05-04")          # doctest: +SKIP
    >>> old[["check_id", "kind", "namespace", "name", "status"]].head()  # doctest: +SKIP
    """
    file = findings_file(path)
    suffix = file.suffix.lower()
    if suffix == ".json":
        frame = _read_json(file)
    elif suffix == ".csv":
        frame = _read_csv(file)
    else:
        raise DiffError(file, "is neither a .json nor a .csv findings file")
    return normalize_findings(frame, file)


def _read_json(file: Path) -> pd.DataFrame:
    try:
        data = orjson.loads(file.read_bytes())
    except OSError as exc:
        raise DiffError(file, f"cannot be read ({exc.strerror or exc})") from exc
    except orjson.JSONDecodeError as exc:
        raise DiffError(file, f"is not valid JSON ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("findings"), list):
        data = data["findings"]
    if not isinstance(data, list):
        raise DiffError(file, f"must hold a list of findings, not a {type(data).__name__}")
    bad = next((i for i, r in enumerate(data) if not isinstance(r, dict)), None)
    if bad is not None:
        raise DiffError(file, f"finding #{bad} is a {type(data[bad]).__name__}, not an object")
    return pd.DataFrame.from_records(data)


def _read_csv(file: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(file, dtype=str, keep_default_na=False, na_filter=False,
                           encoding="utf-8")
    except OSError as exc:
        raise DiffError(file, f"cannot be read ({exc.strerror or exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise DiffError(file, "is empty (not even a header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DiffError(file, f"is not a readable CSV file ({first})") from exc


def normalize_findings(findings: pd.DataFrame, origin: object = "findings") -> pd.DataFrame:
    """Validate and normalise a findings frame for :func:`diff_findings` (idempotent).

    ``origin`` names the source in error messages. See :func:`load_findings` for what is
    normalised.
    """
    if not isinstance(findings, pd.DataFrame):
        raise DiffError(origin, f"expected a findings DataFrame, got {type(findings).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in findings.columns]
    if missing and not findings.empty:
        raise DiffError(origin, f"lacks the column(s) {', '.join(missing)} (findings need "
                                f"{', '.join(REQUIRED_COLUMNS)})")
    f = findings.copy()
    for col in ("check_id", "pillar", "severity", "status", "kind", "namespace", "name",
                "reason", "detail", "remediation", "waiver_reason", "frameworks"):
        if col not in f.columns:
            f[col] = ""
        f[col] = _text(f[col])
    for col in ("check_id", "severity", "status", "kind", "namespace", "name"):
        f[col] = f[col].str.strip()
    f["severity"] = f["severity"].str.lower()
    f["status"] = f["status"].str.lower()
    f["waived"] = _flag(f["waived"]) if "waived" in f.columns else False
    unknown_pillar = f["pillar"] == ""
    if unknown_pillar.any():
        meta = _catalogue()
        f.loc[unknown_pillar, "pillar"] = f.loc[unknown_pillar, "check_id"].map(
            lambda c: meta.get(c, {}).get("pillar", ""))
    dup = f.duplicated(KEY, keep=False)
    if dup.any():
        first = f.loc[dup, KEY].iloc[0]
        raise DiffError(origin, f"{int(dup.sum())} rows share an identity (check_id, kind, "
                                f"namespace, name), e.g. {' / '.join(map(str, first))}: one row "
                                "per check and resource is expected")
    return f.reset_index(drop=True)


def _text(values: pd.Series) -> pd.Series:
    """Strings with NA as "" and the CSV export's formula guard (``'=…``) removed."""
    s = values.fillna("").astype(str)
    quoted = s.str.startswith("'")
    if not quoted.any():
        return s
    tail = s[quoted].str[1:]
    s.loc[tail.index[tail.str.startswith(_FORMULA_PREFIXES)]] = tail[
        tail.str.startswith(_FORMULA_PREFIXES)]
    return s


def _flag(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool)

    def flag(value: object) -> bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return False
        return str(value).strip().lower() in _TRUE

    return values.map(flag).astype(bool)


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    """Title and pillar of every registered check (empty if the registry cannot load)."""
    try:
        from zt_toolkit.checks.registry import all_checks

        return {c.id: {"title": c.title, "pillar": c.pillar.value} for c in all_checks()}
    except Exception:  # titles are a nicety; a broken check module must not stop a diff
        log.exception("cannot read the check registry; the diff shows check ids only")
        return {}


def assessment_date(path: str | os.PathLike[str]) -> str:
    """The date of an assessment on disk, ``YYYY-MM-DD``.

    The ``date`` of the ``summary.json`` beside the findings when there is one; else the name
    of the report folder when it is a date (``reports/<client>/<YYYY-MM-DD>``); else the
    modification date of the findings file.

    Examples
    --------
    >>> from zt_toolkit.diff import assessment_date
    >>> assessment_date("reports/acme-shop/2026-05-04")               # doctest: +SKIP
    '2026-05-04'
    """
    file = findings_file(path)
    folder = file.parent
    summary = folder / "summary.json"
    if summary.is_file():
        try:
            value = orjson.loads(summary.read_bytes()).get("date")
            if value:
                return date.fromisoformat(str(value)[:10]).isoformat()
        except (OSError, orjson.JSONDecodeError, AttributeError, ValueError):
            log.warning("%s has no readable date; using the folder name or the file date",
                        summary)
    if _DAY.match(folder.name):
        return folder.name
    return datetime.fromtimestamp(file.stat().st_mtime).date().isoformat()


# ------------------------------------------------------------------------------------------
# comparing
# ------------------------------------------------------------------------------------------
def _state(status: pd.Series, waived: pd.Series) -> pd.Series:
    failing = status.eq("fail")
    return status.where(~(failing & waived.astype(bool)), "waived")


def diff_findings(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Compare two assessments finding by finding (see the module docstring for the rules).

    Parameters
    ----------
    old, new
        Findings frames (an ``Assessment.findings`` or :func:`load_findings`' result).

    Returns
    -------
    One row per identity that changed in a way that matters, plus the unchanged failures.
    Columns: ``change`` (one of :data:`CHANGES`), ``check_id, pillar, title`` (the catalogue
    title, else the id in words), ``kind, namespace, name``, ``old_status, new_status`` (the
    states ``fail`` = open, ``waived``, ``pass``, ``not_applicable``, ``not_assessed``,
    ``error``; None where the row is absent), ``old_severity, new_severity`` (None where
    absent), ``note`` (why this change: "now passes", "resource no longer present", "waiver
    expired 2026-09-30", "raised from medium to high" …) and ``detail`` (the finding's own
    detail, from the newer side when present). Sorted by change (:data:`CHANGES` order), then
    severity (most severe first), pillar, check and resource.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> from zt_toolkit.diff import diff_findings
    >>> before = assess("reports/demo-snapshot").findings                # doctest: +SKIP
    >>> after = assess("reports/demo-snapshot-fixed").findings           # doctest: +SKIP
    >>> diff_findings(before, after).change.value_counts()               # doctest: +SKIP
    """
    o = normalize_findings(old, "old findings")
    n = normalize_findings(new, "new findings")
    cols = ["pillar", "severity", "status", "waived", "detail", "waiver_reason"]
    m = o[[*KEY, *cols]].merge(n[[*KEY, *cols]], on=KEY, how="outer",
                               suffixes=("_old", "_new"), indicator=True)
    if m.empty:
        return _empty_diff()
    in_old, in_new = m["_merge"].ne("right_only"), m["_merge"].ne("left_only")
    s_old = _state(m["status_old"], m["waived_old"].where(in_old, False)).where(in_old, "absent")
    s_new = _state(m["status_new"], m["waived_new"].where(in_new, False)).where(in_new, "absent")
    sev_old, sev_new = m["severity_old"].fillna(""), m["severity_new"].fillna("")
    check_in_old = m["check_id"].isin(o["check_id"].unique())
    check_in_new = m["check_id"].isin(n["check_id"].unique())
    expired = m["waiver_reason_new"].fillna("").str.startswith("waiver expired")

    was_failing, is_failing = s_old.isin(_FAILING), s_new.isin(_FAILING)
    same_waiver_state = s_old.eq(s_new)
    conditions = [
        s_new.eq("fail") & ~was_failing,                                     # new
        s_new.eq("fail") & s_old.eq("waived") & expired,                     # waiver_expired
        s_new.eq("fail") & s_old.eq("waived"),                               # waiver_removed
        is_failing & same_waiver_state & sev_old.ne(sev_new),                # severity_changed
        s_old.isin(("pass", *_FAILING))
        & (s_new.isin(_NO_RESULT) | (s_new.eq("absent") & ~check_in_new)),  # not_assessed
        was_failing & s_new.isin(_GONE),                                     # resolved
        s_new.eq("waived") & s_old.ne("waived"),                             # waived
        is_failing & same_waiver_state,                                      # unchanged
    ]
    change = pd.Series(np.select(conditions, list(CHANGES), default=""), index=m.index)
    keep = change.ne("")
    m, change = m[keep], change[keep]
    s_old, s_new, sev_old, sev_new = s_old[keep], s_new[keep], sev_old[keep], sev_new[keep]
    check_in_old, check_in_new = check_in_old[keep], check_in_new[keep]
    if m.empty:
        return _empty_diff()

    meta = _catalogue()
    out = pd.DataFrame({
        "change": change,
        "check_id": m["check_id"],
        "pillar": m["pillar_new"].where(m["pillar_new"].fillna("").ne(""), m["pillar_old"]),
        "title": [meta[c]["title"] if c in meta else c.replace("_", " ").capitalize()
                  for c in m["check_id"].tolist()],
        "kind": m["kind"], "namespace": m["namespace"], "name": m["name"],
        "old_status": _or_none(s_old, "absent"), "new_status": _or_none(s_new, "absent"),
        "old_severity": _or_none(sev_old, ""), "new_severity": _or_none(sev_new, ""),
        "note": [_note(*args) for args in zip(*(
            v.tolist() for v in (change, s_old, s_new, sev_old, sev_new, check_in_old,
                                 check_in_new, m["waiver_reason_new"].fillna(""))), strict=True)],
        "detail": m["detail_new"].where(m["detail_new"].notna(), m["detail_old"]).fillna(""),
    })
    pillar_rank = {p.value: i for i, p in enumerate(Pillar)}
    severity = out["new_severity"].where(out["new_severity"].notna(), out["old_severity"])
    out = out.assign(
        _c=out["change"].map({c: i for i, c in enumerate(CHANGES)}),
        _s=severity.map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER)),
        _p=out["pillar"].map(pillar_rank).fillna(len(pillar_rank)),
    ).sort_values(["_c", "_s", "_p", "check_id", "kind", "namespace", "name"])
    return out[DIFF_COLUMNS].reset_index(drop=True)


def _or_none(values: pd.Series, missing: str) -> pd.Series:
    """Object series with None (not NaN) where a side is absent: JSON null, table "—"."""
    return pd.Series([None if v == missing else v for v in values.tolist()], index=values.index,
                     dtype=object)


def _empty_diff() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in DIFF_COLUMNS})
    df.attrs["note"] = "No difference that matters and no failure in either assessment."
    return df


_BEFORE = {"pass": "was passing", "not_applicable": "was not applicable",
           "not_assessed": "was not assessed before", "error": "the check errored before"}
_NOW = {"pass": "now passes", "not_applicable": "now not applicable",
        "not_assessed": "not assessed now", "error": "the check errored now"}


def _note(change: str, old: str, new: str, sev_old: str, sev_new: str, check_in_old: bool,
          check_in_new: bool, waiver_reason: str) -> str:
    """Why a row got its change value, in a few words."""
    if change == "new":
        if old == "absent":
            return ("check not in the previous assessment" if not check_in_old
                    else "resource not in the previous assessment")
        return _BEFORE.get(old, f"was {old}")
    if change == "waiver_expired":
        return waiver_reason.split(":", 1)[0]  # "waiver expired 2026-09-30 (not applied)"
    if change == "waiver_removed":
        return "no waiver covers it any more"
    if change == "severity_changed":
        direction = ("raised" if SEVERITY_ORDER.get(sev_new, 99) < SEVERITY_ORDER.get(sev_old, 99)
                     else "lowered")
        waived = " (waived in both)" if new == "waived" else ""
        return f"{direction} from {sev_old} to {sev_new}{waived}"
    if change == "not_assessed":
        lost = (_NOW.get(new, "") if new != "absent" else "check not in the new assessment")
        was = {"fail": "failed", "waived": "failed (waived)", "pass": "passed"}[old]
        return f"{was} before, {lost}: coverage lost, not resolved"
    if change == "resolved":
        how = ("resource no longer present" if new == "absent" else _NOW[new])
        return f"{how} (was waived)" if old == "waived" else how
    if change == "waived":
        reason = waiver_reason or "waiver"
        return (f"newly waived: {reason}" if old == "fail"
                else f"fails, already waived: {reason}")
    return "still waived" if new == "waived" else "still failing"


def summarize_diff(diff: pd.DataFrame) -> pd.DataFrame:
    """Count the changes per pillar.

    Returns
    -------
    One row per pillar (all six in report order, then any other pillar found in the diff):
    ``pillar, title``, one count column per change kind (:data:`CHANGES`) and ``total``
    (all rows but ``unchanged``). ``attrs["note"]`` says when there is no change.

    Examples
    --------
    >>> from zt_toolkit.diff import diff_findings, load_findings, summarize_diff
    >>> summarize_diff(diff_findings(load_findings("old"), load_findings("new")))  # doctest: +SKIP
    """
    pillars = [p.value for p in Pillar]
    pillars += sorted(set(diff["pillar"].dropna()) - set(pillars)) if len(diff) else []
    counts = (pd.crosstab(diff["pillar"], diff["change"]) if len(diff)
              else pd.DataFrame()).reindex(index=pillars, columns=list(CHANGES), fill_value=0)
    counts = counts.fillna(0).astype(int)
    out = counts.reset_index(names="pillar")
    known = {p.value for p in Pillar}
    out.insert(1, "title", [PILLAR_TITLES[Pillar(p)] if p in known else (p or "(unknown)")
                            for p in out["pillar"]])
    out["total"] = out[[c for c in CHANGES if c != "unchanged"]].sum(axis=1)
    out.columns.name = None
    if not int(out["total"].sum()):
        out.attrs["note"] = "Nothing changed between the two assessments."
    return out


# ------------------------------------------------------------------------------------------
# output for `zt diff`
# ------------------------------------------------------------------------------------------
CHANGE_STYLES = {"new": "bold red", "waiver_expired": "red", "waiver_removed": "red",
                 "severity_changed": "yellow", "not_assessed": "magenta", "resolved": "green",
                 "waived": "cyan", "unchanged": "dim"}


def diff_records(diff: pd.DataFrame) -> list[dict[str, object]]:
    """The diff rows as JSON-safe dicts (None where a side is absent)."""
    return diff.astype(object).where(diff.notna(), None).to_dict(orient="records")


def render_diff(diff: pd.DataFrame, format: str) -> str:  # noqa: A002
    """The diff as ``json`` (a list of objects with :data:`DIFF_COLUMNS`) or ``csv`` text."""
    if format == "json":
        return orjson.dumps(diff_records(diff), option=orjson.OPT_INDENT_2).decode() + "\n"
    if format == "csv":
        return diff.to_csv(index=False)
    raise ValueError(f"unknown diff format {format!r}")


def diff_tables(diff: pd.DataFrame, *, title: str = "", show_unchanged: bool = False) -> list:
    """Two rich tables for a terminal: counts per pillar and change, then the changed rows.

    Cluster text goes into :class:`rich.text.Text` cells, so a resource name that looks like
    rich markup (``[bold]…``) is printed as it is.
    """
    from rich.table import Table
    from rich.text import Text

    counts = summarize_diff(diff)
    kinds = [c for c in CHANGES if int(counts[c].sum()) or c in ("new", "resolved")]
    summary = Table(title=Text(title or "Changes per pillar"), title_justify="left")
    summary.add_column("pillar")
    for kind in kinds:
        summary.add_column(kind.replace("_", " "), justify="right", style=CHANGE_STYLES[kind])
    for row in counts.itertuples(index=False):
        values = [int(getattr(row, k)) for k in kinds]
        if any(values):
            summary.add_row(row.title, *[str(v) if v else "·" for v in values])
    summary.add_row("All pillars", *[str(int(counts[k].sum())) for k in kinds],
                    style="bold", end_section=True)

    shown = diff if show_unchanged else diff[diff["change"] != "unchanged"]
    hidden = len(diff) - len(shown)
    rows = Table(title=f"{len(shown)} changed finding(s)"
                       + (f" ({hidden} unchanged failures not shown; --all lists them)"
                          if hidden else ""), title_justify="left")
    for col in ("change", "severity", "check", "resource", "status", "note"):
        rows.add_column(col, overflow="fold")
    for r in shown.itertuples(index=False):
        sev = (r.new_severity or r.old_severity or "") if r.old_severity == r.new_severity \
            or not (r.old_severity and r.new_severity) else f"{r.old_severity} → {r.new_severity}"
        resource = " ".join(x for x in (r.kind, "/".join(y for y in (r.namespace, r.name) if y))
                            if x)
        status = f"{r.old_status or 'absent'} → {r.new_status or 'absent'}"
        rows.add_row(Text(r.change, style=CHANGE_STYLES.get(r.change, "")), Text(sev),
                     Text(r.check_id), Text(resource), Text(status), Text(r.note))
    return [summary, rows]
