"""Live collection: one read-only pass over the cluster and its AWS account into a snapshot.

The Kubernetes side is collected first; what it found (IRSA role annotations, the image digests
that actually run) tells the AWS side which IAM roles and ECR scan results to read. Everything
is written into a temporary folder and moved into place at the end (or packed into one
``.tar.gz`` / ``.zip`` to hand over), so an interrupted collection leaves nothing half-written.
A source that is forbidden or fails is recorded in the manifest's coverage and the rest goes on.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zt_toolkit.snapshot import ARCHIVE_SUFFIXES, Coverage, Snapshot, SnapshotWriter
from zt_toolkit.sources.catalog import AWS_OPERATIONS, KUBE_RESOURCES

if TYPE_CHECKING:
    import boto3

log = logging.getLogger(__name__)


@dataclass
class CollectionResult:
    """Where the snapshot went and what could not be collected."""

    path: Path
    gaps: dict[str, Coverage] = field(default_factory=dict)
    kubernetes_requests: int = 0
    aws_calls: int = 0


def collect(
    out: Path,
    *,
    cluster: str,
    region: str | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool = False,
    profile: str | None = None,
    role_arn: str | None = None,
    external_id: str | None = None,
    audit_days: int = 7,
    skip_aws: bool = False,
    session: boto3.Session | None = None,
    progress: Callable[[str, int, bool], None] | None = None,
) -> CollectionResult:
    """Collect the cluster ``cluster`` and its AWS account into a snapshot at ``out``.

    ``out`` ending in ``.tar.gz``/``.tgz``/``.zip`` gives one archive file; otherwise a folder.
    ``session`` is a boto3 session to start from (default: from ``profile`` and ``region``).
    """
    from zt_toolkit.sources.kube import KubeCollectionError, collect_kubernetes

    archive = out.name.endswith(ARCHIVE_SUFFIXES)
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose a new path")
    target = Path(tempfile.mkdtemp(prefix="zt-collect-")) / "snapshot" if archive else out
    writer = SnapshotWriter(target, source="live", cluster={"name": cluster, "region": region})
    try:
        try:
            kube = collect_kubernetes(writer, kubeconfig=kubeconfig, context=context,
                                      in_cluster=in_cluster, progress=progress)
            kube_requests = len(kube.requests)
        except KubeCollectionError as exc:
            # the API server is unusable (credentials, network): keep going with AWS, and say
            # in the coverage why every Kubernetes source is missing
            log.error("Kubernetes not collected: %s", exc)
            for resource in KUBE_RESOURCES:
                writer.record_gap(f"k8s/{resource.key}", "error", str(exc))
            kube_requests = 0
        aws_calls = 0
        if skip_aws:
            for op in AWS_OPERATIONS:
                writer.record_gap(op.key, "not_collected", "zt collect --skip-aws")
        else:
            from zt_toolkit.sources import aws as aws_source

            written = writer.partial()  # what the Kubernetes side found tells AWS what to read
            aws = aws_source.collect_aws(
                writer, cluster_name=cluster, region=region, profile=profile, session=session,
                role_arn=role_arn, external_id=external_id, audit_days=audit_days,
                role_arns=aws_source.irsa_role_arns(written.iter_k8s("serviceaccounts")),
                image_digests=aws_source.running_ecr_images(written.iter_k8s("pods")),
                instance_ids=aws_source.node_instance_ids(written.iter_k8s("nodes")),
                progress=progress)
            aws_calls = len(aws.calls)
            info = writer.manifest.cluster
            info.account_id = info.account_id or aws.account_id
            info.region = info.region or aws.region
            if info.account_id and info.region and not info.arn:
                info.arn = f"arn:aws:eks:{info.region}:{info.account_id}:cluster/{cluster}"
        path = writer.close()
    except BaseException:
        writer.abort()
        raise
    if archive:
        Snapshot.load(path).save(out)
        shutil.rmtree(path.parent, ignore_errors=True)
        path = out
    gaps = {k: c for k, c in writer.manifest.coverage.items() if not c.ok}
    return CollectionResult(path, gaps, kube_requests, aws_calls)
