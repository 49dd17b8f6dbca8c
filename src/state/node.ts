import { MAX_CONNECTED_CLUSTERS_VALUES } from "../cluster/index.js";
import { checkClusterName, checkSameCluster, checkSameClusterId } from "./cluster-checks.js";
import {
  field,
  jsonString,
  jsonStringMap,
  optArray,
  optString,
  optStringMap,
  optUint,
  parseJsonObject,
  reject,
  reqString,
  type JsonObject,
  type Where,
} from "./go-json.js";
import { canonicalIp, isNetworkAddress, maskFromBase64, maskToBase64, parseCidr, parseIp, type IpFamily } from "./ip.js";
import { nodeKey, parseKey } from "./keys.js";
import { nodeNameProblem } from "./names.js";
import { RecordError, describeValue, jsonTypeOf, runDecoder, valueText, type DecodeContext, type DecodeResult } from "./record-error.js";

/**
 * Nodes, as Cilium's pkg/node/types Node marshals at cilium/state/nodes/v1/<cluster>/<node>:
 *
 *   {"Name":"node-1","Cluster":"c1","IPAddresses":[{"Type":"InternalIP","IP":"198.18.1.11"}],
 *    "IPv4AllocCIDR":{"IP":"100.65.1.0","Mask":"////AA=="},"IPv4SecondaryAllocCIDRs":null,
 *    "IPv6AllocCIDR":null,"IPv6SecondaryAllocCIDRs":null,"IPv4HealthIP":"100.65.1.2",
 *    "IPv6HealthIP":"","IPv4IngressIP":"","IPv6IngressIP":"","ClusterID":1,"Source":"local",
 *    "EncryptionKey":0,"Labels":{...},"Annotations":null,"NodeIdentity":0,"WireguardPubKey":"",
 *    "BootID":"..."}
 *
 * CIDRs keep the legacy net.IPNet object form (IP, then the base64 mask) every Cilium release so
 * far writes; the newest also read "100.65.1.0/24", and so does this decoder. Unset addresses are
 * "" (a nil net.IP), unset CIDRs, lists and maps null. NodeIdentity (older releases) and BootID
 * (newer) are both written: Go decoders ignore fields they do not know.
 */

export type NodeAddressType = "InternalIP" | "ExternalIP" | "CiliumInternalIP" | "Hostname" | "InternalDNS" | "ExternalDNS";

export const NODE_ADDRESS_TYPES: readonly NodeAddressType[] = ["InternalIP", "ExternalIP", "CiliumInternalIP", "Hostname", "InternalDNS", "ExternalDNS"];

export interface NodeAddress {
  readonly type: NodeAddressType;
  readonly ip: string;
}

export interface NodeRecord {
  readonly name: string;
  readonly cluster: string;
  readonly ipAddresses: readonly NodeAddress[];
  /** Pod CIDR, "address/length". */
  readonly ipv4AllocCidr?: string;
  readonly ipv4SecondaryAllocCidrs: readonly string[];
  readonly ipv6AllocCidr?: string;
  readonly ipv6SecondaryAllocCidrs: readonly string[];
  /** Address of the node's health endpoint (what `trellis health` probes on :4240). */
  readonly ipv4HealthIp?: string;
  readonly ipv6HealthIp?: string;
  readonly ipv4IngressIp?: string;
  readonly ipv6IngressIp?: string;
  readonly clusterId: number;
  /** Who produced the record ("local", "kvstore", "custom-resource", ...). */
  readonly source: string;
  readonly encryptionKey: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly nodeIdentity: number;
  readonly wireguardPubKey: string;
  readonly bootId: string;
}

/** What encodeNode needs; the rest defaults to empty. */
export type NodeRecordInput = Pick<NodeRecord, "name" | "cluster" | "clusterId"> & Partial<Omit<NodeRecord, "name" | "cluster" | "clusterId">>;

const WHAT = "node";
const ADDRESS_TYPES = new Set<string>(NODE_ADDRESS_TYPES);
const MAX_CLUSTER_ID = Math.max(...MAX_CONNECTED_CLUSTERS_VALUES);

/**
 * Reads a node stored at `key` (cilium/state/nodes/v1/<cluster>/<node> or KVStoreMesh's
 * cilium/cache/nodes/v1/<cluster>/<node>). Name and Cluster must match the key; with
 * `ctx.cluster` they, and ClusterID, must also be that cluster's.
 */
export function decodeNode(key: string, value: Buffer | Uint8Array | string, ctx?: DecodeContext): DecodeResult<NodeRecord> {
  return runDecoder(key, WHAT, () => readNode(key, value, ctx));
}

function readNode(key: string, value: unknown, ctx: DecodeContext | undefined): NodeRecord {
  const where: Where = { key, what: WHAT };
  const source = ctx?.cluster;
  const parsed = parseKey(key);
  if (parsed?.type !== "node") {
    reject(where, "invalid-key", undefined, "the key is not a node key (cilium/state/nodes/v1/<cluster>/<node> or cilium/cache/nodes/v1/<cluster>/<node>)");
  }
  checkClusterName(where, parsed.cluster, undefined, "the key's cluster name");
  checkSameCluster(where, source, parsed.cluster, undefined);

  const o = parseJsonObject(where, valueText(key, WHAT, value));

  const name = reqString(where, o, "Name");
  const nameWhy = nodeNameProblem(name);
  if (nameWhy !== undefined) reject(where, "invalid-name", "Name", `node name ${describeValue(name)} is invalid: ${nameWhy}`);
  const cluster = reqString(where, o, "Cluster");
  checkClusterName(where, cluster, "Cluster");
  if (name !== parsed.name || cluster !== parsed.cluster) {
    reject(where, "key-mismatch", name !== parsed.name ? "Name" : "Cluster", `the record is node ${describeValue(`${cluster}/${name}`)}, but its key names ${describeValue(`${parsed.cluster}/${parsed.name}`)}`);
  }

  const clusterId = optUint(where, o, "ClusterID", 0xffffffff) ?? 0;
  if (source !== undefined) checkSameClusterId(where, source, clusterId, "ClusterID");
  else if (clusterId > MAX_CLUSTER_ID) reject(where, "invalid-value", "ClusterID", `must be a cluster ID from 0 to ${MAX_CLUSTER_ID} (got ${clusterId})`);

  const record: NodeRecord = {
    name,
    cluster,
    ipAddresses: readAddresses(where, o),
    ...optionalCidr(where, o, "IPv4AllocCIDR", 4, "ipv4AllocCidr"),
    ipv4SecondaryAllocCidrs: readCidrList(where, o, "IPv4SecondaryAllocCIDRs", 4),
    ...optionalCidr(where, o, "IPv6AllocCIDR", 6, "ipv6AllocCidr"),
    ipv6SecondaryAllocCidrs: readCidrList(where, o, "IPv6SecondaryAllocCIDRs", 6),
    ...optionalIp(where, o, "IPv4HealthIP", 4, "ipv4HealthIp"),
    ...optionalIp(where, o, "IPv6HealthIP", 6, "ipv6HealthIp"),
    ...optionalIp(where, o, "IPv4IngressIP", 4, "ipv4IngressIp"),
    ...optionalIp(where, o, "IPv6IngressIP", 6, "ipv6IngressIp"),
    clusterId,
    source: optString(where, o, "Source") ?? "",
    encryptionKey: optUint(where, o, "EncryptionKey", 255) ?? 0,
    labels: optStringMap(where, o, "Labels"),
    annotations: optStringMap(where, o, "Annotations"),
    nodeIdentity: optUint(where, o, "NodeIdentity", 0xffffffff) ?? 0,
    wireguardPubKey: optString(where, o, "WireguardPubKey") ?? "",
    bootId: optString(where, o, "BootID") ?? "",
  };
  return record;
}

function readAddresses(where: Where, o: JsonObject): NodeAddress[] {
  const list = optArray(where, o, "IPAddresses");
  if (list === undefined) return [];
  const out: NodeAddress[] = [];
  for (let i = 0; i < list.length; i++) {
    const path = `IPAddresses[${i}]`;
    const item = list[i];
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      reject(where, "wrong-type", path, `must be an object with Type and IP (got ${jsonTypeOf(item)} ${describeValue(item)})`);
    }
    const a = item as JsonObject;
    const type = reqString(where, a, "Type", `${path}.Type`);
    if (!ADDRESS_TYPES.has(type)) reject(where, "invalid-value", `${path}.Type`, `must be one of ${NODE_ADDRESS_TYPES.join(", ")} (got ${describeValue(type)})`);
    const ipText = reqString(where, a, "IP", `${path}.IP`);
    const ip = canonicalIp(ipText);
    if (ip === undefined) reject(where, "invalid-ip", `${path}.IP`, `is not an IP address (got ${describeValue(ipText)})`);
    out.push({ type: type as NodeAddressType, ip });
  }
  return out;
}

/** A CIDR in either form Cilium reads: {"IP":..,"Mask":base64} (legacy) or "a.b.c.d/n". */
function readCidr(where: Where, value: unknown, family: IpFamily, path: string): string {
  if (typeof value === "string") {
    const cidr = parseCidr(value);
    if (!("text" in cidr)) reject(where, "invalid-cidr", path, `is not a CIDR: ${cidr.problem} (got ${describeValue(value)})`);
    if (cidr.family !== family) reject(where, "invalid-cidr", path, `must be an IPv${family} CIDR (got ${describeValue(value)})`);
    return cidr.text;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    reject(where, "wrong-type", path, `must be null, {"IP":..,"Mask":..} or "address/length" (got ${jsonTypeOf(value)} ${describeValue(value)})`);
  }
  const obj = value as JsonObject;
  const ipText = reqString(where, obj, "IP", `${path}.IP`);
  const ip = parseIp(ipText);
  if (ip === undefined) reject(where, "invalid-cidr", `${path}.IP`, `is not an IP address (got ${describeValue(ipText)})`);
  const maskText = reqString(where, obj, "Mask", `${path}.Mask`);
  const mask = maskFromBase64(maskText);
  if (mask === undefined) reject(where, "invalid-cidr", `${path}.Mask`, `is not a canonical 4- or 16-byte mask in base64 (got ${describeValue(maskText)})`);
  if (ip.family !== family || mask.family !== family) {
    reject(where, "invalid-cidr", path, `must be an IPv${family} CIDR (got address ${ip.text} with an IPv${mask.family} mask)`);
  }
  if (!isNetworkAddress(ip.bytes, mask.bits)) reject(where, "invalid-cidr", `${path}.IP`, `${ip.text} is not the network address of its /${mask.bits} prefix`);
  return `${ip.text}/${mask.bits}`;
}

function optionalCidr<K extends string>(where: Where, o: JsonObject, name: string, family: IpFamily, as: K): { [P in K]?: string } {
  const v = field(o, name);
  if (v === undefined) return {};
  return { [as]: readCidr(where, v, family, name) } as { [P in K]?: string };
}

function readCidrList(where: Where, o: JsonObject, name: string, family: IpFamily): string[] {
  const list = optArray(where, o, name);
  if (list === undefined) return [];
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    if (list[i] === null) continue; // a nil *CIDR in the Go slice
    out.push(readCidr(where, list[i], family, `${name}[${i}]`));
  }
  return out;
}

function optionalIp<K extends string>(where: Where, o: JsonObject, name: string, family: IpFamily, as: K): { [P in K]?: string } {
  const text = optString(where, o, name);
  if (text === undefined || text === "") return {};
  const ip = canonicalIp(text);
  if (ip === undefined) reject(where, "invalid-ip", name, `is not an IP address (got ${describeValue(text)})`);
  // Go prints IPv4 (IPv4-mapped included) as a dotted quad, never with a ':'.
  if ((ip.includes(":") ? 6 : 4) !== family) reject(where, "invalid-ip", name, `must be an IPv${family} address (got ${describeValue(text)})`);
  return { [as]: ip } as { [P in K]?: string };
}

// ---- encoding ----

function cidrJson(cidr: string | undefined, field: string, key: string): string {
  if (cidr === undefined) return "null";
  const parsed = typeof cidr === "string" ? parseCidr(cidr) : { problem: "it must be a string" };
  if (!("text" in parsed)) throw new RecordError("invalid-cidr", key, field, `${WHAT} ${key}: field "${field}" is not a CIDR: ${parsed.problem} (got ${describeValue(cidr)})`);
  return `{"IP":${jsonString(parsed.ip)},"Mask":${jsonString(maskToBase64(parsed.family, parsed.bits))}}`;
}

function cidrListJson(list: readonly string[] | undefined, field: string, key: string): string {
  if (list === undefined || list.length === 0) return "null";
  return `[${list.map((c, i) => cidrJson(c, `${field}[${i}]`, key)).join(",")}]`;
}

function ipJson(ip: string | undefined): string {
  if (ip === undefined || ip === "") return '""';
  return jsonString(parseIp(ip)?.text ?? ip);
}

/** The state key for a node (cilium/state/nodes/v1/<cluster>/<name>). */
export function nodeRecordKey(node: Pick<NodeRecord, "cluster" | "name">): string {
  try {
    return nodeKey(node.cluster, node.name);
  } catch (e) {
    const key = `cilium/state/nodes/v1/${String(node.cluster)}/${String(node.name)}`;
    throw new RecordError("invalid-name", key, undefined, `${WHAT} ${key}: ${(e as Error).message}`);
  }
}

/**
 * The JSON Cilium writes for this node, field for field. Throws a RecordError when the node is
 * one decodeNode would refuse (checked against its own key, without a source cluster).
 */
export function encodeNode(node: NodeRecordInput): string {
  const key = nodeRecordKey(node);
  const addresses = node.ipAddresses ?? [];
  const addressJson =
    addresses.length === 0 ? "null" : `[${addresses.map((a) => `{"Type":${jsonString(a.type)},"IP":${ipJson(a.ip)}}`).join(",")}]`;
  const out =
    `{"Name":${jsonString(node.name)},"Cluster":${jsonString(node.cluster)},"IPAddresses":${addressJson}` +
    `,"IPv4AllocCIDR":${cidrJson(node.ipv4AllocCidr, "IPv4AllocCIDR", key)}` +
    `,"IPv4SecondaryAllocCIDRs":${cidrListJson(node.ipv4SecondaryAllocCidrs, "IPv4SecondaryAllocCIDRs", key)}` +
    `,"IPv6AllocCIDR":${cidrJson(node.ipv6AllocCidr, "IPv6AllocCIDR", key)}` +
    `,"IPv6SecondaryAllocCIDRs":${cidrListJson(node.ipv6SecondaryAllocCidrs, "IPv6SecondaryAllocCIDRs", key)}` +
    `,"IPv4HealthIP":${ipJson(node.ipv4HealthIp)},"IPv6HealthIP":${ipJson(node.ipv6HealthIp)}` +
    `,"IPv4IngressIP":${ipJson(node.ipv4IngressIp)},"IPv6IngressIP":${ipJson(node.ipv6IngressIp)}` +
    `,"ClusterID":${node.clusterId},"Source":${jsonString(node.source ?? "")},"EncryptionKey":${node.encryptionKey ?? 0}` +
    `,"Labels":${jsonStringMap(node.labels ?? {}, "null")},"Annotations":${jsonStringMap(node.annotations ?? {}, "null")}` +
    `,"NodeIdentity":${node.nodeIdentity ?? 0},"WireguardPubKey":${jsonString(node.wireguardPubKey ?? "")},"BootID":${jsonString(node.bootId ?? "")}}`;
  const check = decodeNode(key, out);
  if (!check.ok) throw check.error;
  return out;
}
