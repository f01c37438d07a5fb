"""Case files: small snapshots written as YAML, named by the outcome they expect.

``tests/checks/cases/<check_id>/<outcome>-<what>.yaml`` where outcome is ``pass``, ``fail``,
``not_assessed`` or ``not_applicable``::

    k8s:                      # Kubernetes objects as in a manifest (imported like `zt import`)
      - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
    aws:                      # AWS records per "service/operation", in the snapshot's format
      eks/describe_cluster:
        - params: {name: case-cluster}
          response: {cluster: {...}}
    config: {...}             # optional engagement config (parameters, segmentation, waivers)
    coverage:                 # optional: coverage entries set after the import, so that a case
      k8s/pods: forbidden     # can lose data that the import marks collected (core resources)
    expect:                   # optional per-resource statuses: "Kind/namespace/name": status
      Deployment/shop/api: fail

A ``pass`` case asserts every row of the check passes, a ``fail`` case that at least one fails,
a ``not_assessed``/``not_applicable`` case that this outcome appears and no row fails,
and ``expect`` pins the status of named resources.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import yaml

from zt_toolkit.config import EngagementConfig
from zt_toolkit.frames import Frames
from zt_toolkit.manifests import import_manifests
from zt_toolkit.snapshot import COVERAGE_STATUSES, Snapshot

CASES = Path(__file__).parent / "cases"
OUTCOMES = ("pass", "fail", "not_assessed", "not_applicable")
CLUSTER = "case-cluster"


def case_files() -> list[Path]:
    return sorted(CASES.glob("*/*.yaml"))


def outcome_of(path: Path) -> str:
    prefix = path.stem.split("-", 1)[0]
    if prefix not in OUTCOMES:
        raise ValueError(f"{path}: name must start with one of {OUTCOMES}")
    return prefix


def build_case_frames(case: dict[str, Any], tmp: Path) -> Frames:
    """Write the case as manifests + AWS records, import it, and return its frames."""
    k8s_file = tmp / "manifests" / "objects.yaml"
    k8s_file.parent.mkdir(parents=True)
    k8s_file.write_text(yaml.safe_dump_all(case.get("k8s") or []))
    aws_dir = None
    if case.get("aws"):
        aws_dir = tmp / "aws"
        for key, records in case["aws"].items():
            service, operation = key.split("/")
            (aws_dir / service).mkdir(parents=True, exist_ok=True)
            (aws_dir / service / f"{operation}.json").write_bytes(
                orjson.dumps(records, default=str))
    result = import_manifests([k8s_file.parent], tmp / "snapshot", aws_dir=aws_dir,
                              cluster_name=CLUSTER)
    if case.get("coverage"):
        _override_coverage(result.snapshot, case["coverage"])
    snap = Snapshot.load(result.snapshot)
    return Frames(snap, EngagementConfig.from_dict(case.get("config") or {}))


def _override_coverage(snapshot: Path, coverage: dict[str, str]) -> None:
    """Mark sources as lost (forbidden, error, not_collected, ...) in the imported snapshot."""
    manifest_path = snapshot / "manifest.json"
    manifest = orjson.loads(manifest_path.read_bytes())
    for key, status in coverage.items():
        if status not in COVERAGE_STATUSES or status == "ok":
            raise ValueError(f"coverage[{key!r}]: {status!r} is not a lost-data status "
                             f"(one of {[s for s in COVERAGE_STATUSES if s != 'ok']})")
        manifest["coverage"][key] = {"status": status, "count": None,
                                     "message": f"{status} (case file)"}
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
