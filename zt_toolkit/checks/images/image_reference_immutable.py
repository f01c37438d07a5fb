import pandas as pd

from zt_toolkit.checks.helpers import results_by_workload
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.images import (
    home_registry,
    tag_kept_immutable,
    try_parse_image_reference,
)


def tag_immutable(mode: object, exclusions: tuple[str, ...], tag: str) -> bool:
    """Tell whether ECR keeps ``tag`` immutable (see :func:`tag_kept_immutable`)."""
    return tag_kept_immutable(mode, exclusions, tag)


@check(
    id="image_reference_immutable",
    pillar=Pillar.IMAGES,
    severity=Severity.MEDIUM,
    title="Images are pinned by digest or by a non-latest tag in an immutable ECR repository",
    requires=("containers", "ecr_repositories"),
    reason="image reference can silently change",
    remediation="Reference images by digest (`<repo>:1.4@sha256:...`, e.g. resolved at deploy "
    "time by the CD pipeline), or push to an ECR repository with `--image-tag-mutability "
    "IMMUTABLE` and never use `latest`.",
    references=("PW core_image_tag_fixed", "KS C-0075", "BPG image"),
)
def image_reference_immutable(frames) -> pd.DataFrame:
    """A mutable reference lets a push (or a registry compromise) change what runs on restart.

    Per container: a digest pins the image (pass). Otherwise the tag must not be ``latest``
    (a missing tag means latest) and must live in one of the account's ECR repositories whose
    tag mutability keeps that tag immutable: IMMUTABLE, IMMUTABLE_WITH_EXCLUSION unless the tag
    matches an exclusion filter, or MUTABLE_WITH_EXCLUSION when it matches one. Tags on other
    registries (Docker Hub, GHCR, another account's ECR) fail: nothing proves they are
    immutable. EKS add-on images (AWS-versioned eksbuild tags) are judged against the EKS
    baseline. Init and ephemeral containers are included.
    """
    account, _ = home_registry(frames)
    repos = frames.ecr_repositories.set_index("name")
    c = frames.containers
    verdicts: dict[str, str | None] = {}
    for img in pd.unique(c.image):
        ref = try_parse_image_reference(img)
        if ref is None:
            verdicts[img] = "unparseable reference"
        elif ref.digest:
            verdicts[img] = None
        elif ref.effective_tag == "latest":
            verdicts[img] = "latest tag" if ref.tag else "no tag: latest"
        elif ref.is_ecr and account and ref.ecr_account == account:
            if ref.repository not in repos.index:
                verdicts[img] = (f"tag {ref.tag}: repository {ref.repository} not among the "
                                 "account's ECR repositories")
            else:
                repo = repos.loc[ref.repository]
                mode = repo["tag_mutability"] if isinstance(repo["tag_mutability"], str) \
                    else "MUTABLE"
                filters = tuple(repo["tag_mutability_exclusions"] or ())
                if tag_immutable(mode, filters, ref.tag or ""):
                    verdicts[img] = None
                elif mode == "IMMUTABLE_WITH_EXCLUSION":
                    verdicts[img] = (f"tag {ref.tag} matches a mutable exclusion "
                                     f"{', '.join(filters)}")
                elif mode == "MUTABLE_WITH_EXCLUSION":
                    verdicts[img] = (f"tag {ref.tag} outside the immutable filters "
                                     f"{', '.join(filters)}")
                else:
                    verdicts[img] = f"tag {ref.tag} in a {mode} repository"
        else:
            verdicts[img] = f"tag {ref.tag} on {ref.registry}, not pinned by digest"
    why = c.image.map(verdicts)
    what = c.container + " (" + why.fillna("").astype(str) + ")"
    return results_by_workload(c, why.notna(), what=what)
