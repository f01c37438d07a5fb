"""Network frames: policy defaulting and selection, enforcement evidence, LB schemes, EC2."""

from __future__ import annotations

import time

import pytest

from zt_toolkit.checks import get_check, run_checks
from zt_toolkit.frames import Frames
from zt_toolkit.frames.network import (
    describe_ports,
    endpoint_state,
    enforcement_caveat,
    service_scheme,
)
from zt_toolkit.snapshot import Snapshot, SnapshotWriter

SVC = "service.beta.kubernetes.io/"


def snapshot(tmp_path, k8s=None, aws=None, gaps=None):
    """A hand-written snapshot: ``k8s`` {resource: items}, ``aws`` {"svc/op": records}."""
    w = SnapshotWriter(tmp_path / "snap", source="live", cluster={"name": "c1"})
    for resource, items in (k8s or {}).items():
        w.write_k8s(resource, items, kind="List")
    for key, records in (aws or {}).items():
        service, op = key.split("/")
        w.write_aws(service, op, records)
    for key, status in (gaps or {}).items():
        w.record_gap(key, status, "test")
    return Frames(Snapshot.load(w.close()))


def ds(name, ns="kube-system", containers=None):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": containers or [{"name": name}]}}}}


def addon(config=None):
    a = {"addonName": "vpc-cni", "addonVersion": "v1.18.3-eksbuild.2"}
    if config is not None:
        a["configurationValues"] = config
    return [{"params": {"clusterName": "c1", "addonName": "vpc-cni"}, "response": {"addon": a}}]


def run(frames, check_id):
    f = run_checks(frames, [get_check(check_id)])
    return f.status.tolist(), f.detail.tolist()


# ----- NetworkPolicies ---------------------------------------------------------------------------
def test_policy_types_default_like_the_api_server(tmp_path):
    pols = [
        {"metadata": {"name": "no-types", "namespace": "a"}, "spec": {"podSelector": {}}},
        {"metadata": {"name": "egress-rules", "namespace": "a"},
         "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}},
        {"metadata": {"name": "empty-egress", "namespace": "a"},
         "spec": {"podSelector": {}, "egress": []}},
        {"metadata": {"name": "explicit", "namespace": "a"},
         "spec": {"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Egress"],
                  "ingress": [{}]}},
    ]
    p = snapshot(tmp_path, {"networkpolicies.networking.k8s.io": pols}).network_policies
    p = p.set_index("name")
    assert p.loc["no-types", "policy_types"] == ("Ingress",)
    assert p.loc["egress-rules", "policy_types"] == ("Ingress", "Egress")
    assert p.loc["empty-egress", "policy_types"] == ("Ingress",)
    assert p.loc["explicit", "policy_types"] == ("Egress",)
    assert bool(p.loc["no-types", "denies_all_ingress"])
    assert bool(p.loc["egress-rules", "egress_dns_only"])
    assert not p.loc["explicit", "selects_all_pods"]
    # the ingress "- {}" of an Egress-only policy has no effect
    assert not p.loc["explicit", "allow_all_ingress"]
    assert bool(p.loc["explicit", "denies_all_egress"])


def test_policy_targets_scale_linearly(tmp_path):
    n_ns, per_ns = 100, 200  # 20,000 workloads, 1,000 policies
    workloads, policies = [], []
    for i in range(n_ns):
        ns = f"ns{i}"
        for j in range(per_ns):
            workloads.append({
                "metadata": {"name": f"w{j}", "namespace": ns, "uid": f"{ns}-{j}"},
                "spec": {"template": {"metadata": {"labels": {"app": f"a{j % 20}",
                                                              "tier": f"t{j % 3}"}},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        policies.append({"metadata": {"name": "deny", "namespace": ns},
                         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})
        for k in range(9):
            policies.append({"metadata": {"name": f"p{k}", "namespace": ns}, "spec": {
                "podSelector": {"matchExpressions": [
                    {"key": "app", "operator": "In", "values": [f"a{k}", f"a{k + 1}"]},
                    {"key": "tier", "operator": "NotIn", "values": ["t0"]}]}}})
    frames = snapshot(tmp_path, {"deployments.apps": workloads,
                                 "networkpolicies.networking.k8s.io": policies})
    assert len(frames.workloads) == n_ns * per_ns  # built first: the timing is about selection
    start = time.perf_counter()
    targets = frames.network_policy_targets
    elapsed = time.perf_counter() - start
    deny = targets[targets.policy_name == "deny"]
    assert len(deny) == n_ns * per_ns
    p0 = targets[(targets.policy_name == "p0") & (targets.policy_namespace == "ns0")]
    expected = {f"w{j}" for j in range(per_ns) if j % 20 in (0, 1) and j % 3 != 0}
    assert set(p0.name) == expected
    assert elapsed < 5, f"selection took {elapsed:.1f}s"


# ----- enforcement -------------------------------------------------------------------------------
def test_enforcement_not_assessed_without_addon_and_daemonsets(tmp_path):
    frames = snapshot(tmp_path, {"namespaces": [{"metadata": {"name": "shop"}}]},
                      gaps={"k8s/daemonsets.apps": "forbidden",
                            "aws/eks/describe_addon": "forbidden"})
    statuses, details = run(frames, "network_policy_enforcement_enabled")
    assert statuses == ["not_assessed"]
    assert "daemonsets" in details[0]
    assert "not assessed" in enforcement_caveat(frames)


def test_enforcement_unknown_when_addon_absent_and_daemonsets_not_collected(tmp_path):
    frames = snapshot(
        tmp_path, {},
        aws={"eks/describe_addon": [{"params": {"clusterName": "c1", "addonName": "vpc-cni"},
                                     "error": {"code": "ResourceNotFoundException",
                                               "message": "No addon: vpc-cni"}}]},
        gaps={"k8s/daemonsets.apps": "forbidden"})
    statuses, details = run(frames, "network_policy_enforcement_enabled")
    assert statuses == ["not_assessed"]
    assert "not installed as an EKS add-on" in details[0]
    assert "unknown" in enforcement_caveat(frames)


def test_enforcement_addon_disabled_without_daemonsets_fails_with_caveat(tmp_path):
    frames = snapshot(tmp_path, {}, aws={"eks/describe_addon": addon()},
                      gaps={"k8s/daemonsets.apps": "forbidden"})
    statuses, details = run(frames, "network_policy_enforcement_enabled")
    assert statuses == ["fail"]
    assert "Calico or Cilium could not be looked for" in details[0]


def test_enforcement_calico_namespace_when_daemonsets_not_collected(tmp_path):
    frames = snapshot(tmp_path, {"namespaces": [{"metadata": {"name": "calico-system"}}]},
                      gaps={"k8s/daemonsets.apps": "forbidden"},
                      aws={"eks/describe_addon": addon()})
    statuses, details = run(frames, "network_policy_enforcement_enabled")
    assert statuses == ["pass"]
    assert "calico-system" in details[0]


@pytest.mark.parametrize(("args", "expected"), [
    (["--enable-network-policy=true"], "pass"),
    (["--enable-network-policy"], "pass"),  # bare bool flag: true
    (["-enable-network-policy=True"], "pass"),
    (["--enable-network-policy=false"], "fail"),
    (["--enable-network-policy-x=true"], "fail"),
    ([], "fail"),
])
def test_node_agent_flag(tmp_path, args, expected):
    agent = {"name": "aws-eks-nodeagent", "args": args}
    frames = snapshot(tmp_path, {"daemonsets.apps": [ds("aws-node", containers=[
        {"name": "aws-node"}, agent])]}, aws={"eks/describe_addon": addon()})
    assert run(frames, "network_policy_enforcement_enabled")[0] == [expected]


def test_caveat_reaches_namespace_findings(tmp_path):
    k8s = {"deployments.apps": [{"metadata": {"name": "web", "namespace": "shop"}, "spec": {
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}}}],
        "networkpolicies.networking.k8s.io": [],
        "daemonsets.apps": [ds("aws-node", containers=[{"name": "aws-node"}])]}
    frames = snapshot(tmp_path, k8s, aws={"eks/describe_addon": addon()})
    statuses, details = run(frames, "namespace_network_policy_present")
    assert statuses == ["fail"]
    assert "judged as written" in details[0]
    enforced = snapshot(tmp_path / "b", {**k8s, "daemonsets.apps": [ds("cilium")]})
    assert "judged as written" not in run(enforced, "namespace_network_policy_present")[1][0]


# ----- Services and Ingresses --------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "ann", "scheme"), [
    ({}, {}, "internet-facing"),  # in-tree default
    ({}, {SVC + "aws-load-balancer-internal": "true"}, "internal"),
    ({}, {SVC + "aws-load-balancer-internal": "0.0.0.0/0"}, "internal"),  # any value but "false"
    ({}, {SVC + "aws-load-balancer-internal": "false"}, "internet-facing"),
    ({"loadBalancerClass": "service.k8s.aws/nlb"}, {}, "internal"),  # LBC default
    ({}, {SVC + "aws-load-balancer-type": "external"}, "internal"),
    ({}, {SVC + "aws-load-balancer-type": "nlb-ip"}, "internal"),
    ({"loadBalancerClass": "eks.amazonaws.com/nlb"}, {}, "internal"),  # Auto Mode
    ({"loadBalancerClass": "service.k8s.aws/nlb"},
     {SVC + "aws-load-balancer-scheme": "internet-facing"}, "internet-facing"),
    ({"loadBalancerClass": "service.k8s.aws/nlb"},
     {SVC + "aws-load-balancer-scheme": "internet-facing",
      SVC + "aws-load-balancer-internal": "true"}, "internal"),
    ({}, {SVC + "aws-load-balancer-type": "nlb"}, "internet-facing"),  # in-tree NLB
    ({}, {SVC + "aws-load-balancer-scheme": "internal"}, "internal"),
    ({"loadBalancerClass": "example.com/lb"}, {}, "internet-facing"),
])
def test_service_scheme(spec, ann, scheme):
    assert service_scheme(spec, ann)[1] == scheme


def test_services_frame_source_ranges(tmp_path):
    svcs = [
        {"metadata": {"name": "a", "namespace": "s",
                      "annotations": {SVC + "load-balancer-source-ranges":
                                      "10.0.0.0/8, 1.2.3.4/32"}},
         "spec": {"type": "LoadBalancer"}},
        {"metadata": {"name": "b", "namespace": "s",
                      "annotations": {SVC + "load-balancer-source-ranges": "10.0.0.0/8"}},
         "spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["192.0.2.0/24"]}},
        {"metadata": {"name": "c", "namespace": "s"}, "spec": {}},
    ]
    s = snapshot(tmp_path, {"services": svcs}).services.set_index("name")
    assert s.loc["a", "source_ranges"] == ("10.0.0.0/8", "1.2.3.4/32")
    assert s.loc["b", "source_ranges"] == ("192.0.2.0/24",)  # the spec field wins
    assert s.loc["c", "type"] == "ClusterIP"
    assert not s.loc["c", "internet_facing"]


# ----- EC2 and EKS -------------------------------------------------------------------------------
def test_security_groups_one_row_per_range(tmp_path):
    rec = {"params": {"GroupIds": ["sg-1", "sg-2"]}, "response": {"SecurityGroups": [
        {"GroupId": "sg-1", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}, {"CidrIp": "0.0.0.0/0"}],
             "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
             "UserIdGroupPairs": [{"GroupId": "sg-2"}],
             "PrefixListIds": [{"PrefixListId": "pl-1"}]},
        ]},
        {"GroupId": "sg-2", "IpPermissions": []},
    ]}}
    sg = snapshot(tmp_path, aws={"ec2/describe_security_groups": [rec, rec]}).security_groups
    assert len(sg) == 6  # 5 ranges of sg-1 (deduplicated across records), sg-2's "none" row
    assert sg.open_to_world.sum() == 2
    assert sg[sg.group_id == "sg-2"].source_kind.tolist() == ["none"]


def test_describe_ports_and_endpoint_state():
    assert describe_ports("-1", None, None) == "all traffic"
    assert describe_ports("tcp", 22, 22) == "tcp/22"
    assert describe_ports("6", 30000, 32767) == "tcp/30000-32767"
    assert describe_ports("udp", 0, 65535) == "udp/all ports"
    assert endpoint_state(None, None, []) == "public-only (public endpoint open to 0.0.0.0/0)"
    assert endpoint_state(True, True, ["1.2.3.0/24"]) == (
        "public-and-private (public endpoint limited to 1.2.3.0/24)")
    assert endpoint_state(False, True, []) == "private-only"
