/** Test helpers for every layer that needs a kvstore: a real etcd, the contract suite, watch recording. */
export { EtcdProcess, type EtcdProcessOptions, type EtcdProcessTls } from "./etcd-process.js";
export { WatchRecorder, waitFor, describeEvent } from "./watch-recorder.js";
