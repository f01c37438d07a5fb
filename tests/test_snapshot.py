"""The snapshot format: writing, loading (directory, .tar.gz, .zip) and every way it can break."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from zt_toolkit.errors import SnapshotError
from zt_toolkit.snapshot import (
    SCHEMA_VERSION,
    Coverage,
    Snapshot,
    SnapshotWriter,
    load_snapshot,
)

HAND_WRITTEN = Path(__file__).parent / "fixtures" / "snapshots" / "hand-written"


def pod(name: str, namespace: str = "shop", **extra: object) -> dict:
    return {
        "metadata": {"name": name, "namespace": namespace, **extra},
        "spec": {"containers": [{"name": "app", "image": f"shop/{name}:1"}]},
    }


PODS = [pod("api-1"), pod("api-2", managedFields=[{"manager": "kubectl"}]), pod("db-0")]
NAMESPACES = [{"metadata": {"name": n}} for n in ("shop", "kube-system")]
CLUSTER = {"cluster": {"name": "c1", "createdAt": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}}


def write_snapshot(path: Path) -> Path:
    with SnapshotWriter(
        path,
        source="live",
        cluster={"name": "c1", "region": "eu-west-1", "version": "1.30"},
        collected_at="2024-05-01T10:00:00+00:00",
    ) as w:
        w.write_k8s("pods", PODS, kind="PodList")
        w.write_k8s("namespaces", NAMESPACES, kind="NamespaceList", compress=True)
        w.write_k8s("deployments.apps", [], kind="DeploymentList", api_version="apps/v1")
        w.record_gap("k8s/secrets", "forbidden", "403 secrets is forbidden")
        w.write_aws(
            "eks",
            "describe_cluster",
            [{"params": {"name": "c1"}, "response": {**CLUSTER, "ResponseMetadata": {"x": 1}}}],
        )
        w.write_aws(
            "ecr",
            "get_repository_policy",
            [
                {
                    "params": {"repositoryName": "shop/api"},
                    "error": {"code": "RepositoryPolicyNotFoundException", "message": "none"},
                },
                {"params": {"repositoryName": "shop/db"}, "response": {"policyText": "{}"}},
            ],
        )
    return path


@pytest.fixture
def snap_dir(tmp_path: Path) -> Path:
    return write_snapshot(tmp_path / "snap")


def content(snap: Snapshot) -> dict:
    """Everything a snapshot holds, for comparing two of them."""
    return {
        "manifest": snap.manifest.to_json(),
        "k8s": {r: snap.k8s(r) for r in snap.k8s_resources()},
        "aws": {k: snap.aws(*k.split("/")[1:]) for k in snap.manifest.coverage if k[:4] == "aws/"},
    }


def damage(path: Path, transform) -> None:
    path.write_bytes(transform(path.read_bytes()))


def edit_manifest(root: Path, **changes: object) -> None:
    data = orjson.loads((root / "manifest.json").read_bytes())
    data.update(changes)
    (root / "manifest.json").write_bytes(orjson.dumps(data))


# ----- writing and loading -----------------------------------------------------------------------
def test_round_trip_directory(snap_dir: Path) -> None:
    snap = Snapshot.load(snap_dir)
    assert snap.source == "live"
    assert snap.cluster.name == "c1" and snap.cluster.region == "eu-west-1"
    assert snap.manifest.schema_version == SCHEMA_VERSION
    assert snap.manifest.collected_at == "2024-05-01T10:00:00+00:00"
    assert snap.k8s("pods")[0] == PODS[0]
    assert "managedFields" not in snap.k8s("pods")[1]["metadata"]
    assert [p["metadata"]["name"] for p in snap.k8s("pods")] == ["api-1", "api-2", "db-0"]
    assert snap.k8s("namespaces") == NAMESPACES
    assert snap.k8s("deployments.apps") == []
    assert snap.coverage("k8s/pods") == Coverage("ok", 3, "")
    assert snap.coverage("k8s/deployments.apps") == Coverage("ok", 0, "")
    assert snap.coverage("k8s/secrets").status == "forbidden"
    assert snap.k8s_resources() == ["deployments.apps", "namespaces", "pods", "secrets"]
    # ResponseMetadata dropped, datetimes as ISO strings
    assert snap.aws_response("eks", "describe_cluster", name="c1") == {
        "cluster": {"name": "c1", "createdAt": "2024-01-02T03:04:05+00:00"}
    }
    assert (snap_dir / "k8s" / "namespaces.json.gz").is_file()
    assert Snapshot.is_snapshot(snap_dir)


@pytest.mark.parametrize("name", ["copy", "copy.tar.gz", "copy.tgz", "copy.zip"])
def test_round_trip_save_and_load(snap_dir: Path, tmp_path: Path, name: str) -> None:
    original = Snapshot.load(snap_dir)
    saved = original.save(tmp_path / name)
    assert saved == tmp_path / name
    assert Snapshot.is_snapshot(saved)
    again = load_snapshot(saved)
    assert again.origin == saved
    assert content(again) == content(original)


def test_save_refuses_an_existing_path(snap_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "taken.zip").write_bytes(b"")
    with pytest.raises(SnapshotError, match="already exists"):
        Snapshot.load(snap_dir).save(tmp_path / "taken.zip")


def test_archive_with_one_top_folder(snap_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "sent-by-client.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(snap_dir, arcname="acme-prod-2024-05-01")
    assert content(Snapshot.load(archive)) == content(Snapshot.load(snap_dir))


def test_one_item_per_line_layout(snap_dir: Path) -> None:
    lines = (snap_dir / "k8s" / "pods.json").read_bytes().splitlines()
    assert lines[0] == b'{"apiVersion":"v1","kind":"PodList","metadata":{},"items":['
    assert [orjson.loads(line.lstrip(b","))["metadata"]["name"] for line in lines[1:-1]] == [
        "api-1",
        "api-2",
        "db-0",
    ]
    assert lines[-1] == b"]}"
    # and the whole file is one valid JSON List
    assert len(orjson.loads(b"\n".join(lines))["items"]) == 3


def test_iter_k8s_streams_item_by_item(snap_dir: Path) -> None:
    path = snap_dir / "k8s" / "pods.json"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b',{"metadata": {"name": "db-0"}\n'  # damaged, still ends with a brace
    path.write_bytes(b"".join(lines))
    items = Snapshot.load(snap_dir).iter_k8s("pods")
    # the first items arrive before the damaged line is read
    assert next(items)["metadata"]["name"] == "api-1"
    assert next(items)["metadata"]["name"] == "api-2"
    with pytest.raises(SnapshotError, match=r"pods\.json: damaged JSON after item 2"):
        next(items)


def test_hand_written_pretty_printed_snapshot() -> None:
    snap = Snapshot.load(HAND_WRITTEN)
    assert snap.cluster.account_id == "123456789012"
    assert [p["metadata"]["name"] for p in snap.iter_k8s("pods")] == ["api-7d9-a", "api-7d9-b"]
    assert snap.k8s("namespaces") == [{"metadata": {"name": "shop"}}]  # no count: not checked
    # an AWS file without a coverage entry counts as collected
    assert snap.coverage("aws/eks/describe_cluster") == Coverage("ok", 1, "")
    cluster = snap.aws_response("eks", "describe_cluster", name="hand-written")["cluster"]
    assert cluster["resourcesVpcConfig"]["endpointPublicAccess"] is False
    assert snap.coverage("k8s/secrets").describe("k8s/secrets") == (
        "k8s/secrets: forbidden (403 secrets is forbidden)"
    )


def test_hand_written_one_line_list_and_count_check(tmp_path: Path) -> None:
    root = tmp_path / "snap"
    shutil.copytree(HAND_WRITTEN, root)
    edit_manifest(
        root,
        coverage={"k8s/namespaces": {"status": "ok", "count": 2}},
    )
    with pytest.raises(SnapshotError, match="holds 1 items but manifest.json says 2") as err:
        Snapshot.load(root).k8s("namespaces")
    assert err.value.path == str(root / "k8s" / "namespaces.json")


def test_gzip_file(snap_dir: Path) -> None:
    raw = gzip.decompress((snap_dir / "k8s" / "namespaces.json.gz").read_bytes())
    assert raw.splitlines()[0].endswith(b'"items":[')
    assert Snapshot.load(snap_dir).k8s("namespaces") == NAMESPACES


def test_hand_written_gzip_file(snap_dir: Path) -> None:
    (snap_dir / "k8s" / "pods.json").unlink()
    doc = {"kind": "PodList", "items": PODS[:1]}
    (snap_dir / "k8s" / "pods.json.gz").write_bytes(gzip.compress(orjson.dumps(doc)))
    edit_manifest(snap_dir, coverage={"k8s/pods": {"status": "ok", "count": 1}})
    assert Snapshot.load(snap_dir).k8s("pods") == PODS[:1]


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:30] + bytes(x ^ 0xFF for x in b[30:60]) + b[60:], id="corrupt"),
    ],
)
def test_damaged_gzip_file(snap_dir: Path, transform) -> None:
    path = snap_dir / "k8s" / "namespaces.json.gz"
    big = [{"metadata": {"name": f"ns-{i}", "labels": {"i": str(i)}}} for i in range(2000)]
    path.write_bytes(gzip.compress(orjson.dumps({"kind": "NamespaceList", "items": big})))
    edit_manifest(snap_dir, coverage={"k8s/namespaces": {"status": "ok", "count": 2000}})
    damage(path, transform)
    snap = Snapshot.load(snap_dir)  # gzip damage shows when the file is read
    with pytest.raises(SnapshotError) as err:
        snap.k8s("namespaces")
    assert err.value.path == str(path)


# ----- coverage and AWS records ------------------------------------------------------------------
def test_not_collected_and_forbidden_resources_yield_nothing(snap_dir: Path) -> None:
    snap = Snapshot.load(snap_dir)
    assert list(snap.iter_k8s("nodes")) == []
    assert snap.coverage("k8s/nodes").status == "not_collected"
    assert not snap.has_k8s("nodes")
    assert list(snap.iter_k8s("secrets")) == []
    assert not snap.has_k8s("secrets") and snap.has_k8s("pods")
    assert snap.aws("guardduty", "list_detectors") == []
    assert snap.aws_response("guardduty", "list_detectors") is None


def test_a_gap_with_a_file_present_still_yields_nothing(snap_dir: Path) -> None:
    shutil.copy(snap_dir / "k8s" / "pods.json", snap_dir / "k8s" / "nodes.json")
    edit_manifest(snap_dir, coverage={"k8s/nodes": {"status": "error", "message": "timeout"}})
    assert list(Snapshot.load(snap_dir).iter_k8s("nodes")) == []


def test_aws_response_matching(tmp_path: Path) -> None:
    with SnapshotWriter(tmp_path / "s", source="demo", cluster={"name": "c"}) as w:
        w.write_aws(
            "iam",
            "get_role_policy",
            [
                {"params": {"RoleName": "a", "PolicyName": "p1"}, "response": {"n": 1}},
                {"params": {"RoleName": "a", "PolicyName": "p2"}, "response": {"n": 2}},
                {
                    "params": {"RoleName": "b", "PolicyName": "p1"},
                    "error": {"code": "NoSuchEntity", "message": "gone"},
                },
                {"params": {"RoleName": "b", "PolicyName": "p1"}, "response": {"n": 3}},
            ],
        )
    snap = Snapshot.load(tmp_path / "s")
    assert snap.aws_response("iam", "get_role_policy", RoleName="a", PolicyName="p2") == {"n": 2}
    assert snap.aws_response("iam", "get_role_policy", RoleName="a") == {"n": 1}  # first match
    assert snap.aws_response("iam", "get_role_policy") == {"n": 1}
    # error records are data, but not responses
    assert snap.aws_response("iam", "get_role_policy", RoleName="b") == {"n": 3}
    assert snap.aws_response("iam", "get_role_policy", RoleName="c") is None
    assert len(snap.aws("iam", "get_role_policy")) == 4


def test_aws_record_without_params(tmp_path: Path) -> None:
    """Hand-written files may leave out ``params`` of a call that takes none."""
    root = tmp_path / "snap"
    shutil.copytree(HAND_WRITTEN, root)
    (root / "aws" / "sts").mkdir()
    (root / "aws" / "sts" / "get_caller_identity.json").write_bytes(
        b'[{"response": {"Account": "123456789012"}}]'
    )
    snap = Snapshot.load(root)
    assert snap.aws_response("sts", "get_caller_identity") == {"Account": "123456789012"}
    assert snap.aws_response("sts", "get_caller_identity", Foo="x") is None


# ----- damaged snapshots: every error names the file ---------------------------------------------
def _rm(rel: str):
    return lambda root: (root / rel).unlink()


def _write(rel: str, data: bytes):
    def apply(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)

    return apply


def _manifest(**changes: object):
    return lambda root: edit_manifest(root, **changes)


def _coverage(key: str, entry: object):
    def apply(root: Path) -> None:
        data = orjson.loads((root / "manifest.json").read_bytes())
        data["coverage"][key] = entry
        (root / "manifest.json").write_bytes(orjson.dumps(data))

    return apply


def _truncate(rel: str, keep: int):
    return lambda root: damage(root / rel, lambda b: b[:keep])


DAMAGED = [
    ("missing manifest", _rm("manifest.json"), ".", "manifest.json is missing"),
    ("manifest not JSON", _write("manifest.json", b"{oops"), "manifest.json", "not valid JSON"),
    ("manifest a list", _write("manifest.json", b"[]"), "manifest.json", "not a JSON object"),
    (
        "unknown schema_version",
        _manifest(schema_version=99),
        "manifest.json",
        "unknown schema_version 99",
    ),
    ("no schema_version", _manifest(schema_version=None), "manifest.json", "schema_version"),
    ("unknown source", _manifest(source="cloud"), "manifest.json", "source 'cloud'"),
    ("cluster without name", _manifest(cluster={"arn": "x"}), "manifest.json", "with a name"),
    (
        "bad coverage status",
        _coverage("k8s/pods", {"status": "partial"}),
        "manifest.json",
        "coverage['k8s/pods'] needs a status",
    ),
    (
        "unknown coverage key",
        _coverage("gcp/gke/x", {"status": "ok"}),
        "manifest.json",
        "unknown coverage key",
    ),
    ("listed ok but missing", _rm("k8s/pods.json"), "k8s/pods.json", "file is missing"),
    (
        "listed ok but missing (gz)",
        _rm("k8s/namespaces.json.gz"),
        "k8s/namespaces.json",
        "file is missing",
    ),
    ("truncated k8s file", _truncate("k8s/pods.json", 150), "k8s/pods.json", "truncated"),
    ("empty k8s file", _write("k8s/pods.json", b""), "k8s/pods.json", "file is empty"),
    (
        "AWS file not a list",
        _write("aws/eks/describe_cluster.json", b'{"cluster": {}}'),
        "aws/eks/describe_cluster.json",
        "must be a JSON list",
    ),
    (
        "AWS file not JSON",
        _write("aws/eks/describe_cluster.json", b"[{"),
        "aws/eks/describe_cluster.json",
        "not valid JSON",
    ),
    (
        "AWS record with response and error",
        _write(
            "aws/eks/describe_cluster.json",
            b'[{"params": {}, "response": {}, "error": {"code": "X"}}]',
        ),
        "aws/eks/describe_cluster.json",
        "record 0 needs exactly one of response or error",
    ),
    (
        "AWS record with neither",
        _write(
            "aws/eks/describe_cluster.json", b'[{"params": {}, "response": {}}, {"params": {}}]'
        ),
        "aws/eks/describe_cluster.json",
        "record 1 needs exactly one of response or error",
    ),
    (
        "AWS error without code",
        _write("aws/eks/describe_cluster.json", b'[{"params": {}, "error": {"message": "x"}}]'),
        "aws/eks/describe_cluster.json",
        "error needs a code",
    ),
    (
        "AWS params not an object",
        _write("aws/eks/describe_cluster.json", b'[{"params": [], "response": {}}]'),
        "aws/eks/describe_cluster.json",
        "not an object with params",
    ),
    (
        "AWS file without coverage entry",
        _write("aws/kms/describe_key.json", b"{}"),
        "aws/kms/describe_key.json",
        "must be a JSON list",
    ),
    (
        "AWS listed ok but missing",
        _rm("aws/eks/describe_cluster.json"),
        "aws/eks/describe_cluster.json",
        "file is missing",
    ),
]


@pytest.mark.parametrize(
    ("break_it", "names", "problem"), [d[1:] for d in DAMAGED], ids=[d[0] for d in DAMAGED]
)
def test_damaged_snapshot_names_the_file(
    snap_dir: Path, break_it, names: str, problem: str
) -> None:
    break_it(snap_dir)
    with pytest.raises(SnapshotError) as err:
        Snapshot.load(snap_dir)
    assert problem in err.value.problem
    expected = snap_dir if names == "." else snap_dir / names
    assert err.value.path == str(expected)
    assert str(err.value).startswith(str(expected))


@pytest.mark.parametrize(
    ("break_it", "problem"),
    [
        # cut right after an item: the file still ends with a brace, the count gives it away
        (lambda p: damage(p, lambda b: b[: b.rindex(b"\n,")]), "holds 2 items but manifest"),
        (lambda p: damage(p, lambda b: b[: -len(b"]}\n")]), None),  # only the tail lost
        (lambda p: p.write_bytes(b'{"kind": "PodList", "items": {}}'), "not a Kubernetes List"),
        (lambda p: p.write_bytes(b'{"kind": "PodList"}'), "not a Kubernetes List"),
        (lambda p: p.write_bytes(b'{"kind": "PodList", "items": [{}, {}]}'), "holds 2 items"),
    ],
    ids=["truncated-at-item", "closing-line-lost", "items-not-list", "no-items", "count-mismatch"],
)
def test_damage_found_when_reading(snap_dir: Path, break_it, problem: str | None) -> None:
    path = snap_dir / "k8s" / "pods.json"
    break_it(path)
    snap = Snapshot.load(snap_dir)
    if problem is None:  # nothing was lost: all items are there and counted
        assert len(snap.k8s("pods")) == 3
        return
    with pytest.raises(SnapshotError, match=problem) as err:
        snap.k8s("pods")
    assert err.value.path == str(path)


def test_missing_snapshot_path(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no such snapshot") as err:
        Snapshot.load(tmp_path / "nope")
    assert err.value.path == str(tmp_path / "nope")


def _zip_with(path: Path, snap_dir: Path, extra: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for file in snap_dir.rglob("*"):
            if file.is_file():
                zf.write(file, file.relative_to(snap_dir).as_posix())
        for name, data in extra.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("member", ["../evil.txt", "k8s/../../evil.txt", "/tmp/evil.txt"])
def test_zip_with_path_traversal(snap_dir: Path, tmp_path: Path, member: str) -> None:
    archive = _zip_with(tmp_path / "evil.zip", snap_dir, {member: b"pwned"})
    with pytest.raises(SnapshotError, match="escapes the archive") as err:
        Snapshot.load(archive)
    assert err.value.path == str(archive)
    assert not (tmp_path / "evil.txt").exists()


def test_tar_with_path_traversal(snap_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(snap_dir, arcname=".")
        info = tarfile.TarInfo("../evil.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"pwned"))
    with pytest.raises(SnapshotError, match="archive is damaged") as err:
        Snapshot.load(archive)
    assert err.value.path == str(archive)
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("snap.zip", b"PK\x03\x04 not really", "archive is damaged"),
        ("snap.tar.gz", b"\x1f\x8b\x08 truncated", "archive is damaged"),
        ("snap.json", b"{}", "unknown archive type"),
    ],
)
def test_damaged_archives(tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(SnapshotError, match=problem) as err:
        Snapshot.load(tmp_path / name)
    assert err.value.path == str(tmp_path / name)


def test_archive_without_manifest(tmp_path: Path) -> None:
    archive = tmp_path / "empty.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a/manifest.json", b"{}")
        zf.writestr("b/manifest.json", b"{}")
    with pytest.raises(SnapshotError, match="holds no manifest.json"):
        Snapshot.load(archive)


# ----- the writer --------------------------------------------------------------------------------
def test_writer_leaves_nothing_when_aborted(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    with (
        pytest.raises(RuntimeError, match="collection failed"),
        SnapshotWriter(target, source="live", cluster={"name": "c"}) as w,
    ):
        w.write_k8s("pods", PODS, kind="PodList")
        raise RuntimeError("collection failed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no .partial-* folder either


def test_writer_aborted_inside_a_list(tmp_path: Path) -> None:
    def pages():
        yield PODS[0]
        raise ConnectionError("connection reset")

    with (
        pytest.raises(ConnectionError),
        SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "c"}) as w,
        w.k8s_list("pods", kind="PodList") as lw,
    ):
        lw.add(pages())
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_existing_path_unless_overwrite(snap_dir: Path) -> None:
    with pytest.raises(SnapshotError, match="already exists"):
        SnapshotWriter(snap_dir, source="demo", cluster={"name": "c"})
    with SnapshotWriter(snap_dir, source="demo", cluster={"name": "new"}, overwrite=True) as w:
        w.write_k8s("pods", [], kind="PodList")
    snap = Snapshot.load(snap_dir)
    assert snap.cluster.name == "new" and snap.k8s_resources() == ["pods"]
    assert not (snap_dir / "aws").exists()


def test_writer_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source"):
        SnapshotWriter(tmp_path / "s", source="cloud", cluster={"name": "c"})
    w = SnapshotWriter(tmp_path / "s", source="demo", cluster={"name": "c"})
    with pytest.raises(ValueError, match="gap"):
        w.record_gap("k8s/pods", "ok")
    with pytest.raises(ValueError, match="gap"):
        w.record_gap("k8s/pods", "partial")
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_writer_pages_and_default_timestamp(tmp_path: Path) -> None:
    w = SnapshotWriter(tmp_path / "s", source="demo", cluster={"name": "c"})
    with w.k8s_list("pods", kind="PodList") as lw:
        lw.add(PODS[:2])
        lw.add(PODS[2:])
    snap = Snapshot.load(w.close())
    assert snap.coverage("k8s/pods").count == 3
    assert datetime.fromisoformat(snap.manifest.collected_at).tzinfo is not None
