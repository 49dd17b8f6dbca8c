/**
 * What the datapath benchmark leaves behind, removed however a part of it ends: on return, on a
 * throw, and on Ctrl-C or SIGTERM (benchmarks are run by hand and often cut short). Network
 * namespaces go, and so do the helper processes (iperf3 servers) still running in them, which a
 * deleted namespace does not stop. A run killed outright (SIGKILL) leaves its namespaces behind;
 * the next NetnsFixture.create() recognises them by the dead pid in their names and removes them.
 */
import type { ChildProcess } from "node:child_process";
import { NetnsFixture } from "../../src/datapath/linux/netns-fixture.js";

const fixtures = new Set<NetnsFixture>();
const children = new Set<ChildProcess>();

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Set once a signal arrived: the cleanup that ends with process.exit, so it never resolves. */
let aborting: Promise<never> | undefined;

function onSignal(signal: NodeJS.Signals): void {
  if (aborting) return;
  process.stderr.write(`datapath bench: ${signal}, removing its network namespaces\n`);
  for (const child of children) child.kill("SIGTERM");
  aborting = Promise.allSettled([...fixtures].map((f) => f.cleanup())).then(() => process.exit(SIGNAL_EXIT[signal] ?? 1));
}

function watchSignals(on: boolean): void {
  for (const signal of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) {
    if (on) process.on(signal, onSignal);
    else process.off(signal, onSignal);
  }
}

/** Stops `child` if the run is interrupted before it exits on its own. */
export function stopOnInterrupt(child: ChildProcess): void {
  children.add(child);
  child.once("close", () => children.delete(child));
}

/** Runs `body` with a fresh fixture (namespaces `trtest-dp-<pid>-<n>-*`) and always removes them. */
export async function withNamespaces<T>(body: (fixture: NetnsFixture) => Promise<T>): Promise<T> {
  const fixture = await NetnsFixture.create();
  fixtures.add(fixture);
  if (fixtures.size === 1) watchSignals(true);
  try {
    const result = await body(fixture);
    await fixture.cleanup();
    return result;
  } catch (e) {
    // Killing the helpers makes the body fail; that failure must not end the process before
    // the signal's cleanup has removed the namespaces.
    if (aborting) await aborting;
    // The benchmark's own failure is the news; a cleanup failure on top of it is only appended.
    const cleanupError = await fixture.cleanup().then(
      () => undefined,
      (c: unknown) => c as Error,
    );
    if (cleanupError && e instanceof Error) e.message += `; also: ${cleanupError.message}`;
    throw e;
  } finally {
    fixtures.delete(fixture);
    if (fixtures.size === 0) watchSignals(false);
  }
}
