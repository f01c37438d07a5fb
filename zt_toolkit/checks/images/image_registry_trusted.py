import fnmatch

import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.images import (
    EKS_ADDON_REGISTRY_ACCOUNTS,
    ImageReference,
    home_registry,
    try_parse_image_reference,
)


def allowed(ref: ImageReference, entries: list[str]) -> str | None:
    """Return the allow-list entry that covers ``ref``, or None.

    An entry is a registry host (``ghcr.io``), a registry plus repository prefix matched at a
    path boundary (``ghcr.io/acme``, ``docker.io/library``), or a glob over
    ``registry/repository`` (``quay.io/prometheus/*``). Docker Hub aliases are normalized.
    """
    name = ref.name
    for raw in entries:
        entry = str(raw).strip().rstrip("/").lower()
        host, _, rest = entry.partition("/")
        if host in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
            entry = "docker.io" + (f"/{rest}" if rest else "")
        if any(ch in entry for ch in "*?["):
            if fnmatch.fnmatchcase(name, entry) or fnmatch.fnmatchcase(ref.registry, entry):
                return str(raw)
        elif name == entry or name.startswith(entry + "/") or ref.registry == entry:
            return str(raw)
    return None


def trusted_ecr(ref: ImageReference, account: str | None) -> bool:
    """Tell whether ``ref`` is in the account's own ECR or an EKS add-on registry of AWS."""
    return ref.is_ecr and (ref.ecr_account in EKS_ADDON_REGISTRY_ACCOUNTS
                           or (bool(account) and ref.ecr_account == account))


@check(
    id="image_registry_trusted",
    pillar=Pillar.IMAGES,
    severity=Severity.MEDIUM,
    title="Images come only from the account's ECR or an approved registry",
    requires=("containers",),
    reason="image from a registry outside the allow-list",
    remediation="Mirror third-party images into the account's ECR (ECR pull-through cache rules "
    "for docker.io, ghcr.io, quay.io, public.ecr.aws) and reference the mirror; list any other "
    "approved registry in the engagement config (parameters.image_registry_trusted."
    "allowed_registries) and enforce it at admission (Kyverno / Gatekeeper allowed-repos).",
    references=("CIS 5.1.4", "KS C-0078", "BPG image"),
    parameters={"allowed_registries": []},
)
def image_registry_trusted(frames, params) -> pd.DataFrame:
    """Images from arbitrary registries bypass the account's scanning, signing and access control.

    Trusted: the cluster account's own private ECR (in any Region of that account), the AWS
    registries that serve EKS add-on images (EKS_ADDON_REGISTRY_ACCOUNTS in
    zt_toolkit/frames/images.py, from the EKS user guide), and the ``allowed_registries``
    parameter (default empty): registry hosts, ``registry/repository`` prefixes or globs. All
    other registries fail, Docker Hub included (``postgres:15`` is ``docker.io/library/postgres``);
    an unparseable reference fails. Init and ephemeral containers are included. When the
    account is unknown and an ECR image of some account is not allow-listed, not assessed.
    """
    account, _ = home_registry(frames)
    entries = list(params["allowed_registries"] or [])
    c = frames.containers
    refs = {img: try_parse_image_reference(img) for img in pd.unique(c.image)}
    verdicts: dict[str, str | None] = {}
    unknown_ecr = []
    for img, ref in refs.items():
        if ref is None:
            verdicts[img] = "unparseable reference"
        elif trusted_ecr(ref, account) or allowed(ref, entries):
            verdicts[img] = None
        elif ref.is_ecr and not account:
            unknown_ecr.append(img)
        else:
            verdicts[img] = ref.name
    if unknown_ecr:
        raise NotAssessed("the cluster's AWS account is unknown, so ECR images such as "
                          f"{unknown_ecr[0]!r} cannot be told apart from another account's")
    why = c.image.map(verdicts)
    what = c.container + " (" + why.fillna("").astype(str) + ")"
    return results_by_workload(c, why.notna(), what=what)
