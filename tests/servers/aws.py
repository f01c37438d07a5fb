"""AWS for the tests: moto in server mode on loopback, seeded with the demo's account.

* :func:`moto_server` (session fixture) starts moto's ``ThreadedMotoServer`` on 127.0.0.1 and a
  free port; :func:`moto` (per test) points boto3 at it (``AWS_ENDPOINT_URL``, fake credentials,
  the demo's region, no profile or config file of the machine) and resets it before each test.
* :func:`seed_demo_account` creates in moto what the demo snapshot's AWS records describe, in
  the demo's account 111122223333 (reached with ``sts:AssumeRole``, which moto honours by
  routing the assumed credentials to the role's account): IAM roles, customer-managed policies
  (raised to the demo's version numbers) and attachments of AWS-managed ones (moto's copies,
  loaded one by one: :func:`load_aws_managed_policies`), the VPC, subnets,
  security groups with their rules, the node instances with their metadata options and tags,
  the launch template (version 3), the EKS cluster (explicit endpoint flags) and node groups,
  the KMS keys, Secrets Manager secrets (holding canary values the collector must never read),
  ECR repositories with their policies, the running images (at the demo's digests) and their
  scan findings (seeded through ``/moto-api/static/ecr/scan-finding-results``, each body
  validated against botocore's output shape first: moto does not check them), the registry
  scanning configuration, the Inspector findings on ECR images (seeded through
  ``/moto-api/static/inspector2/findings-results``, validated the same way), the audit log
  group, the GuardDuty detector and the CloudTrail trail.
* :class:`CannedAws` answers, on the *same* session, what moto lacks or gets wrong, from a
  botocore ``before-call`` hook with the demo's records (ids translated to moto's), each
  response validated against the operation's output shape when it is registered:

  - EKS access entries, associated access policies, pod identity associations and add-ons:
    not implemented by moto (404);
  - EKS ``describe_cluster``: moto drops ``accessConfig``, ``clusterSecurityGroupId``,
    ``vpcId``, ``health``, ``upgradePolicy``; ``describe_nodegroup``: moto invents a
    ``remoteAccessSecurityGroup`` (that exists nowhere) for every node group and an SSH key
    (``eksKeypair``) for those without remote access;
  - CloudWatch Logs Insights ``get_query_results``: moto ignores ``filter`` and ``stats``, so
    results are canned per named query (``start_query`` itself goes to moto, which checks the
    log group); query semantics are never asserted through moto. ``stop_query``: not
    implemented by moto.

Everything else (IAM, EC2, ECR, KMS, Secrets Manager, log groups, GuardDuty, CloudTrail, STS,
``list_nodegroups``) is answered by moto.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import re
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape
from botocore.utils import parse_timestamp
from botocore.validate import validate_parameters

from zt_toolkit import demo as demo_module
from zt_toolkit.snapshot import Snapshot
from zt_toolkit.sources.aws import (
    AUDIT_QUERIES,
    irsa_role_arns,
    node_instance_ids,
    running_ecr_images,
)

REGION = demo_module.REGION
ACCOUNT = demo_module.ACCOUNT
CLUSTER = demo_module.CLUSTER
#: the role the seeding goes through (moto creates no role for it: assume_role is enough)
SEED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/zt-seed"
#: the role a consultant's assessor would assume
ASSESSOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/zt-assessor-readonly"
#: secret values planted in the account; none may reach a snapshot
AWS_CANARIES = {
    "secret_string": "ZTCANARY-aws-secret-string-7c1e0b",
    "user_data": "ZTCANARY-aws-userdata-password-93d2aa",
}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAZTTESTING0000000",
                    "AWS_SECRET_ACCESS_KEY": "zt-testing-secret-not-a-real-one"}


# ----- the server --------------------------------------------------------------------------------
@dataclass
class MotoServer:
    """A running moto server."""

    url: str

    def post(self, path: str, body: dict[str, Any] | None = None) -> None:
        """POST to the moto API (``/moto-api/reset``, ``/moto-api/static/...``)."""
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def reset(self) -> None:
        """Forget every resource of every account."""
        self.post("/moto-api/reset")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto in server mode on 127.0.0.1 and a free port, for the whole test session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield MotoServer(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch,
         tmp_path_factory: pytest.TempPathFactory) -> MotoServer:
    """The moto server, reset, with boto3 pointed at it and none of this machine's AWS set-up.

    Reset before each test (not after: a reset of a seeded account takes about 2 s).
    """
    empty = tmp_path_factory.mktemp("aws-config") / "none"
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for var, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(var, value)
    moto_server.reset()
    return moto_server


def base_session() -> boto3.Session:
    """A session with the fake base credentials (moto's default account, 123456789012)."""
    return boto3.Session(region_name=REGION)


def account_session(role_arn: str = SEED_ROLE) -> boto3.Session:
    """A session in the demo's account: credentials of ``role_arn`` assumed from the base ones."""
    creds = base_session().client("sts").assume_role(
        RoleArn=role_arn, RoleSessionName="zt-tests")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=REGION)


# ----- shapes ------------------------------------------------------------------------------------
@cache
def service_model(service: str) -> Any:
    """botocore's model of one service (no client, no network)."""
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    """The operation model from a boto3 method name (``describe_cluster``) or a wire name."""
    model = service_model(service)
    wire = operation if operation[:1].isupper() else _pascal(service, operation)
    return model.operation_model(wire)


@cache
def _wire_names(service: str) -> dict[str, str]:
    from botocore import xform_name

    return {xform_name(name): name for name in service_model(service).operation_names}


def _pascal(service: str, operation: str) -> str:
    return _wire_names(service)[operation]


_POLICY_FIELDS = ("AssumeRolePolicyDocument", "PolicyDocument", "Document")


def as_wire(response: Any) -> Any:
    """A recorded response as its output shape declares it: IAM policy documents as strings.

    botocore turns IAM's URL-encoded policy documents into dicts after parsing; the shape says
    string, so validation needs them back.
    """
    if isinstance(response, dict):
        return {k: (json.dumps(v) if k in _POLICY_FIELDS and isinstance(v, dict) else as_wire(v))
                for k, v in response.items()}
    if isinstance(response, list):
        return [as_wire(v) for v in response]
    return response


def validate_response(service: str, operation: str, response: dict[str, Any]) -> None:
    """Raise ``ParamValidationError`` unless ``response`` fits the operation's output shape."""
    shape = operation_model(service, operation).output_shape
    body = {k: v for k, v in as_wire(response).items() if k != "ResponseMetadata"}
    validate_parameters(body, shape)


def parsed_like_botocore(value: Any, shape: Shape | None) -> Any:
    """ISO timestamp strings turned into datetimes where the shape says timestamp (as parsed)."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: parsed_like_botocore(v, shape.members.get(k)) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [parsed_like_botocore(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: parsed_like_botocore(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, str):
        return parse_timestamp(value)
    return value


# ----- canned responses for moto's gaps ----------------------------------------------------------
def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _aws_response(status: int) -> AWSResponse:
    return AWSResponse("https://canned.invalid/", status, {}, None)


class CannedAws:
    """Canned responses served from botocore hooks on one boto3 session.

    Register before creating clients (clients copy the session's handlers when created):
    ``collect_aws(session=...)`` creates its clients after, so it sees them.
    """

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self._table: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._dynamic: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.served: dict[str, int] = {}
        session.events.register("before-parameter-build", self._stash_params,
                                unique_id="zt-canned-stash")

    @staticmethod
    def _stash_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["zt_api_params"] = copy.deepcopy(params)

    def _install(self, service: str, wire: str) -> None:
        if (service, wire) in self._table or (service, wire) in self._dynamic:
            return
        event = service_model(service).service_id.hyphenize()
        self.session.events.register(f"before-call.{event}.{wire}", self._answer,
                                     unique_id=f"zt-canned-{service}-{wire}")

    def add(self, service: str, operation: str, params: dict[str, Any],
            response: dict[str, Any]) -> None:
        """Serve ``response`` to calls with exactly ``params`` (validated against the shape)."""
        model = operation_model(service, operation)
        validate_parameters(as_wire(response), model.output_shape)
        self._install(service, model.name)
        self._table.setdefault((service, model.name), {})[_key(params)] = parsed_like_botocore(
            copy.deepcopy(response), model.output_shape)

    def add_dynamic(self, service: str, operation: str,
                    answer: Callable[[dict[str, Any]], dict[str, Any]],
                    examples: list[dict[str, Any]]) -> None:
        """Serve ``answer(params)``; every response it can give is in ``examples`` (validated)."""
        model = operation_model(service, operation)
        for example in examples:
            validate_parameters(as_wire(example), model.output_shape)
        self._install(service, model.name)
        self._dynamic[(service, model.name)] = answer

    def _answer(self, model: OperationModel, context: dict[str, Any], **_: Any) -> Any:
        service = model.service_model.service_name
        params = context.get("zt_api_params", {})
        with self._lock:
            self.served[model.name] = self.served.get(model.name, 0) + 1
        if (service, model.name) in self._dynamic:
            body = parsed_like_botocore(self._dynamic[(service, model.name)](params),
                                        model.output_shape)
        else:
            body = self._table[(service, model.name)].get(_key(params))
        if body is None:
            return _aws_response(404), {
                "Error": {"Code": "ResourceNotFoundException",
                          "Message": f"no canned {model.name} for {_key(params)}"},
                "ResponseMetadata": {"HTTPStatusCode": 404, "RequestId": "canned"}}
        return _aws_response(200), {**copy.deepcopy(body), "ResponseMetadata": {
            "HTTPStatusCode": 200, "RequestId": "canned", "HTTPHeaders": {}, "RetryAttempts": 0}}


def deny(session: boto3.Session, service: str, operation: str,
         when: Callable[[dict[str, Any]], bool] = lambda params: True) -> list[dict[str, Any]]:
    """Make ``operation`` fail with AccessDeniedException (for the params ``when`` selects).

    Returns the list of denied params, appended to as calls are denied.
    """
    model = operation_model(service, operation)
    event = service_model(service).service_id.hyphenize()
    denied: list[dict[str, Any]] = []

    def stash(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["zt_deny_params"] = copy.deepcopy(params)

    def refuse(context: dict[str, Any], **_: Any) -> None:
        params = context.get("zt_deny_params", {})
        if when(params):
            denied.append(params)
            raise ClientError({"Error": {
                "Code": "AccessDeniedException",
                "Message": f"User: arn:aws:sts::{ACCOUNT}:assumed-role/zt-assessor-readonly/zt "
                           f"is not authorized to perform: {model.service_model.signing_name}:"
                           f"{model.name} with an explicit deny in a service control policy"},
                "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)

    session.events.register(f"before-parameter-build.{event}.{model.name}", stash)
    # registered first so that it wins over a canned answer for the same operation
    session.events.register_first(f"before-call.{event}.{model.name}", refuse)
    return denied


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def throttle(session: boto3.Session, service: str, operation: str, times: int) -> list[int]:
    """Answer the first ``times`` HTTP attempts of ``operation`` with a throttling error.

    Hooked on ``before-send``, below botocore's retry handler, so the retries are the real
    ones. Returns a one-element list counting every attempt.
    """
    model = operation_model(service, operation)
    protocol = model.service_model.protocol
    event = service_model(service).service_id.hyphenize()
    attempts = [0]
    lock = threading.Lock()

    def send(request: Any, **_: Any) -> AWSResponse | None:
        with lock:
            attempts[0] += 1
            if attempts[0] > times:
                return None
        if protocol in ("json", "rest-json"):
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
            headers = {"x-amzn-RequestId": "throttled", "x-amzn-ErrorType": "ThrottlingException"}
        else:
            body = ("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                    "<Message>Rate exceeded</Message></Error><RequestId>throttled</RequestId>"
                    "</ErrorResponse>")
            headers = {"x-amzn-RequestId": "throttled"}
        return AWSResponse(request.url, 400, headers, _Body(body.encode()))

    session.events.register(f"before-send.{event}.{model.name}", send)
    return attempts


# ----- the demo's account ------------------------------------------------------------------------
@dataclass
class DemoAccount:
    """The demo's AWS side as seeded in moto, and how its ids map to moto's."""

    demo: Snapshot
    ids: dict[str, str] = field(default_factory=dict)
    role_arns: list[str] = field(default_factory=list)
    images: list[tuple[str, str, str]] = field(default_factory=list)
    instance_ids: list[str] = field(default_factory=list)

    def translate(self, value: Any) -> Any:
        """``value`` with every demo id replaced by moto's (ARNs and nested ids included)."""
        if not self.ids:
            return copy.deepcopy(value)
        rx = re.compile("|".join(re.escape(k) for k in sorted(self.ids, key=len, reverse=True)))
        return _walk_strings(value, lambda s: rx.sub(lambda m: self.ids[m[0]], s))

    def records(self, service: str, operation: str) -> list[dict[str, Any]]:
        """The demo's records of one operation, ids translated."""
        return self.translate(self.demo.aws(service, operation))


def _walk_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {fn(k) if isinstance(k, str) else k: _walk_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_strings(v, fn) for v in value]
    return fn(value) if isinstance(value, str) else value


def _response(snap: Snapshot, service: str, operation: str) -> list[dict[str, Any]]:
    return [r["response"] for r in snap.aws(service, operation) if "response" in r]


def _tags(tags: dict[str, str] | list[dict[str, str]]) -> list[dict[str, str]]:
    if isinstance(tags, dict):
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return list(tags)


def seed_demo_account(session: boto3.Session, demo: Snapshot | str | Path) -> DemoAccount:
    """Create in moto the AWS side of the demo snapshot ``demo``; ``session`` is in its account."""
    snap = demo if isinstance(demo, Snapshot) else Snapshot.load(demo)
    account = DemoAccount(snap)
    account.role_arns = irsa_role_arns(snap.k8s("serviceaccounts"))
    account.images = running_ecr_images(snap.iter_k8s("pods"))
    _seed_iam(session, snap)
    kms_ids = _seed_kms(session, snap, account)
    _seed_ec2(session, snap, account)
    account.instance_ids = [account.ids.get(i, i) for i in node_instance_ids(snap.k8s("nodes"))]
    _seed_eks(session, snap, account)
    _seed_secrets(session, snap, kms_ids)
    _seed_ecr(session, snap)
    _seed_logs(session, snap)
    _seed_detection(session, snap, account)
    return account


@cache
def _aws_managed_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def load_aws_managed_policies(arns: list[str]) -> None:
    """Make these AWS-managed policies exist in the demo account of the in-process moto server.

    moto knows AWS-managed policies (``arn:aws:iam::aws:policy/...``) only when
    ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``, and then loads all 1,582 of them into every account:
    about 1.5 s per seeding and 2 s per reset. The server runs in this process, so the few the
    demo attaches are put into the account's IAM backend the way moto loads them (moto's own
    copy of the documents, versions and paths). Should moto's internals move, set
    ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` instead.
    """
    if os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES", "").lower() == "true":
        return
    from moto.iam.models import AWSManagedPolicy, iam_backends

    backend = iam_backends[ACCOUNT]["aws"]
    data = _aws_managed_policy_data()
    for arn in arns:
        name = arn.rsplit("/", 1)[1]
        if arn not in backend.managed_policies:
            policy = AWSManagedPolicy.from_data(name, ACCOUNT, backend.region_name, data[name])
            assert policy.arn == arn, (policy.arn, arn)
            backend.aws_managed_policies.append(policy)
            backend.managed_policies[policy.arn] = policy


def _seed_iam(session: boto3.Session, snap: Snapshot) -> None:
    iam = session.client("iam")
    load_aws_managed_policies([
        p["PolicyArn"] for r in snap.aws("iam", "list_attached_role_policies")
        for p in r["response"]["AttachedPolicies"]
        if p["PolicyArn"].startswith("arn:aws:iam::aws:")])
    versions = {r["params"]["PolicyArn"]: r["response"]["PolicyVersion"]["Document"]
                for r in snap.aws("iam", "get_policy_version")}
    for policy in (p["Policy"] for p in _response(snap, "iam", "get_policy")):
        if f":{ACCOUNT}:" not in policy["Arn"]:
            continue  # AWS-managed: moto loads them
        doc = json.dumps(versions[policy["Arn"]])
        iam.create_policy(PolicyName=policy["PolicyName"], Path=policy["Path"],
                          PolicyDocument=doc)
        for _ in range(int(policy["DefaultVersionId"].lstrip("v")) - 1):
            iam.create_policy_version(PolicyArn=policy["Arn"], PolicyDocument=doc,
                                      SetAsDefault=True)
    for role in (r["Role"] for r in _response(snap, "iam", "get_role")):
        kwargs: dict[str, Any] = {"RoleName": role["RoleName"], "Path": role["Path"],
                                  "AssumeRolePolicyDocument": json.dumps(
                                      role["AssumeRolePolicyDocument"]),
                                  "MaxSessionDuration": role["MaxSessionDuration"]}
        if role.get("Description"):
            kwargs["Description"] = role["Description"]
        iam.create_role(**kwargs)
    for rec in snap.aws("iam", "list_attached_role_policies"):
        for p in rec["response"]["AttachedPolicies"]:
            iam.attach_role_policy(RoleName=rec["params"]["RoleName"], PolicyArn=p["PolicyArn"])
    for rec in snap.aws("iam", "get_role_policy"):
        iam.put_role_policy(RoleName=rec["params"]["RoleName"],
                            PolicyName=rec["params"]["PolicyName"],
                            PolicyDocument=json.dumps(rec["response"]["PolicyDocument"]))


def _seed_kms(session: boto3.Session, snap: Snapshot, account: DemoAccount) -> dict[str, str]:
    kms = session.client("kms")
    out = {}
    for meta in (r["KeyMetadata"] for r in _response(snap, "kms", "describe_key")):
        key = kms.create_key(Description=meta["Description"], KeyUsage=meta["KeyUsage"],
                             KeySpec=meta["KeySpec"])["KeyMetadata"]
        account.ids[meta["KeyId"]] = key["KeyId"]
        out[meta["KeyId"]] = key["Arn"]
    for secret in _response(snap, "secretsmanager", "list_secrets")[0]["SecretList"]:
        key_arn = secret.get("KmsKeyId")
        key_id = key_arn.rsplit("/", 1)[1] if key_arn else None
        if key_id and key_id not in account.ids:
            key = kms.create_key(Description="payments secrets")["KeyMetadata"]
            account.ids[key_id] = key["KeyId"]
            out[key_id] = key["Arn"]
    return out


def _seed_ec2(session: boto3.Session, snap: Snapshot, account: DemoAccount) -> None:
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=demo_module.VPC_CIDR)["Vpc"]["VpcId"]
    account.ids[demo_module.VPC_ID] = vpc
    for i, (subnet, az) in enumerate(zip(demo_module.SUBNETS, demo_module.AZS, strict=True)):
        account.ids[subnet] = ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.42.{64 * i}.0/18", AvailabilityZone=az)["Subnet"]["SubnetId"]
    groups = _response(snap, "ec2", "describe_security_groups")[0]["SecurityGroups"]
    for g in groups:
        account.ids[g["GroupId"]] = ec2.create_security_group(
            GroupName=g["GroupName"], Description=g["Description"], VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": g["Tags"]}],
        )["GroupId"]
    for g in groups:
        perms = account.translate(g["IpPermissions"])
        ec2.authorize_security_group_ingress(GroupId=account.ids[g["GroupId"]],
                                             IpPermissions=perms)
    for rec in _response(snap, "ec2", "describe_launch_template_versions"):
        for ver in rec["LaunchTemplateVersions"]:
            data = copy.deepcopy(ver["LaunchTemplateData"])
            # a bootstrap script holding a credential: it must reach the snapshot redacted
            data["UserData"] = base64.b64encode(
                f"#!/bin/bash\n/etc/eks/bootstrap.sh {CLUSTER}\nexport DB_PASSWORD="
                f"{AWS_CANARIES['user_data']}\n".encode()).decode()
            lt = ec2.create_launch_template(LaunchTemplateName=ver["LaunchTemplateName"],
                                            LaunchTemplateData=data,
                                            VersionDescription="initial")["LaunchTemplate"]
            for n in range(2, ver["VersionNumber"] + 1):
                ec2.create_launch_template_version(
                    LaunchTemplateId=lt["LaunchTemplateId"], LaunchTemplateData=data,
                    VersionDescription=ver["VersionDescription"] if n == ver["VersionNumber"]
                    else f"v{n}")
            ec2.modify_launch_template(LaunchTemplateId=lt["LaunchTemplateId"],
                                       DefaultVersion=str(ver["VersionNumber"]))
            account.ids[ver["LaunchTemplateId"]] = lt["LaunchTemplateId"]
    subnet_of = {az: account.ids[s] for s, az in zip(demo_module.SUBNETS, demo_module.AZS,
                                                     strict=True)}
    for res in _response(snap, "ec2", "describe_instances")[0]["Reservations"]:
        for inst in res["Instances"]:
            opts = inst["MetadataOptions"]
            created = ec2.run_instances(
                ImageId=inst["ImageId"], InstanceType=inst["InstanceType"], MinCount=1,
                MaxCount=1, SubnetId=subnet_of[inst["Placement"]["AvailabilityZone"]],
                SecurityGroupIds=[account.ids[g["GroupId"]] for g in inst["SecurityGroups"]],
                MetadataOptions={k: opts[k] for k in ("HttpTokens", "HttpPutResponseHopLimit",
                                                      "HttpEndpoint")},
                TagSpecifications=[{"ResourceType": "instance", "Tags": inst["Tags"]}],
            )["Instances"][0]
            account.ids[inst["InstanceId"]] = created["InstanceId"]


def _seed_eks(session: boto3.Session, snap: Snapshot, account: DemoAccount) -> None:
    eks = session.client("eks")
    c = account.translate(_response(snap, "eks", "describe_cluster")[0]["cluster"])
    vpc = c["resourcesVpcConfig"]
    eks.create_cluster(
        name=c["name"], version=c["version"], roleArn=c["roleArn"],
        resourcesVpcConfig={k: vpc[k] for k in ("subnetIds", "securityGroupIds",
                                                "endpointPublicAccess", "endpointPrivateAccess",
                                                "publicAccessCidrs")},
        kubernetesNetworkConfig={"serviceIpv4Cidr": c["kubernetesNetworkConfig"][
            "serviceIpv4Cidr"]},
        logging=c["logging"], encryptionConfig=c["encryptionConfig"], tags=c["tags"])
    for ng in (r["nodegroup"] for r in _response(snap, "eks", "describe_nodegroup")):
        ng = account.translate(ng)
        kwargs: dict[str, Any] = {k: ng[k] for k in (
            "clusterName", "nodegroupName", "subnets", "nodeRole", "scalingConfig", "amiType",
            "labels", "capacityType", "version", "releaseVersion", "tags") if k in ng}
        kwargs["taints"] = ng.get("taints", [])
        if "launchTemplate" in ng:
            kwargs["launchTemplate"] = {"id": ng["launchTemplate"]["id"],
                                        "version": ng["launchTemplate"]["version"]}
        else:
            kwargs.update(instanceTypes=ng["instanceTypes"], diskSize=ng["diskSize"])
            if "remoteAccess" in ng:
                kwargs["remoteAccess"] = ng["remoteAccess"]
        eks.create_nodegroup(**kwargs)
    # moto keeps the flags the canned describe_cluster states (it only drops other fields)
    got = eks.describe_cluster(name=c["name"])["cluster"]["resourcesVpcConfig"]
    for flag in ("endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs",
                 "securityGroupIds", "subnetIds"):
        assert got[flag] == vpc[flag], (flag, got[flag], vpc[flag])


def _seed_secrets(session: boto3.Session, snap: Snapshot, kms_arns: dict[str, str]) -> None:
    sm = session.client("secretsmanager")
    for secret in _response(snap, "secretsmanager", "list_secrets")[0]["SecretList"]:
        kwargs: dict[str, Any] = {"Name": secret["Name"], "Description": secret["Description"],
                                  "SecretString": AWS_CANARIES["secret_string"],
                                  "Tags": secret["Tags"]}
        if secret.get("KmsKeyId"):
            kwargs["KmsKeyId"] = kms_arns[secret["KmsKeyId"].rsplit("/", 1)[1]]
        sm.create_secret(**kwargs)
        if secret.get("RotationEnabled"):
            # moto turns rotation on without a Lambda (AWS would need one); dates are moto's
            sm.rotate_secret(SecretId=secret["Name"], RotationRules=secret["RotationRules"],
                             RotateImmediately=False)


def _seed_ecr(session: boto3.Session, snap: Snapshot) -> None:
    ecr = session.client("ecr")
    for repo in _response(snap, "ecr", "describe_repositories")[0]["repositories"]:
        ecr.create_repository(repositoryName=repo["repositoryName"],
                              imageTagMutability=repo["imageTagMutability"],
                              imageScanningConfiguration=repo["imageScanningConfiguration"],
                              encryptionConfiguration=repo["encryptionConfiguration"])
    for rec in snap.aws("ecr", "get_repository_policy"):
        if "response" in rec:
            ecr.set_repository_policy(repositoryName=rec["params"]["repositoryName"],
                                      policyText=rec["response"]["policyText"])
    findings = []
    for rec in snap.aws("ecr", "describe_image_scan_findings"):
        repo, digest = rec["params"]["repositoryName"], rec["params"]["imageId"]["imageDigest"]
        tag = (rec.get("response") or {}).get("imageId", {}).get("imageTag")
        manifest = {"schemaVersion": 2,
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                               "size": 1470, "digest": digest},
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                "size": 3_400_000, "digest": digest}]}
        kwargs: dict[str, Any] = {"repositoryName": repo, "imageManifest": json.dumps(manifest),
                                  "imageDigest": digest}
        if tag:
            kwargs["imageTag"] = tag
        ecr.put_image(**kwargs)
        if "response" in rec:  # scanned: the others raise ScanNotFoundException by themselves
            ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
            validate_response("ecr", "describe_image_scan_findings", rec["response"])
            findings.append(rec["response"])
    if findings:
        endpoint = session.client("ecr").meta.endpoint_url
        MotoServer(endpoint).post("/moto-api/static/ecr/scan-finding-results", {
            "results": findings, "region": REGION, "account_id": ACCOUNT})
    for rec in snap.aws("ecr", "get_registry_scanning_configuration"):
        conf = rec["response"]["scanningConfiguration"]
        ecr.put_registry_scanning_configuration(scanType=conf["scanType"], rules=conf["rules"])
    seed_inspector_findings(session, [r["response"] for r in snap.aws("inspector2", "list_findings")
                                      if "response" in r])


def seed_inspector_findings(session: boto3.Session, responses: list[dict[str, Any]]) -> None:
    """Queue ``list_findings`` answers in moto (``/moto-api/static/inspector2/findings-results``).

    moto answers the first ``list_findings`` of a given set of parameters with the next queued
    list (0 findings when the queue is empty) and applies no filter; each response is validated
    against botocore's output shape first, as moto does not check it.
    """
    for resp in responses:
        validate_response("inspector2", "list_findings", resp)
    if responses:
        endpoint = session.client("inspector2").meta.endpoint_url
        MotoServer(endpoint).post("/moto-api/static/inspector2/findings-results", {
            "results": [r["findings"] for r in responses], "region": REGION,
            "account_id": ACCOUNT})


def _seed_logs(session: boto3.Session, snap: Snapshot) -> None:
    logs = session.client("logs")
    for group in _response(snap, "logs", "describe_log_groups")[0]["logGroups"]:
        logs.create_log_group(logGroupName=group["logGroupName"])
        if group.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=group["logGroupName"],
                                      retentionInDays=group["retentionInDays"])


def _seed_detection(session: boto3.Session, snap: Snapshot, account: DemoAccount) -> None:
    for rec in snap.aws("guardduty", "get_detector"):
        det = rec["response"]
        features = [{"Name": f["Name"], "Status": f["Status"],
                     **({"AdditionalConfiguration": [
                         {"Name": a["Name"], "Status": a["Status"]}
                         for a in f["AdditionalConfiguration"]]}
                        if f.get("AdditionalConfiguration") else {})}
                    for f in det["Features"]]
        created = session.client("guardduty").create_detector(
            Enable=det["Status"] == "ENABLED",
            FindingPublishingFrequency=det["FindingPublishingFrequency"], Features=features)
        account.ids[rec["params"]["DetectorId"]] = created["DetectorId"]
    s3 = session.client("s3")
    ct = session.client("cloudtrail")
    for trail in _response(snap, "cloudtrail", "describe_trails")[0]["trailList"]:
        s3.create_bucket(Bucket=trail["S3BucketName"],
                         CreateBucketConfiguration={"LocationConstraint": REGION})
        ct.create_trail(Name=trail["Name"], S3BucketName=trail["S3BucketName"],
                        IncludeGlobalServiceEvents=trail["IncludeGlobalServiceEvents"],
                        IsMultiRegionTrail=trail["IsMultiRegionTrail"],
                        EnableLogFileValidation=trail["LogFileValidationEnabled"])
        ct.start_logging(Name=trail["Name"])


# ----- the canned half of the demo ---------------------------------------------------------------
_WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
_RBAC = ("roles", "rolebindings", "clusterroles", "clusterrolebindings")


def _row(cells: list[dict[str, str]]) -> dict[str, str]:
    return {c["field"]: c["value"] for c in cells}


#: which recorded audit rows each named query would return (the canned stand-in for Insights)
AUDIT_ROW_FILTERS: dict[str, Callable[[dict[str, str]], bool]] = {
    "pod_exec_attach": lambda r: r.get("objectRef.resource") == "pods"
    and r.get("objectRef.subresource") in ("exec", "attach", "portforward"),
    "rbac_or_aws_auth_change": lambda r: r.get("verb") in _WRITE_VERBS and (
        (r.get("objectRef.resource"), r.get("objectRef.namespace"), r.get("objectRef.name"))
        == ("configmaps", "kube-system", "aws-auth") or r.get("objectRef.resource") in _RBAC),
    "anonymous_request": lambda r: r.get("user.username") == "system:anonymous",
    "denied_secret_read": lambda r: r.get("objectRef.resource") == "secrets"
    and r.get("verb") in ("get", "list", "watch")
    and r.get("responseStatus.code") in ("401", "403"),
}


def install_gap_responses(session: boto3.Session, account: DemoAccount, *,
                          running_polls: int = 1, never_complete: bool = False) -> CannedAws:
    """Register on ``session`` the canned answers for what moto lacks (see the module doc).

    Logs Insights: ``get_query_results`` says ``Running`` ``running_polls`` times per query,
    then ``Complete`` with the demo's audit rows that query would match (``never_complete``:
    always ``Running``, to exercise the collector's time limit).
    """
    canned = CannedAws(session)
    for service, operation in (
            ("eks", "describe_cluster"), ("eks", "describe_nodegroup"), ("eks", "list_addons"),
            ("eks", "describe_addon"), ("eks", "describe_access_entry"),
            ("eks", "list_associated_access_policies"),
            ("eks", "list_pod_identity_associations"),
            ("eks", "describe_pod_identity_association")):
        for rec in account.records(service, operation):
            canned.add(service, operation, rec["params"], rec["response"])
    # access entries in two pages, so that the collector's page merging is exercised
    (entries,) = account.records("eks", "list_access_entries")
    arns = entries["response"]["accessEntries"]
    canned.add("eks", "list_access_entries", entries["params"],
               {"accessEntries": arns[:3], "nextToken": "page-2"})
    canned.add("eks", "list_access_entries", {**entries["params"], "nextToken": "page-2"},
               {"accessEntries": arns[3:]})

    (results,) = account.records("logs", "get_query_results")
    rows = results["response"]["results"]
    by_query = {name: [r for r in rows if keep(_row(r))]
                for name, keep in AUDIT_ROW_FILTERS.items()}
    started: dict[str, str] = {}
    polls: dict[str, int] = {}
    lock = threading.Lock()

    def remember(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        text = context.get("zt_api_params", {}).get("queryString")
        name = next((n for n, q in AUDIT_QUERIES.items() if q == text), "unknown")
        if parsed.get("queryId"):
            with lock:
                started[parsed["queryId"]] = name

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        qid = params["queryId"]
        with lock:
            polls[qid] = polls.get(qid, 0) + 1
            n, name = polls[qid], started.get(qid, "unknown")
        found = by_query.get(name, [])
        if never_complete or n <= running_polls:
            return {"results": [], "status": "Running", "statistics": {
                "recordsMatched": 0.0, "recordsScanned": 1_000.0 * n, "bytesScanned": 1e6 * n}}
        return {"results": found, "status": "Complete", "statistics": {
            "recordsMatched": float(len(found)), "recordsScanned": 4_812_311.0,
            "bytesScanned": 5_120_334_981.0}}

    examples = [{"results": r, "status": "Complete", "statistics": {"recordsMatched": 1.0}}
                for r in by_query.values()]
    examples.append({"results": [], "status": "Running", "statistics": {}})
    canned.add_dynamic("logs", "get_query_results", answer, examples)
    canned.add_dynamic("logs", "stop_query", lambda params: {"success": True},
                       [{"success": True}])  # not implemented by moto
    event = service_model("logs").service_id.hyphenize()
    session.events.register(f"after-call.{event}.StartQuery", remember)
    canned.query_names = started  # type: ignore[attr-defined]
    return canned


def demo_now() -> datetime:
    """The demo's collection time (the audit window ends there)."""
    return demo_module.NOW
