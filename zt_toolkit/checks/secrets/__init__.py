"""Checks of the secrets pillar (one module per check)."""
