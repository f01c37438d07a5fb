"""Benchmark: the Pod Security Standards engine on 50,000 pods at both levels.

Three workloads, each timed cold (empty cache) and warm (second pass over the same pods), in a
fresh process so the figures are that run's own:

- ``demo pods``: the raw Pods of the demo cluster grown to N pods (``build_demo(pods=N)``, not
  timed), all evaluated with ``evaluate_pods`` (GC paused) at baseline and restricted.
  Replicas differ in names, nodes and token volumes, so most pod specs are distinct;
- ``demo workloads``: the same snapshot through the frames (``workloads`` × ``pod_specs``),
  one template per workload, with ``evaluate_workloads``;
- ``synthetic``: N generated pod specs, all distinct (varied securityContexts, volumes, host
  settings, sysctls, Windows and user-namespace pods): no cache hit is possible when cold.

Target (issue 5): 50,000 pods at both levels in under 5 s on a 2-core machine.

    .venv/bin/python benchmarks/bench_pss.py                 # 50k
    .venv/bin/python benchmarks/bench_pss.py --pods 10000    # another size
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LEVELS = ("baseline", "restricted")


def synthetic_pods(n: int, seed: int = 5) -> list[dict[str, Any]]:
    """N distinct pods with a realistic mix of good and bad security settings."""
    rnd = random.Random(seed)
    good = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    volumes = [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "tmp", "emptyDir": {}},
               {"name": "host", "hostPath": {"path": "/var/log"}},
               {"name": "nfs", "nfs": {"server": "nfs", "path": "/"}},
               {"name": "tok", "projected": {"sources": []}}]

    def sc(i: int) -> dict[str, Any]:
        r = rnd.random()
        if r < 0.5:
            return dict(good, runAsUser=1000 + i)
        if r < 0.7:
            return {"runAsUser": 1000 + i}
        if r < 0.8:
            return {"privileged": True, "runAsUser": 0}
        if r < 0.9:
            return {"capabilities": {"add": ["NET_ADMIN"]}, "runAsUser": i}
        return {}

    pods = []
    for i in range(n):
        containers = [{"name": f"c{k}", "image": f"registry.example/app{k}:{i}",
                       "securityContext": sc(i),
                       "ports": [{"containerPort": 8080, "hostPort": 8080}]
                       if rnd.random() < 0.05 else [{"containerPort": 8080}],
                       "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}}
                      for k in range(rnd.choice((1, 1, 2, 3)))]
        spec: dict[str, Any] = {
            "containers": containers,
            "initContainers": [{"name": "init", "image": "busybox", "securityContext": sc(i)}]
            if rnd.random() < 0.3 else [],
            "volumes": rnd.sample(volumes, rnd.randint(0, 3)),
            "securityContext": {"runAsNonRoot": True, "fsGroup": i,
                                "seccompProfile": {"type": "RuntimeDefault"}}
            if rnd.random() < 0.6 else {"fsGroup": i},
            "serviceAccountName": f"sa-{i % 50}",
        }
        r = rnd.random()
        if r < 0.05:
            spec["hostNetwork"] = True
        elif r < 0.07:
            spec["os"] = {"name": "windows"}
        elif r < 0.09:
            spec["hostUsers"] = False
        elif r < 0.11:
            spec["securityContext"]["sysctls"] = [{"name": "net.ipv4.tcp_rmem", "value": "1"}]
        pods.append({"metadata": {"name": f"pod-{i}", "namespace": f"ns-{i % 40}"},
                     "spec": spec})
    return pods


def _time_pods(pods: list[dict[str, Any]], version: str) -> dict[str, float]:
    from zt_toolkit.analysis.pss import cache_clear, cache_info, evaluate_pods

    cache_clear()
    t0 = time.perf_counter()
    denied = {level: sum(not v.allowed for v in evaluate_pods(pods, level, version))
              for level in LEVELS}
    cold = time.perf_counter() - t0
    evaluations = cache_info().evaluations
    t0 = time.perf_counter()
    for level in LEVELS:
        evaluate_pods(pods, level, version)
    warm = time.perf_counter() - t0
    return {"cold_s": cold, "warm_s": warm, "evaluations": evaluations,
            "denied_baseline": denied["baseline"], "denied_restricted": denied["restricted"]}


def measure(snapshot: str, n: int) -> dict[str, Any]:
    """Run in the child process: time each workload, report peak RSS."""
    from zt_toolkit.analysis.pss import cache_clear, cache_info, evaluate_workloads
    from zt_toolkit.frames import Frames
    from zt_toolkit.snapshot import Snapshot

    snap = Snapshot.load(snapshot)
    t0 = time.perf_counter()
    pods = list(snap.iter_k8s("pods"))
    load = time.perf_counter() - t0
    out: dict[str, Any] = {"pods": len(pods), "load_pods_s": load}
    out["demo_pods"] = _time_pods(pods, "latest")
    del pods

    frames = Frames(snap)
    t0 = time.perf_counter()
    workloads, specs = frames.workloads, frames.pod_specs
    frames_s = time.perf_counter() - t0
    cache_clear()
    t0 = time.perf_counter()
    for level in LEVELS:
        evaluate_workloads(workloads, specs, level)
    cold = time.perf_counter() - t0
    evaluations = cache_info().evaluations
    t0 = time.perf_counter()
    for level in LEVELS:
        evaluate_workloads(workloads, specs, level)
    out["demo_workloads"] = {"workloads": len(workloads), "frames_s": frames_s, "cold_s": cold,
                             "warm_s": time.perf_counter() - t0, "evaluations": evaluations}

    t0 = time.perf_counter()
    synthetic = synthetic_pods(n)
    out["generate_s"] = time.perf_counter() - t0
    out["synthetic"] = _time_pods(synthetic, "v1.30")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50_000, help="pods (default 50,000)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.pods)))
        return
    from zt_toolkit.demo import build_demo

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"demo-{args.pods}"
        t0 = time.perf_counter()
        build_demo(out, pods=args.pods)
        built = time.perf_counter() - t0
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(out), "--pods", str(args.pods)],
            capture_output=True, text=True, check=True)
    r = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"demo built in {built:.1f}s; {r['pods']:,} pods read from the snapshot in "
          f"{r['load_pods_s']:.2f}s (not counted below); peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"{'both levels':<16} {'items':>8} {'evaluated':>9} {'cold':>7} {'warm':>7} "
          f"{'denied baseline':>15} {'denied restricted':>17}")
    for name, items in (("demo pods", r["pods"]), ("synthetic", args.pods)):
        m = r["demo_pods" if name == "demo pods" else "synthetic"]
        print(f"{name:<16} {items:>8,} {m['evaluations']:>9,} {m['cold_s']:>6.2f}s "
              f"{m['warm_s']:>6.2f}s {m['denied_baseline']:>15,} {m['denied_restricted']:>17,}")
    w = r["demo_workloads"]
    print(f"{'demo workloads':<16} {w['workloads']:>8,} {w['evaluations']:>9,} "
          f"{w['cold_s']:>6.2f}s {w['warm_s']:>6.2f}s   (frames built in {w['frames_s']:.2f}s)")


if __name__ == "__main__":
    main()
