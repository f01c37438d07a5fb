"""Live AWS collection through boto3 against moto in server mode, seeded with the demo's account.

moto answers IAM, EC2, ECR, KMS, Secrets Manager, log groups, Logs Insights ``start_query``,
GuardDuty, CloudTrail, STS and ``list_nodegroups``; what moto lacks or gets wrong (EKS access
entries, access policies, pod identity associations, add-ons, the full ``describe_cluster`` and
``describe_nodegroup``, Logs Insights results) is answered from botocore ``before-call`` hooks on
the same session with shape-validated responses taken from the demo (tests/servers/aws.py).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest

from tests.servers.aws import (  # noqa: F401  (moto_server, moto: fixtures)
    ACCOUNT,
    ASSESSOR_ROLE,
    AWS_CANARIES,
    CLUSTER,
    REGION,
    CannedAws,
    DemoAccount,
    account_session,
    base_session,
    demo_now,
    deny,
    install_gap_responses,
    moto,
    moto_server,
    operation_model,
    seed_demo_account,
    throttle,
    validate_response,
)
from zt_toolkit.snapshot import Snapshot, SnapshotWriter
from zt_toolkit.sources.aws import (
    AUDIT_QUERIES,
    AwsCollection,
    collect_aws,
    irsa_role_arns,
    node_instance_ids,
    running_ecr_images,
)
from zt_toolkit.sources.catalog import AWS_OPERATIONS
from zt_toolkit.sources.redact import MARKER_RE

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "assessor-iam-policy.json"
WEEK = 7 * 86400
KEYS = [op.key for op in AWS_OPERATIONS]


# ----- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    from zt_toolkit.demo import build_demo

    return Snapshot.load(build_demo(tmp_path_factory.mktemp("aws-demo") / "acme-shop"))


@pytest.fixture
def account(moto, demo: Snapshot) -> DemoAccount:  # noqa: F811  (the fixture)
    """moto holding the demo's account (reset before and after each test)."""
    return seed_demo_account(account_session(), demo)


def _collect(tmp_path: Path, account: DemoAccount, session: boto3.Session | None = None,
             **kwargs: Any) -> tuple[Snapshot, AwsCollection]:
    session = session or account_session(ASSESSOR_ROLE)
    kwargs.setdefault("query_poll_interval", 0.01)
    kwargs.setdefault("now", demo_now())
    writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": CLUSTER})
    result = collect_aws(writer, cluster_name=CLUSTER, session=session,
                         role_arns=account.role_arns, image_digests=account.images,
                         instance_ids=account.instance_ids, **kwargs)
    return Snapshot.load(writer.close()), result


def _records(snap: Snapshot, key: str) -> list[dict[str, Any]]:
    """Records on disk, whatever the coverage says."""
    path = snap.root / f"{key}.json"
    return orjson.loads(path.read_bytes()) if path.is_file() else []


def _params(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps(r["params"], sort_keys=True) for r in records)


# ----- inputs from the Kubernetes side -----------------------------------------------------------
def test_inputs_from_the_kubernetes_side_name_the_demo_targets(demo: Snapshot) -> None:
    images = running_ecr_images(demo.iter_k8s("pods"))
    wanted = {(r["params"]["repositoryName"], r["params"]["imageId"]["imageDigest"])
              for r in demo.aws("ecr", "describe_image_scan_findings")}
    ecr = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    assert {(repo, digest) for host, repo, digest in images if host == ecr} == wanted
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", d) for _, _, d in images)

    roles = irsa_role_arns(demo.k8s("serviceaccounts"))
    assert f"arn:aws:iam::{ACCOUNT}:role/acme-storefront-api" in roles
    assert len(roles) == len(set(roles)) == 7  # storefront api + catalog share one role

    ids = node_instance_ids(demo.k8s("nodes"))
    reservations = demo.aws("ec2", "describe_instances")[0]["response"]["Reservations"]
    assert set(ids) == {i["InstanceId"] for r in reservations for i in r["Instances"]}
    pinned = {"spec": {"containers": [{"image": f"{ecr}/a/b@sha256:{'0' * 64}"}]}}
    tagged = {"spec": {"containers": [{"image": f"{ecr}/a/c:1.0"}]}, "status": {
        "containerStatuses": [{"imageID": f"docker-pullable://{ecr}/a/c@sha256:{'1' * 64}"}]}}
    assert running_ecr_images([pinned, tagged]) == [(ecr, "a/b", f"sha256:{'0' * 64}"),
                                                    (ecr, "a/c", f"sha256:{'1' * 64}")]


# ----- the whole collection against the demo's account -------------------------------------------
#: params that moto assigns and the demo cannot know: compared through other fields instead
_STRUCTURAL = {"aws/logs/start_query", "aws/logs/get_query_results"}


def test_collection_matches_the_demo_operation_by_operation(tmp_path: Path,
                                                            account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    canned = install_gap_responses(session, account)
    snap, result = _collect(tmp_path, account, session)

    assert result.ok, result.gaps
    assert result.account_id == ACCOUNT and snap.cluster.account_id == ACCOUNT
    assert snap.cluster.arn == f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
    assert snap.cluster.version == "1.30"
    for key in KEYS:
        assert snap.coverage(key).status == "ok", key
        service, operation = key.split("/")[1:]
        got = snap.aws(service, operation)
        want = account.records(service, operation)
        if key == "aws/iam/get_policy_version":
            # AWS-managed policies come from moto's copy of AWS, whose versions differ
            assert _params([{"params": {"PolicyArn": r["params"]["PolicyArn"]}} for r in got]) \
                == _params([{"params": {"PolicyArn": r["params"]["PolicyArn"]}} for r in want])
            defaults = {r["params"]["PolicyArn"]: r["response"]["Policy"]["DefaultVersionId"]
                        for r in snap.aws("iam", "get_policy")}
            assert all(r["params"]["VersionId"] == defaults[r["params"]["PolicyArn"]]
                       for r in got)
        elif key not in _STRUCTURAL:
            assert _params(got) == _params(want), key
        for rec in got:
            if "response" in rec:
                validate_response(service, operation, rec["response"])
        # errors that are data come out as in the demo, from moto itself
        assert Counter(r["error"]["code"] for r in got if "error" in r) == \
            Counter(r["error"]["code"] for r in want if "error" in r), key

    # what moto answered is moto's; what the hooks answered is the demo's
    assert snap.aws_response("eks", "describe_cluster", name=CLUSTER)["cluster"][
        "accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    assert canned.served["ListAccessEntries"] == 2  # two pages, merged into one record
    (entries,) = snap.aws("eks", "list_access_entries")
    assert entries["response"]["accessEntries"] == \
        account.records("eks", "list_access_entries")[0]["response"]["accessEntries"]
    assert "nextToken" not in entries["response"]
    instances = snap.aws("ec2", "describe_instances")[0]["response"]["Reservations"]
    tokens = Counter(i["MetadataOptions"]["HttpTokens"] for r in instances
                     for i in r["Instances"])
    assert tokens == Counter({"required": 3, "optional": 1})
    groups = {g["GroupName"]: g for g in
              snap.aws("ec2", "describe_security_groups")[0]["response"]["SecurityGroups"]}
    ssh = [p for g in groups.values() for p in g["IpPermissions"] if p.get("FromPort") == 22]
    assert ssh and ssh[0]["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    trail = snap.aws("cloudtrail", "get_trail_status")[0]
    assert trail["params"] == {
        "Name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/acme-org-audit"}
    assert trail["response"]["IsLogging"] is True
    assert snap.aws("kms", "get_key_rotation_status")[0]["response"]["KeyRotationEnabled"] \
        is False
    # every call a datetime: ISO 8601 with its UTC offset
    role = snap.aws("iam", "get_role")[0]["response"]["Role"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", role["CreateDate"])
    assert isinstance(role["AssumeRolePolicyDocument"], dict)
    assert ("sts", "assume_role") not in result.calls  # the session given was used as it is


def test_the_checks_on_the_collected_aws_side_agree_with_the_demo(
        tmp_path: Path, account: DemoAccount) -> None:
    """The demo's Kubernetes side plus the AWS side collected from moto: the same findings."""
    from zt_toolkit import assess
    from zt_toolkit.sources.catalog import KUBE_RESOURCES

    demo = account.demo
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    writer = SnapshotWriter(tmp_path / "live", source="live", cluster={"name": CLUSTER},
                            collected_at=demo.manifest.collected_at)
    for res in KUBE_RESOURCES:  # what the Kubernetes collector would have written
        cov = demo.coverage(f"k8s/{res.key}")
        if not cov.ok:
            writer.record_gap(f"k8s/{res.key}", cov.status, cov.message)
        elif res.key == "secrets":
            writer.write_k8s(res.key, demo.iter_k8s(res.key), kind="PartialObjectMetadataList",
                             api_version="meta.k8s.io/v1")
        else:
            writer.write_k8s(res.key, demo.iter_k8s(res.key), kind=res.list_kind,
                             api_version=res.api_version)
    seen: list[tuple[str, int, bool]] = []
    collect_aws(writer, cluster_name=CLUSTER, session=session, now=demo_now(),
                role_arns=irsa_role_arns(demo.k8s("serviceaccounts")),
                image_digests=running_ecr_images(demo.iter_k8s("pods")),
                instance_ids=account.instance_ids, query_poll_interval=0.01,
                progress=lambda *args: seen.append(args))
    live = Snapshot.load(writer.close())
    assert sorted(key for key, _, done in seen if done) == sorted(KEYS)  # once per operation

    key = ["check_id", "kind", "namespace", "name"]
    want = assess(demo).findings
    want = want.assign(name=want.name.map(account.translate))  # moto's ids in the names
    got = assess(live).findings
    merged = want.merge(got, on=key, how="outer", suffixes=("_demo", "_live"), indicator=True)
    differ = merged[(merged._merge != "both") | (merged.status_demo != merged.status_live)]
    assert len(want) > 1000
    assert differ.empty, differ[[*key, "status_demo", "status_live", "_merge"]].to_string()


def test_error_records_are_data_and_keep_coverage_ok(tmp_path: Path,
                                                     account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    snap, _ = _collect(tmp_path, account, session)

    policies = {r["params"]["repositoryName"]: r for r in snap.aws("ecr", "get_repository_policy")}
    assert policies["storefront/frontend"]["error"]["code"] == "RepositoryPolicyNotFoundException"
    assert "Principal" in policies["legacy/nightly-report"]["response"]["policyText"]
    scans = snap.aws("ecr", "describe_image_scan_findings")
    never = [r for r in scans if "error" in r]
    assert [r["error"]["code"] for r in never] == ["ScanNotFoundException"]
    assert set(never[0]["params"]) == {"repositoryName", "imageId"}
    scanned = [r for r in scans if "response" in r]
    # the frontend is under enhanced scanning: Inspector's findings, with the fixed-in version
    assert any(f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2024-45492"
               and f["severity"] == "CRITICAL" and f["fixAvailable"] == "YES"
               and f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"]
               == "2.6.3-r0"
               for r in scanned for f in r["response"]["imageScanFindings"].get(
                   "enhancedFindings", ()))
    assert any(f["name"] == "CVE-2024-33602"  # catalog: outside the rule, an old basic scan
               for r in scanned for f in r["response"]["imageScanFindings"].get("findings", ()))
    for key in ("aws/ecr/get_repository_policy", "aws/ecr/describe_image_scan_findings"):
        assert snap.coverage(key).status == "ok"


def test_assume_role_is_requested_with_the_external_id(tmp_path: Path,
                                                       account: DemoAccount) -> None:
    session = base_session()  # credentials of another account: the consultant's
    install_gap_responses(session, account)
    sent: list[dict[str, Any]] = []
    session.events.register("provide-client-params.sts.AssumeRole",
                            lambda params, **_: sent.append(dict(params)))
    snap, result = _collect(tmp_path, account, session, role_arn=ASSESSOR_ROLE,
                            external_id="acme-engagement-2026")

    assert sent == [{"RoleArn": ASSESSOR_ROLE, "ExternalId": "acme-engagement-2026",
                     "RoleSessionName": "zt-toolkit-20261120T090000Z", "DurationSeconds": 3600}]
    assert result.assumed_role_arn == ASSESSOR_ROLE
    assert result.calls[0] == ("sts", "assume_role")
    identity = snap.aws("sts", "get_caller_identity")[0]["response"]
    assert identity["Account"] == ACCOUNT  # the role's account, not the caller's
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/zt-assessor-readonly/")
    assert result.ok, result.gaps
    assert len(snap.aws("iam", "get_role")) == len(account.records("iam", "get_role"))
    # the temporary credentials are never written
    text = "".join(p.read_text() for p in snap.root.rglob("*.json"))
    assert "SessionToken" not in text and "SecretAccessKey" not in text


def test_a_denied_assume_role_is_forbidden_coverage_not_a_crash(tmp_path: Path,
                                                                account: DemoAccount) -> None:
    session = base_session()
    deny(session, "sts", "assume_role")
    snap, result = _collect(tmp_path, account, session, role_arn=ASSESSOR_ROLE,
                            external_id="wrong")
    assert {snap.coverage(k).status for k in KEYS} == {"forbidden"}
    assert "sts:AssumeRole" in snap.coverage("aws/eks/describe_cluster").message
    assert set(result.gaps) == set(KEYS)


def test_access_denied_on_one_operation_is_forbidden_and_the_rest_intact(
        tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    denied_keys = deny(session, "kms", "get_key_rotation_status")
    # an SCP protecting one role: the other roles are still read
    denied_roles = deny(session, "iam", "get_role",
                        lambda p: p.get("RoleName") == "acme-storefront-api")
    snap, result = _collect(tmp_path, account, session)

    assert denied_keys and denied_roles
    rotation = snap.coverage("aws/kms/get_key_rotation_status")
    assert rotation.status == "forbidden"
    assert "AccessDeniedException" in rotation.message
    assert "kms:GetKeyRotationStatus" in rotation.message
    assert snap.coverage("aws/iam/get_role").status == "forbidden"
    records = _records(snap, "aws/iam/get_role")  # the file keeps what was read
    assert len(records) == len(account.records("iam", "get_role"))
    assert [r["params"]["RoleName"] for r in records if "error" in r] == ["acme-storefront-api"]
    assert snap.aws("iam", "get_role") == []  # a forbidden source is not read as complete
    others = set(KEYS) - {"aws/kms/get_key_rotation_status", "aws/iam/get_role"}
    assert {k: snap.coverage(k).status for k in others} == dict.fromkeys(others, "ok")
    # the roles that were readable were followed further
    attached = {r["params"]["RoleName"] for r in snap.aws("iam", "list_attached_role_policies")}
    assert "acme-shop-prod-gpu-node" in attached and "acme-storefront-api" not in attached
    assert set(result.gaps) == {"aws/kms/get_key_rotation_status", "aws/iam/get_role"}


def test_a_denied_list_makes_what_depends_on_it_not_collected(tmp_path: Path,
                                                              account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    deny(session, "eks", "list_nodegroups")
    snap, _ = _collect(tmp_path, account, session)

    assert snap.coverage("aws/eks/list_nodegroups").status == "forbidden"
    nodegroups = snap.coverage("aws/eks/describe_nodegroup")
    assert nodegroups.status == "not_collected"
    assert "aws/eks/list_nodegroups" in nodegroups.message and "forbidden" in nodegroups.message
    lt = snap.coverage("aws/ec2/describe_launch_template_versions")
    assert lt.status == "not_collected" and "describe_nodegroup" in lt.message
    # node roles are unknown now, the roles named by the pods and add-ons are still read
    roles = {r["params"]["RoleName"] for r in snap.aws("iam", "get_role")}
    assert "acme-shop-prod-gpu-node" not in roles and "acme-payments-gateway" in roles
    assert snap.coverage("aws/ecr/describe_repositories").status == "ok"


def test_throttling_is_retried_until_the_data_is_complete(tmp_path: Path,
                                                          account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    attempts = throttle(session, "ecr", "describe_repositories", times=2)
    started = time.monotonic()
    snap, result = _collect(tmp_path, account, session)

    assert attempts == [3]
    assert result.ok, result.gaps
    assert _params(snap.aws("ecr", "describe_repositories")) == Counter({"{}": 1})
    repos = snap.aws("ecr", "describe_repositories")[0]["response"]["repositories"]
    assert len(repos) == len(account.records("ecr", "describe_repositories")[0]["response"][
        "repositories"])
    assert time.monotonic() - started < 60


def test_logs_insights_queries_are_recorded_with_their_names_and_window(
        tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    canned = install_gap_responses(session, account, running_polls=2)
    snap, result = _collect(tmp_path, account, session, audit_days=3)

    end = int(demo_now().timestamp())
    starts = snap.aws("logs", "start_query")
    assert [r["name"] for r in starts] == list(AUDIT_QUERIES)
    for rec in starts:
        assert rec["params"] == {"logGroupName": f"/aws/eks/{CLUSTER}/cluster",
                                 "startTime": end - 3 * 86400, "endTime": end,
                                 "queryString": AUDIT_QUERIES[rec["name"]]}
    names = {r["response"]["queryId"]: r["name"] for r in starts}
    results = snap.aws("logs", "get_query_results")
    assert {names[r["params"]["queryId"]] for r in results} == set(AUDIT_QUERIES)
    assert all(r["name"] == names[r["params"]["queryId"]] for r in results)
    assert {r["response"]["status"] for r in results} == {"Complete"}
    assert canned.served["GetQueryResults"] == 3 * len(AUDIT_QUERIES)  # Running twice, then done
    assert {q["status"] for q in result.queries.values()} == {"Complete"}
    exec_rows = next(r for r in results if r["name"] == "pod_exec_attach")["response"]["results"]
    assert exec_rows and all(
        {c["field"]: c["value"] for c in row}["objectRef.subresource"] in ("exec", "portforward")
        for row in exec_rows)
    # the frames and the audit check read them: every category was looked for
    from zt_toolkit.frames import Frames

    queries = Frames(snap).audit_queries
    assert set(queries.status) == {"Complete"} and len(queries) == len(AUDIT_QUERIES)
    assert queries.window_start.iloc[0].startswith("2026-11-17T09:00:00")


def test_a_query_that_never_completes_is_stopped_and_recorded_as_running(
        tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account, never_complete=True)
    started = time.monotonic()
    snap, result = _collect(tmp_path, account, session, query_timeout=0.5)

    assert time.monotonic() - started < 30
    assert ("logs", "stop_query") in result.calls
    results = snap.aws("logs", "get_query_results")
    assert {r["response"]["status"] for r in results} == {"Running"}
    assert len(results) == len(AUDIT_QUERIES)
    assert snap.coverage("aws/logs/get_query_results").status == "ok"


def test_no_audit_log_group_means_not_found_for_the_queries(tmp_path: Path,
                                                            account: DemoAccount) -> None:
    account_session().client("logs").delete_log_group(logGroupName=f"/aws/eks/{CLUSTER}/cluster")
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    snap, _ = _collect(tmp_path, account, session)
    assert snap.coverage("aws/logs/describe_log_groups").status == "ok"
    for key in ("aws/logs/start_query", "aws/logs/get_query_results"):
        cov = snap.coverage(key)
        assert cov.status == "not_found" and "control-plane logging" in cov.message


def test_an_unknown_cluster_keeps_the_account_level_data(tmp_path: Path,
                                                         account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "nope"})
    result = collect_aws(writer, cluster_name="nope", session=session, image_digests=[],
                         query_poll_interval=0.01)
    snap = Snapshot.load(writer.close())
    (rec,) = snap.aws("eks", "describe_cluster")
    assert rec["error"]["code"] == "ResourceNotFoundException"
    assert snap.coverage("aws/eks/list_nodegroups").status == "not_collected"
    assert snap.coverage("aws/ec2/describe_security_groups").status == "not_collected"
    for key in ("aws/ecr/describe_repositories", "aws/guardduty/get_detector",
                "aws/cloudtrail/get_trail_status", "aws/secretsmanager/list_secrets"):
        assert snap.coverage(key).status == "ok", key
    assert result.account_id == ACCOUNT


def test_no_secret_value_reaches_the_snapshot(tmp_path: Path, account: DemoAccount) -> None:
    session = account_session(ASSESSOR_ROLE)
    install_gap_responses(session, account)
    snap, result = _collect(tmp_path, account, session)

    text = "".join(p.read_text() for p in snap.root.rglob("*.json"))
    for canary in AWS_CANARIES.values():
        assert canary not in text
    assert ("secretsmanager", "get_secret_value") not in result.calls
    (version,) = snap.aws("ec2", "describe_launch_template_versions")[0]["response"][
        "LaunchTemplateVersions"]
    script = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
    assert "/etc/eks/bootstrap.sh" in script and MARKER_RE.search(script)


# ----- least privilege ---------------------------------------------------------------------------
#: actions in the policy that the collector does not call itself: none since it lists the
#: Inspector findings itself (inspector2:ListFindings, which ECR's DescribeImageScanFindings
#: also needs for the enhanced findings)
INDIRECT_ACTIONS: set[str] = set()
#: not read-only by name but needed: Logs Insights runs a query to read the audit log
#: (StartQuery) and the collector stops a query it gave up waiting for (StopQuery); they change
#: nothing in the account
QUERY_ACTIONS = {"logs:StartQuery", "logs:StopQuery"}
#: actions that read secret material: never in the policy
SECRET_ACTIONS = {"secretsmanager:GetSecretValue", "kms:Decrypt", "ssm:GetParameter",
                  "ssm:GetParameters", "ecr:GetAuthorizationToken", "ecr:BatchGetImage",
                  "ecr:GetDownloadUrlForLayer", "ec2:GetPasswordData",
                  "ec2:DescribeInstanceAttribute", "logs:GetLogEvents", "logs:FilterLogEvents"}
#: boto3 operations whose IAM action is not <service prefix>:<PascalCase operation>; none of
#: the collector's calls is such an exception today (s3 list_objects_v2 -> s3:ListBucket is one)
ACTION_EXCEPTIONS: dict[tuple[str, str], str] = {("s3", "ListObjectsV2"): "s3:ListBucket"}


def _iam_action(model: Any) -> str:
    service = model.service_model
    prefix = service.signing_name or service.endpoint_prefix
    return ACTION_EXCEPTIONS.get((prefix, model.name), f"{prefix}:{model.name}")


def _policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text())
    assert doc["Version"] == "2012-10-17"
    actions: set[str] = set()
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow" and "NotAction" not in st and "NotResource" not in st
        acts = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        assert all("*" not in a for a in acts), "no wildcard actions"
        actions |= set(acts)
    return actions


def test_every_call_is_allowed_by_the_shipped_policy_and_nothing_more(
        tmp_path: Path, account: DemoAccount) -> None:
    session = base_session()
    install_gap_responses(session, account, never_complete=True)  # StopQuery too
    called: set[str] = set()
    # before-parameter-build sees every call, including those a before-call hook answers
    session.events.register("before-parameter-build",
                            lambda model, **_: called.add(_iam_action(model)))
    _, result = _collect(tmp_path, account, session, role_arn=ASSESSOR_ROLE,
                         external_id="zt-engagement", query_timeout=0.2)
    assert result.ok, result.gaps

    # sts:AssumeRole is the caller's permission (and the role's trust policy), not the role's
    assessor_calls = called - {"sts:AssumeRole"}
    assert {f"{s}:{o}" for s, o in result.calls} >= {"sts:assume_role", "logs:stop_query"}
    policy = _policy_actions()
    assert assessor_calls <= policy, sorted(assessor_calls - policy)
    assert policy - assessor_calls == INDIRECT_ACTIONS, "the policy lists exactly what is called"
    catalog = {_iam_action(operation_model(op.service, op.operation)) for op in AWS_OPERATIONS}
    assert catalog <= policy


def test_the_shipped_policy_is_read_only() -> None:
    policy = _policy_actions()
    assert not policy & SECRET_ACTIONS
    writes = {a for a in policy - QUERY_ACTIONS
              if not re.match(r"^[a-z0-9-]+:(Describe|Get|List)[A-Z]", a)}
    assert writes == set(), "only Describe/Get/List actions, and the Logs Insights query pair"
    assert policy >= QUERY_ACTIONS
    # the query pair is limited to the EKS control-plane log groups
    doc = json.loads(POLICY.read_text())
    start = next(s for s in doc["Statement"] if "logs:StartQuery" in s["Action"])
    assert start["Resource"] == ["arn:aws:logs:*:*:log-group:/aws/eks/*"]


# ----- pieces -------------------------------------------------------------------------------------
def test_expiring_credentials_are_renewed_by_assuming_the_role_again(
        tmp_path: Path, account: DemoAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    from zt_toolkit.sources import aws

    # every credential now counts as about to expire: each client is made with fresh ones
    monkeypatch.setattr(aws, "_REFRESH_MARGIN", aws.timedelta(hours=2))
    session = base_session()
    install_gap_responses(session, account)
    assumed: list[str] = []
    session.events.register("provide-client-params.sts.AssumeRole",
                            lambda params, **_: assumed.append(params["RoleArn"]))
    snap, result = _collect(tmp_path, account, session, role_arn=ASSESSOR_ROLE,
                            external_id="zt-engagement", max_workers=4)
    assert len(assumed) > 10 and set(assumed) == {ASSESSOR_ROLE}
    assert result.ok, result.gaps
    assert snap.aws("sts", "get_caller_identity")[0]["response"]["Account"] == ACCOUNT


def test_pages_are_merged_into_one_response_nested_result_keys_included(moto) -> None:  # noqa: F811
    from zt_toolkit.sources.aws import _merge_pages

    session = base_session()
    canned = CannedAws(session)
    params = {"repositoryName": "a/b", "imageId": {"imageDigest": "sha256:" + "0" * 64}}
    finding = {"name": "CVE-1", "severity": "HIGH"}
    first = {"repositoryName": "a/b", "imageScanStatus": {"status": "COMPLETE"},
             "imageScanFindings": {"findingSeverityCounts": {"HIGH": 3},
                                   "imageScanCompletedAt": "2026-11-20T09:00:00Z",
                                   "findings": [finding]}, "nextToken": "t2"}
    second = {"repositoryName": "a/b", "imageScanFindings": {"findings": [finding, finding]}}
    canned.add("ecr", "describe_image_scan_findings", params, first)
    canned.add("ecr", "describe_image_scan_findings", {**params, "nextToken": "t2"}, second)
    pages = session.client("ecr").get_paginator("describe_image_scan_findings").paginate(**params)
    merged = _merge_pages(pages)
    merged.pop("ResponseMetadata", None)
    assert merged["imageScanFindings"]["findings"] == [finding] * 3
    assert merged["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 3}
    assert merged["imageScanStatus"] == {"status": "COMPLETE"}
    assert "nextToken" not in merged and canned.served["DescribeImageScanFindings"] == 2


def test_credentials_in_addon_configuration_and_query_results_are_redacted() -> None:
    from zt_toolkit.sources.aws import _SANITIZERS

    addon = {"addon": {"addonName": "x", "configurationValues": json.dumps(
        {"env": {"DB_PASSWORD": "hunter2-very-secret"}, "replicas": 2})}}
    _SANITIZERS[("eks", "describe_addon")](addon)
    values = json.loads(addon["addon"]["configurationValues"])
    assert MARKER_RE.fullmatch(values["env"]["DB_PASSWORD"]) and values["replicas"] == 2
    yaml_addon = {"addon": {"configurationValues": "env:\n  apiKey: abcdef0123456789\n"}}
    _SANITIZERS[("eks", "describe_addon")](yaml_addon)
    assert "abcdef0123456789" not in yaml_addon["addon"]["configurationValues"]
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
    results = {"results": [[{"field": "requestURI", "value": f"/api/v1/pods?token={jwt}"},
                            {"field": "verb", "value": "list"}]]}
    _SANITIZERS[("logs", "get_query_results")](results)
    assert jwt not in json.dumps(results) and results["results"][0][1]["value"] == "list"
