import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.workloads import WORKLOAD_SOURCES


def _values(n) -> str:
    n = int(n) if pd.notna(n) else 0
    return f"{n} value" + ("" if n == 1 else "s")


def _unscanned(frames) -> list[str]:
    """Halves of the scan whose sources are missing (the frames need only one of them)."""
    snap = frames.snapshot
    gaps = []
    if not snap.coverage("k8s/configmaps").ok:
        gaps.append("ConfigMaps not scanned (" + snap.coverage("k8s/configmaps").describe(
            "k8s/configmaps") + ")")
    if not any(snap.coverage(k).ok for k in WORKLOAD_SOURCES):
        gaps.append("workloads not scanned (neither pods nor controllers collected)")
    return gaps


@check(
    id="plaintext_credentials_absent",
    pillar=Pillar.SECRETS,
    severity=Severity.CRITICAL,
    title="No credential is written in plain text in an env value, argument or ConfigMap",
    requires=("redaction_markers", "redaction_scope"),
    reason="plaintext credential in workload spec or ConfigMap",
    remediation="Rotate the exposed credential first (it is in etcd, in Git and in every "
    "`kubectl get -o yaml`), then move it to a Secret fed by an external store (Secrets Store "
    "CSI driver or External Secrets Operator) and reference it with a volume; never put it in "
    "env[].value, args or ConfigMap data.",
    references=("KS C-0012", "KS C-0259", "CIS 4.4.1", "BPG data"),
)
def plaintext_credentials_absent(frames) -> pd.DataFrame:
    """Plaintext credentials are readable by anyone who can read the object that holds them.

    They also sit unencrypted in Git and Helm values, and never rotate.

    Collection and import replace such values with a redaction marker (AWS keys, private keys,
    tokens, passwords by key name ...); this check reports where the markers are and of which
    kind, never the value. Rows: every workload whose containers (init, regular, ephemeral)
    have env values, args or probe headers, and every ConfigMap with data (kube-system/aws-auth
    is never redacted and not judged here). When ConfigMaps or workloads were not collected and
    nothing was found in the other half, the check is not_assessed, not a pass.
    """
    markers, scope = frames.redaction_markers, frames.redaction_scope
    gaps = _unscanned(frames)
    if gaps and markers.empty:
        raise NotAssessed("; ".join(gaps) + "; nothing flagged in what was scanned")
    desc = markers.location + " (" + markers.marker_kind + ", " + markers.length.astype(
        str) + " chars)"
    offenders = (pd.DataFrame({**{k: markers[k] for k in KEY}, "what": desc})
                 .groupby(KEY, sort=False)["what"].agg("; ".join))
    out = pd.concat([markers[KEY], scope[KEY]]).drop_duplicates().reset_index(drop=True)
    idx = pd.MultiIndex.from_frame(out)
    detail = offenders.reindex(idx)
    note = f" [{'; '.join(gaps)}]" if gaps else ""
    out["status"] = ["fail" if isinstance(d, str) else "pass" for d in detail]
    counts = scope.set_index(KEY)["values"].reindex(idx)
    out["detail"] = [f"{d}{note}" if isinstance(d, str) else f"no credential flagged in "
                     f"{_values(n)} scanned{note}" for d, n in zip(detail, counts, strict=True)]
    return out
