import { request } from "node:http";
import type { Endpoint, EndpointRequest, IpamLease, IpamRequest } from "../agent/api-types.js";
import { cidrContains, isIpv4, parseCidr, parseIpv4 } from "../util/ipv4.js";

/**
 * Client of the agent's local API (HTTP/1.1 + JSON on a unix socket, docs/agent-api.md) for what
 * the CNI plugin needs. Failures come in two kinds the plugin treats differently: the agent could
 * not be reached (worth retrying later) and the agent answered with an error.
 */

export class AgentUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`trellis agent not reachable at ${socketPath}: ${reason}`, options);
    this.name = "AgentUnreachableError";
  }
}

export class AgentHttpError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly agentMessage: string,
  ) {
    super(`trellis agent answered ${method} ${path} with ${status}: ${agentMessage}`);
    this.name = "AgentHttpError";
  }

  /** 503 means the agent is up but not ready (e.g. still syncing); the same request may succeed later. */
  get retryable(): boolean {
    return this.status === 503;
  }
}

/** The agent answered, but not in a shape this plugin can use (a version mismatch between plugin and agent). */
export class AgentProtocolError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    problem: string,
  ) {
    super(`trellis agent's answer to ${method} ${path} is unusable: ${problem}`);
    this.name = "AgentProtocolError";
  }
}

/** The part of a listed endpoint (GET /v1/endpoints) the plugin relies on; it tolerates the rest being absent. */
export type EndpointSummary = Pick<Endpoint, "containerId"> & Partial<Pick<Endpoint, "ifName">>;

export class AgentClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs: number = 30_000,
  ) {}

  /** The owner's address; the agent hands the same owner the same address again. */
  async allocateIp(owner: string): Promise<IpamLease> {
    const body: IpamRequest = { owner };
    return parseLease((await this.call("POST", "/v1/ipam", body)).body);
  }

  async releaseIp(owner: string): Promise<void> {
    await this.call("DELETE", `/v1/ipam/${encodeURIComponent(owner)}`);
  }

  async putEndpoint(endpoint: EndpointRequest): Promise<unknown> {
    return (await this.call("PUT", `/v1/endpoints/${encodeURIComponent(endpoint.containerId)}`, endpoint)).body;
  }

  async deleteEndpoint(containerId: string): Promise<void> {
    await this.call("DELETE", `/v1/endpoints/${encodeURIComponent(containerId)}`);
  }

  /** The endpoint, or undefined when the agent does not know it. */
  async getEndpoint(containerId: string): Promise<unknown> {
    try {
      return (await this.call("GET", `/v1/endpoints/${encodeURIComponent(containerId)}`)).body;
    } catch (e) {
      if (e instanceof AgentHttpError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** Every endpoint the agent holds; accepts a bare list or `{"endpoints": [...]}`. */
  async listEndpoints(): Promise<EndpointSummary[]> {
    const body = (await this.call("GET", "/v1/endpoints")).body;
    const list = Array.isArray(body) ? body : (body as { endpoints?: unknown } | null)?.endpoints;
    if (!Array.isArray(list)) throw new AgentProtocolError("GET", "/v1/endpoints", `expected a list of endpoints, got ${JSON.stringify(body)}`);
    return list.filter((e): e is EndpointSummary => typeof e === "object" && e !== null && typeof (e as EndpointSummary).containerId === "string");
  }

  async status(): Promise<unknown> {
    return (await this.call("GET", "/v1/status")).body;
  }

  private call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path,
          method,
          // One short-lived process, one request at a time: a keep-alive pool would only hold the process open.
          agent: false,
          headers: {
            host: "localhost",
            accept: "application/json",
            ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e) => reject(new AgentUnreachableError(this.socketPath, `connection broke while reading the answer: ${e.message}`, { cause: e })));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            let parsed: unknown = undefined;
            if (text.trim() !== "") {
              try {
                parsed = JSON.parse(text);
              } catch {
                if (status < 400) {
                  reject(new AgentProtocolError(method, path, `not JSON: ${text.slice(0, 200)}`));
                  return;
                }
              }
            }
            if (status >= 400) {
              const message = (parsed as { error?: unknown } | undefined)?.error;
              reject(new AgentHttpError(method, path, status, typeof message === "string" ? message : text.trim() || `HTTP ${status}`));
              return;
            }
            resolve({ status, body: parsed });
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(new AgentUnreachableError(this.socketPath, `no answer to ${method} ${path} within ${this.timeoutMs} ms`));
      });
      req.on("error", (e: NodeJS.ErrnoException) => {
        if (e instanceof AgentUnreachableError) reject(e);
        else reject(new AgentUnreachableError(this.socketPath, describeSocketError(e), { cause: e }));
      });
      req.end(payload);
    });
  }
}

function describeSocketError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case "ENOENT":
      return "the socket does not exist (is the agent running, and is agentSocket in the CNI config right?)";
    case "ECONNREFUSED":
      return "connection refused (the socket exists but no agent is listening; it may be restarting)";
    case "EACCES":
      return "permission denied on the socket";
    default:
      return e.message;
  }
}

function parseLease(body: unknown): IpamLease {
  const bad = (why: string): never => {
    throw new AgentProtocolError("POST", "/v1/ipam", `${why} in ${JSON.stringify(body)}`);
  };
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const { ip, podCIDR, gateway, mtu } = b;
  if (typeof ip !== "string" || !isIpv4(ip)) return bad(`"ip" is not an IPv4 address`);
  if (typeof gateway !== "string" || !isIpv4(gateway)) return bad(`"gateway" is not an IPv4 address`);
  if (typeof podCIDR !== "string") return bad(`"podCIDR" is missing`);
  let cidr;
  try {
    cidr = parseCidr(podCIDR);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (!cidrContains(cidr, parseIpv4(ip)) || !cidrContains(cidr, parseIpv4(gateway))) return bad(`"ip" or "gateway" is outside "podCIDR"`);
  if (typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < 576 || mtu > 65535) return bad(`"mtu" is not an MTU between 576 and 65535`);
  return { ip, podCIDR: cidr.text, gateway, mtu };
}
