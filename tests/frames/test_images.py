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


# ----- vulnerabilities with fixed-in versions -------------------------------------------------
def _enhanced(vid, severity, package, version, fixed, status="ACTIVE", fix="YES", score=None):
    return {"severity": severity, "status": status, "fixAvailable": fix, "score": score,
            "title": f"{vid} - {package}",
            "packageVulnerabilityDetails": {"vulnerabilityId": vid, "vulnerablePackages": [
                {"name": package, "version": version, "fixedInVersion": fixed}]}}


def test_enhanced_findings_keep_fixed_in_version_and_old_findings_shape(tmp_path):
    record = _scan("shop/api", D, status="ACTIVE", counts={"HIGH": 1, "CRITICAL": 1})
    record["response"]["imageScanFindings"]["enhancedFindings"] = [
        _enhanced("CVE-2023-44487", "HIGH", "nghttp2", "1.57.0-r0", "1.57.0-r1", score=7.5),
        _enhanced("CVE-2024-45492", "CRITICAL", "expat", "2.6.2-r0", "2.6.3-r0", score=9.8),
        _enhanced("CVE-2024-0001", "CRITICAL", "zlib", "1.3", "NotAvailable", fix="NO"),
        _enhanced("CVE-2020-0001", "CRITICAL", "old", "1", "2", status="SUPPRESSED"),
    ]
    frames = _snapshot(tmp_path, aws={"ecr/describe_image_scan_findings": [record]})
    row = frames.image_scans.iloc[0]
    vulns = row["vulnerabilities"]
    # most severe first, then the highest score; suppressed findings are left out
    assert [v.id for v in vulns] == ["CVE-2024-45492", "CVE-2024-0001", "CVE-2023-44487"]
    assert (vulns[0].package, vulns[0].version, vulns[0].fixed_in, vulns[0].fix_available) == (
        "expat", "2.6.2-r0", "2.6.3-r0", "YES")
    assert vulns[1].fixed_in is None and vulns[1].fix_available == "NO"  # NotAvailable
    # the (id, severity, package) tuples that the checks read are unchanged
    assert ("CVE-2024-45492", "CRITICAL", "expat") in row["findings"]
    assert "old" not in row["packages"]


def test_basic_findings_have_version_but_no_fix(tmp_path):
    finding = {"name": "CVE-2024-1", "severity": "HIGH", "attributes": [
        {"key": "package_name", "value": "openssl"},
        {"key": "package_version", "value": "3.0.13-1"}, {"key": "CVSS3_SCORE", "value": "7.5"}]}
    frames = _snapshot(tmp_path, aws={"ecr/describe_image_scan_findings": [
        _scan("shop/api", D, counts={"HIGH": 1}, findings=[finding])]})
    (v,) = frames.image_scans.iloc[0]["vulnerabilities"]
    assert (v.id, v.package, v.version, v.fixed_in, v.score) == (
        "CVE-2024-1", "openssl", "3.0.13-1", None, 7.5)


# ----- provenance ------------------------------------------------------------------------------
@pytest.mark.parametrize(("image", "provenance"), [
    (f"{ECR}/shop/api:1", "own-account ECR"),
    ("444455556666.dkr.ecr.eu-west-1.amazonaws.com/shared/base:1", "other-account ECR"),
    ("602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.3", "EKS add-on registry"),
    ("public.ecr.aws/eks/aws-load-balancer-controller:v2.10.0", "ECR Public"),
    ("postgres:15", "Docker Hub"),
    ("ghcr.io/kyverno/kyverno:v1.13.1", "other public registry"),
    ("harbor.acme.internal/team/app:1", "other private registry"),
])
def test_image_provenance(image, provenance):
    from zt_toolkit.frames.images import image_provenance

    assert image_provenance(parse_image_reference(image), "111122223333") == provenance
    assert image_provenance(None, "111122223333") == "unparseable"


# ----- admission verdicts ----------------------------------------------------------------------
def _kyverno_verify(name, action="Enforce", refs=(f"{ECR}/*",), exclude=(), match_ns=(),
                    attestations=None, ns=None, selector=None, overrides=None):
    resources = {"kinds": ["Pod"]}
    if match_ns:
        resources["namespaces"] = list(match_ns)
    if selector:
        resources["namespaceSelector"] = selector
    rule = {"name": "verify", "match": {"any": [{"resources": resources}]},
            "verifyImages": [{"imageReferences": list(refs), "attestors": [{"entries": [
                {"keys": {"publicKeys": "k"}}]}]}]}
    if attestations:
        rule["verifyImages"][0]["attestations"] = attestations
    if exclude:
        rule["exclude"] = {"any": [{"resources": {"namespaces": list(exclude)}}]}
    spec = {"validationFailureAction": action, "rules": [rule]}
    if overrides:
        spec["validationFailureActionOverrides"] = overrides
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"metadata": meta, "spec": spec}


def _admission_frames(tmp_path, policies=(), namespaced=(), cips=(), namespaces=None,
                      constraints=None):
    extra = {"clusterpolicies.kyverno.io": list(policies),
             "policies.kyverno.io": list(namespaced),
             # collected and empty: no other admission policy hides anywhere
             "validatingwebhookconfigurations.admissionregistration.k8s.io": [],
             "validatingadmissionpolicies.admissionregistration.k8s.io": [],
             "validatingadmissionpolicybindings.admissionregistration.k8s.io": [],
             "constrainttemplates.templates.gatekeeper.sh": []}
    if cips:
        extra["clusterimagepolicies.policy.sigstore.dev"] = list(cips)
    if namespaces is not None:
        extra["namespaces"] = [{"metadata": {"name": n, "labels": labels}}
                               for n, labels in namespaces.items()]
    for key, items in (constraints or {}).items():
        extra[key] = items
    return _snapshot(tmp_path, k8s_extra=extra)


def test_kyverno_verify_images_enforce_audit_and_excluded_namespace(tmp_path):
    from zt_toolkit.analysis.admission import ImageAdmission

    frames = _admission_frames(tmp_path, policies=[
        _kyverno_verify("sign", exclude=["legacy-*"]),
        _kyverno_verify("audit-vulns", action="Audit", refs=["*"], attestations=[
            {"type": "https://cosign.sigstore.dev/attestation/vuln/v1", "conditions": []}]),
    ])
    admission = ImageAdmission(frames)
    shop = admission("shop", f"{ECR}/shop/api:1.4")
    assert (shop.verdict, shop.policies, shop.verifies) == (
        "blocked", ("Kyverno ClusterPolicy sign",), ("signature",))
    legacy = admission("legacy-batch", f"{ECR}/legacy/report:latest")
    assert legacy.verdict == "audit only"
    assert legacy.policies == ("Kyverno ClusterPolicy audit-vulns",)
    assert legacy.verifies == ("signature", "vulnerabilities")
    hub = admission("shop", "postgres:15")  # outside the ECR glob of "sign"
    assert hub.verdict == "audit only"


def test_kyverno_not_covered_names_the_reason(tmp_path):
    from zt_toolkit.analysis.admission import ImageAdmission

    frames = _admission_frames(tmp_path, policies=[_kyverno_verify("sign", exclude=["legacy"])])
    v = ImageAdmission(frames)("legacy", f"{ECR}/legacy/report:latest")
    assert v.verdict == "not covered"
    assert "sign excludes namespace legacy" in v.detail
    v = ImageAdmission(frames)("shop", "docker.io/library/nginx:1.27")
    assert v.verdict == "not covered" and "does not cover this image" in v.detail


def test_kyverno_overrides_namespaced_policy_and_selector(tmp_path):
    from zt_toolkit.analysis.admission import ImageAdmission

    frames = _admission_frames(
        tmp_path,
        policies=[_kyverno_verify("sign", overrides=[{"action": "Audit",
                                                      "namespaces": ["dev-*"]}]),
                  _kyverno_verify("prod-only", refs=["ghcr.io/*"],
                                  selector={"matchLabels": {"env": "prod"}})],
        namespaced=[_kyverno_verify("local", ns="team-a", refs=["quay.io/*"])],
        namespaces={"shop": {"env": "prod"}, "dev-1": {}, "team-a": {}})
    admission = ImageAdmission(frames)
    assert admission("shop", f"{ECR}/a:1").verdict == "blocked"
    assert admission("dev-1", f"{ECR}/a:1").verdict == "audit only"  # override to Audit
    assert admission("shop", "ghcr.io/acme/app:1").verdict == "blocked"  # env=prod
    assert admission("team-a", "ghcr.io/acme/app:1").verdict == "not covered"
    assert admission("team-a", "quay.io/x/y:1").verdict == "blocked"  # its own namespace
    assert admission("shop", "quay.io/x/y:1").verdict == "not covered"


def test_kyverno_namespace_selector_without_namespaces_is_not_evaluated(tmp_path):
    from zt_toolkit.analysis.admission import ImageAdmission

    frames = _admission_frames(tmp_path, policies=[
        _kyverno_verify("prod-only", selector={"matchLabels": {"env": "prod"}})])
    v = ImageAdmission(frames)("shop", f"{ECR}/a:1")
    assert v.verdict == "not evaluated" and "namespace labels unknown" in v.detail


def test_sigstore_needs_opt_in_label_and_glob(tmp_path):
    from zt_toolkit.analysis.admission import ImageAdmission

    cip = {"metadata": {"name": "acme-signed"}, "spec": {
        "images": [{"glob": f"{ECR}/**"}], "authorities": [{"key": {"data": "k"}}]}}
    frames = _admission_frames(tmp_path, cips=[cip], namespaces={
        "shop": {"policy.sigstore.dev/include": "true"}, "legacy": {}})
    admission = ImageAdmission(frames)
    assert admission("shop", f"{ECR}/shop/api:1.4").verdict == "blocked"
    legacy = admission("legacy", f"{ECR}/shop/api:1.4")
    assert legacy.verdict == "not covered" and "policy.sigstore.dev/include" in legacy.detail
    assert admission("shop", "postgres:15").verdict == "not covered"


def test_gatekeeper_ratify_constraint_is_covered_but_not_evaluated(tmp_path):
    from zt_toolkit.analysis.admission import ImageAdmission

    template = {"metadata": {"name": "ratifyverification"}, "spec": {
        "crd": {"spec": {"names": {"kind": "RatifyVerification"}}},
        "targets": [{"rego": "package ratify\nviolation { external_data({}) }"}]}}
    constraint = {"kind": "RatifyVerification", "metadata": {"name": "ratify-constraint"},
                  "spec": {"enforcementAction": "deny", "match": {
                      "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
                      "excludedNamespaces": ["kube-*"]}}}
    frames = _admission_frames(tmp_path, constraints={
        "constrainttemplates.templates.gatekeeper.sh": [template],
        "ratifyverification.constraints.gatekeeper.sh": [constraint]})
    admission = ImageAdmission(frames)
    v = admission("shop", "ghcr.io/acme/app:1")
    assert v.verdict == "not evaluated"
    assert "covered by Gatekeeper RatifyVerification ratify-constraint" in v.detail
    assert "effect not evaluated" in v.detail
    assert admission("kube-system", "ghcr.io/acme/app:1").verdict == "not covered"


def test_admission_unknown_when_policies_not_collected(tmp_path):
    from zt_toolkit.analysis.admission import evaluate_image_admission

    v = evaluate_image_admission([], "shop", "nginx", gaps=["k8s/clusterpolicies.kyverno.io: "
                                                             "forbidden"])
    assert v.verdict == "unknown" and "forbidden" in v.detail


# ----- the running-image inventory ---------------------------------------------------------------
def _repo(name, mutability="MUTABLE", scan_on_push=False):
    return {"repositoryName": name, "registryId": "111122223333",
            "repositoryUri": f"{ECR}/{name}", "imageTagMutability": mutability,
            "imageScanningConfiguration": {"scanOnPush": scan_on_push}}


def test_image_inventory_joins_repository_scanning_scan_and_admission(tmp_path):
    record = _scan("shop/api", D, status="ACTIVE", counts={"CRITICAL": 1, "MEDIUM": 2},
                   completed="2026-11-01T00:00:00Z")
    record["response"]["imageScanFindings"]["vulnerabilitySourceUpdatedAt"] = \
        "2026-11-15T00:00:00Z"
    record["response"]["imageScanFindings"]["enhancedFindings"] = [
        _enhanced("CVE-2024-45492", "CRITICAL", "expat", "2.6.2-r0", "2.6.3-r0")]
    frames = _snapshot(
        tmp_path,
        pods=[_pod("api-1", f"{ECR}/shop/api:1.4", f"{ECR}/shop/api@{D}", owner="api"),
              _pod("web-1", f"{ECR}/shop/web:2", f"{ECR}/shop/web@{D2}", owner="web"),
              _pod("db", "postgres:15", f"docker.io/library/postgres@{D}")],
        aws={"ecr/describe_image_scan_findings": [
                record, {"params": {"repositoryName": "shop/web",
                                    "imageId": {"imageDigest": D2}},
                         "error": {"code": "ScanNotFoundException", "message": "none"}}],
             "ecr/describe_repositories": [{"params": {}, "response": {"repositories": [
                 _repo("shop/api", "IMMUTABLE"), _repo("shop/web", "MUTABLE")]}}],
             "ecr/get_registry_scanning_configuration": [{"params": {}, "response": {
                 "registryId": "111122223333", "scanningConfiguration": {
                     "scanType": "ENHANCED", "rules": [{"scanFrequency": "CONTINUOUS_SCAN",
                                                        "repositoryFilters": [
                                                            {"filter": "shop/api",
                                                             "filterType": "WILDCARD"}]}]}}}]},
        k8s_extra={"clusterpolicies.kyverno.io": [_kyverno_verify("sign")]})
    inv = frames.image_inventory.set_index("name")
    api = inv.loc["api"]
    assert (api.provenance, api.tag_mutability, bool(api.tag_immutable)) == (
        "own-account ECR", "IMMUTABLE", True)
    assert (api.scan_type, api.scan_frequency, api.scan_state) == (
        "ENHANCED", "CONTINUOUS_SCAN", "scanned")
    # ACTIVE: the age counts from the later vulnerability-data refresh (Nov 15 → Nov 20)
    assert api.scan_age_days == 5
    assert (api.critical, api.high, api.medium) == (1, 0, 2)
    assert api.vulnerabilities[0].fixed_in == "2.6.3-r0"
    assert api.admission_verdict == "blocked"
    web = inv.loc["web"]
    # an ENHANCED registry scans only what its rules match
    assert (web.scan_type, web.scan_frequency, web.scan_state) == (
        "ENHANCED", "none", "never scanned")
    assert pd.isna(web.critical) and web.vulnerabilities == ()
    assert not web.tag_immutable
    db = inv.loc["db"]
    # webhook configurations were not collected: a policy could hide, so never "not covered"
    assert (db.provenance, db.scan_state, db.admission_verdict) == (
        "Docker Hub", "not in the account's ECR", "unknown")
    assert pd.isna(db.scan_type)


def test_image_inventory_without_ecr_data(tmp_path):
    frames = _snapshot(tmp_path, pods=[
        _pod("api-1", f"{ECR}/shop/api:1.4", f"{ECR}/shop/api@{D}", owner="api")])
    (row,) = frames.image_inventory.itertuples(index=False)
    assert row.scan_state == "scans not collected"
    assert pd.isna(row.scan_type) and pd.isna(row.tag_mutability) and pd.isna(row.critical)


def test_image_inventory_on_the_demo(demo_snapshot):
    inv = Frames(Snapshot.load(demo_snapshot)).image_inventory.set_index(
        ["namespace", "name", "container"])
    front = inv.loc[("storefront", "frontend", "nginx")]
    assert (front.critical, front.high, front.scan_age_days) == (1, 2, 9)
    assert front.vulnerabilities[0].id == "CVE-2024-45492"
    # enhanced scanning: the Inspector findings (newer than ECR's scan) carry the fixed-in version
    assert (front.vulnerabilities[0].fixed_in, front.vulnerabilities[0].fix_available) == (
        "2.6.3-r0", "YES")
    assert (front.scan_type, front.scan_frequency, front.tag_mutability, front.scan_source) == (
        "ENHANCED", "CONTINUOUS_SCAN", "MUTABLE", "inspector2")
    assert front.admission_verdict == "blocked"
    assert front.admission_policies == ("Kyverno ClusterPolicy verify-acme-images",)
    assert front.admission_verifies == ("signature",)
    report = inv.loc[("legacy-batch", "nightly-report", "report")]
    assert report.scan_state == "never scanned" and report.admission_verdict == "not covered"
    assert "excludes namespace legacy-batch" in report.admission_detail
    # outside the enhanced-scanning rule: nothing scans it; its old basic scan is what is known
    catalog = inv.loc[("storefront", "catalog", "catalog")]
    assert (catalog.scan_frequency, catalog.scan_source, catalog.scan_status) == (
        "none", "ecr", "COMPLETE")
    assert inv.loc[("storefront", "postgres", "postgres")].provenance == "Docker Hub"
    assert inv.loc[("kube-system", "coredns", "coredns")].provenance == "EKS add-on registry"


# ----- Amazon Inspector findings merged into image_scans --------------------------------------
INSPECTOR_KEY = "inspector2/list_findings"


def _inspector_finding(repo, digest, vid, severity, package, version, fixed,
                       observed="2026-11-18T00:00:00+00:00", status="ACTIVE", tags=("1.4",),
                       registry="111122223333", score=None, in_use=None):
    image = {"repositoryName": repo, "imageHash": digest, "imageTags": list(tags)}
    if registry:
        image["registry"] = registry
    if in_use is not None:
        image.update(inUseCount=in_use, lastInUseAt="2026-11-20T08:00:00+00:00")
    return {"awsAccountId": "111122223333", "findingArn": f"arn:aws:inspector2:x:{vid}:{digest}",
            "type": "PACKAGE_VULNERABILITY", "description": vid, "severity": severity,
            "status": status, "remediation": {}, "firstObservedAt": observed,
            "lastObservedAt": observed, "fixAvailable": "YES" if fixed else "NO",
            **({"inspectorScore": score} if score is not None else {}),
            "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": f"{repo}/{digest}",
                           "details": {"awsEcrContainerImage": image}}],
            "packageVulnerabilityDetails": {
                "vulnerabilityId": vid, "source": "NVD", "vulnerablePackages": [
                    {"name": package, "version": version,
                     "fixedInVersion": fixed or "NotAvailable"}]}}


def _inspector(*findings):
    return [{"params": {"filterCriteria": {}}, "response": {"findings": list(findings)}}]


def test_inspector_findings_become_one_row_per_image(tmp_path):
    frames = _snapshot(tmp_path, aws={INSPECTOR_KEY: _inspector(
        _inspector_finding("shop/api", D, "CVE-2024-45492", "CRITICAL", "expat", "2.6.2-r0",
                           "2.6.3-r0", score=9.1, in_use=3),
        _inspector_finding("shop/api", D, "CVE-2024-26461", "LOW", "krb5", "1.20.1-2", None,
                           observed="2026-11-19T00:00:00+00:00", tags=("1.4", "stable")),
        _inspector_finding("shop/api", D, "CVE-2023-1", "HIGH", "old", "1", "2", status="CLOSED"),
        # no registry in the details: the finding's account
        _inspector_finding("shop/web", D2, "CVE-2023-44487", "HIGH", "nghttp2", "1.57.0-r0",
                           "1.57.0-r1", registry=None),
    )})
    assert frames.gaps(["image_scans"]) == []  # ECR not collected: Inspector alone will do
    scans = frames.image_scans.set_index("repository")
    api = scans.loc["shop/api"]
    assert (api.registry_id, api.digest, api.tag, api.scan_status, api.scan_source) == (
        "111122223333", D, "1.4", "ACTIVE", "inspector2")
    assert api.severity_counts == {"CRITICAL": 1, "LOW": 1}  # the CLOSED one is left out
    assert str(api.completed_at) == "2026-11-19 00:00:00+00:00"  # newest lastObservedAt
    assert (api.in_use_count, str(api.last_in_use_at)) == (3, "2026-11-20 08:00:00+00:00")
    first, second = api.vulnerabilities
    assert (first.id, first.package, first.version, first.fixed_in, first.fix_available,
            first.score) == ("CVE-2024-45492", "expat", "2.6.2-r0", "2.6.3-r0", "YES", 9.1)
    assert (second.id, second.fixed_in, second.fix_available) == ("CVE-2024-26461", None, "NO")
    assert scans.loc["shop/web", "registry_id"] == "111122223333"


def test_a_digest_with_both_sources_keeps_the_newer_result(tmp_path):
    api = _scan("shop/api", D, counts={}, tag="1.4", completed="2026-11-10T00:00:00Z")
    web = _scan("shop/web", D2, counts={}, completed="2026-11-19T00:00:00Z")
    never = {"params": {"repositoryName": "shop/db", "imageId": {"imageDigest": D}},
             "error": {"code": "ScanNotFoundException", "message": "no scan"}}
    frames = _snapshot(tmp_path, aws={
        "ecr/describe_image_scan_findings": [api, web, never],
        INSPECTOR_KEY: _inspector(
            # newer than ECR's clean scan: Inspector's result, with ECR's tag
            _inspector_finding("shop/api", D, "CVE-2024-45492", "CRITICAL", "expat",
                               "2.6.2-r0", "2.6.3-r0", tags=(), in_use=2),
            # older than ECR's scan: ECR's result stays, with Inspector's in-use fields
            _inspector_finding("shop/web", D2, "CVE-2023-44487", "HIGH", "nghttp2",
                               "1.57.0-r0", "1.57.0-r1", in_use=5),
            # ECR never scanned it: Inspector's result
            _inspector_finding("shop/db", D, "CVE-2024-6119", "HIGH", "openssl", "3.3.1-r3",
                               "3.3.2-r0")),
    })
    scans = frames.image_scans
    assert len(scans) == 3  # one row per digest
    by = scans.set_index("repository")
    assert (by.loc["shop/api", "scan_source"], by.loc["shop/api", "tag"],
            by.loc["shop/api", "severity_counts"]) == ("inspector2", "1.4", {"CRITICAL": 1})
    assert (by.loc["shop/web", "scan_source"], by.loc["shop/web", "severity_counts"],
            by.loc["shop/web", "in_use_count"]) == ("ecr", {}, 5)
    assert (by.loc["shop/db", "scan_source"], by.loc["shop/db", "scan_status"]) == (
        "inspector2", "ACTIVE")


def test_a_running_digest_with_only_an_inspector_finding_fails_naming_the_cve(tmp_path):
    import yaml

    from tests.checks.casefiles import CASES, build_case_frames
    from zt_toolkit.checks import get_check, run_checks

    case = yaml.safe_load((CASES / "running_image_vulnerabilities_absent"
                           / "fail-inspector-finding-only.yaml").read_text())
    frames = build_case_frames(case, tmp_path)
    assert frames.snapshot.coverage("aws/ecr/describe_image_scan_findings").status == \
        "not_collected"
    findings = run_checks(frames, [get_check("running_image_vulnerabilities_absent")])
    row = findings.set_index("name").loc["api-1"]
    assert (row.status, row.severity) == ("fail", "critical")
    assert "1 CRITICAL" in row.detail
    assert "CVE-2024-45492 (expat 2.6.2-r0, fixed in 2.6.3-r0)" in row.detail
    web = findings.set_index("name").loc["web-1"]
    assert web.status == "not_assessed" and "no scan result" in web.detail
    inv = frames.image_inventory.set_index("name")
    assert (inv.loc["api-1", "scan_source"], inv.loc["api-1", "critical"]) == ("inspector2", 1)
    assert inv.loc["web-1", "scan_state"] == "no scan record"
