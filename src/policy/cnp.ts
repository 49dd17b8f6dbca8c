import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { clusterNameProblem } from "../cluster/index.js";
import { dnsLabel, dnsSubdomain } from "../resources/labels.js";
import { ManifestError } from "../resources/manifest-error.js";
import { POD_NAMESPACE_LABEL, POLICY_CLUSTER_LABEL } from "../state/labels.js";
import {
  CCNP_KIND,
  CNP_KIND,
  ENTITIES,
  POLICY_API_VERSION,
  type EndpointSelector,
  type Entity,
  type NetworkPolicy,
  type PeerRule,
  type PolicyKind,
  type PolicyRule,
  type PortProtocol,
  type PortProtocolName,
  type SelectorOperator,
} from "./model.js";
import { normalizeSelectorKey, selectorKeyProblem, selectorValueProblem, splitSelectorKey, SOURCE_ANY } from "./selector.js";

/**
 * Reads CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy documents (cilium.io/v2) into the
 * typed model. Everything Trellis cannot enforce is refused at apply time rather than ignored: a
 * silently dropped deny rule or CIDR rule would leave traffic open that the author meant to close.
 * Errors name the document, the field path and the value given, like the other manifests.
 */

const MAX_PORTS = 40; // Cilium's limit per toPorts entry

const HINTS: Readonly<Record<string, string>> = {
  rules: "L7 rules need a proxy, which Trellis does not run",
  nodeSelector: "host policies are not supported; select endpoints with endpointSelector",
  icmps: "ICMP rules are not supported yet",
  fromCIDR: "CIDR rules are not supported yet; fromEntities: [world] selects everything outside the mesh",
  fromCIDRSet: "CIDR rules are not supported yet; fromEntities: [world] selects everything outside the mesh",
  toCIDR: "CIDR rules are not supported yet; toEntities: [world] selects everything outside the mesh",
  toCIDRSet: "CIDR rules are not supported yet; toEntities: [world] selects everything outside the mesh",
  toFQDNs: "DNS-based rules need a DNS proxy, which Trellis does not run",
};

/** A strict object whose unknown-field error says what the object does accept. */
function strict<T extends z.ZodRawShape>(shape: T, what: string) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== "unrecognized_keys") return undefined;
      const keys = (iss as { keys: string[] }).keys;
      const hints = keys.filter((k) => HINTS[k] !== undefined).map((k) => `; ${k}: ${HINTS[k]}`);
      return `${keys.map((k) => JSON.stringify(k)).join(", ")} ${keys.length === 1 ? "is" : "are"} not supported in ${what} (accepted: ${known})${hints.join("")}`;
    },
  });
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value);
  return json === undefined ? typeof value : json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function clusterValueProblem(key: string, value: string): string | undefined {
  if (splitSelectorKey(key).key !== POLICY_CLUSTER_LABEL) return undefined;
  const why = clusterNameProblem(value);
  return why === undefined ? undefined : `${JSON.stringify(value)} is not a cluster name: ${why}`;
}

const OPERATORS: readonly SelectorOperator[] = ["In", "NotIn", "Exists", "DoesNotExist"];

const expressionSchema = strict(
  {
    key: z.string(),
    operator: z.string().refine((o) => (OPERATORS as readonly string[]).includes(o), { error: (iss) => `operator must be one of ${OPERATORS.join(", ")} (got ${describe(iss.input)})` }),
    values: z.array(z.string()).optional(),
  },
  "a matchExpressions entry",
);

const selectorSchema = strict(
  {
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z.array(expressionSchema).optional(),
  },
  "a label selector",
).superRefine((sel, ctx) => {
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) {
    const why = selectorKeyProblem(key) ?? selectorValueProblem(key, value) ?? clusterValueProblem(key, value);
    if (why !== undefined) ctx.addIssue({ code: "custom", path: ["matchLabels", key], message: why });
    const stored = normalizeSelectorKey(key);
    const other = seen.get(stored);
    if (other !== undefined) ctx.addIssue({ code: "custom", path: ["matchLabels", key], message: `${JSON.stringify(other)} and ${JSON.stringify(key)} are the same label; keep one` });
    seen.set(stored, key);
  }
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const keyWhy = selectorKeyProblem(e.key);
    if (keyWhy !== undefined) ctx.addIssue({ code: "custom", path: ["matchExpressions", i, "key"], message: keyWhy });
    const values = e.values ?? [];
    if ((e.operator === "In" || e.operator === "NotIn") && values.length === 0) {
      ctx.addIssue({ code: "custom", path: ["matchExpressions", i, "values"], message: `operator ${e.operator} needs at least one value` });
    }
    if ((e.operator === "Exists" || e.operator === "DoesNotExist") && values.length > 0) {
      ctx.addIssue({ code: "custom", path: ["matchExpressions", i, "values"], message: `operator ${e.operator} takes no values (got ${describe(values)})` });
    }
    if (keyWhy !== undefined) return;
    values.forEach((v, j) => {
      const why = selectorValueProblem(e.key, v) ?? clusterValueProblem(e.key, v);
      if (why !== undefined) ctx.addIssue({ code: "custom", path: ["matchExpressions", i, "values", j], message: why });
    });
  });
});

type RawSelector = z.infer<typeof selectorSchema>;

const PROTOCOLS: readonly PortProtocolName[] = ["TCP", "UDP", "SCTP", "ANY"];

function readPort(value: unknown): number | string {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 65535 ? value : `port must be 0-65535, 0 meaning every port (got ${describe(value)})`;
  }
  if (typeof value === "string") {
    if (/^[0-9]+$/.test(value)) return readPort(Number(value));
    if (/^[a-z0-9-]*[a-z][a-z0-9-]*$/i.test(value)) return `named ports are not supported; give the port number (got ${describe(value)})`;
    return `port must be a number 0-65535 (got ${describe(value)})`;
  }
  return value === undefined ? "port is required (0 means every port)" : `port must be a number 0-65535 (got ${describe(value)})`;
}

const portProtocolSchema = strict(
  {
    port: z.unknown().optional(),
    endPort: z.unknown().optional(),
    protocol: z.unknown().optional(),
  },
  "a ports entry",
).superRefine((p, ctx) => {
  const port = readPort(p.port);
  if (typeof port === "string") ctx.addIssue({ code: "custom", path: ["port"], message: port });
  if (p.endPort !== undefined) {
    const end = p.endPort;
    if (typeof end !== "number" || !Number.isInteger(end) || end < 1 || end > 65535) {
      ctx.addIssue({ code: "custom", path: ["endPort"], message: `endPort must be a number 1-65535 (got ${describe(end)})` });
    } else if (typeof port === "number" && (port === 0 || end < port)) {
      ctx.addIssue({ code: "custom", path: ["endPort"], message: port === 0 ? "endPort needs a non-zero port to start the range" : `endPort ${end} is below port ${port}` });
    }
  }
  if (p.protocol !== undefined) {
    const proto = typeof p.protocol === "string" ? p.protocol.toUpperCase() : undefined;
    if (proto === undefined || !(PROTOCOLS as readonly string[]).includes(proto)) {
      const why = proto === "ICMP" || proto === "ICMPV6" || proto === "VRRP" || proto === "IGMP" ? "is not supported by Trellis" : "is not a protocol";
      ctx.addIssue({ code: "custom", path: ["protocol"], message: `protocol ${describe(p.protocol)} ${why}; use one of ${PROTOCOLS.join(", ")} (ANY when omitted)` });
    }
  }
});

const portRuleSchema = strict({ ports: z.array(portProtocolSchema).max(MAX_PORTS, `at most ${MAX_PORTS} ports per toPorts entry`).optional() }, "a toPorts entry");

const entitySchema = z.string().refine((e) => (ENTITIES as readonly string[]).includes(e), {
  error: (iss) => `unknown entity ${describe(iss.input)}; entities are ${ENTITIES.join(", ")}`,
});

const ingressSchema = strict(
  { fromEndpoints: z.array(selectorSchema).optional(), fromEntities: z.array(entitySchema).optional(), toPorts: z.array(portRuleSchema).optional() },
  "an ingress rule",
);
const egressSchema = strict(
  { toEndpoints: z.array(selectorSchema).optional(), toEntities: z.array(entitySchema).optional(), toPorts: z.array(portRuleSchema).optional() },
  "an egress rule",
);

const ruleSchema = strict(
  {
    endpointSelector: selectorSchema.optional(),
    ingress: z.array(ingressSchema).optional(),
    ingressDeny: z.array(ingressSchema).optional(),
    egress: z.array(egressSchema).optional(),
    egressDeny: z.array(egressSchema).optional(),
    enableDefaultDeny: strict({ ingress: z.boolean().optional(), egress: z.boolean().optional() }, "enableDefaultDeny").optional(),
    description: z.string().optional(),
    labels: z.array(z.looseObject({ key: z.string() })).optional(),
  },
  "a policy rule",
).superRefine((r, ctx) => {
  if (r.endpointSelector === undefined) {
    ctx.addIssue({ code: "custom", path: ["endpointSelector"], message: "endpointSelector is required: it chooses the endpoints the rule applies to ({} selects all of the policy's namespace)" });
  }
});

type RawRule = z.infer<typeof ruleSchema>;

const documentSchema = strict(
  {
    apiVersion: z.unknown().refine((v) => v === POLICY_API_VERSION, { error: (iss) => `apiVersion must be "${POLICY_API_VERSION}" (got ${describe(iss.input)})` }),
    kind: z.enum([CNP_KIND, CCNP_KIND]),
    metadata: z.looseObject({
      name: dnsSubdomain,
      namespace: dnsLabel.optional(),
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    }),
    spec: ruleSchema.optional(),
    specs: z.array(ruleSchema).optional(),
    status: z.unknown().optional(),
  },
  "a policy document",
).superRefine((doc, ctx) => {
  if (doc.spec === undefined && (doc.specs === undefined || doc.specs.length === 0)) {
    ctx.addIssue({ code: "custom", path: ["spec"], message: `a ${doc.kind} needs spec (one rule) or specs (a list of rules)` });
  }
  if (doc.kind === CCNP_KIND) {
    if (doc.metadata.namespace !== undefined) {
      ctx.addIssue({ code: "custom", path: ["metadata", "namespace"], message: `a ${CCNP_KIND} is cluster-scoped: remove metadata.namespace (got ${describe(doc.metadata.namespace)})` });
    }
    return;
  }
  const namespace = doc.metadata.namespace ?? "default";
  const rules: [(string | number)[], RawRule][] = [];
  if (doc.spec) rules.push([["spec"], doc.spec]);
  doc.specs?.forEach((r, i) => rules.push([["specs", i], r]));
  for (const [path, rule] of rules) {
    for (const [key, value] of Object.entries(rule.endpointSelector?.matchLabels ?? {})) {
      const { source, key: name } = splitSelectorKey(key);
      if (name === POD_NAMESPACE_LABEL && (source === "k8s" || source === SOURCE_ANY) && value !== namespace) {
        ctx.addIssue({
          code: "custom",
          path: [...path, "endpointSelector", "matchLabels", key],
          message: `a ${CNP_KIND} applies only to endpoints of its own namespace ${JSON.stringify(namespace)}: drop this label or create the policy in namespace ${JSON.stringify(value)}`,
        });
      }
    }
  }
});

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (typeof p === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out === "" ? p : `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out === "" ? "(document)" : out;
}

function policyError(kind: string, name: string | undefined, error: z.ZodError): ManifestError {
  const lines = error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
  return new ManifestError(`invalid ${kind}${name ? ` "${name}"` : ""}:\n${lines.join("\n")}`);
}

function toSelector(raw: RawSelector): EndpointSelector {
  return {
    matchLabels: Object.fromEntries(Object.entries(raw.matchLabels ?? {}).map(([k, v]) => [normalizeSelectorKey(k), v])),
    matchExpressions: (raw.matchExpressions ?? []).map((e) => ({
      key: normalizeSelectorKey(e.key),
      operator: e.operator as SelectorOperator,
      values: [...(e.values ?? [])],
    })),
  };
}

function toPort(raw: { port?: unknown; endPort?: unknown; protocol?: unknown }): PortProtocol {
  const port = readPort(raw.port) as number;
  const endPort = typeof raw.endPort === "number" ? raw.endPort : port;
  const protocol = (typeof raw.protocol === "string" ? raw.protocol.toUpperCase() : "ANY") as PortProtocolName;
  return { port, endPort, protocol };
}

interface RawPeer {
  readonly endpoints?: readonly RawSelector[];
  readonly entities?: readonly string[];
  readonly toPorts?: readonly { ports?: readonly { port?: unknown; endPort?: unknown; protocol?: unknown }[] }[];
}

function toPeer(raw: RawPeer): PeerRule {
  const peer: { endpoints?: EndpointSelector[]; entities?: Entity[]; toPorts: { ports: PortProtocol[] }[] } = {
    toPorts: (raw.toPorts ?? []).map((p) => ({ ports: (p.ports ?? []).map(toPort) })),
  };
  if (raw.endpoints !== undefined) peer.endpoints = raw.endpoints.map(toSelector);
  if (raw.entities !== undefined) peer.entities = raw.entities as Entity[];
  return peer;
}

function toRule(raw: RawRule, path: string): PolicyRule {
  const ingress = (r: z.infer<typeof ingressSchema>) => toPeer({ endpoints: r.fromEndpoints, entities: r.fromEntities, toPorts: r.toPorts });
  const egress = (r: z.infer<typeof egressSchema>) => toPeer({ endpoints: r.toEndpoints, entities: r.toEntities, toPorts: r.toPorts });
  const enableDefaultDeny: { ingress?: boolean; egress?: boolean } = {};
  if (raw.enableDefaultDeny?.ingress !== undefined) enableDefaultDeny.ingress = raw.enableDefaultDeny.ingress;
  if (raw.enableDefaultDeny?.egress !== undefined) enableDefaultDeny.egress = raw.enableDefaultDeny.egress;
  const rule: PolicyRule = {
    path,
    endpointSelector: toSelector(raw.endpointSelector ?? {}),
    ingress: (raw.ingress ?? []).map(ingress),
    ingressDeny: (raw.ingressDeny ?? []).map(ingress),
    egress: (raw.egress ?? []).map(egress),
    egressDeny: (raw.egressDeny ?? []).map(egress),
    enableDefaultDeny,
  };
  return raw.description === undefined ? rule : { ...rule, description: raw.description };
}

/** True for the apiVersion/kind pairs parseNetworkPolicy reads. */
export function isPolicyDocument(apiVersion: unknown, kind: unknown): boolean {
  return apiVersion === POLICY_API_VERSION && (kind === CNP_KIND || kind === CCNP_KIND);
}

/**
 * Validates one decoded document (from YAML or JSON) and returns the typed policy. Throws a
 * ManifestError listing every problem, each with its field path. A CiliumNetworkPolicy without
 * metadata.namespace lives in "default", as kubectl would put it.
 */
export function parseNetworkPolicy(doc: unknown): NetworkPolicy {
  const head = (doc ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
  const kind = typeof head.kind === "string" ? head.kind : CNP_KIND;
  const name = typeof head.metadata?.name === "string" ? head.metadata.name : undefined;
  const r = documentSchema.safeParse(doc);
  if (!r.success) throw policyError(kind, name, r.error);
  const d = r.data;
  const rules: PolicyRule[] = [];
  if (d.spec) rules.push(toRule(d.spec, "spec"));
  d.specs?.forEach((s, i) => rules.push(toRule(s, `specs[${i}]`)));
  const policyKind: PolicyKind = d.kind;
  if (policyKind === CCNP_KIND) return { kind: policyKind, name: d.metadata.name, rules };
  return { kind: policyKind, name: d.metadata.name, namespace: d.metadata.namespace ?? "default", rules };
}

/** Reads a (multi-document) YAML or JSON text of policies; any other kind is an error. */
export function parsePolicyManifests(text: string, source = "input"): NetworkPolicy[] {
  const docs = parseAllDocuments(text);
  const out: NetworkPolicy[] = [];
  docs.forEach((d, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    if (d.errors.length) throw new ManifestError(`${where} is not valid YAML: ${d.errors[0]!.message}`);
    const obj: unknown = d.toJS();
    if (obj === null || obj === undefined) return;
    const { apiVersion, kind } = (typeof obj === "object" ? obj : {}) as { apiVersion?: unknown; kind?: unknown };
    if (!isPolicyDocument(apiVersion, kind)) {
      throw new ManifestError(`${where}: unsupported kind "${String(apiVersion)} ${String(kind)}"; supported: ${POLICY_API_VERSION} ${CNP_KIND}, ${POLICY_API_VERSION} ${CCNP_KIND}`);
    }
    out.push(parseNetworkPolicy(obj));
  });
  if (out.length === 0) throw new ManifestError(`${source} holds no objects`);
  return out;
}
