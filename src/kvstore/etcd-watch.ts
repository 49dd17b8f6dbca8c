import type { Etcd3 } from "etcd3";
import { CompactedError, UnreachableError } from "./errors.js";
import { toKvError } from "./etcd-errors.js";
import { endStream } from "./etcd-lease.js";
import { fromEtcdKv, prefixRange, type EtcdKv } from "./etcd-keys.js";
import type { Watch, WatchEvent, WatchHandlers } from "./kvstore.js";

type WatchStream = Awaited<ReturnType<Etcd3["watchClient"]["watch"]>>;

interface WatchResponse {
  header?: { revision: string };
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  events: { type: string; kv: EtcdKv }[];
}

/**
 * One watch on its own gRPC stream. Unlike etcd3's Watcher, which reconnects by itself and can
 * hide a gap, this one ends on any trouble and says why through onError, so the caller re-lists
 * (list-watch.ts): UnreachableError when the stream breaks or etcd stops answering, CompactedError
 * with etcd's compact revision when the start revision is gone.
 *
 * A silent stream is probed: after `watchdogMs` without a message a progress request goes out,
 * and if nothing comes back within another `watchdogMs` the watch ends as unreachable. etcd3 has
 * no require-leader option; this is what notices a hung or partitioned server.
 */
export class EtcdWatch implements Watch {
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private stream: WatchStream | undefined;
  private done = false;
  private lastHeard = Date.now();
  private probeSentAt: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly handlers: WatchHandlers,
    private readonly fromRevision: number | undefined,
    private readonly watchdogMs: number,
    private readonly where: string,
    private readonly onEnd: (watch: EtcdWatch) => void,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  start(): void {
    this.client.watchClient.watch().then(
      (stream) => this.attach(stream),
      (e) => this.fail(toKvError(e, this.where)),
    );
  }

  async cancel(): Promise<void> {
    this.finish();
  }

  /** Ends the watch and tells the handler why (once). */
  fail(error: Error): void {
    if (this.done) return;
    this.finish();
    this.handlers.onError(error);
  }

  private attach(stream: WatchStream): void {
    if (this.done) {
      endStream(stream);
      return;
    }
    this.stream = stream;
    stream.on("data", (res: WatchResponse) => this.onResponse(res));
    stream.on("error", (e: Error) => this.fail(toKvError(e, `${this.where}: watch stream broke`)));
    stream.on("end", () => this.fail(new UnreachableError(`${this.where}: etcd ended the watch stream`)));
    const { key, rangeEnd } = prefixRange(this.prefix);
    stream.write({
      create_request: {
        key,
        range_end: rangeEnd,
        ...(this.fromRevision ? { start_revision: String(this.fromRevision) } : {}),
      },
    });
    this.lastHeard = Date.now();
    this.watchdog = setInterval(() => this.checkAlive(), Math.max(50, this.watchdogMs / 4));
    this.watchdog.unref();
  }

  private onResponse(res: WatchResponse): void {
    if (this.done) return;
    this.lastHeard = Date.now();
    this.probeSentAt = undefined;
    if (res.canceled) {
      const compacted = Number(res.compact_revision);
      if (compacted > 0) {
        this.fail(new CompactedError(`${this.where}: revision ${this.fromRevision} has been compacted (oldest available ${compacted}); list again`, compacted));
      } else {
        this.fail(toKvError(new Error(res.cancel_reason || "watch canceled by etcd"), this.where));
      }
      return;
    }
    if (res.created) this.markReady();
    else if (res.watch_id === "-1") return; // answer to a progress request
    if (res.events.length) this.deliver(res.events);
  }

  /** Hands events over a revision at a time; one response may carry several revisions. */
  private deliver(raw: WatchResponse["events"]): void {
    let batch: WatchEvent[] = [];
    let revision = 0;
    for (const ev of raw) {
      const rev = Number(ev.kv.mod_revision);
      if (rev !== revision && batch.length) {
        this.emit(batch, revision);
        if (this.done) return;
        batch = [];
      }
      revision = rev;
      batch.push(ev.type === "DELETE" || ev.type === "Delete" ? { type: "delete", key: ev.kv.key.toString("utf8"), modRevision: rev } : { type: "put", kv: fromEtcdKv(ev.kv) });
    }
    if (batch.length) this.emit(batch, revision);
  }

  private emit(events: WatchEvent[], revision: number): void {
    try {
      this.handlers.onEvents(events, revision);
    } catch (e) {
      // A consumer's bug must not break the gRPC stream; surface it as an uncaught error.
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private checkAlive(): void {
    if (this.done || !this.stream) return;
    const now = Date.now();
    if (this.probeSentAt !== undefined) {
      if (now - this.probeSentAt > this.watchdogMs) {
        this.fail(new UnreachableError(`${this.where}: etcd did not answer on the watch stream for ${now - this.lastHeard} ms`));
      }
      return;
    }
    if (now - this.lastHeard > this.watchdogMs) {
      this.probeSentAt = now;
      try {
        this.stream.write({ progress_request: {} });
      } catch (e) {
        this.fail(toKvError(e, this.where));
      }
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.watchdog);
    this.markReady();
    const stream = this.stream;
    this.stream = undefined;
    if (stream) endStream(stream);
    this.onEnd(this);
  }
}
