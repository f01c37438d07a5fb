"""Benchmark: the NetworkPolicy reachability engine on demo snapshots of 10,000 and 50,000 pods.

Each size runs in a fresh process (so the peak RSS is that run's own): the demo cluster grown to
N pods (``build_demo(pods=N)``, not timed); when it has fewer NetworkPolicies than asked
(``--policies``), generated ones are added to the ``network_policies`` frame (per namespace:
an ingress allow from a labelled peer on a port range, an egress allow by namespace label and
named port, an ipBlock with ``except``). Timed:

- ``frames``: reading the snapshot into the workloads, pods, namespaces and policies frames;
- ``engine``: :func:`workload_table` plus :func:`compute` (the reachability itself);
- ``expand``: iterating every (src, dst, ports) connection, as ``zt netpol`` prints them.

Targets (issue 6): 10,000 pods with 1,000 policies under 10 s; 50,000 pods under 60 s; peak RSS
under 2 GB.

    .venv/bin/python benchmarks/bench_netpol.py                       # 10k and 50k
    .venv/bin/python benchmarks/bench_netpol.py --pods 20000          # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def generated_policies(namespaces: list[str], count: int) -> list[dict[str, Any]]:
    """``count`` NetworkPolicy rows (frame shape) spread over ``namespaces``."""
    rows = []
    for i in range(count):
        ns = namespaces[i % len(namespaces)]
        kind = i % 3
        if kind == 0:
            ingress = [{"from": [{"podSelector": {"matchLabels": {"tier": "web"}}},
                                 {"namespaceSelector": {"matchLabels": {
                                     "kubernetes.io/metadata.name": "monitoring"}}}],
                        "ports": [{"port": 8000 + i % 50, "endPort": 8100 + i % 50}]}]
            rows.append({"namespace": ns, "name": f"gen-{i}-ingress",
                         "pod_selector": {"matchExpressions": [
                             {"key": "tier", "operator": "In", "values": ["backend"]}]},
                         "policy_types": ("Ingress",), "ingress_rules": ingress,
                         "egress_rules": []})
        elif kind == 1:
            egress = [{"to": [{"namespaceSelector": {"matchExpressions": [
                {"key": "team", "operator": "Exists"}]}}],
                "ports": [{"port": "http", "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}]
            rows.append({"namespace": ns, "name": f"gen-{i}-egress",
                         "pod_selector": {"matchLabels": {"app": "api"}},
                         "policy_types": ("Egress",), "ingress_rules": [],
                         "egress_rules": egress})
        else:
            egress = [{"to": [{"ipBlock": {"cidr": f"10.{i % 250}.0.0/16",
                                           "except": [f"10.{i % 250}.{i % 200}.0/24"]}}],
                       "ports": [{"port": 443}]}]
            rows.append({"namespace": ns, "name": f"gen-{i}-ipblock",
                         "pod_selector": {"matchLabels": {"app": f"app-{i % 7}"}},
                         "policy_types": ("Egress",), "ingress_rules": [],
                         "egress_rules": egress})
    return rows


def run_one(pods: int, policies: int) -> dict[str, Any]:
    """Build, load and time one size in this process; return the figures."""
    import pandas as pd

    from zt_toolkit.analysis.netpol import compute, workload_table
    from zt_toolkit.demo import build_demo
    from zt_toolkit.frames import Frames
    from zt_toolkit.snapshot import Snapshot

    with tempfile.TemporaryDirectory(prefix="bench-netpol-") as tmp:
        path = build_demo(Path(tmp) / "demo", pods=pods)
        t0 = time.perf_counter()
        frames = Frames(Snapshot.load(path))
        workloads, pol, nss = frames.workloads, frames.network_policies, frames.namespaces
        frames.pods  # noqa: B018  (workload_table reads the pods' own labels)
        t_frames = time.perf_counter() - t0
        added = 0
        if len(pol) < policies:
            extra = generated_policies(sorted(set(workloads.namespace)), policies - len(pol))
            added = len(extra)
            pol = pd.concat([pol, pd.DataFrame(extra)], ignore_index=True)
        t0 = time.perf_counter()
        table = workload_table(frames)
        reach = compute(table, pol, nss)
        t_engine = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_conn = sum(1 for _ in reach.connections.items())
        t_expand = time.perf_counter() - t0
        n_classes = reach._tables["n_classes"]
    return {
        "pods": len(frames.pods), "workloads": len(workloads), "policies": len(pol),
        "generated_policies": added, "namespaces": len(nss), "classes": n_classes,
        "peers": len(reach.peers), "connections": n_conn,
        "frames_s": round(t_frames, 2), "engine_s": round(t_engine, 2),
        "expand_s": round(t_expand, 2),
        "total_s": round(t_frames + t_engine + t_expand, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    """Run each size in a fresh process and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, action="append")
    parser.add_argument("--policies", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.pods or [10_000, 50_000]
    if args.child:
        print(json.dumps(run_one(sizes[0], args.policies)))
        return
    results = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", "--pods", str(n),
                              "--policies", str(args.policies)],
                             check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    cols = ("pods", "workloads", "policies", "generated_policies", "classes", "connections",
            "frames_s", "engine_s", "expand_s", "total_s", "peak_rss_mb")
    print(" ".join(f"{c:>12}" for c in cols))
    for r in results:
        print(" ".join(f"{r[c]:>12}" for c in cols))


if __name__ == "__main__":
    main()
