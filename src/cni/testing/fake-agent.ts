import { rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { EndpointRequest, IpamLease, IpamRequest } from "../../agent/api-types.js";
import type { IpAllocator } from "../../ipam/allocator.js";

/**
 * For tests that run the CNI plugin for real: the part of the agent's local API
 * (docs/agent-api.md) the plugin uses, with addresses from the real IPAM allocator and endpoints
 * kept in memory. It records every request, so a test can tell how often a pod was attached and
 * whether its DEL arrived; it can be stopped and started again to play an agent that is down, and
 * told to fail or never answer endpoint registrations.
 */
export class FakeAgent {
  /** Registered endpoints by container ID, exactly as the plugin sent them. */
  readonly endpoints = new Map<string, EndpointRequest>();
  /** "POST /v1/ipam <owner>", "DELETE /v1/ipam/<owner>", "PUT /v1/endpoints/<id>", ... in order. */
  readonly requests: string[] = [];
  /** What PUT /v1/endpoints does: register, answer 500, or never answer. */
  putBehaviour: "register" | "fail" | "hang" = "register";
  private server: Server | undefined;

  constructor(
    readonly socket: string,
    readonly ipam: IpAllocator,
    readonly mtu = 1450,
  ) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    await rm(this.socket, { force: true });
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        this.handle(req, body, res).catch((e: Error) => send(res, 500, { error: e.message }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.socket, resolve);
    });
    this.server = server;
  }

  /** Closes the socket (and removes it, as a stopped agent would): the plugin then gets code 11. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(this.socket, { force: true });
  }

  /** How many IP allocations (one per CNI ADD) were asked for this container. */
  addsFor(containerId: string): number {
    return this.requests.filter((r) => r === `POST /v1/ipam ${containerId}/eth0`).length;
  }

  /** How many IP releases (one per CNI DEL that reached the agent) were asked for this container. */
  releasesFor(containerId: string): number {
    return this.requests.filter((r) => r === `DELETE /v1/ipam/${containerId}/eth0`).length;
  }

  private async handle(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const url = req.url ?? "";
    const tail = (prefix: string) => decodeURIComponent(url.slice(prefix.length));
    if (req.method === "POST" && url === "/v1/ipam") {
      const { owner } = JSON.parse(body) as IpamRequest;
      this.requests.push(`POST /v1/ipam ${owner}`);
      const a = await this.ipam.allocate(owner);
      const lease: IpamLease = { ip: a.ip, podCIDR: this.ipam.cidr, gateway: this.ipam.routerIp, mtu: this.mtu };
      return send(res, 201, lease);
    }
    this.requests.push(`${req.method} ${decodeURIComponent(url)}`);
    if (req.method === "DELETE" && url.startsWith("/v1/ipam/")) {
      await this.ipam.release(tail("/v1/ipam/"));
      return send(res, 204);
    }
    if (req.method === "PUT" && url.startsWith("/v1/endpoints/")) {
      if (this.putBehaviour === "hang") return;
      if (this.putBehaviour === "fail") return send(res, 500, { error: "identity allocation failed: kvstore unavailable" });
      const endpoint = JSON.parse(body) as EndpointRequest;
      this.endpoints.set(tail("/v1/endpoints/"), endpoint);
      return send(res, 200, endpoint);
    }
    if (req.method === "DELETE" && url.startsWith("/v1/endpoints/")) {
      this.endpoints.delete(tail("/v1/endpoints/"));
      return send(res, 204);
    }
    if (req.method === "GET" && url === "/v1/endpoints") return send(res, 200, [...this.endpoints.values()]);
    if (req.method === "GET" && url.startsWith("/v1/endpoints/")) {
      const e = this.endpoints.get(tail("/v1/endpoints/"));
      return e ? send(res, 200, e) : send(res, 404, { error: "no such endpoint" });
    }
    if (req.method === "GET" && url === "/v1/status") return send(res, 200, { ready: true });
    send(res, 404, { error: `no route ${req.method} ${url}` });
  }
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}
