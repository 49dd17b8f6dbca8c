import { tryParseIpv4 } from "../../../util/ipv4.js";
import { frontendsOf } from "../../services.js";
import type { DesiredNodeState, LbFrontendObject, LbHairpinObject, LbObject, LbSelectorObject, LbTableObject, ServiceSpec } from "../../types.js";
import { LB_TABLE, LB_TABLE_FAMILY, PRESET_SELECTORS } from "./layout.js";

export function lbTable(): LbTableObject {
  return { kind: "lb-table", family: LB_TABLE_FAMILY, name: LB_TABLE };
}

/**
 * A spec's frontends depend on nothing else, so they are planned once per spec object; a node
 * with thousands of services re-plans only the specs that changed (specs are immutable values).
 */
const frontendCache = new WeakMap<ServiceSpec, readonly LbFrontendObject[]>();
/** The selector object each planned frontend needs ("" for none: a fixed chain, or rejection). */
const selectorKeys = new WeakMap<LbFrontendObject, string>();

export function selectorKeyOf(f: LbFrontendObject): string {
  return selectorKeys.get(f) ?? dynamicSelectorKey(f);
}

function dynamicSelectorKey(f: LbFrontendObject): string {
  return f.backends.length > PRESET_SELECTORS ? `${f.type}/${f.protocol}/${f.backends.length}` : "";
}

export function selectorFor(f: LbFrontendObject): LbSelectorObject {
  return { kind: "lb-selector", frontend: f.type, protocol: f.protocol, backends: f.backends.length };
}

/**
 * Active backends in address order: slot numbers then follow the backends, not the order the
 * layers above happened to list them in, so a reordered list changes nothing in the kernel.
 */
function activeBackends(spec: ServiceSpec): string[] {
  return spec.backends
    .filter((b) => b.active)
    .sort((a, b) => tryParseIpv4(a.ip)! - tryParseIpv4(b.ip)! || a.port - b.port)
    .map((b) => `${b.ip}:${b.port}`);
}

export function serviceFrontends(spec: ServiceSpec): readonly LbFrontendObject[] {
  let frontends = frontendCache.get(spec);
  if (!frontends) {
    const backends = activeBackends(spec);
    frontends = frontendsOf(spec).map((f): LbFrontendObject => ({ kind: "lb-frontend", service: spec.id, ...f, backends }));
    for (const f of frontends) selectorKeys.set(f, dynamicSelectorKey(f));
    frontendCache.set(spec, frontends);
  }
  return frontends;
}

/**
 * The service table's objects for a (valid) desired state, unsorted: the table, every frontend,
 * a selector chain for each (frontend type, protocol, active backend count) in use beyond the
 * fixed ones, and a hairpin entry per local pod. No services: nothing, not even the table.
 */
export function planServices(desired: DesiredNodeState): LbObject[] {
  const services = desired.services ?? [];
  if (services.length === 0) return [];
  const objects: LbObject[] = [lbTable()];
  const selectors = new Map<string, LbSelectorObject>();
  for (const spec of services) {
    for (const f of serviceFrontends(spec)) {
      objects.push(f);
      const key = selectorKeyOf(f);
      if (key && !selectors.has(key)) selectors.set(key, selectorFor(f));
    }
  }
  objects.push(...selectors.values());
  objects.push(...desired.endpoints.map((e): LbHairpinObject => ({ kind: "lb-hairpin", ip: e.ip })));
  return objects;
}
