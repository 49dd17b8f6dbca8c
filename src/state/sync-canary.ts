import { checkClusterName, checkSameCluster } from "./cluster-checks.js";
import { reject, type Where } from "./go-json.js";
import { CACHE_PREFIX, STATE_PREFIX, parseKey, syncCanaryKey } from "./keys.js";
import { RecordError, describeValue, runDecoder, valueText, type DecodeContext, type DecodeResult } from "./record-error.js";
import { formatRfc3339, parseRfc3339 } from "./rfc3339.js";

/**
 * Sync canaries: cilium/synced/<cluster>/<prefix> appears once <cluster> has written everything
 * under <prefix> (e.g. cilium/state/nodes/v1), so a reader knows its initial list is complete and
 * stale entries may be dropped. KVStoreMesh writes the same for its copies, with the cache prefix
 * (cilium/synced/<cluster>/cilium/cache/nodes/v1). The value is the time of writing, in Go's
 * time.RFC3339 form; readers only care that the key exists, but a value in another form means
 * the writer is not speaking this protocol.
 */

export interface SyncCanaryRecord {
  readonly cluster: string;
  /** The prefix that is complete, e.g. "cilium/state/nodes/v1". */
  readonly prefix: string;
  readonly syncedAt: Date;
}

const WHAT = "sync canary";

export function decodeSyncCanary(key: string, value: Buffer | Uint8Array | string, ctx?: DecodeContext): DecodeResult<SyncCanaryRecord> {
  return runDecoder(key, WHAT, () => {
    const where: Where = { key, what: WHAT };
    const parsed = parseKey(key);
    if (parsed?.type !== "sync-canary") reject(where, "invalid-key", undefined, "the key is not a sync canary key (cilium/synced/<cluster>/<prefix>)");
    checkClusterName(where, parsed.cluster, undefined, "the key's cluster name");
    checkSameCluster(where, ctx?.cluster, parsed.cluster, undefined);
    if (!parsed.prefix.startsWith(`${STATE_PREFIX}/`) && !parsed.prefix.startsWith(`${CACHE_PREFIX}/`)) {
      reject(where, "invalid-key", undefined, `the canary's prefix ${describeValue(parsed.prefix)} is not under ${STATE_PREFIX}/ or ${CACHE_PREFIX}/`);
    }
    const text = valueText(key, WHAT, value);
    const syncedAt = parseRfc3339(text);
    if (syncedAt === undefined) reject(where, "invalid-value", undefined, `the value must be an RFC 3339 time such as 2025-01-02T15:04:05Z (got ${describeValue(text)})`);
    return { cluster: parsed.cluster, prefix: parsed.prefix, syncedAt };
  });
}

/** The value Cilium writes: the time, RFC 3339, UTC. */
export function encodeSyncCanary(canary: Pick<SyncCanaryRecord, "syncedAt">): string {
  if (!(canary.syncedAt instanceof Date) || Number.isNaN(canary.syncedAt.getTime())) {
    throw new RecordError("invalid-value", "cilium/synced/", "syncedAt", `${WHAT}: syncedAt must be a valid Date (got ${describeValue(canary.syncedAt)})`);
  }
  return formatRfc3339(canary.syncedAt);
}

/** Key and value of the canary `cluster` writes for `prefix` at `at`. */
export function syncCanaryEntry(cluster: string, prefix: string, at: Date): { readonly key: string; readonly value: string } {
  return { key: syncCanaryKey(cluster, prefix), value: encodeSyncCanary({ syncedAt: at }) };
}
