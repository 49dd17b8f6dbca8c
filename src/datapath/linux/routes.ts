import type { RouteObject } from "../types.js";
import type { BatchLine } from "./commands.js";
import { TRELLIS_ROUTE_PROTOCOL } from "./ownership.js";

/** One entry of `ip -N -j route show table main` (-N: protocol and scope as numbers). */
export interface RouteJson {
  type?: string;
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
  flags?: string[];
}

export interface MainTableRoutes {
  /** Routes carrying Trellis's protocol number. */
  readonly ours: RouteObject[];
  /**
   * Destinations of everyone else's routes at metric 0: a Trellis `route replace` to one of them
   * would overwrite that route, so Trellis leaves such a destination alone and reports it.
   */
  readonly foreign: Map<string, string>;
}

/** Canonical destination: "a.b.c.d/len" (iproute2 prints host routes without "/32"). */
export function canonicalDst(dst: string): string {
  return dst === "default" ? "0.0.0.0/0" : dst.includes("/") ? dst : `${dst}/32`;
}

export function parseMainTable(json: readonly RouteJson[]): MainTableRoutes {
  const ours: RouteObject[] = [];
  const foreign = new Map<string, string>();
  for (const r of json) {
    if (!r.dst) continue;
    const dst = canonicalDst(r.dst);
    if (r.protocol === String(TRELLIS_ROUTE_PROTOCOL)) {
      ours.push({
        kind: "route",
        dst,
        ...(r.gateway ? { gateway: r.gateway } : {}),
        dev: r.dev ?? (r.type ? `(${r.type})` : ""),
        ...(r.flags?.includes("onlink") ? { onlink: true } : {}),
        ...(r.metric ? { metric: r.metric } : {}),
      });
    } else if (!r.metric) {
      foreign.set(dst, describeForeign(r));
    }
  }
  return { ours, foreign };
}

function describeForeign(r: RouteJson): string {
  const proto = r.protocol === undefined ? "boot" : r.protocol;
  return [r.type && r.type !== "unicast" ? r.type : "", r.dst, r.gateway ? `via ${r.gateway}` : "", r.dev ? `dev ${r.dev}` : "", `proto ${proto}`]
    .filter(Boolean)
    .join(" ");
}

/**
 * `replace` keeps the line idempotent (ip -batch stops being useful once a line fails on
 * "File exists"). A delete names the protocol so it can only ever hit a Trellis route.
 */
export function routeLine<T>(op: "add" | "remove", r: RouteObject, tag: T): BatchLine<T> {
  if (op === "remove") {
    return { command: `route del ${r.dst} proto ${TRELLIS_ROUTE_PROTOCOL}${r.metric ? ` metric ${r.metric}` : ""}`, tag };
  }
  const via = r.gateway ? ` via ${r.gateway}` : "";
  return { command: `route replace ${r.dst}${via} dev ${r.dev}${r.onlink ? " onlink" : ""} proto ${TRELLIS_ROUTE_PROTOCOL}`, tag };
}
