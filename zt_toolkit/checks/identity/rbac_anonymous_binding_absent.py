import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check

ANONYMOUS = ("system:anonymous", "system:unauthenticated")
PUBLIC_INFO = "system:public-info-viewer"


@check(
    id="rbac_anonymous_binding_absent",
    pillar=Pillar.IDENTITY,
    severity=Severity.CRITICAL,
    title="No binding grants rights to system:anonymous or system:unauthenticated",
    requires=("role_bindings", "rbac_rules"),
    reason="binding grants rights to unauthenticated requests",
    remediation="kubectl delete clusterrolebinding <name> (or rolebinding <name> -n <ns>), or "
    "remove the system:anonymous / system:unauthenticated subject from it.",
    references=("KS C-0262", "BPG iam", "CIS 4.1.1"),
)
def rbac_anonymous_binding_absent(frames) -> pd.DataFrame:
    """A binding to system:anonymous or system:unauthenticated grants its rights to the internet.

    One row per binding. The Kubernetes default binding of system:public-info-viewer (read of
    /healthz, /livez, /readyz, /version) passes as long as that ClusterRole grants non-resource
    URLs only; the subjects are matched by name whatever their kind (User or Group).
    """
    b = frames.role_bindings
    rules = frames.rbac_rules
    info_rules = rules[(rules["kind"] == "ClusterRole") & (rules["name"] == PUBLIC_INFO)]
    info_safe = info_rules["resources"].map(len).eq(0).all()
    anon = b[b["subject_name"].isin(ANONYMOUS)]
    default = (anon["role_kind"].eq("ClusterRole") & anon["role_name"].eq(PUBLIC_INFO)
               & bool(info_safe))
    bad = anon[~default]
    text = (bad["subject_kind"] + ' "' + bad["subject_name"] + '" to ' + bad["role_kind"] + ' "'
            + bad["role_name"] + '"')
    found = (pd.DataFrame({**{k: bad[k] for k in KEY}, "text": text})
             .groupby(KEY, sort=False)["text"].agg(", ".join))
    out = b[KEY].drop_duplicates().reset_index(drop=True)
    detail = found.reindex(pd.MultiIndex.from_frame(out))
    out["status"] = ["fail" if isinstance(d, str) else "pass" for d in detail]
    out["detail"] = [f"binds {d}" if isinstance(d, str) else "" for d in detail]
    ok_default = anon[default][KEY].drop_duplicates()
    if not ok_default.empty:
        keys = pd.MultiIndex.from_frame(out[KEY]).isin(pd.MultiIndex.from_frame(ok_default))
        out.loc[keys & (out["status"] == "pass"), "detail"] = (
            "Kubernetes default: unauthenticated read of /healthz, /livez, /readyz, /version")
    return out
