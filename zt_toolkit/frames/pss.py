"""Pod Security Standards verdicts per workload: the ``workload_pss`` frame.

Each workload's pod template (or, for a bare Pod, its spec) is evaluated by
:mod:`zt_toolkit.analysis.pss` at both levels, at the version Pod Security Admission would use
for its namespace: the ``pod-security.kubernetes.io/enforce-version`` label, else ``latest``. An
invalid version label makes Pod Security Admission fail closed to ``latest``; so do we, and the
``version_source`` column says so. Replicas share a template, and the engine caches by spec hash,
so the frame costs one evaluation per distinct template, level and version.

Both pod_security checks ``workload_pss_{baseline,restricted}_compliant`` and the namespace
readiness view (:func:`zt_toolkit.report.tables.summarize_pss_readiness`) read this frame, so
they cannot disagree.

Examples
--------
>>> from zt_toolkit.snapshot import Snapshot
>>> from zt_toolkit.frames import Frames
>>> frames = Frames(Snapshot.load("reports/demo-snapshot"))                # doctest: +SKIP
>>> v = frames.workload_pss                                               # doctest: +SKIP
>>> v[(v.level == "restricted") & ~v.allowed][["namespace", "name", "checks"]]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pandera.pandas as pa

from zt_toolkit.frames import Frames, frame, from_rows
from zt_toolkit.frames.workloads import WORKLOAD_SOURCES

PSS_LEVELS = ("baseline", "restricted")
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
# what Pod Security Admission accepts as a version label: "latest" or v<major>.<minor>
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")

WORKLOAD_PSS_COLUMNS = {
    "kind": "str", "namespace": "str", "name": "str", "level": "str", "version": "str",
    "version_source": "str", "allowed": "bool", "violations": "object", "checks": "object",
    "detail": "str", "system": "bool", "spec_hash": "str", "evaluated_at": "str",
}


def namespace_versions(frames: Frames) -> dict[str, tuple[str, str]]:
    """Per namespace: the version to evaluate at and where it comes from.

    Returns ``{namespace: (version, source)}``, ``version`` being a label value Pod Security
    Admission accepts (``v1.30``, ``latest``). Namespaces absent from the mapping have no
    version label and are evaluated at ``latest``; when namespaces were not collected, the
    single key ``"*"`` says so.

    Examples
    --------
    >>> namespace_versions(frames)["payments"]                        # doctest: +SKIP
    ('v1.30', 'enforce-version label')
    """
    if frames.gaps(["namespaces"]):
        return {"*": ("latest", "namespace labels not collected")}
    out: dict[str, tuple[str, str]] = {}
    for name, version in zip(frames.namespaces["name"], frames.namespaces["pss_enforce_version"],
                             strict=True):
        if version is None or pd.isna(version):
            continue
        text = str(version).strip()
        if text == "latest":
            out[name] = ("latest", "enforce-version label")
        elif _VERSION.match(text):
            out[name] = (text, "enforce-version label")
        else:
            out[name] = ("latest", f"invalid enforce-version label {text[:40]!r}: Pod "
                                   "Security Admission fails closed to latest")
    return out


def describe_violations(violations: Any) -> str:
    """``check_id: detail`` of each violation, joined by ``; `` (the reason where no detail).

    Examples
    --------
    >>> from zt_toolkit.analysis.pss import Violation
    >>> describe_violations([Violation("hostNamespaces", "host namespaces", "hostNetwork=true")])
    'hostNamespaces: hostNetwork=true'
    """
    return "; ".join(f"{v.check_id}: {v.detail or v.reason}" for v in violations)


@frame("workload_pss", sources=WORKLOAD_SOURCES, any_source=True, schema=pa.DataFrameSchema({
    "kind": pa.Column(str), "namespace": pa.Column(str), "name": pa.Column(str),
    "level": pa.Column(str, pa.Check.isin(PSS_LEVELS)),
    "version": pa.Column(str, description="version evaluated at: enforce-version label or latest"),
    "version_source": pa.Column(str, description="why this version"),
    "allowed": pa.Column(bool, description="the level admits the workload's pods"),
    "checks": pa.Column(object, description="violated Pod Security Admission check ids"),
}))
def build_workload_pss(frames: Frames) -> pd.DataFrame:
    """One row per workload and level: the Pod Security Standards verdict of its pod template."""
    from zt_toolkit.analysis.pss import LATEST, evaluate_spec

    versions = namespace_versions(frames)
    specs = frames.pod_specs
    rows = []
    for w in frames.workloads.itertuples(index=False):
        version, source = versions.get(w.namespace) or versions.get(
            "*", ("latest", "no enforce-version label"))
        pod_like = specs[w.spec_hash]
        for level in PSS_LEVELS:
            verdict = evaluate_spec(pod_like.get("metadata") or {}, pod_like.get("spec") or {},
                                    level, version)
            violations = tuple(verdict.violations)
            rows.append({
                "kind": w.kind, "namespace": w.namespace, "name": w.name, "level": level,
                "version": version, "version_source": source, "allowed": bool(verdict.allowed),
                "violations": violations,
                "checks": tuple(dict.fromkeys(v.check_id for v in violations)),
                "detail": describe_violations(violations), "system": bool(w.system),
                "evaluated_at": f"{version}{f' = {LATEST}' if version == 'latest' else ''} "
                                f"({source})",
                "spec_hash": w.spec_hash,
            })
    return from_rows(rows, WORKLOAD_PSS_COLUMNS)
