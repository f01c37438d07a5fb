import re
from typing import Any

import pandas as pd

from zt_toolkit.checks.helpers import KEY
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import NotAssessed

# Condition keys that tie a wildcard principal to the organization, an account, a VPC or a
# network; any of them (with a value other than "*") makes a "*" statement non-public.
RESTRICTING_KEYS = frozenset(k.lower() for k in (
    "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalAccount", "aws:PrincipalArn",
    "aws:SourceAccount", "aws:SourceArn", "aws:SourceOwner", "aws:SourceOrgID",
    "aws:SourceOrgPaths", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceIp", "aws:userid",
    "aws:PrincipalServiceName",
))
WRITE_ACTIONS = re.compile(r"^ecr:(\*|Put.*|Upload.*|InitiateLayerUpload|CompleteLayerUpload|"
                           r"BatchDeleteImage|Delete.*|Set.*|Tag.*|Replicate.*)$", re.IGNORECASE)
_ANY_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\*:", re.IGNORECASE)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _wildcard_principal(statement: dict[str, Any]) -> bool:
    if "NotPrincipal" in statement:  # Allow + NotPrincipal: everyone but the listed
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, dict):
        for value in _as_list(principal.get("AWS")):
            if value == "*" or (isinstance(value, str) and _ANY_ACCOUNT_ARN.match(value)):
                return True
    return False


def _restricting(condition: Any) -> list[str]:
    """Condition keys that restrict the statement (negated / IfExists operators do not)."""
    if not isinstance(condition, dict):
        return []
    keys = []
    for operator, block in condition.items():
        op = str(operator).lower()
        if op.endswith("ifexists") or "not" in op or not isinstance(block, dict):
            continue
        for key, values in block.items():
            vals = [str(v) for v in _as_list(values)]
            if str(key).lower() in RESTRICTING_KEYS and vals and "*" not in vals:
                keys.append(str(key))
    return keys


def restricted_wildcards(policy: dict[str, Any]) -> list[str]:
    """Condition keys that tie the wildcard-principal Allow statements of a policy down."""
    keys = []
    for st in _as_list(policy.get("Statement")):
        if isinstance(st, dict) and st.get("Effect") == "Allow" and _wildcard_principal(st):
            keys += _restricting(st.get("Condition"))
    return list(dict.fromkeys(keys))


def public_statements(policy: dict[str, Any]) -> list[str]:
    """Describe the Allow statements of a policy that grant a wildcard principal unconditionally."""
    out = []
    for i, st in enumerate(_as_list(policy.get("Statement"))):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        if not _wildcard_principal(st) or _restricting(st.get("Condition")):
            continue
        actions = [str(a) for a in _as_list(st.get("Action"))] or ["(NotAction)"]
        writes = [a for a in actions if WRITE_ACTIONS.match(a)]
        label = st.get("Sid") or f"#{i + 1}"
        text = f"statement {label!r} allows {', '.join(actions[:4])}"
        text += f" and {len(actions) - 4} more" if len(actions) > 4 else ""
        text += " to every AWS principal"
        if writes:
            text += f" (write: {', '.join(writes[:3])})"
        out.append(text)
    return out


@check(
    id="ecr_repository_not_public",
    pillar=Pillar.IMAGES,
    severity=Severity.HIGH,
    title="No ECR repository policy grants access to every AWS principal",
    requires=("ecr_repositories", "ecr_repository_policies"),
    reason="repository policy allows Principal \"*\" without a restricting condition",
    remediation="Replace Principal \"*\" with the account or role ARNs that need access, or add "
    "a Condition such as {\"StringEquals\": {\"aws:PrincipalOrgID\": \"o-xxxx\"}}: "
    "`aws ecr set-repository-policy --repository-name <repo> --policy-text file://policy.json`.",
    references=("BPG image", "PW ecr_repositories_not_publicly_accessible"),
)
def ecr_repository_not_public(frames) -> pd.DataFrame:
    """A repository policy open to "*" lets any AWS account pull (or push) the images.

    An Allow statement is public when its Principal is ``"*"``, ``{"AWS": "*"}``, an ARN of
    any account (``arn:aws:iam::*:root``) or uses NotPrincipal, unless a Condition ties it to
    the organization, an account, a source ARN, VPC / VPC endpoint or IP range (negated and
    ``...IfExists`` operators do not restrict). The detail names the statement, its actions and
    any write actions. No policy (RepositoryPolicyNotFoundException) passes. A repository whose
    policy could not be read is not applicable with the error in the detail; if no policy
    could be read at all the check is not assessed.
    """
    repos = frames.ecr_repositories
    if not repos.empty and repos.policy_state.isin(["error", "not_collected"]).all():
        raise NotAssessed("no repository policy could be read (get_repository_policy errors or "
                          "no record for any repository)")
    errors = frames.ecr_repository_policies.set_index("name")["error_code"]
    errors = errors[~errors.index.duplicated()]
    rows = []
    for r in repos.itertuples(index=False):
        key = dict(zip(KEY, (r.kind, r.namespace, r.name), strict=True))
        if r.policy_state == "none":
            rows.append({**key, "status": "pass", "detail": "no repository policy"})
        elif r.policy_state == "present":
            found = public_statements(r.policy)
            limited = restricted_wildcards(r.policy)
            ok_text = (f"Principal \"*\" limited by condition {', '.join(limited)}" if limited
                       else "repository policy grants no wildcard principal")
            rows.append({**key, "status": "fail" if found else "pass",
                         "detail": "; ".join(found) if found else ok_text})
        else:
            code = errors.get(r.name) if r.policy_state == "error" else None
            code = code if isinstance(code, str) else None
            why = code or "no get_repository_policy record"
            rows.append({**key, "status": "not_assessed", "detail": f"policy not read ({why})"})
    return pd.DataFrame(rows, columns=[*KEY, "status", "detail"])
