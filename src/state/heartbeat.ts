import { reject, type Where } from "./go-json.js";
import { HEARTBEAT_KEY } from "./keys.js";
import { RecordError, describeValue, runDecoder, valueText, type DecodeResult } from "./record-error.js";
import { formatRfc3339, parseRfc3339 } from "./rfc3339.js";

/**
 * The heartbeat: the operator rewrites cilium/.heartbeat every minute with the current time
 * (Go's time.RFC3339), under a lease. Readers judge liveness by when they last saw it change, not
 * by the time written in it, since clocks of different clusters need not agree.
 */

export interface HeartbeatRecord {
  readonly at: Date;
}

const WHAT = "heartbeat";

export function decodeHeartbeat(key: string, value: Buffer | Uint8Array | string): DecodeResult<HeartbeatRecord> {
  return runDecoder(key, WHAT, () => {
    const where: Where = { key, what: WHAT };
    if (key !== HEARTBEAT_KEY) reject(where, "invalid-key", undefined, `the heartbeat key is ${HEARTBEAT_KEY}`);
    const text = valueText(key, WHAT, value);
    const at = parseRfc3339(text);
    if (at === undefined) reject(where, "invalid-value", undefined, `the value must be an RFC 3339 time such as 2025-01-02T15:04:05Z (got ${describeValue(text)})`);
    return { at };
  });
}

/** The value Cilium writes: the time, RFC 3339, UTC. */
export function encodeHeartbeat(heartbeat: HeartbeatRecord): string {
  if (!(heartbeat.at instanceof Date) || Number.isNaN(heartbeat.at.getTime())) {
    throw new RecordError("invalid-value", HEARTBEAT_KEY, "at", `${WHAT} ${HEARTBEAT_KEY}: at must be a valid Date (got ${describeValue(heartbeat.at)})`);
  }
  return formatRfc3339(heartbeat.at);
}
