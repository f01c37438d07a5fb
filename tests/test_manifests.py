"""Manifest import: files and folders of YAML / JSON → a snapshot the checks can read."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import orjson
import pytest
import yaml

from zt_toolkit.errors import SnapshotError
from zt_toolkit.manifests import (
    AWS_NOT_COLLECTED,
    ImportResult,
    ManifestImportError,
    import_manifests,
)
from zt_toolkit.snapshot import Snapshot
from zt_toolkit.sources.catalog import AWS_OPERATIONS, KUBE_RESOURCES
from zt_toolkit.sources.redact import parse_marker

ORACLE = Path(__file__).resolve().parents[2] / "shared" / "oracles" / "netpol" / "tests"
SHOP = Path(__file__).parent / "fixtures" / "manifests" / "shop"

BOUTIQUE_SERVICES = [
    "adservice", "cartservice", "checkoutservice", "currencyservice", "emailservice",
    "frontend", "paymentservice", "productcatalogservice", "recommendationservice",
    "redis-cart", "shippingservice",
]  # fmt: skip
BOUTIQUE_NETPOLS = sorted(
    f"{name}-netpol" for name in [*BOUTIQUE_SERVICES, "loadgenerator"] if name != "redis-cart"
)

needs_oracle = pytest.mark.skipif(not ORACLE.is_dir(), reason="shared/oracles not present")


def read_items(snapshot: Path, resource: str) -> list[dict]:
    """Items of k8s/<resource>.json read straight from the file (not through Snapshot)."""
    doc = orjson.loads((snapshot / "k8s" / f"{resource}.json").read_bytes())
    return doc["items"]


def names(snapshot: Path, resource: str) -> list[tuple[str | None, str]]:
    return [
        (i["metadata"].get("namespace"), i["metadata"]["name"])
        for i in read_items(snapshot, resource)
    ]


def all_bytes(snapshot: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(snapshot.rglob("*")) if p.is_file())


# ----- the netpol oracle's online boutique -------------------------------------------------------
@needs_oracle
def test_onlineboutique_cluster_dump(tmp_path: Path) -> None:
    """`kubectl get -o yaml` Lists of Namespaces, Pods and NetworkPolicies."""
    out = tmp_path / "snap"
    result = import_manifests([ORACLE / "onlineboutique"], out)
    assert result.snapshot == out
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["source"] == "manifests"
    assert manifest["cluster"]["name"] == "onlineboutique"

    assert names(out, "namespaces") == [
        (None, n)
        for n in ["default", "ingress-nginx", "kube-node-lease", "kube-public", "kube-system"]
    ]
    assert result.synthesized_namespaces == []  # default is defined in ns.yaml
    pods = read_items(out, "pods")
    assert len(pods) == 12
    assert all(p["kind"] == "Pod" and p["metadata"]["namespace"] == "default" for p in pods)
    assert {p["metadata"]["name"].rsplit("-", 2)[0] for p in pods} == {
        *BOUTIQUE_SERVICES,
        "loadgenerator",
    }
    assert "adservice-77d5cd745d-t8mx4" in {p["metadata"]["name"] for p in pods}
    assert names(out, "networkpolicies.networking.k8s.io") == [
        ("default", n) for n in BOUTIQUE_NETPOLS
    ]
    # the JSON output file of the oracle is not a manifest
    assert [s.path.name for s in result.skipped] == ["connlist_output.json"]
    for op in AWS_OPERATIONS:
        assert manifest["coverage"][op.key] == {
            "status": "not_collected", "count": None, "message": AWS_NOT_COLLECTED,
        }  # fmt: skip


@needs_oracle
def test_onlineboutique_workloads_without_namespace(tmp_path: Path) -> None:
    """Deployments, Services and NetworkPolicies without metadata.namespace: all in default."""
    out = tmp_path / "snap"
    result = import_manifests([ORACLE / "online_boutique_workloads_no_ns"], out)
    deployments = read_items(out, "deployments.apps")
    assert [
        (d["kind"], d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments
    ] == [("Deployment", "default", n) for n in sorted([*BOUTIQUE_SERVICES, "loadgenerator"])]
    assert names(out, "services") == [
        ("default", n) for n in sorted([*BOUTIQUE_SERVICES, "frontend-external"])
    ]
    assert names(out, "networkpolicies.networking.k8s.io") == [
        ("default", n) for n in BOUTIQUE_NETPOLS
    ]
    frontend = next(d for d in deployments if d["metadata"]["name"] == "frontend")
    assert frontend["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "gcr.io/google-samples/microservices-demo/frontend"
    )
    # namespace default is synthesized, labelled as the API server would
    assert result.synthesized_namespaces == ["default"]
    (ns,) = read_items(out, "namespaces")
    assert ns["metadata"] == {
        "name": "default",
        "labels": {"kubernetes.io/metadata.name": "default"},
        "annotations": {"zt-toolkit.io/synthesized": "true"},
    }
    snap = Snapshot.load(out)
    assert snap.coverage("k8s/pods").status == "ok" and snap.k8s("pods") == []
    assert all(snap.coverage(op.key).status == "not_collected" for op in AWS_OPERATIONS)


@needs_oracle
def test_whole_netpol_oracle_imports_without_crashing(tmp_path: Path) -> None:
    result = import_manifests([ORACLE], tmp_path / "snap")
    snap = Snapshot.load(result.snapshot)
    assert len(snap.k8s("networkpolicies.networking.k8s.io")) > 50


# ----- the fixture folder ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImportResult, Path, list[str]]:
    out = tmp_path_factory.mktemp("shop") / "snap"
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("zt_toolkit")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        result = import_manifests([SHOP], out, cluster_name="shop-prod")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    return result, out, [r.getMessage() for r in records if r.levelno >= logging.WARNING]


SECRETS_IN_FIXTURES = [
    "hunter2-very-secret",  # Deployment env, init container args, last-applied annotation
    "AKIAIOSFODNN7EXAMPLE",
    "correct-horse-battery-staple",  # ConfigMap data
    "pg-embedded-pass-42",  # inside a config file in a ConfigMap
    "cronjob-api-key-0123456789",
    "c3VwZXItc2VjcmV0LWRiLXBhc3N3b3Jk",  # Secret data, base64
    "super-secret-db-password",  # ... decoded
    "shop-admin-plaintext",  # Secret stringData
    "s3cr3t-in-last-applied",
    "widget-password-123",
    "widget-client-secret-xyz",
    "kubeconfig-token-must-not-leak",
]


def test_fixture_secrets_are_really_in_the_fixtures() -> None:
    import base64

    text = (
        "".join(p.read_text() for p in SHOP.rglob("*.y*ml"))
        + (SHOP / "configmaps.json").read_text()
    )
    for secret in SECRETS_IN_FIXTURES:
        assert secret in text or base64.b64encode(secret.encode()).decode() in text


@pytest.mark.parametrize("secret", SECRETS_IN_FIXTURES)
def test_no_secret_reaches_the_snapshot_or_the_logs(shop, secret: str) -> None:
    result, out, warnings = shop
    assert secret.encode() not in all_bytes(out)
    assert not any(secret in w for w in warnings)
    assert not any(secret in loc for loc in result.redacted)


def test_multi_doc_deployment_is_redacted_with_markers(shop) -> None:
    result, out, _ = shop
    (api,) = [d for d in read_items(out, "deployments.apps") if d["metadata"]["name"] == "api"]
    env = {e["name"]: e for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    marker = parse_marker(env["DB_PASSWORD"]["value"])
    assert marker.kind == "password" and marker.matches("hunter2-very-secret")
    assert (
        b"<redacted:zt kind=password len=19 sha256="
        in (out / "k8s" / "deployments.apps.json").read_bytes()
    )
    assert parse_marker(env["AWS_ACCESS_KEY_ID"]["value"]).kind == "aws_access_key_id"
    # references and ordinary values are kept
    assert env["LISTEN"]["value"] == "$(POD_IP)"
    assert env["API_TOKEN_FILE"]["value"] == "/var/run/secrets/shop/token"
    assert env["DB_SECRET_ARN"]["value"].startswith("arn:aws:secretsmanager:")
    assert env["POD_IP"] == {
        "name": "POD_IP",
        "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
    }
    # managedFields and last-applied dropped; timestamps stay the API's strings
    assert "managedFields" not in api["metadata"]
    assert "annotations" not in api["metadata"]
    assert api["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"
    assert set(result.redacted) >= {
        "Deployment shop/api: spec.template.spec.containers[api].env[DB_PASSWORD]",
        "Deployment shop/api: spec.template.spec.containers[api].env[AWS_ACCESS_KEY_ID]",
        "Deployment shop/api: spec.template.spec.initContainers[migrate].args[0]",
        "Deployment shop/api: metadata.annotations"
        "[kubectl.kubernetes.io/last-applied-configuration] (dropped)",
    }


def test_secret_is_metadata_only(shop) -> None:
    result, out, _ = shop
    doc = orjson.loads((out / "k8s" / "secrets.json").read_bytes())
    assert doc["kind"] == "PartialObjectMetadataList"
    assert doc["items"] == [
        {
            "apiVersion": "meta.k8s.io/v1",
            "kind": "PartialObjectMetadata",
            "metadata": {"name": "db-credentials", "namespace": "shop", "labels": {"app": "api"}},
        }
    ]
    assert "Secret shop/db-credentials: data (dropped: metadata only)" in result.redacted


def test_cronjob(shop) -> None:
    _, out, _ = shop
    (cron,) = read_items(out, "cronjobs.batch")
    assert cron["metadata"] == {"name": "nightly-report", "namespace": "reports"}
    env = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert parse_marker(env[0]["value"]).kind == "api_key"
    assert env[1] == {"name": "REPORT_BUCKET", "value": "s3://acme-reports"}


def test_list_and_typed_list(shop) -> None:
    _, out, _ = shop
    assert names(out, "serviceaccounts") == [("shop", "api")]
    assert names(out, "roles.rbac.authorization.k8s.io") == [("shop", "read-config")]
    assert names(out, "rolebindings.rbac.authorization.k8s.io") == [("shop", "api-read-config")]
    # a cluster-scoped object loses the namespace the manifest gave it
    assert names(out, "clusterroles.rbac.authorization.k8s.io") == [(None, "shop-reader")]
    # ConfigMapList items carry no kind: they get the List's
    cms = {c["metadata"]["name"]: c for c in read_items(out, "configmaps")}
    assert set(cms) == {"api-config", "aws-auth", "tabs-ok"}
    assert cms["api-config"]["kind"] == "ConfigMap" and cms["api-config"]["apiVersion"] == "v1"
    assert parse_marker(cms["api-config"]["data"]["SMTP_PASSWORD"]).kind == "password"
    assert cms["api-config"]["data"]["FEATURE_FLAGS"] == "checkout=true,search=false"
    app_yaml = yaml.safe_load(cms["api-config"]["data"]["application.yaml"])
    assert app_yaml["spring"]["datasource"]["username"] == "shop"
    assert parse_marker(app_yaml["spring"]["datasource"]["password"]).kind == "password"


def test_aws_auth_is_kept_readable(shop) -> None:
    _, out, _ = shop
    (aws_auth,) = [c for c in read_items(out, "configmaps") if c["metadata"]["name"] == "aws-auth"]
    roles = yaml.safe_load(aws_auth["data"]["mapRoles"])
    assert roles[0]["rolearn"] == "arn:aws:iam::123456789012:role/shop-nodes"
    assert yaml.safe_load(aws_auth["data"]["mapUsers"])[0]["groups"] == ["system:masters"]


def test_namespaces_labelled_and_synthesized(shop) -> None:
    result, out, _ = shop
    ns = {n["metadata"]["name"]: n for n in read_items(out, "namespaces")}
    assert set(ns) == {"default", "kube-system", "reports", "shop"}
    assert result.synthesized_namespaces == ["default", "kube-system", "reports"]
    # defined in the manifests: label added, nothing else changed
    assert ns["shop"]["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "baseline",
        "kubernetes.io/metadata.name": "shop",
    }
    assert "annotations" not in ns["shop"]["metadata"]
    for name in result.synthesized_namespaces:
        assert ns[name]["metadata"]["labels"] == {"kubernetes.io/metadata.name": name}
        assert ns[name]["metadata"]["annotations"] == {"zt-toolkit.io/synthesized": "true"}


def test_broken_yaml_is_skipped_and_named(shop) -> None:
    result, _, warnings = shop
    broken = [s for s in result.skipped if s.path.name == "broken.yaml"]
    assert len(broken) == 1
    assert broken[0].reason.startswith("YAML error at line 7, column 1:")
    assert "TAB" in broken[0].reason
    (warning,) = [w for w in warnings if "broken.yaml" in w]
    assert str(SHOP / "broken.yaml") in warning and "line 7" in warning


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
def test_tabs_where_yaml_allows_them_are_accepted(shop) -> None:
    _, out, _ = shop
    (cm,) = [c for c in read_items(out, "configmaps") if c["metadata"]["name"] == "tabs-ok"]
    assert cm["data"] == {"greeting": "hello"}


def test_duplicates_keep_the_last(shop) -> None:
    _, out, warnings = shop
    (svc,) = read_items(out, "services")
    assert svc["spec"]["ports"] == [{"port": 443, "targetPort": 8443}]
    assert any("Service shop/api is defined in" in w and "zz-override.yaml" in w for w in warnings)


def test_unknown_kind_stored_under_a_guessed_key_and_warned_once(shop) -> None:
    result, out, warnings = shop
    assert names(out, "widgets.example.com") == [(None, "green"), ("shop", "blue")]
    assert [w for w in warnings if "Widget" in w and "k8s/widgets.example.com" in w] == [
        "kind Widget (example.com/v1) is not one the checks read; stored as k8s/widgets.example.com"
    ]
    assert result.counts["k8s/widgets.example.com"] == 2
    snap = Snapshot.load(out)
    assert snap.coverage("k8s/widgets.example.com").status == "ok"
    (blue,) = [w for w in snap.k8s("widgets.example.com") if w["metadata"]["name"] == "blue"]
    assert parse_marker(blue["spec"]["backend"]["password"]).kind == "password"
    assert blue["spec"]["color"] == "blue"


def test_legacy_api_version_routed_to_todays_resource(shop) -> None:
    _, out, _ = shop
    legacy = [d for d in read_items(out, "deployments.apps") if d["metadata"]["name"] == "legacy"]
    assert legacy[0]["apiVersion"] == "extensions/v1beta1"
    assert legacy[0]["metadata"]["namespace"] == "default"


def test_odd_documents_ignored_with_warnings(shop) -> None:
    result, _, warnings = shop
    assert any("widgets.yaml document 4: not an object (list)" in w for w in warnings)
    assert any("widgets.yaml document 5: no kind / apiVersion" in w for w in warnings)
    assert any("kubeconfig.yaml: a kubeconfig" in w for w in warnings)
    # hidden folders and non-manifest files are not read
    assert not any(".hidden" in w or "README" in w for w in warnings)
    assert {s.path.name for s in result.skipped} == {"broken.yaml", "kubeconfig.yaml"}


def test_quiet_import_returns_the_warnings_without_logging_them(tmp_path, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="zt_toolkit"):
        result = import_manifests([SHOP], tmp_path / "snap", quiet=True)
    assert any("kubeconfig.yaml: a kubeconfig" in w for w in result.warnings)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_coverage(shop) -> None:
    _, out, _ = shop
    snap = Snapshot.load(out)
    assert snap.source == "manifests" and snap.cluster.name == "shop-prod"
    for res in KUBE_RESOURCES:
        cov = snap.coverage(f"k8s/{res.key}")
        if res.optional:
            assert cov.status == "not_collected", res.key
            assert res.kind in cov.message
        else:
            assert cov.status == "ok", res.key
            assert cov.count == len(snap.k8s(res.key))
    assert snap.coverage("k8s/nodes").count == 0
    for op in AWS_OPERATIONS:
        assert snap.coverage(op.key).status == "not_collected"
        assert snap.coverage(op.key).message == AWS_NOT_COLLECTED


def test_optional_crd_is_ok_when_found(tmp_path: Path) -> None:
    (tmp_path / "kyverno.yaml").write_text(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: require-labels}\n"
        "spec: {validationFailureAction: Enforce, rules: []}\n"
    )
    snap = Snapshot.load(import_manifests([tmp_path / "kyverno.yaml"], tmp_path / "snap").snapshot)
    assert snap.coverage("k8s/clusterpolicies.kyverno.io").status == "ok"
    assert [p["metadata"]["name"] for p in snap.k8s("clusterpolicies.kyverno.io")] == [
        "require-labels"
    ]
    assert snap.coverage("k8s/policies.kyverno.io").status == "not_collected"
    assert snap.cluster.name == tmp_path.name  # the folder of the first file


# ----- AWS records -------------------------------------------------------------------------------
def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(data) if not isinstance(data, bytes) else data)


def test_aws_folder_is_copied_after_validation(tmp_path: Path, caplog) -> None:
    aws = tmp_path / "aws"
    cluster = {
        "cluster": {"name": "shop-prod", "resourcesVpcConfig": {"endpointPublicAccess": True}}
    }
    _write(
        aws / "eks" / "describe_cluster.json",
        [{"params": {"name": "shop-prod"}, "response": cluster}],
    )
    _write(
        aws / "ecr" / "get_repository_policy.json",
        [{"params": {"repositoryName": "shop/api"},
          "error": {"code": "RepositoryPolicyNotFoundException", "message": "no policy"}}],
    )  # fmt: skip
    _write(aws / "ecr" / "describe_repositories.json", {"repositories": []})  # not a list
    _write(
        aws / "kms" / "describe_key.json", [{"params": {}, "response": {}, "error": {"code": "X"}}]
    )
    _write(aws / "iam" / "get_role.json", b"[{")
    _write(aws / "eks" / "list_clusters.json", [{"params": {}, "response": {"clusters": ["a"]}}])
    out = tmp_path / "snap"
    with caplog.at_level(logging.WARNING, logger="zt_toolkit"):
        result = import_manifests([SHOP / "cronjob.yaml"], out, aws_dir=aws)
    snap = Snapshot.load(out)
    assert snap.aws_response("eks", "describe_cluster", name="shop-prod") == cluster
    assert snap.coverage("aws/ecr/get_repository_policy").status == "ok"
    assert snap.aws("ecr", "get_repository_policy")[0]["error"]["code"] == (
        "RepositoryPolicyNotFoundException"
    )
    bad = {
        "aws/ecr/describe_repositories": "must be a JSON list",
        "aws/kms/describe_key": "record 0 needs exactly one of response or error",
        "aws/iam/get_role": "not valid JSON (line 1",
    }
    for key, reason in bad.items():
        cov = snap.coverage(key)
        assert cov.status == "error" and reason in cov.message, key
        assert any(reason in w and key.split("/")[-1] in w for w in caplog.messages), key
    assert {s.path.name for s in result.skipped} >= {
        "describe_repositories.json",
        "describe_key.json",
        "get_role.json",
    }
    # an operation the checks do not read is copied, with a warning
    assert snap.coverage("aws/eks/list_clusters").status == "ok"
    assert any("list_clusters.json: not an operation the checks read" in m for m in caplog.messages)
    # the rest is not collected
    assert snap.coverage("aws/guardduty/list_detectors").status == "not_collected"
    assert snap.coverage("aws/guardduty/list_detectors").message == AWS_NOT_COLLECTED


def test_aws_folder_of_another_snapshot(tmp_path: Path) -> None:
    other = tmp_path / "other"
    _write(other / "aws" / "sts" / "get_caller_identity.json",
           [{"params": {}, "response": {"Account": "123456789012"}}])  # fmt: skip
    snap = Snapshot.load(
        import_manifests([SHOP / "cronjob.yaml"], tmp_path / "snap", aws_dir=other).snapshot
    )
    assert snap.aws_response("sts", "get_caller_identity") == {"Account": "123456789012"}


def test_missing_aws_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestImportError, match="AWS folder does not exist"):
        import_manifests([SHOP / "cronjob.yaml"], tmp_path / "snap", aws_dir=tmp_path / "nope")
    assert not (tmp_path / "snap").exists()


# ----- failure modes -----------------------------------------------------------------------------
def test_nothing_to_import_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ManifestImportError, match="no Kubernetes objects found.*broken.yaml"):
        import_manifests([SHOP / "broken.yaml", tmp_path / "missing.yaml"], tmp_path / "snap")
    assert list(tmp_path.iterdir()) == []


def test_missing_path_is_skipped(tmp_path: Path) -> None:
    result = import_manifests([tmp_path / "missing", SHOP / "cronjob.yaml"], tmp_path / "snap")
    assert [(s.path.name, s.reason) for s in result.skipped] == [
        ("missing", "no such file or directory")
    ]


def test_existing_output_is_refused(tmp_path: Path) -> None:
    (tmp_path / "snap").mkdir()
    with pytest.raises(SnapshotError, match="already exists"):
        import_manifests([SHOP / "cronjob.yaml"], tmp_path / "snap")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("tabs.yaml", "a:\n\tb: 1\n", "YAML error at line 2, column 1"),
        ("unclosed.yaml", "a: [1, 2\nb: 3\n", "YAML error at line"),
        ("tag.yaml", "a: !vault secret/db\n", "YAML error at line 1"),
        ("bad.json", '{"kind": "Pod",\n "x": }', "JSON error at line 2"),
        ("latin1.yaml", b"a: caf\xe9\n", "not UTF-8"),
        ("alias.yaml", "a: &x [*x]\n", "nested too deeply"),
    ],
)
def test_unparseable_files_never_crash(tmp_path: Path, name: str, content, reason: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SHOP / "cronjob.yaml", folder / "cronjob.yaml")
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    result = import_manifests([folder], tmp_path / "snap")
    (skipped,) = [s for s in result.skipped if s.path.name == name]
    assert skipped.reason.startswith(reason)
    assert result.counts["k8s/cronjobs.batch"] == 1


def test_parse_errors_do_not_quote_the_line(tmp_path: Path) -> None:
    (tmp_path / "leak.yaml").write_text("password: hunter2-very-secret: oops\n")
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    result = import_manifests([tmp_path], tmp_path / "snap")
    (skipped,) = result.skipped
    assert "hunter2" not in skipped.reason and "line 1" in skipped.reason


def test_yaml_scalars_become_json(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\n"
        "  creationTimestamp: 2024-05-01T10:00:00Z\n"
        "data:\n  2: two\n  true: yes-key\n  day: 2024-05-01\n"
        "  big: 123456789012345678901234567890\n"
    )
    result = import_manifests([tmp_path / "cm.yaml"], tmp_path / "snap")
    (cm,) = read_items(result.snapshot, "configmaps")
    assert cm["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"
    assert cm["data"] == {
        "2": "two", "true": "yes-key", "day": "2024-05-01", "big": "123456789012345678901234567890",
    }  # fmt: skip
