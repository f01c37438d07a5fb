"""The check contract: metadata on a decorator, a pure function of frames, the findings schema."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd
import pandera.pandas as pa

from zt_toolkit.errors import CheckDefinitionError


class Pillar(StrEnum):
    """The six zero-trust pillars, in report order."""

    NETWORK = "network"
    IDENTITY = "identity"
    POD_SECURITY = "pod_security"
    IMAGES = "images"
    SECRETS = "secrets"
    AUDIT = "audit"

    @property
    def title(self) -> str:  # type: ignore[override]
        """Human title of the pillar."""
        return PILLAR_TITLES[self]


PILLAR_TITLES = {
    Pillar.NETWORK: "Network security",
    Pillar.IDENTITY: "Identity and access",
    Pillar.POD_SECURITY: "Pod security",
    Pillar.IMAGES: "Image and supply chain security",
    Pillar.SECRETS: "Secrets management",
    Pillar.AUDIT: "Audit and monitoring",
}


class Severity(StrEnum):
    """Severity of a failing check, most severe first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


SEVERITY_ORDER = {s.value: i for i, s in enumerate(Severity)}
STATUSES = ("pass", "fail", "not_applicable", "not_assessed", "error")
# What a check itself may return. A check may mark one row not_assessed when the data for that
# resource alone is missing (an audit category no recorded query searched); whole-check coverage
# gaps and exceptions are the runner's to decide.
CHECK_STATUSES = ("pass", "fail", "not_applicable", "not_assessed")
RESULT_COLUMNS = ("kind", "namespace", "name", "status", "detail")

# Reference prefixes a check may cite, so that the methodology section can group them.
REFERENCE_PREFIXES = ("CIS", "BPG", "KS", "PW", "NSA", "PSS", "seed", "Steampipe", "rbac-police",
                      "cloudsplaining")

_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


@dataclass(frozen=True)
class Check:
    """A registered check: metadata plus the function that evaluates it."""

    id: str
    pillar: Pillar
    severity: Severity
    title: str
    requires: tuple[str, ...]
    remediation: str
    reason: str
    references: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    rationale: str = ""
    func: Callable[..., pd.DataFrame] | None = None

    def run(self, frames: Any, params: dict[str, Any]) -> pd.DataFrame:
        """Evaluate the check; the runner handles errors and coverage."""
        assert self.func is not None
        if self.parameters:
            return self.func(frames, params)
        return self.func(frames)

    @property
    def frameworks(self) -> str:
        """References joined for the findings' ``frameworks`` column."""
        return "; ".join(self.references)


def validate_check(chk: Check, module: str) -> None:
    """The registry's rules; a violation raises at import with the check named."""
    problems = []
    if not _ID.match(chk.id):
        problems.append("id must be snake_case words")
    fn = chk.func
    if fn is None or fn.__name__ != chk.id:
        problems.append("function name must equal the id")
    if module.rsplit(".", 1)[-1] != chk.id:
        problems.append(f"module must be named {chk.id}.py (is {module})")
    if f".{chk.pillar.value}." not in f".{module}.":
        problems.append(f"module must live in checks/{chk.pillar.value}/")
    if not chk.title or len(chk.title) > 100 or chk.title.lower().startswith("ensure"):
        problems.append("title: a sentence of the compliant state, <= 100 chars, no 'Ensure'")
    if not chk.remediation or not chk.reason:
        problems.append("remediation and reason are required")
    if not chk.rationale:
        problems.append("the docstring (rationale: the risk, then the edge cases) is required")
    if not chk.requires:
        problems.append("requires must name the frames the check reads")
    if not chk.references:
        problems.append("at least one reference (CIS, BPG, KS, PW, ...) is required")
    for ref in chk.references:
        if not ref.startswith(REFERENCE_PREFIXES):
            problems.append(f"reference {ref!r} must start with one of {REFERENCE_PREFIXES}")
    if fn is not None:
        params = list(inspect.signature(fn).parameters)
        expected = ["frames", "params"] if chk.parameters else ["frames"]
        if params != expected:
            problems.append(f"signature must be ({', '.join(expected)})")
    if problems:
        raise CheckDefinitionError(f"check {chk.id} ({module}): " + "; ".join(problems))


FINDINGS_COLUMNS = (
    "check_id", "pillar", "severity", "status", "kind", "namespace", "name", "reason", "detail",
    "remediation", "waived", "waiver_reason", "frameworks",
)

FINDINGS_SCHEMA = pa.DataFrameSchema(
    {
        "check_id": pa.Column(str, description="catalogue id, stable across releases"),
        "pillar": pa.Column(str, pa.Check.isin([p.value for p in Pillar])),
        "severity": pa.Column(str, pa.Check.isin([s.value for s in Severity]),
                              description="after engagement overrides"),
        "status": pa.Column(str, pa.Check.isin(STATUSES)),
        "kind": pa.Column(str, description="kind of the judged resource (owning workload)"),
        "namespace": pa.Column(str, description="'' for cluster-scoped resources"),
        "name": pa.Column(str),
        "reason": pa.Column(str, description="short, constant per check and status"),
        "detail": pa.Column(str, description="specific to this resource"),
        "remediation": pa.Column(str),
        "waived": pa.Column(bool),
        "waiver_reason": pa.Column(str),
        "frameworks": pa.Column(str, description="CIS / BPG / KS / PW references"),
    },
    strict=True,
    ordered=True,
    unique=["check_id", "kind", "namespace", "name"],
)
