"""A loopback Kubernetes API server: recorded lists served at the real REST paths over HTTPS.

No kube-apiserver can run in the test environment, so this one replays List objects (from a
snapshot directory or from dicts) well enough for the real ``kubernetes`` Python client and a
real ``kubectl`` to talk to it unchanged:

* TLS with a throw-away CA (``trustme``), bearer-token auth (a bad token gets a 401 ``Status``);
* discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/<g>/<v>`` (APIResourceLists
  with verbs and short names, so ``kubectl get po -A`` resolves);
* lists cluster-wide (``/api/v1/pods``, ``/apis/<g>/<v>/<res>``) and per namespace
  (``/api/v1/namespaces/<ns>/pods``), single objects by name, ``limit``/``continue`` paging with
  ``remainingItemCount`` (the continue token is an opaque base64 offset);
* ``Accept: ...;as=PartialObjectMetadataList;...`` answered with metadata only, for any resource;
  without it Secrets come back whole, with ``data``: which is why the collector must ask;
* faults per resource (:class:`Fault`): a 403 ``Status`` for one kind, one 429 with
  ``Retry-After`` then success, a 500 once, a 410 ``Expired`` continue token;
* a request log (:attr:`KubeApiServer.requests`) so that tests assert what the client sent;
  anything but GET is answered 405 and logged.

Items are encoded to bytes once, at construction; a page is ``head + b",".join(items) + tail``,
so the server keeps up with a 50,000-pod collection.

``canaries=True`` (the default of :meth:`KubeApiServer.from_snapshot`) plants secret values the
collector must never write: every redaction marker of the recorded data is replaced by a
credential-shaped value of its kind (env values such as ``AWS_SECRET_ACCESS_KEY``, the ConfigMap
password), Secrets get real ``data``, and a Secret and a ConfigMap carry a
``last-applied-configuration`` annotation holding their data (it survives metadata-only listing,
so the collector must drop it). :attr:`KubeApiServer.canaries` lists every planted value.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import re
import socket
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import trustme
import yaml

from zt_toolkit.snapshot import Snapshot
from zt_toolkit.sources.catalog import KUBE_BY_KEY

DEFAULT_TOKEN = "zt-test-token-6f1d0c4e9b2a"
DEFAULT_GIT_VERSION = "v1.30.6-eks-7f9249a"
CANARY = "ZTCANARY"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

SHORT_NAMES: dict[str, tuple[str, ...]] = {
    "namespaces": ("ns",), "nodes": ("no",), "pods": ("po",), "serviceaccounts": ("sa",),
    "services": ("svc",), "configmaps": ("cm",), "persistentvolumes": ("pv",),
    "deployments.apps": ("deploy",), "replicasets.apps": ("rs",),
    "statefulsets.apps": ("sts",), "daemonsets.apps": ("ds",), "cronjobs.batch": ("cj",),
    "networkpolicies.networking.k8s.io": ("netpol",), "ingresses.networking.k8s.io": ("ing",),
    "storageclasses.storage.k8s.io": ("sc",),
    "customresourcedefinitions.apiextensions.k8s.io": ("crd", "crds"),
    "clusterpolicies.kyverno.io": ("cpol",), "policies.kyverno.io": ("pol",),
    "externalsecrets.external-secrets.io": ("es",),
    "clustersecretstores.external-secrets.io": ("css",),
    "securitygrouppolicies.vpcresources.k8s.aws": ("sgp",),
    "ciliumnetworkpolicies.cilium.io": ("cnp", "ciliumnp"),
}
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 410: "Expired", 429: "TooManyRequests",
            500: "InternalError", 503: "ServiceUnavailable"}
_MARKER = re.compile(rb"<redacted:zt kind=([a-z0-9_]+) len=(\d+) sha256=([0-9a-f]{12})>")


# ----- what is served ---------------------------------------------------------------------------
@dataclass
class ServedResource:
    """One resource at one group/version, its items encoded once."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    items: list[bytes]
    namespaces: list[str]  # per item; "" for cluster-scoped objects
    names: list[str]
    short_names: tuple[str, ...] = ()
    _meta_items: list[bytes] | None = field(default=None, repr=False)
    _by_name: dict[tuple[str, str], int] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, key: str, objects: Iterable[dict[str, Any]], *, version: str | None = None,
              kind: str | None = None, namespaced: bool | None = None) -> ServedResource:
        """Encode ``objects`` for the catalog resource ``key`` (or a custom one, given kind)."""
        plural, _, group = key.partition(".")
        cat = KUBE_BY_KEY.get(key)
        if cat is None and (kind is None or version is None or namespaced is None):
            raise ValueError(f"{key} is not in the catalog: pass version, kind and namespaced")
        version = version or cat.api_version.rpartition("/")[2]
        recorded = cat.api_version if cat else None
        served = f"{group}/{version}" if group else version
        items, namespaces, names = [], [], []
        for obj in objects:
            if recorded and recorded != served and obj.get("apiVersion") == recorded:
                obj = {**obj, "apiVersion": served}  # the server converts to the version asked
            meta = obj.get("metadata") or {}
            items.append(orjson.dumps(obj))
            namespaces.append(meta.get("namespace") or "")
            names.append(meta.get("name") or "")
        return cls(group=group, version=version, plural=plural,
                   kind=kind or cat.kind, namespaced=cat.namespaced if namespaced is None
                   else namespaced, items=items, namespaces=namespaces, names=names,
                   short_names=SHORT_NAMES.get(key, ()))

    @property
    def key(self) -> str:
        """Catalog key: ``pods``, ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_version(self) -> str:
        """``v1`` or ``apps/v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def meta_items(self) -> list[bytes]:
        """The items as PartialObjectMetadata (what ``as=PartialObjectMetadataList`` returns)."""
        if self._meta_items is None:
            self._meta_items = [
                orjson.dumps({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                              "metadata": orjson.loads(item).get("metadata") or {}})
                for item in self.items
            ]
        return self._meta_items

    def index(self, namespace: str, name: str) -> int | None:
        """Position of one object."""
        if self._by_name is None:
            self._by_name = {(ns, n): i for i, (ns, n)
                             in enumerate(zip(self.namespaces, self.names, strict=True))}
        return self._by_name.get((namespace, name))

    def api_resource(self) -> dict[str, Any]:
        """This resource's entry in an APIResourceList."""
        entry: dict[str, Any] = {"name": self.plural, "singularName": self.kind.lower(),
                                 "namespaced": self.namespaced, "kind": self.kind,
                                 "verbs": list(ALL_VERBS)}
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        return entry


@dataclass
class Fault:
    """A failure the server answers instead of a list page.

    ``status`` 403/404/410/429/500/503; ``times`` how often it fires (None: always); ``page``
    which page of a LIST chain it hits (0: the first request, None: any).
    """

    status: int
    times: int | None = 1
    page: int | None = 0
    retry_after: str | None = None
    message: str | None = None


@dataclass
class LoggedRequest:
    """One request as the server saw it (the token itself is never kept)."""

    method: str
    path: str
    query: dict[str, str]
    accept: str
    user_agent: str
    authorized: bool
    status: int = 0


# ----- canaries ---------------------------------------------------------------------------------
def canary_for(kind: str, tag: str) -> str:
    """A credential-shaped value of ``kind`` that contains ``ZTCANARY`` (deterministic per tag)."""
    seed = hashlib.sha256(f"{kind}:{tag}".encode()).hexdigest()
    if kind == "aws_access_key_id":
        return ("AKIA" + CANARY + seed.upper())[:20]
    if kind == "aws_secret_access_key":
        return (CANARY + seed + seed)[:40]
    if kind == "private_key":  # assembled, so that secret scanners do not flag this file
        label = "PRIVATE" + " KEY"
        return f"-----BEGIN {label}-----\n{CANARY}{seed}\n-----END {label}-----\n"
    if kind == "jwt":
        return f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ6dC1jYW5hcnkifQ.{CANARY}{seed[:24]}"
    if kind == "github_token":
        return ("ghp_" + CANARY + seed)[:40]
    if kind == "bearer_token":
        return f"Bearer {CANARY}{seed[:24]}"
    return f"{CANARY}-{kind}-{seed[:16]}"


class _Planter:
    """Replaces redaction markers by canaries and fabricates Secret data; remembers each value."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def plant(self, kind: str, tag: str) -> str:
        value = canary_for(kind, tag)
        self.values.add(value)
        return value

    def markers(self, encoded: bytes) -> bytes:
        if b"<redacted:zt" not in encoded:
            return encoded

        def swap(m: re.Match[bytes]) -> bytes:
            kind = m[1].decode()
            return orjson.dumps(self.plant(kind, m[3].decode()))[1:-1]  # JSON-escaped

        return _MARKER.sub(swap, encoded)

    def secret(self, item: dict[str, Any], last_applied: bool) -> dict[str, Any]:
        """A full Secret (type, data) from a PartialObjectMetadata item."""
        meta = copy.deepcopy(item.get("metadata") or {})
        ns, name = meta.get("namespace", ""), meta.get("name", "")
        tag = f"{ns}/{name}"
        annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        if "kubernetes.io/service-account.name" in annotations:
            kind = "kubernetes.io/service-account-token"
            data = {"token": self.plant("jwt", tag), "namespace": ns,
                    "ca.crt": self.plant("ca", tag)}
        elif labels.get("owner") == "helm":
            kind, data = "helm.sh/release.v1", {"release": self.plant("helm_release", tag)}
        elif "tls" in name:
            kind = "kubernetes.io/tls"
            data = {"tls.crt": self.plant("certificate", tag),
                    "tls.key": self.plant("private_key", tag)}
        else:
            kind = "Opaque"
            data = {"username": "app", "password": self.plant("password", tag)}
        if last_applied:
            applied = {"apiVersion": "v1", "kind": "Secret", "type": kind,
                       "metadata": {"name": name, "namespace": ns},
                       "stringData": {"password": self.plant("password", tag + "/applied")}}
            meta.setdefault("annotations", {})[LAST_APPLIED] = orjson.dumps(applied).decode()
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        return {"metadata": meta, "type": kind, "data": encoded}

    def config_map_last_applied(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Add a last-applied annotation repeating the ConfigMap's data with a live password."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        tag = f"{meta.get('namespace')}/{meta.get('name')}"
        data = dict(obj.get("data") or {})
        data["DB_PASSWORD"] = self.plant("password", tag + "/applied")
        applied = {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                   "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")}}
        meta.setdefault("annotations", {})[LAST_APPLIED] = orjson.dumps(applied).decode()
        return obj


def _encode_resource(key: str, objects: Iterable[dict[str, Any]], planter: _Planter | None,
                     version: str | None) -> ServedResource:
    if planter is None:
        return ServedResource.build(key, objects, version=version)
    if key == "secrets":
        objects = [planter.secret(obj, last_applied=i == 0) for i, obj in enumerate(objects)]
    elif key == "configmaps":
        objects = [planter.config_map_last_applied(obj)
                   if (obj.get("metadata") or {}).get("name") == "app-config" else obj
                   for obj in objects]
    res = ServedResource.build(key, objects, version=version)
    res.items = [planter.markers(item) for item in res.items]
    return res


# ----- the server -------------------------------------------------------------------------------
class KubeApiServer:
    """Serve recorded Kubernetes lists on ``https://127.0.0.1:<free port>``.

    >>> with KubeApiServer.from_snapshot(demo) as api:                  # doctest: +SKIP
    ...     kubeconfig = api.write_kubeconfig(tmp / "kubeconfig")
    ...     collect(kubeconfig)
    ...     assert {r.method for r in api.requests} == {"GET"}
    """

    def __init__(
        self,
        resources: Iterable[ServedResource],
        *,
        token: str = DEFAULT_TOKEN,
        git_version: str = DEFAULT_GIT_VERSION,
        faults: Mapping[str, Fault | Sequence[Fault]] | None = None,
        honour_metadata_accept: bool = True,
        canaries: Iterable[str] = (),
    ) -> None:
        self.resources: dict[str, ServedResource] = {}
        self.by_gv: dict[str, dict[str, ServedResource]] = {}
        for res in resources:
            self.resources[res.key] = res
            self.by_gv.setdefault(res.group_version, {})[res.plural] = res
        self.token = token
        self.git_version = git_version
        self.honour_metadata_accept = honour_metadata_accept
        self.canaries = sorted(set(canaries))
        self._lock = threading.Lock()
        self.faults: dict[str, list[Fault]] = {}
        for key, given in (faults or {}).items():
            self.set_fault(key, *([given] if isinstance(given, Fault) else given))
        self.requests: list[LoggedRequest] = []
        self.resource_version = "2100000"
        self._ca = trustme.CA()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- construction
    @classmethod
    def from_objects(cls, objects: Mapping[str, Iterable[dict[str, Any]]], *,
                     canaries: bool = False, versions: Mapping[str, str] | None = None,
                     **kwargs: Any) -> KubeApiServer:
        """Serve ``{catalog key: [objects]}``; ``versions`` serves a key at another version."""
        planter = _Planter() if canaries else None
        versions = versions or {}
        served = [_encode_resource(key, objs, planter, versions.get(key))
                  for key, objs in objects.items()]
        return cls(served, canaries=planter.values if planter else (), **kwargs)

    @classmethod
    def from_snapshot(cls, path: str | Path, *, canaries: bool = True,
                      exclude: Iterable[str] = (), versions: Mapping[str, str] | None = None,
                      **kwargs: Any) -> KubeApiServer:
        """Serve every Kubernetes resource a snapshot holds (not_found ones stay absent)."""
        snap = Snapshot.load(path)
        skip = set(exclude)
        objects = {key: snap.iter_k8s(key) for key in snap.k8s_resources()
                   if snap.has_k8s(key) and key not in skip}
        return cls.from_objects(objects, canaries=canaries, versions=versions, **kwargs)

    def set_fault(self, key: str, *faults: Fault) -> None:
        """Make requests for resource ``key`` fail (replaces earlier faults for it)."""
        if key not in self.resources:
            raise KeyError(f"{key} is not served")
        with self._lock:
            self.faults[key] = [copy.copy(f) for f in faults]

    # -- life cycle
    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """``https://127.0.0.1:<port>``."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate clients must trust."""
        return self._ca.cert_pem.bytes()

    def start(self) -> KubeApiServer:
        """Listen on a free loopback port and serve in a background thread."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.api = self
        httpd.ssl_context = context
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"kube-api:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: close the listening socket and cut open connections."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.close_connections()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests
    def write_kubeconfig(self, path: str | Path, *, token: str | None = None,
                         context: str = "zt-test", cluster: str = "zt-test",
                         with_ca: bool = True) -> Path:
        """Write a kubeconfig (server URL, CA data, bearer token) and return its path."""
        cluster_entry: dict[str, Any] = {"server": self.url}
        if with_ca:
            cluster_entry["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        doc = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": cluster, "cluster": cluster_entry}],
            "users": [{"name": "zt-assessor", "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": {"cluster": cluster,
                                                       "user": "zt-assessor"}}],
            "current-context": context,
        }
        path = Path(path)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        path.chmod(0o600)
        return path

    def clear_log(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self.requests.clear()

    def list_path(self, key: str) -> str:
        """The cluster-wide list path of a served resource."""
        res = self.resources[key]
        return (f"/apis/{res.group}/{res.version}/{res.plural}" if res.group
                else f"/api/v1/{res.plural}")

    # -- request handling (called from handler threads)
    def _take_fault(self, key: str, page: int) -> Fault | None:
        with self._lock:
            for fault in self.faults.get(key, ()):
                if fault.page is not None and fault.page != page:
                    continue
                if fault.times is None:
                    return fault
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    api: KubeApiServer
    ssl_context: ssl.SSLContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the connection's own thread, so one slow client blocks no other;
        # no Nagle delay between the header and body writes of small responses
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that does not trust our CA: it reports the error itself
        with self.connections_lock:
            self.connections.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass  # the client went away, or close_connections cut it
        finally:
            with self.connections_lock:
                self.connections.discard(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def close_connections(self) -> None:
        """Cut every open (keep-alive) connection, as a crashed API server would."""
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


def _status(code: int, message: str, *, reason: str | None = None,
            details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message,
                            "reason": reason or _REASONS.get(code, "Unknown"), "code": code}
    if details:
        body["details"] = details
    return body


def _encode_continue(key: str, offset: int, rv: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"r": key, "o": offset, "rv": rv})).decode()


def _decode_continue(token: str, key: str) -> int | None:
    try:
        doc = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("r") != key or not isinstance(doc.get("o"), int):
        return None
    return doc["o"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    entry: LoggedRequest

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        pass

    # -- plumbing
    def _begin(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        api = self.server.api
        scheme, _, credential = self.headers.get("Authorization", "").strip().partition(" ")
        self.entry = LoggedRequest(
            method=self.command, path=parts.path, query=query,
            accept=self.headers.get("Accept", ""), user_agent=self.headers.get("User-Agent", ""),
            authorized=scheme.lower() == "bearer" and credential.strip() == api.token)
        api._log(self.entry)
        return parts.path.rstrip("/") or "/", query

    def _send(self, code: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.entry.status = code
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, doc: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(code, orjson.dumps(doc), headers)

    def _fail(self, code: int, message: str, **kwargs: Any) -> None:
        headers = kwargs.pop("headers", None)
        self._json(code, _status(code, message, **kwargs), headers)

    def _refuse(self) -> None:
        self._begin()
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        else:
            self.close_connection = True
        self._fail(405, f"the server does not allow this method on the requested resource "
                        f"(this test API server is read-only: {self.command} refused)")

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _refuse

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self._begin()
        self.entry.status = 405
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- GET
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        path, query = self._begin()
        api = self.server.api
        if not self.entry.authorized:
            self._fail(401, "Unauthorized")
            return
        if path == "/version":
            self._json(200, self._version())
        elif path == "/api":
            self._json(200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": [
                                 {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]})
        elif path == "/apis":
            self._json(200, self._groups())
        else:
            parts = path.strip("/").split("/")
            if parts[0] == "api" and len(parts) >= 2:
                gv, rest = parts[1], parts[2:]
            elif parts[0] == "apis" and len(parts) >= 3:
                gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
            else:
                self._not_found()
                return
            served = api.by_gv.get(gv)
            if served is None:
                self._not_found()
            elif not rest:
                self._json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                 "groupVersion": gv,
                                 "resources": [r.api_resource() for r in served.values()]})
            else:
                self._resource(served, rest, query)

    def _version(self) -> dict[str, str]:
        git = self.server.api.git_version
        major, minor = git.lstrip("v").split(".")[:2]
        return {"major": major, "minor": f"{minor}+", "gitVersion": git,
                "gitCommit": hashlib.sha1(git.encode()).hexdigest(),  # noqa: S324
                "gitTreeState": "clean", "buildDate": "2026-10-01T00:00:00Z",
                "goVersion": "go1.24.4", "compiler": "gc", "platform": "linux/amd64"}

    def _groups(self) -> dict[str, Any]:
        groups: dict[str, list[str]] = {}
        for gv in self.server.api.by_gv:
            if "/" in gv:
                group, version = gv.split("/")
                groups.setdefault(group, []).append(version)
        out = []
        for group, versions in groups.items():
            entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
            out.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}

    def _not_found(self) -> None:
        self._fail(404, "the server could not find the requested resource",
                   details={"causes": [{"reason": "UnexpectedServerResponse",
                                        "message": "404 page not found"}]})

    def _resource(self, served: dict[str, ServedResource], rest: list[str],
                  query: dict[str, str]) -> None:
        """``<res>``, ``<res>/<name>``, ``namespaces/<ns>/<res>[/<name>]``."""
        namespace = name = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, plural, tail = rest[1], rest[2], rest[3:]
        else:
            plural, tail = rest[0], rest[1:]
        res = served.get(plural)
        if res is None or len(tail) > 1 or (namespace is not None and not res.namespaced):
            self._not_found()
            return
        if tail:
            name = tail[0]
        for unsupported in ("watch", "labelSelector", "fieldSelector"):
            if query.get(unsupported) not in (None, "", "false"):
                self._fail(400, f"{unsupported} is not supported by this test API server")
                return
        limit = query.get("limit", "")
        if limit and not limit.isdigit():
            self._fail(400, f"limit must be a number, not {limit!r}")
            return
        offset = 0
        if query.get("continue"):
            decoded = _decode_continue(query["continue"], res.key)
            if decoded is None:
                self._fail(400, "continue key is not valid: not a token of this list")
                return
            offset = decoded
        page = offset // int(limit) if limit and int(limit) else 0
        if self._fault(res, namespace, page):
            return
        if name is not None:
            self._get_one(res, namespace or "", name)
        else:
            self._list(res, namespace, int(limit) if limit else 0, offset)

    def _fault(self, res: ServedResource, namespace: str | None, page: int) -> bool:
        fault = self.server.api._take_fault(res.key, page)
        if fault is None:
            return False
        code = fault.status
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        default = {
            403: f'{res.key} is forbidden: User "zt-assessor" cannot list resource '
                 f'"{res.plural}" in API group "{res.group}" {scope}',
            404: "the server could not find the requested resource",
            410: "The provided continue parameter is too old to display a consistent list "
                 "result. You can start a new list without the continue parameter.",
            429: "Too many requests, please try again later.",
            500: "Internal error occurred: etcdserver: request timed out",
            503: "the server is currently unable to handle the request",
        }
        headers = {"Retry-After": fault.retry_after or "1"} if code == 429 else None
        if code == 503 and fault.retry_after:
            headers = {"Retry-After": fault.retry_after}
        self._fail(code, fault.message or default.get(code, "injected fault"), headers=headers,
                   details={"group": res.group, "kind": res.plural})
        return True

    def _wants_metadata(self) -> bool:
        accept = self.entry.accept
        return self.server.api.honour_metadata_accept and "as=PartialObjectMetadata" in accept

    def _list(self, res: ServedResource, namespace: str | None, limit: int, offset: int) -> None:
        api = self.server.api
        meta_only = self._wants_metadata()
        items = res.meta_items() if meta_only else res.items
        if namespace is not None:
            positions = [i for i, ns in enumerate(res.namespaces) if ns == namespace]
        else:
            positions = range(len(items))
        total = len(positions)
        end = min(total, offset + limit) if limit else total
        chosen = positions[offset:end]
        if isinstance(chosen, range):
            page = items[chosen.start:chosen.stop]
        else:
            page = [items[i] for i in chosen]
        metadata: dict[str, Any] = {"resourceVersion": api.resource_version}
        if end < total:
            metadata["continue"] = _encode_continue(res.key, end, api.resource_version)
            metadata["remainingItemCount"] = total - end
        if meta_only:
            kind, api_version = "PartialObjectMetadataList", "meta.k8s.io/v1"
        else:
            kind, api_version = f"{res.kind}List", res.group_version
        head = orjson.dumps({"kind": kind, "apiVersion": api_version, "metadata": metadata})
        body = b"".join((head[:-1], b',"items":[', b",".join(page), b"]}"))
        self._send(200, body)

    def _get_one(self, res: ServedResource, namespace: str, name: str) -> None:
        i = res.index(namespace, name)
        if i is None:
            self._fail(404, f'{res.key} "{name}" not found',
                       details={"name": name, "group": res.group, "kind": res.plural})
            return
        if self._wants_metadata():
            self._send(200, res.meta_items()[i])
            return
        obj = orjson.loads(res.items[i])
        obj.setdefault("kind", res.kind)
        obj.setdefault("apiVersion", res.group_version)
        self._json(200, obj)
