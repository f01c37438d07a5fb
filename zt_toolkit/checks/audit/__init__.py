"""Checks of the audit pillar (one module per check)."""
