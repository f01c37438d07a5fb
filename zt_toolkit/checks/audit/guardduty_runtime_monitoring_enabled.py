import pandas as pd

from zt_toolkit.checks.helpers import cluster_result
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.audit import described_detectors, guardduty_agent_opted_out
from zt_toolkit.frames.secrets import plain

_MANAGEMENT = {
    "ENABLED": "GuardDuty manages the agent add-on (EKS_ADDON_MANAGEMENT ENABLED)",
    None: "agent add-on management off: the aws-guardduty-agent must be deployed by hand "
    "(see runtime_sensor_coverage_complete)",
}


_OPTED_OUT = ("the cluster is tagged GuardDutyManaged=false: GuardDuty does not deploy its "
              "agent here (see runtime_sensor_coverage_complete)")


def _runtime(d: dict, opted_out: bool) -> tuple[bool, str]:
    if d["status"] != "ENABLED":
        return False, f"detector {d['name']} is {d['status'] or 'in an unknown state'}"
    features = [f"{name} {state}" for name, state in (
        ("RUNTIME_MONITORING", d["runtime_monitoring"]),
        ("EKS_RUNTIME_MONITORING", d["eks_runtime_monitoring"])) if state]
    on = "ENABLED" in (d["runtime_monitoring"], d["eks_runtime_monitoring"])
    text = f"detector {d['name']}: " + (", ".join(features) or "no runtime monitoring feature")
    if on:
        management = "ENABLED" if d["eks_addon_management"] == "ENABLED" else None
        text += "; " + _MANAGEMENT[management]
        if management and opted_out:
            text += "; but " + _OPTED_OUT
    return on, text


@check(
    id="guardduty_runtime_monitoring_enabled",
    pillar=Pillar.AUDIT,
    severity=Severity.HIGH,
    title="GuardDuty Runtime Monitoring covers EKS",
    requires=("guardduty_detectors",),
    reason="GuardDuty runtime monitoring off",
    remediation="aws guardduty update-detector --detector-id <id> --features "
    "'[{\"Name\":\"RUNTIME_MONITORING\",\"Status\":\"ENABLED\",\"AdditionalConfiguration\":"
    "[{\"Name\":\"EKS_ADDON_MANAGEMENT\",\"Status\":\"ENABLED\"}]}]'",
    references=("BPG runtime", "PW guardduty_eks_runtime_monitoring_enabled"),
)
def guardduty_runtime_monitoring_enabled(frames) -> pd.DataFrame:
    """Without runtime monitoring nothing sees what runs inside pods.

    A shell spawned in a container, a crypto-miner or a reverse shell goes unnoticed: the
    audit log records API calls, not processes.

    Passes when an ENABLED detector has EKS_RUNTIME_MONITORING or RUNTIME_MONITORING ENABLED
    (the consolidated RUNTIME_MONITORING replaces the EKS one and covers EKS; Prowler looks only
    at the older name). The detail says whether GuardDuty manages the agent add-on, and when the
    cluster opts out of it (tag GuardDutyManaged=false); whether the agent really runs on every
    node is runtime_sensor_coverage_complete's question.
    """
    d = frames.guardduty_detectors
    if d.empty:
        return cluster_result(frames, failed=True,
                              detail="no GuardDuty detector in the cluster's region")
    described = described_detectors(d)
    opted_out = guardduty_agent_opted_out(frames)
    verdicts = [_runtime(plain(r), opted_out) for _, r in described.iterrows()]
    return cluster_result(frames, failed=not any(on for on, _ in verdicts),
                          detail="; ".join(text for _, text in verdicts))
