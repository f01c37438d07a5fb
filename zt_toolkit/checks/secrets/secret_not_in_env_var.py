import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


def _describe(rows: pd.DataFrame) -> str:
    """``container "api": env TOKEN ← secret api-jwt, envFrom secret app-env`` per container."""
    parts = []
    for container, g in rows.groupby("container", sort=False):
        what = [f"env {r.env_var} ← secret {r.secret}" if r.via == "env"
                else f"envFrom secret {r.secret}" for r in g.itertuples(index=False)]
        parts.append(f'container "{container}": ' + ", ".join(what))
    return "; ".join(parts)


@check(
    id="secret_not_in_env_var",
    pillar=Pillar.SECRETS,
    severity=Severity.MEDIUM,
    title="Containers read Secrets from mounted files, not environment variables",
    requires=("workloads", "secret_consumers"),
    reason="Secret exposed as environment variable",
    remediation="Mount the Secret as a read-only volume and read the file, e.g. volumes: "
    "[{name: db, secret: {secretName: db-creds}}] and volumeMounts: [{name: db, mountPath: "
    "/var/run/secrets/db, readOnly: true}]; remove env[].valueFrom.secretKeyRef and "
    "envFrom[].secretRef.",
    references=("CIS 4.4.1", "KS C-0207", "PW core_no_secrets_envs", "BPG data"),
)
def secret_not_in_env_var(frames) -> pd.DataFrame:
    """Environment variables leak, and cannot be updated without a restart.

    Crash dumps, debug endpoints, child processes and logging of the environment expose them.

    Every workload is evaluated, init and ephemeral containers included; both
    env[].valueFrom.secretKeyRef and envFrom[].secretRef count. A Secret synced by an external
    store (CSI secretObjects, External Secrets) still fails when read through env. Reads the
    ``secret_consumers`` frame, as external_secret_store_used and the secrets view's
    consumption matrix do, so that the three agree per workload.
    """
    c = frames.secret_consumers
    env = c[c.via.isin(["env", "envFrom"])]
    offenders = (env.groupby(KEY, sort=False)[["container", "via", "secret", "env_var"]]
                 .apply(_describe))
    out = frames.workloads[KEY].drop_duplicates().reset_index(drop=True)
    detail = offenders.reindex(pd.MultiIndex.from_frame(out)) if len(offenders) else \
        pd.Series([None] * len(out), dtype=object)
    out["status"] = ["fail" if isinstance(d, str) else "pass" for d in detail]
    out["detail"] = [d if isinstance(d, str) else "no Secret read through env or envFrom"
                     for d in detail]
    return out
