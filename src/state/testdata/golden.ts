/**
 * Golden kvstore values in Cilium's exact shapes (field names, order, null/"" conventions, base64
 * masks), with Trellis lab values: nodes 198.18.<c>.<10+n>, pods 100.<64+c>.<n>.0/24, VIPs
 * 198.19.<c>.0/24. Canonical ones must survive decode -> encode byte for byte. Kept as a module
 * rather than .json files so that they travel with the compiled tests.
 */

export interface Golden {
  readonly key: string;
  readonly value: string;
}

export const NODE_V4: Golden = {
  key: "cilium/state/nodes/v1/c1/node-1",
  value:
    '{"Name":"node-1","Cluster":"c1","IPAddresses":[{"Type":"InternalIP","IP":"198.18.1.11"},{"Type":"CiliumInternalIP","IP":"100.65.1.1"}],' +
    '"IPv4AllocCIDR":{"IP":"100.65.1.0","Mask":"////AA=="},"IPv4SecondaryAllocCIDRs":null,"IPv6AllocCIDR":null,"IPv6SecondaryAllocCIDRs":null,' +
    '"IPv4HealthIP":"100.65.1.2","IPv6HealthIP":"","IPv4IngressIP":"","IPv6IngressIP":"","ClusterID":1,"Source":"local","EncryptionKey":0,' +
    '"Labels":{"kubernetes.io/arch":"amd64","kubernetes.io/hostname":"node-1","topology.kubernetes.io/zone":"lab-a"},"Annotations":null,' +
    '"NodeIdentity":0,"WireguardPubKey":"","BootID":"4c3b0f2e-5d1a-4f8e-9b7c-2a6d8e1f0c3b"}',
};

export const NODE_DUAL_STACK: Golden = {
  key: "cilium/state/nodes/v1/c2/node-3",
  value:
    '{"Name":"node-3","Cluster":"c2","IPAddresses":[{"Type":"InternalIP","IP":"198.18.2.13"},{"Type":"InternalIP","IP":"fd00:18:2::13"},' +
    '{"Type":"CiliumInternalIP","IP":"100.66.3.1"},{"Type":"CiliumInternalIP","IP":"fd00:66:3::1"}],' +
    '"IPv4AllocCIDR":{"IP":"100.66.3.0","Mask":"////AA=="},"IPv4SecondaryAllocCIDRs":[{"IP":"100.66.203.0","Mask":"////gA=="}],' +
    '"IPv6AllocCIDR":{"IP":"fd00:66:3::","Mask":"//////////8AAAAAAAAAAA=="},"IPv6SecondaryAllocCIDRs":null,' +
    '"IPv4HealthIP":"100.66.3.2","IPv6HealthIP":"fd00:66:3::2","IPv4IngressIP":"100.66.3.3","IPv6IngressIP":"","ClusterID":2,"Source":"local",' +
    '"EncryptionKey":3,"Labels":{"kubernetes.io/hostname":"node-3"},"Annotations":{"network.cilium.io/wg-pub-key":"x \\u003c\\u003e \\u0026"},' +
    '"NodeIdentity":6,"WireguardPubKey":"gB2h1nQf4xW0ZlXo0x7aYbq2VxJtX4uC2R9nV0t3aEY=","BootID":""}',
};

/**
 * What a Cilium 1.14 agent writes: no Annotations or BootID, and the newest releases' string
 * form of a CIDR; both decode, but encoding yields today's shape, so it is not canonical.
 */
export const NODE_OLDER_RELEASE: Golden = {
  key: "cilium/state/nodes/v1/c1/node-2",
  value:
    '{"Name":"node-2","Cluster":"c1","IPAddresses":[{"Type":"InternalIP","IP":"198.18.1.12"}],"IPv4AllocCIDR":"100.65.2.0/24",' +
    '"IPv6AllocCIDR":null,"IPv4HealthIP":"100.65.2.2","IPv6HealthIP":"","ClusterID":1,"Source":"custom-resource","EncryptionKey":0,' +
    '"Labels":null,"NodeIdentity":0,"WireguardPubKey":""}',
};

export const IPCACHE_POD: Golden = {
  key: "cilium/state/ip/v1/default/100.65.1.7",
  value:
    '{"IP":"100.65.1.7","Mask":null,"HostIP":"198.18.1.11","ID":65541,"Key":0,"Metadata":"cilium-global:default:node-1:2087",' +
    '"K8sNamespace":"default","K8sPodName":"web-7d9f8b6c5-x2k4p","NamedPorts":[{"Name":"http","Port":8080,"Protocol":"TCP"},{"Name":"metrics","Port":9090,"Protocol":"TCP"}]}',
};

/** A node's own address, published with the host identity (1); peers read it as remote-node. */
export const IPCACHE_NODE: Golden = {
  key: "cilium/state/ip/v1/default/100.65.1.1",
  value: '{"IP":"100.65.1.1","Mask":null,"HostIP":"198.18.1.11","ID":1,"Key":0,"Metadata":"cilium-global:default:node-1:0"}',
};

export const IPCACHE_CIDR: Golden = {
  key: "cilium/state/ip/v1/default/100.65.0.0/16",
  value: '{"IP":"100.65.0.0","Mask":"//8AAA==","HostIP":"","ID":65600,"Key":0,"Metadata":""}',
};

export const IPCACHE_V6: Golden = {
  key: "cilium/state/ip/v1/default/fd00:65:1::7",
  value:
    '{"IP":"fd00:65:1::7","Mask":null,"HostIP":"fd00:18:1::11","ID":65541,"Key":2,"Metadata":"cilium-global:default:node-1:2087",' +
    '"K8sNamespace":"default","K8sPodName":"web-0","K8sServiceAccount":"web"}',
};

/** Go matches JSON field names case-insensitively; Cilium's own tests use such values. */
export const IPCACHE_LOWER_CASE_FIELDS: Golden = {
  key: "cilium/state/ip/v1/default/100.65.1.9",
  value: '{"ip":"100.65.1.9","mask":null,"hostIP":"198.18.1.11","id":65542,"key":0,"metadata":"m"}',
};

export const IDENTITY: Golden = {
  key: "cilium/state/identities/v1/id/65541",
  value:
    "k8s:app=web;k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=default;k8s:io.cilium.k8s.policy.cluster=c1;" +
    "k8s:io.cilium.k8s.policy.serviceaccount=default;k8s:io.kubernetes.pod.namespace=default;",
};

export const CACHED_IDENTITY: Golden = {
  key: "cilium/cache/identities/v1/c2/id/131080",
  value: "k8s:app=db;k8s:io.cilium.k8s.policy.cluster=c2;k8s:io.kubernetes.pod.namespace=prod;",
};

export const CLUSTER_SERVICE: Golden = {
  key: "cilium/state/services/v1/c1/default/web",
  value:
    '{"cluster":"c1","namespace":"default","name":"web","frontends":{"198.19.1.10":{"http":{"Protocol":"TCP","Port":80},"https":{"Protocol":"TCP","Port":443}}},' +
    '"backends":{"100.65.1.7":{"http":{"Protocol":"TCP","Port":8080},"https":{"Protocol":"TCP","Port":8443}},"100.65.2.9":{"http":{"Protocol":"TCP","Port":8080},"https":{"Protocol":"TCP","Port":8443}}},' +
    '"hostnames":{"100.65.1.7":"web-0"},"zones":{"100.65.1.7":{"zone":"lab-a","forZones":[{"name":"lab-a"}]}},' +
    '"labels":{"app":"web"},"selector":{"app":"web"},"includeExternal":true,"shared":true,"clusterID":1}',
};

/** A service with one unnamed port and no backends yet, as an older release writes it. */
export const CLUSTER_SERVICE_MINIMAL: Golden = {
  key: "cilium/state/services/v1/c2/kube-system/dns",
  value:
    '{"cluster":"c2","namespace":"kube-system","name":"dns","frontends":{"198.19.2.53":{"":{"Protocol":"UDP","Port":53}}},"backends":{},' +
    '"labels":{},"selector":{"k8s-app":"kube-dns"},"includeExternal":false,"shared":true,"clusterID":2}',
};

export const CLUSTER_CONFIG: Golden = {
  key: "cilium/cluster-config/c1",
  value: '{"id":1,"capabilities":{"syncedCanaries":true,"maxConnectedClusters":255}}',
};

export const CLUSTER_CONFIG_CACHED_511: Golden = {
  key: "cilium/cluster-config/c300",
  value: '{"id":300,"capabilities":{"syncedCanaries":true,"cached":true,"maxConnectedClusters":511,"serviceExportsEnabled":false}}',
};

export const SYNC_CANARY: Golden = {
  key: "cilium/synced/c1/cilium/state/nodes/v1",
  value: "2025-03-14T09:26:53Z",
};

export const HEARTBEAT: Golden = {
  key: "cilium/.heartbeat",
  value: "2025-03-14T09:27:00Z",
};

/** Goldens that decode -> encode reproduces byte for byte. */
export const CANONICAL = {
  node: [NODE_V4, NODE_DUAL_STACK],
  ipcache: [IPCACHE_POD, IPCACHE_NODE, IPCACHE_CIDR, IPCACHE_V6],
  identity: [IDENTITY, CACHED_IDENTITY],
  clusterService: [CLUSTER_SERVICE, CLUSTER_SERVICE_MINIMAL],
  clusterConfig: [CLUSTER_CONFIG, CLUSTER_CONFIG_CACHED_511],
  syncCanary: [SYNC_CANARY],
  heartbeat: [HEARTBEAT],
} as const;
