"""The snapshot: everything collected from one cluster and its AWS account, once, on disk.

A snapshot is a directory (or a ``.tar.gz`` / ``.zip`` of one)::

    manifest.json                      schema_version, toolkit_version, collected_at, source,
                                       cluster {name, arn, region, version, account_id},
                                       coverage {"k8s/pods": {status, count, message}, ...}
    k8s/<resource>[.<group>].json[.gz] a List exactly as the API returns it (items without
                                       managedFields), written one item per line
    aws/<service>/<operation>.json     [{"params": {...}, "response": {...}}
                                        | {"params": {...}, "error": {"code", "message"}}]

Coverage keys are ``k8s/<resource>`` (``k8s/pods``, ``k8s/deployments.apps``) and
``aws/<service>/<operation>`` (``aws/eks/describe_cluster``). A source absent from the manifest is
``not_collected``. The AWS file format is a contract other tools write by hand: boto3 response
shapes, ISO datetimes, no ResponseMetadata, paginated calls merged into one response.

Large lists are written one item per line so that they can be read back item by item with a
bounded working set; a hand-written file in any JSON layout loads too.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from zt_toolkit import __version__
from zt_toolkit.errors import SnapshotError

SCHEMA_VERSION = 1
SOURCES = ("live", "demo", "manifests")
COVERAGE_STATUSES = ("ok", "forbidden", "not_found", "error", "not_collected")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")

_LIST_HEAD_END = b'"items":['


@dataclass(frozen=True)
class Coverage:
    """What happened when one source was collected."""

    status: str
    count: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the source was collected completely."""
        return self.status == "ok"

    def describe(self, key: str) -> str:
        """One sentence for a report: ``k8s/pods: forbidden (403 ...)``."""
        text = f"{key}: {self.status}"
        return f"{text} ({self.message})" if self.message else text


NOT_COLLECTED = Coverage("not_collected", None, "not in the snapshot")


@dataclass
class ClusterInfo:
    """Identity of the assessed cluster."""

    name: str
    arn: str | None = None
    region: str | None = None
    version: str | None = None
    account_id: str | None = None


@dataclass
class Manifest:
    """The contents of ``manifest.json``."""

    source: str
    cluster: ClusterInfo
    collected_at: str
    coverage: dict[str, Coverage] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    toolkit_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to disk."""
        return {
            "schema_version": self.schema_version,
            "toolkit_version": self.toolkit_version,
            "collected_at": self.collected_at,
            "source": self.source,
            "cluster": vars(self.cluster),
            "coverage": {k: vars(v) for k, v in sorted(self.coverage.items())},
        }

    @classmethod
    def from_json(cls, data: object, path: Path) -> Manifest:
        """Validate a parsed ``manifest.json``; every problem names the file."""
        if not isinstance(data, dict):
            raise SnapshotError(path, "manifest is not a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise SnapshotError(
                path,
                f"unknown schema_version {version!r}; "
                f"this zt-toolkit reads version {SCHEMA_VERSION}",
            )
        for key in ("collected_at", "source", "cluster"):
            if key not in data:
                raise SnapshotError(path, f"manifest lacks {key!r}")
        if data["source"] not in SOURCES:
            raise SnapshotError(path, f"source {data['source']!r} is not one of {SOURCES}")
        cluster = data["cluster"]
        if not isinstance(cluster, dict) or not cluster.get("name"):
            raise SnapshotError(path, "cluster must be an object with a name")
        known = {f for f in ClusterInfo.__dataclass_fields__}
        coverage = {}
        for key, entry in (data.get("coverage") or {}).items():
            if not isinstance(entry, dict) or entry.get("status") not in COVERAGE_STATUSES:
                raise SnapshotError(
                    path, f"coverage[{key!r}] needs a status in {COVERAGE_STATUSES}, got {entry!r}"
                )
            coverage[key] = Coverage(
                entry["status"], entry.get("count"), entry.get("message") or "")
        return cls(
            source=data["source"],
            cluster=ClusterInfo(**{k: v for k, v in cluster.items() if k in known}),
            collected_at=str(data["collected_at"]),
            coverage=coverage,
            schema_version=version,
            toolkit_version=str(data.get("toolkit_version", "")),
        )


def _open_binary(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around bulk parsing (it costs 4-5x the parse itself)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Snapshot:
    """A loaded snapshot: the manifest plus lazy access to the raw objects.

    Examples
    --------
    >>> from zt_toolkit.snapshot import Snapshot
    >>> snap = Snapshot.load("reports/demo-snapshot")            # doctest: +SKIP
    >>> snap.cluster.name                                        # doctest: +SKIP
    'acme-shop-prod'
    >>> snap.coverage("aws/eks/describe_cluster").status         # doctest: +SKIP
    'ok'
    """

    def __init__(self, root: Path, manifest: Manifest, origin: Path | None = None) -> None:
        self.root = root
        self.manifest = manifest
        self.origin = origin or root
        self._aws: dict[str, list[dict[str, Any]]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # ----- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Snapshot:
        """Load a snapshot directory or archive; a damaged one raises :class:`SnapshotError`."""
        origin = Path(path)
        if not origin.exists():
            raise SnapshotError(origin, "no such snapshot (expected a directory, .tar.gz or .zip)")
        tmp = None
        root = origin
        if origin.is_file():
            tmp = tempfile.TemporaryDirectory(prefix="zt-snapshot-")
            root = _extract(origin, Path(tmp.name))
        manifest_path = root / "manifest.json"
        if not manifest_path.is_file():
            raise SnapshotError(
                origin, "manifest.json is missing: this is not a zt-toolkit snapshot")
        try:
            data = orjson.loads(manifest_path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(manifest_path, f"manifest.json is not valid JSON ({exc})") from exc
        snap = cls(root, Manifest.from_json(data, manifest_path), origin)
        snap._tmp = tmp
        snap._verify()
        return snap

    def _verify(self) -> None:
        """Check every file the manifest promises, and read the (small) AWS files eagerly."""
        for key, cov in self.manifest.coverage.items():
            if not cov.ok:
                continue
            if key.startswith("k8s/"):
                self._check_k8s_file(self._k8s_path(key[4:], must_exist=True))
            elif key.startswith("aws/"):
                self._load_aws(key)
            else:
                raise SnapshotError(self.root / "manifest.json", f"unknown coverage key {key!r}")
        # AWS files written by hand without a coverage entry count as collected
        aws_dir = self.root / "aws"
        if aws_dir.is_dir():
            for file in sorted(aws_dir.glob("*/*.json")):
                key = f"aws/{file.parent.name}/{file.stem}"
                if key not in self.manifest.coverage:
                    records = self._load_aws(key)
                    self.manifest.coverage[key] = Coverage("ok", len(records), "")

    @staticmethod
    def _check_k8s_file(path: Path) -> None:
        """Cheap damage check: a list file must be non-empty and end like a JSON object."""
        if path.suffix == ".gz":
            return  # truncation of a gzip stream surfaces as an EOFError, named when read
        size = path.stat().st_size
        if size == 0:
            raise SnapshotError(path, "file is empty")
        with open(path, "rb") as fh:
            fh.seek(max(0, size - 64))
            tail = fh.read().rstrip()
        if not tail.endswith(b"}"):
            raise SnapshotError(path, "file is truncated (does not end with a closing brace)")

    # ----- identity and coverage ---------------------------------------------------------------
    @property
    def cluster(self) -> ClusterInfo:
        """The assessed cluster."""
        return self.manifest.cluster

    @property
    def source(self) -> str:
        """live, demo or manifests."""
        return self.manifest.source

    def coverage(self, key: str) -> Coverage:
        """Coverage of one source key; absent keys are ``not_collected``."""
        return self.manifest.coverage.get(key, NOT_COLLECTED)

    # ----- Kubernetes ------------------------------------------------------------------------
    def _k8s_path(self, resource: str, must_exist: bool = False) -> Path:
        for name in (f"{resource}.json", f"{resource}.json.gz"):
            path = self.root / "k8s" / name
            if path.is_file():
                return path
        if must_exist:
            raise SnapshotError(
                self.root / "k8s" / f"{resource}.json",
                "file is missing although manifest.json lists it as collected",
            )
        return self.root / "k8s" / f"{resource}.json"

    def has_k8s(self, resource: str) -> bool:
        """True when the resource was collected."""
        return self.coverage(f"k8s/{resource}").ok

    def iter_k8s(self, resource: str) -> Iterator[dict[str, Any]]:
        """Yield the items of one collected resource (``pods``, ``deployments.apps`` ...).

        Files in the one-item-per-line layout are streamed; other layouts are parsed whole.
        A parse error or an item count that disagrees with the manifest raises
        :class:`SnapshotError` naming the file. A resource not collected yields nothing.
        """
        cov = self.coverage(f"k8s/{resource}")
        if not cov.ok:
            return
        path = self._k8s_path(resource, must_exist=True)
        count = 0
        try:
            with _open_binary(path) as fh:
                streamed = fh.readline().rstrip().endswith(_LIST_HEAD_END)
                try:
                    for line in fh if streamed else ():
                        line = line.strip().strip(b",")
                        if not line or line.startswith(b"]"):
                            continue
                        yield orjson.loads(line)
                        count += 1
                except orjson.JSONDecodeError:
                    if count:  # items were read: the file broke part-way
                        raise
                    streamed = False  # a hand-written list that merely starts like ours
            if not streamed:
                items = _whole_list(path)
                yield from items
                count = len(items)
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(path, f"damaged JSON after item {count} ({exc})") from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise SnapshotError(path, f"cannot be read ({exc})") from exc
        if cov.count is not None and count != cov.count:
            raise SnapshotError(
                path, f"holds {count} items but manifest.json says {cov.count}: file is damaged"
            )

    def k8s(self, resource: str) -> list[dict[str, Any]]:
        """All items of one resource as a list (use :meth:`iter_k8s` for pods at scale)."""
        with gc_paused():
            return list(self.iter_k8s(resource))

    def k8s_resources(self) -> list[str]:
        """The Kubernetes resources this snapshot holds (collected or not)."""
        return sorted(k[4:] for k in self.manifest.coverage if k.startswith("k8s/"))

    # ----- AWS -----------------------------------------------------------------------------
    def _load_aws(self, key: str) -> list[dict[str, Any]]:
        if key in self._aws:
            return self._aws[key]
        path = self.root / f"{key}.json"
        if not path.is_file():
            raise SnapshotError(
                path, "file is missing although manifest.json lists it as collected")
        try:
            records = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(path, f"not valid JSON ({exc})") from exc
        problem = aws_records_problem(records)
        if problem:
            raise SnapshotError(path, problem)
        self._aws[key] = records
        return records

    def aws(self, service: str, operation: str) -> list[dict[str, Any]]:
        """All records of one AWS operation (``[]`` when not collected)."""
        key = f"aws/{service}/{operation}"
        if not self.coverage(key).ok:
            return []
        return self._load_aws(key)

    def aws_response(self, service: str, operation: str, **params: Any) -> dict[str, Any] | None:
        """The response of the first record whose params include ``params`` (None if absent)."""
        for rec in self.aws(service, operation):
            given = rec.get("params") or {}
            if "response" in rec and all(given.get(k) == v for k, v in params.items()):
                return rec["response"]
        return None

    # ----- saving --------------------------------------------------------------------------
    def save(self, dest: str | os.PathLike[str]) -> Path:
        """Write a copy of this snapshot as a directory, ``.tar.gz`` or ``.zip``."""
        dest = Path(dest)
        if dest.exists():
            raise SnapshotError(dest, "already exists; choose a new path")
        name = dest.name
        if name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(dest, "w:gz") as tar:
                for item in sorted(self.root.iterdir()):
                    tar.add(item, arcname=item.name)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
                for file in sorted(self.root.rglob("*")):
                    if file.is_file():
                        zf.write(file, file.relative_to(self.root).as_posix())
        else:
            shutil.copytree(self.root, dest)
        return dest

    @staticmethod
    def is_snapshot(path: str | os.PathLike[str]) -> bool:
        """True for a snapshot directory or an archive name."""
        p = Path(path)
        is_archive = p.is_file() and p.name.endswith(ARCHIVE_SUFFIXES)
        return (p / "manifest.json").is_file() or is_archive


def _whole_list(path: Path) -> list[dict[str, Any]]:
    """Parse a List file in any JSON layout; its items."""
    with _open_binary(path) as fh:
        doc = orjson.loads(fh.read())
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise SnapshotError(path, "not a Kubernetes List (no items array)")
    return items


def aws_records_problem(records: Any) -> str | None:
    """Say why parsed AWS records break the snapshot's AWS file format (None when they fit)."""
    if not isinstance(records, list):
        return "must be a JSON list of {params, response|error} records"
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("params", {}), dict):
            return f"record {i} is not an object with params"
        if ("response" in rec) == ("error" in rec):
            return f"record {i} needs exactly one of response or error"
        if "error" in rec and not (isinstance(rec["error"], dict) and rec["error"].get("code")):
            return f"record {i}: error needs a code"
    return None


def _extract(archive: Path, into: Path) -> Path:
    """Unpack an archive safely; return the folder that holds ``manifest.json``."""
    try:
        if archive.name.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(archive) as tar:
                tar.extractall(into, filter="data")
        elif archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    target = (into / member).resolve()
                    if not target.is_relative_to(into.resolve()):
                        raise SnapshotError(archive, f"member {member!r} escapes the archive")
                zf.extractall(into)
        else:
            raise SnapshotError(archive, "unknown archive type (use a directory, .tar.gz or .zip)")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise SnapshotError(archive, f"archive is damaged ({exc})") from exc
    if (into / "manifest.json").is_file():
        return into
    candidates = [p.parent for p in into.glob("*/manifest.json")]
    if len(candidates) == 1:
        return candidates[0]
    raise SnapshotError(archive, "archive holds no manifest.json at its top or one folder down")


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Load a snapshot directory or archive (see :class:`Snapshot`)."""
    return Snapshot.load(path)


class SnapshotWriter:
    """Write a snapshot into a temporary folder and move it into place on :meth:`close`.

    Nothing half-written is ever left at ``path``: until ``close`` everything lives in
    ``<path>.partial-*``. Kubernetes lists are written one item per line.

    >>> w = SnapshotWriter("snap", source="demo", cluster={"name": "c"})   # doctest: +SKIP
    >>> w.write_k8s("pods", pods, kind="PodList")                          # doctest: +SKIP
    >>> w.write_aws("eks", "describe_cluster", records)                    # doctest: +SKIP
    >>> w.close()                                                          # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        source: str,
        cluster: dict[str, Any],
        collected_at: str | None = None,
        overwrite: bool = False,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise SnapshotError(self.path, "already exists (pass overwrite=True to replace it)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(
            tempfile.mkdtemp(prefix=f"{self.path.name}.partial-", dir=self.path.parent))
        self._overwrite = overwrite
        self.manifest = Manifest(
            source=source,
            cluster=ClusterInfo(**cluster),
            collected_at=collected_at or datetime.now(UTC).isoformat(timespec="seconds"),
        )

    @contextlib.contextmanager
    def k8s_list(
        self, resource: str, *, kind: str, api_version: str = "v1", compress: bool = False
    ) -> Iterator[_ListWriter]:
        """Open a List file to which pages of items are added as they arrive."""
        (self._tmp / "k8s").mkdir(exist_ok=True)
        name = f"{resource}.json.gz" if compress else f"{resource}.json"
        path = self._tmp / "k8s" / name
        fh: BinaryIO = gzip.open(path, "wb", compresslevel=3) if compress else open(path, "wb")  # noqa: SIM115
        writer = _ListWriter(fh, kind, api_version)
        try:
            yield writer
        finally:
            writer.finish()
            fh.close()
        self.manifest.coverage[f"k8s/{resource}"] = Coverage("ok", writer.count, "")

    def write_k8s(
        self,
        resource: str,
        items: Iterable[dict[str, Any]],
        *,
        kind: str,
        api_version: str = "v1",
        compress: bool = False,
    ) -> int:
        """Write one resource's items; returns the count."""
        with self.k8s_list(resource, kind=kind, api_version=api_version, compress=compress) as lw:
            lw.add(items)
        return lw.count

    def write_aws(self, service: str, operation: str, records: list[dict[str, Any]]) -> None:
        """Write one AWS operation's records (``params`` plus ``response`` or ``error``)."""
        folder = self._tmp / "aws" / service
        folder.mkdir(parents=True, exist_ok=True)
        clean = [
            {k: _strip_response_metadata(v) if k == "response" else v for k, v in rec.items()}
            for rec in records
        ]
        (folder / f"{operation}.json").write_bytes(
            orjson.dumps(clean, option=orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC)
        )
        self.manifest.coverage[f"aws/{service}/{operation}"] = Coverage("ok", len(clean), "")

    def record_gap(self, key: str, status: str, message: str = "") -> None:
        """Record a source that could not be collected (``forbidden``, ``error`` ...)."""
        if status not in COVERAGE_STATUSES or status == "ok":
            raise ValueError(f"a gap needs a status in {COVERAGE_STATUSES[1:]}")
        self.manifest.coverage[key] = Coverage(status, None, message)

    def partial(self) -> Snapshot:
        """What has been written so far, readable as a snapshot.

        Collection reads back its Kubernetes side to learn which IAM roles, image digests and
        instances to ask AWS about.
        """
        return Snapshot(self._tmp, self.manifest)

    def close(self) -> Path:
        """Write ``manifest.json`` and move the snapshot into place."""
        (self._tmp / "manifest.json").write_bytes(
            orjson.dumps(self.manifest.to_json(), option=orjson.OPT_INDENT_2)
        )
        if self.path.exists() and self._overwrite:
            shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Throw away what was written."""
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class _ListWriter:
    """Streams a Kubernetes List: header line, one item per line, closing line."""

    def __init__(self, fh: BinaryIO, kind: str, api_version: str) -> None:
        self._fh = fh
        self.count = 0
        head = orjson.dumps({"apiVersion": api_version, "kind": kind, "metadata": {}})
        fh.write(head[:-1] + b"," + _LIST_HEAD_END + b"\n")

    def add(self, items: Iterable[dict[str, Any]]) -> None:
        """Append items (``managedFields`` dropped)."""
        write = self._fh.write
        for item in items:
            meta = item.get("metadata")
            if isinstance(meta, dict) and "managedFields" in meta:
                meta = {k: v for k, v in meta.items() if k != "managedFields"}
                item = {**item, "metadata": meta}
            if self.count:
                write(b",")
            write(orjson.dumps(item, option=orjson.OPT_NAIVE_UTC))
            write(b"\n")
            self.count += 1

    def finish(self) -> None:
        self._fh.write(b"]}\n")


def _strip_response_metadata(response: Any) -> Any:
    if isinstance(response, dict) and "ResponseMetadata" in response:
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return response
