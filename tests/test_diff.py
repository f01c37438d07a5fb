"""`zt diff`: finding identity, every change kind, file formats, errors, two demo variants."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.report.factories import frame, row
from zt_toolkit.cli import app
from zt_toolkit.diff import (
    CHANGES,
    DIFF_COLUMNS,
    KEY,
    assessment_date,
    diff_findings,
    load_findings,
    summarize_diff,
)
from zt_toolkit.errors import DiffError, ZtError
from zt_toolkit.report.export import write_findings

runner = CliRunner()


def zt(*args):
    # a wide terminal: rich folds table cells at the default 80 columns
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "220"})


def by_name(diff: pd.DataFrame) -> dict[str, dict]:
    assert not diff.duplicated("name").any(), "test resources have unique names"
    return {r["name"]: r for r in diff.to_dict("records")}


# ------------------------------------------------------------------------------------------
# change kinds
# ------------------------------------------------------------------------------------------
EXPIRED = "waiver expired 2026-09-30 (not applied): vendor image needs root"

# name: (old row or None, new row or None, expected change or None, words in the note)
CASES = {
    "pass-to-fail": (row("c1", "pass"), row("c1", "fail"), "new", "was passing"),
    "na-to-fail": (row("c1", "not_applicable"), row("c1", "fail"), "new", "not applicable"),
    "unassessed-to-fail": (row("c1", "not_assessed"), row("c1", "fail"), "new",
                           "not assessed before"),
    "absent-to-fail": (None, row("c1", "fail"), "new", "resource not in the previous"),
    "new-check-fails": (None, row("c_added", "fail"), "new", "check not in the previous"),
    "fail-to-pass": (row("c1", "fail"), row("c1", "pass"), "resolved", "now passes"),
    "fail-to-na": (row("c1", "fail"), row("c1", "not_applicable"), "resolved",
                   "now not applicable"),
    "fail-to-gone": (row("c1", "fail"), None, "resolved", "resource no longer present"),
    "waived-to-pass": (row("c1", "fail", waived=True, waiver_reason="ok"), row("c1", "pass"),
                       "resolved", "was waived"),
    "fail-to-fail": (row("c1", "fail"), row("c1", "fail", detail="other text"), "unchanged",
                     "still failing"),
    "high-to-critical": (row("c2", "fail", severity="high"),
                         row("c2", "fail", severity="critical"), "severity_changed",
                         "raised from high to critical"),
    "critical-to-low": (row("c3", "fail", severity="critical"), row("c3", "fail", severity="low"),
                        "severity_changed", "lowered from critical to low"),
    "fail-to-unassessed": (row("c1", "fail"), row("c1", "not_assessed"), "not_assessed",
                           "not resolved"),
    "fail-to-error": (row("c1", "fail"), row("c1", "error"), "not_assessed", "errored now"),
    "fail-check-dropped": (row("c_dropped", "fail"), None, "not_assessed",
                           "check not in the new assessment"),
    "pass-to-unassessed": (row("c1", "pass"), row("c1", "not_assessed"), "not_assessed",
                           "passed before"),
    "fail-to-waived": (row("c1", "fail"), row("c1", "fail", waived=True, waiver_reason="SEC-1"),
                       "waived", "newly waived: SEC-1"),
    "born-waived": (None, row("c1", "fail", waived=True, waiver_reason="SEC-2"), "waived",
                    "already waived"),
    "waiver-expired": (row("c1", "fail", waived=True, waiver_reason="vendor image"),
                       row("c1", "fail", waiver_reason=EXPIRED), "waiver_expired",
                       "waiver expired 2026-09-30"),
    "waiver-removed": (row("c1", "fail", waived=True, waiver_reason="SEC-3"), row("c1", "fail"),
                       "waiver_removed", "no waiver covers it"),
    "still-waived": (row("c1", "fail", waived=True, waiver_reason="SEC-4"),
                     row("c1", "fail", waived=True, waiver_reason="SEC-4"), "unchanged",
                     "still waived"),
    "pass-to-pass": (row("c1", "pass"), row("c1", "pass"), None, ""),
    "unassessed-to-pass": (row("c1", "not_assessed"), row("c1", "pass"), None, ""),
    "pass-to-na": (row("c1", "pass"), row("c1", "not_applicable"), None, ""),
    "absent-to-pass": (None, row("c1", "pass"), None, ""),
    "pass-to-gone": (row("c1", "pass"), None, None, ""),
}


def _named(r: dict | None, name: str) -> dict | None:
    return None if r is None else {**r, "name": name}


@pytest.fixture(scope="module")
def case_diff() -> pd.DataFrame:
    old = frame(*[_named(o, n) for n, (o, _, _, _) in CASES.items() if o is not None])
    new = frame(*[_named(w, n) for n, (_, w, _, _) in CASES.items() if w is not None])
    return diff_findings(old, new)


@pytest.mark.parametrize("name", list(CASES))
def test_each_transition_gets_its_change(case_diff, name):
    _, _, change, words = CASES[name]
    rows = by_name(case_diff)
    if change is None:
        assert name not in rows, f"{name} should not be reported: {rows.get(name)}"
        return
    got = rows[name]
    assert got["change"] == change, (name, got)
    assert words in got["note"], (name, got["note"])


def test_not_assessed_is_never_resolved(case_diff):
    rows = by_name(case_diff)
    for name in ("fail-to-unassessed", "fail-to-error", "fail-check-dropped"):
        assert rows[name]["change"] == "not_assessed"
        assert rows[name]["old_status"] == "fail"
    assert rows["fail-to-unassessed"]["new_status"] == "not_assessed"
    assert rows["fail-check-dropped"]["new_status"] is None
    resolved = case_diff[case_diff.change == "resolved"]
    assert set(resolved.new_status.fillna("absent")) <= {"pass", "not_applicable", "absent"}


def test_statuses_severities_and_columns(case_diff):
    assert list(case_diff.columns) == DIFF_COLUMNS
    rows = by_name(case_diff)
    new = rows["absent-to-fail"]
    assert (new["old_status"], new["new_status"]) == (None, "fail")
    assert (new["old_severity"], new["new_severity"]) == (None, "high")
    expired = rows["waiver-expired"]
    assert (expired["old_status"], expired["new_status"]) == ("waived", "fail")
    assert rows["fail-to-fail"]["detail"] == "other text"  # the newer side's detail
    sev = rows["high-to-critical"]
    assert (sev["old_severity"], sev["new_severity"]) == ("high", "critical")
    assert set(case_diff.change) <= set(CHANGES)


def test_sorted_by_change_then_severity():
    old = frame(row("a", "pass", severity="low", name="x1"),
                row("a", "pass", severity="low", name="x2"),
                row("b", "fail", severity="medium", name="y1"),
                row("c", "pass", severity="critical", name="x3"))
    new = frame(row("a", "fail", severity="low", name="x1"),
                row("a", "pass", severity="low", name="x2"),
                row("b", "pass", severity="medium", name="y1"),
                row("c", "fail", severity="critical", name="x3"))
    d = diff_findings(old, new)
    assert list(zip(d.change, d.name, strict=True)) == [
        ("new", "x3"), ("new", "x1"), ("resolved", "y1")]


def test_identity_is_check_kind_namespace_name():
    """Same name in another namespace, kind or check is another finding."""
    old = frame(row("c1", "fail", namespace="shop", name="api"))
    new = frame(row("c1", "fail", namespace="shop", name="api", detail="moved rows around"),
                row("c1", "fail", namespace="other", name="api"),
                row("c1", "fail", kind="StatefulSet", namespace="shop", name="api"),
                row("c9", "fail", namespace="shop", name="api"))
    d = diff_findings(old, new.iloc[::-1])  # row order does not matter
    got = {tuple(r[k] for k in KEY): r["change"] for r in d.to_dict("records")}
    assert got == {
        ("c1", "Deployment", "shop", "api"): "unchanged",
        ("c1", "Deployment", "other", "api"): "new",
        ("c1", "StatefulSet", "shop", "api"): "new",
        ("c9", "Deployment", "shop", "api"): "new",
    }


def test_cluster_scoped_namespace_na_and_empty_are_one_identity():
    old = frame(row("c1", "fail", kind="ClusterRole", namespace="", name="admin"))
    new = frame(row("c1", "fail", kind="ClusterRole", namespace="", name="admin"))
    new["namespace"] = [None]
    d = diff_findings(old, new)
    assert d.change.tolist() == ["unchanged"] and d.namespace.tolist() == [""]


def test_summarize_diff_counts_per_pillar(case_diff):
    s = summarize_diff(case_diff).set_index("pillar")
    assert list(s.index[:6]) == ["network", "identity", "pod_security", "images", "secrets",
                                 "audit"]
    ps = s.loc["pod_security"]
    expected = case_diff.change.value_counts()
    for change in CHANGES:
        assert ps[change] == expected.get(change, 0), change
    assert ps["total"] == len(case_diff) - expected.get("unchanged", 0)
    assert s.loc["network"].drop("title").sum() == 0


def test_no_changes_is_an_empty_diff_with_a_note():
    f = frame(row("c1", "pass"))
    d = diff_findings(f, f)
    assert d.empty and list(d.columns) == DIFF_COLUMNS and d.attrs["note"]
    assert summarize_diff(d).attrs["note"] == "Nothing changed between the two assessments."


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------
def tricky_findings() -> pd.DataFrame:
    return frame(
        row("c1", "fail", name="=HYPERLINK(\"http://x\")", detail="a, b\nc"),
        row("c1", "pass", name="-leading-dash"),
        row("c1", "fail", name="NA", namespace="null"),
        row("c2", "fail", kind="ClusterRole", namespace="", name="@admin", waived=True,
            waiver_reason="+accepted"),
        row("c3", "not_assessed", kind="Cluster", namespace="", name="prod"),
    )


def test_csv_and_json_of_the_same_findings_load_equal(tmp_path):
    findings = tricky_findings()
    csv_path, json_path = write_findings(findings, tmp_path)
    assert "'=HYPERLINK" in csv_path.read_text()  # the export guards formulas
    from_csv, from_json = load_findings(csv_path), load_findings(json_path)
    cols = [*KEY, "status", "severity", "waived", "detail", "waiver_reason", "pillar"]
    pd.testing.assert_frame_equal(from_csv[cols], from_json[cols])
    assert from_json["name"].tolist() == findings["name"].tolist()
    assert from_json["namespace"].tolist()[2:4] == ["null", ""]
    assert from_json["waived"].tolist() == [False, False, False, True, False]
    d = diff_findings(from_csv, from_json)
    assert set(d.change) == {"unchanged"} and len(d) == 3


def test_report_folder_prefers_json_and_falls_back_to_csv(tmp_path):
    write_findings(tricky_findings(), tmp_path)
    json_only = load_findings(tmp_path)
    (tmp_path / "findings.json").unlink()
    csv_only = load_findings(tmp_path)
    assert csv_only[KEY].equals(json_only[KEY])


def test_zt_assess_json_and_csv_outputs_load(demo_snapshot, tmp_path):
    for fmt in ("json", "csv"):
        assert zt("assess", demo_snapshot, "--format", fmt, "--out",
                  tmp_path / f"f.{fmt}").exit_code == 0
    a, b = load_findings(tmp_path / "f.json"), load_findings(tmp_path / "f.csv")
    assert len(a) == len(b) > 1000
    d = diff_findings(a, b)
    assert set(d.change) == {"unchanged"}


@pytest.mark.parametrize("name, content, problem", [
    ("findings.json", b"{not json", "not valid JSON"),
    ("findings.json", b'{"a": 1}', "list of findings"),
    ("findings.json", b"[1, 2]", "finding #0 is a int"),
    ("findings.json", orjson.dumps([{"check_id": "c", "kind": "k", "name": "n"}]),
     "namespace, status, severity"),
    ("findings.csv", b"", "is empty"),
    ("findings.csv", b"check_id,kind,name\nc,k,n\n", "namespace, status, severity"),
    ("findings.csv", b'check_id,kind,namespace,name,status,severity\n"c,k\n', "readable CSV"),
    ("findings.csv", b"\xff\xfe\x00garbage\x00", "readable CSV"),
    ("findings.txt", b"[]", "neither a .json nor a .csv"),
])
def test_malformed_files_raise_diff_error_naming_the_file(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DiffError) as err:
        load_findings(path)
    assert isinstance(err.value, ZtError)
    assert str(path) in str(err.value) and problem in str(err.value), str(err.value)


def test_duplicate_identity_is_an_error(tmp_path):
    path = tmp_path / "findings.json"
    path.write_bytes(orjson.dumps([row("c1", "fail"), row("c1", "pass")]))
    with pytest.raises(DiffError, match="share an identity"):
        load_findings(path)


def test_missing_path_and_folder_without_findings(tmp_path):
    with pytest.raises(DiffError, match="does not exist") as err:
        load_findings(tmp_path / "nope")
    assert "nope" in str(err.value)
    client = tmp_path / "acme-shop"
    (client / "2026-05-04").mkdir(parents=True)
    with pytest.raises(DiffError, match="2026-05-04: pass one of them"):
        load_findings(client)
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "manifest.json").write_text("{}")
    with pytest.raises(DiffError, match="looks like a snapshot"):
        load_findings(tmp_path / "snap")


def test_assessment_date_summary_then_folder_then_mtime(tmp_path):
    day = tmp_path / "2026-05-04"
    write_findings(frame(row("c1")), day)
    assert assessment_date(day) == "2026-05-04"
    (day / "summary.json").write_bytes(orjson.dumps({"date": "2026-05-03"}))
    assert assessment_date(day / "findings.csv") == "2026-05-03"
    loose = tmp_path / "loose"
    write_findings(frame(row("c1")), loose)
    os.utime(loose / "findings.json", (1767225600, 1767225600))  # 2026-01-01 00:00 UTC
    assert assessment_date(loose) in ("2025-12-31", "2026-01-01")  # local time zone


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
@pytest.fixture
def two_folders(tmp_path) -> tuple[Path, Path]:
    old = frame(row("c1", "fail", name="fixed"), row("c1", "pass", name="broken"),
                row("c1", "fail", name="same"), row("c2", "fail", name="[red]markup[/red]"))
    new = frame(row("c1", "pass", name="fixed"), row("c1", "fail", name="broken"),
                row("c1", "fail", name="same"),
                row("c2", "fail", severity="critical", name="[red]markup[/red]"))
    a, b = tmp_path / "acme" / "2026-05-04", tmp_path / "acme" / "2026-11-27"
    write_findings(old, a)
    write_findings(new, b)
    return a, b


def test_cli_diff_table(two_folders):
    a, b = two_folders
    result = zt("diff", a, b)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Pod security" in text and "All pillars" in text
    lines = {n: next((ln for ln in text.splitlines() if n in ln), "") for n in
             ("fixed", "broken", "[red]markup")}
    assert "resolved" in lines["fixed"] and "new" in lines["broken"]
    assert "severity" in lines["[red]markup"]  # markup in a name is printed, not interpreted
    assert "same" not in text.replace("unchanged", "")
    assert "1 unchanged failures not shown" in " ".join(text.split())
    assert "same" in zt("diff", a, b, "--all").stdout


def test_cli_diff_json_csv_and_out(two_folders, tmp_path):
    a, b = two_folders
    result = zt("diff", a / "findings.csv", b, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in orjson.loads(result.stdout)}
    assert {n: r["change"] for n, r in rows.items()} == {
        "broken": "new", "[red]markup[/red]": "severity_changed", "fixed": "resolved"}
    assert rows["fixed"]["old_status"] == "fail" and rows["fixed"]["new_status"] == "pass"
    everything = orjson.loads(zt("diff", a, b, "-f", "json", "--all").stdout)
    assert {r["name"]: r["change"] for r in everything}["same"] == "unchanged"
    out = tmp_path / "changes.csv"
    result = zt("diff", a, b, "--format", "csv", "--out", out)
    assert result.exit_code == 0 and "3 change(s) written" in " ".join(result.output.split())
    csv = pd.read_csv(out, keep_default_na=False)
    assert list(csv.columns) == DIFF_COLUMNS
    assert dict(zip(csv.name, csv.change, strict=True))["broken"] == "new"
    table = tmp_path / "changes.txt"
    assert zt("diff", a, b, "--out", table).exit_code == 0
    assert "broken" in table.read_text() and "\x1b[" not in table.read_text()


def test_cli_diff_errors_exit_2_naming_the_file(two_folders, tmp_path):
    a, _ = two_folders
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    result = zt("diff", a, bad)
    assert result.exit_code == 2
    text = "".join(result.output.split())
    assert "bad.json" in text and "notvalidJSON" in text
    result = zt("diff", a, tmp_path / "missing")
    assert result.exit_code == 2 and "doesnotexist" in "".join(result.output.split())


# ------------------------------------------------------------------------------------------
# two demo variants, end to end
# ------------------------------------------------------------------------------------------
def _edit_deployment(snapshot: Path, namespace: str, name: str, edit) -> None:
    """Change one Deployment's pod template in the snapshot's List file (same item count)."""
    path = snapshot / "k8s" / "deployments.apps.json"
    doc = orjson.loads(path.read_bytes())
    hits = [d for d in doc["items"] if (d["metadata"].get("namespace"), d["metadata"]["name"])
            == (namespace, name)]
    assert len(hits) == 1, f"{namespace}/{name} is in the demo"
    for container in hits[0]["spec"]["template"]["spec"]["containers"]:
        edit(container.setdefault("securityContext", {}))
    path.write_bytes(orjson.dumps(doc))


def _lose_source(snapshot: Path, key: str) -> None:
    """Make one AWS source uncollected (AccessDenied), as a narrowed role would."""
    manifest = snapshot / "manifest.json"
    data = orjson.loads(manifest.read_bytes())
    data["coverage"][key] = {"status": "forbidden", "count": None,
                             "message": "AccessDenied: not authorized"}
    manifest.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    (snapshot / f"{key}.json").unlink()


def _config(tmp_path: Path, name: str, **changes) -> Path:
    data = yaml.safe_load((ROOT / "examples" / "acme-shop.yaml").read_text())
    data.pop("logo", None)  # relative to examples/; the diff does not need it
    for key, value in changes.items():
        data[key] = value if not isinstance(value, dict) else {**(data.get(key) or {}), **value}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def demo_variants(tmp_path_factory) -> dict[str, Path]:
    """Assessment folders of the demo on two dates: the second after fixes and regressions."""
    from zt_toolkit.assessment import assess
    from zt_toolkit.demo import build_demo

    tmp = tmp_path_factory.mktemp("variants")
    old_snap, new_snap = build_demo(tmp / "old"), build_demo(tmp / "new")
    # fixed: storefront/frontend sets allowPrivilegeEscalation false
    _edit_deployment(new_snap, "storefront", "frontend",
                     lambda sc: sc.update(allowPrivilegeEscalation=False))
    # broken: the model tenant's payment-gateway turns privileged
    _edit_deployment(new_snap, "payments", "payment-gateway",
                     lambda sc: sc.update(privileged=True))
    # coverage lost: the assessor role may no longer read VPC flow logs
    _lose_source(new_snap, "aws/ec2/describe_flow_logs")
    # the legacy waiver (expires 2026-09-30) is live in September, expired in November
    old_cfg = _config(tmp, "old", today="2026-09-01")
    new_cfg = _config(tmp, "new", today="2026-11-27",
                      severity_overrides={"rbac_wildcard_absent": "critical"},
                      waivers=yaml.safe_load((ROOT / "examples" / "acme-shop.yaml").read_text())
                      ["waivers"] + [{"check": "image_minimal_base",
                                      "resource": {"kind": "Deployment", "namespace": "payments",
                                                   "name": "fraud-scorer"},
                                      "reason": "distroless migration in Q1 (ACME-512)",
                                      "owner": "payments@acme.example",
                                      "expires": "2027-03-31"}])
    old_dir = tmp / "reports" / "acme-shop" / "2026-09-01"
    old_dir.mkdir(parents=True)
    result = zt("assess", old_snap, "--config", old_cfg, "--format", "json",
                "--out", old_dir / "findings.json")
    assert result.exit_code == 0, result.output
    new_dir = tmp / "reports" / "acme-shop" / "2026-11-27"
    write_findings(assess(new_snap, new_cfg).findings, new_dir)
    (new_dir / "findings.json").unlink()  # the newer side is read from its CSV
    return {"old": old_dir, "new": new_dir, "old_snap": old_snap, "new_snap": new_snap,
            "new_cfg": new_cfg}


def test_diff_of_two_demo_variants_per_resource(demo_variants):
    result = zt("diff", demo_variants["old"], demo_variants["new"], "--format", "json", "--all")
    assert result.exit_code == 0, result.output
    d = pd.DataFrame(orjson.loads(result.stdout))

    def change(check_id, kind, namespace, name):
        hit = d[(d.check_id == check_id) & (d.kind == kind) & (d.namespace == namespace)
                & (d.name == name)]
        assert len(hit) <= 1
        return hit.iloc[0] if len(hit) else None

    fixed = change("container_privilege_escalation_disallowed", "Deployment", "storefront",
                   "frontend")
    assert fixed["change"] == "resolved" and fixed["note"] == "now passes"
    broken = change("container_privileged_absent", "Deployment", "payments", "payment-gateway")
    assert broken["change"] == "new" and broken["new_severity"] == "critical"
    assert broken["old_status"] == "pass" and broken["new_status"] == "fail"
    raised = change("rbac_wildcard_absent", "ClusterRole", "", "ci-deployer")
    assert raised["change"] == "severity_changed"
    assert (raised["old_severity"], raised["new_severity"]) == ("medium", "critical")
    untouched = change("namespace_network_policy_present", "Namespace", "", "legacy-batch")
    assert untouched["change"] == "unchanged" and untouched["old_severity"] == \
        untouched["new_severity"]
    expired = change("container_privileged_absent", "CronJob", "legacy-batch", "nightly-report")
    assert expired["change"] == "waiver_expired" and "2026-09-30" in expired["note"]
    waived = change("image_minimal_base", "Deployment", "payments", "fraud-scorer")
    assert waived["change"] == "waived" and "ACME-512" in waived["note"]
    flow = d[d.check_id == "vpc_flow_logs_enabled"]
    assert flow.change.tolist() == ["not_assessed"], flow.to_dict("records")
    assert flow.iloc[0]["old_status"] == "fail" and flow.iloc[0]["new_status"] == "not_assessed"
    assert "vpc_flow_logs_enabled" not in set(d[d.change == "resolved"].check_id)
    # nothing else moved: every failing row of the old run that is not named above is unchanged
    other = d[~d.change.isin(["unchanged"])]
    touched = {("storefront", "frontend"), ("payments", "payment-gateway"),
               ("payments", "fraud-scorer"), ("legacy-batch", "nightly-report")}
    for r in other.itertuples(index=False):
        assert ((r.namespace, r.name) in touched or r.check_id in (
            "rbac_wildcard_absent", "vpc_flow_logs_enabled")), r


def test_table_output_of_two_demo_variants(demo_variants):
    result = zt("diff", demo_variants["old"], demo_variants["new"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()

    def line(*words):
        hits = [ln for ln in lines if all(w in ln for w in words)]
        assert len(hits) == 1, (words, hits)
        return hits[0]

    assert line("container_privileged_absent", "payments/payment-gateway").split("│")[1] \
        .strip() == "new"
    assert "resolved" in line("container_privilege_escalation_disallowed",
                              "storefront/frontend")
    assert "not_assessed" in line("vpc_flow_logs_enabled")
    assert not [ln for ln in lines if "namespace_network_policy_present" in ln]  # unchanged
    assert "unchanged failures not shown" in " ".join(result.stdout.split())


def test_same_assessment_twice_has_no_changes(demo_variants, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(demo_variants["old"], copy)
    d = diff_findings(load_findings(demo_variants["old"]), load_findings(copy))
    assert set(d.change) == {"unchanged"}
