/**
 * Network namespaces of the cluster-mesh benchmark, named `trtest-mb-<pid>-<n>-<suffix>`, so that
 * a run removes exactly what it made and a later run recognises, by the dead pid in the name, what
 * a run killed outright left behind. They are removed when the body returns or throws, and on
 * Ctrl-C or SIGTERM, since benchmarks are run by hand and often cut short.
 */
import { run } from "../../src/util/exec.js";

export const BENCH_NETNS_PREFIX = "trtest-mb-";

/** Names from `ip netns list` output (each line is "name" or "name (id: N)"). */
export function parseNetnsList(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter(Boolean);
}

/** Which of `names` are this benchmark's and belong to a process that is gone. */
export function leftoverNamespaces(names: readonly string[], alive: (pid: number) => boolean): string[] {
  return names.filter((name) => {
    if (!name.startsWith(BENCH_NETNS_PREFIX)) return false;
    const pid = Number(name.slice(BENCH_NETNS_PREFIX.length).split("-")[0]);
    return Number.isInteger(pid) && pid > 0 && !alive(pid);
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function listNamespaces(): Promise<string[]> {
  return parseNetnsList((await run("ip", ["netns", "list"])).stdout);
}

/** Deletes the namespaces earlier, dead runs of this benchmark left; returns their names. */
export async function removeLeftoverNamespaces(): Promise<string[]> {
  const gone = leftoverNamespaces(await listNamespaces(), processAlive);
  for (const name of gone) await run("ip", ["netns", "del", name], { allowFailure: true });
  return gone;
}

const live = new Set<string>();
let made = 0;
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };
let aborting = false;

function onSignal(signal: NodeJS.Signals): void {
  if (aborting) return;
  aborting = true;
  process.stderr.write(`clustermesh bench: ${signal}, removing its network namespaces\n`);
  void Promise.allSettled([...live].map((n) => run("ip", ["netns", "del", n], { allowFailure: true }))).then(() => process.exit(SIGNAL_EXIT[signal] ?? 1));
}

function watchSignals(on: boolean): void {
  for (const signal of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) {
    if (on) process.on(signal, onSignal);
    else process.off(signal, onSignal);
  }
}

async function deleteNamespace(name: string): Promise<void> {
  const r = await run("ip", ["netns", "del", name], { allowFailure: true });
  live.delete(name);
  if (live.size === 0) watchSignals(false);
  if (r.code !== 0 && !/No such file/.test(r.stderr)) throw new Error(`could not delete network namespace ${name}: ${r.stderr.trim()}`);
}

/**
 * Runs `body` with a new namespace (lo up) and always deletes it afterwards. Leftovers of dead
 * earlier runs are removed first.
 */
export async function withBenchNamespace<T>(suffix: string, body: (netns: string) => Promise<T>): Promise<T> {
  if (!/^[a-z0-9-]{1,12}$/.test(suffix)) throw new Error(`namespace suffix must be 1-12 of [a-z0-9-], got ${JSON.stringify(suffix)}`);
  await removeLeftoverNamespaces();
  const name = `${BENCH_NETNS_PREFIX}${process.pid}-${++made}-${suffix}`;
  await run("ip", ["netns", "add", name]);
  if (live.size === 0) watchSignals(true);
  live.add(name);
  let result: T;
  try {
    await run("ip", ["-n", name, "link", "set", "dev", "lo", "up"]);
    result = await body(name);
  } catch (e) {
    const cleanup = await deleteNamespace(name).then(
      () => undefined,
      (c: unknown) => c as Error,
    );
    if (cleanup && e instanceof Error) e.message += `; also: ${cleanup.message}`;
    throw e;
  }
  await deleteNamespace(name);
  return result;
}

/** Names of this process's benchmark namespaces that exist now (for tests). */
export async function ownNamespaces(): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.startsWith(`${BENCH_NETNS_PREFIX}${process.pid}-`));
}
