"""`zt collect` end to end: the loopback API server and moto → snapshot → findings → report.

The served cluster is the demo, with canary values planted in Secret data, env values and
ConfigMaps (and in the AWS account: a Secrets Manager value, launch-template user data). None
may appear in the snapshot, the findings, the executed notebooks or the HTML report.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.servers.aws import (  # noqa: F401  (moto_server, moto: fixtures)
    ASSESSOR_ROLE,
    AWS_CANARIES,
    CLUSTER,
    REGION,
    account_session,
    install_gap_responses,
    moto,
    moto_server,
    seed_demo_account,
)
from tests.servers.kube_api import Fault, KubeApiServer
from zt_toolkit.assessment import assess
from zt_toolkit.checks.model import Pillar
from zt_toolkit.cli import app
from zt_toolkit.collect import collect
from zt_toolkit.snapshot import Snapshot
from zt_toolkit.sources.aws import AUDIT_QUERIES


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def leaked(canaries: list[str], *roots: Path) -> list[tuple[str, str]]:
    """Every (file, canary) pair where a planted value shows up in a file's bytes."""
    needles = [(c, c.encode()) for c in canaries]
    return [(str(f), c) for f in files_under(*roots) for c, b in needles if b in f.read_bytes()]


@pytest.fixture
def served(moto, demo_snapshot, tmp_path):  # noqa: F811  (the moto fixture)
    """The demo cluster on a loopback API server and its AWS account in moto."""
    account = seed_demo_account(account_session(), demo_snapshot)
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        yield api, session, kubeconfig


@pytest.mark.slow
def test_collect_to_a_handover_archive_then_report(served, demo_snapshot, tmp_path):
    from zt_toolkit.report.render import write_report

    api, session, kubeconfig = served
    archive = tmp_path / "acme-shop.tar.gz"
    result = collect(archive, cluster=CLUSTER, region=REGION, kubeconfig=str(kubeconfig),
                     session=session)
    assert result.path == archive and tarfile.is_tarfile(archive)
    assert {r.method for r in api.requests} == {"GET"}
    snap = Snapshot.load(archive)
    assert snap.source == "live" and snap.cluster.account_id == "111122223333"

    # the same judgement as on the demo for what Kubernetes alone decides
    collected = assess(snap).findings
    demo = assess(demo_snapshot).findings
    key = ["check_id", "kind", "namespace", "name"]
    pods = [p.value for p in (Pillar.POD_SECURITY,)]
    left = collected[collected.pillar.isin(pods)].set_index(key).status.sort_index()
    right = demo[demo.pillar.isin(pods)].set_index(key).status.sort_index()
    pd.testing.assert_series_equal(left, right)
    for pillar in Pillar:
        statuses = set(collected[collected.pillar == pillar.value].status)
        assert {"pass", "fail"} <= statuses, (pillar.value, statuses)

    # the named audit-log queries reach the report
    queries = assess(snap).frames.audit_queries
    assert set(queries.name) == set(AUDIT_QUERIES)
    report = write_report(archive, "Acme Shop", out=tmp_path / "reports")
    html = (report / "report.html").read_text()
    assert all(name in html for name in AUDIT_QUERIES)

    canaries = [*api.canaries, *AWS_CANARIES.values()]
    assert len(canaries) > 10
    assert not leaked(canaries, snap.root, report)


def test_cli_collect_reports_coverage_gaps(served, tmp_path):
    api, session, kubeconfig = served
    # the assessor's role may not list NetworkPolicies
    api.set_fault("networkpolicies.networking.k8s.io", Fault(403, times=None))
    out = tmp_path / "snap"
    result = CliRunner().invoke(app, ["collect", "--kubeconfig", str(kubeconfig), "--cluster",
                                      CLUSTER, "--region", REGION, "--skip-aws", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "forbidden" in text and "networkpolicies" in text.replace(" ", "")
    snap = Snapshot.load(out)
    assert snap.coverage("k8s/networkpolicies.networking.k8s.io").status == "forbidden"
    assert snap.coverage("k8s/pods").ok
    assert snap.coverage("aws/eks/describe_cluster").status == "not_collected"
    findings = assess(snap).findings
    netpol = findings[findings.check_id == "namespace_network_policy_present"]
    assert set(netpol.status) == {"not_assessed"}


def test_unreachable_cluster_keeps_the_aws_side(moto, demo_snapshot, tmp_path):  # noqa: F811
    account = seed_demo_account(account_session(), demo_snapshot)
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", token="wrong-token")
        result = collect(tmp_path / "snap", cluster=CLUSTER, region=REGION,
                         kubeconfig=str(kubeconfig), session=session)
    snap = Snapshot.load(result.path)
    assert snap.coverage("k8s/pods").status == "error"
    assert "401" in snap.coverage("k8s/pods").message
    assert snap.coverage("aws/eks/describe_cluster").ok
