/**
 * The kvstore module's public face: one KvStore interface with an etcd and an in-memory
 * implementation, their typed errors, etcd client configuration, and the list-and-watch helper.
 * Test helpers (a real etcd process, the contract suite) live in ./testing/ and ./contract.ts.
 */
export type {
  Compare,
  CompareOp,
  CompareTarget,
  KeyValue,
  KvStore,
  Lease,
  ListResult,
  PutOptions,
  Txn,
  TxnOp,
  TxnResult,
  Value,
  Watch,
  WatchEvent,
  WatchHandlers,
  WatchOptions,
} from "./kvstore.js";
export { MAX_TXN_OPS } from "./kvstore.js";
export {
  KvError,
  UnreachableError,
  UnauthenticatedError,
  PermissionDeniedError,
  CompactedError,
  LeaseLostError,
  ClosedError,
  isKvError,
  type KvErrorCode,
} from "./errors.js";
export { MemoryStore } from "./memory-store.js";
export { EtcdStore, type EtcdStoreOptions } from "./etcd-store.js";
export { loadEtcdConfigFile, validateEtcdConfig, EtcdConfigError, type EtcdConfig } from "./etcd-config.js";
export { listAndWatch, ListWatcher, type ListWatchEvent, type ListWatchOptions, type ListWatchStats } from "./list-watch.js";
