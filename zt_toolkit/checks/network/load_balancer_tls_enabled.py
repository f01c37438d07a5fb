import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="load_balancer_tls_enabled",
    pillar=Pillar.NETWORK,
    severity=Severity.MEDIUM,
    title="Internet-facing load balancers and Ingresses terminate TLS",
    requires=("services", "ingresses"),
    reason="internet-facing endpoint without TLS",
    remediation="NLB/CLB Service: annotate service.beta.kubernetes.io/aws-load-balancer-ssl-cert: "
    "<ACM certificate ARN> and aws-load-balancer-ssl-ports: \"443\". ALB Ingress: "
    "alb.ingress.kubernetes.io/certificate-arn: <ARN> (or spec.tls hosts), listen-ports "
    "'[{\"HTTPS\": 443}]' and ssl-redirect: \"443\" when HTTP stays open. Other Ingresses: "
    "spec.tls with a certificate Secret (cert-manager).",
    references=("CIS 5.4.5", "BPG network", "KS C-0231"),
)
def load_balancer_tls_enabled(frames) -> pd.DataFrame:
    """Without TLS, credentials, session cookies and data cross the internet in clear text.

    Judged: internet-facing LoadBalancer Services (scheme as in
    service_internet_exposure_restricted), internet-facing ALB Ingresses, and Ingresses of other
    classes (whose exposure the snapshot cannot see; TLS is expected on every HTTP route). A
    Service passes with ``aws-load-balancer-ssl-cert``; ports left out of
    ``aws-load-balancer-ssl-ports`` are named. An ALB Ingress passes with
    ``certificate-arn``, ``spec.tls`` (certificate discovery) or an HTTPS listener, and fails
    when it also listens on HTTP without ``ssl-redirect``. TCP passthrough to a backend that
    terminates TLS itself cannot be seen and fails (waive it with that reason).
    """
    s, ing = frames.services, frames.ingresses
    rows = []
    for r in s[s.type.eq("LoadBalancer") & s.internet_facing].itertuples(index=False):
        if isinstance(r.ssl_cert, str) and r.ssl_cert:
            ssl = {p.strip() for p in (r.ssl_ports or "*").split(",")}
            plain = [str(p.get("port")) for p in r.ports
                     if "*" not in ssl and str(p.get("port")) not in ssl
                     and p.get("name") not in ssl]
            detail = "aws-load-balancer-ssl-cert set"
            if plain:
                detail += f"; ports without TLS: {', '.join(plain)}"
            rows.append(result(r.kind, r.namespace, r.name, failed=False, detail=detail))
        else:
            rows.append(result(r.kind, r.namespace, r.name, failed=True,
                               detail="internet-facing load balancer without "
                               "aws-load-balancer-ssl-cert: listeners are plain TCP/HTTP"))
    for r in ing[(ing.is_alb & ing.internet_facing) | ~ing.is_alb].itertuples(index=False):
        rows.append(_ingress(r))
    return results(rows)


def _ingress(r) -> dict:
    if not r.is_alb:
        cls = r.ingress_class if isinstance(r.ingress_class, str) else "default"
        hosts = sorted({h for t in r.tls for h in t.get("hosts") or ()})
        if r.tls:
            return result(r.kind, r.namespace, r.name, failed=False,
                          detail=f"ingress class {cls}: spec.tls for "
                          + (", ".join(hosts) or "all hosts"))
        return result(r.kind, r.namespace, r.name, failed=True,
                      detail=f"ingress class {cls}: no spec.tls")
    protocols = {proto for proto, _ in r.listen_ports}
    tls = []
    if isinstance(r.certificate_arn, str) and r.certificate_arn:
        tls.append("certificate-arn")
    if r.tls:
        tls.append("spec.tls")
    if "HTTPS" in protocols:
        tls.append("HTTPS listener")
    if not tls:
        return result(r.kind, r.namespace, r.name, failed=True,
                      detail="internet-facing ALB without certificate-arn, spec.tls or an "
                      "HTTPS listener: HTTP only")
    http = [port for proto, port in r.listen_ports if proto == "HTTP"]
    if http and not isinstance(r.ssl_redirect, str):
        return result(r.kind, r.namespace, r.name, failed=True,
                      detail=f"TLS via {', '.join(tls)}, but HTTP listener {http[0]} serves "
                      "clear text (no alb.ingress.kubernetes.io/ssl-redirect)")
    return result(r.kind, r.namespace, r.name, failed=False,
                  detail=f"TLS via {', '.join(tls)}"
                  + (f"; HTTP redirected to {r.ssl_redirect}" if http else ""))
