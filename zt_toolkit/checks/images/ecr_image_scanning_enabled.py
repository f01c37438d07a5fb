import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed
from zt_toolkit.frames.images import registry_scan_rule_for


@check(
    id="ecr_image_scanning_enabled",
    pillar=Pillar.IMAGES,
    severity=Severity.HIGH,
    title="ECR scans every repository automatically (enhanced scanning or scan on push)",
    requires=("ecr_repositories", "ecr_registry_scanning"),
    reason="images pushed to this repository are not scanned automatically",
    remediation="Turn on Amazon Inspector enhanced scanning for the registry: `aws ecr "
    "put-registry-scanning-configuration --scan-type ENHANCED --rules "
    "'[{\"scanFrequency\":\"CONTINUOUS_SCAN\",\"repositoryFilters\":[{\"filter\":\"*\","
    "\"filterType\":\"WILDCARD\"}]}]'` (or, with basic scanning, a SCAN_ON_PUSH rule with "
    "filter \"*\").",
    references=("CIS 5.1.1", "KS C-0221", "PW ecr_registry_scan_images_on_push_enabled",
                "BPG image"),
)
def ecr_image_scanning_enabled(frames) -> pd.DataFrame:
    """An image nobody scans can carry known-exploitable vulnerabilities into the cluster unseen.

    One row per repository. With ENHANCED (Amazon Inspector) scanning, a repository is covered
    when a SCAN_ON_PUSH or CONTINUOUS_SCAN rule's filter matches it; the repository-level
    scanOnPush setting is ignored then. With BASIC scanning, a registry SCAN_ON_PUSH rule
    matching the repository or the (deprecated, still honoured) repository-level scanOnPush
    covers it. Filters follow ECR's WILDCARD semantics: without ``*`` a filter matches names
    that contain it. A registry configuration that could not be read is not assessed.
    """
    repos = frames.ecr_repositories
    scanning = frames.ecr_registry_scanning
    if scanning.empty:
        raise NotAssessed("get_registry_scanning_configuration returned no configuration "
                          "(error record): the registry scan type is unknown")
    rows = []
    on_push = repos.scan_on_push.eq(True).fillna(False).astype(bool).tolist()
    for repo, push in zip(repos.itertuples(index=False), on_push, strict=True):
        reg = scanning[scanning.registry_id.eq(repo.registry_id).fillna(False)]
        reg = reg if not reg.empty else scanning.head(1)
        scan_type = str(reg.scan_type.iloc[0])
        rule = registry_scan_rule_for(reg, repo.name)
        if rule is not None:
            failed = False
            kind = "enhanced scanning (Amazon Inspector)" if scan_type == "ENHANCED" \
                else "basic scanning"
            detail = f"{kind}, {rule[1]} via registry filter {rule[2]!r}"
        elif scan_type == "ENHANCED":
            failed = True
            filters = [f for freq, fs in reg.rules.iloc[0] for f in fs
                       if freq in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")]
            detail = ("registry uses ENHANCED scanning (Amazon Inspector) but "
                      + (f"none of its rule filters ({', '.join(filters)}) matches"
                         if filters else "has no scanning rule for")
                      + " this repository: its images are not scanned at all"
                      + (" (the repository-level scanOnPush is ignored under ENHANCED)"
                         if push else ""))
        elif push:
            failed = False
            detail = "basic scanning, repository-level scanOnPush (deprecated setting)"
        else:
            failed = True
            filters = [f for _, fs in reg.rules.iloc[0] for f in fs]
            detail = ("BASIC scanning, scanOnPush off and no registry SCAN_ON_PUSH rule matches"
                      + (f" (registry filters: {', '.join(filters)})" if filters else ""))
        rows.append({**dict(zip(KEY, (repo.kind, repo.namespace, repo.name), strict=True)),
                     "status": "fail" if failed else "pass", "detail": detail})
    return pd.DataFrame(rows, columns=[*KEY, "status", "detail"])
