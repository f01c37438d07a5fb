"""Meta-tests over the registry: every check agrees with the catalogue in ../shared/CHECKS.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zt_toolkit.checks import all_checks
from zt_toolkit.checks.model import Check, Pillar, Severity, validate_check
from zt_toolkit.errors import CheckDefinitionError

CATALOGUE = Path(__file__).resolve().parents[2].parent / "shared" / "CHECKS.md"
SEVERITY_WORDS = {"critical", "high", "medium", "low"}


def catalogue() -> dict[str, tuple[str, str]]:
    """check id → (pillar, severity) as written in CHECKS.md."""
    entries, pillar = {}, None
    for line in CATALOGUE.read_text().splitlines():
        heading = re.match(r"^## (\w+) —", line)
        if heading:
            pillar = heading.group(1)
        row = re.match(r"^\| ([a-z0-9_]+) \| (\w+) \|", line)
        if row and pillar and row.group(2) in SEVERITY_WORDS:
            entries[row.group(1)] = (pillar, row.group(2))
    return entries


def test_catalogue_is_readable():
    entries = catalogue()
    assert len(entries) > 60 and {p for p, _ in entries.values()} == {p.value for p in Pillar}


@pytest.mark.parametrize("chk", all_checks(), ids=lambda c: c.id)
def test_check_matches_catalogue(chk):
    entries = catalogue()
    assert chk.id in entries, f"{chk.id} is not in CHECKS.md"
    pillar, severity = entries[chk.id]
    assert chk.pillar.value == pillar
    assert chk.severity.value == severity


def test_at_least_four_checks_per_pillar():
    per_pillar = {p: 0 for p in Pillar}
    for chk in all_checks():
        per_pillar[chk.pillar] += 1
    assert all(n >= 4 for n in per_pillar.values()), per_pillar


def test_registry_rejects_a_badly_defined_check():
    def wrong_name(frames):
        """Doc."""

    bad = Check(id="ensure_things_ok", pillar=Pillar.NETWORK, severity=Severity.LOW,
                title="Ensure things are fine", requires=(), remediation="", reason="",
                references=("somewhere",), rationale="", func=wrong_name)
    with pytest.raises(CheckDefinitionError) as err:
        validate_check(bad, "zt_toolkit.checks.identity.other_name")
    text = str(err.value)
    for problem in ("function name must equal the id", "module must be named",
                    "checks/network/", "title", "remediation and reason", "docstring",
                    "requires", "reference 'somewhere'"):
        assert problem in text
