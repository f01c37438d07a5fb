import pandas as pd

from zt_toolkit.checks.helpers import is_true, results_per_row
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check
from zt_toolkit.frames.eks import described_clusters
from zt_toolkit.frames.network import endpoint_state


@check(
    id="eks_endpoint_private_access_enabled",
    pillar=Pillar.NETWORK,
    severity=Severity.HIGH,
    title="The EKS API server endpoint is reachable privately from inside the VPC",
    requires=("eks_cluster",),
    reason="endpointPrivateAccess is not enabled",
    remediation="aws eks update-cluster-config --name <cluster> "
    "--resources-vpc-config endpointPrivateAccess=true "
    "(then restrict or disable the public endpoint: endpointPublicAccess=false).",
    references=("CIS 5.4.2", "KS C-0228", "PW eks_cluster_private_nodes_enabled", "BPG network"),
)
def eks_endpoint_private_access_enabled(frames) -> pd.DataFrame:
    """Without the private endpoint, nodes reach the API server over its public endpoint.

    Control-plane traffic leaves the VPC, and the public endpoint can never be closed or
    narrowed without cutting the nodes off.

    ``endpointPrivateAccess`` unset counts as disabled. The detail names the endpoint state of
    the four possible (private-only, public-and-private open or restricted, public-only) and
    the public CIDRs, so that this finding reads together with
    eks_endpoint_public_access_restricted.
    """
    c = described_clusters(frames)
    detail = pd.Series([
        "endpoint state: " + endpoint_state(pub, priv, cidrs)
        for pub, priv, cidrs in zip(c.endpoint_public_access, c.endpoint_private_access,
                                    c.public_access_cidrs, strict=True)
    ], index=c.index)
    return results_per_row(c, ~is_true(c.endpoint_private_access), detail)
