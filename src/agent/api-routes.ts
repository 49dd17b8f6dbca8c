import { z } from "zod";
import { serviceModels } from "../services/service-list-format.js";
import { HttpError, JsonRouter } from "../util/unix-http.js";
import type { Agent } from "./agent.js";
import type { EndpointRequest, IpamLease, IpamRequest, TraceRequestBody } from "./api-types.js";
import { endpointViews, identityViews, policyRepository, PolicyQueryError, tracePolicy, type PolicyQuerySources } from "./policy-queries.js";

const endpointBody = z.object({
  containerId: z.string().min(1),
  ifName: z.string().min(1),
  netns: z.string(),
  hostIfName: z.string().min(1).max(15),
  ip: z.string().min(7),
  podName: z.string().min(1),
  podNamespace: z.string().min(1),
}) satisfies z.ZodType<EndpointRequest>;

const ipamBody = z.object({ owner: z.string().min(1).max(512) }) satisfies z.ZodType<IpamRequest>;

const tracePod = z.object({ cluster: z.string().min(1).optional(), namespace: z.string().min(1), name: z.string().min(1) });
const traceEnd = z.union([z.object({ pod: tracePod }), z.object({ identity: z.number().int().min(0) })]);
const traceBody = z.object({ src: traceEnd, dst: traceEnd, protocol: z.string().optional(), dport: z.number().int() }) satisfies z.ZodType<TraceRequestBody>;

function policySources(agent: Agent): PolicyQuerySources {
  return {
    cluster: agent.settings.name,
    node: agent.options.nodeName,
    engine: agent.policy,
    endpoints: () => agent.endpoints.list(),
    ipcache: () => agent.ipcacheView(),
  };
}

function answer<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PolicyQueryError) throw new HttpError(e.status, e.message);
    throw e;
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new HttpError(400, `invalid request: ${i.path.join(".") || "body"}: ${i.message}`);
  }
  return r.data;
}

/** The agent's local API (docs/agent-api.md). */
export function agentRoutes(agent: Agent): JsonRouter {
  return new JsonRouter()
    .on("GET /v1/status", () => [200, agent.status()])
    .on("POST /v1/ipam", async (_p, body) => {
      const { owner } = parse(ipamBody, body);
      const a = await agent.ipam.allocate(owner);
      return [201, { ip: a.ip, podCIDR: agent.podCIDR, gateway: agent.ipam.routerIp, mtu: agent.podMtu() } satisfies IpamLease];
    })
    .on("DELETE /v1/ipam/:owner", async (p) => {
      await agent.ipam.release(p.owner!);
      return [204, undefined];
    })
    .on("GET /v1/endpoints", () => [200, endpointViews(policySources(agent))])
    .on("GET /v1/endpoints/:id", (p) => {
      const ep = agent.endpoints.get(p.id!);
      if (!ep) throw new HttpError(404, `no endpoint for container ${p.id}`);
      return [200, ep];
    })
    .on("PUT /v1/endpoints/:id", async (p, body) => {
      const req = parse(endpointBody, body);
      if (req.containerId !== p.id) throw new HttpError(400, `containerId in the body (${req.containerId}) differs from the path (${p.id})`);
      return [200, await agent.addEndpoint(req)];
    })
    .on("DELETE /v1/endpoints/:id", async (p) => {
      await agent.removeEndpoint(p.id!);
      return [204, undefined];
    })
    .on("GET /v1/health", async (_p, _b, q) => {
      if (!agent.health) throw new HttpError(404, "this agent runs no health checks");
      const report = q.get("refresh") ? await agent.health.probeNow() : (agent.health.latest() ?? (await agent.health.probeNow()));
      return [200, { report, datapathMode: agent.mode, node: agent.options.nodeName, cluster: agent.settings.name }];
    })
    .on("GET /v1/services", () => [200, serviceModels(agent.services.table.entries())])
    .on("GET /v1/nodes", () => [200, agent.nodes.all().map(({ record: _r, ...n }) => n)])
    .on("GET /v1/ipcache", () => [200, agent.ipcacheView()])
    .on("GET /v1/policy", () => [200, policyRepository(policySources(agent))])
    .on("GET /v1/identities", () => [200, identityViews(policySources(agent))])
    .on("POST /v1/policy/trace", (_p, body) => [200, answer(() => tracePolicy(policySources(agent), parse(traceBody, body)))]);
}
