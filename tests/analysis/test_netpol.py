"""The NetworkPolicy reachability engine, one semantic rule at a time."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from zt_toolkit.analysis.netpol import (
    Peer,
    PortSet,
    compute,
    format_connections,
    peers_matching,
    reachability,
)
from zt_toolkit.cli import app
from zt_toolkit.frames import Frames
from zt_toolkit.snapshot import Snapshot

EVERYWHERE = Peer("", "0.0.0.0-255.255.255.255", "External")


def wl(ns, name, labels, ports=(), kind="Deployment"):
    return {"kind": kind, "namespace": ns, "name": name, "labels": labels, "ports": ports}


def pol(ns, name, selector=None, ingress=None, egress=None, types=()):
    return {"namespace": ns, "name": name, "pod_selector": selector or {},
            "policy_types": tuple(types), "ingress_rules": ingress or [],
            "egress_rules": egress or []}


def run(workloads, policies, namespaces=None, **kw):
    nss = namespaces or {w["namespace"]: {} for w in workloads}
    return compute(pd.DataFrame(workloads),
                   pd.DataFrame(policies, columns=["namespace", "name", "pod_selector",
                                                   "policy_types", "ingress_rules",
                                                   "egress_rules"]),
                   pd.DataFrame({"name": list(nss), "labels": list(nss.values())}), **kw)


def P(ns, name, kind="Deployment"):
    return Peer(ns, name, kind)


def conn(reach, src, dst):
    ports = reach.connections.get((src, dst))
    return None if ports is None else str(ports)


def app_sel(value):
    return {"matchLabels": {"app": value}}


# ------------------------------------------------------------------------------------------
# PortSet
# ------------------------------------------------------------------------------------------
def test_portset_text_groups_protocols_in_np_guard_order():
    p = PortSet.of("UDP", 9090) | PortSet.of("TCP", 8080, 8081) | PortSet.of("SCTP", 7070)
    assert str(p) == "SCTP 7070,TCP 8080-8081,UDP 9090"
    assert str(PortSet.of("TCP", 10053, 10054) | PortSet.of("UDP", 10053)) == \
        "TCP 10053-10054,UDP 10053"


def test_portset_merges_adjacent_ranges_and_intersects():
    p = PortSet.of("TCP", 80) | PortSet.of("TCP", 81, 90) | PortSet.of("TCP", 443)
    assert str(p) == "TCP 80-90,443"
    assert str(p & PortSet.of("TCP", 85, 500)) == "TCP 85-90,443"
    assert not (p & PortSet.of("UDP"))
    assert str(PortSet.of("TCP") | PortSet.of("UDP") | PortSet.of("SCTP")) == "All Connections"


def test_portset_allows():
    p = PortSet.of("TCP", 8000, 8100)
    assert p.allows("tcp", 8000) and p.allows("TCP", 8100)
    assert not p.allows("TCP", 8101)
    assert not p.allows("UDP", 8050)
    assert not p.allows("ICMP", 0)


# ------------------------------------------------------------------------------------------
# isolation and policyTypes
# ------------------------------------------------------------------------------------------
def test_no_policy_everything_open_including_external():
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [])
    assert conn(r, P("a", "x"), P("a", "y")) == "All Connections"
    assert conn(r, P("a", "y"), EVERYWHERE) == "All Connections"
    assert conn(r, EVERYWHERE, P("a", "x")) == "All Connections"
    assert (P("a", "x"), P("a", "x")) not in r.connections
    assert len(r.connections) == 6


def test_ingress_isolation_only_affects_selected_pods():
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"}),
             wl("a", "z", {"app": "z"})],
            [pol("a", "deny-x", app_sel("x"), types=["Ingress"])])
    assert conn(r, P("a", "y"), P("a", "x")) is None
    assert conn(r, EVERYWHERE, P("a", "x")) is None
    assert conn(r, P("a", "x"), P("a", "y")) == "All Connections"  # egress of x still open
    assert conn(r, P("a", "y"), P("a", "z")) == "All Connections"


def test_connection_needs_egress_at_source_and_ingress_at_destination():
    ingress_ok = pol("a", "db-in", app_sel("db"),
                     ingress=[{"from": [{"podSelector": app_sel("web")}]}])
    deny_web_egress = pol("a", "web-out", app_sel("web"), types=["Egress"])
    r = run([wl("a", "web", {"app": "web"}), wl("a", "db", {"app": "db"})],
            [ingress_ok, deny_web_egress])
    assert conn(r, P("a", "web"), P("a", "db")) is None
    r = run([wl("a", "web", {"app": "web"}), wl("a", "db", {"app": "db"})], [ingress_ok])
    assert conn(r, P("a", "web"), P("a", "db")) == "All Connections"


def test_policy_types_default_adds_egress_only_when_egress_rules_exist():
    only_ingress = pol("a", "p", app_sel("x"), ingress=[{"from": [{"podSelector": {}}]}])
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [only_ingress])
    assert conn(r, P("a", "x"), EVERYWHERE) == "All Connections"  # egress not isolated
    assert conn(r, EVERYWHERE, P("a", "x")) is None
    with_egress = pol("a", "p", app_sel("x"), egress=[{"to": [{"podSelector": app_sel("y")}],
                                                      "ports": [{"port": 53,
                                                                 "protocol": "UDP"}]}])
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [with_egress])
    assert conn(r, P("a", "x"), P("a", "y")) == "UDP 53"
    assert conn(r, P("a", "x"), EVERYWHERE) is None
    assert conn(r, P("a", "y"), P("a", "x")) is None  # Ingress is always defaulted in


def test_rules_of_an_undeclared_direction_have_no_effect():
    p = pol("a", "egress-only", app_sel("x"), types=["Egress"],
            ingress=[{"from": [{"podSelector": app_sel("nobody")}]}])
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [p])
    assert conn(r, P("a", "y"), P("a", "x")) == "All Connections"
    assert conn(r, P("a", "x"), P("a", "y")) is None


def test_rules_are_a_union_over_policies():
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})],
            [pol("a", "p1", app_sel("x"), ingress=[{"ports": [{"port": 80}]}]),
             pol("a", "p2", {}, ingress=[{"ports": [{"port": 443}]}])])
    assert conn(r, P("a", "y"), P("a", "x")) == "TCP 80,443"
    assert conn(r, P("a", "x"), P("a", "y")) == "TCP 443"


def test_enforced_false_opens_everything():
    deny_all = pol("a", "deny", {}, types=["Ingress", "Egress"])
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [deny_all],
            enforced=False)
    assert not r.enforced
    assert conn(r, P("a", "x"), P("a", "y")) == "All Connections"
    assert r.allowed(P("a", "x"), EVERYWHERE, "UDP", 53)
    assert "no engine enforces NetworkPolicy" in r.explain(P("a", "x"), P("a", "y"), "TCP", 1)
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [deny_all])
    assert len(r.connections) == 0


# ------------------------------------------------------------------------------------------
# selectors
# ------------------------------------------------------------------------------------------
NAMESPACES = {"shop": {"team": "web"}, "pay": {"team": "pay", "pci": "true"},
              "ops": {"team": "ops"}}
WORKLOADS = [wl("shop", "web", {"app": "web", "tier": "front"}),
             wl("shop", "db", {"app": "db", "tier": "data"}),
             wl("pay", "gw", {"app": "gw"}), wl("ops", "prom", {"app": "prom"})]


def sources(policy):
    """Who may reach shop/db under ``policy`` (an ingress policy on it)."""
    r = run(WORKLOADS, [policy], NAMESPACES)
    return {p.name for p in r.peers if (p, P("shop", "db")) in r.connections}


def db_policy(*peers):
    return pol("shop", "db-in", app_sel("db"), ingress=[{"from": list(peers)}])


def test_pod_selector_alone_is_the_policy_namespace():
    assert sources(db_policy({"podSelector": {}})) == {"web"}


def test_namespace_selector_alone_is_every_pod_of_those_namespaces():
    assert sources(db_policy({"namespaceSelector": {"matchLabels": {"team": "pay"}}})) == {"gw"}
    assert sources(db_policy({"namespaceSelector": {}})) == {"web", "gw", "prom"}


def test_namespace_name_label_is_always_there():
    sel = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}
    assert sources(db_policy(sel)) == {"prom"}


def test_both_selectors_in_one_peer_are_anded():
    peer = {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In",
                                                        "values": ["pay", "ops"]}]},
            "podSelector": app_sel("prom")}
    assert sources(db_policy(peer)) == {"prom"}
    # two peers are ORed
    assert sources(db_policy({"namespaceSelector": {"matchLabels": {"team": "pay"}}},
                             {"podSelector": app_sel("prom")})) == {"gw"}


@pytest.mark.parametrize(("expression", "expected"), [
    ({"key": "pci", "operator": "Exists"}, {"gw"}),
    ({"key": "pci", "operator": "DoesNotExist"}, {"web", "prom"}),
    ({"key": "team", "operator": "NotIn", "values": ["web", "pay"]}, {"prom"}),
    ({"key": "team", "operator": "In", "values": ["web"]}, {"web"}),
])
def test_namespace_selector_expressions(expression, expected):
    peer = {"namespaceSelector": {"matchExpressions": [expression]}}
    assert sources(db_policy(peer)) == expected


@pytest.mark.parametrize(("expression", "expected"), [
    ({"key": "tier", "operator": "Exists"}, {"web"}),
    ({"key": "tier", "operator": "DoesNotExist"}, {"gw", "prom"}),
    ({"key": "app", "operator": "NotIn", "values": ["web"]}, {"gw", "prom"}),
    ({"key": "app", "operator": "In", "values": ["gw", "prom"]}, {"gw", "prom"}),
])
def test_pod_selector_expressions_across_namespaces(expression, expected):
    peer = {"namespaceSelector": {}, "podSelector": {"matchExpressions": [expression]}}
    assert sources(db_policy(peer)) == expected


def test_policy_selects_only_pods_of_its_own_namespace():
    r = run(WORKLOADS, [pol("pay", "deny-all", {}, types=["Ingress"])], NAMESPACES)
    assert conn(r, P("shop", "web"), P("shop", "db")) == "All Connections"
    assert conn(r, P("shop", "web"), P("pay", "gw")) is None


# ------------------------------------------------------------------------------------------
# ports
# ------------------------------------------------------------------------------------------
def test_named_ports_resolve_per_destination():
    workloads = [wl("a", "client", {"app": "client"}),
                 wl("a", "s1", {"role": "server"}, ports=(("http", "TCP", 8080),)),
                 wl("a", "s2", {"role": "server"}, ports=(("http", "TCP", 9090),
                                                          ("metrics", "TCP", 9100))),
                 wl("a", "s3", {"role": "server"}, ports=(("http", "UDP", 7000),))]
    p = pol("a", "servers", {"matchLabels": {"role": "server"}},
            ingress=[{"ports": [{"port": "http"}]}])
    r = run(workloads, [p])
    assert conn(r, P("a", "client"), P("a", "s1")) == "TCP 8080"
    assert conn(r, P("a", "client"), P("a", "s2")) == "TCP 9090"
    assert conn(r, P("a", "client"), P("a", "s3")) is None  # name declared for UDP only
    assert conn(r, EVERYWHERE, P("a", "s2")) == "TCP 9090"


def test_named_ports_in_egress_resolve_at_the_peer_and_never_for_ip_ranges():
    workloads = [wl("a", "client", {"app": "client"}),
                 wl("a", "s1", {"role": "server"}, ports=(("dns", "UDP", 5353),))]
    p = pol("a", "client-out", app_sel("client"),
            egress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}])
    r = run(workloads, [p])
    assert conn(r, P("a", "client"), P("a", "s1")) == "UDP 5353"
    assert conn(r, P("a", "client"), EVERYWHERE) is None


def test_end_port_protocols_and_port_less_entries():
    p = pol("a", "x-in", app_sel("x"), ingress=[{"ports": [
        {"port": 32000, "endPort": 32768}, {"protocol": "UDP"},
        {"port": 7070, "protocol": "SCTP"}]}])
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [p])
    ports = r.connections[(P("a", "y"), P("a", "x"))]
    assert str(ports) == "SCTP 7070,TCP 32000-32768,UDP 1-65535"
    assert r.allowed(P("a", "y"), P("a", "x"), "TCP", 32768)
    assert not r.allowed(P("a", "y"), P("a", "x"), "TCP", 32769)
    assert r.allowed(P("a", "y"), P("a", "x"), "UDP", 1)


# ------------------------------------------------------------------------------------------
# ipBlock
# ------------------------------------------------------------------------------------------
def test_ip_block_with_except_splits_external_ranges():
    block = {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}
    p = pol("a", "x-in", app_sel("x"), ingress=[{"from": [block], "ports": [{"port": 443}]}])
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})], [p])
    ext = {str(q) for q in r.peers if q.external}
    assert {"0.0.0.0-9.255.255.255[External]", "10.0.0.0-10.0.255.255[External]",
            "10.1.0.0-10.1.255.255[External]", "10.2.0.0-10.255.255.255[External]",
            "11.0.0.0-255.255.255.255[External]"} <= ext
    lines = set(format_connections(r).splitlines())
    assert "10.0.0.0-10.0.255.255[External] => a/x[Deployment] : TCP 443" in lines
    assert "10.2.0.0-10.255.255.255[External] => a/x[Deployment] : TCP 443" in lines
    assert not any(ln.startswith("10.1.0.0-") and "a/x[" in ln for ln in lines)
    assert not any(ln.startswith("11.0.0.0-") and "a/x[" in ln for ln in lines)
    # an ipBlock never matches an in-cluster pod
    assert conn(r, P("a", "y"), P("a", "x")) is None
    # egress is not split by ingress blocks: one destination range
    assert "a/x[Deployment] => 0.0.0.0-255.255.255.255[External] : All Connections" in lines


def test_ipv6_blocks_are_ignored():
    p = pol("a", "x-out", app_sel("x"), egress=[{"to": [{"ipBlock": {"cidr": "::/0"}}]}],
            types=["Egress"])
    r = run([wl("a", "x", {"app": "x"})], [p])
    assert len([q for q in r.peers if q.external]) == 1
    assert len(r.connections) == 1  # only the external → x ingress
    assert (EVERYWHERE, P("a", "x")) in r.connections


# ------------------------------------------------------------------------------------------
# peers, explain, peers_matching
# ------------------------------------------------------------------------------------------
def test_pods_of_one_owner_with_different_labels_are_one_peer_with_the_union():
    workloads = [wl("a", "owner", {"app": "one"}, kind="ReplicaSet"),
                 wl("a", "owner", {"app": "two"}, kind="ReplicaSet"),
                 wl("a", "y", {"app": "y"})]
    p = pol("a", "one-only", app_sel("y"), ingress=[{"from": [{"podSelector": app_sel("one")}],
                                                     "ports": [{"port": 1}]},
                                                    {"from": [{"podSelector": app_sel("two")}],
                                                     "ports": [{"port": 2}]}])
    r = run(workloads, [p])
    owner = P("a", "owner", "ReplicaSet")
    assert conn(r, owner, P("a", "y")) == "TCP 1-2"
    assert sum(1 for pr in r.peers if pr == owner) == 1
    lines = format_connections(r).splitlines()
    assert lines.count("a/owner[ReplicaSet] => a/y[Deployment] : TCP 1-2") == 1


def test_explain_names_the_allowing_and_isolating_policies():
    r = run([wl("shop", "web", {"app": "web"}), wl("shop", "db", {"app": "db"}),
             wl("shop", "batch", {"app": "batch"})],
            [pol("shop", "db-from-web", app_sel("db"),
                 ingress=[{"from": [{"podSelector": app_sel("web")}],
                           "ports": [{"port": 5432}]}])])
    web, db, batch = P("shop", "web"), P("shop", "db"), P("shop", "batch")
    text = r.explain(web, db, "TCP", 5432)
    assert text.startswith("allowed")
    assert "NetworkPolicy shop/db-from-web (ingress rule 0)" in text
    assert "egress at source: open (no NetworkPolicy selects the pod for Egress)" in text
    text = r.explain(batch, db, "TCP", 5432)
    assert text.startswith("denied")
    assert "isolated by NetworkPolicy shop/db-from-web" in text
    assert r.explain(web, db, "TCP", 22).startswith("denied")
    assert r.explain(P("x", "nope"), db, "TCP", 1).startswith("unknown")


def test_explain_blocked_at_egress_by_a_rule_less_policy():
    r = run([wl("a", "x", {"app": "x"}), wl("a", "y", {"app": "y"})],
            [pol("a", "x-deny-out", app_sel("x"), types=["Egress"])])
    text = r.explain(P("a", "x"), P("a", "y"), "TCP", 80)
    assert text.startswith("denied")
    assert "egress at source: blocked: isolated by NetworkPolicy a/x-deny-out" in text
    assert "ingress at destination: open" in text


def test_peers_matching_uses_namespace_and_label_subset():
    r = run(WORKLOADS, [], NAMESPACES)
    assert peers_matching(r, "shop", {"tier": "front"}) == [P("shop", "web")]
    assert peers_matching(r, "shop", {}) == [P("shop", "db"), P("shop", "web")]
    assert peers_matching(r, "pay", {"app": "web"}) == []


def test_csv_and_json_formats():
    r = run([wl("a", "x", {"app": "x"})], [pol("a", "deny", {}, types=["Egress"])])
    assert format_connections(r, "csv").splitlines() == [
        "src,dst,conn", "0.0.0.0-255.255.255.255[External],a/x[Deployment],All Connections"]
    assert json.loads(format_connections(r, "json")) == [
        {"src": "0.0.0.0-255.255.255.255[External]", "dst": "a/x[Deployment]",
         "conn": "All Connections"}]


# ------------------------------------------------------------------------------------------
# frames, demo and CLI
# ------------------------------------------------------------------------------------------
def test_demo_frontend_reaches_the_database(demo_snapshot):
    frames = Frames(Snapshot.load(demo_snapshot))
    reach = reachability(frames)
    assert reach.enforced
    frontend = peers_matching(reach, "storefront", {"app": "frontend"})
    postgres = peers_matching(reach, "storefront", {"app": "postgres"})
    api = peers_matching(reach, "storefront", {"app": "api"})
    assert frontend and postgres and api
    text = reach.explain(frontend[0], postgres[0], "TCP", 5432)
    assert text.startswith("allowed")
    assert "storefront/postgres-allow-clients" in text
    assert reach.allowed(frontend[0], api[0], "TCP", 8080)
    assert not reach.allowed(api[0], frontend[0], "TCP", 5432)
    assert reachability(frames, enforced=False).allowed(api[0], frontend[0], "TCP", 5432)


def test_cli_netpol_skips_unparsable_files_and_prints_formats(tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        "spec:\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec: {containers: [{name: c, image: i}]}\n"
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: deny-out, namespace: shop}\n"
        "spec: {podSelector: {}, policyTypes: [Egress]}\n", encoding="utf-8")
    (folder / "tabs.yaml").write_text("kind: Pod\nmetadata:\n\tname: broken\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["netpol", str(folder)])
    assert result.exit_code == 0, result.output
    assert "0.0.0.0-255.255.255.255[External] => shop/web[Deployment] : All Connections" \
        in result.stdout
    assert "tabs.yaml" in result.stderr
    result = runner.invoke(app, ["netpol", str(folder), "--format", "json"])
    assert json.loads(result.stdout) == [{"src": "0.0.0.0-255.255.255.255[External]",
                                          "dst": "shop/web[Deployment]",
                                          "conn": "All Connections"}]
    result = runner.invoke(app, ["netpol", str(folder), "--format", "csv"])
    assert result.stdout.splitlines()[0] == "src,dst,conn"
    assert runner.invoke(app, ["netpol", str(tmp_path / "missing")]).exit_code == 2


def test_compute_accepts_the_frames_workloads_with_pod_specs(demo_snapshot):
    frames = Frames(Snapshot.load(demo_snapshot))
    reach = compute(frames.workloads, frames.network_policies, frames.namespaces,
                    pod_specs=frames.pod_specs)
    frontend = peers_matching(reach, "storefront", {"app": "frontend"})[0]
    api = peers_matching(reach, "storefront", {"app": "api"})[0]
    assert reach.allowed(frontend, api, "TCP", 8080)
    assert str(reach.connections[(frontend, api)]) == str(
        reachability(frames).connections[(frontend, api)])


def test_no_workloads_and_no_policies():
    empty = pd.DataFrame(columns=["kind", "namespace", "name", "labels"])
    reach = compute(empty, None, None)
    assert [str(p) for p in reach.peers] == ["0.0.0.0-255.255.255.255[External]"]
    assert len(reach.connections) == 0
    assert format_connections(reach) == ""


def test_null_selectors_read_as_absent():
    peer = {"namespaceSelector": {"matchLabels": {"team": "pay"}}, "podSelector": None}
    assert sources(db_policy(peer)) == {"gw"}
    assert sources(db_policy({"podSelector": None, "namespaceSelector": None})) == set()
