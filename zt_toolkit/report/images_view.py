"""The images pillar's views: summaries, charts and narrative for notebook `04_images`.

Every view reads the ``image_inventory`` frame (:func:`zt_toolkit.frames.images.
build_image_inventory`): one row per workload × container × running digest with its provenance,
ECR repository settings, scan result and admission verdict. Tables go through the report's
render path (escaped); Markdown escapes every cluster-controlled name with
:func:`~zt_toolkit.report.notebook.md_escape` and puts commands in
:func:`~zt_toolkit.report.markdown.fenced` blocks.

Examples
--------
>>> import zt_toolkit.report as zt
>>> a = zt.setup("reports/demo-snapshot", None, "Acme", "/tmp/out")     # doctest: +SKIP
>>> zt.summarize_vulnerable_workloads(a)                                # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown

from zt_toolkit.analysis.admission import AdmissionVerdict, vulnerable_image_answer
from zt_toolkit.report import tables as t
from zt_toolkit.report.charts import (
    chart_layout,
    grouped_bars,
    placeholder,
    placeholder_if_empty,
    plotly_escape,
    shorten,
)
from zt_toolkit.report.markdown import fenced, is_k8s_name
from zt_toolkit.report.notebook import md_escape, plural
from zt_toolkit.report.theme import MUTED, SEVERITY_COLORS, SEVERITY_LABELS, STATUS_COLORS

if TYPE_CHECKING:
    from zt_toolkit.assessment import Assessment

__all__ = [
    "narrate_image_remediation", "plot_scan_age", "plot_workload_vulnerabilities",
    "summarize_image_provenance", "summarize_mutable_references",
    "summarize_repository_scanning", "summarize_vulnerable_workloads",
]

_COUNTED = ("CRITICAL", "HIGH")


def _inventory(assessment: Assessment) -> tuple[pd.DataFrame | None, str]:
    inv, why = t.frame_or_note(assessment, "image_inventory")
    return inv, why


def _short_digest(digest: Any) -> str:
    if not isinstance(digest, str) or ":" not in digest:
        return ""
    algo, _, rest = digest.partition(":")
    return f"{algo}:{rest[:12]}"


def _image_text(r: Any) -> str:
    """``storefront/frontend:3.2.0-alpine`` for ECR images, the reference otherwise."""
    if isinstance(r.repository, str) and r.provenance.endswith("ECR"):
        return r.repository + (f":{r.tag}" if isinstance(r.tag, str) else "")
    return str(r.image)


def _cve_text(v: Any) -> str:
    pkg = " ".join(p for p in (v.package, v.version or "") if p)
    fix = f" → {v.fixed_in}" if v.fixed_in else ""
    return f"{v.id} ({pkg}{fix})" if pkg or fix else v.id


def _counted_severities(assessment: Assessment) -> list[str]:
    from zt_toolkit.checks.registry import get_check

    try:
        chk = get_check("running_image_vulnerabilities_absent")
        params = assessment.config.params_for(chk.id, chk.parameters)
        return [str(s).upper() for s in params["severities"]]
    except Exception:  # noqa: BLE001 - a broken config is reported by the checks, not here
        return list(_COUNTED)


def _max_age_days(assessment: Assessment) -> int:
    from zt_toolkit.checks.registry import get_check

    try:
        chk = get_check("running_image_scanned")
        return int(assessment.config.params_for(chk.id, chk.parameters)["max_age_days"])
    except Exception:  # noqa: BLE001
        return 30


def summarize_vulnerable_workloads(assessment: Assessment, n_cves: int = 3) -> pd.DataFrame:
    """Which running workloads carry critical or high CVEs, and would admission have blocked them.

    One row per workload × container × running digest whose scan result has a finding at the
    severities ``running_image_vulnerabilities_absent`` counts (default critical and high):
    ``workload, container, image, digest, critical, high, worst_findings`` (the ``n_cves``
    worst, with package, version and → fixed-in version when the enhanced finding gives one),
    ``scan_age_days``, ``admission`` (the verdict of
    :func:`~zt_toolkit.analysis.admission.evaluate_image_admission`) and ``would_block`` (the answer
    for a vulnerable image: a signature-only policy does not block a signed image with CVEs).
    Most critical first. The note counts running images without a scan result: they are not
    known to be clean.

    Examples
    --------
    >>> from zt_toolkit import assess
    >>> df = summarize_vulnerable_workloads(assess(DEMO))                  # doctest: +SKIP
    >>> df.loc[0, ["workload", "critical", "high", "admission"]].tolist()  # doctest: +SKIP
    ['Deployment storefront/frontend', 1, 2, 'blocked']
    """
    cols = ["workload", "container", "image", "digest", "critical", "high", "worst_findings",
            "scan_age_days", "admission", "would_block"]
    inv, why = _inventory(assessment)
    if inv is None:
        return t.empty_table(cols, f"Running images {why}.")
    if inv["scan_state"].eq("scans not collected").any() and not inv["scan_state"].eq(
            "scanned").any():
        return t.empty_table(cols, "Image scan results were not collected: which running images "
                              "carry vulnerabilities is unknown.")
    severities = _counted_severities(assessment)
    scanned = inv[inv["scan_state"].eq("scanned")]
    counted = sum(scanned[s.lower()].fillna(0).astype(int) for s in severities
                  if s.lower() in scanned) if not scanned.empty else pd.Series(dtype=int)
    vulnerable = scanned[counted > 0] if not scanned.empty else scanned
    rows = []
    for r in vulnerable.itertuples(index=False):
        worst = [v for v in (r.vulnerabilities or ()) if v.severity in severities]
        rows.append({
            "workload": t.resource_label(r.kind, r.namespace, r.name), "container": r.container,
            "image": _image_text(r), "digest": _short_digest(r.digest),
            "critical": int(r.critical), "high": int(r.high),
            "worst_findings": "; ".join(list(dict.fromkeys(_cve_text(v) for v in worst))[:n_cves]),
            "scan_age_days": r.scan_age_days, "admission": r.admission_verdict,
            "would_block": ": ".join(vulnerable_image_answer(AdmissionVerdict(
                r.admission_verdict, r.admission_policies, r.admission_verifies,
                r.admission_detail))),
        })
    out = pd.DataFrame(rows, columns=cols)
    if not out.empty:
        out = out.sort_values(["critical", "high", "workload", "container"],
                              ascending=[False, False, True, True]).reset_index(drop=True)
    own = inv[inv["provenance"].eq("own-account ECR")]
    unknown = own[~own["scan_state"].eq("scanned")]
    outside = inv[~inv["provenance"].eq("own-account ECR")]
    notes = []
    if out.empty:
        notes.append(f"No scanned running image has a {'/'.join(severities).lower()} finding.")
    if not unknown.empty:
        notes.append(f"{plural(len(unknown), 'running image')} of the account's ECR "
                     f"{'has' if len(unknown) == 1 else 'have'} no scan result "
                     "(not known to be clean).")
    if not outside.empty:
        notes.append(f"{plural(len(outside), 'running image')} from other registries "
                     "cannot be judged from the account's ECR scans.")
    if notes:
        out.attrs["note"] = " ".join(notes)
    # the raw verdict ("blocked" by a signature-only policy) would read as a yes: show the answer
    out.attrs["display_columns"] = [c for c in cols if c != "admission"]
    out.attrs["column_labels"] = {"would_block": "Would admission block it?"}
    return out


def plot_workload_vulnerabilities(assessment: Assessment) -> go.Figure:
    """CVE severity by running workload: critical, high, medium and low findings, stacked.

    One bar per workload (findings of all its running digests summed), for the workloads whose
    images have a scan result with at least one finding; most critical first.
    """
    title = "CVE severity by running workload"
    inv, why = _inventory(assessment)
    if inv is None:
        return placeholder(title, f"Running images {why}.")
    scanned = inv[inv["scan_state"].eq("scanned")].copy()
    if scanned.empty:
        return placeholder(title, "No running image has a scan result.")
    sev = ["critical", "high", "medium", "low"]
    for s in sev:
        scanned[s] = scanned[s].fillna(0).astype(int)
    scanned["workload"] = [t.resource_label(k, ns, n) for k, ns, n in
                           zip(scanned["kind"], scanned["namespace"], scanned["name"],
                               strict=True)]
    per = scanned.groupby("workload")[sev].sum()
    per = per[per.sum(axis=1) > 0].sort_values(sev, ascending=False)
    if per.empty:
        return placeholder(title, "No scanned running image has a finding.")
    labels = [plotly_escape(shorten(w, 50)) for w in per.index]
    fig = go.Figure()
    for s in sev:
        fig.add_bar(y=labels, x=per[s], name=SEVERITY_LABELS[s], orientation="h",
                    marker_color=SEVERITY_COLORS[s])
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text="findings in the running digest's scan")
    return chart_layout(fig, title, height=max(240, 120 + 26 * len(labels)))


def summarize_repository_scanning(assessment: Assessment) -> pd.DataFrame:
    """Per ECR repository the cluster runs images from: how it is scanned and how fresh.

    Columns: ``repository, scan_type`` (BASIC / ENHANCED), ``scan_frequency`` (SCAN_ON_PUSH,
    CONTINUOUS_SCAN, MANUAL, none), ``tag_mutability``, ``running_images`` (distinct running
    digests), ``workloads``, ``scanned`` and ``unscanned`` digests, ``oldest_scan_days``
    (the oldest scan result of a running digest). Unscanned repositories first.
    """
    cols = ["repository", "scan_type", "scan_frequency", "tag_mutability", "running_images",
            "workloads", "scanned", "unscanned", "oldest_scan_days"]
    inv, why = _inventory(assessment)
    if inv is None:
        return t.empty_table(cols, f"Running images {why}.")
    own = inv[inv["provenance"].eq("own-account ECR") & inv["repository"].notna()].copy()
    if own.empty:
        return t.empty_table(cols, "No running image comes from the account's ECR.")
    own["workload"] = [t.resource_label(k, ns, n) for k, ns, n in
                       zip(own["kind"], own["namespace"], own["name"], strict=True)]
    own["digest_key"] = own["digest"].astype("string").fillna(own["image"])
    rows = []
    for repo, g in own.groupby("repository", sort=True):
        digests = g.drop_duplicates("digest_key")
        scanned = digests["scan_state"].eq("scanned")
        unknown = digests["scan_state"].eq("scans not collected").any()
        ages = g["scan_age_days"].dropna()
        rows.append({
            "repository": repo, "scan_type": g["scan_type"].iloc[0],
            "scan_frequency": g["scan_frequency"].iloc[0],
            "tag_mutability": g["tag_mutability"].iloc[0],
            "running_images": len(digests), "workloads": g["workload"].nunique(),
            "scanned": pd.NA if unknown else int(scanned.sum()),
            "unscanned": pd.NA if unknown else int((~scanned).sum()),
            "oldest_scan_days": int(ages.max()) if not ages.empty else pd.NA,
        })
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["unscanned", "oldest_scan_days", "repository"],
                          ascending=[False, False, True], na_position="first")
    out = out.reset_index(drop=True)
    if inv["scan_state"].eq("scans not collected").any():
        out.attrs["note"] = "Image scan results were not collected: scanned counts are unknown."
    return out


def plot_scan_age(assessment: Assessment) -> go.Figure:
    """Age of the scan result of every running image of the account's ECR, against the limit.

    Bars in days since the last scan (at collection), coloured pass / fail against
    ``running_image_scanned``'s ``max_age_days``; images without a scan result are drawn as
    full-width bars labelled with their state (never scanned, scan failed, no record).
    """
    title = "Scan age of running images (days before collection)"
    inv, why = _inventory(assessment)
    if inv is None:
        return placeholder(title, f"Running images {why}.")
    own = inv[inv["provenance"].eq("own-account ECR")].copy()
    if own.empty:
        return placeholder(title, "No running image comes from the account's ECR.")
    if own["scan_state"].eq("scans not collected").all():
        return placeholder(title, "Image scan results were not collected.")
    limit = _max_age_days(assessment)
    own["label"] = [plotly_escape(shorten(_image_text(r), 50)) for r in own.itertuples(index=False)]
    own = own.drop_duplicates("label")
    scanned = own[own["scan_age_days"].notna()].sort_values("scan_age_days", ascending=False)
    missing = own[own["scan_age_days"].isna()]
    top = max([limit * 1.5, *scanned["scan_age_days"].astype(float).tolist()])
    fig = go.Figure()
    if not missing.empty:
        fig.add_bar(y=missing["label"], x=[top] * len(missing), orientation="h",
                    name="no scan result", marker_color=STATUS_COLORS["fail"],
                    marker_pattern_shape="/",
                    text=[plotly_escape(s) for s in missing["scan_state"]],
                    textposition="inside", insidetextanchor="start")
    stale = scanned["scan_age_days"].astype(int) > limit
    for mask, name, color in ((~stale, f"≤ {limit} days", STATUS_COLORS["pass"]),
                              (stale, f"older than {limit} days", SEVERITY_COLORS["high"])):
        part = scanned[mask]
        if not part.empty:
            fig.add_bar(y=part["label"], x=part["scan_age_days"].astype(int), orientation="h",
                        name=name, marker_color=color,
                        text=[f"{d} d" for d in part["scan_age_days"].astype(int)],
                        textposition="outside")
    fig.add_vline(x=limit, line_dash="dash", line_color=MUTED)
    order = [*missing["label"], *scanned["label"]]
    fig.update_yaxes(categoryorder="array", categoryarray=order, autorange="reversed")
    fig.update_xaxes(title_text="days since the running digest was scanned")
    return chart_layout(fig, title, height=max(240, 120 + 26 * len(order)))


PROVENANCE_COLORS = {
    "own-account ECR": STATUS_COLORS["pass"], "other-account ECR": "#4c9be8",
    "EKS add-on registry": "#9aa5b1", "ECR Public": "#1d5fa8",
    "Docker Hub": SEVERITY_COLORS["high"], "other public registry": SEVERITY_COLORS["medium"],
    "other private registry": "#8e6cbf", "unparseable": SEVERITY_COLORS["critical"],
}


def summarize_image_registries(assessment: Assessment) -> pd.DataFrame:
    """Where running images come from: one row per registry, with its provenance class.

    Columns: ``registry, provenance`` (:func:`zt_toolkit.frames.images.image_provenance`, the
    class the checks use), ``images`` (distinct references), ``workloads``, ``namespaces``;
    most workloads first.

    Examples
    --------
    >>> summarize_image_registries(a).loc[0, ["registry", "provenance"]]   # doctest: +SKIP
    """
    cols = ["registry", "provenance", "images", "workloads", "namespaces"]
    inv, why = _inventory(assessment)
    if inv is None:
        return t.empty_table(cols, f"Running images {why}.")
    if inv.empty:
        return t.empty_table(cols, "No running image.")
    df = inv.assign(registry=inv["registry"].astype("string").fillna("(unparseable)"),
                    workload=[t.resource_label(k, ns, n) for k, ns, n in
                              zip(inv["kind"], inv["namespace"], inv["name"], strict=True)])
    out = (df.groupby("registry")
           .agg(provenance=("provenance", "first"), images=("image", "nunique"),
                workloads=("workload", "nunique"), namespaces=("namespace", "nunique"))
           .reset_index())
    return out.sort_values(["workloads", "registry"], ascending=[False, True])[cols] \
        .reset_index(drop=True)


def plot_image_registries(assessment: Assessment, top: int = 12) -> go.Figure:
    """Draw workloads per image registry, coloured by provenance class.

    Examples
    --------
    >>> plot_image_registries(a).show()                                   # doctest: +SKIP
    """
    title = "Where running images come from (workloads per registry)"
    s = summarize_image_registries(assessment)
    if s.empty:
        return placeholder(title, s.attrs.get("note") or "No running image.")
    s = s.head(top)
    labels = [plotly_escape(r) for r in s["registry"]]
    fig = go.Figure()
    for provenance in dict.fromkeys(s["provenance"]):
        mask = (s["provenance"] == provenance).tolist()
        fig.add_bar(y=[lab for lab, m in zip(labels, mask, strict=True) if m],
                    x=s.loc[mask, "workloads"], name=provenance, orientation="h",
                    marker_color=PROVENANCE_COLORS.get(provenance, MUTED),
                    text=s.loc[mask, "workloads"], textposition="inside", textangle=0)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text="workloads")
    rows = (len(fig.data) + 2) // 3
    return chart_layout(fig, title, height=max(240, 120 + 26 * len(labels)) + 18 * rows,
                        margin={"t": 60 + 18 * rows})


def summarize_image_provenance(assessment: Assessment) -> pd.DataFrame:
    """Where running images come from, by provenance class.

    Classes: own-account ECR, other-account ECR, EKS add-on registry (AWS), ECR Public, Docker
    Hub, other public registry, other private registry. Columns: ``provenance, registries``
    (the hosts, comma separated), ``images`` (distinct references), ``workloads``,
    ``namespaces``, ``scanned`` (images with a scan result in the account's ECR).
    """
    cols = ["provenance", "registries", "images", "workloads", "namespaces", "scanned"]
    inv, why = _inventory(assessment)
    if inv is None:
        return t.empty_table(cols, f"Running images {why}.")
    if inv.empty:
        return t.empty_table(cols, "No running image.")
    df = inv.assign(workload=[t.resource_label(k, ns, n) for k, ns, n in
                              zip(inv["kind"], inv["namespace"], inv["name"], strict=True)],
                    is_scanned=inv["scan_state"].eq("scanned"),
                    registry=inv["registry"].astype("string").fillna("?"))
    rows = []
    for prov, g in df.groupby("provenance", sort=False):
        rows.append({"provenance": prov,
                     "registries": ", ".join(sorted(set(g["registry"]))),
                     "images": g["image"].nunique(), "workloads": g["workload"].nunique(),
                     "namespaces": g["namespace"].nunique(),
                     "scanned": int(g.drop_duplicates("image")["is_scanned"].sum())})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["workloads", "provenance"], ascending=[False, True]) \
        .reset_index(drop=True)


def summarize_mutable_references(assessment: Assessment) -> pd.DataFrame:
    """Running images whose reference can silently change: not pinned by digest, mutable tag.

    A reference is stable when it carries a digest, or a non-``latest`` tag in an
    own-account ECR repository that keeps the tag immutable. EKS add-on images are left out
    (the note counts them). Columns: ``workload, container, image, provenance, tag_mutability,
    why``.
    """
    from zt_toolkit.frames.images import try_parse_image_reference

    cols = ["workload", "container", "image", "provenance", "tag_mutability", "why"]
    inv, why = _inventory(assessment)
    if inv is None:
        return t.empty_table(cols, f"Running images {why}.")
    rows = []
    addons = 0
    for r in inv.itertuples(index=False):
        ref = try_parse_image_reference(r.image)
        if ref is not None and ref.digest:
            continue
        if ref is None:
            reason = "unparseable reference"
        elif ref.effective_tag == "latest":
            reason = "latest tag" if ref.tag else "no tag (pulls latest)"
        elif pd.notna(r.tag_immutable) and bool(r.tag_immutable):
            continue
        elif r.provenance == "EKS add-on registry":
            addons += 1
            continue
        elif r.provenance == "own-account ECR":
            reason = f"tag {ref.tag} in a {r.tag_mutability or 'MUTABLE'} repository"
        else:
            reason = f"tag {ref.tag} on {ref.registry}: nothing keeps it immutable"
        rows.append({"workload": t.resource_label(r.kind, r.namespace, r.name),
                     "container": r.container, "image": str(r.image),
                     "provenance": r.provenance,
                     "tag_mutability": r.tag_mutability if isinstance(r.tag_mutability, str)
                     else "", "why": reason})
    out = pd.DataFrame(rows, columns=cols)
    notes = []
    if out.empty:
        notes.append("Every running image is pinned by digest or by an immutable tag.")
    if addons:
        notes.append(f"{plural(addons, 'EKS add-on container')} (AWS-versioned eksbuild tags, "
                     "judged against the EKS baseline) left out.")
    if notes:
        out.attrs["note"] = " ".join(notes)
    return out


# ------------------------------------------------------------------------------------------
# narrative
# ------------------------------------------------------------------------------------------
def _kyverno_policy(namespaces: list[str], registry_glob: str) -> str:
    body = {
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "block-vulnerable-images"},
        "spec": {"webhookTimeoutSeconds": 30, "rules": [{
            "name": "no-critical-or-high-cves",
            "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": namespaces}}]},
            "verifyImages": [{
                "imageReferences": [registry_glob],
                "failureAction": "Enforce",
                "attestations": [{
                    "type": "https://cosign.sigstore.dev/attestation/vuln/v1",
                    "attestors": [{"entries": [{"keys": {
                        "kms": "awskms:///<signing-key-arn>"}}]}],
                    "conditions": [{"all": [{
                        "key": "{{ scanner.result.Results[].Vulnerabilities[].Severity }}",
                        "operator": "AllNotIn", "value": ["CRITICAL", "HIGH"]}]}],
                }],
            }],
        }]},
    }
    import yaml

    return yaml.safe_dump(body, sort_keys=False)


def narrate_image_remediation(assessment: Assessment, n: int = 5) -> Markdown:
    """Write the images remediation: numbers from the cluster, then concrete steps.

    Which running workloads carry critical/high CVEs and what admission does about them; ECR
    scanning (``aws ecr put-registry-scanning-configuration`` to ENHANCED with continuous
    scanning), stale and missing scans, mutable repositories (``aws ecr
    put-image-tag-mutability``), the images to rebuild (with fixed-in versions when the scan
    gives them), images pulled from public registries, and a Kyverno ``verifyImages`` policy
    that enforces a vulnerability attestation in the affected namespaces. Names are escaped;
    only valid Kubernetes / ECR names reach a code block.

    Examples
    --------
    >>> narrate_image_remediation(assess("reports/demo-snapshot"))   # doctest: +SKIP
    """
    inv, why = _inventory(assessment)
    if inv is None:
        return Markdown(md_escape(f"No image remediation: running images {why}."))
    vuln = summarize_vulnerable_workloads(assessment)
    repos = summarize_repository_scanning(assessment)
    max_age = _max_age_days(assessment)
    own = inv[inv["provenance"].eq("own-account ECR")]
    parts: list[str] = []
    steps: list[str] = []

    # what we found
    if vuln.empty:
        parts.append(md_escape(vuln.attrs.get("note", "No vulnerable running image.")))
    else:
        workloads = vuln["workload"].nunique()
        crit, high = int(vuln["critical"].sum()), int(vuln["high"].sum())
        blocked = vuln["would_block"].str.startswith("yes").sum()
        lines = [f"**{plural(workloads, 'running workload')}** "
                 f"{'carries' if workloads == 1 else 'carry'} images with {crit} critical and "
                 f"{high} high findings; admission would have blocked "
                 f"{'none' if not blocked else plural(int(blocked), 'of them', 'of them')}."]
        for r in vuln.head(n).itertuples(index=False):
            lines.append(f"- {md_escape(r.workload)} (container {md_escape(r.container)}, "
                         f"{md_escape(r.image)}): {r.critical} critical, {r.high} high — "
                         f"{md_escape(r.worst_findings)}. Admission: {md_escape(r.would_block)}.")
        parts.append("\n".join(lines))

    # 1. ECR scanning
    scanning_types = set(own["scan_type"].dropna())
    if own.empty:
        pass
    elif scanning_types == {"ENHANCED"}:
        text = _enhanced_scanning_step(assessment, repos)
        if text:
            steps.append(text)
    elif scanning_types != {"ENHANCED"} or own["scan_frequency"].ne("CONTINUOUS_SCAN").any():
        manual = sorted(repos.loc[repos["scan_frequency"].isin(["MANUAL", "none"]),
                                  "repository"].astype(str)) if not repos.empty else []
        mode = "/".join(sorted(scanning_types)) or "in an unknown mode"
        text = ("**Turn on enhanced scanning (Amazon Inspector) with continuous re-scans.** "
                f"Today the registry scans {mode}; basic scans run once (on push or on "
                "demand), never tell you about a CVE published after the push, and give no "
                "fixed-in version.")
        if manual:
            text += (f" {plural(len(manual), 'repository', 'repositories')} the cluster runs "
                     f"from {'is' if len(manual) == 1 else 'are'} not scanned on push at all: "
                     + ", ".join(md_escape(m) for m in manual) + ".")
        text += "\n\n" + fenced(
            "aws ecr put-registry-scanning-configuration --scan-type ENHANCED \\\n"
            "  --rules '[{\"scanFrequency\":\"CONTINUOUS_SCAN\","
            "\"repositoryFilters\":[{\"filter\":\"*\",\"filterType\":\"WILDCARD\"}]}]'", "sh")
        steps.append(text)

    # 2. missing and stale scans
    stale = own[own["scan_age_days"].notna() & (own["scan_age_days"].fillna(0) > max_age)]
    unscanned = own[own["scan_state"].isin(["never scanned", "scan failed", "no scan record"])]
    if not stale.empty or not unscanned.empty:
        items = [f"{md_escape(_image_text(r))} ({md_escape(r.scan_state)}"
                 + (f", {int(r.scan_age_days)} days" if pd.notna(r.scan_age_days) else "") + ")"
                 for r in pd.concat([unscanned, stale]).drop_duplicates("image")
                 .itertuples(index=False)]
        cmds = [f"aws ecr start-image-scan --repository-name {r.repository} "
                f"--image-id imageDigest={r.digest}"
                for r in pd.concat([unscanned, stale]).drop_duplicates("digest")
                .itertuples(index=False)
                if _ecr_name(r.repository) and isinstance(r.digest, str)
                and _ecr_name(r.digest.replace(":", "-"))]
        text = (f"**Scan what runs now.** {plural(len(items), 'running image')} "
                f"{'has' if len(items) == 1 else 'have'} no result or one older than "
                f"{max_age} days: " + "; ".join(items) + ".")
        if scanning_types == {"ENHANCED"}:
            # StartImageScan runs basic scans only: an enhanced registry has no manual scan
            text += (" Enhanced scanning has no manual scan: once a continuous rule covers "
                     "their repositories (step 1), Amazon Inspector scans them; an image "
                     "pushed before the re-scan duration is scanned again only when pushed "
                     "again.")
        elif cmds:
            text += "\n\n" + fenced("\n".join(cmds), "sh")
        steps.append(text)

    # 3. rebuild vulnerable images
    if not vuln.empty:
        upgrades = _upgrades(inv, _counted_severities(assessment))
        fixes = []
        for r in vuln.drop_duplicates("image").itertuples(index=False):
            to, none = upgrades.get(r.image, ({}, {}))
            line = [f"- {md_escape(r.image)}: {md_escape(r.worst_findings)}."]
            if to:
                line.append("**Upgrade** " + ", ".join(
                    f"{md_escape(pkg)} to {md_escape(ver)}" for pkg, ver in to.items()) + ".")
            if none:
                line.append("No fixed version published yet: " + ", ".join(
                    f"{md_escape(pkg)} ({md_escape(', '.join(ids))})"
                    for pkg, ids in none.items()) + " (mitigate, or accept with a waiver).")
            fixes.append(" ".join(line))
        has_fix = any(to for to, _ in upgrades.values())
        text = ("**Rebuild the vulnerable images on a patched base and roll them out**"
                + (" (fixed-in versions as the enhanced scan reports them)" if has_fix else
                   " (the basic scan gives no fixed-in version: bump the base image and the "
                   "named packages to their distribution's current release)")
                + ":\n" + "\n".join(fixes))
        steps.append(text)

    # 4. tag immutability
    mutable = repos[repos["tag_mutability"].astype("string").fillna("MUTABLE")
                    .str.startswith("MUTABLE")] if not repos.empty else repos
    if not mutable.empty:
        names = [str(x) for x in mutable["repository"]]
        cmds = [f"aws ecr put-image-tag-mutability --repository-name {x} "
                "--image-tag-mutability IMMUTABLE" for x in names if _ecr_name(x)]
        text = (f"**Make tags immutable** in {plural(len(names), 'repository', 'repositories')} "
                "the cluster runs from (" + ", ".join(md_escape(x) for x in names) + "), and "
                "deploy by digest.")
        if cmds:
            text += "\n\n" + fenced("\n".join(cmds), "sh")
        steps.append(text)

    # 5. public registries
    public = inv[inv["provenance"].isin(["Docker Hub", "other public registry", "ECR Public",
                                         "other private registry"])
                 & ~inv["namespace"].isin(["kube-system"])]
    if not public.empty:
        names = sorted({str(x) for x in public["image"]})
        steps.append(
            f"**Mirror third-party images into ECR.** {plural(len(names), 'image')} outside "
            "the account's ECR run outside kube-system (" + ", ".join(
                md_escape(x) for x in names[:8]) + (", …" if len(names) > 8 else "")
            + "); no scan of the account covers them. An ECR pull-through cache rule "
            "(`aws ecr create-pull-through-cache-rule --ecr-repository-prefix docker-hub "
            "--upstream-registry-url registry-1.docker.io --credential-arn <secret-arn>`) "
            "mirrors and scans them.")

    # 6. admission
    vulnerable_ns = inv.loc[inv["scan_state"].eq("scanned")
                            & (inv["critical"].fillna(0) + inv["high"].fillna(0) > 0),
                            "namespace"]
    namespaces = sorted({str(x) for x in vulnerable_ns}) or sorted(
        {str(x) for x in own["namespace"]})
    valid = [x for x in namespaces if is_k8s_name(x)]
    registry = next((str(r) for r in own["registry"].dropna()), None)
    if valid and registry and _ecr_name(registry):
        blocked = inv["admission_verdict"].eq("blocked") & inv["admission_verifies"].map(
            lambda v: "vulnerabilities" in tuple(v or ()))
        if not blocked.all():
            steps.append(
                "**Block vulnerable images at admission.** Signature verification alone admits "
                "a signed image with known CVEs. Attach a signed vulnerability-scan attestation "
                "in CI and let Kyverno require it in the namespaces that run the vulnerable "
                "workloads (" + ", ".join(md_escape(x) for x in valid) + "). To pilot, set "
                "`failureAction: Audit` first and read the policy reports.\n\n"
                + fenced("trivy image --format cosign-vuln -o vuln.json <image>@<digest>\n"
                         "cosign attest --type vuln --predicate vuln.json \\\n"
                         "  --key awskms:///<signing-key-arn> <image>@<digest>", "sh")
                + "\n\n" + fenced(_kyverno_policy(valid, f"{registry}/*"), "yaml"))
    if steps:
        parts.append("### What to do\n\n" + "\n\n".join(
            f"**{i}.** {s}" for i, s in enumerate(steps, start=1)))
    return Markdown("\n\n".join(parts))


def _upgrades(inv: pd.DataFrame, severities: list[str],
              ) -> dict[str, tuple[dict[str, str], dict[str, list[str]]]]:
    """Per image text: {package: version to upgrade to}, {package: CVEs without a fix}.

    From the counted findings of scanned running images; the version to upgrade to is the
    highest fixed-in version any of the package's findings names (string order of versions
    that differ only in their release suffix is good enough for a remediation hint).
    """
    out: dict[str, tuple[dict[str, str], dict[str, list[str]]]] = {}
    scanned = inv[inv["scan_state"].eq("scanned")]
    for r in scanned.itertuples(index=False):
        to, none = out.setdefault(_image_text(r), ({}, {}))
        for v in r.vulnerabilities or ():
            if v.severity not in severities or not v.package:
                continue
            if v.fixed_in:
                to[v.package] = max(to.get(v.package, v.fixed_in), v.fixed_in)
            elif v.fix_available in ("NO", "PARTIAL") and v.id not in none.get(v.package, []):
                none.setdefault(v.package, []).append(v.id)
    return out


def _enhanced_scanning_step(assessment: Assessment, repos: pd.DataFrame) -> str | None:
    """The scanning step for a registry on ENHANCED scanning whose rules miss repositories."""
    if repos.empty:
        return None
    uncovered = sorted(str(x) for x in repos.loc[repos["scan_frequency"].eq("none"),
                                                 "repository"])
    on_push = sorted(str(x) for x in repos.loc[repos["scan_frequency"].eq("SCAN_ON_PUSH"),
                                               "repository"])
    if not uncovered and not on_push:
        return None
    scanning, _ = t.frame_or_note(assessment, "ecr_registry_scanning")
    current = [] if scanning is None else [
        f for reg in scanning.itertuples(index=False) for freq, fs in reg.rules for f in fs
        if freq in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")]
    parts = ["**Extend enhanced scanning (Amazon Inspector) to every repository the cluster "
             "runs from.** The registry uses enhanced scanning"
             + (" with the rule filters " + ", ".join(md_escape(f) for f in current)
                if current else " without any rule")]
    if uncovered:
        parts.append(f"; {plural(len(uncovered), 'repository', 'repositories')} "
                     f"{'matches' if len(uncovered) == 1 else 'match'} none of them and "
                     f"{'is' if len(uncovered) == 1 else 'are'} not scanned at all (their "
                     "repository-level scanOnPush no longer applies): "
                     + ", ".join(md_escape(x) for x in uncovered))
    if on_push:
        parts.append(f"; {plural(len(on_push), 'repository', 'repositories')} "
                     "only scanned on push (no re-scan when a CVE is published later): "
                     + ", ".join(md_escape(x) for x in on_push))
    text = "".join(parts) + ". Cover them with a continuous rule:"
    filters = [f for f in dict.fromkeys([*current, *uncovered, *on_push])
               if _ecr_name(f.replace("*", "x"))]
    rules = ",".join(f'{{"filter":"{f}","filterType":"WILDCARD"}}' for f in filters)
    return text + "\n\n" + fenced(
        "aws ecr put-registry-scanning-configuration --scan-type ENHANCED \\\n"
        f"  --rules '[{{\"scanFrequency\":\"CONTINUOUS_SCAN\",\"repositoryFilters\":[{rules}]}}]'",
        "sh")


def _ecr_name(value: Any) -> bool:
    """A repository name, registry host or digest safe to put in a shell command."""
    import re

    return isinstance(value, str) and re.fullmatch(r"[a-z0-9][a-z0-9._/:-]*", value) is not None


# ------------------------------------------------------------------------------------------
# how images are referenced (from the workload specs)
# ------------------------------------------------------------------------------------------

def image_reference_type(image: str) -> str:
    """``digest`` (pinned), ``latest`` (``:latest`` or no tag) or ``tag``.

    A reference that does not parse counts as ``latest``: nothing pins what it pulls.
    """
    from zt_toolkit.frames.images import try_parse_image_reference

    ref = try_parse_image_reference(image)
    if ref is not None and ref.digest:
        return "digest"
    return "tag" if ref is not None and ref.tag not in (None, "latest") else "latest"


def summarize_image_references(assessment: Assessment) -> pd.DataFrame:
    """How images are referenced, per namespace: pinned by digest, by tag, or ``latest``.

    Columns: ``namespace, digest, tag, latest, containers``.
    """
    cols = ["namespace", "digest", "tag", "latest", "containers"]
    c, why = t.frame_or_note(assessment, "containers")
    if c is None:
        return t.empty_table(cols, f"Image references {why}.")
    if c.empty:
        return t.empty_table(cols, "No container to evaluate.")
    kinds = c["image"].map(image_reference_type)
    out = (pd.crosstab(c["namespace"], kinds)
           .reindex(columns=["digest", "tag", "latest"], fill_value=0).astype(int))
    out["containers"] = out.sum(axis=1)
    out.index.name = "namespace"
    out.columns.name = None
    return out.reset_index().sort_values(["latest", "containers"], ascending=False)[cols] \
        .reset_index(drop=True)


def plot_image_references(assessment: Assessment) -> go.Figure:
    """Stack containers per namespace by image reference: digest, version tag, ``latest``."""
    title = "How images are referenced (containers per namespace)"
    s = summarize_image_references(assessment)
    empty = placeholder_if_empty(s, title, "No container.")
    if empty is not None:
        return empty
    return grouped_bars(s, "namespace", [
        ("digest", "Pinned by digest", STATUS_COLORS["pass"]),
        ("tag", "Version tag (mutable unless the repository is immutable)",
         SEVERITY_COLORS["low"]),
        ("latest", "latest or no tag", STATUS_COLORS["fail"]),
    ], title, "containers")
