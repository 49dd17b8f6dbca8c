/**
 * Who may read and write a cluster's etcd once it joins a mesh: `clustermesh enable` creates the
 * certificate-only etcd users `root`, `admin-<cluster>`, `local-<cluster>` and `remote` with their
 * roles and turns etcd auth on; `disable` takes the mesh users away again; `status` describes it.
 */
export {
  enableMeshAccess,
  disableMeshAccess,
  describeMeshAccess,
  type MeshAccessTarget,
  type MeshAccessOptions,
  type DisableMeshAccessOptions,
  type MeshAccessResult,
  type MeshAccessStatus,
} from "./etcd-rbac.js";
export { describeChange, type AccessChange } from "./access-plan.js";
export {
  meshAccessPolicy,
  adminUser,
  localUser,
  MeshAccessError,
  ROOT_USER,
  REMOTE_USER,
  ADMIN_ROLE,
  LOCAL_ROLE,
  REMOTE_ROLE,
  type MeshAccessPolicy,
  type MeshRole,
  type MeshUser,
} from "./mesh-access-policy.js";
export { formatPermission, formatRange, type Access, type KeyPermission, type KeyRange } from "./key-range.js";
