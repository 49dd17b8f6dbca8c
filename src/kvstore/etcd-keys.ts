import type { KeyValue } from "./kvstore.js";

/** A key-value as etcd3's gRPC layer hands it over (int64 fields as decimal strings). */
export interface EtcdKv {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}

export function fromEtcdKv(kv: EtcdKv): KeyValue {
  const out: { -readonly [K in keyof KeyValue]: KeyValue[K] } = {
    key: kv.key.toString("utf8"),
    value: kv.value,
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
  if (kv.lease && kv.lease !== "0") out.leaseId = kv.lease;
  return out;
}

/**
 * etcd's range for "every key starting with prefix": [prefix, prefix with its last byte below 0xff
 * incremented). The empty prefix is the whole keyspace, written ["\0", "\0").
 */
export function prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  if (prefix === "") return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
  const key = Buffer.from(prefix, "utf8");
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return { key, rangeEnd: end.subarray(0, i + 1) };
    }
  }
  return { key, rangeEnd: Buffer.from([0]) };
}
