"""Audit frames and the helpers the audit checks and the audit view share."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from zt_toolkit.frames import Frames
from zt_toolkit.frames.audit import (
    NO_POD,
    baseline_mask,
    dedupe_events,
    sensor_gap,
    suspicious_masks,
)
from zt_toolkit.snapshot import Snapshot

ACCT = "111122223333"


@pytest.fixture(scope="module")
def demo_frames(demo_snapshot) -> Frames:
    return Frames(Snapshot.load(demo_snapshot))


def test_demo_audit_events_carry_groups_and_user_agent(demo_frames):
    ev = demo_frames.audit_events
    jenkins = ev[ev.user == "jenkins"].iloc[0]
    assert jenkins["groups"] == ("system:masters", "system:authenticated")
    assert jenkins["user_agent"] == "kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9"
    assert jenkins["source_ips"] == ("34.251.12.9",)
    assert (jenkins["namespace"], jenkins["name"], jenkins["verb"]) == (
        "kube-system", "aws-auth", "patch")
    anon = ev[ev.user == "system:anonymous"]
    assert set(anon["groups"]) == {("system:unauthenticated",)}
    assert set(anon["user_agent"]) == {"python-requests/2.31.0", "curl/8.4.0"}


def _events(*rows: dict) -> pd.DataFrame:
    base = {"timestamp": "2026-11-02 08:00:00.000", "audit_id": None, "stage": None,
            "user": None, "groups": (), "verb": None, "api_group": None, "resource": None,
            "subresource": None, "namespace": None, "name": None, "response_code": None,
            "request_uri": None, "source_ips": ()}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_suspicious_masks_per_event():
    ev = _events(
        {"user": "ann", "verb": "create", "resource": "pods", "subresource": "exec"},
        {"user": "ann", "verb": "create", "resource": "pods", "subresource": "portforward"},
        {"user": "eks:addon-manager", "verb": "patch", "resource": "clusterroles"},
        {"user": "bob", "verb": "patch", "resource": "clusterroles",
         "api_group": "example.com"},  # not RBAC: another API group's "clusterroles"
        {"user": "system:anonymous", "verb": "get", "request_uri": "/version?timeout=32s"},
        {"user": "x", "groups": ("system:unauthenticated",), "verb": "get",
         "resource": "secrets", "response_code": 403},
    )
    masks = suspicious_masks(ev, baseline_mask(ev.user, ["system:*", "eks:*"]))
    hits = {c: list(m[m].index) for c, m in masks.items()}
    assert hits == {"pod_exec_attach_by_human": [0], "rbac_or_aws_auth_change": [],
                    "anonymous_request": [5], "denied_secret_read": [5]}


def test_dedupe_keeps_the_complete_stage_and_orders_by_time():
    ev = _events(
        {"timestamp": "2026-11-02 09:00:00.000", "audit_id": "b", "stage": "ResponseStarted",
         "user": "u", "response_code": None},
        {"timestamp": "2026-11-02 09:00:00.000", "audit_id": "b", "stage": "ResponseComplete",
         "user": "u", "response_code": 403},
        {"timestamp": "2026-11-02 08:00:00.000", "user": "v", "verb": "get"},
    )
    out = dedupe_events(ev)
    assert list(out.user) == ["v", "u"]
    assert out[out.user == "u"].iloc[0]["stage"] == "ResponseComplete"


def _sensor(**kw) -> SimpleNamespace:
    return SimpleNamespace(**{"tolerations": [], "node_selector": {}, "node_affinity": [],
                              "pod_nodes": (), **kw})


def _node(name: str, labels: dict | None = None, taints: list | None = None):
    return SimpleNamespace(name=name, labels=labels or {}, taints=taints or [])


def test_sensor_gap_names_the_reason():
    gpu = _node("gpu-1", taints=[{"key": "nvidia.com/gpu", "value": "true",
                                  "effect": "NoSchedule"},
                                 {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}])
    assert sensor_gap(_sensor(), gpu) == "does not tolerate taint nvidia.com/gpu=true:NoSchedule"
    tolerant = _sensor(tolerations=[{"operator": "Exists"}])
    assert sensor_gap(tolerant, gpu) == NO_POD
    fargate = _node("fargate-1", {"eks.amazonaws.com/compute-type": "fargate"})
    assert sensor_gap(tolerant, fargate).startswith("Fargate node")
    picky = _sensor(node_selector={"pool": "general"})
    assert sensor_gap(picky, _node("spot-1", {"pool": "spot"})).startswith("its nodeSelector")
    assert sensor_gap(_sensor(pod_nodes=("n-1",)), _node("n-1")) == (
        "its pod on the node is not ready")
