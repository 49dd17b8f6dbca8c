import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { KvStore } from "../kvstore/kvstore.js";
import { listAndWatch, type ListWatcher, type ListWatchEvent } from "../kvstore/list-watch.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { keys } from "../resources/keys.js";
import type { PodSpec, PodStatus } from "../resources/pod.js";
import { run, runJson } from "../util/exec.js";
import { LAB_PREFIX } from "./address-plan.js";
import { netnsPids } from "./netns.js";
import { CniRuntime, type CniAttachmentRef, type CniSettings } from "./pod-runner-cni.js";
import {
  childRunning,
  netnsExists,
  podLogFile,
  podServerArgv,
  runsInNetns,
  startInNetns,
  stopNetnsProcesses,
  type PodServerCommand,
} from "./pod-runner-process.js";
import { loadPodRecord, podRecordPath, savePodRecord, type PodInstanceRecord } from "./pod-runner-record.js";
import { netnsPath, podNetnsName, podNetnsNamePrefix } from "./pod-netns.js";

/**
 * The lab's kubelet and container runtime in one: on each node it follows `trellis/pods/`, and for
 * every pod scheduled there it makes a network namespace, attaches it with the CNI plugin exactly
 * as a runtime would, starts the pod's server inside it and reports the pod's status under
 * `trellis/pod-status/`. It reconciles: each pass compares the desired pods with the instances it
 * runs (its local record plus the kernel and /proc) and acts on the difference, so a pod deleted,
 * rescheduled or crashed, a runner restart, or an agent that was down all end in the same state.
 *
 * Pods are worked on one operation at a time per pod and in parallel across pods, so one pod
 * stuck in a slow CNI call does not hold up the others.
 */
export interface PodRunnerOptions {
  /** The cluster's store: pods are read from `trellis/pods/`, statuses written to `trellis/pod-status/`. */
  readonly store: KvStore;
  readonly clusterIndex: number;
  readonly clusterName: string;
  readonly nodeName: string;
  /** The node's state directory: the runner's record (pod-runner.json) and pods/<ns>_<name>.log. */
  readonly stateDir: string;
  readonly cni: CniSettings;
  /** Prefix of the pod server's command line; the runner appends --name, --namespace, --node, --cluster, --ports. */
  readonly podServer: PodServerCommand;
  /** Pod namespaces are named `<prefix>c<cluster>-pod-<hash>`; default the lab's prefix. */
  readonly netnsPrefix?: string;
  /** How often pod servers are checked and failed work retried at the latest (default 2 s). */
  readonly resyncIntervalMs?: number;
  /** First retry delay after a failure; doubles per failure up to retryMaxMs (defaults 500 ms, 15 s). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** How long a pod's processes get after SIGTERM before SIGKILL (default 3 s). */
  readonly stopGraceMs?: number;
  readonly logger?: Logger;
}

export interface StopAllReport {
  /** Pods ("ns/name") fully removed. */
  readonly removed: string[];
  /** Pods whose removal is not complete (e.g. CNI DEL failed: the agent was down); they stay in the record. */
  readonly incomplete: { readonly pod: string; readonly error: string }[];
}

export class PodRunnerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PodRunnerConfigError";
  }
}

/** A server that exits sooner than this after starting is crash-looping: its restarts back off. */
const CRASH_WINDOW_MS = 10_000;

interface SyncOutcome {
  /** Something was created, removed or restarted: look at every pod again. */
  readonly changed: boolean;
  /** What failed; the pod is retried after a backoff. */
  readonly problem?: Error;
}

export class PodRunner {
  private readonly store: KvStore;
  private readonly cni: CniRuntime;
  private readonly log: Logger;
  private readonly recordPath: string;
  private readonly netnsPrefix: string;
  private readonly resyncMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly graceMs: number;

  /** Pods scheduled on this node, by "ns/name". */
  private readonly desired = new Map<string, PodSpec>();
  /** Recorded instances, by container ID. */
  private readonly instances = new Map<string, PodInstanceRecord>();
  /** Servers this process started, by container ID: their exit is seen at once. */
  private readonly children = new Map<string, ChildProcess>();
  private readonly crashes = new Map<string, { count: number; restartAt?: number; lastExit?: string }>();
  private readonly retries = new Map<string, { attempt: number; at: number }>();
  /** The last status written per pod (without updatedAt): unchanged statuses are not rewritten. */
  private readonly written = new Map<string, string>();
  private readonly busy = new Set<string>();
  /** Pods that changed while being worked on: looked at again when that work ends. */
  private readonly dirty = new Set<string>();
  private readonly work = new Set<Promise<unknown>>();

  private watcher: ListWatcher | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private passQueued = false;
  private started = false;
  private stopping = false;
  private loaded = false;
  private synced = false;
  private saveChain: Promise<unknown> = Promise.resolve();
  private firstPassDone!: () => void;
  private readonly firstPass = new Promise<void>((resolve) => (this.firstPassDone = resolve));

  constructor(private readonly options: PodRunnerOptions) {
    const { clusterIndex, clusterName, nodeName, stateDir, podServer } = options;
    if (!Number.isInteger(clusterIndex) || clusterIndex < 1) throw new PodRunnerConfigError(`clusterIndex must be a positive integer (got ${JSON.stringify(clusterIndex)})`);
    if (!clusterName) throw new PodRunnerConfigError(`clusterName must not be empty (got ${JSON.stringify(clusterName)})`);
    if (!nodeName || nodeName.includes("/")) throw new PodRunnerConfigError(`nodeName must be a non-empty name without "/" (got ${JSON.stringify(nodeName)})`);
    if (!stateDir?.startsWith("/")) throw new PodRunnerConfigError(`stateDir must be an absolute path (got ${JSON.stringify(stateDir)})`);
    if (!podServer?.command) throw new PodRunnerConfigError(`podServer.command must name the pod server's executable (got ${JSON.stringify(podServer)})`);
    this.netnsPrefix = options.netnsPrefix ?? LAB_PREFIX;
    podNetnsNamePrefix(clusterIndex, this.netnsPrefix);
    this.store = options.store;
    this.cni = new CniRuntime(options.cni);
    this.log = options.logger ?? subsystemLogger("lab", { component: "pod-runner", cluster: clusterName, node: nodeName });
    this.recordPath = podRecordPath(stateDir);
    this.resyncMs = options.resyncIntervalMs ?? 2000;
    this.retryInitialMs = options.retryInitialMs ?? 500;
    this.retryMaxMs = options.retryMaxMs ?? 15_000;
    this.graceMs = options.stopGraceMs ?? 3000;
  }

  /** Loads the record and starts following the desired pods; returns once watching has begun. */
  async start(): Promise<void> {
    if (this.started) throw new PodRunnerConfigError("this PodRunner was already started; create a new one to start again");
    this.started = true;
    await this.loadRecord();
    this.watcher = listAndWatch(this.store, keys.pods(), (event) => this.onPodEvent(event), { logger: this.log });
    this.resyncTimer = setInterval(() => this.kick(), this.resyncMs);
    this.resyncTimer.unref();
    this.log.info({ adopted: this.instances.size, record: this.recordPath }, "pod runner started");
  }

  /**
   * Resolves once the runner has seen every desired pod and acted on each recorded and desired
   * pod once (adopted, created, removed, or failed and scheduled for retry); or when stopped.
   */
  waitSynced(): Promise<void> {
    return this.firstPass;
  }

  /** The instances in the local record (a copy), for status output and tests. */
  recorded(): PodInstanceRecord[] {
    return [...this.instances.values()];
  }

  /** Stops watching and waits for work in progress; leaves the pods running, as a kubelet restart does. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.wakeTimer);
    await this.watcher?.stop();
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
    await this.saveChain;
    this.firstPassDone();
  }

  /** Stops, then removes every pod in the record (for lab down). Works without start(). */
  async stopAll(): Promise<StopAllReport> {
    await this.stop();
    await this.loadRecord();
    // Nothing is desired any more; that also lets teardown delete the statuses.
    this.desired.clear();
    const report: StopAllReport = { removed: [], incomplete: [] };
    await Promise.all(
      [...this.instances.values()].map(async (r) => {
        const problem = await this.teardown(r, "removing all pods");
        if (problem) report.incomplete.push({ pod: podKey(r), error: problem.message });
        else report.removed.push(podKey(r));
      }),
    );
    await this.saveChain;
    report.removed.sort();
    return report;
  }

  // ---------------------------------------------------------------------------------------------
  // Desired state

  private onPodEvent(event: ListWatchEvent): void {
    if (event.type === "synced") {
      this.synced = true;
      void this.runFirstPass();
      return;
    }
    const key = event.type === "upsert" ? event.kv.key : event.key;
    const ref = podKeyFromStoreKey(key);
    if (!ref) {
      this.log.warn({ key }, "ignoring a key under trellis/pods/ that is not trellis/pods/<namespace>/<name>");
      return;
    }
    if (event.type === "upsert") {
      const spec = parsePodSpec(event.kv.value.toString("utf8"));
      if (typeof spec === "string") {
        this.log.error({ key, problem: spec }, "ignoring a pod spec that cannot be read");
        return;
      }
      if (spec.node === this.options.nodeName) this.desired.set(ref, spec);
      else this.desired.delete(ref);
    } else {
      this.desired.delete(ref);
    }
    // A change to the pod is worth acting on at once, whatever backoff an earlier failure set.
    this.retries.delete(ref);
    this.written.delete(ref);
    this.kick();
  }

  private async runFirstPass(): Promise<void> {
    try {
      await Promise.all([this.pass(), this.track(this.removeOrphanStatuses())]);
    } finally {
      this.firstPassDone();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Passes and workers

  private kick(): void {
    if (this.passQueued || this.stopping || !this.synced) return;
    this.passQueued = true;
    setImmediate(() => {
      this.passQueued = false;
      void this.pass();
    });
  }

  /** Starts a worker for every pod that is due; resolves when those workers are done. */
  private pass(): Promise<unknown> {
    if (this.stopping) return Promise.resolve();
    const now = Date.now();
    const podKeys = new Set([...this.desired.keys(), ...[...this.instances.values()].map(podKey)]);
    const workers: Promise<unknown>[] = [];
    for (const key of podKeys) {
      if (this.busy.has(key)) {
        this.dirty.add(key);
        continue;
      }
      const retry = this.retries.get(key);
      if (retry && retry.at > now) {
        this.wakeUpAt(retry.at);
        continue;
      }
      workers.push(this.startWorker(key));
    }
    return Promise.all(workers);
  }

  private startWorker(key: string): Promise<unknown> {
    this.busy.add(key);
    const worker = (async () => {
      let outcome: SyncOutcome;
      try {
        outcome = await this.syncPod(key);
      } catch (e) {
        outcome = { changed: true, problem: asError(e) };
      }
      if (outcome.problem) {
        const attempt = (this.retries.get(key)?.attempt ?? 0) + 1;
        const delay = this.backoff(attempt - 1);
        this.retries.set(key, { attempt, at: Date.now() + delay });
        this.wakeUpAt(Date.now() + delay);
        this.log.warn({ pod: key, err: outcome.problem.message, attempt, retryInMs: delay }, "pod not in its desired state yet; will retry");
      } else {
        this.retries.delete(key);
      }
      this.busy.delete(key);
      if (this.dirty.delete(key) || (outcome.changed && !outcome.problem)) this.kick();
    })();
    return this.track(worker);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.work.add(p);
    void p.finally(() => this.work.delete(p)).catch(() => undefined);
    return p;
  }

  private wakeUpAt(at: number): void {
    if (this.stopping || at >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = Infinity;
      this.kick();
    }, Math.max(0, at - Date.now()));
    this.wakeTimer.unref();
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(attempt, 20));
    return Math.round(base * (0.8 + 0.4 * Math.random()));
  }

  /** Brings one pod ("ns/name") to its desired state. */
  private async syncPod(key: string): Promise<SyncOutcome> {
    const spec = this.desired.get(key);
    let changed = false;
    let problem: Error | undefined;
    for (const r of this.instancesOf(key)) {
      const wanted = spec !== undefined && r.state !== "deleting" && r.createdAt === spec.createdAt;
      if (wanted) continue;
      const why = r.state === "deleting" ? "finishing an earlier removal" : spec ? "replaced by a new pod of the same name" : "no longer scheduled on this node";
      problem = (await this.teardown(r, why)) ?? problem;
      changed = true;
    }
    if (spec) {
      try {
        changed = (await this.ensureRunning(key, spec)) || changed;
      } catch (e) {
        problem = asError(e);
      }
    }
    return problem ? { changed, problem } : { changed };
  }

  // ---------------------------------------------------------------------------------------------
  // Creating and keeping a pod

  private async ensureRunning(key: string, spec: PodSpec): Promise<boolean> {
    let r = this.instancesOf(key).find((i) => i.state !== "deleting");
    if (!r) {
      const [namespace, name] = splitKey(key);
      r = await this.save({
        namespace,
        name,
        createdAt: spec.createdAt,
        containerId: randomBytes(32).toString("hex"),
        netns: podNetnsName(this.options.clusterIndex, namespace, name, this.netnsPrefix),
        netnsCreated: false,
        cniAttached: false,
        state: "creating",
      });
      this.log.info({ pod: key, containerId: r.containerId, netns: r.netns }, "creating pod");
    }
    if (r.state === "creating") {
      await this.create(spec, r);
      return true;
    }
    return this.keepRunning(spec, r);
  }

  private async create(spec: PodSpec, start: PodInstanceRecord): Promise<void> {
    let r = start;
    let stage = "network setup failed";
    try {
      r = await this.ensureNetns(r);
      if (r.cniAttached) {
        // An earlier ADD failed or was interrupted: the spec wants DEL before trying again.
        try {
          await this.cni.del(this.cniRef(r), r.cniResult);
        } catch (e) {
          throw new Error(`cleaning up the previous attempt: ${asError(e).message}`);
        }
        r = await this.save({ ...r, cniAttached: false, cniResult: undefined, ip: undefined });
      }
      r = await this.save({ ...r, cniAttached: true });
      let added;
      try {
        added = await this.cni.add(this.cniRef(r));
      } catch (e) {
        try {
          await this.cni.del(this.cniRef(r));
          r = await this.save({ ...r, cniAttached: false });
        } catch {
          /* the next attempt starts with DEL again */
        }
        throw e;
      }
      r = await this.save({ ...r, ip: added.ip, cniResult: added.result });
      stage = "pod server failed to start";
      // Leftovers of an attempt interrupted after its server started would hold the ports.
      await stopNetnsProcesses(r.netns, this.graceMs);
      r = await this.startServer(spec, r);
      this.log.info({ pod: podKey(r), ip: r.ip, pid: r.pid }, "pod running");
      await this.writeStatus(spec, r, "Running");
    } catch (e) {
      const error = asError(e);
      await this.writeStatus(spec, r, "Pending", `${stage}: ${error.message}`).catch(
        (w: unknown) => this.log.warn({ pod: podKey(r), err: asError(w).message }, "could not write Pending status"),
      );
      throw error;
    }
  }

  private async ensureNetns(r: PodInstanceRecord): Promise<PodInstanceRecord> {
    const exists = await netnsExists(r.netns);
    if (r.netnsCreated && exists) return r;
    if (!r.netnsCreated && exists) {
      if (!(await this.looksUnused(r.netns))) {
        throw new Error(`network namespace ${r.netns} already exists and is in use (the pod may still be running on another node); waiting for it to go away`);
      }
      // A crash between `ip netns add` and the record write leaves exactly this: an empty namespace.
      return this.save({ ...r, netnsCreated: true });
    }
    await run("ip", ["netns", "add", r.netns]);
    const saved = await this.save({ ...r, netnsCreated: true });
    await run("ip", ["-n", r.netns, "link", "set", "lo", "up"]);
    return saved;
  }

  private async looksUnused(netns: string): Promise<boolean> {
    const links = await runJson<{ ifname: string }[]>("ip", ["-n", netns, "-j", "link", "show"]);
    return links.every((l) => l.ifname === "lo") && (await netnsPids(netns)).length === 0;
  }

  private async startServer(spec: PodSpec, r: PodInstanceRecord): Promise<PodInstanceRecord> {
    const argv = podServerArgv(this.options.podServer, {
      name: r.name,
      namespace: r.namespace,
      node: this.options.nodeName,
      cluster: this.options.clusterName,
      ports: spec.ports,
    });
    const logFile = podLogFile(this.options.stateDir, r.namespace, r.name);
    const child = startInNetns(r.netns, argv, logFile);
    if (child.pid === undefined) throw new Error(`could not start the pod server ${argv[0]} in ${r.netns}`);
    this.children.set(r.containerId, child);
    child.once("exit", (code, signal) => {
      if (!this.instances.has(r.containerId)) return;
      const crash = this.crashes.get(r.containerId) ?? { count: 0 };
      crash.lastExit = signal ? `killed by ${signal}` : `exit code ${code}`;
      this.crashes.set(r.containerId, crash);
      this.kick();
    });
    return this.save({ ...r, state: "running", pid: child.pid, startedAt: new Date().toISOString() });
  }

  /** A running pod: its namespace must exist and its server run. */
  private async keepRunning(spec: PodSpec, r: PodInstanceRecord): Promise<boolean> {
    if (!(await netnsExists(r.netns))) {
      this.log.warn({ pod: podKey(r), netns: r.netns }, "the pod's network namespace vanished; re-creating the pod");
      const problem = await this.teardown({ ...r, netnsCreated: false }, "its network namespace vanished");
      if (problem) throw problem;
      return true;
    }
    if (await this.serverAlive(r)) {
      await this.writeStatus(spec, r, "Running");
      return false;
    }
    const crash = this.crashes.get(r.containerId) ?? { count: 0 };
    this.crashes.set(r.containerId, crash);
    const now = Date.now();
    if (crash.restartAt === undefined) {
      const ranFor = now - Date.parse(r.startedAt ?? "");
      crash.count = ranFor < CRASH_WINDOW_MS ? crash.count + 1 : 0;
      crash.restartAt = now + (crash.count > 0 ? this.backoff(crash.count - 1) : 0);
      const logFile = podLogFile(this.options.stateDir, r.namespace, r.name);
      this.log.warn({ pod: podKey(r), pid: r.pid, exit: crash.lastExit, restartInMs: crash.restartAt - now, log: logFile }, "pod server is not running; restarting it");
      if (crash.count > 0) {
        const how = crash.lastExit ? ` (${crash.lastExit})` : "";
        await this.writeStatus(spec, r, "Pending", `pod server exited${how} within ${CRASH_WINDOW_MS / 1000} s of starting, ${crash.count} time(s) in a row; restarting with backoff; see ${logFile}`);
      }
    }
    if (now < crash.restartAt) {
      this.wakeUpAt(crash.restartAt);
      return false;
    }
    crash.restartAt = undefined;
    crash.lastExit = undefined;
    this.children.delete(r.containerId);
    await stopNetnsProcesses(r.netns, this.graceMs);
    const restarted = await this.startServer(spec, r);
    this.log.info({ pod: podKey(r), pid: restarted.pid }, "pod server restarted");
    await this.writeStatus(spec, restarted, "Running");
    return true;
  }

  private async serverAlive(r: PodInstanceRecord): Promise<boolean> {
    const child = this.children.get(r.containerId);
    // Right after spawn the child is still `ip` in the node's namespace: trust the handle, not /proc.
    if (child && child.pid === r.pid) return childRunning(child);
    return r.pid !== undefined && (await runsInNetns(r.pid, r.netns));
  }

  // ---------------------------------------------------------------------------------------------
  // Removing a pod

  /**
   * Stops the server, CNI DEL, deletes the namespace and the status. A DEL that fails (agent down)
   * does not stop the rest: the instance stays recorded as "deleting" and DEL is retried, so the
   * agent learns of the removal once it is back. Returns what is left to do, if anything.
   */
  private async teardown(start: PodInstanceRecord, why: string): Promise<Error | undefined> {
    let r = start;
    const key = podKey(r);
    try {
      if (r.state !== "deleting") {
        this.log.info({ pod: key, containerId: r.containerId, why }, "removing pod");
        r = await this.save({ ...r, state: "deleting" });
      }
      this.children.delete(r.containerId);
      this.crashes.delete(r.containerId);
      const claimed = [...this.instances.values()].some((o) => o.containerId !== r.containerId && o.netns === r.netns && o.netnsCreated);
      if (!r.netnsCreated && !claimed && (await netnsExists(r.netns)) && (await this.looksUnused(r.netns))) {
        // Made by an attempt that crashed before recording it (see ensureNetns).
        r = { ...r, netnsCreated: true };
      }
      if (r.netnsCreated) await stopNetnsProcesses(r.netns, this.graceMs);
      let delError: Error | undefined;
      if (r.cniAttached) {
        try {
          await this.cni.del(this.cniRef(r), r.cniResult);
          r = { ...r, cniAttached: false };
        } catch (e) {
          delError = asError(e);
        }
      }
      if (r.netnsCreated) {
        await run("ip", ["netns", "del", r.netns], { allowFailure: true });
        if (!(await netnsExists(r.netns))) r = { ...r, netnsCreated: false };
      }
      r = await this.save({ ...r, pid: undefined, startedAt: undefined });
      if (!this.desired.has(key)) await this.deleteStatus(r);
      if (delError) return new Error(`CNI DEL for ${key} (container ${r.containerId}) failed, will retry: ${delError.message}`);
      if (r.netnsCreated) return new Error(`could not delete network namespace ${r.netns}; will retry`);
      await this.forget(r);
      this.log.info({ pod: key, containerId: r.containerId }, "pod removed");
      return undefined;
    } catch (e) {
      return asError(e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Status

  private async writeStatus(spec: PodSpec, r: PodInstanceRecord, phase: PodStatus["phase"], message?: string): Promise<void> {
    const key = podKey(r);
    // A pod rescheduled meanwhile belongs to another node's runner, and so does its status.
    if (this.desired.get(key) !== spec) return;
    const status: PodStatus = {
      name: r.name,
      namespace: r.namespace,
      node: this.options.nodeName,
      phase,
      ...(phase === "Running" && r.ip ? { ip: r.ip } : {}),
      netns: r.netns,
      containerId: r.containerId,
      ...(message ? { message } : {}),
      updatedAt: new Date().toISOString(),
    };
    const fingerprint = JSON.stringify({ ...status, updatedAt: undefined });
    if (this.written.get(key) === fingerprint) return;
    await this.store.put(keys.podStatus(r.namespace, r.name), JSON.stringify(status));
    this.written.set(key, fingerprint);
  }

  /** Deletes the pod's status if this node wrote it (another node may own the pod by now). */
  private async deleteStatus(r: { namespace: string; name: string }): Promise<void> {
    const statusKey = keys.podStatus(r.namespace, r.name);
    this.written.delete(`${r.namespace}/${r.name}`);
    const kv = await this.store.get(statusKey);
    if (!kv) return;
    let node: unknown;
    try {
      node = (JSON.parse(kv.value.toString("utf8")) as { node?: unknown }).node;
    } catch {
      node = undefined;
    }
    if (node !== this.options.nodeName) return;
    await this.store.txn({
      compare: [{ key: statusKey, target: "modRevision", op: "==", value: kv.modRevision }],
      success: [{ type: "delete", key: statusKey }],
    });
  }

  /** Statuses this node wrote for pods it neither runs nor should run (e.g. its record was lost). */
  private async removeOrphanStatuses(): Promise<void> {
    try {
      const { kvs } = await this.store.list(keys.podStatuses());
      for (const kv of kvs) {
        const ref = kv.key.slice(keys.podStatuses().length);
        if (this.desired.has(ref) || this.instancesOf(ref).length > 0) continue;
        const [namespace, name] = splitKey(ref);
        if (namespace && name) await this.deleteStatus({ namespace, name });
      }
    } catch (e) {
      this.log.warn({ err: asError(e).message }, "could not clean up stale pod statuses");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Record

  private async loadRecord(): Promise<void> {
    if (this.loaded) return;
    const owner = { cluster: this.options.clusterName, node: this.options.nodeName };
    for (const r of await loadPodRecord(this.recordPath, owner)) this.instances.set(r.containerId, r);
    this.loaded = true;
  }

  private async save(r: PodInstanceRecord): Promise<PodInstanceRecord> {
    this.instances.set(r.containerId, r);
    await this.persist();
    return r;
  }

  private async forget(r: PodInstanceRecord): Promise<void> {
    this.instances.delete(r.containerId);
    await this.persist();
  }

  /** Writes the whole record after every change; writes are serialised and each takes the latest state. */
  private persist(): Promise<void> {
    const owner = { cluster: this.options.clusterName, node: this.options.nodeName };
    const write = this.saveChain.then(() => savePodRecord(this.recordPath, owner, [...this.instances.values()]));
    this.saveChain = write.catch(() => undefined);
    return write;
  }

  private instancesOf(key: string): PodInstanceRecord[] {
    return [...this.instances.values()].filter((r) => podKey(r) === key);
  }

  private cniRef(r: PodInstanceRecord): CniAttachmentRef {
    return { containerId: r.containerId, netnsPath: netnsPath(r.netns), podNamespace: r.namespace, podName: r.name };
  }
}

function podKey(r: { namespace: string; name: string }): string {
  return `${r.namespace}/${r.name}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** "trellis/pods/<ns>/<name>" → "<ns>/<name>". */
function podKeyFromStoreKey(key: string): string | undefined {
  const rest = key.slice(keys.pods().length);
  const parts = rest.split("/");
  return parts.length === 2 && parts[0] && parts[1] ? rest : undefined;
}

/** The fields the runner relies on, or why they are unusable. */
function parsePodSpec(text: string): PodSpec | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (typeof raw !== "object" || raw === null) return `not an object: ${text.slice(0, 200)}`;
  const spec = raw as Partial<PodSpec>;
  if (typeof spec.node !== "string") return `"node" is ${JSON.stringify(spec.node)}; expected the name of the node the pod is scheduled on`;
  const ports = spec.ports ?? [];
  if (!Array.isArray(ports) || !ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) {
    return `"ports" is ${JSON.stringify(spec.ports)}; expected a list of port numbers 1-65535`;
  }
  return { ...spec, ports, createdAt: typeof spec.createdAt === "string" ? spec.createdAt : "" } as PodSpec;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
