/**
 * Does pod traffic fit the tunnel without IP fragmentation? Counters are read around a stretch of
 * cross-node traffic (the caller's, e.g. the throughput runs, then don't-fragment pings at the pod
 * MTU and one byte over it):
 *   - an nftables counter on the fabric bridge for IPv4 fragments (MF set or a non-zero offset),
 *     which sees the outer packets of the tunnel;
 *   - the IP fragmentation and reassembly counters of /proc/net/snmp in both node namespaces and
 *     both pods (the node would fragment an oversized VXLAN packet; the peer would reassemble it);
 *   - the VXLAN devices' error and drop counters.
 * A control at the end sends an oversized ping between the node IPs, which must fragment, so a
 * zero above means "no fragments" and not "counters that never count".
 */
import { run } from "../../src/util/exec.js";
import { TUNNEL_DEVICE } from "../../src/datapath/linux/ownership.js";
import type { NetnsFixture } from "../../src/datapath/linux/netns-fixture.js";
import type { PodLab } from "./pod-lab.js";

const TABLE = "trbench";
/** /proc/net/snmp "Ip:" fields that move when this host fragments or reassembles. */
const SNMP_FIELDS = ["FragCreates", "FragFails", "ReasmReqds"] as const;
type SnmpField = (typeof SNMP_FIELDS)[number];
/** Larger than the underlay MTU, so the control ping must fragment. */
const CONTROL_PAYLOAD = 3000;

export interface PingOutcome {
  readonly payload: number;
  readonly ok: boolean;
  /** The line that says why it failed (or the summary when it worked). */
  readonly message: string;
}

interface Snapshot {
  readonly fabric: { vxlanFrames: number; fragments: number };
  /** Namespace label → SNMP fields. */
  readonly snmp: Record<string, Record<SnmpField, number>>;
  /** Node label → VXLAN device counters. */
  readonly vxlan: Record<string, VxlanCounters>;
}

export interface VxlanCounters {
  readonly txPackets: number;
  /** rx and tx errors plus rx drops. */
  readonly errors: number;
  /**
   * Includes the device's own IPv6 start-up chatter (router solicitations, MLD reports) to
   * multicast MACs it has no FDB entry for, which it drops with no pod traffic at all: shown,
   * not judged.
   */
  readonly txDropped: number;
}

export interface FragmentationResult {
  readonly podMtu: number;
  readonly atMtu: PingOutcome;
  readonly overMtu: PingOutcome;
  /** VXLAN frames seen on the fabric during the observed traffic. */
  readonly vxlanFrames: number;
  readonly fabricFragments: number;
  /** Namespace label → FragCreates/FragFails/ReasmReqds deltas. */
  readonly snmp: Record<string, Record<SnmpField, number>>;
  readonly vxlan: Record<string, VxlanCounters>;
  /** Fabric fragments and reassemblies on node 2 caused by the control ping. */
  readonly control: { readonly payload: number; readonly fabricFragments: number; readonly reassemblies: number };
}

export function parseSnmpIp(text: string): Record<string, number> {
  const lines = text.split("\n").filter((l) => l.startsWith("Ip: "));
  const [names, values] = [lines[0]?.split(/\s+/).slice(1), lines[1]?.split(/\s+/).slice(1)];
  if (!names || !values || names.length !== values.length) throw new Error(`unexpected /proc/net/snmp format: ${lines.join(" | ").slice(0, 200)}`);
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}

async function installFabricCounters(fixture: NetnsFixture, fabric: string): Promise<void> {
  const rules = [
    `table bridge ${TABLE} {`,
    "  counter vxlan { }",
    "  counter fragments { }",
    "  chain observe {",
    "    type filter hook forward priority 0; policy accept;",
    '    udp dport 8472 counter name "vxlan"',
    // 0x3fff: the More Fragments flag and the 13-bit offset; either set means a fragment.
    '    ip frag-off & 0x3fff != 0 counter name "fragments"',
    "  }",
    "}",
  ];
  await fixture.exec(fabric, "nft", ["-f", "-"], { input: rules.join("\n") + "\n" });
}

async function fabricCounters(fixture: NetnsFixture, fabric: string): Promise<Snapshot["fabric"]> {
  const r = await fixture.exec(fabric, "nft", ["-j", "list", "counters", "table", "bridge", TABLE]);
  const items = (JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] }).nftables;
  const get = (name: string) => {
    const c = items.find((i) => i.counter?.name === name)?.counter;
    if (!c) throw new Error(`nft counter "${name}" missing from table bridge ${TABLE} in ${fabric}`);
    return c.packets;
  };
  return { vxlanFrames: get("vxlan"), fragments: get("fragments") };
}

function namespaces(lab: PodLab): Record<string, string> {
  const [node1, node2] = lab.topology.nodes;
  return { "node 1": node1!.netns, "node 2": node2!.netns, "pod on node 1": lab.client.netns, "pod on node 2": lab.otherNode.netns };
}

async function snapshot(fixture: NetnsFixture, lab: PodLab): Promise<Snapshot> {
  const snmp: Snapshot["snmp"] = {};
  for (const [label, ns] of Object.entries(namespaces(lab))) {
    const ip = parseSnmpIp((await fixture.exec(ns, "cat", ["/proc/net/snmp"])).stdout);
    snmp[label] = Object.fromEntries(SNMP_FIELDS.map((f) => [f, ip[f] ?? NaN])) as Record<SnmpField, number>;
  }
  const vxlan: Record<string, VxlanCounters> = {};
  for (const node of lab.topology.nodes) {
    type Stats = { stats64: { rx: { errors: number; dropped: number }; tx: { packets: number; errors: number; dropped: number } } };
    const [link] = await fixture.ipJson<Stats>(node.netns, "-s", "link", "show", "dev", TUNNEL_DEVICE);
    if (!link) throw new Error(`${node.local.name} has no ${TUNNEL_DEVICE} device; is the lab in tunnel mode?`);
    const { rx, tx } = link.stats64;
    vxlan[`node ${node.index}`] = { txPackets: tx.packets, errors: rx.errors + rx.dropped + tx.errors, txDropped: tx.dropped };
  }
  return { fabric: await fabricCounters(fixture, lab.topology.fabric), snmp, vxlan };
}

async function ping(netns: string, to: string, payload: number, dontFragment: boolean, count: number): Promise<PingOutcome> {
  const r = await run("ip", ["netns", "exec", netns, "ping", "-n", "-c", String(count), "-i", "0.2", "-W", "2", "-M", dontFragment ? "do" : "dont", "-s", String(payload), to], {
    allowFailure: true,
    timeoutMs: 20_000,
  });
  const summary = /\d+ packets transmitted.*/.exec(r.stdout)?.[0];
  // ping says why on stderr ("ping: local error: message too long, mtu=1450").
  const error = r.stderr.split("\n").find((l) => l.trim() !== "")?.trim();
  return { payload, ok: r.code === 0, message: (r.code === 0 ? summary : (error ?? summary)) ?? `exit code ${r.code}` };
}

/**
 * Installs the counters, runs `traffic` (cross-node pod traffic of the caller's choosing), then the
 * don't-fragment pings, and reports what moved. `lab` must be in tunnel mode.
 */
export async function observeFragmentation<T>(fixture: NetnsFixture, lab: PodLab, traffic: () => Promise<T>): Promise<{ traffic: T; result: FragmentationResult }> {
  if (lab.mode !== "tunnel") throw new Error(`the fragmentation check needs a tunnel-mode lab, got ${lab.mode}`);
  await installFabricCounters(fixture, lab.topology.fabric);
  const before = await snapshot(fixture, lab);
  const trafficResult = await traffic();
  // ICMP echo adds 28 bytes of headers (IPv4 20 + ICMP 8) to the payload.
  const largest = lab.podMtu - 28;
  const atMtu = await ping(lab.client.netns, lab.otherNode.ip, largest, true, 3);
  const overMtu = await ping(lab.client.netns, lab.otherNode.ip, largest + 1, true, 1);
  const after = await snapshot(fixture, lab);

  const [node1, node2] = lab.topology.nodes;
  const control = await ping(node1!.netns, node2!.local.nodeIP, CONTROL_PAYLOAD, false, 1);
  if (!control.ok) throw new Error(`control ping of ${CONTROL_PAYLOAD} bytes from node 1 to ${node2!.local.nodeIP} failed: ${control.message}`);
  const afterControl = await snapshot(fixture, lab);

  const snmp: FragmentationResult["snmp"] = {};
  for (const label of Object.keys(after.snmp)) {
    snmp[label] = Object.fromEntries(SNMP_FIELDS.map((f) => [f, after.snmp[label]![f] - before.snmp[label]![f]])) as Record<SnmpField, number>;
  }
  const vxlan: FragmentationResult["vxlan"] = {};
  for (const [label, a] of Object.entries(after.vxlan)) {
    const b = before.vxlan[label]!;
    vxlan[label] = { txPackets: a.txPackets - b.txPackets, errors: a.errors - b.errors, txDropped: a.txDropped - b.txDropped };
  }
  return {
    traffic: trafficResult,
    result: {
      podMtu: lab.podMtu,
      atMtu,
      overMtu,
      vxlanFrames: after.fabric.vxlanFrames - before.fabric.vxlanFrames,
      fabricFragments: after.fabric.fragments - before.fabric.fragments,
      snmp,
      vxlan,
      control: {
        payload: CONTROL_PAYLOAD,
        fabricFragments: afterControl.fabric.fragments - after.fabric.fragments,
        reassemblies: afterControl.snmp["node 2"]!.ReasmReqds - after.snmp["node 2"]!.ReasmReqds,
      },
    },
  };
}

/** True when the check passed: full-size packets cross, one more byte is refused, nothing fragmented. */
export function noFragmentation(r: FragmentationResult): { pass: boolean; countersLive: boolean } {
  const quiet = r.fabricFragments === 0 && Object.values(r.snmp).every((s) => Object.values(s).every((v) => v === 0)) && Object.values(r.vxlan).every((v) => v.errors === 0);
  const refused = !r.overMtu.ok && /too long/i.test(r.overMtu.message);
  const countersLive = r.control.fabricFragments > 0 && r.control.reassemblies > 0;
  return { pass: r.atMtu.ok && refused && quiet && countersLive, countersLive };
}

export function fragmentationMarkdown(r: FragmentationResult): string {
  const verdict = noFragmentation(r);
  const snmpCell = (label: string) => SNMP_FIELDS.map((f) => r.snmp[label]![f]).join(" / ");
  return [
    `Tunnel mode, underlay MTU 1500, pod MTU ${r.podMtu}. Counters were read before the tunnel-mode throughput runs and after`,
    "the don't-fragment pings below, pod on node 1 → pod on node 2.",
    "",
    "| check | result |",
    "| --- | --- |",
    `| \`ping -M do -s ${r.atMtu.payload}\` (a ${r.atMtu.payload + 28}-byte packet, the pod MTU) | ${r.atMtu.ok ? "answered" : "FAILED"}: ${r.atMtu.message} |`,
    `| \`ping -M do -s ${r.overMtu.payload}\` (one byte more) | ${r.overMtu.ok ? "ANSWERED (should have been refused)" : "refused"}: \`${r.overMtu.message}\` |`,
    `| VXLAN frames crossing the fabric | ${r.vxlanFrames} |`,
    `| IPv4 fragments on the fabric (nft \`ip frag-off & 0x3fff != 0\`) | ${r.fabricFragments} |`,
    ...Object.keys(r.snmp).map((label) => `| ${label}: /proc/net/snmp FragCreates / FragFails / ReasmReqds | ${snmpCell(label)} |`),
    ...Object.entries(r.vxlan).map(([label, v]) => `| ${label}: ${TUNNEL_DEVICE} tx packets / rx+tx errors and rx drops / tx drops¹ | ${v.txPackets} / ${v.errors} / ${v.txDropped} |`),
    `| control: \`ping -s ${r.control.payload}\` between the node IPs | ${r.control.fabricFragments} fragments on the fabric, ${r.control.reassemblies} reassemblies on node 2 |`,
    "",
    "¹ tx drops also count the device's own IPv6 start-up chatter (router solicitations, MLD reports) to multicast MACs it",
    "has no FDB entry for: a handful in the seconds after it comes up, with no pod traffic at all. Shown, not judged.",
    "",
    `**Verdict:** ${
      verdict.pass
        ? `no fragmentation: full-size pod packets cross the tunnel whole, and one byte more is refused at the sender.`
        : verdict.countersLive
          ? "FAILED: see the rows above."
          : "inconclusive: the control did not move the counters."
    }`,
  ].join("\n");
}
