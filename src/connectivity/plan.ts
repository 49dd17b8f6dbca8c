import { needsRemote, type ClusterSide, type ConnectivityCase, type Expectation, type Protocol } from "./cases.js";

/**
 * What the test found deployed (pods, nodes, service addresses), and the expansion of each case
 * into concrete actions against it. Pure: the runner and the unit tests feed it the same shapes.
 */

export interface PodInfo {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  /** The pod's network namespace, where probes from it run. */
  readonly netns?: string;
}

export interface NodeInfo {
  readonly name: string;
  readonly ip: string;
  /** The node's network namespace, when known (the lab); node-sourced cases are skipped without it. */
  readonly netns?: string;
}

export interface ServiceInfo {
  readonly port: number;
  readonly clusterIP?: string;
  readonly loadBalancerIP?: string;
  readonly nodePort?: number;
}

export interface ClusterEnv {
  readonly name: string;
  readonly nodes: readonly NodeInfo[];
  readonly echo: readonly PodInfo[];
  readonly services: Readonly<Record<string, ServiceInfo>>;
}

export interface TestEnv {
  readonly namespace: string;
  readonly local: ClusterEnv & { readonly client: PodInfo };
  readonly remote?: ClusterEnv;
}

export interface ActionSource {
  readonly kind: "pod" | "node" | "admin";
  /** "trellis-test/client-1a2b3", "cluster-1/node-1" or "admin". */
  readonly name: string;
  readonly ip?: string;
  /** Run the probe in this network namespace; none: in the CLI's own (the admin workstation). */
  readonly netns?: string;
}

export interface ActionDestination {
  readonly name: string;
  readonly ip: string;
  /** HTTP only. */
  readonly port?: number;
}

/** An HTTP answer must come from this pod, or from a pod of this cluster. */
export interface AnswerCheck {
  readonly pod?: string;
  readonly cluster?: string;
}

export interface Action {
  /** "<test>/<protocol>-<n>", unique within a run. */
  readonly id: string;
  readonly test: string;
  readonly source: ActionSource;
  readonly destination: ActionDestination;
  readonly protocol: Protocol;
  readonly expect: Expectation;
  readonly answeredBy?: AnswerCheck;
}

export type PlannedTest =
  | { readonly test: ConnectivityCase; readonly actions: readonly Action[] }
  | { readonly test: ConnectivityCase; readonly skipped: string };

export const ECHO_PORT = 80;

export function planTest(c: ConnectivityCase, env: TestEnv): PlannedTest {
  if (needsRemote(c) && !env.remote) return { test: c, skipped: "needs a second cluster (--multi-cluster)" };
  const source = resolveSource(c, env);
  if (typeof source === "string") return { test: c, skipped: source };
  const targets = resolveDestinations(c, env);
  if (typeof targets === "string") return { test: c, skipped: targets };
  const actions: Action[] = [];
  const counters = new Map<Protocol, number>();
  for (const t of targets) {
    for (const protocol of c.protocols) {
      if (protocol === "icmp" && t.icmp === false) continue;
      const n = counters.get(protocol) ?? 0;
      counters.set(protocol, n + 1);
      actions.push({
        id: `${c.name}/${protocol}-${n}`,
        test: c.name,
        source,
        destination: { name: t.name, ip: t.ip, ...(protocol === "http" ? { port: t.port } : {}) },
        protocol,
        expect: c.expect,
        ...(protocol === "http" ? { answeredBy: t.answeredBy } : {}),
      });
    }
  }
  if (actions.length === 0) return { test: c, skipped: "nothing to probe" };
  return { test: c, actions };
}

function resolveSource(c: ConnectivityCase, env: TestEnv): ActionSource | string {
  const client = env.local.client;
  switch (c.source.kind) {
    case "pod":
      return { kind: "pod", name: `${env.namespace}/${client.name}`, ip: client.ip, netns: client.netns };
    case "node": {
      const node = env.local.nodes.find((n) => n.name === client.node);
      if (!node?.netns) return `the network namespace of node ${client.node} is not known (only the lab has node namespaces)`;
      return { kind: "node", name: `${env.local.name}/${node.name}`, ip: node.ip, netns: node.netns };
    }
    case "admin":
      return { kind: "admin", name: "admin" };
  }
}

interface Target {
  readonly name: string;
  readonly ip: string;
  readonly port: number;
  readonly answeredBy: AnswerCheck;
  /** Service frontends answer TCP only, so ICMP is not probed against them. */
  readonly icmp?: false;
}

function resolveDestinations(c: ConnectivityCase, env: TestEnv): Target[] | string {
  const d = c.destination;
  const cluster = side(env, d.kind === "pod" ? d.cluster : d.answeredBy);
  if (!cluster) return "needs a second cluster (--multi-cluster)";
  if (d.kind === "pod") {
    const clientNode = env.local.client.node;
    const pods = cluster.echo.filter((p) => d.node === "all" || (d.node === "same") === (p.node === clientNode));
    if (pods.length === 0) return d.node === "other" ? `no echo pod on a node other than ${clientNode} (a cluster of one node?)` : `no echo pod${d.node === "same" ? ` on ${clientNode}` : ""} in ${cluster.name}`;
    return pods.map((p) => ({ name: `${env.namespace}/${p.name} (${cluster.name}/${p.node})`, ip: p.ip, port: ECHO_PORT, answeredBy: { pod: p.name } }));
  }
  const svc = env.local.services[d.name];
  const label = `${env.namespace}/${d.name}`;
  if (!svc) return `service ${label} is not deployed`;
  const answeredBy = { cluster: cluster.name };
  switch (d.address) {
    case "cluster-ip":
      return svc.clusterIP ? [{ name: `${label} (ClusterIP)`, ip: svc.clusterIP, port: svc.port, answeredBy, icmp: false }] : `service ${label} has no ClusterIP`;
    case "load-balancer":
      return svc.loadBalancerIP ? [{ name: `${label} (LoadBalancer)`, ip: svc.loadBalancerIP, port: svc.port, answeredBy, icmp: false }] : `service ${label} has no load-balancer IP`;
    case "node-port": {
      const port = svc.nodePort;
      if (!port) return `service ${label} has no node port`;
      return env.local.nodes.map((n) => ({ name: `${label} (NodePort on ${env.local.name}/${n.name})`, ip: n.ip, port, answeredBy, icmp: false }));
    }
  }
}

function side(env: TestEnv, s: ClusterSide): ClusterEnv | undefined {
  return s === "local" ? env.local : env.remote;
}
