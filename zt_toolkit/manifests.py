"""Manifest import: YAML / JSON manifests (``kubectl get -o yaml``, Helm output) → a snapshot.

The manifests are the *declared* state of a cluster: every Kubernetes resource the catalog
lists is recorded ``ok`` (count 0 when no object of that kind was found), so the checks judge
what is there; AWS is not collected unless a folder of AWS records is given.

Objects are stored as the API server would hold them: the namespace defaults to ``default``,
every referenced namespace exists (synthesized when no manifest defines it), every Namespace
carries ``kubernetes.io/metadata.name``, Secrets are metadata only, and everything is passed
through :mod:`zt_toolkit.sources.redact` before it reaches the disk.

A file that does not parse is skipped with a warning naming the file and the line; the import
goes on. Warnings never quote a manifest's content (the offending line could hold a password).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from zt_toolkit.errors import ManifestImportError
from zt_toolkit.snapshot import SnapshotWriter, aws_records_problem
from zt_toolkit.sources.catalog import AWS_OPERATIONS, KUBE_BY_KIND, KUBE_RESOURCES, KubeResource
from zt_toolkit.sources.redact import redact_object, secret_metadata

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
SYNTHESIZED = "zt-toolkit.io/synthesized"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
AWS_NOT_COLLECTED = "manifest import: AWS not collected"

# Kinds served under a newer group today: ``extensions/v1beta1`` Deployments are Deployments.
_LEGACY_GROUPS = {
    ("extensions", "Deployment"): "apps",
    ("extensions", "DaemonSet"): "apps",
    ("extensions", "ReplicaSet"): "apps",
    ("extensions", "NetworkPolicy"): "networking.k8s.io",
    ("extensions", "Ingress"): "networking.k8s.io",
}


@dataclass(frozen=True)
class SkippedFile:
    """A file (or a document in it) that was not imported, and why."""

    path: Path
    reason: str


@dataclass
class ImportResult:
    """What :func:`import_manifests` did."""

    snapshot: Path
    skipped: list[SkippedFile] = field(default_factory=list)
    redacted: list[str] = field(default_factory=list)  # "Deployment shop/api: <location>"
    counts: dict[str, int] = field(default_factory=dict)  # resource key → objects written
    synthesized_namespaces: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    quiet: bool = False  # warnings are only returned, not logged


# ----- parsing -----------------------------------------------------------------------------------
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML loader that keeps timestamps as the strings the API returns.

    libyaml (``CSafeLoader``) is preferred: unlike the pure-Python scanner it accepts TABs
    where YAML allows them (``key:<TAB>value``, trailing TABs); TABs used as indentation are
    invalid YAML for both, and for ``kubectl``.
    """


_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

_INT64 = (-(2**63), 2**64 - 1)


def _json_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _jsonable(node: Any) -> Any:
    """Make a parsed document JSON-shaped: string keys, no dates, ints that fit 64 bits."""
    if isinstance(node, dict):
        return {_json_key(k): _jsonable(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_jsonable(v) for v in node]
    if isinstance(node, bool) or node is None or isinstance(node, (str, float)):
        return node
    if isinstance(node, int):
        return node if _INT64[0] <= node <= _INT64[1] else str(node)
    if isinstance(node, (datetime, date)):
        return node.isoformat()
    if isinstance(node, bytes):  # !!binary: the API holds base64 text
        return base64.b64encode(node).decode()
    return str(node)


def _yaml_error(exc: yaml.YAMLError, text: str) -> str:
    """Where and what, without quoting the line (it could hold a secret)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    if mark is None:
        return f"YAML error: {problem}"
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    hint = ""
    if "\t" in line[: len(line) - len(line.lstrip())] or "tab" in problem.lower():
        hint = " (a TAB character used as indentation: YAML allows only spaces)"
    return f"YAML error at line {mark.line + 1}, column {mark.column + 1}: {problem}{hint}"


def _parse_file(path: Path) -> list[Any]:
    """Parse one file into its documents; raise ValueError with a safe message if it cannot."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from exc
    try:
        if path.suffix.lower() == ".json":
            try:
                return [_jsonable(orjson.loads(text))]
            except orjson.JSONDecodeError as exc:
                raise ValueError(
                    f"JSON error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
                ) from exc
        try:
            return [_jsonable(doc) for doc in yaml.load_all(text, Loader=_Loader)]  # noqa: S506
        except yaml.YAMLError as exc:
            raise ValueError(_yaml_error(exc, text)) from exc
    except RecursionError as exc:
        raise ValueError("nested too deeply (recursive YAML aliases?)") from exc


def _discover(paths: list[Path], result: ImportResult) -> list[Path]:
    """Files to read: given files as they are, folders walked for .yaml/.yml/.json."""
    files: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = sorted(
                p
                for p in given.rglob("*")
                if p.suffix.lower() in MANIFEST_SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(given).parts)
            )
        elif given.is_file():
            found = [given]
        else:
            _skip(result, given, "no such file or directory")
            continue
        for file in found:
            if (key := file.resolve()) not in seen:
                seen.add(key)
                files.append(file)
    return files


def _warn(result: ImportResult, message: str) -> None:
    if not result.quiet:
        log.warning("%s", message)
    result.warnings.append(message)


def _skip(result: ImportResult, path: Path, reason: str) -> None:
    _warn(result, f"skipped {path}: {reason}")
    result.skipped.append(SkippedFile(path, reason))


# ----- objects -----------------------------------------------------------------------------------
def _flatten(doc: dict[str, Any], where: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield the objects of a document: itself, or the items of a ``List`` / ``<Kind>List``."""
    kind = doc.get("kind")
    items = doc.get("items")
    if not (isinstance(kind, str) and kind.endswith("List") and isinstance(items, list)):
        yield doc, where
        return
    item_kind = kind[: -len("List")] if kind != "List" else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item_kind and "kind" not in item:
            # a typed List (PodList) from the API: items carry no kind / apiVersion
            item = {"apiVersion": doc.get("apiVersion"), "kind": item_kind, **item}
        if isinstance(item, dict):
            yield from _flatten(item, f"{where} items[{i}]")
        else:
            yield item, f"{where} items[{i}]"


def _guess_key(group: str, kind: str) -> str:
    """Guess the plural resource name as Kubernetes does (``UnsafeGuessKindToResource``)."""
    singular = kind.lower()
    if singular.endswith("s"):
        plural = singular + "es"
    elif singular.endswith("y"):
        plural = singular[:-1] + "ies"
    else:
        plural = singular + "s"
    return f"{plural}.{group}" if group else plural


def _identity(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{obj['kind']} {ns}/{meta['name']}" if ns else f"{obj['kind']} {meta['name']}"


class _Collector:
    """Objects by resource key, deduplicated by (key, namespace, name)."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.objects: dict[str, dict[tuple[str, str], tuple[dict[str, Any], str]]] = {}
        self.unknown: dict[str, tuple[str, str]] = {}  # key -> (list kind, apiVersion)
        self._warned_kinds: set[tuple[str, str]] = set()

    def route(self, api_version: str, kind: str) -> tuple[str, KubeResource | None]:
        group = api_version.rpartition("/")[0]
        group = _LEGACY_GROUPS.get((group, kind), group)
        resource = KUBE_BY_KIND.get((group, kind))
        if resource is not None:
            return resource.key, resource
        key = _guess_key(group, kind)
        if (group, kind) not in self._warned_kinds:
            self._warned_kinds.add((group, kind))
            _warn(
                self.result,
                f"kind {kind} ({api_version}) is not one the checks read; stored as k8s/{key}",
            )
            self.unknown[key] = (f"{kind}List", api_version)
        return key, None

    def add(self, obj: Any, where: str) -> bool:
        """Store one object; False (with a warning) when it is not a Kubernetes object."""
        if not isinstance(obj, dict):
            _warn(self.result, f"{where}: not an object ({type(obj).__name__}), ignored")
            return False
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if not (isinstance(kind, str) and kind and isinstance(api_version, str) and api_version):
            _warn(self.result, f"{where}: no kind / apiVersion, ignored")
            return False
        if api_version == "v1" and kind == "Config":
            _warn(self.result, f"{where}: a kubeconfig (holds credentials), ignored")
            return False
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            _warn(self.result, f"{where}: {kind} without metadata.name, ignored")
            return False
        meta.pop("managedFields", None)
        key, resource = self.route(api_version, kind)
        if resource is not None and resource.namespaced:
            if not meta.get("namespace"):
                meta["namespace"] = "default"
        elif resource is not None:
            meta.pop("namespace", None)  # the API server ignores it on cluster-scoped objects
        ident = (str(meta.get("namespace") or ""), meta["name"])
        bucket = self.objects.setdefault(key, {})
        if ident in bucket:
            _warn(
                self.result,
                f"{_identity(obj)} is defined in {bucket[ident][1]} and in {where}; "
                "keeping the last",
            )
        bucket[ident] = (obj, where)
        return True

    def synthesize_namespaces(self) -> list[str]:
        """Give every Namespace its name label; create the referenced ones nobody defined."""
        namespaces = self.objects.setdefault("namespaces", {})
        for obj, _ in namespaces.values():
            labels = obj["metadata"].get("labels")
            if not isinstance(labels, dict):
                labels = obj["metadata"]["labels"] = {}
            labels.setdefault(NAMESPACE_LABEL, obj["metadata"]["name"])
        referenced = {ns for bucket in self.objects.values() for (ns, _name) in bucket if ns}
        missing = sorted(referenced - {name for (_ns, name) in namespaces})
        for name in missing:
            namespaces[("", name)] = (
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": name,
                        "labels": {NAMESPACE_LABEL: name},
                        "annotations": {SYNTHESIZED: "true"},
                    },
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
                "synthesized",
            )
        return missing

    def items(self, key: str) -> list[dict[str, Any]]:
        """Objects of one resource in the API's order (namespace, then name)."""
        bucket = self.objects.get(key, {})
        return [bucket[ident][0] for ident in sorted(bucket)]


def _redact(collector: _Collector, result: ImportResult) -> None:
    for key, bucket in collector.objects.items():
        for ident, (obj, where) in list(bucket.items()):
            label = _identity(obj)
            if key == "secrets":
                had = [f for f in ("data", "stringData") if obj.get(f)]
                obj = secret_metadata(obj)
                bucket[ident] = (obj, where)
                result.redacted += [f"{label}: {f} (dropped: metadata only)" for f in had]
            result.redacted += [f"{label}: {loc}" for loc in redact_object(obj)]


# ----- AWS ---------------------------------------------------------------------------------------
def _import_aws(writer: SnapshotWriter, aws_dir: Path, result: ImportResult) -> None:
    if (aws_dir / "aws").is_dir():  # a snapshot folder given instead of its aws/ folder
        aws_dir = aws_dir / "aws"
    files = {f"aws/{f.parent.name}/{f.stem}": f for f in sorted(aws_dir.glob("*/*.json"))}
    known = {op.key for op in AWS_OPERATIONS}
    for key in sorted(files.keys() - known):
        _warn(result, f"{files[key]}: not an operation the checks read; copied as {key}")
    for op in AWS_OPERATIONS:
        if op.key not in files:
            writer.record_gap(op.key, "not_collected", AWS_NOT_COLLECTED)
    for key, path in files.items():
        try:
            records = orjson.loads(path.read_bytes())
            problem = aws_records_problem(records)
        except orjson.JSONDecodeError as exc:
            problem = f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror or exc})"
        if problem:
            _skip(result, path, problem)
            writer.record_gap(key, "error", f"{path.name}: {problem}")
            continue
        _, service, operation = key.split("/")
        writer.write_aws(service, operation, records)
        result.counts[key] = len(records)


# ----- the import --------------------------------------------------------------------------------
def _default_cluster_name(paths: list[Path]) -> str:
    first = Path(paths[0]).resolve() if paths else Path.cwd()
    folder = first if first.is_dir() else first.parent
    return folder.name or "manifests"


def import_manifests(
    paths: list[Path],
    out: Path,
    *,
    aws_dir: Path | None = None,
    cluster_name: str | None = None,
    quiet: bool = False,
) -> ImportResult:
    """Turn manifest files and folders into a snapshot at ``out``.

    Parameters
    ----------
    paths
        YAML / JSON files, and folders searched recursively for ``.yaml``, ``.yml`` and
        ``.json`` (hidden folders skipped). Multi-document YAML and ``List`` objects are read.
    out
        Where the snapshot directory is written; it must not exist yet.
    aws_dir
        Optional folder of ``<service>/<operation>.json`` AWS records in the snapshot format
        (or a snapshot folder holding ``aws/``). Without it, AWS is ``not_collected``.
    cluster_name
        Name recorded in the manifest; defaults to the name of the first folder given.
    quiet
        Return the warnings (``ImportResult.warnings``) without logging them, for callers that
        report them themselves.

    Returns
    -------
    ImportResult
        The snapshot path, files skipped (with reasons), redacted locations, counts, warnings.

    Raises
    ------
    ManifestImportError
        When no Kubernetes object was found at all (an empty snapshot would pass every check
        by absence) or ``aws_dir`` does not exist.

    Examples
    --------
    >>> result = import_manifests([Path("k8s/")], Path("acme-snapshot"))   # doctest: +SKIP
    >>> [s.reason for s in result.skipped]                                  # doctest: +SKIP
    ['YAML error at line 12, column 1: found character that cannot start any token']
    """
    out = Path(out)
    paths = [Path(p) for p in paths]
    if aws_dir is not None and not Path(aws_dir).is_dir():
        raise ManifestImportError(f"{aws_dir}: AWS folder does not exist")
    result = ImportResult(snapshot=out, quiet=quiet)
    collector = _Collector(result)
    for file in _discover(paths, result):
        try:
            docs = _parse_file(file)
        except ValueError as exc:
            _skip(result, file, str(exc))
            continue
        added = 0
        for n, doc in enumerate(docs, start=1):
            if doc is None:
                continue  # an empty document (a trailing ---, a comment-only file)
            where = f"{file}" if len(docs) == 1 else f"{file} document {n}"
            if not isinstance(doc, dict):
                _warn(result, f"{where}: not an object ({type(doc).__name__}), ignored")
                continue
            added += sum(collector.add(obj, w) for obj, w in _flatten(doc, where))
        if not added and docs and any(d is not None for d in docs):
            result.skipped.append(SkippedFile(file, "no Kubernetes objects"))
    if not any(collector.objects.values()):
        skipped = ", ".join(str(s.path) for s in result.skipped)
        raise ManifestImportError(
            "no Kubernetes objects found in "
            + ", ".join(str(p) for p in paths)
            + (f" (skipped: {skipped})" if skipped else "")
        )
    result.synthesized_namespaces = collector.synthesize_namespaces()
    _redact(collector, result)
    for loc in result.redacted:
        log.info("redacted %s", loc)

    name = cluster_name or _default_cluster_name(paths)
    with SnapshotWriter(out, source="manifests", cluster={"name": name}) as writer:
        for res in KUBE_RESOURCES:
            items = collector.items(res.key)
            if res.optional and not items:
                writer.record_gap(
                    f"k8s/{res.key}",
                    "not_collected",
                    f"manifest import: no {res.kind} ({res.api_version}) in the manifests",
                )
                continue
            if res.key == "secrets":
                kind, api_version = "PartialObjectMetadataList", "meta.k8s.io/v1"
            else:
                kind, api_version = res.list_kind, res.api_version
            result.counts[f"k8s/{res.key}"] = writer.write_k8s(
                res.key, items, kind=kind, api_version=api_version
            )
        for key, (list_kind, api_version) in sorted(collector.unknown.items()):
            result.counts[f"k8s/{key}"] = writer.write_k8s(
                key, collector.items(key), kind=list_kind, api_version=api_version
            )
        if aws_dir is not None:
            _import_aws(writer, Path(aws_dir), result)
        else:
            for op in AWS_OPERATIONS:
                writer.record_gap(op.key, "not_collected", AWS_NOT_COLLECTED)
    return result


__all__ = ["ImportResult", "ManifestImportError", "SkippedFile", "import_manifests"]
