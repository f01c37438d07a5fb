"""Redaction: the one place that decides what a credential looks like and how it is replaced.

Live collection and manifest import both pass every object through :func:`redact_object`
(Secrets through :func:`secret_metadata`) before anything is written, so no snapshot, log or
report ever holds a secret value. A redacted value becomes a marker that keeps what an
assessment needs (that a credential was there, which kind, how long, and a hash prefix to tell
whether two places hold the same value) and nothing more::

    <redacted:zt kind=password len=19 sha256=c4ca24390c4f>

What is looked at:

* values whose *shape* is a credential, wherever they appear: AWS access key ids, private keys,
  GitHub / GitLab / Slack tokens, JWTs, ``Bearer`` tokens, URLs with an embedded password;
* values whose *key name* says credential (``DB_PASSWORD``, ``apiKey``, ``client-secret`` ...)
  unless the value is plainly a reference (``$(VAR)``, a file path, an ARN, ``true``, ``8080``)
  or the key names one (``SECRET_NAME``, ``DB_PASSWORD_FILE``, ``tokenPath``);
* in pod specs (Pods, workload templates): ``env[].value``, ``--flag=value`` arguments of
  ``command``/``args``, and HTTP header values of probes and lifecycle hooks;
* ConfigMap ``data`` and ``binaryData`` (except ``kube-system/aws-auth``: the identity checks
  parse it, and it holds ARNs and group names, not credentials); a multi-line value (a config
  file) keeps its text, with each credential inside replaced by its own marker
  (:func:`redact_text`);
* annotations, by value shape only; the ``kubectl.kubernetes.io/last-applied-configuration``
  annotation is dropped from every object because it repeats the whole object, data included;
* objects of kinds the toolkit does not know (custom resources): every string, by key and shape.

The hash is keyed (HMAC-SHA256): a plain hash of a weak password could be confirmed offline by
anyone holding the snapshot (``sha256("hunter2")``). The key is random per process unless the
engagement sets ``ZT_REDACTION_KEY`` (keep it out of the snapshot) to compare markers across
collections; either way it is never written anywhere.

Nothing in this module logs or prints a value; the functions return *locations*
(``containers[api].env[DB_PASSWORD]``) that callers may log. Markers may sit inside a longer
string (``--db-password=<redacted:zt ...>``, a config file): find them with ``MARKER_RE.search``;
:func:`parse_marker` reads a string that is exactly one marker.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from zt_toolkit.sources.catalog import KUBE_BY_KIND

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

MARKER_RE = re.compile(
    r"<redacted:zt kind=(?P<kind>[a-z0-9_]+) len=(?P<length>\d+) sha256=(?P<sha256>[0-9a-f]{12})>"
)

# Value shapes, most specific first: the first that matches names the kind.
_VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rx))
    for kind, rx in (
        ("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        ("aws_access_key_id", r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
        ("github_token", r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})"),
        ("gitlab_token", r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}"),
        (
            "slack_token",
            r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"
            r"|https://hooks\.slack\.com/services/[A-Za-z0-9_/]{16,}",
        ),
        ("jwt", r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
        ("bearer_token", r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{16,}=*"),
    )
)
# scheme://user:password@host; a password that is itself $(VAR) or ${VAR} is a reference
_URL_PASSWORD = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,31}://[^/\s:@]*:(?P<password>[^/\s@]+)@")
_VAR_REF = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")

# Key-name hints, checked in order on the lowercased key without "_", "-", "." and spaces.
_KEY_HINTS: tuple[tuple[str, str], ...] = (
    ("password", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("privatekey", "private_key"),
    ("apikey", "api_key"),
    ("secret", "secret"),
    ("credential", "secret"),
    ("token", "token"),
)
# Key names that say the value names a credential instead of holding it: SECRET_NAME,
# DB_PASSWORD_FILE, tokenPath, secret-namespace, API_KEY_REF.
_REFERENCE_KEY = re.compile(r"(?:name|names|namespace|file|path|dir|ref)$")
# Values that point at a credential instead of being one.
_REFERENCE = re.compile(
    r"""(?xi)
    \$\([A-Za-z_][A-Za-z0-9_]*\)          # $(VAR): Kubernetes env expansion
    | \$\{[A-Za-z_][A-Za-z0-9_]*\}        # ${VAR}: envsubst, shell
    | \{\{.*\}\}                          # a template ({{ .Values.x }}, {{resolve:...}})
    | (?:/|~/|\./)[^\s]*                  # a file path: /var/run/secrets/..., ./creds
    | arn:aws[a-z-]*:\S*                  # an ARN (Secrets Manager, SSM, KMS ...)
    | [a-z][a-z0-9+.-]*://[^\s@?\#]*       # a URL with no user info and no query: an endpoint
                                          # (AWS_CONTAINER_CREDENTIALS_FULL_URI of Pod Identity)
    | (?:vault|ref\+[a-z0-9]+):\S+        # bank-vaults vault:secret/..., vals ref+awssecrets://
    | true | false | null | none | nil | ~
    | \d{1,5}                             # a port, a length, a TTL in seconds
    | \d+(?:\.\d+)?(?:ns|us|ms|s|m|h|d)(?:\d+(?:ns|us|ms|s|m|h))*   # a duration: 15m, 1h30m
    """
)
_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
_PROBE_FIELDS = ("livenessProbe", "readinessProbe", "startupProbe")
_WORKLOAD_GROUPS = frozenset({"", "apps", "batch", "extensions"})
# where the pod spec sits, by kind
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True)
class RedactionMarker:
    """What a redaction marker tells: the kind of credential, its length, a hash prefix."""

    kind: str
    length: int
    sha256_prefix: str

    def matches(self, value: str) -> bool:
        """Tell whether ``value`` is (almost certainly) the value this marker replaced."""
        return len(value) == self.length and _sha256_prefix(value) == self.sha256_prefix

    def __str__(self) -> str:
        return f"<redacted:zt kind={self.kind} len={self.length} sha256={self.sha256_prefix}>"


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    given = os.environ.get("ZT_REDACTION_KEY")
    return given.encode() if given else secrets.token_bytes(32)


def _sha256_prefix(value: str) -> str:
    digest = hmac.new(_hash_key(), value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:12]


def format_marker(kind: str, value: str) -> str:
    """Return the marker that replaces ``value`` (a credential of ``kind``)."""
    return str(RedactionMarker(kind, len(value), _sha256_prefix(value)))


def parse_marker(text: object) -> RedactionMarker | None:
    """Read a marker back; None unless ``text`` is exactly one marker."""
    if not isinstance(text, str):
        return None
    m = MARKER_RE.fullmatch(text.strip())
    if m is None:
        return None
    return RedactionMarker(m["kind"], int(m["length"]), m["sha256"])


@lru_cache(maxsize=4096)
def _key_kind(key: str) -> str | None:
    norm = re.sub(r"[\s_.\-]", "", key.lower())
    if _REFERENCE_KEY.search(norm):
        return None
    return next((kind for hint, kind in _KEY_HINTS if hint in norm), None)


def _key_hints_aws_secret(key: str) -> bool:
    norm = key.lower()
    return "aws" in norm or "secret" in norm


def is_reference(value: str) -> bool:
    """Tell whether a value names a credential instead of holding one (``$(VAR)``, a path)."""
    v = value.strip()
    return not v or MARKER_RE.fullmatch(v) is not None or _REFERENCE.fullmatch(v) is not None


def classify_value(key: str, value: str, *, by_key: bool = True) -> str | None:
    """Return the kind of credential ``value`` is, or None (``by_key=False``: shape only)."""
    if not value or MARKER_RE.fullmatch(value.strip()):
        return None
    for kind, rx in _VALUE_PATTERNS:
        if rx.search(value):
            return kind
    for m in _URL_PASSWORD.finditer(value):
        if not _VAR_REF.fullmatch(m["password"]):
            return "url_password"
    if not by_key or not key:
        return None
    if _key_hints_aws_secret(key) and _AWS_SECRET.fullmatch(value.strip()):
        return "aws_secret_access_key"
    kind = _key_kind(key)
    if kind is None or is_reference(value):
        return None
    return kind


def redact_value(key: str, value: str) -> str | None:
    """Return a marker when ``value`` (stored under ``key``) looks like a credential, else None.

    >>> redact_value("DB_PASSWORD", "hunter2-very-secret")
    '<redacted:zt kind=password len=19 sha256=c4ca24390c4f>'
    >>> redact_value("POD_IP", "$(POD_IP)") is None
    True
    """
    kind = classify_value(key, value)
    return format_marker(kind, value) if kind else None


# ``key: value`` / ``key=value`` lines of config files (YAML, .properties, .env, INI, JSON);
# the key is judged by _key_kind, the value trimmed in Python (no backtracking on long lines)
_EMBEDDED_LINE = re.compile(
    r"""(?m)^[ \t]*(?:export[ \t]+)?["']?(?P<key>[\w.\-]{1,128})["']?"""
    r"""[ \t]*[:=][ \t]*(?P<value>.*)$"""
)
_PEM_BLOCK = re.compile(
    r"-----BEGIN (?P<label>(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?:[\s\S]*?-----END (?P=label)-----|[\s\S]*\Z)"
)


def _embedded_spans(text: str) -> list[tuple[int, int, str]]:
    """Credentials inside a longer text: ``(start, end, kind)``, sorted, not overlapping."""
    spans = [(m.start(), m.end(), "private_key") for m in _PEM_BLOCK.finditer(text)]
    for kind, rx in _VALUE_PATTERNS[1:]:
        spans += [(m.start(), m.end(), kind) for m in rx.finditer(text)]
    spans += [
        (m.start("password"), m.end("password"), "url_password")
        for m in _URL_PASSWORD.finditer(text)
        if not _VAR_REF.fullmatch(m["password"])
    ]
    for m in _EMBEDDED_LINE.finditer(text):
        if not (kind := _key_kind(m["key"])):
            continue
        value, begin = m["value"].rstrip().removesuffix(",").rstrip(), m.start("value")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value, begin = value[1:-1], begin + 1
        # YAML block scalars (|, >) and comments hold no value on this line
        if value and value[0] not in "#|>" and not is_reference(value):
            spans.append((begin, begin + len(value), kind))
    spans.sort(key=lambda span: (span[0], -span[1]))
    merged: list[tuple[int, int, str]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            continue  # inside (or overlapping) an earlier credential
        merged.append(span)
    return merged


def redact_text(key: str, text: str) -> str | None:
    """Redact a text value: the new text, or None when it holds no credential.

    A one-line value is redacted whole (as :func:`redact_value`). A multi-line value (a config
    file in a ConfigMap) is redacted whole when its key says credential, otherwise each
    credential inside it is replaced by its own marker, so that the rest stays readable::

        db:
          host: db.shop
          password: <redacted:zt kind=password len=7 sha256=f52fbd32b2b3>
    """
    if "\n" not in text.strip():
        return redact_value(key, text)
    if MARKER_RE.fullmatch(text.strip()):
        return None
    kind = _key_kind(key) if key else None
    if kind and not is_reference(text):
        return format_marker(kind, text)
    spans = _embedded_spans(text)
    if not spans:
        return None
    out, last = [], 0
    for start, end, kind in spans:
        out += [text[last:start], format_marker(kind, text[start:end])]
        last = end
    out.append(text[last:])
    return "".join(out)


def _scalar(value: Any) -> str | None:
    """Return a YAML scalar as the string the API would hold (env values may be ints)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


# ----- pod specs ---------------------------------------------------------------------------------
def _redact_args(args: list[Any]) -> list[int]:
    """Redact ``--flag=value``, ``--flag value`` and credential-shaped arguments in place."""
    changed = []
    flag = None  # the previous argument when it was a bare --flag
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            flag = None
            continue
        new = None
        if arg.startswith("-") and "=" in arg:
            name, _, val = arg.partition("=")
            marker = redact_value(name.lstrip("-"), val)
            new = f"{name}={marker}" if marker else None
        elif flag is not None and not arg.startswith("-"):
            new = redact_value(flag, arg)
        if new is None and (kind := classify_value("", arg, by_key=False)):
            new = format_marker(kind, arg)
        if new is not None:
            args[i] = new
            changed.append(i)
        flag = arg.lstrip("-") if arg.startswith("-") and "=" not in arg else None
    return changed


def _redact_headers(http_get: Any, where: str) -> list[str]:
    found: list[str] = []
    if not isinstance(http_get, dict):
        return found
    for header in http_get.get("httpHeaders") or ():
        if not isinstance(header, dict) or not isinstance(header.get("value"), str):
            continue
        name, value = str(header.get("name", "")), header["value"]
        kind = classify_value(name, value)
        if kind is None and name.lower() in _AUTH_HEADERS and not is_reference(value):
            kind = "token"
        if kind:
            header["value"] = format_marker(kind, value)
            found.append(f"{where}.httpGet.httpHeaders[{name}]")
    return found


def redact_pod_spec(spec: dict[str, Any]) -> list[str]:
    """Redact credentials in a pod spec in place; return where (``containers[api].env[X]``).

    Regular, init and ephemeral containers alike: ``env[].value``, ``command``/``args``
    and HTTP headers of probes and lifecycle hooks. ``valueFrom`` references are left alone.
    """
    found: list[str] = []
    if not isinstance(spec, dict):
        return found
    for field in _CONTAINER_FIELDS:
        for container in spec.get(field) or ():
            if not isinstance(container, dict):
                continue
            where = f"{field}[{container.get('name', '?')}]"
            for env in container.get("env") or ():
                if not isinstance(env, dict) or (value := _scalar(env.get("value"))) is None:
                    continue
                marker = redact_value(str(env.get("name", "")), value)
                if marker:
                    env["value"] = marker
                    found.append(f"{where}.env[{env.get('name')}]")
            for args_field in ("command", "args"):
                args = container.get(args_field)
                if isinstance(args, list):
                    found += [f"{where}.{args_field}[{i}]" for i in _redact_args(args)]
            for probe in _PROBE_FIELDS:
                handler = container.get(probe)
                if isinstance(handler, dict):
                    found += _redact_headers(handler.get("httpGet"), f"{where}.{probe}")
            lifecycle = container.get("lifecycle")
            if isinstance(lifecycle, dict):
                for hook in ("postStart", "preStop"):
                    handler = lifecycle.get(hook)
                    if isinstance(handler, dict):
                        found += _redact_headers(
                            handler.get("httpGet"), f"{where}.lifecycle.{hook}"
                        )
    return found


# ----- objects -----------------------------------------------------------------------------------
def _redact_metadata(meta: Any, where: str) -> list[str]:
    """Drop last-applied-configuration; redact credential-shaped annotation values."""
    found: list[str] = []
    if not isinstance(meta, dict):
        return found
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        return found
    if LAST_APPLIED in annotations:
        del annotations[LAST_APPLIED]
        found.append(f"{where}annotations[{LAST_APPLIED}] (dropped)")
        if not annotations:
            del meta["annotations"]
            return found
    for key, value in annotations.items():
        if isinstance(value, str) and (kind := classify_value(key, value, by_key=False)):
            annotations[key] = format_marker(kind, value)
            found.append(f"{where}annotations[{key}]")
    return found


def _is_aws_auth(obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") == "kube-system" and meta.get("name") == "aws-auth"


def _redact_config_map(obj: dict[str, Any]) -> list[str]:
    found: list[str] = []
    data = obj.get("data")
    if isinstance(data, dict):
        for key, raw in data.items():
            if (value := _scalar(raw)) is not None and (new := redact_text(str(key), value)):
                data[key] = new
                found.append(f"data[{key}]")
    binary = obj.get("binaryData")
    if isinstance(binary, dict):
        for key, raw in binary.items():
            if not isinstance(raw, str):
                continue
            try:
                value = base64.b64decode(raw, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                value = raw  # not text: judge by key name only
            if new := redact_text(str(key), value):
                binary[key] = new
                found.append(f"binaryData[{key}]")
    return found


def _redact_any(node: Any, path: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Every string of an object of unknown kind, by key name and shape (custom resources)."""
    found: list[str] = []
    if isinstance(node, dict):
        # {name: X, value: Y} pairs (env lists, parameters) are judged by X
        pair = isinstance(node.get("name"), str) and isinstance(node.get("value"), str)
        if pair and (marker := redact_value(node["name"], node["value"])):
            node["value"] = marker
            found.append(f"{path}[{node['name']}]")
        for key, value in node.items():
            if key in skip or (pair and key in ("name", "value")):
                continue
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(value, str):
                if new := redact_text(str(key), value):
                    node[key] = new
                    found.append(sub)
            else:
                found += _redact_any(value, sub)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, str):
                if kind := classify_value("", value, by_key=False):
                    node[i] = format_marker(kind, value)
                    found.append(f"{path}[{i}]")
            else:
                found += _redact_any(value, f"{path}[{i}]")
    return found


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def redact_object(obj: dict[str, Any]) -> list[str]:
    """Redact one Kubernetes object in place; return the redacted locations.

    Pods and workload templates (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)
    have their pod spec redacted; ConfigMaps their ``data``/``binaryData`` (``kube-system/aws-auth``
    excepted); a Secret becomes metadata only (:func:`secret_metadata`); objects of kinds outside
    the catalog (custom resources) have every string looked at. Every object loses the
    ``last-applied-configuration`` annotation. ``kind: List`` objects are walked item by item.
    """
    if not isinstance(obj, dict):
        return []
    kind = obj.get("kind")
    api_version = obj.get("apiVersion") or ""
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        found = []
        for i, item in enumerate(obj["items"]):
            found += [f"items[{i}].{loc}" for loc in redact_object(item)]
        return found

    if kind == "Secret" and group == "":
        had = [f for f in ("data", "stringData") if obj.get(f)]
        clean = secret_metadata(obj)
        obj.clear()
        obj.update(clean)
        return [f"{f} (dropped: metadata only)" for f in had]

    found = _redact_metadata(obj.get("metadata"), "metadata.")
    if kind in _POD_SPEC_PATHS and group in _WORKLOAD_GROUPS:
        path = _POD_SPEC_PATHS[kind]
        if len(path) > 1:  # the pod template's own metadata
            template = ".".join(path[:-1])
            found += _redact_metadata(_dig(obj, (*path[:-1], "metadata")), f"{template}.metadata.")
        prefix = ".".join(path) + "."
        found += [prefix + loc for loc in redact_pod_spec(_dig(obj, path))]
    elif kind == "ConfigMap" and group == "":
        if not _is_aws_auth(obj):
            found += _redact_config_map(obj)
    elif (group, kind) not in KUBE_BY_KIND and kind != "PartialObjectMetadata":
        found += _redact_any(obj, "", skip=("apiVersion", "kind", "metadata"))
    return found


def secret_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """Turn a Secret into a ``PartialObjectMetadata`` item: its metadata, never its data.

    ``managedFields`` and the ``last-applied-configuration`` annotation (which holds the data)
    are dropped; annotation values shaped like credentials are redacted. The input is not changed.
    """
    meta = copy.deepcopy(obj.get("metadata") or {})
    _redact_metadata(meta, "")
    if isinstance(meta.get("annotations"), dict) and not meta["annotations"]:
        del meta["annotations"]
    return {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": meta}
