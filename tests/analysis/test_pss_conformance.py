"""Conformance with the pod-security-admission library's own fixtures: every one must agree.

Each row of ``psa_manifest.csv`` is one Pod evaluated at its own level and version: ``pass``
means the profile allows it; ``fail`` means it is denied and the named check fails (or, under
restricted, the restricted check that replaces it at that version, e.g. ``restrictedVolumes``
for ``hostPathVolumes``), with the library's error text in its reason or detail.
"""

from __future__ import annotations

import csv

import pytest
import yaml

from tests.conftest import ORACLES
from zt_toolkit.analysis.pss import CHECK_TITLES, evaluate_pod, overriding_check

PSA = ORACLES / "psa"
ROWS = list(csv.DictReader((PSA / "psa_manifest.csv").open(encoding="utf-8")))
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_manifest_lists_every_fixture():
    on_disk = {p.relative_to(PSA).as_posix() for p in PSA.rglob("*.yaml")}
    assert len(ROWS) == 4537
    assert {r["path"] for r in ROWS} == on_disk


def test_every_check_id_of_the_fixtures_is_known():
    assert {r["check_id"] for r in ROWS if r["check_id"]} <= set(CHECK_TITLES)


@pytest.mark.parametrize("row", ROWS, ids=[r["path"] for r in ROWS])
def test_fixture_verdict(row):
    pod = yaml.load((PSA / row["path"]).read_text(encoding="utf-8"), Loader=_Loader)
    verdict = evaluate_pod(pod, row["level"], row["version"])
    if row["expected"] == "pass":
        assert verdict.allowed, f"{row['path']} must be allowed: {verdict.describe()}"
        assert verdict.violations == ()
        return
    assert not verdict.allowed, f"{row['path']} must be denied by {row['check_id']}"
    reported = overriding_check(row["check_id"], row["level"], row["version"])
    mine = [v for v in verdict.violations if v.check_id == reported]
    assert mine, f"{row['path']}: {reported} not among {verdict.check_ids}"
    text = " ".join(f"{v.reason} {v.detail}" for v in mine)
    assert row["expected_error_substring"] in text, (row["path"], text)
