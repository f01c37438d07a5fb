"""The generic check-case test: every case file of every check, asserted per resource."""

from __future__ import annotations

import pytest
import yaml

from tests.checks.casefiles import CASES, build_case_frames, case_files, outcome_of
from zt_toolkit.checks import all_checks, get_check, run_checks


@pytest.mark.parametrize("path", case_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case(path, tmp_path):
    case = yaml.safe_load(path.read_text()) or {}
    chk = get_check(path.parent.name)
    findings = run_checks(build_case_frames(case, tmp_path), [chk])
    statuses = dict(zip(
        findings.kind + "/" + findings.namespace + "/" + findings.name, findings.status,
        strict=True))
    outcome = outcome_of(path)
    errors = findings[findings.status == "error"]
    assert errors.empty, f"check raised: {errors.detail.tolist()}"
    if outcome == "pass":
        assert set(statuses.values()) == {"pass"}, statuses
    elif outcome == "fail":
        assert "fail" in statuses.values(), statuses
    else:  # not_assessed / not_applicable: that outcome appears and nothing fails
        assert outcome in statuses.values() and "fail" not in statuses.values(), statuses
    for resource, expected in (case.get("expect") or {}).items():
        assert statuses.get(resource) == expected, (resource, statuses)


def test_every_check_has_pass_and_fail_cases():
    missing = []
    for chk in all_checks():
        outcomes = {outcome_of(p) for p in (CASES / chk.id).glob("*.yaml")}
        for needed in ("pass", "fail"):
            if needed not in outcomes:
                missing.append(f"{chk.id}: no {needed}- case")
    assert not missing, "\n".join(missing)


def test_case_folders_name_registered_checks():
    known = {c.id for c in all_checks()}
    strays = [p.name for p in CASES.iterdir() if p.is_dir() and p.name not in known]
    assert not strays, f"case folders for unknown checks: {strays}"
