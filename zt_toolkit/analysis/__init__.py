"""Engines over frames: selectors, Pod Security Standards, NetworkPolicy reachability, RBAC, IAM."""
