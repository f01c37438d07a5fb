import numpy as np
import pandas as pd

from zt_toolkit.checks.images._common import image_label, per_workload, scans_of_home_images
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.images import SCAN_RESULT_STATUSES


@check(
    id="running_image_vulnerabilities_absent",
    pillar=Pillar.IMAGES,
    severity=Severity.CRITICAL,
    title="No running image has a Critical or High vulnerability finding",
    requires=("running_images", "image_scans"),
    reason="a running image has findings at or above the threshold",
    remediation="Rebuild the image on a patched base (or bump the vulnerable package), push it "
    "and roll the workload: `kubectl -n <ns> set image deployment/<name> "
    "<container>=<repo>@<new digest>`; read the findings with `aws ecr "
    "describe-image-scan-findings --repository-name <repo> --image-id imageDigest=<digest>`.",
    references=("seed", "KS C-0083", "PW ecr_repositories_scan_vulnerabilities_in_latest_image",
                "BPG image"),
    parameters={"severities": ["CRITICAL", "HIGH"]},
)
def running_image_vulnerabilities_absent(frames, params) -> pd.DataFrame:
    """A known Critical/High vulnerability in an image that runs is the shortest path in.

    The digest that actually runs (pod status imageID) is joined to its ECR scan result in the
    cluster account's registry; without pods, a digest pinned in the template, or else a scan
    record of the same tag, is used (the detail says so). The severities counted are a parameter
    (default CRITICAL, HIGH). One row per workload: fail when any of its images has a counted
    finding (detail: image, digest, counts, first CVEs); pass when every scanned image is clean.
    Images outside the account's ECR, and images that were never scanned, cannot be judged
    here: a workload with an image that has no scan result is not assessed ("no scan result",
    unless another image already fails), and running_image_scanned reports the missing scans.
    When no running ECR image has a scan record the check is not assessed.
    """
    severities = [str(s).upper() for s in params["severities"]]
    joined, elsewhere = scans_of_home_images(frames)
    has_result = joined.scan_status.isin(SCAN_RESULT_STATUSES).to_numpy()
    counts = joined.severity_counts.map(
        lambda d: {s: int(d.get(s, 0)) for s in severities} if isinstance(d, dict) else {})
    total = counts.map(lambda d: sum(d.values())).to_numpy()
    vulnerable = has_result & (total > 0)
    texts = []
    for r, c in zip(joined.itertuples(index=False), counts, strict=True):
        label = image_label(r.container, r.repository, r.tag, r.digest)
        if r.matched_by == "tag":
            label += " (scan matched by tag)"
        if r.scan_status in SCAN_RESULT_STATUSES:
            found = ", ".join(f"{n} {s}" for s, n in c.items() if n)
            if found:
                cves = [f[0] for f in r.findings if f[1] in severities][:3]
                texts.append(f"{label}: {found}" + (f" ({', '.join(cves)})" if cves else ""))
            else:
                texts.append(f"{label}: no {'/'.join(severities)} finding")
        else:
            texts.append(f"{label}: no scan result")
    # an image without a scan result may carry anything: not assessed, never a pass
    status = np.where(vulnerable, "fail", np.where(has_result, "pass", "not_assessed"))
    judged = per_workload(joined, pd.Series(status), pd.Series(texts, dtype=object),
                          precedence=("fail", "not_assessed", "pass"))
    return pd.concat([judged, elsewhere], ignore_index=True)
