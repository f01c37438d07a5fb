"""The individual pod_security checks agree with the Pod Security Standards engine on the demo.

For every workload where a check that overlaps a Pod Security Standards control fails, the
engine's corresponding Pod Security Admission check flags the same workload at ``latest``
(restricted, which runs every baseline check it does not replace). Intended differences:

- a privileged container has every capability, runs unconfined and escalates whatever its
  fields say, so container_capabilities_dropped, container_seccomp_profile_set and
  container_privilege_escalation_disallowed fail it; Pod Security Admission reports it once,
  as ``privileged`` (its allowPrivilegeEscalation/seccomp/capabilities checks read the fields);
- container_runs_as_non_root fails UID 0 and "root not excluded" alike; Pod Security Admission
  splits them into ``runAsUser`` (UID 0) and ``runAsNonRoot``;
- pod_host_path_absent is ``hostPathVolumes`` at baseline; restricted replaces that check by
  ``restrictedVolumes``, which also flags hostPath.

The other direction holds where the two are the same control (privileged, host namespaces,
hostPort, hostPath): the engine flags a workload only if the check fails it. For the
restricted controls the engine is stricter on purpose (it requires runAsNonRoot even with a
non-zero runAsUser, compares capability names exactly, and does not exempt a pod pinned to
Windows by nodeSelector only), so that direction is not asserted for them.
"""

from __future__ import annotations

import pytest

from zt_toolkit.analysis.pss import evaluate_spec
from zt_toolkit.checks import get_check, run_checks
from zt_toolkit.config import EngagementConfig
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot

# check id -> (PSA checks that must flag a failing workload, level evaluated at)
OVERLAP = {
    "container_privileged_absent": ({"privileged"}, "baseline"),
    "pod_host_namespaces_absent": ({"hostNamespaces"}, "baseline"),
    "container_host_port_absent": ({"hostPorts"}, "baseline"),
    "pod_host_path_absent": ({"hostPathVolumes"}, "baseline"),
    "container_capabilities_dropped": ({"capabilities_restricted"}, "restricted"),
    "container_seccomp_profile_set": ({"seccompProfile_restricted"}, "restricted"),
    "container_privilege_escalation_disallowed": ({"allowPrivilegeEscalation"}, "restricted"),
    "container_runs_as_non_root": ({"runAsNonRoot", "runAsUser"}, "restricted"),
}
# a privileged container is reported as `privileged` by Pod Security Admission (module doc)
PRIVILEGED_COVERS = {"container_capabilities_dropped", "container_seccomp_profile_set",
                     "container_privilege_escalation_disallowed"}
SAME_CONTROL = ("container_privileged_absent", "pod_host_namespaces_absent",
                "container_host_port_absent", "pod_host_path_absent")
KEY = ["kind", "namespace", "name"]


@pytest.fixture(scope="module")
def demo(demo_snapshot):
    frames = Frames(Snapshot.load(demo_snapshot), EngagementConfig())
    findings = run_checks(frames, [get_check(c) for c in OVERLAP])
    return frames, findings


def flagged(frames: Frames, level: str) -> dict[tuple[str, str, str], set[str]]:
    """PSA check ids the engine flags per workload at ``latest``."""
    out = {}
    for w in frames.workloads.itertuples(index=False):
        pod_like = frames.pod_specs[w.spec_hash]
        verdict = evaluate_spec(pod_like["metadata"], pod_like["spec"], level, "latest")
        out[(w.kind, w.namespace, w.name)] = {v.check_id for v in verdict.violations}
    return out


def privileged_workloads(frames: Frames) -> set[tuple[str, str, str]]:
    c = frames.containers
    hit = c[c.privileged.eq(True).fillna(False).astype(bool)]
    return set(map(tuple, hit[KEY].to_numpy().tolist()))


@pytest.mark.parametrize("check_id", list(OVERLAP))
def test_engine_flags_every_workload_the_check_fails(demo, check_id):
    frames, findings = demo
    expected, level = OVERLAP[check_id]
    engine = flagged(frames, level)
    privileged = privileged_workloads(frames)
    rows = findings[(findings.check_id == check_id) & (findings.status == "fail")]
    assert len(rows), f"{check_id} fails nowhere on the demo: the comparison would be vacuous"
    missed = []
    for key in map(tuple, rows[KEY].to_numpy().tolist()):
        ids = engine[key]
        if ids & expected:
            continue
        if check_id in PRIVILEGED_COVERS and key in privileged and "privileged" in ids:
            continue
        missed.append((key, sorted(ids)))
    assert not missed, f"{check_id} fails these, the engine's {sorted(expected)} do not: {missed}"


@pytest.mark.parametrize("check_id", SAME_CONTROL)
def test_check_fails_every_workload_the_engine_flags_for_the_same_control(demo, check_id):
    frames, findings = demo
    expected, level = OVERLAP[check_id]
    engine = flagged(frames, level)
    status = {tuple(k): s for k, s in zip(findings.loc[findings.check_id == check_id, KEY]
                                          .to_numpy().tolist(),
                                          findings.loc[findings.check_id == check_id, "status"],
                                          strict=True)}
    flagged_keys = [k for k, ids in engine.items() if ids & expected]
    assert flagged_keys, f"the engine flags {sorted(expected)} nowhere on the demo"
    wrong = [(k, status.get(k)) for k in flagged_keys if status.get(k) != "fail"]
    assert not wrong, f"the engine flags {sorted(expected)}, {check_id} does not fail: {wrong}"


def test_privileged_container_differences_are_the_documented_ones(demo):
    """Where only `privileged` explains a failure, the container really is privileged."""
    frames, findings = demo
    engine = flagged(frames, "restricted")
    privileged = privileged_workloads(frames)
    for check_id in PRIVILEGED_COVERS:
        expected, _ = OVERLAP[check_id]
        rows = findings[(findings.check_id == check_id) & (findings.status == "fail")]
        for key in map(tuple, rows[KEY].to_numpy().tolist()):
            if not engine[key] & expected:
                assert key in privileged, (check_id, key)
