import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.network import is_world

NODEPORT_REASON = "NodePort Service opens a port on every node"


@check(
    id="service_internet_exposure_restricted",
    pillar=Pillar.NETWORK,
    severity=Severity.HIGH,
    title="Internet-facing load balancers admit only listed client CIDRs; no NodePort Services",
    requires=("services", "ingresses"),
    reason="internet-facing load balancer open to any client",
    remediation="Make the load balancer internal (service.beta.kubernetes.io/"
    "aws-load-balancer-scheme: internal; alb.ingress.kubernetes.io/scheme: internal) or limit "
    "clients: spec.loadBalancerSourceRanges: [203.0.113.0/24] on the Service, "
    "alb.ingress.kubernetes.io/inbound-cidrs: 203.0.113.0/24 on the Ingress. Replace NodePort "
    "Services with ClusterIP behind an internal load balancer or Ingress.",
    references=("KS C-0256", "BPG network", "NSA Kubernetes Hardening Guidance"),
)
def service_internet_exposure_restricted(frames) -> pd.DataFrame:
    """Without a client allow-list an internet-facing load balancer puts its workload online.

    Every unauthenticated endpoint, admin page or vulnerable dependency is one scan away.

    LoadBalancer Services: the scheme is decided as the AWS controllers do. The AWS Load
    Balancer Controller (``loadBalancerClass: service.k8s.aws/nlb``, ``aws-load-balancer-type:
    external``) and EKS Auto Mode (``eks.amazonaws.com/nlb``) create *internal* NLBs unless
    ``aws-load-balancer-scheme: internet-facing``; the legacy in-tree controller creates
    *internet-facing* ones unless ``aws-load-balancer-internal`` is set. A Service with an
    explicit scheme annotation and no class is taken at its word (the controller's webhook
    claims it); the detail warns that the in-tree controller would ignore it. Restricted means
    ``loadBalancerSourceRanges`` (or the ``load-balancer-source-ranges`` annotation) is set and
    holds no 0.0.0.0/0 or ::/0. ALB Ingresses: internet-facing with
    ``alb.ingress.kubernetes.io/scheme: internet-facing`` on the Ingress or its IngressGroup
    (default internal); restricted by ``inbound-cidrs``. Ingresses of other classes are exposed
    through their controller's Service, judged there. NodePort Services fail as reported
    exposure (reachable wherever node security groups allow). Internal ones pass.
    """
    s, ing = frames.services, frames.ingresses
    rows = []
    for r in s[s.type.eq("LoadBalancer")].itertuples(index=False):
        field = ("loadBalancerSourceRanges" if r.load_balancer_source_ranges or not r.source_ranges
                 else "the load-balancer-source-ranges annotation")
        rows.append(_judge(r, r.source_ranges, field))
    for r in s[s.type.eq("NodePort")].itertuples(index=False):
        ports = ", ".join(f"{p.get('nodePort', 'auto')}/{p.get('protocol', 'TCP')}"
                          for p in r.ports) or "none"
        rows.append(result(r.kind, r.namespace, r.name, failed=True, reason=NODEPORT_REASON,
                           detail=f"type NodePort: node ports {ports} open on every node"))
    for r in ing[ing.is_alb].itertuples(index=False):
        rows.append(_judge(r, r.inbound_cidrs, "alb.ingress.kubernetes.io/inbound-cidrs"))
    return results(rows)


def _judge(r, ranges, field: str) -> dict:
    if not r.internet_facing:
        return result(r.kind, r.namespace, r.name, failed=False,
                      detail=f"{r.scheme}: {r.scheme_reason}")
    world = [c for c in ranges if is_world(c)]
    if ranges and not world:
        return result(r.kind, r.namespace, r.name, failed=False,
                      detail=f"internet-facing ({r.scheme_reason}), clients limited by {field}: "
                      + ", ".join(ranges))
    why = f"{field} includes {', '.join(world)}" if world else f"no {field}"
    return result(r.kind, r.namespace, r.name, failed=True,
                  detail=f"internet-facing ({r.scheme_reason}); {why}: open to any client")
