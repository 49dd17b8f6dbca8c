import type { Lease } from "./kvstore.js";

/**
 * What both stores' leases share: the `lost` flag and exactly-once onLost notification. A listener
 * added after the loss is still told (on the next tick), so no owner misses it by subscribing late.
 */
export abstract class LeaseHandle implements Lease {
  private listeners = new Set<(error: Error) => void>();
  private lostError: Error | undefined;
  private ended = false;

  constructor(
    readonly id: string,
    readonly ttlSeconds: number,
  ) {}

  get lost(): boolean {
    return this.ended;
  }

  onLost(listener: (error: Error) => void): () => void {
    if (this.lostError) {
      const error = this.lostError;
      queueMicrotask(() => listener(error));
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  abstract revoke(): Promise<void>;

  /** The lease is gone without its owner asking: tell every listener, once. */
  protected markLost(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.lostError = error;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const l of listeners) {
      try {
        l(error);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  /** The owner revoked it (or closed the client): no notification. */
  protected markEnded(): void {
    this.ended = true;
    this.listeners.clear();
  }
}
