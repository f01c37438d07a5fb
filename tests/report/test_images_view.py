"""The images view of issue 8: vulnerable running workloads and admission, scan coverage and age,
provenance, mutable references and the remediation narrative.

On the demo (storefront/frontend runs an alpine image with a critical expat CVE, admitted by a
signature-only Kyverno policy; legacy/nightly-report was never scanned and its namespace is
excluded) and on small hand-built snapshots (enhanced findings with fixed-in versions, scans not
collected, hostile names).
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import yaml

from tests.checks.casefiles import CASES, build_case_frames
from zt_toolkit.assessment import Assessment
from zt_toolkit.checks import run_checks
from zt_toolkit.report import images_view as v

EVIL = "<script>alert(1)</script>"
ECR = "111122223333.dkr.ecr.eu-west-1.amazonaws.com"
D = "sha256:" + "1a" * 32
ADMISSION_CASE = (CASES / "running_image_vulnerabilities_absent"
                  / "fail-admission-enforce-audit-excluded.yaml")


def assessment_of(case: dict, tmp: Path) -> Assessment:
    frames = build_case_frames(case, tmp)
    return Assessment(frames.snapshot, frames.config, frames, run_checks(frames))


# ----- the demo ------------------------------------------------------------------------------
def test_demo_vulnerable_workloads_and_admission(demo):
    df = v.summarize_vulnerable_workloads(demo)
    assert df["workload"].tolist() == ["Deployment storefront/frontend"]
    row = df.iloc[0]
    assert (row.container, row.image, row.critical, row.high, row.scan_age_days) == (
        "nginx", "storefront/frontend:3.2.0-alpine", 1, 2, 9)
    # enhanced scanning: the fixed-in versions come with Inspector's findings
    assert row.worst_findings == ("CVE-2024-45492 (expat 2.6.2-r0 → 2.6.3-r0); CVE-2023-44487 "
                                  "(nghttp2 1.57.0-r0 → 1.57.0-r1); CVE-2024-6119 "
                                  "(openssl 3.3.1-r3 → 3.3.2-r0)")
    assert row.admission == "blocked"
    # the enforcing Kyverno policy checks signatures, not vulnerabilities: not blocked
    assert row.would_block.startswith("no: Kyverno ClusterPolicy verify-acme-images enforces "
                                      "signature only")
    assert "1 running image of the account's ECR has no scan result" in df.attrs["note"]


def test_demo_check_detail_names_admission(demo):
    f = demo.findings
    row = f[(f.check_id == "running_image_vulnerabilities_absent") & (f.name == "frontend")]
    assert row.status.tolist() == ["fail"] and row.severity.tolist() == ["critical"]
    assert "verify-acme-images enforces signature only" in row.detail.iloc[0]
    minimal = f[(f.check_id == "image_minimal_base") & (f.name == "frontend")].iloc[0]
    assert minimal.status == "fail"
    assert "name busybox although the name says alpine" in minimal.detail


def test_demo_enhanced_scanning_covers_some_repositories_and_inspector_feeds_the_scans(demo):
    f = demo.findings
    scanning = f[f.check_id == "ecr_image_scanning_enabled"].set_index("name")
    # the rule filters storefront/frontend, storefront/api and payments/*; the others fail
    assert scanning.status.to_dict() == {
        "legacy/nightly-report": "fail", "payments/fraud-scorer": "pass",
        "payments/payment-gateway": "pass", "storefront/api": "pass",
        "storefront/catalog": "fail", "storefront/frontend": "pass",
        "storefront/old-cart": "fail", "storefront/orders": "fail"}
    assert scanning.loc["storefront/orders", "detail"] == (
        "registry uses ENHANCED scanning (Amazon Inspector) but none of its rule filters "
        "(storefront/frontend, storefront/api, payments/*) matches this repository: its images "
        "are not scanned at all (the repository-level scanOnPush is ignored under ENHANCED)")
    assert "CONTINUOUS_SCAN via registry filter 'payments/*'" in scanning.loc[
        "payments/payment-gateway", "detail"]
    vuln = f[(f.check_id == "running_image_vulnerabilities_absent")
             & (f.name == "frontend")].iloc[0]
    assert "CVE-2024-45492 (expat 2.6.2-r0, fixed in 2.6.3-r0)" in vuln.detail
    # Inspector's findings (observed after ECR's scan) are the frontend's result; the
    # repositories outside the rule keep their old basic scans
    scans = demo.frames.image_scans.set_index("repository")
    assert scans.loc["storefront/frontend", "scan_source"] == "inspector2"
    assert scans.loc["storefront/catalog", "scan_source"] == "ecr"
    assert scans.loc["legacy/nightly-report", "scan_status"] == "NOT_SCANNED"


def test_demo_repository_scanning(demo):
    df = v.summarize_repository_scanning(demo).set_index("repository")
    assert df.index[0] == "legacy/nightly-report"  # unscanned first
    report = df.loc["legacy/nightly-report"]
    # ENHANCED registry whose rule filters miss it: not scanned at all ("none")
    assert (report.scan_frequency, report.scanned, report.unscanned) == ("none", 0, 1)
    catalog = df.loc["storefront/catalog"]
    assert (catalog.scan_type, catalog.scan_frequency, catalog.oldest_scan_days) == (
        "ENHANCED", "none", 45)
    assert df.loc["storefront/orders", "scan_frequency"] == "none"
    assert df.loc["storefront/frontend", "tag_mutability"] == "MUTABLE"
    assert df.loc["storefront/api", "scan_frequency"] == "CONTINUOUS_SCAN"
    assert df.loc["payments/payment-gateway", "scan_frequency"] == "CONTINUOUS_SCAN"
    assert "storefront/old-cart" not in df.index  # nothing runs from it


def test_demo_provenance_and_mutable_references(demo):
    prov = v.summarize_image_provenance(demo).set_index("provenance")
    assert prov.loc["own-account ECR", "scanned"] == 6  # nightly-report was never scanned
    assert prov.loc["Docker Hub", "registries"] == "docker.io"
    assert "602401143452.dkr.ecr.eu-west-1.amazonaws.com" in prov.loc[
        "EKS add-on registry", "registries"]
    mutable = v.summarize_mutable_references(demo).set_index(["workload", "container"])
    assert mutable.loc[("CronJob legacy-batch/nightly-report", "report"), "why"] == "latest tag"
    assert mutable.loc[("Deployment storefront/frontend", "nginx"), "why"] == (
        "tag 3.2.0-alpine in a MUTABLE repository")
    assert ("Deployment storefront/api", "api") not in mutable.index  # IMMUTABLE repository
    assert ("Deployment payments/fraud-scorer", "scorer") not in mutable.index  # digest


def test_demo_charts(demo):
    fig = v.plot_workload_vulnerabilities(demo)
    bars = {t.name: dict(zip(t.y, t.x, strict=True)) for t in fig.data}
    assert bars["Critical"]["Deployment storefront/frontend"] == 1
    assert bars["Medium"]["Deployment storefront/frontend"] == 3
    assert bars["Low"]["Deployment payments/payment-gateway"] == 2
    age = v.plot_scan_age(demo)
    by_name = {t.name: dict(zip(t.y, t.x, strict=True)) for t in age.data}
    assert by_name["older than 30 days"] == {"storefront/catalog:2.3.0": 45}
    assert "legacy/nightly-report:latest" in by_name["no scan result"]


def test_demo_remediation_narrative(demo):
    text = v.narrate_image_remediation(demo).data
    assert "**1 running workload** carries images with 1 critical and 2 high findings" in text
    # the enhanced-scanning rule misses three repositories: the command keeps the current
    # filters and adds them
    assert ("3 repositories match none of them and are not scanned at all") in text
    assert ('"repositoryFilters":[{"filter":"storefront/frontend","filterType":"WILDCARD"},'
            '{"filter":"storefront/api","filterType":"WILDCARD"},'
            '{"filter":"payments/*","filterType":"WILDCARD"},'
            '{"filter":"legacy/nightly-report","filterType":"WILDCARD"},'
            '{"filter":"storefront/catalog","filterType":"WILDCARD"},'
            '{"filter":"storefront/orders","filterType":"WILDCARD"}]') in text
    assert ("aws ecr put-image-tag-mutability --repository-name storefront/frontend "
            "--image-tag-mutability IMMUTABLE") in text
    # an enhanced registry has no manual scan: no start-image-scan command
    assert "Enhanced scanning has no manual scan" in text
    assert "start-image-scan" not in text
    # the remediation names the versions to upgrade to (Markdown-escaped)
    assert ("**Upgrade** expat to 2\\.6\\.3\\-r0, nghttp2 to 1\\.57\\.0\\-r1, openssl to "
            "3\\.3\\.2\\-r0.") in text
    assert "fixed-in versions as the enhanced scan reports them" in text
    assert "gives no fixed-in version" not in text
    # the Kyverno snippet is scoped to the namespace that runs the vulnerable workload
    policy = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    rule = policy["spec"]["rules"][0]
    assert rule["match"]["any"][0]["resources"]["namespaces"] == ["storefront"]
    assert rule["verifyImages"][0]["imageReferences"] == [f"{ECR}/*"]


# ----- hand-built snapshots ------------------------------------------------------------------
def test_admission_verdicts_and_fixed_in_versions(tmp_path):
    a = assessment_of(yaml.safe_load(ADMISSION_CASE.read_text()), tmp_path)
    df = v.summarize_vulnerable_workloads(a).set_index("workload")
    assert df.loc["Pod shop/api-shop", "admission"] == "blocked"
    assert df.loc["Pod staging/api-staging", "admission"] == "audit only"
    assert df.loc["Pod legacy/api-legacy", "admission"] == "not covered"
    assert df.loc["Pod legacy/api-legacy", "would_block"] == "no: no enforcing policy covers it"
    assert df.loc["Pod shop/api-shop", "worst_findings"] == (
        "CVE-2024-45492 (expat 2.6.2-r0 → 2.6.3-r0); CVE-2023-44487 (nghttp2 1.57.0-r0)")
    details = a.findings[a.findings.check_id == "running_image_vulnerabilities_absent"] \
        .set_index("namespace")["detail"]
    assert "fixed in 2.6.3-r0" in details["shop"]
    assert ("would admission block it? no: Kyverno ClusterPolicy verify-signatures enforces "
            "signature only") in details["shop"]
    assert "no: Kyverno ClusterPolicy check-vulnerabilities covers it in audit mode only" in \
        details["staging"]
    assert details["legacy"].endswith("would admission block it? no: no enforcing policy covers it")
    text = v.narrate_image_remediation(a).data
    assert "(fixed-in versions as the enhanced scan reports them)" in text
    assert "expat 2\\.6\\.2\\-r0 → 2\\.6\\.3\\-r0" in text
    assert "**Upgrade** expat to 2\\.6\\.3\\-r0." in text


def test_vulnerability_attestation_enforced_would_block(tmp_path):
    case = yaml.safe_load(ADMISSION_CASE.read_text())
    for obj in case["k8s"]:
        if obj["kind"] == "ClusterPolicy" and obj["metadata"]["name"] == "check-vulnerabilities":
            obj["spec"]["validationFailureAction"] = "Enforce"
    a = assessment_of(case, tmp_path)
    df = v.summarize_vulnerable_workloads(a).set_index("workload")
    assert df.loc["Pod staging/api-staging", "would_block"].startswith(
        "yes: Kyverno ClusterPolicy check-vulnerabilities")
    detail = a.findings.query("check_id == 'running_image_vulnerabilities_absent' and "
                              "namespace == 'staging'").detail.iloc[0]
    assert ("would admission block it? yes: Kyverno ClusterPolicy check-vulnerabilities "
            "enforces a vulnerability attestation") in detail


def test_scans_not_collected(tmp_path):
    case = yaml.safe_load(ADMISSION_CASE.read_text())
    case["coverage"] = {"aws/ecr/describe_image_scan_findings": "forbidden"}
    a = assessment_of(case, tmp_path)
    df = v.summarize_vulnerable_workloads(a)
    assert df.empty and "were not collected" in df.attrs["note"]
    assert isinstance(v.plot_workload_vulnerabilities(a), go.Figure)
    assert "not collected" in v.plot_scan_age(a).layout.annotations[0].text
    repos = v.summarize_repository_scanning(a)
    assert repos["repository"].tolist() == ["shop/api"]
    # unknown, not zero: scanned and unscanned counts stay empty
    assert repos[["scanned", "unscanned", "oldest_scan_days"]].isna().all(axis=None)
    assert repos.attrs["note"].startswith("Image scan results were not collected")


def test_hostile_names_are_escaped_in_the_narrative(tmp_path):
    case = yaml.safe_load(ADMISSION_CASE.read_text())
    evil_ns = "evil"
    for obj in case["k8s"]:
        if obj["kind"] == "Pod" and obj["metadata"]["namespace"] == "legacy":
            obj["metadata"]["name"] = "api-legacy"
            obj["spec"]["containers"][0]["name"] = "api"
    case["k8s"].append({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "x", "namespace": evil_ns},
        "spec": {"containers": [{"name": "c", "image": f"{ECR}/shop/api:1.4"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "c", "image": f"{ECR}/shop/api:1.4", "imageID": f"{ECR}/shop/api@{D}",
            "ready": True}]}})
    # a repository policy name cannot carry markup, but a scan's package name can
    scan = case["aws"]["ecr/describe_image_scan_findings"][0]["response"]
    scan["imageScanFindings"]["enhancedFindings"][0]["packageVulnerabilityDetails"][
        "vulnerablePackages"][0]["name"] = EVIL
    a = assessment_of(case, tmp_path)
    text = v.narrate_image_remediation(a).data
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_failing_row_severity_follows_the_worst_finding(tmp_path):
    case = yaml.safe_load(ADMISSION_CASE.read_text())
    found = case["aws"]["ecr/describe_image_scan_findings"][0]["response"]["imageScanFindings"]
    found["findingSeverityCounts"] = {"HIGH": 1}
    found["enhancedFindings"] = found["enhancedFindings"][1:]
    a = assessment_of(case, tmp_path)
    rows = a.findings[a.findings.check_id == "running_image_vulnerabilities_absent"]
    assert set(rows.status) == {"fail"} and set(rows.severity) == {"high"}
    df = v.summarize_vulnerable_workloads(a)
    assert df["critical"].eq(0).all() and df["high"].eq(1).all()
