"""Checks: one module per check in ``checks/<pillar>/<check_id>.py``, registered by ``@check``."""

from zt_toolkit.checks.model import Check, Pillar, Severity
from zt_toolkit.checks.registry import all_checks, check, get_check
from zt_toolkit.checks.runner import run_checks

__all__ = ["Check", "Pillar", "Severity", "all_checks", "check", "get_check", "run_checks"]
