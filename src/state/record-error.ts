import type { ClusterInfo } from "../cluster/index.js";

/**
 * Why a kvstore record was refused. Callers branch on `reason`, never on the message.
 *
 * The first eight are the codes of the state-layer contract; the last four name cases those would
 * only blur: a key that is not a key of that record kind at all (`invalid-key`), a value that has
 * the right JSON type but is outside what the field allows (`invalid-value`: cluster ID 0, port
 * 70000, protocol "FOO"), a malformed identity label string (`invalid-label`), and a record that
 * claims to come from another cluster than the one it was read from (`cluster-mismatch`).
 */
export type RecordErrorReason =
  | "malformed-json"
  | "missing-field"
  | "wrong-type"
  | "invalid-ip"
  | "invalid-cidr"
  | "key-mismatch"
  | "identity-out-of-range"
  | "invalid-name"
  | "invalid-key"
  | "invalid-value"
  | "invalid-label"
  | "cluster-mismatch";

export const RECORD_ERROR_REASONS: readonly RecordErrorReason[] = [
  "malformed-json",
  "missing-field",
  "wrong-type",
  "invalid-ip",
  "invalid-cidr",
  "key-mismatch",
  "identity-out-of-range",
  "invalid-name",
  "invalid-key",
  "invalid-value",
  "invalid-label",
  "cluster-mismatch",
];

/** A record that could not be accepted. Decoders return it; encoders throw it. */
export class RecordError extends Error {
  constructor(
    readonly reason: RecordErrorReason,
    /** The kvstore key of the record. */
    readonly key: string,
    /** The JSON field at fault (dotted path, e.g. "IPAddresses[1].IP"), when there is one. */
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "RecordError";
  }
}

export type DecodeResult<T> = { readonly ok: true; readonly record: T } | { readonly ok: false; readonly error: RecordError };

/** What the reader knows about where a record came from. */
export interface DecodeContext {
  /**
   * The cluster the record was read from (a remote cluster's etcd, or its KVStoreMesh cache).
   * Records that claim another cluster, or carry identities outside this cluster's range, are
   * refused. Without it, records are checked on their own.
   */
  readonly cluster?: ClusterInfo;
}

/** How a given value is quoted in a message: strings in quotes, long values cut. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === undefined) return "nothing";
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  try {
    const json = JSON.stringify(value);
    return json === undefined ? typeof value : json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return typeof value;
  }
}

/** The JSON type name of a value, as a message would say it. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

/**
 * Runs a decoder body that reports refusals by throwing RecordError, and turns the outcome into a
 * DecodeResult. Anything else thrown is a decoder bug; it is still returned, never thrown, marked
 * so that tests can tell it from a refusal.
 */
export function runDecoder<T>(key: string, what: string, body: () => T): DecodeResult<T> {
  try {
    return { ok: true, record: body() };
  } catch (e) {
    if (e instanceof RecordError) return { ok: false, error: e };
    return { ok: false, error: new RecordError("malformed-json", key, undefined, `${what} ${key}: ${INTERNAL_DECODER_ERROR}: ${String(e)}`) };
  }
}

/** Marks a result that came from a decoder bug rather than from bad input. */
export const INTERNAL_DECODER_ERROR = "internal decoder error";

// A lone surrogate cannot be stored as UTF-8; it reads back as U+FFFD, so read it that way now.
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

/** The value as text: Buffers are read as UTF-8, as etcd values written by Go are. */
export function valueText(key: string, what: string, value: unknown): string {
  if (typeof value === "string") return LONE_SURROGATE.test(value) ? value.replace(LONE_SURROGATES, "\ufffd") : value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
  throw new RecordError("wrong-type", key, undefined, `${what} ${key}: the value must be a string or bytes (got ${jsonTypeOf(value)})`);
}
