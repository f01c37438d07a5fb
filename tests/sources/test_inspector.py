"""Amazon Inspector findings on ECR images: ``inspector2.list_findings`` through the collector.

moto (server mode) answers ``list_findings`` with what ``/moto-api/static/inspector2/
findings-results`` queued (tests/servers/aws.py seeds the demo's findings there, validated
against botocore's output shape); it applies no filter and never paginates. Paging is exercised
with a canned two-page answer from a botocore ``before-call`` hook (also shape-validated);
AccessDenied, a disabled Inspector and throttling are injected on the same session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from tests.servers.aws import (  # noqa: F401  (moto_server, moto: fixtures)
    ACCOUNT,
    ASSESSOR_ROLE,
    CLUSTER,
    CannedAws,
    DemoAccount,
    account_session,
    demo_now,
    deny,
    install_gap_responses,
    moto,
    moto_server,
    operation_model,
    seed_demo_account,
    service_model,
    throttle,
    validate_response,
)
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot, SnapshotWriter
from zt_toolkit.sources.aws import INSPECTOR_ECR_FILTER, AwsCollection, collect_aws

KEY = "aws/inspector2/list_findings"
PARAMS = {"filterCriteria": INSPECTOR_ECR_FILTER}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    from zt_toolkit.demo import build_demo

    return Snapshot.load(build_demo(tmp_path_factory.mktemp("inspector-demo") / "acme-shop"))


@pytest.fixture
def account(moto, demo: Snapshot) -> DemoAccount:  # noqa: F811  (the fixture)
    return seed_demo_account(account_session(), demo)


def _collect(tmp_path: Path, account: DemoAccount,
             session: boto3.Session) -> tuple[Snapshot, AwsCollection]:
    writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": CLUSTER})
    result = collect_aws(writer, cluster_name=CLUSTER, session=session,
                         role_arns=account.role_arns, image_digests=account.images,
                         instance_ids=account.instance_ids, now=demo_now(),
                         query_poll_interval=0.01)
    return Snapshot.load(writer.close()), result


def _frontend_digest(demo: Snapshot) -> str:
    (rec,) = [r for r in demo.aws("ecr", "describe_image_scan_findings")
              if r["params"]["repositoryName"] == "storefront/frontend"]
    return rec["params"]["imageId"]["imageDigest"]


def _raise_on(session: boto3.Session, operation: str, code: str, message: str) -> None:
    """Answer every ``inspector2`` ``operation`` call with the error ``code``."""
    model = operation_model("inspector2", operation)
    event = service_model("inspector2").service_id.hyphenize()

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, model.name)

    session.events.register_first(f"before-call.{event}.{model.name}", refuse)


def test_active_ecr_image_findings_are_listed_with_the_documented_filter(
        tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    snap, result = _collect(tmp_path, account, session)

    assert snap.coverage(KEY).status == "ok"
    assert ("inspector2", "list_findings") in result.calls
    (rec,) = snap.aws("inspector2", "list_findings")
    assert rec["params"] == {"filterCriteria": {
        "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
        "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}]}}
    validate_response("inspector2", "list_findings", rec["response"])
    want = account.records("inspector2", "list_findings")[0]["response"]["findings"]
    assert [f["findingArn"] for f in rec["response"]["findings"]] == \
        [f["findingArn"] for f in want] and want

    # the frame keys them by registry, repository and digest, with the fixed-in versions
    scans = Frames(snap).image_scans
    digest = _frontend_digest(account.demo)
    (row,) = scans[scans.digest.eq(digest)].itertuples(index=False)
    assert (row.scan_source, row.registry_id, row.repository, row.scan_status) == \
        ("inspector2", ACCOUNT, "storefront/frontend", "ACTIVE")
    critical = next(v for v in row.vulnerabilities if v.id == "CVE-2024-45492")
    assert (critical.severity, critical.package, critical.version, critical.fixed_in,
            critical.fix_available, critical.score) == \
        ("CRITICAL", "expat", "2.6.2-r0", "2.6.3-r0", "YES", 9.8)
    assert row.in_use_count >= 1 and pd.notna(row.last_in_use_at)
    # catalog is outside the enhanced-scanning rule: Inspector knows nothing, ECR's basic scan
    (catalog,) = scans[scans.repository.eq("storefront/catalog")].itertuples(index=False)
    assert catalog.scan_source == "ecr" and catalog.scan_status == "COMPLETE"


def test_pages_are_merged_into_one_record(tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    findings = account.records("inspector2", "list_findings")[0]["response"]["findings"]
    assert len(findings) >= 3
    canned = CannedAws(session)  # moto never pages: two canned pages, shape-validated
    canned.add("inspector2", "list_findings", PARAMS,
               {"findings": findings[:2], "nextToken": "page-2"})
    canned.add("inspector2", "list_findings", {**PARAMS, "nextToken": "page-2"},
               {"findings": findings[2:]})
    snap, _ = _collect(tmp_path, account, session)

    assert canned.served["ListFindings"] == 2
    (rec,) = snap.aws("inspector2", "list_findings")
    assert rec["params"] == PARAMS and "nextToken" not in rec["response"]
    assert [f["findingArn"] for f in rec["response"]["findings"]] == \
        [f["findingArn"] for f in findings]


def test_access_denied_is_a_forbidden_gap_and_ecr_findings_still_serve(
        tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    denied = deny(session, "inspector2", "list_findings")
    snap, result = _collect(tmp_path, account, session)

    assert denied == [PARAMS]
    cov = snap.coverage(KEY)
    assert cov.status == "forbidden" and "inspector2:ListFindings" in cov.message
    assert set(result.gaps) == {KEY}
    assert snap.coverage("aws/ecr/describe_image_scan_findings").status == "ok"
    frames = Frames(snap)
    assert frames.gaps(["image_scans"]) == []  # either source makes the frame usable
    scans = frames.image_scans
    assert set(scans.scan_source) == {"ecr"}
    (row,) = scans[scans.digest.eq(_frontend_digest(account.demo))].itertuples(index=False)
    assert {v.id: v.fixed_in for v in row.vulnerabilities}["CVE-2024-45492"] == "2.6.3-r0"


def test_inspector_not_enabled_is_a_not_found_gap_not_a_crash(
        tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    # AWS does not document the wording; the collector keys on "not enabled" in the message
    _raise_on(session, "list_findings", "AccessDeniedException",
              "Invoking account is not enabled for Amazon Inspector in eu-west-1")
    snap, result = _collect(tmp_path, account, session)

    cov = snap.coverage(KEY)
    assert cov.status == "not_found"
    assert "Amazon Inspector is not enabled" in cov.message
    assert set(result.gaps) == {KEY}
    assert not (snap.root / f"{KEY}.json").exists()
    assert set(Frames(snap).image_scans.scan_source) == {"ecr"}


def test_an_internal_error_is_an_error_gap(tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    _raise_on(session, "list_findings", "ValidationException", "filterCriteria is invalid")
    snap, _ = _collect(tmp_path, account, session)
    cov = snap.coverage(KEY)
    assert cov.status == "error" and "ValidationException" in cov.message


def test_throttling_is_retried_until_the_findings_are_complete(
        tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    attempts = throttle(session, "inspector2", "list_findings", times=2)
    snap, result = _collect(tmp_path, account, session)

    assert attempts == [3]
    assert result.ok, result.gaps
    (rec,) = snap.aws("inspector2", "list_findings")
    assert len(rec["response"]["findings"]) == len(
        account.records("inspector2", "list_findings")[0]["response"]["findings"])
