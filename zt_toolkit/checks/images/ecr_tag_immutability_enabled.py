import numpy as np
import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="ecr_tag_immutability_enabled",
    pillar=Pillar.IMAGES,
    severity=Severity.LOW,
    title="ECR repositories make image tags immutable",
    requires=("ecr_repositories",),
    reason="image tags can be overwritten",
    remediation="`aws ecr put-image-tag-mutability --repository-name <repo> "
    "--image-tag-mutability IMMUTABLE` (IMMUTABLE_WITH_EXCLUSION with narrow filters such as "
    "\"dev-*\" where a moving tag is really needed).",
    references=("BPG image", "PW ecr_repositories_tag_immutability", "seed"),
)
def ecr_tag_immutability_enabled(frames) -> pd.DataFrame:
    """With mutable tags, whoever can push replaces the image behind a tag that pods already use.

    IMMUTABLE passes; IMMUTABLE_WITH_EXCLUSION passes and names the excluded (mutable) tag
    filters; MUTABLE fails; MUTABLE_WITH_EXCLUSION fails and names the filters of the few
    immutable tags. A repository whose mutability is not reported fails as MUTABLE, the ECR
    default.
    """
    r = frames.ecr_repositories
    mode = r.tag_mutability.astype("string").fillna("MUTABLE (not reported: ECR default)")
    filters = r.tag_mutability_exclusions.map(lambda f: ", ".join(f))
    passed = mode.isin(["IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"]).to_numpy()
    detail = "imageTagMutability " + mode
    detail = detail.where(~mode.eq("IMMUTABLE_WITH_EXCLUSION"),
                          detail + " (mutable: tags matching " + filters + ")")
    detail = detail.where(~mode.eq("MUTABLE_WITH_EXCLUSION"),
                          detail + " (immutable only: tags matching " + filters + ")")
    out = r[KEY].copy()
    out["status"] = np.where(passed, "pass", "fail")
    out["detail"] = detail.astype(str).to_numpy()
    return out.reset_index(drop=True)
