"""The demo snapshot: deterministic, loadable, schema-valid, and shaped like the demo design."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import botocore.session
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from botocore.validate import ParamValidator

from zt_toolkit.demo import COLLECTED_AT, build_demo
from zt_toolkit.snapshot import Snapshot
from zt_toolkit.sources.catalog import AWS_OPERATIONS, KUBE_BY_KEY, KUBE_RESOURCES

MARKER = re.compile(r"^<redacted:zt kind=[a-z0-9_]+ len=\d+ sha256=[0-9a-f]{12}>$")


@pytest.fixture(scope="module")
def snap_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "snapshot")


@pytest.fixture(scope="module")
def snap(snap_path: Path) -> Snapshot:
    return Snapshot.load(snap_path)


def by_name(items: list[dict[str, Any]], name: str, namespace: str | None = None) -> dict:
    for item in items:
        meta = item["metadata"]
        if meta["name"] == name and meta.get("namespace") == namespace:
            return item
    raise AssertionError(f"{namespace}/{name} not found")


def response(snap: Snapshot, service: str, operation: str, **params: Any) -> dict[str, Any]:
    found = snap.aws_response(service, operation, **params)
    assert found is not None, f"{service}.{operation} {params}"
    return found


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# ----- determinism and loading ----------------------------------------------------------------
def test_same_seed_gives_identical_bytes(tmp_path: Path, snap_path: Path) -> None:
    again = files(build_demo(tmp_path / "again"))
    assert again == files(snap_path)


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path, snap_path: Path) -> None:
    """No set or dict-of-hash ordering leaks into the files (another process, another seed)."""
    out = tmp_path / "other-process"
    code = f"from zt_toolkit.demo import build_demo; build_demo({str(out)!r})"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert files(out) == files(snap_path)


def test_other_seed_changes_jitter_not_design(tmp_path: Path, snap: Snapshot) -> None:
    other = Snapshot.load(build_demo(tmp_path / "other", seed=8))
    assert other.manifest.coverage.keys() == snap.manifest.coverage.keys()
    names = lambda s, r: sorted(i["metadata"]["name"] for i in s.k8s(r))  # noqa: E731
    assert names(other, "deployments.apps") == names(snap, "deployments.apps")
    stamps = lambda s: [i["metadata"]["creationTimestamp"] for i in s.k8s("namespaces")]  # noqa: E731
    assert stamps(other) != stamps(snap)


def test_snapshot_loads_with_full_coverage(snap: Snapshot) -> None:
    assert snap.source == "demo"
    assert snap.cluster.name == "acme-shop-prod"
    assert snap.cluster.account_id == "111122223333"
    assert snap.manifest.collected_at == COLLECTED_AT
    for res in KUBE_RESOURCES:
        cov = snap.coverage(f"k8s/{res.key}")
        if res.optional and cov.status == "not_found":
            continue
        assert cov.ok, f"{res.key}: {cov}"
        assert len(snap.k8s(res.key)) == cov.count
    for op in AWS_OPERATIONS:
        assert snap.coverage(op.key).ok, op.key
        assert snap.aws(op.service, op.operation), op.key
    # CRDs that are not installed are reported, not silently empty
    assert snap.coverage("k8s/ciliumnetworkpolicies.cilium.io").status == "not_found"
    assert snap.coverage("k8s/constrainttemplates.templates.gatekeeper.sh").status == "not_found"


def test_pods_are_streamed_one_per_line_uncompressed(snap_path: Path) -> None:
    path = snap_path / "k8s" / "pods.json"
    lines = path.read_bytes().splitlines()
    assert lines[0].endswith(b'"items":[')
    assert len(lines) == 2 + len(Snapshot.load(snap_path).k8s("pods"))


# ----- Kubernetes objects against the official schemas ------------------------------------------
def k8s_objects(snap: Snapshot) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for res in KUBE_RESOURCES:
        if res.optional or res.key == "secrets":  # CRs: no schema; Secrets: metadata only
            continue
        for item in snap.k8s(res.key):
            out.append((res.key, {"apiVersion": res.api_version, "kind": res.kind, **item}))
    return out


def test_kubernetes_objects_validate_against_the_1_30_schema(
        snap: Snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    # kubernetes_validate re-reads its multi-MB schema files on every call; they do not change
    monkeypatch.setattr(kubernetes_validate.utils, "schema_contents",
                        functools.cache(kubernetes_validate.utils.schema_contents))
    errors = []
    objects = k8s_objects(snap)
    assert len(objects) > 400
    for key, obj in objects:
        assert "kind" not in snap_item(obj), "List items carry no kind"
        try:
            kubernetes_validate.validate(obj, "1.30", strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(map(str, exc.path))
            errors.append(f"{key} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}: "
                          f"{path}: {exc.message[:200]}")
    assert not errors, "\n".join(errors[:30])


def snap_item(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def test_list_items_look_like_api_responses(snap: Snapshot) -> None:
    for res in KUBE_RESOURCES:
        for item in snap.k8s(res.key):
            meta = item["metadata"]
            assert "managedFields" not in meta
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                r"[0-9a-f]{12}", meta["uid"]), meta
            assert meta["resourceVersion"].isdigit()
            assert meta["creationTimestamp"] <= "2026-11-20T09:00:00Z"
            if res.optional:  # custom resources carry kind and apiVersion on every item
                assert item["kind"] == res.kind and item["apiVersion"] == res.api_version
            elif res.key != "secrets":
                assert "kind" not in item and "apiVersion" not in item
    uids = Counter(i["metadata"]["uid"] for r in KUBE_RESOURCES for i in snap.k8s(r.key))
    assert uids.most_common(1)[0][1] == 1


def test_secrets_are_partial_object_metadata_only(snap: Snapshot, snap_path: Path) -> None:
    head = json.loads((snap_path / "k8s" / "secrets.json").read_bytes().split(b"\n", 1)[0]
                      .rstrip(b"[") + b"[]}")
    assert head["kind"] == "PartialObjectMetadataList"
    assert head["apiVersion"] == "meta.k8s.io/v1"
    for item in snap.k8s("secrets"):
        assert set(item) == {"kind", "apiVersion", "metadata"}
        assert item["kind"] == "PartialObjectMetadata"
        assert item["apiVersion"] == "meta.k8s.io/v1"


def test_owner_references_resolve(snap: Snapshot) -> None:
    uids = {i["metadata"]["uid"]: (KUBE_BY_KEY[r.key].kind, i["metadata"]["name"])
            for r in KUBE_RESOURCES for i in snap.k8s(r.key)}
    for res in KUBE_RESOURCES:
        for item in snap.k8s(res.key):
            for ref in item["metadata"].get("ownerReferences", ()):
                assert uids.get(ref["uid"]) == (ref["kind"], ref["name"]), (res.key, ref)


# ----- AWS records against botocore's output shapes -------------------------------------------
_SESSION = botocore.session.get_session()
_POLICY_FIELDS = {"AssumeRolePolicyDocument", "Document", "PolicyDocument"}


def _to_wire(value: Any, shape: Any) -> Any:
    """Undo boto3's conveniences: ISO strings -> datetimes, decoded policies -> JSON strings."""
    if shape.type_name == "structure" and isinstance(value, dict):
        out = {}
        for key, v in value.items():
            member = shape.members.get(key)
            if member is None:
                out[key] = v  # the validator reports it as unknown
            elif key in _POLICY_FIELDS and isinstance(v, dict):
                out[key] = json.dumps(v)
            else:
                out[key] = _to_wire(v, member)
        return out
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_wire(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _to_wire(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp":
        assert isinstance(value, str | int | float), value
        if isinstance(value, str):
            return datetime.fromisoformat(value)  # fails loudly on a non-ISO string
    return value


def _operation(service: str, operation: str) -> Any:
    model = _SESSION.get_service_model(service)
    name = next(n for n in model.operation_names
                if re.sub(r"(?<!^)(?=[A-Z])", "_", n).lower() == operation
                or n.lower() == operation.replace("_", ""))
    return model.operation_model(name)


@pytest.mark.parametrize("op", AWS_OPERATIONS, ids=lambda op: op.key)
def test_aws_records_match_botocore_shapes(snap: Snapshot, op: Any) -> None:
    model = _operation(op.service, op.operation)
    records = snap.aws(op.service, op.operation)
    assert records
    for rec in records:
        assert "ResponseMetadata" not in rec.get("response", {})
        if model.input_shape is not None:  # params exactly as the boto3 call passes them
            report = ParamValidator().validate(rec["params"], model.input_shape)
            assert not report.has_errors(), f"{op.key} params: {report.generate_report()}"
        if "error" in rec:
            assert rec["error"]["code"] in {
                "RepositoryPolicyNotFoundException", "ScanNotFoundException"}
            continue
        wire = _to_wire(rec["response"], model.output_shape)
        report = ParamValidator().validate(wire, model.output_shape)
        assert not report.has_errors(), f"{op.key} {rec['params']}: {report.generate_report()}"


# ----- the design: what passes and what fails -------------------------------------------------
def test_every_check_is_in_the_design_table() -> None:
    """The module docstring says, per check id, what passes and what fails."""
    import zt_toolkit.demo as demo
    from zt_toolkit.checks import all_checks

    table = set(re.findall(r"^    ([a-z][a-z0-9_]+)\b", demo.__doc__ or "", re.M))
    known = {c.id for c in all_checks()}
    catalogue = Path(__file__).resolve().parents[2] / "shared" / "CHECKS.md"
    if catalogue.exists():  # the catalogue is the full list; the registry grows towards it
        known |= set(re.findall(r"^\| ([a-z][a-z0-9_]+) \|", catalogue.read_text(), re.M)) - {"id"}
    assert known - table == set(), "checks missing from the demo design table"
    assert table - known == set(), "unknown check ids in the demo design table"


def test_frontend_is_a_deployment_whose_pods_belong_to_its_replicaset(snap: Snapshot) -> None:
    dep = by_name(snap.k8s("deployments.apps"), "frontend", "storefront")
    assert dep["spec"]["replicas"] == 3
    current = [rs for rs in snap.k8s("replicasets.apps")
               if rs["metadata"]["ownerReferences"][0]["uid"] == dep["metadata"]["uid"]
               and rs["spec"]["replicas"]]
    assert len(current) == 1
    rs = current[0]
    pods = [p for p in snap.k8s("pods")
            if p["metadata"].get("ownerReferences", [{}])[0].get("uid") == rs["metadata"]["uid"]]
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["labels"]["pod-template-hash"] == \
            rs["metadata"]["labels"]["pod-template-hash"]
        assert pod["status"]["phase"] == "Running"
        assert re.fullmatch(r".+/storefront/frontend@sha256:[0-9a-f]{64}",
                            pod["status"]["containerStatuses"][0]["imageID"])
        assert pod["spec"]["nodeName"] and pod["status"]["podIP"].startswith("10.42.")
    svc = by_name(snap.k8s("services"), "frontend", "storefront")
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["metadata"]["annotations"][
        "service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert "loadBalancerSourceRanges" not in svc["spec"]
    assert "service.beta.kubernetes.io/aws-load-balancer-ssl-cert" not in \
        svc["metadata"]["annotations"]


def test_job_pods_belong_to_jobs_of_the_cronjob(snap: Snapshot) -> None:
    cj = by_name(snap.k8s("cronjobs.batch"), "nightly-report", "legacy-batch")
    jobs = [j for j in snap.k8s("jobs.batch")
            if j["metadata"]["ownerReferences"][0]["uid"] == cj["metadata"]["uid"]]
    assert len(jobs) == 2
    phases = sorted(p["status"]["phase"] for p in snap.k8s("pods")
                    if p["metadata"].get("ownerReferences", [{}])[0].get("uid")
                    in {j["metadata"]["uid"] for j in jobs})
    assert phases == ["Running", "Succeeded"]
    spec = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    c = spec["containers"][0]
    assert c["securityContext"]["privileged"] is True
    assert c["image"].endswith(":latest")
    assert spec["volumes"][0]["hostPath"]["path"] == "/var/run/docker.sock"
    aws_secret = next(e for e in c["env"] if e["name"] == "AWS_SECRET_ACCESS_KEY")
    assert MARKER.match(aws_secret["value"])
    assert any("secretKeyRef" in e.get("valueFrom", {}) for e in c["env"])


def test_bare_debug_pod_has_no_owner(snap: Snapshot) -> None:
    pod = by_name(snap.k8s("pods"), "debug-shell", "legacy-batch")
    assert "ownerReferences" not in pod["metadata"]
    assert pod["spec"]["serviceAccountName"] == "default"
    assert any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])


def test_namespaces_carry_the_designed_pod_security_labels(snap: Snapshot) -> None:
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in snap.k8s("namespaces")}
    pss = "pod-security.kubernetes.io/"
    assert labels["storefront"][pss + "enforce"] == "baseline"
    assert labels["storefront"][pss + "warn"] == "restricted"
    assert labels["payments"][pss + "enforce"] == "restricted"
    assert labels["payments"][pss + "enforce-version"] == "v1.30"
    assert not any(k.startswith(pss) for k in labels["legacy-batch"])
    assert {k for k in labels["monitoring"] if k.startswith(pss)} == {pss + "audit"}
    for name, lab in labels.items():
        assert lab["kubernetes.io/metadata.name"] == name
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(labels)


def test_aws_node_enforces_network_policy(snap: Snapshot) -> None:
    ds = by_name(snap.k8s("daemonsets.apps"), "aws-node", "kube-system")
    spec = ds["spec"]["template"]["spec"]
    agent = next(c for c in spec["containers"] if c["name"] == "aws-eks-nodeagent")
    assert "--enable-network-policy=true" in agent["args"]
    assert spec["hostNetwork"] is True
    assert spec["initContainers"][0]["name"] == "aws-vpc-cni-init"
    assert spec["initContainers"][0]["securityContext"]["privileged"] is True
    addon = response(snap, "eks", "describe_addon", addonName="vpc-cni")["addon"]
    assert json.loads(addon["configurationValues"]) == {"enableNetworkPolicy": "true"}
    sa = by_name(snap.k8s("serviceaccounts"), "aws-node", "kube-system")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == \
        addon["serviceAccountRoleArn"]


def test_daemonset_coverage_follows_taints(snap: Snapshot) -> None:
    nodes = snap.k8s("nodes")
    tainted = [n for n in nodes if n["spec"].get("taints")]
    assert len(nodes) == 4 and len(tainted) == 1
    assert all(n["spec"]["providerID"].startswith("aws:///eu-west-1") for n in nodes)
    pods = Counter((p["metadata"]["namespace"],
                    p["metadata"].get("ownerReferences", [{}])[0].get("name"))
                   for p in snap.k8s("pods"))
    for name, ns, expected in (("falco", "monitoring", 3), ("aws-node", "kube-system", 4),
                               ("node-exporter", "monitoring", 4),
                               ("nvidia-device-plugin-daemonset", "kube-system", 1)):
        ds = by_name(snap.k8s("daemonsets.apps"), name, ns)
        assert ds["status"]["desiredNumberScheduled"] == expected == pods[(ns, name)]
    falco_nodes = {p["spec"]["nodeName"] for p in snap.k8s("pods")
                   if p["metadata"]["name"].startswith("falco-")}
    assert tainted[0]["metadata"]["name"] not in falco_nodes


def test_every_pod_runs_on_a_known_node_with_consistent_ips(snap: Snapshot) -> None:
    nodes = {n["metadata"]["name"]: n for n in snap.k8s("nodes")}
    ips = Counter()
    for pod in snap.k8s("pods"):
        node = nodes[pod["spec"]["nodeName"]]
        assert pod["status"]["hostIP"] == node["status"]["addresses"][0]["address"]
        if pod["spec"].get("hostNetwork"):
            assert pod["status"]["podIP"] == pod["status"]["hostIP"]
        else:
            ips[pod["status"]["podIP"]] += 1
        assert pod["metadata"]["creationTimestamp"] >= node["metadata"]["creationTimestamp"] \
            or pod["status"]["phase"] == "Succeeded" or "Job" in str(pod["metadata"])
    assert ips.most_common(1)[0][1] == 1


def test_network_policies_carry_the_designed_gaps(snap: Snapshot) -> None:
    nps = snap.k8s("networkpolicies.networking.k8s.io")
    by_ns = Counter(n["metadata"]["namespace"] for n in nps)
    assert by_ns["legacy-batch"] == 0
    deny = by_name(nps, "default-deny-ingress", "storefront")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    egress = by_name(nps, "default-deny-egress-allow-dns", "storefront")["spec"]
    assert {p["port"] for p in egress["egress"][0]["ports"]} == {53}
    allow_all = by_name(nps, "allow-all-ingress", "monitoring")["spec"]
    assert allow_all["ingress"] == [{}]
    broad = by_name(nps, "postgres-allow-clients", "storefront")["spec"]
    frontend = by_name(snap.k8s("deployments.apps"), "frontend", "storefront")
    peer = broad["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert peer.items() <= frontend["spec"]["template"]["metadata"]["labels"].items()
    dangling = by_name(nps, "old-cart-allow-api", "storefront")["spec"]["podSelector"]
    assert not [p for p in snap.k8s("pods") if p["metadata"]["labels"].get("app") == "old-cart"]
    assert dangling == {"matchLabels": {"app": "old-cart"}}


def test_policy_endpoints_mirror_the_network_policies(snap: Snapshot) -> None:
    """The VPC CNI controller keeps one PolicyEndpoint per NetworkPolicy, peers resolved to IPs."""
    nps = snap.k8s("networkpolicies.networking.k8s.io")
    pes = snap.k8s("policyendpoints.networking.k8s.aws")
    owners = {pe["metadata"]["ownerReferences"][0]["uid"]: pe for pe in pes}
    assert set(owners) == {np["metadata"]["uid"] for np in nps}
    pods = {p["metadata"]["name"]: p for p in snap.k8s("pods")}
    by_policy = {pe["spec"]["policyRef"]["name"] + "@" + pe["metadata"]["namespace"]: pe["spec"]
                 for pe in pes}
    api = by_policy["api-allow-frontend@storefront"]
    assert {e["name"] for e in api["podSelectorEndpoints"]} == {
        n for n, p in pods.items() if p["metadata"]["labels"].get("app") == "api"
        and p["metadata"]["namespace"] == "storefront"}
    frontend_ips = {p["status"]["podIP"] for p in pods.values()
                    if p["metadata"]["labels"].get("app") == "frontend"}
    assert {e["cidr"] for e in api["ingress"]} == frontend_ips
    assert by_policy["allow-all-ingress@monitoring"]["ingress"] == [
        {"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]
    assert "ingress" not in by_policy["default-deny-ingress@storefront"]
    assert "podSelectorEndpoints" not in by_policy["old-cart-allow-api@storefront"]


def test_payments_is_hardened(snap: Snapshot) -> None:
    for name in ("payment-gateway", "fraud-scorer"):
        tmpl = by_name(snap.k8s("deployments.apps"), name, "payments")["spec"]["template"]
        spec = tmpl["spec"]
        c = spec["containers"][0]
        sec = c["securityContext"]
        assert sec["readOnlyRootFilesystem"] is True
        assert sec["allowPrivilegeEscalation"] is False
        assert sec["capabilities"] == {"drop": ["ALL"]}
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert any(v.get("csi", {}).get("driver") == "secrets-store.csi.k8s.io"
                   for v in spec["volumes"])
        assert not any("valueFrom" in e for e in c.get("env", ()))
    gateway = by_name(snap.k8s("deployments.apps"), "payment-gateway", "payments")
    assert "runAsNonRoot" not in gateway["spec"]["template"]["spec"]["containers"][0][
        "securityContext"]  # inherited from the pod level
    spc = by_name(snap.k8s("secretproviderclasses.secrets-store.csi.x-k8s.io"),
                  "payment-gateway-secrets", "payments")
    assert spc["spec"]["provider"] == "aws"
    svc = by_name(snap.k8s("services"), "payment-gateway", "payments")
    ann = svc["metadata"]["annotations"]
    assert ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert ann["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith("arn:aws:acm:")
    # IRSA: the webhook injected the role and the token into the running pods
    pod = next(p for p in snap.k8s("pods") if p["metadata"]["name"].startswith(
        "payment-gateway-") and p["metadata"]["namespace"] == "payments")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["AWS_ROLE_ARN"].endswith(":role/acme-payments-gateway")
    assert not any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])


def test_identity_design(snap: Snapshot) -> None:
    aws_auth = by_name(snap.k8s("configmaps"), "aws-auth", "kube-system")["data"]
    users = yaml.safe_load(aws_auth["mapUsers"])
    assert users[0]["groups"] == ["system:masters"]
    roles = yaml.safe_load(aws_auth["mapRoles"])
    assert {"system:bootstrappers", "system:nodes"} <= set(roles[0]["groups"])
    crbs = snap.k8s("clusterrolebindings.rbac.authorization.k8s.io")
    admins = {(s["kind"], s["name"]) for b in crbs if b["roleRef"]["name"] == "cluster-admin"
              for s in b["subjects"]}
    assert ("Group", "acme:platform-admins") in admins
    assert ("ServiceAccount", "report-runner") in admins
    anonymous = [b for b in crbs if any(s["name"] == "system:anonymous" for s in b["subjects"])]
    assert [b["metadata"]["name"] for b in anonymous] == ["anonymous-healthz"]
    token = by_name(snap.k8s("secrets"), "report-runner-token", "legacy-batch")
    assert token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == \
        "report-runner"
    api_trust = response(snap, "iam", "get_role", RoleName="acme-storefront-api")["Role"][
        "AssumeRolePolicyDocument"]
    assert "StringLike" in api_trust["Statement"][0]["Condition"]
    good = response(snap, "iam", "get_role", RoleName="acme-payments-gateway")["Role"][
        "AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]
    assert {k.rsplit(":", 1)[1] for k in good} == {"sub", "aud"}
    gpu = response(snap, "iam", "list_attached_role_policies",
                   RoleName="acme-shop-prod-gpu-node")["AttachedPolicies"]
    assert "AmazonS3FullAccess" in {p["PolicyName"] for p in gpu}
    cluster = response(snap, "eks", "describe_cluster", name="acme-shop-prod")["cluster"]
    assert cluster["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    assert cluster["resourcesVpcConfig"]["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert [e["enabled"] for e in cluster["logging"]["clusterLogging"]] == [True, False]
    admin = response(snap, "eks", "list_associated_access_policies",
                     principalArn="arn:aws:iam::111122223333:user/ops-admin")
    assert admin["associatedAccessPolicies"][0]["accessScope"]["type"] == "cluster"


def test_images_design(snap: Snapshot) -> None:
    running = {c["imageID"].split("@")[1] for p in snap.k8s("pods")
               for c in p["status"]["containerStatuses"]
               if c["imageID"].startswith("111122223333.dkr.ecr.")}
    scanned = {r["params"]["imageId"]["imageDigest"]: r
               for r in snap.aws("ecr", "describe_image_scan_findings")}
    assert running == set(scanned)  # every running ECR digest has a record
    errors = [r["params"]["repositoryName"] for r in scanned.values() if "error" in r]
    assert errors == ["legacy/nightly-report"]
    frontend = next(r["response"] for r in scanned.values()
                    if r["params"]["repositoryName"] == "storefront/frontend")
    counts = frontend["imageScanFindings"]["findingSeverityCounts"]
    assert counts["CRITICAL"] >= 1 and counts["HIGH"] >= 1
    catalog = next(r["response"] for r in scanned.values()
                   if r["params"]["repositoryName"] == "storefront/catalog")
    assert catalog["imageScanFindings"]["imageScanCompletedAt"] < "2026-10-21"
    policies = {r["params"]["repositoryName"]: r for r in snap.aws("ecr", "get_repository_policy")}
    public = json.loads(policies["legacy/nightly-report"]["response"]["policyText"])
    assert public["Statement"][0]["Principal"] == "*"
    assert policies["storefront/api"]["error"]["code"] == "RepositoryPolicyNotFoundException"
    postgres = by_name(snap.k8s("statefulsets.apps"), "postgres", "storefront")
    assert postgres["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:15"
    pod = by_name(snap.k8s("pods"), "postgres-0", "storefront")
    assert pod["status"]["containerStatuses"][0]["imageID"].startswith(
        "docker.io/library/postgres@sha256:")


def test_secrets_and_audit_design(snap: Snapshot) -> None:
    config = by_name(snap.k8s("configmaps"), "app-config", "storefront")["data"]
    assert MARKER.match(config["DB_PASSWORD"])
    markers = [v for cm in snap.k8s("configmaps") for v in (cm.get("data") or {}).values()
               if "<redacted:zt" in v]
    assert all(MARKER.match(m) for m in markers)
    classes = {s["metadata"]["name"]: s for s in snap.k8s("storageclasses.storage.k8s.io")}
    assert classes["gp3"]["parameters"]["encrypted"] == "true"
    assert "encrypted" not in classes["gp2-legacy"]["parameters"]
    efs = [pv for pv in snap.k8s("persistentvolumes")
           if pv["spec"].get("csi", {}).get("driver") == "efs.csi.aws.com"]
    assert sorted(pv["spec"]["csi"]["volumeAttributes"]["encryptInTransit"] for pv in efs) == \
        ["false", "true"]
    assert response(snap, "kms", "describe_key")["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert response(snap, "kms", "get_key_rotation_status")["KeyRotationEnabled"] is False
    rotation = {s["Name"]: s["RotationEnabled"]
                for s in response(snap, "secretsmanager", "list_secrets")["SecretList"]}
    assert rotation["acme/payments/gateway-api-key"] and not rotation["acme/storefront/orders-db"]
    assert response(snap, "logs", "describe_log_groups")["logGroups"][0]["retentionInDays"] == 30
    detector = response(snap, "guardduty", "get_detector")
    features = {f["Name"]: f for f in detector["Features"]}
    assert features["EKS_AUDIT_LOGS"]["Status"] == "ENABLED"
    assert features["RUNTIME_MONITORING"]["AdditionalConfiguration"][0] == {
        "Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED",
        "UpdatedAt": features["RUNTIME_MONITORING"]["UpdatedAt"]}
    assert "EKS_RUNTIME_MONITORING" not in features
    assert response(snap, "ec2", "describe_flow_logs")["FlowLogs"] == []
    trail = response(snap, "cloudtrail", "describe_trails")["trailList"][0]
    assert trail["IsMultiRegionTrail"] is True
    assert response(snap, "cloudtrail", "get_trail_status")["IsLogging"] is True


def test_audit_query_results_tell_the_story(snap: Snapshot) -> None:
    start = snap.aws("logs", "start_query")[0]
    assert set(start["params"]) == {"logGroupName", "startTime", "endTime", "queryString"}
    assert start["params"]["endTime"] - start["params"]["startTime"] == 7 * 86400
    results = response(snap, "logs", "get_query_results",
                       queryId=start["response"]["queryId"])
    assert results["status"] == "Complete"
    events = [{f["field"]: f["value"] for f in row} for row in results["results"]]
    assert 15 <= len(events) <= 25
    pods = {p["metadata"]["name"] for p in snap.k8s("pods")}
    execs = [e for e in events if e.get("objectRef.subresource") == "exec"]
    assert any(e["objectRef.namespace"] == "storefront" and e["objectRef.name"] in pods
               and "assumed-role" in e["user.username"] for e in execs)
    assert any(e.get("objectRef.name") == "aws-auth" and e["verb"] in ("update", "patch")
               and ":user/" in e["user.username"] for e in events)
    assert any(e["user.username"] == "system:anonymous" for e in events)
    assert any(e.get("objectRef.resource") == "secrets" and e["responseStatus.code"] == "403"
               for e in events)


def test_instances_match_nodes(snap: Snapshot) -> None:
    instances = [i for r in response(snap, "ec2", "describe_instances")["Reservations"]
                 for i in r["Instances"]]
    by_id = {i["InstanceId"]: i for i in instances}
    for node in snap.k8s("nodes"):
        instance = by_id[node["spec"]["providerID"].rsplit("/", 1)[1]]
        group = node["metadata"]["labels"]["eks.amazonaws.com/nodegroup"]
        tokens = instance["MetadataOptions"]["HttpTokens"]
        assert (group, tokens) in {("general", "required"), ("gpu", "optional")}
        assert instance["PrivateDnsName"] == node["metadata"]["name"]


# ----- scale --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_scaled_demo_has_the_requested_pod_count(tmp_path: Path) -> None:
    snap = Snapshot.load(build_demo(tmp_path / "scaled", pods=5000))
    count = snap.coverage("k8s/pods").count
    assert 4750 <= count <= 5250, count
    nodes = snap.coverage("k8s/nodes").count
    assert 25 <= count / nodes <= 35
    namespaces = {n["metadata"]["name"] for n in snap.k8s("namespaces")}
    assert any(n.startswith("storefront-") for n in namespaces)
    assert any(n.startswith("legacy-batch-") for n in namespaces)
    deployments = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]["replicas"]
                   for d in snap.k8s("deployments.apps")}
    owners = Counter()
    rs_owner = {rs["metadata"]["uid"]: (rs["metadata"]["namespace"],
                                        rs["metadata"]["ownerReferences"][0]["name"])
                for rs in snap.k8s("replicasets.apps")}
    for pod in snap.iter_k8s("pods"):
        ref = pod["metadata"].get("ownerReferences", [{}])[0]
        if ref.get("kind") == "ReplicaSet":
            owners[rs_owner[ref["uid"]]] += 1
    assert owners == Counter({k: v for k, v in deployments.items() if v})
    instances = sum(len(r["Instances"]) for r in
                    snap.aws_response("ec2", "describe_instances")["Reservations"])
    assert instances == nodes
