import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  IDENTITY_HOST,
  IDENTITY_REMOTE_NODE,
  RESERVED_IDENTITIES,
  identityAsSeenFromPeer,
  isReservedIdentity,
  reservedIdentity,
  reservedIdentityByName,
} from "./reserved-identities.js";

describe("reserved identities", () => {
  test("numbers and names match Cilium's", () => {
    const table = Object.fromEntries(RESERVED_IDENTITIES.map((r) => [r.id, r.name]));
    assert.deepEqual(table, {
      0: "unknown",
      1: "host",
      2: "world",
      3: "unmanaged",
      4: "health",
      5: "init",
      6: "remote-node",
      7: "kube-apiserver",
      8: "ingress",
      9: "world-ipv4",
      10: "world-ipv6",
    });
  });

  test("labels are reserved:<name>; kube-apiserver is also a remote node", () => {
    assert.deepEqual(reservedIdentity(1)!.labels, ["reserved:host"]);
    assert.deepEqual(reservedIdentityByName("kube-apiserver")!.labels, ["reserved:kube-apiserver", "reserved:remote-node"]);
    assert.deepEqual(reservedIdentity(0)!.labels, []);
    assert.equal(reservedIdentity(11), undefined);
  });

  test("everything below 256 is reserved", () => {
    assert.equal(isReservedIdentity(0), true);
    assert.equal(isReservedIdentity(255), true);
    assert.equal(isReservedIdentity(256), false);
    assert.equal(isReservedIdentity(-1), false);
  });

  test("a peer's host identity is a remote node here", () => {
    assert.equal(identityAsSeenFromPeer(IDENTITY_HOST), IDENTITY_REMOTE_NODE);
    assert.equal(identityAsSeenFromPeer(70000), 70000);
  });
});
