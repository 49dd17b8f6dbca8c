/**
 * The global-services module's public face: what a cluster exports to the mesh (export), how
 * other clusters' backends join a local global service (merge), which backends take new
 * connections (affinity), the node's service table with stable frontend IDs and its datapath
 * specs (service-table, load-balancer-specs), and `service list` output (service-list-format).
 */
export { effectiveAffinity, selectBackends, type AffinityCandidate, type BackendSelection } from "./affinity.js";
export {
  applyExports,
  clusterServiceOf,
  desiredExports,
  type DesiredExports,
  type ExportProblem,
  type ExportWriter,
  type ExportingCluster,
} from "./export.js";
export { lbServiceSpec, lbSpecId, type LbBackendSpec, type LbServiceSpec } from "./load-balancer-specs.js";
export {
  joinLocalServices,
  serviceRef,
  servingBackends,
  viewLocalService,
  type LocalBackendInput,
  type LocalEndpointsInput,
  type LocalServiceState,
  type LocalServiceView,
  type ServingBackend,
} from "./local-service.js";
export { ServiceMergeError, ServiceMerger, type MergedBackend, type MergedPort, type MergedService, type ServiceMergerOptions } from "./merge.js";
export { FIRST_SERVICE_ID, MAX_SERVICE_ID, ServiceIdAllocator, ServiceIdError, type ServiceIdAllocatorOptions } from "./service-ids.js";
export {
  formatServiceList,
  formatServiceListJson,
  serviceModels,
  type BackendAddressModel,
  type FrontendAddressModel,
  type ServiceFlagsModel,
  type ServiceListOptions,
  type ServiceModel,
  type ServiceSpecModel,
} from "./service-list-format.js";
export {
  NODE_PORT_FRONTEND_IP,
  ServiceTable,
  type BackendState,
  type FrontendType,
  type ServiceFrontend,
  type ServicePortTable,
  type ServiceTableEntry,
  type ServiceTableOptions,
} from "./service-table.js";
