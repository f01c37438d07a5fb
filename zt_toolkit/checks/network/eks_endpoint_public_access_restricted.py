import ipaddress

import pandas as pd

from zt_toolkit.checks.helpers import result, results
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.errors import ConfigError
from zt_toolkit.frames.eks import described_clusters
from zt_toolkit.frames.network import endpoint_state, flag_value


@check(
    id="eks_endpoint_public_access_restricted",
    pillar=Pillar.NETWORK,
    severity=Severity.CRITICAL,
    title="The EKS public API endpoint is off or limited to narrow, known CIDR ranges",
    requires=("eks_cluster",),
    reason="public API endpoint open to the internet or to wide ranges",
    remediation="Disable the public endpoint: aws eks update-cluster-config --name <cluster> "
    "--resources-vpc-config endpointPublicAccess=false,endpointPrivateAccess=true ; or restrict "
    "it: --resources-vpc-config publicAccessCidrs=203.0.113.0/24,198.51.100.10/32",
    references=("CIS 5.4.1", "KS C-0227", "KS C-0229", "PW eks_cluster_not_publicly_accessible",
                "BPG network"),
    parameters={"max_prefix": 16},
)
def eks_endpoint_public_access_restricted(frames, params) -> pd.DataFrame:
    """Without CIDR limits the whole internet can try credentials and exploits on the API.

    Pre-authentication vulnerabilities, leaked kubeconfigs and replayed tokens all need only
    network reach.

    Public access unset counts as on (the EKS default), and an empty ``publicAccessCidrs``
    with public access on as 0.0.0.0/0 (the EKS default). An IPv4 range wider than
    ``/max_prefix`` (default /16) fails as well: a /8 is "the internet" for this purpose. For
    IPv6 only ``::/0`` is judged. A range that does not parse fails. The detail names the
    endpoint state (private-only, public-and-private, public-only) and the offending ranges.
    """
    max_prefix = params["max_prefix"]
    if isinstance(max_prefix, bool) or not isinstance(max_prefix, int) or not 0 <= max_prefix <= 32:
        raise ConfigError(
            f"parameters.eks_endpoint_public_access_restricted.max_prefix must be an integer "
            f"between 0 and 32, got {max_prefix!r}")
    rows = []
    for c in described_clusters(frames).itertuples(index=False):
        public = flag_value(c.endpoint_public_access) is not False  # NA: EKS default on
        cidrs = list(c.public_access_cidrs) or ["0.0.0.0/0"]
        state = endpoint_state(c.endpoint_public_access, c.endpoint_private_access, cidrs)
        problems = []
        if public:
            for cidr in cidrs:
                try:
                    net = ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    problems.append(f"{cidr} (not a CIDR)")
                    continue
                if net.prefixlen == 0:
                    problems.append(f"{cidr} (the whole internet)")
                elif net.version == 4 and net.prefixlen < max_prefix:
                    problems.append(f"{cidr} (wider than /{max_prefix})")
        detail = f"endpoint state: {state}"
        if problems:
            detail += "; offending publicAccessCidrs: " + ", ".join(problems)
        rows.append(result(c.kind, c.namespace, c.name, failed=bool(problems), detail=detail))
    return results(rows)
