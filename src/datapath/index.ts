/**
 * The datapath layer's public face: the model and interface, the Linux implementation, the
 * recording fake for tests of the layers above, and the addressing every node derives for its
 * peers.
 */
export type {
  AddressObject,
  Datapath,
  DatapathMode,
  DatapathObject,
  DatapathObjectKind,
  DatapathProblem,
  DesiredNodeState,
  FdbObject,
  KindCounts,
  LinkObject,
  LocalEndpoint,
  LocalNode,
  NeighObject,
  ObjectUpdate,
  PeerNode,
  ReconcileReport,
  RouteObject,
  SysctlObject,
  TeardownReport,
} from "./types.js";
export { DatapathCommandError, DatapathEnvironmentError, DatapathError, DatapathInputError } from "./errors.js";
export { routerIP, tunnelMac } from "./node-addressing.js";
export { VXLAN_OVERHEAD, podMtu } from "./mtu.js";
export { describeObject } from "./objects.js";
export { formatReport, reportChanged } from "./report.js";
export { desiredStateIssues, isValidInterfaceName, validateDesiredState } from "./validate.js";
export { LinuxDatapath, type LinuxDatapathOptions } from "./linux/linux-datapath.js";
export { TRELLIS_ROUTE_PROTOCOL, TUNNEL_DEVICE, TUNNEL_PORT, TUNNEL_VNI } from "./linux/ownership.js";
export { FakeKernel, RecordingDatapath, type DatapathCall, type RecordingDatapathOptions } from "./fake/recording-datapath.js";
