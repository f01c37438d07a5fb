"""Benchmark: load → frames → all checks on the demo cluster at growing sizes.

Each size runs in a fresh process (so peak RSS is that run's own); the demo snapshot is built
first and not timed. Target (issue 2): 50,000 pods in under 20 s with peak RSS under 2 GB on a
2-core machine.

    .venv/bin/python benchmarks/bench_assess.py                 # 1k, 10k, 50k
    .venv/bin/python benchmarks/bench_assess.py --pods 10000    # one size
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


def measure(snapshot: str) -> dict[str, float]:
    """Run in the child process: time each stage, report peak RSS."""
    t0 = time.perf_counter()
    from zt_toolkit.checks import run_checks
    from zt_toolkit.checks.registry import discover
    from zt_toolkit.frames import Frames
    from zt_toolkit.snapshot import Snapshot

    discover()
    t_import = time.perf_counter()
    snap = Snapshot.load(snapshot)
    frames = Frames(snap)
    t_load = time.perf_counter()
    for name in ("pods", "workloads", "containers", "running_containers", "volumes"):
        frames.get(name)
    t_frames = time.perf_counter()
    findings = run_checks(frames)
    t_checks = time.perf_counter()
    return {
        "imports_s": t_import - t0,
        "load_s": t_load - t_import,
        "frames_s": t_frames - t_load,
        "checks_s": t_checks - t_frames,
        "total_s": t_checks - t_import,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "pods": len(frames.pods),
        "workloads": len(frames.workloads),
        "findings": len(findings),
        "errors": int((findings.status == "error").sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, action="append", help="sizes (default 1k 10k 50k)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    from zt_toolkit.demo import build_demo

    sizes = args.pods or [1_000, 10_000, 50_000]
    print(f"{'pods':>7} {'workloads':>9} {'build':>7} {'load':>6} {'frames':>7} {'checks':>7} "
          f"{'total':>7} {'peak RSS':>9} findings")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            out = Path(tmp) / f"demo-{n}"
            t0 = time.perf_counter()
            build_demo(out, pods=n)
            built = time.perf_counter() - t0
            child = subprocess.run([sys.executable, __file__, "--child", str(out)],
                                   capture_output=True, text=True, check=True)
            r = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{r['pods']:>7} {r['workloads']:>9} {built:>6.1f}s {r['load_s']:>5.2f}s "
                  f"{r['frames_s']:>6.2f}s {r['checks_s']:>6.2f}s {r['total_s']:>6.2f}s "
                  f"{r['peak_rss_mb']:>7.0f}MB {r['findings']} ({r['errors']} errors)")


if __name__ == "__main__":
    main()
