import { RecordError, describeValue, jsonTypeOf, type RecordErrorReason } from "./record-error.js";

/**
 * Reading and writing JSON the way Go's encoding/json does, since the records are Cilium's Go
 * structs on the wire:
 *   - reading: a field is found by exact name, else case-insensitively; `null` leaves a field at
 *     its zero value; unknown fields are ignored; a value of the wrong JSON type fails the record.
 *   - writing: struct fields in declaration order, map keys sorted, and <, >, &, U+2028, U+2029
 *     escaped as \u00XX, so that our bytes equal what a Go agent writes for the same record.
 */

/** Where a record came from, for messages. */
export interface Where {
  readonly key: string;
  /** The record kind as a message names it: "node", "ipcache entry", ... */
  readonly what: string;
}

export type JsonObject = Record<string, unknown>;

export function reject(where: Where, reason: RecordErrorReason, field: string | undefined, detail: string): never {
  const subject = field === undefined ? "" : `field "${field}" `;
  throw new RecordError(reason, where.key, field, `${where.what} ${where.key}: ${subject}${detail}`);
}

/** Parses the value; Go accepts `null` for a struct (all fields zero), anything but an object fails. */
export function parseJsonObject(where: Where, text: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    reject(where, "malformed-json", undefined, `the value is not valid JSON (${(e as Error).message}; got ${describeValue(text)})`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    reject(where, "wrong-type", undefined, `the value must be a JSON object (got ${jsonTypeOf(parsed)} ${describeValue(parsed)})`);
  }
  return parsed as JsonObject;
}

/** The field's value, matched like Go does; `null` reads as absent. */
export function field(o: JsonObject, name: string): unknown {
  const exact = o[name];
  if (exact !== undefined) return exact === null ? undefined : exact;
  const length = name.length;
  let lower: string | undefined;
  for (const k in o) {
    if (k.length !== length) continue;
    lower ??= name.toLowerCase();
    if (k.toLowerCase() === lower) {
      const v = o[k];
      return v === null ? undefined : v;
    }
  }
  return undefined;
}

function wrongType(where: Where, path: string, expected: string, value: unknown): never {
  reject(where, "wrong-type", path, `must be ${expected} (got ${jsonTypeOf(value)} ${describeValue(value)})`);
}

export function optString(where: Where, o: JsonObject, name: string, path = name): string | undefined {
  const v = field(o, name);
  if (v === undefined || typeof v === "string") return v;
  return wrongType(where, path, "a string", v);
}

/** A string that must be present and not empty (Go cannot tell those apart). */
export function reqString(where: Where, o: JsonObject, name: string, path = name): string {
  const v = optString(where, o, name, path);
  if (v === undefined || v === "") reject(where, "missing-field", path, v === undefined ? "is missing" : "is empty");
  return v;
}

export function optBool(where: Where, o: JsonObject, name: string, path = name): boolean | undefined {
  const v = field(o, name);
  if (v === undefined || typeof v === "boolean") return v;
  return wrongType(where, path, "true or false", v);
}

/** An unsigned integer no larger than `max`, as Go's uint8/uint16/uint32 fields hold. */
export function optUint(where: Where, o: JsonObject, name: string, max: number, path = name): number | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== "number") return wrongType(where, path, `an integer from 0 to ${max}`, v);
  if (!Number.isInteger(v) || v < 0 || v > max) reject(where, "wrong-type", path, `must be an integer from 0 to ${max} (got ${describeValue(v)})`);
  return v + 0; // turns -0 into 0
}

export function reqUint(where: Where, o: JsonObject, name: string, max: number, path = name): number {
  const v = optUint(where, o, name, max, path);
  if (v === undefined) reject(where, "missing-field", path, "is missing");
  return v;
}

export function optObject(where: Where, o: JsonObject, name: string, path = name): JsonObject | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) return wrongType(where, path, "an object", v);
  return v as JsonObject;
}

export function optArray(where: Where, o: JsonObject, name: string, path = name): readonly unknown[] | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return wrongType(where, path, "an array", v);
  return v;
}

/** A JSON object used as a map[string]string; absent or null reads as empty. */
export function optStringMap(where: Where, o: JsonObject, name: string, path = name): Record<string, string> {
  const m = optObject(where, o, name, path);
  const out: Record<string, string> = {};
  if (m === undefined) return out;
  for (const k of Object.keys(m)) {
    const v = m[k];
    // Go leaves a null map value as "".
    if (v !== null && typeof v !== "string") wrongType(where, `${path}.${k}`, "a string", v);
    setOwn(out, k, v ?? "");
  }
  return out;
}

/** Assigns without the `__proto__` setter, so that a map key from the wire stays a plain key. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

// ---- writing ----

// JSON must escape control characters, so they are exactly what this looks for.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;

/** A JSON string literal byte-identical to Go's encoding of the same text. */
export function jsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd"; // a lone surrogate is not UTF-8; Go writes U+FFFD
    else out += s[i]!;
  }
  return `${out}"`;
}

/** Map keys in the order Go writes them. */
export function sortedKeys(m: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(m).sort();
}

/** A map[string]string; `empty` says how Go wrote an empty map for this field (nil map: null). */
export function jsonStringMap(m: Readonly<Record<string, string>>, empty: "null" | "{}"): string {
  const keys = sortedKeys(m);
  if (keys.length === 0) return empty;
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += `${i === 0 ? "" : ","}${jsonString(k)}:${jsonString(m[k]!)}`;
  }
  return `${out}}`;
}
