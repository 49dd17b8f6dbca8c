import { MAX_TXN_OPS, type Compare, type Txn, type TxnOp } from "./kvstore.js";
import { checkKey, checkPrefix, describe } from "./values.js";

const TARGETS = new Set(["value", "version", "createRevision", "modRevision"]);
const OPS = new Set(["==", "!=", "<", ">"]);

/**
 * Refuses, before anything is sent, a transaction etcd would refuse: more than MAX_TXN_OPS
 * operations, a malformed compare, or one branch writing the same key twice (etcd: "duplicate key
 * given in txn request"). Both stores run it so the in-memory one is no more lenient than etcd.
 */
export function checkTxn(txn: Txn): void {
  const compares = txn.compare ?? [];
  if (compares.length > MAX_TXN_OPS) throw new RangeError(`kvstore txn: ${compares.length} compares; at most ${MAX_TXN_OPS} (MAX_TXN_OPS) per transaction`);
  compares.forEach(checkCompare);
  checkBranch("success", txn.success ?? []);
  checkBranch("failure", txn.failure ?? []);
}

function checkCompare(c: Compare, i: number): void {
  checkKey(c.key, `compare[${i}].key`);
  if (!TARGETS.has(c.target)) throw new TypeError(`kvstore txn: compare[${i}].target must be value, version, createRevision or modRevision (got ${describe(c.target)})`);
  if (!OPS.has(c.op)) throw new TypeError(`kvstore txn: compare[${i}].op must be ==, !=, < or > (got ${describe(c.op)})`);
  if (c.target === "value") {
    if (typeof c.value !== "string" && !(c.value instanceof Uint8Array)) throw new TypeError(`kvstore txn: compare[${i}] on "value" needs a string or bytes (got ${describe(c.value)})`);
  } else if (typeof c.value !== "number" || !Number.isInteger(c.value) || c.value < 0) {
    throw new TypeError(`kvstore txn: compare[${i}] on "${c.target}" needs a non-negative integer (got ${describe(c.value)})`);
  }
}

function checkBranch(name: string, ops: readonly TxnOp[]): void {
  if (ops.length > MAX_TXN_OPS) throw new RangeError(`kvstore txn: ${ops.length} operations in the ${name} branch; at most ${MAX_TXN_OPS} (MAX_TXN_OPS) per transaction — split the writes`);
  const puts = new Set<string>();
  const deletedKeys = new Set<string>();
  const deletedPrefixes: string[] = [];
  ops.forEach((op, i) => {
    switch (op.type) {
      case "put":
        checkKey(op.key, `${name}[${i}].key`);
        if (puts.has(op.key)) throw new Error(`kvstore txn: key ${JSON.stringify(op.key)} is written twice in the ${name} branch; etcd refuses duplicate keys in one transaction`);
        puts.add(op.key);
        break;
      case "delete":
        checkKey(op.key, `${name}[${i}].key`);
        deletedKeys.add(op.key);
        break;
      case "deletePrefix":
        checkPrefix(op.prefix);
        deletedPrefixes.push(op.prefix);
        break;
      default:
        throw new TypeError(`kvstore txn: ${name}[${i}].type must be put, delete or deletePrefix (got ${describe((op as { type?: unknown }).type)})`);
    }
  });
  for (const key of puts) {
    if (deletedKeys.has(key) || deletedPrefixes.some((p) => key.startsWith(p))) {
      throw new Error(`kvstore txn: key ${JSON.stringify(key)} is both put and deleted in the ${name} branch; etcd refuses duplicate keys in one transaction`);
    }
  }
}
