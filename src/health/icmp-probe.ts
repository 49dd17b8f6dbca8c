import { spawn } from "node:child_process";
import type { ProbeOutcome } from "./types.js";

/**
 * ICMP echo through the system's `ping` (iputils): one packet, a reply deadline, the RTT read from
 * its output. Cilium reports every missing reply as "Connection timed out"; when ping can say more
 * (no route at all), that reason is reported instead so the cause shows.
 */

/** What Cilium's prober reports when no echo reply came back in time. */
export const ICMP_TIMEOUT_MESSAGE = "Connection timed out";

/**
 * The RTT in ms from ping's output, or undefined when no reply came. The summary line
 * ("rtt min/avg/max/mdev = 0.026/0.026/0.026/0.000 ms") always has microsecond precision, while
 * a reply line ("time=12.3 ms") loses digits as the RTT grows, so the summary wins.
 */
export function parsePingRtt(stdout: string): number | undefined {
  const summary = /=\s*([\d.]+)\/([\d.]+)\/([\d.]+)(\/[\d.]+)?\s*ms/.exec(stdout);
  if (summary) return Number(summary[2]);
  const reply = /\btime[=<]([\d.]+)\s*ms\b/.exec(stdout);
  return reply ? Number(reply[1]) : undefined;
}

/** The reason ping gives on stderr ("ping: connect: Network is unreachable" → "Network is unreachable"). */
export function pingFailureReason(stderr: string): string | undefined {
  const line = stderr
    .split("\n")
    .map((l) => l.trim())
    .find(Boolean);
  if (!line) return undefined;
  return line.replace(/^ping:\s*/, "").replace(/^(connect|sendmsg|bind):\s*/, "");
}

export interface PingOptions {
  readonly timeoutMs: number;
  /** The ping executable (default "ping", found on PATH). */
  readonly command?: string;
}

export function pingOnce(ip: string, options: PingOptions): Promise<ProbeOutcome> {
  // iputils takes fractional seconds for -W; it waits at most that long for the reply.
  const waitSeconds = (Math.max(options.timeoutMs, 1) / 1000).toFixed(3);
  const command = options.command ?? "ping";
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      resolve(outcome);
    };
    const child = spawn(command, ["-n", "-q", "-c", "1", "-W", waitSeconds, ip], { stdio: ["ignore", "pipe", "pipe"] });
    // ping honours -W itself; this only catches a ping that hangs (e.g. on a stuck DNS lookup).
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      done({ ok: false, error: ICMP_TIMEOUT_MESSAGE });
    }, options.timeoutMs + 2000);
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "ENOENT" ? `${command} is not installed (Debian: apt-get install iputils-ping)` : `cannot run ${command}: ${e.message}`;
      done({ ok: false, error: why });
    });
    child.on("close", (code) => {
      const rtt = parsePingRtt(stdout);
      if (code === 0 && rtt !== undefined) return done({ ok: true, rttMs: rtt });
      // Exit 1: sent, no reply in time. Exit 2: ping could not send at all and says why.
      if (code === 2) return done({ ok: false, error: pingFailureReason(stderr) ?? ICMP_TIMEOUT_MESSAGE });
      done({ ok: false, error: ICMP_TIMEOUT_MESSAGE });
    });
  });
}
