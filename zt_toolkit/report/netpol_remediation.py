"""NetworkPolicy remediation: the default-deny baseline and the allow rules, as YAML.

Per namespace, what :func:`zt_toolkit.report.notebook.narrate_network_remediation` hands to the
client:

* ``default-deny-all``: every pod isolated for ingress and egress, DNS to CoreDNS allowed;
* ``allow-<service>-ingress`` per Service with a selector: its pods accept their target ports
  from the pods of the namespace, except the sources a ``deny`` segmentation intent forbids
  (expressed as ``NotIn`` selectors); a LoadBalancer or NodePort Service also from its
  ``loadBalancerSourceRanges`` (else ``0.0.0.0/0``, to be narrowed to the load balancer's
  subnets);
* ``allow-egress-to-services``: the namespace's pods may open those Service ports;
* ``intent-<name>-egress`` / ``intent-<name>-ingress`` per ``allow`` intent, in the source
  and the destination namespace.

Only valid Kubernetes names and label keys/values reach the YAML; anything else is skipped and
reported by the caller. Nothing is derived from other namespaces' traffic: flows between
namespaces need an allow intent.

Examples
--------
>>> print(to_yaml([default_deny("shop")]).splitlines()[0])
apiVersion: networking.k8s.io/v1
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import product
from typing import Any

import yaml

from zt_toolkit.report.markdown import is_k8s_name

_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")
DNS_PEER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
NS_LABEL = "kubernetes.io/metadata.name"


def is_label_key(key: Any) -> bool:
    """Whether ``key`` is a valid label key (optional DNS-subdomain prefix, then a name).

    Examples
    --------
    >>> is_label_key("app.kubernetes.io/name"), is_label_key("a b"), is_label_key("x/`y`")
    (True, False, False)
    """
    if not isinstance(key, str) or not key:
        return False
    prefix, _, name = key.rpartition("/")
    return (not prefix or is_k8s_name(prefix)) and bool(_LABEL_NAME.match(name))


def is_label_value(value: Any) -> bool:
    """Whether ``value`` is a valid label value (``""`` included).

    Examples
    --------
    >>> is_label_value("frontend"), is_label_value(""), is_label_value("<b>")
    (True, True, False)
    """
    return isinstance(value, str) and bool(_LABEL_VALUE.match(value))


def valid_labels(labels: Mapping[str, Any] | None) -> bool:
    """Whether every key and value of a label map is valid."""
    return all(is_label_key(k) and is_label_value(str(v)) for k, v in (labels or {}).items())


def slug(text: Any, limit: int = 40) -> str:
    """A DNS-label-safe slug of free text (an intent name).

    Examples
    --------
    >>> slug("Frontend reaches API on 8080!")
    'frontend-reaches-api-on-8080'
    >>> slug("<script>")
    'script'
    """
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:limit].strip("-")
    return s or "intent"


def comment(text: Any) -> str:
    """Free text made safe for a one-line YAML comment."""
    return re.sub(r"[^A-Za-z0-9 _.,:/()=+-]", "", " ".join(str(text).split()))[:100]


def _policy(ns: str, name: str, selector: dict[str, Any], types: list[str],
            **rules: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": selector, "policyTypes": types}
    spec.update({k: v for k, v in rules.items() if v is not None})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _match(labels: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"matchLabels": {str(k): str(v) for k, v in labels.items()}} if labels else {}


def default_deny(ns: str) -> dict[str, Any]:
    """Every pod of ``ns`` isolated both ways; only DNS to CoreDNS (UDP and TCP 53) allowed."""
    return _policy(ns, "default-deny-all", {}, ["Ingress", "Egress"], egress=[
        {"to": [DNS_PEER], "ports": [{"protocol": "UDP", "port": 53},
                                     {"protocol": "TCP", "port": 53}]}])


def _compatible(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two label maps can select the same pod (no key with different values)."""
    return all(str(b[k]) == str(v) for k, v in a.items() if k in b)


def _excluding(denied: list[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """Peers selecting the namespace's pods except those matching any of ``denied``.

    ``not (a=x and b=y)`` is ``a NotIn [x] or b NotIn [y]``; several denied selectors are
    ANDed by distributing (one peer per combination). ``[{}]`` when nothing is denied;
    ``None`` when a denied selector is empty (every pod is denied).

    Examples
    --------
    >>> _excluding([{"app": "frontend"}])[0]["podSelector"]["matchExpressions"]
    [{'key': 'app', 'operator': 'NotIn', 'values': ['frontend']}]
    """
    if not denied:
        return [{"podSelector": {}}]
    if any(not d for d in denied):
        return None
    peers = []
    for combo in product(*[sorted(d.items()) for d in denied]):
        values: dict[str, list[str]] = {}
        for key, value in combo:
            values.setdefault(str(key), [])
            if str(value) not in values[str(key)]:
                values[str(key)].append(str(value))
        exprs = [{"key": k, "operator": "NotIn", "values": sorted(v)}
                 for k, v in sorted(values.items())]
        peer = {"podSelector": {"matchExpressions": exprs}}
        if peer not in peers:
            peers.append(peer)
    return peers[:16]


def _service_ports(svc: Mapping[str, Any]) -> list[dict[str, Any]]:
    ports = []
    for p in svc.get("ports") or ():
        target = p.get("targetPort", p.get("port"))
        protocol = str(p.get("protocol") or "TCP")
        if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
            ports.append({"protocol": protocol, "port": int(target)})
        elif isinstance(target, str) and _PORT_NAME.match(target):
            ports.append({"protocol": protocol, "port": target})
    return ports


def _denied_sources(ns: str, selector: Mapping[str, Any], ports: list[dict[str, Any]],
                    intents: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Source label maps of ``ns`` that a deny intent forbids towards the Service's pods."""
    denied = []
    for it in intents:
        if it.get("expect") != "deny":
            continue
        src, dst = it.get("from") or {}, it.get("to") or {}
        if src.get("namespace") not in (ns, None) or dst.get("namespace") not in (ns, None):
            continue
        if not _compatible(dst.get("labels") or {}, selector):
            continue
        port, proto = it.get("port"), str(it.get("protocol") or "TCP").upper()
        other_port = port is not None and not any(
            str(p["port"]) == str(port) and p["protocol"].upper() == proto for p in ports)
        if other_port and all(isinstance(p["port"], int) for p in ports):
            continue  # the intent is about another port (a named port might be it)
        denied.append(dict(src.get("labels") or {}))
    return denied


def namespace_policies(ns: str, services: list[Mapping[str, Any]],
                       intents: list[Mapping[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                    list[str]]:
    """The Service allow rules and the default deny of one namespace, and what was skipped.

    ``services`` are Service objects as the API returns them (``metadata``, ``spec``);
    ``intents`` the engagement's segmentation intents.
    """
    policies, skipped, egress = [], [], []
    for obj in services:
        name = (obj.get("metadata") or {}).get("name")
        spec = obj.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector:
            continue  # no selector: endpoints managed by hand (or ExternalName)
        if not (is_k8s_name(name) and valid_labels(selector)):
            skipped.append(f"Service {name}")
            continue
        ports = _service_ports(spec)
        if not ports:
            continue
        peers = _excluding(_denied_sources(ns, selector, ports, intents))
        rules = []
        if peers:
            rules.append({"from": peers, "ports": ports})
        if spec.get("type") in ("LoadBalancer", "NodePort"):
            ranges = [r for r in spec.get("loadBalancerSourceRanges") or ()
                      if re.fullmatch(r"[0-9a-fA-F.:]+/\d{1,3}", str(r))] or ["0.0.0.0/0"]
            rules.append({"from": [{"ipBlock": {"cidr": r}} for r in ranges], "ports": ports})
        if rules:
            policies.append(_policy(ns, f"allow-{name}-ingress"[:253], _match(selector),
                                    ["Ingress"], ingress=rules))
            egress.append({"to": [{"podSelector": _match(selector)}], "ports": ports})
    if egress:
        policies.append(_policy(ns, "allow-egress-to-services", {}, ["Egress"], egress=egress))
    policies.append(default_deny(ns))
    return policies, skipped


def intent_policies(intent: Mapping[str, Any], index: int) -> dict[str, list[dict[str, Any]]]:
    """Return the policies an ``allow`` intent needs, per namespace.

    The egress policy of its source namespace and the ingress policy of its destination
    namespace; ``{}`` when a name, label or port is not valid.
    """
    src, dst = intent.get("from") or {}, intent.get("to") or {}
    s_ns, d_ns = src.get("namespace"), dst.get("namespace")
    s_labels, d_labels = src.get("labels") or {}, dst.get("labels") or {}
    if not (is_k8s_name(s_ns) and is_k8s_name(d_ns) and valid_labels(s_labels)
            and valid_labels(d_labels)):
        return {}
    from zt_toolkit.checks.network.segmentation_intents_hold import intent_port

    try:
        protocol, port = intent_port(dict(intent))
    except ValueError:
        return {}
    ports = None if port is None else [{"protocol": protocol, "port": port}]
    to_peer: dict[str, Any] = {"podSelector": _match(d_labels)}
    from_peer: dict[str, Any] = {"podSelector": _match(s_labels)}
    if s_ns != d_ns:
        to_peer = {"namespaceSelector": {"matchLabels": {NS_LABEL: d_ns}}, **to_peer}
        from_peer = {"namespaceSelector": {"matchLabels": {NS_LABEL: s_ns}}, **from_peer}
    base = f"intent-{index}-{slug(intent.get('name'))}"
    out: dict[str, list[dict[str, Any]]] = {s_ns: [], d_ns: []}
    egress = {"to": [to_peer], **({"ports": ports} if ports else {})}
    ingress = {"from": [from_peer], **({"ports": ports} if ports else {})}
    out[s_ns].append(_policy(s_ns, f"{base}-egress", _match(s_labels), ["Egress"],
                             egress=[egress]))
    out[d_ns].append(_policy(d_ns, f"{base}-ingress", _match(d_labels), ["Ingress"],
                             ingress=[ingress]))
    return out


def to_yaml(policies: list[dict[str, Any]]) -> str:
    """Policies as one multi-document YAML text."""
    return yaml.safe_dump_all(policies, sort_keys=False, default_flow_style=False, width=100)
