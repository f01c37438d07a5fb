import re
from typing import Any

import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.network import flag_value

KIND = "SegmentationIntent"
PROTOCOLS = ("TCP", "UDP", "SCTP")
SHOWN_PAIRS = 3
DECORATIVE = ("policies are decorative: no enforcing engine, so the intent is judged as enforced "
              "(every pod reaches every pod)")


@check(
    id="segmentation_intents_hold",
    pillar=Pillar.NETWORK,
    severity=Severity.CRITICAL,
    title="Every segmentation intent of the engagement holds on the computed reachability",
    requires=("workloads", "network_policies", "namespaces"),
    reason="segmentation intent broken: the computed reachability contradicts it",
    remediation="For a broken deny intent, narrow the policy named in the evidence (its "
    "podSelector/namespaceSelector admits the source) and make sure both namespaces have "
    "default-deny ingress and egress; for a broken allow intent, add an egress rule at the "
    "source and an ingress rule at the destination for the port. The network notebook "
    "generates the NetworkPolicy YAML.",
    references=("seed: frontend can only reach backend", "BPG network", "NSA network separation"),
)
def segmentation_intents_hold(frames) -> pd.DataFrame:
    """An intent the policies do not implement is a path an attacker can use, or an outage.

    The agreed flows (frontend → api allowed, frontend → database never) only hold if the
    NetworkPolicies make them hold; counting policies does not tell.

    One row per ``segmentation`` intent of the engagement config (kind ``SegmentationIntent``,
    name = the intent's name), judged on the reachability computed by
    :mod:`zt_toolkit.analysis.netpol` between every workload matching ``from`` (its namespace,
    and pod labels that include ``labels``; no ``labels`` means every workload of the
    namespace) and every workload matching ``to``. With ``port`` (and ``protocol``, default
    TCP) the intent is about that port; without it, about any connection at all. ``allow``
    holds when every pair connects, ``deny`` when none does; the detail names the broken pairs
    and the engine's evidence (the policy that allows, or where the path is blocked).

    When no engine enforces NetworkPolicy the intent is judged as enforced (everything open)
    and the detail says the policies are decorative; when enforcement could not be assessed it
    is judged as written and the detail says so. An intent whose ``from`` or ``to`` matches no
    workload fails when it expects ``allow`` (the flow the client needs has no source or
    destination) and is not_assessed when it expects ``deny`` (it holds only vacuously, often a
    selector typo). Malformed intents (a port that is not a number, an unknown protocol) are
    not_assessed with the problem named. not_applicable when the config states no intents.
    Duplicate intent names get a ``(2)``, ``(3)`` suffix so that each keeps its own row.
    """
    intents = list(frames.config.segmentation or [])
    if not intents:
        return results([result("Cluster", "", frames.snapshot.cluster.name,
                                status="not_applicable",
                                detail="the engagement config states no segmentation intents")])
    from zt_toolkit.analysis import netpol

    enforced, caveat = _enforcement(frames)
    reach = netpol.reachability(frames, enforced=enforced)
    namespaces = sorted(frames.namespaces["name"].astype(str))
    rows, seen = [], {}
    for intent in intents:
        name = str(intent.get("name"))
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} ({seen[name]})"
        status, detail = judge_intent(netpol, reach, intent, namespaces)
        if caveat and status in ("pass", "fail"):
            detail = f"{detail}; {caveat}"
        rows.append(result(KIND, "", name, status=status, detail=detail))
    return results(rows)


def _enforcement(frames) -> tuple[bool, str]:
    """Which reachability to judge on, and the caveat for the detail."""
    if frames.gaps(["network_policy_enforcement"]):
        return True, "judged as written (NetworkPolicy enforcement not assessed)"
    enforced = flag_value(frames.network_policy_enforcement.iloc[0].enforced)
    if enforced is False:
        return False, DECORATIVE
    if enforced is None:
        return True, "judged as written (NetworkPolicy enforcement unknown)"
    return True, ""


def intent_port(intent: dict[str, Any]) -> tuple[str, int | None]:
    """The intent's protocol and port (``None``: any port); ValueError names a bad value.

    Examples
    --------
    >>> intent_port({"port": 5432}), intent_port({"protocol": "udp", "port": "53"})
    (('TCP', 5432), ('UDP', 53))
    >>> intent_port({})
    ('TCP', None)
    """
    protocol = str(intent.get("protocol") or "TCP").upper()
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {intent.get('protocol')!r} is not one of {PROTOCOLS}")
    port = intent.get("port")
    if port is None:
        return protocol, None
    if isinstance(port, bool) or not re.fullmatch(r"\d{1,5}", str(port).strip()) \
            or not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port!r} is not a number from 1 to 65535")
    return protocol, int(port)


def endpoint_text(end: dict[str, Any] | None) -> str:
    """``storefront app=frontend`` for an intent's ``from``/``to`` (``*`` for any namespace).

    Examples
    --------
    >>> endpoint_text({"namespace": "shop", "labels": {"app": "web", "tier": "edge"}})
    'shop app=web,tier=edge'
    >>> endpoint_text({"namespace": "payments"})
    'payments (every workload)'
    """
    end = end or {}
    labels = end.get("labels") or {}
    ns = str(end.get("namespace") or "*")
    what = ",".join(f"{k}={v}" for k, v in labels.items()) if labels else "(every workload)"
    return f"{ns} {what}"


def matching_peers(netpol: Any, reach: Any, end: dict[str, Any] | None,
                   namespaces: list[str]) -> list[Any]:
    """Workload peers an intent's ``from``/``to`` selects (every namespace when none is given)."""
    end = end or {}
    labels = {str(k): str(v) for k, v in (end.get("labels") or {}).items()}
    targets = [str(end["namespace"])] if end.get("namespace") else namespaces
    peers: list[Any] = []
    for ns in targets:
        peers += netpol.peers_matching(reach, ns, labels)
    return peers


def peer_text(peer: Any) -> str:
    """``Deployment storefront/frontend``."""
    return f"{peer.kind} {peer.namespace}/{peer.name}"


def sample_port(ports: Any) -> tuple[str, int]:
    """A (protocol, port) the port set allows, for the engine's explanation of a pair.

    Examples
    --------
    >>> sample_port("TCP 80,443,UDP 53"), sample_port("All Connections")
    (('TCP', 80), ('TCP', 1))
    >>> sample_port("UDP 1000-2000")
    ('UDP', 1000)
    """
    m = re.search(r"(TCP|UDP|SCTP) (\d+)", str(ports))
    return (m.group(1), int(m.group(2))) if m else ("TCP", 1)


def judge_intent(netpol: Any, reach: Any, intent: dict[str, Any],
                 namespaces: list[str]) -> tuple[str, str]:
    """Status and detail of one intent on one reachability (see the check's docstring)."""
    expect = str(intent.get("expect"))
    try:
        protocol, port = intent_port(intent)
    except ValueError as exc:
        return "not_assessed", f"malformed intent: {exc}"
    what = f"{protocol} {port}" if port is not None else "any port"
    src_text, dst_text = endpoint_text(intent.get("from")), endpoint_text(intent.get("to"))
    sources = matching_peers(netpol, reach, intent.get("from"), namespaces)
    dests = matching_peers(netpol, reach, intent.get("to"), namespaces)
    empty = [f"'{side}' ({text})" for side, text, peers in
             (("from", src_text, sources), ("to", dst_text, dests)) if not peers]
    if empty:
        missing = " and ".join(empty)
        if expect == "allow":
            return "fail", (f"no workload matches {missing}: the allowed flow {src_text} → "
                            f"{dst_text} ({what}) has no workload to carry it")
        return "not_assessed", (f"no workload matches {missing}: the deny intent holds only "
                                "vacuously; check its selector")
    pairs = [(s, d) for s in sources for d in dests if s != d]
    if not pairs:
        return "not_assessed", f"'from' and 'to' select the same single workload ({what})"
    connected = []
    for s, d in pairs:
        if port is not None:
            ok = reach.allowed(s, d, protocol, port)
            connected.append((ok, protocol, port, ""))
        else:
            ports = reach.connections.get((s, d))
            sp = sample_port(ports) if ports else ("TCP", 1)
            connected.append((bool(ports), *sp, str(ports) if ports else ""))
    broken = [(pair, c) for pair, c in zip(pairs, connected, strict=True)
              if c[0] != (expect == "allow")]
    n = len(pairs)
    pair_word = "pair" if n == 1 else "pairs"
    if not broken:
        (s, d), (_, proto, p, ports) = pairs[0], connected[0]
        verdict = (f"every workload pair connects on {what} ({n} {pair_word})"
                   if expect == "allow" else
                   f"no workload pair connects on {what} ({n} {pair_word})")
        return "pass", f"{verdict}; e.g. {_evidence(reach, s, d, proto, p, ports)}"
    verb = "cannot connect" if expect == "allow" else "can connect"
    shown = "; ".join(f"{_evidence(reach, s, d, proto, p, ports)}"
                      for (s, d), (_, proto, p, ports) in broken[:SHOWN_PAIRS])
    more = f"; and {len(broken) - SHOWN_PAIRS} more" if len(broken) > SHOWN_PAIRS else ""
    return "fail", (f"{len(broken)} of {n} workload {pair_word} {verb} on {what} "
                    f"(expected {expect}): {shown}{more}")


def _evidence(reach: Any, s: Any, d: Any, protocol: str, port: int, ports: str) -> str:
    """The engine's explanation of one pair (it names both workloads and the policies)."""
    try:
        why = reach.explain(s, d, protocol, port)
    except Exception as exc:  # evidence is a courtesy; the verdict stands without it
        why = f"{peer_text(s)} → {peer_text(d)}: no explanation ({type(exc).__name__})"
    return f"{why} (allowed ports: {ports})" if ports else why
