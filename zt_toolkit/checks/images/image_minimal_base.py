import re

import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.images import home_registry, scans_for_images, try_parse_image_reference

# Names that say "minimal base": distroless, scratch, Chainguard (cgr.dev), Alpine, *-minimal,
# static (gcr.io/distroless/static ...). Matched on registry/repository:tag as components.
MINIMAL_NAME = re.compile(
    r"distroless|chainguard|^cgr\.dev/|alpine|minimal"
    r"|(?:^|[/:._-])(?:scratch|static)(?:$|[/:._-])",
    re.IGNORECASE,
)
# Packages whose presence proves a shell or a download tool in the image.
SHELL_PACKAGES = frozenset({"bash", "dash", "busybox", "zsh", "ksh", "mksh", "tcsh", "ash",
                            "curl", "wget"})


def name_evidence(image: str) -> str | None:
    """Return the part of an image name that says it is built on a minimal base, if any."""
    ref = try_parse_image_reference(image)
    text = f"{ref.name}:{ref.tag or ''}" if ref else str(image)
    m = MINIMAL_NAME.search(text)
    return m.group(0).strip("/:._-") if m else None


@check(
    id="image_minimal_base",
    pillar=Pillar.IMAGES,
    severity=Severity.LOW,
    title="Images are built on a minimal base without shell or download tools",
    requires=("containers",),
    reason="no evidence of a minimal base image",
    remediation="Build on a distroless, scratch or Chainguard base (multi-stage build: compile "
    "in a full image, copy the binary into gcr.io/distroless/static or cgr.dev/chainguard/"
    "static), so that an intruder finds no shell, package manager, curl or wget.",
    references=("seed", "BPG image"),
)
def image_minimal_base(frames) -> pd.DataFrame:
    """A shell and download tools in the image are an intruder's first tools after a foothold.

    Evidence is mostly the image name: distroless, scratch, chainguard / cgr.dev, alpine,
    ``-minimal``, ``static`` pass. Otherwise the running digest's ECR scan findings are read
    (when scans were collected): a finding on bash, dash, busybox, another shell, curl or wget
    proves the tool is there and the detail names it. ECR findings list vulnerable packages
    only, never the full package inventory, so their silence proves nothing: without name
    evidence the container fails as "no evidence" (basic scans rarely help; the verdict is
    mostly name-based). Ephemeral (debug) containers are left out: they carry tools by design.
    """
    c = frames.containers[frames.containers.container_type.ne("ephemeral")]
    evidence = {img: name_evidence(img) for img in pd.unique(c.image)}
    shells = _shell_packages(frames)
    why = []
    for r in c[["kind", "namespace", "name", "container", "image"]].itertuples(index=False):
        if evidence[r.image]:
            why.append(None)
            continue
        found = shells.get((r.kind, r.namespace, r.name, r.container))
        why.append(f"scan findings show {', '.join(sorted(found))}" if found
                   else "no minimal-base evidence")
    why_s = pd.Series(why, index=c.index, dtype=object)
    what = c.container + " (" + why_s.fillna("").astype(str) + ")"
    return results_by_workload(c, why_s.notna(), what=what)


def _shell_packages(frames) -> dict[tuple[str, str, str, str], set[str]]:
    """Shell / download-tool packages named by the scan findings of each running container."""
    if frames.gaps(["running_images", "image_scans"]):
        return {}
    account, _ = home_registry(frames)
    ri = frames.running_images
    if not account:
        return {}
    joined = scans_for_images(ri[ri.ecr_account.eq(account).fillna(False).astype(bool)],
                              frames.image_scans, account)
    out: dict[tuple[str, str, str, str], set[str]] = {}
    for r in joined.itertuples(index=False):
        packages = r.packages if isinstance(r.packages, frozenset) else frozenset()
        hits = {p for p in packages if p.lower() in SHELL_PACKAGES}
        if hits:
            out.setdefault((r.kind, r.namespace, r.name, r.container), set()).update(hits)
    return out
