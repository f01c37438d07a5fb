"""zt-toolkit: zero-trust security assessments of Amazon EKS clusters.

The small public API::

    from zt_toolkit import load_snapshot, assess
    snap = load_snapshot("demo-snapshot")
    result = assess(snap)            # an Assessment: frames, findings, config
    result.findings.head()
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("zt-toolkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = ["Assessment", "__version__", "assess", "load_snapshot"]


def __getattr__(name: str) -> object:
    # Lazy so that `import zt_toolkit` stays cheap for the CLI and the snapshot module.
    if name == "load_snapshot":
        from zt_toolkit.snapshot import load_snapshot

        return load_snapshot
    if name in ("assess", "Assessment"):
        from zt_toolkit import assessment

        return getattr(assessment, name)
    raise AttributeError(name)
