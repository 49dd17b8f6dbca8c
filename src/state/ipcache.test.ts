import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { decodeIpcache, encodeIpcache, ipcacheEntryKey, ipcacheKeyName } from "./ipcache.js";
import { RecordError } from "./record-error.js";
import { IPCACHE_CIDR, IPCACHE_LOWER_CASE_FIELDS, IPCACHE_NODE, IPCACHE_POD, IPCACHE_V6 } from "./testdata/golden.js";
import { accepted, edit, refused } from "./testdata/assert-result.js";

const c1 = validateClusterInfo({ name: "c1", id: 1 });
const c2 = validateClusterInfo({ name: "c2", id: 2 });

describe("ipcache entries", () => {
  test("golden values survive decode -> encode byte for byte", () => {
    for (const g of [IPCACHE_POD, IPCACHE_NODE, IPCACHE_CIDR, IPCACHE_V6]) {
      assert.equal(encodeIpcache(accepted(decodeIpcache(g.key, Buffer.from(g.value), { cluster: c1 }))), g.value, g.key);
    }
  });

  test("decoded fields", () => {
    const e = accepted(decodeIpcache(IPCACHE_POD.key, IPCACHE_POD.value, { cluster: c1 }));
    assert.deepEqual(e, {
      ip: "100.65.1.7",
      hostIp: "198.18.1.11",
      identity: 65541,
      encryptKey: 0,
      metadata: "cilium-global:default:node-1:2087",
      k8sNamespace: "default",
      k8sPodName: "web-7d9f8b6c5-x2k4p",
      namedPorts: [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "metrics", port: 9090, protocol: "TCP" },
      ],
    });
    const cidr = accepted(decodeIpcache(IPCACHE_CIDR.key, IPCACHE_CIDR.value));
    assert.equal(cidr.prefixLength, 16);
    assert.equal(cidr.hostIp, undefined);
    assert.equal(ipcacheKeyName(cidr), "100.65.0.0/16");
    assert.equal(ipcacheEntryKey(cidr), IPCACHE_CIDR.key);
  });

  test("field names match case-insensitively, as in Go", () => {
    const e = accepted(decodeIpcache(IPCACHE_LOWER_CASE_FIELDS.key, IPCACHE_LOWER_CASE_FIELDS.value));
    assert.equal(e.identity, 65542);
    assert.equal(e.hostIp, "198.18.1.11");
  });

  test("a KVStoreMesh copy decodes from its cache key", () => {
    accepted(decodeIpcache("cilium/cache/ip/v1/c1/100.65.1.7", IPCACHE_POD.value, { cluster: c1 }));
    refused(decodeIpcache("cilium/cache/ip/v1/c2/100.65.1.7", IPCACHE_POD.value, { cluster: c1 }), "cluster-mismatch");
  });

  test("encodeIpcache writes Go's address form and refuses what decode would refuse", () => {
    const json = encodeIpcache({ ip: "FD00:65:1:0:0:0:0:7", identity: 65541 });
    assert.equal(json, '{"IP":"fd00:65:1::7","Mask":null,"HostIP":"","ID":65541,"Key":0,"Metadata":""}');
    assert.equal(ipcacheEntryKey({ ip: "FD00:65:1:0:0:0:0:7" }), "cilium/state/ip/v1/default/fd00:65:1::7");
    assert.throws(() => encodeIpcache({ ip: "10.0.0.256", identity: 1 }), (e: unknown) => e instanceof RecordError && e.reason === "invalid-ip");
    assert.throws(() => encodeIpcache({ ip: "10.0.0.1", prefixLength: 24, identity: 1 }), (e: unknown) => e instanceof RecordError && e.reason === "invalid-cidr");
    assert.throws(() => encodeIpcache({ ip: "10.0.0.1", identity: 2 ** 24 }), (e: unknown) => e instanceof RecordError && e.reason === "identity-out-of-range");
  });
});

describe("identity range of ipcache entries from a remote cluster", () => {
  const at = (id: number) => edit(IPCACHE_POD.value, '"ID":65541', `"ID":${id}`);

  test("the first and last identity of the sending cluster are accepted, one beyond is not", () => {
    accepted(decodeIpcache(IPCACHE_POD.key, at(65536), { cluster: c1 }));
    accepted(decodeIpcache(IPCACHE_POD.key, at(131071), { cluster: c1 }));
    refused(decodeIpcache(IPCACHE_POD.key, at(131072), { cluster: c1 }), "identity-out-of-range", /outside the range of cluster "c1" \(ID 1: 65536\.\.131071\)/);
    refused(decodeIpcache(IPCACHE_POD.key, at(65535), { cluster: c1 }), "identity-out-of-range");
  });

  test("an identity of another cluster is refused", () => {
    refused(decodeIpcache(IPCACHE_POD.key, at(65541), { cluster: c2 }), "identity-out-of-range", /cluster "c2"/);
  });

  test("reserved identities (below 256) are accepted from any cluster, as Cilium does", () => {
    for (const id of [0, 1, 2, 6, 7, 100, 255]) accepted(decodeIpcache(IPCACHE_POD.key, at(id), { cluster: c2 }));
    refused(decodeIpcache(IPCACHE_POD.key, at(256), { cluster: c2 }), "identity-out-of-range");
  });

  test("the range follows maxConnectedClusters", () => {
    const c1in511 = validateClusterInfo({ name: "c1", id: 1, maxConnectedClusters: 511 });
    accepted(decodeIpcache(IPCACHE_POD.key, at(32768), { cluster: c1in511 }));
    accepted(decodeIpcache(IPCACHE_POD.key, at(65535), { cluster: c1in511 }));
    refused(decodeIpcache(IPCACHE_POD.key, at(65536), { cluster: c1in511 }), "identity-out-of-range");
  });

  test("node-local identities (2^24 and up) are never accepted", () => {
    refused(decodeIpcache(IPCACHE_POD.key, at(2 ** 24 + 5)), "identity-out-of-range", /not a global identity/);
  });
});

describe("ipcache entries refused, one reason each", () => {
  const { key, value } = IPCACHE_POD;

  test("malformed-json", () => {
    refused(decodeIpcache(key, "{"), "malformed-json");
    refused(decodeIpcache(key, Buffer.from([0x7b, 0xff, 0xfe])), "malformed-json");
  });

  test("wrong-type", () => {
    refused(decodeIpcache(key, edit(value, '"ID":65541', '"ID":"65541"')), "wrong-type", /field "ID" must be an integer/);
    refused(decodeIpcache(key, edit(value, '"ID":65541', '"ID":-1')), "wrong-type");
    refused(decodeIpcache(key, edit(value, '"Mask":null', '"Mask":24')), "wrong-type", /Mask/);
    refused(decodeIpcache(key, edit(value, '"NamedPorts":[', '"NamedPorts":[7,')), "wrong-type", /NamedPorts\[0\]/);
    refused(decodeIpcache(key, edit(value, '"Port":8080', '"Port":70000')), "wrong-type", /NamedPorts\[0\]\.Port/);
    refused(decodeIpcache(key, 42 as unknown as string), "wrong-type", /string or bytes/);
  });

  test("missing-field", () => {
    refused(decodeIpcache(key, edit(value, '"ID":65541,', "")), "missing-field", /field "ID" is missing/);
    refused(decodeIpcache(key, edit(value, '"IP":"100.65.1.7"', '"IP":null')), "missing-field", /field "IP" is missing/);
  });

  test("invalid-ip", () => {
    refused(decodeIpcache(key, edit(value, '"IP":"100.65.1.7"', '"IP":"100.65.1.07"')), "invalid-ip", /"100\.65\.1\.07"/);
    refused(decodeIpcache(key, edit(value, '"HostIP":"198.18.1.11"', '"HostIP":"node-1"')), "invalid-ip", /HostIP/);
  });

  test("invalid-cidr", () => {
    refused(decodeIpcache(IPCACHE_CIDR.key, edit(IPCACHE_CIDR.value, '"Mask":"//8AAA=="', '"Mask":"/wD/AA=="')), "invalid-cidr");
    refused(decodeIpcache(IPCACHE_CIDR.key, edit(IPCACHE_CIDR.value, '"Mask":"//8AAA=="', '"Mask":"//////////8AAAAAAAAAAA=="')), "invalid-cidr", /IPv6 mask/);
    refused(decodeIpcache("cilium/state/ip/v1/default/100.65.0.1/16", edit(IPCACHE_CIDR.value, '"IP":"100.65.0.0"', '"IP":"100.65.0.1"')), "invalid-cidr", /network address/);
  });

  test("key-mismatch", () => {
    refused(decodeIpcache("cilium/state/ip/v1/default/100.65.1.8", value), "key-mismatch", /entry is for "100\.65\.1\.7", but its key names "100\.65\.1\.8"/);
    refused(decodeIpcache("cilium/state/ip/v1/default/100.65.0.0", IPCACHE_CIDR.value), "key-mismatch");
  });

  test("invalid-key", () => {
    refused(decodeIpcache("cilium/state/ip/v1/other/100.65.1.7", value), "invalid-key");
    refused(decodeIpcache("cilium/state/nodes/v1/c1/n1", value), "invalid-key");
  });

  test("invalid-name", () => {
    refused(decodeIpcache("cilium/cache/ip/v1/C1/100.65.1.7", value), "invalid-name");
  });

  test("invalid-value", () => {
    refused(decodeIpcache(key, edit(value, '"Protocol":"TCP"', '"Protocol":"tcp"')), "invalid-value", /TCP, UDP, SCTP or ANY/);
    refused(decodeIpcache(key, edit(value, '"Port":8080', '"Port":0')), "invalid-value");
  });
});
