"""eks_secrets_encryption_kms_cmk grades its row: the AWS-owned default key fails at low.

The generic case test pins statuses; this one pins the per-row severity the runner takes from
the check, and the grade the secrets view shows, for each encryption case file.
"""

from __future__ import annotations

import pytest
import yaml

from tests.checks.casefiles import CASES, build_case_frames
from zt_toolkit.checks import get_check, run_checks
from zt_toolkit.frames.eks import eks_cluster_row
from zt_toolkit.frames.secrets import plain, secrets_encryption

FOLDER = CASES / "eks_secrets_encryption_kms_cmk"

# case file → (status, severity, grade)
EXPECTED = {
    "pass-customer-managed-key-rotating": ("pass", "high", "customer-managed key, rotating"),
    "pass-customer-managed-key-without-rotation": ("pass", "high",
                                                   "customer-managed key, no rotation"),
    "pass-customer-managed-key": ("pass", "high", "customer-managed key, rotation unknown"),
    "fail-aws-owned-default-key-1-29": ("fail", "low", "AWS-owned default key"),
    "fail-aws-owned-default-key-1-28": ("fail", "low", "AWS-owned default key"),
    "fail-not-envelope-encrypted-1-27": ("fail", "high", "not envelope-encrypted"),
    "fail-key-pending-deletion": ("fail", "high", "key unusable"),
    "fail-key-disabled": ("fail", "high", "key unusable"),
    "fail-aws-managed-key": ("fail", "high", "AWS-managed key"),
    "not_assessed-describe-key-access-denied": ("not_assessed", "high", "not assessed"),
    "not_assessed-describe-key-forbidden-coverage": ("not_assessed", "high", "not assessed"),
}


def _run(stem: str, tmp_path, config: dict | None = None):
    case = yaml.safe_load((FOLDER / f"{stem}.yaml").read_text())
    if config is not None:
        case["config"] = config
    frames = build_case_frames(case, tmp_path)
    findings = run_checks(frames, [get_check("eks_secrets_encryption_kms_cmk")])
    return frames, findings.set_index(["kind", "namespace", "name"]).loc[
        ("Cluster", "", "case-cluster")]


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_status_severity_and_grade(stem, tmp_path):
    status, severity, grade = EXPECTED[stem]
    frames, row = _run(stem, tmp_path)
    assert (row["status"], row["severity"]) == (status, severity)
    assert secrets_encryption(frames, plain(eks_cluster_row(frames)))["grade"] == grade


def test_aws_owned_default_explains_it_is_encrypted(tmp_path):
    _, row = _run("fail-aws-owned-default-key-1-29", tmp_path)
    assert row["reason"].startswith("AWS-owned default key only")
    assert "encrypted at rest" in row["detail"] and "1.29" in row["detail"]


def test_engagement_override_beats_the_row_severity(tmp_path):
    _, row = _run("fail-aws-owned-default-key-1-29", tmp_path,
                  {"severity_overrides": {"eks_secrets_encryption_kms_cmk": "medium"}})
    assert row["severity"] == "medium"


def test_every_grade_case_is_listed():
    assert {p.stem for p in FOLDER.glob("*.yaml")} - set(EXPECTED) <= {
        "pass-alias-arn-resolves-to-customer-key", "not_assessed-describe-cluster-error",
        "not_assessed-describe-cluster-not-collected",
        "not_assessed-key-configured-kms-not-collected"}
