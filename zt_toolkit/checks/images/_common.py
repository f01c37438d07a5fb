"""Helpers shared by the images checks (this module registers no check)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.images import home_registry, scans_for_images


def short_digest(digest: object) -> str:
    """``sha256:0123456789ab`` (12 hex digits), or ``no digest``."""
    if not isinstance(digest, str) or ":" not in digest:
        return "no digest"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}"


def image_label(container: object, repository: object, tag: object, digest: object) -> str:
    """Format an image for details: ``"api" shop/api:1.4@sha256:0123456789ab``."""
    text = f'"{container}" {repository}'
    if isinstance(tag, str) and tag:
        text += f":{tag}"
    if isinstance(digest, str) and digest:
        text += f"@{short_digest(digest)}"
    return text


def require_home_account(frames) -> str:
    """Return the account of the cluster's own ECR, or raise :class:`NotAssessed`."""
    account, _ = home_registry(frames)
    if not account:
        raise NotAssessed("the cluster's AWS account is unknown (no account_id or cluster ARN in "
                          "the manifest, no describe_cluster, sts or ECR data): cannot tell which "
                          "images come from its own ECR")
    return account


def per_workload(rows: pd.DataFrame, status: pd.Series, text: pd.Series,
                 precedence: Sequence[str] = ("fail", "not_applicable", "pass"),
                 limit: int = 6) -> pd.DataFrame:
    """Aggregate per-image rows into one result per workload (``kind, namespace, name``).

    The workload takes the first status of ``precedence`` that any of its rows has; the detail
    lists the texts of the rows with that status first, then the others, ``limit`` at most.
    """
    if rows.empty:
        return pd.DataFrame(columns=[*KEY, "status", "detail"])
    rank = {s: i for i, s in enumerate(precedence)}
    df = rows[KEY].copy()
    df["status"] = status.to_numpy()
    df["text"] = text.fillna("").astype(str).to_numpy()
    df["rank"] = df["status"].map(rank)
    df = df.sort_values([*KEY, "rank"], kind="stable")
    out = []
    for key, group in df.groupby(KEY, sort=False):
        texts = [t for t in dict.fromkeys(group["text"]) if t]
        shown = "; ".join(texts[:limit]) + (f"; and {len(texts) - limit} more"
                                             if len(texts) > limit else "")
        out.append({**dict(zip(KEY, key, strict=True)), "status": group["status"].iloc[0],
                    "detail": shown})
    return pd.DataFrame(out)


def scans_of_home_images(frames) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Running images of the account's own ECR joined to their scan records.

    Returns ``(joined, elsewhere)``: the joined image rows, and not_applicable result rows for
    the workloads whose images all come from other registries. Raises :class:`NotAssessed`
    when no running ECR image has a scan record at all.
    """
    account = require_home_account(frames)
    ri = frames.running_images
    home = ri.ecr_account.eq(account).fillna(False).astype(bool)
    joined = scans_for_images(ri[home], frames.image_scans, account)
    if not joined.empty and joined.scan_status.isna().all():
        raise NotAssessed("no describe_image_scan_findings record or Inspector finding for any "
                          f"running image of the account's ECR ({len(joined)} images)")
    others = ri[~home]
    outside = others[~others.set_index(KEY).index.isin(joined.set_index(KEY).index)]
    elsewhere = per_workload(outside, pd.Series(["not_applicable"] * len(outside), dtype=object),
                             ('"' + outside.container + '" ' + outside.image.astype(str)
                              + ": not from the account's ECR").reset_index(drop=True))
    return joined, elsewhere
