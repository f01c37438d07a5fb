"""Benchmark: live Kubernetes collection of a large cluster from the loopback API server.

The demo cluster is grown to ``--pods`` pods and served over HTTPS by tests/servers/kube_api.py
in its own process (canaries planted); the collector runs in another child process through a
generated kubeconfig, so its peak RSS is its own. Targets (issue 3): 50,000 pods in under 60 s,
peak RSS under 1 GB, one LIST chain per kind (requests per list path = ceil(items / limit)).

    .venv/bin/python benchmarks/bench_collect.py                  # 50,000 pods
    .venv/bin/python benchmarks/bench_collect.py --pods 10000 --page-size 250
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 1024.0


def serve(snapshot: str, kubeconfig: str) -> None:
    """Child 1: serve the snapshot until stdin closes, then print the server's request log."""
    sys.path.insert(0, str(ROOT))
    from tests.servers.kube_api import CANARY, KubeApiServer

    t0 = time.perf_counter()
    api = KubeApiServer.from_snapshot(snapshot)
    built = time.perf_counter() - t0
    with api:
        api.write_kubeconfig(kubeconfig)
        print(json.dumps({"ready": True, "build_s": built, "canaries": len(api.canaries),
                          "canary_prefix": CANARY}), flush=True)
        sys.stdin.read()
        log = list(api.requests)
    print(json.dumps({
        "methods": sorted({r.method for r in log}),
        "per_path": Counter(r.path for r in log),
        "statuses": Counter(str(r.status) for r in log),
        "secrets_accept": sorted({r.accept for r in log if r.path.endswith("/secrets")}),
        "server_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }), flush=True)


def collect(kubeconfig: str, out: str, page_size: int) -> None:
    """Child 2: collect into a new snapshot; report timings and peak RSS."""
    t0 = time.perf_counter()
    from zt_toolkit.snapshot import SnapshotWriter
    from zt_toolkit.sources.kube import collect_kubernetes

    t_import = time.perf_counter()
    writer = SnapshotWriter(out, source="live", cluster={"name": "bench"})
    result = collect_kubernetes(writer, kubeconfig=kubeconfig, page_size=page_size)
    t_collect = time.perf_counter()
    writer.close()
    t_close = time.perf_counter()
    print(json.dumps({
        "import_s": t_import - t0,
        "collect_s": t_collect - t_import,
        "close_s": t_close - t_collect,
        "process_s": t_close - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counts": result.counts,
        "seconds": {k: r.seconds for k, r in result.resources.items()},
        "pages": {k: r.pages for k, r in result.resources.items()},
        "api_versions": {k: r.api_version for k, r in result.resources.items()},
        "gaps": {k: f"{r.status}: {r.message}" for k, r in result.gaps.items()},
        "requests": len(result.requests),
        "per_path": result.requests_per_path(),
        "version": result.version,
    }))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--serve", nargs=2, metavar=("SNAPSHOT", "KUBECONFIG"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--collect", nargs=2, metavar=("KUBECONFIG", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return 0
    if args.collect:
        collect(*args.collect, args.page_size)
        return 0

    from zt_toolkit.demo import build_demo

    with tempfile.TemporaryDirectory(prefix="zt-bench-collect-") as tmp:
        demo, kubeconfig, out = Path(tmp) / "demo", Path(tmp) / "kubeconfig", Path(tmp) / "live"
        t0 = time.perf_counter()
        build_demo(demo, pods=args.pods)
        print(f"demo cluster of {args.pods:,} pods built in {time.perf_counter() - t0:.1f} s")
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(demo), str(kubeconfig)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            ready = json.loads(server.stdout.readline())
            print(f"API server ready in {ready['build_s']:.1f} s "
                  f"({ready['canaries']:,} secret values planted)")
            child = subprocess.run(
                [sys.executable, __file__, "--collect", str(kubeconfig), str(out),
                 "--page-size", str(args.page_size)],
                capture_output=True, text=True, check=True, timeout=600)
            r = json.loads(child.stdout.strip().splitlines()[-1])
        finally:
            server.stdin.close()
            log = json.loads(server.stdout.readline() or "{}")
            server.wait(timeout=60)

        prefix = ready["canary_prefix"].encode()
        leaked = [f.name for f in out.rglob("*") if f.is_file() and prefix in f.read_bytes()]
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())

    print(f"\n{'resource':<64} {'items':>7} {'pages':>5} {'requests':>8} {'seconds':>7}")
    chains_ok = True
    for key, count in sorted(r["counts"].items(), key=lambda kv: -kv[1]):
        version, plural = r["api_versions"][key], key.partition(".")[0]
        path = f"/apis/{version}/{plural}" if "/" in version else f"/api/{version}/{plural}"
        requests = log["per_path"].get(path, 0)
        expected = max(1, math.ceil(count / args.page_size))
        chains_ok &= requests == expected == r["pages"][key]
        print(f"{key:<64} {count:>7} {r['pages'][key]:>5} {requests:>8} "
              f"{r['seconds'][key]:>7.2f}")
    for key, gap in r["gaps"].items():
        print(f"{key:<64} {gap}")
    print(f"\nrequests: {r['requests']} from the collector, "
          f"{sum(log['per_path'].values())} seen by the server "
          f"(methods {log['methods']}, statuses {log['statuses']})")
    print(f"Secrets listed with Accept: {log['secrets_accept']}")
    print(f"snapshot on disk: {size / 1e6:.0f} MB; planted values found in it: {leaked or 'none'}")
    print(f"collector: imports {r['import_s']:.2f} s, collect {r['collect_s']:.2f} s, "
          f"close {r['close_s']:.2f} s, process {r['process_s']:.2f} s, "
          f"peak RSS {r['peak_rss_mb']:.0f} MB (server process {log['server_rss_mb']:.0f} MB)")
    checks = {
        f"wall time < {TARGET_SECONDS:.0f} s": r["process_s"] < TARGET_SECONDS,
        f"peak RSS < {TARGET_RSS_MB:.0f} MB": r["peak_rss_mb"] < TARGET_RSS_MB,
        "one LIST chain per kind": chains_ok,
        "GET only": log["methods"] == ["GET"],
        "no planted value on disk": not leaked,
    }
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
