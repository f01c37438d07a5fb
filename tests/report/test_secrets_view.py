"""The secrets view of issue 8: encryption grade, consumption matrix, plaintext credentials,
Secrets Manager rotation, storage encryption and the remediation narrative.

On the demo (a customer key without rotation, env-var secrets, CSI aws, External Secrets,
redaction markers, a non-rotating Secrets Manager secret, an unencrypted gp2 class) and on small
hand-built snapshots for the methods and grades the demo does not have.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.checks.casefiles import build_case_frames
from zt_toolkit.assessment import Assessment
from zt_toolkit.checks import run_checks
from zt_toolkit.report import secrets_view as v

KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/ebcb8d9c-5813-49e1-b521-08b95079fcfc"
EVIL = "<script>alert(1)</script>"
NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def assessment_of(case: dict, tmp: Path) -> Assessment:
    frames = build_case_frames(case, tmp)
    return Assessment(frames.snapshot, frames.config, frames, run_checks(frames))


def deployment(name: str, containers: list[dict], volumes: list[dict] | None = None,
               annotations: dict | None = None, ns: str = "shop") -> dict:
    meta: dict = {"labels": {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": meta,
                "spec": {"containers": containers, "volumes": volumes or []}}}}


def container(name: str = "app", **fields) -> dict:
    return {"name": name, "image": "example/app:1.0", **fields}


def secret_env(var: str, secret: str) -> dict:
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": "value"}}}


def csi(name: str, spc: str) -> dict:
    return {"name": name, "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                                  "volumeAttributes": {"secretProviderClass": spc}}}


def spc(name: str, provider: str, synced: str | None = None, objects: str = "") -> dict:
    spec: dict = {"provider": provider, "parameters": {"objects": objects}}
    if synced:
        spec["secretObjects"] = [{"secretName": synced, "type": "Opaque",
                                  "data": [{"objectName": "db", "key": "password"}]}]
    return {"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
            "metadata": {"name": name, "namespace": "shop"}, "spec": spec}


def cluster(version: str, key: str | None = None) -> dict:
    c: dict = {"name": "case-cluster", "version": version}
    if key:
        c["encryptionConfig"] = [{"resources": ["secrets"], "provider": {"keyArn": key}}]
    return {"eks/describe_cluster": [{"params": {"name": "case-cluster"},
                                      "response": {"cluster": c}}]}


# ------------------------------------------------------------------------------------------
# encryption
# ------------------------------------------------------------------------------------------
def test_demo_encryption_grade_customer_key_without_rotation(demo):
    e = v.summarize_secrets_encryption(demo)
    assert len(e) == 1
    row = e.iloc[0]
    assert row["cluster"] == "acme-shop-prod"
    assert row["grade"] == "customer-managed key, no rotation"
    assert row["key"] == KEY_ARN
    assert (row["key_manager"], row["key_state"], row["rotation"]) == ("CUSTOMER", "Enabled",
                                                                        "off")
    assert (row["status"], row["severity"]) == ("pass", "high")
    assert row["kubernetes_version"] == "1.30"
    assert "never rotates" in row["meaning"]


@pytest.mark.parametrize(("version", "grade", "status", "severity", "rotation"), [
    ("1.29", "AWS-owned default key", "fail", "low", "—"),
    ("1.27", "not envelope-encrypted", "fail", "high", "—"),
])
def test_encryption_without_config(tmp_path, version, grade, status, severity, rotation):
    a = assessment_of({"k8s": [NS], "aws": cluster(version)}, tmp_path)
    row = v.summarize_secrets_encryption(a).iloc[0]
    assert (row["grade"], row["status"], row["severity"], row["rotation"]) == (
        grade, status, severity, rotation)
    assert row["key"] == "—"


def test_encryption_rotating_key_shows_its_period(tmp_path):
    key = "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-2222-3333-4444-555566667777"
    aws = {**cluster("1.31", key),
           "kms/describe_key": [{"params": {"KeyId": key}, "response": {"KeyMetadata": {
               "KeyId": "1111aaaa-2222-3333-4444-555566667777", "Arn": key,
               "KeyManager": "CUSTOMER", "KeyState": "Enabled", "Enabled": True}}}],
           "kms/get_key_rotation_status": [{"params": {"KeyId": key}, "response": {
               "KeyRotationEnabled": True, "RotationPeriodInDays": 90,
               "NextRotationDate": "2026-12-01T00:00:00+00:00"}}]}
    a = assessment_of({"k8s": [NS], "aws": aws}, tmp_path)
    row = v.summarize_secrets_encryption(a).iloc[0]
    assert row["grade"] == "customer-managed key, rotating"
    assert row["rotation"] == "on, every 90 days"
    assert row["next_rotation"] == "2026-12-01T00:00:00+00:00"
    assert "Nothing to do" in v.narrate_secrets_remediation(a).data


def test_encryption_key_configured_by_alias(tmp_path):
    import yaml

    from tests.checks.casefiles import CASES

    case = yaml.safe_load((CASES / "eks_secrets_encryption_kms_cmk"
                           / "pass-alias-arn-resolves-to-customer-key.yaml").read_text())
    row = v.summarize_secrets_encryption(assessment_of(case, tmp_path)).iloc[0]
    assert row["key"] == ("arn:aws:kms:eu-west-1:111122223333:key/9999aaaa-2222-3333-4444-"
                          "555566667777 (configured as arn:aws:kms:eu-west-1:111122223333:"
                          "alias/eks-secrets)")
    assert row["status"] == "pass"


def test_encryption_key_not_described_is_not_assessed(tmp_path):
    key = "arn:aws:kms:eu-west-1:111122223333:key/dddd0000-2222-3333-4444-555566667777"
    aws = {**cluster("1.31", key), "kms/describe_key": [{"params": {"KeyId": key}, "error": {
        "code": "AccessDeniedException", "message": "not authorized"}}]}
    a = assessment_of({"k8s": [NS], "aws": aws}, tmp_path)
    row = v.summarize_secrets_encryption(a).iloc[0]
    assert (row["grade"], row["status"]) == ("not assessed", "not_assessed")
    assert "AccessDeniedException" in row["meaning"]


def test_encryption_without_describe_cluster_is_a_note(tmp_path):
    a = assessment_of({"k8s": [{"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "shop"}}]}, tmp_path)
    e = v.summarize_secrets_encryption(a)
    assert e.empty and "not collected" in e.attrs["note"]


def test_narrative_associates_a_key_when_there_is_none(tmp_path):
    a = assessment_of({"k8s": [NS], "aws": cluster("1.29")}, tmp_path)
    text = v.narrate_secrets_remediation(a).data
    assert ("aws eks associate-encryption-config --cluster-name case-cluster "
            "--encryption-config '[{\"resources\":[\"secrets\"],\"provider\":{\"keyArn\":"
            "\"<key-arn>\"}}]'") in text
    assert "kubectl get secrets --all-namespaces -o json | kubectl replace -f -" in text


# ------------------------------------------------------------------------------------------
# consumption matrix
# ------------------------------------------------------------------------------------------
def test_demo_matrix_per_workload(demo):
    m = v.summarize_secret_consumption_matrix(demo).set_index(["kind", "namespace", "name"])
    api = m.loc[("Deployment", "storefront", "api")]
    assert api["env_secret_key_ref"] == 1 and api["env_vars"] == "JWT_SIGNING_KEY"
    assert api["secrets"] == "api-jwt (env JWT_SIGNING_KEY)"
    assert (api["external_store"], api["store_status"], api["env_status"]) == (False, "fail",
                                                                               "fail")
    orders = m.loc[("Deployment", "storefront", "orders")]
    assert (orders["secret_volume"], orders["external_secrets"], orders["env_secret_key_ref"]) \
        == (1, 1, 0)
    assert (orders["external_store"], orders["store_status"], orders["env_status"]) == (
        True, "pass", "pass")
    # an External Secrets Secret read through env: external, and still in the environment
    pg = m.loc[("StatefulSet", "storefront", "postgres")]
    assert (pg["env_secret_key_ref"], pg["external_secrets"]) == (1, 1)
    assert (pg["external_store"], pg["store_status"], pg["env_status"]) == (True, "pass", "fail")
    assert pg["env_vars"] == "POSTGRES_PASSWORD"
    for name in ("payment-gateway", "fraud-scorer"):
        row = m.loc[("Deployment", "payments", name)]
        assert row["csi_aws"] == 1 and row[["env_secret_key_ref", "secret_volume"]].sum() == 0
        assert row["external_store"]
    report = m.loc[("CronJob", "legacy-batch", "nightly-report")]
    assert report["env_vars"] == "DB_PASSWORD" and not report["external_store"]
    lbc = m.loc[("Deployment", "kube-system", "aws-load-balancer-controller")]
    assert lbc["system"] and lbc["secret_volume"] == 1
    # workloads that read no secret are not rows
    assert ("Deployment", "storefront", "frontend") not in m.index
    assert ("Deployment", "kube-system", "aws-load-balancer-controller") not in \
        v.summarize_secret_consumption_matrix(demo, include_system=False).set_index(
            ["kind", "namespace", "name"]).index


def test_demo_matrix_agrees_with_both_checks(demo):
    """The matrix and the two checks read one frame: their verdicts must agree per workload."""
    m = v.summarize_secret_consumption_matrix(demo)
    f = demo.findings
    keys = list(zip(m["kind"], m["namespace"], m["name"], strict=True))
    store = f[f["check_id"] == "external_secret_store_used"]
    assert set(zip(store["kind"], store["namespace"], store["name"], strict=True)) == set(keys)
    assert (m["store_status"] == m["external_store"].map({True: "pass", False: "fail"})).all()
    in_env = (m["env_secret_key_ref"] + m["env_from_secret_ref"]) > 0
    assert (m["env_status"] == in_env.map({True: "fail", False: "pass"})).all()
    env = f[(f["check_id"] == "secret_not_in_env_var") & (f["status"] == "fail")]
    assert set(zip(env["kind"], env["namespace"], env["name"], strict=True)) == {
        k for k, e in zip(keys, in_env, strict=True) if e}
    for r in m[in_env].itertuples(index=False):  # the check's detail names the same env vars
        detail = env[(env["namespace"] == r.namespace) & (env["name"] == r.name)].iloc[0].detail
        for var in r.env_vars.split(", "):
            assert f"env {var} ←" in detail


@pytest.fixture(scope="module")
def methods(tmp_path_factory):
    """One workload per way of getting a secret, plus one that reads none."""
    k8s = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        spc("vault-spc", "vault", objects="- objectName: db\n  secretPath: secret/data/db\n"),
        spc("aws-spc", "aws", synced="synced-db",
            objects="- objectName: prod/db\n  objectType: secretsmanager\n"),
        {"apiVersion": "external-secrets.io/v1beta1", "kind": "ClusterSecretStore",
         "metadata": {"name": "aws-sm"},
         "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "eu-west-1"}}}},
        {"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret",
         "metadata": {"name": "eso-db", "namespace": "shop"},
         "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-sm"},
                  "target": {"name": "eso-db"},
                  "data": [{"secretKey": "password", "remoteRef": {"key": "prod/eso"}}]}},
        deployment("envfrom", [container(envFrom=[{"secretRef": {"name": "app-env"}}])]),
        deployment("projected", [container()], [{"name": "b", "projected": {"sources": [
            {"secret": {"name": "bundle"}}, {"serviceAccountToken": {"path": "token"}}]}}]),
        deployment("csi-vault", [container()], [csi("s", "vault-spc")]),
        deployment("csi-synced", [container(env=[secret_env("DB_PASSWORD", "synced-db")])],
                   [csi("s", "aws-spc")]),
        deployment("vault-agent", [container()], annotations={
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/agent-inject-secret-db": "database/creds/app"}),
        deployment("eso-env", [container(env=[secret_env("ESO_PASSWORD", "eso-db")])]),
        deployment("plain", [container()], [{"name": "p", "secret": {"secretName": "plain"}}]),
        deployment("none", [container(env=[{"name": "LOG_LEVEL", "value": "info"}])]),
    ]
    return assessment_of({"k8s": k8s}, tmp_path_factory.mktemp("methods"))


@pytest.mark.parametrize(("name", "counts", "external"), [
    ("envfrom", {"env_from_secret_ref": 1}, False),
    ("projected", {"projected_secret": 1}, False),
    ("csi-vault", {"csi_vault": 1}, True),
    ("csi-synced", {"csi_aws": 2, "env_secret_key_ref": 1}, True),
    ("vault-agent", {"vault_injection": 1}, True),
    ("eso-env", {"env_secret_key_ref": 1, "external_secrets": 1}, True),
    ("plain", {"secret_volume": 1}, False),
])
def test_matrix_methods(methods, name, counts, external):
    m = v.summarize_secret_consumption_matrix(methods).set_index("name")
    row = m.loc[name]
    assert {c: int(row[c]) for c in v.METHODS if row[c]} == counts
    assert bool(row["external_store"]) is external
    assert row["store_status"] == ("pass" if external else "fail")
    assert "none" not in m.index


def test_matrix_names_env_vars(methods):
    m = v.summarize_secret_consumption_matrix(methods).set_index("name")
    assert m.loc["envfrom", "env_vars"] == "all keys of app-env"
    assert m.loc["csi-synced", "env_vars"] == "DB_PASSWORD"
    assert m.loc["eso-env", "env_status"] == "fail"
    assert m.loc["vault-agent", "secrets"] == "database/creds/app (vault-agent, vault)"


def test_heatmap_cells(demo):
    fig = v.plot_secret_consumption_matrix(demo)
    heat = fig.data[0]
    m = v.summarize_secret_consumption_matrix(demo)
    assert list(heat.y) == [f"{k} {ns}/{n}" for k, ns, n in
                            zip(m["kind"], m["namespace"], m["name"], strict=True)]
    cols = list(heat.x)
    assert cols[-1] == "all external?"
    api = list(heat.y).index("Deployment storefront/api")
    orders = list(heat.y).index("Deployment storefront/orders")
    assert heat.z[api][cols.index("env secretKeyRef")] == 0           # red: environment
    assert heat.z[orders][cols.index("Secret volume")] == 1           # amber: a file
    assert heat.z[orders][cols.index("External Secrets Operator")] == 2  # green: a store
    assert (heat.text[api][-1], heat.text[orders][-1]) == ("no", "yes")
    assert "Vault injection" not in cols
    note = fig.layout.annotations[0].text
    assert "Vault" in note and "envFrom secretRef" in note
    # wrapped to the plot's width: a long line ran off the chart's right edge
    assert all(len(line) <= 60 for line in note.split("<br>")) and "<br>" in note


def test_matrix_escapes_hostile_names_in_chart(tmp_path):
    k8s = [deployment(EVIL, [container(env=[secret_env("X", EVIL)])])]
    a = assessment_of({"k8s": k8s}, tmp_path)
    fig = v.plot_secret_consumption_matrix(a)
    assert list(fig.data[0].y) == ["Deployment shop/&lt;script&gt;alert(1)&lt;/script&gt;"]
    assert EVIL not in fig.to_json()


# ------------------------------------------------------------------------------------------
# plaintext credentials
# ------------------------------------------------------------------------------------------
def test_demo_plaintext_credentials(demo):
    p = v.summarize_plaintext_credentials(demo)
    rows = {(r.kind, r.namespace, r.name, r.container, r.field, r.key): r.credential
            for r in p.itertuples(index=False)}
    assert rows == {
        ("CronJob", "legacy-batch", "nightly-report", "report", "env", "AWS_ACCESS_KEY_ID"):
            "AWS access key ID",
        ("CronJob", "legacy-batch", "nightly-report", "report", "env",
         "AWS_SECRET_ACCESS_KEY"): "AWS secret access key",
        ("ConfigMap", "storefront", "app-config", "—", "ConfigMap data", "DB_PASSWORD"):
            "password (by key name)",
    }
    assert set(p["status"]) == {"fail"}


def _demo_markers() -> list[str]:
    """The markers (and their hash prefixes) demo.py seeds in place of credential values."""
    from zt_toolkit.demo import _marker

    seeded = [("aws_access_key_id", "legacy-batch/AWS_ACCESS_KEY_ID", 20),
              ("aws_secret_access_key", "legacy-batch/AWS_SECRET_ACCESS_KEY", 40),
              ("password", "storefront/DB_PASSWORD", 24)]
    out = []
    for kind, name, n in seeded:
        marker = _marker(kind, name, n)
        out += [marker, marker.split("sha256=")[1].rstrip(">")]
    return out


def _everything_shown(a: Assessment) -> str:
    tables = [v.summarize_plaintext_credentials(a), v.summarize_secret_consumption_matrix(a),
              v.summarize_secrets_encryption(a), v.summarize_secretsmanager_rotation(a),
              v.summarize_storage_encryption(a)]
    return "\n".join([*(t.to_html() for t in tables), a.findings.to_csv(),
                      v.narrate_secrets_remediation(a).data,
                      v.plot_secret_consumption_matrix(a).to_json()])


def test_demo_outputs_hold_no_marker_or_hash(demo):
    markers = _demo_markers()
    # the demo's markers are really in the snapshot, so absence below means something
    assert set(demo.frames.redaction_markers["sha256_prefix"]) == set(markers[1::2])
    shown = _everything_shown(demo)
    assert "<redacted:zt" not in shown
    for text in markers:
        assert text not in shown


def test_plaintext_values_never_reach_any_output(tmp_path):
    """Values imported in plain text are redacted at import: no table, finding or narrative
    may show them."""
    key_id, key = "AKIAZZZZ7EXAMPLEAAAA", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzEXAMPLEK"
    password = "correct-horse-battery-staple-42"
    k8s = [
        deployment("job", [container("worker", env=[
            {"name": "AWS_ACCESS_KEY_ID", "value": key_id},
            {"name": "AWS_SECRET_ACCESS_KEY", "value": key}])]),
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "shop"},
         "data": {"DB_PASSWORD": password, "LOG_LEVEL": "info"}},
    ]
    a = assessment_of({"k8s": k8s}, tmp_path)
    p = v.summarize_plaintext_credentials(a)
    assert set(zip(p["name"], p["key"], p["credential"], strict=True)) == {
        ("job", "AWS_ACCESS_KEY_ID", "AWS access key ID"),
        ("job", "AWS_SECRET_ACCESS_KEY", "AWS secret access key"),
        ("settings", "DB_PASSWORD", "password (by key name)")}
    shown = _everything_shown(a)
    for value in (key_id, key, password, key[:12], password[:12]):
        assert value not in shown


def test_plaintext_nothing_flagged_is_a_note(tmp_path):
    a = assessment_of({"k8s": [deployment("api", [container(env=[
        {"name": "LOG_LEVEL", "value": "info"}])])]}, tmp_path)
    p = v.summarize_plaintext_credentials(a)
    assert p.empty and "No credential was flagged in 1 value scanned" in p.attrs["note"]


# ------------------------------------------------------------------------------------------
# Secrets Manager rotation, storage
# ------------------------------------------------------------------------------------------
def test_demo_secretsmanager_rotation(demo):
    r = v.summarize_secretsmanager_rotation(demo).set_index("secret")
    orders = r.loc["acme/storefront/orders-db"]
    assert (orders["rotation_enabled"], orders["status"], orders["last_rotated"]) == (
        False, "fail", "never")
    assert orders["referenced_by"] == "ExternalSecret storefront/orders-db"
    assert orders["workloads"] == ("Deployment storefront/orders, "
                                   "StatefulSet storefront/postgres")
    gateway = r.loc["acme/payments/gateway-api-key"]
    assert (gateway["rotation_enabled"], gateway["rotation_interval"], gateway["status"]) == (
        True, "30 days", "pass")
    assert gateway["days_since_rotation"] == 12  # LastRotatedDate 12 days before the snapshot
    assert gateway["referenced_by"] == "SecretProviderClass payments/payment-gateway-secrets"
    assert gateway["workloads"] == "Deployment payments/payment-gateway"
    assert r.loc["acme/payments/fraud-model-token", "days_since_rotation"] == 25
    news = r.loc["acme/marketing/newsletter-api"]
    assert (news["used_by_cluster"], news["status"]) == (False, "not in scope")
    assert r.index[0] == "acme/storefront/orders-db"  # failing first


def test_demo_storage_encryption(demo):
    s = v.summarize_storage_encryption(demo).set_index(["kind", "name"])
    gp2 = s.loc[("StorageClass", "gp2-legacy")]
    assert (gp2["encrypted"], gp2["status"]) == ("unset", "fail")
    assert gp2["claims"] == "monitoring/prometheus-data"
    assert gp2["workloads"] == "Deployment monitoring/prometheus"
    gp3 = s.loc[("StorageClass", "gp3")]
    assert (gp3["encrypted"], gp3["status"]) == ("true", "pass")
    assert gp3["kms_key_id"].startswith("arn:aws:kms:eu-west-1:111122223333:key/")
    assert gp3["workloads"] == "StatefulSet storefront/postgres"  # volumeClaimTemplates
    efs = s.loc[("PersistentVolume", "efs-report-archive")]
    assert (efs["encrypt_in_transit"], efs["status"]) == ("false", "fail")
    assert s.loc[("PersistentVolume", "efs-shared-reports"), "status"] == "pass"
    assert s.loc[("StorageClass", "efs-sc"), "status"] == "not evaluated"


# ------------------------------------------------------------------------------------------
# narrative
# ------------------------------------------------------------------------------------------
def test_demo_remediation_narrative(demo):
    text = v.narrate_secrets_remediation(demo).data
    assert (f"aws kms enable-key-rotation --key-id {KEY_ARN} --rotation-period-in-days 365"
            in text)
    assert "associate-encryption-config" not in text  # the demo has a customer key
    assert ("kubectl -n legacy-batch patch cronjob nightly-report --type strategic "
            "--patch-file nightly-report-secret-files.yaml") in text
    assert "- name: DB_PASSWORD\n              $patch: delete" in text
    assert "4 workloads read Secrets from environment variables" in text
    assert "name: aws-secrets-manager" in text and "kind: ExternalSecret" in text
    assert ("aws secretsmanager rotate-secret --secret-id acme/storefront/orders-db "
            "--rotation-lambda-arn <rotation-lambda-arn>") in text
    assert "1 of the 3 secrets the cluster uses never rotates" in text
    assert "encrypted: 'true'" in text and "gp2\\-legacy" in text
    assert "3 credentials are written in plain text" in text
    assert text.index("Plaintext credentials") < text.index("Encryption at rest")


def test_narrative_escapes_hostile_names(tmp_path):
    k8s = [deployment(EVIL, [container(env=[secret_env("TOKEN", EVIL)])],
                      [{"name": "v", "secret": {"secretName": EVIL}}])]
    a = assessment_of({"k8s": k8s, "aws": cluster("1.27")}, tmp_path)
    text = v.narrate_secrets_remediation(a).data
    assert "shop/&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in text  # named, escaped
    assert EVIL not in text
    assert "patch-file" not in text  # no valid secret name: no patch generated
    assert "kind: ExternalSecret" not in text and "SecretProviderClass" not in text


def test_narrative_without_a_store_sketches_a_secret_provider_class(tmp_path):
    k8s = [deployment("api", [container(env=[secret_env("TOKEN", "api-token")])])]
    a = assessment_of({"k8s": k8s, "aws": cluster("1.30")}, tmp_path)
    text = v.narrate_secrets_remediation(a).data
    assert "kind: SecretProviderClass" in text and "provider: aws" in text
    assert "objectName: shop/api-token" in text
    assert ("kubectl -n shop patch deployment api --type strategic --patch-file "
            "api-secret-files.yaml") in text
    assert isinstance(v.summarize_secret_consumption_matrix(a), pd.DataFrame)


def test_storage_without_persistent_volumes_still_lists_classes(tmp_path):
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
          "metadata": {"name": "gp2"}, "provisioner": "kubernetes.io/aws-ebs",
          "parameters": {"type": "gp2"}}
    a = assessment_of({"k8s": [NS, sc], "coverage": {"k8s/persistentvolumes": "forbidden"}},
                      tmp_path)
    s = v.summarize_storage_encryption(a)
    assert s[["kind", "name", "encrypted", "claims"]].values.tolist() == [
        ["StorageClass", "gp2", "unset", "—"]]
    # the check itself cannot judge without the volumes: not a fail, not a pass
    assert s.loc[0, "status"] == "not_assessed"


def test_storage_not_collected_is_a_note(tmp_path):
    a = assessment_of({"k8s": [NS], "coverage": {
        "k8s/persistentvolumes": "forbidden",
        "k8s/storageclasses.storage.k8s.io": "forbidden"}}, tmp_path)
    s = v.summarize_storage_encryption(a)
    assert s.empty and "forbidden" in s.attrs["note"]
