import { HEALTH_PORT, targetName, type PathResult, type TargetResult } from "./types.js";

/**
 * Turns probe results into likely causes, the checks an operator would otherwise reason out from
 * the seed's firewall list (UDP 8472 for VXLAN, TCP 4240 for health): which path fails, and how,
 * points at what is in the way.
 */

export type HintCode =
  | "tcp-4240-blocked"
  | "agent-not-answering"
  | "node-unreachable"
  | "udp-8472-blocked"
  | "pod-routes-missing"
  | "responder-not-answering"
  | "endpoint-unreachable";

export interface HealthHint {
  /** "<cluster>/<node>" */
  readonly node: string;
  readonly code: HintCode;
  readonly message: string;
}

export interface DiagnoseOptions {
  /** How pod traffic crosses nodes; decides what a dead endpoint path points at. Default "tunnel". */
  readonly datapathMode?: "tunnel" | "native";
  readonly port?: number;
}

export function diagnose(nodes: readonly TargetResult[], options: DiagnoseOptions = {}): HealthHint[] {
  const port = options.port ?? HEALTH_PORT;
  const mode = options.datapathMode ?? "tunnel";
  const hints: HealthHint[] = [];
  for (const n of nodes) {
    const name = targetName(n);
    const hint = (code: HintCode, message: string) => hints.push({ node: name, code, message });
    const { host, endpoint } = n;

    if (n.local) {
      if (!host.http.ok) hint("agent-not-answering", `this node's health server on ${host.ip}:${port} does not answer; is the Trellis agent running here?`);
      if (endpoint && !endpoint.icmp.ok) {
        hint("endpoint-unreachable", `this node cannot reach its own health endpoint ${endpoint.ip}; its veth or host route may be missing`);
      } else if (endpoint && !endpoint.http.ok) {
        hint("responder-not-answering", `the health endpoint ${endpoint.ip} answers ICMP but not HTTP on port ${port}; its responder may have stopped`);
      }
      continue;
    }

    if (!host.icmp.ok && !host.http.ok) {
      hint("node-unreachable", `${host.ip} answers neither ICMP nor HTTP: the node is down, or the underlay does not reach it`);
      continue;
    }
    if (host.icmp.ok && !host.http.ok) {
      if (refused(host)) hint("agent-not-answering", `nothing listens on ${host.ip}:${port}; is the Trellis agent running on ${name}?`);
      else hint("tcp-4240-blocked", `ICMP to ${host.ip} works but HTTP to ${host.ip}:${port} does not: TCP ${port} may be blocked between the nodes`);
    }
    if (!endpoint) continue;
    if (pathOk(host) && !endpoint.icmp.ok && !endpoint.http.ok) {
      if (mode === "tunnel") {
        hint("udp-8472-blocked", `${name} answers on ${host.ip} but its health endpoint ${endpoint.ip} does not (traffic to it crosses the VXLAN tunnel): UDP 8472 (VXLAN) may be blocked between the nodes`);
      } else {
        hint("pod-routes-missing", `${name} answers on ${host.ip} but its health endpoint ${endpoint.ip} does not: the route to ${name}'s pod CIDR may be missing (native routing)`);
      }
    } else if (endpoint.icmp.ok && !endpoint.http.ok) {
      hint("responder-not-answering", `the health endpoint ${endpoint.ip} answers ICMP but not HTTP on port ${port}; its responder on ${name} may have stopped`);
    }
  }
  return hints;
}

function pathOk(p: PathResult): boolean {
  return p.icmp.ok && p.http.ok;
}

function refused(p: PathResult): boolean {
  return /connection refused/.test(p.http.error ?? "");
}
