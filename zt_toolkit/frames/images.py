"""Image and supply-chain frames: ECR, scan results, running images, admission policies.

ECR frames keep the AWS answers as data: a repository without a policy
(``RepositoryPolicyNotFoundException``) and an image never scanned (``ScanNotFoundException``) are
states, not gaps. ``running_images`` maps every running container to registry coordinates with
:func:`parse_image_reference`, so that the checks can join running digests to ECR scan results.

The admission frames (Kyverno, Gatekeeper, ValidatingAdmissionPolicy, sigstore policy-controller)
live here because both the ``pod_security`` and the ``images`` pillar read them: one row per
policy, with the rules it *enforces* on pods and on images, separated from those it only audits.
Whether those policies would admit a given image in a given namespace is the engine
:mod:`zt_toolkit.analysis.admission`; ``image_inventory`` carries its verdict per running image.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import pandas as pd
import pandera.pandas as pa

from zt_toolkit.frames import Frames, frame, from_rows, nullable_bool
from zt_toolkit.frames.workloads import WORKLOAD_SOURCES

# ------------------------------------------------------------------------------------------
# image references
# ------------------------------------------------------------------------------------------
DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                                 "registry.hub.docker.com"})
ECR_PUBLIC = "public.ecr.aws"
# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] | .amazonaws.eu, and the dual-stack
# <account>.dkr-ecr[-fips].<region>.on.aws
_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr[.-]ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)"
    r"\.(?:amazonaws\.com(?:\.cn)?|amazonaws\.eu|on\.aws)$"
)
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^(?P<algo>[a-z0-9]+(?:[+._-][a-z0-9]+)*):(?P<hex>[a-zA-Z0-9=_-]{32,})$")
_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_HOST = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)(?::\d+)?$")
_RUNTIME_PREFIXES = ("docker-pullable://", "docker://", "containerd://", "cri-o://")

# AWS accounts whose ECR registries serve the EKS add-on images (aws-node, kube-proxy, coredns,
# EBS/EFS CSI, pod identity agent ...), one per Region group. Source: EKS user guide, "View Amazon
# container image registries for Amazon EKS add-ons" (add-ons-images). These are owned by AWS;
# image_registry_trusted trusts them as it trusts the account's own ECR.
EKS_ADDON_REGISTRY_ACCOUNTS = frozenset({
    "602401143452",  # most commercial Regions
    "877085696533",  # af-south-1
    "800184023465",  # ap-east-1
    "533267051163",  # ap-east-2
    "296578399912",  # ap-southeast-3
    "900889452093",  # ap-south-2
    "491585149902",  # ap-southeast-4
    "151610086707",  # ap-southeast-5
    "333609536671",  # ap-southeast-6
    "121268973566",  # ap-southeast-7
    "918309763551",  # cn-north-1
    "961992271922",  # cn-northwest-1
    "590381155156",  # eu-south-1
    "455263428931",  # eu-south-2
    "900612956339",  # eu-central-2
    "066635153087",  # il-central-1
    "730335286997",  # mx-central-1
    "558608220178",  # me-south-1
    "759879836304",  # me-central-1
    "761377655185",  # ca-west-1
    "151742754352",  # us-gov-east-1
    "013241004608",  # us-gov-west-1
    "877088126301",  # eusc-de-east-1
})


@dataclass(frozen=True)
class ImageReference:
    """A parsed container image reference (``[registry/]repository[:tag][@digest]``).

    ``registry`` is normalized (Docker Hub is ``docker.io`` and its official images carry the
    ``library/`` prefix); ``tag`` is ``None`` when the reference names none (Kubernetes then
    pulls ``latest``, unless a digest pins the image).
    """

    original: str
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def effective_tag(self) -> str | None:
        """The tag that is pulled: the given one, ``latest`` when neither tag nor digest is set."""
        if self.tag is not None:
            return self.tag
        return None if self.digest else "latest"

    @property
    def ecr_account(self) -> str | None:
        """AWS account of a private ECR registry (None for any other registry)."""
        m = _ECR_HOST.match(self.registry)
        return m.group("account") if m else None

    @property
    def ecr_region(self) -> str | None:
        """Region of a private ECR registry (None for any other registry)."""
        m = _ECR_HOST.match(self.registry)
        return m.group("region") if m else None

    @property
    def is_ecr(self) -> bool:
        """A private ECR registry."""
        return self.ecr_account is not None

    @property
    def is_ecr_public(self) -> bool:
        """ECR Public (``public.ecr.aws/<alias>/<repository>``)."""
        return self.registry == ECR_PUBLIC

    @property
    def is_docker_hub(self) -> bool:
        """Docker Hub (``docker.io``, written or implied)."""
        return self.registry == DOCKER_HUB


def parse_image_reference(reference: str) -> ImageReference:
    """Parse an image reference as the container runtime does (distribution/reference rules).

    Accepts the forms Kubernetes sees in ``spec.containers[].image`` and in
    ``status.containerStatuses[].image/imageID``: ``nginx``, ``nginx:1.25``,
    ``library/nginx@sha256:…``, ``ghcr.io/org/app:v1``, ``localhost:5000/app``,
    ``111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4@sha256:…`` and runtime prefixes
    such as ``docker-pullable://``. Raises :class:`ValueError` naming the problem for anything
    else (empty, upper-case repository, bad tag or digest).

    Examples
    --------
    >>> ref = parse_image_reference("111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4")
    >>> ref.ecr_account, ref.ecr_region, ref.repository, ref.tag
    ('111122223333', 'eu-west-1', 'shop/api', '1.4')
    >>> parse_image_reference("postgres:15").name
    'docker.io/library/postgres'
    """
    if not isinstance(reference, str):
        raise ValueError(f"image reference must be a string, not {type(reference).__name__}")
    text = reference.strip()
    for prefix in _RUNTIME_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if not text:
        raise ValueError("empty image reference")
    if any(ch.isspace() for ch in text):
        raise ValueError(f"image reference {reference!r} contains whitespace")
    name, _, digest = text.partition("@")
    if digest:
        m = _DIGEST.match(digest)
        if not m:
            raise ValueError(f"invalid digest {digest!r} in {reference!r}")
        want = _HEX_LENGTH.get(m.group("algo"))
        if want and (len(m.group("hex")) != want
                     or not re.fullmatch(r"[0-9a-f]+", m.group("hex"))):
            raise ValueError(f"invalid {m.group('algo')} digest in {reference!r}")
    if not name:
        raise ValueError(f"image reference {reference!r} has no repository")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, path = first.lower(), rest
        if not _HOST.match(first):
            raise ValueError(f"invalid registry host {first!r} in {reference!r}")
    else:
        registry, path = DOCKER_HUB, name
    tag = None
    head, colon, maybe_tag = path.rpartition(":")
    if colon:
        if not _TAG.match(maybe_tag):
            raise ValueError(f"invalid tag {maybe_tag!r} in {reference!r}")
        path, tag = head, maybe_tag
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    components = path.split("/")
    bad = [c for c in components if not _COMPONENT.match(c)]
    if bad:
        raise ValueError(f"invalid repository component {bad[0]!r} in {reference!r} "
                         "(lower-case letters, digits and separators only)")
    if len(f"{registry}/{path}") > 255:
        raise ValueError(f"image name longer than 255 characters: {reference!r}")
    return ImageReference(reference, registry, path, tag, digest or None)


def try_parse_image_reference(reference: Any) -> ImageReference | None:
    """:func:`parse_image_reference`, or None when the reference does not parse."""
    try:
        return parse_image_reference(reference)
    except ValueError:
        return None


def digest_of_image_id(image_id: Any) -> str | None:
    """Return the registry (manifest) digest in a container status ``imageID``, if any.

    ``repo@sha256:…`` (containerd, ``docker-pullable://``) carries the digest that a registry
    and ECR know. A bare ``sha256:…`` (or ``docker://sha256:…``) is the local image config ID,
    which no registry indexes: it yields None.
    """
    if not isinstance(image_id, str) or "@" not in image_id:
        return None
    ref = try_parse_image_reference(image_id)
    return ref.digest if ref is not None else None


def ecr_filter_matches(pattern: str, name: str) -> bool:
    """Match a repository name against an ECR WILDCARD filter.

    Without ``*`` a filter matches names that *contain* it; with ``*`` the wildcard stands for
    zero or more characters of the whole name (ECR user guide, "Filter wildcards").
    """
    if "*" not in pattern:
        return pattern in name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def home_registry(frames: Frames) -> tuple[str | None, str | None]:
    """Account and Region of the assessed cluster's own ECR registry.

    From the snapshot manifest, else the cluster ARN (manifest or ``describe_cluster``), else
    ``sts.get_caller_identity``, else the registry of the collected ECR repositories.
    """
    snap = frames.snapshot
    account, region = snap.cluster.account_id, snap.cluster.region
    arns = [snap.cluster.arn]
    for rec in snap.aws("eks", "describe_cluster"):
        arns.append(((rec.get("response") or {}).get("cluster") or {}).get("arn"))
    for arn in arns:
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) >= 5 and parts[0] == "arn":
            region = region or parts[3] or None
            account = account or parts[4] or None
    if not account:
        for rec in snap.aws("sts", "get_caller_identity"):
            account = account or (rec.get("response") or {}).get("Account")
    if not account or not region:
        for rec in snap.aws("ecr", "describe_repositories"):
            for repo in (rec.get("response") or {}).get("repositories") or ():
                ref = try_parse_image_reference(repo.get("repositoryUri") or "")
                if ref is not None and ref.is_ecr:
                    account = account or ref.ecr_account
                    region = region or ref.ecr_region
                account = account or repo.get("registryId")
    return account, region


# ------------------------------------------------------------------------------------------
# ECR repositories and their policies
# ------------------------------------------------------------------------------------------
_ECR_KEY = {"kind": pa.Column(str, pa.Check.eq("ECRRepository")), "namespace": pa.Column(str),
            "name": pa.Column(str)}

REPOSITORY_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "registry_id": "string", "uri": "string",
    "arn": "string", "scan_on_push": "boolean", "tag_mutability": "string",
    "tag_mutability_exclusions": "object", "encryption_type": "string", "kms_key": "string",
    "created_at": "datetime64[ns, UTC]", "policy_state": "str", "policy": "object",
}
POLICY_STATES = ("present", "none", "error", "not_collected")


@frame("ecr_repositories", sources=("aws/ecr/describe_repositories",), schema=pa.DataFrameSchema({
    **_ECR_KEY,
    "scan_on_push": pa.Column("boolean", nullable=True,
                              description="repository-level scanOnPush (deprecated by AWS in "
                                          "favour of the registry scanning configuration)"),
    "tag_mutability": pa.Column("string", nullable=True, description=(
        "MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION")),
    "policy_state": pa.Column(str, pa.Check.isin(POLICY_STATES), description=(
        "repository policy: present, none (RepositoryPolicyNotFoundException), error, or "
        "not_collected")),
}))
def build_ecr_repositories(frames: Frames) -> pd.DataFrame:
    """One row per ECR repository: scan on push, tag mutability, encryption and its policy."""
    policies = (frames.ecr_repository_policies if not frames.gaps(["ecr_repository_policies"])
                else None)
    by_repo: dict[str, tuple[str, Any]] = {}
    if policies is not None:
        for p in policies.itertuples(index=False):
            by_repo[p.name] = (p.state, p.policy)
    rows = []
    for rec in frames.snapshot.aws("ecr", "describe_repositories"):
        for repo in (rec.get("response") or {}).get("repositories") or ():
            name = repo.get("repositoryName", "")
            enc = repo.get("encryptionConfiguration") or {}
            state, policy = by_repo.get(name, ("not_collected", None))
            rows.append({
                "kind": "ECRRepository", "namespace": "", "name": name,
                "registry_id": repo.get("registryId"), "uri": repo.get("repositoryUri"),
                "arn": repo.get("repositoryArn"),
                "scan_on_push": nullable_bool(
                    (repo.get("imageScanningConfiguration") or {}).get("scanOnPush")),
                "tag_mutability": repo.get("imageTagMutability"),
                "tag_mutability_exclusions": tuple(
                    f.get("filter", "") for f in repo.get("imageTagMutabilityExclusionFilters")
                    or ()),
                "encryption_type": enc.get("encryptionType"), "kms_key": enc.get("kmsKey"),
                "created_at": _timestamp(repo.get("createdAt")),
                "policy_state": state, "policy": policy,
            })
    df = from_rows(rows, {**REPOSITORY_COLUMNS, "created_at": "object"})
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True, errors="coerce",
                                      format="ISO8601")
    return df.drop_duplicates(["name"]).reset_index(drop=True)


REPOSITORY_POLICY_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "registry_id": "string", "state": "str",
    "policy": "object", "error_code": "string", "error_message": "string",
}


@frame("ecr_repository_policies", sources=("aws/ecr/get_repository_policy",))
def build_ecr_repository_policies(frames: Frames) -> pd.DataFrame:
    """One row per ``get_repository_policy`` record: the parsed policy, or why there is none.

    ``state`` is ``present`` (``policy`` holds the parsed JSON document), ``none``
    (``RepositoryPolicyNotFoundException``: the repository has no policy) or ``error`` (any
    other error, e.g. AccessDenied, or a policy text that is not JSON).
    """
    rows = []
    for rec in frames.snapshot.aws("ecr", "get_repository_policy"):
        params = rec.get("params") or {}
        resp = rec.get("response") or {}
        name = resp.get("repositoryName") or params.get("repositoryName") or ""
        row = {"kind": "ECRRepository", "namespace": "", "name": name,
               "registry_id": resp.get("registryId") or params.get("registryId"),
               "state": "error", "policy": None, "error_code": None, "error_message": None}
        if "error" in rec:
            code = rec["error"].get("code")
            row["error_code"], row["error_message"] = code, rec["error"].get("message")
            row["state"] = "none" if code == "RepositoryPolicyNotFoundException" else "error"
        else:
            text = resp.get("policyText")
            try:
                policy = orjson.loads(text) if isinstance(text, str) else text
            except orjson.JSONDecodeError as exc:
                policy, row["error_message"] = None, f"policyText is not JSON ({exc})"
            if isinstance(policy, dict):
                row["state"], row["policy"] = "present", policy
            elif text is None:
                row["state"] = "none"
        rows.append(row)
    return from_rows(rows, REPOSITORY_POLICY_COLUMNS)


REGISTRY_SCANNING_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "registry_id": "string",
    "scan_type": "string", "rules": "object",
}


@frame("ecr_registry_scanning", sources=("aws/ecr/get_registry_scanning_configuration",))
def build_ecr_registry_scanning(frames: Frames) -> pd.DataFrame:
    """One row per registry: ``scan_type`` BASIC or ENHANCED and its rules.

    ``rules`` is a tuple of ``(scan_frequency, (filter, ...))``; filters use ECR's WILDCARD
    semantics (see :func:`ecr_filter_matches`). No configuration means BASIC without rules.
    """
    rows = []
    for rec in frames.snapshot.aws("ecr", "get_registry_scanning_configuration"):
        resp = rec.get("response")
        if resp is None:
            continue
        conf = resp.get("scanningConfiguration") or {}
        rules = tuple(
            (r.get("scanFrequency", ""),
             tuple(f.get("filter", "") for f in r.get("repositoryFilters") or ()))
            for r in conf.get("rules") or ()
        )
        rows.append({"kind": "ECRRegistry", "namespace": "", "name": resp.get("registryId") or "",
                     "registry_id": resp.get("registryId"),
                     "scan_type": conf.get("scanType") or "BASIC", "rules": rules})
    return from_rows(rows, REGISTRY_SCANNING_COLUMNS)


def registry_scan_rule_for(scanning: pd.DataFrame, repository: str) -> tuple[str, str, str] | None:
    """Find the registry rule that scans ``repository``: (scan type, frequency, filter).

    SCAN_ON_PUSH and CONTINUOUS_SCAN rules count; MANUAL does not. None when no rule matches.
    """
    for reg in scanning.itertuples(index=False):
        for frequency, filters in reg.rules:
            if frequency not in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
                continue
            for f in filters:
                if ecr_filter_matches(f, repository):
                    return str(reg.scan_type), frequency, f
    return None


# ------------------------------------------------------------------------------------------
# image scan results
# ------------------------------------------------------------------------------------------
SCAN_COLUMNS = {
    "registry_id": "string", "repository": "str", "digest": "string", "tag": "string",
    "scan_status": "str", "status_description": "string",
    "completed_at": "datetime64[ns, UTC]", "vulnerability_source_updated_at": "datetime64[ns, UTC]",
    "severity_counts": "object", "findings": "object", "packages": "object",
    "vulnerabilities": "object", "error_code": "string", "scan_source": "str",
    "last_in_use_at": "datetime64[ns, UTC]", "in_use_count": "Int64",
}
ECR_SCAN_KEY = "aws/ecr/describe_image_scan_findings"
INSPECTOR_KEY = "aws/inspector2/list_findings"
#: where an ``image_scans`` row comes from
SCAN_SOURCES = ("ecr", "inspector2")
# statuses that carry a scan result (SCAN_ELIGIBILITY_EXPIRED: enhanced scanning stopped
# re-scanning the image, the last result is kept but ages)
SCAN_RESULT_STATUSES = ("COMPLETE", "ACTIVE", "SCAN_ELIGIBILITY_EXPIRED")
NOT_SCANNED = "NOT_SCANNED"


@frame("image_scans", sources=(ECR_SCAN_KEY, INSPECTOR_KEY), any_source=True,
       schema=pa.DataFrameSchema({
           "repository": pa.Column(str),
           "digest": pa.Column("string", nullable=True, description="image manifest digest"),
           "scan_status": pa.Column(str, description=(
               "imageScanStatus.status (COMPLETE, ACTIVE, FAILED, ...), NOT_SCANNED for "
               "ScanNotFoundException, ERROR for any other error; ACTIVE for an image known "
               "from its Amazon Inspector findings")),
           "severity_counts": pa.Column(object, description="findingSeverityCounts, upper-case"),
           "scan_source": pa.Column(str, pa.Check.isin(SCAN_SOURCES), description=(
               "ecr: describe_image_scan_findings; inspector2: inspector2 list_findings")),
           "in_use_count": pa.Column("Int64", nullable=True, description=(
               "Inspector's inUseCount of the image (running containers it saw), NA unknown")),
       }))
def build_image_scans(frames: Frames) -> pd.DataFrame:
    """One row per scanned image (registry account + repository + digest), from ECR and Inspector.

    ECR rows (``scan_source`` ``ecr``) are the ``describe_image_scan_findings`` records; Inspector
    rows (``inspector2``) group the active ``inspector2 list_findings`` findings on ECR images by
    ``resources[].details.awsEcrContainerImage`` (``registry``, ``repositoryName``,
    ``imageHash``): status ACTIVE, ``completed_at`` the newest ``lastObservedAt``, the first of
    ``imageTags``, ``lastInUseAt`` / ``inUseCount``, and each finding's ``inspectorScore``.
    Inspector lists only images that have findings: an image missing from it is not known to
    be clean. The frame is usable when either source was collected.

    A digest with both keeps **one** row: Inspector's when its newest ``lastObservedAt`` is
    later than ECR's ``imageScanCompletedAt`` or the ECR record holds no result (never scanned,
    failed, error) — the tag, status description and vulnerability-data time missing from it
    are taken from the ECR record; otherwise ECR's, which takes Inspector's in-use fields.
    An ECR record without ``registryId`` belongs to the cluster's own account.

    ``findings`` is a tuple of ``(vulnerability id, severity, package)`` from basic findings
    (``attributes`` package_name) and active enhanced (Inspector) findings; ``packages`` is the set
    of package names the findings mention (vulnerable packages only: not an inventory).
    ``vulnerabilities`` holds the same findings as :class:`Vulnerability` tuples, most severe
    first, with the installed version, the version that fixes it and whether a fix exists (enhanced
    findings give ``fixedInVersion`` and ``fixAvailable``; basic findings give neither).
    """
    rows = []
    for rec in frames.snapshot.aws("ecr", "describe_image_scan_findings"):
        params = rec.get("params") or {}
        resp = rec.get("response") or {}
        image_id = {**(params.get("imageId") or {}), **(resp.get("imageId") or {})}
        row: dict[str, Any] = {
            "registry_id": resp.get("registryId") or params.get("registryId"),
            "repository": resp.get("repositoryName") or params.get("repositoryName") or "",
            "digest": image_id.get("imageDigest"), "tag": image_id.get("imageTag"),
            "status_description": None, "completed_at": None,
            "vulnerability_source_updated_at": None, "severity_counts": {},
            "findings": (), "packages": frozenset(), "vulnerabilities": (), "error_code": None,
            "scan_source": "ecr", "last_in_use_at": None, "in_use_count": None,
        }
        if "error" in rec:
            code = rec["error"].get("code")
            row["error_code"] = code
            row["scan_status"] = NOT_SCANNED if code == "ScanNotFoundException" else "ERROR"
            row["status_description"] = rec["error"].get("message")
            rows.append(row)
            continue
        status = resp.get("imageScanStatus") or {}
        found = resp.get("imageScanFindings") or {}
        findings = _findings(found)
        row.update({
            "scan_status": str(status.get("status") or ("COMPLETE" if found else "UNKNOWN")),
            "status_description": status.get("description"),
            "completed_at": _timestamp(found.get("imageScanCompletedAt")),
            "vulnerability_source_updated_at": _timestamp(
                found.get("vulnerabilitySourceUpdatedAt")),
            "severity_counts": {str(k).upper(): int(v) for k, v in
                                (found.get("findingSeverityCounts") or {}).items()},
            "findings": findings,
            "packages": frozenset(p for _, _, p in findings if p),
            "vulnerabilities": vulnerabilities(found),
        })
        rows.append(row)
    inspected = inspector_image_scans(frames.snapshot.aws("inspector2", "list_findings"))
    if inspected:
        rows = _merge_scan_sources(rows, inspected, home_registry(frames)[0])
    columns = {**SCAN_COLUMNS, "completed_at": "object",
               "vulnerability_source_updated_at": "object", "last_in_use_at": "object"}
    df = from_rows(rows, columns)
    for col in ("completed_at", "vulnerability_source_updated_at", "last_in_use_at"):
        df[col] = pd.to_datetime(df[col], utc=True, errors="coerce", format="ISO8601")
    return df


def _when(value: Any) -> pd.Timestamp | None:
    t = pd.to_datetime(value, utc=True, errors="coerce", format="ISO8601") if value else None
    return None if t is None or pd.isna(t) else t


def inspector_image_scans(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``image_scans`` rows from ``inspector2 list_findings`` records: one per ECR image.

    Findings are grouped by ``awsEcrContainerImage`` (``registry`` — the finding's
    ``awsAccountId`` when absent —, ``repositoryName``, ``imageHash``); findings that are not
    ACTIVE (moto and old records do not filter) and resources that are not ECR images are left
    out. See :func:`build_image_scans` for the columns.

    Examples
    --------
    >>> image = {"registry": "111122223333", "repositoryName": "shop/api",
    ...          "imageHash": "sha256:" + "a" * 64, "imageTags": ["1.4"], "inUseCount": 2}
    >>> finding = {"status": "ACTIVE", "severity": "HIGH", "inspectorScore": 7.5,
    ...     "fixAvailable": "YES", "lastObservedAt": "2026-11-19T08:00:00+00:00",
    ...     "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": "x",
    ...                    "details": {"awsEcrContainerImage": image}}],
    ...     "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2023-44487",
    ...         "source": "NVD", "vulnerablePackages": [
    ...             {"name": "nghttp2", "version": "1.57.0", "fixedInVersion": "1.58.0"}]}}
    >>> row = inspector_image_scans([{"response": {"findings": [finding]}}])[0]
    >>> row["tag"], row["severity_counts"], row["vulnerabilities"][0].fixed_in
    ('1.4', {'HIGH': 1}, '1.58.0')
    """
    images: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in records:
        for f in (rec.get("response") or {}).get("findings") or ():
            if f.get("status", "ACTIVE") != "ACTIVE":
                continue
            for res in f.get("resources") or ():
                if res.get("type") != "AWS_ECR_CONTAINER_IMAGE":
                    continue
                d = (res.get("details") or {}).get("awsEcrContainerImage") or {}
                key = (str(d.get("registry") or f.get("awsAccountId") or ""),
                       str(d.get("repositoryName") or ""), str(d.get("imageHash") or ""))
                if not key[1] or not key[2]:
                    continue
                img = images.setdefault(key, {"findings": [], "tags": {}, "observed": [],
                                              "in_use": [], "counts": []})
                img["findings"].append(f)
                img["tags"].update(dict.fromkeys(d.get("imageTags") or ()))
                img["observed"].append(_when(f.get("lastObservedAt")))
                img["in_use"].append(_when(d.get("lastInUseAt")))
                if isinstance(d.get("inUseCount"), int | float):
                    img["counts"].append(int(d["inUseCount"]))
    rows = []
    for (registry, repo, digest), img in images.items():
        found = {"enhancedFindings": img["findings"]}
        findings = _findings(found)
        counts: dict[str, int] = {}
        for f in img["findings"]:
            sev = str(f.get("severity", "")).upper()
            counts[sev] = counts.get(sev, 0) + 1
        observed = [t for t in img["observed"] if t is not None]
        in_use = [t for t in img["in_use"] if t is not None]
        rows.append({
            "registry_id": registry or None, "repository": repo, "digest": digest,
            "tag": next(iter(img["tags"]), None), "scan_status": "ACTIVE",
            "status_description": f"Amazon Inspector: {len(img['findings'])} active findings",
            "completed_at": max(observed).isoformat() if observed else None,
            "vulnerability_source_updated_at": None, "severity_counts": counts,
            "findings": findings, "packages": frozenset(p for _, _, p in findings if p),
            "vulnerabilities": vulnerabilities(found), "error_code": None,
            "scan_source": "inspector2",
            "last_in_use_at": max(in_use).isoformat() if in_use else None,
            "in_use_count": max(img["counts"]) if img["counts"] else None,
        })
    return rows


def _merge_scan_sources(ecr: list[dict[str, Any]], inspected: list[dict[str, Any]],
                        home_account: str | None) -> list[dict[str, Any]]:
    """ECR rows and Inspector rows, one per digest (the rule is in :func:`build_image_scans`)."""
    def key(row: dict[str, Any]) -> tuple[str, str, str]:
        return (str(row["registry_id"] or home_account or ""), row["repository"],
                str(row["digest"] or ""))

    out = list(ecr)
    index = {key(r): i for i, r in enumerate(out) if r["digest"]}
    for ins in inspected:
        i = index.get(key(ins))
        if i is None:
            out.append(ins)
            continue
        mine = out[i]
        ecr_at, ins_at = _when(mine["completed_at"]), _when(ins["completed_at"])
        no_result = mine["scan_status"] not in SCAN_RESULT_STATUSES or ecr_at is None
        if no_result or (ins_at is not None and ins_at > ecr_at):
            out[i] = {**ins, "tag": ins["tag"] or mine["tag"],
                      "vulnerability_source_updated_at": mine["vulnerability_source_updated_at"],
                      "registry_id": ins["registry_id"] or mine["registry_id"]}
        else:
            out[i] = {**mine, "last_in_use_at": ins["last_in_use_at"],
                      "in_use_count": ins["in_use_count"]}
    return out


def _findings(found: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    out = []
    for f in found.get("findings") or ():
        attrs = {a.get("key"): a.get("value") for a in f.get("attributes") or ()}
        out.append((str(f.get("name", "")), str(f.get("severity", "")).upper(),
                    str(attrs.get("package_name") or "")))
    for f in found.get("enhancedFindings") or ():
        if f.get("status") in ("SUPPRESSED", "CLOSED"):
            continue
        details = f.get("packageVulnerabilityDetails") or {}
        packages = [p.get("name", "") for p in details.get("vulnerablePackages") or ()] or [""]
        vid = details.get("vulnerabilityId") or f.get("title") or ""
        for pkg in packages:
            out.append((str(vid), str(f.get("severity", "")).upper(), str(pkg)))
    return tuple(out)


SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED",
                  "UNTRIAGED")


class Vulnerability(NamedTuple):
    """One finding of an image scan, as a report reads it."""

    id: str
    severity: str
    package: str
    version: str | None
    fixed_in: str | None
    fix_available: str | None  # YES, NO, PARTIAL (enhanced findings), None when not reported
    score: float | None


def _score(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def vulnerabilities(found: dict[str, Any]) -> tuple[Vulnerability, ...]:
    """The findings of one ``imageScanFindings`` answer, most severe (then highest score) first.

    Basic findings carry ``package_name``, ``package_version`` and CVSS scores as attributes;
    enhanced (Amazon Inspector) findings carry ``packageVulnerabilityDetails`` with the
    vulnerable packages and their ``fixedInVersion`` (``NotAvailable`` when there is none), the
    finding's ``fixAvailable`` and ``score``. Suppressed and closed enhanced findings are left
    out. One entry per (vulnerability, package).

    Examples
    --------
    >>> found = {"enhancedFindings": [{"severity": "HIGH", "status": "ACTIVE",
    ...     "fixAvailable": "YES", "score": 7.5, "packageVulnerabilityDetails": {
    ...     "vulnerabilityId": "CVE-2023-44487", "vulnerablePackages": [
    ...     {"name": "nghttp2", "version": "1.57.0", "fixedInVersion": "1.57.0-r1"}]}}]}
    >>> vulnerabilities(found)[0].fixed_in
    '1.57.0-r1'
    """
    out = []
    for f in found.get("findings") or ():
        attrs = {a.get("key"): a.get("value") for a in f.get("attributes") or ()}
        out.append(Vulnerability(
            str(f.get("name", "")), str(f.get("severity", "")).upper(),
            str(attrs.get("package_name") or ""), attrs.get("package_version") or None, None,
            None, _score(attrs.get("CVSS3_SCORE") or attrs.get("CVSS2_SCORE"))))
    for f in found.get("enhancedFindings") or ():
        if f.get("status") in ("SUPPRESSED", "CLOSED"):
            continue
        details = f.get("packageVulnerabilityDetails") or {}
        vid = str(details.get("vulnerabilityId") or f.get("title") or "")
        fix = f.get("fixAvailable")
        packages = details.get("vulnerablePackages") or [{}]
        for pkg in packages:
            fixed = pkg.get("fixedInVersion")
            fixed = None if not fixed or str(fixed) == "NotAvailable" else str(fixed)
            out.append(Vulnerability(
                vid, str(f.get("severity", "")).upper(), str(pkg.get("name") or ""),
                pkg.get("version") or None, fixed, str(fix) if fix else None,
                _score(f.get("score") or f.get("inspectorScore"))))
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return tuple(sorted(out, key=lambda v: (rank.get(v.severity, len(rank)),
                                            -(v.score or 0.0), v.id, v.package)))


def _timestamp(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):  # epoch seconds, as botocore may leave them
        return pd.Timestamp(value, unit="s", tz="UTC").isoformat()
    return str(value)


# ------------------------------------------------------------------------------------------
# running images
# ------------------------------------------------------------------------------------------
RUNNING_IMAGE_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "container": "str", "image": "str",
    "image_id": "string", "registry": "string", "repository": "string", "tag": "string",
    "digest": "string", "ecr_account": "string", "ecr_region": "string", "source": "str",
    "pod_count": "int64", "parse_error": "string",
}


@frame("running_images", sources=WORKLOAD_SOURCES, any_source=True,
       schema=pa.DataFrameSchema({
           "kind": pa.Column(str, description="owning workload kind"),
           "namespace": pa.Column(str), "name": pa.Column(str),
           "digest": pa.Column("string", nullable=True, description=(
               "manifest digest: from the container status imageID, else pinned in the "
               "reference; NA when neither gives one")),
           "source": pa.Column(str, pa.Check.isin(["pod", "template"]), description=(
               "pod: container statuses of collected pods; template: workload specs when no "
               "pod was collected")),
       }))
def build_running_images(frames: Frames) -> pd.DataFrame:
    """One row per workload, container and running image digest, mapped to registry coordinates.

    From the pods' container statuses (the digest that actually runs) when pods were collected;
    otherwise (or when no pod reports a container status, as in a manifest import) from the
    workload templates' image references (digest only when pinned).
    """
    rc = frames.running_containers if frames.snapshot.has_k8s("pods") else None
    if rc is not None and not rc.empty:
        base = pd.DataFrame({
            "kind": rc["workload_kind"], "namespace": rc["namespace"], "name": rc["workload_name"],
            "container": rc["container"], "image": rc["image"], "image_id": rc["image_id"],
        })
        spec_images = _spec_images(frames)
        keys = ["kind", "namespace", "name", "container", "image", "image_id"]
        counted = (base.groupby(keys, dropna=False, sort=False).size()
                   .rename("pod_count").reset_index())
        # a status image the runtime reports as a bare ID falls back to the spec reference
        spec = counted.set_index(["kind", "namespace", "name", "container"]).index.map(
            spec_images.get)
        refs = [img if try_parse_image_reference(img) is not None or not isinstance(s, str)
                else s for img, s in zip(counted["image"], spec, strict=True)]
        counted["image"] = refs
        source = "pod"
    else:
        c = frames.containers
        counted = c[["kind", "namespace", "name", "container", "image"]].copy()
        counted["image_id"] = pd.NA
        counted["pod_count"] = 0
        source = "template"
    parsed = {img: _parse_or_error(img) for img in pd.unique(counted["image"])}
    id_digests = {i: digest_of_image_id(i) for i in pd.unique(counted["image_id"].dropna())}
    rows = []
    for r in counted.itertuples(index=False):
        ref, error = parsed[r.image]
        image_id = r.image_id if isinstance(r.image_id, str) and r.image_id else None
        digest = id_digests.get(image_id) if image_id else None
        rows.append({
            "kind": r.kind, "namespace": r.namespace, "name": r.name, "container": r.container,
            "image": r.image, "image_id": image_id,
            "registry": ref.registry if ref else None,
            "repository": ref.repository if ref else None,
            "tag": ref.tag if ref else None,
            "digest": digest or (ref.digest if ref else None),
            "ecr_account": ref.ecr_account if ref else None,
            "ecr_region": ref.ecr_region if ref else None,
            "source": source, "pod_count": int(r.pod_count), "parse_error": error,
        })
    df = from_rows(rows, RUNNING_IMAGE_COLUMNS)
    return df.drop_duplicates(["kind", "namespace", "name", "container", "image", "digest"])\
        .reset_index(drop=True)


def _spec_images(frames: Frames) -> dict[tuple[str, str, str, str], str]:
    if frames.gaps(["containers"]):
        return {}
    c = frames.containers
    return dict(zip(zip(c["kind"], c["namespace"], c["name"], c["container"], strict=True),
                    c["image"], strict=True))


def _parse_or_error(image: Any) -> tuple[ImageReference | None, str | None]:
    try:
        return parse_image_reference(image), None
    except ValueError as exc:
        return None, str(exc)


def scans_for_images(images: pd.DataFrame, scans: pd.DataFrame,
                     home_account: str | None) -> pd.DataFrame:
    """Left-join image rows (``ecr_account, repository, digest, tag``) to their scan record.

    A record matches on registry account, repository and digest; an image without a known digest
    falls back to the newest record of the same tag. Scan records without a registry id belong
    to the home account; images outside private ECR never match. Adds the ``image_scans``
    columns, ``scan_digest`` (the digest the record is about) and ``matched_by`` (``digest``,
    ``tag`` or NA).
    """
    s = scans.copy()
    s["_account"] = s["registry_id"].fillna(home_account or "").astype(str)
    s = s.drop(columns=["registry_id"]).rename(columns={"digest": "scan_digest"})
    by_digest = s.dropna(subset=["scan_digest"]).assign(_key=lambda d: d["scan_digest"])
    by_tag = s.dropna(subset=["tag"]).assign(_key=lambda d: "tag:" + d["tag"].astype(str))
    keyed = (pd.concat([by_digest, by_tag], ignore_index=True)
             .sort_values("completed_at", ascending=False, na_position="last", kind="stable")
             .drop_duplicates(["_account", "repository", "_key"])
             .drop(columns=["tag"]))
    left = images.copy()
    left["_account"] = left["ecr_account"].astype("string").fillna("\x00not-ecr").astype(str)
    digest = left["digest"].astype("string")
    tag_key = "tag:" + left["tag"].astype("string")
    left["_key"] = digest.where(digest.notna(), tag_key)
    out = left.merge(keyed, how="left", on=["_account", "repository", "_key"])
    matched = out["scan_status"].notna()
    out["matched_by"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out.loc[matched & out["digest"].notna(), "matched_by"] = "digest"
    out.loc[matched & out["digest"].isna(), "matched_by"] = "tag"
    return out.drop(columns=["_account", "_key"])


# ------------------------------------------------------------------------------------------
# admission: webhooks and policies (Kyverno, Gatekeeper, VAP, sigstore policy-controller)
# ------------------------------------------------------------------------------------------
VWC_KEY = "k8s/validatingwebhookconfigurations.admissionregistration.k8s.io"
VAP_KEY = "k8s/validatingadmissionpolicies.admissionregistration.k8s.io"
VAPB_KEY = "k8s/validatingadmissionpolicybindings.admissionregistration.k8s.io"
KYVERNO_KEYS = ("k8s/clusterpolicies.kyverno.io", "k8s/policies.kyverno.io")
KYVERNO_CEL_RESOURCES = ("validatingpolicies.policies.kyverno.io",
                         "imagevalidatingpolicies.policies.kyverno.io")
GATEKEEPER_TEMPLATES_KEY = "k8s/constrainttemplates.templates.gatekeeper.sh"
GATEKEEPER_CONSTRAINT_GROUP = ".constraints.gatekeeper.sh"
SIGSTORE_RESOURCE = "clusterimagepolicies.policy.sigstore.dev"
SIGSTORE_INCLUDE_LABEL = "policy.sigstore.dev/include"
ADMISSION_SOURCES = (VWC_KEY, VAP_KEY, VAPB_KEY, *KYVERNO_KEYS, GATEKEEPER_TEMPLATES_KEY)

# Kinds whose admission shapes pods: a Pod, or a controller that creates them.
POD_KINDS = frozenset({"pod", "pods", "deployment", "deployments", "statefulset", "statefulsets",
                       "daemonset", "daemonsets", "replicaset", "replicasets", "job", "jobs",
                       "cronjob", "cronjobs", "replicationcontroller", "replicationcontrollers",
                       "*"})
_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "log", "binding", "eviction", "status",
                           "proxy", "scale", "resize"})
_IMAGE_VERIFY_HINT = re.compile(r"ratify|cosign|signature|signed|verif|notation|vulnerab|sigstore",
                                re.IGNORECASE)
_IMAGE_FIELD = re.compile(r"\bimages?\b|\.image\b|imagePullPolicy", re.IGNORECASE)

WEBHOOK_ENGINES = (
    ("kyverno", re.compile(r"kyverno", re.IGNORECASE)),
    ("gatekeeper", re.compile(r"gatekeeper", re.IGNORECASE)),
    ("sigstore", re.compile(r"sigstore", re.IGNORECASE)),
    ("ratify", re.compile(r"ratify", re.IGNORECASE)),
    ("kubewarden", re.compile(r"kubewarden", re.IGNORECASE)),
    # webhooks of platform components that validate their own concerns, not pod policy
    ("platform", re.compile(r"vpc-resource|aws-load-balancer|elbv2\.k8s\.aws|eks\.amazonaws"
                            r"|cert-manager|karpenter|istio|linkerd|external-secrets"
                            r"|secrets-store|prometheus|opentelemetry", re.IGNORECASE)),
)

WEBHOOK_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "webhook": "str", "engine": "str",
    "failure_policy": "string", "targets_pods": "bool",
}


@frame("admission_webhooks", sources=(VWC_KEY,))
def build_admission_webhooks(frames: Frames) -> pd.DataFrame:
    """One row per webhook of every ValidatingWebhookConfiguration, with the engine it belongs to.

    ``engine`` is kyverno, gatekeeper, sigstore, ratify, kubewarden, platform (AWS and other
    platform components that validate their own objects: VPC resource controller, load balancer
    controller, cert-manager, Karpenter ...) by configuration or webhook name, or ``other``;
    ``targets_pods`` when a rule covers pods or pod controllers.
    """
    rows = []
    for vwc in frames.snapshot.iter_k8s(VWC_KEY[4:]):
        name = (vwc.get("metadata") or {}).get("name", "")
        for wh in vwc.get("webhooks") or ():
            wname = wh.get("name", "")
            engine = next((e for e, rx in WEBHOOK_ENGINES if rx.search(f"{name} {wname}")),
                          "other")
            resources = {r.split("/")[0].lower() for rule in wh.get("rules") or ()
                         for r in rule.get("resources") or ()}
            rows.append({"kind": "ValidatingWebhookConfiguration", "namespace": "", "name": name,
                         "webhook": wname, "engine": engine,
                         "failure_policy": wh.get("failurePolicy"),
                         "targets_pods": bool(resources & POD_KINDS)})
    return from_rows(rows, WEBHOOK_COLUMNS)


# What a rule inspects, read from its text (Kyverno pattern/deny/cel, Gatekeeper rego, VAP CEL).
_POD_SECURITY_FIELD = re.compile(
    r"securityContext|privileged|allowPrivilegeEscalation|hostNetwork|hostPID|hostIPC|hostPort"
    r"|hostPath|hostProcess|capabilities|runAsNonRoot|runAsUser|runAsGroup|seccomp|apparmor"
    r"|seLinux|procMount|sysctls|readOnlyRootFilesystem|podSecurity|\bpsp",
    re.IGNORECASE)

ADMISSION_LISTS = (
    "pod_security_rules_enforced", "pod_security_rules_audited", "other_pod_rules_enforced",
    "image_verification_enforced", "image_verification_audited",
    "image_reference_rules_enforced",
)
ADMISSION_COLUMNS = {
    "engine": "str", "kind": "str", "namespace": "str", "name": "str", "mode": "str",
    **dict.fromkeys(ADMISSION_LISTS, "object"),
    "constraint_kind": "string", "constraints_collected": "boolean", "note": "str",
}


@frame("admission_policies", sources=ADMISSION_SOURCES, any_source=True,
       schema=pa.DataFrameSchema({
           "engine": pa.Column(str, pa.Check.isin(
               ["kyverno", "gatekeeper", "vap", "sigstore"])),
           "pod_security_rules_enforced": pa.Column(object, description=(
               "rules that deny pods (or pod controllers) on security fields: securityContext, "
               "host namespaces, hostPath, capabilities, seccomp, Kyverno podSecurity ...")),
           "other_pod_rules_enforced": pa.Column(object, description=(
               "rules that deny pods on other fields (labels, resources, ...)")),
           "image_verification_enforced": pa.Column(object, description=(
               "rules that deny images failing signature / attestation / vulnerability "
               "verification")),
           "image_reference_rules_enforced": pa.Column(object, description=(
               "enforced rules that only inspect image references (registry, tag, digest)")),
           "constraints_collected": pa.Column("boolean", nullable=True, description=(
               "ConstraintTemplate rows: whether the constraints of its kind were collected")),
       }))
def build_admission_policies(frames: Frames) -> pd.DataFrame:
    """One row per admission policy object, with the rules it enforces and those it audits.

    Kyverno ClusterPolicy/Policy (``validate.failureAction`` per rule over the deprecated
    ``spec.validationFailureAction``, default Audit; ``spec.admission: false`` enforces nothing;
    ``verifyImages`` are image verification), Kyverno ValidatingPolicy / ImageValidatingPolicy
    (``validationActions`` with Deny), Gatekeeper constraints (``enforcementAction`` deny, its
    default, or scoped deny at the validation point) and their ConstraintTemplates (a template
    row says whether its constraints were collected), ValidatingAdmissionPolicyBindings
    (``validationActions`` with Deny, bound to an existing policy) and sigstore
    ClusterImagePolicies (``mode`` enforce, the default). A rule counts as pod security when its
    text inspects security fields; a rule that reads image references counts as an image
    reference rule. Rule labels are ``<rule>`` (Kyverno), ``<Kind>/<constraint>`` (Gatekeeper)
    and ``<policy> (binding <name>)`` (VAP).
    """
    snap = frames.snapshot
    rows: list[dict[str, Any]] = []
    for key in KYVERNO_KEYS:
        for obj in snap.iter_k8s(key[4:]):
            rows.append(_kyverno_row(obj, "ClusterPolicy" if "cluster" in key else "Policy"))
    resources = set(snap.k8s_resources())
    for res in KYVERNO_CEL_RESOURCES:
        if snap.coverage(f"k8s/{res}").ok:
            for obj in snap.iter_k8s(res):
                rows.append(_kyverno_cel_row(obj, image=res.startswith("image")))
    rows += _gatekeeper_rows(frames, resources)
    rows += _vap_rows(frames)
    if snap.coverage(f"k8s/{SIGSTORE_RESOURCE}").ok:
        for obj in snap.iter_k8s(SIGSTORE_RESOURCE):
            rows.append(_sigstore_row(obj))
    return from_rows(rows, ADMISSION_COLUMNS)


def _row(engine: str, kind: str, meta: dict[str, Any], mode: str,
         lists: dict[str, list[str]] | None = None, note: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {
        "engine": engine, "kind": kind, "namespace": meta.get("namespace") or "",
        "name": meta.get("name", ""), "mode": mode, "constraint_kind": None,
        "constraints_collected": None, "note": note}
    for col in ADMISSION_LISTS:
        row[col] = tuple(dict.fromkeys((lists or {}).get(col, ())))
    return row


def _classify(lists: dict[str, list[str]], label: str, text: str, *, enforce: bool) -> None:
    """File one pod-targeting validation rule under the lists its text calls for."""
    if _POD_SECURITY_FIELD.search(text):
        lists.setdefault("pod_security_rules_enforced" if enforce
                         else "pod_security_rules_audited", []).append(label)
    elif enforce:
        lists.setdefault("other_pod_rules_enforced", []).append(label)
    if enforce and _IMAGE_FIELD.search(text):
        lists.setdefault("image_reference_rules_enforced", []).append(label)


def kinds_target_pods(kinds: Iterable[str]) -> bool:
    """Tell whether a kind / resource list covers pods or pod controllers.

    Kyverno writes ``Pod``, ``v1/Pod``, ``apps/v1/Deployment``, ``*/Pod`` or ``*``; admission
    rules write resources (``pods``, ``deployments``, ``*``). A subresource such as ``Pod/exec``
    does not shape a pod; ``pods/ephemeralcontainers`` does.
    """
    for k in kinds:
        parts = [p.lower() for p in str(k).split("/") if p]
        if not parts or parts[-1] in _SUBRESOURCES:
            continue
        if parts[-1] in POD_KINDS:
            return True
        if len(parts) == 2 and parts[0] in POD_KINDS and parts[1] == "ephemeralcontainers":
            return True
    return False


def kyverno_match_kinds(rule: dict[str, Any]) -> list[str]:
    """The kinds a Kyverno rule matches (``match.resources`` and its ``any``/``all`` blocks)."""
    match = rule.get("match") or {}
    kinds = list((match.get("resources") or {}).get("kinds") or ())
    for block in (*(match.get("any") or ()), *(match.get("all") or ())):
        kinds += list((block.get("resources") or {}).get("kinds") or ())
    return kinds


def is_enforce_action(action: Any) -> bool:
    """Tell whether a Kyverno failure action (``Enforce``/``Audit``, any case) enforces."""
    return str(action or "").lower() == "enforce"


def policy_text(value: Any) -> str:
    """A policy body as JSON text, for keyword hints (image fields, verification words)."""
    return orjson.dumps(value, default=str).decode()


def _kyverno_row(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    spec_action = spec.get("validationFailureAction") or "Audit"
    admission = spec.get("admission") is not False
    lists: dict[str, list[str]] = {}
    modes: set[str] = set()
    overrides = bool(spec.get("validationFailureActionOverrides"))
    for rule in spec.get("rules") or ():
        name = rule.get("name", "")
        pods = kinds_target_pods(kyverno_match_kinds(rule))
        validate = rule.get("validate")
        if isinstance(validate, dict) and pods:
            enforce = admission and is_enforce_action(validate.get("failureAction") or spec_action)
            modes.add("Enforce" if enforce else "Audit")
            _classify(lists, name, policy_text(validate), enforce=enforce)
            overrides = overrides or bool(validate.get("failureActionOverrides"))
        for vi in rule.get("verifyImages") or ():
            enforce = admission and is_enforce_action(vi.get("failureAction") or spec_action)
            modes.add("Enforce" if enforce else "Audit")
            lists.setdefault("image_verification_enforced" if enforce
                             else "image_verification_audited", []).append(name)
    notes = []
    if not admission:
        notes.append("spec.admission is false (background reports only)")
    if overrides:
        notes.append("failure-action overrides audit some namespaces")
    mode = "/".join(sorted(modes)) or ("Enforce" if is_enforce_action(spec_action) else "Audit")
    return _row("kyverno", kind, meta, mode, lists, "; ".join(notes))


def _kyverno_cel_row(obj: dict[str, Any], image: bool) -> dict[str, Any]:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    actions = [str(a) for a in spec.get("validationActions") or ()]
    deny = "Deny" in actions
    name = meta.get("name", "")
    rules = (spec.get("matchConstraints") or {}).get("resourceRules") or ()
    lists: dict[str, list[str]] = {}
    if image:
        lists["image_verification_enforced" if deny else "image_verification_audited"] = [name]
        kind = "ImageValidatingPolicy"
    else:
        kind = "ValidatingPolicy"
        if kinds_target_pods(r for rule in rules for r in rule.get("resources") or ()):
            _classify(lists, name, policy_text(spec.get("validations") or []), enforce=deny)
    return _row("kyverno", kind, meta, ",".join(actions) or "Audit", lists)


def constraint_resource_keys(kind: str) -> tuple[str, ...]:
    """Resource keys under which a Gatekeeper constraint kind may be stored.

    Gatekeeper names the CRD after the lower-cased kind (``k8srequiredlabels``); a manifest
    import guesses an English plural (``k8srequiredlabelses``). Both are accepted.
    """
    lower = kind.lower()
    if lower.endswith("s"):
        plural = lower + "es"
    elif lower.endswith("y"):
        plural = lower[:-1] + "ies"
    else:
        plural = lower + "s"
    return (f"{lower}{GATEKEEPER_CONSTRAINT_GROUP}", f"{plural}{GATEKEEPER_CONSTRAINT_GROUP}")


def _gatekeeper_rows(frames: Frames, resources: set[str]) -> list[dict[str, Any]]:
    snap = frames.snapshot
    templates: dict[str, tuple[dict[str, Any], str]] = {}
    for t in snap.iter_k8s(GATEKEEPER_TEMPLATES_KEY[4:]):
        spec = t.get("spec") or {}
        ckind = (((spec.get("crd") or {}).get("spec") or {}).get("names") or {}).get("kind") or ""
        name = (t.get("metadata") or {}).get("name", "")
        templates[ckind] = (t, f"{ckind} {name} {policy_text(spec.get('targets') or [])}")
    rows = []
    collected_kinds = set()
    for res in sorted(r for r in resources if r.endswith(GATEKEEPER_CONSTRAINT_GROUP)):
        if not snap.coverage(f"k8s/{res}").ok:
            continue
        for ckind in templates:
            if res in constraint_resource_keys(ckind):
                collected_kinds.add(ckind)
        for c in snap.iter_k8s(res):
            ckind = c.get("kind") or ""
            collected_kinds.add(ckind)
            rows.append(constraint_row(c, ckind, templates.get(ckind)))
    for ckind, (t, _) in templates.items():
        row = _row("gatekeeper", "ConstraintTemplate", t.get("metadata") or {}, "template")
        row["constraint_kind"] = ckind
        row["constraints_collected"] = ckind in collected_kinds
        rows.append(row)
    return rows


def constraint_row(c: dict[str, Any], ckind: str,
                   template: tuple[dict[str, Any], str] | None) -> dict[str, Any]:
    """One Gatekeeper constraint as an ``admission_policies`` row (its template's Rego hints)."""
    meta, spec = c.get("metadata") or {}, c.get("spec") or {}
    action = str(spec.get("enforcementAction") or "deny")
    if action == "scoped":
        enforce = any(
            str(s.get("action")) == "deny" and any(
                p.get("name") in ("validation.gatekeeper.sh", "*")
                for p in s.get("enforcementPoints") or ())
            for s in spec.get("scopedEnforcementActions") or ())
    else:
        enforce = action == "deny"
    match = spec.get("match") or {}
    kinds = [k for m in match.get("kinds") or () for k in m.get("kinds") or ()]
    pods = not match.get("kinds") or kinds_target_pods(kinds)
    label = f"{ckind}/{meta.get('name', '')}"
    text = template[1] if template else ckind
    lists: dict[str, list[str]] = {}
    if pods:
        if _IMAGE_VERIFY_HINT.search(ckind) or "external_data" in text:
            lists["image_verification_enforced" if enforce
                  else "image_verification_audited"] = [label]
        else:
            _classify(lists, label, text, enforce=enforce)
            if enforce and re.search(r"repo|registr|tag|digest|image", ckind, re.IGNORECASE):
                lists.setdefault("image_reference_rules_enforced", []).append(label)
    row = _row("gatekeeper", ckind or "Constraint", meta, action, lists,
               "" if template else "its ConstraintTemplate was not collected")
    row["constraint_kind"] = ckind
    return row


def _vap_rows(frames: Frames) -> list[dict[str, Any]]:
    snap = frames.snapshot
    policies = {(p.get("metadata") or {}).get("name", ""): p
                for p in snap.iter_k8s(VAP_KEY[4:])}
    rows = []
    for b in snap.iter_k8s(VAPB_KEY[4:]):
        meta, spec = b.get("metadata") or {}, b.get("spec") or {}
        actions = [str(a) for a in spec.get("validationActions") or ()]
        policy = policies.get(spec.get("policyName") or "")
        label = f"{spec.get('policyName', '')} (binding {meta.get('name', '')})"
        lists: dict[str, list[str]] = {}
        note = ""
        if policy is None:
            note = f"binds ValidatingAdmissionPolicy {spec.get('policyName')!r}, which is absent"
        else:
            pspec = policy.get("spec") or {}
            rules = (pspec.get("matchConstraints") or {}).get("resourceRules") or ()
            if kinds_target_pods(r for rule in rules for r in rule.get("resources") or ()):
                _classify(lists, label, policy_text(pspec.get("validations") or []),
                          enforce="Deny" in actions)
        rows.append(_row("vap", "ValidatingAdmissionPolicyBinding", meta,
                         ",".join(actions) or "-", lists, note))
    return rows


def _sigstore_row(obj: dict[str, Any]) -> dict[str, Any]:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    mode = str(spec.get("mode") or "enforce")
    name = meta.get("name", "")
    globs = [str(i.get("glob", "")) for i in spec.get("images") or ()]
    key = "image_verification_enforced" if mode == "enforce" else "image_verification_audited"
    return _row("sigstore", "ClusterImagePolicy", meta, mode, {key: [name]},
                f"images {', '.join(globs)}" if globs else "")


def admission_gaps(frames: Frames, *, images: bool = False) -> list[str]:
    """Coverage problems that could hide an enforcing admission policy (``[]`` = none).

    ValidatingAdmissionPolicies and webhook configurations are built in: any gap counts. A
    policy engine's CRDs count only when its webhook is registered, or when webhook
    configurations themselves were not collected; a Gatekeeper ConstraintTemplate whose
    constraints were not collected is a gap too. ``not_found`` (CRD absent) is not a gap.
    With ``images``, the sigstore policy-controller (image verification only) counts too.
    """
    snap = frames.snapshot
    problems: list[str] = []

    def gap(key: str) -> None:
        cov = snap.coverage(key)
        if cov.status not in ("ok", "not_found"):
            text = cov.describe(key)
            if text not in problems:
                problems.append(text)

    for key in (VAP_KEY, VAPB_KEY, VWC_KEY):
        gap(key)
    webhooks_known = snap.coverage(VWC_KEY).ok
    engines = set(frames.admission_webhooks["engine"]) if webhooks_known else set()
    if not webhooks_known or "kyverno" in engines:
        for key in KYVERNO_KEYS:
            gap(key)
    if not webhooks_known or engines & {"gatekeeper", "ratify"}:
        gap(GATEKEEPER_TEMPLATES_KEY)
    if images and webhooks_known and "sigstore" in engines \
            and not snap.coverage(f"k8s/{SIGSTORE_RESOURCE}").ok:
        key = f"k8s/{SIGSTORE_RESOURCE}"
        problems.append(f"{snap.coverage(key).describe(key)}; the sigstore policy-controller "
                        "webhook is registered")
    if not frames.gaps(["admission_policies"]):
        pol = frames.admission_policies
        orphan = pol[(pol["kind"] == "ConstraintTemplate") & pol["constraints_collected"].eq(False)]
        for kind in orphan["constraint_kind"].dropna():
            problems.append(f"Gatekeeper constraints of kind {kind}: not collected (only the "
                            "ConstraintTemplate is visible)")
    return problems


def sigstore_namespaces(frames: Frames) -> list[str] | None:
    """Namespaces opted in to the sigstore policy-controller (None when namespaces are unknown)."""
    if frames.gaps(["namespaces"]):
        return None
    ns = frames.namespaces
    opted = ns["labels"].map(lambda labels: str(labels.get(SIGSTORE_INCLUDE_LABEL, "")).lower()
                             == "true")
    return sorted(ns.loc[opted, "name"])


# ------------------------------------------------------------------------------------------
# the running-image inventory: provenance, ECR settings, scan, CVEs, admission
# ------------------------------------------------------------------------------------------
# the verdicts of zt_toolkit.analysis.admission.evaluate_image_admission
ADMISSION_VERDICTS = ("blocked", "audit only", "not evaluated", "not covered", "unknown")
PROVENANCES = ("own-account ECR", "other-account ECR", "EKS add-on registry", "ECR Public",
               "Docker Hub", "other public registry", "other private registry", "unparseable")
# Registries that serve images to anonymous pulls (the rest are treated as private or unknown).
PUBLIC_REGISTRIES = frozenset({
    "ghcr.io", "quay.io", "registry.k8s.io", "k8s.gcr.io", "gcr.io", "mcr.microsoft.com",
    "nvcr.io", "cgr.dev", "registry.gitlab.com", "docker.elastic.co", "lscr.io",
    "registry.access.redhat.com", "gallery.ecr.aws",
})


def image_provenance(ref: ImageReference | None, home_account: str | None) -> str:
    """Where an image comes from, as one of :data:`PROVENANCES`.

    Examples
    --------
    >>> image_provenance(parse_image_reference("postgres:15"), "111122223333")
    'Docker Hub'
    >>> image_provenance(parse_image_reference(
    ...     "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.3"), "111122223333")
    'EKS add-on registry'
    """
    if ref is None:
        return "unparseable"
    if ref.is_ecr:
        if home_account and ref.ecr_account == home_account:
            return "own-account ECR"
        if ref.ecr_account in EKS_ADDON_REGISTRY_ACCOUNTS:
            return "EKS add-on registry"
        return "other-account ECR"
    if ref.is_ecr_public:
        return "ECR Public"
    if ref.is_docker_hub:
        return "Docker Hub"
    return "other public registry" if ref.registry in PUBLIC_REGISTRIES \
        else "other private registry"


def tag_kept_immutable(mode: Any, exclusions: Iterable[str], tag: str) -> bool:
    """Tell whether ECR keeps ``tag`` immutable under a repository's tag mutability setting."""
    mode = mode if isinstance(mode, str) else "MUTABLE"  # not reported: the ECR default
    excluded = any(ecr_filter_matches(f, tag) if "*" in f else f == tag
                   for f in exclusions or ())
    if mode == "IMMUTABLE":
        return True
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if mode == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return False


def scan_configuration_of(repository: str, scanning: pd.DataFrame | None,
                          scan_on_push: Any) -> tuple[str | None, str | None]:
    """``(scan type, frequency)`` that applies to an own-account repository.

    ENHANCED registries scan the repositories their rules match (SCAN_ON_PUSH or
    CONTINUOUS_SCAN) and no other (frequency ``none``); BASIC registries scan on push when a
    rule or the repository's ``scanOnPush`` says so, else only on demand (``MANUAL``). Unknown
    registry configuration: ``(None, None)``, or BASIC when the repository setting scans on push.
    """
    if scanning is None or scanning.empty:
        if scanning is not None or scan_on_push is True:
            return "BASIC", "SCAN_ON_PUSH" if scan_on_push is True else "MANUAL"
        return None, None
    scan_type = str(scanning["scan_type"].iloc[0])
    rule = registry_scan_rule_for(scanning, repository)
    if rule is not None:
        return rule[0], rule[1]
    if scan_type == "ENHANCED":
        return "ENHANCED", "none"
    return "BASIC", "SCAN_ON_PUSH" if scan_on_push is True else "MANUAL"


INVENTORY_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "container": "str", "image": "str",
    "digest": "string", "registry": "string", "repository": "string", "tag": "string",
    "ecr_account": "string", "source": "str", "pod_count": "int64", "provenance": "str",
    "tag_mutability": "string", "tag_immutable": "boolean",
    "scan_type": "string", "scan_frequency": "string", "scan_status": "string",
    "scan_source": "string", "matched_by": "string", "scan_state": "str",
    "completed_at": "datetime64[ns, UTC]",
    "scan_age_days": "Int64", "critical": "Int64", "high": "Int64", "medium": "Int64",
    "low": "Int64", "vulnerabilities": "object",
    "admission_verdict": "str", "admission_policies": "object", "admission_verifies": "object",
    "admission_detail": "str",
}
SCAN_STATES = ("scanned", "never scanned", "scan failed", "no scan record", "scans not collected",
               "not in the account's ECR", "unparseable")


@frame("image_inventory", sources=WORKLOAD_SOURCES, any_source=True,
       schema=pa.DataFrameSchema({
           "kind": pa.Column(str, description="owning workload kind"),
           "namespace": pa.Column(str), "name": pa.Column(str),
           "provenance": pa.Column(str, pa.Check.isin(PROVENANCES), description=(
               "own-account ECR, other-account ECR, EKS add-on registry, ECR Public, Docker Hub, "
               "other public registry, other private registry")),
           "scan_state": pa.Column(str, pa.Check.isin(SCAN_STATES), description=(
               "scanned (a COMPLETE/ACTIVE/expired result), never scanned (ScanNotFound), scan "
               "failed (other status or error), no scan record, scans not collected, or not in "
               "the account's ECR")),
           "scan_age_days": pa.Column("Int64", nullable=True, description=(
               "whole days between the scan (for ACTIVE enhanced results: the later of scan "
               "and vulnerability data) and the snapshot's collection")),
           "vulnerabilities": pa.Column(object, description=(
               "Vulnerability tuples of the running digest, most severe first")),
           "admission_verdict": pa.Column(str, pa.Check.isin(ADMISSION_VERDICTS), description=(
               "would admission have blocked this image in this namespace: blocked, audit "
               "only, not evaluated, not covered, unknown (see evaluate_image_admission)")),
       }))
def build_image_inventory(frames: Frames) -> pd.DataFrame:
    """One row per workload × container × running digest, with everything known about the image.

    Joins :func:`build_running_images` to the ECR repository (tag mutability, whether this tag
    stays immutable), the registry scanning configuration (basic or enhanced, scan on push /
    continuous / manual), the scan record of the running digest (:func:`scans_for_images`:
    status, completion time, age in days at collection, counts per severity, findings with
    fixed-in versions, ``scan_source`` ecr or inspector2) and the admission verdict
    (:class:`ImageAdmission`). ECR and scan data that were not collected leave their columns NA
    and ``scan_state`` says so; the frame itself needs only the workloads.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> from zt_toolkit.demo import build_demo
    >>> import tempfile, pathlib
    >>> a = assess(build_demo(pathlib.Path(tempfile.mkdtemp()) / "demo"))
    >>> inv = a.frames.image_inventory.set_index(["namespace", "name"])
    >>> row = inv.loc[("storefront", "frontend")]
    >>> int(row.critical), int(row.high), row.admission_verdict, row.admission_verifies
    (1, 2, 'blocked', ('signature',))
    """
    ri = frames.running_images
    account, _ = home_registry(frames)
    as_of = pd.to_datetime(frames.snapshot.manifest.collected_at, utc=True, format="ISO8601")
    scans_known = not frames.gaps(["image_scans"])
    if scans_known:
        joined = scans_for_images(ri, frames.image_scans, account)
    else:
        joined = ri.copy()
        for col in ("scan_status", "matched_by", "error_code", "status_description",
                    "scan_source"):
            joined[col] = pd.NA
        joined["completed_at"] = pd.NaT
        joined["vulnerability_source_updated_at"] = pd.NaT
        joined["severity_counts"] = None
        joined["vulnerabilities"] = None
    repos = None if frames.gaps(["ecr_repositories"]) else frames.ecr_repositories.set_index(
        "name")
    scanning = None if frames.gaps(["ecr_registry_scanning"]) else frames.ecr_registry_scanning
    from zt_toolkit.analysis.admission import ImageAdmission  # the engine reads these frames

    admission = ImageAdmission(frames)
    rows = []
    for r in joined.itertuples(index=False):
        ref = try_parse_image_reference(r.image)
        provenance = image_provenance(ref, account)
        own = provenance == "own-account ECR"
        mutability, immutable, scan_type, frequency = None, None, None, None
        if own and ref is not None:
            if repos is not None and r.repository in repos.index:
                repo = repos.loc[r.repository]
                mutability = repo["tag_mutability"] if isinstance(repo["tag_mutability"], str) \
                    else "MUTABLE"
                if ref.tag:
                    immutable = tag_kept_immutable(
                        mutability, repo["tag_mutability_exclusions"] or (), ref.tag)
                on_push = repo["scan_on_push"]
                scan_type, frequency = scan_configuration_of(
                    r.repository, scanning, bool(on_push) if pd.notna(on_push) else None)
            elif scanning is not None:
                scan_type, frequency = scan_configuration_of(r.repository, scanning, None)
        status = r.scan_status if isinstance(r.scan_status, str) else None
        counts = r.severity_counts if isinstance(r.severity_counts, dict) else {}
        has_result = status in SCAN_RESULT_STATUSES
        if ref is None:
            state = "unparseable"
        elif not own and status is None:
            state = "not in the account's ECR"
        elif not scans_known:
            state = "scans not collected"
        elif status is None:
            state = "no scan record"
        elif has_result:
            state = "scanned"
        elif status == NOT_SCANNED:
            state = "never scanned"
        else:
            state = "scan failed"
        fresh = r.completed_at
        if status == "ACTIVE" and pd.notna(r.vulnerability_source_updated_at) and (
                pd.isna(fresh) or r.vulnerability_source_updated_at > fresh):
            fresh = r.vulnerability_source_updated_at
        age = int((as_of - fresh) // pd.Timedelta(days=1)) if has_result and pd.notna(fresh) \
            and pd.notna(as_of) else None
        verdict = admission(r.namespace, r.image)
        rows.append({
            "kind": r.kind, "namespace": r.namespace, "name": r.name, "container": r.container,
            "image": r.image, "digest": r.digest, "registry": r.registry,
            "repository": r.repository, "tag": r.tag, "ecr_account": r.ecr_account,
            "source": r.source, "pod_count": int(r.pod_count), "provenance": provenance,
            "tag_mutability": mutability, "tag_immutable": immutable,
            "scan_type": scan_type, "scan_frequency": frequency, "scan_status": status,
            "scan_source": r.scan_source if isinstance(r.scan_source, str) else None,
            "matched_by": r.matched_by if isinstance(r.matched_by, str) else None,
            "scan_state": state,
            "completed_at": r.completed_at.isoformat() if pd.notna(r.completed_at) else None,
            "scan_age_days": age,
            **{s.lower(): (int(counts.get(s, 0)) if has_result else None)
               for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW")},
            "vulnerabilities": tuple(r.vulnerabilities or ()) if has_result else (),
            "admission_verdict": verdict.verdict, "admission_policies": verdict.policies,
            "admission_verifies": verdict.verifies, "admission_detail": verdict.detail,
        })
    df = from_rows(rows, {**INVENTORY_COLUMNS, "completed_at": "object"})
    df["completed_at"] = pd.to_datetime(df["completed_at"], utc=True, errors="coerce",
                                        format="ISO8601")
    return df
