"""Engagement config: who the client is, waivers, severity overrides, check parameters, intents.

A YAML file, one per client engagement::

    client: Acme Shop
    consultancy: Northwind Security
    logo: northwind.svg          # optional; PNG, JPEG or SVG, relative to this file
    classification: Confidential
    severity_overrides:
      container_resource_limits_set: info
    parameters:
      eks_endpoint_public_access_restricted: {max_prefix: 16}
    waivers:
      - check: container_read_only_root_filesystem
        resource: {kind: Deployment, namespace: legacy-batch, name: "report-*"}
        reason: vendor image writes to /tmp; tracked in JIRA SEC-12
        owner: jane.doe@acme.example
        expires: 2027-03-31
    segmentation:
        - name: frontend never reaches database
        from: {namespace: storefront, labels: {app: frontend}}
        to: {namespace: storefront, labels: {app: postgres}}
        port: 5432
        protocol: TCP
        expect: deny

Waivers whose ``expires`` date has passed are reported and not applied. The shipped EKS
baseline (``zt_toolkit/data/baseline/*.yaml``: aws-node, kube-proxy, coredns, eks:* subjects …)
is applied like a waiver with the reason "EKS baseline: …", so it is visible in every report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zt_toolkit.errors import ConfigError

SEVERITIES = ("critical", "high", "medium", "low", "info")
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".svg": "image/svg+xml"}
"""Logo files the report cover accepts, with their media types."""


@dataclass(frozen=True)
class Waiver:
    """An accepted risk: a check (or ``*``) on resources matched by glob patterns."""

    check: str
    reason: str
    kind: str = "*"
    namespace: str = "*"
    name: str = "*"
    owner: str = ""
    expires: date | None = None
    source: str = "config"  # "config" or "baseline"

    def expired(self, today: date) -> bool:
        """True when the expiry date has passed."""
        return self.expires is not None and self.expires < today

    def describe(self) -> str:
        """Text shown in the findings' waiver_reason column."""
        if self.source == "baseline":
            return f"EKS baseline: {self.reason}"
        text = self.reason
        if self.owner:
            text += f" (owner {self.owner}"
            text += f", expires {self.expires.isoformat()})" if self.expires else ")"
        return text


@dataclass
class EngagementConfig:
    """Everything a consultant sets per engagement (all optional; defaults fit the demo)."""

    client: str = "Acme Shop"
    consultancy: str = "zt-toolkit"
    classification: str = "Confidential"
    logo: Path | None = None  # consultancy logo for the report cover (resolved path)
    severity_overrides: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    waivers: list[Waiver] = field(default_factory=list)
    segmentation: list[dict[str, Any]] = field(default_factory=list)
    use_eks_baseline: bool = True
    today: date = field(default_factory=date.today)

    @classmethod
    def load(cls, path: str | Path | None) -> EngagementConfig:
        """Read a YAML engagement config; every problem is reported at once, naming the file."""
        if path is None:
            return cls()
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read engagement config ({exc})") from exc
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "config") -> EngagementConfig:
        """Validate a parsed config."""
        if not isinstance(data, dict):
            raise ConfigError(f"{origin}: the config must be a mapping")
        problems: list[str] = []
        known = {"client", "consultancy", "logo", "classification", "severity_overrides",
                 "parameters", "waivers", "segmentation", "use_eks_baseline", "today"}
        problems += [f"unknown key {k!r}" for k in data if k not in known]
        overrides = data.get("severity_overrides") or {}
        for check_id, sev in overrides.items():
            if sev not in SEVERITIES:
                problems.append(f"severity_overrides.{check_id}: {sev!r} not in {SEVERITIES}")
        waivers = []
        for i, raw in enumerate(data.get("waivers") or ()):
            try:
                waivers.append(_waiver(raw, "config"))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"waivers[{i}]: {exc}")
        segmentation = data.get("segmentation") or []
        for i, intent in enumerate(segmentation):
            missing = {"name", "from", "to", "expect"} - set(intent or {})
            if missing:
                problems.append(f"segmentation[{i}] lacks {sorted(missing)}")
            elif intent["expect"] not in ("allow", "deny"):
                problems.append(f"segmentation[{i}].expect must be allow or deny")
        logo = None
        if data.get("logo"):
            logo = Path(str(data["logo"]))
            if not logo.is_absolute() and origin != "config":
                logo = Path(origin).parent / logo
            if logo.suffix.lower() not in LOGO_TYPES:
                problems.append(f"logo: {logo.name!r} is not one of {sorted(LOGO_TYPES)}")
            elif not logo.is_file():
                problems.append(f"logo: {logo} does not exist")
        if problems:
            raise ConfigError(f"{origin}: " + "; ".join(problems))
        kwargs: dict[str, Any] = {
            k: data[k] for k in ("client", "consultancy", "classification", "use_eks_baseline")
            if k in data
        }
        if "today" in data:
            kwargs["today"] = _as_date(data["today"])
        return cls(severity_overrides=dict(overrides), logo=logo,
                   parameters=dict(data.get("parameters") or {}),
                   waivers=waivers, segmentation=list(segmentation), **kwargs)

    def params_for(self, check_id: str, defaults: dict[str, Any]) -> dict[str, Any]:
        """A check's parameters: its declared defaults updated by this config."""
        given = self.parameters.get(check_id) or {}
        unknown = set(given) - set(defaults)
        if unknown:
            raise ConfigError(f"parameters.{check_id}: unknown parameter(s) {sorted(unknown)}")
        return {**defaults, **given}

    def all_waivers(self) -> list[Waiver]:
        """Config waivers first, then the shipped EKS baseline (when enabled)."""
        return self.waivers + (eks_baseline() if self.use_eks_baseline else [])


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _waiver(raw: dict[str, Any], source: str) -> Waiver:
    if not isinstance(raw, dict):
        raise TypeError("a waiver must be a mapping")
    if not raw.get("reason"):
        raise ValueError("a waiver needs a reason")
    resource = raw.get("resource") or {}
    return Waiver(
        check=str(raw.get("check", "*")),
        reason=str(raw["reason"]),
        kind=str(resource.get("kind", "*")),
        namespace=str(resource.get("namespace", "*")),
        name=str(resource.get("name", "*")),
        owner=str(raw.get("owner", "")),
        expires=_as_date(raw["expires"]) if raw.get("expires") else None,
        source=source,
    )


_BASELINE: list[Waiver] | None = None


def eks_baseline() -> list[Waiver]:
    """The shipped EKS baseline: EKS-managed objects judged by a documented allow-list."""
    global _BASELINE
    if _BASELINE is None:
        entries: list[Waiver] = []
        folder = resources.files("zt_toolkit") / "data" / "baseline"
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".yaml"):
                for raw in yaml.safe_load(item.read_text()) or ():
                    for check_id in raw.get("checks") or [raw.get("check", "*")]:
                        entries.append(_waiver({**raw, "check": check_id}, "baseline"))
        _BASELINE = entries
    return _BASELINE
