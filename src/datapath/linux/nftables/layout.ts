/**
 * The service table: names, the fixed part, and the chains that pick a backend. Everything lives
 * in `table ip trellis_lb`; Trellis touches no other table.
 *
 *   prerouting / output (nat, dstnat)  jump services
 *   services     ip daddr . l4proto . dport  vmap @service_ips       ClusterIPs, load-balancer IPs
 *                fib daddr type local  l4proto . dport  vmap @service_nodeports
 *   <type>_<proto>_<N>                  per (frontend type, protocol, N active backends): N = 1..32
 *                                       always there, larger N while a frontend uses it:
 *                [nodePort, loadBalancer: mark for masquerade]
 *                dnat to <frontend key> . numgen random mod N  map @<proto>[_nodeport]_backends
 *   no_backends  reject (TCP reset, ICMP port unreachable otherwise)
 *   postrouting (nat, srcnat)           masquerade what was marked; masquerade hairpin traffic
 *
 * A frontend is one dispatch element (`goto cluster_tcp_3`, commented with the service id and
 * frontend type so a restarted agent can read it back) plus one backend-map element per slot
 * (`198.19.1.10 . 80 . 0 : 100.64.1.10 . 8080`, ...). Changing a service's backends rewrites only
 * its elements: delete and re-add the dispatch element and the slots, in one `nft -f` transaction.
 *
 * Why not kube-proxy's chain per service and per endpoint (DESIGN.md's starting point): with
 * Debian's nft 1.0.6, every `add rule` and `add element` first dumps all chains of the namespace
 * into nft's cache, and the kernel's chain dump restarts from the first chain on every netlink
 * batch, so its cost grows with the square of the chain count. Measured here with 10,000
 * services x 10 endpoints (110,000 chains): adding one map element took 2-4 s, and programming
 * them all took 110 s in one transaction, because binding each anonymous `numgen` vmap walks the
 * whole transaction. With one chain per service (10,000 chains) one change still took ~110 ms
 * against ~20 ms with 100 services. With per-service state kept in maps, the table has a fixed
 * set of chains whatever the service count, and one change costs the same with 100 or 10,000
 * services (bench/services.bench.ts). The selector chains for up to 32 backends are part of the
 * fixed set because adding a rule that refers to a map of 100,000 elements costs ~20 ms more
 * than with 1,000: a service scaling from 9 to 10 backends must not pay that.
 *
 * Masquerade: traffic that came in through a nodePort or a load-balancer IP is marked and then
 * masqueraded (kube-proxy's externalTrafficPolicy=Cluster), so a backend on another node answers
 * through this node. Traffic to a ClusterIP keeps its source (policy needs it), except a pod that
 * reaches itself through a service: it would drop a packet from its own address, so the
 * `hairpin` set (one element per local pod) masquerades exactly that case.
 */
import type { FrontendType, ServiceProtocol } from "../../types.js";

export const LB_TABLE_FAMILY = "ip";
export const LB_TABLE = "trellis_lb";
/**
 * Shown in the table's comment for operators; bump it when the fixed part changes. A table whose
 * fixed part differs from this layout's is replaced as a whole (one atomic transaction;
 * established connections keep their conntrack translations).
 */
export const LB_LAYOUT_VERSION = 1;

/** Packet-mark bit for "masquerade on the way out": the bit kube-proxy uses for the same purpose. */
export const MASQUERADE_MARK = 0x4000;

export const SERVICE_IPS_MAP = "service_ips";
export const NODEPORTS_MAP = "service_nodeports";
export const HAIRPIN_SET = "hairpin";
export const NO_BACKENDS_CHAIN = "no_backends";

/** The map holding the backend slots of frontends of `type` and `protocol`. */
export function backendMap(type: FrontendType, protocol: ServiceProtocol): string {
  return type === "nodePort" ? `${protocol}_nodeport_backends` : `${protocol}_backends`;
}

const SELECTOR_PREFIX: Record<FrontendType, string> = { clusterIP: "cluster", loadBalancer: "external", nodePort: "nodeport" };

/** Name of the chain that picks one of `backends` slots, e.g. "cluster_tcp_3". */
export function selectorChain(type: FrontendType, protocol: ServiceProtocol, backends: number): string {
  return `${SELECTOR_PREFIX[type]}_${protocol}_${backends}`;
}

/** Selector chains for up to this many backends are always in the table (see above). */
export const PRESET_SELECTORS = 32;

const FRONTEND_TYPES: readonly FrontendType[] = ["clusterIP", "loadBalancer", "nodePort"];
const PROTOCOLS: readonly ServiceProtocol[] = ["tcp", "udp"];

const SELECTOR_NAME = /^(cluster|external|nodeport)_(tcp|udp)_([1-9]\d{0,4})$/;

export function parseSelectorChain(name: string): { type: FrontendType; protocol: ServiceProtocol; backends: number } | undefined {
  const m = SELECTOR_NAME.exec(name);
  if (!m) return undefined;
  const type = (Object.keys(SELECTOR_PREFIX) as FrontendType[]).find((t) => SELECTOR_PREFIX[t] === m[1])!;
  return { type, protocol: m[2] as ServiceProtocol, backends: Number(m[3]) };
}

/** The key of a frontend's backend slots in its backend map, without the slot number. */
export function slotKeyPrefix(type: FrontendType, ip: string | undefined, port: number): string {
  return type === "nodePort" ? `${port}` : `${ip} . ${port}`;
}

/** The rules of a selector chain, in nft syntax. */
export function selectorRules(type: FrontendType, protocol: ServiceProtocol, backends: number): string[] {
  const key = type === "nodePort" ? `${protocol} dport` : `ip daddr . ${protocol} dport`;
  // `dnat to addr:port` needs the protocol match before it (FACTS.md).
  const dnat = `meta l4proto ${protocol} dnat ip addr . port to ${key} . numgen random mod ${backends} map @${backendMap(type, protocol)}`;
  return type === "clusterIP" ? [dnat] : [`meta mark set meta mark | ${hex(MASQUERADE_MARK)}`, dnat];
}

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * The fixed part of the table, as one `table { }` block. Backend maps are declared with `typeof`
 * because their keys end in a numgen value, whose plain type (integer) has no fixed size.
 */
export function skeletonScript(): string {
  const backendMaps = (["tcp", "udp"] as const).flatMap((p) => [
    `\tmap ${backendMap("clusterIP", p)} { typeof ip daddr . ${p} dport . numgen random mod 2 : ip daddr . ${p} dport; }`,
    `\tmap ${backendMap("nodePort", p)} { typeof ${p} dport . numgen random mod 2 : ip daddr . ${p} dport; }`,
  ]);
  return [
    `table ${LB_TABLE_FAMILY} ${LB_TABLE} {`,
    `\tcomment "Trellis service load-balancing, layout ${LB_LAYOUT_VERSION}; written by the Trellis agent, which undoes any edit"`,
    `\tmap ${SERVICE_IPS_MAP} { type ipv4_addr . inet_proto . inet_service : verdict; }`,
    `\tmap ${NODEPORTS_MAP} { type inet_proto . inet_service : verdict; }`,
    ...backendMaps,
    `\tset ${HAIRPIN_SET} { type ipv4_addr . ipv4_addr; }`,
    `\tchain prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }`,
    // The output hook has no named dstnat priority in nft 1.0.6; -100 is its value.
    `\tchain output { type nat hook output priority -100; policy accept; jump services; }`,
    `\tchain services {`,
    `\t\tip daddr . meta l4proto . th dport vmap @${SERVICE_IPS_MAP}`,
    `\t\tfib daddr type local meta l4proto . th dport vmap @${NODEPORTS_MAP}`,
    `\t}`,
    // A nat chain sees only a connection's first packet, so established connections never get here.
    ...FRONTEND_TYPES.flatMap((type) =>
      PROTOCOLS.flatMap((protocol) =>
        Array.from({ length: PRESET_SELECTORS }, (_, i) => `\tchain ${selectorChain(type, protocol, i + 1)} { ${selectorRules(type, protocol, i + 1).join("; ")}; }`),
      ),
    ),
    `\tchain ${NO_BACKENDS_CHAIN} {`,
    `\t\tmeta l4proto tcp reject with tcp reset`,
    `\t\treject`,
    `\t}`,
    `\tchain postrouting {`,
    `\t\ttype nat hook postrouting priority srcnat; policy accept;`,
    `\t\tmeta mark & ${hex(MASQUERADE_MARK)} == ${hex(MASQUERADE_MARK)} meta mark set meta mark ^ ${hex(MASQUERADE_MARK)} masquerade`,
    `\t\tct status dnat ip saddr . ip daddr @${HAIRPIN_SET} masquerade`,
    `\t}`,
    `}`,
  ].join("\n");
}

/*
 * The fixed part as `nft -j list table` prints it (nft 1.0.6), to recognise an intact table
 * after a restart. Another nft version may print it differently; the table is then rewritten
 * once, which traffic does not notice.
 */
const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
const mark = { meta: { key: "mark" } };
const l4proto = { meta: { key: "l4proto" } };

export const SKELETON_SETS: Readonly<Record<string, { type: readonly string[]; map?: string }>> = {
  [SERVICE_IPS_MAP]: { type: ["ipv4_addr", "inet_proto", "inet_service"], map: "verdict" },
  [NODEPORTS_MAP]: { type: ["inet_proto", "inet_service"], map: "verdict" },
  tcp_backends: { type: ["ipv4_addr", "inet_service", "integer"], map: "ipv4_addr . inet_service" },
  udp_backends: { type: ["ipv4_addr", "inet_service", "integer"], map: "ipv4_addr . inet_service" },
  tcp_nodeport_backends: { type: ["inet_service", "integer"], map: "ipv4_addr . inet_service" },
  udp_nodeport_backends: { type: ["inet_service", "integer"], map: "ipv4_addr . inet_service" },
  [HAIRPIN_SET]: { type: ["ipv4_addr", "ipv4_addr"] },
};

export interface ChainShape {
  readonly base?: { readonly type: string; readonly hook: string; readonly prio: number; readonly policy: string };
  readonly rules: readonly unknown[][];
}

const FIXED_CHAINS: Readonly<Record<string, ChainShape>> = {
  prerouting: { base: { type: "nat", hook: "prerouting", prio: -100, policy: "accept" }, rules: [[{ jump: { target: "services" } }]] },
  output: { base: { type: "nat", hook: "output", prio: -100, policy: "accept" }, rules: [[{ jump: { target: "services" } }]] },
  services: {
    rules: [
      [{ vmap: { key: { concat: [payload("ip", "daddr"), l4proto, payload("th", "dport")] }, data: `@${SERVICE_IPS_MAP}` } }],
      [
        { match: { op: "==", left: { fib: { result: "type", flags: ["daddr"] } }, right: "local" } },
        { vmap: { key: { concat: [l4proto, payload("th", "dport")] }, data: `@${NODEPORTS_MAP}` } },
      ],
    ],
  },
  [NO_BACKENDS_CHAIN]: { rules: [[{ reject: { type: "tcp reset" } }], [{ reject: { type: "icmp", expr: "port-unreachable" } }]] },
  postrouting: {
    base: { type: "nat", hook: "postrouting", prio: 100, policy: "accept" },
    rules: [
      [
        { match: { op: "==", left: { "&": [mark, MASQUERADE_MARK] }, right: MASQUERADE_MARK } },
        { mangle: { key: mark, value: { "^": [mark, MASQUERADE_MARK] } } },
        { masquerade: null },
      ],
      [
        { match: { op: "in", left: { ct: { key: "status" } }, right: "dnat" } },
        { match: { op: "==", left: { concat: [payload("ip", "saddr"), payload("ip", "daddr")] }, right: `@${HAIRPIN_SET}` } },
        { masquerade: null },
      ],
    ],
  },
};

export const SKELETON_CHAINS: Readonly<Record<string, ChainShape>> = {
  ...FIXED_CHAINS,
  ...Object.fromEntries(
    FRONTEND_TYPES.flatMap((type) =>
      PROTOCOLS.flatMap((protocol) => Array.from({ length: PRESET_SELECTORS }, (_, i) => [selectorChain(type, protocol, i + 1), selectorShape(type, protocol, i + 1)])),
    ),
  ),
};

/** A selector chain as nft 1.0.6 prints it (the port half of `addr . port` is not printed). */
export function selectorShape(type: FrontendType, protocol: ServiceProtocol, backends: number): ChainShape {
  const key = type === "nodePort" ? [payload(protocol, "dport")] : [payload("ip", "daddr"), payload(protocol, "dport")];
  const dnat = [
    {
      dnat: {
        family: "ip",
        addr: { map: { key: { concat: [...key, { numgen: { mode: "random", mod: backends, offset: 0 } }] }, data: `@${backendMap(type, protocol)}` } },
      },
    },
  ];
  const markRule = [{ mangle: { key: mark, value: { "|": [mark, MASQUERADE_MARK] } } }];
  return { rules: type === "clusterIP" ? [dnat] : [markRule, dnat] };
}
