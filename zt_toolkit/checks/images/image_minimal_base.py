import re

import pandas as pd

from zt_toolkit.checks.images._common import image_label, per_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.images import (
    SCAN_RESULT_STATUSES,
    home_registry,
    scans_for_images,
    try_parse_image_reference,
)

# Names that say "minimal base": distroless, scratch, Chainguard (cgr.dev), Alpine, *-minimal,
# static (gcr.io/distroless/static ...). Matched on registry/repository:tag as components.
MINIMAL_NAME = re.compile(
    r"distroless|chainguard|^cgr\.dev/|alpine|minimal"
    r"|(?:^|[/:._-])(?:scratch|static)(?:$|[/:._-])",
    re.IGNORECASE,
)
# Packages whose presence proves a shell or a download tool in the image.
SHELL_PACKAGES = frozenset({"bash", "dash", "busybox", "busybox-binsh", "zsh", "ksh", "mksh",
                            "tcsh", "ash", "curl", "curl-minimal", "wget", "wget2"})


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

    Two kinds of evidence, and the detail says which one decided. Package evidence first: when
    the ECR scan findings of the running digest (scans collected, image in the account's ECR)
    name bash, dash, busybox, another shell, curl or wget, the tool is in the image and the
    container fails, even when its name looks minimal (an ``-alpine`` image ships busybox).
    Otherwise the name: distroless, scratch, chainguard / cgr.dev, alpine, ``-minimal``,
    ``static`` pass; any other name fails as "no minimal-base evidence".

    ECR findings list only *vulnerable* packages, never the image's package inventory: the
    absence of a shell in the findings is not proof that there is none, so it never makes a
    container pass by itself. Ephemeral (debug) containers are left out: they carry tools by
    design. Containers not collected: not assessed (the runner).
    """
    c = frames.containers[frames.containers.container_type.ne("ephemeral")]
    evidence = {img: name_evidence(img) for img in pd.unique(c.image)}
    shells, scanned = _shell_packages(frames)
    failed, texts = [], []
    for r in c[["kind", "namespace", "name", "container", "image"]].itertuples(index=False):
        key = (r.kind, r.namespace, r.name, r.container)
        found = shells.get(key)
        name = evidence[r.image]
        ref = try_parse_image_reference(r.image)
        label = (image_label(r.container, ref.repository, ref.tag, ref.digest)
                 if ref is not None and ref.is_ecr else f'"{r.container}" {r.image}')
        if found:
            failed.append(True)
            text = f"{label}: scan findings of the running digest name {', '.join(sorted(found))}"
            texts.append(text + (f" although the name says {name}" if name else ""))
        elif name:
            failed.append(False)
            texts.append(f"{label}: name says {name}"
                         + ("; scan findings name no shell or download tool" if key in scanned
                            else ""))
        else:
            failed.append(True)
            texts.append(f"{label}: no minimal-base evidence in the name"
                         + ("; scan findings name no shell (no proof: they list vulnerable "
                            "packages only)" if key in scanned else ""))
    status = pd.Series(["fail" if f else "pass" for f in failed], dtype=object)
    return per_workload(c.reset_index(drop=True), status, pd.Series(texts, dtype=object),
                        precedence=("fail", "pass"))


def _shell_packages(frames) -> tuple[dict[tuple[str, str, str, str], set[str]],
                                     set[tuple[str, str, str, str]]]:
    """Shell / download-tool packages named by the scan findings of each running container.

    Returns the packages per container and the containers whose running digest has a scan
    result at all (empty when scans or running images are not available).
    """
    if frames.gaps(["running_images", "image_scans"]):
        return {}, set()
    account, _ = home_registry(frames)
    ri = frames.running_images
    if not account:
        return {}, set()
    joined = scans_for_images(ri[ri.ecr_account.eq(account).fillna(False).astype(bool)],
                              frames.image_scans, account)
    out: dict[tuple[str, str, str, str], set[str]] = {}
    scanned: set[tuple[str, str, str, str]] = set()
    for r in joined.itertuples(index=False):
        key = (r.kind, r.namespace, r.name, r.container)
        if r.scan_status in SCAN_RESULT_STATUSES:
            scanned.add(key)
        packages = r.packages if isinstance(r.packages, frozenset) else frozenset()
        hits = {p for p in packages if p.lower() in SHELL_PACKAGES}
        if hits:
            out.setdefault(key, set()).update(hits)
    return out, scanned
