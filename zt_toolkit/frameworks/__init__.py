"""Framework mappings shipped as data: which framework section each check implements.

``nsa_cisa.yaml`` maps every check of the catalogue to a section of the NSA/CISA Kubernetes
Hardening Guidance. The CIS Amazon EKS Benchmark and EKS Best Practices Guide references come
with each check's metadata (``references``).

>>> nsa_cisa_sections()["container_runs_as_non_root"]
'Kubernetes Pod security › Non-root containers and rootless container engines'
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


@lru_cache(maxsize=1)
def nsa_cisa_sections() -> dict[str, str]:
    """Check id → NSA/CISA Kubernetes Hardening Guidance section (all pillars merged)."""
    text = (resources.files("zt_toolkit") / "frameworks" / "nsa_cisa.yaml").read_text()
    return {check: section for pillar in yaml.safe_load(text).values()
            for check, section in pillar.items()}
