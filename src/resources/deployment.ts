import { z } from "zod";
import { dnsLabel, dnsSubdomain, labelsSchema, matchesLabels, type Labels } from "./labels.js";
import { ManifestError } from "./manifest-error.js";

/**
 * The apps/v1 Deployment subset the lab runs (seed 002's nginx deployment): name, namespace,
 * labels, replicas, a selector, and one container with its ports. `image` is recorded, never pulled.
 */
const containerPort = z.object({
  containerPort: z.number().int().min(1).max(65535),
  name: z.string().optional(),
  protocol: z.enum(["TCP", "UDP"]).default("TCP"),
});

const deploymentSchema = z.object({
  apiVersion: z.literal("apps/v1"),
  kind: z.literal("Deployment"),
  metadata: z.object({
    name: dnsSubdomain,
    namespace: dnsLabel.default("default"),
    labels: labelsSchema.default({}),
  }),
  spec: z.object({
    replicas: z.number().int().min(0).max(1000).default(1),
    selector: z.object({ matchLabels: labelsSchema }),
    template: z.object({
      metadata: z.object({ labels: labelsSchema }),
      spec: z.object({
        containers: z
          .array(
            z.object({
              name: dnsLabel,
              image: z.string().min(1),
              ports: z.array(containerPort).default([]),
            }),
          )
          .min(1, "a pod needs at least one container"),
      }),
    }),
  }),
});

export type Deployment = z.infer<typeof deploymentSchema>;

export function parseDeployment(doc: unknown): Deployment {
  const name = (doc as { metadata?: { name?: string } } | null)?.metadata?.name;
  const r = deploymentSchema.safeParse(doc);
  if (!r.success) throw ManifestError.fromZod("Deployment", name, r.error);
  const d = r.data;
  if (!matchesLabels(d.spec.selector.matchLabels, d.spec.template.metadata.labels)) {
    throw new ManifestError(
      `invalid Deployment "${d.metadata.name}":\n  spec.selector.matchLabels: ${JSON.stringify(d.spec.selector.matchLabels)} does not select spec.template.metadata.labels ${JSON.stringify(d.spec.template.metadata.labels)}`,
    );
  }
  if (Object.keys(d.spec.selector.matchLabels).length === 0) {
    throw new ManifestError(`invalid Deployment "${d.metadata.name}":\n  spec.selector.matchLabels: must not be empty`);
  }
  return d;
}

export function podLabels(d: Deployment): Labels {
  return d.spec.template.metadata.labels;
}

export function podPorts(d: Deployment): number[] {
  return [...new Set(d.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => p.containerPort)))];
}
