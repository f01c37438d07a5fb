"""Benchmark: the per-client report (notebooks + PDF) and a batch of demo clients.

(a) ``write_report`` on the demo snapshot with default settings (two kernels at a time, PDF),
    N times, each in a fresh process (imports included, as ``zt report`` pays them): every run
    and the median. (b) ``zt batch`` of 10 demo clients (the same snapshot under different client
    names) with ``--jobs 2``: total wall time. The demo snapshot is built first and not timed.
Targets (issue 4, 2-core machine): per-client median under 30 s; 10 clients with
``--jobs 2`` under 3 minutes.

    .venv/bin/python benchmarks/bench_report.py                    # 3 single runs + batch of 10
    .venv/bin/python benchmarks/bench_report.py --runs 5 --clients 4 --no-pdf
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "acme-shop.yaml"


def child(snapshot: str, out: str, pdf: bool) -> dict[str, float]:
    """Run in a fresh process: one report, timed from before the first import."""
    t0 = time.perf_counter()
    from zt_toolkit.report.render import write_report

    t_import = time.perf_counter()
    folder = write_report(snapshot, "Acme Shop", CONFIG, out, pdf=pdf)
    done = time.perf_counter()
    return {"imports_s": t_import - t0, "report_s": done - t_import, "total_s": done - t0,
            "files": len(list(folder.iterdir())),
            "pdf_kb": sum(p.stat().st_size for p in folder.glob("*.pdf")) / 1024}


def single_reports(snapshot: Path, tmp: Path, runs: int, pdf: bool) -> list[float]:
    print(f"(a) per-client report, {'with' if pdf else 'without'} PDF, {runs} run(s)")
    totals = []
    for i in range(runs):
        out = tmp / f"single-{i}"
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--child", str(snapshot), str(out),
                               "--pdf" if pdf else "--no-pdf"], capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode:
            sys.exit(f"run {i + 1} failed:\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        totals.append(wall)
        print(f"    run {i + 1}: {wall:5.1f} s wall (imports {r['imports_s']:.1f} s, "
              f"write_report {r['report_s']:.1f} s; {r['files']} files, PDF {r['pdf_kb']:.0f} KB)")
    print(f"    median: {statistics.median(totals):.1f} s")
    return totals


def batch_of_clients(snapshot: Path, tmp: Path, clients: int, jobs: int, pdf: bool) -> float:
    from zt_toolkit.batch import BatchClient, run_batch

    print(f"(b) batch of {clients} demo clients, --jobs {jobs}, "
          f"{'with' if pdf else 'without'} PDF")
    entries = [BatchClient(f"Demo Client {i:02d}", snapshot, CONFIG) for i in range(1, clients + 1)]
    start = time.perf_counter()
    result = run_batch(entries, tmp / "batch", jobs=jobs, pdf=pdf, progress=False)
    wall = time.perf_counter() - start
    for r in result.failed:
        print(f"    FAILED {r.client}: {r.error}")
    per_client = [r.seconds for r in result.results]
    print(f"    total wall: {wall:.1f} s for {len(result.results) - len(result.failed)} of "
          f"{clients} clients ok; per client median {statistics.median(per_client):.1f} s "
          f"(min {min(per_client):.1f}, max {max(per_client):.1f}); "
          f"throughput {wall / clients:.1f} s per client")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="single-report runs (default 3)")
    parser.add_argument("--clients", type=int, default=10, help="batch size (default 10)")
    parser.add_argument("--jobs", type=int, default=2, help="batch --jobs (default 2)")
    parser.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=True,
                        help="print PDFs (default: yes)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, pdf=args.pdf)))
        return
    from zt_toolkit.demo import build_demo

    with tempfile.TemporaryDirectory(prefix="zt-bench-report-") as name:
        tmp = Path(name)
        snapshot = build_demo(tmp / "demo-snapshot")
        if args.runs:
            single_reports(snapshot, tmp, args.runs, args.pdf)
        if args.clients:
            batch_of_clients(snapshot, tmp, args.clients, args.jobs, args.pdf)


if __name__ == "__main__":
    main()
