import { subsystemLogger, type Logger } from "../log/logger.js";
import { AgentClient, AgentHttpError, AgentProtocolError, AgentUnreachableError, type EndpointSummary } from "./agent-client.js";
import { parseNetConfig, peekVersion, type NetConfig } from "./config.js";
import { attachmentOwner, parseCniEnv, parseCommand, podRef, type CniEnv } from "./env.js";
import {
  assertNetns,
  createPodVeth,
  deleteLink,
  hostVethName,
  hostVethOwner,
  listHostVeths,
  readLink,
  readRoutes,
  type IpRoute,
} from "./netns-veth.js";
import {
  CniError,
  decodeResult,
  encodeError,
  encodeResult,
  encodeVersion,
  ErrorCode,
  FALLBACK_VERSION,
  type CniResult,
} from "./result.js";

/** What the process prints and how it exits. */
export interface PluginOutcome {
  readonly stdout: string;
  readonly exitCode: number;
}

/**
 * Runs one CNI invocation: `env` holds the CNI_* variables, `stdin` the network configuration.
 * Never throws: every failure becomes the spec's error object and a non-zero exit.
 */
export async function runPlugin(env: NodeJS.ProcessEnv, stdin: string, log: Logger = subsystemLogger("cni")): Promise<PluginOutcome> {
  let version: string = peekVersion(stdin) ?? FALLBACK_VERSION;
  try {
    if (parseCommand(env) === "VERSION") return { stdout: line(encodeVersion(requestedVersion(stdin))), exitCode: 0 };
    const config = parseNetConfig(stdin);
    version = config.cniVersion;
    const cni = parseCniEnv(env);
    const ctx: Context = { cni, config, agent: new AgentClient(config.agentSocket, config.agentTimeoutMs), log: log.child({ containerId: cni.containerId || undefined }) };
    switch (cni.command) {
      case "ADD":
        return { stdout: line(encodeResult(await add(ctx), config.cniVersion)), exitCode: 0 };
      case "DEL":
        await del(ctx);
        break;
      case "CHECK":
        await check(ctx);
        break;
      case "STATUS":
        await status(ctx);
        break;
      case "GC":
        await gc(ctx);
        break;
    }
    return { stdout: "", exitCode: 0 };
  } catch (e) {
    const error = e instanceof CniError ? e : new CniError(ErrorCode.Internal, `internal error: ${(e as Error).message ?? String(e)}`, (e as Error).stack);
    log.error({ code: error.code, details: error.details }, error.message);
    return { stdout: line(encodeError(error, version)), exitCode: 1 };
  }
}

interface Context {
  readonly cni: CniEnv;
  readonly config: NetConfig;
  readonly agent: AgentClient;
  readonly log: Logger;
}

async function add({ cni, config, agent, log }: Context): Promise<CniResult> {
  const owner = attachmentOwner(cni.containerId, cni.ifName);
  const hostIfName = hostVethName(cni.containerId);
  const prev = config.prevResult === undefined ? undefined : decodeResult(config.prevResult, config.cniVersion);
  await assertNetns(cni.netns);
  // Checked before the IP is requested: the agent hands an owner the same IP again, so undoing a
  // failed duplicate ADD would release the address of the attachment that already exists.
  if (await readLink(undefined, hostIfName)) {
    throw new CniError(ErrorCode.InterfaceExists, `host interface ${hostIfName} for container ${cni.containerId} already exists`, "an earlier ADD was not followed by DEL; run DEL first");
  }
  if (await readLink(cni.netns, cni.ifName)) throw new CniError(ErrorCode.InterfaceExists, `interface ${cni.ifName} already exists in ${cni.netns}`);

  const lease = await agentCall("allocating the pod's IP", () => agent.allocateIp(owner));
  const undo: { what: string; run: () => Promise<unknown> }[] = [{ what: `release IP ${lease.ip}`, run: () => agent.releaseIp(owner) }];
  try {
    const veth = await createPodVeth({ netns: cni.netns, podIfName: cni.ifName, hostIfName, ip: lease.ip, routerIp: lease.gateway, mtu: lease.mtu, owner });
    undo.unshift({ what: `delete veth ${hostIfName}`, run: () => deleteLink(undefined, hostIfName) });
    // Undone even when PUT fails: the agent may have applied it and only the answer was lost.
    undo.unshift({ what: `unregister endpoint ${cni.containerId}`, run: () => agent.deleteEndpoint(cni.containerId) });
    const pod = podRef(cni);
    await agentCall("registering the endpoint", () =>
      agent.putEndpoint({ containerId: cni.containerId, ifName: cni.ifName, netns: cni.netns, hostIfName, ip: lease.ip, podName: pod.name, podNamespace: pod.namespace }),
    );
    log.info({ ip: lease.ip, hostIfName, netns: cni.netns }, "pod attached");
    return buildResult(prev, config, cni, hostIfName, veth.hostMac, veth.podMac, lease);
  } catch (e) {
    const leftovers: string[] = [];
    for (const step of undo) {
      try {
        await step.run();
      } catch (u) {
        leftovers.push(`${step.what}: ${(u as Error).message}`);
      }
    }
    const error = e instanceof CniError ? e : new CniError(ErrorCode.Internal, `internal error: ${(e as Error).message}`, (e as Error).stack, { cause: e });
    if (leftovers.length === 0) throw error;
    log.warn({ leftovers }, "ADD failed and could not undo everything; the runtime's DEL will retry");
    throw new CniError(error.code, error.message, [error.details, `not undone (DEL will retry): ${leftovers.join("; ")}`].filter(Boolean).join("\n"), { cause: e });
  }
}

function buildResult(
  prev: CniResult | undefined,
  config: NetConfig,
  cni: CniEnv,
  hostIfName: string,
  hostMac: string,
  podMac: string,
  lease: { ip: string; gateway: string; mtu: number },
): CniResult {
  // A plugin run after others must carry their result forward; ours is appended, indexes shifted.
  const base = prev ?? { cniVersion: config.cniVersion, interfaces: [], ips: [], routes: [], dns: {} };
  const podIndex = base.interfaces.length + 1;
  return {
    cniVersion: config.cniVersion,
    interfaces: [...base.interfaces, { name: hostIfName, mac: hostMac, mtu: lease.mtu }, { name: cni.ifName, mac: podMac, mtu: lease.mtu, sandbox: cni.netns }],
    ips: [...base.ips, { address: `${lease.ip}/32`, gateway: lease.gateway, interface: podIndex }],
    routes: [...base.routes, { dst: "0.0.0.0/0", gw: lease.gateway }],
    dns: { ...base.dns, ...config.dns },
  };
}

/**
 * Best effort to the end, as the spec asks of DEL: every step runs even when an earlier one failed
 * or found nothing, and a missing netns or veth is success (the netns is not even needed). An
 * unreachable agent is still an error (code 11), because only the agent can release the IP; the
 * runtime retries DEL.
 */
async function del({ cni, agent, log }: Context): Promise<void> {
  const owner = attachmentOwner(cni.containerId, cni.ifName);
  const hostIfName = hostVethName(cni.containerId);
  const failures: unknown[] = [];
  const attempt = async (step: () => Promise<unknown>) => {
    try {
      await step();
    } catch (e) {
      failures.push(e);
    }
  };

  // The host veth and the endpoint are per container; another interface's attachment of the same
  // container (a failed ADD with a second CNI_IFNAME) must not take down this one's.
  const host = await readLink(undefined, hostIfName);
  const hostOwner = host ? hostVethOwner(host) : undefined;
  const ours = hostOwner === undefined || hostOwner === owner;

  if (ours) {
    await attempt(async () => {
      const endpoint = (await agent.getEndpoint(cni.containerId)) as Partial<EndpointSummary> | undefined;
      if (endpoint && (endpoint.ifName === undefined || endpoint.ifName === cni.ifName)) await agent.deleteEndpoint(cni.containerId);
    });
  }
  // Deleting the host end removes the pod end with it. CNI_IFNAME inside the pod is never deleted
  // by name: after an ADD refused because that name was taken, it belongs to someone else.
  if (host && ours) await attempt(() => deleteLink(undefined, hostIfName));
  await attempt(() => agent.releaseIp(owner));

  if (failures.length) throw combine("DEL", failures);
  log.info({ ifName: cni.ifName }, "pod detached");
}

/** Compares the pod's networking with the ADD result; every difference is reported at once. */
async function check({ cni, config, agent }: Context): Promise<void> {
  if (config.prevResult === undefined) {
    throw new CniError(ErrorCode.InvalidConfig, "invalid network configuration: CHECK needs \"prevResult\" (the result of the ADD being checked)");
  }
  const prev = decodeResult(config.prevResult, config.cniVersion);
  const podIndex = prev.interfaces.findIndex((i) => i.name === cni.ifName && i.sandbox);
  if (podIndex < 0) {
    throw new CniError(ErrorCode.CheckFailed, `prevResult lists no interface ${cni.ifName} inside a sandbox`, JSON.stringify(prev.interfaces));
  }
  await assertNetns(cni.netns);
  const problems: string[] = [];
  const expected = prev.interfaces[podIndex];
  const pod = await readLink(cni.netns, cni.ifName);
  if (!pod) {
    problems.push(`interface ${cni.ifName} is missing from ${cni.netns}`);
  } else {
    if (pod.linkinfo?.info_kind && pod.linkinfo.info_kind !== "veth") problems.push(`${cni.ifName} is a ${pod.linkinfo.info_kind}, not a veth`);
    if (!pod.flags?.includes("UP")) problems.push(`${cni.ifName} is down`);
    if (expected?.mac && pod.address?.toLowerCase() !== expected.mac.toLowerCase()) problems.push(`${cni.ifName} has MAC ${pod.address}, prevResult says ${expected.mac}`);
    if (expected?.mtu !== undefined && pod.mtu !== expected.mtu) problems.push(`${cni.ifName} has MTU ${pod.mtu}, prevResult says ${expected.mtu}`);
    const have = new Set((pod.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
    for (const ip of prev.ips.filter((i) => i.interface === podIndex)) {
      if (!have.has(ip.address)) problems.push(`address ${ip.address} is missing from ${cni.ifName}`);
    }
  }
  const routes = await readRoutes(cni.netns);
  for (const r of prev.routes) {
    if (!routes.some((have) => sameRoute(have, r.dst, r.gw))) problems.push(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ""} is missing`);
  }
  for (const gw of new Set(prev.ips.filter((i) => i.interface === podIndex && i.gateway).map((i) => i.gateway as string))) {
    if (!routes.some((have) => sameRoute(have, `${gw}/32`, undefined) && have.dev === cni.ifName)) problems.push(`link route to gateway ${gw} via ${cni.ifName} is missing`);
  }
  const hostIfName = hostVethName(cni.containerId);
  if (prev.interfaces.some((i) => i.name === hostIfName && !i.sandbox)) {
    const host = await readLink(undefined, hostIfName);
    if (!host) problems.push(`host interface ${hostIfName} is missing`);
    else if (!host.flags?.includes("UP")) problems.push(`host interface ${hostIfName} is down`);
  }
  const endpoint = await agentCall("looking up the endpoint", () => agent.getEndpoint(cni.containerId));
  if (endpoint === undefined) problems.push(`the agent has no endpoint for container ${cni.containerId}`);
  if (problems.length) throw new CniError(ErrorCode.CheckFailed, `pod networking differs from the ADD result: ${problems.join("; ")}`);
}

/** `ip -j route` prints "default" and omits "/32" for host routes. */
function sameRoute(have: IpRoute, dst: string, gw: string | undefined): boolean {
  const normal = (d: string) => (d === "default" || d === "0.0.0.0/0" ? "0.0.0.0/0" : d.includes("/") ? d : `${d}/32`);
  return normal(have.dst) === normal(dst) && (gw === undefined || have.gateway === gw);
}

async function status({ agent }: Context): Promise<void> {
  try {
    await agent.status();
  } catch (e) {
    throw new CniError(ErrorCode.PluginNotAvailable, `trellis-cni cannot serve ADD: ${(e as Error).message}`);
  }
}

/**
 * Removes what belongs to attachments the runtime no longer knows: endpoints the agent holds and
 * host veths this plugin made (found by their alias, which also catches an ADD that crashed before
 * registering), releasing their IPs.
 */
async function gc({ config, agent, log }: Context): Promise<void> {
  const valid = new Set((config.validAttachments ?? []).map((a) => attachmentOwner(a.containerId, a.ifName)));
  const validContainers = new Set((config.validAttachments ?? []).map((a) => a.containerId));
  const endpoints = await agentCall("listing endpoints", () => agent.listEndpoints());
  const stale = new Map<string, { containerId: string; ifName: string | undefined }>();
  for (const e of endpoints) {
    if (!validContainers.has(e.containerId)) stale.set(attachmentOwner(e.containerId, e.ifName ?? "?"), { containerId: e.containerId, ifName: e.ifName });
  }
  const veths = await listHostVeths();
  for (const v of veths) {
    const slash = v.owner.lastIndexOf("/");
    if (slash > 0 && !valid.has(v.owner)) stale.set(v.owner, { containerId: v.owner.slice(0, slash), ifName: v.owner.slice(slash + 1) });
  }
  const failures: unknown[] = [];
  for (const [owner, a] of stale) {
    const steps: (() => Promise<unknown>)[] = [];
    if (!validContainers.has(a.containerId)) steps.push(() => agent.deleteEndpoint(a.containerId));
    const veth = veths.find((v) => v.owner === owner);
    if (veth) steps.push(() => deleteLink(undefined, veth.name));
    if (a.ifName !== undefined) steps.push(() => agent.releaseIp(owner));
    for (const step of steps) {
      try {
        await step();
      } catch (e) {
        failures.push(e);
      }
    }
  }
  if (stale.size) log.info({ removed: [...stale.keys()] }, "garbage-collected stale attachments");
  if (failures.length) throw combine("GC", failures);
}

async function agentCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw agentError(what, e);
  }
}

function agentError(what: string, e: unknown): CniError {
  if (e instanceof AgentUnreachableError) return new CniError(ErrorCode.TryAgainLater, `${what}: ${e.message}`, "retry once the trellis agent is running", { cause: e });
  if (e instanceof AgentHttpError) return new CniError(e.retryable ? ErrorCode.TryAgainLater : ErrorCode.AgentRefused, `${what}: ${e.message}`, undefined, { cause: e });
  if (e instanceof AgentProtocolError) return new CniError(ErrorCode.AgentRefused, `${what}: ${e.message}`, "are trellis-cni and the trellis agent the same version?", { cause: e });
  return e instanceof CniError ? e : new CniError(ErrorCode.Internal, `${what}: ${(e as Error).message}`, undefined, { cause: e });
}

/** Several failures of one best-effort command become one error; retryable only if every cause is. */
function combine(command: string, failures: unknown[]): CniError {
  const errors = failures.map((f) => agentError(command, f));
  const code = errors.every((e) => e.code === ErrorCode.TryAgainLater) ? ErrorCode.TryAgainLater : (errors.find((e) => e.code !== ErrorCode.TryAgainLater)?.code ?? ErrorCode.Internal);
  return new CniError(code, errors.map((e) => e.message).join("; "));
}

function requestedVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === "string" && v !== "") return v;
  } catch {
    /* VERSION may come with no or unreadable input; answer in our default */
  }
  return FALLBACK_VERSION;
}

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
