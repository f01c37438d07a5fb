"""The `zt` command line, run in-process through typer's runner (the real CLI code path)."""

from __future__ import annotations

import io

import orjson
import pandas as pd
from typer.testing import CliRunner

from tests.conftest import ORACLES
from zt_toolkit.checks import all_checks
from zt_toolkit.cli import app

runner = CliRunner()
ONLINE_BOUTIQUE = ORACLES / "netpol" / "tests" / "onlineboutique"


def zt(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_import_then_assess_online_boutique(tmp_path):
    out = tmp_path / "ob"
    assert zt("import", ONLINE_BOUTIQUE, "--out", out).exit_code == 0
    result = zt("assess", out, "--format", "json")
    assert result.exit_code == 0, result.output
    findings = pd.DataFrame(orjson.loads(result.stdout))
    aws_checks = {c.id for c in all_checks() if any(r.startswith("eks_") or r in {
        "iam_roles", "ecr_repositories", "kms_keys", "log_groups", "guardduty_detectors",
        "cloudtrail_trails", "security_groups", "flow_logs", "access_entries"}
        for r in c.requires)}
    assert aws_checks, "some checks read AWS data"
    for check_id in aws_checks:
        statuses = set(findings[findings.check_id == check_id].status)
        assert statuses == {"not_assessed"}, (check_id, statuses)
    # the Kubernetes side is assessed: its pods belong to ReplicaSets that are not in the
    # manifests, so each ReplicaSet is the workload (as np-guard names them too)
    ape = findings[findings.check_id == "container_privilege_escalation_disallowed"]
    assert set(ape.kind) == {"ReplicaSet"}
    assert {"frontend-99684f7f8", "cartservice-74f56fd4b"} <= set(ape.name)
    assert set(ape.status) <= {"pass", "fail"}


def test_assess_writes_csv_and_fails_on_severity(demo_snapshot, tmp_path):
    out = tmp_path / "findings.csv"
    result = zt("assess", demo_snapshot, "--format", "csv", "--out", out, "--fail-on", "critical")
    assert result.exit_code == 1, result.output  # the demo has unwaived critical failures
    findings = pd.read_csv(out, keep_default_na=False)
    assert list(findings.columns)[:4] == ["check_id", "pillar", "severity", "status"]
    assert zt("assess", demo_snapshot, "--format", "csv").exit_code == 0
    table = pd.read_csv(io.StringIO(zt("assess", demo_snapshot, "--format", "csv").stdout))
    assert len(table) == len(findings)


def test_damaged_snapshot_is_named_and_exits_2(demo_snapshot, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(demo_snapshot, broken)
    (broken / "manifest.json").write_text('{"schema_version": 99}')
    result = zt("assess", broken)
    assert result.exit_code == 2
    text = " ".join(result.output.split()).replace(" ", "")  # rich wraps long lines
    assert "manifest.json" in text and "schema_version" in text
