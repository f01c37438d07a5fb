"""Live collection from the AWS account of an EKS cluster: boto3, read-only, driven by the data.

:func:`collect_aws` makes every call of :data:`~zt_toolkit.sources.catalog.AWS_OPERATIONS` and
writes each operation's records to the snapshot as ``aws/<service>/<operation>.json``::

    {"params": <the boto3 keyword arguments>, "response": <parsed, no ResponseMetadata>}
    {"params": ..., "error": {"code": ..., "message": ...}}

One record per call. Paginated calls are merged into one response (the result lists
concatenated, ``NextToken``/``Marker`` dropped, ``IsTruncated`` false). Datetimes are written as
ISO 8601 in UTC.

The calls follow the data: ``describe_cluster`` names the VPC, the security groups, the secrets
encryption key and the log group; the node groups name the node roles and launch templates;
add-ons and pod identity associations name more roles; the Kubernetes side (collected first)
names the IRSA roles (``role_arns``), the running images (``image_digests``) and the node
instances (``instance_ids``): see :func:`irsa_role_arns`, :func:`running_ecr_images` and
:func:`node_instance_ids`. Amazon Inspector's active findings on ECR container images
(``inspector2.list_findings`` with :data:`INSPECTOR_ECR_FILTER`) are listed for the whole
account and region, all pages merged into one record; the frames keep those of running digests.

What an error becomes:

* an error that is itself data (no repository policy, image never scanned, role named by an
  annotation but absent) is an error record, and the operation's coverage stays ``ok``;
* ``AccessDenied`` and kin make the operation ``forbidden`` in the manifest; the calls of the
  same operation that succeeded are still written (the denied ones as error records);
* any other failure (after the adaptive retries that absorb throttling) makes it ``error``;
* an operation whose input comes from a failed one is ``not_collected``, naming the cause;
* Amazon Inspector that is not enabled (its error message says so, whatever the code) makes
  ``inspector2/list_findings`` ``not_found``: there is nothing to list, and the image checks
  work from the ECR scan findings alone.

Nothing is ever raised for an AWS failure, and nothing the responses hold is logged. Every
action the collector needs is in ``deploy/assessor-iam-policy.json`` (a test proves it calls
nothing else): ``Describe*``/``Get*``/``List*`` calls, plus ``logs:StartQuery`` and
``logs:StopQuery``, which change nothing but are how CloudWatch Logs Insights reads the audit
log (a query still running at ``query_timeout`` is stopped: Insights bills by bytes scanned).
It never calls ``secretsmanager:GetSecretValue`` or ``kms:Decrypt``. Launch template
``UserData``, add-on ``configurationValues`` and Logs Insights result values pass through the
redaction module before they are written.
"""

from __future__ import annotations

import base64
import binascii
import copy
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import orjson
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from zt_toolkit import __version__
from zt_toolkit.snapshot import SnapshotWriter
from zt_toolkit.sources.catalog import AWS_OPERATIONS
from zt_toolkit.sources.redact import redact_text, redact_value

log = logging.getLogger(__name__)

#: ``progress(key, records, done)``: called once per catalog operation when it is settled
#: (``aws/eks/describe_cluster``, number of records written, True), the same signature as the
#: Kubernetes collector's; the status is in the manifest's coverage and in ``AwsCollection.gaps``.
Progress = Callable[[str, int, bool], None]

# ----- Logs Insights queries over the control plane's audit log ---------------------------------
_AUDIT_FIELDS = (
    "fields @timestamp, auditID, stage, user.username, user.groups.0, user.groups.1, "
    "impersonatedUser.username, verb, requestURI, objectRef.apiGroup, objectRef.resource, "
    "objectRef.subresource, objectRef.namespace, objectRef.name, responseStatus.code, "
    "sourceIPs.0, userAgent\n"
    "| filter @logStream like /^kube-apiserver-audit/\n"
)
_AUDIT_TAIL = "\n| sort @timestamp desc\n| limit 10000"

#: The named CloudWatch Logs Insights queries run over ``/aws/eks/<cluster>/cluster`` for the
#: last ``audit_days`` days. The names match the categories of the check
#: ``audit_suspicious_activity_absent``; the query texts are shown in the report. Baseline
#: principals (``system:*``, ``eks:*``) are filtered by the check, not by the queries, so that
#: the snapshot shows what was there.
AUDIT_QUERIES: dict[str, str] = {
    "pod_exec_attach": _AUDIT_FIELDS
    + '| filter objectRef.resource = "pods" and objectRef.subresource in '
    '["exec", "attach", "portforward"]' + _AUDIT_TAIL,
    "rbac_or_aws_auth_change": _AUDIT_FIELDS
    + '| filter verb in ["create", "update", "patch", "delete", "deletecollection"]\n'
    '| filter (objectRef.resource = "configmaps" and objectRef.namespace = "kube-system" '
    'and objectRef.name = "aws-auth") or (objectRef.apiGroup = "rbac.authorization.k8s.io" '
    'and objectRef.resource in ["roles", "rolebindings", "clusterroles", '
    '"clusterrolebindings"])' + _AUDIT_TAIL,
    "anonymous_request": _AUDIT_FIELDS
    + '| filter user.username = "system:anonymous" or user.groups.0 = '
    '"system:unauthenticated"' + _AUDIT_TAIL,
    "denied_secret_read": _AUDIT_FIELDS
    + '| filter objectRef.resource = "secrets" and verb in ["get", "list", "watch"] '
    "and responseStatus.code in [401, 403]" + _AUDIT_TAIL,
}
#: One line per query, for reports.
AUDIT_QUERY_TITLES: dict[str, str] = {
    "pod_exec_attach": "exec, attach and port-forward into pods",
    "rbac_or_aws_auth_change": "writes to kube-system/aws-auth and to RBAC objects",
    "anonymous_request": "requests by system:anonymous / system:unauthenticated",
    "denied_secret_read": "denied (401/403) reads of Secrets",
}
_QUERY_DONE = frozenset({"Complete", "Failed", "Cancelled", "Timeout", "Unknown"})

# ----- errors -----------------------------------------------------------------------------------
#: Error codes that mean "the assessor may not": the operation becomes ``forbidden``.
FORBIDDEN_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
    "AuthorizationError", "AuthorizationErrorException", "Forbidden", "ForbiddenException",
})
_ANY = "*"
#: Error codes that are data for an operation: written as an error record, coverage stays ok.
DATA_ERRORS: dict[tuple[str, str], frozenset[str]] = {
    ("eks", "describe_cluster"): frozenset({"ResourceNotFoundException"}),
    ("eks", "describe_nodegroup"): frozenset({"ResourceNotFoundException"}),
    ("eks", "describe_addon"): frozenset({"ResourceNotFoundException"}),
    # authenticationMode CONFIG_MAP: the cluster has no access entries API
    ("eks", "list_access_entries"): frozenset({"InvalidRequestException"}),
    ("eks", "describe_access_entry"): frozenset({"ResourceNotFoundException"}),
    ("eks", "list_associated_access_policies"): frozenset({"ResourceNotFoundException"}),
    ("eks", "describe_pod_identity_association"): frozenset({"ResourceNotFoundException"}),
    # a role named by an annotation or an add-on that does not exist is a finding
    ("iam", _ANY): frozenset({"NoSuchEntity"}),
    ("ec2", "describe_security_groups"): frozenset({"InvalidGroup.NotFound"}),
    ("ec2", "describe_launch_template_versions"): frozenset({
        "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.VersionNotFound",
        "InvalidLaunchTemplateId.Malformed"}),
    ("ecr", "get_repository_policy"): frozenset({
        "RepositoryPolicyNotFoundException", "RepositoryNotFoundException"}),
    ("ecr", "describe_image_scan_findings"): frozenset({
        "ScanNotFoundException", "ImageNotFoundException", "RepositoryNotFoundException"}),
    ("kms", _ANY): frozenset({"NotFoundException", "KMSInvalidStateException"}),
    ("cloudtrail", "get_trail_status"): frozenset({"TrailNotFoundException"}),
    ("logs", "start_query"): frozenset({
        "MalformedQueryException", "ResourceNotFoundException", "InvalidParameterException",
        "LimitExceededException"}),
    ("logs", "get_query_results"): frozenset({"ResourceNotFoundException"}),
}
#: What ``inspector2.list_findings`` is asked for: active findings on ECR container images.
INSPECTOR_ECR_FILTER: dict[str, list[dict[str, str]]] = {
    "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
    "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
}
# how AWS words "Inspector is off here" (AccessDeniedException or ValidationException)
_INSPECTOR_OFF = re.compile(
    r"not (?:been |yet )?enabled|isn't enabled|is disabled|not subscribed", re.IGNORECASE)
_TOKENS = ("NextToken", "nextToken", "Marker", "NextMarker")
_ROLE_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:\S*/)?(?P<name>[\w+=,.@-]{1,64})$")
_ECR_IMAGE = re.compile(
    r"^(?:[a-z-]+://)?(?P<registry>\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)"
    r"/(?P<repo>[^@:\s]+)(?::[^@\s]+)?@(?P<digest>sha256:[0-9a-f]{64})$"
)
_INSTANCE = re.compile(r"^aws:///[a-z0-9-]+/(?P<id>i-[0-9a-f]+)$")
_REFRESH_MARGIN = timedelta(minutes=5)
_CHUNK = 200  # values per EC2 filter / GroupIds list


@dataclass
class AwsCollection:
    """What :func:`collect_aws` did: the calls it made and the operations it could not collect."""

    account_id: str | None = None
    region: str | None = None
    caller_arn: str | None = None
    assumed_role_arn: str | None = None
    #: every (service, boto3 operation) called, in first-call order (``sts.assume_role`` and
    #: ``logs.stop_query`` included when they were made)
    calls: list[tuple[str, str]] = field(default_factory=list)
    #: coverage key -> (status, message) of every catalog operation that is not ``ok``
    gaps: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Logs Insights query name -> {"queryId", "status", "results"}
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: roles named by the inputs but not read (another account, not a role ARN)
    skipped_roles: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every catalog operation was collected."""
        return not self.gaps


# ----- inputs from the Kubernetes side ---------------------------------------------------------
def irsa_role_arns(service_accounts: Iterable[dict[str, Any]]) -> list[str]:
    """IAM role ARNs of the ``eks.amazonaws.com/role-arn`` annotations of ServiceAccounts."""
    out: dict[str, None] = {}
    for sa in service_accounts:
        arn = ((sa.get("metadata") or {}).get("annotations") or {}).get(
            "eks.amazonaws.com/role-arn")
        if isinstance(arn, str) and arn.strip():
            out[arn.strip()] = None
    return list(out)


def running_ecr_images(pods: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(registry host, repository, digest) of every ECR image that pods run, sorted, unique.

    The digest comes from the image reference when it is pinned (``repo@sha256:...``), else
    from the container status ``imageID`` (what the runtime pulled). Pass the result as
    ``image_digests`` to :func:`collect_aws`; it keeps the account's own registry.
    """
    found: set[tuple[str, str, str]] = set()
    for pod in pods:
        status = pod.get("status") or {}
        statuses = [s for key in ("initContainerStatuses", "containerStatuses",
                                  "ephemeralContainerStatuses")
                    for s in status.get(key) or ()]
        refs = [c.get("image") for key in ("initContainers", "containers",
                                           "ephemeralContainers")
                for c in (pod.get("spec") or {}).get(key) or ()]
        refs += [s.get("imageID") for s in statuses]
        for ref in refs:
            m = _ECR_IMAGE.match(ref) if isinstance(ref, str) else None
            if m:
                found.add((m["registry"], m["repo"], m["digest"]))
    return sorted(found)


def node_instance_ids(nodes: Iterable[dict[str, Any]]) -> list[str]:
    """EC2 instance ids of Nodes (``spec.providerID`` ``aws:///<az>/<instance id>``)."""
    out: dict[str, None] = {}
    for node in nodes:
        m = _INSTANCE.match(str((node.get("spec") or {}).get("providerID") or ""))
        if m:
            out[m["id"]] = None
    return list(out)


# ----- the collection --------------------------------------------------------------------------
def collect_aws(
    writer: SnapshotWriter,
    *,
    cluster_name: str,
    region: str | None = None,
    profile: str | None = None,
    role_arn: str | None = None,
    external_id: str | None = None,
    audit_days: int = 7,
    session: boto3.Session | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    role_arns: Iterable[str] | None = None,
    image_digests: Iterable[tuple[str, str] | tuple[str, str, str]] | None = None,
    instance_ids: Iterable[str] | None = None,
    max_workers: int = 8,
    query_timeout: float = 300.0,
    query_poll_interval: float = 1.0,
) -> AwsCollection:
    """Collect the AWS side of one EKS cluster into ``writer``; never raises for AWS failures.

    Parameters
    ----------
    writer
        The open snapshot (the Kubernetes side is usually written already).
    cluster_name, region, profile
        The cluster; the region and named profile of the boto3 session (ignored when
        ``session`` is given, except ``region`` which overrides the session's).
    role_arn, external_id
        Assume this role first (the usual cross-account set-up of a consultant), with this
        ExternalId; the session name is ``zt-toolkit-<UTC time>``. The credentials are renewed
        when they are about to expire.
    audit_days
        Window of the Logs Insights queries (:data:`AUDIT_QUERIES`), ending at ``now``.
    session
        A boto3 session to start from (tests register botocore event hooks on it).
    progress
        ``progress(key, records, done)``, called as each catalog operation is settled.
    now
        The end of the audit-log window and the time in the assume-role session name.
    role_arns
        IAM roles that pods assume through IRSA (:func:`irsa_role_arns` of the ServiceAccounts);
        node, add-on and pod identity roles are found on the AWS side.
    image_digests
        Running ECR images: ``(repository, digest)`` in the account's registry of ``region``,
        or ``(registry host, repository, digest)`` as :func:`running_ecr_images` returns
        (other registries are left out). ``None``: image scans are not collected.
    instance_ids
        EC2 instances of the Kubernetes nodes (:func:`node_instance_ids`); instances that the
        ``aws:eks:cluster-name`` tag does not find are described by id.
    max_workers
        Concurrent calls for per-item operations (boto3 clients are thread-safe; the adaptive
        retry mode slows down when AWS throttles).
    query_timeout, query_poll_interval
        How long to wait for the Logs Insights queries in total (then they are stopped and
        their partial results recorded with their status), and the first poll interval.

    Examples
    --------
    >>> with SnapshotWriter("snap", source="live", cluster={"name": "prod"}) as w:  # doctest: +SKIP
    ...     result = collect_aws(w, cluster_name="prod", region="eu-west-1",
    ...                          role_arn="arn:aws:iam::111122223333:role/zt-assessor",
    ...                          external_id="engagement-42")
    >>> result.gaps                                                         # doctest: +SKIP
    {}
    """
    started = time.monotonic()
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    result = AwsCollection()
    collector = _Collector(
        writer, result, cluster_name=cluster_name, now=now, progress=progress,
        max_workers=max_workers, query_timeout=query_timeout,
        query_poll_interval=query_poll_interval, audit_days=audit_days)
    try:
        base = session or boto3.Session(profile_name=profile, region_name=region)
        region = region or base.region_name
        if not region:
            collector.fail_all("error", "no AWS region: pass --region or set one in the profile")
            return result
        result.region = region
        collector.connect(base, region, role_arn, external_id)
        collector.identity()
        collector.run(
            role_arns=list(role_arns) if role_arns is not None else [],
            image_digests=list(image_digests) if image_digests is not None else None,
            instance_ids=list(instance_ids) if instance_ids is not None else [],
        )
    except _Fatal as exc:
        collector.fail_all(exc.status, exc.message)
    except BotoCoreError as exc:  # a profile that does not exist, no credentials
        collector.fail_all("error", f"{type(exc).__name__}: {exc}")
    finally:
        collector.close()
        result.elapsed_s = round(time.monotonic() - started, 3)
    return result


class _Fatal(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Outcome:
    kind: str  # ok | data | forbidden | error
    response: dict[str, Any] | None = None
    error: dict[str, str] | None = None


@dataclass
class _Op:
    service: str
    operation: str
    records: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=dict)  # forbidden|error -> messages
    skip_reason: str | None = None
    attempted: bool = False
    finished: bool = False

    @property
    def key(self) -> str:
        return f"aws/{self.service}/{self.operation}"

    @property
    def failed(self) -> str | None:
        """The failure status (forbidden, error) of a call; data errors do not count."""
        return next((s for s in ("forbidden", "error") if self.failures.get(s)), None)


class _Collector:
    def __init__(self, writer: SnapshotWriter, result: AwsCollection, *, cluster_name: str,
                 now: datetime, progress: Progress | None, max_workers: int,
                 query_timeout: float, query_poll_interval: float, audit_days: int) -> None:
        self.writer = writer
        self.result = result
        self.cluster_name = cluster_name
        self.now = now
        self.progress = progress
        self.audit_days = audit_days
        self.query_timeout = query_timeout
        self.query_poll_interval = query_poll_interval
        self.ops = {(op.service, op.operation): _Op(op.service, op.operation)
                    for op in AWS_OPERATIONS}
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_workers),
                                        thread_name_prefix="zt-aws")
        self._lock = threading.RLock()
        self._clients: dict[str, Any] = {}
        self._session: boto3.Session | None = None
        self._region = ""
        self._config: Config | None = None
        self._role: tuple[str, str | None] | None = None
        self._creds: dict[str, Any] | None = None
        self.cluster_problem: str | None = None

    # ----- clients and credentials --------------------------------------------------------------
    def connect(self, session: boto3.Session, region: str, role_arn: str | None,
                external_id: str | None) -> None:
        self._session = session
        self._region = region
        self._config = Config(
            region_name=region, retries={"mode": "adaptive", "max_attempts": 10},
            user_agent_extra=f"zt-toolkit/{__version__}", connect_timeout=10, read_timeout=60)
        if role_arn:
            self._role = (role_arn, external_id)
            self._assume()

    def _assume(self) -> None:
        assert self._session is not None and self._role is not None
        role_arn, external_id = self._role
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": f"zt-toolkit-{self.now:%Y%m%dT%H%M%SZ}",
            "DurationSeconds": 3600,
        }
        if external_id:
            params["ExternalId"] = external_id
        self._note_call("sts", "assume_role")
        sts = self._session.client("sts", config=self._config)
        try:
            creds = sts.assume_role(**params)["Credentials"]
        except ClientError as exc:
            code, message = _error_of(exc)
            status = "forbidden" if code in FORBIDDEN_CODES else "error"
            raise _Fatal(status, f"sts:AssumeRole on {role_arn} failed: {code}: "
                                 f"{message}") from None
        self._creds = creds
        self._clients.clear()
        self.result.assumed_role_arn = role_arn
        log.info("assumed role %s", role_arn)

    def client(self, service: str) -> Any:
        with self._lock:
            if self._creds is not None:
                expires = self._creds.get("Expiration")
                if isinstance(expires, datetime) and (
                        expires.astimezone(UTC) - datetime.now(UTC) < _REFRESH_MARGIN):
                    self._assume()
            if service not in self._clients:
                assert self._session is not None
                kwargs: dict[str, Any] = {"config": self._config}
                if self._creds is not None:
                    kwargs.update(aws_access_key_id=self._creds["AccessKeyId"],
                                  aws_secret_access_key=self._creds["SecretAccessKey"],
                                  aws_session_token=self._creds["SessionToken"])
                self._clients[service] = self._session.client(service, **kwargs)
            return self._clients[service]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for op in self.ops.values():
            if op.finished:
                continue
            if not op.attempted:
                op.failures.setdefault("error", []).append(
                    "not collected: an earlier failure stopped this part of the collection")
            self.finish(op.service, op.operation)

    # ----- calls --------------------------------------------------------------------------------
    def _note_call(self, service: str, operation: str) -> None:
        with self._lock:
            if (service, operation) not in self.result.calls:
                self.result.calls.append((service, operation))

    def attempt(self, service: str, operation: str, params: dict[str, Any]) -> _Outcome:
        """One call (all pages of it), classified; nothing recorded."""
        self._note_call(service, operation)
        log.debug("aws %s.%s", service, operation)
        try:
            client = self.client(service)
            if client.can_paginate(operation):
                response = _merge_pages(client.get_paginator(operation).paginate(**params))
            else:
                response = getattr(client, operation)(**params)
        except ClientError as exc:
            code, message = _error_of(exc)
            error = {"code": code, "message": message}
            if code in FORBIDDEN_CODES:
                return _Outcome("forbidden", error=error)
            data = DATA_ERRORS.get((service, operation)) or DATA_ERRORS.get((service, _ANY))
            return _Outcome("data" if data and code in data else "error", error=error)
        except _Fatal:
            raise
        except BotoCoreError as exc:
            return _Outcome("error", error={"code": type(exc).__name__, "message": str(exc)})
        response.pop("ResponseMetadata", None)
        response = _plain(response)
        sanitize = _SANITIZERS.get((service, operation))
        if sanitize:
            sanitize(response)
        return _Outcome("ok", response=response)

    def record(self, service: str, operation: str, params: dict[str, Any], outcome: _Outcome,
               **extra: Any) -> dict[str, Any] | None:
        op = self.ops[(service, operation)]
        op.attempted = True
        rec: dict[str, Any] = {**extra, "params": copy.deepcopy(params)}
        if outcome.kind == "ok":
            rec["response"] = outcome.response
        else:
            rec["error"] = outcome.error
            if outcome.kind in ("forbidden", "error"):
                err = outcome.error or {}
                op.failures.setdefault(outcome.kind, []).append(
                    f"{err.get('code')}: {err.get('message', '')}".rstrip(": "))
        op.records.append(rec)
        return outcome.response if outcome.kind == "ok" else None

    def call(self, service: str, operation: str, params: dict[str, Any],
             **extra: Any) -> dict[str, Any] | None:
        return self.record(service, operation, params, self.attempt(service, operation, params),
                           **extra)

    def call_many(self, service: str, operation: str,
                  params_list: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """Concurrent calls, recorded in the order of ``params_list``."""
        outcomes = list(self._pool.map(lambda p: self.attempt(service, operation, p),
                                       params_list))
        return [self.record(service, operation, p, o)
                for p, o in zip(params_list, outcomes, strict=True)]

    # ----- coverage -----------------------------------------------------------------------------
    def failed(self, service: str, operation: str) -> str | None:
        """Why the operation gave no usable data (forbidden, error, not_collected), else None."""
        op = self.ops[(service, operation)]
        if op.failed:
            return op.failed
        return "not_collected" if op.skip_reason and not op.attempted else None

    def skip(self, service: str, operation: str, reason: str) -> None:
        op = self.ops[(service, operation)]
        if not op.attempted and op.skip_reason is None:
            op.skip_reason = reason
        self.finish(service, operation)

    def skip_after(self, parent: tuple[str, str], *children: tuple[str, str]) -> bool:
        """Skip ``children`` when ``parent`` failed; True when they were skipped."""
        status = self.failed(*parent)
        if status is None:
            return False
        for child in children:
            self.skip(*child, f"needs aws/{parent[0]}/{parent[1]}, which was {status}")
        return True

    def finish(self, service: str, operation: str) -> None:
        op = self.ops[(service, operation)]
        if op.finished:
            return
        op.finished = True
        count: int | None = None
        if not op.attempted and (op.skip_reason or op.failed):
            status = "not_collected" if op.skip_reason else str(op.failed)
            message = op.skip_reason or op.failures[status][0]
            self.writer.record_gap(op.key, status, message)
            self.result.gaps[op.key] = (status, message)
        else:
            self.writer.write_aws(service, operation, op.records)
            count = len(op.records)
            status = op.failed or "ok"
            if status != "ok":
                messages = op.failures[status]
                message = (f"{len(messages)} of {len(op.records)} calls failed; first: "
                           f"{messages[0]}")[:500]
                self.writer.record_gap(op.key, status, message)
                self.result.gaps[op.key] = (status, message)
        log.info("%s: %s (%s records)", op.key, status, count)
        if self.progress:
            self.progress(op.key, count or 0, True)

    def fail_all(self, status: str, message: str) -> None:
        """Every operation not settled yet gets ``status`` (no credentials, no region ...)."""
        for op in self.ops.values():
            if not op.finished:
                self.gap(op.service, op.operation, status, message)

    def phase(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one phase; an unexpected exception settles its operations as ``error``."""
        try:
            return fn(*args)
        except _Fatal:
            raise
        except Exception as exc:  # never a crash: the other phases still run
            log.warning("AWS collection phase %s failed: %s", fn.__name__, type(exc).__name__)
            for op in self.ops.values():
                if op.attempted and not op.finished:
                    op.failures.setdefault("error", []).append(
                        f"internal error: {type(exc).__name__}: {exc}")
                    self.finish(op.service, op.operation)
            return None

    # ----- the phases ---------------------------------------------------------------------------
    def identity(self) -> None:
        outcome = self.attempt("sts", "get_caller_identity", {})
        if outcome.kind != "ok":
            err = outcome.error or {}
            raise _Fatal("forbidden" if outcome.kind == "forbidden" else "error",
                         f"sts:GetCallerIdentity failed (no usable credentials?): "
                         f"{err.get('code')}: {err.get('message')}")
        self.record("sts", "get_caller_identity", {}, outcome)
        self.finish("sts", "get_caller_identity")
        ident = outcome.response or {}
        self.result.account_id = ident.get("Account")
        self.result.caller_arn = ident.get("Arn")
        cluster = self.writer.manifest.cluster
        cluster.account_id = cluster.account_id or self.result.account_id
        cluster.region = cluster.region or self._region

    def run(self, *, role_arns: list[str], image_digests: list[tuple[str, ...]] | None,
            instance_ids: list[str]) -> None:
        cluster = self.phase(self.eks_cluster) or {}
        nodegroups = self.phase(self.eks_nodegroups) or []
        addons = self.phase(self.eks_addons) or []
        self.phase(self.eks_access_entries)
        associations = self.phase(self.eks_pod_identity) or []
        roles = [ng.get("nodeRole") for ng in nodegroups]
        roles += [a.get("serviceAccountRoleArn") for a in addons]
        roles += [a.get("roleArn") for a in associations]
        roles += role_arns
        self.phase(self.iam, [r for r in roles if isinstance(r, str) and r])
        instances = self.phase(self.ec2_instances, instance_ids) or []
        templates = self.phase(self.ec2_launch_templates, nodegroups, instances) or []
        self.phase(self.ec2_security_groups, cluster, nodegroups, instances, templates)
        self.phase(self.ec2_flow_logs, cluster)
        self.phase(self.ecr, image_digests)
        self.phase(self.inspector)
        self.phase(self.kms, cluster)
        self.phase(self.secrets)
        self.phase(self.logs)
        self.phase(self.guardduty)
        self.phase(self.cloudtrail)

    def need(self, parent: tuple[str, str], children: tuple[tuple[str, str], ...],
             have_input: bool) -> bool:
        """Whether ``children`` can run: they have input, or ``parent`` did not fail.

        Children without input whose parent failed are settled as ``not_collected``.
        """
        if have_input or self.failed(*parent) is None:
            return True
        self.skip_after(parent, *children)
        return False

    def need_cluster(self, children: tuple[tuple[str, str], ...], have_input: bool) -> bool:
        """Like :meth:`need`, for inputs that come from ``describe_cluster``."""
        if have_input or not self.cluster_problem:
            return True
        for child in children:
            self.skip(*child, self.cluster_problem)
        return False

    def gap(self, service: str, operation: str, status: str, message: str) -> None:
        """Settle an operation that was not called as ``status``."""
        op = self.ops[(service, operation)]
        op.finished = True
        self.writer.record_gap(op.key, status, message)
        self.result.gaps[op.key] = (status, message)
        if self.progress:
            self.progress(op.key, 0, True)

    def eks_cluster(self) -> dict[str, Any] | None:
        resp = self.call("eks", "describe_cluster", {"name": self.cluster_name})
        self.finish("eks", "describe_cluster")
        if resp is None:
            status = self.failed("eks", "describe_cluster") or "not found"
            self.cluster_problem = f"needs aws/eks/describe_cluster, which was {status}"
            return None
        cluster = resp.get("cluster") or {}
        info = self.writer.manifest.cluster
        info.arn = info.arn or cluster.get("arn")
        info.version = info.version or cluster.get("version")
        return cluster

    def _list_then_describe(self, list_op: str, key: str, describe_ops: tuple[str, ...],
                            param: str, body: str | None) -> list[dict[str, Any]]:
        children = tuple(("eks", d) for d in describe_ops)
        if self.cluster_problem and not self.failed("eks", "describe_cluster"):
            # the cluster does not exist: there is nothing to list
            for op in (("eks", list_op), *children):
                self.skip(*op, f"EKS cluster {self.cluster_name!r} was not found")
            return []
        cn = {"clusterName": self.cluster_name}
        listed = self.call("eks", list_op, cn)
        self.finish("eks", list_op)
        if listed is None:
            if not self.skip_after(("eks", list_op), *children):
                for child in children:  # a data error (no access entries API): nothing to read
                    self.finish(*child)
            return []
        items = listed.get(key) or []
        names = [i[param] if isinstance(i, dict) else i for i in items]
        described: list[dict[str, Any]] = []
        for op in describe_ops:
            responses = self.call_many("eks", op, [{**cn, param: n} for n in names])
            self.finish("eks", op)
            if body:
                described = [r[body] for r in responses if r and isinstance(r.get(body), dict)]
        return described

    def eks_nodegroups(self) -> list[dict[str, Any]]:
        return self._list_then_describe("list_nodegroups", "nodegroups", ("describe_nodegroup",),
                                        "nodegroupName", "nodegroup")

    def eks_addons(self) -> list[dict[str, Any]]:
        return self._list_then_describe("list_addons", "addons", ("describe_addon",),
                                        "addonName", "addon")

    def eks_access_entries(self) -> None:
        self._list_then_describe("list_access_entries", "accessEntries",
                                 ("describe_access_entry", "list_associated_access_policies"),
                                 "principalArn", None)

    def eks_pod_identity(self) -> list[dict[str, Any]]:
        return self._list_then_describe(
            "list_pod_identity_associations", "associations",
            ("describe_pod_identity_association",), "associationId", "association")

    def iam(self, role_arns: list[str]) -> None:
        names: dict[str, None] = {}
        for arn in role_arns:
            m = _ROLE_ARN.match(arn)
            if m is None or (self.result.account_id and m["account"] != self.result.account_id):
                if arn not in self.result.skipped_roles:
                    self.result.skipped_roles.append(arn)
                continue
            names[m["name"]] = None
        roles = self.call_many("iam", "get_role", [{"RoleName": n} for n in names])
        self.finish("iam", "get_role")
        found = [n for n, r in zip(names, roles, strict=True) if r]
        per_role = (("iam", "list_attached_role_policies"), ("iam", "list_role_policies"),
                    ("iam", "get_role_policy"), ("iam", "get_policy"),
                    ("iam", "get_policy_version"))
        if not self.need(("iam", "get_role"), per_role, bool(found)):
            return
        attached = self.call_many("iam", "list_attached_role_policies",
                                  [{"RoleName": n} for n in found])
        self.finish("iam", "list_attached_role_policies")
        inline = self.call_many("iam", "list_role_policies", [{"RoleName": n} for n in found])
        self.finish("iam", "list_role_policies")
        inline_names = [{"RoleName": n, "PolicyName": p}
                        for n, r in zip(found, inline, strict=True) if r
                        for p in r.get("PolicyNames") or ()]
        if self.need(("iam", "list_role_policies"), (("iam", "get_role_policy"),),
                     bool(inline_names)):
            self.call_many("iam", "get_role_policy", inline_names)
            self.finish("iam", "get_role_policy")
        arns = list(dict.fromkeys(p["PolicyArn"] for r in attached if r
                                  for p in r.get("AttachedPolicies") or () if p.get("PolicyArn")))
        if not self.need(("iam", "list_attached_role_policies"),
                         (("iam", "get_policy"), ("iam", "get_policy_version")), bool(arns)):
            return
        policies = self.call_many("iam", "get_policy", [{"PolicyArn": a} for a in arns])
        self.finish("iam", "get_policy")
        versions = [{"PolicyArn": a, "VersionId": p["Policy"]["DefaultVersionId"]}
                    for a, p in zip(arns, policies, strict=True)
                    if p and (p.get("Policy") or {}).get("DefaultVersionId")]
        if self.need(("iam", "get_policy"), (("iam", "get_policy_version"),), bool(versions)):
            self.call_many("iam", "get_policy_version", versions)
            self.finish("iam", "get_policy_version")

    def ec2_instances(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        resp = self.call("ec2", "describe_instances", {"Filters": [
            {"Name": "tag:aws:eks:cluster-name", "Values": [self.cluster_name]}]})
        instances = _instances(resp)
        seen = {i.get("InstanceId") for i in instances}
        missing = [i for i in dict.fromkeys(instance_ids) if i not in seen]
        for chunk in _chunks(missing, _CHUNK):  # nodes that the EKS tag does not name
            instances += _instances(self.call("ec2", "describe_instances", {"Filters": [
                {"Name": "instance-id", "Values": chunk}]}))
        self.finish("ec2", "describe_instances")
        return instances

    def ec2_launch_templates(self, nodegroups: list[dict[str, Any]],
                             instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        wanted: dict[str, dict[str, None]] = {}
        for ng in nodegroups:
            lt = ng.get("launchTemplate") or {}
            if lt.get("id"):
                wanted.setdefault(lt["id"], {})[str(lt.get("version") or "$Default")] = None
        for inst in instances:
            tags = {t.get("Key"): t.get("Value") for t in inst.get("Tags") or ()}
            if tags.get("aws:ec2launchtemplate:id"):
                wanted.setdefault(tags["aws:ec2launchtemplate:id"], {})[
                    str(tags.get("aws:ec2launchtemplate:version") or "$Default")] = None
        if not self.need(("eks", "describe_nodegroup"),
                         (("ec2", "describe_launch_template_versions"),), bool(wanted)):
            return []
        out = []
        for lt_id, versions in wanted.items():
            resp = self.call("ec2", "describe_launch_template_versions",
                             {"LaunchTemplateId": lt_id, "Versions": list(versions)})
            out += (resp or {}).get("LaunchTemplateVersions") or ()
        self.finish("ec2", "describe_launch_template_versions")
        return out

    def ec2_security_groups(self, cluster: dict[str, Any], nodegroups: list[dict[str, Any]],
                            instances: list[dict[str, Any]],
                            templates: list[dict[str, Any]]) -> None:
        vpc = cluster.get("resourcesVpcConfig") or {}
        ids: list[Any] = [vpc.get("clusterSecurityGroupId"), *(vpc.get("securityGroupIds") or ())]
        ids += [(ng.get("resources") or {}).get("remoteAccessSecurityGroup") for ng in nodegroups]
        for inst in instances:
            ids += [g.get("GroupId") for g in inst.get("SecurityGroups") or ()]
            ids += [g.get("GroupId") for eni in inst.get("NetworkInterfaces") or ()
                    for g in eni.get("Groups") or ()]
        for ver in templates:
            data = ver.get("LaunchTemplateData") or {}
            ids += list(data.get("SecurityGroupIds") or ())
            ids += [g for eni in data.get("NetworkInterfaces") or ()
                    for g in eni.get("Groups") or ()]
        groups = [g for g in dict.fromkeys(ids) if isinstance(g, str) and g]
        if not self.need_cluster((("ec2", "describe_security_groups"),), bool(groups)):
            return
        for chunk in _chunks(groups, _CHUNK):
            params = {"GroupIds": chunk}
            outcome = self.attempt("ec2", "describe_security_groups", params)
            if outcome.kind == "data" and len(chunk) > 1:
                # one group is gone: describe them one by one to tell which
                self.call_many("ec2", "describe_security_groups",
                               [{"GroupIds": [g]} for g in chunk])
            else:
                self.record("ec2", "describe_security_groups", params, outcome)
        self.finish("ec2", "describe_security_groups")

    def ec2_flow_logs(self, cluster: dict[str, Any]) -> None:
        vpc_id = (cluster.get("resourcesVpcConfig") or {}).get("vpcId")
        if not vpc_id:
            self.skip("ec2", "describe_flow_logs",
                      self.cluster_problem or "describe_cluster named no vpcId")
            return
        self.call("ec2", "describe_flow_logs",
                  {"Filter": [{"Name": "resource-id", "Values": [vpc_id]}]})
        self.finish("ec2", "describe_flow_logs")

    def ecr(self, image_digests: list[tuple[str, ...]] | None) -> None:
        self.call("ecr", "get_registry_scanning_configuration", {})
        self.finish("ecr", "get_registry_scanning_configuration")
        repos = self.call("ecr", "describe_repositories", {})
        self.finish("ecr", "describe_repositories")
        if not self.skip_after(("ecr", "describe_repositories"), ("ecr", "get_repository_policy")):
            self.call_many("ecr", "get_repository_policy", [
                {"repositoryName": r["repositoryName"]}
                for r in (repos or {}).get("repositories") or () if r.get("repositoryName")])
            self.finish("ecr", "get_repository_policy")
        if image_digests is None:
            self.skip("ecr", "describe_image_scan_findings",
                      "no running images were given (the Kubernetes pods were not read)")
            return
        mine = self._registry_hosts()
        images: set[tuple[str, str]] = set()
        for item in image_digests:
            if len(item) == 3:
                if item[0] in mine:
                    images.add((item[1], item[2]))
            elif len(item) == 2:
                images.add((item[0], item[1]))
        self.call_many("ecr", "describe_image_scan_findings", [
            {"repositoryName": repo, "imageId": {"imageDigest": digest}}
            for repo, digest in sorted(images)])
        self.finish("ecr", "describe_image_scan_findings")

    def inspector(self) -> None:
        """Active Inspector findings on ECR images: one paginated, read-only call."""
        params = {"filterCriteria": copy.deepcopy(INSPECTOR_ECR_FILTER)}
        outcome = self.attempt("inspector2", "list_findings", params)
        err = outcome.error or {}
        if outcome.kind in ("forbidden", "error") and _INSPECTOR_OFF.search(
                str(err.get("message") or "")):
            self.gap("inspector2", "list_findings", "not_found",
                     f"Amazon Inspector is not enabled in this account and region "
                     f"({err.get('code')}: {err.get('message')}): no Inspector findings; "
                     "the ECR scan findings are used alone")
            return
        self.record("inspector2", "list_findings", params, outcome)
        self.finish("inspector2", "list_findings")

    def _registry_hosts(self) -> set[str]:
        account, region = self.result.account_id, self._region
        suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
        return {f"{account}.dkr.ecr.{region}{suffix}", f"{account}.dkr.ecr-fips.{region}{suffix}"}

    def kms(self, cluster: dict[str, Any]) -> None:
        keys = list(dict.fromkeys(
            (e.get("provider") or {}).get("keyArn") for e in cluster.get("encryptionConfig") or ()
            if (e.get("provider") or {}).get("keyArn")))
        if not self.need_cluster((("kms", "describe_key"), ("kms", "get_key_rotation_status")),
                                 bool(keys)):
            return
        for op in ("describe_key", "get_key_rotation_status"):
            self.call_many("kms", op, [{"KeyId": k} for k in keys])
            self.finish("kms", op)

    def secrets(self) -> None:
        self.call("secretsmanager", "list_secrets", {})
        self.finish("secretsmanager", "list_secrets")

    def logs(self) -> None:
        group = f"/aws/eks/{self.cluster_name}/cluster"
        resp = self.call("logs", "describe_log_groups", {"logGroupNamePrefix": group})
        self.finish("logs", "describe_log_groups")
        queries = (("logs", "start_query"), ("logs", "get_query_results"))
        if self.skip_after(("logs", "describe_log_groups"), *queries):
            return
        if not any(g.get("logGroupName") == group for g in (resp or {}).get("logGroups") or ()):
            message = (f"log group {group} does not exist: control-plane logging was never "
                       "enabled, so there is no audit log to query")
            for service, operation in queries:
                self.gap(service, operation, "not_found", message)
            return
        end = int(self.now.timestamp())
        start = end - self.audit_days * 86400
        running: dict[str, str] = {}
        for name, query in AUDIT_QUERIES.items():
            params = {"logGroupName": group, "startTime": start, "endTime": end,
                      "queryString": query}
            started = self.call("logs", "start_query", params, name=name)
            if started and started.get("queryId"):
                running[name] = started["queryId"]
                self.result.queries[name] = {"queryId": started["queryId"], "status": None,
                                             "results": None}
        self.finish("logs", "start_query")
        self._poll(running)
        self.finish("logs", "get_query_results")

    def _poll(self, running: dict[str, str]) -> None:
        """Wait (bounded) for the queries; record each one's final get_query_results."""
        deadline = time.monotonic() + self.query_timeout
        interval = self.query_poll_interval
        last: dict[str, _Outcome] = {}
        while running:
            for name, query_id in list(running.items()):
                outcome = self.attempt("logs", "get_query_results", {"queryId": query_id})
                last[name] = outcome
                status = (outcome.response or {}).get("status")
                if outcome.kind != "ok" or status in _QUERY_DONE:
                    self._record_query(name, query_id, outcome)
                    del running[name]
            remaining = deadline - time.monotonic()
            if not running:
                break
            if remaining <= 0:
                for name, query_id in running.items():  # stop them: Insights bills per byte
                    log.warning("Logs Insights query %s still running after %ss; stopped",
                                name, self.query_timeout)
                    self.attempt("logs", "stop_query", {"queryId": query_id})
                    self._record_query(name, query_id, last[name])
                break
            time.sleep(max(0.0, min(interval, remaining)))
            interval = min(interval * 1.5, 10.0)

    def _record_query(self, name: str, query_id: str, outcome: _Outcome) -> None:
        self.record("logs", "get_query_results", {"queryId": query_id}, outcome, name=name)
        resp = outcome.response or {}
        self.result.queries[name] = {
            "queryId": query_id, "status": resp.get("status") or outcome.kind,
            "results": len(resp.get("results") or ()) if outcome.response else None}

    def guardduty(self) -> None:
        resp = self.call("guardduty", "list_detectors", {})
        self.finish("guardduty", "list_detectors")
        if self.skip_after(("guardduty", "list_detectors"), ("guardduty", "get_detector")):
            return
        self.call_many("guardduty", "get_detector",
                       [{"DetectorId": d} for d in (resp or {}).get("DetectorIds") or ()])
        self.finish("guardduty", "get_detector")

    def cloudtrail(self) -> None:
        resp = self.call("cloudtrail", "describe_trails", {})
        self.finish("cloudtrail", "describe_trails")
        if self.skip_after(("cloudtrail", "describe_trails"), ("cloudtrail", "get_trail_status")):
            return
        self.call_many("cloudtrail", "get_trail_status", [
            {"Name": t.get("TrailARN") or t.get("Name")}
            for t in (resp or {}).get("trailList") or () if t.get("TrailARN") or t.get("Name")])
        self.finish("cloudtrail", "get_trail_status")


# ----- helpers ---------------------------------------------------------------------------------
def _error_of(exc: ClientError) -> tuple[str, str]:
    err = exc.response.get("Error") or {}
    return str(err.get("Code") or "Unknown"), str(err.get("Message") or exc)


def _merge_pages(pages: Any) -> dict[str, Any]:
    """All pages of a paginated call as one response: result lists concatenated, tokens gone."""
    merged: dict[str, Any] | None = None
    for page in pages:
        if merged is None:
            merged = dict(page)
            continue
        for expression in pages.result_keys:
            path = expression.expression.split(".")
            value = _dig(page, path)
            if value is None:
                continue
            existing = _dig(merged, path)
            if isinstance(existing, list) and isinstance(value, list):
                existing.extend(value)
            elif existing is None:
                target = merged
                for key in path[:-1]:
                    target = target.setdefault(key, {})
                target[path[-1]] = value
    merged = merged or {}
    for token in _TOKENS:
        merged.pop(token, None)
    if "IsTruncated" in merged:
        merged["IsTruncated"] = False
    return merged


def _dig(obj: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _plain(value: Any) -> Any:
    """A parsed response made JSON-ready: datetimes as ISO 8601 in UTC, bytes as base64."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _instances(resp: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [i for r in (resp or {}).get("Reservations") or () for i in r.get("Instances") or ()]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _redact_user_data(version: dict[str, Any]) -> None:
    """Credentials in a launch template's UserData (a bootstrap script) are redacted in place."""
    data = version.get("LaunchTemplateData") or {}
    raw = data.get("UserData")
    if not isinstance(raw, str) or not raw:
        return
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return  # gzip or MIME multipart: binary, left as it is
    clean = redact_text("UserData", text)
    if clean is not None:
        data["UserData"] = base64.b64encode(clean.encode("utf-8")).decode("ascii")


def _redact_config(text: str) -> str | None:
    """Credentials in add-on configurationValues (JSON or YAML text); None when there are none."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return redact_text("configurationValues", text)
    found = False

    def walk(node: Any, key: str) -> Any:
        nonlocal found
        if isinstance(node, dict):
            return {k: walk(v, str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str) and (marker := redact_value(key, node)) is not None:
            found = True
            return marker
        return node

    clean = walk(doc, "")
    return orjson.dumps(clean).decode() if found else None


def _sanitize_addon(response: dict[str, Any]) -> None:
    addon = response.get("addon") or {}
    values = addon.get("configurationValues")
    if isinstance(values, str) and (clean := _redact_config(values)) is not None:
        addon["configurationValues"] = clean


def _sanitize_launch_templates(response: dict[str, Any]) -> None:
    for version in response.get("LaunchTemplateVersions") or ():
        _redact_user_data(version)


def _sanitize_query_results(response: dict[str, Any]) -> None:
    for row in response.get("results") or ():
        for cell in row:
            value = cell.get("value")
            if isinstance(value, str) and (
                    clean := redact_text(str(cell.get("field") or ""), value)) is not None:
                cell["value"] = clean


#: Responses that may hold a credential are redacted before anything else sees them.
_SANITIZERS: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("eks", "describe_addon"): _sanitize_addon,
    ("ec2", "describe_launch_template_versions"): _sanitize_launch_templates,
    ("logs", "get_query_results"): _sanitize_query_results,
}
