"""The audit view of issue 8: who made what change when, log coverage, sensor coverage per node.

On the demo (20 recorded audit events, api+audit logs only, 30-day retention, GuardDuty runtime
monitoring with the cluster opted out of the managed agent, Falco kept off the gpu node by its
taint) and on small hand-built snapshots (case files, Fargate, hostile names).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.checks.casefiles import CASES, build_case_frames
from zt_toolkit import assess
from zt_toolkit.assessment import Assessment
from zt_toolkit.checks import run_checks
from zt_toolkit.config import EngagementConfig
from zt_toolkit.report import audit_view as v
from zt_toolkit.report import tables

ACCT = "111122223333"
DANA = f"arn:aws:sts::{ACCT}:assumed-role/acme-oncall/dana.k"
OPS = f"arn:aws:iam::{ACCT}:user/ops-admin"
GPU = "ip-10-42-0-11.eu-west-1.compute.internal"
GENERAL = ("ip-10-42-0-10.eu-west-1.compute.internal", "ip-10-42-64-10.eu-west-1.compute.internal",
           "ip-10-42-128-10.eu-west-1.compute.internal")
EVIL = "<script>alert(1)</script>"
NS = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}]


def assessment_of(case: dict, tmp: Path) -> Assessment:
    frames = build_case_frames(case, tmp)
    return Assessment(frames.snapshot, frames.config, frames, run_checks(frames))


def one(df, **where) -> dict:
    mask = True
    for col, value in where.items():
        mask = mask & (df[col] == value)
    rows = df[mask].to_dict("records")
    assert len(rows) == 1, (where, rows)
    return rows[0]


# ------------------------------------------------------------------------------------------
# who made what change, when
# ------------------------------------------------------------------------------------------
def test_demo_event_log_names_who_what_when(demo):
    log = v.summarize_audit_event_log(demo)
    assert list(log.columns) == v.EVENT_COLUMNS
    assert len(log) == 20
    assert log["time"].iloc[0] == "2026-11-20 07:58:40 UTC"  # newest first
    assert list(log["time"]) == sorted(log["time"], reverse=True)

    dana = log[log.user == DANA]
    assert list(dana["time"]) == ["2026-11-20 07:58:40 UTC", "2026-11-19 22:44:51 UTC",
                                  "2026-11-19 22:41:07 UTC"]
    assert set(dana["category"]) == {"exec / attach into a pod"}
    assert set(dana["principal_type"]) == {"human"}
    assert set(dana["iam_principal"]) == {f"arn:aws:iam::{ACCT}:role/acme-oncall"}
    assert set(dana["mapped_by"]) == {"access entry (groups acme:oncall)"}
    assert dana["suspicious"].all()
    assert dana["target"].iloc[0] == "pods/exec legacy-batch/debug-shell"
    assert dana["source_ip"].iloc[0] == "81.2.69.160"
    assert dana["user_agent"].iloc[0].startswith("kubectl/v1.31.2")

    jenkins = one(log, user="jenkins")
    assert (jenkins["time"], jenkins["category"]) == ("2026-11-18 16:05:10 UTC", "aws-auth change")
    assert jenkins["principal_type"] == "automation"
    assert jenkins["iam_principal"] == f"arn:aws:iam::{ACCT}:user/jenkins"
    assert jenkins["mapped_by"] == "aws-auth mapUsers (groups system:masters)"
    assert jenkins["groups"] == "system:masters, system:authenticated"
    assert jenkins["target"] == "configmaps kube-system/aws-auth"
    assert jenkins["response_code"] == 200 and jenkins["suspicious"]

    ops = one(log, user=OPS, category="aws-auth change")
    assert ops["time"] == "2026-11-18 16:02:33 UTC" and ops["principal_type"] == "human"
    assert ops["mapped_by"] == "access entry with AmazonEKSClusterAdminPolicy"

    sam = log[log.user == "platform-admin:sam.r"]
    assert list(sam["verb"]) == ["delete", "create"]
    assert set(sam["category"]) == {"RBAC change"}
    assert set(sam["iam_principal"]) == {f"arn:aws:iam::{ACCT}:role/acme-platform-admin"}
    assert set(sam["mapped_by"]) == {"aws-auth mapRoles (groups acme:platform-admins)"}

    # baseline system principals and port-forward: recorded, not suspicious
    addon = log[log.user == "eks:addon-manager"]
    assert set(addon["principal_type"]) == {"baseline"} and not addon["suspicious"].any()
    forward = one(log, user=f"arn:aws:sts::{ACCT}:assumed-role/acme-oncall/li.w")
    assert forward["category"] == "port-forward to a pod" and not forward["suspicious"]
    runner = one(log, user="system:serviceaccount:legacy-batch:report-runner")
    assert runner["category"] == "secret read" and not runner["suspicious"]
    assert runner["mapped_by"] == "Kubernetes service account token"

    anon = one(log, user="system:anonymous", target="secrets kube-system")
    assert anon["counted_as"] == "anonymous requests; denied reads of Secrets"
    assert anon["principal_type"] == "anonymous"


def test_event_log_agrees_with_the_check_per_category(demo):
    log = v.summarize_audit_event_log(demo)
    f = demo.findings[demo.findings.check_id == "audit_suspicious_activity_absent"]
    for category, meaning in v.SUSPICIOUS_CATEGORIES.items():
        row = one(f, name=category)
        counted = log[log["counted_as"].str.split("; ").map(lambda c, m=meaning: m in c)]
        n = int(re.match(rf"{re.escape(meaning)}: (\d+) \(", row["detail"])[1])
        assert row["status"] == "fail" and n == len(counted), category
        for user in set(counted["user"]):
            assert user in row["detail"]


def test_narrowed_baseline_changes_principal_type_as_the_check_does(demo_snapshot):
    config = EngagementConfig.from_dict({"parameters": {"audit_suspicious_activity_absent": {
        "baseline_principals": ["system:serviceaccount:kube-system:*", "eks:*"]}}})
    a = assess(demo_snapshot, config)
    log = v.summarize_audit_event_log(a)
    runner = one(log, user="system:serviceaccount:legacy-batch:report-runner")
    assert runner["principal_type"] == "automation"
    ctrl = one(log, user="system:serviceaccount:kube-system:clusterrole-aggregation-controller")
    assert ctrl["principal_type"] == "baseline" and not ctrl["suspicious"]


def _event_cases() -> list[Path]:
    return sorted(p for p in (CASES / "audit_suspicious_activity_absent").glob("*.yaml")
                  if "expect_events" in (yaml.safe_load(p.read_text()) or {}))


@pytest.mark.parametrize("path", _event_cases(), ids=lambda p: p.stem)
def test_case_file_events_classified_per_event(path, tmp_path):
    case = yaml.safe_load(path.read_text())
    log = v.summarize_audit_event_log(assessment_of(case, tmp_path))
    assert len(log) == len(case["expect_events"])  # an event at two stages is one row
    for expected in case["expect_events"]:
        row = one(log, time=expected["time"], user=expected["user"])
        for col, value in expected.items():
            assert row[col] == value, (expected["time"], col, row[col])


def test_event_timeline_labels_who_and_escapes(demo):
    fig = v.plot_audit_event_timeline(demo)
    names = {tr.name for tr in fig.data}
    assert {"human (suspicious)", "automation (suspicious)", "baseline"} <= names
    labels = {a.text for a in fig.layout.annotations}
    assert {"dana.k ×3", "jenkins", "platform-admin:sam.r ×2", "system:anonymous ×4"} <= labels
    assert "exec / attach into a pod" in fig.layout.yaxis.categoryarray


def _event_case(user: str) -> dict:
    msg = ('{"auditID":"x-1","stage":"ResponseComplete","verb":"create","user":{"username":'
           f'"{user}"' + '},"sourceIPs":["203.0.113.9"],"objectRef":{"resource":"pods",'
           '"namespace":"shop","name":"web","subresource":"exec"},"responseStatus":{"code":101}}')
    return {"k8s": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}],
            "aws": {"logs/start_query": [{"params": {
                "logGroupName": "/aws/eks/case-cluster/cluster", "startTime": 1793491200,
                "endTime": 1794096000, "queryString": "fields @timestamp, @message"},
                "response": {"queryId": "q"}}],
                "logs/get_query_results": [{"params": {"queryId": "q"}, "response": {
                    "status": "Complete", "results": [[
                        {"field": "@timestamp", "value": "2026-11-02 08:00:00.000"},
                        {"field": "@message", "value": msg}]]}}]}}


def test_hostile_user_names_are_escaped(tmp_path):
    a = assessment_of(_event_case(EVIL), tmp_path)
    log = v.summarize_audit_event_log(a)
    assert one(log, user=EVIL)["suspicious"]
    assert EVIL not in tables.render_table(log)
    fig = v.plot_audit_event_timeline(a)
    assert EVIL not in fig.to_json()
    md = v.narrate_audit_remediation(a).data
    assert EVIL not in md and "&lt;script&gt;" in md


# ------------------------------------------------------------------------------------------
# log coverage, GuardDuty, CloudTrail
# ------------------------------------------------------------------------------------------
def test_demo_log_coverage(demo):
    cov = v.summarize_log_coverage(demo).set_index("item")
    assert cov.loc["log type api", "status"] == "pass"
    assert cov.loc["log type authenticator", ["value", "status"]].tolist() == ["disabled", "fail"]
    assert cov.loc["log type authenticator", "note"].startswith("clusterLogging[1] disabled")
    assert cov.loc["log type scheduler", "value"] == "disabled"
    assert cov.loc["log type scheduler"].isna()["status"]  # optional: no verdict
    assert cov.loc["log group", "value"] == "/aws/eks/acme-shop-prod/cluster"
    assert cov.loc["retention", ["value", "status"]].tolist() == ["30 days", "fail"]
    assert cov.loc["encryption", "value"] == "CloudWatch Logs default (AWS-owned key)"
    assert cov.loc["metric filters", "value"] == "0"
    assert cov.loc["stored", "value"] == "44.9 GiB"


def _cluster(logging: list[dict]) -> dict:
    return {"eks/describe_cluster": [{"params": {"name": "case-cluster"}, "response": {
        "cluster": {"name": "case-cluster", "logging": {"clusterLogging": logging}}}}]}


def _log_group(**extra) -> dict:
    return {"logs/describe_log_groups": [{"params": {}, "response": {"logGroups": [{
        "logGroupName": "/aws/eks/case-cluster/cluster", **extra}]}}]}


def test_log_types_are_the_union_of_entries_and_never_expire_fails(tmp_path):
    a = assessment_of({"k8s": NS, "aws": {
        **_cluster([{"types": ["api"], "enabled": True},
                    {"types": ["audit", "authenticator"], "enabled": True}]),
        **_log_group(kmsKeyId=f"arn:aws:kms:eu-west-1:{ACCT}:key/k-1")}}, tmp_path)
    cov = v.summarize_log_coverage(a).set_index("item")
    for log_type in ("api", "audit", "authenticator"):
        assert cov.loc[f"log type {log_type}", "status"] == "pass"
    assert cov.loc["log type audit", "note"].startswith("clusterLogging[1] enabled")
    assert cov.loc["retention", ["value", "status"]].tolist() == ["never expire", "fail"]
    assert cov.loc["encryption", "value"] == f"arn:aws:kms:eu-west-1:{ACCT}:key/k-1"
    md = v.narrate_audit_remediation(a).data
    assert "update-cluster-config" not in md and "nothing to change" in md


def test_missing_log_group_is_a_failing_row(tmp_path):
    a = assessment_of({"k8s": NS, "aws": {**_cluster([]), "logs/describe_log_groups": [
        {"params": {}, "response": {"logGroups": []}}]}}, tmp_path)
    cov = v.summarize_log_coverage(a).set_index("item")
    assert cov.loc["log group", "status"] == "fail"
    assert set(cov.loc[[f"log type {x}" for x in ("api", "audit", "authenticator")],
                       "status"]) == {"fail"}
    md = v.narrate_audit_remediation(a).data
    assert '"types":["api","audit","authenticator"]' in md


def test_demo_guardduty_and_cloudtrail(demo):
    gd = v.summarize_guardduty(demo)
    d = one(gd, detector="e4580e2dcb3854a29b0b557927e6baf9")
    assert (d["status"], d["eks_audit_logs"], d["runtime_monitoring"]) == (
        "ENABLED", "ENABLED", "ENABLED")
    assert d["eks_runtime_monitoring"] is None or d["eks_runtime_monitoring"] != "ENABLED"
    assert d["eks_addon_management"] == "ENABLED"
    assert d["finding_frequency"] == "FIFTEEN_MINUTES"
    assert "GuardDutyManaged=false" in d["note"]
    # the checks say so too: runtime monitoring is on, but not on this cluster
    f = demo.findings.set_index(["check_id", "name"])["detail"]
    assert f[("guardduty_runtime_monitoring_enabled", "acme-shop-prod")].endswith(
        "but the cluster is tagged GuardDutyManaged=false: GuardDuty does not deploy its agent "
        "here (see runtime_sensor_coverage_complete)")
    assert f[("runtime_sensor_coverage_complete", GPU)] == (
        "Falco (monitoring/falco): does not tolerate taint nvidia.com/gpu=true:NoSchedule; the "
        "cluster opts out of GuardDuty's managed agent (tag GuardDutyManaged=false)")
    ct = one(v.summarize_cloudtrail(demo), trail="acme-org-audit")
    assert ct["multi_region"] and ct["logging"] and ct["log_file_validation"]
    assert ct["s3_bucket"] == "acme-cloudtrail-logs-111122223333"
    assert ct["kms_key"].startswith(f"arn:aws:kms:eu-west-1:{ACCT}:key/")
    assert ct["management_events"] == "all (default selectors)"


def _detector(*features: dict) -> dict:
    det = "12abc34d567e8fa901bc2d34e56789f0"
    return {"guardduty/list_detectors": [{"params": {}, "response": {"DetectorIds": [det]}}],
            "guardduty/get_detector": [{"params": {"DetectorId": det}, "response": {
                "Status": "ENABLED", "Features": list(features)}}]}


def test_guardduty_older_runtime_feature_and_missing_features(tmp_path):
    a = assessment_of({"k8s": NS, "aws": _detector(
        {"Name": "EKS_RUNTIME_MONITORING", "Status": "ENABLED"})}, tmp_path / "a")
    row = one(v.summarize_guardduty(a), detector="12abc34d567e8fa901bc2d34e56789f0")
    assert row["eks_runtime_monitoring"] == "ENABLED"
    assert "installed by hand" in row["note"]
    md = v.narrate_audit_remediation(a).data
    assert ("update-detector --detector-id 12abc34d567e8fa901bc2d34e56789f0 --features "
            "'[{\"Name\":\"EKS_AUDIT_LOGS\",\"Status\":\"ENABLED\"},{\"Name\":"
            "\"RUNTIME_MONITORING\"") in md

    none = assessment_of({"k8s": NS, "aws": {"guardduty/list_detectors": [
        {"params": {}, "response": {"DetectorIds": []}}]}}, tmp_path / "b")
    gd = v.summarize_guardduty(none)
    assert gd.empty and "GuardDuty is off" in gd.attrs["note"]
    assert "create-detector" in v.narrate_audit_remediation(none).data


# ------------------------------------------------------------------------------------------
# runtime sensor coverage per node
# ------------------------------------------------------------------------------------------
def test_demo_sensor_coverage_per_node(demo):
    s = v.summarize_sensor_coverage(demo)
    gpu = one(s, node=GPU)
    assert (gpu["nodegroup"], gpu["instance_type"], gpu["compute_type"]) == (
        "gpu", "g5.2xlarge", "ec2")
    assert gpu["taints"] == "nvidia.com/gpu=true:NoSchedule"
    assert gpu["sensor"] == "Falco (monitoring/falco)"
    assert gpu["status"] == "untolerated taint" and not gpu["covered"]
    assert "nvidia.com/gpu=true:NoSchedule" in gpu["detail"]
    for node in GENERAL:
        row = one(s, node=node)
        assert (row["status"], row["covered"], row["nodegroup"]) == ("ready", True, "general")
    fig = v.plot_sensor_coverage(demo)
    assert len(fig.data[0].z) == 4 and "untolerated taint" in str(fig.data[0].text)


def _sensor_cases() -> list[Path]:
    return sorted(p for p in (CASES / "runtime_sensor_coverage_complete").glob("*.yaml")
                  if not p.stem.startswith("not_"))


@pytest.mark.parametrize("path", _sensor_cases(), ids=lambda p: p.stem)
def test_sensor_coverage_agrees_with_the_check(path, tmp_path):
    a = assessment_of(yaml.safe_load(path.read_text()), tmp_path)
    f = a.findings[a.findings.check_id == "runtime_sensor_coverage_complete"]
    covered = v.summarize_sensor_coverage(a).groupby("node")["covered"].first()
    assert dict(covered) == {n: s == "pass" for n, s in zip(f.name, f.status, strict=True)}


def _node(name: str, labels: dict, taints: list | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def test_fargate_and_node_selector_gaps_are_named(tmp_path):
    falco = {"apiVersion": "apps/v1", "kind": "DaemonSet",
             "metadata": {"name": "falco", "namespace": "falco"},
             "spec": {"selector": {"matchLabels": {"app": "falco"}}, "template": {
                 "metadata": {"labels": {"app": "falco"}}, "spec": {
                     "nodeSelector": {"pool": "general"},
                     "containers": [{"name": "falco", "image": "falcosecurity/falco:0.39.2"}]}}},
             "status": {"desiredNumberScheduled": 1, "numberReady": 1}}
    a = assessment_of({"k8s": [
        _node("fargate-ip-10-0-5-5", {"eks.amazonaws.com/compute-type": "fargate",
                                      "eks.amazonaws.com/fargate-profile": "batch"}),
        _node("ip-10-0-1-1", {"pool": "general"}),
        _node("ip-10-0-2-2", {"pool": "spot"}), falco]}, tmp_path)
    s = v.summarize_sensor_coverage(a)
    fargate = one(s, node="fargate-ip-10-0-5-5")
    assert (fargate["compute_type"], fargate["status"]) == ("fargate", "Fargate: no DaemonSet")
    assert "GuardDuty Runtime Monitoring does not support EKS on Fargate" in fargate["detail"]
    assert fargate["nodegroup"] == "Fargate profile batch"
    spot = one(s, node="ip-10-0-2-2")
    assert spot["status"] == "excluded by nodeSelector / affinity" and not spot["covered"]
    general = one(s, node="ip-10-0-1-1")  # pods not collected: judged by numberReady
    assert general["status"] == "ready (by DaemonSet count)" and general["covered"]
    md = v.narrate_audit_remediation(a).data
    assert "Fargate" in md and "kubectl -n falco patch" not in md


def test_demo_remediation_commands(demo):
    md = v.narrate_audit_remediation(demo).data
    assert ("aws eks update-cluster-config --region eu-west-1 --name acme-shop-prod --logging "
            "'{\"clusterLogging\":[{\"types\":[\"authenticator\"],\"enabled\":true}]}'") in md
    assert ("aws logs put-retention-policy --region eu-west-1 --log-group-name "
            "/aws/eks/acme-shop-prod/cluster --retention-in-days 365") in md
    assert ("kubectl -n monitoring patch daemonset falco --type json -p '[{\"op\":\"add\","
            "\"path\":\"/spec/template/spec/tolerations/-\",\"value\":{\"key\":"
            "\"nvidia.com/gpu\",\"operator\":\"Equal\",\"effect\":\"NoSchedule\","
            "\"value\":\"true\"}}]'") in md
    assert "--tag-keys GuardDutyManaged" in md
    assert "put-metric-filter" in md and "put-metric-alarm" in md
    assert "update-detector" not in md  # both GuardDuty features are on
    # per category: the events and the question
    assert "gone at collection: tmp\\-debug\\-admin" in md
    assert "the same IP was used by system\\:serviceaccount\\:default\\:ci\\-deployer" in md
    assert md.count("*Ask:*") == 4


@pytest.mark.parametrize("fn", [
    v.summarize_audit_event_log, v.plot_audit_event_timeline, v.summarize_log_coverage,
    v.summarize_guardduty, v.summarize_cloudtrail, v.summarize_sensor_coverage,
    v.plot_sensor_coverage, v.narrate_audit_remediation])
def test_audit_views_degrade_on_an_empty_snapshot(fn, tmp_path):
    a = assessment_of({"k8s": [{"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "shop"}}]}, tmp_path)
    assert fn(a) is not None


def test_access_entry_without_username_maps_the_role_session(tmp_path):
    role = f"arn:aws:iam::{ACCT}:role/teams/dev"
    case = _event_case(f"arn:aws:sts::{ACCT}:assumed-role/dev/ann")
    case["aws"].update({
        "eks/list_access_entries": [{"params": {"clusterName": "case-cluster"},
                                     "response": {"accessEntries": [role]}}],
        "eks/describe_access_entry": [{"params": {"clusterName": "case-cluster",
                                                  "principalArn": role},
                                       "response": {"accessEntry": {
                                           "principalArn": role, "type": "STANDARD",
                                           "kubernetesGroups": ["dev"]}}}],
        "eks/list_associated_access_policies": [{"params": {"clusterName": "case-cluster",
                                                            "principalArn": role},
                                                 "response": {"principalArn": role,
                                                              "associatedAccessPolicies": []}}]})
    row = one(v.summarize_audit_event_log(assessment_of(case, tmp_path)), time=(
        "2026-11-02 08:00:00 UTC"))
    assert (row["iam_principal"], row["mapped_by"]) == (role, "access entry (groups dev)")
    assert row["principal_type"] == "human" and row["suspicious"]


def test_unmapped_session_arn_still_names_its_role(tmp_path):
    case = _event_case(f"arn:aws:sts::{ACCT}:assumed-role/github-deployer/run-42")
    row = one(v.summarize_audit_event_log(assessment_of(case, tmp_path)), time=(
        "2026-11-02 08:00:00 UTC"))
    assert row["iam_principal"] == f"arn:aws:iam::{ACCT}:role/github-deployer"
    assert row["mapped_by"] == "username is the IAM session ARN (no mapping found)"
    assert row["principal_type"] == "automation" and row["suspicious"]  # the check: not baseline
