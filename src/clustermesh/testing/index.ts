/** Test helpers for layers that consume the mesh: a remote cluster's state written as it would be, and a recording consumer. */
export {
  StateRecorder,
  endpointEntry,
  identityEntry,
  identityOf,
  nodeEntry,
  publishCanaries,
  publishCluster,
  publishClusterConfig,
  serviceEntry,
  type FakeCluster,
} from "./remote-state.js";
