"""Secrets frames: KMS keys, Secrets Manager secrets, redaction markers, who consumes which secret.

Also the storage objects whose encryption the secrets pillar judges (StorageClasses,
PersistentVolumes) and the two external-store custom resources (Secrets Store CSI
``SecretProviderClass``, External Secrets Operator ``ExternalSecret``).

Custom resources are optional: a cluster without the CRD lists nothing (``not_found``), which
is not a gap. :func:`optional_gaps` names the ones that *were* refused (forbidden, error) so a
check can say its view is partial instead of passing by absence.

No frame here ever holds a secret value: env and ConfigMap values that look like credentials
were replaced by a redaction marker before the snapshot was written
(:mod:`zt_toolkit.sources.redact`); these frames keep the marker's kind and length, never a
value, and Secrets are read as metadata only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
import pandera.pandas as pa
import yaml

from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames import Frames, frame, from_rows, nullable_bool
from zt_toolkit.frames.workloads import WORKLOAD_SOURCES, iter_containers
from zt_toolkit.sources.catalog import SYSTEM_NAMESPACES
from zt_toolkit.sources.redact import MARKER_RE, parse_marker

_KEY = {"kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str)}

SPC_RESOURCE = "secretproviderclasses.secrets-store.csi.x-k8s.io"
EXTERNAL_SECRET_RESOURCE = "externalsecrets.external-secrets.io"
CLUSTER_STORE_RESOURCE = "clustersecretstores.external-secrets.io"
CSI_SECRETS_STORE_DRIVER = "secrets-store.csi.k8s.io"
VAULT_INJECT = "vault.hashicorp.com/agent-inject"
VAULT_INJECT_SECRET = "vault.hashicorp.com/agent-inject-secret-"
VAULT_ROLE = "vault.hashicorp.com/role"
# External Secrets providers that do not fetch from an external secret store
NON_EXTERNAL_ESO_PROVIDERS = frozenset({"fake", "kubernetes"})


def _error_text(rec: dict[str, Any]) -> str:
    err = rec.get("error") or {}
    return f"{err.get('code', 'Error')}: {err.get('message', '')}".rstrip(": ")


def _text(value: Any) -> str | None:
    """ISO datetimes and other scalars as strings (None stays None)."""
    return None if value is None else str(value)


def optional_items(frames: Frames, resource: str) -> list[dict[str, Any]]:
    """Items of an optional (CRD) resource; ``[]`` when absent, refused or not collected."""
    return frames.snapshot.k8s(resource) if frames.snapshot.has_k8s(resource) else []


def optional_gaps(frames: Frames, resources: Iterable[str]) -> list[str]:
    """List optional resources whose listing was refused or failed (absence is not a gap)."""
    out = []
    for resource in resources:
        key = f"k8s/{resource}"
        cov = frames.snapshot.coverage(key)
        if cov.status in ("forbidden", "error"):
            out.append(cov.describe(key))
    return out


# ------------------------------------------------------------------------------------------
# KMS keys
# ------------------------------------------------------------------------------------------
KMS_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "key_id": "string", "arn": "string",
    "requested": "object", "key_manager": "string", "key_state": "string",
    "enabled": "boolean", "key_spec": "string", "origin": "string", "description": "string",
    "rotation_enabled": "boolean", "rotation_period_days": "Int64",
    "next_rotation_date": "string", "error": "string", "rotation_error": "string",
}


@frame("kms_keys", sources=("aws/kms/describe_key",), schema=pa.DataFrameSchema({
    **_KEY,
    "key_manager": pa.Column("string", nullable=True,
                             description="CUSTOMER (customer-managed) or AWS (AWS-managed)"),
    "rotation_enabled": pa.Column("boolean", nullable=True,
                                  description="get_key_rotation_status; NA when not collected"),
}))
def build_kms_keys(frames: Frames) -> pd.DataFrame:
    """One row per KMS key described (``kms.describe_key`` + ``get_key_rotation_status``).

    ``requested`` holds every id the key was asked for (key id, key ARN, alias ARN), so that an
    EKS ``encryptionConfig`` key reference matches whatever form it uses (:func:`find_kms_key`).
    A describe call that failed leaves a row with ``error`` set and no metadata.
    """
    snap = frames.snapshot
    rows: dict[str, dict[str, Any]] = {}
    for rec in snap.aws("kms", "describe_key"):
        requested = str((rec.get("params") or {}).get("KeyId") or "")
        meta = (rec.get("response") or {}).get("KeyMetadata")
        if meta:
            arn = meta.get("Arn") or requested
            row = rows.setdefault(arn, {
                "kind": "KMSKey", "namespace": "", "name": meta.get("KeyId") or arn,
                "key_id": meta.get("KeyId"), "arn": meta.get("Arn"), "requested": set(),
                "key_manager": meta.get("KeyManager"), "key_state": meta.get("KeyState"),
                "enabled": nullable_bool(meta.get("Enabled")), "key_spec": meta.get("KeySpec"),
                "origin": meta.get("Origin"), "description": meta.get("Description"),
            })
        else:
            row = rows.setdefault(requested, {
                "kind": "KMSKey", "namespace": "", "name": requested, "requested": set(),
                "error": _error_text(rec) if "error" in rec else "no KeyMetadata in response",
            })
        row["requested"].add(requested)
    rotation: dict[str, dict[str, Any]] = {}
    for rec in snap.aws("kms", "get_key_rotation_status"):
        requested = str((rec.get("params") or {}).get("KeyId") or "")
        resp = rec.get("response")
        if resp is not None:
            rotation[requested] = {
                "rotation_enabled": nullable_bool(resp.get("KeyRotationEnabled")),
                "rotation_period_days": resp.get("RotationPeriodInDays"),
                "next_rotation_date": _text(resp.get("NextRotationDate")),
            }
            if resp.get("KeyId"):
                rotation.setdefault(str(resp["KeyId"]), rotation[requested])
        else:
            rotation[requested] = {"rotation_error": _error_text(rec)}
    for row in rows.values():
        ids = {row.get("key_id"), row.get("arn"), *row["requested"]} - {None, ""}
        for ident in ids:
            if ident in rotation:
                row.update(rotation[ident])
                break
        row["requested"] = tuple(sorted(row["requested"]))
    return from_rows(list(rows.values()), KMS_COLUMNS)


def find_kms_key(keys: pd.DataFrame, ref: str) -> pd.Series | None:
    """Find the ``kms_keys`` row of a key id, key ARN or alias ARN (None when not described)."""
    if keys.empty or not ref:
        return None
    hit = (keys["key_id"].eq(ref).fillna(False) | keys["arn"].eq(ref).fillna(False)
           | keys["requested"].map(lambda r: ref in r))
    matched = keys[hit.astype(bool)]
    return None if matched.empty else matched.iloc[0]


def described_secrets_key(frames: Frames, key_ref: str) -> dict[str, Any]:
    """The ``kms_keys`` row of the cluster's secrets key as a plain dict.

    Raises :class:`NotAssessed` when the key was not described or describing it failed.
    """
    gaps = frames.gaps(("kms_keys",))
    if gaps:
        raise NotAssessed(f"secrets key {key_ref} was not described: " + "; ".join(gaps))
    found = find_kms_key(frames.kms_keys, key_ref)
    if found is None:
        raise NotAssessed(f"secrets key {key_ref} has no kms describe_key record")
    key = plain(found)
    if key["error"]:
        raise NotAssessed(f"kms describe_key {key_ref} failed: {key['error']}")
    return key


# The grades of envelope encryption, best first (the secrets view and the check share them).
GRADE_CMK_ROTATING = "customer-managed key, rotating"
GRADE_CMK = "customer-managed key, no rotation"
GRADE_CMK_ROTATION_UNKNOWN = "customer-managed key, rotation unknown"
GRADE_AWS_MANAGED = "AWS-managed key"
GRADE_AWS_OWNED_DEFAULT = "AWS-owned default key"
GRADE_KEY_UNUSABLE = "key unusable"
GRADE_NONE = "not envelope-encrypted"
GRADE_NOT_ASSESSED = "not assessed"
DEFAULT_ENCRYPTION_MINOR = (1, 28)  # EKS envelope-encrypts all API data by default from 1.28


def secrets_encryption(frames: Frames, cluster: dict[str, Any]) -> dict[str, Any]:
    """Grade the envelope encryption of one described cluster's Secrets.

    ``cluster`` is a plain ``eks_cluster`` row. Returns the grade (``GRADE_*``), the key as
    configured and as described (ARN, manager, state, origin, rotation and its period), the
    Kubernetes version, and ``why`` when the grade is not assessed. Never raises: a configured
    key whose describe_key is missing, refused or failed grades ``not assessed``.
    """
    key_ref = cluster.get("secrets_encryption_key_arn")
    out: dict[str, Any] = {
        "cluster": cluster.get("name"), "version": cluster.get("version"), "key_ref": key_ref,
        "key_arn": None, "key_manager": None, "key_state": None, "origin": None,
        "rotation_enabled": None, "rotation_period_days": None, "next_rotation_date": None,
        "description": None, "why": None,
    }
    if not key_ref:
        minor = kubernetes_minor(cluster.get("version"))
        default = minor is not None and minor >= DEFAULT_ENCRYPTION_MINOR
        out["grade"] = GRADE_AWS_OWNED_DEFAULT if default else GRADE_NONE
        return out
    try:
        key = described_secrets_key(frames, key_ref)
    except NotAssessed as exc:
        out.update(grade=GRADE_NOT_ASSESSED, why=str(exc))
        return out
    out.update(key_arn=key["arn"] or key_ref, key_manager=key["key_manager"],
               key_state=key["key_state"], origin=key["origin"],
               rotation_enabled=(None if key["rotation_enabled"] is None
                                 else bool(key["rotation_enabled"])),
               rotation_period_days=(None if key["rotation_period_days"] is None
                                     else int(key["rotation_period_days"])),
               next_rotation_date=key["next_rotation_date"], description=key["description"])
    if key["key_state"] != "Enabled":
        out["grade"] = GRADE_KEY_UNUSABLE
    elif key["key_manager"] != "CUSTOMER":
        out["grade"] = GRADE_AWS_MANAGED
    elif key["rotation_enabled"] is None:
        out["grade"] = GRADE_CMK_ROTATION_UNKNOWN
        out["why"] = key["rotation_error"] or "no kms get_key_rotation_status record"
    else:
        out["grade"] = GRADE_CMK_ROTATING if key["rotation_enabled"] else GRADE_CMK
    return out


# ------------------------------------------------------------------------------------------
# Secrets Manager
# ------------------------------------------------------------------------------------------
SM_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "arn": "string",
    "rotation_enabled": "boolean", "rotation_days": "Int64", "rotation_schedule": "string",
    "last_rotated": "string", "last_changed": "string", "last_accessed": "string",
    "next_rotation": "string", "deleted_date": "string", "kms_key_id": "string",
    "owning_service": "string", "tags": "object",
}


@frame("secretsmanager_secrets", sources=("aws/secretsmanager/list_secrets",),
       schema=pa.DataFrameSchema({
           **_KEY,
           "rotation_enabled": pa.Column("boolean", nullable=True,
                                         description="RotationEnabled; NA when unset"),
           "tags": pa.Column(object, description="tag Key -> Value"),
       }))
def build_secretsmanager_secrets(frames: Frames) -> pd.DataFrame:
    """One row per Secrets Manager secret (``list_secrets``), named by the secret's name."""
    rows: dict[str, dict[str, Any]] = {}
    for rec in frames.snapshot.aws("secretsmanager", "list_secrets"):
        for s in (rec.get("response") or {}).get("SecretList") or ():
            rules = s.get("RotationRules") or {}
            key = s.get("ARN") or s.get("Name", "")
            rows[key] = {
                "kind": "SecretsManagerSecret", "namespace": "", "name": s.get("Name", ""),
                "arn": s.get("ARN"), "rotation_enabled": nullable_bool(s.get("RotationEnabled")),
                "rotation_days": rules.get("AutomaticallyAfterDays"),
                "rotation_schedule": rules.get("ScheduleExpression"),
                "last_rotated": _text(s.get("LastRotatedDate")),
                "last_changed": _text(s.get("LastChangedDate")),
                "last_accessed": _text(s.get("LastAccessedDate")),
                "next_rotation": _text(s.get("NextRotationDate")),
                "deleted_date": _text(s.get("DeletedDate")),
                "kms_key_id": s.get("KmsKeyId"), "owning_service": s.get("OwningService"),
                "tags": {t.get("Key", ""): t.get("Value", "") for t in s.get("Tags") or ()},
            }
    return from_rows(list(rows.values()), SM_COLUMNS)


def secret_reference_resolver(secrets: pd.DataFrame) -> Callable[[str], int | None]:
    """Return a function: a name, full ARN or partial ARN → row position in ``secrets``.

    ``secrets`` is the ``secretsmanager_secrets`` frame with a default index. A partial ARN
    (what SecretProviderClass objects and ExternalSecrets often hold) lacks the 6-character
    random suffix that Secrets Manager appends to the name in the full ARN.

    Examples
    --------
    >>> sm = pd.DataFrame({"name": ["acme/db"],
    ...                    "arn": ["arn:aws:secretsmanager:eu-west-1:1:secret:acme/db-AbCdEf"]})
    >>> resolve = secret_reference_resolver(sm)
    >>> resolve("acme/db"), resolve("arn:aws:secretsmanager:eu-west-1:1:secret:acme/db")
    (0, 0)
    """
    by_name = {n: i for i, n in enumerate(secrets["name"])}
    by_arn = {a: i for i, a in enumerate(secrets["arn"]) if isinstance(a, str)}

    def resolve(ref: str) -> int | None:
        if ref in by_arn:
            return by_arn[ref]
        name = ref.split(":secret:", 1)[1] if ref.startswith("arn:") and ":secret:" in ref \
            else ref
        if name in by_name:
            return by_name[name]
        if len(name) > 7 and name[-7] == "-" and name[:-7] in by_name:  # full-ARN suffix
            return by_name[name[:-7]]
        return None

    return resolve


# ------------------------------------------------------------------------------------------
# external stores: SecretProviderClass, ExternalSecret
# ------------------------------------------------------------------------------------------
SPC_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "provider": "string",
    "objects": "object", "synced_secrets": "object", "parameters_error": "string",
}


def _spc_objects(provider: str | None, params: dict[str, Any]) -> tuple[tuple[tuple[str, str], ...],
                                                                        str | None]:
    """``(object type, object name)`` pairs a SecretProviderClass fetches."""
    text = params.get("objects")
    if not text:
        return (), None
    try:
        parsed = yaml.safe_load(text) if isinstance(text, str) else text
    except yaml.YAMLError as exc:
        return (), f"parameters.objects is not YAML: {exc}"
    if isinstance(parsed, dict) and "array" in parsed:  # Azure: {array: [yaml strings]}
        parsed = [yaml.safe_load(x) if isinstance(x, str) else x for x in parsed["array"] or ()]
    out = []
    for obj in parsed if isinstance(parsed, list) else ():
        if not isinstance(obj, dict):
            continue
        name = obj.get("objectName") or obj.get("secretPath") or ""
        otype = obj.get("objectType") or ""
        if provider == "aws" and not otype:
            otype = "ssmparameter" if ":ssm:" in str(name) else "secretsmanager"
        out.append((str(otype), str(name)))
    return tuple(out), None


@frame("secret_provider_classes", sources=())
def build_secret_provider_classes(frames: Frames) -> pd.DataFrame:
    """One row per Secrets Store CSI ``SecretProviderClass`` (empty when the CRD is absent).

    ``objects`` are ``(objectType, objectName)`` pairs parsed from ``spec.parameters.objects``
    (AWS: ``secretsmanager``/``ssmparameter``; Vault: ``secretPath``); ``synced_secrets`` the
    Kubernetes Secrets the driver creates from them (``spec.secretObjects[].secretName``).
    """
    rows = []
    for spc in optional_items(frames, SPC_RESOURCE):
        meta, spec = spc.get("metadata") or {}, spc.get("spec") or {}
        provider = spec.get("provider")
        objects, error = _spc_objects(provider, spec.get("parameters") or {})
        rows.append({
            "kind": "SecretProviderClass", "namespace": meta.get("namespace", "default"),
            "name": meta.get("name", ""), "provider": provider, "objects": objects,
            "synced_secrets": tuple(o.get("secretName", "") for o in spec.get("secretObjects") or ()
                                    if o.get("secretName")),
            "parameters_error": error,
        })
    return from_rows(rows, SPC_COLUMNS)


ES_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "target_secret": "str",
    "store_kind": "str", "store_name": "str", "store_provider": "string",
    "remote_keys": "object",
}


def _store_provider(spec: dict[str, Any]) -> str | None:
    provider = spec.get("provider") or {}
    if not isinstance(provider, dict) or not provider:
        return None
    name = next(iter(provider))
    if name == "aws":
        return f"aws {(provider.get('aws') or {}).get('service', 'SecretsManager')}"
    return str(name)


@frame("external_secrets", sources=())
def build_external_secrets(frames: Frames) -> pd.DataFrame:
    """One row per External Secrets Operator ``ExternalSecret`` (empty when the CRD is absent).

    ``target_secret`` is the Kubernetes Secret it writes (``spec.target.name``, defaulting to
    the ExternalSecret's name); ``store_provider`` is known for ``ClusterSecretStore`` refs
    (``aws SecretsManager``, ``aws ParameterStore``, ``vault`` ...); namespaced SecretStores are
    not collected, so theirs is NA. ``remote_keys`` are the remote secret names it reads.
    """
    stores = {}
    for store in optional_items(frames, CLUSTER_STORE_RESOURCE):
        stores[(store.get("metadata") or {}).get("name", "")] = _store_provider(
            store.get("spec") or {})
    rows = []
    for es in optional_items(frames, EXTERNAL_SECRET_RESOURCE):
        meta, spec = es.get("metadata") or {}, es.get("spec") or {}
        ref = spec.get("secretStoreRef") or {}
        store_kind = ref.get("kind") or "SecretStore"
        keys = [(d.get("remoteRef") or {}).get("key") for d in spec.get("data") or ()]
        keys += [(d.get("extract") or {}).get("key") for d in spec.get("dataFrom") or ()]
        rows.append({
            "kind": "ExternalSecret", "namespace": meta.get("namespace", "default"),
            "name": meta.get("name", ""),
            "target_secret": (spec.get("target") or {}).get("name") or meta.get("name", ""),
            "store_kind": store_kind, "store_name": ref.get("name", ""),
            "store_provider": stores.get(ref.get("name", "")) if store_kind ==
            "ClusterSecretStore" else None,
            "remote_keys": tuple(dict.fromkeys(str(k) for k in keys if k)),
        })
    return from_rows(rows, ES_COLUMNS)


# ------------------------------------------------------------------------------------------
# secret consumers
# ------------------------------------------------------------------------------------------
CONSUMER_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "container": "string", "via": "str",
    "secret": "str", "provider": "str", "external": "bool", "backing": "str", "system": "bool",
    "env_var": "string",
}


def _secret_backing(frames: Frames) -> dict[tuple[str, str], tuple[str, str, bool]]:
    """(namespace, secret) → (provider, evidence, external) for Secrets an external store fills.

    Evidence, strongest first: an ExternalSecret targets it; a SecretProviderClass syncs it
    (``secretObjects``); the Secret's own metadata says who made it (ESO owner reference or
    annotation, the CSI driver's ``secrets-store.csi.k8s.io/managed`` label, cert-manager).
    """
    out: dict[tuple[str, str], tuple[str, str, bool]] = {}
    snap = frames.snapshot
    if snap.has_k8s("secrets"):
        for s in snap.iter_k8s("secrets"):
            meta = s.get("metadata") or {}
            key = (meta.get("namespace", "default"), meta.get("name", ""))
            labels, ann = meta.get("labels") or {}, meta.get("annotations") or {}
            owners = {r.get("kind") for r in meta.get("ownerReferences") or ()}
            if ("ExternalSecret" in owners or "reconcile.external-secrets.io/data-hash" in ann
                    or "reconcile.external-secrets.io/created-by" in labels):
                out[key] = ("external-secrets", "created by External Secrets Operator", True)
            elif labels.get("secrets-store.csi.k8s.io/managed") == "true":
                out[key] = ("secrets-store-csi", "synced by the Secrets Store CSI driver", True)
            elif "cert-manager.io/certificate-name" in ann or "Certificate" in owners:
                out[key] = ("cert-manager", "issued by cert-manager (generated in-cluster, "
                            "renewed automatically)", True)
    for spc in frames.secret_provider_classes.itertuples(index=False):
        for secret in spc.synced_secrets:
            out[(spc.namespace, secret)] = (
                str(spc.provider or "unknown"),
                f"synced from SecretProviderClass {spc.name} (provider {spc.provider})", True)
    for es in frames.external_secrets.itertuples(index=False):
        provider = es.store_provider if isinstance(es.store_provider, str) else None
        external = (provider or "").split(" ")[0] not in NON_EXTERNAL_ESO_PROVIDERS
        store = f"{es.store_kind} {es.store_name}" + (f", {provider}" if provider else "")
        out[(es.namespace, es.target_secret)] = (
            "external-secrets" + (f" ({provider})" if provider else ""),
            f"written by ExternalSecret {es.name} from {store}", external)
    return out


@frame("secret_consumers", sources=WORKLOAD_SOURCES, any_source=True,
       schema=pa.DataFrameSchema({
           **_KEY,
           "via": pa.Column(str, pa.Check.isin(
               ["env", "envFrom", "volume", "projected", "csi", "vault-agent", "bank-vaults"])),
           "external": pa.Column(bool, description="the value comes from an external store"),
       }))
def build_secret_consumers(frames: Frames) -> pd.DataFrame:
    """One row per (workload, secret it consumes, way it consumes it).

    ``via``: ``env`` (``secretKeyRef``), ``envFrom`` (``secretRef``), ``volume`` (``secret``),
    ``projected`` (a projected volume's secret source), ``csi`` (Secrets Store CSI volume; the
    ``secret`` is the SecretProviderClass, ``provider`` its aws/vault/azure/gcp provider),
    ``vault-agent`` (``vault.hashicorp.com/agent-inject: "true"``) and ``bank-vaults``
    (``vault:`` env values). ``external`` tells whether the value comes from an external store:
    always for csi/vault, and for Kubernetes Secrets written by External Secrets, synced by
    the CSI driver or issued by cert-manager (``backing`` says which). ``env_var`` names the
    environment variable of ``env`` and ``bank-vaults`` rows (NA otherwise).
    """
    specs = frames.pod_specs
    backing = _secret_backing(frames)
    spcs = {(r.namespace, r.name): r.provider for r in
            frames.secret_provider_classes.itertuples(index=False)}
    rows: list[dict[str, Any]] = []

    def k8s_secret(w: Any, container: str | None, via: str, secret: str,
                   env_var: str | None = None) -> None:
        provider, evidence, external = backing.get(
            (w.namespace, secret), ("kubernetes", "a Kubernetes Secret", False))
        rows.append({"kind": w.kind, "namespace": w.namespace, "name": w.name,
                     "container": container, "via": via, "secret": secret,
                     "provider": provider, "external": external, "backing": evidence,
                     "system": w.system, "env_var": env_var})

    for w in frames.workloads.itertuples(index=False):
        spec = specs[w.spec_hash]["spec"]
        for _, c in iter_containers(spec):
            cname = c.get("name", "")
            for e in c.get("env") or ():
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    k8s_secret(w, cname, "env", ref.get("name", ""), str(e.get("name", "")))
                elif str(e.get("value") or "").startswith("vault:"):
                    rows.append({"kind": w.kind, "namespace": w.namespace, "name": w.name,
                                 "container": cname, "via": "bank-vaults",
                                 "secret": str(e.get("name", "")), "provider": "vault",
                                 "external": True, "backing": "bank-vaults webhook injects "
                                 "the value from Vault", "system": w.system,
                                 "env_var": str(e.get("name", ""))})
            for ef in c.get("envFrom") or ():
                if ef.get("secretRef"):
                    k8s_secret(w, cname, "envFrom", ef["secretRef"].get("name", ""))
        for v in spec.get("volumes") or ():
            if v.get("secret"):
                k8s_secret(w, None, "volume", v["secret"].get("secretName", ""))
            for src in (v.get("projected") or {}).get("sources") or ():
                if src.get("secret"):
                    k8s_secret(w, None, "projected", src["secret"].get("name", ""))
            csi = v.get("csi") or {}
            if csi.get("driver") == CSI_SECRETS_STORE_DRIVER:
                spc = (csi.get("volumeAttributes") or {}).get("secretProviderClass", "")
                provider = spcs.get((w.namespace, spc))
                rows.append({"kind": w.kind, "namespace": w.namespace, "name": w.name,
                             "container": None, "via": "csi", "secret": spc,
                             "provider": provider or "unknown", "external": True,
                             "backing": f"Secrets Store CSI, SecretProviderClass {spc}"
                             + ("" if provider else " (not found in the snapshot)"),
                             "system": w.system})
        ann = w.annotations or {}
        if str(ann.get(VAULT_INJECT, "")).lower() == "true":
            paths = [v for k, v in ann.items() if k.startswith(VAULT_INJECT_SECRET)]
            rows.append({"kind": w.kind, "namespace": w.namespace, "name": w.name,
                         "container": None, "via": "vault-agent",
                         "secret": ", ".join(paths) or str(ann.get(VAULT_ROLE, "")),
                         "provider": "vault", "external": True,
                         "backing": "Vault Agent injector", "system": w.system})
    return from_rows(rows, CONSUMER_COLUMNS)


# ------------------------------------------------------------------------------------------
# redaction markers
# ------------------------------------------------------------------------------------------
MARKER_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "location": "str", "marker_kind": "str",
    "length": "int64", "sha256_prefix": "str", "system": "bool",
}
SCOPE_COLUMNS = {"kind": "str", "namespace": "str", "name": "str", "values": "int64",
                 "system": "bool"}
_MARKER_HEAD = "<redacted:zt"


def _markers_in(text: Any) -> list[tuple[str, int, str]]:
    """``(kind, length, sha256 prefix)`` of every marker in a string (whole or embedded)."""
    if not isinstance(text, str) or _MARKER_HEAD not in text:
        return []
    whole = parse_marker(text)
    if whole is not None:
        return [(whole.kind, whole.length, whole.sha256_prefix)]
    return [(m["kind"], int(m["length"]), m["sha256"]) for m in MARKER_RE.finditer(text)]


def _container_markers(c: dict[str, Any]) -> tuple[int, list[tuple[str, tuple[str, int, str]]]]:
    """Count of scanned values and the markers in one container (env, args, probe headers)."""
    where = f'container "{c.get("name", "")}"'
    found: list[tuple[str, tuple[str, int, str]]] = []
    scanned = 0
    for e in c.get("env") or ():
        if "value" in e:
            scanned += 1
            found += [(f"{where} env {e.get('name', '')}", m) for m in _markers_in(e["value"])]
    for field in ("command", "args"):
        for i, arg in enumerate(c.get(field) or ()):
            scanned += 1
            found += [(f"{where} {field}[{i}]", m) for m in _markers_in(arg)]
    handlers = [(p, c.get(p)) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
    handlers += [(f"lifecycle.{h}", (c.get("lifecycle") or {}).get(h))
                 for h in ("postStart", "preStop")]
    for label, handler in handlers:
        for h in ((handler or {}).get("httpGet") or {}).get("httpHeaders") or ():
            scanned += 1
            found += [(f"{where} {label} header {h.get('name', '')}", m)
                      for m in _markers_in(h.get("value"))]
    return scanned, found


@frame("_redaction_scan", sources=("k8s/configmaps", *WORKLOAD_SOURCES), any_source=True)
def _scan_redaction(frames: Frames) -> dict[str, pd.DataFrame]:
    """One pass: markers and the resources whose values were scanned."""
    snap = frames.snapshot
    markers: list[dict[str, Any]] = []
    scope: list[dict[str, Any]] = []

    def add(kind: str, ns: str, name: str, system: bool, found: list, scanned: int) -> None:
        for location, (mkind, length, sha) in found:
            markers.append({"kind": kind, "namespace": ns, "name": name, "location": location,
                            "marker_kind": mkind, "length": length, "sha256_prefix": sha,
                            "system": system})
        if scanned:
            scope.append({"kind": kind, "namespace": ns, "name": name, "values": scanned,
                          "system": system})

    if any(snap.has_k8s(s[4:]) for s in WORKLOAD_SOURCES):
        specs = frames.pod_specs
        for w in frames.workloads.itertuples(index=False):
            spec = specs[w.spec_hash]["spec"]
            found: list[tuple[str, tuple[str, int, str]]] = []
            scanned = 0
            for _, c in iter_containers(spec):
                n, f = _container_markers(c)
                scanned, found = scanned + n, found + f
            for key, value in (w.annotations or {}).items():
                found += [(f"pod annotation {key}", m) for m in _markers_in(value)]
            add(w.kind, w.namespace, w.name, w.system, found, scanned)
    for cm in snap.iter_k8s("configmaps"):
        meta = cm.get("metadata") or {}
        ns, name = meta.get("namespace", "default"), meta.get("name", "")
        if ns == "kube-system" and name == "aws-auth":
            continue  # never redacted (identity checks parse it): scanning it would prove nothing
        found, scanned = [], 0
        for field, label in (("data", "data key"), ("binaryData", "binaryData key")):
            for key, value in (cm.get(field) or {}).items():
                scanned += 1
                found += [(f"{label} {key}", m) for m in _markers_in(value)]
        add("ConfigMap", ns, name, ns in SYSTEM_NAMESPACES, found, scanned)
    return {"markers": from_rows(markers, MARKER_COLUMNS), "scope": from_rows(scope, SCOPE_COLUMNS)}


@frame("redaction_markers", sources=("k8s/configmaps", *WORKLOAD_SOURCES), any_source=True,
       schema=pa.DataFrameSchema({
           **_KEY,
           "location": pa.Column(str, description='e.g. container "app" env DB_PASSWORD'),
           "marker_kind": pa.Column(str, description="aws_access_key_id, password, token ..."),
       }))
def build_redaction_markers(frames: Frames) -> pd.DataFrame:
    """One row per redaction marker left by collection or import: where, and what kind.

    Workloads (env values, command/args, probe and lifecycle HTTP headers of init, regular and
    ephemeral containers, pod-template annotations) and ConfigMaps (``data``, ``binaryData``;
    ``kube-system/aws-auth`` is never redacted and not scanned). The marker format is
    ``<redacted:zt kind=<kind> len=<n> sha256=<12 hex>>``; the value itself was never stored.
    """
    return frames.get("_redaction_scan")["markers"]


@frame("redaction_scope", sources=("k8s/configmaps", *WORKLOAD_SOURCES), any_source=True)
def build_redaction_scope(frames: Frames) -> pd.DataFrame:
    """One row per resource whose values redaction looked at (``values``: how many).

    Workloads with env values, args or probe headers, and ConfigMaps with data.
    """
    return frames.get("_redaction_scan")["scope"]


# ------------------------------------------------------------------------------------------
# storage
# ------------------------------------------------------------------------------------------
STORAGE_CLASS_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "provisioner": "str",
    "parameters": "object", "mount_options": "object", "is_default": "bool",
}


@frame("storage_classes", sources=("k8s/storageclasses.storage.k8s.io",))
def build_storage_classes(frames: Frames) -> pd.DataFrame:
    """One row per StorageClass: provisioner, parameters (strings), mount options, default."""
    rows = []
    for sc in frames.snapshot.iter_k8s("storageclasses.storage.k8s.io"):
        meta = sc.get("metadata") or {}
        ann = meta.get("annotations") or {}
        rows.append({
            "kind": "StorageClass", "namespace": "", "name": meta.get("name", ""),
            "provisioner": sc.get("provisioner", ""),
            "parameters": {str(k): str(v) for k, v in (sc.get("parameters") or {}).items()},
            "mount_options": tuple(sc.get("mountOptions") or ()),
            "is_default": str(ann.get("storageclass.kubernetes.io/is-default-class")) == "true",
        })
    return from_rows(rows, STORAGE_CLASS_COLUMNS)


PV_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "csi_driver": "string",
    "volume_handle": "string", "volume_attributes": "object", "mount_options": "object",
    "storage_class": "string", "claim": "string",
}


@frame("persistent_volumes", sources=("k8s/persistentvolumes",))
def build_persistent_volumes(frames: Frames) -> pd.DataFrame:
    """One row per PersistentVolume: CSI driver, volume handle and attributes, mount options."""
    rows = []
    for pv in frames.snapshot.iter_k8s("persistentvolumes"):
        meta, spec = pv.get("metadata") or {}, pv.get("spec") or {}
        csi = spec.get("csi") or {}
        claim = spec.get("claimRef") or {}
        rows.append({
            "kind": "PersistentVolume", "namespace": "", "name": meta.get("name", ""),
            "csi_driver": csi.get("driver"), "volume_handle": csi.get("volumeHandle"),
            "volume_attributes": {str(k): str(v)
                                  for k, v in (csi.get("volumeAttributes") or {}).items()},
            "mount_options": tuple(spec.get("mountOptions") or ()),
            "storage_class": spec.get("storageClassName"),
            "claim": f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else None,
        })
    return from_rows(rows, PV_COLUMNS)


# ------------------------------------------------------------------------------------------
# helpers for cluster-level checks
# ------------------------------------------------------------------------------------------
def kubernetes_minor(version: Any) -> tuple[int, int] | None:
    """``"1.28"`` → ``(1, 28)``; None when unknown or unparsable."""
    try:
        major, minor = str(version).split(".")[:2]
        return int(major), int(minor)
    except (ValueError, TypeError):
        return None


def plain(row: pd.Series) -> dict[str, Any]:
    """Turn a frame row into a dict with NA (and NaN) as None, for checks that branch."""
    return {k: None if _is_missing(v) else v for k, v in row.items()}


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value
