"""The ``zt`` command line: demo, import, assess, report."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import pandas as pd
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from zt_toolkit.errors import ZtError

app = typer.Typer(
    name="zt",
    help="Zero-trust security assessments of Amazon EKS clusters.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


class Format(StrEnum):
    """Output formats of `zt assess`."""

    table = "table"
    json = "json"
    csv = "csv"


class FailOn(StrEnum):
    """Severities for --fail-on."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False):
    """Configure logging for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
    )


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where to write the demo snapshot.")] = Path(
        "reports/demo-snapshot"),
    pods: Annotated[int | None, typer.Option(help="Grow the cluster to about N pods.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (output is deterministic).")] = 7,
    force: Annotated[bool, typer.Option(help="Replace an existing snapshot at OUT.")] = False,
):
    """Write the deterministic demo snapshot of "Acme Shop" on EKS."""
    from zt_toolkit.demo import build_demo

    if out.exists():
        if not force:
            _fail(ZtError(f"{out} exists; pass --force to replace it"))
        import shutil

        shutil.rmtree(out)
    path = build_demo(out, pods=pods, seed=seed)
    console.print(f"demo snapshot written to [bold]{path}[/]")


@app.command()
def collect(
    out: Annotated[Path, typer.Option(
        help="Snapshot folder to write, or a .tar.gz / .zip file to hand over.")],
    cluster: Annotated[str | None, typer.Option(
        help="EKS cluster name (default: from an `aws eks update-kubeconfig` context).")] = None,
    region: Annotated[str | None, typer.Option(
        help="AWS Region of the cluster (default: from the kubeconfig's cluster ARN).")] = None,
    kubeconfig: Annotated[str | None, typer.Option(help="Kubeconfig file.")] = None,
    context: Annotated[str | None, typer.Option(help="Kubeconfig context.")] = None,
    in_cluster: Annotated[bool, typer.Option(
        help="Use the pod's service account (running inside the cluster).")] = False,
    profile: Annotated[str | None, typer.Option(help="AWS profile.")] = None,
    role_arn: Annotated[str | None, typer.Option(
        help="IAM role to assume in the client's account (read-only assessor role).")] = None,
    external_id: Annotated[str | None, typer.Option(
        help="ExternalId the client's role trust policy requires.")] = None,
    audit_days: Annotated[int, typer.Option(
        help="Days of audit log searched by the Logs Insights queries.")] = 7,
    skip_aws: Annotated[bool, typer.Option(help="Collect Kubernetes only.")] = False,
):
    """Collect the cluster and its AWS account, read-only, into a snapshot."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from zt_toolkit.collect import collect as run_collection
    from zt_toolkit.sources.kube import kube_target

    if cluster is None or region is None:
        try:
            target = kube_target(kubeconfig, context, in_cluster)
        except ZtError as exc:
            _fail(exc)
        cluster = cluster or target.eks_name
        region = region or target.eks_region
    if not cluster:
        _fail(ZtError("name the EKS cluster with --cluster (the kubeconfig does not say it)"))

    with Progress(TextColumn("{task.description:<48}"), BarColumn(), TextColumn("{task.fields[n]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(source: str, items: int, done: bool) -> None:
            if source not in tasks:
                tasks[source] = bar.add_task(source, total=None, n="")
            bar.update(tasks[source], n=f"{items:,}", total=1 if done else None,
                       completed=1 if done else 0)

        try:
            result = run_collection(
                out, cluster=cluster, region=region, kubeconfig=kubeconfig, context=context,
                in_cluster=in_cluster, profile=profile, role_arn=role_arn,
                external_id=external_id, audit_days=audit_days, skip_aws=skip_aws,
                progress=progress)
        except (ZtError, FileExistsError) as exc:
            _fail(exc)
    console.print(f"snapshot written to [bold]{result.path}[/] "
                  f"({result.kubernetes_requests} Kubernetes requests, "
                  f"{result.aws_calls} AWS calls)")
    if result.gaps:
        table = Table(title=f"{len(result.gaps)} source(s) not collected: the checks that need "
                            "them will say not_assessed")
        for col in ("source", "status", "message"):
            table.add_column(col, overflow="fold")
        for key, cov in sorted(result.gaps.items()):
            table.add_row(key, cov.status, cov.message[:160])
        console.print(table)


@app.command(name="import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="YAML/JSON manifest files or folders.")],
    out: Annotated[Path, typer.Option(help="Snapshot directory to write.")],
    aws: Annotated[Path | None, typer.Option(
        help="Folder of AWS records: <service>/<operation>.json.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Cluster name for the snapshot.")] = None,
):
    """Turn Kubernetes manifests (and optional AWS records) into a snapshot."""
    from zt_toolkit.manifests import import_manifests

    try:
        result = import_manifests(paths, out, aws_dir=aws, cluster_name=cluster)
    except ZtError as exc:
        _fail(exc)
    console.print(f"snapshot written to [bold]{result.snapshot}[/] "
                  f"({len(result.skipped)} file(s) skipped, {len(result.redacted)} value(s) "
                  "redacted)")


@app.command()
def assess(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot directory, .tar.gz or .zip.")],
    config: Annotated[Path | None, typer.Option(help="Engagement config YAML.")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,  # noqa: A002
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    fail_on: Annotated[FailOn | None, typer.Option(
        help="Exit 1 when an unwaived finding of this severity or worse fails.")] = None,
):
    """Run every check on a snapshot and print or write the findings."""
    from zt_toolkit.assessment import assess as run_assessment
    from zt_toolkit.checks.model import SEVERITY_ORDER

    try:
        findings = run_assessment(snapshot, config).findings
    except ZtError as exc:
        _fail(exc)
    text = render_findings(findings, format)
    if out:
        out.write_text(text)
        console.print(f"{len(findings)} findings written to [bold]{out}[/]")
    elif format is Format.table:
        _print_table(findings)
    else:
        sys.stdout.write(text)
    if fail_on is not None:
        worst = SEVERITY_ORDER[fail_on.value]
        failing = findings[(findings.status == "fail") & ~findings.waived
                           & (findings.severity.map(SEVERITY_ORDER) <= worst)]
        if not failing.empty:
            console.print(f"{len(failing)} unwaived finding(s) at {fail_on.value} or worse")
            raise typer.Exit(1)


def render_findings(findings: pd.DataFrame, format: Format) -> str:  # noqa: A002
    """Findings as JSON (a list of objects with the findings columns), CSV or a text table."""
    if format is Format.json:
        return orjson.dumps(findings.to_dict(orient="records"),
                            option=orjson.OPT_INDENT_2).decode() + "\n"
    if format is Format.csv:
        return findings.to_csv(index=False)
    return findings[["pillar", "severity", "status", "check_id", "kind", "namespace",
                     "name", "detail"]].to_string(index=False) + "\n"


def _print_table(findings: pd.DataFrame) -> None:
    out = Console()
    shown = findings[findings.status != "pass"]
    table = Table(title=f"{len(findings)} findings ({(findings.status == 'pass').sum()} passing "
                        "not shown)")
    for col in ("pillar", "severity", "status", "check_id", "resource", "detail"):
        table.add_column(col, overflow="fold")
    styles = {"fail": "red", "not_assessed": "yellow", "error": "magenta"}
    for row in shown.itertuples(index=False):
        resource = "/".join(x for x in (row.kind, row.namespace, row.name) if x)
        status = row.status + (" (waived)" if row.waived else "")
        table.add_row(row.pillar, row.severity, f"[{styles.get(row.status, '')}]{status}",
                      row.check_id, resource, row.detail[:200], markup=True)
    out.print(table)


@app.command(name="diff")
def diff_(
    old: Annotated[Path, typer.Argument(
        help="Earlier assessment: a report folder, or its findings .json / .csv file.")],
    new: Annotated[Path, typer.Argument(
        help="Later assessment: a report folder, or its findings .json / .csv file.")],
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,  # noqa: A002
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Also list the unchanged failures (in every format).")] = False,
):
    """Compare two assessments: new, resolved, changed-severity and unchanged failures.

    Findings are matched on check id + kind + namespace + name. Besides new and resolved
    failures the diff lists waiver transitions (waived, waiver_expired, waiver_removed) and
    coverage loss (not_assessed: a failure that could not be assessed again is not resolved).
    Exit code 0 whatever changed; 2 when a folder or file cannot be read.
    """
    from rich.console import Console as RichConsole

    from zt_toolkit.diff import diff_findings, diff_tables, load_findings, render_diff

    try:
        changes = diff_findings(load_findings(old), load_findings(new))
    except ZtError as exc:
        _fail(exc)
    shown = changes if all_ else changes[changes["change"] != "unchanged"]
    if format is Format.table:
        tables = diff_tables(changes, title=f"{old} → {new}", show_unchanged=all_)
        if out:
            with out.open("w", encoding="utf-8") as fh:
                RichConsole(file=fh, width=200, color_system=None).print(*tables)
        else:
            RichConsole().print(*tables)
    else:
        text = render_diff(shown, format.value)
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    if out:
        from rich.markup import escape

        console.print(f"{len(shown)} change(s) written to [bold]{escape(str(out))}[/]")


@app.command()
def report(
    snapshot: Annotated[Path, typer.Argument(help="Snapshot directory, .tar.gz or .zip.")],
    client: Annotated[str, typer.Option(help="Client name (used for the output folder).")],
    config: Annotated[Path | None, typer.Option(help="Engagement config YAML.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Root of the reports: the report goes to <out>/<client>/<date> "
             "(default reports).")] = None,
    previous: Annotated[Path | None, typer.Option(
        help="A previous report folder or findings file: adds 'since the last "
             "assessment'.")] = None,
    pdf: Annotated[bool, typer.Option(
        "--pdf/--no-pdf", help="Print <client>.pdf (needs Chrome, Edge or Chromium).")] = True,
):
    """Assess, execute the notebooks and write the report folder: PDF, HTML, findings, summary."""
    from zt_toolkit.report.render import client_slug, write_report

    try:
        path = write_report(snapshot, client, config=config, out=out, previous=previous,
                            pdf=pdf)
    except ZtError as exc:
        _fail(exc)
    document = path / f"{client_slug(client)}.pdf"
    console.print(f"report written to [bold]{escape(str(path))}[/]"
                  + (f"\n  {escape(str(document))}" if document.exists() else ""))


@app.command()
def batch(
    clients_yaml: Annotated[Path, typer.Argument(
        metavar="CLIENTS_YAML",
        help="YAML with a `clients:` list of {client, snapshot, config?, previous?}.")],
    jobs: Annotated[int, typer.Option(
        min=1, help="Clients reported at the same time, one process each.")] = 2,
    out: Annotated[Path, typer.Option(
        help="Root of the reports (<out>/<client>/<date>) and of the batch summary.")] = Path(
        "reports"),
    pdf: Annotated[bool, typer.Option(
        "--pdf/--no-pdf", help="Print each report to PDF (needs Chrome or Chromium).")] = True,
):
    """Write the reports of many clients in parallel, then batch-summary.csv and .html."""
    from rich.markup import escape

    from zt_toolkit.batch import load_batch, run_batch

    try:
        result = run_batch(load_batch(clients_yaml), out, jobs=jobs, pdf=pdf)
    except ZtError as exc:
        _fail(exc)
    done = len(result.results) - len(result.failed)
    summary = escape(str(result.summary_html))
    console.print(f"{done} of {len(result.results)} client report(s) written in "
                  f"{result.seconds:.0f} s; batch summary: [bold]{summary}[/]")
    if result.failed:
        console.print(f"[bold red]{len(result.failed)} client(s) failed:[/]")
        for r in result.failed:
            console.print(f"  [bold]{escape(r.client)}[/]: {escape(r.error or 'unknown error')}")
        raise typer.Exit(1)


class PssLevel(StrEnum):
    """Pod Security Standards profiles for `zt pss`."""

    baseline = "baseline"
    restricted = "restricted"


class PssFormat(StrEnum):
    """Output formats of `zt pss`."""

    table = "table"
    json = "json"


@app.command()
def pss(
    paths: Annotated[list[Path], typer.Argument(
        metavar="PATH...",
        help="A snapshot (directory, .tar.gz, .zip), or manifest files and folders.")],
    level: Annotated[PssLevel, typer.Option(help="Profile to evaluate against.")],
    version: Annotated[str, typer.Option(
        help="Policy version, v1.0 … v1.37, or latest.")] = "latest",
    format: Annotated[PssFormat, typer.Option("--format", "-f")] = PssFormat.table,  # noqa: A002
):
    """Evaluate workloads against a Pod Security Standards profile (exit 1 when any is denied).

    Prints one verdict per workload: its pod template (Deployment, StatefulSet, DaemonSet,
    ReplicaSet, Job, CronJob…) or the bare Pod. Files that do not parse are skipped with a
    warning. Exit 0 when every workload is allowed, 1 when any is denied, 2 on errors.
    """
    from zt_toolkit.analysis.pss import evaluate_path, parse_version

    try:
        if missing := [str(p) for p in paths if not p.exists()]:
            raise ZtError(f"no such file or directory: {', '.join(missing)}")
        parse_version(version)
        verdicts, warnings = evaluate_path(paths, level.value, version)
    except (ZtError, ValueError) as exc:
        _fail(exc)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    if verdicts.empty:
        _fail(ZtError("no Pods or workloads with a pod template found in "
                      + ", ".join(str(p) for p in paths)))
    denied = int((~verdicts.allowed).sum())
    if format is PssFormat.json:
        records = [{
            "kind": r.kind, "namespace": r.namespace, "name": r.name, "level": r.level,
            "version": r.version, "allowed": bool(r.allowed),
            "violations": [{"check_id": v.check_id, "reason": v.reason, "detail": v.detail}
                           for v in r.violations],
            **({"source": r.source} if r.source else {}),
        } for r in verdicts.itertuples(index=False)]
        sys.stdout.write(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        table = Table(title=f"Pod Security Standards: {level.value} {verdicts.version.iloc[0]}")
        for col in ("workload", "verdict", "violations"):
            table.add_column(col, overflow="fold")
        for r in verdicts.itertuples(index=False):
            verdict = "[green]allowed[/]" if r.allowed else "[red]denied[/]"
            detail = "\n".join(f"{v.check_id}: {v.detail}" for v in r.violations)
            table.add_row(escape(f"{r.kind} {r.namespace}/{r.name}"), verdict, escape(detail))
        Console(width=max(Console().width, 120)).print(table)
    console.print(f"{len(verdicts)} workload(s): {len(verdicts) - denied} allowed, {denied} denied "
                  f"at {level.value} {verdicts.version.iloc[0]}")
    if denied:
        raise typer.Exit(1)


class NetpolFormat(StrEnum):
    """Output formats of `zt netpol`."""

    np_guard = "np-guard"
    csv = "csv"
    json = "json"


@app.command()
def netpol(
    path: Annotated[Path, typer.Argument(
        metavar="PATH",
        help="A snapshot (directory, .tar.gz, .zip), or a manifest file or folder.")],
    format: Annotated[NetpolFormat, typer.Option("--format", "-f")] = (  # noqa: A002
        NetpolFormat.np_guard),
):
    """Print the workload connectivity that the NetworkPolicies allow ("as written").

    One line per (source, destination) pair with an allowed connection, in np-guard
    netpol-analyzer's `list` format (`SRC => DST : CONNS`), csv (`src,dst,conn`) or json.
    Files that do not parse are skipped with a warning.
    """
    from zt_toolkit.analysis.netpol import format_connections, reachability_from_path

    try:
        if not path.exists():
            raise ZtError(f"no such file or directory: {path}")
        reach, warnings = reachability_from_path(path)
    except ZtError as exc:
        _fail(exc)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    sys.stdout.write(format_connections(reach, format.value))


if __name__ == "__main__":
    app()
