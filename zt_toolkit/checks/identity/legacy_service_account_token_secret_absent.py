import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="legacy_service_account_token_secret_absent",
    pillar=Pillar.IDENTITY,
    severity=Severity.MEDIUM,
    title="No Secret holds a long-lived legacy service account token",
    requires=("secret_objects",),
    reason="legacy service account token Secret",
    remediation="Delete the Secret (kubectl delete secret <name> -n <ns>) and use short-lived "
    "tokens: projected volumes in pods, kubectl create token <sa> --duration=1h for tools, or "
    "IAM identities (EKS access entries) for people and CI.",
    references=("KS C-0287", "BPG iam", "CIS 4.1.6"),
)
def legacy_service_account_token_secret_absent(frames) -> pd.DataFrame:
    """A legacy token Secret holds an API token that never expires and works wherever copied.

    It is not bound to a pod and keeps working in CI variables, laptops and tickets until the
    Secret is deleted; anyone who can read Secrets in the namespace gets it. The snapshot holds
    Secret metadata only, so a legacy token is recognised by its
    kubernetes.io/service-account.name annotation. A token the legacy-token cleaner has marked
    invalid (label kubernetes.io/legacy-token-invalid-since) passes with that noted; the detail
    gives the last-used date when the API server recorded one.
    """
    s = frames.secret_objects
    token = s["service_account"].notna().to_numpy()
    invalid = s["legacy_token_invalid_since"].notna().to_numpy()
    used = s["legacy_token_last_used"].fillna("").astype(str)
    what = 'token of ServiceAccount "' + s["service_account"].fillna("").astype(str) + '"'
    detail = np.where(
        token & invalid,
        what + " invalidated since " + s["legacy_token_invalid_since"].fillna("").astype(str),
        np.where(token, what + np.where(used != "", " (last used " + used + ")",
                                        " (no last-used record)"), ""))
    out = s[KEY].reset_index(drop=True)
    out["status"] = np.where(token & ~invalid, "fail", "pass")
    out["detail"] = detail
    return out
