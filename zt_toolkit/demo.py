"""A deterministic, realistic demo snapshot: "Acme Shop", EKS cluster ``acme-shop-prod``.

``build_demo(out)`` writes a snapshot of a fictional client's cluster (account 111122223333,
eu-west-1, Kubernetes 1.30) in exactly the layout a live collection produces: Kubernetes List
items as the API server returns them (no ``kind``/``apiVersion`` on items, defaulted fields,
status, owner references, Secrets as metadata only) and AWS records in boto3 response shapes.
The same ``seed`` and ``pods`` always give byte-identical files. ``pods=N`` grows the same cluster
for benchmarks: more tenant namespaces cloned from the storefront / payments / legacy-batch
patterns, more replicas and more nodes (about 30 pods per node).

Every check of the catalogue has a resource meant to pass and one meant to fail; a cluster-level
check has one row, and the table says which verdict it is meant to get. The story in short:
*storefront* is half-hardened with a segmentation bug, *payments* is the model tenant,
*legacy-batch* is the horror show, *monitoring* is open, the control plane is public.

Design table (check id, then what should pass and what should fail)::

    ---- network -------------------------------------------------------------------------------
    eks_endpoint_private_access_enabled
        cluster PASS  endpointPrivateAccess true
    eks_endpoint_public_access_restricted
        cluster FAIL  endpointPublicAccess true with publicAccessCidrs ["0.0.0.0/0"]
    eks_cluster_security_group_ingress_restricted
        cluster FAIL  gpu node group remote-access SG: 22 from 0.0.0.0/0 (SSH key without
                      source groups); the cluster SG (self) and control-plane SG (443 from
                      the VPC) are fine
    network_policy_enforcement_enabled
        cluster PASS  vpc-cni configurationValues enableNetworkPolicy, nodeagent flag set
    namespace_network_policy_present
        pass  storefront, payments, monitoring, kyverno, external-secrets
        fail  legacy-batch (no policy at all)
    namespace_default_deny_ingress_present
        pass  storefront, payments, kyverno, external-secrets
        fail  monitoring (only an allow-all policy), legacy-batch
    namespace_default_deny_egress_present
        pass  storefront (deny + DNS-only rule), payments
        fail  monitoring, legacy-batch, kyverno, external-secrets
    network_policy_allow_all_absent
        pass  storefront/*, payments/*
        fail  monitoring/allow-all-ingress (ingress: [{}])
    workload_network_isolated
        pass  storefront/api, payments/payment-gateway (Ingress and Egress policies)
        fail  monitoring/prometheus, kyverno admission controller (no Egress), legacy-batch/*
    segmentation_intents_hold  (intents of examples/acme-shop.yaml)
        pass  frontend reaches api on 8080, payments is isolated from the shop, orders reaches
              the payment gateway on 8443, the shop frontend never reaches payments
        fail  frontend never reaches the database: postgres-allow-clients admits every pod
              labelled app.kubernetes.io/part-of=acme-shop, frontend included
    service_internet_exposure_restricted
        pass  storefront/catalog-partner (source ranges), payments/payment-gateway (internal),
              Ingress monitoring/grafana (inbound-cidrs)
        fail  storefront/frontend (internet-facing NLB, no ranges), monitoring/prometheus
              (NodePort)
    load_balancer_tls_enabled
        pass  Ingress monitoring/grafana (certificate-arn), storefront/catalog-partner (ssl-cert)
        fail  storefront/frontend (port 80, no ssl-cert)
    vpc_flow_logs_enabled
        cluster FAIL  describe_flow_logs returns no flow log for the VPC
    network_policy_selects_pods
        pass  storefront/api-allow-frontend
        fail  storefront/old-cart-allow-api (no pod has app=old-cart)
    ---- identity ------------------------------------------------------------------------------
    eks_access_entries_enabled
        cluster PASS  authenticationMode API_AND_CONFIG_MAP
    eks_cluster_admin_access_minimal
        cluster FAIL  IAM user ops-admin has AmazonEKSClusterAdminPolicy (cluster scope); the
                      bootstrap creator admin is kept; aws-auth maps IAM user jenkins to
                      system:masters
    aws_auth_system_masters_absent
        cluster FAIL  ConfigMap kube-system/aws-auth mapUsers: jenkins -> system:masters
    aws_auth_write_minimal
        pass  eks:* and system:* subjects (baseline)
        fail  Group acme:platform-admins, SA legacy-batch/report-runner (cluster-admin)
    node_role_least_privilege
        pass  acme-shop-prod-general-node (worker, ECR read-only, SSM core)
        fail  acme-shop-prod-gpu-node (+ AmazonS3FullAccess, + CNI policy although aws-node
              uses IRSA)
    aws_node_uses_irsa
        cluster PASS  vpc-cni add-on serviceAccountRoleArn and the aws-node SA annotation
    workload_iam_role_least_privilege
        pass  acme-payments-gateway, acme-payments-fraud-scorer, acme-storefront-orders
        fail  acme-storefront-api (s3:* on *, iam:PassRole on *)
    irsa_trust_policy_scoped
        pass  acme-payments-gateway (StringEquals sub + aud)
        fail  acme-storefront-api (StringLike system:serviceaccount:storefront:*, no aud)
    iam_role_not_shared
        pass  acme-payments-gateway
        fail  acme-storefront-api (SAs storefront/api and storefront/catalog)
    imds_access_restricted
        pass  general nodes (HttpTokens required, hop limit 1)
        fail  gpu nodes (HttpTokens optional, hop limit 2)
    rbac_cluster_admin_binding_minimal
        pass  Group system:masters, User eks:addon-manager (baseline)
        fail  Group acme:platform-admins, SA legacy-batch/report-runner
    rbac_wildcard_absent
        pass  Role storefront/secret-reader, ClusterRole acme:oncall
        fail  ClusterRole ci-deployer (verbs * on deployments)
    rbac_secret_read_minimal
        pass  Group acme:oncall (pods and logs only)
        fail  SA storefront/api (Role secret-reader), SA external-secrets/external-secrets
    rbac_pod_create_minimal
        pass  SA storefront/api
        fail  SA default/ci-deployer (* on deployments cluster-wide)
    rbac_exec_attach_minimal
        pass  SA storefront/api
        fail  Group acme:oncall (pods/exec, pods/portforward)
    rbac_escalation_verbs_absent
        pass  SA storefront/api
        fail  Group acme:support (impersonate, escalate, bind)
    rbac_node_proxy_absent
        pass  SA storefront/api
        fail  SA monitoring/prometheus (nodes/proxy)
    rbac_webhook_write_minimal
        pass  SA storefront/api
        fail  SA default/ci-deployer (ClusterRole acme:admission-manager)
    rbac_token_create_minimal
        pass  SA storefront/api
        fail  SA external-secrets/external-secrets (serviceaccounts/token create)
    rbac_anonymous_binding_absent
        pass  system:public-info-viewer bound to system:unauthenticated (allowed)
        fail  ClusterRoleBinding anonymous-healthz (User system:anonymous)
    rbac_authenticated_group_minimal
        pass  ClusterRoleBindings system:basic-user, system:discovery (Kubernetes defaults)
        fail  ClusterRoleBinding acme-everyone-view (view for every IAM principal of the account)
    workload_cluster_takeover_rights_absent
        pass  storefront/frontend, payments/*
        fail  CronJob legacy-batch/nightly-report (SA report-runner is cluster-admin); also the
              external-secrets and kyverno controllers (read every Secret)
    service_account_token_automount_disabled
        pass  storefront/frontend (pod), payments/* (SA), storefront/postgres (SA)
        fail  Pod legacy-batch/debug-shell (default SA), storefront/catalog (token mounted,
              SA without any RBAC binding)
    legacy_service_account_token_secret_absent
        pass  every other Secret (no service-account.name annotation)
        fail  Secrets legacy-batch/report-runner-token, default/ci-deployer-token
    ---- pod_security --------------------------------------------------------------------------
    namespace_pss_enforce_label_present
        pass  storefront (baseline), payments (restricted), kyverno, external-secrets
        fail  legacy-batch (none), monitoring (audit only), default (none)
    workload_pss_baseline_compliant
        pass  storefront/*, payments/*
        fail  CronJob legacy-batch/nightly-report, Pod debug-shell, DaemonSet node-exporter
    workload_pss_restricted_compliant
        pass  payments/payment-gateway, payments/fraud-scorer, storefront/orders
        fail  storefront/frontend, storefront/catalog
    container_privileged_absent
        pass  storefront/frontend
        fail  CronJob legacy-batch/nightly-report, DaemonSet monitoring/falco
    pod_host_namespaces_absent
        pass  storefront/frontend
        fail  DaemonSet monitoring/node-exporter (hostNetwork, hostPID)
    container_host_port_absent
        pass  storefront/frontend
        fail  DaemonSet monitoring/node-exporter (hostPort 9100)
    container_privilege_escalation_disallowed
        pass  payments/*, storefront/api
        fail  storefront/frontend (unset)
    container_runs_as_non_root
        pass  payments/payment-gateway (runAsNonRoot set at pod level only), storefront/api
        fail  CronJob legacy-batch/nightly-report (runAsUser 0), storefront/frontend (unset)
    container_read_only_root_filesystem
        pass  payments/*
        fail  storefront/api
    container_capabilities_dropped
        pass  storefront/frontend (drop ALL, add NET_BIND_SERVICE only)
        fail  storefront/catalog (nothing dropped), Pod debug-shell (NET_ADMIN, SYS_PTRACE)
    container_seccomp_profile_set
        pass  payments/*, storefront/api (pod level)
        fail  storefront/frontend, storefront/catalog
    pod_host_path_absent
        pass  storefront/frontend
        fail  CronJob nightly-report (docker.sock), DaemonSet node-exporter (/proc, /sys, /)
    container_runtime_socket_unmounted
        pass  DaemonSet kube-system/aws-node (hostPaths, none covering a runtime socket)
        fail  CronJob legacy-batch/nightly-report (/var/run/docker.sock), DaemonSets
              monitoring/falco (/run/containerd) and monitoring/node-exporter (/)
    container_resource_limits_set
        pass  payments/*, storefront/frontend
        fail  Pod legacy-batch/debug-shell, CronJob nightly-report, storefront/catalog
    admission_policy_engine_enforcing
        cluster FAIL  Kyverno pod-security-baseline is in Audit; the only Deny VAP checks
                      owner labels, not pod security
    ---- images --------------------------------------------------------------------------------
    ecr_image_scanning_enabled
        pass  ECR storefront/frontend (scanOnPush)
        fail  ECR storefront/catalog, legacy/nightly-report (BASIC scanning, no scanOnPush)
    running_image_vulnerabilities_absent
        pass  payments/payment-gateway (LOW only), storefront/orders (clean)
        fail  storefront/frontend (CRITICAL and HIGH)
    running_image_scanned
        pass  payments/*, storefront/frontend
        fail  CronJob legacy-batch/nightly-report (ScanNotFoundException), storefront/catalog
              (last scan 45 days ago)
    image_registry_trusted
        pass  storefront/* images from the account's ECR
        fail  storefront/postgres (docker.io postgres:15), Pod debug-shell (nicolaka/netshoot)
    image_reference_immutable
        pass  payments/fraud-scorer (digest), storefront/api (tag in an IMMUTABLE repository)
        fail  storefront/postgres (postgres:15), CronJob nightly-report (:latest)
    ecr_tag_immutability_enabled
        pass  ECR storefront/api, payments/*
        fail  ECR storefront/frontend, legacy/nightly-report
    image_minimal_base
        pass  payments/payment-gateway (distroless), DaemonSet kube-system/kube-proxy (minimal)
        fail  Pod legacy-batch/debug-shell (netshoot), storefront/postgres, storefront/frontend
              (named alpine, but its scan findings name busybox: a shell)
    admission_image_policy_enforced
        cluster PASS  Kyverno verify-acme-images (verifyImages, Enforce)
    ecr_repository_not_public
        pass  ECR payments/payment-gateway (one named account), repositories without policy
        fail  ECR legacy/nightly-report (Principal "*")
    ---- secrets -------------------------------------------------------------------------------
    eks_secrets_encryption_kms_cmk
        cluster PASS  encryptionConfig with a CUSTOMER-managed KMS key
    kms_key_rotation_enabled
        cluster FAIL  the secrets key does not rotate
    secret_not_in_env_var
        pass  payments/* (CSI files), storefront/orders (Secret volume)
        fail  storefront/api (secretKeyRef), CronJob legacy-batch/nightly-report
    plaintext_credentials_absent
        pass  storefront/frontend, ConfigMap kube-system/coredns
        fail  CronJob nightly-report env AWS_SECRET_ACCESS_KEY, ConfigMap storefront/app-config
              DB_PASSWORD (redaction markers)
    external_secret_store_used
        pass  payments/* (Secrets Store CSI, provider aws), storefront/orders (ExternalSecret)
        fail  storefront/api (native Secret api-jwt), CronJob legacy-batch/nightly-report
    secretsmanager_rotation_enabled
        pass  acme/payments/gateway-api-key
        fail  acme/storefront/orders-db
    storage_encryption_enabled
        pass  StorageClass gp3, PV efs-shared-reports
        fail  StorageClass gp2-legacy, PV efs-report-archive (encryptInTransit "false")
    ---- audit ---------------------------------------------------------------------------------
    eks_control_plane_logging_enabled
        cluster FAIL  api and audit on, authenticator off (two clusterLogging entries)
    eks_log_retention_configured
        cluster FAIL  /aws/eks/acme-shop-prod/cluster keeps 30 days
    guardduty_eks_audit_monitoring_enabled
        cluster PASS  EKS_AUDIT_LOGS enabled
    guardduty_runtime_monitoring_enabled
        cluster PASS  RUNTIME_MONITORING (not EKS_RUNTIME_MONITORING) with EKS_ADDON_MANAGEMENT;
              the detail says the cluster's GuardDutyManaged=false tag keeps the agent away
    runtime_sensor_coverage_complete
        pass  general nodes (Falco ready)
        fail  gpu node: Falco does not tolerate its taint, and the cluster opts out of the
              GuardDuty agent (tag GuardDutyManaged=false)
    audit_suspicious_activity_absent
        FAIL  every category (one row each): human pods/exec, aws-auth and RBAC writes by
              IAM principals, anonymous requests, denied Secret reads (the brief asks for all)
    cloudtrail_enabled
        cluster PASS  a multi-region trail is logging

Tenant clones (``pods=N``) copy the namespaced objects of their pattern (workloads, Services,
NetworkPolicies, ServiceAccounts, ConfigMaps, Secret metadata, Roles); cluster-scoped objects and
the AWS side (IAM roles, ECR repositories) are not cloned, so clones carry no IRSA annotation.
Clone images are drawn from three versions per ECR repository, each with its own scan record.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson

from zt_toolkit.snapshot import SnapshotWriter
from zt_toolkit.sources.catalog import AWS_OPERATIONS, KUBE_RESOURCES

__all__ = ["COLLECTED_AT", "DEMO_CLUSTER", "build_demo"]

# ----- the fictional client ---------------------------------------------------------------------
CLUSTER = "acme-shop-prod"
ACCOUNT = "111122223333"
REGION = "eu-west-1"
K8S_VERSION = "1.30"
KUBELET_VERSION = "v1.30.6-eks-7f9249a"
COLLECTED_AT = "2026-11-20T09:00:00+00:00"
NOW = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)
CLUSTER_CREATED = datetime(2024, 3, 12, 10, 14, 31, tzinfo=UTC)

CLUSTER_ARN = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
DEMO_CLUSTER = {
    "name": CLUSTER,
    "arn": CLUSTER_ARN,
    "region": REGION,
    "version": K8S_VERSION,
    "account_id": ACCOUNT,
}
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
EKS_ECR = f"602401143452.dkr.ecr.{REGION}.amazonaws.com"  # AWS's registry for EKS add-ons
OIDC_ID = "4F1D8C2A6B9E3D7F5A0C8E2B4D6F1A3C"
OIDC_ISSUER = f"https://oidc.eks.{REGION}.amazonaws.com/id/{OIDC_ID}"
OIDC_HOST = OIDC_ISSUER.removeprefix("https://")
VPC_CIDR = "10.42.0.0/16"
AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
AZ_IDS = ("euw1-az2", "euw1-az3", "euw1-az1")
PODS_PER_NODE = 30

# ----- deterministic identifiers ------------------------------------------------------------------
def _hex(*parts: object, n: int = 64) -> str:
    """Hex digest of the parts: the source of every id, digest and "random" name."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:n]


def _uid(*parts: object) -> str:
    """Derive a UUID-shaped uid from names (never uuid4: output must be reproducible)."""
    return _uid_from_hex(_hex(*parts, n=32))


def _uid_from_hex(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated suffixes


def _suffix(n: int, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return "".join(_NAME_ALPHABET[b % len(_NAME_ALPHABET)] for b in digest[:n])


def _aws_id(prefix: str, *parts: object, n: int = 17) -> str:
    """``vpc-0…``, ``sg-0…``, ``i-0…`` style ids."""
    return f"{prefix}-0{_hex(prefix, *parts, n=n - 1)}"


def _kts(dt: datetime) -> str:
    """Kubernetes timestamp (``2026-11-20T09:00:00Z``); isoformat is 5x faster than strftime."""
    return dt.isoformat()[:19] + "Z"


def _ats(dt: datetime) -> str:
    """AWS (boto3) timestamp as an ISO string."""
    return dt.isoformat(timespec="milliseconds") if dt.microsecond else dt.isoformat()


def _b64(*parts: object, size: int = 48) -> str:
    """Deterministic base64 filler (certificates, CA bundles, query pointers)."""
    seed = "\x1f".join(map(str, parts)).encode()
    raw = b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(size // 32 + 1))
    return base64.b64encode(raw[:size]).decode()


def _marker(kind: str, value_name: str, length: int) -> str:
    """Return the redaction marker a collector leaves where it found a plaintext credential."""
    return f"<redacted:zt kind={kind} len={length} sha256={_hex('demo-secret', value_name, n=12)}>"


def _ip(n: int) -> str:
    return f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


# ----- Kubernetes factories: plain dicts in the shape the API returns -----------------------------
_API_VERSION = {r.kind: r.api_version for r in KUBE_RESOURCES if not r.optional}
_API_VERSION.update({"ExternalSecret": "external-secrets.io/v1beta1"})


class _Clock:
    """Hands out increasing resourceVersions (the order objects were "written")."""

    def __init__(self) -> None:
        self.rv = 2_000_000

    def next(self) -> str:
        self.rv += 7
        return str(self.rv)


def meta(
    kind: str,
    name: str,
    namespace: str | None = None,
    *,
    created: datetime,
    rv: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owner: tuple[str, dict[str, Any]] | None = None,
    generate_name: str | None = None,
    generation: int | None = None,
    finalizers: list[str] | None = None,
) -> dict[str, Any]:
    """ObjectMeta in the order the API server writes it."""
    m: dict[str, Any] = {"name": name}
    if generate_name:
        m["generateName"] = generate_name
    if namespace is not None:
        m["namespace"] = namespace
    m["uid"] = _uid(kind, namespace, name)
    m["resourceVersion"] = rv
    if generation is not None:
        m["generation"] = generation
    m["creationTimestamp"] = _kts(created)
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if owner:
        m["ownerReferences"] = [owner_ref(*owner)]
    if finalizers:
        m["finalizers"] = finalizers
    return m


def owner_ref(kind: str, obj: dict[str, Any], controller: bool = True) -> dict[str, Any]:
    ref = {
        "apiVersion": _API_VERSION[kind],
        "kind": kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }
    if controller:
        ref["controller"] = True
        ref["blockOwnerDeletion"] = True
    return ref


def env(name: str, value: str | None = None, **value_from: Any) -> dict[str, Any]:
    """Build an env var: ``env("A", "1")``, ``env("P", secret=("db", "pw"))``, ``field=...``."""
    if value is not None:
        return {"name": name, "value": value}
    if "secret" in value_from:
        secret, key = value_from["secret"]
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
    if "config" in value_from:
        cm, key = value_from["config"]
        return {"name": name, "valueFrom": {"configMapKeyRef": {"name": cm, "key": key}}}
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                     "fieldPath": value_from["field"]}}}


def port(number: int, name: str | None = None, protocol: str = "TCP",
         host: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if name:
        p["name"] = name
    p["containerPort"] = number
    if host:
        p["hostPort"] = number
    p["protocol"] = protocol
    return p


def mount(name: str, path: str, read_only: bool = False, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if read_only:
        m["readOnly"] = True
    m["mountPath"] = path
    m.update(extra)
    return m


def resources(cpu: str | None = None, memory: str | None = None, *,
              limit_cpu: str | None = None, limit_memory: str | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {}
    limits = {k: v for k, v in (("cpu", limit_cpu), ("memory", limit_memory)) if v}
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if limits:
        r["limits"] = limits
    if requests:
        r["requests"] = requests
    return r


#: securityContext of a container that passes the restricted Pod Security Standard
RESTRICTED = {
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def http_probe(path: str, port_: int | str, *, delay: int = 0, period: int = 10) -> dict[str, Any]:
    probe: dict[str, Any] = {"httpGet": {"path": path, "port": port_, "scheme": "HTTP"}}
    if delay:
        probe["initialDelaySeconds"] = delay
    probe.update(timeoutSeconds=1, periodSeconds=period, successThreshold=1, failureThreshold=3)
    return probe


def container(
    name: str,
    image: str,
    *,
    command: list[str] | None = None,
    args: list[str] | None = None,
    ports: list[dict[str, Any]] = (),  # type: ignore[assignment]
    env_: list[dict[str, Any]] = (),  # type: ignore[assignment]
    env_from: list[dict[str, Any]] = (),  # type: ignore[assignment]
    res: dict[str, Any] | None = None,
    mounts: list[dict[str, Any]] = (),  # type: ignore[assignment]
    security: dict[str, Any] | None = None,
    readiness: dict[str, Any] | None = None,
    liveness: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a container with the fields the API server defaults (pull policy, termination)."""
    c: dict[str, Any] = {"name": name, "image": image}
    if command:
        c["command"] = command
    if args:
        c["args"] = args
    if ports:
        c["ports"] = list(ports)
    if env_from:
        c["envFrom"] = list(env_from)
    if env_:
        c["env"] = list(env_)
    c["resources"] = res or {}
    if mounts:
        c["volumeMounts"] = list(mounts)
    if liveness:
        c["livenessProbe"] = liveness
    if readiness:
        c["readinessProbe"] = readiness
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = "File"
    last = image.split("@")[0].rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    floating = "@" not in image and tag in ("", "latest")  # the API server's defaulting rule
    c["imagePullPolicy"] = "Always" if floating else "IfNotPresent"
    if security is not None:
        c["securityContext"] = security
    return c


def volume(name: str, **source: Any) -> dict[str, Any]:
    """Build a volume: ``config_map=``, ``secret=``, ``host_path=(path, type)``, ``pvc=``, ``csi=``.

    Without a source it is an emptyDir (``memory="64Mi"`` makes it tmpfs).
    """
    if "config_map" in source:
        return {"name": name, "configMap": {"name": source["config_map"], "defaultMode": 420}}
    if "secret" in source:
        return {"name": name, "secret": {"secretName": source["secret"], "defaultMode": 420}}
    if "host_path" in source:
        path, kind = source["host_path"]
        return {"name": name, "hostPath": {"path": path, "type": kind}}
    if "pvc" in source:
        return {"name": name, "persistentVolumeClaim": {"claimName": source["pvc"]}}
    if "csi" in source:
        driver, attrs = source["csi"]
        return {"name": name, "csi": {"driver": driver, "readOnly": True,
                                      "volumeAttributes": attrs}}
    if source.get("memory"):
        return {"name": name, "emptyDir": {"medium": "Memory", "sizeLimit": source["memory"]}}
    return {"name": name, "emptyDir": {}}


def pod_spec(
    containers: list[dict[str, Any]],
    *,
    init: list[dict[str, Any]] = (),  # type: ignore[assignment]
    sa: str | None = None,
    automount: bool | None = None,
    security: dict[str, Any] | None = None,
    volumes: list[dict[str, Any]] = (),  # type: ignore[assignment]
    host_network: bool = False,
    host_pid: bool = False,
    tolerations: list[dict[str, Any]] = (),  # type: ignore[assignment]
    node_selector: dict[str, str] | None = None,
    restart: str = "Always",
    priority_class: str | None = None,
    grace: int = 30,
    affinity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a PodSpec as it appears in a workload template (API defaults applied)."""
    s: dict[str, Any] = {}
    if volumes:
        s["volumes"] = list(volumes)
    if init:
        s["initContainers"] = list(init)
    s["containers"] = list(containers)
    s["restartPolicy"] = restart
    s["terminationGracePeriodSeconds"] = grace
    s["dnsPolicy"] = "ClusterFirstWithHostNet" if host_network else "ClusterFirst"
    if node_selector:
        s["nodeSelector"] = node_selector
    if sa:
        s["serviceAccountName"] = sa
        s["serviceAccount"] = sa
    if automount is not None:
        s["automountServiceAccountToken"] = automount
    if host_network:
        s["hostNetwork"] = True
    if host_pid:
        s["hostPID"] = True
    s["securityContext"] = security or {}
    if affinity:
        s["affinity"] = affinity
    s["schedulerName"] = "default-scheduler"
    if tolerations:
        s["tolerations"] = list(tolerations)
    if priority_class:
        s["priorityClassName"] = priority_class
    return s


def pod_template(labels: dict[str, str], spec: dict[str, Any],
                 annotations: dict[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"creationTimestamp": None, "labels": dict(labels)}
    if annotations:
        m["annotations"] = dict(annotations)
    return {"metadata": m, "spec": spec}


def toleration(key: str | None = None, effect: str | None = None, operator: str = "Exists",
               value: str | None = None, seconds: int | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {}
    if key:
        t["key"] = key
    t["operator"] = operator
    if value is not None:
        t["value"] = value
    if effect:
        t["effect"] = effect
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


def selector(match_labels: dict[str, str] | None = None,
             expressions: list[tuple[str, str, list[str]]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """Build a LabelSelector; ``selector()`` is the empty selector (everything)."""
    s: dict[str, Any] = {}
    if match_labels:
        s["matchLabels"] = dict(match_labels)
    if expressions:
        s["matchExpressions"] = [
            {"key": k, "operator": op, **({"values": v} if v else {})} for k, op, v in expressions
        ]
    return s


def ns_selector(name: str) -> dict[str, Any]:
    return selector({"kubernetes.io/metadata.name": name})


def rule(groups: list[str], resources_: list[str], verbs: list[str],
         names: list[str] | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"verbs": verbs, "apiGroups": groups, "resources": resources_}
    if names:
        r["resourceNames"] = names
    return r


def url_rule(urls: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"verbs": verbs, "nonResourceURLs": urls}


def subject(kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name}


def deployment_conditions(rs_name: str, at: datetime) -> list[dict[str, Any]]:
    return [
        {"type": "Available", "status": "True", "lastUpdateTime": _kts(at),
         "lastTransitionTime": _kts(at), "reason": "MinimumReplicasAvailable",
         "message": "Deployment has minimum availability."},
        {"type": "Progressing", "status": "True", "lastUpdateTime": _kts(at),
         "lastTransitionTime": _kts(at), "reason": "NewReplicaSetAvailable",
         "message": f'ReplicaSet "{rs_name}" has successfully progressed.'},
    ]


# ----- the plan: every object but pods, plus "pod groups" from which pods are streamed ------------
@dataclass
class _PodGroup:
    """Pods of one owner, generated at write time (so 50,000 pods never sit in memory)."""

    namespace: str
    name: str  # bare pod name, or the prefix for generated pod names
    template: dict[str, Any]
    replicas: int
    owner_kind: str | None = None  # ReplicaSet, DaemonSet, StatefulSet, Job; None = bare Pod
    owner: dict[str, Any] | None = None
    extra_labels: dict[str, str] = field(default_factory=dict)
    created: datetime = NOW
    phase: str = "Running"
    finished: datetime | None = None
    restarts: int = 0
    pools: list[Any] | None = None  # node groups it can run on, see _pools()


@dataclass
class _Node:
    name: str
    pool: str
    az: int
    ip: str
    instance_id: str
    taints: list[dict[str, Any]]
    labels: dict[str, str]
    created: datetime


@dataclass(frozen=True, slots=True)
class _RunningPod:
    """What the network policy controller needs to know about a pod (kept for every pod)."""

    name: str
    labels: dict[str, str]
    pod_ip: str
    host_ip: str
    containers: list[dict[str, Any]]


@dataclass(frozen=True)
class _Image:
    """How one image reference shows up in a pod's status, and where it lives."""

    spec: str
    status_image: str
    image_id: str
    digest: str
    ecr_repo: str | None  # repository name in the account's ECR, else None
    tag: str | None


def _digest(repo: str, tag: str) -> str:
    return "sha256:" + _hex("image", repo, tag)


def image_info(ref: str) -> _Image:
    """Parse an image reference the way the container runtime reports it."""
    name, _, pinned = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    repo, tag = (name.rsplit(":", 1) if ":" in last else (name, None))
    full = repo
    first = repo.split("/", 1)[0]
    if "." not in first and ":" not in first and first != "localhost":
        full = f"docker.io/{repo}" if "/" in repo else f"docker.io/library/{repo}"
    digest = pinned or _digest(full, tag or "latest")
    ecr = repo.split("/", 1)[1] if repo.startswith(ECR + "/") else None
    status = f"{full}@{pinned}" if pinned else f"{full}:{tag or 'latest'}"
    return _Image(ref, status, f"{full}@{digest}", digest, ecr, tag)


class _Demo:
    """Collects the demo cluster: Kubernetes objects by resource key, pod groups, AWS facts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock = _Clock()
        self.objects: dict[str, list[dict[str, Any]]] = {r.key: [] for r in KUBE_RESOURCES}
        self.groups: list[_PodGroup] = []
        self.service_accounts: dict[tuple[str, str], dict[str, Any]] = {}
        self.pod_identity: dict[tuple[str, str], str] = {}  # (namespace, sa) -> role ARN
        self.nodes: list[_Node] = []
        self.running: dict[str, list[_RunningPod]] = {}  # by namespace, filled while streaming

    # -- generic helpers
    def add(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[key].append(obj)
        return obj

    def when(self, days: float, jitter_hours: float = 6.0) -> datetime:
        """Return a creation time ``days`` before collection, with seeded jitter."""
        seconds = days * 86400 + self.rng.uniform(0, jitter_hours * 3600)
        return (NOW - timedelta(seconds=int(seconds))).replace(microsecond=0)

    def meta(self, kind: str, name: str, namespace: str | None = None, *,
             created: datetime | None = None, days: float = 200, **kw: Any) -> dict[str, Any]:
        return meta(kind, name, namespace, created=created or self.when(days),
                    rv=self.clock.next(), **kw)

    # -- namespaced basics
    def namespace(self, name: str, labels: dict[str, str] | None = None, *,
                  days: float = 400) -> dict[str, Any]:
        created = CLUSTER_CREATED if name in ("default", "kube-system", "kube-public",
                                              "kube-node-lease") else self.when(days)
        ns = self.add("namespaces", {
            "metadata": self.meta("Namespace", name, created=created,
                                  labels={"kubernetes.io/metadata.name": name, **(labels or {})}),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        })
        self.config_map(name, "kube-root-ca.crt", {"ca.crt": _FAKE_CA}, created=created,
                        annotations={"kubernetes.io/description": _ROOT_CA_NOTE})
        self.service_account(name, "default", created=created)
        return ns

    def service_account(self, ns: str, name: str, *, role: str | None = None,
                        automount: bool | None = None, created: datetime | None = None,
                        labels: dict[str, str] | None = None) -> dict[str, Any]:
        annotations = {"eks.amazonaws.com/role-arn": role} if role else None
        sa: dict[str, Any] = {"metadata": self.meta("ServiceAccount", name, ns, created=created,
                                                     labels=labels, annotations=annotations)}
        if automount is not None:
            sa["automountServiceAccountToken"] = automount
        self.service_accounts[(ns, name)] = sa
        return self.add("serviceaccounts", sa)

    def config_map(self, ns: str, name: str, data: dict[str, str], *,
                   created: datetime | None = None, days: float = 120,
                   labels: dict[str, str] | None = None,
                   annotations: dict[str, str] | None = None) -> dict[str, Any]:
        return self.add("configmaps", {
            "data": data,
            "metadata": self.meta("ConfigMap", name, ns, created=created, days=days,
                                  labels=labels, annotations=annotations),
        })

    def secret(self, ns: str, name: str, *, labels: dict[str, str] | None = None,
               annotations: dict[str, str] | None = None, days: float = 120,
               owner: tuple[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """Secret metadata only, as a PartialObjectMetadataList item: no type, no data."""
        return self.add("secrets", {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": self.meta("Secret", name, ns, days=days, labels=labels,
                                  annotations=annotations, owner=owner),
        })

    def helm_release(self, ns: str, release: str, version: int, days: float = 60) -> None:
        self.secret(ns, f"sh.helm.release.v1.{release}.v{version}", days=days,
                    labels={"name": release, "owner": "helm", "status": "deployed",
                            "version": str(version)})

    # -- workloads
    def deployment(self, ns: str, name: str, template: dict[str, Any], replicas: int, *,
                   labels: dict[str, str] | None = None, days: float = 150,
                   revision: int = 1, rollout_days: float | None = None,
                   match: dict[str, str] | None = None) -> dict[str, Any]:
        """Add a Deployment, its current ReplicaSet (plus the previous one, at 0) and pods."""
        created = self.when(days)
        rolled = max(created, self.when(rollout_days if rollout_days is not None else days / 3))
        match = match or {"app": name}
        d = self.add("deployments.apps", {
            "metadata": self.meta(
                "Deployment", name, ns, created=created, generation=revision,
                labels=labels or template["metadata"]["labels"],
                annotations={"deployment.kubernetes.io/revision": str(revision)}),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": match},
                "template": template,
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
        })
        for rev in range(max(1, revision - 1), revision + 1):
            current = rev == revision
            pth = _suffix(10, ns, name, "rev", rev)
            rs_name = f"{name}-{pth}"
            tmpl = {**template, "metadata": {
                **template["metadata"],
                "labels": {**template["metadata"]["labels"], "pod-template-hash": pth}}}
            n = replicas if current else 0
            rs = self.add("replicasets.apps", {
                "metadata": self.meta(
                    "ReplicaSet", rs_name, ns, created=rolled if current else created,
                    generation=1 if current else 2,
                    labels=tmpl["metadata"]["labels"], owner=("Deployment", d),
                    annotations={"deployment.kubernetes.io/desired-replicas": str(replicas),
                                 "deployment.kubernetes.io/max-replicas":
                                     str(replicas + math.ceil(replicas / 4)),
                                 "deployment.kubernetes.io/revision": str(rev)}),
                "spec": {"replicas": n,
                         "selector": {"matchLabels": {**match, "pod-template-hash": pth}},
                         "template": tmpl},
                "status": ({"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": n,
                            "availableReplicas": n, "observedGeneration": 1}
                           if n else {"replicas": 0, "observedGeneration": 2}),
            })
            if current:
                self.groups.append(_PodGroup(ns, rs_name, tmpl, replicas, "ReplicaSet", rs,
                                             created=rolled))
                d["status"] = {
                    "observedGeneration": revision, "replicas": replicas,
                    "updatedReplicas": replicas, "readyReplicas": replicas,
                    "availableReplicas": replicas,
                    "conditions": deployment_conditions(rs_name, rolled),
                }
        return d

    def stateful_set(self, ns: str, name: str, template: dict[str, Any], replicas: int, *,
                     service: str, storage: str, storage_class: str = "gp3",
                     days: float = 300) -> dict[str, Any]:
        created = self.when(days)
        rev = f"{name}-{_suffix(10, ns, name, 'sts')}"
        claim = {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "creationTimestamp": None},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": storage}},
                     "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"},
        }
        sts = self.add("statefulsets.apps", {
            "metadata": self.meta("StatefulSet", name, ns, created=created, generation=1,
                                  labels=template["metadata"]["labels"]),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": template,
                "volumeClaimTemplates": [claim],
                "serviceName": service,
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "revisionHistoryLimit": 10,
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                         "whenScaled": "Retain"},
            },
            "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                       "currentReplicas": replicas, "updatedReplicas": replicas,
                       "currentRevision": rev, "updateRevision": rev, "collisionCount": 0,
                       "availableReplicas": replicas},
        })
        self.groups.append(_PodGroup(ns, name, template, replicas, "StatefulSet", sts,
                                     extra_labels={"controller-revision-hash": rev},
                                     created=created))
        for i in range(replicas):
            self.persistent_volume_for(ns, f"data-{name}-{i}", storage, storage_class, created)
        return sts

    def daemon_set(self, ns: str, name: str, template: dict[str, Any], *,
                   labels: dict[str, str] | None = None, days: float = 200,
                   match: dict[str, str] | None = None,
                   max_unavailable: int | str = 1) -> dict[str, Any]:
        """Add a DaemonSet; its status and pods follow from the nodes it tolerates (set later)."""
        created = self.when(days)
        ds = self.add("daemonsets.apps", {
            "metadata": self.meta("DaemonSet", name, ns, created=created, generation=1,
                                  labels=labels or template["metadata"]["labels"],
                                  annotations={"deprecated.daemonset.template.generation": "1"}),
            "spec": {
                "selector": {"matchLabels": match or {"app": name}},
                "template": template,
                "updateStrategy": {"type": "RollingUpdate",
                                   "rollingUpdate": {"maxUnavailable": max_unavailable,
                                                     "maxSurge": 0}},
                "revisionHistoryLimit": 10,
            },
            "status": {},
        })
        rev = _suffix(10, ns, name, "ds")
        self.groups.append(_PodGroup(ns, name, template, 0, "DaemonSet", ds,
                                     extra_labels={"controller-revision-hash": rev,
                                                   "pod-template-generation": "1"},
                                     created=created))
        return ds

    def cron_job(self, ns: str, name: str, template: dict[str, Any], *, schedule: str,
                 runs: list[tuple[datetime, datetime | None]], days: float = 700) -> None:
        """Add a CronJob and one Job (with its pod) per run; ``(start, None)`` still runs."""
        created = self.when(days)
        cj = self.add("cronjobs.batch", {
            "metadata": self.meta("CronJob", name, ns, created=created, generation=1,
                                  labels=template["metadata"]["labels"]),
            "spec": {
                "schedule": schedule,
                "concurrencyPolicy": "Allow",
                "suspend": False,
                "jobTemplate": {"metadata": {"creationTimestamp": None},
                                "spec": {"template": template}},
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
            },
        })
        active = []
        for start, end in runs:
            job_name = f"{name}-{int(start.timestamp()) // 60}"
            job_uid = _uid("Job", ns, job_name)
            job_labels = {"batch.kubernetes.io/controller-uid": job_uid,
                          "batch.kubernetes.io/job-name": job_name,
                          "controller-uid": job_uid, "job-name": job_name}
            tmpl = {**template, "metadata": {**template["metadata"], "labels": {
                **job_labels, **template["metadata"]["labels"]}}}
            status: dict[str, Any] = {"startTime": _kts(start)}
            if end:
                status.update(conditions=[
                    {"type": "Complete", "status": "True", "lastProbeTime": _kts(end),
                     "lastTransitionTime": _kts(end)}],
                    completionTime=_kts(end), succeeded=1)
            else:
                status["active"] = 1
            status.update(terminating=0, uncountedTerminatedPods={}, ready=0 if end else 1)
            job = self.add("jobs.batch", {
                "metadata": self.meta(
                    "Job", job_name, ns, created=start, generation=1,
                    labels={**job_labels, **template["metadata"]["labels"]},
                    annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": _kts(start)},
                    owner=("CronJob", cj)),
                "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6,
                         "selector": {"matchLabels": {
                             "batch.kubernetes.io/controller-uid": job_uid}},
                         "manualSelector": False, "template": tmpl,
                         "completionMode": "NonIndexed", "suspend": False,
                         "podReplacementPolicy": "TerminatingOrFailed"},
                "status": status,
            })
            self.groups.append(_PodGroup(ns, job_name, tmpl, 1, "Job", job, created=start,
                                         phase="Succeeded" if end else "Running", finished=end))
            if not end:
                active.append({"kind": "Job", "namespace": ns, "name": job_name, "uid": job_uid,
                               "apiVersion": "batch/v1",
                               "resourceVersion": job["metadata"]["resourceVersion"]})
        last = max(start for start, _ in runs)
        done = [end for _, end in runs if end]
        cj["status"] = {"active": active} if active else {}
        cj["status"]["lastScheduleTime"] = _kts(last)
        if done:
            cj["status"]["lastSuccessfulTime"] = _kts(max(done))

    def bare_pod(self, ns: str, name: str, template: dict[str, Any], days: float) -> None:
        self.groups.append(_PodGroup(ns, name, template, 1, created=self.when(days)))

    # -- networking
    def service(self, ns: str, name: str, ports: list[dict[str, Any]], *,
                selector_: dict[str, str] | None = None, type_: str = "ClusterIP",
                annotations: dict[str, str] | None = None, headless: bool = False,
                source_ranges: list[str] | None = None, cluster_ip: str | None = None,
                labels: dict[str, str] | None = None, days: float = 150) -> dict[str, Any]:
        ip = cluster_ip or ("None" if headless else _ip(
            (172 << 24) + (20 << 16) + int(_hex("svc", ns, name, n=6), 16) % 65000 + 256))
        ports = [{"name": p["name"], "protocol": p.get("protocol", "TCP"), "port": p["port"],
                  "targetPort": p.get("target", p["port"]),
                  **({"nodePort": p["node_port"]} if type_ in ("NodePort", "LoadBalancer")
                     else {})} for p in ports]
        spec: dict[str, Any] = {"ports": ports}
        if selector_ is not None:
            spec["selector"] = selector_
        spec.update(clusterIP=ip, clusterIPs=[ip], type=type_, sessionAffinity="None")
        if source_ranges:
            spec["loadBalancerSourceRanges"] = source_ranges
        if type_ in ("NodePort", "LoadBalancer"):
            spec["externalTrafficPolicy"] = "Cluster"
        spec.update(ipFamilies=["IPv4"], ipFamilyPolicy="SingleStack")
        if type_ == "LoadBalancer":
            spec["allocateLoadBalancerNodePorts"] = True
            spec["loadBalancerClass"] = "service.k8s.aws/nlb"
        spec["internalTrafficPolicy"] = "Cluster"
        status: dict[str, Any] = {"loadBalancer": {}}
        if type_ == "LoadBalancer":
            scheme = (annotations or {}).get("service.beta.kubernetes.io/aws-load-balancer-scheme",
                                              "internal")
            prefix = "" if scheme == "internet-facing" else "internal-"
            host = (f"{prefix}k8s-{ns[:8]}-{name[:9]}-{_hex('nlb', ns, name, n=10)}"
                    f".elb.{REGION}.amazonaws.com")
            status = {"loadBalancer": {"ingress": [{"hostname": host}]}}
        return self.add("services", {
            "metadata": self.meta("Service", name, ns, days=days, labels=labels,
                                  annotations=annotations,
                                  finalizers=(["service.k8s.aws/resources"]
                                              if type_ == "LoadBalancer" else None)),
            "spec": spec,
            "status": status,
        })

    def network_policy(self, ns: str, name: str, pod_selector: dict[str, Any], types: list[str],
                       *, ingress: list[dict[str, Any]] | None = None,
                       egress: list[dict[str, Any]] | None = None,
                       days: float = 90) -> dict[str, Any]:
        spec: dict[str, Any] = {"podSelector": pod_selector}
        if ingress is not None:
            spec["ingress"] = ingress
        if egress is not None:
            spec["egress"] = egress
        spec["policyTypes"] = types
        return self.add("networkpolicies.networking.k8s.io", {
            "metadata": self.meta("NetworkPolicy", name, ns, days=days, generation=1),
            "spec": spec,
        })

    # -- RBAC
    def role(self, ns: str | None, name: str, rules: list[dict[str, Any]], *,
             labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
             aggregation: list[dict[str, Any]] | None = None,
             created: datetime | None = None) -> dict[str, Any]:
        kind = "Role" if ns else "ClusterRole"
        obj: dict[str, Any] = {"metadata": self.meta(kind, name, ns, created=created,
                                                     days=250, labels=labels,
                                                     annotations=annotations),
                               "rules": rules}
        if aggregation:
            obj["aggregationRule"] = {"clusterRoleSelectors": aggregation}
        key = "roles" if ns else "clusterroles"
        return self.add(f"{key}.rbac.authorization.k8s.io", obj)

    def binding(self, ns: str | None, name: str, role_kind: str, role: str,
                subjects: list[dict[str, Any]], *, labels: dict[str, str] | None = None,
                annotations: dict[str, str] | None = None,
                created: datetime | None = None) -> dict[str, Any]:
        kind = "RoleBinding" if ns else "ClusterRoleBinding"
        key = "rolebindings" if ns else "clusterrolebindings"
        return self.add(f"{key}.rbac.authorization.k8s.io", {
            "metadata": self.meta(kind, name, ns, created=created, days=250, labels=labels,
                                  annotations=annotations),
            "subjects": subjects,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                        "name": role},
        })

    # -- storage
    def persistent_volume_for(self, ns: str, claim: str, size: str, storage_class: str,
                              created: datetime) -> dict[str, Any]:
        name = f"pvc-{_uid('PersistentVolumeClaim', ns, claim)}"
        az = int(_hex("az", ns, claim, n=2), 16) % 3
        vol_id = _aws_id("vol", ns, claim)
        topology = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [AZS[az]]}]}]}}
        claim_ref = {"kind": "PersistentVolumeClaim", "namespace": ns, "name": claim,
                     "uid": _uid("PersistentVolumeClaim", ns, claim), "apiVersion": "v1",
                     "resourceVersion": self.clock.next()}
        if storage_class == "gp2-legacy":  # in-tree provisioner, migrated to the CSI driver
            source = {"awsElasticBlockStore": {"volumeID": f"aws://{AZS[az]}/{vol_id}",
                                               "fsType": "ext4"}}
            annotations = {"kubernetes.io/createdby": "aws-ebs-dynamic-provisioner",
                           "pv.kubernetes.io/bound-by-controller": "yes",
                           "pv.kubernetes.io/migrated-to": "ebs.csi.aws.com",
                           "pv.kubernetes.io/provisioned-by": "kubernetes.io/aws-ebs"}
        else:
            source = {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": vol_id,
                              "fsType": "ext4", "volumeAttributes": {
                                  "storage.kubernetes.io/csiProvisionerIdentity":
                                      "1730912312345-1234-ebs.csi.aws.com"}}}
            annotations = {"pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com",
                           "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                           "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""}
        return self.add("persistentvolumes", {
            "metadata": self.meta("PersistentVolume", name, created=created,
                                  annotations=annotations,
                                  finalizers=["external-provisioner.volume.kubernetes.io/finalizer",
                                              "kubernetes.io/pv-protection"]),
            "spec": {"capacity": {"storage": size}, **source, "accessModes": ["ReadWriteOnce"],
                     "claimRef": claim_ref, "persistentVolumeReclaimPolicy": "Delete",
                     "storageClassName": storage_class, "volumeMode": "Filesystem",
                     "nodeAffinity": topology},
            "status": {"phase": "Bound", "lastPhaseTransitionTime": _kts(created)},
        })

    def custom(self, key: str, kind: str, api_version: str, name: str, ns: str | None,
               spec: dict[str, Any], status: dict[str, Any] | None = None, *,
               days: float = 120, annotations: dict[str, str] | None = None) -> dict[str, Any]:
        """Add a custom resource: unlike built-in kinds, CR list items carry kind and apiVersion."""
        obj = {"apiVersion": api_version, "kind": kind,
               "metadata": self.meta(kind, name, ns, days=days, generation=1,
                                     annotations=annotations),
               "spec": spec}
        if status is not None:
            obj["status"] = status
        return self.add(key, obj)


_FAKE_CA = (
    "-----BEGIN CERTIFICATE-----\n"
    + "\n".join(_b64("acme-shop-prod-ca", i, size=48) for i in range(8))
    + "\n-----END CERTIFICATE-----\n"
)
_ROOT_CA_NOTE = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)


# ----- images -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Repo:
    scan_on_push: bool
    mutability: str
    versions: tuple[str, ...]  # the first runs in the hand-made cluster; clones pick any
    days: int  # repository age


ECR_REPOS: dict[str, _Repo] = {
    "storefront/frontend": _Repo(True, "MUTABLE", ("3.2.0-alpine", "3.1.4-alpine", "3.0.9-alpine"),
                                 610),
    "storefront/api": _Repo(True, "IMMUTABLE", ("1.8.2", "1.8.1", "1.7.5"), 610),
    "storefront/catalog": _Repo(False, "MUTABLE", ("2.3.0", "2.2.7", "2.2.1"), 590),
    "storefront/orders": _Repo(True, "IMMUTABLE", ("4.0.1", "4.0.0", "3.9.2"), 480),
    "storefront/old-cart": _Repo(False, "MUTABLE", (), 900),
    "payments/payment-gateway": _Repo(True, "IMMUTABLE",
                                      ("2.4.1-distroless", "2.4.0-distroless", "2.3.8-distroless"),
                                      520),
    "payments/fraud-scorer": _Repo(True, "IMMUTABLE", ("0.9.3", "0.9.2", "0.9.1"), 300),
    "legacy/nightly-report": _Repo(False, "MUTABLE", ("latest",), 1100),
}


def ecr_image(repo: str, tag: str) -> str:
    return f"{ECR}/{repo}:{tag}"


def ecr_pinned(repo: str, tag: str) -> str:
    """Return the same image as ``ecr_image(repo, tag)``, referenced by its digest."""
    return f"{ECR}/{repo}@{_digest(f'{ECR}/{repo}', tag)}"


def eks_image(path: str) -> str:
    return f"{EKS_ECR}/{path}"


def _base_versions() -> dict[str, str]:
    return {name: repo.versions[0] for name, repo in ECR_REPOS.items() if repo.versions}


def app_labels(app: str, owner: str, **extra: str) -> dict[str, str]:
    return {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "acme-shop",
            "acme.example/owner": owner, **extra}


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{_hex('sm', name, n=6)}"


DNS_EGRESS = {"to": [{"namespaceSelector": ns_selector("kube-system"),
                      "podSelector": selector({"k8s-app": "kube-dns"})}],
              "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
AWS_APIS_EGRESS = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                       "except": ["169.254.169.254/32", VPC_CIDR]}}],
                   "ports": [{"protocol": "TCP", "port": 443}]}


def _lb_annotations(scheme: str, cert: str | None = None) -> dict[str, str]:
    a = {"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
         "service.beta.kubernetes.io/aws-load-balancer-scheme": scheme,
         "service.beta.kubernetes.io/aws-load-balancer-type": "external"}
    if cert:
        a["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = cert
        a["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "443"
    return a


def _acm_cert(name: str) -> str:
    return f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{_uid('acm', name)}"


def _node_port(ns: str, name: str, port_: int) -> int:
    return 30000 + int(_hex("nodeport", ns, name, port_, n=6), 16) % 2700


# ----- storefront: half-hardened, with a segmentation bug ----------------------------------------
def _storefront(d: _Demo, ns: str, *, scale: int = 1, clone: bool = False,
                versions: dict[str, str] | None = None, frontend_replicas: int | None = None,
                ) -> None:
    v = versions or _base_versions()
    d.namespace(ns, {"pod-security.kubernetes.io/enforce": "baseline",
                     "pod-security.kubernetes.io/warn": "restricted", "team": "web"}, days=560)
    api_role = None if clone else _role_arn("acme-storefront-api")
    for sa, role, automount in (("frontend", None, None), ("api", api_role, None),
                                ("catalog", api_role, None), ("orders", None, None),
                                ("postgres", None, False)):
        d.service_account(ns, sa, role=role, automount=automount, created=d.when(540))
    if not clone:
        d.pod_identity[(ns, "orders")] = _role_arn("acme-storefront-orders")

    d.config_map(ns, "app-config", {
        "DB_HOST": f"postgres.{ns}.svc.cluster.local", "DB_NAME": "orders",
        "DB_USER": "orders_app", "DB_PASSWORD": _marker("password", f"{ns}/DB_PASSWORD", 24),
        "FEATURE_FLAGS": "checkout-v2,reco-widget", "LOG_LEVEL": "info"}, days=75)
    d.config_map(ns, "frontend-nginx", {"default.conf": _NGINX_CONF}, days=75)
    d.secret(ns, "api-jwt", days=400)
    es = d.custom("externalsecrets.external-secrets.io", "ExternalSecret",
                  "external-secrets.io/v1beta1", "orders-db", ns, {
                      "refreshInterval": "1h",
                      "secretStoreRef": {"kind": "ClusterSecretStore",
                                         "name": "aws-secrets-manager"},
                      "target": {"name": "orders-db", "creationPolicy": "Owner",
                                 "deletionPolicy": "Retain"},
                      "data": [{"secretKey": "password",
                                "remoteRef": {"key": "acme/storefront/orders-db",
                                              "property": "password",
                                              "conversionStrategy": "Default",
                                              "decodingStrategy": "None",
                                              "metadataPolicy": "None"}}]},
                  {"binding": {"name": "orders-db"}, "refreshTime": _kts(NOW - timedelta(
                      minutes=23)), "syncedResourceVersion": f"1-{_hex('es', ns, n=32)}",
                   "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                                   "message": "Secret was synced",
                                   "lastTransitionTime": _kts(NOW - timedelta(days=30))}]},
                  days=200)
    d.secret(ns, "orders-db", days=200, owner=("ExternalSecret", es),
             labels={"reconcile.external-secrets.io/created-by": _hex("eso", ns, n=32)},
             annotations={"reconcile.external-secrets.io/data-hash": _hex("h", ns, n=32)})
    d.helm_release(ns, "storefront", 14, days=9)

    frontend = pod_template(app_labels("frontend", "web", tier="web"), pod_spec(
        [container("nginx", ecr_image("storefront/frontend", v["storefront/frontend"]),
                   ports=[port(80, "http")],
                   env_=[env("API_UPSTREAM", "http://api:8080")],
                   res=resources("100m", "128Mi", limit_cpu="500m", limit_memory="256Mi"),
                   mounts=[mount("nginx-conf", "/etc/nginx/conf.d", True),
                           mount("cache", "/var/cache/nginx")],
                   readiness=http_probe("/healthz", "http", period=5),
                   security={"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}})],
        sa="frontend", automount=False,
        volumes=[volume("nginx-conf", config_map="frontend-nginx"), volume("cache")]))
    d.deployment(ns, "frontend", frontend, frontend_replicas or 3 * scale, days=540,
                 revision=14, rollout_days=9)

    api = pod_template(app_labels("api", "web", tier="backend"), pod_spec(
        [container("api", ecr_image("storefront/api", v["storefront/api"]),
                   ports=[port(8080, "http"), port(9090, "metrics")],
                   env_from=[{"configMapRef": {"name": "app-config"}}],
                   env_=[env("CATALOG_URL", "http://catalog:8080"),
                         env("ORDERS_URL", "http://orders:8080"),
                         env("JWT_SIGNING_KEY", secret=("api-jwt", "signing-key"))],
                   res=resources("250m", "256Mi", limit_cpu="1", limit_memory="512Mi"),
                   readiness=http_probe("/ready", "http"),
                   liveness=http_probe("/live", "http", delay=10),
                   security={"allowPrivilegeEscalation": False,
                             "capabilities": {"drop": ["ALL"]}})],
        sa="api", security={"runAsUser": 10001, "runAsGroup": 10001, "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"}}))
    d.deployment(ns, "api", api, 2 * scale, days=540, revision=31, rollout_days=4)

    catalog = pod_template(app_labels("catalog", "web", tier="backend"), pod_spec(
        [container("catalog", ecr_image("storefront/catalog", v["storefront/catalog"]),
                   ports=[port(8080, "http"), port(9090, "metrics")],
                   env_=[env("ASSET_BUCKET", "acme-shop-catalog-assets"),
                         env("CACHE_TTL_SECONDS", "300")],
                   res=resources("200m", "256Mi"),
                   readiness=http_probe("/healthz", "http"))],
        sa="catalog"))
    d.deployment(ns, "catalog", catalog, 2 * scale, days=530, revision=9, rollout_days=45)

    orders = pod_template(app_labels("orders", "web", tier="backend"), pod_spec(
        [container("orders", ecr_image("storefront/orders", v["storefront/orders"]),
                   ports=[port(8080, "http"), port(9090, "metrics")],
                   env_=[env("DB_HOST", f"postgres.{ns}.svc.cluster.local"),
                         env("DB_PASSWORD_FILE", "/var/run/secrets/orders-db/password"),
                         env("PAYMENTS_URL", "https://payment-gateway.payments.svc:443")],
                   res=resources("250m", "256Mi", limit_cpu="1", limit_memory="512Mi"),
                   mounts=[mount("orders-db", "/var/run/secrets/orders-db", True),
                           mount("tmp", "/tmp")],
                   readiness=http_probe("/ready", "http"),
                   security=dict(RESTRICTED))],
        sa="orders", security={"seccompProfile": {"type": "RuntimeDefault"}},
        volumes=[volume("orders-db", secret="orders-db"), volume("tmp")]))
    d.deployment(ns, "orders", orders, 2 * scale, days=470, revision=6, rollout_days=20)

    postgres = pod_template(app_labels("postgres", "web", tier="database"), pod_spec(
        [container("postgres", "postgres:15",
                   ports=[port(5432, "postgres")],
                   env_=[env("POSTGRES_DB", "orders"), env("POSTGRES_USER", "orders_app"),
                         env("POSTGRES_PASSWORD", secret=("orders-db", "password")),
                         env("PGDATA", "/var/lib/postgresql/data/pgdata")],
                   res=resources("500m", "1Gi", limit_cpu="2", limit_memory="2Gi"),
                   mounts=[mount("data", "/var/lib/postgresql/data")],
                   readiness={"exec": {"command": ["pg_isready", "-U", "orders_app"]},
                              "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                              "failureThreshold": 3})],
        sa="postgres", security={"runAsUser": 999, "runAsGroup": 999, "fsGroup": 999}))
    d.stateful_set(ns, "postgres", postgres, 1, service="postgres", storage="50Gi", days=530)

    d.service(ns, "frontend", [{"name": "http", "port": 80, "target": "http",
                                "node_port": _node_port(ns, "frontend", 80)}],
              selector_={"app": "frontend"}, type_="LoadBalancer",
              annotations=_lb_annotations("internet-facing"), days=540)
    d.service(ns, "catalog-partner", [{"name": "https", "port": 443, "target": "http",
                                       "node_port": _node_port(ns, "catalog-partner", 443)}],
              selector_={"app": "catalog"}, type_="LoadBalancer",
              annotations=_lb_annotations("internet-facing", _acm_cert("partner")),
              source_ranges=["198.51.100.0/24", "203.0.113.64/27"], days=300)
    for name in ("api", "catalog", "orders"):
        d.service(ns, name, [{"name": "http", "port": 8080, "target": "http"}],
                  selector_={"app": name}, days=530)
    d.service(ns, "postgres", [{"name": "postgres", "port": 5432}], selector_={"app": "postgres"},
              headless=True, days=530)

    np = d.network_policy
    np(ns, "default-deny-ingress", selector(), ["Ingress"], days=400)
    np(ns, "default-deny-egress-allow-dns", selector(), ["Egress"], egress=[DNS_EGRESS], days=400)
    np(ns, "allow-egress-within-namespace", selector(), ["Egress"],
       egress=[{"to": [{"podSelector": selector()}]}], days=400)
    np(ns, "allow-aws-apis-egress", selector(expressions=[("app", "In", ["api", "orders",
                                                                          "catalog"])]),
       ["Egress"], egress=[AWS_APIS_EGRESS], days=300)
    np(ns, "orders-allow-payments-egress", selector({"app": "orders"}), ["Egress"],
       egress=[{"to": [{"namespaceSelector": ns_selector("payments"),
                        "podSelector": selector({"app": "payment-gateway"})}],
                "ports": [{"protocol": "TCP", "port": 8443}]}], days=300)
    np(ns, "frontend-allow-http", selector({"app": "frontend"}), ["Ingress"],
       ingress=[{"from": [{"ipBlock": {"cidr": VPC_CIDR}}],
                 "ports": [{"protocol": "TCP", "port": 80}]}], days=400)
    np(ns, "api-allow-frontend", selector({"app": "api"}), ["Ingress"],
       ingress=[{"from": [{"podSelector": selector({"app": "frontend"})}],
                 "ports": [{"protocol": "TCP", "port": 8080}]}], days=400)
    np(ns, "backends-allow-api", selector(expressions=[("app", "In", ["catalog", "orders"])]),
       ["Ingress"], ingress=[{"from": [{"podSelector": selector({"app": "api"})}],
                              "ports": [{"protocol": "TCP", "port": 8080}]}], days=400)
    np(ns, "catalog-allow-partner-lb", selector({"app": "catalog"}), ["Ingress"],
       ingress=[{"from": [{"ipBlock": {"cidr": VPC_CIDR}}],
                 "ports": [{"protocol": "TCP", "port": 8080}]}], days=300)
    # meant for orders only; every acme-shop pod carries the part-of label, frontend included
    np(ns, "postgres-allow-clients", selector({"app": "postgres"}), ["Ingress"],
       ingress=[{"from": [{"podSelector": selector({"app.kubernetes.io/part-of": "acme-shop"})}],
                 "ports": [{"protocol": "TCP", "port": 5432}]}], days=210)
    np(ns, "allow-monitoring-scrape", selector(), ["Ingress"],
       ingress=[{"from": [{"namespaceSelector": ns_selector("monitoring"),
                           "podSelector": selector({"app": "prometheus"})}],
                 "ports": [{"protocol": "TCP", "port": "metrics"}]}], days=300)
    np(ns, "old-cart-allow-api", selector({"app": "old-cart"}), ["Ingress"],
       ingress=[{"from": [{"podSelector": selector({"app": "api"})}],
                 "ports": [{"protocol": "TCP", "port": 8080}]}], days=700)

    d.role(ns, "secret-reader", [rule([""], ["secrets"], ["get", "list", "watch"])])
    d.binding(ns, "api-secret-reader", "Role", "secret-reader",
              [subject("ServiceAccount", "api", ns)])


_NGINX_CONF = """server {
    listen 80;
    location /healthz { return 200 'ok'; }
    location /api/ { proxy_pass http://api:8080/; }
    location / { root /usr/share/nginx/html; try_files $uri /index.html; }
}
"""


# ----- payments: the model tenant ---------------------------------------------------------------
def _payments(d: _Demo, ns: str, *, scale: int = 1, clone: bool = False,
              versions: dict[str, str] | None = None) -> None:
    v = versions or _base_versions()
    d.namespace(ns, {"pod-security.kubernetes.io/enforce": "restricted",
                     "pod-security.kubernetes.io/enforce-version": "v1.30",
                     "pod-security.kubernetes.io/audit": "restricted",
                     "pod-security.kubernetes.io/warn": "restricted", "team": "payments"},
                days=500)
    for sa, role in (("payment-gateway", "acme-payments-gateway"),
                     ("fraud-scorer", "acme-payments-fraud-scorer")):
        d.service_account(ns, sa, automount=False, created=d.when(480),
                          role=None if clone else _role_arn(role))
    for app, secret_name in (("payment-gateway", "acme/payments/gateway-api-key"),
                             ("fraud-scorer", "acme/payments/fraud-model-token")):
        d.custom("secretproviderclasses.secrets-store.csi.x-k8s.io", "SecretProviderClass",
                 "secrets-store.csi.x-k8s.io/v1", f"{app}-secrets", ns,
                 {"provider": "aws", "parameters": {
                     "objects": f'- objectName: "{_secret_arn(secret_name)}"\n'
                                f'  objectType: "secretsmanager"\n'}}, days=400)
    d.helm_release(ns, "payments", 7, days=33)

    pod_security = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    csi = ("secrets-store.csi.k8s.io", {"secretProviderClass": "payment-gateway-secrets"})
    gateway = pod_template(app_labels("payment-gateway", "payments", tier="backend"), pod_spec(
        [container("gateway", ecr_image("payments/payment-gateway",
                                        v["payments/payment-gateway"]),
                   ports=[port(8443, "https")],
                   env_=[env("FRAUD_SCORER_ADDR", "fraud-scorer:9000"),
                         env("PSP_API_KEY_FILE", "/mnt/secrets/gateway-api-key")],
                   res=resources("500m", "512Mi", limit_cpu="500m", limit_memory="512Mi"),
                   mounts=[mount("secrets", "/mnt/secrets", True), mount("tmp", "/tmp")],
                   readiness={"httpGet": {"path": "/ready", "port": "https", "scheme": "HTTPS"},
                              "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                              "failureThreshold": 3},
                   # runAsNonRoot comes from the pod level only: checks must inherit it
                   security={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                             "readOnlyRootFilesystem": True})],
        sa="payment-gateway", security=pod_security,
        volumes=[volume("secrets", csi=csi), volume("tmp", memory="64Mi")]))
    d.deployment(ns, "payment-gateway", gateway, 2 * scale, days=480, revision=22,
                 rollout_days=12)

    scorer = pod_template(app_labels("fraud-scorer", "payments", tier="ml"), pod_spec(
        [container("scorer", ecr_pinned("payments/fraud-scorer", v["payments/fraud-scorer"]),
                   ports=[port(9000, "grpc")],
                   env_=[env("MODEL_URI", "s3://acme-payments-models/fraud/v9/")],
                   res=resources("1", "4Gi", limit_cpu="2", limit_memory="8Gi"),
                   mounts=[mount("secrets", "/mnt/secrets", True), mount("tmp", "/tmp")],
                   security=dict(RESTRICTED, runAsUser=65532))],
        sa="fraud-scorer", automount=False,
        security={**pod_security, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532},
        node_selector={"eks.amazonaws.com/nodegroup": "gpu"},
        tolerations=[toleration("nvidia.com/gpu", "NoSchedule")],
        volumes=[volume("secrets", csi=("secrets-store.csi.k8s.io",
                                        {"secretProviderClass": "fraud-scorer-secrets"})),
                 volume("tmp", memory="256Mi")]))
    scorer["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1"
    d.deployment(ns, "fraud-scorer", scorer, 2 * scale, days=290, revision=5, rollout_days=30)

    d.service(ns, "payment-gateway", [{"name": "https", "port": 443, "target": "https",
                                       "node_port": _node_port(ns, "payment-gateway", 443)}],
              selector_={"app": "payment-gateway"}, type_="LoadBalancer",
              annotations=_lb_annotations("internal", _acm_cert("payments-internal")), days=480)
    d.service(ns, "fraud-scorer", [{"name": "grpc", "port": 9000, "target": "grpc"}],
              selector_={"app": "fraud-scorer"}, days=290)

    np = d.network_policy
    np(ns, "default-deny-all", selector(), ["Ingress", "Egress"], days=480)
    np(ns, "allow-dns", selector(), ["Egress"], egress=[DNS_EGRESS], days=480)
    np(ns, "gateway-allow-orders", selector({"app": "payment-gateway"}), ["Ingress"],
       ingress=[{"from": [{"namespaceSelector": ns_selector("storefront"),
                           "podSelector": selector({"app": "orders"})},
                          {"ipBlock": {"cidr": VPC_CIDR}}],
                 "ports": [{"protocol": "TCP", "port": 8443}]}], days=480)
    np(ns, "gateway-egress", selector({"app": "payment-gateway"}), ["Egress"],
       egress=[{"to": [{"podSelector": selector({"app": "fraud-scorer"})}],
                "ports": [{"protocol": "TCP", "port": 9000}]}, AWS_APIS_EGRESS], days=480)
    np(ns, "scorer-allow-gateway", selector({"app": "fraud-scorer"}), ["Ingress"],
       ingress=[{"from": [{"podSelector": selector({"app": "payment-gateway"})}],
                 "ports": [{"protocol": "TCP", "port": 9000}]}], days=290)
    np(ns, "scorer-egress-s3", selector({"app": "fraud-scorer"}), ["Egress"],
       egress=[AWS_APIS_EGRESS], days=290)


# ----- legacy-batch: the horror show ------------------------------------------------------------
def _legacy_batch(d: _Demo, ns: str, *, clone: bool = False) -> None:
    d.namespace(ns, {"team": "data"}, days=980)
    runner = d.service_account(ns, "report-runner", created=d.when(970))
    d.secret(ns, "report-runner-token", days=960, annotations={
        "kubernetes.io/service-account.name": "report-runner",
        "kubernetes.io/service-account.uid": runner["metadata"]["uid"]})
    d.secret(ns, "report-db-creds", days=960)
    report = pod_template(app_labels("nightly-report", "data"), pod_spec(
        [container("report", ecr_image("legacy/nightly-report", "latest"),
                   command=["python", "/app/nightly_report.py"],
                   args=["--since", "yesterday", "--upload", "s3://acme-reports/nightly/"],
                   env_=[env("AWS_ACCESS_KEY_ID", _marker("aws_access_key_id",
                                                          f"{ns}/AWS_ACCESS_KEY_ID", 20)),
                         env("AWS_SECRET_ACCESS_KEY", _marker("aws_secret_access_key",
                                                              f"{ns}/AWS_SECRET_ACCESS_KEY", 40)),
                         env("AWS_DEFAULT_REGION", REGION),
                         env("DB_PASSWORD", secret=("report-db-creds", "password"))],
                   mounts=[mount("docker-sock", "/var/run/docker.sock")],
                   security={"privileged": True, "runAsUser": 0})],
        sa="report-runner", restart="OnFailure",
        volumes=[volume("docker-sock", host_path=("/var/run/docker.sock", "Socket"))]))
    today = NOW.replace(hour=2, minute=0, second=0)
    yesterday = today - timedelta(days=1)
    d.cron_job(ns, "nightly-report", report, schedule="0 2 * * *",
               runs=[(yesterday, yesterday + timedelta(minutes=47, seconds=12)), (today, None)])
    shell = pod_template({"run": "debug-shell"}, pod_spec(
        [container("debug-shell", "nicolaka/netshoot:latest", command=["sleep", "infinity"],
                   security={"capabilities": {"add": ["NET_ADMIN", "SYS_PTRACE"]}})],
        sa="default"))
    d.bare_pod(ns, "debug-shell", shell, days=16)


# ----- monitoring: open by design ---------------------------------------------------------------
def _monitoring(d: _Demo) -> None:
    ns = "monitoring"
    d.namespace(ns, {"pod-security.kubernetes.io/audit": "baseline", "team": "platform"},
                days=600)
    d.service_account(ns, "prometheus", created=d.when(590))
    d.service_account(ns, "grafana", created=d.when(590))
    d.service_account(ns, "node-exporter", automount=False, created=d.when(590))
    d.service_account(ns, "falco", created=d.when(400))
    d.secret(ns, "grafana-admin", days=590)
    d.helm_release(ns, "grafana", 4, days=120)
    d.helm_release(ns, "falco", 2, days=150)
    d.config_map(ns, "prometheus-config", {"prometheus.yml": _PROMETHEUS_CONFIG}, days=100)
    d.config_map(ns, "falco-rules", {"custom_rules.yaml": _FALCO_RULES}, days=150)
    d.persistent_volume_for(ns, "prometheus-data", "100Gi", "gp2-legacy", d.when(590))

    prometheus = pod_template({"app": "prometheus", "app.kubernetes.io/name": "prometheus"},
                              pod_spec(
        [container("prometheus", "quay.io/prometheus/prometheus:v2.54.1",
                   args=["--config.file=/etc/prometheus/prometheus.yml",
                         "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=15d",
                         "--web.enable-lifecycle"],
                   ports=[port(9090, "web")],
                   res=resources("500m", "2Gi", limit_memory="4Gi"),
                   mounts=[mount("config", "/etc/prometheus", True), mount("data", "/prometheus")],
                   readiness=http_probe("/-/ready", "web"))],
        sa="prometheus", security={"runAsNonRoot": True, "runAsUser": 65534, "fsGroup": 65534},
        volumes=[volume("config", config_map="prometheus-config"),
                 volume("data", pvc="prometheus-data")]))
    d.deployment(ns, "prometheus", prometheus, 1, days=590, revision=8, rollout_days=60)

    grafana = pod_template({"app": "grafana", "app.kubernetes.io/name": "grafana"}, pod_spec(
        [container("grafana", "grafana/grafana:11.3.0", ports=[port(3000, "http")],
                   env_=[env("GF_SECURITY_ADMIN_USER", "admin"),
                         env("GF_SECURITY_ADMIN_PASSWORD", secret=("grafana-admin", "password")),
                         env("GF_SERVER_ROOT_URL", "https://grafana.acme-shop.example")],
                   res=resources("100m", "256Mi", limit_memory="512Mi"),
                   readiness=http_probe("/api/health", "http"))],
        sa="grafana", security={"runAsUser": 472, "runAsGroup": 472, "fsGroup": 472}))
    d.deployment(ns, "grafana", grafana, 1, days=590, revision=4, rollout_days=120)

    exporter = pod_template({"app": "node-exporter", "app.kubernetes.io/name": "node-exporter"},
                            pod_spec(
        [container("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2",
                   args=["--path.procfs=/host/proc", "--path.sysfs=/host/sys",
                         "--path.rootfs=/host/root", "--web.listen-address=:9100"],
                   ports=[port(9100, "metrics", host=True)],
                   res=resources("50m", "64Mi", limit_cpu="250m", limit_memory="128Mi"),
                   mounts=[mount("proc", "/host/proc", True), mount("sys", "/host/sys", True),
                           mount("root", "/host/root", True,
                                 mountPropagation="HostToContainer")],
                   security={"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False})],
        sa="node-exporter", automount=False, host_network=True, host_pid=True,
        security={"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534},
        tolerations=[toleration()],
        volumes=[volume("proc", host_path=("/proc", "")), volume("sys", host_path=("/sys", "")),
                 volume("root", host_path=("/", ""))]))
    d.daemon_set(ns, "node-exporter", exporter, days=590)

    # the falco chart's default tolerations cover control-plane taints only, not the gpu taint
    falco = pod_template({"app": "falco", "app.kubernetes.io/name": "falco"}, pod_spec(
        [container("falco", "falcosecurity/falco:0.39.1",
                   args=["/usr/bin/falco", "-o", "engine.kind=modern_ebpf"],
                   env_=[env("FALCO_K8S_NODE_NAME", field="spec.nodeName")],
                   res=resources("100m", "512Mi", limit_cpu="1", limit_memory="1Gi"),
                   mounts=[mount("proc", "/host/proc", True), mount("etc", "/host/etc", True),
                           mount("containerd", "/host/run/containerd"),
                           mount("rules", "/etc/falco/rules.d", True)],
                   security={"privileged": True})],
        sa="falco",
        tolerations=[toleration("node-role.kubernetes.io/master", "NoSchedule"),
                     toleration("node-role.kubernetes.io/control-plane", "NoSchedule")],
        volumes=[volume("proc", host_path=("/proc", "")), volume("etc", host_path=("/etc", "")),
                 volume("containerd", host_path=("/run/containerd", "")),
                 volume("rules", config_map="falco-rules")]))
    d.daemon_set(ns, "falco", falco, days=150)

    d.service(ns, "prometheus", [{"name": "web", "port": 9090, "target": "web",
                                  "node_port": 30090}],
              selector_={"app": "prometheus"}, type_="NodePort", days=590)
    d.service(ns, "grafana", [{"name": "http", "port": 80, "target": "http"}],
              selector_={"app": "grafana"}, days=590)
    d.service(ns, "node-exporter", [{"name": "metrics", "port": 9100}],
              selector_={"app": "node-exporter"}, headless=True, days=590)
    d.add("ingresses.networking.k8s.io", {
        "metadata": d.meta("Ingress", "grafana", ns, days=580, generation=1, annotations={
            "alb.ingress.kubernetes.io/certificate-arn": _acm_cert("grafana"),
            "alb.ingress.kubernetes.io/inbound-cidrs": "203.0.113.0/24",
            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/ssl-redirect": "443",
            "alb.ingress.kubernetes.io/target-type": "ip"},
            finalizers=["ingress.k8s.aws/resources"]),
        "spec": {"ingressClassName": "alb", "rules": [{
            "host": "grafana.acme-shop.example",
            "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "grafana", "port": {"name": "http"}}}}]}}]},
        "status": {"loadBalancer": {"ingress": [{
            "hostname": f"k8s-monitori-grafana-{_hex('alb', n=10)}-{int(_hex('alb2', n=8), 16)}"
                        f".{REGION}.elb.amazonaws.com"}]}},
    })
    d.network_policy(ns, "allow-all-ingress", selector(), ["Ingress"], ingress=[{}], days=580)


_PROMETHEUS_CONFIG = """global:
  scrape_interval: 30s
scrape_configs:
  - job_name: kubernetes-nodes
    kubernetes_sd_configs: [{role: node}]
    scheme: https
    metrics_path: /api/v1/nodes/${1}/proxy/metrics
  - job_name: kubernetes-pods
    kubernetes_sd_configs: [{role: pod}]
"""
_FALCO_RULES = """- rule: Terminal shell in container
  desc: A shell was spawned in a container with an attached terminal.
  condition: spawned_process and container and shell_procs and proc.tty != 0
  output: Shell in container (user=%user.name pod=%k8s.pod.name ns=%k8s.ns.name cmd=%proc.cmdline)
  priority: NOTICE
"""


# ----- tooling namespaces -----------------------------------------------------------------------
def _kyverno(d: _Demo) -> None:
    ns = "kyverno"
    d.namespace(ns, {"pod-security.kubernetes.io/enforce": "baseline", "team": "platform"},
                days=420)
    d.service_account(ns, "kyverno-admission-controller", created=d.when(410))
    d.config_map(ns, "kyverno", {"enableDefaultRegistryMutation": "true",
                                 "resourceFilters": "[Event,*,*][*/*,kube-system,*]"}, days=60)
    d.secret(ns, "kyverno-svc.kyverno.svc.kyverno-tls-ca", days=60)
    d.secret(ns, "kyverno-svc.kyverno.svc.kyverno-tls-pair", days=60)
    d.helm_release(ns, "kyverno", 6, days=60)
    labels = {"app.kubernetes.io/component": "admission-controller",
              "app.kubernetes.io/instance": "kyverno", "app.kubernetes.io/part-of": "kyverno"}
    tmpl = pod_template(labels, pod_spec(
        [container("kyverno", "ghcr.io/kyverno/kyverno:v1.13.1",
                   args=["--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca",
                         "--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair",
                         "--servicePort=443", "--webhookServerPort=9443"],
                   ports=[port(9443, "https"), port(8000, "metrics-port")],
                   env_=[env("KYVERNO_NAMESPACE", field="metadata.namespace")],
                   res=resources("100m", "128Mi", limit_memory="384Mi"),
                   security=dict(RESTRICTED))],
        sa="kyverno-admission-controller",
        security={"seccompProfile": {"type": "RuntimeDefault"}}))
    d.deployment(ns, "kyverno-admission-controller", tmpl, 1, days=410, revision=6,
                 rollout_days=60, match=labels)
    d.service(ns, "kyverno-svc", [{"name": "https", "port": 443, "target": "https"}],
              selector_=labels, days=410)
    d.network_policy(ns, "default-deny-ingress", selector(), ["Ingress"], days=410)
    d.network_policy(ns, "allow-webhook", selector(labels), ["Ingress"],
                     ingress=[{"from": [{"ipBlock": {"cidr": VPC_CIDR}}],
                               "ports": [{"protocol": "TCP", "port": 9443}]}], days=410)


def _external_secrets(d: _Demo) -> None:
    ns = "external-secrets"
    d.namespace(ns, {"pod-security.kubernetes.io/enforce": "baseline", "team": "platform"},
                days=380)
    d.service_account(ns, "external-secrets", role=_role_arn("acme-external-secrets"),
                      created=d.when(370))
    d.service_account(ns, "external-secrets-webhook", created=d.when(370))
    d.service_account(ns, "external-secrets-cert-controller", created=d.when(370))
    d.secret(ns, "external-secrets-webhook", days=370)
    d.helm_release(ns, "external-secrets", 3, days=90)
    image = "ghcr.io/external-secrets/external-secrets:v0.10.5"
    for name, args, ports in (
        ("external-secrets", ["--concurrent=1", "--metrics-addr=:8080"], [port(8080, "metrics")]),
        ("external-secrets-webhook", ["webhook", "--port=10250", "--dns-name="
                                      "external-secrets-webhook.external-secrets.svc"],
         [port(10250, "webhook")]),
        ("external-secrets-cert-controller", ["certcontroller", "--crd-requeue-interval=5m"],
         [port(8080, "metrics")]),
    ):
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "external-secrets"}
        tmpl = pod_template(labels, pod_spec(
            [container(name.removeprefix("external-secrets-") or name, image, args=args,
                       ports=ports, res=resources("10m", "64Mi", limit_memory="256Mi"),
                       security=dict(RESTRICTED, runAsUser=1000))],
            sa=name))
        d.deployment(ns, name, tmpl, 1, days=370, revision=3, rollout_days=90, match=labels)
    d.service(ns, "external-secrets-webhook", [{"name": "webhook", "port": 443,
                                                "target": 10250}],
              selector_={"app.kubernetes.io/name": "external-secrets-webhook"}, days=370)
    d.network_policy(ns, "default-deny-ingress", selector(), ["Ingress"], days=370)
    d.network_policy(ns, "allow-webhook", selector({"app.kubernetes.io/name":
                                                    "external-secrets-webhook"}), ["Ingress"],
                     ingress=[{"from": [{"ipBlock": {"cidr": VPC_CIDR}}],
                               "ports": [{"protocol": "TCP", "port": 10250}]}], days=370)
    d.custom("clustersecretstores.external-secrets.io", "ClusterSecretStore",
             "external-secrets.io/v1beta1", "aws-secrets-manager", None,
             {"provider": {"aws": {"service": "SecretsManager", "region": REGION, "auth": {
                 "jwt": {"serviceAccountRef": {"name": "external-secrets",
                                               "namespace": ns}}}}}},
             {"capabilities": "ReadWrite", "conditions": [{
                 "type": "Ready", "status": "True", "reason": "Valid",
                 "message": "store validated", "lastTransitionTime": _kts(d.when(360))}]},
             days=360)


def _default_namespaces(d: _Demo) -> None:
    d.namespace("default")
    d.namespace("kube-public")
    d.namespace("kube-node-lease")
    d.service("default", "kubernetes", [{"name": "https", "port": 443, "target": 443}],
              cluster_ip="172.20.0.1", labels={"component": "apiserver", "provider": "kubernetes"},
              days=(NOW - CLUSTER_CREATED).days)
    ci = d.service_account("default", "ci-deployer", created=d.when(800))
    d.secret("default", "ci-deployer-token", days=800, annotations={
        "kubernetes.io/service-account.name": "ci-deployer",
        "kubernetes.io/service-account.uid": ci["metadata"]["uid"]})


# ----- kube-system: EKS add-ons and their DaemonSets ----------------------------------------------
NODE_CRITICAL = "system-node-critical"
CLUSTER_CRITICAL = "system-cluster-critical"


def _kube_system(d: _Demo) -> None:
    ns = "kube-system"
    d.namespace(ns)
    for sa in _CONTROLLER_SERVICE_ACCOUNTS:
        d.service_account(ns, sa, created=CLUSTER_CREATED)
    d.service_account(ns, "aws-node", role=_role_arn("acme-shop-prod-vpc-cni"),
                      created=CLUSTER_CREATED, labels={"app.kubernetes.io/name": "aws-node"})
    d.service_account(ns, "coredns", created=CLUSTER_CREATED, labels={"k8s-app": "kube-dns"})
    d.service_account(ns, "kube-proxy", created=CLUSTER_CREATED,
                      labels={"eks.amazonaws.com/component": "kube-proxy"})
    d.service_account(ns, "ebs-csi-controller-sa", role=_role_arn("acme-shop-prod-ebs-csi"),
                      created=d.when(600), labels={"app.kubernetes.io/name": "aws-ebs-csi-driver"})
    d.service_account(ns, "ebs-csi-node-sa", created=d.when(600),
                      labels={"app.kubernetes.io/name": "aws-ebs-csi-driver"})
    d.service_account(ns, "aws-load-balancer-controller", role=_role_arn("acme-shop-prod-aws-lbc"),
                      created=d.when(590))
    d.service_account(ns, "secrets-store-csi-driver", created=d.when(500))
    d.service_account(ns, "csi-secrets-store-provider-aws", created=d.when(500))
    d.service_account(ns, "nvidia-device-plugin", created=d.when(300))

    d.config_map(ns, "aws-auth", {"mapRoles": _AWS_AUTH_ROLES, "mapUsers": _AWS_AUTH_USERS},
                 days=210)
    d.config_map(ns, "coredns", {"Corefile": _COREFILE}, created=CLUSTER_CREATED,
                 labels={"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"})
    d.config_map(ns, "kube-proxy", {"kubeconfig": _KUBE_PROXY_KUBECONFIG},
                 created=CLUSTER_CREATED, labels={"eks.amazonaws.com/component": "kube-proxy",
                                                  "k8s-app": "kube-proxy"})
    d.config_map(ns, "kube-proxy-config", {"config": _KUBE_PROXY_CONFIG},
                 created=CLUSTER_CREATED, labels={"eks.amazonaws.com/component": "kube-proxy",
                                                  "k8s-app": "kube-proxy"})
    d.config_map(ns, "amazon-vpc-cni", {
        "enable-network-policy-controller": "true", "enable-windows-ipam": "false",
        "enable-windows-prefix-delegation": "false", "warm-ip-target": "1",
        "minimum-ip-target": "3"}, days=90, labels={"app.kubernetes.io/name": "aws-node"})
    d.config_map(ns, "extension-apiserver-authentication", {
        "client-ca-file": _FAKE_CA, "requestheader-allowed-names": '["front-proxy-client"]',
        "requestheader-client-ca-file": _FAKE_CA,
        "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
        "requestheader-group-headers": '["X-Remote-Group"]',
        "requestheader-username-headers": '["X-Remote-User"]'}, created=CLUSTER_CREATED)
    d.config_map(ns, "kube-apiserver-legacy-service-account-token-tracking",
                 {"since": CLUSTER_CREATED.strftime("%Y-%m-%d")}, created=CLUSTER_CREATED)
    d.secret(ns, "aws-load-balancer-tls", days=90)
    d.helm_release(ns, "aws-load-balancer-controller", 5, days=90)
    d.helm_release(ns, "secrets-store-csi-driver", 3, days=200)
    d.helm_release(ns, "nvidia-device-plugin", 2, days=280)

    dns_labels = {"eks.amazonaws.com/component": "coredns", "k8s-app": "kube-dns"}
    coredns = pod_template(dns_labels, pod_spec(
        [container("coredns", eks_image("eks/coredns:v1.11.3-eksbuild.2"),
                   args=["-conf", "/etc/coredns/Corefile"],
                   ports=[port(53, "dns", "UDP"), port(53, "dns-tcp"), port(9153, "metrics")],
                   res=resources("100m", "70Mi", limit_memory="170Mi"),
                   mounts=[mount("config-volume", "/etc/coredns", True)],
                   liveness=http_probe("/health", 8080, delay=60),
                   readiness=http_probe("/ready", 8181),
                   security={"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                             "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}})],
        sa="coredns", priority_class=CLUSTER_CRITICAL,
        tolerations=[toleration("node-role.kubernetes.io/control-plane", "NoSchedule"),
                     toleration("CriticalAddonsOnly")],
        volumes=[{"name": "config-volume", "configMap": {
            "name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}],
            "defaultMode": 420}}]))
    d.deployment(ns, "coredns", coredns, 2, labels=dns_labels, days=(NOW - CLUSTER_CREATED).days,
                 revision=3, rollout_days=40, match={"k8s-app": "kube-dns"})

    ebs_labels = {"app": "ebs-csi-controller", "app.kubernetes.io/component": "csi-driver",
                  "app.kubernetes.io/managed-by": "EKS", "app.kubernetes.io/name":
                  "aws-ebs-csi-driver", "app.kubernetes.io/version": "1.37.0"}
    sidecar_sec = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}
    socket = [mount("socket-dir", "/var/lib/csi/sockets/pluginproxy/")]
    ebs_ctrl = pod_template(ebs_labels, pod_spec(
        [container("ebs-plugin", eks_image("eks/aws-ebs-csi-driver:v1.37.0"),
                   args=["controller", "--endpoint=$(CSI_ENDPOINT)", "--batching=true",
                         "--logging-format=text", "--v=2"],
                   ports=[port(9808, "healthz")],
                   env_=[env("CSI_ENDPOINT", "unix:///var/lib/csi/sockets/pluginproxy/csi.sock"),
                         env("CSI_NODE_NAME", field="spec.nodeName")],
                   res=resources("10m", "40Mi", limit_memory="256Mi"), mounts=socket,
                   security=sidecar_sec),
         *(container(name, eks_image(f"eks/{image}"), args=["--timeout=60s", "--v=2"],
                     res=resources("10m", "40Mi", limit_memory="256Mi"), mounts=socket,
                     security=sidecar_sec)
           for name, image in (("csi-provisioner", "csi-provisioner:v5.1.0-eks-1-31-6"),
                               ("csi-attacher", "csi-attacher:v4.7.0-eks-1-31-6"),
                               ("csi-resizer", "csi-resizer:v1.12.0-eks-1-31-6")))],
        sa="ebs-csi-controller-sa", priority_class=CLUSTER_CRITICAL,
        security={"fsGroup": 1000, "runAsGroup": 1000, "runAsNonRoot": True, "runAsUser": 1000},
        node_selector={"kubernetes.io/os": "linux"},
        tolerations=[toleration("CriticalAddonsOnly"), toleration(effect="NoExecute",
                                                                  seconds=300)],
        volumes=[volume("socket-dir")]))
    d.deployment(ns, "ebs-csi-controller", ebs_ctrl, 2, days=600, revision=4, rollout_days=70,
                 match={"app": "ebs-csi-controller", "app.kubernetes.io/name":
                        "aws-ebs-csi-driver"})

    lbc_labels = {"app.kubernetes.io/instance": "aws-load-balancer-controller",
                  "app.kubernetes.io/name": "aws-load-balancer-controller"}
    lbc = pod_template(lbc_labels, pod_spec(
        [container("aws-load-balancer-controller",
                   "public.ecr.aws/eks/aws-load-balancer-controller:v2.10.0",
                   args=[f"--cluster-name={CLUSTER}", "--ingress-class=alb",
                         f"--aws-region={REGION}", f"--aws-vpc-id={VPC_ID}"],
                   ports=[port(9443, "webhook-server"), port(8080, "metrics-server")],
                   res=resources("100m", "128Mi", limit_memory="512Mi"),
                   mounts=[mount("cert", "/tmp/k8s-webhook-server/serving-certs", True)],
                   liveness=http_probe("/healthz", 61779, delay=30),
                   security={"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                             "runAsNonRoot": True})],
        sa="aws-load-balancer-controller", priority_class=CLUSTER_CRITICAL,
        security={"fsGroup": 65534}, grace=10,
        volumes=[volume("cert", secret="aws-load-balancer-tls")]))
    d.deployment(ns, "aws-load-balancer-controller", lbc, 2, days=590, revision=5,
                 rollout_days=90, match=lbc_labels)

    d.service(ns, "kube-dns", [{"name": "dns", "port": 53, "protocol": "UDP", "target": 53},
                               {"name": "dns-tcp", "port": 53, "target": 53},
                               {"name": "metrics", "port": 9153, "target": 9153}],
              selector_={"k8s-app": "kube-dns"}, cluster_ip="172.20.0.10",
              labels={"eks.amazonaws.com/component": "kube-dns", "k8s-app": "kube-dns",
                      "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
              days=(NOW - CLUSTER_CREATED).days)
    d.service(ns, "aws-load-balancer-webhook-service",
              [{"name": "webhook-server", "port": 443, "target": "webhook-server"}],
              selector_=lbc_labels, days=590)
    _system_daemon_sets(d, ns)


def _system_daemon_sets(d: _Demo, ns: str) -> None:
    everything = [toleration()]
    cni_labels = {"app.kubernetes.io/instance": "aws-vpc-cni", "app.kubernetes.io/name": "aws-node",
                  "k8s-app": "aws-node"}
    aws_node = pod_template(cni_labels, pod_spec(
        [container("aws-node", eks_image("amazon-k8s-cni:v1.19.0-eksbuild.1"),
                   ports=[port(61678, "metrics", host=True)],
                   env_=[env("ADDITIONAL_ENI_TAGS", "{}"), env("ANNOTATE_POD_IP", "false"),
                         env("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "false"),
                         env("AWS_VPC_K8S_CNI_EXTERNALSNAT", "false"),
                         env("CLUSTER_NAME", CLUSTER), env("ENABLE_POD_ENI", "false"),
                         env("ENABLE_PREFIX_DELEGATION", "false"),
                         env("NETWORK_POLICY_ENFORCING_MODE", "standard"),
                         env("VPC_CNI_VERSION", "v1.19.0"), env("WARM_ENI_TARGET", "1"),
                         env("MY_NODE_NAME", field="spec.nodeName")],
                   res=resources("25m"),
                   mounts=[mount("cni-bin-dir", "/host/opt/cni/bin"),
                           mount("cni-net-dir", "/host/etc/cni/net.d"),
                           mount("log-dir", "/host/var/log/aws-routed-eni"),
                           mount("run-dir", "/var/run/aws-node"),
                           mount("xtables-lock", "/run/xtables.lock")],
                   liveness={"exec": {"command": ["/app/grpc-health-probe", "-addr=:50051",
                                                  "-connect-timeout=5s", "-rpc-timeout=5s"]},
                             "initialDelaySeconds": 60, "timeoutSeconds": 10,
                             "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
                   security={"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}),
         container("aws-eks-nodeagent", eks_image("amazon/aws-network-policy-agent:"
                                                  "v1.1.5-eksbuild.1"),
                   args=["--enable-ipv6=false", "--enable-network-policy=true",
                         "--enable-cloudwatch-logs=false", "--enable-policy-event-logs=false",
                         "--log-file=/var/log/aws-routed-eni/network-policy-agent.log",
                         "--metrics-bind-addr=:8162", "--health-probe-bind-addr=:8163",
                         "--conntrack-cache-cleanup-period=300"],
                   ports=[port(8162, "agentmetrics", host=True)],
                   env_=[env("MY_NODE_NAME", field="spec.nodeName")],
                   res=resources("25m"),
                   mounts=[mount("bpf-pin-path", "/sys/fs/bpf"),
                           mount("log-dir", "/var/log/aws-routed-eni"),
                           mount("run-dir", "/var/run/aws-node")],
                   security={"capabilities": {"add": ["NET_ADMIN"]}, "privileged": True})],
        init=[container("aws-vpc-cni-init", eks_image("amazon-k8s-cni-init:v1.19.0-eksbuild.1"),
                        env_=[env("DISABLE_TCP_EARLY_DEMUX", "false"), env("ENABLE_IPv6",
                                                                          "false")],
                        res=resources("25m"), mounts=[mount("cni-bin-dir", "/host/opt/cni/bin")],
                        security={"privileged": True})],
        sa="aws-node", host_network=True, priority_class=NODE_CRITICAL, grace=10,
        tolerations=everything, affinity=_LINUX_AMD64_AFFINITY,
        volumes=[volume("bpf-pin-path", host_path=("/sys/fs/bpf", "")),
                 volume("cni-bin-dir", host_path=("/opt/cni/bin", "")),
                 volume("cni-net-dir", host_path=("/etc/cni/net.d", "")),
                 volume("log-dir", host_path=("/var/log/aws-routed-eni", "DirectoryOrCreate")),
                 volume("run-dir", host_path=("/var/run/aws-node", "DirectoryOrCreate")),
                 volume("xtables-lock", host_path=("/run/xtables.lock", "FileOrCreate"))]))
    d.daemon_set(ns, "aws-node", aws_node, days=(NOW - CLUSTER_CREATED).days,
                 match={"k8s-app": "aws-node"}, max_unavailable="10%")

    proxy_labels = {"k8s-app": "kube-proxy"}
    kube_proxy = pod_template(proxy_labels, pod_spec(
        [container("kube-proxy", eks_image("eks/kube-proxy:v1.30.6-minimal-eksbuild.3"),
                   command=["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config",
                            "--hostname-override=$(NODE_NAME)"],
                   env_=[env("NODE_NAME", field="spec.nodeName")],
                   res=resources("100m"),
                   mounts=[mount("varlog", "/var/log"), mount("xtables-lock", "/run/xtables.lock"),
                           mount("lib-modules", "/lib/modules", True),
                           mount("kubeconfig", "/var/lib/kube-proxy/"),
                           mount("config", "/var/lib/kube-proxy-config/")],
                   security={"privileged": True})],
        sa="kube-proxy", host_network=True, priority_class=NODE_CRITICAL,
        tolerations=everything, affinity=_LINUX_AMD64_AFFINITY,
        volumes=[volume("varlog", host_path=("/var/log", "")),
                 volume("xtables-lock", host_path=("/run/xtables.lock", "FileOrCreate")),
                 volume("lib-modules", host_path=("/lib/modules", "")),
                 volume("kubeconfig", config_map="kube-proxy"),
                 volume("config", config_map="kube-proxy-config")]))
    kube_proxy["spec"]["dnsPolicy"] = "ClusterFirst"
    d.daemon_set(ns, "kube-proxy", kube_proxy, labels={
        "eks.amazonaws.com/component": "kube-proxy", "k8s-app": "kube-proxy"},
        days=(NOW - CLUSTER_CREATED).days, match=proxy_labels, max_unavailable="10%")

    ebs_labels = {"app": "ebs-csi-node", "app.kubernetes.io/component": "csi-driver",
                  "app.kubernetes.io/managed-by": "EKS",
                  "app.kubernetes.io/name": "aws-ebs-csi-driver"}
    kubelet_dir = mount("kubelet-dir", "/var/lib/kubelet", mountPropagation="Bidirectional")
    ebs_node = pod_template(ebs_labels, pod_spec(
        [container("ebs-plugin", eks_image("eks/aws-ebs-csi-driver:v1.37.0"),
                   args=["node", "--endpoint=$(CSI_ENDPOINT)", "--logging-format=text", "--v=2"],
                   ports=[port(9808, "healthz")],
                   env_=[env("CSI_ENDPOINT", "unix:/csi/csi.sock"),
                         env("CSI_NODE_NAME", field="spec.nodeName")],
                   res=resources("10m", "40Mi", limit_memory="256Mi"),
                   mounts=[kubelet_dir, mount("plugin-dir", "/csi"),
                           mount("device-dir", "/dev")],
                   security={"privileged": True, "readOnlyRootFilesystem": True}),
         container("node-driver-registrar",
                   eks_image("eks/csi-node-driver-registrar:v2.12.0-eks-1-31-6"),
                   args=["--csi-address=$(ADDRESS)", "--kubelet-registration-path="
                         "$(DRIVER_REG_SOCK_PATH)", "--v=2"],
                   env_=[env("ADDRESS", "/csi/csi.sock"),
                         env("DRIVER_REG_SOCK_PATH",
                             "/var/lib/kubelet/plugins/ebs.csi.aws.com/csi.sock")],
                   res=resources("10m", "40Mi", limit_memory="256Mi"),
                   mounts=[mount("plugin-dir", "/csi"), mount("registration-dir", "/registration"),
                           mount("probe-dir", "/var/lib/kubelet/plugins/ebs.csi.aws.com/")],
                   security={"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True})],
        sa="ebs-csi-node-sa", priority_class=NODE_CRITICAL, tolerations=everything,
        security={"fsGroup": 0, "runAsGroup": 0, "runAsNonRoot": False, "runAsUser": 0},
        node_selector={"kubernetes.io/os": "linux"},
        volumes=[volume("kubelet-dir", host_path=("/var/lib/kubelet", "Directory")),
                 volume("plugin-dir", host_path=("/var/lib/kubelet/plugins/ebs.csi.aws.com/",
                                                 "DirectoryOrCreate")),
                 volume("registration-dir", host_path=("/var/lib/kubelet/plugins_registry/",
                                                       "Directory")),
                 volume("device-dir", host_path=("/dev", "Directory")),
                 volume("probe-dir")]))
    d.daemon_set(ns, "ebs-csi-node", ebs_node, days=600, max_unavailable="10%",
                 match={"app": "ebs-csi-node", "app.kubernetes.io/name": "aws-ebs-csi-driver"})

    pia_labels = {"app.kubernetes.io/instance": "eks-pod-identity-agent",
                  "app.kubernetes.io/name": "eks-pod-identity-agent"}
    agent = eks_image("eks/eks-pod-identity-agent:0.1.10")
    pia = pod_template(pia_labels, pod_spec(
        [container("eks-pod-identity-agent", agent,
                   command=["/go-runner", "/eks-pod-identity-agent", "server"],
                   args=["--port", "80", "--cluster-name", CLUSTER, "--probe-port", "2703"],
                   ports=[port(80, "proxy", host=True), port(2703, "probes-port", host=True)],
                   res=resources("25m", "64Mi"),
                   liveness=http_probe("/healthz", "probes-port", delay=5),
                   readiness=http_probe("/readyz", "probes-port", delay=1),
                   security={"capabilities": {"add": ["CAP_NET_BIND_SERVICE"]}})],
        init=[container("eks-pod-identity-agent-init", agent,
                        command=["/go-runner", "/eks-pod-identity-agent", "initialize"],
                        res=resources("25m", "64Mi"), security={"privileged": True})],
        automount=False,  # talks to the EKS Auth API with the node role, not to Kubernetes
        host_network=True, priority_class=NODE_CRITICAL, tolerations=everything, grace=30,
        affinity=_LINUX_AMD64_AFFINITY))
    d.daemon_set(ns, "eks-pod-identity-agent", pia, days=400, match=pia_labels,
                 max_unavailable="10%")

    sscsi_labels = {"app": "secrets-store-csi-driver",
                    "app.kubernetes.io/name": "secrets-store-csi-driver"}
    sscsi = pod_template(sscsi_labels, pod_spec(
        [container("secrets-store", "registry.k8s.io/csi-secrets-store/driver:v1.4.6",
                   args=["--endpoint=$(CSI_ENDPOINT)", "--nodeid=$(KUBE_NODE_NAME)",
                         "--provider-volume=/var/run/secrets-store-csi-providers"],
                   ports=[port(9808, "healthz"), port(8095, "metrics")],
                   env_=[env("CSI_ENDPOINT", "unix:///csi/csi.sock"),
                         env("KUBE_NODE_NAME", field="spec.nodeName")],
                   res=resources("50m", "100Mi", limit_cpu="200m", limit_memory="200Mi"),
                   mounts=[mount("plugin-dir", "/csi"),
                           mount("mountpoint-dir", "/var/lib/kubelet/pods",
                                 mountPropagation="Bidirectional"),
                           mount("providers-dir", "/var/run/secrets-store-csi-providers")],
                   security={"privileged": True}),
         container("node-driver-registrar",
                   "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.11.1",
                   args=["--v=5", "--csi-address=/csi/csi.sock", "--kubelet-registration-path="
                         "/var/lib/kubelet/plugins/csi-secrets-store/csi.sock"],
                   res=resources("10m", "20Mi", limit_cpu="100m", limit_memory="100Mi"),
                   mounts=[mount("plugin-dir", "/csi"), mount("registration-dir",
                                                              "/registration")])],
        sa="secrets-store-csi-driver", tolerations=everything,
        node_selector={"kubernetes.io/os": "linux"},
        volumes=[volume("mountpoint-dir", host_path=("/var/lib/kubelet/pods",
                                                     "DirectoryOrCreate")),
                 volume("registration-dir", host_path=("/var/lib/kubelet/plugins_registry/",
                                                       "Directory")),
                 volume("plugin-dir", host_path=("/var/lib/kubelet/plugins/csi-secrets-store/",
                                                 "DirectoryOrCreate")),
                 volume("providers-dir", host_path=("/var/run/secrets-store-csi-providers",
                                                    "DirectoryOrCreate"))]))
    d.daemon_set(ns, "secrets-store-csi-driver", sscsi, days=500, match={
        "app": "secrets-store-csi-driver"})

    provider_labels = {"app": "csi-secrets-store-provider-aws"}
    provider = pod_template(provider_labels, pod_spec(
        [container("provider-aws-installer",
                   "public.ecr.aws/aws-secrets-manager/secrets-store-csi-driver-provider-aws:"
                   "1.0.r2-80-g3d6d5d3-2024.10.21.20.23",
                   args=["--provider-volume=/var/run/secrets-store-csi-providers"],
                   res=resources("50m", "100Mi", limit_cpu="50m", limit_memory="100Mi"),
                   mounts=[mount("providervol", "/var/run/secrets-store-csi-providers"),
                           mount("mountpoint-dir", "/var/lib/kubelet/pods",
                                 mountPropagation="HostToContainer")],
                   security={"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                             "runAsUser": 0})],
        sa="csi-secrets-store-provider-aws", tolerations=everything,
        node_selector={"kubernetes.io/os": "linux"},
        volumes=[volume("providervol", host_path=("/var/run/secrets-store-csi-providers", "")),
                 volume("mountpoint-dir", host_path=("/var/lib/kubelet/pods",
                                                     "DirectoryOrCreate"))]))
    d.daemon_set(ns, "csi-secrets-store-provider-aws", provider, days=500,
                 match=provider_labels)

    nvidia_labels = {"name": "nvidia-device-plugin-ds"}
    nvidia = pod_template(nvidia_labels, pod_spec(
        [container("nvidia-device-plugin-ctr", "nvcr.io/nvidia/k8s-device-plugin:v0.17.0",
                   env_=[env("FAIL_ON_INIT_ERROR", "false")],
                   mounts=[mount("device-plugin", "/var/lib/kubelet/device-plugins")],
                   security={"allowPrivilegeEscalation": False,
                             "capabilities": {"drop": ["ALL"]}})],
        sa="nvidia-device-plugin", priority_class=NODE_CRITICAL,
        node_selector={"eks.amazonaws.com/nodegroup": "gpu"},
        tolerations=[toleration("nvidia.com/gpu", "NoSchedule")],
        volumes=[volume("device-plugin", host_path=("/var/lib/kubelet/device-plugins", ""))]))
    d.daemon_set(ns, "nvidia-device-plugin-daemonset", nvidia, days=280, match=nvidia_labels)


_LINUX_AMD64_AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]},
        {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn",
         "values": ["fargate", "hybrid", "auto"]}]}]}}}

_CONTROLLER_SERVICE_ACCOUNTS = (
    "attachdetach-controller", "certificate-controller", "clusterrole-aggregation-controller",
    "cronjob-controller", "daemon-set-controller", "deployment-controller",
    "disruption-controller", "endpoint-controller", "endpointslice-controller",
    "endpointslicemirroring-controller", "ephemeral-volume-controller", "expand-controller",
    "generic-garbage-collector", "horizontal-pod-autoscaler", "job-controller",
    "namespace-controller", "node-controller", "persistent-volume-binder",
    "pod-garbage-collector", "pv-protection-controller", "pvc-protection-controller",
    "replicaset-controller", "replication-controller", "resourcequota-controller",
    "root-ca-cert-publisher", "service-account-controller", "statefulset-controller",
    "tagging-controller", "ttl-after-finished-controller", "ttl-controller",
)

VPC_ID = _aws_id("vpc", CLUSTER)

_AWS_AUTH_ROLES = f"""- groups:
  - system:bootstrappers
  - system:nodes
  rolearn: arn:aws:iam::{ACCOUNT}:role/acme-shop-prod-general-node
  username: system:node:{{{{EC2PrivateDNSName}}}}
- groups:
  - system:bootstrappers
  - system:nodes
  rolearn: arn:aws:iam::{ACCOUNT}:role/acme-shop-prod-gpu-node
  username: system:node:{{{{EC2PrivateDNSName}}}}
- groups:
  - acme:platform-admins
  rolearn: arn:aws:iam::{ACCOUNT}:role/acme-platform-admin
  username: platform-admin:{{{{SessionName}}}}
"""
_AWS_AUTH_USERS = f"""- groups:
  - system:masters
  userarn: arn:aws:iam::{ACCOUNT}:user/jenkins
  username: jenkins
"""
_COREFILE = """.:53 {
    errors
    health {
        lameduck 5s
      }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
"""
_KUBE_PROXY_KUBECONFIG = f"""kind: Config
apiVersion: v1
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://{OIDC_ID}.gr7.{REGION}.eks.amazonaws.com
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
"""
_KUBE_PROXY_CONFIG = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig
clusterCIDR: ""
metricsBindAddress: 0.0.0.0:10249
mode: "iptables"
"""


# ----- RBAC -------------------------------------------------------------------------------------
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_K8S_DEFAULT = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
_WORKLOADS = ["daemonsets", "deployments", "replicasets", "statefulsets"]


def _k8s_default_cluster_roles() -> list[tuple[str, list[dict[str, Any]]]]:
    """Return the Kubernetes bootstrap ClusterRoles (abridged to what the checks read)."""
    core_rw = ["configmaps", "endpoints", "persistentvolumeclaims", "pods",
               "replicationcontrollers", "secrets", "serviceaccounts", "services"]
    pod_access = ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]
    edit = [rule([""], pod_access, ["create", "delete", "deletecollection", "get", "list",
                                    "patch", "update", "watch"]),
            rule([""], core_rw, _WRITE + _READ),
            rule([""], ["serviceaccounts"], ["impersonate"]),
            rule(["apps"], _WORKLOADS + ["deployments/scale", "statefulsets/scale"],
                 _WRITE + _READ),
            rule(["batch"], ["cronjobs", "jobs"], _WRITE + _READ),
            rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], _WRITE + _READ)]
    view = [rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "pods",
                        "replicationcontrollers", "serviceaccounts", "services", "events",
                        "namespaces", "pods/log", "pods/status"], _READ),
            rule(["apps"], _WORKLOADS, _READ), rule(["batch"], ["cronjobs", "jobs"], _READ),
            rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], _READ)]
    return [
        ("cluster-admin", [rule(["*"], ["*"], ["*"]), url_rule(["*"], ["*"])]),
        ("admin", [*edit, rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"],
                               _WRITE + _READ)]),
        ("edit", edit),
        ("view", view),
        ("system:basic-user", [
            rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
            rule(["authorization.k8s.io"], ["selfsubjectaccessreviews",
                                            "selfsubjectrulesreviews"], ["create"])]),
        ("system:discovery", [url_rule(["/api", "/api/*", "/apis", "/apis/*", "/healthz",
                                        "/livez", "/openapi", "/openapi/*", "/readyz", "/version",
                                        "/version/"], ["get"])]),
        ("system:public-info-viewer", [url_rule(["/healthz", "/livez", "/readyz", "/version",
                                                 "/version/"], ["get"])]),
        ("system:monitoring", [url_rule(["/healthz", "/healthz/*", "/livez", "/livez/*",
                                         "/metrics", "/metrics/slis", "/readyz", "/readyz/*"],
                                        ["get"])]),
        ("system:service-account-issuer-discovery", [url_rule([
            "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
            "/openid/v1/jwks", "/openid/v1/jwks/"], ["get"])]),
        ("system:auth-delegator", [
            rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
            rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]),
        ("system:node", [
            rule([""], ["pods"], _READ + ["create", "delete"]),
            rule([""], ["nodes", "nodes/status"], _READ + ["create", "patch", "update"]),
            rule([""], ["secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes"],
                 ["get", "list", "watch"]),
            rule([""], ["serviceaccounts/token"], ["create"]),
            rule(["certificates.k8s.io"], ["certificatesigningrequests"],
                 ["create", "get", "list", "watch"])]),
        ("system:node-proxier", [
            rule([""], ["endpoints", "services"], ["list", "watch"]),
            rule([""], ["nodes"], _READ), rule(["", "events.k8s.io"], ["events"],
                                               ["create", "patch", "update"]),
            rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"])]),
        ("system:node-bootstrapper", [rule(["certificates.k8s.io"],
                                           ["certificatesigningrequests"],
                                           ["create", "get", "list", "watch"])]),
        ("system:kube-dns", [rule([""], ["endpoints", "services"], ["list", "watch"])]),
        ("system:kube-scheduler", [
            rule([""], ["pods"], ["delete", "get", "list", "watch"]),
            rule([""], ["bindings", "pods/binding"], ["create"]),
            rule([""], ["nodes", "namespaces"], _READ)]),
        ("system:kube-controller-manager", [
            rule([""], ["secrets", "serviceaccounts"], ["create", "delete", "get", "update"]),
            rule([""], ["serviceaccounts/token"], ["create"]),
            rule(["*"], ["*"], ["list", "watch"])]),
        ("system:volume-scheduler", [rule([""], ["persistentvolumes"], _READ + ["patch",
                                                                               "update"])]),
        ("system:certificates.k8s.io:certificatesigningrequests:nodeclient", [
            rule(["certificates.k8s.io"], ["certificatesigningrequests/nodeclient"],
                 ["create"])]),
        ("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [
            rule(["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"],
                 ["create"])]),
        ("system:controller:clusterrole-aggregation-controller", [
            rule(["rbac.authorization.k8s.io"], ["clusterroles"],
                 ["escalate", "get", "list", "patch", "update", "watch"])]),
        ("system:controller:deployment-controller", [
            rule(["apps", "extensions"], ["deployments", "replicasets"], _READ + _WRITE[:-1]),
            rule([""], ["pods"], ["get", "list", "update", "watch"])]),
        ("system:controller:replicaset-controller", [
            rule(["apps", "extensions"], ["replicasets"], _READ + ["update"]),
            rule([""], ["pods"], ["create", "delete", "list", "patch", "watch"])]),
        ("system:controller:daemon-set-controller", [
            rule(["apps", "extensions"], ["daemonsets"], _READ),
            rule([""], ["pods"], ["create", "delete", "list", "patch", "watch"]),
            rule([""], ["pods/binding"], ["create"])]),
        ("system:controller:job-controller", [
            rule(["batch"], ["jobs"], _READ + ["patch", "update"]),
            rule([""], ["pods"], ["create", "delete", "list", "patch", "watch"])]),
        ("system:controller:cronjob-controller", [
            rule(["batch"], ["cronjobs"], _READ + ["update"]),
            rule(["batch"], ["jobs"], ["create", "delete", "get", "list", "patch", "update",
                                       "watch"])]),
        ("system:controller:namespace-controller", [
            rule([""], ["namespaces"], ["delete", "get", "list", "watch"]),
            rule(["*"], ["*"], ["delete", "deletecollection", "get", "list"])]),
        ("system:controller:generic-garbage-collector", [
            rule(["*"], ["*"], ["delete", "get", "list", "patch", "update", "watch"])]),
        ("system:controller:statefulset-controller", [
            rule([""], ["pods"], ["create", "delete", "get", "list", "patch", "update", "watch"]),
            rule([""], ["persistentvolumeclaims"], ["create", "get", "update"])]),
        ("system:controller:certificate-controller", [
            rule(["certificates.k8s.io"], ["certificatesigningrequests/approval",
                                           "certificatesigningrequests/status"], ["update"]),
            rule(["certificates.k8s.io"], ["signers"], ["approve", "sign"])]),
    ]


def _eks_cluster_roles() -> list[tuple[str, list[dict[str, Any]]]]:
    """ClusterRoles EKS and its add-ons install (the EKS baseline)."""
    return [
        ("eks:addon-manager", [
            rule(["rbac.authorization.k8s.io"], ["clusterroles", "clusterrolebindings", "roles",
                                                 "rolebindings"], ["*"]),
            rule(["apps"], ["daemonsets", "deployments"], ["*"]),
            rule([""], ["configmaps", "serviceaccounts", "services"], ["*"]),
            rule(["admissionregistration.k8s.io"], ["mutatingwebhookconfigurations",
                                                    "validatingwebhookconfigurations"], ["*"]),
            rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], ["*"])]),
        ("eks:az-poller", [rule([""], ["nodes"], ["get", "list"])]),
        ("eks:certificate-controller-approver", [
            rule(["certificates.k8s.io"], ["signers"], ["approve"],
                 ["kubernetes.io/kube-apiserver-client-kubelet"])]),
        ("eks:cloud-controller-manager", [
            rule([""], ["nodes", "nodes/status"], ["get", "list", "patch", "update", "watch",
                                                   "delete"]),
            rule([""], ["services", "services/status"], ["get", "list", "patch", "update",
                                                         "watch"])]),
        ("eks:cluster-event-watcher", [rule(["", "events.k8s.io"], ["events"], _READ)]),
        ("eks:fargate-manager", [rule([""], ["nodes"], ["delete", "get", "list"])]),
        ("eks:k8s-metrics", [rule([""], ["nodes", "pods"], ["list"]),
                             rule(["apps"], ["deployments"], ["list"])]),
        ("eks:node-bootstrapper", [
            rule(["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"],
                 ["create"])]),
        ("eks:node-manager", [
            rule([""], ["pods"], ["delete", "get", "list", "patch", "watch"]),
            rule([""], ["nodes"], ["get", "list", "patch", "watch"]),
            rule([""], ["pods/eviction"], ["create"])]),
        ("eks:nodewatcher", [rule([""], ["nodes"], ["list"])]),
        ("eks:pod-identity-mutating-webhook", [rule([""], ["serviceaccounts"], _READ)]),
        ("eks:service-operations", [rule([""], ["nodes", "pods", "services", "endpoints"],
                                         ["get", "list"]),
                                    rule(["apps"], ["daemonsets", "deployments"],
                                         ["get", "list"])]),
        ("eks:tagging-controller", [rule([""], ["nodes"], _READ)]),
        ("eks:network-policy-controller", [
            rule(["networking.k8s.io"], ["networkpolicies"], _READ + ["patch", "update"]),
            rule(["networking.k8s.aws"], ["policyendpoints"], ["*"]),
            rule([""], ["namespaces", "pods", "services"], _READ)]),
        ("aws-node", [
            rule(["crd.k8s.amazonaws.com"], ["eniconfigs"], _READ),
            rule(["", "events.k8s.io"], ["events"], ["create", "patch", "list"]),
            rule([""], ["pods"], _READ), rule([""], ["namespaces"], _READ),
            rule([""], ["nodes"], _READ), rule(["networking.k8s.aws"], ["policyendpoints"],
                                               _READ),
            rule(["networking.k8s.aws"], ["policyendpoints/status"], ["get"]),
            rule(["vpcresources.k8s.aws"], ["cninodes"], ["get", "list", "patch"])]),
        ("system:coredns", [rule([""], ["endpoints", "services", "pods", "namespaces"],
                                 ["list", "watch"]),
                            rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"])]),
        ("ebs-csi-node-role", [rule([""], ["nodes"], ["get", "patch"]),
                               rule(["storage.k8s.io"], ["volumeattachments"], _READ),
                               rule(["storage.k8s.io"], ["csinodes"], ["get"])]),
        ("ebs-external-attacher-role", [
            rule([""], ["persistentvolumes"], _READ + ["patch"]),
            rule(["storage.k8s.io"], ["volumeattachments", "volumeattachments/status"],
                 _READ + ["patch"])]),
        ("ebs-external-provisioner-role", [
            rule([""], ["persistentvolumes"], _READ + ["create", "delete", "patch"]),
            rule([""], ["persistentvolumeclaims"], _READ + ["update"]),
            rule(["storage.k8s.io"], ["storageclasses", "csinodes"], _READ)]),
        ("ebs-external-resizer-role", [
            rule([""], ["persistentvolumes"], _READ + ["patch"]),
            rule([""], ["persistentvolumeclaims/status"], ["patch"])]),
    ]


def _tool_cluster_roles() -> list[tuple[str, list[dict[str, Any]], list[tuple[str, str]]]]:
    """Helm-installed controllers: role, rules, bound service accounts (namespace, name)."""
    return [
        ("aws-load-balancer-controller-role", [
            rule([""], ["endpoints", "namespaces", "nodes", "pods"], _READ),
            rule([""], ["services", "services/status"], _READ + ["patch", "update"]),
            rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "ingressclasses"],
                 _READ + ["patch", "update"]),
            rule(["elbv2.k8s.aws"], ["targetgroupbindings", "ingressclassparams"],
                 _READ + ["create", "patch", "update", "delete"])],
         [("kube-system", "aws-load-balancer-controller")]),
        ("secretproviderclasses-role", [
            rule(["secrets-store.csi.x-k8s.io"], ["secretproviderclasses",
                                                  "secretproviderclasspodstatuses"], _READ),
            rule([""], ["pods"], ["get"]),
            rule([""], ["serviceaccounts/token"], ["create"])],
         [("kube-system", "secrets-store-csi-driver")]),
        ("csi-secrets-store-provider-aws-cluster-role", [
            rule([""], ["serviceaccounts/token"], ["create"]),
            rule([""], ["serviceaccounts", "pods", "nodes"], ["get"])],
         [("kube-system", "csi-secrets-store-provider-aws")]),
        ("kyverno:admission-controller", [
            rule(["admissionregistration.k8s.io"], ["mutatingwebhookconfigurations",
                                                    "validatingwebhookconfigurations"],
                 ["create", "delete", "get", "list", "patch", "update", "watch"]),
            rule(["kyverno.io"], ["clusterpolicies", "policies", "updaterequests"],
                 _READ + ["create", "update", "patch", "delete"]),
            rule(["*"], ["*"], ["get", "list", "watch"])],
         [("kyverno", "kyverno-admission-controller")]),
        ("external-secrets-controller", [
            rule(["external-secrets.io"], ["externalsecrets", "externalsecrets/status",
                                           "clustersecretstores", "secretstores"],
                 _READ + ["patch", "update"]),
            rule([""], ["secrets"], _READ + ["create", "update", "delete", "patch"]),
            rule([""], ["serviceaccounts/token"], ["create"]),
            rule(["", "events.k8s.io"], ["events"], ["create", "patch"])],
         [("external-secrets", "external-secrets")]),
        ("external-secrets-cert-controller", [
            rule(["apiextensions.k8s.io"], ["customresourcedefinitions"],
                 _READ + ["update", "patch"]),
            rule(["admissionregistration.k8s.io"], ["validatingwebhookconfigurations"],
                 _READ + ["update", "patch"]),
            rule([""], ["secrets"], _READ + ["update", "patch"])],
         [("external-secrets", "external-secrets-cert-controller")]),
        ("prometheus", [
            rule([""], ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods"],
                 _READ),
            rule(["networking.k8s.io"], ["ingresses"], _READ),
            url_rule(["/metrics", "/metrics/cadvisor"], ["get"])],
         [("monitoring", "prometheus")]),
    ]


def _rbac(d: _Demo) -> None:
    sa = subject
    created = CLUSTER_CREATED
    for name, rules in _k8s_default_cluster_roles():
        aggregation = ([{"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{name}":
                                         "true"}}] if name in ("admin", "edit", "view") else None)
        d.role(None, name, rules, labels=_K8S_DEFAULT, annotations=_AUTOUPDATE,
               aggregation=aggregation, created=created)
    for name, rules in _eks_cluster_roles():
        labels = ({"eks.amazonaws.com/component": name.split(":")[-1]}
                  if name.startswith("eks:") else {"app.kubernetes.io/managed-by": "EKS"})
        d.role(None, name, rules, labels=labels, created=created)
    for name, rules, bound in _tool_cluster_roles():
        d.role(None, name, rules, labels={"app.kubernetes.io/managed-by": "Helm"})
        d.binding(None, name.replace("-role", "-rolebinding"), "ClusterRole", name,
                  [sa("ServiceAccount", n, ns) for ns, n in bound],
                  labels={"app.kubernetes.io/managed-by": "Helm"})

    group, user = (lambda n: sa("Group", n)), (lambda n: sa("User", n))
    defaults = [
        ("cluster-admin", "cluster-admin", [group("system:masters")]),
        ("system:basic-user", "system:basic-user", [group("system:authenticated")]),
        ("system:discovery", "system:discovery", [group("system:authenticated")]),
        ("system:public-info-viewer", "system:public-info-viewer",
         [group("system:authenticated"), group("system:unauthenticated")]),
        ("system:monitoring", "system:monitoring", [group("system:monitoring")]),
        ("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
         [group("system:serviceaccounts")]),
        ("system:kube-dns", "system:kube-dns", [sa("ServiceAccount", "kube-dns", "kube-system")]),
        ("system:kube-scheduler", "system:kube-scheduler", [user("system:kube-scheduler")]),
        ("system:kube-controller-manager", "system:kube-controller-manager",
         [user("system:kube-controller-manager")]),
        ("system:volume-scheduler", "system:volume-scheduler", [user("system:kube-scheduler")]),
        ("system:node", "system:node", []),
        ("system:node-proxier", "system:node-proxier", [user("system:kube-proxy")]),
        ("kubeadm:node-autoapprove-bootstrap",
         "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
         [group("system:bootstrappers")]),
        ("kubeadm:node-autoapprove-certificate-rotation",
         "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
         [group("system:nodes")]),
    ]
    for controller in ("clusterrole-aggregation-controller", "deployment-controller",
                       "replicaset-controller", "daemon-set-controller", "job-controller",
                       "cronjob-controller", "namespace-controller", "generic-garbage-collector",
                       "statefulset-controller", "certificate-controller"):
        defaults.append((f"system:controller:{controller}", f"system:controller:{controller}",
                         [sa("ServiceAccount", controller, "kube-system")]))
    for name, role, subjects in defaults:
        d.binding(None, name, "ClusterRole", role, subjects, labels=_K8S_DEFAULT,
                  annotations=_AUTOUPDATE, created=created)
    eks = [
        ("eks:addon-manager", "eks:addon-manager", [user("eks:addon-manager")]),
        ("eks:addon-cluster-admin", "cluster-admin", [user("eks:addon-manager")]),
        ("eks:az-poller", "eks:az-poller", [user("eks:az-poller")]),
        ("eks:certificate-controller-approver", "eks:certificate-controller-approver",
         [user("eks:certificate-controller")]),
        ("eks:cloud-controller-manager", "eks:cloud-controller-manager",
         [user("eks:cloud-controller-manager")]),
        ("eks:cluster-event-watcher", "eks:cluster-event-watcher",
         [user("eks:cluster-event-watcher")]),
        ("eks:fargate-manager", "eks:fargate-manager", [user("eks:fargate-manager")]),
        ("eks:k8s-metrics", "eks:k8s-metrics", [user("eks:k8s-metrics")]),
        ("eks:node-bootstrapper", "eks:node-bootstrapper",
         [group("system:bootstrappers"), group("system:nodes")]),
        ("eks:node-manager", "eks:node-manager", [user("eks:node-manager")]),
        ("eks:nodewatcher", "eks:nodewatcher", [user("eks:nodewatcher")]),
        ("eks:pod-identity-mutating-webhook", "eks:pod-identity-mutating-webhook",
         [user("eks:pod-identity-mutating-webhook")]),
        ("eks:service-operations", "eks:service-operations", [user("eks:service-operations")]),
        ("eks:tagging-controller", "eks:tagging-controller",
         [user("eks:tagging-controller")]),
        ("eks:network-policy-controller", "eks:network-policy-controller",
         [user("eks:network-policy-controller")]),
        ("eks:kube-proxy", "system:node-proxier", [sa("ServiceAccount", "kube-proxy",
                                                      "kube-system")]),
        ("aws-node", "aws-node", [sa("ServiceAccount", "aws-node", "kube-system")]),
        ("system:coredns", "system:coredns", [sa("ServiceAccount", "coredns", "kube-system")]),
        ("ebs-csi-node-binding", "ebs-csi-node-role",
         [sa("ServiceAccount", "ebs-csi-node-sa", "kube-system")]),
        ("ebs-csi-attacher-binding", "ebs-external-attacher-role",
         [sa("ServiceAccount", "ebs-csi-controller-sa", "kube-system")]),
        ("ebs-csi-provisioner-binding", "ebs-external-provisioner-role",
         [sa("ServiceAccount", "ebs-csi-controller-sa", "kube-system")]),
        ("ebs-csi-resizer-binding", "ebs-external-resizer-role",
         [sa("ServiceAccount", "ebs-csi-controller-sa", "kube-system")]),
    ]
    for name, role, subjects in eks:
        d.binding(None, name, "ClusterRole", role, subjects, created=created)

    for ns, name, rules, subjects in (
        ("kube-system", "extension-apiserver-authentication-reader",
         [rule([""], ["configmaps"], _READ, ["extension-apiserver-authentication"])], []),
        ("kube-system", "system::leader-locking-kube-controller-manager",
         [rule(["coordination.k8s.io"], ["leases"], ["get", "update"],
               ["kube-controller-manager"])], [user("system:kube-controller-manager")]),
        ("kube-system", "system:controller:bootstrap-signer",
         [rule([""], ["secrets"], _READ)],
         [sa("ServiceAccount", "bootstrap-signer", "kube-system")]),
        ("kube-system", "system:controller:token-cleaner",
         [rule([""], ["secrets"], ["delete", "get", "list", "watch"])],
         [sa("ServiceAccount", "token-cleaner", "kube-system")]),
        ("kube-system", "eks:authenticator",
         [rule([""], ["configmaps"], ["get"], ["aws-auth"])], [user("eks:authenticator")]),
        ("kube-system", "eks:fargate-manager",
         [rule([""], ["configmaps"], ["get", "patch", "update"], ["aws-auth"])],
         [user("eks:fargate-manager")]),
        ("kube-system", "eks-vpc-resource-controller-role",
         [rule([""], ["configmaps"], ["get", "list", "watch", "update"], ["amazon-vpc-cni"])],
         [user("eks:vpc-resource-controller")]),
        ("kube-system", "aws-load-balancer-controller-leader-election-role",
         [rule([""], ["configmaps"], ["create"]),
          rule([""], ["configmaps"], ["get", "patch", "update"],
               ["aws-load-balancer-controller-leader"]),
          rule(["coordination.k8s.io"], ["leases"], ["create", "get", "patch", "update"])],
         [sa("ServiceAccount", "aws-load-balancer-controller", "kube-system")]),
        ("kube-public", "system:controller:bootstrap-signer",
         [rule([""], ["configmaps"], _READ),
          rule([""], ["configmaps"], ["update"], ["cluster-info"])],
         [sa("ServiceAccount", "bootstrap-signer", "kube-system")]),
    ):
        d.role(ns, name, rules, created=created)
        d.binding(ns, name, "Role", name, subjects, created=created)

    # ---- the client's own grants (most of them findings)
    client_roles = [
        ("ci-deployer", [rule(["apps"], ["deployments"], ["*"]),
                         rule([""], ["services", "configmaps"],
                              ["get", "list", "create", "update", "patch"])]),
        ("acme:admission-manager", [rule(["admissionregistration.k8s.io"],
                                         ["mutatingwebhookconfigurations",
                                          "validatingwebhookconfigurations"],
                                         ["get", "list", "create", "update", "patch",
                                          "delete"])]),
        ("acme:oncall", [rule([""], ["pods", "pods/log", "events"], _READ),
                         rule([""], ["pods/exec", "pods/portforward"], ["create"]),
                         rule(["apps"], ["deployments", "deployments/scale"],
                              ["get", "list", "patch"])]),
        ("acme:access-manager", [
            rule(["rbac.authorization.k8s.io"], ["roles", "clusterroles", "rolebindings",
                                                 "clusterrolebindings"],
                 ["get", "list", "create", "update", "escalate", "bind"]),
            rule([""], ["users", "groups", "serviceaccounts"], ["impersonate"])]),
        ("acme:healthz-reader", [url_rule(["/healthz", "/livez", "/readyz", "/version"],
                                          ["get"]),
                                 rule([""], ["namespaces"], ["get", "list"])]),
    ]
    for name, rules in client_roles:
        d.role(None, name, rules, labels={"acme.example/owner": "platform"})
    for name, role, subjects in (
        ("ci-deployer", "ci-deployer", [sa("ServiceAccount", "ci-deployer", "default")]),
        ("ci-admission-manager", "acme:admission-manager",
         [sa("ServiceAccount", "ci-deployer", "default")]),
        ("acme:oncall", "acme:oncall", [group("acme:oncall")]),
        ("acme:support-access-manager", "acme:access-manager", [group("acme:support")]),
        ("platform-admins", "cluster-admin", [group("acme:platform-admins")]),
        ("report-runner-admin", "cluster-admin",
         [sa("ServiceAccount", "report-runner", "legacy-batch")]),
        ("anonymous-healthz", "acme:healthz-reader", [user("system:anonymous")]),
        # on EKS every IAM principal of the account is system:authenticated
        ("acme-everyone-view", "view", [group("system:authenticated")]),
    ):
        d.binding(None, name, "ClusterRole", role, subjects,
                  labels={"acme.example/owner": "platform"})


# ----- admission control ------------------------------------------------------------------------
def _admission(d: _Demo) -> None:
    ready = {"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                             "message": "Ready", "lastTransitionTime": _kts(d.when(60))}],
             "rulecount": {"generate": 0, "mutate": 0, "validate": 1, "verifyimages": 0},
             "validatingadmissionpolicy": {"generated": False, "message": ""}}
    pod_kinds = {"any": [{"resources": {"kinds": ["Pod"]}}]}
    d.custom("clusterpolicies.kyverno.io", "ClusterPolicy", "kyverno.io/v1",
             "pod-security-baseline", None, {
                 "validationFailureAction": "Audit", "background": True,
                 "admission": True, "emitWarning": False,
                 "rules": [{"name": "baseline", "match": pod_kinds,
                            "exclude": {"any": [{"resources": {"namespaces": [
                                "kube-system", "monitoring"]}}]},
                            "validate": {"podSecurity": {"level": "baseline",
                                                         "version": "latest"}},
                            "skipBackgroundRequests": True}]},
             ready, days=300, annotations={
                 "policies.kyverno.io/title": "Pod Security Standards (Baseline)",
                 "policies.kyverno.io/category": "Pod Security",
                 "kyverno.io/kyverno-version": "1.13.1"})
    d.custom("clusterpolicies.kyverno.io", "ClusterPolicy", "kyverno.io/v1",
             "verify-acme-images", None, {
                 "validationFailureAction": "Enforce", "background": False,
                 "admission": True, "webhookTimeoutSeconds": 30,
                 "rules": [{"name": "verify-signature", "match": pod_kinds,
                            "exclude": {"any": [{"resources": {"namespaces": [
                                "kube-system", "legacy-batch"]}}]},
                            "verifyImages": [{
                                "imageReferences": [f"{ECR}/*"],
                                "attestors": [{"count": 1, "entries": [{"keys": {
                                    "kms": f"awskms:///arn:aws:kms:{REGION}:{ACCOUNT}:alias/"
                                           "acme-image-signing",
                                    "signatureAlgorithm": "sha256"}}]}],
                                "mutateDigest": True, "verifyDigest": True, "required": True,
                                "failureAction": "Enforce"}]}]},
             {**ready, "rulecount": {"generate": 0, "mutate": 0, "validate": 0,
                                     "verifyimages": 1}}, days=200, annotations={
                 "policies.kyverno.io/title": "Verify image signatures",
                 "policies.kyverno.io/category": "Software Supply Chain Security"})

    # a Deny VAP that is about ownership labels, not pod security
    d.add("validatingadmissionpolicies.admissionregistration.k8s.io", {
        "metadata": d.meta("ValidatingAdmissionPolicy", "acme-require-owner-label", days=150,
                           generation=1),
        "spec": {
            "matchConstraints": {
                "namespaceSelector": {}, "objectSelector": {},
                "resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                                   "operations": ["CREATE", "UPDATE"],
                                   "resources": ["deployments", "statefulsets"], "scope": "*"}],
                "matchPolicy": "Equivalent"},
            "validations": [{"expression": "has(object.metadata.labels) && "
                                           "'acme.example/owner' in object.metadata.labels",
                             "message": "every workload needs an acme.example/owner label"}],
            "failurePolicy": "Fail",
        },
        "status": {"observedGeneration": 1, "typeChecking": {}},
    })
    d.add("validatingadmissionpolicybindings.admissionregistration.k8s.io", {
        "metadata": d.meta("ValidatingAdmissionPolicyBinding", "acme-require-owner-label",
                           days=150, generation=1),
        "spec": {"policyName": "acme-require-owner-label", "validationActions": ["Deny"],
                 "matchResources": {
                     "namespaceSelector": {"matchExpressions": [{
                         "key": "kubernetes.io/metadata.name", "operator": "In",
                         "values": ["storefront", "payments"]}]},
                     "objectSelector": {}, "matchPolicy": "Equivalent"}},
    })

    exclude_system = {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                            "operator": "NotIn", "values": ["kube-system",
                                                                            "kyverno"]}]}
    kyverno_svc = ("kyverno", "kyverno-svc", 443)
    for name, hooks in (
        ("kyverno-resource-validating-webhook-cfg", [
            _webhook("validate.kyverno.svc-fail", kyverno_svc, "/validate/fail", ["*"], ["*"],
                     ["pods"], fail=True, ns_selector=exclude_system)]),
        ("kyverno-policy-validating-webhook-cfg", [
            _webhook("validate-policy.kyverno.svc", kyverno_svc, "/policyvalidate",
                     ["kyverno.io"], ["v1", "v2beta1"], ["clusterpolicies", "policies"],
                     fail=False)]),
        ("aws-load-balancer-webhook", [
            _webhook("vingress.elbv2.k8s.aws", ("kube-system",
                                                "aws-load-balancer-webhook-service", 443),
                     "/validate-networking-v1-ingress", ["networking.k8s.io"], ["v1"],
                     ["ingresses"], fail=True)]),
        ("externalsecret-validate", [
            _webhook("validate.externalsecret.external-secrets.io",
                     ("external-secrets", "external-secrets-webhook", 443),
                     "/validate-external-secrets-io-v1beta1-externalsecret",
                     ["external-secrets.io"], ["v1beta1"], ["externalsecrets"], fail=True)]),
        ("eks-aws-auth-configmap-validation-webhook", [
            _webhook("eks-aws-auth-configmap-validation-webhook.amazonaws.com",
                     "https://127.0.0.1:21363/validate", None, [""], ["v1"], ["configmaps"],
                     fail=False, object_selector={"matchLabels": {}})]),
        ("vpc-resource-validating-webhook", [
            _webhook("vpc-resource-validating-webhook.k8s.aws",
                     "https://127.0.0.1:21362/validate-v1-pod", None, [""], ["v1"], ["pods"],
                     fail=False)]),
    ):
        d.add("validatingwebhookconfigurations.admissionregistration.k8s.io", {
            "metadata": d.meta("ValidatingWebhookConfiguration", name, days=60, generation=3),
            "webhooks": hooks})
    for name, hooks in (
        ("kyverno-resource-mutating-webhook-cfg", [
            _webhook("mutate.kyverno.svc-fail", kyverno_svc, "/mutate/fail", [""], ["v1"],
                     ["pods"], fail=True, ns_selector=exclude_system, mutating=True)]),
        ("kyverno-verify-mutating-webhook-cfg", [
            _webhook("monitor-webhooks.kyverno.svc", kyverno_svc, "/verifymutate",
                     ["coordination.k8s.io"], ["v1"], ["leases"], fail=False, mutating=True)]),
        ("aws-load-balancer-webhook", [
            _webhook("mpod.elbv2.k8s.aws", ("kube-system", "aws-load-balancer-webhook-service",
                                            443), "/mutate-v1-pod", [""], ["v1"], ["pods"],
                     fail=True, mutating=True, object_selector={"matchExpressions": [{
                         "key": "app.kubernetes.io/name", "operator": "NotIn",
                         "values": ["aws-load-balancer-controller"]}]}),
            _webhook("mservice.elbv2.k8s.aws", ("kube-system",
                                                "aws-load-balancer-webhook-service", 443),
                     "/mutate-v1-service", [""], ["v1"], ["services"], fail=True,
                     mutating=True)]),
        ("pod-identity-webhook", [
            _webhook("iam-for-pods.amazonaws.com", "https://127.0.0.1:23443/mutate", None,
                     [""], ["v1"], ["pods"], fail=False, mutating=True, ops=["CREATE"])]),
        ("vpc-resource-mutating-webhook", [
            _webhook("mpod.vpc.k8s.aws", "https://127.0.0.1:21362/mutate-v1-pod", None,
                     [""], ["v1"], ["pods"], fail=False, mutating=True, ops=["CREATE"])]),
    ):
        d.add("mutatingwebhookconfigurations.admissionregistration.k8s.io", {
            "metadata": d.meta("MutatingWebhookConfiguration", name, days=60, generation=3),
            "webhooks": hooks})


def _webhook(name: str, target: tuple[str, str, int] | str, path: str | None,
             groups: list[str], versions: list[str], resources_: list[str], *, fail: bool,
             ns_selector: dict[str, Any] | None = None, mutating: bool = False,
             object_selector: dict[str, Any] | None = None,
             ops: list[str] | None = None) -> dict[str, Any]:
    if isinstance(target, str):  # EKS-managed webhooks are called by URL on the control plane
        client: dict[str, Any] = {"url": target, "caBundle": _b64("eks-ca", name, size=96)}
    else:
        ns, svc, port_ = target
        client = {"service": {"namespace": ns, "name": svc, "path": path, "port": port_},
                  "caBundle": _b64("ca", name, size=96)}
    hook: dict[str, Any] = {
        "name": name, "clientConfig": client,
        "rules": [{"operations": ops or ["CREATE", "UPDATE"], "apiGroups": groups,
                   "apiVersions": versions, "resources": resources_, "scope": "*"}],
        "failurePolicy": "Fail" if fail else "Ignore",
        "matchPolicy": "Equivalent",
        "namespaceSelector": ns_selector or {},
        "objectSelector": object_selector or {},
        "sideEffects": "NoneOnDryRun" if mutating else "None",
        "timeoutSeconds": 10,
        "admissionReviewVersions": ["v1"],
    }
    if mutating:
        hook["reinvocationPolicy"] = "IfNeeded" if "kyverno" in name else "Never"
    return hook


_CRDS = (  # group, plural, kind, scope, versions
    ("kyverno.io", "clusterpolicies", "ClusterPolicy", "Cluster", ("v1", "v2beta1")),
    ("kyverno.io", "policies", "Policy", "Namespaced", ("v1", "v2beta1")),
    ("kyverno.io", "updaterequests", "UpdateRequest", "Namespaced", ("v2",)),
    ("wgpolicyk8s.io", "policyreports", "PolicyReport", "Namespaced", ("v1alpha2",)),
    ("wgpolicyk8s.io", "clusterpolicyreports", "ClusterPolicyReport", "Cluster", ("v1alpha2",)),
    ("secrets-store.csi.x-k8s.io", "secretproviderclasses", "SecretProviderClass", "Namespaced",
     ("v1",)),
    ("secrets-store.csi.x-k8s.io", "secretproviderclasspodstatuses",
     "SecretProviderClassPodStatus", "Namespaced", ("v1",)),
    ("external-secrets.io", "externalsecrets", "ExternalSecret", "Namespaced",
     ("v1beta1",)),
    ("external-secrets.io", "secretstores", "SecretStore", "Namespaced", ("v1beta1",)),
    ("external-secrets.io", "clustersecretstores", "ClusterSecretStore", "Cluster",
     ("v1beta1",)),
    ("networking.k8s.aws", "policyendpoints", "PolicyEndpoint", "Namespaced", ("v1alpha1",)),
    ("vpcresources.k8s.aws", "securitygrouppolicies", "SecurityGroupPolicy", "Namespaced",
     ("v1beta1",)),
    ("vpcresources.k8s.aws", "cninodes", "CNINode", "Cluster", ("v1alpha1",)),
    ("crd.k8s.amazonaws.com", "eniconfigs", "ENIConfig", "Cluster", ("v1alpha1",)),
    ("elbv2.k8s.aws", "targetgroupbindings", "TargetGroupBinding", "Namespaced", ("v1beta1",)),
    ("elbv2.k8s.aws", "ingressclassparams", "IngressClassParams", "Cluster", ("v1beta1",)),
)


def _crds(d: _Demo) -> None:
    for group, plural, kind, scope, versions in _CRDS:
        created = d.when(500 if "aws" in group else 300)
        names = {"plural": plural, "singular": kind.lower(), "kind": kind,
                 "listKind": f"{kind}List"}
        d.add("customresourcedefinitions.apiextensions.k8s.io", {
            "metadata": d.meta("CustomResourceDefinition", f"{plural}.{group}", created=created,
                               generation=1,
                               annotations={"controller-gen.kubebuilder.io/version": "v0.16.3"}),
            "spec": {
                "group": group, "names": names, "scope": scope,
                "versions": [{"name": v, "served": True, "storage": i == 0,
                              "schema": {"openAPIV3Schema": {
                                  "type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                              "subresources": {"status": {}}}
                             for i, v in enumerate(versions)],
                "conversion": {"strategy": "None"},
            },
            "status": {
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "lastTransitionTime":
                     _kts(created), "reason": "NoConflicts", "message": "no conflicts found"},
                    {"type": "Established", "status": "True", "lastTransitionTime":
                     _kts(created), "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted"}],
                "acceptedNames": names, "storedVersions": [versions[0]],
            },
        })


# ----- storage ----------------------------------------------------------------------------------
EFS_ID = f"fs-0{_hex('efs', n=16)}"


def _storage(d: _Demo) -> None:
    for name, provisioner, params, default in (
        ("gp3", "ebs.csi.aws.com", {"type": "gp3", "encrypted": "true",
                                    "kmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
                                                f"{_uid('kms', 'ebs')}"}, True),
        ("gp2-legacy", "kubernetes.io/aws-ebs", {"type": "gp2", "fsType": "ext4"}, False),
        ("efs-sc", "efs.csi.aws.com", {"provisioningMode": "efs-ap", "fileSystemId": EFS_ID,
                                       "directoryPerms": "700"}, False),
    ):
        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else None
        d.add("storageclasses.storage.k8s.io", {
            "metadata": d.meta("StorageClass", name, days=600 if name != "gp3" else 450,
                               annotations=annotations),
            "provisioner": provisioner, "parameters": params, "reclaimPolicy": "Delete",
            "allowVolumeExpansion": name != "efs-sc",
            "volumeBindingMode": "Immediate" if name == "efs-sc" else "WaitForFirstConsumer",
        })
    for name, handle, in_transit, phase in (
        ("efs-report-archive", f"{EFS_ID}:/reports", "false", "Available"),
        ("efs-shared-reports", f"{EFS_ID}::fsap-0{_hex('fsap', n=16)}", "true", "Available"),
    ):
        d.add("persistentvolumes", {
            "metadata": d.meta("PersistentVolume", name, days=700,
                               finalizers=["kubernetes.io/pv-protection"]),
            "spec": {"capacity": {"storage": "100Gi"},
                     "csi": {"driver": "efs.csi.aws.com", "volumeHandle": handle,
                             "volumeAttributes": {"encryptInTransit": in_transit}},
                     "accessModes": ["ReadWriteMany"], "persistentVolumeReclaimPolicy": "Retain",
                     "storageClassName": "efs-sc", "volumeMode": "Filesystem"},
            "status": {"phase": phase, "lastPhaseTransitionTime": _kts(d.when(300))},
        })


# ----- nodes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Pool:
    """A managed node group."""

    name: str
    instance_type: str
    cpu: str
    memory_ki: int
    max_pods: int
    ami_type: str
    taints: tuple[dict[str, Any], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    node_days: float = 20.0


POOLS = (
    _Pool("general", "m6i.2xlarge", "8", 32_475_192, 58, "AL2023_x86_64_STANDARD",
          labels=(("workload", "general"),), node_days=18),
    _Pool("gpu", "g5.2xlarge", "8", 32_475_192, 58, "AL2023_x86_64_NVIDIA",
          taints=({"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},),
          labels=(("workload", "gpu"), ("nvidia.com/gpu.present", "true")), node_days=41),
)
AMI = {"general": "ami-0a3c14e1ddbe7f23c", "gpu": "ami-07f1b8c2ad9e0d415"}


def _node_labels(pool: _Pool, name: str, az: int) -> dict[str, str]:
    return {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": pool.instance_type,
        "beta.kubernetes.io/os": "linux",
        "eks.amazonaws.com/capacityType": "ON_DEMAND",
        "eks.amazonaws.com/nodegroup": pool.name,
        "eks.amazonaws.com/nodegroup-image": AMI[pool.name],
        "failure-domain.beta.kubernetes.io/region": REGION,
        "failure-domain.beta.kubernetes.io/zone": AZS[az],
        "k8s.io/cloud-provider-aws": _hex("cloud-provider", CLUSTER, n=32),
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": pool.instance_type,
        "topology.ebs.csi.aws.com/zone": AZS[az],
        "topology.k8s.aws/zone-id": AZ_IDS[az],
        "topology.kubernetes.io/region": REGION,
        "topology.kubernetes.io/zone": AZS[az],
        **dict(pool.labels),
    }


def _tolerates(spec: dict[str, Any], taints: list[dict[str, Any]] | tuple[dict[str, Any], ...],
               ) -> bool:
    for taint in taints:
        if taint["effect"] not in ("NoSchedule", "NoExecute"):
            continue
        if not any((t.get("key") in (None, taint["key"])) and
                   t.get("effect") in (None, taint["effect"]) and
                   (t.get("operator") == "Exists" or t.get("value") == taint.get("value"))
                   for t in spec.get("tolerations", ())):
            return False
    return True


@functools.cache
def _pool_labels(name: str) -> dict[str, str]:
    return _node_labels(next(p for p in POOLS if p.name == name), "prototype", 0)


def _fits(spec: dict[str, Any], pool: _Pool) -> bool:
    """Tell whether a pod with this spec can run on the pool's nodes (taints, nodeSelector)."""
    labels = _pool_labels(pool.name)
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    return _tolerates(spec, pool.taints)


def _pools(g: _PodGroup) -> list[_Pool]:
    """Node groups whose nodes the group's pods can run on (computed once per group)."""
    if g.pools is None:
        g.pools = [p for p in POOLS if _fits(g.template["spec"], p)]
    return g.pools


class _Tally:
    """Running pod count of a plan, so that growing it to N pods stays linear."""

    MINIMUM_NODES: ClassVar[dict[str, int]] = {"general": 3, "gpu": 1}

    def __init__(self) -> None:
        self.workload = {p.name: 0 for p in POOLS}
        self.daemons = {p.name: 0 for p in POOLS}
        self.seen = 0

    def update(self, groups: list[_PodGroup]) -> None:
        for g in groups[self.seen:]:
            pools = _pools(g)
            if g.owner_kind == "DaemonSet":
                for p in pools:
                    self.daemons[p.name] += 1
            else:  # finished Job pods are listed too
                self.workload[pools[0].name] += g.replicas
        self.seen = len(groups)

    def nodes(self, pool: _Pool) -> int:
        room = max(1, PODS_PER_NODE - self.daemons[pool.name])
        return max(self.MINIMUM_NODES[pool.name], math.ceil(self.workload[pool.name] / room))

    def pods(self) -> int:
        return sum(self.workload[p.name] + self.nodes(p) * self.daemons[p.name] for p in POOLS)


class _IpPool:
    """Private addresses per AZ: the node subnet first, then the secondary 100.64/16 range."""

    def __init__(self) -> None:
        self.used = [0, 0, 0]

    def take(self, az: int) -> str:
        n = self.used[az]
        self.used[az] += 1
        if n < 16_370:
            return _ip((10 << 24) + (42 << 16) + (64 * az << 8) + 10 + n)
        return _ip((100 << 24) + (64 << 16) + (64 * az << 8) + 10 + n - 16_370)


def _plan_nodes(d: _Demo, ips: _IpPool) -> None:
    """Size each node group to about PODS_PER_NODE pods per node, then create the nodes."""
    tally = _Tally()
    tally.update(d.groups)
    for pool in POOLS:
        for i in range(tally.nodes(pool)):
            az = i % 3
            ip = ips.take(az)
            name = f"ip-{ip.replace('.', '-')}.{REGION}.compute.internal"
            d.nodes.append(_Node(name, pool.name, az, ip, _aws_id("i", pool.name, i),
                                 [dict(t) for t in pool.taints], _node_labels(pool, name, az),
                                 d.when(pool.node_days, jitter_hours=96)))


def _node_object(d: _Demo, node: _Node) -> dict[str, Any]:
    pool = next(p for p in POOLS if p.name == node.pool)
    capacity = {"cpu": pool.cpu, "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0",
                "hugepages-2Mi": "0", "memory": f"{pool.memory_ki}Ki", "pods": str(pool.max_pods)}
    allocatable = {**capacity, "cpu": "7910m", "ephemeral-storage": "95551679124",
                   "memory": f"{pool.memory_ki - 1_029_000}Ki"}
    if node.pool == "gpu":
        capacity["nvidia.com/gpu"] = allocatable["nvidia.com/gpu"] = "1"
    seen = _kts(NOW - timedelta(seconds=37))
    since = _kts(node.created + timedelta(seconds=40))

    def cond(type_: str, status: str, reason: str, message: str) -> dict[str, Any]:
        return {"type": type_, "status": status, "lastHeartbeatTime": seen,
                "lastTransitionTime": since, "reason": reason, "message": message}

    spec: dict[str, Any] = {"providerID": f"aws:///{AZS[node.az]}/{node.instance_id}"}
    if node.taints:
        spec["taints"] = node.taints
    h = _hex("node", node.name)
    return {
        "metadata": meta("Node", node.name, created=node.created, rv=d.clock.next(),
                         labels=node.labels, annotations={
                             "alpha.kubernetes.io/provided-node-ip": node.ip,
                             "csi.volume.kubernetes.io/nodeid":
                                 json.dumps({"ebs.csi.aws.com": node.instance_id,
                                             "secrets-store.csi.k8s.io": node.name},
                                            separators=(",", ":")),
                             "node.alpha.kubernetes.io/ttl": "0",
                             "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                     "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                     "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID",
                     "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": node.ip},
                          {"type": "InternalDNS", "address": node.name},
                          {"type": "Hostname", "address": node.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": h[:32], "systemUUID": f"ec2{h[32:37]}-{h[37:41]}-{h[41:45]}-"
                                                   f"{h[45:49]}-{h[49:61]}",
                "bootID": _uid("boot", node.name),
                "kernelVersion": "6.1.115-126.197.amzn2023.x86_64",
                "osImage": "Amazon Linux 2023.6.20241111", "containerRuntimeVersion":
                    "containerd://1.7.23", "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux",
                "architecture": "amd64"},
        },
    }


# ----- pods: streamed ---------------------------------------------------------------------------
_PRIORITY = {NODE_CRITICAL: 2_000_001_000, CLUSTER_CRITICAL: 2_000_000_000}
_DS_TOLERATIONS = (
    toleration("node.kubernetes.io/not-ready", "NoExecute"),
    toleration("node.kubernetes.io/unreachable", "NoExecute"),
    toleration("node.kubernetes.io/disk-pressure", "NoSchedule"),
    toleration("node.kubernetes.io/memory-pressure", "NoSchedule"),
    toleration("node.kubernetes.io/pid-pressure", "NoSchedule"),
    toleration("node.kubernetes.io/unschedulable", "NoSchedule"),
)
_DEFAULT_TOLERATIONS = (
    toleration("node.kubernetes.io/not-ready", "NoExecute", seconds=300),
    toleration("node.kubernetes.io/unreachable", "NoExecute", seconds=300),
)
_IRSA_MOUNT = mount("aws-iam-token", "/var/run/secrets/eks.amazonaws.com/serviceaccount", True)
_IRSA_VOLUME = {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
    "audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}],
    "defaultMode": 420}}
_PI_MOUNT = mount("eks-pod-identity-token",
                  "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount", True)
_PI_VOLUME = {"name": "eks-pod-identity-token", "projected": {"sources": [{"serviceAccountToken": {
    "audience": "pods.eks.amazonaws.com", "expirationSeconds": 86400,
    "path": "eks-pod-identity-token"}}], "defaultMode": 420}}


def _sa_token_volume(suffix: str) -> dict[str, Any]:
    return {"name": f"kube-api-access-{suffix}", "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt",
                                                              "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}], "defaultMode": 420}}


def _qos(containers: list[dict[str, Any]]) -> str:
    res = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in res):
        return "BestEffort"
    for r in res:
        limits, requests = r.get("limits", {}), r.get("requests", {})
        if any(limits.get(k) is None or requests.get(k, limits[k]) != limits[k]
               for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


class _PodFactory:
    """Turns one pod group into pod objects; per-group work is done once, per-pod work is small."""

    def __init__(self, d: _Demo, g: _PodGroup) -> None:
        self.d, self.g = d, g
        spec = g.template["spec"]
        sa_name = spec.get("serviceAccountName", "default")
        sa = d.service_accounts.get((g.namespace, sa_name), {})
        automount = spec.get("automountServiceAccountToken",
                             sa.get("automountServiceAccountToken", True))
        role = (sa.get("metadata", {}).get("annotations") or {}).get("eks.amazonaws.com/role-arn")
        pod_identity = d.pod_identity.get((g.namespace, sa_name))
        inject_env: list[dict[str, Any]] = []
        self.extra_mounts: list[dict[str, Any]] = []
        self.extra_volumes: list[dict[str, Any]] = []
        if role or pod_identity:
            inject_env = [env("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
                          env("AWS_DEFAULT_REGION", REGION), env("AWS_REGION", REGION)]
        if pod_identity:
            inject_env += [env("AWS_CONTAINER_CREDENTIALS_FULL_URI",
                               "http://169.254.170.23/v1/credentials"),
                           env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                               "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/"
                               "eks-pod-identity-token")]
            self.extra_mounts.append(_PI_MOUNT)
            self.extra_volumes.append(_PI_VOLUME)
        elif role:
            inject_env += [env("AWS_ROLE_ARN", role),
                           env("AWS_WEB_IDENTITY_TOKEN_FILE",
                               "/var/run/secrets/eks.amazonaws.com/serviceaccount/token")]
            self.extra_mounts.append(_IRSA_MOUNT)
            self.extra_volumes.append(_IRSA_VOLUME)
        self.automount = automount

        def injected(c: dict[str, Any]) -> dict[str, Any]:
            return {**c, "env": c.get("env", []) + inject_env} if inject_env else c

        self.containers = [injected(c) for c in spec["containers"]]
        self.init = [injected(c) for c in spec.get("initContainers", ())]
        tolerations = list(spec.get("tolerations", ()))
        if g.owner_kind == "DaemonSet":
            extra = list(_DS_TOLERATIONS)
            if spec.get("hostNetwork"):
                extra.append(toleration("node.kubernetes.io/network-unavailable", "NoSchedule"))
            tolerations += [t for t in extra if t not in tolerations]
        else:
            for default in _DEFAULT_TOLERATIONS:
                if not any(t.get("key") in (None, default["key"]) and
                           t.get("effect") in (None, "NoExecute") for t in tolerations):
                    tolerations.append(default)
        base = {k: v for k, v in spec.items() if k not in ("volumes", "initContainers",
                                                           "containers")}
        base["serviceAccountName"] = base["serviceAccount"] = sa_name
        base["tolerations"] = tolerations
        base["priority"] = _PRIORITY.get(spec.get("priorityClassName", ""), 0)
        base["enableServiceLinks"] = True
        base["preemptionPolicy"] = "PreemptLowerPriority"
        self.base = base
        self.volumes = list(spec.get("volumes", ()))
        self.qos = _qos(spec["containers"])
        self.labels = {**g.template["metadata"]["labels"], **g.extra_labels}
        self.annotations = g.template["metadata"].get("annotations")
        self.owner = [owner_ref(g.owner_kind, g.owner)] if g.owner_kind else None
        self.images = {c["image"]: image_info(c["image"]) for c in
                       (*self.containers, *self.init)}
        self.status_order = sorted(self.containers, key=lambda c: c["name"])  # as the kubelet

    def pod(self, name: str, node: _Node, ip: str, index: int) -> dict[str, Any]:
        g = self.g
        h = _hex("Pod", g.namespace, name)
        uid = _uid_from_hex(h)
        jitter = int(h[40:44], 16) % 900
        created = max(g.created, node.created) + timedelta(seconds=5 + jitter)
        if g.phase != "Running" or g.owner_kind == "Job":
            created = g.created + timedelta(seconds=1)
        started = created + timedelta(seconds=2)
        running_since = started + timedelta(seconds=3 + jitter % 20)

        metadata: dict[str, Any] = {"name": name}
        if g.owner_kind and g.owner_kind != "StatefulSet":
            metadata["generateName"] = name[:-5]  # "<owner>-" before the random suffix
        metadata["namespace"] = g.namespace
        metadata["uid"] = uid
        metadata["resourceVersion"] = self.d.clock.next()
        metadata["creationTimestamp"] = _kts(created)
        labels = self.labels
        if g.owner_kind == "StatefulSet":
            labels = {**labels, "apps.kubernetes.io/pod-index": str(index),
                      "statefulset.kubernetes.io/pod-name": name}
        metadata["labels"] = labels
        if self.annotations:
            metadata["annotations"] = self.annotations
        if self.owner:
            metadata["ownerReferences"] = self.owner
        if g.owner_kind == "Job" and g.phase == "Running":
            metadata["finalizers"] = ["batch.kubernetes.io/job-tracking"]

        volumes = list(self.volumes)
        mounts = list(self.extra_mounts)
        if g.owner_kind == "StatefulSet":
            volumes.insert(0, volume("data", pvc=f"data-{name}"))
        if self.automount:
            suffix = "".join(_NAME_ALPHABET[int(h[i:i + 2], 16) % 27] for i in range(48, 58, 2))
            volumes.append(_sa_token_volume(suffix))
            mounts.insert(0, {"name": f"kube-api-access-{suffix}", "readOnly": True,
                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
        volumes += self.extra_volumes

        def with_mounts(c: dict[str, Any]) -> dict[str, Any]:
            return {**c, "volumeMounts": c.get("volumeMounts", []) + mounts} if mounts else c

        spec: dict[str, Any] = {}
        if volumes:
            spec["volumes"] = volumes
        if self.init:
            spec["initContainers"] = [with_mounts(c) for c in self.init]
        spec["containers"] = [with_mounts(c) for c in self.containers]
        spec.update(self.base)
        spec["nodeName"] = node.name
        if g.owner_kind == "DaemonSet":
            spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                {"nodeSelectorTerms": [{"matchFields": [{
                                    "key": "metadata.name", "operator": "In",
                                    "values": [node.name]}]}]}}}
        if g.owner_kind == "StatefulSet":
            spec["hostname"] = name
            spec["subdomain"] = g.owner["spec"]["serviceName"] if g.owner else name

        pod_ip = node.ip if self.base.get("hostNetwork") else ip
        if g.phase == "Running":
            self.d.running.setdefault(g.namespace, []).append(
                _RunningPod(name, labels, pod_ip, node.ip, self.containers))
        return {"metadata": metadata, "spec": spec,
                "status": self._status(h, uid, node, pod_ip, created, started, running_since)}

    def _status(self, h: str, uid: str, node: _Node, pod_ip: str, created: datetime,
                started: datetime, running: datetime) -> dict[str, Any]:
        g = self.g
        done = g.phase == "Succeeded"
        end = g.finished or NOW
        t_sched, t_init, t_ready = _kts(created), _kts(running), _kts(running)

        def cond(type_: str, ok: bool, at: str, reason: str | None = None) -> dict[str, Any]:
            c = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None,
                 "lastTransitionTime": at}
            if reason:
                c["reason"] = reason
            return c

        finished = _kts(end) if done else None
        conditions = [
            cond("PodReadyToStartContainers", not done, finished or _kts(started)),
            cond("Initialized", True, t_init if self.init else t_sched,
                 "PodCompleted" if done else None),
            cond("Ready", not done, finished or t_ready, "PodCompleted" if done else None),
            cond("ContainersReady", not done, finished or t_ready,
                 "PodCompleted" if done else None),
            cond("PodScheduled", True, t_sched),
        ]
        statuses = []
        for i, c in enumerate(self.status_order):
            img = self.images[c["image"]]
            cid = "containerd://" + _hex(uid, c["name"])
            restarts = self.g.restarts if i == 0 else 0
            state = ({"terminated": {"exitCode": 0, "reason": "Completed",
                                     "startedAt": _kts(running), "finishedAt": finished,
                                     "containerID": cid}}
                     if done else {"running": {"startedAt": _kts(running)}})
            statuses.append({"name": c["name"], "state": state,
                             "lastState": ({"terminated": {
                                 "exitCode": 137, "reason": "OOMKilled",
                                 "startedAt": _kts(started), "finishedAt": _kts(running),
                                 "containerID": "containerd://" + _hex(uid, c["name"], "prev")}}
                                 if restarts else {}),
                             "ready": not done, "restartCount": restarts,
                             "image": img.status_image, "imageID": img.image_id,
                             "containerID": cid, "started": not done})
        status: dict[str, Any] = {"phase": g.phase, "conditions": conditions,
                                  "hostIP": node.ip, "hostIPs": [{"ip": node.ip}],
                                  "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                                  "startTime": _kts(started)}
        if self.init:
            status["initContainerStatuses"] = [{
                "name": c["name"],
                "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                         "startedAt": _kts(started), "finishedAt": _kts(running),
                                         "containerID": "containerd://" + _hex(uid, c["name"])}},
                "lastState": {}, "ready": True, "restartCount": 0,
                "image": self.images[c["image"]].status_image,
                "imageID": self.images[c["image"]].image_id,
                "containerID": "containerd://" + _hex(uid, c["name"]), "started": False}
                for c in self.init]
        status["containerStatuses"] = statuses
        status["qosClass"] = self.qos
        return status


def _workload_name(g: _PodGroup) -> str:
    """Name the workload of a pod group: a ReplicaSet's Deployment, a Job's CronJob."""
    if g.owner_kind in ("ReplicaSet", "Job") and g.owner:
        refs = g.owner["metadata"].get("ownerReferences") or [{"name": g.name}]
        return refs[0]["name"]
    return g.name


def _iter_pods(d: _Demo, ips: _IpPool,
               first: dict[tuple[str, str], tuple[str, str]]) -> Iterator[dict[str, Any]]:
    """Every pod of the cluster, scheduled onto the nodes round-robin (DaemonSets: one per node).

    ``first`` receives the name and IP of the first pod of each workload.
    """
    by_pool = {p.name: [n for n in d.nodes if n.pool == p.name] for p in POOLS}
    cursor: dict[str, int] = {}
    for g in d.groups:
        factory = _PodFactory(d, g)
        pools = [p.name for p in _pools(g)]
        if g.owner_kind == "DaemonSet":
            host_network = g.template["spec"].get("hostNetwork")
            for node in (n for p in pools for n in by_pool[p]):
                name = f"{g.name}-{_suffix(5, g.namespace, g.name, node.name)}"
                yield factory.pod(name, node, "" if host_network else ips.take(node.az), 0)
            continue
        candidates = by_pool[pools[0]]
        for i in range(g.replicas):
            k = cursor.get(pools[0], 0)
            cursor[pools[0]] = k + 1
            node = candidates[k % len(candidates)]
            if g.owner_kind == "StatefulSet":
                name = f"{g.name}-{i}"
            elif g.owner_kind:
                name = f"{g.name}-{_suffix(5, g.namespace, g.name, i)}"
            else:
                name = g.name
            ip = "" if g.template["spec"].get("hostNetwork") else ips.take(node.az)
            pod = factory.pod(name, node, ip, i)
            first.setdefault((g.namespace, _workload_name(g)), (name, pod["status"]["podIP"]))
            yield pod


def _finish_daemon_sets(d: _Demo) -> None:
    counts = {p.name: sum(1 for n in d.nodes if n.pool == p.name) for p in POOLS}
    for g in d.groups:
        if g.owner_kind != "DaemonSet" or g.owner is None:
            continue
        n = sum(counts[p.name] for p in _pools(g))
        g.owner["status"] = {"currentNumberScheduled": n, "numberMisscheduled": 0,
                             "desiredNumberScheduled": n, "numberReady": n,
                             "observedGeneration": 1, "updatedNumberScheduled": n,
                             "numberAvailable": n}


# ----- PolicyEndpoints: what the VPC CNI network policy controller derives ----------------------
def _selects(sel: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes LabelSelector semantics (None selects everything, as in the controller)."""
    if not sel:
        return True
    if any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for expr in sel.get("matchExpressions") or ():
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        matched = {"In": present and labels.get(key) in values,
                   "NotIn": not (present and labels.get(key) in values),
                   "Exists": present, "DoesNotExist": not present}[op]
        if not matched:
            return False
    return True


def _container_port(pod: _RunningPod, port: int | str, protocol: str) -> int | None:
    """A numeric port stands for itself; a named one must be declared by a container."""
    if isinstance(port, int):
        return port
    for c in pod.containers:
        for p in c.get("ports", ()):
            if p.get("name") == port and p.get("protocol", "TCP") == protocol:
                return int(p["containerPort"])
    return None


def _resolve_ports(pod: _RunningPod | None, ports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in ports:
        entry: dict[str, Any] = {"protocol": p.get("protocol", "TCP")}
        if "port" in p:
            number = (p["port"] if isinstance(p["port"], int) else None) if pod is None \
                else _container_port(pod, p["port"], entry["protocol"])
            if number is None:
                continue
            entry["port"] = number
        if "endPort" in p:
            entry["endPort"] = p["endPort"]
        if entry not in out:
            out.append(entry)
    return out


def _service_port_aliases(sp: dict[str, Any], backing: _RunningPod | None) -> set[Any]:
    """Numbers and names by which a policy port can refer to a Service port."""
    aliases = {sp["port"], sp["targetPort"], sp.get("name")}
    if isinstance(sp["targetPort"], str) and backing is not None:  # a named targetPort
        aliases.add(_container_port(backing, sp["targetPort"], sp["protocol"]))
    return aliases - {None}


def _policy_endpoints(d: _Demo) -> list[dict[str, Any]]:
    """One PolicyEndpoint per NetworkPolicy, its peers resolved to pod, Service and CIDR addresses.

    Emulates the EKS network policy controller: a rule without peers allows 0.0.0.0/0 and ::/0;
    pod peers become pod IPs (egress also adds the ClusterIPs of matching Services); named
    ports resolve against the pods' container ports, and a peer whose ports cannot be resolved
    is left out.
    """
    ns_labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in d.objects["namespaces"]}
    services: dict[str, list[dict[str, Any]]] = {}
    for svc in d.objects["services"]:
        services.setdefault(svc["metadata"]["namespace"], []).append(svc)
    memo: dict[tuple[str, bytes], list[_RunningPod]] = {}

    def matching(ns: str, sel: dict[str, Any] | None) -> list[_RunningPod]:
        """Pods of a namespace a selector picks (memoised; pods of a group share labels)."""
        key = (ns, orjson.dumps(sel, option=orjson.OPT_SORT_KEYS))
        if key not in memo:
            verdicts: dict[int, bool] = {}
            picked = []
            for pod in d.running.get(ns, ()):
                ok = verdicts.get(id(pod.labels))
                if ok is None:
                    ok = verdicts[id(pod.labels)] = _selects(sel, pod.labels)
                if ok:
                    picked.append(pod)
            memo[key] = picked
        return memo[key]

    ns_memo: dict[bytes, list[str]] = {}

    def namespaces_of(sel: dict[str, Any]) -> list[str]:
        key = orjson.dumps(sel, option=orjson.OPT_SORT_KEYS)
        if key not in ns_memo:
            ns_memo[key] = [n for n, lab in ns_labels.items() if _selects(sel, lab)]
        return ns_memo[key]

    def peers(policy_ns: str, rule_peers: list[dict[str, Any]] | None,
              ports: list[dict[str, Any]], targets: list[_RunningPod],
              egress: bool) -> list[dict[str, Any]]:
        if rule_peers is None:
            cidr_ports = _resolve_ports(None, ports)
            if ports and not cidr_ports:
                return []
            return [{"cidr": c, **({"ports": cidr_ports} if cidr_ports else {})}
                    for c in ("0.0.0.0/0", "::/0")]
        out: list[dict[str, Any]] = []
        target_ports = [e for t in targets for e in _resolve_ports(t, ports)]
        target_ports = [e for i, e in enumerate(target_ports) if e not in target_ports[:i]]
        for peer in rule_peers:
            if "ipBlock" in peer:
                cidr_ports = _resolve_ports(None, ports)
                if ports and not cidr_ports:
                    continue
                entry: dict[str, Any] = {"cidr": peer["ipBlock"]["cidr"]}
                if peer["ipBlock"].get("except"):
                    entry["except"] = peer["ipBlock"]["except"]
                if cidr_ports:
                    entry["ports"] = cidr_ports
                out.append(entry)
                continue
            namespaces = (namespaces_of(peer["namespaceSelector"])
                          if "namespaceSelector" in peer else [policy_ns])
            for ns in namespaces:
                for pod in matching(ns, peer.get("podSelector")):
                    own = _resolve_ports(pod, ports)
                    if ports and not own:
                        continue
                    applied = own if egress else target_ports
                    out.append({"cidr": pod.pod_ip, **({"ports": applied} if applied else {})})
                if not egress:
                    continue
                for svc in services.get(ns, ()):
                    spec = svc["spec"]
                    if spec.get("clusterIP") in (None, "None") or not _selects(
                            peer.get("podSelector"), spec.get("selector") or {}):
                        continue
                    backing = next(iter(matching(ns, {"matchLabels": spec.get("selector")})),
                                   None)
                    svc_ports = []
                    for p in ports:
                        protocol = p.get("protocol", "TCP")
                        match = next((sp for sp in spec["ports"] if sp["protocol"] == protocol
                                      and p.get("port") in _service_port_aliases(sp, backing)),
                                     None)
                        if match is not None or "port" not in p:
                            entry = {"protocol": p.get("protocol", "TCP")}
                            if match is not None:
                                entry["port"] = match["port"]
                            svc_ports.append(entry)
                    if ports and not svc_ports:
                        continue
                    out.append({"cidr": spec["clusterIP"],
                                **({"ports": svc_ports} if svc_ports else {})})
        return out

    items = []
    for np_ in d.objects["networkpolicies.networking.k8s.io"]:
        ns, name = np_["metadata"]["namespace"], np_["metadata"]["name"]
        spec = np_["spec"]
        targets = matching(ns, spec["podSelector"])
        pe_spec: dict[str, Any] = {"podSelector": spec["podSelector"]}
        if targets:
            pe_spec["podSelectorEndpoints"] = [
                {"hostIP": p.host_ip, "podIP": p.pod_ip, "name": p.name, "namespace": ns}
                for p in targets]
        pe_spec["policyRef"] = {"name": name, "namespace": ns}
        pe_spec["podIsolation"] = spec["policyTypes"]
        for direction, peer_key in (("ingress", "from"), ("egress", "to")):
            resolved = [e for rule in spec.get(direction, ())
                        for e in peers(ns, rule.get(peer_key), rule.get("ports", []), targets,
                                       direction == "egress")]
            if resolved:
                pe_spec[direction] = resolved
        created = datetime.fromisoformat(np_["metadata"]["creationTimestamp"].replace(
            "Z", "+00:00")) + timedelta(seconds=2)
        pe_name = f"{name}-{_suffix(5, ns, name, 'policyendpoint')}"
        items.append({
            "apiVersion": "networking.k8s.aws/v1alpha1", "kind": "PolicyEndpoint",
            "metadata": meta("PolicyEndpoint", pe_name, ns, created=created, rv=d.clock.next(),
                             generate_name=f"{name}-", generation=1,
                             owner=("NetworkPolicy", np_)),
            "spec": pe_spec,
        })
    return items


# ----- AWS: IAM ---------------------------------------------------------------------------------
def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions: str | list[str], resource: str | list[str] = "*",
           sid: str | None = None, **condition: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"Sid": sid} if sid else {}
    s.update(Effect="Allow", Action=actions, Resource=resource)
    if condition:
        s["Condition"] = condition
    return s


def _irsa_trust(namespace: str, sa: str, *, wildcard: bool = False) -> dict[str, Any]:
    federated = {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_HOST}"}
    if wildcard:  # the finding: any service account of the namespace may assume the role
        condition = {"StringLike": {f"{OIDC_HOST}:sub": f"system:serviceaccount:{namespace}:*"}}
    else:
        condition = {"StringEquals": {f"{OIDC_HOST}:sub": f"system:serviceaccount:{namespace}:{sa}",
                                      f"{OIDC_HOST}:aud": "sts.amazonaws.com"}}
    return _doc({"Effect": "Allow", "Principal": federated,
                 "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition})


_EC2_TRUST = _doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                   "Action": "sts:AssumeRole"})
_POD_IDENTITY_TRUST = _doc({"Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow",
                            "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": ["sts:AssumeRole", "sts:TagSession"],
                            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})


@dataclass(frozen=True)
class _Policy:
    name: str
    document: dict[str, Any]
    aws_managed: bool = True
    version: str = "v1"
    days: int = 900

    @property
    def arn(self) -> str:
        owner = "aws" if self.aws_managed else ACCOUNT
        path = "service-role/" if self.name == "AmazonEBSCSIDriverPolicy" else ""
        return f"arn:aws:iam::{owner}:policy/{path}{self.name}"


MANAGED_POLICIES = {p.name: p for p in (
    _Policy("AmazonEKSWorkerNodePolicy", _doc(_allow([
        "ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVolumes",
        "ec2:DescribeVolumesModifications", "ec2:DescribeVpcs", "eks:DescribeCluster",
        "eks-auth:AssumeRoleForPodIdentity"], sid="WorkerNodePermissions")), version="v3",
        days=2600),
    _Policy("AmazonEC2ContainerRegistryReadOnly", _doc(_allow([
        "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer", "ecr:GetRepositoryPolicy", "ecr:DescribeRepositories",
        "ecr:ListImages", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview", "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings"])), version="v3", days=3300),
    _Policy("AmazonSSMManagedInstanceCore", _doc(
        _allow(["ssm:DescribeAssociation", "ssm:GetDeployablePatchSnapshotForInstance",
                "ssm:GetDocument", "ssm:DescribeDocument", "ssm:GetManifest", "ssm:GetParameter",
                "ssm:GetParameters", "ssm:ListAssociations", "ssm:ListInstanceAssociations",
                "ssm:PutInventory", "ssm:PutComplianceItems", "ssm:PutConfigurePackageResult",
                "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus",
                "ssm:UpdateInstanceInformation"]),
        _allow(["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]),
        _allow(["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage",
                "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages",
                "ec2messages:SendReply"])), version="v2", days=2300),
    _Policy("AmazonEKS_CNI_Policy", _doc(
        _allow(["ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface",
                "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                "ec2:DescribeInstances", "ec2:DescribeTags", "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeInstanceTypes", "ec2:DescribeSubnets", "ec2:DetachNetworkInterface",
                "ec2:ModifyNetworkInterfaceAttribute", "ec2:UnassignPrivateIpAddresses"],
               sid="AmazonEKSCNIPolicy"),
        _allow(["ec2:CreateTags"], ["arn:aws:ec2:*:*:network-interface/*"],
               sid="AmazonEKSCNIPolicyENITag")), version="v7", days=2600),
    _Policy("AmazonS3FullAccess", _doc(_allow(["s3:*", "s3-object-lambda:*"])), version="v2",
            days=3600),
    _Policy("AmazonEBSCSIDriverPolicy", _doc(
        _allow(["ec2:CreateSnapshot", "ec2:AttachVolume", "ec2:DetachVolume", "ec2:ModifyVolume",
                "ec2:DescribeAvailabilityZones", "ec2:DescribeInstances", "ec2:DescribeSnapshots",
                "ec2:DescribeTags", "ec2:DescribeVolumes", "ec2:DescribeVolumesModifications"]),
        _allow(["ec2:CreateTags"], ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:snapshot/*"],
               StringEquals={"ec2:CreateAction": ["CreateVolume", "CreateSnapshot"]}),
        _allow(["ec2:CreateVolume"], "*",
               StringLike={"aws:RequestTag/ebs.csi.aws.com/cluster": "true"}),
        _allow(["ec2:DeleteVolume"], "*",
               StringLike={"ec2:ResourceTag/ebs.csi.aws.com/cluster": "true"})),
        version="v2", days=1300),
    _Policy("AWSLoadBalancerControllerIAMPolicy", _doc(
        _allow(["iam:CreateServiceLinkedRole"], "*", StringEquals={
            "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}),
        _allow(["ec2:DescribeAccountAttributes", "ec2:DescribeAddresses",
                "ec2:DescribeAvailabilityZones", "ec2:DescribeInternetGateways",
                "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth", "acm:ListCertificates",
                "acm:DescribeCertificate"]),
        _allow(["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                "ec2:CreateSecurityGroup"]),
        _allow(["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:AddTags"], "*",
               Null={"aws:RequestTag/elbv2.k8s.aws/cluster": "false"})),
        aws_managed=False, version="v2", days=590),
    _Policy("acme-storefront-orders-data", _doc(
        _allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
               [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/acme-orders",
                f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/acme-orders/index/*"]),
        _allow(["secretsmanager:GetSecretValue"], _secret_arn("acme/storefront/orders-db"))),
        aws_managed=False, version="v3", days=460),
)}


@dataclass(frozen=True)
class _Role:
    name: str
    trust: dict[str, Any]
    attached: tuple[str, ...] = ()
    inline: tuple[tuple[str, dict[str, Any]], ...] = ()
    description: str = ""
    days: int = 500


def _roles() -> tuple[_Role, ...]:
    gateway_secret = _secret_arn("acme/payments/gateway-api-key")
    return (
        _Role("acme-shop-prod-general-node", _EC2_TRUST,
              ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly",
               "AmazonSSMManagedInstanceCore"), days=980),
        _Role("acme-shop-prod-gpu-node", _EC2_TRUST,
              ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly",
               "AmazonEKS_CNI_Policy", "AmazonS3FullAccess"),
              description="GPU nodes; S3 access for model downloads", days=420),
        _Role("acme-shop-prod-vpc-cni", _irsa_trust("kube-system", "aws-node"),
              ("AmazonEKS_CNI_Policy",), days=980),
        _Role("acme-shop-prod-ebs-csi", _irsa_trust("kube-system", "ebs-csi-controller-sa"),
              ("AmazonEBSCSIDriverPolicy",), days=600),
        _Role("acme-shop-prod-aws-lbc", _irsa_trust("kube-system", "aws-load-balancer-controller"),
              ("AWSLoadBalancerControllerIAMPolicy",), days=590),
        _Role("acme-storefront-api", _irsa_trust("storefront", "api", wildcard=True), inline=(
            ("storefront-api-access", _doc(
                _allow("s3:*"), _allow(["iam:PassRole"]),
                _allow(["sqs:SendMessage"], f"arn:aws:sqs:{REGION}:{ACCOUNT}:acme-order-events"))),
        ), description="storefront api and catalog", days=540),
        _Role("acme-storefront-orders", _POD_IDENTITY_TRUST, ("acme-storefront-orders-data",),
              days=460),
        _Role("acme-payments-gateway", _irsa_trust("payments", "payment-gateway"), inline=(
            ("gateway-secrets", _doc(
                _allow(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                       gateway_secret),
                _allow(["kms:Decrypt"], f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{PAYMENTS_KEY_ID}",
                       StringEquals={"kms:ViaService":
                                     f"secretsmanager.{REGION}.amazonaws.com"}))),
        ), days=480),
        _Role("acme-payments-fraud-scorer", _irsa_trust("payments", "fraud-scorer"), inline=(
            ("fraud-models-read", _doc(
                _allow(["s3:GetObject"], "arn:aws:s3:::acme-payments-models/fraud/*"),
                _allow(["s3:ListBucket"], "arn:aws:s3:::acme-payments-models",
                       StringLike={"s3:prefix": ["fraud/*"]}),
                _allow(["secretsmanager:GetSecretValue"],
                       _secret_arn("acme/payments/fraud-model-token")))),
        ), days=290),
        _Role("acme-external-secrets", _irsa_trust("external-secrets", "external-secrets"),
              inline=(("read-storefront-secrets", _doc(_allow(
                  ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                  f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:acme/storefront/*"))),),
              days=370),
    )


def _iam_records() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {op: [] for op in (
        "get_role", "list_attached_role_policies", "list_role_policies", "get_role_policy",
        "get_policy", "get_policy_version")}
    used: dict[str, _Policy] = {}
    for role in _roles():
        created = NOW - timedelta(days=role.days, hours=3)
        body: dict[str, Any] = {
            "Path": "/", "RoleName": role.name,
            "RoleId": "AROA" + _hex("role", role.name, n=17).upper(),
            "Arn": _role_arn(role.name), "CreateDate": _ats(created),
            "AssumeRolePolicyDocument": role.trust,
        }
        if role.description:
            body["Description"] = role.description
        body["MaxSessionDuration"] = 3600
        body["RoleLastUsed"] = {"LastUsedDate": _ats(NOW - timedelta(minutes=int(
            _hex("used", role.name, n=3), 16) % 240)), "Region": REGION}
        out["get_role"].append({"params": {"RoleName": role.name}, "response": {"Role": body}})
        policies = [MANAGED_POLICIES[n] for n in role.attached]
        out["list_attached_role_policies"].append({
            "params": {"RoleName": role.name},
            "response": {"AttachedPolicies": [{"PolicyName": p.name, "PolicyArn": p.arn}
                                              for p in policies], "IsTruncated": False}})
        out["list_role_policies"].append({
            "params": {"RoleName": role.name},
            "response": {"PolicyNames": [n for n, _ in role.inline], "IsTruncated": False}})
        for name, document in role.inline:
            out["get_role_policy"].append({
                "params": {"RoleName": role.name, "PolicyName": name},
                "response": {"RoleName": role.name, "PolicyName": name,
                             "PolicyDocument": document}})
        for p in policies:
            used.setdefault(p.name, p)
    attachments = {name: sum(name in r.attached for r in _roles()) for name in used}
    for p in used.values():
        created = NOW - timedelta(days=p.days)
        updated = NOW - timedelta(days=p.days // 3)
        body = {"PolicyName": p.name, "PolicyId": "ANPA" + _hex("policy", p.name, n=17).upper(),
                "Arn": p.arn, "Path": "/service-role/" if "service-role" in p.arn else "/",
                "DefaultVersionId": p.version, "AttachmentCount": attachments[p.name],
                "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
                "CreateDate": _ats(created), "UpdateDate": _ats(updated)}
        out["get_policy"].append({"params": {"PolicyArn": p.arn}, "response": {"Policy": body}})
        out["get_policy_version"].append({
            "params": {"PolicyArn": p.arn, "VersionId": p.version},
            "response": {"PolicyVersion": {"Document": p.document, "VersionId": p.version,
                                           "IsDefaultVersion": True,
                                           "CreateDate": _ats(updated)}}})
    return out


# ----- AWS: EKS ---------------------------------------------------------------------------------
KMS_KEY_ID = _uid("kms", "eks-secrets")
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KMS_KEY_ID}"
PAYMENTS_KEY_ID = _uid("kms", "payments")
SUBNETS = tuple(_aws_id("subnet", az) for az in AZS)
CLUSTER_SG = _aws_id("sg", "cluster")
CONTROL_PLANE_SG = _aws_id("sg", "control-plane")
REMOTE_ACCESS_SG = _aws_id("sg", "remote-access-gpu")
NODEGROUP_ROLES = {"general": "acme-shop-prod-general-node", "gpu": "acme-shop-prod-gpu-node"}
LAUNCH_TEMPLATE = ("lt-0" + _hex("lt", "general", n=16), "acme-shop-prod-general", "3")


def _eks_records(d: _Demo) -> dict[str, list[dict[str, Any]]]:
    name = {"name": CLUSTER}
    cn = {"clusterName": CLUSTER}
    cluster = {
        "name": CLUSTER, "arn": CLUSTER_ARN, "createdAt": _ats(CLUSTER_CREATED),
        "version": K8S_VERSION,
        "endpoint": f"https://{OIDC_ID}.gr7.{REGION}.eks.amazonaws.com",
        "roleArn": _role_arn("acme-shop-prod-cluster"),
        "resourcesVpcConfig": {
            "subnetIds": list(SUBNETS), "securityGroupIds": [CONTROL_PLANE_SG],
            "clusterSecurityGroupId": CLUSTER_SG, "vpcId": VPC_ID,
            "endpointPublicAccess": True, "endpointPrivateAccess": True,
            "publicAccessCidrs": ["0.0.0.0/0"]},
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4",
                                    "elasticLoadBalancing": {"enabled": False}},
        "logging": {"clusterLogging": [
            {"types": ["api", "audit"], "enabled": True},
            {"types": ["authenticator", "controllerManager", "scheduler"], "enabled": False}]},
        "identity": {"oidc": {"issuer": OIDC_ISSUER}},
        "status": "ACTIVE",
        "certificateAuthority": {"data": base64.b64encode(_FAKE_CA.encode()).decode()},
        "platformVersion": "eks.23",
        "tags": {"Environment": "prod", "Owner": "platform", "GuardDutyManaged": "false"},
        "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": KMS_KEY_ARN}}],
        "health": {"issues": []},
        "accessConfig": {"bootstrapClusterCreatorAdminPermissions": True,
                         "authenticationMode": "API_AND_CONFIG_MAP"},
        "upgradePolicy": {"supportType": "EXTENDED"},
        "zonalShiftConfig": {"enabled": False},
    }
    counts = {p.name: sum(1 for n in d.nodes if n.pool == p.name) for p in POOLS}
    nodegroups = []
    for pool in POOLS:
        created = CLUSTER_CREATED + timedelta(days=2 if pool.name == "general" else 480)
        ng: dict[str, Any] = {
            "nodegroupName": pool.name,
            "nodegroupArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/{CLUSTER}/{pool.name}/"
                            f"{_uid('ng', pool.name)}",
            "clusterName": CLUSTER, "version": K8S_VERSION,
            "releaseVersion": "1.30.6-20241109", "createdAt": _ats(created),
            "modifiedAt": _ats(NOW - timedelta(days=pool.node_days)), "status": "ACTIVE",
            "capacityType": "ON_DEMAND",
            "scalingConfig": {"minSize": counts[pool.name], "maxSize": counts[pool.name] * 2,
                              "desiredSize": counts[pool.name]},
            "instanceTypes": [pool.instance_type], "subnets": list(SUBNETS),
        }
        if pool.name == "gpu":  # SSH without source groups: EKS opens 22 to the world
            ng["remoteAccess"] = {"ec2SshKey": "acme-ops"}
        ng.update(amiType=pool.ami_type, nodeRole=_role_arn(NODEGROUP_ROLES[pool.name]),
                  labels=dict(pool.labels))
        if pool.taints:
            ng["taints"] = [{"key": t["key"], "value": t["value"], "effect": "NO_SCHEDULE"}
                            for t in pool.taints]
        resources_: dict[str, Any] = {"autoScalingGroups": [
            {"name": f"eks-{pool.name}-{_uid('asg', pool.name)}"}]}
        if pool.name == "gpu":
            resources_["remoteAccessSecurityGroup"] = REMOTE_ACCESS_SG
        ng["resources"] = resources_
        if pool.name == "gpu":
            ng["diskSize"] = 100
        ng.update(health={"issues": []}, updateConfig={"maxUnavailable": 1})
        if pool.name == "general":
            lt_id, lt_name, lt_version = LAUNCH_TEMPLATE
            ng["launchTemplate"] = {"name": lt_name, "version": lt_version, "id": lt_id}
        ng["tags"] = {"Environment": "prod"}
        nodegroups.append(ng)

    addons = [
        ("vpc-cni", "v1.19.0-eksbuild.1", _role_arn("acme-shop-prod-vpc-cni"),
         '{"enableNetworkPolicy":"true"}'),
        ("coredns", "v1.11.3-eksbuild.2", None, None),
        ("kube-proxy", "v1.30.6-eksbuild.3", None, None),
        ("aws-ebs-csi-driver", "v1.37.0-eksbuild.1", _role_arn("acme-shop-prod-ebs-csi"), None),
        ("eks-pod-identity-agent", "v1.3.4-eksbuild.1", None, None),
    ]
    addon_records = []
    for i, (addon, version, role, config) in enumerate(addons):
        body: dict[str, Any] = {
            "addonName": addon, "clusterName": CLUSTER, "status": "ACTIVE",
            "addonVersion": version, "health": {"issues": []},
            "addonArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:addon/{CLUSTER}/{addon}/"
                        f"{_uid('addon', addon)}",
            "createdAt": _ats(CLUSTER_CREATED + timedelta(days=1 + 60 * (i == 4))),
            "modifiedAt": _ats(NOW - timedelta(days=40 + i)),
        }
        if role:
            body["serviceAccountRoleArn"] = role
        body["tags"] = {}
        if config:
            body["configurationValues"] = config
        addon_records.append({"params": {**cn, "addonName": addon},
                              "response": {"addon": body}})

    entries = [  # principal, type, username, groups, policies (arn suffix, scope, namespaces)
        (_role_arn("acme-shop-prod-general-node"), "EC2_LINUX",
         "system:node:{{EC2PrivateDNSName}}", ["system:nodes"], []),
        (_role_arn("acme-shop-prod-gpu-node"), "EC2_LINUX",
         "system:node:{{EC2PrivateDNSName}}", ["system:nodes"], []),
        (f"arn:aws:iam::{ACCOUNT}:user/ops-admin", "STANDARD",
         f"arn:aws:iam::{ACCOUNT}:user/ops-admin", [],
         [("AmazonEKSClusterAdminPolicy", "cluster", [])]),
        (_role_arn("acme-developers"), "STANDARD",
         f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-developers/{{{{SessionName}}}}", [],
         [("AmazonEKSViewPolicy", "namespace", ["storefront", "payments"])]),
        (_role_arn("acme-oncall"), "STANDARD",
         f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-oncall/{{{{SessionName}}}}",
         ["acme:oncall"], []),
        (_role_arn("acme-terraform"), "STANDARD",
         f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-terraform/{{{{SessionName}}}}", [],
         [("AmazonEKSClusterAdminPolicy", "cluster", [])]),
    ]
    describe_entries, associated = [], []
    for i, (principal, type_, username, groups, policies) in enumerate(entries):
        created = CLUSTER_CREATED if "terraform" in principal else NOW - timedelta(
            days=200 - 20 * i)
        describe_entries.append({"params": {**cn, "principalArn": principal}, "response": {
            "accessEntry": {
                "clusterName": CLUSTER, "principalArn": principal, "kubernetesGroups": groups,
                "accessEntryArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/{CLUSTER}/"
                                  f"{'role' if ':role/' in principal else 'user'}/{ACCOUNT}/"
                                  f"{principal.rsplit('/', 1)[1]}/{_uid('ae', principal)}",
                "createdAt": _ats(created), "modifiedAt": _ats(created), "tags": {},
                "username": username, "type": type_}}})
        associated.append({"params": {**cn, "principalArn": principal}, "response": {
            "clusterName": CLUSTER, "principalArn": principal,
            "associatedAccessPolicies": [
                {"policyArn": f"arn:aws:eks::aws:cluster-access-policy/{policy}",
                 "accessScope": {"type": scope, "namespaces": namespaces},
                 "associatedAt": _ats(created), "modifiedAt": _ats(created)}
                for policy, scope, namespaces in policies]}})
    assoc_id = "a-" + _hex("pia", "orders", n=17)
    assoc_arn = f"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{CLUSTER}/{assoc_id}"
    return {
        "describe_cluster": [{"params": name, "response": {"cluster": cluster}}],
        "list_nodegroups": [{"params": cn, "response": {"nodegroups": [p.name for p in POOLS]}}],
        "describe_nodegroup": [{"params": {**cn, "nodegroupName": ng["nodegroupName"]},
                                "response": {"nodegroup": ng}} for ng in nodegroups],
        "list_addons": [{"params": cn, "response": {"addons": [a[0] for a in addons]}}],
        "describe_addon": addon_records,
        "list_access_entries": [{"params": cn, "response": {
            "accessEntries": [e[0] for e in entries]}}],
        "describe_access_entry": describe_entries,
        "list_associated_access_policies": associated,
        "list_pod_identity_associations": [{"params": cn, "response": {"associations": [{
            "clusterName": CLUSTER, "namespace": "storefront", "serviceAccount": "orders",
            "associationArn": assoc_arn, "associationId": assoc_id}]}}],
        "describe_pod_identity_association": [{
            "params": {**cn, "associationId": assoc_id}, "response": {"association": {
                "clusterName": CLUSTER, "namespace": "storefront", "serviceAccount": "orders",
                "roleArn": _role_arn("acme-storefront-orders"), "associationArn": assoc_arn,
                "associationId": assoc_id, "tags": {},
                "createdAt": _ats(NOW - timedelta(days=460)),
                "modifiedAt": _ats(NOW - timedelta(days=460)),
                "disableSessionTags": False}}}],
    }


# ----- AWS: EC2 ---------------------------------------------------------------------------------
def _ip_permission(protocol: str, from_port: int | None, to_port: int | None, *,
                   cidr: str | None = None, group: str | None = None,
                   description: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"IpProtocol": protocol}
    if from_port is not None:
        p["FromPort"], p["ToPort"] = from_port, to_port
    ranges = [{"CidrIp": cidr, **({"Description": description} if description else {})}] \
        if cidr else []
    p.update(UserIdGroupPairs=[{"UserId": ACCOUNT, "GroupId": group}] if group else [],
             IpRanges=ranges, Ipv6Ranges=[], PrefixListIds=[])
    return p


def _ec2_records(d: _Demo) -> dict[str, list[dict[str, Any]]]:
    egress = [_ip_permission("-1", None, None, cidr="0.0.0.0/0")]
    groups = [
        (CLUSTER_SG, f"eks-cluster-sg-{CLUSTER}-1843278263",
         "EKS created security group applied to ENI that is attached to EKS Control Plane master "
         "nodes, as well as any managed workloads.",
         [_ip_permission("-1", None, None, group=CLUSTER_SG)],
         {"aws:eks:cluster-name": CLUSTER, "kubernetes.io/cluster/" + CLUSTER: "owned"}),
        (CONTROL_PLANE_SG, f"{CLUSTER}-control-plane", "Additional control plane access",
         [_ip_permission("tcp", 443, 443, cidr=VPC_CIDR, description="VPC to API server")],
         {"Name": f"{CLUSTER}-control-plane"}),
        (REMOTE_ACCESS_SG, f"eks-remoteAccess-{_uid('ra', 'gpu')}",
         "Security group for all nodes in the nodeGroup to allow SSH access",
         [_ip_permission("tcp", 22, 22, cidr="0.0.0.0/0")],
         {"eks": "gpu", "aws:eks:cluster-name": CLUSTER}),
    ]
    sgs = [{"GroupId": gid, "IpPermissionsEgress": egress,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()], "VpcId": VPC_ID,
            "SecurityGroupArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{gid}",
            "OwnerId": ACCOUNT, "GroupName": gname, "Description": desc, "IpPermissions": perms}
           for gid, gname, desc, perms, tags in groups]
    reservations = []
    for node in d.nodes:
        general = node.pool == "general"
        launched = node.created - timedelta(seconds=50)
        tags = {"Name": f"{CLUSTER}-{node.pool}", "aws:eks:cluster-name": CLUSTER,
                "eks:cluster-name": CLUSTER, "eks:nodegroup-name": node.pool,
                f"kubernetes.io/cluster/{CLUSTER}": "owned",
                "aws:autoscaling:groupName": f"eks-{node.pool}-{_uid('asg', node.pool)}"}
        sg_ids = [CLUSTER_SG] + ([] if general else [REMOTE_ACCESS_SG])
        instance = {
            "Architecture": "x86_64",
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
                "AttachTime": _ats(launched), "DeleteOnTermination": True, "Status": "attached",
                "VolumeId": _aws_id("vol", node.name)}}],
            "ClientToken": _uid("token", node.name), "EbsOptimized": True, "EnaSupport": True,
            "Hypervisor": "xen",
            "IamInstanceProfile": {
                "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/eks-{_uid('ip', node.pool)}",
                "Id": "AIPA" + _hex("ip", node.pool, n=17).upper()},
            "ImageId": AMI[node.pool], "InstanceId": node.instance_id,
            "InstanceType": next(p.instance_type for p in POOLS if p.name == node.pool),
            "LaunchTime": _ats(launched),
            "MetadataOptions": {"State": "applied",
                                "HttpTokens": "required" if general else "optional",
                                "HttpPutResponseHopLimit": 1 if general else 2,
                                "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled",
                                "InstanceMetadataTags": "disabled"},
            "Monitoring": {"State": "disabled"},
            "Placement": {"AvailabilityZone": AZS[node.az], "GroupName": "",
                          "Tenancy": "default"},
            "PrivateDnsName": node.name, "PrivateIpAddress": node.ip, "ProductCodes": [],
            "PublicDnsName": "", "RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs",
            "SecurityGroups": [{"GroupId": g["GroupId"], "GroupName": g["GroupName"]}
                               for g in sgs if g["GroupId"] in sg_ids],
            "SourceDestCheck": True, "State": {"Code": 16, "Name": "running"},
            "StateTransitionReason": "", "SubnetId": SUBNETS[node.az],
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            "VirtualizationType": "hvm", "VpcId": VPC_ID,
            "CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 2},
            "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
            "PrivateDnsNameOptions": {"HostnameType": "ip-name",
                                      "EnableResourceNameDnsARecord": False,
                                      "EnableResourceNameDnsAAAARecord": False},
        }
        reservations.append({"ReservationId": _aws_id("r", node.instance_id), "OwnerId": ACCOUNT,
                             "RequesterId": "940372691376", "Groups": [],
                             "Instances": [instance]})
    lt_id, lt_name, lt_version = LAUNCH_TEMPLATE
    return {
        "describe_security_groups": [{
            "params": {"GroupIds": [CLUSTER_SG, CONTROL_PLANE_SG, REMOTE_ACCESS_SG]},
            "response": {"SecurityGroups": sgs}}],
        "describe_flow_logs": [{
            "params": {"Filter": [{"Name": "resource-id", "Values": [VPC_ID]}]},
            "response": {"FlowLogs": []}}],
        "describe_instances": [{
            "params": {"Filters": [{"Name": "tag:aws:eks:cluster-name", "Values": [CLUSTER]}]},
            "response": {"Reservations": reservations}}],
        "describe_launch_template_versions": [{
            "params": {"LaunchTemplateId": lt_id, "Versions": [lt_version]},
            "response": {"LaunchTemplateVersions": [{
                "LaunchTemplateId": lt_id, "LaunchTemplateName": lt_name,
                "VersionNumber": int(lt_version), "VersionDescription": "IMDSv2 only, hop 1",
                "CreateTime": _ats(NOW - timedelta(days=120)),
                "CreatedBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-terraform/terraform",
                "DefaultVersion": True,
                "LaunchTemplateData": {
                    "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
                        "Encrypted": True, "VolumeSize": 80, "VolumeType": "gp3"}}],
                    "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1,
                                        "HttpEndpoint": "enabled"}}}]}}],
    }


# ----- AWS: ECR ---------------------------------------------------------------------------------
_CVES = {  # id: (package, version, severity, cvss3, description)
    "CVE-2024-45492": ("expat", "2.6.2-r0", "CRITICAL", "9.8",
                       "nextScaffoldPart in xmlparse.c in libexpat before 2.6.3 can have an "
                       "integer overflow for m_groupSize on 32-bit platforms."),
    "CVE-2023-45853": ("zlib", "1.2.13-r1", "CRITICAL", "9.8",
                       "MiniZip in zlib through 1.3 has an integer overflow and resultant "
                       "heap-based buffer overflow in zipOpenNewFileInZip4_64."),
    "CVE-2023-44487": ("nghttp2", "1.57.0-r0", "HIGH", "7.5",
                       "The HTTP/2 protocol allows a denial of service (server resource "
                       "consumption) because request cancellation can reset many streams quickly."),
    "CVE-2024-6119": ("openssl", "3.3.1-r3", "HIGH", "7.5",
                      "Applications performing certificate name checks may attempt to read an "
                      "invalid memory address, resulting in abnormal termination."),
    "CVE-2024-6345": ("setuptools", "68.0.0", "HIGH", "8.8",
                      "A vulnerability in the package_index module of setuptools allows remote "
                      "code execution via download functions."),
    "CVE-2024-2511": ("openssl", "3.3.1-r3", "MEDIUM", "5.9",
                      "Some non-default TLS server configurations can cause unbounded memory "
                      "growth when processing TLSv1.3 sessions."),
    "CVE-2024-28182": ("nghttp2", "1.57.0-r0", "MEDIUM", "5.3",
                       "nghttp2 reads an unbounded number of HTTP/2 CONTINUATION frames."),
    "CVE-2023-42366": ("busybox", "1.36.1-r15", "MEDIUM", "5.5",
                       "A heap-buffer-overflow was discovered in BusyBox v.1.36.1 in the "
                       "next_token function at awk.c:1159."),
    "CVE-2024-0727": ("openssl", "3.0.13-1", "MEDIUM", "5.5",
                      "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash "
                      "leading to a potential denial of service attack."),
    "CVE-2024-33602": ("glibc", "2.36-9", "MEDIUM", "5.3",
                       "nscd: netgroup cache may terminate on memory allocation failure."),
    "CVE-2024-26461": ("krb5", "1.20.1-2", "LOW", "5.5",
                       "Kerberos 5 contains a memory leak vulnerability in "
                       "/krb5/src/lib/gssapi/krb5/k5sealv3.c."),
    "CVE-2023-4039": ("gcc-12", "12.2.0-14", "LOW", "4.8",
                      "A failure in the -fstack-protector feature in GCC-based toolchains that "
                      "target AArch64 allows an attacker to exploit a buffer overflow."),
}
#: (repository, version index or None for every version) -> (days since scan, CVE ids);
#: a missing entry means the image was never scanned (ScanNotFoundException)
_SCANS: dict[tuple[str, int | None], tuple[int, tuple[str, ...]]] = {
    ("storefront/frontend", 0): (9, ("CVE-2024-45492", "CVE-2023-44487", "CVE-2024-6119",
                                     "CVE-2024-2511", "CVE-2024-28182", "CVE-2023-42366")),
    ("storefront/frontend", None): (40, ("CVE-2024-45492", "CVE-2023-45853", "CVE-2023-44487",
                                         "CVE-2024-6119", "CVE-2024-2511", "CVE-2023-42366")),
    ("storefront/api", 2): (60, ("CVE-2024-6345", "CVE-2024-0727", "CVE-2024-26461")),
    ("storefront/api", None): (4, ("CVE-2024-0727", "CVE-2024-26461")),
    ("storefront/catalog", None): (45, ("CVE-2024-33602",)),
    ("storefront/orders", None): (20, ()),
    ("payments/payment-gateway", None): (12, ("CVE-2024-26461", "CVE-2023-4039")),
    ("payments/fraud-scorer", None): (6, ()),
}


#: fixed-in versions the enhanced (Inspector) findings report; None: no fix published yet
_FIXED_IN: dict[str, str | None] = {
    "CVE-2024-45492": "2.6.3-r0", "CVE-2023-45853": "1.3.1-r0", "CVE-2023-44487": "1.57.0-r1",
    "CVE-2024-6119": "3.3.2-r0", "CVE-2024-6345": "70.0.0", "CVE-2024-2511": "3.3.2-r0",
    "CVE-2024-28182": "1.61.0-r0", "CVE-2023-42366": "1.36.1-r16",
    "CVE-2024-0727": "3.0.14-1~deb12u1", "CVE-2024-33602": "2.36-9+deb12u7",
    "CVE-2024-26461": None, "CVE-2023-4039": None,
}
#: registry scanning: Amazon Inspector enhanced scanning, continuous, for the repositories the
#: platform team named when it was turned on; the repositories created or adopted since
#: (catalog, orders, old-cart, legacy/*) were never added to the rule, so nothing scans them
SCAN_RULE_FILTERS = ("storefront/frontend", "storefront/api", "payments/*")
_RESCAN_DAYS = 30  # Inspector's ECR re-scan duration (by push date)


def _enhanced_scanning(repo: str) -> bool:
    """Whether a registry rule filter matches ``repo`` (ECR WILDCARD: no ``*`` = contains)."""
    for f in SCAN_RULE_FILTERS:
        if "*" not in f and f in repo:
            return True
        if "*" in f and repo.startswith(f.split("*", 1)[0]) and repo.endswith(f.rsplit("*")[-1]):
            return True
    return False


def _vulnerability_finding(repo: str, digest: str, tags: list[str], cve: str,
                           observed: datetime, in_use: int, *, inspector: bool) -> dict[str, Any]:
    """One Inspector finding on an ECR image.

    As ``inspector2 list_findings`` gives it (``inspector``), or as an ``enhancedFindings``
    entry of ``describe_image_scan_findings``.
    """
    package, version, severity, score, description = _CVES[cve]
    fixed = _FIXED_IN.get(cve)
    alpine = "alpine" in ",".join(tags) or repo == "storefront/frontend"
    image: dict[str, Any] = {
        "registry": ACCOUNT, "repositoryName": repo, "imageHash": digest, "imageTags": tags,
        "architecture": "amd64", "platform": "ALPINE_LINUX_3_20" if alpine else "DEBIAN_12",
        "pushedAt": _ats(observed - timedelta(days=2, hours=3)),
        "lastInUseAt": _ats(NOW - timedelta(hours=1)), "inUseCount": in_use}
    resource: dict[str, Any] = {
        "type": "AWS_ECR_CONTAINER_IMAGE",
        "id": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}/{digest}",
        "details": {"awsEcrContainerImage": image}}
    package_detail: dict[str, Any] = {
        "name": package, "version": version, "packageManager": "OS",
        "fixedInVersion": fixed or "NotAvailable"}
    finding: dict[str, Any] = {
        "awsAccountId": ACCOUNT, "description": description,
        "findingArn": f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/"
                      + _hex("inspector", repo, digest, cve, n=32),
        "firstObservedAt": _ats(observed - timedelta(days=2)),
        "lastObservedAt": _ats(observed), "updatedAt": _ats(observed),
        "packageVulnerabilityDetails": {
            "vulnerabilityId": cve, "source": "NVD",
            "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{cve}", "vendorSeverity": severity,
            "cvss": [{"baseScore": float(score), "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N",
                      "source": "NVD", "version": "3.1"}],
            "referenceUrls": [f"https://security-tracker.debian.org/tracker/{cve}"],
            "vulnerablePackages": [package_detail]},
        "remediation": {"recommendation": {
            "text": f"Upgrade {package} to {fixed}" if fixed else "None Provided"}},
        "resources": [resource], "severity": severity, "status": "ACTIVE",
        "title": f"{cve} - {package}", "type": "PACKAGE_VULNERABILITY",
        "fixAvailable": "YES" if fixed else "NO", "exploitAvailable": "NO"}
    if inspector:
        resource.update(partition="aws", region=REGION)
        finding["inspectorScore"] = float(score)
    else:
        finding["score"] = float(score)
    return finding


def _running_ecr_images(d: _Demo) -> list[_Image]:
    seen: dict[str, _Image] = {}
    for g in d.groups:
        spec = g.template["spec"]
        for c in (*spec.get("initContainers", ()), *spec["containers"]):
            info = image_info(c["image"])
            if info.ecr_repo and info.digest not in seen:
                seen[info.digest] = info
    return sorted(seen.values(), key=lambda i: (i.ecr_repo or "", i.digest))


def _ecr_records(d: _Demo) -> dict[str, list[dict[str, Any]]]:
    repos, policies = [], []
    for name, repo in ECR_REPOS.items():
        repos.append({
            "repositoryArn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}",
            "registryId": ACCOUNT, "repositoryName": name, "repositoryUri": f"{ECR}/{name}",
            "createdAt": _ats(NOW - timedelta(days=repo.days, hours=5)),
            "imageTagMutability": repo.mutability,
            "imageScanningConfiguration": {"scanOnPush": repo.scan_on_push},
            "encryptionConfiguration": {"encryptionType": "AES256"}})
        policy = _REPO_POLICIES.get(name)
        params = {"repositoryName": name}
        if policy:
            policies.append({"params": params, "response": {
                "registryId": ACCOUNT, "repositoryName": name,
                "policyText": json.dumps(policy, indent=2)}})
        else:
            policies.append({"params": params, "error": {
                "code": "RepositoryPolicyNotFoundException",
                "message": f"Repository policy does not exist for the repository with name "
                           f"'{name}' in the registry with id '{ACCOUNT}'"}})
    scans, inspector = [], []
    replicas: dict[str, int] = {}
    for g in d.groups:
        spec = g.template["spec"]
        for c in (*spec.get("initContainers", ()), *spec["containers"]):
            digest = image_info(c["image"]).digest
            replicas[digest] = replicas.get(digest, 0) + g.replicas
    for info in _running_ecr_images(d):
        repo = info.ecr_repo or ""
        versions = ECR_REPOS[repo].versions
        tag = next((v for v in versions if _digest(f"{ECR}/{repo}", v) == info.digest), None)
        index = versions.index(tag) if tag in versions else None
        scan = _SCANS.get((repo, index)) or _SCANS.get((repo, None))
        params = {"repositoryName": repo, "imageId": {"imageDigest": info.digest}}
        if scan is None:
            scans.append({"params": params, "error": {
                "code": "ScanNotFoundException",
                "message": f"Image scan does not exist for the image with "
                           f"'{{imageDigest:'{info.digest}', imageTag:'null'}}' in the repository "
                           f"with name '{repo}' in the registry with id '{ACCOUNT}'"}})
            continue
        days, cves = scan
        scanned = NOW - timedelta(days=days, hours=index or 0, minutes=17)
        counts: dict[str, int] = {}
        findings = []
        image_id: dict[str, str] = {"imageDigest": info.digest}
        if tag:
            image_id["imageTag"] = tag
        if _enhanced_scanning(repo):
            # Inspector re-scans continuously until the re-scan duration (from the push) ends;
            # its findings of an expired image are closed, so list_findings no longer has them
            expired = days > _RESCAN_DAYS
            tags = [tag] if tag else []
            enhanced = [_vulnerability_finding(repo, info.digest, tags, cve, scanned,
                                               replicas.get(info.digest, 0), inspector=False)
                        for cve in cves]
            if not expired:
                # Inspector records the observation a few minutes after ECR's scan completes
                inspector += [_vulnerability_finding(
                    repo, info.digest, tags, cve, scanned + timedelta(minutes=10),
                    replicas.get(info.digest, 0), inspector=True) for cve in cves]
            for cve in cves:
                severity = _CVES[cve][2]
                counts[severity] = counts.get(severity, 0) + 1
            scans.append({"params": params, "response": {
                "registryId": ACCOUNT, "repositoryName": repo, "imageId": image_id,
                "imageScanStatus": {
                    "status": "SCAN_ELIGIBILITY_EXPIRED" if expired else "ACTIVE",
                    "description": (f"The image was pushed more than the {_RESCAN_DAYS}-day "
                                    "re-scan duration ago: Inspector no longer re-scans it."
                                    if expired else "Continuous scan is selected for image.")},
                "imageScanFindings": {"imageScanCompletedAt": _ats(scanned),
                                      "vulnerabilitySourceUpdatedAt": _ats(
                                          scanned - timedelta(hours=9)),
                                      "findingSeverityCounts": counts,
                                      "enhancedFindings": enhanced}}})
            continue
        for cve in cves:
            package, version, severity, score, description = _CVES[cve]
            counts[severity] = counts.get(severity, 0) + 1
            findings.append({
                "name": cve, "description": description,
                "uri": f"https://security-tracker.debian.org/tracker/{cve}",
                "severity": severity,
                "attributes": [{"key": "package_version", "value": version},
                               {"key": "package_name", "value": package},
                               {"key": "CVSS3_SCORE", "value": score}]})
        scans.append({"params": params, "response": {
            "registryId": ACCOUNT, "repositoryName": repo, "imageId": image_id,
            "imageScanStatus": {"status": "COMPLETE",
                                "description": "The scan was completed successfully."},
            "imageScanFindings": {"imageScanCompletedAt": _ats(scanned),
                                  "vulnerabilitySourceUpdatedAt": _ats(scanned - timedelta(
                                      hours=9)),
                                  "findingSeverityCounts": counts, "findings": findings}}})
    return {
        "get_registry_scanning_configuration": [{"params": {}, "response": {
            "registryId": ACCOUNT, "scanningConfiguration": {"scanType": "ENHANCED", "rules": [
                {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [
                    {"filter": f, "filterType": "WILDCARD"} for f in SCAN_RULE_FILTERS]}]}}}],
        "describe_repositories": [{"params": {}, "response": {"repositories": repos}}],
        "get_repository_policy": policies,
        "describe_image_scan_findings": scans,
        # one record: the collector asks for all active ECR-image findings, pages merged
        "inspector2_list_findings": [{"params": {"filterCriteria": {
            "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
            "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}]}},
            "response": {"findings": inspector}}],
    }


_PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
_REPO_POLICIES = {
    "legacy/nightly-report": _doc({"Sid": "PartnerPull", "Effect": "Allow", "Principal": "*",
                                   "Action": _PULL}),
    "payments/payment-gateway": _doc({"Sid": "DisasterRecoveryPull", "Effect": "Allow",
                                      "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                                      "Action": _PULL}),
}


# ----- AWS: secrets, logs, detection ------------------------------------------------------------
def _secrets_records() -> dict[str, dict[str, list[dict[str, Any]]]]:
    key_created = CLUSTER_CREATED - timedelta(days=1)
    kms = {
        "describe_key": [{"params": {"KeyId": KMS_KEY_ARN}, "response": {"KeyMetadata": {
            "AWSAccountId": ACCOUNT, "KeyId": KMS_KEY_ID, "Arn": KMS_KEY_ARN,
            "CreationDate": _ats(key_created), "Enabled": True,
            "Description": f"EKS secrets envelope encryption for {CLUSTER}",
            "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "Origin": "AWS_KMS",
            "KeyManager": "CUSTOMER", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
            "KeySpec": "SYMMETRIC_DEFAULT", "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            "MultiRegion": False}}}],
        "get_key_rotation_status": [{"params": {"KeyId": KMS_KEY_ARN},
                                     "response": {"KeyRotationEnabled": False,
                                                  "KeyId": KMS_KEY_ARN}}],
    }
    secrets = []
    for name, rotated_days, team, for_cluster in (
        ("acme/payments/gateway-api-key", 12, "payments", True),
        ("acme/payments/fraud-model-token", 25, "payments", True),
        ("acme/storefront/orders-db", None, "web", True),
        ("acme/marketing/newsletter-api", None, "marketing", False),
    ):
        created = NOW - timedelta(days=400 + len(name))
        entry: dict[str, Any] = {"ARN": _secret_arn(name), "Name": name,
                                 "Description": f"{team} credential"}
        if team == "payments":
            entry["KmsKeyId"] = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{PAYMENTS_KEY_ID}"
        entry["RotationEnabled"] = rotated_days is not None
        if rotated_days is not None:
            entry.update(RotationLambdaARN=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
                                           "acme-secret-rotator",
                         RotationRules={"AutomaticallyAfterDays": 30},
                         LastRotatedDate=_ats(NOW - timedelta(days=rotated_days)))
        entry["LastChangedDate"] = _ats(NOW - timedelta(days=rotated_days or 380))
        entry["LastAccessedDate"] = _ats(NOW.replace(hour=0) - timedelta(days=1))
        if rotated_days is not None:
            entry["NextRotationDate"] = _ats(NOW + timedelta(days=30 - rotated_days))
        tags = [{"Key": "team", "Value": team}]
        if for_cluster:
            tags.insert(0, {"Key": "eks-cluster", "Value": CLUSTER})
        entry["Tags"] = tags
        entry["SecretVersionsToStages"] = {_uid("version", name): ["AWSCURRENT"]}
        entry["CreatedDate"] = _ats(created)
        secrets.append(entry)
    return {"kms": kms, "secretsmanager": {"list_secrets": [{"params": {}, "response": {
        "SecretList": secrets}}]}}


AUDIT_LOG_GROUP = f"/aws/eks/{CLUSTER}/cluster"
AUDIT_QUERY = """fields @timestamp, user.username, user.groups.0, user.groups.1, verb, \
objectRef.resource, objectRef.subresource, objectRef.namespace, objectRef.name, \
responseStatus.code, sourceIPs.0 as sourceIPs, userAgent
| filter @logStream like /^kube-apiserver-audit/
| filter objectRef.subresource in ["exec", "attach", "portforward"]
    or (objectRef.resource = "configmaps" and objectRef.name = "aws-auth" \
and verb in ["update", "patch", "delete"])
    or (objectRef.resource in ["roles", "rolebindings", "clusterroles", "clusterrolebindings"] \
and verb in ["create", "update", "patch", "delete"])
    or user.username = "system:anonymous"
    or (objectRef.resource = "secrets" and (responseStatus.code >= 400 or verb = "list"))
| sort @timestamp desc
| limit 1000"""


def _audit_events(first_pods: dict[tuple[str, str], tuple[str, str]],
                  ) -> list[tuple[str, ...]]:
    """Who made what change, when: the events the demo's audit-log query returned.

    (time, user, verb, resource, subresource, namespace, name, code, source IP, user agent,
    groups joined by commas).
    """
    def pod(ns: str, owner: str) -> tuple[str, str]:
        return first_pods.get((ns, owner), (owner, "10.42.0.99"))

    api, api_ip = pod("storefront", "api")
    _, frontend_ip = pod("storefront", "frontend")
    prometheus, _ = pod("monitoring", "prometheus")
    _, runner_ip = pod("legacy-batch", "nightly-report")
    oncall = f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-oncall"
    ops_admin = f"arn:aws:iam::{ACCOUNT}:user/ops-admin"
    tor = "185.220.101.34"
    oncall_groups = "acme:oncall,system:authenticated"
    authenticated = "system:authenticated"
    platform_groups = "acme:platform-admins,system:authenticated"

    def sa_groups(ns: str) -> str:
        return f"system:serviceaccounts,system:serviceaccounts:{ns}"

    kubectl = "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46"
    return [
        ("2026-11-20 07:58:40.212", f"{oncall}/dana.k", "create", "pods", "exec",
         "legacy-batch", "debug-shell", "101", "81.2.69.160", kubectl, oncall_groups),
        ("2026-11-20 02:03:18.901", "system:serviceaccount:legacy-batch:report-runner", "list",
         "secrets", "", "", "", "200", runner_ip,
         "OpenAPI-Generator/29.0.0/python", sa_groups("legacy-batch")),
        ("2026-11-19 22:44:51.530", f"{oncall}/dana.k", "create", "pods", "exec", "storefront",
         api, "101", "81.2.69.160", kubectl, oncall_groups),
        ("2026-11-19 22:41:07.113", f"{oncall}/dana.k", "create", "pods", "exec", "storefront",
         api, "101", "81.2.69.160", kubectl, oncall_groups),
        ("2026-11-19 10:21:11.028", "system:serviceaccount:storefront:frontend", "list",
         "secrets", "", "storefront", "", "403", frontend_ip,
         "axios/1.7.7", sa_groups("storefront")),
        ("2026-11-19 10:21:09.774", "system:serviceaccount:storefront:frontend", "get",
         "secrets", "", "storefront", "orders-db", "403", frontend_ip,
         "axios/1.7.7", sa_groups("storefront")),
        ("2026-11-19 09:15:01.402", "eks:addon-manager", "patch", "clusterrolebindings", "", "",
         "aws-node", "200", "10.42.133.20",
         "eks-addon-manager/v1.31 (linux/amd64)", authenticated),
        ("2026-11-19 09:15:00.987", "eks:addon-manager", "patch", "clusterroles", "", "",
         "aws-node", "200", "10.42.133.20",
         "eks-addon-manager/v1.31 (linux/amd64)", authenticated),
        ("2026-11-18 16:06:02.345", ops_admin, "create", "rolebindings", "", "storefront",
         "oncall-debug", "201", "198.51.100.77",
         "kubectl/v1.30.4 (linux/amd64) kubernetes/a51b3b7", authenticated),
        ("2026-11-18 16:05:10.116", "jenkins", "patch", "configmaps", "", "kube-system",
         "aws-auth", "200", "34.251.12.9",
         "kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9",
         "system:masters,system:authenticated"),
        ("2026-11-18 16:02:33.640", ops_admin, "update", "configmaps", "", "kube-system",
         "aws-auth", "200", "198.51.100.77",
         "kubectl/v1.30.4 (linux/amd64) kubernetes/a51b3b7", authenticated),
        ("2026-11-18 11:00:27.518",
         "system:serviceaccount:kube-system:clusterrole-aggregation-controller", "update",
         "clusterroles", "", "", "admin", "200", "10.42.64.31",
         "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/"
         "system:serviceaccount:kube-system:clusterrole-aggregation-controller",
         sa_groups("kube-system")),
        ("2026-11-17 03:12:47.310", "system:anonymous", "list", "pods", "", "", "", "403", tor,
         "python-requests/2.31.0", "system:unauthenticated"),
        ("2026-11-17 03:12:45.902", "system:anonymous", "get", "namespaces", "", "", "", "200",
         tor, "python-requests/2.31.0", "system:unauthenticated"),
        ("2026-11-17 03:12:44.455", "system:anonymous", "list", "secrets", "", "kube-system", "",
         "403", tor, "python-requests/2.31.0", "system:unauthenticated"),
        ("2026-11-17 03:12:41.007", "system:anonymous", "get", "", "", "", "", "200", tor,
         "curl/8.4.0", "system:unauthenticated"),
        ("2026-11-16 15:10:44.880", "platform-admin:sam.r", "delete", "clusterrolebindings", "",
         "", "tmp-debug-admin", "200", "198.51.100.80",
         "kubectl/v1.31.0 (darwin/arm64) kubernetes/7c48c2b", platform_groups),
        ("2026-11-16 14:30:02.271", "platform-admin:sam.r", "create", "clusterrolebindings", "",
         "", "tmp-debug-admin", "201", "198.51.100.80",
         "kubectl/v1.31.0 (darwin/arm64) kubernetes/7c48c2b", platform_groups),
        ("2026-11-15 08:44:12.660", f"{oncall}/li.w", "create", "pods", "portforward",
         "monitoring", prometheus, "101", "81.2.69.161",
         "kubectl/v1.31.1 (windows/amd64) kubernetes/948afe5", oncall_groups),
        ("2026-11-14 19:22:03.190", "system:serviceaccount:default:ci-deployer", "get",
         "secrets", "", "storefront", "api-jwt", "403", "34.251.12.9",
         "Helm/3.15.4", sa_groups("default")),
    ]


_AUDIT_FIELDS = ("@timestamp", "user.username", "verb", "objectRef.resource",
                 "objectRef.subresource", "objectRef.namespace", "objectRef.name",
                 "responseStatus.code", "sourceIPs", "userAgent")


def _logs_records(first_pods: dict[tuple[str, str], tuple[str, str]],
                  ) -> dict[str, list[dict[str, Any]]]:
    query_id = _uid("query", CLUSTER, COLLECTED_AT)
    end = int(NOW.timestamp())
    rows = []
    for event in _audit_events(first_pods):
        *fields, groups = event
        row = [{"field": f, "value": v} for f, v in zip(_AUDIT_FIELDS, fields, strict=True) if v]
        row[2:2] = [{"field": f"user.groups.{i}", "value": g}
                    for i, g in enumerate(groups.split(",")[:2])]
        row.append({"field": "@ptr", "value": _b64("ptr", *event, size=66)})
        rows.append(row)
    return {
        "describe_log_groups": [{"params": {"logGroupNamePrefix": AUDIT_LOG_GROUP},
                                 "response": {"logGroups": [{
                                     "logGroupName": AUDIT_LOG_GROUP,
                                     "creationTime": int(CLUSTER_CREATED.timestamp() * 1000),
                                     "retentionInDays": 30, "metricFilterCount": 0,
                                     "arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
                                            f"{AUDIT_LOG_GROUP}:*",
                                     "storedBytes": 48_213_559_112, "logGroupClass": "STANDARD",
                                     "logGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
                                                    f"{AUDIT_LOG_GROUP}"}]}}],
        "start_query": [{"params": {"logGroupName": AUDIT_LOG_GROUP,
                                    "startTime": end - 7 * 86400, "endTime": end,
                                    "queryString": AUDIT_QUERY},
                         "response": {"queryId": query_id}}],
        "get_query_results": [{"params": {"queryId": query_id}, "response": {
            "results": rows,
            "statistics": {"recordsMatched": float(len(rows)), "recordsScanned": 4_812_311.0,
                           "bytesScanned": 5_120_334_981.0},
            "status": "Complete"}}],
    }


def _detection_records() -> dict[str, dict[str, list[dict[str, Any]]]]:
    detector = _hex("guardduty", ACCOUNT, REGION, n=32)
    since = _ats(NOW - timedelta(days=700))
    recent = _ats(NOW - timedelta(days=150))

    def feature(name: str, status: str = "ENABLED", *extra: tuple[str, str]) -> dict[str, Any]:
        f: dict[str, Any] = {"Name": name, "Status": status, "UpdatedAt": recent}
        if extra:
            f["AdditionalConfiguration"] = [{"Name": n, "Status": s, "UpdatedAt": recent}
                                            for n, s in extra]
        return f

    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/acme-org-audit"
    delivered = NOW - timedelta(minutes=4, seconds=31)
    return {
        "guardduty": {
            "list_detectors": [{"params": {}, "response": {"DetectorIds": [detector]}}],
            "get_detector": [{"params": {"DetectorId": detector}, "response": {
                "CreatedAt": since, "FindingPublishingFrequency": "FIFTEEN_MINUTES",
                "ServiceRole": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/"
                               "guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty",
                "Status": "ENABLED", "UpdatedAt": recent,
                "DataSources": {
                    "CloudTrail": {"Status": "ENABLED"}, "DNSLogs": {"Status": "ENABLED"},
                    "FlowLogs": {"Status": "ENABLED"}, "S3Logs": {"Status": "ENABLED"},
                    "Kubernetes": {"AuditLogs": {"Status": "ENABLED"}},
                    "MalwareProtection": {"ScanEc2InstanceWithFindings": {
                        "EbsVolumes": {"Status": "DISABLED"}},
                        "ServiceRole": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/"
                                       "malware-protection.guardduty.amazonaws.com/"
                                       "AWSServiceRoleForAmazonGuardDutyMalwareProtection"}},
                "Tags": {},
                "Features": [
                    feature("CLOUD_TRAIL"), feature("DNS_LOGS"), feature("FLOW_LOGS"),
                    feature("S3_DATA_EVENTS"), feature("EKS_AUDIT_LOGS"),
                    feature("EBS_MALWARE_PROTECTION", "DISABLED"),
                    feature("RDS_LOGIN_EVENTS", "DISABLED"),
                    feature("RUNTIME_MONITORING", "ENABLED",
                            ("EKS_ADDON_MANAGEMENT", "ENABLED"),
                            ("ECS_FARGATE_AGENT_MANAGEMENT", "DISABLED"),
                            ("EC2_AGENT_MANAGEMENT", "DISABLED")),
                    feature("LAMBDA_NETWORK_LOGS", "DISABLED")]}}],
        },
        "cloudtrail": {
            "describe_trails": [{"params": {}, "response": {"trailList": [{
                "Name": "acme-org-audit", "S3BucketName": "acme-cloudtrail-logs-111122223333",
                "IncludeGlobalServiceEvents": True, "IsMultiRegionTrail": True,
                "HomeRegion": REGION, "TrailARN": trail_arn, "LogFileValidationEnabled": True,
                "CloudWatchLogsLogGroupArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
                                             "aws-cloudtrail-logs:*",
                "CloudWatchLogsRoleArn": _role_arn("cloudtrail-to-cloudwatch"),
                "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{_uid('kms', 'trail')}",
                "HasCustomEventSelectors": False, "HasInsightSelectors": False,
                "IsOrganizationTrail": False}]}}],
            "get_trail_status": [{"params": {"Name": trail_arn}, "response": {
                "IsLogging": True, "LatestDeliveryTime": _ats(delivered),
                "StartLoggingTime": _ats(NOW - timedelta(days=1200)),
                "LatestDigestDeliveryTime": _ats(delivered - timedelta(minutes=20)),
                "LatestDeliveryAttemptTime": _kts(delivered),
                "LatestNotificationAttemptTime": "", "LatestNotificationAttemptSucceeded": "",
                "LatestDeliveryAttemptSucceeded": _kts(delivered),
                "TimeLoggingStarted": _kts(NOW - timedelta(days=1200)),
                "TimeLoggingStopped": ""}}],
        },
        "sts": {"get_caller_identity": [{"params": {}, "response": {
            "UserId": "AROA" + _hex("role", "zt-assessor", n=17).upper() + ":zt-assessment",
            "Account": ACCOUNT,
            "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/zt-assessor-readonly/zt-assessment"}}]},
    }


# ----- scale: tenant clones ---------------------------------------------------------------------
def _scale(pods: int) -> int:
    """Replica multiplier for tenant clones: grows slowly so namespaces stay plausible."""
    return max(1, min(10, round(math.sqrt(pods / 500))))


def _add_tenants(d: _Demo, target: int) -> None:
    """Clone storefront / payments / legacy-batch namespaces until about ``target`` pods."""
    scale = _scale(target)
    patterns = ("storefront", "storefront", "payments", "storefront", "legacy-batch")
    tally = _Tally()
    tally.update(d.groups)
    i = 0
    while tally.pods() < target:
        pattern = patterns[i % len(patterns)]
        ns = f"{pattern}-{i + 1:04d}"
        versions = {name: d.rng.choice(repo.versions)
                    for name, repo in ECR_REPOS.items() if repo.versions}
        if pattern == "storefront":
            _storefront(d, ns, scale=scale, clone=True, versions=versions)
        elif pattern == "payments":
            _payments(d, ns, scale=scale, clone=True, versions=versions)
        else:
            _legacy_batch(d, ns, clone=True)
        tally.update(d.groups)
        i += 1
    # trim the last storefront clone's frontend so the total lands on the target
    last = next((g for g in reversed(d.groups) if g.owner_kind == "ReplicaSet"
                 and g.namespace.startswith("storefront-") and g.name.startswith("frontend-")),
                None)
    while tally.pods() > target and last is not None and last.replicas > 1:
        _set_replicas(last, last.replicas - 1)
        tally.workload[_pools(last)[0].name] -= 1


def _set_replicas(g: _PodGroup, n: int) -> None:
    """Change a ReplicaSet's replicas (and its Deployment's) before anything is written."""
    g.replicas = n
    rs = g.owner or {}
    rs["spec"]["replicas"] = n
    rs["status"].update(replicas=n, fullyLabeledReplicas=n, readyReplicas=n, availableReplicas=n)
    rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = str(n)


# ----- writing ----------------------------------------------------------------------------------
def _plan(pods: int | None, seed: int) -> _Demo:
    d = _Demo(random.Random(seed))
    _default_namespaces(d)
    _kube_system(d)
    _storefront(d, "storefront")
    _payments(d, "payments")
    _legacy_batch(d, "legacy-batch")
    _monitoring(d)
    _kyverno(d)
    _external_secrets(d)
    _rbac(d)
    _admission(d)
    _crds(d)
    _storage(d)
    for g in d.groups:  # a little realism: some containers restarted once
        if g.namespace == "storefront" and g.name.startswith("catalog-"):
            g.restarts = 1
    if pods:
        _add_tenants(d, pods)
        _sync_deployments(d)
    return d


def _sync_deployments(d: _Demo) -> None:
    """After trimming, Deployments follow their current ReplicaSet's replica count."""
    by_uid = {dep["metadata"]["uid"]: dep for dep in d.objects["deployments.apps"]}
    for g in d.groups:
        if g.owner_kind != "ReplicaSet" or g.owner is None:
            continue
        dep = by_uid.get(g.owner["metadata"]["ownerReferences"][0]["uid"])
        if dep and dep["spec"]["replicas"] != g.replicas:
            n = g.replicas
            dep["spec"]["replicas"] = n
            dep["status"].update(replicas=n, updatedReplicas=n, readyReplicas=n,
                                 availableReplicas=n)


_NOT_INSTALLED = "the CustomResourceDefinition is not installed in this cluster"


def build_demo(out: Path | str, *, pods: int | None = None, seed: int = 7) -> Path:
    """Write the Acme Shop demo snapshot to ``out`` (a new directory) and return its path.

    Parameters
    ----------
    out
        Where the snapshot directory goes; it must not exist yet.
    pods
        ``None`` for the hand-made cluster (about 60 pods). A number grows the same cluster with
        tenant namespaces, replicas and nodes to about that many pods (for benchmarks; pods are
        streamed to disk page by page, 50,000 take seconds). A number below the hand-made
        cluster's size gives the hand-made cluster.
    seed
        Seeds the jitter (timestamps, clone image versions); the same seed and ``pods`` give
        byte-identical files.

    Examples
    --------
    >>> from zt_toolkit.demo import build_demo
    >>> from zt_toolkit.snapshot import Snapshot
    >>> path = build_demo(tmp / "demo")                                   # doctest: +SKIP
    >>> Snapshot.load(path).cluster.name                                  # doctest: +SKIP
    'acme-shop-prod'
    """
    d = _plan(pods, seed)
    ips = _IpPool()
    _plan_nodes(d, ips)
    _finish_daemon_sets(d)
    installed = {c["metadata"]["name"]
                 for c in d.objects["customresourcedefinitions.apiextensions.k8s.io"]}
    writer = SnapshotWriter(out, source="demo", cluster=dict(DEMO_CLUSTER),
                            collected_at=COLLECTED_AT)
    try:
        first_pods: dict[tuple[str, str], tuple[str, str]] = {}
        with writer.k8s_list("pods", kind="PodList") as lw:
            page: list[dict[str, Any]] = []
            for pod in _iter_pods(d, ips, first_pods):
                page.append(pod)
                if len(page) == 500:
                    lw.add(page)
                    page = []
            lw.add(page)
        d.objects["nodes"] = [_node_object(d, n) for n in d.nodes]
        d.objects["policyendpoints.networking.k8s.aws"] = _policy_endpoints(d)
        for res in KUBE_RESOURCES:
            if res.key == "pods":
                continue
            if res.optional and res.key not in installed:
                writer.record_gap(f"k8s/{res.key}", "not_found", _NOT_INSTALLED)
            elif res.key == "secrets":
                writer.write_k8s(res.key, d.objects[res.key], kind="PartialObjectMetadataList",
                                 api_version="meta.k8s.io/v1")
            else:
                writer.write_k8s(res.key, d.objects[res.key], kind=res.list_kind,
                                 api_version=res.api_version)
        for service, records in _aws_records(d, first_pods).items():
            for operation, recs in records.items():
                writer.write_aws(service, operation, recs)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def _aws_records(d: _Demo, first_pods: dict[tuple[str, str], tuple[str, str]],
                 ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = {
        "eks": _eks_records(d), "iam": _iam_records(), "ec2": _ec2_records(d),
        "ecr": _ecr_records(d), "logs": _logs_records(first_pods)}
    out["inspector2"] = {"list_findings": out["ecr"].pop("inspector2_list_findings")}
    out.update(_secrets_records())
    out.update(_detection_records())
    expected = {(op.service, op.operation) for op in AWS_OPERATIONS}
    written = {(s, o) for s, ops in out.items() for o in ops}
    missing = expected - written
    if missing:  # a catalogue change the demo has not caught up with
        raise RuntimeError(f"demo writes no records for {sorted(missing)}")
    return out
