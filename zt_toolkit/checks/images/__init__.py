"""Checks of the images pillar (one module per check)."""
