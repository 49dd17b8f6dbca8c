/**
 * One TCP throughput run between two pods with iperf3: a one-shot server (`-s -1`) in the
 * destination pod's namespace, the client in the source pod's, JSON results.
 */
import { spawn } from "node:child_process";
import { run } from "../../src/util/exec.js";
import { waitFor } from "../../src/datapath/linux/netns-fixture.js";
import type { TestPod } from "../../src/datapath/linux/test-topology.js";
import { stopOnInterrupt } from "./cleanup.js";

export interface TcpRun {
  readonly gbps: number;
  /** TCP retransmissions the sender counted. */
  readonly retransmits: number;
}

const IPERF_PORT = 5201;

/** The parts of `iperf3 -c ... -J` output this bench reads. */
interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
}

export function parseIperfResult(stdout: string, what: string): TcpRun {
  let json: IperfJson;
  try {
    json = JSON.parse(stdout) as IperfJson;
  } catch {
    throw new Error(`iperf3 ${what}: output is not JSON: ${stdout.slice(0, 200)}`);
  }
  if (json.error) throw new Error(`iperf3 ${what}: ${json.error}`);
  const bps = json.end?.sum_received?.bits_per_second;
  if (typeof bps !== "number" || !(bps > 0)) throw new Error(`iperf3 ${what}: no received throughput in its result (end.sum_received.bits_per_second = ${bps})`);
  return { gbps: bps / 1e9, retransmits: json.end?.sum_sent?.retransmits ?? 0 };
}

export async function tcpThroughput(from: TestPod, to: TestPod, seconds: number): Promise<TcpRun> {
  const what = `${from.ip} -> ${to.ip}`;
  // `timeout` ends the server even if this process dies before a client ever connects; it
  // passes a SIGTERM on to iperf3, so kill() below stops both.
  const server = spawn("ip", ["netns", "exec", to.netns, "timeout", String(seconds + 30), "iperf3", "-s", "-1", "-B", to.ip, "-p", String(IPERF_PORT)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  stopOnInterrupt(server);
  let serverErr = "";
  let serverExit: number | null | undefined;
  server.stderr.on("data", (b: Buffer) => (serverErr += b.toString()));
  const exited = new Promise<void>((resolve) =>
    server.on("close", (code) => {
      serverExit = code;
      resolve();
    }),
  );
  try {
    await waitFor(`iperf3 server on ${to.ip}:${IPERF_PORT}`, async () => {
      if (serverExit !== undefined) throw new Error(`iperf3 server in ${to.netns} exited (${serverExit}) before listening: ${serverErr.trim()}`);
      const r = await run("ip", ["netns", "exec", to.netns, "ss", "-Hltn", "sport", "=", `:${IPERF_PORT}`]);
      return r.stdout.trim() !== "";
    });
    // `timeout` here too: a client whose server vanished can wait forever, and outlive this process.
    const limit = String(seconds + 20);
    const client = await run("ip", ["netns", "exec", from.netns, "timeout", limit, "iperf3", "-c", to.ip, "-p", String(IPERF_PORT), "-t", String(seconds), "-J"], {
      allowFailure: true,
      timeoutMs: (seconds + 25) * 1000,
    });
    if (client.code === 124) throw new Error(`iperf3 ${what}: no result within ${limit} s`);
    return parseIperfResult(client.stdout, what);
  } finally {
    if (serverExit === undefined) server.kill("SIGTERM");
    await exited;
  }
}
