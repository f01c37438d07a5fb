"""The runner decides not_assessed, error, waivers, the baseline and severity overrides."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from zt_toolkit.checks import get_check, run_checks
from zt_toolkit.checks.model import FINDINGS_COLUMNS, Check, Pillar, Severity
from zt_toolkit.config import EngagementConfig
from zt_toolkit.errors import ConfigError, NotAssessed
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot, SnapshotWriter

APE = "container_privilege_escalation_disallowed"


def deployment(name, namespace, ape=None):
    sc = {} if ape is None else {"securityContext": {"allowPrivilegeEscalation": ape}}
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"metadata": {}, "spec": {
                "containers": [{"name": name, "image": "example/x:1", **sc}]}}}}


@pytest.fixture
def snapshot(tmp_path):
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c1"})
    w.write_k8s("deployments.apps", [deployment("good", "shop", False), deployment("bad", "shop"),
                                     deployment("aws-node-ish", "kube-system")],
                kind="DeploymentList", api_version="apps/v1")
    return Snapshot.load(w.close())


def frames_with(snapshot, **config):
    return Frames(snapshot, EngagementConfig.from_dict(config))


def by_name(findings):
    return dict(zip(findings.name, findings.status, strict=True))


def test_findings_have_the_fixed_schema_and_per_workload_rows(snapshot):
    findings = run_checks(frames_with(snapshot), [get_check(APE)])
    assert tuple(findings.columns) == FINDINGS_COLUMNS
    assert by_name(findings) == {"good": "pass", "bad": "fail", "aws-node-ish": "fail"}
    bad = findings.set_index("name").loc["bad"]
    assert bad.reason == "allowPrivilegeEscalation != false"
    assert bad.detail == 'containers "bad"'
    assert bad.severity == "high" and bad.pillar == "pod_security"


def test_missing_source_is_not_assessed_never_pass(tmp_path):
    w = SnapshotWriter(tmp_path / "snap", source="demo", cluster={"name": "c1"})
    w.record_gap("k8s/pods", "forbidden", "403 pods is forbidden")
    for key in ("deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps",
                "jobs.batch", "cronjobs.batch"):
        w.record_gap(f"k8s/{key}", "forbidden", "403")
    findings = run_checks(Frames(Snapshot.load(w.close())), [get_check(APE)])
    assert findings.status.tolist() == ["not_assessed"]
    assert "k8s/pods: forbidden (403 pods is forbidden)" in findings.detail.iloc[0]
    assert findings.kind.iloc[0] == "Cluster" and findings.name.iloc[0] == "c1"


def _adhoc(id_, fn, requires=("containers",)):
    fn.__name__ = id_
    return Check(id=id_, pillar=Pillar.POD_SECURITY, severity=Severity.LOW, title="t",
                 requires=requires, remediation="r", reason="bad", references=("seed",),
                 rationale="doc", func=fn)


def test_a_raising_check_is_error_and_others_still_run(snapshot):
    def boom(frames):
        raise KeyError("no such column")

    def shy(frames):
        raise NotAssessed("needs the admission webhooks, which were not collected")

    findings = run_checks(frames_with(snapshot),
                          [_adhoc("boom_check", boom), _adhoc("shy_check", shy), get_check(APE)])
    status = findings.groupby("check_id").status.agg(set).to_dict()
    assert status["boom_check"] == {"error"}
    assert "KeyError" in findings[findings.check_id == "boom_check"].detail.iloc[0]
    assert status["shy_check"] == {"not_assessed"}
    assert status[APE] == {"pass", "fail"}


def test_no_rows_means_not_applicable(snapshot):
    def nothing(frames):
        return pd.DataFrame(columns=["kind", "namespace", "name", "status", "detail"])

    findings = run_checks(frames_with(snapshot), [_adhoc("empty_check", nothing)])
    assert findings.status.tolist() == ["not_applicable"]


def test_invalid_status_from_a_check_is_an_error(snapshot):
    def sloppy(frames):
        return pd.DataFrame([{"kind": "X", "namespace": "", "name": "x", "status": "ok",
                              "detail": ""}])

    findings = run_checks(frames_with(snapshot), [_adhoc("sloppy_check", sloppy)])
    assert findings.status.tolist() == ["error"]


def test_waivers_apply_until_they_expire(snapshot):
    waiver = {"check": APE, "resource": {"kind": "Deployment", "namespace": "shop", "name": "b*"},
              "reason": "vendor image", "owner": "ops@example.com"}
    live = run_checks(frames_with(snapshot, waivers=[{**waiver, "expires": "2027-01-01"}],
                                  today="2026-11-27"), [get_check(APE)]).set_index("name")
    assert live.loc["bad", "waived"] and live.loc["bad", "status"] == "fail"
    assert live.loc[
        "bad", "waiver_reason"] == "vendor image (owner ops@example.com, expires 2027-01-01)"
    assert not live.loc["good", "waived"]
    expired = run_checks(frames_with(snapshot, waivers=[{**waiver, "expires": "2026-10-01"}],
                                     today="2026-11-27"), [get_check(APE)]).set_index("name")
    assert not expired.loc["bad", "waived"]
    assert expired.loc["bad", "waiver_reason"].startswith("waiver expired 2026-10-01")


def test_severity_override(snapshot):
    findings = run_checks(frames_with(snapshot, severity_overrides={APE: "low"}),
                          [get_check(APE)])
    assert set(findings.severity) == {"low"}


def test_a_check_may_grade_its_rows_and_the_config_still_wins(snapshot):
    def graded(frames):
        return pd.DataFrame([
            {"kind": "X", "namespace": "", "name": "default-key", "status": "fail",
             "detail": "", "severity": "low"},
            {"kind": "X", "namespace": "", "name": "no-key", "status": "fail", "detail": "",
             "severity": None}])

    chk = _adhoc("graded_check", graded)
    findings = run_checks(frames_with(snapshot), [chk]).set_index("name")
    assert findings.loc["default-key", "severity"] == "low"
    assert findings.loc["no-key", "severity"] == chk.severity.value
    overridden = run_checks(frames_with(snapshot, severity_overrides={"graded_check": "high"}),
                            [chk])
    assert set(overridden.severity) == {"high"}


def test_an_unknown_row_severity_is_an_error(snapshot):
    def sloppy(frames):
        return pd.DataFrame([{"kind": "X", "namespace": "", "name": "x", "status": "fail",
                              "detail": "", "severity": "urgent"}])

    findings = run_checks(frames_with(snapshot), [_adhoc("sloppy_severity", sloppy)])
    assert findings.status.tolist() == ["error"]
    assert "urgent" in findings.detail.iloc[0]


def test_config_errors_are_reported_together(tmp_path):
    path = tmp_path / "engagement.yaml"
    path.write_text("severity_overrides: {x: urgent}\nwaivers: [{check: x}]\nbogus: 1\n")
    with pytest.raises(ConfigError) as err:
        EngagementConfig.load(path)
    text = str(err.value)
    assert str(path) in text and "urgent" in text and "needs a reason" in text and "bogus" in text


def test_logo_resolves_against_the_config_file_and_is_checked(tmp_path):
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "good.yaml").write_text("logo: logo.svg\n")
    assert EngagementConfig.load(tmp_path / "good.yaml").logo == tmp_path / "logo.svg"
    (tmp_path / "missing.yaml").write_text("logo: nowhere.png\n")
    with pytest.raises(ConfigError, match="nowhere.png does not exist"):
        EngagementConfig.load(tmp_path / "missing.yaml")
    (tmp_path / "kind.yaml").write_text("logo: logo.gif\n")
    with pytest.raises(ConfigError, match="not one of"):
        EngagementConfig.load(tmp_path / "kind.yaml")


def test_unknown_check_parameter_is_a_config_error():
    config = EngagementConfig.from_dict({"parameters": {"x": {"nope": 1}}})
    with pytest.raises(ConfigError, match="nope"):
        config.params_for("x", {"max_prefix": 16})


def test_baseline_waiver_is_visible(snapshot):
    config = EngagementConfig(today=date(2026, 11, 27))
    baseline = [w for w in config.all_waivers() if w.source == "baseline"]
    assert baseline, "the EKS baseline ships with the toolkit"
    assert all(w.describe().startswith("EKS baseline: ") for w in baseline)
