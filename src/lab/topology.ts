import { run, runJson } from "../util/exec.js";
import {
  ADMIN_IP,
  ADMIN_LINK,
  FABRIC_BRIDGE,
  FABRIC_NETNS,
  isLabNetns,
  UNDERLAY_PREFIX_LEN,
  type LabClusterPlan,
  type LabHost,
} from "./address-plan.js";
import { deleteNetns, ensureNetns, killPids, listNetns, netnsPids } from "./netns.js";

/**
 * The lab's wiring: a fabric namespace holding the underlay bridge, one namespace per control plane
 * and per node, each with an `eth0` veth into the bridge, and one veth from the root namespace (the
 * admin workstation) into the bridge with routes for the lab's ranges only. Every step checks what
 * exists first, so `lab up` can be run again after a half-finished run.
 */

interface LinkRow {
  ifname: string;
  operstate?: string;
  master?: string;
}

async function links(netns?: string): Promise<Map<string, LinkRow>> {
  const rows = await runJson<LinkRow[]>("ip", [...(netns ? ["-n", netns] : []), "-j", "link", "show"]);
  return new Map(rows.map((r) => [r.ifname, r]));
}

async function ensureFabric(existing: Set<string>): Promise<void> {
  await ensureNetns(FABRIC_NETNS, existing);
  const l = await links(FABRIC_NETNS);
  if (!l.has(FABRIC_BRIDGE)) {
    await run("ip", ["-n", FABRIC_NETNS, "link", "add", FABRIC_BRIDGE, "type", "bridge"]);
  }
  await run("ip", ["-n", FABRIC_NETNS, "link", "set", FABRIC_BRIDGE, "up"]);
}

/** A veth from `netns` (eth0, with the host's address) into the fabric bridge. */
async function ensureHost(host: LabHost, existing: Set<string>, options: { forwarding: boolean }): Promise<void> {
  await ensureNetns(host.netns, existing);
  const inside = await links(host.netns);
  if (!inside.has("eth0")) {
    const fabric = await links(FABRIC_NETNS);
    if (fabric.has(host.fabricPort)) await run("ip", ["-n", FABRIC_NETNS, "link", "del", host.fabricPort]);
    await run("ip", ["-n", FABRIC_NETNS, "link", "add", host.fabricPort, "type", "veth", "peer", "name", "eth0", "netns", host.netns]);
  }
  await run("ip", ["-n", FABRIC_NETNS, "link", "set", host.fabricPort, "master", FABRIC_BRIDGE, "up"]);
  await run("ip", ["-n", host.netns, "addr", "replace", `${host.ip}/${UNDERLAY_PREFIX_LEN}`, "dev", "eth0"]);
  await run("ip", ["-n", host.netns, "link", "set", "eth0", "up"]);
  await run("ip", ["-n", host.netns, "link", "set", "lo", "up"]);
  if (options.forwarding) {
    await run("ip", ["netns", "exec", host.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  }
}

async function ensureAdmin(): Promise<void> {
  const root = await links();
  if (!root.has(ADMIN_LINK)) {
    await run("ip", ["link", "add", ADMIN_LINK, "type", "veth", "peer", "name", "admin", "netns", FABRIC_NETNS]);
  }
  await run("ip", ["-n", FABRIC_NETNS, "link", "set", "admin", "master", FABRIC_BRIDGE, "up"]);
  // The /16 gives the root namespace a connected route to the underlay and nothing else.
  await run("ip", ["addr", "replace", `${ADMIN_IP}/${UNDERLAY_PREFIX_LEN}`, "dev", ADMIN_LINK]);
  await run("ip", ["link", "set", ADMIN_LINK, "up"]);
}

/** Builds (or completes) the wiring for these clusters. */
export async function applyTopology(clusters: readonly LabClusterPlan[]): Promise<void> {
  const existing = new Set(await listNetns());
  await ensureFabric(existing);
  await ensureAdmin();
  for (const c of clusters) {
    await ensureHost(c.controlPlane, existing, { forwarding: false });
    for (const n of c.nodes) {
      await ensureHost(n, existing, { forwarding: true });
      // A node reaching its own ClusterIPs needs a route to start from; nftables then DNATs.
      await run("ip", ["-n", n.netns, "route", "replace", c.serviceCIDR, "dev", "eth0"]);
    }
  }
}

/**
 * The lab's "cloud load balancer": each cluster's load-balancer pool is routed, from the admin
 * workstation, every control plane and the nodes of the other clusters, to that cluster's nodes
 * (ECMP over all of them), whose service datapath takes it from there.
 */
export async function applyLoadBalancerRoutes(clusters: readonly LabClusterPlan[]): Promise<void> {
  for (const target of clusters) {
    const hops = target.nodes.flatMap((n) => ["nexthop", "via", n.ip]);
    const route = ["route", "replace", target.loadBalancerPool, ...hops];
    await run("ip", route);
    for (const c of clusters) {
      await run("ip", ["-n", c.controlPlane.netns, ...route]);
      if (c !== target) for (const n of c.nodes) await run("ip", ["-n", n.netns, ...route]);
    }
  }
}

/**
 * Removes every namespace the lab made (stopping the processes inside first) and the admin link.
 * Works from names alone, so it also cleans up after a crash or a half-finished `up`.
 */
export async function teardownTopology(): Promise<{ namespaces: string[] }> {
  const all = (await listNetns()).filter(isLabNetns);
  // Every process in every lab namespace is signalled at once (one grace period, not one each).
  const pids = (await Promise.all(all.map((ns) => netnsPids(ns)))).flat();
  await killPids(pids);
  // Pods and nodes first, the fabric last.
  const order = [...all.filter((n) => n !== FABRIC_NETNS), ...all.filter((n) => n === FABRIC_NETNS)];
  for (const ns of order) await deleteNetns(ns);
  const root = await links();
  if (root.has(ADMIN_LINK)) await run("ip", ["link", "del", ADMIN_LINK], { allowFailure: true });
  return { namespaces: order };
}

/** What of the lab exists in the kernel right now (for `lab status` and the leak checks of tests). */
export async function labKernelState(): Promise<{ namespaces: string[]; adminLink: boolean; rootRoutes: string[] }> {
  const namespaces = (await listNetns()).filter(isLabNetns);
  const adminLink = (await links()).has(ADMIN_LINK);
  const routes = await runJson<{ dst: string; dev?: string }[]>("ip", ["-j", "route", "show"]);
  const rootRoutes = routes.filter((r) => r.dev === ADMIN_LINK).map((r) => r.dst);
  return { namespaces, adminLink, rootRoutes };
}
