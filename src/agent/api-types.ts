/**
 * The wire shapes of the agent's local API (docs/agent-api.md), declared once for the agent that
 * serves them, the CNI plugin and the CLI that call it, and the fakes tests put in its place.
 */

/** The body of POST /v1/ipam. */
export interface IpamRequest {
  /** "<containerID>/<ifName>"; the same owner always gets the same address back. */
  readonly owner: string;
}

/** The agent's answer to POST /v1/ipam. */
export interface IpamLease {
  readonly ip: string;
  readonly podCIDR: string;
  /** The node's router IP, the pod's gateway. */
  readonly gateway: string;
  readonly mtu: number;
}

/** The body of PUT /v1/endpoints/<containerId>. */
export interface EndpointRequest {
  readonly containerId: string;
  readonly ifName: string;
  readonly netns: string;
  readonly hostIfName: string;
  readonly ip: string;
  readonly podName: string;
  readonly podNamespace: string;
}

/**
 * A pod's network endpoint as the agent records it: the answer to PUT /v1/endpoints/<id>, and
 * what GET /v1/endpoints[/<id>] lists. The agent keeps these in its endpoints file too.
 */
export interface Endpoint extends EndpointRequest {
  readonly identity: number;
  /** Security labels, `source:key=value`. */
  readonly labels: readonly string[];
  readonly createdAt: string;
}
