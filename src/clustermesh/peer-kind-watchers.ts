import { CompactedError } from "../kvstore/index.js";
import type { Logger } from "../log/logger.js";
import type { DecodeContext, DecodeResult } from "../state/index.js";
import { RecordWatcher, type RecordEvent } from "../state/watcher.js";
import { MESH_KINDS, decodeKind, sourceCanaryKeyOf, sourcePrefixOf, type MeshKind, type MeshRecords } from "./kinds.js";
import type { SessionStart } from "./peer-connection.js";
import type { RejectionCounter } from "./rejections.js";

export interface PeerKindWatchOptions<T> {
  /** The peer's name: its prefixes (and canaries) in its own state or in a KVStoreMesh cache. */
  readonly peer: string;
  /** Records refused as not the peer's own are counted here, and forgotten once accepted. */
  readonly rejected: RejectionCounter;
  /** What the consumer keeps of an accepted record: the decoded record, the raw bytes, or both. */
  readonly keep: (record: MeshRecords[MeshKind], raw: Buffer) => T;
  readonly onEvent: (kind: MeshKind, e: RecordEvent<T>) => void;
  readonly logger: Logger;
}

/**
 * One watcher per mesh kind over a session's store, as both consumers of a peer's state (the
 * agent's RemoteCluster and KVStoreMesh's Reflector) need them: every record is decoded as the
 * peer's (anything else is refused and counted), the peer's sync canaries are honoured when its
 * config says it writes them, and a watch error other than a compaction (which the list-watch
 * helper repairs by listing again) ends the session.
 */
export function watchPeerKinds<T>(start: SessionStart, o: PeerKindWatchOptions<T>): RecordWatcher<T>[] {
  const cached = start.config.capabilities.cached;
  const ctx: DecodeContext = { cluster: start.peer };
  const onError = (error: Error) => {
    if (!(error instanceof CompactedError)) start.fail(error);
  };
  const decode = (kind: MeshKind, key: string, value: Buffer): DecodeResult<T> => {
    const r = decodeKind(kind, key, value, ctx);
    if (!r.ok) {
      o.rejected.refuse(key, value, r.error);
      return r;
    }
    o.rejected.accept(key);
    return { ok: true, record: o.keep(r.record, value) };
  };
  return MESH_KINDS.map(
    (kind) =>
      new RecordWatcher<T>(start.store, {
        prefix: sourcePrefixOf(kind, o.peer, cached),
        decode: (key, value) => decode(kind, key, value),
        onEvent: (e) => o.onEvent(kind, e),
        canaryKey: start.config.capabilities.syncedCanaries ? sourceCanaryKeyOf(kind, o.peer, cached) : undefined,
        listWatch: { onError },
        logger: o.logger,
      }),
  );
}
