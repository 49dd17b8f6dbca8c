import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AgentClient, AgentHttpError, AgentProtocolError, AgentUnreachableError } from "./agent-client.js";

let dir: string;
let server: Server;
let socket: string;
const seen: { method: string; url: string; body: string }[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trellis-agent-client-"));
  socket = join(dir, "agent.sock");
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", body });
      answer(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

function reply(status: number, body?: unknown): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
}

describe("agent client", () => {
  test("asks for an IP with the owner and reads the lease", async () => {
    answer = reply(201, { ip: "100.64.7.5", podCIDR: "100.64.7.0/24", gateway: "100.64.7.1", mtu: 1450 });
    const lease = await new AgentClient(socket).allocateIp("c1/eth0");
    assert.deepEqual(lease, { ip: "100.64.7.5", podCIDR: "100.64.7.0/24", gateway: "100.64.7.1", mtu: 1450 });
    assert.deepEqual(seen.at(-1), { method: "POST", url: "/v1/ipam", body: '{"owner":"c1/eth0"}' });
  });

  test("URL-encodes the owner when releasing", async () => {
    answer = reply(204);
    await new AgentClient(socket).releaseIp("c1/eth0");
    assert.equal(seen.at(-1)?.url, "/v1/ipam/c1%2Feth0");
  });

  test("a lease the plugin cannot use is a protocol error naming the field", async () => {
    answer = reply(201, { ip: "100.64.8.5", podCIDR: "100.64.7.0/24", gateway: "100.64.7.1", mtu: 1450 });
    await assert.rejects(new AgentClient(socket).allocateIp("x"), (e: Error) => e instanceof AgentProtocolError && /outside "podCIDR"/.test(e.message));
    answer = reply(201, { ip: "100.64.7.5", podCIDR: "100.64.7.0/24", gateway: "100.64.7.1" });
    await assert.rejects(new AgentClient(socket).allocateIp("x"), (e: Error) => e instanceof AgentProtocolError && /"mtu"/.test(e.message));
  });

  test("an error answer carries the agent's message and status; 503 is retryable", async () => {
    answer = reply(409, { error: "pod CIDR 100.64.7.0/24 is exhausted" });
    await assert.rejects(
      new AgentClient(socket).allocateIp("x"),
      (e: Error) => e instanceof AgentHttpError && e.status === 409 && !e.retryable && e.message.includes("exhausted"),
    );
    answer = reply(503, { error: "not ready" });
    await assert.rejects(new AgentClient(socket).status(), (e: Error) => e instanceof AgentHttpError && e.retryable);
  });

  test("an unknown endpoint reads as undefined", async () => {
    answer = reply(404, { error: "no such endpoint" });
    assert.equal(await new AgentClient(socket).getEndpoint("nope"), undefined);
  });

  test("lists endpoints from a bare list or an {endpoints} object", async () => {
    answer = reply(200, [{ containerId: "a", ifName: "eth0" }, { bogus: true }]);
    assert.deepEqual(await new AgentClient(socket).listEndpoints(), [{ containerId: "a", ifName: "eth0" }]);
    answer = reply(200, { endpoints: [{ containerId: "b" }] });
    assert.deepEqual(await new AgentClient(socket).listEndpoints(), [{ containerId: "b" }]);
  });

  test("a missing socket and a silent agent are 'unreachable', naming the socket", async () => {
    const missing = join(dir, "missing.sock");
    await assert.rejects(
      new AgentClient(missing).status(),
      (e: Error) => e instanceof AgentUnreachableError && e.message.includes(missing) && /does not exist/.test(e.message),
    );
    answer = () => undefined; // never answers
    await assert.rejects(new AgentClient(socket, 100).status(), (e: Error) => e instanceof AgentUnreachableError && /within 100 ms/.test(e.message));
  });
});
