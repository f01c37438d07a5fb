"""The secrets pillar's views: summaries, charts and narrative for notebook `05_secrets`.

Every function takes the assessment and answers one question of the pillar: how Secrets are
encrypted at rest (:func:`summarize_secrets_encryption`), how each workload gets its secrets
(:func:`summarize_secret_consumption_matrix`, :func:`plot_secret_consumption_matrix`), where
collection found plaintext credentials (:func:`summarize_plaintext_credentials`), whether the
Secrets Manager secrets the cluster uses rotate (:func:`summarize_secretsmanager_rotation`),
which volumes are unencrypted (:func:`summarize_storage_encryption`), and what to do about it
(:func:`narrate_secrets_remediation`). No secret value reaches any of them: the snapshot holds
redaction markers and Secret metadata only, and the markers' hash prefixes are left out too.

Examples
--------
>>> from zt_toolkit import assess
>>> a = assess("reports/demo-snapshot")                              # doctest: +SKIP
>>> summarize_secrets_encryption(a)[["grade", "rotation"]]           # doctest: +SKIP
"""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
import yaml
from IPython.display import Markdown

from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames import secrets as fs
from zt_toolkit.report.charts import chart_layout, placeholder, plotly_escape, shorten
from zt_toolkit.report.markdown import fenced, is_k8s_name
from zt_toolkit.report.notebook import md_escape, plural
from zt_toolkit.report.pss_remediation import TEMPLATE_PATHS, patch_command, patch_yaml
from zt_toolkit.report.tables import KEY, empty_table, frame_or_note, resource_label
from zt_toolkit.report.theme import STATUS_COLORS

if TYPE_CHECKING:
    from zt_toolkit.assessment import Assessment

__all__ = [
    "narrate_secrets_remediation",
    "plot_secret_consumption_matrix",
    "summarize_plaintext_credentials",
    "summarize_secret_consumption_matrix",
    "summarize_secrets_encryption",
    "summarize_secretsmanager_rotation",
    "summarize_storage_encryption",
]


def _finding(assessment: Assessment, check_id: str) -> dict[tuple[str, str, str], dict]:
    """``(kind, namespace, name)`` → the finding row (status, severity, detail, waived)."""
    f = assessment.findings
    f = f[f["check_id"] == check_id]
    return {(r.kind, r.namespace, r.name): {"status": r.status, "severity": r.severity,
                                            "detail": r.detail, "waived": bool(r.waived)}
            for r in f.itertuples(index=False)}


def _cell(value: Any) -> Any:
    """NA-safe scalar for a table cell (None for NA)."""
    return None if fs._is_missing(value) else value


# ------------------------------------------------------------------------------------------
# envelope encryption
# ------------------------------------------------------------------------------------------
ENCRYPTION_COLUMNS = ["cluster", "kubernetes_version", "grade", "key", "key_manager",
                      "key_state", "rotation", "next_rotation", "status", "severity", "meaning"]


def _meaning(g: dict[str, Any]) -> str:
    grade = g["grade"]
    period = g["rotation_period_days"]
    if grade == fs.GRADE_CMK_ROTATING:
        every = f"every {period} days" if period else "automatically"
        return ("Secrets are envelope-encrypted with your own KMS key: its key policy decides "
                "who may decrypt, every decrypt is recorded in CloudTrail, you can revoke it, "
                f"and its key material rotates {every}. This is the target state.")
    if grade == fs.GRADE_CMK:
        return ("Secrets are envelope-encrypted with your own KMS key (key policy, CloudTrail, "
                "revocation), but its key material never rotates: one key protects every "
                "Secret for as long as the key lives. Turn on automatic rotation.")
    if grade == fs.GRADE_CMK_ROTATION_UNKNOWN:
        return ("Secrets are envelope-encrypted with your own KMS key; whether it rotates could "
                f"not be read ({g['why']}).")
    if grade == fs.GRADE_AWS_OWNED_DEFAULT:
        return (f"No encryptionConfig, but EKS {g['version']} envelope-encrypts all Kubernetes "
                "API data, Secrets included, with a key AWS owns. Secrets are encrypted at rest; "
                "you cannot restrict who may decrypt them, see decrypts in CloudTrail, or revoke "
                "the key. Low risk: associate a customer-managed key to own that control.")
    if grade == fs.GRADE_NONE:
        return (f"No encryptionConfig on Kubernetes {g['version'] or '(version unknown)'}, "
                "before EKS's default envelope encryption (1.28): Secrets are stored in etcd "
                "only base64-encoded, readable by anyone with access to etcd or its backups. "
                "Associate a customer-managed KMS key (or upgrade).")
    if grade == fs.GRADE_KEY_UNUSABLE:
        return (f"The secrets key is {g['key_state']}: the API server cannot decrypt Secrets "
                "(new pods that need one fail to start); a key pending deletion makes every "
                "Secret unreadable for good when it is deleted. Re-enable it or cancel the "
                "deletion now.")
    if grade == fs.GRADE_AWS_MANAGED:
        return ("Secrets are encrypted with an AWS-managed key, whose key policy you cannot "
                "restrict to this cluster. Use a customer-managed key.")
    return f"Not assessed: {g['why']}. Grant kms:DescribeKey and kms:GetKeyRotationStatus."


def _rotation(g: dict[str, Any]) -> str:
    if g["grade"] in (fs.GRADE_AWS_OWNED_DEFAULT, fs.GRADE_NONE):
        return "—"
    if g["key_manager"] == "AWS":
        return "yearly, by AWS"
    if g["rotation_enabled"] is None:
        return "unknown"
    if not g["rotation_enabled"]:
        return "off"
    period = g["rotation_period_days"]
    return f"on, every {period} days" if period else "on"


def _key_label(g: dict[str, Any]) -> str:
    """The key ARN, with the alias it was configured by (``... (configured as alias/x)``)."""
    ref, arn = g["key_ref"], g["key_arn"]
    if not ref:
        return "—"
    if arn and arn != ref:
        return f"{arn} (configured as {ref})"
    return str(ref)


def summarize_secrets_encryption(assessment: Assessment) -> pd.DataFrame:
    """Grade how the cluster's Secrets are encrypted at rest, with the key and what it means.

    One row per described EKS cluster (normally one). ``grade`` is one of: customer-managed
    key, rotating / customer-managed key, no rotation / AWS-owned default key (EKS >= 1.28
    without encryptionConfig) / not envelope-encrypted (older clusters without one) / key
    unusable (disabled, pending deletion) / AWS-managed key / not assessed (the configured key
    was not described). ``key`` is the key ARN (and the alias it was configured by), ``status`` and
    ``severity`` those of the ``eks_secrets_encryption_kms_cmk`` finding (low for the AWS-owned
    default), ``meaning`` what the grade means for the client.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> a = assess("reports/demo-snapshot")                                # doctest: +SKIP
    >>> summarize_secrets_encryption(a).loc[0, "grade"]                    # doctest: +SKIP
    'customer-managed key, no rotation'
    """
    clusters, why = frame_or_note(assessment, "eks_cluster")
    if clusters is None:
        return empty_table(ENCRYPTION_COLUMNS, f"Envelope encryption {why}.")
    if clusters.empty:
        return empty_table(ENCRYPTION_COLUMNS, "Envelope encryption not assessed: describe_cluster "
                      "returned no cluster.")
    found = _finding(assessment, "eks_secrets_encryption_kms_cmk")
    rows = []
    for _, row in clusters.iterrows():
        g = fs.secrets_encryption(assessment.frames, fs.plain(row))
        f = found.get(("Cluster", "", g["cluster"]), {})
        rows.append({
            "cluster": g["cluster"], "kubernetes_version": g["version"], "grade": g["grade"],
            "key": _key_label(g),
            "key_manager": g["key_manager"] or ("AWS-owned" if g["grade"] ==
                                                fs.GRADE_AWS_OWNED_DEFAULT else "—"),
            "key_state": g["key_state"] or "—", "rotation": _rotation(g),
            "next_rotation": g["next_rotation_date"] or "—",
            "status": f.get("status", "—"), "severity": f.get("severity", "—"),
            "meaning": _meaning(g),
        })
    return pd.DataFrame(rows, columns=ENCRYPTION_COLUMNS)


# ------------------------------------------------------------------------------------------
# consumption matrix
# ------------------------------------------------------------------------------------------
# method column → (label, family): env (in the process environment), file (a Kubernetes
# Secret mounted), external (the value comes from an external store)
METHODS: dict[str, tuple[str, str]] = {
    "env_secret_key_ref": ("env secretKeyRef", "env"),
    "env_from_secret_ref": ("envFrom secretRef", "env"),
    "secret_volume": ("Secret volume", "file"),
    "projected_secret": ("projected Secret", "file"),
    "csi_aws": ("Secrets Store CSI (aws)", "external"),
    "csi_vault": ("Secrets Store CSI (vault)", "external"),
    "csi_other": ("Secrets Store CSI (other)", "external"),
    "external_secrets": ("External Secrets Operator", "external"),
    "vault_injection": ("Vault injection", "external"),
    "cert_manager": ("cert-manager", "external"),
}
_VIA_COLUMN = {"env": "env_secret_key_ref", "envFrom": "env_from_secret_ref",
               "volume": "secret_volume", "projected": "projected_secret",
               "vault-agent": "vault_injection", "bank-vaults": "vault_injection"}
MATRIX_COLUMNS = [*KEY, *METHODS, "secrets", "env_vars", "external_store", "store_status",
                  "env_status", "system"]


def _csi_column(provider: str) -> str:
    return {"aws": "csi_aws", "vault": "csi_vault"}.get(provider, "csi_other")


def _methods_of(row: Any) -> set[str]:
    """The method columns one ``secret_consumers`` row counts in."""
    cols = set()
    if row.via == "csi":
        cols.add(_csi_column(str(row.provider)))
    elif row.via in _VIA_COLUMN:
        cols.add(_VIA_COLUMN[row.via])
    if row.via in ("env", "envFrom", "volume", "projected"):
        provider = str(row.provider)
        if provider.startswith("external-secrets"):
            cols.add("external_secrets")
        elif provider == "cert-manager":
            cols.add("cert_manager")
        elif row.external:  # a Secret synced by the CSI driver (secretObjects / its label)
            cols.add(_csi_column("other" if provider == "secrets-store-csi" else provider))
    return cols


def summarize_secret_consumption_matrix(assessment: Assessment,
                                        include_system: bool = True) -> pd.DataFrame:
    """One row per workload that consumes secrets × how it gets them, with the verdicts.

    Method columns count the distinct secrets a workload gets each way: ``env_secret_key_ref``,
    ``env_from_secret_ref``, ``secret_volume``, ``projected_secret``, Secrets Store CSI by
    provider (``csi_aws``, ``csi_vault``, ``csi_other``; a Secret the CSI driver syncs counts
    here too), ``external_secrets`` (the Secret is the target of an ExternalSecret, whether read
    through env or a file), ``vault_injection`` (Vault agent, bank-vaults) and
    ``cert_manager``. A Secret written by External Secrets and read through env counts in both
    columns: it comes from a store, but it still sits in the environment. ``secrets`` names
    every secret with its method (``api-jwt (env JWT_SIGNING_KEY)``), ``env_vars`` the variables
    that carry one, ``external_store`` whether every secret comes from an external store, and
    ``store_status`` / ``env_status`` the statuses of ``external_secret_store_used`` and
    ``secret_not_in_env_var`` for the workload (both checks read the same frame). Workloads
    that read no secret are left out; ``include_system=False`` also drops system namespaces.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> a = assess("reports/demo-snapshot")                                # doctest: +SKIP
    >>> m = summarize_secret_consumption_matrix(a).set_index("name")       # doctest: +SKIP
    >>> m.loc["orders", ["secret_volume", "external_secrets"]].tolist()    # doctest: +SKIP
    [1, 1]
    """
    sc, why = frame_or_note(assessment, "secret_consumers")
    if sc is None:
        return empty_table(MATRIX_COLUMNS, f"Secret consumption {why}.")
    if not include_system:
        sc = sc[~sc["system"].astype(bool)]
    if sc.empty:
        return empty_table(MATRIX_COLUMNS, "No workload consumes a secret.")
    store = _finding(assessment, "external_secret_store_used")
    env = _finding(assessment, "secret_not_in_env_var")
    rows = []
    for key, g in sc.groupby(KEY, sort=False):
        counts: dict[str, set[str]] = {c: set() for c in METHODS}
        named, env_vars = [], []
        for r in g.itertuples(index=False):
            for col in _methods_of(r):
                counts[col].add(r.secret)
            how = r.via + (f" {r.env_var}" if isinstance(_cell(r.env_var), str) else "")
            src = "" if r.provider == "kubernetes" else f", {r.provider}"
            named.append(f"{r.secret} ({how}{src})")
            if r.via in ("env", "bank-vaults") and isinstance(_cell(r.env_var), str):
                env_vars.append(r.env_var)
            elif r.via == "envFrom":
                env_vars.append(f"all keys of {r.secret}")
        rows.append({
            **dict(zip(KEY, key, strict=True)), **{c: len(v) for c, v in counts.items()},
            "secrets": ", ".join(dict.fromkeys(named)),
            "env_vars": ", ".join(dict.fromkeys(env_vars)),
            "external_store": bool(g["external"].astype(bool).all()),
            "store_status": store.get(key, {}).get("status", "—"),
            "env_status": env.get(key, {}).get("status", "—"),
            "system": bool(g["system"].astype(bool).any()),
        })
    out = pd.DataFrame(rows, columns=MATRIX_COLUMNS)
    env_total = out["env_secret_key_ref"] + out["env_from_secret_ref"]
    order = out.assign(_s=out["system"], _x=out["external_store"], _e=-env_total)
    order = order.sort_values(["_s", "_x", "_e", "namespace", "name"])
    out = out.loc[order.index].reset_index(drop=True)
    # the chart shows the method columns; the page table names the secrets and the verdicts
    out.attrs["display_columns"] = [*KEY, "secrets", "external_store", "store_status",
                                     "env_status"]
    return out


FAMILY_COLORS = {"env": STATUS_COLORS["fail"], "file": "#e3a008",
                 "external": STATUS_COLORS["pass"]}
FAMILY_LABELS = {"env": "in the environment", "file": "Kubernetes Secret as a file",
                 "external": "from an external store"}


def plot_secret_consumption_matrix(assessment: Assessment, max_rows: int = 30) -> go.Figure:
    """Draw workloads × how they get secrets, with the external-store verdict per workload.

    Red: in the environment, amber: a Kubernetes Secret as a file, green: from an external
    store; the number is how many secrets. The last column is the verdict: does every secret
    the workload consumes come from an external store? Methods no workload uses are named
    under the chart.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> plot_secret_consumption_matrix(assess("reports/demo-snapshot"))     # doctest: +SKIP
    """
    title = "How each workload gets its secrets"
    m = summarize_secret_consumption_matrix(assessment)
    if m.empty:
        return placeholder(title, m.attrs.get("note") or "No workload consumes a secret.")
    shown = m.head(max_rows)
    methods = [c for c in METHODS if m[c].sum() > 0] or list(METHODS)[:4]
    families = [*[METHODS[c][1] for c in methods], "verdict"]
    codes = {"env": 0, "file": 1, "external": 2, "verdict_no": 3, "verdict_yes": 4}
    colors = [FAMILY_COLORS["env"], FAMILY_COLORS["file"], FAMILY_COLORS["external"],
              STATUS_COLORS["fail"], STATUS_COLORS["pass"]]
    z, text, hover = [], [], []
    for r in shown.itertuples(index=False):
        zr, tr, hr = [], [], []
        for col, fam in zip(methods, families, strict=False):
            n = int(getattr(r, col))
            zr.append(codes[fam] if n else None)
            tr.append(str(n) if n else "")
            hr.append(f"{METHODS[col][0]}: {plural(n, 'secret')} ({FAMILY_LABELS[fam]})"
                      if n else f"{METHODS[col][0]}: none")
        ok = bool(r.external_store)
        zr.append(codes["verdict_yes" if ok else "verdict_no"])
        tr.append("yes" if ok else "no")
        hr.append("every secret from an external store" if ok
                  else "some secret kept only in Kubernetes")
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    n = len(colors)
    scale = []
    for i, color in enumerate(colors):
        scale += [[i / n, color], [(i + 1) / n, color]]
    rows = [plotly_escape(shorten(resource_label(k, ns, nm), 56)) for k, ns, nm in
            zip(shown["kind"], shown["namespace"], shown["name"], strict=True)]
    cols = [plotly_escape(METHODS[c][0]) for c in methods] + ["all external?"]
    fig = go.Figure(go.Heatmap(
        z=z, x=cols, y=rows, zmin=-0.5, zmax=n - 0.5, colorscale=scale, showscale=False,
        xgap=2, ygap=2, text=text, texttemplate="%{text}", customdata=hover,
        hovertemplate="%{y}<br>%{customdata}<extra></extra>"))
    for fam in ("env", "file", "external"):
        fig.add_scatter(x=[None], y=[None], mode="markers", name=FAMILY_LABELS[fam],
                        marker={"symbol": "square", "size": 12, "color": FAMILY_COLORS[fam]})
    fig.update_xaxes(side="top", tickangle=-35, showgrid=False)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    unused = [METHODS[c][0] for c in METHODS if c not in methods]
    # the note starts where the plot does (right of the row labels): wrap it to that width
    note_lines = textwrap.wrap("no workload uses: " + ", ".join(unused), 60) if unused else []
    if note_lines:
        fig.add_annotation(text="<br>".join(plotly_escape(line) for line in note_lines),
                           x=0, y=-0.02, xref="paper", yref="paper", xanchor="left",
                           yanchor="top", align="left", showarrow=False,
                           font={"size": 10, "color": "#6b7280"})
    top = 70 + int(6.2 * 0.6 * max(len(c) for c in cols))
    plot = 24 * len(rows)
    note = 16 * len(note_lines)
    return chart_layout(fig, title, height=top + plot + 70 + note,
                   legend={"orientation": "h", "y": -(8 + note) / max(plot, 1),
                           "yanchor": "top", "x": 0},
                   margin={"t": top, "b": 60 + note})


# ------------------------------------------------------------------------------------------
# plaintext credentials
# ------------------------------------------------------------------------------------------
CREDENTIAL_LABELS = {
    "aws_access_key_id": "AWS access key ID",
    "aws_secret_access_key": "AWS secret access key",
    "private_key": "private key (PEM)",
    "github_token": "GitHub token", "gitlab_token": "GitLab token",
    "slack_token": "Slack token or webhook", "jwt": "JSON Web Token",
    "bearer_token": "bearer token", "url_password": "password in a URL",
    "password": "password (by key name)", "api_key": "API key (by key name)",
    "secret": "secret (by key name)", "token": "token (by key name)",
}
PLAINTEXT_COLUMNS = [*KEY, "container", "field", "key", "credential", "length", "status",
                     "waived", "system"]
_CONTAINER_LOC = re.compile(r'^container "(?P<container>[^"]*)" (?P<rest>.*)$')


def _split_location(location: str) -> tuple[str | None, str, str]:
    """``container "app" env DB_PASSWORD`` → ``("app", "env", "DB_PASSWORD")``."""
    container = None
    m = _CONTAINER_LOC.match(location)
    if m:
        container, location = m["container"], m["rest"]
    for field in ("data key", "binaryData key", "pod annotation", "env"):
        if location.startswith(field + " "):
            return container, field, location[len(field) + 1:]
    head, _, rest = location.partition(" ")
    if head.startswith(("command[", "args[")):
        return container, head, rest
    for label in ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle."):
        if location.startswith(label) and " header " in location:
            field, _, key = location.partition(" header ")
            return container, f"{field} header", key
    return container, location, ""


def summarize_plaintext_credentials(assessment: Assessment) -> pd.DataFrame:
    """Where collection found a credential written in plain text, and what kind it was.

    One row per redaction marker (``redaction_markers``): the workload or ConfigMap, the
    container, the field (``env``, ``args[0]``, ``data key``, a probe header ...), the env var
    or ConfigMap key, the kind of credential the marker names and its length, with the status
    of ``plaintext_credentials_absent`` for the resource. The value was never stored; the
    marker's hash prefix is not shown either. Empty, with a note, when nothing was flagged or
    nothing could be scanned.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> a = assess("reports/demo-snapshot")                                # doctest: +SKIP
    >>> summarize_plaintext_credentials(a)[["name", "key", "credential"]]   # doctest: +SKIP
    """
    markers, why = frame_or_note(assessment, "redaction_markers")
    if markers is None:
        return empty_table(PLAINTEXT_COLUMNS, f"Plaintext credentials {why}.")
    if markers.empty:
        scope, _ = frame_or_note(assessment, "redaction_scope")
        n = 0 if scope is None else int(scope["values"].sum())
        return empty_table(PLAINTEXT_COLUMNS, "No credential was flagged in "
                      f"{plural(n, 'value')} scanned (env values, arguments, probe headers, "
                      "ConfigMap data).")
    found = _finding(assessment, "plaintext_credentials_absent")
    rows = []
    for r in markers.itertuples(index=False):
        container, field, key = _split_location(r.location)
        if r.kind == "ConfigMap" and field in ("data key", "binaryData key"):
            field = f"ConfigMap {field.removesuffix(' key')}"
        f = found.get((r.kind, r.namespace, r.name), {})
        rows.append({"kind": r.kind, "namespace": r.namespace, "name": r.name,
                     "container": container or "—", "field": field, "key": key or "—",
                     "credential": CREDENTIAL_LABELS.get(r.marker_kind, r.marker_kind),
                     "length": int(r.length), "status": f.get("status", "—"),
                     "waived": f.get("waived", False), "system": bool(r.system)})
    out = (pd.DataFrame(rows, columns=PLAINTEXT_COLUMNS)
           .sort_values(["system", "namespace", "name", "container", "key"])
           .reset_index(drop=True))
    out.attrs["display_columns"] = PLAINTEXT_COLUMNS[:-2]  # waived and system: in the findings
    return out


# ------------------------------------------------------------------------------------------
# Secrets Manager rotation
# ------------------------------------------------------------------------------------------
ROTATION_COLUMNS = ["secret", "referenced_by", "workloads", "used_by_cluster",
                    "rotation_enabled", "rotation_interval", "last_rotated",
                    "days_since_rotation", "last_changed", "status"]


def _references(assessment: Assessment) -> dict[str, list[tuple[str, str, str]]]:
    """Map each Secrets Manager reference (name or ARN) to the objects that read it.

    SecretProviderClasses with provider aws, ExternalSecrets from a Secrets Manager or unknown
    store, as ``(kind, namespace, name)``.
    """
    frames = assessment.frames
    refs: dict[str, list[tuple[str, str, str]]] = {}
    for spc in frames.secret_provider_classes.itertuples(index=False):
        if spc.provider != "aws":
            continue
        for otype, name in spc.objects:
            if otype == "secretsmanager" or ":secretsmanager:" in name:
                refs.setdefault(name, []).append(("SecretProviderClass", spc.namespace,
                                                  spc.name))
    for es in frames.external_secrets.itertuples(index=False):
        provider = _cell(es.store_provider)
        if provider is not None and provider != "aws SecretsManager":
            continue
        for key in es.remote_keys:
            refs.setdefault(key, []).append(("ExternalSecret", es.namespace, es.name))
    return refs


def _consumers_of(assessment: Assessment, obj: tuple[str, str, str]) -> list[str]:
    """Workloads that consume what a SecretProviderClass / ExternalSecret delivers."""
    kind, ns, name = obj
    sc, _ = frame_or_note(assessment, "secret_consumers")
    if sc is None or sc.empty:
        return []
    sc = sc[sc["namespace"] == ns]
    if kind == "SecretProviderClass":
        spc = assessment.frames.secret_provider_classes
        synced = set()
        for r in spc[(spc["namespace"] == ns) & (spc["name"] == name)].itertuples(index=False):
            synced.update(r.synced_secrets)
        hit = ((sc["via"] == "csi") & (sc["secret"] == name)) | (
            sc["via"].ne("csi") & sc["secret"].isin(synced))
    else:
        es = assessment.frames.external_secrets
        targets = set(es[(es["namespace"] == ns) & (es["name"] == name)]["target_secret"])
        hit = sc["via"].isin(["env", "envFrom", "volume", "projected"]) & sc["secret"].isin(
            targets)
    return list(dict.fromkeys(f"{k} {n_}/{w}" for k, n_, w in
                              sc[hit][KEY].itertuples(index=False, name=None)))


def _days_between(earlier: Any, later: str) -> int | None:
    try:
        a = datetime.fromisoformat(str(earlier).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(later).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (b - a).days


def summarize_secretsmanager_rotation(assessment: Assessment) -> pd.DataFrame:
    """Every Secrets Manager secret listed, who in the cluster reads it, and how it rotates.

    ``referenced_by`` names the SecretProviderClass / ExternalSecret objects that reference the
    secret (by name or ARN), ``workloads`` the workloads that consume what those deliver,
    ``used_by_cluster`` whether the ``secretsmanager_rotation_enabled`` check judged it (a
    reference or a tag naming the cluster); ``rotation_interval`` is ``AutomaticallyAfterDays``
    or the schedule expression; ``days_since_rotation`` counts from ``LastRotatedDate`` to when
    the snapshot was taken. References to secrets list_secrets did not return appear with
    status ``not_applicable``. Used secrets first, failing first.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> a = assess("reports/demo-snapshot")                                # doctest: +SKIP
    >>> summarize_secretsmanager_rotation(a)[["secret", "rotation_enabled"]]  # doctest: +SKIP
    """
    sm, why = frame_or_note(assessment, "secretsmanager_secrets")
    if sm is None:
        return empty_table(ROTATION_COLUMNS, f"Secrets Manager {why}.")
    sm = sm.reset_index(drop=True)
    resolve = fs.secret_reference_resolver(sm)
    referenced: dict[int, list[tuple[str, str, str]]] = {}
    unresolved: dict[str, list[tuple[str, str, str]]] = {}
    for ref, objs in _references(assessment).items():
        pos = resolve(ref)
        if pos is None:
            unresolved[ref] = objs
        else:
            referenced.setdefault(pos, []).extend(objs)
    found = _finding(assessment, "secretsmanager_rotation_enabled")
    taken = assessment.snapshot.manifest.collected_at
    rows = []
    for pos in range(len(sm)):
        s = fs.plain(sm.iloc[pos])
        objs = list(dict.fromkeys(referenced.get(pos, [])))
        f = found.get(("SecretsManagerSecret", "", s["name"]))
        interval = (f"{s['rotation_days']} days" if s["rotation_days"]
                    else s["rotation_schedule"] or "—")
        rows.append({
            "secret": s["name"],
            "referenced_by": ", ".join(f"{k} {ns}/{n}" for k, ns, n in objs) or "—",
            "workloads": ", ".join(dict.fromkeys(
                w for o in objs for w in _consumers_of(assessment, o))) or "—",
            "used_by_cluster": f is not None,
            "rotation_enabled": bool(s["rotation_enabled"]),
            "rotation_interval": interval if s["rotation_enabled"] else "—",
            "last_rotated": s["last_rotated"] or "never",
            "days_since_rotation": (_days_between(s["last_rotated"], taken)
                                    if s["last_rotated"] else None),
            "last_changed": s["last_changed"] or "—",
            "status": f["status"] if f else "not in scope",
        })
    for ref, objs in unresolved.items():
        f = found.get(("SecretsManagerSecret", "", ref))
        rows.append({"secret": ref, "referenced_by": ", ".join(
            f"{k} {ns}/{n}" for k, ns, n in dict.fromkeys(objs)),
            "workloads": ", ".join(dict.fromkeys(
                w for o in objs for w in _consumers_of(assessment, o))) or "—",
            "used_by_cluster": True, "rotation_enabled": None, "rotation_interval": "—",
            "last_rotated": "—", "days_since_rotation": None, "last_changed": "—",
            "status": f["status"] if f else "not_applicable"})
    out = pd.DataFrame(rows, columns=ROTATION_COLUMNS)
    out["days_since_rotation"] = out["days_since_rotation"].astype("Int64")
    rank = {"fail": 0, "not_assessed": 1, "pass": 2, "not_applicable": 3, "not in scope": 4}
    return (out.assign(_r=out["status"].map(rank).fillna(5))
            .sort_values(["_r", "secret"]).drop(columns="_r").reset_index(drop=True))


# ------------------------------------------------------------------------------------------
# storage encryption
# ------------------------------------------------------------------------------------------
STORAGE_COLUMNS = [*KEY, "provisioner", "storage_class", "encrypted", "kms_key_id",
                   "encrypt_in_transit", "claims", "workloads", "status"]


def _claim_users(assessment: Assessment) -> dict[str, list[str]]:
    """Map ``namespace/claim`` to the workloads that mount it.

    Pod volumes by claimName, and StatefulSet claim templates by their generated names
    ``<template>-<statefulset>-<ordinal>``.
    """
    out: dict[str, list[str]] = {}
    w, _ = frame_or_note(assessment, "workloads")
    if w is None:
        return out
    specs = assessment.frames.pod_specs
    for r in w.itertuples(index=False):
        label = f"{r.kind} {r.namespace}/{r.name}"
        for v in specs[r.spec_hash]["spec"].get("volumes") or ():
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                out.setdefault(f"{r.namespace}/{claim}", []).append(label)
    pvs = assessment.frames.persistent_volumes
    sts = w[w["kind"] == "StatefulSet"]
    for claim in pvs["claim"].dropna():
        ns, _, name = str(claim).partition("/")
        for r in sts[sts["namespace"] == ns].itertuples(index=False):
            if re.fullmatch(rf".+-{re.escape(r.name)}-\d+", name):
                out.setdefault(claim, []).append(f"StatefulSet {ns}/{r.name}")
    return out


def summarize_storage_encryption(assessment: Assessment) -> pd.DataFrame:
    """Show StorageClasses and PersistentVolumes: encrypted or not, and who uses them.

    One row per StorageClass (provisioner, ``encrypted`` parameter, ``kmsKeyId``) and per
    PersistentVolume (CSI driver, its class, EFS ``encryptInTransit``), with the claims bound
    through it and the workloads that mount those claims, and the status of
    ``storage_encryption_enabled`` (``not evaluated`` for classes and volumes the check does not
    judge: EBS PVs inherit their class's verdict, other provisioners are out of scope).
    Failing rows first.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> a = assess("reports/demo-snapshot")                                # doctest: +SKIP
    >>> summarize_storage_encryption(a)[["name", "encrypted", "workloads"]]  # doctest: +SKIP
    """
    scs, why = frame_or_note(assessment, "storage_classes")
    pvs, why_pv = frame_or_note(assessment, "persistent_volumes")
    if scs is None and pvs is None:
        return empty_table(STORAGE_COLUMNS, f"Storage classes {why}.")
    found = _finding(assessment, "storage_encryption_enabled")
    # a check that could not run reports one not_assessed row: every class inherits it
    unjudged = ("not_assessed" if any(f["status"] == "not_assessed" for f in found.values())
                else "not evaluated")
    users = _claim_users(assessment) if pvs is not None else {}
    pvs = pvs if pvs is not None else pd.DataFrame(columns=["storage_class", "claim"])
    rows = []
    for sc in (scs.itertuples(index=False) if scs is not None else ()):
        bound = pvs[pvs["storage_class"] == sc.name]
        claims = [str(c) for c in bound["claim"].dropna()]
        f = found.get(("StorageClass", "", sc.name), {})
        rows.append({
            "kind": "StorageClass", "namespace": "", "name": sc.name,
            "provisioner": sc.provisioner, "storage_class": "—",
            "encrypted": sc.parameters.get("encrypted", "unset"),
            "kms_key_id": sc.parameters.get("kmsKeyId", "—"), "encrypt_in_transit": "—",
            "claims": ", ".join(claims) or "—",
            "workloads": ", ".join(dict.fromkeys(u for c in claims for u in users.get(c, ())))
            or "—",
            "status": f.get("status", unjudged),
        })
    for pv in pvs.itertuples(index=False) if "name" in pvs else ():
        claim = _cell(pv.claim)
        f = found.get(("PersistentVolume", "", pv.name), {})
        sc_status = found.get(("StorageClass", "", _cell(pv.storage_class)), {}).get("status")
        rows.append({
            "kind": "PersistentVolume", "namespace": "", "name": pv.name,
            "provisioner": _cell(pv.csi_driver) or "in-tree", "storage_class":
            _cell(pv.storage_class) or "—", "encrypted": "—", "kms_key_id": "—",
            "encrypt_in_transit": (pv.volume_attributes.get("encryptInTransit", "unset (true)")
                                   if _cell(pv.csi_driver) == "efs.csi.aws.com" else "—"),
            "claims": claim or "—",
            "workloads": ", ".join(dict.fromkeys(users.get(claim, ()))) if claim else "—",
            "status": f.get("status") or (f"class {sc_status}" if sc_status else unjudged),
        })
    out = pd.DataFrame(rows, columns=STORAGE_COLUMNS)
    out["workloads"] = out["workloads"].replace("", "—")
    rank = out["status"].map(lambda s: 0 if "fail" in s else 1 if s != "not evaluated" else 2)
    out = (out.assign(_r=rank).sort_values(["_r", "kind", "name"], kind="stable")
           .drop(columns="_r").reset_index(drop=True))
    # PersistentVolumes and StorageClasses have no namespace; the claims lead to the workloads
    out.attrs["display_columns"] = [c for c in STORAGE_COLUMNS if c not in ("namespace", "claims")]
    return out


# ------------------------------------------------------------------------------------------
# remediation narrative
# ------------------------------------------------------------------------------------------
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+$")
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_SM_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _verb(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _encryption_steps(assessment: Assessment) -> list[str]:
    enc = summarize_secrets_encryption(assessment)
    if enc.empty:
        return [f"**Encryption at rest.** {md_escape(enc.attrs.get('note', ''))}"]
    out = []
    for r in enc.itertuples(index=False):
        cluster = str(r.cluster) if _CLUSTER_NAME.match(str(r.cluster)) else "<cluster>"
        arn = str(r.key).split(" ")[0]  # "<arn> (configured as <alias>)"
        key = arn if _KMS_ARN.match(arn) else "<key-arn>"
        head = f"**Encryption at rest** ({md_escape(r.cluster)}: {md_escape(r.grade)})."
        if r.grade in (fs.GRADE_CMK_ROTATING,):
            out.append(f"{head} Nothing to do: {md_escape(r.meaning)}")
        elif r.grade in (fs.GRADE_CMK, fs.GRADE_CMK_ROTATION_UNKNOWN):
            out.append(f"{head} Turn on automatic rotation of the secrets key (yearly is the "
                       "default; KMS keeps old key material, so existing Secrets stay "
                       "readable):\n\n" + fenced(
                           f"aws kms enable-key-rotation --key-id {key} "
                           "--rotation-period-in-days 365\n"
                           f"aws kms get-key-rotation-status --key-id {key}", "sh"))
        elif r.grade == fs.GRADE_KEY_UNUSABLE:
            out.append(f"{head} {md_escape(r.meaning)}\n\n" + fenced(
                f"aws kms cancel-key-deletion --key-id {key}   # if PendingDeletion\n"
                f"aws kms enable-key --key-id {key}", "sh"))
        elif r.grade == fs.GRADE_NOT_ASSESSED:
            out.append(f"{head} {md_escape(r.meaning)}")
        else:
            out.append(
                f"{head} {md_escape(r.meaning)} Create a symmetric customer-managed key whose "
                "key policy lets only the cluster role and your key administrators use it, "
                "turn on its rotation, and associate it with the cluster. The association "
                "cannot be undone; it takes several minutes, then re-write every Secret so it "
                "is encrypted with the new key:\n\n" + fenced(
                    "aws kms create-key --description \"EKS secrets envelope encryption\" "
                    "--key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT\n"
                    "aws kms enable-key-rotation --key-id <key-arn> "
                    "--rotation-period-in-days 365\n"
                    f"aws eks associate-encryption-config --cluster-name {cluster} "
                    "--encryption-config "
                    "'[{\"resources\":[\"secrets\"],\"provider\":{\"keyArn\":\"<key-arn>\"}}]'\n"
                    "kubectl get secrets --all-namespaces -o json | kubectl replace -f -",
                    "sh"))
    return out


def _env_patch(assessment: Assessment, m: pd.DataFrame) -> str:
    """A strategic-merge patch that moves the top env-var workload's secrets to files."""
    env = m[(m["env_secret_key_ref"] + m["env_from_secret_ref"] > 0) & ~m["system"]]
    if env.empty:
        return ("**Secrets as files.** No workload outside the system namespaces reads a "
                "Secret through an environment variable.")
    total = len(env)
    top = env.assign(_n=env["env_secret_key_ref"] + env["env_from_secret_ref"]).sort_values(
        ["_n", "namespace", "name"], ascending=[False, True, True]).iloc[0]
    names = ", ".join(f"{md_escape(k)} {md_escape(ns)}/{md_escape(n)}" for k, ns, n in
                      env[KEY].itertuples(index=False, name=None))
    head = (f"**Secrets as files.** {plural(total, 'workload')} "
            f"{_verb(total, 'reads', 'read')} Secrets from environment "
            f"variables ({names}). Environment variables end up in crash dumps, debug "
            "endpoints and child processes, and do not change until the pod restarts; a "
            "mounted Secret is a file the kubelet updates in place.")
    label = f"{md_escape(top['kind'])} {md_escape(top['namespace'])}/{md_escape(top['name'])}"
    if top["kind"] not in TEMPLATE_PATHS or not (is_k8s_name(top["namespace"])
                                                  and is_k8s_name(top["name"])):
        return head + f" Start with {label}: change its manifest by hand."
    sc = assessment.frames.secret_consumers
    mine = sc[(sc["kind"] == top["kind"]) & (sc["namespace"] == top["namespace"])
              & (sc["name"] == top["name"]) & sc["via"].isin(["env", "envFrom"])]
    containers: dict[str, dict[str, Any]] = {}
    volumes: dict[str, dict[str, Any]] = {}
    for r in mine.itertuples(index=False):
        if not (is_k8s_name(r.secret) and is_k8s_name(_cell(r.container))):
            continue
        vol = f"secret-{r.secret}"[:63].rstrip("-")
        volumes[vol] = {"name": vol, "secret": {"secretName": r.secret}}
        c = containers.setdefault(r.container, {"name": r.container, "env": [],
                                                "volumeMounts": []})
        mount = {"name": vol, "mountPath": f"/var/run/secrets/{r.secret}", "readOnly": True}
        if mount not in c["volumeMounts"]:
            c["volumeMounts"].append(mount)
        if r.via == "env" and isinstance(_cell(r.env_var), str) and _ENV_NAME.match(r.env_var):
            c["env"].append({"name": r.env_var, "$patch": "delete"})
    for c in containers.values():
        if not c["env"]:
            del c["env"]
    if not containers:
        return head
    pod: dict[str, Any] = {"containers": list(containers.values()),
                           "volumes": list(volumes.values())}
    patch: dict[str, Any] = {"spec": pod}
    for part in reversed(TEMPLATE_PATHS[str(top["kind"])]):
        patch = {part: patch}
    file = f"{top['name']}-secret-files.yaml"
    text = [head, f"Start with {label}: the patch below mounts each Secret read-only under "
            "`/var/run/secrets/<secret>/` and removes the environment variables "
            "(`$patch: delete`). The application must then read the file (many images accept "
            "a `*_FILE` variable pointing at it); envFrom entries must be removed from the "
            "manifest by hand.", fenced(f"# {file}\n{patch_yaml(patch)}", "yaml")]
    command = patch_command(str(top["kind"]), str(top["namespace"]), str(top["name"]), file)
    if command:
        text.append(fenced(command, "sh"))
    return "\n\n".join(text)


def _store_sketch(assessment: Assessment, m: pd.DataFrame) -> str:
    """An ExternalSecret (or SecretProviderClass) for a workload that uses a plain Secret."""
    local = m[~m["external_store"] & ~m["system"]]
    if local.empty:
        return ("**External store.** Every workload outside the system namespaces gets its "
                "secrets from an external store.")
    sc = assessment.frames.secret_consumers
    names = ", ".join(f"{md_escape(ns)}/{md_escape(n)}" for ns, n in
                      local[["namespace", "name"]].itertuples(index=False, name=None))
    head = (f"**External store.** {plural(len(local), 'workload')} "
            f"{_verb(len(local), 'uses', 'use')} Secrets kept only in "
            f"Kubernetes ({names}): no owner outside the cluster, no rotation, no access log, "
            "and a copy in whatever pipeline created them.")
    pick = None
    for r in local.itertuples(index=False):
        plain_rows = sc[(sc["kind"] == r.kind) & (sc["namespace"] == r.namespace)
                        & (sc["name"] == r.name) & ~sc["external"].astype(bool)]
        for s in plain_rows.itertuples(index=False):
            if is_k8s_name(s.namespace) and is_k8s_name(s.secret):
                pick = s
                break
        if pick is not None:
            break
    if pick is None:
        return head
    stores = []
    if assessment.snapshot.has_k8s(fs.CLUSTER_STORE_RESOURCE):
        for store in assessment.snapshot.k8s(fs.CLUSTER_STORE_RESOURCE):
            name = (store.get("metadata") or {}).get("name", "")
            provider = fs._store_provider(store.get("spec") or {})
            if provider == "aws SecretsManager" and is_k8s_name(name):
                stores.append(name)
    remote = f"{pick.namespace}/{pick.secret}"
    label = f"{md_escape(pick.kind)} {md_escape(pick.namespace)}/{md_escape(pick.name)}"
    steps = [head, f"For {label} and its Secret `{pick.secret}`: store the value in AWS Secrets "
             "Manager (the command reads it from a file, so it stays out of the shell history), "
             "then let the cluster fetch it."]
    steps.append(fenced(f"aws secretsmanager create-secret --name {remote} "
                        f"--secret-string file://{pick.secret}.json", "sh"))
    if stores:
        es = {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
              "metadata": {"name": pick.secret, "namespace": pick.namespace},
              "spec": {"refreshInterval": "1h",
                       "secretStoreRef": {"kind": "ClusterSecretStore", "name": stores[0]},
                       "target": {"name": pick.secret, "creationPolicy": "Owner"},
                       "dataFrom": [{"extract": {"key": remote}}]}}
        steps.append(f"The cluster already runs External Secrets with the ClusterSecretStore "
                     f"`{stores[0]}` (AWS Secrets Manager): replace the hand-made Secret with an "
                     "ExternalSecret that writes it (delete the old Secret first, or let the "
                     "ExternalSecret take it over with `creationPolicy: Merge`).")
        steps.append(fenced(yaml.safe_dump(es, sort_keys=False), "yaml"))
    else:
        spc = {"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
               "metadata": {"name": pick.secret, "namespace": pick.namespace},
               "spec": {"provider": "aws", "parameters": {"objects": yaml.safe_dump(
                   [{"objectName": remote, "objectType": "secretsmanager"}],
                   sort_keys=False)}}}
        steps.append("With the Secrets Store CSI driver and its AWS provider, a "
                     "SecretProviderClass mounts the value as a file (the workload's IAM role, "
                     "through IRSA or Pod Identity, needs secretsmanager:GetSecretValue on it):")
        steps.append(fenced(yaml.safe_dump(spc, sort_keys=False), "yaml"))
    return "\n\n".join(steps)


def _rotation_steps(assessment: Assessment) -> str:
    rot = summarize_secretsmanager_rotation(assessment)
    if rot.empty:
        return f"**Secrets Manager rotation.** {md_escape(rot.attrs.get('note', ''))}"
    bad = rot[rot["status"] == "fail"]
    used = rot[rot["used_by_cluster"]]
    if bad.empty:
        return (f"**Secrets Manager rotation.** All {plural(len(used), 'secret')} the cluster "
                "uses rotate automatically.")
    names = ", ".join(f"`{s}`" if _SM_NAME.match(s) else md_escape(s) for s in bad["secret"])
    cmds = [f"aws secretsmanager rotate-secret --secret-id {s} --rotation-lambda-arn "
            "<rotation-lambda-arn> --rotation-rules AutomaticallyAfterDays=30"
            for s in bad["secret"] if _SM_NAME.match(s)]
    text = (f"**Secrets Manager rotation.** {len(bad)} of the {plural(len(used), 'secret')} "
            f"the cluster uses never {_verb(len(bad), 'rotates', 'rotate')} ({names}): a "
            "leaked value stays valid until someone changes it by hand. Attach a rotation "
            "function (for RDS, Redshift and DocumentDB credentials use managed rotation, no "
            "Lambda of your own), and make the consumers re-read it: External Secrets "
            "`refreshInterval`, the CSI driver's `--enable-secret-rotation`.")
    return text + ("\n\n" + fenced("\n".join(cmds), "sh") if cmds else "")


def _storage_steps(assessment: Assessment) -> str:
    st = summarize_storage_encryption(assessment)
    if st.empty:
        return f"**Storage encryption.** {md_escape(st.attrs.get('note', ''))}"
    bad_sc = st[(st["kind"] == "StorageClass") & (st["status"] == "fail")]
    bad_pv = st[(st["kind"] == "PersistentVolume") & (st["status"] == "fail")]
    if bad_sc.empty and bad_pv.empty:
        return "**Storage encryption.** Every EBS class encrypts and no EFS volume is in clear."
    parts = ["**Storage encryption.**"]
    if not bad_sc.empty:
        names = ", ".join(f"{md_escape(n)} (used by {md_escape(w)})" if w != "—"
                          else md_escape(n) for n, w in zip(bad_sc["name"], bad_sc["workloads"],
                                                           strict=True))
        parts.append(f"{plural(len(bad_sc), 'StorageClass', 'StorageClasses')} "
                     f"{_verb(len(bad_sc), 'does', 'do')} not encrypt EBS volumes: {names}. "
                     "StorageClass parameters cannot change: create an encrypted class, move "
                     "the claims to it (snapshot and restore, or copy the data), and turn on "
                     "EBS encryption by default for the account and region.")
        sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
              "metadata": {"name": "gp3-encrypted"}, "provisioner": "ebs.csi.aws.com",
              "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": "<key-arn>"},
              "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
              "allowVolumeExpansion": True}
        parts.append(fenced(yaml.safe_dump(sc, sort_keys=False), "yaml"))
        parts.append(fenced("aws ec2 enable-ebs-encryption-by-default\n"
                            "aws ec2 modify-ebs-default-kms-key-id --kms-key-id <key-arn>", "sh"))
    if not bad_pv.empty:
        names = ", ".join(md_escape(n) for n in bad_pv["name"])
        parts.append(f"EFS volumes with `encryptInTransit: \"false\"` send NFS traffic in clear "
                     f"text: {names}. Recreate each PersistentVolume without that attribute "
                     "(the driver then mounts with TLS); a PV's volumeAttributes cannot be "
                     "edited in place.")
    return "\n\n".join(parts)


def _plaintext_steps(assessment: Assessment) -> str:
    p = summarize_plaintext_credentials(assessment)
    if p.empty:
        return f"**Plaintext credentials.** {md_escape(p.attrs.get('note', ''))}"
    where = "; ".join(
        f"{md_escape(r.kind)} {md_escape(r.namespace)}/{md_escape(r.name)} "
        f"{md_escape(r.field)} {md_escape(r.key)} ({md_escape(r.credential)})"
        for r in p.itertuples(index=False))
    return (f"**Plaintext credentials, first.** {plural(len(p), 'credential')} "
            f"{_verb(len(p), 'is', 'are')} written "
            f"in plain text: {where}. Treat each as compromised: rotate it at its source "
            "(for an AWS access key, `aws iam create-access-key` then "
            "`aws iam delete-access-key`; better, replace it with an IAM role through IRSA or "
            "Pod Identity), then move the new value to the external store as below, and remove "
            "it from Git history and Helm values.")


def narrate_secrets_remediation(assessment: Assessment) -> Markdown:
    """Write the secrets remediation plan, most urgent first, with commands and YAML.

    Plaintext credentials (rotate first), envelope encryption (``aws eks
    associate-encryption-config`` with a key ARN placeholder when there is no customer key,
    ``aws kms enable-key-rotation`` when it does not rotate), secrets moved from environment
    variables to mounted files (a strategic-merge patch for the workload with the most env
    secrets), an ExternalSecret (or SecretProviderClass) for a workload using a plain Secret,
    ``aws secretsmanager rotate-secret`` for secrets that do not rotate, and an encrypted
    StorageClass. Names from the cluster reach Markdown escaped, and a command or a code block
    only when they are valid Kubernetes / AWS names.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> narrate_secrets_remediation(assess("reports/demo-snapshot"))       # doctest: +SKIP
    """
    parts: list[str] = []
    parts.append(_plaintext_steps(assessment))
    try:
        parts += _encryption_steps(assessment)
    except NotAssessed as exc:  # pragma: no cover - summarize_* already degrade to a note
        parts.append(f"**Encryption at rest.** {md_escape(exc)}")
    m = summarize_secret_consumption_matrix(assessment)
    if m.empty:
        parts.append(f"**How workloads get secrets.** {md_escape(m.attrs.get('note', ''))}")
    else:
        parts.append(_env_patch(assessment, m))
        parts.append(_store_sketch(assessment, m))
    parts.append(_rotation_steps(assessment))
    parts.append(_storage_steps(assessment))
    return Markdown("\n\n".join(p for p in parts if p))


# ------------------------------------------------------------------------------------------
# secret use per namespace (the overview beside the matrix)
# ------------------------------------------------------------------------------------------

SECRETS_STORE_DRIVER = "secrets-store.csi.k8s.io"


_VIA_ENV = ("env", "envFrom")


_VIA_FILES = ("volume", "projected")


def summarize_secret_consumption(assessment: Assessment) -> pd.DataFrame:
    """How workloads consume secrets, per namespace (system namespaces left out).

    A workload counts once in each way it uses: ``env`` (``secretKeyRef`` / ``envFrom``: the
    value ends up in the process environment, crash dumps and child processes), ``volume`` (a
    Secret mounted as files) and ``secret_store`` (the value comes from an external store:
    Secrets Store CSI, Vault injection, or a Secret written by External Secrets). ``none``
    counts workloads that read no secret. Columns: ``namespace, workloads, env, volume,
    secret_store, none``. Reads the ``secret_consumers`` frame, or the containers and volumes
    when that frame is not available.
    """
    cols = ["namespace", "workloads", "env", "volume", "secret_store", "none"]
    w, why = frame_or_note(assessment, "workloads")
    if w is None:
        return empty_table(cols, f"Secret consumption {why}.")
    keys = [tuple(x) for x in w[~w["system"].astype(bool)][KEY].values.tolist()]
    if not keys:
        return empty_table(cols, "No workload outside the system namespaces.")
    ways = _secret_ways(assessment)
    if ways is None:
        return empty_table(cols, "Secret consumption not available: containers were not collected.")
    env_keys, vol_keys, ext_keys = ways
    df = pd.DataFrame(keys, columns=KEY)
    df["env"] = [k in env_keys for k in keys]
    df["volume"] = [k in vol_keys for k in keys]
    df["secret_store"] = [k in ext_keys for k in keys]
    df["none"] = ~(df["env"] | df["volume"] | df["secret_store"])
    out = (df.groupby("namespace")
           .agg(workloads=("name", "size"), env=("env", "sum"), volume=("volume", "sum"),
                secret_store=("secret_store", "sum"), none=("none", "sum"))
           .reset_index().sort_values(["env", "workloads", "namespace"],
                                      ascending=[False, False, True]))
    return out[cols].reset_index(drop=True)


_Keys = set[tuple[str, str, str]]


def _secret_ways(assessment: Assessment) -> tuple[_Keys, _Keys, _Keys] | None:
    """Workload keys that read secrets from env, from files, and from an external store."""
    sc, _ = frame_or_note(assessment, "secret_consumers")
    if sc is not None:
        def keys(mask: pd.Series) -> _Keys:
            return set(map(tuple, sc[mask][KEY].values.tolist()))

        return (keys(sc["via"].isin(_VIA_ENV)), keys(sc["via"].isin(_VIA_FILES)),
                keys(sc["external"].astype(bool)))
    c, _ = frame_or_note(assessment, "containers")
    if c is None:
        return None
    env_keys = {
        (k, ns, n) for k, ns, n, refs, env_from in
        zip(c["kind"], c["namespace"], c["name"], c["env_secret_refs"], c["env_from_secrets"],
            strict=True)
        if len(refs or ()) or len(env_from or ())
    }
    vol_keys: _Keys = set()
    ext_keys: _Keys = set()
    v, _ = frame_or_note(assessment, "volumes")
    if v is not None and not v.empty:
        vol_keys = set(map(tuple, v[v["volume_type"] == "secret"][KEY].values.tolist()))
        csi = v["csi_driver"].astype("string").fillna("") == SECRETS_STORE_DRIVER
        ext_keys = set(map(tuple, v[csi][KEY].values.tolist()))
    return env_keys, vol_keys, ext_keys
