import numpy as np
import pandas as pd

from zt_toolkit.analysis.rbac import (
    grants,
    grants_csr_approval,
    subject_results,
    subjects_holding_all,
    subjects_of,
)
from zt_toolkit.checks.model import Pillar, Severity
from zt_toolkit.checks.registry import check


@check(
    id="rbac_token_create_minimal",
    pillar=Pillar.IDENTITY,
    severity=Severity.MEDIUM,
    title="No subject outside the EKS baseline can mint service account tokens or approve CSRs",
    requires=("role_bindings", "subject_permissions"),
    reason="subject can mint credentials of other identities",
    remediation="Remove create on serviceaccounts/token, and update on "
    "certificatesigningrequests/approval with approve on signers, from the subject's roles. A "
    "component that needs a token of one service account gets create with resourceNames: "
    "[<sa>] in that namespace; CSRs are approved by the control plane or by a dedicated "
    "approver restricted to its own signer (resourceNames: [<example.com/signer>]).",
    references=("CIS 4.1.12", "KS C-0282", "KS C-0280",
                "PW rbac_minimize_service_account_token_creation",
                "PW rbac_minimize_csr_approval_access", "rbac-police token_request",
                "rbac-police approve_csrs"),
)
def rbac_token_create_minimal(frames) -> pd.DataFrame:
    """Minting a token or approving a certificate is becoming someone else.

    ``create`` on serviceaccounts/token (the TokenRequest API) returns a token of any service
    account of the namespace (every namespace when bound cluster-wide); a rule restricted to
    named service accounts counts (the detail names them). Approving a CertificateSigningRequest
    issues a client certificate for any user and group the request names, up to
    ``system:masters`` or a node's identity. The API server allows an approval to a subject
    holding both ``update`` (or ``patch``) on certificatesigningrequests/approval and
    ``approve`` on signers (certificates.k8s.io) for the request's signer; a subject is
    counted when it holds both cluster-wide, for any signer (named signers included), and
    neither half alone counts. Legacy token Secrets (create and get on secrets) are judged by
    rbac_secret_read_minimal.
    """
    perms = frames.subject_permissions
    token = grants(perms, "create", "serviceaccounts/token", any_name=True)
    approval, signers = grants_csr_approval(perms)
    csr = subjects_holding_all(perms, approval, signers)
    note = pd.Series(np.select(
        [token, csr & approval & signers, csr & approval, csr],
        [" [serviceaccounts/token create]", " [CSR approval and signer approve]",
         " [CSR approval]", " [signer approve]"], default=""), index=perms.index)
    return subject_results(subjects_of(frames.role_bindings), perms, token | csr,
                           "can mint tokens or approve certificates", note=note)
