import { isIpv4 } from "../util/ipv4.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { httpHello } from "./http-probe.js";
import { pingOnce } from "./icmp-probe.js";
import { HEALTH_PORT, type HealthReport, type HealthTarget, type PathResult, type ProbeOutcome, type TargetResult } from "./types.js";
import { requirePort, requirePositiveInt } from "./validate.js";

/**
 * Probes every node of every connected cluster, like cilium-health: ICMP and `GET /hello` to each
 * node's IP (the agents' path) and to its health endpoint (the pods' path). A round runs every
 * `intervalMs` (60 s by default, as in Cilium) and on `probeNow()`; probes run concurrently, at
 * most `concurrency` at once. A failing probe is a result, never an exception: the loop keeps going.
 */

export type IcmpProbe = (ip: string, timeoutMs: number) => Promise<ProbeOutcome>;
export type HttpProbe = (ip: string, port: number, timeoutMs: number) => Promise<ProbeOutcome>;

export interface HealthProberOptions {
  /** The nodes to probe; called at the start of every round, so it may read a live node cache. */
  readonly targets: readonly HealthTarget[] | (() => readonly HealthTarget[]);
  /** Between rounds; default 60 000. */
  readonly intervalMs?: number;
  /** Per probe; default 3000. */
  readonly timeoutMs?: number;
  /** Probes in flight at once; default 16. */
  readonly concurrency?: number;
  /** Default 4240. */
  readonly port?: number;
  /** Called after each round with its report. Exceptions it throws are logged and ignored. */
  readonly onReport?: (report: HealthReport) => void;
  /** Replace the real probes (unit tests). */
  readonly icmp?: IcmpProbe;
  readonly http?: HttpProbe;
  readonly logger?: Logger;
}

export const DEFAULT_PROBE_INTERVAL_MS = 60_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 3_000;
export const DEFAULT_PROBE_CONCURRENCY = 16;

export class HealthProber {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly port: number;
  private readonly log: Logger;
  private readonly icmp: IcmpProbe;
  private readonly http: HttpProbe;
  private targets: readonly HealthTarget[] | (() => readonly HealthTarget[]);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<HealthReport> | undefined;
  private queued: Promise<HealthReport> | undefined;
  private last: HealthReport | undefined;
  private stopped = true;

  constructor(private readonly options: HealthProberOptions) {
    this.intervalMs = requirePositiveInt("health probe interval", options.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS, "milliseconds");
    this.timeoutMs = requirePositiveInt("health probe timeout", options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, "milliseconds");
    this.concurrency = requirePositiveInt("health probe concurrency", options.concurrency ?? DEFAULT_PROBE_CONCURRENCY, "probes");
    this.port = requirePort("health probe port", options.port ?? HEALTH_PORT);
    this.targets = options.targets;
    this.log = options.logger ?? subsystemLogger("health-prober");
    this.icmp = options.icmp ?? ((ip, timeoutMs) => pingOnce(ip, { timeoutMs }));
    this.http = options.http ?? ((ip, port, timeoutMs) => httpHello(ip, { port, timeoutMs }));
  }

  /** The latest finished round, if any. */
  latest(): HealthReport | undefined {
    return this.last;
  }

  setTargets(targets: readonly HealthTarget[] | (() => readonly HealthTarget[])): void {
    this.targets = targets;
  }

  /** Runs a round now, then one every interval until `stop()`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      this.probeNow()
        .catch((e: Error) => this.log.error({ err: e.message }, "health probe round failed"))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  /** Stops the loop and waits for a round in flight to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([this.running, this.queued]);
  }

  /**
   * A fresh round. While one is in flight, its result may predate what the caller just changed, so
   * the caller gets the next round, which starts when the current one ends; callers that ask
   * meanwhile share that next round.
   */
  probeNow(): Promise<HealthReport> {
    if (!this.running) return this.begin();
    this.queued ??= this.running.then(
      () => this.begin(),
      () => this.begin(),
    );
    return this.queued;
  }

  private begin(): Promise<HealthReport> {
    this.queued = undefined;
    const round = this.round().finally(() => {
      if (this.running === round) this.running = undefined;
    });
    this.running = round;
    return round;
  }

  private async round(): Promise<HealthReport> {
    const started = new Date();
    const t0 = Date.now();
    let targets: readonly HealthTarget[] = [];
    try {
      targets = typeof this.targets === "function" ? this.targets() : this.targets;
    } catch (e) {
      this.log.error({ err: (e as Error).message }, "could not list health targets; probing none this round");
    }
    const nodes = await this.probeAll(targets);
    const report: HealthReport = { probeTime: started.toISOString(), durationMs: Date.now() - t0, intervalMs: this.intervalMs, nodes };
    this.last = report;
    const failing = nodes.filter((n) => !pathOk(n.host) || (n.endpoint && !pathOk(n.endpoint)));
    this.log.debug({ nodes: nodes.length, failing: failing.length, ms: report.durationMs }, "health probe round done");
    try {
      this.options.onReport?.(report);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "health report listener failed");
    }
    return report;
  }

  /**
   * ICMP for every address first, then HTTP for every address, as Cilium's prober does. Each ping
   * is a process spawn, which stalls this event loop for a moment; an HTTP probe in flight at that
   * moment would count the stall as network time.
   */
  private async probeAll(targets: readonly HealthTarget[]): Promise<TargetResult[]> {
    const lastProbed = new Date().toISOString();
    const addresses = targets.map((t) => ({ host: t.hostIP, endpoint: t.healthIP !== undefined && t.healthIP !== "" ? t.healthIP : undefined }));
    const ips = [...new Set(addresses.flatMap((a) => (a.endpoint === undefined ? [a.host] : [a.host, a.endpoint])))];
    const valid = ips.filter((ip) => isIpv4(ip));
    const icmp = await this.each(valid, (ip) => this.icmp(ip, this.timeoutMs));
    const http = await this.each(valid, (ip) => this.http(ip, this.port, this.timeoutMs));
    const path = (ip: string): PathResult => {
      if (!isIpv4(ip)) {
        const bad: ProbeOutcome = { ok: false, error: `not probed: ${JSON.stringify(ip)} is not an IPv4 address` };
        return { ip: String(ip), icmp: bad, http: bad };
      }
      return { ip, icmp: icmp.get(ip)!, http: http.get(ip)! };
    };
    return targets.map((t, i) => {
      const result: TargetResult = { cluster: t.cluster, node: t.node, local: t.local, host: path(addresses[i]!.host), lastProbed };
      const endpoint = addresses[i]!.endpoint;
      return endpoint === undefined ? result : { ...result, endpoint: path(endpoint) };
    });
  }

  /** Runs `probe` for every IP, at most `concurrency` at once; a probe that throws becomes a failed outcome. */
  private async each(ips: readonly string[], probe: (ip: string) => Promise<ProbeOutcome>): Promise<Map<string, ProbeOutcome>> {
    const limit = limiter(this.concurrency);
    const outcomes = await Promise.all(ips.map((ip) => limit(() => this.safely(() => probe(ip)))));
    return new Map(ips.map((ip, i) => [ip, outcomes[i]!]));
  }

  private async safely(probe: () => Promise<ProbeOutcome>): Promise<ProbeOutcome> {
    try {
      return await probe();
    } catch (e) {
      return { ok: false, error: `probe failed: ${(e as Error).message}` };
    }
  }
}

function pathOk(p: PathResult): boolean {
  return p.icmp.ok && p.http.ok;
}

type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** Runs at most `max` tasks at once, the rest in arrival order. */
function limiter(max: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (active >= max) await new Promise<void>((r) => waiting.push(r));
    else active++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
