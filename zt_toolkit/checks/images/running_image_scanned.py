import pandas as pd

from zt_toolkit.checks.images._common import image_label, per_workload, scans_of_home_images
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="running_image_scanned",
    pillar=Pillar.IMAGES,
    severity=Severity.HIGH,
    title="Every running ECR image has a recent scan result",
    requires=("running_images", "image_scans"),
    reason="a running image is unscanned or its scan is too old",
    remediation="Scan the running digest now: `aws ecr start-image-scan --repository-name <repo> "
    "--image-id imageDigest=<digest>`; turn on enhanced (continuous) scanning so that running "
    "images are re-scanned when new CVEs are published.",
    references=("seed", "BPG image", "CIS 5.1.1"),
    parameters={"max_age_days": 30},
)
def running_image_scanned(frames, params) -> pd.DataFrame:
    """A scan result that is missing or stale says nothing about the CVEs published since.

    Every running image of the cluster account's ECR (by digest, as in
    running_image_vulnerabilities_absent) needs a COMPLETE or ACTIVE scan whose age at the
    snapshot's collection time (manifest ``collected_at``, not today: results are reproducible)
    is at most ``max_age_days`` (default 30) whole days. The age of an enhanced (ACTIVE,
    continuously re-scanned) result counts from the later of its scan and vulnerability-data
    times; a digest known from its active Amazon Inspector findings counts from Inspector's
    last observation (``lastObservedAt``) when that is newer than the ECR scan. Fails:
    never scanned (ScanNotFoundException), FAILED / UNSUPPORTED_IMAGE / SCAN_ELIGIBILITY_EXPIRED
    / in progress, a digest no longer in the repository (ImageNotFoundException), or too old.
    A workload with an image whose record was not collected is not assessed;
    images from other registries are not applicable. No record at all: not assessed.
    """
    max_days = int(params["max_age_days"])
    as_of = pd.to_datetime(frames.snapshot.manifest.collected_at, utc=True, format="ISO8601")
    joined, elsewhere = scans_of_home_images(frames)
    fresh_at = joined.completed_at
    active = joined.scan_status.eq("ACTIVE").fillna(False).astype(bool)
    later = joined.vulnerability_source_updated_at.where(
        joined.vulnerability_source_updated_at > fresh_at, fresh_at)
    fresh_at = later.where(active, fresh_at)
    age = as_of - fresh_at
    statuses, texts = [], []
    for r, a in zip(joined.itertuples(index=False), age, strict=True):
        label = image_label(r.container, r.repository, r.tag, r.digest)
        state = r.scan_status
        if pd.isna(state):
            statuses.append("not_assessed")
            texts.append(f"{label}: no scan record collected")
        elif state == "NOT_SCANNED":
            statuses.append("fail")
            texts.append(f"{label}: never scanned (ScanNotFoundException)")
        elif state == "ERROR":
            code = r.error_code if isinstance(r.error_code, str) else "error"
            gone = code == "ImageNotFoundException"
            statuses.append("fail" if gone else "not_assessed")
            texts.append(f"{label}: " + ("digest no longer in the repository, cannot be scanned"
                                         if gone else f"scan unreadable ({code})"))
        elif state in ("COMPLETE", "ACTIVE"):
            if pd.isna(a):
                statuses.append("fail")
                texts.append(f"{label}: {state} but no completion time")
            else:
                days = int(a // pd.Timedelta(days=1))
                stale = days > max_days
                statuses.append("fail" if stale else "pass")
                texts.append(f"{label}: scanned {days} days before collection"
                             + (f" (limit {max_days})" if stale else ""))
        else:
            statuses.append("fail")
            texts.append(f"{label}: scan status {state}"
                         + (f" ({r.status_description})" if isinstance(r.status_description, str)
                            else ""))
    judged = per_workload(joined, pd.Series(statuses, dtype=object),
                          pd.Series(texts, dtype=object),
                          precedence=("fail", "not_assessed", "not_applicable", "pass"))
    return pd.concat([judged, elsewhere], ignore_index=True)
