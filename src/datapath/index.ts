/**
 * The datapath layer's public face: the model and interface, the Linux implementation, the
 * recording fake for tests of the layers above, the addressing every node derives for its
 * peers, and the rules of the service model.
 */
export type {
  AddressObject,
  Datapath,
  DatapathMode,
  DatapathObject,
  DatapathObjectKind,
  DatapathProblem,
  DesiredNodeState,
  EndpointPolicyRules,
  FdbObject,
  FrontendType,
  KindCounts,
  LbFrontendObject,
  LbHairpinObject,
  LbObject,
  LbSelectorObject,
  LbTableObject,
  LinkObject,
  LocalEndpoint,
  LocalNode,
  NeighObject,
  NodePolicyState,
  ObjectUpdate,
  PeerNode,
  PolicyDirectionRules,
  PolicyReconcileReport,
  ReconcileReport,
  RouteObject,
  ServiceBackend,
  ServiceProtocol,
  ServiceSpec,
  SysctlObject,
  TeardownReport,
} from "./types.js";
export { DatapathCommandError, DatapathEnvironmentError, DatapathError, DatapathInputError } from "./errors.js";
export { routerIP, tunnelMac } from "./node-addressing.js";
export { VXLAN_OVERHEAD, podMtu } from "./mtu.js";
export { describeObject } from "./objects.js";
export { formatReport, reportChanged } from "./report.js";
export { desiredStateIssues, isValidInterfaceName, policyStateIssues, validateDesiredState, validatePolicyState } from "./validate.js";
export { NODE_PORT_MAX, NODE_PORT_MIN, SERVICE_ID, serviceIssues } from "./services.js";
export { DEFAULT_SERVICE_RESYNC_MS, LinuxDatapath, type LinuxDatapathOptions } from "./linux/linux-datapath.js";
export { LB_TABLE, LB_TABLE_FAMILY, MASQUERADE_MARK } from "./linux/nftables/layout.js";
export { DEFAULT_POLICY_RESYNC_MS } from "./linux/nftables/policy-table.js";
export { POLICY_TABLE, POLICY_TABLE_FAMILY } from "./linux/nftables/policy-layout.js";
export { TRELLIS_ROUTE_PROTOCOL, TUNNEL_DEVICE, TUNNEL_PORT, TUNNEL_VNI } from "./linux/ownership.js";
export { FakeKernel, RecordingDatapath, type DatapathCall, type RecordingDatapathOptions } from "./fake/recording-datapath.js";
