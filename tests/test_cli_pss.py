"""`zt pss`: one verdict per workload, exit 1 when any is denied (usable in CI before deploy)."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from tests.conftest import ORACLES
from zt_toolkit.cli import app

runner = CliRunner()
PSA = ORACLES / "psa"


def zt(*args):
    return runner.invoke(app, [str(a) for a in args])


def verdicts(result):
    return {r["name"]: r for r in orjson.loads(result.stdout)}


@pytest.mark.parametrize("level", ["restricted", "baseline"])
def test_v1_30_fail_folder_denies_every_file(level):
    folder = PSA / level / "v1.30" / "fail"
    result = zt("pss", folder, "--level", level, "--version", "v1.30", "--format", "json")
    assert result.exit_code == 1, result.output
    found = verdicts(result)
    files = sorted(folder.glob("*.yaml"))
    assert set(found) == {f.stem for f in files}
    for f in files:
        v = found[f.stem]
        assert v["source"] == str(f)
        assert v["allowed"] is False, f
        assert v["violations"], f
        assert (v["kind"], v["namespace"], v["level"], v["version"]) == (
            "Pod", "default", level, "v1.30")


@pytest.mark.parametrize("level", ["restricted", "baseline"])
def test_v1_30_pass_folder_allows_every_file(level):
    folder = PSA / level / "v1.30" / "pass"
    result = zt("pss", folder, "--level", level, "--version", "v1.30", "--format", "json")
    assert result.exit_code == 0, result.output
    found = verdicts(result)
    assert set(found) == {f.stem for f in folder.glob("*.yaml")}
    for name, v in found.items():
        assert v["allowed"] is True and v["violations"] == [], name


def test_table_names_each_workload_and_its_checks():
    folder = PSA / "restricted" / "v1.30" / "fail"
    result = zt("pss", folder / "privileged0.yaml", folder / "runasuser0.yaml",
                "--level", "restricted", "--version", "v1.30")
    assert result.exit_code == 1
    assert "Pod default/privileged0" in result.stdout
    assert "privileged:" in result.stdout and "runAsUser:" in result.stdout
    assert "denied" in result.stdout


def test_snapshot_is_evaluated_per_workload(demo_snapshot):
    result = zt("pss", demo_snapshot, "--level", "baseline", "--format", "json")
    assert result.exit_code == 1  # the demo has privileged DaemonSets
    records = orjson.loads(result.stdout)
    by_key = {(r["kind"], r["namespace"], r["name"]): r for r in records}
    falco = by_key[("DaemonSet", "monitoring", "falco")]
    assert not falco["allowed"]
    assert "privileged" in {v["check_id"] for v in falco["violations"]}
    assert by_key[("Deployment", "storefront", "api")]["allowed"]
    assert {r["version"] for r in records} == {"v1.37"}


def test_unparseable_file_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "good.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n"
        "spec: {containers: [{name: a, image: nginx}]}\n")
    (tmp_path / "bad.yaml").write_text("kind: Pod\n\tmetadata: {}\n")
    result = zt("pss", tmp_path, "--level", "baseline", "--format", "json")
    assert result.exit_code == 0, result.output
    assert list(verdicts(result)) == ["ok"]
    assert "bad.yaml" in result.stderr and "warning" in result.stderr


@pytest.mark.parametrize("args", [
    ("--version", "v2.0"),
    ("--version", "1.x"),
])
def test_bad_version_exits_2(args):
    result = zt("pss", PSA / "baseline" / "v1.30" / "pass", "--level", "baseline", *args)
    assert result.exit_code == 2
    assert "version" in result.stderr


def test_missing_path_or_nothing_to_evaluate_exits_2(tmp_path):
    result = zt("pss", tmp_path / "nope", "--level", "baseline")
    assert result.exit_code == 2 and "nope" in result.stderr
    (tmp_path / "svc.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    result = zt("pss", tmp_path, "--level", "baseline")
    assert result.exit_code == 2 and "no Pods or workloads" in result.stderr
