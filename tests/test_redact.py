"""Redaction: every credential kind is caught, references and ordinary values are left alone."""

from __future__ import annotations

import copy
import hashlib

import orjson
import pytest

from zt_toolkit.sources.redact import (
    LAST_APPLIED,
    MARKER_RE,
    RedactionMarker,
    parse_marker,
    redact_object,
    redact_pod_spec,
    redact_text,
    redact_value,
    secret_metadata,
)

# Token-shaped strings are assembled here, never written whole, so that secret scanners do not
# flag this file. None of them is a real credential.
GITHUB = "ghp_" + "R8x2Kq9Lm4Vt7Zp1Wc6Yb3Nf5Hd0Js8Ga2Ue"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0" + "a" * 40
GITLAB = "glpat-" + "xY7zQ2mN9pL4kR8sT1vW"
SLACK = "xoxb-" + "2048-1357924680-" + "AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_WEBHOOK = "https://hooks.slack.com/services/" + "T00000000/B00000000/" + "X" * 24
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA " + "PRIVATE KEY-----\n"
OPENSSH_KEY = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"
AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_STS_KEY_ID = "ASIA" + "Y34FZKBOKMUTVV7A"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("ACCESS_KEY", AWS_KEY_ID, "aws_access_key_id"),
        ("anything", AWS_STS_KEY_ID, "aws_access_key_id"),
        ("config", f"[default]\naws_access_key_id = {AWS_KEY_ID}\n", "aws_access_key_id"),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET, "aws_secret_access_key"),
        ("aws-secret", AWS_SECRET, "aws_secret_access_key"),
        ("tls.key", PRIVATE_KEY, "private_key"),
        ("id_ed25519", OPENSSH_KEY, "private_key"),
        ("GH", GITHUB, "github_token"),
        ("GH", GITHUB_PAT, "github_token"),
        ("CI", GITLAB, "gitlab_token"),
        ("SLACK", SLACK, "slack_token"),
        ("NOTIFY_URL", SLACK_WEBHOOK, "slack_token"),
        ("ID", JWT, "jwt"),
        ("HEADER", "Bearer 0123456789abcdefABCDEF.xyz", "bearer_token"),
        ("DATABASE_URL", "postgres://shop:hunter2@db.shop:5432/shop", "url_password"),
        ("BROKER", "amqp://guest:guest@rabbitmq:5672/", "url_password"),
        ("REDIS", "redis://:s3cret@redis:6379/0", "url_password"),
        ("DB_PASSWORD", "hunter2-very-secret", "password"),
        ("dbPassword", "hunter2", "password"),
        ("MYSQL_ROOT_PASSWD", "root", "password"),
        ("db-password", "x", "password"),
        ("CLIENT_SECRET", "abc123def456", "secret"),
        ("client-secret", "abc", "secret"),
        ("GOOGLE_CREDENTIALS", '{"type": "service_account"}', "secret"),
        ("API_TOKEN", "tok-123456789", "token"),
        ("Token", "123456", "token"),  # six digits: no longer a port or a count
        ("STRIPE_API_KEY", "sk_live_abcdef", "api_key"),
        ("apiKey", "abcdef", "api_key"),
        ("x-api-key", "abcdef", "api_key"),
        ("PRIVATE_KEY", "not-pem-but-still-a-key", "private_key"),
    ],
)
def test_each_credential_kind_is_detected(key: str, value: str, kind: str) -> None:
    marker = redact_value(key, value)
    assert marker is not None
    parsed = parse_marker(marker)
    assert parsed == RedactionMarker(kind, len(value), parsed.sha256_prefix)
    assert parsed.matches(value)
    assert value not in marker


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("IMAGE", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:2.7.0"),
        ("IMAGE", "nginx@sha256:" + "a" * 64),
        ("ROLE_ARN", "arn:aws:iam::123456789012:role/shop-api"),
        ("DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"),
        ("KMS_KEY", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("ENDPOINT", "https://api.example.com:8443/v1?region=eu-west-1"),
        ("DATABASE_URL", "postgres://shop@db.shop:5432/shop"),
        ("DATABASE_URL", "postgres://shop:$(DB_PASSWORD)@db.shop:5432/shop"),
        ("LISTEN", "$(POD_IP)"),
        ("DB_PASSWORD", "$(DB_PASSWORD_FROM_SECRET)"),
        ("DB_PASSWORD", "${DB_PASSWORD}"),
        ("DB_PASSWORD", ""),
        ("DB_PASSWORD", "   "),
        ("DB_PASSWORD_FILE", "/var/run/secrets/db/password"),
        ("SECRET_PATH", "./secrets/db"),
        ("TOKEN_ENABLED", "true"),
        ("USE_SECRET", "False"),
        ("TOKEN_TTL", "3600"),
        ("PASSWORD_MIN_LENGTH", "12"),
        ("TOKEN_REFRESH", "15m"),
        ("DB_PASSWORD", "vault:secret/data/shop/db#password"),
        ("PORT", "8080"),
        ("LOG_LEVEL", "info"),
        ("HOSTNAME", "api-7d4b9c-x2k4z"),
        ("GIT_SHA", "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345"),  # 40 chars, no aws/secret hint
        ("JAVA_OPTS", "-Xmx512m -Dfile.encoding=UTF-8"),
        ("DB_PASSWORD", "<redacted:zt kind=password len=16 sha256=46138d35a1fb>"),
        ("DB_PASSWORD", "null"),
        ("SECRET_NAME", "db-credentials"),  # key names a reference
        ("secret-namespace", "kube-system"),
        ("tokenPath", "var/token"),
        ("API_KEY_REF", "shop-api-key"),
        ("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
    ],
)
def test_non_credentials_are_untouched(key: str, value: str) -> None:
    assert redact_value(key, value) is None


@pytest.mark.parametrize(
    "value", ["hunter2", "a", "x" * 5000, "päss wörd ✓", PRIVATE_KEY, AWS_KEY_ID]
)
def test_marker_round_trip(value: str) -> None:
    marker = redact_value("password", value)
    assert MARKER_RE.fullmatch(marker)
    parsed = parse_marker(marker)
    assert parsed.length == len(value)
    # keyed: the prefix is not the plain sha256, so a weak value cannot be confirmed offline
    assert parsed.sha256_prefix != hashlib.sha256(value.encode()).hexdigest()[:12]
    assert str(parsed) == marker
    assert parsed.matches(value) and not parsed.matches(value + "!")


def test_marker_format_is_exact(monkeypatch) -> None:
    import hmac

    from zt_toolkit.sources import redact

    monkeypatch.setenv("ZT_REDACTION_KEY", "engagement-key")
    redact._hash_key.cache_clear()
    try:
        expected = hmac.new(b"engagement-key", AWS_KEY_ID.encode(), hashlib.sha256).hexdigest()
        assert redact_value("AWS_ACCESS_KEY_ID", AWS_KEY_ID) == (
            f"<redacted:zt kind=aws_access_key_id len=20 sha256={expected[:12]}>")
    finally:
        redact._hash_key.cache_clear()


@pytest.mark.parametrize(
    "text", [None, 42, "", "hunter2", "<redacted:zt kind=password len=x sha256=abc>", "<redacted>"]
)
def test_parse_marker_rejects_non_markers(text: object) -> None:
    assert parse_marker(text) is None


def _container(name: str, env: dict[str, str], **extra: object) -> dict:
    return {
        "name": name,
        "image": "busybox:1.36",
        "env": [{"name": k, "value": v} for k, v in env.items()],
        **extra,
    }


def test_pod_spec_all_container_kinds() -> None:
    spec = {
        "initContainers": [_container("init", {"MIGRATE_TOKEN": "tok-abcdef-123456"})],
        "containers": [
            _container("api", {"DB_PASSWORD": "hunter2-very-secret", "POD_IP": "$(POD_IP)"}),
            {"name": "sidecar", "image": "envoy:1.30"},
        ],
        "ephemeralContainers": [_container("debug", {"GH": GITHUB})],
    }
    found = redact_pod_spec(spec)
    assert found == [
        "containers[api].env[DB_PASSWORD]",
        "initContainers[init].env[MIGRATE_TOKEN]",
        "ephemeralContainers[debug].env[GH]",
    ]
    assert spec["containers"][0]["env"][1]["value"] == "$(POD_IP)"
    text = orjson.dumps(spec).decode()
    for secret in ("hunter2-very-secret", "tok-abcdef-123456", GITHUB):
        assert secret not in text


def test_pod_spec_value_from_and_int_values() -> None:
    spec = {
        "containers": [
            {
                "name": "api",
                "env": [
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db"}}},
                    {"name": "PORT", "value": 8080},
                    {"name": "PIN_PASSWORD", "value": 12345678},  # YAML int
                ],
            }
        ]
    }
    assert redact_pod_spec(spec) == ["containers[api].env[PIN_PASSWORD]"]
    env = spec["containers"][0]["env"]
    assert env[0] == {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db"}}}
    assert env[1]["value"] == 8080
    assert parse_marker(env[2]["value"]).kind == "password"


def test_pod_spec_args_and_probe_headers() -> None:
    spec = {
        "containers": [
            {
                "name": "api",
                "command": ["/app", "--db-password=hunter2-very-secret", "--port=8080"],
                "args": ["--api-token", "tok-abcdef-123456", "--verbose", JWT, "--config=/etc/x"],
                "livenessProbe": {
                    "httpGet": {
                        "path": "/healthz",
                        "httpHeaders": [
                            {"name": "Authorization", "value": "Basic dXNlcjpodW50ZXIy"},
                            {"name": "X-Request-Source", "value": "kubelet"},
                        ],
                    }
                },
                "lifecycle": {
                    "preStop": {
                        "httpGet": {"httpHeaders": [{"name": "X-Api-Key", "value": "k-123456789"}]}
                    }
                },
            }
        ]
    }
    found = redact_pod_spec(spec)
    assert found == [
        "containers[api].command[1]",
        "containers[api].args[1]",
        "containers[api].args[3]",
        "containers[api].livenessProbe.httpGet.httpHeaders[Authorization]",
        "containers[api].lifecycle.preStop.httpGet.httpHeaders[X-Api-Key]",
    ]
    c = spec["containers"][0]
    assert c["command"][0] == "/app" and c["command"][2] == "--port=8080"
    assert c["command"][1].startswith("--db-password=<redacted:zt kind=password ")
    assert c["args"][0] == "--api-token" and c["args"][2] == "--verbose"
    assert c["args"][4] == "--config=/etc/x"
    headers = c["livenessProbe"]["httpGet"]["httpHeaders"]
    assert headers[1]["value"] == "kubelet"
    assert parse_marker(headers[0]["value"]).kind == "token"


def _deployment(kind: str = "Deployment", api_version: str = "apps/v1") -> dict:
    pod = {"containers": [_container("api", {"DB_PASSWORD": "hunter2-very-secret"})]}
    template = {"metadata": {"labels": {"app": "api"}}, "spec": pod}
    spec = (
        {"jobTemplate": {"spec": {"template": template}}}
        if kind == "CronJob"
        else {"template": template}
    )
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("kind", "api_version", "prefix"),
    [
        ("Deployment", "apps/v1", "spec.template.spec."),
        ("StatefulSet", "apps/v1", "spec.template.spec."),
        ("DaemonSet", "apps/v1", "spec.template.spec."),
        ("ReplicaSet", "apps/v1", "spec.template.spec."),
        ("Job", "batch/v1", "spec.template.spec."),
        ("CronJob", "batch/v1", "spec.jobTemplate.spec.template.spec."),
        ("Deployment", "extensions/v1beta1", "spec.template.spec."),
    ],
)
def test_workload_templates(kind: str, api_version: str, prefix: str) -> None:
    obj = _deployment(kind, api_version)
    assert redact_object(obj) == [prefix + "containers[api].env[DB_PASSWORD]"]
    assert b"hunter2-very-secret" not in orjson.dumps(obj)
    assert b"<redacted:zt kind=password len=19 sha256=" in orjson.dumps(obj)


def test_pod() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "api-1", "namespace": "shop"},
        "spec": {"containers": [_container("api", {"SLACK": SLACK})]},
    }
    assert redact_object(pod) == ["spec.containers[api].env[SLACK]"]
    assert parse_marker(pod["spec"]["containers"][0]["env"][0]["value"]).kind == "slack_token"


def _config_map(name: str, namespace: str, data: dict, **extra: object) -> dict:
    meta = {"name": name, "namespace": namespace}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data, **extra}


def test_config_map_data_and_binary_data() -> None:
    import base64

    cm = _config_map(
        "api",
        "shop",
        {
            "LOG_LEVEL": "info",
            "SMTP_PASSWORD": "correct-horse",
            "app.ini": f"key={AWS_KEY_ID}",
            "application.yaml": APP_YAML,
        },
        binaryData={
            "api_token": base64.b64encode(b"tok-abcdef-123456").decode(),
            "logo.png": base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(),
        },
    )
    found = redact_object(cm)
    assert found == [
        "data[SMTP_PASSWORD]",
        "data[app.ini]",
        "data[application.yaml]",
        "binaryData[api_token]",
    ]
    assert "username: shop" in cm["data"]["application.yaml"]
    assert "hunter2" not in cm["data"]["application.yaml"]
    assert cm["data"]["LOG_LEVEL"] == "info"
    assert parse_marker(cm["data"]["app.ini"]).kind == "aws_access_key_id"
    marker = parse_marker(cm["binaryData"]["api_token"])
    assert marker.kind == "token" and marker.matches("tok-abcdef-123456")
    assert cm["binaryData"]["logo.png"] == base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()


def test_aws_auth_stays_readable() -> None:
    map_roles = "- rolearn: arn:aws:iam::123456789012:role/nodes\n  username: system:node\n"
    cm = _config_map(
        "aws-auth",
        "kube-system",
        {"mapRoles": map_roles, "mapAccounts": "[]"},
    )
    cm["metadata"]["annotations"] = {LAST_APPLIED: '{"data": {"mapRoles": "..."}}'}
    before = copy.deepcopy(cm["data"])
    assert redact_object(cm) == [f"metadata.annotations[{LAST_APPLIED}] (dropped)"]
    assert cm["data"] == before
    # the same name elsewhere is an ordinary ConfigMap
    other = _config_map("aws-auth", "shop", {"token": "tok-abcdef-123456"})
    assert redact_object(other) == ["data[token]"]


@pytest.mark.parametrize(
    "obj",
    [
        _config_map("api", "shop", {"LOG_LEVEL": "info"}),
        _deployment(),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"}},
    ],
    ids=["configmap", "deployment", "namespace", "service"],
)
def test_last_applied_annotation_is_dropped_everywhere(obj: dict) -> None:
    obj = copy.deepcopy(obj)
    obj["metadata"]["annotations"] = {
        LAST_APPLIED: '{"data":{"DB_PASSWORD":"hunter2-very-secret"}}',
        "team": "payments",
    }
    found = redact_object(obj)
    assert f"metadata.annotations[{LAST_APPLIED}] (dropped)" in found
    assert obj["metadata"]["annotations"] == {"team": "payments"}
    assert b"hunter2-very-secret" not in orjson.dumps(obj)


def test_annotation_values_by_shape_only() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "ci",
            "namespace": "shop",
            "annotations": {
                "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ci",
                "vault.hashicorp.com/agent-inject-secret-db": "database/creds/shop",
                "ci.example.com/token": GITHUB,
            },
        },
    }
    assert redact_object(obj) == ["metadata.annotations[ci.example.com/token]"]
    ann = obj["metadata"]["annotations"]
    assert ann["vault.hashicorp.com/agent-inject-secret-db"] == "database/creds/shop"
    assert ann["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")


def test_secret_metadata() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "db",
            "namespace": "shop",
            "labels": {"app": "api"},
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {LAST_APPLIED: '{"stringData":{"password":"hunter2-very-secret"}}'},
        },
        "data": {"password": "aHVudGVyMi12ZXJ5LXNlY3JldA=="},
        "stringData": {"username": "shop-admin"},
    }
    original = copy.deepcopy(secret)
    item = secret_metadata(secret)
    assert secret == original  # the input is not changed
    assert item == {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": {"name": "db", "namespace": "shop", "labels": {"app": "api"}},
    }
    # redact_object does the same to a Secret, in place
    assert redact_object(secret) == [
        "data (dropped: metadata only)",
        "stringData (dropped: metadata only)",
    ]
    assert secret == item


def test_partial_object_metadata_from_the_api_loses_last_applied() -> None:
    item = {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": {
            "name": "db",
            "namespace": "shop",
            "annotations": {LAST_APPLIED: '{"data":{"password":"aHVudGVy"}}', "a": "b"},
        },
    }
    assert redact_object(item) == [f"metadata.annotations[{LAST_APPLIED}] (dropped)"]
    assert item["metadata"]["annotations"] == {"a": "b"}


def test_unknown_kinds_are_walked_whole() -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "blue", "namespace": "shop"},
        "spec": {
            "color": "blue",
            "password": "widget-password-123",
            "env": [
                {"name": "CLIENT_SECRET", "value": "s3cr3t-value"},
                {"name": "A", "value": "b"},
            ],
            "urls": ["https://example.com", "mysql://root:hunter2@db/shop"],
        },
    }
    assert redact_object(widget) == [
        "spec.password",
        "spec.env[0][CLIENT_SECRET]",
        "spec.urls[1]",
    ]
    assert widget["spec"]["color"] == "blue"
    assert widget["spec"]["env"][1] == {"name": "A", "value": "b"}
    assert widget["apiVersion"] == "example.com/v1" and widget["kind"] == "Widget"


def test_known_kinds_are_not_walked_whole() -> None:
    # a catalog kind: only its declared places are looked at (no false positives in RBAC)
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "r", "namespace": "shop"},
        "rules": [{"resources": ["secrets"], "resourceNames": ["token"], "verbs": ["get"]}],
    }
    before = copy.deepcopy(role)
    assert redact_object(role) == []
    assert role == before


def test_list_objects_are_walked_item_by_item() -> None:
    lst = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [_deployment(), _deployment("Job", "batch/v1")],
    }
    assert redact_object(lst) == [
        "items[0].spec.template.spec.containers[api].env[DB_PASSWORD]",
        "items[1].spec.template.spec.containers[api].env[DB_PASSWORD]",
    ]


def test_redaction_is_idempotent() -> None:
    obj = _deployment()
    redact_object(obj)
    once = copy.deepcopy(obj)
    assert redact_object(obj) == []
    assert obj == once


def test_secret_string_absent_from_serialized_output() -> None:
    secrets = {
        "DB_PASSWORD": "hunter2-very-secret",
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "GITHUB_TOKEN": GITHUB,
        "SLACK": SLACK,
        "ID_TOKEN": JWT,
        "TLS_KEY": PRIVATE_KEY,
        "DATABASE_URL": "postgres://shop:pg-pass-9876@db:5432/shop",
    }
    objs = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": [_container("api", secrets)]}}},
        },
        _config_map("api", "shop", dict(secrets)),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "shop"},
            "stringData": dict(secrets),
        },
    ]
    for obj in objs:
        redact_object(obj)
    text = orjson.dumps(objs).decode()
    for value in secrets.values():
        assert value not in text
    assert "pg-pass-9876" not in text
    assert len(MARKER_RE.findall(text)) == 2 * len(secrets)


APP_YAML = """spring:
  datasource:
    url: jdbc:postgresql://db.shop:5432/shop
    username: shop
    password: hunter2-very-secret
    password-file: /etc/shop/db-password
  token_ttl: 3600
redis: redis://:r3dis-pass@redis:6379/0
secret: null
"""


def test_config_file_credentials_redacted_in_place() -> None:
    new = redact_text("application.yaml", APP_YAML)
    lines = new.splitlines()
    assert lines[:4] == APP_YAML.splitlines()[:4]  # host and user stay readable
    assert parse_marker(lines[4].split(": ", 1)[1]).matches("hunter2-very-secret")
    assert lines[5:7] == ["    password-file: /etc/shop/db-password", "  token_ttl: 3600"]
    assert lines[7].startswith("redis: redis://:<redacted:zt kind=url_password len=10 ")
    assert lines[7].endswith(">@redis:6379/0")
    assert lines[8] == "secret: null"
    assert "hunter2" not in new and "r3dis-pass" not in new


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[default]\naws_access_key_id = " + AWS_KEY_ID + "\nregion = eu-west-1\n",
            "aws_access_key_id",
        ),
        ("DB_HOST=db\nexport DB_PASSWORD='hunter2'\n", "password"),
        ('{\n  "user": "shop",\n  "client_secret": "cs-9876",\n  "port": 5432\n}', "secret"),
        ("mail.smtp.host=smtp\nmail.smtp.passwd=hunter2\n", "password"),
        ("tls:\n  key: |\n" + PRIVATE_KEY, "private_key"),
        ("auth:\n  header: Bearer 0123456789abcdefABCDEF\n", "bearer_token"),
        ("ci:\n  gh: " + GITHUB + "\n", "github_token"),
    ],
)
def test_config_file_formats(text: str, expected: str) -> None:
    new = redact_text("config", text)
    assert new is not None
    markers = [parse_marker(m.group(0)) for m in MARKER_RE.finditer(new)]
    assert [m.kind for m in markers] == [expected]
    assert redact_text("config", new) is None  # idempotent


def test_config_file_without_credentials_is_untouched() -> None:
    nginx = "server {\n  listen 80;\n  location / { proxy_pass http://api:8080; }\n}\n"
    assert redact_text("nginx.conf", nginx) is None
    assert redact_text("haproxy.cfg", "global\n  maxconn 4096\n  stats auth admin\n") is None


def test_multi_line_value_under_a_credential_key_is_redacted_whole() -> None:
    creds = "[default]\naws_access_key_id=x\naws_secret_access_key=y\n"
    assert parse_marker(redact_text("credentials", creds)).kind == "secret"
    assert parse_marker(redact_text("id_rsa", PRIVATE_KEY)).kind == "private_key"


@pytest.mark.parametrize(
    "value",
    [
        "ab+" * 200_000,  # a URL scheme that never ends
        "xoxb-" * 100_000,
        "+eyJ" * 150_000,
        "bearer " * 100_000,
        "a://b" * 100_000,
        "-----BEGIN " * 60_000,
        ("password" * 50_000 + "\n") * 4,
        ("x: " + "a" * 100_000 + "\n") * 5,
    ],
    ids=["scheme", "slack", "jwt", "bearer", "url", "pem", "long-key", "long-lines"],
)
def test_no_pathological_regex_time(value: str) -> None:
    import time

    start = time.perf_counter()
    redact_text("dashboard_token", value)
    redact_text("dashboard.json", value)
    assert time.perf_counter() - start < 3.0


def test_endpoint_urls_named_like_credentials_stay_readable() -> None:
    # EKS Pod Identity injects this; the name says "credentials", the value is an endpoint
    key = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    assert redact_value(key, "http://169.254.170.23/v1/credentials") is None
    # a query string may carry a token: still redacted by the key name
    assert redact_value("TOKEN_URL", "https://idp.example/cb?token=abcdefabcdef123") is not None
