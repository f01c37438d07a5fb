"""What a snapshot holds: the Kubernetes resources and AWS operations the checks read.

One list, shared by live collection, the demo generator, the manifest importer and the frames,
so that the four agree on file names and coverage keys.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KubeResource:
    """A Kubernetes resource as stored in ``k8s/<key>.json``."""

    key: str  # plural resource, ``.group`` appended for non-core groups: ``deployments.apps``
    kind: str
    api_version: str
    namespaced: bool = True
    optional: bool = False  # a CRD: absent from most clusters, not_found is normal

    @property
    def group(self) -> str:
        """API group ("" for core)."""
        return self.api_version.rpartition("/")[0]

    @property
    def list_kind(self) -> str:
        """Kind of the List object the API returns."""
        return f"{self.kind}List"


def _r(key: str, kind: str, api_version: str, namespaced: bool = True, optional: bool = False):
    return KubeResource(key, kind, api_version, namespaced, optional)


KUBE_RESOURCES: tuple[KubeResource, ...] = (
    _r("namespaces", "Namespace", "v1", namespaced=False),
    _r("nodes", "Node", "v1", namespaced=False),
    _r("pods", "Pod", "v1"),
    _r("serviceaccounts", "ServiceAccount", "v1"),
    _r("services", "Service", "v1"),
    _r("configmaps", "ConfigMap", "v1"),
    # metadata only (PartialObjectMetadataList): no secret value ever crosses the wire
    _r("secrets", "Secret", "v1"),
    _r("persistentvolumes", "PersistentVolume", "v1", namespaced=False),
    _r("deployments.apps", "Deployment", "apps/v1"),
    _r("replicasets.apps", "ReplicaSet", "apps/v1"),
    _r("statefulsets.apps", "StatefulSet", "apps/v1"),
    _r("daemonsets.apps", "DaemonSet", "apps/v1"),
    _r("jobs.batch", "Job", "batch/v1"),
    _r("cronjobs.batch", "CronJob", "batch/v1"),
    _r("networkpolicies.networking.k8s.io", "NetworkPolicy", "networking.k8s.io/v1"),
    _r("ingresses.networking.k8s.io", "Ingress", "networking.k8s.io/v1"),
    _r("roles.rbac.authorization.k8s.io", "Role", "rbac.authorization.k8s.io/v1"),
    _r("rolebindings.rbac.authorization.k8s.io", "RoleBinding", "rbac.authorization.k8s.io/v1"),
    _r("clusterroles.rbac.authorization.k8s.io", "ClusterRole", "rbac.authorization.k8s.io/v1",
       namespaced=False),
    _r("clusterrolebindings.rbac.authorization.k8s.io", "ClusterRoleBinding",
       "rbac.authorization.k8s.io/v1", namespaced=False),
    _r("storageclasses.storage.k8s.io", "StorageClass", "storage.k8s.io/v1", namespaced=False),
    _r("validatingwebhookconfigurations.admissionregistration.k8s.io",
       "ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1", namespaced=False),
    _r("mutatingwebhookconfigurations.admissionregistration.k8s.io",
       "MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1", namespaced=False),
    _r("validatingadmissionpolicies.admissionregistration.k8s.io", "ValidatingAdmissionPolicy",
       "admissionregistration.k8s.io/v1", namespaced=False),
    _r("validatingadmissionpolicybindings.admissionregistration.k8s.io",
       "ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io/v1", namespaced=False),
    _r("customresourcedefinitions.apiextensions.k8s.io", "CustomResourceDefinition",
       "apiextensions.k8s.io/v1", namespaced=False),
    # CRDs the checks read; absent on most clusters
    _r("clusterpolicies.kyverno.io", "ClusterPolicy", "kyverno.io/v1", namespaced=False,
       optional=True),
    _r("policies.kyverno.io", "Policy", "kyverno.io/v1", optional=True),
    _r("constrainttemplates.templates.gatekeeper.sh", "ConstraintTemplate",
       "templates.gatekeeper.sh/v1", namespaced=False, optional=True),
    _r("secretproviderclasses.secrets-store.csi.x-k8s.io", "SecretProviderClass",
       "secrets-store.csi.x-k8s.io/v1", optional=True),
    _r("externalsecrets.external-secrets.io", "ExternalSecret", "external-secrets.io/v1beta1",
       optional=True),
    _r("clustersecretstores.external-secrets.io", "ClusterSecretStore",
       "external-secrets.io/v1beta1", namespaced=False, optional=True),
    _r("securitygrouppolicies.vpcresources.k8s.aws", "SecurityGroupPolicy",
       "vpcresources.k8s.aws/v1beta1", optional=True),
    _r("policyendpoints.networking.k8s.aws", "PolicyEndpoint", "networking.k8s.aws/v1alpha1",
       optional=True),
    _r("ciliumnetworkpolicies.cilium.io", "CiliumNetworkPolicy", "cilium.io/v2", optional=True),
    _r("networkpolicies.crd.projectcalico.org", "NetworkPolicy", "crd.projectcalico.org/v1",
       optional=True),
)

KUBE_BY_KEY = {r.key: r for r in KUBE_RESOURCES}
KUBE_BY_KIND = {(r.group, r.kind): r for r in KUBE_RESOURCES}

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True)
class AwsOperation:
    """An AWS API call recorded in ``aws/<service>/<operation>.json``."""

    service: str
    operation: str  # boto3 method name
    params: str  # which request parameters each record carries
    note: str = ""

    @property
    def key(self) -> str:
        """Coverage key."""
        return f"aws/{self.service}/{self.operation}"


AWS_OPERATIONS: tuple[AwsOperation, ...] = (
    AwsOperation("sts", "get_caller_identity", "{}"),
    AwsOperation("eks", "describe_cluster", "{name}"),
    AwsOperation("eks", "list_nodegroups", "{clusterName}"),
    AwsOperation("eks", "describe_nodegroup", "{clusterName, nodegroupName}"),
    AwsOperation("eks", "list_addons", "{clusterName}"),
    AwsOperation("eks", "describe_addon", "{clusterName, addonName}"),
    AwsOperation("eks", "list_access_entries", "{clusterName}"),
    AwsOperation("eks", "describe_access_entry", "{clusterName, principalArn}"),
    AwsOperation("eks", "list_associated_access_policies", "{clusterName, principalArn}"),
    AwsOperation("eks", "list_pod_identity_associations", "{clusterName}"),
    AwsOperation("eks", "describe_pod_identity_association", "{clusterName, associationId}"),
    AwsOperation("iam", "get_role", "{RoleName}", "node roles and every role a pod can assume"),
    AwsOperation("iam", "list_attached_role_policies", "{RoleName}"),
    AwsOperation("iam", "list_role_policies", "{RoleName}"),
    AwsOperation("iam", "get_role_policy", "{RoleName, PolicyName}"),
    AwsOperation("iam", "get_policy", "{PolicyArn}"),
    AwsOperation("iam", "get_policy_version", "{PolicyArn, VersionId}"),
    AwsOperation("ec2", "describe_security_groups", "{GroupIds}"),
    AwsOperation("ec2", "describe_flow_logs", "{Filter: [{Name: resource-id, Values: [vpc]}]}"),
    AwsOperation("ec2", "describe_instances", "{Filters: tag:aws:eks:cluster-name}"),
    AwsOperation("ec2", "describe_launch_template_versions", "{LaunchTemplateId, Versions}"),
    AwsOperation("ecr", "get_registry_scanning_configuration", "{}"),
    AwsOperation("ecr", "describe_repositories", "{}"),
    AwsOperation("ecr", "get_repository_policy", "{repositoryName}",
                 "error RepositoryPolicyNotFoundException = no policy"),
    AwsOperation("ecr", "describe_image_scan_findings", "{repositoryName, imageId: {imageDigest}}",
                 "error ScanNotFoundException = never scanned"),
    AwsOperation("inspector2", "list_findings",
                 "{filterCriteria: {resourceType: AWS_ECR_CONTAINER_IMAGE, findingStatus: ACTIVE}}",
                 "one record, all pages merged; Inspector not enabled = not_found"),
    AwsOperation("kms", "describe_key", "{KeyId}"),
    AwsOperation("kms", "get_key_rotation_status", "{KeyId}"),
    AwsOperation("secretsmanager", "list_secrets", "{}"),
    AwsOperation("logs", "describe_log_groups", "{logGroupNamePrefix}"),
    AwsOperation("logs", "start_query", "{logGroupName, startTime, endTime, queryString}"),
    AwsOperation("logs", "get_query_results", "{queryId}"),
    AwsOperation("guardduty", "list_detectors", "{}"),
    AwsOperation("guardduty", "get_detector", "{DetectorId}"),
    AwsOperation("cloudtrail", "describe_trails", "{}"),
    AwsOperation("cloudtrail", "get_trail_status", "{Name}"),
)

AWS_BY_KEY = {op.key: op for op in AWS_OPERATIONS}
