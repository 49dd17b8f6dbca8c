import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { decodeClusterConfig, encodeClusterConfig } from "./cluster-config.js";
import { decodeClusterService, encodeClusterService } from "./cluster-service.js";
import { decodeHeartbeat, encodeHeartbeat } from "./heartbeat.js";
import { decodeIdentity, decodeIdentityReference, encodeIdentity } from "./identity.js";
import { decodeIpcache, encodeIpcache } from "./ipcache.js";
import { decodeNode, encodeNode } from "./node.js";
import { INTERNAL_DECODER_ERROR, RECORD_ERROR_REASONS, RecordError, type DecodeContext, type DecodeResult } from "./record-error.js";
import { decodeSyncCanary, encodeSyncCanary } from "./sync-canary.js";
import * as golden from "./testdata/golden.js";

/**
 * Feeds every decoder random bytes and damaged golden values (dropped fields, values of the wrong
 * type, flipped characters, truncations, damaged keys) from a seeded generator, so a failure
 * replays exactly. Every outcome must be a typed result: a RecordError with a known reason, or a
 * record that encodes and decodes back to itself.
 */

const SEED = 0x7e11_15;
const CASES_PER_DECODER = 3000;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Decode = (key: string, value: Buffer | string, ctx?: DecodeContext) => DecodeResult<unknown>;

interface Subject {
  readonly name: string;
  readonly decode: Decode;
  /** Re-encodes an accepted record; undefined when the value is not JSON-shaped. */
  readonly encode: (record: never) => string;
  readonly goldens: readonly golden.Golden[];
  readonly ctx?: DecodeContext;
  /** Whether decode(encode(record)) must deep-equal the record (times lose sub-seconds). */
  readonly exact: boolean;
}

const c1 = validateClusterInfo({ name: "c1", id: 1 });
const c2 = validateClusterInfo({ name: "c2", id: 2 });

const subjects: Subject[] = [
  { name: "node", decode: decodeNode, encode: encodeNode, goldens: [golden.NODE_V4, golden.NODE_OLDER_RELEASE], ctx: { cluster: c1 }, exact: true },
  { name: "node (dual stack)", decode: decodeNode, encode: encodeNode, goldens: [golden.NODE_DUAL_STACK], exact: true },
  {
    name: "ipcache",
    decode: decodeIpcache,
    encode: encodeIpcache,
    goldens: [golden.IPCACHE_POD, golden.IPCACHE_NODE, golden.IPCACHE_CIDR, golden.IPCACHE_V6, golden.IPCACHE_LOWER_CASE_FIELDS],
    ctx: { cluster: c1 },
    exact: true,
  },
  { name: "identity", decode: decodeIdentity, encode: encodeIdentity, goldens: [golden.IDENTITY], ctx: { cluster: c1 }, exact: true },
  { name: "identity (cached)", decode: decodeIdentity, encode: encodeIdentity, goldens: [golden.CACHED_IDENTITY], ctx: { cluster: c2 }, exact: true },
  {
    name: "identity reference",
    decode: (k, v) => decodeIdentityReference(k, v),
    encode: (r: { id: number }) => String(r.id),
    goldens: [{ key: "cilium/state/identities/v1/value/k8s:app=web;k8s:io.cilium.k8s.policy.cluster=c1;/198.18.1.11", value: "65541" }],
    exact: true,
  },
  { name: "cluster service", decode: decodeClusterService, encode: encodeClusterService, goldens: [golden.CLUSTER_SERVICE, golden.CLUSTER_SERVICE_MINIMAL], exact: true },
  { name: "cluster config", decode: decodeClusterConfig, encode: encodeClusterConfig, goldens: [golden.CLUSTER_CONFIG, golden.CLUSTER_CONFIG_CACHED_511], exact: true },
  { name: "sync canary", decode: decodeSyncCanary, encode: encodeSyncCanary, goldens: [golden.SYNC_CANARY], exact: false },
  { name: "heartbeat", decode: (k, v) => decodeHeartbeat(k, v), encode: encodeHeartbeat, goldens: [golden.HEARTBEAT], exact: false },
];

class Mutator {
  constructor(readonly rand: () => number) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  randomBytes(): Buffer {
    const b = Buffer.alloc(this.int(160));
    for (let i = 0; i < b.length; i++) b[i] = this.int(256);
    return b;
  }

  randomValue(): unknown {
    return this.pick<() => unknown>([
      () => null,
      () => this.rand() < 0.5,
      () => this.int(2 ** 33) - 2 ** 32,
      () => this.rand() * 1000,
      () => 2 ** 24 + this.int(1000),
      () => this.pick(["", "x", "10.0.0.1", "fd00::1", "////AA==", "TCP", "c1", "Node_1", "-1", "é\u2028<>&", "0"]),
      () => [],
      () => [this.int(10), "a"],
      () => ({}),
      () => ({ IP: "10.0.0.0", Mask: "////AA==" }),
      () => ({ Protocol: "TCP", Port: this.int(70000) }),
    ])();
  }

  /** Drops or retypes one field somewhere in the JSON tree. */
  mutateTree(value: unknown): unknown {
    if (value === null || typeof value !== "object") return this.randomValue();
    const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0) return this.randomValue();
    const k = this.pick(keys);
    const action = this.int(4);
    const target = copy as Record<string, unknown>;
    if (action === 0) delete target[k];
    else if (action === 1) target[k] = this.randomValue();
    else target[k] = this.mutateTree(target[k]);
    return copy;
  }

  mutateText(text: string): string {
    const pos = this.int(text.length + 1);
    switch (this.int(6)) {
      case 0:
        return text.slice(0, pos);
      case 1:
        return text.slice(0, pos) + String.fromCharCode(this.int(128)) + text.slice(pos + 1);
      case 2:
        return text.slice(0, pos) + this.pick(['"', "{", "}", "[", "]", ",", ":", "\\", "null", "0", "-", "/", ";", "=", "."]) + text.slice(pos);
      case 3:
        return text.slice(0, pos) + text.slice(pos + 1 + this.int(5));
      case 4:
        return text.slice(0, pos) + String.fromCharCode(0xd800 + this.int(0x800)) + text.slice(pos);
      default:
        return text + text.slice(0, pos);
    }
  }

  mutateValue(value: string): Buffer | string {
    const r = this.int(10);
    if (r === 0) return this.randomBytes();
    if (r <= 4) {
      try {
        return JSON.stringify(this.mutateTree(JSON.parse(value)));
      } catch {
        return this.mutateText(value);
      }
    }
    const text = this.mutateText(value);
    return this.rand() < 0.3 ? Buffer.from(text) : text;
  }
}

function check(subject: Subject, key: string, value: Buffer | string, ctx: DecodeContext | undefined): "accepted" | "refused" {
  let result: DecodeResult<unknown>;
  try {
    result = subject.decode(key, value, ctx);
  } catch (e) {
    assert.fail(`${subject.name} decoder threw on key ${JSON.stringify(key)} value ${JSON.stringify(String(value))}: ${String(e)}`);
  }
  assert.equal(typeof result.ok, "boolean");
  if (!result.ok) {
    assert.ok(result.error instanceof RecordError, "the error is a RecordError");
    assert.ok(RECORD_ERROR_REASONS.includes(result.error.reason), `known reason ${result.error.reason}`);
    assert.ok(!result.error.message.includes(INTERNAL_DECODER_ERROR), `decoder bug: ${result.error.message}`);
    assert.equal(result.error.key, key);
    return "refused";
  }
  let encoded: string;
  try {
    encoded = subject.encode(result.record as never);
  } catch (e) {
    assert.fail(`${subject.name}: an accepted record failed to encode (${String(e)}); key ${key} value ${String(value)}`);
  }
  const again = subject.decode(key, encoded, ctx);
  assert.ok(again.ok, `${subject.name}: re-encoded record refused: ${again.ok ? "" : again.error.message}`);
  if (subject.exact) assert.deepEqual(again.record, result.record, `${subject.name}: decode(encode(r)) != r for ${String(value)}`);
  return "accepted";
}

describe("decoders never throw and always return a typed result", () => {
  for (const [index, subject] of subjects.entries()) {
    test(subject.name, () => {
      const m = new Mutator(mulberry32(SEED + index));
      const tally = { accepted: 0, refused: 0 };
      for (let i = 0; i < CASES_PER_DECODER; i++) {
        const g = m.pick(subject.goldens);
        const kind = m.int(10);
        const key = kind === 0 ? m.mutateText(g.key) : g.key;
        const value = kind === 1 ? m.randomBytes() : kind === 0 ? g.value : m.mutateValue(g.value);
        const ctx = m.rand() < 0.5 ? subject.ctx : undefined;
        tally[check(subject, key, value, ctx)]++;
      }
      // Both paths must actually be exercised, or the test proves little.
      assert.ok(tally.refused > CASES_PER_DECODER / 10, `${subject.name}: only ${tally.refused} refusals`);
      assert.ok(tally.accepted > 0, `${subject.name}: no mutation was accepted`);
    });
  }
});
