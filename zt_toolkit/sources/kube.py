"""Live collection from a Kubernetes API server: read-only, paginated, nothing secret kept.

:func:`collect_kubernetes` lists every resource of the catalog
(:data:`zt_toolkit.sources.catalog.KUBE_RESOURCES`) once, cluster-wide, and writes it into a
:class:`~zt_toolkit.snapshot.SnapshotWriter` page by page:

* **GET only.** Discovery (``/version``, ``/api``, ``/api/v1``, ``/apis``, then
  ``/apis/<group>/<version>`` for the groups the catalog reads), then one LIST chain per
  resource (``?limit=N``, then ``?limit=N&continue=...`` until the server says done). Nothing
  else is ever sent; ``deploy/assessor-clusterrole.yaml`` grants exactly this.
* **Bounded memory.** Responses are read as raw bytes through the ``kubernetes`` client's
  transport (its kubeconfig, TLS, token refresh and proxy handling), parsed with orjson with the
  garbage collector paused, redacted and appended to the snapshot file one page at a time; no
  client model object is ever built.
* **Nothing secret.** Secrets are listed as ``PartialObjectMetadataList`` (the API server sends
  metadata only, so no value crosses the wire); should a server ignore that request and send
  whole Secrets, everything but metadata is dropped before writing. Every other item goes through
  :func:`~zt_toolkit.sources.redact.redact_object` (env values, ConfigMap values, arguments,
  probe headers, ``last-applied-configuration``); ``managedFields`` are dropped.
* **Honest coverage.** A 403 becomes ``forbidden`` (with the API server's own message), a 404 or
  a resource the server does not serve ``not_found`` (optional CRDs are looked up in discovery
  first, so an absent one costs no request), anything else ``error``; one failing resource never
  stops the others. 429 and 5xx answers and dropped connections are retried with exponential
  backoff and jitter (``Retry-After`` honoured); a continue token that expired (410) restarts
  that resource's list once.

Only the credentials themselves are fatal: a 401 on ``/version`` or an unreachable server raises
:class:`KubeCollectionError` naming the server, before anything is written.

Logging (``zt_toolkit.sources.kube``): one INFO line per resource (count, pages, seconds),
WARNING for gaps; never an item, a value or a token.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson
import yaml

from zt_toolkit import __version__
from zt_toolkit.errors import ZtError
from zt_toolkit.snapshot import Coverage, SnapshotWriter, gc_paused
from zt_toolkit.sources.catalog import KUBE_RESOURCES, KubeResource
from zt_toolkit.sources.redact import redact_object, secret_metadata

__all__ = [
    "PARTIAL_METADATA_ACCEPT",
    "KubeCollection",
    "KubeCollectionError",
    "KubeTarget",
    "Progress",
    "ResourceResult",
    "RetryPolicy",
    "collect_kubernetes",
    "kube_target",
]

log = logging.getLogger(__name__)

#: Asks for metadata only; the plain JSON fallback lets a server without the feature answer
#: (its Secrets are then stripped to metadata before anything is written).
PARTIAL_METADATA_ACCEPT = (
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
)
JSON_ACCEPT = "application/json"
USER_AGENT = f"zt-toolkit/{__version__} (read-only assessment)"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
UNREACHABLE_LIMIT = 2  # consecutive resources lost to connection failures before giving up

#: ``progress(resource, items_so_far, done)``: called after every page and once when a
#: resource is finished (``done=True``, also for gaps, then with the items read so far).
Progress = Callable[[str, int, bool], None]


class KubeCollectionError(ZtError):
    """The API server cannot be used at all (bad kubeconfig, bad credentials, unreachable)."""

    def __init__(self, where: str, problem: str, status: int | None = None) -> None:
        self.where = where
        self.problem = problem
        self.status = status
        super().__init__(f"{where}: {problem}")


# ----- results ----------------------------------------------------------------------------------
@dataclass
class ResourceResult:
    """What happened to one catalog resource."""

    key: str
    status: str  # ok | forbidden | not_found | error
    count: int = 0
    pages: int = 0
    seconds: float = 0.0
    api_version: str = ""  # the version listed (it may differ from the catalog's, see message)
    message: str = ""
    redacted: int = 0  # values replaced by redaction markers


@dataclass
class KubeCollection:
    """The outcome of :func:`collect_kubernetes`."""

    server: str
    context: str | None = None
    git_version: str | None = None  # ``v1.30.6-eks-7f9249a``
    version: str | None = None  # ``1.30``
    resources: dict[str, ResourceResult] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        """Items written per collected resource."""
        return {k: r.count for k, r in self.resources.items() if r.status == "ok"}

    @property
    def gaps(self) -> dict[str, ResourceResult]:
        """Resources not collected (forbidden, not_found, error)."""
        return {k: r for k, r in self.resources.items() if r.status != "ok"}

    def requests_per_path(self) -> Counter[str]:
        """How many requests went to each path (query strings left out)."""
        return Counter(path.partition("?")[0] for _, path in self.requests)


@dataclass
class RetryPolicy:
    """Retries of 429/5xx answers and dropped connections: exponential backoff, jitter."""

    attempts: int = 5  # in total, the first try included
    base: float = 0.5  # seconds before the first retry (before jitter)
    cap: float = 20.0  # longest backoff
    max_retry_after: float = 60.0  # longest ``Retry-After`` obeyed
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[float, float], float] = random.uniform

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt ``attempt`` (1-based): half fixed, half random."""
        delay = min(self.cap, self.base * 2 ** (attempt - 1))
        return delay / 2 + self.jitter(0, delay / 2)


@dataclass
class KubeTarget:
    """Which cluster a kubeconfig (or the pod's service account) points at."""

    server: str
    context: str | None = None
    cluster: str | None = None  # the kubeconfig's cluster entry name (an ARN for EKS)
    eks_name: str | None = None
    eks_region: str | None = None
    eks_account_id: str | None = None
    eks_arn: str | None = None


# ----- configuration ----------------------------------------------------------------------------
_EKS_ARN = re.compile(r"arn:aws[a-z-]*:eks:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                      r"cluster/(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)")


def _load_config(kubeconfig: str | None, context: str | None, in_cluster: bool,
                 ) -> tuple[Any, KubeTarget]:
    from kubernetes import client, config

    cfg = client.Configuration()
    where = ("in-cluster service account" if in_cluster
             else f"kubeconfig {kubeconfig or os.environ.get('KUBECONFIG') or '~/.kube/config'}")
    target_context = target_cluster = None
    exec_args: list[str] = []
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=cfg)
        else:
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
            chosen = next((c for c in contexts if c.get("name") == context), None) if context \
                else active
            if context and chosen is None:
                names = ", ".join(sorted(c.get("name", "?") for c in contexts))
                raise KubeCollectionError(where, f"no context {context!r} (it has: {names})")
            target_context = (chosen or {}).get("name")
            target_cluster = ((chosen or {}).get("context") or {}).get("cluster")
            exec_args = _exec_args(kubeconfig, ((chosen or {}).get("context") or {}).get("user"))
            config.load_kube_config(config_file=kubeconfig, context=context,
                                    client_configuration=cfg, persist_config=False)
    except KubeCollectionError:
        raise
    except Exception as exc:  # ConfigException, OSError, YAML errors, exec plugin failures
        raise KubeCollectionError(where, f"cannot be loaded ({type(exc).__name__}: {exc})") \
            from exc
    target = KubeTarget(server=cfg.host, context=target_context, cluster=target_cluster)
    _fill_eks(target, exec_args)
    return cfg, target


def _exec_args(kubeconfig: str | None, user: str | None) -> list[str]:
    """The exec plugin arguments of a kubeconfig user (``aws eks get-token --cluster-name X``)."""
    if not user:
        return []
    given = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    for name in given.split(os.pathsep):
        try:
            doc = yaml.safe_load(Path(name).expanduser().read_text())
        except (OSError, yaml.YAMLError):
            continue  # a hint only: the real loader has reported real problems already
        for entry in (doc or {}).get("users") or ():
            if isinstance(entry, dict) and entry.get("name") == user:
                exec_cfg = (entry.get("user") or {}).get("exec") or {}
                return [str(a) for a in exec_cfg.get("args") or ()]
    return []


def _fill_eks(target: KubeTarget, args: list[str]) -> None:
    m = _EKS_ARN.search(target.cluster or "")
    if m:
        target.eks_arn = m[0]
        target.eks_name, target.eks_region, target.eks_account_id = (
            m["name"], m["region"], m["account"])
    for flag, attr in (("--cluster-name", "eks_name"), ("--cluster-id", "eks_name"),
                       ("--region", "eks_region")):
        if flag in args[:-1] and getattr(target, attr) is None:
            setattr(target, attr, args[args.index(flag) + 1])


def kube_target(kubeconfig: str | None = None, context: str | None = None,
                in_cluster: bool = False) -> KubeTarget:
    """Read which API server (and EKS cluster, when the kubeconfig says) a collection would use.

    Nothing is sent over the network. For a kubeconfig written by ``aws eks
    update-kubeconfig`` the cluster entry is the cluster's ARN and ``eks_name``, ``eks_region``
    and ``eks_account_id`` are filled in; the CLI can name the snapshot from them.
    """
    return _load_config(kubeconfig, context, in_cluster)[1]


# ----- transport --------------------------------------------------------------------------------
class _Transport(Protocol):
    server: str

    def get(self, path: str, query: list[tuple[str, str]], accept: str,
            ) -> tuple[int, Mapping[str, str], bytes]: ...

    def close(self) -> None: ...


class _ClientTransport:
    """GET through ``kubernetes.client.ApiClient``: its auth, TLS and proxies; raw bytes back."""

    def __init__(self, cfg: Any, timeout: tuple[float, float]) -> None:
        from kubernetes import client

        cfg.retries = 0  # retries are ours (RetryPolicy): counted, logged, with backoff
        self.api = client.ApiClient(configuration=cfg)
        self.api.user_agent = USER_AGENT
        self.server = cfg.host
        self.timeout = timeout

    def get(self, path: str, query: list[tuple[str, str]], accept: str,
            ) -> tuple[int, Mapping[str, str], bytes]:
        headers = {"Accept": accept}
        if hasattr(self.api, "param_serialize"):  # the openapi-generator 7 client (v37)
            method, url, headers, _, _ = self.api.param_serialize(
                "GET", path, query_params=query, header_params=headers,
                auth_settings=["BearerToken"])
            resp = self.api.call_api(method, url, header_params=headers,
                                     _request_timeout=self.timeout)
            return resp.status, resp.headers, resp.read()
        from kubernetes.client.exceptions import ApiException  # older clients: raise on 4xx/5xx

        try:
            resp = self.api.call_api(path, "GET", query_params=query, header_params=headers,
                                     auth_settings=["BearerToken"], _preload_content=False,
                                     _return_http_data_only=True, _request_timeout=self.timeout)
        except ApiException as exc:
            if not exc.status:
                raise
            body = exc.body if isinstance(exc.body, bytes) else str(exc.body or "").encode()
            return exc.status, exc.headers or {}, body
        return resp.status, resp.headers, resp.data

    def close(self) -> None:
        self.api.close()


class _Unreachable(Exception):
    """The server did not answer (connection refused, TLS failure, timeout) after retries."""


class _ApiFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _transport_errors() -> tuple[type[BaseException], ...]:
    import urllib3
    from kubernetes.client.exceptions import ApiException

    return (urllib3.exceptions.HTTPError, OSError, ApiException)


def _status_message(body: bytes, limit: int = 300) -> str:
    """The ``message`` of a Kubernetes ``Status`` body (never anything else of a body)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    message = doc.get("message") if isinstance(doc, dict) else None
    if not isinstance(message, str):
        return ""
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After") if headers else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# ----- the collector ----------------------------------------------------------------------------
@dataclass
class _Discovery:
    """What the server serves: ``groups`` None when /apis could not be read (then just try)."""

    core: set[str] | None = None
    groups: dict[str, list[str]] | None = None  # group -> served versions, preferred first
    resources: dict[str, set[str] | None] = field(default_factory=dict)  # gv -> plurals


class _Collector:
    def __init__(self, transport: _Transport, writer: SnapshotWriter, result: KubeCollection,
                 *, page_size: int, retry: RetryPolicy, progress: Progress | None,
                 compress: bool) -> None:
        self.transport = transport
        self.writer = writer
        self.result = result
        self.page_size = page_size
        self.retry = retry
        self.progress = progress
        self.compress = compress
        self.discovery = _Discovery()
        self.opened = False  # the current resource's list file exists
        self.unreachable = False  # the last resource was lost to connection failures

    # -- HTTP with retries
    def get(self, path: str, query: list[tuple[str, str]] | None = None,
            accept: str = JSON_ACCEPT) -> tuple[int, bytes]:
        query = query or []
        shown = path + ("?" + "&".join(f"{k}={'...' if k == 'continue' else v}"
                                       for k, v in query) if query else "")
        errors = _transport_errors()
        for attempt in range(1, self.retry.attempts + 1):
            self.result.requests.append(("GET", _with_query(path, query)))
            try:
                status, headers, body = self.transport.get(path, query, accept)
            except errors as exc:
                cause = getattr(exc, "reason", None)  # urllib3's MaxRetryError wraps the cause
                cause = cause if isinstance(cause, BaseException) else exc
                problem = f"{type(cause).__name__}: {_short(cause)}"
                if attempt == self.retry.attempts or "CERTIFICATE_VERIFY_FAILED" in str(exc):
                    raise _Unreachable(problem) from exc
                delay = self.retry.backoff(attempt)
                log.info("GET %s: %s; retry %d/%d in %.1f s", shown, problem, attempt,
                         self.retry.attempts - 1, delay)
                self.retry.sleep(delay)
                continue
            log.debug("GET %s -> %d (%d bytes)", shown, status, len(body))
            if status in RETRYABLE_STATUS and attempt < self.retry.attempts:
                after = _retry_after(headers)
                delay = (min(after, self.retry.max_retry_after) if after is not None
                         else self.retry.backoff(attempt))
                log.info("GET %s -> %d; retry %d/%d in %.1f s%s", shown, status, attempt,
                         self.retry.attempts - 1, delay,
                         " (Retry-After)" if after is not None else "")
                self.retry.sleep(delay)
                continue
            return status, body
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def get_json(self, path: str) -> Any | None:
        """A discovery document, or None when it cannot be read (the caller then just tries)."""
        try:
            status, body = self.get(path)
        except _Unreachable:
            return None
        if status != 200:
            log.info("discovery %s -> %d %s", path, status, _status_message(body))
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return None

    # -- discovery
    def version(self) -> None:
        """GET /version: the one request whose failure ends the collection."""
        server = self.transport.server
        try:
            status, body = self.get("/version")
        except _Unreachable as exc:
            raise KubeCollectionError(
                f"Kubernetes API server {server}", f"unreachable ({exc})") from exc
        if status == 401:
            raise KubeCollectionError(
                f"Kubernetes API server {server}",
                "401 Unauthorized: the credentials were rejected (expired or wrong token, or an "
                "identity the cluster does not map); check the kubeconfig user", status=401)
        if status != 200:
            log.warning("GET /version -> %d %s; the Kubernetes version stays unknown", status,
                        _status_message(body))
            return
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return
        self.result.git_version = doc.get("gitVersion")
        major, minor = str(doc.get("major", "")), re.sub(r"\D", "", str(doc.get("minor", "")))
        if not (major.isdigit() and minor):
            m = re.match(r"v?(\d+)\.(\d+)", self.result.git_version or "")
            major, minor = (m[1], m[2]) if m else ("", "")
        if major and minor:
            self.result.version = f"{major}.{minor}"

    def discover(self) -> None:
        core = self.get_json("/api/v1")
        if isinstance(core, dict):
            self.discovery.core = {r.get("name") for r in core.get("resources") or ()}
        apis = self.get_json("/apis")
        if not isinstance(apis, dict):
            return
        groups: dict[str, list[str]] = {}
        for g in apis.get("groups") or ():
            versions = [v.get("version") for v in g.get("versions") or () if v.get("version")]
            preferred = (g.get("preferredVersion") or {}).get("version")
            if preferred in versions:
                versions.remove(preferred)
                versions.insert(0, preferred)
            groups[g.get("name", "")] = versions
        self.discovery.groups = groups

    def served_plurals(self, group: str, version: str) -> set[str] | None:
        gv = f"{group}/{version}"
        if gv not in self.discovery.resources:
            doc = self.get_json(f"/apis/{gv}")
            self.discovery.resources[gv] = (
                {r.get("name") for r in doc.get("resources") or ()}
                if isinstance(doc, dict) else None)
        return self.discovery.resources[gv]

    def resolve(self, res: KubeResource) -> tuple[str | None, str]:
        """The version to list ``res`` at, or None and why the server does not serve it."""
        plural, version = res.key.partition(".")[0], res.api_version.rpartition("/")[2]
        if not res.group:
            if self.discovery.core is None or plural in self.discovery.core:
                return version, ""
            return None, f"the server's core API ({version}) does not serve {plural}"
        groups = self.discovery.groups
        if groups is None:
            return version, ""  # discovery unreadable: let the LIST decide
        if res.group not in groups:
            what = "its CustomResourceDefinition is not installed" if res.optional \
                else "the API group is not served by this cluster"
            return None, f"API group {res.group} is not served: {what}"
        served = groups[res.group]
        candidates = [version] + [v for v in served if v != version]
        for candidate in candidates:
            if candidate not in served:
                continue
            plurals = self.served_plurals(res.group, candidate)
            if plurals is None and candidate == version:
                return version, ""  # this version's discovery failed: let the LIST decide
            if plurals and plural in plurals:
                return candidate, ""
        return None, (f"API group {res.group} (versions {', '.join(served)}) does not serve "
                      f"{plural}")

    # -- lists
    def collect(self, res: KubeResource) -> ResourceResult:
        started = time.perf_counter()
        version, why = self.resolve(res)
        if version is None:
            result = ResourceResult(res.key, "not_found", message=why)
        else:
            result = self.list_resource(res, version)
        result.seconds = time.perf_counter() - started
        if self.progress:
            self.progress(res.key, result.count, True)
        return result

    def list_resource(self, res: KubeResource, version: str) -> ResourceResult:
        plural = res.key.partition(".")[0]
        api_version = f"{res.group}/{version}" if res.group else version
        path = f"/apis/{api_version}/{plural}" if res.group else f"/api/{version}/{plural}"
        result = ResourceResult(res.key, "ok", api_version=api_version)
        if api_version != res.api_version:
            result.message = f"listed at {api_version} (the catalog reads {res.api_version})"
        self.opened = self.unreachable = False
        try:
            for attempt in (1, 2):
                try:
                    self.list_chain(res, path, api_version, result)
                    break
                except _ApiFailure as exc:
                    if exc.status != 410 or attempt == 2:
                        raise
                    log.info("k8s/%s: continue token expired (410) after %d items; "
                             "restarting the list once", res.key, result.count)
                    result.count = result.pages = result.redacted = 0
        except (_ApiFailure, _Unreachable) as exc:
            if self.opened:  # no partial list left behind: an empty one, and the gap
                with self.writer.k8s_list(res.key, kind=res.list_kind,
                                          api_version=api_version, compress=self.compress):
                    pass
            if isinstance(exc, _Unreachable):
                self.unreachable = True
                status, message = "error", f"API server unreachable ({exc})"
            else:
                status = {403: "forbidden", 404: "not_found"}.get(exc.status, "error")
                reason = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                          410: "Expired twice", 429: "Too Many Requests"}.get(exc.status, "")
                message = f"{exc.status} {reason}".rstrip() + (
                    f": {exc.message}" if exc.message else "")
            if result.count:
                message += f" (after {result.count} items; none kept)"
            return ResourceResult(res.key, status, result.count, result.pages,
                                  api_version=api_version, message=message)
        return result

    def page(self, path: str, token: str | None, accept: str) -> dict[str, Any]:
        query = [("limit", str(self.page_size))]
        if token:
            query.append(("continue", token))
        status, body = self.get(path, query, accept)
        if status != 200:
            raise _ApiFailure(status, _status_message(body))
        try:
            with gc_paused():
                doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _ApiFailure(status, f"the response is not JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise _ApiFailure(status, "the response is not a List object")
        return doc

    def list_chain(self, res: KubeResource, path: str, api_version: str,
                   result: ResourceResult) -> None:
        """One LIST chain into the snapshot, page by page."""
        secrets = res.key == "secrets"
        accept = PARTIAL_METADATA_ACCEPT if secrets else JSON_ACCEPT
        doc = self.page(path, None, accept)  # the first page before any file: 403s leave none
        if secrets:
            kind, list_version = "PartialObjectMetadataList", "meta.k8s.io/v1"
        else:
            kind, list_version = res.list_kind, api_version
        whole_secrets = False
        self.opened = True
        with self.writer.k8s_list(res.key, kind=kind, api_version=list_version,
                                  compress=self.compress) as lw:
            while True:
                items = doc.get("items") or []
                with gc_paused():
                    if secrets:
                        if doc.get("kind") != "PartialObjectMetadataList":
                            whole_secrets = True
                        items = [secret_metadata(it) for it in items if isinstance(it, dict)]
                    else:
                        result.redacted += _redact_items(items, res.kind, api_version)
                    lw.add(items)
                result.count += len(items)
                result.pages += 1
                if self.progress:
                    self.progress(res.key, result.count, False)
                token = (doc.get("metadata") or {}).get("continue")
                del doc, items
                if not token:
                    break
                doc = self.page(path, token, accept)
        if whole_secrets:
            result.message = ("the API server ignored the metadata-only request and sent whole "
                              "Secrets; everything but metadata was dropped before writing")
            log.warning("k8s/secrets: %s", result.message)
            self.writer.manifest.coverage[f"k8s/{res.key}"] = Coverage(
                "ok", result.count, result.message)
        elif result.message:
            self.writer.manifest.coverage[f"k8s/{res.key}"] = Coverage(
                "ok", result.count, result.message)


def _redact_items(items: list[Any], kind: str, api_version: str) -> int:
    """Redact list items in place (built-in kinds arrive without kind/apiVersion)."""
    found = 0
    for item in items:
        if not isinstance(item, dict):
            continue
        bare = "kind" not in item
        if bare:
            item["kind"], item["apiVersion"] = kind, api_version
        found += len(redact_object(item))
        if bare:
            del item["kind"], item["apiVersion"]
    return found


def _with_query(path: str, query: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def collect_kubernetes(
    writer: SnapshotWriter,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool = False,
    page_size: int = 500,
    progress: Progress | None = None,
    resources: tuple[KubeResource, ...] = KUBE_RESOURCES,
    retry: RetryPolicy | None = None,
    timeout: tuple[float, float] = (10.0, 120.0),
    compress: bool = False,
) -> KubeCollection:
    """Collect the catalog's Kubernetes resources into ``writer`` (read-only, page by page).

    Parameters
    ----------
    writer
        The snapshot being written; one ``k8s/<resource>.json`` per collected resource and a
        coverage entry for every resource of ``resources`` (ok, forbidden, not_found, error).
        ``writer.manifest.cluster.version`` is set from ``/version`` unless already set.
    kubeconfig, context
        Kubeconfig file (default: ``$KUBECONFIG`` or ``~/.kube/config``) and context (default:
        its current context). Exec plugins (``aws eks get-token``) work as with kubectl.
    in_cluster
        Use the pod's service account instead (running as a Job inside the cluster).
    page_size
        Items per LIST request (``limit``); 500 is what kubectl uses.
    progress
        ``progress(resource, items_so_far, done)``, see :data:`Progress`.
    resources, retry, timeout, compress
        What to list (default: the whole catalog), the retry policy, (connect, read) timeouts in
        seconds, and whether list files are gzipped.

    Raises
    ------
    KubeCollectionError
        The kubeconfig cannot be loaded, the server is unreachable, or it rejects the
        credentials (401). Nothing has been written to ``writer`` then. Every other failure is
        a coverage entry, never an exception.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    started = time.perf_counter()
    cfg, target = _load_config(kubeconfig, context, in_cluster)
    transport = _ClientTransport(cfg, timeout)
    result = KubeCollection(server=target.server, context=target.context)
    collector = _Collector(transport, writer, result, page_size=page_size,
                           retry=retry or RetryPolicy(), progress=progress, compress=compress)
    try:
        collector.version()
        collector.discover()
        lost = 0
        for res in resources:
            if lost >= UNREACHABLE_LIMIT:
                outcome = ResourceResult(res.key, "error", message=(
                    "not attempted: the API server stopped answering"))
                if progress:
                    progress(res.key, 0, True)
            else:
                collector.unreachable = False
                outcome = collector.collect(res)
                lost = lost + 1 if collector.unreachable else 0
            result.resources[res.key] = outcome
            if outcome.status == "ok":
                log.info("k8s/%s: %d items, %d page(s), %.2f s%s", res.key, outcome.count,
                         outcome.pages, outcome.seconds,
                         f", {outcome.redacted} value(s) redacted" if outcome.redacted else "")
            else:
                writer.record_gap(f"k8s/{res.key}", outcome.status, outcome.message)
                log.log(logging.INFO if outcome.status == "not_found" else logging.WARNING,
                        "k8s/%s: %s (%s)", res.key, outcome.status, outcome.message)
    finally:
        transport.close()
    if result.version and not writer.manifest.cluster.version:
        writer.manifest.cluster.version = result.version
    result.seconds = time.perf_counter() - started
    log.info("Kubernetes: %d resources collected, %d gaps, %d requests in %.1f s",
             len(result.counts), len(result.gaps), len(result.requests), result.seconds)
    return result
