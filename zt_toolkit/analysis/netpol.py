"""NetworkPolicy reachability: who can connect to whom, on which ports, as Kubernetes enforces it.

The engine evaluates ``networking.k8s.io/v1`` NetworkPolicies with the API's semantics:

- a policy applies to the pods of its own namespace that ``spec.podSelector`` selects (``{}``:
  all of them), in the directions of its ``policyTypes`` (when unset: ``Ingress``, plus
  ``Egress`` when the policy has egress rules — the API server's default);
- a pod is *isolated* in a direction when at least one policy applies to it in that direction;
  a pod that no policy selects in a direction is open in that direction;
- a connection from A to B needs egress allowed at A **and** ingress allowed at B; rules are
  additive (a union over every policy that selects the pod);
- a rule peer is a ``podSelector`` (pods of the policy's namespace), a ``namespaceSelector``
  (every pod of the selected namespaces; namespaces carry ``kubernetes.io/metadata.name``),
  both (pods matching the pod selector in the selected namespaces), or an ``ipBlock`` with
  ``except`` (addresses outside the cluster only: an ipBlock never matches an in-cluster pod).
  A rule without peers (``from``/``to`` absent or empty) allows every pod and every address;
- a rule's ``ports`` (absent: every port of every protocol) are ``protocol`` (TCP by default,
  UDP, SCTP), a number with an optional ``endPort`` range, or a *named port*, resolved per
  destination pod through its containers' ``ports[].name`` with the same protocol (a name
  that a pod does not declare allows nothing towards it; towards an IP range a name never
  resolves);
- label selectors (``matchLabels``, ``matchExpressions`` In/NotIn/Exists/DoesNotExist) are
  :mod:`zt_toolkit.analysis.selectors`.

Peers are workloads, named as np-guard's netpol-analyzer names them: the workload object
(Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob…), or for a bare Pod its first
ownerReference (``Pod`` when the reference has no kind), or the Pod itself without an owner.
External peers are disjoint IPv4 ranges: the address space split at every ipBlock ``cidr`` and
``except`` of every policy (one range ``0.0.0.0-255.255.255.255`` without ipBlocks); IPv6
blocks are ignored. ``hostNetwork`` pods are evaluated like other pods, by their labels: this
is what np-guard does and what the oracle cases agree with (an engine may in fact treat their
traffic as the node's; the engine does not model nodes).

Cost: pods are grouped into classes by (namespace, labels, named container ports, host
network) — replicas, and clones of the same template, are one class — and the connectivity is
computed between *signatures* of classes (which rules select or admit a class), with interned
port sets combined by vectorized table look-ups. The work grows with the distinct classes and
rules, not with pods squared. :attr:`Reachability.connections` is a lazy mapping over the
class table: it is only expanded into (peer, peer) pairs when iterated.

Examples
--------
>>> import pandas as pd
>>> w = pd.DataFrame({"kind": ["Deployment", "Deployment"], "namespace": ["shop", "shop"],
...                   "name": ["web", "db"], "labels": [{"app": "web"}, {"app": "db"}]})
>>> pol = pd.DataFrame([{"namespace": "shop", "name": "db-from-web",
...     "pod_selector": {"matchLabels": {"app": "db"}}, "policy_types": ("Ingress",),
...     "ingress_rules": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
...                        "ports": [{"port": 5432}]}], "egress_rules": []}])
>>> reach = compute(w, pol, pd.DataFrame({"name": ["shop"], "labels": [{}]}))
>>> web, db = Peer("shop", "web", "Deployment"), Peer("shop", "db", "Deployment")
>>> str(reach.connections[(web, db)]), (db, web) in reach.connections
('TCP 5432', True)
>>> reach.allowed(web, db, "TCP", 5432), reach.allowed(web, db, "TCP", 22)
(True, False)
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zt_toolkit.analysis.selectors import LabelIndex

log = logging.getLogger(__name__)

PROTOCOLS = ("SCTP", "TCP", "UDP")  # np-guard's output order
MIN_PORT, MAX_PORT = 1, 65535
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
ALL_CONNECTIONS = "All Connections"
NO_CONNECTIONS = "No Connections"
# Labels the controllers put on each pod with a per-pod value: they would make every replica
# its own class. Dropped from pod labels (a policy selecting one replica by them is ignored).
PER_POD_LABELS = frozenset({
    "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-completion-index",
})
_IPV4_TOP = 2**32 - 1


# ------------------------------------------------------------------------------------------
# peers and port sets
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Peer:
    """A workload (``kind`` its controller kind, or ``Pod``) or an external IPv4 range.

    External peers have ``kind`` ``External``, ``namespace`` ``""`` and ``name``
    ``a.b.c.d-e.f.g.h``.

    Examples
    --------
    >>> str(Peer("shop", "web", "Deployment")), str(Peer("", "0.0.0.0-9.255.255.255", "External"))
    ('shop/web[Deployment]', '0.0.0.0-9.255.255.255[External]')
    """

    namespace: str
    name: str
    kind: str

    @property
    def external(self) -> bool:
        """True for an IP range outside the cluster."""
        return self.kind == "External"

    def __str__(self) -> str:
        if self.external:
            return f"{self.name}[External]"
        return f"{self.namespace}/{self.name}[{self.kind}]"


Ranges = tuple[tuple[int, int], ...]


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if lo > hi:
            continue
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


_FULL: Ranges = ((MIN_PORT, MAX_PORT),)


class PortSet:
    """An exact set of (protocol, port) pairs over TCP, UDP and SCTP, ports 1-65535.

    Examples
    --------
    >>> p = PortSet.of("TCP", 80) | PortSet.of("TCP", 443) | PortSet.of("UDP", 53)
    >>> str(p), p.allows("tcp", 443), p.allows("UDP", 80)
    ('TCP 80,443,UDP 53', True, False)
    >>> str(PortSet.all()), str(PortSet.of("TCP", 8080, 8081) & PortSet.of("TCP", 8081, 9000))
    ('All Connections', 'TCP 8081')
    """

    __slots__ = ("_hash", "ranges")

    def __init__(self, ranges: Mapping[str, Iterable[tuple[int, int]]] | None = None) -> None:
        merged = {p: _merge((ranges or {}).get(p, ())) for p in PROTOCOLS}
        self.ranges: tuple[Ranges, ...] = tuple(merged[p] for p in PROTOCOLS)
        self._hash = hash(self.ranges)

    @classmethod
    def all(cls) -> PortSet:
        """Every port of every protocol."""
        return cls({p: _FULL for p in PROTOCOLS})

    @classmethod
    def empty(cls) -> PortSet:
        """No connection."""
        return cls()

    @classmethod
    def of(cls, protocol: str, port: int | None = None, end_port: int | None = None) -> PortSet:
        """``protocol`` on ``port`` (to ``end_port``), or on every port when ``port`` is None."""
        proto = protocol.upper()
        if proto not in PROTOCOLS:
            return cls()
        if port is None:
            return cls({proto: _FULL})
        hi = port if end_port is None else end_port
        return cls({proto: [(max(port, MIN_PORT), min(hi, MAX_PORT))]})

    def __or__(self, other: PortSet) -> PortSet:
        return PortSet({p: self.ranges[i] + other.ranges[i] for i, p in enumerate(PROTOCOLS)})

    def __and__(self, other: PortSet) -> PortSet:
        return PortSet({p: _intersect(self.ranges[i], other.ranges[i])
                        for i, p in enumerate(PROTOCOLS)})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self.ranges == other.ranges

    def __hash__(self) -> int:
        return self._hash

    def __bool__(self) -> bool:
        return any(self.ranges)

    @property
    def is_all(self) -> bool:
        """True when every port of every protocol is in the set."""
        return all(r == _FULL for r in self.ranges)

    def allows(self, protocol: str, port: int) -> bool:
        """Tell whether ``protocol`` (case-insensitive) on ``port`` is in the set."""
        proto = protocol.upper()
        if proto not in PROTOCOLS:
            return False
        return any(lo <= port <= hi for lo, hi in self.ranges[PROTOCOLS.index(proto)])

    def __str__(self) -> str:
        if self.is_all:
            return ALL_CONNECTIONS
        if not self:
            return NO_CONNECTIONS
        parts = []
        for proto, ranges in zip(PROTOCOLS, self.ranges, strict=True):
            if ranges:
                text = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
                parts.append(f"{proto} {text}")
        return ",".join(parts)

    def __repr__(self) -> str:
        return f"PortSet({self})"


class _Interner:
    """Port sets as small integers (0 empty, 1 all), with memoized union and intersection."""

    def __init__(self) -> None:
        self.sets: list[PortSet] = [PortSet.empty(), PortSet.all()]
        self.ids: dict[PortSet, int] = {s: i for i, s in enumerate(self.sets)}
        self._or: dict[tuple[int, int], int] = {}
        self._and: dict[tuple[int, int], int] = {}

    def id(self, ports: PortSet) -> int:
        i = self.ids.get(ports)
        if i is None:
            i = self.ids[ports] = len(self.sets)
            self.sets.append(ports)
        return i

    def union(self, a: int, b: int) -> int:
        if a == b or b == 0 or a == 1:
            return a
        if a == 0 or b == 1:
            return b
        key = (a, b) if a < b else (b, a)
        r = self._or.get(key)
        if r is None:
            r = self._or[key] = self.id(self.sets[a] | self.sets[b])
        return r

    def inter(self, a: int, b: int) -> int:
        if a == b or b == 1:
            return a
        if a == 1 or a == 0 or b == 0:
            return b if a == 1 else 0
        key = (a, b) if a < b else (b, a)
        r = self._and.get(key)
        if r is None:
            r = self._and[key] = self.id(self.sets[a] & self.sets[b])
        return r

    def vector(self, op: str, a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
        """Apply ``union`` or ``inter`` element-wise to id arrays (one call per distinct pair)."""
        fn = self.union if op == "or" else self.inter
        b_arr = np.broadcast_to(np.asarray(b, dtype=np.int64), a.shape)
        key = (a.astype(np.int64) << 32) | b_arr
        uniq, inv = np.unique(key, return_inverse=True)
        res = np.fromiter((fn(int(k >> 32), int(k & 0xFFFFFFFF)) for k in uniq),
                          dtype=np.int64, count=len(uniq))
        return res[inv].reshape(a.shape)


# ------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------
def _container_ports(spec: Mapping[str, Any] | None) -> tuple[tuple[str, str, int], ...]:
    """Named container ports of a pod spec: ``(name, protocol, number)``, sorted."""
    out = set()
    for field_ in ("initContainers", "containers"):
        for c in (spec or {}).get(field_) or ():
            for p in (c or {}).get("ports") or ():
                name, number = (p or {}).get("name"), (p or {}).get("containerPort")
                if name and isinstance(number, int):
                    out.add((str(name), str(p.get("protocol") or "TCP").upper(), number))
    return tuple(sorted(out))


def _clean_labels(labels: Any) -> dict[str, str]:
    if not isinstance(labels, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else str(v)
            for k, v in labels.items() if k not in PER_POD_LABELS}


WORKLOAD_TABLE_COLUMNS = ("kind", "namespace", "name", "labels", "ports", "host_network")


def workload_table(frames: Any) -> pd.DataFrame:
    """The pods of every workload as the engine sees them: one row per (workload, label set).

    Columns :data:`WORKLOAD_TABLE_COLUMNS`; ``ports`` holds the named container ports
    ``(name, protocol, number)``. A workload with pods gets one row per distinct label set of
    its pods (usually one; per-pod labels of :data:`PER_POD_LABELS` dropped); a workload known
    only by its template gets its template's labels. A workload kind left empty (an
    ownerReference without ``kind``) reads ``Pod``, as np-guard names it.

    Examples
    --------
    >>> workload_table(frames)[["namespace", "name", "labels"]]   # doctest: +SKIP
    """
    w = frames.workloads
    specs = frames.pod_specs
    ports = [_container_ports((specs.get(h) or {}).get("spec")) for h in w.spec_hash]
    base = pd.DataFrame({
        "kind": w.kind.to_numpy(), "namespace": w.namespace.to_numpy(),
        "name": w.name.to_numpy(), "labels": [_clean_labels(x) for x in w["labels"]],
        "ports": ports, "host_network": w.host_network.fillna(False).astype(bool).to_numpy(),
    })
    if not frames.gaps(["pods"]) and len(frames.pods):
        pods = frames.pods
        key = list(zip(pods.workload_kind, pods.namespace, pods.workload_name, strict=True))
        seen: dict[tuple[str, str, str], set[frozenset]] = {}
        for k, labels in zip(key, pods["labels"], strict=True):
            seen.setdefault(k, set()).add(frozenset(_clean_labels(labels).items()))
        rows = []
        for r in base.itertuples(index=False):
            sets = seen.get((r.kind, r.namespace, r.name))
            if not sets:
                rows.append(r._asdict())
                continue
            for s in sorted(sets, key=sorted):
                rows.append({**r._asdict(), "labels": dict(s)})
        base = pd.DataFrame(rows, columns=list(WORKLOAD_TABLE_COLUMNS))
    base["kind"] = base["kind"].replace("", "Pod")
    if (base["kind"] == "Node").any():
        base = pd.concat([base[base["kind"] != "Node"], _static_pods(frames)],
                         ignore_index=True)
    return base


def _static_pods(frames: Any) -> pd.DataFrame:
    """Mirror pods of static pods (owned by their Node): each pod is its own peer."""
    rows = []
    for pod in frames.snapshot.iter_k8s("pods"):
        meta = pod.get("metadata") or {}
        refs = meta.get("ownerReferences") or []
        owner = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if not owner or owner.get("kind") != "Node":
            continue
        spec = pod.get("spec") or {}
        rows.append({"kind": "Pod", "namespace": meta.get("namespace", "default"),
                     "name": meta.get("name", ""), "labels": _clean_labels(meta.get("labels")),
                     "ports": _container_ports(spec),
                     "host_network": bool(spec.get("hostNetwork"))})
    return pd.DataFrame(rows, columns=list(WORKLOAD_TABLE_COLUMNS))


@dataclass
class _Rule:
    policy: tuple[str, str]  # (namespace, name)
    direction: str           # "ingress" | "egress"
    index: int
    ports: list[tuple[str, Any, Any]] | None  # (protocol, port, endPort); None = every port
    static: PortSet | None                    # ports without named ports (None when named)
    peers: Any                                # rule's from/to list (None or [] = everyone)


def _ip_range(start: int, end: int) -> str:
    return f"{ipaddress.IPv4Address(start)}-{ipaddress.IPv4Address(end)}"


def _cidr_bounds(text: Any) -> tuple[int, int] | None:
    try:
        net = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None
    if net.version != 4:
        return None
    return int(net.network_address), int(net.broadcast_address)


def _rule_ports(rule: Mapping[str, Any]) -> tuple[list[tuple[str, Any, Any]] | None,
                                                   PortSet | None]:
    ports = rule.get("ports")
    if not ports:
        return None, PortSet.all()
    entries, static, named = [], PortSet.empty(), False
    for p in ports:
        if not isinstance(p, Mapping):
            continue
        proto = str(p.get("protocol") or "TCP").upper()
        port, end = p.get("port"), p.get("endPort")
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        entries.append((proto, port, end))
        if isinstance(port, str):
            named = True
        elif port is None:
            static |= PortSet.of(proto)
        elif isinstance(port, int):
            static |= PortSet.of(proto, port, end if isinstance(end, int) else None)
    return entries, None if named else static


def _resolve(entries: list[tuple[str, Any, Any]],
             named: tuple[tuple[str, str, int], ...]) -> PortSet:
    """Ports of a rule towards a destination that declares the named ports ``named``."""
    out = PortSet.empty()
    for proto, port, end in entries:
        if isinstance(port, str):
            for name, nproto, number in named:
                if name == port and nproto == proto:
                    out |= PortSet.of(proto, number)
        elif port is None:
            out |= PortSet.of(proto)
        elif isinstance(port, int):
            out |= PortSet.of(proto, port, end if isinstance(end, int) else None)
    return out


def _types(row: Any) -> tuple[str, ...]:
    types = tuple(getattr(row, "policy_types", None) or ())
    if not types:
        types = ("Ingress", "Egress") if list(getattr(row, "egress_rules", None) or ()) \
            else ("Ingress",)
    return types


# ------------------------------------------------------------------------------------------
# the result
# ------------------------------------------------------------------------------------------
class Connections(Mapping):
    """Read-only mapping ``(src Peer, dst Peer) → PortSet`` of every non-empty connection.

    Backed by the class tables of a :class:`Reachability`: lookups cost a few array reads;
    iteration expands the pairs on the fly (src != dst, no external → external pair).

    Examples
    --------
    >>> len(reach.connections), (web, db) in reach.connections           # doctest: +SKIP
    (2, True)
    """

    def __init__(self, reach: Reachability) -> None:
        self._r = reach
        self._len: int | None = None

    def __getitem__(self, key: tuple[Peer, Peer]) -> PortSet:
        src, dst = key
        if src == dst or (src.external and dst.external):
            raise KeyError(key)
        ports = self._r._conn(src, dst)
        if ports is None or not ports:
            raise KeyError(key)
        return ports

    def __iter__(self) -> Iterator[tuple[Peer, Peer]]:
        for pair, _ in self._r._iter_pairs():
            yield pair

    def items(self) -> Iterator[tuple[tuple[Peer, Peer], PortSet]]:  # type: ignore[override]
        """Yield ``((src, dst), ports)`` for every connection (expanded lazily)."""
        return self._r._iter_pairs()

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self._r._iter_pairs())
        return self._len

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return False
        return True


@dataclass
class Reachability:
    """Connectivity between workloads and external IP ranges.

    ``connections`` maps ``(src, dst)`` to the :class:`PortSet` allowed (only non-empty pairs,
    ``src != dst``); ``peers`` lists every workload and external range; ``enforced`` says
    whether it is the connectivity "as written" by the policies (True) or "as enforced" when
    no engine enforces NetworkPolicy (False: everything open).

    Examples
    --------
    >>> reach = reachability(frames)                               # doctest: +SKIP
    >>> print(reach.explain(web, db, "TCP", 5432))                 # doctest: +SKIP
    """

    peers: list[Peer]
    enforced: bool = True
    connections: Connections = field(init=False, repr=False)
    # internals (class tables)
    _peer_classes: dict[Peer, list[int]] = field(default_factory=dict, repr=False)
    _tables: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.connections = Connections(self)

    # -- lookups -------------------------------------------------------------------------
    def _columns(self, peer: Peer) -> list[int]:
        return self._peer_classes.get(peer, [])

    def _pair_id(self, s: int, d: int) -> int:
        t = self._tables
        n = t["n_classes"]
        if (s >= n and d >= n) or not t["src_ok"][s] or not t["dst_ok"][d]:
            return 0
        if not self.enforced:
            return 1
        e = int(t["E"][t["eg_sel"][s], t["eg_peer"][d]]) if s < n else 1
        i = int(t["I"][t["in_sel"][d], t["in_peer"][s]]) if d < n else 1
        return t["ports"].inter(e, i)

    def _conn(self, src: Peer, dst: Peer) -> PortSet | None:
        cs, cd = self._columns(src), self._columns(dst)
        if not cs or not cd:
            return None
        ports = self._tables["ports"]
        acc = 0
        for s in cs:
            for d in cd:
                acc = ports.union(acc, self._pair_id(s, d))
        return ports.sets[acc]

    def _iter_pairs(self) -> Iterator[tuple[tuple[Peer, Peer], PortSet]]:
        t = self._tables
        ports: _Interner = t["ports"]
        n = t["n_classes"]
        col_peers: list[list[Peer]] = t["col_peers"]
        multi = {p for p, cols in self._peer_classes.items() if len(cols) > 1}
        ncols = len(col_peers)
        if self.enforced:
            # class × class matrix, one row at a time
            E, I_ = t["E"], t["I"]
            eg_sel, eg_peer, in_sel, in_peer = t["eg_sel"], t["eg_peer"], t["in_sel"], t["in_peer"]
        for s in range(ncols):
            if self.enforced:
                if s < n:
                    e_row = E[eg_sel[s], eg_peer]  # over every column
                else:
                    e_row = np.ones(ncols, dtype=np.int64)
                    e_row[n:] = 0
                i_row = np.ones(ncols, dtype=np.int64)
                i_row[:n] = I_[in_sel[:n], in_peer[s]]
                row = ports.vector("and", e_row, i_row)
            else:
                row = np.ones(ncols, dtype=np.int64)
                if s >= n:
                    row[n:] = 0
            if not t["src_ok"][s]:
                continue
            row = np.where(t["dst_ok"], row, 0)
            for d in np.flatnonzero(row):
                for sp in col_peers[s]:
                    if sp in multi:
                        continue
                    for dp in col_peers[int(d)]:
                        if sp != dp and dp not in multi:
                            yield (sp, dp), ports.sets[int(row[d])]
        # peers made of several classes (pods of one owner with different labels): the union
        for mp in sorted(multi):
            for other in self.peers:
                for pair in ((mp, other), (other, mp)):
                    if pair[0] == pair[1] or (other in multi and other < mp):
                        continue
                    if pair[0].external and pair[1].external:
                        continue
                    conn = self._conn(*pair)
                    if conn:
                        yield pair, conn

    # -- public API ----------------------------------------------------------------------
    def allowed(self, src: Peer, dst: Peer, protocol: str, port: int) -> bool:
        """Tell whether ``src`` may open a ``protocol``/``port`` connection to ``dst``.

        Examples
        --------
        >>> reach.allowed(frontend, database, "TCP", 5432)            # doctest: +SKIP
        False
        """
        conn = self._conn(src, dst)
        return bool(conn is not None and conn.allows(protocol, port))

    def explain(self, src: Peer, dst: Peer, protocol: str, port: int) -> str:
        """Say why ``src`` can or cannot reach ``dst`` on ``protocol``/``port``, naming policies.

        The text gives the verdict, then the egress side at the source and the ingress side at
        the destination: which policy (and rule) allows it, or which policies isolate the pod
        without allowing it, or that no policy selects the pod in that direction.

        Examples
        --------
        >>> print(reach.explain(frontend, database, "TCP", 5432))     # doctest: +SKIP
        allowed: TCP 5432 from storefront/frontend[Deployment] to ...
        """
        what = f"{protocol.upper()} {port} from {src} to {dst}"
        if not self.enforced:
            return (f"allowed: {what}; no engine enforces NetworkPolicy, so every connection "
                    "is open whatever the policies say")
        cs, cd = self._columns(src), self._columns(dst)
        if not cs or not cd:
            missing = src if not cs else dst
            return f"unknown: {missing} is not a workload or address range of this cluster"
        verdict = "allowed" if self.allowed(src, dst, protocol, port) else "denied"
        parts = [f"{verdict}: {what}"]
        if not src.external:
            parts.append("egress at source: " + self._side("egress", cs, cd, protocol, port))
        if not dst.external:
            parts.append("ingress at destination: "
                         + self._side("ingress", cd, cs, protocol, port))
        return "; ".join(parts)

    def _side(self, direction: str, selected: list[int], others: list[int],
              protocol: str, port: int) -> str:
        t = self._tables
        ports: _Interner = t["ports"]
        rules: list[_Rule] = t["rules"]
        applies: list[list[tuple[int, int]]] = t[f"{direction}_applies"]
        matrix: np.ndarray = t[f"{direction}_matrix"]
        allowing, isolating = [], []
        for c in selected:
            for r, pid in applies[c]:
                rule = rules[r]
                isolating.append(f"{rule.policy[0]}/{rule.policy[1]}")
                for o in others:
                    ids = ports.inter(pid, int(matrix[r, o]))
                    if ports.sets[ids].allows(protocol, port):
                        allowing.append(f"NetworkPolicy {rule.policy[0]}/{rule.policy[1]} "
                                        f"({direction} rule {rule.index})")
            for pol in t[f"{direction}_rule_less"].get(c, ()):
                isolating.append(f"{pol[0]}/{pol[1]}")
        allowing = list(dict.fromkeys(allowing))
        isolating = list(dict.fromkeys(isolating))
        if allowing:
            return "allowed by " + ", ".join(allowing)
        if not isolating:
            return f"open (no NetworkPolicy selects the pod for {direction.capitalize()})"
        return (f"blocked: isolated by NetworkPolicy {', '.join(isolating)} and no {direction} "
                f"rule allows {protocol.upper()} {port} for this peer")


# ------------------------------------------------------------------------------------------
# the computation
# ------------------------------------------------------------------------------------------
def compute(workloads: pd.DataFrame, network_policies: pd.DataFrame, namespaces: pd.DataFrame,
            *, enforced: bool = True, pod_specs: Mapping[str, Any] | None = None,
            ) -> Reachability:
    """Compute the connectivity between workloads and external ranges under NetworkPolicies.

    Parameters
    ----------
    workloads
        One row per workload (or per workload label set): ``kind``, ``namespace``, ``name``,
        ``labels``, and optionally ``ports`` (named container ports ``(name, protocol,
        number)``, see :func:`workload_table`) and ``host_network``. Without ``ports`` and with
        ``pod_specs`` (and a ``spec_hash`` column, as the frames give them), the named ports
        are read from the pod specs.
    network_policies
        The ``network_policies`` frame: ``namespace``, ``name``, ``pod_selector``,
        ``policy_types`` (empty: the API default), ``ingress_rules``, ``egress_rules``.
    namespaces
        ``name`` and ``labels``; ``kubernetes.io/metadata.name`` is added when missing, and a
        namespace that a workload uses but the frame lacks gets only that label.
    enforced
        False when no engine enforces NetworkPolicy: every connection is open.
    pod_specs
        Pod-shaped dicts by spec hash (the ``pod_specs`` frame), for the named ports.

    Returns
    -------
    Reachability

    Examples
    --------
    >>> reach = compute(frames.workloads, frames.network_policies, frames.namespaces,
    ...                 pod_specs=frames.pod_specs)                      # doctest: +SKIP
    >>> len(reach.connections)                                          # doctest: +SKIP
    """
    w = workloads.reset_index(drop=True)
    if "ports" in w:
        w_ports = [tuple(p) if p is not None else () for p in w["ports"]]
    elif pod_specs is not None and "spec_hash" in w:
        w_ports = [_container_ports((pod_specs.get(h) or {}).get("spec")) for h in w.spec_hash]
    else:
        w_ports = [()] * len(w)
    kinds = [k or "Pod" for k in w["kind"]] if len(w) else []
    w_labels = [_clean_labels(x) for x in w["labels"]] if len(w) else []
    w_ns = list(w["namespace"]) if len(w) else []
    host = (list(w["host_network"].fillna(False).astype(bool)) if "host_network" in w
            else [False] * len(w))

    # ---- classes: (namespace, labels, named ports, host network) ----
    class_of: dict[tuple, int] = {}
    cls_ns: list[str] = []
    cls_labels: list[dict[str, str]] = []
    cls_ports: list[tuple] = []
    peer_classes: dict[Peer, list[int]] = {}
    for i in range(len(w)):
        key = (w_ns[i], frozenset(w_labels[i].items()), w_ports[i], host[i])
        c = class_of.get(key)
        if c is None:
            c = class_of[key] = len(cls_ns)
            cls_ns.append(w_ns[i])
            cls_labels.append(w_labels[i])
            cls_ports.append(w_ports[i])
        peer = Peer(w_ns[i], str(w["name"].iat[i]), kinds[i])
        cols = peer_classes.setdefault(peer, [])
        if c not in cols:
            cols.append(c)
    n = len(cls_ns)

    # ---- policies and external ranges ----
    pols = network_policies.reset_index(drop=True) if network_policies is not None \
        else pd.DataFrame()
    # np-guard splits the address space per direction: sources by the ingress ipBlocks,
    # destinations by the egress ipBlocks
    bounds = {"from": {0, _IPV4_TOP + 1}, "to": {0, _IPV4_TOP + 1}}
    for row in pols.itertuples(index=False):
        for direction, key in (("ingress_rules", "from"), ("egress_rules", "to")):
            for rule in getattr(row, direction, None) or ():
                for peer in (rule or {}).get(key) or ():
                    block = (peer or {}).get("ipBlock") if isinstance(peer, Mapping) else None
                    if not block:
                        continue
                    for cidr in [block.get("cidr"), *(block.get("except") or ())]:
                        b = _cidr_bounds(cidr)
                        if b:
                            bounds[key].update((b[0], b[1] + 1))
    ext: dict[str, tuple[int, np.ndarray, list[tuple[int, int]]]] = {}
    offset = n
    for key in ("from", "to"):
        cuts = sorted(bounds[key])
        ranges = list(zip(cuts[:-1], [c - 1 for c in cuts[1:]], strict=True))
        ext[key] = (offset, np.asarray([r[0] for r in ranges], dtype=np.int64), ranges)
        offset += len(ranges)
    ncols = offset
    src_ok = np.ones(ncols, dtype=bool)
    src_ok[ext["to"][0]:] = False
    dst_ok = np.ones(ncols, dtype=bool)
    dst_ok[ext["from"][0]:ext["to"][0]] = False
    col_peers: list[list[Peer]] = [[] for _ in range(ncols)]
    for peer, cols in peer_classes.items():
        for c in cols:
            col_peers[c].append(peer)
    for key in ("from", "to"):
        start, _, ranges = ext[key]
        for j, (lo, hi) in enumerate(ranges):
            peer = Peer("", _ip_range(lo, hi), "External")
            peer_classes.setdefault(peer, []).append(start + j)
            col_peers[start + j].append(peer)
    peers = sorted(peer_classes)

    reach = Reachability(peers=peers, enforced=enforced)
    reach._peer_classes = peer_classes
    ports = _Interner()
    tables: dict[str, Any] = {"ports": ports, "n_classes": n, "col_peers": col_peers,
                              "cls_labels": cls_labels, "src_ok": src_ok, "dst_ok": dst_ok}
    reach._tables = tables
    if not enforced:
        return reach

    # ---- namespace and per-namespace label indexes ----
    ns_labels: dict[str, dict[str, str]] = {}
    if namespaces is not None and len(namespaces):
        for name, labels in zip(namespaces["name"], namespaces["labels"], strict=True):
            ns_labels[str(name)] = _clean_labels(labels)
    for ns in set(cls_ns) | set(pols.namespace if len(pols) else ()):
        ns_labels.setdefault(ns, {})
    for ns, labels in ns_labels.items():
        labels.setdefault(NAMESPACE_LABEL, ns)
    ns_names = list(ns_labels)
    ns_index = LabelIndex([ns_labels[x] for x in ns_names])
    cls_ns_code = np.zeros(0, dtype=np.int64)
    if n:
        code_of = {x: i for i, x in enumerate(ns_names)}
        cls_ns_code = np.asarray([code_of[x] for x in cls_ns], dtype=np.int64)
    pod_index = LabelIndex(cls_labels)
    in_ns_cache: dict[str, np.ndarray] = {}

    def in_ns(ns: str) -> np.ndarray:
        m = in_ns_cache.get(ns)
        if m is None:
            m = in_ns_cache[ns] = np.asarray([x == ns for x in cls_ns], dtype=bool)
        return m

    pod_cache: dict[str, np.ndarray] = {}

    def pods_matching(selector: Any) -> np.ndarray:
        key = repr(selector)
        m = pod_cache.get(key)
        if m is None:
            m = pod_cache[key] = pod_index.mask(selector) if n else np.zeros(0, bool)
        return m

    def ns_matching(selector: Any) -> np.ndarray:
        return ns_index.mask(selector)[cls_ns_code] if n else np.zeros(0, bool)

    def block_mask(block: Mapping[str, Any], starts: np.ndarray) -> np.ndarray:
        m = np.zeros(len(starts), dtype=bool)
        b = _cidr_bounds(block.get("cidr"))
        if b is None:
            return m
        m |= (starts >= b[0]) & (starts <= b[1])
        for ex in block.get("except") or ():
            e = _cidr_bounds(ex)
            if e:
                m &= ~((starts >= e[0]) & (starts <= e[1]))
        return m

    def peer_mask(peers: Any, policy_ns: str, key: str) -> np.ndarray:
        """Columns (classes, then external ranges) a rule's from/to admits."""
        out = np.zeros(ncols, dtype=bool)
        start, starts, _ = ext[key]
        if not peers:
            out[:n] = True
            out[start:start + len(starts)] = True
            return out
        for peer in peers:
            if not isinstance(peer, Mapping):
                continue
            if peer.get("ipBlock"):
                out[start:start + len(starts)] |= block_mask(peer["ipBlock"], starts)
                continue
            # a null selector is an absent one
            has_pod = peer.get("podSelector") is not None
            has_ns = peer.get("namespaceSelector") is not None
            if not has_pod and not has_ns:
                continue
            m = pods_matching(peer.get("podSelector") or {}) if has_pod \
                else np.ones(n, dtype=bool)
            m = m & (ns_matching(peer.get("namespaceSelector") or {}) if has_ns
                     else in_ns(policy_ns))
            out[:n] |= m
        return out

    # ---- named ports: resolved once per distinct container-port list ----
    port_lists = list(dict.fromkeys(cls_ports))
    code_of_ports = {pl: i for i, pl in enumerate(port_lists)}
    port_code = np.asarray([code_of_ports[pl] for pl in cls_ports], dtype=np.int64)

    def resolved(entries: list[tuple[str, Any, Any]]) -> np.ndarray:
        return np.asarray([ports.id(_resolve(entries, pl)) for pl in port_lists] or [0],
                          dtype=np.int64)

    # ---- rules; per class: the rules that apply to it (selected side) ----
    rules: list[_Rule] = []
    applies = {"ingress": [[] for _ in range(n)], "egress": [[] for _ in range(n)]}
    rule_less: dict[str, dict[int, list[tuple[str, str]]]] = {"ingress": {}, "egress": {}}
    isolated = {"ingress": np.zeros(n, dtype=bool), "egress": np.zeros(n, dtype=bool)}
    matrices: dict[str, list[np.ndarray]] = {"ingress": [], "egress": []}
    for row in pols.itertuples(index=False):
        pns, pname = str(row.namespace), str(row.name)
        selected = np.flatnonzero(pods_matching(row.pod_selector or {}) & in_ns(pns)) \
            if n else np.zeros(0, np.int64)
        types = _types(row)
        for direction, field_, key in (("ingress", "ingress_rules", "from"),
                                       ("egress", "egress_rules", "to")):
            if direction.capitalize() not in types:
                continue
            isolated[direction][selected] = True
            rule_list = [r for r in (getattr(row, field_, None) or ()) if isinstance(r, Mapping)]
            if not rule_list:
                for c in selected:
                    rule_less[direction].setdefault(int(c), []).append((pns, pname))
            for k, rule in enumerate(rule_list):
                entries, static = _rule_ports(rule)
                r = len(rules)
                rules.append(_Rule((pns, pname), direction, k, entries, static,
                                   rule.get(key)))
                admitted = peer_mask(rule.get(key), pns, key)
                if direction == "ingress":
                    # ports resolve at the selected pod (the destination)
                    col = admitted.astype(np.int64)  # 1 = ALL marker where admitted
                    pids = (np.full(len(selected), ports.id(static), dtype=np.int64)
                            if static is not None
                            else resolved(entries or [])[port_code[selected]])
                    for c, pid in zip(selected.tolist(), pids.tolist(), strict=True):
                        applies["ingress"][c].append((r, pid))
                else:
                    # ports resolve at the peer (the destination)
                    if static is not None:
                        col = np.where(admitted, ports.id(static), 0).astype(np.int64)
                    else:
                        col = np.zeros(ncols, dtype=np.int64)
                        col[:n] = np.where(admitted[:n], resolved(entries or [])[port_code], 0)
                        # a named port never resolves towards an IP range (numbers still do)
                        col[n:] = np.where(admitted[n:], ports.id(_resolve(entries or [], ())),
                                           0)
                    for c in selected:
                        applies["egress"][int(c)].append((r, 1))
                matrices[direction].append(col)
    tables["rules"] = rules
    for direction in ("ingress", "egress"):
        mat = (np.vstack(matrices[direction]) if matrices[direction]
               else np.zeros((0, ncols), dtype=np.int64))
        # global rule index → row of this direction's matrix
        rows_of = {r: i for i, r in enumerate(k for k, ru in enumerate(rules)
                                              if ru.direction == direction)}
        full = np.zeros((len(rules), ncols), dtype=np.int64)
        for r, i in rows_of.items():
            full[r] = mat[i]
        tables[f"{direction}_matrix"] = full
        tables[f"{direction}_applies"] = applies[direction]
        tables[f"{direction}_rule_less"] = rule_less[direction]
        sel_sig, peer_sig, table = _direction_table(
            ports, mat, rows_of, applies[direction], isolated[direction], ncols)
        short = "in" if direction == "ingress" else "eg"
        tables[f"{short}_sel"], tables[f"{short}_peer"] = sel_sig, peer_sig
        tables["I" if direction == "ingress" else "E"] = table
    return reach


def _direction_table(ports: _Interner, mat: np.ndarray, rows_of: dict[int, int],
                     applies: list[list[tuple[int, int]]], isolated: np.ndarray,
                     ncols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Port-set ids between selected-side signatures and peer-side signatures of one direction.

    Returns ``sel_sig`` (per class), ``peer_sig`` (per column) and the table
    ``T[sel_sig, peer_sig]``: the union over the rules that apply at the selected class of
    (the rule's ports there ∩ what the rule grants the peer).
    """
    n = len(applies)
    # peer side: distinct columns of the rule matrix
    if mat.shape[0]:
        cols = np.ascontiguousarray(mat.T.astype(np.int32))
        first: dict[bytes, int] = {}
        peer_sig = np.fromiter((first.setdefault(col.tobytes(), len(first)) for col in cols),
                               dtype=np.int64, count=len(cols))
        reps = np.zeros(len(first), dtype=np.int64)
        reps[peer_sig] = np.arange(len(cols))  # a column of each signature (all identical)
        peer_vals = mat[:, reps]  # rules × distinct peer signatures
    else:
        peer_sig = np.zeros(ncols, dtype=np.int64)
        peer_vals = np.zeros((0, 1), dtype=np.int64)
    n_peer = peer_vals.shape[1]
    # selected side: open, or the exact list of (rule, ports) that apply
    sig_of: dict[Any, int] = {}
    sel_sig = np.zeros(n, dtype=np.int64)
    sig_rules: list[Any] = []
    for c in range(n):
        key = tuple(applies[c]) if isolated[c] else None
        s = sig_of.get(key)
        if s is None:
            s = sig_of[key] = len(sig_rules)
            sig_rules.append(key)
        sel_sig[c] = s
    table = np.zeros((max(len(sig_rules), 1), n_peer), dtype=np.int64)
    for s, key in enumerate(sig_rules):
        if key is None:
            table[s] = 1
            continue
        acc = np.zeros(n_peer, dtype=np.int64)
        for r, pid in key:
            contrib = ports.vector("and", peer_vals[rows_of[r]], pid)
            acc = ports.vector("or", acc, contrib)
        table[s] = acc
    return sel_sig, peer_sig.astype(np.int64), table


# ------------------------------------------------------------------------------------------
# convenience
# ------------------------------------------------------------------------------------------
def enforcement_state(frames: Any) -> bool | None:
    """Whether an engine enforces NetworkPolicy (None when the snapshot cannot tell).

    Examples
    --------
    >>> enforcement_state(frames)                                        # doctest: +SKIP
    True
    """
    try:
        if frames.gaps(["network_policy_enforcement"]):
            return None
        value = frames.network_policy_enforcement.enforced.iloc[0]
    except (AttributeError, IndexError, KeyError):
        return None
    return None if value is pd.NA or value is None else bool(value)


def reachability(assessment_or_frames: Any, *, enforced: bool | None = None) -> Reachability:
    """Compute the reachability of a snapshot's frames (or of an assessment's frames).

    ``enforced`` None reads the ``network_policy_enforcement`` frame: the connectivity is
    "as enforced" (everything open) only when it says that no engine enforces NetworkPolicy,
    and "as written" otherwise (enforced, or unknown). Pass True or False to choose.

    Examples
    --------
    >>> reach = reachability(frames)                                     # doctest: +SKIP
    >>> as_written = reachability(frames, enforced=True)                 # doctest: +SKIP
    """
    from zt_toolkit.frames import Frames

    frames = assessment_or_frames
    if not isinstance(frames, Frames):
        frames = frames.frames
    if enforced is None:
        enforced = enforcement_state(frames) is not False
    table = workload_table(frames) if not frames.gaps(["workloads"]) else pd.DataFrame(
        columns=list(WORKLOAD_TABLE_COLUMNS))
    policies = frames.network_policies if not frames.gaps(["network_policies"]) else None
    namespaces = frames.namespaces if not frames.gaps(["namespaces"]) else None
    return compute(table, policies, namespaces, enforced=enforced)


def peers_matching(reach: Reachability, namespace: str, labels: Mapping[str, Any]) -> list[Peer]:
    """Workloads of ``namespace`` whose pod labels include every pair of ``labels``.

    Examples
    --------
    >>> peers_matching(reach, "storefront", {"app": "frontend"})        # doctest: +SKIP
    [Peer(namespace='storefront', name='frontend', kind='Deployment')]
    """
    want = _clean_labels(labels).items()
    cls_labels = reach._tables.get("cls_labels")
    out = []
    for peer, cols in reach._peer_classes.items():
        if peer.external or peer.namespace != namespace:
            continue
        if any(want <= cls_labels[c].items() for c in cols):
            out.append(peer)
    return sorted(out)


# ------------------------------------------------------------------------------------------
# output
# ------------------------------------------------------------------------------------------
def connection_rows(reach: Reachability) -> list[tuple[str, str, str]]:
    """``(src, dst, conn)`` text triples of every connection, sorted (np-guard's order).

    Examples
    --------
    >>> connection_rows(reach)[:1]                                       # doctest: +SKIP
    [('shop/web[Deployment]', 'shop/db[Deployment]', 'TCP 5432')]
    """
    rows = [(str(s), str(d), str(p)) for (s, d), p in reach.connections.items()]
    rows.sort(key=lambda r: f"{r[0]} => {r[1]} : {r[2]}")
    return rows


def format_connections(reach: Reachability, fmt: str = "np-guard") -> str:
    """Write the connectivity list as np-guard's ``list`` text, ``csv`` or ``json``.

    Examples
    --------
    >>> print(format_connections(reach))                                 # doctest: +SKIP
    shop/web[Deployment] => shop/db[Deployment] : TCP 5432
    """
    import orjson

    rows = connection_rows(reach)
    if fmt == "json":
        return orjson.dumps([{"src": s, "dst": d, "conn": c} for s, d, c in rows],
                            option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["src", "dst", "conn"])
        writer.writerows(rows)
        return buf.getvalue()
    return "".join(f"{s} => {d} : {c}\n" for s, d, c in rows)


def reachability_from_path(path: Path | str) -> tuple[Reachability, list[str]]:
    """Compute the reachability of a snapshot, or of manifest files or a folder of them.

    Manifests are imported into a temporary snapshot (files that do not parse are skipped:
    the warnings name them). Returns the reachability and the warnings.

    Examples
    --------
    >>> reach, warnings = reachability_from_path("manifests/")           # doctest: +SKIP
    """
    import tempfile

    from zt_toolkit.frames import Frames
    from zt_toolkit.snapshot import Snapshot

    path = Path(path)
    if Snapshot.is_snapshot(path):
        return reachability(Frames(Snapshot.load(path)), enforced=True), []
    from zt_toolkit.manifests import import_manifests

    with tempfile.TemporaryDirectory(prefix="zt-netpol-") as tmp:
        result = import_manifests([path], Path(tmp) / "snapshot", quiet=True)
        warnings = [f"skipped {s.path}: {s.reason}" for s in result.skipped]
        reach = reachability(Frames(Snapshot.load(result.snapshot)), enforced=True)
    return reach, warnings


__all__ = [
    "ALL_CONNECTIONS", "PROTOCOLS", "Connections", "Peer", "PortSet", "Reachability",
    "compute", "connection_rows", "enforcement_state", "format_connections",
    "peers_matching", "reachability", "reachability_from_path", "workload_table",
]
