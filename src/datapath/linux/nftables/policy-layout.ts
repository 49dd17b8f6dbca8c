/**
 * The policy table: names, the fixed part, and the objects of one endpoint. Everything lives in
 * `table ip trellis_policy`, apart from the service table (`ip trellis_lb`), which it never touches.
 *
 *   forward (filter, forward hook)  ct state established,related accept   policy decides new connections only
 *                                   mark 0x4000 set?  goto forward_masq   (see below)
 *                                   iifname vmap @egress_eps              source pod's egress
 *                                   oifname vmap @ingress_eps             destination pod's ingress
 *   forward_masq                    the same two checks, then mark 0x4000 again
 *   input (filter, input hook)      egress of pods towards the node itself (host, health, NodePorts)
 *   <ep>_eg / <ep>_in               jump egress_peer / ingress_peer: mark := identity of the peer
 *                                   (daddr / saddr in @ipcache; world when unknown)
 *                                   mark . l4proto . dport in <ep>_eg_deny  -> drop
 *                                   mark . l4proto . dport in <ep>_eg_allow -> mark := 0, return
 *                                   mark := 0, then drop (enforced) or return
 *
 * The peer's identity has to travel from the ipcache lookup to the set lookup in a register nft
 * lets a rule write and read back; nft 1.0.6 has no map lookup inside a concatenation, so it is
 * the packet mark. The service table marks packets with 0x4000 in prerouting to masquerade them
 * in postrouting: forward_masq puts that bit back after the checks, and every other packet an
 * endpoint chain looked at leaves with mark 0 (whatever other bits it had are lost; Trellis sets
 * none). A pod-to-pod packet on one node passes the source's egress and the destination's ingress.
 *
 * ICMP has no ports: `th dport` reads the ICMP header's checksum bytes, so only keys with any port
 * (L3-only rules) match ICMP. That is the semantics intended: a port rule allows no ping.
 *
 * Traffic from the node itself to a pod (output hook) is not checked: the node must reach its
 * pods for health checks, as Cilium allows the host by default.
 */
import { MASQUERADE_MARK } from "./layout.js";
import { policySetElements } from "./policy-intervals.js";
import { IDENTITY_WORLD } from "../../../cluster/index.js";
import type { EndpointPolicyRules } from "../../types.js";

export const POLICY_TABLE_FAMILY = "ip";
export const POLICY_TABLE = "trellis_policy";
/** Shown in the table's comment; bump it when the fixed part changes (every table is rebuilt on start anyway). */
export const POLICY_LAYOUT_VERSION = 1;

export const IPCACHE_MAP = "ipcache";
export const INGRESS_MAP = "ingress_eps";
export const EGRESS_MAP = "egress_eps";

export type Direction = "in" | "eg";
export type SetKind = "in_allow" | "in_deny" | "eg_allow" | "eg_deny";
export const SET_KINDS: readonly SetKind[] = ["in_allow", "in_deny", "eg_allow", "eg_deny"];

/** One endpoint as the table holds it: its object names' stem, enforcement, and set elements. */
export interface PlannedEndpoint {
  readonly hostIfName: string;
  /** Stem of the endpoint's chains and sets. */
  readonly name: string;
  readonly enforced: Readonly<Record<Direction, boolean>>;
  readonly elements: Readonly<Record<SetKind, readonly string[]>>;
}

const PLAIN = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The stem of an endpoint's object names: the interface name itself when nft takes it as an
 * identifier (every `trl…` name), otherwise "_x" and its bytes in hex. Plain stems start with a
 * letter, so the two kinds never collide; the fixed suffixes keep stems from colliding with
 * each other or with the fixed names.
 */
export function endpointStem(hostIfName: string): string {
  return PLAIN.test(hostIfName) ? hostIfName : `_x${Buffer.from(hostIfName).toString("hex")}`;
}

export function planEndpoint(rules: EndpointPolicyRules): PlannedEndpoint {
  return {
    hostIfName: rules.hostIfName,
    name: endpointStem(rules.hostIfName),
    enforced: { in: rules.ingress.enforced, eg: rules.egress.enforced },
    elements: {
      in_allow: policySetElements(rules.ingress.allow),
      in_deny: policySetElements(rules.ingress.deny),
      eg_allow: policySetElements(rules.egress.allow),
      eg_deny: policySetElements(rules.egress.deny),
    },
  };
}

export const setName = (ep: PlannedEndpoint, kind: SetKind) => `${ep.name}_${kind}`;
export const chainName = (ep: PlannedEndpoint, direction: Direction) => `${ep.name}_${direction}`;

const hex = (n: number) => `0x${n.toString(16)}`;
const KEY = "meta mark . meta l4proto . th dport";

/** The rules of an endpoint's chain for one direction, in nft syntax. */
export function endpointChainRules(ep: PlannedEndpoint, direction: Direction): string[] {
  return [
    `jump ${PEER_CHAIN[direction]}`,
    `${KEY} @${setName(ep, `${direction}_deny`)} drop`,
    `${KEY} @${setName(ep, `${direction}_allow`)} meta mark set 0 return`,
    `meta mark set 0 ${ep.enforced[direction] ? "drop" : "return"}`,
  ];
}

/**
 * The ipcache lookups live in two shared chains that endpoint chains jump to. A rule that names a
 * map is bound to it when added, and binding walks the map's elements: with 100,000 ipcache
 * entries, naming the map in two rules per endpoint made a rebuild with 1,000 endpoints take
 * seconds longer, and each new endpoint tens of milliseconds (measured here). A jump costs the
 * packet almost nothing.
 */
export const PEER_CHAIN: Readonly<Record<Direction, string>> = { in: "ingress_peer", eg: "egress_peer" };

function peerChain(direction: Direction): string[] {
  return [
    `\tchain ${PEER_CHAIN[direction]} {`,
    `\t\tmeta mark set ${IDENTITY_WORLD}`,
    // No entry: the lookup ends the rule and the mark stays world.
    `\t\tmeta mark set ${direction === "in" ? "ip saddr" : "ip daddr"} map @${IPCACHE_MAP}`,
    `\t}`,
  ];
}

export const endpointVmapKey = (ep: PlannedEndpoint) => `"${ep.hostIfName}"`;

/** The fixed part of the table, as one `table { }` block. */
export function policySkeletonScript(): string {
  const checks = [`\t\tiifname vmap @${EGRESS_MAP}`, `\t\toifname vmap @${INGRESS_MAP}`];
  return [
    `table ${POLICY_TABLE_FAMILY} ${POLICY_TABLE} {`,
    `\tcomment "Trellis network policy, layout ${POLICY_LAYOUT_VERSION}; written by the Trellis agent, which undoes any edit"`,
    `\tmap ${IPCACHE_MAP} { type ipv4_addr : mark; }`,
    `\tmap ${INGRESS_MAP} { type ifname : verdict; }`,
    `\tmap ${EGRESS_MAP} { type ifname : verdict; }`,
    ...peerChain("in"),
    ...peerChain("eg"),
    `\tchain forward {`,
    `\t\ttype filter hook forward priority filter; policy accept;`,
    `\t\tct state established,related accept`,
    `\t\tmeta mark & ${hex(MASQUERADE_MARK)} == ${hex(MASQUERADE_MARK)} goto forward_masq`,
    ...checks,
    `\t}`,
    `\tchain forward_masq {`,
    ...checks,
    `\t\tmeta mark set ${hex(MASQUERADE_MARK)}`,
    `\t}`,
    `\tchain input {`,
    `\t\ttype filter hook input priority filter; policy accept;`,
    `\t\tct state established,related accept`,
    `\t\tiifname vmap @${EGRESS_MAP}`,
    `\t}`,
    `}`,
  ].join("\n");
}
