import type { Etcd3 } from "etcd3";
import { LeaseLostError } from "./errors.js";
import { toKvError } from "./etcd-errors.js";
import { LeaseHandle } from "./lease-handle.js";

type KeepAliveStream = Awaited<ReturnType<Etcd3["leaseClient"]["leaseKeepAlive"]>>;

/** Wait before reopening a keepalive stream that broke; short, since the TTL clock is running. */
const REOPEN_DELAY_MS = 250;

/**
 * An etcd lease kept alive over a keepalive stream, one request every third of the TTL (as etcd's
 * Go client does). It is lost when etcd answers TTL 0 (expired, or revoked by someone else) or
 * when no keepalive has been answered for a whole TTL (etcd was unreachable that long, so the
 * lease may be gone): onLost then fires once and the owner re-grants and rewrites its keys.
 */
export class EtcdLease extends LeaseHandle {
  private stream: KeepAliveStream | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private lastAnswered = Date.now();
  private stopped = false;

  constructor(
    id: string,
    ttlSeconds: number,
    private readonly client: Etcd3,
    private readonly where: string,
    private readonly onStop: (lease: EtcdLease) => void,
  ) {
    super(id, ttlSeconds);
  }

  start(): void {
    this.lastAnswered = Date.now();
    this.checkTimer = setInterval(() => this.checkExpired(), Math.min(1000, (this.ttlSeconds * 1000) / 4));
    this.checkTimer.unref();
    this.open();
  }

  async revoke(): Promise<void> {
    if (this.lost) return;
    this.stop();
    this.markEnded();
    try {
      await this.client.leaseClient.leaseRevoke({ ID: this.id });
    } catch (e) {
      const error = toKvError(e, `${this.where}: revoke lease ${this.id}`);
      if (!(error instanceof LeaseLostError)) throw error;
    }
  }

  /** Stops keepalives without revoking: the lease expires on etcd after its TTL. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.sendTimer);
    clearInterval(this.checkTimer);
    clearTimeout(this.reopenTimer);
    this.closeStream();
    this.onStop(this);
  }

  private open(): void {
    if (this.stopped) return;
    this.client.leaseClient.leaseKeepAlive().then(
      (stream) => {
        if (this.stopped) {
          endStream(stream);
          return;
        }
        this.stream = stream;
        stream.on("data", (res: { TTL: string }) => this.answered(Number(res.TTL)));
        stream.on("error", () => this.broken(stream));
        stream.on("end", () => this.broken(stream));
        this.send();
        this.sendTimer = setInterval(() => this.send(), (this.ttlSeconds * 1000) / 3);
        this.sendTimer.unref();
      },
      () => this.broken(undefined),
    );
  }

  private send(): void {
    try {
      this.stream?.write({ ID: this.id });
    } catch {
      this.broken(this.stream);
    }
  }

  private answered(ttl: number): void {
    if (this.stopped) return;
    if (ttl <= 0) {
      this.lose(`etcd says lease ${this.id} is expired or was revoked`);
      return;
    }
    this.lastAnswered = Date.now();
  }

  private broken(stream: KeepAliveStream | undefined): void {
    if (this.stopped || stream !== this.stream) return;
    clearInterval(this.sendTimer);
    this.closeStream();
    this.reopenTimer = setTimeout(() => this.open(), REOPEN_DELAY_MS);
    this.reopenTimer.unref();
  }

  private checkExpired(): void {
    const silentMs = Date.now() - this.lastAnswered;
    if (silentMs > this.ttlSeconds * 1000) {
      this.lose(`no keepalive for lease ${this.id} was answered for ${Math.round(silentMs)} ms, longer than its TTL of ${this.ttlSeconds} s`);
    }
  }

  private lose(reason: string): void {
    this.stop();
    this.markLost(new LeaseLostError(`${this.where}: ${reason}; its keys are gone or about to go, grant a new lease and write them again`));
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) endStream(stream);
  }
}

/**
 * Half-closes before cancelling: etcd3 resets every connection to the host when a stream that is
 * still writable reports an error, and cancelling reports one.
 */
export function endStream(stream: { end(): void; cancel(): void; on(event: "error", fn: () => void): unknown }): void {
  stream.on("error", () => undefined);
  try {
    stream.end();
    stream.cancel();
  } catch {
    /* already closed */
  }
}
