import numpy as np
import pandas as pd

from zt_toolkit.analysis.admission import (
    AdmissionVerdict,
    ImageAdmission,
    vulnerable_image_answer,
)
from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.images._common import image_label, per_workload, scans_of_home_images
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.images import SCAN_RESULT_STATUSES, Vulnerability


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
    "describe-image-scan-findings --repository-name <repo> --image-id imageDigest=<digest>` "
    "(or, under enhanced scanning, `aws inspector2 list-findings --filter-criteria "
    "'{\"ecrImageHash\":[{\"comparison\":\"EQUALS\",\"value\":\"<digest>\"}]}'`, which "
    "names the fixed-in versions).",
    references=("seed", "KS C-0083", "PW ecr_repositories_scan_vulnerabilities_in_latest_image",
                "BPG image"),
    parameters={"severities": ["CRITICAL", "HIGH"]},
)
def running_image_vulnerabilities_absent(frames, params) -> pd.DataFrame:
    """A known Critical/High vulnerability in an image that runs is the shortest path in.

    The digest that actually runs (pod status imageID) is joined to its scan result in the
    cluster account's registry: the ECR scan findings or the active Amazon Inspector findings
    of that digest, whichever is newer (``image_scans``; either source alone will do; Inspector
    lists only images that have findings, so an image it does not list is not known clean).
    Without pods, a digest pinned in the template, or else a scan record of the same tag, is
    used (the detail says so). The severities counted are a parameter
    (default CRITICAL, HIGH). One row per workload: fail when any of its images has a counted
    finding (detail: image, digest, counts, first CVEs); pass when every scanned image is clean.
    Images outside the account's ECR, and images that were never scanned, cannot be judged
    here: a workload with an image that has no scan result is not assessed ("no scan result",
    unless another image already fails), and running_image_scanned reports the missing scans.
    When no running ECR image has a scan record the check is not assessed.

    A failing image's detail names its worst CVEs with the package and, when the (enhanced)
    finding gives one, the fixed-in version, and says whether admission would have blocked it
    (:func:`zt_toolkit.analysis.admission.evaluate_image_admission`): no enforcing policy covers it,
    a policy covers it in audit only, or an enforcing policy covers it, which blocks a vulnerable
    image only when it verifies a vulnerability attestation (a signature-only policy admits a
    signed image with CVEs). A failing row's severity is that of its worst counted finding
    (critical, high, ...), not always the check's default.
    """
    severities = [str(s).upper() for s in params["severities"]]
    joined, elsewhere = scans_of_home_images(frames)
    has_result = joined.scan_status.isin(SCAN_RESULT_STATUSES).to_numpy()
    counts = joined.severity_counts.map(
        lambda d: {s: int(d.get(s, 0)) for s in severities} if isinstance(d, dict) else {})
    total = counts.map(lambda d: sum(d.values())).to_numpy()
    vulnerable = has_result & (total > 0)
    admission = ImageAdmission(frames)
    texts, worst = [], []
    for r, c in zip(joined.itertuples(index=False), counts, strict=True):
        label = image_label(r.container, r.repository, r.tag, r.digest)
        if isinstance(r.matched_by, str) and r.matched_by == "tag":
            label += " (scan matched by tag)"
        worst.append(next((s.lower() for s in SEVERITY_RANK if c.get(s)), None))
        if r.scan_status in SCAN_RESULT_STATUSES:
            found = ", ".join(f"{n} {s}" for s, n in c.items() if n)
            if found:
                cves = _worst_cves(r.vulnerabilities, r.findings, severities)
                texts.append(f"{label}: {found}" + (f" ({', '.join(cves)})" if cves else "")
                             + "; " + _admission_text(admission(r.namespace, r.image)))
            else:
                texts.append(f"{label}: no {'/'.join(severities)} finding")
        else:
            texts.append(f"{label}: no scan result")
    # an image without a scan result may carry anything: not assessed, never a pass
    status = np.where(vulnerable, "fail", np.where(has_result, "pass", "not_assessed"))
    judged = per_workload(joined, pd.Series(status), pd.Series(texts, dtype=object),
                          precedence=("fail", "not_assessed", "pass"))
    if not judged.empty:
        grade = pd.DataFrame({**{k: joined[k].to_numpy() for k in KEY},
                              "severity": pd.Series(worst, dtype=object).where(
                                  pd.Series(vulnerable)).to_numpy()})
        rank = grade["severity"].map({s.lower(): i for i, s in enumerate(SEVERITY_RANK)})
        grade = (grade.assign(rank=rank).dropna(subset=["rank"]).sort_values("rank")
                 .drop_duplicates(KEY)[[*KEY, "severity"]])
        judged = judged.merge(grade, on=KEY, how="left")
        judged["severity"] = judged["severity"].where(judged["status"].eq("fail"))
    return pd.concat([judged, elsewhere], ignore_index=True)


SEVERITY_RANK = ("CRITICAL", "HIGH", "MEDIUM", "LOW")


def _worst_cves(vulns: object, findings: object, severities: list[str], n: int = 3) -> list[str]:
    """``CVE-… (expat 2.6.2-r0, fixed in 2.6.3-r0)`` for the ``n`` worst counted findings."""
    if isinstance(vulns, tuple) and vulns:
        out = []
        for v in vulns:
            if not isinstance(v, Vulnerability) or v.severity not in severities:
                continue
            pkg = " ".join(p for p in (v.package, v.version or "") if p)
            fix = f", fixed in {v.fixed_in}" if v.fixed_in else ""
            text = f"{v.id} ({pkg}{fix})" if pkg or fix else v.id
            if text not in out:
                out.append(text)
        return out[:n]
    return [f[0] for f in findings if f[1] in severities][:n] if isinstance(findings, tuple) \
        else []


def _admission_text(v: AdmissionVerdict) -> str:
    answer, why = vulnerable_image_answer(v)
    return f"would admission block it? {answer}: {why}"
