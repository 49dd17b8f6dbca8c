import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateClusterInfo } from "../cluster/index.js";
import { decodeNode, encodeNode, nodeRecordKey } from "./node.js";
import { RecordError } from "./record-error.js";
import { NODE_DUAL_STACK, NODE_OLDER_RELEASE, NODE_V4 } from "./testdata/golden.js";
import { accepted, edit, refused } from "./testdata/assert-result.js";

const c1 = validateClusterInfo({ name: "c1", id: 1 });

describe("node records", () => {
  test("golden values survive decode -> encode byte for byte", () => {
    for (const g of [NODE_V4, NODE_DUAL_STACK]) assert.equal(encodeNode(accepted(decodeNode(g.key, Buffer.from(g.value)))), g.value);
  });

  test("decoded fields carry what agents use", () => {
    const n = accepted(decodeNode(NODE_V4.key, NODE_V4.value, { cluster: c1 }));
    assert.equal(n.name, "node-1");
    assert.equal(n.cluster, "c1");
    assert.deepEqual(n.ipAddresses, [
      { type: "InternalIP", ip: "198.18.1.11" },
      { type: "CiliumInternalIP", ip: "100.65.1.1" },
    ]);
    assert.equal(n.ipv4AllocCidr, "100.65.1.0/24");
    assert.equal(n.ipv4HealthIp, "100.65.1.2");
    assert.equal(n.ipv6HealthIp, undefined);
    assert.equal(n.clusterId, 1);
    assert.equal(n.labels["topology.kubernetes.io/zone"], "lab-a");

    const d = accepted(decodeNode(NODE_DUAL_STACK.key, NODE_DUAL_STACK.value));
    assert.equal(d.ipv6AllocCidr, "fd00:66:3::/64");
    assert.deepEqual(d.ipv4SecondaryAllocCidrs, ["100.66.203.0/25"]);
    assert.equal(d.annotations["network.cilium.io/wg-pub-key"], "x <> &");
  });

  test("an older release's record and the string CIDR form decode; encoding gives today's shape", () => {
    const n = accepted(decodeNode(NODE_OLDER_RELEASE.key, NODE_OLDER_RELEASE.value));
    assert.equal(n.ipv4AllocCidr, "100.65.2.0/24");
    assert.equal(n.bootId, "");
    assert.deepEqual(n.annotations, {});
    const again = encodeNode(n);
    assert.match(again, /"IPv4AllocCIDR":\{"IP":"100\.65\.2\.0","Mask":"\/\/\/\/AA=="\}/);
    assert.deepEqual(accepted(decodeNode(NODE_OLDER_RELEASE.key, again)), n);
  });

  test("a KVStoreMesh copy decodes from its cache key", () => {
    accepted(decodeNode("cilium/cache/nodes/v1/c1/node-1", NODE_V4.value, { cluster: c1 }));
  });

  test("encodeNode fills defaults the way Go writes zero values", () => {
    const json = encodeNode({ name: "n1", cluster: "c9", clusterId: 9 });
    assert.equal(
      json,
      '{"Name":"n1","Cluster":"c9","IPAddresses":null,"IPv4AllocCIDR":null,"IPv4SecondaryAllocCIDRs":null,"IPv6AllocCIDR":null,' +
        '"IPv6SecondaryAllocCIDRs":null,"IPv4HealthIP":"","IPv6HealthIP":"","IPv4IngressIP":"","IPv6IngressIP":"","ClusterID":9,' +
        '"Source":"","EncryptionKey":0,"Labels":null,"Annotations":null,"NodeIdentity":0,"WireguardPubKey":"","BootID":""}',
    );
    assert.equal(nodeRecordKey({ name: "n1", cluster: "c9" }), "cilium/state/nodes/v1/c9/n1");
  });

  test("map keys from the wire stay plain keys, even __proto__", () => {
    const v = edit(NODE_V4.value, '"Labels":{', '"Labels":{"__proto__":"x",');
    const n = accepted(decodeNode(NODE_V4.key, v));
    assert.equal(Object.getPrototypeOf(n.labels), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(n.labels, "__proto__")?.value, "x");
    assert.equal(encodeNode(n), v);
  });

  test("encodeNode refuses a record decodeNode would refuse", () => {
    assert.throws(() => encodeNode({ name: "n1", cluster: "c9", clusterId: 9, ipv4AllocCidr: "100.73.1.5/24" }), (e: unknown) => e instanceof RecordError && e.reason === "invalid-cidr");
    assert.throws(() => encodeNode({ name: "N_1", cluster: "c9", clusterId: 9 }), (e: unknown) => e instanceof RecordError && e.reason === "invalid-name");
    assert.throws(
      () => encodeNode({ name: "n1", cluster: "c9", clusterId: 9, ipAddresses: [{ type: "InternalIP", ip: "300.1.1.1" }] }),
      (e: unknown) => e instanceof RecordError && e.reason === "invalid-ip",
    );
  });
});

describe("node records refused, one reason each", () => {
  const { key, value } = NODE_V4;

  test("malformed-json", () => {
    refused(decodeNode(key, value.slice(0, 40)), "malformed-json", /not valid JSON/);
  });

  test("wrong-type", () => {
    refused(decodeNode(key, edit(value, '"Name":"node-1"', '"Name":1')), "wrong-type", /field "Name" must be a string \(got number 1\)/);
    refused(decodeNode(key, edit(value, '"EncryptionKey":0', '"EncryptionKey":256')), "wrong-type", /EncryptionKey/);
    refused(decodeNode(key, "[1,2]"), "wrong-type", /must be a JSON object/);
    refused(decodeNode(key, edit(value, '"Labels":{', '"Labels":{"n":1,')), "wrong-type", /Labels\.n/);
  });

  test("missing-field", () => {
    refused(decodeNode(key, edit(value, '"Name":"node-1",', "")), "missing-field", /field "Name" is missing/);
    refused(decodeNode(key, edit(value, '"Cluster":"c1"', '"Cluster":""')), "missing-field", /field "Cluster" is empty/);
  });

  test("invalid-ip", () => {
    refused(decodeNode(key, edit(value, '"IP":"198.18.1.11"', '"IP":"198.18.1.311"')), "invalid-ip", /IPAddresses\[0\]\.IP.*198\.18\.1\.311/);
    refused(decodeNode(key, edit(value, '"IPv4HealthIP":"100.65.1.2"', '"IPv4HealthIP":"fd00::2"')), "invalid-ip", /must be an IPv4 address/);
  });

  test("invalid-cidr", () => {
    refused(decodeNode(key, edit(value, '"Mask":"////AA=="', '"Mask":"//8A/w=="')), "invalid-cidr", /canonical/);
    refused(decodeNode(key, edit(value, '"IP":"100.65.1.0"', '"IP":"100.65.1.9"')), "invalid-cidr", /not the network address/);
    refused(decodeNode(key, edit(value, '"IPv6AllocCIDR":null', '"IPv6AllocCIDR":"10.0.0.0/8"')), "invalid-cidr", /must be an IPv6 CIDR/);
  });

  test("invalid-key", () => {
    refused(decodeNode("cilium/state/nodes/v1/c1", value), "invalid-key");
    refused(decodeNode("cilium/state/nodes/v1/c1/node-1/extra", value), "invalid-key");
  });

  test("invalid-name", () => {
    refused(decodeNode("cilium/state/nodes/v1/C_1/node-1", value), "invalid-name", /cluster name "C_1"/);
    refused(decodeNode("cilium/state/nodes/v1/c1/Node_1", edit(value, '"Name":"node-1"', '"Name":"Node_1"')), "invalid-name", /node name "Node_1"/);
  });

  test("key-mismatch", () => {
    refused(decodeNode("cilium/state/nodes/v1/c1/node-9", value), "key-mismatch", /node "c1\/node-1", but its key names "c1\/node-9"/);
    refused(decodeNode("cilium/state/nodes/v1/c2/node-1", value), "key-mismatch");
  });

  test("cluster-mismatch", () => {
    const c2 = validateClusterInfo({ name: "c2", id: 2 });
    refused(decodeNode(key, value, { cluster: c2 }), "cluster-mismatch", /read from cluster "c2"/);
    const impostor = validateClusterInfo({ name: "c1", id: 7 });
    refused(decodeNode(key, value, { cluster: impostor }), "cluster-mismatch", /cluster ID 1, but .* whose ID is 7/);
  });

  test("invalid-value", () => {
    refused(decodeNode(key, edit(value, '"Type":"InternalIP"', '"Type":"PublicIP"')), "invalid-value", /PublicIP/);
    refused(decodeNode(key, edit(value, '"ClusterID":1', '"ClusterID":600')), "invalid-value", /from 0 to 511/);
  });
});
