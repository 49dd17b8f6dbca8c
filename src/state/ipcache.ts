import { checkClusterName, checkReferencedIdentity, checkSameCluster } from "./cluster-checks.js";
import { field, jsonString, optArray, optString, optUint, parseJsonObject, reject, reqString, reqUint, type JsonObject, type Where } from "./go-json.js";
import { canonicalIp, isNetworkAddress, maskFromBase64, maskToBase64, parseIp } from "./ip.js";
import { IPCACHE_ADDRESS_SPACE, IPCACHE_PREFIX, ipcacheKey, parseKey } from "./keys.js";
import { RecordError, describeValue, jsonTypeOf, runDecoder, valueText, type DecodeContext, type DecodeResult } from "./record-error.js";

/**
 * ipcache entries: which security identity an IP (or prefix) has, and which node hosts it.
 * Cilium's IPIdentityPair (pkg/identity), written at cilium/state/ip/v1/default/<ip>:
 *
 *   {"IP":"10.1.0.5","Mask":null,"HostIP":"198.18.1.11","ID":65541,"Key":0,
 *    "Metadata":"cilium-global:default:node-1:2087","K8sNamespace":"default","K8sPodName":"web-0",
 *    "NamedPorts":[{"Name":"http","Port":80,"Protocol":"TCP"}]}
 *
 * Mask is null for a host entry, else the base64 mask of a prefix entry (key ".../10.1.0.0/16").
 * K8sNamespace, K8sPodName, K8sServiceAccount and NamedPorts are left out when empty. The key must
 * be the entry's own address as Go prints it, as Cilium requires.
 */

export interface NamedPort {
  readonly name: string;
  readonly port: number;
  /** "TCP", "UDP", "SCTP" or "ANY". */
  readonly protocol: string;
}

export interface IpcacheEntry {
  /** The address, as Go prints it. */
  readonly ip: string;
  /** Set for a prefix entry (Mask not null); absent for a host entry. */
  readonly prefixLength?: number;
  /** The node hosting the address (tunnel destination); absent when not set. */
  readonly hostIp?: string;
  /** The security identity (ID). */
  readonly identity: number;
  /** The host's encryption key index (Key). */
  readonly encryptKey: number;
  readonly metadata: string;
  readonly k8sNamespace?: string;
  readonly k8sPodName?: string;
  readonly k8sServiceAccount?: string;
  readonly namedPorts: readonly NamedPort[];
}

/** What encodeIpcache needs; the rest defaults to empty. */
export type IpcacheEntryInput = Pick<IpcacheEntry, "ip" | "identity"> & Partial<Omit<IpcacheEntry, "ip" | "identity">>;

const WHAT = "ipcache entry";
const STATE_PREFIX = `${IPCACHE_PREFIX}/${IPCACHE_ADDRESS_SPACE}/`;
const NAMED_PORT_PROTOCOLS = new Set(["TCP", "UDP", "SCTP", "ANY"]);

/** The key name of an entry: its address, plus /length for a prefix (Cilium's PrefixString). */
export function ipcacheKeyName(entry: Pick<IpcacheEntry, "ip" | "prefixLength">): string {
  return entry.prefixLength === undefined ? entry.ip : `${entry.ip}/${entry.prefixLength}`;
}

/**
 * Reads an ipcache entry stored at `key` (cilium/state/ip/v1/default/<ip> or KVStoreMesh's
 * cilium/cache/ip/v1/<cluster>/<ip>). With `ctx.cluster`, the entry must point at a reserved
 * identity or one in that cluster's range, and a cached key must be that cluster's.
 */
export function decodeIpcache(key: string, value: Buffer | Uint8Array | string, ctx?: DecodeContext): DecodeResult<IpcacheEntry> {
  return runDecoder(key, WHAT, () => readIpcache(key, value, ctx));
}

function readIpcache(key: string, value: unknown, ctx: DecodeContext | undefined): IpcacheEntry {
  const where: Where = { key, what: WHAT };
  const source = ctx?.cluster;

  let keyName: string;
  if (key.startsWith(STATE_PREFIX)) {
    keyName = key.slice(STATE_PREFIX.length);
  } else {
    const parsed = parseKey(key);
    if (parsed?.type !== "ipcache") {
      reject(where, "invalid-key", undefined, `the key is not an ipcache key (${STATE_PREFIX}<ip> or cilium/cache/ip/v1/<cluster>/<ip>)`);
    }
    if (parsed.cluster !== undefined) {
      checkClusterName(where, parsed.cluster, undefined, "the key's cluster name");
      checkSameCluster(where, source, parsed.cluster, undefined);
    }
    keyName = parsed.ip;
  }

  const o = parseJsonObject(where, valueText(key, WHAT, value));

  const ipText = reqString(where, o, "IP");
  let ipName = canonicalIp(ipText);
  if (ipName === undefined) reject(where, "invalid-ip", "IP", `is not an IP address (got ${describeValue(ipText)})`);

  let prefixLength: number | undefined;
  const mask = field(o, "Mask");
  if (mask !== undefined) {
    const ip = parseIp(ipText)!;
    if (typeof mask !== "string") reject(where, "wrong-type", "Mask", `must be null or a base64 mask (got ${jsonTypeOf(mask)} ${describeValue(mask)})`);
    const m = maskFromBase64(mask);
    if (m === undefined) reject(where, "invalid-cidr", "Mask", `is not a canonical 4- or 16-byte mask in base64 (got ${describeValue(mask)})`);
    if (m.family !== ip.family) reject(where, "invalid-cidr", "Mask", `is an IPv${m.family} mask for the IPv${ip.family} address ${ip.text} (got ${describeValue(mask)})`);
    if (!isNetworkAddress(ip.bytes, m.bits)) reject(where, "invalid-cidr", "IP", `${ip.text} is not the network address of its /${m.bits} prefix`);
    prefixLength = m.bits;
    ipName = ip.text;
  }

  const hostText = optString(where, o, "HostIP");
  let hostIp: string | undefined;
  if (hostText !== undefined && hostText !== "") {
    hostIp = canonicalIp(hostText);
    if (hostIp === undefined) reject(where, "invalid-ip", "HostIP", `is not an IP address (got ${describeValue(hostText)})`);
  }

  const identity = reqUint(where, o, "ID", 0xffffffff);
  checkReferencedIdentity(where, source, identity, "ID");

  const name = prefixLength === undefined ? ipName : `${ipName}/${prefixLength}`;
  if (name !== keyName) {
    reject(where, "key-mismatch", "IP", `the entry is for ${describeValue(name)}, but its key names ${describeValue(keyName)}`);
  }

  const entry: {
    ip: string;
    prefixLength?: number;
    hostIp?: string;
    identity: number;
    encryptKey: number;
    metadata: string;
    k8sNamespace?: string;
    k8sPodName?: string;
    k8sServiceAccount?: string;
    namedPorts: NamedPort[];
  } = {
    ip: ipName,
    identity,
    encryptKey: optUint(where, o, "Key", 255) ?? 0,
    metadata: optString(where, o, "Metadata") ?? "",
    namedPorts: readNamedPorts(where, o),
  };
  if (prefixLength !== undefined) entry.prefixLength = prefixLength;
  if (hostIp !== undefined) entry.hostIp = hostIp;
  const ns = optString(where, o, "K8sNamespace");
  if (ns) entry.k8sNamespace = ns;
  const pod = optString(where, o, "K8sPodName");
  if (pod) entry.k8sPodName = pod;
  const sa = optString(where, o, "K8sServiceAccount");
  if (sa) entry.k8sServiceAccount = sa;
  return entry;
}

function readNamedPorts(where: Where, o: JsonObject): NamedPort[] {
  const list = optArray(where, o, "NamedPorts");
  if (list === undefined || list.length === 0) return [];
  const ports: NamedPort[] = [];
  for (let i = 0; i < list.length; i++) {
    const path = `NamedPorts[${i}]`;
    const item = list[i];
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      reject(where, "wrong-type", path, `must be an object (got ${jsonTypeOf(item)} ${describeValue(item)})`);
    }
    const p = item as JsonObject;
    const name = reqString(where, p, "Name", `${path}.Name`);
    const port = reqUint(where, p, "Port", 65535, `${path}.Port`);
    if (port === 0) reject(where, "invalid-value", `${path}.Port`, "must be a port from 1 to 65535 (got 0)");
    const protocol = reqString(where, p, "Protocol", `${path}.Protocol`);
    if (!NAMED_PORT_PROTOCOLS.has(protocol)) reject(where, "invalid-value", `${path}.Protocol`, `must be TCP, UDP, SCTP or ANY (got ${describeValue(protocol)})`);
    ports.push({ name, port, protocol });
  }
  return ports;
}

/**
 * The JSON Cilium writes for this entry, field for field. Throws a RecordError when the entry
 * is one decodeIpcache would refuse (checked against its own key, without a source cluster).
 */
export function encodeIpcache(entry: IpcacheEntryInput): string {
  const key = keyFor(entry);
  const ip = parseIp(entry.ip)!;
  const mask = entry.prefixLength === undefined ? "null" : jsonString(maskToBase64(ip.family, entry.prefixLength));
  const host = entry.hostIp === undefined ? "" : (parseIp(entry.hostIp)?.text ?? entry.hostIp);
  let out = `{"IP":${jsonString(ip.text)},"Mask":${mask},"HostIP":${jsonString(host)},"ID":${entry.identity},"Key":${entry.encryptKey ?? 0},"Metadata":${jsonString(entry.metadata ?? "")}`;
  if (entry.k8sNamespace) out += `,"K8sNamespace":${jsonString(entry.k8sNamespace)}`;
  if (entry.k8sPodName) out += `,"K8sPodName":${jsonString(entry.k8sPodName)}`;
  if (entry.k8sServiceAccount) out += `,"K8sServiceAccount":${jsonString(entry.k8sServiceAccount)}`;
  const ports = entry.namedPorts ?? [];
  if (ports.length > 0) {
    out += `,"NamedPorts":[${ports.map((p) => `{"Name":${jsonString(p.name)},"Port":${p.port},"Protocol":${jsonString(p.protocol)}}`).join(",")}]`;
  }
  out += "}";
  const check = decodeIpcache(key, out);
  if (!check.ok) throw check.error;
  return out;
}

/** The state key for an entry (cilium/state/ip/v1/default/<ip>[/<length>]). */
export function ipcacheEntryKey(entry: Pick<IpcacheEntry, "ip" | "prefixLength">): string {
  return keyFor(entry);
}

function keyFor(entry: Pick<IpcacheEntry, "ip" | "prefixLength">): string {
  const where: Where = { key: `${STATE_PREFIX}${String(entry.ip)}`, what: WHAT };
  const ip = typeof entry.ip === "string" ? parseIp(entry.ip) : undefined;
  if (ip === undefined) return reject(where, "invalid-ip", "IP", `is not an IP address (got ${describeValue(entry.ip)})`);
  const max = ip.family === 4 ? 32 : 128;
  const len = entry.prefixLength;
  if (len !== undefined && (!Number.isInteger(len) || len < 0 || len > max)) {
    return reject(where, "invalid-cidr", "Mask", `prefix length must be an integer from 0 to ${max} (got ${describeValue(len)})`);
  }
  try {
    return ipcacheKey(len === undefined ? ip.text : `${ip.text}/${len}`);
  } catch (e) {
    throw new RecordError("invalid-cidr", where.key, "IP", `${WHAT} ${where.key}: ${(e as Error).message}`);
  }
}
