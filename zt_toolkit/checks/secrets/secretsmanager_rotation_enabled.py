from typing import Any

import pandas as pd

from zt_toolkit.checks.helpers import results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.secrets import (
    CLUSTER_STORE_RESOURCE,
    EXTERNAL_SECRET_RESOURCE,
    SPC_RESOURCE,
    optional_gaps,
    plain,
    secret_reference_resolver,
)


def _users(frames) -> dict[str, list[str]]:
    """Secrets Manager references (name or ARN) → the cluster objects that use them."""
    refs: dict[str, list[str]] = {}
    for spc in frames.secret_provider_classes.itertuples(index=False):
        if spc.provider != "aws":
            continue
        for otype, name in spc.objects:
            if otype == "secretsmanager" or ":secretsmanager:" in name:
                refs.setdefault(name, []).append(f"SecretProviderClass {spc.namespace}/{spc.name}")
    for es in frames.external_secrets.itertuples(index=False):
        provider = es.store_provider if isinstance(es.store_provider, str) else None
        if provider is not None and provider != "aws SecretsManager":
            continue  # Parameter Store, Vault ...: not a Secrets Manager secret
        for key in es.remote_keys:
            refs.setdefault(key, []).append(f"ExternalSecret {es.namespace}/{es.name}"
                                            + ("" if provider else " (store provider unknown)"))
    return refs


def _tagged_for(tags: dict[str, Any], cluster: str) -> bool:
    return f"kubernetes.io/cluster/{cluster}" in tags or any(
        "cluster" in str(k).lower() and v == cluster for k, v in tags.items())


@check(
    id="secretsmanager_rotation_enabled",
    pillar=Pillar.SECRETS,
    severity=Severity.MEDIUM,
    title="Secrets Manager secrets used by the cluster rotate automatically",
    requires=("secretsmanager_secrets",),
    reason="Secrets Manager rotation disabled",
    remediation="aws secretsmanager rotate-secret --secret-id <name> --rotation-lambda-arn "
    "<arn> --rotation-rules AutomaticallyAfterDays=30 (for RDS/Redshift/DocumentDB use managed "
    "rotation); make sure the workload re-reads the secret (CSI driver rotation "
    "--enable-secret-rotation, or External Secrets refreshInterval).",
    references=("PW secretsmanager_automatic_rotation_enabled", "BPG data"),
)
def secretsmanager_rotation_enabled(frames) -> pd.DataFrame:
    """Without rotation a leaked secret stays valid for as long as its holder likes.

    Scope: secrets the cluster uses, i.e. referenced by a SecretProviderClass (provider aws,
    objectType secretsmanager or a Secrets Manager ARN), by an ExternalSecret whose store is
    AWS Secrets Manager (or a namespaced SecretStore of unknown provider, when the name exists
    in Secrets Manager), or tagged for the cluster (kubernetes.io/cluster/<name>, or a tag key
    containing "cluster" whose value is the cluster name). References that list_secrets did
    not return (another account or region) are reported not_applicable with the referrer.
    When nothing is in scope because the SecretProviderClass / ExternalSecret lists were
    refused, the check is not_assessed rather than not_applicable.
    """
    sm = frames.secretsmanager_secrets.reset_index(drop=True)
    cluster = frames.snapshot.cluster.name
    resolve = secret_reference_resolver(sm)
    used: dict[int, list[str]] = {}
    unresolved: dict[str, list[str]] = {}
    for ref, users in _users(frames).items():
        pos = resolve(ref)
        if pos is None:
            if not all(u.endswith("(store provider unknown)") for u in users):
                unresolved[ref] = users
        else:
            used.setdefault(pos, []).extend(users)
    for pos, tags in enumerate(sm["tags"]):
        if _tagged_for(tags, cluster):
            used.setdefault(pos, []).append("a tag naming the cluster")
    rows = []
    for pos, users in sorted(used.items()):
        s = plain(sm.iloc[pos])
        by = "used via " + ", ".join(dict.fromkeys(users))
        if s["rotation_enabled"]:
            every = (f"every {s['rotation_days']} days" if s["rotation_days"]
                     else s["rotation_schedule"] or "on a schedule")
            last = (f", last rotated {s['last_rotated']}" if s["last_rotated"]
                    else ", never rotated yet")
            detail = f"rotates {every}{last}; {by}"
        else:
            detail = f"automatic rotation off; {by}"
            if s["last_changed"]:
                detail += f"; value last changed {s['last_changed']}"
        if s["deleted_date"]:
            detail += f"; scheduled for deletion ({s['deleted_date']})"
        rows.append({"kind": "SecretsManagerSecret", "namespace": "", "name": s["name"],
                     "status": "pass" if s["rotation_enabled"] else "fail", "detail": detail})
    for ref, users in unresolved.items():
        rows.append({"kind": "SecretsManagerSecret", "namespace": "", "name": ref,
                     "status": "not_applicable",
                     "detail": f"referenced by {', '.join(dict.fromkeys(users))} but not returned "
                     "by list_secrets (another account or region?): rotation not assessed"})
    if not rows:
        gaps = optional_gaps(frames, (SPC_RESOURCE, EXTERNAL_SECRET_RESOURCE,
                                      CLUSTER_STORE_RESOURCE))
        if gaps:
            raise NotAssessed("no Secrets Manager secret is tagged for the cluster, and its "
                              "references could not be read: " + "; ".join(gaps))
    return results(rows)
