import pandas as pd

from zt_toolkit.checks.helpers import cluster_result, join_names
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.pod_security.admission_policy_engine_enforcing import describe_policies
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.images import admission_gaps, sigstore_namespaces


@check(
    id="admission_image_policy_enforced",
    pillar=Pillar.IMAGES,
    severity=Severity.HIGH,
    title="Admission blocks unsigned or unverified images",
    requires=("admission_policies",),
    reason="no admission policy verifies images before they run",
    remediation="Verify images at admission: a Kyverno ClusterPolicy with verifyImages "
    "(attestors for your signing key, attestations for the scan result) and failureAction: "
    "Enforce, or the sigstore policy-controller with a ClusterImagePolicy and the namespaces "
    "labelled policy.sigstore.dev/include=true, or Ratify with Gatekeeper. Sign images in CI "
    "(cosign / Notation with AWS Signer).",
    references=("seed", "BPG image", "KS C-0236", "KS C-0237"),
)
def admission_image_policy_enforced(frames) -> pd.DataFrame:
    """Without verification at admission any image that reaches a node runs, signed or not.

    Passes when an enforcing policy verifies images: Kyverno verifyImages rules (or an
    ImageValidatingPolicy) in Enforce, a sigstore ClusterImagePolicy in enforce mode with at
    least one namespace opted in (policy.sigstore.dev/include=true, when namespaces are known),
    or a Gatekeeper constraint that calls an external data provider (Ratify, cosign-gatekeeper).
    Policies that only restrict image references (allowed registries, no latest tag, digest
    pinning; ValidatingAdmissionPolicy CEL cannot verify signatures) do not block a vulnerable
    or unsigned image and do not pass; the detail lists them. Not assessed when nothing
    verifying was found while the policies of a registered engine were not collected.
    """
    pol = frames.admission_policies
    enforced = pol[pol.image_verification_enforced.map(len) > 0]
    notes = []
    if not enforced.empty and "sigstore" in set(enforced.engine):
        opted = sigstore_namespaces(frames)
        if opted == []:
            enforced = enforced[enforced.engine != "sigstore"]
            notes.append("sigstore ClusterImagePolicies enforce, but no namespace is labelled "
                         "policy.sigstore.dev/include=true")
        elif opted:
            notes.append(f"sigstore applies in namespaces {join_names(opted, 5)}")
    if not enforced.empty:
        detail = "verified: " + describe_policies(enforced, "image_verification_enforced")
        return cluster_result(frames, failed=False, detail="; ".join([detail, *notes]))
    gaps = admission_gaps(frames, images=True)
    if gaps:
        raise NotAssessed("no enforcing image verification found, but " + "; ".join(gaps))
    seen = list(notes)
    for column, label in (("image_verification_audited", "verification in audit only"),
                          ("image_reference_rules_enforced",
                           "enforced, but on image references only")):
        text = describe_policies(pol, column)
        if text:
            seen.append(f"{label}: {text}")
    detail = "; ".join(seen) if seen else "no admission policy inspects images"
    return cluster_result(frames, failed=True, detail=detail)
