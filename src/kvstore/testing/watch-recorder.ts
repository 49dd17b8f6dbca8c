import type { WatchEvent, WatchHandlers } from "../kvstore.js";

/** Polls `condition` until it holds or the deadline passes (then throws, naming what it waited for). */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Short text for an event, for assertions and failure messages: "put a=1@5", "delete a@6". */
export function describeEvent(e: WatchEvent): string {
  return e.type === "put" ? `put ${e.kv.key}=${e.kv.value.toString("utf8")}@${e.kv.modRevision}` : `delete ${e.key}@${e.modRevision}`;
}

/** WatchHandlers that record everything, with a way to wait until something has arrived. */
export class WatchRecorder implements WatchHandlers {
  readonly batches: { events: WatchEvent[]; revision: number }[] = [];
  readonly errors: Error[] = [];
  private wakers = new Set<() => void>();

  onEvents(events: WatchEvent[], revision: number): void {
    this.batches.push({ events, revision });
    this.wake();
  }

  onError(error: Error): void {
    this.errors.push(error);
    this.wake();
  }

  get events(): WatchEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  /** The events as describeEvent() text, keys shown relative to `prefix`. */
  described(prefix = ""): string[] {
    return this.events.map((e) => describeEvent(e).replace(` ${prefix}`, " "));
  }

  /** Resolves once `condition` holds, re-checked on every delivery; throws after the deadline. */
  async until(what: string, condition: (r: this) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got events [${this.described().join(", ")}], errors [${this.errors.map((e) => e.message).join("; ")}]`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waker = done;
        this.wakers.add(waker);
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  }

  private wake(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const w of wakers) w();
  }
}
