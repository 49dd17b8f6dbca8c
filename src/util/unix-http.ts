import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { existsSync, unlinkSync } from "node:fs";

/**
 * A small JSON-over-HTTP server and client for unix sockets: the agent's local API. Routes are
 * "METHOD /path/:param"; a handler returns [status, body] or throws HttpError.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export type Handler = (params: Record<string, string>, body: unknown, query: URLSearchParams) => Promise<[number, unknown]> | [number, unknown];

interface Route {
  readonly method: string;
  readonly parts: readonly string[];
  readonly handler: Handler;
}

export class JsonRouter {
  private readonly routes: Route[] = [];

  on(spec: string, handler: Handler): this {
    const [method, path] = spec.split(" ");
    this.routes.push({ method: method!, parts: path!.split("/").filter(Boolean), handler });
    return this;
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    const parts = path.split("/").filter(Boolean);
    for (const route of this.routes) {
      if (route.method !== method || route.parts.length !== parts.length) continue;
      const params: Record<string, string> = {};
      if (route.parts.every((p, i) => (p.startsWith(":") ? ((params[p.slice(1)] = decodeURIComponent(parts[i]!)), true) : p === parts[i]))) {
        return { route, params };
      }
    }
    return undefined;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://agent");
    const send = (status: number, body: unknown) => {
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    };
    const m = this.match(req.method ?? "GET", url.pathname);
    if (!m) return send(404, { error: `no route for ${req.method} ${url.pathname}` });
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, "request body is not valid JSON");
        }
      }
      const [status, out] = await m.route.handler(m.params, body, url.searchParams);
      send(status, out);
    } catch (e) {
      if (e instanceof HttpError) send(e.status, { error: e.message });
      else send(500, { error: (e as Error).message });
    }
  }
}

export async function listenUnix(router: JsonRouter, socketPath: string): Promise<Server> {
  // A socket file left by a crashed agent would make listen fail with EADDRINUSE.
  if (existsSync(socketPath)) unlinkSync(socketPath);
  const server = createServer((req, res) => void router.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  return server;
}

export class AgentUnreachableError extends Error {
  constructor(socketPath: string, cause: unknown) {
    super(`the agent is not reachable at ${socketPath}: ${(cause as Error).message}; is "trellis agent" running on this node?`, { cause });
    this.name = "AgentUnreachableError";
  }
}

/** Calls a JSON API on a unix socket; non-2xx answers become HttpError with the server's message. */
export function callUnix<T>(socketPath: string, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath,
        method,
        path,
        timeout: timeoutMs,
        headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = { error: text };
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else reject(new HttpError(status, (parsed as { error?: string } | undefined)?.error ?? `HTTP ${status}`));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => reject(new AgentUnreachableError(socketPath, e)));
    if (payload) req.write(payload);
    req.end();
  });
}
