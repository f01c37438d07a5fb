import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


def _describe(container: str, refs: tuple, env_from: tuple) -> str:
    parts = [f"env {var} ← secret {secret}" for var, secret in refs]
    parts += [f"envFrom secret {secret}" for secret in env_from]
    return f'container "{container}": ' + ", ".join(parts)


@check(
    id="secret_not_in_env_var",
    pillar=Pillar.SECRETS,
    severity=Severity.MEDIUM,
    title="Containers read Secrets from mounted files, not environment variables",
    requires=("containers",),
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
    store (CSI secretObjects, External Secrets) still fails when read through env.
    """
    c = frames.containers
    failed = (c.env_secret_refs.map(len).gt(0) | c.env_from_secrets.map(len).gt(0)).astype(bool)
    bad = c[failed]
    offenders = pd.DataFrame({
        **{k: bad[k] for k in KEY},
        "what": [_describe(n, r, f) for n, r, f in
                 zip(bad.container, bad.env_secret_refs, bad.env_from_secrets, strict=True)],
    }).groupby(KEY, sort=False)["what"].agg("; ".join)
    out = c[KEY].drop_duplicates().reset_index(drop=True)
    detail = offenders.reindex(pd.MultiIndex.from_frame(out))
    out["status"] = ["fail" if isinstance(d, str) else "pass" for d in detail]
    out["detail"] = [d if isinstance(d, str) else "no Secret read through env or envFrom"
                     for d in detail]
    return out
