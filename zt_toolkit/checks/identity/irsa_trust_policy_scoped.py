from typing import Any

import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.iam import IRSA_SOURCES, action_allowed, iam_role_rows, statements_of

WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
AUDIENCE = "sts.amazonaws.com"


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or ()]


def _conditions(condition: dict[str, Any], key: str) -> list[tuple[str, list[str]]]:
    """(operator, values) of every condition on ``key`` (condition keys are case-insensitive)."""
    found = []
    for op, block in (condition or {}).items():
        for k, v in (block or {}).items() if isinstance(block, dict) else ():
            if k.lower() == key.lower():
                found.append((op, _values(v)))
    return found


def _base_operator(op: str) -> str:
    return op.split(":", 1)[-1].removesuffix("IfExists")


def trust_problems(policy: dict[str, Any] | None) -> tuple[list[str], int]:
    """Problems of an IRSA trust policy, and how many web-identity statements it has."""
    problems, web = [], 0
    for i, st in enumerate(statements_of(policy)):
        if str(st.get("Effect", "")).lower() != "allow":
            continue
        label = f'statement "{st["Sid"]}"' if st.get("Sid") else f"statement #{i + 1}"
        principal = st.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        if "*" in _values(aws) and not st.get("Condition"):
            problems.append(f"{label} trusts every AWS principal (Principal *) without condition")
        federated = _values(principal.get("Federated")) if isinstance(principal, dict) else []
        providers = [f.split("oidc-provider/", 1)[1] for f in federated if "oidc-provider/" in f]
        if not providers or not action_allowed(_values(st.get("Action")), WEB_IDENTITY):
            continue
        web += 1
        cond = st.get("Condition") or {}
        for provider in providers:
            subs = _conditions(cond, f"{provider}:sub")
            if not subs:
                problems.append(f"{label} has no {provider}:sub condition: every service "
                                "account in the cluster can assume the role")
            for op, values in subs:
                base = _base_operator(op)
                wild = [v for v in values if "*" in v or "?" in v]
                if base == "StringLike" and wild:
                    problems.append(f'{label} matches sub with {op} "{", ".join(wild)}"')
                elif base not in ("StringEquals", "StringLike"):
                    problems.append(f"{label} tests sub with {op}")
                elif op.endswith("IfExists") or op.startswith("ForAllValues"):
                    problems.append(f"{label} tests sub with {op}, which a token can evade")
                unscoped = [v for v in values if not v.startswith("system:serviceaccount:")
                            or v.count(":") != 3]
                if unscoped and base in ("StringEquals", "StringLike") and not wild:
                    problems.append(f'{label} pins sub to "{", ".join(unscoped)}", not '
                                    "system:serviceaccount:<namespace>:<name>")
            auds = _conditions(cond, f"{provider}:aud")
            if not auds:
                problems.append(f"{label} has no {provider}:aud condition")
            elif any(v != AUDIENCE for _, values in auds for v in values):
                problems.append(f"{label} accepts audiences other than {AUDIENCE}")
    return problems, web


@check(
    id="irsa_trust_policy_scoped",
    pillar=Pillar.IDENTITY,
    severity=Severity.HIGH,
    title="Each IRSA role trusts only its service account (sub and aud pinned with StringEquals)",
    requires=("service_account_iam_roles", "iam_roles"),
    reason="IRSA trust policy not scoped to one service account",
    remediation="aws iam update-assume-role-policy --role-name <role> with a statement whose "
    "Condition is StringEquals {\"<issuer>:sub\": \"system:serviceaccount:<ns>:<sa>\", "
    "\"<issuer>:aud\": \"sts.amazonaws.com\"} (eksctl create iamserviceaccount writes it so).",
    references=("BPG iam", "seed: IRSA trust scoping"),
)
def irsa_trust_policy_scoped(frames) -> pd.DataFrame:
    """Without a pinned sub claim, any service account the OIDC provider signs can take the role.

    Anyone who can create a ServiceAccount and a pod in any namespace (or in another cluster
    sharing the trust) gets the role's AWS permissions. Every Allow statement for
    sts:AssumeRoleWithWebIdentity with an OIDC provider must test ``<provider>:sub`` with
    StringEquals (StringLike without ``*`` or ``?`` is equivalent and passes) against
    system:serviceaccount:<ns>:<sa>, and ``<provider>:aud`` against sts.amazonaws.com.
    ForAllValues and IfExists operators fail (a token without the claim satisfies them). A
    ``Principal: *`` statement without condition fails. Roles of EKS add-ons
    (serviceAccountRoleArn) are IRSA roles too; Pod Identity roles are not judged here. A role that
    does not exist (NoSuchEntity) passes with the dangling reference noted.
    """
    sa_roles = frames.service_account_iam_roles
    irsa = sa_roles[sa_roles["source"].isin(IRSA_SOURCES) & sa_roles["role_name"].notna()]
    users = (irsa["namespace"] + "/" + irsa["service_account"]).groupby(
        irsa["role_name"]).agg(lambda s: ", ".join(dict.fromkeys(s)))
    rows = []
    for role in iam_role_rows(frames, irsa["role_name"]).itertuples(index=False):
        used = f"used by {users.get(role.name, '')}"
        if isinstance(role.error, str) and role.error.startswith("NoSuchEntity"):
            rows.append(result("IAMRole", "", role.name, failed=False,
                               detail=f"{used}; role does not exist: the reference is dangling"))
            continue
        if isinstance(role.error, str) or role.trust_policy is None:
            why = role.error if isinstance(role.error, str) else "trust policy not readable"
            rows.append(result("IAMRole", "", role.name, status="not_assessed",
                               detail=f"{used}; {why}", reason="IAM role not readable"))
            continue
        problems, web = trust_problems(role.trust_policy)
        if not problems:
            detail = (f"{used}; {web} web-identity statement(s), sub and aud pinned" if web else
                      f"{used}; no web-identity statement: IRSA cannot assume this role")
        else:
            detail = f"{used}; " + "; ".join(problems)
        rows.append(result("IAMRole", "", role.name, failed=bool(problems), detail=detail))
    return results(rows)
