"""IAM frame helpers: policy documents in both encodings, statement risks, escalation methods.

Escalation methods and data-access findings are compared with the cloudsplaining cases in
``../shared/oracles/cloudsplaining/scan_policy_cases.json`` (an independent answer).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from zt_toolkit.frames.iam import (
    DATA_ACCESS_ACTIONS,
    escalation_methods,
    is_all_resources,
    parse_policy_document,
    principal_kind_of,
    role_name_of,
    statement_risks,
    statements_of,
)

ORACLE = Path(__file__).resolve().parents[2].parent / "shared" / "oracles" / "cloudsplaining"


def statements(document: dict) -> pd.DataFrame:
    def tup(v):
        return (v,) if isinstance(v, str) else tuple(v or ())
    return pd.DataFrame([{
        "effect": st.get("Effect", ""), "actions": tup(st.get("Action")),
        "not_actions": tup(st.get("NotAction")), "resources": tup(st.get("Resource")),
        "not_resources": tup(st.get("NotResource")), "has_condition": bool(st.get("Condition")),
        "label": f"statement #{i + 1}",
    } for i, st in enumerate(statements_of(document))])


def test_policy_documents_decode_from_dict_json_and_url_encoding():
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*",
                                                  "Resource": "*"}}
    text = json.dumps(doc)
    assert parse_policy_document(doc) == (doc, None)
    assert parse_policy_document(text) == (doc, None)
    assert parse_policy_document(urllib.parse.quote(text)) == (doc, None)
    assert parse_policy_document("%7Bbroken")[0] is None
    assert parse_policy_document(None) == (None, "no document")
    assert statements_of(doc) == [doc["Statement"]]


def test_arns():
    assert role_name_of("arn:aws:iam::1:role/service-role/app") == "app"
    assert role_name_of("arn:aws:iam::1:user/bob") is None
    assert [principal_kind_of(a) for a in (
        "arn:aws:iam::111122223333:user/ops", "arn:aws:iam::111122223333:role/x",
        "arn:aws:iam::111122223333:root", "arn:aws:sts::111122223333:assumed-role/x/s",
        "111122223333")] == ["user", "role", "root", "assumed-role", "account"]


@pytest.mark.parametrize(("resource", "everything"), [
    ("*", True), ("arn:aws:s3:::*", True), ("arn:aws:s3:::*/*", True),
    ("arn:aws:secretsmanager:eu-west-1:111122223333:secret:*", True),
    ("arn:aws:dynamodb:*:*:*", True),
    ("arn:aws:s3:::acme-orders/*", False),
    ("arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/*", False),
])
def test_every_resource(resource, everything):
    assert is_all_resources([resource]) is everything


def test_statement_risks_name_what_is_wrong():
    rows = statements({"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/app"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    ]})
    risks = [statement_risks(r) for r in rows.itertuples(index=False)]
    assert risks[0] == ["admin: every action on every resource"]
    assert risks[1] == ["every action of s3:*"]
    assert risks[2] == ["iam:PassRole on every role"]
    assert risks[3] == []
    assert risks[4] == ["data access on every resource: kms:Decrypt"]
    assert risks[5] == ["Allow with NotAction iam:*"]
    assert risks[6] == []


def test_escalation_needs_every_action_of_a_method():
    alone = statements({"Statement": [{"Effect": "Allow", "Action": "iam:PutRolePolicy",
                                       "Resource": "*"}]})
    assert escalation_methods(alone) == []
    combo = statements({"Statement": [
        {"Effect": "Allow", "Action": "iam:Put*", "Resource": "*"},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    assert escalation_methods(combo) == [
        "PutUserPolicy (iam:PutUserPolicy)", "PutGroupPolicy (iam:PutGroupPolicy)",
        "PutRolePolicy (iam:PutRolePolicy + sts:AssumeRole)"]


def _cloudsplaining_cases():
    path = ORACLE / "scan_policy_cases.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    cases = next(v for v in data.values() if isinstance(v, list))
    return [pytest.param(c, id=f"{c['test']}-{i}") for i, c in enumerate(cases)
            if isinstance(c.get("expected"), dict) and "PrivilegeEscalation" in c["expected"]]


@pytest.mark.skipif(not ORACLE.is_dir(), reason="oracles not present")
@pytest.mark.parametrize("case", _cloudsplaining_cases())
def test_cloudsplaining_privilege_escalation_and_data_exfiltration(case):
    rows = statements(case["policy"])
    expected = sorted(f["type"] for f in case["expected"]["PrivilegeEscalation"]["findings"])
    every = not case["flag_resource_arn_statements"]
    got = sorted(m.split(" ", 1)[0] for m in escalation_methods(rows, every_resource_only=every))
    assert got == expected
    if not case["flag_resource_arn_statements"]:
        # cloudsplaining's data exfiltration is on "*" here; ours covers a superset of actions
        data = {a for r in rows.itertuples(index=False) for risk in statement_risks(r)
                if risk.startswith("data access") for a in risk.split(": ", 1)[1].split(", ")}
        exfil = set(case["expected"]["DataExfiltration"]["findings"])
        assert exfil <= data | {a for a in exfil if a not in DATA_ACCESS_ACTIONS}
        assert exfil & set(DATA_ACCESS_ACTIONS) == data & exfil
