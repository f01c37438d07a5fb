"""Secrets frames added for issue 8: the env var of each consumer row, the encryption grade."""

from __future__ import annotations

import pandas as pd
import pytest

from zt_toolkit.frames import Frames
from zt_toolkit.frames import secrets as fs
from zt_toolkit.snapshot import Snapshot


@pytest.fixture(scope="module")
def demo_frames(demo_snapshot) -> Frames:
    return Frames(Snapshot.load(demo_snapshot))


def test_consumers_name_the_env_var(demo_frames):
    c = demo_frames.secret_consumers.set_index(["namespace", "name", "via"])
    assert c.loc[("storefront", "api", "env"), "env_var"] == "JWT_SIGNING_KEY"
    assert c.loc[("storefront", "postgres", "env"), "env_var"] == "POSTGRES_PASSWORD"
    assert c.loc[("monitoring", "grafana", "env"), "env_var"] == "GF_SECURITY_ADMIN_PASSWORD"
    # file and CSI consumers have no env var
    assert pd.isna(c.loc[("storefront", "orders", "volume"), "env_var"])
    assert pd.isna(c.loc[("payments", "payment-gateway", "csi"), "env_var"])


def _cluster(version, key=None):
    return {"name": "c", "version": version, "secrets_encryption_key_arn": key}


def test_demo_grade(demo_frames):
    from zt_toolkit.frames.eks import eks_cluster_row

    g = fs.secrets_encryption(demo_frames, fs.plain(eks_cluster_row(demo_frames)))
    assert g["grade"] == fs.GRADE_CMK
    assert g["key_manager"] == "CUSTOMER" and g["rotation_enabled"] is False
    assert g["key_arn"].endswith(":key/ebcb8d9c-5813-49e1-b521-08b95079fcfc")


@pytest.mark.parametrize(("version", "grade"), [
    ("1.28", fs.GRADE_AWS_OWNED_DEFAULT), ("1.33", fs.GRADE_AWS_OWNED_DEFAULT),
    ("1.27", fs.GRADE_NONE), (None, fs.GRADE_NONE), ("garbage", fs.GRADE_NONE),
])
def test_grade_without_key(demo_frames, version, grade):
    assert fs.secrets_encryption(demo_frames, _cluster(version))["grade"] == grade


def test_undescribed_key_is_not_assessed(demo_frames):
    g = fs.secrets_encryption(demo_frames, _cluster(
        "1.30", "arn:aws:kms:eu-west-1:111122223333:key/not-in-the-snapshot"))
    assert g["grade"] == fs.GRADE_NOT_ASSESSED
    assert "no kms describe_key record" in g["why"]
