"""Shared fixtures: the demo snapshot is built once per test session (it is deterministic)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ORACLES = SHARED / "oracles"


@pytest.fixture(scope="session")
def demo_snapshot(tmp_path_factory) -> Path:
    """The default demo snapshot, built once into a session temp dir."""
    from zt_toolkit.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "acme-shop")
