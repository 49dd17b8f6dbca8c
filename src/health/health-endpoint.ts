import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPodVeth, deleteLink, hostVethName, hostVethOwner, readLink, readRoutes, type IpLink } from "../cni/netns-veth.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { deleteNetns, ensureNetns, netnsPath, netnsPids } from "./named-netns.js";
import { commandLineHas, inNetns, isAlive, listensOn, terminate } from "./process-control.js";
import { responderArgv } from "./responder.js";
import { HEALTH_PORT, type HealthIdentity } from "./types.js";
import { requireIdentity, requireIpv4, requireNetnsName, requirePort, requirePositiveInt } from "./validate.js";

/**
 * The node's health endpoint, Cilium's "cilium-health" pseudo-pod: a network namespace wired
 * exactly like a pod (docs/agent-api.md: a veth whose host end is named like a pod's, `<ip>/32`,
 * a link route to the router IP and a default route via it), with a responder process inside
 * answering `GET /hello` on the health IP. Probing it tests the path pod traffic takes.
 *
 * `ensure()` converges on that state and is safe to call periodically: it creates what is missing,
 * rewires a veth that drifted, and restarts a responder that died. `remove()` takes it all away.
 * The caller registers the returned host veth as a local endpoint so the datapath adds the host
 * route `<ip>/32 dev <host veth>`.
 */

/** How to start the responder; the endpoint appends `--ip --port --cluster --node` (see responder.ts). */
export interface ResponderCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export interface HealthEndpointSpec {
  /** Name of the endpoint's network namespace, e.g. "trl-c1-health-node-1". */
  readonly netns: string;
  /** The health IP (the node's IPv4HealthIP), from the node's pod CIDR. */
  readonly ip: string;
  /** The node's router IP, the endpoint's gateway. */
  readonly routerIp: string;
  /** The pod MTU (docs/agent-api.md). */
  readonly mtu: number;
  /** Whom the responder answers for. */
  readonly identity: HealthIdentity;
  /** Where the pid file and the responder's log go. */
  readonly stateDir: string;
  readonly responder: ResponderCommand;
  /** Default 4240. */
  readonly port?: number;
  /** Names the host veth as a container ID names a pod's; default "health-<netns>". */
  readonly endpointId?: string;
  /** How long a new responder may take to listen; default 10 000 ms. */
  readonly readyTimeoutMs?: number;
  /** Extra environment for the responder. */
  readonly env?: Readonly<Record<string, string>>;
  readonly logger?: Logger;
}

export interface HealthEndpointStatus {
  readonly netns: string;
  readonly hostIfName: string;
  readonly ip: string;
  readonly pid: number;
  /** What this call had to (re)create. */
  readonly changed: { readonly netns: boolean; readonly veth: boolean; readonly responder: boolean };
}

export class HealthEndpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HealthEndpointError";
  }
}

/** The interface inside the endpoint's namespace, as in a pod. */
export const HEALTH_ENDPOINT_IFNAME = "eth0";

export class HealthEndpoint {
  readonly netns: string;
  readonly ip: string;
  readonly routerIp: string;
  readonly mtu: number;
  readonly port: number;
  readonly identity: HealthIdentity;
  readonly endpointId: string;
  readonly hostIfName: string;
  readonly pidFile: string;
  readonly logFile: string;
  private readonly readyTimeoutMs: number;
  private readonly log: Logger;
  /** Calls are serialised: a periodic ensure() must not race a remove(). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly spec: HealthEndpointSpec) {
    this.netns = requireNetnsName("health endpoint netns", spec.netns);
    this.ip = requireIpv4("health endpoint IP", spec.ip);
    this.routerIp = requireIpv4("health endpoint router IP", spec.routerIp);
    this.mtu = requirePositiveInt("health endpoint MTU", spec.mtu, "bytes");
    if (this.mtu < 68 || this.mtu > 65535) throw new RangeError(`health endpoint MTU must be between 68 and 65535 (got ${spec.mtu})`);
    this.port = requirePort("health endpoint port", spec.port ?? HEALTH_PORT);
    this.identity = requireIdentity("health endpoint identity", spec.identity);
    this.readyTimeoutMs = requirePositiveInt("health endpoint readyTimeoutMs", spec.readyTimeoutMs ?? 10_000, "milliseconds");
    if (typeof spec.stateDir !== "string" || spec.stateDir === "") throw new RangeError(`health endpoint stateDir must be a directory path (got ${JSON.stringify(spec.stateDir)})`);
    if (typeof spec.responder?.command !== "string" || spec.responder.command === "" || !Array.isArray(spec.responder.args)) {
      throw new RangeError(`health endpoint responder must be {command, args} (got ${JSON.stringify(spec.responder)})`);
    }
    this.endpointId = spec.endpointId ?? `health-${this.netns}`;
    this.hostIfName = hostVethName(this.endpointId);
    this.pidFile = join(spec.stateDir, `health-responder-${this.netns}.pid`);
    this.logFile = join(spec.stateDir, `health-responder-${this.netns}.log`);
    this.log = spec.logger ?? subsystemLogger("health-endpoint", { node: this.identity.node });
  }

  /** The alias on the host veth. Without a "/" in it, the CNI plugin's GC (which collects "<containerID>/<ifName>" owners) leaves it alone. */
  get owner(): string {
    return `health:${this.netns}`;
  }

  ensure(): Promise<HealthEndpointStatus> {
    return this.serialised(() => this.doEnsure());
  }

  remove(): Promise<void> {
    return this.serialised(() => this.doRemove());
  }

  /** The responder's PID when it runs in the endpoint's namespace. */
  responderPid(): number | undefined {
    const pid = this.recordedPid();
    return pid !== undefined && isAlive(pid) && inNetns(pid, netnsPath(this.netns)) ? pid : undefined;
  }

  private recordedPid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /**
   * A responder still running in a namespace that was deleted and made anew (the old one lives on
   * as long as a process holds it). Recognised by its command line, so a reused PID is left alone.
   */
  private orphanedResponder(): number | undefined {
    const pid = this.recordedPid();
    if (pid === undefined || !isAlive(pid) || inNetns(pid, netnsPath(this.netns))) return undefined;
    return commandLineHas(pid, responderArgv(this.ip, this.port, this.identity)) ? pid : undefined;
  }

  private serialised<T>(step: () => Promise<T>): Promise<T> {
    const next = this.queue.then(step, step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async doEnsure(): Promise<HealthEndpointStatus> {
    const netns = await this.step("create the network namespace", () => ensureNetns(this.netns));
    const veth = await this.ensureVeth();
    let pid = this.responderPid();
    const responder = pid === undefined;
    if (pid === undefined) pid = await this.startResponder();
    if (netns || veth || responder) this.log.info({ netns: this.netns, hostIfName: this.hostIfName, ip: this.ip, pid, changed: { netns, veth, responder } }, "health endpoint ensured");
    return { netns: this.netns, hostIfName: this.hostIfName, ip: this.ip, pid, changed: { netns, veth, responder } };
  }

  private async doRemove(): Promise<void> {
    const pids = new Set(await netnsPids(this.netns));
    const recorded = this.responderPid() ?? this.orphanedResponder();
    if (recorded) pids.add(recorded);
    await terminate([...pids], 3000);
    const host = await this.step("read the host veth", () => readLink(undefined, this.hostIfName));
    if (host && hostVethOwner(host) === this.owner) await this.step("delete the host veth", () => deleteLink(undefined, this.hostIfName));
    await this.step("delete the network namespace", () => deleteNetns(this.netns));
    rmSync(this.pidFile, { force: true });
    rmSync(this.logFile, { force: true });
    this.log.info({ netns: this.netns }, "health endpoint removed");
  }

  /** True when the pair had to be (re)created. */
  private async ensureVeth(): Promise<boolean> {
    const path = netnsPath(this.netns);
    const host = await this.step("read the host veth", () => readLink(undefined, this.hostIfName));
    if (host && hostVethOwner(host) !== this.owner) {
      throw new HealthEndpointError(
        `interface ${this.hostIfName} exists but does not belong to health endpoint ${this.netns} (its alias is ${JSON.stringify(host.ifalias ?? "")}); remove it or choose another endpointId`,
      );
    }
    if (host && (await this.wiredAsExpected(host))) return false;
    if (host) await this.step("delete the drifted host veth", () => deleteLink(undefined, this.hostIfName));
    await this.step("clear the endpoint's interface", () => deleteLink(path, HEALTH_ENDPOINT_IFNAME));
    await this.step("wire the veth", () =>
      createPodVeth({ netns: path, podIfName: HEALTH_ENDPOINT_IFNAME, hostIfName: this.hostIfName, ip: this.ip, routerIp: this.routerIp, mtu: this.mtu, owner: this.owner }),
    );
    return true;
  }

  private async wiredAsExpected(host: IpLink): Promise<boolean> {
    const path = netnsPath(this.netns);
    const pod = await this.step("read the endpoint's interface", () => readLink(path, HEALTH_ENDPOINT_IFNAME));
    if (!pod) return false;
    const up = (l: IpLink) => (l.flags ?? []).includes("UP");
    if (!up(host) || !up(pod) || host.mtu !== this.mtu || pod.mtu !== this.mtu) return false;
    const addrs = (pod.addr_info ?? []).filter((a) => a.family === "inet");
    if (addrs.length !== 1 || addrs[0]!.local !== this.ip || addrs[0]!.prefixlen !== 32) return false;
    const routes = await this.step("read the endpoint's routes", () => readRoutes(path));
    const viaRouter = routes.some((r) => r.dst === "default" && r.gateway === this.routerIp && r.dev === HEALTH_ENDPOINT_IFNAME);
    const toRouter = routes.some((r) => r.dst === this.routerIp && r.dev === HEALTH_ENDPOINT_IFNAME && r.gateway === undefined);
    return viaRouter && toRouter;
  }

  private async startResponder(): Promise<number> {
    // Anything still running in our namespace is an earlier responder we lost track of; it would
    // hold the port. One left in a namespace that was replaced would serve nobody, forever.
    const orphan = this.orphanedResponder();
    const strays = [...(await netnsPids(this.netns)), ...(orphan === undefined ? [] : [orphan])];
    if (strays.length) {
      this.log.warn({ pids: strays }, "stopping stray processes in the health endpoint's namespace");
      await terminate(strays, 1000);
    }
    mkdirSync(this.spec.stateDir, { recursive: true });
    const { command, args } = this.spec.responder;
    const argv = [...args, ...responderArgv(this.ip, this.port, this.identity)];
    const log = openSync(this.logFile, "a");
    let pid: number | undefined;
    try {
      // nsenter switches only the network namespace (as the lab's supervisor does), then execs the
      // responder, so the PID recorded is the responder's own.
      const child = spawn("nsenter", [`--net=${netnsPath(this.netns)}`, "--", command, ...argv], {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, ...this.spec.env },
      });
      child.on("error", () => undefined); // a failed start shows up as a dead PID below
      pid = child.pid;
      child.unref();
    } finally {
      closeSync(log);
    }
    if (!pid) throw new HealthEndpointError(`cannot start the health responder (${command}): nsenter did not start`);
    writeFileSync(this.pidFile, `${pid}\n`);

    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      if (!isAlive(pid)) {
        rmSync(this.pidFile, { force: true });
        throw new HealthEndpointError(`the health responder (${command} ${argv.join(" ")}) exited right after starting; its log ${this.logFile} ends with: ${this.logTail()}`);
      }
      if (listensOn(pid, this.ip, this.port)) break;
      if (Date.now() > deadline) {
        await terminate([pid], 1000);
        rmSync(this.pidFile, { force: true });
        throw new HealthEndpointError(`the health responder did not listen on ${this.ip}:${this.port} within ${this.readyTimeoutMs} ms; see ${this.logFile}: ${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    this.log.info({ pid, address: `${this.ip}:${this.port}` }, "health responder started");
    return pid;
  }

  private logTail(): string {
    try {
      const text = readFileSync(this.logFile, "utf8").trim();
      return text ? text.split("\n").slice(-5).join(" | ") : "(empty)";
    } catch {
      return "(no log)";
    }
  }

  private async step<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (e) {
      if (e instanceof HealthEndpointError) throw e;
      throw new HealthEndpointError(`health endpoint ${this.netns}: cannot ${what}: ${(e as Error).message}`, { cause: e });
    }
  }
}
