"""Image frames: reference parser, ECR filters, scan records, running images, admission."""

from __future__ import annotations

import pandas as pd
import pytest

from zt_toolkit.frames import Frames
from zt_toolkit.frames.images import (
    EKS_ADDON_REGISTRY_ACCOUNTS,
    constraint_resource_keys,
    digest_of_image_id,
    ecr_filter_matches,
    parse_image_reference,
    scans_for_images,
    try_parse_image_reference,
)
from zt_toolkit.snapshot import Snapshot, SnapshotWriter

D = "sha256:" + "ab" * 32
D2 = "sha256:" + "cd" * 32
ECR = "111122223333.dkr.ecr.eu-west-1.amazonaws.com"


# ----- parse_image_reference ---------------------------------------------------------------
@pytest.mark.parametrize(("ref", "registry", "repository", "tag", "digest"), [
    ("nginx", "docker.io", "library/nginx", None, None),
    ("nginx:1.25", "docker.io", "library/nginx", "1.25", None),
    ("postgres:15", "docker.io", "library/postgres", "15", None),
    ("docker.io/library/postgres:15", "docker.io", "library/postgres", "15", None),
    ("index.docker.io/bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", None),
    ("bitnami/redis", "docker.io", "bitnami/redis", None, None),
    (f"nginx@{D}", "docker.io", "library/nginx", None, D),
    (f"{ECR}/shop/api:1.4@{D}", ECR, "shop/api", "1.4", D),
    (f"{ECR}/shop/api", ECR, "shop/api", None, None),
    ("public.ecr.aws/eks-distro/kubernetes/pause:3.9", "public.ecr.aws",
     "eks-distro/kubernetes/pause", "3.9", None),
    ("ghcr.io/acme/web-app:v2.0.1", "ghcr.io", "acme/web-app", "v2.0.1", None),
    ("gcr.io/distroless/static-debian12:nonroot", "gcr.io", "distroless/static-debian12",
     "nonroot", None),
    ("registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", None),
    ("localhost:5000/team/app:dev", "localhost:5000", "team/app", "dev", None),
    ("localhost/app", "localhost", "app", None, None),
    ("myregistry:5000/app", "myregistry:5000", "app", None, None),
    ("quay.io/prometheus/node-exporter:v1.8.1", "quay.io", "prometheus/node-exporter", "v1.8.1",
     None),
    ("Registry.Example.COM/team/app:1", "registry.example.com", "team/app", "1", None),
    ("my_org__x/app-1.a:1.0_rc-2", "docker.io", "my_org__x/app-1.a", "1.0_rc-2", None),
    (f"docker-pullable://{ECR}/shop/api@{D}", ECR, "shop/api", None, D),
    ("  nginx:1.25  ", "docker.io", "library/nginx", "1.25", None),
    # an upper-case first component is a registry host (distribution/reference rule)
    ("UPPER/app", "upper", "app", None, None),
])
def test_parse_valid_references(ref, registry, repository, tag, digest):
    parsed = parse_image_reference(ref)
    assert (parsed.registry, parsed.repository, parsed.tag, parsed.digest) == (
        registry, repository, tag, digest)


@pytest.mark.parametrize("ref", [
    "", "   ", "App", "app:", "app:bad/tag", "app@sha256:short", f"app@{D}x",
    "app@sha256:" + "AB" * 32, "ghcr.io//app", "a b:1", "-bad/app", "app:" + "x" * 129,
    "ghcr.io/Acme/app:1", "@" + D,
])
def test_parse_invalid_references_raise(ref):
    with pytest.raises(ValueError):
        parse_image_reference(ref)
    assert try_parse_image_reference(ref) is None


def test_non_string_reference():
    with pytest.raises(ValueError, match="string"):
        parse_image_reference(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("host", "account", "region"), [
    ("111122223333.dkr.ecr.eu-west-1.amazonaws.com", "111122223333", "eu-west-1"),
    ("111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "111122223333", "us-gov-west-1"),
    ("918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn", "918309763551", "cn-north-1"),
    ("877088126301.dkr.ecr.eusc-de-east-1.amazonaws.eu", "877088126301", "eusc-de-east-1"),
    ("111122223333.dkr-ecr.us-east-1.on.aws", "111122223333", "us-east-1"),
])
def test_ecr_hosts(host, account, region):
    ref = parse_image_reference(f"{host}/team/app:1")
    assert ref.is_ecr and (ref.ecr_account, ref.ecr_region) == (account, region)


@pytest.mark.parametrize("ref", [
    "public.ecr.aws/nginx/nginx:1.25", "ghcr.io/x/y", "postgres:15",
    "111122223333.dkr.ecr.eu-west-1.amazonaws.com.evil.io/x",
    "11112222333.dkr.ecr.eu-west-1.amazonaws.com/x",
])
def test_not_private_ecr(ref):
    parsed = parse_image_reference(ref)
    assert not parsed.is_ecr and parsed.ecr_account is None


def test_reference_properties():
    assert parse_image_reference("postgres").effective_tag == "latest"
    assert parse_image_reference(f"postgres@{D}").effective_tag is None
    assert parse_image_reference(f"postgres:15@{D}").effective_tag == "15"
    assert parse_image_reference("postgres").is_docker_hub
    assert parse_image_reference("public.ecr.aws/a/b").is_ecr_public
    assert parse_image_reference("ghcr.io/a/b:1").name == "ghcr.io/a/b"


def test_eks_addon_registries_listed():
    assert {"602401143452", "877085696533", "013241004608"} <= EKS_ADDON_REGISTRY_ACCOUNTS


@pytest.mark.parametrize(("image_id", "digest"), [
    (f"{ECR}/shop/api@{D}", D),
    (f"docker-pullable://postgres@{D}", D),
    (f"docker.io/library/postgres@{D}", D),
    (D, None),  # a local image config ID, not a registry digest
    (f"docker://{D}", None),
    ("", None),
    (None, None),
    ("garbage@@", None),
])
def test_digest_of_image_id(image_id, digest):
    assert digest_of_image_id(image_id) == digest


@pytest.mark.parametrize(("pattern", "name", "matches"), [
    ("*", "shop/api", True),
    ("prod", "team/prod-api", True),  # no wildcard: "contains"
    ("prod", "team/api", False),
    ("shop/*", "shop/api", True),
    ("shop/*", "legacy/shop/api", False),
    ("*api", "shop/api", True),
    ("a.b", "axb", False),  # dots are literal
])
def test_ecr_filter_matches(pattern, name, matches):
    assert ecr_filter_matches(pattern, name) is matches


def test_constraint_resource_keys():
    assert constraint_resource_keys("K8sRequiredLabels") == (
        "k8srequiredlabels.constraints.gatekeeper.sh",
        "k8srequiredlabelses.constraints.gatekeeper.sh",
    )
    assert constraint_resource_keys("K8sPSPPrivilegedContainer")[1] == (
        "k8spspprivilegedcontainers.constraints.gatekeeper.sh")


# ----- frames over a small snapshot ----------------------------------------------------------
def _snapshot(tmp_path, *, pods=(), deployments=(), aws=None, k8s_extra=None):
    w = SnapshotWriter(tmp_path / "snap", source="live",
                       cluster={"name": "c", "account_id": "111122223333",
                                "region": "eu-west-1"},
                       collected_at="2026-11-20T09:00:00+00:00")
    w.write_k8s("pods", list(pods), kind="PodList")
    w.write_k8s("deployments.apps", list(deployments), kind="DeploymentList",
                api_version="apps/v1")
    w.write_k8s("replicasets.apps", [], kind="ReplicaSetList", api_version="apps/v1")
    for key, items in (k8s_extra or {}).items():
        w.write_k8s(key, items, kind="List")
    for key, records in (aws or {}).items():
        service, op = key.split("/")
        w.write_aws(service, op, records)
    w.close()
    return Frames(Snapshot.load(tmp_path / "snap"))


def _pod(name, image, image_id, owner=None, ns="shop"):
    meta = {"name": name, "namespace": ns, "uid": name}
    if owner:
        meta["ownerReferences"] = [{"kind": "Deployment", "name": owner, "controller": True}]
    return {"metadata": meta,
            "spec": {"containers": [{"name": "app", "image": image}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "app", "image": image, "imageID": image_id, "ready": True}]}}


def test_running_images_from_pods(tmp_path):
    frames = _snapshot(tmp_path, pods=[
        _pod("api-1", f"{ECR}/shop/api:1.4", f"{ECR}/shop/api@{D}", owner="api"),
        _pod("api-2", f"{ECR}/shop/api:1.4", f"{ECR}/shop/api@{D}", owner="api"),
        _pod("api-3", f"{ECR}/shop/api:1.4", f"{ECR}/shop/api@{D2}", owner="api"),
        _pod("db", "postgres:15", D),
    ])
    ri = frames.running_images.set_index(["name", "digest"], drop=False)
    assert len(ri) == 3
    api = ri.loc[("api", D)]
    assert (api.kind, api.repository, api.tag, api.ecr_account, api.pod_count) == (
        "Deployment", "shop/api", "1.4", "111122223333", 2)
    db = frames.running_images[frames.running_images.name == "db"].iloc[0]
    assert db.kind == "Pod" and db.registry == "docker.io" and db["digest"] is pd.NA


def test_running_images_from_templates(tmp_path):
    dep = {"metadata": {"name": "api", "namespace": "shop"},
           "spec": {"template": {"spec": {"containers": [
               {"name": "app", "image": f"{ECR}/shop/api:1.4@{D}"},
               {"name": "bad", "image": "Not A Ref"}]}}}}
    w = SnapshotWriter(tmp_path / "snap", source="manifests", cluster={"name": "c"})
    w.write_k8s("deployments.apps", [dep], kind="DeploymentList", api_version="apps/v1")
    w.close()
    ri = Frames(Snapshot.load(tmp_path / "snap")).running_images.set_index("container")
    assert ri.loc["app", "digest"] == D and ri.loc["app", "source"] == "template"
    assert "whitespace" in ri.loc["bad", "parse_error"]


def _scan(repo, digest, status="COMPLETE", counts=None, tag=None, completed="2026-11-01T00:00:00Z",
          findings=()):
    image_id = {"imageDigest": digest, **({"imageTag": tag} if tag else {})}
    return {"params": {"repositoryName": repo, "imageId": {"imageDigest": digest}},
            "response": {"registryId": "111122223333", "repositoryName": repo,
                         "imageId": image_id, "imageScanStatus": {"status": status},
                         "imageScanFindings": {"imageScanCompletedAt": completed,
                                               "findingSeverityCounts": counts or {},
                                               "findings": list(findings)}}}


def test_image_scans_states(tmp_path):
    finding = {"name": "CVE-2024-1", "severity": "CRITICAL",
               "attributes": [{"key": "package_name", "value": "openssl"}]}
    frames = _snapshot(tmp_path, aws={"ecr/describe_image_scan_findings": [
        _scan("shop/api", D, counts={"CRITICAL": 1}, findings=[finding]),
        {"params": {"repositoryName": "shop/web", "imageId": {"imageDigest": D2}},
         "error": {"code": "ScanNotFoundException", "message": "no scan"}},
        {"params": {"repositoryName": "shop/old", "imageId": {"imageDigest": D2}},
         "error": {"code": "ImageNotFoundException", "message": "gone"}},
    ]})
    scans = frames.image_scans.set_index("repository")
    assert scans.loc["shop/api", "severity_counts"] == {"CRITICAL": 1}
    assert scans.loc["shop/api", "findings"] == (("CVE-2024-1", "CRITICAL", "openssl"),)
    assert str(scans.loc["shop/api", "completed_at"]) == "2026-11-01 00:00:00+00:00"
    assert scans.loc["shop/web", "scan_status"] == "NOT_SCANNED"
    assert scans.loc["shop/old", "scan_status"] == "ERROR"


def test_scans_join_by_digest_then_tag(tmp_path):
    frames = _snapshot(tmp_path, aws={"ecr/describe_image_scan_findings": [
        _scan("shop/api", D, tag="1.4", completed="2026-10-01T00:00:00Z"),
        _scan("shop/api", D2, tag="1.4", completed="2026-11-01T00:00:00.123Z"),
    ]})
    images = pd.DataFrame({
        "ecr_account": ["111122223333", "111122223333", None, "111122223333"],
        "repository": ["shop/api", "shop/api", "shop/api", "shop/none"],
        "digest": [D, None, D, None], "tag": ["1.4", "1.4", None, None]})
    joined = scans_for_images(images, frames.image_scans, "111122223333")
    assert list(joined["matched_by"].fillna("-")) == ["digest", "tag", "-", "-"]
    assert joined.loc[1, "scan_digest"] == D2  # the newest record of the tag


def test_ecr_repositories_with_policies(tmp_path):
    repos = [{"repositoryName": n, "registryId": "111122223333",
              "repositoryUri": f"{ECR}/{n}", "imageTagMutability": "IMMUTABLE",
              "imageScanningConfiguration": {"scanOnPush": True}} for n in ("a/x", "b/y", "c/z")]
    frames = _snapshot(tmp_path, aws={
        "ecr/describe_repositories": [{"params": {}, "response": {"repositories": repos}}],
        "ecr/get_repository_policy": [
            {"params": {"repositoryName": "a/x"},
             "response": {"repositoryName": "a/x", "policyText": '{"Statement": []}'}},
            {"params": {"repositoryName": "b/y"},
             "error": {"code": "RepositoryPolicyNotFoundException", "message": "none"}},
        ]})
    r = frames.ecr_repositories.set_index("name")
    assert list(r["policy_state"]) == ["present", "none", "not_collected"]
    assert r.loc["a/x", "policy"] == {"Statement": []}
    assert bool(r.loc["a/x", "scan_on_push"])


def test_admission_policies(tmp_path):
    kyverno = {"metadata": {"name": "psp"}, "spec": {
        "validationFailureAction": "Audit",
        "rules": [
            {"name": "no-priv", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
             "validate": {"failureAction": "Enforce", "pattern": {"spec": {"containers": [
                 {"=(securityContext)": {"=(privileged)": "false"}}]}}}},
            {"name": "owner", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
             "validate": {"failureAction": "Enforce",
                          "pattern": {"metadata": {"labels": {"owner": "?*"}}}}},
            {"name": "labels", "match": {"any": [{"resources": {"kinds": ["Namespace"]}}]},
             "validate": {"failureAction": "Enforce", "pattern": {}}},
            {"name": "audit-only", "match": {"resources": {"kinds": ["apps/v1/Deployment"]}},
             "validate": {"pattern": {"spec": {"template": {"spec": {"hostNetwork": False}}}}}},
            {"name": "verify", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
             "verifyImages": [{"imageReferences": ["*"], "failureAction": "Enforce"}]},
        ]}}
    template = {"metadata": {"name": "k8spspprivilegedcontainer"},
                "spec": {"crd": {"spec": {"names": {"kind": "K8sPSPPrivilegedContainer"}}}}}
    orphan = {"metadata": {"name": "k8sallowedrepos"},
              "spec": {"crd": {"spec": {"names": {"kind": "K8sAllowedRepos"}}}}}
    constraint = {"kind": "K8sPSPPrivilegedContainer", "metadata": {"name": "no-priv"},
                  "spec": {"match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}}}
    frames = _snapshot(tmp_path, k8s_extra={
        "clusterpolicies.kyverno.io": [kyverno],
        "constrainttemplates.templates.gatekeeper.sh": [template, orphan],
        "k8spspprivilegedcontainer.constraints.gatekeeper.sh": [constraint],
    })
    pol = frames.admission_policies.set_index("name")
    assert pol.loc["psp", "pod_security_rules_enforced"] == ("no-priv",)
    assert pol.loc["psp", "pod_security_rules_audited"] == ("audit-only",)
    assert pol.loc["psp", "other_pod_rules_enforced"] == ("owner",)
    assert pol.loc["psp", "image_verification_enforced"] == ("verify",)
    gk = pol[pol.kind == "K8sPSPPrivilegedContainer"].iloc[0]
    # enforcementAction unset: deny, the Gatekeeper default
    assert gk.pod_security_rules_enforced == ("K8sPSPPrivilegedContainer/no-priv",)
    templates = frames.admission_policies.query("kind == 'ConstraintTemplate'").set_index(
        "constraint_kind")
    assert bool(templates.loc["K8sPSPPrivilegedContainer", "constraints_collected"])
    assert not templates.loc["K8sAllowedRepos", "constraints_collected"]





def test_admission_kyverno_cel_sigstore_and_vap(tmp_path):
    ivp = {"metadata": {"name": "verify-signed"},
           "spec": {"validationActions": ["Deny"], "matchConstraints": {"resourceRules": [
               {"apiGroups": [""], "resources": ["pods"]}]}}}
    cip = {"metadata": {"name": "acme"}, "spec": {"mode": "warn", "images": [{"glob": "**"}]}}
    binding = {"metadata": {"name": "orphan"},
               "spec": {"policyName": "missing", "validationActions": ["Deny"]}}
    frames = _snapshot(tmp_path, k8s_extra={
        "imagevalidatingpolicies.policies.kyverno.io": [ivp],
        "clusterimagepolicies.policy.sigstore.dev": [cip],
        "validatingadmissionpolicies.admissionregistration.k8s.io": [],
        "validatingadmissionpolicybindings.admissionregistration.k8s.io": [binding],
    })
    pol = frames.admission_policies.set_index("name")
    assert pol.loc["verify-signed", "image_verification_enforced"] == ("verify-signed",)
    assert pol.loc["acme", "image_verification_audited"] == ("acme",)  # mode: warn
    assert pol.loc["orphan", "pod_security_rules_enforced"] == ()
    assert "absent" in pol.loc["orphan", "note"]
