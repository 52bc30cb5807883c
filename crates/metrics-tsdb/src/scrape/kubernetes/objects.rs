//! The parts of Kubernetes API objects that discovery reads, in their JSON shape
//! (`k8s.io/api` field names). Unknown fields are ignored so any server version parses.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `metav1.ObjectMeta` (the fields discovery uses).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    pub name: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Unique id.
    pub uid: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Owners; the one with `controller: true` is the pod's controller.
    pub owner_references: Vec<OwnerReference>,
}

/// `metav1.OwnerReference`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OwnerReference {
    /// Kind of the owner (`ReplicaSet`, `DaemonSet`, ...).
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// Whether this owner is the managing controller.
    pub controller: Option<bool>,
}

/// `metav1.ListMeta`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListMeta {
    /// Version to start a watch from.
    pub resource_version: String,
    /// Token of the next page.
    #[serde(rename = "continue")]
    pub continue_token: String,
}

/// Any `*List` answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct ObjectList<T> {
    /// Paging and version.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The objects (`null` for none).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<T>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `v1.Pod`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Pod {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: PodSpec,
    /// Status.
    pub status: PodStatus,
}

/// `v1.PodSpec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec {
    /// Node the pod runs on.
    pub node_name: String,
    /// Containers.
    pub containers: Vec<Container>,
    /// Init containers.
    pub init_containers: Vec<Container>,
}

/// `v1.Container`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    /// Name.
    pub name: String,
    /// Image.
    pub image: String,
    /// Declared ports.
    pub ports: Vec<ContainerPort>,
}

/// `v1.ContainerPort`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerPort {
    /// Port name.
    pub name: String,
    /// Port number.
    pub container_port: i32,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
}

/// `v1.PodStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodStatus {
    /// Phase (`Running`, ...).
    pub phase: String,
    /// Pod IP (empty while starting).
    #[serde(rename = "podIP")]
    pub pod_ip: String,
    /// Node IP.
    #[serde(rename = "hostIP")]
    pub host_ip: String,
    /// Every pod IP (dual stack).
    #[serde(rename = "podIPs")]
    pub pod_ips: Vec<PodIp>,
    /// Conditions (`Ready`).
    pub conditions: Vec<Condition>,
    /// Container statuses.
    pub container_statuses: Vec<ContainerStatus>,
    /// Init container statuses.
    pub init_container_statuses: Vec<ContainerStatus>,
}

/// `v1.PodIP`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PodIp {
    /// The address.
    pub ip: String,
}

/// `v1.PodCondition`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Condition {
    /// Condition type.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
}

/// `v1.ContainerStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContainerStatus {
    /// Container name.
    pub name: String,
    /// Runtime id (`containerd://...`).
    #[serde(rename = "containerID")]
    pub container_id: String,
}

/// `v1.Node`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Node {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: NodeSpec,
    /// Status.
    pub status: NodeStatus,
}

/// `v1.NodeSpec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeSpec {
    /// Cloud provider id.
    #[serde(rename = "providerID")]
    pub provider_id: String,
}

/// `v1.NodeStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeStatus {
    /// Addresses by type.
    pub addresses: Vec<NodeAddress>,
    /// Kubelet endpoint.
    pub daemon_endpoints: DaemonEndpoints,
}

/// `v1.NodeAddress`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NodeAddress {
    /// `InternalIP`, `ExternalIP`, `Hostname`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The address.
    pub address: String,
}

/// `v1.NodeDaemonEndpoints`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DaemonEndpoints {
    /// The kubelet's endpoint.
    pub kubelet_endpoint: DaemonEndpoint,
}

/// `v1.DaemonEndpoint` (its field is capitalised on the wire).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DaemonEndpoint {
    /// Port.
    #[serde(rename = "Port")]
    pub port: i32,
}

/// `v1.Service`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: ServiceSpec,
}

/// `v1.ServiceSpec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Ports.
    pub ports: Vec<ServicePort>,
    /// Cluster IP.
    #[serde(rename = "clusterIP")]
    pub cluster_ip: String,
    /// `ClusterIP`, `NodePort`, `LoadBalancer`, `ExternalName`.
    #[serde(rename = "type")]
    pub kind: String,
    /// DNS name of an `ExternalName` service.
    pub external_name: String,
    /// Requested load-balancer IP.
    #[serde(rename = "loadBalancerIP")]
    pub load_balancer_ip: String,
}

/// `v1.ServicePort`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServicePort {
    /// Port name.
    pub name: String,
    /// Port number.
    pub port: i32,
    /// Protocol.
    pub protocol: String,
}

/// `v1.Endpoints`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Endpoints {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Address/port sets.
    pub subsets: Vec<EndpointSubset>,
}

/// `v1.EndpointSubset`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointSubset {
    /// Ready addresses.
    pub addresses: Vec<EndpointAddress>,
    /// Not-ready addresses.
    pub not_ready_addresses: Vec<EndpointAddress>,
    /// Ports.
    pub ports: Vec<EndpointPort>,
}

/// `v1.EndpointAddress`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointAddress {
    /// IP.
    pub ip: String,
    /// Hostname.
    pub hostname: String,
    /// Node hosting the endpoint.
    pub node_name: Option<String>,
    /// Object behind the address.
    pub target_ref: Option<ObjectReference>,
}

/// `v1.ObjectReference`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ObjectReference {
    /// Kind (`Pod`, `Node`).
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
}

/// `v1.EndpointPort` and `discovery/v1.EndpointPort`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointPort {
    /// Port name.
    pub name: Option<String>,
    /// Port number.
    pub port: Option<i32>,
    /// Protocol.
    pub protocol: Option<String>,
    /// Application protocol.
    pub app_protocol: Option<String>,
}

/// `discovery/v1.EndpointSlice`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EndpointSlice {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// `IPv4`, `IPv6` or `FQDN`.
    pub address_type: String,
    /// Endpoints.
    pub endpoints: Vec<SliceEndpoint>,
    /// Ports.
    pub ports: Vec<EndpointPort>,
}

/// `discovery/v1.Endpoint`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SliceEndpoint {
    /// Addresses.
    pub addresses: Vec<String>,
    /// Conditions.
    pub conditions: SliceConditions,
    /// Hostname.
    pub hostname: Option<String>,
    /// Object behind the endpoint.
    pub target_ref: Option<ObjectReference>,
    /// Node hosting the endpoint.
    pub node_name: Option<String>,
    /// Zone.
    pub zone: Option<String>,
    /// Topology labels (deprecated).
    pub deprecated_topology: BTreeMap<String, String>,
}

/// `discovery/v1.EndpointConditions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SliceConditions {
    /// Ready.
    pub ready: Option<bool>,
    /// Serving.
    pub serving: Option<bool>,
    /// Terminating.
    pub terminating: Option<bool>,
}

/// `networking/v1.Ingress`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Ingress {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: IngressSpec,
}

/// `networking/v1.IngressSpec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IngressSpec {
    /// Ingress class.
    pub ingress_class_name: Option<String>,
    /// TLS hosts.
    pub tls: Vec<IngressTls>,
    /// Rules.
    pub rules: Vec<IngressRule>,
}

/// `networking/v1.IngressTLS`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressTls {
    /// Hosts served with TLS.
    pub hosts: Vec<String>,
}

/// `networking/v1.IngressRule`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressRule {
    /// Host.
    pub host: String,
    /// HTTP paths.
    pub http: Option<IngressHttp>,
}

/// `networking/v1.HTTPIngressRuleValue`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressHttp {
    /// Paths.
    pub paths: Vec<IngressPath>,
}

/// `networking/v1.HTTPIngressPath`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressPath {
    /// Path.
    pub path: String,
}

/// `v1.Namespace` (for `attach_metadata.namespace`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Namespace {
    /// Metadata.
    pub metadata: ObjectMeta,
}
