"""Checks of the identity pillar (one module per check)."""
