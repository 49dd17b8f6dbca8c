import { request } from "node:http";
import { performance } from "node:perf_hooks";
import type { ProbeOutcome } from "./types.js";

/**
 * `GET http://<ip>:<port>/hello` with a deadline, on a fresh connection each time (agent: false:
 * a kept-alive socket would measure nothing and could hide a newly dropped path). Errors read like
 * the Go client's that Cilium reports, so they match what users search for:
 * `Get "http://10.0.0.3:4240/hello": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`.
 */

export interface HttpProbeOptions {
  readonly port: number;
  readonly timeoutMs: number;
}

const DIAL_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connect: connection refused",
  EHOSTUNREACH: "connect: no route to host",
  ENETUNREACH: "connect: network is unreachable",
  EADDRNOTAVAIL: "connect: cannot assign requested address",
  EACCES: "connect: permission denied",
  EPERM: "connect: operation not permitted",
};

export function httpHello(ip: string, options: HttpProbeOptions): Promise<ProbeOutcome> {
  const url = `http://${ip}:${options.port}/hello`;
  const prefix = `Get "${url}"`;
  return new Promise((resolve) => {
    let settled = false;
    let gotHeaders = false;
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const start = performance.now();
    const req = request({ host: ip, port: options.port, path: "/hello", method: "GET", agent: false, headers: { connection: "close" } }, (res) => {
      gotHeaders = true;
      res.resume();
      res.on("end", () => {
        const rttMs = performance.now() - start;
        if (res.statusCode === 200) done({ ok: true, rttMs });
        else done({ ok: false, error: `unexpected status code: ${res.statusCode} ${res.statusCode} ${res.statusMessage ?? ""}`.trimEnd() });
      });
      res.on("error", (e) => done({ ok: false, error: `${prefix}: ${e.message}` }));
    });
    const deadline = setTimeout(() => {
      const stage = gotHeaders ? "reading body" : "awaiting headers";
      done({ ok: false, error: `${prefix}: context deadline exceeded (Client.Timeout exceeded while ${stage})` });
      req.destroy();
    }, options.timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => {
      const dial = e.code ? DIAL_ERRORS[e.code] : undefined;
      if (dial) done({ ok: false, error: `${prefix}: dial tcp ${ip}:${options.port}: ${dial}` });
      else if (e.code === "ECONNRESET") done({ ok: false, error: `${prefix}: read tcp ${ip}:${options.port}: connection reset by peer` });
      else done({ ok: false, error: `${prefix}: ${e.message}` });
    });
    req.end();
  });
}
