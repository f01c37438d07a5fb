"""Checks of the pod_security pillar (one module per check)."""
