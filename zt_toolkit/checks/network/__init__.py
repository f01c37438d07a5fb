"""Checks of the network pillar (one module per check)."""
