import { z } from "zod";
import { dnsLabel, dnsSubdomain, labelsSchema, type Labels } from "./labels.js";
import { ManifestError } from "./manifest-error.js";

/**
 * The v1 Service subset Trellis serves: ClusterIP, NodePort and LoadBalancer, ports, selector, and
 * Cilium's cluster-mesh annotations (both spellings). Allocations (cluster IP, node ports,
 * load-balancer IPs) are the operator's, kept apart in a ServiceStatus.
 */
export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";
export type Affinity = "local" | "remote" | "none";

export const ANNOTATIONS = {
  global: ["service.cilium.io/global", "io.cilium/global-service"],
  shared: ["service.cilium.io/shared", "io.cilium/shared-service"],
  affinity: ["service.cilium.io/affinity", "io.cilium/service-affinity"],
} as const;

const portSchema = z.object({
  name: z.string().optional(),
  port: z.number().int().min(1).max(65535),
  targetPort: z.union([z.number().int().min(1).max(65535), z.string().min(1)]).optional(),
  protocol: z.enum(["TCP", "UDP"]).default("TCP"),
  nodePort: z.number().int().min(30000).max(32767).optional(),
});

const serviceSchema = z.object({
  apiVersion: z.literal("v1"),
  kind: z.literal("Service"),
  metadata: z.object({
    name: dnsSubdomain,
    namespace: dnsLabel.default("default"),
    labels: labelsSchema.default({}),
    annotations: z.record(z.string(), z.string()).default({}),
  }),
  spec: z.object({
    type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).default("ClusterIP"),
    ports: z.array(portSchema).min(1, "a service needs at least one port"),
    selector: labelsSchema.optional(),
  }),
});

export type Service = z.infer<typeof serviceSchema>;

export interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort: number;
  readonly protocol: "TCP" | "UDP";
  readonly nodePort?: number;
}

/** The operator's allocations and the backends it found, at `trellis/service-status/<ns>/<name>`. */
export interface ServiceStatus {
  readonly clusterIP: string;
  /** Per service port (by port number), when the type is NodePort or LoadBalancer. */
  readonly nodePorts: Readonly<Record<string, number>>;
  readonly loadBalancerIPs: readonly string[];
}

/** What the annotations say, with both of Cilium's spellings accepted. */
export interface MeshAnnotations {
  readonly global: boolean;
  readonly shared: boolean;
  readonly affinity: Affinity;
}

function annotation(annotations: Readonly<Record<string, string>>, names: readonly string[]): { name: string; value: string } | undefined {
  for (const n of names) if (annotations[n] !== undefined) return { name: n, value: annotations[n]! };
  return undefined;
}

function parseBool(a: { name: string; value: string } | undefined, dflt: boolean, svc: string): boolean {
  if (!a) return dflt;
  const v = a.value.trim().toLowerCase();
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ManifestError(`invalid Service "${svc}":\n  metadata.annotations["${a.name}"]: must be "true" or "false" (got "${a.value}")`);
}

export function meshAnnotations(annotations: Readonly<Record<string, string>>, svc = "service"): MeshAnnotations {
  const global = parseBool(annotation(annotations, ANNOTATIONS.global), false, svc);
  // A global service is shared unless it says otherwise (Cilium's default).
  const shared = parseBool(annotation(annotations, ANNOTATIONS.shared), true, svc);
  const a = annotation(annotations, ANNOTATIONS.affinity);
  let affinity: Affinity = "none";
  if (a) {
    const v = a.value.trim().toLowerCase();
    if (v !== "local" && v !== "remote" && v !== "none") {
      throw new ManifestError(`invalid Service "${svc}":\n  metadata.annotations["${a.name}"]: must be one of local, remote, none (got "${a.value}")`);
    }
    affinity = v;
  }
  return { global, shared, affinity };
}

export function parseService(doc: unknown): Service {
  const name = (doc as { metadata?: { name?: string } } | null)?.metadata?.name;
  const r = serviceSchema.safeParse(doc);
  if (!r.success) throw ManifestError.fromZod("Service", name, r.error);
  const s = r.data;
  meshAnnotations(s.metadata.annotations, s.metadata.name); // validated at apply, not later
  const seen = new Set<string>();
  s.spec.ports.forEach((p, i) => {
    const id = `${p.port}/${p.protocol}`;
    if (seen.has(id)) throw new ManifestError(`invalid Service "${s.metadata.name}":\n  spec.ports[${i}]: port ${id} is listed twice`);
    seen.add(id);
    if (typeof p.targetPort === "string") throw new ManifestError(`invalid Service "${s.metadata.name}":\n  spec.ports[${i}].targetPort: named ports are not supported; give the container port number`);
    if (p.nodePort !== undefined && s.spec.type === "ClusterIP") throw new ManifestError(`invalid Service "${s.metadata.name}":\n  spec.ports[${i}].nodePort: only NodePort and LoadBalancer services have node ports`);
  });
  return s;
}

export function servicePorts(s: Service): ServicePort[] {
  return s.spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: typeof p.targetPort === "number" ? p.targetPort : p.port, protocol: p.protocol, nodePort: p.nodePort }));
}

export function serviceSelector(s: Service): Labels | undefined {
  return s.spec.selector;
}
