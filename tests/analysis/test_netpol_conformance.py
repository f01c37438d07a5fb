"""Conformance with np-guard netpol-analyzer's own expected outputs: every case must agree.

Each case of ``netpol/cases.json`` imports its scenario folder, computes the connectivity and
compares it with np-guard's expected output as sets of lines: the ``list`` text (for exposure
cases its first block, the connectivity list), and the json and csv outputs where the case has
them. A case focused on workloads keeps the lines naming them.

A naive reference evaluator (every pair of pods, every rule, straight from the API semantics)
is run on every scenario too, so the vectorized engine is checked against a direct reading of
the rules — also on the two cases whose expected text is not in the oracle (over 2 MB, or
only a dot graph).
"""

from __future__ import annotations

import csv
import functools
import io
import ipaddress
import json
import logging
from collections.abc import Mapping

import pytest

from tests.conftest import ORACLES
from zt_toolkit.analysis.netpol import (
    Peer,
    PortSet,
    format_connections,
    reachability,
    reachability_from_path,
    workload_table,
)
from zt_toolkit.analysis.selectors import selector_matches
from zt_toolkit.frames import Frames
from zt_toolkit.manifests import import_manifests
from zt_toolkit.snapshot import Snapshot

NETPOL = ORACLES / "netpol"
CASES = json.loads((NETPOL / "cases.json").read_text(encoding="utf-8"))["cases"]
SCENARIOS = sorted({c["scenario"] for c in CASES})


def _case_id(case: dict) -> str:
    parts = [case["scenario"], "exposure" if case["exposure"] else "connlist"]
    parts += [w.replace("/", "_") for w in case["focus_workloads"]]
    return "-".join(parts)


@functools.cache
def _computed(scenario: str) -> tuple[frozenset[str], tuple[str, ...]]:
    reach, warnings = reachability_from_path(NETPOL / "tests" / scenario)
    return frozenset(format_connections(reach).splitlines()), tuple(warnings)


def _focus(lines: set[str] | frozenset[str], case: dict) -> set[str]:
    focus = case["focus_workloads"]
    if not focus:
        return set(lines)
    return {ln for ln in lines if any(f"{w}[" in part for w in focus
                                      for part in ln.split(" : ")[0].split(" => "))}


def _expected_txt(case: dict) -> set[str]:
    text = (NETPOL / case["expected"]["txt"]).read_text(encoding="utf-8")
    if case["exposure"]:
        text = text.split("Exposure Analysis Result:")[0]
    return {ln for ln in text.splitlines() if ln.strip()}


def test_cases_cover_every_scenario_folder():
    folders = {p.name for p in (NETPOL / "tests").iterdir() if p.is_dir()}
    assert len(CASES) == 72
    assert set(SCENARIOS) == folders


@pytest.mark.parametrize("case", [c for c in CASES if "txt" in c["expected"]], ids=_case_id)
def test_connlist_text_agrees(case):
    got, _ = _computed(case["scenario"])
    want = _expected_txt(case)
    got = _focus(got, case)
    assert sorted(want - got) == [], "connections np-guard lists and the engine does not"
    assert sorted(got - want) == [], "connections the engine lists and np-guard does not"


@pytest.mark.parametrize("case", [c for c in CASES if "json" in c["expected"]], ids=_case_id)
def test_connlist_json_agrees(case):
    data = json.loads((NETPOL / case["expected"]["json"]).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data["connlist_results"]
    want = {(r["src"], r["dst"], r["conn"]) for r in data}
    got = {tuple(ln.replace(" => ", "\0").replace(" : ", "\0").split("\0"))
           for ln in _focus(_computed(case["scenario"])[0], case)}
    assert want == got


@pytest.mark.parametrize("case", [c for c in CASES if "csv" in c["expected"]], ids=_case_id)
def test_connlist_csv_agrees(case):
    text = (NETPOL / case["expected"]["csv"]).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["src", "dst", "conn"]
    want = set()
    for row in rows[1:]:
        if row and row[0].startswith("Exposure Analysis Result"):
            break
        want.add(tuple(row))
    got = {tuple(ln.replace(" => ", "\0").replace(" : ", "\0").split("\0"))
           for ln in _focus(_computed(case["scenario"])[0], case)}
    assert want == got


def test_cases_without_expected_text_are_the_two_known():
    missing = sorted(c["scenario"] for c in CASES if "txt" not in c["expected"])
    assert missing == ["exposure_test_minimal_netpol_analysis", "ipblockstest_4"]


# ------------------------------------------------------------------------------------------
# naive reference: every pair of pod classes, every rule
# ------------------------------------------------------------------------------------------
@functools.cache
def _v4(text):
    try:
        net = ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None
    return (int(net.network_address), int(net.broadcast_address)) if net.version == 4 else None


def _split(policies, key):
    cuts = {0, 2**32}
    for pol in policies:
        for rule in pol[f"{'ingress' if key == 'from' else 'egress'}_rules"] or ():
            for peer in rule.get(key) or ():
                block = peer.get("ipBlock") if isinstance(peer, Mapping) else None
                for cidr in [block.get("cidr"), *(block.get("except") or ())] if block else ():
                    b = _v4(cidr)
                    if b:
                        cuts |= {b[0], b[1] + 1}
    cuts = sorted(cuts)
    return list(zip(cuts[:-1], [c - 1 for c in cuts[1:]], strict=True))


def _admits(peers, pol_ns, target, ns_labels):
    """Does a rule's from/to admit ``target`` (a pod row dict, or an (lo, hi) range)?"""
    if not peers:
        return True
    for peer in peers:
        if isinstance(target, tuple):
            block = peer.get("ipBlock")
            if block and (b := _v4(block["cidr"])) and b[0] <= target[0] <= b[1] and not any(
                    (e := _v4(x)) and e[0] <= target[0] <= e[1]
                    for x in block.get("except") or ()):
                return True
            continue
        if "ipBlock" in peer or ("podSelector" not in peer and "namespaceSelector" not in peer):
            continue
        if "namespaceSelector" in peer:
            ns_ok = selector_matches(peer["namespaceSelector"] or {},
                                     ns_labels[target["namespace"]])
        else:
            ns_ok = target["namespace"] == pol_ns
        if ns_ok and ("podSelector" not in peer
                      or selector_matches(peer["podSelector"] or {}, target["labels"])):
            return True
    return False


def _ports(rule, dst_ports):
    if not rule.get("ports"):
        return PortSet.all()
    out = PortSet.empty()
    for p in rule["ports"]:
        proto = (p.get("protocol") or "TCP").upper()
        port = p.get("port")
        if port is None:
            out |= PortSet.of(proto)
        elif isinstance(port, int):
            out |= PortSet.of(proto, port, p.get("endPort"))
        else:
            for name, nproto, number in dst_ports:
                if name == port and nproto == proto:
                    out |= PortSet.of(proto, number)
    return out


def _chosen(policies, pod, direction):
    """The policies that select ``pod`` for ``direction`` (memoized on the pod row)."""
    memo = pod.setdefault("_chosen", {})
    if direction not in memo:
        memo[direction] = [p for p in policies if direction in p["types"]
                           and p["namespace"] == pod["namespace"]
                           and selector_matches(p["pod_selector"] or {}, pod["labels"])]
    return memo[direction]


def _side(policies, pod, other, direction, ns_labels, dst_ports):
    key = "from" if direction == "Ingress" else "to"
    chosen = _chosen(policies, pod, direction)
    if not chosen:
        return PortSet.all()
    out = PortSet.empty()
    for pol in chosen:
        for rule in pol[f"{direction.lower()}_rules"] or ():
            if _admits(rule.get(key), pol["namespace"], other, ns_labels):
                out |= _ports(rule, dst_ports) if not isinstance(other, tuple) or \
                    direction == "Ingress" else _ports(rule, ())
    return out


def _reference(frames: Frames) -> set[str]:
    return _reference_of(workload_table(frames), frames.network_policies, frames.namespaces)


def _reference_of(table, network_policies, namespaces) -> set[str]:
    pods = [dict(r._asdict()) for r in table.itertuples(index=False)]
    ns_labels = {r.name: {**r.labels, "kubernetes.io/metadata.name": r.name}
                 for r in namespaces.itertuples(index=False)}
    for p in pods:
        ns_labels.setdefault(p["namespace"], {"kubernetes.io/metadata.name": p["namespace"]})
    policies = []
    for r in network_policies.itertuples(index=False):
        types = tuple(r.policy_types) or (("Ingress", "Egress") if r.egress_rules
                                          else ("Ingress",))
        policies.append({"namespace": r.namespace, "pod_selector": r.pod_selector,
                         "types": types, "ingress_rules": r.ingress_rules,
                         "egress_rules": r.egress_rules})
    conns: dict[tuple[str, str], PortSet] = {}

    def add(src, dst, ports):
        if ports and src != dst:
            conns[(src, dst)] = conns.get((src, dst), PortSet.empty()) | ports

    def name(p):
        return str(Peer(p["namespace"], p["name"], p["kind"]))

    for s in pods:
        for d in pods:
            eg = _side(policies, s, d, "Egress", ns_labels, d["ports"])
            ing = _side(policies, d, s, "Ingress", ns_labels, d["ports"])
            add(name(s), name(d), eg & ing)
        for lo, hi in _split(policies, "to"):
            add(name(s), f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}[External]",
                _side(policies, s, (lo, hi), "Egress", ns_labels, ()))
        for lo, hi in _split(policies, "from"):
            add(f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}[External]", name(s),
                _side(policies, s, (lo, hi), "Ingress", ns_labels, s["ports"]))
    return {f"{s} => {d} : {p}" for (s, d), p in conns.items()}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_engine_agrees_with_naive_reference(scenario, tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="zt_toolkit.manifests")  # restored after the test
    result = import_manifests([NETPOL / "tests" / scenario], tmp_path / "snap")
    frames = Frames(Snapshot.load(result.snapshot))
    engine = set(format_connections(reachability(frames, enforced=True)).splitlines())
    reference = _reference(frames)
    assert sorted(reference - engine) == []
    assert sorted(engine - reference) == []


# ------------------------------------------------------------------------------------------
# differential testing on generated scenarios
# ------------------------------------------------------------------------------------------
def _random_scenario(seed: int):
    import random

    import pandas as pd

    rnd = random.Random(seed)
    keys, values = ["app", "tier", "team"], ["a", "b", "c"]
    nss = {f"ns{i}": {k: rnd.choice(values) for k in rnd.sample(keys, rnd.randint(0, 2))}
           for i in range(3)}
    port_names = ["http", "dns", "metrics"]

    def labels():
        return {k: rnd.choice(values) for k in rnd.sample(keys, rnd.randint(0, 3))}

    def selector():
        sel: dict = {}
        if rnd.random() < 0.5:
            sel["matchLabels"] = {k: rnd.choice(values) for k in rnd.sample(keys, 1)}
        if rnd.random() < 0.4:
            op = rnd.choice(["In", "NotIn", "Exists", "DoesNotExist"])
            expr = {"key": rnd.choice(keys), "operator": op}
            if op in ("In", "NotIn"):
                expr["values"] = rnd.sample(values, rnd.randint(1, 2))
            sel["matchExpressions"] = [expr]
        return sel

    def peer():
        r = rnd.random()
        if r < 0.25:
            return {"podSelector": selector()}
        if r < 0.45:
            return {"namespaceSelector": selector()}
        if r < 0.7:
            return {"podSelector": selector(), "namespaceSelector": selector()}
        base = rnd.choice(["10.0.0.0/8", "0.0.0.0/0", "192.168.0.0/16", "172.16.0.0/12"])
        block = {"cidr": base}
        if rnd.random() < 0.5 and base != "192.168.0.0/16":
            block["except"] = [rnd.choice(["10.1.0.0/16", "10.2.3.0/24", "172.16.5.0/24"])]
        return {"ipBlock": block}

    def ports():
        out = []
        for _ in range(rnd.randint(0, 2)):
            proto = rnd.choice(["TCP", "TCP", "UDP", "SCTP"])
            r = rnd.random()
            entry: dict = {"protocol": proto} if rnd.random() < 0.7 else {}
            if r < 0.4:
                entry["port"] = rnd.choice([53, 80, 443, 8080])
            elif r < 0.6:
                entry["port"] = rnd.choice([8000, 9000])
                entry["endPort"] = entry["port"] + rnd.randint(0, 100)
            elif r < 0.85:
                entry["port"] = rnd.choice(port_names)
            out.append(entry)
        return out

    def rules():
        return [{k: v for k, v in (("from", [peer() for _ in range(rnd.randint(0, 2))]),
                                   ("ports", ports())) if v or rnd.random() < 0.2}
                for _ in range(rnd.randint(0, 2))]

    workloads = []
    for i in range(rnd.randint(4, 9)):
        named = tuple(sorted({(n, rnd.choice(["TCP", "UDP"]), rnd.choice([53, 8080, 9090]))
                              for n in rnd.sample(port_names, rnd.randint(0, 2))}))
        row = {"kind": "Deployment", "namespace": rnd.choice(list(nss)), "name": f"w{i}",
               "labels": labels(), "ports": named}
        if workloads and rnd.random() < 0.2:  # pods of one owner with other labels
            row.update(namespace=workloads[-1]["namespace"], name=workloads[-1]["name"])
        workloads.append(row)
    policies = []
    for i in range(rnd.randint(1, 6)):
        ingress, egress = rules(), [
            {("to" if k == "from" else k): v for k, v in r.items()} for r in rules()]
        types = rnd.choice([(), ("Ingress",), ("Egress",), ("Ingress", "Egress")])
        if not types:
            types = ("Ingress", "Egress") if egress else ("Ingress",)
        policies.append({"namespace": rnd.choice(list(nss)), "name": f"p{i}",
                         "pod_selector": selector(), "policy_types": types,
                         "ingress_rules": ingress, "egress_rules": egress})
    columns = ["namespace", "name", "pod_selector", "policy_types", "ingress_rules",
               "egress_rules"]
    return (pd.DataFrame(workloads), pd.DataFrame(policies, columns=columns),
            pd.DataFrame({"name": list(nss), "labels": list(nss.values())}))


@pytest.mark.parametrize("seed", range(200))
def test_engine_agrees_with_naive_reference_on_generated_scenarios(seed):
    from zt_toolkit.analysis.netpol import compute

    workloads, policies, namespaces = _random_scenario(seed)
    engine = set(format_connections(compute(workloads, policies, namespaces)).splitlines())
    reference = _reference_of(workloads, policies, namespaces)
    assert sorted(reference - engine) == []
    assert sorted(engine - reference) == []
